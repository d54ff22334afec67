/* Element-wise affine flow z = x ⊙ exp(s) + t (the affine warm-up, and ActNorm), over
 * tensors seen as (n, channels, inner) with one (s, t) per channel. */

/* direction +1: out = in·exp(s) + t (encoder); −1: out = (in − t)·exp(−s) (decoder); and the
 * log-determinant, logdet_scale · Σ s, added to each sample's by its first element's item. */
__kernel void affine_apply(__global float *out, __global const float *in,
                           __global const float *params, uint s_offset, uint t_offset, uint count,
                           uint channels, uint inner, int direction, __global float *logdet,
                           float logdet_scale)
{
    uint j = get_global_id(0);
    if (j >= count) return;
    uint per_sample = channels * inner, i = j / per_sample;
    if (j == i * per_sample) add_param_logdet(logdet, params, s_offset, channels, logdet_scale, i);
    uint c = channel_of(j, channels, inner);
    float s = params[s_offset + c], t = params[t_offset + c];
    out[j] = direction > 0 ? in[j] * exp(s) + t : (in[j] - t) * exp(-s);
}

/* The backward pass, one work-group per channel c: dx = dz · exp(s_c) over the channel, and
 * ds_c += Σ dz·x·exp(s_c) + logdet_grad, dt_c += Σ dz. */
__kernel void affine_backward(__global float *dx, __global float *grads, uint s_offset,
                              uint t_offset, __global const float *dz, __global const float *x,
                              __global const float *params, uint n, uint channels, uint inner,
                              float logdet_grad, __local float *scratch)
{
    uint c = get_group_id(0);
    float scale = exp(params[s_offset + c]);
    float ds = 0.0f, dt = 0.0f;
    /* Whole rows (i, c, ·) per work-item: no index divided per element. */
    for (uint i = get_local_id(0); i < n; i += get_local_size(0)) {
        __global const float *g = dz + (i * channels + c) * inner;
        __global const float *xr = x + (i * channels + c) * inner;
        __global float *dxr = dx + (i * channels + c) * inner;
        for (uint k = 0; k < inner; k++) {
            ds += g[k] * xr[k] * scale;
            dt += g[k];
            dxr[k] = g[k] * scale;
        }
    }
    ds = group_sum(scratch, ds);
    dt = group_sum(scratch, dt);
    if (get_local_id(0) == 0) {
        grads[s_offset + c] += ds + logdet_grad;
        grads[t_offset + c] += dt;
    }
}

/* ActNorm's data-dependent initialisation from the batch's per-channel mean and variance:
 * s = −log(σ + 1e-6), t = −mean · exp(s), so the batch comes out with zero mean and unit
 * variance. One work-item per channel. */
__kernel void actnorm_init(__global float *params, uint s_offset, uint t_offset,
                           __global const float *mean, __global const float *var, uint channels)
{
    uint c = get_global_id(0);
    if (c >= channels) return;
    float s = -log(sqrt(var[c]) + 1e-6f);
    params[s_offset + c] = s;
    params[t_offset + c] = -mean[c] * exp(s);
}
