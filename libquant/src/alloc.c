/* alloc.c - the allocation seam used by every libquant target. */
#include "lqi.h"

#include <string.h>

void *lqi_malloc(size_t n)
{
    return malloc(n ? n : 1);
}

void *lqi_calloc(size_t count, size_t size)
{
    return calloc(count ? count : 1, size ? size : 1);
}

void *lqi_realloc(void *p, size_t n)
{
    return realloc(p, n ? n : 1);
}

void lqi_free(void *p)
{
    free(p);
}

void *lqi_grow(void **buf, size_t *cap, size_t need)
{
    if (need > *cap) {
        void *nb = lqi_realloc(*buf, need);
        if (!nb) {
            return NULL;
        }
        *buf = nb;
        *cap = need;
    }
    return *buf;
}

char *lqi_strndup(const char *s, size_t n)
{
    char *d = lqi_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *lqi_strdup(const char *s)
{
    return lqi_strndup(s, strlen(s));
}
