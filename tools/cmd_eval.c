/* cmd_eval.c - `quant eval`: perplexity and KL divergence of a model on a text, printed as
 * llama-perplexity prints them (running PPL per chunk, final estimate, --kl-divergence
 * statistics), or as JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "cli_opts.h"
#include "eval_tasks.h"
#include "json_out.h"
#include "lq/file_io.h"
#include "lq/metrics.h"
#include "lq/model.h"
#include "lq/model_open_any.h"
#include "lq/tokenizer.h"
#include "progress.h"

struct eval_opts {
    const char *model, *text, *tokens, *save, *compare, *tokenizer;
    const char *task, *task_file; /* --task KIND FILE */
    int64_t ctx, chunks, batch, n_tasks;
    struct lq_model_params mp; /* --threads, --weights */
    bool json, quiet, llama_order;
};

/* What on_chunk needs: the options and the bar. */
struct eval_run {
    const struct eval_opts *o;
    struct progress bar;
    bool chunk_lines; /* llama-perplexity's running lines (not with a bar on the terminal) */
};

static int parse_eval(int argc, char **argv, struct eval_opts *o)
{
    struct cli_args a;
    const int rc = cli_parse(CLI_EVAL, argc, argv, &a);
    if (rc != 0) {
        return rc;
    }
    o->model = a.pos[0];
    o->text = cli_str(&a, OPT_TEXT);
    o->tokens = cli_str(&a, OPT_TOKENS);
    o->save = cli_str(&a, OPT_SAVE_LOGITS);
    o->compare = cli_str(&a, OPT_COMPARE);
    o->tokenizer = cli_str(&a, OPT_TOKENIZER);
    o->json = cli_has(&a, OPT_JSON);
    o->quiet = cli_has(&a, OPT_QUIET);
    o->ctx = cli_num(&a, OPT_CTX);
    o->chunks = cli_num(&a, OPT_CHUNKS);
    o->batch = cli_num(&a, OPT_BATCH);
    const int bad = cli_model_params(&a, "eval", &o->mp);
    if (bad) {
        return bad;
    }
    o->task = cli_str(&a, OPT_TASK);
    o->task_file = cli_str2(&a, OPT_TASK);
    o->n_tasks = cli_num(&a, OPT_TASKS);
    o->llama_order = cli_has(&a, OPT_LLAMA_ORDER);
    if (o->task) {
        if (o->text || o->tokens || o->save) {
            return cli_usage_error("eval", "--task cannot be combined with --text, --tokens or "
                                           "--save-logits");
        }
        return 0;
    }
    if (o->llama_order) {
        return cli_usage_error("eval", "--llama-order needs --task hellaswag");
    }
    if (!o->compare && !o->text == !o->tokens) {
        return cli_usage_error("eval", "give exactly one of --text and --tokens");
    }
    if (o->compare && o->save) {
        return cli_usage_error("eval", "--save-logits and --compare cannot be combined");
    }
    return cli_refuse_input_as_output("eval", o->save, o->model, o->text ? o->text : "",
                                      o->tokens ? o->tokens : "",
                                      o->tokenizer ? o->tokenizer : "", (const char *)NULL);
}

// ---- printing -----------------------------------------------------------------------------

static void on_chunk(void *user, const struct lq_eval_progress *p)
{
    struct eval_run *run = user;
    char label[64];
    snprintf(label, sizeof label, p->kld ? "KLD %.5f" : "PPL %.4f", p->kld ? p->kld->kld : p->ppl);
    progress_units(&run->bar, p->chunk, p->n_chunk, label);
    if (!run->chunk_lines) {
        return;
    }
    FILE *f = run->o->json ? stderr : stdout;
    if (!p->kld) {
        fprintf(f, "[%lld]%.4f,", (long long)p->chunk, p->ppl);
    } else {
        const struct lq_kld_report *r = p->kld;
        if (p->chunk == 1) {
            fprintf(f, "chunk             PPL               ln(PPL(Q)/PPL(base))          "
                       "KL Divergence              Δp RMS            Same top p\n");
        }
        fprintf(f, "%4lld    %9.4f ± %9.4f    %10.5f ± %10.5f    %10.5f ± %10.5f    %6.3f ± %6.3f %%"
                   "    %6.3f ± %6.3f %%\n",
                (long long)p->chunk, r->ppl, r->ppl_err, r->ln_ratio, r->ln_ratio_err, r->kld,
                r->kld_err, 100.0 * r->dp_rms, 100.0 * r->dp_rms_err, 100.0 * r->same_top,
                100.0 * r->same_top_err);
    }
    if (p->chunk == p->n_chunk) {
        fputc('\n', f);
    }
    fflush(f);
}

static void print_dist(const char *what, const struct lq_dist *d, double mul, const char *fmt)
{
    const double v[] = { d->max, d->p999, d->p99, d->p95, d->p90, d->p75, d->median,
                         d->p25, d->p10, d->p05, d->p01, d->p001, d->min };
    static const char *names[] = { "Maximum", "99.9%  ", "99.0%  ", "95.0%  ", "90.0%  ",
                                   "75.0%  ", "Median ", "25.0%  ", "10.0%  ", " 5.0%  ",
                                   " 1.0%  ", " 0.1%  ", "Minimum" };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        printf("%s %s: ", names[i], what);
        printf(fmt, mul * v[i]);
        printf("\n");
    }
}

static void print_kld(const struct lq_kld_report *r)
{
    printf("====== Perplexity statistics ======\n");
    printf("Mean PPL(Q)                   : %10.6f ± %10.6f\n", r->ppl, r->ppl_err);
    printf("Mean PPL(base)                : %10.6f ± %10.6f\n", r->ppl_base, r->ppl_base_err);
    printf("Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%\n", 100.0 * r->cor);
    printf("Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f\n", r->ln_ratio, r->ln_ratio_err);
    printf("Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f\n", r->ratio, r->ratio_err);
    printf("Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f\n\n", r->diff, r->diff_err);
    printf("====== KL divergence statistics ======\n");
    printf("Mean    KLD: %10.6f ± %10.6f\n", r->kld, r->kld_err);
    print_dist("KLD", &r->kld_dist, 1.0, "%10.6f");
    printf("\n====== Token probability statistics ======\n");
    printf("Mean    Δp: %6.3f ± %5.3f %%\n", 100.0 * r->dp, 100.0 * r->dp_err);
    print_dist("Δp", &r->dp_dist, 100.0, "%6.3f%%");
    printf("RMS Δp    : %6.3f ± %5.3f %%\n", 100.0 * r->dp_rms, 100.0 * r->dp_rms_err);
    printf("Same top p: %6.3f ± %5.3f %%\n", 100.0 * r->same_top, 100.0 * r->same_top_err);
}

static json_t *dist_json(const struct lq_dist *d)
{
    const struct { const char *key; double v; } q[] = {
        { "max", d->max }, { "99.9", d->p999 }, { "99", d->p99 },   { "95", d->p95 },
        { "90", d->p90 },  { "75", d->p75 },    { "50", d->median }, { "25", d->p25 },
        { "10", d->p10 },  { "5", d->p05 },     { "1", d->p01 },    { "0.1", d->p001 },
        { "min", d->min },
    };
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        json_out_real(o, q[i].key, q[i].v);
    }
    return o;
}

static void set_num(json_t *o, const char *key, double v)
{
    json_out_real(o, key, v);
}

static json_t *kld_json(const struct lq_kld_report *k)
{
    json_t *j = json_object();
    const struct { const char *key; double v; } nums[] = {
        { "ppl_q", k->ppl }, { "ppl_q_err", k->ppl_err }, { "ppl_base", k->ppl_base },
        { "ppl_base_err", k->ppl_base_err }, { "cor", k->cor }, { "ln_ratio", k->ln_ratio },
        { "ln_ratio_err", k->ln_ratio_err }, { "ratio", k->ratio }, { "ratio_err", k->ratio_err },
        { "diff", k->diff }, { "diff_err", k->diff_err }, { "mean_kld", k->kld },
        { "mean_kld_err", k->kld_err }, { "dp_mean", k->dp }, { "dp_mean_err", k->dp_err },
        { "dp_rms", k->dp_rms }, { "dp_rms_err", k->dp_rms_err }, { "same_top", k->same_top },
        { "same_top_err", k->same_top_err },
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        set_num(j, nums[i].key, nums[i].v);
    }
    json_object_set_new(j, "kld_percentiles", dist_json(&k->kld_dist));
    json_object_set_new(j, "dp_percentiles", dist_json(&k->dp_dist));
    return j;
}

static int print_json(const struct eval_opts *o, const struct lq_eval_result *r)
{
    json_t *j = json_out_new("eval");
    json_out_input(j, "model", o->model);
    if (o->text || o->tokens) {
        json_out_input(j, o->text ? "text" : "tokens", o->text ? o->text : o->tokens);
    }
    if (o->compare) {
        json_out_input(j, "compare", o->compare);
    }
    if (o->save) {
        json_out_output(j, o->save, "logits");
    }
    json_object_set_new(j, "n_ctx", json_integer((json_int_t)r->n_ctx));
    json_object_set_new(j, "n_chunk", json_integer((json_int_t)r->n_chunk));
    json_object_set_new(j, "tokens_scored", json_integer((json_int_t)r->count));
    set_num(j, "ppl", r->ppl);
    set_num(j, "ppl_err", r->ppl_err);
    set_num(j, "tokens_per_second", r->tokens_per_s);
    if (r->has_kld) {
        json_object_set_new(j, "kld", kld_json(&r->kld));
    }
    return json_out_emit(j, r->seconds, LQ_EXIT_OK);
}

static int print_result(const struct eval_opts *o, const struct lq_eval_result *r)
{
    if (!o->quiet) {
        fprintf(o->json ? stderr : stdout,
                "prompt processing: %lld tokens in %.2f s = %.1f tokens/s\n",
                (long long)(r->n_chunk * r->n_ctx), r->seconds, r->tokens_per_s);
    }
    if (o->json) {
        return print_json(o, r);
    }
    if (r->has_kld) {
        print_kld(&r->kld);
    } else {
        printf("Final estimate: PPL = %.4f +/- %.5f\n", r->ppl, r->ppl_err);
    }
    return LQ_EXIT_OK;
}

// ---- input tokens -------------------------------------------------------------------------

/* An input stream through lq_input_open (no hang on a FIFO); an exit code after printing why
 * it cannot be read. */
static int open_input(const char *path, const char *mode, FILE **f)
{
    struct lq_error err = {0};
    int fd;
    if (lq_input_open(path, false, &fd, &err) != LQ_OK) {
        return cli_fail("eval", &err);
    }
    *f = fdopen(fd, mode);
    if (!*f) {
        fprintf(stderr, "quant eval: %s: %s\n", path, strerror(errno));
        close(fd);
        return LQ_EXIT_FAIL;
    }
    return LQ_EXIT_OK;
}

/* Reads whitespace-separated token ids (BOS first, as the model's tokenizer would give). */
static int read_token_file(const char *path, int32_t **out, int64_t *n)
{
    FILE *f;
    int rc = open_input(path, "r", &f);
    if (rc != LQ_EXIT_OK) {
        return rc;
    }
    int64_t cap = 0;
    long long v;
    *n = 0;
    while (rc == LQ_EXIT_OK && fscanf(f, "%lld", &v) == 1) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 4096;
            int32_t *t = realloc(*out, (size_t)cap * sizeof(int32_t));
            rc = t ? LQ_EXIT_OK : LQ_EXIT_FAIL;
            *out = t ? t : *out;
        }
        if (rc == LQ_EXIT_OK && (v < 0 || v > INT32_MAX)) {
            fprintf(stderr, "quant eval: %s: token %lld is not a token id\n", path, (long long)*n);
            rc = LQ_EXIT_BADINPUT;
        } else if (rc == LQ_EXIT_OK) {
            (*out)[(*n)++] = (int32_t)v;
        }
    }
    if (rc == LQ_EXIT_OK && !feof(f)) {
        fprintf(stderr, "quant eval: %s: not a list of token ids after %lld ids\n", path,
                (long long)*n);
        rc = LQ_EXIT_BADINPUT;
    }
    fclose(f);
    return rc;
}

/* Reads a whole text file (NUL-terminated copy). */
static int read_text(const char *path, char **out, size_t *len)
{
    FILE *f;
    *out = NULL;
    int rc = open_input(path, "rb", &f);
    if (rc != LQ_EXIT_OK) {
        return rc;
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        fprintf(stderr, "quant eval: %s: %s\n", path, strerror(errno));
        fclose(f);
        return LQ_EXIT_FAIL;
    }
    const long size = ftell(f);
    rewind(f);
    *out = size >= 0 ? malloc((size_t)size + 1) : NULL;
    const bool ok = *out && fread(*out, 1, (size_t)size, f) == (size_t)size;
    fclose(f);
    if (!ok) {
        fprintf(stderr, "quant eval: %s: cannot read the text\n", path);
        return LQ_EXIT_FAIL;
    }
    (*out)[size] = '\0';
    *len = (size_t)size;
    return LQ_EXIT_OK;
}

/* Tokenizes the text with the model's own vocabulary, BOS first when the vocabulary asks for
 * it (llama-perplexity's common_tokenize(text, add_special = true)). */
static int tokenize_text(const struct eval_opts *o, const lq_tokenizer *tok, int32_t **tokens,
                         int64_t *n)
{
    char *text = NULL;
    size_t len = 0;
    int rc = read_text(o->text, &text, &len);
    struct lq_error err = { 0 };
    int32_t *ids = NULL;
    size_t n_ids = 0;
    if (rc == LQ_EXIT_OK && lq_tokenizer_encode(tok, text, len, LQ_TOKENIZE_ADD_SPECIAL, &ids,
                                                &n_ids, &err) != LQ_OK) {
        rc = cli_fail("eval", &err);
    }
    if (rc == LQ_EXIT_OK) {
        *tokens = malloc((n_ids ? n_ids : 1) * sizeof(int32_t));
        rc = *tokens ? LQ_EXIT_OK : LQ_EXIT_FAIL;
    }
    if (rc == LQ_EXIT_OK) {
        memcpy(*tokens, ids, n_ids * sizeof(int32_t));
        *n = (int64_t)n_ids;
    }
    lq_tokenizer_ids_free(ids);
    free(text);
    return rc;
}

// ---- the command --------------------------------------------------------------------------

/* The chunk length the model's context must hold: --ctx, or the base file's. */
static lq_status context_size(const struct eval_opts *o, int64_t *ctx, struct lq_error *err)
{
    *ctx = o->ctx > 0 ? o->ctx : 512;
    if (!o->compare) {
        return LQ_OK;
    }
    lq_logits_file *f = NULL;
    lq_status rc = lq_logits_open(o->compare, &f, err);
    if (rc == LQ_OK) {
        *ctx = lq_logits_get_info(f)->n_ctx;
    }
    lq_logits_free(f);
    return rc;
}

static int run_eval(const struct eval_opts *o, lq_model *m, const int32_t *tokens, int64_t n)
{
    struct lq_eval_params ep = lq_eval_params_default();
    ep.n_ctx = o->ctx;
    ep.n_chunks = o->chunks;
    ep.save_logits = o->save;
    ep.compare = o->compare;
    struct eval_run run = { .o = o };
    progress_start(&run.bar, "eval", 0);
    run.bar.unit = "chunks";
    /* a bar and the running values would fight over one terminal line */
    run.chunk_lines = !o->quiet && !(run.bar.enabled && !run.bar.plain && isatty(STDOUT_FILENO));
    ep.on_chunk = on_chunk;
    ep.user = &run;
    struct lq_eval_result r;
    struct lq_error err = { 0 };
    lq_status s = lq_eval_perplexity(m, tokens, n, &ep, &r, &err);
    progress_end(&run.bar);
    if (s != LQ_OK) {
        return cli_fail("eval", &err);
    }
    return print_result(o, &r);
}

int cmd_eval(int argc, char **argv)
{
    struct eval_opts o = { 0 };
    int rc = parse_eval(argc, argv, &o);
    if (rc != 0) {
        return rc < 0 ? LQ_EXIT_OK : rc;
    }
    if (o.task) {
        const struct eval_task_opts t = { .model = o.model, .tokenizer = o.tokenizer,
                                          .kind = o.task, .file = o.task_file,
                                          .compare = o.compare, .ctx = o.ctx,
                                          .n_tasks = o.n_tasks, .mp = o.mp,
                                          .json = o.json, .llama_order = o.llama_order };
        return eval_tasks(&t);
    }
    struct lq_error err = { 0 };
    struct lq_model_params mp = o.mp;
    mp.n_batch = o.batch;
    lq_model *m = NULL;
    lq_tokenizer *tok = NULL;
    const bool need_tok = o.text && !o.compare;
    int32_t *tokens = NULL;
    int64_t n = 0;
    if (context_size(&o, &mp.n_ctx, &err) != LQ_OK ||
        lq_model_open_path_tokenizer(o.model, o.tokenizer, &mp, &m, need_tok ? &tok : NULL,
                                     &err) != LQ_OK) {
        rc = cli_fail("eval", &err);
        goto out_free_model;
    }
    if (o.tokens) {
        rc = read_token_file(o.tokens, &tokens, &n);
    } else if (need_tok) {
        rc = tokenize_text(&o, tok, &tokens, &n);
    }
    if (rc == LQ_EXIT_OK) {
        rc = run_eval(&o, m, tokens, n);
    }
out_free_model:
    free(tokens);
    lq_tokenizer_free(tok);
    lq_model_free(m);
    return rc;
}
