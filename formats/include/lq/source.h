/*
 * lq/source.h - a model checkpoint of any supported kind, seen in GGUF terms.
 *
 * One handle over: a GGUF file; a Hugging Face folder (config.json plus model.safetensors,
 * sharded safetensors with their index, or pytorch_model.bin); a llama2.c checkpoint
 * (stories260K.bin with tok512.bin beside it). Tensors carry their GGUF names and shapes
 * (ne[0] = row length) and are listed in llama.cpp's order (outside blocks first, then by
 * block number, then by name), so that recipes and outputs match llama.cpp's. Tensor data
 * stays memory-mapped; reading converts one tensor at a time into a caller's buffer, applying
 * the q/k rotary permutation that Hugging Face checkpoints need.
 *
 * The metadata a GGUF file of this model should carry (architecture keys, tokenizer, special
 * tokens, chat template) is built once at open time and written by lq_source_write_metadata.
 */
#ifndef LQ_SOURCE_H
#define LQ_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/gguf_writer.h"
#include "lq/types.h"

#ifdef __cplusplus
extern "C" {
#endif

enum lq_source_kind {
    LQ_SOURCE_GGUF = 0,
    LQ_SOURCE_HF_SAFETENSORS = 1,
    LQ_SOURCE_HF_PYTORCH = 2,
    LQ_SOURCE_LLAMA2C = 3,
};

struct lq_source_tensor {
    const char *name;      /* GGUF name */
    const char *src_name;  /* name in the source file, for messages */
    const char *file;      /* file that holds it */
    int n_dims;
    int64_t ne[4];
    enum lq_type type;     /* stored type (F32/F16/BF16, or any GGUF type) */
    size_t nbytes;
    const void *data;      /* stored bytes, source row order; NULL for generated tensors */
    int permute_heads;     /* >0: q/k rows are permuted by this head count when read */
    /* Stacked experts (Hugging Face folders of mixture-of-experts models): ne[2] slices of
     * nbytes / ne[2] bytes each, read in expert order; data is parts[0]. NULL otherwise. */
    const void **parts;
    /* Where llama.cpp's converter writes it (the stacks come when a layer's last expert
     * tensor arrives): the file and name of that tensor, and the stack's rank among the
     * layer's stacks; NULL for tensors written where they are read. */
    const char *order_file, *order_name;
    int order_rank;
    bool add_one;          /* read as stored + 1 (Gemma norms; raw reads round to the type) */
};

/* The most experts a mixture-of-experts layer may have (llama.cpp: LLAMA_MAX_EXPERTS). */
#define LQ_MAX_EXPERTS 512

/* Llama hyper-parameters, from config.json, GGUF metadata or the llama2.c header. */
struct lq_llama_hparams {
    int64_t n_vocab, n_embd, n_layer, n_ff, n_head, n_head_kv, head_dim, n_rot, n_ctx_train;
    double rope_freq_base; /* double, so that a value beyond float32 can be refused by name */
    double norm_eps;
    bool tied_embeddings;
    int n_expert;          /* 0 for dense models */
    int n_expert_used;     /* experts per token */
    int64_t n_ff_exp;      /* one expert's FFN size (n_ff unless the family says otherwise) */
};

typedef struct lq_source lq_source;

/* Opens PATH, detecting its kind. Errors name the file and what is wrong or missing
 * (unknown architecture, missing config keys, shape mismatches with config.json, ...). */
LQ_API lq_status lq_source_open(const char *path, lq_source **out, struct lq_error *err);
LQ_API void lq_source_free(lq_source *src);

/* For a llama2.c checkpoint: the tokenizer file (tokenizer.bin, tok512.bin) to use instead of
 * looking beside the checkpoint; it is read by lq_source_write_metadata. LQ_E_UNSUPPORTED for
 * other kinds, whose tokenizer is part of the checkpoint. */
LQ_API lq_status lq_source_set_tokenizer(lq_source *src, const char *path, struct lq_error *err);

LQ_API enum lq_source_kind lq_source_get_kind(const lq_source *src);
LQ_API const char *lq_source_path(const lq_source *src);
/* Human description ("Hugging Face folder, 2 safetensors shards, BF16"). Borrowed. */
LQ_API const char *lq_source_describe(const lq_source *src);

LQ_API int64_t lq_source_n_tensors(const lq_source *src);
LQ_API const struct lq_source_tensor *lq_source_tensor(const lq_source *src, int64_t i);
/* By hash (a file may hold 100,000 tensors): -1 when absent. */
LQ_API int64_t lq_source_find_tensor(const lq_source *src, const char *gguf_name);

LQ_API const struct lq_llama_hparams *lq_source_hparams(const lq_source *src);

/* The model family (lq/family.h): from config.json for a Hugging Face folder, from
 * general.architecture for a GGUF file, llama for a llama2.c checkpoint. NULL for a GGUF
 * architecture the family table does not know. */
struct lq_family;
LQ_API const struct lq_family *lq_source_family(const lq_source *src);

/* Converts tensor i to float32 (ne[0] * ... elements) in dst, permuted into GGUF row order.
 * Fails on types that cannot be decoded; with check_finite, as lq_source_check_finite. */
LQ_API lq_status lq_source_read_f32(const lq_source *src, int64_t i, float *dst,
                                    bool check_finite, struct lq_error *err);

/* Rows row0 .. row0 + nrows - 1 of tensor i (rows of ne[0] values, GGUF row order) as
 * float32 in dst (nrows * ne[0] values), so that a large tensor streams in pieces. No
 * finiteness check. Generated tensors and permuted q/k biases are read whole (row0 0, every
 * row). */
LQ_API lq_status lq_source_read_f32_rows(const lq_source *src, int64_t i, int64_t row0,
                                         int64_t nrows, float *dst, struct lq_error *err);

/* The row and column in the source file of element (row, col) of tensor i in GGUF order
 * (they differ for the q/k rows of Hugging Face checkpoints, which are permuted). */
LQ_API void lq_source_position(const lq_source *src, int64_t i, int64_t row, int64_t col,
                               int64_t *src_row, int64_t *src_col);

/* LQ_E_RANGE with a message naming the file, the tensor and the position as stored in the
 * source file of the bad value v at GGUF (row, col): NaN, +Inf/-Inf, or (when v is finite)
 * "value"; why, when not NULL, is appended ("does not fit F16"). */
LQ_API lq_status lq_source_nonfinite_error(const lq_source *src, int64_t i, int64_t row,
                                           int64_t col, float v, const char *why,
                                           struct lq_error *err);

/* LQ_E_RANGE (see lq_source_nonfinite_error) at the first NaN/Inf of x, tensor i's values as
 * float32 in GGUF order; LQ_OK when all are finite. */
LQ_API lq_status lq_source_check_finite(const lq_source *src, int64_t i, const float *x,
                                        struct lq_error *err);

/* Copies tensor i's stored bytes (nbytes) into dst in GGUF row order. */
LQ_API lq_status lq_source_read_raw(const lq_source *src, int64_t i, void *dst,
                                    struct lq_error *err);

/* Tells the OS that tensor i's mapped pages are no longer needed, so a streaming pass over a
 * large model keeps its resident memory near one tensor (a hint; data stays readable). */
LQ_API void lq_source_release(const lq_source *src, int64_t i);

/* lq_source_release for rows row0 .. row0 + nrows - 1 of tensor i, as they are consumed (a
 * no-op for permuted q/k rows, which lq_source_release covers). */
LQ_API void lq_source_release_rows(const lq_source *src, int64_t i, int64_t row0,
                                   int64_t nrows);

/* The tokenizer keys alone (tokenizer.ggml.*, tokenizer.chat_template) of the Hugging Face
 * folder dir, from its tokenizer files and config.json (no weights needed): what llama.cpp's
 * convert_hf_to_gguf.py --vocab-only writes under those keys. A SentencePiece-style
 * tokenizer.json (byte fallback, no tokenizer.model) becomes llama.cpp's "gemma4" model when
 * config.json's architectures[0] starts with "Gemma", its Llama converter's "llama" model
 * otherwise. */
LQ_API lq_status lq_source_write_hf_vocab(const char *dir, lq_gguf_writer *w,
                                          struct lq_error *err);

/* Adds the model's metadata to a GGUF writer. general.file_type depends on the output: a GGUF
 * source leaves it (and general.quantization_version) out, to be appended as llama-quantize
 * does; a converted checkpoint writes both where llama.cpp's converter puts them, file_type
 * as a placeholder 0 that the caller replaces in place (lq_gguf_writer_replace_value). */
LQ_API lq_status lq_source_write_metadata(const lq_source *src, lq_gguf_writer *w,
                                          struct lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LQ_SOURCE_H */
