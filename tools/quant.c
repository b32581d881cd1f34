/* quant.c - the `quant` command: git-style dispatch to tools/cmd_<name>.c. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <jansson.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <xxhash.h>
#include <zlib.h>

#include "cli.h"
#include "cli_opts.h"
#include "lq/core.h"
#include "lq/file_io.h"

static int cmd_version(int argc, char **argv);

/* The subcommands' code, by cli_cmd (names, help and options: cli_table.c). */
static int (*const commands[CLI_N_CMDS])(int argc, char **argv) = {
    [CLI_INSPECT] = cmd_inspect, [CLI_CONVERT] = cmd_convert, [CLI_QUANTIZE] = cmd_quantize,
    [CLI_EVAL] = cmd_eval,       [CLI_GENERATE] = cmd_generate, [CLI_IMATRIX] = cmd_imatrix,
    [CLI_REPORT] = cmd_report,   [CLI_CHECK] = cmd_check,     [CLI_FIT] = cmd_fit,
    [CLI_GPTQ] = cmd_gptq,       [CLI_OPTIMIZE] = cmd_optimize, [CLI_VERSION] = cmd_version,
};

/* SIGINT/SIGTERM: remove the temporaries of unfinished outputs (lq/file_io.h), then exit with
 * 128 + the signal as a shell reports it. Only async-signal-safe calls. */
static void on_signal(int sig)
{
    lq_tmp_cleanup_all();
    _exit(128 + sig);
}

static void install_signal_cleanup(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigfillset(&sa.sa_mask); /* the handler runs once, uninterrupted */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int cmd_version(int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_parse(CLI_VERSION, argc, argv, &a);
    if (rc != 0) {
        return rc < 0 ? LQ_EXIT_OK : rc;
    }
    printf("quant (libquant) %s\n", lq_version_string());
    printf("  zlib %s, libarchive %s, xxHash %u.%u.%u, jansson %s, PCRE2 %d.%d\n", zlibVersion(),
           archive_version_details(), XXH_VERSION_MAJOR, XXH_VERSION_MINOR, XXH_VERSION_RELEASE,
           jansson_version_str(), PCRE2_MAJOR, PCRE2_MINOR);
    return LQ_EXIT_OK;
}

/* `quant help [CMD]`: the overview, or one command's help. */
static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        cli_help_overview(stdout);
        return LQ_EXIT_OK;
    }
    if (argc > 2) {
        fprintf(stderr, "quant help: expected one command, got %d\n", argc - 1);
        return LQ_EXIT_USAGE;
    }
    const int cmd = cli_command_find(argv[1]);
    if (cmd < 0) {
        return cli_unknown_command(argv[1]);
    }
    cli_help_print((enum cli_cmd)cmd, stdout);
    return LQ_EXIT_OK;
}

/* Hidden commands the build runs: the man page and the completion scripts. */
static int generate(int argc, char **argv)
{
    if (strcmp(argv[0], "__man") == 0 && argc == 1) {
        cli_gen_man(stdout);
    } else if (strcmp(argv[0], "__complete") == 0 && argc == 2 && strcmp(argv[1], "bash") == 0) {
        cli_gen_bash(stdout);
    } else if (strcmp(argv[0], "__complete") == 0 && argc == 2 && strcmp(argv[1], "zsh") == 0) {
        cli_gen_zsh(stdout);
    } else {
        return cli_unknown_command(argv[0]);
    }
    return fflush(stdout) == 0 && !ferror(stdout) ? LQ_EXIT_OK : LQ_EXIT_FAIL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_help_overview(stderr);
        return LQ_EXIT_USAGE;
    }
    install_signal_cleanup();
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        return cmd_help(argc - 1, argv + 1);
    }
    if (strcmp(name, "--version") == 0) {
        return cmd_version(argc - 1, argv + 1);
    }
    if (strncmp(name, "__", 2) == 0) {
        return generate(argc - 1, argv + 1);
    }
    const int cmd = cli_command_find(name);
    return cmd >= 0 ? commands[cmd](argc - 1, argv + 1) : cli_unknown_command(name);
}
