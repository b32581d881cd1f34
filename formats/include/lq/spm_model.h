/*
 * lq/spm_model.h - reading SentencePiece models (tokenizer.model).
 *
 * The file is a serialized protobuf ModelProto (sentencepiece_model.proto):
 *   ModelProto {
 *     repeated SentencePiece pieces = 1;   { string piece = 1; float score = 2;
 *                                            Type type = 3 [default NORMAL]; }
 *     TrainerSpec trainer_spec = 2;        { model_type = 3, vocab_size = 4,
 *                                            byte_fallback = 35, unk_id = 40 (default 0),
 *                                            bos_id = 41 (1), eos_id = 42 (2),
 *                                            pad_id = 43 (-1), ... }
 *     NormalizerSpec normalizer_spec = 3;  { name = 1, precompiled_charsmap = 2,
 *                                            add_dummy_prefix = 3 (true),
 *                                            remove_extra_whitespaces = 4 (true),
 *                                            escape_whitespaces = 5 (true) }
 *     ... (other fields are skipped)
 *   }
 * Piece types are numbered as llama.cpp's token types (tokenizer.ggml.token_type), so they
 * can be written to GGUF unchanged. Note that llama.cpp's convert_hf_to_gguf.py maps pieces
 * through SentencePieceProcessor's IsUnknown/IsControl/IsUnused/IsByte and so writes
 * USER_DEFINED pieces as NORMAL (1); a converter that wants its output to match must do the
 * same.
 *
 * The parser checks every length and varint against the bytes left and never trusts the
 * input; unknown fields of every wire type are skipped. Everything is copied into the handle,
 * which is read-only after open (safe to share between threads).
 */
#ifndef LQ_SPM_MODEL_H
#define LQ_SPM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Piece types (SentencePiece's numbering, equal to llama.cpp's token types). */
enum lq_spm_type {
    LQ_SPM_NORMAL = 1,
    LQ_SPM_UNKNOWN = 2,
    LQ_SPM_CONTROL = 3,
    LQ_SPM_USER_DEFINED = 4,
    LQ_SPM_UNUSED = 5,
    LQ_SPM_BYTE = 6,
};

/* TrainerSpec.model_type. */
enum lq_spm_model_type {
    LQ_SPM_MODEL_UNIGRAM = 1,
    LQ_SPM_MODEL_BPE = 2,
    LQ_SPM_MODEL_WORD = 3,
    LQ_SPM_MODEL_CHAR = 4,
};

/* Trainer and normalizer settings; absent fields take the proto's defaults. */
struct lq_spm_info {
    int32_t model_type;          /* enum lq_spm_model_type; UNIGRAM when absent */
    int32_t vocab_size;          /* as trained; 0 when absent */
    int32_t unk_id, bos_id, eos_id, pad_id; /* -1 means none */
    bool byte_fallback;
    bool add_dummy_prefix;
    bool remove_extra_whitespaces;
    bool escape_whitespaces;
    const char *normalizer_name; /* "nmt_nfkc", "identity", ...; "" when absent */
    const unsigned char *precompiled_charsmap; /* NULL when absent */
    size_t precompiled_charsmap_size;
};

typedef struct lq_spm lq_spm;

/* Reads and parses a tokenizer.model. On failure *out is NULL and err names the file, the
 * byte offset and what is wrong. */
LQ_API lq_status lq_spm_open(const char *path, lq_spm **out, struct lq_error *err);

/* Same, from bytes in memory (copied; the caller may free them after). `name` is used in
 * messages. */
LQ_API lq_status lq_spm_open_memory(const void *data, size_t size, const char *name,
                                    lq_spm **out, struct lq_error *err);

/* Frees everything; accepts NULL. */
LQ_API void lq_spm_free(lq_spm *sp);

/* Number of pieces (token ids 0 .. n-1), at least 1. */
LQ_API int64_t lq_spm_n_pieces(const lq_spm *sp);

/* Per-piece arrays of lq_spm_n_pieces entries, borrowed from the handle: pieces are
 * NUL-terminated UTF-8 (never empty, never holding a NUL), scores as stored (bit for bit),
 * types one of enum lq_spm_type. */
LQ_API const char *const *lq_spm_pieces(const lq_spm *sp);
LQ_API const float *lq_spm_scores(const lq_spm *sp);
LQ_API const int32_t *lq_spm_types(const lq_spm *sp);

/* Trainer/normalizer settings, borrowed from the handle. */
LQ_API const struct lq_spm_info *lq_spm_info(const lq_spm *sp);

#ifdef __cplusplus
}
#endif
#endif /* LQ_SPM_MODEL_H */
