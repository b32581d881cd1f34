/*
 * lq/recipe.h - llama.cpp's file types (Q4_K_M, Q3_K_S, ...) and the per-tensor rules that
 * pick each tensor's type for them.
 *
 * A file type ("ftype", stored as general.file_type) names a recipe: a default tensor type
 * plus rules that give some tensors more bits (attn_v, ffn_down in chosen layers, the output
 * head), keep others as they are (norms, 1-D tensors), and fall back to a compatible type
 * when a row length is not a multiple of the block size. The rules follow llama.cpp's
 * llama_tensor_get_type so that our files choose the same type for every tensor.
 */
#ifndef LQ_RECIPE_H
#define LQ_RECIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* llama.cpp's llama_ftype numbering (general.file_type); pinned. */
enum lq_ftype {
    LQ_FTYPE_ALL_F32 = 0,
    LQ_FTYPE_MOSTLY_F16 = 1,
    LQ_FTYPE_MOSTLY_Q4_0 = 2,
    LQ_FTYPE_MOSTLY_Q4_1 = 3,
    LQ_FTYPE_MOSTLY_Q8_0 = 7,
    LQ_FTYPE_MOSTLY_Q5_0 = 8,
    LQ_FTYPE_MOSTLY_Q5_1 = 9,
    LQ_FTYPE_MOSTLY_Q2_K = 10,
    LQ_FTYPE_MOSTLY_Q3_K_S = 11,
    LQ_FTYPE_MOSTLY_Q3_K_M = 12,
    LQ_FTYPE_MOSTLY_Q3_K_L = 13,
    LQ_FTYPE_MOSTLY_Q4_K_S = 14,
    LQ_FTYPE_MOSTLY_Q4_K_M = 15,
    LQ_FTYPE_MOSTLY_Q5_K_S = 16,
    LQ_FTYPE_MOSTLY_Q5_K_M = 17,
    LQ_FTYPE_MOSTLY_Q6_K = 18,
    LQ_FTYPE_MOSTLY_IQ2_XXS = 19,
    LQ_FTYPE_MOSTLY_IQ2_XS = 20,
    LQ_FTYPE_MOSTLY_Q2_K_S = 21,
    LQ_FTYPE_MOSTLY_IQ3_XS = 22,
    LQ_FTYPE_MOSTLY_IQ3_XXS = 23,
    LQ_FTYPE_MOSTLY_IQ1_S = 24,
    LQ_FTYPE_MOSTLY_IQ4_NL = 25,
    LQ_FTYPE_MOSTLY_IQ3_S = 26,
    LQ_FTYPE_MOSTLY_IQ3_M = 27,
    LQ_FTYPE_MOSTLY_IQ2_S = 28,
    LQ_FTYPE_MOSTLY_IQ2_M = 29,
    LQ_FTYPE_MOSTLY_IQ4_XS = 30,
    LQ_FTYPE_MOSTLY_IQ1_M = 31,
    LQ_FTYPE_MOSTLY_BF16 = 32,
    LQ_FTYPE_MOSTLY_TQ1_0 = 36,
    LQ_FTYPE_MOSTLY_TQ2_0 = 37,
    LQ_FTYPE_MOSTLY_MXFP4_MOE = 38,
};

/* Parses a file-type name as llama-quantize spells it, case-insensitively: "Q4_K_M",
 * "q8_0", "f16", "bf16", "f32"; "q3_k", "q4_k", "q5_k" mean the _M recipes. */
LQ_API lq_status lq_ftype_from_name(const char *name, enum lq_ftype *out, struct lq_error *err);

/* Upper-case name ("Q4_K_M"); "unknown" for other values. */
LQ_API const char *lq_ftype_name(enum lq_ftype ftype);

/* The recipe's default tensor type (Q4_K for Q4_K_M); -1 for unknown values. */
LQ_API int lq_ftype_default_type(enum lq_ftype ftype);

/* Comma-separated list of the supported names, for help texts. */
LQ_API const char *lq_ftype_names(void);

/* Every file type this table knows, in the order of lq_ftype_names(): writes up to cap of
 * them to out (which may be NULL) and returns how many there are. */
LQ_API size_t lq_ftype_list(enum lq_ftype *out, size_t cap);

/* Whether llama-quantize refuses the file type without an importance matrix (some of its
 * tensors get a type that needs one: lq_recipe_plan then fails without has_imatrix). */
LQ_API bool lq_ftype_needs_imatrix(enum lq_ftype ftype);

/* Comma-separated names of the file types that need an importance matrix, for messages. */
LQ_API const char *lq_ftype_imatrix_names(void);

/* One tensor as the recipe sees it. */
struct lq_recipe_tensor {
    const char *name;       /* GGUF name: "blk.3.ffn_down.weight" */
    int n_dims;
    int64_t ne[4];
    enum lq_type type;      /* its current type */
    int override_type;      /* a user's --tensor-type match for this tensor, or -1 */
};

struct lq_recipe_params {
    enum lq_ftype ftype;
    int output_tensor_type;     /* -1: the recipe's choice */
    int token_embedding_type;   /* -1: the recipe's choice */
    bool pure;                  /* every quantizable tensor gets the default type */
    bool quantize_output_tensor;
    bool has_imatrix;
    int n_layer;                /* block_count */
    int n_head;
    int n_head_kv;
    int n_expert;               /* 0 or 1 for dense models */
    bool is_70b;                /* llama 70B shape (80 layers with GQA): attn_v gets more bits */
};

/* Defaults: Q8_0, no overrides, quantize_output_tensor = true. */
LQ_API struct lq_recipe_params lq_recipe_params_default(void);

/* Whether llama.cpp would quantize this tensor at all (2-D+ weights, not norms, ...). */
LQ_API bool lq_recipe_allows_quantization(const struct lq_recipe_params *p,
                                          const struct lq_recipe_tensor *t);

/* Picks the type of every tensor, in the order given (llama.cpp's counters depend on the
 * order: pass tensors sorted as lq_recipe_sort_names orders them). out_types[i] receives
 * the new type; *n_fallback (optional) counts row-length fallbacks. Without has_imatrix,
 * a plan that gives a tensor a type llama-quantize quantizes only with an importance matrix
 * fails with LQ_E_INVALID_ARG, naming the tensor and how to make one (`quant imatrix`). */
LQ_API lq_status lq_recipe_plan(const struct lq_recipe_params *p,
                                const struct lq_recipe_tensor *tensors, size_t n,
                                enum lq_type *out_types, int *n_fallback, struct lq_error *err);

/* llama.cpp's tensor order: tensors outside blocks first, then by block number, then by
 * name. Returns <0, 0, >0 like strcmp. */
LQ_API int lq_recipe_compare_names(const char *a, const char *b);

#ifdef __cplusplus
}
#endif
#endif /* LQ_RECIPE_H */
