/* The prior p_0(z) of a flow model: a standard Gaussian, or a mixture of K diagonal Gaussians
 * whose means, log-scales and logits are model parameters (trained, or fixed by the user). */
#ifndef GLOWCL_PRIOR_H
#define GLOWCL_PRIOR_H

#include "glowcl/flow.h"
#include "model/ops/op.h"

typedef struct gc_prior {
    gc_prior_kind kind;
    size_t dim;
    int components;
    int fixed;      /* the mixture is given, not learned */
    size_t offset;  /* means (K×D), log_scales (K×D), logits (K), consecutive */
    gc_tensor rows; /* per-sample gradient rows of the mixture parameters */
    gc_kernel *log_prob_kernel, *backward_kernel; /* cl/prior.cl, for this kind */
} gc_prior;

/* Reserves the mixture's parameters (trainable unless `fixed`) and finds the kernels on rt. */
gc_status gc_prior_init(gc_prior *prior, gc_runtime *rt, gc_param_registry *reg, gc_prior_kind kind,
                        size_t dim, int components, int fixed);
void gc_prior_release(gc_prior *prior);
size_t gc_prior_param_count(const gc_prior *prior);

/* Writes the initial mixture into the host copy of the parameters. */
void gc_prior_init_params(const gc_prior *prior, double *params, const double *means,
                          const double *scales, const double *weights);

/* logp[i] = log p_0(z_i). */
gc_status gc_prior_log_prob(gc_prior *prior, const gc_tensor *params, const gc_tensor *z,
                            gc_tensor *logp, size_t n);

/* dz = ∂L/∂z for ∂L/∂logp_i = dlogp; adds the mixture's parameter gradients into grads. */
gc_status gc_prior_backward(gc_prior *prior, const gc_tensor *params, gc_tensor *grads,
                            const gc_tensor *z, gc_tensor *dz, double dlogp, size_t n);

/* Draws n latents on the host, the standard deviations scaled by `temperature`. `params` is the
 * host copy of the prior's parameters (gc_prior_param_count values). */
void gc_prior_sample(const gc_prior *prior, const double *params, gc_rng *rng, size_t n,
                     double temperature, double *z);

#endif
