/* inspect_priv.h - what the per-format halves of the inspect view share. */
#ifndef LQ_INSPECT_PRIV_H
#define LQ_INSPECT_PRIV_H

#include "cli.h"
#include "inspect_view.h"
#include "lq/hf.h"

/* Which reader a view holds (inspect_view.kind). */
enum { IV_GGUF, IV_SAFETENSORS, IV_HF, IV_PYTORCH, IV_LLAMA2C };

lq_status ivi_nomem(struct lq_error *err);

/* A JSON file of a model folder through lq_input_member/lq_input_open (a link out of the folder
 * or a FIFO is refused, naming the path). */
lq_status ivi_load_json(const char *dir, const char *name, json_t **out, struct lq_error *err);
void ivi_print_quoted(FILE *f, const char *s, size_t len, size_t max);
lq_status ivi_alloc_tensors(struct inspect_view *v, int64_t n, struct lq_error *err);

/* Copies a torch-order shape (outermost first) into t->shape in GGUF order and sets
 * n_elements and n_params. */
void ivi_set_torch_shape(struct iv_tensor *t, const int64_t *shape, uint32_t n_dims);

/* Loads DIR/config.json into v->meta and sets v->architecture from it (architectures[0],
 * else model_type); a folder without a readable config keeps no metadata. */
void ivi_read_config(struct inspect_view *v, const lq_hf *hf);

/* Metadata held as a JSON object (config.json, a llama2.c header): printed one key a line. */
void ivi_json_metadata_print(const json_t *o, FILE *f);

/* Fills v->tok (inspect_tok.c). */
void ivi_read_tokenizer(struct inspect_view *v);

lq_status ivi_open_gguf(struct inspect_view *v, struct lq_error *err);
void ivi_gguf_metadata_print(const struct inspect_view *v, FILE *f);
json_t *ivi_gguf_metadata_json(const struct inspect_view *v);
int64_t ivi_gguf_metadata_count(const struct inspect_view *v);
void ivi_gguf_close(struct inspect_view *v);

lq_status ivi_open_safetensors(struct inspect_view *v, struct lq_error *err);
lq_status ivi_open_hf(struct inspect_view *v, struct lq_error *err);
void ivi_st_metadata_print(const struct inspect_view *v, FILE *f);
json_t *ivi_st_metadata_json(const struct inspect_view *v);
int64_t ivi_st_metadata_count(const struct inspect_view *v);
void ivi_st_close(struct inspect_view *v);

/* pytorch_model.bin alone (pytorch_dir false) or a folder with config.json and
 * pytorch_model.bin or its shards (inspect_pt.c); llama2.c checkpoints (inspect_llama2c.c).
 * Like Hugging Face folders, their metadata is the JSON object v->meta (config.json, the
 * llama2.c header). */
lq_status ivi_open_pytorch(struct inspect_view *v, bool pytorch_dir, struct lq_error *err);
void ivi_pt_close(struct inspect_view *v);
lq_status ivi_open_llama2c(struct inspect_view *v, struct lq_error *err);
void ivi_llama2c_close(struct inspect_view *v);

#endif
