/* tok_vec.c - growable arrays and the merge priority queue of the tokenizers. */
#include "tok_impl.h"

#include <string.h>

void lqi_vec_init(struct lqi_vec *v, size_t esize)
{
    v->data = NULL;
    v->n = v->cap = 0;
    v->esize = esize;
}

void lqi_vec_free(struct lqi_vec *v)
{
    lqi_free(v->data);
    v->data = NULL;
    v->n = v->cap = 0;
}

bool lqi_vec_reserve(struct lqi_vec *v, size_t extra)
{
    size_t need, cap, bytes;
    if (__builtin_add_overflow(v->n, extra, &need)) {
        return false;
    }
    if (need <= v->cap) {
        return true;
    }
    cap = v->cap ? v->cap : 16;
    while (cap < need) {
        if (__builtin_mul_overflow(cap, 2, &cap)) {
            return false;
        }
    }
    if (__builtin_mul_overflow(cap, v->esize, &bytes)) {
        return false;
    }
    void *p = lqi_realloc(v->data, bytes);
    if (!p) {
        return false;
    }
    v->data = p;
    v->cap = cap;
    return true;
}

bool lqi_vec_push(struct lqi_vec *v, const void *elems, size_t n)
{
    if (n == 0) {
        return true;
    }
    if (!lqi_vec_reserve(v, n)) {
        return false;
    }
    memcpy((char *)v->data + v->n * v->esize, elems, n * v->esize);
    v->n += n;
    return true;
}

bool lqi_vec_push_i32(struct lqi_vec *v, int32_t x)
{
    return lqi_vec_push(v, &x, 1);
}

// ---- binary heap ordered as llama.cpp's std::priority_queue comparators --------------------

/* a pops before b: higher priority first, ties broken by the leftmost symbol. */
static bool before(const struct lqi_bigram *a, const struct lqi_bigram *b)
{
    return a->prio > b->prio || (a->prio == b->prio && a->left < b->left);
}

bool lqi_heap_push(struct lqi_vec *h, const struct lqi_bigram *b)
{
    if (!lqi_vec_push(h, b, 1)) {
        return false;
    }
    struct lqi_bigram *a = h->data;
    size_t i = h->n - 1;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&a[i], &a[parent])) {
            break;
        }
        struct lqi_bigram tmp = a[i];
        a[i] = a[parent];
        a[parent] = tmp;
        i = parent;
    }
    return true;
}

struct lqi_bigram lqi_heap_pop(struct lqi_vec *h)
{
    struct lqi_bigram *a = h->data;
    struct lqi_bigram top = a[0];
    a[0] = a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        if (l < h->n && before(&a[l], &a[best])) {
            best = l;
        }
        if (r < h->n && before(&a[r], &a[best])) {
            best = r;
        }
        if (best == i) {
            break;
        }
        struct lqi_bigram tmp = a[i];
        a[i] = a[best];
        a[best] = tmp;
        i = best;
    }
    return top;
}
