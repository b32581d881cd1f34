/* lqt_util.c - shared helpers of the cmocka tests. */
#include "lqt_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *lqt_data_dir(void)
{
    const char *env = getenv("LIBQUANT_DATA");
    return env && env[0] ? env : LQ_DATA_DEFAULT;
}

const char *lqt_data_path(const char *rel)
{
    static char bufs[8][4096];
    static int slot;
    char *buf = bufs[slot++ % 8];
    snprintf(buf, sizeof bufs[0], "%s/%s", lqt_data_dir(), rel);
    struct stat st;
    if (stat(buf, &st) != 0) {
        fail_msg("test data missing: %s (set LIBQUANT_DATA to the shared data folder)", buf);
    }
    return buf;
}

void *lqt_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail_msg("cannot open %s", path);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc(n > 0 ? (size_t)n : 1);
    assert_non_null(buf);
    if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fail_msg("short read on %s", path);
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

char *lqt_read_text(const char *path)
{
    size_t n;
    char *s = lqt_read_file(path, &n);
    char *t = realloc(s, n + 1);
    assert_non_null(t);
    t[n] = '\0';
    return t;
}

void lqt_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fail_msg("cannot create %s", path);
    }
    if (size && fwrite(data, 1, size, f) != size) {
        fail_msg("short write on %s", path);
    }
    fclose(f);
}

char *lqt_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/lqtest-XXXXXX", base && base[0] ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    if (!d) {
        fail_msg("mkdtemp failed");
    }
    return strdup(d);
}

void lqt_rmtree(const char *path)
{
    if (path && strncmp(path, "/", 1) == 0 && strstr(path, "lqtest-")) {
        lqt_system("rm -rf '%s'", path);
    }
}

int lqt_system(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st)) {
        return -1;
    }
    return WEXITSTATUS(st);
}
