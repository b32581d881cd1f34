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
#define LQI_GEMM_MR_MAX 32
#define LQI_GEMM_NR_MAX 32

/* How a kernel's packed activations and weight panels hold the values. */
enum lqi_gemm_format {
    LQI_GEMM_F32,   /* floats: xp[k * mr + i], wp[k * nr + j] */
    LQI_GEMM_BF16X2, /* 32-bit words of two BF16 values, elements 2p (low half) and 2p + 1:
                      * xp[p * mr + i], wp[p * nr + j]; half the floats of LQI_GEMM_F32 */
    LQI_GEMM_BF16_TOKENS, /* weights as LQI_GEMM_BF16X2; activations as BF16 values token by
                           * token within each chunk of kc elements: element k of token i at
                           * ((const uint16_t *)xp)[i * kc + k] (the rows of AMX's A tiles) */
    LQI_GEMM_Q4_0_Q8, /* Q4_0 weights against Q8_0 activations in integers, by blocks of 32
                       * elements. Activations, LQI_GEMM_Q8_WORDS words per token and block:
                       * 8 words of 4 int8 (xp[g * mr + i], elements 4g .. 4g + 3), the scale
                       * as a float (xp[8 mr + i]) and the int sum of the 32 values
                       * (xp[9 mr + i]). Weights, LQI_GEMM_Q4_0_WORDS words per block of nr
                       * rows: 8 words of 4 unsigned values q + 8 (wp[g * nr + j]), then the
                       * scales as floats (wp[8 nr + j]). */
    LQI_GEMM_Q4_K_Q8, /* Q4_K weights against Q8_K activations, by sub-blocks of 32 elements:
                       * activations as for LQI_GEMM_Q4_0_Q8 (the scale that of the Q8_K
                       * block); weights, LQI_GEMM_Q4_K_WORDS words per sub-block of nr rows:
                       * 8 words of 4 values q, the sub-block's scale d * sc and its min
                       * dmin * m as floats (wp[8 nr + j], wp[9 nr + j]). */
    LQI_GEMM_AMX_Q8_0, /* AMX's 8-bit tiles against Q8_0 activations: the words of
                        * LQI_GEMM_Q4_0_Q8's activations, except that the 32 values of token i
                        * are bytes 32i .. 32i + 31 of the block's first 8 mr words (the rows of
                        * an A tile). Weights: LQI_GEMM_Q4_0_WORDS per block of nr rows (Q8_0:
                        * signed values q; Q4_0: q + 8 as for LQI_GEMM_Q4_0_Q8). */
    LQI_GEMM_AMX_Q8_K  /* the same against Q8_K activations (the scale that of the Q8_K block),
                        * by sub-blocks of 32, with scale * sum as a float in place of the int
                        * sum (the k-quants' min term, one multiply fewer per product); weights as LQI_GEMM_Q4_K_Q8's (Q4_K, Q5_K:
                        * values q of 4 or 5 bits; Q6_K: signed values q - 32, and in place
                        * of d * sc and dmin * m the scales d * sc of the two sub-blocks of
                        * 16) */
};

/* Words per token and block of the integer kernels' activations, per block of their panels. */
#define LQI_GEMM_Q8_WORDS 10
#define LQI_GEMM_Q4_0_WORDS(nr) (9 * (nr))
#define LQI_GEMM_Q4_K_WORDS(nr) (10 * (nr))

/* One SIMD level's tile kernel: c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0) +
 * sum_k xp[k * mr + i] * wp[k * nr + j] for i < m <= mr, j < n <= nr (kc elements; for
 * LQI_GEMM_BF16X2 kc is even and xp, wp hold word pairs). */
typedef void (*lqi_gemm_tile_fn)(int64_t kc, const float *xp, const float *wp, float *c,
                                 int64_t ldc, int m, int n, bool accumulate);

/* Builds a weight panel: wp[k * nr + j] = tmp[j * LQI_GEMM_KC + k] for k < kc, j < nv, and
 * 0 for nv <= j < nr. */
typedef void (*lqi_gemm_panel_fn)(float *wp, const float *tmp, int nv, int64_t kc);

/* Builds a panel straight from the stored rows (rows + j * row_size, the chunk's first byte),
 * for the formats other than LQI_GEMM_F32; rows past nv hold zeros. LQI_GEMM_BF16X2: word p of
 * row j (elements 2p, 2p + 1) as wp[p * nr + j] for p < kc / 2. */
typedef void (*lqi_gemm_panel_raw_fn)(uint32_t *wp, const unsigned char *rows, size_t row_size,
                                      int nv, int64_t kc);

struct lqi_gemm_kernel {
    int mr, nr; /* tokens and weight rows of one tile */
    enum lqi_gemm_format format;
    lqi_gemm_tile_fn tile;
    lqi_gemm_panel_fn panel;         /* LQI_GEMM_F32; NULL: lqi_gemm_panel_plain */
    lqi_gemm_panel_raw_fn panel_raw; /* the other formats */
    const char *name;
};

/* The panel in plain C, for any nr. */
void lqi_gemm_panel_plain(float *wp, const float *tmp, int nr, int nv, int64_t kc);

/* The kernel of the SIMD level in force (lq_simd_level_get). */
const struct lqi_gemm_kernel *lqi_gemm_kernel(void);

/* The kernel for BF16 weights of n_in inputs: at the AMX level, and n_in a multiple of 32,
 * tiles of 32 tokens x 32 rows multiplied in AMX tile registers (tdpbf16ps); else BF16 pairs
 * multiplied by the CPU's BF16 dot (AVX512_BF16's vdpbf16ps, as ggml's BF16 kernels) when
 * the level in force is AVX-512 or above and the CPU has it; NULL otherwise (the F32 kernel
 * then multiplies the same BF16 values as floats). */
const struct lqi_gemm_kernel *lqi_gemm_kernel_bf16(int64_t n_in);

/* The kernel for quantized weights of `type` against activations of `act_type` (its vec_dot
 * type) in integers: each block's or sub-block's exact integer dot of the weight values and
 * the 8-bit activations, then scaled as ggml's kernels do. At the AMX level Q8_0, Q4_0, Q4_K,
 * Q5_K and Q6_K take AMX's 8-bit tiles (tdpbssd / tdpbsud, 32 tokens x 32 rows); at AVX-512 with
 * AVX512_VNNI Q4_0 and Q4_K take vpdpbusd (6 x 32). NULL otherwise (the F32 kernel then
 * multiplies the decoded values). */
const struct lqi_gemm_kernel *lqi_gemm_kernel_quant(int type, int act_type);

/* The x86 kernels (forward_gemm_x86.c); NULL when the build or the CPU lacks them. */
const struct lqi_gemm_kernel *lqi_gemm_kernel_avx512(void);
const struct lqi_gemm_kernel *lqi_gemm_kernel_avx512_bf16(void);
const struct lqi_gemm_kernel *lqi_gemm_kernel_amx_bf16(void);
const struct lqi_gemm_kernel *lqi_gemm_kernel_amx_quant(int type, int act_type);
const struct lqi_gemm_kernel *lqi_gemm_kernel_avx512_q4_0(void);
const struct lqi_gemm_kernel *lqi_gemm_kernel_avx512_q4_k(void);
const struct lqi_gemm_kernel *lqi_gemm_kernel_avx2(void);

/* Panels a thread decodes per chunk before the token tiles pass them (forward_matmul.c). */
#define LQI_GEMM_PANELS 4

/* Floats of one thread's scratch for the panels: a weight chunk decoded row by row, and a
 * block's panels. */
#define LQI_GEMM_SCRATCH ((int64_t)(1 + LQI_GEMM_PANELS) * LQI_GEMM_NR_MAX * LQI_GEMM_KC)

/* The outputs of a block of panels, every token, summed there across chunks before they go to
 * y: LQI_GEMM_CB_STRIDE floats per token. In y the tokens lie n_out floats apart, often a
 * multiple of 4 KiB, so one block's outputs would share a few cache sets and the tiles'
 * read-add-write of them would miss; the stride here is off such a multiple. */
#define LQI_GEMM_CB_STRIDE ((int64_t)LQI_GEMM_PANELS * LQI_GEMM_NR_MAX + 16)

/* Floats of one thread's scratch for products of up to n_rows tokens of up to n_in inputs (the
 * GEMM's panels and outputs, or one activation row being converted). */
static inline int64_t lqi_gemm_scratch_floats(int64_t n_rows, int64_t n_in)
{
    const int64_t gemm = LQI_GEMM_SCRATCH + n_rows * LQI_GEMM_CB_STRIDE;
    return n_in > gemm ? n_in : gemm;
}

/* Floats of the activation pack for n_rows rows of n_in (whole tiles of the largest mr). */
int64_t lqi_gemm_pack_floats(int64_t n_rows, int64_t n_in);

/* Writes row r (n_in floats) of the activations into the pack laid out for kernel k
 * (LQI_GEMM_F32). */
void lqi_gemm_pack_row(float *pack, const struct lqi_gemm_kernel *k, int64_t n_in, int64_t r,
                       const float *row);

/* The same for a LQI_GEMM_BF16X2 or LQI_GEMM_BF16_TOKENS kernel: row r as n_in (even) BF16
 * values. */
void lqi_gemm_pack_row_bf16(float *pack, const struct lqi_gemm_kernel *k, int64_t n_in,
                            int64_t r, const uint16_t *row);

/* The same for the integer kernels: row r as n_in / 32 Q8_0 blocks (LQI_GEMM_Q4_0_Q8,
 * LQI_GEMM_AMX_Q8_0) or n_in / 256 Q8_K blocks (LQI_GEMM_Q4_K_Q8, LQI_GEMM_AMX_Q8_K). */
void lqi_gemm_pack_row_q8(float *pack, const struct lqi_gemm_kernel *k, int64_t n_in, int64_t r,
                          const unsigned char *row);

/* Offset in floats of token tile t (a multiple of mr), element k0 (even; for
 * the integer kernels, of n_in and k0, a multiple of 32) in a pack. */
static inline int64_t lqi_gemm_pack_offset(const struct lqi_gemm_kernel *k, int64_t n_in,
                                           int64_t t, int64_t k0)
{
    const int64_t off = t * n_in + k0 * k->mr;
    switch (k->format) {
    case LQI_GEMM_BF16X2:
    case LQI_GEMM_BF16_TOKENS:
        return off / 2;
    case LQI_GEMM_Q4_0_Q8:
    case LQI_GEMM_Q4_K_Q8:
    case LQI_GEMM_AMX_Q8_0:
    case LQI_GEMM_AMX_Q8_K:
        return off / 32 * LQI_GEMM_Q8_WORDS;
    default:
        return off;
    }
}

#endif
