/* model_bind.c - finds every tensor of a Llama model in its source and checks it against
 * the hyperparameters (shape, type, byte size) before the forward pass may trust it. */
#include "forward_impl.h"

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
static lq_status check_tensor(const lq_model *m, const char *name,
                              const struct lq_model_tensor *t, int64_t n0, int64_t n1,
                              struct lq_error *err)
{
    LQ_FAIL_IF(t->ne[0] != n0 || t->ne[1] != n1 || t->ne[2] != 1 || t->ne[3] != 1, err,
               LQ_E_FORMAT, "%s: tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld]",
               m->src_name, name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
               (long long)t->ne[3], (long long)n0, (long long)n1);
    const size_t row = lq_row_size(t->type, n0);
    LQ_FAIL_IF(row == 0, err, LQ_E_UNSUPPORTED, "%s: tensor '%s' has type %s (id %d), unusable here",
               m->src_name, name, lq_type_name(t->type), (int)t->type);
    uint64_t want;
    LQ_FAIL_IF(lqi_mul_overflow_u64(row, (uint64_t)n1, &want) || want != t->nbytes || !t->data,
               err, LQ_E_FORMAT, "%s: tensor '%s' holds %zu bytes, its shape and type need %llu",
               m->src_name, name, t->nbytes, (unsigned long long)want);
    return LQ_OK;
}

/* The kernels read blocks and elements as C objects: weights a GGUF file aligned to less than
 * that (general.alignment 1 is legal) are used from an aligned copy owned by the model. */
#define WEIGHT_ALIGN 16

static lq_status align_data(lq_model *m, const char *name, struct lq_model_tensor *t,
                            struct lq_error *err)
{
    if ((uintptr_t)t->data % WEIGHT_ALIGN == 0) {
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

/* Binds a weight matrix of n_out rows of n_in elements. */
static lq_status bind_weight(lq_model *m, const char *name, int64_t n_in, int64_t n_out,
                             struct lqi_weight *w, struct lq_error *err)
{
    struct lq_model_tensor t;
    bool found;
    LQ_TRY(find(m, name, true, &t, &found, err));
    LQ_TRY(check_tensor(m, name, &t, n_in, n_out, err));
    LQ_TRY(align_data(m, name, &t, err));
    w->type = t.type;
    w->n_in = n_in;
    w->n_out = n_out;
    w->data = t.data;
    LQ_FAIL_IF(!lqi_weight_setup(w), err, LQ_E_UNSUPPORTED,
               "%s: tensor '%s': type %s has neither a dot kernel nor a dequantizer",
               m->src_name, name, lq_type_name(t.type));
    return LQ_OK;
}

/* Binds a vector of n values, converted to F32 into dst. Absent optional vectors leave
 * *bound false. */
static lq_status bind_vector(lq_model *m, const char *name, int64_t n, bool required, float *dst,
                             bool *bound, struct lq_error *err)
{
    struct lq_model_tensor t;
    LQ_TRY(find(m, name, required, &t, bound, err));
    if (!*bound) {
        return LQ_OK;
    }
    LQ_TRY(check_tensor(m, name, &t, n, 1, err));
    LQ_TRY(align_data(m, name, &t, err));
    const struct lq_type_traits *tr = lq_type_traits_get(t.type);
    LQ_FAIL_IF(!tr->to_float, err, LQ_E_UNSUPPORTED, "%s: tensor '%s': type %s cannot be decoded",
               m->src_name, name, lq_type_name(t.type));
    tr->to_float(t.data, dst, n);
    return LQ_OK;
}

static lq_status bind_layer(lq_model *m, int64_t il, float *norms, struct lq_error *err)
{
    const struct lq_model_hparams *hp = &m->hp;
    struct lqi_layer *L = &m->layers[il];
    const int64_t q_dim = hp->n_head * hp->n_embd_head;
    const int64_t kv_dim = hp->n_head_kv * hp->n_embd_head;
    char name[96];
    bool bound;
#define LQI_NAME(suffix) (snprintf(name, sizeof name, "blk.%lld." suffix, (long long)il), name)
    LQ_TRY(bind_vector(m, LQI_NAME("attn_norm.weight"), hp->n_embd, true, norms, &bound, err));
    LQ_TRY(bind_weight(m, LQI_NAME("attn_q.weight"), hp->n_embd, q_dim, &L->wq, err));
    LQ_TRY(bind_weight(m, LQI_NAME("attn_k.weight"), hp->n_embd, kv_dim, &L->wk, err));
    LQ_TRY(bind_weight(m, LQI_NAME("attn_v.weight"), hp->n_embd, kv_dim, &L->wv, err));
    LQ_TRY(bind_weight(m, LQI_NAME("attn_output.weight"), q_dim, hp->n_embd, &L->wo, err));
    LQ_TRY(bind_vector(m, LQI_NAME("ffn_norm.weight"), hp->n_embd, true, norms + hp->n_embd,
                       &bound, err));
    LQ_TRY(bind_weight(m, LQI_NAME("ffn_gate.weight"), hp->n_embd, hp->n_ff, &L->w_gate, err));
    LQ_TRY(bind_weight(m, LQI_NAME("ffn_up.weight"), hp->n_embd, hp->n_ff, &L->w_up, err));
    LQ_TRY(bind_weight(m, LQI_NAME("ffn_down.weight"), hp->n_ff, hp->n_embd, &L->w_down, err));
#undef LQI_NAME
    L->attn_norm = norms;
    L->ffn_norm = norms + hp->n_embd;
    return LQ_OK;
}

/* Binds token_embd, the layers, output_norm, output (tied to token_embd when absent) and
 * rope_freqs. Norm vectors and rope factors are copied as F32 into m->vectors. */
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
    const int64_t n_vec = (2 * hp->n_layer + 1) * hp->n_embd + hp->n_rot / 2;
    m->vectors = lqi_malloc((size_t)n_vec * sizeof(float));
    m->layers = lqi_calloc((size_t)hp->n_layer, sizeof *m->layers);
    LQ_FAIL_IF(!m->vectors || !m->layers, err, LQ_E_NOMEM, "%s: out of memory for the model",
               m->src_name);
    LQ_FAIL_IF(!m->tok_embd.to_float && m->tok_embd.type != LQ_TYPE_F32, err, LQ_E_UNSUPPORTED,
               "%s: tensor 'token_embd.weight': type %s cannot be decoded", m->src_name,
               lq_type_name(m->tok_embd.type));
    for (int64_t il = 0; il < hp->n_layer; il++) {
        LQ_TRY(bind_layer(m, il, m->vectors + 2 * il * hp->n_embd, err));
    }
    float *tail = m->vectors + 2 * hp->n_layer * hp->n_embd;
    bool bound;
    LQ_TRY(bind_vector(m, "output_norm.weight", hp->n_embd, true, tail, &bound, err));
    m->output_norm = tail;
    struct lq_model_tensor t;
    if (m->src.find_tensor(m->src.user, "output.weight", &t)) {
        LQ_TRY(bind_weight(m, "output.weight", hp->n_embd, hp->n_vocab, &m->output, err));
    } else {
        m->output = m->tok_embd;
    }
    LQ_TRY(bind_vector(m, "rope_freqs.weight", hp->n_rot / 2, false, tail + hp->n_embd, &bound,
                       err));
    m->rope_freqs = bound ? tail + hp->n_embd : NULL;
    return LQ_OK;
}
