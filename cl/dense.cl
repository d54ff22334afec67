/* Parameter gradients of fully connected layers over a batch, in groups (the coupling's scale
 * and shift networks are two groups of the same shape, so one launch serves both). Weights are
 * stored input-major, Wᵀ[g][i][o], so the kernel reads gradients contiguously in o and works on
 * 8 outputs at a time with float8 (PoCL runs one work-item's loop as scalar code, so the vector
 * width has to be written into the kernel). Rows have a stride (ld); a group stride of 0 means
 * every group reads the same input. The forward and input-gradient passes run fused per sample
 * in cl/coupling.cl. */

#define V 8

/* dWᵀ[g][i][o] += Σ_r in[g][r][i] · dout[g][r][o], and for i == in_dim (the bias column)
 * db[g][o] += Σ_r dout[g][r][o]; rows summed in order from 0, then added to the gradient.
 *
 * Wide layers (out_dim ≥ 16): a work-item makes a 4 × 16 tile (4 inputs, 16 outputs) in eight
 * float8 registers, so each row costs 4 scalar and 2 vector loads for 8 vector FMAs; global
 * (⌈out_dim/16⌉, ⌈(in_dim + has_bias)/4⌉, groups). Narrow layers (the networks' outputs): a
 * work-item makes 8 inputs × every output, 8 inputs in one float8; global
 * (⌈(in_dim + has_bias)/8⌉, 1, groups). */
#define TILE_IN 4
#define TILE_OUT 16

/* Column i of row r: the input, 1 for the bias column, and the index clamped so that columns
 * past the end read valid memory (their sums are not stored). */
static float input_or_one(__global const float *row, uint i, uint in_dim)
{
    float v = row[min(i, in_dim - 1)];
    return i < in_dim ? v : 1.0f;
}

__kernel void dense_backward_params(__global float *grads, uint w_offset, uint b_offset,
                                    uint has_bias, __global const float *dout, uint dout_offset,
                                    uint dout_ld, uint dout_gstride, __global const float *in,
                                    uint in_offset, uint in_ld, uint in_gstride, uint in_dim,
                                    uint out_dim, uint rows)
{
    uint g = get_global_id(2), columns = in_dim + has_bias;
    __global const float *dy = dout + dout_offset + g * dout_gstride;
    __global const float *x = in + in_offset + g * in_gstride;
    __global float *dw = grads + w_offset + g * in_dim * out_dim;
    __global float *db = grads + b_offset + g * out_dim;
    if (out_dim >= TILE_OUT) {
        uint o0 = get_global_id(0) * TILE_OUT, i0 = get_global_id(1) * TILE_IN;
        if (o0 >= out_dim || i0 >= columns) return;
        if (o0 + TILE_OUT <= out_dim) {
            float8 a00 = 0.0f, a01 = 0.0f, a10 = 0.0f, a11 = 0.0f;
            float8 a20 = 0.0f, a21 = 0.0f, a30 = 0.0f, a31 = 0.0f;
            for (uint r = 0; r < rows; r++) {
                __global const float *xr = x + r * in_ld, *dr = dy + r * dout_ld + o0;
                float8 d0 = vload8(0, dr), d1 = vload8(1, dr);
                float v0 = input_or_one(xr, i0, in_dim), v1 = input_or_one(xr, i0 + 1, in_dim);
                float v2 = input_or_one(xr, i0 + 2, in_dim), v3 = input_or_one(xr, i0 + 3, in_dim);
                a00 += v0 * d0;
                a01 += v0 * d1;
                a10 += v1 * d0;
                a11 += v1 * d1;
                a20 += v2 * d0;
                a21 += v2 * d1;
                a30 += v3 * d0;
                a31 += v3 * d1;
            }
            float8 tile[2 * TILE_IN] = {a00, a01, a10, a11, a20, a21, a30, a31};
            for (uint c = 0; c < TILE_IN && i0 + c < columns; c++) {
                __global float *target = i0 + c < in_dim ? dw + (i0 + c) * out_dim + o0 : db + o0;
                vstore8(vload8(0, target) + tile[2 * c], 0, target);
                vstore8(vload8(1, target) + tile[2 * c + 1], 1, target);
            }
            return;
        }
        /* The last outputs of a width that is not a multiple of 16, one at a time. */
        for (uint c = 0; c < TILE_IN && i0 + c < columns; c++)
            for (uint o = o0; o < out_dim; o++) {
                float sum = 0.0f;
                for (uint r = 0; r < rows; r++)
                    sum += input_or_one(x + r * in_ld, i0 + c, in_dim) * dy[r * dout_ld + o];
                __global float *target = i0 + c < in_dim ? dw + (i0 + c) * out_dim + o : db + o;
                *target += sum;
            }
        return;
    }
    uint i0 = get_global_id(0) * V;
    if (get_global_id(1) > 0 || i0 >= columns) return;
    for (uint o = 0; o < out_dim; o++) {
        float8 acc = 0.0f;
        for (uint r = 0; r < rows; r++) {
            __global const float *xr = x + r * in_ld;
            float8 v;
            if (i0 + V <= in_dim) {
                v = vload8(0, xr + i0);
            } else {
                float lanes[V];
                for (uint c = 0; c < V; c++) lanes[c] = input_or_one(xr, i0 + c, in_dim);
                v = vload8(0, lanes);
            }
            acc += v * dy[r * dout_ld + o];
        }
        float sums[V];
        vstore8(acc, 0, sums);
        for (uint c = 0; c < V && i0 + c < columns; c++) {
            __global float *target = i0 + c < in_dim ? dw + (i0 + c) * out_dim + o : db + o;
            *target += sums[c];
        }
    }
}
