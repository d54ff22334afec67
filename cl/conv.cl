/* 2-D convolutions of NCHW images, stride 1, zero padding kernel/2, kernel 1 or 3 (see
 * src/ops/conv.h). A work-item makes an 8×8 tile: 8 channels × 8 neighbouring pixels, each
 * channel's pixels a float8, so every input load feeds 8 vector multiply-adds (PoCL runs one
 * work-item's loop as scalar code, so the vector width has to be written into the kernel).
 * Weights are read as scalars and broadcast, which is why their usual order W[o][i][ky][kx]
 * serves the forward pass and the transposed (input-gradient) pass alike. */

#define V 8

/* The first `valid` of 8 consecutive floats and zeros after them: the last block of a row
 * must neither read past the row nor let the next row's pixels in. */
static float8 load8_first(__global const float *p, uint valid)
{
    if (valid >= V) return vload8(0, p);
    return (float8)(valid > 0 ? p[0] : 0.0f, valid > 1 ? p[1] : 0.0f, valid > 2 ? p[2] : 0.0f,
                    valid > 3 ? p[3] : 0.0f, valid > 4 ? p[4] : 0.0f, valid > 5 ? p[5] : 0.0f,
                    valid > 6 ? p[6] : 0.0f, 0.0f);
}

static void store8_first(__global float *p, float8 v, uint valid)
{
    if (valid >= V) {
        vstore8(v, 0, p);
        return;
    }
    p[0] = v.s0;
    if (valid > 1) p[1] = v.s1;
    if (valid > 2) p[2] = v.s2;
    if (valid > 3) p[3] = v.s3;
    if (valid > 4) p[4] = v.s4;
    if (valid > 5) p[5] = v.s5;
    if (valid > 6) p[6] = v.s6;
}

/* A fixed tree, so that gradient sums repeat bit for bit. */
static float sum8(float8 v)
{
    return ((v.s0 + v.s1) + (v.s2 + v.s3)) + ((v.s4 + v.s5) + (v.s6 + v.s7));
}

/* Pixels x0 − 1 … x0 + 8 of an image row (zeros outside it) as the three float8 a 3-wide
 * kernel needs: the row shifted left by one, the pixels themselves, shifted right by one. */
typedef struct row3 {
    float8 left, mid, right;
} row3;

static row3 load_row3(__global const float *row, uint x0, uint valid, uint width)
{
    row3 r;
    r.mid = load8_first(row + x0, valid);
    float before = x0 > 0 ? row[x0 - 1] : 0.0f;
    float after = x0 + V < width ? row[x0 + V] : 0.0f;
    r.left = (float8)(before, r.mid.s012, r.mid.s3456);
    r.right = (float8)(r.mid.s1234, r.mid.s567, after);
    return r;
}

/* The 8 channel tiles of a work-item as named variables, so they stay in registers. */
#define TILE_DECLARE                                                                       \
    float8 acc0 = (float8)(0.0f), acc1 = acc0, acc2 = acc0, acc3 = acc0, acc4 = acc0,       \
           acc5 = acc0, acc6 = acc0, acc7 = acc0
/* acc_j += w[lane_j] · pixels for the 8 lanes, w pointing at the tap of the first lane. */
#define TILE_ADD(w, pixels)                                                                \
    do {                                                                                   \
        __global const float *tile_w_ = (w);                                               \
        float8 tile_p_ = (pixels);                                                         \
        acc0 += tile_w_[lane0] * tile_p_;                                                  \
        acc1 += tile_w_[lane1] * tile_p_;                                                  \
        acc2 += tile_w_[lane2] * tile_p_;                                                  \
        acc3 += tile_w_[lane3] * tile_p_;                                                  \
        acc4 += tile_w_[lane4] * tile_p_;                                                  \
        acc5 += tile_w_[lane5] * tile_p_;                                                  \
        acc6 += tile_w_[lane6] * tile_p_;                                                  \
        acc7 += tile_w_[lane7] * tile_p_;                                                  \
    } while (0)
/* Weight offsets of the 8 lanes; lanes past the last channel repeat it, so that they read
 * valid memory (their results are dropped). */
#define LANES_DECLARE(stride, count)                                                       \
    uint lane0 = 0, lane1 = min(1u, (count) - 1) * (stride),                                \
         lane2 = min(2u, (count) - 1) * (stride), lane3 = min(3u, (count) - 1) * (stride),  \
         lane4 = min(4u, (count) - 1) * (stride), lane5 = min(5u, (count) - 1) * (stride),  \
         lane6 = min(6u, (count) - 1) * (stride), lane7 = min(7u, (count) - 1) * (stride)

/* What happens to a finished tile of channel `channel` before it is stored: bias and ReLU in
 * the forward pass, the ReLU mask of the input and accumulation in the input-gradient pass. */
typedef struct epilogue {
    __global const float *bias; /* NULL: none */
    uint relu;
    __global const float *mask; /* laid out as the output; NULL: none */
    uint accumulate;
} epilogue;

/* `out` and the mask point at their tensors' first element of the layer; `at` indexes both. */
static void finish_tile(__global float *out, uint at, uint channel, float8 v, uint valid,
                        const epilogue *e)
{
    if (e->bias) v += e->bias[channel];
    if (e->relu) v = fmax(v, (float8)(0.0f));
    if (e->mask) v = select((float8)(0.0f), v, load8_first(e->mask + at, valid) > 0.0f);
    if (e->accumulate) v += load8_first(out + at, valid);
    store8_first(out + at, v, valid);
}

#define TILE_FINISH(j, acc)                                                                \
    if (j < lanes) finish_tile(out, at + (j) * hw, c0 + (j), acc, valid, &e)

/* One pass of a 3×3 layer, out[b][c][y][x] = Σ_r Σ_taps W(c, r, tap) · in[b][r][y+dy][x+dx]:
 * the forward pass (c = output channel, r = input channel) and, with the kernel flipped and
 * the roles of the channels swapped through the weight strides, the input gradient.
 * W(c, r, tap) is weights[w_offset + c·lane_stride + r·reduced_stride + tap'] with
 * tap' = tap, or 8 − tap when flip is set. global (⌈width/8⌉·height, ⌈out_channels/8⌉, n). */
__kernel void conv_3x3(__global float *out, uint out_offset, uint out_channels,
                       __global const float *in, uint in_offset, uint in_channels,
                       __global const float *weights, uint w_offset, uint lane_stride,
                       uint reduced_stride, uint flip, uint b_offset, uint has_bias, uint relu,
                       __global const float *mask, uint mask_offset, uint has_mask,
                       uint accumulate, uint height, uint width, uint x_blocks, uint n)
{
    uint block = get_global_id(0), c0 = get_global_id(1) * V, b = get_global_id(2);
    uint y = block / x_blocks, x0 = (block - y * x_blocks) * V;
    if (y >= height || c0 >= out_channels || b >= n) return;
    uint hw = height * width, valid = min((uint)V, width - x0);
    uint lanes = min((uint)V, out_channels - c0);
    LANES_DECLARE(lane_stride, lanes);
    TILE_DECLARE;
    __global const float *plane = in + in_offset + b * in_channels * hw;
    __global const float *w_channel = weights + w_offset + c0 * lane_stride;
    int tap_step = flip ? -1 : 1;
    for (uint r = 0; r < in_channels; r++, plane += hw, w_channel += reduced_stride) {
        for (int dy = -1; dy <= 1; dy++) {
            int row_y = (int)y + dy;
            if (row_y < 0 || row_y >= (int)height) continue;
            row3 pixels = load_row3(plane + row_y * width, x0, valid, width);
            int first_tap = (dy + 1) * 3; /* the tap with dx = −1 */
            __global const float *w_row = w_channel + (flip ? 8 - first_tap : first_tap);
            TILE_ADD(w_row, pixels.left);
            TILE_ADD(w_row + tap_step, pixels.mid);
            TILE_ADD(w_row + 2 * tap_step, pixels.right);
        }
    }
    epilogue e = {has_bias ? weights + b_offset : NULL, relu, has_mask ? mask + mask_offset : NULL,
                  accumulate};
    out += out_offset;
    uint at = (b * out_channels + c0) * hw + y * width + x0;
    TILE_FINISH(0, acc0);
    TILE_FINISH(1, acc1);
    TILE_FINISH(2, acc2);
    TILE_FINISH(3, acc3);
    TILE_FINISH(4, acc4);
    TILE_FINISH(5, acc5);
    TILE_FINISH(6, acc6);
    TILE_FINISH(7, acc7);
}

/* The 1×1 layer: as conv_3x3 without neighbours, so the pixels of a channel are taken 8 at a
 * time over the whole image rather than per row (small images lose no lanes).
 * global (⌈height·width/8⌉, ⌈out_channels/8⌉, n). */
__kernel void conv_1x1(__global float *out, uint out_offset, uint out_channels,
                       __global const float *in, uint in_offset, uint in_channels,
                       __global const float *weights, uint w_offset, uint lane_stride,
                       uint reduced_stride, uint b_offset, uint has_bias, uint relu,
                       __global const float *mask, uint mask_offset, uint has_mask,
                       uint accumulate, uint hw, uint n)
{
    uint p0 = get_global_id(0) * V, c0 = get_global_id(1) * V, b = get_global_id(2);
    if (p0 >= hw || c0 >= out_channels || b >= n) return;
    uint valid = min((uint)V, hw - p0), lanes = min((uint)V, out_channels - c0);
    LANES_DECLARE(lane_stride, lanes);
    TILE_DECLARE;
    __global const float *pixels = in + in_offset + b * in_channels * hw + p0;
    __global const float *w_channel = weights + w_offset + c0 * lane_stride;
    for (uint r = 0; r < in_channels; r++, pixels += hw, w_channel += reduced_stride)
        TILE_ADD(w_channel, load8_first(pixels, valid));
    epilogue e = {has_bias ? weights + b_offset : NULL, relu, has_mask ? mask + mask_offset : NULL,
                  accumulate};
    out += out_offset;
    uint at = (b * out_channels + c0) * hw + p0;
    TILE_FINISH(0, acc0);
    TILE_FINISH(1, acc1);
    TILE_FINISH(2, acc2);
    TILE_FINISH(3, acc3);
    TILE_FINISH(4, acc4);
    TILE_FINISH(5, acc5);
    TILE_FINISH(6, acc6);
    TILE_FINISH(7, acc7);
}

/* dW[o][i][ky][kx] += Σ_b Σ_y Σ_x dout[b][o][y][x] · in[b][i][y+ky−1][x+kx−1]: a work-item
 * owns the 9 taps of one (o, i) pair, summing 8 pixels of a row at a time in a fixed order.
 * global (in_channels, out_channels). */
__kernel void conv_params_3x3(__global float *grads, uint w_offset, __global const float *dout,
                              uint dout_offset, __global const float *in, uint in_offset,
                              uint in_channels, uint out_channels, uint height, uint width,
                              uint n)
{
    uint i = get_global_id(0), o = get_global_id(1);
    if (i >= in_channels || o >= out_channels) return;
    uint hw = height * width;
    float8 t0 = (float8)(0.0f), t1 = t0, t2 = t0, t3 = t0, t4 = t0, t5 = t0, t6 = t0, t7 = t0,
           t8 = t0;
    for (uint b = 0; b < n; b++) {
        __global const float *g_plane = dout + dout_offset + (b * out_channels + o) * hw;
        __global const float *x_plane = in + in_offset + (b * in_channels + i) * hw;
        for (uint y = 0; y < height; y++)
            for (uint x0 = 0; x0 < width; x0 += V) {
                uint valid = min((uint)V, width - x0);
                /* Zeros past the row's end in g keep whatever the shifted rows hold there out. */
                float8 g = load8_first(g_plane + y * width + x0, valid);
                if (y > 0) {
                    row3 r = load_row3(x_plane + (y - 1) * width, x0, valid, width);
                    t0 += g * r.left;
                    t1 += g * r.mid;
                    t2 += g * r.right;
                }
                row3 r = load_row3(x_plane + y * width, x0, valid, width);
                t3 += g * r.left;
                t4 += g * r.mid;
                t5 += g * r.right;
                if (y + 1 < height) {
                    row3 r = load_row3(x_plane + (y + 1) * width, x0, valid, width);
                    t6 += g * r.left;
                    t7 += g * r.mid;
                    t8 += g * r.right;
                }
            }
    }
    __global float *dw = grads + w_offset + (o * in_channels + i) * 9;
    dw[0] += sum8(t0);
    dw[1] += sum8(t1);
    dw[2] += sum8(t2);
    dw[3] += sum8(t3);
    dw[4] += sum8(t4);
    dw[5] += sum8(t5);
    dw[6] += sum8(t6);
    dw[7] += sum8(t7);
    dw[8] += sum8(t8);
}

/* dW[o][i] += Σ_b Σ_p dout[b][o][p] · in[b][i][p] for a 4×4 block of (o, i), so each pair of
 * loads (4 of dout, 4 of in) feeds 16 multiply-adds; rows and columns past the last channel
 * repeat it and are not stored. global (⌈in_channels/4⌉, ⌈out_channels/4⌉). */
__kernel void conv_params_1x1(__global float *grads, uint w_offset, __global const float *dout,
                              uint dout_offset, __global const float *in, uint in_offset,
                              uint in_channels, uint out_channels, uint hw, uint n)
{
    uint i0 = get_global_id(0) * 4, o0 = get_global_id(1) * 4;
    if (i0 >= in_channels || o0 >= out_channels) return;
    uint ni = min(4u, in_channels - i0), no = min(4u, out_channels - o0);
    /* Plane offsets of the block's channels inside one sample. */
    uint gi0 = o0 * hw, gi1 = (o0 + min(1u, no - 1)) * hw, gi2 = (o0 + min(2u, no - 1)) * hw,
         gi3 = (o0 + min(3u, no - 1)) * hw;
    uint xi0 = i0 * hw, xi1 = (i0 + min(1u, ni - 1)) * hw, xi2 = (i0 + min(2u, ni - 1)) * hw,
         xi3 = (i0 + min(3u, ni - 1)) * hw;
    float8 zero = (float8)(0.0f);
    float8 s00 = zero, s01 = zero, s02 = zero, s03 = zero, s10 = zero, s11 = zero, s12 = zero,
           s13 = zero, s20 = zero, s21 = zero, s22 = zero, s23 = zero, s30 = zero, s31 = zero,
           s32 = zero, s33 = zero;
    for (uint b = 0; b < n; b++) {
        __global const float *g = dout + dout_offset + b * out_channels * hw;
        __global const float *x = in + in_offset + b * in_channels * hw;
        for (uint p = 0; p < hw; p += V) {
            uint valid = min((uint)V, hw - p);
            float8 g0 = load8_first(g + gi0 + p, valid), g1 = load8_first(g + gi1 + p, valid),
                   g2 = load8_first(g + gi2 + p, valid), g3 = load8_first(g + gi3 + p, valid);
            float8 x0 = load8_first(x + xi0 + p, valid), x1 = load8_first(x + xi1 + p, valid),
                   x2 = load8_first(x + xi2 + p, valid), x3 = load8_first(x + xi3 + p, valid);
            s00 += g0 * x0, s01 += g0 * x1, s02 += g0 * x2, s03 += g0 * x3;
            s10 += g1 * x0, s11 += g1 * x1, s12 += g1 * x2, s13 += g1 * x3;
            s20 += g2 * x0, s21 += g2 * x1, s22 += g2 * x2, s23 += g2 * x3;
            s30 += g3 * x0, s31 += g3 * x1, s32 += g3 * x2, s33 += g3 * x3;
        }
    }
    __global float *dw = grads + w_offset + o0 * in_channels + i0;
#define STORE_ROW(k, a, b, c, d)                                                            \
    if (k < no) {                                                                          \
        __global float *row_ = dw + (k) * in_channels;                                     \
        row_[0] += sum8(a);                                                                \
        if (ni > 1) row_[1] += sum8(b);                                                    \
        if (ni > 2) row_[2] += sum8(c);                                                    \
        if (ni > 3) row_[3] += sum8(d);                                                    \
    }
    STORE_ROW(0, s00, s01, s02, s03)
    STORE_ROW(1, s10, s11, s12, s13)
    STORE_ROW(2, s20, s21, s22, s23)
    STORE_ROW(3, s30, s31, s32, s33)
#undef STORE_ROW
}

/* db[o] += Σ_b Σ_p dout[b][o][p], 8 pixels at a time in a fixed order. global (out_channels). */
__kernel void conv_params_bias(__global float *grads, uint b_offset, __global const float *dout,
                               uint dout_offset, uint out_channels, uint hw, uint n)
{
    uint o = get_global_id(0);
    if (o >= out_channels) return;
    float8 sum = (float8)(0.0f);
    for (uint b = 0; b < n; b++) {
        __global const float *g = dout + dout_offset + (b * out_channels + o) * hw;
        for (uint p = 0; p < hw; p += V) sum += load8_first(g + p, min((uint)V, hw - p));
    }
    grads[b_offset + o] += sum8(sum);
}
