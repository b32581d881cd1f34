/* atomic_file.c - outputs written under a temporary name beside the target, fsync'd and renamed
 * into place (lq/file_io.h): no partial file, no write through a planted link. */
#include "atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lq/file_io.h"
#include "lqi.h"
#include "tmp_registry.h"

struct lq_out {
    int fd;
    int slot;
    char *path;
    char *tmp;
};

struct lq_out_dir {
    int slot;
    char *path;
    char *tmp;
};

// ---- names ----

/* path without its trailing slashes ("out/" names the folder out), malloc'd. */
static char *strip_slashes(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') {
        n--;
    }
    return lqi_strndup(path, n);
}

/* "dir/.base.tmp.XXXXXX" for "dir/base": recognisable, hidden, in the target's folder so the
 * rename stays on one file system. path has no trailing slash. */
static char *tmp_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t nd = (size_t)(base - path), n = strlen(path) + sizeof "/..tmp.XXXXXX";
    char *tmp = lqi_malloc(n);
    if (tmp) {
        snprintf(tmp, n, "%.*s.%s.tmp.XXXXXX", (int)nd, path, base);
    }
    return tmp;
}

/* The process umask without changing it (umask(2) can only be read by setting it, which
 * would race with other threads creating files). */
static mode_t current_umask(void)
{
    mode_t mask = 022;
    FILE *f = fopen("/proc/self/status", "re");
    if (!f) {
        return mask;
    }
    char line[256];
    unsigned v;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "Umask: %o", &v) == 1) {
            mask = (mode_t)v;
            break;
        }
    }
    fclose(f);
    return mask;
}

/* Makes a rename durable. Best effort: the output is complete and in place by now. */
static void sync_parent_dir(const char *path)
{
    char *dir = lqi_strdup(path);
    if (!dir) {
        return;
    }
    char *slash = strrchr(dir, '/');
    const char *d = slash ? (slash == dir ? "/" : (*slash = '\0', dir)) : ".";
    int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    lqi_free(dir);
}

// ---- creating temporaries ----

/* Six letters or digits in place of tmp's trailing "XXXXXX", different on every call. */
static void fill_name(char *tmp)
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    static atomic_uint counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t v = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 42) ^
                 ((uint64_t)atomic_fetch_add(&counter, 1) * 0x9E3779B97F4A7C15ull);
    v ^= v >> 31; /* splitmix64's finaliser: every input bit moves every letter */
    v *= 0xBF58476D1CE4E5B9ull;
    v ^= v >> 27;
    char *x = tmp + strlen(tmp) - 6;
    for (int i = 0; i < 6; i++, v /= 62) {
        x[i] = set[v % 62];
    }
}

/* Creates tmp (ending in XXXXXX) as a new file (returns its fd) or folder (returns 0), after
 * registering the name for signal cleanup: registered first, a signal arriving at any moment
 * finds the temporary either not yet made or listed. O_EXCL: never an existing name, a planted
 * symlink included. -1 with errno on failure. */
static int create_registered(char *tmp, bool dir, int *slot)
{
    for (int tries = 0; tries < 64; tries++) {
        fill_name(tmp);
        *slot = lqi_tmp_add(tmp, dir);
        int fd = dir ? mkdir(tmp, 0700)
                     : open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd >= 0) {
            return fd;
        }
        int e = errno;
        lqi_tmp_remove(*slot);
        *slot = -1;
        errno = e;
        if (e != EEXIST) {
            return -1;
        }
        memcpy(tmp + strlen(tmp) - 6, "XXXXXX", 6);
    }
    return -1;
}

// ---- files ----

lq_status lq_out_open(const char *path, lq_out **out, struct lq_error *err)
{
    LQ_FAIL_IF(!path || !*path || !out, err, LQ_E_INVALID_ARG, "output: empty path");
    *out = NULL;
    lq_out *o = lqi_calloc(1, sizeof *o);
    LQ_FAIL_IF(!o, err, LQ_E_NOMEM, "%s: out of memory", path);
    o->fd = -1;
    o->slot = -1;
    o->path = strip_slashes(path);
    o->tmp = o->path ? tmp_name(o->path) : NULL;
    lq_status rc = LQ_OK;
    if (!o->path || !o->tmp) {
        rc = lqi_set_error(err, LQ_E_NOMEM, "%s: out of memory", path);
        goto out_free;
    }
    o->fd = create_registered(o->tmp, false, &o->slot);
    if (o->fd < 0) {
        rc = lqi_set_error(err, LQ_E_IO, "%s: cannot create a temporary file: %s", path,
                           strerror(errno));
        goto out_free;
    }
    *out = o;
    return LQ_OK;
out_free:
    lqi_free(o->path);
    lqi_free(o->tmp);
    lqi_free(o);
    return rc;
}

int lq_out_fd(const lq_out *o)
{
    return o ? o->fd : -1;
}

const char *lq_out_tmp_path(const lq_out *o)
{
    return o ? o->tmp : NULL;
}

static void out_free(lq_out *o)
{
    lqi_tmp_remove(o->slot);
    lqi_free(o->path);
    lqi_free(o->tmp);
    lqi_free(o);
}

void lq_out_abort(lq_out *o)
{
    if (!o) {
        return;
    }
    if (o->fd >= 0) {
        close(o->fd);
    }
    unlink(o->tmp);
    out_free(o);
}

lq_status lq_out_commit(lq_out *o, struct lq_error *err)
{
    LQ_FAIL_IF(!o, err, LQ_E_INVALID_ARG, "output: NULL handle");
    lq_status rc = LQ_OK;
    if (fsync(o->fd) != 0) {
        rc = lqi_set_error(err, LQ_E_IO, "%s: fsync failed: %s; output not created", o->path,
                           strerror(errno));
    }
    if (close(o->fd) != 0 && rc == LQ_OK) {
        rc = lqi_set_error(err, LQ_E_IO, "%s: close failed: %s; output not created", o->path,
                           strerror(errno));
    }
    o->fd = -1;
    if (rc == LQ_OK && rename(o->tmp, o->path) != 0) {
        rc = lqi_set_error(err, LQ_E_IO, "%s: cannot rename %s to it: %s", o->path, o->tmp,
                           strerror(errno));
    }
    if (rc != LQ_OK) {
        lq_out_abort(o);
        return rc;
    }
    sync_parent_dir(o->path);
    out_free(o);
    return LQ_OK;
}

lq_status lqi_write_all(int fd, const void *buf, size_t n, const char *path, struct lq_error *err)
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

lq_status lqi_atomic_write(const char *path, lqi_body_fn body, void *ctx, struct lq_error *err)
{
    lq_out *o;
    LQ_TRY(lq_out_open(path, &o, err));
    lq_status rc = body(o->fd, path, ctx, err);
    if (rc != LQ_OK) {
        lq_out_abort(o);
        return rc;
    }
    return lq_out_commit(o, err);
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

lq_status lqi_atomic_write_buf(const char *path, const void *buf, size_t n, struct lq_error *err)
{
    struct buf_ctx b = {buf, n};
    return lqi_atomic_write(path, write_buf, &b, err);
}

// ---- folders ----

static bool dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        return false;
    }
    struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)) != NULL) {
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    }
    closedir(d);
    return empty;
}

lq_status lq_out_dir_check(const char *path, bool force, struct lq_error *err)
{
    LQ_FAIL_IF(!path || !*path, err, LQ_E_INVALID_ARG, "output folder: empty path");
    struct stat sb;
    if (force || lstat(path, &sb) != 0) {
        return LQ_OK;
    }
    LQ_FAIL_IF(!S_ISDIR(sb.st_mode), err, LQ_E_INVALID_ARG,
               "%s: exists and is not a folder (--force replaces it)", path);
    LQ_FAIL_IF(!dir_is_empty(path), err, LQ_E_INVALID_ARG,
               "%s: folder exists and is not empty (--force replaces it as a whole)", path);
    return LQ_OK;
}

lq_status lq_out_dir_open(const char *path, bool force, lq_out_dir **out, struct lq_error *err)
{
    LQ_FAIL_IF(!out, err, LQ_E_INVALID_ARG, "output folder: NULL argument");
    *out = NULL;
    LQ_TRY(lq_out_dir_check(path, force, err));
    lq_out_dir *d = lqi_calloc(1, sizeof *d);
    LQ_FAIL_IF(!d, err, LQ_E_NOMEM, "%s: out of memory", path);
    d->slot = -1;
    d->path = strip_slashes(path);
    d->tmp = d->path ? tmp_name(d->path) : NULL;
    lq_status rc = LQ_OK;
    if (!d->path || !d->tmp) {
        rc = lqi_set_error(err, LQ_E_NOMEM, "%s: out of memory", path);
    } else if (create_registered(d->tmp, true, &d->slot) < 0) {
        rc = lqi_set_error(err, LQ_E_IO, "%s: cannot create a temporary folder: %s", path,
                           strerror(errno));
    }
    if (rc != LQ_OK) {
        lqi_free(d->path);
        lqi_free(d->tmp);
        lqi_free(d);
        return rc;
    }
    /* made 0700 so nothing can be planted in it; shared like any other output once done */
    chmod(d->tmp, 0777 & ~current_umask());
    *out = d;
    return LQ_OK;
}

const char *lq_out_dir_path(const lq_out_dir *d)
{
    return d ? d->tmp : NULL;
}

static void dir_free(lq_out_dir *d)
{
    lqi_tmp_remove(d->slot);
    lqi_free(d->path);
    lqi_free(d->tmp);
    lqi_free(d);
}

void lq_out_dir_abort(lq_out_dir *d)
{
    if (d) {
        lqi_tmp_remove_flat_dir(d->tmp);
        dir_free(d);
    }
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

lq_status lq_out_dir_commit(lq_out_dir *d, struct lq_error *err)
{
    LQ_FAIL_IF(!d, err, LQ_E_INVALID_ARG, "output folder: NULL handle");
    sync_parent_dir(d->tmp); /* the files' renames inside it */
    lq_status rc = LQ_OK;
    struct stat sb;
    if (lstat(d->path, &sb) != 0) {
        if (rename(d->tmp, d->path) != 0) {
            rc = lqi_set_error(err, LQ_E_IO, "%s: cannot rename %s to it: %s", d->path, d->tmp,
                               strerror(errno));
        }
    } else if (renameat2(AT_FDCWD, d->tmp, AT_FDCWD, d->path, RENAME_EXCHANGE) != 0) {
        rc = lqi_set_error(err, LQ_E_IO, "%s: cannot replace it with %s: %s", d->path, d->tmp,
                           strerror(errno));
    } else {
        /* the old folder (or file) now has the temporary name */
        nftw(d->tmp, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    }
    if (rc != LQ_OK) {
        lq_out_dir_abort(d);
        return rc;
    }
    sync_parent_dir(d->path);
    dir_free(d);
    return LQ_OK;
}
