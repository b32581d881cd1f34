/*
 * lq/sniff.h - telling model file formats apart by their content.
 *
 *   LQ_FILE_GGUF            a file starting with "GGUF"
 *   LQ_FILE_SAFETENSORS     a file starting with a little-endian uint64 N <= 100 MB,
 *                           8 + N <= file size, followed by '{'
 *   LQ_FILE_PYTORCH_ZIP     a file starting with the zip magic "PK\3\4" (torch.save)
 *   LQ_FILE_LLAMA2C         a ".bin" file in karpathy's llama2.c legacy layout (no magic):
 *                           7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 *                           vocab_size - negative when the classifier is not shared -,
 *                           seq_len), plausible values, and a file size that is exactly
 *                           28 + 4 x the float count those values imply
 *   LQ_FILE_HF_DIR          a folder with config.json and model.safetensors or
 *                           model.safetensors.index.json (open it with lq_hf_open)
 *   LQ_FILE_HF_DIR_PYTORCH  a folder with config.json and pytorch_model.bin (or its
 *                           .index.json) but no safetensors weights
 *   LQ_FILE_UNKNOWN         anything else (not an error)
 *
 * Only the first bytes and the size are read. Sniffing says what a file looks like, not
 * that it is valid: the format's reader still validates everything.
 */
#ifndef LQ_SNIFF_H
#define LQ_SNIFF_H

#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"

#ifdef __cplusplus
extern "C" {
#endif

enum lq_file_kind {
    LQ_FILE_UNKNOWN = 0,
    LQ_FILE_GGUF = 1,
    LQ_FILE_SAFETENSORS = 2,
    LQ_FILE_HF_DIR = 3,
    LQ_FILE_LLAMA2C = 4,
    LQ_FILE_PYTORCH_ZIP = 5,
    LQ_FILE_HF_DIR_PYTORCH = 6,
};

/* Name of a kind ("gguf", "safetensors", "hf-dir", ...); never NULL. */
LQ_API const char *lq_file_kind_name(enum lq_file_kind kind);

/* Sniffs a file or folder. Fails (LQ_E_NOT_FOUND, LQ_E_IO) only when the path cannot be
 * read; an unrecognised file gives LQ_OK and LQ_FILE_UNKNOWN. */
LQ_API lq_status lq_sniff_path(const char *path, enum lq_file_kind *kind, struct lq_error *err);

/* Sniffs the first bytes of a file whose total size is file_size (head may be shorter
 * than the file; 32 bytes are enough). `name` is used for the .bin extension test and may
 * be NULL. Never fails. */
LQ_API enum lq_file_kind lq_sniff_bytes(const void *head, size_t n, uint64_t file_size,
                                        const char *name);

#ifdef __cplusplus
}
#endif
#endif /* LQ_SNIFF_H */
