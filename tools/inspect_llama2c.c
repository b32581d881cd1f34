/* inspect_llama2c.c - the inspect view of a llama2.c checkpoint (stories260K.bin): the
 * tensors under their GGUF names, the header as metadata. */
#include <stdlib.h>

#include "inspect_priv.h"
#include "lq/llama2c.h"
#include "lq/types.h"

/* The header's hyper-parameters, as run.c's Config names them. */
static json_t *header_json(const struct lq_llama2c_config *c)
{
    return json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:b}", "dim", c->dim, "hidden_dim",
                     c->hidden_dim, "n_layers", c->n_layers, "n_heads", c->n_heads, "n_kv_heads",
                     c->n_kv_heads, "vocab_size", c->vocab_size, "seq_len", c->seq_len,
                     "shared_classifier", c->shared_classifier);
}

lq_status ivi_open_llama2c(struct inspect_view *v, struct lq_error *err)
{
    lq_llama2c *m = NULL;
    LQ_TRY_CLI(lq_llama2c_open(v->path, &m, err));
    v->impl = m;
    v->format = "llama2.c";
    v->architecture = "llama";
    v->family = lq_family_by_gguf_arch("llama");
    v->family_known = true;
    v->meta = header_json(lq_llama2c_config(m));
    LQ_TRY_CLI(ivi_alloc_tensors(v, lq_llama2c_n_tensors(m), err));
    for (int64_t i = 0; i < v->n_tensors; i++) {
        const struct lq_llama2c_tensor *ti = lq_llama2c_tensor(m, i);
        iv_tensor_set_ggml(&v->tensors[i], ti->name, (int)ti->type, ti->n_dims, ti->ne, ti->nbytes,
                           ti->file_offset, ti->data);
    }
    return LQ_OK;
}

void ivi_llama2c_close(struct inspect_view *v)
{
    lq_llama2c_free(v->impl);
}
