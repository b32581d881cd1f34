/* test_forward.c - the Llama forward pass against an independent double-precision reference.
 *
 * Tiny models are built in memory (lq_model_open_source) from seeded random weights. The
 * reference below recomputes the forward pass in double straight from the definitions
 * (RMSNorm, RoPE by powers, softmax attention, SwiGLU), modelling only the rounding that is
 * part of llama.cpp's semantics: K/V stored as F16, and matrix inputs converted to the dot
 * kernel's activation type (F16 for F16 weights, Q8_x for quantized ones). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/fp16.h"
#include "lq/model.h"
#include "lq/simd.h"
#include "lq/types.h"
#include "lqt_util.h"

// ---- a tiny model in memory ---------------------------------------------------------------

#define MAX_TENSORS 64

struct tmodel {
    struct lq_model_hparams hp;
    enum lq_type wtype;            /* type of the matrices */
    bool tied;                     /* no output.weight */
    bool freqs;                    /* rope_freqs.weight present */
    int n;
    char names[MAX_TENSORS][48];
    struct lq_model_tensor t[MAX_TENSORS];
    float *f32[MAX_TENSORS];       /* the stored values, dequantized */
    void *data[MAX_TENSORS];
    int closed;                    /* times the source was closed */
};

static uint64_t rng_state;

static double urand(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Adds a tensor (n0, n1) of values around center with spread amp, stored as type. */
static void add_tensor(struct tmodel *tm, const char *name, int64_t n0, int64_t n1,
                       enum lq_type type, double center, double amp)
{
    const int i = tm->n++;
    assert_true(i < MAX_TENSORS);
    snprintf(tm->names[i], sizeof tm->names[i], "%s", name);
    const int64_t n = n0 * n1;
    float *v = malloc((size_t)n * sizeof(float));
    for (int64_t k = 0; k < n; k++) {
        v[k] = (float)(center + amp * (2.0 * urand() - 1.0));
    }
    const struct lq_type_traits *tr = lq_type_traits_get(type);
    const size_t nbytes = lq_row_size(type, n0) * (size_t)n1;
    void *d = malloc(nbytes);
    for (int64_t r = 0; r < n1; r++) {
        tr->from_float_ref(v + r * n0, (char *)d + r * lq_row_size(type, n0), n0);
        tr->to_float((char *)d + r * lq_row_size(type, n0), v + r * n0, n0);
    }
    tm->t[i] = (struct lq_model_tensor){ .type = type, .ne = { n0, n1, 1, 1 }, .data = d,
                                         .nbytes = nbytes };
    tm->f32[i] = v;
    tm->data[i] = d;
}

static const float *tvals(const struct tmodel *tm, const char *name)
{
    for (int i = 0; i < tm->n; i++) {
        if (strcmp(tm->names[i], name) == 0) {
            return tm->f32[i];
        }
    }
    return NULL;
}

static void tmodel_build(struct tmodel *tm, const struct lq_model_hparams *hp, enum lq_type wtype,
                         bool tied, bool freqs, uint64_t seed)
{
    memset(tm, 0, sizeof *tm);
    tm->hp = *hp;
    tm->wtype = wtype;
    tm->tied = tied;
    tm->freqs = freqs;
    rng_state = seed;
    const int64_t e = hp->n_embd, qd = hp->n_head * hp->n_embd_head;
    const int64_t kvd = hp->n_head_kv * hp->n_embd_head;
    const double wa = 1.0 / sqrt((double)e);
    add_tensor(tm, "token_embd.weight", e, hp->n_vocab, wtype, 0.0, 1.0);
    for (int64_t l = 0; l < hp->n_layer; l++) {
        char nm[48];
#define T(sfx, n0, n1, ty, c, a)                                                               \
    (snprintf(nm, sizeof nm, "blk.%lld." sfx, (long long)l), add_tensor(tm, nm, n0, n1, ty, c, a))
        T("attn_norm.weight", e, 1, LQ_TYPE_F32, 1.0, 0.2);
        T("attn_q.weight", e, qd, wtype, 0.0, 2.0 * wa);
        T("attn_k.weight", e, kvd, wtype, 0.0, 2.0 * wa);
        T("attn_v.weight", e, kvd, wtype, 0.0, wa);
        T("attn_output.weight", qd, e, wtype, 0.0, wa);
        T("ffn_norm.weight", e, 1, LQ_TYPE_F32, 1.0, 0.2);
        T("ffn_gate.weight", e, hp->n_ff, wtype, 0.0, 2.0 * wa);
        T("ffn_up.weight", e, hp->n_ff, wtype, 0.0, wa);
        T("ffn_down.weight", hp->n_ff, e, wtype, 0.0, 1.0 / sqrt((double)hp->n_ff));
#undef T
    }
    add_tensor(tm, "output_norm.weight", e, 1, LQ_TYPE_F32, 1.0, 0.2);
    if (!tied) {
        add_tensor(tm, "output.weight", e, hp->n_vocab, wtype, 0.0, wa);
    }
    if (freqs) {
        add_tensor(tm, "rope_freqs.weight", hp->n_rot / 2, 1, LQ_TYPE_F32, 3.0, 2.0);
    }
}

static void tmodel_free(struct tmodel *tm)
{
    for (int i = 0; i < tm->n; i++) {
        free(tm->f32[i]);
        free(tm->data[i]);
    }
}

static bool tm_find(void *user, const char *name, struct lq_model_tensor *out)
{
    struct tmodel *tm = user;
    for (int i = 0; i < tm->n; i++) {
        if (strcmp(tm->names[i], name) == 0) {
            *out = tm->t[i];
            return true;
        }
    }
    return false;
}

static void tm_close(void *user)
{
    ((struct tmodel *)user)->closed++;
}

static lq_model *open_tm(struct tmodel *tm, int64_t n_ctx)
{
    const struct lq_model_source src = { .name = "tiny", .user = tm, .find_tensor = tm_find,
                                         .close = tm_close };
    struct lq_model_params p = lq_model_params_default();
    p.n_ctx = n_ctx;
    p.n_threads = 2;
    lq_model *m = NULL;
    struct lq_error err = { 0 };
    lq_status rc = lq_model_open_source(&tm->hp, &src, &p, &m, &err);
    if (rc != LQ_OK) {
        fail_msg("open: %s", err.msg);
    }
    return m;
}

static struct lq_model_hparams small_hparams(void)
{
    return (struct lq_model_hparams){
        .n_vocab = 16, .n_embd = 8, .n_layer = 2, .n_ff = 12, .n_head = 2, .n_head_kv = 1,
        .n_embd_head = 4, .n_rot = 4, .n_ctx_train = 32, .norm_eps = 1e-5f,
        .rope_freq_base = 10000.0f, .rope_freq_scale = 1.0f, .rope_type = LQ_ROPE_NORMAL,
        .bos_token_id = 1, .add_bos = true,
    };
}

// ---- the double-precision reference -------------------------------------------------------

static const struct tmodel *cur_tm; /* the model ref_forward() is computing */

/* Rounds a matrix input as the weight type's dot kernel sees it; for Q8_x activations the
 * quantized row is left in *act (caller frees), else *act is NULL. */
static void round_input(double *x, int64_t n, enum lq_type wtype, unsigned char **act)
{
    const struct lq_type_traits *tr = lq_type_traits_get(wtype);
    float *f = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        f[i] = (float)x[i];
    }
    *act = NULL;
    if (wtype == LQ_TYPE_F16 || wtype == LQ_TYPE_BF16) {
        for (int64_t i = 0; i < n; i++) {
            f[i] = wtype == LQ_TYPE_F16 ? lq_fp16_to_fp32(lq_fp32_to_fp16(f[i]))
                                        : lq_bf16_to_fp32(lq_fp32_to_bf16(f[i]));
        }
    } else if (tr->vec_dot) {
        const struct lq_type_traits *at = lq_type_traits_get(tr->vec_dot_type);
        *act = malloc(lq_row_size(tr->vec_dot_type, n));
        at->from_float_ref(f, *act, n);
        at->to_float(*act, f, n);
    }
    for (int64_t i = 0; i < n; i++) {
        x[i] = f[i];
    }
    free(f);
}

static float half_at(const unsigned char *p)
{
    return lq_fp16_to_fp32((uint16_t)(p[0] | p[1] << 8));
}

/* The Q4_1/Q5_1 x Q8_1 product is sum(d q * d8 q8) + m * s8 per 32-block, where s8 is the
 * activation block's stored F16 value of d8 * sum(q8), not the exact sum of its values:
 * this returns that difference, m * (s8 - sum(y)), summed over row r's blocks. */
static double q8_1_correction(const float *w, int64_t r, int64_t n_in, enum lq_type wtype,
                              const unsigned char *act, const double *y)
{
    const unsigned char *raw = NULL;
    for (int i = 0; i < cur_tm->n; i++) {
        raw = cur_tm->f32[i] == w ? cur_tm->data[i] : raw;
    }
    assert_non_null(raw);
    const size_t ts = lq_type_traits_get(wtype)->type_size;
    const unsigned char *row = raw + (size_t)r * lq_row_size(wtype, n_in);
    double c = 0;
    for (int64_t b = 0; b < n_in / 32; b++) {
        double sum = 0;
        for (int64_t j = 0; j < 32; j++) {
            sum += y[32 * b + j];
        }
        /* q4_1 / q5_1 blocks: d, m (F16) first; q8_1 blocks (36 bytes): d, s (F16) first */
        c += (double)half_at(row + b * ts + 2) * ((double)half_at(act + b * 36 + 2) - sum);
    }
    return c;
}

/* y (n_out) = W (n_out rows of n_in) x, with x rounded for the weight type first. */
static void ref_matvec(double *y, const float *w, const double *x_in, int64_t n_in, int64_t n_out,
                       enum lq_type wtype)
{
    double *x = malloc((size_t)n_in * sizeof(double));
    memcpy(x, x_in, (size_t)n_in * sizeof(double));
    unsigned char *act;
    round_input(x, n_in, wtype, &act);
    const bool q8_1 = act && lq_type_traits_get(wtype)->vec_dot_type == LQ_TYPE_Q8_1;
    for (int64_t r = 0; r < n_out; r++) {
        double s = 0;
        for (int64_t k = 0; k < n_in; k++) {
            s += (double)w[r * n_in + k] * x[k];
        }
        y[r] = s + (q8_1 ? q8_1_correction(w, r, n_in, wtype, act, x) : 0.0);
    }
    free(act);
    free(x);
}

static void ref_rmsnorm(double *y, const double *x, const float *w, int64_t n, double eps)
{
    double ss = 0;
    for (int64_t i = 0; i < n; i++) {
        ss += x[i] * x[i];
    }
    const double s = 1.0 / sqrt(ss / (double)n + eps);
    for (int64_t i = 0; i < n; i++) {
        y[i] = x[i] * s * w[i];
    }
}

/* Mode-0 RoPE by definition: pair (2i, 2i+1) turned by pos * base^(-2i/n_rot) * scale / f_i. */
static void ref_rope(double *x, int64_t n_head, int64_t hd, int64_t pos,
                     const struct lq_model_hparams *hp, const float *freqs)
{
    for (int64_t h = 0; h < n_head; h++) {
        for (int64_t i = 0; i < hp->n_rot / 2; i++) {
            double th = (double)pos * pow(hp->rope_freq_base, -2.0 * (double)i / (double)hp->n_rot);
            th = th * hp->rope_freq_scale / (freqs ? freqs[i] : 1.0);
            double *p = x + h * hd + 2 * i;
            const double a = p[0], b = p[1];
            p[0] = a * cos(th) - b * sin(th);
            p[1] = a * sin(th) + b * cos(th);
        }
    }
}

static double f16_round(double v)
{
    return lq_fp16_to_fp32(lq_fp32_to_fp16((float)v));
}

struct ref_ws {
    double *x, *xn, *q, *k, *v, *att, *tmp, *g, *u, *kc, *vc;
};

/* Attention of token t (all heads) over cached rows 0 .. t into ws->att. */
static void ref_attend(const struct lq_model_hparams *hp, struct ref_ws *ws, int64_t t)
{
    const int64_t hd = hp->n_embd_head, kvd = hp->n_head_kv * hd;
    double *sc = malloc((size_t)(t + 1) * sizeof(double));
    for (int64_t h = 0; h < hp->n_head; h++) {
        const int64_t kh = h / (hp->n_head / hp->n_head_kv);
        double mx = -INFINITY, sum = 0;
        for (int64_t j = 0; j <= t; j++) {
            double s = 0;
            for (int64_t d = 0; d < hd; d++) {
                s += ws->q[h * hd + d] * ws->kc[j * kvd + kh * hd + d];
            }
            sc[j] = s / sqrt((double)hd);
            mx = fmax(mx, sc[j]);
        }
        for (int64_t j = 0; j <= t; j++) {
            sc[j] = exp(sc[j] - mx);
            sum += sc[j];
        }
        for (int64_t d = 0; d < hd; d++) {
            double o = 0;
            for (int64_t j = 0; j <= t; j++) {
                o += sc[j] / sum * ws->vc[j * kvd + kh * hd + d];
            }
            ws->att[h * hd + d] = o;
        }
    }
    free(sc);
}

/* One layer for token t at position t (ws->x is the token's residual stream). */
static void ref_layer(const struct tmodel *tm, struct ref_ws *ws, int64_t l, int64_t t)
{
    const struct lq_model_hparams *hp = &tm->hp;
    const int64_t e = hp->n_embd, hd = hp->n_embd_head;
    const int64_t qd = hp->n_head * hd, kvd = hp->n_head_kv * hd;
    char nm[48];
#define W(sfx) (snprintf(nm, sizeof nm, "blk.%lld." sfx, (long long)l), tvals(tm, nm))
    ref_rmsnorm(ws->xn, ws->x, W("attn_norm.weight"), e, hp->norm_eps);
    ref_matvec(ws->q, W("attn_q.weight"), ws->xn, e, qd, tm->wtype);
    ref_matvec(ws->k, W("attn_k.weight"), ws->xn, e, kvd, tm->wtype);
    ref_matvec(ws->v, W("attn_v.weight"), ws->xn, e, kvd, tm->wtype);
    const float *fr = tm->freqs ? tvals(tm, "rope_freqs.weight") : NULL;
    ref_rope(ws->q, hp->n_head, hd, t, hp, fr);
    ref_rope(ws->k, hp->n_head_kv, hd, t, hp, fr);
    double *kc = ws->kc + (size_t)l * 64 * kvd, *vc = ws->vc + (size_t)l * 64 * kvd;
    for (int64_t d = 0; d < kvd; d++) {
        kc[t * kvd + d] = f16_round(ws->k[d]);
        vc[t * kvd + d] = f16_round(ws->v[d]);
    }
    struct ref_ws lw = *ws;
    lw.kc = kc;
    lw.vc = vc;
    ref_attend(hp, &lw, t);
    ref_matvec(ws->tmp, W("attn_output.weight"), ws->att, qd, e, tm->wtype);
    for (int64_t i = 0; i < e; i++) {
        ws->x[i] += ws->tmp[i];
    }
    ref_rmsnorm(ws->xn, ws->x, W("ffn_norm.weight"), e, hp->norm_eps);
    ref_matvec(ws->g, W("ffn_gate.weight"), ws->xn, e, hp->n_ff, tm->wtype);
    ref_matvec(ws->u, W("ffn_up.weight"), ws->xn, e, hp->n_ff, tm->wtype);
    for (int64_t i = 0; i < hp->n_ff; i++) {
        ws->g[i] = ws->g[i] / (1.0 + exp(-ws->g[i])) * ws->u[i];
    }
    ref_matvec(ws->tmp, W("ffn_down.weight"), ws->g, hp->n_ff, e, tm->wtype);
#undef W
    for (int64_t i = 0; i < e; i++) {
        ws->x[i] += ws->tmp[i];
    }
}

/* Logits (n, n_vocab) of tokens 0 .. n-1 at positions 0 .. n-1 (n <= 64). */
static double *ref_forward(const struct tmodel *tm, const int32_t *tokens, int64_t n)
{
    const struct lq_model_hparams *hp = &tm->hp;
    const int64_t e = hp->n_embd, big = hp->n_ff > e ? hp->n_ff : e;
    const int64_t qd = hp->n_head * hp->n_embd_head;
    const int64_t kvd = hp->n_head_kv * hp->n_embd_head;
    struct ref_ws ws;
    double **bufs[] = { &ws.x, &ws.xn, &ws.q, &ws.k, &ws.v, &ws.att, &ws.tmp, &ws.g, &ws.u };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        *bufs[i] = calloc((size_t)(big > qd ? big : qd), sizeof(double));
    }
    ws.kc = calloc((size_t)(hp->n_layer * 64 * kvd), sizeof(double));
    ws.vc = calloc((size_t)(hp->n_layer * 64 * kvd), sizeof(double));
    double *logits = calloc((size_t)(n * hp->n_vocab), sizeof(double));
    cur_tm = tm;
    const float *emb = tvals(tm, "token_embd.weight");
    const float *out = tm->tied ? emb : tvals(tm, "output.weight");
    for (int64_t t = 0; t < n; t++) {
        for (int64_t i = 0; i < e; i++) {
            ws.x[i] = emb[tokens[t] * e + i];
        }
        for (int64_t l = 0; l < hp->n_layer; l++) {
            ref_layer(tm, &ws, l, t);
        }
        ref_rmsnorm(ws.xn, ws.x, tvals(tm, "output_norm.weight"), e, hp->norm_eps);
        ref_matvec(logits + t * hp->n_vocab, out, ws.xn, e, hp->n_vocab, tm->wtype);
    }
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        free(*bufs[i]);
    }
    free(ws.kc);
    free(ws.vc);
    return logits;
}

// ---- helpers ------------------------------------------------------------------------------

static float *run(lq_model *m, const int32_t *tokens, int64_t n, int64_t pos, int64_t n_out)
{
    const int64_t nv = lq_model_get_hparams(m)->n_vocab;
    float *logits = calloc((size_t)(n_out * nv + 1), sizeof(float));
    const struct lq_batch b = { .tokens = tokens, .n_tokens = n, .pos = pos, .n_out = n_out,
                                .logits = logits };
    struct lq_error err = { 0 };
    if (lq_model_forward(m, &b, &err) != LQ_OK) {
        fail_msg("forward: %s", err.msg);
    }
    return logits;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* |a - b| over n values relative to the largest |b| (at least 1): the maximum and the
 * median. */
static void diffs(const float *a, const double *b, int64_t n, double *max, double *median)
{
    double *d = malloc((size_t)n * sizeof(double)), mx = 1;
    for (int64_t i = 0; i < n; i++) {
        d[i] = fabs((double)a[i] - b[i]);
        mx = fmax(mx, fabs(b[i]));
    }
    qsort(d, (size_t)n, sizeof *d, cmp_double);
    *max = d[n - 1] / mx;
    *median = d[n / 2] / mx;
    free(d);
}

/* Float models must match the reference at every logit. */
static void check_against_reference(struct tmodel *tm, double tol)
{
    const int32_t tokens[] = { 1, 5, 9, 2, 14, 7, 3, 3, 11 };
    const int64_t n = sizeof tokens / sizeof tokens[0];
    lq_model *m = open_tm(tm, 32);
    float *got = run(m, tokens, n, 0, n);
    double *want = ref_forward(tm, tokens, n);
    double dmax, dmed;
    diffs(got, want, n * tm->hp.n_vocab, &dmax, &dmed);
    printf("  %s weights (embd %lld): relative logit difference max %.3g, median %.3g\n",
           lq_type_name(tm->wtype), (long long)tm->hp.n_embd, dmax, dmed);
    assert_true(dmax < tol);
    free(got);
    free(want);
    lq_model_free(m);
    assert_int_equal(tm->closed, 1);
}

/* With 8-bit activations a rounding boundary can fall between the float forward pass and
 * the double reference; that one element then moves by a whole quantization step and, via
 * the KV cache, every later position with it. So quantized models are checked one token at
 * a time from position 0: most tokens must match closely (no boundary hit), all loosely.
 * Leaving the activations unquantized, or quantizing them to the wrong type, moves every
 * token by far more than 1e-4. */
static void check_tokens_against_reference(struct tmodel *tm)
{
    const int n = 16;
    lq_model *m = open_tm(tm, 4);
    int close = 0;
    double worst = 0;
    for (int32_t t = 0; t < n; t++) {
        float *got = run(m, &t, 1, 0, 1);
        double *want = ref_forward(tm, &t, 1);
        double dmax, dmed;
        diffs(got, want, tm->hp.n_vocab, &dmax, &dmed);
        close += dmax < 1e-4;
        worst = fmax(worst, dmax);
        free(got);
        free(want);
    }
    printf("  %s weights (embd %lld): %d of %d tokens within 1e-4, worst %.3g\n",
           lq_type_name(tm->wtype), (long long)tm->hp.n_embd, close, n, worst);
    assert_true(close >= 3 * n / 4);
    assert_true(worst < 5e-2);
    lq_model_free(m);
}

// ---- tests: whole forward pass ------------------------------------------------------------

static void test_forward_reference_f32(void **state)
{
    (void)state;
    struct tmodel tm;
    const struct lq_model_hparams hp = small_hparams();
    tmodel_build(&tm, &hp, LQ_TYPE_F32, false, false, 42);
    check_against_reference(&tm, 1e-5);
    tmodel_free(&tm);
}

/* F16 weights with a tied output head and Llama 3.1 frequency factors. */
static void test_forward_reference_f16_tied_freqs(void **state)
{
    (void)state;
    struct tmodel tm;
    struct lq_model_hparams hp = small_hparams();
    hp.n_head_kv = 2;
    hp.rope_freq_base = 500000.0f;
    tmodel_build(&tm, &hp, LQ_TYPE_F16, true, true, 7);
    check_against_reference(&tm, 1e-5);
    tmodel_free(&tm);
}

/* Every type with a dot kernel in the type table, on a model whose rows fit 256-blocks. */
static void test_forward_reference_quantized(void **state)
{
    (void)state;
    struct lq_model_hparams hp = small_hparams();
    hp.n_embd = 256;
    hp.n_ff = 512;
    hp.n_head = 4;
    hp.n_head_kv = 2;
    hp.n_embd_head = 64;
    hp.n_rot = 64;
    hp.n_vocab = 32;
    int n_types = 0;
    for (int ty = 0; ty < LQ_TYPE_COUNT; ty++) {
        const struct lq_type_traits *tr = lq_type_traits_get(ty);
        if (!tr || !tr->vec_dot || !tr->from_float_ref || !tr->to_float ||
            256 % tr->blck_size != 0 || ty == LQ_TYPE_Q8_K) {
            continue;
        }
        struct tmodel tm;
        tmodel_build(&tm, &hp, (enum lq_type)ty, false, false, 1000 + ty);
        check_tokens_against_reference(&tm);
        tmodel_free(&tm);
        n_types++;
    }
    printf("  %d quantized types checked\n", n_types);
}

static void test_forward_batched_equals_sequential(void **state)
{
    (void)state;
    struct tmodel tm;
    const struct lq_model_hparams hp = small_hparams();
    tmodel_build(&tm, &hp, LQ_TYPE_F16, false, false, 3);
    const int32_t tokens[] = { 1, 4, 4, 15, 0, 8, 2 };
    const int64_t n = 7, nv = hp.n_vocab;
    lq_model *m = open_tm(&tm, 16);
    float *batched = run(m, tokens, n, 0, n);
    /* the same tokens one at a time, then in two uneven pieces */
    for (int64_t t = 0; t < n; t++) {
        float *one = run(m, tokens + t, 1, t, 1);
        for (int64_t i = 0; i < nv; i++) {
            assert_float_equal(one[i], batched[t * nv + i], 1e-5);
        }
        free(one);
    }
    float *a = run(m, tokens, 3, 0, 3);
    float *b = run(m, tokens + 3, 4, 3, 2);
    for (int64_t i = 0; i < 2 * nv; i++) {
        assert_float_equal(b[i], batched[5 * nv + i], 1e-5);
    }
    free(a);
    free(b);
    free(batched);
    lq_model_free(m);
    tmodel_free(&tm);
}

/* A batch of LQI_GEMM_MIN_ROWS tokens or more takes the tiled GEMM, one token the row dots;
 * both multiply the same values (only the float rounding of the sums differs), at every SIMD
 * level. Dimensions with tails (n_embd 10, n_ff 14, 21 output rows, 19 tokens: partial
 * token tiles and weight panels) reach every path of the kernels. */
static void test_forward_gemm_matches_rows(void **state)
{
    (void)state;
    struct lq_model_hparams hp = small_hparams();
    hp.n_embd = 10;
    hp.n_ff = 14;
    hp.n_vocab = 21;
    const enum lq_type types[] = { LQ_TYPE_F32, LQ_TYPE_F16, LQ_TYPE_BF16 };
    int32_t tokens[19];
    for (int i = 0; i < 19; i++) {
        tokens[i] = (int32_t)((i * 7 + 3) % 21);
    }
    const int64_t n = 19, nv = hp.n_vocab;
    const enum lq_simd_level top = lq_simd_level_get();
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        struct tmodel tm;
        tmodel_build(&tm, &hp, types[k], false, false, 77 + (uint64_t)k);
        lq_model *m = open_tm(&tm, 32);
        for (int lv = (int)top; lv >= 0; lv--) {
            assert_int_equal(lq_simd_level_set((enum lq_simd_level)lv, NULL), LQ_OK);
            float *batched = run(m, tokens, n, 0, n);
            for (int64_t t = 0; t < n; t++) {
                float *one = run(m, tokens + t, 1, t, 1);
                for (int64_t i = 0; i < nv; i++) {
                    const float want = one[i], got = batched[t * nv + i];
                    assert_true(fabsf(got - want) <= 1e-5f * (1.0f + fabsf(want)));
                }
                free(one);
            }
            free(batched);
        }
        assert_int_equal(lq_simd_level_set(top, NULL), LQ_OK);
        lq_model_free(m);
        tmodel_free(&tm);
    }
}

/* Changing later tokens must not change earlier logits. */
static void test_forward_causal_mask(void **state)
{
    (void)state;
    struct tmodel tm;
    const struct lq_model_hparams hp = small_hparams();
    tmodel_build(&tm, &hp, LQ_TYPE_F32, false, false, 5);
    const int32_t t1[] = { 1, 2, 3, 4, 5, 6 };
    const int32_t t2[] = { 1, 2, 3, 9, 12, 0 };
    lq_model *m = open_tm(&tm, 16);
    float *a = run(m, t1, 6, 0, 6);
    float *b = run(m, t2, 6, 0, 6);
    const int64_t nv = hp.n_vocab;
    for (int64_t i = 0; i < 3 * nv; i++) {
        assert_true(a[i] == b[i]);
    }
    bool differs = false;
    for (int64_t i = 3 * nv; i < 6 * nv; i++) {
        differs = differs || a[i] != b[i];
    }
    assert_true(differs);
    free(a);
    free(b);
    lq_model_free(m);
    tmodel_free(&tm);
}

// ---- tests: RMSNorm and RoPE against hand-computed values --------------------------------

/* Internal kernels of lq_eval (eval/src/forward_impl.h), declared here so the test does not
 * reach into another target's src/ folder. */
void lqi_rmsnorm(float *restrict y, const float *restrict x, const float *restrict w, int64_t n,
                 float eps);
void lqi_rope_cache(float *cs, int64_t pos, int64_t n_rot, float freq_base, float freq_scale,
                    const float *freq_factors);
void lqi_rope_apply(float *x, const float *cs, int64_t n_rot, enum lq_rope_type type);

static void test_rmsnorm_hand_values(void **state)
{
    (void)state;
    /* mean of squares 30/4 = 7.5, rms 2.7386128 */
    const float x[4] = { 1, 2, 3, 4 }, w[4] = { 1, 1, 2, 0.5f };
    const float want[4] = { 0.3651484f, 0.7302967f, 2.1908902f, 0.7302967f };
    float y[4];
    lqi_rmsnorm(y, x, w, 4, 0.0f);
    for (int i = 0; i < 4; i++) {
        assert_float_equal(y[i], want[i], 1e-6);
    }
    /* eps enters under the root: all-zero input stays finite */
    const float z[4] = { 0 };
    lqi_rmsnorm(y, z, w, 4, 1e-5f);
    assert_float_equal(y[0], 0.0f, 0.0);
}

static void test_rope_hand_values(void **state)
{
    (void)state;
    /* pos 1, n_rot 4, base 10000: angles 1 and 10000^(-1/2) = 0.01 */
    float cs[4], x[4] = { 1, 0, 0, 1 };
    lqi_rope_cache(cs, 1, 4, 10000.0f, 1.0f, NULL);
    lqi_rope_apply(x, cs, 4, LQ_ROPE_NORMAL);
    const float want[4] = { 0.5403023f, 0.8414710f, -0.0099998f, 0.9999500f };
    for (int i = 0; i < 4; i++) {
        assert_float_equal(x[i], want[i], 1e-6);
    }
    /* NEOX pairs dimension i with i + 2 */
    float xn[4] = { 1, 0, 0, 1 };
    lqi_rope_apply(xn, cs, 4, LQ_ROPE_NEOX);
    const float wantn[4] = { 0.5403023f, -0.0099998f, 0.8414710f, 0.9999500f };
    for (int i = 0; i < 4; i++) {
        assert_float_equal(xn[i], wantn[i], 1e-6);
    }
    /* frequency factors divide the angle; linear scaling (0.5) multiplies it; pos 0 is
     * the identity */
    const float ff[2] = { 1.0f, 4.0f };
    lqi_rope_cache(cs, 2, 4, 10000.0f, 0.5f, ff);
    assert_float_equal(cs[0], cosf(1.0f), 1e-6);
    assert_float_equal(cs[3], sinf(0.0025f), 1e-7);
    lqi_rope_cache(cs, 0, 4, 10000.0f, 1.0f, NULL);
    assert_float_equal(cs[0], 1.0f, 0.0);
    assert_float_equal(cs[1], 0.0f, 0.0);
}

// ---- tests: errors ------------------------------------------------------------------------

static void expect_open_error(struct tmodel *tm, lq_status want, const char *needle)
{
    const struct lq_model_source src = { .name = "tiny", .user = tm, .find_tensor = tm_find,
                                         .close = tm_close };
    lq_model *m = (lq_model *)&src; /* must be reset to NULL */
    struct lq_error err = { 0 };
    assert_int_equal(lq_model_open_source(&tm->hp, &src, NULL, &m, &err), want);
    assert_null(m);
    assert_non_null(strstr(err.msg, needle));
    assert_int_equal(tm->closed, 1);
    tm->closed = 0;
}

static void test_forward_open_errors(void **state)
{
    (void)state;
    struct tmodel tm;
    const struct lq_model_hparams hp = small_hparams();
    tmodel_build(&tm, &hp, LQ_TYPE_F32, false, false, 9);
    /* wrong shape */
    tm.t[2].ne[1] = 7;
    expect_open_error(&tm, LQ_E_FORMAT, "blk.0.attn_q.weight");
    tm.t[2].ne[1] = 8;
    /* wrong byte count */
    tm.t[3].nbytes -= 4;
    expect_open_error(&tm, LQ_E_FORMAT, "blk.0.attn_k.weight");
    tm.t[3].nbytes += 4;
    /* missing tensor */
    tm.names[5][0] = 'X';
    expect_open_error(&tm, LQ_E_FORMAT, "blk.0.attn_output.weight");
    tm.names[5][0] = 'b';
    /* heads not a multiple of KV heads */
    tm.hp.n_head_kv = 3;
    expect_open_error(&tm, LQ_E_FORMAT, "KV heads");
    tm.hp.n_head_kv = 1;
    tm.hp.n_rot = 5;
    expect_open_error(&tm, LQ_E_FORMAT, "rope dimension");
    tm.hp = hp;
    tmodel_free(&tm);
}

static void test_forward_batch_errors(void **state)
{
    (void)state;
    struct tmodel tm;
    const struct lq_model_hparams hp = small_hparams();
    tmodel_build(&tm, &hp, LQ_TYPE_F32, false, false, 11);
    lq_model *m = open_tm(&tm, 8);
    float logits[16 * 8];
    const int32_t ok[] = { 1, 2, 3 }, bad[] = { 1, 16 };
    struct lq_error err = { 0 };
    struct lq_batch b = { .tokens = bad, .n_tokens = 2, .pos = 0, .n_out = 1, .logits = logits };
    assert_int_equal(lq_model_forward(m, &b, &err), LQ_E_INVALID_ARG);
    assert_non_null(strstr(err.msg, "vocabulary"));
    b = (struct lq_batch){ .tokens = ok, .n_tokens = 3, .pos = 1, .n_out = 1, .logits = logits };
    assert_int_equal(lq_model_forward(m, &b, &err), LQ_E_INVALID_ARG); /* gap: nothing at 0 */
    b.pos = 6;
    assert_int_equal(lq_model_forward(m, &b, &err), LQ_E_INVALID_ARG); /* past n_ctx */
    b.pos = 0;
    b.n_out = 4;
    assert_int_equal(lq_model_forward(m, &b, &err), LQ_E_INVALID_ARG);
    b.n_out = 3;
    assert_int_equal(lq_model_forward(m, &b, &err), LQ_OK);
    lq_model_free(m);
    tmodel_free(&tm);
}

// ---- tests: GGUF files ---------------------------------------------------------------------

static lq_model *open_gguf(const char *rel, int64_t n_ctx, lq_status want, const char *needle)
{
    struct lq_model_params p = lq_model_params_default();
    p.n_ctx = n_ctx;
    lq_model *m = NULL;
    struct lq_error err = { 0 };
    const lq_status rc = lq_model_open(lqt_data_path(rel), &p, &m, &err);
    if (rc != want) {
        fail_msg("%s: status %d, wanted %d (%s)", rel, (int)rc, (int)want, err.msg);
    }
    if (needle) {
        assert_non_null(strstr(err.msg, needle));
    }
    return m;
}

/* tiny-llama-6L as llama.cpp converted it: the hyperparameters of its config.json. */
static void test_model_gguf_tiny_llama(void **state)
{
    (void)state;
    lq_model *m = open_gguf("reference/llama.cpp/tiny-llama-6L/q4_k_m.gguf", 16, LQ_OK, NULL);
    const struct lq_model_hparams *hp = lq_model_get_hparams(m);
    assert_int_equal(hp->n_vocab, 4096);
    assert_int_equal(hp->n_embd, 256);
    assert_int_equal(hp->n_layer, 6);
    assert_int_equal(hp->n_ff, 768);
    assert_int_equal(hp->n_head, 4);
    assert_int_equal(hp->n_head_kv, 2);
    assert_int_equal(hp->n_embd_head, 64);
    assert_int_equal(hp->n_rot, 64);
    assert_int_equal(hp->rope_type, LQ_ROPE_NORMAL);
    assert_int_equal(hp->bos_token_id, 1);
    assert_true(hp->add_bos);
    assert_int_equal(lq_model_n_ctx(m), 16);
    const int32_t tokens[] = { 1, 450, 1000 };
    float *logits = run(m, tokens, 3, 0, 1);
    for (int64_t i = 0; i < hp->n_vocab; i++) {
        assert_true(isfinite(logits[i]));
    }
    free(logits);
    lq_model_free(m);
}

/* A llama file of random F32 weights written by another tool (a format test). */
static void test_model_gguf_random_f32(void **state)
{
    (void)state;
    lq_model *m = open_gguf("gguf/random/llama-2L-random-v3.gguf", 8, LQ_OK, NULL);
    const int32_t tokens[] = { 1, 2, 3, 4 };
    float *logits = run(m, tokens, 4, 0, 4);
    for (int64_t i = 0; i < 4 * lq_model_get_hparams(m)->n_vocab; i++) {
        assert_true(isfinite(logits[i]));
    }
    free(logits);
    lq_model_free(m);
}

/* KiB of the file `name` (a path's last part) resident through this process's maps. */
static long mapped_rss_kib(const char *name)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    char line[4096];
    bool in_file = false;
    long kib = 0;
    while (fgets(line, sizeof line, f)) {
        long v;
        if (strchr(line, '-') && strchr(line, ' ') && strchr(line, '-') < strchr(line, ' ')) {
            const char *slash = strrchr(line, '/'); /* a map's header line */
            in_file = slash && strncmp(slash + 1, name, strlen(name)) == 0 &&
                      slash[1 + strlen(name)] == '\n';
        } else if (in_file && sscanf(line, "Rss: %ld kB", &v) == 1) {
            kib += v;
        }
    }
    fclose(f);
    return kib;
}

/* --weights: the copy gives the very logits of the map, and hands the file's pages back. */
static void test_model_weights_memory(void **state)
{
    (void)state;
    const char *rel = "reference/llama.cpp/tiny-llama-6L/f16.gguf";
    const int32_t tokens[] = { 1, 450, 1000, 4095 };
    float *want = NULL;
    long rss[LQ_WEIGHTS_N] = { 0 };
    for (int w = 0; w < LQ_WEIGHTS_N; w++) {
        struct lq_model_params p = lq_model_params_default();
        p.n_ctx = 8;
        p.weights = (enum lq_weights_memory)w;
        lq_model *m = NULL;
        struct lq_error err = { 0 };
        if (lq_model_open(lqt_data_path(rel), &p, &m, &err) != LQ_OK) {
            fail_msg("%s, weights %s: %s", rel, lq_weights_memory_name(p.weights), err.msg);
        }
        float *got = run(m, tokens, 4, 0, 4); /* mapped, the pass has read every weight */
        rss[w] = mapped_rss_kib("f16.gguf");
        const int64_t n = 4 * lq_model_get_hparams(m)->n_vocab;
        if (!want) {
            want = got;
        } else {
            assert_memory_equal(got, want, (size_t)n * sizeof *got);
            free(got);
        }
        lq_model_free(m);
    }
    free(want);
    /* 13.7 MB of file: mapped, its weights are in; loaded, a few pages of header and token
     * embeddings are left; auto loads a file this small */
    assert_true(rss[LQ_WEIGHTS_MAPPED] > 10000);
    assert_true(rss[LQ_WEIGHTS_LOADED] < rss[LQ_WEIGHTS_MAPPED] / 4);
    assert_true(rss[LQ_WEIGHTS_AUTO] < rss[LQ_WEIGHTS_MAPPED] / 4);

    struct lq_model_params p = lq_model_params_default();
    p.weights = LQ_WEIGHTS_N;
    lq_model *m = NULL;
    struct lq_error err = { 0 };
    assert_int_equal(lq_model_open(lqt_data_path(rel), &p, &m, &err), LQ_E_INVALID_ARG);
    assert_null(m);
    for (int w = 0; w < LQ_WEIGHTS_N; w++) {
        enum lq_weights_memory back;
        assert_true(lq_weights_memory_from_name(lq_weights_memory_name(w), &back));
        assert_int_equal(back, w);
    }
    enum lq_weights_memory back;
    assert_false(lq_weights_memory_from_name("mmap", &back));
    assert_null(lq_weights_memory_name(LQ_WEIGHTS_N));
    assert_string_equal(lq_weights_memory_names(), "auto, mapped, loaded");
}

static void test_model_gguf_errors(void **state)
{
    (void)state;
    /* a vocabulary-only llama file: metadata, no tensors */
    assert_null(open_gguf("gguf/vocab/ggml-vocab-llama-spm.gguf", 8, LQ_E_FORMAT,
                          "ggml-vocab-llama-spm.gguf"));
    assert_null(open_gguf("gguf/vocab/ggml-vocab-gpt-2.gguf", 8, LQ_E_UNSUPPORTED, "gpt2"));
    lq_model *m = NULL;
    struct lq_error err = { 0 };
    const lq_status rc = lq_model_open("/nonexistent/model.gguf", NULL, &m, &err);
    assert_true(rc == LQ_E_NOT_FOUND || rc == LQ_E_IO);
    assert_null(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rmsnorm_hand_values),
        cmocka_unit_test(test_rope_hand_values),
        cmocka_unit_test(test_forward_reference_f32),
        cmocka_unit_test(test_forward_reference_f16_tied_freqs),
        cmocka_unit_test(test_forward_reference_quantized),
        cmocka_unit_test(test_forward_batched_equals_sequential),
        cmocka_unit_test(test_forward_gemm_matches_rows),
        cmocka_unit_test(test_forward_causal_mask),
        cmocka_unit_test(test_forward_open_errors),
        cmocka_unit_test(test_forward_batch_errors),
        cmocka_unit_test(test_model_gguf_tiny_llama),
        cmocka_unit_test(test_model_gguf_random_f32),
        cmocka_unit_test(test_model_gguf_errors),
        cmocka_unit_test(test_model_weights_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
