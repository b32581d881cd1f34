/* tasks_hellaswag.c - llama-perplexity's HellaSwag text format: 6 lines per task (context,
 * gold ending 0-3, four endings). As llama.cpp reads it: one trailing '\n' of the file is
 * dropped, then lines are split on '\n' (std::getline: a final '\n' ends the last line, it
 * does not start an empty one). */
#include "tasks_impl.h"

#include <string.h>

#include "lqi.h"

#define HS_LINES 6

/* The next line of buf[*pos .. len): its start and length; *pos moves past its '\n'. */
static void next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *n)
{
    const char *s = buf + *pos;
    const char *nl = memchr(s, '\n', len - *pos);
    *line = s;
    *n = nl ? (size_t)(nl - s) : len - *pos;
    *pos += *n + (nl ? 1 : 0);
}

/* Adds one task from its six lines; k is its 1-based number. */
static lq_status add_task(struct lqi_task_builder *b, const char *path, int64_t k,
                          const char *const *line, const size_t *n, struct lq_error *err)
{
    for (int i = 0; i < HS_LINES; i++) {
        LQ_FAIL_IF(n[i] > LQ_TASK_MAX_STRING, err, LQ_E_FORMAT,
                   "%s: task %lld: line %lld is %zu bytes (at most %u)", path, (long long)k,
                   (long long)((k - 1) * HS_LINES + i + 1), n[i], LQ_TASK_MAX_STRING);
    }
    LQ_FAIL_IF(n[1] != 1 || line[1][0] < '0' || line[1][0] > '3', err, LQ_E_FORMAT,
               "%s: task %lld: gold label (line %lld) is '%.*s', not 0-3", path, (long long)k,
               (long long)((k - 1) * HS_LINES + 2), (int)(n[1] < 20 ? n[1] : 20), line[1]);
    const int gold = line[1][0] - '0';
    LQ_TRY(lqi_tb_task(b, line[0], n[0], err));
    for (int i = 0; i < 4; i++) {
        LQ_TRY(lqi_tb_choice(b, line[2 + i], n[2 + i], i == gold, err));
    }
    return LQ_OK;
}

static lq_status parse(struct lqi_task_builder *b, const char *path, const char *buf, size_t len,
                       struct lq_error *err)
{
    if (len > 0 && buf[len - 1] == '\n') {
        len--; /* llama.cpp's -f drops one trailing newline */
    }
    size_t pos = 0;
    int64_t k = 0;
    while (pos < len) {
        const char *line[HS_LINES];
        size_t n[HS_LINES];
        int got = 0;
        for (; got < HS_LINES && pos < len; got++) {
            next_line(buf, len, &pos, &line[got], &n[got]);
        }
        k++;
        LQ_FAIL_IF(got < HS_LINES, err, LQ_E_FORMAT,
                   "%s: task %lld is truncated: %d of its %d lines (the line count is not a "
                   "multiple of 6)",
                   path, (long long)k, got, HS_LINES);
        LQ_TRY(add_task(b, path, k, line, n, err));
    }
    LQ_FAIL_IF(k == 0, err, LQ_E_FORMAT, "%s: no tasks", path);
    return LQ_OK;
}

lq_status lq_tasks_read_hellaswag(const char *path, lq_task_set **out, struct lq_error *err)
{
    LQ_FAIL_IF(!path || !out, err, LQ_E_INVALID_ARG, "tasks: NULL argument");
    *out = NULL;
    char *buf = NULL;
    size_t len = 0;
    LQ_TRY(lqi_read_all(path, &buf, &len, err));
    struct lqi_task_builder b = {.kind = LQ_TASK_HELLASWAG};
    lq_status rc = parse(&b, path, buf, len, err);
    lqi_free(buf);
    if (rc != LQ_OK) {
        lqi_tb_free(&b);
        return rc;
    }
    return lqi_tb_finish(&b, out, err);
}
