/* cli.c - error reporting helpers shared by the subcommands. */
#include "cli.h"

#include <stdarg.h>
#include <string.h>

int cli_exit_code(lq_status s)
{
    switch (s) {
    case LQ_OK:
        return LQ_EXIT_OK;
    case LQ_E_FORMAT:
    case LQ_E_UNSUPPORTED:
    case LQ_E_RANGE:
    case LQ_E_CHECKSUM:
        return LQ_EXIT_BADINPUT;
    case LQ_E_INVALID_ARG:
        return LQ_EXIT_USAGE;
    default:
        return LQ_EXIT_FAIL;
    }
}

int cli_fail(const char *cmd, const struct lq_error *err)
{
    const char *msg = err->msg[0] ? err->msg : lq_status_str(err->code);
    fprintf(stderr, "quant %s: ", cmd);
    cli_put_escaped(stderr, msg, strlen(msg), false);
    fputc('\n', stderr);
    return cli_exit_code(err->code);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "quant %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'quant %s --help'.\n", cmd);
    return LQ_EXIT_USAGE;
}
