/* inspect_st.c - the inspect view of a safetensors file or a Hugging Face folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect_priv.h"
#include "lq/hf.h"
#include "lq/safetensors.h"
#include "lq/types.h"

/* What the view holds for these kinds: one file, or a folder and its parsed config.json. */
struct st_impl {
    lq_st *st;
    lq_hf *hf;
    json_t *config;
};

static void fill_tensor(struct iv_tensor *t, const struct lq_st_tensor_info *ti, const char *file)
{
    t->name = ti->name;
    t->lq_type = ti->lq_type;
    t->type_name = ti->dtype_name;
    t->bits = lq_st_dtype_bits(ti->dtype);
    t->n_dims = (int)ti->n_dims;
    for (uint32_t d = 0; d < ti->n_dims && d < IV_MAX_DIMS; d++) {
        t->shape[d] = ti->shape[d];
    }
    t->n_elements = ti->n_elements;
    t->nbytes = ti->nbytes;
    t->offset = ti->file_offset;
    t->data = ti->data;
    t->file = file;
}

static lq_status alloc_tensors(struct inspect_view *v, int64_t n, struct lq_error *err)
{
    v->n_tensors = n;
    v->tensors = calloc((size_t)(n ? n : 1), sizeof *v->tensors);
    return v->tensors ? LQ_OK : ivi_nomem(err);
}

lq_status ivi_open_safetensors(struct inspect_view *v, struct lq_error *err)
{
    struct st_impl *im = calloc(1, sizeof *im);
    if (!im) {
        return ivi_nomem(err);
    }
    v->impl = im;
    v->format = "safetensors";
    LQ_TRY_CLI(lq_st_open(v->path, &im->st, err));
    LQ_TRY_CLI(alloc_tensors(v, lq_st_n_tensors(im->st), err));
    for (int64_t i = 0; i < v->n_tensors; i++) {
        fill_tensor(&v->tensors[i], lq_st_tensor(im->st, i), NULL);
    }
    return LQ_OK;
}

lq_status ivi_open_hf(struct inspect_view *v, struct lq_error *err)
{
    struct st_impl *im = calloc(1, sizeof *im);
    if (!im) {
        return ivi_nomem(err);
    }
    v->impl = im;
    v->format = "Hugging Face folder";
    LQ_TRY_CLI(lq_hf_open(v->path, &im->hf, err));
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", v->path);
    im->config = json_load_file(path, 0, NULL);
    const char *arch = NULL;
    if (lq_hf_config_str(im->hf, "architectures.0", &arch, NULL) == LQ_OK ||
        lq_hf_config_str(im->hf, "model_type", &arch, NULL) == LQ_OK) {
        v->architecture = arch;
    }
    LQ_TRY_CLI(alloc_tensors(v, lq_hf_n_tensors(im->hf), err));
    for (int64_t i = 0; i < v->n_tensors; i++) {
        fill_tensor(&v->tensors[i], lq_hf_tensor(im->hf, i), lq_hf_tensor_file(im->hf, i));
    }
    return LQ_OK;
}

void ivi_st_close(struct inspect_view *v)
{
    struct st_impl *im = v->impl;
    lq_st_free(im->st);
    lq_hf_free(im->hf);
    json_decref(im->config);
    free(im);
}

int64_t ivi_st_metadata_count(const struct inspect_view *v)
{
    const struct st_impl *im = v->impl;
    return im->st ? lq_st_n_meta(im->st) : (int64_t)json_object_size(im->config);
}

void ivi_st_metadata_print(const struct inspect_view *v, FILE *f)
{
    const struct st_impl *im = v->impl;
    if (im->st) {
        for (int64_t i = 0; i < lq_st_n_meta(im->st); i++) {
            const char *val = lq_st_meta_value(im->st, i);
            char esc[1024];
            fprintf(f, "  %-44s = ", cli_esc(lq_st_meta_key(im->st, i), esc, sizeof esc));
            ivi_print_quoted(f, val, strlen(val), 80);
            fputc('\n', f);
        }
        return;
    }
    const char *key;
    json_t *val;
    json_object_foreach(im->config, key, val) {
        char *s = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
        char k[1024], raw[128], ev[1024];
        snprintf(raw, sizeof raw, "%.100s", s ? s : "?");
        fprintf(f, "  %-44s = %s%s\n", cli_esc(key, k, sizeof k), cli_esc(raw, ev, sizeof ev),
                s && strlen(s) > 100 ? "..." : "");
        free(s);
    }
}

json_t *ivi_st_metadata_json(const struct inspect_view *v)
{
    const struct st_impl *im = v->impl;
    if (!im->st) {
        return im->config ? json_deep_copy(im->config) : json_object();
    }
    json_t *o = json_object();
    for (int64_t i = 0; i < lq_st_n_meta(im->st); i++) {
        json_object_set_new(o, lq_st_meta_key(im->st, i), json_string(lq_st_meta_value(im->st, i)));
    }
    return o;
}
