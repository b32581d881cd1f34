/* gguf_write_kv.c - GGUF metadata values to little-endian bytes. */
#include "gguf_write_impl.h"

#include <string.h>

#include "lqi.h"

/* Arrays of arrays nest at most this deep; deeper input is almost surely a cycle. */
#define MAX_NESTING 16

// ---- byte buffer ----

void lqi_buf_free(struct lqi_buf *b)
{
    lqi_free(b->p);
    memset(b, 0, sizeof *b);
}

static lq_status buf_reserve(struct lqi_buf *b, size_t n, struct lq_error *err)
{
    size_t need;
    LQ_FAIL_IF(__builtin_add_overflow(b->len, n, &need), err, LQ_E_RANGE,
               "metadata larger than memory");
    if (need <= b->cap) {
        return LQ_OK;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    }
    unsigned char *p = lqi_realloc(b->p, cap);
    LQ_FAIL_IF(!p, err, LQ_E_NOMEM, "out of memory (%zu bytes of metadata)", cap);
    b->p = p;
    b->cap = cap;
    return LQ_OK;
}

lq_status lqi_buf_put(struct lqi_buf *b, const void *data, size_t n, struct lq_error *err)
{
    LQ_TRY(buf_reserve(b, n, err));
    if (n) {
        memcpy(b->p + b->len, data, n);
    }
    b->len += n;
    return LQ_OK;
}

lq_status lqi_buf_zeros(struct lqi_buf *b, size_t n, struct lq_error *err)
{
    LQ_TRY(buf_reserve(b, n, err));
    memset(b->p + b->len, 0, n);
    b->len += n;
    return LQ_OK;
}

lq_status lqi_buf_u32(struct lqi_buf *b, uint32_t v, struct lq_error *err)
{
    unsigned char x[4];
    lqi_wr_u32(x, v);
    return lqi_buf_put(b, x, sizeof x, err);
}

lq_status lqi_buf_u64(struct lqi_buf *b, uint64_t v, struct lq_error *err)
{
    unsigned char x[8];
    lqi_wr_u64(x, v);
    return lqi_buf_put(b, x, sizeof x, err);
}

lq_status lqi_buf_gguf_str(struct lqi_buf *b, const char *s, uint64_t len, struct lq_error *err)
{
    LQ_FAIL_IF(len > SIZE_MAX, err, LQ_E_RANGE, "string of %llu bytes too long",
               (unsigned long long)len);
    LQ_TRY(lqi_buf_u64(b, len, err));
    return lqi_buf_put(b, s, (size_t)len, err);
}

// ---- values ----

const char *lqi_gguf_value_type_label(int t)
{
    static const char *const names[LQ_GGUF_TYPE_COUNT] = {
        "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
        "bool", "string", "array", "uint64", "int64", "float64",
    };
    return t >= 0 && t < LQ_GGUF_TYPE_COUNT ? names[t] : "unknown";
}

size_t lqi_gguf_type_size(enum lq_gguf_type t)
{
    switch (t) {
    case LQ_GGUF_UINT8:
    case LQ_GGUF_INT8:
    case LQ_GGUF_BOOL: return 1;
    case LQ_GGUF_UINT16:
    case LQ_GGUF_INT16: return 2;
    case LQ_GGUF_UINT32:
    case LQ_GGUF_INT32:
    case LQ_GGUF_FLOAT32: return 4;
    case LQ_GGUF_UINT64:
    case LQ_GGUF_INT64:
    case LQ_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

/* One fixed-size element from native memory to little-endian bytes. */
static void encode_fixed(enum lq_gguf_type t, const unsigned char *src, unsigned char *dst)
{
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    switch (lqi_gguf_type_size(t)) {
    case 1:
        /* bools go out as exactly 0 or 1, whatever the caller's bool held */
        dst[0] = t == LQ_GGUF_BOOL ? (src[0] != 0) : src[0];
        break;
    case 2:
        memcpy(&u16, src, 2);
        lqi_wr_u16(dst, u16);
        break;
    case 4:
        memcpy(&u32, src, 4);
        lqi_wr_u32(dst, u32);
        break;
    default:
        memcpy(&u64, src, 8);
        lqi_wr_u64(dst, u64);
        break;
    }
}

static lq_status put_fixed_array(struct lqi_buf *b, enum lq_gguf_type t, const void *data,
                                 uint64_t n, struct lq_error *err)
{
    size_t es = lqi_gguf_type_size(t);
    uint64_t total;
    LQ_FAIL_IF(lqi_mul_overflow_u64(n, es, &total) || total > SIZE_MAX, err, LQ_E_RANGE,
               "array of %llu elements too large", (unsigned long long)n);
    LQ_FAIL_IF(n && !data, err, LQ_E_INVALID_ARG, "array data is NULL");
    LQ_TRY(buf_reserve(b, (size_t)total, err));
    const unsigned char *src = data;
    for (uint64_t i = 0; i < n; i++) {
        encode_fixed(t, src + i * es, b->p + b->len + i * es);
    }
    b->len += (size_t)total;
    return LQ_OK;
}

static lq_status put_array_body(struct lqi_buf *b, const struct lq_gguf_value *v, int depth,
                                struct lq_error *err);

static lq_status put_array_elems(struct lqi_buf *b, enum lq_gguf_type t, const void *data,
                                 uint64_t n, int depth, struct lq_error *err)
{
    LQ_FAIL_IF(n && !data, err, LQ_E_INVALID_ARG, "array data is NULL");
    if (t == LQ_GGUF_STRING) {
        const struct lq_gguf_str *s = data;
        for (uint64_t i = 0; i < n; i++) {
            LQ_FAIL_IF(!s[i].s && s[i].len, err, LQ_E_INVALID_ARG, "string %llu is NULL",
                       (unsigned long long)i);
            LQ_TRY(lqi_buf_gguf_str(b, s[i].s, s[i].len, err));
        }
        return LQ_OK;
    }
    if (t == LQ_GGUF_ARRAY) {
        const struct lq_gguf_value *sub = data;
        for (uint64_t i = 0; i < n; i++) {
            LQ_FAIL_IF(sub[i].type != LQ_GGUF_ARRAY, err, LQ_E_INVALID_ARG,
                       "element %llu of an array of arrays has type %s",
                       (unsigned long long)i, lqi_gguf_value_type_label(sub[i].type));
            LQ_TRY(put_array_body(b, &sub[i], depth + 1, err));
        }
        return LQ_OK;
    }
    return put_fixed_array(b, t, data, n, err);
}

/* Element type, count, elements: what follows an ARRAY type tag. */
static lq_status put_array_body(struct lqi_buf *b, const struct lq_gguf_value *v, int depth,
                                struct lq_error *err)
{
    enum lq_gguf_type t = v->v.arr.type;
    LQ_FAIL_IF(depth > MAX_NESTING, err, LQ_E_RANGE, "arrays nested deeper than %d",
               MAX_NESTING);
    LQ_FAIL_IF((unsigned)t >= LQ_GGUF_TYPE_COUNT, err, LQ_E_INVALID_ARG,
               "unknown array element type %d", (int)t);
    LQ_TRY(lqi_buf_u32(b, (uint32_t)t, err));
    LQ_TRY(lqi_buf_u64(b, v->v.arr.n, err));
    return put_array_elems(b, t, v->v.arr.data, v->v.arr.n, depth, err);
}

static lq_status put_value(struct lqi_buf *b, const struct lq_gguf_value *v, struct lq_error *err)
{
    LQ_FAIL_IF((unsigned)v->type >= LQ_GGUF_TYPE_COUNT, err, LQ_E_INVALID_ARG,
               "unknown value type %d", (int)v->type);
    LQ_TRY(lqi_buf_u32(b, (uint32_t)v->type, err));
    if (v->type == LQ_GGUF_STRING) {
        LQ_FAIL_IF(!v->v.str.s && v->v.str.len, err, LQ_E_INVALID_ARG, "string is NULL");
        return lqi_buf_gguf_str(b, v->v.str.s, v->v.str.len, err);
    }
    if (v->type == LQ_GGUF_ARRAY) {
        return put_array_body(b, v, 0, err);
    }
    /* the union members all start at its first byte */
    return put_fixed_array(b, v->type, &v->v, 1, err);
}

lq_status lqi_gguf_put_kv(struct lqi_buf *b, const char *key, const struct lq_gguf_value *v,
                          struct lq_error *err)
{
    size_t start = b->len;
    lq_status rc = lqi_buf_gguf_str(b, key, strlen(key), err);
    if (rc == LQ_OK) {
        rc = put_value(b, v, err);
    }
    if (rc != LQ_OK) {
        b->len = start;
        lqi_error_prefix(err, "gguf writer: key '%s': ", key);
    }
    return rc;
}
