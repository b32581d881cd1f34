/* source_impl.h - what the per-kind halves of lq_source share (internal to lq_formats). */
#ifndef LQ_SOURCE_IMPL_H
#define LQ_SOURCE_IMPL_H

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
    int64_t n_tensors;
    struct lq_source_tensor *tensors; /* llama.cpp order */
    struct lqi_name_index index;      /* GGUF name -> tensor id, kept by add and sort */
    char **names;                     /* owned GGUF names (HF / PyTorch / llama2.c kinds) */
    float *rope_freqs;                /* generated rope_freqs.weight (Llama 3 scaling) */
    lq_gguf *gguf;
    lq_hf *hf;
    lq_llama2c *l2c;
    lq_pt **pts;                      /* pytorch_model.bin shards */
    char **pt_paths;
    int64_t n_pts;
    struct lqi_source_deq *deq;       /* GPTQ layers, up to n_tensors of the folder */
    int64_t n_deq;
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

/* GPTQ folders: whether a tensor name is one of a GPTQ layer's side tensors (qzeros, scales,
 * g_idx), and adding the dequantized layer of the qweight tensor i of s->hf. */
bool lqi_source_gptq_part(const char *name);
lq_status lqi_source_add_gptq(struct lq_source *s, int64_t i, struct lq_error *err);

/* The tokenizer.ggml.* keys of a byte-level BPE tokenizer.json held in memory (len bytes), for
 * a vocabulary of n_vocab ids: what the folder's tokenizer.json becomes (and the fuzz target's
 * entry point). Messages name `name`. */
lq_status lqi_source_bpe_json(const char *text, size_t len, const char *name, int64_t n_vocab,
                              lq_gguf_writer *w, struct lq_error *err);

/* Writes the tokenizer keys of a Hugging Face folder. */
lq_status lqi_source_write_tokenizer(const struct lq_source *s, lq_gguf_writer *w,
                                     struct lq_error *err);

/* Allocates the tensor table (n entries, zeroed), the owned-name table and the name index. */
lq_status lqi_source_alloc(struct lq_source *s, int64_t n, struct lq_error *err);

/* Sorts s->tensors into llama.cpp's order (outside blocks first, then block, then name). */
void lqi_source_sort(struct lq_source *s);

/* Writes general.name / basename / finetune / size_label derived from a model's folder or
 * file name, as llama.cpp's converter does for the simple "base-name-Tag" case. */
lq_status lqi_source_write_names(const struct lq_source *s, lq_gguf_writer *w, const char *stem,
                                 struct lq_error *err);

/* Writes the llama.* architecture keys from the hyper-parameters. */
lq_status lqi_source_write_llama_keys(const struct lq_source *s, lq_gguf_writer *w,
                                      struct lq_error *err);

#endif
