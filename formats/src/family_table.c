/* family_table.c - the model-family table (lq/family.h) and its lookups. The rows follow
 * llama.cpp's converter (convert_hf_to_gguf.py: LlamaModel, Qwen2Model, Qwen3Model,
 * Phi3MiniModel) and its tensor name map (gguf-py/gguf/tensor_mapping.py). */
#include "lq/family.h"

#include <stdio.h>
#include <string.h>

#include "lqi.h"

#define REQ LQ_FT_REQUIRED
#define DENSE LQ_FT_DENSE
#define MOE LQ_FT_MOE
#define EXP (LQ_FT_MOE | LQ_FT_EXPERT)
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Global tensors every family shares (output.weight is optional: tied heads lack it). */
static const struct lq_family_tensor globals[] = {
    { "model.embed_tokens.weight", "token_embd.weight", REQ, LQ_SHAPE_E_V },
    { "model.norm.weight", "output_norm.weight", 0, LQ_SHAPE_E },
    { "lm_head.weight", "output.weight", 0, LQ_SHAPE_E_V },
};

static const struct lq_family_tensor llama_layer[] = {
    { "input_layernorm.weight", "attn_norm.weight", REQ, LQ_SHAPE_E },
    { "self_attn.q_proj.weight", "attn_q.weight", REQ | LQ_FT_PERMUTE_Q, LQ_SHAPE_E_Q },
    { "self_attn.k_proj.weight", "attn_k.weight", REQ | LQ_FT_PERMUTE_K, LQ_SHAPE_E_KV },
    { "self_attn.v_proj.weight", "attn_v.weight", REQ, LQ_SHAPE_E_KV },
    { "self_attn.o_proj.weight", "attn_output.weight", REQ, LQ_SHAPE_Q_E },
    { "self_attn.q_proj.bias", "attn_q.bias", LQ_FT_PERMUTE_Q, LQ_SHAPE_Q },
    { "self_attn.k_proj.bias", "attn_k.bias", LQ_FT_PERMUTE_K, LQ_SHAPE_KV },
    { "self_attn.v_proj.bias", "attn_v.bias", 0, LQ_SHAPE_KV },
    { "self_attn.o_proj.bias", "attn_output.bias", 0, LQ_SHAPE_ANY },
    { "self_attn.rotary_emb.inv_freq", "", LQ_FT_SKIP, LQ_SHAPE_ANY },
    { "post_attention_layernorm.weight", "ffn_norm.weight", REQ, LQ_SHAPE_E },
    { "mlp.gate_proj.weight", "ffn_gate.weight", DENSE, LQ_SHAPE_E_F },
    { "mlp.up_proj.weight", "ffn_up.weight", DENSE, LQ_SHAPE_E_F },
    { "mlp.down_proj.weight", "ffn_down.weight", DENSE, LQ_SHAPE_F_E },
    /* Mixtral (llama.cpp converts it as llama): the stacks in its write order w1, w2, w3 */
    { "block_sparse_moe.gate.weight", "ffn_gate_inp.weight", MOE, LQ_SHAPE_E_X },
    { "block_sparse_moe.experts.*.w1.weight", "ffn_gate_exps.weight", EXP, LQ_SHAPE_E_FX_X },
    { "block_sparse_moe.experts.*.w2.weight", "ffn_down_exps.weight", EXP, LQ_SHAPE_FX_E_X },
    { "block_sparse_moe.experts.*.w3.weight", "ffn_up_exps.weight", EXP, LQ_SHAPE_E_FX_X },
    { "mlp.gate_proj.bias", "ffn_gate.bias", 0, LQ_SHAPE_ANY },
    { "mlp.up_proj.bias", "ffn_up.bias", 0, LQ_SHAPE_ANY },
    { "mlp.down_proj.bias", "ffn_down.bias", 0, LQ_SHAPE_ANY },
};

/* Qwen2: Llama's names, NEOX rotary (no permutation), q/k/v biases always present. */
static const struct lq_family_tensor qwen2_layer[] = {
    { "input_layernorm.weight", "attn_norm.weight", REQ, LQ_SHAPE_E },
    { "self_attn.q_proj.weight", "attn_q.weight", REQ, LQ_SHAPE_E_Q },
    { "self_attn.k_proj.weight", "attn_k.weight", REQ, LQ_SHAPE_E_KV },
    { "self_attn.v_proj.weight", "attn_v.weight", REQ, LQ_SHAPE_E_KV },
    { "self_attn.o_proj.weight", "attn_output.weight", REQ, LQ_SHAPE_Q_E },
    { "self_attn.q_proj.bias", "attn_q.bias", REQ, LQ_SHAPE_Q },
    { "self_attn.k_proj.bias", "attn_k.bias", REQ, LQ_SHAPE_KV },
    { "self_attn.v_proj.bias", "attn_v.bias", REQ, LQ_SHAPE_KV },
    { "self_attn.rotary_emb.inv_freq", "", LQ_FT_SKIP, LQ_SHAPE_ANY },
    { "post_attention_layernorm.weight", "ffn_norm.weight", REQ, LQ_SHAPE_E },
    { "mlp.gate_proj.weight", "ffn_gate.weight", REQ, LQ_SHAPE_E_F },
    { "mlp.up_proj.weight", "ffn_up.weight", REQ, LQ_SHAPE_E_F },
    { "mlp.down_proj.weight", "ffn_down.weight", REQ, LQ_SHAPE_F_E },
};

/* Qwen3: no biases (attention_bias false), per-head q/k RMS norms. */
static const struct lq_family_tensor qwen3_layer[] = {
    { "input_layernorm.weight", "attn_norm.weight", REQ, LQ_SHAPE_E },
    { "self_attn.q_proj.weight", "attn_q.weight", REQ, LQ_SHAPE_E_Q },
    { "self_attn.k_proj.weight", "attn_k.weight", REQ, LQ_SHAPE_E_KV },
    { "self_attn.v_proj.weight", "attn_v.weight", REQ, LQ_SHAPE_E_KV },
    { "self_attn.o_proj.weight", "attn_output.weight", REQ, LQ_SHAPE_Q_E },
    { "self_attn.q_norm.weight", "attn_q_norm.weight", REQ, LQ_SHAPE_D },
    { "self_attn.k_norm.weight", "attn_k_norm.weight", REQ, LQ_SHAPE_D },
    { "self_attn.rotary_emb.inv_freq", "", LQ_FT_SKIP, LQ_SHAPE_ANY },
    { "post_attention_layernorm.weight", "ffn_norm.weight", REQ, LQ_SHAPE_E },
    { "mlp.gate_proj.weight", "ffn_gate.weight", REQ, LQ_SHAPE_E_F },
    { "mlp.up_proj.weight", "ffn_up.weight", REQ, LQ_SHAPE_E_F },
    { "mlp.down_proj.weight", "ffn_down.weight", REQ, LQ_SHAPE_F_E },
};

/* Qwen3-MoE: Qwen3's attention; every layer sparse (decoder_sparse_step 1, no
 * mlp_only_layers); the stacks in llama.cpp's write order down, gate, up. */
static const struct lq_family_tensor qwen3moe_layer[] = {
    { "input_layernorm.weight", "attn_norm.weight", REQ, LQ_SHAPE_E },
    { "self_attn.q_proj.weight", "attn_q.weight", REQ, LQ_SHAPE_E_Q },
    { "self_attn.k_proj.weight", "attn_k.weight", REQ, LQ_SHAPE_E_KV },
    { "self_attn.v_proj.weight", "attn_v.weight", REQ, LQ_SHAPE_E_KV },
    { "self_attn.o_proj.weight", "attn_output.weight", REQ, LQ_SHAPE_Q_E },
    { "self_attn.q_norm.weight", "attn_q_norm.weight", REQ, LQ_SHAPE_D },
    { "self_attn.k_norm.weight", "attn_k_norm.weight", REQ, LQ_SHAPE_D },
    { "self_attn.rotary_emb.inv_freq", "", LQ_FT_SKIP, LQ_SHAPE_ANY },
    { "post_attention_layernorm.weight", "ffn_norm.weight", REQ, LQ_SHAPE_E },
    { "mlp.gate.weight", "ffn_gate_inp.weight", MOE, LQ_SHAPE_E_X },
    { "mlp.experts.*.down_proj.weight", "ffn_down_exps.weight", EXP, LQ_SHAPE_FX_E_X },
    { "mlp.experts.*.gate_proj.weight", "ffn_gate_exps.weight", EXP, LQ_SHAPE_E_FX_X },
    { "mlp.experts.*.up_proj.weight", "ffn_up_exps.weight", EXP, LQ_SHAPE_E_FX_X },
};

/* Phi-3: fused projections kept fused, as llama.cpp writes them (gate_up_proj is stored
 * under the name ffn_up with 2 x intermediate_size rows: gate rows first). */
static const struct lq_family_tensor phi3_layer[] = {
    { "input_layernorm.weight", "attn_norm.weight", REQ, LQ_SHAPE_E },
    { "self_attn.qkv_proj.weight", "attn_qkv.weight", REQ, LQ_SHAPE_E_QKV },
    { "self_attn.o_proj.weight", "attn_output.weight", REQ, LQ_SHAPE_Q_E },
    { "self_attn.rotary_emb.inv_freq", "", LQ_FT_SKIP, LQ_SHAPE_ANY },
    { "post_attention_layernorm.weight", "ffn_norm.weight", REQ, LQ_SHAPE_E },
    { "mlp.gate_up_proj.weight", "ffn_up.weight", REQ, LQ_SHAPE_E_2F },
    { "mlp.down_proj.weight", "ffn_down.weight", REQ, LQ_SHAPE_F_E },
};

/* Gemma: norms stored as w + 1, no output head (lm_head, when a checkpoint has one, is the
 * tied embedding and llama.cpp drops it). */
static const struct lq_family_tensor gemma_globals[] = {
    { "model.embed_tokens.weight", "token_embd.weight", REQ, LQ_SHAPE_E_V },
    { "model.norm.weight", "output_norm.weight", REQ | LQ_FT_ADD_ONE, LQ_SHAPE_E },
    { "lm_head.weight", "", LQ_FT_SKIP, LQ_SHAPE_ANY },
};

#define ONE (REQ | LQ_FT_ADD_ONE)

/* Gemma 2: a norm before and after each of attention and FFN (pre_feedforward_layernorm is
 * llama.cpp's ffn_norm). */
static const struct lq_family_tensor gemma2_layer[] = {
    { "input_layernorm.weight", "attn_norm.weight", ONE, LQ_SHAPE_E },
    { "self_attn.q_proj.weight", "attn_q.weight", REQ, LQ_SHAPE_E_Q },
    { "self_attn.k_proj.weight", "attn_k.weight", REQ, LQ_SHAPE_E_KV },
    { "self_attn.v_proj.weight", "attn_v.weight", REQ, LQ_SHAPE_E_KV },
    { "self_attn.o_proj.weight", "attn_output.weight", REQ, LQ_SHAPE_Q_E },
    { "self_attn.rotary_emb.inv_freq", "", LQ_FT_SKIP, LQ_SHAPE_ANY },
    { "post_attention_layernorm.weight", "post_attention_norm.weight", ONE, LQ_SHAPE_E },
    { "pre_feedforward_layernorm.weight", "ffn_norm.weight", ONE, LQ_SHAPE_E },
    { "post_feedforward_layernorm.weight", "post_ffw_norm.weight", ONE, LQ_SHAPE_E },
    { "mlp.gate_proj.weight", "ffn_gate.weight", REQ, LQ_SHAPE_E_F },
    { "mlp.up_proj.weight", "ffn_up.weight", REQ, LQ_SHAPE_E_F },
    { "mlp.down_proj.weight", "ffn_down.weight", REQ, LQ_SHAPE_F_E },
};

/* Gemma 3: Gemma 2's layer plus per-head q/k norms (also stored + 1). */
static const struct lq_family_tensor gemma3_layer[] = {
    { "input_layernorm.weight", "attn_norm.weight", ONE, LQ_SHAPE_E },
    { "self_attn.q_proj.weight", "attn_q.weight", REQ, LQ_SHAPE_E_Q },
    { "self_attn.k_proj.weight", "attn_k.weight", REQ, LQ_SHAPE_E_KV },
    { "self_attn.v_proj.weight", "attn_v.weight", REQ, LQ_SHAPE_E_KV },
    { "self_attn.o_proj.weight", "attn_output.weight", REQ, LQ_SHAPE_Q_E },
    { "self_attn.q_norm.weight", "attn_q_norm.weight", ONE, LQ_SHAPE_D },
    { "self_attn.k_norm.weight", "attn_k_norm.weight", ONE, LQ_SHAPE_D },
    { "self_attn.rotary_emb.inv_freq", "", LQ_FT_SKIP, LQ_SHAPE_ANY },
    { "post_attention_layernorm.weight", "post_attention_norm.weight", ONE, LQ_SHAPE_E },
    { "pre_feedforward_layernorm.weight", "ffn_norm.weight", ONE, LQ_SHAPE_E },
    { "post_feedforward_layernorm.weight", "post_ffw_norm.weight", ONE, LQ_SHAPE_E },
    { "mlp.gate_proj.weight", "ffn_gate.weight", REQ, LQ_SHAPE_E_F },
    { "mlp.up_proj.weight", "ffn_up.weight", REQ, LQ_SHAPE_E_F },
    { "mlp.down_proj.weight", "ffn_down.weight", REQ, LQ_SHAPE_F_E },
};

static const char *const llama_archs[] = { "LlamaForCausalLM", "MistralForCausalLM",
                                           "MixtralForCausalLM", NULL };
static const char *const llama_types[] = { "llama", "mistral", "mixtral", NULL };
static const char *const qwen2_archs[] = { "Qwen2ForCausalLM", NULL };
static const char *const qwen2_types[] = { "qwen2", NULL };
static const char *const qwen3_archs[] = { "Qwen3ForCausalLM", NULL };
static const char *const qwen3_types[] = { "qwen3", NULL };
static const char *const qwen3moe_archs[] = { "Qwen3MoeForCausalLM", NULL };
static const char *const qwen3moe_types[] = { "qwen3_moe", NULL };
static const char *const phi3_archs[] = { "Phi3ForCausalLM", NULL };
static const char *const phi3_types[] = { "phi3", NULL };
static const char *const gemma2_archs[] = { "Gemma2ForCausalLM", NULL };
static const char *const gemma2_types[] = { "gemma2", NULL };
static const char *const gemma3_archs[] = { "Gemma3ForCausalLM", NULL };
static const char *const gemma3_types[] = { "gemma3_text", NULL };

#define SCALING(k) LQ_ROPE_SCALING_BIT(LQ_ROPE_SCALING_##k)

static const struct lq_family families[] = {
    {
        .name = "llama", .gguf_arch = "llama", .title = "Llama / Mistral / Mixtral",
        .hf_architectures = llama_archs, .hf_model_types = llama_types,
        .layer_tensors = llama_layer, .n_layer_tensors = N(llama_layer),
        .global_tensors = globals, .n_global_tensors = N(globals),
        .keys = LQ_KEYS_TEXT_MODEL, .extra_keys = LQ_EXTRA_VOCAB_SIZE | LQ_EXTRA_ROPE_DIMS,
        .traits = { .attn_bias = false, .rope_style = LQ_ROPE_NORMAL,
                    .rope_scalings = SCALING(NONE) | SCALING(LINEAR) | SCALING(LLAMA3) |
                                     SCALING(YARN),
                    .activation = LQ_ACT_SILU },
        .recipe_70b = true,
    },
    {
        .name = "qwen2", .gguf_arch = "qwen2", .title = "Qwen2 / Qwen2.5",
        .hf_architectures = qwen2_archs, .hf_model_types = qwen2_types,
        .layer_tensors = qwen2_layer, .n_layer_tensors = N(qwen2_layer),
        .global_tensors = globals, .n_global_tensors = N(globals),
        .keys = LQ_KEYS_TEXT_MODEL,
        .traits = { .attn_bias = true, .rope_style = LQ_ROPE_NEOX,
                    .rope_scalings = SCALING(NONE) | SCALING(LINEAR) | SCALING(YARN),
                    .activation = LQ_ACT_SILU },
    },
    {
        .name = "qwen3", .gguf_arch = "qwen3", .title = "Qwen3",
        .hf_architectures = qwen3_archs, .hf_model_types = qwen3_types,
        .layer_tensors = qwen3_layer, .n_layer_tensors = N(qwen3_layer),
        .global_tensors = globals, .n_global_tensors = N(globals),
        .keys = LQ_KEYS_TEXT_MODEL,
        .traits = { .attn_qk_norm = true, .rope_style = LQ_ROPE_NEOX,
                    .rope_scalings = SCALING(NONE) | SCALING(LINEAR) | SCALING(YARN),
                    .activation = LQ_ACT_SILU },
    },
    {
        .name = "qwen3moe", .gguf_arch = "qwen3moe", .title = "Qwen3-MoE",
        .hf_architectures = qwen3moe_archs, .hf_model_types = qwen3moe_types,
        .layer_tensors = qwen3moe_layer, .n_layer_tensors = N(qwen3moe_layer),
        .global_tensors = globals, .n_global_tensors = N(globals),
        .keys = LQ_KEYS_TEXT_MODEL, .extra_keys = LQ_EXTRA_EXPERT_FF,
        .tokenizer_json_only = true,
        .traits = { .attn_qk_norm = true, .rope_style = LQ_ROPE_NEOX,
                    .rope_scalings = SCALING(NONE) | SCALING(LINEAR) | SCALING(YARN),
                    .activation = LQ_ACT_SILU },
    },
    {
        .name = "phi3", .gguf_arch = "phi3", .title = "Phi-3 / Phi-3.5 / Phi-4",
        .hf_architectures = phi3_archs, .hf_model_types = phi3_types,
        .layer_tensors = phi3_layer, .n_layer_tensors = N(phi3_layer),
        .global_tensors = globals, .n_global_tensors = N(globals),
        .keys = LQ_KEYS_PHI3,
        .traits = { .fused_qkv = true, .fused_gate_up = true, .attn_scale_q = true,
                    .rope_style = LQ_ROPE_NEOX,
                    .rope_scalings = SCALING(NONE) | SCALING(LONGROPE),
                    .activation = LQ_ACT_SILU },
    },
    {
        .name = "gemma2", .gguf_arch = "gemma2", .title = "Gemma 2",
        .hf_architectures = gemma2_archs, .hf_model_types = gemma2_types,
        .layer_tensors = gemma2_layer, .n_layer_tensors = N(gemma2_layer),
        .global_tensors = gemma_globals, .n_global_tensors = N(gemma_globals),
        .keys = LQ_KEYS_GEMMA2,
        .traits = { .rope_style = LQ_ROPE_NEOX, .rope_scalings = SCALING(NONE),
                    .attn_scale_q = true, .activation = LQ_ACT_GELU_TANH, .tied_output = true,
                    .embd_scale = true,
                    .post_norms = true, .swa_pattern = 2 },
        .spm_no_space_prefix = true,
    },
    {
        .name = "gemma3", .gguf_arch = "gemma3", .title = "Gemma 3 (text)",
        .hf_architectures = gemma3_archs, .hf_model_types = gemma3_types,
        .layer_tensors = gemma3_layer, .n_layer_tensors = N(gemma3_layer),
        .global_tensors = gemma_globals, .n_global_tensors = N(gemma_globals),
        .keys = LQ_KEYS_GEMMA3,
        .traits = { .attn_qk_norm = true, .rope_style = LQ_ROPE_NEOX,
                    .rope_scalings = SCALING(NONE) | SCALING(LINEAR),
                    .attn_scale_q = true, .activation = LQ_ACT_GELU_TANH, .tied_output = true,
                    .embd_scale = true,
                    .post_norms = true, .swa_pattern = 6, .swa_rope_base = true },
        .spm_no_space_prefix = true,
    },
};

size_t lq_family_count(void)
{
    return N(families);
}

const struct lq_family *lq_family_at(size_t i)
{
    return i < N(families) ? &families[i] : NULL;
}

static bool listed(const char *const *list, const char *s)
{
    for (; s && *list; list++) {
        if (strcmp(*list, s) == 0) {
            return true;
        }
    }
    return false;
}

const struct lq_family *lq_family_by_hf(const char *architecture, const char *model_type)
{
    for (size_t i = 0; architecture && i < N(families); i++) {
        if (listed(families[i].hf_architectures, architecture)) {
            return &families[i];
        }
    }
    if (architecture) { /* an architecture names the model; its model_type does not override */
        return NULL;
    }
    for (size_t i = 0; i < N(families); i++) {
        if (listed(families[i].hf_model_types, model_type)) {
            return &families[i];
        }
    }
    return NULL;
}

const struct lq_family *lq_family_by_gguf_arch(const char *arch)
{
    for (size_t i = 0; arch && i < N(families); i++) {
        if (strcmp(families[i].gguf_arch, arch) == 0) {
            return &families[i];
        }
    }
    return NULL;
}

void lq_family_list(char *buf, size_t cap)
{
    size_t used = 0;
    if (cap) {
        buf[0] = '\0';
    }
    for (size_t i = 0; i < N(families) && used < cap; i++) {
        used += (size_t)snprintf(buf + used, cap - used, "%s%s (", i ? ", " : "",
                                 families[i].name);
        for (const char *const *a = families[i].hf_architectures; *a && used < cap; a++) {
            used += (size_t)snprintf(buf + used, cap - used, "%s%s",
                                     a == families[i].hf_architectures ? "" : ", ", *a);
        }
        if (used < cap) {
            used += (size_t)snprintf(buf + used, cap - used, ")");
        }
    }
}

static const struct lq_family_tensor *find(const struct lq_family_tensor *t, size_t n,
                                           const char *hf)
{
    for (size_t i = 0; hf && i < n; i++) {
        if (strcmp(t[i].hf, hf) == 0) {
            return &t[i];
        }
    }
    return NULL;
}

const struct lq_family_tensor *lq_family_find_layer_tensor(const struct lq_family *f,
                                                           const char *hf_suffix)
{
    return f ? find(f->layer_tensors, f->n_layer_tensors, hf_suffix) : NULL;
}

const struct lq_family_tensor *lq_family_find_global_tensor(const struct lq_family *f,
                                                            const char *hf_name)
{
    return f ? find(f->global_tensors, f->n_global_tensors, hf_name) : NULL;
}

const char *lq_rope_scaling_name(enum lq_rope_scaling k)
{
    static const char *const names[LQ_ROPE_SCALING_COUNT] = {
        [LQ_ROPE_SCALING_NONE] = "none",     [LQ_ROPE_SCALING_LINEAR] = "linear",
        [LQ_ROPE_SCALING_LLAMA3] = "llama3", [LQ_ROPE_SCALING_YARN] = "yarn",
        [LQ_ROPE_SCALING_LONGROPE] = "longrope",
    };
    return (unsigned)k < LQ_ROPE_SCALING_COUNT ? names[k] : "unknown";
}

/* An expert entry ("mlp.experts.*.up_proj.weight") matching suffix: the expert number. */
static int expert_of(const char *pattern, const char *suffix)
{
    const char *star = strchr(pattern, '*');
    const size_t pre = (size_t)(star - pattern);
    if (strncmp(suffix, pattern, pre) != 0) {
        return -1;
    }
    const char *p = suffix + pre;
    long v = 0;
    for (; *p >= '0' && *p <= '9' && v < 1000000; p++) {
        v = v * 10 + (*p - '0');
    }
    return p > suffix + pre && strcmp(p, star + 1) == 0 ? (int)v : -1;
}

static const struct lq_family_tensor *find_expert(const struct lq_family *f, const char *suffix,
                                                  int *expert, int *rank)
{
    *rank = 0;
    for (size_t i = 0; f && i < f->n_layer_tensors; i++) {
        const struct lq_family_tensor *t = &f->layer_tensors[i];
        if (!(t->flags & LQ_FT_EXPERT)) {
            continue;
        }
        if ((*expert = expert_of(t->hf, suffix)) >= 0) {
            return t;
        }
        ++*rank;
    }
    return NULL;
}

lq_status lq_family_map_hf_name(const struct lq_family *f, const char *hf_name, int n_head,
                                int n_head_kv, struct lq_family_tensor_map *out,
                                struct lq_error *err)
{
    memset(out, 0, sizeof *out);
    out->layer = -1;
    out->expert = -1;
    const struct lq_family_tensor *t = lq_family_find_global_tensor(f, hf_name);
    int layer = -1, used = 0;
    if (!t && sscanf(hf_name, "model.layers.%d.%n", &layer, &used) == 1 && used > 0 &&
        layer >= 0) {
        t = lq_family_find_layer_tensor(f, hf_name + used);
        if (!t) {
            t = find_expert(f, hf_name + used, &out->expert, &out->stack_rank);
        }
        out->layer = layer;
    }
    if (!t) {
        return lqi_set_error(err, LQ_E_UNSUPPORTED, "tensor '%s': not part of the %s layout",
                             hf_name, f ? f->name : "(no family)");
    }
    out->row = t;
    out->skip = (t->flags & LQ_FT_SKIP) != 0;
    out->permute_heads = t->flags & LQ_FT_PERMUTE_Q ? n_head
                         : t->flags & LQ_FT_PERMUTE_K ? n_head_kv
                                                       : 0;
    if (out->layer >= 0) {
        snprintf(out->gguf_name, sizeof out->gguf_name, "blk.%d.%s", layer, t->gguf);
    } else {
        snprintf(out->gguf_name, sizeof out->gguf_name, "%s", t->gguf);
    }
    return LQ_OK;
}
