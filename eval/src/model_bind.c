/* model_bind.c - finds every tensor of a model in its source, as its family lays them out
 * (lq/family.h traits), and checks each against the hyperparameters (shape, type, byte size)
 * before the forward pass may trust it. */
#include "forward_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lqi.h"

/* Looks a tensor up; a missing required tensor is an error naming it. */
static lq_status find(lq_model *m, const char *name, bool required, struct lq_model_tensor *t,
                      bool *found, struct lq_error *err)
{
    *found = m->src.find_tensor(m->src.user, name, t);
    LQ_FAIL_IF(!*found && required, err, LQ_E_FORMAT, "%s: tensor '%s' is missing", m->src_name,
               name);
    return LQ_OK;
}

/* Checks the tensor's dims against (n0, n1), its type and its byte size. */
static lq_status check_tensor3(const lq_model *m, const char *name,
                               const struct lq_model_tensor *t, int64_t n0, int64_t n1,
                               int64_t n2, struct lq_error *err)
{
    LQ_FAIL_IF(t->ne[0] != n0 || t->ne[1] != n1 || t->ne[2] != n2 || t->ne[3] != 1, err,
               LQ_E_FORMAT,
               "%s: tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld, %lld]",
               m->src_name, name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
               (long long)t->ne[3], (long long)n0, (long long)n1, (long long)n2);
    const size_t row = lq_row_size(t->type, n0);
    LQ_FAIL_IF(row == 0, err, LQ_E_UNSUPPORTED, "%s: tensor '%s' has type %s (id %d), unusable here",
               m->src_name, name, lq_type_name(t->type), (int)t->type);
    uint64_t want;
    LQ_FAIL_IF(lqi_mul_overflow_u64(row, (uint64_t)n1, &want) ||
                   lqi_mul_overflow_u64(want, (uint64_t)n2, &want) || want != t->nbytes ||
                   !t->data,
               err, LQ_E_FORMAT, "%s: tensor '%s' holds %zu bytes, its shape and type need %llu",
               m->src_name, name, t->nbytes, (unsigned long long)want);
    return LQ_OK;
}

static lq_status check_tensor(const lq_model *m, const char *name,
                              const struct lq_model_tensor *t, int64_t n0, int64_t n1,
                              struct lq_error *err)
{
    return check_tensor3(m, name, t, n0, n1, 1, err);
}

/* The kernels read blocks and elements as C objects (SIMD loads are unaligned): weights
 * stored aligned to less than their C type (general.alignment 1 is legal in a GGUF) are used
 * from an aligned copy owned by the model. F16/BF16 need 2 bytes, so the tensors of a
 * safetensors checkpoint (2-byte sizes after an 8-byte-aligned header) are used in place;
 * F32 and the block structs (a float at most) need 4. */
static uintptr_t weight_align(enum lq_type type)
{
    return type == LQ_TYPE_F16 || type == LQ_TYPE_BF16 ? 2 : 4;
}

static lq_status align_data(lq_model *m, const char *name, struct lq_model_tensor *t,
                            struct lq_error *err)
{
    if ((uintptr_t)t->data % weight_align(t->type) == 0) {
        return LQ_OK;
    }
    void **grown = lqi_realloc(m->aligned, (size_t)(m->n_aligned + 1) * sizeof *grown);
    LQ_FAIL_IF(!grown, err, LQ_E_NOMEM, "%s: out of memory", m->src_name);
    m->aligned = grown;
    void *copy = lqi_malloc(t->nbytes ? t->nbytes : 1); /* malloc aligns to 16 */
    LQ_FAIL_IF(!copy, err, LQ_E_NOMEM, "%s: out of memory for a copy of tensor '%s'",
               m->src_name, name);
    memcpy(copy, t->data, t->nbytes);
    m->aligned[m->n_aligned++] = copy;
    t->data = copy;
    return LQ_OK;
}

/* Binds n_mat weight matrices of n_out rows of n_in elements each, stored one after the
 * other (n_mat 1: a plain matrix; stacked experts: one per expert). */
static lq_status bind_weights(lq_model *m, const char *name, int64_t n_in, int64_t n_out,
                              int64_t n_mat, struct lqi_weight *w, struct lq_error *err)
{
    struct lq_model_tensor t;
    bool found;
    LQ_TRY(find(m, name, true, &t, &found, err));
    LQ_TRY(check_tensor3(m, name, &t, n_in, n_out, n_mat, err));
    LQ_TRY(align_data(m, name, &t, err));
    w->type = t.type;
    w->n_in = n_in;
    w->n_out = n_out;
    w->data = t.data;
    w->nbytes = t.nbytes;
    LQ_FAIL_IF(!lqi_weight_setup(w), err, LQ_E_UNSUPPORTED,
               "%s: tensor '%s': type %s has neither a dot kernel nor a dequantizer",
               m->src_name, name, lq_type_name(t.type));
    return LQ_OK;
}

/* Binds a weight matrix of n_out rows of n_in elements. */
static lq_status bind_weight(lq_model *m, const char *name, int64_t n_in, int64_t n_out,
                             struct lqi_weight *w, struct lq_error *err)
{
    return bind_weights(m, name, n_in, n_out, 1, w, err);
}

/* Takes n floats from the model's vector store (sized for every vector in lqi_model_bind). */
static float *take_vector(lq_model *m, int64_t n)
{
    float *v = m->vectors + m->n_vectors;
    m->n_vectors += n;
    return v;
}

/* Binds a vector of n values, converted to F32 into the vector store; *dst is NULL when an
 * optional vector is absent. */
static lq_status bind_vector(lq_model *m, const char *name, int64_t n, bool required,
                             const float **dst, struct lq_error *err)
{
    struct lq_model_tensor t;
    bool found;
    *dst = NULL;
    LQ_TRY(find(m, name, required, &t, &found, err));
    if (!found) {
        return LQ_OK;
    }
    LQ_TRY(check_tensor(m, name, &t, n, 1, err));
    LQ_TRY(align_data(m, name, &t, err));
    const struct lq_type_traits *tr = lq_type_traits_get(t.type);
    LQ_FAIL_IF(!tr->to_float, err, LQ_E_UNSUPPORTED, "%s: tensor '%s': type %s cannot be decoded",
               m->src_name, name, lq_type_name(t.type));
    LQ_FAIL_IF(m->n_vectors + n > m->cap_vectors, err, LQ_E_FORMAT,
               "%s: tensor '%s': more vectors than the model's layout has", m->src_name, name);
    float *v = take_vector(m, n);
    tr->to_float(t.data, v, n);
    *dst = v;
    return LQ_OK;
}

/* The attention tensors: q/k/v (fused or not) with their biases and q/k norms, and wo. */
static lq_status bind_attention(lq_model *m, int64_t il, struct lqi_layer *L,
                                struct lq_error *err)
{
    const struct lq_model_hparams *hp = &m->hp;
    const int64_t q_dim = hp->n_head * hp->n_embd_head;
    const int64_t kv_dim = hp->n_head_kv * hp->n_embd_head;
    char name[96];
#define LQI_NAME(suffix) (snprintf(name, sizeof name, "blk.%lld." suffix, (long long)il), name)
    if (m->tr.fused_qkv) {
        LQ_TRY(bind_weight(m, LQI_NAME("attn_qkv.weight"), hp->n_embd, q_dim + 2 * kv_dim,
                           &L->wqkv, err));
    } else {
        LQ_TRY(bind_weight(m, LQI_NAME("attn_q.weight"), hp->n_embd, q_dim, &L->wq, err));
        LQ_TRY(bind_weight(m, LQI_NAME("attn_k.weight"), hp->n_embd, kv_dim, &L->wk, err));
        LQ_TRY(bind_weight(m, LQI_NAME("attn_v.weight"), hp->n_embd, kv_dim, &L->wv, err));
        /* llama.cpp adds q/k/v biases wherever a file has them; a family with the trait
         * must have them */
        const bool req = m->tr.attn_bias;
        LQ_TRY(bind_vector(m, LQI_NAME("attn_q.bias"), q_dim, req, &L->bq, err));
        LQ_TRY(bind_vector(m, LQI_NAME("attn_k.bias"), kv_dim, req, &L->bk, err));
        LQ_TRY(bind_vector(m, LQI_NAME("attn_v.bias"), kv_dim, req, &L->bv, err));
    }
    if (m->tr.attn_qk_norm) {
        LQ_TRY(bind_vector(m, LQI_NAME("attn_q_norm.weight"), hp->n_embd_head, true, &L->q_norm,
                           err));
        LQ_TRY(bind_vector(m, LQI_NAME("attn_k_norm.weight"), hp->n_embd_head, true, &L->k_norm,
                           err));
    }
    LQ_TRY(bind_weight(m, LQI_NAME("attn_output.weight"), q_dim, hp->n_embd, &L->wo, err));
#undef LQI_NAME
    return LQ_OK;
}

static lq_status bind_layer(lq_model *m, int64_t il, struct lq_error *err)
{
    const struct lq_model_hparams *hp = &m->hp;
    struct lqi_layer *L = &m->layers[il];
    char name[96];
#define LQI_NAME(suffix) (snprintf(name, sizeof name, "blk.%lld." suffix, (long long)il), name)
    LQ_TRY(bind_vector(m, LQI_NAME("attn_norm.weight"), hp->n_embd, true, &L->attn_norm, err));
    LQ_TRY(bind_attention(m, il, L, err));
    LQ_TRY(bind_vector(m, LQI_NAME("ffn_norm.weight"), hp->n_embd, true, &L->ffn_norm, err));
    if (m->tr.post_norms) {
        LQ_TRY(bind_vector(m, LQI_NAME("post_attention_norm.weight"), hp->n_embd, true,
                           &L->post_attn_norm, err));
        LQ_TRY(bind_vector(m, LQI_NAME("post_ffw_norm.weight"), hp->n_embd, true,
                           &L->post_ffw_norm, err));
    }
    /* llama.cpp's set_swa_pattern: layer il slides when il % pattern < pattern - 1 */
    const int pat = m->tr.swa_pattern;
    L->swa = pat > 0 && hp->n_swa > 0 && il % pat < pat - 1;
    if (hp->n_expert > 0) {
        const int64_t e = hp->n_embd, f = hp->n_ff_exp, x = hp->n_expert;
        LQ_TRY(bind_weight(m, LQI_NAME("ffn_gate_inp.weight"), e, x, &L->w_gate_inp, err));
        LQ_TRY(bind_weights(m, LQI_NAME("ffn_gate_exps.weight"), e, f, x, &L->gate_exps, err));
        LQ_TRY(bind_weights(m, LQI_NAME("ffn_up_exps.weight"), e, f, x, &L->up_exps, err));
        LQ_TRY(bind_weights(m, LQI_NAME("ffn_down_exps.weight"), f, e, x, &L->down_exps, err));
    } else if (m->tr.fused_gate_up) {
        LQ_TRY(bind_weight(m, LQI_NAME("ffn_up.weight"), hp->n_embd, 2 * hp->n_ff, &L->w_up,
                           err));
    } else {
        LQ_TRY(bind_weight(m, LQI_NAME("ffn_gate.weight"), hp->n_embd, hp->n_ff, &L->w_gate,
                           err));
        LQ_TRY(bind_weight(m, LQI_NAME("ffn_up.weight"), hp->n_embd, hp->n_ff, &L->w_up, err));
    }
    if (hp->n_expert == 0) {
        LQ_TRY(bind_weight(m, LQI_NAME("ffn_down.weight"), hp->n_ff, hp->n_embd, &L->w_down,
                           err));
    }
#undef LQI_NAME
    return LQ_OK;
}

/* llama.cpp's context size for choosing longrope factors: its context rounded up to a
 * multiple of 256 (llama_context pads n_ctx and the per-sequence context so). */
static int64_t padded_ctx(int64_t n_ctx)
{
    return (n_ctx + 255) / 256 * 256;
}

/* rope_freqs (Llama 3), or Phi-3 longrope's factor pair: the long factors when the context
 * in use exceeds the original one, as llama_model::get_rope_factors picks them. */
static lq_status bind_rope_factors(lq_model *m, struct lq_error *err)
{
    const int64_t n = m->hp.n_rot / 2;
    const float *freqs, *lng, *shrt;
    LQ_TRY(bind_vector(m, "rope_freqs.weight", n, false, &freqs, err));
    LQ_TRY(bind_vector(m, "rope_factors_long.weight", n, false, &lng, err));
    LQ_TRY(bind_vector(m, "rope_factors_short.weight", n, false, &shrt, err));
    const int64_t orig = m->hp.n_ctx_orig > 0 ? m->hp.n_ctx_orig : m->hp.n_ctx_train;
    const bool use_long = padded_ctx(m->n_ctx) > orig;
    m->rope_freqs = freqs ? freqs : use_long ? lng : shrt;
    const char *name = freqs ? "rope_freqs.weight"
                             : use_long ? "rope_factors_long.weight" : "rope_factors_short.weight";
    for (int64_t i = 0; m->rope_freqs && i < n; i++) {
        LQ_FAIL_IF(!(m->rope_freqs[i] > 0.0f) || !isfinite(m->rope_freqs[i]), err, LQ_E_FORMAT,
                   "%s: tensor '%s': factor %lld is %g, must be positive", m->src_name, name,
                   (long long)i, (double)m->rope_freqs[i]);
    }
    return LQ_OK;
}

/* Every layer the hyperparameters claim must have its tensors: checked one lookup a layer
 * before the per-layer tables are allocated, so a block count of 2^24 over a file of a few
 * layers is a format error, not gigabytes of memory. */
static lq_status check_layers_present(lq_model *m, struct lq_error *err)
{
    char name[96];
    struct lq_model_tensor t;
    for (int64_t il = 0; il < m->hp.n_layer; il++) {
        snprintf(name, sizeof name, "blk.%lld.attn_norm.weight", (long long)il);
        LQ_FAIL_IF(!m->src.find_tensor(m->src.user, name, &t), err, LQ_E_FORMAT,
                   "%s: block_count is %lld but tensor '%s' is missing", m->src_name,
                   (long long)m->hp.n_layer, name);
    }
    return LQ_OK;
}

/* Floats every vector the layout may hold: per layer two norms, q/k/v biases and two q/k
 * norms; then output_norm and three rope factor vectors. false on overflow (dimensions
 * not yet vouched for by tensors may be huge). */
static bool vector_capacity(const struct lq_model_hparams *hp, int64_t *cap)
{
    int64_t q_dim, kv_dim, per_layer, all;
    return !lqi_mul_overflow_i64(hp->n_head, hp->n_embd_head, &q_dim) &&
           !lqi_mul_overflow_i64(hp->n_head_kv, hp->n_embd_head, &kv_dim) &&
           !__builtin_add_overflow(2 * hp->n_embd + 2 * hp->n_embd_head, q_dim, &per_layer) &&
           !__builtin_add_overflow(per_layer, 2 * kv_dim, &per_layer) &&
           !lqi_mul_overflow_i64(hp->n_layer, per_layer, &all) &&
           !__builtin_add_overflow(all, hp->n_embd + 3 * (hp->n_rot / 2), cap) &&
           (uint64_t)*cap <= SIZE_MAX / sizeof(float);
}

/* Binds token_embd, the layers, output_norm, output (tied to token_embd when absent) and the
 * rope factors. Norms, biases and rope factors are copied as F32 into m->vectors. */
lq_status lqi_model_bind(lq_model *m, struct lq_error *err)
{
    const struct lq_model_hparams *hp = &m->hp;
    /* the embedding's shape (bounded by the file's size) vouches for n_embd, and the layers'
     * tensors for n_layer, before anything is sized by them */
    LQ_TRY(bind_weight(m, "token_embd.weight", hp->n_embd, hp->n_vocab, &m->tok_embd, err));
    LQ_TRY(check_layers_present(m, err));
    LQ_FAIL_IF(hp->add_bos && hp->bos_token_id >= hp->n_vocab, err, LQ_E_FORMAT,
               "%s: BOS token id %d (tokenizer.ggml.bos_token_id) is past the %lld rows of "
               "token_embd.weight", m->src_name, (int)hp->bos_token_id, (long long)hp->n_vocab);
    LQ_FAIL_IF(hp->n_rot < 0 || hp->n_rot > hp->n_embd, err, LQ_E_FORMAT,
               "%s: rope dimension count %lld exceeds the embedding length %lld", m->src_name,
               (long long)hp->n_rot, (long long)hp->n_embd);
    LQ_FAIL_IF(!vector_capacity(hp, &m->cap_vectors), err, LQ_E_FORMAT,
               "%s: head counts and sizes overflow", m->src_name);
    m->n_vectors = 0;
    m->vectors = lqi_malloc((size_t)m->cap_vectors * sizeof(float));
    m->layers = lqi_calloc((size_t)hp->n_layer, sizeof *m->layers);
    LQ_FAIL_IF(!m->vectors || !m->layers, err, LQ_E_NOMEM, "%s: out of memory for the model",
               m->src_name);
    LQ_FAIL_IF(!m->tok_embd.to_float && m->tok_embd.type != LQ_TYPE_F32, err, LQ_E_UNSUPPORTED,
               "%s: tensor 'token_embd.weight': type %s cannot be decoded", m->src_name,
               lq_type_name(m->tok_embd.type));
    for (int64_t il = 0; il < hp->n_layer; il++) {
        LQ_TRY(bind_layer(m, il, err));
    }
    LQ_TRY(bind_vector(m, "output_norm.weight", hp->n_embd, true, &m->output_norm, err));
    struct lq_model_tensor t;
    if (m->src.find_tensor(m->src.user, "output.weight", &t)) {
        LQ_TRY(bind_weight(m, "output.weight", hp->n_embd, hp->n_vocab, &m->output, err));
    } else {
        m->output = m->tok_embd;
    }
    return bind_rope_factors(m, err);
}
