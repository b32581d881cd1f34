/* inspect_pt.c - the inspect view of PyTorch checkpoints: pytorch_model.bin alone, or a
 * Hugging Face folder with config.json and pytorch_model.bin (or the shards its
 * pytorch_model.bin.index.json names). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "calib_cli.h"
#include "inspect_priv.h"
#include "lq/file_io.h"
#include "lq/pytorch.h"
#include "lq/types.h"

struct pt_impl {
    lq_pt **pts;
    char **paths;
    int64_t n;
    lq_hf *hf; /* the folder's config.json */
};

static lq_status open_one(struct inspect_view *v, const char *path, struct lq_error *err)
{
    struct pt_impl *im = v->impl;
    for (int64_t i = 0; i < im->n; i++) {
        if (strcmp(im->paths[i], path) == 0) {
            return LQ_OK;
        }
    }
    lq_pt **pts = realloc(im->pts, (size_t)(im->n + 1) * sizeof *pts);
    char **paths = pts ? realloc(im->paths, (size_t)(im->n + 1) * sizeof *paths) : NULL;
    im->pts = pts ? pts : im->pts;
    im->paths = paths ? paths : im->paths;
    if (!paths || !(im->paths[im->n] = strdup(path))) {
        return ivi_nomem(err);
    }
    im->pts[im->n] = NULL;
    im->n++; /* counted first, so that close frees the path when opening fails */
    return lq_pt_open(path, &im->pts[im->n - 1], err);
}

/* The distinct shard files of pytorch_model.bin.index.json's weight_map. */
static lq_status open_index(struct inspect_view *v, const char *index, struct lq_error *err)
{
    json_t *root;
    LQ_TRY_CLI(ivi_load_json(v->path, "pytorch_model.bin.index.json", &root, err));
    json_t *map = json_object_get(root, "weight_map");
    lq_status rc = json_is_object(map)
                       ? LQ_OK
                       : cli_set_error(err, LQ_E_FORMAT, "%s: no \"weight_map\" object", index);
    const char *key;
    json_t *val;
    json_object_foreach(map, key, val)
    {
        const char *file = json_string_value(val);
        if (rc == LQ_OK && (!file || strstr(file, "..") || file[0] == '/')) {
            rc = cli_set_error(err, LQ_E_FORMAT, "%s: tensor '%s': bad shard name", index, key);
        }
        char path[4096];
        if (rc == LQ_OK) {
            rc = lq_input_member(v->path, file, path, sizeof path, NULL, err);
        }
        rc = rc == LQ_OK ? open_one(v, path, err) : rc;
    }
    json_decref(root);
    return rc;
}

static void fill_tensor(struct iv_tensor *t, const struct lq_pt_tensor_info *ti, const char *file)
{
    t->name = ti->name;
    t->lq_type = ti->lq_type;
    t->type_name = ti->lq_type >= 0 ? lq_type_name(ti->lq_type) : lq_pt_dtype_name(ti->dtype);
    t->bits = 8.0 * (double)lq_pt_dtype_size(ti->dtype);
    ivi_set_torch_shape(t, ti->shape, ti->n_dims);
    t->nbytes = ti->nbytes;
    t->offset = ti->file_offset;
    t->data = ti->data;
    t->file = file;
}

static lq_status open_folder(struct inspect_view *v, struct lq_error *err)
{
    struct pt_impl *im = v->impl;
    LQ_TRY_CLI(lq_hf_open_config(v->path, &im->hf, err));
    ivi_read_config(v, im->hf);
    char path[4096];
    bool single;
    LQ_TRY_CLI(lq_input_member(v->path, "pytorch_model.bin", path, sizeof path, &single, err));
    if (single) {
        return open_one(v, path, err);
    }
    snprintf(path, sizeof path, "%s/pytorch_model.bin.index.json", v->path);
    return open_index(v, path, err);
}

lq_status ivi_open_pytorch(struct inspect_view *v, bool pytorch_dir, struct lq_error *err)
{
    struct pt_impl *im = calloc(1, sizeof *im);
    if (!im) {
        return ivi_nomem(err);
    }
    v->impl = im;
    v->format = pytorch_dir ? "Hugging Face folder (PyTorch)" : "PyTorch";
    LQ_TRY_CLI(pytorch_dir ? open_folder(v, err) : open_one(v, v->path, err));
    int64_t n = 0;
    for (int64_t k = 0; k < im->n; k++) {
        n += lq_pt_n_tensors(im->pts[k]);
    }
    LQ_TRY_CLI(ivi_alloc_tensors(v, n, err));
    n = 0;
    for (int64_t k = 0; k < im->n; k++) {
        for (int64_t i = 0; i < lq_pt_n_tensors(im->pts[k]); i++) {
            fill_tensor(&v->tensors[n++], lq_pt_tensor(im->pts[k], i),
                        pytorch_dir ? im->paths[k] : NULL);
        }
    }
    return LQ_OK;
}

void ivi_pt_close(struct inspect_view *v)
{
    struct pt_impl *im = v->impl;
    for (int64_t i = 0; i < im->n; i++) {
        lq_pt_free(im->pts[i]);
        free(im->paths[i]);
    }
    free(im->pts);
    free(im->paths);
    lq_hf_free(im->hf);
    free(im);
}
