/* report_tasks.c - task accuracy of every report entry (lq/tasks.h): the reference first, then
 * each job paired with the reference's outcomes task by task. */
#include "lq/model_open_any.h"
#include "lqi.h"
#include "report_impl.h"

lq_status lqi_report_tasks_open(lq_report *r, struct lq_error *err)
{
    if (!r->p.task_file) {
        return LQ_OK;
    }
    return lq_tasks_read(r->p.task_file, r->p.task_kind, &r->tasks, err);
}

lq_status lqi_report_tasks_score(lq_report *r, struct report_job *j, int64_t job_index,
                                 struct lq_error *err)
{
    if (!r->tasks) {
        return LQ_OK;
    }
    /* the model's own context: task sequences need not fit the perplexity chunk */
    struct lq_model_params mp = lq_model_params_default();
    mp.n_threads = r->p.n_threads;
    lq_model *m = NULL;
    lq_tokenizer *tok = NULL;
    lq_status s = lq_model_open_path_tokenizer(j->path, NULL, &mp, &m, &tok, err);
    if (s == LQ_OK) {
        s = lq_tasks_score(m, tok, r->tasks, NULL, &j->task_res, err);
    }
    lq_tokenizer_free(tok);
    lq_model_free(m);
    LQ_TRY(s);
    struct lq_report_entry *e = &j->e;
    e->has_task = true;
    e->task_n = lq_task_results_count(j->task_res);
    e->task_correct = lq_task_results_correct(j->task_res);
    e->task_acc = e->task_n ? (double)e->task_correct / (double)e->task_n : 0.0;
    lq_wilson95(e->task_correct, e->task_n, &e->task_lo, &e->task_hi);
    if (job_index > 0 && r->base.task_res) {
        LQ_TRY(lq_task_results_compare(j->task_res, r->base.task_res, &e->task_cmp, err));
    }
    return LQ_OK;
}
