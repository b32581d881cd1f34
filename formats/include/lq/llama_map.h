/*
 * lq/llama_map.h - the rotary row permutation of a Hugging Face Llama's q_proj/k_proj, and
 * Llama 3 rope factors (tensor names are in the family table, lq/family.h).
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
