/* opt_measure.c - the optimizer's cost table (lq/optimize.h): output-error energy of every
 * candidate type of every tensor from the GPTQ Hessians, scaled per tensor by one measured
 * single-tensor KL divergence. */
#include "lq/optimize.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "lq/calib.h"
#include "lq/metrics.h"
#include "lq/model_hooks.h"
#include "lq/model_open_any.h"
#include "lq/quantize.h"
#include "lqi.h"
#include "pipeline_time.h"
#include "opt_impl.h"

struct measure {
    const struct lq_opt_params *p;
    lq_model *m;
    struct lq_calib c;
    struct lq_opt_table *tab;
    float **imp;       /* per tensor: diag(H) importance (NULL for token_embd/output) */
    float *h;          /* the current Hessian, cols^2 */
    size_t h_cap;
    float *deq, *w32;  /* dequantized candidate, the tensor as F32 */
    size_t deq_cap, w32_cap;
    double *eb;        /* energy()'s blocks of H and of the differences */
    size_t eb_cap;
    void *q;           /* quantized bytes */
    size_t q_cap;
    bool tied;         /* no output.weight: token_embd is also the head */
    char ref_path[4200];
    int64_t done, total;
    const char *stage;
};

struct lq_opt_params lq_opt_params_default(void)
{
    struct lq_opt_params p = {.gptq = true, .gp = lq_gptq_params_default(), .calib_ctx = 512,
                              .calib_tokens = 4096, .kld_chunks = 4};
    return p;
}

int lq_opt_default_types(enum lq_type *out, int cap)
{
    int n = 0;
    for (int t = 0; t < LQ_TYPE_COUNT && n < cap; t++) {
        const struct lq_type_traits *tr = lq_type_traits_get(t);
        /* ternary and MXFP4 blocks suit models trained for them, not rounding of others */
        if (!tr || !tr->is_quantized || !tr->quantize || !tr->to_float ||
            t == LQ_TYPE_TQ1_0 || t == LQ_TYPE_TQ2_0 || t == LQ_TYPE_MXFP4) {
            continue;
        }
        out[n++] = (enum lq_type)t;
    }
    return n;
}

static void tick(struct measure *ms)
{
    ms->done++;
    if (ms->p->on_progress) {
        ms->p->on_progress(ms->p->user, ms->stage, ms->done, ms->total);
    }
}

/* energy()'s blocks: columns of H, rows of the differences. */
enum { ENERGY_COLS = 512, ENERGY_ROWS = 256 };

/* *out = sum_r d_r H d_r^T with d = w - deq (h NULL: H = I), in double. By blocks of
 * ENERGY_COLS columns of H and ENERGY_ROWS rows of d: D_blk H_blk through BLAS (dgemm),
 * then its elementwise products with D_blk's columns of that block. The form costs 2 rows
 * cols^2 operations per candidate: BLAS runs them some 30 times faster than a plain loop (a
 * loop took over 20 minutes for the first layer of the 1.1B shape), in bounded memory. */
static lq_status energy(struct measure *ms, const float *w, const float *deq, int64_t rows,
                        int64_t cols, const float *h, double *out, struct lq_error *err)
{
    double sum = 0.0;
    if (!h) {
#pragma omp parallel for reduction(+ : sum) schedule(static)
        for (int64_t i = 0; i < rows * cols; i++) {
            const double di = (double)w[i] - (double)deq[i];
            sum += di * di;
        }
        *out = sum;
        return LQ_OK;
    }
    const int64_t cb = cols < ENERGY_COLS ? cols : ENERGY_COLS;
    const int64_t rb = rows < ENERGY_ROWS ? rows : ENERGY_ROWS;
    const size_t need = (size_t)(cols * cb + rb * cols + rb * cb) * sizeof(double);
    LQ_FAIL_IF(!lqi_grow((void **)&ms->eb, &ms->eb_cap, need), err, LQ_E_NOMEM,
               "optimize: out of memory");
    double *hb = ms->eb, *db = hb + cols * cb, *pb = db + rb * cols;
    for (int64_t c0 = 0; c0 < cols; c0 += cb) {
        const int64_t nc = cols - c0 < cb ? cols - c0 : cb;
#pragma omp parallel for schedule(static)
        for (int64_t j = 0; j < cols; j++) {
            for (int64_t c = 0; c < nc; c++) {
                hb[j * nc + c] = (double)h[j * cols + c0 + c];
            }
        }
        for (int64_t r0 = 0; r0 < rows; r0 += rb) {
            const int64_t nr = rows - r0 < rb ? rows - r0 : rb;
#pragma omp parallel for schedule(static)
            for (int64_t i = 0; i < nr * cols; i++) {
                db[i] = (double)w[r0 * cols + i] - (double)deq[r0 * cols + i];
            }
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nr, (int)nc, (int)cols,
                        1.0, db, (int)cols, hb, (int)nc, 0.0, pb, (int)nc);
            for (int64_t r = 0; r < nr; r++) {
                for (int64_t c = 0; c < nc; c++) {
                    sum += db[r * cols + c0 + c] * pb[r * nc + c];
                }
            }
        }
    }
    *out = sum;
    return LQ_OK;
}

lq_status lqi_opt_round(enum lq_type type, const float *w, int64_t rows, int64_t cols,
                        const float *imp, int n_threads, void **q, size_t *q_cap, float *deq,
                        struct lq_error *err)
{
    const size_t nbytes = lq_row_size(type, cols) * (size_t)rows;
    LQ_FAIL_IF(!lqi_grow(q, q_cap, nbytes ? nbytes : 1), err, LQ_E_NOMEM,
               "optimize: out of memory");
    struct lq_quantize_params qp = lq_quantize_params_default();
    qp.nthreads = n_threads > 0 ? n_threads : 1;
    qp.imatrix = imp;
    size_t written = 0;
    LQ_TRY(lq_quantize_rows(type, w, rows, cols, *q, nbytes, &qp, &written, err));
    lq_type_traits_get(type)->to_float(*q, deq, rows * cols);
    return LQ_OK;
}

/* A candidate as the final file will have it: GPTQ where it applies, else rounding. */
static lq_status quantize_candidate(struct measure *ms, enum lq_type type, const float *w,
                                    int64_t rows, int64_t cols, const lq_hessian *h,
                                    const float *imp, struct lq_error *err)
{
    if (ms->p->gptq && h && lq_gptq_gguf_supported(type)) {
        const size_t nbytes = lq_row_size(type, cols) * (size_t)rows;
        LQ_FAIL_IF(!lqi_grow(&ms->q, &ms->q_cap, nbytes), err, LQ_E_NOMEM,
                   "optimize: out of memory");
        struct lq_gptq_params gp = ms->p->gp;
        gp.static_groups = gp.static_groups || gp.act_order;
        struct lq_gptq_gguf_out out = {.type = type, .blocks = ms->q, .size = nbytes,
                                       .deq = ms->deq};
        return lq_gptq_quantize_gguf(w, rows, h, &gp, &out, err);
    }
    return lqi_opt_round(type, w, rows, cols, imp, ms->p->gp.n_threads, &ms->q, &ms->q_cap,
                         ms->deq, err);
}

static int64_t find_tensor(const struct lq_opt_table *t, const char *name)
{
    for (int64_t i = 0; i < t->n; i++) {
        if (strcmp(t->t[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

/* Energies of every candidate, the probe and the checks of one tensor. */
static lq_status tensor_energies(struct measure *ms, int64_t ti, const float *w,
                                 const lq_hessian *h, struct lq_error *err)
{
    struct lq_opt_tensor *t = &ms->tab->t[ti];
    const int64_t rows = t->rows, cols = t->cols;
    LQ_FAIL_IF(!lqi_grow((void **)&ms->deq, &ms->deq_cap, (size_t)(rows * cols) * sizeof(float)),
               err, LQ_E_NOMEM, "optimize: out of memory");
    const float *H = NULL;
    if (h) {
        LQ_FAIL_IF(!lqi_grow((void **)&ms->h, &ms->h_cap, (size_t)(cols * cols) * sizeof(float)),
                   err, LQ_E_NOMEM, "optimize: out of memory");
        lq_hessian_get(h, ms->h);
        H = ms->h;
        ms->imp[ti] = lqi_malloc((size_t)cols * sizeof(float));
        LQ_FAIL_IF(!ms->imp[ti], err, LQ_E_NOMEM, "optimize: out of memory");
        lq_hessian_importance(h, ms->imp[ti]);
    }
    const float *imp = ms->imp[ti];
    for (int k = 0; k < t->n_types; k++) {
        LQ_TRY(quantize_candidate(ms, t->types[k], w, rows, cols, h, imp, err));
        LQ_TRY(energy(ms, w, ms->deq, rows, cols, H, &t->energy[k], err));
    }
    LQ_TRY(lqi_opt_round(t->probe_type, w, rows, cols, imp, ms->p->gp.n_threads, &ms->q,
                         &ms->q_cap, ms->deq, err));
    LQ_TRY(energy(ms, w, ms->deq, rows, cols, H, &t->probe_energy, err));
    for (int k = 0; k < ms->p->n_checks; k++) {
        t->check_energy[k] = NAN;
        if (cols % lq_type_traits_get(ms->p->checks[k])->blck_size == 0) {
            LQ_TRY(lqi_opt_round(ms->p->checks[k], w, rows, cols, imp, ms->p->gp.n_threads,
                                 &ms->q, &ms->q_cap, ms->deq, err));
            LQ_TRY(energy(ms, w, ms->deq, rows, cols, H, &t->check_energy[k], err));
        }
    }
    return LQ_OK;
}

static lq_status on_layer_weight(void *user, int64_t layer, enum lq_layer_weight which,
                                 int64_t expert, const float *w, int64_t nrows, int64_t ncols,
                                 const lq_hessian *h, struct lq_model_tensor *use,
                                 struct lq_error *err)
{
    struct measure *ms = user;
    if (expert >= 0) { /* expert stacks keep their recipe's type (not optimized yet) */
        use->data = NULL;
        return LQ_OK;
    }
    char name[96];
    snprintf(name, sizeof name, "blk.%lld.%s.weight", (long long)layer,
             lq_layer_weight_name(which));
    const int64_t ti = find_tensor(ms->tab, name);
    LQ_FAIL_IF(ti < 0 || ms->tab->t[ti].rows != nrows || ms->tab->t[ti].cols != ncols, err,
               LQ_E_INVALID_ARG, "optimize: unexpected weight %s", name);
    use->data = NULL; /* the Hessians stay those of the unquantized model */
    LQ_TRY(tensor_energies(ms, ti, w, h, err));
    tick(ms);
    return LQ_OK;
}

/* The weight the model uses now, decoded to F32 into ms->w32. */
static lq_status weight_f32(struct measure *ms, const struct lq_model_tensor *v,
                            struct lq_error *err)
{
    const int64_t n = v->ne[0] * v->ne[1];
    LQ_FAIL_IF(!lqi_grow((void **)&ms->w32, &ms->w32_cap, (size_t)n * sizeof(float)), err,
               LQ_E_NOMEM, "optimize: out of memory");
    const struct lq_type_traits *tr = lq_type_traits_get(v->type);
    if (v->type == LQ_TYPE_F32) {
        memcpy(ms->w32, v->data, (size_t)n * sizeof(float));
        return LQ_OK;
    }
    LQ_FAIL_IF(!tr || !tr->to_float, err, LQ_E_UNSUPPORTED, "optimize: cannot decode %s",
               lq_type_name(v->type));
    tr->to_float(v->data, ms->w32, n);
    return LQ_OK;
}

/* Where tensor ti lives in the model: a layer weight, or token_embd / output. */
struct where {
    bool model_wide;
    enum lq_model_weight mw;
    int64_t layer;
    enum lq_layer_weight lw;
};

static bool locate(const lq_model *m, const char *name, struct where *at)
{
    if (strcmp(name, "token_embd.weight") == 0 || strcmp(name, "output.weight") == 0) {
        *at = (struct where){.model_wide = true,
                             .mw = name[0] == 't' ? LQ_MW_TOKEN_EMBD : LQ_MW_OUTPUT};
        return true;
    }
    long long layer = -1;
    char kind[64];
    if (sscanf(name, "blk.%lld.%63[^.].weight", &layer, kind) != 2) {
        return false;
    }
    for (int w = 0; w < LQ_LW_COUNT; w++) {
        if (lq_model_has_weight(m, (enum lq_layer_weight)w) &&
            strcmp(lq_layer_weight_name((enum lq_layer_weight)w), kind) == 0) {
            *at = (struct where){.layer = layer, .lw = (enum lq_layer_weight)w};
            return true;
        }
    }
    return false;
}

static lq_status get_view(lq_model *m, const struct where *at, struct lq_model_tensor *v,
                          struct lq_error *err)
{
    return at->model_wide ? lq_model_get_model_weight(m, at->mw, v, err)
                          : lq_model_get_weight(m, at->layer, at->lw, v, err);
}

static lq_status set_view(struct measure *ms, const struct where *at, enum lq_type type,
                          const void *data, size_t nbytes, struct lq_error *err)
{
    if (!at->model_wide) {
        return lq_model_set_weight(ms->m, at->layer, at->lw, type, data, nbytes, err);
    }
    LQ_TRY(lq_model_set_model_weight(ms->m, at->mw, type, data, nbytes, err));
    if (ms->tied) { /* one tensor in the file serves both uses */
        return lq_model_set_model_weight(ms->m, LQ_MW_OUTPUT, type, data, nbytes, err);
    }
    return LQ_OK;
}

static lq_status kld_now(struct measure *ms, double *kld, struct lq_error *err)
{
    struct lq_eval_params ep = lq_eval_params_default();
    ep.n_ctx = ms->c.n_ctx;
    ep.n_chunks = ms->p->kld_chunks;
    ep.compare = ms->ref_path;
    struct lq_eval_result r;
    LQ_TRY(lq_eval_perplexity(ms->m, NULL, 0, &ep, &r, err));
    *kld = r.kld.kld;
    return LQ_OK;
}

/* KLD with only tensor ti rounded to `type`. */
static lq_status single_tensor_kld(struct measure *ms, int64_t ti, enum lq_type type,
                                   double *kld, struct lq_error *err)
{
    const struct lq_opt_tensor *t = &ms->tab->t[ti];
    struct where at;
    LQ_FAIL_IF(!locate(ms->m, t->name, &at), err, LQ_E_NOT_FOUND,
               "optimize: the model has no weight %s", t->name);
    struct lq_model_tensor orig, orig_out = {0};
    LQ_TRY(get_view(ms->m, &at, &orig, err));
    if (ms->tied) {
        LQ_TRY(lq_model_get_model_weight(ms->m, LQ_MW_OUTPUT, &orig_out, err));
    }
    LQ_TRY(weight_f32(ms, &orig, err));
    LQ_FAIL_IF(
        !lqi_grow((void **)&ms->deq, &ms->deq_cap, (size_t)(t->rows * t->cols) * sizeof(float)),
        err, LQ_E_NOMEM, "optimize: out of memory");
    LQ_TRY(lqi_opt_round(type, ms->w32, t->rows, t->cols, ms->imp[ti], ms->p->gp.n_threads,
                         &ms->q, &ms->q_cap, ms->deq, err));
    const size_t nbytes = lq_row_size(type, t->cols) * (size_t)t->rows;
    lq_status rc = set_view(ms, &at, type, ms->q, nbytes, err);
    if (rc == LQ_OK) {
        rc = kld_now(ms, kld, err);
    }
    /* the original views always go back, whatever failed */
    if (at.model_wide) {
        lq_model_set_model_weight(ms->m, at.mw, orig.type, orig.data, orig.nbytes, NULL);
        if (ms->tied) {
            lq_model_set_model_weight(ms->m, LQ_MW_OUTPUT, orig_out.type, orig_out.data,
                                      orig_out.nbytes, NULL);
        }
    } else {
        lq_model_set_weight(ms->m, at.layer, at.lw, orig.type, orig.data, orig.nbytes, NULL);
    }
    return rc;
}

/* Candidates of one tensor: the types whose blocks fit its rows (token_embd and output have
 * no Hessian, so no type that needs importance data). */
static void add_tensor(struct lq_opt_table *tab, const struct lq_opt_params *p,
                       const char *name, int64_t rows, int64_t cols, bool has_hessian)
{
    struct lq_opt_tensor *t = &tab->t[tab->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->rows = rows;
    t->cols = cols;
    double best = INFINITY;
    for (int k = 0; k < p->n_types; k++) {
        const struct lq_type_traits *tr = lq_type_traits_get(p->types[k]);
        if (!tr || cols % tr->blck_size != 0 || (tr->needs_imatrix && !has_hessian)) {
            continue;
        }
        t->types[t->n_types] = p->types[k];
        t->bytes[t->n_types] = lq_row_size(p->types[k], cols) * (uint64_t)rows;
        t->n_types++;
        /* the probe: the candidate nearest 3.5 bits per weight that needs no importance */
        const double d = fabs(lq_type_bpw(p->types[k]) - 3.5);
        if (!tr->needs_imatrix && d < best) {
            best = d;
            t->probe_type = p->types[k];
        }
    }
}

static lq_status build_table(struct measure *ms, struct lq_error *err)
{
    lq_model *m = ms->m;
    const int64_t n_layer = lq_model_get_hparams(m)->n_layer;
    const int64_t cap = n_layer * LQ_LW_COUNT + 2;
    struct lq_opt_table *tab = ms->tab;
    tab->t = lqi_calloc((size_t)cap, sizeof *tab->t);
    ms->imp = lqi_calloc((size_t)cap, sizeof *ms->imp);
    LQ_FAIL_IF(!tab->t || !ms->imp, err, LQ_E_NOMEM, "optimize: out of memory");
    struct lq_model_tensor emb, out;
    LQ_TRY(lq_model_get_model_weight(m, LQ_MW_TOKEN_EMBD, &emb, err));
    LQ_TRY(lq_model_get_model_weight(m, LQ_MW_OUTPUT, &out, err));
    ms->tied = emb.data == out.data;
    add_tensor(tab, ms->p, "token_embd.weight", emb.ne[1], emb.ne[0], false);
    for (int64_t l = 0; l < n_layer; l++) {
        for (int w = 0; w < LQ_LW_COUNT; w++) {
            struct lq_model_tensor v;
            if (!lq_model_has_weight(m, (enum lq_layer_weight)w)) {
                continue;
            }
            LQ_TRY(lq_model_get_weight(m, l, (enum lq_layer_weight)w, &v, err));
            char name[96];
            snprintf(name, sizeof name, "blk.%lld.%s.weight", (long long)l,
                     lq_layer_weight_name((enum lq_layer_weight)w));
            add_tensor(tab, ms->p, name, v.ne[1], v.ne[0], true);
        }
    }
    if (!ms->tied) {
        add_tensor(tab, ms->p, "output.weight", out.ne[1], out.ne[0], false);
    }
    for (int64_t i = 0; i < tab->n; i++) {
        LQ_FAIL_IF(tab->t[i].n_types == 0, err, LQ_E_INVALID_ARG,
                   "optimize: no candidate type fits %s (%lld columns)", tab->t[i].name,
                   (long long)tab->t[i].cols);
    }
    return LQ_OK;
}

static lq_status global_energies(struct measure *ms, struct lq_error *err)
{
    for (int64_t i = 0; i < ms->tab->n; i++) {
        struct where at;
        if (!locate(ms->m, ms->tab->t[i].name, &at) || !at.model_wide) {
            continue;
        }
        struct lq_model_tensor v;
        LQ_TRY(get_view(ms->m, &at, &v, err));
        LQ_TRY(weight_f32(ms, &v, err));
        LQ_TRY(tensor_energies(ms, i, ms->w32, NULL, err));
        tick(ms);
    }
    return LQ_OK;
}

static lq_status responses(struct measure *ms, struct lq_error *err)
{
    struct lq_opt_table *tab = ms->tab;
    for (int64_t i = 0; i < tab->n; i++) {
        struct lq_opt_tensor *t = &tab->t[i];
        LQ_TRY(single_tensor_kld(ms, i, t->probe_type, &t->probe_kld, err));
        const double k = t->probe_kld - tab->base_kld;
        t->alpha = t->probe_energy > 0.0 ? (k > 0.0 ? k : 0.0) / t->probe_energy : 0.0;
        for (int c = 0; c < t->n_types; c++) {
            t->cost[c] = t->alpha * t->energy[c];
        }
        tick(ms);
    }
    return LQ_OK;
}

static lq_status checks(struct measure *ms, struct lq_error *err)
{
    struct lq_opt_table *tab = ms->tab;
    double *x = lqi_calloc((size_t)tab->n, sizeof *x), *e = lqi_calloc((size_t)tab->n, sizeof *e),
           *y = lqi_calloc((size_t)tab->n, sizeof *y);
    lq_status rc = x && e && y ? LQ_OK : lqi_set_error(err, LQ_E_NOMEM, "optimize: out of memory");
    for (int k = 0; rc == LQ_OK && k < ms->p->n_checks; k++) {
        int64_t n = 0;
        for (int64_t i = 0; rc == LQ_OK && i < tab->n; i++) {
            struct lq_opt_tensor *t = &tab->t[i];
            t->check_kld[k] = NAN;
            if (!isnan(t->check_energy[k])) {
                rc = single_tensor_kld(ms, i, ms->p->checks[k], &t->check_kld[k], err);
                x[n] = t->alpha * t->check_energy[k];
                e[n] = t->check_energy[k];
                y[n++] = t->check_kld[k];
            }
            tick(ms);
        }
        tab->rho_cost[k] = lq_opt_spearman(x, y, n);
        tab->rho_energy[k] = lq_opt_spearman(e, y, n);
    }
    lqi_free(x);
    lqi_free(e);
    lqi_free(y);
    return rc;
}

static lq_status reference(struct measure *ms, struct lq_error *err)
{
    struct lq_eval_params ep = lq_eval_params_default();
    ep.n_ctx = ms->c.n_ctx;
    ep.n_chunks = ms->p->kld_chunks;
    ep.save_logits = ms->ref_path;
    struct lq_eval_result r;
    LQ_TRY(lq_eval_perplexity(ms->m, ms->c.tokens, ms->c.n_chunks * ms->c.n_ctx, &ep, &r, err));
    return kld_now(ms, &ms->tab->base_kld, err);
}

static lq_status run(struct measure *ms, const char *model_path, const char *calib_path,
                     struct lq_error *err)
{
    const struct lq_opt_params *p = ms->p;
    struct lq_model_params mp = lq_model_params_default();
    mp.n_threads = p->gp.n_threads;
    mp.n_ctx = p->calib_ctx;
    mp.n_batch = p->calib_ctx;
    lq_tokenizer *tok = NULL;
    lq_status rc = lq_model_open_path(model_path, &mp, &ms->m, &tok, err);
    /* the first kld_chunks chunks score the responses, the first calib_tokens the Hessians */
    const int64_t chunks = p->calib_tokens / p->calib_ctx;
    const int64_t least = p->kld_chunks > 2 ? p->kld_chunks : 2; /* the evaluation's minimum */
    const int64_t want = chunks > least ? chunks : least;
    if (rc == LQ_OK) {
        rc = lq_calib_load(calib_path, tok, p->calib_ctx, least, want, &ms->c, err);
    }
    lq_tokenizer_free(tok);
    if (rc == LQ_OK) {
        rc = build_table(ms, err);
    }
    ms->stage = "reference";
    if (rc == LQ_OK) {
        rc = reference(ms, err);
    }
    ms->stage = "energy";
    ms->done = 0;
    ms->total = ms->tab->n;
    struct lq_calib hc = ms->c; /* the Hessians use calib_tokens of it */
    hc.n_chunks = chunks < 1 ? 1 : chunks < ms->c.n_chunks ? chunks : ms->c.n_chunks;
    if (rc == LQ_OK) {
        rc = lq_calib_gptq(ms->m, &hc, 0, 0, on_layer_weight, ms, err);
    }
    if (rc == LQ_OK) {
        rc = global_energies(ms, err);
    }
    ms->stage = "response";
    ms->done = 0;
    if (rc == LQ_OK) {
        rc = responses(ms, err);
    }
    ms->stage = "validate";
    ms->done = 0;
    ms->total = ms->tab->n * p->n_checks;
    if (rc == LQ_OK) {
        rc = checks(ms, err);
    }
    return rc;
}

lq_status lq_opt_measure(const char *model_path, const char *calib_path,
                         const struct lq_opt_params *p, struct lq_opt_table *out,
                         struct lq_error *err)
{
    LQ_FAIL_IF(!model_path || !calib_path || !p || !out, err, LQ_E_INVALID_ARG,
               "optimize: NULL argument");
    LQ_FAIL_IF(p->calib_ctx < 8 || p->kld_chunks < 1 || p->n_checks < 0 ||
                   p->n_checks > LQ_OPT_MAX_CHECKS || p->n_types < 0 ||
                   p->n_types > LQ_OPT_MAX_TYPES, err, LQ_E_INVALID_ARG,
               "optimize: bad parameters");
    const double t0 = lqp_now_seconds();
    memset(out, 0, sizeof *out);
    struct lq_opt_params pp = *p;
    if (pp.n_types == 0) {
        pp.n_types = lq_opt_default_types(pp.types, LQ_OPT_MAX_TYPES);
    }
    struct measure ms = {.p = &pp, .tab = out};
    char tmp[] = "/tmp/lq-optimize-XXXXXX";
    const char *dir = p->work_dir;
    if (!dir) {
        LQ_FAIL_IF(!mkdtemp(tmp), err, LQ_E_IO, "optimize: cannot make a temporary folder");
        dir = tmp;
    }
    snprintf(ms.ref_path, sizeof ms.ref_path, "%s/optimize-reference.logits", dir);
    lq_status rc = run(&ms, model_path, calib_path, err);
    out->n_checks = pp.n_checks;
    memcpy(out->checks, pp.checks, sizeof out->checks);
    if (!p->work_dir) {
        unlink(ms.ref_path);
        rmdir(tmp);
    }
    for (int64_t i = 0; ms.imp && i < out->n; i++) {
        lqi_free(ms.imp[i]);
    }
    lqi_free(ms.imp);
    lqi_free(ms.h);
    lqi_free(ms.deq);
    lqi_free(ms.eb);
    lqi_free(ms.w32);
    lqi_free(ms.q);
    lq_calib_free(&ms.c);
    lq_model_free(ms.m);
    out->seconds = lqp_now_seconds() - t0;
    if (rc != LQ_OK) {
        lq_opt_table_free(out);
    }
    return rc;
}

void lq_opt_table_free(struct lq_opt_table *t)
{
    if (t) {
        lqi_free(t->t);
        t->t = NULL;
        t->n = 0;
    }
}

/* Ranks 1..n, ties sharing their average rank. */
static void ranks(const double *v, int64_t n, double *r, int64_t *idx)
{
    for (int64_t i = 0; i < n; i++) {
        idx[i] = i;
    }
    for (int64_t i = 1; i < n; i++) { /* insertion sort: n is a model's tensor count */
        const int64_t k = idx[i];
        int64_t j = i - 1;
        while (j >= 0 && v[idx[j]] > v[k]) {
            idx[j + 1] = idx[j];
            j--;
        }
        idx[j + 1] = k;
    }
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j + 1 < n && v[idx[j + 1]] == v[idx[i]]) {
            j++;
        }
        for (int64_t k = i; k <= j; k++) {
            r[idx[k]] = 0.5 * (double)(i + j) + 1.0;
        }
        i = j + 1;
    }
}

double lq_opt_spearman(const double *x, const double *y, int64_t n)
{
    if (n < 2) {
        return 0.0;
    }
    double *rx = lqi_malloc((size_t)n * sizeof *rx), *ry = lqi_malloc((size_t)n * sizeof *ry);
    int64_t *idx = lqi_malloc((size_t)n * sizeof *idx);
    double rho = 0.0;
    if (rx && ry && idx) {
        ranks(x, n, rx, idx);
        ranks(y, n, ry, idx);
        double mx = 0.0, my = 0.0, sxy = 0.0, sxx = 0.0, syy = 0.0;
        for (int64_t i = 0; i < n; i++) {
            mx += rx[i] / (double)n;
            my += ry[i] / (double)n;
        }
        for (int64_t i = 0; i < n; i++) {
            sxy += (rx[i] - mx) * (ry[i] - my);
            sxx += (rx[i] - mx) * (rx[i] - mx);
            syy += (ry[i] - my) * (ry[i] - my);
        }
        rho = sxx > 0.0 && syy > 0.0 ? sxy / sqrt(sxx * syy) : 0.0;
    }
    lqi_free(rx);
    lqi_free(ry);
    lqi_free(idx);
    return rho;
}
