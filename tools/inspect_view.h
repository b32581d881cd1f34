/* inspect_view.h - one read-only view over everything `quant convert` reads and a little more:
 * GGUF files, safetensors files, Hugging Face folders (safetensors, sharded, pytorch_model.bin,
 * GPTQ), PyTorch pytorch_model.bin files alone and llama2.c checkpoints, told apart by the
 * same content sniffing as convert (lq_sniff_path). Tensor list, metadata and a summary by
 * type.
 *
 * Shapes are in GGUF order for every format: shape[0] is ne[0], the row length (innermost,
 * contiguous dimension), so a PyTorch / safetensors weight of torch shape [out, in] shows as
 * [in, out], exactly as convert writes it to GGUF. Tensor names are the file's own. */
#ifndef LQ_INSPECT_VIEW_H
#define LQ_INSPECT_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "lq/core.h"
#include "lq/family.h"

#define IV_MAX_DIMS 8

struct iv_tensor {
    const char *name;
    const char *type_name; /* "q4_K", "BF16", ... */
    int lq_type;           /* -1 when the dtype has no ggml type */
    double bits;           /* bits per element of the type */
    int n_dims;
    int64_t shape[IV_MAX_DIMS]; /* GGUF order: shape[0] is the row length */
    int64_t n_elements;         /* stored elements */
    int64_t n_params;           /* parameters it holds: n_elements, except GPTQ's packed
                                 * qweight (its unpacked weights) and side tensors (0) */
    uint64_t nbytes;
    uint64_t offset;  /* absolute offset in its file */
    const char *file; /* shard file for model folders, else NULL */
    const void *data;
};

/* The vocabulary a GGUF file holds, or that converting a folder would write. */
struct iv_tokenizer {
    char model[32]; /* tokenizer.ggml.model ("llama", "gpt2", "gemma4"); "" when none */
    char pre[64];   /* tokenizer.ggml.pre; "" when absent */
    int64_t n_tokens;
    char error[512]; /* why a folder's tokenizer would not convert; "" otherwise */
};

struct inspect_view {
    const char *path;
    const char *format;    /* "GGUF", "safetensors", "Hugging Face folder", "PyTorch",
                              "Hugging Face folder (PyTorch)", "llama2.c" */
    const char *kind_name; /* lq_file_kind_name() of what was sniffed ("hf-dir", ...) */
    unsigned version;      /* GGUF version, else 0 */
    const char *architecture;
    const struct lq_family *family; /* the family table's row (lq/family.h); NULL when the
                                     * architecture is not one convert and eval support */
    bool family_known;              /* the format names an architecture at all */
    int64_t n_tensors;
    struct iv_tensor *tensors;
    void *impl;   /* the format's handle */
    json_t *meta; /* metadata as JSON (config.json, llama2.c header), owned; NULL
                   * for GGUF and safetensors files */
    int kind;
    struct iv_tokenizer tok;
};

struct iv_type_sum {
    const char *name;
    int64_t n_tensors, n_params;
    uint64_t bytes;
};

struct iv_summary {
    int64_t n_params;
    uint64_t n_bytes;
    double bpw;
    size_t n_types;
    struct iv_type_sum *types;
};

/* Fills t for a tensor of a ggml type stored as is (GGUF, llama2.c): every element a
 * parameter. ne in GGUF order. */
void iv_tensor_set_ggml(struct iv_tensor *t, const char *name, int type, uint32_t n_dims,
                        const int64_t *ne, uint64_t nbytes, uint64_t offset, const void *data);

lq_status iv_open(const char *path, struct inspect_view **out, struct lq_error *err);
void iv_free(struct inspect_view *v);

void iv_summarize(const struct inspect_view *v, struct iv_summary *s);
void iv_summary_free(struct iv_summary *s);

int64_t iv_metadata_count(const struct inspect_view *v);
void iv_metadata_print(const struct inspect_view *v, FILE *f);
json_t *iv_metadata_json(const struct inspect_view *v);

#endif
