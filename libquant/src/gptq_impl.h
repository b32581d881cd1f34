/* gptq_impl.h - internals shared by gptq*.c: the Hessian handle, the grids GPTQ rounds to,
 * and the factorisation of the inverse Hessian. */
#ifndef LQ_GPTQ_IMPL_H
#define LQ_GPTQ_IMPL_H

#include <math.h>

#include "lq/gptq.h"

struct lq_hessian {
    int64_t n;        /* columns (input dimension) */
    int64_t nsamples; /* rows added */
    float *h;         /* (n, n) row-major; only the upper triangle (k >= i) is kept */
    double *sumsq;    /* (n) sum of x^2 per column */
};

/* H(i, k) from the upper-triangle storage. */
static inline float lqi_hessian_at(const lq_hessian *h, int64_t i, int64_t k)
{
    return i <= k ? h->h[i * h->n + k] : h->h[k * h->n + i];
}

// ---- grids --------------------------------------------------------------------------------

/* The grid of one weight: its code q in [0, qmax] decodes as a * (float)(q - qoff) + b, the
 * exact float expression the storage format's decoder evaluates; or, for the non-uniform
 * types (IQ4_NL, IQ4_XS), as a * (float)levels[q] with levels sorted ascending. */
struct lqi_gq_elem {
    float a;
    float b;
    int qoff;
    const int8_t *levels; /* qmax + 1 levels, or NULL for the uniform grid */
};

/* A grid provider. Groups are runs of gs columns; fix() chooses group g of row r from the
 * group's current weights x (len values), elem() reads back the grid of its j-th weight.
 * fix() for different rows may run concurrently. */
struct lqi_gq_grid {
    int qmax;
    int64_t gs;
    void *ctx;
    void (*fix)(void *ctx, int64_t r, int64_t g, const float *x, int64_t len);
    void (*elem)(const void *ctx, int64_t r, int64_t g, int64_t j, struct lqi_gq_elem *e);
};

/* The block layout of a GGUF type GPTQ can target: qmax, a decoder of one weight's grid from
 * a block, and a packer that stores codes (blck_size of them) into a block whose scales are
 * already set. NULL for other types. */
struct lqi_gq_block_ops {
    enum lq_type type;
    int qmax;
    void (*elem)(const uint8_t *blk, int64_t j, struct lqi_gq_elem *e);
    void (*pack)(uint8_t *blk, const uint8_t *q);
};
const struct lqi_gq_block_ops *lqi_gq_block_ops(enum lq_type type);

/* Integer grid state (AutoGPTQ's Quantizer with F16 scales): scales/zeros are (g, nrows). */
struct lqi_gq_int_ctx {
    int64_t nrows;
    int maxq;
    bool sym;
    bool v1_zeros;
    float *scales;
    int32_t *zeros;
};
void lqi_gq_int_fix(void *ctx, int64_t r, int64_t g, const float *x, int64_t len);
void lqi_gq_int_elem(const void *ctx, int64_t r, int64_t g, int64_t j, struct lqi_gq_elem *e);

/* GGUF grid state: blocks of row r start at blocks + r * row_size. */
struct lqi_gq_gguf_ctx {
    const struct lqi_gq_block_ops *ops;
    lq_from_float_fn from_float_ref;
    int64_t blck;
    size_t type_size;
    size_t row_size;
    uint8_t *blocks;
};
void lqi_gq_gguf_fix(void *ctx, int64_t r, int64_t g, const float *x, int64_t len);
void lqi_gq_gguf_elem(const void *ctx, int64_t r, int64_t g, int64_t j, struct lqi_gq_elem *e);

/* Index of the level nearest v among n sorted levels (a tie takes the lower one). */
static inline int lqi_gq_nearest_level(const int8_t *lv, int n, float v)
{
    if (v <= lv[0]) {
        return 0;
    }
    if (v >= lv[n - 1]) {
        return n - 1;
    }
    int lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (v < lv[mid]) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    return v - lv[lo] <= lv[hi] - v ? lo : hi;
}

/* The code nearest x on an element's grid (ties to even, as torch.round), clamped. On a
 * non-uniform grid, the level nearest x / a: |a l - x| = |a| |l - x / a| for either sign
 * of a; a zero scale decodes every code to 0, so any code is nearest. */
static inline int lqi_gq_round(float x, const struct lqi_gq_elem *e, int qmax)
{
    if (e->levels) {
        return e->a != 0.0f ? lqi_gq_nearest_level(e->levels, qmax + 1, x / e->a) : 0;
    }
    float t = e->a != 0.0f ? nearbyintf((x - e->b) / e->a) + (float)e->qoff
                           : (float)e->qoff;
    t = t < 0.0f ? 0.0f : t;
    t = t > (float)qmax ? (float)qmax : t;
    return (int)t;
}

static inline float lqi_gq_decode(const struct lqi_gq_elem *e, int q)
{
    if (e->levels) {
        return e->a * (float)e->levels[q];
    }
    return e->a * (float)(q - e->qoff) + e->b;
}

// ---- linear algebra -----------------------------------------------------------------------

/* Writes u (n, n) row-major float, upper triangular, with u^T u = (P H' P^T)^-1 where H' is h
 * with dead columns' diagonal set to 1 and damp * mean(diag) added to the diagonal, and P
 * the permutation to visit order (perm[i] = original column visited i-th). */
lq_status lqi_gptq_hinv_chol(const lq_hessian *h, const int64_t *perm, float damp, float *u,
                             struct lq_error *err);

// ---- the solver ---------------------------------------------------------------------------

/* One GPTQ run over w (nrows, h->n) with a grid. q (nrows, n) receives the codes and deq
 * (nrows, n, may be NULL) the decoded weights, both in the original column order. perm
 * (n, may be NULL) receives the visit order (perm[i] = column visited i-th). */
struct lqi_gq_job {
    const float *w;
    int64_t nrows;
    const lq_hessian *h;
    const struct lq_gptq_params *p;
    const struct lqi_gq_grid *grid;
    uint8_t *q;
    float *deq;
    int64_t *perm;
    double loss; /* out */
};
lq_status lqi_gptq_solve(struct lqi_gq_job *job, struct lq_error *err);

#endif
