/*
 * simd_x86.h - AVX2 / AVX-512 building blocks of the block-quant kernels. Functions carry
 * target attributes, so the rest of the library builds for baseline x86-64 and the choice is
 * made at run time (quants/simd.h). Include only where LQI_X86 is set.
 */
#ifndef LQ_QUANTS_SIMD_X86_H
#define LQ_QUANTS_SIMD_X86_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define LQI_AVX2 __attribute__((target("avx2,fma,f16c")))
/* For kernels whose floats must equal the scalar reference bit for bit (the k-quant
 * dequantizers, Q8_K's quantizer): without "fma" no multiply-add can be fused even if the
 * build's -ffp-contract=off were lost. */
#define LQI_AVX2_NOFMA __attribute__((target("avx2")))
#define LQI_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
/* AVX-512 kernels that also use vpdpbusd, called where lqi_cpu_avx512_vnni() holds. */
#define LQI_AVX512_VNNI                                                                            \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

/* Decoding reads each weight row once, block after block, rows of a few hundred bytes to a
 * few KiB. Some CPUs' prefetchers catch such a stream too late: on a 2-core Xeon VM every
 * block's first cache line stalled (Q4_K_M decoding 8.5 tok/s, 15 with these hints, where
 * AMD EPYC's prefetcher needed none). So the row kernels ask for the bytes this far ahead
 * (16 Q4_K blocks; the best of 4, 8, 16 and 32 blocks measured there). */
#define LQI_PREFETCH_AHEAD 2304

/* Prefetches the `bytes` bytes LQI_PREFETCH_AHEAD past p, one hint per cache line (a hint
 * never faults, past the end of a mapping included; results do not depend on it). */
static inline void lqi_prefetch_ahead(const void *p, int bytes)
{
    const char *a = (const char *)p + LQI_PREFETCH_AHEAD;
    for (int o = 0; o < bytes; o += 64) {
        _mm_prefetch(a + o, _MM_HINT_T0);
    }
}

// ---- AVX2 -------------------------------------------------------------------------------

static inline LQI_AVX2 float lqi_hsum_f32x8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline LQI_AVX2 int lqi_hsum_i32x8(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

static inline LQI_AVX2 float lqi_h2f(uint16_t h)
{
    return _cvtsh_ss(h);
}

/* 16 packed bytes -> 32 nibbles: low nibbles (elements 0..15) then high (16..31). */
static inline LQI_AVX2 __m256i lqi_nibbles32(const uint8_t *qs)
{
    __m128i t = _mm_loadu_si128((const __m128i *)qs);
    __m256i b = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}

/* 32 bits (little-endian) -> 32 bytes, 0xFF where the bit is set: byte k takes the byte of
 * the word holding bit k, ORs in every bit but k's, and is all-ones iff bit k was set. */
static inline LQI_AVX2 __m256i lqi_bits32(const uint8_t qh[4])
{
    uint32_t x32;
    memcpy(&x32, qh, sizeof x32);
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                           0x0101010101010101, 0x0000000000000000);
    __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x32), shuf);
    bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
}

/* Pairwise u8 x i8 products summed to 8 int32 lanes, as floats. u8 must be <= 127 times
 * i8 magnitudes so that maddubs's int16 pair sums cannot saturate (true for quants). */
static inline LQI_AVX2 __m256 lqi_dot_u8i8(__m256i u, __m256i s)
{
    __m256i p16 = _mm256_maddubs_epi16(u, s);
    __m256i p32 = _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
    return _mm256_cvtepi32_ps(p32);
}

/* Signed i8 x i8 products summed to 8 int32 lanes, as floats (sign moved onto y so that
 * maddubs's unsigned operand is |x|). Exact unless x or y holds -128. */
static inline LQI_AVX2 __m256 lqi_dot_i8i8(__m256i x, __m256i y)
{
    return lqi_dot_u8i8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

/* max |x[j]| over 32 floats. */
static inline LQI_AVX2 float lqi_absmax32(const float *x)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_andnot_ps(sign, _mm256_loadu_ps(x));
    for (int j = 8; j < 32; j += 8) {
        m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
    }
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Index of the first of 32 floats whose magnitude equals v (32 when none). */
static inline LQI_AVX2 uint32_t lqi_first_abs_equal32(const float *x, float v)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 vv = _mm256_set1_ps(v);
    uint32_t mask = 0;
    for (int p = 0; p < 4; p++) {
        __m256 a = _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * p));
        mask |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(a, vv, _CMP_EQ_OQ)) << (8 * p);
    }
    return mask ? (uint32_t)__builtin_ctz(mask) : 32;
}

/* float -> fp16 bits, round to nearest even: the same result as lq_fp32_to_fp16 for every
 * non-NaN input (NaN payloads may differ), in one instruction. */
static inline LQI_AVX2 uint16_t lqi_f2h(float f)
{
    return (uint16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/* roundf() on 8 lanes (halves away from zero; the hardware's nearest-even differs on exact
 * halves): truncate, then step away from zero where the exact remainder is >= 0.5. */
static inline LQI_AVX2 __m256i lqi_roundf_i32(__m256 v)
{
    __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256 frac = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(v, t));
    __m256 away = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    __m256 step = _mm256_or_ps(_mm256_and_ps(v, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(1.0f));
    t = _mm256_add_ps(t, _mm256_and_ps(away, step));
    return _mm256_cvtps_epi32(t);
}

/* Packs 4 x 8 int32 (elements 0..31, each within int8) into 32 bytes in element order. */
static inline LQI_AVX2 __m256i lqi_pack_i32_to_i8(__m256i a, __m256i b, __m256i c, __m256i d)
{
    __m256i ab = _mm256_packs_epi32(a, b);
    __m256i cd = _mm256_packs_epi32(c, d);
    __m256i r = _mm256_packs_epi16(ab, cd);
    return _mm256_permutevar8x32_epi32(r, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* Packs 2 x 8 int32 (each 0..255) into 16 bytes in element order. */
static inline LQI_AVX2 __m128i lqi_pack_u32_to_u8(__m256i a, __m256i b)
{
    __m256i w = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xD8);
    return _mm_packus_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
}

/* Writes 32 int8-valued bytes as floats scaled by d (q * d, the same product as scalar). */
static inline LQI_AVX2 void lqi_store_i8_scaled(__m256i q, float d, float *y)
{
    const __m256 vd = _mm256_set1_ps(d);
    __m128i lo = _mm256_castsi256_si128(q);
    __m128i hi = _mm256_extracti128_si256(q, 1);
    __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
    for (int k = 0; k < 4; k++) {
        __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(parts[k]));
        _mm256_storeu_ps(y + 8 * k, _mm256_mul_ps(f, vd));
    }
}

/* As lqi_store_i8_scaled for q * d + m (two roundings, no fused multiply-add, as scalar). */
static inline LQI_AVX2 void lqi_store_u8_affine(__m256i q, float d, float m, float *y)
{
    const __m256 vd = _mm256_set1_ps(d);
    const __m256 vm = _mm256_set1_ps(m);
    __m128i lo = _mm256_castsi256_si128(q);
    __m128i hi = _mm256_extracti128_si256(q, 1);
    __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
    for (int k = 0; k < 4; k++) {
        __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(parts[k]));
        _mm256_storeu_ps(y + 8 * k, _mm256_add_ps(_mm256_mul_ps(f, vd), vm));
    }
}

/* lqi_q8_block_ref's quants (as 4 x 8 int32, element order) and d: max|x| is exact in any
 * order, x * id is the same product, and lqi_roundf_i32 rounds halves away from zero like
 * roundf, so the bytes are the same. */
static inline LQI_AVX2 float lqi_q8_block_avx2(const float *x, __m256i q[4])
{
    const float d = lqi_absmax32(x) / ((1 << 7) - 1);
    const float id = d ? 1.0f / d : 0.0f;
    const __m256 vid = _mm256_set1_ps(id);
    for (int p = 0; p < 4; p++) {
        q[p] = lqi_roundf_i32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * p), vid));
    }
    return d;
}

// ---- AVX-512 ----------------------------------------------------------------------------

/* Two 32-byte halves (two consecutive blocks' quants) as one 512-bit vector. */
static inline LQI_AVX512 __m512i lqi_join256(__m256i lo, __m256i hi)
{
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/* Per-block scale vector: lanes 0..7 = d0, lanes 8..15 = d1. */
static inline LQI_AVX512 __m512 lqi_scale2(float d0, float d1)
{
    return _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(d0), _mm512_set1_ps(d1));
}

static inline LQI_AVX512 __m512 lqi_dot_u8i8_512(__m512i u, __m512i s)
{
    __m512i p16 = _mm512_maddubs_epi16(u, s);
    return _mm512_cvtepi32_ps(_mm512_madd_epi16(p16, _mm512_set1_epi16(1)));
}

/* i8 x i8 without a 512-bit sign instruction: |x| and y negated where x < 0. */
static inline LQI_AVX512 __m512 lqi_dot_i8i8_512(__m512i x, __m512i y)
{
    __mmask64 neg = _mm512_movepi8_mask(x);
    __m512i sy = _mm512_mask_sub_epi8(y, neg, _mm512_setzero_si512(), y);
    return lqi_dot_u8i8_512(_mm512_abs_epi8(x), sy);
}

#endif /* LQ_QUANTS_SIMD_X86_H */
