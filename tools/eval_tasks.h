/* eval_tasks.h - `quant eval --task`: task accuracy and the paired comparison (eval_tasks.c). */
#ifndef LQ_EVAL_TASKS_H
#define LQ_EVAL_TASKS_H

#include <stdbool.h>
#include <stdint.h>

#include "lq/model.h"

struct eval_task_opts {
    const char *model, *tokenizer;
    const char *kind, *file; /* --task KIND FILE */
    const char *compare;     /* base model, or a saved --json run */
    int64_t ctx;             /* context (0: the model's training context) */
    int64_t n_tasks;         /* the first n_tasks tasks only; 0: all */
    struct lq_model_params mp; /* threads and weights memory; n_ctx from ctx */
    bool json;
    bool llama_order; /* print the running lines in llama-perplexity's order */
};

/* Runs the task evaluation; returns the exit code. */
int eval_tasks(const struct eval_task_opts *o);

#endif
