/* bench_memcpy.c - memory bandwidth as a plain large memcpy sees it, the yardstick of
 * scripts/bench-eval: its floor for one token is the weight bytes read per token divided by
 * this rate.
 *
 * usage: bench_memcpy [MIB=1024 [THREADS=1 [REPEATS=5]]]
 * Copies MIB MiB from one buffer to another (each thread its own slice), REPEATS times, and
 * prints the best rate in GB/s (1e9 bytes copied per second; the hardware moves more: the
 * read, the write and usually a read-for-ownership of the destination). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    const size_t mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 1024;
    const int threads = argc > 2 ? atoi(argv[2]) : 1;
    const int repeats = argc > 3 ? atoi(argv[3]) : 5;
    const size_t n = mib << 20;
    if (n == 0 || threads < 1 || repeats < 1) {
        fprintf(stderr, "usage: bench_memcpy [MIB [THREADS [REPEATS]]]\n");
        return 2;
    }
    char *src = malloc(n), *dst = malloc(n);
    if (!src || !dst) {
        fprintf(stderr, "bench_memcpy: cannot allocate 2 x %zu MiB\n", mib);
        return 1;
    }
    memset(src, 1, n); /* fault every page in before timing */
    memset(dst, 0, n);
    double best = 0;
    for (int r = 0; r < repeats; r++) {
        const double t0 = now_s();
#pragma omp parallel num_threads(threads)
        {
            const int nt = omp_get_num_threads(), it = omp_get_thread_num();
            const size_t lo = n / (size_t)nt * (size_t)it;
            const size_t hi = it == nt - 1 ? n : lo + n / (size_t)nt;
            memcpy(dst + lo, src + lo, hi - lo);
        }
        const double gbs = (double)n / (now_s() - t0) / 1e9;
        best = gbs > best ? gbs : best;
    }
    printf("%.3f\n", best + 0 * (double)dst[n / 2]);
    free(src);
    free(dst);
    return 0;
}
