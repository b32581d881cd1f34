/* forward_moe.c - the mixture-of-experts FFN (Mixtral, Qwen3-MoE) as llama.cpp's
 * build_moe_ffn computes it with softmax gating and normalised weights:
 *
 *   p = softmax(w_gate_inp · n)                 per token, over all experts
 *   chosen = the n_expert_used largest p, best first
 *   w = p[chosen] / max(sum p[chosen], 2^-14)   (the sum in double, as ggml_sum_rows)
 *   out_s = w_s * down_s · (silu(gate_s · n) * (up_s · n))   for each chosen expert s
 *   x += out_0 + out_1 + ...                    (added in the chosen order)
 *
 * Mixtral's "softmax over the top-2 logits" is the same numbers: the renormalised top-k of a
 * softmax. Each expert's matrices run once over the tokens routed to it; an expert observer
 * (calibration) sees each expert's inputs. */
#include "forward_impl.h"

#include <string.h>

#include "lqi.h"

/* ggml_clamp's floor for the weights' sum in build_moe_ffn: the smallest normal F16. */
#define MOE_MIN_WEIGHT_SUM 6.103515625e-5f

static void project(lq_model *m, float *y, const struct lqi_weight *w, const float *x, int64_t n)
{
    lqi_project(m, x, n, 1, &w, &y);
}

/* Token t's chosen experts (best first; the lower id first among equals) and weights. */
static void route(const lq_model *m, int64_t t)
{
    const int64_t nx = m->hp.n_expert, k = m->hp.n_expert_used;
    float *p = m->st.router + t * nx;
    int32_t *sel = m->st.sel + t * k;
    float *w = m->st.sel_w + t * k;
    lqi_softmax(p, nx);
    double sum = 0.0;
    for (int64_t s = 0; s < k; s++) {
        int32_t best = -1;
        for (int32_t e = 0; e < (int32_t)nx; e++) {
            bool taken = false;
            for (int64_t j = 0; j < s; j++) {
                taken |= sel[j] == e;
            }
            if (!taken && (best < 0 || p[e] > p[best])) {
                best = e;
            }
        }
        sel[s] = best;
        w[s] = p[best];
        sum += (double)w[s];
    }
    float fsum = (float)sum;
    fsum = fsum < MOE_MIN_WEIGHT_SUM ? MOE_MIN_WEIGHT_SUM : fsum;
    for (int64_t s = 0; s < k; s++) {
        w[s] = w[s] / fsum;
    }
}

/* Runs expert e over the tokens routed to it; their weighted outputs go to st->exp_out at
 * (token, slot). */
static lq_status run_expert(lq_model *m, int64_t il, int64_t e, int64_t n, struct lq_error *err)
{
    const struct lqi_layer *L = &m->layers[il];
    struct lqi_state *st = &m->st;
    const int64_t k = m->hp.n_expert_used, ne = m->hp.n_embd, nf = m->hp.n_ff_exp;
    int64_t cnt = 0;
    for (int64_t t = 0; t < n; t++) {
        for (int64_t s = 0; s < k; s++) {
            if (st->sel[t * k + s] == e) {
                st->rows[cnt] = t * k + s;
                memcpy(st->xe + cnt * ne, st->xb + t * ne, (size_t)ne * sizeof(float));
                cnt++;
            }
        }
    }
    if (cnt == 0) {
        return LQ_OK;
    }
    LQ_TRY(lqi_observe_expert(m, il, e, LQ_HOOK_FFN_IN, st->xe, st->rows, cnt, ne, err));
    const struct lqi_weight gate = lqi_expert_weight(m, L, LQ_LW_GATE, e);
    const struct lqi_weight up = lqi_expert_weight(m, L, LQ_LW_UP, e);
    const struct lqi_weight down = lqi_expert_weight(m, L, LQ_LW_DOWN, e);
    const struct lqi_weight *ws[] = { &gate, &up };
    float *const ys[] = { st->gate, st->up };
    lqi_project(m, st->xe, cnt, 2, ws, ys);
    for (int64_t r = 0; r < cnt; r++) {
        lqi_swiglu(st->gate + r * nf, st->up + r * nf, nf);
    }
    LQ_TRY(lqi_observe_expert(m, il, e, LQ_HOOK_FFN_DOWN, st->gate, st->rows, cnt, nf, err));
    project(m, st->proj, &down, st->gate, cnt);
    for (int64_t r = 0; r < cnt; r++) {
        const float w = st->sel_w[st->rows[r]];
        float *out = st->exp_out + st->rows[r] * ne;
        const float *y = st->proj + r * ne;
        for (int64_t i = 0; i < ne; i++) {
            out[i] = y[i] * w;
        }
    }
    return LQ_OK;
}

lq_status lqi_moe_ffn(lq_model *m, int64_t il, int64_t n, struct lq_error *err)
{
    const struct lqi_layer *L = &m->layers[il];
    struct lqi_state *st = &m->st;
    const int64_t k = m->hp.n_expert_used, ne = m->hp.n_embd;
    project(m, st->router, &L->w_gate_inp, st->xb, n);
    for (int64_t t = 0; t < n; t++) {
        route(m, t);
    }
    for (int64_t e = 0; e < m->hp.n_expert; e++) {
        LQ_TRY(run_expert(m, il, e, n, err));
    }
    /* a pass stopping at the down projections' inputs ends once every expert's were seen */
    LQ_TRY(lqi_stop_here(m, il, LQ_HOOK_FFN_DOWN));
    for (int64_t t = 0; t < n; t++) {
        float *sum = st->exp_out + t * k * ne; /* slot 0 accumulates the others, in order */
        for (int64_t s = 1; s < k; s++) {
            const float *o = st->exp_out + (t * k + s) * ne;
            for (int64_t i = 0; i < ne; i++) {
                sum[i] += o[i];
            }
        }
        for (int64_t i = 0; i < ne; i++) {
            st->x[t * ne + i] += sum[i];
        }
    }
    return LQ_OK;
}
