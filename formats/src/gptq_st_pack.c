/* gptq_st_pack.c - AutoGPTQ v1 packing: runs of 32 values as little-endian bit streams of
 * 32 * bits bits, value j at bit bits * j (3-bit values 10 and 21 straddle two words). */
#include "lq/gptq_st.h"

#include <string.h>

#include "lq/fp16.h"
#include "lqi.h"

lq_status lq_gptq_layout_check(const struct lq_gptq_layout *l, struct lq_error *err)
{
    LQ_FAIL_IF(!l, err, LQ_E_INVALID_ARG, "gptq layout: NULL");
    LQ_FAIL_IF(l->bits != 2 && l->bits != 3 && l->bits != 4 && l->bits != 8, err,
               LQ_E_UNSUPPORTED, "gptq layout: %d bits (2, 3, 4 or 8)", l->bits);
    LQ_FAIL_IF(l->group_size != -1 && l->group_size < 1, err, LQ_E_INVALID_ARG,
               "gptq layout: group size %lld", (long long)l->group_size);
    LQ_FAIL_IF(l->nrows < 32 || l->ncols < 32 || l->nrows > INT32_MAX || l->ncols > INT32_MAX,
               err, LQ_E_UNSUPPORTED, "gptq layout: %lld x %lld layer too small or too large",
               (long long)l->nrows, (long long)l->ncols);
    LQ_FAIL_IF(l->nrows % 32 || l->ncols % 32, err, LQ_E_UNSUPPORTED,
               "gptq layout: %lld x %lld is not a multiple of 32 in both dimensions",
               (long long)l->nrows, (long long)l->ncols);
    return LQ_OK;
}

static int64_t n_groups(const struct lq_gptq_layout *l)
{
    return l->group_size == -1 ? 1 : (l->ncols + l->group_size - 1) / l->group_size;
}

void lq_gptq_layout_shapes(const struct lq_gptq_layout *l, int64_t qweight[2],
                           int64_t qzeros[2], int64_t scales[2])
{
    qweight[0] = l->ncols / 32 * l->bits;
    qweight[1] = l->nrows;
    qzeros[0] = n_groups(l);
    qzeros[1] = l->nrows / 32 * l->bits;
    scales[0] = n_groups(l);
    scales[1] = l->nrows;
}

// ---- bit streams --------------------------------------------------------------------------------

/* Word index (within a run's `bits` words) and shift of value j's low bit. */
static void stream_pos(int bits, int64_t j, int64_t *word, int *shift)
{
    int64_t pos = (int64_t)bits * j;
    *word = pos / 32;
    *shift = (int)(pos % 32);
}

/* ORs value v into the stream of value j; words are `stride` int32 apart. */
static void put_value(unsigned char *base, int64_t stride, int bits, int64_t j, uint32_t v)
{
    int64_t wi;
    int sh;
    stream_pos(bits, j, &wi, &sh);
    unsigned char *p = base + 4 * wi * stride;
    lqi_wr_u32(p, lqi_rd_u32(p) | (v << sh));
    if (sh + bits > 32) {
        p += 4 * stride;
        lqi_wr_u32(p, lqi_rd_u32(p) | (v >> (32 - sh)));
    }
}

static uint32_t get_value(const unsigned char *base, int64_t stride, int bits, int64_t j)
{
    int64_t wi;
    int sh;
    stream_pos(bits, j, &wi, &sh);
    const unsigned char *p = base + 4 * wi * stride;
    uint64_t v = lqi_rd_u32(p) >> sh;
    if (sh + bits > 32) {
        v |= (uint64_t)lqi_rd_u32(p + 4 * stride) << (32 - sh);
    }
    return (uint32_t)v & ((1u << bits) - 1);
}

// ---- pack ---------------------------------------------------------------------------------------

/* Scales to F16 and zero - 1 packed along the output dimension. */
static lq_status pack_groups(const struct lq_gptq_result *res, const struct lq_gptq_layout *l,
                             struct lq_gptq_tensors *out, struct lq_error *err)
{
    int64_t ng = n_groups(l), zw = l->nrows / 32 * l->bits;
    unsigned maxq = (1u << l->bits) - 1;
    memset(out->qzeros, 0, (size_t)(ng * zw) * 4);
    for (int64_t g = 0; g < ng; g++) {
        unsigned char *zrow = (unsigned char *)out->qzeros + 4 * g * zw;
        for (int64_t r = 0; r < l->nrows; r++) {
            int32_t z = res->zeros[g * l->nrows + r];
            LQ_FAIL_IF(z < 1 || (uint32_t)z > maxq, err, LQ_E_RANGE,
                       "gptq pack: group %lld row %lld: zero point %d does not fit v1 "
                       "(1..%u)", (long long)g, (long long)r, (int)z, maxq);
            put_value(zrow + 4 * (r / 32 * l->bits), 1, l->bits, r % 32, (uint32_t)(z - 1));
            lqi_wr_u16((unsigned char *)out->scales + 2 * (g * l->nrows + r),
                       lq_fp32_to_fp16(res->scales[g * l->nrows + r]));
        }
    }
    return LQ_OK;
}

lq_status lq_gptq_pack(const struct lq_gptq_result *res, const struct lq_gptq_layout *l,
                       struct lq_gptq_tensors *out, struct lq_error *err)
{
    LQ_TRY(lq_gptq_layout_check(l, err));
    LQ_FAIL_IF(!res || !res->q || !res->scales || !res->zeros || !res->g_idx || !out ||
                   !out->qweight || !out->qzeros || !out->scales || !out->g_idx,
               err, LQ_E_INVALID_ARG, "gptq pack: NULL buffer");
    int64_t nr = l->nrows, nc = l->ncols;
    unsigned maxq = (1u << l->bits) - 1;
    memset(out->qweight, 0, (size_t)(nc / 32 * l->bits * nr) * 4);
    for (int64_t c = 0; c < nc; c++) {
        /* words of input run c / 32 start at row (c / 32) * bits of qweight */
        unsigned char *run = (unsigned char *)out->qweight + 4 * (c / 32 * l->bits) * nr;
        for (int64_t r = 0; r < nr; r++) {
            uint32_t q = res->q[r * nc + c];
            LQ_FAIL_IF(q > maxq, err, LQ_E_RANGE, "gptq pack: code %u at row %lld column %lld "
                       "exceeds %d bits", q, (long long)r, (long long)c, l->bits);
            put_value(run + 4 * r, nr, l->bits, c % 32, q);
        }
        lqi_wr_u32((unsigned char *)out->g_idx + 4 * c, (uint32_t)res->g_idx[c]);
    }
    return pack_groups(res, l, out, err);
}

// ---- dequantize ---------------------------------------------------------------------------------

lq_status lq_gptq_st_dequantize(const struct lq_gptq_tensors *t,
                                const struct lq_gptq_layout *l, float *out,
                                struct lq_error *err)
{
    LQ_TRY(lq_gptq_layout_check(l, err));
    LQ_FAIL_IF(!t || !t->qweight || !t->qzeros || !t->scales || !t->g_idx || !out, err,
               LQ_E_INVALID_ARG, "gptq dequantize: NULL buffer");
    int64_t nr = l->nrows, nc = l->ncols, ng = n_groups(l), zw = nr / 32 * l->bits;
    const unsigned char *qw = t->qweight, *qz = t->qzeros, *sc = t->scales, *gi = t->g_idx;
    for (int64_t c = 0; c < nc; c++) {
        int64_t g = (int32_t)lqi_rd_u32(gi + 4 * c);
        LQ_FAIL_IF(g < 0 || g >= ng, err, LQ_E_FORMAT,
                   "gptq dequantize: g_idx[%lld] = %lld outside [0, %lld)", (long long)c,
                   (long long)g, (long long)ng);
        const unsigned char *run = qw + 4 * (c / 32 * l->bits) * nr;
        const unsigned char *zrow = qz + 4 * g * zw;
        for (int64_t r = 0; r < nr; r++) {
            int q = (int)get_value(run + 4 * r, nr, l->bits, c % 32);
            int z = (int)get_value(zrow + 4 * (r / 32 * l->bits), 1, l->bits, r % 32) + 1;
            float s = lq_fp16_to_fp32(lqi_rd_u16(sc + 2 * (g * nr + r)));
            out[r * nc + c] = s * (float)(q - z);
        }
    }
    return LQ_OK;
}
