/* legacy_rows.h - type-table rows of the 32-element block types (Q4_0 .. Q8_1).
 * Included by type_traits.c only; the kernels live in src/quants/<type>.c (legacy.h). */
#ifndef LQ_LEGACY_ROWS_H
#define LQ_LEGACY_ROWS_H

#include "quants/legacy.h"

/* One row; dot is the kernel against vec_dot_type (NULL when there is none), rows its
 * several-rows form (NULL: none). */
#define LQI_LEGACY_ROW_ROWS(t, blk, act, dot, multi, rows)                                         \
    {                                                                                              \
        .name = #t, .blck_size = 32, .type_size = sizeof(blk), .is_quantized = true,               \
        .to_float = lqi_dequantize_row_##t, .from_float_ref = lqi_quantize_row_##t##_ref,          \
        .from_float = lqi_quantize_row_##t, .quantize = lqi_quantize_##t,                          \
        .validate = lqi_validate_##t, .vec_dot_type = act, .vec_dot = dot,                         \
        .vec_dot_multi = multi, .vec_dot_rows = rows                                               \
    }
#define LQI_LEGACY_ROW(t, blk, act, dot, multi) LQI_LEGACY_ROW_ROWS(t, blk, act, dot, multi, NULL)

/* Q8_1 exists as the activation of the _1 types; like ggml, nothing takes it on the left. */
#define LQ_LEGACY_TRAITS_ROWS                                                                      \
    [LQ_TYPE_Q4_0] = LQI_LEGACY_ROW_ROWS(q4_0, block_q4_0, LQ_TYPE_Q8_0, lqi_vec_dot_q4_0_q8_0,    \
                                         lqi_vec_dot_multi_q4_0_q8_0,                              \
                                         lqi_vec_dot_rows_q4_0_q8_0),                              \
    [LQ_TYPE_Q4_1] = LQI_LEGACY_ROW(q4_1, block_q4_1, LQ_TYPE_Q8_1, lqi_vec_dot_q4_1_q8_1,         \
                                    lqi_vec_dot_multi_q4_1_q8_1),                                  \
    [LQ_TYPE_Q5_0] = LQI_LEGACY_ROW(q5_0, block_q5_0, LQ_TYPE_Q8_0, lqi_vec_dot_q5_0_q8_0,         \
                                    lqi_vec_dot_multi_q5_0_q8_0),                                  \
    [LQ_TYPE_Q5_1] = LQI_LEGACY_ROW(q5_1, block_q5_1, LQ_TYPE_Q8_1, lqi_vec_dot_q5_1_q8_1,         \
                                    lqi_vec_dot_multi_q5_1_q8_1),                                  \
    [LQ_TYPE_Q8_0] = LQI_LEGACY_ROW(q8_0, block_q8_0, LQ_TYPE_Q8_0, lqi_vec_dot_q8_0_q8_0,         \
                                    lqi_vec_dot_multi_q8_0_q8_0),                                  \
    [LQ_TYPE_Q8_1] = LQI_LEGACY_ROW(q8_1, block_q8_1, LQ_TYPE_Q8_1, NULL, NULL),

#endif
