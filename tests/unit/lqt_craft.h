/* lqt_craft.h - crafting model inputs for tests: safetensors files from tensors given in
 * memory, and copies of the shared tiny Llama folder with config.json keys changed. */
#ifndef LQ_TEST_CRAFT_H
#define LQ_TEST_CRAFT_H

#include <stddef.h>
#include <stdint.h>

struct lqt_st_tensor {
    const char *name;
    const char *dtype; /* "F32", "F16", "BF16", ... as safetensors names them */
    int n_dims;
    int64_t shape[4];
    const void *data; /* the tensor's bytes in dtype; NULL for zeros */
};

/* Writes a safetensors file (8-byte header length, JSON header, data) holding the tensors in
 * order; fails the test on error. */
void lqt_craft_safetensors(const char *path, const struct lqt_st_tensor *t, size_t n);

/* Copies every file of models/tiny-llama-6L into dir (which must exist) and, when config_patch
 * is a JSON object text, sets its keys in config.json (a JSON null deletes the key). */
void lqt_craft_tiny_llama(const char *dir, const char *config_patch);

/* The same for any folder of models/ ("tiny-phi3"). */
void lqt_craft_model(const char *dir, const char *model, const char *config_patch);

/* ---- GGUF files (issue 11, hostile inputs) ---- */

/* A GGUF v3 file built byte by byte, so that counts, dimensions and alignments may be any
 * value, however absurd: lqt_gguf_begin writes magic, version and the two counts as given;
 * the caller then appends key/value pairs, tensor infos and data in order. */
struct lqt_gguf {
    unsigned char *p;
    size_t n, cap;
};

void lqt_gguf_begin(struct lqt_gguf *b, uint64_t n_tensors, uint64_t n_kv);
void lqt_gguf_bytes(struct lqt_gguf *b, const void *data, size_t n);
void lqt_gguf_u32(struct lqt_gguf *b, uint32_t v);
void lqt_gguf_u64(struct lqt_gguf *b, uint64_t v);
void lqt_gguf_str(struct lqt_gguf *b, const char *s); /* uint64 length + bytes */
void lqt_gguf_kv_u32(struct lqt_gguf *b, const char *key, uint32_t v);
void lqt_gguf_kv_str(struct lqt_gguf *b, const char *key, const char *v);
/* Key, type ARRAY, element type and count: the caller appends the elements (or not). */
void lqt_gguf_kv_arr(struct lqt_gguf *b, const char *key, uint32_t elem_type, uint64_t n);
/* Name, n_dims, ne[0..n_dims), ggml type, offset in the data section. */
void lqt_gguf_tensor_info(struct lqt_gguf *b, const char *name, uint32_t n_dims, const int64_t *ne,
                          uint32_t type, uint64_t offset);
/* Zero bytes up to a multiple of align (the start of the data section). */
void lqt_gguf_pad(struct lqt_gguf *b, size_t align);
/* Writes the file and frees the buffer; fails the test on error. */
void lqt_gguf_write(struct lqt_gguf *b, const char *path);

/* Changes made by lqt_craft_gguf_copy; zero fields change nothing. */
struct lqt_gguf_edit {
    uint32_t alignment;                  /* general.alignment of the copy */
    int to_f16;                          /* F32 tensors of 2 dimensions stored as F16 */
    const char *rename_from, *rename_to; /* one tensor renamed */
    const char *str_key, *str_val;       /* one string key set */
    const char *u32_key;                 /* one uint32 key set ... */
    uint32_t u32_val;                    /* ... to this value */
    const char *empty_key;               /* one key set to an empty array of strings */
};

/* Copies a GGUF file (read with lq_gguf_open, written with the GGUF writer) with changes. */
void lqt_craft_gguf_copy(const char *src, const char *dst, const struct lqt_gguf_edit *e);
/* Sets element (row, col) of tensor `name` (stored as F32, F16 or BF16) in the safetensors or
 * GGUF file at path to v, in place; row counts over every dimension but the innermost, in the
 * file's own order. Fails the test when the tensor is absent or of another type. */
void lqt_craft_set_value(const char *path, const char *name, int64_t row, int64_t col, float v);

/* Rewrites the safetensors file at path with every F32/F16/BF16 tensor stored as dtype
 * (values rounded as fp16.h does). */
void lqt_craft_st_retype(const char *path, const char *dtype);

/* Writes GGUF file `to` as a copy of `from` (metadata and tensors) with metadata key `key`
 * set to a JSON number: an integer becomes INT64, a real FLOAT64, null removes the key. */
void lqt_craft_gguf_patch(const char *from, const char *to, const char *key, const char *json);

/* Copies a file (read whole, written whole). */
void lqt_craft_copy_file(const char *from, const char *to);

/* Replaces dir's tokenizer.model with a small byte-level BPE tokenizer.json: 256 byte
 * pieces and the merges given as a JSON array text (e.g. "[\"a b\"]"); added_tokens is a
 * JSON array text or NULL. The merged pieces join the vocabulary when merges are strings. */
void lqt_craft_bpe_tokenizer(const char *dir, const char *merges_json, const char *added_json);

/* Replaces path (removing what is there) by a FIFO, or by a symlink to target; fail the test
 * on error. For the class 2 and 5 cases of the hostile corpus. */
void lqt_craft_fifo(const char *path);
void lqt_craft_symlink(const char *path, const char *target);

#endif
