/* Split: the last channels leave the flow and are scored by the prior, N(0, I) or, with a
 * conditional prior, N(μ, σ²) where (μ, log σ) = h (n, 2·side channels, pixels) comes from the
 * kept half. Tensors (n, channels, pixels); kept (n, keep, pixels); side the rest. */

#define LOG_2PI 1.8378770664093453f

/* direction +1: full → kept + side, logdet += log p(side); −1: kept + side → full,
 * logdet −= log p(side); with temperature ≥ 0 the side first turns from ε into
 * μ + σ·temperature·ε. global (n). */
__kernel void split_apply(__global float *full, __global float *kept, __global float *side,
                          __global const float *h, __global float *logdet, uint n, uint channels,
                          uint keep, uint pixels, uint conditional, float temperature,
                          int direction)
{
    uint i = get_global_id(0);
    if (i >= n) return;
    uint per = channels * pixels, kept_size = keep * pixels, side_size = per - kept_size;
    __global float *f = full + i * per, *k = kept + i * kept_size, *s = side + i * side_size;
    __global const float *hi = h + i * 2 * side_size;
    for (uint j = 0; j < kept_size; j++) {
        if (direction > 0)
            k[j] = f[j];
        else
            f[j] = k[j];
    }
    float sum = 0.0f;
    for (uint j = 0; j < side_size; j++) {
        float mean = conditional ? hi[j] : 0.0f, log_sd = conditional ? hi[side_size + j] : 0.0f;
        if (direction > 0) s[j] = f[kept_size + j];
        if (direction < 0 && temperature >= 0.0f) s[j] = mean + exp(log_sd) * temperature * s[j];
        if (direction < 0) f[kept_size + j] = s[j];
        float u = (s[j] - mean) * exp(-log_sd);
        sum += -0.5f * u * u - log_sd - 0.5f * LOG_2PI;
    }
    logdet[i] += direction > 0 ? sum : -sum;
}

/* dx (the kept part: dz; the side: dlogdet · ∂log p/∂z) and dh = dlogdet · ∂log p/∂h. */
__kernel void split_backward(__global float *dx, __global float *dh, __global const float *dz,
                             __global const float *x, __global const float *h, float dlogdet,
                             uint n, uint channels, uint keep, uint pixels, uint conditional)
{
    uint i = get_global_id(0);
    if (i >= n) return;
    uint per = channels * pixels, kept_size = keep * pixels, side_size = per - kept_size;
    for (uint j = 0; j < kept_size; j++) dx[i * per + j] = dz[i * kept_size + j];
    for (uint j = 0; j < side_size; j++) {
        uint hm = i * 2 * side_size + j, hs = hm + side_size;
        float mean = conditional ? h[hm] : 0.0f, log_sd = conditional ? h[hs] : 0.0f;
        float inv = exp(-log_sd), u = (x[i * per + kept_size + j] - mean) * inv;
        dx[i * per + kept_size + j] = -dlogdet * u * inv;
        if (conditional) {
            dh[hm] = dlogdet * u * inv;
            dh[hs] = dlogdet * (u * u - 1.0f);
        }
    }
}
