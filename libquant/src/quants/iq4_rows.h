/* iq4_rows.h - type-table rows of the 4-bit non-linear types IQ4_NL and IQ4_XS.
 * Included by type_traits.c only; the kernels live in src/quants/iq4_nl.c and iq4_xs.c. */
#ifndef LQ_IQ4_ROWS_H
#define LQ_IQ4_ROWS_H

#include "quants/iq4.h"

#define LQI_IQ4_ROW(t, bs, blk, act, dot, multi)                                                   \
    {                                                                                              \
        .name = #t, .blck_size = bs, .type_size = sizeof(blk), .is_quantized = true,               \
        .to_float = lqi_dequantize_row_##t, .from_float_ref = lqi_quantize_row_##t##_ref,          \
        .from_float = lqi_quantize_row_##t##_ref, .quantize = lqi_quantize_##t,                    \
        .validate = lqi_validate_##t, .vec_dot_type = act, .vec_dot = dot, .vec_dot_multi = multi  \
    }

#define LQ_IQ4_TRAITS_ROWS                                                                         \
    [LQ_TYPE_IQ4_NL] = LQI_IQ4_ROW(iq4_nl, QK4_NL, block_iq4_nl, LQ_TYPE_Q8_0,                     \
                                   lqi_vec_dot_iq4_nl_q8_0, lqi_vec_dot_multi_iq4_nl_q8_0),        \
    [LQ_TYPE_IQ4_XS] = LQI_IQ4_ROW(iq4_xs, QK_K, block_iq4_xs, LQ_TYPE_Q8_K,                       \
                                   lqi_vec_dot_iq4_xs_q8_K, lqi_vec_dot_multi_iq4_xs_q8_K),

#endif
