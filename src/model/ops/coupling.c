/* Affine coupling for vectors: y_a = x_a, y_b = x_b ⊙ exp(s) + t with s = scale ⊙ tanh(raw),
 * where raw = MLP_scale(x_a) and t = MLP_shift(x_a) are two ReLU networks run as the two groups
 * of one set of dense layers. The last layers start at zero, so a new coupling is the identity.
 * The reference path runs the networks through ops/dense.c and the element-wise part in the
 * loops here; on OpenCL, cl/coupling.cl runs the whole coupling fused: one launch forward
 * (which also leaves the weights transposed for the backward pass); backward the
 * input-gradient pass and one launch for every parameter gradient. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/ops/dense.h"
#include "model/ops/op.h"

enum { NETS = 2 }; /* group 0: the scale network, group 1: the shift network */

typedef struct coupling_op {
    gc_op base;
    gc_coupling_config config;
    size_t a_begin, a_dim, b_begin, b_dim;
    gc_dense *layers; /* depth + 1 layers; the last one has no ReLU */
    int layer_count;
    size_t scale_offset;
    /* Scratch for `capacity` rows: hidden activations and their gradients, the networks'
     * outputs and theirs, and per-sample terms of the scale gradient. */
    size_t capacity;
    gc_tensor hidden, d_hidden, nets, d_nets, dscale_rows;
    gc_tensor transposed; /* OpenCL: the weights as W[g][o][i], for the backward pass */
    size_t weight_count;
    gc_kernel *forward_kernel, *backward_kernel, *params_kernel; /* cl/coupling.cl */
} coupling_op;

static gc_status reserve(coupling_op *op, size_t n)
{
    if (n <= op->capacity) return GC_OK;
    size_t h = op->config.hidden, depth = (size_t)op->config.depth;
    gc_runtime *rt = op->base.rt;
    GC_TRY(gc_scratch_reserve(&op->hidden, rt, depth * NETS * n, h));
    GC_TRY(gc_scratch_reserve(&op->d_hidden, rt, depth * NETS * n, h));
    GC_TRY(gc_scratch_reserve(&op->nets, rt, NETS * n, op->b_dim));
    GC_TRY(gc_scratch_reserve(&op->d_nets, rt, NETS * n, op->b_dim));
    GC_TRY(gc_scratch_reserve(&op->dscale_rows, rt, n, op->b_dim));
    op->capacity = n;
    return GC_OK;
}

/* Rows of hidden layer k (0-based) in `t`, group stride = capacity rows. */
static gc_rows hidden_rows(const coupling_op *op, const gc_tensor *t, int k)
{
    size_t h = op->config.hidden, block = op->capacity * h;
    return (gc_rows){t, (size_t)k * NETS * block, h, block};
}

static gc_rows nets_rows(const coupling_op *op, const gc_tensor *t)
{
    return (gc_rows){t, 0, op->b_dim, op->capacity * op->b_dim};
}

/* The conditioning half of a batch, shared by both networks. */
static gc_rows input_rows(const coupling_op *op, const gc_tensor *x)
{
    return (gc_rows){x, op->a_begin, op->base.dim, 0};
}

/* Runs both networks on the conditioning half of `in`, filling hidden and nets. */
static gc_status run_nets(coupling_op *op, const gc_tensor *params, const gc_tensor *in, size_t n)
{
    gc_rows rows = input_rows(op, in);
    for (int k = 0; k < op->layer_count; k++) {
        gc_rows out =
            k + 1 < op->layer_count ? hidden_rows(op, &op->hidden, k) : nets_rows(op, &op->nets);
        GC_TRY(gc_dense_forward(&op->layers[k], params, rows, out, n));
        rows = out;
    }
    return GC_OK;
}

/* The OpenCL path runs both networks and the transform in one launch (cl/coupling.cl);
 * direction 0 runs only the networks. */
static gc_status launch_forward(coupling_op *op, const gc_tensor *params, const gc_tensor *in,
                                gc_tensor *out, gc_tensor *logdet, size_t n, int direction)
{
    GC_TRY(gc_scratch_reserve(&op->transposed, params->rt, op->weight_count, 1));
    /* Kernels need valid buffers even where direction 0 leaves them alone. */
    cl_mem out_buffer = out ? out->buffer : op->nets.buffer;
    cl_mem logdet_buffer = logdet ? logdet->buffer : op->nets.buffer;
    const gc_kernel_shapes *shapes = &params->rt->shapes;
    return GC_LAUNCH1D(
        params->rt, op->forward_kernel, gc_coupling_row_items(shapes, n), shapes->coupling_group,
        GC_BUF(out_buffer), GC_MEM(in), GC_BUF(logdet_buffer), GC_MEM(&op->hidden),
        GC_MEM(&op->nets), GC_MEM(&op->transposed), GC_MEM(params), GC_U32(op->layers[0].w_offset),
        GC_U32(op->scale_offset), GC_U32(n), GC_U32(op->capacity), GC_U32(op->base.dim),
        GC_U32(op->a_begin), GC_U32(op->a_dim), GC_U32(op->b_begin), GC_U32(op->b_dim),
        GC_U32(op->config.hidden), GC_U32(op->config.depth), GC_I32(direction));
}

static gc_status apply(gc_op *op_base, const gc_tensor *params, const gc_tensor *in, gc_tensor *out,
                       gc_tensor *logdet, size_t n, int direction)
{
    coupling_op *op = (coupling_op *)op_base;
    GC_TRY(reserve(op, n));
    /* in_a = out_a, so decoding sees the same networks. */
    if (params->rt->backend == GC_BACKEND_OPENCL)
        return launch_forward(op, params, in, out, logdet, n, direction);
    GC_TRY(run_nets(op, params, in, n));
    size_t dim = op->base.dim, gstride = op->capacity * op->b_dim;
    const double *scale = params->host + op->scale_offset, *nets = op->nets.host;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < op->a_dim; k++)
            out->host[i * dim + op->a_begin + k] = in->host[i * dim + op->a_begin + k];
        double sum = 0.0;
        for (size_t j = 0; j < op->b_dim; j++) {
            double s = scale[j] * tanh(nets[i * op->b_dim + j]);
            double t = nets[gstride + i * op->b_dim + j];
            double v = in->host[i * dim + op->b_begin + j];
            out->host[i * dim + op->b_begin + j] =
                direction > 0 ? v * exp(s) + t : (v - t) * exp(-s);
            sum += s;
        }
        logdet->host[i] += direction > 0 ? sum : -sum;
    }
    return GC_OK;
}

/* The element-wise part of the backward pass on the reference path: dx (a half: dz_a; b half:
 * dz_b·exp(s)), the gradients of the networks' outputs, and per-sample terms of the scale
 * gradient. */
static void backward_elementwise(coupling_op *op, const gc_tensor *params, const gc_tensor *x,
                                 const gc_tensor *dz, gc_tensor *dx, double dlogdet, size_t n)
{
    size_t dim = op->base.dim, gstride = op->capacity * op->b_dim, bd = op->b_dim;
    const double *scale = params->host + op->scale_offset, *nets = op->nets.host;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < op->a_dim; k++)
            dx->host[i * dim + op->a_begin + k] = dz->host[i * dim + op->a_begin + k];
        for (size_t j = 0; j < bd; j++) {
            double th = tanh(nets[i * bd + j]);
            double e = exp(scale[j] * th);
            double g = dz->host[i * dim + op->b_begin + j];
            double ds = g * x->host[i * dim + op->b_begin + j] * e + dlogdet;
            dx->host[i * dim + op->b_begin + j] = g * e;
            op->d_nets.host[i * bd + j] = ds * scale[j] * (1.0 - th * th);
            op->d_nets.host[gstride + i * bd + j] = g;
            op->dscale_rows.host[i * bd + j] = ds * th;
        }
    }
}

/* Reference path: the input gradients layer by layer, from the networks' outputs back to dx_a,
 * leaving each layer's output gradient in d_hidden for the parameter gradients. */
static gc_status backward_inputs_reference(coupling_op *op, const gc_tensor *params, gc_tensor *dx,
                                           size_t n)
{
    gc_rows d_out = nets_rows(op, &op->d_nets);
    for (int k = op->layer_count - 1; k >= 0; k--) {
        const gc_dense *layer = &op->layers[k];
        if (k > 0) {
            gc_rows in = hidden_rows(op, &op->hidden, k - 1);
            gc_rows d_in = hidden_rows(op, &op->d_hidden, k - 1);
            /* The input was a ReLU output: its gradient passes only where it was positive. */
            GC_TRY(gc_dense_backward_input(layer, params, d_out, d_in, in, 0, n));
            d_out = d_in;
        } else {
            gc_rows none = {NULL, 0, 0, 0};
            GC_TRY(gc_dense_backward_input(
                layer, params, d_out, (gc_rows){dx, op->a_begin, op->base.dim, 0}, none, 1, n));
        }
    }
    return GC_OK;
}

/* Tiles of one group's parameter gradient in cl/coupling.cl (params_tiles). */
static size_t params_tiles(const gc_kernel_shapes *s, size_t in_dim, size_t out_dim)
{
    size_t columns = in_dim + 1, tile_in = s->coupling_tile_in, tile_out = s->coupling_tile_out;
    return out_dim >= tile_out
               ? (out_dim + tile_out - 1) / tile_out * ((columns + tile_in - 1) / tile_in)
               : (columns + s->coupling_vector - 1) / s->coupling_vector;
}

size_t gc_coupling_param_tasks(const gc_kernel_shapes *shapes, const gc_coupling_layout *layout)
{
    size_t tasks = 1;
    for (size_t k = 0; k <= layout->depth; k++)
        tasks += NETS * params_tiles(shapes, k == 0 ? layout->a_dim : layout->hidden,
                                     k == layout->depth ? layout->b_dim : layout->hidden);
    return tasks;
}

size_t gc_coupling_row_items(const gc_kernel_shapes *shapes, size_t n)
{
    return (n + shapes->coupling_rows - 1) / shapes->coupling_rows;
}

/* Every parameter gradient of the networks and the scale in one launch: a work-item per tile
 * of each layer and group, and one for the scale. */
static gc_status launch_params(coupling_op *op, const gc_tensor *params, gc_tensor *grads,
                               const gc_tensor *x, size_t n)
{
    gc_coupling_layout layout;
    gc_coupling_layout_of(&op->base, &layout);
    const gc_kernel_shapes *shapes = &params->rt->shapes;
    return GC_LAUNCH1D(params->rt, op->params_kernel, gc_coupling_param_tasks(shapes, &layout),
                       shapes->coupling_group, GC_MEM(grads), GC_MEM(x), GC_MEM(&op->hidden),
                       GC_MEM(&op->d_hidden), GC_MEM(&op->d_nets), GC_MEM(&op->dscale_rows),
                       GC_U32(op->layers[0].w_offset), GC_U32(op->scale_offset), GC_U32(n),
                       GC_U32(op->capacity), GC_U32(op->base.dim), GC_U32(op->a_begin),
                       GC_U32(op->a_dim), GC_U32(op->b_dim), GC_U32(op->config.hidden),
                       GC_U32(op->config.depth));
}

/* OpenCL: the fused input-gradient pass (on the weights the last forward launch left
 * transposed), then every parameter gradient in one launch. */
static gc_status backward_opencl(coupling_op *op, const gc_tensor *params, gc_tensor *grads,
                                 const gc_tensor *x, const gc_tensor *dz, gc_tensor *dx,
                                 double dlogdet, size_t n)
{
    const gc_kernel_shapes *shapes = &params->rt->shapes;
    GC_TRY(GC_LAUNCH1D(params->rt, op->backward_kernel, gc_coupling_row_items(shapes, n),
                       shapes->coupling_group, GC_MEM(dx), GC_MEM(dz), GC_MEM(x),
                       GC_MEM(&op->hidden), GC_MEM(&op->d_hidden), GC_MEM(&op->nets),
                       GC_MEM(&op->d_nets), GC_MEM(&op->dscale_rows), GC_MEM(params),
                       GC_MEM(&op->transposed), GC_U32(op->scale_offset), GC_F32(dlogdet),
                       GC_U32(n), GC_U32(op->capacity), GC_U32(op->base.dim), GC_U32(op->a_begin),
                       GC_U32(op->a_dim), GC_U32(op->b_begin), GC_U32(op->b_dim),
                       GC_U32(op->config.hidden), GC_U32(op->config.depth)));
    return launch_params(op, params, grads, x, n);
}

/* Reference path: the element-wise part, the input gradients layer by layer, then the
 * parameter gradients from the d_hidden rows those left. */
static gc_status backward_reference(coupling_op *op, const gc_tensor *params, gc_tensor *grads,
                                    const gc_tensor *x, const gc_tensor *dz, gc_tensor *dx,
                                    double dlogdet, size_t n)
{
    backward_elementwise(op, params, x, dz, dx, dlogdet, n);
    GC_TRY(backward_inputs_reference(op, params, dx, n));
    GC_TRY(
        gc_tensor_accumulate_columns(grads, op->scale_offset, &op->dscale_rows, n, op->b_dim, 1.0));
    for (int k = op->layer_count - 1; k >= 0; k--) {
        gc_rows d_out = k + 1 < op->layer_count ? hidden_rows(op, &op->d_hidden, k)
                                                : nets_rows(op, &op->d_nets);
        gc_rows in = k > 0 ? hidden_rows(op, &op->hidden, k - 1) : input_rows(op, x);
        GC_TRY(gc_dense_backward_params(&op->layers[k], grads, d_out, in, n));
    }
    return GC_OK;
}

static gc_status coupling_backward(gc_op *op_base, const gc_tensor *params, gc_tensor *grads,
                                   const gc_tensor *x, const gc_tensor *dz, gc_tensor *dx,
                                   double dlogdet, size_t n)
{
    coupling_op *op = (coupling_op *)op_base;
    GC_TRY(reserve(op, n));
    int opencl = params->rt->backend == GC_BACKEND_OPENCL;
    /* The networks' activations live in the op's own scratch, so the last transform's are still
     * there when the model says that transform saw this x; otherwise they are recomputed. */
    if (!op->base.reuse_activations)
        GC_TRY(opencl ? launch_forward(op, params, x, NULL, NULL, n, 0)
                      : run_nets(op, params, x, n));
    return opencl ? backward_opencl(op, params, grads, x, dz, dx, dlogdet, n)
                  : backward_reference(op, params, grads, x, dz, dx, dlogdet, n);
}

/* PyTorch's nn.Linear default, U(−1/√fan_in, 1/√fan_in), for the hidden layers; zeros for the
 * output layer so that the coupling starts as the identity (as Glow does); scale 1. */
static void coupling_init_params(gc_op *op_base, double *params, gc_rng *rng)
{
    coupling_op *op = (coupling_op *)op_base;
    for (int k = 0; k < op->layer_count; k++) {
        const gc_dense *layer = &op->layers[k];
        int last = k + 1 == op->layer_count;
        double bound = 1.0 / sqrt((double)layer->in_dim);
        size_t weights = NETS * layer->out_dim * layer->in_dim, biases = NETS * layer->out_dim;
        for (size_t i = 0; i < weights; i++)
            params[layer->w_offset + i] = last ? 0.0 : bound * (2.0 * gc_rng_uniform(rng) - 1.0);
        for (size_t i = 0; i < biases; i++)
            params[layer->b_offset + i] = last ? 0.0 : bound * (2.0 * gc_rng_uniform(rng) - 1.0);
    }
    for (size_t j = 0; j < op->b_dim; j++) params[op->scale_offset + j] = 1.0;
}

static void coupling_destroy(gc_op *op_base)
{
    coupling_op *op = (coupling_op *)op_base;
    gc_tensor_release(&op->hidden);
    gc_tensor_release(&op->d_hidden);
    gc_tensor_release(&op->nets);
    gc_tensor_release(&op->d_nets);
    gc_tensor_release(&op->dscale_rows);
    gc_tensor_release(&op->transposed);
    free(op->layers);
    free(op);
}

static const gc_op_vtable coupling_vtable = {
    "coupling", apply, coupling_backward, NULL, coupling_init_params, coupling_destroy};

int gc_coupling_layout_of(const gc_op *op_base, gc_coupling_layout *layout)
{
    const coupling_op *op = (const coupling_op *)op_base;
    if (op_base->vt != &coupling_vtable) return 0;
    *layout = (gc_coupling_layout){op->layers[0].w_offset,
                                   op->scale_offset,
                                   op->a_begin,
                                   op->a_dim,
                                   op->b_begin,
                                   op->b_dim,
                                   op->config.hidden,
                                   (size_t)op->config.depth,
                                   op->weight_count};
    return 1;
}

gc_status gc_coupling_create(gc_op **out, gc_runtime *rt, gc_param_registry *reg, const char *name,
                             size_t dim, gc_coupling_config config)
{
    if (dim < 2) return GC_ERROR(GC_ERR_ARGUMENT, "a coupling needs at least 2 dimensions");
    if (config.depth < 1 || config.hidden < 1)
        return GC_ERROR(GC_ERR_ARGUMENT, "coupling networks need at least one hidden layer");
    coupling_op *op = calloc(1, sizeof *op);
    if (op) op->layers = calloc((size_t)config.depth + 1, sizeof *op->layers);
    if (!op || !op->layers) {
        free(op);
        return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    }
    op->base.vt = &coupling_vtable;
    op->base.rt = rt;
    op->base.dim = dim;
    snprintf(op->base.name, sizeof op->base.name, "%s", name);
    op->config = config;
    size_t half = dim / 2;
    op->a_dim = half;
    op->b_dim = dim - half;
    /* Parity 0 conditions on the first half, parity 1 on the last: alternating couplings
     * transform every dimension. */
    op->a_begin = config.parity ? dim - half : 0;
    op->b_begin = config.parity ? 0 : half;
    op->layer_count = config.depth + 1;

    gc_status status = GC_OK;
    for (int k = 0; k < op->layer_count && status == GC_OK; k++) {
        gc_dense *layer = &op->layers[k];
        int last = k + 1 == op->layer_count;
        layer->groups = NETS;
        layer->in_dim = k == 0 ? op->a_dim : config.hidden;
        layer->out_dim = last ? op->b_dim : config.hidden;
        layer->has_bias = 1;
        layer->relu = !last;
        char weight_name[32], bias_name[32];
        snprintf(weight_name, sizeof weight_name, "net%d.weight", k);
        snprintf(bias_name, sizeof bias_name, "net%d.bias", k);
        op->weight_count += NETS * layer->out_dim * layer->in_dim;
        status = gc_param_reserve(reg, name, weight_name, NETS * layer->out_dim * layer->in_dim,
                                  &layer->w_offset);
        if (status == GC_OK)
            status =
                gc_param_reserve(reg, name, bias_name, NETS * layer->out_dim, &layer->b_offset);
    }
    if (status == GC_OK)
        status = gc_param_reserve(reg, name, "scale", op->b_dim, &op->scale_offset);
    if (status == GC_OK) status = gc_kernel_find(rt, "coupling_forward", &op->forward_kernel);
    if (status == GC_OK) status = gc_kernel_find(rt, "coupling_backward", &op->backward_kernel);
    if (status == GC_OK) status = gc_kernel_find(rt, "coupling_params", &op->params_kernel);
    /* The fused kernels find every layer from the first one's offset (cl/coupling.cl). */
    for (int k = 1; k < op->layer_count && status == GC_OK; k++) {
        const gc_dense *before = &op->layers[k - 1];
        if (op->layers[k].w_offset != before->b_offset + NETS * before->out_dim ||
            before->b_offset != before->w_offset + NETS * before->in_dim * before->out_dim)
            status = GC_ERROR(GC_ERR_UNSUPPORTED, "coupling %s: layers not contiguous", name);
    }
    if (status != GC_OK) {
        coupling_destroy(&op->base);
        return status;
    }
    *out = &op->base;
    return GC_OK;
}
