/* forward_gemm.h - the tiled F32 matrix product of batched activations (prompt processing).
 *
 * y (n tokens, n_out) = X · Wᵀ as BLAS-style packed panels: the activations, already holding
 * the values llama.cpp's kernel would multiply (rounded to F16/BF16, or quantized to the
 * weight's vec_dot type and decoded back), are packed once per product into tiles of mr
 * tokens (k-major); each thread decodes nr weight rows by chunks of LQI_GEMM_KC elements
 * into a k-major panel, and a register-blocked kernel multiplies every token tile with it.
 * The weight panel stays in L1 while all tokens pass, so a weight is decoded once per batch
 * and the loop is bound by multiply-adds, not by the weight's format. */
#ifndef LQ_FORWARD_GEMM_H
#define LQ_FORWARD_GEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Elements of one weight panel chunk: a multiple of every block size (256 at most). */
#define LQI_GEMM_KC 256
/* The largest tile of any kernel (the activation pack and per-thread scratch are sized by them). */
#define LQI_GEMM_MR_MAX 12
#define LQI_GEMM_NR_MAX 32

/* How a kernel's packed activations and weight panels hold the values. */
enum lqi_gemm_format {
    LQI_GEMM_F32,   /* floats: xp[k * mr + i], wp[k * nr + j] */
    LQI_GEMM_BF16X2 /* 32-bit words of two BF16 values, elements 2p (low half) and 2p + 1:
                     * xp[p * mr + i], wp[p * nr + j]; half the floats of LQI_GEMM_F32 */
};

/* One SIMD level's tile kernel: c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0) +
 * sum_k xp[k * mr + i] * wp[k * nr + j] for i < m <= mr, j < n <= nr (kc elements; for
 * LQI_GEMM_BF16X2 kc is even and xp, wp hold word pairs). */
typedef void (*lqi_gemm_tile_fn)(int64_t kc, const float *xp, const float *wp, float *c,
                                 int64_t ldc, int m, int n, bool accumulate);

/* Builds a weight panel: wp[k * nr + j] = tmp[j * LQI_GEMM_KC + k] for k < kc, j < nv, and
 * 0 for nv <= j < nr. */
typedef void (*lqi_gemm_panel_fn)(float *wp, const float *tmp, int nv, int64_t kc);

/* Builds a LQI_GEMM_BF16X2 panel straight from stored BF16 rows: word p of row j (elements
 * 2p, 2p + 1 at rows + j * row_size) as wp[p * nr + j] for p < kc / 2, j < nv; 0 past nv. */
typedef void (*lqi_gemm_panel_bf16_fn)(uint32_t *wp, const unsigned char *rows, size_t row_size,
                                       int nv, int64_t kc);

struct lqi_gemm_kernel {
    int mr, nr; /* tokens and weight rows of one tile */
    enum lqi_gemm_format format;
    lqi_gemm_tile_fn tile;
    lqi_gemm_panel_fn panel;            /* LQI_GEMM_F32; NULL: lqi_gemm_panel_plain */
    lqi_gemm_panel_bf16_fn panel_bf16; /* LQI_GEMM_BF16X2 */
    const char *name;
};

/* The panel in plain C, for any nr. */
void lqi_gemm_panel_plain(float *wp, const float *tmp, int nr, int nv, int64_t kc);

/* The kernel of the SIMD level in force (lq_simd_level_get). */
const struct lqi_gemm_kernel *lqi_gemm_kernel(void);

/* The kernel for BF16 weights: BF16 pairs multiplied by the CPU's BF16 dot (AVX512_BF16's
 * vdpbf16ps, as ggml's BF16 kernels) when the SIMD level in force is AVX-512 and the CPU has
 * it; NULL otherwise (the F32 kernel then multiplies the same BF16 values as floats). */
const struct lqi_gemm_kernel *lqi_gemm_kernel_bf16(void);

/* The x86 kernels (forward_gemm_x86.c); NULL when the build or the CPU lacks them. */
const struct lqi_gemm_kernel *lqi_gemm_kernel_avx512(void);
const struct lqi_gemm_kernel *lqi_gemm_kernel_avx512_bf16(void);
const struct lqi_gemm_kernel *lqi_gemm_kernel_avx2(void);

/* Panels a thread decodes per chunk before the token tiles pass them (forward_matmul.c). */
#define LQI_GEMM_PANELS 4

/* Floats of one thread's scratch: a weight chunk decoded row by row, and a block's panels. */
#define LQI_GEMM_SCRATCH ((int64_t)(1 + LQI_GEMM_PANELS) * LQI_GEMM_NR_MAX * LQI_GEMM_KC)

/* Floats of the activation pack for n_rows rows of n_in (whole tiles of the largest mr). */
int64_t lqi_gemm_pack_floats(int64_t n_rows, int64_t n_in);

/* Writes row r (n_in floats) of the activations into the pack laid out for kernel k
 * (LQI_GEMM_F32). */
void lqi_gemm_pack_row(float *pack, const struct lqi_gemm_kernel *k, int64_t n_in, int64_t r,
                       const float *row);

/* The same for a LQI_GEMM_BF16X2 kernel: row r as n_in (even) BF16 values. */
void lqi_gemm_pack_row_bf16(float *pack, const struct lqi_gemm_kernel *k, int64_t n_in,
                            int64_t r, const uint16_t *row);

/* Offset in floats of token tile t (a multiple of mr), element k0 (even) in a pack. */
static inline int64_t lqi_gemm_pack_offset(const struct lqi_gemm_kernel *k, int64_t n_in,
                                           int64_t t, int64_t k0)
{
    const int64_t off = t * n_in + k0 * k->mr;
    return k->format == LQI_GEMM_BF16X2 ? off / 2 : off;
}

#endif
