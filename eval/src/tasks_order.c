/* tasks_order.c - the order llama-perplexity --hellaswag picks tasks in: std::mt19937 seeded
 * with 1, each pick std::uniform_int_distribution<size_t>(0, remaining - 1) as libstdc++
 * implements it for a 32-bit engine (Lemire's multiply-and-reject), the pick then erased. */
#include <string.h>

#include "lqi.h"
#include "tasks_impl.h"

struct mt19937 {
    uint32_t x[624];
    int i;
};

static void mt_seed(struct mt19937 *g, uint32_t seed)
{
    g->x[0] = seed;
    for (int i = 1; i < 624; i++) {
        g->x[i] = 1812433253u * (g->x[i - 1] ^ (g->x[i - 1] >> 30)) + (uint32_t)i;
    }
    g->i = 624;
}

static uint32_t mt_next(struct mt19937 *g)
{
    if (g->i >= 624) {
        for (int k = 0; k < 624; k++) {
            const uint32_t y = (g->x[k] & 0x80000000u) | (g->x[(k + 1) % 624] & 0x7fffffffu);
            g->x[k] = g->x[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        }
        g->i = 0;
    }
    uint32_t y = g->x[g->i++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    return y ^ (y >> 18);
}

/* A uniform value in [0, range) (range <= 2^32) as libstdc++'s _S_nd. */
static uint64_t uniform_below(struct mt19937 *g, uint64_t range)
{
    uint64_t prod = (uint64_t)mt_next(g) * range;
    uint32_t low = (uint32_t)prod;
    if (low < range) {
        const uint32_t threshold = (uint32_t)(-(uint32_t)range % (uint32_t)range);
        while (low < threshold) {
            prod = (uint64_t)mt_next(g) * range;
            low = (uint32_t)prod;
        }
    }
    return prod >> 32;
}

lq_status lq_tasks_llama_order(int64_t n_task, int64_t n_pick, int64_t *order, struct lq_error *err)
{
    LQ_FAIL_IF(n_task < 1 || n_task > UINT32_MAX || n_pick < 0 || n_pick > n_task || !order, err,
               LQ_E_INVALID_ARG, "tasks: cannot pick %lld of %lld tasks", (long long)n_pick,
               (long long)n_task);
    int64_t *left = lqi_malloc((size_t)n_task * sizeof *left);
    LQ_FAIL_IF(!left, err, LQ_E_NOMEM, "tasks: out of memory");
    for (int64_t i = 0; i < n_task; i++) {
        left[i] = i;
    }
    struct mt19937 g;
    mt_seed(&g, 1);
    for (int64_t k = 0, n = n_task; k < n_pick; k++, n--) {
        const uint64_t j = uniform_below(&g, (uint64_t)n);
        order[k] = left[j];
        memmove(left + j, left + j + 1, (size_t)(n - 1 - (int64_t)j) * sizeof *left);
    }
    lqi_free(left);
    return LQ_OK;
}
