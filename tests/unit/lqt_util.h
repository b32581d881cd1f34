/* lqt_util.h - shared helpers of the cmocka tests: data paths, file loading, temp dirs. */
#ifndef LQ_TEST_UTIL_H
#define LQ_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* 1 in optimised builds without sanitizers: the data-heavy tests check every case there and a
 * subset covering each code path in unoptimised or sanitizer builds, whose runs are many times
 * slower (CI runs both; its whole run must stay short). */
#if defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__)
#define LQT_FULL_RUN 1
#else
#define LQT_FULL_RUN 0
#endif

/* Folder of the shared test data: $LIBQUANT_DATA, else ../shared/data beside the sources. */
const char *lqt_data_dir(void);

/* Full path of a file under the data folder. Fails the test (loudly) when the file is
 * missing: CI must never skip a test for want of data. Returned string is static per call
 * slot (8 rotating buffers). */
const char *lqt_data_path(const char *rel);

/* Reads a whole file into a malloc'd buffer (fails the test on error). */
void *lqt_read_file(const char *path, size_t *size);

/* Reads a whole text file, NUL-terminated, into a malloc'd string (fails the test on error). */
char *lqt_read_text(const char *path);

/* Writes bytes to a file (fails the test on error). */
void lqt_write_file(const char *path, const void *data, size_t size);

/* A fresh temporary directory (mkdtemp under $TMPDIR); remove it with lqt_rmtree. */
char *lqt_tmpdir(void);
void lqt_rmtree(const char *path);

/* Runs a shell command, returns its exit status (or -1). */
int lqt_system(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
