/*
 * lq/check.h - baselines for `quant check`: what a set of quantizations of one model measured,
 * with the tolerances a later run must stay within.
 *
 * Baseline file (JSON; README.md describes every key):
 *   { "format": "libquant-baseline", "version": 1,
 *     "model": { "n_tensors": N, "xxh3": "16 hex digits" },      reference tensors' XXH3
 *     "eval":  { "n_ctx": N, "n_chunks": N, "tokens_xxh3": "..." [, "text": "path"] },
 *     "types": [ { "name": "q8_0", "deterministic": true,
 *                  "tolerance": { "dppl": x, "mean_kld": x, "top1": x,
 *                                 "tensor_rmse_rel": x, "tensor_rmse_abs": x },
 *                  "ppl": x, "dppl": x, "mean_kld": x, "top1": x,
 *                  "tensors": { "NAME": { "type": "q8_0", "rmse": x, "rel_rmse": x,
 *                                         "xxh3": "..." }, ... } }, ... ] }
 *
 * A check holds when, for every type: dppl <= baseline dppl + tolerance.dppl; mean_kld <=
 * baseline + tolerance.mean_kld; top1 >= baseline - tolerance.top1; every tensor keeps its
 * type and rmse <= baseline rmse * (1 + tensor_rmse_rel) + tensor_rmse_abs; and, when
 * "deterministic" is true, every tensor's XXH3-64 equals the baseline's. Improvements pass.
 *
 * Lifecycle: lq_baseline_load() -> lq_baseline_check_model() against an opened report ->
 * lq_report_run() -> lq_check_compare() -> results, lq_check_write_junit() -> lq_check_free().
 */
#ifndef LQ_CHECK_H
#define LQ_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/report.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lq_check_tolerance {
    double dppl;            /* allowed rise of PPL - PPL(reference) */
    double mean_kld;        /* allowed rise of the mean KL divergence (nats) */
    double top1;            /* allowed drop of top-1 agreement (fraction, 0.01 = 1 point) */
    double tensor_rmse_rel; /* allowed relative rise of a tensor's RMSE */
    double tensor_rmse_abs; /* plus this absolute rise */
    double task_acc_drop;   /* with a task file: fail when the 95 % interval of the paired
                               accuracy difference to the reference reaches below
                               -task_acc_drop (fraction; optional key, default 0.03) */
};

/* Tolerances a new baseline gets (lq_baseline_write with no old baseline). */
LQ_API struct lq_check_tolerance lq_check_tolerance_default(void);

typedef struct lq_baseline lq_baseline;

/* Loads and validates a baseline. Any missing or mistyped key, unknown type name or bad
 * hash gives LQ_E_FORMAT with a message naming the file and the key
 * ("b.json: types[1].tolerance.mean_kld: missing"). On failure *out is NULL. */
LQ_API lq_status lq_baseline_load(const char *path, lq_baseline **out, struct lq_error *err);
LQ_API void lq_baseline_free(lq_baseline *b);

/* What the baseline asks to run: its chunk length, chunk count, text (may be NULL) and
 * types in order (borrowed). */
LQ_API int64_t lq_baseline_n_ctx(const lq_baseline *b);
LQ_API int64_t lq_baseline_n_chunks(const lq_baseline *b);
LQ_API const char *lq_baseline_text(const lq_baseline *b);
LQ_API int64_t lq_baseline_n_types(const lq_baseline *b);
LQ_API const char *lq_baseline_type(const lq_baseline *b, int64_t i);

/* Whether the opened report measures the same model and text as the baseline: LQ_E_FORMAT
 * naming model.n_tensors, model.xxh3, eval.n_chunks or eval.tokens_xxh3 when not. */
LQ_API lq_status lq_baseline_check_model(const lq_baseline *b, const lq_report *r,
                                         struct lq_error *err);

/* One named check of one type ("q8_0" / "mean_kld"). */
struct lq_check_case {
    const char *type;
    const char *name; /* "dppl", "mean_kld", "top1", "tensors.rmse", "tensors.xxh3" */
    bool passed;
    const char *message; /* what was measured against what; for failures the tensors */
};

typedef struct lq_check lq_check;

/* Compares a run report (with every baseline type run) against the baseline. */
LQ_API lq_status lq_check_compare(const lq_baseline *b, const lq_report *r, lq_check **out,
                                  struct lq_error *err);
LQ_API int64_t lq_check_n_cases(const lq_check *c);
LQ_API const struct lq_check_case *lq_check_case(const lq_check *c, int64_t i);
LQ_API int64_t lq_check_n_failed(const lq_check *c);
/* JUnit XML: one testsuite "quant check", one testcase per case (classname = type). */
LQ_API lq_status lq_check_write_junit(const lq_check *c, const char *path, struct lq_error *err);
LQ_API void lq_check_free(lq_check *c);

/* What lq_check_run() concluded; the values are `quant check`'s exit codes. */
enum lq_check_verdict {
    LQ_CHECK_PASS = 0,         /* every case held */
    LQ_CHECK_REGRESSION = 1,   /* at least one case failed (see the cases) */
    LQ_CHECK_BAD_BASELINE = 2, /* unreadable, incomplete, unknown types, other model or text */
    LQ_CHECK_ERROR = 3,        /* the run itself failed (err says why) */
};

struct lq_check_params {
    const char *baseline;
    const char *model;
    const char *text;     /* NULL: the baseline's eval.text */
    int n_threads;        /* <= 0: all cores */
    const char *work_dir; /* NULL: a temporary folder */
    const char *task_file;       /* also gate on task accuracy (lq/tasks.h); NULL: none */
    enum lq_task_kind task_kind; /* its kind */
    void (*on_progress)(void *user, const struct lq_report_progress *p);
    void *user;
};

/* The whole check: loads the baseline, opens the model and text with its settings, refuses
 * another model or text, runs its types and compares. *out (may be NULL) receives the
 * cases when the run completed (verdict PASS or REGRESSION); free with lq_check_free(). err
 * explains BAD_BASELINE and ERROR. */
LQ_API enum lq_check_verdict lq_check_run(const struct lq_check_params *p, lq_check **out,
                                          struct lq_error *err);

/* Writes a baseline of the run report r (temporary file + rename). Tolerances and the
 * deterministic flag of each type come from old when it lists the type, else from tol
 * (NULL: defaults) and deterministic = true. text is recorded for a later --text-less
 * check (may be NULL). */
LQ_API lq_status lq_baseline_write(const lq_report *r, const lq_baseline *old,
                                   const struct lq_check_tolerance *tol, const char *text,
                                   const char *path, struct lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LQ_CHECK_H */
