/* test_cli_options.c - the option table of `quant` (tools/cli_table.c, linked in) walked row by
 * row: every option of every subcommand is in that subcommand's --help, in the man page and in
 * both completion scripts (as the build generated them); -t is --threads wherever threads run;
 * "did you mean" for commands, options and choices; `quant help CMD`; the parser's values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_opts.h"
#include "lq/core.h"
#include "lqt_run.h"
#include "lqt_util.h"

static bool takes(const struct cli_option *o, int cmd)
{
    return (o->cmds & CLI_M(cmd)) != 0;
}

static struct lqt_run run_quant(const char *const *args)
{
    struct lqt_run r = lqt_run_quant(args, NULL);
    assert_false(r.signaled);
    return r;
}

static char *read_doc(const char *name)
{
    char path[4096];
    size_t n;
    snprintf(path, sizeof path, "%s/%s", LQ_CLI_DOCS_DIR, name);
    char *raw = lqt_read_file(path, &n);
    char *s = malloc(n + 1);
    assert_non_null(s);
    memcpy(s, raw, n);
    s[n] = '\0';
    free(raw);
    return s;
}

/* A malloc'd copy of text from the first `from` to the next `to` after it (fails if absent). */
static char *section(const char *text, const char *from, const char *to)
{
    const char *a = strstr(text, from);
    if (!a) {
        fail_msg("'%s' not found", from);
    }
    a += strlen(from);
    const char *b = strstr(a, to);
    const size_t n = b ? (size_t)(b - a) : strlen(a);
    char *s = malloc(n + 1);
    assert_non_null(s);
    memcpy(s, a, n);
    s[n] = '\0';
    return s;
}

/* needle occurs in hay as a whole option name (not a prefix of a longer one). */
static bool has_option(const char *hay, const char *needle)
{
    const size_t n = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) {
        const char c = p[n];
        if (!(c >= 'a' && c <= 'z') && c != '-' && !(c == '\\' && p[n + 1] == '-')) {
            return true;
        }
    }
    return false;
}

/* "--no-tensors" as roff writes it: "\-\-no\-tensors". */
static void roff_name(const char *name, char *buf, size_t cap)
{
    size_t off = (size_t)snprintf(buf, cap, "\\-\\-");
    for (; *name && off + 3 < cap; name++) {
        if (*name == '-') {
            buf[off++] = '\\';
        }
        buf[off++] = *name;
    }
    buf[off] = '\0';
}

// ---- the table itself ----------------------------------------------------------------------

/* In each command a long or short name has one row; defaults parse; -t is threads and --type
 * has no short name everywhere. */
static void test_table_is_consistent(void **state)
{
    (void)state;
    for (size_t i = 0; i < cli_n_options; i++) {
        const struct cli_option *o = &cli_options[i];
        assert_non_null(o->help);
        assert_true(o->cmds != 0);
        if (o->kind != CLI_NONE && o->kind != CLI_ENUM && !o->metavar) {
            fail_msg("--%s takes a value but has no metavar", o->name);
        }
        if (o->short_name == 't' && o->id != OPT_THREADS) {
            fail_msg("-t is --%s, not --threads", o->name);
        }
        if (strcmp(o->name, "type") == 0 && o->short_name) {
            fail_msg("--type has a short name -%c", o->short_name);
        }
        for (size_t j = i + 1; j < cli_n_options; j++) {
            const struct cli_option *p = &cli_options[j];
            if (!(o->cmds & p->cmds)) {
                continue;
            }
            if (strcmp(o->name, p->name) == 0 || (o->short_name && o->short_name == p->short_name))
                fail_msg("--%s and --%s clash in a command", o->name, p->name);
        }
    }
    /* the defaults parse: cli_parse starts from them and says so on stderr otherwise */
    for (int c = 0; c < CLI_N_CMDS; c++) {
        struct cli_args a;
        char *argv[] = {(char *)cli_commands[c].name, "--help", NULL};
        assert_int_equal(cli_parse((enum cli_cmd)c, 2, argv, &a), -1);
        for (size_t i = 0; i < cli_n_options; i++) {
            const struct cli_option *o = &cli_options[i];
            if (takes(o, c) && o->def && !(o->flags & CLI_DEPRECATED) && !a.str[o->id])
                fail_msg("quant %s: default of --%s not taken", cli_commands[c].name, o->name);
        }
    }
}

// ---- help, man page, completion ------------------------------------------------------------

static void expect_in_help(int c, const char *help)
{
    char want[96];
    for (size_t i = 0; i < cli_n_options; i++) {
        const struct cli_option *o = &cli_options[i];
        if (!takes(o, c)) {
            continue;
        }
        snprintf(want, sizeof want, "--%s", o->name);
        if (!has_option(help, want))
            fail_msg("quant %s --help lacks %s", cli_commands[c].name, want);
        snprintf(want, sizeof want, "-%c, --%s", o->short_name, o->name);
        if (o->short_name && !strstr(help, want))
            fail_msg("quant %s --help lacks %s", cli_commands[c].name, want);
    }
    /* every --help ends with the exit codes: the last paragraph */
    const char *codes = strstr(help, "\nExit codes: 0 ");
    if (!codes || !strstr(codes, ", 1 ") || !strstr(codes, ", 2 ") || !strstr(codes, ", 3 ") ||
        strstr(codes + 1, "\n\n") || strcmp(help + strlen(help) - 2, ".\n") != 0)
        fail_msg("quant %s --help does not end with the exit codes:\n%s", cli_commands[c].name,
                 help);
}

static void test_every_option_in_help(void **state)
{
    (void)state;
    for (int c = 0; c < CLI_N_CMDS; c++) {
        const char *name = cli_commands[c].name;
        struct lqt_run r = run_quant((const char *[]){name, "--help", NULL});
        if (r.code != 0 || !strstr(r.out, "usage: quant "))
            fail_msg("quant %s --help: exit %d: %s", name, r.code, r.err);
        expect_in_help(c, r.out);
        /* `quant help CMD` prints the same */
        struct lqt_run h = run_quant((const char *[]){"help", name, NULL});
        assert_int_equal(h.code, 0);
        assert_string_equal(h.out, r.out);
        lqt_run_free(&h);
        lqt_run_free(&r);
    }
}

static void test_every_option_in_man_page(void **state)
{
    (void)state;
    char *man = read_doc("quant.1");
    assert_non_null(strstr(man, ".TH QUANT 1"));
    for (int c = 0; c < CLI_N_CMDS; c++) {
        char head[64], name[96];
        snprintf(head, sizeof head, ".SS \"quant %s\"\n", cli_commands[c].name);
        char *sec = section(man, head, ".S");
        for (size_t i = 0; i < cli_n_options; i++) {
            if (!takes(&cli_options[i], c)) {
                continue;
            }
            roff_name(cli_options[i].name, name, sizeof name);
            if (!has_option(sec, name))
                fail_msg("quant.1, section quant %s, lacks %s", cli_commands[c].name, name);
        }
        free(sec);
    }
    assert_non_null(strstr(man, ".SH \"EXIT STATUS\""));
    free(man);
}

static void test_every_option_in_completion(void **state)
{
    (void)state;
    char *bash = read_doc("quant.bash"), *zsh = read_doc("_quant");
    assert_non_null(strstr(bash, "complete -o default -F _quant quant"));
    assert_true(strncmp(zsh, "#compdef quant\n", 15) == 0);
    for (int c = 0; c < CLI_N_CMDS; c++) {
        char head[64], want[96];
        snprintf(head, sizeof head, "\n    %s)\n        opts=\"", cli_commands[c].name);
        char *opts = section(bash, head, "\"");
        snprintf(head, sizeof head, "\n    (%s)\n", cli_commands[c].name);
        char *zblock = section(zsh, head, "\n        ;;\n");
        for (size_t i = 0; i < cli_n_options; i++) {
            if (!takes(&cli_options[i], c)) {
                continue;
            }
            snprintf(want, sizeof want, "--%s", cli_options[i].name);
            if (!has_option(opts, want))
                fail_msg("bash completion of quant %s lacks %s", cli_commands[c].name, want);
            if (!has_option(zblock, want))
                fail_msg("zsh completion of quant %s lacks %s", cli_commands[c].name, want);
        }
        free(opts);
        free(zblock);
    }
    assert_int_equal(lqt_system("bash -n '%s/quant.bash'", LQ_CLI_DOCS_DIR), 0);
    if (lqt_system("command -v zsh >/dev/null") == 0) {
        assert_int_equal(lqt_system("zsh -n '%s/_quant'", LQ_CLI_DOCS_DIR), 0);
    }
    free(bash);
    free(zsh);
}

// ---- -t means threads ----------------------------------------------------------------------

/* Parses `cmd EXTRA... + what the command needs` (required options, positionals). */
static int parse_with(int c, const char *const *extra, struct cli_args *a)
{
    char *argv[32], names[8][64];
    int n = 0, k = 0;
    argv[n++] = (char *)cli_commands[c].name;
    for (; *extra; extra++) {
        argv[n++] = (char *)*extra;
    }
    for (size_t i = 0; i < cli_n_options; i++) {
        const struct cli_option *o = &cli_options[i];
        if (takes(o, c) && (o->flags & CLI_REQUIRED)) {
            snprintf(names[k], sizeof names[k], "--%s", o->name);
            argv[n++] = names[k++];
            argv[n++] = "x";
        }
    }
    for (int p = 0; p < cli_commands[c].n_pos_min; p++) {
        argv[n++] = "p";
    }
    argv[n] = NULL;
    return cli_parse((enum cli_cmd)c, n, argv, a);
}

static void test_t_is_threads_everywhere(void **state)
{
    (void)state;
    /* the subcommands that run threads */
    const enum cli_cmd threaded[] = {CLI_CONVERT, CLI_QUANTIZE, CLI_EVAL,  CLI_GENERATE,
                                     CLI_IMATRIX, CLI_REPORT,   CLI_CHECK, CLI_GPTQ};
    for (size_t k = 0; k < sizeof threaded / sizeof threaded[0]; k++) {
        const int c = threaded[k];
        struct cli_args a;
        if (parse_with(c, (const char *[]){"-t", "2", NULL}, &a) != 0)
            fail_msg("quant %s -t 2 does not parse", cli_commands[c].name);
        assert_int_equal(cli_num(&a, OPT_THREADS), 2);
        assert_int_equal(parse_with(c, (const char *[]){"-t3", NULL}, &a), 0);
        assert_int_equal(cli_num(&a, OPT_THREADS), 3);
        assert_int_equal(parse_with(c, (const char *[]){"--threads=4", NULL}, &a), 0);
        assert_int_equal(cli_num(&a, OPT_THREADS), 4);
        /* not a number: a usage error, never a type name (convert's old -t) */
        assert_int_equal(parse_with(c, (const char *[]){"-t", "q8_0", NULL}, &a), 2);
        assert_int_equal(parse_with(c, (const char *[]){"-t", "-1", NULL}, &a), 2);
    }
    /* and the binary agrees: convert -t takes no type any more */
    const char *args[] = {"convert", "-t", "q8_0", "src", "-o", "x", NULL};
    struct lqt_run r = run_quant(args);
    lqt_expect_exit(&r, args, 2, "-t/--threads: expected an integer");
    lqt_run_free(&r);
}

// ---- did you mean, quant help --------------------------------------------------------------

static void expect_usage(const char *const *args, const char *in_stderr, const char *not_in)
{
    struct lqt_run r = run_quant(args);
    lqt_expect_exit(&r, args, 2, in_stderr);
    if (not_in && strstr(r.err, not_in))
        fail_msg("%s %s: stderr has '%s': %s", args[0], args[1] ? args[1] : "", not_in, r.err);
    lqt_run_free(&r);
}

static void test_did_you_mean(void **state)
{
    (void)state;
    /* commands: one edit, a transposition, two edits; far off: no guess; never the usage */
    expect_usage((const char *[]){"conver", NULL}, "did you mean 'convert'?", "commands:");
    expect_usage((const char *[]){"qunatize", NULL}, "did you mean 'quantize'?", NULL);
    expect_usage((const char *[]){"cnvrt", NULL}, "did you mean 'convert'?", NULL);
    expect_usage((const char *[]){"xyzzy", NULL}, "unknown command 'xyzzy'", "did you mean");
    /* options of that command only */
    expect_usage((const char *[]){"convert", "--treads", "4", "m", NULL},
                 "unknown option '--treads'; did you mean '--threads'?", "usage:");
    expect_usage((const char *[]){"eval", "--tknizer", "t", "m", NULL},
                 "did you mean '--tokenizer'?", NULL);
    expect_usage((const char *[]){"inspect", "--calib", "x", "m", NULL}, "unknown option '--calib'",
                 "did you mean");
    /* choices of an option */
    expect_usage(
        (const char *[]){"gptq", "m", "--calib", "c", "-o", "o", "--format", "safetensor", NULL},
        "did you mean 'safetensors'?", NULL);
    /* a value checked by the command, before anything is opened */
    expect_usage((const char *[]){"generate", "m", "-p", "x", "--weights", "mmap", NULL},
                 "--weights: 'mmap' is not one of auto, mapped, loaded", NULL);
    expect_usage((const char *[]){"eval", "m", "--text", "t", "--weights", "", NULL},
                 "is not one of auto, mapped, loaded", NULL);
    assert_int_equal(cli_edit_distance("ab", 2, "ba", 2), 1);
    assert_int_equal(cli_edit_distance("kitten", 6, "sitting", 7), 3);
    assert_int_equal(cli_edit_distance("", 0, "abc", 3), 3);
}

static void test_help_command(void **state)
{
    (void)state;
    struct lqt_run r = run_quant((const char *[]){"help", NULL});
    assert_int_equal(r.code, 0);
    for (int c = 0; c < CLI_N_CMDS; c++) {
        assert_non_null(strstr(r.out, cli_commands[c].name));
    }
    assert_non_null(strstr(r.out, "Exit codes: 0 ok, 1 failure, 2 usage error, 3 bad input file"));
    lqt_run_free(&r);
    expect_usage((const char *[]){"help", "nosuch", NULL}, "unknown command 'nosuch'", NULL);
    expect_usage((const char *[]){"help", "gtpq", NULL}, "did you mean 'gptq'?", NULL);
}

// ---- the parser ----------------------------------------------------------------------------

static void test_values(void **state)
{
    (void)state;
    int64_t v;
    uint64_t b;
    double x;
    assert_true(cli_value_int("-1", -1, 5, &v) && v == -1);
    assert_false(cli_value_int("6", -1, 5, &v));
    assert_false(cli_value_int("99999999999999999999", 0, INT64_MAX, &v));
    assert_false(cli_value_int(" 5", 0, 9, &v));
    assert_false(cli_value_int("5x", 0, 9, &v));
    assert_false(cli_value_int("", 0, 9, &v));
    assert_true(cli_value_size("4.5GiB", &b) && b == 4831838208ULL);
    assert_true(cli_value_size("512K", &b) && b == 524288);
    assert_true(cli_value_size("2MB", &b) && b == 2000000);
    assert_true(cli_value_size("4096", &b) && b == 4096);
    assert_false(cli_value_size("1.5", &b));
    assert_false(cli_value_size("-1", &b));
    assert_false(cli_value_size("3X", &b));
    assert_false(cli_value_size("20EiB", &b));
    assert_true(cli_value_float("0.01", &x) && x == 0.01);
    assert_false(cli_value_float("1e400", &x));
    assert_false(cli_value_float("nan", &x));
}

static void test_parser_forms(void **state)
{
    (void)state;
    struct cli_args a;
    /* --opt=value, a unique prefix, a cluster, `--` ending the options */
    char *ok[] = {"eval", "--ctx=64", "--chun", "3", "-qv", "--", "-m.gguf", NULL};
    assert_int_equal(cli_parse(CLI_EVAL, 7, ok, &a), 0);
    assert_int_equal(cli_num(&a, OPT_CTX), 64);
    assert_int_equal(cli_num(&a, OPT_CHUNKS), 3);
    assert_true(cli_has(&a, OPT_QUIET) && cli_has(&a, OPT_VERBOSE));
    assert_int_equal(a.n_pos, 1);
    assert_string_equal(a.pos[0], "-m.gguf");
    lq_set_log_fn(NULL, NULL);
    /* gptq: the defaults, and the range of a float */
    char *g[] = {"gptq", "m", "--calib", "c", "-o", "o", NULL};
    assert_int_equal(cli_parse(CLI_GPTQ, 6, g, &a), 0);
    assert_int_equal(cli_num(&a, OPT_GROUP_SIZE), 128);
    assert_true(cli_real(&a, OPT_DAMP) == 0.01);
    assert_string_equal(cli_str(&a, OPT_FORMAT), "gguf");
    char *damp[] = {"gptq", "m", "--calib", "c", "-o", "o", "--damp", "1", NULL};
    assert_int_equal(cli_parse(CLI_GPTQ, 8, damp, &a), 2);
    /* usage errors: ambiguous prefix, missing value, a value on a flag, a missing required
     * option, a wrong number of arguments */
    char *amb[] = {"report", "--ca", "x", "m", "--text", "t", NULL};
    assert_int_equal(cli_parse(CLI_REPORT, 6, amb, &a), 2);
    char *miss[] = {"eval", "m", "--ctx", NULL};
    assert_int_equal(cli_parse(CLI_EVAL, 3, miss, &a), 2);
    char *flag[] = {"inspect", "--json=1", "m", NULL};
    assert_int_equal(cli_parse(CLI_INSPECT, 3, flag, &a), 2);
    char *req[] = {"convert", "m", NULL};
    assert_int_equal(cli_parse(CLI_CONVERT, 2, req, &a), 2);
    char *npos[] = {"quantize", "a", NULL}; /* IN OUT TYPE, or -o OUT IN TYPE: two at least */
    assert_int_equal(cli_parse(CLI_QUANTIZE, 2, npos, &a), 2);
    /* repeatable options keep every occurrence; report's old --out still means --output */
    char *rep[] = {"quantize", "--tensor-type",       "a=q8_0", "i", "o",
                   "q4_0",     "--tensor-type=b=f16", NULL};
    assert_int_equal(cli_parse(CLI_QUANTIZE, 7, rep, &a), 0);
    assert_int_equal(a.n_rep, 2);
    assert_string_equal(a.rep[1].arg, "b=f16");
    char *out[] = {"report", "--out", "d", "--text", "t", "m", NULL};
    assert_int_equal(cli_parse(CLI_REPORT, 6, out, &a), 0);
    assert_string_equal(cli_str(&a, OPT_OUTPUT), "d");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_consistent),
        cmocka_unit_test(test_every_option_in_help),
        cmocka_unit_test(test_every_option_in_man_page),
        cmocka_unit_test(test_every_option_in_completion),
        cmocka_unit_test(test_t_is_threads_everywhere),
        cmocka_unit_test(test_did_you_mean),
        cmocka_unit_test(test_help_command),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_parser_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
