/* lqt_refjson.c - a GGUF file against llama.cpp's reference JSON (see lqt_refjson.h). */
#include "lqt_refjson.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <xxhash.h>

#include "lq/gguf.h"
#include "lq/types.h"

struct diffs {
    char *buf;
    size_t cap, used;
    int n;
};

__attribute__((format(printf, 2, 3))) static void diff(struct diffs *d, const char *fmt, ...)
{
    d->n++;
    if (d->n > 40 || d->used + 1 >= d->cap) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(d->buf + d->used, d->cap - d->used, fmt, ap);
    va_end(ap);
    d->used += k > 0 ? (size_t)k : 0;
    if (d->used + 1 < d->cap) {
        d->buf[d->used++] = '\n';
        d->buf[d->used] = '\0';
    } else {
        d->used = d->cap - 1;
    }
}

static const char *const type_names[LQ_GGUF_TYPE_COUNT] = {
    "UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32",
    "BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64",
};

static size_t elem_size(enum lq_gguf_type t)
{
    switch (t) {
    case LQ_GGUF_UINT8: case LQ_GGUF_INT8: case LQ_GGUF_BOOL: return 1;
    case LQ_GGUF_UINT16: case LQ_GGUF_INT16: return 2;
    case LQ_GGUF_UINT32: case LQ_GGUF_INT32: case LQ_GGUF_FLOAT32: return 4;
    default: return 8;
    }
}

/* XXH3-64 of an array's payload as stored: numbers packed, strings as u64 length + bytes. */
static uint64_t array_hash(const struct lq_gguf_value *v)
{
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    if (v->v.arr.type == LQ_GGUF_STRING) {
        const struct lq_gguf_str *s = v->v.arr.data;
        for (uint64_t i = 0; i < v->v.arr.n; i++) {
            uint64_t len = s[i].len;
            XXH3_64bits_update(st, &len, sizeof len);
            XXH3_64bits_update(st, s[i].s, (size_t)len);
        }
    } else {
        XXH3_64bits_update(st, v->v.arr.data, (size_t)v->v.arr.n * elem_size(v->v.arr.type));
    }
    uint64_t h = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    return h;
}

/* A scalar (or a short-array element) equal to the JSON value. */
static bool scalar_equal(enum lq_gguf_type t, const void *p, json_t *j)
{
    switch (t) {
    case LQ_GGUF_STRING: {
        const struct lq_gguf_str *s = p;
        return json_is_string(j) && strcmp(s->s, json_string_value(j)) == 0;
    }
    case LQ_GGUF_BOOL: return json_is_boolean(j) && *(const bool *)p == json_is_true(j);
    case LQ_GGUF_FLOAT32: return json_is_number(j) && *(const float *)p == (float)json_number_value(j);
    case LQ_GGUF_FLOAT64: return json_is_number(j) && *(const double *)p == json_number_value(j);
    case LQ_GGUF_UINT8: return json_integer_value(j) == *(const uint8_t *)p;
    case LQ_GGUF_INT8: return json_integer_value(j) == *(const int8_t *)p;
    case LQ_GGUF_UINT16: return json_integer_value(j) == *(const uint16_t *)p;
    case LQ_GGUF_INT16: return json_integer_value(j) == *(const int16_t *)p;
    case LQ_GGUF_UINT32: return json_integer_value(j) == *(const uint32_t *)p;
    case LQ_GGUF_INT32: return json_integer_value(j) == *(const int32_t *)p;
    case LQ_GGUF_UINT64: return (uint64_t)json_integer_value(j) == *(const uint64_t *)p;
    case LQ_GGUF_INT64: return json_integer_value(j) == *(const int64_t *)p;
    default: return false;
    }
}

static void compare_value(struct diffs *d, const char *key, const struct lq_gguf_value *v,
                          json_t *want, const char *want_type)
{
    char type[32];
    if (v->type == LQ_GGUF_ARRAY) {
        snprintf(type, sizeof type, "ARRAY[%s]",
                 v->v.arr.type < LQ_GGUF_TYPE_COUNT ? type_names[v->v.arr.type] : "?");
    } else {
        snprintf(type, sizeof type, "%s", v->type < LQ_GGUF_TYPE_COUNT ? type_names[v->type] : "?");
    }
    if (strcmp(type, want_type) != 0) {
        diff(d, "key %s: type %s, llama.cpp %s", key, type, want_type);
        return;
    }
    if (v->type != LQ_GGUF_ARRAY) {
        if (!scalar_equal(v->type, &v->v, want)) {
            char *js = json_dumps(want, JSON_ENCODE_ANY);
            diff(d, "key %s: value differs from llama.cpp's %s", key, js ? js : "?");
            free(js);
        }
        return;
    }
    if (json_is_array(want)) {
        bool same = json_array_size(want) == v->v.arr.n && v->v.arr.type != LQ_GGUF_ARRAY;
        size_t es = v->v.arr.type == LQ_GGUF_STRING ? sizeof(struct lq_gguf_str)
                                                     : elem_size(v->v.arr.type);
        for (uint64_t i = 0; same && i < v->v.arr.n; i++) {
            same = scalar_equal(v->v.arr.type, (const char *)v->v.arr.data + i * es,
                                json_array_get(want, i));
        }
        if (!same) {
            diff(d, "key %s: array differs from llama.cpp's (%zu entries)", key,
                 json_array_size(want));
        }
        return;
    }
    uint64_t n = (uint64_t)json_integer_value(json_object_get(want, "count"));
    const char *h = json_string_value(json_object_get(want, "xxh3"));
    char got[17];
    snprintf(got, sizeof got, "%016" PRIx64, array_hash(v));
    if (n != v->v.arr.n || !h || strcmp(h, got) != 0) {
        diff(d, "key %s: %" PRIu64 " entries hash %s, llama.cpp %" PRIu64 " entries hash %s", key,
             v->v.arr.n, got, n, h ? h : "?");
    }
}

static void compare_metadata(struct diffs *d, const lq_gguf *g, json_t *ref)
{
    json_t *meta = json_object_get(ref, "metadata"), *types = json_object_get(ref, "metadata_types");
    const char *key;
    json_t *val;
    int64_t i = 0;
    json_object_foreach(meta, key, val) {
        int64_t j = lq_gguf_find_key(g, key);
        if (j < 0) {
            diff(d, "key %s: missing", key);
            continue;
        }
        if (j != i) {
            diff(d, "key %s: at position %" PRId64 ", llama.cpp writes it at %" PRId64, key, j, i);
        }
        compare_value(d, key, lq_gguf_value(g, j), val,
                      json_string_value(json_object_get(types, key)));
        i++;
    }
    for (int64_t j = 0; j < lq_gguf_n_kv(g); j++) {
        if (!json_object_get(meta, lq_gguf_key(g, j))) {
            diff(d, "key %s: llama.cpp does not write it", lq_gguf_key(g, j));
        }
    }
}

static void compare_tensors(struct diffs *d, const lq_gguf *g, json_t *ref, bool offsets,
                            bool any_order, bool data)
{
    json_t *ts = json_object_get(ref, "tensors");
    if ((int64_t)json_array_size(ts) != lq_gguf_n_tensors(g)) {
        diff(d, "%" PRId64 " tensors, llama.cpp %zu", lq_gguf_n_tensors(g), json_array_size(ts));
    }
    for (size_t i = 0; i < json_array_size(ts); i++) {
        json_t *t = json_array_get(ts, i);
        const char *name = json_string_value(json_object_get(t, "name"));
        int64_t j = lq_gguf_find_tensor(g, name);
        if (j < 0) {
            diff(d, "tensor %s: missing", name);
            continue;
        }
        const struct lq_gguf_tensor_info *ti = lq_gguf_tensor(g, j);
        if (j != (int64_t)i && !any_order) {
            diff(d, "tensor %s: at position %" PRId64 ", llama.cpp %zu", name, j, i);
        }
        const char *type = json_string_value(json_object_get(t, "type"));
        if (strcasecmp(lq_type_name(ti->type), type) != 0) {
            diff(d, "tensor %s: type %s, llama.cpp %s", name, lq_type_name(ti->type), type);
            continue;
        }
        json_t *shape = json_object_get(t, "shape");
        bool same = json_array_size(shape) == ti->n_dims;
        for (size_t k = 0; same && k < ti->n_dims; k++) {
            same = json_integer_value(json_array_get(shape, k)) == ti->ne[k];
        }
        if (!same) {
            diff(d, "tensor %s: shape differs from llama.cpp's", name);
            continue;
        }
        if (offsets && (uint64_t)json_integer_value(json_object_get(t, "offset")) != ti->offset) {
            diff(d, "tensor %s: offset %" PRIu64 ", llama.cpp %" JSON_INTEGER_FORMAT, name,
                 ti->offset, json_integer_value(json_object_get(t, "offset")));
        }
        if (!data) {
            continue;
        }
        char got[17];
        snprintf(got, sizeof got, "%016" PRIx64,
                 (uint64_t)XXH3_64bits(ti->data ? ti->data : "", ti->nbytes));
        const char *h = json_string_value(json_object_get(t, "xxh3"));
        if (!h || strcmp(h, got) != 0) {
            diff(d, "tensor %s (%s): data hash %s, llama.cpp %s", name, type, got, h ? h : "?");
        }
    }
}

static void compare_file(struct diffs *d, const char *path, json_t *ref)
{
    json_t *file = json_object_get(ref, "file");
    FILE *f = fopen(path, "rb");
    if (!f) {
        diff(d, "%s: cannot open", path);
        return;
    }
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    static char buf[1 << 16];
    uint64_t size = 0;
    for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0; size += n) {
        XXH3_64bits_update(st, buf, n);
    }
    fclose(f);
    char got[17];
    snprintf(got, sizeof got, "%016" PRIx64, (uint64_t)XXH3_64bits_digest(st));
    XXH3_freeState(st);
    const char *h = json_string_value(json_object_get(file, "xxh3"));
    uint64_t want = (uint64_t)json_integer_value(json_object_get(file, "size"));
    if (size != want || !h || strcmp(got, h) != 0) {
        diff(d, "file: %" PRIu64 " bytes hash %s, llama.cpp's %" PRIu64 " bytes hash %s", size,
             got, want, h ? h : "?");
    }
}

int lqt_ref_compare(const char *gguf_path, const char *json_path, unsigned what, char *report,
                    size_t cap)
{
    struct diffs d = { .buf = report, .cap = cap };
    if (cap) {
        report[0] = '\0';
    }
    json_error_t jerr;
    json_t *ref = json_load_file(json_path, 0, &jerr);
    lq_gguf *g = NULL;
    if (!ref) {
        diff(&d, "%s: %s", json_path, jerr.text);
    } else if (lq_gguf_open(gguf_path, &g, NULL) != LQ_OK) {
        diff(&d, "%s: not a readable GGUF file", gguf_path);
    } else {
        if (what & LQT_REF_FILE) {
            compare_file(&d, gguf_path, ref);
        }
        if (what & LQT_REF_METADATA) {
            compare_metadata(&d, g, ref);
        }
        if (what & LQT_REF_TENSORS) {
            compare_tensors(&d, g, ref, (what & LQT_REF_FILE) && !(what & LQT_REF_ANY_ORDER),
                            (what & LQT_REF_ANY_ORDER) != 0, !(what & LQT_REF_NO_DATA));
        }
    }
    lq_gguf_free(g);
    json_decref(ref);
    return d.n;
}
