/* spill.c - the scratch file of spill.h. */
#include "spill.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lqi.h"

lq_status lqp_spill_init(struct lqp_spill *s, const char *out_path, struct lq_error *err)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    LQ_FAIL_IF(!out_path, err, LQ_E_INVALID_ARG, "spill: NULL path");
    const char *slash = strrchr(out_path, '/');
    const size_t n = slash ? (size_t)(slash - out_path) : 0;
    LQ_FAIL_IF(n >= sizeof s->dir, err, LQ_E_INVALID_ARG, "%s: path too long", out_path);
    if (!slash) {
        snprintf(s->dir, sizeof s->dir, ".");
    } else if (n == 0) {
        snprintf(s->dir, sizeof s->dir, "/");
    } else {
        memcpy(s->dir, out_path, n);
        s->dir[n] = '\0';
    }
    return LQ_OK;
}

/* O_TMPFILE where the file system has it (never visible); else a named file unlinked at once. */
static int open_scratch(const char *dir)
{
#ifdef O_TMPFILE
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) {
        return fd;
    }
#endif
    char path[4200];
    if ((size_t)snprintf(path, sizeof path, "%s/.lq-spill-XXXXXX", dir) >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd2 = mkstemp(path);
    if (fd2 >= 0) {
        unlink(path);
    }
    return fd2;
}

lq_status lqp_spill_put(struct lqp_spill *s, const void *data, size_t n, uint64_t *offset,
                        struct lq_error *err)
{
    if (s->fd < 0) {
        s->fd = open_scratch(s->dir);
        LQ_FAIL_IF(s->fd < 0, err, LQ_E_IO, "%s: cannot make a scratch file: %s", s->dir,
                   strerror(errno));
    }
    *offset = s->size;
    const unsigned char *p = data;
    for (size_t done = 0; done < n;) {
        const ssize_t w = pwrite(s->fd, p + done, n - done, (off_t)(s->size + done));
        if (w < 0 && errno == EINTR) {
            continue;
        }
        LQ_FAIL_IF(w <= 0, err, LQ_E_IO, "%s: cannot write the scratch file (%llu bytes): %s",
                   s->dir, (unsigned long long)(s->size + done),
                   w < 0 ? strerror(errno) : "no space");
        done += (size_t)w;
    }
    s->size += n;
    return LQ_OK;
}

lq_status lqp_spill_get(struct lqp_spill *s, uint64_t offset, size_t n, const void **data,
                        struct lq_error *err)
{
    LQ_FAIL_IF(s->fd < 0 || offset > s->size || n > s->size - offset, err, LQ_E_INVALID_ARG,
               "spill: %zu bytes at %llu outside the %llu written", n,
               (unsigned long long)offset, (unsigned long long)s->size);
    LQ_FAIL_IF(!lqi_grow(&s->buf, &s->buf_cap, n ? n : 1), err, LQ_E_NOMEM,
               "spill: out of memory for %zu bytes", n);
    unsigned char *p = s->buf;
    for (size_t done = 0; done < n;) {
        const ssize_t r = pread(s->fd, p + done, n - done, (off_t)(offset + done));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        LQ_FAIL_IF(r <= 0, err, LQ_E_IO, "%s: cannot read the scratch file at %llu: %s", s->dir,
                   (unsigned long long)(offset + done), r < 0 ? strerror(errno) : "short");
        done += (size_t)r;
    }
    *data = s->buf;
    return LQ_OK;
}

void lqp_spill_close(struct lqp_spill *s)
{
    if (s->fd >= 0) {
        close(s->fd);
    }
    lqi_free(s->buf);
    s->fd = -1;
    s->buf = NULL;
    s->buf_cap = 0;
    s->size = 0;
}
