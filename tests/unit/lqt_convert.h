/* lqt_convert.h - the conversion pass (lq_convert_run) as one call for tests. */
#ifndef LQT_CONVERT_H
#define LQT_CONVERT_H

#include <stdint.h>

/* Converts (or quantizes) src_path into out as file type `ftype` ("F16", "Q4_K_M") on two
 * threads, with the importance matrix at imatrix (NULL: none) recorded under imatrix_name
 * (NULL: not recorded); fails the test with the library's message on any error. */
void lqt_convert(const char *src_path, const char *out, const char *ftype, const char *imatrix,
                 const char *imatrix_name);

/* The same, each tensor converted in pieces of whole rows of about piece_values values
 * (lq_convert_params.piece_values; 1: one row per piece). */
void lqt_convert_in_pieces(const char *src_path, const char *out, const char *ftype,
                           const char *imatrix, const char *imatrix_name, int64_t piece_values);

#endif
