/* arena.h - a bump allocator for many small copies that live and die together
 * (GGUF metadata strings and arrays). Internal to lq_formats. */
#ifndef LQ_ARENA_H
#define LQ_ARENA_H

#include <stddef.h>

struct lqi_arena_chunk;

struct lqi_arena {
    struct lqi_arena_chunk *head; /* newest chunk first */
    size_t next_size;             /* capacity of the next chunk (grows geometrically) */
};

/* n bytes aligned to `align` (a power of two, at most 16); NULL when out of memory.
 * The memory is not zeroed; n == 0 returns a valid pointer. */
void *lqi_arena_alloc(struct lqi_arena *a, size_t n, size_t align);

/* Frees every chunk; the arena can be reused afterwards. Accepts a zeroed arena. */
void lqi_arena_free(struct lqi_arena *a);

#endif
