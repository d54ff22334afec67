/* The inside of a model, shared by flow.c (passes, training) and model_file.c (save, load). */
#ifndef GLOWCL_MODEL_INTERNAL_H
#define GLOWCL_MODEL_INTERNAL_H

#include "glowcl/flow.h"
#include "model/ops/op.h"
#include "model/ops/vector_glow.h"
#include "model/prior.h"

struct gc_model {
    gc_runtime *rt;
    gc_model_config config;
    gc_param_registry reg;
    gc_op **ops;
    size_t op_count;
    gc_prior prior;
    gc_tensor params, grads, adam_m, adam_v; /* all the same size: reg.total */
    gc_kernel *adam_kernel, *adamax_kernel;  /* cl/adam.cl */
    uint64_t steps;
    int initialized;
    double last_grad_norm;
    /* Batch buffers for `capacity` rows: acts[i] is the input of op i, acts[op_count] the
     * latent (in the low-memory mode only acts[0] and acts[1] exist, see act() in flow.c);
     * dz and dx carry gradients back; logdet, logp per sample; sums for read-back. */
    gc_memory_mode memory;
    size_t capacity;
    gc_tensor *acts;
    gc_tensor dz, dx, logdet, logp, sum_logp, sum_logdet, grad_norm;
    /* Data-parallel training (gc_model_set_gradient_reducer): the reducer and the host copy
     * of the gradient it works on (reg.total doubles, allocated at its first use). */
    gc_gradient_reducer reduce;
    void *reduce_context;
    double *reduce_host;
    /* The fused training pass of a vector Glow on OpenCL (ops/vector_glow.h), looked for at
     * the first training pass (fused_looked); per_op_training keeps the per-op passes. */
    gc_vector_glow *fused;
    int fused_looked, per_op_training;
};

/* Trains with the per-op passes even where the fused vector Glow pass applies (1), or not (0):
 * for checking one against the other and for measuring what the fusion gains. */
void gc_model_set_per_op_training(gc_model *m, int per_op);

/* Builds a model's ops, prior and buffers, everything but the parameter values (zero). */
gc_status gc_model_alloc(gc_model **out, gc_runtime *rt, const gc_model_config *config);

#endif
