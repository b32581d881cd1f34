/* safetensors.c - the safetensors handle: opening, the data buffer's layout, accessors.
 * The JSON header itself is parsed in st_header.c. */
#include "lq/safetensors.h"

#include <inttypes.h>
#include <string.h>

#include "lqi.h"
#include "st_impl.h"

// ---- layout of the data buffer -------------------------------------------------------

static int cmp_by_offset(const void *a, const void *b)
{
    const struct lq_st_tensor_info *x = a, *y = b;
    if (x->data_begin != y->data_begin) {
        return x->data_begin < y->data_begin ? -1 : 1;
    }
    if (x->data_end != y->data_end) {
        return x->data_end < y->data_end ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

/* Sorted by begin, the tensors must tile [0, data size) exactly, as the reference checks:
 * each starts where the previous one ended, and the last ends at the end of the file. */
static lq_status check_layout(lq_st *st, struct lq_error *err)
{
    qsort(st->tensors, (size_t)st->n_tensors, sizeof *st->tensors, cmp_by_offset);
    uint64_t data_off = 8 + st->header_size;
    uint64_t data_size = st->size - data_off;
    uint64_t pos = 0;
    for (int64_t i = 0; i < st->n_tensors; i++) {
        struct lq_st_tensor_info *t = &st->tensors[i];
        const char *prev = i ? st->tensors[i - 1].name : NULL;
        LQ_FAIL_IF(t->data_begin > pos, err, LQ_E_FORMAT,
                   "%s: tensor '%s': gap in the data buffer: data begins at %" PRIu64
                   " but %s%s%s ends at %" PRIu64,
                   st->path, t->name, t->data_begin, prev ? "tensor '" : "the buffer start",
                   prev ? prev : "", prev ? "'" : "", pos);
        LQ_FAIL_IF(t->data_begin < pos, err, LQ_E_FORMAT,
                   "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                   "] overlap tensor '%s', which ends at %" PRIu64,
                   st->path, t->name, t->data_begin, t->data_end, prev, pos);
        LQ_FAIL_IF(t->data_end > data_size, err, LQ_E_FORMAT,
                   "%s: tensor '%s': data at file offset %" PRIu64 "..%" PRIu64
                   " runs past the end of the file (size %" PRIu64 ")",
                   st->path, t->name, data_off + t->data_begin, data_off + t->data_end, st->size);
        t->file_offset = data_off + t->data_begin;
        t->data = t->nbytes ? st->bytes + t->file_offset : NULL;
        pos = t->data_end;
    }
    LQ_FAIL_IF(pos != data_size, err, LQ_E_FORMAT,
               "%s: %" PRIu64
               " trailing bytes after the data buffer (it ends at file offset %" PRIu64
               ", the file has %" PRIu64 " bytes)",
               st->path, data_size - pos, data_off + pos, st->size);
    return LQ_OK;
}

// ---- lookups by name -------------------------------------------------------------------

static int cmp_by_name(const void *a, const void *b)
{
    return strcmp(((const struct lqi_st_name *)a)->name, ((const struct lqi_st_name *)b)->name);
}

static lq_status build_name_index(lq_st *st, struct lq_error *err)
{
    size_t n = (size_t)st->n_tensors;
    st->by_name = lqi_calloc(n ? n : 1, sizeof *st->by_name);
    LQ_FAIL_IF(!st->by_name, err, LQ_E_NOMEM, "%s: out of memory", st->path);
    for (size_t i = 0; i < n; i++) {
        st->by_name[i].name = st->tensors[i].name;
        st->by_name[i].id = (int64_t)i;
    }
    qsort(st->by_name, n, sizeof *st->by_name, cmp_by_name);
    return LQ_OK;
}

// ---- opening ---------------------------------------------------------------------------

/* Checks the 8-byte length prefix against the reference's limit and the file size. */
static lq_status check_prefix(lq_st *st, struct lq_error *err)
{
    LQ_FAIL_IF(st->size < 8, err, LQ_E_FORMAT,
               "%s: %" PRIu64 " bytes, too short for the 8-byte header length", st->path, st->size);
    st->header_size = lqi_rd_u64(st->bytes);
    LQ_FAIL_IF(st->header_size > LQ_ST_MAX_HEADER_SIZE, err, LQ_E_FORMAT,
               "%s: header length %" PRIu64 " exceeds the %llu-byte limit", st->path,
               st->header_size, LQ_ST_MAX_HEADER_SIZE);
    LQ_FAIL_IF(st->header_size > st->size - 8, err, LQ_E_FORMAT,
               "%s: header length %" PRIu64 " runs past the end of the file (size %" PRIu64 ")",
               st->path, st->header_size, st->size);
    return LQ_OK;
}

static lq_status parse(lq_st *st, struct lq_error *err)
{
    LQ_TRY(check_prefix(st, err));
    LQ_TRY(lqi_st_parse_header(st, err));
    LQ_TRY(check_layout(st, err));
    return build_name_index(st, err);
}

static lq_st *new_handle(const char *name)
{
    lq_st *st = lqi_calloc(1, sizeof *st);
    if (st) {
        st->path = lqi_strdup(name ? name : "(memory)");
    }
    if (st && !st->path) {
        lqi_free(st);
        st = NULL;
    }
    return st;
}

lq_status lq_st_open_memory(const void *data, size_t size, const char *name, lq_st **out,
                            struct lq_error *err)
{
    LQ_FAIL_IF(!out || (!data && size), err, LQ_E_INVALID_ARG, "lq_st_open_memory: bad arguments");
    *out = NULL;
    lq_st *st = new_handle(name);
    LQ_FAIL_IF(!st, err, LQ_E_NOMEM, "%s: out of memory", name ? name : "(memory)");
    st->bytes = data;
    st->size = size;
    lq_status rc = parse(st, err);
    if (rc != LQ_OK) {
        lq_st_free(st);
        return rc;
    }
    *out = st;
    return LQ_OK;
}

lq_status lq_st_open(const char *path, lq_st **out, struct lq_error *err)
{
    LQ_FAIL_IF(!path || !out, err, LQ_E_INVALID_ARG, "lq_st_open: bad arguments");
    *out = NULL;
    lq_st *st = new_handle(path);
    LQ_FAIL_IF(!st, err, LQ_E_NOMEM, "%s: out of memory", path);
    lq_status rc = lqi_file_map_open(path, &st->map, err);
    if (rc == LQ_OK) {
        st->bytes = st->map.data;
        st->size = st->map.size;
        rc = parse(st, err);
    }
    if (rc != LQ_OK) {
        lq_st_free(st);
        return rc;
    }
    *out = st;
    return LQ_OK;
}

void lq_st_free(lq_st *st)
{
    if (!st) {
        return;
    }
    for (int64_t i = 0; i < st->n_tensors; i++) {
        lqi_free((char *)st->tensors[i].name);
    }
    for (int64_t i = 0; i < 2 * st->n_meta; i++) {
        lqi_free(st->meta[i]);
    }
    lqi_free(st->meta);
    lqi_free(st->tensors);
    lqi_free(st->by_name);
    lqi_file_map_close(&st->map);
    lqi_free(st->path);
    lqi_free(st);
}

// ---- accessors ---------------------------------------------------------------------------

const char *lq_st_path(const lq_st *st)
{
    return st ? st->path : NULL;
}

uint64_t lq_st_file_size(const lq_st *st)
{
    return st ? st->size : 0;
}

uint64_t lq_st_header_size(const lq_st *st)
{
    return st ? st->header_size : 0;
}

uint64_t lq_st_data_offset(const lq_st *st)
{
    return st ? 8 + st->header_size : 0;
}

int64_t lq_st_n_tensors(const lq_st *st)
{
    return st ? st->n_tensors : 0;
}

const struct lq_st_tensor_info *lq_st_tensor(const lq_st *st, int64_t id)
{
    if (!st || id < 0 || id >= st->n_tensors) {
        return NULL;
    }
    return &st->tensors[id];
}

int64_t lq_st_find_tensor(const lq_st *st, const char *name)
{
    if (!st || !name) {
        return -1;
    }
    int64_t lo = 0, hi = st->n_tensors;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(st->by_name[mid].name, name);
        if (c == 0) {
            return st->by_name[mid].id;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

int64_t lq_st_n_meta(const lq_st *st)
{
    return st ? st->n_meta : 0;
}

const char *lq_st_meta_key(const lq_st *st, int64_t id)
{
    if (!st || id < 0 || id >= st->n_meta) {
        return NULL;
    }
    return st->meta[2 * id];
}

const char *lq_st_meta_value(const lq_st *st, int64_t id)
{
    if (!st || id < 0 || id >= st->n_meta) {
        return NULL;
    }
    return st->meta[2 * id + 1];
}

const char *lq_st_meta_get(const lq_st *st, const char *key)
{
    for (int64_t i = 0; key && i < lq_st_n_meta(st); i++) {
        if (strcmp(st->meta[2 * i], key) == 0) {
            return st->meta[2 * i + 1];
        }
    }
    return NULL;
}
