/*
 * lq/gguf.h - reading GGUF files (versions 1, 2 and 3).
 *
 * File layout (all integers little-endian):
 *   1. magic "GGUF" (4 bytes)
 *   2. version: uint32 (1, 2 or 3)
 *   3. n_tensors, n_kv: uint64 (uint32 in version 1)
 *   4. n_kv key/value pairs: key (gguf string), value type (uint32), value
 *        gguf string = length uint64 (uint32 in v1) + bytes, not NUL-terminated
 *        array value = element type (uint32) + count uint64 (uint32 in v1) + elements
 *   5. n_tensors tensor infos: name (gguf string), n_dims (uint32, <= 4),
 *        ne[n_dims] (uint64; uint32 in v1), type (uint32, ggml id), offset (uint64)
 *   6. padding to general.alignment (default 32; v1 files use 32 as well)
 *   7. the tensor data blob: each tensor at data_offset + its offset, aligned
 *
 * lq_gguf_open() memory-maps the file read-only and validates everything before it is
 * trusted: magic, version, counts and string lengths against the file size, dims and
 * element-count overflow, known types, row lengths a multiple of the block size, offsets
 * aligned, in bounds and not overlapping, duplicate keys and tensor names.
 *
 * Limits (work and memory bounded by the file's size): before anything is allocated, n_kv
 * is checked against the bytes left at 13 bytes a pair at least (12 in v1), n_tensors at 24
 * bytes an info (16 in v1), an array's count at its element type's smallest encoding, and
 * every string length against the bytes left; keys and names are found by hash.
 *
 * Metadata strings and numeric arrays are copied at open time into NUL-terminated,
 * aligned memory owned by the handle (bools are stored as 0/1 whatever byte the file
 * holds); tensor data is a view into the mapping. Arrays of arrays nest at most 16 deep.
 * A tensor-less file may end before its padded data offset (llama.cpp's vocab files do).
 * A handle is not thread-safe, but read-only use from several threads after open is fine.
 *
 * Errors: LQ_E_FORMAT for anything that breaks the format (including truncation),
 * LQ_E_UNSUPPORTED for a version above 3 or a big-endian file, LQ_E_IO / LQ_E_NOT_FOUND
 * when the file cannot be opened or mapped, LQ_E_NOMEM. Messages read
 * "gguf: <path>: offset <n>: key '<k>': <problem>" (or tensor '<name>').
 */
#ifndef LQ_GGUF_H
#define LQ_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LQ_GGUF_DEFAULT_ALIGNMENT 32
#define LQ_GGUF_MAX_DIMS 4

/* Metadata value types, numbered as in the file. */
enum lq_gguf_type {
    LQ_GGUF_UINT8 = 0,
    LQ_GGUF_INT8 = 1,
    LQ_GGUF_UINT16 = 2,
    LQ_GGUF_INT16 = 3,
    LQ_GGUF_UINT32 = 4,
    LQ_GGUF_INT32 = 5,
    LQ_GGUF_FLOAT32 = 6,
    LQ_GGUF_BOOL = 7,
    LQ_GGUF_STRING = 8,
    LQ_GGUF_ARRAY = 9,
    LQ_GGUF_UINT64 = 10,
    LQ_GGUF_INT64 = 11,
    LQ_GGUF_FLOAT64 = 12,
    LQ_GGUF_TYPE_COUNT = 13,
};

/* A string: NUL-terminated copy; len excludes the terminator (the string may hold NULs). */
struct lq_gguf_str {
    const char *s;
    uint64_t len;
};

/* A metadata value. For arrays, `arr.data` points at:
 *   numeric/bool elements: n elements of the element type, natively aligned;
 *   LQ_GGUF_STRING:        n `struct lq_gguf_str`;
 *   LQ_GGUF_ARRAY:         n `struct lq_gguf_value` (arrays of arrays). */
struct lq_gguf_value {
    enum lq_gguf_type type;
    union {
        uint8_t u8;
        int8_t i8;
        uint16_t u16;
        int16_t i16;
        uint32_t u32;
        int32_t i32;
        float f32;
        bool b;
        uint64_t u64;
        int64_t i64;
        double f64;
        struct lq_gguf_str str;
        struct {
            enum lq_gguf_type type;
            uint64_t n;
            const void *data;
        } arr;
    } v;
};

struct lq_gguf_tensor_info {
    const char *name;      /* NUL-terminated, borrowed */
    enum lq_type type;
    uint32_t n_dims;
    int64_t ne[LQ_GGUF_MAX_DIMS]; /* ne[0] is the row length (innermost); unused dims are 1 */
    uint64_t offset;       /* relative to the data section */
    uint64_t file_offset;  /* absolute position in the file */
    size_t nbytes;         /* may be 0 (a zero dimension) */
    /* View into the mapping, borrowed; NULL only for an empty tensor past the end of the
     * file. Aligned to general.alignment relative to the start of the file: a file with an
     * alignment below the element size (or a misaligned buffer given to open_memory) gives
     * misaligned data, so read with memcpy unless alignment >= the element size. */
    const void *data;
};

typedef struct lq_gguf lq_gguf;

/* Opens and validates a GGUF file. On failure *out is NULL and err names the file,
 * the byte offset or key, and the problem. */
LQ_API lq_status lq_gguf_open(const char *path, lq_gguf **out, struct lq_error *err);

/* Same, over bytes in memory (not copied; must outlive the handle). `name` (may be NULL)
 * is used in messages. For fuzzing and tests. */
LQ_API lq_status lq_gguf_open_memory(const void *data, size_t size, const char *name,
                                     lq_gguf **out, struct lq_error *err);

/* Unmaps and frees everything; accepts NULL. */
LQ_API void lq_gguf_free(lq_gguf *g);

LQ_API uint32_t lq_gguf_version(const lq_gguf *g);
LQ_API size_t lq_gguf_alignment(const lq_gguf *g);
LQ_API uint64_t lq_gguf_data_offset(const lq_gguf *g); /* start of the tensor data blob */
LQ_API uint64_t lq_gguf_file_size(const lq_gguf *g);
LQ_API const char *lq_gguf_path(const lq_gguf *g);

/* Metadata: ids run 0 .. n_kv-1 in file order. */
LQ_API int64_t lq_gguf_n_kv(const lq_gguf *g);
LQ_API int64_t lq_gguf_find_key(const lq_gguf *g, const char *key); /* -1 when absent */
LQ_API const char *lq_gguf_key(const lq_gguf *g, int64_t id);
LQ_API const struct lq_gguf_value *lq_gguf_value(const lq_gguf *g, int64_t id);

/* Typed convenience getters by key. Integers of any width convert when the value fits;
 * floats accept FLOAT32/FLOAT64. Return LQ_E_NOT_FOUND when the key is absent and
 * LQ_E_FORMAT (with a message naming the key) when the type does not fit. */
LQ_API lq_status lq_gguf_get_u64(const lq_gguf *g, const char *key, uint64_t *out,
                                 struct lq_error *err);
LQ_API lq_status lq_gguf_get_i64(const lq_gguf *g, const char *key, int64_t *out,
                                 struct lq_error *err);
LQ_API lq_status lq_gguf_get_f64(const lq_gguf *g, const char *key, double *out,
                                 struct lq_error *err);
LQ_API lq_status lq_gguf_get_bool(const lq_gguf *g, const char *key, bool *out,
                                  struct lq_error *err);
LQ_API lq_status lq_gguf_get_str(const lq_gguf *g, const char *key, const char **out,
                                 struct lq_error *err);
/* An array value by key, with its element type checked (LQ_GGUF_TYPE_COUNT: any). */
LQ_API lq_status lq_gguf_get_arr(const lq_gguf *g, const char *key, enum lq_gguf_type elem,
                                 const struct lq_gguf_value **out, struct lq_error *err);

/* Tensors: ids 0 .. n_tensors-1 in file order. */
LQ_API int64_t lq_gguf_n_tensors(const lq_gguf *g);
LQ_API const struct lq_gguf_tensor_info *lq_gguf_tensor(const lq_gguf *g, int64_t id);
LQ_API int64_t lq_gguf_find_tensor(const lq_gguf *g, const char *name); /* -1 when absent */

/* Hands the pages of tensor `id` back to the kernel (for a caller that has copied its bytes):
 * they leave this process's resident memory and are read from the file again if touched, so
 * the view stays valid. No effect on a handle from lq_gguf_open_memory or a bad id. */
LQ_API void lq_gguf_release_tensor(const lq_gguf *g, int64_t id);

/* Name of a metadata value type ("uint32", "array", ...); "unknown" otherwise. */
LQ_API const char *lq_gguf_type_name(int type);

#ifdef __cplusplus
}
#endif
#endif /* LQ_GGUF_H */
