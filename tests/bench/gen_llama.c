/* gen_llama.c - writes a Llama-shaped Hugging Face folder with random BF16 weights, for
 * benchmarks (never committed: scripts/bench-convert generates it on demand).
 *
 * usage: gen_llama OUT_DIR [LAYERS [HIDDEN [FFN [HEADS [KV_HEADS [VOCAB]]]]]]
 * Defaults are TinyLlama-1.1B's shape: 22 layers, hidden 2048, FFN 5632, 32 heads, 4 KV
 * heads, vocab 32000 (1.1 B parameters, 2.2 GB). The tokenizer is copied by the script.
 * Weights are streamed to disk a tensor at a time: memory stays small. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lq/fp16.h"

struct shape {
    char name[96];
    int64_t rows, cols; /* cols = 0 for a 1-D tensor */
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * (1.0 / 9007199254740992.0);
}

static int list_tensors(struct shape *s, int layers, int64_t h, int64_t ffn, int64_t q, int64_t kv,
                        int64_t vocab)
{
    int n = 0;
    /* safetensors sorts names; we emit them sorted by building and sorting */
    snprintf(s[n].name, 96, "lm_head.weight"), s[n].rows = vocab, s[n++].cols = h;
    snprintf(s[n].name, 96, "model.embed_tokens.weight"), s[n].rows = vocab, s[n++].cols = h;
    snprintf(s[n].name, 96, "model.norm.weight"), s[n].rows = h, s[n++].cols = 0;
    for (int l = 0; l < layers; l++) {
        const char *nm[] = { "input_layernorm", "post_attention_layernorm", "mlp.gate_proj",
                             "mlp.up_proj", "mlp.down_proj", "self_attn.q_proj",
                             "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj" };
        int64_t rows[] = { h, h, ffn, ffn, h, q, kv, kv, h };
        int64_t cols[] = { 0, 0, h, h, ffn, h, h, h, q };
        for (int k = 0; k < 9; k++) {
            snprintf(s[n].name, 96, "model.layers.%d.%s.weight", l, nm[k]);
            s[n].rows = rows[k];
            s[n++].cols = cols[k];
        }
    }
    return n;
}

static int cmp_shape(const void *a, const void *b)
{
    return strcmp(((const struct shape *)a)->name, ((const struct shape *)b)->name);
}

static int64_t nelem(const struct shape *s)
{
    return s->rows * (s->cols ? s->cols : 1);
}

static void write_config(const char *dir, int layers, int64_t h, int64_t ffn, int heads, int kv,
                         int64_t vocab)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    fprintf(f,
            "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", "
            "\"hidden_size\": %" PRId64 ", \"intermediate_size\": %" PRId64 ", "
            "\"num_hidden_layers\": %d, \"num_attention_heads\": %d, "
            "\"num_key_value_heads\": %d, \"vocab_size\": %" PRId64 ", "
            "\"max_position_embeddings\": 2048, \"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0, "
            "\"bos_token_id\": 1, \"eos_token_id\": 2, \"tie_word_embeddings\": false, "
            "\"torch_dtype\": \"bfloat16\"}\n",
            h, ffn, layers, heads, kv, vocab);
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUT_DIR [LAYERS [HIDDEN [FFN [HEADS [KV_HEADS [VOCAB]]]]]]\n",
                argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    int layers = argc > 2 ? atoi(argv[2]) : 22;
    int64_t h = argc > 3 ? atoll(argv[3]) : 2048, ffn = argc > 4 ? atoll(argv[4]) : 5632;
    int heads = argc > 5 ? atoi(argv[5]) : 32, kvh = argc > 6 ? atoi(argv[6]) : 4;
    int64_t vocab = argc > 7 ? atoll(argv[7]) : 32000;
    int64_t hd = h / heads;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        perror(dir);
        return 1;
    }
    struct shape *s = calloc((size_t)(9 * layers + 3), sizeof *s);
    int n = list_tensors(s, layers, h, ffn, hd * heads, hd * kvh, vocab);
    qsort(s, (size_t)n, sizeof *s, cmp_shape);

    /* header: names in order with contiguous offsets, padded with spaces to 8 bytes */
    size_t cap = 256 * (size_t)n + 64, len = 0;
    char *hdr = malloc(cap);
    len += (size_t)snprintf(hdr + len, cap - len, "{");
    uint64_t off = 0, total = 0;
    for (int i = 0; i < n; i++) {
        uint64_t bytes = (uint64_t)nelem(&s[i]) * 2;
        len += s[i].cols ? (size_t)snprintf(hdr + len, cap - len,
                                            "%s\"%s\":{\"dtype\":\"BF16\",\"shape\":[%" PRId64
                                            ",%" PRId64 "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}",
                                            i ? "," : "", s[i].name, s[i].rows, s[i].cols, off,
                                            off + bytes)
                         : (size_t)snprintf(hdr + len, cap - len,
                                            "%s\"%s\":{\"dtype\":\"BF16\",\"shape\":[%" PRId64
                                            "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}",
                                            i ? "," : "", s[i].name, s[i].rows, off, off + bytes);
        off += bytes;
        total += (uint64_t)nelem(&s[i]);
    }
    len += (size_t)snprintf(hdr + len, cap - len, "}");
    while (len % 8) {
        hdr[len++] = ' ';
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    uint64_t hl = len;
    fwrite(&hl, 8, 1, f);
    fwrite(hdr, 1, len, f);
    uint16_t *buf = malloc(1 << 22);
    for (int i = 0; i < n; i++) {
        /* weights ~ N(0, 0.02)-ish (sum of uniforms), norms around 1 */
        int64_t left = nelem(&s[i]);
        while (left > 0) {
            int64_t chunk = left < (1 << 21) ? left : (1 << 21);
            for (int64_t k = 0; k < chunk; k++) {
                double v = s[i].cols ? (uniform() + uniform() + uniform() - 1.5) * 0.04
                                     : 1.0 + (uniform() - 0.5) * 0.1;
                buf[k] = lq_fp32_to_bf16((float)v);
            }
            fwrite(buf, 2, (size_t)chunk, f);
            left -= chunk;
        }
    }
    fclose(f);
    write_config(dir, layers, h, ffn, heads, kvh, vocab);
    printf("%s: %d tensors, %" PRIu64 " parameters (%.2f B), %.2f GB\n", dir, n, total,
           total / 1e9, off / 1e9);
    free(buf);
    free(hdr);
    free(s);
    return 0;
}
