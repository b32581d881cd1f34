/*
 * lq/tasks_json.h - per-task results (lq/tasks.h) as JSON, so that two runs can be compared
 * later without scoring again (`quant eval --task ... --json`, `--compare RUN.json`).
 *
 *   { "format": "libquant-tasks", "version": 1, "task": "hellaswag" | "multiple-choice",
 *     "file": "...", "model": "...", "n_task": N, "correct": K, "accuracy": K/N,
 *     "ci95": [lo, hi] (Wilson), "seconds": s, "tasks_per_second": x,
 *     ["compare": { "base": "...", "acc": a, "acc_base": b, "diff": a - b, "ci95": [lo, hi],
 *                   "interval": "newcombe-paired-score", "gained": n, "lost": n, "both": n,
 *                   "neither": n, "p_mcnemar": p },]
 *     "tasks": [ { "chosen": i, "gold": g, "correct": true, "scores": [x, ...] }, ... ] }
 *
 * "tasks" is in file order; "scores" are the mean log-probabilities of the choices.
 */
#ifndef LQ_TASKS_JSON_H
#define LQ_TASKS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/tasks.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The JSON text of r (a new string, freed with free()); NULL when out of memory. file and
 * model are recorded as given (may be NULL); cmp (may be NULL) adds "compare" with base. */
LQ_API char *lq_task_results_to_json(const lq_task_results *r, const char *file, const char *model,
                                     const struct lq_task_compare *cmp, const char *base);

/* Reads results saved by lq_task_results_to_json(). Errors (LQ_E_FORMAT) name the file and
 * the key. */
LQ_API lq_status lq_task_results_load(const char *path, lq_task_results **out,
                                      struct lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LQ_TASKS_JSON_H */
