/* protobuf.c - bounds-checked protobuf wire-format reading. */
#include "protobuf.h"

#include <stdarg.h>
#include <stdio.h>

#include "lqi.h"

/* A format error naming the file and the absolute offset of the bad bytes. */
static lq_status pb_fail(const struct lqi_pb *r, const unsigned char *at, struct lq_error *err,
                         const char *fmt, ...) LQI_PRINTF(4, 5);

static lq_status pb_fail(const struct lqi_pb *r, const unsigned char *at, struct lq_error *err,
                         const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return lqi_set_error(err, LQ_E_FORMAT, "%s: offset %llu: %s", r->name,
                         (unsigned long long)(at - r->base), what);
}

#define PB_FAIL(r, at, ...) pb_fail((r), (at), err, __VA_ARGS__)

static lq_status rd_varint(struct lqi_pb *r, uint64_t *v, struct lq_error *err)
{
    const unsigned char *start = r->p;
    uint64_t x = 0;
    for (int i = 0; i < 10; i++) {
        if (r->p >= r->end) {
            return PB_FAIL(r, start, "truncated varint");
        }
        unsigned c = *r->p++;
        if (i == 9 && c > 1) {
            return PB_FAIL(r, start, "varint overflows 64 bits");
        }
        x |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            *v = x;
            return LQ_OK;
        }
    }
    return PB_FAIL(r, start, "varint longer than 10 bytes");
}

static lq_status rd_fixed(struct lqi_pb *r, int n, uint64_t *v, struct lq_error *err)
{
    if (r->end - r->p < n) {
        return PB_FAIL(r, r->p, "truncated fixed%d value", 8 * n);
    }
    *v = n == 4 ? lqi_rd_u32(r->p) : lqi_rd_u64(r->p);
    r->p += n;
    return LQ_OK;
}

static lq_status rd_tag(struct lqi_pb *r, uint32_t *number, enum lqi_pb_wire *wire,
                        struct lq_error *err)
{
    const unsigned char *start = r->p;
    uint64_t tag;
    LQ_TRY(rd_varint(r, &tag, err));
    if (tag > UINT32_MAX || (tag >> 3) == 0) {
        return PB_FAIL(r, start, "invalid field number in tag 0x%llx", (unsigned long long)tag);
    }
    if ((tag & 7) > LQI_PB_FIXED32) {
        return PB_FAIL(r, start, "invalid wire type %u", (unsigned)(tag & 7));
    }
    *number = (uint32_t)(tag >> 3);
    *wire = (enum lqi_pb_wire)(tag & 7);
    return LQ_OK;
}

/* The value of a non-group field: scalars into f->u, LEN bytes into f->sub. */
static lq_status rd_value(struct lqi_pb *r, struct lqi_pb_field *f, struct lq_error *err)
{
    switch (f->wire) {
    case LQI_PB_VARINT: return rd_varint(r, &f->u, err);
    case LQI_PB_FIXED64: return rd_fixed(r, 8, &f->u, err);
    case LQI_PB_FIXED32: return rd_fixed(r, 4, &f->u, err);
    case LQI_PB_LEN: break;
    default: return PB_FAIL(r, r->p, "unexpected group tag");
    }
    const unsigned char *start = r->p;
    LQ_TRY(rd_varint(r, &f->u, err));
    if (f->u > (uint64_t)(r->end - r->p)) {
        return PB_FAIL(r, start, "length %llu runs past the end (%llu bytes left)",
                       (unsigned long long)f->u, (unsigned long long)(r->end - r->p));
    }
    f->sub = (struct lqi_pb){ r->p, r->p + f->u, r->base, r->name };
    r->p += f->u;
    return LQ_OK;
}

/* Skips to the end of a group whose start tag was just read. Iterative, so deeply nested
 * groups cost no stack. */
static lq_status skip_group(struct lqi_pb *r, uint32_t number, struct lq_error *err)
{
    const unsigned char *start = r->p;
    uint64_t depth = 1;
    while (depth > 0) {
        if (r->p >= r->end) {
            return PB_FAIL(r, start, "group %u never ends", number);
        }
        struct lqi_pb_field f = { 0 };
        LQ_TRY(rd_tag(r, &f.number, &f.wire, err));
        if (f.wire == LQI_PB_GROUP_START) {
            depth++;
        } else if (f.wire == LQI_PB_GROUP_END) {
            depth--;
        } else {
            LQ_TRY(rd_value(r, &f, err));
        }
    }
    return LQ_OK;
}

lq_status lqi_pb_next(struct lqi_pb *r, struct lqi_pb_field *f, struct lq_error *err)
{
    f->offset = (uint64_t)(r->p - r->base);
    f->u = 0;
    f->sub = (struct lqi_pb){ r->p, r->p, r->base, r->name };
    LQ_TRY(rd_tag(r, &f->number, &f->wire, err));
    if (f->wire == LQI_PB_GROUP_START) {
        return skip_group(r, f->number, err);
    }
    if (f->wire == LQI_PB_GROUP_END) {
        return PB_FAIL(r, r->base + f->offset, "end of group %u that never started", f->number);
    }
    return rd_value(r, f, err);
}
