/* fuzz_gguf_read.c - arbitrary bytes through lq_gguf_open_memory; when a file opens, every
 * metadata value (arrays of arrays included) and every tensor's data is walked, so a reader
 * that trusted an unchecked length would read out of bounds under ASan. */
#include <stdint.h>
#include <string.h>

#include "lq/gguf.h"

static volatile uint64_t sink;

/* Touches every byte a value claims to own. */
static void walk_value(const struct lq_gguf_value *v)
{
    if (v->type == LQ_GGUF_STRING) {
        sink += strlen(v->v.str.s) + (unsigned char)v->v.str.s[v->v.str.len];
        return;
    }
    if (v->type != LQ_GGUF_ARRAY) {
        sink += v->v.u8;
        return;
    }
    const void *d = v->v.arr.data;
    for (uint64_t i = 0; i < v->v.arr.n; i++) {
        switch (v->v.arr.type) {
        case LQ_GGUF_STRING: {
            const struct lq_gguf_str *s = (const struct lq_gguf_str *)d + i;
            sink += (unsigned char)s->s[s->len];
            break;
        }
        case LQ_GGUF_ARRAY:
            walk_value((const struct lq_gguf_value *)d + i);
            break;
        case LQ_GGUF_BOOL:
            sink += ((const bool *)d)[i];
            break;
        case LQ_GGUF_FLOAT32:
            sink += ((const float *)d)[i] > 0;
            break;
        case LQ_GGUF_FLOAT64:
            sink += ((const double *)d)[i] > 0;
            break;
        case LQ_GGUF_UINT64:
        case LQ_GGUF_INT64:
            sink += ((const uint64_t *)d)[i];
            break;
        case LQ_GGUF_UINT32:
        case LQ_GGUF_INT32:
            sink += ((const uint32_t *)d)[i];
            break;
        case LQ_GGUF_UINT16:
        case LQ_GGUF_INT16:
            sink += ((const uint16_t *)d)[i];
            break;
        default:
            sink += ((const uint8_t *)d)[i];
            break;
        }
    }
}

static void walk(const lq_gguf *g)
{
    uint64_t u;
    int64_t i64;
    double f;
    bool b;
    const char *s;
    for (int64_t i = 0; i < lq_gguf_n_kv(g); i++) {
        const char *key = lq_gguf_key(g, i);
        sink += lq_gguf_find_key(g, key) == i;
        walk_value(lq_gguf_value(g, i));
        sink += lq_gguf_get_u64(g, key, &u, NULL) + lq_gguf_get_i64(g, key, &i64, NULL);
        sink += lq_gguf_get_f64(g, key, &f, NULL) + lq_gguf_get_bool(g, key, &b, NULL);
        sink += lq_gguf_get_str(g, key, &s, NULL);
    }
    for (int64_t i = 0; i < lq_gguf_n_tensors(g); i++) {
        const struct lq_gguf_tensor_info *t = lq_gguf_tensor(g, i);
        sink += lq_gguf_find_tensor(g, t->name) == i;
        const unsigned char *p = t->data;
        if (t->nbytes) {
            sink += p[0] + p[t->nbytes - 1];
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lq_gguf *g = NULL;
    struct lq_error err;
    if (lq_gguf_open_memory(data, size, "fuzz", &g, &err) == LQ_OK) {
        walk(g);
        lq_gguf_free(g);
    }
    return 0;
}
