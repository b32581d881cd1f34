/*
 * lq/opt_solve.h - choosing one type per tensor under a byte budget: the allocation step of
 * `quant optimize` (lq/optimize.h), usable on its own with any cost table.
 *
 * Each item (a tensor) offers choices (candidate types), each with its stored size and a
 * predicted cost (the tensor's contribution to the mean KL divergence). The solver picks one
 * choice per item so that fixed_bytes + the chosen sizes <= budget and the summed cost is as
 * small as the method allows: a multiple-choice knapsack, solved by dynamic programming over
 * the bytes spent above each item's smallest choice. The budget is cut into at most
 * LQ_OPT_MAX_CELLS cells; with sizes rounded up to whole cells the result never exceeds the
 * budget, and a greedy pass then spends the rounding's slack byte-exactly. When the spare
 * bytes fit in LQ_OPT_MAX_CELLS cells of one byte the optimum is exact.
 */
#ifndef LQ_OPT_SOLVE_H
#define LQ_OPT_SOLVE_H

#include <stdint.h>

#include "lq/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LQ_OPT_MAX_CELLS 65536

struct lq_opt_choice {
    uint64_t bytes; /* stored size with this choice */
    double cost;    /* predicted cost (>= 0 not required; lower is better) */
};

struct lq_opt_item {
    int n_choices; /* >= 1 */
    const struct lq_opt_choice *choices;
};

struct lq_opt_problem {
    int64_t n_items;
    const struct lq_opt_item *items;
    uint64_t fixed_bytes; /* what every solution stores besides the items (metadata, norms) */
    uint64_t budget;      /* most bytes in all */
};

struct lq_opt_solution {
    uint64_t bytes; /* fixed_bytes + the chosen sizes */
    double cost;    /* summed cost of the choices */
};

/* The fewest bytes any solution needs: fixed_bytes + each item's smallest choice. */
LQ_API uint64_t lq_opt_min_bytes(const struct lq_opt_problem *p);

/* Fills pick[i] (n_items entries) with the chosen choice of each item. A budget below
 * lq_opt_min_bytes gives LQ_E_RANGE naming both sizes; sol may be NULL. */
LQ_API lq_status lq_opt_solve(const struct lq_opt_problem *p, int *pick,
                              struct lq_opt_solution *sol, struct lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LQ_OPT_SOLVE_H */
