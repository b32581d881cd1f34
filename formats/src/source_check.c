/* source_check.c - the one validator of a Llama source's hyper-parameters, whichever file they
 * came from (config.json, GGUF metadata, a llama2.c header): each value's range, and its
 * agreement with the tensors (layers found, q/k/v/o and FFN shapes, embedding and output rows,
 * tokenizer pieces). A file `quant convert` writes from an accepted source is one that eval
 * and llama.cpp load. Messages name the file, the key as that file spells it, and both
 * values; the errors are LQ_E_FORMAT (exit 3). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lqi.h"
#include "source_impl.h"

/* Largest dimension accepted: keeps every product of two in int64, as eval requires. */
#define LQI_HP_DIM_MAX ((int64_t)1 << 24)
#define LQI_HP_LAYERS_MAX 4096

static lq_status check_dim(const struct lqi_hparam_keys *k, const char *key, int64_t v, int64_t max,
                           struct lq_error *err)
{
    LQ_FAIL_IF(v <= 0 || v > max, err, LQ_E_FORMAT, "%s: %s is %lld: must be 1 .. %lld", k->file,
               key, (long long)v, (long long)max);
    return LQ_OK;
}

lq_status lqi_source_check_real(const struct lqi_hparam_keys *k, const char *key, double v,
                                struct lq_error *err)
{
    LQ_FAIL_IF(!isfinite(v) || !(v > 0) || v > FLT_MAX || (float)v == 0.0f, err, LQ_E_FORMAT,
               "%s: %s is %g: must be finite, > 0 and within float32 range", k->file, key, v);
    return LQ_OK;
}

/* Expert counts: none (dense), or 2 .. LQ_MAX_EXPERTS with 1 .. that many used per token. */
static lq_status check_experts(const struct lq_llama_hparams *hp,
                               const struct lqi_hparam_keys *k, struct lq_error *err)
{
    const char *kx = k->n_expert ? k->n_expert : "expert count";
    const char *ku = k->n_expert_used ? k->n_expert_used : "experts used";
    LQ_FAIL_IF(hp->n_expert < 0 || hp->n_expert == 1 || hp->n_expert > LQ_MAX_EXPERTS, err,
               LQ_E_FORMAT, "%s: %s must be 0 (dense) or 2 .. %d", k->file, kx, LQ_MAX_EXPERTS);
    if (hp->n_expert == 0) {
        return LQ_OK;
    }
    LQ_FAIL_IF(hp->n_expert_used < 1 || hp->n_expert_used > hp->n_expert, err, LQ_E_FORMAT,
               "%s: %s is %d: must be 1 .. %s %d", k->file, ku, hp->n_expert_used, kx,
               hp->n_expert);
    return check_dim(k, k->n_ff_exp ? k->n_ff_exp : "expert FFN size", hp->n_ff_exp,
                     LQI_HP_DIM_MAX, err);
}

lq_status lqi_source_check_ranges(const struct lq_llama_hparams *hp,
                                  const struct lqi_hparam_keys *k, struct lq_error *err)
{
    LQ_TRY(check_dim(k, k->n_embd, hp->n_embd, LQI_HP_DIM_MAX, err));
    LQ_TRY(check_dim(k, k->n_layer, hp->n_layer, LQI_HP_LAYERS_MAX, err));
    LQ_TRY(check_dim(k, k->n_ff, hp->n_ff, LQI_HP_DIM_MAX, err));
    LQ_TRY(check_dim(k, k->n_head, hp->n_head, LQI_HP_DIM_MAX, err));
    LQ_TRY(check_dim(k, k->n_head_kv, hp->n_head_kv, LQI_HP_DIM_MAX, err));
    LQ_TRY(check_dim(k, k->n_vocab, hp->n_vocab, INT32_MAX, err));
    LQ_TRY(check_dim(k, k->n_ctx_train, hp->n_ctx_train, UINT32_MAX, err));
    LQ_FAIL_IF(hp->n_head % hp->n_head_kv != 0, err, LQ_E_FORMAT,
               "%s: %s is %lld, which does not divide %s %lld", k->file, k->n_head_kv,
               (long long)hp->n_head_kv, k->n_head, (long long)hp->n_head);
    LQ_FAIL_IF(k->head_dim_implied && hp->n_embd % hp->n_head != 0, err, LQ_E_FORMAT,
               "%s: %s %lld is not %s %lld times a whole head size", k->file, k->n_embd,
               (long long)hp->n_embd, k->n_head, (long long)hp->n_head);
    LQ_TRY(check_dim(k, k->head_dim, hp->head_dim, LQI_HP_DIM_MAX, err));
    LQ_FAIL_IF(hp->head_dim % 2 != 0 || hp->n_rot <= 0 || hp->n_rot % 2 != 0 ||
                   hp->n_rot > hp->head_dim,
               err, LQ_E_FORMAT,
               "%s: %s %lld and rotary dimensions %lld: both must be even, "
               "rotary <= head size",
               k->file, k->head_dim, (long long)hp->head_dim, (long long)hp->n_rot);
    LQ_TRY(lqi_source_check_real(k, k->rope_freq_base, hp->rope_freq_base, err));
    LQ_TRY(check_experts(hp, k, err));
    return lqi_source_check_real(k, k->norm_eps, hp->norm_eps, err);
}

/* Layers the tensors hold: one past the largest blk.N, 0 when none. */
static int64_t layers_found(const struct lq_source *s)
{
    int64_t n = 0;
    for (int64_t i = 0; i < s->n_tensors; i++) {
        const char *name = s->tensors[i].name;
        if (strncmp(name, "blk.", 4) == 0) {
            int64_t l = strtoll(name + 4, NULL, 10);
            n = l + 1 > n ? l + 1 : n;
        }
    }
    return n;
}

/* The family whose table rules the checks: a folder's, or the GGUF architecture's (llama for
 * llama2.c checkpoints). */
static const struct lq_family *family_of(const struct lq_source *s)
{
    return s->family ? s->family : lq_family_by_gguf_arch("llama");
}

/* The per-layer tensors every layer must have (at most 32): LQ_FT_REQUIRED rows, and the
 * dense FFN or the router and experts by the expert count. */
static size_t required_parts(const struct lq_family *f, int n_expert,
                             const struct lq_family_tensor **req)
{
    const unsigned need = LQ_FT_REQUIRED | (n_expert > 0 ? LQ_FT_MOE : LQ_FT_DENSE);
    size_t n = 0;
    for (size_t i = 0; i < f->n_layer_tensors && n < 32; i++) {
        if (f->layer_tensors[i].flags & need) {
            req[n++] = &f->layer_tensors[i];
        }
    }
    return n;
}

/* Bit p of have[l] is set when layer l has the required part p: one pass over the tensors,
 * so the check costs the same however many tensors a file claims. */
static void mark_parts(const struct lq_source *s, const struct lq_family_tensor *const *req,
                       size_t n_req, uint32_t *have)
{
    for (int64_t i = 0; i < s->n_tensors; i++) {
        const char *name = s->tensors[i].name;
        char *end;
        long long l = strncmp(name, "blk.", 4) == 0 ? strtoll(name + 4, &end, 10) : -1;
        if (l < 0 || l >= s->hp.n_layer || *end != '.') {
            continue;
        }
        for (size_t p = 0; p < n_req; p++) {
            if (strcmp(end + 1, req[p]->gguf) == 0) {
                have[l] |= 1u << p;
            }
        }
    }
}

static lq_status check_layers(const struct lq_source *s, const struct lqi_hparam_keys *k,
                              struct lq_error *err)
{
    const int64_t found = layers_found(s);
    LQ_FAIL_IF(found != s->hp.n_layer, err, LQ_E_FORMAT,
               "%s: %s is %lld but the tensors have %lld layers", k->file, k->n_layer,
               (long long)s->hp.n_layer, (long long)found);
    const struct lq_family *f = family_of(s);
    const struct lq_family_tensor *req[32];
    const size_t n_req = required_parts(f, s->hp.n_expert, req);
    uint32_t *have = lqi_calloc((size_t)s->hp.n_layer, sizeof *have);
    LQ_FAIL_IF(!have, err, LQ_E_NOMEM, "%s: out of memory", s->path);
    mark_parts(s, req, n_req, have);
    lq_status rc = LQ_OK;
    for (int64_t l = 0; l < s->hp.n_layer && rc == LQ_OK; l++) {
        for (size_t p = 0; p < n_req && rc == LQ_OK; p++) {
            if (!(have[l] & (1u << p))) {
                rc = lqi_set_error(err, LQ_E_FORMAT,
                                   "%s: layer %lld has no %s (%s is %lld; a %s model has it in "
                                   "every layer)", s->path, (long long)l, req[p]->gguf,
                                   k->n_layer, (long long)s->hp.n_layer, f->name);
            }
        }
    }
    lqi_free(have);
    LQ_FAIL_IF(rc == LQ_OK && lq_source_find_tensor(s, "token_embd.weight") < 0, err, LQ_E_FORMAT,
               "%s: the token embedding is missing", s->path);
    return rc;
}

/* What one tensor's shape must be, and the keys (with their values) each dimension follows. */
struct want {
    int64_t ne0, ne1;
    const char *key0, *key1; /* "hidden_size", "num_attention_heads x head_dim", ... */
};

/* Stacked experts have a third dimension: the expert count. */
static int64_t third_dim(const struct lq_llama_hparams *hp, const struct lq_family_tensor *row)
{
    const bool stacked = row && (row->shape == LQ_SHAPE_E_FX_X || row->shape == LQ_SHAPE_FX_E_X);
    return stacked ? hp->n_expert : 1;
}

/* The table row of a GGUF tensor name ("blk.3.attn_q.weight", "output.weight"). */
static const struct lq_family_tensor *row_of(const struct lq_family *f, const char *name)
{
    const char *p = strncmp(name, "blk.", 4) == 0 ? strchr(name + 4, '.') : NULL;
    const struct lq_family_tensor *t = p ? f->layer_tensors : f->global_tensors;
    size_t n = p ? f->n_layer_tensors : f->n_global_tensors;
    p = p ? p + 1 : name;
    for (size_t i = 0; i < n; i++) {
        if (!(t[i].flags & LQ_FT_SKIP) && strcmp(t[i].gguf, p) == 0) {
            return &t[i];
        }
    }
    return NULL;
}

/* Expected GGUF shape of a tensor by its table row (ne1 = 1 for vectors); false when the
 * row sets no rule. The dimension labels are built in buf / buf1 (cap bytes each). */
static bool expected_shape(const struct lq_llama_hparams *hp, const struct lqi_hparam_keys *k,
                           const struct lq_family_tensor *row, struct want *w, char *buf,
                           char *buf1, size_t cap)
{
    const int64_t q = hp->n_head * hp->head_dim, kv = hp->n_head_kv * hp->head_dim;
    snprintf(buf, cap, "%s x %s", k->n_head, k->head_dim);
    snprintf(buf1, cap, "%s x %s", k->n_head_kv, k->head_dim);
    const char *kx = k->n_expert ? k->n_expert : "expert count";
    const char *kf = k->n_ff_exp ? k->n_ff_exp : k->n_ff;
    switch (row ? row->shape : LQ_SHAPE_ANY) {
    case LQ_SHAPE_E: *w = (struct want){hp->n_embd, 1, k->n_embd, NULL}; break;
    case LQ_SHAPE_E_Q: *w = (struct want){hp->n_embd, q, k->n_embd, buf}; break;
    case LQ_SHAPE_E_KV: *w = (struct want){hp->n_embd, kv, k->n_embd, buf1}; break;
    case LQ_SHAPE_Q_E: *w = (struct want){q, hp->n_embd, buf, k->n_embd}; break;
    case LQ_SHAPE_E_QKV:
        snprintf(buf1, cap, "(%s + 2 x %s) x %s", k->n_head, k->n_head_kv, k->head_dim);
        *w = (struct want){hp->n_embd, q + 2 * kv, k->n_embd, buf1};
        break;
    case LQ_SHAPE_E_F: *w = (struct want){hp->n_embd, hp->n_ff, k->n_embd, k->n_ff}; break;
    case LQ_SHAPE_E_2F:
        snprintf(buf1, cap, "2 x %s", k->n_ff);
        *w = (struct want){hp->n_embd, 2 * hp->n_ff, k->n_embd, buf1};
        break;
    case LQ_SHAPE_F_E: *w = (struct want){hp->n_ff, hp->n_embd, k->n_ff, k->n_embd}; break;
    case LQ_SHAPE_Q: *w = (struct want){q, 1, buf, NULL}; break;
    case LQ_SHAPE_KV: *w = (struct want){kv, 1, buf1, NULL}; break;
    case LQ_SHAPE_D: *w = (struct want){hp->head_dim, 1, k->head_dim, NULL}; break;
    case LQ_SHAPE_E_V: *w = (struct want){hp->n_embd, hp->n_vocab, k->n_embd, k->n_vocab}; break;
    case LQ_SHAPE_E_X: *w = (struct want){hp->n_embd, hp->n_expert, k->n_embd, kx}; break;
    case LQ_SHAPE_E_FX_X: *w = (struct want){hp->n_embd, hp->n_ff_exp, k->n_embd, kf}; break;
    case LQ_SHAPE_FX_E_X: *w = (struct want){hp->n_ff_exp, hp->n_embd, kf, k->n_embd}; break;
    default: return false;
    }
    return true;
}

/* Generated rope factor tensors hold one factor per rotary pair. */
static lq_status check_rope_factors(const struct lq_source *s, struct lq_error *err)
{
    static const char *const names[] = { "rope_freqs.weight", "rope_factors_long.weight",
                                         "rope_factors_short.weight" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const int64_t rf = lq_source_find_tensor(s, names[i]);
        LQ_FAIL_IF(rf >= 0 && s->tensors[rf].ne[0] != s->hp.n_rot / 2, err, LQ_E_FORMAT,
                   "%s: %s has %lld factors, the rotary dimensions %lld need %lld", s->path,
                   names[i], (long long)s->tensors[rf].ne[0], (long long)s->hp.n_rot,
                   (long long)(s->hp.n_rot / 2));
    }
    return LQ_OK;
}

static lq_status check_shapes(const struct lq_source *s, const struct lqi_hparam_keys *k,
                              struct lq_error *err)
{
    char buf[160], buf1[160];
    const struct lq_family *f = family_of(s);
    for (int64_t i = 0; i < s->n_tensors; i++) {
        const struct lq_source_tensor *t = &s->tensors[i];
        struct want w;
        const struct lq_family_tensor *row = row_of(f, t->name);
        if (!expected_shape(&s->hp, k, row, &w, buf, buf1, sizeof buf)) {
            continue;
        }
        const int64_t ne2 = third_dim(&s->hp, row);
        const int n_dims = ne2 > 1 ? 3 : w.key1 ? 2 : 1;
        LQ_FAIL_IF(t->ne[0] != w.ne0, err, LQ_E_FORMAT,
                   "%s: %s is %lld but tensor '%s' has rows of %lld", k->file, w.key0,
                   (long long)w.ne0, t->src_name, (long long)t->ne[0]);
        LQ_FAIL_IF(w.key1 && t->ne[1] != w.ne1, err, LQ_E_FORMAT,
                   "%s: %s is %lld but tensor '%s' has %lld rows", k->file, w.key1,
                   (long long)w.ne1, t->src_name, (long long)t->ne[1]);
        LQ_FAIL_IF(t->n_dims != n_dims || t->ne[1] != w.ne1 || t->ne[2] != ne2 ||
                       t->ne[3] != 1,
                   err, LQ_E_FORMAT,
                   "%s: tensor '%s' has %d dimensions [%lld, %lld, %lld, %lld] "
                   "(GGUF order), %s implies [%lld, %lld, %lld]",
                   t->file, t->src_name, t->n_dims, (long long)t->ne[0], (long long)t->ne[1],
                   (long long)t->ne[2], (long long)t->ne[3], k->file, (long long)w.ne0,
                   (long long)w.ne1, (long long)ne2);
    }
    return check_rope_factors(s, err);
}

lq_status lqi_source_check_hparams(const struct lq_source *s, const struct lqi_hparam_keys *k,
                                   struct lq_error *err)
{
    LQ_TRY(lqi_source_check_ranges(&s->hp, k, err));
    LQ_TRY(check_layers(s, k, err));
    return check_shapes(s, k, err);
}

lq_status lqi_source_check_pieces(const struct lq_source *s, const char *file, int64_t n_pieces,
                                  const char *vocab_key, struct lq_error *err)
{
    LQ_FAIL_IF(n_pieces > s->hp.n_vocab, err, LQ_E_FORMAT,
               "%s: the tokenizer has %lld pieces but %s is %lld (the embedding's rows)", file,
               (long long)n_pieces, vocab_key, (long long)s->hp.n_vocab);
    return LQ_OK;
}
