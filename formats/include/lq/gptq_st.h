/*
 * lq/gptq_st.h - GPTQ checkpoints as transformers, vLLM and AutoGPTQ load them ("gptq"
 * checkpoint format, v1): packing, unpacking and a writer for a whole model folder.
 *
 * Per quantized linear layer with W (nrows = out_features, ncols = in_features) and
 * g = ceil(ncols / group_size) groups (1 for group_size -1), four tensors:
 *   <prefix>.qweight  I32 [ncols / 32 * bits, nrows]  codes packed along the input dimension
 *   <prefix>.qzeros   I32 [g, nrows / 32 * bits]      (zero - 1) packed along the output dim
 *   <prefix>.scales   F16 [g, nrows]
 *   <prefix>.g_idx    I32 [ncols]                     group of each input column
 * Packing (AutoGPTQ's QuantLinear.pack): every run of 32 consecutive values forms a
 * little-endian bit stream of 32 * bits bits, value j at bit bits * j, split into `bits`
 * 32-bit words; for 2, 4 and 8 bits no value crosses a word, for 3 bits values 10 and 21 do.
 * Weight (r, c) = scales[g_idx[c], r] * (q - (stored zero + 1)). v1 cannot store a zero
 * point of 0 (see lq_gptq_params.v1_zeros). Both dimensions must be multiples of 32.
 *
 * The folder: <base>.safetensors (layers plus any other tensors, e.g. F16 embeddings and
 * norms), quantize_config.json, and config.json with a "quantization_config" object.
 */
#ifndef LQ_GPTQ_ST_H
#define LQ_GPTQ_ST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/gptq.h"
#include "lq/st_writer.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lq_gptq_layout {
    int bits;           /* 2, 3, 4 or 8 */
    int64_t group_size; /* -1: one group per row */
    int64_t nrows;      /* out_features, a multiple of 32 */
    int64_t ncols;      /* in_features, a multiple of 32 */
};

/* LQ_E_UNSUPPORTED naming what does not fit the format, LQ_E_INVALID_ARG for nonsense. */
LQ_API lq_status lq_gptq_layout_check(const struct lq_gptq_layout *l, struct lq_error *err);

/* Shapes [2] (file order) of qweight, qzeros, scales; g_idx is [ncols]. */
LQ_API void lq_gptq_layout_shapes(const struct lq_gptq_layout *l, int64_t qweight[2],
                                  int64_t qzeros[2], int64_t scales[2]);

/* The four tensors' bytes (little-endian, as stored in the file). For packing they are
 * caller-allocated: 4 * qweight elements, 4 * qzeros elements, 2 * scales elements and
 * 4 * ncols bytes. */
struct lq_gptq_tensors {
    void *qweight;
    void *qzeros;
    void *scales;
    void *g_idx;
};

/* Packs lq_gptq_quantize's result (codes, F16-exact scales, zeros >= 1, g_idx) for layout l.
 * LQ_E_RANGE if a zero point is 0 or a code exceeds the bit width. */
LQ_API lq_status lq_gptq_pack(const struct lq_gptq_result *res, const struct lq_gptq_layout *l,
                              struct lq_gptq_tensors *out, struct lq_error *err);

/* Decodes the four tensors (read only; any alignment) into out (nrows, ncols) floats,
 * row-major. LQ_E_FORMAT if a g_idx entry is outside [0, g). */
LQ_API lq_status lq_gptq_st_dequantize(const struct lq_gptq_tensors *t,
                                       const struct lq_gptq_layout *l, float *out,
                                       struct lq_error *err);

// ---- model folder writer ----------------------------------------------------------------------

/* AutoGPTQ's quantize_config.json fields. */
struct lq_gptq_st_config {
    int bits;
    int64_t group_size;
    double damp_percent;
    bool desc_act;
    bool static_groups;
    bool sym;
    bool true_sequential;
    const char *model_name_or_path;   /* NULL: JSON null */
    const char *model_file_base_name; /* NULL: "model" */
};

/* The config matching GPTQ params (damp_percent as the shortest decimal of p->damp). */
LQ_API struct lq_gptq_st_config lq_gptq_st_config_from_params(const struct lq_gptq_params *p);

typedef struct lq_gptq_st lq_gptq_st;

/* A writer for one folder. cfg and its strings are copied. */
LQ_API lq_status lq_gptq_st_new(const struct lq_gptq_st_config *cfg, lq_gptq_st **out,
                                struct lq_error *err);

/* Packs a layer quantized with cfg's bits and group size (the packed copy is owned by the
 * writer; res may be freed after the call). */
LQ_API lq_status lq_gptq_st_add_layer(lq_gptq_st *w, const char *prefix,
                                      const struct lq_gptq_result *res, int64_t nrows,
                                      int64_t ncols, struct lq_error *err);

/* Adds any other tensor as given (data borrowed: valid until lq_gptq_st_write returns). */
LQ_API lq_status lq_gptq_st_add_tensor(lq_gptq_st *w, const struct lq_st_wtensor *t,
                                       struct lq_error *err);

/* Adds a float tensor converted to F16 (the converted copy is owned by the writer). */
LQ_API lq_status lq_gptq_st_add_f16(lq_gptq_st *w, const char *name, int ndims,
                                    const int64_t *shape, const float *data,
                                    struct lq_error *err);

/* Writes <dir>/<base>.safetensors, <dir>/quantize_config.json and, when config_json (the
 * source model's config.json text) is given, <dir>/config.json: that object with
 * "quantization_config" set and "torch_dtype" "float16". Each file is replaced atomically.
 * LQ_E_FORMAT if config_json is not a JSON object. */
LQ_API lq_status lq_gptq_st_write(lq_gptq_st *w, const char *dir, const char *config_json,
                                  struct lq_error *err);

LQ_API void lq_gptq_st_free(lq_gptq_st *w);

#ifdef __cplusplus
}
#endif
#endif /* LQ_GPTQ_ST_H */
