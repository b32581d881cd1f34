/* bench_gemm - GFLOP/s of the forward pass's matrix product (eval/src/forward_matmul.c) on
 * random weights of one type: a TinyLlama-1.1B FFN shape (n_in 2048, n_out 5632) against
 * a batch of tokens, at the SIMD levels this CPU has; also the same product through the
 * one-row path (the type table's dot per weight row) for comparison.
 *
 * Usage: bench_gemm [TYPE=f16] [TOKENS=512] [THREADS=1] [N_IN=2048] [N_OUT=5632] */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "forward_impl.h"
#include "lq/simd.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    enum lq_type type = LQ_TYPE_F16;
    if (argc > 1 && lq_type_from_name(argv[1], &type, NULL) != LQ_OK) {
        fprintf(stderr, "bench_gemm: unknown type %s\n", argv[1]);
        return 2;
    }
    const int64_t n_tok = argc > 2 ? atoll(argv[2]) : 512;
    const int n_threads = argc > 3 ? atoi(argv[3]) : 1;
    const int64_t n_in = argc > 4 ? atoll(argv[4]) : 2048, n_out = argc > 5 ? atoll(argv[5]) : 5632;
    const struct lq_type_traits *t = lq_type_traits_get(type);
    float *wf = malloc((size_t)(n_in * n_out) * sizeof(float));
    float *x = malloc((size_t)(n_in * n_tok) * sizeof(float));
    float *y = malloc((size_t)(n_out * n_tok) * sizeof(float));
    unsigned char *wq = malloc(lq_row_size(type, n_in) * (size_t)n_out);
    srand(1);
    for (int64_t i = 0; i < n_in * n_out; i++) {
        wf[i] = (float)rand() / RAND_MAX - 0.5f;
    }
    for (int64_t i = 0; i < n_in * n_tok; i++) {
        x[i] = (float)rand() / RAND_MAX - 0.5f;
    }
    for (int64_t r = 0; r < n_out; r++) {
        (t->from_float ? t->from_float : t->from_float_ref)(wf + r * n_in,
                                                              wq + r * lq_row_size(type, n_in), n_in);
    }
    struct lqi_weight w = { .type = type, .n_in = n_in, .n_out = n_out, .data = wq };
    if (!lqi_weight_setup(&w)) {
        fprintf(stderr, "bench_gemm: type %s has no kernel\n", argv[1]);
        return 2;
    }
    struct lqi_acts a = { 0 };
    a.buf = malloc(lqi_acts_row_size(&w, n_in) * (size_t)n_tok + (size_t)n_in * 4 * (size_t)n_tok);
    a.pack = malloc((size_t)lqi_gemm_pack_floats(n_tok, n_in) * sizeof(float));
    a.scratch_stride = lqi_gemm_scratch_floats(n_tok, n_in);
    a.scratch = malloc((size_t)(a.scratch_stride * n_threads) * sizeof(float));
    const double flop = 2.0 * (double)n_in * (double)n_out * (double)n_tok;
    for (int lv = lq_simd_level_supported(); lv >= 0; lv--) {
        lq_simd_level_set(lv, NULL);
        double best = 1e30, conv = 1e30;
        for (int rep = 0; rep < 3; rep++) {
            double t0 = now();
            lqi_acts_convert(&a, &w, x, n_tok, n_threads);
            double t1 = now();
            lqi_matmul(y, &w, &a, n_threads);
            double t2 = now();
            best = t2 - t1 < best ? t2 - t1 : best;
            conv = t1 - t0 < conv ? t1 - t0 : conv;
        }
        printf("%s %-6s tokens %lld threads %d: %s %.2f ms (%.1f GFLOP/s), convert %.2f ms%s%s\n",
               t->name, lq_simd_level_name(lv), (long long)n_tok, n_threads,
               a.packed ? "gemm" : "rows", best * 1e3, flop / best / 1e9, conv * 1e3,
               a.packed ? ", kernel " : "", a.packed ? a.kernel->name : "");
    }
    return 0;
}
