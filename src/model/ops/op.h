/* The contract every flow operation implements (a FlowModule), and the parameter
 * registry they share. All parameters of a model live in one tensor (and their gradients and
 * Adam moments in three more of the same size): an op knows its parameters by offset, so one
 * launch zeroes every gradient and one launch steps every parameter. */
#ifndef GLOWCL_OP_H
#define GLOWCL_OP_H

#include <stddef.h>

#include "glowcl/rng.h"
#include "glowcl/tensor.h"
#include "core/internal.h"

/* Names and places of the parameter blocks, in registration order. */
typedef struct gc_param_block {
    char name[48];
    size_t offset, count;
    int fixed; /* saved with the model but never trained (a permutation, a sign) */
} gc_param_block;

typedef struct gc_param_registry {
    gc_param_block *blocks;
    size_t count, capacity;
    size_t total; /* values so far */
} gc_param_registry;

/* Reserves `count` values named `name` (copied; `prefix` and `name` are joined with '.'). */
gc_status gc_param_reserve(gc_param_registry *reg, const char *prefix, const char *name,
                           size_t count, size_t *offset_out);
/* The same for values that are part of the model but not trained. */
gc_status gc_param_reserve_fixed(gc_param_registry *reg, const char *prefix, const char *name,
                                 size_t count, size_t *offset_out);
void gc_param_registry_free(gc_param_registry *reg);

/* A batch of vectors travels as an (capacity, dim) tensor of which the first n rows are used;
 * per-sample log-determinants as a (capacity) tensor. */
typedef struct gc_op gc_op;

typedef struct gc_op_vtable {
    const char *kind;
    /* direction +1, the encoder: in = x → out = z = f(x), logdet[i] += log|det ∂z_i/∂x_i|;
     * direction −1, the decoder: in = z → out = x = f⁻¹(z), logdet[i] += log|det ∂x_i/∂z_i|
     * (the negative of the encoder's). */
    gc_status (*transform)(gc_op *op, const gc_tensor *params, const gc_tensor *in, gc_tensor *out,
                           gc_tensor *logdet, size_t n, int direction);
    /* For a loss L with dz = ∂L/∂z and ∂L/∂logdet[i] = dlogdet for every i: writes
     * dx = ∂L/∂x and adds ∂L/∂θ into grads (same layout as params). x is the op's input. */
    gc_status (*backward)(gc_op *op, const gc_tensor *params, gc_tensor *grads, const gc_tensor *x,
                          const gc_tensor *dz, gc_tensor *dx, double dlogdet, size_t n);
    /* Data-dependent initialisation from the first batch (NULL: none). */
    gc_status (*data_init)(gc_op *op, gc_tensor *params, const gc_tensor *x, size_t n);
    /* Writes the op's initial parameters into the host copy of all parameters. */
    void (*init_params)(gc_op *op, double *params, gc_rng *rng);
    void (*destroy)(gc_op *op);
} gc_op_vtable;

struct gc_op {
    const gc_op_vtable *vt;
    gc_runtime *rt;
    size_t dim;     /* values per sample going in (encoder direction) */
    size_t out_dim; /* values per sample coming out; 0: the same as dim */
    char name[32];
    /* Set by the model around a training pass. keep_activations: transform keeps what it
     * computes for its backward (the image coupling's network activations) in tensors of its
     * own rather than shared scratch. reuse_activations: the last transform of this op saw
     * the input the next backward gets (or its output, for the decoder), so the backward may
     * use those activations instead of recomputing them. */
    int keep_activations, reuse_activations;
};

static inline size_t gc_op_out_dim(const gc_op *op) { return op->out_dim ? op->out_dim : op->dim; }

/* Constructors: each reserves its parameters in `reg`. */
typedef enum { GC_AFFINE_PLAIN, GC_AFFINE_ACTNORM } gc_affine_mode;
/* One (s, t) per channel of (n, channels, pixels) batches (pixels = 1 for vectors). */
gc_status gc_affine_create(gc_op **out, gc_runtime *rt, gc_param_registry *reg, const char *name,
                           size_t channels, size_t pixels, gc_affine_mode mode);

typedef struct gc_coupling_config {
    size_t hidden; /* width of each hidden layer */
    int depth;     /* number of hidden layers */
    int parity;    /* 0: first half conditions the second; 1: the other way round */
} gc_coupling_config;
gc_status gc_coupling_create(gc_op **out, gc_runtime *rt, gc_param_registry *reg, const char *name,
                             size_t dim, gc_coupling_config config);

/* Where the fused vector Glow (ops/vector_glow.c) finds an op's parameters: each returns 0
 * unless `op` is of that kind, on vectors (one pixel). */
int gc_actnorm_offsets(const gc_op *op, size_t *s_offset, size_t *t_offset);
typedef struct gc_coupling_layout {
    size_t w_first, scale, a_begin, a_dim, b_begin, b_dim, hidden, depth, weight_count;
} gc_coupling_layout;
int gc_coupling_layout_of(const gc_op *op, gc_coupling_layout *layout);
/* Work-items of cl/coupling.cl's params_tasks: a tile of each layer and network, the scale. */
size_t gc_coupling_param_tasks(const gc_kernel_shapes *shapes, const gc_coupling_layout *layout);
/* Work-items of cl/coupling.cl's row passes over n samples: COUPLING_ROWS samples each. */
size_t gc_coupling_row_items(const gc_kernel_shapes *shapes, size_t n);
/* offsets[5]: lower, upper, log_s, perm, sign */
int gc_invconv_offsets(const gc_op *op, size_t offsets[5]);

/* The 1x1 convolution: the same channels × channels matrix at each of `pixels` positions of
 * an (n, channels, pixels) batch (pixels = 1 for vectors). */
gc_status gc_invconv_create(gc_op **out, gc_runtime *rt, gc_param_registry *reg, const char *name,
                            size_t channels, size_t pixels);

/* Squeeze of (channels, height, width) samples into (4·channels, height/2, width/2). */
gc_status gc_squeeze_create(gc_op **out, gc_runtime *rt, const char *name, size_t channels,
                            size_t height, size_t width);

/* Affine (or additive) coupling of (channels, height, width) images with the convolutional
 * network conv 3x3 → ReLU → conv 1x1 → ReLU → conv 3x3 of `hidden` channels. */
gc_status gc_conv_coupling_create(gc_op **out, gc_runtime *rt, gc_param_registry *reg,
                                  const char *name, size_t channels, size_t height, size_t width,
                                  size_t hidden, int additive);

/* The kernels of cl/conv_coupling.cl that the image coupling and the split share, looked up
 * when the op is created. */
typedef struct gc_channel_kernels {
    gc_kernel *conditioning, *gain, *gain_backward;
} gc_channel_kernels;
gc_status gc_channel_kernels_find(gc_runtime *rt, gc_channel_kernels *k);

/* Glow's Conv2dZeros gain on (n, channels, pixels) outputs: h *= exp(3·g[c]) in place; and its
 * backward: dh becomes the pre-gain gradient, ∂L/∂g is added into grads (rows and sums are
 * scratch of h's size and of `channels`). */
gc_status gc_gain_forward(const gc_channel_kernels *k, const gc_tensor *params, size_t gain_offset,
                          gc_tensor *h, size_t n, size_t channels, size_t pixels);
gc_status gc_gain_backward(const gc_channel_kernels *k, const gc_tensor *params, gc_tensor *grads,
                           size_t gain_offset, gc_tensor *dh, const gc_tensor *h, gc_tensor *rows,
                           gc_tensor *sums, size_t n, size_t channels, size_t pixels);

/* xa (n, a, pixels) = the first a channels of x (n, channels, pixels); with add, x += xa there. */
gc_status gc_first_channels(const gc_channel_kernels *k, gc_tensor *x, gc_tensor *xa, size_t n,
                            size_t channels, size_t a, size_t pixels, int add);

/* Split of (channels, height, width) samples: the first channels/2 go on, the rest are
 * factored out into the op's side buffer and scored by N(0, I), or with `conditional` by
 * N(μ, σ²) with (μ, log σ) from a zero-started 3x3 convolution of the kept half (Glow's
 * learned prior). */
gc_status gc_split_create(gc_op **out, gc_runtime *rt, gc_param_registry *reg, const char *name,
                          size_t channels, size_t height, size_t width, int conditional);
/* While temperature ≥ 0, decoding reads the side buffer as ε ~ N(0, I) and draws the factored
 * half as μ + σ·temperature·ε; below 0 (the default) it holds the factored half itself. */
void gc_split_set_sampling(gc_op *op, double temperature);
/* The side buffer of a split op for n samples (NULL if `op` is not a split), and its values
 * per sample. */
gc_tensor *gc_split_side(gc_op *op, size_t n, size_t *side_dim);

/* Reference backend: logdet[i] += scale · Σ_k params[offset + k] for i < n, the log-determinant
 * of an op whose Jacobian is the same for every sample (the OpenCL kernels of those ops add it
 * as they run, see add_param_logdet in cl/common.clh). */
gc_status gc_logdet_add_param_sum(gc_tensor *logdet, const gc_tensor *params, size_t offset,
                                  size_t count, double scale, size_t n);

#endif
