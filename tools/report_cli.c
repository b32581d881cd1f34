/* report_cli.c - shared pieces of `quant report` and `quant check`. */
#include "report_cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_out.h"

void report_cli_progress(void *user, const struct lq_report_progress *p)
{
    char label[96];
    if (p->job_index == 0) {
        snprintf(label, sizeof label, "reference %s: eval", p->job ? p->job : "");
    } else {
        snprintf(label, sizeof label, "%lld/%lld %s: %s", (long long)p->job_index,
                 (long long)p->n_jobs, p->job, p->stage);
    }
    progress_units(user, p->done, p->total, label);
}

int report_cli_add_types(const char *cmd, lq_report *r, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    int rc = copy ? LQ_EXIT_OK : LQ_EXIT_FAIL;
    for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && rc == LQ_EXIT_OK;
         t = strtok_r(NULL, ",", &save)) {
        struct lq_error err = {0};
        if (lq_report_add(r, t, &err) != LQ_OK) {
            rc = cli_usage_error(cmd, "%s", err.msg);
        }
    }
    free(copy);
    return rc;
}

int report_cli_number(const char *cmd, const char *name, const char *arg, long long lo,
                      long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || *end || end == arg || v < lo) {
        return cli_usage_error(cmd, "--%s needs a number >= %lld, not '%s'", name, lo, arg);
    }
    *out = v;
    return 0;
}

static void print_row(FILE *f, const struct lq_report_entry *e)
{
    const bool base = strcmp(e->kind, "base") == 0;
    const struct lq_kld_report *k = &e->eval.kld;
    fprintf(f, "%-12s %8.2f %6.3f %9.4f ", e->name, e->file_bytes / 1048576.0, e->bpw, e->eval.ppl);
    if (base) {
        fprintf(f, "%9s %10s %10s %8s  %s\n", "-", "-", "-", "-", "(reference)");
        return;
    }
    fprintf(f, "%+9.4f %10.6f %10.6f %8.3f  %s\n", e->dppl, k->kld, k->kld_dist.p99,
            100.0 * k->same_top, e->worst[0] >= 0 ? e->tensors[e->worst[0]].name : "-");
}

void report_cli_print_table(const lq_report *r, FILE *f)
{
    fprintf(f, "%-12s %8s %6s %9s %9s %10s %10s %8s  %s\n", "type", "MiB", "bpw", "PPL", "dPPL",
            "mean KLD", "KLD p99", "top-1 %", "worst tensor (rel. RMSE)");
    print_row(f, lq_report_base(r));
    for (int64_t i = 0; i < lq_report_n_entries(r); i++) {
        print_row(f, lq_report_entry(r, i));
    }
}

/* One row: sizes, times, figures and its three worst tensors. */
static json_t *entry_json(const struct lq_report_entry *e)
{
    const struct lq_kld_report *k = &e->eval.kld;
    json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I}", "name", e->name, "kind", e->kind,
                          "file_bytes", (json_int_t)e->file_bytes, "data_bytes",
                          (json_int_t)e->data_bytes, "n_params", (json_int_t)e->n_params);
    json_out_real(o, "bpw", e->bpw);
    json_out_real(o, "quantize_seconds", e->quantize_seconds);
    json_out_real(o, "eval_seconds", e->eval.seconds);
    json_out_real(o, "ppl", e->eval.ppl);
    json_out_real(o, "ppl_err", e->eval.ppl_err);
    if (strcmp(e->kind, "base") != 0) {
        json_out_real(o, "dppl", e->dppl);
        json_out_real(o, "mean_kld", k->kld);
        json_out_real(o, "kld_p99", k->kld_dist.p99);
        json_out_real(o, "top1", k->same_top);
        json_out_real(o, "dp_rms", k->dp_rms);
        json_t *worst = json_array();
        for (int i = 0; i < 3 && e->worst[i] >= 0; i++) {
            const struct lq_report_tensor *t = &e->tensors[e->worst[i]];
            json_t *w = json_pack("{s:s, s:s}", "name", t->name, "type", lq_type_name(t->type));
            json_out_real(w, "rel_rmse", t->stats.rel_rmse);
            json_array_append_new(worst, w);
        }
        json_object_set_new(o, "worst_tensors", worst);
    }
    return o;
}

void report_cli_json_entries(const lq_report *r, json_t *doc)
{
    json_object_set_new(doc, "reference", entry_json(lq_report_base(r)));
    json_t *arr = json_array();
    for (int64_t i = 0; i < lq_report_n_entries(r); i++) {
        json_array_append_new(arr, entry_json(lq_report_entry(r, i)));
    }
    json_object_set_new(doc, "entries", arr);
}
