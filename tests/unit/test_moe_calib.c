/* test_moe_calib.c - calibration of the mixture-of-experts models (tiny-mixtral,
 * tiny-qwen3moe) through `quant` as a user runs it:
 *
 *  - imatrix: llama-imatrix's file for the same model and text
 *    (reference/llama.cpp/tiny-<family>/imatrix.gguf, calib-A.txt at ctx 256, llama.cpp's
 *    batching): the same entries and shapes (router ffn_gate_inp as a dense weight; each
 *    ffn_{gate,up,down}_exps with one row of sums and one count per expert), every count
 *    equal (the per-expert counts are the tokens the router sent to each expert: our routing
 *    must be llama.cpp's token for token), every sum within SUM_REL_TOL of llama.cpp's. The
 *    sums are not bit-equal because the activations are not: ggml rounds them to F16 for its
 *    F16 matrix products in its own summation order, and the differences grow with depth
 *    (measured: at most 1.1e-4 relative, Mixtral blk.2.ffn_down_exps; 6.3e-5 Qwen3-MoE;
 *    1e-6 on average). 5e-4 leaves 4x room and still catches a wrong routing of even one
 *    token (a count) or a row summed into the wrong expert (far larger changes).
 *  - IQ4_XS from our imatrix against IQ4_XS from llama-imatrix's: IQ4_XS picks each block's
 *    scale by a search over candidates, so sums differing by 1e-6 flip a few near-ties:
 *    measured 278 (Mixtral) and 317 (Qwen3-MoE) differing bytes of about 5.6 MB; the files
 *    must have the same layout and differ in fewer than 1 byte in 10^4. (With llama.cpp's own
 *    imatrix our IQ4_XS is byte-identical to llama-quantize's, experts included, each expert
 *    quantized with its own slice: test_family_convert.)
 *
 * The reference covers all 126 chunks of calib-A.txt: about 30 s of CPU per model in an
 * optimised build. Sanitizer and unoptimised builds run the same command on 8 chunks (one
 * llama.cpp batch) and check the structure and the count identities only: every expert
 * count adds up to tokens x n_expert_used, every dense count to the tokens. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/gguf.h"
#include "lq/imatrix.h"
#include "lqt_run.h"
#include "lqt_util.h"

#if defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__)
#define FULL_REFERENCE 1
#else
#define FULL_REFERENCE 0
#endif

#define SUM_REL_TOL 5e-4
#define IQ4_XS_MAX_DIFF 1e-4

struct moe_case {
    const char *folder;
    int64_t n_expert_used;
};

static const struct moe_case cases[] = {
    { "tiny-mixtral", 2 },
    { "tiny-qwen3moe", 2 },
};

static char *g_tmp;

static int setup(void **state)
{
    (void)state;
    g_tmp = lqt_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lqt_rmtree(g_tmp);
    free(g_tmp);
    return 0;
}

static void run_ok(const char *const *args)
{
    const struct lqt_run_opts o = { .max_seconds = 1200 };
    struct lqt_run r = lqt_run_quant(args, &o);
    lqt_expect_exit(&r, args, 0, NULL);
    lqt_run_free(&r);
}

static void convert(const struct moe_case *mc, char *f16, size_t cap)
{
    char rel[128];
    snprintf(rel, sizeof rel, "models/%s", mc->folder);
    snprintf(f16, cap, "%s/%s-f16.gguf", g_tmp, mc->folder);
    run_ok((const char *const[]){ "convert", "-q", lqt_data_path(rel), "-o", f16, NULL });
}

static lq_imatrix *load(const char *path)
{
    lq_imatrix *im = NULL;
    struct lq_error err = { 0 };
    if (lq_imatrix_load(path, &im, &err) != LQ_OK) {
        fail_msg("%s: %s", path, err.msg);
    }
    return im;
}

static bool is_expert_stack(const char *name)
{
    return strstr(name, "_exps.weight") != NULL;
}

/* Every expert stack's counts add up to tokens x n_expert_used; every dense entry counts the
 * tokens (all of them: 8 chunks make one batch of 2048 rows, 126 lose 6 rows of the last
 * batch's final micro-batch, which llama-imatrix skips as under 16 rows). */
static void check_count_identities(const lq_imatrix *im, const struct moe_case *mc,
                                   int64_t tokens, int64_t dense_rows)
{
    for (int64_t i = 0; i < lq_imatrix_n_entries(im); i++) {
        const struct lq_imatrix_entry *e = lq_imatrix_entry(im, i);
        double sum = 0.0;
        for (int64_t k = 0; k < e->n_mat; k++) {
            sum += e->counts[k];
        }
        if (is_expert_stack(e->name)) {
            assert_int_equal(e->n_mat, 4);
            assert_int_equal((int64_t)sum, tokens * mc->n_expert_used);
        } else {
            assert_int_equal(e->n_mat, 1);
            assert_int_equal((int64_t)sum, dense_rows);
        }
    }
}

/* The same entries as llama-imatrix's, shapes equal; with the full text also the counts
 * (exactly) and the sums (SUM_REL_TOL). Returns the largest relative difference seen. */
static double compare_with_reference(const lq_imatrix *ours, const lq_imatrix *theirs, bool full)
{
    double worst = 0.0;
    assert_int_equal(lq_imatrix_n_entries(ours), lq_imatrix_n_entries(theirs));
    for (int64_t i = 0; i < lq_imatrix_n_entries(theirs); i++) {
        const struct lq_imatrix_entry *t = lq_imatrix_entry(theirs, i);
        const struct lq_imatrix_entry *o = lq_imatrix_find(ours, t->name);
        if (!o) {
            fail_msg("imatrix: llama-imatrix has '%s', ours not", t->name);
        }
        assert_int_equal(o->n_per_row, t->n_per_row);
        assert_int_equal(o->n_mat, t->n_mat);
        for (int64_t k = 0; full && k < o->n_mat; k++) {
            if (o->counts[k] != t->counts[k]) {
                fail_msg("%s: expert %lld counted %.0f rows, llama-imatrix %.0f", t->name,
                         (long long)k, (double)o->counts[k], (double)t->counts[k]);
            }
        }
        for (int64_t k = 0; k < o->n_per_row * o->n_mat; k++) {
            assert_true(isfinite(o->sum2[k]) && o->sum2[k] >= 0.0f);
            if (!full) {
                continue;
            }
            const double d = fabs((double)o->sum2[k] - (double)t->sum2[k]) /
                             fmax(fabs((double)t->sum2[k]), 1e-30);
            worst = d > worst ? d : worst;
            if (d > SUM_REL_TOL) {
                fail_msg("%s[%lld]: %.9g, llama-imatrix %.9g (relative %.3g > %.3g)", t->name,
                         (long long)k, (double)o->sum2[k], (double)t->sum2[k], d, SUM_REL_TOL);
            }
        }
    }
    return worst;
}

static size_t data_offset(const char *path)
{
    lq_gguf *g = NULL;
    struct lq_error err = { 0 };
    assert_int_equal(lq_gguf_open(path, &g, &err), LQ_OK);
    const size_t off = (size_t)lq_gguf_data_offset(g);
    lq_gguf_free(g);
    return off;
}

/* Tensor data bytes of two GGUF files with the same tensors that differ (the metadata differs
 * in the imatrix's path). */
static int64_t differing_data_bytes(const char *a, const char *b, int64_t *total)
{
    size_t na, nb;
    unsigned char *x = lqt_read_file(a, &na), *y = lqt_read_file(b, &nb);
    const size_t oa = data_offset(a), ob = data_offset(b);
    assert_int_equal(na - oa, nb - ob);
    int64_t d = 0;
    for (size_t i = 0; i < na - oa; i++) {
        d += x[oa + i] != y[ob + i];
    }
    *total = (int64_t)(na - oa);
    free(x);
    free(y);
    return d;
}

/* IQ4_XS with our imatrix against IQ4_XS with llama-imatrix's. */
static void check_iq4_xs(const char *f16, const char *ours, const char *theirs,
                         const struct moe_case *mc)
{
    char out_ours[700], out_theirs[700];
    snprintf(out_ours, sizeof out_ours, "%s/%s-ours-iq4_xs.gguf", g_tmp, mc->folder);
    snprintf(out_theirs, sizeof out_theirs, "%s/%s-theirs-iq4_xs.gguf", g_tmp, mc->folder);
    run_ok((const char *const[]){ "quantize", "-q", "-t", "2", "--imatrix", ours, f16, out_ours,
                                  "iq4_xs", NULL });
    run_ok((const char *const[]){ "quantize", "-q", "-t", "2", "--imatrix", theirs, f16,
                                  out_theirs, "iq4_xs", NULL });
    int64_t total = 0;
    const int64_t d = differing_data_bytes(out_ours, out_theirs, &total);
    printf("  %s IQ4_XS: %lld of %lld data bytes differ from llama-imatrix's matrix's file\n",
           mc->folder, (long long)d, (long long)total);
    assert_true((double)d < IQ4_XS_MAX_DIFF * (double)total);
    remove(out_ours);
    remove(out_theirs);
}

static void test_imatrix(void **state)
{
    const struct moe_case *mc = *state;
    char f16[700], ours[760], rel[128];
    convert(mc, f16, sizeof f16);
    snprintf(ours, sizeof ours, "%s/%s-imatrix.gguf", g_tmp, mc->folder);
    const int64_t n_chunks = FULL_REFERENCE ? 126 : 8;
    char chunks[16];
    snprintf(chunks, sizeof chunks, "%lld", (long long)n_chunks);
    run_ok((const char *const[]){ "imatrix", "-q", "-t", "2", "--ctx", "256", "--chunks",
                                  chunks, "--calib", lqt_data_path("text/calib-A.txt"), f16,
                                  "-o", ours, NULL });
    snprintf(rel, sizeof rel, "reference/llama.cpp/%s/imatrix.gguf", mc->folder);
    lq_imatrix *o = load(ours), *t = load(lqt_data_path(rel));
    const int64_t tokens = n_chunks * 256;
    check_count_identities(o, mc, tokens, FULL_REFERENCE ? tokens - 6 : tokens);
    check_count_identities(t, mc, 126 * 256, 126 * 256 - 6);
    const double worst = compare_with_reference(o, t, FULL_REFERENCE);
    if (FULL_REFERENCE) {
        assert_int_equal(lq_imatrix_chunk_count(o), lq_imatrix_chunk_count(t));
        printf("  %s: counts equal, sums within %.3g relative of llama-imatrix's\n",
               mc->folder, worst);
        check_iq4_xs(f16, ours, lqt_data_path(rel), mc);
    }
    lq_imatrix_free(o);
    lq_imatrix_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_imatrix, (void *)&cases[0]),
        cmocka_unit_test_prestate(test_imatrix, (void *)&cases[1]),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
