/*
 * lq/gptq_folder.h - a GPTQ v1 Hugging Face folder (what `quant gptq --format safetensors`
 * writes): the block weights of a Hugging Face checkpoint quantized with sequential GPTQ to
 * integer codes with per-group scales and zeros (lq/gptq_st.h, rows back in Hugging Face
 * order), every other tensor as F16 (norms that llama.cpp reads as 1 + w as the checkpoint
 * stores them), config.json with its quantization_config, and the tokenizer and generation
 * files copied. The folder is built under a temporary name beside the output and renamed into
 * place (lq_out_dir). Dense models only: experts need GGUF output (lq/gptq_gguf.h).
 *
 * The same driver as the GGUF output (lq_calib_gptq over the model's layers); only the sink
 * differs. The library prints nothing: each quantized weight is reported through on_weight.
 */
#ifndef LQ_GPTQ_FOLDER_H
#define LQ_GPTQ_FOLDER_H

#include <stdbool.h>
#include <stdint.h>

#include "lq/calib.h"
#include "lq/core.h"
#include "lq/gptq.h"
#include "lq/gptq_gguf.h"
#include "lq/model.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lq_gptq_folder_params {
    /* bits, group_size, sym, act_order, static_groups, damp, block_size, n_threads */
    struct lq_gptq_params gp;
    bool rtn;   /* baseline: an identity Hessian, i.e. round to nearest on GPTQ's grid */
    bool force; /* replace an existing non-empty output folder (lq_out_dir_check) */
    int64_t first_layer, n_layers; /* layers GPTQ visits (n_layers <= 0: to the last); the
                                      others are written as F16 */
    /* one weight done: .type is LQ_TYPE_F32 (the dequantized copy the next layers run on),
     * .expert -1, .method "gptq" or "rtn" */
    void (*on_weight)(void *user, const struct lq_gptq_gguf_weight *w);
    void *user;
};

struct lq_gptq_folder_summary {
    int64_t n_weights; /* block weights quantized */
    double loss;       /* sum of their GPTQ losses */
};

/* 4 bits, group size 128, symmetric (lq_gptq_params_default), all layers, no callback. */
LQ_API struct lq_gptq_folder_params lq_gptq_folder_params_default(void);

/* Refuses, before any work, a model that is not a Hugging Face folder, or a config or side file
 * of it that the output would copy and that leads outside the folder or is not a regular file. */
LQ_API lq_status lq_gptq_folder_check_input(const char *model_path, struct lq_error *err);

/* GPTQ over an opened model m (n_ctx and n_batch >= c->n_ctx) and calibration chunks c, then
 * writes the folder out_dir. model_path is the Hugging Face folder m was opened from. Memory
 * holds one layer's dequantized copies (what the next layer's calibration runs on) and the
 * packed codes of every layer done. m is given back with its own weights (lq_calib_gptq). */
LQ_API lq_status lq_gptq_folder_run(lq_model *m, const struct lq_calib *c, const char *model_path,
                                    const char *out_dir, const struct lq_gptq_folder_params *p,
                                    struct lq_gptq_folder_summary *sum, struct lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LQ_GPTQ_FOLDER_H */
