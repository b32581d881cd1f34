/* test_gptq_st.c - GPTQ v1 safetensors: packing checked by an unpacker written here from
 * AutoGPTQ's reader (shift-and-mask per word, 3-bit values 10 and 21 stitched from two
 * words), and the model folder parsed back with jansson. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lq/fp16.h"
#include "lq/gptq.h"
#include "lq/gptq_st.h"
#include "lq/st_writer.h"
#include "lqi.h"
#include "lqt_util.h"

static uint64_t rng_state;

static float rng_normal(void)
{
    double u = 0, v = 0;
    for (int i = 0; i < 2; i++) {
        uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        double d = ((double)(z >> 11) + 0.5) / 9007199254740992.0;
        *(i ? &v : &u) = d;
    }
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

struct layer {
    int64_t nrows, ncols;
    struct lq_gptq_params p;
    uint8_t *q;
    float *scales, *deq;
    int32_t *zeros, *g_idx;
    struct lq_gptq_result res;
};

/* A GPTQ-quantized random layer (inputs with a few loud channels). */
static void make_layer(struct layer *L, int64_t nrows, int64_t ncols,
                       const struct lq_gptq_params *p)
{
    const int64_t ns = 96;
    float *x = malloc((size_t)(ns * ncols) * sizeof(float));
    float *w = malloc((size_t)(nrows * ncols) * sizeof(float));
    for (int64_t i = 0; i < ns * ncols; i++) {
        x[i] = rng_normal() * (i % 7 == 0 ? 4.0f : 1.0f);
    }
    for (int64_t i = 0; i < nrows * ncols; i++) {
        w[i] = 0.02f * rng_normal();
    }
    lq_hessian *h = NULL;
    assert_int_equal(lq_hessian_new(ncols, &h, NULL), LQ_OK);
    assert_int_equal(lq_hessian_add(h, x, ns, NULL), LQ_OK);
    int64_t ng = lq_gptq_n_groups(ncols, p->group_size);
    *L = (struct layer){ .nrows = nrows, .ncols = ncols, .p = *p };
    L->q = malloc((size_t)(nrows * ncols));
    L->deq = malloc((size_t)(nrows * ncols) * sizeof(float));
    L->scales = malloc((size_t)(ng * nrows) * sizeof(float));
    L->zeros = malloc((size_t)(ng * nrows) * sizeof(int32_t));
    L->g_idx = malloc((size_t)ncols * sizeof(int32_t));
    L->res = (struct lq_gptq_result){ L->q, L->scales, L->zeros, L->g_idx, L->deq, 0.0 };
    struct lq_error err = { 0 };
    if (lq_gptq_quantize(w, nrows, h, p, &L->res, &err) != LQ_OK) {
        fail_msg("%s", err.msg);
    }
    lq_hessian_free(h);
    free(x);
    free(w);
}

static void free_layer(struct layer *L)
{
    free(L->q);
    free(L->deq);
    free(L->scales);
    free(L->zeros);
    free(L->g_idx);
}

// ---- the independent unpacker ------------------------------------------------------------------

static uint32_t word_at(const void *base, int64_t idx)
{
    const unsigned char *p = (const unsigned char *)base + 4 * idx;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Value k (0..31) of the run of 32 that starts at word w0; words are `stride` apart. */
static unsigned unpack_one(const void *base, int64_t w0, int64_t stride, int bits, int k)
{
    unsigned mask = (1u << bits) - 1;
    if (bits != 3) {
        int per = 32 / bits;
        return (word_at(base, w0 + (k / per) * stride) >> (bits * (k % per))) & mask;
    }
    uint32_t a = word_at(base, w0), b = word_at(base, w0 + stride);
    uint32_t c = word_at(base, w0 + 2 * stride);
    if (k < 10) {
        return (a >> (3 * k)) & 7;
    }
    if (k == 10) {
        return ((a >> 30) & 3) | ((b << 2) & 4);
    }
    if (k < 21) {
        return (b >> (3 * (k - 11) + 1)) & 7;
    }
    if (k == 21) {
        return ((b >> 31) & 1) | ((c << 1) & 6);
    }
    return (c >> (3 * (k - 22) + 2)) & 7;
}

/* w = scale[g_idx] * (q - (stored zero + 1)), from the four tensors alone. */
static float unpack_weight(const struct lq_gptq_tensors *t, int64_t nrows, int bits, int64_t r,
                           int64_t c)
{
    int64_t g = (int32_t)word_at(t->g_idx, c);
    unsigned q = unpack_one(t->qweight, (c / 32) * bits * nrows + r, nrows, bits, (int)(c % 32));
    int64_t zcols = nrows / 32 * bits;
    unsigned z = unpack_one(t->qzeros, g * zcols + (r / 32) * bits, 1, bits, (int)(r % 32)) + 1;
    const unsigned char *s = (const unsigned char *)t->scales + 2 * (g * nrows + r);
    float scale = lq_fp16_to_fp32((uint16_t)(s[0] | s[1] << 8));
    return scale * (float)((int)q - (int)z);
}

static void check_round_trip(int bits, int64_t gs, bool sym, bool act_order)
{
    struct lq_gptq_params p = lq_gptq_params_default();
    p.bits = bits;
    p.group_size = gs;
    p.sym = sym;
    p.act_order = act_order;
    struct layer L;
    make_layer(&L, 64, 128, &p);
    struct lq_gptq_layout l = { bits, gs, 64, 128 };
    int64_t qw[2], qz[2], sc[2];
    lq_gptq_layout_shapes(&l, qw, qz, sc);
    assert_int_equal(qw[0], 128 / 32 * bits);
    assert_int_equal(qz[1], 64 / 32 * bits);
    struct lq_gptq_tensors t = { calloc((size_t)(qw[0] * qw[1]), 4),
                                 calloc((size_t)(qz[0] * qz[1]), 4),
                                 calloc((size_t)(sc[0] * sc[1]), 2), calloc(128, 4) };
    assert_int_equal(lq_gptq_pack(&L.res, &l, &t, NULL), LQ_OK);
    float *back = malloc(64 * 128 * sizeof(float));
    assert_int_equal(lq_gptq_st_dequantize(&t, &l, back, NULL), LQ_OK);
    for (int64_t r = 0; r < 64; r++) {
        for (int64_t c = 0; c < 128; c++) {
            float want = L.deq[r * 128 + c];
            assert_true(unpack_weight(&t, 64, bits, r, c) == want);
            assert_true(back[r * 128 + c] == want);
        }
    }
    free(back);
    free(t.qweight);
    free(t.qzeros);
    free(t.scales);
    free(t.g_idx);
    free_layer(&L);
}

static void test_gptq_st_pack_round_trip(void **state)
{
    (void)state;
    rng_state = 7;
    check_round_trip(4, 128, true, false);
    check_round_trip(4, 32, false, true);
    check_round_trip(3, 32, false, false);
    check_round_trip(3, -1, true, true);
    check_round_trip(2, 64, false, false);
    check_round_trip(8, 32, false, true);
}

/* Hand-packed words: 4-bit codes 0..7 then 8..15 along the input dimension. */
static void test_gptq_st_pack_known_words(void **state)
{
    (void)state;
    uint8_t q[32 * 32];
    float scales[32];
    int32_t zeros[32], g_idx[32];
    for (int r = 0; r < 32; r++) {
        for (int c = 0; c < 32; c++) {
            q[r * 32 + c] = (uint8_t)(c % 16);
        }
        scales[r] = 0.5f;
        zeros[r] = r % 2 ? 8 : 1;
    }
    memset(g_idx, 0, sizeof g_idx);
    struct lq_gptq_result res = { q, scales, zeros, g_idx, NULL, 0.0 };
    struct lq_gptq_layout l = { 4, -1, 32, 32 };
    uint32_t qweight[4 * 32], qzeros[4];
    uint16_t sc[32];
    int32_t gi[32];
    struct lq_gptq_tensors t = { qweight, qzeros, sc, gi };
    assert_int_equal(lq_gptq_pack(&res, &l, &t, NULL), LQ_OK);
    assert_int_equal(qweight[0], 0x76543210u);  /* word row 0, output 0 */
    assert_int_equal(qweight[32], 0xFEDCBA98u); /* word row 1 */
    assert_int_equal(qzeros[0], 0x70707070u);   /* zero - 1: 0, 7, 0, 7, ... */
    assert_int_equal(sc[3], 0x3800);            /* 0.5 in F16 */
    zeros[5] = 0;
    struct lq_error err = { 0 };
    assert_int_equal(lq_gptq_pack(&res, &l, &t, &err), LQ_E_RANGE);
    assert_non_null(strstr(err.msg, "row 5"));
    l.nrows = 48;
    assert_int_equal(lq_gptq_layout_check(&l, &err), LQ_E_UNSUPPORTED);
}

static void test_gptq_st_dequantize_rejects_bad_g_idx(void **state)
{
    (void)state;
    uint32_t qweight[4 * 32] = { 0 }, qzeros[4] = { 0 };
    uint16_t sc[32 * 2] = { 0 };
    int32_t gi[32] = { 0 };
    gi[9] = 2;
    struct lq_gptq_tensors t = { qweight, qzeros, sc, gi };
    struct lq_gptq_layout l = { 4, 16, 32, 32 };
    float out[32 * 32];
    struct lq_error err = { 0 };
    assert_int_equal(lq_gptq_st_dequantize(&t, &l, out, &err), LQ_E_FORMAT);
    assert_non_null(strstr(err.msg, "g_idx[9]"));
}

// ---- the model folder -------------------------------------------------------------------------

static json_t *load_json(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json_error_t jerr;
    json_t *v = json_load_file(path, 0, &jerr);
    if (!v) {
        fail_msg("%s: %s", path, jerr.text);
    }
    return v;
}

/* Checks one header entry and returns a pointer to its bytes. */
static const unsigned char *entry_data(json_t *hdr, const unsigned char *data, const char *name,
                                       const char *dtype, int64_t d0, int64_t d1)
{
    json_t *e = json_object_get(hdr, name);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "dtype")), dtype);
    json_t *shape = json_object_get(e, "shape");
    assert_int_equal(json_integer_value(json_array_get(shape, 0)), d0);
    if (d1 >= 0) {
        assert_int_equal(json_array_size(shape), 2);
        assert_int_equal(json_integer_value(json_array_get(shape, 1)), d1);
    }
    json_t *offs = json_object_get(e, "data_offsets");
    return data + json_integer_value(json_array_get(offs, 0));
}

static void check_folder(const char *dir, const struct layer *L, const float *norm)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    size_t size = 0;
    unsigned char *file = lqt_read_file(path, &size);
    uint64_t hlen = lqi_rd_u64(file);
    assert_int_equal(hlen % 8, 0);
    assert_true(file[8 + hlen - 1] == '}' || file[8 + hlen - 1] == ' ');
    json_error_t jerr;
    json_t *hdr = json_loadb((const char *)file + 8, hlen, 0, &jerr);
    assert_non_null(hdr);
    /* data order of the reference writer: I32 (rank 13) before F16 (rank 11), then names */
    const char *first = NULL;
    void *it = json_object_iter(hdr);
    first = json_object_iter_key(it);
    assert_string_equal(first, "model.layers.0.mlp.up_proj.g_idx");
    const unsigned char *data = file + 8 + hlen;
    const char *pre = "model.layers.0.mlp.up_proj";
    char name[256];
    struct lq_gptq_tensors t;
    snprintf(name, sizeof name, "%s.qweight", pre);
    t.qweight = (void *)entry_data(hdr, data, name, "I32", 128 / 32 * 4, 64);
    snprintf(name, sizeof name, "%s.qzeros", pre);
    t.qzeros = (void *)entry_data(hdr, data, name, "I32", 4, 64 / 32 * 4);
    snprintf(name, sizeof name, "%s.scales", pre);
    t.scales = (void *)entry_data(hdr, data, name, "F16", 4, 64);
    snprintf(name, sizeof name, "%s.g_idx", pre);
    t.g_idx = (void *)entry_data(hdr, data, name, "I32", 128, -1);
    for (int64_t i = 0; i < 64 * 128; i++) {
        assert_true(unpack_weight(&t, 64, 4, i / 128, i % 128) == L->deq[i]);
    }
    const unsigned char *nb = entry_data(hdr, data, "model.norm.weight", "F16", 64, -1);
    for (int i = 0; i < 64; i++) {
        assert_int_equal(lqi_rd_u16(nb + 2 * i), lq_fp32_to_fp16(norm[i]));
    }
    json_decref(hdr);
    free(file);
}

static void check_configs(const char *dir)
{
    json_t *qc = load_json(dir, "quantize_config.json");
    assert_int_equal(json_integer_value(json_object_get(qc, "bits")), 4);
    assert_int_equal(json_integer_value(json_object_get(qc, "group_size")), 32);
    assert_true(json_real_value(json_object_get(qc, "damp_percent")) == 0.01);
    assert_true(json_is_true(json_object_get(qc, "desc_act")));
    assert_true(json_is_false(json_object_get(qc, "sym")));
    assert_true(json_is_null(json_object_get(qc, "model_name_or_path")));
    assert_string_equal(json_string_value(json_object_get(qc, "model_file_base_name")), "model");
    assert_string_equal(json_string_value(json_object_get(qc, "quant_method")), "gptq");
    assert_string_equal(json_string_value(json_object_get(qc, "checkpoint_format")), "gptq");
    json_t *cfg = load_json(dir, "config.json");
    assert_int_equal(json_integer_value(json_object_get(cfg, "hidden_size")), 64);
    assert_true(json_equal(json_object_get(cfg, "quantization_config"), qc));
    json_decref(qc);
    json_decref(cfg);
}

static void test_gptq_st_writes_model_folder(void **state)
{
    (void)state;
    rng_state = 9;
    struct lq_gptq_params p = lq_gptq_params_default();
    p.group_size = 32;
    p.sym = false;
    p.act_order = true;
    struct layer L;
    make_layer(&L, 64, 128, &p);
    float norm[64];
    for (int i = 0; i < 64; i++) {
        norm[i] = 1.0f + 0.01f * (float)i;
    }
    struct lq_gptq_st_config cfg = lq_gptq_st_config_from_params(&p);
    lq_gptq_st *w = NULL;
    struct lq_error err = { 0 };
    assert_int_equal(lq_gptq_st_new(&cfg, &w, &err), LQ_OK);
    assert_int_equal(lq_gptq_st_add_layer(w, "model.layers.0.mlp.up_proj", &L.res, 64, 128, &err),
                     LQ_OK);
    int64_t nshape[1] = { 64 };
    assert_int_equal(lq_gptq_st_add_f16(w, "model.norm.weight", 1, nshape, norm, &err), LQ_OK);
    assert_int_equal(lq_gptq_st_add_layer(w, "bad", &L.res, 48, 128, &err), LQ_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "layer 'bad'"));
    char *dir = lqt_tmpdir();
    const char *config = "{\"hidden_size\": 64, \"architectures\": [\"LlamaForCausalLM\"]}";
    assert_int_equal(lq_gptq_st_write(w, dir, "[1, 2]", &err), LQ_E_FORMAT);
    if (lq_gptq_st_write(w, dir, config, &err) != LQ_OK) {
        fail_msg("%s", err.msg);
    }
    check_folder(dir, &L, norm);
    check_configs(dir);
    assert_int_not_equal(lqt_system("ls %s | grep -q tmp", dir), 0); /* no temp files left */
    lq_gptq_st_free(w);
    lqt_rmtree(dir);
    free(dir);
    free_layer(&L);
}

/* Header bytes exactly as the reference writer lays them out for a known input. */
static void test_st_writer_header_bytes(void **state)
{
    (void)state;
    lq_st_writer *w = NULL;
    assert_int_equal(lq_st_writer_new(&w, NULL), LQ_OK);
    const uint16_t h[2] = { 0x3c00, 0x4000 };
    const float f[1] = { 1.0f };
    struct lq_st_wtensor a = { "b", "F16", 1, { 2 }, h, 4 };
    struct lq_st_wtensor b = { "a", "F32", 0, { 0 }, f, 4 };
    assert_int_equal(lq_st_writer_add(w, &a, NULL), LQ_OK);
    assert_int_equal(lq_st_writer_add(w, &b, NULL), LQ_OK);
    struct lq_error err = { 0 };
    assert_int_equal(lq_st_writer_add(w, &b, &err), LQ_E_INVALID_ARG);
    b.name = "c";
    b.nbytes = 8;
    assert_int_equal(lq_st_writer_add(w, &b, &err), LQ_E_INVALID_ARG);
    assert_int_equal(lq_st_writer_set_meta(w, "format", "pt", NULL), LQ_OK);
    char *dir = lqt_tmpdir();
    char path[1024];
    snprintf(path, sizeof path, "%s/x.safetensors", dir);
    assert_int_equal(lq_st_writer_write(w, path, NULL), LQ_OK);
    size_t size = 0;
    unsigned char *file = lqt_read_file(path, &size);
    const char *want = "{\"__metadata__\":{\"format\":\"pt\"},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                       "\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[4,8]}}";
    size_t n = strlen(want), padded = (n + 7) / 8 * 8;
    assert_int_equal(lqi_rd_u64(file), padded);
    assert_memory_equal(file + 8, want, n);
    for (size_t i = n; i < padded; i++) {
        assert_int_equal(file[8 + i], ' ');
    }
    assert_int_equal(size, 8 + padded + 8);
    assert_memory_equal(file + 8 + padded, f, 4);
    assert_memory_equal(file + 8 + padded + 4, h, 4);
    snprintf(path, sizeof path, "%s/missing/x.safetensors", dir);
    assert_int_equal(lq_st_writer_write(w, path, &err), LQ_E_IO);
    free(file);
    lq_st_writer_free(w);
    lqt_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gptq_st_pack_known_words),
        cmocka_unit_test(test_gptq_st_pack_round_trip),
        cmocka_unit_test(test_gptq_st_dequantize_rejects_bad_g_idx),
        cmocka_unit_test(test_st_writer_header_bytes),
        cmocka_unit_test(test_gptq_st_writes_model_folder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
