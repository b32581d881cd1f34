/* gguf_tensors.c - GGUF tensor infos: parsing, then validation of shapes, types, sizes
 * and data placement (aligned, inside the file, not overlapping). */
#include "gguf_impl.h"

#include <stdlib.h>
#include <string.h>

// ---- parsing ----

static lq_status read_dims(struct lqi_gguf_parser *ps, struct lq_gguf_tensor_info *ti)
{
    uint64_t at = ps->pos;
    LQ_TRY(lqi_gguf_rd_u32(ps, "n_dims", &ti->n_dims));
    if (ti->n_dims > LQ_GGUF_MAX_DIMS) {
        return lqi_gguf_fail(ps, at, LQ_E_FORMAT, "n_dims %u is more than %d", ti->n_dims,
                             LQ_GGUF_MAX_DIMS);
    }
    for (uint32_t j = 0; j < LQ_GGUF_MAX_DIMS; j++) {
        uint64_t ne = 1;
        at = ps->pos;
        if (j < ti->n_dims) {
            LQ_TRY(lqi_gguf_rd_count(ps, "ne", &ne));
        }
        /* ggml stores dims as int64: a value past INT64_MAX is a negative dimension */
        if (ne > (uint64_t)INT64_MAX) {
            return lqi_gguf_fail(ps, at, LQ_E_FORMAT, "ne[%u] = %lld is negative", j,
                                 (long long)(int64_t)ne);
        }
        ti->ne[j] = (int64_t)ne;
    }
    return LQ_OK;
}

static lq_status read_tensor_info(struct lqi_gguf_parser *ps, int64_t id)
{
    struct lq_gguf *g = ps->g;
    struct lqi_gguf_tensor *t = &g->tensors[id];
    struct lq_gguf_str name;
    t->info_pos = ps->pos;
    ps->what = "";
    LQ_TRY(lqi_gguf_rd_str(ps, "tensor name", &name));
    lqi_gguf_set_what(ps, "tensor", &name);
    if (memchr(name.s, '\0', (size_t)name.len)) {
        return lqi_gguf_fail(ps, t->info_pos, LQ_E_FORMAT, "tensor name contains a NUL byte");
    }
    int64_t first = lqi_name_index_insert(&g->tensor_index, name.s, (size_t)name.len, id);
    if (first >= 0) {
        return lqi_gguf_fail(ps, t->info_pos, LQ_E_FORMAT,
                             "duplicate tensor name (first at offset %llu)",
                             (unsigned long long)g->tensors[first].info_pos);
    }
    t->info.name = name.s;
    t->name_len = name.len;
    LQ_TRY(read_dims(ps, &t->info));
    uint64_t at = ps->pos;
    uint32_t type;
    LQ_TRY(lqi_gguf_rd_u32(ps, "tensor type", &type));
    if (!lq_type_traits_get(type < LQ_TYPE_COUNT ? (int)type : -1)) {
        return lqi_gguf_fail(ps, at, LQ_E_FORMAT, "unknown or retired tensor type %u", type);
    }
    t->info.type = (enum lq_type)type;
    return lqi_gguf_rd_u64(ps, "tensor offset", &t->info.offset);
}

// ---- validation ----

/* Element count (overflow-checked in int64) and byte size of a tensor. */
static lq_status check_size(struct lqi_gguf_parser *ps, struct lqi_gguf_tensor *t)
{
    struct lq_gguf_tensor_info *ti = &t->info;
    const struct lq_type_traits *tr = lq_type_traits_get(ti->type);
    const int64_t *ne = ti->ne;
    int64_t nel = 1;
    for (int j = 0; j < LQ_GGUF_MAX_DIMS; j++) {
        if (__builtin_mul_overflow(nel, ne[j], &nel)) {
            return lqi_gguf_fail(ps, t->info_pos, LQ_E_FORMAT,
                                 "element count of [%lld, %lld, %lld, %lld] overflows int64",
                                 (long long)ne[0], (long long)ne[1], (long long)ne[2],
                                 (long long)ne[3]);
        }
    }
    if (ne[0] % tr->blck_size != 0) {
        return lqi_gguf_fail(ps, t->info_pos, LQ_E_FORMAT,
                             "row length ne[0] = %lld is not a multiple of the %s block size %lld",
                             (long long)ne[0], tr->name, (long long)tr->blck_size);
    }
    uint64_t nb = (uint64_t)(ne[0] / tr->blck_size);
    bool over = lqi_mul_overflow_u64(nb, tr->type_size, &nb);
    for (int j = 1; j < LQ_GGUF_MAX_DIMS; j++) {
        over = over || lqi_mul_overflow_u64(nb, (uint64_t)ne[j], &nb);
    }
    if (over || nb > SIZE_MAX) {
        return lqi_gguf_fail(ps, t->info_pos, LQ_E_FORMAT, "byte size overflows");
    }
    ti->nbytes = (size_t)nb;
    return LQ_OK;
}

/* Aligned offset and data inside the file. */
static lq_status check_place(struct lqi_gguf_parser *ps, struct lqi_gguf_tensor *t)
{
    struct lq_gguf *g = ps->g;
    struct lq_gguf_tensor_info *ti = &t->info;
    if (ti->offset % g->alignment != 0) {
        return lqi_gguf_fail(ps, t->info_pos, LQ_E_FORMAT,
                             "data offset %llu is not a multiple of the alignment %llu",
                             (unsigned long long)ti->offset, (unsigned long long)g->alignment);
    }
    uint64_t start, end;
    if (lqi_add_overflow_u64(g->data_offset, ti->offset, &start) ||
        lqi_add_overflow_u64(start, ti->nbytes, &end) || (ti->nbytes > 0 && end > g->size)) {
        return lqi_gguf_fail(ps, t->info_pos, LQ_E_FORMAT,
                             "data offset %llu + %zu bytes is past the end of the file "
                             "(data section at %llu, file size %llu)",
                             (unsigned long long)ti->offset, ti->nbytes,
                             (unsigned long long)g->data_offset, (unsigned long long)g->size);
    }
    ti->file_offset = start;
    /* an empty tensor may sit at the end of the padded header, past a short file */
    ti->data = start <= g->size ? g->data + start : NULL;
    return LQ_OK;
}

struct span {
    uint64_t start, end;
    int64_t id;
};

static int cmp_span(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    if (x->start != y->start) {
        return x->start < y->start ? -1 : 1;
    }
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Sorts the non-empty tensors by offset: each must end before the next begins. */
static lq_status check_overlap(struct lqi_gguf_parser *ps)
{
    struct lq_gguf *g = ps->g;
    struct span *s = lqi_calloc((size_t)g->n_tensors, sizeof *s);
    if (!s) {
        return lqi_gguf_fail(ps, ps->pos, LQ_E_NOMEM, "out of memory");
    }
    size_t n = 0;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        const struct lq_gguf_tensor_info *ti = &g->tensors[i].info;
        if (ti->nbytes > 0) {
            s[n++] = (struct span){ti->offset, ti->offset + ti->nbytes, i};
        }
    }
    qsort(s, n, sizeof *s, cmp_span);
    lq_status rc = LQ_OK;
    for (size_t i = 1; i < n && rc == LQ_OK; i++) {
        if (s[i].start < s[i - 1].end) {
            struct lqi_gguf_tensor *a = &g->tensors[s[i - 1].id], *b = &g->tensors[s[i].id];
            struct lq_gguf_str name = {b->info.name, b->name_len};
            lqi_gguf_set_what(ps, "tensor", &name);
            rc = lqi_gguf_fail(ps, b->info_pos, LQ_E_FORMAT,
                               "data [%llu, %llu) overlaps tensor '%.96s' [%llu, %llu)",
                               (unsigned long long)s[i].start, (unsigned long long)s[i].end,
                               a->info.name, (unsigned long long)s[i - 1].start,
                               (unsigned long long)s[i - 1].end);
        }
    }
    lqi_free(s);
    return rc;
}

lq_status lqi_gguf_read_tensors(struct lqi_gguf_parser *ps)
{
    struct lq_gguf *g = ps->g;
    size_t n = (size_t)g->n_tensors;
    g->tensors = lqi_calloc(n, sizeof *g->tensors);
    if (!g->tensors || !lqi_name_index_init(&g->tensor_index, n)) {
        return lqi_gguf_fail(ps, ps->pos, LQ_E_NOMEM, "cannot allocate %zu tensor infos", n);
    }
    for (int64_t i = 0; i < g->n_tensors; i++) {
        LQ_TRY(read_tensor_info(ps, i));
    }
    ps->what = "";
    /* pos <= size, so rounding up overflows only for a file within `alignment` of 2^64 */
    uint64_t a = g->alignment;
    if (lqi_add_overflow_u64(ps->pos, a - 1, &g->data_offset)) {
        return lqi_gguf_fail(ps, ps->pos, LQ_E_FORMAT, "data section offset overflows");
    }
    g->data_offset &= ~(a - 1);
    for (int64_t i = 0; i < g->n_tensors; i++) {
        struct lqi_gguf_tensor *t = &g->tensors[i];
        struct lq_gguf_str name = {t->info.name, t->name_len};
        lqi_gguf_set_what(ps, "tensor", &name);
        LQ_TRY(check_size(ps, t));
        LQ_TRY(check_place(ps, t));
    }
    ps->what = "";
    return check_overlap(ps);
}
