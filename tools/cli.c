/* cli.c - error reporting helpers shared by the subcommands. */
#include "cli.h"

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "lq/file_io.h"

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

int cli_refuse_input_as_output(const char *cmd, const char *out, ...)
{
    if (!out) {
        return LQ_EXIT_OK;
    }
    va_list ap;
    va_start(ap, out);
    const char *in;
    int rc = LQ_EXIT_OK;
    while (rc == LQ_EXIT_OK && (in = va_arg(ap, const char *)) != NULL) {
        if (lq_same_file(out, in)) {
            rc = cli_usage_error(cmd, "%s: the output is also an input (%s); refused", out, in);
        }
    }
    va_end(ap);
    return rc;
}
