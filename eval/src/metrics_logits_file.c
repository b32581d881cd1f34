/* metrics_logits_file.c - the base log-prob file (layout in lq/metrics.h): written with one
 * zlib stream per chunk, read back with every size checked against the file; llama.cpp's
 * uncompressed "_logits_" files are read too. */
#include "lq/metrics.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "lq/file_io.h"
#include "lqi.h"

#define LQ_LOGITS_MAGIC "LQLOGITS"
#define LLAMA_LOGITS_MAGIC "_logits_"
#define LQ_LOGITS_VERSION 1
#define HEADER_SIZE 32

struct lq_logits_file {
    FILE *fp;
    lq_out *out; /* writing: the temporary file, renamed onto path by lq_logits_close */
    char *path;
    bool writing;
    struct lq_logits_info info;
    int64_t chunk;       /* chunks read or written so far */
    uint64_t file_size;  /* when reading */
    int32_t *tokens;
    size_t row_bytes;    /* n_scored rows, uncompressed */
    unsigned char *zbuf; /* compression buffer */
    size_t zcap;
};

void lq_logits_free(lq_logits_file *f)
{
    if (!f) {
        return;
    }
    if (f->fp) {
        fclose(f->fp);
    }
    lq_out_abort(f->out); /* an unfinished file never appears under its name */
    lqi_free(f->path);
    lqi_free(f->tokens);
    lqi_free(f->zbuf);
    lqi_free(f);
}

const struct lq_logits_info *lq_logits_get_info(const lq_logits_file *f)
{
    return &f->info;
}

const int32_t *lq_logits_tokens(const lq_logits_file *f)
{
    return f->tokens;
}

/* Checks dimensions and sizes the token and row buffers. */
static lq_status setup(lq_logits_file *f, struct lq_error *err)
{
    struct lq_logits_info *in = &f->info;
    LQ_FAIL_IF(in->n_ctx < 4 || in->n_ctx > (1 << 24) || in->n_vocab < 1 ||
                   in->n_vocab > ((int64_t)1 << 31) - 8 || in->n_chunk < 1 ||
                   in->n_chunk > (1 << 24),
               err, LQ_E_FORMAT, "%s: bad dimensions (n_ctx %lld, n_vocab %lld, %lld chunks)",
               f->path, (long long)in->n_ctx, (long long)in->n_vocab, (long long)in->n_chunk);
    in->n_scored = in->n_ctx - 1 - in->n_ctx / 2;
    f->row_bytes = (size_t)in->n_scored * lq_logprob_row_len(in->n_vocab) * sizeof(uint16_t);
    f->tokens = lqi_malloc((size_t)(in->n_chunk * in->n_ctx) * sizeof(int32_t));
    LQ_FAIL_IF(!f->tokens, err, LQ_E_NOMEM, "%s: out of memory for %lld tokens", f->path,
               (long long)(in->n_chunk * in->n_ctx));
    return LQ_OK;
}

/* Writing goes to a temporary file (lq_out) until lq_logits_close; reading opens through
 * lq_input_open (no hang on a FIFO, nothing but a regular file). */
static lq_status open_fp(lq_logits_file *f, struct lq_error *err)
{
    int fd;
    if (f->writing) {
        LQ_TRY(lq_out_open(f->path, &f->out, err));
        fd = dup(lq_out_fd(f->out));
    } else {
        LQ_TRY(lq_input_open(f->path, false, &fd, err));
    }
    f->fp = fd >= 0 ? fdopen(fd, f->writing ? "wb" : "rb") : NULL;
    if (!f->fp && fd >= 0) {
        close(fd);
    }
    LQ_FAIL_IF(!f->fp, err, LQ_E_IO, "%s: cannot open for %s", f->path,
               f->writing ? "writing" : "reading");
    return LQ_OK;
}

static lq_status new_file(const char *path, bool writing, lq_logits_file **out,
                          struct lq_error *err)
{
    *out = lqi_calloc(1, sizeof **out);
    LQ_FAIL_IF(!*out, err, LQ_E_NOMEM, "%s: out of memory", path);
    (*out)->writing = writing;
    (*out)->path = lqi_strdup(path);
    LQ_FAIL_IF(!(*out)->path, err, LQ_E_NOMEM, "%s: out of memory", path);
    return open_fp(*out, err);
}

// ---- writing ------------------------------------------------------------------------------

static lq_status write_bytes(lq_logits_file *f, const void *p, size_t n, struct lq_error *err)
{
    LQ_FAIL_IF(fwrite(p, 1, n, f->fp) != n, err, LQ_E_IO, "%s: write failed", f->path);
    return LQ_OK;
}

static lq_status write_header(lq_logits_file *f, struct lq_error *err)
{
    unsigned char h[HEADER_SIZE] = { 0 };
    memcpy(h, LQ_LOGITS_MAGIC, 8);
    lqi_wr_u32(h + 8, LQ_LOGITS_VERSION);
    lqi_wr_u32(h + 12, (uint32_t)f->info.n_ctx);
    lqi_wr_u32(h + 16, (uint32_t)f->info.n_vocab);
    lqi_wr_u32(h + 20, (uint32_t)f->info.n_chunk);
    lqi_wr_u32(h + 24, (uint32_t)f->info.n_scored);
    LQ_TRY(write_bytes(f, h, sizeof h, err));
    const int64_t n = f->info.n_chunk * f->info.n_ctx;
    for (int64_t i = 0; i < n; i++) {
        unsigned char b[4];
        lqi_wr_u32(b, (uint32_t)f->tokens[i]);
        LQ_TRY(write_bytes(f, b, 4, err));
    }
    return LQ_OK;
}

lq_status lq_logits_create(const char *path, int64_t n_ctx, int64_t n_vocab, int64_t n_chunk,
                           const int32_t *tokens, lq_logits_file **out, struct lq_error *err)
{
    LQ_FAIL_IF(!path || !tokens || !out, err, LQ_E_INVALID_ARG, "logits file: NULL argument");
    lq_logits_file *f = NULL;
    lq_status rc = new_file(path, true, &f, err);
    if (rc == LQ_OK) {
        f->info = (struct lq_logits_info){ .n_ctx = n_ctx, .n_vocab = n_vocab,
                                           .n_chunk = n_chunk };
        rc = setup(f, err);
    }
    if (rc == LQ_OK) {
        memcpy(f->tokens, tokens, (size_t)(n_chunk * n_ctx) * sizeof(int32_t));
        f->zcap = compressBound((uLong)f->row_bytes);
        f->zbuf = lqi_malloc(f->zcap);
        rc = f->zbuf ? write_header(f, err)
                     : lqi_set_error(err, LQ_E_NOMEM, "%s: out of memory", path);
    }
    if (rc != LQ_OK) {
        lq_logits_free(f);
        f = NULL;
    }
    *out = f;
    return rc;
}

/* Splits rows into two byte planes (all low bytes, then all high bytes): zlib finds the
 * structure of the high bytes only when they sit together. */
static void rows_to_planes(const uint16_t *rows, unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        b[i] = (unsigned char)(rows[i] & 0xff);
        b[n + i] = (unsigned char)(rows[i] >> 8);
    }
}

lq_status lq_logits_write_chunk(lq_logits_file *f, const uint16_t *rows, struct lq_error *err)
{
    LQ_FAIL_IF(!f || !f->writing || !rows, err, LQ_E_INVALID_ARG, "logits file: bad arguments");
    LQ_FAIL_IF(f->chunk >= f->info.n_chunk, err, LQ_E_INVALID_ARG,
               "%s: all %lld chunks already written", f->path, (long long)f->info.n_chunk);
    unsigned char *planes = lqi_malloc(f->row_bytes);
    LQ_FAIL_IF(!planes, err, LQ_E_NOMEM, "%s: out of memory", f->path);
    rows_to_planes(rows, planes, f->row_bytes / 2);
    uLongf zlen = (uLongf)f->zcap;
    const int zrc = compress2(f->zbuf, &zlen, planes, (uLong)f->row_bytes, 1);
    lqi_free(planes);
    LQ_FAIL_IF(zrc != Z_OK, err, LQ_E_IO, "%s: zlib compression failed (%d)", f->path, zrc);
    unsigned char b[8];
    lqi_wr_u64(b, (uint64_t)zlen);
    LQ_TRY(write_bytes(f, b, 8, err));
    LQ_TRY(write_bytes(f, f->zbuf, zlen, err));
    f->chunk++;
    return LQ_OK;
}

lq_status lq_logits_finish(lq_logits_file *f, struct lq_error *err)
{
    LQ_FAIL_IF(!f || !f->writing, err, LQ_E_INVALID_ARG, "logits file: not open for writing");
    lq_status rc = LQ_OK;
    if (f->chunk != f->info.n_chunk) {
        rc = lqi_set_error(err, LQ_E_INVALID_ARG, "%s: %lld of %lld chunks written", f->path,
                           (long long)f->chunk, (long long)f->info.n_chunk);
    }
    const int crc = fclose(f->fp);
    f->fp = NULL;
    if (rc == LQ_OK && crc != 0) {
        rc = lqi_set_error(err, LQ_E_IO, "%s: write failed on close", f->path);
    }
    if (rc == LQ_OK) {
        lq_out *o = f->out;
        f->out = NULL;
        rc = lq_out_commit(o, err);
    }
    lq_logits_free(f);
    return rc;
}

// ---- reading ------------------------------------------------------------------------------

static lq_status read_bytes(lq_logits_file *f, void *p, size_t n, const char *what,
                            struct lq_error *err)
{
    const long off = ftell(f->fp);
    LQ_FAIL_IF(fread(p, 1, n, f->fp) != n, err, LQ_E_FORMAT,
               "%s: file ends inside %s (offset %ld, %zu bytes wanted)", f->path, what, off, n);
    return LQ_OK;
}

/* Reads either header; leaves the file at the tokens. */
static lq_status read_header(lq_logits_file *f, struct lq_error *err)
{
    unsigned char h[HEADER_SIZE];
    LQ_TRY(read_bytes(f, h, 8, "the header", err));
    if (memcmp(h, LLAMA_LOGITS_MAGIC, 8) == 0) {
        LQ_TRY(read_bytes(f, h + 8, 12, "the header", err));
        f->info.llama_cpp = true;
        f->info.n_ctx = lqi_rd_u32(h + 8);
        f->info.n_vocab = (int32_t)lqi_rd_u32(h + 12);
        f->info.n_chunk = (int32_t)lqi_rd_u32(h + 16);
        return LQ_OK;
    }
    LQ_FAIL_IF(memcmp(h, LQ_LOGITS_MAGIC, 8) != 0, err, LQ_E_FORMAT,
               "%s: not a log-prob file (bad magic at offset 0)", f->path);
    LQ_TRY(read_bytes(f, h + 8, HEADER_SIZE - 8, "the header", err));
    LQ_FAIL_IF(lqi_rd_u32(h + 8) != LQ_LOGITS_VERSION, err, LQ_E_UNSUPPORTED,
               "%s: version %u at offset 8 (only %d is known)", f->path, lqi_rd_u32(h + 8),
               LQ_LOGITS_VERSION);
    f->info.n_ctx = lqi_rd_u32(h + 12);
    f->info.n_vocab = lqi_rd_u32(h + 16);
    f->info.n_chunk = lqi_rd_u32(h + 20);
    const int64_t n_scored = lqi_rd_u32(h + 24);
    LQ_FAIL_IF(n_scored != f->info.n_ctx - 1 - f->info.n_ctx / 2, err, LQ_E_FORMAT,
               "%s: %lld scored rows per chunk at offset 24, n_ctx %lld needs %lld", f->path,
               (long long)n_scored, (long long)f->info.n_ctx,
               (long long)(f->info.n_ctx - 1 - f->info.n_ctx / 2));
    return LQ_OK;
}

static lq_status read_tokens(lq_logits_file *f, struct lq_error *err)
{
    const int64_t n = f->info.n_chunk * f->info.n_ctx;
    const uint64_t need = (uint64_t)n * 4 + (f->info.llama_cpp ? 20 : HEADER_SIZE);
    LQ_FAIL_IF(need > f->file_size, err, LQ_E_FORMAT,
               "%s: %lld tokens need %llu bytes, the file has %llu", f->path, (long long)n,
               (unsigned long long)need, (unsigned long long)f->file_size);
    unsigned char *b = (unsigned char *)f->tokens;
    LQ_TRY(read_bytes(f, b, (size_t)n * 4, "the tokens", err));
    for (int64_t i = 0; i < n; i++) {
        f->tokens[i] = (int32_t)lqi_rd_u32(b + 4 * i);
        LQ_FAIL_IF(f->tokens[i] < 0 || f->tokens[i] >= f->info.n_vocab, err, LQ_E_FORMAT,
                   "%s: token %lld is %d, outside the vocabulary of %lld", f->path, (long long)i,
                   (int)f->tokens[i], (long long)f->info.n_vocab);
    }
    return LQ_OK;
}

lq_status lq_logits_open(const char *path, lq_logits_file **out, struct lq_error *err)
{
    LQ_FAIL_IF(!path || !out, err, LQ_E_INVALID_ARG, "logits file: NULL argument");
    lq_logits_file *f = NULL;
    lq_status rc = new_file(path, false, &f, err);
    struct stat sb;
    if (rc == LQ_OK && fstat(fileno(f->fp), &sb) != 0) {
        rc = lqi_set_error(err, LQ_E_IO, "%s: cannot stat", path);
    }
    if (rc == LQ_OK) {
        f->file_size = (uint64_t)sb.st_size;
        rc = read_header(f, err);
    }
    if (rc == LQ_OK) {
        rc = setup(f, err);
    }
    if (rc == LQ_OK) {
        rc = read_tokens(f, err);
    }
    if (rc != LQ_OK) {
        lq_logits_free(f);
        f = NULL;
    }
    *out = f;
    return rc;
}

static void rows_from_le(uint16_t *rows, size_t n)
{
    const unsigned char *b = (const unsigned char *)rows;
    for (size_t i = 0; i < n; i++) {
        rows[i] = lqi_rd_u16(b + 2 * i);
    }
}

static void rows_from_planes(const unsigned char *b, uint16_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rows[i] = (uint16_t)(b[i] | (b[n + i] << 8));
    }
}

/* One zlib-compressed chunk: its size (checked against the file), then the stream. */
static lq_status read_compressed(lq_logits_file *f, uint16_t *rows, struct lq_error *err)
{
    unsigned char b[8];
    LQ_TRY(read_bytes(f, b, 8, "a chunk size", err));
    const uint64_t zlen = lqi_rd_u64(b);
    const long off = ftell(f->fp);
    LQ_FAIL_IF(off < 0 || zlen > f->file_size - (uint64_t)off, err, LQ_E_FORMAT,
               "%s: chunk %lld claims %llu bytes at offset %ld, past the end", f->path,
               (long long)f->chunk, (unsigned long long)zlen, off);
    if (f->zcap < zlen) {
        unsigned char *z = lqi_realloc(f->zbuf, (size_t)zlen);
        LQ_FAIL_IF(!z, err, LQ_E_NOMEM, "%s: out of memory", f->path);
        f->zbuf = z;
        f->zcap = (size_t)zlen;
    }
    LQ_TRY(read_bytes(f, f->zbuf, (size_t)zlen, "a chunk", err));
    unsigned char *planes = lqi_malloc(f->row_bytes);
    LQ_FAIL_IF(!planes, err, LQ_E_NOMEM, "%s: out of memory", f->path);
    uLongf len = (uLongf)f->row_bytes;
    const int zrc = uncompress(planes, &len, f->zbuf, (uLong)zlen);
    if (zrc == Z_OK && len == f->row_bytes) {
        rows_from_planes(planes, rows, f->row_bytes / 2);
    }
    lqi_free(planes);
    LQ_FAIL_IF(zrc != Z_OK || len != f->row_bytes, err, LQ_E_FORMAT,
               "%s: chunk %lld at offset %ld does not decompress to %zu bytes (zlib %d)",
               f->path, (long long)f->chunk, off, f->row_bytes, zrc);
    return LQ_OK;
}

lq_status lq_logits_read_chunk(lq_logits_file *f, uint16_t *rows, struct lq_error *err)
{
    LQ_FAIL_IF(!f || f->writing || !rows, err, LQ_E_INVALID_ARG, "logits file: bad arguments");
    LQ_FAIL_IF(f->chunk >= f->info.n_chunk, err, LQ_E_INVALID_ARG, "%s: all %lld chunks read",
               f->path, (long long)f->info.n_chunk);
    if (f->info.llama_cpp) {
        LQ_TRY(read_bytes(f, rows, f->row_bytes, "a chunk", err));
        rows_from_le(rows, f->row_bytes / 2);
    } else {
        LQ_TRY(read_compressed(f, rows, err));
    }
    f->chunk++;
    return LQ_OK;
}
