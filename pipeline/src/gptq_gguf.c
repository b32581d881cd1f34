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
#include "gptq_visit.h"
#include "lqi.h"
#include "pipeline_time.h"
#include "spill.h"

/* A quantized weight kept until the file is written (an expert stack: all its experts): in
 * memory while its layer runs (the forward pass uses it), then in the spill file. */
struct kept {
    char name[96];
    enum lq_type type;
    int64_t layer;
    void *data;       /* NULL once spilled */
    uint64_t offset;  /* in the spill file */
    size_t nbytes;
    int64_t n_mat; /* matrices (experts) in data, each nbytes / n_mat */
};

struct job {
    const struct lq_gptq_gguf_params *p;
    lq_source *src;
    enum lq_type *plan; /* type of each source tensor */
    struct kept *kept;
    int64_t n_kept, n_weights, n_done;
    double loss;
    struct lqp_spill spill;
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

/* Quantizes w (nrows x ncols) into dst in `type`: GPTQ's blocks when the type allows and the
 * Hessian has samples, else llama.cpp's rounding (a type GPTQ cannot target; an expert no
 * calibration token was routed to, which has no Hessian to weight its error: rounded as
 * `quant quantize` rounds it). */
static lq_status quantize_into(const struct job *j, const char *name, enum lq_type type,
                               const float *w, int64_t nrows, int64_t ncols, const lq_hessian *h,
                               bool unrouted, void *dst, size_t size, double *loss,
                               const char **method, struct lq_error *err)
{
    *loss = 0.0;
    if (lq_gptq_gguf_supported(type) && !unrouted && !j->p->round_all) {
        struct lq_gptq_params gp = j->p->gp;
        gp.static_groups = gp.static_groups || gp.act_order;
        struct lq_gptq_gguf_out out = {.type = type, .blocks = dst, .size = size};
        *method = j->p->rtn ? "rtn" : "gptq";
        lq_status s = lq_gptq_quantize_gguf(w, nrows, h, &gp, &out, err);
        *loss = out.loss;
        return s;
    }
    *method = "round";
    struct lq_quantize_params qp = lq_quantize_params_default();
    qp.tensor_name = name;
    qp.nthreads = rounding_threads(j->p);
    float *imp = NULL;
    if (j->p->round_importance && !j->p->rtn && !unrouted) {
        imp = lqi_malloc((size_t)ncols * sizeof *imp);
        LQ_FAIL_IF(!imp, err, LQ_E_NOMEM, "%s: out of memory", name);
        lq_hessian_importance(h, imp);
        qp.imatrix = imp;
    }
    size_t written = 0;
    lq_status s = lq_quantize_rows(type, w, nrows, ncols, dst, size, &qp, &written, err);
    lqi_free(imp);
    return s;
}

/* The kept weight `name`, made on first use with its planned type and room for the whole
 * source tensor (every expert of a stack), whose matrices must be nrows x ncols. */
static struct kept *kept_for(struct job *j, const char *name, int64_t nrows, int64_t ncols,
                             struct lq_error *err)
{
    for (int64_t i = 0; i < j->n_kept; i++) {
        if (strcmp(j->kept[i].name, name) == 0) {
            return &j->kept[i];
        }
    }
    const int64_t id = lq_source_find_tensor(j->src, name);
    if (id < 0) {
        lqi_set_error(err, LQ_E_NOT_FOUND, "%s: tensor '%s' is missing",
                      lq_source_path(j->src), name);
        return NULL;
    }
    const struct lq_source_tensor *t = lq_source_tensor(j->src, id);
    if (t->ne[0] != ncols || t->ne[1] != nrows) {
        lqi_set_error(err, LQ_E_INVALID_ARG, "%s: '%s' is %lld x %lld, the model's %lld x %lld",
                      lq_source_path(j->src), name, (long long)t->ne[1], (long long)t->ne[0],
                      (long long)nrows, (long long)ncols);
        return NULL;
    }
    struct kept *nk = lqi_realloc(j->kept, (size_t)(j->n_kept + 1) * sizeof *nk);
    if (!nk) {
        lqi_set_error(err, LQ_E_NOMEM, "gptq: out of memory");
        return NULL;
    }
    j->kept = nk;
    struct kept *k = &j->kept[j->n_kept];
    memset(k, 0, sizeof *k);
    snprintf(k->name, sizeof k->name, "%s", name);
    k->type = j->plan[id];
    k->n_mat = t->ne[2] * t->ne[3];
    k->nbytes = lq_row_size(k->type, ncols) * (size_t)nrows * (size_t)k->n_mat;
    k->data = lqi_malloc(k->nbytes ? k->nbytes : 1);
    if (!k->data) {
        lqi_set_error(err, LQ_E_NOMEM, "%s: out of memory", name);
        return NULL;
    }
    j->n_kept++;
    return k;
}

/* Moves the weights of the layers before `layer` to the spill file: the model has its own
 * weights of those layers back (lq_calib_gptq), so memory holds one layer's blocks. */
static lq_status spill_before(struct job *j, int64_t layer, struct lq_error *err)
{
    for (int64_t i = 0; i < j->n_kept; i++) {
        struct kept *k = &j->kept[i];
        if (k->data && k->layer < layer) {
            LQ_TRY(lqp_spill_put(&j->spill, k->data, k->nbytes, &k->offset, err));
            lqi_free(k->data);
            k->data = NULL;
        }
    }
    return LQ_OK;
}

static lq_status on_weight(void *user, int64_t layer, enum lq_layer_weight which, int64_t expert,
                           const float *w, int64_t nrows, int64_t ncols, const lq_hessian *h,
                           struct lq_model_tensor *use, struct lq_error *err)
{
    struct job *j = user;
    LQ_TRY(spill_before(j, layer, err));
    char name[96];
    snprintf(name, sizeof name, "blk.%lld.%s.weight", (long long)layer,
             expert < 0 ? lq_layer_weight_name(which) : lq_expert_weight_name(which));
    struct kept *k = kept_for(j, name, nrows, ncols, err);
    if (!k) {
        return err ? err->code : LQ_E_NOMEM;
    }
    k->layer = layer;
    LQ_FAIL_IF(expert >= k->n_mat || (expert < 0 && k->n_mat != 1), err, LQ_E_INVALID_ARG,
               "gptq: '%s' holds %lld matrices, expert %lld given", name, (long long)k->n_mat,
               (long long)expert);
    const size_t part = k->nbytes / (size_t)k->n_mat;
    void *dst = (char *)k->data + (expert < 0 ? 0 : (size_t)expert * part);
    const double t0 = lqp_now_seconds();
    const int64_t samples = lq_hessian_nsamples(h);
    const bool unrouted = expert >= 0 && samples == 0;
    lq_hessian *eye = NULL;
    if (j->p->rtn) {
        LQ_TRY(lq_hessian_new_identity(ncols, &eye, err));
        h = eye;
    }
    double loss = 0.0;
    const char *method = "gptq";
    lq_status s = quantize_into(j, name, k->type, w, nrows, ncols, h, unrouted, dst, part, &loss,
                                &method, err);
    lq_hessian_free(eye);
    LQ_TRY(s);
    *use = (struct lq_model_tensor){
        .type = k->type, .ne = {ncols, nrows, 1, 1}, .data = dst, .nbytes = part};
    j->loss += loss;
    j->n_done++;
    if (j->p->on_weight) {
        struct lq_gptq_gguf_weight r = {.name = k->name,
                                        .expert = expert,
                                        .type = k->type,
                                        .method = method,
                                        .loss = loss,
                                        .seconds = lqp_now_seconds() - t0,
                                        .samples = samples,
                                        .rows = nrows,
                                        .cols = ncols,
                                        .index = j->n_done - 1,
                                        .n_weights = j->n_weights};
        j->p->on_weight(j->p->user, &r);
    }
    return LQ_OK;
}

static lq_status supply(const char *name, enum lq_type to, const void **data, size_t *nbytes,
                        void *user, struct lq_error *err)
{
    struct job *j = user;
    for (int64_t i = 0; i < j->n_kept; i++) {
        const struct kept *k = &j->kept[i];
        if (strcmp(k->name, name) == 0 && k->type == to) {
            *nbytes = k->nbytes;
            if (k->data) {
                *data = k->data;
                return LQ_OK;
            }
            return lqp_spill_get(&j->spill, k->offset, k->nbytes, data, err);
        }
    }
    return LQ_OK;
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

int64_t lqp_gptq_weights_visited(const lq_model *m, int64_t first_layer, int64_t n_layers)
{
    const int64_t n_layer = lq_model_get_hparams(m)->n_layer;
    const int64_t first = first_layer < n_layer ? first_layer : n_layer;
    const int64_t n = n_layers > 0 && first + n_layers < n_layer ? n_layers : n_layer - first;
    const struct lq_model_hparams *hp = lq_model_get_hparams(m);
    return n * (lq_model_n_layer_weights(m) + 3 * hp->n_expert); /* experts: one by one */
}

lq_status lq_gptq_gguf_run(lq_model *m, const struct lq_calib *c, const char *model_path,
                           const char *out_path, const struct lq_gptq_gguf_params *p,
                           struct lq_gptq_gguf_summary *sum, struct lq_error *err)
{
    LQ_FAIL_IF(!m || !c || !model_path || !out_path || !p, err, LQ_E_INVALID_ARG,
               "gptq: NULL argument");
    struct job j = {.p = p, .n_weights = lqp_gptq_weights_visited(m, p->first_layer, p->n_layers)};
    lq_status s = lqp_spill_init(&j.spill, out_path, err);
    if (s == LQ_OK) {
        s = prepare(&j, model_path, err);
    }
    if (s == LQ_OK) {
        s = lq_calib_gptq(m, c, p->first_layer, p->n_layers, on_weight, &j, err);
    }
    if (s == LQ_OK) {
        struct lq_convert_params cp = convert_params(&j);
        cp.tensor_data = supply;
        cp.tensor_data_user = &j;
        s = lq_convert_run(j.src, out_path, &cp, NULL, err);
    }
    if (sum) {
        *sum = (struct lq_gptq_gguf_summary){
            .n_weights = j.n_done, .loss = j.loss, .n_chunks = c->n_chunks, .n_ctx = c->n_ctx};
    }
    for (int64_t i = 0; i < j.n_kept; i++) {
        lqi_free(j.kept[i].data);
    }
    lqi_free(j.kept);
    lqi_free(j.plan);
    lqp_spill_close(&j.spill);
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
