/* cmd_imatrix.c - `quant imatrix MODEL --calib FILE -o OUT`: llama-imatrix's importance matrix
 * (imatrix GGUF) from calibration text, for `quant quantize --imatrix` and llama-quantize. */
#include <stdio.h>

#include "calib_cli.h"
#include "cli.h"
#include "cli_opts.h"
#include "lq/imatrix.h"
#include "progress.h"

int cmd_imatrix(int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_parse(CLI_IMATRIX, argc, argv, &a);
    if (rc != 0) {
        return rc < 0 ? LQ_EXIT_OK : rc;
    }
    const char *out = cli_str(&a, OPT_OUTPUT);
    const bool quiet = cli_has(&a, OPT_QUIET);
    const struct lq_imatrix_batching bt = { cli_num(&a, OPT_BATCH), cli_num(&a, OPT_UBATCH) };
    struct calib_cli c;
    rc = calib_cli_open(&c, "imatrix", a.pos[0], cli_str(&a, OPT_CALIB), cli_num(&a, OPT_CTX), 2,
                        cli_num(&a, OPT_CHUNKS), (int)cli_num(&a, OPT_THREADS));
    if (rc != 0) {
        return rc;
    }
    struct lq_error err = { 0 };
    lq_imatrix *im = NULL;
    double t0 = progress_now();
    if (!quiet) {
        fprintf(stderr, "imatrix: %lld chunks of %lld tokens (text: %lld tokens)\n",
                (long long)c.calib.n_chunks, (long long)c.calib.n_ctx,
                (long long)c.calib.n_text_tokens);
    }
    if (lq_imatrix_new(&im, &err) != LQ_OK ||
        lq_calib_imatrix(c.model, &c.calib, &bt, im, &err) != LQ_OK ||
        lq_imatrix_save(im, out, &err) != LQ_OK) {
        rc = cli_fail("imatrix", &err);
    } else if (!quiet) {
        fprintf(stderr, "imatrix: %lld entries, %u chunks counted, written to %s in %.1f s\n",
                (long long)lq_imatrix_n_entries(im), lq_imatrix_chunk_count(im), out,
                progress_now() - t0);
    }
    lq_imatrix_free(im);
    calib_cli_close(&c);
    return rc;
}
