/* tasks_csv.c - MMLU's own CSV files (hendrycks/test: question, A, B, C, D, answer letter; no
 * header) read as multiple-choice tasks with the prompt of the shared MMLU converter:
 * "Question: " + strip(question) + "\nAnswer:", choices strip(A) .. strip(D). Fields follow
 * Python's csv module (default dialect): quotes around a field, "" for a quote inside one,
 * newlines allowed inside quotes, rows ending in \n, \r\n or \r. */
#include "tasks_impl.h"

#include <stdio.h>
#include <string.h>

#include "lqi.h"

#define MMLU_FIELDS 6

struct csv_field {
    char *s;
    size_t n, cap;
};

static lq_status field_put(struct csv_field *f, char c, struct lq_error *err)
{
    if (f->n + 1 >= f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 256;
        char *s = lqi_realloc(f->s, cap);
        LQ_FAIL_IF(!s, err, LQ_E_NOMEM, "tasks: out of memory");
        f->s = s;
        f->cap = cap;
    }
    f->s[f->n++] = c;
    return LQ_OK;
}

/* Parses one row starting at *pos into f (up to MMLU_FIELDS + 1 fields: one more means
 * too many); *nf receives the field count. */
static lq_status csv_row(const char *buf, size_t len, size_t *pos, struct csv_field *f, int *nf,
                         struct lq_error *err)
{
    size_t i = *pos;
    int k = 0;
    bool quoted = false, in_quotes = false;
    f[0].n = 0;
    for (; i < len; i++) {
        const char c = buf[i];
        if (in_quotes) {
            if (c == '"' && i + 1 < len && buf[i + 1] == '"') {
                LQ_TRY(field_put(&f[k], c, err));
                i++;
            } else if (c == '"') {
                in_quotes = false;
            } else {
                LQ_TRY(field_put(&f[k], c, err));
            }
        } else if (c == '"' && f[k].n == 0 && !quoted) {
            in_quotes = quoted = true;
        } else if (c == ',') {
            k += k < MMLU_FIELDS ? 1 : 0;
            f[k].n = 0;
            quoted = false;
        } else if (c == '\n' || c == '\r') {
            i += c == '\r' && i + 1 < len && buf[i + 1] == '\n' ? 2 : 1;
            break;
        } else {
            LQ_TRY(field_put(&f[k], c, err));
        }
        LQ_FAIL_IF(f[k].n > LQ_TASK_MAX_STRING, err, LQ_E_FORMAT, "field longer than %u bytes",
                   LQ_TASK_MAX_STRING);
    }
    LQ_FAIL_IF(in_quotes, err, LQ_E_FORMAT, "a quoted field is not closed before the end");
    *pos = i;
    *nf = k + 1;
    return LQ_OK;
}

/* Length of the Unicode white space (Python's str.isspace) starting at s, or 0. */
static size_t space_at(const unsigned char *s, size_t n)
{
    if (n >= 1 && ((s[0] >= 0x09 && s[0] <= 0x0d) || (s[0] >= 0x1c && s[0] <= 0x20))) {
        return 1;
    }
    if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0)) {
        return 2;
    }
    if (n < 3) {
        return 0;
    }
    const unsigned cp = ((s[0] & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
    const bool three = (s[0] & 0xf0) == 0xe0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80;
    const bool ws = cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
                    cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
    return three && ws ? 3 : 0;
}

/* Python's str.strip(): the view s[*a .. *b) without white space at either end. */
static void strip(const char *s, size_t n, size_t *a, size_t *b)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, j = n, w;
    while (i < j && (w = space_at(u + i, j - i)) > 0) {
        i += w;
    }
    for (bool more = true; more && j > i;) {
        more = false;
        for (size_t back = 1; back <= 3 && back <= j - i; back++) {
            if (space_at(u + j - back, back) == back) {
                j -= back;
                more = true;
                break;
            }
        }
    }
    *a = i;
    *b = j;
}

/* Whether choice i is a prefix of every other choice (llama.cpp's scoring is undefined). */
static bool prefix_of_all(const char *const *c, const size_t *n, int i)
{
    for (int j = 0; j < 4; j++) {
        if (j != i && (n[i] > n[j] || memcmp(c[i], c[j], n[i]) != 0)) {
            return false;
        }
    }
    return true;
}

/* Adds the task of one row (f[0..5]) unless its choices make it unscorable. */
static lq_status add_row(struct lqi_task_builder *b, struct csv_field *f, const char *origin,
                         struct lq_error *err)
{
    size_t a, e, la, le;
    strip(f[5].s, f[5].n, &la, &le);
    LQ_FAIL_IF(le - la != 1 || f[5].s[la] < 'A' || f[5].s[la] > 'D', err, LQ_E_FORMAT,
               "answer '%.*s' is not A-D", (int)(f[5].n < 20 ? f[5].n : 20), f[5].s);
    const char *c[4];
    size_t cn[4];
    for (int i = 0; i < 4; i++) {
        strip(f[1 + i].s, f[1 + i].n, &a, &e);
        c[i] = f[1 + i].s + a;
        cn[i] = e - a;
    }
    for (int i = 0; i < 4; i++) {
        if (prefix_of_all(c, cn, i)) {
            return LQ_OK;
        }
    }
    static const char pre[] = "Question: ", post[] = "\nAnswer:";
    strip(f[0].s, f[0].n, &a, &e);
    size_t off;
    LQ_TRY(lqi_tb_task(b, pre, sizeof pre - 1, err));
    LQ_TRY(lqi_tb_text(b, f[0].s + a, e - a, &off, err));
    LQ_TRY(lqi_tb_text(b, post, sizeof post - 1, &off, err));
    b->task[b->n_task - 1].ctx_len += e - a + sizeof post - 1;
    for (int i = 0; i < 4; i++) {
        LQ_TRY(lqi_tb_choice(b, c[i], cn[i], f[5].s[la] - 'A' == i, err));
    }
    return lqi_tb_origin(b, origin, err);
}

static lq_status read_one(struct lqi_task_builder *b, const char *path, struct csv_field *f,
                          struct lq_error *err)
{
    char *buf = NULL;
    size_t len = 0, pos = 0;
    LQ_TRY(lqi_read_all(path, &buf, &len, err));
    lq_status rc = LQ_OK;
    for (long row = 1; rc == LQ_OK && pos < len; row++) {
        int nf = 0;
        char origin[4096];
        snprintf(origin, sizeof origin, "%s:%ld", path, row);
        rc = csv_row(buf, len, &pos, f, &nf, err);
        if (rc == LQ_OK && nf != MMLU_FIELDS) {
            rc = lqi_set_error(err, LQ_E_FORMAT, "%d fields, not %d", nf, MMLU_FIELDS);
        }
        rc = rc == LQ_OK ? add_row(b, f, origin, err) : rc;
        if (rc != LQ_OK) {
            lqi_error_prefix(err, "%s: row %ld: ", path, row);
        }
    }
    lqi_free(buf);
    return rc;
}

lq_status lq_tasks_read_mmlu_csv(const char *const *paths, int n, lq_task_set **out,
                                 struct lq_error *err)
{
    LQ_FAIL_IF(!paths || n < 1 || !out, err, LQ_E_INVALID_ARG, "tasks: no CSV files");
    *out = NULL;
    struct lqi_task_builder b = {.kind = LQ_TASK_MULTIPLE_CHOICE};
    struct csv_field f[MMLU_FIELDS + 1] = {{0}};
    lq_status rc = LQ_OK;
    for (int i = 0; i < n && rc == LQ_OK; i++) {
        rc = read_one(&b, paths[i], f, err);
    }
    for (int i = 0; i <= MMLU_FIELDS; i++) {
        lqi_free(f[i].s);
    }
    if (rc == LQ_OK && b.n_task == 0) {
        rc = lqi_set_error(err, LQ_E_FORMAT, "%s: no tasks", paths[0]);
    }
    if (rc != LQ_OK) {
        lqi_tb_free(&b);
        return rc;
    }
    return lqi_tb_finish(&b, out, err);
}
