/* st_header.c - parsing and checking the JSON header of a safetensors file.
 * Each tensor entry is checked on its own here (dtype, shape, offsets, byte length);
 * safetensors.c then checks how the entries tile the data buffer. */
#include "st_impl.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "json_kind.h"
#include "lqi.h"

#define ST_META_KEY "__metadata__"

// ---- JSON text -----------------------------------------------------------------------

/* Loads the header as a JSON object. NUL bytes are refused up front: jansson would stop
 * at them with a less useful message, and a NUL cannot occur in valid header text. */
static lq_status load_json(const lq_st *st, json_t **root, struct lq_error *err)
{
    const char *text = (const char *)st->bytes + 8;
    size_t n = (size_t)st->header_size;
    const char *nul = memchr(text, 0, n);
    LQ_FAIL_IF(nul, err, LQ_E_FORMAT, "%s: NUL byte in the JSON header at file offset %zu",
               st->path, (size_t)(nul - text) + 8);
    json_error_t je;
    *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
    LQ_FAIL_IF(!*root, err, LQ_E_FORMAT,
               "%s: invalid JSON header at file offset %d (line %d, column %d): %s", st->path,
               je.position + 8, je.line, je.column, je.text);
    if (!json_is_object(*root)) {
        json_decref(*root);
        *root = NULL;
        return lqi_set_error(err, LQ_E_FORMAT, "%s: the JSON header is not an object", st->path);
    }
    return LQ_OK;
}

/* A non-negative JSON integer, or an error naming the tensor and what holds it. */
static lq_status get_count(const lq_st *st, const char *name, const char *what, size_t i,
                           const json_t *v, uint64_t *out, struct lq_error *err)
{
    LQ_FAIL_IF(!json_is_integer(v), err, LQ_E_FORMAT,
               "%s: tensor '%s': %s[%zu] is %s, not an integer", st->path, name, what, i,
               lqi_json_kind(v));
    json_int_t x = json_integer_value(v);
    LQ_FAIL_IF(x < 0, err, LQ_E_FORMAT, "%s: tensor '%s': %s[%zu] is negative (%lld)", st->path,
               name, what, i, (long long)x);
    *out = (uint64_t)x;
    return LQ_OK;
}

// ---- tensor entries ------------------------------------------------------------------

static void format_shape(const struct lq_st_tensor_info *t, char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (uint32_t d = 0; d < t->n_dims && len < cap; d++) {
        len += (size_t)snprintf(buf + len, cap - len, "%s%" PRId64, d ? ", " : "", t->shape[d]);
    }
    if (len < cap) {
        snprintf(buf + len, cap - len, "]");
    }
}

static lq_status parse_dtype(const lq_st *st, const json_t *entry, struct lq_st_tensor_info *t,
                             struct lq_error *err)
{
    const json_t *v = json_object_get(entry, "dtype");
    LQ_FAIL_IF(!v, err, LQ_E_FORMAT, "%s: tensor '%s': no \"dtype\"", st->path, t->name);
    LQ_FAIL_IF(!json_is_string(v), err, LQ_E_FORMAT, "%s: tensor '%s': dtype is %s, not a string",
               st->path, t->name, lqi_json_kind(v));
    int dt = lq_st_dtype_from_name(json_string_value(v));
    LQ_FAIL_IF(dt < 0, err, LQ_E_FORMAT, "%s: tensor '%s': unknown dtype '%s'", st->path, t->name,
               json_string_value(v));
    t->dtype = (enum lq_st_dtype)dt;
    t->dtype_name = lq_st_dtype_name(dt);
    t->lq_type = lq_st_dtype_lq_type(dt);
    return LQ_OK;
}

/* Shape dims and their product, which must fit int64 (counts are int64_t everywhere). */
static lq_status parse_shape(const lq_st *st, const json_t *entry, struct lq_st_tensor_info *t,
                             struct lq_error *err)
{
    const json_t *v = json_object_get(entry, "shape");
    LQ_FAIL_IF(!v, err, LQ_E_FORMAT, "%s: tensor '%s': no \"shape\"", st->path, t->name);
    LQ_FAIL_IF(!json_is_array(v), err, LQ_E_FORMAT, "%s: tensor '%s': shape is %s, not an array",
               st->path, t->name, lqi_json_kind(v));
    size_t nd = json_array_size(v);
    LQ_FAIL_IF(nd > LQ_ST_MAX_DIMS, err, LQ_E_UNSUPPORTED,
               "%s: tensor '%s': %zu dimensions; at most %d are supported", st->path, t->name, nd,
               LQ_ST_MAX_DIMS);
    uint64_t n = 1;
    for (size_t i = 0; i < LQ_ST_MAX_DIMS; i++) {
        t->shape[i] = 1;
    }
    for (size_t i = 0; i < nd; i++) {
        uint64_t d;
        LQ_TRY(get_count(st, t->name, "shape", i, json_array_get(v, i), &d, err));
        LQ_FAIL_IF(lqi_mul_overflow_u64(n, d, &n) || n > INT64_MAX, err, LQ_E_FORMAT,
                   "%s: tensor '%s': element count of the shape overflows 64 bits", st->path,
                   t->name);
        t->shape[i] = (int64_t)d;
    }
    t->n_dims = (uint32_t)nd;
    t->n_elements = (int64_t)n;
    return LQ_OK;
}

static lq_status parse_offsets(const lq_st *st, const json_t *entry, struct lq_st_tensor_info *t,
                               struct lq_error *err)
{
    const json_t *v = json_object_get(entry, "data_offsets");
    LQ_FAIL_IF(!v, err, LQ_E_FORMAT, "%s: tensor '%s': no \"data_offsets\"", st->path, t->name);
    LQ_FAIL_IF(!json_is_array(v) || json_array_size(v) != 2, err, LQ_E_FORMAT,
               "%s: tensor '%s': data_offsets is not an array of 2 integers", st->path, t->name);
    LQ_TRY(get_count(st, t->name, "data_offsets", 0, json_array_get(v, 0), &t->data_begin, err));
    LQ_TRY(get_count(st, t->name, "data_offsets", 1, json_array_get(v, 1), &t->data_end, err));
    LQ_FAIL_IF(t->data_end < t->data_begin, err, LQ_E_FORMAT,
               "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] end before they begin",
               st->path, t->name, t->data_begin, t->data_end);
    return LQ_OK;
}

/* Byte length = elements x bits / 8, as the reference computes it; sub-byte dtypes must
 * fill whole bytes. */
static lq_status check_nbytes(const lq_st *st, struct lq_st_tensor_info *t, struct lq_error *err)
{
    char shape[160];
    format_shape(t, shape, sizeof shape);
    uint64_t bits;
    LQ_FAIL_IF(lqi_mul_overflow_u64((uint64_t)t->n_elements, lq_st_dtype_bits(t->dtype), &bits),
               err, LQ_E_FORMAT, "%s: tensor '%s': byte length of shape %s of %s overflows 64 bits",
               st->path, t->name, shape, t->dtype_name);
    LQ_FAIL_IF(bits % 8 != 0, err, LQ_E_FORMAT,
               "%s: tensor '%s': shape %s of %s is not a whole number of bytes", st->path, t->name,
               shape, t->dtype_name);
    uint64_t have = t->data_end - t->data_begin;
    LQ_FAIL_IF(have != bits / 8, err, LQ_E_FORMAT,
               "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64
               " bytes but shape %s of %s needs %" PRIu64,
               st->path, t->name, t->data_begin, t->data_end, have, shape, t->dtype_name, bits / 8);
    LQ_FAIL_IF(have > SIZE_MAX, err, LQ_E_RANGE, "%s: tensor '%s': too large for this platform",
               st->path, t->name);
    t->nbytes = (size_t)have;
    return LQ_OK;
}

static lq_status parse_tensor(const lq_st *st, const char *key, const json_t *entry,
                              struct lq_st_tensor_info *t, struct lq_error *err)
{
    t->name = lqi_strdup(key);
    LQ_FAIL_IF(!t->name, err, LQ_E_NOMEM, "%s: out of memory", st->path);
    LQ_FAIL_IF(!json_is_object(entry), err, LQ_E_FORMAT,
               "%s: tensor '%s': entry is %s, not an object", st->path, key, lqi_json_kind(entry));
    LQ_TRY(parse_dtype(st, entry, t, err));
    LQ_TRY(parse_shape(st, entry, t, err));
    LQ_TRY(parse_offsets(st, entry, t, err));
    return check_nbytes(st, t, err);
}

// ---- __metadata__ ----------------------------------------------------------------------

static int cmp_meta(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copies the string map, then sorts keys and values together (keys are unique). */
static lq_status parse_meta(lq_st *st, const json_t *obj, struct lq_error *err)
{
    LQ_FAIL_IF(!json_is_object(obj), err, LQ_E_FORMAT, "%s: %s is %s, not an object", st->path,
               ST_META_KEY, lqi_json_kind(obj));
    size_t n = json_object_size(obj);
    char **pairs = lqi_calloc(n ? 2 * n : 1, sizeof *pairs);
    LQ_FAIL_IF(!pairs, err, LQ_E_NOMEM, "%s: out of memory", st->path);
    st->meta = pairs; /* freed with the handle, even on failure below */
    const char *key;
    const json_t *v;
    size_t i = 0;
    json_object_foreach((json_t *)obj, key, v)
    {
        LQ_FAIL_IF(!json_is_string(v), err, LQ_E_FORMAT,
                   "%s: %s key '%s': value is %s, not a string", st->path, ST_META_KEY, key,
                   lqi_json_kind(v));
        pairs[2 * i] = lqi_strdup(key);
        pairs[2 * i + 1] = lqi_strdup(json_string_value(v));
        st->n_meta = (int64_t)++i;
        LQ_FAIL_IF(!pairs[2 * i - 2] || !pairs[2 * i - 1], err, LQ_E_NOMEM, "%s: out of memory",
                   st->path);
    }
    qsort(pairs, n, 2 * sizeof *pairs, cmp_meta);
    return LQ_OK;
}

// ---- the header ----------------------------------------------------------------------

static lq_status parse_members(lq_st *st, const json_t *root, struct lq_error *err)
{
    const json_t *meta = json_object_get(root, ST_META_KEY);
    size_t n = json_object_size(root) - (meta ? 1 : 0);
    st->tensors = lqi_calloc(n ? n : 1, sizeof *st->tensors);
    LQ_FAIL_IF(!st->tensors, err, LQ_E_NOMEM, "%s: out of memory for %zu tensors", st->path, n);
    if (meta) {
        LQ_TRY(parse_meta(st, meta, err));
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)root, key, v)
    {
        if (strcmp(key, ST_META_KEY) == 0) {
            continue;
        }
        /* counted first so lq_st_free releases the name even when the entry is bad */
        struct lq_st_tensor_info *t = &st->tensors[st->n_tensors++];
        LQ_TRY(parse_tensor(st, key, v, t, err));
    }
    return LQ_OK;
}

lq_status lqi_st_parse_header(lq_st *st, struct lq_error *err)
{
    json_t *root = NULL;
    LQ_TRY(load_json(st, &root, err));
    lq_status rc = parse_members(st, root, err);
    json_decref(root);
    return rc;
}
