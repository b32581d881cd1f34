/* test_safetensors.c - the safetensors reader: the tiny-llama-6L checkpoint, files with every
 * dtype, and generated bad files (each must fail with a clear message, never crash).
 * Expected shapes come from tiny-llama-6L/config.json (checked there too, in test_hf.c):
 * 6 layers, hidden 256, FFN 768, 4 heads and 2 KV heads of 64, vocab 4096, BF16. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/safetensors.h"
#include "lqi.h"
#include "lqt_util.h"

#define N_LAYER 6
#define N_EMBD 256
#define N_FF 768
#define N_HEAD 4
#define N_HEAD_KV 2
#define HEAD_DIM 64
#define N_VOCAB 4096

// ---- helpers -------------------------------------------------------------------------------

/* A safetensors image: 8-byte length, the JSON text as given, data_len pattern bytes. */
static unsigned char *make_st(const char *json, size_t json_len, uint64_t data_len, size_t *size)
{
    *size = 8 + json_len + (size_t)data_len;
    unsigned char *p = malloc(*size);
    assert_non_null(p);
    lqi_wr_u64(p, json_len);
    memcpy(p + 8, json, json_len);
    for (size_t i = 0; i < data_len; i++) {
        p[8 + json_len + i] = (unsigned char)(i * 7 + 1);
    }
    return p;
}

/* Opens bytes that must fail with `want` and a message holding `sub` and the file name. */
static void expect_bytes_fail(const unsigned char *p, size_t size, lq_status want, const char *sub)
{
    lq_st *st = (lq_st *)1;
    struct lq_error err;
    lq_error_clear(&err);
    lq_status rc = lq_st_open_memory(p, size, "bad.safetensors", &st, &err);
    if (rc != want || !strstr(err.msg, sub) || !strstr(err.msg, "bad.safetensors")) {
        fail_msg("want status %d with '%s'; got %d: %s", want, sub, rc, err.msg);
    }
    assert_null(st);
    assert_int_equal(err.code, want);
}

static void expect_fail(const char *json, uint64_t data_len, lq_status want, const char *sub)
{
    size_t size;
    unsigned char *p = make_st(json, strlen(json), data_len, &size);
    expect_bytes_fail(p, size, want, sub);
    free(p);
}

static lq_st *open_ok(const unsigned char *p, size_t size)
{
    lq_st *st = NULL;
    struct lq_error err;
    lq_status rc = lq_st_open_memory(p, size, "good.safetensors", &st, &err);
    if (rc != LQ_OK) {
        fail_msg("open failed: %s", err.msg);
    }
    return st;
}

static void assert_shape(const struct lq_st_tensor_info *t, uint32_t nd, int64_t d0, int64_t d1)
{
    assert_int_equal(t->n_dims, nd);
    assert_int_equal(t->shape[0], d0);
    assert_int_equal(t->shape[1], nd > 1 ? d1 : 1);
}

// ---- tiny-llama-6L -------------------------------------------------------------------------

struct expect_tensor {
    const char *suffix;
    uint32_t nd;
    int64_t d0, d1;
};

static const struct expect_tensor layer_tensors[] = {
    {"input_layernorm.weight", 1, N_EMBD, 0},
    {"post_attention_layernorm.weight", 1, N_EMBD, 0},
    {"self_attn.q_proj.weight", 2, N_HEAD *HEAD_DIM, N_EMBD},
    {"self_attn.k_proj.weight", 2, N_HEAD_KV *HEAD_DIM, N_EMBD},
    {"self_attn.v_proj.weight", 2, N_HEAD_KV *HEAD_DIM, N_EMBD},
    {"self_attn.o_proj.weight", 2, N_EMBD, N_HEAD *HEAD_DIM},
    {"mlp.gate_proj.weight", 2, N_FF, N_EMBD},
    {"mlp.up_proj.weight", 2, N_FF, N_EMBD},
    {"mlp.down_proj.weight", 2, N_EMBD, N_FF},
};

static void check_tensor(const lq_st *st, const char *name, uint32_t nd, int64_t d0, int64_t d1)
{
    int64_t id = lq_st_find_tensor(st, name);
    if (id < 0) {
        fail_msg("tensor %s missing", name);
    }
    const struct lq_st_tensor_info *t = lq_st_tensor(st, id);
    assert_string_equal(t->name, name);
    assert_int_equal(t->dtype, LQ_ST_BF16);
    assert_string_equal(t->dtype_name, "BF16");
    assert_int_equal(t->lq_type, LQ_TYPE_BF16);
    assert_shape(t, nd, d0, d1);
    assert_int_equal(t->nbytes, (size_t)(d0 * (nd > 1 ? d1 : 1) * 2));
}

static void test_st_tiny_llama(void **state)
{
    (void)state;
    const char *path = lqt_data_path("models/tiny-llama-6L/model.safetensors");
    lq_st *st = NULL;
    struct lq_error err;
    assert_int_equal(lq_st_open(path, &st, &err), LQ_OK);
    assert_int_equal(lq_st_n_tensors(st), N_LAYER * 9 + 3);
    check_tensor(st, "model.embed_tokens.weight", 2, N_VOCAB, N_EMBD);
    check_tensor(st, "lm_head.weight", 2, N_VOCAB, N_EMBD);
    check_tensor(st, "model.norm.weight", 1, N_EMBD, 0);
    for (int l = 0; l < N_LAYER; l++) {
        for (size_t k = 0; k < sizeof layer_tensors / sizeof *layer_tensors; k++) {
            const struct expect_tensor *e = &layer_tensors[k];
            char name[128];
            snprintf(name, sizeof name, "model.layers.%d.%s", l, e->suffix);
            check_tensor(st, name, e->nd, e->d0, e->d1);
        }
    }
    assert_int_equal(lq_st_find_tensor(st, "model.layers.6.mlp.up_proj.weight"), -1);
    assert_int_equal(lq_st_n_meta(st), 1);
    assert_string_equal(lq_st_meta_key(st, 0), "format");
    assert_string_equal(lq_st_meta_get(st, "format"), "pt");
    assert_null(lq_st_meta_get(st, "nope"));
    assert_null(lq_st_tensor(st, lq_st_n_tensors(st)));
    lq_st_free(st);
}

/* Data order, absolute offsets and the data views agree with the raw file. */
static void test_st_tiny_llama_layout(void **state)
{
    (void)state;
    const char *path = lqt_data_path("models/tiny-llama-6L/model.safetensors");
    size_t size;
    unsigned char *raw = lqt_read_file(path, &size);
    lq_st *st = NULL;
    assert_int_equal(lq_st_open(path, &st, NULL), LQ_OK);
    uint64_t n = lqi_rd_u64(raw);
    assert_int_equal(lq_st_header_size(st), n);
    assert_int_equal(lq_st_data_offset(st), 8 + n);
    assert_int_equal(lq_st_file_size(st), size);
    uint64_t pos = 8 + n;
    for (int64_t i = 0; i < lq_st_n_tensors(st); i++) {
        const struct lq_st_tensor_info *t = lq_st_tensor(st, i);
        assert_int_equal(t->file_offset, pos);
        assert_int_equal(t->file_offset, 8 + n + t->data_begin);
        assert_memory_equal(t->data, raw + pos, t->nbytes);
        pos += t->nbytes;
    }
    assert_int_equal(pos, size);
    free(raw);
    lq_st_free(st);
}

// ---- valid synthetic files -----------------------------------------------------------------

static const struct {
    const char *name;
    unsigned bits;
    int lq_type;
} all_dtypes[] = {
    {"BOOL", 8, -1},
    {"F4", 4, -1},
    {"F6_E2M3", 6, -1},
    {"F6_E3M2", 6, -1},
    {"U8", 8, -1},
    {"I8", 8, LQ_TYPE_I8},
    {"F8_E5M2", 8, -1},
    {"F8_E4M3", 8, -1},
    {"F8_E8M0", 8, -1},
    {"I16", 16, LQ_TYPE_I16},
    {"U16", 16, -1},
    {"F16", 16, LQ_TYPE_F16},
    {"BF16", 16, LQ_TYPE_BF16},
    {"I32", 32, LQ_TYPE_I32},
    {"U32", 32, -1},
    {"F32", 32, LQ_TYPE_F32},
    {"C64", 64, -1},
    {"F64", 64, LQ_TYPE_F64},
    {"I64", 64, LQ_TYPE_I64},
    {"U64", 64, -1},
};
#define N_DTYPES (sizeof all_dtypes / sizeof *all_dtypes)

static void test_st_dtype_table(void **state)
{
    (void)state;
    assert_int_equal(N_DTYPES, LQ_ST_DTYPE_COUNT);
    for (size_t i = 0; i < N_DTYPES; i++) {
        int dt = lq_st_dtype_from_name(all_dtypes[i].name);
        assert_true(dt >= 0);
        assert_string_equal(lq_st_dtype_name(dt), all_dtypes[i].name);
        assert_int_equal(lq_st_dtype_bits(dt), all_dtypes[i].bits);
        assert_int_equal(lq_st_dtype_lq_type(dt), all_dtypes[i].lq_type);
    }
    assert_int_equal(lq_st_dtype_from_name("bf16"), -1);
    assert_int_equal(lq_st_dtype_from_name("F8_E4M3FNUZ"), -1);
    assert_string_equal(lq_st_dtype_name(LQ_ST_DTYPE_COUNT), "unknown");
    assert_int_equal(lq_st_dtype_bits(-1), 0);
}

/* One tensor of every dtype, 8 elements each (a whole number of bytes for 4 and 6 bits),
 * listed in reverse data order: ids must come back in data order. */
static void test_st_every_dtype(void **state)
{
    (void)state;
    char json[4096];
    size_t len = (size_t)snprintf(json, sizeof json, "{\"__metadata__\":{\"b\":\"2\",\"a\":\"1\"}");
    uint64_t begins[N_DTYPES], pos = 0;
    for (size_t i = 0; i < N_DTYPES; i++) {
        begins[i] = pos;
        pos += all_dtypes[i].bits; /* 8 elements x bits / 8 */
    }
    for (size_t k = N_DTYPES; k-- > 0;) {
        len += (size_t)snprintf(json + len, sizeof json - len,
                                ",\"t%02zu\":{\"dtype\":\"%s\",\"shape\":[2,4],"
                                "\"data_offsets\":[%llu,%llu]}",
                                k, all_dtypes[k].name, (unsigned long long)begins[k],
                                (unsigned long long)(begins[k] + all_dtypes[k].bits));
    }
    len += (size_t)snprintf(json + len, sizeof json - len, "}  ");
    size_t size;
    unsigned char *p = make_st(json, len, pos, &size);
    lq_st *st = open_ok(p, size);
    assert_int_equal(lq_st_n_tensors(st), N_DTYPES);
    for (size_t i = 0; i < N_DTYPES; i++) {
        const struct lq_st_tensor_info *t = lq_st_tensor(st, (int64_t)i);
        char name[8];
        snprintf(name, sizeof name, "t%02zu", i);
        assert_string_equal(t->name, name);
        assert_string_equal(t->dtype_name, all_dtypes[i].name);
        assert_int_equal(t->lq_type, all_dtypes[i].lq_type);
        assert_int_equal(t->n_elements, 8);
        assert_int_equal(t->nbytes, all_dtypes[i].bits);
        assert_ptr_equal(t->data, p + 8 + len + begins[i]);
    }
    assert_int_equal(lq_st_n_meta(st), 2);
    assert_string_equal(lq_st_meta_key(st, 0), "a");
    assert_string_equal(lq_st_meta_value(st, 1), "2");
    lq_st_free(st);
    free(p);
}

/* Scalars, empty tensors and the dimension limit. */
static void test_st_shapes(void **state)
{
    (void)state;
    const char *json = "{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                       "\"e\":{\"dtype\":\"F16\",\"shape\":[3,0],\"data_offsets\":[4,4]},"
                       "\"d8\":{\"dtype\":\"U8\",\"shape\":[1,2,1,2,1,2,1,2],"
                       "\"data_offsets\":[4,20],\"extra\":true}}";
    size_t size;
    unsigned char *p = make_st(json, strlen(json), 20, &size);
    lq_st *st = open_ok(p, size);
    const struct lq_st_tensor_info *s = lq_st_tensor(st, lq_st_find_tensor(st, "s"));
    assert_int_equal(s->n_dims, 0);
    assert_int_equal(s->n_elements, 1);
    const struct lq_st_tensor_info *e = lq_st_tensor(st, lq_st_find_tensor(st, "e"));
    assert_int_equal(e->n_elements, 0);
    assert_null(e->data);
    const struct lq_st_tensor_info *d = lq_st_tensor(st, lq_st_find_tensor(st, "d8"));
    assert_int_equal(d->n_dims, 8);
    assert_int_equal(d->shape[7], 2);
    lq_st_free(st);
    free(p);
    expect_fail("{\"d9\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}",
                1, LQ_E_UNSUPPORTED, "9 dimensions");
}

static void test_st_empty(void **state)
{
    (void)state;
    size_t size;
    unsigned char *p = make_st("{}      ", 8, 0, &size);
    lq_st *st = open_ok(p, size);
    assert_int_equal(lq_st_n_tensors(st), 0);
    assert_int_equal(lq_st_find_tensor(st, "x"), -1);
    lq_st_free(st);
    free(p);
}

// ---- bad files -----------------------------------------------------------------------------

static const char small_json[] =
    "{\"__metadata__\":{\"format\":\"pt\"},"
    "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
    "\"b\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[8,16]}}";

/* Every proper prefix of a valid file is refused. Each prefix is its own allocation, so
 * ASan sees any read past it. */
static void test_st_truncated_everywhere(void **state)
{
    (void)state;
    size_t size;
    unsigned char *p = make_st(small_json, strlen(small_json), 16, &size);
    lq_st_free(open_ok(p, size));
    for (size_t cut = 0; cut < size; cut++) {
        unsigned char *q = malloc(cut ? cut : 1);
        memcpy(q, p, cut);
        expect_bytes_fail(q, cut, LQ_E_FORMAT, cut < 8 ? "too short" : "bad.safetensors");
        free(q);
    }
    free(p);
}

static void test_st_bad_prefix(void **state)
{
    (void)state;
    size_t size;
    unsigned char *p = make_st(small_json, strlen(small_json), 16, &size);
    lqi_wr_u64(p, size - 7);
    expect_bytes_fail(p, size, LQ_E_FORMAT, "runs past the end of the file");
    lqi_wr_u64(p, LQ_ST_MAX_HEADER_SIZE + 1);
    expect_bytes_fail(p, size, LQ_E_FORMAT, "exceeds the 100000000-byte limit");
    lqi_wr_u64(p, UINT64_MAX);
    expect_bytes_fail(p, size, LQ_E_FORMAT, "exceeds");
    free(p);
}

static void test_st_bad_json(void **state)
{
    (void)state;
    expect_fail("{\"a\": ", 0, LQ_E_FORMAT, "invalid JSON header at file offset");
    expect_fail("not json", 0, LQ_E_FORMAT, "invalid JSON header");
    expect_fail("[1, 2]", 0, LQ_E_FORMAT, "JSON header is not an object");
    expect_fail("{\"a\":{}} x", 0, LQ_E_FORMAT, "invalid JSON header");
    expect_fail("{\"\xff\":1}", 0, LQ_E_FORMAT, "invalid JSON header");
    expect_fail("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
                2, LQ_E_FORMAT, "duplicate");
    static const char with_nul[] =
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_\0ffsets\":[0,1]}}";
    size_t size;
    unsigned char *p = make_st(with_nul, sizeof with_nul - 1, 1, &size);
    expect_bytes_fail(p, size, LQ_E_FORMAT, "NUL byte in the JSON header at file offset 45");
    free(p);
}

static void test_st_bad_entries(void **state)
{
    (void)state;
    expect_fail("{\"w\":{\"dtype\":\"Q4_K\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2, LQ_E_FORMAT,
                "tensor 'w': unknown dtype 'Q4_K'");
    expect_fail("{\"w\":{\"dtype\":\"bf16\",\"shape\":[1],\"data_offsets\":[0,2]}}", 2, LQ_E_FORMAT,
                "unknown dtype 'bf16'");
    expect_fail("{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,2]}}", 2, LQ_E_FORMAT,
                "dtype is an integer");
    expect_fail("{\"w\":{\"shape\":[1],\"data_offsets\":[0,2]}}", 2, LQ_E_FORMAT,
                "tensor 'w': no \"dtype\"");
    expect_fail("{\"w\":3}", 0, LQ_E_FORMAT, "tensor 'w': entry is an integer, not an object");
    expect_fail("{\"w\":{\"dtype\":\"U8\",\"shape\":[-2],\"data_offsets\":[0,2]}}", 2, LQ_E_FORMAT,
                "shape[0] is negative (-2)");
    expect_fail("{\"w\":{\"dtype\":\"U8\",\"shape\":[1,2.0],\"data_offsets\":[0,2]}}", 2,
                LQ_E_FORMAT, "shape[1] is a real number, not an integer");
    expect_fail("{\"w\":{\"dtype\":\"U8\",\"shape\":\"2\",\"data_offsets\":[0,2]}}", 2, LQ_E_FORMAT,
                "shape is a string");
    expect_fail("{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0]}}", 2, LQ_E_FORMAT,
                "data_offsets is not an array of 2");
    expect_fail("{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,-2]}}", 2, LQ_E_FORMAT,
                "data_offsets[1] is negative");
    expect_fail(
        "{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,18446744073709551615]}}", 2,
        LQ_E_FORMAT, "invalid JSON header");
    expect_fail("{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8, LQ_E_FORMAT,
                "tensor 'w': data_offsets [8, 4] end before they begin");
}

static void test_st_bad_sizes(void **state)
{
    (void)state;
    expect_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, LQ_E_FORMAT,
                "tensor 'w': data_offsets [0, 8] hold 8 bytes but shape [3] of "
                "F32 needs 12");
    expect_fail("{\"w\":{\"dtype\":\"U8\",\"shape\":[1099511627776,1099511627776],"
                "\"data_offsets\":[0,8]}}",
                8, LQ_E_FORMAT, "element count of the shape overflows 64 bits");
    expect_fail("{\"w\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],"
                "\"data_offsets\":[0,8]}}",
                8, LQ_E_FORMAT, "byte length of shape [2305843009213693952] of F64 overflows");
    expect_fail("{\"w\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2, LQ_E_FORMAT,
                "not a whole number of bytes");
    expect_fail("{\"w\":{\"dtype\":\"F6_E3M2\",\"shape\":[2,2],\"data_offsets\":[0,2]}}", 2,
                LQ_E_FORMAT, "hold 2 bytes but shape [2, 2] of F6_E3M2 needs 3");
    expect_fail("{\"w\":{\"dtype\":\"U8\",\"shape\":[1152921504606846976],"
                "\"data_offsets\":[0,1152921504606846976]}}",
                8, LQ_E_FORMAT, "runs past the end of the file");
}

static void test_st_bad_layout(void **state)
{
    (void)state;
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                12, LQ_E_FORMAT,
                "tensor 'b': gap in the data buffer: data begins at 8 but "
                "tensor 'a' ends at 4");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, LQ_E_FORMAT,
                "gap in the data buffer: data begins at 4 but the buffer start");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                12, LQ_E_FORMAT, "tensor 'b': data_offsets [4, 12] overlap tensor 'a'");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, LQ_E_FORMAT,
                "tensor 'a': data at file offset");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 9, LQ_E_FORMAT,
                "1 trailing bytes after the data buffer");
    expect_fail("{}", 3, LQ_E_FORMAT, "3 trailing bytes");
}

/* Members listed out of data order are fine (the reference sorts by offset too). */
static void test_st_out_of_order_listing(void **state)
{
    (void)state;
    const char *json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    size_t size;
    unsigned char *p = make_st(json, strlen(json), 8, &size);
    lq_st *st = open_ok(p, size);
    assert_string_equal(lq_st_tensor(st, 0)->name, "b");
    assert_string_equal(lq_st_tensor(st, 1)->name, "a");
    assert_int_equal(lq_st_find_tensor(st, "a"), 1);
    lq_st_free(st);
    free(p);
}

static void test_st_bad_metadata(void **state)
{
    (void)state;
    expect_fail("{\"__metadata__\":{\"format\":\"pt\",\"n\":3}}", 0, LQ_E_FORMAT,
                "__metadata__ key 'n': value is an integer, not a string");
    expect_fail("{\"__metadata__\":{\"x\":{\"y\":\"z\"}}}", 0, LQ_E_FORMAT,
                "__metadata__ key 'x': value is an object");
    expect_fail("{\"__metadata__\":\"pt\"}", 0, LQ_E_FORMAT, "__metadata__ is a string");
}

/* lq_st_open names the path; a missing file is LQ_E_NOT_FOUND. */
static void test_st_open_file_errors(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/x.safetensors", dir);
    lq_st *st = NULL;
    struct lq_error err;
    assert_int_equal(lq_st_open(path, &st, &err), LQ_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, path));
    size_t size;
    unsigned char *p = make_st("{\"w\":{}}", 8, 0, &size);
    lqt_write_file(path, p, size);
    assert_int_equal(lq_st_open(path, &st, &err), LQ_E_FORMAT);
    assert_null(st);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "tensor 'w': no \"dtype\""));
    lqt_write_file(path, "", 0);
    assert_int_equal(lq_st_open(path, &st, &err), LQ_E_FORMAT);
    assert_non_null(strstr(err.msg, "too short"));
    free(p);
    lqt_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_st_tiny_llama),
        cmocka_unit_test(test_st_tiny_llama_layout),
        cmocka_unit_test(test_st_dtype_table),
        cmocka_unit_test(test_st_every_dtype),
        cmocka_unit_test(test_st_shapes),
        cmocka_unit_test(test_st_empty),
        cmocka_unit_test(test_st_truncated_everywhere),
        cmocka_unit_test(test_st_bad_prefix),
        cmocka_unit_test(test_st_bad_json),
        cmocka_unit_test(test_st_bad_entries),
        cmocka_unit_test(test_st_bad_sizes),
        cmocka_unit_test(test_st_bad_layout),
        cmocka_unit_test(test_st_out_of_order_listing),
        cmocka_unit_test(test_st_bad_metadata),
        cmocka_unit_test(test_st_open_file_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
