/* simd.c - run-time choice of the kernels' instruction set (lq/simd.h). */
#include "lq/simd.h"

#include <stdatomic.h>

#include "lqi.h"
#include "quants/simd.h"
#if LQI_X86
#include <cpuid.h>
#endif

/* -1 until first use; then the level in force. Atomic so concurrent first calls are safe. */
static atomic_int active_level = -1;

#if LQI_X86
/* F16C from CPUID leaf 1 (ECX bit 29): not every compiler's __builtin_cpu_supports knows it.
 * The OS-support side is covered by the AVX2 check, which needs the same YMM state. */
static bool cpu_has_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
}
#endif

enum lq_simd_level lq_simd_level_supported(void)
{
#if LQI_X86
    __builtin_cpu_init();
    bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                cpu_has_f16c();
    bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512vl");
    return avx512 ? LQ_SIMD_AVX512 : avx2 ? LQ_SIMD_AVX2 : LQ_SIMD_SCALAR;
#else
    return LQ_SIMD_SCALAR;
#endif
}

int lqi_simd_level(void)
{
    int lvl = atomic_load_explicit(&active_level, memory_order_relaxed);
    if (lvl < 0) {
        lvl = (int)lq_simd_level_supported();
        atomic_store_explicit(&active_level, lvl, memory_order_relaxed);
    }
    return lvl;
}

enum lq_simd_level lq_simd_level_get(void)
{
    return (enum lq_simd_level)lqi_simd_level();
}

lq_status lq_simd_level_set(enum lq_simd_level level, struct lq_error *err)
{
    LQ_FAIL_IF((int)level < LQ_SIMD_SCALAR || (int)level > LQ_SIMD_AVX512, err, LQ_E_INVALID_ARG,
               "simd: unknown level %d", (int)level);
    enum lq_simd_level best = lq_simd_level_supported();
    LQ_FAIL_IF(level > best, err, LQ_E_UNSUPPORTED, "simd: this CPU supports up to %s, not %s",
               lq_simd_level_name(best), lq_simd_level_name(level));
    atomic_store_explicit(&active_level, (int)level, memory_order_relaxed);
    return LQ_OK;
}

const char *lq_simd_level_name(enum lq_simd_level level)
{
    switch (level) {
    case LQ_SIMD_SCALAR:
        return "scalar";
    case LQ_SIMD_AVX2:
        return "avx2";
    case LQ_SIMD_AVX512:
        return "avx512";
    }
    return "unknown";
}
