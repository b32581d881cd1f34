/* metrics_kld.c - KL divergence, same-top and Δp against stored base rows, with
 * llama.cpp's arithmetic (perplexity.cpp: kl_divergence_result, log_softmax with
 * base_log_prob, and the statistics printed by kl_divergence()). */
#include "lq/metrics.h"

#include <math.h>
#include <stdlib.h>

#include "lq/fp16.h"
#include "lqi.h"

struct lq_kld {
    int64_t n_vocab;
    double sum_nll, sum_nll2, sum_nll_base, sum_nll_base2, sum_nll_nll_base;
    double sum_kld, sum_kld2, sum_p_diff, sum_p_diff2, sum_p_diff4;
    int64_t n_same_top, count, cap;
    float *kld_values, *p_diff_values;
};

lq_status lq_kld_new(int64_t n_vocab, lq_kld **out, struct lq_error *err)
{
    LQ_FAIL_IF(!out || n_vocab < 1, err, LQ_E_INVALID_ARG, "kld: bad arguments");
    *out = lqi_calloc(1, sizeof **out);
    LQ_FAIL_IF(!*out, err, LQ_E_NOMEM, "kld: out of memory");
    (*out)->n_vocab = n_vocab;
    return LQ_OK;
}

void lq_kld_free(lq_kld *k)
{
    if (k) {
        lqi_free(k->kld_values);
        lqi_free(k->p_diff_values);
        lqi_free(k);
    }
}

static float get_f32(const uint16_t *p)
{
    return lq_f32_from_bits((uint32_t)p[0] | ((uint32_t)p[1] << 16));
}

static lq_status grow(lq_kld *k, struct lq_error *err)
{
    if (k->count < k->cap) {
        return LQ_OK;
    }
    const int64_t cap = k->cap ? 2 * k->cap : 4096;
    float *a = lqi_realloc(k->kld_values, (size_t)cap * sizeof(float));
    LQ_FAIL_IF(!a, err, LQ_E_NOMEM, "kld: out of memory");
    k->kld_values = a;
    float *b = lqi_realloc(k->p_diff_values, (size_t)cap * sizeof(float));
    LQ_FAIL_IF(!b, err, LQ_E_NOMEM, "kld: out of memory");
    k->p_diff_values = b;
    k->cap = cap;
    return LQ_OK;
}

/* Σ p_base (log p_base - log p) over the base window, and whether both argmaxes agree.
 * max_plus_lse is max logit + log Σ exp(logit - max) of the evaluated model. */
static double kl_sum(const lq_kld *k, const float *logits, const uint16_t *row, float max_plus_lse,
                     int64_t imax, bool *same_top)
{
    const float scale = get_f32(row), min_log_prob = get_f32(row + 2);
    const uint16_t *q = row + 4;
    double sum = 0.0;
    int64_t imax_base = -1;
    float best = 0.0f;
    for (int64_t i = 0; i < k->n_vocab; i++) {
        const float lp_base = scale * q[i] + min_log_prob;
        if (i == 0 || lp_base > best) {
            best = lp_base;
            imax_base = i;
        }
        if (lp_base > -16.f) {
            sum += expf(lp_base) * (lp_base - logits[i] + max_plus_lse);
        }
    }
    *same_top = imax == imax_base;
    return sum;
}

lq_status lq_kld_add(lq_kld *k, const float *logits, const uint16_t *row, int32_t tok,
                     struct lq_error *err)
{
    LQ_FAIL_IF(!k || !logits || !row || tok < 0 || tok >= k->n_vocab, err, LQ_E_INVALID_ARG,
               "kld: bad arguments (token %d)", (int)tok);
    LQ_TRY(grow(k, err));
    float max = logits[0];
    int64_t imax = 0;
    for (int64_t i = 1; i < k->n_vocab; i++) {
        if (logits[i] > max) {
            max = logits[i];
            imax = i;
        }
    }
    double se = 0.0;
    for (int64_t i = 0; i < k->n_vocab; i++) {
        se += expf(logits[i] - max);
    }
    const float lse = (float)log(se);
    const float nll = max + lse - logits[tok];
    const float nll_base = -(get_f32(row) * row[4 + tok] + get_f32(row + 2));
    k->sum_nll += nll;
    k->sum_nll2 += nll * nll;
    k->sum_nll_base += nll_base;
    k->sum_nll_base2 += nll_base * nll_base;
    k->sum_nll_nll_base += nll * nll_base;
    bool same;
    const double kl = kl_sum(k, logits, row, max + lse, imax, &same);
    k->sum_kld += kl;
    k->sum_kld2 += kl * kl;
    k->n_same_top += same;
    const float p_diff = expf(-nll) - expf(-nll_base);
    const double p_diff2 = p_diff * p_diff;
    k->sum_p_diff += p_diff;
    k->sum_p_diff2 += p_diff2;
    k->sum_p_diff4 += p_diff2 * p_diff2;
    k->kld_values[k->count] = (float)kl;
    k->p_diff_values[k->count] = p_diff;
    k->count++;
    return LQ_OK;
}

// ---- statistics ---------------------------------------------------------------------------

/* Mean and its standard error, as llama.cpp's mean_and_uncertainty (no error below 11). */
static void mean_err(double sum, double sum2, int64_t n, double *mean, double *unc)
{
    *mean = n > 0 ? sum / (double)n : 0.0;
    const double var = n > 0 ? sum2 / (double)n - *mean * *mean : 0.0;
    *unc = var > 0 && n > 10 ? sqrt(var / (double)(n - 1)) : 0.0;
}

static double covariance(double sa, double sb, double sab, int64_t n)
{
    if (n < 10) {
        return 0.0;
    }
    return (sab / (double)n - (sa / (double)n) * (sb / (double)n)) / (double)(n - 1);
}

static int cmp_float(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static double pct(const float *v, int64_t n, float fraction)
{
    float p = fraction * (float)(n - 1);
    const int64_t ip = (int64_t)p;
    p -= (float)ip;
    return (1 - p) * v[ip] + p * v[ip + 1 < n ? ip + 1 : n - 1];
}

/* Percentiles of n values (sorted in place). */
static void dist_of(float *v, int64_t n, struct lq_dist *d)
{
    qsort(v, (size_t)n, sizeof *v, cmp_float);
    d->min = v[0];
    d->max = v[n - 1];
    d->median = n % 2 == 0 ? 0.5f * (v[n / 2] + v[n / 2 - 1]) : v[n / 2];
    d->p999 = pct(v, n, 0.999f);
    d->p99 = pct(v, n, 0.990f);
    d->p95 = pct(v, n, 0.950f);
    d->p90 = pct(v, n, 0.900f);
    d->p75 = pct(v, n, 0.750f);
    d->p25 = pct(v, n, 0.250f);
    d->p10 = pct(v, n, 0.100f);
    d->p05 = pct(v, n, 0.050f);
    d->p01 = pct(v, n, 0.010f);
    d->p001 = pct(v, n, 0.001f);
}

static void ppl_stats(const lq_kld *k, struct lq_kld_report *r)
{
    double lq, lq_unc, lb, lb_unc;
    mean_err(k->sum_nll, k->sum_nll2, k->count, &lq, &lq_unc);
    mean_err(k->sum_nll_base, k->sum_nll_base2, k->count, &lb, &lb_unc);
    const double cov = covariance(k->sum_nll, k->sum_nll_base, k->sum_nll_nll_base, k->count);
    r->ppl = exp(lq);
    r->ppl_err = r->ppl * lq_unc;
    r->ppl_base = exp(lb);
    r->ppl_base_err = r->ppl_base * lb_unc;
    r->cor = lq_unc > 0 && lb_unc > 0 ? cov / (lq_unc * lb_unc) : 0.0;
    r->ln_ratio = lq - lb;
    const double v = lq_unc * lq_unc + lb_unc * lb_unc - 2.0 * cov;
    r->ln_ratio_err = v > 0 ? sqrt(v) : 0.0;
    r->ratio = exp(r->ln_ratio);
    r->ratio_err = r->ratio * r->ln_ratio_err;
    r->diff = r->ppl - r->ppl_base;
    const double dv = r->ppl_err * r->ppl_err + r->ppl_base_err * r->ppl_base_err -
                      2.0 * r->ppl * r->ppl_base * cov;
    r->diff_err = dv > 0 ? sqrt(dv) : 0.0;
}

lq_status lq_kld_report(const lq_kld *k, struct lq_kld_report *r, struct lq_error *err)
{
    LQ_FAIL_IF(!k || !r, err, LQ_E_INVALID_ARG, "kld: NULL argument");
    LQ_FAIL_IF(k->count < 1, err, LQ_E_INVALID_ARG, "kld: no tokens scored");
    *r = (struct lq_kld_report){ .count = k->count };
    ppl_stats(k, r);
    mean_err(k->sum_kld, k->sum_kld2, k->count, &r->kld, &r->kld_err);
    mean_err(k->sum_p_diff, k->sum_p_diff2, k->count, &r->dp, &r->dp_err);
    double mse, mse_unc;
    mean_err(k->sum_p_diff2, k->sum_p_diff4, k->count, &mse, &mse_unc);
    r->dp_rms = sqrt(mse);
    r->dp_rms_err = r->dp_rms > 0 ? 0.5 / r->dp_rms * mse_unc : 0.0;
    r->same_top = (double)k->n_same_top / (double)k->count;
    r->same_top_err = k->count > 1 ? sqrt(r->same_top * (1.0 - r->same_top) /
                                          (double)(k->count - 1))
                                   : 0.0;
    float *tmp = lqi_malloc((size_t)k->count * sizeof(float));
    LQ_FAIL_IF(!tmp, err, LQ_E_NOMEM, "kld: out of memory");
    for (int64_t i = 0; i < k->count; i++) {
        tmp[i] = k->kld_values[i];
    }
    dist_of(tmp, k->count, &r->kld_dist);
    for (int64_t i = 0; i < k->count; i++) {
        tmp[i] = k->p_diff_values[i];
    }
    dist_of(tmp, k->count, &r->dp_dist);
    lqi_free(tmp);
    return LQ_OK;
}
