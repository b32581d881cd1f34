/* gguf_impl.h - the GGUF reader's handle and the parser state shared by its source files
 * (gguf_read.c: header and metadata; gguf_tensors.c: tensor infos; gguf_meta.c: getters). */
#ifndef LQ_GGUF_IMPL_H
#define LQ_GGUF_IMPL_H

#include "lq/gguf.h"

#include "arena.h"
#include "file_map.h"
#include "lqi.h"
#include "name_index.h"

struct lqi_gguf_kv {
    struct lq_gguf_str key;
    struct lq_gguf_value val;
    uint64_t pos; /* file offset of the key, for messages */
};

struct lqi_gguf_tensor {
    struct lq_gguf_tensor_info info;
    uint64_t name_len;
    uint64_t info_pos; /* file offset of its tensor info, for messages */
};

struct lq_gguf {
    char *name;              /* path or caller-given name, for messages */
    struct lqi_file_map map; /* unused (zeroed) for lq_gguf_open_memory */
    const unsigned char *data;
    uint64_t size;
    uint32_t version;
    uint64_t alignment;
    uint64_t data_offset;
    int64_t n_kv;
    struct lqi_gguf_kv *kv;
    int64_t n_tensors;
    struct lqi_gguf_tensor *tensors;
    struct lqi_name_index key_index;
    struct lqi_name_index tensor_index;
    struct lqi_arena arena; /* every copied string and array */
};

/* A bounds-checked read position over the file bytes, plus what messages need. */
struct lqi_gguf_parser {
    struct lq_gguf *g;
    uint64_t pos;
    const char *what; /* "key 'x': " or "tensor 'y': " context for messages, or "" */
    char what_buf[160];
    struct lq_error *err;
};

/* Fails with "gguf: <name>: offset <off>: <what><message>". Returns code. */
lq_status lqi_gguf_fail(struct lqi_gguf_parser *ps, uint64_t off, lq_status code, const char *fmt,
                        ...) LQI_PRINTF(4, 5);

/* Bytes left after the read position. */
static inline uint64_t lqi_gguf_left(const struct lqi_gguf_parser *ps)
{
    return ps->g->size - ps->pos;
}

/* Readers of little-endian fields; each fails cleanly at the end of the file. `field`
 * names the field in the message. */
lq_status lqi_gguf_rd_u32(struct lqi_gguf_parser *ps, const char *field, uint32_t *out);
lq_status lqi_gguf_rd_u64(struct lqi_gguf_parser *ps, const char *field, uint64_t *out);
/* A count or length: uint64, uint32 in version 1. */
lq_status lqi_gguf_rd_count(struct lqi_gguf_parser *ps, const char *field, uint64_t *out);
/* A gguf string, copied NUL-terminated into the arena. */
lq_status lqi_gguf_rd_str(struct lqi_gguf_parser *ps, const char *field, struct lq_gguf_str *out);

/* Sets the message context to "key 'k': " / "tensor 't': " (truncated for long names). */
void lqi_gguf_set_what(struct lqi_gguf_parser *ps, const char *kind, const struct lq_gguf_str *s);

/* Parses the n_tensors tensor infos at the read position, computes the data offset and
 * validates every tensor against the file. */
lq_status lqi_gguf_read_tensors(struct lqi_gguf_parser *ps);

#endif
