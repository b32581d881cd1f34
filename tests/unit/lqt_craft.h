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
