/* test_gguf_writer.c - the streaming GGUF writer. The independent expectation is a byte
 * buffer assembled here by hand from the GGUF v3 spec (little-endian fields appended one by
 * one), compared byte for byte with the writer's output; failure paths must leave no file. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lq/gguf.h"
#include "lq/gguf_writer.h"
#include "lqt_util.h"

// ---- hand-assembled expected bytes ----

struct eb {
    unsigned char b[8192];
    size_t n;
};

static void eb_raw(struct eb *e, const void *p, size_t n)
{
    assert_true(e->n + n <= sizeof e->b);
    memcpy(e->b + e->n, p, n);
    e->n += n;
}

static void eb_le(struct eb *e, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        unsigned char c = (unsigned char)(v >> (8 * i));
        eb_raw(e, &c, 1);
    }
}

static void eb_str(struct eb *e, const char *s, size_t n)
{
    eb_le(e, n, 8);
    eb_raw(e, s, n);
}

static void eb_key(struct eb *e, const char *k, uint32_t type)
{
    eb_str(e, k, strlen(k));
    eb_le(e, type, 4);
}

static void eb_pad(struct eb *e, size_t align)
{
    while (e->n % align) {
        eb_le(e, 0, 1);
    }
}

static void eb_header(struct eb *e, uint64_t n_tensors, uint64_t n_kv)
{
    eb_raw(e, "GGUF", 4);
    eb_le(e, 3, 4);
    eb_le(e, n_tensors, 8);
    eb_le(e, n_kv, 8);
}

static void eb_tensor_info(struct eb *e, const char *name, uint32_t n_dims, const int64_t *ne,
                           uint32_t type, uint64_t offset)
{
    eb_str(e, name, strlen(name));
    eb_le(e, n_dims, 4);
    for (uint32_t i = 0; i < n_dims; i++) {
        eb_le(e, (uint64_t)ne[i], 8);
    }
    eb_le(e, type, 4);
    eb_le(e, offset, 8);
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static uint64_t f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

// ---- helpers ----

static char *out_path(const char *dir, const char *name)
{
    static char buf[4][512];
    static int slot;
    char *p = buf[slot++ % 4];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            n++;
        }
    }
    closedir(d);
    return n;
}

static void assert_file_equals(const char *path, const struct eb *e)
{
    size_t n;
    unsigned char *got = lqt_read_file(path, &n);
    assert_int_equal(n, e->n);
    for (size_t i = 0; i < n; i++) {
        if (got[i] != e->b[i]) {
            fail_msg("byte %zu: got 0x%02x, want 0x%02x", i, got[i], e->b[i]);
        }
    }
    free(got);
}

#define OK(expr) assert_int_equal((expr), LQ_OK)

// ---- tests ----

/* Smallest interesting file: two pairs, one tensor, default alignment 32. */
static void test_gguf_writer_tiny_bytes(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    const char *path = out_path(dir, "tiny.gguf");
    lq_gguf_writer *w = NULL;
    struct lq_error err = { 0 };
    OK(lq_gguf_writer_open(path, &w, &err));
    OK(lq_gguf_writer_set_u32(w, "a", 7, &err));
    OK(lq_gguf_writer_set_str(w, "s", "hi", &err));
    int64_t ne[1] = { 3 }, id = -1;
    OK(lq_gguf_writer_add_tensor(w, "t", LQ_TYPE_F32, 1, ne, &id, &err));
    assert_int_equal(id, 0);
    float data[3] = { 1.0f, 2.0f, 3.0f };
    OK(lq_gguf_writer_write_tensor(w, 0, data, sizeof data, &err));
    assert_int_equal(lq_gguf_writer_data_offset(w), 128);
    OK(lq_gguf_writer_finish(w, &err));
    lq_gguf_writer_free(w);

    struct eb e = { .n = 0 };
    eb_header(&e, 1, 2);
    eb_key(&e, "a", 4);
    eb_le(&e, 7, 4);
    eb_key(&e, "s", 8);
    eb_str(&e, "hi", 2);
    eb_tensor_info(&e, "t", 1, ne, 0, 0);
    assert_int_equal(e.n, 97); /* 24 + 17 + 23 + 33, worked out by hand */
    eb_pad(&e, 32);
    for (int i = 0; i < 3; i++) {
        eb_le(&e, f32_bits(data[i]), 4);
    }
    eb_pad(&e, 32);
    assert_file_equals(path, &e);
    assert_int_equal(count_entries(dir), 1); /* no temporary left beside it */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true((st.st_mode & 0044) != 0); /* not mkstemp's 0600 (umask 022 or 002 in CI) */
    lqt_rmtree(dir);
    free(dir);
}

static void set_all_scalars(lq_gguf_writer *w, struct lq_error *err)
{
    OK(lq_gguf_writer_set_u8(w, "u8", 0xfe, err));
    OK(lq_gguf_writer_set_i8(w, "i8", -2, err));
    OK(lq_gguf_writer_set_u16(w, "u16", 0xbeef, err));
    OK(lq_gguf_writer_set_i16(w, "i16", -300, err));
    OK(lq_gguf_writer_set_u32(w, "u32", 0xdeadbeef, err));
    OK(lq_gguf_writer_set_i32(w, "i32", -70000, err));
    OK(lq_gguf_writer_set_f32(w, "f32", 0.15625f, err));
    OK(lq_gguf_writer_set_bool(w, "bool", true, err));
    OK(lq_gguf_writer_set_u64(w, "u64", 0x0123456789abcdefULL, err));
    OK(lq_gguf_writer_set_i64(w, "i64", -5000000000LL, err));
    OK(lq_gguf_writer_set_f64(w, "f64", -2.5e-300, err));
    /* a string with an embedded NUL only fits through set_value */
    struct lq_gguf_value v = { .type = LQ_GGUF_STRING };
    v.v.str.s = "a\0b";
    v.v.str.len = 3;
    OK(lq_gguf_writer_set_value(w, "nul", &v, err));
}

static void expect_all_scalars(struct eb *e)
{
    eb_key(e, "u8", 0);
    eb_le(e, 0xfe, 1);
    eb_key(e, "i8", 1);
    eb_le(e, 0xfe, 1);
    eb_key(e, "u16", 2);
    eb_le(e, 0xbeef, 2);
    eb_key(e, "i16", 3);
    eb_le(e, (uint16_t)-300, 2);
    eb_key(e, "u32", 4);
    eb_le(e, 0xdeadbeef, 4);
    eb_key(e, "i32", 5);
    eb_le(e, (uint32_t)-70000, 4);
    eb_key(e, "f32", 6);
    eb_le(e, 0x3e200000, 4); /* 0.15625 = 1.25 * 2^-3 */
    eb_key(e, "bool", 7);
    eb_le(e, 1, 1);
    eb_key(e, "u64", 10);
    eb_le(e, 0x0123456789abcdefULL, 8);
    eb_key(e, "i64", 11);
    eb_le(e, (uint64_t)-5000000000LL, 8);
    eb_key(e, "f64", 12);
    eb_le(e, f64_bits(-2.5e-300), 8);
    eb_key(e, "nul", 8);
    eb_str(e, "a\0b", 3);
}

static const int16_t k_i16[3] = { -1, 2, -32768 };
static const float k_f32[2] = { -0.5f, 1e30f };
static const double k_f64[2] = { 3.0, -0.0 };
static const bool k_bool[3] = { true, false, true };
static const uint8_t k_u8a[2] = { 1, 2 }, k_u8b[1] = { 9 };
static const char *const k_strs[3] = { "<s>", "", "\xe2\x96\x81the" };

static void set_all_arrays(lq_gguf_writer *w, struct lq_error *err)
{
    OK(lq_gguf_writer_set_arr(w, "a.i16", LQ_GGUF_INT16, k_i16, 3, err));
    OK(lq_gguf_writer_set_arr(w, "a.f32", LQ_GGUF_FLOAT32, k_f32, 2, err));
    OK(lq_gguf_writer_set_arr(w, "a.f64", LQ_GGUF_FLOAT64, k_f64, 2, err));
    OK(lq_gguf_writer_set_arr(w, "a.bool", LQ_GGUF_BOOL, k_bool, 3, err));
    OK(lq_gguf_writer_set_arr(w, "a.empty", LQ_GGUF_UINT32, NULL, 0, err));
    OK(lq_gguf_writer_set_arr_str(w, "a.str", k_strs, 3, err));
    /* [[1, 2], [9]] as an array of arrays of uint8 */
    struct lq_gguf_value inner[2] = { { .type = LQ_GGUF_ARRAY }, { .type = LQ_GGUF_ARRAY } };
    inner[0].v.arr.type = LQ_GGUF_UINT8;
    inner[0].v.arr.n = 2;
    inner[0].v.arr.data = k_u8a;
    inner[1].v.arr.type = LQ_GGUF_UINT8;
    inner[1].v.arr.n = 1;
    inner[1].v.arr.data = k_u8b;
    struct lq_gguf_value outer = { .type = LQ_GGUF_ARRAY };
    outer.v.arr.type = LQ_GGUF_ARRAY;
    outer.v.arr.n = 2;
    outer.v.arr.data = inner;
    OK(lq_gguf_writer_set_value(w, "a.nested", &outer, err));
}

static void expect_all_arrays(struct eb *e)
{
    eb_key(e, "a.i16", 9);
    eb_le(e, 3, 4);
    eb_le(e, 3, 8);
    eb_raw(e, "\xff\xff\x02\x00\x00\x80", 6);
    eb_key(e, "a.f32", 9);
    eb_le(e, 6, 4);
    eb_le(e, 2, 8);
    eb_le(e, f32_bits(k_f32[0]), 4);
    eb_le(e, f32_bits(k_f32[1]), 4);
    eb_key(e, "a.f64", 9);
    eb_le(e, 12, 4);
    eb_le(e, 2, 8);
    eb_le(e, f64_bits(3.0), 8);
    eb_le(e, 0x8000000000000000ULL, 8);
    eb_key(e, "a.bool", 9);
    eb_le(e, 7, 4);
    eb_le(e, 3, 8);
    eb_raw(e, "\x01\x00\x01", 3);
    eb_key(e, "a.empty", 9);
    eb_le(e, 4, 4);
    eb_le(e, 0, 8);
    eb_key(e, "a.str", 9);
    eb_le(e, 8, 4);
    eb_le(e, 3, 8);
    eb_str(e, "<s>", 3);
    eb_str(e, "", 0);
    eb_str(e, "\xe2\x96\x81the", 6);
    eb_key(e, "a.nested", 9);
    eb_le(e, 9, 4); /* elements are arrays: each is element type, count, elements */
    eb_le(e, 2, 8);
    eb_le(e, 0, 4);
    eb_le(e, 2, 8);
    eb_raw(e, "\x01\x02", 2);
    eb_le(e, 0, 4);
    eb_le(e, 1, 8);
    eb_raw(e, "\x09", 1);
}

/* Every value type, alignment 64, two tensors (F16 and Q8_0) streamed in pieces and out of
 * order, against bytes assembled by hand. */
static void test_gguf_writer_every_type_bytes(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    const char *path = out_path(dir, "all.gguf");
    lq_gguf_writer *w = NULL;
    struct lq_error err = { 0 };
    OK(lq_gguf_writer_open(path, &w, &err));
    OK(lq_gguf_writer_set_u32(w, "general.alignment", 64, &err));
    set_all_scalars(w, &err);
    set_all_arrays(w, &err);
    int64_t ne_a[2] = { 3, 2 }, ne_b[2] = { 32, 2 };
    OK(lq_gguf_writer_add_tensor(w, "blk.0.a", LQ_TYPE_F16, 2, ne_a, NULL, &err));
    OK(lq_gguf_writer_add_tensor(w, "blk.0.b", LQ_TYPE_Q8_0, 2, ne_b, NULL, &err));
    assert_int_equal(lq_gguf_writer_tensor_nbytes(w, 0), 12);
    assert_int_equal(lq_gguf_writer_tensor_nbytes(w, 1), 68);
    unsigned char a[12], b[68];
    for (int i = 0; i < 68; i++) {
        b[i] = (unsigned char)(200 - i);
        if (i < 12) {
            a[i] = (unsigned char)(i + 1);
        }
    }
    OK(lq_gguf_writer_write_tensor_named(w, "blk.0.b", b, 34, &err));
    OK(lq_gguf_writer_write_tensor(w, 0, a, 12, &err));
    OK(lq_gguf_writer_write_tensor(w, 1, b + 34, 34, &err));
    OK(lq_gguf_writer_finish(w, &err));
    lq_gguf_writer_free(w);

    struct eb e = { .n = 0 };
    eb_header(&e, 2, 1 + 12 + 7);
    eb_key(&e, "general.alignment", 4);
    eb_le(&e, 64, 4);
    expect_all_scalars(&e);
    expect_all_arrays(&e);
    eb_tensor_info(&e, "blk.0.a", 2, ne_a, 1, 0);
    eb_tensor_info(&e, "blk.0.b", 2, ne_b, 8, 64);
    eb_pad(&e, 64);
    eb_raw(&e, a, 12);
    eb_pad(&e, 64);
    eb_raw(&e, b, 68);
    eb_pad(&e, 64);
    assert_file_equals(path, &e);
    lqt_rmtree(dir);
    free(dir);
}

static const struct lq_gguf_value *kv(const lq_gguf *g, const char *key, enum lq_gguf_type t)
{
    int64_t id = lq_gguf_find_key(g, key);
    if (id < 0) {
        fail_msg("key '%s' missing", key);
    }
    const struct lq_gguf_value *v = lq_gguf_value(g, id);
    assert_int_equal(v->type, t);
    return v;
}

static void check_scalars_read_back(const lq_gguf *g)
{
    assert_int_equal(kv(g, "u8", LQ_GGUF_UINT8)->v.u8, 0xfe);
    assert_int_equal(kv(g, "i8", LQ_GGUF_INT8)->v.i8, -2);
    assert_int_equal(kv(g, "u16", LQ_GGUF_UINT16)->v.u16, 0xbeef);
    assert_int_equal(kv(g, "i16", LQ_GGUF_INT16)->v.i16, -300);
    assert_int_equal(kv(g, "u32", LQ_GGUF_UINT32)->v.u32, 0xdeadbeef);
    assert_int_equal(kv(g, "i32", LQ_GGUF_INT32)->v.i32, -70000);
    assert_true(kv(g, "f32", LQ_GGUF_FLOAT32)->v.f32 == 0.15625f);
    assert_true(kv(g, "bool", LQ_GGUF_BOOL)->v.b);
    assert_true(kv(g, "u64", LQ_GGUF_UINT64)->v.u64 == 0x0123456789abcdefULL);
    assert_true(kv(g, "i64", LQ_GGUF_INT64)->v.i64 == -5000000000LL);
    assert_true(kv(g, "f64", LQ_GGUF_FLOAT64)->v.f64 == -2.5e-300);
    const struct lq_gguf_value *nul = kv(g, "nul", LQ_GGUF_STRING);
    assert_int_equal(nul->v.str.len, 3);
    assert_memory_equal(nul->v.str.s, "a\0b", 3);
}

static void check_arrays_read_back(const lq_gguf *g)
{
    const struct lq_gguf_value *a = kv(g, "a.i16", LQ_GGUF_ARRAY);
    assert_int_equal(a->v.arr.type, LQ_GGUF_INT16);
    assert_memory_equal(a->v.arr.data, k_i16, sizeof k_i16);
    a = kv(g, "a.f32", LQ_GGUF_ARRAY);
    assert_memory_equal(a->v.arr.data, k_f32, sizeof k_f32);
    a = kv(g, "a.f64", LQ_GGUF_ARRAY);
    assert_memory_equal(a->v.arr.data, k_f64, sizeof k_f64);
    a = kv(g, "a.bool", LQ_GGUF_ARRAY);
    assert_int_equal(a->v.arr.n, 3);
    assert_memory_equal(a->v.arr.data, k_bool, sizeof k_bool);
    assert_int_equal(kv(g, "a.empty", LQ_GGUF_ARRAY)->v.arr.n, 0);
    a = kv(g, "a.str", LQ_GGUF_ARRAY);
    assert_int_equal(a->v.arr.type, LQ_GGUF_STRING);
    const struct lq_gguf_str *s = a->v.arr.data;
    for (int i = 0; i < 3; i++) {
        assert_string_equal(s[i].s, k_strs[i]);
    }
    a = kv(g, "a.nested", LQ_GGUF_ARRAY);
    assert_int_equal(a->v.arr.type, LQ_GGUF_ARRAY);
    assert_int_equal(a->v.arr.n, 2);
    const struct lq_gguf_value *in = a->v.arr.data;
    assert_int_equal(in[0].v.arr.n, 2);
    assert_memory_equal(in[0].v.arr.data, k_u8a, 2);
    assert_int_equal(in[1].v.arr.n, 1);
    assert_memory_equal(in[1].v.arr.data, k_u8b, 1);
}

/* The same file read back with libquant's GGUF reader: every value, in order, and the tensors
 * at aligned offsets with their bytes. */
static void test_gguf_writer_read_back(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    const char *path = out_path(dir, "rt.gguf");
    lq_gguf_writer *w = NULL;
    struct lq_error err = { 0 };
    OK(lq_gguf_writer_open(path, &w, &err));
    OK(lq_gguf_writer_set_u32(w, "general.alignment", 64, &err));
    set_all_scalars(w, &err);
    set_all_arrays(w, &err);
    int64_t ne_a[3] = { 4, 3, 2 }, ne_b[1] = { 64 };
    OK(lq_gguf_writer_add_tensor(w, "a", LQ_TYPE_F32, 3, ne_a, NULL, &err));
    OK(lq_gguf_writer_add_tensor(w, "b", LQ_TYPE_Q8_0, 1, ne_b, NULL, &err));
    float a[24];
    unsigned char b[68];
    for (int i = 0; i < 68; i++) {
        b[i] = (unsigned char)(i * 7);
        if (i < 24) {
            a[i] = (float)i - 11.5f;
        }
    }
    b[1] = 0x3c; /* a finite half scale (1.0), so a strict reader accepts the block */
    b[0] = 0x00;
    b[35] = 0x3c;
    b[34] = 0x00;
    OK(lq_gguf_writer_write_tensor(w, 1, b, sizeof b, &err));
    OK(lq_gguf_writer_write_tensor(w, 0, a, sizeof a, &err));
    OK(lq_gguf_writer_finish(w, &err));
    lq_gguf_writer_free(w);

    lq_gguf *g = NULL;
    if (lq_gguf_open(path, &g, &err) != LQ_OK) {
        fail_msg("%s", err.msg);
    }
    assert_int_equal(lq_gguf_version(g), 3);
    assert_int_equal(lq_gguf_alignment(g), 64);
    assert_int_equal(lq_gguf_n_kv(g), 20);
    assert_string_equal(lq_gguf_key(g, 0), "general.alignment");
    assert_string_equal(lq_gguf_key(g, 19), "a.nested");
    check_scalars_read_back(g);
    check_arrays_read_back(g);
    assert_int_equal(lq_gguf_n_tensors(g), 2);
    const struct lq_gguf_tensor_info *ta = lq_gguf_tensor(g, 0), *tb = lq_gguf_tensor(g, 1);
    assert_int_equal(ta->n_dims, 3);
    assert_int_equal(ta->ne[2], 2);
    assert_memory_equal(ta->data, a, sizeof a);
    assert_int_equal(tb->type, LQ_TYPE_Q8_0);
    assert_int_equal(tb->offset, 128); /* 96 bytes of a, padded to 64 */
    assert_memory_equal(tb->data, b, sizeof b);
    assert_int_equal(lq_gguf_file_size(g) % 64, 0);
    lq_gguf_free(g);
    lqt_rmtree(dir);
    free(dir);
}

/* Setting an existing key moves it to the end, as llama.cpp's gguf_set_* do. */
static void test_gguf_writer_reset_key_moves_to_end(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    const char *path = out_path(dir, "kv.gguf");
    lq_gguf_writer *w = NULL;
    struct lq_error err = { 0 };
    OK(lq_gguf_writer_open(path, &w, &err));
    OK(lq_gguf_writer_set_u8(w, "x", 1, &err));
    OK(lq_gguf_writer_set_u8(w, "y", 2, &err));
    OK(lq_gguf_writer_set_u8(w, "x", 3, &err));
    OK(lq_gguf_writer_set_u8(w, "z", 4, &err));
    OK(lq_gguf_writer_remove_key(w, "z", &err));
    assert_int_equal(lq_gguf_writer_remove_key(w, "z", &err), LQ_E_NOT_FOUND);
    assert_int_equal(lq_gguf_writer_n_kv(w), 2);
    assert_int_equal(lq_gguf_writer_find_key(w, "y"), 0);
    assert_int_equal(lq_gguf_writer_find_key(w, "x"), 1);
    OK(lq_gguf_writer_finish(w, &err));
    lq_gguf_writer_free(w);

    struct eb e = { .n = 0 };
    eb_header(&e, 0, 2);
    eb_key(&e, "y", 0);
    eb_le(&e, 2, 1);
    eb_key(&e, "x", 0);
    eb_le(&e, 3, 1);
    eb_pad(&e, 32); /* llama.cpp pads the header even without tensors */
    assert_file_equals(path, &e);
    lqt_rmtree(dir);
    free(dir);
}

/* Fewer bytes than declared: finish fails naming the tensor, and nothing is left behind. */
static void test_gguf_writer_short_data_leaves_no_file(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    const char *path = out_path(dir, "short.gguf");
    lq_gguf_writer *w = NULL;
    struct lq_error err = { 0 };
    OK(lq_gguf_writer_open(path, &w, &err));
    int64_t ne[1] = { 4 };
    OK(lq_gguf_writer_add_tensor(w, "tok", LQ_TYPE_F32, 1, ne, NULL, &err));
    OK(lq_gguf_writer_add_tensor(w, "out", LQ_TYPE_F32, 1, ne, NULL, &err));
    float x[4] = { 0 };
    OK(lq_gguf_writer_write_tensor(w, 0, x, sizeof x, &err));
    OK(lq_gguf_writer_write_tensor(w, 1, x, 8, &err));
    assert_int_equal(count_entries(dir), 1); /* the temporary */
    assert_int_equal(lq_gguf_writer_finish(w, &err), LQ_E_FORMAT);
    assert_non_null(strstr(err.msg, "'out'"));
    assert_non_null(strstr(err.msg, "8 of its 16"));
    lq_gguf_writer_free(w);
    assert_int_equal(count_entries(dir), 0);
    lqt_rmtree(dir);
    free(dir);
}

/* Freeing before finish (a caller bailing out on its own error) removes the temporary and
 * leaves an existing output untouched. */
static void test_gguf_writer_free_keeps_old_output(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    const char *path = out_path(dir, "keep.gguf");
    lqt_write_file(path, "old", 3);
    lq_gguf_writer *w = NULL;
    struct lq_error err = { 0 };
    OK(lq_gguf_writer_open(path, &w, &err));
    OK(lq_gguf_writer_set_u8(w, "x", 1, &err));
    OK(lq_gguf_writer_write_header(w, &err));
    lq_gguf_writer_free(w);
    assert_int_equal(count_entries(dir), 1);
    size_t n;
    char *got = lqt_read_file(path, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(got, "old", 3);
    free(got);
    lqt_rmtree(dir);
    free(dir);
}

static void test_gguf_writer_unwritable_dir(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    const char *path = out_path(dir, "missing/sub/x.gguf");
    lq_gguf_writer *w = (lq_gguf_writer *)1;
    struct lq_error err = { 0 };
    assert_int_equal(lq_gguf_writer_open(path, &w, &err), LQ_E_IO);
    assert_null(w);
    assert_non_null(strstr(err.msg, path));
    /* a regular file where a folder should be */
    const char *file = out_path(dir, "f");
    lqt_write_file(file, "x", 1);
    const char *under = out_path(dir, "f/x.gguf");
    assert_int_equal(lq_gguf_writer_open(under, &w, &err), LQ_E_IO);
    assert_non_null(strstr(err.msg, under));
    lqt_rmtree(dir);
    free(dir);
}

static void test_gguf_writer_rejects_misuse(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    lq_gguf_writer *w = NULL;
    struct lq_error err = { 0 };
    OK(lq_gguf_writer_open(out_path(dir, "bad.gguf"), &w, &err));
    assert_int_equal(lq_gguf_writer_set_u32(w, "general.alignment", 48, &err), LQ_E_INVALID_ARG);
    assert_int_equal(lq_gguf_writer_set_u64(w, "general.alignment", 64, &err), LQ_E_INVALID_ARG);
    assert_int_equal(lq_gguf_writer_set_arr(w, "k", LQ_GGUF_STRING, NULL, 0, &err),
                     LQ_E_INVALID_ARG);
    struct lq_gguf_value bad = { .type = (enum lq_gguf_type)13 };
    assert_int_equal(lq_gguf_writer_set_value(w, "k", &bad, &err), LQ_E_INVALID_ARG);
    assert_int_equal(lq_gguf_writer_n_kv(w), 0);

    int64_t ne[2] = { 31, 2 };
    assert_int_equal(lq_gguf_writer_add_tensor(w, "q", LQ_TYPE_Q8_0, 2, ne, NULL, &err),
                     LQ_E_INVALID_ARG);
    assert_non_null(strstr(err.msg, "block size 32"));
    ne[0] = 32;
    assert_int_equal(lq_gguf_writer_add_tensor(w, "q", LQ_TYPE_Q8_0, 5, ne, NULL, &err),
                     LQ_E_INVALID_ARG);
    char longname[80];
    memset(longname, 'n', 64);
    longname[64] = '\0';
    assert_int_equal(lq_gguf_writer_add_tensor(w, longname, LQ_TYPE_F32, 1, ne, NULL, &err),
                     LQ_E_INVALID_ARG);
    OK(lq_gguf_writer_add_tensor(w, "q", LQ_TYPE_Q8_0, 2, ne, NULL, &err));
    assert_int_equal(lq_gguf_writer_add_tensor(w, "q", LQ_TYPE_F32, 1, ne, NULL, &err),
                     LQ_E_INVALID_ARG);

    unsigned char buf[80] = { 0 };
    assert_int_equal(lq_gguf_writer_write_tensor(w, 0, buf, 69, &err), LQ_E_RANGE);
    assert_int_equal(lq_gguf_writer_write_tensor(w, 1, buf, 1, &err), LQ_E_INVALID_ARG);
    assert_int_equal(lq_gguf_writer_write_tensor_named(w, "nope", buf, 1, &err),
                     LQ_E_NOT_FOUND);
    /* the header is frozen once data flows */
    assert_int_equal(lq_gguf_writer_set_u8(w, "late", 1, &err), LQ_E_INVALID_ARG);
    assert_non_null(strstr(err.msg, "'late'"));
    lq_gguf_writer_free(w);
    assert_int_equal(count_entries(dir), 0);
    lqt_rmtree(dir);
    free(dir);
}

/* Offsets past 4 GiB: two 2 GiB tensors put the third at exactly 4 GiB. Only a few
 * bytes are written (a sparse temporary), read back at the 64-bit position. */
static void test_gguf_writer_offsets_past_4gib(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    lq_gguf_writer *w = NULL;
    struct lq_error err = { 0 };
    OK(lq_gguf_writer_open(out_path(dir, "big.gguf"), &w, &err));
    int64_t ne[2] = { 1 << 20, 512 }; /* 2 GiB of F32 each */
    OK(lq_gguf_writer_add_tensor(w, "a", LQ_TYPE_F32, 2, ne, NULL, &err));
    OK(lq_gguf_writer_add_tensor(w, "b", LQ_TYPE_F32, 2, ne, NULL, &err));
    ne[0] = 3;
    OK(lq_gguf_writer_add_tensor(w, "c", LQ_TYPE_F32, 2, ne, NULL, &err));
    OK(lq_gguf_writer_write_header(w, &err));
    uint64_t off = lq_gguf_writer_tensor_offset(w, 2);
    assert_true(off == 1ULL << 32);
    const char msg[16] = "far past 4 GiB!";
    OK(lq_gguf_writer_write_tensor(w, 2, msg, sizeof msg, &err));

    DIR *d = opendir(dir);
    struct dirent *de;
    char tmp[600] = "";
    while ((de = readdir(d)) != NULL) {
        if (strstr(de->d_name, "big.gguf.tmp.")) {
            snprintf(tmp, sizeof tmp, "%s/%s", dir, de->d_name);
        }
    }
    closedir(d);
    int fd = open(tmp, O_RDONLY);
    assert_true(fd >= 0);
    char got[16];
    off_t pos = (off_t)(lq_gguf_writer_data_offset(w) + off);
    assert_int_equal(pread(fd, got, sizeof got, pos), sizeof got);
    assert_memory_equal(got, msg, sizeof msg);
    close(fd);
    assert_int_equal(lq_gguf_writer_finish(w, &err), LQ_E_FORMAT); /* a and b are empty */
    lq_gguf_writer_free(w);
    assert_int_equal(count_entries(dir), 0);
    lqt_rmtree(dir);
    free(dir);
}

/* A write that fails (file size limit, as on a full disk) makes finish fail and leaves no file.
 * Run in a child process so the limit does not outlive the test. */
static int child_write_past_limit(const char *path)
{
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = { 4096, 4096 };
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0) {
        return 10;
    }
    lq_gguf_writer *w = NULL;
    struct lq_error err = { 0 };
    int64_t ne[1] = { 4096 };
    static float x[4096];
    if (lq_gguf_writer_open(path, &w, &err) != LQ_OK ||
        lq_gguf_writer_add_tensor(w, "t", LQ_TYPE_F32, 1, ne, NULL, &err) != LQ_OK) {
        return 11;
    }
    if (lq_gguf_writer_write_tensor(w, 0, x, sizeof x, &err) != LQ_E_IO ||
        !strstr(err.msg, ".tmp.")) {
        return 12;
    }
    if (lq_gguf_writer_finish(w, &err) != LQ_E_IO || !strstr(err.msg, "earlier write failed")) {
        return 13;
    }
    lq_gguf_writer_free(w);
    return 0;
}

static void test_gguf_writer_io_error_leaves_no_file(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    const char *path = out_path(dir, "full.gguf");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        _exit(child_write_past_limit(path));
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(count_entries(dir), 0);
    lqt_rmtree(dir);
    free(dir);
}

/* A memory writer serializes metadata into a complete GGUF that the reader accepts; it
 * refuses to write a file. */
static void test_gguf_writer_memory_metadata(void **state)
{
    (void)state;
    lq_gguf_writer *w = NULL;
    struct lq_error err = { 0 };
    assert_int_equal(lq_gguf_writer_open_memory(&w, &err), LQ_OK);
    assert_int_equal(lq_gguf_writer_set_str(w, "general.architecture", "llama", &err), LQ_OK);
    assert_int_equal(lq_gguf_writer_set_u32(w, "llama.block_count", 6, &err), LQ_OK);
    size_t n = 0, n2 = 0;
    assert_int_equal(lq_gguf_writer_header_bytes(w, NULL, 0, &n, &err), LQ_OK);
    assert_true(n > 24 && n % 32 == 0);
    char small[8];
    assert_int_equal(lq_gguf_writer_header_bytes(w, small, sizeof small, &n2, &err), LQ_E_RANGE);
    unsigned char *buf = malloc(n);
    assert_int_equal(lq_gguf_writer_header_bytes(w, buf, n, &n2, &err), LQ_OK);
    assert_int_equal(n2, n);
    lq_gguf *g = NULL;
    assert_int_equal(lq_gguf_open_memory(buf, n, "memory", &g, &err), LQ_OK);
    uint64_t v = 0;
    assert_int_equal(lq_gguf_get_u64(g, "llama.block_count", &v, &err), LQ_OK);
    assert_int_equal(v, 6);
    assert_int_equal(lq_gguf_n_tensors(g), 0);
    lq_gguf_free(g);
    free(buf);
    assert_int_equal(lq_gguf_writer_write_header(w, &err), LQ_E_INVALID_ARG);
    assert_int_equal(lq_gguf_writer_finish(w, &err), LQ_E_INVALID_ARG);
    lq_gguf_writer_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gguf_writer_tiny_bytes),
        cmocka_unit_test(test_gguf_writer_every_type_bytes),
        cmocka_unit_test(test_gguf_writer_read_back),
        cmocka_unit_test(test_gguf_writer_reset_key_moves_to_end),
        cmocka_unit_test(test_gguf_writer_short_data_leaves_no_file),
        cmocka_unit_test(test_gguf_writer_free_keeps_old_output),
        cmocka_unit_test(test_gguf_writer_unwritable_dir),
        cmocka_unit_test(test_gguf_writer_rejects_misuse),
        cmocka_unit_test(test_gguf_writer_offsets_past_4gib),
        cmocka_unit_test(test_gguf_writer_io_error_leaves_no_file),
        cmocka_unit_test(test_gguf_writer_memory_metadata),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
