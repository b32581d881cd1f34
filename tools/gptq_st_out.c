/* gptq_st_out.c - `quant gptq --format safetensors`: GPTQ integer codes written as a GPTQ v1
 * Hugging Face folder (lq/gptq_st.h), tokenizer and configs copied from the source folder. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calib_cli.h"
#include "cli.h"
#include "gptq_job.h"
#include "lq/file_io.h"
#include "lq/llama_map.h"
#include "lq/safetensors.h"
#include "lq/st_writer.h"

struct st_layer {
    uint8_t *q;
    float *scales;
    int32_t *zeros, *g_idx;
};

static void layer_free(struct st_layer *l)
{
    free(l->q);
    free(l->scales);
    free(l->zeros);
    free(l->g_idx);
}

static bool layer_alloc(struct st_layer *l, int64_t nrows, int64_t ncols, int64_t ng)
{
    l->q = malloc((size_t)(nrows * ncols));
    l->scales = malloc((size_t)(ng * nrows) * sizeof(float));
    l->zeros = malloc((size_t)(ng * nrows) * sizeof(int32_t));
    l->g_idx = malloc((size_t)ncols * sizeof(int32_t));
    return l->q && l->scales && l->zeros && l->g_idx;
}

/* GPTQ ran on the weight in GGUF row order (q/k heads permuted); the file wants Hugging
 * Face's order back: HF row r is GGUF row lq_llama_permuted_row(r). */
static void unpermute(const struct st_layer *g, struct st_layer *hf, int64_t nrows, int64_t ncols,
                      int64_t ng, int n_head)
{
    for (int64_t r = 0; r < nrows; r++) {
        const int64_t from = lq_llama_permuted_row(r, nrows, n_head);
        memcpy(hf->q + r * ncols, g->q + from * ncols, (size_t)ncols);
        for (int64_t k = 0; k < ng; k++) {
            hf->scales[k * nrows + r] = g->scales[k * nrows + from];
            hf->zeros[k * nrows + r] = g->zeros[k * nrows + from];
        }
    }
    memcpy(hf->g_idx, g->g_idx, (size_t)ncols * sizeof(int32_t));
}

/* "model.layers.3.self_attn.q_proj.weight" -> "model.layers.3.self_attn.q_proj" */
static void hf_prefix(const char *src_name, char *out, size_t cap)
{
    const char *dot = strrchr(src_name, '.');
    snprintf(out, cap, "%.*s", (int)(dot ? dot - src_name : (long)strlen(src_name)), src_name);
}

static lq_status add_layer(struct gptq_job *j, const struct lq_source_tensor *t, struct st_layer *L,
                           const struct lq_gptq_result *res, int64_t nrows, int64_t ncols,
                           struct lq_error *err)
{
    const int64_t ng = lq_gptq_n_groups(ncols, j->o.gp.group_size);
    struct st_layer hf = {0};
    struct lq_gptq_result out = *res;
    lq_status rc = LQ_OK;
    if (t->permute_heads > 0) {
        if (!layer_alloc(&hf, nrows, ncols, ng)) {
            rc = cli_set_error(err, LQ_E_NOMEM, "%s: out of memory", t->name);
        } else {
            unpermute(L, &hf, nrows, ncols, ng, t->permute_heads);
            out = (struct lq_gptq_result){hf.q, hf.scales, hf.zeros, hf.g_idx, NULL, res->loss};
        }
    }
    char prefix[128];
    hf_prefix(t->src_name, prefix, sizeof prefix);
    if (rc == LQ_OK) {
        rc = lq_gptq_st_add_layer(j->stw, prefix, &out, nrows, ncols, err);
    }
    layer_free(&hf);
    return rc;
}

lq_status gptq_st_weight(struct gptq_job *j, int64_t layer, enum lq_layer_weight which,
                         const float *w, int64_t nrows, int64_t ncols, const lq_hessian *h,
                         struct gptq_kept *k, double *loss, struct lq_error *err)
{
    (void)layer;
    (void)which;
    const int64_t id = lq_source_find_tensor(j->src, k->name);
    if (id < 0) {
        return cli_set_error(err, LQ_E_NOT_FOUND, "%s: tensor '%s' is missing",
                             lq_source_path(j->src), k->name);
    }
    const int64_t ng = lq_gptq_n_groups(ncols, j->o.gp.group_size);
    struct st_layer L = {0};
    k->type = LQ_TYPE_F32;
    k->nbytes = (size_t)(nrows * ncols) * sizeof(float);
    k->data = malloc(k->nbytes);
    if (!k->data || !layer_alloc(&L, nrows, ncols, ng)) {
        layer_free(&L);
        return cli_set_error(err, LQ_E_NOMEM, "%s: out of memory", k->name);
    }
    struct lq_gptq_result res = {L.q, L.scales, L.zeros, L.g_idx, k->data, 0.0};
    lq_status rc = lq_gptq_quantize(w, nrows, h, &j->o.gp, &res, err);
    *loss = res.loss;
    if (rc == LQ_OK) {
        rc = add_layer(j, lq_source_tensor(j->src, id), &L, &res, nrows, ncols, err);
    }
    layer_free(&L);
    return rc;
}

// ---- the rest of the folder ---------------------------------------------------------------

static bool kept(const struct gptq_job *j, const char *name)
{
    for (int64_t i = 0; i < j->n_kept; i++) {
        if (strcmp(j->kept[i].name, name) == 0) {
            return true;
        }
    }
    return false;
}

/* Gemma's norms are read as 1 + w (llama.cpp's converter folds the 1 into the GGUF weights);
 * a Hugging Face folder must hold w: the checkpoint's own bytes, in its own dtype (F16 would
 * flush the smallest BF16 weights to subnormals, and subtracting the 1 again loses their low
 * bits). */
static lq_status add_stored(struct gptq_job *j, const struct lq_source_tensor *t,
                            struct lq_error *err)
{
    int dtype = 0;
    while (dtype < LQ_ST_DTYPE_COUNT && lq_st_dtype_lq_type(dtype) != (int)t->type) {
        dtype++;
    }
    if (dtype == LQ_ST_DTYPE_COUNT || !t->data || t->parts || t->permute_heads > 0) {
        return cli_set_error(err, LQ_E_UNSUPPORTED, "%s (%s): a %s norm cannot be written back",
                             t->src_name, t->file, lq_type_name(t->type));
    }
    struct lq_st_wtensor w = { .name = t->src_name, .dtype = lq_st_dtype_name(dtype),
                               .ndims = t->n_dims, .data = t->data, .nbytes = t->nbytes };
    for (int d = 0; d < t->n_dims; d++) {
        w.shape[d] = t->ne[t->n_dims - 1 - d];
    }
    return lq_gptq_st_add_tensor(j->stw, &w, err);
}

/* A tensor GPTQ did not quantize (embeddings, norms, lm_head, layers outside --layers) as
 * F16 under its Hugging Face name, rows back in Hugging Face order (Gemma's norms as the
 * checkpoint stores them: w, not llama.cpp's 1 + w). */
static lq_status add_plain(struct gptq_job *j, int64_t id, struct lq_error *err)
{
    const struct lq_source_tensor *t = lq_source_tensor(j->src, id);
    if (t->add_one) {
        return add_stored(j, t, err);
    }
    const int64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
    float *f = malloc((size_t)n * sizeof(float) * (t->permute_heads > 0 ? 2 : 1));
    if (!f) {
        return cli_set_error(err, LQ_E_NOMEM, "%s: out of memory", t->name);
    }
    lq_status rc = lq_source_read_f32(j->src, id, f, true, err);
    float *out = f;
    if (t->permute_heads > 0) {
        /* a q/k bias (1-D) has its elements permuted, a weight its rows */
        const bool bias = t->n_dims == 1;
        const int64_t rows = bias ? t->ne[0] : t->ne[1], cols = bias ? 1 : t->ne[0];
        out = f + n;
        for (int64_t r = 0; r < rows; r++) {
            memcpy(out + r * cols, f + lq_llama_permuted_row(r, rows, t->permute_heads) * cols,
                   (size_t)cols * sizeof(float));
        }
    }
    int64_t shape[4];
    for (int d = 0; d < t->n_dims; d++) {
        shape[d] = t->ne[t->n_dims - 1 - d];
    }
    if (rc == LQ_OK) {
        rc = lq_gptq_st_add_f16(j->stw, t->src_name, t->n_dims, shape, out, err);
    }
    free(f);
    return rc;
}

/* A model-folder member as a NUL-terminated string (config.json), through lq_input_member and
 * lq_input_open: a link out of the folder or a FIFO is refused, naming the path. */
static lq_status read_member(const char *dir, const char *file, char **out, struct lq_error *err)
{
    char path[4096];
    int fd;
    *out = NULL;
    LQ_TRY_CLI(lq_input_member(dir, file, path, sizeof path, NULL, err));
    LQ_TRY_CLI(lq_input_open(path, false, &fd, err));
    struct stat sb;
    lq_status rc =
        fstat(fd, &sb) == 0 ? LQ_OK : cli_set_error(err, LQ_E_IO, "%s: %s", path, strerror(errno));
    char *buf = rc == LQ_OK ? malloc((size_t)sb.st_size + 1) : NULL;
    if (rc == LQ_OK && !buf) {
        rc = cli_set_error(err, LQ_E_NOMEM, "%s: out of memory", path);
    }
    size_t n = 0;
    while (rc == LQ_OK && n < (size_t)sb.st_size) {
        ssize_t k = read(fd, buf + n, (size_t)sb.st_size - n);
        if (k <= 0) {
            rc = cli_set_error(err, LQ_E_IO, "%s: cannot read: %s", path,
                               k < 0 ? strerror(errno) : "file shrank");
        }
        n += k > 0 ? (size_t)k : 0;
    }
    close(fd);
    if (rc != LQ_OK) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    return LQ_OK;
}

/* Copies one side file into the new folder (a temporary name there, then renamed). */
static lq_status copy_file(const char *from, const char *to, struct lq_error *err)
{
    int in;
    LQ_TRY_CLI(lq_input_open(from, false, &in, err));
    lq_out *out = NULL;
    lq_status rc = lq_out_open(to, &out, err);
    char buf[65536];
    ssize_t n;
    while (rc == LQ_OK && (n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0 || write(lq_out_fd(out), buf, (size_t)n) != n) {
            rc =
                cli_set_error(err, LQ_E_IO, "%s: cannot copy to %s: %s", from, to, strerror(errno));
        }
    }
    close(in);
    if (rc != LQ_OK) {
        lq_out_abort(out);
        return rc;
    }
    return lq_out_commit(out, err);
}

/* Tokenizer and generation files, so the folder is a complete model. */
static const char *const side_files[] = {"tokenizer.model",        "tokenizer.json",
                                         "tokenizer_config.json",  "special_tokens_map.json",
                                         "generation_config.json", "added_tokens.json"};

lq_status gptq_st_check_inputs(const struct gptq_job *j, struct lq_error *err)
{
    char path[4096];
    LQ_TRY_CLI(lq_input_member(j->o.model, "config.json", path, sizeof path, NULL, err));
    for (size_t i = 0; i < sizeof side_files / sizeof side_files[0]; i++) {
        LQ_TRY_CLI(lq_input_member(j->o.model, side_files[i], path, sizeof path, NULL, err));
    }
    return LQ_OK;
}

static lq_status copy_side_files(const struct gptq_job *j, const char *dir, struct lq_error *err)
{
    const char *src = lq_source_path(j->src);
    for (size_t i = 0; i < sizeof side_files / sizeof side_files[0]; i++) {
        char from[4096], to[4096];
        bool exists;
        LQ_TRY_CLI(lq_input_member(src, side_files[i], from, sizeof from, &exists, err));
        if (exists) {
            snprintf(to, sizeof to, "%s/%s", dir, side_files[i]);
            LQ_TRY_CLI(copy_file(from, to, err));
        }
    }
    return LQ_OK;
}

/* The folder's files, written into dir (the temporary folder). */
static lq_status write_folder(struct gptq_job *j, const char *dir, struct lq_error *err)
{
    char *config;
    LQ_TRY_CLI(read_member(lq_source_path(j->src), "config.json", &config, err));
    lq_status rc = lq_gptq_st_write(j->stw, dir, config, err);
    free(config);
    return rc == LQ_OK ? copy_side_files(j, dir, err) : rc;
}

lq_status gptq_st_write(struct gptq_job *j, struct lq_error *err)
{
    const int64_t n = lq_source_n_tensors(j->src);
    for (int64_t i = 0; i < n; i++) {
        const struct lq_source_tensor *t = lq_source_tensor(j->src, i);
        /* tensors generated from config.json (rope factors) stay there: no HF name */
        if (!kept(j, t->name) && t->data != NULL) {
            lq_status rc = add_plain(j, i, err);
            if (rc != LQ_OK) {
                return rc;
            }
        }
    }
    lq_out_dir *d = NULL;
    LQ_TRY_CLI(lq_out_dir_open(j->o.out, j->o.force, &d, err));
    lq_status rc = write_folder(j, lq_out_dir_path(d), err);
    if (rc != LQ_OK) {
        lq_out_dir_abort(d);
        return rc;
    }
    return lq_out_dir_commit(d, err);
}
