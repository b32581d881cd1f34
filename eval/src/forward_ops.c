/* forward_ops.c - element-wise kernels of the forward pass, numerically as ggml-cpu's
 * rms_norm, rope (modes 0 and 2), soft_max and swiglu. */
#include "forward_impl.h"

#include "lq/fp16.h"

#include <math.h>
#include <string.h>

// ---- RMSNorm ------------------------------------------------------------------------------

void lqi_rmsnorm(float *y, const float *x, const float *restrict w, int64_t n,
                 float eps)
{
    /* ggml sums the float squares in double, divides in double, then works in float. */
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        sum += (double)(x[i] * x[i]);
    }
    const float mean = (float)(sum / (double)n);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int64_t i = 0; i < n; i++) {
        y[i] = (x[i] * scale) * w[i];
    }
}

// ---- RoPE ---------------------------------------------------------------------------------

void lqi_rope_cache(float *cs, int64_t pos, int64_t n_rot, float freq_base, float freq_scale,
                    const float *freq_factors)
{
    /* ggml advances the angle by multiplying with theta_scale each pair, in float; doing
     * the same (not powf per pair) keeps the rounding identical. */
    const float theta_scale = powf(freq_base, -2.0f / (float)n_rot);
    float theta = (float)pos;
    for (int64_t i = 0; i < n_rot / 2; i++) {
        const float ff = freq_factors ? freq_factors[i] : 1.0f;
        const float t = freq_scale * (theta / ff);
        cs[2 * i] = cosf(t);
        cs[2 * i + 1] = sinf(t);
        theta *= theta_scale;
    }
}

void lqi_rope_apply(float *x, const float *cs, int64_t n_rot, enum lq_rope_type type)
{
    /* Mode 0 rotates adjacent pairs; NEOX rotates dimension i with i + n_rot/2. */
    const int64_t half = n_rot / 2;
    for (int64_t i = 0; i < half; i++) {
        const int64_t a = type == LQ_ROPE_NEOX ? i : 2 * i;
        const int64_t b = type == LQ_ROPE_NEOX ? i + half : 2 * i + 1;
        const float c = cs[2 * i], s = cs[2 * i + 1];
        const float x0 = x[a], x1 = x[b];
        x[a] = x0 * c - x1 * s;
        x[b] = x0 * s + x1 * c;
    }
}

// ---- softmax and SwiGLU -------------------------------------------------------------------

void lqi_softmax(float *x, int64_t n)
{
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        max = x[i] > max ? x[i] : max;
    }
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += (double)x[i];
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) {
        x[i] *= inv;
    }
}

void lqi_swiglu(float *restrict g, const float *restrict u, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const float s = g[i] / (1.0f + expf(-g[i]));
        g[i] = s * u[i];
    }
}

static float gelu_tanh(float x)
{
    const float sqrt_2_over_pi = 0.79788456080286535587989211986876f;
    return 0.5f * x * (1.0f + tanhf(sqrt_2_over_pi * x * (1.0f + 0.044715f * x * x)));
}

void lqi_geglu(float *restrict g, const float *restrict u, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        const float x = g[i];
        if (x <= -10.0f) {
            g[i] = 0.0f;
        } else if (x >= 10.0f) {
            g[i] = x * u[i];
        } else {
            const float xh = lq_fp16_to_fp32(lq_fp32_to_fp16(x));
            g[i] = lq_fp16_to_fp32(lq_fp32_to_fp16(gelu_tanh(xh))) * u[i];
        }
    }
}

void lqi_softcap(float *x, int64_t n, float c)
{
    for (int64_t i = 0; i < n; i++) {
        x[i] = tanhf(x[i] / c) * c;
    }
}

// ---- F32 vector kernels -------------------------------------------------------------------

/* 4-wide vectors (GCC/Clang vector extension: SSE on any x86-64, NEON on arm64), so the hot
 * loops vectorize without -ffast-math. */
typedef float lqi_v4f __attribute__((vector_size(16)));

static inline lqi_v4f load4(const float *p)
{
    lqi_v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The F32 dot (attention, decoding rows of float weights):
 * a 4-lane running sum over k, folded as (s0 + s1) + (s2 + s3), then the scalar tail. */
float lqi_dot_f32(const float *restrict a, const float *restrict b, int64_t n)
{
    lqi_v4f s = { 0 };
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s += load4(a + i) * load4(b + i);
    }
    float sum = (s[0] + s[1]) + (s[2] + s[3]);
    for (; i < n; i++) {
        sum += a[i] * b[i];
    }
    return sum;
}

void lqi_axpy_f32(float *restrict y, float a, const float *restrict x, int64_t n)
{
    int64_t i = 0;
    const lqi_v4f va = { a, a, a, a };
    for (; i + 4 <= n; i += 4) {
        lqi_v4f vy = load4(y + i) + va * load4(x + i);
        memcpy(y + i, &vy, sizeof vy);
    }
    for (; i < n; i++) {
        y[i] += a * x[i];
    }
}
