/* tasks_score.c - scoring tasks as llama-perplexity's hellaswag_score and
 * multiple_choice_score do, with the common prefix evaluated once and each choice's tail
 * continuing from the shared KV cache (lq/tasks.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lqi.h"
#include "tasks_impl.h"

/* Logit rows one forward call returns at most: bounds the logits buffer for big vocabularies
 * (the forward pass gives the same numbers however a sequence is split). */
#define SCORE_PIECE 128

struct scorer {
    lq_model *m;
    const lq_tokenizer *tok;
    enum lq_task_kind kind;
    int64_t n_vocab, n_ctx, piece;
    char *text;
    size_t text_cap;
    int32_t *seq[LQ_TASK_MAX_CHOICES];
    size_t len[LQ_TASK_MAX_CHOICES];
    int32_t n_seq;
    float *logits; /* piece * n_vocab */
    float *first;  /* logits after the common prefix */
    float *lp;     /* n_ctx per-token log-probabilities of one choice */
    double score[LQ_TASK_MAX_CHOICES];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// ---- llama.cpp's log-probabilities ---------------------------------------------------------

/* log softmax(l)[tok] as compute_logprobs: max, sum of expf and the result all in float. */
static float token_logprob(const float *l, int64_t nv, int32_t tok)
{
    float max = l[0];
    for (int64_t j = 1; j < nv; j++) {
        max = max < l[j] ? l[j] : max;
    }
    float sum = 0.0f;
    for (int64_t j = 0; j < nv; j++) {
        sum += expf(l[j] - max);
    }
    return l[tok] - max - logf(sum);
}

/* Sum of expf(l - max) in double, as perplexity.cpp's softmax() for the first token. */
static double softmax_sum(const float *l, int64_t nv, float *max_out)
{
    float max = l[0];
    for (int64_t j = 1; j < nv; j++) {
        max = max < l[j] ? l[j] : max;
    }
    double sum = 0.0;
    for (int64_t j = 0; j < nv; j++) {
        sum += expf(l[j] - max);
    }
    *max_out = max;
    return sum;
}

// ---- one task -----------------------------------------------------------------------------

static void free_seqs(struct scorer *s)
{
    for (int32_t i = 0; i < s->n_seq; i++) {
        lq_tokenizer_ids_free(s->seq[i]);
        s->seq[i] = NULL;
    }
    s->n_seq = 0;
}

/* Tokenizes context + " " + choice for every choice (BOS as the vocabulary asks). */
static lq_status tokenize(struct scorer *s, const struct lq_task *t, struct lq_error *err)
{
    for (int32_t i = 0; i < t->n_choice; i++) {
        const size_t n = t->context_len + 1 + t->choice_len[i];
        if (n > s->text_cap) {
            char *p = lqi_realloc(s->text, n);
            LQ_FAIL_IF(!p, err, LQ_E_NOMEM, "tasks: out of memory");
            s->text = p;
            s->text_cap = n;
        }
        memcpy(s->text, t->context, t->context_len);
        s->text[t->context_len] = ' ';
        memcpy(s->text + t->context_len + 1, t->choice[i], t->choice_len[i]);
        LQ_TRY(lq_tokenizer_encode(s->tok, s->text, n, LQ_TOKENIZE_ADD_SPECIAL, &s->seq[i],
                                   &s->len[i], err));
        s->n_seq = i + 1;
    }
    return LQ_OK;
}

/* Tokens shared by every sequence; one less when a whole sequence is shared, so each choice
 * keeps at least one token to score. */
static size_t common_prefix(const struct scorer *s)
{
    size_t min = s->len[0];
    for (int32_t i = 1; i < s->n_seq; i++) {
        min = s->len[i] < min ? s->len[i] : min;
    }
    size_t k = 0;
    for (bool same = true; same && k < min; k += same) {
        for (int32_t i = 1; i < s->n_seq && same; i++) {
            same = s->seq[i][k] == s->seq[0][k];
        }
    }
    return k == min && k > 0 ? k - 1 : k;
}

/* Evaluates toks[0..n) at positions pos..; the logits of the last one land in s->first. */
static lq_status run_prefix(struct scorer *s, const int32_t *toks, int64_t n, struct lq_error *err)
{
    for (int64_t off = 0; off < n; off += s->piece) {
        const int64_t k = n - off < s->piece ? n - off : s->piece;
        struct lq_batch b = {.tokens = toks + off, .n_tokens = k, .pos = off};
        b.n_out = off + k == n ? 1 : 0;
        b.logits = s->first;
        LQ_TRY(lq_model_forward(s->m, &b, err));
    }
    return LQ_OK;
}

/* lp[j] = log-probability of q[cp + 1 + j] for j < n, evaluating q[cp .. cp + n) after the
 * cached prefix. */
static lq_status tail_logprobs(struct scorer *s, const int32_t *q, size_t cp, int64_t n, float *lp,
                               struct lq_error *err)
{
    for (int64_t off = 0; off < n; off += s->piece) {
        const int64_t k = n - off < s->piece ? n - off : s->piece;
        const int64_t pos = (int64_t)cp + off;
        struct lq_batch b = {.tokens = q + pos, .n_tokens = k, .pos = pos, .n_out = k};
        b.logits = s->logits;
        LQ_TRY(lq_model_forward(s->m, &b, err));
        for (int64_t r = 0; r < k; r++) {
            lp[off + r] = token_logprob(s->logits + r * s->n_vocab, s->n_vocab, q[pos + r + 1]);
        }
    }
    return LQ_OK;
}

/* Mean log-probability of choice i's tokens after the prefix cp (the first from the
 * prefix's logits): HellaSwag sums in double, multiple choice in float, as llama.cpp. */
static lq_status score_choice(struct scorer *s, int32_t i, size_t cp, float max, double sum,
                              struct lq_error *err)
{
    const int32_t *q = s->seq[i];
    const float p = (float)((double)expf(s->first[q[cp]] - max) / sum);
    const int64_t n = (int64_t)(s->len[i] - cp) - 1; /* the last token predicts nothing */
    LQ_TRY(tail_logprobs(s, q, cp, n, s->lp, err));
    if (s->kind == LQ_TASK_HELLASWAG) {
        double acc = logf(p);
        for (int64_t j = 0; j < n; j++) {
            acc += s->lp[j];
        }
        s->score[i] = acc / (double)(n + 1);
    } else {
        float acc = logf(p);
        for (int64_t j = 0; j < n; j++) {
            acc += s->lp[j];
        }
        s->score[i] = acc / (float)(n + 1);
    }
    return LQ_OK;
}

/* Tokenizes task t (1-based number k, for messages) and checks that it can be scored:
 * every sequence fits the context and the choices share a prefix; *cp receives its length. */
static lq_status prepare_task(struct scorer *s, const struct lq_task *t, int64_t k, size_t *cp,
                              struct lq_error *err)
{
    LQ_TRY(tokenize(s, t, err));
    for (int32_t i = 0; i < s->n_seq; i++) {
        LQ_FAIL_IF((int64_t)s->len[i] > s->n_ctx, err, LQ_E_RANGE,
                   "task %lld: choice %d is %zu tokens with its context, longer than the "
                   "model's context (%lld)",
                   (long long)k, (int)i + 1, s->len[i], (long long)s->n_ctx);
    }
    *cp = common_prefix(s);
    LQ_FAIL_IF(*cp == 0, err, LQ_E_UNSUPPORTED,
               "task %lld: the choices share no leading token (a vocabulary without BOS)",
               (long long)k);
    return LQ_OK;
}

/* Scores task t into s->score. */
static lq_status score_task(struct scorer *s, const struct lq_task *t, int64_t k,
                            struct lq_error *err)
{
    size_t cp;
    LQ_TRY(prepare_task(s, t, k, &cp, err));
    LQ_TRY(run_prefix(s, s->seq[0], (int64_t)cp, err));
    float max;
    const double sum = softmax_sum(s->first, s->n_vocab, &max);
    for (int32_t i = 0; i < s->n_seq; i++) {
        LQ_TRY(score_choice(s, i, cp, max, sum, err));
    }
    return LQ_OK;
}

/* Every task checked before any is scored: a bad one fails the run before it reports. */
static lq_status check_all(struct scorer *s, const lq_task_set *set, int64_t n,
                           struct lq_error *err)
{
    for (int64_t i = 0; i < n; i++) {
        size_t cp;
        lq_status rc = prepare_task(s, lq_tasks_get(set, i), i + 1, &cp, err);
        free_seqs(s);
        LQ_TRY(rc);
    }
    return LQ_OK;
}

/* The first maximum (strict >), compared in the kind's precision. */
static int32_t argmax(const struct scorer *s)
{
    int32_t best = 0;
    for (int32_t i = 1; i < s->n_seq; i++) {
        if (s->score[i] > s->score[best]) {
            best = i;
        }
    }
    return best;
}

// ---- all tasks ----------------------------------------------------------------------------

struct lq_task_params lq_task_params_default(void)
{
    return (struct lq_task_params){0};
}

static lq_status scorer_init(struct scorer *s, lq_model *m, const lq_tokenizer *tok,
                             enum lq_task_kind kind, struct lq_error *err)
{
    memset(s, 0, sizeof *s);
    s->m = m;
    s->tok = tok;
    s->kind = kind;
    s->n_vocab = lq_model_get_hparams(m)->n_vocab;
    s->n_ctx = lq_model_n_ctx(m);
    s->piece = lq_model_n_batch(m) < SCORE_PIECE ? lq_model_n_batch(m) : SCORE_PIECE;
    LQ_FAIL_IF(lq_tokenizer_n_vocab(tok) > s->n_vocab, err, LQ_E_INVALID_ARG,
               "tasks: the tokenizer has %d tokens, the model %lld", (int)lq_tokenizer_n_vocab(tok),
               (long long)s->n_vocab);
    s->logits = lqi_malloc((size_t)(s->piece * s->n_vocab) * sizeof(float));
    s->first = lqi_malloc((size_t)s->n_vocab * sizeof(float));
    s->lp = lqi_malloc((size_t)s->n_ctx * sizeof(float));
    LQ_FAIL_IF(!s->logits || !s->first || !s->lp, err, LQ_E_NOMEM, "tasks: out of memory");
    return LQ_OK;
}

static void scorer_free(struct scorer *s)
{
    free_seqs(s);
    lqi_free(s->text);
    lqi_free(s->logits);
    lqi_free(s->first);
    lqi_free(s->lp);
}

static lq_status new_results(const lq_task_set *set, int64_t n, lq_task_results **out,
                             struct lq_error *err)
{
    int32_t *nc = lqi_malloc((size_t)(n ? n : 1) * sizeof *nc);
    LQ_FAIL_IF(!nc, err, LQ_E_NOMEM, "tasks: out of memory");
    for (int64_t i = 0; i < n; i++) {
        nc[i] = lq_tasks_get(set, i)->n_choice;
    }
    lq_status rc = lq_task_results_new(lq_tasks_kind(set), n, nc, out, err);
    lqi_free(nc);
    return rc;
}

/* Scores every task into r, reporting each through p->on_task. */
static lq_status score_all(struct scorer *s, const lq_task_set *set, const struct lq_task_params *p,
                           lq_task_results *r, struct lq_error *err)
{
    struct lq_task_progress pr = {.n_task = lq_task_results_count(r)};
    for (int64_t i = 0; i < pr.n_task; i++) {
        const struct lq_task *t = lq_tasks_get(set, i);
        lq_status rc = score_task(s, t, i + 1, err);
        const int32_t c = argmax(s);
        free_seqs(s);
        LQ_TRY(rc);
        LQ_TRY(lq_task_results_set(r, i, c, t->gold, t->label[c] == 1, s->score, err));
        pr.task = i;
        pr.done = i + 1;
        pr.correct += t->label[c] == 1;
        pr.outcome = lq_task_results_get(r, i);
        if (p && p->on_task) {
            p->on_task(p->user, &pr);
        }
    }
    return LQ_OK;
}

lq_status lq_tasks_score(lq_model *m, const lq_tokenizer *tok, const lq_task_set *set,
                         const struct lq_task_params *p, lq_task_results **out,
                         struct lq_error *err)
{
    LQ_FAIL_IF(!m || !tok || !set || !out, err, LQ_E_INVALID_ARG, "tasks: NULL argument");
    *out = NULL;
    struct scorer s;
    lq_task_results *r = NULL;
    const double t0 = now_s();
    int64_t n = lq_tasks_count(set);
    n = p && p->n_tasks > 0 && p->n_tasks < n ? p->n_tasks : n;
    lq_status rc = scorer_init(&s, m, tok, lq_tasks_kind(set), err);
    rc = rc == LQ_OK ? check_all(&s, set, n, err) : rc;
    rc = rc == LQ_OK ? new_results(set, n, &r, err) : rc;
    rc = rc == LQ_OK ? score_all(&s, set, p, r, err) : rc;
    scorer_free(&s);
    if (rc != LQ_OK) {
        lq_task_results_free(r);
        return rc;
    }
    lqi_task_results_set_seconds(r, now_s() - t0);
    *out = r;
    return LQ_OK;
}
