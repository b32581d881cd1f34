/*
 * lq/family.h - THE table of model families: one row per family says how a Hugging Face
 * checkpoint of it becomes llama.cpp's GGUF, and what its forward pass needs.
 *
 * A row holds:
 *  - who it is: the Hugging Face `architectures` names and `model_type` values it accepts,
 *    and the GGUF architecture name (general.architecture, the prefix of its keys);
 *  - the tensor map: Hugging Face names (per layer "self_attn.q_proj.weight", global
 *    "model.norm.weight") -> GGUF names ("attn_q.weight", "output_norm.weight"), each with
 *    flags: the q/k row permutation for rotary layout (Llama only), fused tensors that are
 *    kept fused (Phi-3's qkv_proj -> attn_qkv, gate_up_proj -> ffn_up: llama.cpp splits
 *    neither), optional tensors (biases);
 *  - how config.json becomes GGUF keys (which key list, in llama.cpp's converter's order);
 *  - the forward pass's traits: q/k/v biases, per-head q/k RMS norms, rotary style
 *    (interleaved pairs vs NEOX halves), the rope scalings it accepts, activation, fused
 *    projections, tied output.
 *
 * The converter, the source validator, the recipe, the model loader and the forward pass all
 * read this table; adding a family is a row here plus code for what is genuinely new in it.
 * Families are looked up by Hugging Face architecture/model_type (converting a folder) or by
 * GGUF architecture name (loading a GGUF: general.architecture).
 *
 * Mixture-of-experts rows (Mixtral: llama's row, as in llama.cpp; Qwen3-MoE) list the
 * router and one entry per expert matrix with '*' for the expert number: the source stacks
 * the experts into llama.cpp's 3-D ffn_{gate,up,down}_exps tensors.
 */
#ifndef LQ_FAMILY_H
#define LQ_FAMILY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How rotary position embedding pairs the dimensions of a head (the eval side's
 * lq_model_hparams.rope_type uses the same enum). */
enum lq_rope_type {
    LQ_ROPE_NORMAL = 0, /* neighbours (x[2i], x[2i+1]): llama.cpp's LLAMA_ROPE_TYPE_NORM; the
                         * converter permutes Hugging Face's q/k rows into this layout */
    LQ_ROPE_NEOX = 2,   /* halves (x[i], x[i + n_rot/2]) as Hugging Face computes it: no
                         * permutation (llama.cpp's LLAMA_ROPE_TYPE_NEOX = 2) */
};

/* Rope scaling of one model (config.json rope_scaling.type / rope_type). */
enum lq_rope_scaling {
    LQ_ROPE_SCALING_NONE = 0,
    LQ_ROPE_SCALING_LINEAR,   /* positions divided by factor: {arch}.rope.scaling.* keys */
    LQ_ROPE_SCALING_LLAMA3,   /* per-frequency factors: the rope_freqs.weight tensor */
    LQ_ROPE_SCALING_YARN,     /* {arch}.rope.scaling.* keys (yarn factor, original context) */
    LQ_ROPE_SCALING_LONGROPE, /* Phi-3: rope_factors_long/short.weight tensors (short used while
                               * the context is <= original_context_length) and attn_factor */
    LQ_ROPE_SCALING_COUNT
};
#define LQ_ROPE_SCALING_BIT(k) (1u << (k))

/* Name as config.json spells it ("llama3", "longrope"); "none" for NONE. */
LQ_API const char *lq_rope_scaling_name(enum lq_rope_scaling k);

/* The gated FFN's activation: down(act(gate(x)) * up(x)). */
enum lq_activation {
    LQ_ACT_SILU = 0,
    LQ_ACT_GELU_TANH, /* Gemma (issue 19) */
};

/* Flags of one tensor-map entry. */
enum lq_family_tensor_flags {
    LQ_FT_REQUIRED = 1u << 0,  /* every layer must have it (the validator checks) */
    LQ_FT_PERMUTE_Q = 1u << 1, /* rows permuted for rotary layout by num_attention_heads */
    LQ_FT_PERMUTE_K = 1u << 2, /* ... by num_key_value_heads */
    LQ_FT_SKIP = 1u << 3,      /* not stored in GGUF (rotary inv_freq buffers) */
    LQ_FT_DENSE = 1u << 4,     /* required only in dense models (expert_count 0): the FFN */
    LQ_FT_MOE = 1u << 5,       /* required only in mixture-of-experts models: router, experts */
    LQ_FT_EXPERT = 1u << 6,    /* one expert's matrix: the HF name holds '*' for the expert
                                * number; the experts are stacked into one 3-D GGUF tensor
                                * (ne[2] = expert_count) in expert order */
    LQ_FT_ADD_ONE = 1u << 7,   /* Gemma norms: Hugging Face scales by (1 + w); llama.cpp's
                                * converter stores w + 1 (computed in float32) */
};

/* What the GGUF tensor's shape must be, for the validator (GGUF order: ne[0] = row length).
 * E = hidden_size, F = intermediate_size, Q = heads x head_dim, KV = kv heads x head_dim,
 * D = head_dim, V = vocab_size. */
enum lq_family_shape {
    LQ_SHAPE_ANY = 0,
    LQ_SHAPE_E,         /* [E]: norms */
    LQ_SHAPE_E_Q,       /* [E, Q]: attn_q */
    LQ_SHAPE_E_KV,      /* [E, KV]: attn_k, attn_v */
    LQ_SHAPE_Q_E,       /* [Q, E]: attn_output */
    LQ_SHAPE_E_QKV,     /* [E, Q + 2 KV]: fused attn_qkv */
    LQ_SHAPE_E_F,       /* [E, F]: ffn_gate, ffn_up */
    LQ_SHAPE_E_2F,      /* [E, 2 F]: fused gate+up stored as ffn_up (Phi-3) */
    LQ_SHAPE_F_E,       /* [F, E]: ffn_down */
    LQ_SHAPE_Q,         /* [Q]: attn_q.bias */
    LQ_SHAPE_KV,        /* [KV]: attn_k.bias, attn_v.bias */
    LQ_SHAPE_D,         /* [D]: per-head q/k norms */
    LQ_SHAPE_E_V,       /* [E, V]: token_embd, output */
    LQ_SHAPE_E_X,       /* [E, X]: the router ffn_gate_inp (X = expert count) */
    LQ_SHAPE_E_FX_X,    /* [E, FX, X]: stacked ffn_gate_exps, ffn_up_exps (FX = the expert
                         * FFN size: moe_intermediate_size, else intermediate_size) */
    LQ_SHAPE_FX_E_X,    /* [FX, E, X]: stacked ffn_down_exps */
};

/* One Hugging Face tensor -> its GGUF name. Per-layer entries are suffixes after
 * "model.layers.N." / "blk.N."; global entries are whole names. */
struct lq_family_tensor {
    const char *hf;
    const char *gguf;
    unsigned flags;             /* enum lq_family_tensor_flags */
    enum lq_family_shape shape;
};

/* Which list of {arch}.* keys the converter writes, in llama.cpp's converter's order. */
enum lq_family_keys {
    LQ_KEYS_TEXT_MODEL = 0, /* llama.cpp's TextModel.set_gguf_parameters: block_count,
                             * context_length, embedding/feed_forward length, head counts,
                             * rope scaling, freq_base, rms epsilon, key/value_length when
                             * config.json has head_dim, then general.file_type */
    LQ_KEYS_PHI3,           /* Phi3MiniModel's own list (original context, rope dimension
                             * count, file type, sliding_window) */
    LQ_KEYS_GEMMA2,         /* Gemma2Model's own list (context first, key/value length, file
                             * type, then the two soft-caps and sliding_window) */
    LQ_KEYS_GEMMA3,         /* the text-model list with rope.freq_base_swa (local layers'
                             * base), then the final soft-cap when set and sliding_window */
};

/* Keys written after the key list (before general.quantization_version). */
enum lq_family_extra_keys {
    LQ_EXTRA_VOCAB_SIZE = 1u << 0, /* {arch}.vocab_size (Llama) */
    LQ_EXTRA_ROPE_DIMS = 1u << 1,  /* {arch}.rope.dimension_count (Llama) */
    LQ_EXTRA_EXPERT_FF = 1u << 2,  /* {arch}.expert_feed_forward_length from
                                    * moe_intermediate_size (Qwen2/3-MoE) */
};


/* What the forward pass does differently per family (one function, these as branches). */
struct lq_family_traits {
    bool attn_bias;            /* q/k/v projections add biases (Qwen2; optional in Llama) */
    bool attn_qk_norm;         /* per-head RMS norm of q and k before rope (Qwen3) */
    bool fused_qkv;            /* attn_qkv.weight holds q rows, then k, then v (Phi-3) */
    bool fused_gate_up;        /* ffn_up.weight holds gate rows then up rows (Phi-3) */
    bool attn_scale_q;         /* 1/sqrt(head size) multiplies q after rope, not the scores
                                * (llama.cpp's Phi-3 graph: the same up to rounding) */
    enum lq_rope_type rope_style;
    unsigned rope_scalings;    /* LQ_ROPE_SCALING_BIT()s the family accepts */
    enum lq_activation activation;
    bool tied_output;          /* no output.weight: token_embd is the output head (any family
                                * may be tied; this says the family always is, Gemma) */
    /* Gemma 2/3 (llama.cpp's gemma2/gemma3 graphs) */
    bool embd_scale;           /* token embeddings multiplied by sqrt(n_embd) */
    bool post_norms;           /* post_attention_norm / post_ffw_norm on each branch's output
                                * (ffn_norm is the pre-FFN norm) */
    int swa_pattern;           /* sliding-window layers: every layer il with
                                * il % swa_pattern < swa_pattern - 1 (0: none) */
    bool swa_rope_base;        /* local layers rotate with rope.freq_base_swa (Gemma 3) */
};

struct lq_family {
    const char *name;                   /* our name: "llama", "qwen2", "qwen3", "phi3" */
    const char *gguf_arch;              /* general.architecture */
    const char *title;                  /* "Qwen2 / Qwen2.5" (tables, inspect) */
    const char *const *hf_architectures; /* NULL-terminated ("Qwen2ForCausalLM") */
    const char *const *hf_model_types;   /* NULL-terminated ("qwen2") */
    const struct lq_family_tensor *layer_tensors;
    size_t n_layer_tensors;
    const struct lq_family_tensor *global_tensors;
    size_t n_global_tensors;
    enum lq_family_keys keys;
    unsigned extra_keys;                /* enum lq_family_extra_keys */
    struct lq_family_traits traits;
    bool tokenizer_json_only;           /* llama.cpp's converter reads tokenizer.json even
                                         * beside a tokenizer.model (Qwen3-MoE) */
    /* recipe (llama_tensor_get_type) rules that depend on the architecture */
    bool recipe_70b;                    /* llama.cpp infers its 70B type (80 layers with GQA:
                                         * attn_v gets more bits) for this architecture only */
    bool spm_no_space_prefix;           /* tokenizer.model families whose converter writes
                                         * tokenizer.ggml.add_space_prefix false (Gemma) */
};

/* Number of rows and row i (i < lq_family_count()). */
LQ_API size_t lq_family_count(void);
LQ_API const struct lq_family *lq_family_at(size_t i);

/* By Hugging Face config.json: `architecture` (architectures[0], may be NULL) first, else
 * `model_type` (may be NULL). NULL when no row accepts them. */
LQ_API const struct lq_family *lq_family_by_hf(const char *architecture, const char *model_type);

/* By GGUF general.architecture ("qwen2"). NULL when unknown. */
LQ_API const struct lq_family *lq_family_by_gguf_arch(const char *arch);

/* "llama (LlamaForCausalLM, MistralForCausalLM), qwen2 (Qwen2ForCausalLM), ...": the list an
 * "unsupported architecture" message shows, generated from the table. Truncated to cap. */
LQ_API void lq_family_list(char *buf, size_t cap);

/* The tensor-map entry for a per-layer suffix ("self_attn.q_proj.weight") or a global HF
 * name; NULL when the family has none. */
LQ_API const struct lq_family_tensor *lq_family_find_layer_tensor(const struct lq_family *f,
                                                                  const char *hf_suffix);
LQ_API const struct lq_family_tensor *lq_family_find_global_tensor(const struct lq_family *f,
                                                                   const char *hf_name);

/* What one Hugging Face tensor becomes in GGUF. */
struct lq_family_tensor_map {
    char gguf_name[96];
    int layer;                          /* block number, -1 for global tensors */
    int permute_heads;                  /* 0, or the head count of the q/k row permutation */
    int expert;                         /* LQ_FT_EXPERT rows: the expert number, else -1 */
    int stack_rank;                     /* LQ_FT_EXPERT rows: which of the layer's stacked
                                         * tensors (table order: llama.cpp's write order) */
    bool skip;                          /* not stored in GGUF */
    const struct lq_family_tensor *row; /* the table entry */
};

/* Maps a Hugging Face tensor name ("model.layers.3.self_attn.q_proj.weight") through family
 * f to its GGUF name ("blk.3.attn_q.weight"). n_head / n_head_kv give the permutation head
 * counts. LQ_E_UNSUPPORTED naming the tensor and the family for names outside its layout. */
LQ_API lq_status lq_family_map_hf_name(const struct lq_family *f, const char *hf_name,
                                       int n_head, int n_head_kv,
                                       struct lq_family_tensor_map *out, struct lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LQ_FAMILY_H */
