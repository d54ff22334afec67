/* 2-D convolutions: the reference on a case worked out by hand, its gradients against finite
 * differences, the OpenCL kernels against the reference (odd sizes, partial channel and pixel
 * blocks, offsets), determinism, and argument errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glowcl/rng.h"
#include "glowcl/tensor.h"
#include "harness.h"
#include "core/internal.h"
#include "model/ops/conv.h"

static size_t taps_of(const gc_conv *c) { return c->kernel * c->kernel; }

/* A 1-D tensor holding `values` (count of them). */
static gc_tensor tensor_from(gc_runtime *rt, const double *values, size_t count)
{
    gc_tensor t;
    ck_assert_int_eq(gc_tensor_init1(&t, rt, count), GC_OK);
    ck_assert_int_eq(gc_tensor_upload(&t, values), GC_OK);
    return t;
}

static double *download(const gc_tensor *t)
{
    double *v = malloc(t->count * sizeof *v);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(gc_tensor_download(t, v), GC_OK);
    return v;
}

/* Normal values rounded to float, so that the device holds exactly what the reference holds
 * and a tensor's untouched elements come back bit for bit. */
static double *random_values(gc_rng *rng, size_t count)
{
    double *v = malloc(count * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (size_t j = 0; j < count; j++) v[j] = (double)(float)gc_rng_normal(rng);
    return v;
}

START_TEST(reference_matches_hand_computation)
{
    gc_runtime *rt = gc_test_open_reference();
    /* One 3×3 image 1…9 and a kernel with two taps, ky,kx = (0,0) weight 1 and (1,2) weight
     * 10: out[y][x] = in[y−1][x−1] + 10·in[y][x+1] − 10, then ReLU. The taps point in
     * different directions, so a flipped kernel or a wrong border would show. */
    const double image[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    double params[1 + 9 + 1] = {0};
    params[1 + 0] = 1.0;
    params[1 + 5] = 10.0;
    params[10] = -10.0;
    gc_conv c3 = {1, 1, 3, 1, 10, 1, 1, {0}};
    gc_tensor w = tensor_from(rt, params, 11), in = tensor_from(rt, image, 9), out;
    ck_assert_int_eq(gc_tensor_init1(&out, rt, 9), GC_OK);
    ck_assert_int_eq(gc_conv_forward(&c3, &w, &in, 0, &out, 0, 1, 3, 3), GC_OK);
    /* before the bias: 20 30 0 / 50 61 2 / 80 94 5 */
    const double expected[9] = {10, 20, 0, 40, 51, 0, 70, 84, 0};
    double got[9];
    ck_assert_int_eq(gc_tensor_download(&out, got), GC_OK);
    for (int j = 0; j < 9; j++) ck_assert_double_eq(got[j], expected[j]);

    /* The transposed pass sends each output back along the same taps: a gradient of 1 at the
     * centre reaches in[0][0] (weight 1) and in[1][2] (weight 10). */
    double centre[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
    gc_tensor dout = tensor_from(rt, centre, 9);
    ck_assert_int_eq(gc_conv_backward_input(&c3, &w, &dout, 0, &out, 0, NULL, 0, 0, 1, 3, 3),
                     GC_OK);
    ck_assert_int_eq(gc_tensor_download(&out, got), GC_OK);
    const double back[9] = {1, 0, 0, 0, 0, 10, 0, 0, 0};
    for (int j = 0; j < 9; j++) ck_assert_double_eq(got[j], back[j]);

    /* The weight gradient of that output is the input's 3×3 window around the centre, the
     * whole image here; the bias gradient is the sum of dout. */
    gc_tensor grads;
    ck_assert_int_eq(gc_tensor_init1(&grads, rt, 11), GC_OK);
    ck_assert_int_eq(gc_conv_backward_params(&c3, &grads, &dout, 0, &in, 0, 1, 3, 3), GC_OK);
    double g[11];
    ck_assert_int_eq(gc_tensor_download(&grads, g), GC_OK);
    ck_assert_double_eq(g[0], 0.0);
    for (int j = 0; j < 9; j++) ck_assert_double_eq(g[1 + j], image[j]);
    ck_assert_double_eq(g[10], 1.0);

    /* 1×1 with two input channels, no bias: out = 2·a − b. */
    gc_conv c1 = {2, 1, 1, 0, 0, 0, 0, {0}};
    const double pair[2] = {2.0, -1.0}, ab[4] = {1, 2, 10, 30};
    gc_tensor w1 = tensor_from(rt, pair, 2), in1 = tensor_from(rt, ab, 4), out1;
    ck_assert_int_eq(gc_tensor_init1(&out1, rt, 2), GC_OK);
    ck_assert_int_eq(gc_conv_forward(&c1, &w1, &in1, 0, &out1, 0, 1, 1, 2), GC_OK);
    ck_assert_int_eq(gc_tensor_download(&out1, got), GC_OK);
    ck_assert_double_eq(got[0], -8.0);
    ck_assert_double_eq(got[1], -26.0);

    gc_tensor *all[] = {&w, &in, &out, &dout, &grads, &w1, &in1, &out1};
    for (size_t j = 0; j < sizeof all / sizeof *all; j++) gc_tensor_release(all[j]);
    gc_runtime_close(rt);
}
END_TEST

/* The finite-difference problem: L = Σ R ⊙ act(conv(g(z))), g the ReLU when the layer's input
 * is a ReLU output (the mask case), else the identity. L is piecewise linear, so central
 * differences are exact up to rounding away from the kinks. */
typedef struct fd_problem {
    gc_runtime *rt;
    gc_conv c;
    size_t n, h, w, in_offset, in_count, out_count, z_count;
    int masked;
    gc_tensor params, x, out;
    double *z_host, *params_host, *r;
} fd_problem;

static double fd_loss(fd_problem *p)
{
    ck_assert_int_eq(gc_tensor_upload(&p->params, p->params_host), GC_OK);
    double *x = malloc(p->z_count * sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (size_t j = 0; j < p->z_count; j++)
        x[j] = p->masked && p->z_host[j] < 0.0 ? 0.0 : p->z_host[j];
    ck_assert_int_eq(gc_tensor_upload(&p->x, x), GC_OK);
    free(x);
    ck_assert_int_eq(
        gc_conv_forward(&p->c, &p->params, &p->x, p->in_offset, &p->out, 0, p->n, p->h, p->w),
        GC_OK);
    double loss = 0.0;
    for (size_t j = 0; j < p->out_count; j++) loss += p->r[j] * p->out.host[j];
    return loss;
}

/* Central differences of L over `count` values of `v`, into fd. */
static void differentiate(fd_problem *p, double *v, size_t count, double *fd)
{
    const double eps = 1e-6;
    for (size_t j = 0; j < count; j++) {
        double keep = v[j];
        v[j] = keep + eps;
        double up = fd_loss(p);
        v[j] = keep - eps;
        double down = fd_loss(p);
        v[j] = keep;
        fd[j] = (up - down) / (2.0 * eps);
    }
}

static void check_reference_gradients(size_t kernel, int relu, int masked)
{
    fd_problem p = {0};
    p.rt = gc_test_open_reference();
    gc_rng rng;
    gc_rng_seed_stream(&rng, gc_test_seed(), kernel * 4 + (size_t)relu * 2 + (size_t)masked);
    const size_t ci = 3, co = 5, taps = kernel * kernel;
    p.n = 2, p.h = 5, p.w = 7, p.masked = masked, p.in_offset = 4;
    /* Odd offsets everywhere, the bias before the weights for once, and gaps around both. */
    const size_t b_offset = 2, w_offset = b_offset + co + 1, weight_count = co * ci * taps;
    p.c = (gc_conv){ci, co, kernel, w_offset, b_offset, 1, relu, {0}};
    size_t param_count = w_offset + weight_count + 2;
    p.in_count = p.n * ci * p.h * p.w;
    p.out_count = p.n * co * p.h * p.w;
    p.z_count = p.in_offset + p.in_count + 3;
    p.params_host = random_values(&rng, param_count);
    p.z_host = random_values(&rng, p.z_count);
    p.r = random_values(&rng, p.out_count);
    ck_assert_int_eq(gc_tensor_init1(&p.params, p.rt, param_count), GC_OK);
    ck_assert_int_eq(gc_tensor_init1(&p.x, p.rt, p.z_count), GC_OK);
    ck_assert_int_eq(gc_tensor_init1(&p.out, p.rt, p.out_count), GC_OK);
    fd_loss(&p); /* leaves the activations of the unperturbed point in x and out */

    /* Backprop: dL/d(pre-activation) = R where the output passed the ReLU. */
    double *dpre = malloc(p.out_count * sizeof *dpre);
    ck_assert_ptr_nonnull(dpre);
    for (size_t j = 0; j < p.out_count; j++) dpre[j] = relu && p.out.host[j] <= 0.0 ? 0.0 : p.r[j];
    gc_tensor dout = tensor_from(p.rt, dpre, p.out_count);
    /* The mask case also accumulates onto (and the params onto) random earlier values. */
    double *din_before = random_values(&rng, p.z_count);
    double *grads_before = random_values(&rng, param_count);
    if (!masked) memset(din_before, 0, p.z_count * sizeof *din_before);
    gc_tensor din = tensor_from(p.rt, din_before, p.z_count);
    gc_tensor grads = tensor_from(p.rt, grads_before, param_count);
    ck_assert_int_eq(gc_conv_backward_input(&p.c, &p.params, &dout, 0, &din, p.in_offset,
                                            masked ? &p.x : NULL, p.in_offset, masked, p.n, p.h,
                                            p.w),
                     GC_OK);
    ck_assert_int_eq(
        gc_conv_backward_params(&p.c, &grads, &dout, 0, &p.x, p.in_offset, p.n, p.h, p.w), GC_OK);
    double *dz = download(&din), *dparams = download(&grads);
    for (size_t j = 0; j < p.z_count; j++) dz[j] -= din_before[j];
    for (size_t j = 0; j < param_count; j++) dparams[j] -= grads_before[j];
    /* Outside the layer's range nothing may change. */
    for (size_t j = 0; j < p.in_offset; j++) ck_assert_double_eq(dz[j], 0.0);
    for (size_t j = p.in_offset + p.in_count; j < p.z_count; j++) ck_assert_double_eq(dz[j], 0.0);
    for (size_t j = 0; j < param_count; j++)
        if (j < b_offset || (j >= b_offset + co && j < w_offset) || j >= w_offset + weight_count)
            ck_assert_double_eq(dparams[j], 0.0);

    double *fd_z = malloc(p.in_count * sizeof *fd_z);
    double *fd_params = malloc(param_count * sizeof *fd_params);
    ck_assert(fd_z && fd_params);
    differentiate(&p, p.z_host + p.in_offset, p.in_count, fd_z);
    differentiate(&p, p.params_host, param_count, fd_params);
    double e_in = gc_relative_error(dz + p.in_offset, fd_z, p.in_count);
    double e_w = gc_relative_error(dparams + w_offset, fd_params + w_offset, weight_count);
    double e_b = gc_relative_error(dparams + b_offset, fd_params + b_offset, co);
    ck_assert_msg(e_in <= GC_TOL_GRADIENT && e_w <= GC_TOL_GRADIENT && e_b <= GC_TOL_GRADIENT,
                  "kernel %zu relu %d mask %d: input %.2e, weights %.2e, bias %.2e "
                  "(GLOWCL_TEST_SEED=%llu)",
                  kernel, relu, masked, e_in, e_w, e_b, (unsigned long long)gc_test_seed());

    free(dpre), free(din_before), free(grads_before), free(dz), free(dparams), free(fd_z);
    free(fd_params), free(p.params_host), free(p.z_host), free(p.r);
    gc_tensor *all[] = {&p.params, &p.x, &p.out, &dout, &din, &grads};
    for (size_t j = 0; j < sizeof all / sizeof *all; j++) gc_tensor_release(all[j]);
    gc_runtime_close(p.rt);
}

/* _i: kernel 1 or 3 × ReLU × mask. */
START_TEST(reference_gradients_match_finite_differences)
{
    check_reference_gradients(_i & 4 ? 3 : 1, (_i & 2) != 0, (_i & 1) != 0);
}
END_TEST

/* One layer on the reference and on a device, with every tensor bigger than the layer's part
 * of it and prefilled, so writes outside the part would show. */
typedef struct device_case {
    size_t n, ci, co, kernel, h, w;
    int has_bias, relu;
} device_case;

typedef struct both {
    gc_tensor ref, dev;
} both;

static both both_from(gc_runtime *ref, gc_runtime *dev, const double *values, size_t count)
{
    both b = {tensor_from(ref, values, count), tensor_from(dev, values, count)};
    return b;
}

static void both_release(both *b)
{
    gc_tensor_release(&b->ref);
    gc_tensor_release(&b->dev);
}

/* Device against reference over [offset, offset + count), and bit-for-bit equality elsewhere
 * (both started from the same float values). */
static void assert_close(const both *b, size_t offset, size_t count, const char *what,
                         const device_case *k, gc_runtime *dev)
{
    double *r = download(&b->ref), *d = download(&b->dev);
    double error = gc_relative_error(d + offset, r + offset, count);
    ck_assert_msg(error <= GC_TOL_DEVICE,
                  "%s, %zu x %zu->%zu x %zux%zu k%zu: rel err %.2e on %s (GLOWCL_TEST_SEED=%llu)",
                  what, k->n, k->ci, k->co, k->h, k->w, k->kernel, error,
                  gc_runtime_description(dev), (unsigned long long)gc_test_seed());
    for (size_t j = 0; j < b->ref.count; j++)
        if (j < offset || j >= offset + count)
            ck_assert_msg(r[j] == d[j], "%s: element %zu outside the layer changed", what, j);
    free(r);
    free(d);
}

static void assert_same_bits(const gc_tensor *a, const double *before, const char *what)
{
    double *again = download(a);
    ck_assert_msg(memcmp(again, before, a->count * sizeof *again) == 0,
                  "%s: a second run gave different bits", what);
    free(again);
}

static void check_device_case(gc_runtime *ref, gc_runtime *dev, const device_case *k,
                              uint64_t stream)
{
    gc_rng rng;
    gc_rng_seed_stream(&rng, gc_test_seed(), stream);
    const size_t w_offset = 5, in_offset = 7, out_offset = 3, mask_offset = 2, slack = 6;
    gc_conv c = {k->ci, k->co, k->kernel, w_offset, 0, k->has_bias, k->relu, {0}};
    ck_assert_int_eq(gc_conv_kernels_find(dev, &c.kernels), GC_OK);
    size_t pixels = k->h * k->w, in_count = k->n * k->ci * pixels,
           out_count = k->n * k->co * pixels, weight_count = k->co * k->ci * taps_of(&c);
    c.b_offset = w_offset + weight_count + 1;
    size_t param_count = c.b_offset + k->co + slack;
    double *params = random_values(&rng, param_count);
    double *x = random_values(&rng, in_offset + in_count + slack);
    double *y = random_values(&rng, out_offset + out_count + slack);
    double *mask = random_values(&rng, mask_offset + in_count + slack);
    both p = both_from(ref, dev, params, param_count);
    both in = both_from(ref, dev, x, in_offset + in_count + slack);
    both out = both_from(ref, dev, y, out_offset + out_count + slack);
    both m = both_from(ref, dev, mask, mask_offset + in_count + slack);
    /* x's buffer again, as the input gradient (accumulated onto) */
    both din = both_from(ref, dev, x, in_offset + in_count + slack);
    both grads = both_from(ref, dev, params, param_count);

    ck_assert_int_eq(
        gc_conv_forward(&c, &p.ref, &in.ref, in_offset, &out.ref, out_offset, k->n, k->h, k->w),
        GC_OK);
    ck_assert_msg(gc_conv_forward(&c, &p.dev, &in.dev, in_offset, &out.dev, out_offset, k->n, k->h,
                                  k->w) == GC_OK,
                  "%s", gc_last_error());
    assert_close(&out, out_offset, out_count, "forward", k, dev);
    double *first = download(&out.dev);
    ck_assert_int_eq(
        gc_conv_forward(&c, &p.dev, &in.dev, in_offset, &out.dev, out_offset, k->n, k->h, k->w),
        GC_OK);
    assert_same_bits(&out.dev, first, "forward");
    free(first);

    /* The output (float-exact on both sides) serves as dout from here on. */
    for (int masked = 1; masked >= 0; masked--) {
        for (int side = 0; side < 2; side++) {
            gc_tensor *tp = side ? &p.dev : &p.ref, *tout = side ? &out.dev : &out.ref;
            gc_tensor *tdin = side ? &din.dev : &din.ref, *tm = side ? &m.dev : &m.ref;
            ck_assert_msg(gc_conv_backward_input(&c, tp, tout, out_offset, tdin, in_offset,
                                                 masked ? tm : NULL, mask_offset, masked, k->n,
                                                 k->h, k->w) == GC_OK,
                          "%s", gc_last_error());
        }
        assert_close(&din, in_offset, in_count,
                     masked ? "input gradient, masked, accumulated" : "input gradient", k, dev);
    }
    first = download(&din.dev);
    ck_assert_int_eq(gc_conv_backward_input(&c, &p.dev, &out.dev, out_offset, &din.dev, in_offset,
                                            NULL, 0, 0, k->n, k->h, k->w),
                     GC_OK);
    assert_same_bits(&din.dev, first, "input gradient");
    free(first);

    for (int side = 0; side < 2; side++)
        ck_assert_msg(gc_conv_backward_params(&c, side ? &grads.dev : &grads.ref,
                                              side ? &out.dev : &out.ref, out_offset,
                                              side ? &in.dev : &in.ref, in_offset, k->n, k->h,
                                              k->w) == GC_OK,
                      "%s", gc_last_error());
    /* The gradients were added to the parameters' values: compare what was added. */
    double *r = download(&grads.ref), *d = download(&grads.dev);
    for (size_t j = 0; j < param_count; j++) r[j] -= params[j], d[j] -= params[j];
    double e_w = gc_relative_error(d + w_offset, r + w_offset, weight_count);
    double e_b = k->has_bias ? gc_relative_error(d + c.b_offset, r + c.b_offset, k->co) : 0.0;
    ck_assert_msg(e_w <= GC_TOL_DEVICE && e_b <= GC_TOL_DEVICE,
                  "params, %zu x %zu->%zu x %zux%zu k%zu: weights %.2e, bias %.2e on %s "
                  "(GLOWCL_TEST_SEED=%llu)",
                  k->n, k->ci, k->co, k->h, k->w, k->kernel, e_w, e_b, gc_runtime_description(dev),
                  (unsigned long long)gc_test_seed());
    for (size_t j = 0; j < param_count; j++) {
        int in_layer = (j >= w_offset && j < w_offset + weight_count) ||
                       (k->has_bias && j >= c.b_offset && j < c.b_offset + k->co);
        if (!in_layer) ck_assert_msg(d[j] == 0.0, "params: element %zu changed", j);
    }
    free(r);
    free(d);
    /* Determinism: from the same starting values, the same bits. */
    first = download(&grads.dev);
    ck_assert_int_eq(gc_tensor_upload(&grads.dev, params), GC_OK);
    ck_assert_int_eq(gc_conv_backward_params(&c, &grads.dev, &out.dev, out_offset, &in.dev,
                                             in_offset, k->n, k->h, k->w),
                     GC_OK);
    assert_same_bits(&grads.dev, first, "params");
    free(first);

    free(params), free(x), free(y), free(mask);
    both *all[] = {&p, &in, &out, &m, &din, &grads};
    for (size_t j = 0; j < sizeof all / sizeof *all; j++) both_release(all[j]);
}

START_TEST(device_matches_reference)
{
    gc_runtime *ref = gc_test_open_reference(), *dev = gc_test_open_device(_i);
    dev->kernel_set = GC_KERNELS_CPU; /* whichever the device would run; the gpu set below */
    /* Small (oclgrind simulates every one), yet with partial 8-channel and 8-pixel blocks,
     * rows wider and narrower than 8, full blocks, and 1×1 images of odd pixel counts; 3×3
     * layers with up to 32 inputs take the im2col forward pass and weight gradient, those with
     * 36 and 40 the direct forward pass and the padded panels' 9-tap weight gradient (three
     * 16-column blocks, the last partial); 4×4 images go two samples a tile (an odd count
     * leaves the last alone); and 16-wide rows (CIFAR's first level). The last two are long
     * sums over few outputs, which the gpu set splits (below). */
    const device_case cases[] = {
        {3, 11, 13, 3, 5, 15, 1, 1}, {3, 11, 13, 1, 5, 11, 1, 1}, {2, 9, 17, 3, 6, 4, 0, 0},
        {2, 17, 5, 1, 7, 3, 0, 1},   {2, 16, 24, 3, 8, 8, 1, 0},  {1, 3, 2, 3, 1, 1, 1, 1},
        {2, 16, 16, 1, 4, 4, 1, 1},  {2, 5, 33, 3, 3, 7, 1, 1},   {3, 2, 40, 3, 4, 4, 0, 0},
        {2, 36, 9, 3, 5, 6, 1, 1},   {3, 36, 11, 3, 4, 4, 1, 1},  {4, 40, 9, 3, 4, 4, 0, 0},
        {2, 5, 7, 3, 3, 16, 1, 0},   {1, 15, 3, 3, 4, 4, 1, 1},   {2, 3, 2, 1, 8, 8, 1, 0},
    };
    for (size_t j = 0; j < sizeof cases / sizeof *cases; j++)
        check_device_case(ref, dev, &cases[j], 100 + j);
    /* The gpu set (cl/gpu_conv.cl) on the same cases, with each register tile and without
     * splits of the sum, then as its launches would be planned on a GPU: small as these
     * layers are, that is the 2 × 2 tile with the sum split where it is long (the 3×3 layers
     * with 16 or more inputs, every weight gradient of 128 or more pixels). The shapes are
     * host-side, so the kernels need no rebuild; GPU_CONV_SIDE's values are
     * tests/shapes_test.sh's business. In oclgrind, whose work-group barriers and local
     * memory checks make a big product cost minutes, the 4 × 4 tile and the plan on the
     * last three cases: partial tiles, 3×3 and 1×1 layers, a 16-wide row, 4×4 images, and
     * splits (the 15-input 3×3 pass and the 128-pixel weight gradient). */
    int simulated = getenv("GLOWCL_TEST_UNDER_OCLGRIND") != NULL;
    const size_t simulated_cases[] = {12, 13, 14};
    gc_kernel_shapes planned = dev->shapes;
    const unsigned tiles[3][2] = {
        {4, 1}, {planned.gpu_conv_item, planned.gpu_conv_min_items}, {2, 1}};
    dev->kernel_set = GC_KERNELS_GPU;
    for (size_t t = 0; t < (simulated ? 2 : 3); t++) {
        dev->shapes.gpu_conv_item = tiles[t][0];
        dev->shapes.gpu_conv_min_items = tiles[t][1];
        size_t count = simulated ? 3 : sizeof cases / sizeof *cases;
        for (size_t c = 0; c < count; c++) {
            size_t j = simulated ? simulated_cases[c] : c;
            check_device_case(ref, dev, &cases[j], 100 + j);
        }
    }
    gc_runtime_close(dev);
    gc_runtime_close(ref);
}
END_TEST

START_TEST(argument_errors_are_reported)
{
    gc_runtime *rt = gc_test_open_reference(), *other = gc_test_open_reference();
    gc_tensor params, in, out, foreign;
    gc_conv c = {2, 3, 3, 0, 54, 1, 0, {0}}; /* 54 weights, then 3 biases */
    ck_assert_int_eq(gc_tensor_init1(&params, rt, 57), GC_OK);
    ck_assert_int_eq(gc_tensor_init1(&in, rt, 2 * 2 * 4 * 5), GC_OK);
    ck_assert_int_eq(gc_tensor_init1(&out, rt, 2 * 3 * 4 * 5), GC_OK);
    ck_assert_int_eq(gc_tensor_init1(&foreign, other, 2 * 3 * 4 * 5), GC_OK);
    ck_assert_int_eq(gc_conv_forward(&c, &params, &in, 0, &out, 0, 2, 4, 5), GC_OK);
    ck_assert_int_eq(gc_conv_backward_input(&c, &params, &out, 0, &in, 0, &in, 0, 1, 2, 4, 5),
                     GC_OK);
    ck_assert_int_eq(gc_conv_backward_params(&c, &params, &out, 0, &in, 0, 2, 4, 5), GC_OK);

    gc_conv bad = c;
    bad.kernel = 2;
    ck_assert_int_eq(gc_conv_forward(&bad, &params, &in, 0, &out, 0, 2, 4, 5), GC_ERR_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "kernel 2"));
    bad = c;
    bad.in_channels = 0;
    ck_assert_int_eq(gc_conv_forward(&bad, &params, &in, 0, &out, 0, 2, 4, 5), GC_ERR_ARGUMENT);
    bad = c;
    bad.w_offset = 1; /* the weights run into the end of the tensor... */
    bad.b_offset = 0;
    ck_assert_int_eq(gc_conv_forward(&bad, &params, &in, 0, &out, 0, 2, 4, 5), GC_OK);
    bad.w_offset = 4; /* ...and past it */
    ck_assert_int_eq(gc_conv_forward(&bad, &params, &in, 0, &out, 0, 2, 4, 5), GC_ERR_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "weight range"));
    bad = c;
    bad.b_offset = 55;
    ck_assert_int_eq(gc_conv_backward_params(&bad, &params, &out, 0, &in, 0, 2, 4, 5),
                     GC_ERR_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "bias range"));
    bad.has_bias = 0; /* the bias offset no longer matters */
    ck_assert_int_eq(gc_conv_backward_params(&bad, &params, &out, 0, &in, 0, 2, 4, 5), GC_OK);

    ck_assert_int_eq(gc_conv_forward(&c, &params, &in, 1, &out, 0, 2, 4, 5), GC_ERR_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "input range"));
    ck_assert_int_eq(gc_conv_forward(&c, &params, &in, 0, &out, 1, 2, 4, 5), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_conv_forward(&c, &params, &in, 0, &out, 0, 3, 4, 5), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_conv_forward(&c, &params, &in, 0, &out, 0, 2, 5, 5), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_conv_backward_input(&c, &params, &out, 0, &in, 0, &in, 1, 0, 2, 4, 5),
                     GC_ERR_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "mask range"));
    ck_assert_int_eq(gc_conv_backward_input(&c, &params, &out, 1, &in, 0, NULL, 0, 0, 2, 4, 5),
                     GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_conv_backward_params(&c, &params, &out, 0, &in, 3, 2, 4, 5),
                     GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_conv_forward(&c, &params, &in, 0, &foreign, 0, 2, 4, 5), GC_ERR_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "another runtime"));
    ck_assert_int_eq(gc_conv_forward(&c, NULL, &in, 0, &out, 0, 2, 4, 5), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_conv_forward(&c, &params, NULL, 0, &out, 0, 2, 4, 5), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_conv_forward(&c, &params, &in, (size_t)-1, &out, 0, 2, 4, 5),
                     GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_conv_forward(&c, &params, &in, 0, &out, 0, (size_t)1 << 40, 4, 5),
                     GC_ERR_ARGUMENT);

    /* In place would read values already overwritten. */
    gc_conv square = {3, 3, 1, 0, 0, 0, 0, {0}};
    ck_assert_int_eq(gc_conv_forward(&square, &params, &out, 0, &out, 0, 1, 4, 5), GC_ERR_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "overlap"));
    ck_assert_int_eq(gc_conv_forward(&square, &params, &out, 0, &out, 60, 1, 4, 5), GC_OK);
    ck_assert_int_eq(
        gc_conv_backward_input(&square, &params, &out, 0, &out, 59, NULL, 0, 0, 1, 4, 5),
        GC_ERR_ARGUMENT);

    /* Nothing to do is not an error. */
    ck_assert_int_eq(gc_conv_forward(&c, &params, &in, 0, &out, 0, 0, 4, 5), GC_OK);

    gc_tensor *all[] = {&params, &in, &out, &foreign};
    for (size_t j = 0; j < sizeof all / sizeof *all; j++) gc_tensor_release(all[j]);
    gc_runtime_close(other);
    gc_runtime_close(rt);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conv");
    TCase *ref = tcase_create("reference");
    tcase_add_test(ref, reference_matches_hand_computation);
    tcase_add_loop_test(ref, reference_gradients_match_finite_differences, 0, 8);
    tcase_add_test(ref, argument_errors_are_reported);
    suite_add_tcase(s, ref);
    TCase *device = tcase_create("on every OpenCL device");
    tcase_set_timeout(device, 600);
    GC_TEST_DEVICE_LOOP(device, device_matches_reference);
    suite_add_tcase(s, device);
    return gc_test_run(s, 1);
}
