/* model_impl.h - the model's internals shared by eval/src/model_*.c and forward*.c. */
#ifndef LQ_MODEL_IMPL_H
#define LQ_MODEL_IMPL_H

#include <stdint.h>

#include "lq/gguf.h"
#include "lq/model.h"
#include "lq/model_hooks.h"
#include "lq/tokenizer.h"
#include "lq/types.h"

/* How a weight's matrix product is computed. */
enum lqi_dot_kind {
    LQI_DOT_TABLE,   /* the type table's vec_dot with activations in vec_dot_type */
    LQI_DOT_F32,     /* F32 weights, F32 activations */
    LQI_DOT_F16,     /* F16 weights, activations rounded to F16 (as ggml's vec_dot_f16) */
    LQI_DOT_BF16,    /* BF16 weights, activations rounded to BF16 */
    LQI_DOT_DEQUANT, /* no dot kernel: weight rows dequantized, F32 activations */
};

/* A weight matrix: n_out rows of n_in elements in its stored type (borrowed data). */
struct lqi_weight {
    enum lq_type type;
    int64_t n_in, n_out;
    size_t row_size;         /* bytes of one row */
    const unsigned char *data;
    size_t nbytes;           /* bytes at data: n_out rows, times the experts of a stack */
    enum lqi_dot_kind kind;
    enum lq_type act_type;   /* activation type the kernel takes (for LQI_DOT_TABLE) */
    lq_vec_dot_fn vec_dot;
    lq_vec_dot_multi_fn vec_dot_multi; /* NULL: vec_dot token by token */
    lq_vec_dot_rows_fn vec_dot_rows;   /* NULL: vec_dot row by row */
    lq_to_float_fn to_float; /* for LQI_DOT_DEQUANT and token embeddings */
};

/* One block's tensors. Which are bound follows the family's traits (lq/family.h): fused
 * families have wqkv instead of wq/wk/wv and a w_up of 2 * n_ff rows (gate rows first)
 * instead of w_gate/w_up; absent weights have data NULL, absent vectors are NULL. */
struct lqi_layer {
    const float *attn_norm;           /* (n_embd) */
    struct lqi_weight wq;             /* (n_embd -> n_head * n_embd_head) */
    struct lqi_weight wk, wv;         /* (n_embd -> n_head_kv * n_embd_head) */
    struct lqi_weight wqkv;           /* (n_embd -> q, k, v rows), fused_qkv */
    const float *bq, *bk, *bv;        /* q/k/v biases (Qwen2; optional in Llama) */
    const float *q_norm, *k_norm;     /* (n_embd_head) per-head RMS norms (Qwen3) */
    struct lqi_weight wo;             /* (n_head * n_embd_head -> n_embd) */
    const float *ffn_norm;            /* (n_embd) */
    const float *post_attn_norm, *post_ffw_norm; /* (n_embd) on each branch's output: Gemma */
    bool swa;                         /* sliding-window attention layer */
    struct lqi_weight w_gate, w_up;   /* (n_embd -> n_ff); w_up 2 * n_ff rows: fused_gate_up */
    struct lqi_weight w_down;         /* (n_ff -> n_embd) */
    /* mixture of experts (n_expert > 0) instead of w_gate/w_up/w_down: the router, and the
     * stacks of expert e's matrices as one weight each whose rows e * n_out .. are expert e's
     * (n_out = one expert's rows; lqi_expert() gives expert e's weight) */
    struct lqi_weight w_gate_inp;     /* (n_embd -> n_expert) */
    struct lqi_weight gate_exps, up_exps; /* per expert (n_embd -> n_ff_exp) */
    struct lqi_weight down_exps;      /* per expert (n_ff_exp -> n_embd) */
    /* (3, n_expert) gate, up, down views of each expert, made when a calibration first
     * replaces one expert's matrix (lq_model_set_expert_weight); NULL: the stacks' slices */
    struct lqi_weight *exp_views;
};

/* A layer's weight matrices, for loops over all of them (data NULL: not in this family's
 * layout). */
#define LQI_LAYER_N_WEIGHTS 12
static inline void lqi_layer_weights(const struct lqi_layer *L,
                                     const struct lqi_weight *ws[LQI_LAYER_N_WEIGHTS])
{
    const struct lqi_weight *all[LQI_LAYER_N_WEIGHTS] = {
        &L->wq,     &L->wk,         &L->wv,        &L->wqkv,      &L->wo,      &L->w_gate,
        &L->w_up,   &L->w_down,     &L->w_gate_inp, &L->gate_exps, &L->up_exps, &L->down_exps
    };
    for (int i = 0; i < LQI_LAYER_N_WEIGHTS; i++) {
        ws[i] = all[i];
    }
}

/* Activations converted for the products that share them (lqi_acts_convert). */
struct lqi_acts {
    enum lqi_dot_kind kind; /* the rounding: LQI_DOT_TABLE (to `type`), F16, BF16 or F32 */
    enum lq_type type;
    int64_t n_rows, n_in;
    size_t row_size;
    bool packed;                         /* a GEMM batch: `pack` holds the rows */
    const struct lqi_gemm_kernel *kernel; /* the GEMM kernel `pack` is laid out for */
    const unsigned char *data; /* one-row products: the converted rows (or x itself, F32) */
    unsigned char *buf;        /* the state's conversion buffer */
    float *pack;               /* GEMM batches: the rows as floats in the kernel's tiles */
    float *scratch;            /* per-thread scratch, scratch_stride floats each */
    int64_t scratch_stride;
};

/* Scratch of one forward call, carved from one allocation (sizes for n_batch tokens). */
struct lqi_state {
    float *x;       /* (n_batch, n_embd) residual stream */
    float *xb;      /* (n_batch, n_embd) normed input of a block */
    float *q;       /* (n_batch, n_head * n_embd_head) */
    float *k, *v;   /* (n_batch, n_head_kv * n_embd_head) */
    float *att;     /* (n_batch, n_head * n_embd_head) attention output */
    float *proj;    /* (n_batch, n_embd) output of wo / w_down */
    float *gate;    /* (n_batch, n_ff) */
    float *up;      /* (n_batch, n_ff), or (n_batch, 2 n_ff) for a fused gate+up */
    float *qkv;     /* (n_batch, q + 2 kv) output of a fused wqkv; NULL when not fused */
    float *kf, *vf; /* (n_ctx, n_head_kv * n_embd_head) the layer's cache as F32 */
    /* mixture of experts (NULL for dense models) */
    float *router;  /* (n_batch, n_expert) router probabilities */
    int32_t *sel;   /* (n_batch, n_expert_used) chosen experts, best first */
    float *sel_w;   /* (n_batch, n_expert_used) their weights */
    int64_t *rows;  /* (n_batch) tokens routed to the expert in hand, with their slot */
    float *xe;      /* (n_batch, n_embd) those tokens' normed inputs */
    float *exp_out; /* (n_batch, n_expert_used, n_embd) each chosen expert's weighted output */
    float *scores;  /* (n_threads, n_head / n_head_kv, n_ctx) attention rows of a head group */
    float *rope;    /* (n_batch, n_rot) cos/sin pairs per token */
    struct lqi_acts acts;
    uint16_t *kcache, *vcache; /* (n_layer, n_ctx, n_head_kv * n_embd_head) F16 */
};

struct lq_model {
    struct lq_model_hparams hp;
    struct lq_model_source src;
    char *src_name;
    int n_threads;
    int64_t n_ctx, n_batch;
    int64_t n_past;             /* cache rows 0 .. n_past - 1 hold valid K/V */
    struct lqi_weight tok_embd; /* (n_embd -> n_vocab): rows are token embeddings */
    struct lqi_layer *layers;
    const float *output_norm;   /* (n_embd) */
    struct lqi_weight output;   /* (n_embd -> n_vocab) */
    const float *rope_freqs;    /* (n_rot / 2) frequency divisors in use, or NULL: rope_freqs,
                                 * or longrope's long or short factors for this n_ctx */
    struct lq_family_traits tr; /* the family's forward-pass traits */
    float kq_scale;             /* the attention scores' scale (1 when tr.attn_scale_q) */
    float *vectors;             /* norms, biases and rope factors as F32 (vec_mem) */
    int64_t n_vectors, cap_vectors;
    void **aligned;             /* aligned copies of weights the file misaligns, n_aligned */
    int64_t n_aligned;
    void *loaded;               /* LQ_WEIGHTS_LOADED: the map holding the weight matrices'
                                 * copy, loaded_len bytes; NULL when mapped */
    size_t loaded_len;
    void *state_mem;
    struct lqi_state st;
    /* calibration hooks (model_hooks.c); all zero when unused */
    lq_model_observer observer;
    void *observer_user;
    lq_model_expert_observer expert_observer;
    void *expert_observer_user;
    int64_t n_layer_run; /* layers a pass runs; 0: all */
    int64_t stop_point;  /* with n_layer_run: end after this hook point of the last layer */
    int64_t first_layer; /* first layer a pass runs, from start_x */
    const float *start_x; /* (n_batch, n_embd) residual stream entering first_layer */
};

/* Hyperparameters, BOS id and add_bos from a GGUF file's llama.* and tokenizer.ggml.*
 * metadata; n_vocab from token_embd.weight, 0 when the file has no tensors (model_gguf.c). */
lq_status lqi_model_hparams_gguf(const lq_gguf *g, const char *path,
                                 struct lq_model_hparams *hp, struct lq_error *err);

/* Opens a non-GGUF checkpoint (Hugging Face folder, llama2.c) through lq_source, with its
 * tokenizer when tok is not NULL; tok_path (may be NULL) names a llama2.c tokenizer file
 * (model_source.c). */
lq_status lqi_model_open_checkpoint(const char *path, const char *tok_path,
                                    const struct lq_model_params *params, lq_model **m,
                                    lq_tokenizer **tok, struct lq_error *err);

/* lqi_observe's return when the pass has reached its stop point: not an error. */
#define LQI_STOPPED ((lq_status)1)

/* Binds and checks every tensor of hp against m->src (model_bind.c). */
lq_status lqi_model_bind(lq_model *m, struct lq_error *err);

/* Hands x (n rows of n_cols) to the observer, if any (model_hooks.c); LQI_STOPPED when the
 * pass is to end here. */
lq_status lqi_observe(lq_model *m, int64_t il, enum lq_hook_point point, const float *x,
                      int64_t n, int64_t n_cols, struct lq_error *err);

/* Hands expert e's rows x to the expert observer, if any (model_hooks.c). */
lq_status lqi_observe_expert(lq_model *m, int64_t il, int64_t e, enum lq_hook_point point,
                             const float *x, const int64_t *route, int64_t n, int64_t n_cols,
                             struct lq_error *err);

/* LQI_STOPPED when the pass is to end after `point` of layer il, else LQ_OK. */
lq_status lqi_stop_here(const lq_model *m, int64_t il, enum lq_hook_point point);

/* Expert e's matrix w (LQ_LW_GATE, LQ_LW_UP, LQ_LW_DOWN) of layer L (model_hooks.c). */
struct lqi_weight lqi_expert_weight(const lq_model *m, const struct lqi_layer *L,
                                    enum lq_layer_weight w, int64_t e);

/* Allocates the KV cache and scratch for m->n_ctx, m->n_batch (model_state.c). */
lq_status lqi_model_alloc_state(lq_model *m, struct lq_error *err);

/* model_load.c: copies the weight matrices into anonymous memory when `mode` asks (or, for
 * LQ_WEIGHTS_AUTO, when they fit), repointing each weight and handing its source pages back;
 * unload frees that copy. */
lq_status lqi_model_load_weights(lq_model *m, enum lq_weights_memory mode, struct lq_error *err);
void lqi_model_unload_weights(lq_model *m);

#endif
