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
#include "lq/core.h"
#include "lq/file_io.h"

static int cmd_version(int argc, char **argv);

static const struct cli_command commands[] = {
    { "inspect", cmd_inspect, "show a GGUF file, a safetensors file or a model folder" },
    { "convert", cmd_convert, "convert a downloaded checkpoint to GGUF (F16 or quantized)" },
    { "quantize", cmd_quantize, "quantize a model with llama.cpp's file types and recipes" },
    { "eval", cmd_eval, "perplexity, KL divergence and top-1 agreement on a text" },
    { "generate", cmd_generate, "greedy generation from a prompt (a smoke test)" },
    { "imatrix", cmd_imatrix, "importance matrix from calibration text (llama-imatrix's GGUF)" },
    { "report", cmd_report, "size/accuracy table and chart of several quantizations" },
    { "check", cmd_check, "re-run a baseline's quantizations and fail on regressions (CI)" },
    { "gptq", cmd_gptq, "GPTQ from calibration text, to GGUF blocks or GPTQ safetensors" },
    { "version", cmd_version, "print the versions of libquant and its libraries" },
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

static void print_help(FILE *f)
{
    fprintf(f, "usage: quant <command> [options] [args]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(f, "\n'quant <command> --help' describes a command.\n"
               "exit codes: 0 ok, 1 failure, 2 usage error, 3 bad input file\n");
}

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("quant (libquant) %s\n", lq_version_string());
    printf("  zlib %s, libarchive %s, xxHash %u.%u.%u, jansson %s, PCRE2 %d.%d\n", zlibVersion(),
           archive_version_details(), XXH_VERSION_MAJOR, XXH_VERSION_MINOR, XXH_VERSION_RELEASE,
           jansson_version_str(), PCRE2_MAJOR, PCRE2_MINOR);
    return LQ_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return LQ_EXIT_USAGE;
    }
    install_signal_cleanup();
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        print_help(stdout);
        return LQ_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0) {
        return cmd_version(argc - 1, argv + 1);
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i].name, name) == 0) {
            return commands[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "quant: unknown command '%s'\n", name);
    print_help(stderr);
    return LQ_EXIT_USAGE;
}
