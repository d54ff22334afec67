/* Fully connected layers over a batch, in groups (the coupling's scale and shift networks are
 * two groups of the same shape, so one launch serves both). Matrices are row-major with a row
 * stride; a group stride of 0 means every group reads the same input. */

/* out[g][r][o] = act(Σ_i W[g][o][i] · in[g][r][i] + b[g][o]); global (out_dim, rows, groups). */
__kernel void dense_forward(__global float *out, uint out_offset, uint out_ld, uint out_gstride,
                            __global const float *in, uint in_offset, uint in_ld,
                            uint in_gstride, __global const float *weights, uint w_offset,
                            uint b_offset, uint has_bias, uint relu, uint in_dim, uint out_dim,
                            uint rows)
{
    uint o = get_global_id(0), r = get_global_id(1), g = get_global_id(2);
    if (o >= out_dim || r >= rows) return;
    __global const float *x = in + in_offset + g * in_gstride + r * in_ld;
    __global const float *w = weights + w_offset + (g * out_dim + o) * in_dim;
    float sum = has_bias ? weights[b_offset + g * out_dim + o] : 0.0f;
    for (uint i = 0; i < in_dim; i++) sum += w[i] * x[i];
    out[out_offset + g * out_gstride + r * out_ld + o] = relu ? fmax(sum, 0.0f) : sum;
}

/* din[g][r][i] (+)= mask · Σ_o dout[g][r][o] · W[g][o][i], with mask = (h[g][r][i] > 0) when
 * the input was a ReLU output h. A shared input (din_gstride 0) sums over the groups.
 * global (in_dim, rows, groups or 1). */
__kernel void dense_backward_input(__global float *din, uint din_offset, uint din_ld,
                                   uint din_gstride, uint accumulate,
                                   __global const float *dout, uint dout_offset, uint dout_ld,
                                   uint dout_gstride, __global const float *weights,
                                   uint w_offset, __global const float *mask, uint mask_offset,
                                   uint has_mask, uint in_dim, uint out_dim, uint rows,
                                   uint groups)
{
    uint i = get_global_id(0), r = get_global_id(1), g = get_global_id(2);
    if (i >= in_dim || r >= rows) return;
    uint g_begin = din_gstride ? g : 0, g_end = din_gstride ? g + 1 : groups;
    float sum = 0.0f;
    for (uint gg = g_begin; gg < g_end; gg++) {
        __global const float *dy = dout + dout_offset + gg * dout_gstride + r * dout_ld;
        __global const float *w = weights + w_offset + gg * out_dim * in_dim + i;
        for (uint o = 0; o < out_dim; o++) sum += dy[o] * w[o * in_dim];
    }
    uint at = din_offset + g * din_gstride + r * din_ld + i;
    if (has_mask && mask[mask_offset + g * din_gstride + r * din_ld + i] <= 0.0f) sum = 0.0f;
    din[at] = accumulate ? din[at] + sum : sum;
}

/* dW[g][o][i] += Σ_r dout[g][r][o] · in[g][r][i] and, for i == in_dim, db[g][o] += Σ_r
 * dout[g][r][o]; rows summed in order. global (in_dim + has_bias, out_dim, groups). */
__kernel void dense_backward_params(__global float *grads, uint w_offset, uint b_offset,
                                    uint has_bias, __global const float *dout, uint dout_offset,
                                    uint dout_ld, uint dout_gstride, __global const float *in,
                                    uint in_offset, uint in_ld, uint in_gstride, uint in_dim,
                                    uint out_dim, uint rows)
{
    uint i = get_global_id(0), o = get_global_id(1), g = get_global_id(2);
    if (i > in_dim || (i == in_dim && !has_bias) || o >= out_dim) return;
    __global const float *dy = dout + dout_offset + g * dout_gstride + o;
    float sum = 0.0f;
    if (i < in_dim) {
        __global const float *x = in + in_offset + g * in_gstride + i;
        for (uint r = 0; r < rows; r++) sum += dy[r * dout_ld] * x[r * in_ld];
        grads[w_offset + (g * out_dim + o) * in_dim + i] += sum;
    } else {
        for (uint r = 0; r < rows; r++) sum += dy[r * dout_ld];
        grads[b_offset + g * out_dim + o] += sum;
    }
}
