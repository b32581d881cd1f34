/* report_json.c - report.json: every number of the run, doubles at full precision (17
 * significant digits, so they read back exactly); non-finite values are null. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lqi.h"
#include "report_impl.h"

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *hex(uint64_t v)
{
    char h[17];
    lqi_hex64(v, h);
    return json_string(h);
}

static json_t *dist_json(const struct lq_dist *d)
{
    const struct {
        const char *key;
        double v;
    } f[] = {
        {"max", d->max}, {"99.9", d->p999}, {"99", d->p99},  {"95", d->p95}, {"90", d->p90},
        {"75", d->p75},  {"50", d->median}, {"25", d->p25},  {"10", d->p10}, {"5", d->p05},
        {"1", d->p01},   {"0.1", d->p001},  {"min", d->min},
    };
    json_t *j = json_object();
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        json_object_set_new(j, f[i].key, num(f[i].v));
    }
    return j;
}

static json_t *kld_json(const struct lq_kld_report *k)
{
    const struct {
        const char *key;
        double v;
    } f[] = {
        {"ppl_base", k->ppl_base},
        {"ppl_base_err", k->ppl_base_err},
        {"cor", k->cor},
        {"ln_ratio", k->ln_ratio},
        {"ln_ratio_err", k->ln_ratio_err},
        {"ratio", k->ratio},
        {"ratio_err", k->ratio_err},
        {"diff", k->diff},
        {"diff_err", k->diff_err},
        {"mean_kld", k->kld},
        {"mean_kld_err", k->kld_err},
        {"kld_p99", k->kld_dist.p99},
        {"dp_mean", k->dp},
        {"dp_mean_err", k->dp_err},
        {"dp_rms", k->dp_rms},
        {"dp_rms_err", k->dp_rms_err},
        {"top1", k->same_top},
        {"top1_err", k->same_top_err},
    };
    json_t *j = json_object();
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        json_object_set_new(j, f[i].key, num(f[i].v));
    }
    json_object_set_new(j, "kld_percentiles", dist_json(&k->kld_dist));
    json_object_set_new(j, "dp_percentiles", dist_json(&k->dp_dist));
    return j;
}

static json_t *tensor_json(const struct lq_report_tensor *t)
{
    json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:o}", "name", t->name, "type", lq_type_name(t->type),
                          "n_elements", (json_int_t)t->n_elements, "nbytes", (json_int_t)t->nbytes,
                          "xxh3", hex(t->xxh3));
    if (j && t->compared) {
        json_object_set_new(j, "rmse", num(t->stats.rmse));
        json_object_set_new(j, "rel_rmse", num(t->stats.rel_rmse));
        json_object_set_new(j, "max_abs_err", num(t->stats.max_abs_err));
        json_object_set_new(j, "snr_db", num(t->stats.snr_db));
    }
    return j;
}

static json_t *eval_json(const struct lq_report_entry *e)
{
    json_t *j = json_object();
    json_object_set_new(j, "ppl", num(e->eval.ppl));
    json_object_set_new(j, "ppl_err", num(e->eval.ppl_err));
    json_object_set_new(j, "tokens_scored", json_integer((json_int_t)e->eval.count));
    json_object_set_new(j, "seconds", num(e->eval.seconds));
    json_object_set_new(j, "tokens_per_second", num(e->eval.tokens_per_s));
    if (e->eval.has_kld) {
        json_object_set_new(j, "dppl", num(e->dppl));
        json_object_set_new(j, "kld", kld_json(&e->eval.kld));
    }
    return j;
}

/* The file a row measured, when it outlives the run (kept, given, or the GGUF reference). */
static bool file_kept(const lq_report *r, const struct lq_report_entry *e)
{
    if (strcmp(e->kind, "base") == 0) {
        return !r->base_converted || !r->own_work_dir;
    }
    return !r->own_work_dir || strcmp(e->kind, "file") == 0;
}

/* Task accuracy; for a job also the paired comparison with the reference. */
static json_t *task_json(const struct lq_report_entry *e)
{
    json_t *j = json_pack("{s:I,s:I,s:o,s:[o,o]}", "n_task", (json_int_t)e->task_n, "correct",
                          (json_int_t)e->task_correct, "accuracy", num(e->task_acc), "ci95",
                          num(e->task_lo), num(e->task_hi));
    if (j && strcmp(e->kind, "base") != 0) {
        const struct lq_task_compare *c = &e->task_cmp;
        json_object_set_new(j, "diff", num(c->diff));
        json_object_set_new(j, "diff_ci95", json_pack("[o,o]", num(c->lo), num(c->hi)));
        json_object_set_new(j, "interval", json_string("newcombe-paired-score"));
        json_object_set_new(j, "gained", json_integer((json_int_t)c->gained));
        json_object_set_new(j, "lost", json_integer((json_int_t)c->lost));
        json_object_set_new(j, "p_mcnemar", num(c->p_mcnemar));
    }
    return j;
}

static json_t *entry_json(const lq_report *r, const struct lq_report_entry *e)
{
    json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:I,s:o,s:o}", "name", e->name, "kind", e->kind,
                          "file_bytes", (json_int_t)e->file_bytes, "data_bytes",
                          (json_int_t)e->data_bytes, "n_params", (json_int_t)e->n_params, "bpw",
                          num(e->bpw), "quantize_seconds", num(e->quantize_seconds));
    if (file_kept(r, e)) {
        json_object_set_new(j, "path", json_string(e->path));
    }
    json_object_set_new(j, "eval", eval_json(e));
    if (e->has_task) {
        json_object_set_new(j, "task", task_json(e));
    }
    json_t *worst = json_array(), *ts = json_array();
    for (int k = 0; k < 3 && e->worst[k] >= 0; k++) {
        json_array_append_new(worst, json_string(e->tensors[e->worst[k]].name));
    }
    for (int64_t i = 0; i < e->n_tensors; i++) {
        json_array_append_new(ts, tensor_json(&e->tensors[i]));
    }
    json_object_set_new(j, "worst_tensors", worst);
    json_object_set_new(j, "tensors", ts);
    return j;
}

static json_t *report_json(const lq_report *r)
{
    const struct lq_report_model *m = lq_report_get_model(r);
    json_t *types = json_array();
    for (int64_t i = 0; i < lq_report_n_entries(r); i++) {
        json_array_append_new(types, entry_json(r, lq_report_entry(r, i)));
    }
    json_t *j = json_pack("{s:s,s:i,s:{s:s,s:I,s:I,s:o},s:{s:s,s:I,s:I,s:I,s:o},s:o,s:o}", "format",
                          "libquant-report", "version", 1, "model", "path", m->path, "n_tensors",
                          (json_int_t)m->n_tensors, "n_params", (json_int_t)m->n_params, "xxh3",
                          hex(m->xxh3), "text", "path", lq_report_text_path(r), "n_ctx",
                          (json_int_t)m->n_ctx, "n_chunk", (json_int_t)m->n_chunk, "n_tokens",
                          (json_int_t)m->n_tokens, "tokens_xxh3", hex(m->tokens_xxh3), "reference",
                          entry_json(r, lq_report_base(r)), "types", types);
    if (j && r->tasks) {
        json_object_set_new(j, "tasks",
                            json_pack("{s:s,s:s}", "kind", lq_task_kind_name(r->p.task_kind),
                                      "path", r->p.task_file));
    }
    return j;
}

lq_status lq_report_write_json(const lq_report *r, const char *path, struct lq_error *err)
{
    LQ_FAIL_IF(!r || !path, err, LQ_E_INVALID_ARG, "report: NULL argument");
    json_t *j = report_json(r);
    LQ_FAIL_IF(!j, err, LQ_E_NOMEM, "report: cannot build the JSON document");
    struct report_out o;
    lq_status s = lqi_out_open(&o, path, err);
    if (s == LQ_OK) {
        if (json_dumpf(j, o.f, JSON_INDENT(1) | JSON_REAL_PRECISION(17)) != 0) {
            lqi_out_abort(&o);
            s = lqi_set_error(err, LQ_E_IO, "%s: cannot write the JSON document", path);
        } else {
            fputs("\n", o.f);
            s = lqi_out_close(&o, err);
        }
    }
    json_decref(j);
    return s;
}
