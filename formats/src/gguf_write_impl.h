/* gguf_write_impl.h - serialization of GGUF metadata into byte buffers (internal). */
#ifndef LQ_GGUF_WRITE_IMPL_H
#define LQ_GGUF_WRITE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "lq/gguf.h"

/* A growable byte buffer. Zero-initialise; release with lqi_buf_free. */
struct lqi_buf {
    unsigned char *p;
    size_t len;
    size_t cap;
};

void lqi_buf_free(struct lqi_buf *b);
lq_status lqi_buf_put(struct lqi_buf *b, const void *data, size_t n, struct lq_error *err);
lq_status lqi_buf_u32(struct lqi_buf *b, uint32_t v, struct lq_error *err);
lq_status lqi_buf_u64(struct lqi_buf *b, uint64_t v, struct lq_error *err);
lq_status lqi_buf_zeros(struct lqi_buf *b, size_t n, struct lq_error *err);
/* A GGUF string: uint64 length + bytes. */
lq_status lqi_buf_gguf_str(struct lqi_buf *b, const char *s, uint64_t len, struct lq_error *err);

/* Bytes of one element of a fixed-size GGUF type; 0 for STRING, ARRAY and unknown types. */
size_t lqi_gguf_type_size(enum lq_gguf_type t);

/* Name of a value type ("uint32", "array"); "unknown" otherwise. Kept here so the
 * writer does not depend on the reader. */
const char *lqi_gguf_value_type_label(int t);

/* Appends a whole key/value pair (key string, value type, value). Messages name the key. */
lq_status lqi_gguf_put_kv(struct lqi_buf *b, const char *key, const struct lq_gguf_value *v,
                          struct lq_error *err);

#endif
