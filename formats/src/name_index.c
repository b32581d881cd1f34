/* name_index.c - open-addressing hash index of names (linear probing). */
#include "name_index.h"

#include <string.h>
#include <xxhash.h>

#include "lqi.h"

struct lqi_name_slot {
    const char *s; /* NULL: empty slot */
    size_t len;
    uint64_t hash;
    int64_t id;
};

/* The capacity for n names: at most half full keeps probe sequences short. 0 on overflow. */
static size_t capacity_for(size_t n)
{
    size_t cap = 8;
    while (cap / 2 < n) {
        if (cap > SIZE_MAX / 2 / sizeof(struct lqi_name_slot)) {
            return 0;
        }
        cap *= 2;
    }
    return cap;
}

bool lqi_name_index_init(struct lqi_name_index *ix, size_t n)
{
    size_t cap = capacity_for(n);
    ix->slots = cap ? lqi_calloc(cap, sizeof *ix->slots) : NULL;
    ix->cap = ix->slots ? cap : 0;
    return ix->slots != NULL;
}

static size_t probe(const struct lqi_name_index *ix, const char *s, size_t len, uint64_t h)
{
    size_t mask = ix->cap - 1;
    size_t i = (size_t)h & mask;
    for (;;) {
        const struct lqi_name_slot *e = &ix->slots[i];
        if (!e->s || (e->hash == h && e->len == len && memcmp(e->s, s, len) == 0)) {
            return i;
        }
        i = (i + 1) & mask;
    }
}

bool lqi_name_index_reserve(struct lqi_name_index *ix, size_t n)
{
    if (ix->cap / 2 >= n && ix->cap > 0) {
        return true;
    }
    struct lqi_name_index grown;
    if (!lqi_name_index_init(&grown, n > ix->cap ? n : ix->cap)) {
        return false;
    }
    for (size_t i = 0; i < ix->cap; i++) {
        const struct lqi_name_slot *e = &ix->slots[i];
        if (e->s) {
            grown.slots[probe(&grown, e->s, e->len, e->hash)] = *e;
        }
    }
    lqi_name_index_free(ix);
    *ix = grown;
    return true;
}

void lqi_name_index_clear(struct lqi_name_index *ix)
{
    if (ix->cap) {
        memset(ix->slots, 0, ix->cap * sizeof *ix->slots);
    }
}

int64_t lqi_name_index_insert(struct lqi_name_index *ix, const char *s, size_t len, int64_t id)
{
    uint64_t h = XXH3_64bits(s, len);
    struct lqi_name_slot *e = &ix->slots[probe(ix, s, len, h)];
    if (e->s) {
        return e->id;
    }
    e->s = s;
    e->len = len;
    e->hash = h;
    e->id = id;
    return -1;
}

int64_t lqi_name_index_find(const struct lqi_name_index *ix, const char *s, size_t len)
{
    if (ix->cap == 0) {
        return -1;
    }
    const struct lqi_name_slot *e = &ix->slots[probe(ix, s, len, XXH3_64bits(s, len))];
    return e->s ? e->id : -1;
}

void lqi_name_index_free(struct lqi_name_index *ix)
{
    lqi_free(ix->slots);
    ix->slots = NULL;
    ix->cap = 0;
}
