/* report_text.c - the evaluation text: tokenized once with the reference's vocabulary, BOS
 * first where the vocabulary asks for it (as `quant eval --text` and llama-perplexity). */
#include <string.h>

#include <xxhash.h>

#include "lq/gguf.h"
#include "lq/tokenizer.h"
#include "lqi.h"
#include "report_impl.h"

static lq_status encode(const char *model, const char *text, int32_t **ids, size_t *n,
                        struct lq_error *err)
{
    lq_gguf *g = NULL;
    lq_tokenizer *tok = NULL;
    lq_status s = lq_gguf_open(model, &g, err);
    if (s == LQ_OK) {
        s = lq_tokenizer_from_gguf(g, &tok, err);
    }
    if (s == LQ_OK) {
        s = lq_tokenizer_encode_file(tok, text, LQ_TOKENIZE_ADD_SPECIAL, ids, n, err);
    }
    lq_tokenizer_free(tok);
    lq_gguf_free(g);
    return s;
}

/* The evaluated tokens: whole chunks of n_ctx, at most n_chunks of them. */
lq_status lqi_report_tokenize(lq_report *r, struct lq_error *err)
{
    int32_t *ids = NULL;
    size_t n = 0;
    LQ_TRY(encode(r->base_path, r->text_path, &ids, &n, err));
    struct lq_report_model *m = &r->model;
    m->n_ctx = r->p.n_ctx;
    m->n_tokens = (int64_t)n;
    m->n_chunk = m->n_tokens / m->n_ctx;
    if (r->p.n_chunks > 0 && r->p.n_chunks < m->n_chunk) {
        m->n_chunk = r->p.n_chunks;
    }
    if (m->n_tokens < 2 * m->n_ctx) {
        lq_tokenizer_ids_free(ids);
        return lqi_set_error(err, LQ_E_INVALID_ARG,
                             "%s: %lld tokens, fewer than two chunks of %lld (lower --ctx)",
                             r->text_path, (long long)m->n_tokens, (long long)m->n_ctx);
    }
    const size_t used = (size_t)(m->n_chunk * m->n_ctx);
    r->tokens = lqi_malloc(used * sizeof(int32_t));
    unsigned char *le = lqi_malloc(used * 4);
    lq_status s = r->tokens && le ? LQ_OK : lqi_set_error(err, LQ_E_NOMEM, "out of memory");
    if (s == LQ_OK) {
        memcpy(r->tokens, ids, used * sizeof(int32_t));
        for (size_t i = 0; i < used; i++) {
            lqi_wr_u32(le + 4 * i, (uint32_t)ids[i]);
        }
        m->tokens_xxh3 = XXH3_64bits(le, used * 4);
    }
    lqi_free(le);
    lq_tokenizer_ids_free(ids);
    return s;
}
