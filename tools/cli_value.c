/* cli_value.c - option values: integers, sizes with units and floats, whole strings only. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli_opts.h"

bool cli_value_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    /* strtoll skips leading blanks; a value is the number alone */
    if (!*s || isspace((unsigned char)*s)) {
        return false;
    }
    const long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) {
        return false;
    }
    *out = v;
    return true;
}

bool cli_value_float(const char *s, double *out)
{
    char *end;
    errno = 0;
    if (!*s || isspace((unsigned char)*s)) {
        return false;
    }
    const double v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) {
        return false;
    }
    *out = v;
    return true;
}

/* The factor of a size unit: "", "B", "K", "KiB", "KB", ... (K: 1024, KB: 1000). */
static bool unit_factor(const char *u, double *f)
{
    static const char prefixes[] = "KMGT";
    if (!*u || strcasecmp(u, "B") == 0) {
        *f = 1.0;
        return true;
    }
    const char *p = strchr(prefixes, toupper((unsigned char)u[0]));
    if (!p || !*p) {
        return false;
    }
    const int k = (int)(p - prefixes) + 1;
    const char *rest = u + 1;
    const bool si = strcasecmp(rest, "B") == 0;
    if (!si && *rest && strcasecmp(rest, "iB") != 0) {
        return false;
    }
    *f = pow(si ? 1000.0 : 1024.0, k);
    return true;
}

bool cli_value_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)*s) && *s != '.') {
        return false;
    }
    const double v = strtod(s, &end);
    double f;
    if (errno || end == s || !unit_factor(end, &f)) {
        return false;
    }
    const double bytes = v * f;
    /* 2^64 is exactly representable; anything at or above it does not fit */
    if (!(bytes >= 0.0) || bytes >= 18446744073709551616.0 || bytes != floor(bytes)) {
        return false;
    }
    *out = (uint64_t)bytes;
    return true;
}
