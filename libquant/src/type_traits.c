/* type_traits.c - the one type table (ggml numbering) and lookups over it. */
#include "lq/types.h"

#include <string.h>
#include <strings.h>

#include "lq/fp16.h"
#include "lqi.h"
#include "quants/iq2_rows.h"
#include "quants/iq3.h"
#include "quants/iq4.h"
#include "quants/kquant_rows.h"
#include "quants/legacy_rows.h"
#include "quants/mxfp4.h"
#include "quants/ternary.h"

// ---- plain float and integer types ------------------------------------------------------

static void f32_to_float(const void *restrict x, float *restrict y, int64_t k)
{
    memcpy(y, x, (size_t)k * sizeof(float));
}

static void f32_from_float(const float *restrict x, void *restrict y, int64_t k)
{
    memcpy(y, x, (size_t)k * sizeof(float));
}

static void f16_to_float(const void *restrict x, float *restrict y, int64_t k)
{
    lq_fp16_to_fp32_row(x, y, k);
}

static void f16_from_float(const float *restrict x, void *restrict y, int64_t k)
{
    lq_fp32_to_fp16_row(x, y, k);
}

static void bf16_to_float(const void *restrict x, float *restrict y, int64_t k)
{
    lq_bf16_to_fp32_row(x, y, k);
}

static void bf16_from_float(const float *restrict x, void *restrict y, int64_t k)
{
    lq_fp32_to_bf16_row(x, y, k);
}

static void f64_to_float(const void *restrict x, float *restrict y, int64_t k)
{
    const unsigned char *p = x;
    for (int64_t i = 0; i < k; i++) {
        double d;
        memcpy(&d, p + 8 * i, sizeof d);
        y[i] = (float)d;
    }
}

#define FLOAT_ROW(nm, sz, tf, ff)                                                          \
    { .name = nm, .blck_size = 1, .type_size = sz, .is_quantized = false, .to_float = tf,  \
      .from_float_ref = ff, .from_float = ff }
#define INT_ROW(nm, sz) { .name = nm, .blck_size = 1, .type_size = sz, .is_quantized = false }
#define KNOWN_ROW(nm, bs, sz) { .name = nm, .blck_size = bs, .type_size = sz, .is_quantized = true }
#define TOMBSTONE { .name = "DEPRECATED", .blck_size = 0, .type_size = 0 }

// ---- the table --------------------------------------------------------------------------

/* KNOWN_ROW types are known by size only, so files holding them open, inspect and copy
 * correctly; libquant does not compute with them. */
static const struct lq_type_traits lq_traits[LQ_TYPE_COUNT] = {
    [LQ_TYPE_F32] = FLOAT_ROW("f32", 4, f32_to_float, f32_from_float),
    [LQ_TYPE_F16] = FLOAT_ROW("f16", 2, f16_to_float, f16_from_float),
    [4] = TOMBSTONE,
    [5] = TOMBSTONE,
    LQ_LEGACY_TRAITS_ROWS
    LQ_KQUANT_TRAITS_ROWS
    LQ_IQ2_TRAITS_ROWS
    [LQ_TYPE_IQ4_NL] = LQI_LEGACY_ROW(iq4_nl, block_iq4_nl, LQ_TYPE_Q8_0, lqi_vec_dot_iq4_nl_q8_0,
                                      lqi_vec_dot_multi_iq4_nl_q8_0),
    [LQ_TYPE_IQ4_XS] =
        LQI_KQUANT_ROW(iq4_xs, "iq4_xs", sizeof(block_iq4_xs), lqi_vec_dot_multi_iq4_xs_q8_K),
    [LQ_TYPE_IQ3_XXS] = LQI_KQUANT_ROW(iq3_xxs, "iq3_xxs", sizeof(block_iq3_xxs),
                                       lqi_vec_dot_multi_iq3_xxs_q8_K),
    [LQ_TYPE_IQ3_S] =
        LQI_KQUANT_ROW(iq3_s, "iq3_s", sizeof(block_iq3_s), lqi_vec_dot_multi_iq3_s_q8_K),
    [LQ_TYPE_I8] = INT_ROW("i8", 1),
    [LQ_TYPE_I16] = INT_ROW("i16", 2),
    [LQ_TYPE_I32] = INT_ROW("i32", 4),
    [LQ_TYPE_I64] = INT_ROW("i64", 8),
    [LQ_TYPE_F64] = { .name = "f64", .blck_size = 1, .type_size = 8, .to_float = f64_to_float },
    [LQ_TYPE_BF16] = FLOAT_ROW("bf16", 2, bf16_to_float, bf16_from_float),
    [31] = TOMBSTONE,
    [32] = TOMBSTONE,
    [33] = TOMBSTONE,
    [LQ_TYPE_TQ1_0] =
        LQI_KQUANT_ROW(tq1_0, "tq1_0", sizeof(block_tq1_0), lqi_vec_dot_multi_tq1_0_q8_K),
    [LQ_TYPE_TQ2_0] =
        LQI_KQUANT_ROW(tq2_0, "tq2_0", sizeof(block_tq2_0), lqi_vec_dot_multi_tq2_0_q8_K),
    [36] = TOMBSTONE,
    [37] = TOMBSTONE,
    [38] = TOMBSTONE,
    [LQ_TYPE_MXFP4] = LQI_LEGACY_ROW(mxfp4, block_mxfp4, LQ_TYPE_Q8_0, lqi_vec_dot_mxfp4_q8_0,
                                     lqi_vec_dot_multi_mxfp4_q8_0),
    [LQ_TYPE_NVFP4] = KNOWN_ROW("nvfp4", 64, 36),
    [LQ_TYPE_Q1_0] = KNOWN_ROW("q1_0", 128, 18),
};

// ---- lookups ----------------------------------------------------------------------------

const struct lq_type_traits *lq_type_traits_get(int type)
{
    if (type < 0 || type >= LQ_TYPE_COUNT || lq_traits[type].blck_size == 0) {
        return NULL;
    }
    return &lq_traits[type];
}

const char *lq_type_name(int type)
{
    const struct lq_type_traits *t = lq_type_traits_get(type);
    return t ? t->name : "unknown";
}

lq_status lq_type_from_name(const char *name, enum lq_type *out, struct lq_error *err)
{
    LQ_FAIL_IF(!name || !out, err, LQ_E_INVALID_ARG, "type name: NULL argument");
    for (int i = 0; i < LQ_TYPE_COUNT; i++) {
        if (lq_traits[i].blck_size && strcasecmp(lq_traits[i].name, name) == 0) {
            *out = (enum lq_type)i;
            return LQ_OK;
        }
    }
    return lqi_set_error(err, LQ_E_NOT_FOUND, "unknown tensor type '%s'", name);
}

size_t lq_row_size(int type, int64_t n)
{
    const struct lq_type_traits *t = lq_type_traits_get(type);
    if (!t || n < 0 || n % t->blck_size != 0) {
        return 0;
    }
    return (size_t)(n / t->blck_size) * t->type_size;
}

double lq_type_bpw(int type)
{
    const struct lq_type_traits *t = lq_type_traits_get(type);
    return t ? (double)t->type_size * 8.0 / (double)t->blck_size : 0.0;
}
