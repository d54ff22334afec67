/* Split (multi-scale Glow): after each level the last half of the channels is factored out —
 * no longer transformed, scored by the prior as part of the log-likelihood — and only the first
 * half goes on. The prior is N(0, I) or, conditional (Glow's default), N(μ, σ²) with
 * (μ, log σ) from a zero-started 3x3 convolution with a learned gain of the kept half. The
 * factored half is kept in the op's side buffer: the encoder fills it, the decoder reads it (so
 * a given z reconstructs exactly) or, when sampling, reads ε from it and draws the half from the
 * prior. Reference loops beside cl/split.cl; the convolution is ops/conv.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/ops/conv.h"
#include "model/ops/op.h"

#define LOG_2PI 1.8378770664093453

typedef struct split_op {
    gc_op base;
    size_t channels, keep, height, width, pixels;
    int conditional;
    double temperature; /* < 0: the side buffer holds z; else ε to draw from */
    gc_conv prior;      /* kept half → (μ, log σ) */
    size_t gain_offset;
    size_t capacity;
    gc_tensor side; /* (capacity, ·): the factored half, kept from one pass to the next */
    /* Scratch shared with every split on the runtime (valid during one call): the prior's h
     * and its gradient, the kept half gathered from an input and its gradient, and the gain's
     * rows and sums. */
    gc_tensor *h, *dh, *kept, *dkept, *rows, *sums;
    gc_channel_kernels channel;
    gc_kernel *apply_kernel, *backward_kernel; /* split_apply, split_backward */
} split_op;

/* Its scratch tensors, shared by every split on a runtime (gc_scratch). */
static const gc_scratch_key h_scratch = {"split h"};
static const gc_scratch_key dh_scratch = {"split dh"};
static const gc_scratch_key rows_scratch = {"split rows"};
static const gc_scratch_key kept_scratch = {"split kept"};
static const gc_scratch_key dkept_scratch = {"split dkept"};
static const gc_scratch_key sums_scratch = {"split sums"};

static size_t side_channels(const split_op *op) { return op->channels - op->keep; }

static gc_status reserve(split_op *op, size_t n)
{
    gc_runtime *rt = op->base.rt;
    size_t sc = side_channels(op), p = op->pixels;
    GC_TRY(gc_scratch(rt, &h_scratch, n, 2 * sc * p, &op->h));
    GC_TRY(gc_scratch(rt, &dh_scratch, n, 2 * sc * p, &op->dh));
    GC_TRY(gc_scratch(rt, &rows_scratch, n, 2 * sc * p, &op->rows));
    GC_TRY(gc_scratch(rt, &kept_scratch, n, op->keep * p, &op->kept));
    GC_TRY(gc_scratch(rt, &dkept_scratch, n, op->keep * p, &op->dkept));
    GC_TRY(gc_scratch(rt, &sums_scratch, 1, 2 * sc, &op->sums));
    if (n <= op->capacity) return GC_OK;
    GC_TRY(gc_scratch_reserve(&op->side, rt, n, sc * p));
    op->capacity = n;
    return GC_OK;
}

/* h = (μ, log σ) of the factored half given the kept half (n, keep, pixels). */
static gc_status prior_net(split_op *op, const gc_tensor *params, const gc_tensor *kept, size_t n)
{
    if (!op->conditional) return GC_OK;
    GC_TRY(gc_conv_forward(&op->prior, params, kept, 0, op->h, 0, n, op->height, op->width));
    return gc_gain_forward(&op->channel, params, op->gain_offset, op->h, n, 2 * side_channels(op),
                           op->pixels);
}

/* direction +1: in = full, out = kept; −1: in = kept, out = full. */
static gc_status apply(gc_op *op_base, const gc_tensor *params, const gc_tensor *in, gc_tensor *out,
                       gc_tensor *logdet, size_t n, int direction)
{
    split_op *op = (split_op *)op_base;
    GC_TRY(reserve(op, n));
    gc_tensor *full = (gc_tensor *)(direction > 0 ? in : out);
    gc_tensor *kept = (gc_tensor *)(direction > 0 ? out : in);
    size_t per = op->channels * op->pixels, kept_size = op->keep * op->pixels;
    size_t side_size = per - kept_size;
    double temperature = direction < 0 ? op->temperature : -1.0;
    if (direction > 0)
        GC_TRY(
            gc_first_channels(&op->channel, full, kept, n, op->channels, op->keep, op->pixels, 0));
    GC_TRY(prior_net(op, params, kept, n));
    if (params->rt->backend == GC_BACKEND_OPENCL)
        return GC_LAUNCH1D(params->rt, op->apply_kernel, n, 64, GC_MEM(full), GC_MEM(kept),
                           GC_MEM(&op->side), GC_MEM(op->h), GC_MEM(logdet), GC_U32(n),
                           GC_U32(op->channels), GC_U32(op->keep), GC_U32(op->pixels),
                           GC_U32(op->conditional), GC_F32(temperature), GC_I32(direction));
    for (size_t i = 0; i < n; i++) {
        double *f = full->host + i * per, *k = kept->host + i * kept_size;
        double *s = op->side.host + i * side_size, *hi = op->h->host + i * 2 * side_size;
        double sum = 0.0;
        for (size_t j = 0; j < kept_size; j++) {
            if (direction > 0)
                k[j] = f[j];
            else
                f[j] = k[j];
        }
        for (size_t j = 0; j < side_size; j++) {
            double mean = op->conditional ? hi[j] : 0.0;
            double log_sd = op->conditional ? hi[side_size + j] : 0.0;
            if (direction > 0) s[j] = f[kept_size + j];
            if (direction < 0 && temperature >= 0.0) s[j] = mean + exp(log_sd) * temperature * s[j];
            if (direction < 0) f[kept_size + j] = s[j];
            double v = (s[j] - mean) * exp(-log_sd);
            sum += -0.5 * v * v - log_sd - 0.5 * LOG_2PI;
        }
        logdet->host[i] += direction > 0 ? sum : -sum;
    }
    return GC_OK;
}

static gc_status split_backward(gc_op *op_base, const gc_tensor *params, gc_tensor *grads,
                                const gc_tensor *x, const gc_tensor *dz, gc_tensor *dx,
                                double dlogdet, size_t n)
{
    split_op *op = (split_op *)op_base;
    GC_TRY(reserve(op, n));
    size_t per = op->channels * op->pixels, kept_size = op->keep * op->pixels;
    size_t side_size = per - kept_size, sc = side_channels(op);
    GC_TRY(gc_first_channels(&op->channel, (gc_tensor *)x, op->kept, n, op->channels, op->keep,
                             op->pixels, 0));
    GC_TRY(prior_net(op, params, op->kept, n));
    if (params->rt->backend == GC_BACKEND_OPENCL) {
        GC_TRY(GC_LAUNCH1D(params->rt, op->backward_kernel, n, 64, GC_MEM(dx), GC_MEM(op->dh),
                           GC_MEM(dz), GC_MEM(x), GC_MEM(op->h), GC_F32(dlogdet), GC_U32(n),
                           GC_U32(op->channels), GC_U32(op->keep), GC_U32(op->pixels),
                           GC_U32(op->conditional)));
    } else {
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < kept_size; j++)
                dx->host[i * per + j] = dz->host[i * kept_size + j];
            for (size_t j = 0; j < side_size; j++) {
                size_t hm = i * 2 * side_size + j, hs = hm + side_size;
                double mean = op->conditional ? op->h->host[hm] : 0.0;
                double log_sd = op->conditional ? op->h->host[hs] : 0.0;
                double inv = exp(-log_sd), v = (x->host[i * per + kept_size + j] - mean) * inv;
                dx->host[i * per + kept_size + j] = -dlogdet * v * inv;
                if (op->conditional) {
                    op->dh->host[hm] = dlogdet * v * inv;
                    op->dh->host[hs] = dlogdet * (v * v - 1.0);
                }
            }
        }
    }
    if (!op->conditional) return GC_OK;
    /* Through the gain and the convolution back into the kept half. */
    GC_TRY(gc_gain_backward(&op->channel, params, grads, op->gain_offset, op->dh, op->h, op->rows,
                            op->sums, n, 2 * sc, op->pixels));
    GC_TRY(gc_conv_backward_params(&op->prior, grads, op->dh, 0, op->kept, 0, n, op->height,
                                   op->width));
    GC_TRY(gc_conv_backward_input(&op->prior, params, op->dh, 0, op->dkept, 0, NULL, 0, 0, n,
                                  op->height, op->width));
    return gc_first_channels(&op->channel, dx, op->dkept, n, op->channels, op->keep, op->pixels, 1);
}

/* Zero-started (as Glow): the conditional prior begins as N(0, I). */
static void split_init_params(gc_op *op_base, double *params, gc_rng *rng)
{
    (void)rng;
    split_op *op = (split_op *)op_base;
    if (!op->conditional) return;
    size_t weights = op->prior.out_channels * op->prior.in_channels * 9;
    for (size_t i = 0; i < weights; i++) params[op->prior.w_offset + i] = 0.0;
    for (size_t i = 0; i < op->prior.out_channels; i++) {
        params[op->prior.b_offset + i] = 0.0;
        params[op->gain_offset + i] = 0.0;
    }
}

static void split_destroy(gc_op *op_base)
{
    split_op *op = (split_op *)op_base;
    gc_tensor_release(&op->side); /* the rest of its scratch belongs to the runtime */
    free(op);
}

static const gc_op_vtable split_vtable = {"split",           apply,        split_backward, NULL,
                                          split_init_params, split_destroy};

gc_tensor *gc_split_side(gc_op *op_base, size_t n, size_t *side_dim)
{
    split_op *op = (split_op *)op_base;
    if (op_base->vt != &split_vtable || reserve(op, n) != GC_OK) return NULL;
    *side_dim = side_channels(op) * op->pixels;
    return &op->side;
}

void gc_split_set_sampling(gc_op *op_base, double temperature)
{
    if (op_base->vt == &split_vtable) ((split_op *)op_base)->temperature = temperature;
}

gc_status gc_split_create(gc_op **out, gc_runtime *rt, gc_param_registry *reg, const char *name,
                          size_t channels, size_t height, size_t width, int conditional)
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
    op->height = height;
    op->width = width;
    op->pixels = height * width;
    op->conditional = conditional;
    op->temperature = -1.0;
    op->base.dim = channels * op->pixels;
    op->base.out_dim = op->keep * op->pixels;
    snprintf(op->base.name, sizeof op->base.name, "%s", name);
    gc_status status = GC_OK;
    if (conditional) {
        size_t out_channels = 2 * side_channels(op);
        op->prior = (gc_conv){
            .in_channels = op->keep, .out_channels = out_channels, .kernel = 3, .has_bias = 1};
        status = gc_param_reserve(reg, name, "prior.weight", out_channels * op->keep * 9,
                                  &op->prior.w_offset);
        if (status == GC_OK)
            status = gc_param_reserve(reg, name, "prior.bias", out_channels, &op->prior.b_offset);
        if (status == GC_OK)
            status = gc_param_reserve(reg, name, "prior.log_gain", out_channels, &op->gain_offset);
        if (status == GC_OK) status = gc_conv_kernels_find(rt, &op->prior.kernels);
    }
    if (status == GC_OK) status = gc_channel_kernels_find(rt, &op->channel);
    if (status == GC_OK) status = gc_kernel_find(rt, "split_apply", &op->apply_kernel);
    if (status == GC_OK) status = gc_kernel_find(rt, "split_backward", &op->backward_kernel);
    if (status != GC_OK) {
        split_destroy(&op->base);
        return status;
    }
    *out = &op->base;
    return GC_OK;
}
