/* The training pass of a Glow on vectors, L steps of (ActNorm, affine coupling, 1x1
 * convolution), fused into three OpenCL launches (cl/coupling.cl's vector_glow_*) instead of
 * about eight per step: PoCL runs any launch it expects to finish within 200 us on one thread,
 * which every per-op launch of the 2-D Glow's 256-row batches did, so the fused ones are what
 * lets a training step use more than one core. The ops' own passes stay the reference, and the
 * path for everything else (encoding, decoding, sampling, the low-memory mode). */
#ifndef GLOWCL_VECTOR_GLOW_H
#define GLOWCL_VECTOR_GLOW_H

#include "model/ops/op.h"

typedef struct gc_vector_glow gc_vector_glow;

/* *out = the fused pass for these ops, or NULL (with GC_OK) when they are not such steps on
 * an OpenCL runtime, or their vectors are wider than the kernels hold. */
gc_status gc_vector_glow_create(gc_vector_glow **out, gc_runtime *rt, gc_op *const *ops,
                                size_t op_count);
void gc_vector_glow_free(gc_vector_glow *v);

/* Whether n rows fit the kernels' 32-bit indices. */
int gc_vector_glow_fits(const gc_vector_glow *v, size_t n);

/* The encoder on x (n rows): z, and logdet[i] += each sample's log-determinant; every op's
 * input and the couplings' activations stay in the pass's own buffers for the backward. */
gc_status gc_vector_glow_forward(gc_vector_glow *v, const gc_tensor *params, gc_tensor *x,
                                 gc_tensor *z, gc_tensor *logdet, size_t n);

/* After gc_vector_glow_forward on the same x and params: with dz = ∂L/∂z and ∂L/∂logdet[i] =
 * dlogdet, adds ∂L/∂θ into grads (the data's own gradient is not formed). */
gc_status gc_vector_glow_backward(gc_vector_glow *v, const gc_tensor *params, gc_tensor *grads,
                                  gc_tensor *x, gc_tensor *dz, double dlogdet, size_t n);

#endif
