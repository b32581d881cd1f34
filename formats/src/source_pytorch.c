/* source_pytorch.c - the weights of a Hugging Face folder saved with torch.save
 * (pytorch_model.bin, or the shards named by pytorch_model.bin.index.json). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "hf_impl.h"
#include "lq/file_io.h"
#include "lqi.h"
#include "source_impl.h"

static lq_status open_shard(struct lq_source *s, const char *file, struct lq_error *err)
{
    char path[4096];
    LQ_TRY(lq_input_member(s->path, file, path, sizeof path, NULL, err));
    for (int64_t i = 0; i < s->n_pts; i++) {
        if (strcmp(s->pt_paths[i], path) == 0) {
            return LQ_OK;
        }
    }
    lq_pt **pts = lqi_realloc(s->pts, (size_t)(s->n_pts + 1) * sizeof *pts);
    LQ_FAIL_IF(!pts, err, LQ_E_NOMEM, "out of memory");
    s->pts = pts;
    char **paths = lqi_realloc(s->pt_paths, (size_t)(s->n_pts + 1) * sizeof *paths);
    LQ_FAIL_IF(!paths, err, LQ_E_NOMEM, "out of memory");
    s->pt_paths = paths;
    s->pt_paths[s->n_pts] = lqi_strdup(path);
    LQ_FAIL_IF(!s->pt_paths[s->n_pts], err, LQ_E_NOMEM, "out of memory");
    s->pts[s->n_pts] = NULL;
    s->n_pts++; /* counted before opening so that free releases the path on failure */
    return lq_pt_open(path, &s->pts[s->n_pts - 1], err);
}

/* The shard files of pytorch_model.bin.index.json, each opened once. */
static lq_status open_indexed(struct lq_source *s, const char *index, struct lq_error *err)
{
    json_t *root;
    LQ_TRY(lqi_hf_load_json(index, &root, err));
    json_t *map = json_object_get(root, "weight_map");
    lq_status rc = json_is_object(map)
                       ? LQ_OK
                       : lqi_set_error(err, LQ_E_FORMAT, "%s: no \"weight_map\" object", index);
    const char *key;
    json_t *val;
    json_object_foreach(map, key, val)
    {
        const char *file = json_string_value(val);
        if (rc == LQ_OK && (!file || strstr(file, "..") || file[0] == '/')) {
            rc = lqi_set_error(err, LQ_E_FORMAT, "%s: tensor '%s': bad shard name", index, key);
        }
        if (rc == LQ_OK) {
            rc = open_shard(s, file, err);
        }
    }
    json_decref(root);
    return rc;
}

lq_status lqi_source_add_pytorch(struct lq_source *s, struct lq_error *err)
{
    char single[4096], index[4096];
    bool has_single;
    LQ_TRY(lq_input_member(s->path, "pytorch_model.bin", single, sizeof single, &has_single, err));
    LQ_TRY(
        lq_input_member(s->path, "pytorch_model.bin.index.json", index, sizeof index, NULL, err));
    if (has_single) {
        LQ_TRY(open_shard(s, "pytorch_model.bin", err));
    } else {
        LQ_TRY(open_indexed(s, index, err));
    }
    int64_t total = 0;
    for (int64_t i = 0; i < s->n_pts; i++) {
        total += lq_pt_n_tensors(s->pts[i]);
    }
    LQ_TRY(lqi_source_alloc(s, total + 2, err)); /* + generated rope factors */
    for (int64_t k = 0; k < s->n_pts; k++) {
        for (int64_t i = 0; i < lq_pt_n_tensors(s->pts[k]); i++) {
            const struct lq_pt_tensor_info *t = lq_pt_tensor(s->pts[k], i);
            LQ_TRY(lqi_source_add_hf_tensor(s, t->name, s->pt_paths[k], t->lq_type,
                                            lq_pt_dtype_name(t->dtype), t->n_dims, t->shape,
                                            t->data, t->nbytes, err));
        }
    }
    snprintf(s->describe, sizeof s->describe, "Hugging Face folder, %lld PyTorch file%s",
             (long long)s->n_pts, s->n_pts == 1 ? "" : "s");
    return LQ_OK;
}
