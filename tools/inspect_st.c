/* inspect_st.c - the inspect view of a safetensors file or a Hugging Face folder (GPTQ
 * folders included: a packed qweight counts as its unpacked weights). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inspect_priv.h"
#include "lq/file_io.h"
#include "lq/hf.h"
#include "lq/safetensors.h"
#include "lq/types.h"

/* What the view holds for these kinds: one file, or a folder (its config.json is v->meta). */
struct st_impl {
    lq_st *st;
    lq_hf *hf;
};

static void fill_tensor(struct iv_tensor *t, const struct lq_st_tensor_info *ti, const char *file)
{
    t->name = ti->name;
    t->lq_type = ti->lq_type;
    t->type_name = ti->dtype_name;
    t->bits = lq_st_dtype_bits(ti->dtype);
    ivi_set_torch_shape(t, ti->shape, ti->n_dims);
    t->nbytes = ti->nbytes;
    t->offset = ti->file_offset;
    t->data = ti->data;
    t->file = file;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* GPTQ's bits: config.json's quantization_config, else quantize_config.json (AutoGPTQ). */
static int64_t gptq_bits(lq_hf *hf)
{
    int64_t bits = 0;
    if (lq_hf_config_i64(hf, "quantization_config.bits", &bits, NULL) != LQ_OK) {
        lq_hf_json_i64(hf, "quantize_config.json", "bits", &bits, NULL);
    }
    return bits == 2 || bits == 3 || bits == 4 || bits == 8 ? bits : 0;
}

/* A GPTQ v1 layer stores qweight as int32 [in * bits / 32, out]: it holds in x out weights.
 * Its qzeros, scales and g_idx describe the quantization and hold no parameters. */
static void count_gptq(struct inspect_view *v, int64_t bits)
{
    static const char *const names[9] = {
        [2] = "gptq-int2", [3] = "gptq-int3", [4] = "gptq-int4", [8] = "gptq-int8"};
    for (int64_t i = 0; i < v->n_tensors; i++) {
        struct iv_tensor *t = &v->tensors[i];
        if (ends_with(t->name, ".qweight") && strcmp(t->type_name, "I32") == 0) {
            t->n_params = t->n_elements * 32 / bits;
            t->type_name = names[bits];
        } else if (ends_with(t->name, ".qzeros") || ends_with(t->name, ".scales") ||
                   ends_with(t->name, ".g_idx")) {
            t->n_params = 0;
        }
    }
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
    LQ_TRY_CLI(ivi_alloc_tensors(v, lq_st_n_tensors(im->st), err));
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
    ivi_read_config(v, im->hf);
    LQ_TRY_CLI(ivi_alloc_tensors(v, lq_hf_n_tensors(im->hf), err));
    for (int64_t i = 0; i < v->n_tensors; i++) {
        fill_tensor(&v->tensors[i], lq_hf_tensor(im->hf, i), lq_hf_tensor_file(im->hf, i));
    }
    const int64_t bits = gptq_bits(im->hf);
    if (bits) {
        v->format = "Hugging Face folder (GPTQ)";
        count_gptq(v, bits);
    }
    return LQ_OK;
}

void ivi_st_close(struct inspect_view *v)
{
    struct st_impl *im = v->impl;
    lq_st_free(im->st);
    lq_hf_free(im->hf);
    free(im);
}

int64_t ivi_st_metadata_count(const struct inspect_view *v)
{
    const struct st_impl *im = v->impl;
    return lq_st_n_meta(im->st);
}

void ivi_st_metadata_print(const struct inspect_view *v, FILE *f)
{
    const struct st_impl *im = v->impl;
    for (int64_t i = 0; i < lq_st_n_meta(im->st); i++) {
        const char *val = lq_st_meta_value(im->st, i);
        char esc[1024];
        fprintf(f, "  %-44s = ", cli_esc(lq_st_meta_key(im->st, i), esc, sizeof esc));
        ivi_print_quoted(f, val, strlen(val), 80);
        fputc('\n', f);
    }
}

json_t *ivi_st_metadata_json(const struct inspect_view *v)
{
    const struct st_impl *im = v->impl;
    json_t *o = json_object();
    for (int64_t i = 0; i < lq_st_n_meta(im->st); i++) {
        json_object_set_new(o, lq_st_meta_key(im->st, i), json_string(lq_st_meta_value(im->st, i)));
    }
    return o;
}
