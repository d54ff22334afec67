/* 2-D convolutions over a batch of NCHW images, on both backends: the layers of the image
 * coupling networks (3x3 → ReLU → 1x1 → ReLU → 3x3, "same" padding). See cl/conv.cl. */
#ifndef GLOWCL_CONV_H
#define GLOWCL_CONV_H

#include "core/internal.h"
#include "glowcl/tensor.h"

/* The kernels of cl/conv.cl, looked up by gc_conv_kernels_find when a layer is created (all
 * NULL on the reference backend). */
typedef struct gc_conv_kernels {
    gc_kernel *conv_3x3, *conv_1x1, *pack_columns, *pack_panels, *pack_weights, *pack_pixels,
        *pack_taps, *params_panels, *params_bias;
    /* the gpu set's (cl/gpu_conv.cl): a pass and a weight gradient for register tiles of 2 × 2
     * and 4 × 4, and the sums of their splits */
    gc_kernel *gpu_pass[2], *gpu_weights[2], *gpu_pass_splits, *gpu_weights_splits;
} gc_conv_kernels;
gc_status gc_conv_kernels_find(gc_runtime *rt, gc_conv_kernels *k);

/* A layer: stride 1, zero padding kernel/2 (so H×W is kept), kernel 1 or 3. Weights are in the
 * usual order W[o][i][ky][kx] at w_offset of a weights tensor (kept because the kernels read
 * them as broadcast scalars, which costs the same in any order), bias b[o] at b_offset.
 * Activations are NCHW and start at an element offset of their tensor. It is a correlation,
 * as in every deep-learning library: out[y][x] sums W[ky][kx] · in[y + ky − k/2][x + kx − k/2]. */
typedef struct gc_conv {
    size_t in_channels, out_channels, kernel;
    size_t w_offset, b_offset;
    int has_bias;
    int relu; /* output = max(0, ·) */
    gc_conv_kernels kernels;
} gc_conv;

/* out (n, out_channels, h, w) = act(conv(in (n, in_channels, h, w)) + b). in and out must not
 * overlap. */
gc_status gc_conv_forward(const gc_conv *c, const gc_tensor *weights, const gc_tensor *in,
                          size_t in_offset, gc_tensor *out, size_t out_offset, size_t n, size_t h,
                          size_t w);

/* din (n, in_channels, h, w) (+)= convᵀ(dout (n, out_channels, h, w)), zeroed where `mask`
 * (the ReLU output that was this layer's input, laid out as din; NULL for none) is not
 * positive. dout is the gradient of the layer's pre-activation (relu is not applied here).
 * din must not overlap dout. */
gc_status gc_conv_backward_input(const gc_conv *c, const gc_tensor *weights, const gc_tensor *dout,
                                 size_t dout_offset, gc_tensor *din, size_t din_offset,
                                 const gc_tensor *mask, size_t mask_offset, int accumulate,
                                 size_t n, size_t h, size_t w);

/* grads[W] += Σ dout ⋆ in, grads[b] += Σ dout over the batch and the pixels, at the layer's
 * w_offset and b_offset of `grads`. Each sum runs in a fixed order, so results repeat bit for
 * bit on a given device. */
gc_status gc_conv_backward_params(const gc_conv *c, gc_tensor *grads, const gc_tensor *dout,
                                  size_t dout_offset, const gc_tensor *in, size_t in_offset,
                                  size_t n, size_t h, size_t w);

#endif
