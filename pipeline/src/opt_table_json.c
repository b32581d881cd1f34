/* opt_table_json.c - the optimizer's cost table cached as JSON in the work folder, so that
 * --resume plans again without measuring (lq/optimize.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lq/optimize.h"
#include "lqi.h"
#include "opt_impl.h"

/* The settings a table depends on; a cache with other settings is not reused. */
static json_t *settings(const char *model, const char *calib, const struct lq_opt_params *p)
{
    enum lq_type def[LQ_OPT_MAX_TYPES];
    const enum lq_type *types = p->types;
    int n = p->n_types;
    if (n == 0) {
        n = lq_opt_default_types(def, LQ_OPT_MAX_TYPES);
        types = def;
    }
    json_t *tl = json_array(), *cl = json_array();
    for (int k = 0; k < n; k++) {
        json_array_append_new(tl, json_string(lq_type_name(types[k])));
    }
    for (int k = 0; k < p->n_checks; k++) {
        json_array_append_new(cl, json_string(lq_type_name(p->checks[k])));
    }
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:b, s:b, s:f, s:o, s:o}", "model", model,
                     "calib", calib, "calib_ctx", (json_int_t)p->calib_ctx, "calib_tokens",
                     (json_int_t)p->calib_tokens, "kld_chunks", (json_int_t)p->kld_chunks, "gptq",
                     p->gptq, "act_order", p->gp.act_order, "damp", (double)p->gp.damp, "types",
                     tl, "checks", cl);
}

static json_t *reals(const double *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++) {
        json_array_append_new(a, isfinite(v[i]) ? json_real(v[i]) : json_null());
    }
    return a;
}

static json_t *tensor_json(const struct lq_opt_tensor *t, int n_checks)
{
    json_t *types = json_array(), *bytes = json_array();
    for (int k = 0; k < t->n_types; k++) {
        json_array_append_new(types, json_string(lq_type_name(t->types[k])));
        json_array_append_new(bytes, json_integer((json_int_t)t->bytes[k]));
    }
    return json_pack("{s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:s, s:f, s:f, s:f, s:o, s:o}", "name",
                     t->name, "rows", (json_int_t)t->rows, "cols", (json_int_t)t->cols, "types",
                     types, "bytes", bytes, "energy", reals(t->energy, t->n_types), "cost",
                     reals(t->cost, t->n_types), "probe_type", lq_type_name(t->probe_type),
                     "probe_energy", t->probe_energy, "probe_kld", t->probe_kld, "alpha",
                     t->alpha, "check_energy", reals(t->check_energy, n_checks), "check_kld",
                     reals(t->check_kld, n_checks));
}

lq_status lq_opt_table_write(const struct lq_opt_table *t, const char *path,
                             const char *model_path, const char *calib_path,
                             const struct lq_opt_params *p, struct lq_error *err)
{
    LQ_FAIL_IF(!t || !path || !model_path || !calib_path || !p, err, LQ_E_INVALID_ARG,
               "optimize: NULL argument");
    json_t *arr = json_array();
    for (int64_t i = 0; i < t->n; i++) {
        json_array_append_new(arr, tensor_json(&t->t[i], t->n_checks));
    }
    json_t *root = json_pack("{s:o, s:f, s:o, s:o, s:f, s:o}", "settings",
                             settings(model_path, calib_path, p), "base_kld", t->base_kld,
                             "rho_cost", reals(t->rho_cost, t->n_checks), "rho_energy",
                             reals(t->rho_energy, t->n_checks), "seconds", t->seconds,
                             "tensors", arr);
    lq_status rc = lqi_opt_json_save(path, root, JSON_COMPACT, err);
    json_decref(root);
    return rc;
}

// ---- reading: every value checked ---------------------------------------------------------

static bool real_at(json_t *a, size_t i, double *out)
{
    json_t *v = json_array_get(a, i);
    if (json_is_null(v)) {
        *out = NAN;
        return true;
    }
    *out = json_number_value(v);
    return json_is_number(v) && isfinite(*out);
}

static bool type_of(json_t *v, enum lq_type *out)
{
    struct lq_error e = {0};
    return json_is_string(v) && lq_type_from_name(json_string_value(v), out, &e) == LQ_OK &&
           lq_type_traits_get(*out) && lq_type_traits_get(*out)->quantize;
}

static bool read_tensor(json_t *o, int n_checks, struct lq_opt_tensor *t)
{
    json_t *types = json_object_get(o, "types"), *bytes = json_object_get(o, "bytes");
    json_t *en = json_object_get(o, "energy"), *co = json_object_get(o, "cost");
    json_t *ce = json_object_get(o, "check_energy"), *ck = json_object_get(o, "check_kld");
    const char *name = json_string_value(json_object_get(o, "name"));
    const size_t n = json_array_size(types);
    if (!name || strlen(name) >= sizeof t->name || n < 1 || n > LQ_OPT_MAX_TYPES ||
        json_array_size(bytes) != n || json_array_size(en) != n || json_array_size(co) != n ||
        json_array_size(ce) != (size_t)n_checks || json_array_size(ck) != (size_t)n_checks ||
        !type_of(json_object_get(o, "probe_type"), &t->probe_type)) {
        return false;
    }
    snprintf(t->name, sizeof t->name, "%s", name);
    t->rows = json_integer_value(json_object_get(o, "rows"));
    t->cols = json_integer_value(json_object_get(o, "cols"));
    t->n_types = (int)n;
    bool ok = t->rows > 0 && t->cols > 0;
    for (size_t k = 0; ok && k < n; k++) {
        json_t *b = json_array_get(bytes, k);
        ok = type_of(json_array_get(types, k), &t->types[k]) && json_is_integer(b) &&
             json_integer_value(b) >= 0 && real_at(en, k, &t->energy[k]) &&
             real_at(co, k, &t->cost[k]) && isfinite(t->cost[k]);
        t->bytes[k] = ok ? (uint64_t)json_integer_value(b) : 0;
    }
    for (int k = 0; ok && k < n_checks; k++) {
        ok = real_at(ce, (size_t)k, &t->check_energy[k]) && real_at(ck, (size_t)k, &t->check_kld[k]);
    }
    t->probe_energy = json_number_value(json_object_get(o, "probe_energy"));
    t->probe_kld = json_number_value(json_object_get(o, "probe_kld"));
    t->alpha = json_number_value(json_object_get(o, "alpha"));
    return ok;
}

static lq_status read_table(const char *path, json_t *root, json_t *want,
                            const struct lq_opt_params *p, struct lq_opt_table *t,
                            struct lq_error *err)
{
    LQ_FAIL_IF(!json_equal(json_object_get(root, "settings"), want), err, LQ_E_NOT_FOUND,
               "%s: measured with other settings", path);
    json_t *arr = json_object_get(root, "tensors");
    LQ_FAIL_IF(!json_is_array(arr) || json_array_size(arr) == 0 ||
                   json_array_size(arr) > 1000000, err, LQ_E_FORMAT, "%s: no tensors", path);
    t->n_checks = p->n_checks;
    memcpy(t->checks, p->checks, sizeof t->checks);
    t->base_kld = json_number_value(json_object_get(root, "base_kld"));
    t->seconds = json_number_value(json_object_get(root, "seconds"));
    for (int k = 0; k < p->n_checks; k++) {
        LQ_FAIL_IF(!real_at(json_object_get(root, "rho_cost"), (size_t)k, &t->rho_cost[k]) ||
                       !real_at(json_object_get(root, "rho_energy"), (size_t)k,
                                &t->rho_energy[k]),
                   err, LQ_E_FORMAT, "%s: bad rank correlations", path);
    }
    t->t = lqi_calloc(json_array_size(arr), sizeof *t->t);
    LQ_FAIL_IF(!t->t, err, LQ_E_NOMEM, "optimize: out of memory");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        LQ_FAIL_IF(!read_tensor(json_array_get(arr, i), p->n_checks, &t->t[i]), err,
                   LQ_E_FORMAT, "%s: tensors[%zu] is malformed", path, i);
        t->n++;
    }
    return LQ_OK;
}

lq_status lq_opt_table_read(const char *path, const char *model_path, const char *calib_path,
                            const struct lq_opt_params *p, struct lq_opt_table *t,
                            struct lq_error *err)
{
    LQ_FAIL_IF(!path || !model_path || !calib_path || !p || !t, err, LQ_E_INVALID_ARG,
               "optimize: NULL argument");
    memset(t, 0, sizeof *t);
    if (access(path, F_OK) != 0) {
        return lqi_set_error(err, LQ_E_NOT_FOUND, "%s: no cached measurements", path);
    }
    json_t *root = NULL;
    LQ_TRY(lqi_opt_json_load(path, &root, err));
    json_t *want = settings(model_path, calib_path, p);
    lq_status rc = read_table(path, root, want, p, t, err);
    json_decref(want);
    json_decref(root);
    if (rc != LQ_OK) {
        lq_opt_table_free(t);
    }
    return rc;
}
