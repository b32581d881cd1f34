/* gguf_write_set.c - typed metadata setters of the GGUF writer, all through set_value. */
#include "lq/gguf_writer.h"

#include <string.h>

#include "gguf_write_impl.h"
#include "lqi.h"

#define DEFINE_SETTER(suffix, ctype, tag, member)                                          \
    lq_status lq_gguf_writer_set_##suffix(lq_gguf_writer *w, const char *key, ctype v,     \
                                          struct lq_error *err)                            \
    {                                                                                      \
        struct lq_gguf_value val = { .type = tag };                                        \
        val.v.member = v;                                                                  \
        return lq_gguf_writer_set_value(w, key, &val, err);                                \
    }

DEFINE_SETTER(u8, uint8_t, LQ_GGUF_UINT8, u8)
DEFINE_SETTER(i8, int8_t, LQ_GGUF_INT8, i8)
DEFINE_SETTER(u16, uint16_t, LQ_GGUF_UINT16, u16)
DEFINE_SETTER(i16, int16_t, LQ_GGUF_INT16, i16)
DEFINE_SETTER(u32, uint32_t, LQ_GGUF_UINT32, u32)
DEFINE_SETTER(i32, int32_t, LQ_GGUF_INT32, i32)
DEFINE_SETTER(u64, uint64_t, LQ_GGUF_UINT64, u64)
DEFINE_SETTER(i64, int64_t, LQ_GGUF_INT64, i64)
DEFINE_SETTER(f32, float, LQ_GGUF_FLOAT32, f32)
DEFINE_SETTER(f64, double, LQ_GGUF_FLOAT64, f64)
DEFINE_SETTER(bool, bool, LQ_GGUF_BOOL, b)

lq_status lq_gguf_writer_set_str(lq_gguf_writer *w, const char *key, const char *v,
                                 struct lq_error *err)
{
    LQ_FAIL_IF(!v, err, LQ_E_INVALID_ARG, "gguf writer: key '%s': NULL string",
               key ? key : "(null)");
    struct lq_gguf_value val = { .type = LQ_GGUF_STRING };
    val.v.str.s = v;
    val.v.str.len = strlen(v);
    return lq_gguf_writer_set_value(w, key, &val, err);
}

lq_status lq_gguf_writer_set_arr(lq_gguf_writer *w, const char *key, enum lq_gguf_type elem,
                                 const void *data, uint64_t n, struct lq_error *err)
{
    LQ_FAIL_IF(elem == LQ_GGUF_STRING || elem == LQ_GGUF_ARRAY, err, LQ_E_INVALID_ARG,
               "gguf writer: key '%s': set_arr takes numeric or bool elements, not %s",
               key ? key : "(null)", lqi_gguf_value_type_label(elem));
    struct lq_gguf_value val = { .type = LQ_GGUF_ARRAY };
    val.v.arr.type = elem;
    val.v.arr.n = n;
    val.v.arr.data = data;
    return lq_gguf_writer_set_value(w, key, &val, err);
}

/* Wraps the C strings as lq_gguf_str for set_value; the wrapper array is temporary. */
lq_status lq_gguf_writer_set_arr_str(lq_gguf_writer *w, const char *key,
                                     const char *const *strs, uint64_t n, struct lq_error *err)
{
    const char *k = key ? key : "(null)";
    LQ_FAIL_IF(n && !strs, err, LQ_E_INVALID_ARG, "gguf writer: key '%s': NULL strings", k);
    LQ_FAIL_IF(n > SIZE_MAX / sizeof(struct lq_gguf_str), err, LQ_E_RANGE,
               "gguf writer: key '%s': %llu strings too many", k, (unsigned long long)n);
    struct lq_gguf_str *s = lqi_malloc((size_t)n * sizeof *s);
    LQ_FAIL_IF(!s, err, LQ_E_NOMEM, "gguf writer: key '%s': out of memory", k);
    lq_status rc = LQ_OK;
    for (uint64_t i = 0; i < n; i++) {
        if (!strs[i]) {
            rc = lqi_set_error(err, LQ_E_INVALID_ARG, "gguf writer: key '%s': string %llu is NULL",
                               k, (unsigned long long)i);
            goto out_free_strs;
        }
        s[i].s = strs[i];
        s[i].len = strlen(strs[i]);
    }
    struct lq_gguf_value val = { .type = LQ_GGUF_ARRAY };
    val.v.arr.type = LQ_GGUF_STRING;
    val.v.arr.n = n;
    val.v.arr.data = s;
    rc = lq_gguf_writer_set_value(w, key, &val, err);
out_free_strs:
    lqi_free(s);
    return rc;
}
