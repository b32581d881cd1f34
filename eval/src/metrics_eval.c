/* metrics_eval.c - the chunked evaluation loop of llama-perplexity (perplexity() and
 * kl_divergence() in tools/perplexity/perplexity.cpp), over lq_model_forward(). */
#include "lq/metrics.h"

#include <string.h>
#include <time.h>

#include "lqi.h"

struct run {
    lq_model *m;
    const struct lq_eval_params *p;
    int64_t n_ctx, n_chunk, first, n_scored, n_vocab;
    const int32_t *tokens;
    int32_t *chunk;  /* (n_ctx) this chunk's tokens, BOS first */
    float *logits;   /* (n_ctx - first, n_vocab) logits of the scored half */
    uint16_t *rows;  /* (n_scored, row length) base rows to save or compare */
    lq_logits_file *save, *base;
    lq_kld *kld;
    struct lq_ppl ppl;
    double seconds;
};

struct lq_eval_params lq_eval_params_default(void)
{
    struct lq_eval_params p = { .n_ctx = 0, .n_chunks = 0 };
    return p;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs one chunk through the model in batches of at most n_batch tokens, keeping the logits
 * of positions first .. n_ctx - 1. */
static lq_status forward_chunk(struct run *ru, struct lq_error *err)
{
    const int64_t nb = lq_model_n_batch(ru->m);
    const double t0 = now_s();
    for (int64_t b0 = 0; b0 < ru->n_ctx; b0 += nb) {
        const int64_t n = ru->n_ctx - b0 < nb ? ru->n_ctx - b0 : nb;
        const int64_t out0 = b0 > ru->first ? b0 : ru->first;
        const int64_t n_out = b0 + n > out0 ? b0 + n - out0 : 0;
        const struct lq_batch b = { .tokens = ru->chunk + b0, .n_tokens = n, .pos = b0,
                                    .n_out = n_out,
                                    .logits = ru->logits + (out0 - ru->first) * ru->n_vocab };
        LQ_TRY(lq_model_forward(ru->m, &b, err));
    }
    ru->seconds += now_s() - t0;
    return LQ_OK;
}

/* Scores positions first .. n_ctx - 2 of chunk c against the tokens that follow them. */
static lq_status score_chunk(struct run *ru, int64_t c, struct lq_error *err)
{
    const size_t rl = lq_logprob_row_len(ru->n_vocab);
    if (ru->base) {
        LQ_TRY(lq_logits_read_chunk(ru->base, ru->rows, err));
    }
    for (int64_t j = 0; j < ru->n_scored; j++) {
        const float *lg = ru->logits + j * ru->n_vocab;
        const int32_t tok = ru->tokens[c * ru->n_ctx + ru->first + j + 1];
        lq_ppl_add(&ru->ppl, lq_nll(lg, ru->n_vocab, tok));
        if (ru->base) {
            LQ_TRY(lq_kld_add(ru->kld, lg, ru->rows + (size_t)j * rl, tok, err));
        } else if (ru->save) {
            lq_logprob_encode(lg, ru->n_vocab, tok, ru->rows + (size_t)j * rl);
        }
    }
    if (ru->save) {
        LQ_TRY(lq_logits_write_chunk(ru->save, ru->rows, err));
    }
    return LQ_OK;
}

static lq_status run_chunks(struct run *ru, struct lq_eval_result *r, struct lq_error *err)
{
    const struct lq_model_hparams *hp = lq_model_get_hparams(ru->m);
    for (int64_t c = 0; c < ru->n_chunk; c++) {
        memcpy(ru->chunk, ru->tokens + c * ru->n_ctx, (size_t)ru->n_ctx * sizeof(int32_t));
        if (hp->add_bos) {
            ru->chunk[0] = hp->bos_token_id;
        }
        lq_status rc = forward_chunk(ru, err);
        if (rc != LQ_OK) {
            lqi_error_prefix(err, "chunk %lld of %lld: ", (long long)(c + 1),
                             (long long)ru->n_chunk);
            return rc;
        }
        LQ_TRY(score_chunk(ru, c, err));
        if (ru->kld) {
            LQ_TRY(lq_kld_report(ru->kld, &r->kld, err));
            r->has_kld = true;
        }
        if (ru->p->on_chunk) {
            const struct lq_eval_progress pr = {
                .chunk = c + 1, .n_chunk = ru->n_chunk, .ppl = lq_ppl_value(&ru->ppl),
                .kld = ru->kld ? &r->kld : NULL, .seconds = ru->seconds,
                .tokens = (c + 1) * ru->n_ctx,
            };
            ru->p->on_chunk(ru->p->user, &pr);
        }
    }
    return LQ_OK;
}

/* Context, chunk count and tokens: from the base file when comparing, else from the text. */
static lq_status plan(struct run *ru, int64_t n_tokens, struct lq_error *err)
{
    const struct lq_eval_params *p = ru->p;
    ru->n_vocab = lq_model_get_hparams(ru->m)->n_vocab;
    if (p->compare) {
        LQ_TRY(lq_logits_open(p->compare, &ru->base, err));
        const struct lq_logits_info *in = lq_logits_get_info(ru->base);
        LQ_FAIL_IF(p->n_ctx > 0 && p->n_ctx != in->n_ctx, err, LQ_E_INVALID_ARG,
                   "%s: computed with context %lld, not %lld", p->compare, (long long)in->n_ctx,
                   (long long)p->n_ctx);
        LQ_FAIL_IF(in->n_vocab != ru->n_vocab, err, LQ_E_INVALID_ARG,
                   "%s: vocabulary of %lld, the model has %lld", p->compare,
                   (long long)in->n_vocab, (long long)ru->n_vocab);
        ru->n_ctx = in->n_ctx;
        ru->tokens = lq_logits_tokens(ru->base);
        n_tokens = in->n_chunk * in->n_ctx;
    } else {
        ru->n_ctx = p->n_ctx > 0 ? p->n_ctx : 512;
        LQ_FAIL_IF(ru->n_ctx < 4, err, LQ_E_INVALID_ARG, "eval: context %lld is too small",
                   (long long)ru->n_ctx);
        LQ_FAIL_IF(n_tokens < 2 * ru->n_ctx, err, LQ_E_INVALID_ARG,
                   "eval: %lld tokens; a context of %lld needs at least %lld",
                   (long long)n_tokens, (long long)ru->n_ctx, (long long)(2 * ru->n_ctx));
    }
    LQ_FAIL_IF(ru->n_ctx > lq_model_n_ctx(ru->m), err, LQ_E_INVALID_ARG,
               "eval: chunks of %lld tokens exceed the model's context of %lld",
               (long long)ru->n_ctx, (long long)lq_model_n_ctx(ru->m));
    ru->n_chunk = n_tokens / ru->n_ctx;
    if (p->n_chunks > 0 && p->n_chunks < ru->n_chunk) {
        ru->n_chunk = p->n_chunks;
    }
    ru->first = ru->n_ctx / 2;
    ru->n_scored = ru->n_ctx - 1 - ru->first;
    return LQ_OK;
}

static lq_status alloc_run(struct run *ru, struct lq_error *err)
{
    ru->chunk = lqi_malloc((size_t)ru->n_ctx * sizeof(int32_t));
    ru->logits = lqi_malloc((size_t)(ru->n_ctx - ru->first) * (size_t)ru->n_vocab * sizeof(float));
    ru->rows = lqi_malloc((size_t)ru->n_scored * lq_logprob_row_len(ru->n_vocab) * sizeof(uint16_t));
    LQ_FAIL_IF(!ru->chunk || !ru->logits || !ru->rows, err, LQ_E_NOMEM,
               "eval: out of memory for %lld logits", (long long)(ru->n_ctx * ru->n_vocab));
    if (ru->base) {
        LQ_TRY(lq_kld_new(ru->n_vocab, &ru->kld, err));
    }
    if (ru->p->save_logits) {
        LQ_TRY(lq_logits_create(ru->p->save_logits, ru->n_ctx, ru->n_vocab, ru->n_chunk,
                                ru->tokens, &ru->save, err));
    }
    return LQ_OK;
}

static lq_status evaluate(struct run *ru, int64_t n_tokens, struct lq_eval_result *r,
                          struct lq_error *err)
{
    LQ_TRY(plan(ru, n_tokens, err));
    LQ_TRY(alloc_run(ru, err));
    LQ_TRY(run_chunks(ru, r, err));
    if (ru->save) {
        lq_logits_file *f = ru->save;
        ru->save = NULL;
        LQ_TRY(lq_logits_finish(f, err));
    }
    r->n_ctx = ru->n_ctx;
    r->n_chunk = ru->n_chunk;
    r->count = ru->ppl.count;
    r->ppl = lq_ppl_value(&ru->ppl);
    r->ppl_err = lq_ppl_error(&ru->ppl);
    r->seconds = ru->seconds;
    r->tokens_per_s = ru->seconds > 0 ? (double)(ru->n_chunk * ru->n_ctx) / ru->seconds : 0.0;
    return LQ_OK;
}

lq_status lq_eval_perplexity(lq_model *m, const int32_t *tokens, int64_t n_tokens,
                             const struct lq_eval_params *p, struct lq_eval_result *r,
                             struct lq_error *err)
{
    LQ_FAIL_IF(!m || !p || !r || (!tokens && !p->compare), err, LQ_E_INVALID_ARG,
               "eval: NULL argument");
    LQ_FAIL_IF(p->compare && p->save_logits, err, LQ_E_INVALID_ARG,
               "eval: saving and comparing log-probs in one run is not supported");
    memset(r, 0, sizeof *r);
    struct run ru = { .m = m, .p = p, .tokens = tokens };
    const lq_status rc = evaluate(&ru, n_tokens, r, err);
    lq_logits_free(ru.save);
    lq_logits_free(ru.base);
    lq_kld_free(ru.kld);
    lqi_free(ru.chunk);
    lqi_free(ru.logits);
    lqi_free(ru.rows);
    return rc;
}
