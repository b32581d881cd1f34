/*
 * lq/gptq_gguf.h - a GGUF file of llama.cpp's block types whose block weights are quantized
 * with sequential GPTQ on calibration text (what `quant gptq --format gguf` writes).
 *
 * llama.cpp's recipe for the file type decides every tensor's type (output.weight Q6_K,
 * norms F32, ...), exactly as `quant quantize` would; GPTQ then fills each block weight whose
 * type it can target (lq_gptq_gguf_supported), choosing each code inside the block's grid,
 * so llama.cpp runs the file unchanged. Other block weights (Q2_K/Q3_K in some recipes) get
 * llama.cpp's rounding. The rest of the file is written by the convert pipeline
 * (lq/convert.h).
 *
 * The library prints nothing: each quantized weight is reported through on_weight.
 */
#ifndef LQ_GPTQ_GGUF_H
#define LQ_GPTQ_GGUF_H

#include <stdbool.h>
#include <stdint.h>

#include "lq/calib.h"
#include "lq/core.h"
#include "lq/gguf_writer.h"
#include "lq/gptq.h"
#include "lq/model.h"
#include "lq/recipe.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One block weight done, as the run reports it. */
struct lq_gptq_gguf_weight {
    const char *name;   /* "blk.0.attn_q.weight", "blk.0.ffn_up_exps.weight" */
    int64_t expert;     /* the expert of an expert stack (visited one by one); -1: dense */
    enum lq_type type;  /* the block type written */
    const char *method; /* "gptq", "rtn" (params.rtn) or "round" (a type GPTQ cannot target,
                         * or an expert no calibration token was routed to: samples 0) */
    double loss;        /* GPTQ's loss (lq_gptq_quantize); 0 for "round" */
    double seconds;     /* quantizing this weight */
    int64_t samples;    /* calibration rows behind its Hessian */
    int64_t rows, cols;
    int64_t index, n_weights; /* this is weight index (0-based) of n_weights */
};

struct lq_gptq_gguf_params {
    enum lq_ftype ftype; /* the recipe (LQ_FTYPE_MOSTLY_Q4_K_M ...) */
    bool pure;           /* every block weight in the recipe's default type */
    bool rtn;            /* baseline: an identity Hessian, i.e. round to nearest on the grid */
    /* act_order, static_groups, damp, block_size and n_threads are used (act_order implies
     * static_groups: a block's grid must be fixed before its columns are visited out of
     * order); n_threads also sets the model's and the rounding's threads (<= 0: all for
     * GPTQ and the model, one for rounding and writing) */
    struct lq_gptq_params gp;
    int64_t first_layer, n_layers; /* layers GPTQ visits (n_layers <= 0: to the last);
                                      the others keep the recipe's rounding */
    void (*on_weight)(void *user, const struct lq_gptq_gguf_weight *w);
    void *user;
    /* optional: a type per tensor name instead of the recipe's (-1 keeps the recipe's), and
     * metadata added after the recipe's keys, as in lq_convert_params (the optimizer's plan) */
    int (*type_override)(const char *name, void *user);
    lq_status (*add_metadata)(lq_gguf_writer *w, void *user, struct lq_error *err);
    void *plan_user; /* passed to type_override and add_metadata */
    /* block weights of a type GPTQ cannot target (Q2_K, Q3_K, ...) are rounded with the
     * diagonal of their Hessian as importance (llama.cpp's imatrix weighting) instead of
     * llama.cpp's plain rounding */
    bool round_importance;
    bool round_all; /* no GPTQ at all: every block weight takes the rounding path above */
};

/* Totals of a run (may be NULL where asked). */
struct lq_gptq_gguf_summary {
    int64_t n_weights;       /* block weights quantized by GPTQ (or rtn / round; each
                              * expert of a stack counts) */
    double loss;             /* sum of their losses */
    int64_t n_chunks, n_ctx; /* calibration used */
};

/* Q4_K_M, llama.cpp's recipe, lq_gptq_params_default(), all layers, no callback. */
LQ_API struct lq_gptq_gguf_params lq_gptq_gguf_params_default(void);

/* GPTQ over an opened model m (n_ctx and n_batch >= c->n_ctx) and calibration chunks c, then
 * writes out_path. model_path is the checkpoint m was opened from (GGUF F16/F32/BF16 or a
 * Hugging Face folder; lq_source_open reads it for the convert pipeline). Memory holds one
 * layer's quantized blocks: the earlier layers' wait in a scratch file in out_path's folder
 * (unlinked at once; it needs about the output's size of free space there, which the output
 * needs anyway). m is given back with its own weights (lq_calib_gptq) and can be run again. */
LQ_API lq_status lq_gptq_gguf_run(lq_model *m, const struct lq_calib *c, const char *model_path,
                                  const char *out_path, const struct lq_gptq_gguf_params *p,
                                  struct lq_gptq_gguf_summary *sum, struct lq_error *err);

/* The whole job from paths: opens model_path and its tokenizer, cuts calib_path into chunks
 * of calib_ctx tokens (the first calib_tokens / calib_ctx of them, at least one; one with
 * p->rtn, which needs no statistics), runs lq_gptq_gguf_run and frees everything. A text
 * shorter than one chunk gives LQ_E_RANGE naming the file and the counts. */
LQ_API lq_status lq_gptq_gguf_file(const char *model_path, const char *calib_path,
                                   int64_t calib_ctx, int64_t calib_tokens, const char *out_path,
                                   const struct lq_gptq_gguf_params *p,
                                   struct lq_gptq_gguf_summary *sum, struct lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LQ_GPTQ_GGUF_H */
