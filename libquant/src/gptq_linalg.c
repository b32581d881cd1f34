/* gptq_linalg.c - the upper Cholesky factor of the dampened inverse Hessian.
 *
 * LAPACK is column-major. A symmetric matrix reads the same either way, and the row-major
 * lower triangle is the column-major upper one, so every call below passes the opposite
 * uplo and no matrix is ever transposed. The factorisations run in double: H can be badly
 * conditioned, and GPTQ's result is only as good as H^-1. */
#include <lapacke.h>
#include <string.h>

#include "gptq_impl.h"
#include "lqi.h"

/* a (n, n) row-major double = P H P^T, dead diagonals 1, plus damp * mean(diag). */
static void load_dampened(const lq_hessian *h, const int64_t *perm, float damp, double *a)
{
    int64_t n = h->n;
    for (int64_t i = 0; i < n; i++) {
        int64_t pi = perm ? perm[i] : i;
        for (int64_t k = 0; k < n; k++) {
            a[i * n + k] = lqi_hessian_at(h, pi, perm ? perm[k] : k);
        }
    }
    double mean = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (a[i * n + i] == 0.0) {
            a[i * n + i] = 1.0;
        }
        mean += a[i * n + i];
    }
    mean /= (double)n;
    for (int64_t i = 0; i < n; i++) {
        a[i * n + i] += (double)damp * mean;
    }
}

/* Copies the row-major lower triangle of a onto its upper triangle. */
static void mirror_lower(double *a, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        for (int64_t k = i + 1; k < n; k++) {
            a[i * n + k] = a[k * n + i];
        }
    }
}

lq_status lqi_gptq_hinv_chol(const lq_hessian *h, const int64_t *perm, float damp, float *u,
                             struct lq_error *err)
{
    int64_t n = h->n;
    double *a = lqi_malloc((size_t)n * (size_t)n * sizeof(double));
    LQ_FAIL_IF(!a, err, LQ_E_NOMEM, "gptq: cannot allocate the %lld x %lld inverse Hessian",
               (long long)n, (long long)n);
    lq_status rc = LQ_OK;
    load_dampened(h, perm, damp, a);
    /* row-major lower L, H = L L^T */
    lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)n, a, (lapack_int)n);
    if (info == 0) {
        /* row-major lower triangle of H^-1 */
        info = LAPACKE_dpotri(LAPACK_COL_MAJOR, 'U', (lapack_int)n, a, (lapack_int)n);
    }
    if (info == 0) {
        mirror_lower(a, n);
        /* row-major upper U, H^-1 = U^T U */
        info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (lapack_int)n, a, (lapack_int)n);
    }
    if (info != 0) {
        rc = lqi_set_error(err, LQ_E_RANGE,
                           "gptq: Hessian not positive definite after dampening %g "
                           "(LAPACK info %d); more calibration data or a larger damp helps",
                           (double)damp, (int)info);
        goto out_free_a;
    }
    for (int64_t i = 0; i < n; i++) {
        memset(u + i * n, 0, (size_t)i * sizeof(float));
        for (int64_t k = i; k < n; k++) {
            u[i * n + k] = (float)a[i * n + k];
        }
    }
out_free_a:
    lqi_free(a);
    return rc;
}
