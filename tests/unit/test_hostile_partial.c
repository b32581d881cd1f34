/* test_hostile_partial.c - issue 11, class 4: partial outputs. An interrupted run (SIGINT,
 * SIGTERM) removes its temporary files and exits with 128 + the signal; a run killed outright
 * (SIGKILL) leaves only a recognisable ".NAME.tmp.XXXXXX" beside the target; a write that
 * fails part-way (a full disk, simulated with RLIMIT_FSIZE) leaves nothing; an output that is
 * also an input is refused with exit 2 before anything runs. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lq/file_io.h"
#include "lqt_craft.h"
#include "lqt_hostile.h"
#include "lqt_run.h"
#include "lqt_util.h"

#define SMALL_GGUF "models/stories260K/stories260K-v1.gguf"
#define TEXT "text/heldout-A.txt"

/* The names in dir, newline-separated (without . and ..). */
static char *list_dir(const char *dir)
{
    char *s = calloc(1, 8192);
    assert_non_null(s);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            strncat(s, e->d_name, 8191 - strlen(s));
            strncat(s, "\n", 8191 - strlen(s));
        }
    }
    closedir(d);
    return s;
}

/* Runs `quant eval SMALL --text TEXT --chunks 4 --save-logits dir/base.logits` with opts. */
static struct lqt_run run_save_logits(const char *dir, struct lqt_run_opts *o)
{
    char out[4096];
    snprintf(out, sizeof out, "%s/base.logits", dir);
    const char *args[] = {"eval",
                          lqt_data_path(SMALL_GGUF),
                          "--text",
                          lqt_data_path(TEXT),
                          "--chunks",
                          "4",
                          "--save-logits",
                          out,
                          NULL};
    return lqt_run_quant(args, o);
}

/* An interruption while the output is being written: exit 128 + sig, and the folder is as it
 * was (no output, no temporary). */
static void expect_clean_interrupt(const char *what, struct lqt_run *r, int sig, const char *dir)
{
    char *names = list_dir(dir);
    if (r->code != 128 + sig || r->timed_out || lqt_run_sanitizer_report(r) || names[0]) {
        fail_msg("%s: exit %d (want %d), left behind: [%s], stderr: %s", what, r->code, 128 + sig,
                 names, r->err);
    }
    free(names);
}

static void interrupt_eval(int sig)
{
    char *dir = lqt_tmpdir();
    struct lqt_run_opts o = {.max_seconds = 120, .send_signal = sig, .signal_on_tmp_in = dir};
    struct lqt_run r = run_save_logits(dir, &o);
    expect_clean_interrupt("eval --save-logits", &r, sig, dir);
    lqt_run_free(&r);
    lqt_rmtree(dir);
    free(dir);
}

static void test_hostile_partial_sigterm_eval(void **state)
{
    (void)state;
    interrupt_eval(SIGTERM);
}

static void test_hostile_partial_sigint_eval(void **state)
{
    (void)state;
    interrupt_eval(SIGINT);
}

static void test_hostile_partial_sigint_convert(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    char out[4096];
    snprintf(out, sizeof out, "%s/out.gguf", dir);
    const char *args[] = {
        "convert", lqt_data_path("models/tiny-llama-6L"), "--type", "Q6_K", "-o", out, NULL};
    struct lqt_run_opts o = {.max_seconds = 120, .send_signal = SIGINT, .signal_on_tmp_in = dir};
    struct lqt_run r = lqt_run_quant(args, &o);
    expect_clean_interrupt("convert", &r, SIGINT, dir);
    lqt_run_free(&r);
    lqt_rmtree(dir);
    free(dir);
}

/* SIGKILL cannot be caught: what survives is the temporary, named so that it is obvious. */
static void test_hostile_partial_temp_name(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    struct lqt_run_opts o = {.max_seconds = 120, .send_signal = SIGKILL, .signal_on_tmp_in = dir};
    struct lqt_run r = run_save_logits(dir, &o);
    char *names = list_dir(dir);
    const char *want = ".base.logits.tmp.";
    if (r.code != 128 + SIGKILL || strncmp(names, want, strlen(want)) != 0 ||
        strlen(names) != strlen(want) + 7 || names[strlen(want) + 6] != '\n') {
        fail_msg("exit %d, left behind: [%s] (want one %sXXXXXX)", r.code, names, want);
    }
    free(names);
    lqt_run_free(&r);
    lqt_rmtree(dir);
    free(dir);
}

/* A disk that fills up part-way: the write fails, nothing is left under the name. */
static void test_hostile_partial_full_disk(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 64 * 1024;                     /* the file is ~480 KiB */
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN); /* write fails with EFBIG instead */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    struct lqt_run_opts o = {.max_seconds = 120};
    struct lqt_run r = run_save_logits(dir, &o);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    char *names = list_dir(dir);
    if (r.code != 1 || names[0] || lqt_run_sanitizer_report(&r)) {
        fail_msg("exit %d (want 1), left behind: [%s], stderr: %s", r.code, names, r.err);
    }
    free(names);
    lqt_run_free(&r);
    lqt_rmtree(dir);
    free(dir);
}

/* What a signal handler calls: every registered temporary file and folder (with the files
 * inside it) goes, and a committed output stays. */
static void test_hostile_partial_cleanup_all(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    char path[4096];
    struct lq_error err = {0};
    snprintf(path, sizeof path, "%s/done.txt", dir);
    lq_out *done = NULL;
    assert_int_equal(lq_out_open(path, &done, &err), LQ_OK);
    assert_int_equal(lq_out_commit(done, &err), LQ_OK);
    snprintf(path, sizeof path, "%s/file.bin", dir);
    lq_out *o = NULL;
    assert_int_equal(lq_out_open(path, &o, &err), LQ_OK);
    assert_int_equal(write(lq_out_fd(o), "x", 1), 1);
    snprintf(path, sizeof path, "%s/folder", dir);
    lq_out_dir *d = NULL;
    assert_int_equal(lq_out_dir_open(path, false, &d, &err), LQ_OK);
    snprintf(path, sizeof path, "%s/inside.json", lq_out_dir_path(d));
    lq_out *in = NULL;
    assert_int_equal(lq_out_open(path, &in, &err), LQ_OK);
    snprintf(path, sizeof path, "%s/committed.json", lq_out_dir_path(d));
    lq_out *c = NULL;
    assert_int_equal(lq_out_open(path, &c, &err), LQ_OK);
    assert_int_equal(lq_out_commit(c, &err), LQ_OK);
    char *names = list_dir(dir);
    assert_non_null(strstr(names, ".file.bin.tmp."));
    assert_non_null(strstr(names, ".folder.tmp."));
    free(names);
    lq_tmp_cleanup_all();
    names = list_dir(dir);
    assert_string_equal(names, "done.txt\n");
    free(names);
    /* the handles still need freeing; their files are gone already */
    lq_out_abort(o);
    lq_out_abort(in);
    lq_out_dir_abort(d);
    lqt_rmtree(dir);
    free(dir);
}

// ---- an output that is also an input (the hostile corpus) ----

/* dir/m.gguf, a copy of the small model. */
static const char *small_copy(const char *dir, char *buf)
{
    const char *p = lqt_hostile_str(buf, "%s/m.gguf", dir);
    size_t n;
    void *data = lqt_read_file(lqt_data_path(SMALL_GGUF), &n);
    lqt_write_file(p, data, n);
    free(data);
    return p;
}

static void make_quantize_in_place(const char *dir, const char **args, char *buf)
{
    const char *m = small_copy(dir, buf);
    args[0] = "quantize";
    args[1] = m;
    args[2] = m;
    args[3] = "Q8_0";
}

static void make_quantize_hard_link(const char *dir, const char **args, char *buf)
{
    const char *m = small_copy(dir, buf);
    const char *alias = lqt_hostile_str(buf, "%s/alias.gguf", dir);
    assert_int_equal(link(m, alias), 0);
    args[0] = "quantize";
    args[1] = m;
    args[2] = alias;
    args[3] = "Q8_0";
}

static void make_convert_dot_path(const char *dir, const char **args, char *buf)
{
    const char *m = small_copy(dir, buf);
    args[0] = "convert";
    args[1] = m;
    args[2] = "-o";
    args[3] = lqt_hostile_str(buf, "%s/./m.gguf", dir);
}

static void make_save_logits_over_text(const char *dir, const char **args, char *buf)
{
    const char *text = lqt_hostile_str(buf, "%s/text.txt", dir);
    lqt_write_file(text, "Once upon a time there was a text.\n", 35);
    args[0] = "eval";
    args[1] = lqt_data_path(SMALL_GGUF);
    args[2] = "--text";
    args[3] = text;
    args[4] = "--save-logits";
    args[5] = text;
}

static void make_imatrix_over_calib(const char *dir, const char **args, char *buf)
{
    const char *text = lqt_hostile_str(buf, "%s/calib.txt", dir);
    lqt_write_file(text, "Once upon a time there was a text.\n", 35);
    args[0] = "imatrix";
    args[1] = lqt_data_path(SMALL_GGUF);
    args[2] = "--calib";
    args[3] = text;
    args[4] = "-o";
    args[5] = text;
}

static void make_junit_over_baseline(const char *dir, const char **args, char *buf)
{
    const char *b = lqt_hostile_str(buf, "%s/baseline.json", dir);
    lqt_write_file(b, "{}", 2);
    args[0] = "check";
    args[1] = "--baseline";
    args[2] = b;
    args[3] = "--junit";
    args[4] = b;
    args[5] = lqt_data_path(SMALL_GGUF);
}

static void make_gptq_over_model(const char *dir, const char **args, char *buf)
{
    const char *m = small_copy(dir, buf);
    args[0] = "gptq";
    args[1] = m;
    args[2] = "--calib";
    args[3] = lqt_data_path(TEXT);
    args[4] = "-o";
    args[5] = m;
}

static void make_report_over_text(const char *dir, const char **args, char *buf)
{
    const char *text = lqt_hostile_str(buf, "%s/report.md", dir);
    lqt_write_file(text, "Once upon a time there was a text.\n", 35);
    args[0] = "report";
    args[1] = lqt_data_path(SMALL_GGUF);
    args[2] = "--text";
    args[3] = text;
    args[4] = "--out";
    args[5] = dir;
}

static const struct lqt_hostile_case same_file_cases[] = {
    {"partial/quantize-in-place", make_quantize_in_place, 2, "also an input", 30},
    {"partial/quantize-hard-link", make_quantize_hard_link, 2, "also an input", 30},
    {"partial/convert-dot-path", make_convert_dot_path, 2, "also an input", 30},
    {"partial/save-logits-over-text", make_save_logits_over_text, 2, "also an input", 30},
    {"partial/imatrix-over-calib", make_imatrix_over_calib, 2, "also an input", 30},
    {"partial/junit-over-baseline", make_junit_over_baseline, 2, "also an input", 30},
    {"partial/gptq-over-model", make_gptq_over_model, 2, "also an input", 30},
    {"partial/report-over-text", make_report_over_text, 2, "also an input", 30},
};

static void test_hostile_partial_output_is_input(void **state)
{
    (void)state;
    lqt_hostile_run(same_file_cases, sizeof same_file_cases / sizeof same_file_cases[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_partial_sigterm_eval),
        cmocka_unit_test(test_hostile_partial_sigint_eval),
        cmocka_unit_test(test_hostile_partial_sigint_convert),
        cmocka_unit_test(test_hostile_partial_temp_name),
        cmocka_unit_test(test_hostile_partial_full_disk),
        cmocka_unit_test(test_hostile_partial_cleanup_all),
        cmocka_unit_test(test_hostile_partial_output_is_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
