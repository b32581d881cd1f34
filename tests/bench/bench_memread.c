/* bench_memread.c - memory READ bandwidth, the floor of scripts/bench-eval: decoding one token
 * reads every weight once, so it takes at least (weight bytes per token) / (this rate).
 * A memcpy is not that yardstick: it also writes, and on this machine class it moves a third
 * of what a pure read stream reaches.
 *
 * usage: bench_memread [MIB=1024 [THREADS=1 [REPEATS=5 [plain|avx2|avx512]]]]
 * Sums MIB MiB of 64-bit words (each thread its slice, faulted in by that thread before
 * timing), REPEATS times, and prints the best rate in GB/s (1e9 bytes read per second). The
 * loads are AVX-512 or AVX2 where the CPU has them (chosen at run time, or forced by the last
 * argument; exit 77 if this CPU lacks it) and plain C otherwise. The sum is checked against
 * the known fill, so a compiler that skipped the reads or a kernel that missed a word makes
 * the benchmark fail (ctest bench_memread_sum_*). */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_X86_KERNELS 1
#endif

#define FILL_BYTE 0x5a /* every word of the buffer is 0x5a5a...5a */

typedef uint64_t (*sum_fn)(const uint64_t *p, size_t n_words);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Four independent sums, so the adds never wait on each other; compilers vectorise it. */
static uint64_t sum_plain(const uint64_t *p, size_t n_words)
{
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n_words; i += 4) {
        s0 += p[i];
        s1 += p[i + 1];
        s2 += p[i + 2];
        s3 += p[i + 3];
    }
    for (; i < n_words; i++) {
        s0 += p[i];
    }
    return s0 + s1 + s2 + s3;
}

#ifdef HAVE_X86_KERNELS
/* 4 x 32-byte loads per step into 4 accumulators; n_words a multiple of 16 (the caller's
 * slices are whole 64-byte lines). */
__attribute__((target("avx2"))) static uint64_t sum_avx2(const uint64_t *p, size_t n_words)
{
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < n_words; i += 16) {
        a0 = _mm256_add_epi64(a0, _mm256_load_si256((const __m256i *)(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256((const __m256i *)(p + i + 4)));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256((const __m256i *)(p + i + 8)));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256((const __m256i *)(p + i + 12)));
    }
    const __m256i a = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, a);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

/* 4 x 64-byte loads per step; n_words a multiple of 32. */
__attribute__((target("avx512f"))) static uint64_t sum_avx512(const uint64_t *p, size_t n_words)
{
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < n_words; i += 32) {
        a0 = _mm512_add_epi64(a0, _mm512_load_si512((const void *)(p + i)));
        a1 = _mm512_add_epi64(a1, _mm512_load_si512((const void *)(p + i + 8)));
        a2 = _mm512_add_epi64(a2, _mm512_load_si512((const void *)(p + i + 16)));
        a3 = _mm512_add_epi64(a3, _mm512_load_si512((const void *)(p + i + 24)));
    }
    /* not _mm512_reduce_add_epi64: GCC adds its lanes as signed long long (UB on wrap) */
    const __m512i a = _mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3));
    uint64_t lanes[8], s = 0;
    _mm512_storeu_si512((void *)lanes, a);
    for (int i = 0; i < 8; i++) {
        s += lanes[i];
    }
    return s;
}
#endif

/* The kernel named by `want` ("" = the best this CPU runs), or NULL if it cannot run here. */
static sum_fn pick_kernel(const char *want, const char **name)
{
#ifdef HAVE_X86_KERNELS
    __builtin_cpu_init();
    const int avx512 = __builtin_cpu_supports("avx512f");
    const int avx2 = __builtin_cpu_supports("avx2");
    if ((!*want && avx512) || !strcmp(want, "avx512")) {
        *name = "avx512";
        return avx512 ? sum_avx512 : NULL;
    }
    if ((!*want && avx2) || !strcmp(want, "avx2")) {
        *name = "avx2";
        return avx2 ? sum_avx2 : NULL;
    }
#endif
    *name = "plain";
    return !*want || !strcmp(want, "plain") ? sum_plain : NULL;
}

/* Thread number it's slice [lo, hi) of the n_words, in whole 32-word (256-byte) steps. */
static void slice(size_t n_words, int nt, int it, size_t *lo, size_t *hi)
{
    const size_t steps = n_words / 32;
    *lo = steps * (size_t)it / (size_t)nt * 32;
    *hi = steps * (size_t)(it + 1) / (size_t)nt * 32;
}

int main(int argc, char **argv)
{
    const size_t mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 1024;
    const int threads = argc > 2 ? atoi(argv[2]) : 1;
    const int repeats = argc > 3 ? atoi(argv[3]) : 5;
    const char *want = argc > 4 ? argv[4] : "";
    const char *name = "";
    const sum_fn sum = pick_kernel(want, &name);
    const int known = !*want || !strcmp(want, "plain") || !strcmp(want, "avx2") ||
                      !strcmp(want, "avx512");
    if (mib == 0 || mib > ((size_t)1 << 24) || threads < 1 || repeats < 1 || argc > 5 || !known) {
        fprintf(stderr, "usage: bench_memread [MIB [THREADS [REPEATS [plain|avx2|avx512]]]]\n");
        return 2;
    }
    if (!sum) {
        fprintf(stderr, "bench_memread: this CPU cannot run the %s kernel\n", want);
        return 77; /* ctest: skipped */
    }
    const size_t n = mib << 20, n_words = n / sizeof(uint64_t);
    uint64_t *buf = aligned_alloc(64, n);
    if (!buf) {
        fprintf(stderr, "bench_memread: cannot allocate %zu MiB\n", mib);
        return 1;
    }
#pragma omp parallel num_threads(threads)
    { /* each thread faults in the pages it reads (first touch: its own NUMA node) */
        size_t lo, hi;
        slice(n_words, omp_get_num_threads(), omp_get_thread_num(), &lo, &hi);
        memset(buf + lo, FILL_BYTE, (hi - lo) * sizeof(uint64_t));
    }
    uint64_t word;
    memset(&word, FILL_BYTE, sizeof(word));
    const uint64_t expect = word * (uint64_t)n_words; /* modulo 2^64, as the kernels add */
    double best = 0;
    int bad = 0;
    for (int r = 0; r < repeats; r++) {
        uint64_t total = 0;
        const double t0 = now_s();
#pragma omp parallel num_threads(threads) reduction(+ : total)
        {
            size_t lo, hi;
            slice(n_words, omp_get_num_threads(), omp_get_thread_num(), &lo, &hi);
            total += sum(buf + lo, hi - lo);
        }
        const double gbs = (double)n / (now_s() - t0) / 1e9;
        best = gbs > best ? gbs : best;
        bad |= total != expect;
    }
    free(buf);
    if (bad) {
        fprintf(stderr, "bench_memread: the %s kernel's sum is wrong\n", name);
        return 1;
    }
    fprintf(stderr, "bench_memread: %s loads, %d thread%s, %zu MiB, best of %d\n", name, threads,
            threads == 1 ? "" : "s", mib, repeats);
    printf("%.3f\n", best);
    return 0;
}
