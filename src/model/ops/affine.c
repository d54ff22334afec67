/* The element-wise affine flow z = x ⊙ exp(s) + t, one (s, t) per channel: the warm-up model
 * of `glowcl train affine` as is, and ActNorm when initialised from the first batch so that
 * its output has zero mean and unit variance per channel. Reference loops beside the launches
 * of cl/affine.cl. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/ops/op.h"

typedef struct affine_op {
    gc_op base;
    gc_affine_mode mode;
    size_t channels, inner; /* per sample: channels × inner values */
    size_t s_offset, t_offset;
    gc_kernel *apply_kernel, *backward_kernel, *init_kernel; /* cl/affine.cl */
} affine_op;

/* encoder (direction +1) or decoder (−1) */
static gc_status apply(gc_op *op_base, const gc_tensor *params, const gc_tensor *in, gc_tensor *out,
                       gc_tensor *logdet, size_t n, int direction)
{
    affine_op *op = (affine_op *)op_base;
    size_t count = n * op->channels * op->inner;
    if (params->rt->backend == GC_BACKEND_REFERENCE) {
        const double *s = params->host + op->s_offset, *t = params->host + op->t_offset;
        for (size_t j = 0; j < count; j++) {
            size_t c = (j / op->inner) % op->channels;
            out->host[j] =
                direction > 0 ? in->host[j] * exp(s[c]) + t[c] : (in->host[j] - t[c]) * exp(-s[c]);
        }
        return gc_logdet_add_param_sum(logdet, params, op->s_offset, op->channels,
                                       direction * (double)op->inner, n);
    }
    return GC_LAUNCH1D(params->rt, op->apply_kernel, count, 64, GC_MEM(out), GC_MEM(in),
                       GC_MEM(params), GC_U32(op->s_offset), GC_U32(op->t_offset), GC_U32(count),
                       GC_U32(op->channels), GC_U32(op->inner), GC_I32(direction), GC_MEM(logdet),
                       GC_F32(direction * (double)op->inner));
}

static gc_status affine_backward(gc_op *op_base, const gc_tensor *params, gc_tensor *grads,
                                 const gc_tensor *x, const gc_tensor *dz, gc_tensor *dx,
                                 double dlogdet, size_t n)
{
    affine_op *op = (affine_op *)op_base;
    size_t count = n * op->channels * op->inner, channels = op->channels, inner = op->inner;
    /* logdet_i = inner · Σ s for every sample i, so ∂L/∂s_c gains n · inner · dlogdet. */
    double logdet_grad = (double)(n * inner) * dlogdet;
    if (params->rt->backend == GC_BACKEND_REFERENCE) {
        const double *s = params->host + op->s_offset;
        for (size_t c = 0; c < channels; c++) {
            double ds = 0.0, dt = 0.0;
            for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < inner; k++) {
                    size_t j = (i * channels + c) * inner + k;
                    ds += dz->host[j] * x->host[j] * exp(s[c]);
                    dt += dz->host[j];
                }
            grads->host[op->s_offset + c] += ds + logdet_grad;
            grads->host[op->t_offset + c] += dt;
        }
        for (size_t j = 0; j < count; j++)
            dx->host[j] = dz->host[j] * exp(s[(j / inner) % channels]);
        return GC_OK;
    }
    size_t local = gc_reduction_local_size(op->backward_kernel, n, n * inner);
    size_t global = channels * local;
    return GC_LAUNCH(params->rt, op->backward_kernel, 1, &global, &local, GC_MEM(dx), GC_MEM(grads),
                     GC_U32(op->s_offset), GC_U32(op->t_offset), GC_MEM(dz), GC_MEM(x),
                     GC_MEM(params), GC_U32(n), GC_U32(channels), GC_U32(inner),
                     GC_F32(logdet_grad), GC_LOCAL(local * sizeof(cl_float)));
}

/* ActNorm: s = −log(σ + ε), t = −mean · exp(s), from the statistics of the first batch,
 * computed where the parameters live (no round trip to the host). */
static gc_status actnorm_data_init(gc_op *op_base, gc_tensor *params, const gc_tensor *x, size_t n)
{
    affine_op *op = (affine_op *)op_base;
    if (op->mode != GC_AFFINE_ACTNORM) return GC_OK;
    size_t channels = op->channels;
    gc_tensor mean = {0}, var = {0};
    gc_status status = gc_tensor_init1(&mean, params->rt, channels);
    if (status == GC_OK) status = gc_tensor_init1(&var, params->rt, channels);
    if (status == GC_OK) status = gc_tensor_channel_moments(&mean, &var, x, n, channels, op->inner);
    if (status == GC_OK && params->rt->backend == GC_BACKEND_OPENCL) {
        status = GC_LAUNCH1D(params->rt, op->init_kernel, channels, 64, GC_MEM(params),
                             GC_U32(op->s_offset), GC_U32(op->t_offset), GC_MEM(&mean),
                             GC_MEM(&var), GC_U32(channels));
    } else if (status == GC_OK) {
        for (size_t c = 0; c < channels; c++) {
            double s = -log(sqrt(var.host[c]) + 1e-6);
            params->host[op->s_offset + c] = s;
            params->host[op->t_offset + c] = -mean.host[c] * exp(s);
        }
    }
    gc_tensor_release(&mean);
    gc_tensor_release(&var);
    return status;
}

static void affine_init_params(gc_op *op_base, double *params, gc_rng *rng)
{
    (void)rng; /* the identity until data (ActNorm) or training says otherwise */
    affine_op *op = (affine_op *)op_base;
    for (size_t c = 0; c < op->channels; c++)
        params[op->s_offset + c] = params[op->t_offset + c] = 0.0;
}

static void affine_destroy(gc_op *op) { free(op); }

static const gc_op_vtable affine_vtable = {
    "affine", apply, affine_backward, actnorm_data_init, affine_init_params, affine_destroy};

int gc_actnorm_offsets(const gc_op *op_base, size_t *s_offset, size_t *t_offset)
{
    const affine_op *op = (const affine_op *)op_base;
    if (op_base->vt != &affine_vtable || op->mode != GC_AFFINE_ACTNORM || op->inner != 1) return 0;
    *s_offset = op->s_offset;
    *t_offset = op->t_offset;
    return 1;
}

gc_status gc_affine_create(gc_op **out, gc_runtime *rt, gc_param_registry *reg, const char *name,
                           size_t channels, size_t pixels, gc_affine_mode mode)
{
    affine_op *op = calloc(1, sizeof *op);
    if (!op) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    op->base.vt = &affine_vtable;
    op->base.rt = rt;
    op->base.dim = channels * pixels;
    snprintf(op->base.name, sizeof op->base.name, "%s", name);
    op->mode = mode;
    op->channels = channels;
    op->inner = pixels;
    gc_status status = gc_param_reserve(reg, name, "log_scale", channels, &op->s_offset);
    if (status == GC_OK) status = gc_param_reserve(reg, name, "shift", channels, &op->t_offset);
    if (status == GC_OK) status = gc_kernel_find(rt, "affine_apply", &op->apply_kernel);
    if (status == GC_OK) status = gc_kernel_find(rt, "affine_backward", &op->backward_kernel);
    if (status == GC_OK) status = gc_kernel_find(rt, "actnorm_init", &op->init_kernel);
    if (status != GC_OK) {
        free(op);
        return status;
    }
    *out = &op->base;
    return GC_OK;
}
