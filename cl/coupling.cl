/* The affine coupling layer for vectors, fused: one work-item takes R samples through both
 * networks (scale and shift, the two groups of the same dense layers), the element-wise
 * transform and, going back, through the networks' input gradients. On a CPU device a launch
 * per layer costs more than the layer itself (256 samples × 64 hidden units), and PoCL runs a
 * work-item's loops as scalar code, so the 16- and 8-wide vectors are written out here.
 *
 * Layout (ops/coupling.c): the layers' parameters follow each other from w_first: layer k holds
 * Wᵀ[g][i][o] (input-major, so rows of outputs are contiguous) then b[g][o]; layer 0 reads the
 * conditioning half a, layers 1..depth−1 read the previous hidden layer, layer `depth` writes
 * the networks' outputs. hidden[k][g][row][h] keeps the ReLU outputs and nets[g][row][j] the
 * outputs (raw scale at g = 0, shift t at g = 1) for the backward pass; capacity is the row
 * stride between groups. s = scale ⊙ tanh(raw), so exp(s) can neither overflow nor vanish.
 * The backward pass reads the weights transposed, W[g][o][i] (transpose_weight_row), so that
 * it too runs along contiguous rows. */

/* The shape parameters come from the host's table (src/core/shapes.h) as -D options. */
#if !defined(COUPLING_ROWS) || !defined(COUPLING_VECTOR) || !defined(COUPLING_TILE_IN) ||          \
    !defined(COUPLING_TILE_OUT) || !defined(VECTOR_FIELDS) || !defined(VECTOR_MAX_DIM)
#error "build with the coupling shape parameters of src/core/shapes.h"
#endif
#if COUPLING_VECTOR != 8 || COUPLING_TILE_OUT != 16 || COUPLING_TILE_IN != 4
#error "the dense layers' sums are written out in float8 and float16, a gradient tile's in 4"
#endif

/* Short names: the vector width, and the rows per work-item. Each weight loaded feeds R rows
 * (an R × 16 tile of outputs in R float16 registers), which is what makes the layers
 * compute-bound rather than load-bound. Each row's input is read as a scalar that the FMA
 * broadcasts from memory. */
#define V COUPLING_VECTOR
#define R COUPLING_ROWS

/* Input and output widths of layer k. */
static void layer_shape(uint k, uint a_dim, uint hidden, uint b_dim, uint depth, uint *in_dim,
                        uint *out_dim)
{
    *in_dim = k == 0 ? a_dim : hidden;
    *out_dim = k == depth ? b_dim : hidden;
}

/* The offset of layer k's weights and biases in the parameter vector (bias_gap 1), or of its
 * weights in the transposed copy (bias_gap 0). */
static uint layer_offset(uint k, uint first, uint a_dim, uint hidden, uint b_dim, uint depth,
                         uint bias_gap)
{
    uint at = first;
    for (uint layer = 0; layer < k; layer++) {
        uint in_dim, out_dim;
        layer_shape(layer, a_dim, hidden, b_dim, depth, &in_dim, &out_dim);
        at += 2 * in_dim * out_dim + bias_gap * 2 * out_dim;
    }
    return at;
}

/* What dense_rows does with a sum before storing it. */
enum { STORE, STORE_RELU, STORE_MASKED, ADD };

/* Row r of `rows` (r < R); rows past the end alias row 0, are computed, and not stored. */
#define ROW(p, ld, r, rows) ((p) + ((r) < (rows) ? (r) * (ld) : 0))

/* put8 and put16: y = v, v through a ReLU, v where mask > 0 (else 0), or y + v, per `mode`. */
#define PUT(name, floatn, loadn, storen)                                                           \
    static void name(__global float *y, floatn v, uint mode, __global const float *mask)           \
    {                                                                                              \
        if (mode == STORE_RELU) v = fmax(v, 0.0f);                                                 \
        if (mode == STORE_MASKED) v = select(v, (floatn)(0.0f), loadn(0, mask) <= 0.0f);           \
        storen(mode == ADD ? loadn(0, y) + v : v, 0, y);                                           \
    }
PUT(put8, float8, vload8, vstore8)
PUT(put16, float16, vload16, vstore16)

/* Inside dense_rows: the outputs from o on, `width` at a time while whole blocks remain, each
 * the R rows' sums in R registers of type floatn. */
#define DENSE_BLOCKS(floatn, width, loadn, put)                                                    \
    for (; o + (width) <= out_dim; o += (width)) {                                                 \
        floatn first = bias ? loadn(0, bias + o) : (floatn)(0.0f), a[R];                           \
        _Pragma("unroll") for (uint r = 0; r < R; r++) a[r] = first;                               \
        for (uint i = 0; i < in_dim; i++) {                                                        \
            floatn wi = loadn(0, w + i * out_dim + o);                                             \
            _Pragma("unroll") for (uint r = 0; r < R; r++) a[r] += xr[r][i] * wi;                  \
        }                                                                                          \
        _Pragma("unroll") for (uint r = 0; r < R; r++) if (r < rows)                               \
            put(y + r * y_ld + o, a[r], mode, mask + r * y_ld + o);                                \
    }

#if R != 4
#error "load_rows and store_rows hold a work-item's R rows in the lanes of a float4"
#endif

/* Element j of the R rows at p, stride apart, as the lanes of a vector (R = 4): the
 * element-wise parts take tanh and exp of 4 rows at once, which costs PoCL about what one
 * scalar call does. Rows past the end alias row 0 and are not stored. */
static float4 load_rows(__global const float *p, uint stride, uint rows)
{
    return (float4)(*ROW(p, stride, 0, rows), *ROW(p, stride, 1, rows), *ROW(p, stride, 2, rows),
                    *ROW(p, stride, 3, rows));
}

static void store_rows(__global float *p, uint stride, uint rows, float4 v)
{
    float lanes[R];
    vstore4(v, 0, lanes);
    for (uint r = 0; r < rows; r++) p[r * stride] = lanes[r];
}

/* y[r] = Σ_i x[r][i] · w[i][·] (+ bias) for up to R rows, then per `mode`: stored, stored
 * through a ReLU, stored where mask[r] (a ReLU output, same layout as y) was positive and zero
 * elsewhere (the gradient through that ReLU), or added to y. Each sum of the vector outputs
 * runs over i in order from the bias (or 0), as the reference does; the narrow outputs' sums
 * are split in 8 partial sums (see the loop). The loops over r are unrolled, so that the
 * arrays of R rows live in registers. */
static void dense_rows(__global float *y, uint y_ld, __global const float *x, uint x_ld,
                       uint in_dim, __global const float *w, __global const float *bias,
                       uint out_dim, uint mode, __global const float *mask, uint rows)
{
    __global const float *xr[R];
#pragma unroll
    for (uint r = 0; r < R; r++) xr[r] = ROW(x, x_ld, r, rows);
    uint o = 0;
    DENSE_BLOCKS(float16, 2 * V, vload16, put16)
    DENSE_BLOCKS(float8, V, vload8, put8)
    /* The last out_dim mod 8 outputs (all of them in the networks' output layers, one per
     * transformed dimension): a dot product of each row with a column of w, taken 8 inputs at
     * a time in a float8 per row, so that the rows' sums are R × 8 independent chains rather
     * than R chains of in_dim dependent additions. */
    for (; o < out_dim; o++) {
        float8 s[R];
#pragma unroll
        for (uint r = 0; r < R; r++) s[r] = 0.0f;
        uint i = 0;
        for (; i + V <= in_dim; i += V) {
            __global const float *wi = w + i * out_dim + o;
            float8 column =
                out_dim == 1
                    ? vload8(0, wi)
                    : (float8)(wi[0], wi[out_dim], wi[2 * out_dim], wi[3 * out_dim],
                               wi[4 * out_dim], wi[5 * out_dim], wi[6 * out_dim], wi[7 * out_dim]);
#pragma unroll
            for (uint r = 0; r < R; r++) s[r] += vload8(0, xr[r] + i) * column;
        }
        float b = bias ? bias[o] : 0.0f;
#pragma unroll
        for (uint r = 0; r < R; r++) {
            if (r >= rows) continue;
            __global const float *row = x + r * x_ld;
            float sum = b + sum8(s[r]);
            for (uint j = i; j < in_dim; j++) sum += row[j] * w[j * out_dim + o];
            uint at = r * y_ld + o;
            if (mode == STORE_RELU) sum = fmax(sum, 0.0f);
            if (mode == STORE_MASKED && mask[at] <= 0.0f) sum = 0.0f;
            y[at] = mode == ADD ? y[at] + sum : sum;
        }
    }
}

/* Both networks on the conditioning halves of rows first .. first + rows − 1 of `in`. */
static void run_nets_rows(uint first, uint rows, __global const float *in, __global float *hidden,
                          __global float *nets, __global const float *params, uint w_first,
                          uint capacity, uint dim, uint a_begin, uint a_dim, uint b_dim,
                          uint hidden_dim, uint depth)
{
    for (uint g = 0; g < 2; g++) {
        __global const float *x = in + first * dim + a_begin;
        uint x_ld = dim;
        for (uint k = 0; k <= depth; k++) {
            uint in_dim, out_dim;
            layer_shape(k, a_dim, hidden_dim, b_dim, depth, &in_dim, &out_dim);
            uint w = layer_offset(k, w_first, a_dim, hidden_dim, b_dim, depth, 1);
            uint b = w + 2 * in_dim * out_dim;
            __global float *y = k == depth ? nets + (g * capacity + first) * b_dim
                                           : hidden + ((k * 2 + g) * capacity + first) * hidden_dim;
            dense_rows(y, out_dim, x, x_ld, in_dim, params + w + g * in_dim * out_dim,
                       params + b + g * out_dim, out_dim, k < depth ? STORE_RELU : STORE, y, rows);
            x = y;
            x_ld = out_dim;
        }
    }
}

/* Row t of the transposed weights: transposed[g][o][i] = Wᵀ[g][i][o], the layers one after
 * the other without biases; row t is (g, o) of a layer. */
static void transpose_weight_row(__global float *transposed, __global const float *params,
                                 uint w_first, uint a_dim, uint b_dim, uint hidden_dim, uint depth,
                                 uint t)
{
    uint k = 0, first_row = 0, in_dim, out_dim;
    for (;; k++) {
        layer_shape(k, a_dim, hidden_dim, b_dim, depth, &in_dim, &out_dim);
        if (t < first_row + 2 * out_dim) break;
        first_row += 2 * out_dim;
    }
    uint u = t - first_row, g = u / out_dim, o = u - g * out_dim;
    uint w_layer = layer_offset(k, w_first, a_dim, hidden_dim, b_dim, depth, 1);
    __global const float *w = params + w_layer + g * in_dim * out_dim + o;
    __global float *row = transposed + layer_offset(k, 0, a_dim, hidden_dim, b_dim, depth, 0) +
                          (g * out_dim + o) * in_dim;
    for (uint i = 0; i < in_dim; i++) row[i] = w[i * out_dim];
}

/* Every coupling launch leaves the weights transposed for the backward pass, rows spread over
 * the work-items: a backward runs on the activations of its coupling's last launch (the encoder
 * pass, or its own direction 0 or decoder launch), which saw the same parameters, so it needs no
 * launch of its own for them. */
static void transpose_weights(__global float *transposed, __global const float *params,
                              uint w_first, uint a_dim, uint b_dim, uint hidden_dim, uint depth)
{
    uint weight_rows = 2 * (hidden_dim * depth + b_dim);
    for (uint t = get_global_id(0); t < weight_rows; t += get_global_size(0))
        transpose_weight_row(transposed, params, w_first, a_dim, b_dim, hidden_dim, depth, t);
}

/* The transform of rows first .. first + rows − 1 once the networks have run: out_b =
 * in_b·exp(s) + t (direction +1) or (in_b − t)·exp(−s) (−1), out_a = in_a. Returns each row's
 * log-determinant term, Σ_j s (negated for the decoder). */
static float4 transform_rows(__global float *out, __global const float *in,
                             __global const float *nets, __global const float *params,
                             uint scale_offset, uint first, uint rows, uint capacity, uint dim,
                             uint a_begin, uint a_dim, uint b_begin, uint b_dim, int direction)
{
    for (uint i = first; i < first + rows; i++)
        for (uint k = 0; k < a_dim; k++) out[i * dim + a_begin + k] = in[i * dim + a_begin + k];
    float4 sum = 0.0f;
    for (uint j = 0; j < b_dim; j++) {
        float4 raw = load_rows(nets + first * b_dim + j, b_dim, rows);
        float4 s = params[scale_offset + j] * tanh(raw);
        float4 t = load_rows(nets + (capacity + first) * b_dim + j, b_dim, rows);
        float4 v = load_rows(in + first * dim + b_begin + j, dim, rows);
        store_rows(out + first * dim + b_begin + j, dim, rows,
                   direction > 0 ? v * exp(s) + t : (v - t) * exp(-s));
        sum += s;
    }
    return direction > 0 ? sum : -sum;
}

/* direction +1: out_b = in_b·exp(s) + t (encoder); −1: out_b = (in_b − t)·exp(−s); 0: only the
 * networks (hidden and nets, for a backward pass whose encoder kept nothing). */
__kernel void coupling_forward(__global float *out, __global const float *in,
                               __global float *logdet, __global float *hidden, __global float *nets,
                               __global float *transposed, __global const float *params,
                               uint w_first, uint scale_offset, uint n, uint capacity, uint dim,
                               uint a_begin, uint a_dim, uint b_begin, uint b_dim, uint hidden_dim,
                               uint depth, int direction)
{
    transpose_weights(transposed, params, w_first, a_dim, b_dim, hidden_dim, depth);
    uint first = get_global_id(0) * R;
    if (first >= n) return;
    uint rows = min((uint)R, n - first);
    run_nets_rows(first, rows, in, hidden, nets, params, w_first, capacity, dim, a_begin, a_dim,
                  b_dim, hidden_dim, depth);
    if (direction == 0) return;
    float4 sum = transform_rows(out, in, nets, params, scale_offset, first, rows, capacity, dim,
                                a_begin, a_dim, b_begin, b_dim, direction);
    store_rows(logdet + first, 1, rows, load_rows(logdet + first, 1, rows) + sum);
}

/* The backward pass of R rows up to the parameters: dx (a half: dz_a plus what flows back
 * through both networks; b half: dz_b·exp(s)), the gradients of the networks' outputs
 * (d_nets) and of their pre-activations (d_hidden, zero where the ReLU was off), which the
 * parameter gradients then sum over rows, and per-row terms of ∂L/∂scale (dscale_rows). */
static void backward_rows(__global float *dx, __global const float *dz, __global const float *x,
                          __global const float *hidden, __global float *d_hidden,
                          __global const float *nets, __global float *d_nets,
                          __global float *dscale_rows, __global const float *params,
                          __global const float *transposed, uint scale_offset, float dlogdet,
                          uint first, uint rows, uint capacity, uint dim, uint a_begin, uint a_dim,
                          uint b_begin, uint b_dim, uint hidden_dim, uint depth)
{
    for (uint i = first; i < first + rows; i++)
        for (uint k = 0; k < a_dim; k++) dx[i * dim + a_begin + k] = dz[i * dim + a_begin + k];
    for (uint j = 0; j < b_dim; j++) {
        float scale = params[scale_offset + j];
        float4 th = tanh(load_rows(nets + first * b_dim + j, b_dim, rows));
        float4 e = exp(scale * th);
        float4 g = load_rows(dz + first * dim + b_begin + j, dim, rows);
        float4 ds = g * load_rows(x + first * dim + b_begin + j, dim, rows) * e + dlogdet;
        store_rows(dx + first * dim + b_begin + j, dim, rows, g * e);
        store_rows(d_nets + first * b_dim + j, b_dim, rows, ds * scale * (1.0f - th * th));
        store_rows(d_nets + (capacity + first) * b_dim + j, b_dim, rows, g);
        store_rows(dscale_rows + first * b_dim + j, b_dim, rows, ds * th);
    }
    for (uint g = 0; g < 2; g++) {
        __global const float *d_out = d_nets + (g * capacity + first) * b_dim;
        for (uint k = depth + 1; k-- > 0;) {
            uint in_dim, out_dim;
            layer_shape(k, a_dim, hidden_dim, b_dim, depth, &in_dim, &out_dim);
            __global const float *w = transposed +
                                      layer_offset(k, 0, a_dim, hidden_dim, b_dim, depth, 0) +
                                      g * in_dim * out_dim;
            if (k == 0) {
                dense_rows(dx + first * dim + a_begin, dim, d_out, out_dim, out_dim, w, NULL,
                           in_dim, ADD, dx, rows);
                break;
            }
            uint row = ((k - 1) * 2 + g) * capacity + first;
            dense_rows(d_hidden + row * hidden_dim, hidden_dim, d_out, out_dim, out_dim, w, NULL,
                       in_dim, STORE_MASKED, hidden + row * hidden_dim, rows);
            d_out = d_hidden + row * hidden_dim;
        }
    }
}

__kernel void coupling_backward(__global float *dx, __global const float *dz,
                                __global const float *x, __global const float *hidden,
                                __global float *d_hidden, __global const float *nets,
                                __global float *d_nets, __global float *dscale_rows,
                                __global const float *params, __global const float *transposed,
                                uint scale_offset, float dlogdet, uint n, uint capacity, uint dim,
                                uint a_begin, uint a_dim, uint b_begin, uint b_dim, uint hidden_dim,
                                uint depth)
{
    uint first = get_global_id(0) * R;
    if (first >= n) return;
    backward_rows(dx, dz, x, hidden, d_hidden, nets, d_nets, dscale_rows, params, transposed,
                  scale_offset, dlogdet, first, min((uint)R, n - first), capacity, dim, a_begin,
                  a_dim, b_begin, b_dim, hidden_dim, depth);
}

/* Parameter gradients of the networks, summed over the batch: dWᵀ[g][i][o] += Σ_r
 * in[g][r][i] · dout[g][r][o], and for i == in_dim (the bias column) db[g][o] += Σ_r
 * dout[g][r][o]; rows summed in order from 0, then added to the gradient. One launch covers
 * every layer, both groups and the scale vector, a work-item per tile.
 *
 * Wide layers (out_dim ≥ 16): a tile is 4 inputs × 16 outputs in four float16 registers, so
 * each row costs 1 vector load for 4 vector FMAs, which broadcast the inputs from memory
 * (read as a float4 and split into lanes, the loop ran 28 % slower). Narrow layers (the
 * networks' outputs): a tile is 8 inputs, in one float8, × every output. */
#define TILE_IN COUPLING_TILE_IN
#define TILE_OUT COUPLING_TILE_OUT

/* Column i of row r: the input, 1 for the bias column, and the index clamped so that columns
 * past the end read valid memory (their sums are not stored). */
static float input_or_one(__global const float *row, uint i, uint in_dim)
{
    float v = row[min(i, in_dim - 1)];
    return i < in_dim ? v : 1.0f;
}

/* Tiles of the gradient of one group of a layer with in_dim inputs (plus the bias column). */
static uint params_tiles(uint in_dim, uint out_dim)
{
    uint columns = in_dim + 1;
    return out_dim >= TILE_OUT
               ? (out_dim + TILE_OUT - 1) / TILE_OUT * ((columns + TILE_IN - 1) / TILE_IN)
               : (columns + V - 1) / V;
}

/* Tile `tile` of dWᵀ += Σ_r x[r]ᵀ dy[r] and db += Σ_r dy[r] for one group of a layer. Not
 * inlined: inside vector_glow_params the values live across its loop took the registers, and
 * its sums went to the stack and back at every multiply-add. */
__attribute__((noinline)) static void params_tile(__global float *dw, __global float *db,
                                                  __global const float *dy, uint dout_ld,
                                                  __global const float *x, uint in_ld, uint in_dim,
                                                  uint out_dim, uint rows, uint tile)
{
    uint columns = in_dim + 1;
    if (out_dim >= TILE_OUT) {
        uint o_tiles = (out_dim + TILE_OUT - 1) / TILE_OUT, i_tile = tile / o_tiles;
        uint o0 = (tile - i_tile * o_tiles) * TILE_OUT, i0 = i_tile * TILE_IN;
        if (o0 + TILE_OUT <= out_dim) {
            /* Named sums, not an array: PoCL kept an array of them on the stack, a store and a
             * load around every multiply-add (half of the 2-D step's parameter pass). */
            float16 a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
            if (i0 + TILE_IN <= in_dim) {
                /* No bias column, nothing past the end: each input broadcast from memory. */
                for (uint r = 0; r < rows; r++) {
                    __global const float *xr = x + r * in_ld + i0;
                    float16 d = vload16(0, dy + r * dout_ld + o0);
                    a0 += xr[0] * d;
                    a1 += xr[1] * d;
                    a2 += xr[2] * d;
                    a3 += xr[3] * d;
                }
            } else {
                for (uint r = 0; r < rows; r++) {
                    __global const float *xr = x + r * in_ld;
                    float16 d = vload16(0, dy + r * dout_ld + o0);
                    a0 += input_or_one(xr, i0, in_dim) * d;
                    a1 += input_or_one(xr, i0 + 1, in_dim) * d;
                    a2 += input_or_one(xr, i0 + 2, in_dim) * d;
                    a3 += input_or_one(xr, i0 + 3, in_dim) * d;
                }
            }
            float16 a[TILE_IN] = {a0, a1, a2, a3};
            for (uint c = 0; c < TILE_IN && i0 + c < columns; c++) {
                __global float *target = i0 + c < in_dim ? dw + (i0 + c) * out_dim + o0 : db + o0;
                vstore16(vload16(0, target) + a[c], 0, target);
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
    uint i0 = tile * V;
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

/* Work-items of coupling_params: a tile of each layer and group, and one for the scale. */
static uint params_tasks(uint a_dim, uint b_dim, uint hidden_dim, uint depth)
{
    uint tasks = 1;
    for (uint k = 0; k <= depth; k++) {
        uint in_dim, out_dim;
        layer_shape(k, a_dim, hidden_dim, b_dim, depth, &in_dim, &out_dim);
        tasks += 2 * params_tiles(in_dim, out_dim);
    }
    return tasks;
}

/* Task t of a coupling's parameter gradients (see params_tasks). */
static void params_task(__global float *grads, __global const float *x,
                        __global const float *hidden, __global const float *d_hidden,
                        __global const float *d_nets, __global const float *dscale_rows, uint t,
                        uint w_first, uint scale_offset, uint n, uint capacity, uint dim,
                        uint a_begin, uint a_dim, uint b_dim, uint hidden_dim, uint depth)
{
    uint start = 0;
    for (uint k = 0; k <= depth; k++) {
        uint in_dim, out_dim;
        layer_shape(k, a_dim, hidden_dim, b_dim, depth, &in_dim, &out_dim);
        uint tiles = params_tiles(in_dim, out_dim);
        if (t < start + 2 * tiles) {
            uint g = (t - start) / tiles, tile = t - start - g * tiles;
            __global const float *in =
                k == 0 ? x + a_begin : hidden + ((k - 1) * 2 + g) * capacity * hidden_dim;
            __global const float *dy = k == depth ? d_nets + g * capacity * b_dim
                                                  : d_hidden + (k * 2 + g) * capacity * hidden_dim;
            uint w = layer_offset(k, w_first, a_dim, hidden_dim, b_dim, depth, 1);
            params_tile(grads + w + g * in_dim * out_dim,
                        grads + w + 2 * in_dim * out_dim + g * out_dim, dy, out_dim, in,
                        k == 0 ? dim : in_dim, in_dim, out_dim, n, tile);
            return;
        }
        start += 2 * tiles;
    }
    if (t != start) return;
    /* The last task: ∂L/∂scale, the per-row terms summed in order. */
    for (uint j = 0; j < b_dim; j++) {
        float sum = 0.0f;
        for (uint r = 0; r < n; r++) sum += dscale_rows[r * b_dim + j];
        grads[scale_offset + j] += sum;
    }
}

__kernel void coupling_params(__global float *grads, __global const float *x,
                              __global const float *hidden, __global const float *d_hidden,
                              __global const float *d_nets, __global const float *dscale_rows,
                              uint w_first, uint scale_offset, uint n, uint capacity, uint dim,
                              uint a_begin, uint a_dim, uint b_dim, uint hidden_dim, uint depth)
{
    params_task(grads, x, hidden, d_hidden, d_nets, dscale_rows, get_global_id(0), w_first,
                scale_offset, n, capacity, dim, a_begin, a_dim, b_dim, hidden_dim, depth);
}

/* The whole training pass of a Glow on vectors, L steps of (ActNorm, coupling, invertible 1×1
 * convolution), in three launches: forward, input gradients, parameter gradients. A row of a
 * batch goes through every op of the forward pass and of the input-gradient pass without
 * meeting another row, so a work-item takes its R rows through all the steps. PoCL runs a
 * launch whose work it expects to take under 200 us on one thread, which the per-op launches
 * of a 256-row batch all did: these launches are long enough to take both cores.
 *
 * Op k of the model (3l: ActNorm of step l, 3l + 1 its coupling, 3l + 2 its 1×1 convolution)
 * reads its input from slot k of `acts` (acts_slot: slot 0 is the data, slot 3L the output z,
 * the rest an arena of capacity × dim rows each) and its output gradient from slot k of
 * `grads_out` (slot 3L − 1 is dz, the rest an arena). Step l's coupling keeps its activations
 * at the l-th block of the hidden, nets, d_hidden, d_nets, dscale_rows and transposed arenas.
 * `table` holds VECTOR_FIELDS offsets per step (vector_step). */

#if VECTOR_FIELDS != 12
#error "vector_step_at reads 12 fields a step"
#endif
/* The 1×1 convolutions of the fused pass hold W in private memory, VECTOR_MAX_DIM² floats. */

typedef struct {
    uint actnorm_s, actnorm_t, w_first, scale, a_begin, b_begin;
    invconv_layout mix;
} vector_step;

static vector_step vector_step_at(__global const uint *table, uint l, uint dim)
{
    __global const uint *f = table + l * VECTOR_FIELDS;
    vector_step s = {f[0], f[1], f[2], f[3], f[4], f[5], {f[6], f[7], f[8], f[9], f[10], dim}};
    return s;
}

typedef struct {
    uint layers, n, capacity, dim, a_dim, b_dim, hidden_dim, depth, weight_count;
} vector_shape;

static __global float *acts_slot(__global float *data, __global float *z, __global float *arena,
                                 vector_shape v, uint k)
{
    if (k == 0) return data;
    if (k == 3 * v.layers) return z;
    return arena + (k - 1) * v.capacity * v.dim;
}

static __global float *grads_slot(__global float *dz, __global float *arena, vector_shape v, uint k)
{
    return k + 1 == 3 * v.layers ? dz : arena + k * v.capacity * v.dim;
}

/* Step l's share of an arena of `per_step` values a step. */
#define STEP_BLOCK(arena, per_step, l) ((arena) + (l) * (per_step))

static uint hidden_per_step(vector_shape v) { return v.depth * 2 * v.capacity * v.hidden_dim; }
static uint nets_per_step(vector_shape v) { return 2 * v.capacity * v.b_dim; }

/* W of step l's 1×1 convolution into w (dim × dim, row-major). */
static void vector_weight(float *w, __global const float *params, invconv_layout f)
{
    for (uint i = 0; i < f.dim; i++)
        for (uint j = 0; j < f.dim; j++) w[i * f.dim + j] = weight_entry(params, f, i, j);
}

/* out = M·in for the rows (M = W, or Wᵀ with transpose). */
static void vector_mix(__global float *out, __global const float *in, const float *w, uint dim,
                       uint first, uint rows, uint transpose)
{
    for (uint i = first; i < first + rows; i++)
        for (uint o = 0; o < dim; o++) {
            float sum = 0.0f;
            for (uint c = 0; c < dim; c++)
                sum += (transpose ? w[c * dim + o] : w[o * dim + c]) * in[i * dim + c];
            out[i * dim + o] = sum;
        }
}

/* Step l of the forward pass for the rows. */
static float4 forward_step(__global float *z, __global float *data, __global float *acts,
                           __global float *hidden, __global float *nets,
                           __global const float *params, __global const uint *table, vector_shape v,
                           uint l, uint first, uint rows)
{
    vector_step s = vector_step_at(table, l, v.dim);
    uint dim = v.dim;
    __global const float *x = acts_slot(data, z, acts, v, 3 * l);
    __global float *normed = acts_slot(data, z, acts, v, 3 * l + 1);
    __global float *coupled = acts_slot(data, z, acts, v, 3 * l + 2);
    for (uint i = first; i < first + rows; i++)
        for (uint c = 0; c < dim; c++)
            normed[i * dim + c] =
                x[i * dim + c] * exp(params[s.actnorm_s + c]) + params[s.actnorm_t + c];
    __global float *step_nets = STEP_BLOCK(nets, nets_per_step(v), l);
    run_nets_rows(first, rows, normed, STEP_BLOCK(hidden, hidden_per_step(v), l), step_nets, params,
                  s.w_first, v.capacity, dim, s.a_begin, v.a_dim, v.b_dim, v.hidden_dim, v.depth);
    float4 sum = transform_rows(coupled, normed, step_nets, params, s.scale, first, rows,
                                v.capacity, dim, s.a_begin, v.a_dim, s.b_begin, v.b_dim, 1);
    float w[VECTOR_MAX_DIM * VECTOR_MAX_DIM];
    vector_weight(w, params, s.mix);
    vector_mix(acts_slot(data, z, acts, v, 3 * l + 3), coupled, w, dim, first, rows, 0);
    return sum + param_sum(params, s.actnorm_s, dim) + param_sum(params, s.mix.log_s, dim);
}

__kernel void vector_glow_forward(__global float *z, __global float *data, __global float *acts,
                                  __global float *logdet, __global float *hidden,
                                  __global float *nets, __global float *transposed,
                                  __global const float *params, __global const uint *table,
                                  uint layers, uint n, uint capacity, uint dim, uint a_dim,
                                  uint b_dim, uint hidden_dim, uint depth, uint weight_count)
{
    vector_shape v = {layers, n, capacity, dim, a_dim, b_dim, hidden_dim, depth, weight_count};
    for (uint l = 0; l < layers; l++)
        transpose_weights(STEP_BLOCK(transposed, weight_count, l), params,
                          vector_step_at(table, l, dim).w_first, a_dim, b_dim, hidden_dim, depth);
    uint first = get_global_id(0) * R, rows = first < n ? min((uint)R, n - first) : 0;
    float4 sum = rows ? load_rows(logdet + first, 1, rows) : (float4)(0.0f);
    /* The work-group's items take one step at a time (PoCL runs each stretch between barriers
     * item after item), so the step's weights stay in the core's cache. The loop's body is
     * one branch: PoCL miscompiles a `continue` past a barrier in a loop. */
    for (uint l = 0; l < layers; l++) {
        barrier(CLK_GLOBAL_MEM_FENCE);
        if (rows)
            sum += forward_step(z, data, acts, hidden, nets, params, table, v, l, first, rows);
    }
    if (rows) store_rows(logdet + first, 1, rows, sum);
}

/* Step l of the input-gradient pass for the rows. */
static void backward_step(__global float *grads_out, __global float *dz, __global float *data,
                          __global float *z, __global float *acts, __global const float *hidden,
                          __global float *d_hidden, __global const float *nets,
                          __global float *d_nets, __global float *dscale_rows,
                          __global const float *transposed, __global const float *params,
                          __global const uint *table, float dlogdet, vector_shape v, uint l,
                          uint first, uint rows)
{
    vector_step s = vector_step_at(table, l, v.dim);
    uint dim = v.dim, hidden_block = hidden_per_step(v), nets_block = nets_per_step(v);
    float w[VECTOR_MAX_DIM * VECTOR_MAX_DIM];
    vector_weight(w, params, s.mix);
    __global float *d_coupled = grads_slot(dz, grads_out, v, 3 * l + 1);
    vector_mix(d_coupled, grads_slot(dz, grads_out, v, 3 * l + 2), w, dim, first, rows, 1);
    __global float *d_normed = grads_slot(dz, grads_out, v, 3 * l);
    backward_rows(d_normed, d_coupled, acts_slot(data, z, acts, v, 3 * l + 1),
                  STEP_BLOCK(hidden, hidden_block, l), STEP_BLOCK(d_hidden, hidden_block, l),
                  STEP_BLOCK(nets, nets_block, l), STEP_BLOCK(d_nets, nets_block, l),
                  STEP_BLOCK(dscale_rows, v.capacity * v.b_dim, l), params,
                  STEP_BLOCK(transposed, v.weight_count, l), s.scale, dlogdet, first, rows,
                  v.capacity, dim, s.a_begin, v.a_dim, s.b_begin, v.b_dim, v.hidden_dim, v.depth);
    if (l == 0) return; /* the data's own gradient is not needed */
    __global float *d_x = grads_slot(dz, grads_out, v, 3 * l - 1);
    for (uint i = first; i < first + rows; i++)
        for (uint c = 0; c < dim; c++)
            d_x[i * dim + c] = d_normed[i * dim + c] * exp(params[s.actnorm_s + c]);
}

/* Every op's input gradient, from dz (the last slot of grads_out) down to the first ActNorm's
 * output gradient, and the couplings' d_hidden, d_nets and dscale_rows for the parameter
 * gradients; a step at a time, as vector_glow_forward goes. */
__kernel void vector_glow_backward(__global float *grads_out, __global float *dz,
                                   __global float *data, __global float *z, __global float *acts,
                                   __global const float *hidden, __global float *d_hidden,
                                   __global const float *nets, __global float *d_nets,
                                   __global float *dscale_rows, __global const float *transposed,
                                   __global const float *params, __global const uint *table,
                                   float dlogdet, uint layers, uint n, uint capacity, uint dim,
                                   uint a_dim, uint b_dim, uint hidden_dim, uint depth,
                                   uint weight_count)
{
    vector_shape v = {layers, n, capacity, dim, a_dim, b_dim, hidden_dim, depth, weight_count};
    uint first = get_global_id(0) * R, rows = first < n ? min((uint)R, n - first) : 0;
    for (uint l = layers; l-- > 0;) {
        barrier(CLK_GLOBAL_MEM_FENCE);
        if (rows)
            backward_step(grads_out, dz, data, z, acts, hidden, d_hidden, nets, d_nets, dscale_rows,
                          transposed, params, table, dlogdet, v, l, first, rows);
    }
}

/* Every parameter gradient of the pass: per step, the coupling's tasks (params_task), then one
 * work-item for the ActNorm and one for the 1×1 convolution (dW summed over the rows, then
 * G = Pᵀ·dW and the factors' gradients through `scratch`, 2·dim² floats a step).
 * logdet_grad = n · dlogdet, what each log-determinant parameter gains. */
__kernel void vector_glow_params(__global float *grads, __global float *grads_out,
                                 __global float *dz, __global float *data, __global float *z,
                                 __global float *acts, __global const float *hidden,
                                 __global const float *d_hidden, __global const float *d_nets,
                                 __global const float *dscale_rows, __global float *scratch,
                                 __global const float *params, __global const uint *table,
                                 float logdet_grad, uint layers, uint n, uint capacity, uint dim,
                                 uint a_dim, uint b_dim, uint hidden_dim, uint depth)
{
    vector_shape v = {layers, n, capacity, dim, a_dim, b_dim, hidden_dim, depth, 0};
    uint coupling_tasks = params_tasks(a_dim, b_dim, hidden_dim, depth);
    uint per_step = coupling_tasks + 2, t = get_global_id(0), l = t / per_step;
    if (l >= layers) return;
    uint task = t - l * per_step;
    vector_step s = vector_step_at(table, l, dim);
    if (task < coupling_tasks) {
        uint hidden_block = hidden_per_step(v), nets_block = nets_per_step(v);
        params_task(grads, acts_slot(data, z, acts, v, 3 * l + 1),
                    STEP_BLOCK(hidden, hidden_block, l), STEP_BLOCK(d_hidden, hidden_block, l),
                    STEP_BLOCK(d_nets, nets_block, l), STEP_BLOCK(dscale_rows, capacity * b_dim, l),
                    task, s.w_first, s.scale, n, capacity, dim, s.a_begin, a_dim, b_dim, hidden_dim,
                    depth);
        return;
    }
    if (task == coupling_tasks) { /* ActNorm: ∂L/∂s_c = Σ dy·x·e^s + logdet_grad, ∂L/∂t_c = Σ dy */
        __global const float *x = acts_slot(data, z, acts, v, 3 * l);
        __global const float *dy = grads_slot(dz, grads_out, v, 3 * l);
        for (uint c = 0; c < dim; c++) {
            float ds = 0.0f, dt = 0.0f, e = exp(params[s.actnorm_s + c]);
            for (uint i = 0; i < n; i++) {
                ds += dy[i * dim + c] * x[i * dim + c] * e;
                dt += dy[i * dim + c];
            }
            grads[s.actnorm_s + c] += ds + logdet_grad;
            grads[s.actnorm_t + c] += dt;
        }
        return;
    }
    /* The 1×1 convolution: dW = Σ_i dy_i·x_iᵀ, then its factors' gradients. */
    __global const float *x = acts_slot(data, z, acts, v, 3 * l + 2);
    __global const float *dy = grads_slot(dz, grads_out, v, 3 * l + 2);
    __global float *dw = scratch + l * 2 * dim * dim, *g = dw + dim * dim;
    for (uint o = 0; o < dim; o++)
        for (uint c = 0; c < dim; c++)
            dw[o * dim + c] = weight_grad_entry(dy, x, n, dim, 1, o, c); /* one pixel a row */
    for (uint r = 0; r < dim; r++)
        for (uint c = 0; c < dim; c++) g[r * dim + c] = pt_dw_entry(params, dw, s.mix, r, c);
    for (uint i = 0; i < dim; i++)
        for (uint j = 0; j < dim; j++) add_param_grad(grads, params, g, s.mix, i, j, logdet_grad);
}
