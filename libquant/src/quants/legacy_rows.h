/* legacy_rows.h - type-table rows of the 32-element block types (Q4_0 .. Q8_1).
 * Included by type_traits.c only; the kernels live in src/quants/<type>.c. */
#ifndef LQ_LEGACY_ROWS_H
#define LQ_LEGACY_ROWS_H

#define LQ_LEGACY_TRAITS_ROWS                                                              \
    [LQ_TYPE_Q4_0] = { .name = "q4_0", .blck_size = 32, .type_size = 18, .is_quantized = true }, \
    [LQ_TYPE_Q4_1] = { .name = "q4_1", .blck_size = 32, .type_size = 20, .is_quantized = true }, \
    [LQ_TYPE_Q5_0] = { .name = "q5_0", .blck_size = 32, .type_size = 22, .is_quantized = true }, \
    [LQ_TYPE_Q5_1] = { .name = "q5_1", .blck_size = 32, .type_size = 24, .is_quantized = true }, \
    [LQ_TYPE_Q8_0] = { .name = "q8_0", .blck_size = 32, .type_size = 34, .is_quantized = true }, \
    [LQ_TYPE_Q8_1] = { .name = "q8_1", .blck_size = 32, .type_size = 36, .is_quantized = true },

#endif
