/*
 * lq/safetensors.h - reading safetensors files (Hugging Face's tensor container).
 *
 * File layout:
 *   1. N: uint64, little-endian - the length of the JSON header (at most 100,000,000)
 *   2. N bytes of UTF-8 JSON: one object (writers pad it with trailing spaces to a multiple
 *      of 8). Each member is a tensor,
 *        "name": {"dtype": "BF16", "shape": [4096, 256], "data_offsets": [begin, end]}
 *      except the optional "__metadata__": {"key": "value", ...} (string values only).
 *   3. the data buffer: every tensor's bytes at [begin, end) relative to byte 8 + N,
 *      row-major ("C" order), little-endian.
 *
 * lq_st_open() memory-maps the file read-only and validates it as the reference Rust reader
 * (huggingface/safetensors) does, before anything is trusted: header length at most 100 MB
 * and inside the file; the header is a JSON object (no NUL bytes, no duplicate keys, valid
 * UTF-8); known dtypes; shapes of non-negative integers; end >= begin; sorted by begin, the
 * tensors cover the data buffer exactly, without gaps or overlaps; each tensor's byte length
 * equals elements x dtype bits / 8 (64-bit overflow-checked, whole bytes); the file ends
 * exactly at the data buffer's end. The order of members in the JSON does not matter.
 * Stricter than the reference: more than LQ_ST_MAX_DIMS dimensions give LQ_E_UNSUPPORTED.
 * Members other than dtype/shape/data_offsets inside a tensor entry are ignored, as the
 * reference does.
 *
 * Tensor ids run 0 .. n-1 in data order (ascending begin, ties by end then name).
 * Metadata ids run 0 .. n-1 sorted by key (bytewise).
 * Names, strings and infos are owned by the handle; tensor data points into the mapping
 * (no copy, and not necessarily aligned to the element size). Everything returned stays
 * valid until lq_st_free(). A handle is not thread-safe to open/free, but read-only use
 * from several threads after open is fine.
 */
#ifndef LQ_SAFETENSORS_H
#define LQ_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Dimensions a tensor may have here (the format itself has no limit). */
#define LQ_ST_MAX_DIMS 8

/* The reference reader's header limit. */
#define LQ_ST_MAX_HEADER_SIZE 100000000ull

/* Element types of the safetensors spec. Values are libquant's own (not on disk). */
enum lq_st_dtype {
    LQ_ST_BOOL = 0,
    LQ_ST_F4 = 1,      /* FP4 E2M1 (MX), 4 bits, two per byte */
    LQ_ST_F6_E2M3 = 2, /* FP6 (MX), 6 bits, packed */
    LQ_ST_F6_E3M2 = 3, /* FP6 (MX), 6 bits, packed */
    LQ_ST_U8 = 4,
    LQ_ST_I8 = 5,
    LQ_ST_F8_E5M2 = 6,
    LQ_ST_F8_E4M3 = 7,
    LQ_ST_F8_E8M0 = 8, /* MX scale: 8-bit exponent only */
    LQ_ST_I16 = 9,
    LQ_ST_U16 = 10,
    LQ_ST_F16 = 11,
    LQ_ST_BF16 = 12,
    LQ_ST_I32 = 13,
    LQ_ST_U32 = 14,
    LQ_ST_F32 = 15,
    LQ_ST_C64 = 16, /* complex: two F32 */
    LQ_ST_F64 = 17,
    LQ_ST_I64 = 18,
    LQ_ST_U64 = 19,
    LQ_ST_DTYPE_COUNT = 20,
};

/* The dtype's name as written in files ("BF16"); "unknown" outside the enum. Never NULL. */
LQ_API const char *lq_st_dtype_name(int dtype);

/* Bits per element (4, 6, 8, 16, 32 or 64); 0 outside the enum. */
LQ_API unsigned lq_st_dtype_bits(int dtype);

/* Looks a dtype up by its exact (case-sensitive) file name; -1 when unknown. */
LQ_API int lq_st_dtype_from_name(const char *name);

/* The matching libquant/ggml type (F32, F16, BF16, F64, I8, I16, I32, I64), or -1. */
LQ_API int lq_st_dtype_lq_type(int dtype);

struct lq_st_tensor_info {
    const char *name; /* NUL-terminated, borrowed */
    enum lq_st_dtype dtype;
    const char *dtype_name;        /* "BF16", borrowed (static) */
    int lq_type;                   /* enum lq_type when one matches the dtype, else -1 */
    uint32_t n_dims;               /* 0 for a scalar */
    int64_t shape[LQ_ST_MAX_DIMS]; /* file order: shape[0] outermost; unused dims are 1.
                                    * (ggml's ne[] is the reverse.) */
    int64_t n_elements;            /* product of the shape (1 for a scalar) */
    uint64_t data_begin;           /* data_offsets as in the file, relative to the data buffer */
    uint64_t data_end;
    uint64_t file_offset; /* absolute position of the first byte in the file */
    size_t nbytes;        /* data_end - data_begin */
    const void *data;     /* view into the mapping, borrowed; NULL when nbytes is 0 */
};

typedef struct lq_st lq_st;

/* Opens and validates a safetensors file. On failure *out is NULL and err names the file,
 * the tensor key or byte offset, and the problem (LQ_E_FORMAT for a malformed file,
 * LQ_E_NOT_FOUND / LQ_E_IO when it cannot be read, LQ_E_UNSUPPORTED for > 8 dims). */
LQ_API lq_status lq_st_open(const char *path, lq_st **out, struct lq_error *err);

/* Same, over bytes in memory (not copied; must outlive the handle). `name` is used in
 * messages and returned by lq_st_path(). For fuzzing and tests. */
LQ_API lq_status lq_st_open_memory(const void *data, size_t size, const char *name, lq_st **out,
                                   struct lq_error *err);

/* Unmaps and frees everything; accepts NULL. */
LQ_API void lq_st_free(lq_st *st);

LQ_API const char *lq_st_path(const lq_st *st);
LQ_API uint64_t lq_st_file_size(const lq_st *st);
/* N, the JSON header's length; the data buffer starts at 8 + N. */
LQ_API uint64_t lq_st_header_size(const lq_st *st);
LQ_API uint64_t lq_st_data_offset(const lq_st *st);

/* Tensors: ids 0 .. n-1 in data order. NULL for an id out of range. */
LQ_API int64_t lq_st_n_tensors(const lq_st *st);
LQ_API const struct lq_st_tensor_info *lq_st_tensor(const lq_st *st, int64_t id);
LQ_API int64_t lq_st_find_tensor(const lq_st *st, const char *name); /* -1 when absent */

/* "__metadata__": ids 0 .. n-1 sorted by key; NULL for an id out of range. */
LQ_API int64_t lq_st_n_meta(const lq_st *st);
LQ_API const char *lq_st_meta_key(const lq_st *st, int64_t id);
LQ_API const char *lq_st_meta_value(const lq_st *st, int64_t id);
/* The value of a metadata key, or NULL when absent. */
LQ_API const char *lq_st_meta_get(const lq_st *st, const char *key);

#ifdef __cplusplus
}
#endif
#endif /* LQ_SAFETENSORS_H */
