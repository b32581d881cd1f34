/* lqt_run.c - see lqt_run.h. */
#include "lqt_run.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lqt_util.h"

extern char **environ;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *slurp_fd(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return strdup("");
    }
    char *buf = malloc((size_t)st.st_size + 1);
    assert_non_null(buf);
    ssize_t got = pread(fd, buf, (size_t)st.st_size, 0);
    buf[got > 0 ? got : 0] = '\0';
    return buf;
}

/* True when dir holds an entry whose name contains ".tmp.". */
static bool has_tmp_entry(const char *dir)
{
    DIR *d = opendir(dir);
    bool found = false;
    struct dirent *e;
    while (d && !found && (e = readdir(d)) != NULL) {
        found = strstr(e->d_name, ".tmp.") != NULL;
    }
    if (d) {
        closedir(d);
    }
    return found;
}

/* Waits for pid, sending opts' signal on time and SIGKILL past the limit. */
static int wait_child(pid_t pid, const struct lqt_run_opts *o, double t0, struct lqt_run *r)
{
    const double limit = o && o->max_seconds > 0 ? o->max_seconds : 300.0;
    bool sent = false;
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            return status;
        }
        const double t = now_seconds() - t0;
        if (o && o->send_signal && !sent && t >= o->signal_after &&
            (!o->signal_on_tmp_in || has_tmp_entry(o->signal_on_tmp_in))) {
            kill(pid, o->send_signal);
            sent = true;
        }
        if (t > limit) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            r->timed_out = true;
            return status;
        }
        usleep(2000);
    }
}

#if defined(__SANITIZE_ADDRESS__)
#define LQT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LQT_ASAN 1
#endif
#endif

/* The environment of the child: ours, plus the RSS limit under AddressSanitizer. */
static char **child_env(const struct lqt_run_opts *opts)
{
    size_t n = 0;
    while (environ[n]) {
        n++;
    }
    char **env = calloc(n + 2, sizeof *env);
    assert_non_null(env);
    size_t k = 0;
    const char *asan = "";
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "ASAN_OPTIONS=", 13) == 0) {
            asan = environ[i] + 13;
        } else {
            env[k++] = strdup(environ[i]);
        }
    }
#ifdef LQT_ASAN
    char opt[64] = "";
    if (opts && opts->max_mb > 0) {
        snprintf(opt, sizeof opt, "%shard_rss_limit_mb=%d", *asan ? ":" : "", opts->max_mb);
    }
#else
    const char *opt = "";
#endif
    if (*asan || *opt) {
        size_t len = strlen(asan) + strlen(opt) + 16;
        env[k] = malloc(len);
        assert_non_null(env[k]);
        snprintf(env[k++], len, "ASAN_OPTIONS=%s%s", asan, opt);
    }
    return env;
}

static void free_env(char **env)
{
    for (size_t i = 0; env[i]; i++) {
        free(env[i]);
    }
    free(env);
}

/* RLIMIT_AS for the child: set on us around posix_spawn, which the child inherits. */
static void limit_memory(const struct lqt_run_opts *opts, struct rlimit *old)
{
    assert_int_equal(getrlimit(RLIMIT_AS, old), 0);
#ifndef LQT_ASAN
    if (opts && opts->max_mb > 0) {
        struct rlimit lim = *old;
        lim.rlim_cur = (rlim_t)opts->max_mb << 20;
        if (old->rlim_max != RLIM_INFINITY && lim.rlim_cur > old->rlim_max) {
            lim.rlim_cur = old->rlim_max;
        }
        assert_int_equal(setrlimit(RLIMIT_AS, &lim), 0);
    }
#else
    (void)opts;
#endif
}

static void restore_memory(const struct lqt_run_opts *opts, const struct rlimit *old)
{
    if (opts && opts->max_mb > 0) {
        assert_int_equal(setrlimit(RLIMIT_AS, old), 0);
    }
}

struct lqt_run lqt_run_quant(const char *const *args, const struct lqt_run_opts *opts)
{
    const char *argv[64] = {LQ_QUANT_BIN};
    int n = 1;
    for (; args[n - 1] != NULL; n++) {
        assert_true(n < 63);
        argv[n] = args[n - 1];
    }
    argv[n] = NULL;
    char out_path[] = "/tmp/lqt_run_out_XXXXXX", err_path[] = "/tmp/lqt_run_err_XXXXXX";
    int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path);
    assert_true(out_fd >= 0 && err_fd >= 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(
        &fa, 0, opts && opts->stdin_path ? opts->stdin_path : "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    struct lqt_run r = {0};
    char **env = child_env(opts);
    struct rlimit old;
    limit_memory(opts, &old);
    const double t0 = now_seconds();
    pid_t pid;
    int spawned = posix_spawn(&pid, LQ_QUANT_BIN, &fa, NULL, (char *const *)argv, env);
    restore_memory(opts, &old);
    assert_int_equal(spawned, 0);
    posix_spawn_file_actions_destroy(&fa);
    free_env(env);
    int status = wait_child(pid, opts, t0, &r);
    r.seconds = now_seconds() - t0;
    if (WIFSIGNALED(status)) {
        r.signaled = true;
        r.code = 128 + WTERMSIG(status);
    } else {
        r.code = WEXITSTATUS(status);
    }
    r.out = slurp_fd(out_fd);
    r.err = slurp_fd(err_fd);
    close(out_fd);
    close(err_fd);
    unlink(out_path);
    unlink(err_path);
    return r;
}

void lqt_run_free(struct lqt_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

bool lqt_run_sanitizer_report(const struct lqt_run *r)
{
    return strstr(r->err, "Sanitizer") != NULL || strstr(r->err, "runtime error:") != NULL ||
           strstr(r->err, "Segmentation fault") != NULL;
}

static void join_args(const char *const *args, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; args[i] != NULL && at + 1 < cap; i++) {
        int k = snprintf(buf + at, cap - at, "%s%s", i ? " " : "", args[i]);
        if (k < 0) {
            break;
        }
        at += (size_t)k;
    }
}

void lqt_expect_exit(const struct lqt_run *r, const char *const *args, int code,
                     const char *in_stderr)
{
    if (r->code == code && !r->timed_out && !lqt_run_sanitizer_report(r) &&
        (!in_stderr || strstr(r->err, in_stderr))) {
        return;
    }
    char cmd[1024];
    join_args(args, cmd, sizeof cmd);
    fail_msg("quant %s: exit %d%s (want %d%s%s), %.2f s, stderr:\n%s", cmd, r->code,
             r->timed_out ? " after timeout" : "", code, in_stderr ? ", stderr with " : "",
             in_stderr ? in_stderr : "", r->seconds, r->err);
}
