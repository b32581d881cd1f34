/* tmp_registry.c - the live temporary files and folders, for lq_tmp_cleanup_all (lq/file_io.h).
 * A signal handler may run at any point of a write, so the registry is a fixed array of paths
 * whose slots are claimed with atomics, and cleanup only calls async-signal-safe functions. */
#include "tmp_registry.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lq/file_io.h"

enum { SLOT_FREE, SLOT_CLAIMED, SLOT_FILE, SLOT_DIR };

#define N_SLOTS 64

static struct {
    atomic_int state;
    char path[PATH_MAX];
} g_slots[N_SLOTS];

int lqi_tmp_add(const char *path, bool dir)
{
    size_t n = strlen(path);
    if (n >= PATH_MAX) {
        return -1;
    }
    for (int i = 0; i < N_SLOTS; i++) {
        int want = SLOT_FREE;
        if (atomic_compare_exchange_strong(&g_slots[i].state, &want, SLOT_CLAIMED)) {
            memcpy(g_slots[i].path, path, n + 1);
            atomic_store(&g_slots[i].state, dir ? SLOT_DIR : SLOT_FILE);
            return i;
        }
    }
    return -1;
}

void lqi_tmp_remove(int slot)
{
    if (slot >= 0 && slot < N_SLOTS) {
        atomic_store(&g_slots[slot].state, SLOT_FREE);
    }
}

bool lq_tmp_register_dir(const char *path)
{
    return path && lqi_tmp_add(path, true) >= 0;
}

void lq_tmp_unregister(const char *path)
{
    for (int i = 0; path && i < N_SLOTS; i++) {
        int s = atomic_load(&g_slots[i].state);
        if ((s == SLOT_FILE || s == SLOT_DIR) && strcmp(g_slots[i].path, path) == 0) {
            atomic_store(&g_slots[i].state, SLOT_FREE);
            return;
        }
    }
}

/* getdents64's record (the kernel's layout; glibc's readdir may allocate, so it is unusable
 * in a signal handler). */
struct dent64 {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

void lqi_tmp_remove_flat_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        char buf[4096] __attribute__((aligned(8)));
        long n;
        /* every pass unlinks what it saw; loop until a pass sees nothing more */
        while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
            for (long off = 0; off < n;) {
                const struct dent64 *e = (const struct dent64 *)(buf + off);
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                    unlinkat(fd, e->d_name, 0);
                }
                off += e->d_reclen;
            }
        }
        close(fd);
    }
    rmdir(path);
}

void lq_tmp_cleanup_all(void)
{
    /* files first: a temporary file may live inside a temporary folder */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < N_SLOTS; i++) {
            int s = atomic_load(&g_slots[i].state);
            if (pass == 0 && s == SLOT_FILE) {
                unlink(g_slots[i].path);
            } else if (pass == 1 && s == SLOT_DIR) {
                lqi_tmp_remove_flat_dir(g_slots[i].path);
            }
        }
    }
}
