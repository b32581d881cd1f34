/* imatrix_job.c - the importance-matrix job of lq/imatrix_job.h. */
#include "lq/imatrix_job.h"

#include "lqi.h"

lq_status lq_imatrix_run(lq_model *m, const struct lq_calib *c,
                         const struct lq_imatrix_batching *batching, const char *out_path,
                         struct lq_imatrix_job_summary *summary, struct lq_error *err)
{
    LQ_FAIL_IF(!m || !c || !out_path, err, LQ_E_INVALID_ARG, "imatrix: NULL argument");
    lq_imatrix *im = NULL;
    lq_status s = lq_imatrix_new(&im, err);
    if (s == LQ_OK) {
        s = lq_calib_imatrix(m, c, batching, im, err);
    }
    if (s == LQ_OK) {
        s = lq_imatrix_save(im, out_path, err);
    }
    if (s == LQ_OK && summary) {
        *summary = (struct lq_imatrix_job_summary){
            .n_entries = lq_imatrix_n_entries(im), .chunks_counted = lq_imatrix_chunk_count(im)};
    }
    lq_imatrix_free(im);
    return s;
}
