/* gptq_folder_write.c - the rest of a GPTQ folder: the tensors GPTQ did not quantize (F16,
 * rows back in Hugging Face order), config.json with its quantization_config, the tokenizer
 * and generation files; built under a temporary name and renamed into place. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gptq_folder_impl.h"
#include "lq/file_io.h"
#include "lq/llama_map.h"
#include "lq/safetensors.h"
#include "lq/st_writer.h"
#include "lqi.h"

static bool kept(const struct gptq_folder_job *j, const char *name)
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
static lq_status add_stored(struct gptq_folder_job *j, const struct lq_source_tensor *t,
                            struct lq_error *err)
{
    int dtype = 0;
    while (dtype < LQ_ST_DTYPE_COUNT && lq_st_dtype_lq_type(dtype) != (int)t->type) {
        dtype++;
    }
    if (dtype == LQ_ST_DTYPE_COUNT || !t->data || t->parts || t->permute_heads > 0) {
        return lqi_set_error(err, LQ_E_UNSUPPORTED, "%s (%s): a %s norm cannot be written back",
                             t->src_name, t->file, lq_type_name(t->type));
    }
    struct lq_st_wtensor w = {.name = t->src_name,
                              .dtype = lq_st_dtype_name(dtype),
                              .ndims = t->n_dims,
                              .data = t->data,
                              .nbytes = t->nbytes};
    for (int d = 0; d < t->n_dims; d++) {
        w.shape[d] = t->ne[t->n_dims - 1 - d];
    }
    return lq_gptq_st_add_tensor(j->stw, &w, err);
}

/* A tensor GPTQ did not quantize (embeddings, norms, lm_head, layers outside --layers) as
 * F16 under its Hugging Face name, rows back in Hugging Face order (Gemma's norms as the
 * checkpoint stores them: w, not llama.cpp's 1 + w). */
static lq_status add_plain(struct gptq_folder_job *j, int64_t id, struct lq_error *err)
{
    const struct lq_source_tensor *t = lq_source_tensor(j->src, id);
    if (t->add_one) {
        return add_stored(j, t, err);
    }
    const int64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
    float *f = lqi_malloc((size_t)n * sizeof(float) * (t->permute_heads > 0 ? 2 : 1));
    if (!f) {
        return lqi_set_error(err, LQ_E_NOMEM, "%s: out of memory", t->name);
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
    lqi_free(f);
    return rc;
}

/* A model-folder member as a NUL-terminated string (config.json), through lq_input_member and
 * lq_input_open: a link out of the folder or a FIFO is refused, naming the path. */
static lq_status read_member(const char *dir, const char *file, char **out, struct lq_error *err)
{
    char path[4096];
    int fd;
    *out = NULL;
    LQ_TRY(lq_input_member(dir, file, path, sizeof path, NULL, err));
    LQ_TRY(lq_input_open(path, false, &fd, err));
    struct stat sb;
    lq_status rc =
        fstat(fd, &sb) == 0 ? LQ_OK : lqi_set_error(err, LQ_E_IO, "%s: %s", path, strerror(errno));
    char *buf = rc == LQ_OK ? lqi_malloc((size_t)sb.st_size + 1) : NULL;
    if (rc == LQ_OK && !buf) {
        rc = lqi_set_error(err, LQ_E_NOMEM, "%s: out of memory", path);
    }
    size_t n = 0;
    while (rc == LQ_OK && n < (size_t)sb.st_size) {
        ssize_t k = read(fd, buf + n, (size_t)sb.st_size - n);
        if (k <= 0) {
            rc = lqi_set_error(err, LQ_E_IO, "%s: cannot read: %s", path,
                               k < 0 ? strerror(errno) : "file shrank");
        }
        n += k > 0 ? (size_t)k : 0;
    }
    close(fd);
    if (rc != LQ_OK) {
        lqi_free(buf);
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
    LQ_TRY(lq_input_open(from, false, &in, err));
    lq_out *out = NULL;
    lq_status rc = lq_out_open(to, &out, err);
    char buf[65536];
    ssize_t n;
    while (rc == LQ_OK && (n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0 || write(lq_out_fd(out), buf, (size_t)n) != n) {
            rc =
                lqi_set_error(err, LQ_E_IO, "%s: cannot copy to %s: %s", from, to, strerror(errno));
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

lq_status lqp_gptq_folder_check_members(const char *model_path, struct lq_error *err)
{
    char path[4096];
    LQ_TRY(lq_input_member(model_path, "config.json", path, sizeof path, NULL, err));
    for (size_t i = 0; i < sizeof side_files / sizeof side_files[0]; i++) {
        LQ_TRY(lq_input_member(model_path, side_files[i], path, sizeof path, NULL, err));
    }
    return LQ_OK;
}

static lq_status copy_side_files(const struct gptq_folder_job *j, const char *dir,
                                 struct lq_error *err)
{
    const char *src = lq_source_path(j->src);
    for (size_t i = 0; i < sizeof side_files / sizeof side_files[0]; i++) {
        char from[4096], to[4096];
        bool exists;
        LQ_TRY(lq_input_member(src, side_files[i], from, sizeof from, &exists, err));
        if (exists) {
            snprintf(to, sizeof to, "%s/%s", dir, side_files[i]);
            LQ_TRY(copy_file(from, to, err));
        }
    }
    return LQ_OK;
}

/* The folder's files, written into dir (the temporary folder). */
static lq_status write_folder(struct gptq_folder_job *j, const char *dir, struct lq_error *err)
{
    char *config;
    LQ_TRY(read_member(lq_source_path(j->src), "config.json", &config, err));
    lq_status rc = lq_gptq_st_write(j->stw, dir, config, err);
    lqi_free(config);
    return rc == LQ_OK ? copy_side_files(j, dir, err) : rc;
}

lq_status lqp_gptq_folder_write(struct gptq_folder_job *j, struct lq_error *err)
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
    LQ_TRY(lq_out_dir_open(j->out_dir, j->p->force, &d, err));
    lq_status rc = write_folder(j, lq_out_dir_path(d), err);
    if (rc != LQ_OK) {
        lq_out_dir_abort(d);
        return rc;
    }
    return lq_out_dir_commit(d, err);
}
