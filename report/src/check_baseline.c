/* check_baseline.c - loading a baseline strictly (every problem names its key), checking it
 * matches the model and text at hand, and writing one from a run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "check_impl.h"
#include "lqi.h"
#include "report_impl.h"

struct lq_check_tolerance lq_check_tolerance_default(void)
{
    struct lq_check_tolerance t = {
        .dppl = 0.05,
        .mean_kld = 0.0005,
        .top1 = 0.005,
        .tensor_rmse_rel = 0.01,
        .tensor_rmse_abs = 1e-7,
    };
    return t;
}

// ---- strict getters -------------------------------------------------------------------------

/* Where in the document a value is ("types[1].tolerance"), for messages. */
struct at {
    const char *file;
    char path[256];
};

static lq_status missing(const struct at *a, const char *key, const char *what,
                         struct lq_error *err)
{
    return lqi_set_error(err, LQ_E_FORMAT, "%s: %s%s%s: %s", a->file, a->path,
                         a->path[0] ? "." : "", key, what);
}

static lq_status get(const struct at *a, json_t *o, const char *key, json_t **out,
                     struct lq_error *err)
{
    *out = json_is_object(o) ? json_object_get(o, key) : NULL;
    return *out ? LQ_OK : missing(a, key, "missing", err);
}

static lq_status get_num(const struct at *a, json_t *o, const char *key, double *out,
                         struct lq_error *err)
{
    json_t *v;
    LQ_TRY(get(a, o, key, &v, err));
    if (!json_is_number(v)) {
        return missing(a, key, "not a number", err);
    }
    *out = json_number_value(v);
    return LQ_OK;
}

static lq_status get_int(const struct at *a, json_t *o, const char *key, int64_t lo, int64_t *out,
                         struct lq_error *err)
{
    json_t *v;
    LQ_TRY(get(a, o, key, &v, err));
    if (!json_is_integer(v) || json_integer_value(v) < lo) {
        return missing(a, key, "not an integer in range", err);
    }
    *out = json_integer_value(v);
    return LQ_OK;
}

static lq_status get_hash(const struct at *a, json_t *o, const char *key, uint64_t *out,
                          struct lq_error *err)
{
    json_t *v;
    LQ_TRY(get(a, o, key, &v, err));
    const char *s = json_string_value(v);
    bool ok = s && strlen(s) == 16 && strspn(s, "0123456789abcdef") == 16;
    if (!ok) {
        return missing(a, key, "not 16 lower-case hex digits (an XXH3-64)", err);
    }
    *out = strtoull(s, NULL, 16);
    return LQ_OK;
}

static void at_sub(struct at *sub, const struct at *a, const char *fmt, const char *key, long i)
{
    char part[96];
    snprintf(part, sizeof part, fmt, key, i);
    sub->file = a->file;
    snprintf(sub->path, sizeof sub->path, "%.150s%s%.90s", a->path, a->path[0] ? "." : "", part);
}

// ---- loading --------------------------------------------------------------------------------

static lq_status load_tolerance(const struct at *a, json_t *t, struct lq_check_tolerance *tol,
                                struct lq_error *err)
{
    struct at s;
    at_sub(&s, a, "%s", "tolerance", 0);
    json_t *o;
    LQ_TRY(get(a, t, "tolerance", &o, err));
    LQ_TRY(get_num(&s, o, "dppl", &tol->dppl, err));
    LQ_TRY(get_num(&s, o, "mean_kld", &tol->mean_kld, err));
    LQ_TRY(get_num(&s, o, "top1", &tol->top1, err));
    LQ_TRY(get_num(&s, o, "tensor_rmse_rel", &tol->tensor_rmse_rel, err));
    return get_num(&s, o, "tensor_rmse_abs", &tol->tensor_rmse_abs, err);
}

static lq_status load_tensor(const struct at *a, const char *name, json_t *o, struct bl_tensor *t,
                             struct lq_error *err)
{
    struct at s;
    at_sub(&s, a, "%s", name, 0);
    json_t *ty;
    LQ_TRY(get(&s, o, "type", &ty, err));
    LQ_FAIL_IF(!json_is_string(ty) || lq_type_from_name(json_string_value(ty), &t->type, NULL), err,
               LQ_E_FORMAT, "%s: %s.type: not a tensor type", s.file, s.path);
    t->name = name;
    LQ_TRY(get_hash(&s, o, "xxh3", &t->xxh3, err));
    t->has_rmse = json_object_get(o, "rmse") != NULL;
    if (t->has_rmse) {
        LQ_TRY(get_num(&s, o, "rmse", &t->rmse, err));
        LQ_TRY(get_num(&s, o, "rel_rmse", &t->rel_rmse, err));
    }
    return LQ_OK;
}

static lq_status load_tensors(const struct at *a, json_t *t, struct bl_type *bt,
                              struct lq_error *err)
{
    json_t *o;
    LQ_TRY(get(a, t, "tensors", &o, err));
    LQ_FAIL_IF(!json_is_object(o) || json_object_size(o) == 0, err, LQ_E_FORMAT,
               "%s: %s.tensors: not an object of tensors", a->file, a->path);
    struct at s;
    at_sub(&s, a, "%s", "tensors", 0);
    bt->tensors = lqi_calloc(json_object_size(o), sizeof *bt->tensors);
    LQ_FAIL_IF(!bt->tensors, err, LQ_E_NOMEM, "out of memory");
    const char *name;
    json_t *v;
    json_object_foreach(o, name, v)
    {
        LQ_TRY(load_tensor(&s, name, v, &bt->tensors[bt->n_tensors++], err));
    }
    return LQ_OK;
}

static lq_status load_type(const struct at *a, json_t *t, struct bl_type *bt, struct lq_error *err)
{
    json_t *v;
    LQ_TRY(get(a, t, "name", &v, err));
    const char *name = json_string_value(v);
    int arg;
    char lower[64] = "";
    for (size_t i = 0; name && name[i] && i + 1 < sizeof lower; i++) {
        lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
    }
    const struct report_job_kind *kind =
        name ? lqi_report_find_kind(lower, &arg, bt->name, sizeof bt->name) : NULL;
    LQ_FAIL_IF(!kind, err, LQ_E_FORMAT, "%s: %s.name: unknown type '%s' (known: %s)", a->file,
               a->path, name ? name : "(not a string)", lq_report_job_names());
    /* A baseline records no calibration text, so a check could not remake these files. */
    LQ_FAIL_IF(kind->needs_calib, err, LQ_E_FORMAT,
               "%s: %s.name: type '%s' needs a calibration text, which baselines do not record: "
               "quant check runs only types made from the reference alone",
               a->file, a->path, bt->name);
    LQ_TRY(get(a, t, "deterministic", &v, err));
    LQ_FAIL_IF(!json_is_boolean(v), err, LQ_E_FORMAT, "%s: %s.deterministic: not true/false",
               a->file, a->path);
    bt->deterministic = json_is_true(v);
    LQ_TRY(load_tolerance(a, t, &bt->tol, err));
    LQ_TRY(get_num(a, t, "ppl", &bt->ppl, err));
    LQ_TRY(get_num(a, t, "dppl", &bt->dppl, err));
    LQ_TRY(get_num(a, t, "mean_kld", &bt->mean_kld, err));
    LQ_TRY(get_num(a, t, "top1", &bt->top1, err));
    return load_tensors(a, t, bt, err);
}

static lq_status load_types(lq_baseline *b, json_t *root, struct lq_error *err)
{
    struct at a = {.file = b->path};
    json_t *types;
    LQ_TRY(get(&a, root, "types", &types, err));
    LQ_FAIL_IF(!json_is_array(types) || json_array_size(types) == 0, err, LQ_E_FORMAT,
               "%s: types: not a non-empty array", b->path);
    b->types = lqi_calloc(json_array_size(types), sizeof *b->types);
    LQ_FAIL_IF(!b->types, err, LQ_E_NOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(types); i++) {
        struct at s;
        at_sub(&s, &a, "%s[%ld]", "types", (long)i);
        b->n_types++; /* counted first: a type that fails half-way is still freed */
        LQ_TRY(load_type(&s, json_array_get(types, i), &b->types[i], err));
        for (int64_t k = 0; k + 1 < b->n_types; k++) {
            LQ_FAIL_IF(strcmp(b->types[k].name, b->types[i].name) == 0, err, LQ_E_FORMAT,
                       "%s: %s.name: type '%s' listed twice", b->path, s.path, b->types[i].name);
        }
    }
    return LQ_OK;
}

static lq_status load_head(lq_baseline *b, json_t *root, struct lq_error *err)
{
    struct at a = {.file = b->path};
    json_t *v, *model, *eval;
    LQ_TRY(get(&a, root, "format", &v, err));
    LQ_FAIL_IF(!json_is_string(v) || strcmp(json_string_value(v), "libquant-baseline") != 0, err,
               LQ_E_FORMAT, "%s: format: not \"libquant-baseline\"", b->path);
    int64_t version;
    LQ_TRY(get_int(&a, root, "version", 1, &version, err));
    LQ_FAIL_IF(version != 1, err, LQ_E_FORMAT, "%s: version: %lld is not supported (1 is)", b->path,
               (long long)version);
    LQ_TRY(get(&a, root, "model", &model, err));
    LQ_TRY(get(&a, root, "eval", &eval, err));
    struct at am = {.file = b->path, .path = "model"}, ae = {.file = b->path, .path = "eval"};
    LQ_TRY(get_int(&am, model, "n_tensors", 1, &b->n_tensors, err));
    LQ_TRY(get_hash(&am, model, "xxh3", &b->xxh3, err));
    LQ_TRY(get_int(&ae, eval, "n_ctx", 4, &b->n_ctx, err));
    LQ_TRY(get_int(&ae, eval, "n_chunks", 2, &b->n_chunks, err));
    LQ_TRY(get_hash(&ae, eval, "tokens_xxh3", &b->tokens_xxh3, err));
    b->text = json_string_value(json_object_get(eval, "text"));
    return LQ_OK;
}

lq_status lq_baseline_load(const char *path, lq_baseline **out, struct lq_error *err)
{
    LQ_FAIL_IF(!path || !out, err, LQ_E_INVALID_ARG, "baseline: NULL argument");
    *out = NULL;
    int fd;
    LQ_TRY(lq_input_open(path, false, &fd, err));
    json_error_t je;
    json_t *root = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
    close(fd);
    LQ_FAIL_IF(!root, err, LQ_E_FORMAT, "%s: line %d: %s", path, je.line, je.text);
    lq_baseline *b = lqi_calloc(1, sizeof *b);
    if (!b) {
        json_decref(root);
        return lqi_set_error(err, LQ_E_NOMEM, "out of memory");
    }
    b->doc = root;
    b->path = lqi_strdup(path);
    lq_status s = b->path ? LQ_OK : lqi_set_error(err, LQ_E_NOMEM, "out of memory");
    s = s == LQ_OK ? load_head(b, root, err) : s;
    s = s == LQ_OK ? load_types(b, root, err) : s;
    if (s != LQ_OK) {
        lq_baseline_free(b);
        return s;
    }
    *out = b;
    return LQ_OK;
}

void lq_baseline_free(lq_baseline *b)
{
    if (!b) {
        return;
    }
    for (int64_t i = 0; i < b->n_types; i++) {
        lqi_free(b->types[i].tensors);
    }
    lqi_free(b->types);
    json_decref(b->doc);
    lqi_free(b->path);
    lqi_free(b);
}

int64_t lq_baseline_n_ctx(const lq_baseline *b)
{
    return b->n_ctx;
}

int64_t lq_baseline_n_chunks(const lq_baseline *b)
{
    return b->n_chunks;
}

const char *lq_baseline_text(const lq_baseline *b)
{
    return b->text;
}

int64_t lq_baseline_n_types(const lq_baseline *b)
{
    return b->n_types;
}

const char *lq_baseline_type(const lq_baseline *b, int64_t i)
{
    return i >= 0 && i < b->n_types ? b->types[i].name : NULL;
}

lq_status lq_baseline_check_model(const lq_baseline *b, const lq_report *r, struct lq_error *err)
{
    const struct lq_report_model *m = lq_report_get_model(r);
    char want[17], got[17];
    LQ_FAIL_IF(m->n_tensors != b->n_tensors, err, LQ_E_FORMAT,
               "%s: model.n_tensors: the baseline was made on a model of %lld tensors, this "
               "one has %lld (wrong model?)",
               b->path, (long long)b->n_tensors, (long long)m->n_tensors);
    lqi_hex64(b->xxh3, want);
    lqi_hex64(m->xxh3, got);
    LQ_FAIL_IF(m->xxh3 != b->xxh3, err, LQ_E_FORMAT,
               "%s: model.xxh3: the baseline's reference tensors hash to %s, this model's to "
               "%s (wrong model?)",
               b->path, want, got);
    LQ_FAIL_IF(m->n_ctx != b->n_ctx || m->n_chunk != b->n_chunks, err, LQ_E_FORMAT,
               "%s: eval.n_chunks: the baseline evaluates %lld chunks of %lld tokens, the text "
               "gives %lld (wrong text?)",
               b->path, (long long)b->n_chunks, (long long)b->n_ctx, (long long)m->n_chunk);
    lqi_hex64(b->tokens_xxh3, want);
    lqi_hex64(m->tokens_xxh3, got);
    LQ_FAIL_IF(m->tokens_xxh3 != b->tokens_xxh3, err, LQ_E_FORMAT,
               "%s: eval.tokens_xxh3: the baseline's evaluated tokens hash to %s, this text's "
               "to %s (wrong text?)",
               b->path, want, got);
    return LQ_OK;
}
