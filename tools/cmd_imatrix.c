/* cmd_imatrix.c - `quant imatrix MODEL --calib FILE -o OUT`: llama-imatrix's importance matrix
 * (imatrix GGUF) from calibration text, for `quant quantize --imatrix` and llama-quantize. */
#include <stdio.h>

#include "calib_cli.h"
#include "cli.h"
#include "cli_opts.h"
#include "json_out.h"
#include "lq/imatrix_job.h"
#include "progress.h"

struct opts {
    const char *calib, *out;
    int64_t ctx, chunks, threads;
    struct lq_imatrix_batching bt;
    bool json, quiet;
};

static int parse(int argc, char **argv, struct opts *o, const char **model)
{
    struct cli_args a;
    const int rc = cli_parse(CLI_IMATRIX, argc, argv, &a);
    if (rc != 0) {
        return rc;
    }
    *model = a.pos[0];
    o->calib = cli_str(&a, OPT_CALIB);
    o->out = cli_str(&a, OPT_OUTPUT);
    o->ctx = cli_num(&a, OPT_CTX);
    o->chunks = cli_num(&a, OPT_CHUNKS);
    o->bt.n_batch = cli_num(&a, OPT_BATCH);
    o->bt.n_ubatch = cli_num(&a, OPT_UBATCH);
    o->threads = cli_num(&a, OPT_THREADS);
    o->json = cli_has(&a, OPT_JSON);
    o->quiet = cli_has(&a, OPT_QUIET);
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
                      const struct lq_imatrix_job_summary *sum, double seconds)
{
    json_t *doc = json_out_new("imatrix");
    json_out_input(doc, "model", model);
    json_out_input(doc, "calib", o->calib);
    json_out_output(doc, o->out, "imatrix");
    json_out_int(doc, "n_entries", sum->n_entries);
    json_out_int(doc, "n_chunks", c->calib.n_chunks);
    json_out_int(doc, "n_ctx", c->calib.n_ctx);
    json_out_int(doc, "n_text_tokens", c->calib.n_text_tokens);
    json_out_int(doc, "chunks_counted", sum->chunks_counted);
    json_out_real(doc, "tokens_per_second",
                  seconds > 0 ? (double)(c->calib.n_chunks * c->calib.n_ctx) / seconds : 0.0);
    return json_out_emit(doc, seconds, LQ_EXIT_OK);
}

int cmd_imatrix(int argc, char **argv)
{
    struct opts o = {0}; /* the table's defaults: parse() */
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
    struct lq_error err = {0};
    struct lq_imatrix_job_summary sum = {0};
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
    const lq_status s = lq_imatrix_run(c.model, &c.calib, &o.bt, o.out, &sum, &err);
    progress_end(&bar);
    const double secs = progress_now() - t0;
    if (s != LQ_OK) {
        rc = cli_fail("imatrix", &err);
    } else if (o.json) {
        rc = print_json(&o, model, &c, &sum, secs);
    } else if (!o.quiet) {
        fprintf(stderr, "imatrix: %lld entries, %u chunks counted, written to %s in %.1f s\n",
                (long long)sum.n_entries, sum.chunks_counted, o.out, secs);
    }
    calib_cli_close(&c);
    return rc;
}
