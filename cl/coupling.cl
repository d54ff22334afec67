/* The affine coupling layer for vectors, fused: one work-item takes R samples through both
 * networks (scale and shift, the two groups of the same dense layers), the element-wise
 * transform and, going back, through the networks' input gradients. On a CPU device a launch
 * per layer costs more than the layer itself (256 samples × 64 hidden units), and PoCL runs a
 * work-item's loops as scalar code, so the 8-wide vectors are written out here.
 *
 * Layout (ops/coupling.c): the layers' parameters follow each other from w_first: layer k holds
 * Wᵀ[g][i][o] (input-major, so rows of outputs are contiguous) then b[g][o]; layer 0 reads the
 * conditioning half a, layers 1..depth−1 read the previous hidden layer, layer `depth` writes
 * the networks' outputs. hidden[k][g][row][h] keeps the ReLU outputs and nets[g][row][j] the
 * outputs (raw scale at g = 0, shift t at g = 1) for the backward pass; capacity is the row
 * stride between groups. s = scale ⊙ tanh(raw), so exp(s) can neither overflow nor vanish.
 * The backward pass reads the weights transposed, W[g][o][i] (coupling_transpose_weights), so
 * that it too runs along contiguous rows. */

#define V 8

/* Rows per work-item: each weight loaded feeds R rows (a 4 × 16 tile of outputs in eight
 * float8 registers), which is what makes the layers compute-bound rather than load-bound. */
#define R 4

/* Input and output widths of layer k, and the offsets of its weights and biases in the
 * parameter vector (bias_gap 1) or of its weights in the transposed copy (bias_gap 0). */
static void layer_shape(uint k, uint a_dim, uint hidden, uint b_dim, uint depth, uint *in_dim,
                        uint *out_dim)
{
    *in_dim = k == 0 ? a_dim : hidden;
    *out_dim = k == depth ? b_dim : hidden;
}

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

static float8 finish8(float8 v, uint mode, __global const float *mask)
{
    if (mode == STORE_RELU) return fmax(v, 0.0f);
    if (mode == STORE_MASKED) return select(v, (float8)(0.0f), vload8(0, mask) <= 0.0f);
    return v;
}

static void put8(__global float *y, float8 v, uint mode, __global const float *mask)
{
    v = finish8(v, mode, mask);
    vstore8(mode == ADD ? vload8(0, y) + v : v, 0, y);
}

/* y[r] = Σ_i x[r][i] · w[i][·] (+ bias) for up to R rows, then per `mode`: stored, stored
 * through a ReLU, stored where mask[r] (a ReLU output, same layout as y) was positive and zero
 * elsewhere (the gradient through that ReLU), or added to y. Each sum runs over i in order
 * from the bias (or 0), as the reference does. */
static void dense_rows(__global float *y, uint y_ld, __global const float *x, uint x_ld,
                       uint in_dim, __global const float *w, __global const float *bias,
                       uint out_dim, uint mode, __global const float *mask, uint rows)
{
    __global const float *x0 = ROW(x, x_ld, 0, rows), *x1 = ROW(x, x_ld, 1, rows);
    __global const float *x2 = ROW(x, x_ld, 2, rows), *x3 = ROW(x, x_ld, 3, rows);
    uint o = 0;
    for (; o + 2 * V <= out_dim; o += 2 * V) {
        float8 b0 = bias ? vload8(0, bias + o) : 0.0f, b1 = bias ? vload8(1, bias + o) : 0.0f;
        float8 a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1;
        for (uint i = 0; i < in_dim; i++) {
            __global const float *wi = w + i * out_dim + o;
            float8 w0 = vload8(0, wi), w1 = vload8(1, wi);
            float v0 = x0[i], v1 = x1[i], v2 = x2[i], v3 = x3[i];
            a00 += v0 * w0;
            a01 += v0 * w1;
            a10 += v1 * w0;
            a11 += v1 * w1;
            a20 += v2 * w0;
            a21 += v2 * w1;
            a30 += v3 * w0;
            a31 += v3 * w1;
        }
        float8 tile[2 * R] = {a00, a01, a10, a11, a20, a21, a30, a31};
        for (uint r = 0; r < rows; r++) {
            uint at = r * y_ld + o;
            put8(y + at, tile[2 * r], mode, mask + at);
            put8(y + at + V, tile[2 * r + 1], mode, mask + at + V);
        }
    }
    for (; o + V <= out_dim; o += V) {
        float8 b0 = bias ? vload8(0, bias + o) : 0.0f;
        float8 a0 = b0, a1 = b0, a2 = b0, a3 = b0;
        for (uint i = 0; i < in_dim; i++) {
            float8 w0 = vload8(0, w + i * out_dim + o);
            a0 += x0[i] * w0;
            a1 += x1[i] * w0;
            a2 += x2[i] * w0;
            a3 += x3[i] * w0;
        }
        float8 tile[R] = {a0, a1, a2, a3};
        for (uint r = 0; r < rows; r++) put8(y + r * y_ld + o, tile[r], mode, mask + r * y_ld + o);
    }
    for (; o < out_dim; o++)
        for (uint r = 0; r < rows; r++) {
            __global const float *xr = x + r * x_ld;
            float sum = bias ? bias[o] : 0.0f;
            for (uint i = 0; i < in_dim; i++) sum += xr[i] * w[i * out_dim + o];
            uint at = r * y_ld + o;
            if (mode == STORE_RELU) sum = fmax(sum, 0.0f);
            if (mode == STORE_MASKED && mask[at] <= 0.0f) sum = 0.0f;
            y[at] = mode == ADD ? y[at] + sum : sum;
        }
}

/* Both networks on the conditioning halves of rows first .. first + rows − 1 of `in`. */
static void run_nets_rows(uint first, uint rows, __global const float *in,
                          __global float *hidden, __global float *nets,
                          __global const float *params, uint w_first, uint capacity, uint dim,
                          uint a_begin, uint a_dim, uint b_dim, uint hidden_dim, uint depth)
{
    for (uint g = 0; g < 2; g++) {
        __global const float *x = in + first * dim + a_begin;
        uint x_ld = dim;
        for (uint k = 0; k <= depth; k++) {
            uint in_dim, out_dim;
            layer_shape(k, a_dim, hidden_dim, b_dim, depth, &in_dim, &out_dim);
            uint w = layer_offset(k, w_first, a_dim, hidden_dim, b_dim, depth, 1);
            uint b = w + 2 * in_dim * out_dim;
            __global float *y = k == depth
                                    ? nets + (g * capacity + first) * b_dim
                                    : hidden + ((k * 2 + g) * capacity + first) * hidden_dim;
            dense_rows(y, out_dim, x, x_ld, in_dim, params + w + g * in_dim * out_dim,
                       params + b + g * out_dim, out_dim, k < depth ? STORE_RELU : STORE, y,
                       rows);
            x = y;
            x_ld = out_dim;
        }
    }
}

/* direction +1: out_b = in_b·exp(s) + t (encoder); −1: out_b = (in_b − t)·exp(−s); 0: only the
 * networks (hidden and nets, for a backward pass whose encoder kept nothing). */
__kernel void coupling_forward(__global float *out, __global const float *in,
                               __global float *logdet, __global float *hidden,
                               __global float *nets, __global const float *params, uint w_first,
                               uint scale_offset, uint n, uint capacity, uint dim, uint a_begin,
                               uint a_dim, uint b_begin, uint b_dim, uint hidden_dim, uint depth,
                               int direction)
{
    uint first = get_global_id(0) * R;
    if (first >= n) return;
    uint rows = min((uint)R, n - first);
    run_nets_rows(first, rows, in, hidden, nets, params, w_first, capacity, dim, a_begin, a_dim,
                  b_dim, hidden_dim, depth);
    if (direction == 0) return;
    for (uint i = first; i < first + rows; i++) {
        for (uint k = 0; k < a_dim; k++) out[i * dim + a_begin + k] = in[i * dim + a_begin + k];
        float sum = 0.0f;
        for (uint j = 0; j < b_dim; j++) {
            float s = params[scale_offset + j] * tanh(nets[i * b_dim + j]);
            float t = nets[(capacity + i) * b_dim + j];
            float v = in[i * dim + b_begin + j];
            out[i * dim + b_begin + j] = direction > 0 ? v * exp(s) + t : (v - t) * exp(-s);
            sum += s;
        }
        logdet[i] += direction > 0 ? sum : -sum;
    }
}

/* transposed[g][o][i] = Wᵀ[g][i][o] for every layer, the layers one after the other without
 * biases; one work-item per row (g, o) of a layer. */
__kernel void coupling_transpose_weights(__global float *transposed,
                                         __global const float *params, uint w_first, uint a_dim,
                                         uint b_dim, uint hidden_dim, uint depth, uint row_count)
{
    uint t = get_global_id(0);
    if (t >= row_count) return;
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

/* The backward pass of R rows up to the parameters: dx (a half: dz_a plus what flows back
 * through both networks; b half: dz_b·exp(s)), the gradients of the networks' outputs
 * (d_nets) and of their pre-activations (d_hidden, zero where the ReLU was off), which the
 * parameter gradients then sum over rows, and per-row terms of ∂L/∂scale (dscale_rows). */
__kernel void coupling_backward(__global float *dx, __global const float *dz,
                                __global const float *x, __global const float *hidden,
                                __global float *d_hidden, __global const float *nets,
                                __global float *d_nets, __global float *dscale_rows,
                                __global const float *params, __global const float *transposed,
                                uint scale_offset, float dlogdet, uint n, uint capacity,
                                uint dim, uint a_begin, uint a_dim, uint b_begin, uint b_dim,
                                uint hidden_dim, uint depth)
{
    uint first = get_global_id(0) * R;
    if (first >= n) return;
    uint rows = min((uint)R, n - first);
    for (uint i = first; i < first + rows; i++) {
        for (uint k = 0; k < a_dim; k++) dx[i * dim + a_begin + k] = dz[i * dim + a_begin + k];
        for (uint j = 0; j < b_dim; j++) {
            float scale = params[scale_offset + j];
            float th = tanh(nets[i * b_dim + j]);
            float e = exp(scale * th);
            float g = dz[i * dim + b_begin + j];
            float ds = g * x[i * dim + b_begin + j] * e + dlogdet;
            dx[i * dim + b_begin + j] = g * e;
            d_nets[i * b_dim + j] = ds * scale * (1.0f - th * th);
            d_nets[(capacity + i) * b_dim + j] = g;
            dscale_rows[i * b_dim + j] = ds * th;
        }
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
