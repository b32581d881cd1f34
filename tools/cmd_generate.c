/* cmd_generate.c - `quant generate`: greedy decoding from a prompt (the prompt is run as
 * one batch, then one token per forward call). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_opts.h"
#include "json_out.h"
#include "lq/model.h"
#include "lq/model_open_any.h"
#include "lq/tokenizer.h"

struct gen_opts {
    const char *model, *prompt, *prompt_tokens, *tokenizer;
    int64_t n_predict, ctx;
    struct lq_model_params mp; /* --threads, --weights */
    bool json, quiet;
};

/* What decode produced, for --json: the new ids and their text. */
struct gen_out {
    json_t *ids;
    char *text;
    size_t len, cap;
};

static int parse_gen(int argc, char **argv, struct gen_opts *o)
{
    struct cli_args a;
    const int rc = cli_parse(CLI_GENERATE, argc, argv, &a);
    if (rc != 0) {
        return rc;
    }
    o->model = a.pos[0];
    o->prompt = cli_str(&a, OPT_PROMPT);
    o->prompt_tokens = cli_str(&a, OPT_PROMPT_TOKENS);
    o->tokenizer = cli_str(&a, OPT_TOKENIZER);
    o->n_predict = cli_num(&a, OPT_N_PREDICT);
    o->ctx = cli_num(&a, OPT_CTX);
    o->quiet = cli_has(&a, OPT_QUIET);
    o->json = cli_has(&a, OPT_JSON);
    const int bad = cli_model_params(&a, "generate", &o->mp);
    if (bad) {
        return bad;
    }
    if (!o->prompt == !o->prompt_tokens) {
        return cli_usage_error("generate", "give exactly one of -p and --prompt-tokens");
    }
    return 0;
}

/* Parses "1 450 1023" (or "1,450,1023") into ids. */
static int parse_ids(const char *s, int32_t **out, int64_t *n)
{
    const size_t cap = strlen(s) / 2 + 1;
    *out = malloc(cap * sizeof(int32_t));
    *n = 0;
    while (*out) {
        s += strspn(s, " ,");
        if (!*s) {
            break;
        }
        const size_t len = strcspn(s, " ,");
        char id[24];
        int64_t v;
        snprintf(id, sizeof id, "%.*s", (int)(len < sizeof id ? len : sizeof id - 1), s);
        if (len >= sizeof id || !cli_value_int(id, 0, INT32_MAX, &v)) {
            return cli_usage_error("generate", "--prompt-tokens: bad token id at '%s'", s);
        }
        (*out)[(*n)++] = (int32_t)v;
        s += len;
    }
    if (!*out || *n == 0) {
        return cli_usage_error("generate", "--prompt-tokens: no token ids");
    }
    return 0;
}

/* Encodes the prompt with the model's tokenizer, BOS first when the vocabulary wants one. */
static int tokenize_prompt(const lq_tokenizer *tok, const char *text, int32_t **out, int64_t *n)
{
    struct lq_error err = { 0 };
    int32_t *ids = NULL;
    size_t n_ids = 0;
    int rc = LQ_EXIT_OK;
    if (lq_tokenizer_encode(tok, text, strlen(text), LQ_TOKENIZE_ADD_SPECIAL, &ids, &n_ids,
                            &err) != LQ_OK) {
        rc = cli_fail("generate", &err);
    } else if (n_ids == 0) {
        rc = cli_usage_error("generate", "the prompt gives no tokens");
    }
    *out = rc == LQ_EXIT_OK ? malloc(n_ids * sizeof(int32_t)) : NULL;
    if (*out) {
        memcpy(*out, ids, n_ids * sizeof(int32_t));
        *n = (int64_t)n_ids;
    } else if (rc == LQ_EXIT_OK) {
        rc = LQ_EXIT_FAIL;
    }
    lq_tokenizer_ids_free(ids);
    return rc;
}

static int64_t argmax(const float *x, int64_t n)
{
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++) {
        best = x[i] > x[best] ? i : best;
    }
    return best;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Prints a token (its text with a tokenizer, else its id), or with --json keeps it. */
static void print_token(const lq_tokenizer *tok, int32_t id, struct gen_out *g)
{
    char buf[256];
    size_t n = 0;
    if (!tok || lq_tokenizer_token_to_piece(tok, id, 0, buf, sizeof buf, &n, NULL) != LQ_OK) {
        n = (size_t)snprintf(buf, sizeof buf, "%d ", id);
    }
    if (!g) {
        cli_put_escaped(stdout, buf, n, true); /* pieces come from the file's vocabulary */
        fflush(stdout);
        return;
    }
    json_array_append_new(g->ids, json_integer(id));
    if (g->len + n + 1 > g->cap) {
        size_t cap = 2 * (g->len + n + 1);
        char *t = realloc(g->text, cap);
        if (!t) {
            return;
        }
        g->text = t;
        g->cap = cap;
    }
    memcpy(g->text + g->len, buf, n);
    g->len += n;
    g->text[g->len] = '\0';
}

/* The --json document (keys in README.md). */
static int print_json(const struct gen_opts *o, const struct gen_out *g, int64_t n_prompt,
                      double t_prompt, double t_gen)
{
    json_t *doc = json_out_new("generate");
    json_out_input(doc, "model", o->model);
    if (o->prompt) {
        json_out_str(doc, "prompt", o->prompt);
    }
    json_out_int(doc, "n_prompt", n_prompt);
    json_out_int(doc, "n_generated", (int64_t)json_array_size(g->ids));
    json_object_set(doc, "tokens", g->ids);
    json_object_set_new(doc, "text", json_stringn_nocheck(g->text ? g->text : "", g->len));
    json_out_real(doc, "prompt_seconds", t_prompt);
    json_out_real(doc, "generate_seconds", t_gen);
    json_out_real(doc, "tokens_per_second",
                  t_gen > 0 ? (double)json_array_size(g->ids) / t_gen : 0.0);
    return json_out_emit(doc, t_prompt + t_gen, LQ_EXIT_OK);
}

/* Runs the prompt, then up to n_predict greedy steps (stopping at end of generation),
 * printing each new token. */
static int decode(const struct gen_opts *o, lq_model *m, const lq_tokenizer *tok,
                  const int32_t *prompt, int64_t n_prompt)
{
    const int64_t nv = lq_model_get_hparams(m)->n_vocab;
    float *logits = malloc((size_t)nv * sizeof(float));
    struct lq_error err = { 0 };
    int rc = LQ_EXIT_OK;
    const double t0 = now_s();
    struct lq_batch b = { .tokens = prompt, .n_tokens = n_prompt, .pos = 0, .n_out = 1,
                          .logits = logits };
    if (!logits || lq_model_forward(m, &b, &err) != LQ_OK) {
        rc = cli_fail("generate", &err);
    }
    const double t1 = now_s();
    struct gen_out g = { .ids = o->json ? json_array() : NULL };
    int64_t done = 0;
    for (; rc == LQ_EXIT_OK && done < o->n_predict; done++) {
        const int32_t next = (int32_t)argmax(logits, nv);
        if (tok && lq_tokenizer_is_eog(tok, next)) {
            break;
        }
        print_token(tok, next, o->json ? &g : NULL);
        b = (struct lq_batch){ .tokens = &next, .n_tokens = 1, .pos = n_prompt + done, .n_out = 1,
                               .logits = logits };
        if (done + 1 < o->n_predict && lq_model_forward(m, &b, &err) != LQ_OK) {
            rc = cli_fail("generate", &err);
        }
    }
    const double t2 = now_s();
    if (o->json && rc == LQ_EXIT_OK) {
        rc = print_json(o, &g, n_prompt, t1 - t0, t2 - t1);
    } else if (!o->json) {
        printf("\n");
    }
    json_decref(g.ids);
    free(g.text);
    if (o->quiet) {
        free(logits);
        return rc;
    }
    fprintf(stderr, "prompt processing: %lld tokens in %.3f s = %.1f tokens/s\n",
            (long long)n_prompt, t1 - t0, (double)n_prompt / (t1 - t0 > 0 ? t1 - t0 : 1e-9));
    fprintf(stderr, "generation: %lld tokens in %.3f s = %.1f tokens/s\n", (long long)done,
            t2 - t1, (double)done / (t2 - t1 > 0 ? t2 - t1 : 1e-9));
    free(logits);
    return rc;
}

/* The KV-cache size: --ctx, else room for the prompt and the new tokens. A prompt text
 * gives at most one token per byte plus BOS and EOS, so its length bounds the count before
 * the tokenizer (which comes with the model) has run. */
static int64_t context_for(const struct gen_opts *o, int64_t n_prompt)
{
    if (o->ctx > 0) {
        return o->ctx;
    }
    return (o->prompt ? (int64_t)strlen(o->prompt) + 2 : n_prompt) + o->n_predict;
}

int cmd_generate(int argc, char **argv)
{
    struct gen_opts o = { 0 };
    int rc = parse_gen(argc, argv, &o);
    if (rc != 0) {
        return rc < 0 ? LQ_EXIT_OK : rc;
    }
    int32_t *prompt = NULL;
    int64_t n_prompt = 0;
    lq_model *m = NULL;
    lq_tokenizer *tok = NULL;
    if (o.prompt_tokens && (rc = parse_ids(o.prompt_tokens, &prompt, &n_prompt)) != 0) {
        goto out_free_prompt;
    }
    struct lq_model_params mp = o.mp;
    mp.n_ctx = context_for(&o, n_prompt);
    struct lq_error err = { 0 };
    if (lq_model_open_path_tokenizer(o.model, o.tokenizer, &mp, &m, o.prompt ? &tok : NULL,
                                     &err) != LQ_OK) {
        rc = cli_fail("generate", &err);
        goto out_free_prompt;
    }
    if (o.prompt && (rc = tokenize_prompt(tok, o.prompt, &prompt, &n_prompt)) != 0) {
        goto out_free_prompt;
    }
    if (n_prompt + o.n_predict > lq_model_n_ctx(m)) {
        rc = cli_usage_error("generate", "prompt (%lld) + %lld tokens exceed the context of %lld",
                             (long long)n_prompt, (long long)o.n_predict,
                             (long long)lq_model_n_ctx(m));
        goto out_free_prompt;
    }
    if (o.prompt && !o.json) {
        printf("%s", o.prompt);
    }
    rc = decode(&o, m, tok, prompt, n_prompt);
out_free_prompt:
    lq_tokenizer_free(tok);
    lq_model_free(m);
    free(prompt);
    return rc;
}
