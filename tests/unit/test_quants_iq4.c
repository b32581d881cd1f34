/* test_quants_iq4.c - the nearest-level search of IQ4_NL / IQ4_XS (quants/iq4.h), which is
 * branch-free, against ggml's best_index_int8 bisection written out here: every midpoint (a
 * tie goes to the upper level), the floats next to each, random values, +-Inf and NaN. Byte
 * identity of whole rows with llama.cpp is test_quants.c's job. */
#include <math.h>

#include "lqt_util.h"

#include "quants/iq4.h"

/* ggml's best_index_int8 (ggml-quants.c), the bisection as llama.cpp runs it. */
static int bisect(const int8_t *val, float x)
{
    if (x <= val[0]) {
        return 0;
    }
    if (x >= val[15]) {
        return 15;
    }
    int ml = 0, mu = 15;
    while (mu - ml > 1) {
        int mav = (ml + mu) / 2;
        if (x < val[mav]) {
            mu = mav;
        } else {
            ml = mav;
        }
    }
    return x - val[mu - 1] < val[mu] - x ? mu - 1 : mu;
}

static void check(const float lv[16], float v)
{
    const int got = lqi_iq4_nearest_in(lv, v), want = bisect(lqi_iq4_levels, v);
    if (got != want) {
        fail_msg("nearest level of %.9g: %d, the bisection gives %d", (double)v, got, want);
    }
}

static void test_nearest_matches_bisection(void **state)
{
    (void)state;
    float lv[16];
    lqi_iq4_levels_float(lv);
    /* by hand: -4.5 is halfway between -10 and 1 (indices 7 and 8): the upper one */
    assert_int_equal(lqi_iq4_nearest_in(lv, -4.5f), 8);
    assert_int_equal(lqi_iq4_nearest_in(lv, nextafterf(-4.5f, -INFINITY)), 7);
    assert_int_equal(lqi_iq4_nearest_in(lv, -1000.0f), 0);
    assert_int_equal(lqi_iq4_nearest_in(lv, 1000.0f), 15);
    assert_int_equal(lqi_iq4_nearest_in(lv, NAN), 15); /* as the bisection: no bracket */
    for (int k = 0; k < 16; k++) {
        const float mids[] = { lv[k], k < 15 ? (lv[k] + lv[k + 1]) / 2 : lv[k] };
        for (int m = 0; m < 2; m++) {
            check(lv, mids[m]);
            check(lv, nextafterf(mids[m], -INFINITY));
            check(lv, nextafterf(mids[m], INFINITY));
        }
    }
    const float special[] = { INFINITY, -INFINITY, NAN, 0.0f, -0.0f, 127.0f, -128.0f };
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
        check(lv, special[i]);
    }
    uint64_t s = 0x2545F4914F6CDD1Dull;
    for (int i = 0; i < 200000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        check(lv, (float)((double)(s >> 11) / 9007199254740992.0 * 300.0 - 150.0));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nearest_matches_bisection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
