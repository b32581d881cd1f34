/* model_source.h - opening a model over an lq_source (model_source.c; internal to lq_eval). */
#ifndef LQ_MODEL_SOURCE_H
#define LQ_MODEL_SOURCE_H

#include "lq/model.h"
#include "lq/tokenizer.h"

/* A model (and, when tok is not NULL, its tokenizer) from any checkpoint lq_source_open
 * reads. On failure *m and *tok are left untouched except as lq_model_open_source leaves
 * them (NULL); the caller frees a tokenizer built before a model failure. */
lq_status lqi_model_open_any_source(const char *path, const struct lq_model_params *params,
                                    lq_model **m, lq_tokenizer **tok, struct lq_error *err);

#endif
