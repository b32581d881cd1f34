/*
 * An installed-libquant consumer: converts a model (the tiny Llama folder) to an F16 GGUF
 * through the public API, reopens the output and checks its tensor count.
 * Usage: convert_tiny MODEL OUT.gguf N_TENSORS; exit 0 when OUT has N_TENSORS tensors.
 */
#include <stdio.h>
#include <stdlib.h>

#include "lq/convert.h"
#include "lq/gguf.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: convert_tiny MODEL OUT.gguf N_TENSORS\n");
        return 2;
    }
    struct lq_error err = {0};
    lq_source *src = NULL;
    lq_gguf *g = NULL;
    int rc = 1;
    struct lq_convert_params p = lq_convert_params_default();
    struct lq_convert_summary sum;
    if (lq_source_open(argv[1], &src, &err) != LQ_OK ||
        lq_convert_run(src, argv[2], &p, &sum, &err) != LQ_OK ||
        lq_gguf_open(argv[2], &g, &err) != LQ_OK) {
        fprintf(stderr, "convert_tiny: %s\n", err.msg);
        goto out_free;
    }
    long long want = atoll(argv[3]), got = (long long)lq_gguf_n_tensors(g);
    printf("convert_tiny: %s (%s) -> %s: %lld tensors (want %lld), %.2f MiB\n", argv[1],
           lq_source_describe(src), argv[2], got, want, sum.bytes_out / 1048576.0);
    rc = got == want && sum.n_tensors == want ? 0 : 1;
out_free:
    lq_gguf_free(g);
    lq_source_free(src);
    return rc;
}
