/* model_open.c - building a model over a tensor source: hyperparameter checks, binding,
 * run state; the handle's getters and free. */
#include "forward_impl.h"

#include <math.h>
#include <omp.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lq/source.h"
#include "lqi.h"

/* Dimensions above this are refused, which keeps every product of two of them in int64. */
#define LQI_DIM_MAX ((int64_t)1 << 24)

struct lq_model_params lq_model_params_default(void)
{
    struct lq_model_params p = {
        .n_threads = 0, .n_ctx = 0, .n_batch = 0, .weights = LQ_WEIGHTS_AUTO
    };
    return p;
}

static bool dim_ok(int64_t v)
{
    return v > 0 && v <= LQI_DIM_MAX;
}

static lq_status check_hparams(const struct lq_model_hparams *hp, const char *name,
                               struct lq_error *err)
{
    LQ_FAIL_IF(hp->n_vocab <= 0 || hp->n_vocab > ((int64_t)1 << 31) || !dim_ok(hp->n_embd) ||
                   !dim_ok(hp->n_layer) || !dim_ok(hp->n_ff) || !dim_ok(hp->n_head) ||
                   !dim_ok(hp->n_head_kv) || !dim_ok(hp->n_embd_head),
               err, LQ_E_FORMAT,
               "%s: bad dimensions (vocab %lld, embd %lld, layers %lld, ff %lld, heads %lld/%lld, "
               "head size %lld)", name, (long long)hp->n_vocab, (long long)hp->n_embd,
               (long long)hp->n_layer, (long long)hp->n_ff, (long long)hp->n_head,
               (long long)hp->n_head_kv, (long long)hp->n_embd_head);
    LQ_FAIL_IF(hp->n_expert != 0 &&
                   (hp->n_expert < 2 || hp->n_expert > LQ_MAX_EXPERTS || hp->n_expert_used < 1 ||
                    hp->n_expert_used > hp->n_expert || !dim_ok(hp->n_ff_exp)),
               err, LQ_E_FORMAT, "%s: bad expert counts (%lld experts, %lld used, ff %lld)",
               name, (long long)hp->n_expert, (long long)hp->n_expert_used,
               (long long)hp->n_ff_exp);
    LQ_FAIL_IF(hp->n_head % hp->n_head_kv != 0, err, LQ_E_FORMAT,
               "%s: %lld heads are not a multiple of %lld KV heads", name, (long long)hp->n_head,
               (long long)hp->n_head_kv);
    LQ_FAIL_IF(hp->n_rot <= 0 || hp->n_rot % 2 != 0 || hp->n_rot > hp->n_embd_head, err,
               LQ_E_FORMAT, "%s: rope dimension count %lld must be even and <= head size %lld",
               name, (long long)hp->n_rot, (long long)hp->n_embd_head);
    LQ_FAIL_IF(!(hp->norm_eps >= 0.0f) || !isfinite(hp->norm_eps) ||
                   !(hp->rope_freq_base > 0.0f) || !isfinite(hp->rope_freq_base) ||
                   !(hp->rope_freq_scale > 0.0f) || !isfinite(hp->rope_freq_scale),
               err, LQ_E_FORMAT, "%s: bad norm epsilon %g, rope base %g or rope scale %g", name,
               (double)hp->norm_eps, (double)hp->rope_freq_base, (double)hp->rope_freq_scale);
    LQ_FAIL_IF(hp->rope_type != LQ_ROPE_NORMAL && hp->rope_type != LQ_ROPE_NEOX, err,
               LQ_E_FORMAT, "%s: unknown rope type %d", name, (int)hp->rope_type);
    LQ_FAIL_IF(!(hp->rope_attn_factor >= 0.0f) || !isfinite(hp->rope_attn_factor) ||
                   hp->n_ctx_orig < 0,
               err, LQ_E_FORMAT, "%s: bad rope attention factor %g or original context %lld",
               name, (double)hp->rope_attn_factor, (long long)hp->n_ctx_orig);
    return LQ_OK;
}

/* The family's traits (llama when the caller named none) and what follows from them. */
static void apply_family(lq_model *m)
{
    if (!m->hp.family) {
        m->hp.family = lq_family_by_gguf_arch("llama");
    }
    m->tr = m->hp.family->traits;
    if (m->hp.rope_attn_factor == 0.0f) {
        m->hp.rope_attn_factor = 1.0f;
    }
    /* Phi-3's graph scales q instead of the scores */
    m->kq_scale = m->tr.attn_scale_q ? 1.0f : 1.0f / sqrtf((float)m->hp.n_embd_head);
}

/* Fills n_threads, n_ctx and n_batch from params and the model's training context. */
static lq_status apply_params(lq_model *m, const struct lq_model_params *params,
                              struct lq_error *err)
{
    struct lq_model_params p = params ? *params : lq_model_params_default();
    LQ_FAIL_IF(p.n_threads < 0 || p.n_ctx < 0 || p.n_batch < 0, err, LQ_E_INVALID_ARG,
               "%s: negative thread count, context or batch", m->src_name);
    m->n_threads = p.n_threads > 0 ? p.n_threads : omp_get_max_threads();
    m->n_ctx = p.n_ctx > 0 ? p.n_ctx : m->hp.n_ctx_train;
    LQ_FAIL_IF(!dim_ok(m->n_ctx), err, LQ_E_INVALID_ARG,
               "%s: context size %lld out of range (1 .. %lld)", m->src_name,
               (long long)m->n_ctx, (long long)LQI_DIM_MAX);
    m->n_batch = p.n_batch > 0 && p.n_batch < m->n_ctx ? p.n_batch : m->n_ctx;
    return LQ_OK;
}

/* Maps the pages of a weight now (MADV_POPULATE_READ), as llama.cpp's MAP_POPULATE does:
 * otherwise the first pass takes a page fault per 4 KiB of weights inside its products.
 * Advisory: a kernel without it, or memory that is not a file map, is left as it is. */
static void prefault(const struct lqi_weight *w)
{
#ifdef MADV_POPULATE_READ
    if (!w->data) {
        return;
    }
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t a = (uintptr_t)w->data / page * page;
    const uintptr_t b = (uintptr_t)w->data + w->row_size * (size_t)w->n_out;
    (void)madvise((void *)a, (size_t)(b - a), MADV_POPULATE_READ);
#else
    (void)w;
#endif
}

static void prefault_weights(const lq_model *m)
{
    if (m->loaded) {
        return; /* written at open: every page is in */
    }
    for (int64_t il = 0; il < m->hp.n_layer; il++) {
        const struct lqi_weight *ws[LQI_LAYER_N_WEIGHTS];
        lqi_layer_weights(&m->layers[il], ws);
        for (int i = 0; i < LQI_LAYER_N_WEIGHTS; i++) {
            prefault(ws[i]);
        }
    }
    prefault(&m->output);
}

static lq_status build(lq_model *m, const struct lq_model_params *params, struct lq_error *err)
{
    LQ_TRY(check_hparams(&m->hp, m->src_name, err));
    apply_family(m);
    LQ_TRY(apply_params(m, params, err));
    LQ_TRY(lqi_model_bind(m, err));
    LQ_TRY(lqi_model_load_weights(m, params ? params->weights : LQ_WEIGHTS_AUTO, err));
    prefault_weights(m);
    return lqi_model_alloc_state(m, err);
}

lq_status lq_model_open_source(const struct lq_model_hparams *hp,
                               const struct lq_model_source *src,
                               const struct lq_model_params *params, lq_model **out,
                               struct lq_error *err)
{
    if (out) {
        *out = NULL;
    }
    if (!hp || !src || !src->find_tensor || !out) {
        if (src && src->close) {
            src->close(src->user);
        }
        return lqi_set_error(err, LQ_E_INVALID_ARG, "model: NULL argument");
    }
    lq_model *m = lqi_calloc(1, sizeof *m);
    if (!m) {
        if (src->close) {
            src->close(src->user);
        }
        return lqi_set_error(err, LQ_E_NOMEM, "model: out of memory");
    }
    m->hp = *hp;
    m->src = *src;
    m->src_name = lqi_strdup(src->name ? src->name : "model");
    lq_status rc = m->src_name ? build(m, params, err)
                               : lqi_set_error(err, LQ_E_NOMEM, "model: out of memory");
    if (rc != LQ_OK) {
        lq_model_free(m);
        return rc;
    }
    *out = m;
    return LQ_OK;
}

void lq_model_free(lq_model *m)
{
    if (!m) {
        return;
    }
    if (m->src.close) {
        m->src.close(m->src.user);
    }
    lqi_free(m->state_mem);
    lqi_model_unload_weights(m);
    for (int64_t il = 0; m->layers && il < m->hp.n_layer; il++) {
        lqi_free(m->layers[il].exp_views);
    }
    lqi_free(m->layers);
    lqi_free(m->vectors);
    for (int64_t i = 0; i < m->n_aligned; i++) {
        lqi_free(m->aligned[i]);
    }
    lqi_free(m->aligned);
    lqi_free(m->src_name);
    lqi_free(m);
}

const struct lq_model_hparams *lq_model_get_hparams(const lq_model *m)
{
    return m ? &m->hp : NULL;
}

int64_t lq_model_n_ctx(const lq_model *m)
{
    return m ? m->n_ctx : 0;
}

int64_t lq_model_n_batch(const lq_model *m)
{
    return m ? m->n_batch : 0;
}
