/*
 * lq/model_open_any.h - opening a model and its tokenizer from any checkpoint kind.
 *
 * lq_model_open_path() accepts what `quant` reads: a GGUF file, a Hugging Face folder
 * (safetensors or pytorch_model.bin; F32/F16/BF16 weights), a llama2.c checkpoint, and a GPTQ
 * safetensors folder (quantize_config.json with "quant_method": "gptq"; weights dequantized
 * on load). Tensors are seen under llama.cpp's GGUF names and in its Q/K row order.
 */
#ifndef LQ_MODEL_OPEN_ANY_H
#define LQ_MODEL_OPEN_ANY_H

#include "lq/core.h"
#include "lq/model.h"
#include "lq/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opens the model at path and, when tok is not NULL, its tokenizer. params may be NULL. On
 * failure *m (and *tok) are NULL and err names the file and what was wrong.
 *
 * Checkpoints other than GGUF are opened as `quant convert` reads them (lq/source.h): the
 * hyperparameters and tokenizer are those the converted GGUF file would carry, the weights
 * stay mapped in their stored type (q/k rows of Hugging Face checkpoints are copied into
 * GGUF's rotary order). A llama2.c checkpoint's tokenizer is looked for beside it
 * (tokenizer.bin, tok<vocab>.bin). */
LQ_API lq_status lq_model_open_path(const char *path, const struct lq_model_params *params,
                                    lq_model **m, lq_tokenizer **tok, struct lq_error *err);

/* Same, with tok_path (when not NULL) the llama2.c tokenizer file to use (tok512.bin);
 * LQ_E_UNSUPPORTED for other kinds of checkpoint, which carry their own tokenizer. */
LQ_API lq_status lq_model_open_path_tokenizer(const char *path, const char *tok_path,
                                              const struct lq_model_params *params,
                                              lq_model **m, lq_tokenizer **tok,
                                              struct lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LQ_MODEL_OPEN_ANY_H */
