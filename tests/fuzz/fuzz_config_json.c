/* fuzz_config_json.c - arbitrary bytes as a config.json, parsed from memory: when it opens,
 * every typed getter is asked for every (dotted) key path the JSON holds, up to three levels
 * deep, and for the keys `quant convert` reads. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lq/hf.h"

static volatile int64_t sink;

static void ask(const lq_hf *hf, const char *key)
{
    struct lq_error err;
    int64_t v;
    double d;
    const char *s;
    bool b;
    sink += lq_hf_config_has(hf, key);
    sink += lq_hf_config_i64(hf, key, &v, &err) == LQ_OK ? v : 0;
    sink += lq_hf_config_f64(hf, key, &d, &err) == LQ_OK && d > 0;
    sink += lq_hf_config_str(hf, key, &s, &err) == LQ_OK ? (int64_t)strlen(s) : 0;
    sink += lq_hf_config_bool(hf, key, &b, &err) == LQ_OK && b;
    sink += lq_hf_config_len(hf, key, &v, &err) == LQ_OK ? v : 0;
}

/* Every key path under j (objects by key, arrays by index), prefix included. */
static void walk(const lq_hf *hf, const json_t *j, const char *prefix, int depth)
{
    char path[512];
    if (json_is_object(j)) {
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)j, k, v)
        {
            snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", k);
            ask(hf, path);
            if (depth < 3) {
                walk(hf, v, path, depth + 1);
            }
        }
    } else if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j) && i < 8; i++) {
            snprintf(path, sizeof path, "%s.%zu", prefix, i);
            ask(hf, path);
            if (depth < 3) {
                walk(hf, json_array_get(j, i), path, depth + 1);
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = {
        "architectures.0",
        "model_type",
        "hidden_size",
        "num_hidden_layers",
        "intermediate_size",
        "num_attention_heads",
        "num_key_value_heads",
        "head_dim",
        "vocab_size",
        "max_position_embeddings",
        "rope_theta",
        "rms_norm_eps",
        "tie_word_embeddings",
        "rope_scaling.rope_type",
        "rope_scaling.type",
        "rope_scaling.factor",
        "rope_scaling.low_freq_factor",
        "rope_scaling.high_freq_factor",
        "rope_scaling.original_max_position_embeddings",
        "bos_token_id",
        "eos_token_id",
        "eos_token_id.0",
        "quantization_config.bits",
        "a..b",
        ".",
        "",
    };
    struct lq_error err;
    lq_hf *hf = NULL;
    if (lq_hf_open_config_memory((const char *)data, size, "fuzz/config.json", &hf, &err) !=
        LQ_OK) {
        return 0;
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        ask(hf, keys[i]);
    }
    json_t *root = json_loadb((const char *)data, size, 0, NULL);
    walk(hf, root, "", 0);
    json_decref(root);
    lq_hf_free(hf);
    return 0;
}
