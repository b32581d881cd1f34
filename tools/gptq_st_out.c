/* gptq_st_out.c - `quant gptq --format safetensors`: GPTQ integer codes written as a GPTQ v1
 * Hugging Face folder (lq/gptq_st.h), tokenizer and configs copied from the source folder. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "calib_cli.h"
#include "gptq_job.h"
#include "lq/llama_map.h"

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

/* A tensor GPTQ did not quantize (embeddings, norms, lm_head, layers outside --layers) as
 * F16 under its Hugging Face name, rows back in Hugging Face order. */
static lq_status add_plain(struct gptq_job *j, int64_t id, struct lq_error *err)
{
    const struct lq_source_tensor *t = lq_source_tensor(j->src, id);
    const int64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
    float *f = malloc((size_t)n * sizeof(float) * (t->permute_heads > 0 ? 2 : 1));
    if (!f) {
        return cli_set_error(err, LQ_E_NOMEM, "%s: out of memory", t->name);
    }
    lq_status rc = lq_source_read_f32(j->src, id, f, true, err);
    float *out = f;
    if (t->permute_heads > 0) {
        out = f + n;
        for (int64_t r = 0; r < t->ne[1]; r++) {
            memcpy(out + r * t->ne[0],
                   f + lq_llama_permuted_row(r, t->ne[1], t->permute_heads) * t->ne[0],
                   (size_t)t->ne[0] * sizeof(float));
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

static char *read_text(const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    char *buf = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
        }
    }
    fclose(f);
    return buf;
}

/* Tokenizer and generation files, so the folder is a complete model. */
static lq_status copy_side_files(const struct gptq_job *j, struct lq_error *err)
{
    static const char *const files[] = {"tokenizer.model",        "tokenizer.json",
                                        "tokenizer_config.json",  "special_tokens_map.json",
                                        "generation_config.json", "added_tokens.json"};
    const char *src = lq_source_path(j->src);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", src, files[i]);
        FILE *in = fopen(path, "rb");
        if (!in) {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", j->o.out, files[i]);
        FILE *out = fopen(path, "wb");
        char buf[65536];
        size_t n;
        bool ok = out != NULL;
        while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0) {
            ok = fwrite(buf, 1, n, out) == n;
        }
        ok = ok && !ferror(in);
        fclose(in);
        ok = out && fclose(out) == 0 && ok;
        if (!ok) {
            return cli_set_error(err, LQ_E_IO, "%s: cannot write (%s)", path, strerror(errno));
        }
    }
    return LQ_OK;
}

lq_status gptq_st_write(struct gptq_job *j, struct lq_error *err)
{
    const int64_t n = lq_source_n_tensors(j->src);
    for (int64_t i = 0; i < n; i++) {
        const struct lq_source_tensor *t = lq_source_tensor(j->src, i);
        if (!kept(j, t->name) && strcmp(t->name, "rope_freqs.weight") != 0) {
            lq_status rc = add_plain(j, i, err);
            if (rc != LQ_OK) {
                return rc;
            }
        }
    }
    if (mkdir(j->o.out, 0777) != 0 && errno != EEXIST) {
        return cli_set_error(err, LQ_E_IO, "%s: cannot create the folder (%s)", j->o.out,
                             strerror(errno));
    }
    char *config = read_text(lq_source_path(j->src), "config.json");
    if (!config) {
        return cli_set_error(err, LQ_E_IO, "%s/config.json: cannot read", lq_source_path(j->src));
    }
    lq_status rc = lq_gptq_st_write(j->stw, j->o.out, config, err);
    free(config);
    return rc == LQ_OK ? copy_side_files(j, err) : rc;
}
