/* Split: the last half of the channels leaves the flow (factored out, scored by the prior
 * N(0, I) as part of the log-likelihood); the first half goes on. Tensors (n, channels, pixels);
 * the kept half is (n, keep, pixels), the factored half (n, channels − keep, pixels). */

#define LOG_2PI 1.8378770664093453f

/* direction +1: full → kept + side, logdet += log N(side); −1: kept + side → full,
 * logdet −= log N(side). global (n). */
__kernel void split_apply(__global float *full, __global float *kept, __global float *side,
                          __global float *logdet, uint n, uint channels, uint keep,
                          uint pixels, int direction)
{
    uint i = get_global_id(0);
    if (i >= n) return;
    uint per = channels * pixels, kept_size = keep * pixels, side_size = per - kept_size;
    float sum = 0.0f;
    for (uint j = 0; j < per; j++) {
        __global float *part = j < kept_size ? kept + i * kept_size + j
                                             : side + i * side_size + (j - kept_size);
        if (direction > 0)
            *part = full[i * per + j];
        else
            full[i * per + j] = *part;
        if (j >= kept_size) sum += *part * *part;
    }
    float log_density = -0.5f * sum - 0.5f * (float)side_size * LOG_2PI;
    logdet[i] += direction > 0 ? log_density : -log_density;
}

/* dx = (dz for the kept half; dlogdet · ∂log N/∂side = −dlogdet · side for the rest). */
__kernel void split_backward(__global float *dx, __global const float *dz,
                             __global const float *x, float dlogdet, uint n, uint channels,
                             uint keep, uint pixels)
{
    uint j = get_global_id(0), per = channels * pixels, kept_size = keep * pixels;
    if (j >= n * per) return;
    uint i = j / per, r = j - i * per;
    dx[j] = r < kept_size ? dz[i * kept_size + r] : -dlogdet * x[j];
}
