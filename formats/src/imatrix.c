/* imatrix.c - llama.cpp's imatrix GGUF: loading, accumulating and saving importance data. */
#include "lq/imatrix.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/gguf.h"
#include "lq/gguf_writer.h"
#include "lqi.h"

struct lq_imatrix {
    struct lq_imatrix_entry *e;
    int64_t n, cap;
    char *dataset;
    uint32_t chunk_count, chunk_size;
};

lq_status lq_imatrix_new(lq_imatrix **out, struct lq_error *err)
{
    *out = lqi_calloc(1, sizeof **out);
    LQ_FAIL_IF(!*out, err, LQ_E_NOMEM, "out of memory");
    return LQ_OK;
}

void lq_imatrix_free(lq_imatrix *im)
{
    if (!im) {
        return;
    }
    for (int64_t i = 0; i < im->n; i++) {
        lqi_free((char *)im->e[i].name);
        lqi_free(im->e[i].sum2);
        lqi_free(im->e[i].counts);
    }
    lqi_free(im->e);
    lqi_free(im->dataset);
    lqi_free(im);
}

int64_t lq_imatrix_n_entries(const lq_imatrix *im)
{
    return im->n;
}

const struct lq_imatrix_entry *lq_imatrix_entry(const lq_imatrix *im, int64_t i)
{
    return i >= 0 && i < im->n ? &im->e[i] : NULL;
}

const struct lq_imatrix_entry *lq_imatrix_find(const lq_imatrix *im, const char *name)
{
    for (int64_t i = 0; i < im->n; i++) {
        if (strcmp(im->e[i].name, name) == 0) {
            return &im->e[i];
        }
    }
    return NULL;
}

static struct lq_imatrix_entry *add_entry(lq_imatrix *im, const char *name, int64_t n_per_row,
                                          int64_t n_mat)
{
    if (im->n == im->cap) {
        int64_t cap = im->cap ? im->cap * 2 : 64;
        struct lq_imatrix_entry *e = lqi_realloc(im->e, (size_t)cap * sizeof *e);
        if (!e) {
            return NULL;
        }
        im->e = e;
        im->cap = cap;
    }
    struct lq_imatrix_entry *e = &im->e[im->n];
    memset(e, 0, sizeof *e);
    e->name = lqi_strdup(name);
    e->n_per_row = n_per_row;
    e->n_mat = n_mat;
    e->sum2 = lqi_calloc((size_t)(n_per_row * n_mat), sizeof(float));
    e->counts = lqi_calloc((size_t)n_mat, sizeof(float));
    if (!e->name || !e->sum2 || !e->counts) {
        lqi_free((char *)e->name);
        lqi_free(e->sum2);
        lqi_free(e->counts);
        return NULL;
    }
    im->n++;
    return e;
}

/* One "<W>.in_sum2" tensor and its "<W>.counts" partner. */
static lq_status load_entry(lq_imatrix *im, const lq_gguf *g, const struct lq_gguf_tensor_info *ts,
                            struct lq_error *err)
{
    const char *path = lq_gguf_path(g);
    size_t len = strlen(ts->name) - strlen(".in_sum2");
    char name[512], cname[560];
    LQ_FAIL_IF(len >= sizeof name, err, LQ_E_FORMAT, "%s: tensor name too long", path);
    memcpy(name, ts->name, len);
    name[len] = '\0';
    snprintf(cname, sizeof cname, "%s.counts", name);
    int64_t ci = lq_gguf_find_tensor(g, cname);
    LQ_FAIL_IF(ci < 0, err, LQ_E_FORMAT, "%s: '%s' has no '%s'", path, ts->name, cname);
    const struct lq_gguf_tensor_info *tc = lq_gguf_tensor(g, ci);
    int64_t n_per_row = ts->ne[0], n_mat = ts->ne[1] * ts->ne[2] * ts->ne[3];
    LQ_FAIL_IF(ts->type != LQ_TYPE_F32 || tc->type != LQ_TYPE_F32, err, LQ_E_FORMAT,
               "%s: '%s': imatrix tensors must be F32", path, name);
    LQ_FAIL_IF(tc->ne[0] * tc->ne[1] * tc->ne[2] * tc->ne[3] != n_mat, err, LQ_E_FORMAT,
               "%s: '%s' holds %lld counts for %lld matrices", path, cname,
               (long long)(tc->ne[0] * tc->ne[1]), (long long)n_mat);
    LQ_FAIL_IF(lq_imatrix_find(im, name), err, LQ_E_FORMAT, "%s: '%s' appears twice", path, name);
    struct lq_imatrix_entry *e = add_entry(im, name, n_per_row, n_mat);
    LQ_FAIL_IF(!e, err, LQ_E_NOMEM, "out of memory");
    memcpy(e->sum2, ts->data, (size_t)(n_per_row * n_mat) * sizeof(float));
    memcpy(e->counts, tc->data, (size_t)n_mat * sizeof(float));
    return LQ_OK;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

static lq_status load_from(lq_imatrix *im, const lq_gguf *g, struct lq_error *err)
{
    const char *type = NULL;
    LQ_FAIL_IF(lq_gguf_get_str(g, "general.type", &type, NULL) != LQ_OK ||
                   strcmp(type, "imatrix") != 0,
               err, LQ_E_FORMAT, "%s: not an imatrix file (general.type is not \"imatrix\")",
               lq_gguf_path(g));
    for (int64_t i = 0; i < lq_gguf_n_tensors(g); i++) {
        const struct lq_gguf_tensor_info *t = lq_gguf_tensor(g, i);
        if (ends_with(t->name, ".in_sum2")) {
            LQ_TRY(load_entry(im, g, t, err));
        }
    }
    uint64_t v;
    if (lq_gguf_get_u64(g, "imatrix.chunk_count", &v, NULL) == LQ_OK) {
        im->chunk_count = (uint32_t)v;
    }
    if (lq_gguf_get_u64(g, "imatrix.chunk_size", &v, NULL) == LQ_OK) {
        im->chunk_size = (uint32_t)v;
    }
    const struct lq_gguf_value *ds;
    if (lq_gguf_get_arr(g, "imatrix.datasets", LQ_GGUF_STRING, &ds, NULL) == LQ_OK &&
        ds->v.arr.n > 0) {
        im->dataset = lqi_strdup(((const struct lq_gguf_str *)ds->v.arr.data)[0].s);
    }
    return LQ_OK;
}

lq_status lq_imatrix_load(const char *path, lq_imatrix **out, struct lq_error *err)
{
    *out = NULL;
    lq_gguf *g = NULL;
    LQ_TRY(lq_gguf_open(path, &g, err));
    lq_imatrix *im = NULL;
    lq_status rc = lq_imatrix_new(&im, err);
    if (rc == LQ_OK) {
        rc = load_from(im, g, err);
    }
    lq_gguf_free(g);
    if (rc != LQ_OK) {
        lq_imatrix_free(im);
        return rc;
    }
    *out = im;
    return LQ_OK;
}

lq_status lq_imatrix_weights(const lq_imatrix *im, const char *name, float *dst, int64_t n,
                             struct lq_error *err)
{
    const struct lq_imatrix_entry *e = lq_imatrix_find(im, name);
    LQ_FAIL_IF(!e, err, LQ_E_NOT_FOUND, "imatrix: no entry for '%s'", name);
    LQ_FAIL_IF(n != e->n_per_row * e->n_mat, err, LQ_E_FORMAT,
               "imatrix: '%s' has %lld values, the weight needs %lld", name,
               (long long)(e->n_per_row * e->n_mat), (long long)n);
    for (int64_t j = 0; j < e->n_mat; j++) {
        float c = e->counts[j];
        for (int64_t i = 0; i < e->n_per_row; i++) {
            dst[j * e->n_per_row + i] = c > 0.0f ? e->sum2[j * e->n_per_row + i] / c : 1.0f;
        }
    }
    return LQ_OK;
}

lq_status lq_imatrix_add_mat(lq_imatrix *im, const char *name, int64_t n_mat, int64_t mat,
                             const float *x, int64_t nrows, int64_t n_per_row,
                             struct lq_error *err)
{
    LQ_FAIL_IF(n_mat < 1 || mat < 0 || mat >= n_mat || n_per_row < 1 || nrows < 0, err,
               LQ_E_INVALID_ARG, "imatrix: '%s': matrix %lld of %lld, %lld rows of %lld", name,
               (long long)mat, (long long)n_mat, (long long)nrows, (long long)n_per_row);
    struct lq_imatrix_entry *e = (struct lq_imatrix_entry *)lq_imatrix_find(im, name);
    if (!e) {
        e = add_entry(im, name, n_per_row, n_mat);
        LQ_FAIL_IF(!e, err, LQ_E_NOMEM, "out of memory");
    }
    LQ_FAIL_IF(e->n_per_row != n_per_row || e->n_mat != n_mat, err, LQ_E_INVALID_ARG,
               "imatrix: '%s' %lld matrices with rows of %lld values, earlier %lld of %lld", name,
               (long long)n_mat, (long long)n_per_row, (long long)e->n_mat,
               (long long)e->n_per_row);
    float *sum = e->sum2 + mat * n_per_row;
    for (int64_t r = 0; r < nrows; r++) {
        const float *row = x + r * n_per_row;
        for (int64_t i = 0; i < n_per_row; i++) {
            sum[i] += row[i] * row[i];
        }
    }
    e->counts[mat] += (float)nrows;
    return LQ_OK;
}

lq_status lq_imatrix_add(lq_imatrix *im, const char *name, const float *x, int64_t nrows,
                         int64_t n_per_row, struct lq_error *err)
{
    return lq_imatrix_add_mat(im, name, 1, 0, x, nrows, n_per_row, err);
}

void lq_imatrix_set_info(lq_imatrix *im, const char *dataset, uint32_t chunk_count,
                         uint32_t chunk_size)
{
    lqi_free(im->dataset);
    im->dataset = dataset ? lqi_strdup(dataset) : NULL;
    im->chunk_count = chunk_count;
    im->chunk_size = chunk_size;
}

uint32_t lq_imatrix_chunk_count(const lq_imatrix *im)
{
    return im->chunk_count;
}

const char *lq_imatrix_dataset(const lq_imatrix *im)
{
    return im->dataset;
}

static int cmp_entries(const void *a, const void *b)
{
    return strcmp(((const struct lq_imatrix_entry *)a)->name,
                  ((const struct lq_imatrix_entry *)b)->name);
}

static lq_status save_to(const lq_imatrix *im, lq_gguf_writer *w, struct lq_error *err)
{
    const char *ds = im->dataset ? im->dataset : "";
    LQ_TRY(lq_gguf_writer_set_str(w, "general.type", "imatrix", err));
    LQ_TRY(lq_gguf_writer_set_arr_str(w, "imatrix.datasets", &ds, 1, err));
    LQ_TRY(lq_gguf_writer_set_u32(w, "imatrix.chunk_count", im->chunk_count, err));
    LQ_TRY(lq_gguf_writer_set_u32(w, "imatrix.chunk_size", im->chunk_size, err));
    struct lq_imatrix_entry *sorted = lqi_malloc((size_t)(im->n ? im->n : 1) * sizeof *sorted);
    LQ_FAIL_IF(!sorted, err, LQ_E_NOMEM, "out of memory");
    memcpy(sorted, im->e, (size_t)im->n * sizeof *sorted);
    qsort(sorted, (size_t)im->n, sizeof *sorted, cmp_entries);
    lq_status rc = LQ_OK;
    char name[560];
    for (int64_t i = 0; i < im->n && rc == LQ_OK; i++) {
        const struct lq_imatrix_entry *e = &sorted[i];
        int64_t ne_s[2] = { e->n_per_row, e->n_mat }, ne_c[2] = { 1, e->n_mat };
        uint32_t nd = e->n_mat > 1 ? 2 : 1;
        snprintf(name, sizeof name, "%s.in_sum2", e->name);
        rc = lq_gguf_writer_add_tensor(w, name, LQ_TYPE_F32, nd, ne_s, NULL, err);
        snprintf(name, sizeof name, "%s.counts", e->name);
        if (rc == LQ_OK) {
            rc = lq_gguf_writer_add_tensor(w, name, LQ_TYPE_F32, nd, ne_c, NULL, err);
        }
    }
    for (int64_t i = 0; i < im->n && rc == LQ_OK; i++) {
        const struct lq_imatrix_entry *e = &sorted[i];
        rc = lq_gguf_writer_write_tensor(w, 2 * i, e->sum2,
                                         (size_t)(e->n_per_row * e->n_mat) * sizeof(float), err);
        if (rc == LQ_OK) {
            rc = lq_gguf_writer_write_tensor(w, 2 * i + 1, e->counts,
                                             (size_t)e->n_mat * sizeof(float), err);
        }
    }
    lqi_free(sorted);
    return rc;
}

/* Sums of squares are NaN/Inf only when the model's activations were: such a file would pass
 * the NaN on to every quantization that uses it, so it is not written. */
static lq_status check_finite(const lq_imatrix *im, struct lq_error *err)
{
    for (int64_t i = 0; i < im->n; i++) {
        const struct lq_imatrix_entry *e = &im->e[i];
        for (int64_t k = 0; k < e->n_per_row * e->n_mat; k++) {
            LQ_FAIL_IF(!isfinite(e->sum2[k]), err, LQ_E_RANGE,
                       "imatrix: the activations of '%s' are %s at column %lld (matrix %lld): "
                       "the model's weights hold or overflow to NaN/Inf",
                       e->name, isnan(e->sum2[k]) ? "NaN" : "Inf", (long long)(k % e->n_per_row),
                       (long long)(k / e->n_per_row));
        }
    }
    return LQ_OK;
}

lq_status lq_imatrix_save(const lq_imatrix *im, const char *path, struct lq_error *err)
{
    LQ_TRY(check_finite(im, err));
    lq_gguf_writer *w = NULL;
    LQ_TRY(lq_gguf_writer_open(path, &w, err));
    lq_status rc = save_to(im, w, err);
    if (rc == LQ_OK) {
        rc = lq_gguf_writer_finish(w, err);
    }
    lq_gguf_writer_free(w);
    return rc;
}
