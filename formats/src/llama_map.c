/* llama_map.c - Hugging Face Llama -> GGUF: q/k row permutation, Llama 3 rope factors. */
#include "lq/llama_map.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lqi.h"

int64_t lq_llama_permuted_row(int64_t r, int64_t n_rows, int n_head)
{
    int64_t d = n_rows / n_head; /* rows per head */
    int64_t h = r / d, k = r % d;
    int64_t j = k / (d / 2), i = k % (d / 2); /* HF row: half j, index i */
    return h * d + 2 * i + j;
}

int64_t lq_llama_unpermuted_row(int64_t r, int64_t n_rows, int n_head)
{
    int64_t d = n_rows / n_head;
    int64_t h = r / d, k = r % d;
    int64_t i = k / 2, j = k % 2; /* GGUF row 2i + j of the head holds HF half j, index i */
    return h * d + j * (d / 2) + i;
}

void lq_llama_permute_rows(const void *src, void *dst, int64_t n_rows, size_t row_bytes,
                           int n_head)
{
    const unsigned char *s = src;
    unsigned char *o = dst;
    for (int64_t r = 0; r < n_rows; r++) {
        int64_t to = lq_llama_permuted_row(r, n_rows, n_head);
        memcpy(o + (size_t)to * row_bytes, s + (size_t)r * row_bytes, row_bytes);
    }
}

void lq_llama3_rope_factors(float base, int n_rot, float factor, float low_freq_factor,
                            float high_freq_factor, int original_context, float *out)
{
    /* as llama.cpp's converter: frequencies in float32, the smoothing in double */
    double low_wavelen = original_context / (double)low_freq_factor;
    double high_wavelen = original_context / (double)high_freq_factor;
    for (int i = 0; i < n_rot / 2; i++) {
        float freq = 1.0f / powf(base, (float)(2 * i) / (float)n_rot);
        double wavelen = 2.0 * M_PI / (double)freq;
        double f;
        if (wavelen < high_wavelen) {
            f = 1.0;
        } else if (wavelen > low_wavelen) {
            f = factor;
        } else {
            double smooth = (original_context / wavelen - low_freq_factor) /
                            (high_freq_factor - low_freq_factor);
            f = 1.0 / ((1.0 - smooth) / factor + smooth);
        }
        out[i] = (float)f;
    }
}
