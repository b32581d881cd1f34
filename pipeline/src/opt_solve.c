/* opt_solve.c - multiple-choice knapsack over tensors: dynamic programming on the bytes spent
 * above each tensor's smallest type, then a greedy pass over the slack (lq/opt_solve.h). */
#include "lq/opt_solve.h"

#include <math.h>
#include <string.h>

#include "lqi.h"

static int smallest_choice(const struct lq_opt_item *it)
{
    int best = 0;
    for (int c = 1; c < it->n_choices; c++) {
        const struct lq_opt_choice *a = &it->choices[c], *b = &it->choices[best];
        if (a->bytes < b->bytes || (a->bytes == b->bytes && a->cost < b->cost)) {
            best = c;
        }
    }
    return best;
}

uint64_t lq_opt_min_bytes(const struct lq_opt_problem *p)
{
    uint64_t sum = p->fixed_bytes;
    for (int64_t i = 0; i < p->n_items; i++) {
        const struct lq_opt_item *it = &p->items[i];
        sum += it->choices[smallest_choice(it)].bytes;
    }
    return sum;
}

static lq_status check_problem(const struct lq_opt_problem *p, const int *pick,
                               struct lq_error *err)
{
    LQ_FAIL_IF(!p || !pick || (p->n_items > 0 && !p->items), err, LQ_E_INVALID_ARG,
               "optimize: NULL argument");
    uint64_t sum = p->fixed_bytes;
    for (int64_t i = 0; i < p->n_items; i++) {
        const struct lq_opt_item *it = &p->items[i];
        LQ_FAIL_IF(it->n_choices < 1 || it->n_choices > 255 || !it->choices, err,
                   LQ_E_INVALID_ARG, "optimize: item %lld has %d choices", (long long)i,
                   it->n_choices);
        for (int c = 0; c < it->n_choices; c++) {
            LQ_FAIL_IF(!isfinite(it->choices[c].cost), err, LQ_E_INVALID_ARG,
                       "optimize: item %lld choice %d has no finite cost", (long long)i, c);
        }
        LQ_FAIL_IF(lqi_add_overflow_u64(sum, it->choices[smallest_choice(it)].bytes, &sum), err,
                   LQ_E_RANGE, "optimize: sizes overflow");
    }
    LQ_FAIL_IF(sum > p->budget, err, LQ_E_RANGE,
               "optimize: the budget of %llu bytes is below the smallest possible file, "
               "%llu bytes (every tensor in its smallest candidate type)",
               (unsigned long long)p->budget, (unsigned long long)sum);
    return LQ_OK;
}

/* Cells of `unit` bytes an extra of `extra` bytes takes (rounded up: never over budget). */
static uint64_t cells_of(uint64_t extra, uint64_t unit)
{
    return extra / unit + (extra % unit != 0);
}

/* best[c]: least cost of the items so far within c cells; from[i * (n_cells + 1) + c]: the
 * choice item i took on that path. */
static lq_status knapsack(const struct lq_opt_problem *p, uint64_t spare, int *pick,
                          struct lq_error *err)
{
    const uint64_t unit = spare / LQ_OPT_MAX_CELLS + 1;
    const int64_t n_cells = (int64_t)(spare / unit);
    const int64_t w = n_cells + 1;
    double *best = lqi_malloc((size_t)w * sizeof *best);
    double *next = lqi_malloc((size_t)w * sizeof *next);
    uint8_t *from = lqi_malloc((size_t)(p->n_items ? p->n_items : 1) * (size_t)w);
    lq_status rc = LQ_OK;
    if (!best || !next || !from) {
        rc = lqi_set_error(err, LQ_E_NOMEM, "optimize: out of memory (%lld cells)",
                           (long long)w);
        goto out_free;
    }
    for (int64_t c = 0; c < w; c++) {
        best[c] = 0.0;
    }
    for (int64_t i = 0; i < p->n_items; i++) {
        const struct lq_opt_item *it = &p->items[i];
        const uint64_t base = it->choices[smallest_choice(it)].bytes;
        uint8_t *row = from + i * w;
        for (int64_t c = 0; c < w; c++) {
            next[c] = INFINITY;
            row[c] = 0;
            for (int k = 0; k < it->n_choices; k++) {
                const uint64_t need = cells_of(it->choices[k].bytes - base, unit);
                if (need > (uint64_t)c) {
                    continue;
                }
                const double v = best[c - (int64_t)need] + it->choices[k].cost;
                if (v < next[c]) {
                    next[c] = v;
                    row[c] = (uint8_t)k;
                }
            }
        }
        memcpy(best, next, (size_t)w * sizeof *best);
    }
    int64_t c = n_cells;
    for (int64_t i = p->n_items - 1; i >= 0; i--) {
        const struct lq_opt_item *it = &p->items[i];
        const uint64_t base = it->choices[smallest_choice(it)].bytes;
        pick[i] = from[i * w + c];
        c -= (int64_t)cells_of(it->choices[pick[i]].bytes - base, unit);
    }
out_free:
    lqi_free(best);
    lqi_free(next);
    lqi_free(from);
    return rc;
}

static uint64_t picked_bytes(const struct lq_opt_problem *p, const int *pick)
{
    uint64_t sum = p->fixed_bytes;
    for (int64_t i = 0; i < p->n_items; i++) {
        sum += p->items[i].choices[pick[i]].bytes;
    }
    return sum;
}

/* Rounding sizes up to cells leaves slack: take the change that lowers the cost most per byte
 * and still fits, until none does. */
static void spend_slack(const struct lq_opt_problem *p, int *pick)
{
    for (;;) {
        const uint64_t used = picked_bytes(p, pick);
        double best_gain = 0.0;
        int64_t bi = -1;
        int bk = 0;
        for (int64_t i = 0; i < p->n_items; i++) {
            const struct lq_opt_item *it = &p->items[i];
            const struct lq_opt_choice *cur = &it->choices[pick[i]];
            for (int k = 0; k < it->n_choices; k++) {
                const struct lq_opt_choice *ch = &it->choices[k];
                const double dc = cur->cost - ch->cost;
                if (dc <= 0.0 || (ch->bytes > cur->bytes &&
                                  ch->bytes - cur->bytes > p->budget - used)) {
                    continue;
                }
                const double db = ch->bytes > cur->bytes ? (double)(ch->bytes - cur->bytes) : 1.0;
                if (dc / db > best_gain) {
                    best_gain = dc / db;
                    bi = i;
                    bk = k;
                }
            }
        }
        if (bi < 0) {
            return;
        }
        pick[bi] = bk;
    }
}

lq_status lq_opt_solve(const struct lq_opt_problem *p, int *pick, struct lq_opt_solution *sol,
                       struct lq_error *err)
{
    LQ_TRY(check_problem(p, pick, err));
    const uint64_t spare = p->budget - lq_opt_min_bytes(p);
    LQ_TRY(knapsack(p, spare, pick, err));
    spend_slack(p, pick);
    if (sol) {
        sol->bytes = picked_bytes(p, pick);
        sol->cost = 0.0;
        for (int64_t i = 0; i < p->n_items; i++) {
            sol->cost += p->items[i].choices[pick[i]].cost;
        }
    }
    return LQ_OK;
}
