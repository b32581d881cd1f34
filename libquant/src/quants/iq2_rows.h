/* iq2_rows.h - type-table rows of the 1- and 2-bit i-quants (IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S,
 * IQ1_M). Included by type_traits.c only; the kernels live in src/quants/<type>.c. As in
 * ggml, only IQ2_S has a reference quantizer (from_float_ref); the others quantize through
 * `quantize` alone, and IQ2_XXS, IQ2_XS and IQ1_S only with importance weights. */
#ifndef LQ_QUANTS_IQ2_ROWS_H
#define LQ_QUANTS_IQ2_ROWS_H

#include "quants/iq2quants.h"

#define LQI_IQ2_ROW(T, nm, ref, imat)                                                              \
    {                                                                                              \
        .name = nm, .blck_size = QK_K, .type_size = sizeof(block_##T), .is_quantized = true,       \
        .needs_imatrix = imat, .to_float = lqi_dequantize_row_##T, .from_float_ref = ref,          \
        .quantize = lqi_quantize_##T, .validate = lqi_validate_##T, .vec_dot_type = LQ_TYPE_Q8_K,  \
        .vec_dot = lqi_vec_dot_##T##_q8_K, .vec_dot_multi = lqi_vec_dot_multi_##T##_q8_K           \
    }

#define LQ_IQ2_TRAITS_ROWS                                                                         \
    [LQ_TYPE_IQ2_XXS] = LQI_IQ2_ROW(iq2_xxs, "iq2_xxs", NULL, true),                               \
    [LQ_TYPE_IQ2_XS] = LQI_IQ2_ROW(iq2_xs, "iq2_xs", NULL, true),                                  \
    [LQ_TYPE_IQ2_S] = LQI_IQ2_ROW(iq2_s, "iq2_s", lqi_quantize_row_iq2_s_ref, false),              \
    [LQ_TYPE_IQ1_S] = LQI_IQ2_ROW(iq1_s, "iq1_s", NULL, true),                                     \
    [LQ_TYPE_IQ1_M] = LQI_IQ2_ROW(iq1_m, "iq1_m", NULL, false),

#endif
