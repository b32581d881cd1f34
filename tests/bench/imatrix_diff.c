/* imatrix_diff.c - compares two imatrix GGUF files (ours against llama-imatrix's): the same
 * entries, counts and chunk count, and the largest relative difference of the per-column mean
 * squared activations. Exit 0 when every value agrees within --rtol (default 1e-4). Used by
 * scripts/gptq-acceptance.sh; too slow to produce the full-text imatrix inside ctest. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/imatrix.h"

static int compare(const lq_imatrix *a, const lq_imatrix *b, double rtol)
{
    double worst = 0.0;
    const char *worst_name = "";
    int bad = 0;
    if (lq_imatrix_n_entries(a) != lq_imatrix_n_entries(b)) {
        printf("entries: %lld vs %lld\n", (long long)lq_imatrix_n_entries(a),
               (long long)lq_imatrix_n_entries(b));
        bad = 1;
    }
    for (int64_t i = 0; i < lq_imatrix_n_entries(a); i++) {
        const struct lq_imatrix_entry *ea = lq_imatrix_entry(a, i);
        const struct lq_imatrix_entry *eb = lq_imatrix_find(b, ea->name);
        const int64_t n = ea->n_per_row * ea->n_mat;
        if (!eb || eb->n_per_row * eb->n_mat != n || eb->counts[0] != ea->counts[0]) {
            printf("%s: missing, of another length or another count in the second file\n",
                   ea->name);
            bad = 1;
            continue;
        }
        float *wa = malloc((size_t)n * sizeof(float)), *wb = malloc((size_t)n * sizeof(float));
        if (!wa || !wb || lq_imatrix_weights(a, ea->name, wa, n, NULL) != LQ_OK ||
            lq_imatrix_weights(b, ea->name, wb, n, NULL) != LQ_OK) {
            printf("%s: cannot read\n", ea->name);
            bad = 1;
        }
        for (int64_t c = 0; !bad && c < n; c++) {
            double d = fabs((double)wa[c] - wb[c]) / fmax(fabs((double)wb[c]), 1e-30);
            if (d > worst) {
                worst = d;
                worst_name = ea->name;
            }
        }
        free(wa);
        free(wb);
    }
    printf("entries %lld, chunks %u vs %u, max relative difference %.3g (%s)\n",
           (long long)lq_imatrix_n_entries(a), lq_imatrix_chunk_count(a), lq_imatrix_chunk_count(b),
           worst, worst_name);
    return bad || worst > rtol || lq_imatrix_chunk_count(a) != lq_imatrix_chunk_count(b);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: imatrix_diff OURS.gguf REFERENCE.gguf [rtol]\n");
        return 2;
    }
    const double rtol = argc > 3 ? atof(argv[3]) : 1e-4;
    lq_imatrix *a = NULL, *b = NULL;
    struct lq_error err = {0};
    if (lq_imatrix_load(argv[1], &a, &err) != LQ_OK ||
        lq_imatrix_load(argv[2], &b, &err) != LQ_OK) {
        fprintf(stderr, "imatrix_diff: %s\n", err.msg);
        lq_imatrix_free(a);
        return 1;
    }
    int rc = compare(a, b, rtol);
    lq_imatrix_free(a);
    lq_imatrix_free(b);
    return rc;
}
