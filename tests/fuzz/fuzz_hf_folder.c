/* fuzz_hf_folder.c - a Hugging Face folder made of arbitrary config.json and
 * model.safetensors.index.json (the input split at its first NUL byte; without one, no
 * index): opening must fail cleanly or give a folder whose accessors all answer. */
#include <stdint.h>
#include <string.h>

#include "fuzz_files.h"
#include "lq/hf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    const size_t config_len = nul ? (size_t)(nul - data) : size;
    fuzz_put("config.json", data, config_len);
    fuzz_put("model.safetensors.index.json", nul ? nul + 1 : NULL, nul ? size - config_len - 1 : 0);
    struct lq_error err;
    lq_hf *hf = NULL;
    char dir[300];
    snprintf(dir, sizeof dir, "%s", fuzz_dir());
    if (lq_hf_open(dir, &hf, &err) == LQ_OK) {
        lq_hf_free(hf);
    }
    if (lq_hf_open_config(dir, &hf, &err) == LQ_OK) {
        static const char *const keys[] = {"hidden_size", "num_hidden_layers", "vocab_size",
                                           "rope_theta",  "architectures",     "rope_scaling"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            int64_t v;
            double d;
            const char *s;
            bool b;
            (void)lq_hf_config_has(hf, keys[i]);
            (void)lq_hf_config_i64(hf, keys[i], &v, &err);
            (void)lq_hf_config_f64(hf, keys[i], &d, &err);
            (void)lq_hf_config_str(hf, keys[i], &s, &err);
            (void)lq_hf_config_bool(hf, keys[i], &b, &err);
            (void)lq_hf_config_len(hf, keys[i], &v, &err);
        }
        lq_hf_free(hf);
    }
    return 0;
}
