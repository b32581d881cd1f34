/* tasks_impl.h - building task sets (eval/src/tasks_*.c). */
#ifndef LQ_TASKS_IMPL_H
#define LQ_TASKS_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "lq/tasks.h"

/* Reads the whole file into a new buffer of *len bytes plus a NUL (tok_file.c). */
lq_status lqi_read_all(const char *path, char **out, size_t *len, struct lq_error *err);

struct lqi_task_rec {
    size_t ctx_off, ctx_len;
    int64_t first; /* index of its first choice */
    int32_t n_choice;
    size_t origin_off; /* into text; SIZE_MAX: none */
};

struct lqi_choice_rec {
    size_t off, len;
    uint8_t label;
};

/* A task set under construction: strings back to back in one buffer, records by offset. */
struct lqi_task_builder {
    enum lq_task_kind kind;
    char *text;
    size_t text_len, text_cap;
    struct lqi_task_rec *task;
    int64_t n_task, task_cap;
    struct lqi_choice_rec *choice;
    int64_t n_choice, choice_cap;
};

/* Appends n bytes to the text; *off receives where they start. */
lq_status lqi_tb_text(struct lqi_task_builder *b, const char *s, size_t n, size_t *off,
                      struct lq_error *err);
/* Starts a task whose context is s[0..n) (copied). */
lq_status lqi_tb_task(struct lqi_task_builder *b, const char *s, size_t n, struct lq_error *err);
/* Adds a choice to the last task. */
lq_status lqi_tb_choice(struct lqi_task_builder *b, const char *s, size_t n, uint8_t label,
                        struct lq_error *err);
/* Records where the last task came from (NUL-terminated, copied). */
lq_status lqi_tb_origin(struct lqi_task_builder *b, const char *origin, struct lq_error *err);
/* Turns the builder into a set (the builder is emptied, also on failure). */
lq_status lqi_tb_finish(struct lqi_task_builder *b, lq_task_set **out, struct lq_error *err);
void lqi_tb_free(struct lqi_task_builder *b);

/* Records the forward-pass time of a scoring run (tasks_results.c). */
void lqi_task_results_set_seconds(lq_task_results *r, double s);

#endif
