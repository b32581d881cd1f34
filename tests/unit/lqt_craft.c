/* lqt_craft.c - see lqt_craft.h. */
#include "lqt_craft.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    lqt_craft_model(dir, "tiny-llama-6L", config_patch);
}

void lqt_craft_model(const char *dir, const char *model, const char *config_patch)
{
    char rel[256];
    snprintf(rel, sizeof rel, "models/%s", model);
    const char *src = lqt_data_path(rel);
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
// ---- values poked into existing files, small tokenizers --------------------------------------

static void encode_value(unsigned char *at, const char *dtype, float v)
{
    if (strcmp(dtype, "F32") == 0) {
        memcpy(at, &v, 4);
        return;
    }
    uint16_t h = strcmp(dtype, "F16") == 0 ? lq_fp32_to_fp16(v) : lq_fp32_to_bf16(v);
    memcpy(at, &h, 2);
}

/* File offset and dtype of element (row, col) of a safetensors tensor. */
static size_t st_locate(const unsigned char *file, size_t size, const char *name, int64_t row,
                        int64_t col, char *dtype)
{
    uint64_t hlen = 0;
    for (int b = 0; b < 8; b++) {
        hlen |= (uint64_t)file[b] << (8 * b);
    }
    assert_true(hlen + 8 <= size);
    json_error_t je;
    json_t *hdr = json_loadb((const char *)file + 8, (size_t)hlen, 0, &je);
    assert_non_null(hdr);
    json_t *t = json_object_get(hdr, name);
    if (!t) {
        fail_msg("no tensor '%s' in the safetensors file", name);
    }
    snprintf(dtype, 8, "%s", json_string_value(json_object_get(t, "dtype")));
    json_t *shape = json_object_get(t, "shape");
    int64_t ncols = json_integer_value(json_array_get(shape, json_array_size(shape) - 1));
    size_t off = (size_t)json_integer_value(json_array_get(json_object_get(t, "data_offsets"), 0));
    json_decref(hdr);
    return 8 + (size_t)hlen + off + (size_t)(row * ncols + col) * dtype_size(dtype);
}

/* The same for a GGUF file, through the library's reader. */
static size_t gguf_locate(const char *path, const char *name, int64_t row, int64_t col, char *dtype)
{
    lq_gguf *g = NULL;
    assert_int_equal(lq_gguf_open(path, &g, NULL), LQ_OK);
    int64_t id = lq_gguf_find_tensor(g, name);
    if (id < 0) {
        fail_msg("no tensor '%s' in %s", name, path);
    }
    const struct lq_gguf_tensor_info *ti = lq_gguf_tensor(g, id);
    const char *d = ti->type == LQ_TYPE_F32    ? "F32"
                    : ti->type == LQ_TYPE_F16  ? "F16"
                    : ti->type == LQ_TYPE_BF16 ? "BF16"
                                               : NULL;
    if (!d) {
        fail_msg("tensor '%s' is not F32/F16/BF16", name);
    }
    snprintf(dtype, 8, "%s", d);
    size_t at = (size_t)ti->file_offset + (size_t)(row * ti->ne[0] + col) * dtype_size(d);
    lq_gguf_free(g);
    return at;
}

void lqt_craft_set_value(const char *path, const char *name, int64_t row, int64_t col, float v)
{
    size_t size;
    unsigned char *file = lqt_read_file(path, &size);
    char dtype[8];
    size_t at = memcmp(file, "GGUF", 4) == 0 ? gguf_locate(path, name, row, col, dtype)
                                             : st_locate(file, size, name, row, col, dtype);
    assert_true(at + dtype_size(dtype) <= size);
    encode_value(file + at, dtype, v);
    lqt_write_file(path, file, size);
    free(file);
}

void lqt_craft_copy_file(const char *from, const char *to)
{
    size_t n;
    void *data = lqt_read_file(from, &n);
    lqt_write_file(to, data, n);
    free(data);
}

/* GPT-2's byte-to-unicode table: printable bytes stand for themselves, the rest are moved
 * to U+0100 upwards; written as UTF-8 into out. */
static void byte_piece(int b, char *out)
{
    static int map[256];
    static int ready;
    if (!ready) {
        int n = 0;
        for (int c = 0; c < 256; c++) {
            bool keep = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE;
            map[c] = keep ? c : 256 + n++;
        }
        ready = 1;
    }
    int cp = map[b];
    if (cp < 0x80) {
        out[0] = (char)cp, out[1] = '\0';
    } else {
        out[0] = (char)(0xC0 | (cp >> 6)), out[1] = (char)(0x80 | (cp & 0x3F)), out[2] = '\0';
    }
}

void lqt_craft_bpe_tokenizer(const char *dir, const char *merges_json, const char *added_json)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.model", dir);
    remove(path);
    json_t *vocab = json_object();
    for (int b = 0; b < 256; b++) {
        char piece[4];
        byte_piece(b, piece);
        json_object_set_new(vocab, piece, json_integer(b));
    }
    json_error_t je;
    json_t *merges = json_loads(merges_json, 0, &je);
    json_t *added = added_json ? json_loads(added_json, 0, &je) : json_array();
    assert_non_null(merges);
    assert_non_null(added);
    size_t i;
    json_t *m;
    json_array_foreach(merges, i, m)
    {
        const char *text = json_string_value(m);
        if (text && strchr(text, ' ')) { /* "a b" makes the piece "ab" */
            char joined[256];
            snprintf(joined, sizeof joined, "%.*s%s", (int)(strchr(text, ' ') - text), text,
                     strchr(text, ' ') + 1);
            json_object_set_new(vocab, joined, json_integer((json_int_t)json_object_size(vocab)));
        }
    }
    json_t *tok = json_pack("{s:s, s:o, s:{s:s, s:o, s:o}, s:{s:s, s:b, s:b, s:b}}", "version",
                            "1.0", "added_tokens", added, "model", "type", "BPE", "vocab", vocab,
                            "merges", merges, "pre_tokenizer", "type", "ByteLevel",
                            "add_prefix_space", 0, "trim_offsets", 1, "use_regex", 1);
    assert_non_null(tok);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    assert_int_equal(json_dump_file(tok, path, JSON_INDENT(1)), 0);
    json_decref(tok);
}

static float decode_value(const unsigned char *at, const char *dtype)
{
    float f;
    uint16_t h;
    if (strcmp(dtype, "F32") == 0) {
        memcpy(&f, at, 4);
        return f;
    }
    memcpy(&h, at, 2);
    if (strcmp(dtype, "F16") == 0) {
        lq_fp16_to_fp32_row(&h, &f, 1);
    } else {
        lq_bf16_to_fp32_row(&h, &f, 1);
    }
    return f;
}

void lqt_craft_st_retype(const char *path, const char *dtype)
{
    size_t size;
    unsigned char *file = lqt_read_file(path, &size);
    uint64_t hlen = 0;
    for (int b = 0; b < 8; b++) {
        hlen |= (uint64_t)file[b] << (8 * b);
    }
    json_error_t je;
    json_t *hdr = json_loadb((const char *)file + 8, (size_t)hlen, 0, &je);
    assert_non_null(hdr);
    size_t n = json_object_size(hdr), k = 0;
    struct lqt_st_tensor *ts = calloc(n, sizeof *ts);
    assert_non_null(ts);
    const char *name;
    json_t *v;
    json_object_foreach(hdr, name, v)
    {
        if (strcmp(name, "__metadata__") == 0) {
            continue;
        }
        const char *from = json_string_value(json_object_get(v, "dtype"));
        json_t *shape = json_object_get(v, "shape");
        struct lqt_st_tensor *t = &ts[k++];
        t->name = name;
        t->dtype = dtype;
        t->n_dims = (int)json_array_size(shape);
        size_t count = 1;
        for (int d = 0; d < t->n_dims; d++) {
            t->shape[d] = json_integer_value(json_array_get(shape, (size_t)d));
            count *= (size_t)t->shape[d];
        }
        size_t off =
            (size_t)json_integer_value(json_array_get(json_object_get(v, "data_offsets"), 0));
        const unsigned char *src = file + 8 + hlen + off;
        unsigned char *dst = malloc(count * dtype_size(dtype) + 1);
        assert_non_null(dst);
        for (size_t i = 0; i < count; i++) {
            encode_value(dst + i * dtype_size(dtype), dtype,
                         decode_value(src + i * dtype_size(from), from));
        }
        t->data = dst;
    }
    lqt_craft_safetensors(path, ts, k);
    for (size_t i = 0; i < k; i++) {
        free((void *)ts[i].data);
    }
    free(ts);
    json_decref(hdr);
    free(file);
}

/* Sets (or, for null, removes) a key in a GGUF writer from a JSON value text. */
static void set_json_value(lq_gguf_writer *w, const char *key, const char *json)
{
    json_error_t je;
    json_t *v = json_loads(json, JSON_DECODE_ANY, &je);
    assert_non_null(v);
    if (json_is_null(v)) {
        assert_int_equal(lq_gguf_writer_remove_key(w, key, NULL), LQ_OK);
    } else if (json_is_integer(v)) {
        assert_int_equal(lq_gguf_writer_set_i64(w, key, json_integer_value(v), NULL), LQ_OK);
    } else {
        assert_true(json_is_real(v));
        assert_int_equal(lq_gguf_writer_set_f64(w, key, json_real_value(v), NULL), LQ_OK);
    }
    json_decref(v);
}

void lqt_craft_gguf_patch(const char *from, const char *to, const char *key, const char *json)
{
    lq_gguf *g = NULL;
    lq_gguf_writer *w = NULL;
    assert_int_equal(lq_gguf_open(from, &g, NULL), LQ_OK);
    assert_int_equal(lq_gguf_writer_open(to, &w, NULL), LQ_OK);
    for (int64_t i = 0; i < lq_gguf_n_kv(g); i++) {
        assert_int_equal(lq_gguf_writer_set_value(w, lq_gguf_key(g, i), lq_gguf_value(g, i), NULL),
                         LQ_OK);
    }
    set_json_value(w, key, json);
    for (int64_t i = 0; i < lq_gguf_n_tensors(g); i++) {
        const struct lq_gguf_tensor_info *ti = lq_gguf_tensor(g, i);
        assert_int_equal(
            lq_gguf_writer_add_tensor(w, ti->name, ti->type, ti->n_dims, ti->ne, NULL, NULL),
            LQ_OK);
    }
    assert_int_equal(lq_gguf_writer_write_header(w, NULL), LQ_OK);
    for (int64_t i = 0; i < lq_gguf_n_tensors(g); i++) {
        const struct lq_gguf_tensor_info *ti = lq_gguf_tensor(g, i);
        assert_int_equal(lq_gguf_writer_write_tensor(w, i, ti->data, ti->nbytes, NULL), LQ_OK);
    }
    assert_int_equal(lq_gguf_writer_finish(w, NULL), LQ_OK);
    lq_gguf_writer_free(w);
    lq_gguf_free(g);
}

void lqt_craft_fifo(const char *path)
{
    unlink(path);
    if (mkfifo(path, 0644) != 0) {
        fail_msg("mkfifo %s: %s", path, strerror(errno));
    }
}

void lqt_craft_symlink(const char *path, const char *target)
{
    unlink(path);
    if (symlink(target, path) != 0) {
        fail_msg("symlink %s -> %s: %s", path, target, strerror(errno));
    }
}
