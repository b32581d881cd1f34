/*
 * bench_quant.c - quantize / dequantize / dot throughput of every quantized type in the table,
 * with the kernels capped to scalar C and at the best SIMD level (lq_simd_level_set), on 1 and
 * 2 threads.
 *
 *   quantize    lq_quantize_rows (no imatrix; all-ones weights for the types llama.cpp
 *               quantizes only with one), MB of F32 input per second
 *   dequantize  lq_dequantize_rows row by row over OpenMP threads, MB of F32 output per second
 *   dot         the type's vec_dot against an activation row quantized to its vec_dot_type,
 *               every row of every tensor (a mat-vec), as ns per 4096 weights: the cost of
 *               one 4096-element row dot (per thread's share when threaded)
 * Each is the best of --reps passes; ratio = scalar time / SIMD time.
 *
 * Per tensor set and thread count, a memcpy of the set's F32 bytes (same threads, same
 * process) gives the memory bandwidth baseline, and Q8_0's SIMD quantize / dequantize are
 * printed as fractions of it (both move about as many bytes as the copy).
 *
 * Tensors: a 4096 x 4096 random normal (x 0.02) matrix, and the 2-D tensors of
 * models/tiny-llama-6L/model.safetensors (BF16, converted to F32; random tensors of the same
 * shapes when the file is missing).
 *
 * Usage: bench_quant [--quick] [--reps N] [--types q4_0,q8_0,...] [--model FILE]
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lq/fp16.h"
#include "lq/quantize.h"
#include "lq/safetensors.h"
#include "lq/simd.h"
#include "lq/types.h"

/* tiny-llama-6L's 2-D shapes, for the random stand-in: per layer q, k, v, o, gate, up, down;
 * plus embeddings and output head. */
static const struct {
    int64_t nrow, ncol;
    int count;
} tiny_shapes[] = {{256, 256, 12}, {128, 256, 12}, {768, 256, 12}, {256, 768, 6}, {4096, 256, 2}};

struct tensor_set {
    char label[160];
    int n;
    float **data;
    int64_t *nrow, *ncol;
    int64_t total; /* elements */
};

struct timing {
    double q, dq, dot; /* seconds per pass over the set */
    double n;          /* weights timed (tensors whose rows are whole blocks) */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "bench_quant: out of memory\n");
        exit(1);
    }
    return p;
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

// ---- tensor sets ------------------------------------------------------------------------

/* Adds an nrow x ncol tensor: a copy of x, or random normals x 0.02 when x is NULL. */
static void add_tensor(struct tensor_set *s, int64_t nrow, int64_t ncol, const float *x)
{
    s->data = realloc(s->data, sizeof(float *) * (size_t)(s->n + 1));
    s->nrow = realloc(s->nrow, sizeof(int64_t) * (size_t)(s->n + 1));
    s->ncol = realloc(s->ncol, sizeof(int64_t) * (size_t)(s->n + 1));
    if (!s->data || !s->nrow || !s->ncol) {
        fprintf(stderr, "bench_quant: out of memory\n");
        exit(1);
    }
    float *t = xmalloc(sizeof(float) * (size_t)(nrow * ncol));
    for (int64_t i = 0; i < nrow * ncol; i++) {
        t[i] = x ? x[i] : 0.02f * rand_normal();
    }
    s->data[s->n] = t;
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

/* One 2-D F32/F16/BF16 tensor of the file as F32 (data may be unaligned: copied first). */
static void add_st_tensor(struct tensor_set *s, const struct lq_st_tensor_info *ti)
{
    float *x = xmalloc(sizeof(float) * (size_t)ti->n_elements);
    if (ti->dtype == LQ_ST_F32) {
        memcpy(x, ti->data, ti->nbytes);
    } else {
        uint16_t *h = xmalloc(ti->nbytes);
        memcpy(h, ti->data, ti->nbytes);
        (ti->dtype == LQ_ST_BF16 ? lq_bf16_to_fp32_row : lq_fp16_to_fp32_row)(h, x, ti->n_elements);
        free(h);
    }
    add_tensor(s, ti->shape[0], ti->shape[1], x);
    free(x);
}

/* The model's 2-D float tensors; false (nothing added) when the file cannot be opened. */
static bool load_model(struct tensor_set *s, const char *path)
{
    lq_st *st = NULL;
    struct lq_error err;
    if (lq_st_open(path, &st, &err) != LQ_OK) {
        fprintf(stderr, "bench_quant: %s; using random tensors of its shapes\n", err.msg);
        return false;
    }
    for (int64_t i = 0; i < lq_st_n_tensors(st); i++) {
        const struct lq_st_tensor_info *ti = lq_st_tensor(st, i);
        bool is_float = ti->dtype == LQ_ST_F32 || ti->dtype == LQ_ST_F16 || ti->dtype == LQ_ST_BF16;
        if (ti->n_dims == 2 && is_float) {
            add_st_tensor(s, ti);
        }
    }
    lq_st_free(st);
    snprintf(s->label, sizeof s->label, "tiny-llama-6L real weights (%d tensors)", s->n);
    return true;
}

static void tiny_set(struct tensor_set *s, const char *model)
{
    if (load_model(s, model)) {
        return;
    }
    for (size_t i = 0; i < sizeof tiny_shapes / sizeof tiny_shapes[0]; i++) {
        for (int c = 0; c < tiny_shapes[i].count; c++) {
            add_tensor(s, tiny_shapes[i].nrow, tiny_shapes[i].ncol, NULL);
        }
    }
    snprintf(s->label, sizeof s->label, "tiny-llama-6L shapes, random normal x 0.02");
}

// ---- timing -----------------------------------------------------------------------------

/* Buffers of one type's pass, sized for the set's largest tensor and touched up front so
 * page faults stay out of the timings. */
struct work {
    char *q;     /* quantized tensor */
    float *back; /* dequantized tensor */
    char *act;   /* activation row in vec_dot_type */
    float *out;  /* dot results */
    float *imat; /* all-ones importance weights, for the types that need some */
};

static void work_init(struct work *w, const struct tensor_set *s)
{
    int64_t max_elems = 0, max_rows = 0, max_cols = 0;
    for (int i = 0; i < s->n; i++) {
        max_elems = s->nrow[i] * s->ncol[i] > max_elems ? s->nrow[i] * s->ncol[i] : max_elems;
        max_rows = s->nrow[i] > max_rows ? s->nrow[i] : max_rows;
        max_cols = s->ncol[i] > max_cols ? s->ncol[i] : max_cols;
    }
    w->q = xmalloc(sizeof(float) * (size_t)max_elems); /* >= any quantized size */
    w->back = xmalloc(sizeof(float) * (size_t)max_elems);
    w->act = xmalloc(sizeof(float) * (size_t)max_cols);
    w->out = xmalloc(sizeof(float) * (size_t)max_rows);
    w->imat = xmalloc(sizeof(float) * (size_t)max_cols);
    for (int64_t i = 0; i < max_cols; i++) {
        w->imat[i] = 1.0f;
    }
    memset(w->q, 0, sizeof(float) * (size_t)max_elems);
    memset(w->back, 0, sizeof(float) * (size_t)max_elems);
}

static void work_free(struct work *w)
{
    free(w->q);
    free(w->back);
    free(w->act);
    free(w->out);
    free(w->imat);
}

/* One tensor: quantize, dequantize, then dot every row against a quantized activation row
 * (dot_iters times, so that small tensors still run long enough to time). */
static struct timing time_tensor(int type, const float *x, int64_t nr, int64_t nc, struct work *w,
                                 int nthreads, int dot_iters)
{
    const struct lq_type_traits *t = lq_type_traits_get(type);
    const size_t row = lq_row_size(type, nc);
    struct lq_quantize_params p = lq_quantize_params_default();
    p.nthreads = nthreads;
    p.imatrix = t->needs_imatrix ? w->imat : NULL; /* IQ2_XXS, IQ2_XS, IQ1_S */
    struct lq_error err;
    struct timing tm = {0, 0, 0, (double)(nr * nc)};
    double t0 = now_s();
    if (lq_quantize_rows(type, x, nr, nc, w->q, row * (size_t)nr, &p, NULL, &err) != LQ_OK) {
        fprintf(stderr, "bench_quant: %s\n", err.msg);
        exit(1);
    }
    double t1 = now_s();
#pragma omp parallel for num_threads(nthreads) schedule(static)
    for (int64_t r = 0; r < nr; r++) {
        lq_dequantize_rows(type, w->q + (size_t)r * row, w->back + r * nc, nc, NULL);
    }
    double t2 = now_s();
    tm.q = t1 - t0;
    tm.dq = t2 - t1;
    if (!t->vec_dot || lq_quantize_activation((int)t->vec_dot_type, x, w->act, nc, NULL) != LQ_OK) {
        return tm;
    }
    for (int it = 0; it < dot_iters; it++) {
#pragma omp parallel for num_threads(nthreads) schedule(static)
        for (int64_t r = 0; r < nr; r++) {
            t->vec_dot(nc, &w->out[r], w->q + (size_t)r * row, w->act);
        }
    }
    tm.dot = (now_s() - t2) / dot_iters;
    return tm;
}

/* Seconds of one pass over the set (best of reps for each operation). */
static struct timing time_set(int type, const struct tensor_set *s, int nthreads, int reps)
{
    const struct lq_type_traits *t = lq_type_traits_get(type);
    const int dot_iters = s->total >= (1 << 24) ? 1 : (int)((1 << 24) / s->total);
    struct work w;
    work_init(&w, s);
    struct timing best = {INFINITY, INFINITY, INFINITY, 0};
    for (int r = 0; r < reps; r++) {
        struct timing sum = {0, 0, 0, 0};
        for (int i = 0; i < s->n; i++) {
            if (s->ncol[i] % t->blck_size != 0) {
                continue;
            }
            struct timing a =
                time_tensor(type, s->data[i], s->nrow[i], s->ncol[i], &w, nthreads, dot_iters);
            sum.q += a.q;
            sum.dq += a.dq;
            sum.dot += a.dot;
            sum.n += a.n;
        }
        best.n = sum.n;
        best.q = fmin(best.q, sum.q);
        best.dq = fmin(best.dq, sum.dq);
        best.dot = fmin(best.dot, sum.dot);
    }
    work_free(&w);
    return best;
}

/* Seconds to memcpy the set's F32 bytes once (split over nthreads, best of reps). */
static double time_memcpy(const struct tensor_set *s, int nthreads, int reps)
{
    const size_t bytes = sizeof(float) * (size_t)s->total;
    char *src = xmalloc(bytes), *dst = xmalloc(bytes);
    memset(src, 1, bytes);
    memset(dst, 0, bytes);
    double best = INFINITY;
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
#pragma omp parallel num_threads(nthreads)
        {
            size_t nt = (size_t)omp_get_num_threads(), id = (size_t)omp_get_thread_num();
            size_t lo = bytes / nt * id, hi = id + 1 == nt ? bytes : bytes / nt * (id + 1);
            memcpy(dst + lo, src + lo, hi - lo);
        }
        best = fmin(best, now_s() - t0);
    }
    volatile char sink = dst[bytes / 2];
    (void)sink;
    free(src);
    free(dst);
    return best;
}

// ---- report -----------------------------------------------------------------------------

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

static bool benched(int type, const char *types)
{
    const struct lq_type_traits *t = lq_type_traits_get(type);
    return t && t->is_quantized && (t->from_float_ref || t->quantize) && t->to_float &&
           wanted(t->name, types);
}

/* One table row; q8_0's SIMD timings are kept for the memcpy comparison. */
static void bench_row(int type, const struct tensor_set *s, int nth, int reps,
                      struct timing *simd_out)
{
    lq_simd_level_set(LQ_SIMD_SCALAR, NULL);
    struct timing a = time_set(type, s, nth, reps);
    lq_simd_level_set(lq_simd_level_supported(), NULL);
    struct timing b = time_set(type, s, nth, reps);
    *simd_out = b;
    const double mb = b.n * 4 / 1e6, per4k = 4096.0 / b.n * 1e9;
    printf("%-6s %3d | %8.0f %8.0f %6.2fx | %8.0f %8.0f %6.2fx", lq_type_name(type), nth, mb / a.q,
           mb / b.q, a.q / b.q, mb / a.dq, mb / b.dq, a.dq / b.dq);
    if (lq_type_traits_get(type)->vec_dot) {
        printf(" | %8.0f %8.0f %6.2fx\n", a.dot * per4k, b.dot * per4k, a.dot / b.dot);
    } else {
        printf(" | %8s %8s %7s\n", "-", "-", "-");
    }
    fflush(stdout);
}

static void bench_set(const struct tensor_set *s, const char *types, int reps)
{
    const double mb = (double)s->total * 4 / 1e6;
    printf("\n%s: %lld weights (%.1f MB of F32), best of %d\n", s->label, (long long)s->total, mb,
           reps);
    printf("quant/deq: MB/s of F32; dot: ns per 4096 weights (one 4096-element row)\n");
    printf("%-6s %3s | %8s %8s %7s | %8s %8s %7s | %8s %8s %7s\n", "type", "thr", "q-scal",
           "q-simd", "ratio", "dq-scal", "dq-simd", "ratio", "dot-scal", "dot-simd", "ratio");
    struct timing q8[3] = {{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}};
    for (int type = 0; type < LQ_TYPE_COUNT; type++) {
        for (int nth = 1; nth <= 2 && benched(type, types); nth++) {
            bench_row(type, s, nth, reps, type == LQ_TYPE_Q8_0 ? &q8[nth] : &q8[0]);
        }
    }
    for (int nth = 1; nth <= 2; nth++) {
        double tc = time_memcpy(s, nth, reps);
        printf("memcpy %d thr: %.0f MB/s", nth, mb / tc);
        if (q8[nth].n == (double)s->total) {
            printf("; q8_0 (SIMD) quantize %.2f, dequantize %.2f of memcpy", tc / q8[nth].q,
                   tc / q8[nth].dq);
        }
        printf("\n");
    }
}

int main(int argc, char **argv)
{
    bool quick = false;
    int reps = 3;
    const char *types = NULL;
    char model[1024];
    const char *data = getenv("LIBQUANT_DATA");
    snprintf(model, sizeof model, "%s/models/tiny-llama-6L/model.safetensors",
             data && data[0] ? data : LQ_DATA_DEFAULT);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            reps = atoi(argv[++i]) > 0 ? atoi(argv[i]) : 1;
        } else if (strcmp(argv[i], "--types") == 0 && i + 1 < argc) {
            types = argv[++i];
        } else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            snprintf(model, sizeof model, "%s", argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--quick] [--reps N] [--types q4_0,q8_0,...] [--model F]\n",
                    argv[0]);
            return 2;
        }
    }
    printf("bench_quant: libquant %s, SIMD level %s, %d OpenMP processors\n", lq_version_string(),
           lq_simd_level_name(lq_simd_level_supported()), omp_get_num_procs());
    struct tensor_set big = {.n = 0};
    snprintf(big.label, sizeof big.label, "random %dx4096", quick ? 1024 : 4096);
    add_tensor(&big, quick ? 1024 : 4096, 4096, NULL);
    struct tensor_set tiny = {.n = 0};
    tiny_set(&tiny, model);
    bench_set(&big, types, reps);
    bench_set(&tiny, types, reps);
    free_set(&big);
    free_set(&tiny);
    return 0;
}
