/* Flow models: the single affine map of the warm-up, the Glow of points (steps of ActNorm,
 * affine coupling and invertible 1x1 convolution) and the multi-scale Glow of images, each with
 * a prior p_0. Load or build a model, get log p(x), map data to latents and back, draw samples,
 * train. */
#ifndef GLOWCL_FLOW_H
#define GLOWCL_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "glowcl/rng.h"
#include "glowcl/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gc_model_kind {
    GC_MODEL_AFFINE, /* z = (x − t) ⊙ exp(−s): one element-wise affine map */
    GC_MODEL_GLOW,   /* `layers` steps of (ActNorm, affine coupling, 1x1 convolution) */
    GC_MODEL_IMAGE,  /* multi-scale Glow on channels × height × width images: `levels` levels
                        of squeeze, `layers` steps of (ActNorm, 1x1 convolution, convolutional
                        coupling), and a split (all but the last level) */
} gc_model_kind;

typedef enum gc_prior_kind {
    GC_PRIOR_GAUSS, /* N(0, I) */
    GC_PRIOR_MIX,   /* Σ_k w_k N(μ_k, diag σ_k²) */
} gc_prior_kind;

#define GC_MAX_MIX_COMPONENTS 8

typedef struct gc_model_config {
    gc_model_kind kind;
    size_t dim;                     /* dimension of the data */
    int layers;                     /* Glow steps (per level for images) */
    size_t channels, height, width; /* images: dim = channels · height · width */
    int levels;                     /* images: levels of the multi-scale architecture */
    int additive;                   /* images: additive instead of affine couplings */
    int split_standard;             /* images: splits scored by N(0, I) instead of Glow's learned
                           conditional prior */
    size_t hidden;                  /* width of the coupling networks' hidden layers */
    int depth;                      /* number of hidden layers of each coupling network */
    gc_prior_kind prior;
    int mix_components; /* mixture prior: number of components */
    int mix_fixed;      /* mixture prior: keep means, scales and weights as given */
    /* Initial mixture (K×D means, K×D scales, K weights); NULL: the defaults, components
     * spread along the first axis at ±1.5 with scale 0.5 and equal weights. Not kept by the
     * model: they become parameters. */
    const double *mix_means, *mix_scales, *mix_weights;
} gc_model_config;

/* The image Glow's defaults (Kingma & Dhariwal's CIFAR-10 model): 3 levels of 16 steps, 512
 * hidden channels, affine coupling. */
void gc_model_config_image(gc_model_config *config, size_t channels, size_t height, size_t width);

/* The Glow of points' defaults: 10 layers, coupling networks of 2 hidden layers of 64, Gaussian
 * prior, 2 mixture components if the prior is switched to the mixture. */
void gc_model_config_default(gc_model_config *config, size_t dim);

typedef struct gc_model gc_model;

/* Builds a model with parameters initialised from `seed` on the runtime's backend. */
gc_status gc_model_create(gc_model **model_out, gc_runtime *rt, const gc_model_config *config,
                          uint64_t seed);
void gc_model_free(gc_model *model);
const gc_model_config *gc_model_get_config(const gc_model *model);

/* log p(x) of n points (n × dim, row-major) in nats. */
gc_status gc_model_log_prob(gc_model *model, const double *x, size_t n, double *log_prob);
/* The latents z = f(x) (n × dim) and log|det ∂z/∂x| per point (may be NULL). */
gc_status gc_model_encode(gc_model *model, const double *x, size_t n, double *z, double *logdet);
/* The points x = f⁻¹(z) and log|det ∂x/∂z| per point (may be NULL). */
gc_status gc_model_decode(gc_model *model, const double *z, size_t n, double *x, double *logdet);
/* Draws n points: z from the prior with its standard deviations times `temperature`, decoded. */
gc_status gc_model_sample(gc_model *model, size_t n, double temperature, gc_rng *rng, double *x);

/* The latent of a sample is packed (gc_model_encode's z) as its parts one after the other: an
 * image model's splits in order, from the first level (nearest the data) to the last, then the
 * top (the last level's output, what the prior scores); a model of points has one part. */
#define GC_MAX_LATENT_PARTS 9
typedef struct gc_latent_part {
    char name[16];                  /* "z_level1" ... "z_level{L-1}" (splits), "z_top"; "z" */
    size_t offset, count;           /* where its values lie in a sample's packed latent */
    size_t channels, height, width; /* its shape (channel-major); points: dim, 1, 1 */
} gc_latent_part;

/* Fills parts[0 .. n) (at most GC_MAX_LATENT_PARTS) and returns n. */
size_t gc_model_latent_parts(const gc_model *model, gc_latent_part *parts);

/* Decodes n latents of which only some parts are known: for part k (gc_model_latent_parts'
 * order), given[k] != 0 takes its values from z as gc_model_decode does; given[k] == 0 draws it
 * with rng at `temperature` (standard deviations scaled by it), a split's part from its prior
 * given the levels above it, the top from the model's prior, and ignores those values of z
 * (z may be NULL when no part is given: that is gc_model_sample, draw for draw). */
gc_status gc_model_decode_parts(gc_model *model, const double *z, size_t n, const int *given,
                                double temperature, gc_rng *rng, double *x);

typedef struct gc_adam_config {
    double lr, beta1, beta2, eps;
    double clip_norm; /* > 0: gradients scaled down to at most this L2 norm */
    int adamax;       /* Adamax: the infinity norm u = max(β2·u, |g|) in place of √v */
} gc_adam_config;
#define GC_ADAM_DEFAULT                                                                            \
    {                                                                                              \
        1e-3, 0.9, 0.999, 1e-8, 0.0, 0                                                             \
    }

/* One step of Adam on the mean negative log-likelihood of the batch x (n × dim). The first
 * step initialises every ActNorm from this batch. *loss gets the batch's mean NLL before the
 * step. A non-finite loss or gradient leaves the parameters untouched and returns
 * GC_ERR_NUMERIC. */
gc_status gc_model_train_step(gc_model *model, const double *x, size_t n,
                              const gc_adam_config *adam, double *loss);

/* Data-parallel training: a function that combines the gradient and loss of this process's
 * shard of the batch with those of the other processes (e.g. an MPI_Allreduce that averages
 * them), in place. gc_model_train_step calls it after the backward pass and before everything
 * that reads the gradient: the non-finite check, the gradient norm, clipping and the optimiser
 * step, which all see the combined values. `grads` holds every parameter's gradient (count =
 * gc_model_param_count, 0 for fixed parameters) in double on the host; `loss` is the shard's
 * mean NLL. With equal shards, averaging both gives exactly the gradient and loss of the whole
 * batch. A status other than GC_OK ends the step with it, the parameters untouched. */
typedef gc_status (*gc_gradient_reducer)(void *context, double *grads, size_t count, double *loss);
/* Installs `reduce` (NULL: none, the default; the step then stays on the device). Only
 * gc_model_train_step uses it; gc_model_gradient gives the local gradient. */
void gc_model_set_gradient_reducer(gc_model *model, gc_gradient_reducer reduce, void *context);

/* How the backward pass gets each op's input. GC_MEMORY_STORE keeps every op's input from the
 * encoder pass (one batch-sized tensor per op); GC_MEMORY_LOW keeps two and rebuilds each
 * input from the op's output with the op's inverse, as the backward pass walks back (about
 * one more decoder pass of work). The gradients agree to float rounding. */
typedef enum gc_memory_mode { GC_MEMORY_STORE, GC_MEMORY_LOW } gc_memory_mode;
void gc_model_set_memory(gc_model *model, gc_memory_mode mode);
gc_memory_mode gc_model_get_memory(const gc_model *model);

/* The L2 norm of the gradient of the last training step (before clipping). */
double gc_model_last_grad_norm(const gc_model *model);

/* Initialises the ActNorm layers from x without training (the first train step does it). */
gc_status gc_model_data_init(gc_model *model, const double *x, size_t n);
int gc_model_is_initialized(const gc_model *model);

/* All parameters as one vector (fixed ones included), for checks and tools. */
size_t gc_model_param_count(const gc_model *model);
gc_status gc_model_get_params(const gc_model *model, double *params);
gc_status gc_model_set_params(gc_model *model, const double *params);
/* The mean NLL of x and its gradient with respect to every parameter (0 for fixed ones). */
gc_status gc_model_gradient(gc_model *model, const double *x, size_t n, double *loss,
                            double *grads);
/* Name of the parameter holding value `index` ("step3.coupling.net0.weight"), and whether it is
 * trained. */
const char *gc_model_param_name(const gc_model *model, size_t index, int *trained);
/* Number of Adam steps taken. */
uint64_t gc_model_steps(const gc_model *model);

/* Saves the model (config, parameters, optimiser state, step count) to a file, atomically.
 * A model with a non-finite parameter or Adam moment is not written (GC_ERR_NUMERIC, naming
 * the value; an old file at `path` stays as it was). */
gc_status gc_model_save(const gc_model *model, const char *path);
/* Loads a model saved by gc_model_save onto the runtime's backend. */
gc_status gc_model_load(gc_model **model_out, gc_runtime *rt, const char *path);

/* Where a training run stands besides the model, saved with it so that a resumed run goes on
 * exactly as the uninterrupted one would have (same bits on the same device). What the fields
 * mean is up to the training loop; glowcl's CLI uses: */
typedef struct gc_train_state {
    uint64_t step;          /* loop iterations done: the learning-rate schedule's position
                               (counts skipped non-finite steps, which gc_model_steps does not) */
    uint64_t data_position; /* a counter of the data stream (two-moons: seed of the next batch) */
    gc_rng rng;             /* the data stream's generator (minibatch draws, dequantisation) */
} gc_train_state;

/* gc_model_save plus `state` as the file's "train_state" section (NULL: none, the same as
 * gc_model_save). */
gc_status gc_model_save_with_state(const gc_model *model, const gc_train_state *state,
                                   const char *path);
/* gc_model_load, and the training state if the file has one: then *has_state = 1 and *state
 * is filled; a file without one (gc_model_save, or an older glowcl) gives *has_state = 0 and
 * leaves *state as it was. A malformed state is GC_ERR_FORMAT. state and has_state may be
 * NULL (then the section is not read). */
gc_status gc_model_load_with_state(gc_model **model_out, gc_runtime *rt, const char *path,
                                   gc_train_state *state, int *has_state);

#ifdef __cplusplus
}
#endif

#endif
