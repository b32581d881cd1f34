/* test_hostile_tasks.c - malformed task files for `quant eval --task` (issue 20): each is
 * refused with exit 3 and a message naming the file and the task, and nothing is written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lqt_hostile.h"
#include "lqt_util.h"

static const char *model(char *buf)
{
    return lqt_hostile_str(buf, "%s", lqt_data_path("reference/llama.cpp/tiny-llama-6L/f16.gguf"));
}

static void set_args(const char **args, char *buf, const char *kind, const char *path)
{
    args[0] = "eval";
    args[1] = model(buf);
    args[2] = "--task";
    args[3] = kind;
    args[4] = path;
}

static const char hs_task[] = "A man sits on a roof. he\n3\nfalls.\nsings.\nwaves.\nstands up.\n";

static void make_hs_truncated(const char *dir, const char **args, char *buf)
{
    const char *path = lqt_hostile_str(buf, "%s/hs.txt", dir);
    char text[512];
    /* one whole task, then three lines of the second */
    snprintf(text, sizeof text, "%sctx\n1\nend\n", hs_task);
    lqt_write_file(path, text, strlen(text));
    set_args(args, buf, "hellaswag", path);
}

static void make_hs_label(const char *dir, const char **args, char *buf)
{
    const char *path = lqt_hostile_str(buf, "%s/hs.txt", dir);
    char text[512];
    snprintf(text, sizeof text, "%sctx\n4\na\nb\nc\nd\n", hs_task);
    lqt_write_file(path, text, strlen(text));
    set_args(args, buf, "hellaswag", path);
}

static void make_hs_too_long(const char *dir, const char **args, char *buf)
{
    const char *path = lqt_hostile_str(buf, "%s/hs.txt", dir);
    const size_t words = 2000;
    char *text = malloc(sizeof hs_task + words * 6 + 64);
    size_t n = (size_t)sprintf(text, "%s", hs_task);
    for (size_t i = 0; i < words; i++) {
        n += (size_t)sprintf(text + n, "roof ");
    }
    n += (size_t)sprintf(text + n, "he\n0\nfalls.\nsings.\nwaves.\nstands.\n");
    lqt_write_file(path, text, n);
    free(text);
    set_args(args, buf, "hellaswag", path);
}

// ---- multiple-choice binary ----------------------------------------------------------------

static size_t put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
    return 4;
}

static size_t put_str(unsigned char *p, const char *s)
{
    const size_t n = strlen(s);
    put_u32(p, (uint32_t)n);
    memcpy(p + 4, s, n);
    return 4 + n;
}

/* One task: question, answers with labels (label 1 on `gold`), no mc2. n_ans answers;
 * question_len != 0 overrides the question's length field. */
static size_t mc_file(unsigned char *p, uint32_t n_ans, int32_t bad_label, uint32_t question_len)
{
    static const char *const ans[] = {"yes", "no", "maybe", "never"};
    size_t n = put_u32(p, 1);
    n += put_u32(p + n, 8);
    const size_t q = n;
    n += put_str(p + n, "Question: Is the sky blue?\nAnswer:");
    if (question_len) {
        put_u32(p + q, question_len);
    }
    n += put_u32(p + n, n_ans);
    for (uint32_t i = 0; i < n_ans; i++) {
        n += put_str(p + n, ans[i % 4]);
    }
    for (uint32_t i = 0; i < n_ans; i++) {
        n += put_u32(p + n, (uint32_t)(i == 0 ? 1 : i == 1 ? bad_label : 0));
    }
    return n + put_u32(p + n, 0);
}

static void write_mc(const char *dir, const char **args, char *buf, const unsigned char *p,
                     size_t n)
{
    const char *path = lqt_hostile_str(buf, "%s/mc.bin", dir);
    lqt_write_file(path, p, n);
    set_args(args, buf, "multiple-choice", path);
}

static void make_mc_zero_choices(const char *dir, const char **args, char *buf)
{
    unsigned char p[256];
    write_mc(dir, args, buf, p, mc_file(p, 0, 0, 0));
}

static void make_mc_label(const char *dir, const char **args, char *buf)
{
    unsigned char p[256];
    write_mc(dir, args, buf, p, mc_file(p, 4, 7, 0));
}

static void make_mc_oversized(const char *dir, const char **args, char *buf)
{
    unsigned char p[256];
    write_mc(dir, args, buf, p, mc_file(p, 4, 0, 0xfffffff0u));
}

static void make_mc_truncated(const char *dir, const char **args, char *buf)
{
    unsigned char p[256];
    write_mc(dir, args, buf, p, mc_file(p, 4, 0, 0) - 10);
}

static void make_mc_no_tasks(const char *dir, const char **args, char *buf)
{
    unsigned char p[4] = {0};
    write_mc(dir, args, buf, p, sizeof p);
}

static void make_csv_answer(const char *dir, const char **args, char *buf)
{
    const char *path = lqt_hostile_str(buf, "%s/q.csv", dir);
    static const char text[] = "\"What is 2+2?\",3,4,5,6,B\nWhy?,a,b,c,d,E\n";
    lqt_write_file(path, text, sizeof text - 1);
    set_args(args, buf, "multiple-choice", path);
}

static const struct lqt_hostile_case cases[] = {
    {"tasks/hellaswag-truncated", make_hs_truncated, 3, "hs.txt: task 2 is truncated", 0},
    {"tasks/hellaswag-label", make_hs_label, 3, "hs.txt: task 2: gold label", 0},
    {"tasks/hellaswag-too-long", make_hs_too_long, 3, "task 2: choice 1 is", 0},
    {"tasks/mc-zero-choices", make_mc_zero_choices, 3, "mc.bin: task 1 has no answers", 0},
    {"tasks/mc-label", make_mc_label, 3, "mc.bin: task 1: mc1 label 2 is 7", 0},
    {"tasks/mc-oversized-string", make_mc_oversized, 3, "mc.bin: task 1: question of", 0},
    {"tasks/mc-truncated", make_mc_truncated, 3, "mc.bin: task 1 is truncated", 0},
    {"tasks/mc-no-tasks", make_mc_no_tasks, 3, "mc.bin: no tasks", 0},
    {"tasks/csv-answer", make_csv_answer, 3, "q.csv: row 2: answer 'E'", 0},
};

static void test_hostile_tasks_refused(void **state)
{
    (void)state;
    lqt_hostile_run(cases, sizeof cases / sizeof cases[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_tasks_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
