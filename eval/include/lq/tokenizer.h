/*
 * lq/tokenizer.h - text <-> token ids, reproducing llama.cpp's tokenizers.
 *
 * A tokenizer is built from the `tokenizer.ggml.*` metadata of a GGUF file:
 *   tokenizer.ggml.model       "llama" (SentencePiece, SPM) or "gpt2" (byte-level BPE)
 *   tokenizer.ggml.pre         pre-tokenizer name for BPE ("llama-bpe", "qwen2", ...)
 *   tokenizer.ggml.tokens      string[n_vocab]   token texts
 *   tokenizer.ggml.scores      float32[n_vocab]  SPM merge scores (optional)
 *   tokenizer.ggml.token_type  int32[n_vocab]    1 normal, 2 unknown, 3 control,
 *                                                4 user-defined, 5 unused, 6 byte
 *   tokenizer.ggml.merges      string[]          BPE merges "left right", rank = index
 *   tokenizer.ggml.{bos,eos,unknown,padding,...}_token_id, add_bos_token, add_eos_token,
 *   add_space_prefix
 *
 * Encoding follows llama.cpp (src/llama-vocab.cpp) step by step: special and user-defined
 * tokens are cut out of the text first (longest first); SPM text then gets a leading space
 * and spaces become U+2581 before the score-driven bigram merge with byte fallback; BPE
 * text is split by the pre-tokenizer's regexes (PCRE2, Unicode properties), each piece is
 * mapped through GPT-2's byte-to-unicode table and merged by rank. The ids match
 * llama.cpp's for the same vocabulary, including its quirks.
 *
 * Not supported: WordPiece ("bert"), Unigram ("t5"), RWKV and PLaMo-2 vocabularies, and
 * a few BPE pre-tokenizers that llama.cpp implements with bespoke code; creation fails
 * with LQ_E_UNSUPPORTED naming the model or pre-tokenizer.
 *
 * A tokenizer is immutable after creation: encode/decode may run concurrently from
 * several threads on the same handle. It does not keep a reference to the GGUF handle.
 */
#ifndef LQ_TOKENIZER_H
#define LQ_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/gguf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LQ_TOKEN_NULL (-1)

/* Token attributes (bit flags, numbered as llama.cpp's llama_token_attr). */
enum lq_token_attr {
    LQ_TOKEN_ATTR_UNDEFINED = 0,
    LQ_TOKEN_ATTR_UNKNOWN = 1 << 0,
    LQ_TOKEN_ATTR_UNUSED = 1 << 1,
    LQ_TOKEN_ATTR_NORMAL = 1 << 2,
    LQ_TOKEN_ATTR_CONTROL = 1 << 3,
    LQ_TOKEN_ATTR_USER_DEFINED = 1 << 4,
    LQ_TOKEN_ATTR_BYTE = 1 << 5,
    LQ_TOKEN_ATTR_LSTRIP = 1 << 7, /* strip spaces before it when cut out of text */
    LQ_TOKEN_ATTR_RSTRIP = 1 << 8, /* strip spaces after it */
};

/* Flags of lq_tokenizer_encode*(). */
#define LQ_TOKENIZE_ADD_SPECIAL 0x1u   /* add BOS/EOS where the vocabulary asks for them */
#define LQ_TOKENIZE_PARSE_SPECIAL 0x2u /* also recognise control tokens ("<s>") in the text;
                                          user-defined tokens are always recognised */

/* Flags of lq_tokenizer_decode() and lq_tokenizer_token_to_piece(). */
#define LQ_DETOKENIZE_REMOVE_SPECIAL 0x1u  /* drop a leading BOS / trailing EOS the vocab adds */
#define LQ_DETOKENIZE_UNPARSE_SPECIAL 0x2u /* render control/unknown tokens as their text */

typedef struct lq_tokenizer lq_tokenizer;

/* Builds a tokenizer from a GGUF file's metadata (everything is copied; `g` may be freed
 * afterwards). On failure *out is NULL and err names the key and the problem. */
LQ_API lq_status lq_tokenizer_from_gguf(const lq_gguf *g, lq_tokenizer **out,
                                        struct lq_error *err);

/* Frees the tokenizer; accepts NULL. */
LQ_API void lq_tokenizer_free(lq_tokenizer *tok);

/* Tokenizes `len` bytes of `text` (need not be NUL-terminated; invalid UTF-8 is tolerated
 * as llama.cpp does). On success *ids is a new array of *n_ids ids (NULL when empty),
 * owned by the caller and released with lq_tokenizer_ids_free(). */
LQ_API lq_status lq_tokenizer_encode(const lq_tokenizer *tok, const char *text, size_t len,
                                     unsigned flags, int32_t **ids, size_t *n_ids,
                                     struct lq_error *err);
LQ_API void lq_tokenizer_ids_free(int32_t *ids);

/* lq_tokenizer_encode() of the whole file at path (read into memory first). Errors name the
 * file. */
LQ_API lq_status lq_tokenizer_encode_file(const lq_tokenizer *tok, const char *path,
                                          unsigned flags, int32_t **ids, size_t *n_ids,
                                          struct lq_error *err);

/* Same into a caller buffer of `cap` ids. When it is too small, returns LQ_E_RANGE and
 * sets *n_ids to the number needed. */
LQ_API lq_status lq_tokenizer_encode_into(const lq_tokenizer *tok, const char *text,
                                          size_t len, unsigned flags, int32_t *ids, size_t cap,
                                          size_t *n_ids, struct lq_error *err);

/* Text of one token as it appears in the output (byte tokens become their byte, BPE
 * pieces are mapped back from GPT-2's byte alphabet, U+2581 becomes a space). Writes
 * *n_out bytes plus a NUL into buf; when cap < *n_out + 1 returns LQ_E_RANGE with *n_out
 * set to the length needed. Control tokens give "" unless LQ_DETOKENIZE_UNPARSE_SPECIAL. */
LQ_API lq_status lq_tokenizer_token_to_piece(const lq_tokenizer *tok, int32_t id,
                                             unsigned flags, char *buf, size_t cap,
                                             size_t *n_out, struct lq_error *err);

/* Detokenizes n ids into buf like llama.cpp's llama_detokenize: SPM drops the leading
 * space the encoder added (but, as llama.cpp, keeps it when REMOVE_SPECIAL removed a
 * leading BOS), BPE vocabularies with clean-up enabled remove the spaces before ? ! . ,
 * and some contractions. Same buffer convention as token_to_piece. */
LQ_API lq_status lq_tokenizer_decode(const lq_tokenizer *tok, const int32_t *ids, size_t n,
                                     unsigned flags, char *buf, size_t cap, size_t *n_out,
                                     struct lq_error *err);

/* Vocabulary facts. Ids are LQ_TOKEN_NULL when the vocabulary has no such token. */
LQ_API int32_t lq_tokenizer_n_vocab(const lq_tokenizer *tok);
LQ_API int32_t lq_tokenizer_bos(const lq_tokenizer *tok);
LQ_API int32_t lq_tokenizer_eos(const lq_tokenizer *tok);
LQ_API int32_t lq_tokenizer_eot(const lq_tokenizer *tok);
LQ_API int32_t lq_tokenizer_unk(const lq_tokenizer *tok);
LQ_API int32_t lq_tokenizer_pad(const lq_tokenizer *tok);
LQ_API int32_t lq_tokenizer_nl(const lq_tokenizer *tok);
LQ_API bool lq_tokenizer_add_bos(const lq_tokenizer *tok);
LQ_API bool lq_tokenizer_add_eos(const lq_tokenizer *tok);
/* True for tokens that end generation (EOS, EOT, "<|im_end|>", ...). */
LQ_API bool lq_tokenizer_is_eog(const lq_tokenizer *tok, int32_t id);

/* Raw text, score and attributes of a token (NULL / 0 for an id out of range). The text
 * is borrowed, valid until the tokenizer is freed. */
LQ_API const char *lq_tokenizer_token_text(const lq_tokenizer *tok, int32_t id);
LQ_API float lq_tokenizer_token_score(const lq_tokenizer *tok, int32_t id);
LQ_API unsigned lq_tokenizer_token_attr(const lq_tokenizer *tok, int32_t id);
/* The id of a token with exactly this text, or LQ_TOKEN_NULL. */
LQ_API int32_t lq_tokenizer_find(const lq_tokenizer *tok, const char *text, size_t len);

/* "llama" or "gpt2" (tokenizer.ggml.model), and the BPE pre-tokenizer name ("default"
 * for SPM or when the file names none). Borrowed strings. */
LQ_API const char *lq_tokenizer_model_name(const lq_tokenizer *tok);
LQ_API const char *lq_tokenizer_pre_name(const lq_tokenizer *tok);

#ifdef __cplusplus
}
#endif
#endif /* LQ_TOKENIZER_H */
