/*
 * lq/calib.h - calibration on text: importance matrices (llama-imatrix) and sequential GPTQ.
 *
 * Calibration text is tokenized with the model's tokenizer (BOS added when the vocabulary
 * asks for it) and cut into chunks of n_ctx tokens; like llama-imatrix and llama-perplexity,
 * the first token of every chunk is replaced by BOS, and each chunk is evaluated on its own
 * (positions 0 .. n_ctx - 1, an empty KV cache).
 *
 * Lifecycle: lq_calib_load -> lq_calib_imatrix / lq_calib_gptq -> lq_calib_free.
 */
#ifndef LQ_CALIB_H
#define LQ_CALIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/gptq.h"
#include "lq/imatrix.h"
#include "lq/model.h"
#include "lq/model_hooks.h"
#include "lq/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lq_calib {
    int32_t *tokens;       /* n_chunks * n_ctx ids, chunk after chunk, BOS first in each */
    int64_t n_chunks;
    int64_t n_ctx;
    int64_t n_text_tokens; /* tokens the whole text gave */
    char *path;            /* the text file (a copy) */
};

/* Reads and tokenizes the text file at path into chunks of n_ctx tokens. max_chunks > 0
 * keeps only the first max_chunks. Fails with LQ_E_RANGE, naming the file and the counts,
 * when the text gives fewer than min_chunks (>= 1) full chunks. */
LQ_API lq_status lq_calib_load(const char *path, const lq_tokenizer *tok, int64_t n_ctx,
                               int64_t min_chunks, int64_t max_chunks, struct lq_calib *out,
                               struct lq_error *err);

/* Frees what lq_calib_load allocated; accepts a zeroed struct. */
LQ_API void lq_calib_free(struct lq_calib *c);

/* Runs every chunk through m (logits are not computed); whatever hooks are set see the
 * activations. m needs n_ctx and n_batch >= c->n_ctx. */
LQ_API lq_status lq_calib_run(lq_model *m, const struct lq_calib *c, struct lq_error *err);

// ---- importance matrices ------------------------------------------------------------------

/* How llama-imatrix batched its evaluation, which decides which rows it counted: chunks are
 * decoded max(1, n_batch / n_ctx) at a time and split into micro-batches of n_ubatch rows
 * (an equal share per sequence when several are decoded together); micro-batches of fewer
 * than 16 rows are not collected. llama.cpp's defaults are n_batch 2048, n_ubatch 512. */
struct lq_imatrix_batching {
    int64_t n_batch;
    int64_t n_ubatch;
    /* called after each chunk with the chunks done and their total (a progress bar); NULL:
     * none */
    void (*on_chunk)(void *user, int64_t done, int64_t total);
    void *user;
};

/* Accumulates the squared activations of every block weight (blk.N.attn_q.weight ...; not
 * output.weight) over all chunks into im, counting rows as llama-imatrix does with the given
 * batching (NULL: llama.cpp's defaults), and records the dataset and chunk counts. In a
 * mixture-of-experts model the router (ffn_gate_inp) counts like a dense weight and each
 * expert stack (ffn_{gate,up,down}_exps) keeps per-expert sums and counts of the rows routed
 * to each expert, all of them whatever the micro-batch (llama-imatrix's MUL_MAT_ID rule). */
LQ_API lq_status lq_calib_imatrix(lq_model *m, const struct lq_calib *c,
                                  const struct lq_imatrix_batching *batching, lq_imatrix *im,
                                  struct lq_error *err);

// ---- sequential GPTQ ----------------------------------------------------------------------

/* Called for every block weight in the order GPTQ visits them (layer by layer; within a layer
 * q, k, v, then o, then gate, up, then down). w holds the weight (nrows, ncols) as F32, h the
 * Hessian of its inputs, computed through every weight quantized before it. The callback
 * quantizes, keeps its result and fills *use with the type, data and size the forward pass
 * is to use for the rest of this layer (the buffer stays the callback's), or leaves use->data
 * NULL to keep the weight as it is. Once a layer's output has been cached for the next layer
 * (and, for the last layer, before lq_calib_gptq returns, also after a failure) the model gets
 * its own weights of that layer back: the callback may release a layer's buffers as soon as
 * the first weight of a later layer arrives, and the model is left as it was given.
 *
 * Mixture of experts: expert is -1 for dense weights; the expert stacks are visited one
 * expert at a time (which = LQ_LW_GATE, LQ_LW_UP or LQ_LW_DOWN naming ffn_*_exps; expert e's
 * nrows x ncols matrix), gate and up of every expert, then down of every expert, each with
 * the Hessian of the tokens the router sent to that expert (the router, ffn_gate_inp, is not
 * quantized: llama.cpp keeps it as it is). An expert no calibration token was routed to gets a
 * Hessian of no samples (lq_hessian_nsamples 0): there is nothing to weight its error by. */
typedef lq_status (*lq_calib_quantize_fn)(void *user, int64_t layer, enum lq_layer_weight which,
                                          int64_t expert, const float *w, int64_t nrows,
                                          int64_t ncols, const lq_hessian *h,
                                          struct lq_model_tensor *use, struct lq_error *err);

/* True-sequential GPTQ (as in the paper and AutoGPTQ) over layers first .. first + n - 1
 * (n <= 0: to the last layer): for each projection group the calibration chunks are run
 * through the group's layer up to the group's input, the group's Hessian H = 2 X^T X / rows
 * is accumulated from its inputs, and fn quantizes each of its weights, whose result later
 * groups then see. The residual stream entering each layer is cached (n_chunks * n_ctx *
 * n_embd floats) after running it through the quantized layers before, so each layer costs
 * about three passes over that one layer (mixtures of experts: n_expert Hessians are
 * accumulated at once for each expert group). Hooks are left unset afterwards. */
LQ_API lq_status lq_calib_gptq(lq_model *m, const struct lq_calib *c, int64_t first, int64_t n,
                               lq_calib_quantize_fn fn, void *user, struct lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LQ_CALIB_H */
