/* check_write.c - a baseline from a run (`quant check --update`). */
#include <math.h>
#include <string.h>

#include <jansson.h>

#include "check_impl.h"
#include "lqi.h"
#include "report_impl.h"

static json_t *hex(uint64_t v)
{
    char h[17];
    lqi_hex64(v, h);
    return json_string(h);
}

static json_t *num(double v)
{
    return json_real(isfinite(v) ? v : 0.0);
}

static json_t *tensors_json(const struct lq_report_entry *e)
{
    json_t *o = json_object();
    for (int64_t i = 0; i < e->n_tensors; i++) {
        const struct lq_report_tensor *t = &e->tensors[i];
        json_t *j = json_pack("{s:s,s:o}", "type", lq_type_name(t->type), "xxh3", hex(t->xxh3));
        if (t->compared && isfinite(t->stats.rel_rmse)) {
            json_object_set_new(j, "rmse", num(t->stats.rmse));
            json_object_set_new(j, "rel_rmse", num(t->stats.rel_rmse));
        }
        json_object_set_new(o, t->name, j);
    }
    return o;
}

static const struct bl_type *old_type(const lq_baseline *old, const char *name)
{
    for (int64_t i = 0; old && i < old->n_types; i++) {
        if (strcmp(old->types[i].name, name) == 0) {
            return &old->types[i];
        }
    }
    return NULL;
}

static json_t *type_json(const struct lq_report_entry *e, const lq_baseline *old,
                         const struct lq_check_tolerance *tol)
{
    const struct bl_type *o = old_type(old, e->name);
    const struct lq_check_tolerance *t = o ? &o->tol : tol;
    json_t *j = json_pack("{s:s,s:b,s:{s:o,s:o,s:o,s:o,s:o,s:o},s:o,s:o,s:o,s:o,s:o}", "name",
                          e->name, "deterministic", o ? o->deterministic : 1, "tolerance", "dppl",
                          num(t->dppl), "mean_kld", num(t->mean_kld), "top1", num(t->top1),
                          "tensor_rmse_rel", num(t->tensor_rmse_rel), "tensor_rmse_abs",
                          num(t->tensor_rmse_abs), "task_acc_drop", num(t->task_acc_drop), "ppl",
                          num(e->eval.ppl), "dppl", num(e->dppl), "mean_kld", num(e->eval.kld.kld),
                          "top1", num(e->eval.kld.same_top), "tensors", tensors_json(e));
    if (j && e->has_task) { /* for the record; the gate compares with the reference's run */
        json_object_set_new(j, "task_acc", num(e->task_acc));
    }
    return j;
}

static json_t *baseline_json(const lq_report *r, const lq_baseline *old,
                             const struct lq_check_tolerance *tol, const char *text)
{
    const struct lq_report_model *m = lq_report_get_model(r);
    json_t *types = json_array();
    for (int64_t i = 0; i < lq_report_n_entries(r); i++) {
        json_array_append_new(types, type_json(lq_report_entry(r, i), old, tol));
    }
    json_t *eval = json_pack("{s:I,s:I,s:o}", "n_ctx", (json_int_t)m->n_ctx, "n_chunks",
                             (json_int_t)m->n_chunk, "tokens_xxh3", hex(m->tokens_xxh3));
    if (text) {
        json_object_set_new(eval, "text", json_string(text));
    }
    return json_pack("{s:s,s:i,s:{s:I,s:o},s:o,s:o}", "format", "libquant-baseline", "version", 1,
                     "model", "n_tensors", (json_int_t)m->n_tensors, "xxh3", hex(m->xxh3), "eval",
                     eval, "types", types);
}

lq_status lq_baseline_write(const lq_report *r, const lq_baseline *old,
                            const struct lq_check_tolerance *tol, const char *text,
                            const char *path, struct lq_error *err)
{
    LQ_FAIL_IF(!r || !path, err, LQ_E_INVALID_ARG, "baseline: NULL argument");
    for (int64_t i = 0; i < lq_report_n_entries(r); i++) {
        LQ_FAIL_IF(!lq_report_entry(r, i)->done, err, LQ_E_INVALID_ARG,
                   "baseline: type '%s' has not been run", lq_report_entry(r, i)->name);
    }
    struct lq_check_tolerance def = lq_check_tolerance_default();
    json_t *j = baseline_json(r, old, tol ? tol : &def, text);
    LQ_FAIL_IF(!j, err, LQ_E_NOMEM, "baseline: cannot build the JSON document");
    struct report_out o;
    lq_status s = lqi_out_open(&o, path, err);
    if (s == LQ_OK && json_dumpf(j, o.f, JSON_INDENT(1) | JSON_REAL_PRECISION(17)) != 0) {
        lqi_out_abort(&o);
        s = lqi_set_error(err, LQ_E_IO, "%s: cannot write the baseline", path);
    } else if (s == LQ_OK) {
        fputs("\n", o.f);
        s = lqi_out_close(&o, err);
    }
    json_decref(j);
    return s;
}
