/* file_map.h - read-only memory maps of input files (internal to lq_formats). */
#ifndef LQ_FILE_MAP_H
#define LQ_FILE_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"

struct lqi_file_map {
    const unsigned char *data; /* NULL for an empty file */
    uint64_t size;
    void *map_base;            /* what munmap takes; NULL when not mapped */
    size_t map_len;
};

/* Maps a whole file read-only (MAP_PRIVATE). Messages name the path. */
lq_status lqi_file_map_open(const char *path, struct lqi_file_map *m, struct lq_error *err);

/* Unmaps; safe on a zeroed or already closed map. */
void lqi_file_map_close(struct lqi_file_map *m);

/* Tells the kernel the range will be read soon / is no longer needed (hints only). */
void lqi_file_map_willneed(const struct lqi_file_map *m, uint64_t off, uint64_t len);
void lqi_file_map_dontneed(const struct lqi_file_map *m, uint64_t off, uint64_t len);

#endif
