/* gptq_blocks.c - the llama.cpp block types GPTQ can target, read and written through the
 * types' own block structs (quants/blocks.h, kblocks.h, iq4.h: ggml-common.h's layouts): each
 * elem() mirrors the float expression of the type's dequantizer, so a weight GPTQ decodes is
 * the weight to_float decodes; each pack() stores the codes where the type keeps them. */
#include <stddef.h>
#include <string.h>

#include "gptq_impl.h"
#include "lq/fp16.h"
#include "quants/blocks.h"
#include "quants/iq4.h"
#include "quants/kquant_common.h"

static float half(uint16_t h)
{
    return lq_fp16_to_fp32(h);
}

// ---- 32-weight blocks: d [m] [qh] qs ---------------------------------------------------------

/* Low nibble of qs[j] holds weight j, high nibble weight j + 16. */
static void pack_nibbles16(uint8_t *qs, const uint8_t *q)
{
    for (int j = 0; j < 16; j++) {
        qs[j] = (uint8_t)((q[j] & 0xF) | ((q[j + 16] & 0xF) << 4));
    }
}

/* Bit j of the little-endian u32 qh is bit 4 of weight j's 5-bit code. */
static void pack_qh32(uint8_t qh[4], const uint8_t *q)
{
    uint32_t bits = 0;
    for (int j = 0; j < 32; j++) {
        bits |= (uint32_t)((q[j] >> 4) & 1) << j;
    }
    for (int i = 0; i < 4; i++) {
        qh[i] = (uint8_t)(bits >> (8 * i));
    }
}

/* block_q4_0: w = (q - 8) * d. */
static void q4_0_elem(const uint8_t *blk, int64_t j, struct lqi_gq_elem *e)
{
    (void)j;
    const block_q4_0 *b = (const block_q4_0 *)blk;
    *e = (struct lqi_gq_elem){ .a = half(b->d), .b = 0.0f, .qoff = 8 };
}

static void q4_0_pack(uint8_t *blk, const uint8_t *q)
{
    pack_nibbles16(((block_q4_0 *)blk)->qs, q);
}

/* block_q4_1: w = q * d + m. */
static void q4_1_elem(const uint8_t *blk, int64_t j, struct lqi_gq_elem *e)
{
    (void)j;
    const block_q4_1 *b = (const block_q4_1 *)blk;
    *e = (struct lqi_gq_elem){ .a = half(b->d), .b = half(b->m), .qoff = 0 };
}

static void q4_1_pack(uint8_t *blk, const uint8_t *q)
{
    pack_nibbles16(((block_q4_1 *)blk)->qs, q);
}

/* block_q5_0: w = (q - 16) * d. */
static void q5_0_elem(const uint8_t *blk, int64_t j, struct lqi_gq_elem *e)
{
    (void)j;
    const block_q5_0 *b = (const block_q5_0 *)blk;
    *e = (struct lqi_gq_elem){ .a = half(b->d), .b = 0.0f, .qoff = 16 };
}

static void q5_0_pack(uint8_t *blk, const uint8_t *q)
{
    block_q5_0 *b = (block_q5_0 *)blk;
    pack_qh32(b->qh, q);
    pack_nibbles16(b->qs, q);
}

/* block_q5_1: w = q * d + m. */
static void q5_1_elem(const uint8_t *blk, int64_t j, struct lqi_gq_elem *e)
{
    (void)j;
    const block_q5_1 *b = (const block_q5_1 *)blk;
    *e = (struct lqi_gq_elem){ .a = half(b->d), .b = half(b->m), .qoff = 0 };
}

static void q5_1_pack(uint8_t *blk, const uint8_t *q)
{
    block_q5_1 *b = (block_q5_1 *)blk;
    pack_qh32(b->qh, q);
    pack_nibbles16(b->qs, q);
}

/* block_q8_0: w = qs * d. Codes are qs + 128. */
static void q8_0_elem(const uint8_t *blk, int64_t j, struct lqi_gq_elem *e)
{
    (void)j;
    const block_q8_0 *b = (const block_q8_0 *)blk;
    *e = (struct lqi_gq_elem){ .a = half(b->d), .b = 0.0f, .qoff = 128 };
}

static void q8_0_pack(uint8_t *blk, const uint8_t *q)
{
    block_q8_0 *b = (block_q8_0 *)blk;
    for (int j = 0; j < QK8_0; j++) {
        b->qs[j] = (int8_t)(q[j] - 128); /* q - 128 as a two's complement byte */
    }
}

// ---- k-quants: 256-weight super-blocks ------------------------------------------------------

/* Q4_K/Q5_K (the same d, dmin and scales fields): weight j is in sub-block j / 32;
 * w = (d * sc) * q - dmin * m. */
static void k_affine_elem(uint16_t d, uint16_t dmin, const uint8_t *scales, int64_t j,
                          struct lqi_gq_elem *e)
{
    uint8_t sc, m;
    lqi_get_scale_min_k4((int)(j / 32), scales, &sc, &m);
    const float d1 = half(d) * (float)sc;
    const float m1 = half(dmin) * (float)m;
    *e = (struct lqi_gq_elem){ .a = d1, .b = -m1, .qoff = 0 };
}

static void q4_k_elem(const uint8_t *blk, int64_t j, struct lqi_gq_elem *e)
{
    const block_q4_K *b = (const block_q4_K *)blk;
    k_affine_elem(b->d, b->dmin, b->scales, j, e);
}

static void q5_k_elem(const uint8_t *blk, int64_t j, struct lqi_gq_elem *e)
{
    const block_q5_K *b = (const block_q5_K *)blk;
    k_affine_elem(b->d, b->dmin, b->scales, j, e);
}

/* Within each 64-weight chunk c, qs[32c + l] holds weight 64c + l (low nibble) and
 * 64c + 32 + l (high nibble). */
static void pack_k_nibbles(uint8_t *qs, const uint8_t *q)
{
    for (int c = 0; c < 4; c++) {
        for (int l = 0; l < 32; l++) {
            qs[32 * c + l] = (uint8_t)((q[64 * c + l] & 0xF) | ((q[64 * c + 32 + l] & 0xF) << 4));
        }
    }
}

static void q4_k_pack(uint8_t *blk, const uint8_t *q)
{
    pack_k_nibbles(((block_q4_K *)blk)->qs, q);
}

/* block_q5_K: bit 4 of weights 64c + l and 64c + 32 + l sits in qh[l] at bits 2c and 2c + 1. */
static void q5_k_pack(uint8_t *blk, const uint8_t *q)
{
    block_q5_K *b = (block_q5_K *)blk;
    for (int l = 0; l < 32; l++) {
        uint8_t h = 0;
        for (int c = 0; c < 4; c++) {
            h |= (uint8_t)(((q[64 * c + l] >> 4) & 1) << (2 * c));
            h |= (uint8_t)(((q[64 * c + 32 + l] >> 4) & 1) << (2 * c + 1));
        }
        b->qh[l] = h;
    }
    pack_k_nibbles(b->qs, q);
}

/* block_q6_K: weight j lies in half h = j / 128 at t = j % 128: quarter t / 32 and lane
 * l = t % 32 select the scale 8h + l / 16 + 2 * quarter; w = (d * sc) * (q - 32). */
static void q6_k_elem(const uint8_t *blk, int64_t j, struct lqi_gq_elem *e)
{
    const block_q6_K *b = (const block_q6_K *)blk;
    const int64_t h = j / 128, t = j % 128;
    const int8_t sc = b->scales[8 * h + (t % 32) / 16 + 2 * (t / 32)];
    *e = (struct lqi_gq_elem){ .a = half(b->d) * (float)sc, .b = 0.0f, .qoff = 32 };
}

static void q6_k_pack(uint8_t *blk, const uint8_t *q)
{
    block_q6_K *b = (block_q6_K *)blk;
    for (int h = 0; h < 2; h++) {
        const uint8_t *L = q + 128 * h;
        uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
        for (int l = 0; l < 32; l++) {
            ql[l] = (uint8_t)((L[l] & 0xF) | ((L[l + 64] & 0xF) << 4));
            ql[l + 32] = (uint8_t)((L[l + 32] & 0xF) | ((L[l + 96] & 0xF) << 4));
            qh[l] = (uint8_t)((L[l] >> 4) | ((L[l + 32] >> 4) << 2) | ((L[l + 64] >> 4) << 4) |
                              ((L[l + 96] >> 4) << 6));
        }
    }
}

// ---- 4-bit non-linear: codes index lqi_iq4_levels ---------------------------------------

/* block_iq4_nl (packed as q4_0): w = d * level[q]. */
static void iq4_nl_elem(const uint8_t *blk, int64_t j, struct lqi_gq_elem *e)
{
    (void)j;
    const block_iq4_nl *b = (const block_iq4_nl *)blk;
    *e = (struct lqi_gq_elem){ .a = half(b->d), .levels = lqi_iq4_levels };
}

static void iq4_nl_pack(uint8_t *blk, const uint8_t *q)
{
    pack_nibbles16(((block_iq4_nl *)blk)->qs, q);
}

/* block_iq4_xs: weight j is in sub-block j / 32, w = (d * (ls - 32)) * level[q] as
 * dequantize_row_iq4_xs computes it. */
static void iq4_xs_elem(const uint8_t *blk, int64_t j, struct lqi_gq_elem *e)
{
    const block_iq4_xs *b = (const block_iq4_xs *)blk;
    const float dl = half(b->d) * (float)lqi_iq4_xs_scale(b, (int)(j / 32));
    *e = (struct lqi_gq_elem){ .a = dl, .levels = lqi_iq4_levels };
}

static void iq4_xs_pack(uint8_t *blk, const uint8_t *q)
{
    block_iq4_xs *b = (block_iq4_xs *)blk;
    for (int ib = 0; ib < 8; ib++) {
        pack_nibbles16(b->qs + 16 * ib, q + 32 * ib);
    }
}

// ---- table --------------------------------------------------------------------------------

static const struct lqi_gq_block_ops block_ops[] = {
    { LQ_TYPE_Q4_0, 15, q4_0_elem, q4_0_pack },
    { LQ_TYPE_Q4_1, 15, q4_1_elem, q4_1_pack },
    { LQ_TYPE_Q5_0, 31, q5_0_elem, q5_0_pack },
    { LQ_TYPE_Q5_1, 31, q5_1_elem, q5_1_pack },
    { LQ_TYPE_Q8_0, 255, q8_0_elem, q8_0_pack },
    { LQ_TYPE_Q4_K, 15, q4_k_elem, q4_k_pack },
    { LQ_TYPE_Q5_K, 31, q5_k_elem, q5_k_pack },
    { LQ_TYPE_Q6_K, 63, q6_k_elem, q6_k_pack },
    { LQ_TYPE_IQ4_NL, 15, iq4_nl_elem, iq4_nl_pack },
    { LQ_TYPE_IQ4_XS, 15, iq4_xs_elem, iq4_xs_pack },
};

const struct lqi_gq_block_ops *lqi_gq_block_ops(enum lq_type type)
{
    for (size_t i = 0; i < sizeof block_ops / sizeof block_ops[0]; i++) {
        if (block_ops[i].type == type) {
            return &block_ops[i];
        }
    }
    return NULL;
}
