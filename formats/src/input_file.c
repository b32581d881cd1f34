/* input_file.c - opening input files and model-folder members (lq/file_io.h): never block on a
 * FIFO, never read a device or follow a link out of the model folder. */
#include "lq/file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lqi.h"

static const char *kind_name(mode_t m)
{
    return S_ISDIR(m)    ? "a folder"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
                         : "not a regular file";
}

lq_status lq_input_open(const char *path, bool dir_ok, int *fd, struct lq_error *err)
{
    LQ_FAIL_IF(!path || !fd, err, LQ_E_INVALID_ARG, "input: NULL argument");
    *fd = -1;
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer */
    int f = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    LQ_FAIL_IF(f < 0, err, errno == ENOENT ? LQ_E_NOT_FOUND : LQ_E_IO, "%s: cannot open: %s", path,
               strerror(errno));
    struct stat sb;
    lq_status rc = LQ_OK;
    if (fstat(f, &sb) != 0) {
        rc = lqi_set_error(err, LQ_E_IO, "%s: cannot stat: %s", path, strerror(errno));
    } else if (!S_ISREG(sb.st_mode) && !(dir_ok && S_ISDIR(sb.st_mode))) {
        rc = lqi_set_error(err, LQ_E_UNSUPPORTED, "%s: %s, not a regular file: refused", path,
                           kind_name(sb.st_mode));
    } else if (fcntl(f, F_SETFL, fcntl(f, F_GETFL) & ~O_NONBLOCK) != 0) {
        rc = lqi_set_error(err, LQ_E_IO, "%s: fcntl failed: %s", path, strerror(errno));
    }
    if (rc != LQ_OK) {
        close(f);
        return rc;
    }
    *fd = f;
    return LQ_OK;
}

/* True when real (a resolved path) is root or lies under it. */
static bool inside(const char *real, const char *root)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/') {
        return true;
    }
    return strncmp(real, root, n) == 0 && (real[n] == '/' || real[n] == '\0');
}

lq_status lq_input_member(const char *folder, const char *name, char *buf, size_t cap, bool *exists,
                          struct lq_error *err)
{
    LQ_FAIL_IF(!folder || !name || !buf, err, LQ_E_INVALID_ARG, "input: NULL argument");
    if (exists) {
        *exists = false;
    }
    int n = snprintf(buf, cap, "%s/%s", folder, name);
    LQ_FAIL_IF(n < 0 || (size_t)n >= cap, err, LQ_E_INVALID_ARG, "%s/%s: path too long", folder,
               name);
    struct stat sb;
    if (lstat(buf, &sb) != 0) {
        return LQ_OK; /* missing: the caller decides whether that is an error */
    }
    /* links anywhere on the way, and "../" in names taken from an index, count alike */
    char root[PATH_MAX], real[PATH_MAX];
    LQ_FAIL_IF(!realpath(folder, root), err, LQ_E_IO, "%s: cannot resolve: %s", folder,
               strerror(errno));
    LQ_FAIL_IF(!realpath(buf, real), err, LQ_E_UNSUPPORTED,
               "%s: a symlink that does not resolve (%s): refused", buf, strerror(errno));
    LQ_FAIL_IF(!inside(real, root), err, LQ_E_UNSUPPORTED,
               "%s: leads outside the model folder (to %s): refused", buf, real);
    LQ_FAIL_IF(stat(buf, &sb) != 0, err, LQ_E_IO, "%s: cannot stat: %s", buf, strerror(errno));
    LQ_FAIL_IF(!S_ISREG(sb.st_mode), err, LQ_E_UNSUPPORTED, "%s: %s, not a regular file: refused",
               buf, kind_name(sb.st_mode));
    if (exists) {
        *exists = true;
    }
    return LQ_OK;
}

bool lq_same_file(const char *a, const char *b)
{
    if (!a || !b) {
        return false;
    }
    if (strcmp(a, b) == 0) {
        return true;
    }
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}
