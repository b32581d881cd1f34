/* pytorch.c - torch.save checkpoints: finds data.pkl in the zip, unpickles it safely, and
 * turns each state-dict entry into a checked view of its storage member. */
#include "lq/pytorch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "file_map.h"
#include "lqi.h"
#include "pytorch_impl.h"

struct lq_pt {
    struct lqi_file_map map;
    const unsigned char *data;
    uint64_t size;
    char *name;
    struct lqi_zip zip;
    char *prefix; /* "ARCHIVE/" (the folder holding data.pkl), possibly "" */
    struct lq_pt_tensor_info *t;
    int64_t n_t;
    char *strings; /* tensor names and storage keys, NUL-terminated */
};

static const struct {
    const char *name;
    size_t size;
    int lq_type;
} k_dtypes[LQ_PT_DTYPE_COUNT] = {
    [LQ_PT_F32] = { "float32", 4, LQ_TYPE_F32 },   [LQ_PT_F64] = { "float64", 8, LQ_TYPE_F64 },
    [LQ_PT_F16] = { "float16", 2, LQ_TYPE_F16 },   [LQ_PT_BF16] = { "bfloat16", 2, LQ_TYPE_BF16 },
    [LQ_PT_I64] = { "int64", 8, LQ_TYPE_I64 },     [LQ_PT_I32] = { "int32", 4, LQ_TYPE_I32 },
    [LQ_PT_I16] = { "int16", 2, LQ_TYPE_I16 },     [LQ_PT_I8] = { "int8", 1, LQ_TYPE_I8 },
    [LQ_PT_U8] = { "uint8", 1, -1 },               [LQ_PT_BOOL] = { "bool", 1, -1 },
};

const char *lq_pt_dtype_name(int dtype)
{
    return dtype >= 0 && dtype < LQ_PT_DTYPE_COUNT ? k_dtypes[dtype].name : "unknown";
}

size_t lq_pt_dtype_size(int dtype)
{
    return dtype >= 0 && dtype < LQ_PT_DTYPE_COUNT ? k_dtypes[dtype].size : 0;
}

int lq_pt_dtype_lq_type(int dtype)
{
    return dtype >= 0 && dtype < LQ_PT_DTYPE_COUNT ? k_dtypes[dtype].lq_type : -1;
}

// ---- the archive ----

/* data.pkl sits in a folder named after the archive ("pytorch_model/data.pkl"). */
static lq_status find_pickle(lq_pt *pt, const struct lqi_zip_member **pkl, struct lq_error *err)
{
    *pkl = NULL;
    for (int64_t i = 0; i < pt->zip.n; i++) {
        const char *nm = pt->zip.m[i].name;
        size_t n = strlen(nm);
        bool match = n >= 8 && strcmp(nm + n - 8, "data.pkl") == 0 &&
                     (n == 8 || nm[n - 9] == '/') && !memchr(nm, '/', n > 9 ? n - 9 : 0);
        if (match) {
            LQ_FAIL_IF(*pkl, err, LQ_E_FORMAT, "%s: two pickles ('%s' and '%s')", pt->name,
                       (*pkl)->name, nm);
            *pkl = &pt->zip.m[i];
        }
    }
    LQ_FAIL_IF(!*pkl, err, LQ_E_FORMAT, "%s: zip without a data.pkl (not a torch.save file?)",
               pt->name);
    pt->prefix = lqi_strndup((*pkl)->name, strlen((*pkl)->name) - 8);
    LQ_FAIL_IF(!pt->prefix, err, LQ_E_NOMEM, "%s: out of memory", pt->name);
    return LQ_OK;
}

/* The member PREFIX SUB KEY (e.g. "pytorch_model/" "data/" "12"), without building it. */
static const struct lqi_zip_member *find_member(const lq_pt *pt, const char *sub,
                                                const char *key, size_t klen)
{
    size_t pl = strlen(pt->prefix), sl = strlen(sub);
    for (int64_t i = 0; i < pt->zip.n; i++) {
        const char *nm = pt->zip.m[i].name;
        if (strlen(nm) == pl + sl + klen && memcmp(nm, pt->prefix, pl) == 0 &&
            memcmp(nm + pl, sub, sl) == 0 && memcmp(nm + pl + sl, key, klen) == 0) {
            return &pt->zip.m[i];
        }
    }
    return NULL;
}

static lq_status stored_member(const lq_pt *pt, const struct lqi_zip_member *m,
                               struct lq_error *err)
{
    LQ_FAIL_IF(m->method != 0 || m->comp_size != m->size, err, LQ_E_UNSUPPORTED,
               "%s: member '%s' is compressed (method %u); torch.save stores members "
               "uncompressed", pt->name, m->name, m->method);
    return LQ_OK;
}

static lq_status check_byteorder(const lq_pt *pt, struct lq_error *err)
{
    const struct lqi_zip_member *m = find_member(pt, "", "byteorder", 9);
    if (!m) {
        return LQ_OK; /* older files: always little-endian */
    }
    LQ_TRY(stored_member(pt, m, err));
    bool little = m->size == 6 && memcmp(pt->data + m->data_offset, "little", 6) == 0;
    LQ_FAIL_IF(!little, err, LQ_E_UNSUPPORTED, "%s: '%s' is not \"little\"", pt->name, m->name);
    return LQ_OK;
}

static lq_status load_pickle(lq_pt *pt, struct lqi_pt_record **recs, int64_t *n,
                             struct lq_error *err)
{
    const struct lqi_zip_member *pkl;
    LQ_TRY(find_pickle(pt, &pkl, err));
    LQ_TRY(stored_member(pt, pkl, err));
    LQ_TRY(check_byteorder(pt, err));
    const unsigned char *p = pt->data + pkl->data_offset;
    uLong crc = crc32(0L, Z_NULL, 0);
    for (uint64_t done = 0; done < pkl->size;) { /* crc32 takes uInt lengths */
        uInt k = pkl->size - done > (1u << 30) ? (1u << 30) : (uInt)(pkl->size - done);
        crc = crc32(crc, p + done, k);
        done += k;
    }
    LQ_FAIL_IF(crc != pkl->crc32, err, LQ_E_CHECKSUM, "%s: '%s': CRC-32 %08lx, zip says %08x",
               pt->name, pkl->name, (unsigned long)crc, pkl->crc32);
    LQ_FAIL_IF(pkl->size > SIZE_MAX, err, LQ_E_RANGE, "%s: data.pkl too large", pt->name);
    /* messages name the member inside the file given: "model.bin:archive/data.pkl" */
    size_t len = strlen(pt->name) + strlen(pkl->name) + 2;
    char *where = lqi_malloc(len);
    LQ_FAIL_IF(!where, err, LQ_E_NOMEM, "%s: out of memory", pt->name);
    snprintf(where, len, "%s:%s", pt->name, pkl->name);
    lq_status rc = lqi_pt_unpickle(p, (size_t)pkl->size, where, recs, n, err);
    lqi_free(where);
    return rc;
}

// ---- tensors ----

/* Element count, and row-major contiguity (a dimension of size 1 may have any stride). */
static lq_status check_shape(const lq_pt *pt, const struct lqi_pt_record *r, const char *name,
                             int64_t *n_elements, struct lq_error *err)
{
    int64_t n = 1;
    for (uint32_t i = 0; i < r->n_dims; i++) {
        LQ_FAIL_IF(r->shape[i] < 0 || lqi_mul_overflow_i64(n, r->shape[i], &n), err,
                   LQ_E_FORMAT, "%s: tensor '%s': bad size %lld in dimension %u", pt->name, name,
                   (long long)r->shape[i], i);
    }
    int64_t want = 1;
    for (uint32_t i = r->n_dims; i-- > 0;) {
        LQ_FAIL_IF(r->shape[i] != 1 && r->stride[i] != want, err, LQ_E_UNSUPPORTED,
                   "%s: tensor '%s' is not contiguous (dimension %u has stride %lld, want %lld)",
                   pt->name, name, i, (long long)r->stride[i], (long long)want);
        /* with a zero dimension the element count fits, but the strides may not */
        LQ_FAIL_IF(lqi_mul_overflow_i64(want, r->shape[i], &want), err, LQ_E_FORMAT,
                   "%s: tensor '%s': sizes overflow 64 bits from dimension %u", pt->name, name,
                   i);
    }
    *n_elements = n;
    return LQ_OK;
}

/* The tensor's bytes: inside a stored member, inside the pickled storage size. */
static lq_status place(const lq_pt *pt, const struct lqi_pt_record *r,
                       struct lq_pt_tensor_info *t, struct lq_error *err)
{
    const struct lqi_zip_member *m = find_member(pt, "data/", r->key, r->key_len);
    LQ_FAIL_IF(!m, err, LQ_E_FORMAT, "%s: tensor '%s': no member %sdata/%s for its storage",
               pt->name, t->name, pt->prefix, t->storage_key);
    LQ_TRY(stored_member(pt, m, err));
    uint64_t es = lq_pt_dtype_size(t->dtype), cap, end;
    LQ_FAIL_IF(lqi_mul_overflow_u64(r->storage_numel, es, &cap) || cap > m->size, err,
               LQ_E_FORMAT, "%s: tensor '%s': storage of %llu %s elements exceeds its %llu-byte "
               "member", pt->name, t->name, (unsigned long long)r->storage_numel,
               lq_pt_dtype_name(t->dtype), (unsigned long long)m->size);
    LQ_FAIL_IF(r->offset < 0 ||
                   lqi_add_overflow_u64((uint64_t)r->offset, (uint64_t)t->n_elements, &end) ||
                   lqi_mul_overflow_u64(end, es, &end) || end > cap,
               err, LQ_E_FORMAT, "%s: tensor '%s': elements %lld..+%lld outside its storage of "
               "%llu", pt->name, t->name, (long long)r->offset, (long long)t->n_elements,
               (unsigned long long)r->storage_numel);
    t->file_offset = m->data_offset + (uint64_t)r->offset * es;
    t->nbytes = (size_t)((uint64_t)t->n_elements * es);
    t->data = pt->data + t->file_offset;
    return LQ_OK;
}

static char *put_str(char **cursor, const char *s, size_t n)
{
    char *d = *cursor;
    memcpy(d, s, n);
    d[n] = '\0';
    *cursor += n + 1;
    return d;
}

static lq_status make_tensor(lq_pt *pt, const struct lqi_pt_record *r, char **cursor,
                             struct lq_pt_tensor_info *t, struct lq_error *err)
{
    LQ_FAIL_IF(memchr(r->name, 0, r->name_len) != NULL, err, LQ_E_FORMAT,
               "%s: data.pkl offset %llu: tensor name holds a NUL byte", pt->name,
               (unsigned long long)r->pickle_offset);
    memset(t, 0, sizeof *t);
    t->name = put_str(cursor, r->name, r->name_len);
    t->storage_key = put_str(cursor, r->key, r->key_len);
    t->dtype = (enum lq_pt_dtype)r->storage_type; /* same order as the storage classes */
    t->lq_type = lq_pt_dtype_lq_type(t->dtype);
    t->n_dims = r->n_dims;
    t->storage_offset = r->offset;
    for (uint32_t i = 0; i < LQ_PT_MAX_DIMS; i++) {
        t->shape[i] = i < r->n_dims ? r->shape[i] : 1;
        t->stride[i] = i < r->n_dims ? r->stride[i] : 0;
    }
    LQ_TRY(check_shape(pt, r, t->name, &t->n_elements, err));
    return place(pt, r, t, err);
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const struct lq_pt_tensor_info *const *)a)->name,
                  (*(const struct lq_pt_tensor_info *const *)b)->name);
}

static lq_status check_unique(const lq_pt *pt, struct lq_error *err)
{
    const struct lq_pt_tensor_info **s = lqi_calloc(pt->n_t ? (size_t)pt->n_t : 1, sizeof *s);
    LQ_FAIL_IF(!s, err, LQ_E_NOMEM, "%s: out of memory", pt->name);
    for (int64_t i = 0; i < pt->n_t; i++) {
        s[i] = &pt->t[i];
    }
    qsort(s, (size_t)pt->n_t, sizeof *s, by_name);
    lq_status rc = LQ_OK;
    for (int64_t i = 1; i < pt->n_t && rc == LQ_OK; i++) {
        if (strcmp(s[i - 1]->name, s[i]->name) == 0) {
            rc = lqi_set_error(err, LQ_E_FORMAT, "%s: tensor '%s' appears twice", pt->name,
                               s[i]->name);
        }
    }
    lqi_free(s);
    return rc;
}

static lq_status build_tensors(lq_pt *pt, const struct lqi_pt_record *r, int64_t n,
                               struct lq_error *err)
{
    size_t bytes = 1;
    for (int64_t i = 0; i < n; i++) {
        bytes += r[i].name_len + r[i].key_len + 2; /* both lie inside data.pkl: no overflow */
    }
    pt->t = lqi_calloc(n ? (size_t)n : 1, sizeof *pt->t);
    pt->strings = lqi_malloc(bytes);
    LQ_FAIL_IF(!pt->t || !pt->strings, err, LQ_E_NOMEM, "%s: out of memory", pt->name);
    char *cursor = pt->strings;
    for (int64_t i = 0; i < n; i++) {
        LQ_TRY(make_tensor(pt, &r[i], &cursor, &pt->t[i], err));
        pt->n_t = i + 1;
    }
    return check_unique(pt, err);
}

// ---- public ----

static lq_status load(lq_pt *pt, struct lq_error *err)
{
    bool zip = pt->size >= 4 && memcmp(pt->data, "PK\x03\x04", 4) == 0;
    LQ_FAIL_IF(!zip && pt->size >= 2 && pt->data[0] == 0x80, err, LQ_E_UNSUPPORTED,
               "%s: legacy torch.save format (before torch 1.6, not a zip); re-save it with "
               "a current torch", pt->name);
    LQ_FAIL_IF(!zip, err, LQ_E_FORMAT, "%s: not a zip archive (no PK signature)", pt->name);
    LQ_TRY(lqi_zip_read(pt->data, pt->size, pt->name, &pt->zip, err));
    struct lqi_pt_record *recs = NULL;
    int64_t n = 0;
    LQ_TRY(load_pickle(pt, &recs, &n, err));
    lq_status rc = build_tensors(pt, recs, n, err);
    lqi_free(recs);
    return rc;
}

static lq_status open_common(lq_pt *pt, const char *name, lq_pt **out, struct lq_error *err)
{
    lq_status rc = pt->name ? load(pt, err)
                            : lqi_set_error(err, LQ_E_NOMEM, "%s: out of memory", name);
    if (rc != LQ_OK) {
        lq_pt_free(pt);
        return rc;
    }
    *out = pt;
    return LQ_OK;
}

lq_status lq_pt_open(const char *path, lq_pt **out, struct lq_error *err)
{
    LQ_FAIL_IF(!out || !path, err, LQ_E_INVALID_ARG, "pytorch: NULL path or out");
    *out = NULL;
    lq_pt *pt = lqi_calloc(1, sizeof *pt);
    LQ_FAIL_IF(!pt, err, LQ_E_NOMEM, "%s: out of memory", path);
    lq_status rc = lqi_file_map_open(path, &pt->map, err);
    if (rc != LQ_OK) {
        lq_pt_free(pt);
        return rc;
    }
    pt->data = pt->map.data;
    pt->size = pt->map.size;
    pt->name = lqi_strdup(path);
    return open_common(pt, path, out, err);
}

lq_status lq_pt_open_memory(const void *data, size_t size, const char *name, lq_pt **out,
                            struct lq_error *err)
{
    LQ_FAIL_IF(!out, err, LQ_E_INVALID_ARG, "pytorch: out is NULL");
    *out = NULL;
    name = name ? name : "pytorch_model.bin";
    LQ_FAIL_IF(!data && size, err, LQ_E_INVALID_ARG, "%s: NULL data", name);
    lq_pt *pt = lqi_calloc(1, sizeof *pt);
    LQ_FAIL_IF(!pt, err, LQ_E_NOMEM, "%s: out of memory", name);
    pt->data = data;
    pt->size = size;
    pt->name = lqi_strdup(name);
    return open_common(pt, name, out, err);
}

void lq_pt_free(lq_pt *pt)
{
    if (!pt) {
        return;
    }
    lqi_zip_free(&pt->zip);
    lqi_file_map_close(&pt->map);
    lqi_free(pt->prefix);
    lqi_free(pt->t);
    lqi_free(pt->strings);
    lqi_free(pt->name);
    lqi_free(pt);
}

int64_t lq_pt_n_tensors(const lq_pt *pt)
{
    return pt ? pt->n_t : 0;
}

const struct lq_pt_tensor_info *lq_pt_tensor(const lq_pt *pt, int64_t id)
{
    return pt && id >= 0 && id < pt->n_t ? &pt->t[id] : NULL;
}

int64_t lq_pt_find_tensor(const lq_pt *pt, const char *name)
{
    for (int64_t i = 0; pt && name && i < pt->n_t; i++) {
        if (strcmp(pt->t[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}
