/*
 * lq/imatrix.h - importance matrices in llama.cpp's imatrix GGUF format.
 *
 * Layout (general.type = "imatrix"): for every weight matrix W that the calibration saw,
 *   "<W>.in_sum2"  F32 [n_per_row, n_mat]  sum over calibration rows of x_i^2, per column
 *   "<W>.counts"   F32 [1, n_mat]          number of rows summed
 * plus imatrix.datasets (string array), imatrix.chunk_count and imatrix.chunk_size (uint32).
 * The importance of column i is in_sum2[i] / counts (1 where counts is 0), which is what
 * llama-quantize hands its quantizers.
 */
#ifndef LQ_IMATRIX_H
#define LQ_IMATRIX_H

#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lq_imatrix lq_imatrix;

struct lq_imatrix_entry {
    const char *name;    /* weight name ("blk.0.attn_q.weight") */
    int64_t n_per_row;   /* columns of the weight */
    int64_t n_mat;       /* matrices (experts); 1 for dense weights */
    float *sum2;         /* n_per_row * n_mat sums of squares */
    float *counts;       /* n_mat row counts */
};

/* Reads an imatrix GGUF; errors name the file and the bad entry. */
LQ_API lq_status lq_imatrix_load(const char *path, lq_imatrix **out, struct lq_error *err);

/* An empty imatrix to accumulate into (calibration). */
LQ_API lq_status lq_imatrix_new(lq_imatrix **out, struct lq_error *err);
LQ_API void lq_imatrix_free(lq_imatrix *im);

LQ_API int64_t lq_imatrix_n_entries(const lq_imatrix *im);
LQ_API const struct lq_imatrix_entry *lq_imatrix_entry(const lq_imatrix *im, int64_t i);
LQ_API const struct lq_imatrix_entry *lq_imatrix_find(const lq_imatrix *im, const char *name);

/* Importance weights of a weight (n_per_row * n_mat floats: sum2 / counts, 1 where a matrix
 * saw no rows) into dst. LQ_E_NOT_FOUND when the imatrix has no entry for it. */
LQ_API lq_status lq_imatrix_weights(const lq_imatrix *im, const char *name, float *dst,
                                    int64_t n, struct lq_error *err);

/* Adds rows of activations x (nrows x n_per_row) seen by weight `name` (matrix 0). */
LQ_API lq_status lq_imatrix_add(lq_imatrix *im, const char *name, const float *x, int64_t nrows,
                                int64_t n_per_row, struct lq_error *err);

/* Adds rows of activations x seen by matrix `mat` of a stack of n_mat (the experts of
 * "blk.N.ffn_*_exps.weight": each expert keeps its own sums and its own count of the rows
 * routed to it, as llama-imatrix does). The entry is made with n_mat matrices, all counts 0,
 * on first use; a later call with another n_mat or n_per_row is LQ_E_INVALID_ARG. */
LQ_API lq_status lq_imatrix_add_mat(lq_imatrix *im, const char *name, int64_t n_mat, int64_t mat,
                                    const float *x, int64_t nrows, int64_t n_per_row,
                                    struct lq_error *err);

/* Dataset name and chunk bookkeeping written to the file. */
LQ_API void lq_imatrix_set_info(lq_imatrix *im, const char *dataset, uint32_t chunk_count,
                                uint32_t chunk_size);
LQ_API uint32_t lq_imatrix_chunk_count(const lq_imatrix *im);
LQ_API const char *lq_imatrix_dataset(const lq_imatrix *im);

/* Writes the imatrix GGUF (entries sorted by name, as llama-imatrix does). A NaN/Inf sum is
 * LQ_E_RANGE naming the entry and column, and nothing is written. */
LQ_API lq_status lq_imatrix_save(const lq_imatrix *im, const char *path, struct lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LQ_IMATRIX_H */
