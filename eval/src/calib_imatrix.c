/* calib_imatrix.c - importance matrices from calibration text, counted as llama-imatrix does.
 *
 * Mixture of experts: the router (ffn_gate_inp) is a plain matrix product over the normed FFN
 * input. The expert stacks are llama.cpp's indirect products (MUL_MAT_ID), which
 * llama-imatrix collects whatever the micro-batch size: each expert sums the squares of the
 * rows routed to it (the normed FFN input for ffn_gate_exps and ffn_up_exps, its own SwiGLU
 * output for ffn_down_exps) and counts them, so counts has one entry per expert and they add
 * up to tokens x n_expert_used. */
#include "lq/calib.h"

#include <stdio.h>
#include <string.h>

#include "lqi.h"

/* llama-imatrix skips matrix products over fewer rows than this (imatrix.cpp: "why are small
 * batches ignored (<16 tokens)?"). */
#define IMATRIX_MIN_ROWS 16

struct collector {
    const lq_model *m;
    lq_imatrix *im;
    const bool *counted; /* (n_ctx) positions of the current chunk llama-imatrix collects */
    int64_t n_ctx;
};

/* Marks the positions whose micro-batch llama-imatrix collects, for a decode of n_seq chunks
 * at once (llama.cpp's split_simple for one sequence, split_equal for several). */
static void mark_counted(bool *counted, int64_t n_ctx, int64_t n_batch, int64_t n_ubatch,
                         int64_t n_seq)
{
    const int64_t per_seq = n_seq > 1 ? n_ubatch / n_seq : n_ubatch;
    const int64_t step = per_seq > 0 ? per_seq : 1;
    for (int64_t b0 = 0; b0 < n_ctx; b0 += n_batch) {
        const int64_t b1 = b0 + n_batch < n_ctx ? b0 + n_batch : n_ctx;
        for (int64_t u0 = b0; u0 < b1; u0 += step) {
            const int64_t u1 = u0 + step < b1 ? u0 + step : b1;
            const bool keep = (u1 - u0) * n_seq >= IMATRIX_MIN_ROWS;
            for (int64_t p = u0; p < u1; p++) {
                counted[p] = keep;
            }
        }
    }
}

static lq_status add_rows(struct collector *c, const char *name, const float *x, int64_t n_cols,
                          struct lq_error *err)
{
    for (int64_t p = 0; p < c->n_ctx;) {
        if (!c->counted[p]) {
            p++;
            continue;
        }
        int64_t q = p;
        while (q < c->n_ctx && c->counted[q]) {
            q++;
        }
        LQ_TRY(lq_imatrix_add(c->im, name, x + p * n_cols, q - p, n_cols, err));
        p = q;
    }
    return LQ_OK;
}

static lq_status observe(void *user, int64_t layer, enum lq_hook_point point, const float *x,
                         int64_t n_rows, int64_t n_cols, struct lq_error *err)
{
    struct collector *c = user;
    LQ_FAIL_IF(n_rows != c->n_ctx, err, LQ_E_INVALID_ARG,
               "imatrix: %lld rows observed, chunks have %lld", (long long)n_rows,
               (long long)c->n_ctx);
    for (int w = 0; w < LQ_LW_COUNT; w++) {
        if (lq_layer_weight_input((enum lq_layer_weight)w) != point ||
            !lq_model_has_weight(c->m, (enum lq_layer_weight)w)) {
            continue;
        }
        char name[96];
        snprintf(name, sizeof name, "blk.%lld.%s.weight", (long long)layer,
                 lq_layer_weight_name((enum lq_layer_weight)w));
        LQ_TRY(add_rows(c, name, x, n_cols, err));
    }
    if (point == LQ_HOOK_FFN_IN && lq_model_get_hparams(c->m)->n_expert > 0) {
        char name[96];
        snprintf(name, sizeof name, "blk.%lld.ffn_gate_inp.weight", (long long)layer);
        LQ_TRY(add_rows(c, name, x, n_cols, err));
    }
    return LQ_OK;
}

static lq_status observe_expert(void *user, int64_t layer, int64_t expert,
                                enum lq_hook_point point, const float *x, const int64_t *route,
                                int64_t n_rows, int64_t n_cols, struct lq_error *err)
{
    (void)route;
    struct collector *c = user;
    const int64_t n_expert = lq_model_get_hparams(c->m)->n_expert;
    const enum lq_layer_weight ws[3] = { LQ_LW_GATE, LQ_LW_UP, LQ_LW_DOWN };
    for (int k = 0; k < 3; k++) {
        if (lq_layer_weight_input(ws[k]) != point) {
            continue;
        }
        char name[96];
        snprintf(name, sizeof name, "blk.%lld.%s.weight", (long long)layer,
                 lq_expert_weight_name(ws[k]));
        LQ_TRY(lq_imatrix_add_mat(c->im, name, n_expert, expert, x, n_rows, n_cols, err));
    }
    return LQ_OK;
}

lq_status lq_calib_imatrix(lq_model *m, const struct lq_calib *c,
                           const struct lq_imatrix_batching *batching, lq_imatrix *im,
                           struct lq_error *err)
{
    LQ_FAIL_IF(!m || !c || !im, err, LQ_E_INVALID_ARG, "imatrix: NULL argument");
    struct lq_imatrix_batching bt =
        batching ? *batching : (struct lq_imatrix_batching){.n_batch = 2048, .n_ubatch = 512};
    LQ_FAIL_IF(bt.n_batch < 1 || bt.n_ubatch < 1, err, LQ_E_INVALID_ARG,
               "imatrix: batch %lld and micro-batch %lld must be positive", (long long)bt.n_batch,
               (long long)bt.n_ubatch);
    bool *counted = lqi_calloc((size_t)c->n_ctx, sizeof *counted);
    LQ_FAIL_IF(!counted, err, LQ_E_NOMEM, "imatrix: out of memory");
    struct collector col = {.m = m, .im = im, .counted = counted, .n_ctx = c->n_ctx};
    const int64_t n_seq = bt.n_batch / c->n_ctx > 1 ? bt.n_batch / c->n_ctx : 1;
    const int64_t n_batch = bt.n_batch < n_seq * c->n_ctx ? bt.n_batch : n_seq * c->n_ctx;
    lq_model_set_observer(m, observe, &col);
    lq_model_set_expert_observer(m, observe_expert, &col);
    lq_status rc = LQ_OK;
    for (int64_t i = 0; i < c->n_chunks && rc == LQ_OK; i++) {
        const int64_t group = i / n_seq * n_seq;
        const int64_t n_in_group = c->n_chunks - group < n_seq ? c->n_chunks - group : n_seq;
        mark_counted(counted, c->n_ctx, n_batch, bt.n_ubatch, n_in_group);
        struct lq_batch b = {.tokens = c->tokens + i * c->n_ctx, .n_tokens = c->n_ctx};
        rc = lq_model_forward(m, &b, err);
        if (rc == LQ_OK && bt.on_chunk) {
            bt.on_chunk(bt.user, i + 1, c->n_chunks);
        }
    }
    lq_model_set_observer(m, NULL, NULL);
    lq_model_set_expert_observer(m, NULL, NULL);
    lqi_free(counted);
    LQ_TRY(rc);
    float most = 0.0f;
    for (int64_t e = 0; e < lq_imatrix_n_entries(im); e++) {
        const struct lq_imatrix_entry *en = lq_imatrix_entry(im, e);
        for (int64_t k = 0; k < en->n_mat; k++) {
            most = en->counts[k] > most ? en->counts[k] : most;
        }
    }
    /* llama-imatrix records the chunks its row counts amount to */
    lq_imatrix_set_info(im, c->path, (uint32_t)(most / (float)c->n_ctx), (uint32_t)c->n_ctx);
    return LQ_OK;
}
