/* atomic_file.h - whole-file output through lq_out (lq/file_io.h): a temporary file beside the
 * target, fsync, rename (no partial files). Internal to lq_formats. */
#ifndef LQ_ATOMIC_FILE_H
#define LQ_ATOMIC_FILE_H

#include <stddef.h>

#include "lq/core.h"

/* Writes n bytes to fd, retrying short writes; errors name path. */
lq_status lqi_write_all(int fd, const void *buf, size_t n, const char *path, struct lq_error *err);

/* Opens an lq_out for path, lets body write its fd, and commits it (aborts on failure: path is
 * left untouched). */
typedef lq_status (*lqi_body_fn)(int fd, const char *path, void *ctx, struct lq_error *err);
lq_status lqi_atomic_write(const char *path, lqi_body_fn body, void *ctx, struct lq_error *err);

/* lqi_atomic_write of one buffer. */
lq_status lqi_atomic_write_buf(const char *path, const void *buf, size_t n, struct lq_error *err);

#endif
