/* source_experts.c - mixture-of-experts checkpoints: the per-expert matrices of a Hugging Face
 * folder ("model.layers.0.mlp.experts.3.up_proj.weight") presented as llama.cpp's stacked 3-D
 * tensors (blk.0.ffn_up_exps.weight, ne[2] = expert count). Nothing is copied: a stack keeps
 * one pointer per expert into the mapped files, and reading it gathers them, so converting
 * holds at most one stack at a time. */
#include <stdio.h>
#include <string.h>

#include "lqi.h"
#include "source_impl.h"

static lq_status own(struct lq_source *s, void *p, struct lq_error *err)
{
    if (s->n_owned == s->cap_owned) {
        int64_t cap = s->cap_owned ? 2 * s->cap_owned : 64;
        void **grown = p ? lqi_realloc(s->owned, (size_t)cap * sizeof *grown) : NULL;
        if (!grown) {
            lqi_free(p);
            return lqi_set_error(err, LQ_E_NOMEM, "%s: out of memory", s->path);
        }
        s->owned = grown;
        s->cap_owned = cap;
    }
    LQ_FAIL_IF(!p, err, LQ_E_NOMEM, "%s: out of memory", s->path);
    s->owned[s->n_owned++] = p;
    return LQ_OK;
}

/* A new stack for the first expert seen of it: shape and type from that expert. */
static lq_status new_stack(struct lq_source *s, const struct lq_family_tensor_map *m,
                           const struct lqi_hf_part *p, struct lq_error *err)
{
    const int n_exp = s->hp.n_expert;
    size_t total;
    LQ_FAIL_IF(__builtin_mul_overflow(p->nbytes, (size_t)n_exp, &total), err, LQ_E_FORMAT,
               "%s: tensor '%s': %d experts of %zu bytes overflow", p->file, p->src_name, n_exp,
               p->nbytes);
    char pattern[160];
    snprintf(pattern, sizeof pattern, "model.layers.%d.%s", m->layer, m->row->hf);
    char *name = lqi_strdup(m->gguf_name), *src = lqi_strdup(pattern);
    LQ_TRY(own(s, name, err));
    LQ_TRY(own(s, src, err));
    const void **parts = lqi_calloc((size_t)n_exp, sizeof *parts);
    LQ_TRY(own(s, (void *)parts, err));
    const int64_t id = s->n_tensors++;
    LQ_FAIL_IF(lqi_name_index_insert(&s->index, name, strlen(name), id) >= 0, err, LQ_E_FORMAT,
               "%s: tensor '%s' appears twice", p->file, name);
    struct lq_source_tensor *t = &s->tensors[id];
    t->name = name;
    t->src_name = src;
    t->file = p->file;
    t->n_dims = 3;
    t->ne[0] = p->shape[1];
    t->ne[1] = p->shape[0];
    t->ne[2] = n_exp;
    t->ne[3] = 1;
    t->type = (enum lq_type)p->lq_type;
    t->nbytes = total;
    t->parts = parts;
    t->order_rank = m->stack_rank;
    return LQ_OK;
}

lq_status lqi_source_add_expert(struct lq_source *s, const struct lq_family_tensor_map *m,
                                const struct lqi_hf_part *p, struct lq_error *err)
{
    LQ_FAIL_IF(s->hp.n_expert <= 0 || m->expert >= s->hp.n_expert, err, LQ_E_FORMAT,
               "%s: tensor '%s' is expert %d, but config.json gives %d experts", p->file,
               p->src_name, m->expert, s->hp.n_expert);
    LQ_FAIL_IF(p->n_dims != 2, err, LQ_E_FORMAT, "%s: tensor '%s': %u dimensions, an expert's "
               "matrix has 2", p->file, p->src_name, p->n_dims);
    int64_t id = lqi_name_index_find(&s->index, m->gguf_name, strlen(m->gguf_name));
    if (id < 0) {
        LQ_TRY(new_stack(s, m, p, err));
        id = s->n_tensors - 1;
    }
    struct lq_source_tensor *t = &s->tensors[id];
    LQ_FAIL_IF(!t->parts, err, LQ_E_FORMAT, "%s: tensor '%s' appears twice", p->file,
               t->name);
    LQ_FAIL_IF(t->ne[0] != p->shape[1] || t->ne[1] != p->shape[0] ||
                   t->type != (enum lq_type)p->lq_type,
               err, LQ_E_FORMAT,
               "%s: tensor '%s' is [%lld, %lld] %s, but the other experts of '%s' are "
               "[%lld, %lld] %s", p->file, p->src_name, (long long)p->shape[0],
               (long long)p->shape[1], lq_type_name((enum lq_type)p->lq_type), t->name,
               (long long)t->ne[1], (long long)t->ne[0], lq_type_name(t->type));
    LQ_FAIL_IF(t->parts[m->expert], err, LQ_E_FORMAT, "%s: tensor '%s' appears twice", p->file,
               p->src_name);
    t->parts[m->expert] = p->data;
    /* llama.cpp's converter writes the stacks once the layer's last expert tensor arrives */
    if (!t->order_name || strcmp(p->file, t->order_file) > 0 ||
        (strcmp(p->file, t->order_file) == 0 && strcmp(p->src_name, t->order_name) > 0)) {
        t->order_file = p->file;
        t->order_name = p->src_name;
    }
    return LQ_OK;
}

static int layer_of(const char *name)
{
    int l = -1;
    return sscanf(name, "blk.%d.", &l) == 1 ? l : -1;
}

static bool later(const struct lq_source_tensor *a, const struct lq_source_tensor *b)
{
    int c = strcmp(a->order_file, b->order_file);
    return c > 0 || (c == 0 && strcmp(a->order_name, b->order_name) > 0);
}

lq_status lqi_source_finish_experts(struct lq_source *s, struct lq_error *err)
{
    for (int64_t i = 0; i < s->n_tensors; i++) {
        struct lq_source_tensor *t = &s->tensors[i];
        if (!t->parts) {
            continue;
        }
        for (int e = 0; e < s->hp.n_expert; e++) {
            LQ_FAIL_IF(!t->parts[e], err, LQ_E_FORMAT,
                       "%s: '%s' has no expert %d (config.json gives %d experts)", s->path,
                       t->src_name, e, s->hp.n_expert);
        }
        t->data = t->parts[0];
    }
    /* every stack of a layer comes after the layer's last expert tensor, in table order */
    for (int64_t i = 0; i < s->n_tensors; i++) {
        struct lq_source_tensor *t = &s->tensors[i];
        for (int64_t j = 0; t->parts && j < s->n_tensors; j++) {
            const struct lq_source_tensor *u = &s->tensors[j];
            if (u->parts && layer_of(u->name) == layer_of(t->name) && later(u, t)) {
                t->order_file = u->order_file;
                t->order_name = u->order_name;
            }
        }
    }
    return LQ_OK;
}
