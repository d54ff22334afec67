/* 2-D convolutions: argument checks, the reference loops (double) and the OpenCL launches of
 * cl/conv.cl. The reference sums in the plain loop order; the kernels in their own fixed
 * order, so each backend repeats itself bit for bit. */
#include "model/ops/conv.h"

#include <stddef.h>
#include <stdlib.h>

#include "core/internal.h"
#include "model/ops/op.h"

/* At most this many floats (32 MiB) of packed columns at a time in a weight gradient. */
enum { IM2COL_CHUNK_FLOATS = 1 << 23 };
/* 3×3 passes that sum at most this many channels go through im2col and the 1×1 kernel: the
 * forward passes of the image model's first coupling layers (6, 12, 24 inputs), the input
 * gradients of its last ones (12, 24 outputs), and the weight gradients of the first. */
enum { IM2COL_MAX_INPUTS = 32 };

/* The packed operands of a pass (conv_1x1's panels, im2col's, a weight gradient's), shared by
 * every convolution on a runtime (gc_scratch), and the packed weights. */
static const gc_scratch_key packed_scratch = {"convolution packed"};
static const gc_scratch_key packed_weights_scratch = {"convolution packed weights"};

static int is_reference(const gc_tensor *t) { return t->rt->backend == GC_BACKEND_REFERENCE; }

gc_status gc_conv_kernels_find(gc_runtime *rt, gc_conv_kernels *k)
{
    GC_TRY(gc_kernel_find(rt, "conv_3x3", &k->conv_3x3));
    GC_TRY(gc_kernel_find(rt, "conv_1x1", &k->conv_1x1));
    GC_TRY(gc_kernel_find(rt, "conv_pack_columns", &k->pack_columns));
    GC_TRY(gc_kernel_find(rt, "conv_pack_panels", &k->pack_panels));
    GC_TRY(gc_kernel_find(rt, "conv_pack_weights", &k->pack_weights));
    GC_TRY(gc_kernel_find(rt, "conv_pack_pixels", &k->pack_pixels));
    GC_TRY(gc_kernel_find(rt, "conv_pack_taps", &k->pack_taps));
    GC_TRY(gc_kernel_find(rt, "conv_params_panels", &k->params_panels));
    GC_TRY(gc_kernel_find(rt, "gpu_conv_pass_2", &k->gpu_pass[0]));
    GC_TRY(gc_kernel_find(rt, "gpu_conv_pass_4", &k->gpu_pass[1]));
    GC_TRY(gc_kernel_find(rt, "gpu_conv_weights_2", &k->gpu_weights[0]));
    GC_TRY(gc_kernel_find(rt, "gpu_conv_weights_4", &k->gpu_weights[1]));
    GC_TRY(gc_kernel_find(rt, "gpu_conv_pass_splits", &k->gpu_pass_splits));
    GC_TRY(gc_kernel_find(rt, "gpu_conv_weights_splits", &k->gpu_weights_splits));
    return gc_kernel_find(rt, "conv_params_bias", &k->params_bias);
}

/* Checks that `count` elements from `offset` lie inside `t` (and that t is on `rt`). */
static gc_status check_range(const char *what, const gc_tensor *t, size_t offset, size_t count,
                             const gc_runtime *rt)
{
    if (!t) return GC_ERROR(GC_ERR_ARGUMENT, "convolution: no %s tensor", what);
    if (t->rt != rt)
        return GC_ERROR(GC_ERR_ARGUMENT, "convolution: the %s tensor is on another runtime", what);
    if (offset > t->count || count > t->count - offset)
        return GC_ERROR(GC_ERR_ARGUMENT,
                        "convolution: %s range %zu+%zu outside a tensor of %zu elements", what,
                        offset, count, t->count);
    return GC_OK;
}

/* Overlapping input and output would be read after being written. */
static gc_status check_disjoint(const char *a_name, const gc_tensor *a, size_t a_offset,
                                const char *b_name, const gc_tensor *b, size_t b_offset,
                                size_t count_a, size_t count_b)
{
    if (a == b && a_offset < b_offset + count_b && b_offset < a_offset + count_a)
        return GC_ERROR(GC_ERR_ARGUMENT, "convolution: %s and %s overlap", a_name, b_name);
    return GC_OK;
}

/* The layer's own checks and those of its weights (or weight gradients) in `params`; sets
 * the element counts of an input and an output image batch. */
static gc_status check_layer(const gc_conv *c, const gc_tensor *params, size_t n, size_t h,
                             size_t w, size_t *in_count, size_t *out_count)
{
    if (!c || !params) return GC_ERROR(GC_ERR_ARGUMENT, "convolution: no layer or weights");
    if (c->kernel != 1 && c->kernel != 3)
        return GC_ERROR(GC_ERR_ARGUMENT, "convolution: kernel %zu is not 1 or 3", c->kernel);
    if (c->in_channels == 0 || c->out_channels == 0)
        return GC_ERROR(GC_ERR_ARGUMENT, "convolution: %zu -> %zu channels", c->in_channels,
                        c->out_channels);
    /* The kernels index in 32 bits. A tensor never holds 2^32 elements, but a product of
     * sizes could wrap in size_t before the range checks see it, so it is bounded first. */
    double pixels = (double)h * (double)w, limit = 4294967296.0;
    if ((double)n * (double)c->in_channels * pixels >= limit ||
        (double)n * (double)c->out_channels * pixels >= limit ||
        (double)c->in_channels * (double)c->out_channels * 9.0 >= limit)
        return GC_ERROR(GC_ERR_ARGUMENT,
                        "convolution: %zu x (%zu -> %zu) x %zu x %zu is beyond "
                        "2^32 elements",
                        n, c->in_channels, c->out_channels, h, w);
    *in_count = n * c->in_channels * h * w;
    *out_count = n * c->out_channels * h * w;
    size_t taps = c->kernel * c->kernel;
    GC_TRY(check_range("weight", params, c->w_offset, c->out_channels * c->in_channels * taps,
                       params->rt));
    if (c->has_bias) GC_TRY(check_range("bias", params, c->b_offset, c->out_channels, params->rt));
    if (params->rt->backend == GC_BACKEND_OPENCL && !c->kernels.params_bias)
        return GC_ERROR(GC_ERR_ARGUMENT, "convolution: no kernels (gc_conv_kernels_find)");
    return GC_OK;
}

/* The reference pass shared by forward and input gradient: for every output channel `oc` of
 * `out_channels`, out[b][oc][y][x] = Σ_r Σ_taps W(oc, r, tap) · in[b][r][y ± ...][x ± ...],
 * where W(oc, r, ky, kx) = w[oc·lane_stride + r·reduced_stride + ky·k + kx] and the kernel is
 * flipped for the transposed pass. Writes the raw sums; the caller applies the epilogue. */
static void reference_pass(double *out, size_t out_channels, const double *in, size_t in_channels,
                           const double *w, size_t lane_stride, size_t reduced_stride, int flip,
                           size_t k, size_t n, size_t h, size_t width)
{
    ptrdiff_t pad = (ptrdiff_t)(k / 2);
    for (size_t b = 0; b < n; b++)
        for (size_t oc = 0; oc < out_channels; oc++)
            for (size_t y = 0; y < h; y++)
                for (size_t x = 0; x < width; x++) {
                    double sum = 0.0;
                    for (size_t r = 0; r < in_channels; r++) {
                        const double *plane = in + (b * in_channels + r) * h * width;
                        const double *wr = w + oc * lane_stride + r * reduced_stride;
                        for (size_t ky = 0; ky < k; ky++) {
                            /* forward: in[y + ky − pad]; transposed: dout[y − ky + pad] */
                            ptrdiff_t sy = flip ? (ptrdiff_t)y - (ptrdiff_t)ky + pad
                                                : (ptrdiff_t)y + (ptrdiff_t)ky - pad;
                            if (sy < 0 || sy >= (ptrdiff_t)h) continue;
                            for (size_t kx = 0; kx < k; kx++) {
                                ptrdiff_t sx = flip ? (ptrdiff_t)x - (ptrdiff_t)kx + pad
                                                    : (ptrdiff_t)x + (ptrdiff_t)kx - pad;
                                if (sx < 0 || sx >= (ptrdiff_t)width) continue;
                                sum += wr[ky * k + kx] * plane[(size_t)sy * width + (size_t)sx];
                            }
                        }
                    }
                    out[((b * out_channels + oc) * h + y) * width + x] = sum;
                }
}

/* Where a pass finds W(c, r, t), the weight of summed channel r and tap t for channel c that it
 * computes: weights[w_offset + c·lane_stride + r·reduced_stride + t'], t' = t or, flipped (the
 * input gradient), taps − 1 − t. See conv_pack_weights in cl/conv.cl. */
typedef struct weight_view {
    size_t lane_stride, reduced_stride, taps;
    int flip;
} weight_view;

/* The forward pass's view of the weights W[o][i][t], and the input gradient's W[o][i][t] as
 * W(i, o, taps − 1 − t). */
static weight_view forward_view(const gc_conv *c)
{
    size_t taps = c->kernel * c->kernel;
    return (weight_view){c->in_channels * taps, taps, taps, 0};
}

static weight_view transposed_view(const gc_conv *c)
{
    size_t taps = c->kernel * c->kernel;
    return (weight_view){taps, c->in_channels * taps, taps, 1};
}

/* A pass's weights packed for its work-items (conv_pack_weights). */
static gc_status pack_weights(gc_runtime *rt, const gc_conv *c, const gc_tensor *weights,
                              weight_view view, size_t out_channels, size_t reduced,
                              gc_tensor **packed)
{
    size_t channels = rt->shapes.conv_channels, summed = reduced * view.taps;
    size_t channel_blocks = (out_channels + channels - 1) / channels;
    GC_TRY(gc_scratch(rt, &packed_weights_scratch, channel_blocks * channels, summed, packed));
    size_t global[2] = {summed, channel_blocks};
    return GC_LAUNCH(rt, c->kernels.pack_weights, 2, global, NULL, GC_MEM(*packed), GC_MEM(weights),
                     GC_U32(c->w_offset), GC_U32(view.lane_stride), GC_U32(view.reduced_stride),
                     GC_U32(view.taps), GC_U32(view.flip), GC_U32(out_channels), GC_U32(reduced));
}

/* What a pass does with its sums, and where: see the epilogue in cl/conv.cl. */
typedef struct pass_output {
    gc_tensor *out;
    size_t offset, channels;
    int bias_relu;
    const gc_tensor *mask;
    size_t mask_offset;
    int accumulate;
} pass_output;

/* A work-item's tile is conv_channels channels × 2·tile pixels (see cl/conv.cl); conv_grid 2
 * puts the channel blocks first in the launch. */
static void tile_grid(const gc_runtime *rt, size_t channels, size_t pixel_blocks, size_t third,
                      size_t global[3])
{
    size_t per_item = rt->shapes.conv_channels, blocks = (channels + per_item - 1) / per_item;
    int channels_first = rt->shapes.conv_grid == 2;
    global[0] = channels_first ? blocks : pixel_blocks;
    global[1] = channels_first ? pixel_blocks : blocks;
    global[2] = third;
}

/* conv_1x1 over `summed` channels already in panels of 2·tile pixels. */
static gc_status launch_1x1(gc_runtime *rt, const gc_conv *c, const pass_output *o,
                            const gc_tensor *panels, size_t summed, const gc_tensor *weights,
                            weight_view view, size_t n, size_t hw)
{
    gc_tensor *packed_weights = NULL;
    GC_TRY(pack_weights(rt, c, weights, view, o->channels, summed / view.taps, &packed_weights));
    size_t block = 2 * rt->shapes.conv_tile, global[3];
    tile_grid(rt, o->channels, (hw + block - 1) / block, n, global);
    /* Without a mask the kernel still needs a valid buffer argument. */
    const gc_tensor *mask_or_any = o->mask ? o->mask : weights;
    return GC_LAUNCH(rt, c->kernels.conv_1x1, 3, global, NULL, GC_MEM(o->out), GC_U32(o->offset),
                     GC_U32(o->channels), GC_MEM(panels), GC_U32(summed), GC_MEM(packed_weights),
                     GC_MEM(weights), GC_U32(c->b_offset), GC_U32(o->bias_relu && c->has_bias),
                     GC_U32(o->bias_relu && c->relu), GC_MEM(mask_or_any), GC_U32(o->mask_offset),
                     GC_U32(o->mask != NULL), GC_U32(o->accumulate != 0), GC_U32(hw), GC_U32(n));
}

/* A pass of a 1×1 layer: its input packed into panels (conv_pack_panels), then conv_1x1. */
static gc_status launch_pass_1x1(gc_runtime *rt, const gc_conv *c, const pass_output *o,
                                 const gc_tensor *in, size_t in_offset, size_t reduced,
                                 const gc_tensor *weights, weight_view view, size_t n, size_t hw)
{
    size_t block = 2 * rt->shapes.conv_tile, pixel_blocks = (hw + block - 1) / block;
    gc_tensor *panels = NULL;
    GC_TRY(gc_scratch(rt, &packed_scratch, n * pixel_blocks * block, reduced, &panels));
    size_t global[3] = {pixel_blocks, (reduced + block - 1) / block, n};
    GC_TRY(GC_LAUNCH(rt, c->kernels.pack_panels, 3, global, NULL, GC_MEM(panels), GC_MEM(in),
                     GC_U32(in_offset), GC_U32(reduced), GC_U32(hw), GC_U32(n)));
    return launch_1x1(rt, c, o, panels, reduced, weights, view, n, hw);
}

/* A 3×3 pass summing few channels (`reduced` of `in`): the direct kernel's loop over them is
 * too short to pay for its tile's set-up and row loads, so their neighbourhoods become
 * 9·reduced im2col columns in panels (shared scratch) that conv_1x1 sums, in the weights'
 * order. */
static int im2col_pays(const gc_conv *c, size_t reduced)
{
    return c->kernel == 3 && reduced <= IM2COL_MAX_INPUTS;
}

static gc_status launch_pass_im2col(gc_runtime *rt, const gc_conv *c, const pass_output *o,
                                    const gc_tensor *in, size_t in_offset, size_t reduced,
                                    const gc_tensor *weights, weight_view view, size_t n, size_t h,
                                    size_t w)
{
    size_t block = 2 * rt->shapes.conv_tile, pixel_blocks = (h * w + block - 1) / block;
    gc_tensor *panels = NULL;
    GC_TRY(gc_scratch(rt, &packed_scratch, n * pixel_blocks * block, 9 * reduced, &panels));
    size_t global[2] = {reduced, n};
    GC_TRY(GC_LAUNCH(rt, c->kernels.pack_columns, 2, global, NULL, GC_MEM(panels), GC_MEM(in),
                     GC_U32(in_offset), GC_U32(reduced), GC_U32(h), GC_U32(w), GC_U32(n)));
    return launch_1x1(rt, c, o, panels, 9 * reduced, weights, view, n, h * w);
}

/* A pass of a 3×3 layer through the direct kernel, conv_3x3. */
static gc_status launch_pass_3x3(gc_runtime *rt, const gc_conv *c, const pass_output *o,
                                 const gc_tensor *in, size_t in_offset, size_t reduced,
                                 const gc_tensor *weights, weight_view view, size_t n, size_t h,
                                 size_t w)
{
    gc_tensor *packed_weights = NULL;
    GC_TRY(pack_weights(rt, c, weights, view, o->channels, reduced, &packed_weights));
    size_t tile = rt->shapes.conv_tile, x_blocks = (w + tile - 1) / tile, global[3];
    /* Images 4 wide (the last level of a CIFAR Glow) fill a tile's 8-pixel rows two samples
     * at a time; otherwise half of every lane would idle. */
    int pairs = w == 4 && n > 1;
    tile_grid(rt, o->channels, x_blocks * ((h + 1) / 2), pairs ? (n + 1) / 2 : n, global);
    const gc_tensor *mask_or_any = o->mask ? o->mask : weights;
    return GC_LAUNCH(rt, c->kernels.conv_3x3, 3, global, NULL, GC_MEM(o->out), GC_U32(o->offset),
                     GC_U32(o->channels), GC_MEM(in), GC_U32(in_offset), GC_U32(reduced),
                     GC_MEM(packed_weights), GC_MEM(weights), GC_U32(c->b_offset),
                     GC_U32(o->bias_relu && c->has_bias), GC_U32(o->bias_relu && c->relu),
                     GC_MEM(mask_or_any), GC_U32(o->mask_offset), GC_U32(o->mask != NULL),
                     GC_U32(o->accumulate != 0), GC_U32(h), GC_U32(w), GC_U32(x_blocks), GC_U32(n),
                     GC_U32(pairs));
}

/* The gpu set: every pass a tiled product (cl/gpu_conv.cl) of M outputs × N columns summing
 * K products. A launch of work-groups of side × side work-items, each item × item outputs
 * (item 4 or 2: the kernels' index 1 or 0), the sum split `splits` ways of `per_split` steps
 * of `side` each. */
typedef struct gpu_plan {
    size_t side, item, splits, per_split, global[3];
} gpu_plan;

/* A split sums at least this many k steps: fewer would spend more on writing and adding the
 * partial sums than on the products. */
enum { GPU_MIN_SPLIT_STEPS = 4 };

static size_t divide_up(size_t a, size_t b) { return (a + b - 1) / b; }

/* The largest register tile whose launch has gpu_conv_min_items work-items, else the smallest;
 * then as many splits of the sum as bring the launch up to that many, if the sum is long
 * enough. The plan depends on the sizes only, so a pass repeats itself bit for bit. */
static gpu_plan plan_gpu_product(const gc_runtime *rt, size_t m, size_t n, size_t k)
{
    gpu_plan p = {rt->shapes.gpu_conv_side, rt->shapes.gpu_conv_item, 1, 0, {0}};
    size_t want = rt->shapes.gpu_conv_min_items, items = 0;
    for (;; p.item /= 2) {
        size_t tile = p.side * p.item;
        items = divide_up(m, tile) * divide_up(n, tile) * p.side * p.side;
        if (items >= want || p.item == 2) break;
    }
    size_t steps = divide_up(k, p.side), most = steps / GPU_MIN_SPLIT_STEPS;
    if (items < want && most > 1)
        p.splits = divide_up(want, items) < most ? divide_up(want, items) : most;
    p.per_split = divide_up(steps, p.splits);
    p.splits = p.per_split ? divide_up(steps, p.per_split) : 1;
    size_t tile = p.side * p.item;
    p.global[0] = divide_up(n, tile) * p.side;
    p.global[1] = divide_up(m, tile) * p.side;
    p.global[2] = p.splits;
    return p;
}

/* Scratch for the partial sums of a split product. */
static const gc_scratch_key gpu_partial_scratch = {"convolution partial sums"};

static gc_status gpu_partials(gc_runtime *rt, const gpu_plan *p, size_t m, size_t n, gc_tensor *any,
                              gc_tensor **partial)
{
    *partial = any; /* one split writes no partial sums, but the kernel needs a buffer */
    if (p->splits == 1) return GC_OK;
    return gc_scratch(rt, &gpu_partial_scratch, p->splits * m, n, partial);
}

static gc_status launch_pass_gpu(gc_runtime *rt, const gc_conv *c, const pass_output *o,
                                 const gc_tensor *in, size_t in_offset, size_t reduced,
                                 const gc_tensor *weights, weight_view view, size_t n, size_t h,
                                 size_t w)
{
    size_t columns = n * h * w;
    gpu_plan p = plan_gpu_product(rt, o->channels, columns, reduced * view.taps);
    gc_tensor *partial = NULL;
    GC_TRY(gpu_partials(rt, &p, o->channels, columns, o->out, &partial));
    size_t local[3] = {p.side, p.side, 1};
    int has_bias = o->bias_relu && c->has_bias, relu = o->bias_relu && c->relu;
    const gc_tensor *mask_or_any = o->mask ? o->mask : weights;
    GC_TRY(GC_LAUNCH(
        rt, c->kernels.gpu_pass[p.item == 4], 3, p.global, local, GC_MEM(o->out), GC_U32(o->offset),
        GC_U32(o->channels), GC_MEM(in), GC_U32(in_offset), GC_U32(reduced), GC_MEM(weights),
        GC_U32(c->w_offset), GC_U32(view.lane_stride), GC_U32(view.reduced_stride),
        GC_U32(view.flip), GC_U32(c->b_offset), GC_U32(has_bias), GC_U32(relu), GC_MEM(mask_or_any),
        GC_U32(o->mask_offset), GC_U32(o->mask != NULL), GC_U32(o->accumulate != 0), GC_U32(h),
        GC_U32(w), GC_U32(view.taps), GC_U32(n), GC_U32(p.per_split), GC_MEM(partial)));
    if (p.splits == 1) return GC_OK;
    size_t global[2] = {columns, o->channels};
    return GC_LAUNCH(rt, c->kernels.gpu_pass_splits, 2, global, NULL, GC_MEM(o->out),
                     GC_U32(o->offset), GC_U32(o->channels), GC_MEM(weights), GC_U32(c->b_offset),
                     GC_U32(has_bias), GC_U32(relu), GC_MEM(mask_or_any), GC_U32(o->mask_offset),
                     GC_U32(o->mask != NULL), GC_U32(o->accumulate != 0), GC_U32(h), GC_U32(w),
                     GC_U32(n), GC_U32(p.splits), GC_MEM(partial));
}

/* The gpu set's weight and bias gradients in one product: the bias is the column of the
 * input that is all ones. */
static gc_status backward_params_gpu(const gc_conv *c, gc_tensor *grads, const gc_tensor *dout,
                                     size_t dout_offset, const gc_tensor *in, size_t in_offset,
                                     size_t n, size_t h, size_t w)
{
    gc_runtime *rt = grads->rt;
    size_t taps = c->kernel * c->kernel, columns = c->in_channels * taps;
    size_t total = columns + (c->has_bias ? 1 : 0), co = c->out_channels;
    gpu_plan p = plan_gpu_product(rt, co, total, n * h * w);
    gc_tensor *partial = NULL;
    GC_TRY(gpu_partials(rt, &p, co, total, grads, &partial));
    size_t local[3] = {p.side, p.side, 1};
    GC_TRY(GC_LAUNCH(rt, c->kernels.gpu_weights[p.item == 4], 3, p.global, local, GC_MEM(grads),
                     GC_U32(c->w_offset), GC_U32(c->b_offset), GC_U32(c->has_bias != 0),
                     GC_MEM(dout), GC_U32(dout_offset), GC_U32(co), GC_MEM(in), GC_U32(in_offset),
                     GC_U32(c->in_channels), GC_U32(h), GC_U32(w), GC_U32(taps), GC_U32(n),
                     GC_U32(p.per_split), GC_MEM(partial)));
    if (p.splits == 1) return GC_OK;
    size_t global[2] = {total, co};
    return GC_LAUNCH(rt, c->kernels.gpu_weights_splits, 2, global, NULL, GC_MEM(grads),
                     GC_U32(c->w_offset), GC_U32(c->b_offset), GC_U32(c->has_bias != 0), GC_U32(co),
                     GC_U32(columns), GC_U32(p.splits), GC_MEM(partial));
}

/* A forward or input-gradient pass by whichever of the three ways suits its layer, or the gpu
 * set's one. */
static gc_status launch_pass(gc_runtime *rt, const gc_conv *c, const pass_output *o,
                             const gc_tensor *in, size_t in_offset, size_t reduced,
                             const gc_tensor *weights, weight_view view, size_t n, size_t h,
                             size_t w)
{
    if (rt->kernel_set == GC_KERNELS_GPU)
        return launch_pass_gpu(rt, c, o, in, in_offset, reduced, weights, view, n, h, w);
    if (c->kernel == 1)
        return launch_pass_1x1(rt, c, o, in, in_offset, reduced, weights, view, n, h * w);
    if (im2col_pays(c, reduced))
        return launch_pass_im2col(rt, c, o, in, in_offset, reduced, weights, view, n, h, w);
    return launch_pass_3x3(rt, c, o, in, in_offset, reduced, weights, view, n, h, w);
}

gc_status gc_conv_forward(const gc_conv *c, const gc_tensor *weights, const gc_tensor *in,
                          size_t in_offset, gc_tensor *out, size_t out_offset, size_t n, size_t h,
                          size_t w)
{
    size_t in_count = 0, out_count = 0;
    GC_TRY(check_layer(c, weights, n, h, w, &in_count, &out_count));
    GC_TRY(check_range("input", in, in_offset, in_count, weights->rt));
    GC_TRY(check_range("output", out, out_offset, out_count, weights->rt));
    GC_TRY(check_disjoint("input", in, in_offset, "output", out, out_offset, in_count, out_count));
    if (out_count == 0) return GC_OK;
    size_t k = c->kernel, taps = k * k;
    if (is_reference(weights)) {
        double *y = out->host + out_offset;
        reference_pass(y, c->out_channels, in->host + in_offset, c->in_channels,
                       weights->host + c->w_offset, c->in_channels * taps, taps, 0, k, n, h, w);
        const double *bias = weights->host + c->b_offset;
        for (size_t j = 0; j < out_count; j++) {
            double v = y[j];
            if (c->has_bias) v += bias[(j / (h * w)) % c->out_channels];
            y[j] = c->relu && v < 0.0 ? 0.0 : v;
        }
        return GC_OK;
    }
    pass_output o = {out, out_offset, c->out_channels, 1, NULL, 0, 0};
    return launch_pass(weights->rt, c, &o, in, in_offset, c->in_channels, weights, forward_view(c),
                       n, h, w);
}

gc_status gc_conv_backward_input(const gc_conv *c, const gc_tensor *weights, const gc_tensor *dout,
                                 size_t dout_offset, gc_tensor *din, size_t din_offset,
                                 const gc_tensor *mask, size_t mask_offset, int accumulate,
                                 size_t n, size_t h, size_t w)
{
    size_t in_count = 0, out_count = 0;
    GC_TRY(check_layer(c, weights, n, h, w, &in_count, &out_count));
    GC_TRY(check_range("output gradient", dout, dout_offset, out_count, weights->rt));
    GC_TRY(check_range("input gradient", din, din_offset, in_count, weights->rt));
    if (mask) GC_TRY(check_range("mask", mask, mask_offset, in_count, weights->rt));
    GC_TRY(check_disjoint("output gradient", dout, dout_offset, "input gradient", din, din_offset,
                          out_count, in_count));
    if (in_count == 0) return GC_OK;
    size_t k = c->kernel, taps = k * k;
    /* The transposed pass: the input channels take the place of the outputs, the weights of
     * input channel i are W[·][i] (lane stride taps, stride in·taps over the summed o). */
    if (is_reference(weights)) {
        double *sums = malloc(in_count * sizeof *sums);
        if (!sums) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
        reference_pass(sums, c->in_channels, dout->host + dout_offset, c->out_channels,
                       weights->host + c->w_offset, taps, c->in_channels * taps, 1, k, n, h, w);
        double *dx = din->host + din_offset;
        const double *m = mask ? mask->host + mask_offset : NULL;
        for (size_t j = 0; j < in_count; j++) {
            double v = m && m[j] <= 0.0 ? 0.0 : sums[j];
            dx[j] = accumulate ? dx[j] + v : v;
        }
        free(sums);
        return GC_OK;
    }
    pass_output o = {din, din_offset, c->in_channels, 0, mask, mask_offset, accumulate};
    return launch_pass(weights->rt, c, &o, dout, dout_offset, c->out_channels, weights,
                       transposed_view(c), n, h, w);
}

/* The reference weight and bias gradients, summed in the plain loop order. */
static void backward_params_reference(const gc_conv *c, gc_tensor *grads, const double *dy,
                                      const double *x, size_t n, size_t h, size_t w)
{
    size_t k = c->kernel, taps = k * k, ci = c->in_channels, co = c->out_channels;
    size_t pixels = h * w;
    ptrdiff_t pad = (ptrdiff_t)(k / 2);
    for (size_t o = 0; o < co; o++) {
        for (size_t i = 0; i < ci; i++)
            for (size_t ky = 0; ky < k; ky++)
                for (size_t kx = 0; kx < k; kx++) {
                    double sum = 0.0;
                    for (size_t b = 0; b < n; b++) {
                        const double *g = dy + (b * co + o) * pixels;
                        const double *plane = x + (b * ci + i) * pixels;
                        for (size_t y = 0; y < h; y++) {
                            ptrdiff_t sy = (ptrdiff_t)y + (ptrdiff_t)ky - pad;
                            if (sy < 0 || sy >= (ptrdiff_t)h) continue;
                            for (size_t xx = 0; xx < w; xx++) {
                                ptrdiff_t sx = (ptrdiff_t)xx + (ptrdiff_t)kx - pad;
                                if (sx < 0 || sx >= (ptrdiff_t)w) continue;
                                sum += g[y * w + xx] * plane[(size_t)sy * w + (size_t)sx];
                            }
                        }
                    }
                    grads->host[c->w_offset + (o * ci + i) * taps + ky * k + kx] += sum;
                }
        if (c->has_bias) {
            double sum = 0.0;
            for (size_t b = 0; b < n; b++)
                for (size_t p = 0; p < pixels; p++) sum += dy[(b * co + o) * pixels + p];
            grads->host[c->b_offset + o] += sum;
        }
    }
}

/* The weight gradient from the input transposed into panels of 16 channels (in shared scratch)
 * by one of two packings: a 3×3 layer with few input channels as its im2col columns (9·ci
 * columns of one tap each, conv_pack_taps), any other layer as its channels with a zero border
 * of k/2 pixels (conv_pack_pixels), whose k·k taps conv_params_panels reads as shifted windows
 * (im2col would write 9 copies of a 512-channel input). As many samples at a time as fit in
 * IM2COL_CHUNK_FLOATS (all 16 of a CIFAR batch), accumulating into dW chunk by chunk: two
 * launches a chunk. */
static gc_status backward_weights_panels(const gc_conv *c, gc_tensor *grads, const gc_tensor *dout,
                                         size_t dout_offset, const gc_tensor *in, size_t in_offset,
                                         size_t n, size_t h, size_t w)
{
    gc_runtime *rt = grads->rt;
    size_t k = c->kernel, ci = c->in_channels, co = c->out_channels, pixels = h * w;
    int im2col = k == 3 && ci <= IM2COL_MAX_INPUTS;
    /* conv_params_panels' work-items take conv_grad_channels output × 2·tile input columns */
    size_t tile = rt->shapes.conv_tile, block = 2 * tile, outputs = rt->shapes.conv_grad_channels;
    size_t columns = im2col ? k * k * ci : ci, width = (columns + block - 1) / block * block;
    size_t window = im2col ? 1 : k, pad = window / 2;
    size_t padded = (h + 2 * pad) * (w + 2 * pad);
    size_t chunk = IM2COL_CHUNK_FLOATS / (padded * width);
    chunk = chunk < 1 ? 1 : chunk > n ? n : chunk;
    gc_tensor *packed = NULL;
    GC_TRY(gc_scratch(rt, &packed_scratch, chunk * padded, width, &packed));
    for (size_t b = 0; b < n; b += chunk) {
        size_t samples = n - b < chunk ? n - b : chunk, first = in_offset + b * ci * pixels;
        if (im2col) { /* conv_pack_taps: a pixel's 9 taps of one channel a work-item */
            size_t pack_global[3] = {pixels, ci, samples};
            GC_TRY(GC_LAUNCH(rt, c->kernels.pack_taps, 3, pack_global, NULL, GC_MEM(packed),
                             GC_MEM(in), GC_U32(first), GC_U32(ci), GC_U32(width), GC_U32(h),
                             GC_U32(w), GC_U32(samples)));
        } else { /* conv_pack_pixels: blocks of 2·tile pixels × 2·tile channels */
            size_t pack_global[3] = {(padded + block - 1) / block, width / block, samples};
            GC_TRY(GC_LAUNCH(rt, c->kernels.pack_pixels, 3, pack_global, NULL, GC_MEM(packed),
                             GC_MEM(in), GC_U32(first), GC_U32(ci), GC_U32(width), GC_U32(h),
                             GC_U32(w), GC_U32(samples), GC_U32(pad)));
        }
        size_t global[2] = {width / block * window * window, (co + outputs - 1) / outputs};
        GC_TRY(GC_LAUNCH(rt, c->kernels.params_panels, 2, global, NULL, GC_MEM(grads),
                         GC_U32(c->w_offset), GC_MEM(dout), GC_U32(dout_offset + b * co * pixels),
                         GC_MEM(packed), GC_U32(columns), GC_U32(width), GC_U32(co), GC_U32(window),
                         GC_U32(h), GC_U32(w), GC_U32(samples)));
    }
    return GC_OK;
}

gc_status gc_conv_backward_params(const gc_conv *c, gc_tensor *grads, const gc_tensor *dout,
                                  size_t dout_offset, const gc_tensor *in, size_t in_offset,
                                  size_t n, size_t h, size_t w)
{
    size_t in_count = 0, out_count = 0;
    GC_TRY(check_layer(c, grads, n, h, w, &in_count, &out_count));
    GC_TRY(check_range("output gradient", dout, dout_offset, out_count, grads->rt));
    GC_TRY(check_range("input", in, in_offset, in_count, grads->rt));
    if (out_count == 0) return GC_OK;
    if (is_reference(grads)) {
        backward_params_reference(c, grads, dout->host + dout_offset, in->host + in_offset, n, h,
                                  w);
        return GC_OK;
    }
    gc_runtime *rt = grads->rt;
    if (rt->kernel_set == GC_KERNELS_GPU)
        return backward_params_gpu(c, grads, dout, dout_offset, in, in_offset, n, h, w);
    size_t co = c->out_channels;
    GC_TRY(backward_weights_panels(c, grads, dout, dout_offset, in, in_offset, n, h, w));
    if (!c->has_bias) return GC_OK;
    return GC_LAUNCH(rt, c->kernels.params_bias, 1, &co, NULL, GC_MEM(grads), GC_U32(c->b_offset),
                     GC_MEM(dout), GC_U32(dout_offset), GC_U32(co), GC_U32(h * w), GC_U32(n));
}
