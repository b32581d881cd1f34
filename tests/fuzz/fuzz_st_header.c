/* fuzz_st_header.c - arbitrary bytes through the safetensors reader: open must either fail
 * cleanly or give a handle whose every tensor view lies inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lq/safetensors.h"

/* Touches every byte a handle hands out, so ASan sees any view past the input. */
static void walk(const lq_st *st, const uint8_t *data, size_t size)
{
    uint64_t sum = 0;
    for (int64_t i = 0; i < lq_st_n_tensors(st); i++) {
        const struct lq_st_tensor_info *t = lq_st_tensor(st, i);
        const uint8_t *p = t->data;
        if (t->nbytes && (p < data || t->file_offset + t->nbytes > size)) {
            abort();
        }
        for (size_t k = 0; k < t->nbytes; k++) {
            sum += p[k];
        }
        sum += strlen(t->name) + strlen(t->dtype_name) + t->n_dims;
        if (lq_st_find_tensor(st, t->name) != i) {
            abort();
        }
    }
    for (int64_t i = 0; i < lq_st_n_meta(st); i++) {
        sum += strlen(lq_st_meta_key(st, i)) + strlen(lq_st_meta_value(st, i));
    }
    volatile uint64_t sink = sum;
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lq_st *st = NULL;
    struct lq_error err;
    if (lq_st_open_memory(data, size, "fuzz", &st, &err) == LQ_OK) {
        walk(st, data, size);
        lq_st_free(st);
    } else if (st != NULL || err.msg[0] == '\0') {
        abort();
    }
    return 0;
}
