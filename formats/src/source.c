/* source.c - opening any supported checkpoint as an lq_source; reading tensors as float32. */
#include "source_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lq/fp16.h"
#include "lq/llama_map.h"
#include "lq/recipe.h"
#include "lq/sniff.h"
#include "lqi.h"

/* A file no sniffer recognised. A ".bin" file is most likely a llama2.c checkpoint with a bad
 * header (llama2.c has no magic): its reader says which field is wrong. */
static lq_status unknown_kind(const char *path, struct lq_error *err)
{
    size_t len = strlen(path);
    if (len > 4 && strcmp(path + len - 4, ".bin") == 0) {
        lq_llama2c *m = NULL;
        lq_status rc = lq_llama2c_open(path, &m, err);
        lq_llama2c_free(m);
        if (rc == LQ_E_FORMAT || rc == LQ_E_RANGE || rc == LQ_E_UNSUPPORTED) {
            return rc;
        }
    }
    return lqi_set_error(err, LQ_E_UNSUPPORTED,
                         "%s: not a model this tool reads (expected a GGUF file, a Hugging Face "
                         "folder with config.json, or a llama2.c .bin checkpoint)",
                         path);
}

lq_status lq_source_open(const char *path, lq_source **out, struct lq_error *err)
{
    LQ_FAIL_IF(!path || !out, err, LQ_E_INVALID_ARG, "source: NULL argument");
    *out = NULL;
    enum lq_file_kind kind;
    LQ_TRY(lq_sniff_path(path, &kind, err));
    struct lq_source *s = lqi_calloc(1, sizeof *s);
    LQ_FAIL_IF(!s, err, LQ_E_NOMEM, "out of memory");
    s->path = lqi_strdup(path);
    lq_status rc = s->path ? LQ_OK : LQ_E_NOMEM;
    if (rc == LQ_OK) {
        switch (kind) {
        case LQ_FILE_GGUF: rc = lqi_source_open_gguf(s, err); break;
        case LQ_FILE_HF_DIR: rc = lqi_source_open_hf(s, false, err); break;
        case LQ_FILE_HF_DIR_PYTORCH: rc = lqi_source_open_hf(s, true, err); break;
        case LQ_FILE_LLAMA2C: rc = lqi_source_open_llama2c(s, err); break;
        default:
            rc = unknown_kind(path, err);
        }
    }
    if (rc != LQ_OK) {
        lq_source_free(s);
        return rc;
    }
    if (kind != LQ_FILE_HF_DIR && kind != LQ_FILE_HF_DIR_PYTORCH) {
        lqi_source_sort(s); /* Hugging Face folders are in llama.cpp's converter order */
    }
    *out = s;
    return LQ_OK;
}

void lq_source_free(lq_source *s)
{
    if (!s) {
        return;
    }
    if (s->names) {
        for (int64_t i = 0; i < s->n_tensors; i++) {
            lqi_free(s->names[i]);
        }
    }
    lqi_free(s->names);
    lqi_free(s->tensors);
    lqi_name_index_free(&s->index);
    lqi_free(s->rope_freqs);
    lqi_free(s->rope.factors_long);
    lqi_free(s->rope.factors_short);
    lqi_free(s->vocab_path);
    lq_gguf_free(s->gguf);
    lq_hf_free(s->hf);
    lq_llama2c_free(s->l2c);
    for (int64_t i = 0; i < s->n_pts; i++) {
        lq_pt_free(s->pts[i]);
        lqi_free(s->pt_paths[i]);
    }
    lqi_free(s->pts);
    lqi_free(s->pt_paths);
    for (int64_t i = 0; i < s->n_deq; i++) {
        lqi_free(s->deq[i].name);
        lqi_free(s->deq[i].w);
    }
    lqi_free(s->deq);
    for (int64_t i = 0; i < s->n_owned; i++) {
        lqi_free(s->owned[i]);
    }
    lqi_free(s->owned);
    lqi_free(s->path);
    lqi_free(s);
}

lq_status lqi_source_alloc(struct lq_source *s, int64_t n, struct lq_error *err)
{
    s->tensors = lqi_calloc((size_t)(n ? n : 1), sizeof *s->tensors);
    s->names = lqi_calloc((size_t)(n ? n : 1), sizeof *s->names);
    LQ_FAIL_IF(!s->tensors || !s->names || !lqi_name_index_init(&s->index, (size_t)n), err,
               LQ_E_NOMEM, "out of memory");
    return LQ_OK;
}

static int cmp_tensors(const void *a, const void *b)
{
    const struct lq_source_tensor *x = a, *y = b;
    return lq_recipe_compare_names(x->name, y->name);
}

void lqi_source_sort(struct lq_source *s)
{
    qsort(s->tensors, (size_t)s->n_tensors, sizeof *s->tensors, cmp_tensors);
    lqi_source_reindex(s); /* ids changed */
}

void lqi_source_reindex(struct lq_source *s)
{
    /* lqi_source_alloc sized the table for every tensor */
    if (!lqi_name_index_reserve(&s->index, (size_t)s->n_tensors)) {
        return;
    }
    lqi_name_index_clear(&s->index);
    for (int64_t i = 0; i < s->n_tensors; i++) {
        const char *nm = s->tensors[i].name;
        lqi_name_index_insert(&s->index, nm, strlen(nm), i);
    }
}

lq_status lq_source_set_tokenizer(lq_source *s, const char *path, struct lq_error *err)
{
    LQ_FAIL_IF(!s || !path, err, LQ_E_INVALID_ARG, "source: NULL argument");
    LQ_FAIL_IF(s->kind != LQ_SOURCE_LLAMA2C, err, LQ_E_UNSUPPORTED,
               "%s: a separate tokenizer file applies only to llama2.c checkpoints (%s has its "
               "own)", path, s->describe);
    char *copy = lqi_strdup(path);
    LQ_FAIL_IF(!copy, err, LQ_E_NOMEM, "%s: out of memory", path);
    lqi_free(s->vocab_path);
    s->vocab_path = copy;
    return LQ_OK;
}

enum lq_source_kind lq_source_get_kind(const lq_source *s)
{
    return s->kind;
}

const char *lq_source_path(const lq_source *s)
{
    return s->path;
}

const char *lq_source_describe(const lq_source *s)
{
    return s->describe;
}

int64_t lq_source_n_tensors(const lq_source *s)
{
    return s->n_tensors;
}

const struct lq_source_tensor *lq_source_tensor(const lq_source *s, int64_t i)
{
    return i >= 0 && i < s->n_tensors ? &s->tensors[i] : NULL;
}

int64_t lq_source_find_tensor(const lq_source *s, const char *name)
{
    return lqi_name_index_find(&s->index, name, strlen(name));
}

const struct lq_llama_hparams *lq_source_hparams(const lq_source *s)
{
    return &s->hp;
}

const struct lq_family *lq_source_family(const lq_source *s)
{
    return s->family;
}

static int64_t n_elements(const struct lq_source_tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->n_dims; d++) {
        n *= t->ne[d];
    }
    return n;
}

/* Decodes `n` stored elements of type `type` at `src` into floats. */
static lq_status decode_row(const struct lq_source_tensor *t, const void *src, float *dst,
                            int64_t n, struct lq_error *err)
{
    const struct lq_type_traits *tr = lq_type_traits_get(t->type);
    LQ_FAIL_IF(!tr || !tr->to_float, err, LQ_E_UNSUPPORTED,
               "tensor '%s' (%s): type %s cannot be converted to float", t->name, t->file,
               lq_type_name(t->type));
    tr->to_float(src, dst, n);
    return LQ_OK;
}

void lq_source_position(const lq_source *s, int64_t i, int64_t row, int64_t col,
                        int64_t *src_row, int64_t *src_col)
{
    const struct lq_source_tensor *t = lq_source_tensor(s, i);
    *src_row = row;
    *src_col = col;
    if (!t || t->permute_heads <= 0) {
        return;
    }
    if (t->n_dims == 1) { /* a q/k bias: its elements are what the permutation moves */
        *src_col = lq_llama_unpermuted_row(col, t->ne[0], t->permute_heads);
    } else {
        *src_row = lq_llama_unpermuted_row(row, n_elements(t) / t->ne[0], t->permute_heads);
    }
}

lq_status lq_source_nonfinite_error(const lq_source *s, int64_t i, int64_t row, int64_t col,
                                    float v, const char *why, struct lq_error *err)
{
    const struct lq_source_tensor *t = lq_source_tensor(s, i);
    int64_t r, c;
    lq_source_position(s, i, row, col, &r, &c);
    char what[48];
    if (isfinite(v)) {
        snprintf(what, sizeof what, "value %g", (double)v);
    } else {
        snprintf(what, sizeof what, "%s", isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
    }
    const bool renamed = strcmp(t->src_name, t->name) != 0;
    return lqi_set_error(err, LQ_E_RANGE, "%s: tensor '%s'%s%s%s: %s at row %lld, column %lld%s%s",
                         t->file, t->src_name, renamed ? " (GGUF '" : "", renamed ? t->name : "",
                         renamed ? "')" : "", what, (long long)r, (long long)c, why ? ": " : "",
                         why ? why : "");
}

lq_status lq_source_check_finite(const lq_source *s, int64_t i, const float *x,
                                 struct lq_error *err)
{
    const struct lq_source_tensor *t = lq_source_tensor(s, i);
    LQ_FAIL_IF(!t || !x, err, LQ_E_INVALID_ARG, "source: bad tensor id %lld", (long long)i);
    const int64_t n = n_elements(t), ncols = t->ne[0] ? t->ne[0] : 1;
    for (int64_t k = 0; k < n; k++) {
        if (!isfinite(x[k])) {
            return lq_source_nonfinite_error(s, i, k / ncols, k % ncols, x[k], NULL, err);
        }
    }
    return LQ_OK;
}

/* Gemma's norms: x + 1 in float, as llama.cpp's converter writes them (its lazy tensors reach
 * the addition as float32: rounding the sum to BF16 does not give f16.json's bytes). */
static void add_one(float *x, int64_t n)
{
    for (int64_t k = 0; k < n; k++) {
        x[k] += 1.0f;
    }
}

/* The values of a tensor generated from config.json (data == NULL). */
static const float *generated(const lq_source *s, const struct lq_source_tensor *t)
{
    if (strcmp(t->name, "rope_factors_long.weight") == 0) {
        return s->rope.factors_long;
    }
    if (strcmp(t->name, "rope_factors_short.weight") == 0) {
        return s->rope.factors_short;
    }
    return s->rope_freqs;
}

/* The decoders read blocks and elements as C objects: data that a GGUF file aligned to less
 * than them (general.alignment 1 is legal) is decoded from an aligned copy. */
#define DECODE_ALIGN 16

/* Decodes tensor t whose bytes are at data (aligned) into dst. */
static lq_status read_f32_from(const lq_source *s, int64_t i, const unsigned char *data,
                               float *dst, bool finite, struct lq_error *err)
{
    const struct lq_source_tensor *t = lq_source_tensor(s, i);
    int64_t ncols = t->ne[0];
    int64_t nrows = n_elements(t) / (ncols ? ncols : 1);
    if (!data) { /* generated (rope factors) */
        memcpy(dst, generated(s, t), (size_t)n_elements(t) * sizeof(float));
    } else if (t->permute_heads <= 0) {
        LQ_TRY(decode_row(t, data, dst, n_elements(t), err));
        if (t->add_one) {
            add_one(dst, n_elements(t));
        }
    } else {
        /* q/k rows (or bias elements) move to their GGUF position one at a time */
        bool bias = t->n_dims == 1;
        int64_t rows = bias ? ncols : nrows, cols = bias ? 1 : ncols;
        size_t row_bytes = lq_row_size(t->type, cols);
        for (int64_t r = 0; r < rows; r++) {
            int64_t to = lq_llama_permuted_row(r, rows, t->permute_heads);
            LQ_TRY(decode_row(t, data + (size_t)r * row_bytes, dst + to * cols, cols, err));
        }
    }
    return finite ? lq_source_check_finite(s, i, dst, err) : LQ_OK;
}

/* A stack of experts: each expert's bytes in turn. */
static void gather_parts(const struct lq_source_tensor *t, unsigned char *dst)
{
    const size_t part = t->nbytes / (size_t)t->ne[2];
    for (int64_t e = 0; e < t->ne[2]; e++) {
        memcpy(dst + (size_t)e * part, t->parts[e], part);
    }
}

lq_status lq_source_read_f32(const lq_source *s, int64_t i, float *dst, bool finite,
                             struct lq_error *err)
{
    const struct lq_source_tensor *t = lq_source_tensor(s, i);
    LQ_FAIL_IF(!t || !dst, err, LQ_E_INVALID_ARG, "source: bad tensor id %lld", (long long)i);
    if (!t->parts && (!t->data || (uintptr_t)t->data % DECODE_ALIGN == 0)) {
        return read_f32_from(s, i, t->data, dst, finite, err);
    }
    unsigned char *copy = lqi_malloc(t->nbytes ? t->nbytes : 1); /* malloc aligns to 16 */
    LQ_FAIL_IF(!copy, err, LQ_E_NOMEM, "%s: out of memory for tensor '%s'", t->file, t->name);
    if (t->parts) {
        gather_parts(t, copy);
    } else {
        memcpy(copy, t->data, t->nbytes);
    }
    lq_status rc = read_f32_from(s, i, copy, dst, finite, err);
    lqi_free(copy);
    return rc;
}

/* Where source row sr of tensor t starts (experts: in its own part). */
static const unsigned char *source_row(const struct lq_source_tensor *t, int64_t sr,
                                       int64_t rows_per_part, size_t row_bytes)
{
    const unsigned char *base = t->parts ? t->parts[sr / rows_per_part] : t->data;
    return base + (size_t)(sr % rows_per_part) * row_bytes;
}

lq_status lq_source_read_f32_rows(const lq_source *s, int64_t i, int64_t row0, int64_t nrows,
                                  float *dst, struct lq_error *err)
{
    const struct lq_source_tensor *t = lq_source_tensor(s, i);
    LQ_FAIL_IF(!t || !dst, err, LQ_E_INVALID_ARG, "source: bad tensor id %lld", (long long)i);
    const int64_t ncols = t->ne[0] > 0 ? t->ne[0] : 1, total = n_elements(t) / ncols;
    LQ_FAIL_IF(row0 < 0 || nrows < 0 || row0 > total || nrows > total - row0, err,
               LQ_E_INVALID_ARG, "tensor '%s': rows %lld..%lld of %lld", t->name,
               (long long)row0, (long long)(row0 + nrows), (long long)total);
    if (!t->data || (t->n_dims == 1 && t->permute_heads > 0)) {
        /* generated, or a permuted bias (its elements move): small, read whole */
        LQ_FAIL_IF(row0 != 0 || nrows != total, err, LQ_E_INVALID_ARG,
                   "tensor '%s': read whole, not by rows", t->name);
        return lq_source_read_f32(s, i, dst, false, err);
    }
    const size_t row_bytes = lq_row_size(t->type, ncols);
    const int64_t per_part = t->parts ? total / t->ne[2] : total;
    unsigned char *tmp = NULL; /* an aligned copy of rows that are not */
    lq_status rc = LQ_OK;
    for (int64_t g = row0; g < row0 + nrows && rc == LQ_OK;) {
        int64_t sr, sc;
        lq_source_position(s, i, g, 0, &sr, &sc);
        int64_t run = 1; /* unpermuted rows run on to the end of the range or of the part */
        if (t->permute_heads <= 0) {
            run = row0 + nrows - g;
            run = run < per_part - sr % per_part ? run : per_part - sr % per_part;
        }
        const unsigned char *p = source_row(t, sr, per_part, row_bytes);
        if ((uintptr_t)p % DECODE_ALIGN) {
            if (!tmp) {
                tmp = lqi_malloc((size_t)nrows * row_bytes);
                if (!tmp) {
                    rc = lqi_set_error(err, LQ_E_NOMEM, "%s: out of memory for tensor '%s'",
                                       t->file, t->name);
                    break;
                }
            }
            memcpy(tmp, p, (size_t)run * row_bytes);
            p = tmp;
        }
        rc = decode_row(t, p, dst + (g - row0) * ncols, run * ncols, err);
        g += run;
    }
    lqi_free(tmp);
    if (rc == LQ_OK && t->add_one) {
        add_one(dst, nrows * ncols);
    }
    return rc;
}

lq_status lq_source_read_raw(const lq_source *s, int64_t i, void *dst, struct lq_error *err)
{
    const struct lq_source_tensor *t = lq_source_tensor(s, i);
    LQ_FAIL_IF(!t || !dst, err, LQ_E_INVALID_ARG, "source: bad tensor id %lld", (long long)i);
    if (!t->data) {
        memcpy(dst, generated(s, t), t->nbytes);
    } else if (t->parts) {
        gather_parts(t, dst);
    } else if (t->add_one) { /* stored + 1, rounded to the stored type (bytes as stored) */
        const struct lq_type_traits *tr = lq_type_traits_get(t->type);
        const int64_t n = n_elements(t);
        LQ_FAIL_IF(!tr || (t->type != LQ_TYPE_F32 && !tr->from_float_ref), err,
                   LQ_E_UNSUPPORTED, "tensor '%s' (%s): type %s cannot hold w + 1", t->name,
                   t->file, lq_type_name(t->type));
        float *f = lqi_malloc((size_t)(n > 0 ? n : 1) * sizeof *f);
        LQ_FAIL_IF(!f, err, LQ_E_NOMEM, "%s: out of memory for tensor '%s'", t->file, t->name);
        lq_status rc = lq_source_read_f32(s, i, f, false, err);
        if (rc == LQ_OK && t->type == LQ_TYPE_F32) {
            memcpy(dst, f, t->nbytes);
        } else if (rc == LQ_OK) {
            tr->from_float_ref(f, dst, n);
        }
        lqi_free(f);
        return rc;
    } else if (t->permute_heads <= 0) {
        memcpy(dst, t->data, t->nbytes);
    } else {
        bool bias = t->n_dims == 1;
        int64_t rows = bias ? t->ne[0] : n_elements(t) / t->ne[0];
        lq_llama_permute_rows(t->data, dst, rows, t->nbytes / (size_t)rows, t->permute_heads);
    }
    return LQ_OK;
}

static void release_range(const void *data, size_t nbytes)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)data + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)data + nbytes) & ~(page - 1);
    if (end > start) {
        madvise((void *)start, end - start, MADV_DONTNEED);
    }
}

void lq_source_release_rows(const lq_source *s, int64_t i, int64_t row0, int64_t nrows)
{
    const struct lq_source_tensor *t = lq_source_tensor(s, i);
    if (!t || !t->data || t->permute_heads > 0 || t->ne[0] <= 0 || row0 < 0 || nrows <= 0) {
        return; /* released whole by lq_source_release */
    }
    const int64_t total = n_elements(t) / t->ne[0];
    if (row0 >= total || nrows > total - row0) {
        return;
    }
    const size_t row_bytes = lq_row_size(t->type, t->ne[0]);
    const int64_t per_part = t->parts ? total / t->ne[2] : total;
    for (int64_t r = row0; r < row0 + nrows;) { /* each expert's rows are its own mapping */
        const int64_t in_part = r % per_part;
        const int64_t left = row0 + nrows - r;
        const int64_t run = left < per_part - in_part ? left : per_part - in_part;
        release_range(source_row(t, r, per_part, row_bytes), (size_t)run * row_bytes);
        r += run;
    }
}

void lq_source_release(const lq_source *s, int64_t i)
{
    const struct lq_source_tensor *t = lq_source_tensor(s, i);
    if (!t || !t->data || t->nbytes == 0) {
        return;
    }
    const int64_t n = t->parts ? t->ne[2] : 1;
    const size_t len = t->nbytes / (size_t)n;
    for (int64_t e = 0; e < n; e++) {
        release_range(t->parts ? t->parts[e] : t->data, len);
    }
}

lq_status lq_source_write_metadata(const lq_source *s, lq_gguf_writer *w, struct lq_error *err)
{
    switch (s->kind) {
    case LQ_SOURCE_GGUF: return lqi_source_meta_gguf(s, w, err);
    case LQ_SOURCE_LLAMA2C: return lqi_source_meta_llama2c(s, w, err);
    default: return lqi_source_meta_hf(s, w, err);
    }
}
