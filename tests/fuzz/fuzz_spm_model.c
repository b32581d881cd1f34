/* fuzz_spm_model.c - arbitrary bytes as a SentencePiece tokenizer.model. Whatever parses
 * must hold only what the header promises: n >= 1 non-empty NUL-free pieces, known types. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lq/spm_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lq_spm *sp = NULL;
    struct lq_error err;
    if (lq_spm_open_memory(data, size, "fuzz", &sp, &err) != LQ_OK) {
        return 0;
    }
    int64_t n = lq_spm_n_pieces(sp);
    if (n < 1) {
        abort();
    }
    for (int64_t i = 0; i < n; i++) {
        int32_t t = lq_spm_types(sp)[i];
        if (strlen(lq_spm_pieces(sp)[i]) == 0 || t < LQ_SPM_NORMAL || t > LQ_SPM_BYTE) {
            abort();
        }
    }
    const struct lq_spm_info *in = lq_spm_info(sp);
    if (in->precompiled_charsmap && in->precompiled_charsmap_size) {
        volatile unsigned char last = in->precompiled_charsmap[in->precompiled_charsmap_size - 1];
        (void)last;
    }
    lq_spm_free(sp);
    return 0;
}
