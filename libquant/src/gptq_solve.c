/* gptq_solve.c - the GPTQ column loop (AutoGPTQ's fasterquant) over any grid.
 *
 * Rows are independent given U, the upper Cholesky factor of H^-1: a row's error at column i
 * only moves that row's later columns. So inside a block of columns each row runs on its own
 * (OpenMP over rows, contiguous memory), and the block's errors reach the columns after it in
 * one sgemm (the lazy batch update). A group's grid is chosen from fully updated weights: a
 * block never ends inside a group that started after the block's first column. */
#include <omp.h>
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "gptq_impl.h"
#include "lqi.h"

struct gq_run {
    int64_t nrows, n, bs;
    float *w;             /* (nrows, n) visit order; visited columns hold decoded weights */
    float *u;             /* (n, n) upper factor of the permuted, dampened H^-1 */
    const int64_t *perm;  /* visit position -> column; NULL for the identity */
    uint8_t *q;           /* (nrows, n) codes, visit order */
    float *err;           /* (nrows, bs) scaled errors of the current block */
    double *loss;         /* (nrows) */
    const struct lqi_gq_grid *grid;
    bool static_groups;
    int n_threads;
};

// ---- setup ------------------------------------------------------------------------------------

struct diag_key {
    float d;
    int64_t i;
};

/* Descending diagonal, ties in column order, so the permutation is deterministic. */
static int cmp_diag_desc(const void *pa, const void *pb)
{
    const struct diag_key *a = pa, *b = pb;
    if (a->d != b->d) {
        return a->d > b->d ? -1 : 1;
    }
    return a->i < b->i ? -1 : a->i > b->i;
}

/* perm = argsort of the (dead-fixed) diagonal, descending. */
static lq_status act_order_perm(const lq_hessian *h, int64_t *perm, struct lq_error *err)
{
    struct diag_key *keys = lqi_malloc((size_t)h->n * sizeof *keys);
    LQ_FAIL_IF(!keys, err, LQ_E_NOMEM, "gptq: out of memory");
    for (int64_t i = 0; i < h->n; i++) {
        float d = lqi_hessian_at(h, i, i);
        keys[i] = (struct diag_key){ d == 0.0f ? 1.0f : d, i };
    }
    qsort(keys, (size_t)h->n, sizeof *keys, cmp_diag_desc);
    for (int64_t i = 0; i < h->n; i++) {
        perm[i] = keys[i].i;
    }
    lqi_free(keys);
    return LQ_OK;
}

/* Copies w, rejecting non-finite weights, and zeroes dead columns (no input ever reached
 * them, so any value is free; AutoGPTQ picks 0). */
static lq_status load_weights(const struct lqi_gq_job *job, float *wk, struct lq_error *err)
{
    int64_t n = job->h->n;
    for (int64_t r = 0; r < job->nrows; r++) {
        for (int64_t c = 0; c < n; c++) {
            float x = job->w[r * n + c];
            LQ_FAIL_IF(!isfinite(x), err, LQ_E_RANGE, "gptq: weight row %lld column %lld is "
                       "not finite", (long long)r, (long long)c);
            wk[r * n + c] = lqi_hessian_at(job->h, c, c) == 0.0f ? 0.0f : x;
        }
    }
    return LQ_OK;
}

/* Static groups: every grid from the original (dead-zeroed) weights, before any update. */
static void fix_static_groups(const struct gq_run *g)
{
    const struct lqi_gq_grid *gr = g->grid;
#pragma omp parallel for num_threads(g->n_threads) schedule(static)
    for (int64_t r = 0; r < g->nrows; r++) {
        for (int64_t c = 0; c < g->n; c += gr->gs) {
            int64_t len = g->n - c < gr->gs ? g->n - c : gr->gs;
            gr->fix(gr->ctx, r, c / gr->gs, g->w + r * g->n + c, len);
        }
    }
}

/* Reorders each row's columns into visit order (dst[i] = src[perm[i]]). */
static lq_status permute_columns(float *w, int64_t nrows, int64_t n, const int64_t *perm,
                                 struct lq_error *err)
{
    float *tmp = lqi_malloc((size_t)n * sizeof *tmp);
    LQ_FAIL_IF(!tmp, err, LQ_E_NOMEM, "gptq: out of memory");
    for (int64_t r = 0; r < nrows; r++) {
        float *row = w + r * n;
        for (int64_t i = 0; i < n; i++) {
            tmp[i] = row[perm[i]];
        }
        memcpy(row, tmp, (size_t)n * sizeof *tmp);
    }
    lqi_free(tmp);
    return LQ_OK;
}

// ---- the column loop ------------------------------------------------------------------------

/* End of the block starting at i1: block_size columns, cut short before a group that starts
 * inside the block but would reach past it (its grid needs every pending update). */
static int64_t block_end(const struct gq_run *g, int64_t i1)
{
    int64_t i2 = i1 + g->bs < g->n ? i1 + g->bs : g->n;
    int64_t gs = g->grid->gs;
    if (g->static_groups) {
        return i2;
    }
    for (int64_t s = (i1 / gs + 1) * gs; s < i2; s += gs) {
        if ((s + gs < g->n ? s + gs : g->n) > i2) {
            return s;
        }
    }
    return i2;
}

/* The grid of the weight visited i-th in row r; a non-static group is fixed on entry. */
static void visit_grid(const struct gq_run *g, int64_t r, int64_t i, struct lqi_gq_elem *e)
{
    const struct lqi_gq_grid *gr = g->grid;
    if (g->static_groups) {
        int64_t c = g->perm ? g->perm[i] : i;
        gr->elem(gr->ctx, r, c / gr->gs, c % gr->gs, e);
        return;
    }
    if (i % gr->gs == 0) {
        int64_t len = g->n - i < gr->gs ? g->n - i : gr->gs;
        gr->fix(gr->ctx, r, i / gr->gs, g->w + r * g->n + i, len);
    }
    gr->elem(gr->ctx, r, i / gr->gs, i % gr->gs, e);
}

/* Columns [i1, i2) of row r: round each weight to its grid, record the scaled error
 * (w - q) / U_ii and push it onto the rest of the block through row i of U. */
static void row_block(const struct gq_run *g, int64_t r, int64_t i1, int64_t i2)
{
    float *wr = g->w + r * g->n, *er = g->err + r * g->bs;
    double loss = 0.0;
    for (int64_t i = i1; i < i2; i++) {
        struct lqi_gq_elem e;
        visit_grid(g, r, i, &e);
        int q = lqi_gq_round(wr[i], &e, g->grid->qmax);
        float deq = lqi_gq_decode(&e, q);
        const float *ui = g->u + i * g->n;
        float e1 = (wr[i] - deq) / ui[i];
        loss += (double)e1 * (double)e1;
        g->q[r * g->n + i] = (uint8_t)q;
        wr[i] = deq;
        er[i - i1] = e1;
#pragma omp simd
        for (int64_t k = i + 1; k < i2; k++) {
            wr[k] -= e1 * ui[k];
        }
    }
    g->loss[r] += loss / 2.0;
}

static void column_loop(const struct gq_run *g)
{
    for (int64_t i1 = 0; i1 < g->n;) {
        int64_t i2 = block_end(g, i1);
#pragma omp parallel for num_threads(g->n_threads) schedule(static)
        for (int64_t r = 0; r < g->nrows; r++) {
            row_block(g, r, i1, i2);
        }
        if (i2 < g->n) {
            /* W[:, i2:] -= Err[:, i1:i2] U[i1:i2, i2:] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->nrows,
                        (int)(g->n - i2), (int)(i2 - i1), -1.0f, g->err, (int)g->bs,
                        g->u + i1 * g->n + i2, (int)g->n, 1.0f, g->w + i2, (int)g->n);
        }
        i1 = i2;
    }
}

// ---- driver ---------------------------------------------------------------------------------

/* Codes and decoded weights back into the original column order. */
static void unpermute(const struct gq_run *g, struct lqi_gq_job *job)
{
    for (int64_t r = 0; r < g->nrows; r++) {
        for (int64_t i = 0; i < g->n; i++) {
            int64_t c = g->perm ? g->perm[i] : i;
            job->q[r * g->n + c] = g->q[r * g->n + i];
            if (job->deq) {
                job->deq[r * g->n + c] = g->w[r * g->n + i];
            }
        }
    }
}

static lq_status run_prepared(struct gq_run *g, struct lqi_gq_job *job, struct lq_error *err)
{
    LQ_TRY(load_weights(job, g->w, err));
    if (g->static_groups) {
        fix_static_groups(g);
    }
    if (job->p->act_order) {
        LQ_TRY(act_order_perm(job->h, job->perm, err));
        g->perm = job->perm;
        LQ_TRY(permute_columns(g->w, g->nrows, g->n, g->perm, err));
    } else {
        for (int64_t i = 0; i < g->n; i++) {
            job->perm[i] = i;
        }
    }
    LQ_TRY(lqi_gptq_hinv_chol(job->h, g->perm, job->p->damp, g->u, err));
    column_loop(g);
    unpermute(g, job);
    job->loss = 0.0;
    for (int64_t r = 0; r < g->nrows; r++) {
        job->loss += g->loss[r];
    }
    return LQ_OK;
}

lq_status lqi_gptq_solve(struct lqi_gq_job *job, struct lq_error *err)
{
    int64_t n = job->h->n, nrows = job->nrows;
    size_t nw = (size_t)nrows * (size_t)n;
    struct gq_run g = {
        .nrows = nrows, .n = n, .grid = job->grid,
        .bs = job->p->block_size < n ? job->p->block_size : n,
        .static_groups = job->p->static_groups,
        .n_threads = job->p->n_threads > 0 ? job->p->n_threads : omp_get_max_threads(),
    };
    g.w = lqi_malloc(nw * sizeof(float));
    g.u = lqi_malloc((size_t)n * (size_t)n * sizeof(float));
    g.q = lqi_malloc(nw);
    g.err = lqi_malloc((size_t)nrows * (size_t)g.bs * sizeof(float));
    g.loss = lqi_calloc((size_t)nrows, sizeof(double));
    lq_status rc = LQ_OK;
    if (!g.w || !g.u || !g.q || !g.err || !g.loss) {
        rc = lqi_set_error(err, LQ_E_NOMEM, "gptq: cannot allocate buffers for a %lld x %lld "
                           "layer", (long long)nrows, (long long)n);
        goto out_free;
    }
    rc = run_prepared(&g, job, err);
out_free:
    lqi_free(g.w);
    lqi_free(g.u);
    lqi_free(g.q);
    lqi_free(g.err);
    lqi_free(g.loss);
    return rc;
}
