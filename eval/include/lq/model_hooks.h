/*
 * lq/model_hooks.h - looking into and steering the forward pass, for calibration (importance
 * matrices, GPTQ).
 *
 *  - An observer sees the F32 input of every projection group as soon as it is ready: the
 *    normed attention input (shared by wq, wk, wv), the attention output (input of wo), the
 *    normed FFN input (shared by w_gate, w_up) and the SwiGLU output (input of w_down).
 *    These are the activations llama.cpp's imatrix collector sees for the same weights.
 *  - A layer's weight can be replaced by a caller-owned buffer of any registered type (GPTQ
 *    swaps in quantized blocks, so later inputs are computed through them).
 *  - The pass can stop after a given layer or right after a given hook point (no logits are
 *    then written), and can start at a given layer from a caller's residual stream: a
 *    sequential calibration then runs only the layer it works on, from inputs it cached.
 *
 * Hooks belong to the model handle and stay set until changed; like the model they are not
 * thread-safe. The observer is called from the thread that called lq_model_forward().
 */
#ifndef LQ_MODEL_HOOKS_H
#define LQ_MODEL_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/model.h"
#include "lq/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where in a layer the observed activations are the input of a projection. */
enum lq_hook_point {
    LQ_HOOK_ATTN_IN = 0,  /* rmsnorm(x) * attn_norm: input of wq, wk, wv (n_embd columns) */
    LQ_HOOK_ATTN_OUT = 1, /* attention output: input of wo (n_head * n_embd_head columns) */
    LQ_HOOK_FFN_IN = 2,   /* rmsnorm(x) * ffn_norm: input of w_gate, w_up (n_embd columns) */
    LQ_HOOK_FFN_DOWN = 3, /* silu(gate) * up: input of w_down (n_ff columns) */
    LQ_HOOK_N_POINTS = 4,
};

/* The weight matrices a layer may have. A model has the ones its family lays out
 * (lq_model_has_weight): separate q/k/v or the fused attn_qkv (Phi-3); ffn_gate and ffn_up,
 * or only ffn_up holding the gate rows then the up rows (2 * n_ff rows, Phi-3). */
enum lq_layer_weight {
    LQ_LW_Q = 0, LQ_LW_K, LQ_LW_V, LQ_LW_O, LQ_LW_GATE, LQ_LW_UP, LQ_LW_DOWN,
    LQ_LW_QKV, /* attn_qkv: q rows, then k rows, then v rows */
    LQ_LW_COUNT,
};

/* GGUF name suffix of a layer weight ("attn_q", ..., "ffn_down", "attn_qkv"), and the hook
 * point whose activations are its input. */
LQ_API const char *lq_layer_weight_name(enum lq_layer_weight w);
LQ_API enum lq_hook_point lq_layer_weight_input(enum lq_layer_weight w);

/* Whether the model's layers have weight w (every layer has the same ones); false for a
 * NULL model or an unknown w. */
LQ_API bool lq_model_has_weight(const lq_model *m, enum lq_layer_weight w);

/* How many of the LQ_LW_COUNT weights the model's layers have. */
LQ_API int lq_model_n_layer_weights(const lq_model *m);

/* Observer: x holds n_rows activation rows of n_cols floats (row-major, one per token of the
 * batch, in batch order); borrowed for the call. Returning anything but LQ_OK stops the
 * forward pass, which then returns that status (with the observer's err message). */
typedef lq_status (*lq_model_observer)(void *user, int64_t layer, enum lq_hook_point point,
                                       const float *x, int64_t n_rows, int64_t n_cols,
                                       struct lq_error *err);

/* Sets (fn non-NULL) or removes (fn NULL) the observer. */
LQ_API void lq_model_set_observer(lq_model *m, lq_model_observer fn, void *user);

/* Mixture-of-experts models (n_expert > 0): the observer above sees the normed FFN input at
 * LQ_HOOK_FFN_IN (the router's input, and every expert's) and nothing at LQ_HOOK_FFN_DOWN.
 * An expert observer sees each expert's own inputs, the rows of the tokens routed to it:
 * at LQ_HOOK_FFN_IN the normed FFN input (input of the expert's gate and up matrices), at
 * LQ_HOOK_FFN_DOWN its SwiGLU output (input of its down matrix). route[r] = token *
 * n_expert_used + slot for row r (the token's batch position, and the expert's rank among the
 * token's chosen ones, best first); rows are in token order. Not called for an expert that no
 * token of the batch chose. Returning anything but LQ_OK stops the pass with that status. */
typedef lq_status (*lq_model_expert_observer)(void *user, int64_t layer, int64_t expert,
                                              enum lq_hook_point point, const float *x,
                                              const int64_t *route, int64_t n_rows,
                                              int64_t n_cols, struct lq_error *err);

/* Sets (fn non-NULL) or removes (fn NULL) the expert observer. */
LQ_API void lq_model_set_expert_observer(lq_model *m, lq_model_expert_observer fn, void *user);

/* GGUF name suffix of an expert stack ("ffn_gate_exps", "ffn_up_exps", "ffn_down_exps") for
 * w = LQ_LW_GATE, LQ_LW_UP, LQ_LW_DOWN; NULL for any other w. */
LQ_API const char *lq_expert_weight_name(enum lq_layer_weight w);

/* Ends every following forward pass after layer `last` (0-based; the K/V cache of later
 * layers is left stale and no logits are written); -1 runs the whole model again. */
LQ_API lq_status lq_model_set_stop_layer(lq_model *m, int64_t last, struct lq_error *err);

/* Ends every following pass right after the observer saw `point` of layer `layer` (before
 * anything else of that layer is computed); point LQ_HOOK_N_POINTS ends it after the whole
 * layer. layer -1 removes the stop (also lq_model_set_stop_layer(m, -1)). */
LQ_API lq_status lq_model_set_stop_point(lq_model *m, int64_t layer, enum lq_hook_point point,
                                         struct lq_error *err);

/* Starts every following pass at layer `first` with the residual stream x (n_tokens rows of
 * n_embd floats for each batch; borrowed, read at the start of each lq_model_forward call)
 * instead of the tokens' embeddings. Tokens are still checked but not looked up. first 0
 * with x NULL restores the normal start. The K/V cache of layers before `first` is stale. */
LQ_API lq_status lq_model_set_start(lq_model *m, int64_t first, const float *x,
                                    struct lq_error *err);

/* The residual stream where the last pass ended (n_tokens rows of n_embd floats, the input
 * of the layer after the last one run). Borrowed: valid until the next forward call. */
LQ_API const float *lq_model_residual(const lq_model *m);

/* A borrowed view of the weight the pass currently uses (ne[0] = input columns).
 * LQ_E_INVALID_ARG for a weight the model does not have. */
LQ_API lq_status lq_model_get_weight(const lq_model *m, int64_t layer, enum lq_layer_weight w,
                                     struct lq_model_tensor *out, struct lq_error *err);

/* Makes the pass use `data` (nbytes, type `type`, the same shape as the current weight) for
 * a layer weight. The buffer stays the caller's and must outlive its use; pass the view from
 * lq_model_get_weight() to restore a weight. LQ_E_UNSUPPORTED for a type without kernels,
 * LQ_E_INVALID_ARG for a size that does not fit the shape. */
LQ_API lq_status lq_model_set_weight(lq_model *m, int64_t layer, enum lq_layer_weight w,
                                     enum lq_type type, const void *data, size_t nbytes,
                                     struct lq_error *err);

/* The model-wide weights that can be swapped the same way (the optimizer measures how each
 * tensor's quantization moves the output). A model without output.weight uses token_embd as
 * its head (tied): setting either then sets only that use of it. */
enum lq_model_weight {
    LQ_MW_TOKEN_EMBD = 0, /* token_embd.weight: rows are looked up */
    LQ_MW_OUTPUT = 1,     /* output.weight: the head's projection */
};

LQ_API lq_status lq_model_get_model_weight(const lq_model *m, enum lq_model_weight w,
                                           struct lq_model_tensor *out, struct lq_error *err);
LQ_API lq_status lq_model_set_model_weight(lq_model *m, enum lq_model_weight w, enum lq_type type,
                                           const void *data, size_t nbytes, struct lq_error *err);

/* One expert's matrix w (LQ_LW_GATE, LQ_LW_UP or LQ_LW_DOWN of a mixture-of-experts
 * layer) as the pass currently uses it, and replacing it, as lq_model_get_weight and
 * lq_model_set_weight do for dense weights (ne[0] = input columns, ne[1] = the expert's
 * rows). Each expert may get its own type and buffer. LQ_E_INVALID_ARG for a model without
 * experts or an expert outside 0 .. n_expert - 1. */
LQ_API lq_status lq_model_get_expert_weight(const lq_model *m, int64_t layer,
                                            enum lq_layer_weight w, int64_t expert,
                                            struct lq_model_tensor *out, struct lq_error *err);
LQ_API lq_status lq_model_set_expert_weight(lq_model *m, int64_t layer, enum lq_layer_weight w,
                                            int64_t expert, enum lq_type type, const void *data,
                                            size_t nbytes, struct lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LQ_MODEL_HOOKS_H */
