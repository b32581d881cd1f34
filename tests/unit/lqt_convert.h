/* lqt_convert.h - the conversion pass (lq_convert_run) as one call for tests. */
#ifndef LQT_CONVERT_H
#define LQT_CONVERT_H

/* Converts (or quantizes) src_path into out as file type `ftype` ("F16", "Q4_K_M") on two
 * threads, with the importance matrix at imatrix (NULL: none) recorded under imatrix_name
 * (NULL: not recorded); fails the test with the library's message on any error. */
void lqt_convert(const char *src_path, const char *out, const char *ftype, const char *imatrix,
                 const char *imatrix_name);

#endif
