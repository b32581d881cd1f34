/* fuzz_torch_pickle.c - arbitrary bytes as the data.pkl of a torch.save zip that also holds
 * two storages, so that well-formed tensors can resolve and their views get read. Every
 * tensor that opens must lie inside the archive. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lq/pytorch.h"
#include "lqt_zip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned char storage[64];
    struct lqt_zip z;
    memset(&z, 0, sizeof z);
    lqt_zip_add(&z, "archive/data.pkl", data, size);
    lqt_zip_add(&z, "archive/data/0", storage, sizeof storage);
    lqt_zip_add(&z, "archive/data/1", storage, 16);
    lqt_zip_finish(&z);
    lq_pt *pt = NULL;
    struct lq_error err;
    if (lq_pt_open_memory(z.b, z.n, "fuzz", &pt, &err) == LQ_OK) {
        for (int64_t i = 0; i < lq_pt_n_tensors(pt); i++) {
            const struct lq_pt_tensor_info *t = lq_pt_tensor(pt, i);
            const unsigned char *p = t->data;
            if (p < z.b || p + t->nbytes > z.b + z.n) {
                abort();
            }
            volatile unsigned char sink = t->nbytes ? p[t->nbytes - 1] : 0;
            (void)sink;
        }
        lq_pt_free(pt);
    }
    free(z.b);
    return 0;
}
