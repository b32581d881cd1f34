/*
 * lq/llama2c.h - reading llama2.c checkpoints (karpathy/llama2.c run.c format) and their
 * tokenizers, with tensors named and shaped as in GGUF.
 *
 * Checkpoint layout (little-endian; "legacy" export, as run.c reads it):
 *   1. 7 int32: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len.
 *      A negative vocab_size means the classifier is not shared with the embedding.
 *   2. float32 weights, back to back (head_size = dim / n_heads, kv_dim = n_kv_heads *
 *      head_size; shapes row-major, outermost first):
 *        token_embedding (vocab, dim)     rms_att (L, dim)
 *        wq (L, dim, dim)  wk (L, kv_dim, dim)  wv (L, kv_dim, dim)  wo (L, dim, dim)
 *        rms_ffn (L, dim)  w1 (L, hidden, dim)  w2 (L, dim, hidden)  w3 (L, hidden, dim)
 *        rms_final (dim)   freq_cis_real (seq, head_size/2)  freq_cis_imag (seq, head_size/2)
 *        [wcls (vocab, dim) only when not shared]
 *   The file must end exactly there. The "ak42" versioned exports are refused
 *   (LQ_E_UNSUPPORTED).
 *
 * Limits: every header field must be > 0 (vocab_size non-zero) and the file's size must be
 * exactly the header's implied size (overflow-checked), so layers, vocabulary and dimensions
 * are bounded by the bytes the file holds before the tensor table is allocated; a bad field
 * is an LQ_E_FORMAT error naming it and its value. A tokenizer file is scanned against its
 * size before its vocab_size entries are allocated.
 *
 * The weights are in Meta's original rotary layout (pairs of adjacent q/k components rotate
 * together), which is what llama.cpp's llama architecture expects: no permutation is needed,
 * and none is applied (llama.cpp's convert-llama2c-to-ggml copies them unchanged; the
 * stories260K GGUF holds identical bytes).
 *
 * Tensors are exposed as F32 views into a read-only mapping, named and shaped as GGUF
 * (ne[0] = row length): token_embd.weight {dim, vocab}, output_norm.weight {dim},
 * output.weight {dim, vocab} (only when unshared: llama.cpp then falls back to token_embd),
 * and per layer N: blk.N.attn_norm.weight {dim}, blk.N.attn_q.weight {dim, dim},
 * blk.N.attn_k.weight {dim, kv_dim}, blk.N.attn_v.weight {dim, kv_dim},
 * blk.N.attn_output.weight {dim, dim}, blk.N.ffn_norm.weight {dim},
 * blk.N.ffn_gate.weight (w1) {dim, hidden}, blk.N.ffn_down.weight (w2) {hidden, dim},
 * blk.N.ffn_up.weight (w3) {dim, hidden}. The freq_cis tables are skipped.
 *
 * Tokenizer layout (tokenizer.bin / tok512.bin): int32 max_token_length, then for each of
 * vocab_size tokens: float32 score, int32 len, len bytes. The count is not stored: it comes
 * from the checkpoint's vocab_size. The file must end after the last token.
 *
 * Handles are read-only after open and may be shared between threads.
 */
#ifndef LQ_LLAMA2C_H
#define LQ_LLAMA2C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/types.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lq_llama2c_config {
    int32_t dim;
    int32_t hidden_dim;
    int32_t n_layers;
    int32_t n_heads;
    int32_t n_kv_heads;
    int32_t vocab_size;     /* always positive here */
    int32_t seq_len;
    bool shared_classifier; /* the file's vocab_size was positive: no wcls */
    int32_t head_size;      /* dim / n_heads */
    int32_t kv_dim;         /* n_kv_heads * head_size */
};

struct lq_llama2c_tensor {
    const char *name;     /* GGUF name, borrowed */
    enum lq_type type;    /* always LQ_TYPE_F32 */
    uint32_t n_dims;      /* 1 or 2 */
    int64_t ne[4];        /* GGUF order: ne[0] is the row length; unused dims are 1 */
    uint64_t file_offset; /* of the first byte */
    size_t nbytes;
    const float *data;    /* view into the mapping, borrowed */
};

typedef struct lq_llama2c lq_llama2c;

/* Maps and validates a checkpoint: positive sizes, dim divisible by n_heads, n_heads by
 * n_kv_heads, and the exact file size the header implies (overflow-checked). On failure
 * *out is NULL and err names the file and the problem. */
LQ_API lq_status lq_llama2c_open(const char *path, lq_llama2c **out, struct lq_error *err);

/* Unmaps and frees; accepts NULL. */
LQ_API void lq_llama2c_free(lq_llama2c *m);

LQ_API const struct lq_llama2c_config *lq_llama2c_config(const lq_llama2c *m);

/* Tensors in llama.cpp's converter order: token_embd, output_norm, [output], then each
 * layer's attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate, ffn_down,
 * ffn_up. NULL for an id out of range. */
LQ_API int64_t lq_llama2c_n_tensors(const lq_llama2c *m);
LQ_API const struct lq_llama2c_tensor *lq_llama2c_tensor(const lq_llama2c *m, int64_t id);
LQ_API int64_t lq_llama2c_find_tensor(const lq_llama2c *m, const char *name); /* -1 */

/* ---- tokenizer ---- */

typedef struct lq_llama2c_vocab lq_llama2c_vocab;

/* Reads a llama2.c tokenizer holding exactly n_vocab tokens (the checkpoint's vocab_size).
 * Rejects negative or overlong lengths, tokens holding NUL bytes, truncation and trailing
 * bytes, naming the file, the token and its offset. Everything is copied. */
LQ_API lq_status lq_llama2c_vocab_open(const char *path, int32_t n_vocab,
                                       lq_llama2c_vocab **out, struct lq_error *err);

/* Frees; accepts NULL. */
LQ_API void lq_llama2c_vocab_free(lq_llama2c_vocab *v);

LQ_API int64_t lq_llama2c_vocab_n(const lq_llama2c_vocab *v);
LQ_API int32_t lq_llama2c_vocab_max_token_length(const lq_llama2c_vocab *v);

/* The tokens as stored (llama2.c's export writes spaces for SentencePiece's U+2581 and
 * "\n<s>\n" / "\n</s>\n" for BOS/EOS), NUL-terminated; n entries, borrowed. */
LQ_API const char *const *lq_llama2c_vocab_raw(const lq_llama2c_vocab *v);
LQ_API const float *lq_llama2c_vocab_scores(const lq_llama2c_vocab *v);

/* The vocabulary as llama.cpp's convert-llama2c-to-ggml writes it to GGUF: id 0 "<unk>"
 * (UNKNOWN), 1 "<s>" and 2 "</s>" (CONTROL), empty tokens CONTROL, "<0x..>" tokens BYTE, all
 * others NORMAL; spaces escaped as U+2581. Types are llama.cpp token types
 * (enum lq_spm_type's numbering). n entries each, borrowed. */
LQ_API const char *const *lq_llama2c_vocab_texts(const lq_llama2c_vocab *v);
LQ_API const int32_t *lq_llama2c_vocab_types(const lq_llama2c_vocab *v);

#ifdef __cplusplus
}
#endif
#endif /* LQ_LLAMA2C_H */
