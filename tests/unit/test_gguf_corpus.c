/* test_gguf_corpus.c - the GGUF reader on files generated in memory: a small valid file in
 * each version whose values must round-trip, then one mutation per validation rule (each
 * must fail with its status and a message naming the problem), and truncation at every
 * offset. Tests on the shared data files are in test_gguf.c. */
#include "lqt_util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/gguf.h"
#include "lqi.h"

// ---- a tiny GGUF builder ----

struct tensor_spec {
    const char *name;
    uint32_t n_dims;
    int64_t ne[4];
    uint32_t type;
};

struct spec {
    uint32_t version;
    int align_kind; /* 0: no general.alignment, 1: as uint32, 2: as int32 */
    uint32_t align;
    bool dup_key;
    int n_tensors;
    struct tensor_spec t[3];
};

/* Bytes and the positions of fields the mutation tests patch. */
struct gb {
    unsigned char *p;
    size_t n, cap;
    uint32_t version;
    size_t at_version, at_n_tensors, at_n_kv, at_u8_type, at_arch_len, at_arr_count;
    size_t at_arr_elem_type;
    size_t at_ndims[3], at_ttype[3], at_toff[3];
    uint64_t toff[3], tbytes[3], data_offset;
    size_t hdr_end; /* end of the tensor infos, before padding */
};

static void gb_put(struct gb *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void gb_u8(struct gb *b, uint8_t v)
{
    gb_put(b, &v, 1);
}

static void gb_u16(struct gb *b, uint16_t v)
{
    unsigned char t[2];
    lqi_wr_u16(t, v);
    gb_put(b, t, 2);
}

static void gb_u32(struct gb *b, uint32_t v)
{
    unsigned char t[4];
    lqi_wr_u32(t, v);
    gb_put(b, t, 4);
}

static void gb_u64(struct gb *b, uint64_t v)
{
    unsigned char t[8];
    lqi_wr_u64(t, v);
    gb_put(b, t, 8);
}

static void gb_f32(struct gb *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    gb_u32(b, u);
}

/* Counts, lengths and dims: uint32 in version 1. */
static void gb_cnt(struct gb *b, uint64_t v)
{
    if (b->version == 1) {
        gb_u32(b, (uint32_t)v);
    } else {
        gb_u64(b, v);
    }
}

static void gb_strn(struct gb *b, const char *s, size_t n)
{
    gb_cnt(b, n);
    gb_put(b, s, n);
}

static void gb_str(struct gb *b, const char *s)
{
    gb_strn(b, s, strlen(s));
}

static void gb_key(struct gb *b, const char *key, uint32_t type)
{
    gb_str(b, key);
    gb_u32(b, type);
}

static void gb_arr(struct gb *b, const char *key, uint32_t elem, uint64_t n)
{
    gb_key(b, key, LQ_GGUF_ARRAY);
    gb_u32(b, elem);
    gb_cnt(b, n);
}

static void patch_u32(struct gb *b, size_t at, uint32_t v)
{
    lqi_wr_u32(b->p + at, v);
}

static void patch_u64(struct gb *b, size_t at, uint64_t v)
{
    lqi_wr_u64(b->p + at, v);
}

/* Scalars of every type (n = 13 keys). */
static int put_scalars(struct gb *b)
{
    gb_key(b, "general.architecture", LQ_GGUF_STRING);
    b->at_arch_len = b->n;
    gb_str(b, "llama");
    b->at_u8_type = b->n + (b->version == 1 ? 4 : 8) + strlen("test.u8");
    gb_key(b, "test.u8", LQ_GGUF_UINT8);
    gb_u8(b, 200);
    gb_key(b, "test.i8", LQ_GGUF_INT8);
    gb_u8(b, (uint8_t)-5);
    gb_key(b, "test.u16", LQ_GGUF_UINT16);
    gb_u16(b, 60000);
    gb_key(b, "test.i16", LQ_GGUF_INT16);
    gb_u16(b, (uint16_t)-30000);
    gb_key(b, "test.u32", LQ_GGUF_UINT32);
    gb_u32(b, 4000000000u);
    gb_key(b, "test.i32", LQ_GGUF_INT32);
    gb_u32(b, (uint32_t)-2000000000);
    gb_key(b, "test.f32", LQ_GGUF_FLOAT32);
    gb_f32(b, 1.5f);
    gb_key(b, "test.bool", LQ_GGUF_BOOL);
    gb_u8(b, 1);
    gb_key(b, "test.u64", LQ_GGUF_UINT64);
    gb_u64(b, UINT64_MAX - 1);
    gb_key(b, "test.i64", LQ_GGUF_INT64);
    gb_u64(b, (uint64_t)INT64_MIN);
    gb_key(b, "test.f64", LQ_GGUF_FLOAT64);
    gb_u64(b, 0xC002000000000000ull); /* -2.25 */
    gb_key(b, "test.str", LQ_GGUF_STRING);
    gb_strn(b, "hello\0world", 11);
    return 13;
}

/* Arrays, including arrays of strings and of arrays (n = 6 keys). */
static int put_arrays(struct gb *b)
{
    b->at_arr_elem_type = b->n + (b->version == 1 ? 4 : 8) + strlen("test.arr_i16") + 4;
    b->at_arr_count = b->at_arr_elem_type + 4;
    gb_arr(b, "test.arr_i16", LQ_GGUF_INT16, 3);
    gb_u16(b, 1), gb_u16(b, (uint16_t)-2), gb_u16(b, 3);
    gb_arr(b, "test.arr_f32", LQ_GGUF_FLOAT32, 3);
    gb_f32(b, 0.5f), gb_f32(b, -1.0f), gb_f32(b, 2.0f);
    gb_arr(b, "test.arr_u64", LQ_GGUF_UINT64, 2);
    gb_u64(b, 1), gb_u64(b, 1ull << 40);
    gb_arr(b, "test.arr_bool", LQ_GGUF_BOOL, 3);
    gb_u8(b, 1), gb_u8(b, 0), gb_u8(b, 7); /* 7: a sloppy writer's true */
    gb_arr(b, "test.arr_str", LQ_GGUF_STRING, 3);
    gb_str(b, "a"), gb_str(b, ""), gb_str(b, "ccc");
    gb_arr(b, "test.nested", LQ_GGUF_ARRAY, 3); /* [[1, 2], [], [["x"]]] */
    gb_u32(b, LQ_GGUF_INT32), gb_cnt(b, 2), gb_u32(b, 1), gb_u32(b, 2);
    gb_u32(b, LQ_GGUF_UINT8), gb_cnt(b, 0);
    gb_u32(b, LQ_GGUF_ARRAY), gb_cnt(b, 1), gb_u32(b, LQ_GGUF_STRING), gb_cnt(b, 1);
    gb_str(b, "x");
    return 6;
}

static int put_kvs(struct gb *b, const struct spec *s)
{
    int n = put_scalars(b) + put_arrays(b);
    if (s->align_kind) {
        gb_key(b, "general.alignment", s->align_kind == 1 ? LQ_GGUF_UINT32 : LQ_GGUF_INT32);
        gb_u32(b, s->align);
        n++;
    }
    if (s->dup_key) {
        gb_key(b, "test.u16", LQ_GGUF_UINT16);
        gb_u16(b, 1);
        n++;
    }
    return n;
}

/* Byte size of a tensor as the reader must compute it; 0 when it overflows. */
static uint64_t spec_nbytes(const struct tensor_spec *t)
{
    const struct lq_type_traits *tr = lq_type_traits_get((int)t->type);
    if (!tr) {
        return 0;
    }
    uint64_t nb = (uint64_t)(t->ne[0] / tr->blck_size) * tr->type_size;
    for (uint32_t j = 1; j < t->n_dims; j++) {
        if (__builtin_mul_overflow(nb, (uint64_t)t->ne[j], &nb)) {
            return 0;
        }
    }
    return nb;
}

static void put_tensor_infos(struct gb *b, const struct spec *s, uint64_t align)
{
    uint64_t off = 0;
    for (int i = 0; i < s->n_tensors; i++) {
        const struct tensor_spec *t = &s->t[i];
        gb_str(b, t->name);
        b->at_ndims[i] = b->n;
        gb_u32(b, t->n_dims);
        for (uint32_t j = 0; j < t->n_dims; j++) {
            gb_cnt(b, (uint64_t)t->ne[j]);
        }
        b->at_ttype[i] = b->n;
        gb_u32(b, t->type);
        b->at_toff[i] = b->n;
        gb_u64(b, off);
        b->toff[i] = off;
        b->tbytes[i] = spec_nbytes(t);
        off += (b->tbytes[i] + align - 1) / align * align;
    }
}

/* Data: byte i of the blob is (i * 13 + 7) mod 256; nothing after the last tensor, so that
 * every truncation cuts into something. Impossible sizes write no data. */
static void put_data(struct gb *b, const struct spec *s, uint64_t align)
{
    while (b->n % align) {
        gb_u8(b, 0);
    }
    b->data_offset = b->n;
    int last = s->n_tensors - 1;
    uint64_t end = last >= 0 ? b->toff[last] + b->tbytes[last] : 0;
    if (end > 4096) {
        return;
    }
    for (uint64_t i = 0; i < end; i++) {
        gb_u8(b, (uint8_t)(i * 13 + 7));
    }
}

static struct spec default_spec(uint32_t version)
{
    struct spec s = {.version = version, .n_tensors = 3};
    s.t[0] = (struct tensor_spec){"token_embd.weight", 2, {4, 3, 1, 1}, LQ_TYPE_F32};
    s.t[1] = (struct tensor_spec){"blk.0.attn_q.weight", 2, {32, 2, 1, 1}, LQ_TYPE_Q8_0};
    s.t[2] = (struct tensor_spec){"output_norm.weight", 1, {5, 1, 1, 1}, LQ_TYPE_F16};
    return s;
}

static struct gb build(const struct spec *s)
{
    struct gb b = {.version = s->version};
    gb_put(&b, "GGUF", 4);
    b.at_version = b.n;
    gb_u32(&b, s->version);
    b.at_n_tensors = b.n;
    gb_cnt(&b, (uint64_t)s->n_tensors);
    b.at_n_kv = b.n;
    gb_cnt(&b, 0);
    int n_kv = put_kvs(&b, s);
    if (s->version == 1) {
        patch_u32(&b, b.at_n_kv, (uint32_t)n_kv);
    } else {
        patch_u64(&b, b.at_n_kv, (uint64_t)n_kv);
    }
    uint64_t align = s->align_kind == 1 && s->align && !(s->align & (s->align - 1))
                         ? s->align
                         : LQ_GGUF_DEFAULT_ALIGNMENT;
    put_tensor_infos(&b, s, align);
    b.hdr_end = b.n;
    put_data(&b, s, align);
    return b;
}

// ---- helpers ----

/* Opens a private exact-size copy (so ASan sees any overread); expects failure. */
static void expect_fail(const void *data, size_t n, lq_status code, const char *substr)
{
    unsigned char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    if (n) {
        memcpy(copy, data, n);
    }
    struct lq_error err;
    lq_gguf *g = (lq_gguf *)1;
    lq_status rc = lq_gguf_open_memory(copy, n, "gen.gguf", &g, &err);
    if (rc != code || !strstr(err.msg, substr)) {
        fail_msg("expected %s with '%s', got %s: %s", lq_status_str(code), substr,
                 lq_status_str(rc), rc == LQ_OK ? "(opened)" : err.msg);
    }
    assert_int_equal(err.code, code);
    assert_null(g);
    assert_non_null(strstr(err.msg, "gguf: gen.gguf: "));
    free(copy);
}

static void expect_spec_fail(const struct spec *s, lq_status code, const char *substr)
{
    struct gb b = build(s);
    expect_fail(b.p, b.n, code, substr);
    free(b.p);
}

static lq_gguf *open_ok(const struct gb *b)
{
    struct lq_error err = {0};
    lq_gguf *g = NULL;
    lq_status rc = lq_gguf_open_memory(b->p, b->n, "gen.gguf", &g, &err);
    if (rc != LQ_OK) {
        fail_msg("open failed: %s", err.msg);
    }
    return g;
}

// ---- the valid file ----

static void check_scalars(const lq_gguf *g)
{
    struct lq_error err;
    const char *s;
    assert_int_equal(lq_gguf_get_str(g, "general.architecture", &s, &err), LQ_OK);
    assert_string_equal(s, "llama");
    const struct lq_gguf_value *v = lq_gguf_value(g, lq_gguf_find_key(g, "test.u8"));
    assert_int_equal(v->type, LQ_GGUF_UINT8);
    assert_int_equal(v->v.u8, 200);
    assert_int_equal(lq_gguf_value(g, lq_gguf_find_key(g, "test.i8"))->v.i8, -5);
    assert_int_equal(lq_gguf_value(g, lq_gguf_find_key(g, "test.u16"))->v.u16, 60000);
    assert_int_equal(lq_gguf_value(g, lq_gguf_find_key(g, "test.i16"))->v.i16, -30000);
    assert_int_equal(lq_gguf_value(g, lq_gguf_find_key(g, "test.u32"))->v.u32, 4000000000u);
    assert_int_equal(lq_gguf_value(g, lq_gguf_find_key(g, "test.i32"))->v.i32, -2000000000);
    assert_true(lq_gguf_value(g, lq_gguf_find_key(g, "test.f32"))->v.f32 == 1.5f);
    assert_true(lq_gguf_value(g, lq_gguf_find_key(g, "test.bool"))->v.b);
    assert_true(lq_gguf_value(g, lq_gguf_find_key(g, "test.u64"))->v.u64 == UINT64_MAX - 1);
    assert_true(lq_gguf_value(g, lq_gguf_find_key(g, "test.i64"))->v.i64 == INT64_MIN);
    assert_true(lq_gguf_value(g, lq_gguf_find_key(g, "test.f64"))->v.f64 == -2.25);
    v = lq_gguf_value(g, lq_gguf_find_key(g, "test.str"));
    assert_int_equal(v->v.str.len, 11);
    assert_memory_equal(v->v.str.s, "hello\0world", 12); /* with the added terminator */
}

static void check_arrays(const lq_gguf *g)
{
    struct lq_error err;
    const struct lq_gguf_value *a;
    assert_int_equal(lq_gguf_get_arr(g, "test.arr_i16", LQ_GGUF_INT16, &a, &err), LQ_OK);
    assert_int_equal(a->v.arr.n, 3);
    const int16_t *i16 = a->v.arr.data;
    assert_true(i16[0] == 1 && i16[1] == -2 && i16[2] == 3);
    assert_int_equal(lq_gguf_get_arr(g, "test.arr_f32", LQ_GGUF_FLOAT32, &a, &err), LQ_OK);
    const float *f = a->v.arr.data;
    assert_int_equal((uintptr_t)f % _Alignof(float), 0);
    assert_true(f[0] == 0.5f && f[1] == -1.0f && f[2] == 2.0f);
    assert_int_equal(lq_gguf_get_arr(g, "test.arr_u64", LQ_GGUF_UINT64, &a, &err), LQ_OK);
    const uint64_t *u64 = a->v.arr.data;
    assert_int_equal((uintptr_t)u64 % _Alignof(uint64_t), 0);
    assert_true(u64[0] == 1 && u64[1] == 1ull << 40);
    assert_int_equal(lq_gguf_get_arr(g, "test.arr_bool", LQ_GGUF_BOOL, &a, &err), LQ_OK);
    const bool *bo = a->v.arr.data;
    assert_true(bo[0] && !bo[1] && bo[2]);
    assert_int_equal(lq_gguf_get_arr(g, "test.arr_str", LQ_GGUF_STRING, &a, &err), LQ_OK);
    const struct lq_gguf_str *st = a->v.arr.data;
    assert_string_equal(st[0].s, "a");
    assert_string_equal(st[1].s, "");
    assert_int_equal(st[2].len, 3);
    assert_string_equal(st[2].s, "ccc");
}

static void check_nested(const lq_gguf *g)
{
    struct lq_error err;
    const struct lq_gguf_value *a;
    assert_int_equal(lq_gguf_get_arr(g, "test.nested", LQ_GGUF_ARRAY, &a, &err), LQ_OK);
    assert_int_equal(a->v.arr.n, 3);
    const struct lq_gguf_value *in = a->v.arr.data;
    assert_int_equal(in[0].type, LQ_GGUF_ARRAY);
    assert_int_equal(in[0].v.arr.type, LQ_GGUF_INT32);
    assert_int_equal(in[0].v.arr.n, 2);
    assert_int_equal(((const int32_t *)in[0].v.arr.data)[1], 2);
    assert_int_equal(in[1].v.arr.type, LQ_GGUF_UINT8);
    assert_int_equal(in[1].v.arr.n, 0);
    assert_int_equal(in[2].v.arr.type, LQ_GGUF_ARRAY);
    const struct lq_gguf_value *deep = in[2].v.arr.data;
    assert_int_equal(deep[0].v.arr.type, LQ_GGUF_STRING);
    assert_string_equal(((const struct lq_gguf_str *)deep[0].v.arr.data)[0].s, "x");
}

static void check_tensors(const lq_gguf *g, const struct gb *b)
{
    static const char *const names[3] = {"token_embd.weight", "blk.0.attn_q.weight",
                                         "output_norm.weight"};
    static const size_t nbytes[3] = {48, 68, 10};
    assert_int_equal(lq_gguf_n_tensors(g), 3);
    assert_int_equal(lq_gguf_data_offset(g), b->data_offset);
    assert_int_equal(lq_gguf_data_offset(g) % 32, 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(lq_gguf_find_tensor(g, names[i]), i);
        const struct lq_gguf_tensor_info *t = lq_gguf_tensor(g, i);
        assert_string_equal(t->name, names[i]);
        assert_int_equal(t->nbytes, nbytes[i]);
        assert_int_equal(t->offset, b->toff[i]);
        assert_int_equal(t->file_offset, b->data_offset + b->toff[i]);
        assert_ptr_equal(t->data, b->p + t->file_offset);
        assert_int_equal(((const unsigned char *)t->data)[1], (uint8_t)((b->toff[i] + 1) * 13 + 7));
    }
    const struct lq_gguf_tensor_info *t = lq_gguf_tensor(g, 2);
    assert_int_equal(t->type, LQ_TYPE_F16);
    assert_int_equal(t->n_dims, 1);
    assert_true(t->ne[0] == 5 && t->ne[1] == 1 && t->ne[2] == 1 && t->ne[3] == 1);
    assert_int_equal(lq_gguf_tensor(g, 1)->type, LQ_TYPE_Q8_0);
    assert_int_equal(lq_gguf_find_tensor(g, "missing"), -1);
    assert_null(lq_gguf_tensor(g, 3));
}

static void test_gguf_gen_roundtrip(void **state)
{
    (void)state;
    for (uint32_t v = 1; v <= 3; v++) {
        struct spec s = default_spec(v);
        struct gb b = build(&s);
        lq_gguf *g = open_ok(&b);
        assert_int_equal(lq_gguf_version(g), v);
        assert_int_equal(lq_gguf_alignment(g), 32);
        assert_int_equal(lq_gguf_file_size(g), b.n);
        assert_string_equal(lq_gguf_path(g), "gen.gguf");
        assert_int_equal(lq_gguf_n_kv(g), 19);
        assert_string_equal(lq_gguf_key(g, 0), "general.architecture");
        assert_string_equal(lq_gguf_key(g, 18), "test.nested");
        assert_null(lq_gguf_key(g, 19));
        assert_int_equal(lq_gguf_find_key(g, "test.nope"), -1);
        check_scalars(g);
        check_arrays(g);
        check_nested(g);
        check_tensors(g, &b);
        lq_gguf_free(g);
        free(b.p);
    }
}

static void test_gguf_gen_getters(void **state)
{
    (void)state;
    struct spec s = default_spec(3);
    struct gb b = build(&s);
    lq_gguf *g = open_ok(&b);
    struct lq_error err;
    uint64_t u;
    int64_t i;
    double d;
    bool bo;
    const char *str;
    const struct lq_gguf_value *a;
    assert_int_equal(lq_gguf_get_u64(g, "test.u8", &u, &err), LQ_OK);
    assert_int_equal(u, 200);
    assert_int_equal(lq_gguf_get_u64(g, "test.u32", &u, &err), LQ_OK);
    assert_int_equal(u, 4000000000u);
    assert_int_equal(lq_gguf_get_u64(g, "test.i8", &u, &err), LQ_E_FORMAT);
    assert_non_null(strstr(err.msg, "key 'test.i8': a int8 value does not fit uint64"));
    assert_int_equal(lq_gguf_get_i64(g, "test.i16", &i, &err), LQ_OK);
    assert_int_equal(i, -30000);
    assert_int_equal(lq_gguf_get_i64(g, "test.i64", &i, &err), LQ_OK);
    assert_true(i == INT64_MIN);
    assert_int_equal(lq_gguf_get_i64(g, "test.u64", &i, &err), LQ_E_FORMAT);
    assert_int_equal(lq_gguf_get_i64(g, "test.f32", &i, &err), LQ_E_FORMAT);
    assert_int_equal(lq_gguf_get_f64(g, "test.f32", &d, &err), LQ_OK);
    assert_true(d == 1.5);
    assert_int_equal(lq_gguf_get_f64(g, "test.f64", &d, &err), LQ_OK);
    assert_true(d == -2.25);
    assert_int_equal(lq_gguf_get_f64(g, "test.u8", &d, &err), LQ_E_FORMAT);
    assert_int_equal(lq_gguf_get_bool(g, "test.bool", &bo, &err), LQ_OK);
    assert_true(bo);
    assert_int_equal(lq_gguf_get_bool(g, "test.u8", &bo, &err), LQ_E_FORMAT);
    assert_int_equal(lq_gguf_get_str(g, "test.u8", &str, &err), LQ_E_FORMAT);
    assert_int_equal(lq_gguf_get_arr(g, "test.u8", LQ_GGUF_TYPE_COUNT, &a, &err), LQ_E_FORMAT);
    assert_int_equal(lq_gguf_get_arr(g, "test.arr_str", LQ_GGUF_TYPE_COUNT, &a, &err), LQ_OK);
    assert_int_equal(lq_gguf_get_arr(g, "test.arr_str", LQ_GGUF_INT32, &a, &err), LQ_E_FORMAT);
    assert_non_null(strstr(err.msg, "array of string, expected array of int32"));
    assert_int_equal(lq_gguf_get_u64(g, "no.such.key", &u, &err), LQ_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "key 'no.such.key' not found"));
    assert_int_equal(lq_gguf_get_u64(NULL, "x", &u, &err), LQ_E_INVALID_ARG);
    assert_string_equal(lq_gguf_type_name(LQ_GGUF_FLOAT64), "float64");
    assert_string_equal(lq_gguf_type_name(13), "unknown");
    lq_gguf_free(g);
    free(b.p);
}

static void test_gguf_gen_open_path(void **state)
{
    (void)state;
    struct spec s = default_spec(2);
    struct gb b = build(&s);
    char *dir = lqt_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/gen.gguf", dir);
    lqt_write_file(path, b.p, b.n);
    struct lq_error err;
    lq_gguf *g = NULL;
    assert_int_equal(lq_gguf_open(path, &g, &err), LQ_OK);
    assert_string_equal(lq_gguf_path(g), path);
    assert_int_equal(lq_gguf_n_tensors(g), 3);
    assert_memory_equal(lq_gguf_tensor(g, 1)->data, b.p + b.data_offset + b.toff[1], 68);
    lq_gguf_free(g);
    snprintf(path, sizeof path, "%s/missing.gguf", dir);
    g = (lq_gguf *)1;
    assert_int_equal(lq_gguf_open(path, &g, &err), LQ_E_NOT_FOUND);
    assert_null(g);
    assert_non_null(strstr(err.msg, "gguf: "));
    assert_non_null(strstr(err.msg, "missing.gguf"));
    lqt_rmtree(dir);
    free(dir);
    free(b.p);
    lq_gguf_free(NULL);
}

/* Cutting the file anywhere must fail cleanly: the last tensor ends at EOF. */
static void test_gguf_gen_truncated_everywhere(void **state)
{
    (void)state;
    for (uint32_t v = 1; v <= 3; v += 2) {
        struct spec s = default_spec(v);
        struct gb b = build(&s);
        assert_true(b.n < 1024 + 256); /* keep the loop cheap under ASan */
        for (size_t n = 0; n < b.n; n++) {
            expect_fail(b.p, n, LQ_E_FORMAT, n < b.data_offset ? "" : "past the end of the file");
        }
        expect_fail(b.p, 3, LQ_E_FORMAT, "offset 0: truncated file");
        free(b.p);
    }
}

// ---- header ----

static void test_gguf_gen_bad_header(void **state)
{
    (void)state;
    struct spec s = default_spec(3);
    struct gb b = build(&s);
    b.p[3] = 'G';
    expect_fail(b.p, b.n, LQ_E_FORMAT, "offset 0: bad magic 'GGUG'");
    b.p[0] = 0x01;
    expect_fail(b.p, b.n, LQ_E_FORMAT, "bad magic '\\x01GUG'");
    b.p[0] = 'G', b.p[3] = 'F';
    patch_u32(&b, b.at_version, 0);
    expect_fail(b.p, b.n, LQ_E_FORMAT, "offset 4: bad version 0");
    patch_u32(&b, b.at_version, 4);
    expect_fail(b.p, b.n, LQ_E_UNSUPPORTED, "offset 4: unsupported version 4");
    patch_u32(&b, b.at_version, 0x03000000);
    expect_fail(b.p, b.n, LQ_E_UNSUPPORTED, "big-endian");
    patch_u32(&b, b.at_version, 3);
    expect_fail(b.p, 0, LQ_E_FORMAT, "too short for the magic");
    free(b.p);
}

static void test_gguf_gen_huge_counts(void **state)
{
    (void)state;
    struct spec s = default_spec(3);
    struct gb b = build(&s);
    struct gb saved = b;
    saved.p = malloc(b.n);
    memcpy(saved.p, b.p, b.n);
    patch_u64(&b, b.at_n_kv, 1ull << 60);
    expect_fail(b.p, b.n, LQ_E_FORMAT, "offset 16: n_kv = 1152921504606846976 is too large");
    memcpy(b.p, saved.p, b.n);
    patch_u64(&b, b.at_n_tensors, UINT64_MAX);
    expect_fail(b.p, b.n, LQ_E_FORMAT, "offset 8: n_tensors = 18446744073709551615 is too large");
    memcpy(b.p, saved.p, b.n);
    patch_u64(&b, b.at_arch_len, 1ull << 60);
    expect_fail(b.p, b.n, LQ_E_FORMAT,
                "key 'general.architecture': string value length 1152921504606846976 exceeds");
    memcpy(b.p, saved.p, b.n);
    patch_u64(&b, b.at_arr_count, 1ull << 60);
    expect_fail(b.p, b.n, LQ_E_FORMAT,
                "key 'test.arr_i16': array count 1152921504606846976 of int16 is too large");
    memcpy(b.p, saved.p, b.n);
    /* the same count would fit 2-byte elements for a moment: 2^63 * 2 wraps to 0 */
    patch_u64(&b, b.at_arr_count, 1ull << 63);
    expect_fail(b.p, b.n, LQ_E_FORMAT, "array count 9223372036854775808 of int16 is too large");
    free(saved.p);
    free(b.p);

    s = default_spec(1);
    b = build(&s);
    patch_u32(&b, b.at_n_kv, UINT32_MAX);
    expect_fail(b.p, b.n, LQ_E_FORMAT, "offset 12: n_kv = 4294967295 is too large");
    free(b.p);
}

// ---- metadata ----

static void test_gguf_gen_bad_values(void **state)
{
    (void)state;
    struct spec s = default_spec(3);
    struct gb b = build(&s);
    patch_u32(&b, b.at_u8_type, 13);
    char want[128];
    snprintf(want, sizeof want, "offset %zu: key 'test.u8': unknown value type 13", b.at_u8_type);
    expect_fail(b.p, b.n, LQ_E_FORMAT, want);
    patch_u32(&b, b.at_u8_type, LQ_GGUF_UINT8);
    patch_u32(&b, b.at_arr_elem_type, 0xffffffffu);
    expect_fail(b.p, b.n, LQ_E_FORMAT, "key 'test.arr_i16': unknown array element type 4294967295");
    free(b.p);

    s.dup_key = true;
    expect_spec_fail(&s, LQ_E_FORMAT, "key 'test.u16': duplicate key (first at offset");
}

static void test_gguf_gen_deep_nesting(void **state)
{
    (void)state;
    struct gb b = {.version = 3};
    gb_put(&b, "GGUF", 4);
    gb_u32(&b, 3), gb_u64(&b, 0), gb_u64(&b, 1);
    gb_arr(&b, "deep", LQ_GGUF_ARRAY, 1);
    for (int i = 0; i < 40; i++) {
        gb_u32(&b, LQ_GGUF_ARRAY), gb_u64(&b, 1);
    }
    gb_u32(&b, LQ_GGUF_UINT8), gb_u64(&b, 0);
    expect_fail(b.p, b.n, LQ_E_FORMAT, "key 'deep': arrays nested deeper than 16 levels");
    free(b.p);
}

static void test_gguf_gen_bad_alignment(void **state)
{
    (void)state;
    struct spec s = default_spec(3);
    s.align_kind = 1;
    s.align = 0;
    expect_spec_fail(&s, LQ_E_FORMAT,
                     "key 'general.alignment': alignment 0 is not a non-zero power of two");
    s.align = 3;
    expect_spec_fail(&s, LQ_E_FORMAT, "alignment 3 is not a non-zero power of two");
    s.align_kind = 2;
    s.align = 32;
    expect_spec_fail(&s, LQ_E_FORMAT, "key 'general.alignment': type int32, expected uint32");
    s.align_kind = 1;
    s.align = 64;
    struct gb b = build(&s);
    lq_gguf *g = open_ok(&b);
    assert_int_equal(lq_gguf_alignment(g), 64);
    assert_int_equal(lq_gguf_data_offset(g) % 64, 0);
    assert_int_equal(lq_gguf_tensor(g, 1)->offset, 64);
    assert_int_equal(lq_gguf_tensor(g, 2)->offset, 192);
    lq_gguf_free(g);
    free(b.p);
}

// ---- tensors ----

static void test_gguf_gen_bad_placement(void **state)
{
    (void)state;
    struct spec s = default_spec(3);
    struct gb b = build(&s);
    patch_u64(&b, b.at_toff[1], b.toff[1] + 1);
    expect_fail(
        b.p, b.n, LQ_E_FORMAT,
        "tensor 'blk.0.attn_q.weight': data offset 65 is not a multiple of the alignment 32");
    patch_u64(&b, b.at_toff[1], 32); /* token_embd.weight covers [0, 48) */
    expect_fail(b.p, b.n, LQ_E_FORMAT,
                "tensor 'blk.0.attn_q.weight': data [32, 100) overlaps tensor 'token_embd.weight' "
                "[0, 48)");
    patch_u64(&b, b.at_toff[1], 0);
    expect_fail(b.p, b.n, LQ_E_FORMAT, "overlaps tensor 'token_embd.weight'");
    patch_u64(&b, b.at_toff[1], b.toff[1]);
    patch_u64(&b, b.at_toff[2], 1 << 20);
    expect_fail(b.p, b.n, LQ_E_FORMAT,
                "tensor 'output_norm.weight': data offset 1048576 + 10 bytes is past the end");
    patch_u64(&b, b.at_toff[2], UINT64_MAX - 31);
    expect_fail(b.p, b.n, LQ_E_FORMAT, "past the end of the file");
    free(b.p);
}

static void test_gguf_gen_bad_shapes(void **state)
{
    (void)state;
    struct spec s = default_spec(3);
    struct gb b = build(&s);
    patch_u32(&b, b.at_ndims[0], 5);
    char want[128];
    snprintf(want, sizeof want, "offset %zu: tensor 'token_embd.weight': n_dims 5 is more than 4",
             b.at_ndims[0]);
    expect_fail(b.p, b.n, LQ_E_FORMAT, want);
    patch_u32(&b, b.at_ndims[0], 2);
    patch_u32(&b, b.at_ttype[1], 4); /* Q4_2, retired */
    expect_fail(b.p, b.n, LQ_E_FORMAT,
                "tensor 'blk.0.attn_q.weight': unknown or retired tensor type 4");
    patch_u32(&b, b.at_ttype[1], 1000);
    expect_fail(b.p, b.n, LQ_E_FORMAT, "unknown or retired tensor type 1000");
    patch_u64(&b, b.at_ndims[0] + 4 + 8, (uint64_t)-3);
    patch_u32(&b, b.at_ttype[1], LQ_TYPE_Q8_0);
    expect_fail(b.p, b.n, LQ_E_FORMAT, "tensor 'token_embd.weight': ne[1] = -3 is negative");
    free(b.p);

    s.t[1] = (struct tensor_spec){"q4", 2, {33, 2, 1, 1}, LQ_TYPE_Q4_0};
    expect_spec_fail(
        &s, LQ_E_FORMAT,
        "tensor 'q4': row length ne[0] = 33 is not a multiple of the q4_0 block size 32");
    s.t[1] =
        (struct tensor_spec){"big", 4, {1ll << 20, 1ll << 20, 1ll << 20, 1ll << 20}, LQ_TYPE_F32};
    expect_spec_fail(&s, LQ_E_FORMAT,
                     "tensor 'big': element count of [1048576, 1048576, "
                     "1048576, 1048576] overflows int64");
    s.t[1] = (struct tensor_spec){"wide", 2, {1ll << 40, 1ll << 22, 1, 1}, LQ_TYPE_F32};
    expect_spec_fail(&s, LQ_E_FORMAT, "tensor 'wide': byte size overflows");
    s.t[1] = (struct tensor_spec){"token_embd.weight", 1, {8, 1, 1, 1}, LQ_TYPE_F32};
    expect_spec_fail(&s, LQ_E_FORMAT,
                     "tensor 'token_embd.weight': duplicate tensor name (first at offset");
}

/* Empty tensors are legal, and a tensor-less file may end before its padded header. */
static void test_gguf_gen_empty(void **state)
{
    (void)state;
    struct spec s = default_spec(3);
    s.t[2] = (struct tensor_spec){"empty", 2, {0, 7, 1, 1}, LQ_TYPE_Q4_K};
    struct gb b = build(&s);
    lq_gguf *g = open_ok(&b);
    assert_int_equal(lq_gguf_tensor(g, 2)->nbytes, 0);
    lq_gguf_free(g);
    free(b.p);

    /* as llama.cpp's vocab-only files: no padding after the header */
    s.n_tensors = 0;
    b = build(&s);
    assert_int_not_equal(b.hdr_end % 32, 0);
    lq_gguf *h = NULL;
    struct lq_error err;
    assert_int_equal(lq_gguf_open_memory(b.p, b.hdr_end, "x", &h, &err), LQ_OK);
    assert_int_equal(lq_gguf_n_tensors(h), 0);
    assert_true(lq_gguf_data_offset(h) > lq_gguf_file_size(h));
    lq_gguf_free(h);
    free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gguf_gen_roundtrip),
        cmocka_unit_test(test_gguf_gen_getters),
        cmocka_unit_test(test_gguf_gen_open_path),
        cmocka_unit_test(test_gguf_gen_truncated_everywhere),
        cmocka_unit_test(test_gguf_gen_bad_header),
        cmocka_unit_test(test_gguf_gen_huge_counts),
        cmocka_unit_test(test_gguf_gen_bad_values),
        cmocka_unit_test(test_gguf_gen_deep_nesting),
        cmocka_unit_test(test_gguf_gen_bad_alignment),
        cmocka_unit_test(test_gguf_gen_bad_placement),
        cmocka_unit_test(test_gguf_gen_bad_shapes),
        cmocka_unit_test(test_gguf_gen_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
