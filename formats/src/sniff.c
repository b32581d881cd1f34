/* sniff.c - telling model file formats apart by their first bytes and size. */
#include "lq/sniff.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lq/file_io.h"
#include "lq/safetensors.h"
#include "lqi.h"

#define SNIFF_HEAD 32

const char *lq_file_kind_name(enum lq_file_kind kind)
{
    switch (kind) {
    case LQ_FILE_UNKNOWN:
        return "unknown";
    case LQ_FILE_GGUF:
        return "gguf";
    case LQ_FILE_SAFETENSORS:
        return "safetensors";
    case LQ_FILE_HF_DIR:
        return "hf-dir";
    case LQ_FILE_LLAMA2C:
        return "llama2c";
    case LQ_FILE_PYTORCH_ZIP:
        return "pytorch-zip";
    case LQ_FILE_HF_DIR_PYTORCH:
        return "hf-dir-pytorch";
    }
    return "unknown";
}

// ---- llama2.c --------------------------------------------------------------------------

/* acc += a * b; true on overflow. */
static bool mac(uint64_t *acc, uint64_t a, uint64_t b)
{
    uint64_t p;
    return lqi_mul_overflow_u64(a, b, &p) || lqi_add_overflow_u64(*acc, p, acc);
}

/* Float count of a legacy llama2.c checkpoint (run.c's memory_map_weights): embedding,
 * per-layer norms and projections, final norm, the RoPE tables freq_cis_real/imag
 * (seq_len x head_size/2 each), and the classifier when not shared. 0 when implausible or
 * when it overflows. */
static uint64_t llama2c_floats(const int32_t c[7])
{
    int64_t dim = c[0], hidden = c[1], nl = c[2], nh = c[3], nkv = c[4], seq = c[6];
    int64_t vocab = c[5] < 0 ? -(int64_t)c[5] : c[5];
    if (dim <= 0 || hidden <= 0 || nl <= 0 || nh <= 0 || nkv <= 0 || vocab <= 0 || seq <= 0 ||
        dim % nh != 0 || nkv > nh || nh % nkv != 0 || (dim / nh) % 2 != 0) {
        return 0;
    }
    uint64_t d = (uint64_t)dim, hs = d / (uint64_t)nh, kv = (uint64_t)nkv * hs;
    uint64_t layer = 0, n = 0;
    bool over = mac(&layer, 2, d) || mac(&layer, 2 * d, d) || mac(&layer, 2 * d, kv) ||
                mac(&layer, 3 * d, (uint64_t)hidden) || mac(&n, layer, (uint64_t)nl) ||
                mac(&n, (uint64_t)vocab, d) || mac(&n, 1, d) || mac(&n, (uint64_t)seq, hs) ||
                (c[5] < 0 && mac(&n, (uint64_t)vocab, d));
    return over ? 0 : n;
}

static bool is_llama2c(const unsigned char *head, size_t n, uint64_t file_size, const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (n < 28 || len < 4 || strcmp(name + len - 4, ".bin") != 0) {
        return false;
    }
    int32_t c[7];
    for (int i = 0; i < 7; i++) {
        c[i] = (int32_t)lqi_rd_u32(head + 4 * i);
    }
    uint64_t floats = llama2c_floats(c), bytes;
    return floats && !lqi_mul_overflow_u64(floats, 4, &bytes) && bytes + 28 == file_size;
}

// ---- files -----------------------------------------------------------------------------

enum lq_file_kind lq_sniff_bytes(const void *head_, size_t n, uint64_t file_size, const char *name)
{
    const unsigned char *head = head_;
    if (!head) {
        return LQ_FILE_UNKNOWN;
    }
    if (n >= 4 && memcmp(head, "GGUF", 4) == 0) {
        return LQ_FILE_GGUF;
    }
    if (n >= 4 && memcmp(head, "PK\x03\x04", 4) == 0) {
        return LQ_FILE_PYTORCH_ZIP;
    }
    if (n >= 9 && file_size >= 8) {
        uint64_t hn = lqi_rd_u64(head);
        if (hn <= LQ_ST_MAX_HEADER_SIZE && hn <= file_size - 8 && head[8] == '{') {
            return LQ_FILE_SAFETENSORS;
        }
    }
    return is_llama2c(head, n, file_size, name) ? LQ_FILE_LLAMA2C : LQ_FILE_UNKNOWN;
}

static lq_status sniff_file(const char *path, enum lq_file_kind *kind, struct lq_error *err)
{
    int fd;
    LQ_TRY(lq_input_open(path, false, &fd, err));
    unsigned char head[SNIFF_HEAD];
    struct stat sb;
    lq_status rc = LQ_OK;
    ssize_t got = pread(fd, head, sizeof head, 0);
    if (got < 0 || fstat(fd, &sb) != 0) {
        rc = lqi_set_error(err, LQ_E_IO, "%s: cannot read: %s", path, strerror(errno));
    } else {
        const char *base = strrchr(path, '/');
        *kind = lq_sniff_bytes(head, (size_t)got, (uint64_t)sb.st_size, base ? base + 1 : path);
    }
    close(fd);
    return rc;
}

// ---- folders ---------------------------------------------------------------------------

/* A member the folder holds; a planted link or FIFO there is refused, not skipped. */
static lq_status has_file(const char *dir, const char *name, bool *has, struct lq_error *err)
{
    char path[4096];
    return lq_input_member(dir, name, path, sizeof path, has, err);
}

static lq_status sniff_dir(const char *dir, enum lq_file_kind *kind, struct lq_error *err)
{
    static const struct {
        const char *file;
        enum lq_file_kind kind;
    } weights[] = {
        {"model.safetensors", LQ_FILE_HF_DIR},
        {"model.safetensors.index.json", LQ_FILE_HF_DIR},
        {"pytorch_model.bin", LQ_FILE_HF_DIR_PYTORCH},
        {"pytorch_model.bin.index.json", LQ_FILE_HF_DIR_PYTORCH},
    };
    bool has;
    LQ_TRY(has_file(dir, "config.json", &has, err));
    for (size_t i = 0; has && i < sizeof weights / sizeof weights[0]; i++) {
        bool w;
        LQ_TRY(has_file(dir, weights[i].file, &w, err));
        if (w) {
            *kind = weights[i].kind;
            return LQ_OK;
        }
    }
    return LQ_OK;
}

lq_status lq_sniff_path(const char *path, enum lq_file_kind *kind, struct lq_error *err)
{
    LQ_FAIL_IF(!path || !kind, err, LQ_E_INVALID_ARG, "lq_sniff_path: bad arguments");
    *kind = LQ_FILE_UNKNOWN;
    struct stat sb;
    LQ_FAIL_IF(stat(path, &sb) != 0, err, errno == ENOENT ? LQ_E_NOT_FOUND : LQ_E_IO,
               "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) {
        return sniff_dir(path, kind, err);
    }
    return sniff_file(path, kind, err);
}
