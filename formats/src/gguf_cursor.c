/* gguf_cursor.c - bounds-checked little-endian reads over a GGUF file, and its messages. */
#include "gguf_impl.h"

#include <stdio.h>
#include <string.h>

lq_status lqi_gguf_fail(struct lqi_gguf_parser *ps, uint64_t off, lq_status code, const char *fmt,
                        ...)
{
    char msg[LQ_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lqi_set_error(ps->err, code, "gguf: %s: offset %llu: %s%s", ps->g->name,
                         (unsigned long long)off, ps->what ? ps->what : "", msg);
}

void lqi_gguf_set_what(struct lqi_gguf_parser *ps, const char *kind, const struct lq_gguf_str *s)
{
    /* names come from the file: cap them so the message keeps its tail */
    int max = 96;
    int n = s->len > (uint64_t)max ? max : (int)s->len;
    snprintf(ps->what_buf, sizeof ps->what_buf, "%s '%.*s%s': ", kind, n, s->s,
             s->len > (uint64_t)max ? "..." : "");
    ps->what = ps->what_buf;
}

static lq_status need(struct lqi_gguf_parser *ps, uint64_t n, const char *field)
{
    if (lqi_gguf_left(ps) < n) {
        return lqi_gguf_fail(ps, ps->pos, LQ_E_FORMAT,
                             "truncated file: %s needs %llu bytes, %llu left", field,
                             (unsigned long long)n, (unsigned long long)lqi_gguf_left(ps));
    }
    return LQ_OK;
}

lq_status lqi_gguf_rd_u32(struct lqi_gguf_parser *ps, const char *field, uint32_t *out)
{
    LQ_TRY(need(ps, 4, field));
    *out = lqi_rd_u32(ps->g->data + ps->pos);
    ps->pos += 4;
    return LQ_OK;
}

lq_status lqi_gguf_rd_u64(struct lqi_gguf_parser *ps, const char *field, uint64_t *out)
{
    LQ_TRY(need(ps, 8, field));
    *out = lqi_rd_u64(ps->g->data + ps->pos);
    ps->pos += 8;
    return LQ_OK;
}

lq_status lqi_gguf_rd_count(struct lqi_gguf_parser *ps, const char *field, uint64_t *out)
{
    if (ps->g->version == 1) {
        uint32_t v;
        LQ_TRY(lqi_gguf_rd_u32(ps, field, &v));
        *out = v;
        return LQ_OK;
    }
    return lqi_gguf_rd_u64(ps, field, out);
}

lq_status lqi_gguf_rd_str(struct lqi_gguf_parser *ps, const char *field, struct lq_gguf_str *out)
{
    uint64_t at = ps->pos;
    uint64_t len;
    LQ_TRY(lqi_gguf_rd_count(ps, field, &len));
    if (len > lqi_gguf_left(ps)) {
        return lqi_gguf_fail(ps, at, LQ_E_FORMAT, "%s length %llu exceeds the %llu bytes left",
                             field, (unsigned long long)len, (unsigned long long)lqi_gguf_left(ps));
    }
    /* len <= file size <= SIZE_MAX, so len + 1 can only wrap on a file of SIZE_MAX bytes */
    char *s = len < SIZE_MAX ? lqi_arena_alloc(&ps->g->arena, (size_t)len + 1, 1) : NULL;
    if (!s) {
        return lqi_gguf_fail(ps, at, LQ_E_NOMEM, "cannot copy a %s of %llu bytes", field,
                             (unsigned long long)len);
    }
    memcpy(s, ps->g->data + ps->pos, (size_t)len);
    s[len] = '\0';
    ps->pos += len;
    out->s = s;
    out->len = len;
    return LQ_OK;
}
