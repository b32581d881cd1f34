/* llama_map.c - Hugging Face Llama -> GGUF tensor names, q/k row permutation, rope factors. */
#include "lq/llama_map.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lqi.h"

static const struct { const char *hf, *gguf; } layer_names[] = {
    { "input_layernorm.weight", "attn_norm.weight" },
    { "self_attn.q_proj.weight", "attn_q.weight" },
    { "self_attn.k_proj.weight", "attn_k.weight" },
    { "self_attn.v_proj.weight", "attn_v.weight" },
    { "self_attn.o_proj.weight", "attn_output.weight" },
    { "self_attn.q_proj.bias", "attn_q.bias" },
    { "self_attn.k_proj.bias", "attn_k.bias" },
    { "self_attn.v_proj.bias", "attn_v.bias" },
    { "self_attn.o_proj.bias", "attn_output.bias" },
    { "post_attention_layernorm.weight", "ffn_norm.weight" },
    { "mlp.gate_proj.weight", "ffn_gate.weight" },
    { "mlp.up_proj.weight", "ffn_up.weight" },
    { "mlp.down_proj.weight", "ffn_down.weight" },
    { "mlp.gate_proj.bias", "ffn_gate.bias" },
    { "mlp.up_proj.bias", "ffn_up.bias" },
    { "mlp.down_proj.bias", "ffn_down.bias" },
};

static const struct { const char *hf, *gguf; } global_names[] = {
    { "model.embed_tokens.weight", "token_embd.weight" },
    { "model.norm.weight", "output_norm.weight" },
    { "lm_head.weight", "output.weight" },
};

static lq_status map_layer(const char *rest, int layer, int n_head, int n_head_kv,
                           struct lq_llama_tensor_map *out, const char *hf_name,
                           struct lq_error *err)
{
    if (strcmp(rest, "self_attn.rotary_emb.inv_freq") == 0) {
        out->skip = true;
        return LQ_OK;
    }
    for (size_t i = 0; i < sizeof layer_names / sizeof layer_names[0]; i++) {
        if (strcmp(rest, layer_names[i].hf) == 0) {
            snprintf(out->gguf_name, sizeof out->gguf_name, "blk.%d.%s", layer,
                     layer_names[i].gguf);
            if (strncmp(rest, "self_attn.q_proj", 16) == 0) {
                out->permute_heads = n_head;
            } else if (strncmp(rest, "self_attn.k_proj", 16) == 0) {
                out->permute_heads = n_head_kv;
            }
            return LQ_OK;
        }
    }
    return lqi_set_error(err, LQ_E_UNSUPPORTED, "tensor '%s': not part of the Llama layout",
                         hf_name);
}

lq_status lq_llama_map_hf_name(const char *hf_name, int n_head, int n_head_kv,
                               struct lq_llama_tensor_map *out, struct lq_error *err)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < sizeof global_names / sizeof global_names[0]; i++) {
        if (strcmp(hf_name, global_names[i].hf) == 0) {
            snprintf(out->gguf_name, sizeof out->gguf_name, "%s", global_names[i].gguf);
            return LQ_OK;
        }
    }
    int layer = -1, used = 0;
    if (sscanf(hf_name, "model.layers.%d.%n", &layer, &used) == 1 && used > 0 && layer >= 0) {
        return map_layer(hf_name + used, layer, n_head, n_head_kv, out, hf_name, err);
    }
    return lqi_set_error(err, LQ_E_UNSUPPORTED, "tensor '%s': not part of the Llama layout",
                         hf_name);
}

int64_t lq_llama_permuted_row(int64_t r, int64_t n_rows, int n_head)
{
    int64_t d = n_rows / n_head; /* rows per head */
    int64_t h = r / d, k = r % d;
    int64_t j = k / (d / 2), i = k % (d / 2); /* HF row: half j, index i */
    return h * d + 2 * i + j;
}

int64_t lq_llama_unpermuted_row(int64_t r, int64_t n_rows, int n_head)
{
    int64_t d = n_rows / n_head;
    int64_t h = r / d, k = r % d;
    int64_t i = k / 2, j = k % 2; /* GGUF row 2i + j of the head holds HF half j, index i */
    return h * d + j * (d / 2) + i;
}

void lq_llama_permute_rows(const void *src, void *dst, int64_t n_rows, size_t row_bytes,
                           int n_head)
{
    const unsigned char *s = src;
    unsigned char *o = dst;
    for (int64_t r = 0; r < n_rows; r++) {
        int64_t to = lq_llama_permuted_row(r, n_rows, n_head);
        memcpy(o + (size_t)to * row_bytes, s + (size_t)r * row_bytes, row_bytes);
    }
}

void lq_llama3_rope_factors(float base, int n_rot, float factor, float low_freq_factor,
                            float high_freq_factor, int original_context, float *out)
{
    /* as llama.cpp's converter: frequencies in float32, the smoothing in double */
    double low_wavelen = original_context / (double)low_freq_factor;
    double high_wavelen = original_context / (double)high_freq_factor;
    for (int i = 0; i < n_rot / 2; i++) {
        float freq = 1.0f / powf(base, (float)(2 * i) / (float)n_rot);
        double wavelen = 2.0 * M_PI / (double)freq;
        double f;
        if (wavelen < high_wavelen) {
            f = 1.0;
        } else if (wavelen > low_wavelen) {
            f = factor;
        } else {
            double smooth = (original_context / wavelen - low_freq_factor) /
                            (high_freq_factor - low_freq_factor);
            f = 1.0 / ((1.0 - smooth) / factor + smooth);
        }
        out[i] = (float)f;
    }
}
