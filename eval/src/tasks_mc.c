/* tasks_mc.c - llama-perplexity's multiple-choice binary format (--multiple-choice; the
 * layout is in lq/tasks.h). Records are read one after another, as llama.cpp does when it
 * scores every task; task_pos must be present but is not used. */
#include "tasks_impl.h"

#include "lqi.h"

struct mc_reader {
    const char *path;
    const unsigned char *p;
    size_t len, pos;
    int64_t task; /* 1-based, for messages */
};

static lq_status rd_u32(struct mc_reader *r, const char *what, uint32_t *v, struct lq_error *err)
{
    LQ_FAIL_IF(r->len - r->pos < 4, err, LQ_E_FORMAT,
               "%s: task %lld is truncated: %s at byte %zu past the end (%zu bytes)", r->path,
               (long long)r->task, what, r->pos, r->len);
    *v = lqi_rd_u32(r->p + r->pos);
    r->pos += 4;
    return LQ_OK;
}

/* A length-prefixed string: its start and length in the file. */
static lq_status rd_str(struct mc_reader *r, const char *what, const char **s, size_t *n,
                        struct lq_error *err)
{
    uint32_t len = 0;
    LQ_TRY(rd_u32(r, what, &len, err));
    LQ_FAIL_IF(len > LQ_TASK_MAX_STRING, err, LQ_E_FORMAT,
               "%s: task %lld: %s of %u bytes at byte %zu (at most %u)", r->path,
               (long long)r->task, what, len, r->pos - 4, LQ_TASK_MAX_STRING);
    LQ_FAIL_IF(len > r->len - r->pos, err, LQ_E_FORMAT,
               "%s: task %lld is truncated: %s of %u bytes at byte %zu, %zu left", r->path,
               (long long)r->task, what, len, r->pos - 4, r->len - r->pos);
    *s = (const char *)r->p + r->pos;
    *n = len;
    r->pos += len;
    return LQ_OK;
}

/* One answer list (mc1 when b is given, else mc2, which is skipped). */
static lq_status rd_answers(struct mc_reader *r, struct lqi_task_builder *b, struct lq_error *err)
{
    const char *which = b ? "mc1" : "mc2";
    uint32_t n = 0;
    LQ_TRY(rd_u32(r, "answer count", &n, err));
    LQ_FAIL_IF(b && n == 0, err, LQ_E_FORMAT, "%s: task %lld has no answers (choice count 0)",
               r->path, (long long)r->task);
    LQ_FAIL_IF(n > LQ_TASK_MAX_CHOICES, err, LQ_E_FORMAT,
               "%s: task %lld: %u %s answers (at most %d)", r->path, (long long)r->task, n, which,
               LQ_TASK_MAX_CHOICES);
    const int64_t first = b ? b->n_choice : 0;
    for (uint32_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        LQ_TRY(rd_str(r, "answer", &s, &len, err));
        LQ_FAIL_IF(b && len == 0, err, LQ_E_FORMAT, "%s: task %lld: answer %u is empty", r->path,
                   (long long)r->task, i + 1);
        if (b) {
            LQ_TRY(lqi_tb_choice(b, s, len, 0, err));
        }
    }
    bool any = false;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t label = 0;
        LQ_TRY(rd_u32(r, "label", &label, err));
        LQ_FAIL_IF(label > 1, err, LQ_E_FORMAT,
                   "%s: task %lld: %s label %u is %d (labels are 0 or 1)", r->path,
                   (long long)r->task, which, i + 1, (int32_t)label);
        if (b) {
            b->choice[first + i].label = (uint8_t)label;
        }
        any |= label == 1;
    }
    LQ_FAIL_IF(b && !any, err, LQ_E_FORMAT, "%s: task %lld: no answer is labelled correct", r->path,
               (long long)r->task);
    return LQ_OK;
}

static lq_status parse(struct mc_reader *r, struct lqi_task_builder *b, struct lq_error *err)
{
    uint32_t n_task;
    LQ_FAIL_IF(r->len < 4, err, LQ_E_FORMAT, "%s: %zu bytes: no task count", r->path, r->len);
    n_task = lqi_rd_u32(r->p);
    LQ_FAIL_IF(n_task == 0, err, LQ_E_FORMAT, "%s: no tasks", r->path);
    LQ_FAIL_IF((uint64_t)n_task * 4 > r->len - 4, err, LQ_E_FORMAT,
               "%s: %u tasks but only %zu bytes: the task offsets are truncated", r->path, n_task,
               r->len);
    r->pos = 4 + (size_t)n_task * 4;
    for (r->task = 1; r->task <= n_task; r->task++) {
        const char *q;
        size_t n;
        LQ_TRY(rd_str(r, "question", &q, &n, err));
        LQ_FAIL_IF(n == 0, err, LQ_E_FORMAT, "%s: task %lld: empty question", r->path,
                   (long long)r->task);
        LQ_TRY(lqi_tb_task(b, q, n, err));
        LQ_TRY(rd_answers(r, b, err));
        LQ_TRY(rd_answers(r, NULL, err));
    }
    return LQ_OK;
}

lq_status lq_tasks_read_mc(const char *path, lq_task_set **out, struct lq_error *err)
{
    LQ_FAIL_IF(!path || !out, err, LQ_E_INVALID_ARG, "tasks: NULL argument");
    *out = NULL;
    char *buf = NULL;
    size_t len = 0;
    LQ_TRY(lqi_read_all(path, &buf, &len, err));
    struct mc_reader r = {.path = path, .p = (const unsigned char *)buf, .len = len};
    struct lqi_task_builder b = {.kind = LQ_TASK_MULTIPLE_CHOICE};
    lq_status rc = parse(&r, &b, err);
    lqi_free(buf);
    if (rc != LQ_OK) {
        lqi_tb_free(&b);
        return rc;
    }
    return lqi_tb_finish(&b, out, err);
}
