/* Squeeze, C×H×W → 4C×H/2×W/2: every 2×2 block of a channel becomes four channels, so the
 * following 1x1 convolutions and couplings can mix neighbouring pixels. A permutation: log-det
 * 0, the inverse is the reverse gather, and the backward pass unsqueezes the gradient.
 * Reference loops beside cl/squeeze.cl. */
#include <stdio.h>
#include <stdlib.h>

#include "model/ops/op.h"

typedef struct squeeze_op {
    gc_op base;
    size_t channels, height, width; /* of the input (unsqueezed) side */
    gc_kernel *kernel;              /* squeeze_apply */
} squeeze_op;

/* direction +1: in is C×H×W, out 4C×H/2×W/2; −1 the other way. */
static gc_status gather(const squeeze_op *op, gc_runtime *rt, const gc_tensor *in, gc_tensor *out,
                        size_t n, int direction)
{
    size_t c = op->channels, h = op->height, w = op->width, per_sample = c * h * w;
    if (rt->backend == GC_BACKEND_OPENCL)
        return GC_LAUNCH1D(rt, op->kernel, n * per_sample, 64, GC_MEM(out), GC_MEM(in), GC_U32(n),
                           GC_U32(c), GC_U32(h), GC_U32(w), GC_I32(direction));
    for (size_t i = 0; i < n; i++)
        for (size_t ch = 0; ch < c; ch++)
            for (size_t y = 0; y < h; y++)
                for (size_t x = 0; x < w; x++) {
                    size_t wide = i * per_sample + (ch * h + y) * w + x;
                    size_t narrow = i * per_sample +
                                    ((ch * 4 + (y % 2) * 2 + x % 2) * (h / 2) + y / 2) * (w / 2) +
                                    x / 2;
                    if (direction > 0)
                        out->host[narrow] = in->host[wide];
                    else
                        out->host[wide] = in->host[narrow];
                }
    return GC_OK;
}

static gc_status apply(gc_op *op_base, const gc_tensor *params, const gc_tensor *in, gc_tensor *out,
                       gc_tensor *logdet, size_t n, int direction)
{
    (void)logdet; /* a permutation: log|det| = 0 */
    return gather((squeeze_op *)op_base, params->rt, in, out, n, direction);
}

static gc_status squeeze_backward(gc_op *op_base, const gc_tensor *params, gc_tensor *grads,
                                  const gc_tensor *x, const gc_tensor *dz, gc_tensor *dx,
                                  double dlogdet, size_t n)
{
    (void)grads, (void)x, (void)dlogdet;
    return gather((squeeze_op *)op_base, params->rt, dz, dx, n, -1);
}

static void squeeze_init_params(gc_op *op, double *params, gc_rng *rng)
{
    (void)op, (void)params, (void)rng; /* no parameters */
}

static void squeeze_destroy(gc_op *op) { free(op); }

static const gc_op_vtable squeeze_vtable = {
    "squeeze", apply, squeeze_backward, NULL, squeeze_init_params, squeeze_destroy};

gc_status gc_squeeze_create(gc_op **out, gc_runtime *rt, const char *name, size_t channels,
                            size_t height, size_t width)
{
    if (height % 2 || width % 2 || height == 0 || width == 0)
        return GC_ERROR(GC_ERR_ARGUMENT,
                        "cannot squeeze %zux%zu images: height and width must "
                        "be even",
                        height, width);
    squeeze_op *op = calloc(1, sizeof *op);
    if (!op) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    op->base.vt = &squeeze_vtable;
    op->base.rt = rt;
    op->base.dim = channels * height * width;
    snprintf(op->base.name, sizeof op->base.name, "%s", name);
    op->channels = channels;
    op->height = height;
    op->width = width;
    gc_status status = gc_kernel_find(rt, "squeeze_apply", &op->kernel);
    if (status != GC_OK) {
        free(op);
        return status;
    }
    *out = &op->base;
    return GC_OK;
}
