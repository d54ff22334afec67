/* The element-wise part of the affine coupling layer; the two networks that produce s and t
 * run through cl/dense.cl. Per sample: the conditioning half a is copied, the other half b is
 * transformed with s = scale ⊙ tanh(raw) — bounded, so exp(s) can neither overflow nor vanish —
 * and t. nets holds the networks' outputs: raw at [0][i][j], t at [1][i][j]. */

/* direction +1: out_b = in_b·exp(s) + t (encoder); −1: out_b = (in_b − t)·exp(−s). */
__kernel void coupling_apply(__global float *out, __global const float *in,
                             __global const float *nets, uint nets_gstride,
                             __global const float *params, uint scale_offset,
                             __global float *logdet, uint n, uint dim, uint a_begin, uint a_dim,
                             uint b_begin, uint b_dim, int direction)
{
    uint i = get_global_id(0);
    if (i >= n) return;
    for (uint k = 0; k < a_dim; k++) out[i * dim + a_begin + k] = in[i * dim + a_begin + k];
    float sum = 0.0f;
    for (uint j = 0; j < b_dim; j++) {
        float s = params[scale_offset + j] * tanh(nets[i * b_dim + j]);
        float t = nets[nets_gstride + i * b_dim + j];
        float v = in[i * dim + b_begin + j];
        out[i * dim + b_begin + j] = direction > 0 ? v * exp(s) + t : (v - t) * exp(-s);
        sum += s;
    }
    logdet[i] += direction > 0 ? sum : -sum;
}

/* Backward of the element-wise part: dx_a = dz_a (the networks add theirs later), dx_b,
 * the networks' output gradients d_nets, and per-sample terms of ∂L/∂scale in dscale_rows. */
__kernel void coupling_backward(__global float *dx, __global float *d_nets,
                                __global float *dscale_rows, __global const float *dz,
                                __global const float *x, __global const float *nets,
                                uint nets_gstride, __global const float *params,
                                uint scale_offset, float dlogdet, uint n, uint dim,
                                uint a_begin, uint a_dim, uint b_begin, uint b_dim)
{
    uint i = get_global_id(0);
    if (i >= n) return;
    for (uint k = 0; k < a_dim; k++) dx[i * dim + a_begin + k] = dz[i * dim + a_begin + k];
    for (uint j = 0; j < b_dim; j++) {
        float scale = params[scale_offset + j];
        float th = tanh(nets[i * b_dim + j]);
        float e = exp(scale * th);
        float g = dz[i * dim + b_begin + j];
        float ds = g * x[i * dim + b_begin + j] * e + dlogdet;
        dx[i * dim + b_begin + j] = g * e;
        d_nets[i * b_dim + j] = ds * scale * (1.0f - th * th);
        d_nets[nets_gstride + i * b_dim + j] = g;
        dscale_rows[i * b_dim + j] = ds * th;
    }
}
