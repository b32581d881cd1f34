/* opt_impl.h - what the optimizer's files share (lq/optimize.h). */
#ifndef LQ_OPT_IMPL_H
#define LQ_OPT_IMPL_H

#include <jansson.h>

#include "lq/optimize.h"

/* Rounds w (rows, cols) to type with llama.cpp's quantizer (imp: importance per column or
 * NULL) into *q (grown as needed) and decodes it into deq. */
lq_status lqi_opt_round(enum lq_type type, const float *w, int64_t rows, int64_t cols,
                        const float *imp, int n_threads, void **q, size_t *q_cap, float *deq,
                        struct lq_error *err);

/* A JSON file read as hostile input (LQ_E_FORMAT naming the line), and one written
 * atomically with a final newline (opt_json_io.c). */
lq_status lqi_opt_json_load(const char *path, json_t **root, struct lq_error *err);
lq_status lqi_opt_json_save(const char *path, const json_t *root, size_t flags,
                            struct lq_error *err);

#endif
