/* The flow checks (each flow operation's `check(x)`): for every op and for whole models, the
 * inverse, the log-determinant against log|det J| of a finite-difference Jacobian, the
 * gradients against finite differences (all on the reference path, in double), and the OpenCL
 * device against the reference on the same random parameters and inputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glowcl/check.h"
#include "glowcl/flow.h"
#include "model/ops/op.h"

enum { BATCH = 7 };
static const double FD_STEP = 1e-6; /* central differences for gradients */
/* Rebuilding inputs by inversion in double changes a gradient only by rounding. */
static const double GC_TOL_LOW_MEMORY_REFERENCE = 1e-9;
/* Central differences for Jacobians, at three step sizes: a ReLU kink closer to a point than
 * the step spoils that estimate (a 10-layer model has ~10^4 units per batch, so it happens),
 * but not the smaller steps'; each sample is judged by its best-agreeing estimate. */
static const double JACOBIAN_STEPS[3] = {1e-5, 1e-6, 1e-7};

/* log|det A| of a d×d matrix by Gaussian elimination with partial pivoting (A is destroyed). */
static double log_abs_det(double *a, size_t d)
{
    double sum = 0.0;
    for (size_t k = 0; k < d; k++) {
        size_t pivot = k;
        for (size_t r = k + 1; r < d; r++)
            if (fabs(a[r * d + k]) > fabs(a[pivot * d + k])) pivot = r;
        if (a[pivot * d + k] == 0.0) return -INFINITY;
        if (pivot != k)
            for (size_t c = 0; c < d; c++) {
                double t = a[k * d + c];
                a[k * d + c] = a[pivot * d + c];
                a[pivot * d + c] = t;
            }
        sum += log(fabs(a[k * d + k]));
        for (size_t r = k + 1; r < d; r++) {
            double f = a[r * d + k] / a[k * d + k];
            for (size_t c = k; c < d; c++) a[r * d + c] -= f * a[k * d + c];
        }
    }
    return sum;
}

/* max |a − b| / max(1, |b|): absolute for log-dets of order one, relative for large ones,
 * which float32 cannot hold to 1e-4 in absolute terms (a learned split prior's reach 1e4). */
static double max_scaled_diff(const double *a, const double *b, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(a[i] - b[i]) / fmax(1.0, fabs(b[i]));
        if (!(e <= worst)) worst = e;
    }
    return worst;
}

static double max_abs_diff(const double *a, const double *b, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(a[i] - b[i]);
        if (!(e <= worst)) worst = e; /* NaN propagates */
    }
    return worst;
}

/* ---- single ops ---- */

typedef enum {
    CASE_AFFINE,
    CASE_ACTNORM,
    CASE_COUPLING,
    CASE_INVCONV,
    CASE_SQUEEZE,
    CASE_SPLIT,
    CASE_CONV_COUPLING,
    CASE_ADDITIVE_COUPLING
} op_kind;

/* An op on samples of `channels` × `height` × `width` values (vectors: height = width = 1). */
typedef struct op_case {
    const char *name;
    op_kind kind;
    size_t channels, height, width;
    int parity;
    size_t dim;     /* filled in: channels · height · width */
    size_t out_dim; /* filled in: what the op makes of it */
    size_t hidden;  /* vector couplings: network width and depth (0: 8 wide, 2 deep) */
    int depth;
} op_case;

/* One op on one runtime, with its parameters and gradients. */
typedef struct op_instance {
    gc_runtime *rt;
    gc_param_registry reg;
    gc_op *op;
    gc_tensor params, grads, x, z, dz, dx, logdet;
} op_instance;

static gc_status instance_init(op_instance *in, gc_runtime *rt, const op_case *c)
{
    memset(in, 0, sizeof *in);
    in->rt = rt;
    gc_status status = GC_OK;
    switch (c->kind) {
    case CASE_AFFINE:
    case CASE_ACTNORM:
        status = gc_affine_create(&in->op, rt, &in->reg, "op", c->channels, c->height * c->width,
                                  c->kind == CASE_ACTNORM ? GC_AFFINE_ACTNORM : GC_AFFINE_PLAIN);
        break;
    case CASE_SQUEEZE:
        status = gc_squeeze_create(&in->op, rt, "op", c->channels, c->height, c->width);
        break;
    case CASE_CONV_COUPLING:
    case CASE_ADDITIVE_COUPLING:
        status = gc_conv_coupling_create(&in->op, rt, &in->reg, "op", c->channels, c->height,
                                         c->width, 6, c->kind == CASE_ADDITIVE_COUPLING);
        break;
    case CASE_SPLIT:
        status = gc_split_create(&in->op, rt, &in->reg, "op", c->channels, c->height, c->width,
                                 c->parity);
        break;
    case CASE_COUPLING: {
        gc_coupling_config config = {c->hidden ? c->hidden : 8, c->depth ? c->depth : 2, c->parity};
        status = gc_coupling_create(&in->op, rt, &in->reg, "op", c->dim, config);
        break;
    }
    case CASE_INVCONV:
        status = gc_invconv_create(&in->op, rt, &in->reg, "op", c->channels, c->height * c->width);
        break;
    }
    GC_TRY(status);
    size_t total = in->reg.total ? in->reg.total : 1; /* squeeze has no parameters */
    GC_TRY(gc_tensor_init1(&in->params, rt, total));
    GC_TRY(gc_tensor_init1(&in->grads, rt, total));
    size_t out_dim = gc_op_out_dim(in->op);
    GC_TRY(gc_tensor_init2(&in->x, rt, BATCH, c->dim));
    GC_TRY(gc_tensor_init2(&in->dx, rt, BATCH, c->dim));
    GC_TRY(gc_tensor_init2(&in->z, rt, BATCH, out_dim));
    GC_TRY(gc_tensor_init2(&in->dz, rt, BATCH, out_dim));
    return gc_tensor_init1(&in->logdet, rt, BATCH);
}

static void instance_release(op_instance *in)
{
    if (in->op) in->op->vt->destroy(in->op);
    gc_tensor *t[] = {&in->params, &in->grads, &in->x, &in->z, &in->dz, &in->dx, &in->logdet};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) gc_tensor_release(t[i]);
    gc_param_registry_free(&in->reg);
}

/* z = f(x) and logdet for host x, on the instance's backend. */
static gc_status run_encode(op_instance *in, const double *x, double *z, double *logdet)
{
    GC_TRY(gc_tensor_upload(&in->x, x));
    GC_TRY(gc_tensor_fill(&in->logdet, 0.0));
    GC_TRY(in->op->vt->transform(in->op, &in->params, &in->x, &in->z, &in->logdet, BATCH, +1));
    GC_TRY(gc_tensor_download(&in->z, z));
    return logdet ? gc_tensor_download(&in->logdet, logdet) : GC_OK;
}

static gc_status run_decode(op_instance *in, const double *z, double *x, double *logdet)
{
    GC_TRY(gc_tensor_upload(&in->z, z));
    GC_TRY(gc_tensor_fill(&in->logdet, 0.0));
    GC_TRY(in->op->vt->transform(in->op, &in->params, &in->z, &in->x, &in->logdet, BATCH, -1));
    GC_TRY(gc_tensor_download(&in->x, x));
    return logdet ? gc_tensor_download(&in->logdet, logdet) : GC_OK;
}

/* For L = Σ w ⊙ z + c · Σ logdet: dx and the parameter gradients by backpropagation. */
static gc_status run_backward(op_instance *in, const double *x, const double *w, double c,
                              double *dx, double *grads)
{
    GC_TRY(gc_tensor_upload(&in->x, x));
    GC_TRY(gc_tensor_upload(&in->dz, w));
    GC_TRY(gc_tensor_fill(&in->grads, 0.0));
    GC_TRY(
        in->op->vt->backward(in->op, &in->params, &in->grads, &in->x, &in->dz, &in->dx, c, BATCH));
    GC_TRY(gc_tensor_download(&in->dx, dx));
    return gc_tensor_download(&in->grads, grads);
}

static gc_status projected_loss(op_instance *in, const double *x, const double *w, double c,
                                double *z, double *logdet, double *loss)
{
    GC_TRY(run_encode(in, x, z, logdet));
    size_t d = gc_op_out_dim(in->op);
    double sum = 0.0;
    for (size_t i = 0; i < BATCH * d; i++) sum += w[i] * z[i];
    for (size_t i = 0; i < BATCH; i++) sum += c * logdet[i];
    *loss = sum;
    return GC_OK;
}

/* Random parameters around the op's own initialisation, so that no gradient is trivially zero
 * (a new coupling's output layer is all zeros); fixed parameters stay as initialised. */
static void random_params(const gc_param_registry *reg, gc_op *op, gc_rng *rng, double *p)
{
    op->vt->init_params(op, p, rng);
    for (size_t b = 0; b < reg->count; b++) {
        const gc_param_block *block = &reg->blocks[b];
        if (block->fixed) continue;
        /* A log-gain g acts as exp(3·g) on a convolution's output: noise of 0.3 there put the
         * split prior's log σ beyond ±44 in the tail of a draw, where exp(−2 log σ) overflows
         * a float (the device reported an infinite log-det that the double reference did not),
         * so it gets a third, the same spread of the gain factor as of other parameters. */
        size_t length = strlen(block->name), suffix = strlen("log_gain");
        int gain = length >= suffix && strcmp(block->name + length - suffix, "log_gain") == 0;
        for (size_t i = 0; i < block->count; i++)
            p[block->offset + i] += (gain ? 0.1 : 0.3) * gc_rng_normal(rng);
    }
}

typedef struct op_results {
    double *z, *logdet, *x_back, *dx, *grads;
} op_results;

static gc_status add_row(gc_check_report *r, const char *op, const char *what, const char *measure,
                         double error, double tolerance)
{
    char name[128]; /* gc_check_add truncates to the row's width */
    snprintf(name, sizeof name, "%s: %s", op, what);
    return gc_check_add(r, name, measure, error, tolerance);
}

/* The relative errors of the input gradient dx and the parameter gradient `grads`, both
 * backpropagated at x, against central differences of L = Σ w ⊙ z + coef Σ logdet. */
static gc_status gradient_errors(op_instance *ref, const double *x, const double *w, double coef,
                                 const double *dx, const double *grads, double *input_error,
                                 double *param_error)
{
    size_t n = BATCH * ref->op->dim, np = ref->reg.total;
    double *xp = malloc(n * sizeof *xp);
    double *zp = malloc(BATCH * gc_op_out_dim(ref->op) * sizeof *zp);
    double *ld = malloc(BATCH * sizeof *ld), *gx = malloc(n * sizeof *gx);
    double *gp = malloc((np ? np : 1) * sizeof *gp), *pp = malloc((np ? np : 1) * sizeof *pp);
    gc_status status =
        xp && zp && ld && gx && gp && pp ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    double plus = 0.0, minus = 0.0;
    for (size_t j = 0; status == GC_OK && j < n; j++) {
        memcpy(xp, x, n * sizeof *xp);
        xp[j] += FD_STEP;
        status = projected_loss(ref, xp, w, coef, zp, ld, &plus);
        xp[j] -= 2.0 * FD_STEP;
        if (status == GC_OK) status = projected_loss(ref, xp, w, coef, zp, ld, &minus);
        gx[j] = (plus - minus) / (2.0 * FD_STEP);
    }
    if (status == GC_OK) *input_error = gc_relative_error(dx, gx, n);
    if (status == GC_OK) status = gc_tensor_download(&ref->params, pp);
    for (size_t j = 0; status == GC_OK && j < np; j++) {
        double keep = pp[j];
        pp[j] = keep + FD_STEP;
        status = gc_tensor_upload(&ref->params, pp);
        if (status == GC_OK) status = projected_loss(ref, x, w, coef, zp, ld, &plus);
        pp[j] = keep - FD_STEP;
        if (status == GC_OK) status = gc_tensor_upload(&ref->params, pp);
        if (status == GC_OK) status = projected_loss(ref, x, w, coef, zp, ld, &minus);
        pp[j] = keep;
        gp[j] = (plus - minus) / (2.0 * FD_STEP);
    }
    /* Fixed parameters get no gradient by design; compare the trained ones. */
    for (size_t b = 0; status == GC_OK && b < ref->reg.count; b++)
        if (ref->reg.blocks[b].fixed)
            for (size_t j = 0; j < ref->reg.blocks[b].count; j++)
                gp[ref->reg.blocks[b].offset + j] = grads[ref->reg.blocks[b].offset + j];
    if (status == GC_OK) status = gc_tensor_upload(&ref->params, pp);
    if (status == GC_OK) *param_error = np ? gc_relative_error(grads, gp, np) : 0.0;
    free(xp);
    free(zp);
    free(ld);
    free(gx);
    free(gp);
    free(pp);
    return status;
}

/* A split is not a bijection of its input: its "log-det" is the factored half's prior
 * log-density, checked directly (for the standard N(0, I) split) instead of by a Jacobian. */
static gc_status check_split_prior_term(const op_case *c, const double *x, const double *logdet,
                                        gc_check_report *report)
{
    size_t d = c->dim;
    double worst = 0.0;
    for (size_t i = 0; i < BATCH; i++) {
        double sum = 0.0;
        for (size_t j = c->out_dim; j < d; j++) sum += x[i * d + j] * x[i * d + j];
        double expected = -0.5 * sum - 0.5 * (double)(d - c->out_dim) * 1.8378770664093453;
        worst = fmax(worst, fabs(expected - logdet[i]));
    }
    return add_row(report, c->name, "prior term vs direct", "max abs err", worst, 1e-12);
}

/* The log-dets against log|det J| with J of each sample by central differences (the op acts on
 * samples one by one), the best of three steps per sample. */
static gc_status check_op_logdet(op_instance *ref, const op_case *c, const double *x,
                                 const double *logdet, gc_check_report *report)
{
    size_t d = c->dim, n = BATCH * d;
    double *xp = malloc(n * sizeof *xp), *zp = malloc(n * sizeof *zp);
    double *zm = malloc(n * sizeof *zm), *jac = malloc(BATCH * d * d * sizeof *jac);
    double best[BATCH];
    for (size_t i = 0; i < BATCH; i++) best[i] = INFINITY;
    gc_status status =
        xp && zp && zm && jac ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    for (size_t h = 0; status == GC_OK && h < 3; h++) {
        double step = JACOBIAN_STEPS[h];
        for (size_t k = 0; status == GC_OK && k < d; k++) {
            memcpy(xp, x, n * sizeof *xp);
            for (size_t i = 0; i < BATCH; i++) xp[i * d + k] += step;
            status = run_encode(ref, xp, zp, NULL);
            for (size_t i = 0; i < BATCH; i++) xp[i * d + k] -= 2.0 * step;
            if (status == GC_OK) status = run_encode(ref, xp, zm, NULL);
            for (size_t i = 0; status == GC_OK && i < BATCH; i++)
                for (size_t r = 0; r < d; r++)
                    jac[(i * d + r) * d + k] = (zp[i * d + r] - zm[i * d + r]) / (2.0 * step);
        }
        for (size_t i = 0; status == GC_OK && i < BATCH; i++)
            best[i] = fmin(best[i], fabs(logdet[i] - log_abs_det(jac + i * d * d, d)));
    }
    if (status == GC_OK) {
        double worst = 0.0;
        for (size_t i = 0; i < BATCH; i++)
            worst = best[i] > worst || isnan(best[i]) ? best[i] : worst;
        status =
            add_row(report, c->name, "log-det vs FD Jacobian", "max abs err", worst, GC_TOL_LOGDET);
    }
    free(xp);
    free(zp);
    free(zm);
    free(jac);
    return status;
}

/* Gradients of L = Σ w ⊙ z + coef Σ logdet (into out->dx and out->grads) against central
 * differences. A ReLU unit whose input lies within the difference step of 0 for one of the
 * batch's samples spoils that batch's estimates (about once in a few hundred draws for the 45x3
 * networks); a wrong derivative is wrong on any batch, so a batch that misses gets a second
 * one. */
static gc_status check_op_gradients(op_instance *ref, const op_case *c, const double *x,
                                    const double *w, double coef, op_results *out, gc_rng *rng,
                                    gc_check_report *report)
{
    size_t n = BATCH * c->dim, np = ref->reg.total;
    double input_error = 0.0, param_error = 0.0;
    GC_TRY(run_backward(ref, x, w, coef, out->dx, out->grads));
    GC_TRY(gradient_errors(ref, x, w, coef, out->dx, out->grads, &input_error, &param_error));
    gc_status status = GC_OK;
    if (input_error > GC_TOL_GRADIENT || param_error > GC_TOL_GRADIENT) {
        double *x2 = malloc(n * sizeof *x2), *dx2 = malloc(n * sizeof *dx2);
        double *grads2 = malloc((np ? np : 1) * sizeof *grads2), input2 = 0.0, param2 = 0.0;
        status = x2 && dx2 && grads2 ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
        for (size_t j = 0; status == GC_OK && j < n; j++) x2[j] = gc_rng_normal(rng);
        if (status == GC_OK) status = run_backward(ref, x2, w, coef, dx2, grads2);
        if (status == GC_OK)
            status = gradient_errors(ref, x2, w, coef, dx2, grads2, &input2, &param2);
        input_error = fmin(input_error, input2);
        param_error = fmin(param_error, param2);
        free(x2);
        free(dx2);
        free(grads2);
    }
    if (status == GC_OK)
        status = add_row(report, c->name, "input gradient vs FD", "rel err", input_error,
                         GC_TOL_GRADIENT);
    if (status == GC_OK && np)
        status = add_row(report, c->name, "param gradient vs FD", "rel err", param_error,
                         GC_TOL_GRADIENT);
    return status;
}

/* The reference op on x: its inverse, its log-det (or a split's prior term) and its gradients;
 * out receives z, log-dets, the inverse and the gradients for the device comparison. */
static gc_status check_op_reference(op_instance *ref, const op_case *c, const double *x,
                                    const double *w, double coef, op_results *out, gc_rng *rng,
                                    gc_check_report *report)
{
    size_t n = BATCH * c->dim;
    GC_TRY(run_encode(ref, x, out->z, out->logdet));
    GC_TRY(run_decode(ref, out->z, out->x_back, NULL));
    GC_TRY(add_row(report, c->name, "reference inverse", "max |x' - x|",
                   max_abs_diff(out->x_back, x, n), 1e-12));
    if (c->out_dim != c->dim && c->parity == 0) /* standard N(0, I) split */
        GC_TRY(check_split_prior_term(c, x, out->logdet, report));
    if (c->out_dim == c->dim) GC_TRY(check_op_logdet(ref, c, x, out->logdet, report));
    return check_op_gradients(ref, c, x, w, coef, out, rng, report);
}

static gc_status check_op_device(op_instance *dev, const op_case *c, const double *x,
                                 const double *w, double coef, const op_results *ref,
                                 gc_check_report *report)
{
    size_t d = c->dim, n = BATCH * d, np = dev->reg.total, n_out = BATCH * c->out_dim;
    op_results got = {0};
    got.z = malloc(n_out * sizeof(double));
    got.logdet = malloc(BATCH * sizeof(double));
    got.x_back = malloc(n * sizeof(double));
    got.dx = malloc(n * sizeof(double));
    got.grads = malloc((np ? np : 1) * sizeof(double));
    gc_status status = got.z && got.logdet && got.x_back && got.dx && got.grads
                           ? GC_OK
                           : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    if (status == GC_OK) status = run_encode(dev, x, got.z, got.logdet);
    if (status == GC_OK)
        status = add_row(report, c->name, "device z", "rel err vs reference",
                         gc_relative_error(got.z, ref->z, n_out), GC_TOL_DEVICE);
    if (status == GC_OK)
        status = add_row(report, c->name, "device log-det", "max err/max(1,|ref|)",
                         max_scaled_diff(got.logdet, ref->logdet, BATCH), GC_TOL_LOGDET);
    if (status == GC_OK) status = run_decode(dev, got.z, got.x_back, NULL);
    if (status == GC_OK)
        status = add_row(report, c->name, "device inverse", "max |x' - x|",
                         max_abs_diff(got.x_back, x, n), GC_TOL_INVERSE_OP);
    if (status == GC_OK) status = run_backward(dev, x, w, coef, got.dx, got.grads);
    if (status == GC_OK)
        status = add_row(report, c->name, "device input gradient", "rel err vs reference",
                         gc_relative_error(got.dx, ref->dx, n), GC_TOL_DEVICE);
    if (status == GC_OK && np)
        status = add_row(report, c->name, "device param gradient", "rel err vs reference",
                         gc_relative_error(got.grads, ref->grads, np), GC_TOL_DEVICE);
    free(got.z);
    free(got.logdet);
    free(got.x_back);
    free(got.dx);
    free(got.grads);
    return status;
}

/* ActNorm's data-dependent initialisation: the output of the batch it was initialised on has
 * zero mean and unit variance per channel (over samples and pixels), on both backends. */
/* Mean and population variance of channel k of n samples of `channels` × `pixels` values. */
static void channel_moments(const double *v, size_t n, size_t channels, size_t pixels, size_t k,
                            double *mean, double *var)
{
    double count = (double)(n * pixels), sum = 0.0, squares = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t p = 0; p < pixels; p++) sum += v[(i * channels + k) * pixels + p] / count;
    for (size_t i = 0; i < n; i++)
        for (size_t p = 0; p < pixels; p++) {
            double d = v[(i * channels + k) * pixels + p] - sum;
            squares += d * d / count;
        }
    *mean = sum;
    *var = squares;
}

/* ActNorm's first batch x through the op initialised on it: zero mean per channel, and the
 * variance σ²/(σ + ε)² that s = −log(σ + ε) with ε = 1e-6 gives for the channel's σ in x
 * (short of 1 by about 2ε/σ: 1e-5 for a channel of σ = 0.2 in a small batch). */
static gc_status check_actnorm_init(op_instance *in, const op_case *c, const double *x,
                                    const char *which, gc_check_report *report)
{
    size_t pixels = c->height * c->width;
    double *z = malloc(BATCH * c->dim * sizeof *z);
    if (!z) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_status status = gc_tensor_upload(&in->x, x);
    if (status == GC_OK) status = in->op->vt->data_init(in->op, &in->params, &in->x, BATCH);
    if (status == GC_OK) status = run_encode(in, x, z, NULL);
    double worst = 0.0;
    for (size_t k = 0; status == GC_OK && k < c->channels; k++) {
        double x_mean, x_var, z_mean, z_var;
        channel_moments(x, BATCH, c->channels, pixels, k, &x_mean, &x_var);
        channel_moments(z, BATCH, c->channels, pixels, k, &z_mean, &z_var);
        double sigma = sqrt(x_var), expected = sigma * sigma / ((sigma + 1e-6) * (sigma + 1e-6));
        worst = fmax(worst, fmax(fabs(z_mean), fabs(z_var - expected)));
    }
    free(z);
    GC_TRY(status);
    char what[48];
    snprintf(what, sizeof what, "%s data init", which);
    return add_row(report, c->name, what, "max |mean|, |var-expected|", worst,
                   strcmp(which, "reference") == 0 ? 1e-10 : 1e-4);
}

static gc_status check_op_case(gc_runtime *ref_rt, gc_runtime *dev_rt, const op_case *given,
                               gc_rng *rng, gc_check_report *report)
{
    op_case shaped = *given;
    shaped.dim = shaped.channels * shaped.height * shaped.width;
    const op_case *c = &shaped;
    op_instance ref, dev;
    int have_dev = 0;
    size_t d = c->dim, n = BATCH * d;
    gc_status status = instance_init(&ref, ref_rt, c);
    if (status == GC_OK) shaped.out_dim = gc_op_out_dim(ref.op);
    if (status == GC_OK && dev_rt) {
        status = instance_init(&dev, dev_rt, c);
        have_dev = 1;
    }
    size_t np = ref.reg.total;
    double *params = calloc(np ? np : 1, sizeof *params), *x = malloc(n * sizeof *x);
    double *w = malloc(n * sizeof *w);
    op_results out = {malloc(n * sizeof(double)), malloc(BATCH * sizeof(double)),
                      malloc(n * sizeof(double)), malloc(n * sizeof(double)),
                      malloc((np ? np : 1) * sizeof(double))};
    if (status == GC_OK &&
        !(params && x && w && out.z && out.logdet && out.x_back && out.dx && out.grads))
        status = GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    if (status == GC_OK) {
        for (size_t i = 0; i < n; i++) x[i] = gc_rng_normal(rng);
        for (size_t i = 0; i < n; i++) w[i] = gc_rng_normal(rng);
        random_params(&ref.reg, ref.op, rng, params);
        status = gc_tensor_upload(&ref.params, params);
        if (status == GC_OK && have_dev) status = gc_tensor_upload(&dev.params, params);
    }
    double coef = 0.7;
    if (status == GC_OK && c->kind == CASE_ACTNORM) {
        status = check_actnorm_init(&ref, c, x, "reference", report);
        if (status == GC_OK && have_dev) status = check_actnorm_init(&dev, c, x, "device", report);
        /* Both continue from the reference's initialisation, perturbed. */
        if (status == GC_OK) status = gc_tensor_download(&ref.params, params);
        for (size_t i = 0; status == GC_OK && i < np; i++) params[i] += 0.1 * gc_rng_normal(rng);
        if (status == GC_OK) status = gc_tensor_upload(&ref.params, params);
        if (status == GC_OK && have_dev) status = gc_tensor_upload(&dev.params, params);
    }
    if (status == GC_OK) status = check_op_reference(&ref, c, x, w, coef, &out, rng, report);
    if (status == GC_OK && have_dev) status = check_op_device(&dev, c, x, w, coef, &out, report);
    instance_release(&ref);
    if (have_dev) instance_release(&dev);
    free(params);
    free(x);
    free(w);
    free(out.z);
    free(out.logdet);
    free(out.x_back);
    free(out.dx);
    free(out.grads);
    return status;
}

/* ---- whole models ---- */

enum { MODEL_BATCH = 16, MODEL_FD_PARAMS = 150 };

static gc_status model_loss(gc_model *m, const double *x, size_t n, double *loss)
{
    double *logp = malloc(n * sizeof *logp);
    if (!logp) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_status status = gc_model_log_prob(m, x, n, logp);
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum -= logp[i];
    *loss = sum / (double)n;
    free(logp);
    return status;
}

/* Initialises ref's ActNorm on x, adds noise of standard deviation `perturbation` to every
 * trained parameter (so that no coupling is the identity any more) into p, and gives dev (if
 * any, initialised too so that training would not re-initialise it) exactly the same
 * parameters. */
static gc_status share_parameters(gc_model *ref, gc_model *dev, const double *x, size_t n,
                                  double perturbation, double *p, size_t np, gc_rng *rng)
{
    GC_TRY(gc_model_data_init(ref, x, n));
    GC_TRY(gc_model_get_params(ref, p));
    for (size_t j = 0; j < np; j++) {
        int trained = 0;
        gc_model_param_name(ref, j, &trained);
        if (trained) p[j] += perturbation * gc_rng_normal(rng);
    }
    GC_TRY(gc_model_set_params(ref, p));
    if (!dev) return GC_OK;
    GC_TRY(gc_model_data_init(dev, x, n));
    return gc_model_set_params(dev, p);
}

/* The mean NLL's gradient (into g) against central differences on `count` random trained
 * parameters; p holds the model's parameters and is restored. */
static gc_status sampled_gradient_error(gc_model *m, double *p, size_t np, double *g,
                                        const double *x, size_t n, size_t count, gc_rng *rng,
                                        double *error)
{
    double loss = 0.0, plus = 0.0, minus = 0.0;
    double *analytic = malloc(count * sizeof *analytic), *numeric = malloc(count * sizeof *numeric);
    gc_status status = analytic && numeric ? gc_model_gradient(m, x, n, &loss, g)
                                           : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    for (size_t sampled = 0; status == GC_OK && sampled < count;) {
        size_t j = gc_rng_below(rng, (uint32_t)np);
        int trained = 0;
        gc_model_param_name(m, j, &trained);
        if (!trained) continue;
        double keep = p[j];
        p[j] = keep + FD_STEP;
        status = gc_model_set_params(m, p);
        if (status == GC_OK) status = model_loss(m, x, n, &plus);
        p[j] = keep - FD_STEP;
        if (status == GC_OK) status = gc_model_set_params(m, p);
        if (status == GC_OK) status = model_loss(m, x, n, &minus);
        p[j] = keep;
        analytic[sampled] = g[j];
        numeric[sampled++] = (plus - minus) / (2 * FD_STEP);
    }
    if (status == GC_OK) status = gc_model_set_params(m, p);
    if (status == GC_OK) *error = gc_relative_error(analytic, numeric, count);
    free(analytic);
    free(numeric);
    return status;
}

/* On the batch x: the worst per-sample |log-det − log|det J_FD|| and the relative error of
 * the loss gradient against central differences on 150 random trained parameters. */
static gc_status model_fd_errors(gc_model *ref, double *p, size_t np, double *g, const double *x,
                                 gc_rng *rng, double *logdet_error, double *gradient_error)
{
    double zp[MODEL_BATCH * 2], zm[MODEL_BATCH * 2], logdet[MODEL_BATCH];
    gc_status status = gc_model_encode(ref, x, MODEL_BATCH, zp, logdet);
    double worst = 0.0;
    for (size_t i = 0; status == GC_OK && i < MODEL_BATCH; i++) {
        double jac[4], xp[MODEL_BATCH * 2], best = INFINITY;
        for (size_t h = 0; h < 3 && status == GC_OK; h++) {
            double step = JACOBIAN_STEPS[h];
            for (size_t k = 0; k < 2 && status == GC_OK; k++) {
                memcpy(xp, x, sizeof xp);
                xp[i * 2 + k] += step;
                status = gc_model_encode(ref, xp, MODEL_BATCH, zp, NULL);
                xp[i * 2 + k] -= 2 * step;
                if (status == GC_OK) status = gc_model_encode(ref, xp, MODEL_BATCH, zm, NULL);
                for (size_t r = 0; r < 2; r++)
                    jac[r * 2 + k] = (zp[i * 2 + r] - zm[i * 2 + r]) / (2 * step);
            }
            best = fmin(best, fabs(logdet[i] - log_abs_det(jac, 2)));
        }
        worst = best > worst || isnan(best) ? best : worst;
    }
    *logdet_error = worst;

    if (status == GC_OK)
        status = sampled_gradient_error(ref, p, np, g, x, MODEL_BATCH, MODEL_FD_PARAMS, rng,
                                        gradient_error);
    return status;
}

/* The gradient of m in the low-memory mode (every op's input rebuilt from its output by the
 * op's inverse) against g, the same model's gradient with stored inputs. */
static gc_status check_low_memory(gc_check_report *report, const char *name, const char *row,
                                  gc_model *m, const double *x, size_t n, const double *g,
                                  size_t np, double tolerance)
{
    double *low = malloc(np * sizeof *low), loss = 0.0;
    if (!low) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_model_set_memory(m, GC_MEMORY_LOW);
    gc_status status = gc_model_gradient(m, x, n, &loss, low);
    gc_model_set_memory(m, GC_MEMORY_STORE);
    if (status == GC_OK)
        status = add_row(report, name, row, "rel err vs stored inputs",
                         gc_relative_error(low, g, np), tolerance);
    free(low);
    return status;
}

/* Fills a batch of n × dim inputs of the kind a check draws. */
typedef void draw_batch_fn(gc_rng *rng, double *x, size_t n, size_t dim);

static void draw_points(gc_rng *rng, double *x, size_t n, size_t dim)
{
    for (size_t i = 0; i < n * dim; i++) x[i] = gc_rng_normal(rng) * (1.0 + (double)(i % 2));
}

static void draw_images(gc_rng *rng, double *x, size_t n, size_t dim)
{
    for (size_t i = 0; i < n * dim; i++) x[i] = gc_rng_uniform(rng);
}

/* The device's parameter gradient against the reference's on a fresh batch. A ReLU unit whose
 * input lies within float32's rounding of 0 at one (sample, unit) pair has its sign decided
 * differently by the device and by the double-precision reference, and the two gradients then
 * rightly differ by that unit's whole contribution (seen: an input of 2.2e-7 gave 7e-4, seed
 * 1345628613). A wrong gradient is wrong on any batch, so a failed comparison is measured
 * again on a second batch, which must pass on its own. */
static gc_status gradient_error_on_fresh_batch(gc_model *ref, gc_model *dev, size_t n, size_t dim,
                                               draw_batch_fn *draw, gc_rng *rng, double *error)
{
    size_t np = gc_model_param_count(ref);
    double *x = malloc(n * dim * sizeof *x), *g = malloc(np * sizeof *g);
    double *gd = malloc(np * sizeof *gd), loss = 0.0;
    gc_status status = x && g && gd ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    if (status == GC_OK) draw(rng, x, n, dim);
    if (status == GC_OK) status = gc_model_gradient(ref, x, n, &loss, g);
    if (status == GC_OK) status = gc_model_gradient(dev, x, n, &loss, gd);
    if (status == GC_OK) *error = gc_relative_error(gd, g, np);
    free(x);
    free(g);
    free(gd);
    return status;
}

/* The device's gradient row: gd against the reference's g on the check's batch, or, where that
 * fails, the better of it and a second batch (see gradient_error_on_fresh_batch). */
static gc_status add_device_gradient_row(gc_check_report *report, const char *name, gc_model *ref,
                                         gc_model *dev, size_t n, size_t dim, draw_batch_fn *draw,
                                         gc_rng *rng, const double *gd, const double *g,
                                         double tolerance)
{
    double error = gc_relative_error(gd, g, gc_model_param_count(ref));
    if (error <= tolerance)
        return add_row(report, name, "device param gradient", "rel err vs reference", error,
                       tolerance);
    double second = INFINITY;
    GC_TRY(gradient_error_on_fresh_batch(ref, dev, n, dim, draw, rng, &second));
    return add_row(report, name, "device param gradient", "rel err vs ref (best of 2)",
                   fmin(error, second), tolerance);
}

/* The device model against the reference model `ref` on x (n × dim), given ref's results:
 * z, log-dets (if given), the loss and its gradient g; and the device's inverse. */
static gc_status compare_device_model(gc_check_report *report, const char *name, gc_model *ref,
                                      gc_model *dev, const double *x, size_t n, size_t dim,
                                      draw_batch_fn *draw, gc_rng *rng, const double *z,
                                      const double *logdet, double loss, const double *g,
                                      double gradient_tolerance)
{
    size_t np = gc_model_param_count(ref);
    double *zd = malloc(n * dim * sizeof *zd), *back = malloc(n * dim * sizeof *back);
    double *ld = malloc(n * sizeof *ld), *gd = malloc(np * sizeof *gd), loss_dev = 0.0;
    gc_status status = zd && back && ld && gd ? gc_model_encode(dev, x, n, zd, ld)
                                              : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    if (status == GC_OK)
        status = add_row(report, name, "device z", "rel err vs reference",
                         gc_relative_error(zd, z, n * dim), GC_TOL_DEVICE);
    if (status == GC_OK && logdet)
        status = add_row(report, name, "device log-det", "max abs err vs ref",
                         max_abs_diff(ld, logdet, n), GC_TOL_LOGDET);
    if (status == GC_OK) status = gc_model_decode(dev, zd, n, back, NULL);
    if (status == GC_OK)
        status = add_row(report, name, "device inverse", "max |x' - x|",
                         max_abs_diff(back, x, n * dim), GC_TOL_INVERSE_MODEL);
    if (status == GC_OK) status = gc_model_gradient(dev, x, n, &loss_dev, gd);
    if (status == GC_OK)
        status = add_row(report, name, "device loss", "rel err vs reference",
                         fabs(loss_dev - loss) / fmax(fabs(loss), 1e-300), GC_TOL_DEVICE);
    if (status == GC_OK)
        status = add_device_gradient_row(report, name, ref, dev, n, dim, draw, rng, gd, g,
                                         gradient_tolerance);
    if (status == GC_OK)
        status = check_low_memory(report, name, "device low-memory gradient", dev, x, n, gd, np,
                                  gradient_tolerance);
    free(zd);
    free(back);
    free(ld);
    free(gd);
    return status;
}

static gc_status check_model(gc_runtime *ref_rt, gc_runtime *dev_rt, gc_prior_kind prior,
                             gc_rng *rng, gc_check_report *report)
{
    const char *name = prior == GC_PRIOR_MIX ? "glow-10 mix" : "glow-10 gauss";
    gc_model_config config;
    gc_model_config_default(&config, 2);
    config.prior = prior;
    gc_model *ref = NULL, *dev = NULL;
    uint64_t seed = gc_rng_u64(rng);
    GC_TRY(gc_model_create(&ref, ref_rt, &config, seed));
    gc_status status = dev_rt ? gc_model_create(&dev, dev_rt, &config, seed) : GC_OK;
    size_t np = gc_model_param_count(ref), n = MODEL_BATCH * 2;
    double *p = malloc(np * sizeof *p), *g = malloc(np * sizeof *g);
    double x[MODEL_BATCH * 2], z[MODEL_BATCH * 2], back[MODEL_BATCH * 2], logdet[MODEL_BATCH];
    if (status == GC_OK && !(p && g)) status = GC_ERROR(GC_ERR_MEMORY, "out of memory");
    draw_points(rng, x, MODEL_BATCH, 2);
    if (status == GC_OK) status = share_parameters(ref, dev, x, MODEL_BATCH, 0.05, p, np, rng);

    if (status == GC_OK) status = gc_model_encode(ref, x, MODEL_BATCH, z, logdet);
    if (status == GC_OK) status = gc_model_decode(ref, z, MODEL_BATCH, back, NULL);
    if (status == GC_OK)
        status = add_row(report, name, "reference inverse", "max |x' - x|",
                         max_abs_diff(back, x, n), 1e-10);
    /* A ReLU unit whose input sits within the finite-difference step of 0 at one of the ~10^4
     * (sample, unit) pairs spoils the estimates of that batch (seen about once in 60 seeds);
     * a wrong derivative is wrong on any batch. So each finite-difference row is measured on
     * two independent batches and reports the better. */
    double fd_logdet = INFINITY, fd_gradient = INFINITY;
    for (int batch = 0; status == GC_OK && batch < 2; batch++) {
        double xb[MODEL_BATCH * 2], logdet_error = 0.0, gradient_error = 0.0;
        if (batch == 0)
            memcpy(xb, x, sizeof xb);
        else
            draw_points(rng, xb, MODEL_BATCH, 2);
        status = model_fd_errors(ref, p, np, g, xb, rng, &logdet_error, &gradient_error);
        fd_logdet = fmin(fd_logdet, logdet_error);
        fd_gradient = fmin(fd_gradient, gradient_error);
    }
    if (status == GC_OK)
        status = add_row(report, name, "log-det vs FD Jacobian", "max abs err (best of 2)",
                         fd_logdet, GC_TOL_LOGDET);
    if (status == GC_OK)
        status = add_row(report, name, "param gradient vs FD", "rel err, 150 params (best of 2)",
                         fd_gradient, GC_TOL_GRADIENT);
    double loss = 0.0;
    if (status == GC_OK) status = gc_model_gradient(ref, x, MODEL_BATCH, &loss, g);
    if (status == GC_OK)
        status = check_low_memory(report, name, "low-memory gradient", ref, x, MODEL_BATCH, g, np,
                                  GC_TOL_LOW_MEMORY_REFERENCE);

    if (status == GC_OK && dev)
        status = compare_device_model(report, name, ref, dev, x, MODEL_BATCH, 2, draw_points, rng,
                                      z, logdet, loss, g, GC_TOL_DEVICE);
    free(p);
    free(g);
    gc_model_free(ref);
    gc_model_free(dev);
    return status;
}

/* The image model's loss gradient against central differences on `fd_params` random trained
 * parameters, on x (n × d) and, where that fails, on a second batch, which must pass on its
 * own: a ReLU input within the difference step of 0 (seen: −8e-8 against the step 1e-6, seed
 * 1883925536310826) spoils one batch's estimates, while a wrong derivative is wrong on any
 * batch, as for the 2-D models. */
static gc_status check_image_fd_gradient(gc_check_report *report, const char *name, gc_model *ref,
                                         double *p, double *g, const double *x, size_t n, size_t d,
                                         size_t fd_params, gc_rng *rng)
{
    size_t np = gc_model_param_count(ref);
    double error = 0.0, second = INFINITY;
    GC_TRY(sampled_gradient_error(ref, p, np, g, x, n, fd_params, rng, &error));
    char measure[48];
    snprintf(measure, sizeof measure, "rel err, %zu params", fd_params);
    if (!(error <= GC_TOL_GRADIENT)) {
        double *x2 = malloc(n * d * sizeof *x2);
        if (!x2) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
        draw_images(rng, x2, n, d);
        gc_status status = sampled_gradient_error(ref, p, np, g, x2, n, fd_params, rng, &second);
        free(x2);
        GC_TRY(status);
        snprintf(measure, sizeof measure, "rel err, %zu params (best of 2)", fd_params);
    }
    return add_row(report, name, "param gradient vs FD", measure, fmin(error, second),
                   GC_TOL_GRADIENT);
}

/* An image model on n random images: the reference inverse, the loss gradient against finite
 * differences on `fd_params` random parameters (0: none, for models too large to differentiate
 * numerically in reasonable time), and the device against the reference. Its "log-det" holds
 * the splits' prior terms, so no Jacobian comparison here: every op's is checked above.
 * `perturbation` scales the noise added to every trained parameter so that no coupling stays
 * the identity; a wide model needs it small, or its deep stack of couplings saturates. */
static gc_status check_image_model(gc_runtime *ref_rt, gc_runtime *dev_rt,
                                   const gc_model_config *config, size_t n, size_t fd_params,
                                   double perturbation, double gradient_tolerance, gc_rng *rng,
                                   gc_check_report *report)
{
    size_t d = config->dim;
    char name[40];
    snprintf(name, sizeof name, "image %zux%zux%zu L%d K%d h%zu", config->channels, config->height,
             config->width, config->levels, config->layers, config->hidden);
    gc_model *ref = NULL, *dev = NULL;
    uint64_t seed = gc_rng_u64(rng);
    GC_TRY(gc_model_create(&ref, ref_rt, config, seed));
    gc_status status = dev_rt ? gc_model_create(&dev, dev_rt, config, seed) : GC_OK;
    size_t np = gc_model_param_count(ref);
    double *p = malloc(np * sizeof *p), *g = malloc(np * sizeof *g);
    double *x = malloc(n * d * sizeof *x), *z = malloc(n * d * sizeof *z);
    double *back = malloc(n * d * sizeof *back);
    if (status == GC_OK && !(p && g && x && z && back))
        status = GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    if (status == GC_OK) draw_images(rng, x, n, d);
    if (status == GC_OK) status = share_parameters(ref, dev, x, n, perturbation, p, np, rng);
    if (status == GC_OK) status = gc_model_encode(ref, x, n, z, NULL);
    if (status == GC_OK) status = gc_model_decode(ref, z, n, back, NULL);
    if (status == GC_OK)
        status = add_row(report, name, "reference inverse", "max |x' - x|",
                         max_abs_diff(back, x, n * d), 1e-10);
    double loss = 0.0;
    if (status == GC_OK && fd_params)
        status = check_image_fd_gradient(report, name, ref, p, g, x, n, d, fd_params, rng);
    if (status == GC_OK) status = gc_model_gradient(ref, x, n, &loss, g);
    /* Only where finite differences run: a full-size model's reference pass takes minutes. */
    if (status == GC_OK && fd_params)
        status = check_low_memory(report, name, "low-memory gradient", ref, x, n, g, np,
                                  GC_TOL_LOW_MEMORY_REFERENCE);
    if (status == GC_OK && dev)
        status = compare_device_model(report, name, ref, dev, x, n, d, draw_images, rng, z, NULL,
                                      loss, g, gradient_tolerance);
    free(p);
    free(g);
    free(x);
    free(z);
    free(back);
    gc_model_free(ref);
    gc_model_free(dev);
    return status;
}

/* The single-op cases of gc_check_flows. */
static const op_case FLOW_OP_CASES[] = {
    {"affine d=3", CASE_AFFINE, 3, 1, 1, 0, 0, 0, 0, 0},
    {"actnorm d=3", CASE_ACTNORM, 3, 1, 1, 0, 0, 0, 0, 0},
    {"coupling d=2", CASE_COUPLING, 2, 1, 1, 0, 0, 0, 0, 0},
    {"coupling d=5 odd", CASE_COUPLING, 5, 1, 1, 1, 0, 0, 0, 0},
    /* 45 = 32 + 8 + 5 hidden units: every width path of the fused kernels. */
    {"coupling d=3 hidden 45x3", CASE_COUPLING, 3, 1, 1, 0, 0, 0, 45, 3},
    {"invconv d=2", CASE_INVCONV, 2, 1, 1, 0, 0, 0, 0, 0},
    {"invconv d=5", CASE_INVCONV, 5, 1, 1, 0, 0, 0, 0, 0},
    {"actnorm 3x4x4 image", CASE_ACTNORM, 3, 4, 4, 0, 0, 0, 0, 0},
    {"invconv 5x3x3 image", CASE_INVCONV, 5, 3, 3, 0, 0, 0, 0, 0},
    /* The cases above run as one work-group; 7 · 16 · 8² is past ops/invconv.c's limit. */
    {"invconv 8x4x4 image", CASE_INVCONV, 8, 4, 4, 0, 0, 0, 0, 0},
    {"squeeze 3x4x6 image", CASE_SQUEEZE, 3, 4, 6, 0, 0, 0, 0, 0},
    {"split 5x2x3 image", CASE_SPLIT, 5, 2, 3, 0, 0, 0, 0, 0},
    {"split 6x3x4 learned prior", CASE_SPLIT, 6, 3, 4, 1, 0, 0, 0, 0},
    {"coupling 5x3x4 image", CASE_CONV_COUPLING, 5, 3, 4, 0, 0, 0, 0, 0},
    {"additive coupling 4x3x3", CASE_ADDITIVE_COUPLING, 4, 3, 3, 0, 0, 0, 0, 0},
};

/* The single-op cases. */
static gc_status check_op_cases(gc_runtime *ref, gc_runtime *device, gc_rng *rng,
                                gc_check_report *report)
{
    gc_status status = GC_OK;
    size_t count = sizeof FLOW_OP_CASES / sizeof FLOW_OP_CASES[0];
    for (size_t i = 0; status == GC_OK && i < count; i++)
        status = check_op_case(ref, device, &FLOW_OP_CASES[i], rng, report);
    return status;
}

/* The common start of the checks: only an OpenCL `device` is compared (NULL otherwise), the
 * reference runtime, and the generator of the random inputs. */
static gc_status start_checks(gc_runtime **device, gc_runtime **ref, gc_rng *rng, uint64_t seed)
{
    if (*device && gc_runtime_backend(*device) != GC_BACKEND_OPENCL) *device = NULL;
    GC_TRY(gc_runtime_open_reference(ref));
    gc_rng_seed(rng, seed);
    return GC_OK;
}

gc_status gc_check_flows(gc_runtime *device, uint64_t seed, gc_check_report *report)
{
    gc_runtime *ref = NULL;
    gc_rng rng;
    GC_TRY(start_checks(&device, &ref, &rng, seed));
    gc_status status = check_op_cases(ref, device, &rng, report);
    if (status == GC_OK) status = check_model(ref, device, GC_PRIOR_GAUSS, &rng, report);
    if (status == GC_OK) status = check_model(ref, device, GC_PRIOR_MIX, &rng, report);
    if (status == GC_OK) {
        /* 3×8×8, 2 levels of 2 steps, hidden 8: small enough for finite differences. */
        gc_model_config config;
        gc_model_config_image(&config, 3, 8, 8);
        config.levels = 2;
        config.layers = 2;
        config.hidden = 8;
        status = check_image_model(ref, device, &config, 4, 60, 0.05, GC_TOL_DEVICE, &rng, report);
    }
    gc_runtime_close(ref);
    return status;
}

/* Noise on the full model's parameters: enough to make every coupling a real transform, small
 * enough that the gradient of 48 couplings with 512-wide ReLU networks barely jumps at the
 * float rounding of their inputs (see full_model_low_memory_gradient in tests/check_flow.c). */
static const double FULL_MODEL_PERTURBATION = 0.001;

gc_status gc_check_full_image_model(gc_runtime *device, uint64_t seed, gc_check_report *report)
{
    gc_runtime *ref = NULL;
    gc_rng rng;
    GC_TRY(start_checks(&device, &ref, &rng, seed));
    gc_model_config config;
    gc_model_config_image(&config, 3, 32, 32);
    gc_status status = check_image_model(ref, device, &config, 2, 0, FULL_MODEL_PERTURBATION,
                                         GC_TOL_DEVICE_DEEP_GRADIENT, &rng, report);
    gc_runtime_close(ref);
    return status;
}
