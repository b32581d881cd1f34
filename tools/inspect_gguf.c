/* inspect_gguf.c - the inspect view of a GGUF file: tensors and metadata printing. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "inspect_priv.h"
#include "lq/gguf.h"
#include "lq/types.h"

/* Arrays longer than this are summarised: count, element type and the first few values. */
#define ARRAY_HEAD 8

lq_status ivi_open_gguf(struct inspect_view *v, struct lq_error *err)
{
    lq_gguf *g = NULL;
    LQ_TRY_CLI(lq_gguf_open(v->path, &g, err));
    v->impl = g;
    v->format = "GGUF";
    v->version = lq_gguf_version(g);
    const char *arch = NULL;
    if (lq_gguf_get_str(g, "general.architecture", &arch, NULL) == LQ_OK) {
        v->architecture = arch;
        v->family = lq_family_by_gguf_arch(arch);
        v->family_known = true;
    }
    v->n_tensors = lq_gguf_n_tensors(g);
    v->tensors = calloc((size_t)(v->n_tensors ? v->n_tensors : 1), sizeof *v->tensors);
    if (!v->tensors) {
        return ivi_nomem(err);
    }
    for (int64_t i = 0; i < v->n_tensors; i++) {
        const struct lq_gguf_tensor_info *ti = lq_gguf_tensor(g, i);
        iv_tensor_set_ggml(&v->tensors[i], ti->name, (int)ti->type, ti->n_dims, ti->ne, ti->nbytes,
                           ti->file_offset, ti->data);
    }
    return LQ_OK;
}

static void print_scalar(FILE *f, enum lq_gguf_type type, const void *p)
{
    switch (type) {
    case LQ_GGUF_UINT8:
        fprintf(f, "%u", *(const uint8_t *)p);
        break;
    case LQ_GGUF_INT8:
        fprintf(f, "%d", *(const int8_t *)p);
        break;
    case LQ_GGUF_UINT16:
        fprintf(f, "%u", *(const uint16_t *)p);
        break;
    case LQ_GGUF_INT16:
        fprintf(f, "%d", *(const int16_t *)p);
        break;
    case LQ_GGUF_UINT32:
        fprintf(f, "%" PRIu32, *(const uint32_t *)p);
        break;
    case LQ_GGUF_INT32:
        fprintf(f, "%" PRId32, *(const int32_t *)p);
        break;
    case LQ_GGUF_FLOAT32:
        fprintf(f, "%.9g", *(const float *)p);
        break;
    case LQ_GGUF_BOOL:
        fprintf(f, "%s", *(const bool *)p ? "true" : "false");
        break;
    case LQ_GGUF_UINT64:
        fprintf(f, "%" PRIu64, *(const uint64_t *)p);
        break;
    case LQ_GGUF_INT64:
        fprintf(f, "%" PRId64, *(const int64_t *)p);
        break;
    case LQ_GGUF_FLOAT64:
        fprintf(f, "%.17g", *(const double *)p);
        break;
    case LQ_GGUF_STRING: {
        const struct lq_gguf_str *s = p;
        ivi_print_quoted(f, s->s, (size_t)s->len, 80);
        break;
    }
    default:
        fprintf(f, "?");
        break;
    }
}

static size_t elem_size(enum lq_gguf_type t)
{
    switch (t) {
    case LQ_GGUF_UINT8:
    case LQ_GGUF_INT8:
        return 1;
    case LQ_GGUF_BOOL:
        return sizeof(bool);
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
    case LQ_GGUF_STRING:
        return sizeof(struct lq_gguf_str);
    case LQ_GGUF_ARRAY:
        return sizeof(struct lq_gguf_value);
    default:
        return 0;
    }
}

static void print_value(FILE *f, const struct lq_gguf_value *val)
{
    if (val->type != LQ_GGUF_ARRAY) {
        print_scalar(f, val->type, &val->v);
        return;
    }
    uint64_t n = val->v.arr.n;
    enum lq_gguf_type et = val->v.arr.type;
    fprintf(f, "[%s x %" PRIu64 "]", lq_gguf_type_name(et), n);
    if (n == 0) {
        return;
    }
    fprintf(f, " ");
    const unsigned char *p = val->v.arr.data;
    for (uint64_t i = 0; i < n && i < ARRAY_HEAD; i++) {
        fprintf(f, i ? ", " : "");
        if (et == LQ_GGUF_ARRAY) {
            print_value(f, (const struct lq_gguf_value *)(const void *)(p + i * elem_size(et)));
        } else {
            print_scalar(f, et, p + i * elem_size(et));
        }
    }
    if (n > ARRAY_HEAD) {
        fprintf(f, ", ...");
    }
}

void ivi_gguf_metadata_print(const struct inspect_view *v, FILE *f)
{
    const lq_gguf *g = v->impl;
    for (int64_t i = 0; i < lq_gguf_n_kv(g); i++) {
        const struct lq_gguf_value *val = lq_gguf_value(g, i);
        char key[1024];
        fprintf(f, "  %-44s %-7s = ", cli_esc(lq_gguf_key(g, i), key, sizeof key),
                lq_gguf_type_name(val->type));
        print_value(f, val);
        fputc('\n', f);
    }
}

static json_t *scalar_json(enum lq_gguf_type type, const void *p)
{
    switch (type) {
    case LQ_GGUF_UINT8:
        return json_integer(*(const uint8_t *)p);
    case LQ_GGUF_INT8:
        return json_integer(*(const int8_t *)p);
    case LQ_GGUF_UINT16:
        return json_integer(*(const uint16_t *)p);
    case LQ_GGUF_INT16:
        return json_integer(*(const int16_t *)p);
    case LQ_GGUF_UINT32:
        return json_integer(*(const uint32_t *)p);
    case LQ_GGUF_INT32:
        return json_integer(*(const int32_t *)p);
    case LQ_GGUF_FLOAT32:
        return json_real(*(const float *)p);
    case LQ_GGUF_BOOL:
        return json_boolean(*(const bool *)p);
    case LQ_GGUF_UINT64:
        return json_integer((json_int_t) * (const uint64_t *)p);
    case LQ_GGUF_INT64:
        return json_integer(*(const int64_t *)p);
    case LQ_GGUF_FLOAT64:
        return json_real(*(const double *)p);
    case LQ_GGUF_STRING: {
        const struct lq_gguf_str *s = p;
        return json_stringn_nocheck(s->s, (size_t)s->len);
    }
    default:
        return json_null();
    }
}

static json_t *value_json(const struct lq_gguf_value *val)
{
    if (val->type != LQ_GGUF_ARRAY) {
        return scalar_json(val->type, &val->v);
    }
    uint64_t n = val->v.arr.n;
    enum lq_gguf_type et = val->v.arr.type;
    json_t *head = json_array();
    const unsigned char *p = val->v.arr.data;
    uint64_t shown = n > 64 ? ARRAY_HEAD : n;
    for (uint64_t i = 0; i < shown; i++) {
        const void *e = p + i * elem_size(et);
        json_array_append_new(head, et == LQ_GGUF_ARRAY ? value_json(e) : scalar_json(et, e));
    }
    if (shown == n) {
        return head;
    }
    return json_pack("{s:s,s:I,s:o}", "array_of", lq_gguf_type_name(et), "n", (json_int_t)n, "head",
                     head);
}

json_t *ivi_gguf_metadata_json(const struct inspect_view *v)
{
    const lq_gguf *g = v->impl;
    json_t *o = json_object();
    for (int64_t i = 0; i < lq_gguf_n_kv(g); i++) {
        json_object_set_new(o, lq_gguf_key(g, i), value_json(lq_gguf_value(g, i)));
    }
    return o;
}

int64_t ivi_gguf_metadata_count(const struct inspect_view *v)
{
    return lq_gguf_n_kv(v->impl);
}

void ivi_gguf_close(struct inspect_view *v)
{
    lq_gguf_free(v->impl);
}
