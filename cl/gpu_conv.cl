/* The gpu kernel set's convolutions (src/model/ops/conv.c, issue 16): every pass of a layer as
 * one matrix product C[M][N] = Σ_k A[m][k] · B[k][n], tiled in local memory, its im2col done
 * by the tile loads (a 3×3 layer's 9 taps are 9 shifted reads of the same input, never
 * written out):
 * - a forward or input-gradient pass: M the channels computed, N the batch's pixels (sample
 *   by sample), K the summed channels × taps. A is the weights seen through the pass's view
 *   (conv_pack_weights in cl/conv.cl says the same: lane_stride, reduced_stride, flip), B the
 *   input at the tap's offset, zero outside the image;
 * - the weight gradient: M the output channels, N the input channels × taps (and one column
 *   of ones for the bias), K the batch's pixels; A is the output gradient, B the input.
 *
 * A work-group of SIDE × SIDE work-items makes a tile of (SIDE·R) × (SIDE·R) outputs, each
 * work-item R × R of them in registers, strided by SIDE so that neighbouring work-items read
 * neighbouring local words and store neighbouring pixels. Each step of the k loop loads a
 * SIDE-deep slice of A and of B into local memory, every work-item R values of each, in an
 * order that keeps a wavefront's global reads on consecutive addresses. Where the tiles alone
 * would leave the device idle (few outputs, a long sum), the k range is split over the
 * launch's third dimension, each split writes its partial sums, and a second kernel adds the
 * splits in their order: no atomics, so results repeat bit for bit. */

#ifndef GPU_CONV_SIDE
#error "build with GPU_CONV_SIDE from src/core/shapes.h"
#endif
#if GPU_CONV_SIDE != 8 && GPU_CONV_SIDE != 16
#error "GPU_CONV_SIDE must be 8 or 16"
#endif
#define SIDE GPU_CONV_SIDE
#define ITEMS (SIDE * SIDE)
/* The depth of a k step: as deep as the tile is wide, so that a slice of A or B is R loads a
 * work-item whatever R is. */
#define DEPTH SIDE

/* q = x / d, x = q·d + r, for x < 2^31 and quotients below 2^22, in a few instructions where
 * integer division by a number known only at run time takes dozens on a GPU: the float
 * estimate is within 1 of the quotient, and one correction each way makes it exact. */
typedef struct divisor {
    uint d;
    float inverse;
} divisor;

static divisor divisor_of(uint d)
{
    divisor v = {d, 1.0f / (float)d};
    return v;
}

static uint quotient(uint x, divisor v)
{
    uint q = (uint)((float)x * v.inverse);
    int r = (int)(x - q * v.d);
    if (r < 0)
        q--;
    else if (r >= (int)v.d)
        q++;
    return q;
}

/* A layer's geometry as the loads see it: pixels a plane, width, and taps (1 or 9). */
typedef struct geometry {
    divisor plane, width, taps;
    uint height;
} geometry;

static geometry geometry_of(uint height, uint width, uint taps)
{
    geometry g = {divisor_of(height * width), divisor_of(width), divisor_of(taps), height};
    return g;
}

/* Channel r and tap t of a summed index k = r·taps + t. (Not `taps == 9 ? k / 9 : k`: LLVM
 * makes that a select of a speculated division, guarded by a `freeze` instruction, which
 * oclgrind 21.10 cannot run.) */
static uint channel_of(uint k, const geometry *g) { return quotient(k, g->taps); }
static uint tap_of(uint k, const geometry *g) { return k - channel_of(k, g) * g->taps.d; }

/* The input value of channel r's plane at pixel (y, x) moved by tap t (dy, dx = −1, 0, 1 for a
 * 3×3 layer), 0 outside the image. `sample` points at the sample's first channel. */
static float tap_value(__global const float *sample, uint r, uint t, uint y, uint x,
                       const geometry *g)
{
    int sy = (int)y, sx = (int)x;
    if (g->taps.d == 9) {
        uint row = t / 3;
        sy += (int)row - 1;
        sx += (int)(t - 3 * row) - 1;
    }
    int inside = sy >= 0 && sy < (int)g->height && sx >= 0 && sx < (int)g->width.d;
    return inside ? sample[r * g->plane.d + (uint)sy * g->width.d + (uint)sx] : 0.0f;
}

/* What a pass does with a finished sum, as conv_1x1's epilogue in cl/conv.cl: the mask (the
 * ReLU output the layer's input was), accumulation onto the output, bias, ReLU. */
typedef struct pass_epilogue {
    __global float *out;
    uint channels;
    __global const float *bias; /* NULL: none */
    uint relu;
    __global const float *mask; /* laid out as out; NULL: none */
    uint accumulate;
} pass_epilogue;

/* The epilogue from a pass's kernel arguments. */
static pass_epilogue epilogue_of(__global float *out, uint channels, __global const float *weights,
                                 uint b_offset, uint has_bias, uint relu,
                                 __global const float *mask, uint mask_offset, uint has_mask,
                                 uint accumulate)
{
    pass_epilogue e = {out,
                       channels,
                       has_bias ? weights + b_offset : NULL,
                       relu,
                       has_mask ? mask + mask_offset : NULL,
                       accumulate};
    return e;
}

/* Output channel m of pixel column j (sample j / plane, pixel j % plane) gets `sum`. */
static void pass_store(const pass_epilogue *e, uint m, uint j, float sum, const geometry *g)
{
    uint b = quotient(j, g->plane), p = j - b * g->plane.d;
    uint at = (b * e->channels + m) * g->plane.d + p;
    if (e->mask && !(e->mask[at] > 0.0f)) sum = 0.0f;
    if (e->accumulate) sum += e->out[at];
    if (e->bias) sum += e->bias[m];
    if (e->relu) sum = fmax(sum, 0.0f);
    e->out[at] = sum;
}

/* A weight gradient's column n < columns is W[m][n] (n = r·taps + t), column `columns` the
 * bias b[m]: both are added onto the gradients. */
static void weights_store(__global float *grads, uint w_offset, uint b_offset, uint columns, uint m,
                          uint n, float sum)
{
    if (n < columns)
        grads[w_offset + m * columns + n] += sum;
    else
        grads[b_offset + m] += sum;
}

/* The k range of split z: steps of DEPTH, `per_split` of them a split. */
static uint2 split_range(uint z, uint per_split, uint k_total)
{
    uint begin = z * per_split * DEPTH;
    return (uint2)(min(begin, k_total), min(begin + per_split * DEPTH, k_total));
}

/* The register tile, R × R outputs a work-item: the program is built twice (src/core/runtime.c),
 * with 2 and with 4, and each kernel's name ends in its R, so that the host can choose per
 * launch (src/model/ops/conv.c). */
#if GPU_CONV_ITEM != 2 && GPU_CONV_ITEM != 4
#error "GPU_CONV_ITEM must be 2 or 4"
#endif
#define R GPU_CONV_ITEM
#define TILE (SIDE * R)
#define NAMED_(name, r) name##_##r
#define NAMED(name, r) NAMED_(name, r)

/* The slices of A (rows m) and B (columns n) of one k step, each DEPTH deep; A's rows padded
 * by one word so that the work-items storing one row each (k fastest) hit different banks. */
typedef struct slices {
    float a[DEPTH][TILE + 1], b[DEPTH][TILE + 1];
} slices;

/* acc[i][j] += A[k][ty + SIDE·i] · B[k][tx + SIDE·j] over the slices' depth. */
static void multiply_slices(__local const slices *s, float acc[R][R], uint tx, uint ty)
{
    for (uint k = 0; k < DEPTH; k++) {
        float a[R], b[R];
        for (uint i = 0; i < R; i++) a[i] = s->a[k][ty + SIDE * i];
        for (uint i = 0; i < R; i++) b[i] = s->b[k][tx + SIDE * i];
        for (uint i = 0; i < R; i++)
            for (uint j = 0; j < R; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
    }
}

/* The output (m, n) of this work-item's tile element (i, j), tile_m and tile_n its group's
 * first row and column; 0 where it falls past the rows or columns of the product. */
static int tile_output(uint tile_m, uint tile_n, uint i, uint j, uint rows, uint columns, uint *m,
                       uint *n)
{
    *m = tile_m + get_local_id(1) + SIDE * i;
    *n = tile_n + get_local_id(0) + SIDE * j;
    return *m < rows && *n < columns;
}

/* A forward or input-gradient pass. global (⌈N/TILE⌉·SIDE, ⌈M/TILE⌉·SIDE, splits), local
 * (SIDE, SIDE, 1). With one split the epilogue is applied here; with more, the raw sums of
 * split z go to partial[z][m][j] for gpu_conv_pass_splits. */
__kernel __attribute__((reqd_work_group_size(SIDE, SIDE, 1))) void
NAMED(gpu_conv_pass,
      R)(__global float *out, uint out_offset, uint channels, __global const float *in,
         uint in_offset, uint reduced, __global const float *weights, uint w_offset,
         uint lane_stride, uint reduced_stride, uint flip, uint b_offset, uint has_bias, uint relu,
         __global const float *mask, uint mask_offset, uint has_mask, uint accumulate, uint height,
         uint width, uint taps, uint n, uint per_split, __global float *partial)
{
    __local slices s;
    const uint tx = get_local_id(0), ty = get_local_id(1), lid = ty * SIDE + tx;
    const uint n0 = get_group_id(0) * TILE, m0 = get_group_id(1) * TILE, z = get_group_id(2);
    const geometry g = geometry_of(height, width, taps);
    const uint columns = n * g.plane.d;
    const uint2 range = split_range(z, per_split, reduced * taps);
    /* A with k fastest (the forward view's weights are consecutive in k): this work-item's k
     * within a slice is fixed, its rows a_row + SIDE·i. */
    const uint a_k = lid % DEPTH, a_row = lid / DEPTH;
    /* B with the columns fastest (a row's pixels are consecutive): this work-item's column j
     * is fixed, its slice rows b_row + (SIDE / R)·i. */
    const uint b_col = lid % TILE, b_row = lid / TILE, j = n0 + b_col;
    const uint sample = j < columns ? quotient(j, g.plane) : 0;
    const uint pixel = j - sample * g.plane.d, y = quotient(pixel, g.width);
    const uint x = pixel - y * g.width.d;
    __global const float *in_sample = in + in_offset + sample * reduced * g.plane.d;
    __global const float *w = weights + w_offset;
    float acc[R][R] = {{0.0f}};
    for (uint k0 = range.x; k0 < range.y; k0 += DEPTH) {
        uint k = k0 + a_k, t = tap_of(k, &g);
        __global const float *w_k =
            w + channel_of(k, &g) * reduced_stride + (flip ? taps - 1 - t : t);
        for (uint i = 0; i < R; i++) {
            uint m = m0 + a_row + SIDE * i;
            s.a[a_k][a_row + SIDE * i] = m < channels && k < range.y ? w_k[m * lane_stride] : 0.0f;
        }
        for (uint i = 0; i < R; i++) {
            uint row = b_row + (SIDE / R) * i, kb = k0 + row;
            s.b[row][b_col] = j < columns && kb < range.y ? tap_value(in_sample, channel_of(kb, &g),
                                                                      tap_of(kb, &g), y, x, &g)
                                                          : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        multiply_slices(&s, acc, tx, ty);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    pass_epilogue e = epilogue_of(out + out_offset, channels, weights, b_offset, has_bias, relu,
                                  mask, mask_offset, has_mask, accumulate);
    for (uint i = 0; i < R; i++)
        for (uint jj = 0; jj < R; jj++) {
            uint m, col;
            if (!tile_output(m0, n0, i, jj, channels, columns, &m, &col)) continue;
            if (get_num_groups(2) == 1)
                pass_store(&e, m, col, acc[i][jj], &g);
            else
                partial[(z * channels + m) * columns + col] = acc[i][jj];
        }
}

/* The weight gradient. global (⌈N/TILE⌉·SIDE, ⌈M/TILE⌉·SIDE, splits) with N = in_channels·taps
 * + has_bias, local (SIDE, SIDE, 1). One split adds its sums to the gradients; more write
 * partial[z][m][n] for gpu_conv_weights_splits. */
__kernel __attribute__((reqd_work_group_size(SIDE, SIDE, 1))) void
NAMED(gpu_conv_weights, R)(__global float *grads, uint w_offset, uint b_offset, uint has_bias,
                           __global const float *dout, uint dout_offset, uint out_channels,
                           __global const float *in, uint in_offset, uint in_channels, uint height,
                           uint width, uint taps, uint n, uint per_split, __global float *partial)
{
    __local slices s;
    const uint tx = get_local_id(0), ty = get_local_id(1), lid = ty * SIDE + tx;
    const uint n0 = get_group_id(0) * TILE, m0 = get_group_id(1) * TILE, z = get_group_id(2);
    const geometry g = geometry_of(height, width, taps);
    const uint weight_columns = in_channels * taps, columns = weight_columns + (has_bias ? 1 : 0);
    const uint2 range = split_range(z, per_split, n * g.plane.d);
    /* Both slices with the pixels fastest (consecutive in dout and in): this work-item's pixel
     * within a slice is fixed, its rows of A and columns of B lane + SIDE·i. */
    const uint kk = lid % DEPTH, lane = lid / DEPTH;
    float acc[R][R] = {{0.0f}};
    for (uint k0 = range.x; k0 < range.y; k0 += DEPTH) {
        uint k = k0 + kk, inside = k < range.y;
        uint sample = inside ? quotient(k, g.plane) : 0, pixel = k - sample * g.plane.d;
        uint y = quotient(pixel, g.width), x = pixel - y * g.width.d;
        __global const float *dout_pixel =
            dout + dout_offset + sample * out_channels * g.plane.d + pixel;
        __global const float *in_sample = in + in_offset + sample * in_channels * g.plane.d;
        for (uint i = 0; i < R; i++) {
            uint m = m0 + lane + SIDE * i;
            s.a[kk][lane + SIDE * i] =
                inside && m < out_channels ? dout_pixel[m * g.plane.d] : 0.0f;
        }
        for (uint i = 0; i < R; i++) {
            uint col = n0 + lane + SIDE * i;
            float v = inside && col == weight_columns ? 1.0f : 0.0f; /* the bias column */
            if (inside && col < weight_columns)
                v = tap_value(in_sample, channel_of(col, &g), tap_of(col, &g), y, x, &g);
            s.b[kk][lane + SIDE * i] = v;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        multiply_slices(&s, acc, tx, ty);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (uint i = 0; i < R; i++)
        for (uint jj = 0; jj < R; jj++) {
            uint m, col;
            if (!tile_output(m0, n0, i, jj, out_channels, columns, &m, &col)) continue;
            if (get_num_groups(2) == 1)
                weights_store(grads, w_offset, b_offset, weight_columns, m, col, acc[i][jj]);
            else
                partial[(z * out_channels + m) * columns + col] = acc[i][jj];
        }
}

/* The sums of the splits, once: in the 2 × 2 build only. */
#if R == 2
/* The sum over a pass's splits, in their order, then its epilogue: one work-item an output.
 * global (N, M). */
__kernel void gpu_conv_pass_splits(__global float *out, uint out_offset, uint channels,
                                   __global const float *weights, uint b_offset, uint has_bias,
                                   uint relu, __global const float *mask, uint mask_offset,
                                   uint has_mask, uint accumulate, uint height, uint width, uint n,
                                   uint splits, __global const float *partial)
{
    uint j = get_global_id(0), m = get_global_id(1);
    geometry g = geometry_of(height, width, 1);
    uint columns_total = n * g.plane.d;
    if (j >= columns_total || m >= channels) return;
    float sum = 0.0f;
    for (uint z = 0; z < splits; z++) sum += partial[(z * channels + m) * columns_total + j];
    pass_epilogue e = epilogue_of(out + out_offset, channels, weights, b_offset, has_bias, relu,
                                  mask, mask_offset, has_mask, accumulate);
    pass_store(&e, m, j, sum, &g);
}

/* The same for a weight gradient's splits. global (columns + has_bias, out_channels). */
__kernel void gpu_conv_weights_splits(__global float *grads, uint w_offset, uint b_offset,
                                      uint has_bias, uint out_channels, uint columns, uint splits,
                                      __global const float *partial)
{
    uint col = get_global_id(0), m = get_global_id(1), columns_total = columns + (has_bias ? 1 : 0);
    if (col >= columns_total || m >= out_channels) return;
    float sum = 0.0f;
    for (uint z = 0; z < splits; z++) sum += partial[(z * out_channels + m) * columns_total + col];
    weights_store(grads, w_offset, b_offset, columns, m, col, sum);
}
#endif
