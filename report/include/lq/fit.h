/*
 * lq/fit.h - how much memory llama.cpp will take to run a model, and which files fit.
 *
 * The estimate follows the buffers llama.cpp allocates at load, as it prints them
 * ("CPU_Mapped model buffer size", "CPU_REPACK model buffer size", "CPU KV buffer size",
 * "CPU compute buffer size", "CPU output buffer size"), for its defaults: one sequence,
 * n_ubatch = 512, mmap on, weight repacking on (x86-64 with AVX2). All sizes in bytes;
 * n_kv is the context rounded up to 256 (llama.cpp pads it); u = n_ubatch.
 *
 *   weights  CPU_Mapped = the file span [first, last byte] of the tensors kept in the mapping
 *            (mmap maps the whole range, tensors placed elsewhere included);
 *            CPU_REPACK = the bytes of the tensors repacked for the CPU's matrix kernels:
 *            Q4_0, Q4_K, IQ4_NL and MXFP4 matrices (2-D, or 3-D experts) with rows % 8 == 0,
 *            except token_embd (looked up by row, never multiplied). These are also inside
 *            the mapped span: llama.cpp counts them twice, and so does the estimate.
 *            Offloaded layers (--vram): their tensors' bytes on the GPU; llama.cpp's -ngl N
 *            offloads the last N blocks, and the output head too when N > n_layer.
 *   KV       n_layer x n_kv x (row_size(kv_type, n_embd_k_gqa) + row_size(kv_type, n_embd_v_gqa))
 *            (n_embd_k_gqa = head_dim_k x n_head_kv), split by device like the layers;
 *            sliding-window layers (Gemma 2: every other one, Gemma 3: 5 of 6) hold
 *            n_kv_swa = min(n_kv, n_swa + u) rounded up to 256 cells instead.
 *   output   n_vocab x 4 (the logits of one sequence, as reserved at load).
 *   compute  the graph allocator's peak, which is the largest of the graph's phases:
 *            E = n_embd u 4, G = n_embd_k_gqa u 4, F = n_ff u 4, L = n_vocab u 4,
 *            out  = L + 2E                        (the logits, the last norm's in and out)
 *                   + n_kv u 2      without flash attention (a hole the f32 mask leaves)
 *                   + E/2           with a quantized KV cache (Hadamard-rotated Q/K/V)
 *            attn = n_head n_kv u 4 + n_kv u 4 + 5E + 2G + 20 u   without flash attention
 *                   (the f32 KQ scores, the f32 mask, Q/K/V and the residual stream)
 *            ffn  = n_kv u 2 + 3F + 4E + 20 u     with flash attention (f16 mask, gate/up/act)
 *                   + n_kv_swa u 2  with sliding-window layers (their own f16 mask)
 *            compute = max(out, attn or ffn).
 *            The terms are the graph's largest intermediate tensors; the two allowances
 *            (n_kv u 2 and E/2) are fitted to llama.cpp's figures: the allocator's
 *            fragmentation, which these terms do not model, is within them on every case
 *            measured (tests/data/fit/llama-cpp-buffers.txt, test_fit).
 * Not modelled (flagged in the result): a sliding window the input does not state (a Hugging
 * Face folder: the full-context size is shown, an upper bound), recurrent state, mixture-of-experts compute (F uses n_ff), and the GPU side,
 * which is not checked against a GPU build.
 */
#ifndef LQ_FIT_H
#define LQ_FIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/gguf.h"
#include "lq/recipe.h"
#include "lq/source.h"
#include "lq/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The shape llama.cpp's buffers depend on. */
struct lq_fit_shape {
    int64_t n_layer, n_embd, n_ff, n_head, n_head_kv, head_dim_k, head_dim_v, n_vocab;
    int64_t n_swa;       /* sliding window in tokens (0: none or unknown) */
    int64_t swa_pattern; /* layers il with il % swa_pattern < swa_pattern - 1 slide (0: none) */
    int64_t n_expert; /* 0 for dense models */
};

/* One tensor of the file (or of a file not yet written, as the recipe plans it). */
struct lq_fit_tensor {
    char name[96];
    enum lq_type type;
    int n_dims;
    int64_t ne[4];
    uint64_t offset; /* in the data section */
    uint64_t nbytes;
};

/* A model to estimate: a GGUF file, or one file type of a checkpoint. */
struct lq_fit_model {
    char label[64]; /* the file type ("Q4_K_M") */
    struct lq_fit_shape shape;
    struct lq_fit_tensor *tensors;
    size_t n_tensors;
    uint64_t file_bytes; /* the file's size (planned: header excluded) */
};

struct lq_fit_params {
    int64_t n_ctx;      /* default 4096 */
    int64_t n_ubatch;   /* default 512 */
    enum lq_type kv_type; /* F16, Q8_0 or Q4_0 */
    bool flash_attn;
    uint64_t mem, vram; /* bytes the host and the GPU offer; vram 0: CPU only */
};

LQ_API struct lq_fit_params lq_fit_params_default(void);

/* The buffers on one device. */
struct lq_fit_device {
    uint64_t mapped, repack, weights, kv, compute, output, total;
};

struct lq_fit_estimate {
    int64_t n_gpu_layers; /* -ngl: blocks offloaded; n_layer + 1 with the output head */
    struct lq_fit_device cpu, gpu;
    bool fits;
    bool swa_upper_bound, moe_unverified, gpu_unverified;
};

/* The buffers with n_gpu_layers blocks offloaded (0: CPU only). p->mem/vram are ignored.
 * A shape past any model's (over 4096 layers or heads, 2^24 wide, 2^26 tokens of vocabulary;
 * a file's claim) is LQ_E_FORMAT; a context over 2^24, LQ_E_INVALID_ARG. */
LQ_API lq_status lq_fit_estimate_ngl(const struct lq_fit_model *m, const struct lq_fit_params *p,
                                     int64_t n_gpu_layers, struct lq_fit_estimate *out,
                                     struct lq_error *err);

/* The best split: the most blocks offloaded whose buffers fit p->vram and p->mem; when none
 * does, the CPU-only estimate with fits = false. */
LQ_API lq_status lq_fit_estimate(const struct lq_fit_model *m, const struct lq_fit_params *p,
                                 struct lq_fit_estimate *out, struct lq_error *err);

/* The model of checkpoint src: as stored when ftype < 0 (g, the same file opened as GGUF,
 * gives the tensors' offsets: a GGUF source needs it), else converted to ftype as
 * lq_convert_plan plans it (nothing is read or written), its tensors laid out as the GGUF
 * writer lays them (32-byte aligned). The shape is the source's hyper-parameters; a GGUF's
 * sliding window from its metadata. A file type that needs an importance matrix is
 * LQ_E_INVALID_ARG. */
LQ_API lq_status lq_fit_model_from_source(const lq_source *src, const lq_gguf *g, int ftype,
                                          struct lq_fit_model *out, struct lq_error *err);

/* Frees what lq_fit_model_from_* allocated; accepts a zeroed model. */
LQ_API void lq_fit_model_free(struct lq_fit_model *m);

/* One row of a `quant report` JSON: its name, path (NULL when the report did not keep the
 * file) and mean KLD against the reference (0 for the reference). */
struct lq_fit_kld {
    char *name, *path;
    double kld;
};

LQ_API lq_status lq_fit_read_report(const char *path, struct lq_fit_kld **out, size_t *n,
                                    struct lq_error *err);
LQ_API void lq_fit_kld_free(struct lq_fit_kld *k, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* LQ_FIT_H */
