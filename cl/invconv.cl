/* The invertible 1x1 convolution: its weight, inverse and the gradients of its LU factors (the
 * per-entry functions are in invconv.clh), and the products with W at every pixel. */

#ifndef INVCONV_PIXELS
#error "build with INVCONV_PIXELS of src/core/shapes.h"
#elif INVCONV_PIXELS != 8
#error "mix_output8 takes a float8 of pixels"
#endif

/* global (D, D) */
__kernel void invconv_weight(__global float *w, __global const float *p, uint lower, uint upper,
                             uint log_s, uint perm, uint sign, uint dim)
{
    invconv_layout f = {lower, upper, log_s, perm, sign, dim};
    uint i = get_global_id(0), j = get_global_id(1);
    if (i >= dim || j >= dim) return;
    w[i * dim + j] = weight_entry(p, f, i, j);
}

/* Column j of W⁻¹ = Ũ⁻¹ L̃⁻¹ Pᵀ e_j by forward then back substitution, in place in the column.
 * global (D). */
__kernel void invconv_inverse(__global float *winv, __global const float *p, uint lower, uint upper,
                              uint log_s, uint perm, uint sign, uint dim)
{
    invconv_layout f = {lower, upper, log_s, perm, sign, dim};
    uint j = get_global_id(0);
    if (j >= dim) return;
    for (uint k = 0; k < dim; k++) {
        float y = p[perm + j * dim + k]; /* (Pᵀ e_j)[k] = P[j][k] */
        for (uint m = 0; m < k; m++) y -= lower_unit(p, f, k, m) * winv[m * dim + j];
        winv[k * dim + j] = y;
    }
    for (uint kk = dim; kk > 0; kk--) {
        uint k = kk - 1;
        float x = winv[k * dim + j];
        for (uint m = k + 1; m < dim; m++) x -= upper_diag(p, f, k, m) * winv[m * dim + j];
        winv[k * dim + j] = x / upper_diag(p, f, k, k);
    }
}

/* global (D, D) */
__kernel void invconv_pt_dw(__global float *g, __global const float *p, __global const float *dw,
                            uint perm, uint dim)
{
    invconv_layout f = {0, 0, 0, perm, 0, dim};
    uint r = get_global_id(0), c = get_global_id(1);
    if (r >= dim || c >= dim) return;
    g[r * dim + c] = pt_dw_entry(p, dw, f, r, c);
}

/* global (D, D) */
__kernel void invconv_param_grads(__global float *grads, __global const float *p,
                                  __global const float *g, uint lower, uint upper, uint log_s,
                                  uint perm, uint sign, uint dim, float logdet_grad)
{
    invconv_layout f = {lower, upper, log_s, perm, sign, dim};
    uint i = get_global_id(0), j = get_global_id(1);
    if (i >= dim || j >= dim) return;
    add_param_grad(grads, p, g, f, i, j, logdet_grad);
}

/* out[i][o][p] = Σ_c M[o][c] · in[i][c][p] at pixel p of sample i of (n, D, pixels) batches,
 * with M = W, W⁻¹ or, with `transpose`, Wᵀ (the backward pass); or with mode INVCONV_RESIDUAL
 * out = base − M·in, with INVCONV_ADD out += M·in. */
#define INVCONV_SET 0u
#define INVCONV_RESIDUAL 1u
#define INVCONV_ADD 2u
/* mix_output at pixel p, and mix_output8 at pixels p .. p + 7 at once (images whose rows are
 * whole groups of 8 pixels), one body for both: the dot product with its rounding errors
 * carried along (Ogita, Rump and Oishi's Dot2: fma gives each product's error exactly, the
 * sum's error by TwoSum), so the result is as if summed in twice the precision; the decoder's
 * inverse then meets the encoder's W to a few float ulps, which keeps decode(encode(x)) of a
 * 48-step model within 1e-4. */
#define MIX_OUTPUT(name, floatn, load, store)                                                      \
    static void name(__global float *out, __global const float *in, __global const float *w,       \
                     __global const float *base, uint dim, uint pixels, uint transpose, uint mode, \
                     uint p, uint o, uint i)                                                       \
    {                                                                                              \
        __global const float *x = in + i * dim * pixels + p;                                       \
        uint at = (i * dim + o) * pixels + p;                                                      \
        floatn sum = mode == INVCONV_RESIDUAL ? load(0, base + at) : (floatn)(0.0f);               \
        floatn error = 0.0f;                                                                       \
        float sign = mode == INVCONV_RESIDUAL ? -1.0f : 1.0f;                                      \
        for (uint c = 0; c < dim; c++) {                                                           \
            float weight = sign * (transpose ? w[c * dim + o] : w[o * dim + c]);                   \
            floatn value = load(0, x + c * pixels), product = weight * value;                      \
            floatn product_error = fma((floatn)(weight), value, -product);                         \
            floatn total = sum + product, back = total - sum;                                      \
            error += (sum - (total - back)) + (product - back) + product_error;                    \
            sum = total;                                                                           \
        }                                                                                          \
        sum += error;                                                                              \
        store(mode == INVCONV_ADD ? load(0, out + at) + sum : sum, 0, out + at);                   \
    }

static float load1(uint offset, __global const float *p) { return p[offset]; }
static void store1(float v, uint offset, __global float *p) { p[offset] = v; }
MIX_OUTPUT(mix_output, float, load1, store1)
MIX_OUTPUT(mix_output8, float8, vload8, vstore8)

/* Every output; with add_logdet, each sample's first item also adds logdet_scale · Σ log|s|
 * to its log-determinant. global (pixels, D, n) with by8 0, or (pixels / 8, D, n) with by8 1
 * where pixels is a multiple of 8 and each item takes 8 pixels (the host's choice: a CPU's
 * vector unit wants the 8, a GPU the work-items). */
__kernel void invconv_mix(__global float *out, __global const float *in, __global const float *w,
                          __global const float *base, uint n, uint dim, uint pixels, uint by8,
                          uint transpose, uint mode, uint add_logdet, __global float *logdet,
                          __global const float *params, uint log_s, float logdet_scale)
{
    uint p = get_global_id(0) * (by8 ? INVCONV_PIXELS : 1);
    uint o = get_global_id(1), i = get_global_id(2);
    if (p >= pixels || o >= dim || i >= n) return;
    if (add_logdet && p == 0 && o == 0)
        add_param_logdet(logdet, params, log_s, dim, logdet_scale, i);
    if (by8)
        mix_output8(out, in, w, base, dim, pixels, transpose, mode, p, o, i);
    else
        mix_output(out, in, w, base, dim, pixels, transpose, mode, p, o, i);
}

/* global (D, D) */
__kernel void invconv_weight_grad(__global float *dw, __global const float *dz,
                                  __global const float *x, uint n, uint dim, uint pixels)
{
    uint o = get_global_id(0), c = get_global_id(1);
    if (o >= dim || c >= dim) return;
    dw[o * dim + c] = weight_grad_entry(dz, x, n, dim, pixels, o, c);
}

/* Small batches (the 2-D Glow's 256 × 2 values) cost more in launches than in work, so each
 * direction of the training pass also runs as one launch of one work-group, its phases
 * separated by barriers, from the same per-entry functions. The work-items stride over the
 * entries of each phase. Entry e of a (rows, columns) array: row e / columns, column
 * e − row·columns. */

/* The encoder: W, then z = W·x with the log-determinant, as invconv_weight and invconv_mix. */
__kernel void invconv_forward_group(__global float *out, __global const float *in,
                                    __global float *w, __global const float *p, uint lower,
                                    uint upper, uint log_s, uint perm, uint sign, uint n, uint dim,
                                    uint pixels, __global float *logdet, float logdet_scale)
{
    invconv_layout f = {lower, upper, log_s, perm, sign, dim};
    uint lid = get_local_id(0), size = get_local_size(0);
    for (uint e = lid; e < dim * dim; e += size) {
        uint i = e / dim;
        w[e] = weight_entry(p, f, i, e - i * dim);
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
    for (uint e = lid; e < n * dim * pixels; e += size) {
        uint row = e / pixels, pixel = e - row * pixels, i = row / dim, o = row - i * dim;
        if (pixel == 0 && o == 0) add_param_logdet(logdet, p, log_s, dim, logdet_scale, i);
        mix_output(out, in, w, in, dim, pixels, 0, INVCONV_SET, pixel, o, i);
    }
}

/* The backward pass: dx = Wᵀ·dz and dW, then G = Pᵀ·dW, then the factors' gradients, as
 * invconv_mix, invconv_weight_grad, invconv_pt_dw and invconv_param_grads. */
__kernel void invconv_backward_group(__global float *dx, __global const float *dz,
                                     __global const float *x, __global const float *w,
                                     __global float *dw, __global float *g, __global float *grads,
                                     __global const float *p, uint lower, uint upper, uint log_s,
                                     uint perm, uint sign, uint n, uint dim, uint pixels,
                                     float logdet_grad)
{
    invconv_layout f = {lower, upper, log_s, perm, sign, dim};
    uint lid = get_local_id(0), size = get_local_size(0);
    for (uint e = lid; e < n * dim * pixels; e += size) {
        uint row = e / pixels, pixel = e - row * pixels, i = row / dim, o = row - i * dim;
        mix_output(dx, dz, w, dz, dim, pixels, 1, INVCONV_SET, pixel, o, i);
    }
    for (uint e = lid; e < dim * dim; e += size) {
        uint o = e / dim;
        dw[e] = weight_grad_entry(dz, x, n, dim, pixels, o, e - o * dim);
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
    for (uint e = lid; e < dim * dim; e += size) {
        uint r = e / dim;
        g[e] = pt_dw_entry(p, dw, f, r, e - r * dim);
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
    for (uint e = lid; e < dim * dim; e += size) {
        uint i = e / dim;
        add_param_grad(grads, p, g, f, i, e - i * dim, logdet_grad);
    }
}
