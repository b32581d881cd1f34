/* lqt_craft.c - see lqt_craft.h. */
#include "lqt_craft.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/fp16.h"
#include "lq/gguf.h"
#include "lq/gguf_writer.h"
#include "lqt_util.h"

static size_t dtype_size(const char *dtype)
{
    if (strcmp(dtype, "F64") == 0 || strcmp(dtype, "I64") == 0) {
        return 8;
    }
    if (strcmp(dtype, "F32") == 0 || strcmp(dtype, "I32") == 0) {
        return 4;
    }
    if (strcmp(dtype, "F16") == 0 || strcmp(dtype, "BF16") == 0 || strcmp(dtype, "I16") == 0) {
        return 2;
    }
    return 1;
}

static size_t tensor_bytes(const struct lqt_st_tensor *t)
{
    size_t n = dtype_size(t->dtype);
    for (int d = 0; d < t->n_dims; d++) {
        n *= (size_t)t->shape[d];
    }
    return n;
}

void lqt_craft_safetensors(const char *path, const struct lqt_st_tensor *t, size_t n)
{
    json_t *hdr = json_object();
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *shape = json_array();
        for (int d = 0; d < t[i].n_dims; d++) {
            json_array_append_new(shape, json_integer(t[i].shape[d]));
        }
        size_t nb = tensor_bytes(&t[i]);
        json_object_set_new(hdr, t[i].name,
                            json_pack("{s:s, s:o, s:[I,I]}", "dtype", t[i].dtype, "shape", shape,
                                      "data_offsets", (json_int_t)off, (json_int_t)(off + nb)));
        off += nb;
    }
    char *text = json_dumps(hdr, JSON_COMPACT);
    assert_non_null(text);
    size_t hlen = (strlen(text) + 7) / 8 * 8; /* padded with spaces, as writers do */
    unsigned char *file = calloc(1, 8 + hlen + off);
    assert_non_null(file);
    for (int b = 0; b < 8; b++) {
        file[b] = (unsigned char)((uint64_t)hlen >> (8 * b));
    }
    memset(file + 8, ' ', hlen);
    memcpy(file + 8, text, strlen(text));
    off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t nb = tensor_bytes(&t[i]);
        if (t[i].data) {
            memcpy(file + 8 + hlen + off, t[i].data, nb);
        }
        off += nb;
    }
    lqt_write_file(path, file, 8 + hlen + off);
    free(file);
    free(text);
    json_decref(hdr);
}

static void patch_config(const char *path, const char *config_patch)
{
    json_error_t je;
    json_t *cfg = json_load_file(path, 0, &je);
    json_t *patch = json_loads(config_patch, 0, &je);
    assert_non_null(cfg);
    if (!patch) {
        fail_msg("config patch is not JSON: %s", je.text);
    }
    const char *key;
    json_t *v;
    json_object_foreach(patch, key, v)
    {
        if (json_is_null(v)) {
            json_object_del(cfg, key);
        } else {
            json_object_set(cfg, key, v);
        }
    }
    assert_int_equal(json_dump_file(cfg, path, JSON_INDENT(2)), 0);
    json_decref(patch);
    json_decref(cfg);
}

void lqt_craft_tiny_llama(const char *dir, const char *config_patch)
{
    const char *src = lqt_data_path("models/tiny-llama-6L");
    DIR *d = opendir(src);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char from[4096], to[4096];
        snprintf(from, sizeof from, "%s/%s", src, e->d_name);
        snprintf(to, sizeof to, "%s/%s", dir, e->d_name);
        size_t n;
        void *data = lqt_read_file(from, &n);
        lqt_write_file(to, data, n);
        free(data);
    }
    closedir(d);
    if (config_patch) {
        char cfg[4096];
        snprintf(cfg, sizeof cfg, "%s/config.json", dir);
        patch_config(cfg, config_patch);
    }
}

// ---- GGUF files ----

void lqt_gguf_bytes(struct lqt_gguf *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 256;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

void lqt_gguf_u32(struct lqt_gguf *b, uint32_t v)
{
    unsigned char x[4];
    for (int i = 0; i < 4; i++) {
        x[i] = (unsigned char)(v >> (8 * i));
    }
    lqt_gguf_bytes(b, x, 4);
}

void lqt_gguf_u64(struct lqt_gguf *b, uint64_t v)
{
    lqt_gguf_u32(b, (uint32_t)v);
    lqt_gguf_u32(b, (uint32_t)(v >> 32));
}

void lqt_gguf_str(struct lqt_gguf *b, const char *s)
{
    lqt_gguf_u64(b, strlen(s));
    lqt_gguf_bytes(b, s, strlen(s));
}

void lqt_gguf_begin(struct lqt_gguf *b, uint64_t n_tensors, uint64_t n_kv)
{
    memset(b, 0, sizeof *b);
    lqt_gguf_bytes(b, "GGUF", 4);
    lqt_gguf_u32(b, 3);
    lqt_gguf_u64(b, n_tensors);
    lqt_gguf_u64(b, n_kv);
}

void lqt_gguf_kv_u32(struct lqt_gguf *b, const char *key, uint32_t v)
{
    lqt_gguf_str(b, key);
    lqt_gguf_u32(b, LQ_GGUF_UINT32);
    lqt_gguf_u32(b, v);
}

void lqt_gguf_kv_str(struct lqt_gguf *b, const char *key, const char *v)
{
    lqt_gguf_str(b, key);
    lqt_gguf_u32(b, LQ_GGUF_STRING);
    lqt_gguf_str(b, v);
}

void lqt_gguf_kv_arr(struct lqt_gguf *b, const char *key, uint32_t elem_type, uint64_t n)
{
    lqt_gguf_str(b, key);
    lqt_gguf_u32(b, LQ_GGUF_ARRAY);
    lqt_gguf_u32(b, elem_type);
    lqt_gguf_u64(b, n);
}

void lqt_gguf_tensor_info(struct lqt_gguf *b, const char *name, uint32_t n_dims, const int64_t *ne,
                          uint32_t type, uint64_t offset)
{
    lqt_gguf_str(b, name);
    lqt_gguf_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) {
        lqt_gguf_u64(b, (uint64_t)ne[d]);
    }
    lqt_gguf_u32(b, type);
    lqt_gguf_u64(b, offset);
}

void lqt_gguf_pad(struct lqt_gguf *b, size_t align)
{
    static const unsigned char zeros[64];
    while (b->n % align) {
        size_t k = align - b->n % align;
        lqt_gguf_bytes(b, zeros, k < sizeof zeros ? k : sizeof zeros);
    }
}

void lqt_gguf_write(struct lqt_gguf *b, const char *path)
{
    lqt_write_file(path, b->p, b->n);
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* The value of key i of the source, or the edit's replacement for it. */
static void copy_kv(lq_gguf_writer *w, const lq_gguf *g, int64_t i, const struct lqt_gguf_edit *e)
{
    struct lq_error err;
    const char *key = lq_gguf_key(g, i);
    if ((e->str_key && strcmp(key, e->str_key) == 0) ||
        (e->u32_key && strcmp(key, e->u32_key) == 0) ||
        (e->empty_key && strcmp(key, e->empty_key) == 0) || strcmp(key, "general.alignment") == 0) {
        return; /* set after the copy */
    }
    assert_int_equal(lq_gguf_writer_set_value(w, key, lq_gguf_value(g, i), &err), LQ_OK);
}

static void set_edited_keys(lq_gguf_writer *w, const lq_gguf *g, const struct lqt_gguf_edit *e)
{
    struct lq_error err;
    uint64_t align = 0;
    if (e->alignment) {
        assert_int_equal(lq_gguf_writer_set_u32(w, "general.alignment", e->alignment, &err), LQ_OK);
    } else if (lq_gguf_get_u64(g, "general.alignment", &align, NULL) == LQ_OK) {
        assert_int_equal(lq_gguf_writer_set_u32(w, "general.alignment", (uint32_t)align, &err),
                         LQ_OK);
    }
    if (e->str_key) {
        assert_int_equal(lq_gguf_writer_set_str(w, e->str_key, e->str_val, &err), LQ_OK);
    }
    if (e->u32_key) {
        assert_int_equal(lq_gguf_writer_set_u32(w, e->u32_key, e->u32_val, &err), LQ_OK);
    }
    if (e->empty_key) {
        assert_int_equal(lq_gguf_writer_set_arr_str(w, e->empty_key, NULL, 0, &err), LQ_OK);
    }
}

void lqt_craft_gguf_copy(const char *src, const char *dst, const struct lqt_gguf_edit *e)
{
    struct lq_error err;
    lq_gguf *g = NULL;
    lq_gguf_writer *w = NULL;
    assert_int_equal(lq_gguf_open(src, &g, &err), LQ_OK);
    assert_int_equal(lq_gguf_writer_open(dst, &w, &err), LQ_OK);
    for (int64_t i = 0; i < lq_gguf_n_kv(g); i++) {
        copy_kv(w, g, i, e);
    }
    set_edited_keys(w, g, e);
    for (int64_t i = 0; i < lq_gguf_n_tensors(g); i++) {
        const struct lq_gguf_tensor_info *t = lq_gguf_tensor(g, i);
        const char *name =
            e->rename_from && strcmp(t->name, e->rename_from) == 0 ? e->rename_to : t->name;
        enum lq_type type = e->to_f16 && t->type == LQ_TYPE_F32 && t->n_dims == 2
                                ? LQ_TYPE_F16
                                : (enum lq_type)t->type;
        assert_int_equal(lq_gguf_writer_add_tensor(w, name, type, t->n_dims, t->ne, NULL, &err),
                         LQ_OK);
    }
    for (int64_t i = 0; i < lq_gguf_n_tensors(g); i++) {
        const struct lq_gguf_tensor_info *t = lq_gguf_tensor(g, i);
        size_t n = lq_gguf_writer_tensor_nbytes(w, i);
        if (n == t->nbytes) {
            assert_int_equal(lq_gguf_writer_write_tensor(w, i, t->data, n, &err), LQ_OK);
            continue;
        }
        uint16_t *h = malloc(n); /* F32 -> F16 */
        assert_non_null(h);
        for (size_t k = 0; k < n / 2; k++) {
            float f;
            memcpy(&f, (const unsigned char *)t->data + 4 * k, 4);
            h[k] = lq_fp32_to_fp16(f);
        }
        assert_int_equal(lq_gguf_writer_write_tensor(w, i, h, n, &err), LQ_OK);
        free(h);
    }
    assert_int_equal(lq_gguf_writer_finish(w, &err), LQ_OK);
    lq_gguf_writer_free(w);
    lq_gguf_free(g);
}
