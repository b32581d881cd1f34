/* gptq_folder.c - sequential GPTQ into a GPTQ v1 Hugging Face folder: lq_calib_gptq visits
 * the block weights, each is quantized to integer codes that go to the safetensors writer in
 * Hugging Face row order, and its dequantized copy feeds the later layers. */
#include <stdio.h>
#include <string.h>

#include "gptq_folder_impl.h"
#include "gptq_visit.h"
#include "lq/file_io.h"
#include "lq/llama_map.h"
#include "lqi.h"
#include "pipeline_time.h"

struct lq_gptq_folder_params lq_gptq_folder_params_default(void)
{
    return (struct lq_gptq_folder_params){.gp = lq_gptq_params_default()};
}

/* GPTQ's integer codes, scales, zeros and column groups of one weight. */
struct codes {
    uint8_t *q;
    float *scales;
    int32_t *zeros, *g_idx;
};

static void codes_free(struct codes *l)
{
    lqi_free(l->q);
    lqi_free(l->scales);
    lqi_free(l->zeros);
    lqi_free(l->g_idx);
}

static bool codes_alloc(struct codes *l, int64_t nrows, int64_t ncols, int64_t ng)
{
    l->q = lqi_malloc((size_t)(nrows * ncols));
    l->scales = lqi_malloc((size_t)(ng * nrows) * sizeof(float));
    l->zeros = lqi_malloc((size_t)(ng * nrows) * sizeof(int32_t));
    l->g_idx = lqi_malloc((size_t)ncols * sizeof(int32_t));
    return l->q && l->scales && l->zeros && l->g_idx;
}

/* GPTQ ran on the weight in GGUF row order (q/k heads permuted); the file wants Hugging
 * Face's order back: HF row r is GGUF row lq_llama_permuted_row(r). */
static void unpermute(const struct codes *g, struct codes *hf, int64_t nrows, int64_t ncols,
                      int64_t ng, int n_head)
{
    for (int64_t r = 0; r < nrows; r++) {
        const int64_t from = lq_llama_permuted_row(r, nrows, n_head);
        memcpy(hf->q + r * ncols, g->q + from * ncols, (size_t)ncols);
        for (int64_t k = 0; k < ng; k++) {
            hf->scales[k * nrows + r] = g->scales[k * nrows + from];
            hf->zeros[k * nrows + r] = g->zeros[k * nrows + from];
        }
    }
    memcpy(hf->g_idx, g->g_idx, (size_t)ncols * sizeof(int32_t));
}

/* "model.layers.3.self_attn.q_proj.weight" -> "model.layers.3.self_attn.q_proj" */
static void hf_prefix(const char *src_name, char *out, size_t cap)
{
    const char *dot = strrchr(src_name, '.');
    snprintf(out, cap, "%.*s", (int)(dot ? dot - src_name : (long)strlen(src_name)), src_name);
}

static lq_status add_codes(struct gptq_folder_job *j, const struct lq_source_tensor *t,
                           const struct codes *L, const struct lq_gptq_result *res, int64_t nrows,
                           int64_t ncols, struct lq_error *err)
{
    const int64_t ng = lq_gptq_n_groups(ncols, j->p->gp.group_size);
    struct codes hf = {0};
    struct lq_gptq_result out = *res;
    lq_status rc = LQ_OK;
    if (t->permute_heads > 0) {
        if (!codes_alloc(&hf, nrows, ncols, ng)) {
            rc = lqi_set_error(err, LQ_E_NOMEM, "%s: out of memory", t->name);
        } else {
            unpermute(L, &hf, nrows, ncols, ng, t->permute_heads);
            out = (struct lq_gptq_result){hf.q, hf.scales, hf.zeros, hf.g_idx, NULL, res->loss};
        }
    }
    char prefix[128];
    hf_prefix(t->src_name, prefix, sizeof prefix);
    if (rc == LQ_OK) {
        rc = lq_gptq_st_add_layer(j->stw, prefix, &out, nrows, ncols, err);
    }
    codes_free(&hf);
    return rc;
}

/* Quantizes one weight into k (its dequantized copy) and the writer; *loss: GPTQ's loss. */
static lq_status quantize_weight(struct gptq_folder_job *j, const float *w, int64_t nrows,
                                 int64_t ncols, const lq_hessian *h, struct gptq_folder_kept *k,
                                 double *loss, struct lq_error *err)
{
    const int64_t id = lq_source_find_tensor(j->src, k->name);
    LQ_FAIL_IF(id < 0, err, LQ_E_NOT_FOUND, "%s: tensor '%s' is missing", lq_source_path(j->src),
               k->name);
    const int64_t ng = lq_gptq_n_groups(ncols, j->p->gp.group_size);
    struct codes L = {0};
    k->nbytes = (size_t)(nrows * ncols) * sizeof(float);
    k->data = lqi_malloc(k->nbytes);
    if (!k->data || !codes_alloc(&L, nrows, ncols, ng)) {
        codes_free(&L);
        return lqi_set_error(err, LQ_E_NOMEM, "%s: out of memory", k->name);
    }
    struct lq_gptq_result res = {L.q, L.scales, L.zeros, L.g_idx, k->data, 0.0};
    lq_status rc = lq_gptq_quantize(w, nrows, h, &j->p->gp, &res, err);
    *loss = res.loss;
    if (rc == LQ_OK) {
        rc = add_codes(j, lq_source_tensor(j->src, id), &L, &res, nrows, ncols, err);
    }
    codes_free(&L);
    return rc;
}

/* The F32 copies of the layers before `layer`: the model has its own weights of those layers
 * back (lq_calib_gptq), so memory holds one layer's copies, not the model's. */
static void release_before(struct gptq_folder_job *j, int64_t layer)
{
    for (int64_t i = j->n_kept - 1; i >= 0 && j->kept[i].layer < layer; i--) {
        lqi_free(j->kept[i].data);
        j->kept[i].data = NULL;
    }
}

/* lq_calib_gptq's sink: one block weight. */
static lq_status on_weight(void *user, int64_t layer, enum lq_layer_weight which, int64_t expert,
                           const float *w, int64_t nrows, int64_t ncols, const lq_hessian *h,
                           struct lq_model_tensor *use, struct lq_error *err)
{
    struct gptq_folder_job *j = user;
    LQ_FAIL_IF(expert >= 0, err, LQ_E_UNSUPPORTED, "gptq: experts in a safetensors folder");
    release_before(j, layer);
    struct gptq_folder_kept *nk = lqi_realloc(j->kept, (size_t)(j->n_kept + 1) * sizeof *nk);
    LQ_FAIL_IF(!nk, err, LQ_E_NOMEM, "gptq: out of memory");
    j->kept = nk;
    struct gptq_folder_kept *k = &j->kept[j->n_kept];
    memset(k, 0, sizeof *k);
    snprintf(k->name, sizeof k->name, "blk.%lld.%s.weight", (long long)layer,
             lq_layer_weight_name(which));
    k->layer = layer;
    const double t0 = lqp_now_seconds();
    double loss = 0.0;
    lq_hessian *eye = NULL;
    if (j->p->rtn) {
        LQ_TRY(lq_hessian_new_identity(ncols, &eye, err));
        h = eye;
    }
    const int64_t samples = lq_hessian_nsamples(h);
    lq_status rc = quantize_weight(j, w, nrows, ncols, h, k, &loss, err);
    lq_hessian_free(eye);
    j->n_kept += k->data != NULL; /* freed with the job, even after a failure */
    LQ_TRY(rc);
    *use = (struct lq_model_tensor){
        .type = LQ_TYPE_F32, .ne = {ncols, nrows, 1, 1}, .data = k->data, .nbytes = k->nbytes};
    j->loss += loss;
    if (j->p->on_weight) {
        const struct lq_gptq_gguf_weight r = {.name = k->name,
                                              .expert = -1,
                                              .type = LQ_TYPE_F32,
                                              .method = j->p->rtn ? "rtn" : "gptq",
                                              .loss = loss,
                                              .seconds = lqp_now_seconds() - t0,
                                              .samples = samples,
                                              .rows = nrows,
                                              .cols = ncols,
                                              .index = j->n_kept - 1,
                                              .n_weights = j->n_total};
        j->p->on_weight(j->p->user, &r);
    }
    return LQ_OK;
}

/* The opened source of model_path: a Hugging Face folder whose side files are plain members. */
static lq_status check_source(const lq_source *src, const char *model_path, struct lq_error *err)
{
    const enum lq_source_kind kind = lq_source_get_kind(src);
    LQ_FAIL_IF(kind != LQ_SOURCE_HF_SAFETENSORS && kind != LQ_SOURCE_HF_PYTORCH, err,
               LQ_E_INVALID_ARG,
               "%s: --format safetensors needs a Hugging Face folder (its config.json and "
               "tokenizer are copied), not %s",
               model_path, lq_source_describe(src));
    return lqp_gptq_folder_check_members(model_path, err);
}

lq_status lq_gptq_folder_check_input(const char *model_path, struct lq_error *err)
{
    LQ_FAIL_IF(!model_path, err, LQ_E_INVALID_ARG, "gptq: NULL argument");
    lq_source *src = NULL;
    LQ_TRY(lq_source_open(model_path, &src, err));
    const lq_status rc = check_source(src, model_path, err);
    lq_source_free(src);
    return rc;
}

lq_status lq_gptq_folder_run(lq_model *m, const struct lq_calib *c, const char *model_path,
                             const char *out_dir, const struct lq_gptq_folder_params *p,
                             struct lq_gptq_folder_summary *sum, struct lq_error *err)
{
    LQ_FAIL_IF(!m || !c || !model_path || !out_dir || !p, err, LQ_E_INVALID_ARG,
               "gptq: NULL argument");
    const int64_t n_expert = lq_model_get_hparams(m)->n_expert;
    LQ_FAIL_IF(n_expert > 0, err, LQ_E_UNSUPPORTED,
               "%s: --format safetensors does not write mixture-of-experts models (%lld "
               "experts); --format gguf quantizes each expert from the tokens routed to it",
               model_path, (long long)n_expert);
    LQ_TRY(lq_out_dir_check(out_dir, p->force, err)); /* before the work, not after */
    struct gptq_folder_job j = {.p = p,
                                .out_dir = out_dir,
                                .n_total = lqp_gptq_weights_visited(m, p->first_layer,
                                                                    p->n_layers)};
    lq_status rc = lq_source_open(model_path, &j.src, err);
    if (rc == LQ_OK) {
        rc = check_source(j.src, model_path, err);
    }
    if (rc == LQ_OK) {
        struct lq_gptq_st_config cfg = lq_gptq_st_config_from_params(&p->gp);
        cfg.true_sequential = true;
        rc = lq_gptq_st_new(&cfg, &j.stw, err);
    }
    if (rc == LQ_OK) {
        rc = lq_calib_gptq(m, c, p->first_layer, p->n_layers, on_weight, &j, err);
    }
    if (rc == LQ_OK) {
        rc = lqp_gptq_folder_write(&j, err);
    }
    if (sum) {
        *sum = (struct lq_gptq_folder_summary){.n_weights = j.n_kept, .loss = j.loss};
    }
    for (int64_t i = 0; i < j.n_kept; i++) {
        lqi_free(j.kept[i].data);
    }
    lqi_free(j.kept);
    lq_gptq_st_free(j.stw);
    lq_source_free(j.src);
    return rc;
}
