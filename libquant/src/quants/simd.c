/* simd.c - run-time choice of the kernels' instruction set (lq/simd.h). */
#include "lq/simd.h"

#include <stdatomic.h>

#include "lqi.h"
#include "quants/simd.h"
#if LQI_X86
#include <cpuid.h>
#endif
#if LQI_X86 && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
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

/* AMX-TILE, AMX-BF16 and AMX-INT8 (CPUID leaf 7: EDX bits 24, 22, 25), their state in XCR0
 * (bits 17 and 18), and Linux's permission for this process to use the tile data: tile
 * instructions fault without it. Asked once; the permission lasts for the process. */
static bool amx_usable(void)
{
#if defined(__linux__)
    unsigned a, b, c, d;
    const unsigned amx_bits = 1u << 22 | 1u << 24 | 1u << 25;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || (d & amx_bits) != amx_bits ||
        !__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) { /* OSXSAVE: xgetbv */
        return false;
    }
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) {
        return false;
    }
    enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
    static atomic_int permitted = -1;
    int p = atomic_load(&permitted);
    if (p < 0) {
        p = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
        atomic_store(&permitted, p);
    }
    return p == 1;
#else
    return false;
#endif
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
    if (avx512 && amx_usable()) {
        return LQ_SIMD_AMX;
    }
    return avx512 ? LQ_SIMD_AVX512 : avx2 ? LQ_SIMD_AVX2 : LQ_SIMD_SCALAR;
#else
    return LQ_SIMD_SCALAR;
#endif
}

bool lqi_cpu_avx512_vnni(void)
{
#if LQI_X86
    static atomic_int known = -1;
    int v = atomic_load_explicit(&known, memory_order_relaxed);
    if (v < 0) {
        unsigned a, b, c, d;
        v = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & (1u << 11));
        atomic_store_explicit(&known, v, memory_order_relaxed);
    }
    return v;
#else
    return false;
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
    LQ_FAIL_IF((int)level < LQ_SIMD_SCALAR || (int)level >= LQ_SIMD_LEVEL_COUNT, err, LQ_E_INVALID_ARG,
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
    case LQ_SIMD_AMX:
        return "amx";
    }
    return "unknown";
}
