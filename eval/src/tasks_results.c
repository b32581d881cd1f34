/* tasks_results.c - per-task outcomes of a scored task set. */
#include <string.h>

#include "lqi.h"
#include "tasks_impl.h"

struct lq_task_results {
    enum lq_task_kind kind;
    int64_t n_task;
    struct lq_task_outcome *out;
    double *scores; /* all tasks' scores back to back */
    double seconds;
};

lq_status lq_task_results_new(enum lq_task_kind kind, int64_t n_task, const int32_t *n_choice,
                              lq_task_results **out, struct lq_error *err)
{
    LQ_FAIL_IF(!out || n_task < 0 || (n_task > 0 && !n_choice), err, LQ_E_INVALID_ARG,
               "tasks: bad results size");
    *out = NULL;
    int64_t total = 0;
    for (int64_t i = 0; i < n_task; i++) {
        LQ_FAIL_IF(n_choice[i] < 1 || n_choice[i] > LQ_TASK_MAX_CHOICES, err, LQ_E_RANGE,
                   "tasks: task %lld has %d choices", (long long)(i + 1), (int)n_choice[i]);
        total += n_choice[i];
    }
    lq_task_results *r = lqi_calloc(1, sizeof *r);
    if (r) {
        r->out = lqi_calloc(n_task ? (size_t)n_task : 1, sizeof *r->out);
        r->scores = lqi_calloc(total ? (size_t)total : 1, sizeof *r->scores);
    }
    if (!r || !r->out || !r->scores) {
        lq_task_results_free(r);
        return lqi_set_error(err, LQ_E_NOMEM, "tasks: out of memory for %lld results",
                             (long long)n_task);
    }
    r->kind = kind;
    r->n_task = n_task;
    for (int64_t i = 0, at = 0; i < n_task; at += n_choice[i], i++) {
        r->out[i].n_choice = n_choice[i];
        r->out[i].scores = r->scores + at;
    }
    *out = r;
    return LQ_OK;
}

void lq_task_results_free(lq_task_results *r)
{
    if (r) {
        lqi_free(r->out);
        lqi_free(r->scores);
        lqi_free(r);
    }
}

lq_status lq_task_results_set(lq_task_results *r, int64_t i, int32_t chosen, int32_t gold,
                              bool correct, const double *scores, struct lq_error *err)
{
    LQ_FAIL_IF(!r || i < 0 || i >= r->n_task, err, LQ_E_INVALID_ARG, "tasks: no result %lld",
               (long long)i);
    struct lq_task_outcome *o = &r->out[i];
    LQ_FAIL_IF(chosen < 0 || chosen >= o->n_choice || gold < 0 || gold >= o->n_choice, err,
               LQ_E_RANGE, "tasks: task %lld: choice %d / gold %d of %d", (long long)(i + 1),
               (int)chosen, (int)gold, (int)o->n_choice);
    o->chosen = chosen;
    o->gold = gold;
    o->correct = correct;
    if (scores) {
        memcpy((double *)o->scores, scores, (size_t)o->n_choice * sizeof *scores);
    }
    return LQ_OK;
}

void lqi_task_results_set_seconds(lq_task_results *r, double s)
{
    r->seconds = s;
}

enum lq_task_kind lq_task_results_kind(const lq_task_results *r)
{
    return r->kind;
}

int64_t lq_task_results_count(const lq_task_results *r)
{
    return r ? r->n_task : 0;
}

int64_t lq_task_results_correct(const lq_task_results *r)
{
    int64_t k = 0;
    for (int64_t i = 0; r && i < r->n_task; i++) {
        k += r->out[i].correct;
    }
    return k;
}

const struct lq_task_outcome *lq_task_results_get(const lq_task_results *r, int64_t i)
{
    return r && i >= 0 && i < r->n_task ? &r->out[i] : NULL;
}

double lq_task_results_seconds(const lq_task_results *r)
{
    return r ? r->seconds : 0.0;
}
