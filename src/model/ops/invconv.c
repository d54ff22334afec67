/* Invertible 1x1 convolution: z = W·x at every pixel (vectors are one pixel), with
 * W = P·(L' + I)·(U' + diag(sign·e^log_s)), so log|det| = pixels · Σ log_s and W stays
 * invertible whatever the optimiser does (Glow's LU form). P and sign come from the initial
 * random rotation and are kept fixed. W and W⁻¹ are rebuilt from the factors at each pass.
 * Reference loops beside cl/invconv.cl. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops/conv.h"
#include "model/ops/op.h"

typedef struct invconv_op {
    gc_op base;
    size_t channels, pixels;
    size_t lower, upper, log_s, perm, sign; /* parameter offsets */
    gc_tensor weight, inverse, d_weight;    /* (D, D) scratch */
    gc_tensor pt_d_weight; /* (D, D): Pᵀ·dW for the factors' gradients (OpenCL) */
    struct {               /* cl/invconv.cl, named without invconv_ */
        gc_kernel *weight, *inverse, *mix, *forward_group, *backward_group, *weight_grad, *pt_dw,
            *param_grads;
    } k;
    gc_conv_kernels conv; /* the gpu set's dW: a 1x1 convolution's weight gradient */
} invconv_op;

/* The decoder's residual, shared by every 1x1 convolution on a runtime (gc_scratch). */
static const gc_scratch_key residual_scratch = {"1x1 convolution residual"};

/* Batches of at most this many multiply-adds of the mix (n · pixels · D²) run each direction
 * of the training pass as one launch of one work-group, cl/invconv.cl's *_group kernels,
 * rather than two or three launches: the 2-D Glow's 256 · 1 · 4 take less time than a launch
 * costs (~5 us on PoCL). */
enum { ONE_GROUP_WORK = 4096 };

static int one_group(const invconv_op *op, const gc_tensor *params, size_t n)
{
    return params->rt->backend == GC_BACKEND_OPENCL &&
           n * op->pixels * op->channels * op->channels <= ONE_GROUP_WORK;
}

/* The size of a *_group kernel's one work-group: up to rt->shapes.invconv_group work-items. */
static size_t one_group_size(const gc_runtime *rt, const gc_kernel *kernel)
{
    size_t size = rt->shapes.invconv_group;
    while (size > 1 && size > kernel->work_group_size) size /= 2;
    return size;
}

/* L̃ and Ũ entries from the parameters, as cl/invconv.cl reads them. */
static double lower_unit(const invconv_op *op, const double *p, size_t r, size_t c)
{
    return r == c ? 1.0 : (c < r ? p[op->lower + r * op->channels + c] : 0.0);
}

static double upper_diag(const invconv_op *op, const double *p, size_t r, size_t c)
{
    if (r == c) return p[op->sign + r] * exp(p[op->log_s + r]);
    return r < c ? p[op->upper + r * op->channels + c] : 0.0;
}

static gc_status build_weight(invconv_op *op, const gc_tensor *params, int inverse)
{
    size_t d = op->channels;
    gc_tensor *out = inverse ? &op->inverse : &op->weight;
    if (params->rt->backend == GC_BACKEND_OPENCL) {
        size_t global[2] = {d, d};
        return GC_LAUNCH(params->rt, inverse ? op->k.inverse : op->k.weight, inverse ? 1 : 2,
                         global, NULL, GC_MEM(out), GC_MEM(params), GC_U32(op->lower),
                         GC_U32(op->upper), GC_U32(op->log_s), GC_U32(op->perm), GC_U32(op->sign),
                         GC_U32(d));
    }
    const double *p = params->host;
    double *w = out->host;
    if (!inverse) {
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++) {
                double sum = 0.0;
                for (size_t k = 0; k < d; k++) {
                    double lu = 0.0;
                    for (size_t m = 0; m <= (k < j ? k : j); m++)
                        lu += lower_unit(op, p, k, m) * upper_diag(op, p, m, j);
                    sum += p[op->perm + i * d + k] * lu;
                }
                w[i * d + j] = sum;
            }
        return GC_OK;
    }
    for (size_t j = 0; j < d; j++) { /* column j of Ũ⁻¹·L̃⁻¹·Pᵀ */
        for (size_t k = 0; k < d; k++) {
            double y = p[op->perm + j * d + k];
            for (size_t m = 0; m < k; m++) y -= lower_unit(op, p, k, m) * w[m * d + j];
            w[k * d + j] = y;
        }
        for (size_t k = d; k-- > 0;) {
            double x = w[k * d + j];
            for (size_t m = k + 1; m < d; m++) x -= upper_diag(op, p, k, m) * w[m * d + j];
            w[k * d + j] = x / upper_diag(op, p, k, k);
        }
    }
    return GC_OK;
}

/* What mix does with M·in; the values are cl/invconv.cl's INVCONV_* modes. */
enum { MIX_SET, MIX_RESIDUAL, MIX_ADD };

/* The log-determinant a mix adds to each sample's: scale · Σ log|s|. */
typedef struct mix_logdet {
    gc_tensor *logdet;
    const gc_tensor *params;
    double scale;
} mix_logdet;

/* dW = Σ over samples and pixels of dz·xᵀ (OpenCL). One work-item an entry on the cpu set;
 * the D² entries are too few work-items for a GPU, so the gpu set computes dW as what it is,
 * the weight gradient of a D → D 1x1 convolution (its sum split over the pixels). */
static gc_status weight_grad(invconv_op *op, const gc_tensor *dz, const gc_tensor *x, size_t n)
{
    gc_runtime *rt = dz->rt;
    size_t d = op->channels, pixels = op->pixels;
    if (rt->kernel_set == GC_KERNELS_GPU) {
        gc_conv as_conv = {d, d, 1, 0, 0, 0, 0, op->conv};
        GC_TRY(gc_tensor_fill(&op->d_weight, 0.0));
        return gc_conv_backward_params(&as_conv, &op->d_weight, dz, 0, x, 0, n, 1, pixels);
    }
    size_t square[2] = {d, d};
    return GC_LAUNCH(rt, op->k.weight_grad, 2, square, NULL, GC_MEM(&op->d_weight), GC_MEM(dz),
                     GC_MEM(x), GC_U32(n), GC_U32(d), GC_U32(pixels));
}

/* out = M·in at every pixel (M = W, W⁻¹ or, with `transpose`, Wᵀ); MIX_RESIDUAL:
 * out = base − M·in; MIX_ADD: out += M·in; and `with` (NULL: none) the log-determinant, which
 * the OpenCL kernel adds as it runs, saving a launch. */
static gc_status mix(const invconv_op *op, const gc_tensor *m, const gc_tensor *in, gc_tensor *out,
                     const gc_tensor *base, size_t n, int transpose, int mode,
                     const mix_logdet *with)
{
    size_t d = op->channels, pixels = op->pixels;
    if (m->rt->backend == GC_BACKEND_OPENCL) {
        /* pixels an item takes where they divide, on the cpu set */
        size_t by = m->rt->shapes.invconv_pixels;
        int by8 = m->rt->kernel_set == GC_KERNELS_CPU && pixels % by == 0;
        size_t global[3] = {by8 ? pixels / by : pixels, d, n};
        return GC_LAUNCH(m->rt, op->k.mix, 3, global, NULL, GC_MEM(out), GC_MEM(in), GC_MEM(m),
                         GC_MEM(base ? base : in), GC_U32(n), GC_U32(d), GC_U32(pixels),
                         GC_U32(by8), GC_U32(transpose), GC_U32(mode), GC_U32(with != NULL),
                         GC_MEM(with ? with->logdet : out), GC_MEM(with ? with->params : m),
                         GC_U32(op->log_s), GC_F32(with ? with->scale : 0.0));
    }
    const double *w = m->host;
    for (size_t i = 0; i < n; i++)
        for (size_t o = 0; o < d; o++)
            for (size_t p = 0; p < pixels; p++) {
                double sum = 0.0;
                for (size_t c = 0; c < d; c++)
                    sum += (transpose ? w[c * d + o] : w[o * d + c]) *
                           in->host[(i * d + c) * pixels + p];
                double *y = &out->host[(i * d + o) * pixels + p];
                if (mode == MIX_RESIDUAL) sum = base->host[(i * d + o) * pixels + p] - sum;
                *y = mode == MIX_ADD ? *y + sum : sum;
            }
    if (with)
        return gc_logdet_add_param_sum(with->logdet, with->params, op->log_s, d, with->scale, n);
    return GC_OK;
}

static gc_status apply(gc_op *op_base, const gc_tensor *params, const gc_tensor *in, gc_tensor *out,
                       gc_tensor *logdet, size_t n, int direction)
{
    invconv_op *op = (invconv_op *)op_base;
    mix_logdet with = {logdet, params, direction * (double)op->pixels};
    if (direction > 0 && one_group(op, params, n)) {
        size_t size = one_group_size(params->rt, op->k.forward_group);
        return GC_LAUNCH(params->rt, op->k.forward_group, 1, &size, &size, GC_MEM(out), GC_MEM(in),
                         GC_MEM(&op->weight), GC_MEM(params), GC_U32(op->lower), GC_U32(op->upper),
                         GC_U32(op->log_s), GC_U32(op->perm), GC_U32(op->sign), GC_U32(n),
                         GC_U32(op->channels), GC_U32(op->pixels), GC_MEM(logdet),
                         GC_F32(with.scale));
    }
    GC_TRY(build_weight(op, params, 0));
    if (direction > 0) return mix(op, &op->weight, in, out, NULL, n, 0, MIX_SET, &with);
    /* x = W⁻¹z, then one step of iterative refinement, x += W⁻¹(z − W·x): the float W⁻¹ built
     * from the factors is not the exact inverse of the float W the encoder used, and 48 such
     * steps would add their differences up. */
    gc_tensor *residual = NULL;
    GC_TRY(gc_scratch(op->base.rt, &residual_scratch, n, op->channels * op->pixels, &residual));
    GC_TRY(build_weight(op, params, 1));
    GC_TRY(mix(op, &op->inverse, in, out, NULL, n, 0, MIX_SET, &with));
    GC_TRY(mix(op, &op->weight, out, residual, in, n, 0, MIX_RESIDUAL, NULL));
    return mix(op, &op->inverse, residual, out, NULL, n, 0, MIX_ADD, NULL);
}

static gc_status invconv_backward(gc_op *op_base, const gc_tensor *params, gc_tensor *grads,
                                  const gc_tensor *x, const gc_tensor *dz, gc_tensor *dx,
                                  double dlogdet, size_t n)
{
    invconv_op *op = (invconv_op *)op_base;
    size_t d = op->channels, pixels = op->pixels;
    /* W is still the one the last transform built when the model says that transform ran
     * with these parameters (the encoder, or in low-memory mode the decoder). */
    if (!op->base.reuse_activations) GC_TRY(build_weight(op, params, 0));
    /* logdet_i = pixels · Σ log_s for every sample, so ∂L/∂log_s gains n · pixels · dlogdet. */
    double logdet_grad = (double)(n * pixels) * dlogdet;
    if (one_group(op, params, n)) {
        size_t size = one_group_size(params->rt, op->k.backward_group);
        return GC_LAUNCH(params->rt, op->k.backward_group, 1, &size, &size, GC_MEM(dx), GC_MEM(dz),
                         GC_MEM(x), GC_MEM(&op->weight), GC_MEM(&op->d_weight),
                         GC_MEM(&op->pt_d_weight), GC_MEM(grads), GC_MEM(params), GC_U32(op->lower),
                         GC_U32(op->upper), GC_U32(op->log_s), GC_U32(op->perm), GC_U32(op->sign),
                         GC_U32(n), GC_U32(d), GC_U32(pixels), GC_F32(logdet_grad));
    }
    GC_TRY(mix(op, &op->weight, dz, dx, NULL, n, 1, MIX_SET, NULL)); /* dx = Wᵀ·dz */
    if (params->rt->backend == GC_BACKEND_OPENCL) {
        gc_runtime *rt = params->rt;
        size_t square[2] = {d, d};
        GC_TRY(weight_grad(op, dz, x, n));
        GC_TRY(GC_LAUNCH(rt, op->k.pt_dw, 2, square, NULL, GC_MEM(&op->pt_d_weight), GC_MEM(params),
                         GC_MEM(&op->d_weight), GC_U32(op->perm), GC_U32(d)));
        return GC_LAUNCH(rt, op->k.param_grads, 2, square, NULL, GC_MEM(grads), GC_MEM(params),
                         GC_MEM(&op->pt_d_weight), GC_U32(op->lower), GC_U32(op->upper),
                         GC_U32(op->log_s), GC_U32(op->perm), GC_U32(op->sign), GC_U32(d),
                         GC_F32(logdet_grad));
    }
    double *dw = op->d_weight.host;
    for (size_t o = 0; o < d; o++) /* dW = Σ dz·xᵀ over samples and pixels */
        for (size_t c = 0; c < d; c++) {
            double sum = 0.0;
            for (size_t i = 0; i < n; i++)
                for (size_t p = 0; p < pixels; p++)
                    sum += dz->host[(i * d + o) * pixels + p] * x->host[(i * d + c) * pixels + p];
            dw[o * d + c] = sum;
        }
    const double *p = params->host;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double sum = 0.0;
            for (size_t m = 0; m < d; m++) {
                size_t r = i > j ? i : m, c = i > j ? m : j;
                double g = 0.0; /* (Pᵀ·dW)[r][c] */
                for (size_t q = 0; q < d; q++) g += p[op->perm + q * d + r] * dw[q * d + c];
                sum += i > j ? g * upper_diag(op, p, j, m) : lower_unit(op, p, m, i) * g;
            }
            if (i > j)
                grads->host[op->lower + i * d + j] += sum;
            else if (i < j)
                grads->host[op->upper + i * d + j] += sum;
            else
                grads->host[op->log_s + i] += sum * upper_diag(op, p, i, i) + logdet_grad;
        }
    return GC_OK;
}

/* A random rotation (Gram–Schmidt on a Gaussian matrix), factored as Q = P·L·U by Gaussian
 * elimination with partial pivoting. */
static void invconv_init_params(gc_op *op_base, double *params, gc_rng *rng)
{
    invconv_op *op = (invconv_op *)op_base;
    size_t d = op->channels;
    double *q = malloc(d * d * sizeof *q);
    size_t *row_of = malloc(d * sizeof *row_of);
    if (!q || !row_of) { /* init cannot fail: fall back to the identity */
        free(q);
        free(row_of);
        for (size_t i = 0; i < d * d; i++) {
            params[op->perm + i] = i % (d + 1) == 0;
            params[op->lower + i] = params[op->upper + i] = 0.0;
        }
        for (size_t i = 0; i < d; i++) params[op->log_s + i] = 0.0, params[op->sign + i] = 1.0;
        return;
    }
    for (size_t i = 0; i < d * d; i++) q[i] = gc_rng_normal(rng);
    for (size_t c = 0; c < d; c++) { /* orthonormalise the columns */
        for (size_t prev = 0; prev < c; prev++) {
            double dot = 0.0;
            for (size_t r = 0; r < d; r++) dot += q[r * d + c] * q[r * d + prev];
            for (size_t r = 0; r < d; r++) q[r * d + c] -= dot * q[r * d + prev];
        }
        double norm = 0.0;
        for (size_t r = 0; r < d; r++) norm += q[r * d + c] * q[r * d + c];
        norm = sqrt(norm);
        for (size_t r = 0; r < d; r++) q[r * d + c] /= norm;
    }
    /* In-place LU of the row-permuted Q: after this, row k of q holds L (below the diagonal)
     * and U of original row row_of[k]. */
    for (size_t i = 0; i < d; i++) row_of[i] = i;
    for (size_t k = 0; k < d; k++) {
        size_t pivot = k;
        for (size_t r = k + 1; r < d; r++)
            if (fabs(q[r * d + k]) > fabs(q[pivot * d + k])) pivot = r;
        if (pivot != k) {
            for (size_t c = 0; c < d; c++) {
                double t = q[k * d + c];
                q[k * d + c] = q[pivot * d + c];
                q[pivot * d + c] = t;
            }
            size_t t = row_of[k];
            row_of[k] = row_of[pivot];
            row_of[pivot] = t;
        }
        for (size_t r = k + 1; r < d; r++) {
            q[r * d + k] /= q[k * d + k];
            for (size_t c = k + 1; c < d; c++) q[r * d + c] -= q[r * d + k] * q[k * d + c];
        }
    }
    /* Π·Q = L·U with (Π·Q)[k] = Q[row_of[k]], so Q = Πᵀ·L·U: P[row_of[k]][k] = 1. */
    for (size_t r = 0; r < d; r++)
        for (size_t c = 0; c < d; c++) {
            params[op->perm + r * d + c] = 0.0;
            params[op->lower + r * d + c] = c < r ? q[r * d + c] : 0.0;
            params[op->upper + r * d + c] = c > r ? q[r * d + c] : 0.0;
        }
    for (size_t k = 0; k < d; k++) {
        params[op->perm + row_of[k] * d + k] = 1.0;
        double diag = q[k * d + k];
        params[op->sign + k] = diag < 0.0 ? -1.0 : 1.0;
        params[op->log_s + k] = log(fabs(diag));
    }
    free(q);
    free(row_of);
}

static void invconv_destroy(gc_op *op_base)
{
    invconv_op *op = (invconv_op *)op_base;
    gc_tensor_release(&op->weight);
    gc_tensor_release(&op->inverse);
    gc_tensor_release(&op->d_weight);
    gc_tensor_release(&op->pt_d_weight);
    free(op);
}

static const gc_op_vtable invconv_vtable = {
    "invconv", apply, invconv_backward, NULL, invconv_init_params, invconv_destroy};

int gc_invconv_offsets(const gc_op *op_base, size_t offsets[5])
{
    const invconv_op *op = (const invconv_op *)op_base;
    if (op_base->vt != &invconv_vtable || op->pixels != 1) return 0;
    size_t found[5] = {op->lower, op->upper, op->log_s, op->perm, op->sign};
    memcpy(offsets, found, sizeof found);
    return 1;
}

static gc_status find_kernels(gc_runtime *rt, invconv_op *op)
{
    GC_TRY(gc_kernel_find(rt, "invconv_weight", &op->k.weight));
    GC_TRY(gc_kernel_find(rt, "invconv_inverse", &op->k.inverse));
    GC_TRY(gc_kernel_find(rt, "invconv_mix", &op->k.mix));
    GC_TRY(gc_kernel_find(rt, "invconv_forward_group", &op->k.forward_group));
    GC_TRY(gc_kernel_find(rt, "invconv_backward_group", &op->k.backward_group));
    GC_TRY(gc_kernel_find(rt, "invconv_weight_grad", &op->k.weight_grad));
    GC_TRY(gc_kernel_find(rt, "invconv_pt_dw", &op->k.pt_dw));
    GC_TRY(gc_conv_kernels_find(rt, &op->conv));
    return gc_kernel_find(rt, "invconv_param_grads", &op->k.param_grads);
}

gc_status gc_invconv_create(gc_op **out, gc_runtime *rt, gc_param_registry *reg, const char *name,
                            size_t channels, size_t pixels)
{
    size_t dim = channels;
    invconv_op *op = calloc(1, sizeof *op);
    if (!op) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    op->base.vt = &invconv_vtable;
    op->base.rt = rt;
    op->base.dim = channels * pixels;
    op->channels = channels;
    op->pixels = pixels;
    snprintf(op->base.name, sizeof op->base.name, "%s", name);
    gc_status status = gc_param_reserve(reg, name, "lower", dim * dim, &op->lower);
    if (status == GC_OK) status = gc_param_reserve(reg, name, "upper", dim * dim, &op->upper);
    if (status == GC_OK) status = gc_param_reserve(reg, name, "log_s", dim, &op->log_s);
    if (status == GC_OK) status = gc_param_reserve_fixed(reg, name, "perm", dim * dim, &op->perm);
    if (status == GC_OK) status = gc_param_reserve_fixed(reg, name, "sign", dim, &op->sign);
    if (status == GC_OK) status = gc_tensor_init2(&op->weight, rt, dim, dim);
    if (status == GC_OK) status = gc_tensor_init2(&op->inverse, rt, dim, dim);
    if (status == GC_OK) status = gc_tensor_init2(&op->d_weight, rt, dim, dim);
    if (status == GC_OK) status = gc_tensor_init2(&op->pt_d_weight, rt, dim, dim);
    if (status == GC_OK) status = find_kernels(rt, op);
    if (status != GC_OK) {
        invconv_destroy(&op->base);
        return status;
    }
    *out = &op->base;
    return GC_OK;
}
