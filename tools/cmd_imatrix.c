/* cmd_imatrix.c - `quant imatrix MODEL --calib FILE -o OUT`: llama-imatrix's importance matrix
 * (imatrix GGUF) from calibration text, for `quant quantize --imatrix` and llama-quantize. */
#include <getopt.h>
#include <stdio.h>

#include "calib_cli.h"
#include "cli.h"
#include "lq/imatrix.h"
#include "progress.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: quant imatrix MODEL --calib FILE -o OUT [options]\n\n"
            "Runs the calibration text through MODEL (GGUF file, Hugging Face folder, llama2.c\n"
            "checkpoint or GPTQ folder) and writes the mean squared input activation of every\n"
            "block weight as llama.cpp's imatrix GGUF (what llama-imatrix writes: same entries,\n"
            "counts and sums). Collect with an F16 (or F32) model, as llama-imatrix users do.\n\n"
            "options:\n"
            "  --calib FILE     calibration text (tokenized with MODEL's tokenizer)\n"
            "  -o, --output OUT imatrix GGUF to write\n"
            "  --ctx N          tokens per chunk, BOS first (default 512, llama-imatrix's)\n"
            "  --chunks N       use at most N chunks (default: the whole text)\n"
            "  --batch N        llama-imatrix's -b (default 2048) and --ubatch N its -ub\n"
            "                   (default 512): they decide which rows it counts\n"
            "  -t, --threads N  threads (default: all)\n"
            "\nThe text must give at least 2 chunks (llama-imatrix's rule).\n"
            "Exit codes: 0 ok, 1 failure, 2 usage, 3 bad input file.\n");
}

struct opts {
    const char *calib, *out;
    int64_t ctx, chunks, threads;
    struct lq_imatrix_batching bt;
};

static int parse(int argc, char **argv, struct opts *o, const char **model)
{
    static const struct option lo[] = {
        { "calib", required_argument, NULL, 'c' }, { "output", required_argument, NULL, 'o' },
        { "ctx", required_argument, NULL, 'C' },   { "chunks", required_argument, NULL, 'n' },
        { "batch", required_argument, NULL, 'b' }, { "ubatch", required_argument, NULL, 'u' },
        { "threads", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:t:h", lo, NULL)) != -1) {
        bool ok = true;
        switch (opt) {
        case 'c': o->calib = optarg; break;
        case 'o': o->out = optarg; break;
        case 'C': ok = calib_cli_int("imatrix", "--ctx", optarg, 2, &o->ctx); break;
        case 'n': ok = calib_cli_int("imatrix", "--chunks", optarg, 1, &o->chunks); break;
        case 'b': ok = calib_cli_int("imatrix", "--batch", optarg, 1, &o->bt.n_batch); break;
        case 'u': ok = calib_cli_int("imatrix", "--ubatch", optarg, 1, &o->bt.n_ubatch); break;
        case 't': ok = calib_cli_int("imatrix", "--threads", optarg, 0, &o->threads); break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return LQ_EXIT_USAGE;
        }
        if (!ok) {
            return LQ_EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || !o->calib || !o->out) {
        return cli_usage_error("imatrix", "expected MODEL, --calib FILE and -o OUT");
    }
    *model = argv[optind];
    return cli_refuse_input_as_output("imatrix", o->out, *model, o->calib, (const char *)NULL);
}

int cmd_imatrix(int argc, char **argv)
{
    struct opts o = { .ctx = 512, .bt = { 2048, 512 } };
    const char *model = NULL;
    int rc = parse(argc, argv, &o, &model);
    if (rc != 0) {
        return rc < 0 ? LQ_EXIT_OK : rc;
    }
    struct calib_cli c;
    rc = calib_cli_open(&c, "imatrix", model, o.calib, o.ctx, 2, o.chunks, (int)o.threads);
    if (rc != 0) {
        return rc;
    }
    struct lq_error err = { 0 };
    lq_imatrix *im = NULL;
    double t0 = progress_now();
    fprintf(stderr, "imatrix: %lld chunks of %lld tokens (text: %lld tokens)\n",
            (long long)c.calib.n_chunks, (long long)c.calib.n_ctx,
            (long long)c.calib.n_text_tokens);
    if (lq_imatrix_new(&im, &err) != LQ_OK ||
        lq_calib_imatrix(c.model, &c.calib, &o.bt, im, &err) != LQ_OK ||
        lq_imatrix_save(im, o.out, &err) != LQ_OK) {
        rc = cli_fail("imatrix", &err);
    } else {
        fprintf(stderr, "imatrix: %lld entries, %u chunks counted, written to %s in %.1f s\n",
                (long long)lq_imatrix_n_entries(im), lq_imatrix_chunk_count(im), o.out,
                progress_now() - t0);
    }
    lq_imatrix_free(im);
    calib_cli_close(&c);
    return rc;
}
