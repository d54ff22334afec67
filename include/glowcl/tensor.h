/* Tensors: a shape and storage either on the host in double (reference backend) or in an OpenCL
 * buffer in float (OpenCL backend), with explicit upload and download, plus the elementwise and
 * reduction operations later work builds on, implemented for both backends. */
#ifndef GLOWCL_TENSOR_H
#define GLOWCL_TENSOR_H

#include <stddef.h>

#include "glowcl/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GC_TENSOR_MAX_DIMS 4

typedef struct gc_tensor {
    gc_runtime *rt;
    int ndim;
    size_t shape[GC_TENSOR_MAX_DIMS];
    size_t count;  /* product of the shape */
    double *host;  /* reference backend: count doubles */
    cl_mem buffer; /* OpenCL backend: count floats */
} gc_tensor;

/* Allocates a zero-filled tensor of the given shape on the runtime's backend. */
gc_status gc_tensor_init(gc_tensor *t, gc_runtime *rt, int ndim, const size_t *shape);
/* Shorthands for 1-D and 2-D tensors. */
gc_status gc_tensor_init1(gc_tensor *t, gc_runtime *rt, size_t n0);
gc_status gc_tensor_init2(gc_tensor *t, gc_runtime *rt, size_t n0, size_t n1);
void gc_tensor_release(gc_tensor *t);

/* Host ⇄ tensor copies of all `count` values; the OpenCL backend converts to and from float
 * and waits for the transfer to finish. */
gc_status gc_tensor_upload(gc_tensor *t, const double *values);
gc_status gc_tensor_download(const gc_tensor *t, double *values);

/* The same for `count` values starting at element `offset`. */
gc_status gc_tensor_write(gc_tensor *t, size_t offset, const double *values, size_t count);
gc_status gc_tensor_read(const gc_tensor *t, size_t offset, double *values, size_t count);

gc_status gc_tensor_fill(gc_tensor *t, double value);
gc_status gc_tensor_copy(gc_tensor *dst, const gc_tensor *src);
gc_status gc_tensor_scale(gc_tensor *t, double alpha);                           /* t *= alpha */
gc_status gc_tensor_axpy(gc_tensor *y, double alpha, const gc_tensor *x);        /* y += alpha x */
gc_status gc_tensor_mul(gc_tensor *out, const gc_tensor *a, const gc_tensor *b); /* out = a ⊙ b */

/* Reductions over a tensor seen as (outer, channels, inner), per channel: outer is the batch,
 * inner the pixels (1 for vectors). Deterministic: a fixed-shape tree on a given device. The
 * tensor may hold more (a batch buffer only partly used): its first outer·channels·inner
 * elements are reduced. */
gc_status gc_tensor_channel_sum(gc_tensor *sum, const gc_tensor *x, size_t outer, size_t channels,
                                size_t inner);
/* out[0] = Σ x_j² over the first `count` elements (a one-element out). */
gc_status gc_tensor_sum_squares(gc_tensor *out, const gc_tensor *x, size_t count);
/* Mean and biased variance (divided by outer·inner), two-pass for accuracy. */
gc_status gc_tensor_channel_moments(gc_tensor *mean, gc_tensor *var, const gc_tensor *x,
                                    size_t outer, size_t channels, size_t inner);
/* Sum over the batch of an (N, D) tensor: out[d] = Σ_n x[n, d]. */
gc_status gc_tensor_sum_batch(gc_tensor *out, const gc_tensor *x);
/* dst[offset + c] += scale · Σ_r src[r, c] for the first `rows` rows of src seen as (rows, cols),
 * summed row by row in order (gradients of per-channel parameters). */
gc_status gc_tensor_accumulate_columns(gc_tensor *dst, size_t offset, const gc_tensor *src,
                                       size_t rows, size_t cols, double scale);

#ifdef __cplusplus
}
#endif

#endif
