/* lqt_convert.c - see lqt_convert.h. */
#include "lqt_convert.h"

#include "lq/convert.h"
#include "lq/source.h"
#include "lqt_util.h"

void lqt_convert(const char *src_path, const char *out, const char *ftype, const char *imatrix,
                 const char *imatrix_name)
{
    lqt_convert_in_pieces(src_path, out, ftype, imatrix, imatrix_name, 0);
}

void lqt_convert_in_pieces(const char *src_path, const char *out, const char *ftype,
                           const char *imatrix, const char *imatrix_name, int64_t piece_values)
{
    struct lq_error err;
    lq_source *src = NULL;
    if (lq_source_open(src_path, &src, &err) != LQ_OK) {
        fail_msg("open %s: %s", src_path, err.msg);
    }
    struct lq_convert_params p = lq_convert_params_default();
    assert_int_equal(lq_ftype_from_name(ftype, &p.ftype, NULL), LQ_OK);
    p.nthreads = 2;
    p.piece_values = piece_values;
    lq_imatrix *im = NULL;
    if (imatrix) {
        if (lq_imatrix_load(imatrix, &im, &err) != LQ_OK) {
            fail_msg("imatrix %s: %s", imatrix, err.msg);
        }
        p.imatrix = im;
        p.imatrix_path = imatrix_name;
    }
    if (lq_convert_run(src, out, &p, NULL, &err) != LQ_OK) {
        fail_msg("convert %s -> %s (%s): %s", src_path, out, ftype, err.msg);
    }
    lq_imatrix_free(im);
    lq_source_free(src);
}
