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
    v->meta = header_json(lq_llama2c_config(m));
    LQ_TRY_CLI(ivi_alloc_tensors(v, lq_llama2c_n_tensors(m), err));
    for (int64_t i = 0; i < v->n_tensors; i++) {
        const struct lq_llama2c_tensor *ti = lq_llama2c_tensor(m, i);
        struct iv_tensor *t = &v->tensors[i];
        t->name = ti->name;
        t->lq_type = (int)ti->type;
        t->type_name = lq_type_name(ti->type);
        t->bits = lq_type_bpw(ti->type);
        t->n_dims = (int)ti->n_dims;
        t->n_elements = 1;
        for (uint32_t d = 0; d < ti->n_dims; d++) {
            t->shape[d] = ti->ne[d];
            t->n_elements *= ti->ne[d];
        }
        t->n_params = t->n_elements;
        t->nbytes = ti->nbytes;
        t->offset = ti->file_offset;
        t->data = ti->data;
    }
    return LQ_OK;
}

void ivi_llama2c_close(struct inspect_view *v)
{
    lq_llama2c_free(v->impl);
}
