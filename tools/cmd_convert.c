/* cmd_convert.c - `quant convert SRC -o OUT [--type T]`: a downloaded checkpoint (Hugging Face
 * folder with safetensors or pytorch_model.bin, llama2.c .bin, or GGUF) to a GGUF file that
 * llama.cpp and Ollama load; straight to any quantized type in the same pass. */
#include <stdio.h>

#include "cli.h"
#include "cli_opts.h"
#include "convert_cli.h"

int cmd_convert(int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_parse(CLI_CONVERT, argc, argv, &a);
    if (rc != 0) {
        return rc < 0 ? LQ_EXIT_OK : rc;
    }
    struct convert_cli c = {.cmd = "convert", .params = lq_convert_params_default()};
    struct lq_error err;
    if (lq_ftype_from_name(cli_str(&a, OPT_TYPE), &c.params.ftype, &err) != LQ_OK) {
        rc = cli_usage_error("convert", "%s", err.msg);
        goto out;
    }
    rc = convert_cli_from_args(&c, &a);
    if (rc != 0) {
        goto out;
    }
    c.in = a.pos[0];
    c.out = cli_str(&a, OPT_OUTPUT);
    rc = convert_cli_run(&c);
out:
    convert_cli_free(&c);
    return rc;
}
