/* cmd_imatrix.c - `quant imatrix MODEL --calib FILE -o OUT`: llama-imatrix's importance matrix
 * (imatrix GGUF) from calibration text, for `quant quantize --imatrix` and llama-quantize. */
#include <getopt.h>
#include <stdio.h>

#include "calib_cli.h"
#include "cli.h"
#include "json_out.h"
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
            "  --json           print the result as JSON on stdout (README.md)\n"
            "  --progress       progress lines even when stderr is not a terminal\n"
            "  -q, --quiet      no progress or summary\n"
            "\nThe text must give at least 2 chunks (llama-imatrix's rule).\n"
            "Exit codes: 0 ok, 1 failure, 2 usage, 3 bad input file.\n");
}

struct opts {
    const char *calib, *out;
    int64_t ctx, chunks, threads;
    struct lq_imatrix_batching bt;
    bool json, quiet;
};

static int parse(int argc, char **argv, struct opts *o, const char **model)
{
    static const struct option lo[] = {
        { "calib", required_argument, NULL, 'c' }, { "output", required_argument, NULL, 'o' },
        { "ctx", required_argument, NULL, 'C' },   { "chunks", required_argument, NULL, 'n' },
        { "batch", required_argument, NULL, 'b' }, { "ubatch", required_argument, NULL, 'u' },
        { "threads", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
        { "json", no_argument, NULL, 'J' },        { "progress", no_argument, NULL, 'P' },
        { "quiet", no_argument, NULL, 'q' },       { NULL, 0, NULL, 0 },
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:t:hq", lo, NULL)) != -1) {
        bool ok = true;
        switch (opt) {
        case 'c': o->calib = optarg; break;
        case 'o': o->out = optarg; break;
        case 'C': ok = calib_cli_int("imatrix", "--ctx", optarg, 2, &o->ctx); break;
        case 'n': ok = calib_cli_int("imatrix", "--chunks", optarg, 1, &o->chunks); break;
        case 'b': ok = calib_cli_int("imatrix", "--batch", optarg, 1, &o->bt.n_batch); break;
        case 'u': ok = calib_cli_int("imatrix", "--ubatch", optarg, 1, &o->bt.n_ubatch); break;
        case 't': ok = calib_cli_int("imatrix", "--threads", optarg, 0, &o->threads); break;
        case 'J': o->json = true; break;
        case 'P': progress_set_mode(PROGRESS_FORCE); break;
        case 'q': o->quiet = true; progress_set_mode(PROGRESS_QUIET); break;
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

static void on_chunk(void *user, int64_t done, int64_t total)
{
    char label[48];
    snprintf(label, sizeof label, "chunk %lld/%lld", (long long)done, (long long)total);
    progress_units(user, done, total, label);
}

/* The --json document (keys in README.md). */
static int print_json(const struct opts *o, const char *model, const struct calib_cli *c,
                      const lq_imatrix *im, double seconds)
{
    json_t *doc = json_out_new("imatrix");
    json_out_input(doc, "model", model);
    json_out_input(doc, "calib", o->calib);
    json_out_output(doc, o->out, "imatrix");
    json_out_int(doc, "n_entries", lq_imatrix_n_entries(im));
    json_out_int(doc, "n_chunks", c->calib.n_chunks);
    json_out_int(doc, "n_ctx", c->calib.n_ctx);
    json_out_int(doc, "n_text_tokens", c->calib.n_text_tokens);
    json_out_int(doc, "chunks_counted", lq_imatrix_chunk_count(im));
    json_out_real(doc, "tokens_per_second",
                  seconds > 0 ? (double)(c->calib.n_chunks * c->calib.n_ctx) / seconds : 0.0);
    return json_out_emit(doc, seconds, LQ_EXIT_OK);
}

int cmd_imatrix(int argc, char **argv)
{
    struct opts o = { .ctx = 512, .bt = { .n_batch = 2048, .n_ubatch = 512 } };
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
    if (!o.quiet) {
        fprintf(stderr, "imatrix: %lld chunks of %lld tokens (text: %lld tokens)\n",
                (long long)c.calib.n_chunks, (long long)c.calib.n_ctx,
                (long long)c.calib.n_text_tokens);
    }
    struct progress bar;
    progress_start(&bar, "imatrix", 0);
    bar.unit = "chunks";
    o.bt.on_chunk = on_chunk;
    o.bt.user = &bar;
    lq_status s = lq_imatrix_new(&im, &err);
    s = s == LQ_OK ? lq_calib_imatrix(c.model, &c.calib, &o.bt, im, &err) : s;
    progress_end(&bar);
    s = s == LQ_OK ? lq_imatrix_save(im, o.out, &err) : s;
    const double secs = progress_now() - t0;
    if (s != LQ_OK) {
        rc = cli_fail("imatrix", &err);
    } else if (o.json) {
        rc = print_json(&o, model, &c, im, secs);
    } else if (!o.quiet) {
        fprintf(stderr, "imatrix: %lld entries, %u chunks counted, written to %s in %.1f s\n",
                (long long)lq_imatrix_n_entries(im), lq_imatrix_chunk_count(im), o.out, secs);
    }
    lq_imatrix_free(im);
    calib_cli_close(&c);
    return rc;
}
