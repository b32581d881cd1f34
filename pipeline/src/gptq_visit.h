/* gptq_visit.h - what the GPTQ driver (lq_calib_gptq) visits, for the jobs' progress. */
#ifndef LQ_GPTQ_VISIT_H
#define LQ_GPTQ_VISIT_H

#include <stdint.h>

#include "lq/model.h"

/* Block weights GPTQ visits in layers [first_layer, first_layer + n_layers) (n_layers <= 0:
 * to the last), each expert of a stack counted (gptq_gguf.c). */
int64_t lqp_gptq_weights_visited(const lq_model *m, int64_t first_layer, int64_t n_layers);

#endif
