/* gptq_st_out.c - `quant gptq --format safetensors`: filled in below. */
#include "calib_cli.h"
#include "gptq_job.h"

lq_status gptq_st_weight(struct gptq_job *j, int64_t layer, enum lq_layer_weight which,
                         const float *w, int64_t nrows, int64_t ncols, const lq_hessian *h,
                         struct gptq_kept *k, double *loss, struct lq_error *err)
{
    (void)j; (void)layer; (void)which; (void)w; (void)nrows; (void)ncols; (void)h; (void)k;
    (void)loss;
    return cli_set_error(err, LQ_E_UNSUPPORTED, "not yet");
}
lq_status gptq_st_write(struct gptq_job *j, struct lq_error *err)
{
    (void)j;
    return cli_set_error(err, LQ_E_UNSUPPORTED, "not yet");
}
