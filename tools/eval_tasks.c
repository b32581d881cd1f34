/* eval_tasks.c - `quant eval MODEL --task KIND FILE [--compare BASE]`: task accuracy as
 * llama-perplexity --hellaswag / --multiple-choice print it, and the paired comparison with a
 * base model or a saved run (lq/tasks.h). */
#include "eval_tasks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lq/model_open_any.h"
#include "lq/tasks.h"
#include "lq/tasks_json.h"

struct progress {
    enum lq_task_kind kind;
    FILE *f;
    bool quiet;
};

/* llama-perplexity's running line after task k: accuracy so far (and, for HellaSwag, its
 * Wilson interval). */
static void print_running(FILE *f, enum lq_task_kind kind, int64_t done, int64_t correct)
{
    const double acc = (double)correct / (double)done;
    if (kind == LQ_TASK_HELLASWAG) {
        double lo, hi;
        lq_wilson95(correct, done, &lo, &hi);
        fprintf(f, "%lld\t%3.8lf%%\t[%3.4lf%%, %3.4lf%%]\n", (long long)done, acc * 100.0,
                lo * 100.0, hi * 100.0);
    } else {
        fprintf(f, "%lld\t%.8lf\n", (long long)done, 100.0 * acc);
    }
}

static void on_task(void *user, const struct lq_task_progress *p)
{
    const struct progress *pr = user;
    if (!pr->quiet) {
        print_running(pr->f, pr->kind, p->done, p->correct);
        fflush(pr->f);
    }
}

/* The running lines in the order llama-perplexity evaluates the tasks in. */
static int print_llama_order(FILE *f, const lq_task_results *r)
{
    const int64_t n = lq_task_results_count(r);
    int64_t *order = malloc((size_t)n * sizeof *order);
    struct lq_error err = {0};
    if (!order || lq_tasks_llama_order(n, n, order, &err) != LQ_OK) {
        free(order);
        return order ? cli_fail("eval", &err) : LQ_EXIT_FAIL;
    }
    int64_t correct = 0;
    for (int64_t k = 0; k < n; k++) {
        correct += lq_task_results_get(r, order[k])->correct;
        print_running(f, LQ_TASK_HELLASWAG, k + 1, correct);
    }
    free(order);
    return LQ_EXIT_OK;
}

/* Opens model and scores the tasks (running lines unless quiet). */
static int score_model(const struct eval_task_opts *o, const char *model, const lq_task_set *s,
                       bool quiet, lq_task_results **r)
{
    struct lq_error err = {0};
    struct lq_model_params mp = o->mp;
    mp.n_ctx = o->ctx;
    lq_model *m = NULL;
    lq_tokenizer *tok = NULL;
    struct progress pr = {lq_tasks_kind(s), o->json ? stderr : stdout, quiet};
    struct lq_task_params tp = lq_task_params_default();
    tp.n_tasks = o->n_tasks;
    tp.on_task = on_task;
    tp.user = &pr;
    int rc = LQ_EXIT_OK;
    if (lq_model_open_path_tokenizer(model, o->tokenizer, &mp, &m, &tok, &err) != LQ_OK ||
        lq_tasks_score(m, tok, s, &tp, r, &err) != LQ_OK) {
        rc = cli_fail("eval", &err);
        fprintf(stderr, "quant eval: while scoring %s with %s\n", o->file, model);
    }
    lq_tokenizer_free(tok);
    lq_model_free(m);
    return rc;
}

static bool is_json_path(const char *p)
{
    const size_t n = strlen(p);
    return n > 5 && strcmp(p + n - 5, ".json") == 0;
}

// ---- printing -----------------------------------------------------------------------------

static void print_summary(FILE *f, const lq_task_results *r)
{
    const int64_t n = lq_task_results_count(r), k = lq_task_results_correct(r);
    double lo, hi;
    lq_wilson95(k, n, &lo, &hi);
    fprintf(
        f, "\nFinal accuracy: %.4f %% (%lld of %lld), 95 %% interval (Wilson) [%.4f %%, %.4f %%]\n",
        100.0 * (double)k / (double)n, (long long)k, (long long)n, 100.0 * lo, 100.0 * hi);
    if (lq_task_results_kind(r) == LQ_TASK_MULTIPLE_CHOICE && n > 1) {
        /* llama.cpp's final lines, in its float arithmetic */
        int64_t answers = 0;
        for (int64_t i = 0; i < n; i++) {
            answers += lq_task_results_get(r, i)->n_choice;
        }
        float p = 1.f * (float)k / (float)n;
        fprintf(f, "Final result: %.4f +/- %.4f\n", 100.f * p,
                100.f * sqrtf(p * (1 - p) / (float)(n - 1)));
        p = 1.f * (float)n / (float)answers;
        fprintf(f, "Random chance: %.4f +/- %.4f\n", 100.f * p,
                100.f * sqrtf(p * (1 - p) / (float)(n - 1)));
    }
    const double sec = lq_task_results_seconds(r);
    fprintf(f, "%lld tasks in %.2f s = %.1f tasks/s\n", (long long)n, sec,
            sec > 0 ? (double)n / sec : 0.0);
}

static void print_compare(FILE *f, const char *base, const struct lq_task_compare *c)
{
    fprintf(f, "\n====== Paired comparison with %s ======\n", base);
    fprintf(f, "Accuracy (this model): %.4f %%\n", 100.0 * c->acc_a);
    fprintf(f, "Accuracy (base)      : %.4f %%\n", 100.0 * c->acc_b);
    fprintf(f,
            "Difference           : %+.4f points, 95 %% CI [%+.4f, %+.4f] "
            "(Newcombe paired score interval)\n",
            100.0 * c->diff, 100.0 * c->lo, 100.0 * c->hi);
    fprintf(f,
            "Flipped answers      : %lld gained (base wrong, this right), %lld lost "
            "(base right, this wrong); %lld both right, %lld both wrong\n",
            (long long)c->gained, (long long)c->lost, (long long)c->both, (long long)c->neither);
    fprintf(f, "McNemar exact p      : %.4g\n", c->p_mcnemar);
}

static int print_json(const struct eval_task_opts *o, const lq_task_results *r,
                      const struct lq_task_compare *c)
{
    char *s = lq_task_results_to_json(r, o->file, o->model, c, o->compare);
    if (!s) {
        fprintf(stderr, "quant eval: out of memory\n");
        return LQ_EXIT_FAIL;
    }
    printf("%s\n", s);
    free(s);
    return LQ_EXIT_OK;
}

// ---- the command --------------------------------------------------------------------------

static int parse_kind(const char *s, enum lq_task_kind *kind)
{
    if (strcmp(s, "hellaswag") == 0) {
        *kind = LQ_TASK_HELLASWAG;
    } else if (strcmp(s, "multiple-choice") == 0) {
        *kind = LQ_TASK_MULTIPLE_CHOICE;
    } else {
        return cli_usage_error("eval", "--task takes hellaswag or multiple-choice, not '%s'", s);
    }
    return LQ_EXIT_OK;
}

/* The base's results: a saved run, or the base model scored on the same tasks. */
static int base_results(const struct eval_task_opts *o, const lq_task_set *s, lq_task_results **b)
{
    if (!is_json_path(o->compare)) {
        return score_model(o, o->compare, s, true, b);
    }
    struct lq_error err = {0};
    if (lq_task_results_load(o->compare, b, &err) != LQ_OK) {
        return cli_fail("eval", &err);
    }
    return LQ_EXIT_OK;
}

static int report(const struct eval_task_opts *o, const lq_task_results *r,
                  const lq_task_results *b)
{
    struct lq_task_compare c;
    struct lq_error err = {0};
    if (b && lq_task_results_compare(r, b, &c, &err) != LQ_OK) {
        fprintf(stderr, "quant eval: %s: %s\n", o->compare, err.msg);
        return LQ_EXIT_BADINPUT;
    }
    FILE *f = o->json ? stderr : stdout;
    int rc = o->llama_order ? print_llama_order(f, r) : LQ_EXIT_OK;
    if (rc != LQ_EXIT_OK) {
        return rc;
    }
    print_summary(f, r);
    if (b) {
        print_compare(f, o->compare, &c);
    }
    return o->json ? print_json(o, r, b ? &c : NULL) : LQ_EXIT_OK;
}

int eval_tasks(const struct eval_task_opts *o)
{
    enum lq_task_kind kind = LQ_TASK_HELLASWAG;
    int rc = parse_kind(o->kind, &kind);
    if (rc != LQ_EXIT_OK) {
        return rc;
    }
    if (o->llama_order && kind != LQ_TASK_HELLASWAG) {
        return cli_usage_error("eval", "--llama-order is for --task hellaswag");
    }
    struct lq_error err = {0};
    lq_task_set *s = NULL;
    lq_task_results *r = NULL, *b = NULL;
    if (lq_tasks_read(o->file, kind, &s, &err) != LQ_OK) {
        return cli_fail("eval", &err);
    }
    /* a saved base is checked before the long run; a base model is scored after it */
    if (o->compare && is_json_path(o->compare)) {
        rc = base_results(o, s, &b);
    }
    rc = rc == LQ_EXIT_OK ? score_model(o, o->model, s, o->llama_order, &r) : rc;
    if (rc == LQ_EXIT_OK && o->compare && !b) {
        rc = base_results(o, s, &b);
    }
    rc = rc == LQ_EXIT_OK ? report(o, r, b) : rc;
    lq_task_results_free(b);
    lq_task_results_free(r);
    lq_tasks_free(s);
    return rc;
}
