/* fuzz_llama2c.c - arbitrary bytes as a llama2.c checkpoint and as its tokenizer file: open
 * must fail cleanly or give tensors that lie inside the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_files.h"
#include "lq/llama2c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_put("model.bin", data, size);
    char path[320];
    snprintf(path, sizeof path, "%s/model.bin", fuzz_dir());
    struct lq_error err;
    lq_llama2c *m = NULL;
    if (lq_llama2c_open(path, &m, &err) == LQ_OK) {
        float sink = 0;
        for (int64_t i = 0; i < lq_llama2c_n_tensors(m); i++) {
            const struct lq_llama2c_tensor *t = lq_llama2c_tensor(m, i);
            if (lq_llama2c_find_tensor(m, t->name) != i) {
                abort();
            }
            const float *f = t->data;
            const size_t n = t->nbytes / sizeof(float);
            if (n > 0) { /* first and last element: ASan checks the bounds */
                sink += f[0] + f[n - 1];
            }
        }
        volatile float keep = sink;
        (void)keep;
        lq_llama2c_free(m);
    }
    lq_llama2c_vocab *v = NULL;
    if (lq_llama2c_vocab_open(path, 16, &v, &err) == LQ_OK) {
        size_t n = 0;
        for (int64_t i = 0; i < lq_llama2c_vocab_n(v); i++) {
            n += strlen(lq_llama2c_vocab_texts(v)[i]) + strlen(lq_llama2c_vocab_raw(v)[i]);
        }
        volatile size_t keep = n;
        (void)keep;
        lq_llama2c_vocab_free(v);
    }
    return 0;
}
