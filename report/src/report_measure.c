/* report_measure.c - per-tensor error and hashes of a job's file against the reference, and
 * the reference's fingerprint. Both read GGUF files, so every kind of job is measured the
 * same way, whatever made its file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "lq/gguf.h"
#include "lq/recipe.h"
#include "lqi.h"
#include "report_impl.h"

/* Elements decoded at a time per tensor (whole rows; bounds the scratch memory). */
#define MEASURE_CHUNK ((int64_t)1 << 20)

void lqi_hex64(uint64_t v, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)v);
}

static int64_t n_elements(const struct lq_gguf_tensor_info *t)
{
    int64_t n = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        n *= t->ne[d];
    }
    return n;
}

static bool same_shape(const struct lq_gguf_tensor_info *a, const struct lq_gguf_tensor_info *b)
{
    return a->n_dims == b->n_dims && memcmp(a->ne, b->ne, sizeof a->ne) == 0;
}

// ---- fingerprint ----------------------------------------------------------------------------

static void hash_tensor(XXH3_state_t *st, const struct lq_gguf_tensor_info *t)
{
    unsigned char hdr[4 + 4 + 8 * LQ_GGUF_MAX_DIMS];
    lqi_wr_u32(hdr, (uint32_t)t->type);
    lqi_wr_u32(hdr + 4, t->n_dims);
    for (int d = 0; d < LQ_GGUF_MAX_DIMS; d++) {
        lqi_wr_u64(hdr + 8 + 8 * d, (uint64_t)t->ne[d]);
    }
    XXH3_64bits_update(st, t->name, strlen(t->name) + 1);
    XXH3_64bits_update(st, hdr, sizeof hdr);
    if (t->data) {
        XXH3_64bits_update(st, t->data, t->nbytes);
    }
}

static int by_name(const void *a, const void *b)
{
    const struct lq_gguf_tensor_info *x = *(const struct lq_gguf_tensor_info *const *)a;
    const struct lq_gguf_tensor_info *y = *(const struct lq_gguf_tensor_info *const *)b;
    return strcmp(x->name, y->name);
}

/* Tensors are hashed in name order: converters order a file's tensors differently (llama.cpp's
 * convert_hf_to_gguf.py and lq_convert_run do) without changing the model. */
lq_status lqi_report_fingerprint(const char *path, struct lq_report_model *m, struct lq_error *err)
{
    lq_gguf *g = NULL;
    LQ_TRY(lq_gguf_open(path, &g, err));
    m->n_tensors = lq_gguf_n_tensors(g);
    XXH3_state_t *st = XXH3_createState();
    const struct lq_gguf_tensor_info **ts = lqi_calloc((size_t)m->n_tensors + 1, sizeof *ts);
    if (!st || !ts) {
        XXH3_freeState(st);
        lqi_free(ts);
        lq_gguf_free(g);
        return lqi_set_error(err, LQ_E_NOMEM, "out of memory");
    }
    XXH3_64bits_reset(st);
    m->n_params = 0;
    for (int64_t i = 0; i < m->n_tensors; i++) {
        ts[i] = lq_gguf_tensor(g, i);
        m->n_params += n_elements(ts[i]);
    }
    qsort(ts, (size_t)m->n_tensors, sizeof *ts, by_name);
    for (int64_t i = 0; i < m->n_tensors; i++) {
        hash_tensor(st, ts[i]);
    }
    m->xxh3 = XXH3_64bits_digest(st);
    lqi_free(ts);
    XXH3_freeState(st);
    lq_gguf_free(g);
    return LQ_OK;
}

// ---- per-tensor error -----------------------------------------------------------------------

/* Decodes both tensors a chunk of rows at a time and accumulates the error of q against b. */
static lq_status compare_tensor(const struct lq_gguf_tensor_info *b,
                                const struct lq_gguf_tensor_info *q, float *xb, float *xq,
                                struct lq_quant_stats *s, struct lq_error *err)
{
    const int64_t n_per_row = q->ne[0], n = n_elements(q);
    int64_t rows = n_per_row > 0 ? MEASURE_CHUNK / n_per_row : 0;
    rows = rows > 0 ? rows : 1;
    const size_t rb_b = lq_row_size(b->type, n_per_row), rb_q = lq_row_size(q->type, n_per_row);
    LQ_FAIL_IF(n_per_row > 0 && (!rb_b || !rb_q), err, LQ_E_UNSUPPORTED,
               "report: tensor '%s': row length %lld does not fit its type", q->name,
               (long long)n_per_row);
    for (int64_t r0 = 0; n_per_row > 0 && r0 * n_per_row < n; r0 += rows) {
        int64_t nr = (n / n_per_row - r0) < rows ? n / n_per_row - r0 : rows;
        const unsigned char *pb = (const unsigned char *)b->data + (size_t)r0 * rb_b;
        const unsigned char *pq = (const unsigned char *)q->data + (size_t)r0 * rb_q;
        LQ_TRY(lq_dequantize_rows(b->type, pb, xb, nr * n_per_row, err));
        LQ_TRY(lq_dequantize_rows(q->type, pq, xq, nr * n_per_row, err));
        lq_quant_stats_add(s, xb, xq, nr * n_per_row);
    }
    return LQ_OK;
}

/* The three tensors with the largest relative RMSE. */
static void find_worst(struct lq_report_entry *e)
{
    for (int k = 0; k < 3; k++) {
        e->worst[k] = -1;
        for (int64_t i = 0; i < e->n_tensors; i++) {
            const struct lq_report_tensor *t = &e->tensors[i];
            bool taken = (k > 0 && e->worst[0] == i) || (k > 1 && e->worst[1] == i);
            if (!t->compared || taken || t->stats.rmse <= 0) {
                continue;
            }
            if (e->worst[k] < 0 || t->stats.rel_rmse > e->tensors[e->worst[k]].stats.rel_rmse) {
                e->worst[k] = i;
            }
        }
    }
}

/* One allocation for the tensor rows and their names. */
static lq_status alloc_tensors(const lq_gguf *q, struct report_job *j, struct lq_error *err)
{
    const int64_t n = lq_gguf_n_tensors(q);
    size_t names = 0;
    for (int64_t i = 0; i < n; i++) {
        names += strlen(lq_gguf_tensor(q, i)->name) + 1;
    }
    lqi_free(j->tensors);
    j->tensors = lqi_calloc(1, (size_t)n * sizeof *j->tensors + names);
    LQ_FAIL_IF(!j->tensors, err, LQ_E_NOMEM, "out of memory");
    char *p = (char *)(j->tensors + n);
    for (int64_t i = 0; i < n; i++) {
        const struct lq_gguf_tensor_info *t = lq_gguf_tensor(q, i);
        size_t len = strlen(t->name) + 1;
        memcpy(p, t->name, len);
        j->tensors[i] = (struct lq_report_tensor){
            .name = p,
            .type = t->type,
            .n_elements = n_elements(t),
            .nbytes = t->nbytes,
            .xxh3 = t->data ? XXH3_64bits(t->data, t->nbytes) : XXH3_64bits(NULL, 0),
        };
        lq_quant_stats_init(&j->tensors[i].stats);
        p += len;
    }
    j->e.tensors = j->tensors;
    j->e.n_tensors = n;
    return LQ_OK;
}

static lq_status measure_all(const lq_gguf *b, const lq_gguf *q, struct report_job *j,
                             struct lq_error *err)
{
    LQ_TRY(alloc_tensors(q, j, err));
    float *xb = lqi_malloc(2 * (size_t)MEASURE_CHUNK * sizeof(float));
    LQ_FAIL_IF(!xb, err, LQ_E_NOMEM, "out of memory");
    lq_status s = LQ_OK;
    for (int64_t i = 0; s == LQ_OK && i < j->e.n_tensors; i++) {
        struct lq_report_tensor *t = &j->tensors[i];
        j->e.data_bytes += t->nbytes;
        j->e.n_params += t->n_elements;
        const struct lq_gguf_tensor_info *ti = lq_gguf_tensor(q, i);
        int64_t bi = b != q ? lq_gguf_find_tensor(b, t->name) : -1;
        const struct lq_gguf_tensor_info *tb = bi >= 0 ? lq_gguf_tensor(b, bi) : NULL;
        if (tb && same_shape(tb, ti) && ti->ne[0] <= MEASURE_CHUNK && tb->data && ti->data) {
            s = compare_tensor(tb, ti, xb, xb + MEASURE_CHUNK, &t->stats, err);
            t->compared = s == LQ_OK;
        }
    }
    lqi_free(xb);
    return s;
}

/* The reference is named by its file type ("f16"), read from general.file_type. */
static lq_status name_base(const lq_gguf *g, struct report_job *j, struct lq_error *err)
{
    uint64_t ft = 0;
    const char *name = "reference";
    if (lq_gguf_get_u64(g, "general.file_type", &ft, NULL) == LQ_OK &&
        strcmp(lq_ftype_name((enum lq_ftype)ft), "unknown") != 0) {
        name = lq_ftype_name((enum lq_ftype)ft);
    }
    lqi_free(j->name);
    j->name = lqi_strdup(name);
    LQ_FAIL_IF(!j->name, err, LQ_E_NOMEM, "out of memory");
    for (char *c = j->name; *c; c++) {
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    }
    j->e.name = j->name;
    return LQ_OK;
}

lq_status lqi_report_measure(const char *base_path, struct report_job *j, struct lq_error *err)
{
    const bool is_base = strcmp(j->e.kind, "base") == 0;
    lq_gguf *b = NULL, *q = NULL;
    lq_status s = lq_gguf_open(base_path, &b, err);
    if (s == LQ_OK && !is_base) {
        s = lq_gguf_open(j->path, &q, err);
    }
    if (s == LQ_OK) {
        j->e.data_bytes = 0;
        j->e.n_params = 0;
        s = measure_all(b, is_base ? b : q, j, err);
    }
    if (s == LQ_OK && is_base) {
        s = name_base(b, j, err);
    }
    if (s == LQ_OK) {
        j->e.file_bytes = lq_gguf_file_size(is_base ? b : q);
        j->e.bpw = j->e.n_params ? (double)j->e.data_bytes * 8.0 / (double)j->e.n_params : 0;
        find_worst(&j->e);
    }
    lq_gguf_free(q);
    lq_gguf_free(b);
    return s;
}
