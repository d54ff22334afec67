/* Affine coupling for images (Glow): the first half of the channels conditions the rest
 * through conv 3x3 → ReLU → conv 1x1 → ReLU → conv 3x3; the last convolution starts at zero
 * with a learned per-channel gain exp(3·g) (openai/glow's Conv2dZeros), so a new coupling is
 * the identity. Its 2·b output channels are t and the scale's input: z_b = (x_b + t) ·
 * sigmoid(raw + 2), or z_b = x_b + t with `additive`. The convolutions are ops/conv.c; the
 * element-wise part has its reference loops here and its kernels in cl/conv_coupling.cl. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/ops/conv.h"
#include "model/ops/op.h"

typedef struct conv_coupling_op {
    gc_op base;
    size_t channels, a, b, height, width, pixels, hidden;
    int additive;
    gc_conv layers[3];
    size_t gain_offset;
    /* Scratch shared with every coupling on the runtime (valid during one call): the
     * conditioning channels and their gradient, the hidden activations and theirs, the
     * network output h and its gradient, the gain's rows and sums. With keep_activations,
     * xa, h1, h2 and h point at the op's own tensors instead. */
    gc_tensor *xa, *dxa, *h1, *h2, *h, *dh1, *dh2, *dh, *rows, *gain_sum;
    gc_tensor own_xa, own_h1, own_h2, own_h;
    gc_channel_kernels channel;
    gc_kernel *apply_kernel, *backward_kernel; /* cc_apply, cc_backward */
} conv_coupling_op;

/* Its scratch tensors, shared by every image coupling on a runtime (gc_scratch). */
static const gc_scratch_key xa_scratch = {"image coupling xa"};
static const gc_scratch_key h1_scratch = {"image coupling h1"};
static const gc_scratch_key h2_scratch = {"image coupling h2"};
static const gc_scratch_key h_scratch = {"image coupling h"};
static const gc_scratch_key dxa_scratch = {"image coupling dxa"};
static const gc_scratch_key dh1_scratch = {"image coupling dh1"};
static const gc_scratch_key dh2_scratch = {"image coupling dh2"};
static const gc_scratch_key dh_scratch = {"image coupling dh"};
static const gc_scratch_key rows_scratch = {"image coupling rows"};
static const gc_scratch_key gain_sum_scratch = {"image coupling gain_sum"};

static int on_device(const gc_tensor *t) { return t->rt->backend == GC_BACKEND_OPENCL; }

/* Points the op's scratch at the runtime's shared tensors (or its own), grown for n images;
 * with `reuse` (a backward pass allowed to reuse the last transform's activations) leaves the
 * activations where they are. */
static gc_status reserve(conv_coupling_op *op, size_t n, int reuse)
{
    gc_runtime *rt = op->base.rt;
    size_t p = op->pixels, hidden = op->hidden * p, net = 2 * op->b * p;
    if (op->base.keep_activations) {
        GC_TRY(gc_scratch_reserve(&op->own_xa, rt, n, op->a * p));
        GC_TRY(gc_scratch_reserve(&op->own_h1, rt, n, hidden));
        GC_TRY(gc_scratch_reserve(&op->own_h2, rt, n, hidden));
        GC_TRY(gc_scratch_reserve(&op->own_h, rt, n, net));
        op->xa = &op->own_xa;
        op->h1 = &op->own_h1;
        op->h2 = &op->own_h2;
        op->h = &op->own_h;
    } else if (!reuse) {
        GC_TRY(gc_scratch(rt, &xa_scratch, n, op->a * p, &op->xa));
        GC_TRY(gc_scratch(rt, &h1_scratch, n, hidden, &op->h1));
        GC_TRY(gc_scratch(rt, &h2_scratch, n, hidden, &op->h2));
        GC_TRY(gc_scratch(rt, &h_scratch, n, net, &op->h));
    } /* else: xa … h still point where the last transform left its activations */
    GC_TRY(gc_scratch(rt, &dxa_scratch, n, op->a * p, &op->dxa));
    GC_TRY(gc_scratch(rt, &dh1_scratch, n, hidden, &op->dh1));
    GC_TRY(gc_scratch(rt, &dh2_scratch, n, hidden, &op->dh2));
    GC_TRY(gc_scratch(rt, &dh_scratch, n, net, &op->dh));
    GC_TRY(gc_scratch(rt, &rows_scratch, n, net, &op->rows));
    return gc_scratch(rt, &gain_sum_scratch, 1, 2 * op->b, &op->gain_sum);
}

gc_status gc_channel_kernels_find(gc_runtime *rt, gc_channel_kernels *k)
{
    GC_TRY(gc_kernel_find(rt, "cc_conditioning", &k->conditioning));
    GC_TRY(gc_kernel_find(rt, "cc_gain", &k->gain));
    return gc_kernel_find(rt, "cc_gain_backward", &k->gain_backward);
}

gc_status gc_first_channels(const gc_channel_kernels *k, gc_tensor *x, gc_tensor *xa, size_t n,
                            size_t channels, size_t a, size_t pixels, int add)
{
    size_t per = a * pixels, cp = channels * pixels;
    if (on_device(x))
        return GC_LAUNCH1D(x->rt, k->conditioning, n * per, 64, GC_MEM(x), GC_MEM(xa), GC_U32(n),
                           GC_U32(channels), GC_U32(a), GC_U32(pixels), GC_U32(add));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < per; j++) {
            if (add)
                x->host[i * cp + j] += xa->host[i * per + j];
            else
                xa->host[i * per + j] = x->host[i * cp + j];
        }
    return GC_OK;
}

static double coupling_scale(double raw) { return 1.0 / (1.0 + exp(-(raw + 2.0))); }

gc_status gc_gain_forward(const gc_channel_kernels *k, const gc_tensor *params, size_t gain_offset,
                          gc_tensor *h, size_t n, size_t channels, size_t pixels)
{
    size_t count = n * channels * pixels;
    if (on_device(params))
        return GC_LAUNCH1D(params->rt, k->gain, count, 64, GC_MEM(h), GC_MEM(params),
                           GC_U32(gain_offset), GC_U32(count), GC_U32(channels), GC_U32(pixels));
    for (size_t j = 0; j < count; j++)
        h->host[j] *= exp(3.0 * params->host[gain_offset + (j / pixels) % channels]);
    return GC_OK;
}

gc_status gc_gain_backward(const gc_channel_kernels *k, const gc_tensor *params, gc_tensor *grads,
                           size_t gain_offset, gc_tensor *dh, const gc_tensor *h, gc_tensor *rows,
                           gc_tensor *sums, size_t n, size_t channels, size_t pixels)
{
    size_t count = n * channels * pixels;
    if (on_device(params)) {
        GC_TRY(GC_LAUNCH1D(params->rt, k->gain_backward, count, 64, GC_MEM(dh), GC_MEM(rows),
                           GC_MEM(h), GC_MEM(params), GC_U32(gain_offset), GC_U32(count),
                           GC_U32(channels), GC_U32(pixels)));
    } else {
        for (size_t j = 0; j < count; j++) {
            rows->host[j] = 3.0 * dh->host[j] * h->host[j];
            dh->host[j] *= exp(3.0 * params->host[gain_offset + (j / pixels) % channels]);
        }
    }
    GC_TRY(gc_tensor_channel_sum(sums, rows, n, channels, pixels));
    return gc_tensor_accumulate_columns(grads, gain_offset, sums, 1, channels, 1.0);
}

/* h = gain ⊙ net(x_a). */
static gc_status run_net(conv_coupling_op *op, const gc_tensor *params, const gc_tensor *x,
                         size_t n)
{
    size_t hh = op->height, w = op->width;
    GC_TRY(gc_first_channels(&op->channel, (gc_tensor *)x, op->xa, n, op->channels, op->a,
                             op->pixels, 0));
    GC_TRY(gc_conv_forward(&op->layers[0], params, op->xa, 0, op->h1, 0, n, hh, w));
    GC_TRY(gc_conv_forward(&op->layers[1], params, op->h1, 0, op->h2, 0, n, hh, w));
    GC_TRY(gc_conv_forward(&op->layers[2], params, op->h2, 0, op->h, 0, n, hh, w));
    return gc_gain_forward(&op->channel, params, op->gain_offset, op->h, n, 2 * op->b, op->pixels);
}

static gc_status apply(gc_op *op_base, const gc_tensor *params, const gc_tensor *in, gc_tensor *out,
                       gc_tensor *logdet, size_t n, int direction)
{
    conv_coupling_op *op = (conv_coupling_op *)op_base;
    GC_TRY(reserve(op, n, 0));
    GC_TRY(run_net(op, params, in, n)); /* in_a = out_a: decoding sees the same network */
    size_t c = op->channels, a = op->a, b = op->b, p = op->pixels;
    if (on_device(params))
        return GC_LAUNCH1D(params->rt, op->apply_kernel, n, 64, GC_MEM(out), GC_MEM(in),
                           GC_MEM(op->h), GC_MEM(logdet), GC_U32(n), GC_U32(c), GC_U32(a),
                           GC_U32(p), GC_U32(op->additive != 0), GC_I32(direction));
    for (size_t i = 0; i < n; i++) {
        const double *x = in->host + i * c * p, *hi = op->h->host + i * 2 * b * p;
        double *y = out->host + i * c * p, sum = 0.0;
        for (size_t j = 0; j < a * p; j++) y[j] = x[j];
        for (size_t j = 0; j < b * p; j++) {
            double t = hi[j], v = x[a * p + j];
            if (op->additive) {
                y[a * p + j] = direction > 0 ? v + t : v - t;
                continue;
            }
            double s = coupling_scale(hi[b * p + j]);
            y[a * p + j] = direction > 0 ? (v + t) * s : v / s - t;
            sum += log(s);
        }
        logdet->host[i] += direction > 0 ? sum : -sum;
    }
    return GC_OK;
}

/* dx (both halves' direct part) and dh from dz. */
static gc_status backward_elementwise(conv_coupling_op *op, const gc_tensor *params,
                                      const gc_tensor *x, const gc_tensor *dz, gc_tensor *dx,
                                      double dlogdet, size_t n)
{
    size_t c = op->channels, a = op->a, b = op->b, p = op->pixels;
    if (on_device(params))
        return GC_LAUNCH1D(params->rt, op->backward_kernel, n, 64, GC_MEM(dx), GC_MEM(op->dh),
                           GC_MEM(dz), GC_MEM(x), GC_MEM(op->h), GC_F32(dlogdet), GC_U32(n),
                           GC_U32(c), GC_U32(a), GC_U32(p), GC_U32(op->additive != 0));
    for (size_t i = 0; i < n; i++) {
        size_t base = i * c * p, hb = i * 2 * b * p;
        for (size_t j = 0; j < a * p; j++) dx->host[base + j] = dz->host[base + j];
        for (size_t j = 0; j < b * p; j++) {
            double g = dz->host[base + a * p + j];
            if (op->additive) { /* the network's scale outputs are unused: no gradient */
                dx->host[base + a * p + j] = op->dh->host[hb + j] = g;
                op->dh->host[hb + b * p + j] = 0.0;
                continue;
            }
            double s = coupling_scale(op->h->host[hb + b * p + j]);
            double shifted = x->host[base + a * p + j] + op->h->host[hb + j];
            dx->host[base + a * p + j] = op->dh->host[hb + j] = g * s;
            op->dh->host[hb + b * p + j] = (g * shifted * s + dlogdet) * (1.0 - s);
        }
    }
    return GC_OK;
}

static gc_status conv_coupling_backward(gc_op *op_base, const gc_tensor *params, gc_tensor *grads,
                                        const gc_tensor *x, const gc_tensor *dz, gc_tensor *dx,
                                        double dlogdet, size_t n)
{
    conv_coupling_op *op = (conv_coupling_op *)op_base;
    size_t hh = op->height, w = op->width, c2 = 2 * op->b, p = op->pixels;
    GC_TRY(reserve(op, n, op->base.reuse_activations));
    /* The network's activations are recomputed from x, unless the model says the last
     * transform's are still there for this x. */
    if (!op->base.reuse_activations) GC_TRY(run_net(op, params, x, n));
    GC_TRY(backward_elementwise(op, params, x, dz, dx, dlogdet, n));
    GC_TRY(gc_gain_backward(&op->channel, params, grads, op->gain_offset, op->dh, op->h, op->rows,
                            op->gain_sum, n, c2, p));
    GC_TRY(gc_conv_backward_params(&op->layers[2], grads, op->dh, 0, op->h2, 0, n, hh, w));
    GC_TRY(gc_conv_backward_input(&op->layers[2], params, op->dh, 0, op->dh2, 0, op->h2, 0, 0, n,
                                  hh, w));
    GC_TRY(gc_conv_backward_params(&op->layers[1], grads, op->dh2, 0, op->h1, 0, n, hh, w));
    GC_TRY(gc_conv_backward_input(&op->layers[1], params, op->dh2, 0, op->dh1, 0, op->h1, 0, 0, n,
                                  hh, w));
    GC_TRY(gc_conv_backward_params(&op->layers[0], grads, op->dh1, 0, op->xa, 0, n, hh, w));
    GC_TRY(gc_conv_backward_input(&op->layers[0], params, op->dh1, 0, op->dxa, 0, NULL, 0, 0, n, hh,
                                  w));
    return gc_first_channels(&op->channel, dx, op->dxa, n, op->channels, op->a, op->pixels, 1);
}

/* openai/glow's initialisation: N(0, 0.05²) weights, zero biases; the last layer and its gain
 * zero, so the coupling starts as the identity. */
static void conv_coupling_init_params(gc_op *op_base, double *params, gc_rng *rng)
{
    conv_coupling_op *op = (conv_coupling_op *)op_base;
    for (int k = 0; k < 3; k++) {
        const gc_conv *l = &op->layers[k];
        size_t weights = l->out_channels * l->in_channels * l->kernel * l->kernel;
        for (size_t i = 0; i < weights; i++)
            params[l->w_offset + i] = k < 2 ? 0.05 * gc_rng_normal(rng) : 0.0;
        for (size_t i = 0; i < l->out_channels; i++) params[l->b_offset + i] = 0.0;
    }
    for (size_t i = 0; i < 2 * op->b; i++) params[op->gain_offset + i] = 0.0;
}

static void conv_coupling_destroy(gc_op *op_base)
{
    conv_coupling_op *op = (conv_coupling_op *)op_base;
    gc_tensor *own[] = {&op->own_xa, &op->own_h1, &op->own_h2, &op->own_h};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) gc_tensor_release(own[i]);
    free(op); /* the rest of its scratch belongs to the runtime */
}

static const gc_op_vtable conv_coupling_vtable = {"conv_coupling",           apply,
                                                  conv_coupling_backward,    NULL,
                                                  conv_coupling_init_params, conv_coupling_destroy};

gc_status gc_conv_coupling_create(gc_op **out, gc_runtime *rt, gc_param_registry *reg,
                                  const char *name, size_t channels, size_t height, size_t width,
                                  size_t hidden, int additive)
{
    if (channels < 2 || hidden < 1)
        return GC_ERROR(GC_ERR_ARGUMENT,
                        "an image coupling needs 2+ channels and a hidden "
                        "width, got %zu and %zu",
                        channels, hidden);
    conv_coupling_op *op = calloc(1, sizeof *op);
    if (!op) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    op->base.vt = &conv_coupling_vtable;
    op->base.rt = rt;
    op->base.dim = channels * height * width;
    snprintf(op->base.name, sizeof op->base.name, "%s", name);
    op->channels = channels;
    op->a = channels / 2;
    op->b = channels - op->a;
    op->height = height;
    op->width = width;
    op->pixels = height * width;
    op->hidden = hidden;
    op->additive = additive;
    const size_t ins[3] = {op->a, hidden, hidden}, outs[3] = {hidden, hidden, 2 * op->b};
    const size_t kernels[3] = {3, 1, 3};
    gc_status status = GC_OK;
    for (int k = 0; k < 3 && status == GC_OK; k++) {
        gc_conv *l = &op->layers[k];
        l->in_channels = ins[k];
        l->out_channels = outs[k];
        l->kernel = kernels[k];
        l->has_bias = 1;
        l->relu = k < 2;
        char weight_name[32], bias_name[32];
        snprintf(weight_name, sizeof weight_name, "conv%d.weight", k);
        snprintf(bias_name, sizeof bias_name, "conv%d.bias", k);
        status = gc_param_reserve(reg, name, weight_name,
                                  outs[k] * ins[k] * kernels[k] * kernels[k], &l->w_offset);
        if (status == GC_OK) status = gc_param_reserve(reg, name, bias_name, outs[k], &l->b_offset);
        if (status == GC_OK) status = gc_conv_kernels_find(rt, &l->kernels);
    }
    if (status == GC_OK)
        status = gc_param_reserve(reg, name, "log_gain", 2 * op->b, &op->gain_offset);
    if (status == GC_OK) status = gc_channel_kernels_find(rt, &op->channel);
    if (status == GC_OK) status = gc_kernel_find(rt, "cc_apply", &op->apply_kernel);
    if (status == GC_OK) status = gc_kernel_find(rt, "cc_backward", &op->backward_kernel);
    if (status != GC_OK) {
        conv_coupling_destroy(&op->base);
        return status;
    }
    *out = &op->base;
    return GC_OK;
}
