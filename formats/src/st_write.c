/* st_write.c - safetensors writer: header JSON as the reference writer orders and pads it,
 * then the borrowed tensor bytes; output goes through a temporary file and a rename. */
#include "lq/st_writer.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "lqi.h"

/* Rank is the position in the reference writer's Dtype enum (it sorts by it, descending);
 * size 0 marks sub-byte dtypes, which this writer refuses. */
static const struct {
    const char *name;
    int rank;
    unsigned size;
} st_dtypes[] = {
    { "BOOL", 0, 1 },    { "F4", 1, 0 },       { "F6_E2M3", 2, 0 }, { "F6_E3M2", 3, 0 },
    { "U8", 4, 1 },      { "I8", 5, 1 },       { "F8_E5M2", 6, 1 }, { "F8_E4M3", 7, 1 },
    { "F8_E8M0", 8, 1 }, { "I16", 9, 2 },      { "U16", 10, 2 },    { "F16", 11, 2 },
    { "BF16", 12, 2 },   { "I32", 13, 4 },     { "U32", 14, 4 },    { "F32", 15, 4 },
    { "C64", 16, 8 },    { "F64", 17, 8 },     { "I64", 18, 8 },    { "U64", 19, 8 },
};

struct wt {
    struct lq_st_wtensor t; /* name points at the owned copy */
    int rank;
};

struct lq_st_writer {
    struct wt *tensors;
    size_t n, cap;
    json_t *meta; /* object of strings */
};

lq_status lq_st_writer_new(lq_st_writer **out, struct lq_error *err)
{
    LQ_FAIL_IF(!out, err, LQ_E_INVALID_ARG, "safetensors writer: NULL out");
    lq_st_writer *w = lqi_calloc(1, sizeof *w);
    if (w) {
        w->meta = json_object();
    }
    if (!w || !w->meta) {
        lqi_free(w);
        *out = NULL;
        return lqi_set_error(err, LQ_E_NOMEM, "safetensors writer: out of memory");
    }
    *out = w;
    return LQ_OK;
}

void lq_st_writer_free(lq_st_writer *w)
{
    if (!w) {
        return;
    }
    for (size_t i = 0; i < w->n; i++) {
        lqi_free((char *)w->tensors[i].t.name);
    }
    lqi_free(w->tensors);
    json_decref(w->meta);
    lqi_free(w);
}

static int dtype_index(const char *name)
{
    for (size_t i = 0; name && i < sizeof st_dtypes / sizeof st_dtypes[0]; i++) {
        if (strcmp(st_dtypes[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Checks shape against nbytes with overflow-safe products. */
static lq_status check_size(const struct lq_st_wtensor *t, unsigned esize, struct lq_error *err)
{
    uint64_t count = 1;
    for (int d = 0; d < t->ndims; d++) {
        LQ_FAIL_IF(t->shape[d] < 0 || lqi_mul_overflow_u64(count, (uint64_t)t->shape[d], &count),
                   err, LQ_E_INVALID_ARG, "safetensors writer: tensor '%s': bad dimension %d",
                   t->name, d);
    }
    uint64_t bytes = 0;
    LQ_FAIL_IF(lqi_mul_overflow_u64(count, esize, &bytes) || bytes != t->nbytes, err,
               LQ_E_INVALID_ARG, "safetensors writer: tensor '%s': %zu bytes for %llu elements "
               "of %u bytes", t->name, t->nbytes, (unsigned long long)count, esize);
    LQ_FAIL_IF(t->nbytes && !t->data, err, LQ_E_INVALID_ARG,
               "safetensors writer: tensor '%s': NULL data", t->name);
    return LQ_OK;
}

lq_status lq_st_writer_add(lq_st_writer *w, const struct lq_st_wtensor *t, struct lq_error *err)
{
    LQ_FAIL_IF(!w || !t || !t->name || !*t->name, err, LQ_E_INVALID_ARG,
               "safetensors writer: bad tensor");
    LQ_FAIL_IF(strcmp(t->name, "__metadata__") == 0, err, LQ_E_INVALID_ARG,
               "safetensors writer: '__metadata__' is reserved");
    int di = dtype_index(t->dtype);
    LQ_FAIL_IF(di < 0 || st_dtypes[di].size == 0, err, LQ_E_INVALID_ARG,
               "safetensors writer: tensor '%s': unsupported dtype '%s'", t->name,
               t->dtype ? t->dtype : "(null)");
    LQ_FAIL_IF(t->ndims < 0 || t->ndims > LQ_ST_WRITER_MAX_DIMS, err, LQ_E_INVALID_ARG,
               "safetensors writer: tensor '%s': %d dimensions", t->name, t->ndims);
    LQ_TRY(check_size(t, st_dtypes[di].size, err));
    for (size_t i = 0; i < w->n; i++) {
        LQ_FAIL_IF(strcmp(w->tensors[i].t.name, t->name) == 0, err, LQ_E_INVALID_ARG,
                   "safetensors writer: duplicate tensor '%s'", t->name);
    }
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        struct wt *grown = lqi_realloc(w->tensors, cap * sizeof *grown);
        LQ_FAIL_IF(!grown, err, LQ_E_NOMEM, "safetensors writer: out of memory");
        w->tensors = grown;
        w->cap = cap;
    }
    char *name = lqi_strdup(t->name);
    LQ_FAIL_IF(!name, err, LQ_E_NOMEM, "safetensors writer: out of memory");
    struct wt *slot = &w->tensors[w->n++];
    slot->t = *t;
    slot->t.name = name;
    slot->t.dtype = st_dtypes[di].name;
    slot->rank = st_dtypes[di].rank;
    return LQ_OK;
}

lq_status lq_st_writer_set_meta(lq_st_writer *w, const char *key, const char *value,
                                struct lq_error *err)
{
    LQ_FAIL_IF(!w || !key || !value, err, LQ_E_INVALID_ARG, "safetensors writer: NULL meta");
    json_t *v = json_string(value);
    LQ_FAIL_IF(!v, err, LQ_E_INVALID_ARG, "safetensors writer: metadata '%s' is not UTF-8",
               key);
    LQ_FAIL_IF(json_object_set_new(w->meta, key, v) != 0, err, LQ_E_INVALID_ARG,
               "safetensors writer: bad metadata key '%s'", key);
    return LQ_OK;
}

// ---- header ---------------------------------------------------------------------------------

static int cmp_order(const void *pa, const void *pb)
{
    const struct wt *a = pa, *b = pb;
    if (a->rank != b->rank) {
        return a->rank > b->rank ? -1 : 1;
    }
    return strcmp(a->t.name, b->t.name);
}

static int cmp_str(const void *pa, const void *pb)
{
    return strcmp(*(const char *const *)pa, *(const char *const *)pb);
}

static json_t *sorted_meta(const json_t *meta)
{
    json_t *out = json_object();
    size_t n = json_object_size(meta), i = 0;
    const char **keys = lqi_malloc((n ? n : 1) * sizeof *keys);
    const char *key;
    json_t *v;
    if (!out || !keys) {
        json_decref(out);
        lqi_free(keys);
        return NULL;
    }
    json_object_foreach((json_t *)meta, key, v) {
        keys[i++] = key;
    }
    qsort(keys, n, sizeof *keys, cmp_str);
    for (i = 0; i < n; i++) {
        json_object_set(out, keys[i], json_object_get(meta, keys[i]));
    }
    lqi_free(keys);
    return out;
}

static json_t *tensor_entry(const struct lq_st_wtensor *t, uint64_t begin)
{
    json_t *e = json_object(), *shape = json_array(), *offs = json_array();
    if (!e || !shape || !offs) {
        json_decref(e);
        json_decref(shape);
        json_decref(offs);
        return NULL;
    }
    for (int d = 0; d < t->ndims; d++) {
        json_array_append_new(shape, json_integer(t->shape[d]));
    }
    json_array_append_new(offs, json_integer((json_int_t)begin));
    json_array_append_new(offs, json_integer((json_int_t)(begin + t->nbytes)));
    json_object_set_new(e, "dtype", json_string(t->dtype));
    json_object_set_new(e, "shape", shape);
    json_object_set_new(e, "data_offsets", offs);
    return e;
}

/* The header JSON (tensors already in file order), padded with spaces to 8 bytes. */
static char *build_header(const lq_st_writer *w, size_t *len)
{
    json_t *root = json_object();
    char *text = NULL;
    if (!root) {
        return NULL;
    }
    if (json_object_size(w->meta) > 0) {
        json_object_set_new(root, "__metadata__", sorted_meta(w->meta));
    }
    uint64_t off = 0;
    for (size_t i = 0; i < w->n; i++) {
        json_t *e = tensor_entry(&w->tensors[i].t, off);
        if (!e || json_object_set_new(root, w->tensors[i].t.name, e) != 0) {
            goto out_free_root;
        }
        off += w->tensors[i].t.nbytes;
    }
    char *json = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (json) {
        size_t n = strlen(json), padded = (n + 7) / 8 * 8;
        text = lqi_malloc(padded + 1);
        if (text) {
            memcpy(text, json, n);
            memset(text + n, ' ', padded - n);
            text[padded] = '\0';
            *len = padded;
        }
        free(json);
    }
out_free_root:
    json_decref(root);
    return text;
}

// ---- output -----------------------------------------------------------------------------------

static lq_status write_body(int fd, const char *path, void *ctx, struct lq_error *err)
{
    const lq_st_writer *w = ctx;
    size_t hlen = 0;
    char *header = build_header(w, &hlen);
    LQ_FAIL_IF(!header, err, LQ_E_NOMEM, "%s: cannot build the safetensors header", path);
    unsigned char n8[8];
    lqi_wr_u64(n8, hlen);
    lq_status rc = lqi_write_all(fd, n8, 8, path, err);
    if (rc == LQ_OK) {
        rc = lqi_write_all(fd, header, hlen, path, err);
    }
    lqi_free(header);
    for (size_t i = 0; rc == LQ_OK && i < w->n; i++) {
        rc = lqi_write_all(fd, w->tensors[i].t.data, w->tensors[i].t.nbytes, path, err);
    }
    return rc;
}

lq_status lq_st_writer_write(lq_st_writer *w, const char *path, struct lq_error *err)
{
    LQ_FAIL_IF(!w || !path, err, LQ_E_INVALID_ARG, "safetensors writer: NULL argument");
    qsort(w->tensors, w->n, sizeof *w->tensors, cmp_order);
    return lqi_atomic_write(path, write_body, w, err);
}
