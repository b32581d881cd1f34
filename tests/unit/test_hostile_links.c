/* test_hostile_links.c - issue 11, class 2: links and side files. A symlink planted in an
 * output folder must not be followed (the folder is built fresh beside it and renamed into
 * place); a model-folder file that is a symlink leading outside the folder is refused with
 * its path named (exit 3); an existing non-empty output folder is refused without --force
 * (exit 2) and replaced as a whole with it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lqt_craft.h"
#include "lqt_hostile.h"
#include "lqt_run.h"
#include "lqt_util.h"

#define VICTIM "do not overwrite\n"

/* A tiny-llama copy at dir/m; returns its path (in buf). */
static const char *model(const char *dir, char *buf)
{
    const char *m = lqt_hostile_str(buf, "%s/m", dir);
    assert_int_equal(mkdir(m, 0755), 0);
    lqt_craft_tiny_llama(m, NULL);
    return m;
}

/* dir/outside.txt: a file beside the model folder, outside it. */
static const char *outside_file(const char *dir, char *buf)
{
    const char *p = lqt_hostile_str(buf, "%s/outside.txt", dir);
    lqt_write_file(p, VICTIM, strlen(VICTIM));
    return p;
}

/* The GPTQ arguments of a short run (one layer, 1024 calibration tokens). */
static void gptq_args(const char **args, const char *m, const char *out)
{
    const char *a[] = {"gptq",
                       m,
                       "--calib",
                       lqt_data_path("text/calib-A.txt"),
                       "--calib-tokens",
                       "1024",
                       "--calib-ctx",
                       "128",
                       "--layers",
                       "0:1",
                       "--format",
                       "safetensors",
                       "-o",
                       out,
                       NULL};
    memcpy(args, a, sizeof a);
}

// ---- refused inputs (the hostile corpus) ----

static void make_side_file_link(const char *dir, const char **args, char *buf)
{
    const char *m = model(dir, buf);
    char link[4096];
    snprintf(link, sizeof link, "%s/added_tokens.json", m);
    lqt_craft_symlink(link, outside_file(dir, buf));
    gptq_args(args, m, lqt_hostile_str(buf, "%s/out", dir));
}

static void make_side_file_etc_passwd(const char *dir, const char **args, char *buf)
{
    const char *m = model(dir, buf);
    char link[4096];
    snprintf(link, sizeof link, "%s/special_tokens_map.json", m);
    lqt_craft_symlink(link, "/etc/passwd");
    gptq_args(args, m, lqt_hostile_str(buf, "%s/out", dir));
}

/* member of the model folder replaced by a link to a copy outside it */
static void make_member_link(const char *dir, const char **args, char *buf, const char *member,
                             const char *cmd)
{
    const char *m = model(dir, buf);
    char from[4096], to[4096];
    snprintf(from, sizeof from, "%s/%s", m, member);
    snprintf(to, sizeof to, "%s/moved-%s", dir, member);
    assert_int_equal(rename(from, to), 0);
    lqt_craft_symlink(from, to);
    args[0] = cmd;
    args[1] = m;
    if (strcmp(cmd, "convert") == 0) {
        args[2] = "-o";
        args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
    }
}

static void make_tokenizer_link(const char *dir, const char **args, char *buf)
{
    make_member_link(dir, args, buf, "tokenizer.model", "convert");
}

static void make_config_link(const char *dir, const char **args, char *buf)
{
    make_member_link(dir, args, buf, "config.json", "inspect");
}

static void make_weights_link(const char *dir, const char **args, char *buf)
{
    make_member_link(dir, args, buf, "model.safetensors", "convert");
}

static void make_dangling_link(const char *dir, const char **args, char *buf)
{
    const char *m = model(dir, buf);
    char link[4096];
    snprintf(link, sizeof link, "%s/tokenizer.model", m);
    lqt_craft_symlink(link, "no-such-file");
    args[0] = "convert";
    args[1] = m;
    args[2] = "-o";
    args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
}

/* An index whose shard name climbs out of the folder. */
static void make_index_escape(const char *dir, const char **args, char *buf)
{
    const char *m = model(dir, buf);
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", m);
    char to[4096];
    snprintf(to, sizeof to, "%s/escaped.safetensors", dir);
    assert_int_equal(rename(path, to), 0);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", m);
    const char *index = "{\"weight_map\": {\"model.embed_tokens.weight\": "
                        "\"sub/../../escaped.safetensors\"}}";
    lqt_write_file(path, index, strlen(index));
    snprintf(path, sizeof path, "%s/sub", m);
    assert_int_equal(mkdir(path, 0755), 0);
    args[0] = "convert";
    args[1] = m;
    args[2] = "-o";
    args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
}

static void make_nonempty_out(const char *dir, const char **args, char *buf)
{
    const char *m = model(dir, buf);
    const char *out = lqt_hostile_str(buf, "%s/out", dir);
    assert_int_equal(mkdir(out, 0755), 0);
    char keep[4096];
    snprintf(keep, sizeof keep, "%s/keep.txt", out);
    lqt_write_file(keep, VICTIM, strlen(VICTIM));
    gptq_args(args, m, out);
}

static const struct lqt_hostile_case cases[] = {
    {"links/side-file-outside", make_side_file_link, 3, "m/added_tokens.json: leads outside", 60},
    {"links/side-file-etc-passwd", make_side_file_etc_passwd, 3,
     "m/special_tokens_map.json: leads outside", 60},
    {"links/tokenizer-outside", make_tokenizer_link, 3, "m/tokenizer.model: leads outside", 30},
    {"links/config-outside", make_config_link, 3, "m/config.json: leads outside", 30},
    {"links/weights-outside", make_weights_link, 3, "m/model.safetensors: leads outside", 30},
    {"links/dangling", make_dangling_link, 3, "m/tokenizer.model: a symlink that does not", 30},
    {"links/index-escape", make_index_escape, 3, "escaped.safetensors", 30},
    {"links/nonempty-out-no-force", make_nonempty_out, 2, "not empty", 60},
};

static void test_hostile_links_refused(void **state)
{
    (void)state;
    lqt_hostile_run(cases, sizeof cases / sizeof cases[0]);
}

// ---- outputs ----

/* A symlink planted in the output folder points at a file outside; --force replaces the
 * folder and the target keeps its bytes. */
static void test_hostile_links_planted_output_link(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    char buf[LQT_HOSTILE_BUF] = {0};
    const char *m = model(dir, buf);
    const char *victim = outside_file(dir, buf);
    const char *out = lqt_hostile_str(buf, "%s/out", dir);
    assert_int_equal(mkdir(out, 0755), 0);
    char link[4096];
    snprintf(link, sizeof link, "%s/tokenizer.model", out);
    lqt_craft_symlink(link, victim);
    snprintf(link, sizeof link, "%s/config.json", out);
    lqt_craft_symlink(link, victim);
    const char *args[LQT_HOSTILE_MAX_ARGS + 1] = {0};
    gptq_args(args, m, out);
    args[14] = "--force";
    struct lqt_run_opts o = {.max_seconds = 120};
    struct lqt_run r = lqt_run_quant(args, &o);
    lqt_expect_exit(&r, args, 0, NULL);
    size_t n;
    char *bytes = lqt_read_file(victim, &n);
    assert_int_equal(n, strlen(VICTIM));
    assert_memory_equal(bytes, VICTIM, n);
    free(bytes);
    struct stat sb;
    snprintf(link, sizeof link, "%s/tokenizer.model", out);
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_int_equal(lqt_system("ls -a '%s' | grep -q '\\.tmp\\.'", dir), 1);
    lqt_run_free(&r);
    lqt_rmtree(dir);
    free(dir);
}

/* Single-file outputs with a symlink planted at their name: the link is replaced, its target
 * keeps its bytes (--save-logits wrote through it with fopen before lq_out). */
static void test_hostile_links_planted_file_link(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    char buf[LQT_HOSTILE_BUF] = {0};
    const char *victim = outside_file(dir, buf);
    const char *logits = lqt_hostile_str(buf, "%s/base.logits", dir);
    const char *gguf = lqt_hostile_str(buf, "%s/out.gguf", dir);
    lqt_craft_symlink(logits, victim);
    lqt_craft_symlink(gguf, victim);
    const char *small = lqt_data_path("models/stories260K/stories260K-v1.gguf");
    const char *eval[] = {"eval",          small,  "--text",   lqt_data_path("text/heldout-A.txt"),
                          "--ctx",         "128",  "--chunks", "2",
                          "--save-logits", logits, NULL};
    const char *convert[] = {"convert", small, "-o", gguf, NULL};
    const char *const *runs[] = {eval, convert};
    for (size_t i = 0; i < 2; i++) {
        struct lqt_run_opts o = {.max_seconds = 120};
        struct lqt_run r = lqt_run_quant(runs[i], &o);
        lqt_expect_exit(&r, runs[i], 0, NULL);
        lqt_run_free(&r);
    }
    size_t n;
    char *bytes = lqt_read_file(victim, &n);
    assert_int_equal(n, strlen(VICTIM));
    assert_memory_equal(bytes, VICTIM, n);
    free(bytes);
    struct stat sb;
    assert_int_equal(lstat(logits, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_int_equal(lstat(gguf, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    lqt_rmtree(dir);
    free(dir);
}

/* --force replaces a non-empty folder as a whole: nothing of the old one survives. */
static void test_hostile_links_force_replaces(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    char buf[LQT_HOSTILE_BUF] = {0};
    const char *m = model(dir, buf);
    const char *out = lqt_hostile_str(buf, "%s/out", dir);
    assert_int_equal(mkdir(out, 0755), 0);
    char old[4096];
    snprintf(old, sizeof old, "%s/old.txt", out);
    lqt_write_file(old, VICTIM, strlen(VICTIM));
    const char *args[LQT_HOSTILE_MAX_ARGS + 1] = {0};
    gptq_args(args, m, out);
    args[14] = "--force";
    struct lqt_run_opts o = {.max_seconds = 120};
    struct lqt_run r = lqt_run_quant(args, &o);
    lqt_expect_exit(&r, args, 0, NULL);
    assert_int_not_equal(access(old, F_OK), 0);
    char st[4096];
    snprintf(st, sizeof st, "%s/model.safetensors", out);
    assert_int_equal(access(st, F_OK), 0);
    assert_int_equal(lqt_system("ls -a '%s' | grep -q '\\.tmp\\.'", dir), 1);
    lqt_run_free(&r);
    lqt_rmtree(dir);
    free(dir);
}

/* A link that stays inside the model folder is an ordinary layout and still accepted. */
static void test_hostile_links_inside_link_accepted(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    char buf[LQT_HOSTILE_BUF] = {0};
    const char *m = model(dir, buf);
    char from[4096], to[4096];
    snprintf(from, sizeof from, "%s/tokenizer.model", m);
    snprintf(to, sizeof to, "%s/blob-tokenizer", m);
    assert_int_equal(rename(from, to), 0);
    lqt_craft_symlink(from, "blob-tokenizer");
    const char *args[] = {"convert", m, "-o", lqt_hostile_str(buf, "%s/out.gguf", dir), NULL};
    struct lqt_run_opts o = {.max_seconds = 60};
    struct lqt_run r = lqt_run_quant(args, &o);
    lqt_expect_exit(&r, args, 0, NULL);
    lqt_run_free(&r);
    lqt_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_links_refused),
        cmocka_unit_test(test_hostile_links_planted_output_link),
        cmocka_unit_test(test_hostile_links_planted_file_link),
        cmocka_unit_test(test_hostile_links_force_replaces),
        cmocka_unit_test(test_hostile_links_inside_link_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
