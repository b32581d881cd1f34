/* test_pytorch.c - torch.save zip checkpoints and the safe unpickler.
 *
 * The real checkpoint's expectation is an FNV-1a hash over the same model's safetensors file,
 * computed by `scripts/ref_hash.py safetensors models/tiny-llama-6L/model.safetensors`
 * (names, shapes and bytes), plus offsets read off the zip by Python's zipfile. Malformed
 * inputs are zips built here around a hand-written pickle (checked with pickletools). */
#include <stdlib.h>
#include <string.h>

#include "lq/pytorch.h"
#include "lq/safetensors.h"
#include "lqt_util.h"
#include "lqt_zip.h"

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 0x100000001b3ULL;
    }
    return h;
}

static const lq_pt *g_pt;

static int by_name(const void *a, const void *b)
{
    return strcmp(lq_pt_tensor(g_pt, *(const int64_t *)a)->name,
                  lq_pt_tensor(g_pt, *(const int64_t *)b)->name);
}

static uint64_t tensor_hash(const lq_pt *pt)
{
    int64_t n = lq_pt_n_tensors(pt);
    int64_t *ids = malloc((size_t)n * sizeof *ids);
    for (int64_t i = 0; i < n; i++) {
        ids[i] = i;
    }
    g_pt = pt;
    qsort(ids, (size_t)n, sizeof *ids, by_name);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int64_t i = 0; i < n; i++) {
        const struct lq_pt_tensor_info *t = lq_pt_tensor(pt, ids[i]);
        h = fnv1a(h, t->name, strlen(t->name) + 1);
        h = fnv1a(h, t->shape, t->n_dims * sizeof t->shape[0]);
        h = fnv1a(h, t->data, t->nbytes);
    }
    free(ids);
    return h;
}

static void test_pytorch_tiny_llama_matches_safetensors(void **state)
{
    (void)state;
    lq_pt *pt = NULL;
    struct lq_error err = { 0 };
    lq_status rc =
        lq_pt_open(lqt_data_path("models/tiny-llama-6L-pytorch/pytorch_model.bin"), &pt, &err);
    if (rc != LQ_OK) {
        fail_msg("%s", err.msg);
    }
    assert_int_equal(lq_pt_n_tensors(pt), 57);
    assert_true(tensor_hash(pt) == 0xb5fc2080ed4a8406ULL);
    for (int64_t i = 0; i < lq_pt_n_tensors(pt); i++) {
        assert_int_equal(lq_pt_tensor(pt, i)->dtype, LQ_PT_BF16);
        assert_int_equal(lq_pt_tensor(pt, i)->lq_type, LQ_TYPE_BF16);
    }
    const struct lq_pt_tensor_info *e = lq_pt_tensor(pt, 0);
    assert_string_equal(e->name, "model.embed_tokens.weight");
    assert_int_equal(e->n_dims, 2);
    assert_int_equal(e->shape[0], 4096);
    assert_int_equal(e->shape[1], 256);
    assert_int_equal(e->stride[0], 256);
    assert_string_equal(e->storage_key, "0");
    assert_int_equal(e->file_offset, 6656); /* zipfile: header 6560 + 30 + 20 + 46 extra */
    assert_int_equal(e->nbytes, 4096 * 256 * 2);
    int64_t k = lq_pt_find_tensor(pt, "model.layers.0.self_attn.k_proj.weight");
    assert_true(k >= 0);
    assert_int_equal(lq_pt_tensor(pt, k)->shape[0], 128);
    assert_int_equal(lq_pt_find_tensor(pt, "nope"), -1);
    lq_pt_free(pt);
}

/* Tensor by tensor against model.safetensors read with lq_st: names, dtypes, shapes, bytes. */
static void test_pytorch_equals_safetensors(void **state)
{
    (void)state;
    lq_pt *pt = NULL;
    lq_st *st = NULL;
    struct lq_error err = { 0 };
    assert_int_equal(
        lq_pt_open(lqt_data_path("models/tiny-llama-6L-pytorch/pytorch_model.bin"), &pt, &err),
        LQ_OK);
    if (lq_st_open(lqt_data_path("models/tiny-llama-6L/model.safetensors"), &st, &err)) {
        fail_msg("%s", err.msg);
    }
    assert_int_equal(lq_pt_n_tensors(pt), lq_st_n_tensors(st));
    for (int64_t i = 0; i < lq_pt_n_tensors(pt); i++) {
        const struct lq_pt_tensor_info *t = lq_pt_tensor(pt, i);
        int64_t id = lq_st_find_tensor(st, t->name);
        if (id < 0) {
            fail_msg("'%s' missing from the safetensors file", t->name);
        }
        const struct lq_st_tensor_info *r = lq_st_tensor(st, id);
        assert_int_equal(r->lq_type, t->lq_type);
        assert_int_equal(r->n_dims, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++) {
            assert_int_equal(r->shape[d], t->shape[d]);
        }
        assert_int_equal(r->nbytes, t->nbytes);
        if (memcmp(r->data, t->data, t->nbytes) != 0) {
            fail_msg("'%s': data differs", t->name);
        }
    }
    lq_st_free(st);
    lq_pt_free(pt);
}

// ---- hand-made checkpoints ----

/* {'w': tensor of shape (2, 2) at offset 0, 'b': shape (2,) at offset 2}, both views of the
 * FloatStorage '0' of 4 elements; protocol 2, as torch.save writes it. */
static const char k_pickle[] =
    "\x80\x02}q\x00(X\x01\x00\x00\x00wq\x01"
    "ctorch._utils\n_rebuild_tensor_v2\nq\x02((X\x07\x00\x00\x00storageq\x03"
    "ctorch\nFloatStorage\nq\x04X\x01\x00\x00\x00"
    "0q\x05X\x03\x00\x00\x00"
    "cpuq\x06K\x04tq\x07QK\x00K\x02K\x02\x86q\x08K\x02K\x01\x86q\x09\x89"
    "ccollections\nOrderedDict\nq\n)Rq\x0btq\x0cRq\x0dX\x01\x00\x00\x00"
    "bh\x02((h\x03h\x04X\x01\x00\x00\x00"
    "0h\x06K\x04tQK\x02K\x02\x85K\x01\x85\x89h\n)RtRu.";

static const float k_storage[4] = { 1.0f, 2.0f, 3.0f, 4.0f };

/* The pickle with the first occurrence of `from` (n bytes) replaced by `to` (m bytes). */
static size_t edit(char *out, const char *from, size_t n, const char *to, size_t m)
{
    size_t len = sizeof k_pickle - 1;
    memcpy(out, k_pickle, len);
    if (!from) {
        return len;
    }
    char *at = memmem(out, len, from, n);
    assert_non_null(at);
    size_t tail = len - (size_t)(at - out) - n;
    memmove(at + m, at + n, tail);
    memcpy(at, to, m);
    return len - n + m;
}

static lq_status open_zip(const char *pkl, size_t n, bool with_storage, lq_pt **pt,
                          struct lq_error *err, struct lqt_zip *z)
{
    int zip64 = z->zip64;
    memset(z, 0, sizeof *z);
    z->zip64 = zip64;
    lqt_zip_add(z, "archive/data.pkl", pkl, n);
    if (with_storage) {
        lqt_zip_add(z, "archive/data/0", k_storage, sizeof k_storage);
    }
    lqt_zip_add(z, "archive/version", "3\n", 2);
    lqt_zip_finish(z);
    return lq_pt_open_memory(z->b, z->n, "mem.bin", pt, err);
}

static void check_two_tensors(const lq_pt *pt)
{
    assert_int_equal(lq_pt_n_tensors(pt), 2);
    const struct lq_pt_tensor_info *w = lq_pt_tensor(pt, 0), *b = lq_pt_tensor(pt, 1);
    assert_string_equal(w->name, "w");
    assert_int_equal(w->dtype, LQ_PT_F32);
    assert_int_equal(w->n_elements, 4);
    assert_memory_equal(w->data, k_storage, 16);
    assert_string_equal(b->name, "b");
    assert_int_equal(b->n_dims, 1);
    assert_int_equal(b->storage_offset, 2);
    assert_memory_equal(b->data, k_storage + 2, 8); /* shares w's storage */
}

/* Runs with the archive in plain and in zip64 form (sizes and offsets in extra fields, the
 * zip64 end record and locator), as torch writes files past 4 GiB. */
static void test_pytorch_hand_made_checkpoint(void **state)
{
    (void)state;
    for (int zip64 = 0; zip64 < 2; zip64++) {
        struct lqt_zip z = { .zip64 = zip64 };
        lq_pt *pt = NULL;
        struct lq_error err = { 0 };
        lq_status rc = open_zip(k_pickle, sizeof k_pickle - 1, true, &pt, &err, &z);
        if (rc != LQ_OK) {
            fail_msg("zip64 %d: %s", zip64, err.msg);
        }
        check_two_tensors(pt);
        lq_pt_free(pt);
        free(z.b);
    }
}


/* The same kind of dict as protocol 4 writes it (FRAME, SHORT_BINUNICODE, MEMOIZE,
 * STACK_GLOBAL), as an OrderedDict whose _metadata attribute is set by BUILD. */
static const char k_pickle4[] =
    "\x80\x04\x95\xa8\x00\x00\x00\x00\x00\x00\x00\x8c\x0b"
    "collections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94(\x8c\x01w\x94\x8c\x0ctorch._utils"
    "\x94\x8c\x12_rebuild_tensor_v2\x94\x93\x94((\x8c\x07storage\x94\x8c\x05torch\x94\x8c\x0c"
    "FloatStorage\x94\x93\x94\x8c\x01"
    "0\x94\x8c\x03"
    "cpu\x94K\x04t\x94QK\x00K\x04\x85\x94K\x01\x85\x94\x89h\x02)R\x94t\x94R\x94u}\x94\x8c\x09"
    "_metadata\x94}\x94sb.";

static void test_pytorch_protocol4_ordered_dict(void **state)
{
    (void)state;
    struct lqt_zip z = { 0 };
    lq_pt *pt = NULL;
    struct lq_error err = { 0 };
    lq_status rc = open_zip(k_pickle4, sizeof k_pickle4 - 1, true, &pt, &err, &z);
    if (rc != LQ_OK) {
        fail_msg("%s", err.msg);
    }
    assert_int_equal(lq_pt_n_tensors(pt), 1);
    assert_int_equal(lq_pt_tensor(pt, 0)->shape[0], 4);
    assert_memory_equal(lq_pt_tensor(pt, 0)->data, k_storage, 16);
    lq_pt_free(pt);
    free(z.b);
}

/* {'p': _rebuild_parameter(<a (2, 4) BF16 tensor>, True, OrderedDict())}. */
static const char k_pickle_param[] =
    "\x80\x02}(X\x01\x00\x00\x00pctorch._utils\n_rebuild_parameter\nq\x00"
    "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nBFloat16Storage\n"
    "X\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x08tQK\x00K\x02K\x04\x86K\x04K\x01\x86\x89"
    "ccollections\nOrderedDict\n)RtR\x88" "ccollections\nOrderedDict\n)R\x87Ru.";

static void test_pytorch_parameter_bf16(void **state)
{
    (void)state;
    struct lqt_zip z = { 0 };
    lq_pt *pt = NULL;
    struct lq_error err = { 0 };
    lq_status rc = open_zip(k_pickle_param, sizeof k_pickle_param - 1, true, &pt, &err, &z);
    if (rc != LQ_OK) {
        fail_msg("%s", err.msg);
    }
    const struct lq_pt_tensor_info *t = lq_pt_tensor(pt, 0);
    assert_string_equal(t->name, "p");
    assert_int_equal(t->dtype, LQ_PT_BF16);
    assert_int_equal(t->lq_type, LQ_TYPE_BF16);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[1], 4);
    assert_int_equal(t->nbytes, 16);
    lq_pt_free(pt);
    free(z.b);
}

struct bad_case {
    const char *from;
    size_t from_n;
    const char *to;
    size_t to_n;
    lq_status code;
    const char *needle;
};

#define S(x) x, sizeof(x) - 1

static const struct bad_case k_bad[] = {
    { S("ctorch._utils\n_rebuild_tensor_v2\n"), S("cos\nsystem\n"), LQ_E_FORMAT,
      "archive/data.pkl: offset 14: opcode 0x63 (GLOBAL): global 'os.system' is not allowed" },
    { S("\x89"), S("i"), LQ_E_FORMAT, "offset 127: opcode 0x69 (INST): opcode not allowed" },
    { S("u."), S("u"), LQ_E_FORMAT, "offset 207: truncated (no STOP)" },
    { S("}q\x00("), S("}q\x00"), LQ_E_FORMAT, "offset 205: opcode 0x75 (SETITEMS): no MARK" },
    { S("h\x06"), S("h\x30"), LQ_E_FORMAT, "(BINGET): memo index 48 was never set" },
    { S("q\x00("), S("r\xff\xff\xff\x7f("), LQ_E_FORMAT,
      "(LONG_BINPUT): memo index 2147483647 out of range" },
    { S("\x80\x02}"), S("\x80\x02\x85}"), LQ_E_FORMAT, "offset 2: opcode 0x85 (TUPLE1): stack "
                                                      "underflow" },
    { S("K\x02K\x01\x86"), S("K\x01K\x02\x86"), LQ_E_UNSUPPORTED,
      "tensor 'w' is not contiguous (dimension 1 has stride 2, want 1)" },
    { S("K\x04tq\x07"), S("K\x03tq\x07"), LQ_E_FORMAT,
      "tensor 'w': elements 0..+4 outside its storage of 3" },
    { S("K\x04tq\x07"), S("K\x05tq\x07"), LQ_E_FORMAT,
      "tensor 'w': storage of 5 float32 elements exceeds its 16-byte member" },
    { S("X\x07\x00\x00\x00storage"), S("X\x07\x00\x00\x00storagX"), LQ_E_FORMAT,
      "(BINPERSID): persistent id is not" },
    { S("\x80\x02"), S("\x80\x06"), LQ_E_FORMAT, "(PROTO): pickle protocol 6" },
    { S("X\x01\x00\x00\x00" "b"), S("X\x01\x00\x00\x00" "w"), LQ_E_FORMAT,
      "tensor 'w' appears twice" },
    { S(")Rq\x0b"), S("K\x01Rq\x0b"), LQ_E_FORMAT, "REDUCE of something that is not" },
};

static void test_pytorch_rejects_malformed_pickles(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof k_bad / sizeof *k_bad; i++) {
        char pkl[512];
        size_t n = edit(pkl, k_bad[i].from, k_bad[i].from_n, k_bad[i].to, k_bad[i].to_n);
        struct lqt_zip z = { 0 };
        lq_pt *pt = (lq_pt *)1;
        struct lq_error err = { 0 };
        lq_status rc = open_zip(pkl, n, true, &pt, &err, &z);
        free(z.b);
        if (rc != k_bad[i].code || !strstr(err.msg, k_bad[i].needle)) {
            fail_msg("case %zu: status %d, message '%s'; want %d and '%s'", i, rc, err.msg,
                     k_bad[i].code, k_bad[i].needle);
        }
        assert_null(pt);
    }
}

static void expect_fail(const void *data, size_t n, lq_status code, const char *needle)
{
    lq_pt *pt = (lq_pt *)1;
    struct lq_error err = { 0 };
    lq_status rc = lq_pt_open_memory(data, n, "mem.bin", &pt, &err);
    if (rc != code || !strstr(err.msg, needle)) {
        fail_msg("status %d, message '%s'; want %d and '%s'", rc, err.msg, code, needle);
    }
    assert_null(pt);
}

static void test_pytorch_rejects_bad_archives(void **state)
{
    (void)state;
    struct lqt_zip z = { 0 };
    lq_pt *pt = NULL;
    struct lq_error err = { 0 };
    assert_int_equal(open_zip(k_pickle, sizeof k_pickle - 1, false, &pt, &err, &z),
                     LQ_E_FORMAT);
    assert_non_null(strstr(err.msg, "tensor 'w': no member archive/data/0 for its storage"));
    free(z.b);

    assert_int_equal(open_zip(k_pickle, sizeof k_pickle - 1, true, &pt, &err, &z), LQ_OK);
    lq_pt_free(pt);
    expect_fail(z.b, z.n - 1, LQ_E_FORMAT, "no zip end-of-central-directory record");
    z.b[30 + strlen("archive/data.pkl") + 20] ^= 1; /* a byte of the pickle */
    expect_fail(z.b, z.n, LQ_E_CHECKSUM, "'archive/data.pkl': CRC-32");
    free(z.b);

    expect_fail(k_pickle, sizeof k_pickle - 1, LQ_E_UNSUPPORTED, "legacy torch.save format");
    expect_fail("hello", 5, LQ_E_FORMAT, "not a zip archive");
    memset(&z, 0, sizeof z);
    lqt_zip_add(&z, "archive/version", "3\n", 2);
    lqt_zip_finish(&z);
    expect_fail(z.b, z.n, LQ_E_FORMAT, "zip without a data.pkl");
    free(z.b);
}

static void test_pytorch_missing_file(void **state)
{
    (void)state;
    lq_pt *pt = NULL;
    struct lq_error err = { 0 };
    assert_int_equal(lq_pt_open("/nonexistent/pytorch_model.bin", &pt, &err), LQ_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/pytorch_model.bin"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pytorch_tiny_llama_matches_safetensors),
        cmocka_unit_test(test_pytorch_equals_safetensors),
        cmocka_unit_test(test_pytorch_hand_made_checkpoint),
        cmocka_unit_test(test_pytorch_protocol4_ordered_dict),
        cmocka_unit_test(test_pytorch_parameter_bf16),
        cmocka_unit_test(test_pytorch_rejects_malformed_pickles),
        cmocka_unit_test(test_pytorch_rejects_bad_archives),
        cmocka_unit_test(test_pytorch_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
