/* Fully connected layers over a batch, in groups: the reference loops of the vector coupling's
 * networks. The OpenCL coupling runs the same sums fused (cl/coupling.cl), so these accept only
 * reference tensors (GC_ERR_UNSUPPORTED otherwise). */
#ifndef GLOWCL_DENSE_H
#define GLOWCL_DENSE_H

#include "glowcl/tensor.h"

/* A batch of rows inside a tensor: row r of group g starts at offset + g·group_stride + r·ld.
 * group_stride 0 means all groups share the rows. */
typedef struct gc_rows {
    const gc_tensor *t;
    size_t offset, ld, group_stride;
} gc_rows;

/* A layer: weights stored input-major, Wᵀ[g][i][o], at w_offset of `weights` (so the kernels
 * read them contiguously), biases b[g][o] at b_offset. */
typedef struct gc_dense {
    size_t groups, in_dim, out_dim;
    size_t w_offset, b_offset;
    int has_bias;
    int relu; /* output = max(0, ·) */
} gc_dense;

/* out = act(W·in + b) for `rows` rows of every group. */
gc_status gc_dense_forward(const gc_dense *layer, const gc_tensor *weights, gc_rows in, gc_rows out,
                           size_t rows);

/* din (+)= Wᵀ·dout, zeroed where `mask` (the ReLU output that was this layer's input, if
 * mask.t is not NULL) is not positive; a shared input sums over groups. */
gc_status gc_dense_backward_input(const gc_dense *layer, const gc_tensor *weights, gc_rows dout,
                                  gc_rows din, gc_rows mask, int accumulate, size_t rows);

/* grads[W] += Σ_r dout·inᵀ, grads[b] += Σ_r dout (rows summed in order). */
gc_status gc_dense_backward_params(const gc_dense *layer, gc_tensor *grads, gc_rows dout,
                                   gc_rows in, size_t rows);

#endif
