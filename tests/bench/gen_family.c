/* gen_family.c - writes a Hugging Face folder of any family in the family table (lq/family.h)
 * with random BF16 weights, for benchmarks (never committed: scripts/bench-convert --family
 * generates it on demand). The tensors are the table's: every global one and every required
 * per-layer one, in its Hugging Face name and shape, so the generator follows the table.
 *
 * usage: gen_family FAMILY OUT_DIR [LAYERS [HIDDEN [FFN [HEADS [KV_HEADS [VOCAB [HEAD_DIM]]]]]]]
 * Defaults are each family's common shape (below); the tokenizer is copied by the script.
 * FAMILY "mixtral" is the llama row as a mixture of experts (Mixtral-8x7B's shape: 8 experts,
 * 2 per token, each expert's matrices under their own Hugging Face names). FAMILY "llama3-8b"
 * is Llama-3.1-8B as downloaded: its config (rope_theta 500000, Llama 3 rope_scaling, BOS
 * 128000) and its weights sharded into ~5 GB safetensors files with an index.
 * Weights are streamed to disk a tensor at a time: memory stays small. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lq/family.h"
#include "lq/fp16.h"

struct shape {
    char name[128];
    int64_t rows, cols; /* Hugging Face order: [rows, cols]; cols = 0 for a 1-D tensor */
};

struct dims {
    int64_t e, f, q, kv, d, v;
    int64_t x; /* experts (0: dense); each expert's FFN is f */
};

/* Default shapes: layers, hidden, FFN, heads, KV heads, vocab, head size (0: hidden / heads);
 * the family table's row, and experts. */
static const struct {
    const char *name, *family;
    int64_t v[7];
    int64_t experts;
    bool llama3; /* Llama 3.1's config keys, shards of ~5 GB and model.safetensors.index.json */
} presets[] = {
    { "llama", "llama", { 22, 2048, 5632, 32, 4, 32000, 0 }, 0, false },       /* TinyLlama-1.1B */
    { "qwen2", "qwen2", { 28, 3584, 18944, 28, 4, 152064, 0 }, 0, false },     /* Qwen2.5-7B */
    { "qwen3", "qwen3", { 36, 4096, 12288, 32, 8, 151936, 128 }, 0, false },   /* Qwen3-8B */
    { "phi3", "phi3", { 32, 3072, 8192, 32, 32, 32064, 0 }, 0, false },        /* Phi-3-mini */
    { "mixtral", "llama", { 32, 4096, 14336, 32, 8, 32000, 0 }, 8, false },    /* Mixtral-8x7B */
    { "llama3-8b", "llama", { 32, 4096, 14336, 32, 8, 128256, 0 }, 0, true }, /* Llama-3.1-8B */
};

/* Llama-3.1-8B's shards hold at most this many bytes of weights (its download: 4 files of
 * 4.98, 5.00, 4.92 and 1.17 GB). */
#define SHARD_BYTES 5000000000ull

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * (1.0 / 9007199254740992.0);
}

/* The table's GGUF shape [ne0, ne1] as a Hugging Face shape [ne1, ne0]. */
static void hf_shape(enum lq_family_shape sh, const struct dims *m, struct shape *s)
{
    int64_t ne0 = 0, ne1 = 0;
    switch (sh) {
    case LQ_SHAPE_E: ne0 = m->e; break;
    case LQ_SHAPE_E_Q: ne0 = m->e, ne1 = m->q; break;
    case LQ_SHAPE_E_KV: ne0 = m->e, ne1 = m->kv; break;
    case LQ_SHAPE_Q_E: ne0 = m->q, ne1 = m->e; break;
    case LQ_SHAPE_E_QKV: ne0 = m->e, ne1 = m->q + 2 * m->kv; break;
    case LQ_SHAPE_E_F: ne0 = m->e, ne1 = m->f; break;
    case LQ_SHAPE_E_2F: ne0 = m->e, ne1 = 2 * m->f; break;
    case LQ_SHAPE_F_E: ne0 = m->f, ne1 = m->e; break;
    case LQ_SHAPE_Q: ne0 = m->q; break;
    case LQ_SHAPE_KV: ne0 = m->kv; break;
    case LQ_SHAPE_D: ne0 = m->d; break;
    case LQ_SHAPE_E_V: ne0 = m->e, ne1 = m->v; break;
    case LQ_SHAPE_E_X: ne0 = m->e, ne1 = m->x; break;
    case LQ_SHAPE_E_FX_X: ne0 = m->e, ne1 = m->f; break; /* one expert's matrix */
    case LQ_SHAPE_FX_E_X: ne0 = m->f, ne1 = m->e; break;
    default: break;
    }
    s->rows = ne1 ? ne1 : ne0;
    s->cols = ne1 ? ne0 : 0;
}

static int list_tensors(const struct lq_family *f, int layers, const struct dims *m,
                        struct shape *s)
{
    int n = 0;
    for (size_t i = 0; i < f->n_global_tensors; i++) {
        snprintf(s[n].name, sizeof s[n].name, "%s", f->global_tensors[i].hf);
        hf_shape(f->global_tensors[i].shape, m, &s[n++]);
    }
    /* required tensors, and the dense FFN or the router and experts */
    const unsigned want = LQ_FT_REQUIRED | (m->x > 0 ? LQ_FT_MOE : LQ_FT_DENSE);
    for (int l = 0; l < layers; l++) {
        for (size_t i = 0; i < f->n_layer_tensors; i++) {
            const struct lq_family_tensor *t = &f->layer_tensors[i];
            if (!(t->flags & want)) {
                continue;
            }
            const int64_t copies = t->flags & LQ_FT_EXPERT ? m->x : 1;
            for (int64_t x = 0; x < copies; x++) {
                char hf[96];
                snprintf(hf, sizeof hf, "%s", t->hf);
                char *star = strchr(hf, '*');
                if (star) { /* "experts.*.w1.weight" -> "experts.<x>.w1.weight" */
                    char rest[96];
                    snprintf(rest, sizeof rest, "%s", star + 1);
                    snprintf(star, sizeof hf - (size_t)(star - hf), "%" PRId64 "%s", x, rest);
                }
                snprintf(s[n].name, sizeof s[n].name, "model.layers.%d.%s", l, hf);
                hf_shape(t->shape, m, &s[n++]);
            }
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

static void write_config(const char *dir, const struct lq_family *f, int layers,
                         const struct dims *m, int heads, int kv, bool head_dim, bool llama3)
{
    char path[4096], extra[160] = "";
    if (llama3) {
        snprintf(path, sizeof path, "%s/config.json", dir);
        FILE *o = fopen(path, "w");
        fprintf(o,
                "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", "
                "\"hidden_size\": %" PRId64 ", \"intermediate_size\": %" PRId64 ", "
                "\"num_hidden_layers\": %d, \"num_attention_heads\": %d, "
                "\"num_key_value_heads\": %d, \"vocab_size\": %" PRId64 ", "
                "\"max_position_embeddings\": 131072, \"rms_norm_eps\": 1e-05, "
                "\"rope_theta\": 500000.0, \"rope_scaling\": {\"factor\": 8.0, "
                "\"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, "
                "\"original_max_position_embeddings\": 8192, \"rope_type\": \"llama3\"}, "
                "\"bos_token_id\": 128000, \"eos_token_id\": [128001, 128008, 128009], "
                "\"hidden_act\": \"silu\", \"attention_bias\": false, \"mlp_bias\": false, "
                "\"tie_word_embeddings\": false, \"torch_dtype\": \"bfloat16\"}\n",
                m->e, m->f, layers, heads, kv, m->v);
        fclose(o);
        return;
    }
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *o = fopen(path, "w");
    if (head_dim) {
        snprintf(extra, sizeof extra, "\"head_dim\": %" PRId64 ", ", m->d);
    }
    if (f->keys == LQ_KEYS_PHI3) { /* Phi-3 configs carry it; llama.cpp requires it */
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra),
                 "\"original_max_position_embeddings\": 2048, ");
    }
    const char *arch = f->hf_architectures[0], *type = f->hf_model_types[0];
    if (m->x > 0) { /* the llama row's Mixtral names */
        arch = "MixtralForCausalLM";
        type = "mixtral";
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra),
                 "\"num_local_experts\": %" PRId64 ", \"num_experts_per_tok\": 2, ", m->x);
    }
    fprintf(o,
            "{\"architectures\": [\"%s\"], \"model_type\": \"%s\", "
            "\"hidden_size\": %" PRId64 ", \"intermediate_size\": %" PRId64 ", "
            "\"num_hidden_layers\": %d, \"num_attention_heads\": %d, "
            "\"num_key_value_heads\": %d, \"vocab_size\": %" PRId64 ", %s"
            "\"max_position_embeddings\": 2048, \"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0, "
            "\"bos_token_id\": 1, \"eos_token_id\": 2, \"tie_word_embeddings\": false, "
            "\"torch_dtype\": \"bfloat16\"}\n",
            arch, type, m->e, m->f, layers, heads, kv, m->v, extra);
    fclose(o);
}

/* One safetensors file: a header naming the n tensors of s in order with contiguous offsets
 * (padded with spaces to 8 bytes), then their random BF16 values. */
static int write_shard(const char *dir, const char *name, const struct shape *s, int n)
{
    size_t cap = 256 * (size_t)n + 64, len = 0;
    char *hdr = malloc(cap);
    len += (size_t)snprintf(hdr + len, cap - len, "{");
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        uint64_t bytes = (uint64_t)nelem(&s[i]) * 2;
        char shape[64];
        if (s[i].cols) {
            snprintf(shape, sizeof shape, "%" PRId64 ",%" PRId64, s[i].rows, s[i].cols);
        } else {
            snprintf(shape, sizeof shape, "%" PRId64, s[i].rows);
        }
        len += (size_t)snprintf(hdr + len, cap - len,
                                "%s\"%s\":{\"dtype\":\"BF16\",\"shape\":[%s],\"data_offsets\":[%" PRIu64
                                ",%" PRIu64 "]}", i ? "," : "", s[i].name, shape, off, off + bytes);
        off += bytes;
    }
    len += (size_t)snprintf(hdr + len, cap - len, "}");
    while (len % 8) {
        hdr[len++] = ' ';
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *o = fopen(path, "wb");
    if (!o) {
        perror(path);
        free(hdr);
        return 1;
    }
    uint64_t hl = len;
    fwrite(&hl, 8, 1, o);
    fwrite(hdr, 1, len, o);
    uint16_t *buf = malloc(1 << 22);
    for (int i = 0; i < n; i++) {
        /* weights ~ N(0, 0.02)-ish (sum of uniforms), vectors (norms, biases) around 1 */
        int64_t left = nelem(&s[i]);
        while (left > 0) {
            int64_t chunk = left < (1 << 21) ? left : (1 << 21);
            for (int64_t k = 0; k < chunk; k++) {
                double x = s[i].cols ? (uniform() + uniform() + uniform() - 1.5) * 0.04
                                     : 1.0 + (uniform() - 0.5) * 0.1;
                buf[k] = lq_fp32_to_bf16((float)x);
            }
            fwrite(buf, 2, (size_t)chunk, o);
            left -= chunk;
        }
    }
    int rc = fclose(o) != 0;
    if (rc) {
        perror(path);
    }
    free(buf);
    free(hdr);
    return rc;
}

int main(int argc, char **argv)
{
    size_t p = 0;
    while (argc > 2 && p < sizeof presets / sizeof presets[0] && strcmp(presets[p].name, argv[1])) {
        p++;
    }
    const struct lq_family *f =
        argc > 2 && p < sizeof presets / sizeof presets[0] ? lq_family_by_gguf_arch(presets[p].family)
                                                          : NULL;
    if (!f) {
        fprintf(stderr, "usage: %s FAMILY OUT_DIR [LAYERS [HIDDEN [FFN [HEADS [KV_HEADS [VOCAB "
                        "[HEAD_DIM]]]]]]]\nfamilies: llama, qwen2, qwen3, phi3, mixtral, llama3-8b\n",
                argv[0]);
        return 2;
    }
    int64_t v[7];
    for (int i = 0; i < 7; i++) {
        v[i] = argc > 3 + i ? atoll(argv[3 + i]) : presets[p].v[i];
    }
    const char *dir = argv[2];
    int layers = (int)v[0], heads = (int)v[3], kvh = (int)v[4];
    struct dims m = { .e = v[1], .f = v[2], .v = v[5], .d = v[6] ? v[6] : v[1] / heads,
                      .x = presets[p].experts };
    m.q = m.d * heads;
    m.kv = m.d * kvh;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        perror(dir);
        return 1;
    }
    struct shape *s = calloc(f->n_global_tensors + f->n_layer_tensors * (size_t)layers *
                                                       (size_t)(m.x > 0 ? m.x : 1),
                             sizeof *s);
    int n = list_tensors(f, layers, &m, s);
    qsort(s, (size_t)n, sizeof *s, cmp_shape);

    /* shards: consecutive tensors while they fit SHARD_BYTES (one file unless llama3) */
    int *first = calloc((size_t)n + 1, sizeof *first), n_shards = 0;
    uint64_t in_shard = 0, total = 0, bytes_all = 0;
    for (int i = 0; i < n; i++) {
        const uint64_t bytes = (uint64_t)nelem(&s[i]) * 2;
        if (i == 0 || (presets[p].llama3 && in_shard + bytes > SHARD_BYTES)) {
            first[n_shards++] = i;
            in_shard = 0;
        }
        in_shard += bytes;
        total += (uint64_t)nelem(&s[i]);
        bytes_all += bytes;
    }
    first[n_shards] = n;
    FILE *index = NULL;
    if (presets[p].llama3) {
        char path[4096];
        snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
        index = fopen(path, "w");
        if (!index) {
            perror(path);
            return 1;
        }
        fprintf(index, "{\"metadata\": {\"total_size\": %" PRIu64 "}, \"weight_map\": {",
                bytes_all);
    }
    for (int k = 0; k < n_shards; k++) {
        char name[64];
        if (presets[p].llama3) {
            snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", k + 1, n_shards);
            for (int i = first[k]; i < first[k + 1]; i++) {
                fprintf(index, "%s\"%s\": \"%s\"", i ? ", " : "", s[i].name, name);
            }
        } else {
            snprintf(name, sizeof name, "model.safetensors");
        }
        if (write_shard(dir, name, s + first[k], first[k + 1] - first[k]) != 0) {
            return 1;
        }
    }
    if (index) {
        fprintf(index, "}}\n");
        fclose(index);
    }
    free(first);
    write_config(dir, f, layers, &m, heads, kvh, v[6] != 0, presets[p].llama3);
    printf("%s: %s, %d tensors in %d file%s, %" PRIu64 " parameters (%.2f B), %.2f GB\n", dir,
           f->name, n, n_shards, n_shards > 1 ? "s" : "", total, total / 1e9, bytes_all / 1e9);
    free(s);
    return 0;
}
