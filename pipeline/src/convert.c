/* convert.c - the streaming convert/quantize pass: source tensors -> recipe types -> GGUF. */
#include "lq/convert.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lq/family.h"
#include "lq/gguf_writer.h"
#include "lqi.h"

struct lq_convert_params lq_convert_params_default(void)
{
    struct lq_convert_params p = {
        .ftype = LQ_FTYPE_MOSTLY_F16,
        .output_tensor_type = -1,
        .token_embedding_type = -1,
        .nthreads = 1,
    };
    return p;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int64_t n_elements(const struct lq_source_tensor *t)
{
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

/* Rows of ne[0] values (0 for a tensor without values: nothing to divide by). */
static int64_t n_rows_of(const struct lq_source_tensor *t)
{
    return t->ne[0] > 0 ? n_elements(t) / t->ne[0] : 0;
}

static struct lq_recipe_params recipe_params(const lq_source *src, const struct lq_convert_params *p)
{
    const struct lq_llama_hparams *hp = lq_source_hparams(src);
    struct lq_recipe_params rp = lq_recipe_params_default();
    rp.ftype = p->ftype;
    rp.output_tensor_type = p->output_tensor_type;
    rp.token_embedding_type = p->token_embedding_type;
    rp.pure = p->pure;
    rp.has_imatrix = p->imatrix != NULL || p->importance_supplied;
    rp.n_layer = (int)hp->n_layer;
    rp.n_head = (int)hp->n_head;
    rp.n_head_kv = (int)hp->n_head_kv;
    rp.n_expert = hp->n_expert;
    const struct lq_family *f = lq_source_family(src);
    rp.is_70b = f && f->recipe_70b && hp->n_layer == 80 && hp->n_head != hp->n_head_kv;
    return rp;
}

/* Tensor ids in llama-quantize's order (a stable merge sort of ids: qsort has no context
 * argument to reach the names through). */
static void merge_sort_ids(const lq_source *src, int64_t *ids, int64_t *tmp, int64_t n)
{
    if (n < 2) {
        return;
    }
    int64_t h = n / 2;
    merge_sort_ids(src, ids, tmp, h);
    merge_sort_ids(src, ids + h, tmp, n - h);
    int64_t a = 0, b = h, k = 0;
    while (a < h || b < n) {
        bool take_a = b >= n || (a < h && lq_recipe_compare_names(lq_source_tensor(src, ids[a])->name,
                                                                  lq_source_tensor(src, ids[b])->name) <= 0);
        tmp[k++] = take_a ? ids[a++] : ids[b++];
    }
    memcpy(ids, tmp, (size_t)n * sizeof *ids);
}

static bool sort_by_recipe_order(const lq_source *src, int64_t *order, int64_t n)
{
    int64_t *tmp = lqi_calloc((size_t)(n ? n : 1), sizeof *tmp);
    for (int64_t i = 0; tmp && i < n; i++) {
        order[i] = i;
    }
    if (tmp) {
        merge_sort_ids(src, order, tmp, n);
    }
    lqi_free(tmp);
    return tmp != NULL;
}

lq_status lq_convert_plan(const lq_source *src, const struct lq_convert_params *p,
                          enum lq_type *out_types, int *n_fallback, struct lq_error *err)
{
    int64_t n = lq_source_n_tensors(src);
    struct lq_recipe_tensor *ts = lqi_calloc((size_t)(n ? n : 1), sizeof *ts);
    int64_t *order = lqi_calloc((size_t)(n ? n : 1), sizeof *order);
    enum lq_type *planned = lqi_calloc((size_t)(n ? n : 1), sizeof *planned);
    if (!ts || !order || !planned || !sort_by_recipe_order(src, order, n)) {
        lqi_free(ts);
        lqi_free(order);
        lqi_free(planned);
        return lqi_set_error(err, LQ_E_NOMEM, "out of memory");
    }
    /* the recipe's counters follow llama-quantize's order (order[]: by block, then name),
     * whatever order the output is written in (a folder keeps llama.cpp's converter's) */
    for (int64_t k = 0; k < n; k++) {
        const int64_t i = order[k];
        const struct lq_source_tensor *t = lq_source_tensor(src, i);
        ts[k].name = t->name;
        ts[k].n_dims = t->n_dims;
        memcpy(ts[k].ne, t->ne, sizeof ts[k].ne);
        ts[k].type = t->type;
        ts[k].override_type = p->type_override ? p->type_override(t->name, p->type_override_user)
                                               : -1;
    }
    struct lq_recipe_params rp = recipe_params(src, p);
    lq_status rc = lq_recipe_plan(&rp, ts, (size_t)n, planned, n_fallback, err);
    bool converted = lq_source_get_kind(src) != LQ_SOURCE_GGUF;
    for (int64_t k = 0; rc == LQ_OK && k < n; k++) {
        out_types[order[k]] = planned[k];
    }
    for (int64_t k = 0; rc == LQ_OK && k < n; k++) {
        const int64_t i = order[k];
        /* tensors a recipe leaves alone are stored as F32 when converting from a checkpoint,
         * as llama.cpp's converter does for norms and other 1-D tensors */
        if (converted && !lq_recipe_allows_quantization(&rp, &ts[k])) {
            out_types[i] = LQ_TYPE_F32;
        }
        const struct lq_type_traits *tr = lq_type_traits_get(out_types[i]);
        if (!tr || (out_types[i] != ts[k].type && !tr->from_float_ref && !tr->quantize)) {
            rc = lqi_set_error(err, LQ_E_UNSUPPORTED, "tensor '%s': cannot write type %s",
                               ts[k].name, lq_type_name(out_types[i]));
        }
    }
    lqi_free(ts);
    lqi_free(order);
    lqi_free(planned);
    return rc;
}

/* A key the source's metadata placed (a converted checkpoint has general.file_type where
 * llama.cpp's converter writes it) keeps its place; otherwise it is appended, as
 * llama-quantize appends it. */
static lq_status set_u32_in_place(lq_gguf_writer *w, const char *key, uint32_t v,
                                  struct lq_error *err)
{
    if (lq_gguf_writer_find_key(w, key) < 0) {
        return lq_gguf_writer_set_u32(w, key, v, err);
    }
    struct lq_gguf_value val = { .type = LQ_GGUF_UINT32, .v.u32 = v };
    return lq_gguf_writer_replace_value(w, key, &val, err);
}

/* Metadata and tensor infos, declared but not yet written. */
static lq_status declare_header(const lq_source *src, lq_gguf_writer *w,
                                const struct lq_convert_params *p, const enum lq_type *types,
                                struct lq_error *err)
{
    LQ_TRY(lq_source_write_metadata(src, w, err));
    LQ_TRY(set_u32_in_place(w, "general.quantization_version", 2, err));
    LQ_TRY(set_u32_in_place(w, "general.file_type", (uint32_t)p->ftype, err));
    if (p->imatrix) {
        const lq_imatrix *im = p->imatrix;
        if (p->imatrix_path) {
            LQ_TRY(lq_gguf_writer_set_str(w, "quantize.imatrix.file", p->imatrix_path, err));
        }
        if (lq_imatrix_dataset(im)) {
            LQ_TRY(lq_gguf_writer_set_str(w, "quantize.imatrix.dataset", lq_imatrix_dataset(im),
                                          err));
        }
        /* UINT32, as llama-quantize writes integer overrides since llama.cpp PR 14182 */
        LQ_TRY(lq_gguf_writer_set_u32(w, "quantize.imatrix.entries_count",
                                      (uint32_t)lq_imatrix_n_entries(im), err));
        LQ_TRY(lq_gguf_writer_set_u32(w, "quantize.imatrix.chunks_count",
                                      lq_imatrix_chunk_count(im), err));
    }
    if (p->add_metadata) {
        LQ_TRY(p->add_metadata(w, p->add_metadata_user, err));
    }
    for (int64_t i = 0; i < lq_source_n_tensors(src); i++) {
        const struct lq_source_tensor *t = lq_source_tensor(src, i);
        LQ_TRY(lq_gguf_writer_add_tensor(w, t->name, types[i], (uint32_t)t->n_dims, t->ne, NULL,
                                         err));
    }
    return LQ_OK;
}

lq_status lq_convert_file_size(const lq_source *src, const struct lq_convert_params *p,
                               const enum lq_type *types, uint64_t *size, struct lq_error *err)
{
    LQ_FAIL_IF(!src || !p || !types || !size, err, LQ_E_INVALID_ARG, "convert: NULL argument");
    lq_gguf_writer *w = NULL;
    LQ_TRY(lq_gguf_writer_open_memory(&w, err));
    lq_status rc = declare_header(src, w, p, types, err);
    if (rc == LQ_OK) {
        rc = lq_gguf_writer_file_size(w, size, err);
    }
    lq_gguf_writer_free(w);
    return rc;
}

/* Buffers reused across tensors, grown to the largest one. */
struct work {
    float *f32;
    size_t f32_cap;
    void *out;
    size_t out_cap;
    float *deq;
    size_t deq_cap;
    float *imat;
    size_t imat_cap;
};

static void work_free(struct work *wk)
{
    lqi_free(wk->f32);
    lqi_free(wk->out);
    lqi_free(wk->deq);
    lqi_free(wk->imat);
}

/* Error of the written bytes against the source floats, n values of a piece, merged into
 * the tensor's. */
static lq_status measure(struct work *wk, enum lq_type type, int64_t n,
                         struct lq_convert_tensor_report *r, struct lq_error *err)
{
    if (!lqi_grow((void **)&wk->deq, &wk->deq_cap, (size_t)n * sizeof(float))) {
        return lqi_set_error(err, LQ_E_NOMEM, "out of memory");
    }
    LQ_TRY(lq_dequantize_rows(type, wk->out, wk->deq, n, err));
    struct lq_quant_stats part;
    lq_quant_stats_init(&part);
    for (int64_t i = 0; i < n; i++) {
        double x = wk->f32[i], e = x - wk->deq[i];
        part.sum_x2 += x * x;
        part.sum_err2 += e * e;
        part.max_abs_err = fabs(e) > part.max_abs_err ? fabs(e) : part.max_abs_err;
    }
    part.n = n;
    if (!r->have_stats) {
        lq_quant_stats_init(&r->stats);
    }
    lq_quant_stats_merge(&r->stats, &part);
    r->have_stats = true;
    return LQ_OK;
}

/* Importance weights for tensor t, or NULL when none apply (llama.cpp skips a weight whose
 * imatrix entry is missing; a size mismatch is an error except for the token embedding). */
static lq_status imatrix_for(const struct lq_convert_params *p, const struct lq_source_tensor *t,
                             struct work *wk, const float **out, struct lq_error *err)
{
    *out = NULL;
    const struct lq_imatrix_entry *e = p->imatrix ? lq_imatrix_find(p->imatrix, t->name) : NULL;
    if (!e) {
        return LQ_OK;
    }
    int64_t need = t->ne[0] * t->ne[2];
    if (e->n_per_row * e->n_mat != need) {
        LQ_FAIL_IF(strcmp(t->name, "token_embd.weight") != 0, err, LQ_E_FORMAT,
                   "imatrix entry '%s' has %lld values, the tensor needs %lld", t->name,
                   (long long)(e->n_per_row * e->n_mat), (long long)need);
        return LQ_OK;
    }
    if (!lqi_grow((void **)&wk->imat, &wk->imat_cap, (size_t)need * sizeof(float))) {
        return lqi_set_error(err, LQ_E_NOMEM, "out of memory");
    }
    LQ_TRY(lq_imatrix_weights(p->imatrix, t->name, wk->imat, need, err));
    *out = wk->imat;
    return LQ_OK;
}

/* Index of the largest |x| in the block of `blck` values holding column c of a row. */
static int64_t block_argmax(const float *row, int64_t c, int64_t blck)
{
    int64_t b0 = c - c % blck, best = b0;
    for (int64_t k = b0; k < b0 + blck; k++) {
        best = fabsf(row[k]) > fabsf(row[best]) ? k : best;
    }
    return best;
}

/* The pass's one NaN/Inf check, on every piece about to be written whatever its path
 * (converted, copied as stored, supplied by the caller, generated): rows row0 .. row0 +
 * nrows - 1 of tensor i; the source floats when they were read (f32, else NULL), then every
 * output row, since finite values can still overflow F16 or a block's fp16 scale.
 * Positions are named as they are in the source. */
static lq_status check_written(const lq_source *src, int64_t i, enum lq_type to,
                               const void *bytes, const float *f32, int64_t row0,
                               int64_t nrows, struct work *wk, struct lq_error *err)
{
    const struct lq_source_tensor *t = lq_source_tensor(src, i);
    const int64_t n_per_row = t->ne[0];
    if (f32) {
        for (int64_t k = 0; k < nrows * n_per_row; k++) {
            if (!isfinite(f32[k])) {
                return lq_source_nonfinite_error(src, i, row0 + k / n_per_row, k % n_per_row,
                                                 f32[k], NULL, err);
            }
        }
    }
    const size_t row_bytes = lq_row_size(to, n_per_row);
    for (int64_t r = 0; r < nrows; r++) {
        const char *row = (const char *)bytes + (size_t)r * row_bytes;
        if (lq_validate_row_data(to, row, row_bytes)) {
            continue;
        }
        if (!lqi_grow((void **)&wk->deq, &wk->deq_cap, (size_t)n_per_row * sizeof(float))) {
            return lqi_set_error(err, LQ_E_NOMEM, "tensor '%s': out of memory", t->name);
        }
        LQ_TRY(lq_dequantize_rows(to, row, wk->deq, n_per_row, err));
        int64_t c = 0;
        while (c < n_per_row - 1 && isfinite(wk->deq[c])) {
            c++;
        }
        if (!f32) {
            return lq_source_nonfinite_error(src, i, row0 + r, c, wk->deq[c], NULL, err);
        }
        const float *x = f32 + r * n_per_row;
        c = block_argmax(x, c, lq_type_traits_get(to)->blck_size);
        char why[64];
        snprintf(why, sizeof why, "too large for %s", lq_type_name(to));
        return lq_source_nonfinite_error(src, i, row0 + r, c, x[c], why, err);
    }
    return LQ_OK;
}

/* Values per piece of a converted tensor by default (16 Mi: 64 MiB of F32): a large tensor
 * (an 8B model's 128256 x 4096 embedding is 2 GiB of F32) streams through in pieces of whole
 * rows, so the pass holds one piece, not one tensor. */
#define PIECE_VALUES ((int64_t)1 << 24)

/* Rows row0 .. row0 + nrows - 1 (within one expert, imat its importance weights) of tensor
 * i converted to `to`, checked and appended to the output. */
static lq_status convert_piece(const lq_source *src, lq_gguf_writer *w, int64_t i,
                               enum lq_type to, int64_t row0, int64_t nrows, const float *imat,
                               const struct lq_convert_params *p, struct work *wk,
                               struct lq_convert_tensor_report *r, struct lq_error *err)
{
    const struct lq_source_tensor *t = lq_source_tensor(src, i);
    const int64_t n_per_row = t->ne[0], n = nrows * n_per_row;
    const size_t out_bytes = lq_row_size(to, n_per_row) * (size_t)nrows;
    if (!lqi_grow((void **)&wk->f32, &wk->f32_cap, (size_t)(n ? n : 1) * sizeof(float)) ||
        !lqi_grow(&wk->out, &wk->out_cap, out_bytes ? out_bytes : 1)) {
        return lqi_set_error(err, LQ_E_NOMEM, "tensor '%s': out of memory", t->name);
    }
    LQ_TRY(lq_source_read_f32_rows(src, i, row0, nrows, wk->f32, err));
    struct lq_quantize_params qp = lq_quantize_params_default();
    qp.tensor_name = t->name;
    qp.nthreads = p->nthreads;
    qp.allow_nonfinite = true; /* NaN/Inf are refused by check_written, with positions */
    qp.imatrix = imat;
    size_t written = 0;
    LQ_TRY(lq_quantize_rows(to, wk->f32, nrows, n_per_row, wk->out, out_bytes, &qp, &written,
                            err));
    LQ_FAIL_IF(written != out_bytes, err, LQ_E_RANGE, "tensor '%s': %zu bytes quantized of %zu",
               t->name, written, out_bytes);
    if (!p->allow_nonfinite) {
        LQ_TRY(check_written(src, i, to, wk->out, wk->f32, row0, nrows, wk, err));
    }
    if (p->stats) {
        LQ_TRY(measure(wk, to, n, r, err));
    }
    LQ_TRY(lq_gguf_writer_write_tensor(w, i, wk->out, out_bytes, err));
    r->bytes_out += out_bytes;
    lq_source_release_rows(src, i, row0, nrows);
    return LQ_OK;
}

static lq_status convert_tensor(const lq_source *src, lq_gguf_writer *w, int64_t i,
                                enum lq_type to, const struct lq_convert_params *p,
                                struct work *wk, struct lq_convert_tensor_report *r,
                                struct lq_error *err)
{
    const struct lq_source_tensor *t = lq_source_tensor(src, i);
    const int64_t n_per_row = t->ne[0], nrows = n_rows_of(t);
    LQ_FAIL_IF(lq_type_traits_get(t->type)->is_quantized && !p->allow_requantize, err,
               LQ_E_UNSUPPORTED,
               "tensor '%s' is already %s: re-quantizing loses accuracy; pass "
               "--allow-requantize to do it anyway", t->name, lq_type_name(t->type));
    const float *imat = NULL;
    LQ_TRY(imatrix_for(p, t, wk, &imat, err));
    /* generated tensors and permuted biases are read whole */
    const bool whole = !t->data || (t->n_dims == 1 && t->permute_heads > 0);
    const int64_t values = p->piece_values > 0 ? p->piece_values : PIECE_VALUES;
    const int64_t piece = whole || n_per_row <= 0 ? nrows
                          : values / n_per_row > 0 ? values / n_per_row : 1;
    /* experts (ne[2] > 1) each use their own slice of the importance weights */
    const int64_t n_exp = t->ne[2] * t->ne[3], rows = n_exp > 0 ? nrows / n_exp : 0;
    for (int64_t e = 0; e < n_exp; e++) {
        const float *ew = imat ? imat + (e % t->ne[2]) * n_per_row : NULL;
        for (int64_t k = 0; k < rows; k += piece) {
            const int64_t nr = rows - k < piece ? rows - k : piece;
            LQ_TRY(convert_piece(src, w, i, to, e * rows + k, nr, ew, p, wk, r, err));
        }
    }
    r->quantized = true;
    r->used_imatrix = imat != NULL;
    return LQ_OK;
}

static lq_status write_tensor(const lq_source *src, lq_gguf_writer *w, int64_t i,
                              enum lq_type to, const struct lq_convert_params *p,
                              struct work *wk, struct lq_convert_tensor_report *r,
                              struct lq_error *err)
{
    const struct lq_source_tensor *t = lq_source_tensor(src, i);
    const void *bytes = NULL;
    size_t nbytes = 0;
    if (p->tensor_data) {
        LQ_TRY(p->tensor_data(t->name, to, &bytes, &nbytes, p->tensor_data_user, err));
    }
    if (bytes) {
        const size_t want = lq_row_size(to, t->ne[0]) * (size_t)(n_elements(t) / t->ne[0]);
        LQ_FAIL_IF(nbytes != want, err, LQ_E_INVALID_ARG,
                   "tensor '%s': %zu bytes supplied, %s needs %zu", t->name, nbytes,
                   lq_type_name(to), want);
        r->quantized = true;
    } else if (to == t->type) {
        /* stored as is: copy the bytes (in GGUF row order) */
        if (!lqi_grow(&wk->out, &wk->out_cap, t->nbytes ? t->nbytes : 1)) {
            return lqi_set_error(err, LQ_E_NOMEM, "tensor '%s': out of memory", t->name);
        }
        LQ_TRY(lq_source_read_raw(src, i, wk->out, err));
        bytes = wk->out;
        nbytes = t->nbytes;
    } else {
        LQ_TRY(convert_tensor(src, w, i, to, p, wk, r, err));
        lq_source_release(src, i);
        return LQ_OK;
    }
    if (!p->allow_nonfinite) {
        LQ_TRY(check_written(src, i, to, bytes, NULL, 0, n_rows_of(t), wk, err));
    }
    r->bytes_out = nbytes;
    LQ_TRY(lq_gguf_writer_write_tensor(w, i, bytes, nbytes, err));
    lq_source_release(src, i);
    return LQ_OK;
}

static lq_status run_tensors(const lq_source *src, lq_gguf_writer *w, const enum lq_type *types,
                             const struct lq_convert_params *p, struct lq_convert_summary *sum,
                             struct lq_error *err)
{
    struct work wk = { 0 };
    lq_status rc = LQ_OK;
    int64_t n = lq_source_n_tensors(src);
    for (int64_t i = 0; i < n && rc == LQ_OK; i++) {
        const struct lq_source_tensor *t = lq_source_tensor(src, i);
        struct lq_convert_tensor_report r = {
            .index = i, .n_tensors = n, .name = t->name, .n_dims = t->n_dims,
            .from = t->type, .to = types[i], .bytes_in = t->nbytes,
        };
        memcpy(r.ne, t->ne, sizeof r.ne);
        double t0 = now_seconds();
        rc = write_tensor(src, w, i, types[i], p, &wk, &r, err);
        r.seconds = now_seconds() - t0;
        if (rc == LQ_OK) {
            sum->bytes_in += r.bytes_in;
            sum->bytes_out += r.bytes_out;
            sum->n_params += n_elements(t);
            if (p->on_tensor) {
                p->on_tensor(&r, p->on_tensor_user);
            }
        }
    }
    work_free(&wk);
    return rc;
}

lq_status lq_convert_run(const lq_source *src, const char *out_path,
                         const struct lq_convert_params *p, struct lq_convert_summary *summary,
                         struct lq_error *err)
{
    LQ_FAIL_IF(!src || !out_path || !p, err, LQ_E_INVALID_ARG, "convert: NULL argument");
    double t0 = now_seconds();
    int64_t n = lq_source_n_tensors(src);
    struct lq_convert_summary sum = { .n_tensors = n };
    enum lq_type *types = lqi_calloc((size_t)(n ? n : 1), sizeof *types);
    LQ_FAIL_IF(!types, err, LQ_E_NOMEM, "out of memory");
    lq_gguf_writer *w = NULL;
    lq_status rc = lq_convert_plan(src, p, types, &sum.n_fallback, err);
    if (rc == LQ_OK) {
        rc = lq_gguf_writer_open(out_path, &w, err);
    }
    if (rc == LQ_OK) {
        rc = declare_header(src, w, p, types, err);
    }
    if (rc == LQ_OK) {
        rc = lq_gguf_writer_write_header(w, err);
    }
    if (rc == LQ_OK) {
        rc = run_tensors(src, w, types, p, &sum, err);
    }
    if (rc == LQ_OK) {
        rc = lq_gguf_writer_finish(w, err);
    }
    lq_gguf_writer_free(w); /* removes the temporary file unless finished */
    lqi_free(types);
    sum.seconds = now_seconds() - t0;
    if (summary) {
        *summary = sum;
    }
    return rc;
}
