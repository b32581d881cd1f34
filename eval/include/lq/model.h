/*
 * lq/model.h - a model (Llama and the other families of lq/family.h) and its forward pass,
 * with llama.cpp's CPU semantics.
 *
 * Lifecycle: lq_model_open() (a GGUF file) or lq_model_open_source() (tensors from any
 * source) -> lq_model_forward() as often as needed -> lq_model_free().
 *
 * Weights stay in their stored type (memory-mapped for files). Matrix products use the dot
 * kernel of the weight's type from the type table (lq/types.h), with the activations
 * converted once per token row to that kernel's activation type (Q8_0, Q8_1, Q8_K; F16 for
 * F16 weights, BF16 for BF16, F32 for F32), as llama.cpp's CPU backend does. The KV cache
 * holds F16 values, like llama.cpp's default cache type; attention itself runs in F32.
 *
 * A model handle is not thread-safe (it owns the KV cache and scratch buffers); the forward
 * pass itself runs on params.n_threads OpenMP threads.
 */
#ifndef LQ_MODEL_H
#define LQ_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/family.h"
#include "lq/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How RoPE pairs dimensions (enum lq_rope_type, lq/family.h): GGUF (llama.cpp's converter
 * permutes Llama's Q/K) rotates adjacent pairs (x[2i], x[2i+1]); Hugging Face checkpoints
 * and NEOX families (Qwen, Phi-3) rotate (x[i], x[i + n_rot/2]). */

/* Hyperparameters of a model of one of the families of lq/family.h. */
struct lq_model_hparams {
    int64_t n_vocab;
    int64_t n_embd;      /* hidden size */
    int64_t n_layer;
    int64_t n_ff;        /* feed-forward size */
    int64_t n_expert;    /* mixture of experts: experts per layer; 0 for dense models */
    int64_t n_expert_used; /* experts each token is routed to */
    int64_t n_ff_exp;    /* one expert's feed-forward size */
    int64_t n_head;
    int64_t n_head_kv;   /* < n_head: grouped-query attention */
    int64_t n_embd_head; /* per-head size */
    int64_t n_rot;       /* rotated dimensions per head (<= n_embd_head, even) */
    int64_t n_ctx_train; /* context length the model was trained for */
    float norm_eps;      /* RMSNorm epsilon */
    float rope_freq_base;
    float rope_freq_scale; /* 1 / linear scaling factor; 1 when not scaled */
    enum lq_rope_type rope_type; /* the family's rotary style (lq/family.h) */
    float rope_attn_factor; /* scales rotated q/k (longrope's attention factor); 0 means 1 */
    int64_t n_ctx_orig;     /* rope's original context: longrope uses its long factors for a
                             * longer context; 0 means n_ctx_train */
    /* Gemma 2/3 (0 where a family has none) */
    float attn_softcap;     /* attention logits -> c * tanh(logits / c) */
    float final_softcap;    /* output logits, the same */
    int64_t n_swa;          /* sliding window: a query sees keys q - n_swa < k <= q on the
                             * family's sliding-window layers */
    float rope_freq_base_swa; /* rope base of sliding-window layers (Gemma 3) */
    const struct lq_family *family; /* the family's row (traits); NULL means llama */
    int32_t bos_token_id; /* -1 when the source names none */
    bool add_bos;         /* whether text should start with BOS */
};

/* Where the weight matrices are read from while the model is open. Decoding reads every
 * weight once per token at memory speed, and a file's page-cache pages, mapped 4 KiB at a
 * time, read slower than anonymous memory the kernel can back with 2 MiB pages (Q8_0
 * decoding 8.4 -> 12.2 tok/s on one core of a Xeon); loading costs one copy at open. */
enum lq_weights_memory {
    LQ_WEIGHTS_AUTO,   /* LOADED when the source can hand its pages back (a GGUF file, a
                        * mapped checkpoint) and the weights take at most half of the
                        * memory available (MemAvailable); MAPPED otherwise */
    LQ_WEIGHTS_MAPPED, /* read in place from the source (the file's memory map) */
    LQ_WEIGHTS_LOADED, /* copied at open into anonymous memory (huge pages where the kernel
                        * allows them); the source's pages are handed back as each weight is
                        * copied, so the resident memory holds the weights once */
    LQ_WEIGHTS_N
};

/* "auto", "mapped", "loaded"; NULL when out of range. */
LQ_API const char *lq_weights_memory_name(enum lq_weights_memory w);
/* The value a name gives; false when no value has it. */
LQ_API bool lq_weights_memory_from_name(const char *name, enum lq_weights_memory *out);
/* All names, comma-separated ("auto, mapped, loaded"), for help texts. */
LQ_API const char *lq_weights_memory_names(void);

struct lq_model_params {
    int n_threads;   /* OpenMP threads; 0: OpenMP's default */
    int64_t n_ctx;   /* KV-cache capacity in tokens; 0: the model's n_ctx_train */
    int64_t n_batch; /* most tokens one lq_model_forward() call takes; 0: n_ctx */
    enum lq_weights_memory weights; /* where the weights are read from */
};

/* Defaults: all zero (OpenMP's thread count, training context, batch = context, weights
 * LQ_WEIGHTS_AUTO). */
LQ_API struct lq_model_params lq_model_params_default(void);

typedef struct lq_model lq_model;

/* Opens a GGUF file of a family the table knows (general.architecture: llama, qwen2, qwen3,
 * phi3): hyperparameters from its {arch}.* metadata keys, weights token_embd / blk.N.* /
 * output_norm / output (absent: tied to token_embd) as the family lays them out (biases,
 * q/k norms, fused attn_qkv and gate+up), and the optional rope_freqs (Llama 3.1 frequency
 * factors) or rope_factors_long/short (Phi-3 longrope: long when the context, rounded up to
 * a multiple of 256 as llama.cpp rounds it, exceeds the original context). params may be
 * NULL (defaults). On failure *out is NULL and err names the file, key or tensor. */
LQ_API lq_status lq_model_open(const char *path, const struct lq_model_params *params,
                               lq_model **out, struct lq_error *err);

/* A borrowed view of one weight tensor. */
struct lq_model_tensor {
    enum lq_type type;
    int64_t ne[4];    /* ne[0]: row length (innermost); unused dims 1 */
    const void *data; /* must stay valid until the model is freed */
    size_t nbytes;
};

/* Where weights come from: a lookup by llama.cpp's GGUF tensor names. */
struct lq_model_source {
    const char *name; /* used in messages (a path); copied */
    void *user;
    /* Fills *out and returns true when the tensor exists; false when absent. */
    bool (*find_tensor)(void *user, const char *name, struct lq_model_tensor *out);
    /* Releases user; may be NULL. */
    void (*close)(void *user);
    /* May be NULL. The model holds its own copy of these bytes (a find_tensor result's data
     * and nbytes) and reads them from there: the source may drop them from memory, but they
     * must stay readable (a file map's pages may be handed back; malloc'd bytes may not). */
    void (*release)(void *user, const void *data, size_t nbytes);
};

/* Builds a model over a tensor source. The tensors are checked against hp (shapes, types,
 * sizes). src->close(src->user) is called exactly once: when the model is freed, or before
 * returning when opening fails. */
LQ_API lq_status lq_model_open_source(const struct lq_model_hparams *hp,
                                      const struct lq_model_source *src,
                                      const struct lq_model_params *params, lq_model **out,
                                      struct lq_error *err);

/* Frees the model, its caches and its source; accepts NULL. */
LQ_API void lq_model_free(lq_model *m);

/* Borrowed; valid until lq_model_free(). */
LQ_API const struct lq_model_hparams *lq_model_get_hparams(const lq_model *m);
LQ_API int64_t lq_model_n_ctx(const lq_model *m);   /* KV-cache capacity */
LQ_API int64_t lq_model_n_batch(const lq_model *m); /* most tokens per forward call */

/* One forward call: n_tokens tokens at positions pos .. pos + n_tokens - 1. */
struct lq_batch {
    const int32_t *tokens;
    int64_t n_tokens;
    int64_t pos;   /* position of tokens[0]; earlier positions come from the KV cache */
    int64_t n_out; /* logits wanted for the last n_out tokens (0 .. n_tokens) */
    float *logits; /* n_out * n_vocab floats, row by row; may be NULL when n_out is 0 */
};

/* Runs the batch through the model: writes the K/V of its positions into the cache
 * (entries at pos and later are overwritten, so pos = 0 starts a new sequence), attends
 * causally to positions 0 .. p for the token at p, and writes the requested logits.
 * Needs 1 <= n_tokens <= n_batch, pos + n_tokens <= n_ctx, token ids < n_vocab, and
 * positions before pos filled by earlier calls. */
LQ_API lq_status lq_model_forward(lq_model *m, const struct lq_batch *b, struct lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LQ_MODEL_H */
