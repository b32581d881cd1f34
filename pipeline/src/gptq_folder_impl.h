/* gptq_folder_impl.h - the state of one GPTQ folder job (gptq_folder.c quantizes,
 * gptq_folder_write.c writes the folder). */
#ifndef LQ_GPTQ_FOLDER_IMPL_H
#define LQ_GPTQ_FOLDER_IMPL_H

#include "lq/gptq_folder.h"
#include "lq/gptq_st.h"
#include "lq/source.h"

/* A weight GPTQ quantized: its name (the writer skips it among the source's tensors) and,
 * while its layer runs, the dequantized F32 copy the forward pass uses (NULL afterwards). */
struct gptq_folder_kept {
    char name[96];
    int64_t layer;
    float *data;
    size_t nbytes;
};

struct gptq_folder_job {
    const struct lq_gptq_folder_params *p;
    const char *out_dir;
    lq_source *src;
    lq_gptq_st *stw;
    struct gptq_folder_kept *kept;
    int64_t n_kept, n_total; /* quantized so far, to visit */
    double loss;
};

/* Adds the tensors GPTQ did not quantize and writes the folder (config.json with the
 * quantization config, the side files) under a temporary name, then renames it into place. */
lq_status lqp_gptq_folder_write(struct gptq_folder_job *j, struct lq_error *err);

/* Config and side files the folder copies: each a plain member of the model folder. */
lq_status lqp_gptq_folder_check_members(const char *model_path, struct lq_error *err);

#endif
