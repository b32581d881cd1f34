/* gguf_write.c - the streaming GGUF v3 writer: metadata and tensor infos in memory, tensor
 * data straight to a temporary file that becomes the output only on finish. */
#include "lq/gguf_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf_write_impl.h"
#include "lq/file_io.h"
#include "lqi.h"
#include "name_index.h"

#define GGUF_VERSION 3

struct kv_pair {
    char *key;
    struct lqi_buf bytes; /* the serialized pair: key string, type, value */
};

struct tensor_decl {
    char *name;
    enum lq_type type;
    uint32_t n_dims;
    int64_t ne[LQ_GGUF_MAX_DIMS];
    uint64_t nbytes;
    uint64_t offset;  /* relative to the data section; set when the header is frozen */
    uint64_t written; /* bytes of data received so far */
};

enum writer_state { W_META, W_DATA, W_DONE };

struct lq_gguf_writer {
    char *path;
    lq_out *out;          /* the temporary file until finish renames it; NULL in memory */
    const char *tmp_path; /* its name, for messages (borrowed from out) */
    int fd;
    enum writer_state state;
    bool failed; /* a data write failed: the file can no longer be finished */
    uint32_t alignment;
    uint64_t data_offset;
    struct kv_pair *kv;
    int64_t n_kv, cap_kv;
    struct tensor_decl *t;
    int64_t n_t, cap_t;
    /* hashed lookups: a file may hold 100,000 tensors or keys */
    struct lqi_name_index kv_index, t_index;
};

// ---- file helpers ----

static lq_status write_at(lq_gguf_writer *w, const void *data, size_t n, uint64_t off,
                          struct lq_error *err)
{
    const unsigned char *p = data;
    while (n > 0) {
        ssize_t k = pwrite(w->fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            w->failed = true;
            return lqi_set_error(err, LQ_E_IO, "%s: write of %zu bytes at offset %llu failed: %s",
                                 w->tmp_path, n, (unsigned long long)off,
                                 k < 0 ? strerror(errno) : "no progress");
        }
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return LQ_OK;
}

static lq_status write_zeros_at(lq_gguf_writer *w, uint64_t n, uint64_t off,
                                struct lq_error *err)
{
    static const unsigned char zeros[4096];
    while (n > 0) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        LQ_TRY(write_at(w, zeros, k, off, err));
        n -= k;
        off += k;
    }
    return LQ_OK;
}

static uint64_t pad_to(uint64_t x, uint64_t align)
{
    return (align - x % align) % align;
}

// ---- open / free ----

lq_status lq_gguf_writer_open(const char *path, lq_gguf_writer **out, struct lq_error *err)
{
    LQ_FAIL_IF(!out, err, LQ_E_INVALID_ARG, "gguf writer: out is NULL");
    *out = NULL;
    LQ_FAIL_IF(!path || !*path, err, LQ_E_INVALID_ARG, "gguf writer: empty output path");
    lq_gguf_writer *w = lqi_calloc(1, sizeof *w);
    LQ_FAIL_IF(!w, err, LQ_E_NOMEM, "%s: out of memory", path);
    w->fd = -1;
    w->alignment = LQ_GGUF_DEFAULT_ALIGNMENT;
    w->path = lqi_strdup(path);
    lq_status rc = w->path ? lq_out_open(path, &w->out, err)
                           : lqi_set_error(err, LQ_E_NOMEM, "%s: out of memory", path);
    if (rc != LQ_OK) {
        goto out_free_writer;
    }
    w->fd = lq_out_fd(w->out);
    w->tmp_path = lq_out_tmp_path(w->out);
    *out = w;
    return LQ_OK;
out_free_writer:
    lq_gguf_writer_free(w);
    return rc;
}

lq_status lq_gguf_writer_open_memory(lq_gguf_writer **out, struct lq_error *err)
{
    LQ_FAIL_IF(!out, err, LQ_E_INVALID_ARG, "gguf writer: out is NULL");
    *out = NULL;
    lq_gguf_writer *w = lqi_calloc(1, sizeof *w);
    LQ_FAIL_IF(!w, err, LQ_E_NOMEM, "gguf writer: out of memory");
    w->fd = -1;
    w->alignment = LQ_GGUF_DEFAULT_ALIGNMENT;
    w->path = lqi_strdup("(GGUF metadata in memory)");
    if (!w->path) {
        lq_gguf_writer_free(w);
        return lqi_set_error(err, LQ_E_NOMEM, "gguf writer: out of memory");
    }
    *out = w;
    return LQ_OK;
}

void lq_gguf_writer_free(lq_gguf_writer *w)
{
    if (!w) {
        return;
    }
    lq_out_abort(w->out); /* NULL once finished */
    for (int64_t i = 0; i < w->n_kv; i++) {
        lqi_free(w->kv[i].key);
        lqi_buf_free(&w->kv[i].bytes);
    }
    for (int64_t i = 0; i < w->n_t; i++) {
        lqi_free(w->t[i].name);
    }
    lqi_free(w->kv);
    lqi_free(w->t);
    lqi_name_index_free(&w->kv_index);
    lqi_name_index_free(&w->t_index);
    lqi_free(w->path);
    lqi_free(w);
}

// ---- metadata ----

static lq_status check_meta_phase(const lq_gguf_writer *w, const char *what,
                                  struct lq_error *err)
{
    LQ_FAIL_IF(!w, err, LQ_E_INVALID_ARG, "gguf writer: NULL writer");
    LQ_FAIL_IF(!what, err, LQ_E_INVALID_ARG, "gguf writer: NULL key or name");
    LQ_FAIL_IF(w->state != W_META, err, LQ_E_INVALID_ARG,
               "%s: '%s' added after tensor data was written (the header is frozen)", w->path,
               what);
    return LQ_OK;
}

int64_t lq_gguf_writer_find_key(const lq_gguf_writer *w, const char *key)
{
    return w && key ? lqi_name_index_find(&w->kv_index, key, strlen(key)) : -1;
}

int64_t lq_gguf_writer_n_kv(const lq_gguf_writer *w)
{
    return w ? w->n_kv : 0;
}

/* Removes a pair; the later ones move down, so the index is rebuilt (same capacity). */
static void drop_kv(lq_gguf_writer *w, int64_t id)
{
    lqi_free(w->kv[id].key);
    lqi_buf_free(&w->kv[id].bytes);
    memmove(&w->kv[id], &w->kv[id + 1], (size_t)(w->n_kv - id - 1) * sizeof *w->kv);
    w->n_kv--;
    lqi_name_index_clear(&w->kv_index);
    for (int64_t i = 0; i < w->n_kv; i++) {
        lqi_name_index_insert(&w->kv_index, w->kv[i].key, strlen(w->kv[i].key), i);
    }
}

lq_status lq_gguf_writer_remove_key(lq_gguf_writer *w, const char *key, struct lq_error *err)
{
    LQ_TRY(check_meta_phase(w, key, err));
    int64_t id = lq_gguf_writer_find_key(w, key);
    LQ_FAIL_IF(id < 0, err, LQ_E_NOT_FOUND, "%s: no key '%s' to remove", w->path, key);
    drop_kv(w, id);
    if (strcmp(key, "general.alignment") == 0) {
        w->alignment = LQ_GGUF_DEFAULT_ALIGNMENT;
    }
    return LQ_OK;
}

/* general.alignment is the one key with meaning to the writer itself. */
static lq_status check_alignment_kv(const lq_gguf_writer *w, const struct lq_gguf_value *v,
                                    struct lq_error *err)
{
    LQ_FAIL_IF(v->type != LQ_GGUF_UINT32, err, LQ_E_INVALID_ARG,
               "%s: general.alignment must be uint32, not %s", w->path,
               lqi_gguf_value_type_label(v->type));
    uint32_t a = v->v.u32;
    LQ_FAIL_IF(a == 0 || (a & (a - 1)) != 0, err, LQ_E_INVALID_ARG,
               "%s: general.alignment %u is not a power of two", w->path, a);
    return LQ_OK;
}

lq_status lq_gguf_writer_set_value(lq_gguf_writer *w, const char *key,
                                   const struct lq_gguf_value *v, struct lq_error *err)
{
    LQ_TRY(check_meta_phase(w, key, err));
    LQ_FAIL_IF(!v, err, LQ_E_INVALID_ARG, "%s: key '%s': NULL value", w->path, key);
    bool is_align = strcmp(key, "general.alignment") == 0;
    if (is_align) {
        LQ_TRY(check_alignment_kv(w, v, err));
    }
    if (w->n_kv == w->cap_kv) {
        int64_t cap = w->cap_kv ? w->cap_kv * 2 : 32;
        struct kv_pair *p = lqi_realloc(w->kv, (size_t)cap * sizeof *p);
        LQ_FAIL_IF(!p, err, LQ_E_NOMEM, "%s: out of memory", w->path);
        w->kv = p;
        w->cap_kv = cap;
    }
    LQ_FAIL_IF(!lqi_name_index_reserve(&w->kv_index, (size_t)w->n_kv + 1), err, LQ_E_NOMEM,
               "%s: out of memory", w->path);
    struct kv_pair kv = { .key = lqi_strdup(key) };
    LQ_FAIL_IF(!kv.key, err, LQ_E_NOMEM, "%s: out of memory", w->path);
    lq_status rc = lqi_gguf_put_kv(&kv.bytes, key, v, err);
    if (rc != LQ_OK) {
        lqi_free(kv.key);
        lqi_buf_free(&kv.bytes);
        return rc;
    }
    int64_t old = lq_gguf_writer_find_key(w, key);
    if (old >= 0) {
        drop_kv(w, old);
    }
    lqi_name_index_insert(&w->kv_index, kv.key, strlen(kv.key), w->n_kv);
    w->kv[w->n_kv++] = kv;
    if (is_align) {
        w->alignment = v->v.u32;
    }
    return LQ_OK;
}

lq_status lq_gguf_writer_replace_value(lq_gguf_writer *w, const char *key,
                                       const struct lq_gguf_value *v, struct lq_error *err)
{
    LQ_TRY(check_meta_phase(w, key, err));
    LQ_FAIL_IF(!v, err, LQ_E_INVALID_ARG, "%s: key '%s': NULL value", w->path, key);
    LQ_FAIL_IF(strcmp(key, "general.alignment") == 0, err, LQ_E_INVALID_ARG,
               "%s: general.alignment is set with lq_gguf_writer_set_value", w->path);
    int64_t id = lq_gguf_writer_find_key(w, key);
    LQ_FAIL_IF(id < 0, err, LQ_E_NOT_FOUND, "%s: no key '%s' to replace", w->path, key);
    struct lqi_buf bytes = { 0 };
    lq_status rc = lqi_gguf_put_kv(&bytes, key, v, err);
    if (rc != LQ_OK) {
        lqi_buf_free(&bytes);
        return rc;
    }
    lqi_buf_free(&w->kv[id].bytes);
    w->kv[id].bytes = bytes;
    return LQ_OK;
}

// ---- tensor declarations ----

int64_t lq_gguf_writer_n_tensors(const lq_gguf_writer *w)
{
    return w ? w->n_t : 0;
}

int64_t lq_gguf_writer_find_tensor(const lq_gguf_writer *w, const char *name)
{
    return w && name ? lqi_name_index_find(&w->t_index, name, strlen(name)) : -1;
}

size_t lq_gguf_writer_tensor_nbytes(const lq_gguf_writer *w, int64_t id)
{
    return w && id >= 0 && id < w->n_t ? (size_t)w->t[id].nbytes : 0;
}

/* Checks a declaration's shape and type and computes its size in bytes. */
static lq_status tensor_nbytes(const lq_gguf_writer *w, const char *name, enum lq_type type,
                               uint32_t n_dims, const int64_t *ne, uint64_t *nbytes,
                               struct lq_error *err)
{
    const struct lq_type_traits *tt = lq_type_traits_get(type);
    LQ_FAIL_IF(!tt, err, LQ_E_INVALID_ARG, "%s: tensor '%s': unknown type %d", w->path, name,
               (int)type);
    LQ_FAIL_IF(n_dims < 1 || n_dims > LQ_GGUF_MAX_DIMS || !ne, err, LQ_E_INVALID_ARG,
               "%s: tensor '%s': %u dimensions (1..%d allowed)", w->path, name, n_dims,
               LQ_GGUF_MAX_DIMS);
    uint64_t n = 1;
    for (uint32_t i = 0; i < n_dims; i++) {
        LQ_FAIL_IF(ne[i] < 1, err, LQ_E_INVALID_ARG, "%s: tensor '%s': ne[%u] = %lld", w->path,
                   name, i, (long long)ne[i]);
        LQ_FAIL_IF(lqi_mul_overflow_u64(n, (uint64_t)ne[i], &n) || n > INT64_MAX, err,
                   LQ_E_RANGE, "%s: tensor '%s': element count overflows", w->path, name);
    }
    LQ_FAIL_IF(ne[0] % tt->blck_size != 0, err, LQ_E_INVALID_ARG,
               "%s: tensor '%s': row length %lld is not a multiple of %s's block size %lld",
               w->path, name, (long long)ne[0], tt->name, (long long)tt->blck_size);
    LQ_FAIL_IF(lqi_mul_overflow_u64(n / (uint64_t)tt->blck_size, tt->type_size, nbytes), err,
               LQ_E_RANGE, "%s: tensor '%s': byte size overflows", w->path, name);
    return LQ_OK;
}

lq_status lq_gguf_writer_add_tensor(lq_gguf_writer *w, const char *name, enum lq_type type,
                                    uint32_t n_dims, const int64_t *ne, int64_t *id,
                                    struct lq_error *err)
{
    LQ_TRY(check_meta_phase(w, name, err));
    LQ_FAIL_IF(strlen(name) > LQ_GGUF_MAX_NAME, err, LQ_E_INVALID_ARG,
               "%s: tensor name '%s' longer than %d bytes", w->path, name, LQ_GGUF_MAX_NAME);
    LQ_FAIL_IF(lq_gguf_writer_find_tensor(w, name) >= 0, err, LQ_E_INVALID_ARG,
               "%s: duplicate tensor '%s'", w->path, name);
    struct tensor_decl d = { .type = type, .n_dims = n_dims, .ne = { 1, 1, 1, 1 } };
    LQ_TRY(tensor_nbytes(w, name, type, n_dims, ne, &d.nbytes, err));
    memcpy(d.ne, ne, n_dims * sizeof *ne);
    if (w->n_t == w->cap_t) {
        int64_t cap = w->cap_t ? w->cap_t * 2 : 64;
        struct tensor_decl *p = lqi_realloc(w->t, (size_t)cap * sizeof *p);
        LQ_FAIL_IF(!p, err, LQ_E_NOMEM, "%s: out of memory", w->path);
        w->t = p;
        w->cap_t = cap;
    }
    LQ_FAIL_IF(!lqi_name_index_reserve(&w->t_index, (size_t)w->n_t + 1), err, LQ_E_NOMEM,
               "%s: out of memory", w->path);
    d.name = lqi_strdup(name);
    LQ_FAIL_IF(!d.name, err, LQ_E_NOMEM, "%s: out of memory", w->path);
    if (id) {
        *id = w->n_t;
    }
    lqi_name_index_insert(&w->t_index, d.name, strlen(d.name), w->n_t);
    w->t[w->n_t++] = d;
    return LQ_OK;
}

// ---- header ----

/* Lays the tensors out back to back, each padded to the alignment, as llama.cpp does. */
static lq_status assign_offsets(lq_gguf_writer *w, struct lq_error *err)
{
    uint64_t off = 0;
    for (int64_t i = 0; i < w->n_t; i++) {
        w->t[i].offset = off;
        uint64_t padded = w->t[i].nbytes + pad_to(w->t[i].nbytes, w->alignment);
        LQ_FAIL_IF(padded < w->t[i].nbytes || lqi_add_overflow_u64(off, padded, &off), err,
                   LQ_E_RANGE, "%s: total tensor data overflows 64 bits", w->path);
    }
    return LQ_OK;
}

static lq_status put_tensor_info(struct lqi_buf *b, const struct tensor_decl *d,
                                 struct lq_error *err)
{
    LQ_TRY(lqi_buf_gguf_str(b, d->name, strlen(d->name), err));
    LQ_TRY(lqi_buf_u32(b, d->n_dims, err));
    for (uint32_t i = 0; i < d->n_dims; i++) {
        LQ_TRY(lqi_buf_u64(b, (uint64_t)d->ne[i], err));
    }
    LQ_TRY(lqi_buf_u32(b, (uint32_t)d->type, err));
    return lqi_buf_u64(b, d->offset, err);
}

static lq_status build_header(const lq_gguf_writer *w, struct lqi_buf *b, struct lq_error *err)
{
    LQ_TRY(lqi_buf_put(b, "GGUF", 4, err));
    LQ_TRY(lqi_buf_u32(b, GGUF_VERSION, err));
    LQ_TRY(lqi_buf_u64(b, (uint64_t)w->n_t, err));
    LQ_TRY(lqi_buf_u64(b, (uint64_t)w->n_kv, err));
    for (int64_t i = 0; i < w->n_kv; i++) {
        LQ_TRY(lqi_buf_put(b, w->kv[i].bytes.p, w->kv[i].bytes.len, err));
    }
    for (int64_t i = 0; i < w->n_t; i++) {
        LQ_TRY(put_tensor_info(b, &w->t[i], err));
    }
    return lqi_buf_zeros(b, (size_t)pad_to(b->len, w->alignment), err);
}

lq_status lq_gguf_writer_write_header(lq_gguf_writer *w, struct lq_error *err)
{
    LQ_FAIL_IF(!w, err, LQ_E_INVALID_ARG, "gguf writer: NULL writer");
    LQ_FAIL_IF(w->state == W_DONE, err, LQ_E_INVALID_ARG, "%s: writer already finished",
               w->path);
    if (w->state == W_DATA) {
        return LQ_OK;
    }
    LQ_FAIL_IF(w->fd < 0, err, LQ_E_INVALID_ARG,
               "%s: a memory writer holds metadata only; it writes no file", w->path);
    LQ_TRY(assign_offsets(w, err));
    struct lqi_buf b = { 0 };
    lq_status rc = build_header(w, &b, err);
    if (rc == LQ_OK) {
        rc = write_at(w, b.p, b.len, 0, err);
    }
    if (rc == LQ_OK) {
        w->data_offset = b.len;
        w->state = W_DATA;
    } else {
        lqi_error_prefix(err, "%s: header: ", w->path);
    }
    lqi_buf_free(&b);
    return rc;
}

lq_status lq_gguf_writer_header_bytes(lq_gguf_writer *w, void *dst, size_t cap, size_t *size,
                                      struct lq_error *err)
{
    LQ_FAIL_IF(!w || !size || (!dst && cap), err, LQ_E_INVALID_ARG,
               "gguf writer: NULL writer, size or buffer");
    LQ_TRY(assign_offsets(w, err));
    struct lqi_buf b = { 0 };
    lq_status rc = build_header(w, &b, err);
    if (rc == LQ_OK) {
        *size = b.len;
        rc = !dst || b.len <= cap ? LQ_OK
                          : lqi_set_error(err, LQ_E_RANGE, "%s: header needs %zu bytes, %zu given",
                                          w->path, b.len, cap);
    }
    if (rc == LQ_OK && dst && b.len) {
        memcpy(dst, b.p, b.len);
    }
    lqi_buf_free(&b);
    return rc;
}

lq_status lq_gguf_writer_file_size(lq_gguf_writer *w, uint64_t *size, struct lq_error *err)
{
    LQ_FAIL_IF(!size, err, LQ_E_INVALID_ARG, "gguf writer: NULL size");
    size_t header = 0;
    LQ_TRY(lq_gguf_writer_header_bytes(w, NULL, 0, &header, err)); /* lays the tensors out */
    uint64_t data = 0;
    if (w->n_t > 0) {
        const struct tensor_decl *last = &w->t[w->n_t - 1];
        data = last->offset + last->nbytes + pad_to(last->nbytes, w->alignment);
    }
    LQ_FAIL_IF(lqi_add_overflow_u64(header, data, size), err, LQ_E_RANGE,
               "%s: file size overflows 64 bits", w->path);
    return LQ_OK;
}

uint64_t lq_gguf_writer_data_offset(const lq_gguf_writer *w)
{
    return w && w->state != W_META ? w->data_offset : 0;
}

uint64_t lq_gguf_writer_tensor_offset(const lq_gguf_writer *w, int64_t id)
{
    return w && w->state != W_META && id >= 0 && id < w->n_t ? w->t[id].offset : 0;
}

// ---- tensor data ----

lq_status lq_gguf_writer_write_tensor(lq_gguf_writer *w, int64_t id, const void *data, size_t n,
                                      struct lq_error *err)
{
    LQ_TRY(lq_gguf_writer_write_header(w, err));
    LQ_FAIL_IF(id < 0 || id >= w->n_t, err, LQ_E_INVALID_ARG, "%s: no tensor with id %lld",
               w->path, (long long)id);
    struct tensor_decl *d = &w->t[id];
    LQ_FAIL_IF(n > d->nbytes - d->written, err, LQ_E_RANGE,
               "%s: tensor '%s': %zu more bytes given past %llu of %llu", w->path, d->name, n,
               (unsigned long long)d->written, (unsigned long long)d->nbytes);
    LQ_FAIL_IF(n && !data, err, LQ_E_INVALID_ARG, "%s: tensor '%s': NULL data", w->path,
               d->name);
    uint64_t pos = w->data_offset + d->offset + d->written;
    LQ_TRY(write_at(w, data, n, pos, err));
    d->written += n;
    if (n && d->written == d->nbytes) {
        LQ_TRY(write_zeros_at(w, pad_to(d->nbytes, w->alignment), pos + n, err));
    }
    return LQ_OK;
}

lq_status lq_gguf_writer_write_tensor_named(lq_gguf_writer *w, const char *name,
                                            const void *data, size_t n, struct lq_error *err)
{
    LQ_FAIL_IF(!w || !name, err, LQ_E_INVALID_ARG, "gguf writer: NULL writer or name");
    int64_t id = lq_gguf_writer_find_tensor(w, name);
    LQ_FAIL_IF(id < 0, err, LQ_E_NOT_FOUND, "%s: no tensor '%s' was declared", w->path, name);
    return lq_gguf_writer_write_tensor(w, id, data, n, err);
}

// ---- finish ----

static lq_status check_complete(const lq_gguf_writer *w, struct lq_error *err)
{
    LQ_FAIL_IF(w->failed, err, LQ_E_IO, "%s: an earlier write failed; output not created",
               w->path);
    for (int64_t i = 0; i < w->n_t; i++) {
        const struct tensor_decl *d = &w->t[i];
        LQ_FAIL_IF(d->written != d->nbytes, err, LQ_E_FORMAT,
                   "%s: tensor '%s' got %llu of its %llu bytes; output not created", w->path,
                   d->name, (unsigned long long)d->written, (unsigned long long)d->nbytes);
    }
    return LQ_OK;
}

lq_status lq_gguf_writer_finish(lq_gguf_writer *w, struct lq_error *err)
{
    LQ_TRY(lq_gguf_writer_write_header(w, err));
    LQ_TRY(check_complete(w, err));
    lq_out *o = w->out;
    w->out = NULL;
    w->fd = -1;
    LQ_TRY(lq_out_commit(o, err));
    w->state = W_DONE;
    return LQ_OK;
}
