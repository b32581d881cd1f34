/*
 * lq/gguf_writer.h - writing GGUF version 3 files, streamed, laid out as llama.cpp does.
 *
 * File layout written (all integers little-endian; see lq/gguf.h for the format):
 *   1. "GGUF", version 3 (uint32), n_tensors (uint64), n_kv (uint64)
 *   2. the key/value pairs, in the order they were set
 *   3. the tensor infos, in the order they were added: name, n_dims (uint32), ne[n_dims]
 *      (uint64), type (uint32), offset (uint64, relative to the data section)
 *   4. zero padding to the alignment (general.alignment when set, else 32)
 *   5. each tensor's bytes followed by zero padding to the alignment (the last one too),
 *      so every offset is aligned and offset[i+1] = offset[i] + pad(nbytes[i])
 *
 * Lifecycle: lq_gguf_writer_open -> set metadata / add tensors (any order between the two)
 * -> write tensor data (which freezes metadata and tensor infos) -> lq_gguf_writer_finish
 * -> lq_gguf_writer_free. Tensor data is streamed: nothing but the header is held in memory.
 *
 * Output goes to a temporary file beside the target (PATH.tmp.XXXXXX); finish checks that
 * every tensor got all its bytes, fsyncs, and renames it to PATH. Freeing the writer before
 * a successful finish removes the temporary file, so a failure never leaves an output behind.
 *
 * Setting a key that already exists removes the old pair and appends the new one at the end
 * (llama.cpp's gguf_set_* behave the same way, which keeps copied metadata byte-compatible).
 * Setters copy their input. A writer is not thread-safe.
 */
#ifndef LQ_GGUF_WRITER_H
#define LQ_GGUF_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/gguf.h"
#include "lq/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest tensor name llama.cpp accepts is GGML_MAX_NAME - 1 bytes. */
#define LQ_GGUF_MAX_NAME 63

typedef struct lq_gguf_writer lq_gguf_writer;

/* Creates the temporary output file beside `path` (the folder must be writable).
 * On failure *out is NULL and err names the path. */
LQ_API lq_status lq_gguf_writer_open(const char *path, lq_gguf_writer **out,
                                     struct lq_error *err);

/* A writer without a file, for metadata only: lq_gguf_writer_header_bytes serializes it (a
 * complete GGUF file when no tensors are declared, readable with lq_gguf_open_memory);
 * writing the header or tensor data and finishing fail with LQ_E_INVALID_ARG. */
LQ_API lq_status lq_gguf_writer_open_memory(lq_gguf_writer **out, struct lq_error *err);

/* Closes the writer; before a successful finish it also removes the temporary file.
 * Accepts NULL. */
LQ_API void lq_gguf_writer_free(lq_gguf_writer *w);

/* ---- metadata (only before the first tensor data is written) ---- */

/* Sets any value, including strings with NULs, string arrays and arrays of arrays
 * (a nested array's arr.data holds n struct lq_gguf_value; see lq/gguf.h). The value is
 * serialized and copied at once. general.alignment must be a UINT32 power of two; it sets
 * the alignment of the data section. */
LQ_API lq_status lq_gguf_writer_set_value(lq_gguf_writer *w, const char *key,
                                          const struct lq_gguf_value *v, struct lq_error *err);

/* Replaces the value of an existing key where it stands (lq_gguf_writer_set_value drops the
 * old pair and appends, as ggml's gguf_set_* do). LQ_E_NOT_FOUND when the key is absent. */
LQ_API lq_status lq_gguf_writer_replace_value(lq_gguf_writer *w, const char *key,
                                              const struct lq_gguf_value *v,
                                              struct lq_error *err);

LQ_API lq_status lq_gguf_writer_set_u8(lq_gguf_writer *w, const char *key, uint8_t v,
                                       struct lq_error *err);
LQ_API lq_status lq_gguf_writer_set_i8(lq_gguf_writer *w, const char *key, int8_t v,
                                       struct lq_error *err);
LQ_API lq_status lq_gguf_writer_set_u16(lq_gguf_writer *w, const char *key, uint16_t v,
                                        struct lq_error *err);
LQ_API lq_status lq_gguf_writer_set_i16(lq_gguf_writer *w, const char *key, int16_t v,
                                        struct lq_error *err);
LQ_API lq_status lq_gguf_writer_set_u32(lq_gguf_writer *w, const char *key, uint32_t v,
                                        struct lq_error *err);
LQ_API lq_status lq_gguf_writer_set_i32(lq_gguf_writer *w, const char *key, int32_t v,
                                        struct lq_error *err);
LQ_API lq_status lq_gguf_writer_set_u64(lq_gguf_writer *w, const char *key, uint64_t v,
                                        struct lq_error *err);
LQ_API lq_status lq_gguf_writer_set_i64(lq_gguf_writer *w, const char *key, int64_t v,
                                        struct lq_error *err);
LQ_API lq_status lq_gguf_writer_set_f32(lq_gguf_writer *w, const char *key, float v,
                                        struct lq_error *err);
LQ_API lq_status lq_gguf_writer_set_f64(lq_gguf_writer *w, const char *key, double v,
                                        struct lq_error *err);
LQ_API lq_status lq_gguf_writer_set_bool(lq_gguf_writer *w, const char *key, bool v,
                                         struct lq_error *err);
/* A NUL-terminated string. */
LQ_API lq_status lq_gguf_writer_set_str(lq_gguf_writer *w, const char *key, const char *v,
                                        struct lq_error *err);

/* An array of n numeric or bool elements of type `elem`, in native layout (e.g. float[] for
 * LQ_GGUF_FLOAT32, bool[] for LQ_GGUF_BOOL). */
LQ_API lq_status lq_gguf_writer_set_arr(lq_gguf_writer *w, const char *key,
                                        enum lq_gguf_type elem, const void *data, uint64_t n,
                                        struct lq_error *err);
/* An array of n NUL-terminated strings. */
LQ_API lq_status lq_gguf_writer_set_arr_str(lq_gguf_writer *w, const char *key,
                                            const char *const *strs, uint64_t n,
                                            struct lq_error *err);

/* Removes a key; LQ_E_NOT_FOUND when it is absent. */
LQ_API lq_status lq_gguf_writer_remove_key(lq_gguf_writer *w, const char *key,
                                           struct lq_error *err);

LQ_API int64_t lq_gguf_writer_n_kv(const lq_gguf_writer *w);
LQ_API int64_t lq_gguf_writer_find_key(const lq_gguf_writer *w, const char *key); /* -1 */

/* ---- tensors ---- */

/* Declares a tensor: ne[0] is the row length and must be a multiple of the type's block size;
 * n_dims (1..4) is written as given. Names are unique, at most LQ_GGUF_MAX_NAME bytes.
 * Its data must then be written in full before finish. On success *id (if not NULL)
 * receives the tensor's index. */
LQ_API lq_status lq_gguf_writer_add_tensor(lq_gguf_writer *w, const char *name,
                                           enum lq_type type, uint32_t n_dims,
                                           const int64_t *ne, int64_t *id,
                                           struct lq_error *err);

LQ_API int64_t lq_gguf_writer_n_tensors(const lq_gguf_writer *w);
LQ_API int64_t lq_gguf_writer_find_tensor(const lq_gguf_writer *w, const char *name); /* -1 */
/* Bytes of tensor id (without padding); 0 for an unknown id. */
LQ_API size_t lq_gguf_writer_tensor_nbytes(const lq_gguf_writer *w, int64_t id);

/* Freezes metadata and tensor infos and writes the header. Called implicitly by the first
 * tensor data write; after it, set/add calls fail with LQ_E_INVALID_ARG. */
LQ_API lq_status lq_gguf_writer_write_header(lq_gguf_writer *w, struct lq_error *err);

/* Serializes the header as write_header would write it (key/value pairs, tensor infos and
 * the padding to the alignment) into dst without freezing the writer. *size receives the
 * bytes needed; dst may be NULL with cap 0 to ask for the size only; LQ_E_RANGE when cap is
 * smaller than the size. */
LQ_API lq_status lq_gguf_writer_header_bytes(lq_gguf_writer *w, void *dst, size_t cap,
                                            size_t *size, struct lq_error *err);

/* The size of the whole file the declared metadata and tensors make (header, padding and
 * every tensor's data padded to the alignment), without freezing the writer: a budget can be
 * checked before anything is quantized. */
LQ_API lq_status lq_gguf_writer_file_size(lq_gguf_writer *w, uint64_t *size,
                                          struct lq_error *err);

/* Start of the data section in the file (valid once the header is written, else 0). */
LQ_API uint64_t lq_gguf_writer_data_offset(const lq_gguf_writer *w);
/* Tensor id's offset relative to the data section (valid once the header is written, else 0;
 * 0 for an unknown id). */
LQ_API uint64_t lq_gguf_writer_tensor_offset(const lq_gguf_writer *w, int64_t id);

/* ---- tensor data ---- */

/* Appends n bytes to tensor id's data. One call may carry the whole tensor, or several calls
 * may stream it in pieces (e.g. a block of rows at a time); tensors may be written in any
 * order. Writing past the declared size is LQ_E_RANGE. The padding after a tensor is written
 * when its last byte arrives. */
LQ_API lq_status lq_gguf_writer_write_tensor(lq_gguf_writer *w, int64_t id, const void *data,
                                             size_t n, struct lq_error *err);
/* Same, finding the tensor by name (LQ_E_NOT_FOUND when undeclared). */
LQ_API lq_status lq_gguf_writer_write_tensor_named(lq_gguf_writer *w, const char *name,
                                                   const void *data, size_t n,
                                                   struct lq_error *err);

/* Completes the file: writes the header if not yet written, checks every tensor is complete
 * (LQ_E_FORMAT naming the first incomplete one otherwise), fsyncs and renames the temporary
 * file to the output path (replacing an existing file). On failure no output is created
 * and the temporary file is removed by lq_gguf_writer_free. */
LQ_API lq_status lq_gguf_writer_finish(lq_gguf_writer *w, struct lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LQ_GGUF_WRITER_H */
