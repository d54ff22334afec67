/* 2-D convolutions of NCHW images, stride 1, zero padding kernel/2, kernel 1 or 3 (see
 * src/model/ops/conv.h). A work-item makes a tile of CONV_CHANNELS channels × 16 pixels, each
 * channel's pixels one float16, so that every weight it loads feeds 16 multiply-adds and every
 * pixel CONV_CHANNELS (PoCL runs a work-item's loop as scalar code, so the vector width has to
 * be written into the kernel; float16 fills an AVX-512 register, two of AVX2's). Weights are
 * read as scalars and broadcast, which is why their usual order W[o][i][ky][kx] serves the
 * forward pass and the transposed (input-gradient) pass alike.
 *
 * A float16 is put together from two float8 by join16 and taken apart by half_of, never by
 * (float16)(lo, hi) or .hi: those compile to shufflevectors whose masks hold index 11, which
 * oclgrind 21.10's uninitialised-value check mistakes for an undefined lane (it compares
 * with LLVM's UndefValueVal, 11), and a truly undefined lane it reads out of bounds. Two
 * float8 per tile instead would avoid them too, but PoCL then uses half-width AVX-512
 * instructions: 5 to 30 % slower. */

/* The tile comes from the host's table (src/core/shapes.h) as -D options; V is its short
 * name here. CONV_CHANNELS is the number of output channels a work-item of conv_3x3 and
 * conv_1x1 takes, CONV_GRAD_CHANNELS those of conv_params_panels, one float16 accumulator
 * each: 8 fill half of AVX-512's 32 registers; AVX2's 16 registers of 8 floats hold 8 float16
 * only with nothing left for the operands, and 4 or 6 leave room. */
#if !defined(CONV_TILE) || !defined(CONV_CHANNELS) || !defined(CONV_GRAD_CHANNELS) ||              \
    !defined(CONV_GRID)
#error "build with the convolution shape parameters of src/core/shapes.h"
#endif
#if CONV_TILE != 8
#error "the pixel tiles are float8 rows"
#endif
#define V CONV_TILE

/* FOR_EACH(n, X) is X(0) … X(n − 1) for n = 4, 6 or 8: a work-item's channels as named
 * variables, which stay in registers where an array would not. */
#define FOR_4(X) X(0) X(1) X(2) X(3)
#define FOR_6(X) FOR_4(X) X(4) X(5)
#define FOR_8(X) FOR_6(X) X(6) X(7)
#define FOR_EACH_(n, X) FOR_##n(X)
#define FOR_EACH(n, X) FOR_EACH_(n, X)
#define FOR_CHANNELS(X) FOR_EACH(CONV_CHANNELS, X)
/* CONV_GRID says which of conv_3x3's and conv_1x1's two tile indices is the launch's first
 * dimension, the one a device walks fastest: 1, the pixel blocks (work-items in a row share
 * their weights and each reads its own pixels); 2, the channel blocks (they share their
 * pixels, which then stay in cache while each reads its own weights). */
#if CONV_GRID == 1
#define PIXEL_BLOCK get_global_id(0)
#define CHANNEL_BLOCK get_global_id(1)
#elif CONV_GRID == 2
#define PIXEL_BLOCK get_global_id(1)
#define CHANNEL_BLOCK get_global_id(0)
#else
#error "CONV_GRID must be 1 or 2"
#endif
#if (CONV_CHANNELS != 4 && CONV_CHANNELS != 6 && CONV_CHANNELS != 8) ||                            \
    (CONV_GRAD_CHANNELS != 4 && CONV_GRAD_CHANNELS != 6 && CONV_GRAD_CHANNELS != 8)
#error "CONV_CHANNELS and CONV_GRAD_CHANNELS must be 4, 6 or 8"
#endif

/* lo then hi. Widened to 16 lanes by repeating them (masks 0 to 7) and picked by select,
 * which oclgrind runs as a builtin and PoCL folds into the one instruction of a join. */
static float16 join16(float8 lo, float8 hi)
{
    return select(lo.s0123456701234567, hi.s0123456701234567,
                  (int16)(0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1));
}

/* Half k of v (0: lanes 0 to 7, 1: lanes 8 to 15), through private memory, which oclgrind
 * does not see through (vstore16 and vload8 are its builtins); only the epilogues use it. */
static float8 half_of(float16 v, uint k)
{
    float m[2 * V];
    vstore16(v, 0, m);
    return vload8(k, m);
}

/* (Written with branches rather than `valid > V ? valid − V : 0`, which LLVM turns into a
 * saturating subtraction that oclgrind cannot run.) */
static float16 load16_first(__global const float *p, uint valid)
{
    if (valid >= 2 * V) return vload16(0, p);
    if (valid <= V) return join16(load8_first(p, valid), (float8)(0.0f));
    return join16(vload8(0, p), load8_first(p + V, valid - V));
}

/* Fixed trees (sum8 in common.clh), so that gradient sums repeat bit for bit. */
static float sum16(float16 v) { return sum8(half_of(v, 0)) + sum8(half_of(v, 1)); }

/* The first `valid` (1 to 7) of 8 floats without a branch: the lanes past them read the last
 * valid one again and are then zeroed. */
static float8 load8_part(__global const float *p, uint valid)
{
    uint last = valid - 1;
    float8 v = (float8)(p[0], p[min(1u, last)], p[min(2u, last)], p[min(3u, last)],
                        p[min(4u, last)], p[min(5u, last)], p[min(6u, last)], p[min(7u, last)]);
    return select((float8)(0.0f), v, (int8)(0, 1, 2, 3, 4, 5, 6, 7) < (int8)((int)valid));
}

/* Where a 3×3 tile's 8 columns x0 … x0 + 7 are and their neighbours x0 − 1 and x0 + 8:
 * indices clamped into the row, and scale 0 for a neighbour outside the image. With the
 * same for rows (row_source), the loops over channels and pixels need no branches, which
 * PoCL runs several times slower. */
typedef struct columns {
    uint x0, valid, before, after;
    float before_scale, after_scale;
} columns;

static columns columns_at(uint x0, uint width)
{
    /* max of ints: `x0 > 0 ? x0 − 1 : 0` becomes a saturating subtraction oclgrind lacks */
    columns c = {x0,
                 min((uint)V, width - x0),
                 (uint)max((int)x0 - 1, 0),
                 min(x0 + V, width - 1),
                 x0 > 0 ? 1.0f : 0.0f,
                 x0 + V < width ? 1.0f : 0.0f};
    return c;
}

/* A row above or below the image reads the nearest row, scaled by 0. */
typedef struct row_source {
    uint offset;
    float scale;
} row_source;

static row_source row_source_at(int y, uint height, uint width)
{
    row_source s = {(uint)clamp(y, 0, (int)height - 1) * width,
                    y >= 0 && y < (int)height ? 1.0f : 0.0f};
    return s;
}

/* The 8 pixels of a tile in one row; `full` (a constant at every call, so the test folds
 * away) says whether all 8 are inside the image. */
static float8 load_pixels(__global const float *plane, row_source s, columns c, int full)
{
    __global const float *p = plane + s.offset + c.x0;
    return (full ? vload8(0, p) : load8_part(p, c.valid)) * s.scale;
}

/* The three float8 a 3-wide kernel needs from a row: the row seen one pixel to the left, the
 * pixels themselves, one to the right (zeros outside the image). */
typedef struct row3 {
    float8 left, mid, right;
} row3;

static row3 load_row3(__global const float *plane, row_source s, columns c, int full)
{
    row3 r;
    r.mid = load_pixels(plane, s, c, full);
    float left = plane[s.offset + c.before] * (s.scale * c.before_scale);
    float right = plane[s.offset + c.after] * (s.scale * c.after_scale);
    /* (A swizzle and a lane store rather than (float8)(left, r.mid.s012, r.mid.s3456), whose
     * pieces compile to the masks oclgrind misreads, see the top.) */
    r.left = r.mid.s00123456;
    r.left.s0 = left;
    r.right = r.mid.s12345677;
    r.right.s7 = right;
    return r;
}

/* The rows of two samples 4 pixels wide side by side in the 8 lanes (lanes 0–3 sample a, 4–7
 * sample b), so that the last level's 4×4 images fill a tile instead of half of it; the
 * neighbours one to the left and right stay within each sample (zero past its edges). */
static row3 load_row3_pair(__global const float *plane_a, __global const float *plane_b,
                           row_source s)
{
    row3 r;
    r.mid = (float8)(vload4(0, plane_a + s.offset), vload4(0, plane_b + s.offset)) * s.scale;
    r.left = select((float8)(0.0f), r.mid.s00124456, (int8)(0, -1, -1, -1, 0, -1, -1, -1));
    r.right = select((float8)(0.0f), r.mid.s12335677, (int8)(-1, -1, -1, 0, -1, -1, -1, 0));
    return r;
}

/* APPLY(k, pixels) for the 9 taps k of a 3×3 kernel in the weights' order (dy, dx = −1, 0, 1),
 * pixels being tap k's float16 over a tile's two rows, from the rows row3 `above`, `upper`,
 * `lower` and `below` around them (the names in scope where it is used). */
#define TAPS_3X3(APPLY)                                                                            \
    APPLY(0, join16(above.left, upper.left));                                                      \
    APPLY(1, join16(above.mid, upper.mid));                                                        \
    APPLY(2, join16(above.right, upper.right));                                                    \
    APPLY(3, join16(upper.left, lower.left));                                                      \
    APPLY(4, join16(upper.mid, lower.mid));                                                        \
    APPLY(5, join16(upper.right, lower.right));                                                    \
    APPLY(6, join16(lower.left, below.left));                                                      \
    APPLY(7, join16(lower.mid, below.mid));                                                        \
    APPLY(8, join16(lower.right, below.right))

/* The work-item's channel tiles acc0, acc1, …, one float16 of pixels each. */
#define ACC_DECLARE(j) float16 acc##j = (float16)(0.0f);
#define TILE_DECLARE() FOR_CHANNELS(ACC_DECLARE)
/* acc_j += w[j] · pixels for the work-item's channels, w pointing at their weights side by side
 * (conv_pack_weights' layout). */
#define ACC_ADD(j) acc##j += tile_w_[j] * tile_p_;
#define TILE_ADD(w, pixels)                                                                        \
    do {                                                                                           \
        __global const float *tile_w_ = (w);                                                       \
        float16 tile_p_ = (pixels);                                                                \
        FOR_CHANNELS(ACC_ADD)                                                                      \
    } while (0)

/* What happens to 8 finished pixels of channel `channel` before they are stored: bias and
 * ReLU in the forward pass, the ReLU mask of the input and accumulation in the
 * input-gradient pass. */
typedef struct epilogue {
    __global const float *bias; /* NULL: none */
    uint relu;
    __global const float *mask; /* laid out as the output; NULL: none */
    uint accumulate;
} epilogue;

/* Lanes 4–7 of v (the second sample of a pair of 4-wide rows) in lanes 0–3, and again in 4–7,
 * which a store of 4 leaves alone. (Not followed by zeros: that shuffle's mask would hold 11.) */
static float8 upper_lanes(float8 v) { return v.s45674567; }

/* `out` and the mask point at their tensors' first element of the layer; `at` indexes both. */
static void finish8(__global float *out, uint at, uint channel, float8 v, uint valid,
                    const epilogue *e)
{
    if (e->bias) v += e->bias[channel];
    if (e->relu) v = fmax(v, (float8)(0.0f));
    if (e->mask) v = select((float8)(0.0f), v, load8_first(e->mask + at, valid) > 0.0f);
    if (e->accumulate) v += load8_first(out + at, valid);
    store8_first(out + at, v, valid);
}

/* finish8 for a whole tile row of 16 pixels in one float16 (conv_1x1's full tiles). */
static void finish16(__global float *out, uint at, uint channel, float16 v, const epilogue *e)
{
    if (e->bias) v += e->bias[channel];
    if (e->relu) v = fmax(v, (float16)(0.0f));
    if (e->mask) v = select((float16)(0.0f), v, vload16(0, e->mask + at) > 0.0f);
    if (e->accumulate) v += vload16(0, out + at);
    vstore16(v, 0, out + at);
}

/* One pass of a 3×3 layer, out[b][c][y][x] = Σ_r Σ_taps W(c, r, tap) · in[b][r][y+dy][x+dx]:
 * the forward pass (c = output channel, r = input channel) and, with the kernel flipped and
 * the roles of the channels swapped, the input gradient, W coming from conv_pack_weights
 * (which does the flipping and swapping) with its 9 taps, dy, dx = −1, 0, 1, as the reduced
 * index r·9 + tap, and the bias, if any, at b_offset of `weights`. The 16 pixels of a tile
 * are 8 of row y0 (the low half) and the same 8 of row y0 + 1, which share three of the four
 * input rows they read. With `pairs` (images 4 wide) a tile's rows hold samples 2·b and
 * 2·b + 1 side by side (the last sample alone when n is odd).
 * global (⌈width/8⌉·⌈height/2⌉, ⌈out_channels/CONV_CHANNELS⌉, n or ⌈n/2⌉). */
__kernel void conv_3x3(__global float *out, uint out_offset, uint out_channels,
                       __global const float *in, uint in_offset, uint in_channels,
                       __global const float *packed_weights, __global const float *weights,
                       uint b_offset, uint has_bias, uint relu, __global const float *mask,
                       uint mask_offset, uint has_mask, uint accumulate, uint height, uint width,
                       uint x_blocks, uint n, uint pairs)
{
    uint block = PIXEL_BLOCK, c0 = CHANNEL_BLOCK * CONV_CHANNELS, b = get_global_id(2);
    uint row_pair = block / x_blocks, x0 = (block - row_pair * x_blocks) * V;
    int y0 = (int)(row_pair * 2);
    b = pairs ? 2 * b : b;
    if (y0 >= (int)height || c0 >= out_channels || b >= n) return;
    uint b_second = pairs ? min(b + 1, n - 1) : b;
    uint hw = height * width, valid = min((uint)V, width - x0);
    uint lanes = min((uint)CONV_CHANNELS, out_channels - c0);
    TILE_DECLARE()
    __global const float *plane = in + in_offset + b * in_channels * hw;
    __global const float *plane_second = in + in_offset + b_second * in_channels * hw;
    __global const float *w_channel = packed_weights + c0 * in_channels * 9;
    columns cols = columns_at(x0, width);
    row_source src_above = row_source_at(y0 - 1, height, width),
               src_upper = row_source_at(y0, height, width),
               src_lower = row_source_at(y0 + 1, height, width),
               src_below = row_source_at(y0 + 2, height, width);
#define CHANNEL_3X3(LOAD_ROW)                                                                      \
    do {                                                                                           \
        row3 above = LOAD_ROW(src_above);                                                          \
        row3 upper = LOAD_ROW(src_upper);                                                          \
        row3 lower = LOAD_ROW(src_lower);                                                          \
        row3 below = LOAD_ROW(src_below);                                                          \
        __global const float *w_tap = w_channel;                                                   \
        TAPS_3X3(TAP_ADD);                                                                         \
    } while (0)
#define TAP_ADD(k, pixels) TILE_ADD(w_tap + (k)*CONV_CHANNELS, pixels)
    /* Three copies of the loop keep the test for the kind of tile out of the loops. */
#define ROW_FULL(src) load_row3(plane, src, cols, 1)
#define ROW_PART(src) load_row3(plane, src, cols, 0)
#define ROW_PAIR(src) load_row3_pair(plane, plane_second, src)
#define CHANNELS(LOAD_ROW)                                                                         \
    for (uint r = 0; r < in_channels;                                                              \
         r++, plane += hw, plane_second += hw, w_channel += 9 * CONV_CHANNELS)                     \
    CHANNEL_3X3(LOAD_ROW)
    if (pairs)
        CHANNELS(ROW_PAIR);
    else if (valid == V)
        CHANNELS(ROW_FULL);
    else
        CHANNELS(ROW_PART);
#undef CHANNELS
#undef ROW_PAIR
#undef ROW_PART
#undef ROW_FULL
#undef TAP_ADD
#undef CHANNEL_3X3
    epilogue e = {has_bias ? weights + b_offset : NULL, relu, has_mask ? mask + mask_offset : NULL,
                  accumulate};
    out += out_offset;
    uint at = (b * out_channels + c0) * hw + (uint)y0 * width + x0;
    uint at_second = (b_second * out_channels + c0) * hw + (uint)y0 * width;
    int second_row = y0 + 1 < (int)height, second_sample = b_second != b;
    /* With pairs, valid is 4: finish8 stores a row's lanes 0–3, and lanes 4–7 (the second
     * sample's) go to their own place through upper_lanes. */
#define FINISH(j)                                                                                  \
    if (j < lanes) {                                                                               \
        float8 upper = half_of(acc##j, 0), lower = half_of(acc##j, 1);                             \
        finish8(out, at + (j)*hw, c0 + (j), upper, valid, &e);                                     \
        if (second_row) finish8(out, at + (j)*hw + width, c0 + (j), lower, valid, &e);             \
        if (second_sample) {                                                                       \
            finish8(out, at_second + (j)*hw, c0 + (j), upper_lanes(upper), 4, &e);                 \
            if (second_row)                                                                        \
                finish8(out, at_second + (j)*hw + width, c0 + (j), upper_lanes(lower), 4, &e);     \
        }                                                                                          \
    }
    FOR_CHANNELS(FINISH)
#undef FINISH
}

/* The 1×1 layer, a GEMM over the input channels: as conv_3x3 without neighbours, a tile's 16
 * pixels taken in a row over the whole image (small images lose no lanes), read from the input
 * in conv_pack_panels' layout, panels[b][p / 16][r][p % 16], so that a work-item's pixels are
 * one contiguous stream (whole planes apart, as they come, they fell into a few L1 sets: at
 * 16×16 pixels every load missed).
 * global (⌈height·width/16⌉, ⌈out_channels/CONV_CHANNELS⌉, n), in CONV_GRID's order. */
__kernel void conv_1x1(__global float *out, uint out_offset, uint out_channels,
                       __global const float *panels, uint in_channels,
                       __global const float *packed_weights, __global const float *weights,
                       uint b_offset, uint has_bias, uint relu, __global const float *mask,
                       uint mask_offset, uint has_mask, uint accumulate, uint hw, uint n)
{
    uint pixel_block = PIXEL_BLOCK, c0 = CHANNEL_BLOCK * CONV_CHANNELS, b = get_global_id(2);
    uint p0 = pixel_block * 2 * V, pixel_blocks = (hw + 2 * V - 1) / (2 * V);
    if (p0 >= hw || c0 >= out_channels || b >= n) return;
    uint valid = min(2u * V, hw - p0), lanes = min((uint)CONV_CHANNELS, out_channels - c0);
    TILE_DECLARE()
    __global const float *pixels = panels + (b * pixel_blocks + pixel_block) * in_channels * 2 * V;
    __global const float *w_block = packed_weights + c0 * in_channels;
    for (uint r = 0; r < in_channels; r++, w_block += CONV_CHANNELS)
        TILE_ADD(w_block, vload16(r, pixels));
    epilogue e = {has_bias ? weights + b_offset : NULL, relu, has_mask ? mask + mask_offset : NULL,
                  accumulate};
    out += out_offset;
    uint at = (b * out_channels + c0) * hw + p0;
    /* The second half's pixel count as an int, for the same reason as in columns_at. */
    uint valid_lo = min(valid, (uint)V);
    int valid_hi = (int)valid - V;
#define FINISH(j)                                                                                  \
    if (j < lanes) {                                                                               \
        if (valid == 2 * V) {                                                                      \
            finish16(out, at + (j)*hw, c0 + (j), acc##j, &e);                                      \
        } else {                                                                                   \
            finish8(out, at + (j)*hw, c0 + (j), half_of(acc##j, 0), valid_lo, &e);                 \
            if (valid_hi > 0)                                                                      \
                finish8(out, at + (j)*hw + V, c0 + (j), half_of(acc##j, 1), (uint)valid_hi, &e);   \
        }                                                                                          \
    }
    FOR_CHANNELS(FINISH)
#undef FINISH
}

/* The weights of conv_1x1 and conv_3x3, W(c, r·taps + t) = weights[w_offset + c·lane_stride +
 * r·reduced_stride + t'] for t < taps, t' = t or, with flip, taps − 1 − t (the forward pass's
 * W[o][i][t]; the input gradient's W[o][i][taps − 1 − t] as W(i, o·taps + t)), as packed[c /
 * CONV_CHANNELS][r·taps + t][c % CONV_CHANNELS]: the CONV_CHANNELS weights a work-item
 * multiplies by one row of pixels side by side, and the next row's after them, so that its
 * weights are one stream (CONV_CHANNELS rows 18 KiB apart fell into two cache sets). Channels
 * past the last repeat it (their sums are not stored).
 * global (reduced·taps, ⌈channels/CONV_CHANNELS⌉). */
__kernel void conv_pack_weights(__global float *packed, __global const float *weights,
                                uint w_offset, uint lane_stride, uint reduced_stride, uint taps,
                                uint flip, uint channels, uint reduced)
{
    uint k = get_global_id(0), block = get_global_id(1);
    if (k >= reduced * taps || block * CONV_CHANNELS >= channels) return;
    uint r = k / taps, t = k - r * taps;
    __global const float *source =
        weights + w_offset + r * reduced_stride + (flip ? taps - 1 - t : t);
    __global float *row = packed + (block * reduced * taps + k) * CONV_CHANNELS;
    for (uint j = 0; j < CONV_CHANNELS; j++)
        row[j] = source[min(block * CONV_CHANNELS + j, channels - 1) * lane_stride];
}

/* conv_1x1's input layout: panels[b][p / 16][r][p % 16] = in[b][r][p] for r < channels, the
 * pixels past the last of the last panel zero. A work-item moves 16 channels × 16 pixels, each
 * channel's 16 pixels one load and one store. global (⌈hw/16⌉, ⌈channels/16⌉, n). */
__kernel void conv_pack_panels(__global float *panels, __global const float *in, uint in_offset,
                               uint channels, uint hw, uint n)
{
    uint pixel_block = get_global_id(0), r0 = get_global_id(1) * 2 * V, b = get_global_id(2);
    uint p0 = pixel_block * 2 * V, pixel_blocks = (hw + 2 * V - 1) / (2 * V);
    if (p0 >= hw || r0 >= channels || b >= n) return;
    uint valid = min(2u * V, hw - p0);
    __global const float *source = in + in_offset + (b * channels + r0) * hw + p0;
    __global float *panel = panels + (b * pixel_blocks + pixel_block) * channels * 2 * V;
    for (uint r = r0; r < min(r0 + 2 * V, channels); r++, source += hw)
        vstore16(valid == 2 * V ? vload16(0, source) : load16_first(source, valid), r, panel);
}

/* Pixel p of a column of conv_1x1's panels (see conv_pack_panels), `stride` floats from one
 * panel of 16 pixels to the next. */
#define PANEL_AT(column, stride, p) ((column) + (p) / (2 * V) * (stride) + (p) % (2 * V))

/* Pixels p0 … p0 + width − 1 of a column: source[x + kx − 1], zero where that is outside the
 * row, or everywhere when source is NULL (a row above or below the image). */
static void shifted_row(__global float *column, uint stride, uint p0, __global const float *source,
                        uint kx, uint width)
{
    for (uint x = 0; x < width; x++) {
        uint sx = x + kx; /* the source column + 1 */
        *PANEL_AT(column, stride, p0 + x) =
            source && sx >= 1 && sx <= width ? source[sx - 1] : 0.0f;
    }
}

/* shifted_row for rows of whole groups of 4 (every CIFAR level's): 4 columns a store, which
 * stay within a panel as p0 is a multiple of 4 too. The edge's zero goes in by select, like
 * join16's (a swizzle then a lane store of 0.0f folds into a shuffle with a zero vector, which
 * crashes oclgrind 21.10). */
static void shifted_row4(__global float *column, uint stride, uint p0, __global const float *source,
                         uint kx, uint width)
{
    for (uint x0 = 0; x0 < width; x0 += 4) {
        float4 v = 0.0f;
        if (source && kx == 1) {
            v = vload4(0, source + x0);
        } else if (source && kx == 0) {
            if (x0 > 0) {
                v = vload4(0, source + x0 - 1);
            } else {
                v = select(vload4(0, source).s0012, (float4)(0.0f), (int4)(-1, 0, 0, 0));
            }
        } else if (source) {
            if (x0 + 4 < width) {
                v = vload4(0, source + x0 + 1);
            } else {
                v = select(vload4(0, source + x0).s1233, (float4)(0.0f), (int4)(0, 0, 0, -1));
            }
        }
        vstore4(v, 0, PANEL_AT(column, stride, p0 + x0));
    }
}

/* The 3×3 neighbourhoods of a batch as channels (im2col), written straight into conv_1x1's
 * panels, so that conv_1x1 over the 9·in_channels columns is the 3×3 layer: column
 * j = i·9 + ky·3 + kx of pixel p = y·w + x is in[b][i][y + ky − 1][x + kx − 1], zero outside the
 * image, at panels[b][p / 16][j][p % 16]; the pixels past the last of the last panel are zero.
 * The column order is the weights' own, W[o][i][ky][kx]. A work-item writes the 9 columns of
 * one input plane, row by row: each row a copy of an input row shifted by kx − 1, its edge
 * zero (one work-item per value, with its divisions and tests, took ~20 % of the 3×3 forward
 * pass). global (in_channels, n). */
__kernel void conv_pack_columns(__global float *panels, __global const float *in, uint in_offset,
                                uint in_channels, uint height, uint width, uint n)
{
    uint i = get_global_id(0), b = get_global_id(1), hw = height * width;
    if (i >= in_channels || b >= n) return;
    uint pixel_blocks = (hw + 2 * V - 1) / (2 * V), stride = 9 * in_channels * 2 * V;
    __global const float *plane = in + in_offset + (b * in_channels + i) * hw;
    __global float *column = panels + (b * pixel_blocks * 9 * in_channels + i * 9) * 2 * V;
    for (uint ky = 0; ky < 3; ky++)
        for (uint kx = 0; kx < 3; kx++, column += 2 * V) {
            for (uint y = 0; y < height; y++) {
                int sy = (int)y + (int)ky - 1;
                __global const float *source =
                    sy < 0 || sy >= (int)height ? NULL : plane + (uint)sy * width;
                if (width % 4 == 0)
                    shifted_row4(column, stride, y * width, source, kx, width);
                else
                    shifted_row(column, stride, y * width, source, kx, width);
            }
            for (uint p = hw; p < pixel_blocks * 2 * V; p++) *PANEL_AT(column, stride, p) = 0.0f;
        }
}

/* Samples of a layer's input transposed for conv_params_panels, in panels of 16 channels, with
 * `pad` zero pixels around each image (1 for a 3×3 layer's weight gradient, whose 9 taps then
 * read shifted windows of the same panels; 0 for a 1×1 layer): for q = (y + pad)·(w + 2·pad) +
 * x + pad, packed[i / 16][b][q][i % 16] = in[b][i][y][x], in_channels rounded up to `width` (a
 * multiple of 16) with the pad zero; in_offset is sample 0's. A panel is one contiguous stream
 * over the pixels, which is how the gradient kernel reads it (rows of the whole width, 2 KiB
 * apart for 512 channels, fell into a few cache sets and missed the L1 cache at every pixel).
 * A work-item transposes 16 pixels × 16 channels, writing each pixel's 16 channels as one
 * float16 (one work-item per value took ~4 % of the image model's training step).
 * global (⌈(h + 2·pad)·(w + 2·pad)/16⌉, width/16, samples). */
__kernel void conv_pack_pixels(__global float *packed, __global const float *in, uint in_offset,
                               uint in_channels, uint width, uint height, uint image_width,
                               uint samples, uint pad)
{
    uint padded_width = image_width + 2 * pad, padded = (height + 2 * pad) * padded_width;
    uint q0 = get_global_id(0) * 2 * V, i0 = get_global_id(1) * 2 * V, b = get_global_id(2);
    if (q0 >= padded || i0 >= width || b >= samples) return;
    uint hw = height * image_width;
    __global const float *source = in + in_offset + b * in_channels * hw;
    __global float *row = packed + (i0 * samples + b * 2 * V) * padded + q0 * 2 * V;
    /* Channels past the last read the last one and are zeroed, like pixels in the border. */
    uint last = in_channels - 1;
    for (uint q = q0; q < min(q0 + 2 * V, padded); q++, row += 2 * V) {
        uint yp = q / padded_width, xp = q - yp * padded_width;
        int inside = yp >= pad && yp < height + pad && xp >= pad && xp < image_width + pad;
        uint p = inside ? (yp - pad) * image_width + xp - pad : 0;
        float lanes[2 * V];
        for (uint c = 0; c < 2 * V; c++)
            lanes[c] = inside && i0 + c < in_channels ? source[min(i0 + c, last) * hw + p] : 0.0f;
        vstore16(vload16(0, lanes), 0, row);
    }
}

/* Samples of a 3×3 layer's input as the columns of its weight gradient (im2col, pixel-major):
 * column j = i·9 + ky·3 + kx of pixel q = b·h·w + y·w + x is in[b][i][y + ky − 1][x + kx − 1]
 * (zero outside the image), stored in conv_pack_pixels' panels, packed[j / 16][q][j % 16], the
 * columns rounded up to `width` (a multiple of 16) with the pad zero, so that
 * conv_params_panels with 9·in_channels "channels" sums dW[o][i][ky][kx] in the weights'
 * own order. in_offset is sample 0's. A work-item writes the 9 taps of one (pixel, channel):
 * one a value took ~2 % of the image model's training step, and one a pixel's whole row varies
 * 85-fold in work between layers, which misleads PoCL's per-kernel estimate of a launch's
 * length (it ran the 512-input layers' packing on one thread). global (h·w, in_channels,
 * samples). */
__kernel void conv_pack_taps(__global float *packed, __global const float *in, uint in_offset,
                             uint in_channels, uint width, uint height, uint image_width,
                             uint samples)
{
    uint p = get_global_id(0), i = get_global_id(1), b = get_global_id(2);
    uint hw = height * image_width;
    if (p >= hw || i >= in_channels || b >= samples) return;
    uint y = p / image_width, x = p - y * image_width;
    __global const float *plane = in + in_offset + (b * in_channels + i) * hw;
    __global float *pixel = packed + (b * hw + p) * 2 * V;
    uint panel_floats = samples * hw * 2 * V;
    for (uint ky = 0; ky < 3; ky++) {
        /* The source row and column, each + 1 so that the one before the image is 0. */
        uint sy = y + ky;
        for (uint kx = 0; kx < 3; kx++) {
            uint sx = x + kx, j = i * 9 + ky * 3 + kx;
            pixel[j / (2 * V) * panel_floats + j % (2 * V)] =
                sy >= 1 && sy <= height && sx >= 1 && sx <= image_width
                    ? plane[(sy - 1) * image_width + sx - 1]
                    : 0.0f;
        }
    }
    if (i + 1 == in_channels) /* the last channel's item also zeroes the row's pad */
        for (uint j = 9 * in_channels; j < width; j++)
            pixel[j / (2 * V) * panel_floats + j % (2 * V)] = 0.0f;
}

/* Weight gradients from the input in conv_pack_pixels' or conv_pack_taps' panels: for each
 * column j of the panels (an input channel, or a (channel, tap) pair of im2col) and each tap
 * (ky, kx) of a `kernel_size` square, dW[o][j][ky][kx] += Σ_b Σ_y Σ_x dout[b][o][y][x] ·
 * panel_j[b][y + ky][x + kx], the panels' images (kernel_size − 1) wider and higher than dout's
 * (their zero border). A 3×3 layer with many inputs takes kernel_size 3 over padded panels; a
 * 1×1 layer, and a 3×3 one through im2col, kernel_size 1 over unpadded ones. A work-item owns
 * CONV_GRAD_CHANNELS output channels × 16 columns of one tap: per pixel one float16 of the
 * panel and a scalar of dout per output channel feed that many float16 multiply-adds (with
 * both operands along the pixels, as they come, every 16 multiply-adds would cost 8 loads).
 * Each sum runs over b, y, x in order. Rows past the last output channel repeat it and are not
 * stored. global (width/16 · kernel_size², ⌈out_channels/CONV_GRAD_CHANNELS⌉). */
__kernel void conv_params_panels(__global float *grads, uint w_offset, __global const float *dout,
                                 uint dout_offset, __global const float *panels, uint columns,
                                 uint width, uint out_channels, uint kernel_size, uint height,
                                 uint image_width, uint n)
{
    uint taps = kernel_size * kernel_size, block = get_global_id(0) / taps;
    uint tap = get_global_id(0) - block * taps, i0 = block * 2 * V;
    uint o0 = get_global_id(1) * CONV_GRAD_CHANNELS;
    if (i0 >= width || o0 >= out_channels) return;
    uint ky = tap / kernel_size, kx = tap - ky * kernel_size;
    uint padded_width = image_width + kernel_size - 1;
    uint padded = (height + kernel_size - 1) * padded_width, hw = height * image_width;
    uint last = out_channels - 1;
    FOR_EACH(CONV_GRAD_CHANNELS, ACC_DECLARE)
    for (uint b = 0; b < n; b++) {
        __global const float *g = dout + dout_offset + b * out_channels * hw;
#define ROW_OF(j) __global const float *g##j = g + min(o0 + (j), last) * hw;
        FOR_EACH(CONV_GRAD_CHANNELS, ROW_OF)
#undef ROW_OF
        __global const float *x =
            panels + ((i0 * n + b * 2 * V) * padded) + ky * padded_width * 2 * V;
        for (uint y = 0; y < height; y++, x += padded_width * 2 * V) {
            for (uint xx = 0; xx < image_width; xx++) {
                float16 v = vload16(xx + kx, x);
                uint p = y * image_width + xx;
#define PIXEL_FMA(j) acc##j = fma((float16)(g##j[p]), v, acc##j);
                FOR_EACH(CONV_GRAD_CHANNELS, PIXEL_FMA)
#undef PIXEL_FMA
            }
        }
    }
    __global float *dw = grads + w_offset + i0 * taps + tap;
    uint ni = min(16u, columns - min(i0, columns));
#define ROW_VALUE(j) acc##j,
    float16 rows[CONV_GRAD_CHANNELS] = {FOR_EACH(CONV_GRAD_CHANNELS, ROW_VALUE)};
#undef ROW_VALUE
    for (uint r = 0; r < CONV_GRAD_CHANNELS && o0 + r < out_channels; r++) {
        float values[16];
        vstore16(rows[r], 0, values);
        for (uint j = 0; j < ni; j++) dw[((o0 + r) * columns + j) * taps] += values[j];
    }
}

/* db[o] += Σ_b Σ_p dout[b][o][p], 16 pixels at a time in a fixed order. global (out_channels). */
__kernel void conv_params_bias(__global float *grads, uint b_offset, __global const float *dout,
                               uint dout_offset, uint out_channels, uint hw, uint n)
{
    uint o = get_global_id(0);
    if (o >= out_channels) return;
    float16 sum = (float16)(0.0f);
    for (uint b = 0; b < n; b++) {
        __global const float *g = dout + dout_offset + (b * out_channels + o) * hw;
        for (uint p = 0; p < hw; p += 2 * V) sum += load16_first(g + p, min(2u * V, hw - p));
    }
    grads[b_offset + o] += sum16(sum);
}
