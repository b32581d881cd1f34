/* kquant_rows.h - type-table rows of the 256-element super-block k-quants (Q2_K .. Q8_K).
 * Included by type_traits.c only; the kernels live in src/quants/<type>.c. The reference
 * quantizers are also the from_float paths of Q2_K..Q6_K (as in ggml); Q8_K, quantized on
 * every matrix product, has a SIMD path with the same bytes. */
#ifndef LQ_KQUANT_ROWS_H
#define LQ_KQUANT_ROWS_H

#include "quants/kquants.h"

/* multi / rows: the type's several-tokens / several-rows kernels, NULL where it has none. */
#define LQI_KQUANT_ROW_ROWS(T, nm, sz, multi, rows)                                                \
    {                                                                                              \
        .name = nm, .blck_size = QK_K, .type_size = sz, .is_quantized = true,                      \
        .to_float = lqi_dequantize_row_##T, .from_float_ref = lqi_quantize_row_##T##_ref,          \
        .from_float = lqi_quantize_row_##T##_ref, .quantize = lqi_quantize_##T,                    \
        .validate = lqi_validate_##T, .vec_dot_type = LQ_TYPE_Q8_K,                                \
        .vec_dot = lqi_vec_dot_##T##_q8_K, .vec_dot_multi = multi, .vec_dot_rows = rows            \
    }
#define LQI_KQUANT_ROW(T, nm, sz, multi) LQI_KQUANT_ROW_ROWS(T, nm, sz, multi, NULL)

#define LQ_KQUANT_TRAITS_ROWS                                                                      \
    [LQ_TYPE_Q2_K] = LQI_KQUANT_ROW(q2_K, "q2_K", sizeof(block_q2_K), NULL),                       \
    [LQ_TYPE_Q3_K] = LQI_KQUANT_ROW(q3_K, "q3_K", sizeof(block_q3_K), NULL),                       \
    [LQ_TYPE_Q4_K] = LQI_KQUANT_ROW_ROWS(q4_K, "q4_K", sizeof(block_q4_K),                          \
                                         lqi_vec_dot_multi_q4_K_q8_K, lqi_vec_dot_rows_q4_K_q8_K), \
    [LQ_TYPE_Q5_K] =                                                                               \
        LQI_KQUANT_ROW(q5_K, "q5_K", sizeof(block_q5_K), lqi_vec_dot_multi_q5_K_q8_K),             \
    [LQ_TYPE_Q6_K] =                                                                               \
        LQI_KQUANT_ROW(q6_K, "q6_K", sizeof(block_q6_K), lqi_vec_dot_multi_q6_K_q8_K),             \
    [LQ_TYPE_Q8_K] = {.name = "q8_K",                                                              \
                      .blck_size = QK_K,                                                           \
                      .type_size = sizeof(block_q8_K),                                             \
                      .is_quantized = true,                                                        \
                      .to_float = lqi_dequantize_row_q8_K,                                         \
                      .from_float_ref = lqi_quantize_row_q8_K_ref,                                 \
                      .from_float = lqi_quantize_row_q8_K,                                         \
                      .quantize = lqi_quantize_q8_K,                                               \
                      .validate = lqi_validate_q8_K,                                               \
                      .vec_dot_type = LQ_TYPE_Q8_K},

#endif
