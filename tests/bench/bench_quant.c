/*
 * bench_quant.c - quantize / dequantize throughput of every quantized type in the table.
 *
 * For each type with a reference quantizer and a dequantizer: quantize (lq_quantize_rows, no
 * imatrix) and dequantize (lq_dequantize_rows, rows split over OpenMP threads) on 1 and 2
 * threads, with the kernels capped to scalar C and at the best SIMD level, reporting MB of F32
 * per second (input for quantize, output for dequantize), weights per second and the
 * SIMD/scalar ratio. Best of --reps runs.
 *
 * Tensors: a 4096 x 4096 random normal (x 0.02) matrix, and tensors shaped like
 * models/tiny-llama-6L (6 layers, dim 256, FFN 768, 2 KV heads of 64, vocab 4096), filled with
 * random normals too: libquant has no safetensors reader yet to load the real weights.
 *
 * Usage: bench_quant [--quick] [--reps N] [--types q4_0,q8_0,...]
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lq/quantize.h"
#include "lq/simd.h"
#include "lq/types.h"

struct shape {
    const char *name;
    int64_t nrow, ncol;
    int count; /* how many tensors of this shape the model has */
};

/* tiny-llama-6L: per layer q, k, v, o, gate, up, down; plus embeddings and output head. */
static const struct shape tiny_shapes[] = {
    {"attn_q/o", 256, 256, 12}, {"attn_k/v", 128, 256, 12},          {"ffn_gate/up", 768, 256, 12},
    {"ffn_down", 256, 768, 6},  {"token_embd/output", 4096, 256, 2},
};

struct tensor_set {
    const char *label;
    int n;
    float **data;
    int64_t *nrow, *ncol;
    int64_t total; /* elements */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static float rand_normal(void)
{
    double u[2];
    for (int k = 0; k < 2; k++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        u[k] = ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
    }
    return (float)(sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]));
}

static void add_tensor(struct tensor_set *s, int64_t nrow, int64_t ncol)
{
    s->data = realloc(s->data, sizeof(float *) * (size_t)(s->n + 1));
    s->nrow = realloc(s->nrow, sizeof(int64_t) * (size_t)(s->n + 1));
    s->ncol = realloc(s->ncol, sizeof(int64_t) * (size_t)(s->n + 1));
    float *x = malloc(sizeof(float) * (size_t)(nrow * ncol));
    if (!s->data || !s->nrow || !s->ncol || !x) {
        fprintf(stderr, "bench_quant: out of memory\n");
        exit(1);
    }
    for (int64_t i = 0; i < nrow * ncol; i++) {
        x[i] = 0.02f * rand_normal();
    }
    s->data[s->n] = x;
    s->nrow[s->n] = nrow;
    s->ncol[s->n] = ncol;
    s->n++;
    s->total += nrow * ncol;
}

static void free_set(struct tensor_set *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->data[i]);
    }
    free(s->data);
    free(s->nrow);
    free(s->ncol);
}

/* One tensor's work: quantize into buf, dequantize into back (both touched beforehand so
 * page faults stay out of the timings). Returns the two durations. */
static void time_tensor(int type, const float *x, int64_t nr, int64_t nc, void *buf, float *back,
                        int nthreads, double *tq, double *tdq)
{
    const size_t row = lq_row_size(type, nc);
    struct lq_quantize_params p = lq_quantize_params_default();
    p.nthreads = nthreads;
    struct lq_error err;
    double t0 = now_s();
    if (lq_quantize_rows(type, x, nr, nc, buf, row * (size_t)nr, &p, NULL, &err) != LQ_OK) {
        fprintf(stderr, "bench_quant: %s\n", err.msg);
        exit(1);
    }
    double t1 = now_s();
#pragma omp parallel for num_threads(nthreads) schedule(static)
    for (int64_t r = 0; r < nr; r++) {
        lq_dequantize_rows(type, (const char *)buf + (size_t)r * row, back + r * nc, nc, NULL);
    }
    *tq = t1 - t0;
    *tdq = now_s() - t1;
}

/* Seconds for one quantize and one dequantize pass over the set (best of reps each). */
static void time_set(int type, const struct tensor_set *s, int nthreads, int reps, double *tq,
                     double *tdq)
{
    int64_t max_elems = 0;
    for (int i = 0; i < s->n; i++) {
        max_elems = s->nrow[i] * s->ncol[i] > max_elems ? s->nrow[i] * s->ncol[i] : max_elems;
    }
    char *buf = malloc(sizeof(float) * (size_t)max_elems); /* >= any quantized size */
    float *back = malloc(sizeof(float) * (size_t)max_elems);
    if (!buf || !back) {
        fprintf(stderr, "bench_quant: out of memory\n");
        exit(1);
    }
    memset(buf, 0, sizeof(float) * (size_t)max_elems);
    memset(back, 0, sizeof(float) * (size_t)max_elems);
    *tq = *tdq = INFINITY;
    for (int r = 0; r < reps; r++) {
        double q = 0, dq = 0;
        for (int i = 0; i < s->n; i++) {
            double a, b;
            time_tensor(type, s->data[i], s->nrow[i], s->ncol[i], buf, back, nthreads, &a, &b);
            q += a;
            dq += b;
        }
        *tq = fmin(*tq, q);
        *tdq = fmin(*tdq, dq);
    }
    free(buf);
    free(back);
}

static bool wanted(const char *name, const char *list)
{
    if (!list) {
        return true;
    }
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n) {
        bool start = p == list || p[-1] == ',';
        bool end = p[n] == '\0' || p[n] == ',';
        if (start && end) {
            return true;
        }
    }
    return false;
}

static void bench_set(const struct tensor_set *s, const char *types, int reps)
{
    enum lq_simd_level best = lq_simd_level_supported();
    double mb = (double)s->total * 4 / 1e6;
    printf("\n%s: %lld weights (%.1f MB of F32), best of %d; MB/s of F32, Mw/s = 1e6 "
           "weights/s\n",
           s->label, (long long)s->total, mb, reps);
    printf("%-6s %3s | %9s %9s %7s %6s | %9s %9s %7s %6s\n", "type", "thr", "quant-ref",
           "quant-"
           "simd",
           "Mw/s", "ratio", "deq-ref", "deq-simd", "Mw/s", "ratio");
    for (int type = 0; type < LQ_TYPE_COUNT; type++) {
        const struct lq_type_traits *t = lq_type_traits_get(type);
        if (!t || !t->is_quantized || !t->from_float_ref || !t->to_float ||
            !wanted(t->name, types)) {
            continue;
        }
        for (int nth = 1; nth <= 2; nth++) {
            double q0, d0, q1, d1;
            lq_simd_level_set(LQ_SIMD_SCALAR, NULL);
            time_set(type, s, nth, reps, &q0, &d0);
            lq_simd_level_set(best, NULL);
            time_set(type, s, nth, reps, &q1, &d1);
            printf("%-6s %3d | %9.0f %9.0f %7.1f %5.2fx | %9.0f %9.0f %7.1f %5.2fx\n", t->name, nth,
                   mb / q0, mb / q1, (double)s->total / q1 / 1e6, q0 / q1, mb / d0, mb / d1,
                   (double)s->total / d1 / 1e6, d0 / d1);
            fflush(stdout);
        }
    }
}

int main(int argc, char **argv)
{
    bool quick = false;
    int reps = 3;
    const char *types = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            reps = atoi(argv[++i]) > 0 ? atoi(argv[i]) : 1;
        } else if (strcmp(argv[i], "--types") == 0 && i + 1 < argc) {
            types = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--quick] [--reps N] [--types q4_0,q8_0,...]\n", argv[0]);
            return 2;
        }
    }
    printf("bench_quant: libquant %s, SIMD level %s, %d OpenMP processors\n", lq_version_string(),
           lq_simd_level_name(lq_simd_level_supported()), omp_get_num_procs());
    struct tensor_set big = {.label = quick ? "random 1024x4096" : "random 4096x4096"};
    add_tensor(&big, quick ? 1024 : 4096, 4096);
    struct tensor_set tiny = {.label = "tiny-llama-6L shapes (random normal x 0.02)"};
    for (size_t i = 0; i < sizeof tiny_shapes / sizeof tiny_shapes[0]; i++) {
        for (int c = 0; c < tiny_shapes[i].count; c++) {
            add_tensor(&tiny, tiny_shapes[i].nrow, tiny_shapes[i].ncol);
        }
    }
    bench_set(&big, types, reps);
    bench_set(&tiny, types, reps);
    free_set(&big);
    free_set(&tiny);
    return 0;
}
