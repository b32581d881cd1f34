/* bench_gptq.c - wall time of the Hessian and of GPTQ on one random layer.
 * usage: bench_gptq NROWS NCOLS NSAMPLES [int|q4_K|q4_0|...] [threads]
 * Peak memory: run under /usr/bin/time -v. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lq/gptq.h"
#include "lq/types.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t state = 42;

static float noise(void)
{
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(state >> 11) / 9007199254740992.0 - 0.5) * 3.4f;
}

/* Inputs with some correlation: iid noise plus 8 shared random directions. */
static float *inputs(int64_t ns, int64_t n)
{
    float *dirs = malloc((size_t)(8 * n) * sizeof(float));
    float *x = malloc((size_t)(ns * n) * sizeof(float));
    for (int64_t i = 0; i < 8 * n; i++) {
        dirs[i] = noise();
    }
    for (int64_t s = 0; s < ns; s++) {
        float c[8];
        for (int k = 0; k < 8; k++) {
            c[k] = noise();
        }
        for (int64_t j = 0; j < n; j++) {
            float v = noise();
            for (int k = 0; k < 8; k++) {
                v += 0.5f * c[k] * dirs[k * n + j];
            }
            x[s * n + j] = v;
        }
    }
    free(dirs);
    return x;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s NROWS NCOLS NSAMPLES [int|TYPE] [threads]\n", argv[0]);
        return 2;
    }
    int64_t nrows = atoll(argv[1]), n = atoll(argv[2]), ns = atoll(argv[3]);
    const char *mode = argc > 4 ? argv[4] : "int";
    struct lq_gptq_params p = lq_gptq_params_default();
    p.n_threads = argc > 5 ? atoi(argv[5]) : 0;
    float *x = inputs(ns, n), *w = malloc((size_t)(nrows * n) * sizeof(float));
    for (int64_t i = 0; i < nrows * n; i++) {
        w[i] = 0.02f * noise();
    }
    struct lq_error err = { 0 };
    lq_hessian *h = NULL;
    double t0 = now();
    if (lq_hessian_new(n, &h, &err) != LQ_OK || lq_hessian_add(h, x, ns, &err) != LQ_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double t1 = now();
    float *deq = malloc((size_t)(nrows * n) * sizeof(float));
    lq_status rc;
    double loss;
    if (strcmp(mode, "int") == 0) {
        int64_t ng = lq_gptq_n_groups(n, p.group_size);
        struct lq_gptq_result res = { malloc((size_t)(nrows * n)),
                                      malloc((size_t)(ng * nrows) * 4),
                                      malloc((size_t)(ng * nrows) * 4), malloc((size_t)n * 4),
                                      deq, 0.0 };
        rc = lq_gptq_quantize(w, nrows, h, &p, &res, &err);
        loss = res.loss;
    } else {
        enum lq_type type;
        if (lq_type_from_name(mode, &type, &err) != LQ_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 2;
        }
        size_t size = lq_row_size(type, n) * (size_t)nrows;
        struct lq_gptq_gguf_out out = { type, malloc(size), size, deq, 0.0 };
        rc = lq_gptq_quantize_gguf(w, nrows, h, &p, &out, &err);
        loss = out.loss;
    }
    double t2 = now();
    if (rc != LQ_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("%lld x %lld %s: hessian (%lld rows) %.3f s, gptq %.3f s (%.3f s per 100M params), "
           "loss %.4g\n", (long long)nrows, (long long)n, mode, (long long)ns, t1 - t0, t2 - t1,
           (t2 - t1) * 1e8 / (double)(nrows * n), loss);
    return 0;
}
