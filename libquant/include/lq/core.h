/*
 * lq/core.h - status codes, error reports, logging and version of libquant.
 *
 * Every fallible libquant function returns an lq_status and takes an optional
 * `struct lq_error *err` as its last parameter. On failure the error carries the
 * same code and a one-line message that names the file, the offset or key, and
 * what was wrong. The library never prints and never exits; diagnostics go only
 * to a callback installed with lq_set_log_fn().
 */
#ifndef LQ_CORE_H
#define LQ_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LQ_API __attribute__((visibility("default")))

#define LQ_VERSION_MAJOR 0
#define LQ_VERSION_MINOR 1
#define LQ_VERSION_PATCH 0
#define LQ_VERSION_NUMBER (LQ_VERSION_MAJOR * 10000 + LQ_VERSION_MINOR * 100 + LQ_VERSION_PATCH)

/* Pinned values; never reused. */
typedef enum lq_status {
    LQ_OK = 0,
    LQ_E_IO = -1,          /* open/read/write/mmap failed */
    LQ_E_NOMEM = -2,       /* allocation failed */
    LQ_E_FORMAT = -3,      /* input violates its file format */
    LQ_E_UNSUPPORTED = -4, /* valid input that libquant does not handle */
    LQ_E_RANGE = -5,       /* a value out of range (overflow, too large, NaN) */
    LQ_E_INVALID_ARG = -6, /* caller error */
    LQ_E_CHECKSUM = -7,    /* data does not match its hash */
    LQ_E_NOT_FOUND = -8,   /* a named key, tensor or file is absent */
} lq_status;

#define LQ_ERROR_MSG_MAX 512

struct lq_error {
    lq_status code;
    char msg[LQ_ERROR_MSG_MAX];
};

/* Name of a status code ("format error", ...); never NULL. */
LQ_API const char *lq_status_str(lq_status s);

/* Clears an error report (code LQ_OK, empty message). Accepts NULL. */
LQ_API void lq_error_clear(struct lq_error *err);

/* Log levels and callback; the default is no callback, so nothing is printed. */
enum lq_log_level { LQ_LOG_DEBUG = 0, LQ_LOG_INFO = 1, LQ_LOG_WARN = 2 };
typedef void (*lq_log_fn)(enum lq_log_level level, const char *msg, void *user);
/* Installs the process-wide log callback (not thread-safe; call before other work). */
LQ_API void lq_set_log_fn(lq_log_fn fn, void *user);

/* Runtime version: LQ_VERSION_NUMBER of the library that was linked. */
LQ_API unsigned lq_version_number(void);
LQ_API const char *lq_version_string(void);

#ifdef __cplusplus
}
#endif
#endif /* LQ_CORE_H */
