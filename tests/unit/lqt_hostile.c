/* lqt_hostile.c - see lqt_hostile.h. */
#include "lqt_hostile.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lqt_run.h"
#include "lqt_util.h"

// ---- listing a folder ----

/* Newline-separated relative paths of everything under a folder (nftw has no user pointer,
 * hence the file-scope state; tests are single-threaded). */
static char *g_list;
static size_t g_len, g_cap, g_root_len;

static int list_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    const char *rel = path + g_root_len;
    size_t k = strlen(rel) + 1;
    if (g_len + k + 1 > g_cap) {
        g_cap = (g_len + k + 1) * 2;
        g_list = realloc(g_list, g_cap);
        assert_non_null(g_list);
    }
    memcpy(g_list + g_len, rel, k - 1);
    g_list[g_len + k - 1] = '\n';
    g_len += k;
    g_list[g_len] = '\0';
    return 0;
}

static char *list_tree(const char *dir)
{
    g_list = calloc(1, 1);
    g_len = 0;
    g_cap = 1;
    g_root_len = strlen(dir);
    nftw(dir, list_one, 16, FTW_PHYS);
    return g_list;
}

/* The first line of after that is not in before (both are lists of list_tree), or NULL. */
static char *first_new_entry(const char *before, const char *after)
{
    for (const char *p = after; *p;) {
        const char *nl = strchr(p, '\n');
        size_t k = nl ? (size_t)(nl - p) : strlen(p);
        char line[1024];
        snprintf(line, sizeof line, "\n%.*s\n", (int)k, p);
        char *hay = malloc(strlen(before) + 2);
        assert_non_null(hay);
        sprintf(hay, "\n%s", before);
        bool found = strstr(hay, line) != NULL;
        free(hay);
        if (!found) {
            return strndup(p, k);
        }
        p = nl ? nl + 1 : p + k;
    }
    return NULL;
}

// ---- the runner ----

const char *lqt_hostile_str(char *buf, const char *fmt, ...)
{
    size_t used = 0;
    /* buf holds NUL-separated strings; the end is marked by two NULs (buf starts zeroed). */
    while (used + 1 < LQT_HOSTILE_BUF && (buf[used] != '\0' || buf[used + 1] != '\0')) {
        used++;
    }
    char *at = buf + (used ? used + 1 : 0);
    size_t left = LQT_HOSTILE_BUF - (size_t)(at - buf) - 1;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(at, left, fmt, ap);
    va_end(ap);
    assert_true(k >= 0 && (size_t)k < left);
    at[k + 1] = '\0';
    return at;
}

static int g_max_mb; /* set by lqt_hostile_run_limited for its cases */

/* Runs one case; returns a malloc'd description of what went wrong, or NULL. */
static char *run_case(const struct lqt_hostile_case *c)
{
    char *dir = lqt_tmpdir();
    char *buf = calloc(1, LQT_HOSTILE_BUF);
    const char *args[LQT_HOSTILE_MAX_ARGS + 1] = {0};
    assert_non_null(buf);
    c->make(dir, args, buf);
    char *before = list_tree(dir);
    struct lqt_run_opts o = {.max_seconds = c->max_seconds > 0 ? c->max_seconds : 30.0,
                             .max_mb = g_max_mb};
    struct lqt_run r = lqt_run_quant(args, &o);
    char *after = list_tree(dir);
    char *fresh = c->want_exit != 0 ? first_new_entry(before, after) : NULL;
    char *tmp = strstr(after, ".tmp.") ? strdup(".tmp.") : NULL;
    char *why = NULL;
    if (r.code != c->want_exit || r.timed_out || lqt_run_sanitizer_report(&r) ||
        (c->want_msg && !strstr(r.err, c->want_msg)) || fresh || tmp) {
        size_t cap = strlen(r.err) + 1024;
        why = malloc(cap);
        assert_non_null(why);
        snprintf(why, cap, "%s: exit %d%s (want %d), %.2f s%s%s%s%s%s, stderr: %.600s", c->name,
                 r.code, r.timed_out ? " killed at the time limit" : "", c->want_exit, r.seconds,
                 c->want_msg && !strstr(r.err, c->want_msg) ? ", stderr lacks '" : "",
                 c->want_msg && !strstr(r.err, c->want_msg) ? c->want_msg : "",
                 fresh ? ", left behind: " : "", fresh ? fresh : "",
                 tmp ? ", a temporary file survived" : "", r.err);
    }
    free(fresh);
    free(tmp);
    free(before);
    free(after);
    lqt_run_free(&r);
    free(buf);
    lqt_rmtree(dir);
    free(dir);
    return why;
}

size_t lqt_hostile_failures(const struct lqt_hostile_case *cases, size_t n)
{
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        char *why = run_case(&cases[i]);
        if (why) {
            fprintf(stderr, "FAIL %s\n", why);
            failed++;
        } else {
            fprintf(stderr, "ok   %s\n", cases[i].name);
        }
        free(why);
    }
    return failed;
}

void lqt_hostile_run(const struct lqt_hostile_case *cases, size_t n)
{
    size_t failed = lqt_hostile_failures(cases, n);
    if (failed) {
        fail_msg("%zu of %zu hostile cases failed (listed above)", failed, n);
    }
}

void lqt_hostile_run_limited(const struct lqt_hostile_case *cases, size_t n, int max_mb)
{
    g_max_mb = max_mb;
    size_t failed = lqt_hostile_failures(cases, n);
    g_max_mb = 0;
    if (failed) {
        fail_msg("%zu of %zu hostile cases failed within %d MiB (listed above)", failed, n, max_mb);
    }
}
