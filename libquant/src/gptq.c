/* gptq.c - public GPTQ entry points: argument checks, grid set-up, g_idx and block packing. */
#include "lq/gptq.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gptq_impl.h"
#include "lqi.h"

struct lq_gptq_params lq_gptq_params_default(void)
{
    return (struct lq_gptq_params){
        .bits = 4, .group_size = 128, .sym = true, .act_order = false, .static_groups = false,
        .v1_zeros = true, .damp = 0.01f, .block_size = 128, .n_threads = 0,
    };
}

int64_t lq_gptq_n_groups(int64_t ncols, int64_t group_size)
{
    if (ncols <= 0 || group_size == 0 || group_size < -1) {
        return 0;
    }
    return group_size == -1 ? 1 : (ncols + group_size - 1) / group_size;
}

/* Checks shared by both targets: sizes fit BLAS's int and size_t, params are sane. */
static lq_status check_common(const float *w, int64_t nrows, const lq_hessian *h,
                              const struct lq_gptq_params *p, struct lq_error *err)
{
    LQ_FAIL_IF(!w || !h || !p, err, LQ_E_INVALID_ARG, "gptq: NULL argument");
    uint64_t nw = 0;
    LQ_FAIL_IF(nrows < 1 || nrows > INT32_MAX ||
                   lqi_mul_overflow_u64((uint64_t)nrows, (uint64_t)h->n, &nw) ||
                   nw > SIZE_MAX / sizeof(float),
               err, LQ_E_INVALID_ARG, "gptq: bad layer shape %lld x %lld", (long long)nrows,
               (long long)h->n);
    LQ_FAIL_IF(!(p->damp >= 0.0f) || !isfinite(p->damp), err, LQ_E_INVALID_ARG,
               "gptq: damp %g must be finite and >= 0", (double)p->damp);
    LQ_FAIL_IF(p->block_size < 1, err, LQ_E_INVALID_ARG, "gptq: block_size %lld must be >= 1",
               (long long)p->block_size);
    LQ_FAIL_IF(p->n_threads < 0, err, LQ_E_INVALID_ARG, "gptq: n_threads %d must be >= 0",
               p->n_threads);
    return LQ_OK;
}

// ---- integer target -------------------------------------------------------------------------

static lq_status check_int(const struct lq_gptq_params *p, const struct lq_gptq_result *out,
                           struct lq_error *err)
{
    LQ_FAIL_IF(p->bits != 2 && p->bits != 3 && p->bits != 4 && p->bits != 8, err,
               LQ_E_INVALID_ARG, "gptq: %d bits (2, 3, 4 or 8 supported)", p->bits);
    LQ_FAIL_IF(p->group_size != -1 && p->group_size < 1, err, LQ_E_INVALID_ARG,
               "gptq: group_size %lld (-1 or >= 1)", (long long)p->group_size);
    LQ_FAIL_IF(!out || !out->q || !out->scales || !out->zeros || !out->g_idx, err,
               LQ_E_INVALID_ARG, "gptq: NULL output buffer");
    return LQ_OK;
}

/* AutoGPTQ's g_idx: group by visit position, except static groups, which stay with the
 * column they were computed for. */
static void fill_g_idx(int32_t *g_idx, const int64_t *perm, int64_t n, int64_t gs,
                       bool by_column)
{
    for (int64_t i = 0; i < n; i++) {
        g_idx[by_column ? i : perm[i]] = (int32_t)(i / gs);
    }
}

lq_status lq_gptq_quantize(const float *w, int64_t nrows, const lq_hessian *h,
                           const struct lq_gptq_params *p, struct lq_gptq_result *out,
                           struct lq_error *err)
{
    LQ_TRY(check_common(w, nrows, h, p, err));
    LQ_TRY(check_int(p, out, err));
    int64_t n = h->n, gs = p->group_size == -1 ? n : p->group_size;
    struct lqi_gq_int_ctx ic = {
        .nrows = nrows, .maxq = (1 << p->bits) - 1, .sym = p->sym, .v1_zeros = p->v1_zeros,
        .scales = out->scales, .zeros = out->zeros,
    };
    struct lqi_gq_grid grid = { .qmax = ic.maxq, .gs = gs, .ctx = &ic,
                                .fix = lqi_gq_int_fix, .elem = lqi_gq_int_elem };
    int64_t *perm = lqi_malloc((size_t)n * sizeof *perm);
    LQ_FAIL_IF(!perm, err, LQ_E_NOMEM, "gptq: out of memory");
    struct lqi_gq_job job = { .w = w, .nrows = nrows, .h = h, .p = p, .grid = &grid,
                              .q = out->q, .deq = out->deq, .perm = perm };
    lq_status rc = lqi_gptq_solve(&job, err);
    if (rc == LQ_OK) {
        fill_g_idx(out->g_idx, perm, n, gs, p->static_groups || !p->act_order);
        out->loss = job.loss;
    }
    lqi_free(perm);
    return rc;
}

// ---- GGUF block target ----------------------------------------------------------------------

bool lq_gptq_gguf_supported(enum lq_type type)
{
    const struct lq_type_traits *tt = lq_type_traits_get(type);
    return lqi_gq_block_ops(type) && tt && tt->from_float_ref;
}

static lq_status check_gguf(int64_t nrows, int64_t n, const struct lq_gptq_params *p,
                            const struct lq_gptq_gguf_out *out, struct lq_error *err)
{
    LQ_FAIL_IF(!out || !out->blocks, err, LQ_E_INVALID_ARG, "gptq: NULL output buffer");
    if (!lq_gptq_gguf_supported(out->type)) {
        char names[256] = "";
        for (int t = 0, off = 0; t < LQ_TYPE_COUNT && off < (int)sizeof names; t++) {
            if (lq_gptq_gguf_supported((enum lq_type)t)) {
                off += snprintf(names + off, sizeof names - (size_t)off, "%s%s", off ? " " : "",
                                lq_type_name(t));
            }
        }
        return lqi_set_error(err, LQ_E_UNSUPPORTED,
                             "gptq: type %s cannot be a GPTQ target (supported: %s)",
                             lq_type_name(out->type), names);
    }
    const struct lq_type_traits *tt = lq_type_traits_get(out->type);
    LQ_FAIL_IF(n % tt->blck_size != 0, err, LQ_E_INVALID_ARG,
               "gptq: %lld columns are not a multiple of %s's block size %lld", (long long)n,
               tt->name, (long long)tt->blck_size);
    LQ_FAIL_IF(out->size / (size_t)nrows < lq_row_size(out->type, n), err, LQ_E_INVALID_ARG,
               "gptq: output of %zu bytes is too small for %lld rows of %s", out->size,
               (long long)nrows, tt->name);
    LQ_FAIL_IF(p->act_order && !p->static_groups, err, LQ_E_UNSUPPORTED,
               "gptq: act-order into %s blocks needs static groups", tt->name);
    return LQ_OK;
}

/* Codes into the blocks, whose scales the reference quantizer already wrote. */
static void pack_blocks(const struct lqi_gq_gguf_ctx *c, const uint8_t *q, int64_t nrows,
                        int64_t n)
{
    for (int64_t r = 0; r < nrows; r++) {
        for (int64_t b = 0; b < n / c->blck; b++) {
            c->ops->pack(c->blocks + (size_t)r * c->row_size + (size_t)b * c->type_size,
                         q + r * n + b * c->blck);
        }
    }
}

lq_status lq_gptq_quantize_gguf(const float *w, int64_t nrows, const lq_hessian *h,
                                const struct lq_gptq_params *p, struct lq_gptq_gguf_out *out,
                                struct lq_error *err)
{
    LQ_TRY(check_common(w, nrows, h, p, err));
    LQ_TRY(check_gguf(nrows, h->n, p, out, err));
    const struct lq_type_traits *tt = lq_type_traits_get(out->type);
    struct lqi_gq_gguf_ctx gc = {
        .ops = lqi_gq_block_ops(out->type), .from_float_ref = tt->from_float_ref,
        .blck = tt->blck_size, .type_size = tt->type_size,
        .row_size = lq_row_size(out->type, h->n), .blocks = out->blocks,
    };
    struct lqi_gq_grid grid = { .qmax = gc.ops->qmax, .gs = gc.blck, .ctx = &gc,
                                .fix = lqi_gq_gguf_fix, .elem = lqi_gq_gguf_elem };
    uint8_t *q = lqi_malloc((size_t)nrows * (size_t)h->n);
    int64_t *perm = lqi_malloc((size_t)h->n * sizeof *perm);
    lq_status rc = LQ_OK;
    if (!q || !perm) {
        rc = lqi_set_error(err, LQ_E_NOMEM, "gptq: out of memory");
        goto out_free;
    }
    struct lqi_gq_job job = { .w = w, .nrows = nrows, .h = h, .p = p, .grid = &grid,
                              .q = q, .deq = out->deq, .perm = perm };
    rc = lqi_gptq_solve(&job, err);
    if (rc == LQ_OK) {
        pack_blocks(&gc, q, nrows, h->n);
        out->loss = job.loss;
    }
out_free:
    lqi_free(q);
    lqi_free(perm);
    return rc;
}
