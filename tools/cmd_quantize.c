/* cmd_quantize.c - `quant quantize IN OUT TYPE`: llama-quantize's file types and recipes, in one
 * streaming pass over IN (a GGUF file or any checkpoint `quant convert` reads). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "convert_cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: quant quantize [options] IN OUT TYPE\n\n"
            "Quantizes IN (GGUF, or a Hugging Face folder / llama2.c checkpoint) into the GGUF\n"
            "file OUT with llama.cpp's recipe for TYPE. Tensor data is byte-identical to\n"
            "llama-quantize's for the same input.\n"
            "TYPE: %s\n\noptions:\n" CONVERT_CLI_HELP
            "\nExit codes: 0 ok, 1 failure, 2 usage, 3 bad input file.\n",
            lq_ftype_names());
}

int cmd_quantize(int argc, char **argv)
{
    static const struct option opts[] = {
        CONVERT_CLI_LONG_OPTIONS,
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct convert_cli c = { .cmd = "quantize", .params = lq_convert_params_default() };
    int opt, rc = LQ_EXIT_OK;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            goto out;
        }
        int r = convert_cli_option(&c, opt, optarg);
        if (r != 0) {
            if (r == 1) {
                usage(stderr);
            }
            rc = LQ_EXIT_USAGE;
            goto out;
        }
    }
    if (argc - optind != 3) {
        rc = cli_usage_error("quantize", "expected IN OUT TYPE");
        goto out;
    }
    c.in = argv[optind];
    c.out = argv[optind + 1];
    struct lq_error err;
    if (lq_ftype_from_name(argv[optind + 2], &c.params.ftype, &err) != LQ_OK) {
        rc = cli_usage_error("quantize", "%s", err.msg);
        goto out;
    }
    rc = convert_cli_run(&c);
out:
    convert_cli_free(&c);
    return rc;
}
