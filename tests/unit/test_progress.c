/* test_progress.c - the progress line (tools/progress.c, built in): it fits any terminal width,
 * is redrawn at most PROGRESS_TTY_HZ times a second, and `quant` shows it on a terminal of 60
 * or 200 columns, never on a pipe unless --progress asks for plain lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lqt_pty.h"
#include "lqt_run.h"
#include "lqt_util.h"
#include "progress.h"

#define LONG_LABEL "blk.31.ffn_down_exps.weight.with.a.name.much.longer.than.any.terminal.line"

static void test_progress_format_fits_every_width(void **state)
{
    (void)state;
    struct progress p;
    char buf[512];
    for (int mode = 0; mode < 2; mode++) {
        progress_start(&p, mode ? "quantize" : "report", mode ? 1u << 30 : 0);
        p.done = 17;
        p.total = 57;
        p.bytes_done = 1u << 28;
        snprintf(p.label, sizeof p.label, "%s", LONG_LABEL);
        for (int w = 8; w <= 300; w++) {
            progress_format(&p, p.t0 + 12.5, w, buf, sizeof buf);
            if ((int)strlen(buf) > w - 1)
                fail_msg("width %d: %zu columns: %s", w, strlen(buf), buf);
            if (w >= 60 && !strstr(buf, "ETA"))
                fail_msg("width %d: no ETA: %s", w, buf);
            if (w >= 60 && !strstr(buf, "[#"))
                fail_msg("width %d: no bar: %s", w, buf);
        }
        progress_format(&p, p.t0 + 12.5, 200, buf, sizeof buf);
        assert_non_null(strstr(buf, mode ? "MiB/s" : "it/s"));
        assert_non_null(strstr(buf, "much.longer")); /* room for the whole label */
    }
}

/* A tight loop of updates draws about PROGRESS_TTY_HZ lines a second, plus the last state. */
static void test_progress_redraws_are_rate_limited(void **state)
{
    (void)state;
    char path[] = "/tmp/lqt_progress_XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    assert_true(fd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(fd, 2);
    struct progress p;
    progress_start(&p, "test", 0);
    p.enabled = true; /* as on a terminal */
    p.plain = false;
    int64_t n = 0;
    while (progress_now() - p.t0 < 0.6) {
        progress_units(&p, ++n, 1 << 30, "label");
    }
    progress_end(&p);
    const double secs = progress_now() - p.t0;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    size_t size;
    char *out = lqt_read_file(path, &size);
    out = realloc(out, size + 1);
    out[size] = '\0';
    int redraws = lqt_pty_check_redraws(out, 80, secs, PROGRESS_TTY_HZ);
    assert_true(n > 1000 && redraws >= 2);
    assert_int_equal(out[size - 1], '\n'); /* progress_end ends the line */
    free(out);
    close(fd);
    unlink(path);
}

static char *tmp_out;

static void run_on_terminal(const char *const *args, int cols)
{
    struct lqt_run r = lqt_run_quant_pty(args, cols, 120);
    if (r.code != 0)
        fail_msg("quant %s on a %d-column terminal: exit %d: %s", args[0], cols, r.code, r.err);
    int redraws = lqt_pty_check_redraws(r.err, cols, r.seconds, PROGRESS_TTY_HZ);
    if (redraws < 1)
        fail_msg("quant %s on a terminal drew no progress: %s", args[0], r.err);
    assert_non_null(strstr(r.err, "ETA"));
    lqt_run_free(&r);
}

static void test_progress_on_terminals_of_60_and_200_columns(void **state)
{
    (void)state;
    char out[4096];
    snprintf(out, sizeof out, "%s/q.gguf", tmp_out);
    const char *model = lqt_data_path("models/tiny-llama-6L");
    const char *convert[] = {"convert", "--threads", "1", "--type", "q4_k_m",
                             model,     "-o",        out, NULL};
    run_on_terminal(convert, 60);
    run_on_terminal(convert, 200);
    const char *eval[] = {"eval",      lqt_data_path("models/stories260K/stories260K.bin"),
                          "--text",    lqt_data_path("text/heldout-A.txt"),
                          "--ctx",     "128",
                          "--chunks",  "8",
                          "--threads", "1",
                          NULL};
    run_on_terminal(eval, 60);
}

/* The calibration and report commands draw the same line. */
static void test_progress_calibration_and_report_on_a_terminal(void **state)
{
    (void)state;
    const char *stories = lqt_data_path("models/stories260K/stories260K.bin");
    const char *calib = lqt_data_path("text/calib-A.txt");
    char out[4096];
    snprintf(out, sizeof out, "%s/im.gguf", tmp_out);
    const char *imatrix[] = {"imatrix", stories,     "--calib", calib, "--ctx", "64", "--chunks",
                             "6",       "--threads", "1",       "-o",  out,     NULL};
    run_on_terminal(imatrix, 60);
    snprintf(out, sizeof out, "%s/g.gguf", tmp_out);
    const char *gptq[] = {"gptq",
                          lqt_data_path("models/tiny-llama-6L"),
                          "--calib",
                          calib,
                          "--calib-ctx",
                          "64",
                          "--calib-tokens",
                          "128",
                          "--layers",
                          "0:1",
                          "--threads",
                          "1",
                          "-o",
                          out,
                          NULL};
    run_on_terminal(gptq, 60);
    const char *report[] = {"report",   stories, "--text",    lqt_data_path("text/heldout-A.txt"),
                            "--types",  "q8_0",  "--ctx",     "64",
                            "--chunks", "2",     "--threads", "1",
                            "--out",    tmp_out, NULL};
    run_on_terminal(report, 60);
}

/* Without a terminal nothing is drawn; --progress gives plain lines; --quiet nothing at all. */
static void test_progress_only_on_terminals_or_when_asked(void **state)
{
    (void)state;
    char out[4096];
    snprintf(out, sizeof out, "%s/p.gguf", tmp_out);
    const char *model = lqt_data_path("models/tiny-llama-6L");
    struct lqt_run r = lqt_run_quant((const char *[]){"convert", model, "-o", out, NULL}, NULL);
    assert_int_equal(r.code, 0);
    if (strchr(r.err, '\r') || strstr(r.err, "ETA"))
        fail_msg("progress on a pipe without --progress: %s", r.err);
    lqt_run_free(&r);
    r = lqt_run_quant((const char *[]){"convert", "--progress", model, "-o", out, NULL}, NULL);
    assert_int_equal(r.code, 0);
    if (strchr(r.err, '\r') || strchr(r.err, '\033') || !strstr(r.err, "convert: 57/57"))
        fail_msg("--progress on a pipe: not plain lines: %s", r.err);
    assert_int_equal(r.err[strlen(r.err) - 1], '\n');
    lqt_run_free(&r);
    r = lqt_run_quant_pty((const char *[]){"convert", "--quiet", model, "-o", out, NULL}, 80, 120);
    assert_int_equal(r.code, 0);
    if (r.err[0])
        fail_msg("--quiet on a terminal printed: %s", r.err);
    lqt_run_free(&r);
}

static int setup(void **state)
{
    (void)state;
    tmp_out = lqt_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lqt_rmtree(tmp_out);
    free(tmp_out);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress_format_fits_every_width),
        cmocka_unit_test(test_progress_redraws_are_rate_limited),
        cmocka_unit_test(test_progress_on_terminals_of_60_and_200_columns),
        cmocka_unit_test(test_progress_calibration_and_report_on_a_terminal),
        cmocka_unit_test(test_progress_only_on_terminals_or_when_asked),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
