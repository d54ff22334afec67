/* Priors: reference loops (double) beside the launches of cl/prior.cl, and sampling on the
 * host (the latents are uploaded and decoded on the device). */
#include "model/prior.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LOG_2PI 1.8378770664093453

gc_status gc_prior_init(gc_prior *prior, gc_runtime *rt, gc_param_registry *reg, gc_prior_kind kind,
                        size_t dim, int components, int fixed)
{
    memset(prior, 0, sizeof *prior);
    prior->kind = kind;
    prior->dim = dim;
    int gauss = kind == GC_PRIOR_GAUSS;
    GC_TRY(gc_kernel_find(rt, gauss ? "prior_gauss_log_prob" : "prior_mix_log_prob",
                          &prior->log_prob_kernel));
    GC_TRY(gc_kernel_find(rt, gauss ? "prior_gauss_backward" : "prior_mix_backward",
                          &prior->backward_kernel));
    if (gauss) return GC_OK;
    if (components < 1 || components > GC_MAX_MIX_COMPONENTS)
        return GC_ERROR(GC_ERR_ARGUMENT, "a mixture prior has 1 to %d components, not %d",
                        GC_MAX_MIX_COMPONENTS, components);
    if ((unsigned)components > rt->shapes.prior_max_components)
        return GC_ERROR(GC_ERR_UNSUPPORTED, "the prior kernels take at most %u components",
                        rt->shapes.prior_max_components);
    prior->components = components;
    prior->fixed = fixed;
    size_t kd = (size_t)components * dim, offset = 0;
    gc_status (*reserve)(gc_param_registry *, const char *, const char *, size_t, size_t *) =
        fixed ? gc_param_reserve_fixed : gc_param_reserve;
    GC_TRY(reserve(reg, "prior", "means", kd, &prior->offset));
    GC_TRY(reserve(reg, "prior", "log_scales", kd, &offset));
    return reserve(reg, "prior", "logits", (size_t)components, &offset);
}

void gc_prior_release(gc_prior *prior) { gc_tensor_release(&prior->rows); }

size_t gc_prior_param_count(const gc_prior *prior)
{
    return prior->kind == GC_PRIOR_MIX ? (size_t)prior->components * (2 * prior->dim + 1) : 0;
}

void gc_prior_init_params(const gc_prior *prior, double *params, const double *means,
                          const double *scales, const double *weights)
{
    if (prior->kind != GC_PRIOR_MIX) return;
    size_t kd = (size_t)prior->components * prior->dim;
    double *p = params + prior->offset;
    for (size_t j = 0; j < kd; j++) {
        p[j] = means[j];
        p[kd + j] = log(scales[j]);
    }
    for (int k = 0; k < prior->components; k++) p[2 * kd + (size_t)k] = log(weights[k]);
}

/* The mixture's log-density of one sample and its components' terms log w_k + log N_k. */
static double mix_terms(const gc_prior *prior, const double *p, const double *z, double *terms)
{
    size_t dim = prior->dim, kc = (size_t)prior->components;
    const double *means = p, *log_scales = p + kc * dim, *logits = p + 2 * kc * dim;
    double top = -INFINITY, norm = 0.0, best = -INFINITY, total = 0.0;
    for (size_t k = 0; k < kc; k++) top = fmax(top, logits[k]);
    for (size_t k = 0; k < kc; k++) norm += exp(logits[k] - top);
    for (size_t k = 0; k < kc; k++) {
        double sum = logits[k] - top - log(norm);
        for (size_t d = 0; d < dim; d++) {
            double ls = log_scales[k * dim + d];
            double v = (z[d] - means[k * dim + d]) * exp(-ls);
            sum += -0.5 * v * v - ls - 0.5 * LOG_2PI;
        }
        terms[k] = sum;
        best = fmax(best, sum);
    }
    for (size_t k = 0; k < kc; k++) total += exp(terms[k] - best);
    return best + log(total);
}

gc_status gc_prior_log_prob(gc_prior *prior, const gc_tensor *params, const gc_tensor *z,
                            gc_tensor *logp, size_t n)
{
    size_t dim = prior->dim;
    gc_runtime *rt = params->rt;
    if (rt->backend == GC_BACKEND_OPENCL) {
        if (prior->kind == GC_PRIOR_GAUSS)
            return GC_LAUNCH1D(rt, prior->log_prob_kernel, n, 64, GC_MEM(logp), GC_MEM(z),
                               GC_U32(n), GC_U32(dim));
        return GC_LAUNCH1D(rt, prior->log_prob_kernel, n, 64, GC_MEM(logp), GC_MEM(z),
                           GC_MEM(params), GC_U32(prior->offset), GC_U32(n), GC_U32(dim),
                           GC_U32(prior->components));
    }
    double terms[GC_MAX_MIX_COMPONENTS];
    for (size_t i = 0; i < n; i++) {
        const double *zi = z->host + i * dim;
        if (prior->kind == GC_PRIOR_GAUSS) {
            double sum = 0.0;
            for (size_t d = 0; d < dim; d++) sum += zi[d] * zi[d];
            logp->host[i] = -0.5 * sum - 0.5 * (double)dim * LOG_2PI;
        } else {
            logp->host[i] = mix_terms(prior, params->host + prior->offset, zi, terms);
        }
    }
    return GC_OK;
}

gc_status gc_prior_backward(gc_prior *prior, const gc_tensor *params, gc_tensor *grads,
                            const gc_tensor *z, gc_tensor *dz, double dlogp, size_t n)
{
    size_t dim = prior->dim, kc = (size_t)prior->components;
    gc_runtime *rt = params->rt;
    if (prior->kind == GC_PRIOR_GAUSS) {
        if (rt->backend == GC_BACKEND_OPENCL)
            return GC_LAUNCH1D(rt, prior->backward_kernel, n * dim, 64, GC_MEM(dz), GC_MEM(z),
                               GC_F32(dlogp), GC_U32(n * dim));
        for (size_t j = 0; j < n * dim; j++) dz->host[j] = -dlogp * z->host[j];
        return GC_OK;
    }
    size_t width = 2 * kc * dim + kc;
    GC_TRY(gc_scratch_reserve(&prior->rows, rt, n, width));
    if (rt->backend == GC_BACKEND_OPENCL) {
        GC_TRY(GC_LAUNCH1D(rt, prior->backward_kernel, n, 64, GC_MEM(dz), GC_MEM(&prior->rows),
                           GC_MEM(z), GC_MEM(params), GC_U32(prior->offset), GC_F32(dlogp),
                           GC_U32(n), GC_U32(dim), GC_U32(kc)));
    } else {
        const double *p = params->host + prior->offset;
        const double *means = p, *log_scales = p + kc * dim, *logits = p + 2 * kc * dim;
        double terms[GC_MAX_MIX_COMPONENTS], top = -INFINITY, norm = 0.0;
        for (size_t k = 0; k < kc; k++) top = fmax(top, logits[k]);
        for (size_t k = 0; k < kc; k++) norm += exp(logits[k] - top);
        for (size_t i = 0; i < n; i++) {
            const double *zi = z->host + i * dim;
            double *row = prior->rows.host + i * width, *dzi = dz->host + i * dim;
            double logp = mix_terms(prior, p, zi, terms);
            for (size_t d = 0; d < dim; d++) dzi[d] = 0.0;
            for (size_t k = 0; k < kc; k++) {
                double r = exp(terms[k] - logp);
                for (size_t d = 0; d < dim; d++) {
                    double inv = exp(-log_scales[k * dim + d]);
                    double v = (zi[d] - means[k * dim + d]) * inv;
                    dzi[d] -= dlogp * r * v * inv;
                    row[k * dim + d] = dlogp * r * v * inv;
                    row[(kc + k) * dim + d] = dlogp * r * (v * v - 1.0);
                }
                row[2 * kc * dim + k] = dlogp * (r - exp(logits[k] - top) / norm);
            }
        }
    }
    if (prior->fixed) return GC_OK;
    return gc_tensor_accumulate_columns(grads, prior->offset, &prior->rows, n, width, 1.0);
}

void gc_prior_sample(const gc_prior *prior, const double *params, gc_rng *rng, size_t n,
                     double temperature, double *z)
{
    size_t dim = prior->dim, kc = (size_t)prior->components;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        if (prior->kind == GC_PRIOR_MIX) {
            const double *logits = params + 2 * kc * dim;
            double top = -INFINITY, norm = 0.0;
            for (size_t c = 0; c < kc; c++) top = fmax(top, logits[c]);
            for (size_t c = 0; c < kc; c++) norm += exp(logits[c] - top);
            double pick = gc_rng_uniform(rng) * norm;
            for (k = 0; k + 1 < kc; k++) {
                pick -= exp(logits[k] - top);
                if (pick < 0.0) break;
            }
        }
        for (size_t d = 0; d < dim; d++) {
            double e = temperature * gc_rng_normal(rng);
            z[i * dim + d] = prior->kind == GC_PRIOR_MIX
                                 ? params[k * dim + d] + exp(params[(kc + k) * dim + d]) * e
                                 : e;
        }
    }
}
