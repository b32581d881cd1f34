/* test_opt_solve.c - the optimizer's allocation solver (lq/opt_solve.h) on synthetic cost
 * tables whose optimum is known: by hand, and by enumerating every assignment. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lq/opt_solve.h"

/* Three tensors, three types each; by hand: with 300 spare bytes the best is to upgrade
 * item 1 (cost 9 -> 1 for 200 bytes) and item 2 by 100 (5 -> 2); item 0 stays. */
static void test_hand_example(void **state)
{
    (void)state;
    const struct lq_opt_choice a[] = {{100, 4.0}, {200, 3.5}, {400, 0.0}};
    const struct lq_opt_choice b[] = {{100, 9.0}, {300, 1.0}, {400, 0.5}};
    const struct lq_opt_choice c[] = {{100, 5.0}, {200, 2.0}, {300, 1.9}};
    const struct lq_opt_item items[] = {{3, a}, {3, b}, {3, c}};
    struct lq_opt_problem p = {.n_items = 3, .items = items, .fixed_bytes = 50, .budget = 650};
    int pick[3];
    struct lq_opt_solution sol;
    assert_int_equal(lq_opt_min_bytes(&p), 350);
    assert_int_equal(lq_opt_solve(&p, pick, &sol, NULL), LQ_OK);
    assert_int_equal(pick[0], 0);
    assert_int_equal(pick[1], 1);
    assert_int_equal(pick[2], 1);
    assert_int_equal(sol.bytes, 650);
    assert_true(fabs(sol.cost - 7.0) < 1e-12);
}

/* A budget below the smallest file is refused, naming that size. */
static void test_refuses_small_budget(void **state)
{
    (void)state;
    const struct lq_opt_choice a[] = {{100, 1.0}, {200, 0.5}};
    const struct lq_opt_item items[] = {{2, a}, {2, a}};
    struct lq_opt_problem p = {.n_items = 2, .items = items, .fixed_bytes = 10, .budget = 209};
    int pick[2];
    struct lq_error err = {0};
    assert_int_equal(lq_opt_solve(&p, pick, NULL, &err), LQ_E_RANGE);
    assert_non_null(strstr(err.msg, "210 bytes"));
    p.budget = 210;
    assert_int_equal(lq_opt_solve(&p, pick, NULL, NULL), LQ_OK);
    assert_int_equal(pick[0], 0);
    assert_int_equal(pick[1], 0);
}

static uint64_t rnd_state = 12345;
static uint64_t rnd(void)
{
    rnd_state = rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return rnd_state >> 33;
}

/* Random tables of 6 items x 4 choices against every one of the 4096 assignments: the
 * solver's cost is the enumerated optimum when the spare bytes fit the cells exactly. */
static void test_matches_enumeration(void **state)
{
    (void)state;
    enum { N = 6, K = 4 };
    for (int trial = 0; trial < 200; trial++) {
        struct lq_opt_choice ch[N][K];
        struct lq_opt_item items[N];
        for (int i = 0; i < N; i++) {
            for (int k = 0; k < K; k++) {
                ch[i][k] = (struct lq_opt_choice){50 + rnd() % 500, (double)(rnd() % 1000) / 7.0};
            }
            items[i] = (struct lq_opt_item){K, ch[i]};
        }
        struct lq_opt_problem p = {.n_items = N, .items = items, .fixed_bytes = rnd() % 100};
        p.budget = lq_opt_min_bytes(&p) + rnd() % 1500;
        double best = INFINITY;
        for (int code = 0; code < 4096; code++) {
            uint64_t bytes = p.fixed_bytes;
            double cost = 0.0;
            for (int i = 0, c = code; i < N; i++, c /= K) {
                bytes += ch[i][c % K].bytes;
                cost += ch[i][c % K].cost;
            }
            if (bytes <= p.budget && cost < best) {
                best = cost;
            }
        }
        int pick[N];
        struct lq_opt_solution sol;
        assert_int_equal(lq_opt_solve(&p, pick, &sol, NULL), LQ_OK);
        assert_true(sol.bytes <= p.budget);
        assert_true(fabs(sol.cost - best) < 1e-9);
    }
}

/* A large budget is cut into cells: never over budget, and within one cell per item of the
 * optimum (here: the solution spends all but less than a cell of the budget). */
static void test_large_budget_stays_within(void **state)
{
    (void)state;
    enum { N = 40 };
    struct lq_opt_choice ch[N][3];
    struct lq_opt_item items[N];
    for (int i = 0; i < N; i++) {
        const uint64_t base = 1000000 + rnd() % 100000;
        ch[i][0] = (struct lq_opt_choice){base, 10.0 + (double)(rnd() % 10)};
        ch[i][1] = (struct lq_opt_choice){base * 3 / 2, 3.0};
        ch[i][2] = (struct lq_opt_choice){base * 2, 1.0};
        items[i] = (struct lq_opt_item){3, ch[i]};
    }
    struct lq_opt_problem p = {.n_items = N, .items = items, .fixed_bytes = 4096};
    p.budget = lq_opt_min_bytes(&p) + 12345677ULL;
    int pick[N];
    struct lq_opt_solution sol;
    assert_int_equal(lq_opt_solve(&p, pick, &sol, NULL), LQ_OK);
    assert_true(sol.bytes <= p.budget);
    int upgraded = 0;
    for (int i = 0; i < N; i++) {
        upgraded += pick[i] != 0;
    }
    assert_true(upgraded >= 20); /* 12.3 MB buys at least 20 half-size upgrades */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_example),
        cmocka_unit_test(test_refuses_small_budget),
        cmocka_unit_test(test_matches_enumeration),
        cmocka_unit_test(test_large_budget_stays_within),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
