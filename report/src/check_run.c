/* check_run.c - lq_check_run: a baseline's whole check, in the order that reports a bad
 * baseline (or another model or text) before anything expensive runs. */
#include "check_impl.h"
#include "lqi.h"

static enum lq_check_verdict open_report(const struct lq_check_params *p, const lq_baseline *b,
                                         lq_report **r, struct lq_error *err)
{
    struct lq_report_params rp = lq_report_params_default();
    rp.model = p->model;
    rp.text = p->text ? p->text : lq_baseline_text(b);
    rp.n_ctx = lq_baseline_n_ctx(b);
    rp.n_chunks = lq_baseline_n_chunks(b);
    rp.n_threads = p->n_threads;
    rp.work_dir = p->work_dir;
    rp.on_progress = p->on_progress;
    rp.user = p->user;
    if (!rp.text) {
        lqi_set_error(err, LQ_E_INVALID_ARG,
                      "check: no text: give --text or record eval.text in the baseline");
        return LQ_CHECK_BAD_BASELINE;
    }
    if (lq_report_open(&rp, r, err) != LQ_OK) {
        return LQ_CHECK_ERROR;
    }
    if (lq_baseline_check_model(b, *r, err) != LQ_OK) {
        return LQ_CHECK_BAD_BASELINE;
    }
    for (int64_t i = 0; i < lq_baseline_n_types(b); i++) {
        if (lq_report_add(*r, lq_baseline_type(b, i), err) != LQ_OK) {
            return LQ_CHECK_BAD_BASELINE;
        }
    }
    return LQ_CHECK_PASS;
}

enum lq_check_verdict lq_check_run(const struct lq_check_params *p, lq_check **out,
                                   struct lq_error *err)
{
    lq_baseline *b = NULL;
    lq_report *r = NULL;
    lq_check *c = NULL;
    struct lq_error local;
    err = err ? err : &local;
    if (out) {
        *out = NULL;
    }
    if (!p || !p->baseline || !p->model) {
        lqi_set_error(err, LQ_E_INVALID_ARG, "check: a baseline and a model are needed");
        return LQ_CHECK_ERROR;
    }
    enum lq_check_verdict v = LQ_CHECK_PASS;
    if (lq_baseline_load(p->baseline, &b, err) != LQ_OK) {
        /* malformed, missing, or no regular file (a FIFO): the baseline is at fault */
        const lq_status why = err ? err->code : LQ_E_IO;
        v = why == LQ_E_FORMAT || why == LQ_E_NOT_FOUND || why == LQ_E_UNSUPPORTED
                ? LQ_CHECK_BAD_BASELINE
                : LQ_CHECK_ERROR;
    }
    v = v == LQ_CHECK_PASS ? open_report(p, b, &r, err) : v;
    if (v == LQ_CHECK_PASS &&
        (lq_report_run(r, err) != LQ_OK || lq_check_compare(b, r, &c, err) != LQ_OK)) {
        v = LQ_CHECK_ERROR;
    }
    if (v == LQ_CHECK_PASS && lq_check_n_failed(c) > 0) {
        v = LQ_CHECK_REGRESSION;
    }
    if (out) {
        *out = c;
    } else {
        lq_check_free(c);
    }
    lq_report_free(r);
    lq_baseline_free(b);
    return v;
}
