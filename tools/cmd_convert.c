/* cmd_convert.c - `quant convert SRC -o OUT [--type T]`: a downloaded checkpoint (Hugging Face
 * folder with safetensors or pytorch_model.bin, llama2.c .bin, or GGUF) to a GGUF file that
 * llama.cpp and Ollama load; straight to any quantized type in the same pass. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "convert_cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: quant convert [options] SRC -o OUT.gguf\n\n"
            "SRC: a Hugging Face folder (config.json + model.safetensors, sharded safetensors\n"
            "with model.safetensors.index.json, or pytorch_model.bin), a llama2.c checkpoint\n"
            "(.bin with tok512.bin or tokenizer.bin beside it), or a GGUF file.\n\n"
            "options:\n"
            "  -o, --output FILE           the GGUF file to write (required)\n"
            "  -t, --type TYPE             f32, f16 (default), bf16, or a quantized type:\n"
            "                              %s\n" CONVERT_CLI_HELP
            "\nExit codes: 0 ok, 1 failure, 2 usage, 3 bad input file.\n",
            lq_ftype_names());
}

int cmd_convert(int argc, char **argv)
{
    static const struct option opts[] = {
        { "output", required_argument, NULL, 'o' },
        { "type", required_argument, NULL, 't' },
        CONVERT_CLI_LONG_OPTIONS,
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct convert_cli c = { .cmd = "convert", .params = lq_convert_params_default() };
    struct lq_error err;
    int opt, rc = LQ_EXIT_OK;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "ho:t:q", opts, NULL)) != -1) {
        int r = 0;
        if (opt == 'h') {
            usage(stdout);
            goto out;
        } else if (opt == 'o') {
            c.out = optarg;
        } else if (opt == 't') {
            if (lq_ftype_from_name(optarg, &c.params.ftype, &err) != LQ_OK) {
                rc = cli_usage_error("convert", "%s", err.msg);
                goto out;
            }
        } else if ((r = convert_cli_option(&c, opt, optarg)) != 0) {
            if (r == 1) {
                usage(stderr);
            }
            rc = LQ_EXIT_USAGE;
            goto out;
        }
    }
    if (argc - optind != 1 || !c.out) {
        rc = cli_usage_error("convert", "expected SRC and -o OUT");
        goto out;
    }
    c.in = argv[optind];
    rc = convert_cli_run(&c);
out:
    convert_cli_free(&c);
    return rc;
}
