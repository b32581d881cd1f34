/*
 * lq/st_writer.h - writes safetensors files laid out as the reference (Rust) writer does.
 *
 * File layout:
 *   1. u64 little-endian N: length of the header;
 *   2. N bytes of compact JSON: "__metadata__" (string to string, keys sorted) first if any,
 *      then one entry per tensor, {"dtype":"F16","shape":[..],"data_offsets":[begin,end]},
 *      padded with spaces to a multiple of 8 bytes;
 *   3. the tensors' bytes, back to back, in the header's order: dtype rank descending
 *      (U64, I64, F64, C64, F32, U32, I32, BF16, F16, U16, I16, F8*, I8, U8, BOOL), then name.
 *      With the same inputs, the bytes equal those of safetensors' serialize.
 *
 * Lifecycle: lq_st_writer_new -> lq_st_writer_add / lq_st_writer_set_meta ... ->
 * lq_st_writer_write (may be called more than once) -> lq_st_writer_free.
 * A writer is not thread-safe.
 */
#ifndef LQ_ST_WRITER_H
#define LQ_ST_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LQ_ST_WRITER_MAX_DIMS 8

/* One tensor to write. data is borrowed: it is not copied and must stay valid until the last
 * lq_st_writer_write that includes it has returned. */
struct lq_st_wtensor {
    const char *name;   /* UTF-8, not "__metadata__" */
    const char *dtype;  /* safetensors dtype name: "F16", "BF16", "F32", "I32", "U8", ... */
    int ndims;          /* 0 (scalar) .. LQ_ST_WRITER_MAX_DIMS */
    int64_t shape[LQ_ST_WRITER_MAX_DIMS]; /* outermost first */
    const void *data;   /* little-endian element bytes, row-major */
    size_t nbytes;      /* must equal the element count times the dtype's size */
};

typedef struct lq_st_writer lq_st_writer;

LQ_API lq_status lq_st_writer_new(lq_st_writer **out, struct lq_error *err);

/* Adds a tensor (the struct and name are copied; data is borrowed). LQ_E_INVALID_ARG for a
 * duplicate or invalid name, an unknown or sub-byte dtype, or nbytes not matching the shape. */
LQ_API lq_status lq_st_writer_add(lq_st_writer *w, const struct lq_st_wtensor *t,
                                  struct lq_error *err);

/* Sets a "__metadata__" entry (copied; a second call for a key replaces its value). */
LQ_API lq_status lq_st_writer_set_meta(lq_st_writer *w, const char *key, const char *value,
                                       struct lq_error *err);

/* Writes the file through a temporary file in the same folder and a rename, so path holds
 * either its old content or the complete new file, never a partial one. */
LQ_API lq_status lq_st_writer_write(lq_st_writer *w, const char *path, struct lq_error *err);

LQ_API void lq_st_writer_free(lq_st_writer *w);

#ifdef __cplusplus
}
#endif
#endif /* LQ_ST_WRITER_H */
