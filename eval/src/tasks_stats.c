/* tasks_stats.c - accuracy intervals and the paired comparison of two models.
 *
 * The difference of two accuracies measured on the same tasks is a difference of paired
 * proportions: only the tasks whose outcome flipped carry information, and the outcomes of
 * the two models are correlated. Its 95 % interval is Newcombe's method 10 (Stat. Med. 1998,
 * 17:2635): the Wilson score limits of each accuracy, combined with the phi coefficient of
 * the 2x2 table. It needs no resampling (the same numbers every run), keeps its coverage
 * with few flips, and stays inside [-1, 1]; the exact McNemar test gives the p-value. */
#include <math.h>

#include "lqi.h"
#include "tasks_impl.h"

#define Z95 1.95996398454

void lq_wilson95(int64_t k, int64_t n, double *lo, double *hi)
{
    if (n <= 0) {
        *lo = 0.0;
        *hi = 1.0;
        return;
    }
    /* llama.cpp's formulation (hellaswag_score), so the figures print identically */
    const double p = (double)k / (double)n;
    const double z = Z95 * Z95 / (double)n;
    const double c = z * sqrt((double)n * (4.0 * p * (1 - p) + z)) / (Z95 + Z95);
    *lo = (p + z * 0.5 - c) / (1.0 + z);
    *hi = (p + z * 0.5 + c) / (1.0 + z);
}

/* Two-sided exact binomial test of b successes in b + c trials at p = 1/2. */
static double mcnemar_exact(int64_t b, int64_t c)
{
    const int64_t n = b + c, k = b < c ? b : c;
    if (n == 0) {
        return 1.0;
    }
    double tail = 0.0;
    for (int64_t i = 0; i <= k; i++) {
        /* log of C(n, i) / 2^n */
        tail += exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) -
                    (double)n * log(2.0));
    }
    return 2 * tail < 1.0 ? 2 * tail : 1.0;
}

void lq_task_compare_counts(int64_t both, int64_t gained, int64_t lost, int64_t neither,
                            struct lq_task_compare *c)
{
    *c = (struct lq_task_compare){.both = both, .gained = gained, .lost = lost};
    c->neither = neither;
    c->n = both + gained + lost + neither;
    if (c->n == 0) {
        c->lo = -1.0;
        c->hi = 1.0;
        c->p_mcnemar = 1.0;
        return;
    }
    const double n = (double)c->n;
    c->acc_a = (double)(both + gained) / n;
    c->acc_b = (double)(both + lost) / n;
    c->diff = c->acc_a - c->acc_b;
    double l1, u1, l2, u2;
    lq_wilson95(both + gained, c->n, &l1, &u1);
    lq_wilson95(both + lost, c->n, &l2, &u2);
    /* phi of the 2x2 table; 0 when a margin is empty */
    const double den = (double)(both + gained) * (double)(lost + neither) * (double)(both + lost) *
                       (double)(gained + neither);
    const double phi =
        den > 0 ? ((double)both * (double)neither - (double)gained * (double)lost) / sqrt(den)
                : 0.0;
    const double da = c->acc_a - l1, ua = u1 - c->acc_a;
    const double db = c->acc_b - l2, ub = u2 - c->acc_b;
    const double dl = da * da - 2 * phi * da * ub + ub * ub;
    const double du = ua * ua - 2 * phi * ua * db + db * db;
    c->lo = c->diff - sqrt(dl > 0 ? dl : 0);
    c->hi = c->diff + sqrt(du > 0 ? du : 0);
    c->p_mcnemar = mcnemar_exact(gained, lost);
}

void lq_task_compare_outcomes(const bool *ok_a, const bool *ok_b, int64_t n,
                              struct lq_task_compare *c)
{
    int64_t k[2][2] = {{0, 0}, {0, 0}};
    for (int64_t i = 0; i < n; i++) {
        k[ok_a[i]][ok_b[i]]++;
    }
    lq_task_compare_counts(k[1][1], k[1][0], k[0][1], k[0][0], c);
}

lq_status lq_task_results_compare(const lq_task_results *a, const lq_task_results *b,
                                  struct lq_task_compare *c, struct lq_error *err)
{
    LQ_FAIL_IF(!a || !b || !c, err, LQ_E_INVALID_ARG, "tasks: NULL argument");
    const int64_t n = lq_task_results_count(a);
    LQ_FAIL_IF(lq_task_results_kind(a) != lq_task_results_kind(b) || n != lq_task_results_count(b),
               err, LQ_E_INVALID_ARG, "tasks: not the same tasks (%s, %lld vs %s, %lld)",
               lq_task_kind_name(lq_task_results_kind(a)), (long long)n,
               lq_task_kind_name(lq_task_results_kind(b)), (long long)lq_task_results_count(b));
    int64_t k[2][2] = {{0, 0}, {0, 0}};
    for (int64_t i = 0; i < n; i++) {
        const struct lq_task_outcome *x = lq_task_results_get(a, i);
        const struct lq_task_outcome *y = lq_task_results_get(b, i);
        LQ_FAIL_IF(x->n_choice != y->n_choice || x->gold != y->gold, err, LQ_E_INVALID_ARG,
                   "tasks: task %lld differs (%d choices, gold %d vs %d choices, gold %d): "
                   "not the same tasks",
                   (long long)(i + 1), (int)x->n_choice, (int)x->gold, (int)y->n_choice,
                   (int)y->gold);
        k[x->correct][y->correct]++;
    }
    lq_task_compare_counts(k[1][1], k[1][0], k[0][1], k[0][0], c);
    return LQ_OK;
}
