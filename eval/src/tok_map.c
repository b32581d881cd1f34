/* tok_map.c - string -> id hash map over a key pool (vocabulary and BPE merges). */
#include "tok_impl.h"

#include <string.h>

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

static uint32_t fnv_feed(uint32_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)s[i]) * FNV_PRIME;
    }
    return h;
}

bool lqi_smap_init(struct lqi_smap *m, size_t n_keys, const char *pool)
{
    size_t cap = 16;
    while (cap < n_keys * 2) {
        cap *= 2;
    }
    m->slots = lqi_malloc(cap * sizeof *m->slots);
    if (!m->slots) {
        return false;
    }
    for (size_t i = 0; i < cap; i++) {
        m->slots[i].val = -1;
    }
    m->mask = cap - 1;
    m->pool = pool;
    return true;
}

void lqi_smap_free(struct lqi_smap *m)
{
    lqi_free(m->slots);
    m->slots = NULL;
}

int32_t lqi_smap_put(struct lqi_smap *m, uint32_t off, uint32_t len, int32_t val)
{
    uint32_t h = fnv_feed(FNV_OFFSET, m->pool + off, len);
    for (size_t i = h & m->mask;; i = (i + 1) & m->mask) {
        struct lqi_smap_slot *s = &m->slots[i];
        if (s->val < 0) {
            s->off = off;
            s->len = len;
            s->val = val;
            s->hash = h;
            return -1;
        }
        if (s->hash == h && s->len == len && memcmp(m->pool + s->off, m->pool + off, len) == 0) {
            return s->val;
        }
    }
}

int32_t lqi_smap_get(const struct lqi_smap *m, const char *key, size_t len)
{
    uint32_t h = fnv_feed(FNV_OFFSET, key, len);
    for (size_t i = h & m->mask;; i = (i + 1) & m->mask) {
        const struct lqi_smap_slot *s = &m->slots[i];
        if (s->val < 0) {
            return -1;
        }
        if (s->hash == h && s->len == len && memcmp(m->pool + s->off, key, len) == 0) {
            return s->val;
        }
    }
}

int32_t lqi_smap_get_pair(const struct lqi_smap *m, const char *a, size_t la, const char *b,
                          size_t lb)
{
    uint32_t h = fnv_feed(fnv_feed(fnv_feed(FNV_OFFSET, a, la), " ", 1), b, lb);
    for (size_t i = h & m->mask;; i = (i + 1) & m->mask) {
        const struct lqi_smap_slot *s = &m->slots[i];
        if (s->val < 0) {
            return -1;
        }
        const char *k = m->pool + s->off;
        if (s->hash == h && s->len == la + 1 + lb && memcmp(k, a, la) == 0 && k[la] == ' ' &&
            memcmp(k + la + 1, b, lb) == 0) {
            return s->val;
        }
    }
}
