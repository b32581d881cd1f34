/* gptq_job.h - the state of one `quant gptq` run (tools/cmd_gptq.c, gptq_st_out.c; GGUF
 * output is the library's, lq/gptq_gguf.h). */
#ifndef LQ_GPTQ_JOB_H
#define LQ_GPTQ_JOB_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "lq/calib.h"
#include "lq/gptq.h"
#include "lq/gptq_gguf.h"
#include "lq/gptq_st.h"
#include "lq/source.h"
#include "progress.h"

struct gptq_opts {
    const char *model, *calib, *out, *log;
    bool safetensors;
    bool force;          /* replace an existing non-empty output folder (safetensors) */
    enum lq_ftype ftype; /* GGUF output */
    bool pure;
    bool rtn; /* baseline: round to nearest on GPTQ's grid (identity Hessian, one chunk) */
    struct lq_gptq_params gp;
    int64_t calib_tokens, calib_ctx, threads, first_layer, n_layers;
    bool json, quiet;
};

/* A quantized weight kept until the output is written (safetensors). */
struct gptq_kept {
    char name[96];
    enum lq_type type;
    void *data; /* F32 dequantized weights */
    size_t nbytes;
};

struct gptq_job {
    struct gptq_opts o;
    lq_source *src;
    lq_gptq_st *stw; /* safetensors output */
    struct gptq_kept *kept;
    int64_t n_kept;
    int64_t n_weights; /* quantized, for the summary */
    json_t *log_layers;
    double loss_sum;
    struct progress bar;
    int64_t n_total;    /* block weights GPTQ will visit (safetensors output's bar) */
    bool weight_lines;  /* a line per weight on stderr (not under a bar on the terminal) */
    int64_t n_unrouted; /* expert matrices no calibration token reached (rounded plainly) */
};

/* Quantizes one weight to GPTQ integers, adds it to the safetensors writer in Hugging Face row
 * order and keeps its dequantized F32 copy for the forward pass (gptq_st_out.c). */
lq_status gptq_st_weight(struct gptq_job *j, int64_t layer, enum lq_layer_weight which,
                         const float *w, int64_t nrows, int64_t ncols, const lq_hessian *h,
                         struct gptq_kept *k, double *loss, struct lq_error *err);
/* Refuses, before any work, a config or side file of the model folder that the output would
 * copy and that leads outside the folder or is not a regular file. */
lq_status gptq_st_check_inputs(const struct gptq_job *j, struct lq_error *err);

/* Adds embeddings, norms and lm_head as F16 and writes the folder with tokenizer files: built
 * under a temporary name beside OUT and renamed into place (lq_out_dir). */
lq_status gptq_st_write(struct gptq_job *j, struct lq_error *err);

#endif
