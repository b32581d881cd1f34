/* status.c - status names, error reports and the log callback. */
#include "lqi.h"

#include <stdio.h>
#include <string.h>

static lq_log_fn g_log_fn;
static void *g_log_user;

const char *lq_status_str(lq_status s)
{
    switch (s) {
    case LQ_OK: return "ok";
    case LQ_E_IO: return "I/O error";
    case LQ_E_NOMEM: return "out of memory";
    case LQ_E_FORMAT: return "format error";
    case LQ_E_UNSUPPORTED: return "unsupported";
    case LQ_E_RANGE: return "value out of range";
    case LQ_E_INVALID_ARG: return "invalid argument";
    case LQ_E_CHECKSUM: return "checksum mismatch";
    case LQ_E_NOT_FOUND: return "not found";
    }
    return "unknown status";
}

void lq_error_clear(struct lq_error *err)
{
    if (err) {
        err->code = LQ_OK;
        err->msg[0] = '\0';
    }
}

lq_status lqi_set_errorv(struct lq_error *err, lq_status code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    }
    return code;
}

lq_status lqi_set_error(struct lq_error *err, lq_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lqi_set_errorv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void lqi_error_prefix(struct lq_error *err, const char *fmt, ...)
{
    if (!err) {
        return;
    }
    char prefix[LQ_ERROR_MSG_MAX];
    char old[LQ_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t np = strlen(prefix);
    size_t no = strnlen(old, sizeof old - 1);
    if (np + no >= sizeof err->msg) {
        no = sizeof err->msg - 1 - np;
    }
    memcpy(err->msg, prefix, np);
    memcpy(err->msg + np, old, no);
    err->msg[np + no] = '\0';
}

void lq_set_log_fn(lq_log_fn fn, void *user)
{
    g_log_fn = fn;
    g_log_user = user;
}

void lqi_log(enum lq_log_level level, const char *fmt, ...)
{
    if (!g_log_fn) {
        return;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    g_log_fn(level, msg, g_log_user);
}

unsigned lq_version_number(void)
{
    return LQ_VERSION_NUMBER;
}

const char *lq_version_string(void)
{
    return LQ_VERSION_STRING;
}
