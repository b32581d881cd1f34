/* test_quants_iq2.c - the 1- and 2-bit i-quants IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S and IQ1_M.
 *
 * Independent expectations: llama.cpp's bytes and floats for the 16 reference rows
 * (../shared/data/reference/quants, see its README: with the reference imatrix for every
 * type, without it for IQ2_S and IQ1_M, the types llama.cpp quantizes without one); FNV-1a
 * hashes of ggml-common.h's decode tables, computed from that file; blocks worked out by
 * hand; plain float arithmetic (dequantize, then dot in double) for the dot kernels. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/fp16.h"
#include "lq/quantize.h"
#include "lq/simd.h"
#include "lq/types.h"
#include "lqt_util.h"

#include "quants/iq2_grids.h"
#include "quants/iq2quants.h"

#define NROWS 16
#define NCOLS 4096

struct iq_case {
    enum lq_type type;
    const char *name;
    size_t row_size;    /* bytes of a 4096-column row, from the reference README */
    bool needs_imatrix; /* llama.cpp refuses to quantize without one */
};

static const struct iq_case iq_cases[] = {
    {LQ_TYPE_IQ2_XXS, "iq2_xxs", 1056, true}, {LQ_TYPE_IQ2_XS, "iq2_xs", 1184, true},
    {LQ_TYPE_IQ2_S, "iq2_s", 1312, false},    {LQ_TYPE_IQ1_S, "iq1_s", 800, true},
    {LQ_TYPE_IQ1_M, "iq1_m", 896, false},
};
#define N_CASES (sizeof iq_cases / sizeof iq_cases[0])

// ---- helpers ----------------------------------------------------------------------------

static void *load_ref(const char *name, const char *suffix, size_t want_size)
{
    char rel[128];
    snprintf(rel, sizeof rel, "reference/quants/%s%s", name, suffix);
    size_t size = 0;
    void *p = lqt_read_file(lqt_data_path(rel), &size);
    if (size != want_size) {
        fail_msg("%s: %zu bytes, expected %zu", rel, size, want_size);
    }
    return p;
}

static const struct lq_type_traits *traits(enum lq_type type)
{
    const struct lq_type_traits *t = lq_type_traits_get(type);
    assert_non_null(t);
    assert_non_null(t->quantize);
    assert_non_null(t->to_float);
    assert_non_null(t->vec_dot);
    return t;
}

/* xorshift64* and Box-Muller: reproducible inputs without libc's rand. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static double rng_uniform(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545F4914F6CDD1Dull) >> 11) * (1.0 / 9007199254740992.0);
}

static float rng_normal(void)
{
    double u1 = rng_uniform(), u2 = rng_uniform();
    if (u1 < 1e-300) {
        u1 = 1e-300;
    }
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

static long first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return (long)i;
        }
    }
    return -1;
}

static uint64_t fnv1a(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 0x100000001b3ull;
    }
    return h;
}

// ---- byte identity with llama.cpp ---------------------------------------------------------

/* The 16 reference rows through the public API at every SIMD level, through the table's
 * quantize in one call and row by row: llama.cpp's bytes, reported per row. */
static void check_reference_bytes(const struct iq_case *c, bool use_imatrix)
{
    const struct lq_type_traits *t = traits(c->type);
    float *x = load_ref("input-f32", ".bin", NROWS * NCOLS * sizeof(float));
    float *w = use_imatrix ? load_ref("imatrix-f32", ".bin", NCOLS * sizeof(float)) : NULL;
    uint8_t *want = load_ref(c->name, use_imatrix ? ".imatrix.bin" : ".bin", NROWS * c->row_size);
    uint8_t *got = malloc(NROWS * c->row_size);
    assert_int_equal(lq_row_size(c->type, NCOLS), c->row_size);
    memset(got, 0xA5, NROWS * c->row_size);
    assert_int_equal(t->quantize(x, got, NROWS, NCOLS, w), NROWS * c->row_size);
    int bad = 0;
    for (int r = 0; r < NROWS; r++) {
        long at = first_diff(got + r * c->row_size, want + r * c->row_size, c->row_size);
        if (at >= 0) {
            print_message("%s%s row %d: bytes differ from llama.cpp at %ld (block %zu)\n", c->name,
                          use_imatrix ? " imatrix" : "", r, at, (size_t)at / t->type_size);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    struct lq_quantize_params p = lq_quantize_params_default();
    p.imatrix = w;
    p.nthreads = 2;
    const enum lq_simd_level saved = lq_simd_level_get();
    for (int lvl = LQ_SIMD_SCALAR; lvl <= (int)lq_simd_level_supported(); lvl++) {
        assert_int_equal(lq_simd_level_set((enum lq_simd_level)lvl, NULL), LQ_OK);
        memset(got, 0x5A, NROWS * c->row_size);
        assert_int_equal(
            lq_quantize_rows(c->type, x, NROWS, NCOLS, got, NROWS * c->row_size, &p, NULL, NULL),
            LQ_OK);
        assert_memory_equal(got, want, NROWS * c->row_size);
    }
    assert_int_equal(lq_simd_level_set(saved, NULL), LQ_OK);
    if (!use_imatrix && t->from_float_ref) {
        memset(got, 0x33, NROWS * c->row_size);
        t->from_float_ref(x, got, (int64_t)NROWS * NCOLS);
        assert_memory_equal(got, want, NROWS * c->row_size);
    }
    free(got);
    free(want);
    free(w);
    free(x);
}

static void test_iq2_reference_bytes_imatrix(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CASES; i++) {
        check_reference_bytes(&iq_cases[i], true);
    }
}

static void test_iq2_reference_bytes_plain(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CASES; i++) {
        if (!iq_cases[i].needs_imatrix) {
            check_reference_bytes(&iq_cases[i], false);
        }
    }
}

/* ggml's dequantized floats, bit for bit, from the reference bytes, at every SIMD level. */
static void check_reference_dequant(const struct iq_case *c, const char *bin, const char *f32)
{
    (void)traits(c->type);
    uint8_t *q = load_ref(c->name, bin, NROWS * c->row_size);
    float *want = load_ref(c->name, f32, NROWS * NCOLS * sizeof(float));
    float *got = malloc(NROWS * NCOLS * sizeof(float));
    const enum lq_simd_level saved = lq_simd_level_get();
    for (int lvl = LQ_SIMD_SCALAR; lvl <= (int)lq_simd_level_supported(); lvl++) {
        assert_int_equal(lq_simd_level_set((enum lq_simd_level)lvl, NULL), LQ_OK);
        assert_int_equal(lq_dequantize_rows(c->type, q, got, NROWS * NCOLS, NULL), LQ_OK);
        for (size_t i = 0; i < (size_t)NROWS * NCOLS; i++) {
            if (lq_f32_bits(got[i]) != lq_f32_bits(want[i])) {
                fail_msg("%s%s at %s: element %zu (row %zu) dequantizes to %.9g, ggml gives %.9g",
                         c->name, bin, lq_simd_level_name((enum lq_simd_level)lvl), i, i / NCOLS,
                         got[i], want[i]);
            }
        }
    }
    assert_int_equal(lq_simd_level_set(saved, NULL), LQ_OK);
    free(got);
    free(want);
    free(q);
}

static void test_iq2_reference_dequant(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CASES; i++) {
        check_reference_dequant(&iq_cases[i], ".imatrix.bin", ".imatrix.dequant-f32.bin");
        if (!iq_cases[i].needs_imatrix) {
            check_reference_dequant(&iq_cases[i], ".bin", ".dequant-f32.bin");
        }
    }
}

// ---- grids --------------------------------------------------------------------------------

/* The decode tables built from the compact definitions equal ggml-common.h's iq2xxs_grid,
 * iq2xs_grid, iq2s_grid, iq1s_grid (uint64 per point, little-endian) and ksigns_iq2xs. */
static void test_iq2_decode_tables_match_ggml(void **state)
{
    (void)state;
    const struct lqi_iq2_decode *d = lqi_iq2_decode_tables();
    assert_int_equal(fnv1a(d->iq2xxs, 256 * 8), 0xbb4ee025b5ac6e8eull);
    assert_int_equal(fnv1a(d->iq2xs, 512 * 8), 0xc9b1ee61e79909bdull);
    assert_int_equal(fnv1a(d->iq2s, 1024 * 8), 0x123edd38a3b62b90ull);
    assert_int_equal(fnv1a(d->iq1s, 2048 * 8), 0x6703ed863501ae2eull);
    assert_int_equal(fnv1a(d->ksigns, 128), 0xf19ba8f8c3292ba5ull);
    /* by hand: point 0 of every grid is all level 0; one minus sign implies an eighth */
    for (int i = 0; i < 8; i++) {
        assert_int_equal(d->iq2xxs[0][i], 8);
        assert_int_equal(d->iq1s[0][i], -1);
    }
    assert_int_equal(d->iq2xxs[1][0], 43); /* code 2: coordinate 0 at level 2 */
    assert_int_equal(d->iq2xxs[1][1], 8);
    assert_int_equal(d->iq2xxs[2][0], 25); /* code 5: coordinates 0 and 1 at level 1 */
    assert_int_equal(d->iq2xxs[2][1], 25);
    assert_int_equal(d->ksigns[1], 0x81);
    assert_int_equal(d->ksigns[3], 0x03);
}

/* Search tables: every grid point maps to itself; every other level vector has a non-empty
 * neighbour list of valid, distinct indices sorted by distance, and no point outside it is
 * nearer than its farthest member. */
static void test_iq2_search_tables(void **state)
{
    (void)state;
    static const int sizes[LQI_GRID_COUNT] = {256, 512, 1024, 2048};
    for (int id = 0; id < LQI_GRID_COUNT; id++) {
        const struct lqi_iq2_qgrid *g = lqi_iq2_qgrid((enum lqi_iq2_grid_id)id);
        assert_non_null(g);
        assert_int_equal(g->n, sizes[id]);
        assert_ptr_equal(g, lqi_iq2_qgrid((enum lqi_iq2_grid_id)id)); /* built once */
        int on = 0;
        for (int u = 0; u < LQI_IQ2_KMAP_SIZE; u++) {
            int8_t pos[8];
            for (int k = 0; k < 8; k++) {
                pos[k] = (int8_t)(2 * ((u >> 2 * k) & 3) + 1);
            }
            if (g->map[u] >= 0) {
                assert_true(g->map[u] < g->n);
                assert_memory_equal(g->grid[g->map[u]], pos, 8);
                on++;
                continue;
            }
            const uint16_t *nb = lqi_iq2_neighbours(g, (uint16_t)u);
            assert_true(nb[0] > 0);
            int last = -1, far = 0;
            for (int j = 1; j <= nb[0]; j++) {
                assert_true(nb[j] < g->n);
                int d2 = 0;
                for (int k = 0; k < 8; k++) {
                    d2 += (g->grid[nb[j]][k] - pos[k]) * (g->grid[nb[j]][k] - pos[k]);
                }
                assert_true(d2 > last || (d2 == last && nb[j] > nb[j - 1]));
                last = far = d2;
            }
            if (u % 97 == 0) { /* a sample: the full scan is slow under the sanitizers */
                int nearer = 0;
                for (int j = 0; j < g->n; j++) {
                    int d2 = 0;
                    for (int k = 0; k < 8; k++) {
                        d2 += (g->grid[j][k] - pos[k]) * (g->grid[j][k] - pos[k]);
                    }
                    nearer += d2 <= far;
                }
                assert_int_equal(nearer, nb[0]);
            }
        }
        assert_int_equal(on, g->n);
    }
}

// ---- hand-made blocks ---------------------------------------------------------------------

/* IQ2_XXS, one block, d = 1: chunk 0 holds grid point 1 (43, 8, 8, ...) with sign pattern 1
 * (element 0 negative, and the implied eighth), scale code 3: db = (0.5 + 3) / 4 = 0.875. */
static void test_iq2_hand_iq2_xxs(void **state)
{
    (void)state;
    block_iq2_xxs b;
    memset(&b, 0, sizeof b);
    b.d = lq_fp32_to_fp16(1.0f);
    const uint32_t w[2] = {1u, 1u | 3u << 28};
    memcpy(b.qs, w, sizeof w);
    float y[QK_K];
    lqi_dequantize_row_iq2_xxs(&b, y, QK_K);
    assert_true(y[0] == -0.875f * 43);
    assert_true(y[1] == 0.875f * 8);
    assert_true(y[7] == -0.875f * 8);
    assert_true(y[8] == 0.875f * 8);  /* group 1: point 0, no signs */
    assert_true(y[32] == 0.125f * 8); /* chunk 1: scale code 0, db = 0.125 */
}

/* IQ1_M, one block: scale nibbles spell fp16 1.0 (0x3C00), block scale codes 0 (x1) and 1
 * (x3), group 1 shifted by -1/8: point 0 is all -1. */
static void test_iq2_hand_iq1_m(void **state)
{
    (void)state;
    block_iq1_m b;
    memset(&b, 0, sizeof b);
    const uint16_t h = 0x3C00;
    uint16_t sc[4] = {(uint16_t)((h & 0xf) << 12 | 1u << 3), (uint16_t)((h >> 4 & 0xf) << 12),
                      (uint16_t)((h >> 8 & 0xf) << 12), (uint16_t)(h & 0xf000)};
    memcpy(b.scales, sc, sizeof sc);
    b.qh[0] = 0x80;
    float y[QK_K];
    lqi_dequantize_row_iq1_m(&b, y, QK_K);
    assert_true(y[0] == 1.0f * (-1 + 0.125f));
    assert_true(y[8] == 1.0f * (-1 - 0.125f));
    assert_true(y[16] == 3.0f * (-1 + 0.125f));
}

// ---- dot products -------------------------------------------------------------------------

/* Quantizes x (with importance weights w) and y (Q8_K), and compares every level's dot with
 * the double-precision dot of the dequantized operands: float accumulation allows 1e-5 of
 * sum |x y|. Multi-token calls must give vec_dot's value bit for bit. */
static void check_dot(const struct iq_case *c, int64_t n, float xscale)
{
    const struct lq_type_traits *t = traits(c->type);
    float *x = malloc(n * sizeof(float)), *a = malloc(n * sizeof(float));
    float *w = malloc(n * sizeof(float));
    float *dx = malloc(n * sizeof(float)), *da = malloc(n * sizeof(float));
    uint8_t *qx = malloc(lq_row_size(c->type, n));
    uint8_t *qa = malloc(3 * lq_row_size(LQ_TYPE_Q8_K, n));
    for (int64_t i = 0; i < n; i++) {
        x[i] = xscale * rng_normal() * (rng_uniform() < 0.02 ? 6.f : 1.f);
        a[i] = rng_normal();
        w[i] = (float)rng_uniform() + 0.1f;
    }
    assert_int_equal(t->quantize(x, qx, 1, n, w), lq_row_size(c->type, n));
    const size_t asz = lq_row_size(LQ_TYPE_Q8_K, n);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(lq_quantize_activation(LQ_TYPE_Q8_K, a, qa + k * asz, n, NULL), LQ_OK);
    }
    assert_int_equal(lq_dequantize_rows(c->type, qx, dx, n, NULL), LQ_OK);
    assert_int_equal(lq_dequantize_rows(LQ_TYPE_Q8_K, qa, da, n, NULL), LQ_OK);
    double want = 0, mag = 0;
    for (int64_t i = 0; i < n; i++) {
        want += (double)dx[i] * da[i];
        mag += fabs((double)dx[i] * da[i]);
    }
    const enum lq_simd_level saved = lq_simd_level_get();
    float scalar = 0;
    for (int lvl = LQ_SIMD_SCALAR; lvl <= (int)lq_simd_level_supported(); lvl++) {
        assert_int_equal(lq_simd_level_set((enum lq_simd_level)lvl, NULL), LQ_OK);
        float got = -1, multi[3];
        t->vec_dot(n, &got, qx, qa);
        if (lvl == LQ_SIMD_SCALAR) {
            scalar = got;
        }
        assert_memory_equal(&got, &scalar, sizeof got); /* same integers, same float order */
        if (!(fabs(got - want) <= 1e-5 * mag + 1e-30)) {
            fail_msg("%s at %s, n=%lld: dot %.9g, float reference %.9g (scale %.3g)", c->name,
                     lq_simd_level_name((enum lq_simd_level)lvl), (long long)n, got, want, mag);
        }
        t->vec_dot_multi(n, multi, qx, qa, asz, 3);
        for (int k = 0; k < 3; k++) {
            assert_memory_equal(&multi[k], &got, sizeof got);
        }
    }
    assert_int_equal(lq_simd_level_set(saved, NULL), LQ_OK);
    free(qa);
    free(qx);
    free(da);
    free(dx);
    free(w);
    free(a);
    free(x);
}

/* Any int8 activations, -128 included (Q8_K's quantizer stops at -127, a file need not):
 * every SIMD level's dot and multi-token dot equal the scalar kernel's bit for bit, for
 * weight blocks of random bytes with a finite scale. */
static void test_iq2_vec_dot_any_bytes(void **state)
{
    (void)state;
    enum { NB = 3 };
    block_q8_K a[2 * NB];
    _Alignas(16) uint8_t x[NB * sizeof(block_iq2_s)];
    const enum lq_simd_level saved = lq_simd_level_get();
    for (size_t c = 0; c < N_CASES; c++) {
        const struct lq_type_traits *t = traits(iq_cases[c].type);
        for (int trial = 0; trial < 20; trial++) {
            for (size_t i = 0; i < sizeof x; i++) {
                x[i] = (uint8_t)(rng_uniform() * 256);
            }
            for (int b = 0; b < NB; b++) { /* a finite fp16 d (IQ1_M: its top nibbles) */
                uint8_t *blk = x + b * t->type_size;
                if (iq_cases[c].type == LQ_TYPE_IQ1_M) {
                    blk[offsetof(block_iq1_m, scales) + 7] &= 0x3F;
                } else {
                    blk[1] &= 0x3F;
                }
            }
            for (int b = 0; b < 2 * NB; b++) {
                a[b].d = (float)rng_uniform();
                for (int j = 0; j < QK_K; j++) {
                    a[b].qs[j] = (int8_t)(trial % 2 ? -128 : (int)(rng_uniform() * 256) - 128);
                }
                for (int j = 0; j < QK_K / 16; j++) {
                    int sum = 0;
                    for (int k = 0; k < 16; k++) {
                        sum += a[b].qs[16 * j + k];
                    }
                    a[b].bsums[j] = (int16_t)sum;
                }
            }
            float want[2];
            assert_int_equal(lq_simd_level_set(LQ_SIMD_SCALAR, NULL), LQ_OK);
            t->vec_dot(NB * QK_K, &want[0], x, a);
            t->vec_dot(NB * QK_K, &want[1], x, a + NB);
            for (int lvl = LQ_SIMD_SCALAR; lvl <= (int)lq_simd_level_supported(); lvl++) {
                assert_int_equal(lq_simd_level_set((enum lq_simd_level)lvl, NULL), LQ_OK);
                float got[2];
                t->vec_dot(NB * QK_K, &got[0], x, a);
                assert_memory_equal(&got[0], &want[0], sizeof(float));
                t->vec_dot_multi(NB * QK_K, got, x, a, NB * sizeof(block_q8_K), 2);
                assert_memory_equal(got, want, sizeof want);
            }
        }
    }
    assert_int_equal(lq_simd_level_set(saved, NULL), LQ_OK);
}

static void test_iq2_vec_dot_agrees(void **state)
{
    (void)state;
    for (size_t c = 0; c < N_CASES; c++) {
        check_dot(&iq_cases[c], QK_K, 0.02f);
        check_dot(&iq_cases[c], 3 * QK_K, 1.0f);
        check_dot(&iq_cases[c], 16 * QK_K, 0.05f);
    }
}

// ---- importance weights, validation, hostile input ---------------------------------------

/* IQ2_XXS, IQ2_XS and IQ1_S need importance weights: the kernel writes nothing and says 0
 * bytes, the public API refuses with an error naming the type. */
static void test_iq2_needs_imatrix(void **state)
{
    (void)state;
    float x[QK_K];
    for (int i = 0; i < QK_K; i++) {
        x[i] = rng_normal();
    }
    uint8_t q[sizeof(block_iq2_s)];
    for (size_t c = 0; c < N_CASES; c++) {
        const struct lq_type_traits *t = traits(iq_cases[c].type);
        memset(q, 0x77, sizeof q);
        size_t got = t->quantize(x, q, 1, QK_K, NULL);
        assert_int_equal(got, iq_cases[c].needs_imatrix ? 0 : t->type_size);
        assert_int_equal(t->needs_imatrix, iq_cases[c].needs_imatrix);
        struct lq_error err = {0};
        lq_status st =
            lq_quantize_rows(iq_cases[c].type, x, 1, QK_K, q, sizeof q, NULL, NULL, &err);
        if (iq_cases[c].needs_imatrix) {
            assert_int_equal(q[0], 0x77);
            assert_int_equal(st, LQ_E_INVALID_ARG);
            assert_non_null(strstr(err.msg, iq_cases[c].name));
            assert_non_null(strstr(err.msg, "importance"));
        } else {
            assert_int_equal(st, LQ_OK);
        }
    }
}

/* A NaN or infinite super-block scale is refused, as is a size that is not whole blocks;
 * the reference bytes pass. IQ1_M's scale is spread over four nibbles. */
static void test_iq2_validate(void **state)
{
    (void)state;
    for (size_t c = 0; c < N_CASES; c++) {
        const struct lq_type_traits *t = traits(iq_cases[c].type);
        const size_t nbytes = NROWS * iq_cases[c].row_size;
        uint8_t *q = load_ref(iq_cases[c].name, ".imatrix.bin", nbytes);
        assert_true(t->validate(q, nbytes));
        assert_false(t->validate(q, nbytes - 1));
        uint8_t *blk = q + 5 * t->type_size;
        uint8_t save[sizeof(block_iq2_s)]; /* the largest of the five */
        memcpy(save, blk, t->type_size);
        if (iq_cases[c].type == LQ_TYPE_IQ1_M) {
            for (int j = 0; j < 4; j++) {
                blk[offsetof(block_iq1_m, scales) + 2 * j + 1] |= 0xF0; /* d = 0xFFFF: NaN */
            }
        } else {
            blk[0] = 0x00;
            blk[1] = 0x7C; /* d = +Inf */
        }
        assert_false(t->validate(q, nbytes));
        memcpy(blk, save, t->type_size);
        assert_true(t->validate(q, nbytes));
        free(q);
    }
}

/* Rows llama.cpp would never be asked to quantize (NaN, infinities, values past fp16,
 * denormals; zero and negative importance weights) must not trip undefined behaviour or
 * out-of-range reads: under the sanitizer build this is checked, the bytes are not. */
static void test_iq2_hostile_input_is_safe(void **state)
{
    (void)state;
    const int64_t n = 4 * QK_K;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    float *w = malloc(n * sizeof(float));
    static const float specials[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 1e-40f, -0.0f};
    for (int64_t i = 0; i < n; i++) {
        x[i] = i < QK_K ? specials[i % 7] : rng_normal() * (i < 2 * QK_K ? 1e30f : 1e-40f);
        w[i] = (float)(i % 3) - 1.f; /* -1, 0, 1 */
    }
    uint8_t *q = malloc(lq_row_size(LQ_TYPE_IQ2_S, n));
    for (size_t c = 0; c < N_CASES; c++) {
        const struct lq_type_traits *t = traits(iq_cases[c].type);
        for (int im = 0; im < 2; im++) {
            if (t->quantize(x, q, 1, n, im ? w : NULL) == 0) {
                continue;
            }
            (void)t->validate(q, lq_row_size(iq_cases[c].type, n));
            t->to_float(q, y, n);
        }
    }
    free(q);
    free(w);
    free(y);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iq2_decode_tables_match_ggml),
        cmocka_unit_test(test_iq2_search_tables),
        cmocka_unit_test(test_iq2_reference_bytes_imatrix),
        cmocka_unit_test(test_iq2_reference_bytes_plain),
        cmocka_unit_test(test_iq2_reference_dequant),
        cmocka_unit_test(test_iq2_hand_iq2_xxs),
        cmocka_unit_test(test_iq2_hand_iq1_m),
        cmocka_unit_test(test_iq2_vec_dot_agrees),
        cmocka_unit_test(test_iq2_vec_dot_any_bytes),
        cmocka_unit_test(test_iq2_needs_imatrix),
        cmocka_unit_test(test_iq2_validate),
        cmocka_unit_test(test_iq2_hostile_input_is_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
