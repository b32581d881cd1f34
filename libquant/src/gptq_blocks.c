/* gptq_blocks.c - block layouts of the llama.cpp types GPTQ can target: where each weight's
 * scale, offset and code live, byte for byte as ggml-common.h lays them out. Each elem()
 * mirrors the float expression of the type's dequantizer, so a weight GPTQ decodes is the
 * weight to_float decodes. */
#include <stddef.h>
#include <string.h>

#include "gptq_impl.h"
#include "lq/fp16.h"
#include "quants/iq4.h"

static float half_at(const uint8_t *p)
{
    return lq_fp16_to_fp32((uint16_t)(p[0] | (p[1] << 8)));
}

// ---- 32-weight blocks: d (f16) [m (f16)] [qh (u32)] qs[16 or 32] ------------------------------

/* Low nibble of qs[j] holds weight j, high nibble weight j + 16. */
static void pack_nibbles16(uint8_t *qs, const uint8_t *q)
{
    for (int j = 0; j < 16; j++) {
        qs[j] = (uint8_t)((q[j] & 0xF) | ((q[j + 16] & 0xF) << 4));
    }
}

/* Bit j of the little-endian u32 qh is bit 4 of weight j's 5-bit code. */
static void pack_qh32(uint8_t *qh, const uint8_t *q)
{
    uint32_t bits = 0;
    for (int j = 0; j < 32; j++) {
        bits |= (uint32_t)((q[j] >> 4) & 1) << j;
    }
    for (int i = 0; i < 4; i++) {
        qh[i] = (uint8_t)(bits >> (8 * i));
    }
}

/* block_q4_0 (18 bytes, 4.5 bpw): d, qs[16]; w = (q - 8) * d. */
static void q4_0_elem(const uint8_t *blk, int64_t j, struct lqi_gq_elem *e)
{
    (void)j;
    *e = (struct lqi_gq_elem){ .a = half_at(blk), .b = 0.0f, .qoff = 8 };
}

static void q4_0_pack(uint8_t *blk, const uint8_t *q)
{
    pack_nibbles16(blk + 2, q);
}

/* block_q4_1 (20 bytes, 5 bpw): d, m, qs[16]; w = q * d + m. */
static void q4_1_elem(const uint8_t *blk, int64_t j, struct lqi_gq_elem *e)
{
    (void)j;
    *e = (struct lqi_gq_elem){ .a = half_at(blk), .b = half_at(blk + 2), .qoff = 0 };
}

static void q4_1_pack(uint8_t *blk, const uint8_t *q)
{
    pack_nibbles16(blk + 4, q);
}

/* block_q5_0 (22 bytes, 5.5 bpw): d, qh[4], qs[16]; w = (q - 16) * d. */
static void q5_0_elem(const uint8_t *blk, int64_t j, struct lqi_gq_elem *e)
{
    (void)j;
    *e = (struct lqi_gq_elem){ .a = half_at(blk), .b = 0.0f, .qoff = 16 };
}

static void q5_0_pack(uint8_t *blk, const uint8_t *q)
{
    pack_qh32(blk + 2, q);
    pack_nibbles16(blk + 6, q);
}

/* block_q5_1 (24 bytes, 6 bpw): d, m, qh[4], qs[16]; w = q * d + m. */
static void q5_1_elem(const uint8_t *blk, int64_t j, struct lqi_gq_elem *e)
{
    (void)j;
    *e = (struct lqi_gq_elem){ .a = half_at(blk), .b = half_at(blk + 2), .qoff = 0 };
}

static void q5_1_pack(uint8_t *blk, const uint8_t *q)
{
    pack_qh32(blk + 4, q);
    pack_nibbles16(blk + 8, q);
}

/* block_q8_0 (34 bytes, 8.5 bpw): d, int8 qs[32]; w = qs * d. Codes are qs + 128. */
static void q8_0_elem(const uint8_t *blk, int64_t j, struct lqi_gq_elem *e)
{
    (void)j;
    *e = (struct lqi_gq_elem){ .a = half_at(blk), .b = 0.0f, .qoff = 128 };
}

static void q8_0_pack(uint8_t *blk, const uint8_t *q)
{
    for (int j = 0; j < 32; j++) {
        blk[2 + j] = (uint8_t)(q[j] ^ 0x80); /* q - 128 as a two's complement byte */
    }
}

// ---- k-quants: 256-weight super-blocks ------------------------------------------------------

/* The 6-bit scale and min of sub-block s (0..7) from the 12 packed bytes (get_scale_min_k4). */
static void scale_min_k4(const uint8_t *sc, int s, int *d, int *m)
{
    if (s < 4) {
        *d = sc[s] & 63;
        *m = sc[s + 4] & 63;
    } else {
        *d = (sc[s + 4] & 0xF) | ((sc[s - 4] >> 6) << 4);
        *m = (sc[s + 4] >> 4) | ((sc[s] >> 6) << 4);
    }
}

/* Q4_K/Q5_K: weight j is in sub-block j / 32; w = (d * sc) * q - dmin * m. */
static void k_affine_elem(const uint8_t *blk, int64_t j, struct lqi_gq_elem *e)
{
    int sc, m;
    scale_min_k4(blk + 4, (int)(j / 32), &sc, &m);
    float d1 = half_at(blk) * (float)sc;
    float m1 = half_at(blk + 2) * (float)m;
    *e = (struct lqi_gq_elem){ .a = d1, .b = -m1, .qoff = 0 };
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

/* block_q4_K (144 bytes, 4.5 bpw): d, dmin, scales[12], qs[128]. */
static void q4_k_pack(uint8_t *blk, const uint8_t *q)
{
    pack_k_nibbles(blk + 16, q);
}

/* block_q5_K (176 bytes, 5.5 bpw): d, dmin, scales[12], qh[32], qs[128]; bit 4 of weights
 * 64c + l and 64c + 32 + l sits in qh[l] at bits 2c and 2c + 1. */
static void q5_k_pack(uint8_t *blk, const uint8_t *q)
{
    uint8_t *qh = blk + 16;
    for (int l = 0; l < 32; l++) {
        uint8_t h = 0;
        for (int c = 0; c < 4; c++) {
            h |= (uint8_t)(((q[64 * c + l] >> 4) & 1) << (2 * c));
            h |= (uint8_t)(((q[64 * c + 32 + l] >> 4) & 1) << (2 * c + 1));
        }
        qh[l] = h;
    }
    pack_k_nibbles(blk + 48, q);
}

/* block_q6_K (210 bytes, 6.5625 bpw): ql[128], qh[64], int8 scales[16], d. Weight j lies in
 * half h = j / 128 at t = j % 128: quarter t / 32 and lane l = t % 32 select the scale
 * 8h + l / 16 + 2 * quarter; w = (d * sc) * (q - 32). */
static void q6_k_elem(const uint8_t *blk, int64_t j, struct lqi_gq_elem *e)
{
    int64_t h = j / 128, t = j % 128;
    int8_t sc = (int8_t)blk[192 + 8 * h + (t % 32) / 16 + 2 * (t / 32)];
    *e = (struct lqi_gq_elem){ .a = half_at(blk + 208) * (float)sc, .b = 0.0f, .qoff = 32 };
}

static void q6_k_pack(uint8_t *blk, const uint8_t *q)
{
    for (int h = 0; h < 2; h++) {
        const uint8_t *L = q + 128 * h;
        uint8_t *ql = blk + 64 * h, *qh = blk + 128 + 32 * h;
        for (int l = 0; l < 32; l++) {
            ql[l] = (uint8_t)((L[l] & 0xF) | ((L[l + 64] & 0xF) << 4));
            ql[l + 32] = (uint8_t)((L[l + 32] & 0xF) | ((L[l + 96] & 0xF) << 4));
            qh[l] = (uint8_t)((L[l] >> 4) | ((L[l + 32] >> 4) << 2) | ((L[l + 64] >> 4) << 4) |
                              ((L[l + 96] >> 4) << 6));
        }
    }
}

// ---- 4-bit non-linear: codes index lqi_iq4_levels ---------------------------------------

/* block_iq4_nl (18 bytes, 4.5 bpw): d, qs[16] packed as q4_0; w = d * level[q]. */
static void iq4_nl_elem(const uint8_t *blk, int64_t j, struct lqi_gq_elem *e)
{
    (void)j;
    *e = (struct lqi_gq_elem){ .a = half_at(blk), .levels = lqi_iq4_levels };
}

static void iq4_nl_pack(uint8_t *blk, const uint8_t *q)
{
    pack_nibbles16(blk + 2, q);
}

/* block_iq4_xs (136 bytes, 4.25 bpw): d, scales_h, scales_l[4], qs[128]; weight j is in
 * sub-block j / 32, w = (d * (ls - 32)) * level[q] as dequantize_row_iq4_xs computes it. */
static void iq4_xs_elem(const uint8_t *blk, int64_t j, struct lqi_gq_elem *e)
{
    const block_iq4_xs *b = (const block_iq4_xs *)blk;
    const float dl = half_at(blk) * (float)lqi_iq4_xs_scale(b, (int)(j / 32));
    *e = (struct lqi_gq_elem){ .a = dl, .levels = lqi_iq4_levels };
}

static void iq4_xs_pack(uint8_t *blk, const uint8_t *q)
{
    for (int ib = 0; ib < 8; ib++) {
        pack_nibbles16(blk + offsetof(block_iq4_xs, qs) + 16 * ib, q + 32 * ib);
    }
}

// ---- table --------------------------------------------------------------------------------

static const struct lqi_gq_block_ops block_ops[] = {
    { LQ_TYPE_Q4_0, 15, q4_0_elem, q4_0_pack },
    { LQ_TYPE_Q4_1, 15, q4_1_elem, q4_1_pack },
    { LQ_TYPE_Q5_0, 31, q5_0_elem, q5_0_pack },
    { LQ_TYPE_Q5_1, 31, q5_1_elem, q5_1_pack },
    { LQ_TYPE_Q8_0, 255, q8_0_elem, q8_0_pack },
    { LQ_TYPE_Q4_K, 15, k_affine_elem, q4_k_pack },
    { LQ_TYPE_Q5_K, 31, k_affine_elem, q5_k_pack },
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
