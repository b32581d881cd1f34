/* gptq_grid.c - the grids GPTQ rounds weights to: AutoGPTQ's integer scale/zero per group,
 * and the blocks of llama.cpp types, whose scales the type's reference quantizer chooses. */
#include <math.h>
#include <string.h>

#include "gptq_impl.h"
#include "lq/fp16.h"
#include "lqi.h"

// ---- integer grid -------------------------------------------------------------------------

/* The F16 value nearest s, kept positive and finite so that weights stay decodable. */
static float f16_scale(float s)
{
    float h = lq_fp16_to_fp32(lq_fp32_to_fp16(s));
    if (h <= 0.0f) {
        return lq_fp16_to_fp32(0x0001); /* 2^-24: the group's weights all round to zero */
    }
    return isinf(h) ? 65504.0f : h;
}

/* AutoGPTQ's Quantizer.find_params for one row of a group: min/max including 0, symmetric
 * widening, a [-1, 1] range for all-zero groups; the zero point rounds half to even as
 * torch.round does. The scale is rounded to F16 before the zero point is derived from it. */
void lqi_gq_int_fix(void *ctx, int64_t r, int64_t g, const float *x, int64_t len)
{
    struct lqi_gq_int_ctx *c = ctx;
    float xmin = 0.0f, xmax = 0.0f;
    for (int64_t j = 0; j < len; j++) {
        xmin = x[j] < xmin ? x[j] : xmin;
        xmax = x[j] > xmax ? x[j] : xmax;
    }
    if (c->sym) {
        xmax = -xmin > xmax ? -xmin : xmax;
        if (xmin < 0.0f) {
            xmin = -xmax;
        }
    }
    if (xmin == 0.0f && xmax == 0.0f) {
        xmin = -1.0f;
        xmax = 1.0f;
    }
    float s = f16_scale((xmax - xmin) / (float)c->maxq);
    int z = (c->maxq + 1) / 2;
    if (!c->sym) {
        float zf = nearbyintf(-xmin / s);
        float lo = c->v1_zeros ? 1.0f : 0.0f;
        zf = zf < lo ? lo : zf;
        z = (int)(zf > (float)c->maxq ? (float)c->maxq : zf);
    }
    c->scales[g * c->nrows + r] = s;
    c->zeros[g * c->nrows + r] = z;
}

void lqi_gq_int_elem(const void *ctx, int64_t r, int64_t g, int64_t j, struct lqi_gq_elem *e)
{
    const struct lqi_gq_int_ctx *c = ctx;
    (void)j;
    e->a = c->scales[g * c->nrows + r];
    e->b = 0.0f;
    e->qoff = c->zeros[g * c->nrows + r];
    e->levels = NULL;
}

// ---- GGUF block grid ----------------------------------------------------------------------

/* Runs the type's reference quantizer on the block's current weights: it sets the block's
 * scales (and mins) exactly as llama.cpp would; its codes are overwritten by pack later. */
void lqi_gq_gguf_fix(void *ctx, int64_t r, int64_t g, const float *x, int64_t len)
{
    struct lqi_gq_gguf_ctx *c = ctx;
    (void)len;
    c->from_float_ref(x, c->blocks + (size_t)r * c->row_size + (size_t)g * c->type_size,
                      c->blck);
}

void lqi_gq_gguf_elem(const void *ctx, int64_t r, int64_t g, int64_t j, struct lqi_gq_elem *e)
{
    const struct lqi_gq_gguf_ctx *c = ctx;
    c->ops->elem(c->blocks + (size_t)r * c->row_size + (size_t)g * c->type_size, j, e);
}
