/*
 * lq/imatrix_job.h - the importance-matrix job (`quant imatrix`): calibration text through the
 * model's forward pass (lq_calib_imatrix), llama-imatrix's GGUF file out (lq_imatrix_save,
 * written under a temporary name and renamed). The file `quant quantize --imatrix` and
 * llama-quantize read. The library prints nothing: progress comes through the batching's
 * on_chunk callback.
 */
#ifndef LQ_IMATRIX_JOB_H
#define LQ_IMATRIX_JOB_H

#include <stdint.h>

#include "lq/calib.h"
#include "lq/core.h"
#include "lq/imatrix.h"
#include "lq/model.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lq_imatrix_job_summary {
    int64_t n_entries;       /* weights with importance data */
    uint32_t chunks_counted; /* calibration chunks in the file's counts */
};

/* Runs the calibration chunks c through m and writes the importance matrix to out_path.
 * batching may be NULL (llama.cpp's defaults, lq_calib_imatrix); summary may be NULL. */
LQ_API lq_status lq_imatrix_run(lq_model *m, const struct lq_calib *c,
                                const struct lq_imatrix_batching *batching, const char *out_path,
                                struct lq_imatrix_job_summary *summary, struct lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LQ_IMATRIX_JOB_H */
