/* llama2c.c - llama2.c checkpoints: header validation, exact-size check, and GGUF-named F32
 * views carved out of the mapping the way run.c walks its pointer. */
#include "lq/llama2c.h"

#include <stdio.h>
#include <string.h>

#include "file_map.h"
#include "lqi.h"

#define HEADER_BYTES 28
#define AK42_MAGIC 0x616b3432u /* export.py's versioned formats */
#define NAME_MAX_LEN 64

/* The weight arrays in file order. */
enum seg {
    SEG_EMB, SEG_RMS_ATT, SEG_WQ, SEG_WK, SEG_WV, SEG_WO, SEG_RMS_FFN, SEG_W1, SEG_W2, SEG_W3,
    SEG_RMS_FINAL, SEG_FREQ_REAL, SEG_FREQ_IMAG, SEG_WCLS, SEG_COUNT
};

struct segment {
    const char *gguf;  /* GGUF name (per layer: the part after "blk.N.") */
    bool per_layer;
    int64_t ne0, ne1;  /* one layer's shape, GGUF order */
    uint64_t start;    /* in floats from the end of the header */
};

struct lq_llama2c {
    struct lqi_file_map map;
    char *path;
    struct lq_llama2c_config cfg;
    int64_t n_t;
    struct lq_llama2c_tensor *t;
    char (*names)[NAME_MAX_LEN];
};

// ---- header ----

static lq_status read_config(const lq_llama2c *m, struct lq_llama2c_config *c,
                             struct lq_error *err)
{
    const unsigned char *p = m->map.data;
    LQ_FAIL_IF(m->map.size < HEADER_BYTES, err, LQ_E_FORMAT,
               "%s: %llu bytes, shorter than the 28-byte llama2.c header", m->path,
               (unsigned long long)m->map.size);
    LQ_FAIL_IF(lqi_rd_u32(p) == AK42_MAGIC, err, LQ_E_UNSUPPORTED,
               "%s: a versioned llama2.c export (magic \"ak42\"); only the legacy run.c "
               "format is supported", m->path);
    int32_t h[7];
    for (int i = 0; i < 7; i++) {
        h[i] = (int32_t)lqi_rd_u32(p + 4 * i);
    }
    *c = (struct lq_llama2c_config){ .dim = h[0], .hidden_dim = h[1], .n_layers = h[2],
                                     .n_heads = h[3], .n_kv_heads = h[4], .seq_len = h[6] };
    c->shared_classifier = h[5] > 0;
    c->vocab_size = h[5] > 0 ? h[5] : (h[5] == INT32_MIN ? 0 : -h[5]);
    /* the header's fields in file order; vocab_size is negative for an unshared classifier */
    static const char *const fields[7] = { "dim",        "hidden_dim", "n_layers", "n_heads",
                                           "n_kv_heads", "vocab_size", "seq_len" };
    for (int i = 0; i < 7; i++) {
        bool bad = i == 5 ? c->vocab_size <= 0 : h[i] <= 0;
        LQ_FAIL_IF(bad, err, LQ_E_FORMAT,
                   "%s: llama2.c header field %s (bytes %d..%d) is %d, must be %s (not a "
                   "llama2.c checkpoint?)",
                   m->path, fields[i], 4 * i, 4 * i + 3, h[i], i == 5 ? "non-zero" : "> 0");
    }
    LQ_FAIL_IF(c->dim % c->n_heads != 0 || c->n_heads % c->n_kv_heads != 0, err, LQ_E_FORMAT,
               "%s: llama2.c header fields dim %d, n_heads %d, n_kv_heads %d: dim must "
               "divide into n_heads and n_heads into n_kv_heads", m->path, c->dim, c->n_heads, c->n_kv_heads);
    c->head_size = c->dim / c->n_heads;
    c->kv_dim = c->n_kv_heads * c->head_size;
    return LQ_OK;
}

/* Lays out the segments as run.c's memory_map_weights walks them; *total receives the
 * number of floats. Counts are products of positive int32s, so they are checked. */
static lq_status layout(const lq_llama2c *m, struct segment *s, uint64_t *total,
                        struct lq_error *err)
{
    const struct lq_llama2c_config *c = &m->cfg;
    int64_t d = c->dim, hid = c->hidden_dim, kv = c->kv_dim, v = c->vocab_size;
    const struct segment def[SEG_COUNT] = {
        [SEG_EMB] = { "token_embd.weight", false, d, v, 0 },
        [SEG_RMS_ATT] = { "attn_norm.weight", true, d, 1, 0 },
        [SEG_WQ] = { "attn_q.weight", true, d, d, 0 },
        [SEG_WK] = { "attn_k.weight", true, d, kv, 0 },
        [SEG_WV] = { "attn_v.weight", true, d, kv, 0 },
        [SEG_WO] = { "attn_output.weight", true, d, d, 0 },
        [SEG_RMS_FFN] = { "ffn_norm.weight", true, d, 1, 0 },
        [SEG_W1] = { "ffn_gate.weight", true, d, hid, 0 },
        [SEG_W2] = { "ffn_down.weight", true, hid, d, 0 },
        [SEG_W3] = { "ffn_up.weight", true, d, hid, 0 },
        [SEG_RMS_FINAL] = { "output_norm.weight", false, d, 1, 0 },
        /* run.c skips seq_len * head_size / 2 floats for each table */
        [SEG_FREQ_REAL] = { NULL, false, (int64_t)c->seq_len * c->head_size / 2, 1, 0 },
        [SEG_FREQ_IMAG] = { NULL, false, (int64_t)c->seq_len * c->head_size / 2, 1, 0 },
        [SEG_WCLS] = { "output.weight", false, c->shared_classifier ? 0 : d, v, 0 },
    };
    uint64_t off = 0;
    for (int i = 0; i < SEG_COUNT; i++) {
        s[i] = def[i];
        s[i].start = off;
        uint64_t n;
        bool ovf = lqi_mul_overflow_u64((uint64_t)s[i].ne0, (uint64_t)s[i].ne1, &n);
        ovf |= s[i].per_layer && lqi_mul_overflow_u64(n, (uint64_t)c->n_layers, &n);
        ovf |= lqi_add_overflow_u64(off, n, &off);
        LQ_FAIL_IF(ovf, err, LQ_E_RANGE, "%s: header sizes overflow 64 bits", m->path);
    }
    *total = off;
    return LQ_OK;
}

static lq_status check_size(const lq_llama2c *m, uint64_t floats, struct lq_error *err)
{
    uint64_t want;
    LQ_FAIL_IF(lqi_mul_overflow_u64(floats, 4, &want) ||
                   lqi_add_overflow_u64(want, HEADER_BYTES, &want),
               err, LQ_E_RANGE, "%s: header sizes overflow 64 bits", m->path);
    LQ_FAIL_IF(m->map.size != want, err, LQ_E_FORMAT,
               "%s: header {dim %d, hidden %d, layers %d, heads %d, kv heads %d, vocab %d%s, "
               "seq %d} implies %llu bytes, file has %llu (%s)",
               m->path, m->cfg.dim, m->cfg.hidden_dim, m->cfg.n_layers, m->cfg.n_heads,
               m->cfg.n_kv_heads, m->cfg.vocab_size, m->cfg.shared_classifier ? "" : " unshared",
               m->cfg.seq_len, (unsigned long long)want, (unsigned long long)m->map.size,
               m->map.size < want ? "truncated" : "trailing bytes");
    return LQ_OK;
}

// ---- tensors ----

static void add_view(lq_llama2c *m, const struct segment *s, int32_t layer)
{
    struct lq_llama2c_tensor *t = &m->t[m->n_t];
    char *name = m->names[m->n_t];
    if (s->per_layer) {
        snprintf(name, NAME_MAX_LEN, "blk.%d.%s", layer, s->gguf);
    } else {
        snprintf(name, NAME_MAX_LEN, "%s", s->gguf);
    }
    uint64_t n = (uint64_t)s->ne0 * (uint64_t)s->ne1;
    uint64_t first = s->start + (s->per_layer ? (uint64_t)layer * n : 0);
    *t = (struct lq_llama2c_tensor){
        .name = name, .type = LQ_TYPE_F32, .n_dims = s->ne1 == 1 ? 1 : 2,
        .ne = { s->ne0, s->ne1, 1, 1 }, .file_offset = HEADER_BYTES + first * 4,
        .nbytes = (size_t)(n * 4),
    };
    t->data = (const float *)(m->map.data + t->file_offset);
    m->n_t++;
}

static lq_status build_views(lq_llama2c *m, const struct segment *s, struct lq_error *err)
{
    static const enum seg layer_order[] = { SEG_RMS_ATT, SEG_WQ, SEG_WK, SEG_WV, SEG_WO,
                                            SEG_RMS_FFN, SEG_W1, SEG_W2, SEG_W3 };
    const int per_layer = (int)(sizeof layer_order / sizeof *layer_order);
    int64_t n = 3 + (int64_t)m->cfg.n_layers * per_layer;
    m->t = lqi_calloc((size_t)n, sizeof *m->t);
    m->names = lqi_calloc((size_t)n, sizeof *m->names);
    LQ_FAIL_IF(!m->t || !m->names, err, LQ_E_NOMEM, "%s: out of memory", m->path);
    add_view(m, &s[SEG_EMB], 0);
    add_view(m, &s[SEG_RMS_FINAL], 0);
    if (!m->cfg.shared_classifier) {
        add_view(m, &s[SEG_WCLS], 0);
    }
    for (int32_t l = 0; l < m->cfg.n_layers; l++) {
        for (int i = 0; i < per_layer; i++) {
            add_view(m, &s[layer_order[i]], l);
        }
    }
    return LQ_OK;
}

// ---- public ----

static lq_status load(lq_llama2c *m, struct lq_error *err)
{
    struct segment s[SEG_COUNT];
    uint64_t floats = 0;
    LQ_TRY(lqi_file_map_open(m->path, &m->map, err));
    LQ_TRY(read_config(m, &m->cfg, err));
    LQ_TRY(layout(m, s, &floats, err));
    LQ_TRY(check_size(m, floats, err));
    return build_views(m, s, err);
}

lq_status lq_llama2c_open(const char *path, lq_llama2c **out, struct lq_error *err)
{
    LQ_FAIL_IF(!out || !path, err, LQ_E_INVALID_ARG, "llama2c: NULL path or out");
    *out = NULL;
    lq_llama2c *m = lqi_calloc(1, sizeof *m);
    LQ_FAIL_IF(!m, err, LQ_E_NOMEM, "%s: out of memory", path);
    m->path = lqi_strdup(path);
    lq_status rc = m->path ? load(m, err)
                           : lqi_set_error(err, LQ_E_NOMEM, "%s: out of memory", path);
    if (rc != LQ_OK) {
        lq_llama2c_free(m);
        return rc;
    }
    *out = m;
    return LQ_OK;
}

void lq_llama2c_free(lq_llama2c *m)
{
    if (!m) {
        return;
    }
    lqi_file_map_close(&m->map);
    lqi_free(m->t);
    lqi_free(m->names);
    lqi_free(m->path);
    lqi_free(m);
}

const struct lq_llama2c_config *lq_llama2c_config(const lq_llama2c *m)
{
    return m ? &m->cfg : NULL;
}

int64_t lq_llama2c_n_tensors(const lq_llama2c *m)
{
    return m ? m->n_t : 0;
}

const struct lq_llama2c_tensor *lq_llama2c_tensor(const lq_llama2c *m, int64_t id)
{
    return m && id >= 0 && id < m->n_t ? &m->t[id] : NULL;
}

int64_t lq_llama2c_find_tensor(const lq_llama2c *m, const char *name)
{
    for (int64_t i = 0; m && name && i < m->n_t; i++) {
        if (strcmp(m->t[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}
