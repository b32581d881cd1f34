/* lqi.h - internal helpers shared by libquant's targets (lqi_ prefix). */
#ifndef LQ_LQI_H
#define LQ_LQI_H

#include "lq/core.h"

#include <stdbool.h>
#include <stdlib.h>

#define LQI_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))

/* Fills err (if any) with code and a formatted message; returns code. */
lq_status lqi_set_error(struct lq_error *err, lq_status code, const char *fmt, ...)
    LQI_PRINTF(3, 4);
lq_status lqi_set_errorv(struct lq_error *err, lq_status code, const char *fmt, va_list ap);

/* Prefixes an existing error message with context ("file.gguf: " + msg). */
void lqi_error_prefix(struct lq_error *err, const char *fmt, ...) LQI_PRINTF(2, 3);

/* Whether the CPU has AVX512_VNNI (vpdpbusd; CPUID leaf 7, sub-leaf 0, ECX bit 11): AVX-512
 * kernels with a VNNI variant take it where this holds. Cached after the first call; false
 * off x86. Pure as far as callers can tell. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((pure))
#endif
bool lqi_cpu_avx512_vnni(void);

/* Sends a message to the installed log callback, if any. */
void lqi_log(enum lq_log_level level, const char *fmt, ...) LQI_PRINTF(2, 3);

/* Fail with a message when cond holds. Returns code itself, not lqi_set_error's result, so
 * the optimiser sees a constant failure status: a caller's LQ_TRY then knows its out-params
 * were set on every LQ_OK path (no false -Wmaybe-uninitialized at -O3). */
#define LQ_FAIL_IF(cond, err, code, ...)                                                   \
    do {                                                                                   \
        if (cond) {                                                                        \
            lq_status lq_fail_code_ = (code);                                              \
            lqi_set_error((err), lq_fail_code_, __VA_ARGS__);                              \
            return lq_fail_code_;                                                          \
        }                                                                                  \
    } while (0)

/* Propagate a failing status unchanged (the error report is already filled). */
#define LQ_TRY(expr)                                                                       \
    do {                                                                                   \
        lq_status lq_try_rc_ = (expr);                                                     \
        if (lq_try_rc_ != LQ_OK) {                                                         \
            return lq_try_rc_;                                                             \
        }                                                                                  \
    } while (0)

/* Overflow-checked arithmetic on sizes from files: true when the result overflowed. */
static inline bool lqi_mul_overflow_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}
static inline bool lqi_add_overflow_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_add_overflow(a, b, out);
}
static inline bool lqi_mul_overflow_i64(int64_t a, int64_t b, int64_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}
static inline bool lqi_add_overflow_i64(int64_t a, int64_t b, int64_t *out)
{
    return __builtin_add_overflow(a, b, out);
}

/* Allocation seam: tests may redirect these. Sizes are checked for overflow. */
void *lqi_malloc(size_t n);
void *lqi_calloc(size_t count, size_t size);
void *lqi_realloc(void *p, size_t n);
void lqi_free(void *p);
/* A reusable buffer of at least `need` bytes: *buf is reallocated (contents kept) only when
 * *cap is smaller, so a loop over tensors allocates once per new maximum. NULL when out of
 * memory (the old buffer stays valid). */
void *lqi_grow(void **buf, size_t *cap, size_t need);
char *lqi_strdup(const char *s);
char *lqi_strndup(const char *s, size_t n);

/* Little-endian decoding helpers for on-disk integers (alignment-safe). */
static inline uint16_t lqi_rd_u16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t lqi_rd_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
static inline uint64_t lqi_rd_u64(const unsigned char *p)
{
    return (uint64_t)lqi_rd_u32(p) | ((uint64_t)lqi_rd_u32(p + 4) << 32);
}
static inline void lqi_wr_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static inline void lqi_wr_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}
static inline void lqi_wr_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

#endif /* LQ_LQI_H */
