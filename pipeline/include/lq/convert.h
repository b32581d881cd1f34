/*
 * lq/convert.h - the one streaming pass behind `quant convert` and `quant quantize`: read a
 * source checkpoint tensor by tensor, pick each tensor's type with llama.cpp's recipe,
 * convert or quantize it, and append it to a GGUF file.
 *
 * Peak memory is one tensor's working set (its float32 copy plus the output bytes), however
 * large the model: inputs are memory-mapped and each tensor's pages are released after use.
 * The output is written to a temporary name and renamed only when complete; on any failure
 * no output file is left behind.
 */
#ifndef LQ_CONVERT_H
#define LQ_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/gguf_writer.h"
#include "lq/imatrix.h"
#include "lq/quantize.h"
#include "lq/recipe.h"
#include "lq/source.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What happened to one tensor (passed to the per-tensor callback). */
struct lq_convert_tensor_report {
    int64_t index, n_tensors;
    const char *name;
    int n_dims;
    int64_t ne[4];
    enum lq_type from, to;
    size_t bytes_in, bytes_out;
    bool quantized;            /* converted through float32 (else copied as stored) */
    bool used_imatrix;
    bool have_stats;
    struct lq_quant_stats stats; /* error of the output against the source floats */
    double seconds;
};

struct lq_convert_params {
    enum lq_ftype ftype;
    int output_tensor_type;       /* -1: recipe's choice */
    int token_embedding_type;     /* -1: recipe's choice */
    bool pure;
    bool allow_requantize;        /* quantized sources may be re-quantized */
    bool allow_nonfinite;         /* otherwise a NaN/Inf in any tensor written (or a value that
                                   * overflows its output type) is an LQ_E_RANGE error naming
                                   * the file, tensor, row and column as in the source */
    bool stats;                   /* fill report.stats for every converted tensor */
    int nthreads;
    int64_t piece_values;         /* a tensor is read, converted and written in pieces of whole
                                   * rows of about this many values, so memory holds one piece
                                   * (0: 16 Mi, 64 MiB of F32); the output does not depend on it */
    const lq_imatrix *imatrix;    /* optional importance data; borrowed */
    const char *imatrix_path;     /* recorded as quantize.imatrix.file */
    bool importance_supplied;     /* tensor_data supplies the types that need importance data
                                   * (GPTQ's driver rounds them with its Hessians' diagonal):
                                   * the recipe accepts them without an imatrix */
    /* --tensor-type: returns a type for this tensor name, or -1 */
    int (*type_override)(const char *name, void *user);
    void *type_override_user;
    /* supplies a tensor's output bytes instead of converting it (e.g. GPTQ's blocks): sets
     * *data (borrowed until the next call) and *nbytes, which must be the size of the planned
     * type `to`, or leaves *data NULL to convert as usual. A failure (e.g. reading blocks
     * back from disk) ends the run with its error. May be NULL. */
    lq_status (*tensor_data)(const char *name, enum lq_type to, const void **data,
                             size_t *nbytes, void *user, struct lq_error *err);
    void *tensor_data_user;
    /* adds metadata after the recipe's keys (e.g. the optimizer's plan); may be NULL */
    lq_status (*add_metadata)(lq_gguf_writer *w, void *user, struct lq_error *err);
    void *add_metadata_user;
    /* called after each tensor (may be NULL) */
    void (*on_tensor)(const struct lq_convert_tensor_report *r, void *user);
    void *on_tensor_user;
};

LQ_API struct lq_convert_params lq_convert_params_default(void);

struct lq_convert_summary {
    int64_t n_tensors;
    int64_t n_params;
    uint64_t bytes_in, bytes_out;
    int n_fallback;
    double seconds;
};

/* Plans the output type of every source tensor (no data is read). out_types has
 * lq_source_n_tensors entries. */
LQ_API lq_status lq_convert_plan(const lq_source *src, const struct lq_convert_params *p,
                                 enum lq_type *out_types, int *n_fallback, struct lq_error *err);

/* The exact size of the file lq_convert_run would write with these tensor types (one per
 * source tensor, as lq_convert_plan fills them; metadata and padding included). */
LQ_API lq_status lq_convert_file_size(const lq_source *src, const struct lq_convert_params *p,
                                      const enum lq_type *types, uint64_t *size,
                                      struct lq_error *err);
/* Writes OUT as GGUF. summary may be NULL. */
LQ_API lq_status lq_convert_run(const lq_source *src, const char *out_path,
                                const struct lq_convert_params *p,
                                struct lq_convert_summary *summary, struct lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LQ_CONVERT_H */
