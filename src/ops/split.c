/* Split (multi-scale Glow): after each level the last half of the channels is factored out —
 * no longer transformed, scored by the prior N(0, I) as part of the log-likelihood — and only
 * the first half goes on. The factored half is kept in the op's side buffer: the encoder fills
 * it, the decoder reads it (so a given z reconstructs exactly; sampling fills it from the
 * prior). Reference loops beside cl/split.cl. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ops/op.h"

#define LOG_2PI 1.8378770664093453

typedef struct split_op {
    gc_op base;
    size_t channels, keep, pixels;
    gc_tensor side; /* (capacity, (channels − keep) · pixels) */
} split_op;

static unsigned u(size_t v) { return (unsigned)v; }

static gc_status reserve(split_op *op, size_t n)
{
    return gc_scratch_reserve(&op->side, op->base.rt, n, (op->channels - op->keep) * op->pixels);
}

/* direction +1: in = full, out = kept; −1: in = kept, out = full. */
static gc_status apply(gc_op *op_base, const gc_tensor *params, const gc_tensor *in,
                       gc_tensor *out, gc_tensor *logdet, size_t n, int direction)
{
    split_op *op = (split_op *)op_base;
    GC_TRY(reserve(op, n));
    const gc_tensor *full = direction > 0 ? in : out, *kept = direction > 0 ? out : in;
    size_t per = op->channels * op->pixels, kept_size = op->keep * op->pixels;
    size_t side_size = per - kept_size;
    if (params->rt->backend == GC_BACKEND_OPENCL)
        return gc_run1d(params->rt, "split_apply", n, 64, "mmmmuuuui", full->buffer,
                        kept->buffer, op->side.buffer, logdet->buffer, u(n), u(op->channels),
                        u(op->keep), u(op->pixels), direction);
    for (size_t i = 0; i < n; i++) {
        double sum = 0.0;
        for (size_t j = 0; j < per; j++) {
            double *part = j < kept_size ? &kept->host[i * kept_size + j]
                                         : &op->side.host[i * side_size + j - kept_size];
            if (direction > 0)
                *part = full->host[i * per + j];
            else
                full->host[i * per + j] = *part;
            if (j >= kept_size) sum += *part * *part;
        }
        double log_density = -0.5 * sum - 0.5 * (double)side_size * LOG_2PI;
        logdet->host[i] += direction > 0 ? log_density : -log_density;
    }
    return GC_OK;
}

static gc_status split_backward(gc_op *op_base, const gc_tensor *params, gc_tensor *grads,
                                const gc_tensor *x, const gc_tensor *dz, gc_tensor *dx,
                                double dlogdet, size_t n)
{
    (void)grads;
    split_op *op = (split_op *)op_base;
    size_t per = op->channels * op->pixels, kept_size = op->keep * op->pixels;
    if (params->rt->backend == GC_BACKEND_OPENCL)
        return gc_run1d(params->rt, "split_backward", n * per, 64, "mmmfuuuu", dx->buffer,
                        dz->buffer, x->buffer, dlogdet, u(n), u(op->channels), u(op->keep),
                        u(op->pixels));
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < per; r++)
            dx->host[i * per + r] = r < kept_size ? dz->host[i * kept_size + r]
                                                  : -dlogdet * x->host[i * per + r];
    return GC_OK;
}

static void split_init_params(gc_op *op, double *params, gc_rng *rng)
{
    (void)op, (void)params, (void)rng; /* the standard prior has no parameters */
}

static void split_destroy(gc_op *op_base)
{
    split_op *op = (split_op *)op_base;
    gc_tensor_release(&op->side);
    free(op);
}

static const gc_op_vtable split_vtable = {"split", apply, split_backward, NULL,
                                          split_init_params, split_destroy};

gc_tensor *gc_split_side(gc_op *op_base, size_t n, size_t *side_dim)
{
    split_op *op = (split_op *)op_base;
    if (op_base->vt != &split_vtable || reserve(op, n) != GC_OK) return NULL;
    *side_dim = (op->channels - op->keep) * op->pixels;
    return &op->side;
}

gc_status gc_split_create(gc_op **out, gc_runtime *rt, const char *name, size_t channels,
                          size_t pixels)
{
    if (channels < 2)
        return GC_ERROR(GC_ERR_ARGUMENT, "cannot split %zu channel%s", channels,
                        channels == 1 ? "" : "s");
    split_op *op = calloc(1, sizeof *op);
    if (!op) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    op->base.vt = &split_vtable;
    op->base.rt = rt;
    op->channels = channels;
    op->keep = channels / 2;
    op->pixels = pixels;
    op->base.dim = channels * pixels;
    op->base.out_dim = op->keep * pixels;
    snprintf(op->base.name, sizeof op->base.name, "%s", name);
    *out = &op->base;
    return GC_OK;
}
