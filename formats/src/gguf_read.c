/* gguf_read.c - opening a GGUF file: header, metadata key/value pairs, alignment.
 * Tensor infos are in gguf_tensors.c, accessors in gguf_meta.c. Every count and length
 * read from the file is checked against the bytes left before anything is allocated. */
#include "lq/gguf.h"

#include <stdio.h>
#include <string.h>

#include "gguf_impl.h"

/* Arrays of arrays are allowed, but bounded: each level recurses. */
#define GGUF_MAX_ARRAY_DEPTH 16

// ---- value sizes ----

/* Bytes of a fixed-size value type in the file; 0 for string, array and unknown types. */
static size_t scalar_size(uint32_t type)
{
    switch (type) {
    case LQ_GGUF_UINT8:
    case LQ_GGUF_INT8:
    case LQ_GGUF_BOOL:
        return 1;
    case LQ_GGUF_UINT16:
    case LQ_GGUF_INT16:
        return 2;
    case LQ_GGUF_UINT32:
    case LQ_GGUF_INT32:
    case LQ_GGUF_FLOAT32:
        return 4;
    case LQ_GGUF_UINT64:
    case LQ_GGUF_INT64:
    case LQ_GGUF_FLOAT64:
        return 8;
    default:
        return 0;
    }
}

/* Fewest bytes one value of a (known) type occupies in the file: what bounds counts. */
static uint64_t min_encoded_size(uint32_t version, uint32_t type)
{
    uint64_t count = version == 1 ? 4 : 8;
    if (type == LQ_GGUF_STRING) {
        return count;
    }
    if (type == LQ_GGUF_ARRAY) {
        return 4 + count;
    }
    return scalar_size(type);
}

static bool host_is_big_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 0;
}

/* Copies n little-endian elements of `size` bytes from the (possibly unaligned) file into
 * aligned memory, normalizing bools so every stored bool is 0 or 1. */
static void copy_elements(void *dst, const unsigned char *src, uint64_t n, size_t size,
                          uint32_t type)
{
    unsigned char *d = dst;
    memcpy(d, src, (size_t)(n * size));
    if (type == LQ_GGUF_BOOL) {
        for (uint64_t i = 0; i < n; i++) {
            d[i] = d[i] != 0;
        }
    } else if (size > 1 && host_is_big_endian()) {
        for (uint64_t i = 0; i < n; i++) {
            unsigned char *e = d + i * size;
            for (size_t j = 0; j < size / 2; j++) {
                unsigned char t = e[j];
                e[j] = e[size - 1 - j];
                e[size - 1 - j] = t;
            }
        }
    }
}

// ---- values ----

static lq_status read_value(struct lqi_gguf_parser *ps, uint32_t type, int depth,
                            struct lq_gguf_value *v);

static lq_status read_scalar(struct lqi_gguf_parser *ps, uint32_t type, struct lq_gguf_value *v)
{
    size_t size = scalar_size(type);
    if (lqi_gguf_left(ps) < size) {
        return lqi_gguf_fail(
            ps, ps->pos, LQ_E_FORMAT, "truncated file: %s value needs %zu bytes, %llu left",
            lq_gguf_type_name((int)type), size, (unsigned long long)lqi_gguf_left(ps));
    }
    copy_elements(&v->v, ps->g->data + ps->pos, 1, size, type);
    ps->pos += size;
    return LQ_OK;
}

/* Reads the elements of an array whose element type and count are already known valid. */
static lq_status read_elements(struct lqi_gguf_parser *ps, int depth, struct lq_gguf_value *v)
{
    uint32_t et = v->v.arr.type;
    uint64_t n = v->v.arr.n;
    size_t size = scalar_size(et);
    size_t elem =
        size ? size
             : (et == LQ_GGUF_STRING ? sizeof(struct lq_gguf_str) : sizeof(struct lq_gguf_value));
    /* n * min_encoded_size <= bytes left, so n * elem (at most 4x that) cannot overflow */
    void *data = lqi_arena_alloc(&ps->g->arena, (size_t)(n * elem), size ? size : 8);
    if (!data) {
        return lqi_gguf_fail(ps, ps->pos, LQ_E_NOMEM, "cannot copy an array of %llu elements",
                             (unsigned long long)n);
    }
    v->v.arr.data = data;
    if (size) {
        copy_elements(data, ps->g->data + ps->pos, n, size, et);
        ps->pos += n * size;
        return LQ_OK;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (et == LQ_GGUF_STRING) {
            LQ_TRY(lqi_gguf_rd_str(ps, "string element", (struct lq_gguf_str *)data + i));
        } else {
            LQ_TRY(read_value(ps, LQ_GGUF_ARRAY, depth + 1, (struct lq_gguf_value *)data + i));
        }
    }
    return LQ_OK;
}

/* Array value: element type, count, elements. */
static lq_status read_array(struct lqi_gguf_parser *ps, int depth, struct lq_gguf_value *v)
{
    uint64_t at = ps->pos;
    if (depth >= GGUF_MAX_ARRAY_DEPTH) {
        return lqi_gguf_fail(ps, at, LQ_E_FORMAT, "arrays nested deeper than %d levels",
                             GGUF_MAX_ARRAY_DEPTH);
    }
    uint32_t et;
    uint64_t n;
    LQ_TRY(lqi_gguf_rd_u32(ps, "array element type", &et));
    if (et >= LQ_GGUF_TYPE_COUNT) {
        return lqi_gguf_fail(ps, at, LQ_E_FORMAT, "unknown array element type %u", et);
    }
    LQ_TRY(lqi_gguf_rd_count(ps, "array count", &n));
    uint64_t need;
    if (lqi_mul_overflow_u64(n, min_encoded_size(ps->g->version, et), &need) ||
        need > lqi_gguf_left(ps)) {
        return lqi_gguf_fail(ps, at, LQ_E_FORMAT,
                             "array count %llu of %s is too large for the %llu bytes left",
                             (unsigned long long)n, lq_gguf_type_name((int)et),
                             (unsigned long long)lqi_gguf_left(ps));
    }
    v->v.arr.type = (enum lq_gguf_type)et;
    v->v.arr.n = n;
    v->v.arr.data = NULL;
    return read_elements(ps, depth, v);
}

static lq_status read_value(struct lqi_gguf_parser *ps, uint32_t type, int depth,
                            struct lq_gguf_value *v)
{
    memset(v, 0, sizeof *v);
    v->type = (enum lq_gguf_type)type;
    if (type == LQ_GGUF_STRING) {
        return lqi_gguf_rd_str(ps, "string value", &v->v.str);
    }
    if (type == LQ_GGUF_ARRAY) {
        return read_array(ps, depth, v);
    }
    return read_scalar(ps, type, v);
}

// ---- key/value pairs ----

static lq_status read_kv(struct lqi_gguf_parser *ps, int64_t id)
{
    struct lq_gguf *g = ps->g;
    struct lqi_gguf_kv *kv = &g->kv[id];
    kv->pos = ps->pos;
    ps->what = "";
    LQ_TRY(lqi_gguf_rd_str(ps, "key", &kv->key));
    lqi_gguf_set_what(ps, "key", &kv->key);
    if (memchr(kv->key.s, '\0', (size_t)kv->key.len)) {
        return lqi_gguf_fail(ps, kv->pos, LQ_E_FORMAT, "key contains a NUL byte");
    }
    int64_t first = lqi_name_index_insert(&g->key_index, kv->key.s, (size_t)kv->key.len, id);
    if (first >= 0) {
        return lqi_gguf_fail(ps, kv->pos, LQ_E_FORMAT, "duplicate key (first at offset %llu)",
                             (unsigned long long)g->kv[first].pos);
    }
    uint64_t type_pos = ps->pos;
    uint32_t type;
    LQ_TRY(lqi_gguf_rd_u32(ps, "value type", &type));
    if (type >= LQ_GGUF_TYPE_COUNT) {
        return lqi_gguf_fail(ps, type_pos, LQ_E_FORMAT, "unknown value type %u", type);
    }
    LQ_TRY(read_value(ps, type, 0, &kv->val));
    g->n_kv = id + 1;
    return LQ_OK;
}

static lq_status read_kvs(struct lqi_gguf_parser *ps, uint64_t n_kv)
{
    struct lq_gguf *g = ps->g;
    g->kv = lqi_calloc((size_t)n_kv, sizeof *g->kv);
    if (!g->kv || !lqi_name_index_init(&g->key_index, (size_t)n_kv)) {
        return lqi_gguf_fail(ps, ps->pos, LQ_E_NOMEM, "cannot allocate %llu key/value pairs",
                             (unsigned long long)n_kv);
    }
    for (uint64_t i = 0; i < n_kv; i++) {
        LQ_TRY(read_kv(ps, (int64_t)i));
    }
    ps->what = "";
    return LQ_OK;
}

/* general.alignment, when present, must be a uint32 power of two. */
static lq_status read_alignment(struct lqi_gguf_parser *ps)
{
    struct lq_gguf *g = ps->g;
    g->alignment = LQ_GGUF_DEFAULT_ALIGNMENT;
    int64_t id = lq_gguf_find_key(g, "general.alignment");
    if (id < 0) {
        return LQ_OK;
    }
    const struct lqi_gguf_kv *kv = &g->kv[id];
    ps->what = "key 'general.alignment': ";
    if (kv->val.type != LQ_GGUF_UINT32) {
        return lqi_gguf_fail(ps, kv->pos, LQ_E_FORMAT, "type %s, expected uint32",
                             lq_gguf_type_name((int)kv->val.type));
    }
    uint32_t a = kv->val.v.u32;
    if (a == 0 || (a & (a - 1)) != 0) {
        return lqi_gguf_fail(ps, kv->pos, LQ_E_FORMAT,
                             "alignment %u is not a non-zero power of two", a);
    }
    g->alignment = a;
    ps->what = "";
    return LQ_OK;
}

// ---- header ----

static lq_status check_magic(struct lqi_gguf_parser *ps)
{
    const unsigned char *d = ps->g->data;
    if (ps->g->size < 4) {
        return lqi_gguf_fail(ps, 0, LQ_E_FORMAT,
                             "truncated file: %llu bytes, too short for the magic",
                             (unsigned long long)ps->g->size);
    }
    if (memcmp(d, "GGUF", 4) == 0) {
        ps->pos = 4;
        return LQ_OK;
    }
    char shown[20];
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        bool printable = d[i] >= 0x20 && d[i] < 0x7f && d[i] != '\'' && d[i] != '\\';
        n += (size_t)snprintf(shown + n, sizeof shown - n, printable ? "%c" : "\\x%02x", d[i]);
    }
    return lqi_gguf_fail(ps, 0, LQ_E_FORMAT, "bad magic '%s' (expected 'GGUF'): not a GGUF file",
                         shown);
}

static lq_status check_version(struct lqi_gguf_parser *ps, uint32_t v)
{
    if (v >= 1 && v <= 3) {
        return LQ_OK;
    }
    uint32_t swapped = __builtin_bswap32(v);
    if (swapped >= 1 && swapped <= 3) {
        return lqi_gguf_fail(ps, 4, LQ_E_UNSUPPORTED,
                             "version %u looks byte-swapped: big-endian GGUF is not supported", v);
    }
    if (v == 0) {
        return lqi_gguf_fail(ps, 4, LQ_E_FORMAT, "bad version 0");
    }
    return lqi_gguf_fail(ps, 4, LQ_E_UNSUPPORTED, "unsupported version %u (supported: 1 to 3)", v);
}

/* A count of items that each take at least `min` bytes must fit in the bytes left. */
static lq_status check_count(struct lqi_gguf_parser *ps, uint64_t at, const char *what, uint64_t n,
                             uint64_t min)
{
    uint64_t need;
    if (lqi_mul_overflow_u64(n, min, &need) || need > lqi_gguf_left(ps)) {
        return lqi_gguf_fail(ps, at, LQ_E_FORMAT,
                             "%s = %llu is too large for the %llu bytes left in the file", what,
                             (unsigned long long)n, (unsigned long long)lqi_gguf_left(ps));
    }
    return LQ_OK;
}

static lq_status read_header(struct lqi_gguf_parser *ps, uint64_t *n_tensors, uint64_t *n_kv)
{
    LQ_TRY(check_magic(ps));
    LQ_TRY(lqi_gguf_rd_u32(ps, "version", &ps->g->version));
    LQ_TRY(check_version(ps, ps->g->version));
    uint64_t at_nt = ps->pos;
    LQ_TRY(lqi_gguf_rd_count(ps, "n_tensors", n_tensors));
    uint64_t at_nkv = ps->pos;
    LQ_TRY(lqi_gguf_rd_count(ps, "n_kv", n_kv));
    uint64_t w = ps->g->version == 1 ? 4 : 8;
    /* a key/value pair is at least a key length, a type and one byte; a tensor info a name
     * length, n_dims, a type and an offset */
    LQ_TRY(check_count(ps, at_nkv, "n_kv", *n_kv, w + 4 + 1));
    LQ_TRY(check_count(ps, at_nt, "n_tensors", *n_tensors, w + 4 + 4 + 8));
    return LQ_OK;
}

// ---- open / free ----

static lq_status parse(struct lq_gguf *g, struct lq_error *err)
{
    struct lqi_gguf_parser ps = {.g = g, .pos = 0, .what = "", .err = err};
    uint64_t n_tensors, n_kv;
    LQ_TRY(read_header(&ps, &n_tensors, &n_kv));
    LQ_TRY(read_kvs(&ps, n_kv));
    LQ_TRY(read_alignment(&ps));
    g->n_tensors = (int64_t)n_tensors;
    return lqi_gguf_read_tensors(&ps);
}

static struct lq_gguf *new_handle(const char *name)
{
    struct lq_gguf *g = lqi_calloc(1, sizeof *g);
    if (g) {
        g->name = lqi_strdup(name);
        if (!g->name) {
            lqi_free(g);
            g = NULL;
        }
    }
    return g;
}

lq_status lq_gguf_open(const char *path, lq_gguf **out, struct lq_error *err)
{
    LQ_FAIL_IF(!out || !path, err, LQ_E_INVALID_ARG, "gguf: open: NULL argument");
    *out = NULL;
    struct lq_gguf *g = new_handle(path);
    LQ_FAIL_IF(!g, err, LQ_E_NOMEM, "gguf: %s: out of memory", path);
    lq_status rc = lqi_file_map_open(path, &g->map, err);
    if (rc != LQ_OK) {
        lqi_error_prefix(err, "gguf: ");
        goto out_free;
    }
    g->data = g->map.data;
    g->size = g->map.size;
    rc = parse(g, err);
    if (rc == LQ_OK) {
        *out = g;
        return LQ_OK;
    }
out_free:
    lq_gguf_free(g);
    return rc;
}

lq_status lq_gguf_open_memory(const void *data, size_t size, const char *name, lq_gguf **out,
                              struct lq_error *err)
{
    LQ_FAIL_IF(!out || (!data && size), err, LQ_E_INVALID_ARG, "gguf: open_memory: NULL argument");
    *out = NULL;
    struct lq_gguf *g = new_handle(name ? name : "<memory>");
    LQ_FAIL_IF(!g, err, LQ_E_NOMEM, "gguf: out of memory");
    g->data = data;
    g->size = size;
    lq_status rc = parse(g, err);
    if (rc != LQ_OK) {
        lq_gguf_free(g);
        return rc;
    }
    *out = g;
    return LQ_OK;
}

void lq_gguf_free(lq_gguf *g)
{
    if (!g) {
        return;
    }
    lqi_name_index_free(&g->key_index);
    lqi_name_index_free(&g->tensor_index);
    lqi_arena_free(&g->arena);
    lqi_free(g->kv);
    lqi_free(g->tensors);
    lqi_file_map_close(&g->map);
    lqi_free(g->name);
    lqi_free(g);
}
