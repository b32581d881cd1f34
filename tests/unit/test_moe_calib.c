/* test_moe_calib.c - calibration of the mixture-of-experts models (tiny-mixtral,
 * tiny-qwen3moe) through `quant` as a user runs it:
 *
 *  - imatrix: llama-imatrix's file for the same model and text
 *    (reference/llama.cpp/tiny-<family>/imatrix.gguf, calib-A.txt at ctx 256, llama.cpp's
 *    batching): the same entries and shapes (router ffn_gate_inp as a dense weight; each
 *    ffn_{gate,up,down}_exps with one row of sums and one count per expert), the counts
 *    equal but for near ties (the per-expert counts are the tokens the router sent to each
 *    expert: our routing must be llama.cpp's token for token wherever two experts' router
 *    outputs are not within float rounding of each other; at most MAX_ROUTING_TIES rows of a
 *    stack may go to another expert: measured one, Qwen3-MoE blk.1, since the batched products
 *    became a tiled GEMM), every sum within SUM_REL_TOL of llama.cpp's (except in a stack
 *    where such rows went elsewhere: one token's squares there are not noise-sized,
 *    measured 0.2 % on a small column of Qwen3-MoE blk.1). The
 *    sums are not bit-equal because the activations are not: ggml's matrix products and
 *    ours sum in different orders, and the differences grow with depth
 *    (measured: at most 1.1e-4 relative, Mixtral blk.2.ffn_down_exps; 6.3e-5 Qwen3-MoE;
 *    1e-6 on average). 5e-4 leaves 4x room and still catches a wrong routing of even one
 *    token (a count) or a row summed into the wrong expert (far larger changes).
 *  - IQ4_XS from our imatrix against IQ4_XS from llama-imatrix's: IQ4_XS picks each block's
 *    scale by a search over candidates, so sums differing by 1e-6 flip a few near-ties:
 *    measured 278 (Mixtral) and 317 (Qwen3-MoE) differing bytes of about 5.6 MB; the files
 *    must have the same layout and differ in fewer than 1 byte in 10^4. (With llama.cpp's own
 *    imatrix our IQ4_XS is byte-identical to llama-quantize's, experts included, each expert
 *    quantized with its own slice: test_family_convert.)
 *
 *  - quantizing with an imatrix uses each expert's own slice (as llama-quantize): with
 *    llama-imatrix's file for tiny-mixtral, then with expert 3's slice of one stack replaced
 *    by expert 0's, IQ4_XS differs in expert 3's part of that stack only.
 *  - gptq (GGUF, Q4_0): each expert quantized from the tokens routed to it. The file loads
 *    and has plain `quant quantize`'s tensor list and types; the JSON log lists every expert
 *    of every stack with its Hessian's rows, which add up to tokens x n_expert_used per stack;
 *    and its mean KLD against F16 on heldout-A.txt (ctx 256, 4 chunks) is at most plain
 *    rounding's (measured with 1024 calibration tokens: Mixtral 0.00276 vs 0.00304,
 *    Qwen3-MoE 0.00346 vs 0.00365).
 *  - the library's expert hooks (lq/model_hooks.h) on tiny-mixtral: the expert observer sees
 *    each token's chosen experts once (rows add up to tokens x n_expert_used per layer and
 *    point, every route distinct); replacing one expert's matrix changes the logits and
 *    putting its view back restores them bit for bit; bad references are refused.
 *  - gptq with a calibration of 2 tokens leaves experts without tokens: they are rounded as
 *    `quant quantize` rounds them (method "round", samples 0), byte for byte, and the command
 *    says so.
 *
 * The reference covers all 126 chunks of calib-A.txt: about 30 s of CPU per model in an
 * optimised build. Sanitizer and unoptimised builds run the same command on 4 chunks (one
 * llama.cpp batch) and check the structure and the count identities only: every expert
 * count adds up to tokens x n_expert_used, every dense count to the tokens; their GPTQ
 * calibrates on 256 tokens and skips the KLD comparison (it needs the optimised build's
 * 1024 tokens to be meaningful). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lq/gguf.h"
#include "lq/imatrix.h"
#include "lq/model_hooks.h"
#include "lq/model_open_any.h"
#include "lqt_run.h"
#include "lqt_util.h"

#if LQT_FULL_RUN
#define FULL_REFERENCE 1
/* GPTQ's gain over plain rounding on these tiny MoE checkpoints is measured with 2048
 * calibration tokens: with 1024, float rounding in the quantized layers' products moved
 * tiny-mixtral's GPTQ KLD between 0.00266 and 0.00314 (plain rounding: 0.00303); with 2048
 * it stays at 0.00266-0.00267 whichever Q4_0 kernel multiplies. */
#define GPTQ_TOKENS 2048
#else
#define FULL_REFERENCE 0
#define GPTQ_TOKENS 256
#endif

#define SUM_REL_TOL 5e-4
#define MAX_ROUTING_TIES 2
#define IQ4_XS_MAX_DIFF 1e-4

struct moe_case {
    const char *folder;
    int64_t n_expert_used;
};

static const struct moe_case cases[] = {
    { "tiny-mixtral", 2 },
    { "tiny-qwen3moe", 2 },
};

static char *g_tmp;

static int setup(void **state)
{
    (void)state;
    g_tmp = lqt_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lqt_rmtree(g_tmp);
    free(g_tmp);
    return 0;
}

static void run_ok(const char *const *args)
{
    const struct lqt_run_opts o = { .max_seconds = 1200 };
    struct lqt_run r = lqt_run_quant(args, &o);
    lqt_expect_exit(&r, args, 0, NULL);
    lqt_run_free(&r);
}

/* Our F16 conversion of the family's folder (made once, shared by the tests). */
static void convert(const struct moe_case *mc, char *f16, size_t cap)
{
    char rel[128];
    snprintf(rel, sizeof rel, "models/%s", mc->folder);
    snprintf(f16, cap, "%s/%s-f16.gguf", g_tmp, mc->folder);
    FILE *f = fopen(f16, "rb");
    if (f) {
        fclose(f);
        return;
    }
    run_ok((const char *const[]){ "convert", "-q", lqt_data_path(rel), "-o", f16, NULL });
}

static lq_imatrix *load(const char *path)
{
    lq_imatrix *im = NULL;
    struct lq_error err = { 0 };
    if (lq_imatrix_load(path, &im, &err) != LQ_OK) {
        fail_msg("%s: %s", path, err.msg);
    }
    return im;
}

static bool is_expert_stack(const char *name)
{
    return strstr(name, "_exps.weight") != NULL;
}

/* Every expert stack's counts add up to tokens x n_expert_used; every dense entry counts the
 * tokens (all of them: 4 chunks make one batch of 1024 rows, 126 lose 6 rows of the last
 * batch's final micro-batch, which llama-imatrix skips as under 16 rows). */
static void check_count_identities(const lq_imatrix *im, const struct moe_case *mc,
                                   int64_t tokens, int64_t dense_rows)
{
    for (int64_t i = 0; i < lq_imatrix_n_entries(im); i++) {
        const struct lq_imatrix_entry *e = lq_imatrix_entry(im, i);
        double sum = 0.0;
        for (int64_t k = 0; k < e->n_mat; k++) {
            sum += e->counts[k];
        }
        if (is_expert_stack(e->name)) {
            assert_int_equal(e->n_mat, 4);
            assert_int_equal((int64_t)sum, tokens * mc->n_expert_used);
        } else {
            assert_int_equal(e->n_mat, 1);
            assert_int_equal((int64_t)sum, dense_rows);
        }
    }
}

/* The same entries as llama-imatrix's, shapes equal; with the full text also the counts
 * (exactly) and the sums (SUM_REL_TOL). Returns the largest relative difference seen. */
static double compare_with_reference(const lq_imatrix *ours, const lq_imatrix *theirs, bool full)
{
    double worst = 0.0;
    assert_int_equal(lq_imatrix_n_entries(ours), lq_imatrix_n_entries(theirs));
    for (int64_t i = 0; i < lq_imatrix_n_entries(theirs); i++) {
        const struct lq_imatrix_entry *t = lq_imatrix_entry(theirs, i);
        const struct lq_imatrix_entry *o = lq_imatrix_find(ours, t->name);
        if (!o) {
            fail_msg("imatrix: llama-imatrix has '%s', ours not", t->name);
        }
        assert_int_equal(o->n_per_row, t->n_per_row);
        assert_int_equal(o->n_mat, t->n_mat);
        double moved = 0.0;
        for (int64_t k = 0; full && k < o->n_mat; k++) {
            moved += fabs((double)o->counts[k] - (double)t->counts[k]) / 2;
            if (o->counts[k] != t->counts[k]) {
                printf("  %s: expert %lld counted %.0f rows, llama-imatrix %.0f\n", t->name,
                       (long long)k, (double)o->counts[k], (double)t->counts[k]);
            }
        }
        if (moved > MAX_ROUTING_TIES) {
            fail_msg("%s: %.0f rows routed to other experts than llama-imatrix's", t->name, moved);
        }
        for (int64_t k = 0; k < o->n_per_row * o->n_mat; k++) {
            assert_true(isfinite(o->sum2[k]) && o->sum2[k] >= 0.0f);
            if (!full) {
                continue;
            }
            const double d = fabs((double)o->sum2[k] - (double)t->sum2[k]) /
                             fmax(fabs((double)t->sum2[k]), 1e-30);
            if (moved > 0) {
                continue; /* rows swapped experts: a row's squares are not noise-sized */
            }
            worst = d > worst ? d : worst;
            if (d > SUM_REL_TOL) {
                fail_msg("%s[%lld]: %.9g, llama-imatrix %.9g (relative %.3g > %.3g)", t->name,
                         (long long)k, (double)o->sum2[k], (double)t->sum2[k], d, SUM_REL_TOL);
            }
        }
    }
    return worst;
}

static size_t data_offset(const char *path)
{
    lq_gguf *g = NULL;
    struct lq_error err = { 0 };
    assert_int_equal(lq_gguf_open(path, &g, &err), LQ_OK);
    const size_t off = (size_t)lq_gguf_data_offset(g);
    lq_gguf_free(g);
    return off;
}

/* Tensor data bytes of two GGUF files with the same tensors that differ (the metadata differs
 * in the imatrix's path). */
static int64_t differing_data_bytes(const char *a, const char *b, int64_t *total)
{
    size_t na, nb;
    unsigned char *x = lqt_read_file(a, &na), *y = lqt_read_file(b, &nb);
    const size_t oa = data_offset(a), ob = data_offset(b);
    assert_int_equal(na - oa, nb - ob);
    int64_t d = 0;
    for (size_t i = 0; i < na - oa; i++) {
        d += x[oa + i] != y[ob + i];
    }
    *total = (int64_t)(na - oa);
    free(x);
    free(y);
    return d;
}

/* IQ4_XS with our imatrix against IQ4_XS with llama-imatrix's. */
static void check_iq4_xs(const char *f16, const char *ours, const char *theirs,
                         const struct moe_case *mc)
{
    char out_ours[700], out_theirs[700];
    snprintf(out_ours, sizeof out_ours, "%s/%s-ours-iq4_xs.gguf", g_tmp, mc->folder);
    snprintf(out_theirs, sizeof out_theirs, "%s/%s-theirs-iq4_xs.gguf", g_tmp, mc->folder);
    run_ok((const char *const[]){ "quantize", "-q", "-t", "2", "--imatrix", ours, f16, out_ours,
                                  "iq4_xs", NULL });
    run_ok((const char *const[]){ "quantize", "-q", "-t", "2", "--imatrix", theirs, f16,
                                  out_theirs, "iq4_xs", NULL });
    int64_t total = 0;
    const int64_t d = differing_data_bytes(out_ours, out_theirs, &total);
    printf("  %s IQ4_XS: %lld of %lld data bytes differ from llama-imatrix's matrix's file\n",
           mc->folder, (long long)d, (long long)total);
    assert_true((double)d < IQ4_XS_MAX_DIFF * (double)total);
    remove(out_ours);
    remove(out_theirs);
}

static void test_imatrix(void **state)
{
    const struct moe_case *mc = *state;
    char f16[700], ours[760], rel[128];
    convert(mc, f16, sizeof f16);
    snprintf(ours, sizeof ours, "%s/%s-imatrix.gguf", g_tmp, mc->folder);
    const int64_t n_chunks = FULL_REFERENCE ? 126 : 4;
    char chunks[16];
    snprintf(chunks, sizeof chunks, "%lld", (long long)n_chunks);
    run_ok((const char *const[]){ "imatrix", "-q", "-t", "2", "--ctx", "256", "--chunks",
                                  chunks, "--calib", lqt_data_path("text/calib-A.txt"), f16,
                                  "-o", ours, NULL });
    snprintf(rel, sizeof rel, "reference/llama.cpp/%s/imatrix.gguf", mc->folder);
    lq_imatrix *o = load(ours), *t = load(lqt_data_path(rel));
    const int64_t tokens = n_chunks * 256;
    check_count_identities(o, mc, tokens, FULL_REFERENCE ? tokens - 6 : tokens);
    check_count_identities(t, mc, 126 * 256, 126 * 256 - 6);
    const double worst = compare_with_reference(o, t, FULL_REFERENCE);
    if (FULL_REFERENCE) {
        assert_int_equal(lq_imatrix_chunk_count(o), lq_imatrix_chunk_count(t));
        printf("  %s: counts equal (but near ties, listed), other sums within %.3g of llama-imatrix's\n",
               mc->folder, worst);
        check_iq4_xs(f16, ours, lqt_data_path(rel), mc);
    }
    lq_imatrix_free(o);
    lq_imatrix_free(t);
}

/* blk.1.ffn_down_exps.weight with expert 3's importance replaced by expert 0's changes
 * expert 3's part of that tensor and nothing else. */
static void test_imatrix_expert_slices(void **state)
{
    (void)state;
    const struct moe_case *mc = &cases[0];
    const char *stack = "blk.1.ffn_down_exps.weight";
    char f16[700], imat[760], a[760], b[760];
    convert(mc, f16, sizeof f16);
    const char *ref = lqt_data_path("reference/llama.cpp/tiny-mixtral/imatrix.gguf");
    lq_imatrix *im = load(ref);
    const struct lq_imatrix_entry *e = lq_imatrix_find(im, stack);
    assert_non_null(e);
    assert_int_equal(e->n_mat, 4);
    memcpy(e->sum2 + 3 * e->n_per_row, e->sum2, (size_t)e->n_per_row * sizeof(float));
    e->counts[3] = e->counts[0];
    snprintf(imat, sizeof imat, "%s/swapped-imatrix.gguf", g_tmp);
    struct lq_error err = { 0 };
    assert_int_equal(lq_imatrix_save(im, imat, &err), LQ_OK);
    lq_imatrix_free(im);
    snprintf(a, sizeof a, "%s/slices-a.gguf", g_tmp);
    snprintf(b, sizeof b, "%s/slices-b.gguf", g_tmp);
    run_ok((const char *const[]){ "quantize", "-q", "-t", "2", "--imatrix", ref, f16, a,
                                  "iq4_xs", NULL });
    run_ok((const char *const[]){ "quantize", "-q", "-t", "2", "--imatrix", imat, f16, b,
                                  "iq4_xs", NULL });
    lq_gguf *ga = NULL, *gb = NULL;
    assert_int_equal(lq_gguf_open(a, &ga, &err), LQ_OK);
    assert_int_equal(lq_gguf_open(b, &gb, &err), LQ_OK);
    assert_int_equal(lq_gguf_n_tensors(ga), lq_gguf_n_tensors(gb));
    for (int64_t i = 0; i < lq_gguf_n_tensors(ga); i++) {
        const struct lq_gguf_tensor_info *x = lq_gguf_tensor(ga, i), *y = lq_gguf_tensor(gb, i);
        assert_int_equal(x->nbytes, y->nbytes);
        if (strcmp(x->name, stack) != 0) {
            assert_memory_equal(x->data, y->data, x->nbytes);
            continue;
        }
        const size_t part = x->nbytes / 4;
        for (int64_t k = 0; k < 3; k++) {
            assert_memory_equal((const char *)x->data + k * part, (const char *)y->data + k * part,
                                part);
        }
        assert_true(memcmp((const char *)x->data + 3 * part, (const char *)y->data + 3 * part,
                           part) != 0);
    }
    lq_gguf_free(ga);
    lq_gguf_free(gb);
}

static json_t *load_json(const char *path)
{
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    if (!j) {
        fail_msg("%s: %s", path, jerr.text);
    }
    return j;
}

/* The log's expert entries: per stack, the experts seen (bit mask) and the rows summed. */
static void check_expert_log(const char *log, const struct moe_case *mc, int64_t tokens)
{
    json_t *root = load_json(log);
    json_t *ws = json_object_get(root, "weights");
    char names[3 * 8][64];
    int64_t rows[3 * 8] = { 0 }, seen[3 * 8] = { 0 };
    int n = 0;
    for (size_t i = 0; i < json_array_size(ws); i++) {
        json_t *w = json_array_get(ws, i);
        if (!json_object_get(w, "expert")) {
            continue;
        }
        const char *name = json_string_value(json_object_get(w, "name"));
        int k = 0;
        while (k < n && strcmp(names[k], name) != 0) {
            k++;
        }
        if (k == n) {
            assert_true(n < 3 * 8);
            snprintf(names[n++], sizeof names[0], "%s", name);
        }
        const int64_t e = json_integer_value(json_object_get(w, "expert"));
        assert_true(e >= 0 && e < 4);
        assert_false(seen[k] & (1 << e));
        seen[k] |= 1 << e;
        rows[k] += json_integer_value(json_object_get(w, "samples"));
    }
    assert_int_equal(n, 3 * 3); /* 3 layers x gate, up, down */
    for (int k = 0; k < n; k++) {
        assert_int_equal(seen[k], 0xf);
        assert_int_equal(rows[k], tokens * mc->n_expert_used);
    }
    json_decref(root);
}

/* The same tensors (names, order, types, shapes) as a plain quantization of the recipe. */
static void check_same_layout(const char *a, const char *b)
{
    lq_gguf *ga = NULL, *gb = NULL;
    struct lq_error err = { 0 };
    assert_int_equal(lq_gguf_open(a, &ga, &err), LQ_OK);
    assert_int_equal(lq_gguf_open(b, &gb, &err), LQ_OK);
    assert_int_equal(lq_gguf_n_tensors(ga), lq_gguf_n_tensors(gb));
    for (int64_t i = 0; i < lq_gguf_n_tensors(ga); i++) {
        const struct lq_gguf_tensor_info *x = lq_gguf_tensor(ga, i), *y = lq_gguf_tensor(gb, i);
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->type, y->type);
        assert_memory_equal(x->ne, y->ne, sizeof x->ne);
    }
    lq_gguf_free(ga);
    lq_gguf_free(gb);
}

/* Mean KLD of model against the base log-prob file (`quant eval --compare`). */
static double mean_kld(const char *base, const char *model)
{
    const char *args[] = { "eval", "-t", "2", "--json", "--compare", base, model, NULL };
    const struct lqt_run_opts o = { .max_seconds = 600 };
    struct lqt_run r = lqt_run_quant(args, &o);
    lqt_expect_exit(&r, args, 0, NULL);
    json_error_t jerr;
    json_t *doc = json_loads(r.out, 0, &jerr);
    assert_non_null(doc);
    const double kld = json_real_value(json_object_get(json_object_get(doc, "kld"), "mean_kld"));
    json_decref(doc);
    lqt_run_free(&r);
    assert_true(kld > 0.0);
    return kld;
}

static void test_gptq(void **state)
{
    const struct moe_case *mc = *state;
    char f16[700], gq[760], plain[760], log[760], base[760], tokens[16];
    convert(mc, f16, sizeof f16);
    snprintf(gq, sizeof gq, "%s/%s-gptq.gguf", g_tmp, mc->folder);
    snprintf(plain, sizeof plain, "%s/%s-q4_0.gguf", g_tmp, mc->folder);
    snprintf(log, sizeof log, "%s/%s-gptq.json", g_tmp, mc->folder);
    snprintf(tokens, sizeof tokens, "%d", GPTQ_TOKENS);
    run_ok((const char *const[]){ "gptq", "-q", "-t", "2", "--calib",
                                  lqt_data_path("text/calib-A.txt"), "--calib-tokens", tokens,
                                  "--calib-ctx", "256", "--type", "q4_0", f16, "-o", gq, "--log",
                                  log, NULL });
    run_ok((const char *const[]){ "quantize", "-q", "-t", "2", f16, plain, "q4_0", NULL });
    check_same_layout(gq, plain);
    check_expert_log(log, mc, GPTQ_TOKENS);
    if (!FULL_REFERENCE) {
        return;
    }
    snprintf(base, sizeof base, "%s/%s-f16.logits", g_tmp, mc->folder);
    run_ok((const char *const[]){ "eval", "-q", "-t", "2", "--ctx", "256", "--chunks", "4",
                                  "--text", lqt_data_path("text/heldout-A.txt"), "--save-logits",
                                  base, f16, NULL });
    const double k_gptq = mean_kld(base, gq), k_plain = mean_kld(base, plain);
    printf("  %s Q4_0 mean KLD vs F16: gptq %.6f, plain rounding %.6f\n", mc->folder, k_gptq,
           k_plain);
    assert_true(k_gptq <= k_plain);
}

/* Byte offset and size of expert e's slice of a stacked tensor. */
static const unsigned char *expert_slice(const lq_gguf *g, const char *name, int64_t e,
                                         size_t *size)
{
    const int64_t id = lq_gguf_find_tensor(g, name);
    assert_true(id >= 0);
    const struct lq_gguf_tensor_info *t = lq_gguf_tensor(g, id);
    *size = t->nbytes / (size_t)t->ne[2];
    return (const unsigned char *)t->data + (size_t)e * *size;
}

/* Two calibration tokens route 4 expert choices per layer: some experts get none and are
 * rounded plainly, byte for byte as `quant quantize` rounds them. */
static void test_gptq_unrouted_expert(void **state)
{
    (void)state;
    const struct moe_case *mc = &cases[0];
    char f16[700], gq[760], plain[760], log[760];
    convert(mc, f16, sizeof f16);
    snprintf(gq, sizeof gq, "%s/unrouted-gptq.gguf", g_tmp);
    snprintf(plain, sizeof plain, "%s/unrouted-q4_0.gguf", g_tmp);
    snprintf(log, sizeof log, "%s/unrouted.json", g_tmp);
    const char *args[] = { "gptq", "-t", "2", "--calib", lqt_data_path("text/calib-A.txt"),
                           "--calib-tokens", "2", "--calib-ctx", "2", "--type", "q4_0", f16,
                           "-o", gq, "--log", log, NULL };
    const struct lqt_run_opts o = { .max_seconds = 600 };
    struct lqt_run r = lqt_run_quant(args, &o);
    lqt_expect_exit(&r, args, 0, "got no calibration tokens from the router"); /* said */
    lqt_run_free(&r);
    run_ok((const char *const[]){ "quantize", "-q", "-t", "2", f16, plain, "q4_0", NULL });
    check_expert_log(log, mc, 2);
    json_t *root = load_json(log);
    json_t *ws = json_object_get(root, "weights");
    lq_gguf *ga = NULL, *gb = NULL;
    struct lq_error err = { 0 };
    assert_int_equal(lq_gguf_open(gq, &ga, &err), LQ_OK);
    assert_int_equal(lq_gguf_open(plain, &gb, &err), LQ_OK);
    int unrouted = 0, routed_differs = 0;
    for (size_t i = 0; i < json_array_size(ws); i++) {
        json_t *w = json_array_get(ws, i);
        if (!json_object_get(w, "expert")) {
            continue;
        }
        const char *name = json_string_value(json_object_get(w, "name"));
        const int64_t e = json_integer_value(json_object_get(w, "expert"));
        const int64_t samples = json_integer_value(json_object_get(w, "samples"));
        const char *method = json_string_value(json_object_get(w, "method"));
        size_t na, nb;
        const unsigned char *a = expert_slice(ga, name, e, &na), *b = expert_slice(gb, name, e, &nb);
        assert_int_equal(na, nb);
        if (samples == 0) {
            assert_string_equal(method, "round");
            assert_memory_equal(a, b, na);
            unrouted++;
        } else {
            assert_string_equal(method, "gptq");
            routed_differs += memcmp(a, b, na) != 0;
        }
    }
    printf("  %d expert matrices without tokens rounded plainly; %d with tokens by GPTQ\n",
           unrouted, routed_differs);
    assert_true(unrouted > 0);
    assert_true(routed_differs > 0); /* the comparison can tell the two apart */
    lq_gguf_free(ga);
    lq_gguf_free(gb);
    json_decref(root);
}

/* Rows the expert observer saw per (layer, point), and each route's times seen. */
struct seen {
    int64_t rows[3][2];
    int64_t route_hits[3][2][64];
    int64_t bad;
};

static lq_status see(void *user, int64_t layer, int64_t expert, enum lq_hook_point point,
                     const float *x, const int64_t *route, int64_t n_rows, int64_t n_cols,
                     struct lq_error *err)
{
    (void)x;
    (void)err;
    struct seen *s = user;
    const int p = point == LQ_HOOK_FFN_IN ? 0 : 1;
    s->bad += layer < 0 || layer > 2 || expert < 0 || expert > 3 ||
              n_cols != (p == 0 ? 256 : 768) ||
              (point != LQ_HOOK_FFN_IN && point != LQ_HOOK_FFN_DOWN);
    for (int64_t r = 0; r < n_rows && !s->bad; r++) {
        s->bad += route[r] < 0 || route[r] >= 64;
        s->route_hits[layer][p][route[r] & 63]++;
    }
    s->rows[layer][p] += n_rows;
    return LQ_OK;
}

static void forward32(lq_model *m, const int32_t *tokens, float *logits)
{
    struct lq_error err = { 0 };
    struct lq_batch b = { .tokens = tokens, .n_tokens = 32, .n_out = 1, .logits = logits };
    if (lq_model_forward(m, &b, &err) != LQ_OK) {
        fail_msg("forward: %s", err.msg);
    }
}

static void test_expert_hooks(void **state)
{
    (void)state;
    struct lq_model_params mp = lq_model_params_default();
    mp.n_ctx = 32;
    mp.n_threads = 1;
    lq_model *m = NULL;
    struct lq_error err = { 0 };
    assert_int_equal(lq_model_open_path(lqt_data_path("models/tiny-mixtral"), &mp, &m, NULL,
                                        &err), LQ_OK);
    int32_t tokens[32];
    for (int i = 0; i < 32; i++) {
        tokens[i] = 1 + (int32_t)((i * 977) % 4000);
    }
    const int64_t nv = lq_model_get_hparams(m)->n_vocab;
    float *l0 = malloc((size_t)nv * sizeof(float)), *l1 = malloc((size_t)nv * sizeof(float));
    struct seen sn = { 0 };
    lq_model_set_expert_observer(m, see, &sn);
    forward32(m, tokens, l0);
    lq_model_set_expert_observer(m, NULL, NULL);
    assert_int_equal(sn.bad, 0);
    for (int l = 0; l < 3; l++) {
        for (int p = 0; p < 2; p++) {
            assert_int_equal(sn.rows[l][p], 32 * 2);
            for (int r = 0; r < 64; r++) {
                assert_int_equal(sn.route_hits[l][p][r], 1); /* token r / 2, slot r % 2 */
            }
        }
    }
    /* expert 2's gate matrix replaced by expert 1's, then its own view put back */
    struct lq_model_tensor own, other;
    assert_int_equal(lq_model_get_expert_weight(m, 1, LQ_LW_GATE, 2, &own, &err), LQ_OK);
    assert_int_equal(lq_model_get_expert_weight(m, 1, LQ_LW_GATE, 1, &other, &err), LQ_OK);
    assert_int_equal(own.ne[0], 256);
    assert_int_equal(own.ne[1], 768);
    assert_int_equal(lq_model_set_expert_weight(m, 1, LQ_LW_GATE, 2, other.type, other.data,
                                                other.nbytes, &err), LQ_OK);
    forward32(m, tokens, l1);
    assert_true(memcmp(l0, l1, (size_t)nv * sizeof(float)) != 0);
    assert_int_equal(lq_model_set_expert_weight(m, 1, LQ_LW_GATE, 2, own.type, own.data,
                                                own.nbytes, &err), LQ_OK);
    forward32(m, tokens, l1);
    assert_memory_equal(l0, l1, (size_t)nv * sizeof(float));
    /* refused: an expert past the last, a weight that is not an expert stack, a wrong size */
    assert_int_equal(lq_model_get_expert_weight(m, 1, LQ_LW_GATE, 4, &own, &err),
                     LQ_E_INVALID_ARG);
    assert_int_equal(lq_model_get_expert_weight(m, 1, LQ_LW_Q, 0, &own, &err), LQ_E_INVALID_ARG);
    assert_int_equal(lq_model_set_expert_weight(m, 1, LQ_LW_UP, 0, other.type, other.data,
                                                other.nbytes - 1, &err), LQ_E_INVALID_ARG);
    free(l0);
    free(l1);
    lq_model_free(m);
    /* a dense model has no experts */
    assert_int_equal(lq_model_open_path(lqt_data_path("models/tiny-llama-6L"), &mp, &m, NULL,
                                        &err), LQ_OK);
    assert_int_equal(lq_model_get_expert_weight(m, 0, LQ_LW_GATE, 0, &own, &err),
                     LQ_E_INVALID_ARG);
    lq_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_imatrix, (void *)&cases[0]),
        cmocka_unit_test_prestate(test_imatrix, (void *)&cases[1]),
        cmocka_unit_test(test_imatrix_expert_slices),
        cmocka_unit_test_prestate(test_gptq, (void *)&cases[0]),
        cmocka_unit_test_prestate(test_gptq, (void *)&cases[1]),
        cmocka_unit_test(test_gptq_unrouted_expert),
        cmocka_unit_test(test_expert_hooks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
