/* source_impl.h - what the per-kind halves of lq_source share (internal to lq_formats). */
#ifndef LQ_SOURCE_IMPL_H
#define LQ_SOURCE_IMPL_H

#include <jansson.h>

#include "lq/family.h"
#include "lq/gguf.h"
#include "lq/hf.h"
#include "lq/llama2c.h"
#include "lq/pytorch.h"
#include "lq/source.h"
#include "name_index.h"

/* A GPTQ layer dequantized at open time (source_gptq.c). */
struct lqi_source_deq {
    char *name; /* its Hugging Face weight name ("model.layers.0.self_attn.q_proj.weight") */
    float *w;   /* (nrows, ncols) */
};

struct lq_source {
    enum lq_source_kind kind;
    char *path;
    char describe[256];
    char *vocab_path;                 /* llama2.c tokenizer chosen by the caller, or NULL */
    struct lq_llama_hparams hp;
    const struct lq_family *family;   /* the table row (Hugging Face folders; NULL otherwise) */
    int64_t n_tensors;
    struct lq_source_tensor *tensors; /* llama.cpp order */
    struct lqi_name_index index;      /* GGUF name -> tensor id, kept by add and sort */
    char **names;                     /* owned GGUF names (HF / PyTorch / llama2.c kinds) */
    float *rope_freqs;                /* generated rope_freqs.weight (Llama 3 scaling) */
    struct {                          /* config.json's rope scaling (Hugging Face folders) */
        enum lq_rope_scaling kind;
        int64_t original_context;     /* original_max_position_embeddings */
        double attn_factor;           /* longrope's attention scale */
        float *factors_long, *factors_short; /* longrope's rope_factors_long/short.weight */
    } rope;
    int64_t sliding_window;           /* Phi-3's sliding_window (0 when null) */
    lq_gguf *gguf;
    lq_hf *hf;
    lq_llama2c *l2c;
    lq_pt **pts;                      /* pytorch_model.bin shards */
    char **pt_paths;
    int64_t n_pts;
    struct lqi_source_deq *deq;       /* GPTQ layers, up to n_tensors of the folder */
    int64_t n_deq;
    void **owned;                     /* stacks' part arrays and names (source_experts.c) */
    int64_t n_owned, cap_owned;
};

lq_status lqi_source_open_gguf(struct lq_source *s, struct lq_error *err);
lq_status lqi_source_open_hf(struct lq_source *s, bool pytorch, struct lq_error *err);
lq_status lqi_source_open_llama2c(struct lq_source *s, struct lq_error *err);

lq_status lqi_source_meta_gguf(const struct lq_source *s, lq_gguf_writer *w, struct lq_error *err);
lq_status lqi_source_meta_hf(const struct lq_source *s, lq_gguf_writer *w, struct lq_error *err);
lq_status lqi_source_meta_llama2c(const struct lq_source *s, lq_gguf_writer *w,
                                  struct lq_error *err);

/* Adds the tensors of pytorch_model.bin (or its shards) under their GGUF names. */
lq_status lqi_source_add_pytorch(struct lq_source *s, struct lq_error *err);

/* One Hugging Face tensor (shape in file order, outermost first) under its GGUF name, checked
 * against config.json. */
lq_status lqi_source_add_hf_tensor(struct lq_source *s, const char *src_name, const char *file,
                                   int lq_type, const char *dtype, uint32_t n_dims,
                                   const int64_t *shape, const void *data, size_t nbytes,
                                   struct lq_error *err);

/* One expert's matrix of a Hugging Face folder (shape in file order). */
struct lqi_hf_part {
    const char *src_name, *file;
    int lq_type;
    uint32_t n_dims;
    const int64_t *shape;
    const void *data;
    size_t nbytes;
};

/* Adds expert m->expert of the stacked tensor m->gguf_name (created by its first expert),
 * checking it against the others (source_experts.c). */
lq_status lqi_source_add_expert(struct lq_source *s, const struct lq_family_tensor_map *m,
                                const struct lqi_hf_part *part, struct lq_error *err);

/* Once every tensor is added: each stack must have all its experts; sets where llama.cpp's
 * converter writes the stacks (after the last expert tensor of their layer). */
lq_status lqi_source_finish_experts(struct lq_source *s, struct lq_error *err);

/* GPTQ folders: whether a tensor name is one of a GPTQ layer's side tensors (qzeros, scales,
 * g_idx), and adding the dequantized layer of the qweight tensor i of s->hf. */
bool lqi_source_gptq_part(const char *name);
lq_status lqi_source_add_gptq(struct lq_source *s, int64_t i, struct lq_error *err);

/* The tokenizer.ggml.* keys of a BPE tokenizer.json held in memory (len bytes), for a
 * vocabulary of n_vocab ids: what the folder's tokenizer.json becomes (and the fuzz target's
 * entry point). spm_as_gemma4: see lqi_source_tokenizer_json. Messages name `name`. */
lq_status lqi_source_bpe_json(const char *text, size_t len, const char *name, int64_t n_vocab,
                              bool spm_as_gemma4, lq_gguf_writer *w, struct lq_error *err);
/* The vocabulary keys of a parsed tokenizer.json (source_tok_json.c): byte-level BPE for
 * n_vocab ids (0: as many as its ids), or SentencePiece-style BPE (*spm_style, for as many
 * ids as it has) written as llama.cpp's "gemma4" model (spm_as_gemma4) or "llama" model.
 * *n_tokens: the ids written. tok_config (tokenizer_config.json, may be NULL) says which
 * tokens are special. Messages name path. */
lq_status lqi_source_tokenizer_json(const json_t *root, const json_t *tok_config, int64_t n_vocab,
                                    const char *path, bool spm_as_gemma4, lq_gguf_writer *w,
                                    bool *spm_style, int64_t *n_tokens, struct lq_error *err);

/* The pre-tokenizer name (tokenizer.ggml.pre) of a byte-level BPE tokenizer.json, recognised
 * from its pre_tokenizer (source_tok_pre.c); LQ_E_UNSUPPORTED for one not in the table. */
lq_status lqi_source_bpe_pre_name(const json_t *root, const char *path, const char **name,
                                  struct lq_error *err);

/* Special token ids, add_*_token flags and the chat template from tokenizer.json (may be
 * NULL), tokenizer_config.json (may be NULL) and config.json, as llama.cpp's SpecialVocab
 * (source_tok_special.c); ids at or past n_vocab are left out. */
lq_status lqi_source_write_specials(lq_hf *hf, const json_t *tok_json, const json_t *tok_config,
                                    int64_t n_vocab, lq_gguf_writer *w, struct lq_error *err);

/* Where a source's hyper-parameters came from, for messages: the file and each value's key as
 * that file spells it ("num_hidden_layers", "llama.block_count", "n_layers"). */
struct lqi_hparam_keys {
    const char *file;
    const char *n_vocab, *n_embd, *n_layer, *n_ff, *n_head, *n_head_kv, *head_dim;
    const char *n_ctx_train, *rope_freq_base, *norm_eps;
    const char *n_expert, *n_expert_used, *n_ff_exp; /* mixture-of-experts models */
    bool head_dim_implied; /* head_dim is n_embd / n_head, which must then be exact */
};

/* The one validator (source_check.c) every Llama loader calls once its tensors are listed:
 * ranges of s->hp, then agreement with the tensors (layer count, every layer complete, matrix
 * and norm shapes, rope_freqs length). LQ_E_FORMAT naming file, key and both values. */
lq_status lqi_source_check_hparams(const struct lq_source *s, const struct lqi_hparam_keys *k,
                                   struct lq_error *err);

/* The range part of it alone, for loaders that need sane values before listing tensors
 * (head counts size the q/k permutation). */
lq_status lqi_source_check_ranges(const struct lq_llama_hparams *hp,
                                  const struct lqi_hparam_keys *k, struct lq_error *err);

/* A positive real that a GGUF float32 key can hold (key, as spelt in k->file). */
lq_status lqi_source_check_real(const struct lqi_hparam_keys *k, const char *key, double v,
                                struct lq_error *err);

/* A tokenizer read from `file` with n_pieces pieces must fit the vocabulary (vocab_key). */
lq_status lqi_source_check_pieces(const struct lq_source *s, const char *file, int64_t n_pieces,
                                  const char *vocab_key, struct lq_error *err);

/* Writes the tokenizer keys of a Hugging Face folder as llama.cpp's Llama converter does. */
lq_status lqi_source_write_tokenizer(const struct lq_source *s, lq_gguf_writer *w,
                                     struct lq_error *err);

/* The same, for families whose llama.cpp converter differs: LQI_TOK_JSON_ONLY reads
 * tokenizer.json even when a tokenizer.model lies beside it (Qwen3-MoE, ...);
 * LQI_TOK_SPM_AS_GEMMA4 writes a SentencePiece-style tokenizer.json as the "gemma4" model. */
enum { LQI_TOK_JSON_ONLY = 1, LQI_TOK_SPM_AS_GEMMA4 = 2 };
lq_status lqi_source_write_tokenizer_as(const struct lq_source *s, unsigned flags,
                                        lq_gguf_writer *w, struct lq_error *err);

/* Allocates the tensor table (n entries, zeroed), the owned-name table and the name index. */
lq_status lqi_source_alloc(struct lq_source *s, int64_t n, struct lq_error *err);

/* Rebuilds the name index from s->tensors (after filling the table directly, or reordering). */
void lqi_source_reindex(struct lq_source *s);

/* Sorts s->tensors into llama.cpp's order (outside blocks first, then block, then name). */
void lqi_source_sort(struct lq_source *s);

/* Writes general.name / basename / finetune / size_label derived from a model's folder or
 * file name, as llama.cpp's converter does for the simple "base-name-Tag" case. */
lq_status lqi_source_write_names(const struct lq_source *s, lq_gguf_writer *w, const char *stem,
                                 struct lq_error *err);

/* Writes general.name, basename, finetune, size_label, ... of a Hugging Face folder as
 * llama.cpp's converter derives them (model card, _name_or_path, folder name). */
lq_status lqi_source_write_hf_names(const struct lq_source *s, lq_gguf_writer *w,
                                    struct lq_error *err);

/* Parameters of the stored tensors (generated rope factors excluded), and llama.cpp's size
 * label for a count ("6.8M", "8.0B"). */
int64_t lqi_source_total_params(const struct lq_source *s);
void lqi_size_label(int64_t n, char *buf, size_t cap);
/* The size label of a source's tensors, as gguf-py counts them (experts: "8x7.2B"). */
void lqi_source_size_label(const struct lq_source *s, char *buf, size_t cap);

/* "rope_parameters" when config.json has it, else "rope_scaling": where the scaling lives. */
const char *lqi_source_rope_object(const struct lq_source *s);

/* Writes the llama.* architecture keys from the hyper-parameters. */
lq_status lqi_source_write_llama_keys(const struct lq_source *s, lq_gguf_writer *w,
                                      struct lq_error *err);

#endif
