/* atomic_file.c - temporary file + fsync + rename. */
#include "atomic_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lqi.h"

lq_status lqi_write_all(int fd, const void *buf, size_t n, const char *path,
                        struct lq_error *err)
{
    const unsigned char *p = buf;
    while (n > 0) {
        size_t chunk = n < ((size_t)1 << 30) ? n : ((size_t)1 << 30);
        ssize_t k = write(fd, p, chunk);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        LQ_FAIL_IF(k <= 0, err, LQ_E_IO, "%s: write failed: %s", path,
                   k < 0 ? strerror(errno) : "no progress");
        p += k;
        n -= (size_t)k;
    }
    return LQ_OK;
}

static lq_status finish(int fd, const char *tmp, const char *path, lq_status rc,
                        struct lq_error *err)
{
    if (rc == LQ_OK && fsync(fd) != 0) {
        rc = lqi_set_error(err, LQ_E_IO, "%s: fsync failed: %s", path, strerror(errno));
    }
    if (close(fd) != 0 && rc == LQ_OK) {
        rc = lqi_set_error(err, LQ_E_IO, "%s: close failed: %s", path, strerror(errno));
    }
    if (rc == LQ_OK && rename(tmp, path) != 0) {
        rc = lqi_set_error(err, LQ_E_IO, "%s: rename failed: %s", path, strerror(errno));
    }
    if (rc != LQ_OK) {
        unlink(tmp);
    }
    return rc;
}

lq_status lqi_atomic_write(const char *path, lqi_body_fn body, void *ctx, struct lq_error *err)
{
    size_t plen = strlen(path);
    char *tmp = lqi_malloc(plen + 16);
    LQ_FAIL_IF(!tmp, err, LQ_E_NOMEM, "%s: out of memory", path);
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    lq_status rc = LQ_OK;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = lqi_set_error(err, LQ_E_IO, "%s: cannot create a temporary file: %s", path,
                           strerror(errno));
        goto out_free_tmp;
    }
    /* mkstemp makes 0600; a model file is meant to be shared like any other output */
    rc = fchmod(fd, 0644) == 0 ? LQ_OK
                               : lqi_set_error(err, LQ_E_IO, "%s: chmod failed: %s", path,
                                               strerror(errno));
    if (rc == LQ_OK) {
        rc = body(fd, path, ctx, err);
    }
    rc = finish(fd, tmp, path, rc, err);
out_free_tmp:
    lqi_free(tmp);
    return rc;
}

struct buf_ctx {
    const void *buf;
    size_t n;
};

static lq_status write_buf(int fd, const char *path, void *ctx, struct lq_error *err)
{
    const struct buf_ctx *b = ctx;
    return lqi_write_all(fd, b->buf, b->n, path, err);
}

lq_status lqi_atomic_write_buf(const char *path, const void *buf, size_t n,
                               struct lq_error *err)
{
    struct buf_ctx b = { buf, n };
    return lqi_atomic_write(path, write_buf, &b, err);
}
