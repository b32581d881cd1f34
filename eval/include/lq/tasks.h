/*
 * lq/tasks.h - task accuracy (HellaSwag, multiple choice) scored as llama-perplexity's
 * --hellaswag and --multiple-choice modes do (tools/perplexity/perplexity.cpp), and the
 * paired comparison of two models on the same tasks.
 *
 * Task files:
 *   HellaSwag text: 6 lines per task (one trailing '\n' of the file dropped): context, gold
 *     ending index 0-3, the four endings.
 *   Multiple-choice binary (little-endian): u32 n_task, u32 task_pos[n_task], then per task:
 *     string question, u32 n1, string answer[n1], i32 label[n1] (1 = correct, 0 = wrong),
 *     u32 n2, string answer[n2], i32 label[n2] (mc2, read and ignored); a string is a u32
 *     byte length and the bytes.
 *   MMLU CSV (hendrycks/test layout): rows "question,A,B,C,D,answer letter" without header,
 *     RFC 4180 quoting. Each row becomes the task "Question: " + strip(question) +
 *     "\nAnswer:" with the choices strip(A..D); a row where one choice is a prefix of every
 *     other choice is skipped (llama.cpp's scoring is undefined there; the shared MMLU
 *     converter leaves it out too).
 *
 * Scoring, per task: every choice i is tokenized as context + " " + choice[i] (BOS as the
 * vocabulary asks, no special-token parsing); the leading tokens common to all choices are
 * evaluated once, then each choice's remaining tokens continue from that shared KV cache.
 * A choice's score is the mean log-probability of its tokens after the common prefix, with
 * llama.cpp's arithmetic (the first token's probability from a softmax summed in double,
 * the others log-softmaxed in float; HellaSwag sums the means in double, multiple choice in
 * float). The first maximum wins. If a choice's tokens are all inside the common prefix
 * (llama.cpp then reads past the sequence), the prefix is shortened by one token.
 *
 * A task set is immutable once read; results are plain arrays owned by their handle.
 */
#ifndef LQ_TASKS_H
#define LQ_TASKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/model.h"
#include "lq/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most choices per task (llama.cpp's limit for multiple-choice files). */
#define LQ_TASK_MAX_CHOICES 100
/* Longest string (context or choice) a task file may hold, in bytes. */
#define LQ_TASK_MAX_STRING (1u << 20)

enum lq_task_kind {
    LQ_TASK_HELLASWAG = 0,       /* mean log-probs summed in double */
    LQ_TASK_MULTIPLE_CHOICE = 1, /* summed in float */
};

/* Name of a kind ("hellaswag", "multiple-choice"); NULL for an unknown value. */
LQ_API const char *lq_task_kind_name(enum lq_task_kind kind);

/* One task: borrowed views into its set. Strings are not NUL-terminated. */
struct lq_task {
    const char *context;
    size_t context_len;
    int32_t n_choice;
    const char *const *choice;
    const size_t *choice_len;
    const uint8_t *label; /* n_choice: 1 = correct */
    int32_t gold;         /* first choice labelled correct */
};

typedef struct lq_task_set lq_task_set;

/* Reads a HellaSwag text file. Errors (LQ_E_FORMAT) name the file and the 1-based task. */
LQ_API lq_status lq_tasks_read_hellaswag(const char *path, lq_task_set **out, struct lq_error *err);
/* Reads llama.cpp's multiple-choice binary file (all tasks, file order). */
LQ_API lq_status lq_tasks_read_mc(const char *path, lq_task_set **out, struct lq_error *err);
/* Reads n MMLU CSV files, tasks in the order of the files and their rows. */
LQ_API lq_status lq_tasks_read_mmlu_csv(const char *const *paths, int n, lq_task_set **out,
                                        struct lq_error *err);
/* Reads path as kind: for multiple choice, a name ending in ".csv" or a folder (every
 * *.csv below it, sorted by path) is read as MMLU CSV, anything else as the binary. */
LQ_API lq_status lq_tasks_read(const char *path, enum lq_task_kind kind, lq_task_set **out,
                               struct lq_error *err);
LQ_API void lq_tasks_free(lq_task_set *s);

LQ_API int64_t lq_tasks_count(const lq_task_set *s);
LQ_API enum lq_task_kind lq_tasks_kind(const lq_task_set *s);
/* Borrowed until lq_tasks_free(); i in 0 .. count - 1. */
LQ_API const struct lq_task *lq_tasks_get(const lq_task_set *s, int64_t i);
/* Where task i came from ("file.csv:12"), for MMLU CSV sets; NULL otherwise. Borrowed. */
LQ_API const char *lq_tasks_origin(const lq_task_set *s, int64_t i);

/* The order llama-perplexity --hellaswag evaluates tasks in: n_pick of n_task drawn one at
 * a time by std::mt19937(1) and libstdc++'s uniform_int_distribution, each pick removed.
 * Writes n_pick 0-based file indices. */
LQ_API lq_status lq_tasks_llama_order(int64_t n_task, int64_t n_pick, int64_t *order,
                                      struct lq_error *err);

// ---- scoring ------------------------------------------------------------------------------

struct lq_task_outcome {
    int32_t n_choice;
    int32_t chosen;       /* first choice with the highest score */
    int32_t gold;         /* as the task's */
    bool correct;         /* label[chosen] == 1 */
    const double *scores; /* n_choice mean log-probabilities; borrowed from the results */
};

typedef struct lq_task_results lq_task_results;

/* Results for n_task tasks of n_choice[i] choices, all outcomes zero (to fill by hand, e.g.
 * from a saved file). */
LQ_API lq_status lq_task_results_new(enum lq_task_kind kind, int64_t n_task,
                                     const int32_t *n_choice, lq_task_results **out,
                                     struct lq_error *err);
LQ_API void lq_task_results_free(lq_task_results *r);
/* Sets task i's outcome: chosen, gold, correct and the scores (copied). */
LQ_API lq_status lq_task_results_set(lq_task_results *r, int64_t i, int32_t chosen, int32_t gold,
                                     bool correct, const double *scores, struct lq_error *err);

LQ_API enum lq_task_kind lq_task_results_kind(const lq_task_results *r);
LQ_API int64_t lq_task_results_count(const lq_task_results *r);
LQ_API int64_t lq_task_results_correct(const lq_task_results *r);
/* Borrowed until lq_task_results_free(). */
LQ_API const struct lq_task_outcome *lq_task_results_get(const lq_task_results *r, int64_t i);
LQ_API double lq_task_results_seconds(const lq_task_results *r); /* forward-pass time */

struct lq_task_progress {
    int64_t task, n_task;  /* task just scored (0-based file index), of n_task */
    int64_t done, correct; /* scored so far and how many were right */
    const struct lq_task_outcome *outcome;
};

struct lq_task_params {
    int64_t n_tasks; /* score only the first n_tasks tasks; 0: all */
    void (*on_task)(void *user, const struct lq_task_progress *p);
    void *user;
};

LQ_API struct lq_task_params lq_task_params_default(void);

/* Scores the tasks of s with model m (tokenized by tok), in file order (p may be NULL). Every token
 * sequence must fit m's context: a longer one fails with LQ_E_RANGE naming the task. */
LQ_API lq_status lq_tasks_score(lq_model *m, const lq_tokenizer *tok, const lq_task_set *s,
                                const struct lq_task_params *p, lq_task_results **out,
                                struct lq_error *err);

// ---- statistics ---------------------------------------------------------------------------

/* Wilson score interval for k successes of n at 95 % (llama.cpp's HellaSwag figures). */
LQ_API void lq_wilson95(int64_t k, int64_t n, double *lo, double *hi);

/* Two models on the same tasks: a = the evaluated model, b = the base. */
struct lq_task_compare {
    int64_t n;             /* paired tasks */
    int64_t both, neither; /* right in both / in neither */
    int64_t gained, lost;  /* right only in a (b wrong) / right only in b */
    double acc_a, acc_b;   /* accuracies (fractions) */
    double diff;           /* acc_a - acc_b */
    double lo, hi;         /* 95 % interval for diff: Newcombe's method 10 (hybrid score
                              interval for paired proportions, Wilson limits of both
                              accuracies combined with the phi correlation of outcomes) */
    double p_mcnemar;      /* exact two-sided McNemar p-value (binomial on the flips) */
};

/* Pairs ok_a[i] with ok_b[i] for n tasks. */
LQ_API void lq_task_compare_outcomes(const bool *ok_a, const bool *ok_b, int64_t n,
                                     struct lq_task_compare *c);
/* The same from the 2x2 counts. */
LQ_API void lq_task_compare_counts(int64_t both, int64_t gained, int64_t lost, int64_t neither,
                                   struct lq_task_compare *c);
/* Compares two result sets task by task; they must have the same kind, task count and
 * choice counts (else LQ_E_INVALID_ARG: not the same tasks). */
LQ_API lq_status lq_task_results_compare(const lq_task_results *a, const lq_task_results *b,
                                         struct lq_task_compare *c, struct lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LQ_TASKS_H */
