/* gptq_pass.c - the one per-weight GPTQ pass behind every output (lq_gptq_run_sink): names,
 * the rtn baseline's identity Hessian, timing, counting and reporting; the sink quantizes. */
#include <stdio.h>
#include <time.h>

#include "lq/gptq_gguf.h"
#include "lqi.h"

struct pass {
    const struct lq_gptq_gguf_params *p;
    const struct lq_gptq_sink *sink;
    int64_t n_done, n_weights;
    double loss;
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static lq_status on_weight(void *user, int64_t layer, enum lq_layer_weight which, const float *w,
                           int64_t nrows, int64_t ncols, const lq_hessian *h,
                           struct lq_model_tensor *use, struct lq_error *err)
{
    struct pass *ps = user;
    char name[96];
    snprintf(name, sizeof name, "blk.%lld.%s.weight", (long long)layer,
             lq_layer_weight_name(which));
    const double t0 = now_seconds();
    lq_hessian *eye = NULL;
    if (ps->p->rtn) {
        LQ_TRY(lq_hessian_new_identity(ncols, &eye, err));
        h = eye;
    }
    struct lq_gptq_gguf_weight r = {.name = name,
                                    .method = ps->p->rtn ? "rtn" : "gptq",
                                    .samples = lq_hessian_nsamples(h),
                                    .rows = nrows,
                                    .cols = ncols,
                                    .index = ps->n_done,
                                    .n_weights = ps->n_weights};
    lq_status s = ps->sink->quantize(ps->sink->user, name, w, nrows, ncols, h, use, &r, err);
    lq_hessian_free(eye);
    LQ_TRY(s);
    r.seconds = now_seconds() - t0;
    ps->n_done++;
    ps->loss += r.loss;
    if (ps->p->on_weight) {
        ps->p->on_weight(ps->p->user, &r);
    }
    return LQ_OK;
}

static int64_t weights_visited(const lq_model *m, const struct lq_gptq_gguf_params *p)
{
    const int64_t n_layer = lq_model_get_hparams(m)->n_layer;
    const int64_t first = p->first_layer < n_layer ? p->first_layer : n_layer;
    const int64_t n =
        p->n_layers > 0 && first + p->n_layers < n_layer ? p->n_layers : n_layer - first;
    return n * lq_model_n_layer_weights(m);
}

lq_status lq_gptq_run_sink(lq_model *m, const struct lq_calib *c,
                           const struct lq_gptq_gguf_params *p, const struct lq_gptq_sink *sink,
                           struct lq_gptq_gguf_summary *sum, struct lq_error *err)
{
    LQ_FAIL_IF(!m || !c || !p || !sink || !sink->quantize, err, LQ_E_INVALID_ARG,
               "gptq: NULL argument");
    struct pass ps = {.p = p, .sink = sink, .n_weights = weights_visited(m, p)};
    lq_status s = lq_calib_gptq(m, c, p->first_layer, p->n_layers, on_weight, &ps, err);
    if (sum) {
        *sum = (struct lq_gptq_gguf_summary){
            .n_weights = ps.n_done, .loss = ps.loss, .n_chunks = c->n_chunks, .n_ctx = c->n_ctx};
    }
    return s;
}
