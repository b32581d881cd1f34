/* opt_plan_json.c - the optimizer's plan as JSON, written atomically and read back with every
 * key checked (a plan file is input like any other). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lq/optimize.h"
#include "lqi.h"
#include "opt_impl.h"

#define PLAN_FORMAT "libquant-optimize-plan"
#define PLAN_VERSION 1

/* What decides the file's bytes: the metadata value, and the head of the full plan. */
static json_t *plan_core(const struct lq_opt_plan *plan, bool compact)
{
    json_t *o = json_object();
    json_object_set_new(o, "format", json_string(PLAN_FORMAT));
    json_object_set_new(o, "version", json_integer(PLAN_VERSION));
    if (!compact) {
        json_object_set_new(o, "model", json_string(plan->model ? plan->model : ""));
    }
    json_object_set_new(o, "calib", json_string(plan->calib ? plan->calib : ""));
    json_object_set_new(o, "calib_ctx", json_integer(plan->calib_ctx));
    json_object_set_new(o, "calib_tokens", json_integer(plan->calib_tokens));
    json_object_set_new(o, "gptq", json_boolean(plan->gptq));
    json_object_set_new(o, "act_order", json_boolean(plan->act_order));
    json_object_set_new(o, "damp", json_real((double)plan->damp));
    return o;
}

static json_t *plan_to_json(const struct lq_opt_plan *plan, bool compact)
{
    json_t *o = plan_core(plan, compact);
    if (compact) {
        json_t *types = json_object();
        for (int64_t i = 0; i < plan->n; i++) {
            json_object_set_new(types, plan->t[i].name,
                                json_string(lq_type_name(plan->t[i].type)));
        }
        json_object_set_new(o, "types", types);
        return o;
    }
    json_object_set_new(o, "target_bytes", json_integer((json_int_t)plan->target_bytes));
    if (plan->target_is_bpw) {
        json_object_set_new(o, "target_bpw", json_real(plan->target_bpw));
    }
    json_object_set_new(o, "bytes", json_integer((json_int_t)plan->bytes));
    json_object_set_new(o, "predicted_kld", json_real(plan->predicted_kld));
    json_t *arr = json_array();
    for (int64_t i = 0; i < plan->n; i++) {
        const struct lq_opt_plan_tensor *t = &plan->t[i];
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:I, s:f, s:s, s:f}", "name", t->name, "type",
                           lq_type_name(t->type), "bytes", (json_int_t)t->bytes,
                           "predicted_kld", t->predicted_kld, "probe_type",
                           lq_type_name(t->probe_type), "measured_kld", t->measured_kld));
    }
    json_object_set_new(o, "tensors", arr);
    return o;
}

char *lq_opt_plan_json(const struct lq_opt_plan *plan, bool compact)
{
    json_t *o = plan_to_json(plan, compact);
    char *s = json_dumps(o, compact ? JSON_COMPACT | JSON_PRESERVE_ORDER
                                    : JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

lq_status lq_opt_plan_write(const struct lq_opt_plan *plan, const char *path,
                            struct lq_error *err)
{
    LQ_FAIL_IF(!plan || !path, err, LQ_E_INVALID_ARG, "plan: NULL argument");
    json_t *o = plan_to_json(plan, false);
    lq_status rc = lqi_opt_json_save(path, o, JSON_INDENT(1) | JSON_PRESERVE_ORDER, err);
    json_decref(o);
    return rc;
}

// ---- reading ------------------------------------------------------------------------------

static lq_status get_int(const char *path, json_t *o, const char *key, int64_t lo, int64_t hi,
                         int64_t *out, struct lq_error *err)
{
    json_t *v = json_object_get(o, key);
    LQ_FAIL_IF(!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi,
               err, LQ_E_FORMAT, "%s: '%s' must be an integer in [%lld, %lld]", path, key,
               (long long)lo, (long long)hi);
    *out = json_integer_value(v);
    return LQ_OK;
}

static lq_status get_real(const char *path, json_t *o, const char *key, double *out,
                          struct lq_error *err)
{
    json_t *v = json_object_get(o, key);
    LQ_FAIL_IF(!json_is_number(v) || !isfinite(json_number_value(v)) ||
                   json_number_value(v) < 0.0, err, LQ_E_FORMAT,
               "%s: '%s' must be a finite number >= 0", path, key);
    *out = json_number_value(v);
    return LQ_OK;
}

static lq_status get_str(const char *path, json_t *o, const char *key, const char **out,
                         struct lq_error *err)
{
    json_t *v = json_object_get(o, key);
    LQ_FAIL_IF(!json_is_string(v), err, LQ_E_FORMAT, "%s: '%s' must be a string", path, key);
    *out = json_string_value(v);
    return LQ_OK;
}

static lq_status get_bool(const char *path, json_t *o, const char *key, bool *out,
                          struct lq_error *err)
{
    json_t *v = json_object_get(o, key);
    LQ_FAIL_IF(!json_is_boolean(v), err, LQ_E_FORMAT, "%s: '%s' must be true or false", path,
               key);
    *out = json_is_true(v);
    return LQ_OK;
}

static lq_status get_type(const char *path, json_t *o, const char *key, int64_t i,
                          enum lq_type *out, struct lq_error *err)
{
    const char *name = NULL;
    LQ_TRY(get_str(path, o, key, &name, err));
    struct lq_error e2 = {0};
    const struct lq_type_traits *tr = NULL;
    if (lq_type_from_name(name, out, &e2) == LQ_OK) {
        tr = lq_type_traits_get(*out);
    }
    LQ_FAIL_IF(!tr || !tr->quantize, err, LQ_E_FORMAT,
               "%s: tensors[%lld].%s: '%s' is not a type libquant writes", path, (long long)i,
               key, name);
    return LQ_OK;
}

static lq_status read_tensor(const char *path, json_t *v, int64_t i,
                             struct lq_opt_plan_tensor *t, struct lq_error *err)
{
    LQ_FAIL_IF(!json_is_object(v), err, LQ_E_FORMAT, "%s: tensors[%lld] is not an object",
               path, (long long)i);
    const char *name = NULL;
    LQ_TRY(get_str(path, v, "name", &name, err));
    LQ_FAIL_IF(strlen(name) == 0 || strlen(name) >= sizeof t->name, err, LQ_E_FORMAT,
               "%s: tensors[%lld].name is empty or too long", path, (long long)i);
    snprintf(t->name, sizeof t->name, "%s", name);
    LQ_TRY(get_type(path, v, "type", i, &t->type, err));
    LQ_TRY(get_type(path, v, "probe_type", i, &t->probe_type, err));
    int64_t bytes = 0;
    LQ_TRY(get_int(path, v, "bytes", 0, INT64_MAX, &bytes, err));
    t->bytes = (uint64_t)bytes;
    LQ_TRY(get_real(path, v, "predicted_kld", &t->predicted_kld, err));
    return get_real(path, v, "measured_kld", &t->measured_kld, err);
}

static lq_status read_plan(const char *path, json_t *root, struct lq_opt_plan *plan,
                           struct lq_error *err)
{
    const char *s = NULL;
    LQ_FAIL_IF(!json_is_object(root), err, LQ_E_FORMAT, "%s: not a JSON object", path);
    LQ_TRY(get_str(path, root, "format", &s, err));
    LQ_FAIL_IF(strcmp(s, PLAN_FORMAT) != 0, err, LQ_E_FORMAT, "%s: format '%s' is not '%s'",
               path, s, PLAN_FORMAT);
    int64_t v = 0;
    LQ_TRY(get_int(path, root, "version", PLAN_VERSION, PLAN_VERSION, &v, err));
    LQ_TRY(get_str(path, root, "model", &s, err));
    plan->model = lqi_strdup(s);
    LQ_TRY(get_str(path, root, "calib", &s, err));
    plan->calib = lqi_strdup(s);
    LQ_FAIL_IF(!plan->model || !plan->calib, err, LQ_E_NOMEM, "plan: out of memory");
    LQ_TRY(get_int(path, root, "calib_ctx", 8, 1 << 20, &plan->calib_ctx, err));
    LQ_TRY(get_int(path, root, "calib_tokens", 1, INT64_MAX / 2, &plan->calib_tokens, err));
    LQ_TRY(get_bool(path, root, "gptq", &plan->gptq, err));
    LQ_TRY(get_bool(path, root, "act_order", &plan->act_order, err));
    double d = 0.0;
    LQ_TRY(get_real(path, root, "damp", &d, err));
    LQ_FAIL_IF(d > 1.0, err, LQ_E_FORMAT, "%s: 'damp' must be at most 1", path);
    plan->damp = (float)d;
    LQ_TRY(get_int(path, root, "target_bytes", 0, INT64_MAX, &v, err));
    plan->target_bytes = (uint64_t)v;
    LQ_TRY(get_int(path, root, "bytes", 0, INT64_MAX, &v, err));
    plan->bytes = (uint64_t)v;
    plan->target_is_bpw = json_object_get(root, "target_bpw") != NULL;
    if (plan->target_is_bpw) {
        LQ_TRY(get_real(path, root, "target_bpw", &plan->target_bpw, err));
    }
    LQ_TRY(get_real(path, root, "predicted_kld", &plan->predicted_kld, err));
    json_t *arr = json_object_get(root, "tensors");
    LQ_FAIL_IF(!json_is_array(arr) || json_array_size(arr) == 0 ||
                   json_array_size(arr) > 1000000, err, LQ_E_FORMAT,
               "%s: 'tensors' must be a non-empty array", path);
    plan->n = (int64_t)json_array_size(arr);
    plan->t = lqi_calloc((size_t)plan->n, sizeof *plan->t);
    LQ_FAIL_IF(!plan->t, err, LQ_E_NOMEM, "plan: out of memory");
    for (int64_t i = 0; i < plan->n; i++) {
        LQ_TRY(read_tensor(path, json_array_get(arr, (size_t)i), i, &plan->t[i], err));
        for (int64_t j = 0; j < i; j++) {
            LQ_FAIL_IF(strcmp(plan->t[j].name, plan->t[i].name) == 0, err, LQ_E_FORMAT,
                       "%s: tensor '%s' is planned twice", path, plan->t[i].name);
        }
    }
    return LQ_OK;
}

lq_status lq_opt_plan_read(const char *path, struct lq_opt_plan *plan, struct lq_error *err)
{
    LQ_FAIL_IF(!path || !plan, err, LQ_E_INVALID_ARG, "plan: NULL argument");
    memset(plan, 0, sizeof *plan);
    json_t *root = NULL;
    LQ_TRY(lqi_opt_json_load(path, &root, err));
    lq_status rc = read_plan(path, root, plan, err);
    json_decref(root);
    if (rc != LQ_OK) {
        lq_opt_plan_free(plan);
    }
    return rc;
}

void lq_opt_plan_free(struct lq_opt_plan *plan)
{
    if (plan) {
        lqi_free(plan->model);
        lqi_free(plan->calib);
        lqi_free(plan->t);
        memset(plan, 0, sizeof *plan);
    }
}
