/* test_hostile_bounds.c - issue 11, class 3: work and memory bounded by the input's size.
 * Counts read from a file (tensors, keys, array lengths, layers, vocabulary, pickle stack and
 * memo) are checked against what the file can hold before anything is allocated or looped
 * over, and names are looked up by hash, so a small file can neither take minutes nor
 * gigabytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/gguf.h"
#include "lq/types.h"
#include "lqt_craft.h"
#include "lqt_hostile.h"
#include "lqt_util.h"
#include "lqt_zip.h"

/* 100,000 tensors of 32 floats (13 MB): with a linear name lookup in the writer and the
 * source this took about a minute to quantize. */
static void make_gguf_100k_tensors(const char *dir, const char **args, char *buf)
{
    enum { N = 100000, ROW = 32 };
    struct lqt_gguf b;
    lqt_gguf_begin(&b, N, 1);
    lqt_gguf_kv_str(&b, "general.architecture", "many-tensors"); /* no llama.* keys to check */
    char name[32];
    const int64_t ne[1] = {ROW};
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "t.%d.weight", i);
        lqt_gguf_tensor_info(&b, name, 1, ne, LQ_TYPE_F32, (uint64_t)i * ROW * 4);
    }
    lqt_gguf_pad(&b, 32);
    float *zeros = calloc((size_t)N * ROW, sizeof *zeros);
    assert_non_null(zeros);
    lqt_gguf_bytes(&b, zeros, (size_t)N * ROW * sizeof *zeros);
    free(zeros);
    const char *in = lqt_hostile_str(buf, "%s/many.gguf", dir);
    lqt_gguf_write(&b, in);
    args[0] = "quantize";
    args[1] = in;
    args[2] = lqt_hostile_str(buf, "%s/out.gguf", dir);
    args[3] = "Q8_0";
}

/* A tokenizer of three pieces for llama2.c checkpoints (vocab_size 3). */
static void write_tok3(const char *dir, char *buf)
{
    static const unsigned char tok[] = {4, 0, 0, 0, 0, 0,   0, 0, 1, 0, 0, 0, 'a', 0, 0,  0,
                                        0, 1, 0, 0, 0, 'b', 0, 0, 0, 0, 1, 0, 0,   0, 'c'};
    lqt_write_file(lqt_hostile_str(buf, "%s/tok3.bin", dir), tok, sizeof tok);
}

/* A llama2.c checkpoint of dim 2, hidden 2, 1 head, vocab 3, seq 2 and `layers` layers: 32
 * floats a layer, so 20,000 layers fit in 2.5 MB. */
static const char *write_llama2c(const char *dir, char *buf, int32_t layers, const char *file)
{
    const int32_t hdr[7] = {2, 2, layers, 1, 1, 3, 2};
    const size_t floats = 2 * 3 + (size_t)32 * (size_t)layers + 2 + 2 + 2;
    unsigned char *p = calloc(1, sizeof hdr + 4 * floats);
    assert_non_null(p);
    memcpy(p, hdr, sizeof hdr);
    const char *path = lqt_hostile_str(buf, "%s/%s", dir, file);
    lqt_write_file(path, p, sizeof hdr + 4 * floats);
    free(p);
    write_tok3(dir, buf);
    return path;
}

/* 20,000 real layers in 2.5 MB: took 137 s (quadratic name lookups). */
static void make_llama2c_20k_layers(const char *dir, const char **args, char *buf)
{
    args[0] = "convert";
    args[1] = write_llama2c(dir, buf, 20000, "deep.bin");
    args[2] = "-o";
    args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
}

/* A header claiming 200,000 layers over the bytes of 20,000: refused before any allocation. */
static void make_llama2c_layers_past_end(const char *dir, const char **args, char *buf)
{
    const char *path = write_llama2c(dir, buf, 20000, "short.bin");
    size_t n;
    unsigned char *p = lqt_read_file(path, &n);
    const int32_t layers = 200000;
    memcpy(p + 8, &layers, 4);
    lqt_write_file(path, p, n);
    free(p);
    args[0] = "convert";
    args[1] = path;
    args[2] = "-o";
    args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
}

/* A llama2.c header with a vocabulary of 2^30 tokens in a few bytes. */
static void make_llama2c_huge_vocab(const char *dir, const char **args, char *buf)
{
    const char *path = write_llama2c(dir, buf, 1, "vocab.bin");
    size_t n;
    unsigned char *p = lqt_read_file(path, &n);
    const int32_t vocab = 1 << 30;
    memcpy(p + 20, &vocab, 4);
    lqt_write_file(path, p, n);
    free(p);
    args[0] = "convert";
    args[1] = path;
    args[2] = "-o";
    args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
}

/* A Hugging Face folder whose pytorch_model.bin holds data.pkl (and one 16-byte storage). */
static const char *write_pt_folder(const char *dir, char *buf, const void *pkl, size_t n)
{
    size_t len;
    char *config = lqt_read_file(lqt_data_path("models/tiny-llama-6L/config.json"), &len);
    lqt_write_file(lqt_hostile_str(buf, "%s/config.json", dir), config, len);
    free(config);
    static const float storage[4];
    struct lqt_zip z;
    memset(&z, 0, sizeof z);
    lqt_zip_add(&z, "archive/data.pkl", pkl, n);
    lqt_zip_add(&z, "archive/data/0", storage, sizeof storage);
    lqt_zip_finish(&z);
    lqt_write_file(lqt_hostile_str(buf, "%s/pytorch_model.bin", dir), z.b, z.n);
    free(z.b);
    return dir;
}

/* 30 MB of NONE opcodes: every one a value on the stack (2.85 GB before it failed). */
static void make_pickle_nones(const char *dir, const char **args, char *buf)
{
    const size_t n = (size_t)30 << 20;
    char *pkl = malloc(n);
    assert_non_null(pkl);
    memset(pkl, 'N', n);
    pkl[0] = '\x80';
    pkl[1] = 2;
    pkl[n - 1] = '.';
    args[0] = "convert";
    args[1] = write_pt_folder(dir, buf, pkl, n);
    args[2] = "-o";
    args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
    free(pkl);
}

/* One memo entry far past the others: a memo table sized by the index would be gigabytes. */
static void make_pickle_sparse_memo(const char *dir, const char **args, char *buf)
{
    static const char pkl[] = "\x80\x02}r\xff\xff\xff\x7f.";
    args[0] = "convert";
    args[1] = write_pt_folder(dir, buf, pkl, sizeof pkl - 1);
    args[2] = "-o";
    args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
}

/* GGUF counts against the bytes left: 2^40 keys, 2^40 tensors, an array of 2^40 strings. */
static void make_gguf_counts(const char *dir, const char **args, char *buf, uint64_t n_tensors,
                             uint64_t n_kv, uint64_t arr_n)
{
    struct lqt_gguf b;
    lqt_gguf_begin(&b, n_tensors, n_kv);
    lqt_gguf_kv_str(&b, "general.architecture", "llama");
    if (arr_n) {
        lqt_gguf_kv_arr(&b, "tokenizer.ggml.tokens", LQ_GGUF_STRING, arr_n);
        lqt_gguf_str(&b, "a");
    }
    const char *path = lqt_hostile_str(buf, "%s/counts.gguf", dir);
    lqt_gguf_write(&b, path);
    args[0] = "inspect";
    args[1] = path;
}

static void make_gguf_huge_kv(const char *dir, const char **args, char *buf)
{
    make_gguf_counts(dir, args, buf, 0, (uint64_t)1 << 40, 0);
}

static void make_gguf_huge_tensors(const char *dir, const char **args, char *buf)
{
    make_gguf_counts(dir, args, buf, (uint64_t)1 << 40, 1, 0);
}

static void make_gguf_huge_array(const char *dir, const char **args, char *buf)
{
    make_gguf_counts(dir, args, buf, 0, 2, (uint64_t)1 << 40);
}

/* Cases that must finish in time. */
static const struct lqt_hostile_case timed[] = {
    {"bounds/gguf-100k-tensors-quantize", make_gguf_100k_tensors, 0, NULL, 20},
    /* refused at once since the config validation caps layers (it took 137 s to convert) */
    {"bounds/llama2c-20k-layers", make_llama2c_20k_layers, 3, "n_layers is 20000", 10},
};

/* Cases refused quickly and with little memory. */
static const struct lqt_hostile_case small[] = {
    {"bounds/llama2c-layers-past-end", make_llama2c_layers_past_end, 3, "short.bin", 10},
    {"bounds/llama2c-huge-vocab", make_llama2c_huge_vocab, 3, "vocab.bin", 10},
    {"bounds/pickle-30mb-of-none", make_pickle_nones, 3, "pytorch_model.bin:archive/data.pkl", 20},
    {"bounds/pickle-sparse-memo", make_pickle_sparse_memo, 3, "memo index", 10},
    {"bounds/gguf-2^40-keys", make_gguf_huge_kv, 3, "counts.gguf", 10},
    {"bounds/gguf-2^40-tensors", make_gguf_huge_tensors, 3, "counts.gguf", 10},
    {"bounds/gguf-array-of-2^40", make_gguf_huge_array, 3, "counts.gguf", 10},
};

static void test_hostile_bounds_time(void **state)
{
    (void)state;
    lqt_hostile_run(timed, sizeof timed / sizeof timed[0]);
}

static void test_hostile_bounds_memory(void **state)
{
    (void)state;
    lqt_hostile_run_limited(small, sizeof small / sizeof small[0], 512);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_bounds_time),
        cmocka_unit_test(test_hostile_bounds_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
