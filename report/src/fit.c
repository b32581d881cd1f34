/* fit.c - llama.cpp's buffer sizes for a model, context and KV type, and the best split of
 * its layers between GPU and host (the formulas: lq/fit.h). */
#include <stdlib.h>
#include <string.h>

#include "lq/fit.h"
#include "lqi.h"

#define MIB (1024.0 * 1024.0)

struct lq_fit_params lq_fit_params_default(void)
{
    return (struct lq_fit_params){.n_ctx = 4096, .n_ubatch = 512, .kv_type = LQ_TYPE_F16};
}

/* llama.cpp pads the context of its KV cache to a multiple of 256. */
static uint64_t padded_ctx(int64_t n_ctx)
{
    return ((uint64_t)n_ctx + 255) / 256 * 256;
}

/* The block a tensor belongs to ("blk.N."), or -1 outside the blocks. */
static int64_t tensor_block(const char *name)
{
    if (strncmp(name, "blk.", 4) != 0) {
        return -1;
    }
    char *end = NULL;
    const long long b = strtoll(name + 4, &end, 10);
    return end && *end == '.' && b >= 0 ? (int64_t)b : -1;
}

/* Whether the CPU backend repacks it for its matrix kernels (x86-64 with AVX2; see
 * ggml-cpu's repack: these types, rows a multiple of 8, used by a matrix product). */
static bool repacked(const struct lq_fit_tensor *t)
{
    const bool type = t->type == LQ_TYPE_Q4_0 || t->type == LQ_TYPE_Q4_K ||
                      t->type == LQ_TYPE_IQ4_NL || t->type == LQ_TYPE_MXFP4;
    return type && (t->n_dims == 2 || t->n_dims == 3) && t->ne[1] % 8 == 0 &&
           strcmp(t->name, "token_embd.weight") != 0;
}

/* Where llama.cpp puts a tensor with ngl blocks offloaded: the last ngl blocks, and the
 * output head (output, output_norm) when ngl > n_layer; token_embd and the rest stay. */
static bool on_gpu(const struct lq_fit_tensor *t, int64_t n_layer, int64_t ngl)
{
    const int64_t b = tensor_block(t->name);
    if (b >= 0) {
        return b >= n_layer - ngl;
    }
    return ngl > n_layer && strncmp(t->name, "output", 6) == 0;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* Whether layer il keeps a sliding window (and its window is known). */
static bool layer_slides(const struct lq_fit_shape *s, int64_t il)
{
    return s->n_swa > 0 && s->swa_pattern > 0 && il % s->swa_pattern < s->swa_pattern - 1;
}

/* The cells of a sliding-window layer's cache: the window plus one batch, at most n_kv. */
static uint64_t swa_cells(const struct lq_fit_shape *s, uint64_t n_kv, uint64_t u)
{
    const uint64_t w = (uint64_t)s->n_swa + u;
    return padded_ctx((int64_t)(w < n_kv ? w : n_kv));
}

/* The compute buffer's peak (lq/fit.h); out_only: only the output phase runs here. */
static uint64_t compute_bytes(const struct lq_fit_shape *s, const struct lq_fit_params *p,
                              uint64_t n_kv, bool out_only)
{
    const uint64_t u = (uint64_t)p->n_ubatch;
    const uint64_t E = (uint64_t)s->n_embd * u * 4, G = (uint64_t)(s->head_dim_k * s->n_head_kv) * u * 4;
    const uint64_t F = (uint64_t)s->n_ff * u * 4, L = (uint64_t)s->n_vocab * u * 4;
    uint64_t out = L + 2 * E;
    if (!p->flash_attn) {
        out += n_kv * u * 2;
    }
    if (p->kv_type != LQ_TYPE_F16) {
        out += E / 2;
    }
    if (out_only) {
        return out;
    }
    uint64_t attn = p->flash_attn
                        ? n_kv * u * 2 + 3 * F + 4 * E + 20 * u
                        : (uint64_t)s->n_head * n_kv * u * 4 + n_kv * u * 4 + 5 * E + 2 * G + 20 * u;
    if (p->flash_attn && layer_slides(s, 0)) {
        attn += swa_cells(s, n_kv, u) * u * 2;
    }
    return max_u64(out, attn);
}

lq_status lq_fit_estimate_ngl(const struct lq_fit_model *m, const struct lq_fit_params *p,
                              int64_t ngl, struct lq_fit_estimate *out, struct lq_error *err)
{
    LQ_FAIL_IF(!m || !p || !out, err, LQ_E_INVALID_ARG, "fit: NULL argument");
    const struct lq_fit_shape *s = &m->shape;
    LQ_FAIL_IF(s->n_layer <= 0 || s->n_embd <= 0 || s->n_head <= 0 || s->n_head_kv <= 0 ||
                   s->head_dim_k <= 0 || s->head_dim_v <= 0 || s->n_vocab <= 0 || s->n_ff < 0,
               err, LQ_E_INVALID_ARG, "fit: %s: incomplete shape", m->label);
    /* bounds far past any model, so that no product below can overflow 64 bits */
    LQ_FAIL_IF(s->n_layer > 4096 || s->n_embd > (1LL << 24) || s->n_ff > (1LL << 24) ||
                   s->n_head > 4096 || s->n_head_kv > 4096 || s->head_dim_k > 65536 ||
                   s->head_dim_v > 65536 || s->n_vocab > (1LL << 26) ||
                   s->head_dim_k * s->n_head_kv > (1LL << 20) ||
                   s->head_dim_v * s->n_head_kv > (1LL << 20) || s->n_swa < 0 ||
                   s->n_swa > (1LL << 32) || s->swa_pattern < 0 || s->swa_pattern > 4096,
               err, LQ_E_FORMAT,
               "%s: shape out of range (%lld layers, width %lld, FFN %lld, %lld/%lld heads of "
               "%lld, vocabulary %lld)",
               m->label, (long long)s->n_layer, (long long)s->n_embd, (long long)s->n_ff,
               (long long)s->n_head, (long long)s->n_head_kv, (long long)s->head_dim_k,
               (long long)s->n_vocab);
    LQ_FAIL_IF(p->n_ctx <= 0 || p->n_ctx > (1LL << 24) || p->n_ubatch <= 0 ||
                   p->n_ubatch > (1LL << 20),
               err, LQ_E_INVALID_ARG, "fit: context or batch out of range");
    LQ_FAIL_IF(ngl < 0 || ngl > s->n_layer + 1, err, LQ_E_INVALID_ARG,
               "fit: %lld layers offloaded of %lld", (long long)ngl, (long long)s->n_layer);
    const size_t k_row = lq_row_size(p->kv_type, s->head_dim_k * s->n_head_kv);
    const size_t v_row = lq_row_size(p->kv_type, s->head_dim_v * s->n_head_kv);
    LQ_FAIL_IF(k_row == 0 || v_row == 0, err, LQ_E_INVALID_ARG,
               "fit: %s: a KV row of %lld is no whole number of %s blocks", m->label,
               (long long)(s->head_dim_k * s->n_head_kv), lq_type_name(p->kv_type));
    memset(out, 0, sizeof *out);
    out->n_gpu_layers = ngl;

    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const struct lq_fit_tensor *t = &m->tensors[i];
        if (on_gpu(t, s->n_layer, ngl)) {
            out->gpu.weights += t->nbytes;
        } else if (repacked(t)) {
            out->cpu.repack += t->nbytes;
        } else if (t->nbytes > 0) {
            lo = t->offset < lo ? t->offset : lo;
            hi = max_u64(hi, t->offset + t->nbytes);
        }
    }
    out->cpu.mapped = hi > lo ? hi - lo : 0;
    out->cpu.weights = out->cpu.mapped + out->cpu.repack;

    const uint64_t n_kv = padded_ctx(p->n_ctx);
    const uint64_t n_swa = swa_cells(s, n_kv, (uint64_t)p->n_ubatch);
    for (int64_t il = 0; il < s->n_layer; il++) {
        const uint64_t kv = (layer_slides(s, il) ? n_swa : n_kv) * (uint64_t)(k_row + v_row);
        *(il >= s->n_layer - ngl ? &out->gpu.kv : &out->cpu.kv) += kv;
    }
    out->cpu.output = (uint64_t)s->n_vocab * 4;
    if (ngl == 0) {
        out->cpu.compute = compute_bytes(s, p, n_kv, false);
    } else {
        /* The graph runs on the GPU; the host keeps the inputs, and the output head when it
         * stays there. */
        out->gpu.compute = compute_bytes(s, p, n_kv, false);
        out->cpu.compute = ngl > s->n_layer ? (uint64_t)s->n_embd * (uint64_t)p->n_ubatch * 8
                                            : compute_bytes(s, p, n_kv, true);
        out->gpu_unverified = true;
    }
    out->cpu.total = out->cpu.weights + out->cpu.kv + out->cpu.compute + out->cpu.output;
    out->gpu.total = out->gpu.weights + out->gpu.kv + out->gpu.compute;
    out->swa_upper_bound = s->swa_pattern > 0 && s->n_swa <= 0;
    out->moe_unverified = s->n_expert > 1;
    return LQ_OK;
}

lq_status lq_fit_estimate(const struct lq_fit_model *m, const struct lq_fit_params *p,
                          struct lq_fit_estimate *out, struct lq_error *err)
{
    LQ_FAIL_IF(!m || !p || !out, err, LQ_E_INVALID_ARG, "fit: NULL argument");
    const int64_t max_ngl = p->vram > 0 ? m->shape.n_layer + 1 : 0;
    for (int64_t ngl = max_ngl; ngl >= 0; ngl--) {
        LQ_TRY(lq_fit_estimate_ngl(m, p, ngl, out, err));
        if (out->gpu.total <= p->vram && out->cpu.total <= p->mem) {
            out->fits = true;
            return LQ_OK;
        }
    }
    /* Nothing fits: the host-only figure is the requirement to report. */
    return lq_fit_estimate_ngl(m, p, 0, out, err);
}

void lq_fit_model_free(struct lq_fit_model *m)
{
    if (m) {
        lqi_free(m->tensors);
        memset(m, 0, sizeof *m);
    }
}
