/* test_calib.c - `quant gptq` end to end on tiny-llama-6L (layer 0 only, two chunks of 64
 * tokens, so the test stays fast under ASan): the files it writes are read back here, by
 * hand, and compared with what GPTQ computes from the same Hessian through the library. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/calib.h"
#include "lq/fp16.h"
#include "lq/gguf.h"
#include "lq/gptq.h"
#include "lq/gptq_folder.h"
#include "lq/gptq_gguf.h"
#include "lq/llama_map.h"
#include "lq/model_hooks.h"
#include "lq/model_open_any.h"
#include "lq/safetensors.h"
#include "lq/source.h"
#include "lqt_util.h"

#define MODEL "models/tiny-llama-6L"
#define CALIB "text/calib-A.txt"
#define CTX 64
#define N_CHUNKS 2

/* The Hessian of layer 0's q/k/v input over the calibration chunks: nothing before layer 0
 * is quantized, so `quant gptq` sees exactly these rows. */
struct tap {
    lq_hessian *h;
};

static lq_status tap_fn(void *user, int64_t layer, enum lq_hook_point point, const float *x,
                        int64_t n_rows, int64_t n_cols, struct lq_error *err)
{
    (void)n_cols;
    struct tap *t = user;
    return layer == 0 && point == LQ_HOOK_ATTN_IN ? lq_hessian_add(t->h, x, n_rows, err) : LQ_OK;
}

struct layer0 {
    lq_model *m;
    lq_tokenizer *tok;
    struct lq_calib c;
    lq_hessian *h;
};

static void layer0_open(struct layer0 *L)
{
    struct lq_model_params mp = lq_model_params_default();
    mp.n_ctx = CTX;
    mp.n_batch = CTX;
    mp.n_threads = 1;
    struct lq_error err = {0};
    assert_int_equal(lq_model_open_path(lqt_data_path(MODEL), &mp, &L->m, &L->tok, &err), LQ_OK);
    assert_int_equal(lq_calib_load(lqt_data_path(CALIB), L->tok, CTX, 1, N_CHUNKS, &L->c, &err),
                     LQ_OK);
    struct tap t = {0};
    assert_int_equal(lq_hessian_new(lq_model_get_hparams(L->m)->n_embd, &t.h, &err), LQ_OK);
    lq_model_set_observer(L->m, tap_fn, &t);
    assert_int_equal(lq_model_set_stop_point(L->m, 0, LQ_HOOK_ATTN_IN, &err), LQ_OK);
    assert_int_equal(lq_calib_run(L->m, &L->c, &err), LQ_OK);
    lq_model_set_observer(L->m, NULL, NULL);
    assert_int_equal(lq_hessian_nsamples(t.h), CTX * N_CHUNKS);
    L->h = t.h;
}

static void layer0_close(struct layer0 *L)
{
    lq_hessian_free(L->h);
    lq_calib_free(&L->c);
    lq_tokenizer_free(L->tok);
    lq_model_free(L->m);
}

/* Layer 0's weight `w` as F32 (nrows, ncols) in GGUF row order. */
static float *weight_f32(const struct layer0 *L, enum lq_layer_weight w, int64_t *nrows,
                         int64_t *ncols)
{
    struct lq_model_tensor t;
    assert_int_equal(lq_model_get_weight(L->m, 0, w, &t, NULL), LQ_OK);
    *ncols = t.ne[0];
    *nrows = t.ne[1];
    float *f = malloc((size_t)(t.ne[0] * t.ne[1]) * sizeof(float));
    assert_non_null(f);
    lq_type_traits_get(t.type)->to_float(t.data, f, t.ne[0] * t.ne[1]);
    return f;
}

static int run_quant(const char *args, const char *out)
{
    return lqt_system("LQ_NO_REEXEC=1 %s gptq %s --calib %s --calib-ctx %d --calib-tokens %d "
                      "--layers 0:1 --threads 1 -o %s %s > %s.log 2>&1",
                      LQ_QUANT_BIN, lqt_data_path(MODEL), lqt_data_path(CALIB), CTX, CTX * N_CHUNKS,
                      out, args, out);
}

// ---- GPTQ safetensors ---------------------------------------------------------------------

static const struct lq_st_tensor_info *st_tensor(const lq_st *st, const char *prefix,
                                                 const char *part)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", prefix, part);
    int64_t id = lq_st_find_tensor(st, name);
    assert_true(id >= 0);
    return lq_st_tensor(st, id);
}

static uint32_t word(const void *base, int64_t i)
{
    const unsigned char *p = (const unsigned char *)base + 4 * i;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Unpacks 4-bit, group 128 GPTQ v1 tensors by hand: code c of output r sits in word
 * (c / 8, r) at bit 4 * (c % 8); zero - 1 of output r in word (g, r / 8). HF row order. */
static void unpack_4bit(const lq_st *st, const char *prefix, int64_t nrows, int64_t ncols,
                        float *out)
{
    const struct lq_st_tensor_info *qw = st_tensor(st, prefix, "qweight");
    const struct lq_st_tensor_info *qz = st_tensor(st, prefix, "qzeros");
    const struct lq_st_tensor_info *sc = st_tensor(st, prefix, "scales");
    const struct lq_st_tensor_info *gi = st_tensor(st, prefix, "g_idx");
    assert_int_equal(qw->shape[0], ncols / 8);
    assert_int_equal(qw->shape[1], nrows);
    assert_int_equal(qz->shape[0], ncols / 128);
    assert_int_equal(qz->shape[1], nrows / 8);
    assert_int_equal(sc->shape[0], ncols / 128);
    assert_int_equal(gi->shape[0], ncols);
    const unsigned char *s16 = sc->data;
    for (int64_t c = 0; c < ncols; c++) {
        const int64_t g = (int32_t)word(gi->data, c);
        assert_int_equal(g, c / 128);
        for (int64_t r = 0; r < nrows; r++) {
            int q = (int)(word(qw->data, c / 8 * nrows + r) >> (4 * (c % 8)) & 15);
            int z = (int)(word(qz->data, g * (nrows / 8) + r / 8) >> (4 * (r % 8)) & 15) + 1;
            uint16_t h = (uint16_t)(s16[2 * (g * nrows + r)] | s16[2 * (g * nrows + r) + 1] << 8);
            out[r * ncols + c] = lq_fp16_to_fp32(h) * (float)(q - z);
        }
    }
}

/* GPTQ of layer 0's weight w through the library, and the folder's unpacked words. */
static void check_st_layer(const struct layer0 *L, const lq_st *st, const lq_source *src,
                           enum lq_layer_weight w, const char *prefix, int n_head)
{
    int64_t nrows, ncols;
    float *f = weight_f32(L, w, &nrows, &ncols);
    const int64_t ng = ncols / 128;
    uint8_t *q = malloc((size_t)(nrows * ncols));
    float *scales = malloc((size_t)(ng * nrows) * sizeof(float));
    int32_t *zeros = malloc((size_t)(ng * nrows) * sizeof(int32_t));
    int32_t *g_idx = malloc((size_t)ncols * sizeof(int32_t));
    float *deq = malloc((size_t)(nrows * ncols) * sizeof(float));
    float *got = malloc((size_t)(nrows * ncols) * sizeof(float));
    struct lq_gptq_params p = lq_gptq_params_default();
    p.n_threads = 1;
    struct lq_gptq_result res = {q, scales, zeros, g_idx, deq, 0.0};
    assert_int_equal(lq_gptq_quantize(f, nrows, L->h, &p, &res, NULL), LQ_OK);
    unpack_4bit(st, prefix, nrows, ncols, got);
    int64_t n_diff = 0;
    for (int64_t r = 0; r < nrows; r++) {
        const int64_t gr = n_head ? lq_llama_permuted_row(r, nrows, n_head) : r;
        for (int64_t c = 0; c < ncols; c++) {
            n_diff += got[r * ncols + c] != deq[gr * ncols + c];
        }
    }
    assert_int_equal(n_diff, 0);
    /* the folder read back as a model source: the same weights, in GGUF row order */
    char name[64];
    snprintf(name, sizeof name, "blk.0.%s.weight", lq_layer_weight_name(w));
    int64_t id = lq_source_find_tensor(src, name);
    assert_true(id >= 0);
    assert_int_equal(lq_source_tensor(src, id)->type, LQ_TYPE_F32);
    assert_int_equal(lq_source_read_f32(src, id, got, true, NULL), LQ_OK);
    assert_memory_equal(got, deq, (size_t)(nrows * ncols) * sizeof(float));
    free(f), free(q), free(scales), free(zeros), free(g_idx), free(deq), free(got);
}

/* Rewrites the first `from` in OUT/config.json to `to`; the folder must then fail to open with
 * status want and a message holding `msg`; the original config is put back. */
static void expect_bad_config(const char *out, const char *from, const char *to, lq_status want,
                              const char *msg)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", out);
    size_t n;
    char *raw = lqt_read_file(path, &n);
    char *orig = calloc(n + 1, 1); /* the file's bytes as a string */
    memcpy(orig, raw, n);
    free(raw);
    char *hit = strstr(orig, from);
    assert_non_null(hit);
    char *bad = malloc(n + strlen(to) + 1);
    const size_t head = (size_t)(hit - orig);
    memcpy(bad, orig, head);
    strcpy(bad + head, to);
    strcat(bad, hit + strlen(from));
    lqt_write_file(path, bad, strlen(bad));
    lq_source *src = NULL;
    struct lq_error err = {0};
    const lq_status got = lq_source_open(out, &src, &err);
    if (got != want || !strstr(err.msg, msg)) {
        fail_msg("config.json with %s: status %d (want %d), message: %s", to, got, want, err.msg);
    }
    assert_null(src);
    lqt_write_file(path, orig, n);
    free(bad);
    free(orig);
}

/* The model with its tokenizer and the calibration chunks, as `quant gptq` opens them. */
static void open_with_calib(lq_model **m, lq_tokenizer **tok, struct lq_calib *c)
{
    struct lq_model_params mp = lq_model_params_default();
    mp.n_ctx = CTX;
    mp.n_batch = CTX;
    mp.n_threads = 1;
    struct lq_error err = {0};
    assert_int_equal(lq_model_open_path(lqt_data_path(MODEL), &mp, m, tok, &err), LQ_OK);
    assert_int_equal(lq_calib_load(lqt_data_path(CALIB), *tok, CTX, 1, N_CHUNKS, c, &err), LQ_OK);
}

/* The library's job (lq_gptq_folder_run) with quant gptq's settings writes the same tensors as
 * the command did into cli_out; it refuses a GGUF model and an occupied output folder. */
static void check_folder_library(const char *dir, const char *cli_out)
{
    struct lq_error err = {0};
    lq_model *m = NULL;
    lq_tokenizer *tok = NULL;
    struct lq_calib c = {0};
    open_with_calib(&m, &tok, &c);
    struct lq_gptq_folder_params p = lq_gptq_folder_params_default();
    p.gp.n_threads = 1;
    p.n_layers = 1;
    char out[4096], a[4200], b[4200];
    snprintf(out, sizeof out, "%s/lib", dir);
    struct lq_gptq_folder_summary sum = {0};
    assert_int_equal(lq_gptq_folder_run(m, &c, lqt_data_path(MODEL), out, &p, &sum, &err), LQ_OK);
    assert_int_equal(sum.n_weights, 7); /* q, k, v, o, gate, up, down of layer 0 */
    snprintf(a, sizeof a, "%s/model.safetensors", out);
    snprintf(b, sizeof b, "%s/model.safetensors", cli_out);
    size_t na, nb;
    void *fa = lqt_read_file(a, &na), *fb = lqt_read_file(b, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(fa, fb, na);
    free(fa);
    free(fb);
    /* the folder exists now: refused without force, before any work */
    assert_int_equal(lq_gptq_folder_run(m, &c, lqt_data_path(MODEL), out, &p, NULL, &err),
                     LQ_E_INVALID_ARG);
    assert_non_null(strstr(err.msg, out));
    const char *gguf = lqt_data_path("reference/llama.cpp/tiny-llama-6L/f16.gguf");
    assert_int_equal(lq_gptq_folder_check_input(gguf, &err), LQ_E_INVALID_ARG);
    assert_non_null(strstr(err.msg, "needs a Hugging Face folder"));
    lq_calib_free(&c);
    lq_tokenizer_free(tok);
    lq_model_free(m);
}

static void test_calib_gptq_safetensors_words(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir(), out[4096], path[4200];
    snprintf(out, sizeof out, "%s/st", dir);
    assert_int_equal(run_quant("--format safetensors", out), 0);
    struct layer0 L = {0};
    layer0_open(&L);
    lq_st *st = NULL;
    lq_source *src = NULL;
    snprintf(path, sizeof path, "%s/model.safetensors", out);
    assert_int_equal(lq_st_open(path, &st, NULL), LQ_OK);
    assert_int_equal(lq_source_open(out, &src, NULL), LQ_OK);
    check_st_layer(&L, st, src, LQ_LW_Q, "model.layers.0.self_attn.q_proj", 4);
    check_st_layer(&L, st, src, LQ_LW_K, "model.layers.0.self_attn.k_proj", 2);
    check_st_layer(&L, st, src, LQ_LW_V, "model.layers.0.self_attn.v_proj", 0);
    /* layers GPTQ did not reach stay plain F16 weights under their Hugging Face names */
    int64_t id = lq_st_find_tensor(st, "model.layers.1.self_attn.q_proj.weight");
    assert_true(id >= 0);
    assert_string_equal(lq_st_tensor(st, id)->dtype_name, "F16");
    snprintf(path, sizeof path, "%s/quantize_config.json", out);
    size_t n;
    char *qc = lqt_read_file(path, &n);
    assert_non_null(strstr(qc, "\"bits\": 4"));
    free(qc);
    snprintf(path, sizeof path, "%s/tokenizer.model", out);
    free(lqt_read_file(path, &n));
    lq_source_free(src);
    lq_st_free(st);
    /* a folder whose config does not describe its tensors is refused, naming what is wrong */
    expect_bad_config(out, "\"group_size\": 128", "\"group_size\": 64", LQ_E_FORMAT,
                      "the layout needs");
    expect_bad_config(out, "\"quant_method\": \"gptq\"", "\"quant_method\": \"awq\"",
                      LQ_E_UNSUPPORTED, "quant_method 'awq' is not supported");
    expect_bad_config(out, "\"checkpoint_format\": \"gptq\"", "\"checkpoint_format\": \"gptq_v2\"",
                      LQ_E_UNSUPPORTED, "gptq_v2");
    expect_bad_config(out, "\"bits\": 4", "\"bits\": 5", LQ_E_UNSUPPORTED, "bits");
    layer0_close(&L);
    check_folder_library(dir, out);
    lqt_rmtree(dir);
    free(dir);
}

// ---- GGUF blocks --------------------------------------------------------------------------

static void test_calib_gptq_gguf_standard_types(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir(), out[4096];
    snprintf(out, sizeof out, "%s/q4_k_m.gguf", dir);
    assert_int_equal(run_quant("--type Q4_K_M", out), 0);
    lq_gguf *g = NULL;
    assert_int_equal(lq_gguf_open(out, &g, NULL), LQ_OK);
    for (int64_t i = 0; i < lq_gguf_n_tensors(g); i++) {
        enum lq_type t = lq_gguf_tensor(g, i)->type;
        assert_true(t == LQ_TYPE_F32 || t == LQ_TYPE_Q4_K || t == LQ_TYPE_Q6_K);
    }
    /* blk.0.attn_q.weight: GPTQ's Q4_K blocks from the same Hessian, byte for byte */
    struct layer0 L = {0};
    layer0_open(&L);
    int64_t nrows, ncols;
    float *f = weight_f32(&L, LQ_LW_Q, &nrows, &ncols);
    const struct lq_gguf_tensor_info *ti =
        lq_gguf_tensor(g, lq_gguf_find_tensor(g, "blk.0.attn_q.weight"));
    assert_int_equal(ti->type, LQ_TYPE_Q4_K);
    void *blocks = malloc(ti->nbytes);
    struct lq_gptq_params p = lq_gptq_params_default();
    p.n_threads = 1;
    struct lq_gptq_gguf_out o = {.type = LQ_TYPE_Q4_K, .blocks = blocks, .size = ti->nbytes};
    assert_int_equal(lq_gptq_quantize_gguf(f, nrows, L.h, &p, &o, NULL), LQ_OK);
    assert_memory_equal(blocks, ti->data, ti->nbytes);
    /* and the file runs in the forward pass */
    lq_model *m = NULL;
    struct lq_model_params mp = lq_model_params_default();
    mp.n_ctx = 8;
    assert_int_equal(lq_model_open(out, &mp, &m, NULL), LQ_OK);
    float *logits = malloc(4096 * sizeof(float));
    struct lq_batch b = {.tokens = L.c.tokens, .n_tokens = 8, .n_out = 1, .logits = logits};
    assert_int_equal(lq_model_forward(m, &b, NULL), LQ_OK);
    assert_true(isfinite(logits[0]));
    free(logits);
    lq_model_free(m);
    free(blocks);
    free(f);
    layer0_close(&L);
    lq_gguf_free(g);
    lqt_rmtree(dir);
    free(dir);
}

/* The GGUF job over two layers: layer 0's blocks wait on disk while layer 1 runs (memory holds
 * one layer's), and come back byte for byte (the same as a run that stops after layer 0, since
 * layer 0's GPTQ does not depend on what follows); the scratch file leaves nothing in the
 * output folder; the model is given back with its own weights (same views, same logits). */
static void test_calib_gptq_gguf_spills_and_restores(void **state)
{
    (void)state;
    struct lq_error err = {0};
    lq_model *m = NULL;
    lq_tokenizer *tok = NULL;
    struct lq_calib c = {0};
    open_with_calib(&m, &tok, &c);
    const int64_t n_vocab = lq_model_get_hparams(m)->n_vocab;
    float *before = malloc((size_t)n_vocab * sizeof(float));
    float *after = malloc((size_t)n_vocab * sizeof(float));
    struct lq_batch b = {.tokens = c.tokens, .n_tokens = 8, .n_out = 1, .logits = before};
    assert_int_equal(lq_model_forward(m, &b, &err), LQ_OK);
    struct lq_model_tensor own[2][LQ_LW_COUNT];
    for (int il = 0; il < 2; il++) {
        for (int w = 0; w < LQ_LW_COUNT; w++) {
            memset(&own[il][w], 0, sizeof own[il][w]);
            if (lq_model_has_weight(m, (enum lq_layer_weight)w)) {
                assert_int_equal(
                    lq_model_get_weight(m, il, (enum lq_layer_weight)w, &own[il][w], &err), LQ_OK);
            }
        }
    }
    char *dir = lqt_tmpdir(), one[4096], two[4096];
    snprintf(one, sizeof one, "%s/one.gguf", dir);
    snprintf(two, sizeof two, "%s/two.gguf", dir);
    struct lq_gptq_gguf_params p = lq_gptq_gguf_params_default();
    p.gp.n_threads = 1;
    p.n_layers = 1;
    assert_int_equal(lq_gptq_gguf_run(m, &c, lqt_data_path(MODEL), one, &p, NULL, &err), LQ_OK);
    p.n_layers = 2;
    struct lq_gptq_gguf_summary sum = {0};
    assert_int_equal(lq_gptq_gguf_run(m, &c, lqt_data_path(MODEL), two, &p, &sum, &err), LQ_OK);
    assert_int_equal(sum.n_weights, 14);
    for (int il = 0; il < 2; il++) {
        for (int w = 0; w < LQ_LW_COUNT; w++) {
            if (own[il][w].data) {
                struct lq_model_tensor now;
                assert_int_equal(
                    lq_model_get_weight(m, il, (enum lq_layer_weight)w, &now, &err), LQ_OK);
                assert_ptr_equal(now.data, own[il][w].data);
                assert_int_equal(now.type, own[il][w].type);
            }
        }
    }
    b.logits = after;
    assert_int_equal(lq_model_forward(m, &b, &err), LQ_OK);
    assert_memory_equal(before, after, (size_t)n_vocab * sizeof(float));
    lq_gguf *g1 = NULL, *g2 = NULL;
    assert_int_equal(lq_gguf_open(one, &g1, NULL), LQ_OK);
    assert_int_equal(lq_gguf_open(two, &g2, NULL), LQ_OK);
    int64_t same = 0, differ = 0;
    for (int64_t i = 0; i < lq_gguf_n_tensors(g2); i++) {
        const struct lq_gguf_tensor_info *t2 = lq_gguf_tensor(g2, i);
        const struct lq_gguf_tensor_info *t1 = lq_gguf_tensor(g1, lq_gguf_find_tensor(g1, t2->name));
        assert_int_equal(t1->type, t2->type);
        assert_int_equal(t1->nbytes, t2->nbytes);
        const bool eq = memcmp(t1->data, t2->data, t2->nbytes) == 0;
        if (strncmp(t2->name, "blk.0.", 6) == 0) {
            if (!eq) {
                fail_msg("%s: layer 0's blocks changed after the spill", t2->name);
            }
            same++;
        } else if (strncmp(t2->name, "blk.1.", 6) == 0 && strstr(t2->name, "norm") == NULL) {
            differ += !eq; /* GPTQ in the second file, plain rounding in the first */
        }
    }
    assert_int_equal(same, 9); /* 7 weights and 2 norms */
    assert_int_equal(differ, 7);
    lq_gguf_free(g1);
    lq_gguf_free(g2);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n_files = 0;
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        n_files += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(d);
    assert_int_equal(n_files, 2); /* the two outputs, no scratch file */
    free(before);
    free(after);
    lq_calib_free(&c);
    lq_tokenizer_free(tok);
    lq_model_free(m);
    lqt_rmtree(dir);
    free(dir);
}

static void test_calib_gptq_text_too_short(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir(), out[4096], text[4200];
    snprintf(text, sizeof text, "%s/short.txt", dir);
    lqt_write_file(text, "Once upon a time.", 17);
    snprintf(out, sizeof out, "%s/x.gguf", dir);
    int rc = lqt_system("LQ_NO_REEXEC=1 %s gptq %s --calib %s -o %s > %s.log 2>&1", LQ_QUANT_BIN,
                        lqt_data_path(MODEL), text, out, out);
    assert_int_not_equal(rc, 0);
    char log[4300];
    snprintf(log, sizeof log, "%s.log", out);
    size_t n;
    char *msg = lqt_read_file(log, &n);
    assert_non_null(strstr(msg, "short.txt"));
    free(msg);
    lqt_rmtree(dir);
    free(dir);
}

/* A pass started at layer 1 from layer 0's output (what GPTQ caches) computes what the full
 * pass computes; a stop point ends the pass before the rest of its layer. */
static void test_calib_start_from_cached_residual(void **state)
{
    (void)state;
    struct layer0 L = {0};
    layer0_open(&L);
    const int64_t e = lq_model_get_hparams(L.m)->n_embd, n = CTX * e;
    float *r0 = malloc((size_t)n * sizeof(float)), *r1 = malloc((size_t)n * sizeof(float));
    struct lq_batch b = {.tokens = L.c.tokens, .n_tokens = CTX};
    assert_int_equal(lq_model_set_stop_point(L.m, 0, LQ_HOOK_N_POINTS, NULL), LQ_OK);
    assert_int_equal(lq_model_forward(L.m, &b, NULL), LQ_OK);
    memcpy(r0, lq_model_residual(L.m), (size_t)n * sizeof(float));
    assert_int_equal(lq_model_set_stop_layer(L.m, 1, NULL), LQ_OK);
    assert_int_equal(lq_model_forward(L.m, &b, NULL), LQ_OK);
    memcpy(r1, lq_model_residual(L.m), (size_t)n * sizeof(float));
    assert_int_equal(lq_model_set_start(L.m, 1, r0, NULL), LQ_OK);
    assert_int_equal(lq_model_forward(L.m, &b, NULL), LQ_OK);
    assert_memory_equal(lq_model_residual(L.m), r1, (size_t)n * sizeof(float));
    /* stopping at layer 1's attention input leaves the given stream as it entered (a changed
     * one, so a pass that ignored the start would show) */
    r0[5] += 1.0f;
    assert_int_equal(lq_model_set_stop_point(L.m, 1, LQ_HOOK_ATTN_IN, NULL), LQ_OK);
    assert_int_equal(lq_model_forward(L.m, &b, NULL), LQ_OK);
    assert_memory_equal(lq_model_residual(L.m), r0, (size_t)n * sizeof(float));
    assert_int_equal(lq_model_set_start(L.m, 1, NULL, NULL), LQ_E_INVALID_ARG);
    free(r0);
    free(r1);
    layer0_close(&L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calib_gptq_safetensors_words),
        cmocka_unit_test(test_calib_gptq_gguf_standard_types),
        cmocka_unit_test(test_calib_gptq_gguf_spills_and_restores),
        cmocka_unit_test(test_calib_gptq_text_too_short),
        cmocka_unit_test(test_calib_start_from_cached_residual),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
