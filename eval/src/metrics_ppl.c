/* metrics_ppl.c - per-token NLL, the perplexity accumulator and llama.cpp's 16-bit
 * log-probability rows (tools/perplexity/perplexity.cpp: log_softmax variants). */
#include "lq/metrics.h"

#include <math.h>
#include <string.h>

#include "lq/fp16.h"

double lq_nll(const float *logits, int64_t n_vocab, int32_t tok)
{
    float max = logits[0];
    for (int64_t i = 1; i < n_vocab; i++) {
        max = logits[i] > max ? logits[i] : max;
    }
    double sum = 0.0;
    for (int64_t i = 0; i < n_vocab; i++) {
        sum += expf(logits[i] - max);
    }
    return -((double)(logits[tok] - max) - log(sum));
}

void lq_ppl_add(struct lq_ppl *p, double nll)
{
    p->nll += nll;
    p->nll2 += nll * nll;
    p->count++;
}

double lq_ppl_value(const struct lq_ppl *p)
{
    return p->count > 0 ? exp(p->nll / (double)p->count) : 0.0;
}

double lq_ppl_error(const struct lq_ppl *p)
{
    if (p->count < 2) {
        return 0.0;
    }
    const double mean = p->nll / (double)p->count;
    const double var = p->nll2 / (double)p->count - mean * mean;
    return var > 0.0 ? exp(mean) * sqrt(var / (double)(p->count - 1)) : 0.0;
}

size_t lq_logprob_row_len(int64_t n_vocab)
{
    return (size_t)(2 * ((n_vocab + 1) / 2) + 4);
}

/* A float in two uint16 halves, low half first (llama.cpp's in-memory layout on LE hosts). */
static void put_f32(uint16_t *p, float v)
{
    const uint32_t b = lq_f32_bits(v);
    p[0] = (uint16_t)(b & 0xffff);
    p[1] = (uint16_t)(b >> 16);
}

double lq_logprob_encode(const float *logits, int64_t n_vocab, int32_t tok, uint16_t *row)
{
    float max = logits[0], min = logits[0];
    for (int64_t i = 1; i < n_vocab; i++) {
        max = logits[i] > max ? logits[i] : max;
        min = logits[i] < min ? logits[i] : min;
    }
    /* only the top 16 nats are kept: smaller probabilities all read back as e^-16 or less */
    min = min > max - 16 ? min : max - 16;
    double sum = 0.0;
    for (int64_t i = 0; i < n_vocab; i++) {
        sum += expf(logits[i] - max);
    }
    const float log_sum = (float)log(sum);
    const float min_log_prob = min - max - log_sum;
    const float scale = (max - min) / 65535.f;
    put_f32(row, scale);
    put_f32(row + 2, min_log_prob);
    uint16_t *q = row + 4;
    memset(q, 0, (lq_logprob_row_len(n_vocab) - 4) * sizeof *q);
    if (scale != 0.0f) {
        const float inv = 1 / scale;
        for (int64_t i = 0; i < n_vocab; i++) {
            /* round to nearest even, as llama.cpp's nearest_int */
            q[i] = logits[i] > min ? (uint16_t)lrintf(inv * (logits[i] - min)) : 0;
        }
    }
    return max + log_sum - logits[tok];
}
