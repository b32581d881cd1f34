/* simd.h - internal side of lq/simd.h: the level check the kernels' dispatchers use. */
#ifndef LQ_QUANTS_SIMD_H
#define LQ_QUANTS_SIMD_H

#include <stdbool.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LQI_X86 1
#else
#define LQI_X86 0
#endif

/* The level in force (enum lq_simd_level as int). Cheap: one relaxed atomic load. */
int lqi_simd_level(void);

#endif /* LQ_QUANTS_SIMD_H */
