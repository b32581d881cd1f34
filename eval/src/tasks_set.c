/* tasks_set.c - task sets: the builder the readers fill and the finished, immutable set. */
#include "tasks_impl.h"

#include <string.h>

#include "lqi.h"

struct lq_task_set {
    enum lq_task_kind kind;
    char *text;
    int64_t n_task;
    struct lq_task *task;
    const char **choice;
    size_t *choice_len;
    uint8_t *label;
    const char **origin; /* NULL when no task has one */
};

// ---- the builder --------------------------------------------------------------------------

/* Grows *p (elements of size sz) to hold at least need; cap doubles. */
static lq_status grow(void **p, int64_t *cap, int64_t need, size_t sz, struct lq_error *err)
{
    if (need <= *cap) {
        return LQ_OK;
    }
    int64_t n = *cap ? *cap : 64;
    while (n < need) {
        n *= 2;
    }
    void *q = lqi_realloc(*p, (size_t)n * sz);
    LQ_FAIL_IF(!q, err, LQ_E_NOMEM, "tasks: out of memory");
    *p = q;
    *cap = n;
    return LQ_OK;
}

lq_status lqi_tb_text(struct lqi_task_builder *b, const char *s, size_t n, size_t *off,
                      struct lq_error *err)
{
    int64_t cap = (int64_t)b->text_cap;
    LQ_TRY(grow((void **)&b->text, &cap, (int64_t)(b->text_len + n + 1), 1, err));
    b->text_cap = (size_t)cap;
    if (n > 0) {
        memcpy(b->text + b->text_len, s, n);
    }
    *off = b->text_len;
    b->text_len += n;
    b->text[b->text_len] = '\0';
    return LQ_OK;
}

lq_status lqi_tb_task(struct lqi_task_builder *b, const char *s, size_t n, struct lq_error *err)
{
    LQ_TRY(grow((void **)&b->task, &b->task_cap, b->n_task + 1, sizeof *b->task, err));
    struct lqi_task_rec *t = &b->task[b->n_task];
    LQ_TRY(lqi_tb_text(b, s, n, &t->ctx_off, err));
    t->ctx_len = n;
    t->first = b->n_choice;
    t->n_choice = 0;
    t->origin_off = SIZE_MAX;
    b->n_task++;
    return LQ_OK;
}

lq_status lqi_tb_choice(struct lqi_task_builder *b, const char *s, size_t n, uint8_t label,
                        struct lq_error *err)
{
    LQ_TRY(grow((void **)&b->choice, &b->choice_cap, b->n_choice + 1, sizeof *b->choice, err));
    struct lqi_choice_rec *c = &b->choice[b->n_choice];
    LQ_TRY(lqi_tb_text(b, s, n, &c->off, err));
    c->len = n;
    c->label = label;
    b->n_choice++;
    b->task[b->n_task - 1].n_choice++;
    return LQ_OK;
}

lq_status lqi_tb_origin(struct lqi_task_builder *b, const char *origin, struct lq_error *err)
{
    size_t off;
    /* with its NUL: the next append writes after it */
    LQ_TRY(lqi_tb_text(b, origin, strlen(origin) + 1, &off, err));
    b->task[b->n_task - 1].origin_off = off;
    return LQ_OK;
}

void lqi_tb_free(struct lqi_task_builder *b)
{
    lqi_free(b->text);
    lqi_free(b->task);
    lqi_free(b->choice);
    memset(b, 0, sizeof *b);
}

/* Points every task of s at its strings in s->text. */
static void link_tasks(lq_task_set *s, const struct lqi_task_builder *b)
{
    for (int64_t i = 0; i < b->n_choice; i++) {
        s->choice[i] = s->text + b->choice[i].off;
        s->choice_len[i] = b->choice[i].len;
        s->label[i] = b->choice[i].label;
    }
    for (int64_t i = 0; i < b->n_task; i++) {
        const struct lqi_task_rec *r = &b->task[i];
        struct lq_task *t = &s->task[i];
        t->context = s->text + r->ctx_off;
        t->context_len = r->ctx_len;
        t->n_choice = r->n_choice;
        t->choice = s->choice + r->first;
        t->choice_len = s->choice_len + r->first;
        t->label = s->label + r->first;
        t->gold = 0;
        while (t->gold < t->n_choice - 1 && t->label[t->gold] != 1) {
            t->gold++;
        }
        if (s->origin) {
            s->origin[i] = r->origin_off == SIZE_MAX ? NULL : s->text + r->origin_off;
        }
    }
}

lq_status lqi_tb_finish(struct lqi_task_builder *b, lq_task_set **out, struct lq_error *err)
{
    *out = NULL;
    lq_task_set *s = lqi_calloc(1, sizeof *s);
    const size_t nt = (size_t)b->n_task, nc = (size_t)b->n_choice;
    bool has_origin = false;
    for (int64_t i = 0; i < b->n_task; i++) {
        has_origin |= b->task[i].origin_off != SIZE_MAX;
    }
    if (s) {
        s->task = lqi_calloc(nt ? nt : 1, sizeof *s->task);
        s->choice = lqi_calloc(nc ? nc : 1, sizeof *s->choice);
        s->choice_len = lqi_calloc(nc ? nc : 1, sizeof *s->choice_len);
        s->label = lqi_calloc(nc ? nc : 1, 1);
        s->origin = has_origin ? lqi_calloc(nt, sizeof *s->origin) : NULL;
    }
    if (!s || !s->task || !s->choice || !s->choice_len || !s->label || (has_origin && !s->origin)) {
        lq_tasks_free(s);
        lqi_tb_free(b);
        return lqi_set_error(err, LQ_E_NOMEM, "tasks: out of memory");
    }
    s->kind = b->kind;
    s->n_task = b->n_task;
    s->text = b->text;
    b->text = NULL;
    link_tasks(s, b);
    lqi_tb_free(b);
    *out = s;
    return LQ_OK;
}

// ---- the set ------------------------------------------------------------------------------

void lq_tasks_free(lq_task_set *s)
{
    if (!s) {
        return;
    }
    lqi_free(s->text);
    lqi_free(s->task);
    lqi_free(s->choice);
    lqi_free(s->choice_len);
    lqi_free(s->label);
    lqi_free(s->origin);
    lqi_free(s);
}

int64_t lq_tasks_count(const lq_task_set *s)
{
    return s ? s->n_task : 0;
}

enum lq_task_kind lq_tasks_kind(const lq_task_set *s)
{
    return s->kind;
}

const struct lq_task *lq_tasks_get(const lq_task_set *s, int64_t i)
{
    return s && i >= 0 && i < s->n_task ? &s->task[i] : NULL;
}

const char *lq_tasks_origin(const lq_task_set *s, int64_t i)
{
    return s && s->origin && i >= 0 && i < s->n_task ? s->origin[i] : NULL;
}

const char *lq_task_kind_name(enum lq_task_kind kind)
{
    switch (kind) {
    case LQ_TASK_HELLASWAG:
        return "hellaswag";
    case LQ_TASK_MULTIPLE_CHOICE:
        return "multiple-choice";
    }
    return NULL;
}
