/* Priors p_0(z) of the flows: the standard Gaussian and a mixture of diagonal Gaussians whose
 * means (K×D), log-scales (K×D) and logits (K) sit consecutively in the parameter buffer. */

#define LOG_2PI 1.8378770664093453f
#ifndef PRIOR_MAX_COMPONENTS
#error "build with PRIOR_MAX_COMPONENTS of src/core/shapes.h"
#endif

__kernel void prior_gauss_log_prob(__global float *logp, __global const float *z, uint n, uint dim)
{
    uint i = get_global_id(0);
    if (i >= n) return;
    float sum = 0.0f;
    for (uint d = 0; d < dim; d++) sum += z[i * dim + d] * z[i * dim + d];
    logp[i] = -0.5f * sum - 0.5f * (float)dim * LOG_2PI;
}

/* dz = ∂L/∂z for ∂L/∂logp_i = dlogp. */
__kernel void prior_gauss_backward(__global float *dz, __global const float *z, float dlogp,
                                   uint count)
{
    uint j = get_global_id(0);
    if (j < count) dz[j] = -dlogp * z[j];
}

/* log w_k + log N(z_i; μ_k, σ_k) for every component, and their log-sum-exp. */
static float mix_terms(float *terms, __global const float *z, __global const float *p, uint offset,
                       uint i, uint dim, uint k_count)
{
    __global const float *means = p + offset, *log_scales = means + k_count * dim;
    __global const float *logits = log_scales + k_count * dim;
    float top = -INFINITY;
    for (uint k = 0; k < k_count; k++) top = fmax(top, logits[k]);
    float norm = 0.0f;
    for (uint k = 0; k < k_count; k++) norm += exp(logits[k] - top);
    float log_norm = top + log(norm);
    float best = -INFINITY;
    for (uint k = 0; k < k_count; k++) {
        float sum = logits[k] - log_norm;
        for (uint d = 0; d < dim; d++) {
            float ls = log_scales[k * dim + d];
            float u = (z[i * dim + d] - means[k * dim + d]) * exp(-ls);
            sum += -0.5f * u * u - ls - 0.5f * LOG_2PI;
        }
        terms[k] = sum;
        best = fmax(best, sum);
    }
    float total = 0.0f;
    for (uint k = 0; k < k_count; k++) total += exp(terms[k] - best);
    return best + log(total);
}

__kernel void prior_mix_log_prob(__global float *logp, __global const float *z,
                                 __global const float *params, uint offset, uint n, uint dim,
                                 uint k_count)
{
    uint i = get_global_id(0);
    if (i >= n) return;
    float terms[PRIOR_MAX_COMPONENTS];
    logp[i] = mix_terms(terms, z, params, offset, i, dim, k_count);
}

/* dz, and the per-sample rows of ∂L/∂(means, log_scales, logits) summed later over the batch:
 * with responsibilities r_k, u = (z − μ_k)/σ_k: ∂logp/∂z = −Σ_k r_k u/σ_k, ∂logp/∂μ_k = r_k u/σ_k,
 * ∂logp/∂log σ_k = r_k (u² − 1), ∂logp/∂logit_k = r_k − w_k. */
__kernel void prior_mix_backward(__global float *dz, __global float *rows, __global const float *z,
                                 __global const float *params, uint offset, float dlogp, uint n,
                                 uint dim, uint k_count)
{
    uint i = get_global_id(0);
    if (i >= n) return;
    float terms[PRIOR_MAX_COMPONENTS];
    float logp = mix_terms(terms, z, params, offset, i, dim, k_count);
    __global const float *means = params + offset, *log_scales = means + k_count * dim;
    __global const float *logits = log_scales + k_count * dim;
    uint width = 2 * k_count * dim + k_count;
    __global float *row = rows + i * width;
    float top = -INFINITY;
    for (uint k = 0; k < k_count; k++) top = fmax(top, logits[k]);
    float norm = 0.0f;
    for (uint k = 0; k < k_count; k++) norm += exp(logits[k] - top);
    for (uint d = 0; d < dim; d++) dz[i * dim + d] = 0.0f;
    for (uint k = 0; k < k_count; k++) {
        float r = exp(terms[k] - logp);
        for (uint d = 0; d < dim; d++) {
            float inv = exp(-log_scales[k * dim + d]);
            float u = (z[i * dim + d] - means[k * dim + d]) * inv;
            dz[i * dim + d] -= dlogp * r * u * inv;
            row[k * dim + d] = dlogp * r * u * inv;
            row[(k_count + k) * dim + d] = dlogp * r * (u * u - 1.0f);
        }
        row[2 * k_count * dim + k] = dlogp * (r - exp(logits[k] - top) / norm);
    }
}
