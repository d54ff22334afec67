/* Fully connected layers over a batch, in groups (the coupling's scale and shift networks are
 * two groups of the same shape, so one launch serves both). Weights are stored input-major,
 * Wᵀ[g][i][o], so that all three kernels read weights and activations contiguously in o and can
 * work on 8 outputs at a time with float8 (PoCL runs one work-item's loop as scalar code, so
 * the vector width has to be written into the kernel). Rows have a stride (ld); a group stride
 * of 0 means every group reads the same input. */

#define V 8

/* out[g][r][o] = act(Σ_i in[g][r][i] · Wᵀ[g][i][o] + b[g][o]); global (⌈out_dim/8⌉, rows,
 * groups): each work-item makes 8 outputs of one row. */
__kernel void dense_forward(__global float *out, uint out_offset, uint out_ld, uint out_gstride,
                            __global const float *in, uint in_offset, uint in_ld,
                            uint in_gstride, __global const float *weights, uint w_offset,
                            uint b_offset, uint has_bias, uint relu, uint in_dim, uint out_dim,
                            uint rows)
{
    uint ob = get_global_id(0) * V, r = get_global_id(1), g = get_global_id(2);
    if (ob >= out_dim || r >= rows) return;
    __global const float *x = in + in_offset + g * in_gstride + r * in_ld;
    __global const float *wt = weights + w_offset + g * in_dim * out_dim;
    __global const float *bias = weights + b_offset + g * out_dim;
    __global float *y = out + out_offset + g * out_gstride + r * out_ld;
    if (ob + V <= out_dim) {
        float8 acc = has_bias ? vload8(0, bias + ob) : (float8)(0.0f);
        for (uint i = 0; i < in_dim; i++) acc += x[i] * vload8(0, wt + i * out_dim + ob);
        vstore8(relu ? fmax(acc, (float8)(0.0f)) : acc, 0, y + ob);
        return;
    }
    for (uint o = ob; o < out_dim; o++) {
        float sum = has_bias ? bias[o] : 0.0f;
        for (uint i = 0; i < in_dim; i++) sum += x[i] * wt[i * out_dim + o];
        y[o] = relu ? fmax(sum, 0.0f) : sum;
    }
}

/* din[g][r][i] (+)= mask · Σ_o dout[g][r][o] · Wᵀ[g][i][o], with mask = (h[g][r][i] > 0) when
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
        __global const float *w = weights + w_offset + (gg * in_dim + i) * out_dim;
        float8 acc = (float8)(0.0f);
        uint o = 0;
        for (; o + V <= out_dim; o += V) acc += vload8(0, dy + o) * vload8(0, w + o);
        float partial = 0.0f;
        for (; o < out_dim; o++) partial += dy[o] * w[o];
        sum += ((acc.s0 + acc.s1) + (acc.s2 + acc.s3)) + ((acc.s4 + acc.s5) + (acc.s6 + acc.s7)) +
               partial;
    }
    uint at = din_offset + g * din_gstride + r * din_ld + i;
    if (has_mask && mask[mask_offset + g * din_gstride + r * din_ld + i] <= 0.0f) sum = 0.0f;
    din[at] = accumulate ? din[at] + sum : sum;
}

/* dWᵀ[g][i][o] += Σ_r in[g][r][i] · dout[g][r][o]; for i == in_dim, db[g][o] += Σ_r
 * dout[g][r][o]; rows summed in order. global (⌈out_dim/8⌉, in_dim + has_bias, groups). */
__kernel void dense_backward_params(__global float *grads, uint w_offset, uint b_offset,
                                    uint has_bias, __global const float *dout, uint dout_offset,
                                    uint dout_ld, uint dout_gstride, __global const float *in,
                                    uint in_offset, uint in_ld, uint in_gstride, uint in_dim,
                                    uint out_dim, uint rows)
{
    uint ob = get_global_id(0) * V, i = get_global_id(1), g = get_global_id(2);
    if (ob >= out_dim || i > in_dim || (i == in_dim && !has_bias)) return;
    __global const float *dy = dout + dout_offset + g * dout_gstride;
    __global const float *x = in + in_offset + g * in_gstride + i;
    int bias = i == in_dim;
    __global float *target = bias ? grads + b_offset + g * out_dim
                                  : grads + w_offset + (g * in_dim + i) * out_dim;
    if (ob + V <= out_dim) {
        float8 acc = (float8)(0.0f);
        for (uint r = 0; r < rows; r++)
            acc += (bias ? 1.0f : x[r * in_ld]) * vload8(0, dy + r * dout_ld + ob);
        vstore8(vload8(0, target + ob) + acc, 0, target + ob);
        return;
    }
    for (uint o = ob; o < out_dim; o++) {
        float sum = 0.0f;
        for (uint r = 0; r < rows; r++) sum += (bias ? 1.0f : x[r * in_ld]) * dy[r * dout_ld + o];
        target[o] += sum;
    }
}
