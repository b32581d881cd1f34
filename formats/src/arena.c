/* arena.c - bump allocator for metadata copies. */
#include "arena.h"

#include <stdalign.h>
#include <stdint.h>

#include "lqi.h"

#define ARENA_MIN_CHUNK ((size_t)64 * 1024)
#define ARENA_MAX_CHUNK ((size_t)16 * 1024 * 1024)

struct lqi_arena_chunk {
    struct lqi_arena_chunk *next;
    size_t cap;
    size_t used;
    alignas(16) unsigned char data[];
};

static struct lqi_arena_chunk *new_chunk(struct lqi_arena *a, size_t need)
{
    size_t cap = a->next_size < ARENA_MIN_CHUNK ? ARENA_MIN_CHUNK : a->next_size;
    if (cap < need) {
        cap = need;
    }
    if (cap > SIZE_MAX - sizeof(struct lqi_arena_chunk)) {
        return NULL;
    }
    struct lqi_arena_chunk *c = lqi_malloc(sizeof *c + cap);
    if (!c) {
        return NULL;
    }
    c->next = a->head;
    c->cap = cap;
    c->used = 0;
    a->head = c;
    /* geometric growth keeps the chunk count logarithmic; oversized requests do not count */
    size_t grown = a->next_size < ARENA_MIN_CHUNK ? ARENA_MIN_CHUNK * 2 : a->next_size * 2;
    a->next_size = grown > ARENA_MAX_CHUNK ? ARENA_MAX_CHUNK : grown;
    return c;
}

void *lqi_arena_alloc(struct lqi_arena *a, size_t n, size_t align)
{
    struct lqi_arena_chunk *c = a->head;
    if (c) {
        size_t start = (c->used + align - 1) & ~(align - 1);
        if (start <= c->cap && c->cap - start >= n) {
            c->used = start + n;
            return c->data + start;
        }
    }
    /* chunk data is 16-aligned, so a fresh chunk satisfies any align <= 16 at offset 0 */
    c = new_chunk(a, n);
    if (!c) {
        return NULL;
    }
    c->used = n;
    return c->data;
}

void lqi_arena_free(struct lqi_arena *a)
{
    struct lqi_arena_chunk *c = a->head;
    while (c) {
        struct lqi_arena_chunk *next = c->next;
        lqi_free(c);
        c = next;
    }
    a->head = NULL;
    a->next_size = 0;
}
