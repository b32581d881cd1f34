/* test_quants_iq3.c - the IQ3 grids and block formats (IQ3_XXS, IQ3_S).
 *
 * Independent expectations: entries of llama.cpp's tables copied from ggml-common.h
 * (iq3xxs_grid, iq3s_grid, ksigns_iq2xs), the neighbour-list sizes its iq3xs_init_impl
 * builds (counted separately, in Python, from the same definition), a brute-force search
 * for the nearest grid points, and blocks decoded by hand. Byte identity of whole rows with
 * llama.cpp is test_quants.c's job. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lq/fp16.h"
#include "lq/quantize.h"
#include "lq/types.h"
#include "lqt_util.h"

#include "quants/iq3.h"

struct grid_case {
    int n_points;
    int nwant;        /* distinct distances each off-grid key keeps (llama.cpp: 2 and 3) */
    int n_neighbours; /* llama.cpp's num_neighbors + num_not_in_map */
    uint32_t v0, v1, v5, v100, vlast; /* values[0, 1, 5, 100, n-1] from ggml-common.h */
};

static const struct grid_case grid_cases[] = {
    {256, 2, 22825, 0x04040404, 0x04040414, 0x04040c3e, 0x14040c1c, 0x3e341c04},
    {512, 3, 28317, 0x01010101, 0x01010103, 0x01010301, 0x010f0101, 0x0f0f0101},
};

static int key_of(const int8_t pos[4])
{
    int key = 0;
    for (int k = 0; k < 4; ++k) {
        key |= ((pos[k] - 1) / 2) << 3 * k;
    }
    return key;
}

static int dist2(const struct lqi_iq3_grid *g, int point, int key)
{
    const int8_t *p = (const int8_t *)&g->points[point];
    int d2 = 0;
    for (int k = 0; k < 4; ++k) {
        const int c = 2 * ((key >> 3 * k) & 7) + 1;
        d2 += (p[k] - c) * (p[k] - c);
    }
    return d2;
}

// ---- grids ------------------------------------------------------------------------------

/* First use from several threads at once: every thread sees the same, complete grid. */
static void *grid_from_thread(void *arg)
{
    return (void *)lqi_iq3_grid(*(const int *)arg);
}

static void test_grid_first_use_threaded(void **state)
{
    (void)state;
    static const int sizes[4] = {512, 256, 512, 256};
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, grid_from_thread, (void *)&sizes[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *got;
        assert_int_equal(pthread_join(th[i], &got), 0);
        assert_ptr_equal(got, lqi_iq3_grid(sizes[i]));
        assert_int_equal(((const struct lqi_iq3_grid *)got)->n_points, sizes[i]);
    }
}

static void test_grid_values_match_ggml_tables(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof grid_cases / sizeof grid_cases[0]; c++) {
        const struct grid_case *gc = &grid_cases[c];
        const struct lqi_iq3_grid *g = lqi_iq3_grid(gc->n_points);
        assert_int_equal(g->n_points, gc->n_points);
        assert_int_equal(g->values[0], gc->v0);
        assert_int_equal(g->values[1], gc->v1);
        assert_int_equal(g->values[5], gc->v5);
        assert_int_equal(g->values[100], gc->v100);
        assert_int_equal(g->values[gc->n_points - 1], gc->vlast);
        assert_int_equal(g->n_neighbours, gc->n_neighbours);
    }
}

/* Every point is found through the map; every other key lists exactly the points at its
 * nwant smallest distinct distances, by distance then index (checked by brute force). */
static void test_grid_map_and_neighbours(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof grid_cases / sizeof grid_cases[0]; c++) {
        const struct grid_case *gc = &grid_cases[c];
        const struct lqi_iq3_grid *g = lqi_iq3_grid(gc->n_points);
        int on_grid = 0;
        for (int i = 0; i < g->n_points; i++) {
            assert_int_equal(g->map[key_of((const int8_t *)&g->points[i])], i);
        }
        for (int key = 0; key < 4096; key++) {
            if (g->map[key] >= 0) {
                on_grid++;
                continue;
            }
            const uint16_t *nb = g->neighbours - g->map[key] - 1;
            assert_true(nb >= g->neighbours && nb + nb[0] < g->neighbours + g->n_neighbours);
            assert_true(nb[0] >= 1 && nb[0] <= LQI_IQ3_MAX_NEIGHBOURS);
            int distinct = 0, prev_d2 = -1, prev_j = -1;
            for (int j = 1; j <= nb[0]; j++) {
                const int d2 = dist2(g, nb[j], key);
                assert_true(d2 > prev_d2 || (d2 == prev_d2 && nb[j] > prev_j));
                distinct += d2 != prev_d2;
                prev_d2 = d2;
                prev_j = nb[j];
            }
            /* complete: anything unlisted is farther, unless fewer distances exist */
            assert_true(distinct <= gc->nwant);
            for (int p = 0; p < g->n_points; p++) {
                const int d2 = dist2(g, p, key);
                bool listed = false;
                for (int j = 1; j <= nb[0]; j++) {
                    listed |= nb[j] == p;
                }
                assert_true(listed == (d2 <= prev_d2));
            }
            assert_int_equal(distinct, gc->nwant);
        }
        assert_int_equal(on_grid, gc->n_points);
    }
}

static void test_sign_code_matches_ksigns(void **state)
{
    (void)state;
    static const uint8_t ksigns_head[8] = {0, 129, 130, 3, 132, 5, 6, 135};
    for (unsigned i = 0; i < 8; i++) {
        assert_int_equal(lqi_iq3_signs7(i), ksigns_head[i]);
    }
    assert_int_equal(lqi_iq3_signs7(100), 228);
    assert_int_equal(lqi_iq3_signs7(127), 255);
}

// ---- blocks by hand ---------------------------------------------------------------------

/* IQ3_XXS, d = 1, sub-block scale 0 (db = 0.25), grid points 1 and 5, sign code 1: values
 * (20 4 4 4) * 0.25 with the first negated, and (62 12 4 4) * 0.25 with the parity bit
 * (value 7) negated. */
static void test_iq3_xxs_decode_by_hand(void **state)
{
    (void)state;
    block_iq3_xxs b;
    memset(&b, 0, sizeof b);
    b.d = lq_fp32_to_fp16(1.0f);
    b.qs[0] = 1;
    b.qs[1] = 5;
    b.qs[QK_K / 4] = 1; /* sign code of values 0..7 */
    float y[QK_K];
    assert_int_equal(lq_dequantize_rows(LQ_TYPE_IQ3_XXS, &b, y, QK_K, NULL), LQ_OK);
    const float want[8] = {-5, 1, 1, 1, 15.5f, 3, 1, -1};
    for (int i = 0; i < 8; i++) {
        assert_true(y[i] == want[i]);
    }
    assert_true(y[8] == 1.0f); /* index 0: (4 4 4 4) * 0.25 */
}

/* IQ3_S, d = 1, scale nibble 1 (db = 3), group 0 at index 1 + 256 (qh bit), signs 0x01. */
static void test_iq3_s_decode_by_hand(void **state)
{
    (void)state;
    const struct lqi_iq3_grid *g = lqi_iq3_grid(512);
    block_iq3_s b;
    memset(&b, 0, sizeof b);
    b.d = lq_fp32_to_fp16(1.0f);
    b.qs[0] = 1;
    b.qh[0] = 1;
    b.signs[0] = 1;
    b.scales[0] = 1;
    float y[QK_K];
    assert_int_equal(lq_dequantize_rows(LQ_TYPE_IQ3_S, &b, y, QK_K, NULL), LQ_OK);
    const uint8_t *v = (const uint8_t *)&g->values[257];
    assert_true(y[0] == -3.0f * v[0]);
    for (int i = 1; i < 4; i++) {
        assert_true(y[i] == 3.0f * v[i]);
    }
    assert_true(y[4] == 3.0f);  /* index 0 is (1 1 1 1) */
    assert_true(y[32] == 1.0f); /* sub-block 1: scale nibble 0, db = 1 */
}

/* llama.cpp moves its qs and signs cursors only past sub-blocks that are not all zero: a
 * block whose only non-zero values are in sub-block 1 stores that sub-block's indices and
 * signs where sub-block 0's belong, its ninth index bits and scale in their own places. */
static void test_iq3_s_zero_subblock_cursor(void **state)
{
    (void)state;
    float x[QK_K] = {0};
    for (int i = 0; i < 32; i++) {
        x[32 + i] = (i % 3 == 0 ? -1.0f : 1.0f) * (0.1f + 0.05f * (float)(i % 7));
    }
    block_iq3_s b;
    assert_int_equal(lq_quantize_rows(LQ_TYPE_IQ3_S, x, 1, QK_K, &b, sizeof b, NULL, NULL, NULL),
                     LQ_OK);
    int nonzero_first = 0;
    for (int i = 0; i < 8; i++) {
        nonzero_first += b.qs[i] != 0;
    }
    assert_true(nonzero_first > 0);
    for (int i = 8; i < QK_K / 4; i++) {
        assert_int_equal(b.qs[i], 0);
    }
    assert_int_equal(b.signs[0], 0x49); /* values 32, 35, 38 of the first 8 are negative */
    for (int i = 4; i < QK_K / 8; i++) {
        assert_int_equal(b.signs[i], 0);
    }
    assert_int_equal(b.scales[0] & 0x0F, 0);
    assert_true((b.scales[0] >> 4) > 0);
}

/* Validation refuses NaN/Inf super-block scales and partial blocks. */
static void test_iq3_validate(void **state)
{
    (void)state;
    block_iq3_xxs a[2];
    block_iq3_s b[2];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    assert_true(lq_validate_row_data(LQ_TYPE_IQ3_XXS, a, sizeof a));
    assert_true(lq_validate_row_data(LQ_TYPE_IQ3_S, b, sizeof b));
    a[1].d = 0x7C00; /* +Inf */
    b[1].d = 0x7E00; /* NaN */
    assert_false(lq_validate_row_data(LQ_TYPE_IQ3_XXS, a, sizeof a));
    assert_false(lq_validate_row_data(LQ_TYPE_IQ3_S, b, sizeof b));
    assert_false(lq_validate_row_data(LQ_TYPE_IQ3_XXS, a, sizeof a[0] + 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_first_use_threaded),
        cmocka_unit_test(test_grid_values_match_ggml_tables),
        cmocka_unit_test(test_grid_map_and_neighbours),
        cmocka_unit_test(test_sign_code_matches_ksigns),
        cmocka_unit_test(test_iq3_xxs_decode_by_hand),
        cmocka_unit_test(test_iq3_s_decode_by_hand),
        cmocka_unit_test(test_iq3_s_zero_subblock_cursor),
        cmocka_unit_test(test_iq3_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
