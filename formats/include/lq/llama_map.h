/*
 * lq/llama_map.h - how a Hugging Face Llama checkpoint maps onto llama.cpp's GGUF layout:
 * tensor names, the rotary row permutation of q_proj/k_proj, and Llama 3 rope factors.
 *
 * Hugging Face stores each attention head's rotary pairs as two halves (rotate_half:
 * x[i] pairs with x[i + d/2]); GGUF (llama.cpp's "normal" rope) pairs neighbours
 * (x[2i], x[2i+1]). llama.cpp's converter therefore reorders the output rows of q_proj and
 * k_proj per head: GGUF row h*d + 2i + j is Hugging Face row h*d + j*d/2 + i.
 */
#ifndef LQ_LLAMA_MAP_H
#define LQ_LLAMA_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a Hugging Face tensor becomes in GGUF. */
struct lq_llama_tensor_map {
    char gguf_name[96];
    int permute_heads;   /* 0: no permutation; else the head count for the q/k row permutation */
    bool skip;           /* not stored in GGUF (rotary inv_freq buffers) */
};

/* Maps a Hugging Face Llama tensor name ("model.layers.3.self_attn.q_proj.weight") to its
 * GGUF name ("blk.3.attn_q.weight"). n_head / n_head_kv give the permutation head counts.
 * LQ_E_UNSUPPORTED (naming the tensor) for names outside the Llama layout. */
LQ_API lq_status lq_llama_map_hf_name(const char *hf_name, int n_head, int n_head_kv,
                                      struct lq_llama_tensor_map *out, struct lq_error *err);

/* The GGUF row that Hugging Face row `r` lands in, for rows of `n_head` heads. */
LQ_API int64_t lq_llama_permuted_row(int64_t r, int64_t n_rows, int n_head);

/* The inverse: the Hugging Face row that GGUF row `r` came from (for messages that must name
 * a position as it is in the source file). */
LQ_API int64_t lq_llama_unpermuted_row(int64_t r, int64_t n_rows, int n_head);

/* Copies rows (n_rows x row_bytes) from src to dst applying the q/k permutation. */
LQ_API void lq_llama_permute_rows(const void *src, void *dst, int64_t n_rows, size_t row_bytes,
                                  int n_head);

/* Llama 3.1 rope scaling as llama.cpp stores it: n_rot/2 per-frequency factors (the
 * rope_freqs.weight tensor). */
LQ_API void lq_llama3_rope_factors(float base, int n_rot, float factor, float low_freq_factor,
                                   float high_freq_factor, int original_context, float *out);

#ifdef __cplusplus
}
#endif
#endif /* LQ_LLAMA_MAP_H */
