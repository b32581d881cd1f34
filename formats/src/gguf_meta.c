/* gguf_meta.c - accessors of an open GGUF handle: properties, metadata lookups with typed
 * conversions, and tensor infos. */
#include "gguf_impl.h"

#include <string.h>

// ---- properties ----

uint32_t lq_gguf_version(const lq_gguf *g)
{
    return g ? g->version : 0;
}

size_t lq_gguf_alignment(const lq_gguf *g)
{
    return g ? (size_t)g->alignment : 0;
}

uint64_t lq_gguf_data_offset(const lq_gguf *g)
{
    return g ? g->data_offset : 0;
}

uint64_t lq_gguf_file_size(const lq_gguf *g)
{
    return g ? g->size : 0;
}

const char *lq_gguf_path(const lq_gguf *g)
{
    return g ? g->name : NULL;
}

const char *lq_gguf_type_name(int type)
{
    static const char *const names[LQ_GGUF_TYPE_COUNT] = {
        "uint8", "int8",   "uint16", "int16",  "uint32", "int32",   "float32",
        "bool",  "string", "array",  "uint64", "int64",  "float64",
    };
    return type >= 0 && type < LQ_GGUF_TYPE_COUNT ? names[type] : "unknown";
}

// ---- metadata ----

int64_t lq_gguf_n_kv(const lq_gguf *g)
{
    return g ? g->n_kv : 0;
}

int64_t lq_gguf_find_key(const lq_gguf *g, const char *key)
{
    if (!g || !key) {
        return -1;
    }
    return lqi_name_index_find(&g->key_index, key, strlen(key));
}

const char *lq_gguf_key(const lq_gguf *g, int64_t id)
{
    return g && id >= 0 && id < g->n_kv ? g->kv[id].key.s : NULL;
}

const struct lq_gguf_value *lq_gguf_value(const lq_gguf *g, int64_t id)
{
    return g && id >= 0 && id < g->n_kv ? &g->kv[id].val : NULL;
}

/* The value under key, or a NOT_FOUND / INVALID_ARG status. */
static lq_status lookup(const lq_gguf *g, const char *key, const struct lq_gguf_value **v,
                        struct lq_error *err)
{
    LQ_FAIL_IF(!g || !key, err, LQ_E_INVALID_ARG, "gguf: NULL handle or key");
    int64_t id = lq_gguf_find_key(g, key);
    LQ_FAIL_IF(id < 0, err, LQ_E_NOT_FOUND, "gguf: %s: key '%s' not found", g->name, key);
    *v = &g->kv[id].val;
    return LQ_OK;
}

static lq_status type_error(const lq_gguf *g, const char *key, const struct lq_gguf_value *v,
                            const char *want, struct lq_error *err)
{
    return lqi_set_error(err, LQ_E_FORMAT, "gguf: %s: key '%s': a %s value does not fit %s",
                         g->name, key, lq_gguf_type_name((int)v->type), want);
}

/* Integer values as a sign and a magnitude; false for non-integer types. */
static bool as_integer(const struct lq_gguf_value *v, bool *neg, uint64_t *mag)
{
    int64_t s;
    *neg = false;
    switch (v->type) {
    case LQ_GGUF_UINT8:
        *mag = v->v.u8;
        return true;
    case LQ_GGUF_UINT16:
        *mag = v->v.u16;
        return true;
    case LQ_GGUF_UINT32:
        *mag = v->v.u32;
        return true;
    case LQ_GGUF_UINT64:
        *mag = v->v.u64;
        return true;
    case LQ_GGUF_INT8:
        s = v->v.i8;
        break;
    case LQ_GGUF_INT16:
        s = v->v.i16;
        break;
    case LQ_GGUF_INT32:
        s = v->v.i32;
        break;
    case LQ_GGUF_INT64:
        s = v->v.i64;
        break;
    default:
        return false;
    }
    *neg = s < 0;
    /* two's complement magnitude, exact even for INT64_MIN */
    *mag = *neg ? 0 - (uint64_t)s : (uint64_t)s;
    return true;
}

lq_status lq_gguf_get_u64(const lq_gguf *g, const char *key, uint64_t *out, struct lq_error *err)
{
    const struct lq_gguf_value *v;
    LQ_TRY(lookup(g, key, &v, err));
    bool neg;
    uint64_t mag;
    if (!as_integer(v, &neg, &mag) || (neg && mag != 0)) {
        return type_error(g, key, v, "uint64", err);
    }
    *out = mag;
    return LQ_OK;
}

lq_status lq_gguf_get_i64(const lq_gguf *g, const char *key, int64_t *out, struct lq_error *err)
{
    const struct lq_gguf_value *v;
    LQ_TRY(lookup(g, key, &v, err));
    bool neg;
    uint64_t mag;
    if (!as_integer(v, &neg, &mag) || mag > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX)) {
        return type_error(g, key, v, "int64", err);
    }
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return LQ_OK;
}

lq_status lq_gguf_get_f64(const lq_gguf *g, const char *key, double *out, struct lq_error *err)
{
    const struct lq_gguf_value *v;
    LQ_TRY(lookup(g, key, &v, err));
    if (v->type == LQ_GGUF_FLOAT32) {
        *out = v->v.f32;
    } else if (v->type == LQ_GGUF_FLOAT64) {
        *out = v->v.f64;
    } else {
        return type_error(g, key, v, "float64", err);
    }
    return LQ_OK;
}

lq_status lq_gguf_get_bool(const lq_gguf *g, const char *key, bool *out, struct lq_error *err)
{
    const struct lq_gguf_value *v;
    LQ_TRY(lookup(g, key, &v, err));
    if (v->type != LQ_GGUF_BOOL) {
        return type_error(g, key, v, "bool", err);
    }
    *out = v->v.b;
    return LQ_OK;
}

lq_status lq_gguf_get_str(const lq_gguf *g, const char *key, const char **out, struct lq_error *err)
{
    const struct lq_gguf_value *v;
    LQ_TRY(lookup(g, key, &v, err));
    if (v->type != LQ_GGUF_STRING) {
        return type_error(g, key, v, "string", err);
    }
    *out = v->v.str.s;
    return LQ_OK;
}

lq_status lq_gguf_get_arr(const lq_gguf *g, const char *key, enum lq_gguf_type elem,
                          const struct lq_gguf_value **out, struct lq_error *err)
{
    const struct lq_gguf_value *v;
    LQ_TRY(lookup(g, key, &v, err));
    if (v->type != LQ_GGUF_ARRAY) {
        return type_error(g, key, v, "array", err);
    }
    if (elem != LQ_GGUF_TYPE_COUNT && v->v.arr.type != elem) {
        return lqi_set_error(err, LQ_E_FORMAT,
                             "gguf: %s: key '%s': array of %s, expected array of %s", g->name, key,
                             lq_gguf_type_name((int)v->v.arr.type), lq_gguf_type_name((int)elem));
    }
    *out = v;
    return LQ_OK;
}

// ---- tensors ----

int64_t lq_gguf_n_tensors(const lq_gguf *g)
{
    return g ? g->n_tensors : 0;
}

const struct lq_gguf_tensor_info *lq_gguf_tensor(const lq_gguf *g, int64_t id)
{
    return g && id >= 0 && id < g->n_tensors ? &g->tensors[id].info : NULL;
}

void lq_gguf_release_tensor(const lq_gguf *g, int64_t id)
{
    const struct lq_gguf_tensor_info *ti = lq_gguf_tensor(g, id);
    if (ti && g->map.map_base) { /* a read-only file map: dropped pages are read back */
        lqi_file_map_dontneed(&g->map, ti->file_offset, ti->nbytes);
    }
}

int64_t lq_gguf_find_tensor(const lq_gguf *g, const char *name)
{
    if (!g || !name) {
        return -1;
    }
    return lqi_name_index_find(&g->tensor_index, name, strlen(name));
}
