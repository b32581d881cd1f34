/* gptq_gguf.c - sequential GPTQ into llama.cpp's block types, written with the convert
 * pipeline: the recipe plans every tensor's type, GPTQ's blocks are supplied for the block
 * weights it quantized, the pipeline rounds the rest as llama.cpp does. */
#include "lq/gptq_gguf.h"

#include <stdio.h>
#include <string.h>

#include "lq/convert.h"
#include "lq/model_open_any.h"
#include "lq/quantize.h"
#include "lq/source.h"
#include "lqi.h"

/* A quantized weight kept until the file is written. */
struct kept {
    char name[96];
    enum lq_type type;
    void *data;
    size_t nbytes;
};

struct job {
    const struct lq_gptq_gguf_params *p;
    lq_source *src;
    enum lq_type *plan; /* type of each source tensor */
    struct kept *kept;
    int64_t n_kept;
};

struct lq_gptq_gguf_params lq_gptq_gguf_params_default(void)
{
    struct lq_gptq_gguf_params p = {.ftype = LQ_FTYPE_MOSTLY_Q4_K_M,
                                    .gp = lq_gptq_params_default()};
    return p;
}

static int rounding_threads(const struct lq_gptq_gguf_params *p)
{
    return p->gp.n_threads > 0 ? p->gp.n_threads : 1;
}

/* Fills k with w in its planned type: GPTQ's blocks when the type allows, else llama.cpp's
 * rounding. */
static lq_status quantize_kept(struct job *j, const float *w, int64_t nrows, int64_t ncols,
                               const lq_hessian *h, struct kept *k,
                               struct lq_gptq_gguf_weight *r, struct lq_error *err)
{
    const int64_t id = lq_source_find_tensor(j->src, k->name);
    LQ_FAIL_IF(id < 0, err, LQ_E_NOT_FOUND, "%s: tensor '%s' is missing", lq_source_path(j->src),
               k->name);
    k->type = j->plan[id];
    r->type = k->type;
    k->nbytes = lq_row_size(k->type, ncols) * (size_t)nrows;
    k->data = lqi_malloc(k->nbytes ? k->nbytes : 1);
    LQ_FAIL_IF(!k->data, err, LQ_E_NOMEM, "%s: out of memory", k->name);
    if (lq_gptq_gguf_supported(k->type) && !j->p->round_all) {
        struct lq_gptq_params gp = j->p->gp;
        gp.static_groups = gp.static_groups || gp.act_order;
        struct lq_gptq_gguf_out out = {.type = k->type, .blocks = k->data, .size = k->nbytes};
        lq_status s = lq_gptq_quantize_gguf(w, nrows, h, &gp, &out, err);
        r->loss = out.loss;
        return s;
    }
    r->method = "round";
    struct lq_quantize_params qp = lq_quantize_params_default();
    qp.tensor_name = k->name;
    qp.nthreads = rounding_threads(j->p);
    float *imp = NULL;
    if (j->p->round_importance && !j->p->rtn) {
        imp = lqi_malloc((size_t)ncols * sizeof *imp);
        LQ_FAIL_IF(!imp, err, LQ_E_NOMEM, "%s: out of memory", k->name);
        lq_hessian_importance(h, imp);
        qp.imatrix = imp;
    }
    size_t written = 0;
    lq_status s = lq_quantize_rows(k->type, w, nrows, ncols, k->data, k->nbytes, &qp, &written,
                                   err);
    lqi_free(imp);
    return s;
}

/* The GGUF sink: each weight's blocks are kept until the convert pipeline writes the file. */
static lq_status keep_weight(void *user, const char *name, const float *w, int64_t nrows,
                             int64_t ncols, const lq_hessian *h, struct lq_model_tensor *use,
                             struct lq_gptq_gguf_weight *r, struct lq_error *err)
{
    struct job *j = user;
    struct kept *nk = lqi_realloc(j->kept, (size_t)(j->n_kept + 1) * sizeof *nk);
    LQ_FAIL_IF(!nk, err, LQ_E_NOMEM, "gptq: out of memory");
    j->kept = nk;
    struct kept *k = &j->kept[j->n_kept];
    memset(k, 0, sizeof *k);
    snprintf(k->name, sizeof k->name, "%s", name);
    lq_status s = quantize_kept(j, w, nrows, ncols, h, k, r, err);
    j->n_kept += k->data != NULL;
    LQ_TRY(s);
    *use = (struct lq_model_tensor){
        .type = k->type, .ne = {ncols, nrows, 1, 1}, .data = k->data, .nbytes = k->nbytes};
    return LQ_OK;
}

static bool supply(const char *name, enum lq_type to, const void **data, size_t *nbytes, void *user)
{
    const struct job *j = user;
    for (int64_t i = 0; i < j->n_kept; i++) {
        if (strcmp(j->kept[i].name, name) == 0 && j->kept[i].type == to) {
            *data = j->kept[i].data;
            *nbytes = j->kept[i].nbytes;
            return true;
        }
    }
    return false;
}

static struct lq_convert_params convert_params(const struct job *j)
{
    struct lq_convert_params cp = lq_convert_params_default();
    cp.ftype = j->p->ftype;
    cp.pure = j->p->pure;
    cp.nthreads = rounding_threads(j->p);
    cp.importance_supplied = j->p->round_importance;
    cp.type_override = j->p->type_override;
    cp.type_override_user = j->p->plan_user;
    cp.add_metadata = j->p->add_metadata;
    cp.add_metadata_user = j->p->plan_user;
    return cp;
}

/* Opens the source and plans every tensor's type before any expensive work. */
static lq_status prepare(struct job *j, const char *model_path, struct lq_error *err)
{
    LQ_TRY(lq_source_open(model_path, &j->src, err));
    const int64_t n = lq_source_n_tensors(j->src);
    j->plan = lqi_calloc((size_t)(n ? n : 1), sizeof *j->plan);
    LQ_FAIL_IF(!j->plan, err, LQ_E_NOMEM, "gptq: out of memory");
    const struct lq_convert_params cp = convert_params(j);
    int n_fallback = 0;
    return lq_convert_plan(j->src, &cp, j->plan, &n_fallback, err);
}

lq_status lq_gptq_gguf_run(lq_model *m, const struct lq_calib *c, const char *model_path,
                           const char *out_path, const struct lq_gptq_gguf_params *p,
                           struct lq_gptq_gguf_summary *sum, struct lq_error *err)
{
    LQ_FAIL_IF(!m || !c || !model_path || !out_path || !p, err, LQ_E_INVALID_ARG,
               "gptq: NULL argument");
    struct job j = {.p = p};
    struct lq_gptq_gguf_summary total = {0};
    lq_status s = prepare(&j, model_path, err);
    if (s == LQ_OK) {
        const struct lq_gptq_sink sink = {.quantize = keep_weight, .user = &j};
        s = lq_gptq_run_sink(m, c, p, &sink, &total, err);
    }
    if (s == LQ_OK) {
        struct lq_convert_params cp = convert_params(&j);
        cp.tensor_data = supply;
        cp.tensor_data_user = &j;
        s = lq_convert_run(j.src, out_path, &cp, NULL, err);
    }
    if (sum) {
        *sum = total;
        sum->n_chunks = c->n_chunks;
        sum->n_ctx = c->n_ctx;
    }
    for (int64_t i = 0; i < j.n_kept; i++) {
        lqi_free(j.kept[i].data);
    }
    lqi_free(j.kept);
    lqi_free(j.plan);
    lq_source_free(j.src);
    return s;
}

lq_status lq_gptq_gguf_file(const char *model_path, const char *calib_path, int64_t calib_ctx,
                            int64_t calib_tokens, const char *out_path,
                            const struct lq_gptq_gguf_params *p, struct lq_gptq_gguf_summary *sum,
                            struct lq_error *err)
{
    LQ_FAIL_IF(!model_path || !calib_path || !p, err, LQ_E_INVALID_ARG, "gptq: NULL argument");
    LQ_FAIL_IF(calib_ctx < 2, err, LQ_E_INVALID_ARG, "gptq: calibration chunks of %lld tokens",
               (long long)calib_ctx);
    const int64_t max_chunks =
        calib_tokens / calib_ctx > 0 && !p->rtn ? calib_tokens / calib_ctx : 1;
    struct lq_model_params mp = lq_model_params_default();
    mp.n_threads = p->gp.n_threads;
    mp.n_ctx = calib_ctx;
    mp.n_batch = calib_ctx;
    lq_model *m = NULL;
    lq_tokenizer *tok = NULL;
    struct lq_calib c = {0};
    lq_status s = lq_model_open_path(model_path, &mp, &m, &tok, err);
    if (s == LQ_OK) {
        s = lq_calib_load(calib_path, tok, calib_ctx, 1, max_chunks, &c, err);
    }
    if (s == LQ_OK) {
        s = lq_gptq_gguf_run(m, &c, model_path, out_path, p, sum, err);
    }
    lq_calib_free(&c);
    lq_tokenizer_free(tok);
    lq_model_free(m);
    return s;
}
