/* gptq_gguf.c - `quant gptq --format gguf`: GPTQ into llama.cpp's block types, written with the
 * convert pipeline (llama.cpp's recipe for every tensor GPTQ does not produce). */
#include <stdlib.h>
#include <string.h>

#include "calib_cli.h"
#include "gptq_job.h"
#include "lq/quantize.h"

lq_status gptq_gguf_weight(struct gptq_job *j, const char *name, const float *w, int64_t nrows,
                           int64_t ncols, const lq_hessian *h, struct gptq_kept *k, double *loss,
                           const char **method, struct lq_error *err)
{
    const int64_t id = lq_source_find_tensor(j->src, name);
    if (id < 0) {
        return cli_set_error(err, LQ_E_NOT_FOUND, "%s: tensor '%s' is missing",
                             lq_source_path(j->src), name);
    }
    const enum lq_type type = j->plan[id];
    k->type = type;
    k->nbytes = lq_row_size(type, ncols) * (size_t)nrows;
    k->data = malloc(k->nbytes ? k->nbytes : 1);
    if (!k->data) {
        return cli_set_error(err, LQ_E_NOMEM, "%s: out of memory", name);
    }
    *loss = 0.0;
    if (lq_gptq_gguf_supported(type)) {
        struct lq_gptq_params gp = j->o.gp;
        /* a block's grid must be fixed before act-order visits its columns out of order */
        gp.static_groups = gp.static_groups || gp.act_order;
        struct lq_gptq_gguf_out out = {.type = type, .blocks = k->data, .size = k->nbytes};
        *method = j->o.rtn ? "rtn" : "gptq";
        lq_status rc = lq_gptq_quantize_gguf(w, nrows, h, &gp, &out, err);
        *loss = out.loss;
        return rc;
    }
    /* types GPTQ cannot target (F16, Q2_K, Q3_K, ...) get llama.cpp's rounding */
    *method = "round";
    struct lq_quantize_params qp = lq_quantize_params_default();
    qp.tensor_name = name;
    qp.nthreads = (int)(j->o.threads > 0 ? j->o.threads : 1);
    size_t written = 0;
    return lq_quantize_rows(type, w, nrows, ncols, k->data, k->nbytes, &qp, &written, err);
}

static bool supply(const char *name, enum lq_type to, const void **data, size_t *nbytes, void *user)
{
    const struct gptq_job *j = user;
    for (int64_t i = 0; i < j->n_kept; i++) {
        if (strcmp(j->kept[i].name, name) == 0 && j->kept[i].type == to) {
            *data = j->kept[i].data;
            *nbytes = j->kept[i].nbytes;
            return true;
        }
    }
    return false;
}

lq_status gptq_gguf_write(struct gptq_job *j, struct lq_error *err)
{
    struct lq_convert_params p = lq_convert_params_default();
    p.ftype = j->o.ftype;
    p.pure = j->o.pure;
    p.nthreads = (int)(j->o.threads > 0 ? j->o.threads : 1);
    p.tensor_data = supply;
    p.tensor_data_user = j;
    return lq_convert_run(j->src, j->o.out, &p, NULL, err);
}
