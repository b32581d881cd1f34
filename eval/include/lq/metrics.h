/*
 * lq/metrics.h - perplexity and KL divergence, computed as llama.cpp's llama-perplexity does.
 *
 * Perplexity (tools/perplexity/perplexity.cpp): the text's tokens (BOS first) are cut into
 * chunks of n_ctx tokens; each chunk starts a fresh context with its first token replaced by
 * BOS; only the second half is scored: the logits at positions n_ctx/2 .. n_ctx-2 predict
 * the tokens after them. PPL = exp(mean NLL), error = PPL * sqrt(var(NLL) / (count - 1)).
 *
 * KL divergence (--kl-divergence): the base model's distribution at every scored position
 * is stored as llama.cpp stores it: log-probabilities quantized to 16 bits over the window
 * [max - 16 nats, max] (a row of lq_logprob_row_len() uint16: two floats, scale and minimum,
 * then one code per vocabulary entry; below the window codes are 0). Storing exactly that
 * representation means KLD, same-top and Δp are computed by llama.cpp's formulas on the same
 * data it would use. The log-prob file compresses each chunk of rows with zlib, as two byte
 * planes. (Measured on a 4,096-token vocabulary: only ~8 % smaller, since 16-bit log-probs
 * of broad distributions are nearly incompressible; top-k + tail mass was rejected because
 * such a model needs ~3,100 of 4,096 tokens to hold 99.9 % of the mass, and dropping
 * precision would change the statistics llama.cpp reports.)
 *
 * Log-prob file (all integers little-endian):
 *   "LQLOGITS" (8 bytes), version u32 = 1, n_ctx u32, n_vocab u32, n_chunk u32,
 *   n_scored u32 (= n_ctx - 1 - n_ctx/2), reserved u32 = 0,
 *   tokens i32[n_chunk * n_ctx] (the evaluated tokens, before BOS substitution),
 *   then per chunk: compressed size u64 + zlib stream of the chunk's n_scored rows as two
 *   byte planes: the low bytes of all its uint16 values, then the high bytes.
 * llama.cpp's own uncompressed files ("_logits_", from llama-perplexity --kl-divergence-base)
 * are read as well.
 */
#ifndef LQ_METRICS_H
#define LQ_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/model.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- perplexity ---------------------------------------------------------------------------

/* -log softmax(logits)[tok] as llama.cpp: expf of (logit - max) in float, summed in double. */
LQ_API double lq_nll(const float *logits, int64_t n_vocab, int32_t tok);

/* Running sums of the negative log-likelihoods. Zero-initialise. */
struct lq_ppl {
    double nll, nll2;
    int64_t count;
};

LQ_API void lq_ppl_add(struct lq_ppl *p, double nll);
LQ_API double lq_ppl_value(const struct lq_ppl *p); /* exp(mean NLL); 0 when empty */
LQ_API double lq_ppl_error(const struct lq_ppl *p); /* llama.cpp's "+/-"; 0 below 2 tokens */

// ---- base distributions -------------------------------------------------------------------

/* uint16 values per stored row: 2 * ((n_vocab + 1) / 2) + 4. */
LQ_API size_t lq_logprob_row_len(int64_t n_vocab);

/* Encodes the distribution of logits into row (lq_logprob_row_len values); returns the
 * NLL of tok as llama.cpp computes it there. */
LQ_API double lq_logprob_encode(const float *logits, int64_t n_vocab, int32_t tok, uint16_t *row);

// ---- KL divergence ------------------------------------------------------------------------

/* Percentiles of a per-token quantity (llama.cpp's linear interpolation). */
struct lq_dist {
    double max, p999, p99, p95, p90, p75, median, p25, p10, p05, p01, p001, min;
};

struct lq_kld_report {
    int64_t count;                 /* scored tokens */
    double ppl, ppl_err;           /* PPL(Q) */
    double ppl_base, ppl_base_err; /* PPL(base), from the stored rows */
    double cor;                    /* correlation of ln PPL(Q) and ln PPL(base) */
    double ln_ratio, ln_ratio_err; /* mean ln(PPL(Q)/PPL(base)) */
    double ratio, ratio_err;       /* PPL(Q)/PPL(base) */
    double diff, diff_err;         /* PPL(Q) - PPL(base) */
    double kld, kld_err;           /* mean KL divergence (nats) */
    struct lq_dist kld_dist;
    double dp, dp_err;             /* mean Δp: p(correct token) under Q minus under base */
    struct lq_dist dp_dist;
    double dp_rms, dp_rms_err;
    double same_top, same_top_err; /* fraction of tokens whose argmax agrees */
};

typedef struct lq_kld lq_kld;

LQ_API lq_status lq_kld_new(int64_t n_vocab, lq_kld **out, struct lq_error *err);
LQ_API void lq_kld_free(lq_kld *k);

/* Scores one position: logits of the evaluated model, the base row, and the true next
 * token. Keeps the per-token KLD and Δp for the percentiles. */
LQ_API lq_status lq_kld_add(lq_kld *k, const float *logits, const uint16_t *base_row, int32_t tok,
                            struct lq_error *err);

/* Statistics over everything added so far (percentiles from sorted copies). */
LQ_API lq_status lq_kld_report(const lq_kld *k, struct lq_kld_report *r, struct lq_error *err);

// ---- log-prob files -----------------------------------------------------------------------

struct lq_logits_info {
    int64_t n_ctx, n_vocab, n_chunk;
    int64_t n_scored;    /* rows per chunk: n_ctx - 1 - n_ctx/2 */
    bool llama_cpp;      /* read from llama.cpp's uncompressed format */
};

typedef struct lq_logits_file lq_logits_file;

/* Creates a file for n_chunk chunks; tokens holds n_chunk * n_ctx ids (copied out now). */
LQ_API lq_status lq_logits_create(const char *path, int64_t n_ctx, int64_t n_vocab, int64_t n_chunk,
                                  const int32_t *tokens, lq_logits_file **out,
                                  struct lq_error *err);
/* Appends one chunk: n_scored rows of lq_logprob_row_len(n_vocab) values. */
LQ_API lq_status lq_logits_write_chunk(lq_logits_file *f, const uint16_t *rows,
                                       struct lq_error *err);
/* Finishes a written file (all chunks must be written) and frees f, also on failure. */
LQ_API lq_status lq_logits_finish(lq_logits_file *f, struct lq_error *err);

/* Opens a file for reading and checks its header and size. */
LQ_API lq_status lq_logits_open(const char *path, lq_logits_file **out, struct lq_error *err);
LQ_API const struct lq_logits_info *lq_logits_get_info(const lq_logits_file *f);
/* The stored tokens (n_chunk * n_ctx); borrowed until lq_logits_free(). */
LQ_API const int32_t *lq_logits_tokens(const lq_logits_file *f);
/* Reads the next chunk's rows (n_scored * row length values). */
LQ_API lq_status lq_logits_read_chunk(lq_logits_file *f, uint16_t *rows, struct lq_error *err);

/* Closes without finishing (a written file is left incomplete); accepts NULL. */
LQ_API void lq_logits_free(lq_logits_file *f);

// ---- the evaluation loop ------------------------------------------------------------------

struct lq_eval_progress {
    int64_t chunk, n_chunk; /* chunk just finished (1-based) of n_chunk */
    double ppl;             /* running perplexity */
    const struct lq_kld_report *kld; /* running statistics when comparing, else NULL */
    double seconds;         /* forward-pass time so far */
    int64_t tokens;         /* tokens evaluated so far */
};

struct lq_eval_params {
    int64_t n_ctx;           /* chunk length; 0: 512, or the base file's when comparing */
    int64_t n_chunks;        /* most chunks to evaluate; <= 0: all */
    const char *save_logits; /* write the base log-prob file here; NULL: don't */
    const char *compare;     /* compare against this base file (its tokens are evaluated) */
    void (*on_chunk)(void *user, const struct lq_eval_progress *p);
    void *user;
};

LQ_API struct lq_eval_params lq_eval_params_default(void);

struct lq_eval_result {
    int64_t n_ctx, n_chunk, count; /* count: scored tokens */
    double ppl, ppl_err;
    double seconds;                /* forward-pass time */
    double tokens_per_s;           /* tokens evaluated per second of forward pass */
    bool has_kld;
    struct lq_kld_report kld;
};

/* Perplexity of tokens (BOS already first when the model wants one) under m, chunk by
 * chunk as llama-perplexity; with p->compare, KL divergence against the base file instead
 * (tokens may then be NULL). m's context and batch must hold n_ctx tokens. */
LQ_API lq_status lq_eval_perplexity(lq_model *m, const int32_t *tokens, int64_t n_tokens,
                                    const struct lq_eval_params *p, struct lq_eval_result *r,
                                    struct lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LQ_METRICS_H */
