/* file_map.c - read-only memory maps of input files. */
#include "file_map.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lq/file_io.h"
#include "lqi.h"

lq_status lqi_file_map_open(const char *path, struct lqi_file_map *m, struct lq_error *err)
{
    memset(m, 0, sizeof *m);
    int fd;
    LQ_TRY(lq_input_open(path, false, &fd, err));
    struct stat st;
    lq_status rc = LQ_OK;
    if (fstat(fd, &st) != 0) {
        rc = lqi_set_error(err, LQ_E_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto out_close_fd;
    }
    m->size = (uint64_t)st.st_size;
    if (m->size == 0) {
        goto out_close_fd;
    }
    if (m->size > SIZE_MAX) {
        rc = lqi_set_error(err, LQ_E_RANGE, "%s: file too large to map", path);
        goto out_close_fd;
    }
    void *p = mmap(NULL, (size_t)m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        rc = lqi_set_error(err, LQ_E_IO, "%s: cannot mmap %llu bytes: %s", path,
                           (unsigned long long)m->size, strerror(errno));
        goto out_close_fd;
    }
    m->map_base = p;
    m->map_len = (size_t)m->size;
    m->data = p;
out_close_fd:
    close(fd);
    return rc;
}

void lqi_file_map_close(struct lqi_file_map *m)
{
    if (m && m->map_base) {
        munmap(m->map_base, m->map_len);
    }
    if (m) {
        memset(m, 0, sizeof *m);
    }
}

static void advise(const struct lqi_file_map *m, uint64_t off, uint64_t len, int advice)
{
    if (!m->map_base || off >= m->size) {
        return;
    }
    long page = sysconf(_SC_PAGESIZE);
    uint64_t start = off - off % (uint64_t)page;
    uint64_t end = off + len > m->size ? m->size : off + len;
    madvise((char *)m->map_base + start, (size_t)(end - start), advice);
}

void lqi_file_map_willneed(const struct lqi_file_map *m, uint64_t off, uint64_t len)
{
    advise(m, off, len, MADV_WILLNEED);
}

void lqi_file_map_dontneed(const struct lqi_file_map *m, uint64_t off, uint64_t len)
{
    advise(m, off, len, MADV_DONTNEED);
}
