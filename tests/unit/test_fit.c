/* test_fit.c - `quant fit`'s memory estimate against the buffer sizes llama.cpp printed at
 * load (tests/data/fit/llama-cpp-buffers.txt: the command that made them is in its header),
 * for the tiny Llama's reference files, a TinyLlama-1.1B-shaped model and a mid-sized one,
 * at ctx 512/4096/8192, KV f16/q8_0, flash attention on/off; then the command: a budget
 * nothing fits, bad files, --json, --report. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lq/fit.h"
#include "lq/recipe.h"
#include "lqt_run.h"
#include "lqt_util.h"

#define MIB (1024.0 * 1024.0)
#define TINY "reference/llama.cpp/tiny-llama-6L/"

struct rec {
    char model[32], kv[8], fa[8];
    long ctx;
    double mapped, repack, kvb, compute, output;
};

/* The recorded cases (comment lines skipped). */
static int read_records(struct rec *r, int cap)
{
    char *text = lqt_read_text(LQ_SOURCE_DIR "/tests/data/fit/llama-cpp-buffers.txt");
    assert_non_null(text);
    int n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') {
            continue;
        }
        assert_true(n < cap);
        struct rec *x = &r[n++];
        assert_int_equal(sscanf(line, "%31s %ld %7s %7s %lf %lf %lf %lf %lf", x->model, &x->ctx,
                                x->kv, x->fa, &x->mapped, &x->repack, &x->kvb, &x->compute,
                                &x->output),
                         9);
    }
    free(text);
    return n;
}

/* A llama model laid out as llama-quantize writes it (llama.cpp's order, 32-byte aligned),
 * its types from the recipe for ftype, its sources F16 (norms F32). */
static void llama_model(struct lq_fit_model *m, const struct lq_fit_shape *s, enum lq_ftype ft)
{
    static const struct { const char *name; int rows; } blk[] = {
        {"attn_k.weight", 'k'},   {"attn_norm.weight", 0}, {"attn_output.weight", 'e'},
        {"attn_q.weight", 'e'},   {"attn_v.weight", 'k'},  {"ffn_down.weight", 'd'},
        {"ffn_gate.weight", 'f'}, {"ffn_norm.weight", 0},  {"ffn_up.weight", 'f'},
    };
    const size_t n = 3 + 9 * (size_t)s->n_layer;
    struct lq_recipe_tensor *rt = calloc(n, sizeof *rt);
    enum lq_type *types = calloc(n, sizeof *types);
    m->tensors = calloc(n, sizeof *m->tensors);
    assert_true(rt && types && m->tensors);
    m->n_tensors = n;
    m->shape = *s;
    struct lq_fit_tensor *t = m->tensors;
    snprintf(t[0].name, sizeof t[0].name, "output.weight");
    t[0].n_dims = 2, t[0].ne[0] = s->n_embd, t[0].ne[1] = s->n_vocab;
    snprintf(t[1].name, sizeof t[1].name, "output_norm.weight");
    t[1].n_dims = 1, t[1].ne[0] = s->n_embd, t[1].ne[1] = 1;
    snprintf(t[2].name, sizeof t[2].name, "token_embd.weight");
    t[2].n_dims = 2, t[2].ne[0] = s->n_embd, t[2].ne[1] = s->n_vocab;
    const int64_t kv = s->head_dim_k * s->n_head_kv;
    for (int64_t l = 0, i = 3; l < s->n_layer; l++) {
        for (size_t b = 0; b < 9; b++, i++) {
            snprintf(t[i].name, sizeof t[i].name, "blk.%lld.%s", (long long)l, blk[b].name);
            const int r = blk[b].rows;
            t[i].n_dims = r ? 2 : 1;
            t[i].ne[0] = r == 'd' ? s->n_ff : s->n_embd;
            t[i].ne[1] = r == 'k' ? kv : r == 'e' ? s->n_embd : r == 'f' ? s->n_ff
                                                    : r == 'd' ? s->n_embd : 1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        t[i].ne[2] = t[i].ne[3] = 1;
        rt[i] = (struct lq_recipe_tensor){.name = t[i].name, .n_dims = t[i].n_dims,
                                          .type = t[i].n_dims == 1 ? LQ_TYPE_F32 : LQ_TYPE_F16,
                                          .override_type = -1};
        memcpy(rt[i].ne, t[i].ne, sizeof rt[i].ne);
    }
    struct lq_recipe_params p = lq_recipe_params_default();
    p.ftype = ft;
    p.n_layer = (int)s->n_layer;
    p.n_head = (int)s->n_head;
    p.n_head_kv = (int)s->n_head_kv;
    assert_int_equal(lq_recipe_plan(&p, rt, n, types, NULL, NULL), LQ_OK);
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        t[i].type = types[i];
        t[i].nbytes = lq_row_size(types[i], t[i].ne[0]) * (uint64_t)t[i].ne[1];
        t[i].offset = off;
        off += (t[i].nbytes + 31) / 32 * 32;
    }
    m->file_bytes = off;
    snprintf(m->label, sizeof m->label, "%s", lq_ftype_name(ft));
    free(rt);
    free(types);
}

static const struct lq_fit_shape SHAPE_1B = {.n_layer = 22, .n_embd = 2048, .n_ff = 5632,
                                             .n_head = 32, .n_head_kv = 4, .head_dim_k = 64,
                                             .head_dim_v = 64, .n_vocab = 32000};
static const struct lq_fit_shape SHAPE_MID = {.n_layer = 4, .n_embd = 1024, .n_ff = 2816,
                                              .n_head = 16, .n_head_kv = 8, .head_dim_k = 64,
                                              .head_dim_v = 64, .n_vocab = 32000};

static char *tmp_dir;

/* The F16 GGUF of a shared Gemma folder (sliding-window layers), converted once. */
static const char *gemma_f16(const char *name)
{
    static char path[4096];
    char family[32], src[128];
    snprintf(family, sizeof family, "%.*s", (int)(strchr(name, '-') - name), name);
    snprintf(path, sizeof path, "%.4000s/%.40s.gguf", tmp_dir, name);
    snprintf(src, sizeof src, "models/tiny-%s", family);
    if (access(path, F_OK) == 0) {
        return path; /* converted for an earlier record */
    }
    const char *args[] = {"convert", lqt_data_path(src), "-o", path, "--type", "f16", "--quiet",
                          NULL};
    struct lqt_run r = lqt_run_quant(args, NULL);
    lqt_expect_exit(&r, args, 0, NULL);
    lqt_run_free(&r);
    return path;
}

/* The model a record names: a reference GGUF as stored, or a synthetic one. */
static void open_model(const char *name, struct lq_fit_model *m)
{
    if (strncmp(name, "tiny-", 5) == 0 || strncmp(name, "gemma", 5) == 0) {
        char rel[128];
        snprintf(rel, sizeof rel, TINY "%s.gguf", name + 5);
        const char *path = name[0] == 'g' ? gemma_f16(name) : lqt_data_path(rel);
        lq_source *src = NULL;
        lq_gguf *g = NULL;
        struct lq_error err = {0};
        assert_int_equal(lq_source_open(path, &src, &err), LQ_OK);
        assert_int_equal(lq_gguf_open(path, &g, &err), LQ_OK);
        assert_int_equal(lq_fit_model_from_source(src, g, -1, m, &err), LQ_OK);
        lq_gguf_free(g);
        lq_source_free(src);
        return;
    }
    const bool q4 = strstr(name, "q4_k_m") != NULL;
    llama_model(m, strncmp(name, "mid", 3) == 0 ? &SHAPE_MID : &SHAPE_1B,
                q4 ? LQ_FTYPE_MOSTLY_Q4_K_M : LQ_FTYPE_MOSTLY_F16);
}

static void params_of(const struct rec *r, struct lq_fit_params *p)
{
    *p = lq_fit_params_default();
    p->n_ctx = r->ctx;
    p->flash_attn = strcmp(r->fa, "on") == 0;
    p->kv_type = strcmp(r->kv, "q8_0") == 0   ? LQ_TYPE_Q8_0
                 : strcmp(r->kv, "q4_0") == 0 ? LQ_TYPE_Q4_0
                                              : LQ_TYPE_F16;
}

/* |ours - printed| within 5 % of the printed figure, or its rounding (0.005 MiB). */
static double check_figure(const char *what, const struct rec *r, double ours, double printed)
{
    const double tol = fmax(0.05 * printed, 0.005);
    if (fabs(ours - printed) > tol) {
        fail_msg("%s ctx %ld kv %s fa %s: %s %.3f MiB, llama.cpp %.2f", r->model, r->ctx, r->kv,
                 r->fa, what, ours, printed);
    }
    /* the worst relative error, beyond the printed figures' rounding */
    return printed > 0.1 ? fabs(ours - printed) / printed : 0;
}

static double check_case(const struct rec *r, const struct lq_fit_estimate *e)
{
    const struct lq_fit_device *c = &e->cpu;
    double worst = 0;
    worst = fmax(worst, check_figure("mapped", r, c->mapped / MIB, r->mapped));
    worst = fmax(worst, check_figure("repack", r, c->repack / MIB, r->repack));
    worst = fmax(worst, check_figure("KV", r, c->kv / MIB, r->kvb));
    worst = fmax(worst, check_figure("compute", r, c->compute / MIB, r->compute));
    worst = fmax(worst, check_figure("output", r, c->output / MIB, r->output));
    const double total = r->mapped + r->repack + r->kvb + r->compute + r->output;
    worst = fmax(worst, check_figure("total", r, c->total / MIB, total));
    return worst;
}

static void test_estimate_matches_llama_cpp(void **state)
{
    (void)state;
    struct rec r[128];
    const int n = read_records(r, 128);
    assert_true(n >= 74); /* 8 models x 9 settings, and KV q4_0 twice */
    tmp_dir = lqt_tmpdir();
    for (int i = 0; i < n; i++) {
        struct lq_fit_model m = {0};
        struct lq_fit_params p;
        struct lq_fit_estimate e;
        open_model(r[i].model, &m);
        params_of(&r[i], &p);
        assert_int_equal(lq_fit_estimate_ngl(&m, &p, 0, &e, NULL), LQ_OK);
        const double worst = check_case(&r[i], &e);
        const double total = r[i].mapped + r[i].repack + r[i].kvb + r[i].compute + r[i].output;
        printf("%-12s ctx %5ld kv %-4s fa %-3s compute %7.2f (llama.cpp %7.2f) total %8.2f "
               "(%8.2f, %+.2f %%) worst buffer %.1f %%\n", r[i].model, r[i].ctx, r[i].kv,
               r[i].fa, e.cpu.compute / MIB, r[i].compute, e.cpu.total / MIB, total,
               100 * (e.cpu.total / MIB - total) / total, 100 * worst);
        assert_false(e.swa_upper_bound);
        lq_fit_model_free(&m);
    }
    lqt_rmtree(tmp_dir);
    free(tmp_dir);
}

/* The tiny model's Hugging Face folder, planned (nothing written), against what llama.cpp
 * printed for the files llama-quantize made of it: the same types; the mapped span differs
 * only by the layout (the converter's order, in which the last tensor is a norm). */
static void test_planned_types_match_files(void **state)
{
    (void)state;
    struct rec r[128];
    const int n = read_records(r, 128);
    lq_source *src = NULL;
    struct lq_error err = {0};
    assert_int_equal(lq_source_open(lqt_data_path("models/tiny-llama-6L"), &src, &err), LQ_OK);
    const struct {
        const char *model;
        enum lq_ftype ft;
    } planned[] = {{"tiny-f16", LQ_FTYPE_MOSTLY_F16}, {"tiny-q8_0", LQ_FTYPE_MOSTLY_Q8_0},
                   {"tiny-q4_k_m", LQ_FTYPE_MOSTLY_Q4_K_M}};
    int checked = 0;
    for (size_t k = 0; k < 3; k++) {
        struct lq_fit_model m = {0};
        assert_int_equal(lq_fit_model_from_source(src, NULL, (int)planned[k].ft, &m, &err),
                         LQ_OK);
        assert_string_equal(m.label, lq_ftype_name(planned[k].ft));
        for (int i = 0; i < n; i++) {
            if (strcmp(r[i].model, planned[k].model) == 0) {
                struct lq_fit_params p;
                struct lq_fit_estimate e;
                params_of(&r[i], &p);
                assert_int_equal(lq_fit_estimate_ngl(&m, &p, 0, &e, NULL), LQ_OK);
                check_case(&r[i], &e);
                checked++;
            }
        }
        lq_fit_model_free(&m);
    }
    assert_int_equal(checked, 28); /* 3 types x 9 settings, and Q8_0 with KV q4_0 */
    lq_source_free(src);
}

/* The split: more VRAM offloads more whole layers; the output head goes last. */
static void test_layer_split(void **state)
{
    (void)state;
    struct lq_fit_model m = {0};
    llama_model(&m, &SHAPE_1B, LQ_FTYPE_MOSTLY_Q4_K_M);
    struct lq_fit_params p = lq_fit_params_default();
    p.flash_attn = true;
    struct lq_fit_estimate all, none, e;
    assert_int_equal(lq_fit_estimate_ngl(&m, &p, 0, &none, NULL), LQ_OK);
    assert_int_equal(lq_fit_estimate_ngl(&m, &p, 23, &all, NULL), LQ_OK);
    assert_int_equal(all.gpu.kv, none.cpu.kv);
    assert_int_equal(all.cpu.kv, 0);
    /* token_embd stays on the host */
    assert_true(all.cpu.mapped > 0 && all.cpu.mapped < 40 * MIB);
    p.mem = none.cpu.total;
    p.vram = 0;
    assert_int_equal(lq_fit_estimate(&m, &p, &e, NULL), LQ_OK);
    assert_true(e.fits);
    assert_int_equal(e.n_gpu_layers, 0);
    p.mem -= 1;
    assert_int_equal(lq_fit_estimate(&m, &p, &e, NULL), LQ_OK);
    assert_false(e.fits);
    p.mem = 8ull << 30;
    p.vram = 8ull << 30;
    assert_int_equal(lq_fit_estimate(&m, &p, &e, NULL), LQ_OK);
    assert_true(e.fits);
    assert_int_equal(e.n_gpu_layers, 23);
    p.vram = all.gpu.total / 2;
    assert_int_equal(lq_fit_estimate(&m, &p, &e, NULL), LQ_OK);
    assert_true(e.fits && e.n_gpu_layers > 0 && e.n_gpu_layers < 22 && e.gpu.total <= p.vram);
    /* a file claiming an absurd shape is refused, not multiplied into an overflow */
    m.shape.n_embd = 1LL << 40;
    struct lq_error err = {0};
    assert_int_equal(lq_fit_estimate_ngl(&m, &p, 0, &e, &err), LQ_E_FORMAT);
    assert_non_null(strstr(err.msg, "shape out of range"));
    lq_fit_model_free(&m);
}

static void test_cli(void **state)
{
    (void)state;
    const char *f16 = lqt_data_path(TINY "f16.gguf");
    char q4[4096];
    snprintf(q4, sizeof q4, "%s", lqt_data_path(TINY "q4_k_m.gguf"));
    /* nothing fits 16 MiB at ctx 512 (q4_k_m needs 17.23): exit 1 naming the smallest */
    const char *small[] = {"fit", f16, q4, "--mem", "16MiB", "--ctx", "512", NULL};
    struct lqt_run r = lqt_run_quant(small, NULL);
    lqt_expect_exit(&r, small, 1, "the smallest requirement is q4_k_m.gguf, 17.23 MiB");
    lqt_run_free(&r);
    const char *ok[] = {"fit", f16, q4, "--mem", "20MiB", "--ctx", "512", "--json", NULL};
    r = lqt_run_quant(ok, NULL);
    lqt_expect_exit(&r, ok, 0, NULL);
    assert_non_null(strstr(r.out, "\"recommended\": \"q4_k_m.gguf\""));
    assert_non_null(strstr(r.out, "\"schema\": \"libquant.fit/1\""));
    lqt_run_free(&r);
    const char *bad[] = {"fit", lqt_data_path("gguf/malformed/bad-magic-FUGG.gguf"), "--mem",
                         "1GiB", NULL};
    r = lqt_run_quant(bad, NULL);
    lqt_expect_exit(&r, bad, 3, "bad-magic-FUGG.gguf");
    lqt_run_free(&r);
    const char *kv[] = {"fit", f16, "--mem", "1GiB", "--kv-type", "q8_0", NULL};
    r = lqt_run_quant(kv, NULL);
    lqt_expect_exit(&r, kv, 2, "--flash-attn");
    lqt_run_free(&r);
    /* a folder: every file type planned, nothing written */
    const char *plan[] = {"fit", lqt_data_path("models/tiny-llama-6L"), "--mem", "1GiB", NULL};
    r = lqt_run_quant(plan, NULL);
    lqt_expect_exit(&r, plan, 0, NULL);
    assert_non_null(strstr(r.out, "Q4_K_M"));
    assert_non_null(strstr(r.out, "Q8_0"));
    lqt_run_free(&r);
}

/* --report: the lowest mean KLD among the files that fit, matched by file name. */
static void test_cli_report(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    char json[4096], f16[4096], q8[4096], q4[4096];
    snprintf(f16, sizeof f16, "%s", lqt_data_path(TINY "f16.gguf"));
    snprintf(q8, sizeof q8, "%s", lqt_data_path(TINY "q8_0.gguf"));
    snprintf(q4, sizeof q4, "%s", lqt_data_path(TINY "q4_k_m.gguf"));
    snprintf(json, sizeof json, "%s/report.json", dir);
    const char *doc =
        "{\"format\": \"libquant-report\", \"version\": 1,"
        " \"reference\": {\"name\": \"F16\", \"path\": \"/x/f16.gguf\", \"eval\": {}},"
        " \"types\": [{\"name\": \"Q8_0\", \"path\": \"/y/q8_0.gguf\","
        "   \"eval\": {\"kld\": {\"mean_kld\": 0.0004}}},"
        "  {\"name\": \"Q4_K_M\", \"eval\": {\"kld\": {\"mean_kld\": 0.02}}}]}";
    lqt_write_file(json, doc, strlen(doc));
    /* 20 MiB: q8_0 (17.93) and q4_k_m fit, f16 (24.03) does not; q8_0 is the more accurate */
    const char *a[] = {"fit", f16, q8, q4, "--mem", "20MiB", "--ctx", "512", "--report", json,
                       NULL};
    struct lqt_run r = lqt_run_quant(a, NULL);
    lqt_expect_exit(&r, a, 0, NULL);
    assert_non_null(strstr(r.out, "recommended: q8_0.gguf (the lowest mean KLD"));
    assert_non_null(strstr(r.out, "0.02000"));
    lqt_run_free(&r);
    const char *broken = "{\"format\": \"libquant-report\", \"types\": 3}";
    lqt_write_file(json, broken, strlen(broken));
    r = lqt_run_quant(a, NULL);
    lqt_expect_exit(&r, a, 3, "not a `quant report` JSON");
    lqt_run_free(&r);
    lqt_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_estimate_matches_llama_cpp),
        cmocka_unit_test(test_planned_types_match_files),
        cmocka_unit_test(test_layer_split),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_cli_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
