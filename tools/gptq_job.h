/* gptq_job.h - the state of one `quant gptq` run (tools/cmd_gptq.c, gptq_gguf.c,
 * gptq_st_out.c). */
#ifndef LQ_GPTQ_JOB_H
#define LQ_GPTQ_JOB_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "lq/calib.h"
#include "lq/convert.h"
#include "lq/gptq.h"
#include "lq/gptq_st.h"
#include "lq/source.h"

struct gptq_opts {
    const char *model, *calib, *out, *log;
    bool safetensors;
    enum lq_ftype ftype; /* GGUF output */
    bool pure;
    bool rtn; /* baseline: round to nearest on GPTQ's grid (identity Hessian, one chunk) */
    struct lq_gptq_params gp;
    int64_t calib_tokens, calib_ctx, threads, first_layer, n_layers;
};

/* A quantized weight kept until the output is written. */
struct gptq_kept {
    char name[96];
    enum lq_type type;
    void *data; /* blocks (GGUF) or F32 dequantized weights (safetensors) */
    size_t nbytes;
};

struct gptq_job {
    struct gptq_opts o;
    lq_source *src;
    enum lq_type *plan;       /* GGUF output: type of each source tensor */
    lq_gptq_st *stw;          /* safetensors output */
    struct gptq_kept *kept;
    int64_t n_kept;
    json_t *log_layers;
    double loss_sum;
};

/* Quantizes one weight into its GGUF block type (GPTQ when the type allows, else llama.cpp's
 * rounding) and keeps the blocks (gptq_gguf.c). */
lq_status gptq_gguf_weight(struct gptq_job *j, const char *name, const float *w, int64_t nrows,
                           int64_t ncols, const lq_hessian *h, struct gptq_kept *k,
                           double *loss, const char **method, struct lq_error *err);
/* Writes the GGUF file: kept blocks for the block weights, llama.cpp's recipe for the rest. */
lq_status gptq_gguf_write(struct gptq_job *j, struct lq_error *err);

/* Quantizes one weight to GPTQ integers, adds it to the safetensors writer in Hugging Face row
 * order and keeps its dequantized F32 copy for the forward pass (gptq_st_out.c). */
lq_status gptq_st_weight(struct gptq_job *j, int64_t layer, enum lq_layer_weight which,
                         const float *w, int64_t nrows, int64_t ncols, const lq_hessian *h,
                         struct gptq_kept *k, double *loss, struct lq_error *err);
/* Adds embeddings, norms and lm_head as F16 and writes the folder with tokenizer files. */
lq_status gptq_st_write(struct gptq_job *j, struct lq_error *err);

#endif
