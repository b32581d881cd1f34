/* kquant_rows.h - type-table rows of the 256-element super-block k-quants (Q2_K .. Q8_K).
 * Included by type_traits.c only; the kernels live in src/quants/<type>.c. */
#ifndef LQ_KQUANT_ROWS_H
#define LQ_KQUANT_ROWS_H

#define LQ_KQUANT_TRAITS_ROWS                                                              \
    [LQ_TYPE_Q2_K] = { .name = "q2_K", .blck_size = 256, .type_size = 84, .is_quantized = true }, \
    [LQ_TYPE_Q3_K] = { .name = "q3_K", .blck_size = 256, .type_size = 110, .is_quantized = true }, \
    [LQ_TYPE_Q4_K] = { .name = "q4_K", .blck_size = 256, .type_size = 144, .is_quantized = true }, \
    [LQ_TYPE_Q5_K] = { .name = "q5_K", .blck_size = 256, .type_size = 176, .is_quantized = true }, \
    [LQ_TYPE_Q6_K] = { .name = "q6_K", .blck_size = 256, .type_size = 210, .is_quantized = true }, \
    [LQ_TYPE_Q8_K] = { .name = "q8_K", .blck_size = 256, .type_size = 292, .is_quantized = true },

#endif
