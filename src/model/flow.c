/* The flow model: a sequence of ops and a prior (a FlowSequential and its FlowModel). The
 * encoder pass runs the ops in order summing log-determinants, the decoder pass in reverse; the
 * backward pass walks back from the prior with every op's input kept from the encoder pass.
 * All launches of a pass go into one in-order queue; the host reads back only the loss terms
 * and the gradient norm (to catch non-finite values) once per step. */
#include "glowcl/flow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

/* Inference in chunks of this many points bounds the scratch memory of large requests. */
enum { CHUNK = 4096 };

void gc_model_config_default(gc_model_config *config, size_t dim)
{
    memset(config, 0, sizeof *config);
    config->kind = GC_MODEL_GLOW;
    config->dim = dim;
    config->layers = 10;
    config->hidden = 64;
    config->depth = 2;
    config->prior = GC_PRIOR_GAUSS;
    config->mix_components = 2;
}

void gc_model_config_image(gc_model_config *config, size_t channels, size_t height, size_t width)
{
    gc_model_config_default(config, channels * height * width);
    config->kind = GC_MODEL_IMAGE;
    config->channels = channels;
    config->height = height;
    config->width = width;
    config->levels = 3;
    config->layers = 16;
    config->hidden = 512;
}

const gc_model_config *gc_model_get_config(const gc_model *model) { return &model->config; }
uint64_t gc_model_steps(const gc_model *model) { return model->steps; }
int gc_model_is_initialized(const gc_model *model) { return model->initialized; }
size_t gc_model_param_count(const gc_model *model) { return model->reg.total; }

/* Values per sample of the last op's output, the part of z the prior scores. */
static size_t final_dim(const gc_model *m)
{
    return m->op_count ? gc_op_out_dim(m->ops[m->op_count - 1]) : m->config.dim;
}

static gc_status add_op(gc_model *m, gc_op *op)
{
    gc_op **grown = realloc(m->ops, (m->op_count + 1) * sizeof *grown);
    if (!grown) {
        op->vt->destroy(op);
        return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    }
    m->ops = grown;
    m->ops[m->op_count++] = op;
    return GC_OK;
}

static gc_status build_image_ops(gc_model *m)
{
    const gc_model_config *c = &m->config;
    size_t channels = c->channels, height = c->height, width = c->width;
    gc_op *op = NULL;
    char name[48];
    for (int level = 0; level < c->levels; level++) {
        snprintf(name, sizeof name, "level%d.squeeze", level);
        GC_TRY(gc_squeeze_create(&op, m->rt, name, channels, height, width));
        GC_TRY(add_op(m, op));
        channels *= 4, height /= 2, width /= 2;
        size_t pixels = height * width;
        for (int step = 0; step < c->layers; step++) {
            snprintf(name, sizeof name, "level%d.step%d.actnorm", level, step);
            GC_TRY(
                gc_affine_create(&op, m->rt, &m->reg, name, channels, pixels, GC_AFFINE_ACTNORM));
            GC_TRY(add_op(m, op));
            snprintf(name, sizeof name, "level%d.step%d.invconv", level, step);
            GC_TRY(gc_invconv_create(&op, m->rt, &m->reg, name, channels, pixels));
            GC_TRY(add_op(m, op));
            snprintf(name, sizeof name, "level%d.step%d.coupling", level, step);
            GC_TRY(gc_conv_coupling_create(&op, m->rt, &m->reg, name, channels, height, width,
                                           c->hidden, c->additive));
            GC_TRY(add_op(m, op));
        }
        if (level + 1 < c->levels) {
            snprintf(name, sizeof name, "level%d.split", level);
            GC_TRY(gc_split_create(&op, m->rt, &m->reg, name, channels, height, width,
                                   !c->split_standard));
            GC_TRY(add_op(m, op));
            channels /= 2;
        }
    }
    return GC_OK;
}

static gc_status build_ops(gc_model *m)
{
    const gc_model_config *c = &m->config;
    gc_op *op = NULL;
    if (c->kind == GC_MODEL_IMAGE) return build_image_ops(m);
    if (c->kind == GC_MODEL_AFFINE) {
        GC_TRY(gc_affine_create(&op, m->rt, &m->reg, "affine", c->dim, 1, GC_AFFINE_PLAIN));
        return add_op(m, op);
    }
    for (int layer = 0; layer < c->layers; layer++) {
        char name[32];
        snprintf(name, sizeof name, "step%d.actnorm", layer);
        GC_TRY(gc_affine_create(&op, m->rt, &m->reg, name, c->dim, 1, GC_AFFINE_ACTNORM));
        GC_TRY(add_op(m, op));
        snprintf(name, sizeof name, "step%d.coupling", layer);
        gc_coupling_config coupling = {c->hidden, c->depth, layer % 2};
        GC_TRY(gc_coupling_create(&op, m->rt, &m->reg, name, c->dim, coupling));
        GC_TRY(add_op(m, op));
        snprintf(name, sizeof name, "step%d.invconv", layer);
        GC_TRY(gc_invconv_create(&op, m->rt, &m->reg, name, c->dim, 1));
        GC_TRY(add_op(m, op));
    }
    return GC_OK;
}

static gc_status check_config(const gc_model_config *c)
{
    if (c->dim < 1 || (c->kind != GC_MODEL_IMAGE && c->dim > 4096))
        return GC_ERROR(GC_ERR_ARGUMENT, "data dimension %zu outside 1..4096", c->dim);
    if (c->kind == GC_MODEL_GLOW) {
        if (c->dim < 2)
            return GC_ERROR(GC_ERR_ARGUMENT, "Glow needs data of at least 2 dimensions");
        if (c->layers < 1 || c->layers > 1000)
            return GC_ERROR(GC_ERR_ARGUMENT, "layers must be 1..1000, not %d", c->layers);
        if (c->hidden < 1 || c->hidden > 65536 || c->depth < 1 || c->depth > 64)
            return GC_ERROR(GC_ERR_ARGUMENT,
                            "coupling networks need hidden 1..65536 and depth "
                            "1..64 (got %zu and %d)",
                            c->hidden, c->depth);
    } else if (c->kind == GC_MODEL_IMAGE) {
        size_t block = (size_t)1 << (c->levels > 0 && c->levels < 16 ? c->levels : 0);
        if (c->levels < 1 || c->levels > 8)
            return GC_ERROR(GC_ERR_ARGUMENT, "levels must be 1..8, not %d", c->levels);
        if (c->channels < 1 || c->height % block || c->width % block || c->height == 0 ||
            c->width == 0)
            return GC_ERROR(GC_ERR_ARGUMENT,
                            "%d levels of squeeze need height and width "
                            "divisible by %zu; the images are %zux%zu",
                            c->levels, block, c->height, c->width);
        /* A product that wraps around could match a small dim while the ops walk the real
         * channel count (a model file could ask for that). */
        if (c->height > SIZE_MAX / c->width || c->channels > SIZE_MAX / (c->height * c->width) ||
            c->dim != c->channels * c->height * c->width)
            return GC_ERROR(GC_ERR_ARGUMENT, "dim %zu is not channels x height x width", c->dim);
        if (c->layers < 1 || c->layers > 1000 || c->hidden < 1 || c->hidden > 65536)
            return GC_ERROR(GC_ERR_ARGUMENT, "steps per level 1..1000 and hidden 1..65536");
    } else if (c->kind != GC_MODEL_AFFINE) {
        return GC_ERROR(GC_ERR_ARGUMENT, "unknown model kind %d", (int)c->kind);
    }
    if (c->prior == GC_PRIOR_MIX &&
        (c->mix_components < 1 || c->mix_components > GC_MAX_MIX_COMPONENTS))
        return GC_ERROR(GC_ERR_ARGUMENT, "mixture components must be 1..%d, not %d",
                        GC_MAX_MIX_COMPONENTS, c->mix_components);
    if (c->prior != GC_PRIOR_GAUSS && c->prior != GC_PRIOR_MIX)
        return GC_ERROR(GC_ERR_ARGUMENT, "unknown prior %d", (int)c->prior);
    return GC_OK;
}

/* The gradient and the Adam moments, each the size of the parameters. */
static gc_status alloc_training_state(gc_model *m)
{
    size_t total = m->reg.total ? m->reg.total : 1;
    GC_TRY(gc_tensor_init1(&m->grads, m->rt, total));
    GC_TRY(gc_tensor_init1(&m->adam_m, m->rt, total));
    return gc_tensor_init1(&m->adam_v, m->rt, total);
}

/* Everything but the parameter values; the training state only if `training_state`. */
static gc_status alloc_model(gc_model **out, gc_runtime *rt, const gc_model_config *config,
                             int training_state)
{
    GC_TRY(check_config(config));
    gc_model *m = calloc(1, sizeof *m);
    if (!m) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    m->rt = rt;
    m->config = *config;
    m->config.mix_means = m->config.mix_scales = m->config.mix_weights = NULL;
    gc_status status = build_ops(m);
    if (status == GC_OK)
        status = gc_prior_init(&m->prior, rt, &m->reg, config->prior, final_dim(m),
                               config->mix_components, config->mix_fixed);
    if (status == GC_OK) status = gc_kernel_find(rt, "adam_step", &m->adam_kernel);
    if (status == GC_OK) status = gc_kernel_find(rt, "adamax_step", &m->adamax_kernel);
    size_t total = m->reg.total ? m->reg.total : 1;
    if (status == GC_OK) status = gc_tensor_init1(&m->params, rt, total);
    if (status == GC_OK && training_state) status = alloc_training_state(m);
    if (status == GC_OK) status = gc_tensor_init1(&m->sum_logp, rt, 1);
    if (status == GC_OK) status = gc_tensor_init1(&m->sum_logdet, rt, 1);
    if (status == GC_OK) status = gc_tensor_init1(&m->grad_norm, rt, 1);
    if (status != GC_OK) {
        gc_model_free(m);
        return status;
    }
    *out = m;
    return GC_OK;
}

gc_status gc_model_alloc(gc_model **out, gc_runtime *rt, const gc_model_config *config)
{
    return alloc_model(out, rt, config, 1);
}

gc_status gc_model_create(gc_model **model_out, gc_runtime *rt, const gc_model_config *config,
                          uint64_t seed)
{
    *model_out = NULL;
    gc_model *m = NULL;
    /* The initial values are drawn in a host array of doubles (177 MB for the default image
     * model); the training state comes after it is freed, so the two never add up. */
    GC_TRY(alloc_model(&m, rt, config, 0));
    double *host = calloc(m->reg.total ? m->reg.total : 1, sizeof *host);
    if (!host) {
        gc_model_free(m);
        return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    }
    gc_rng rng;
    gc_rng_seed(&rng, seed);
    for (size_t i = 0; i < m->op_count; i++) m->ops[i]->vt->init_params(m->ops[i], host, &rng);

    if (config->prior == GC_PRIOR_MIX) {
        size_t k = (size_t)config->mix_components, d = final_dim(m);
        double means[GC_MAX_MIX_COMPONENTS * 64], scales[GC_MAX_MIX_COMPONENTS * 64];
        double weights[GC_MAX_MIX_COMPONENTS];
        const double *mu = config->mix_means, *sigma = config->mix_scales, *w = config->mix_weights;
        if ((!mu || !sigma) && d > 64) {
            free(host);
            gc_model_free(m);
            return GC_ERROR(GC_ERR_ARGUMENT, "give the mixture's means and scales for data of "
                                             "more than 64 dimensions");
        }
        for (size_t c = 0; c < k; c++) {
            for (size_t j = 0; j < d && (!mu || !sigma); j++) {
                means[c * d + j] = j == 0 ? 1.5 * (2.0 * (double)c - (double)(k - 1)) /
                                                (k > 1 ? (double)(k - 1) : 1.0)
                                          : 0.0;
                scales[c * d + j] = 0.5;
            }
            weights[c] = 1.0 / (double)k;
        }
        gc_prior_init_params(&m->prior, host, mu ? mu : means, sigma ? sigma : scales,
                             w ? w : weights);
    }
    gc_status status = gc_tensor_upload(&m->params, host);
    free(host);
    if (status == GC_OK) status = alloc_training_state(m);
    if (status != GC_OK) {
        gc_model_free(m);
        return status;
    }
    *model_out = m;
    return GC_OK;
}

/* The input of op i (i = op_count: the latent). Storing every op's input costs
 * Σ_i dim_i floats per sample; the low-memory mode keeps two buffers and alternates. */
static gc_tensor *act(gc_model *m, size_t i)
{
    return &m->acts[m->memory == GC_MEMORY_LOW ? i % 2 : i];
}

static void release_acts(gc_model *m)
{
    if (m->acts)
        for (size_t i = 0; i <= m->op_count; i++) gc_tensor_release(&m->acts[i]);
    m->capacity = 0;
}

void gc_model_set_memory(gc_model *m, gc_memory_mode mode)
{
    if (mode == m->memory) return;
    release_acts(m);
    m->memory = mode;
}

gc_memory_mode gc_model_get_memory(const gc_model *m) { return m->memory; }

void gc_model_free(gc_model *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->op_count; i++) m->ops[i]->vt->destroy(m->ops[i]);
    free(m->ops);
    release_acts(m);
    free(m->acts);
    gc_prior_release(&m->prior);
    gc_tensor *tensors[] = {&m->params,   &m->grads,      &m->adam_m,   &m->adam_v,
                            &m->dz,       &m->dx,         &m->logdet,   &m->logp,
                            &m->sum_logp, &m->sum_logdet, &m->grad_norm};
    for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++) gc_tensor_release(tensors[i]);
    gc_param_registry_free(&m->reg);
    free(m->reduce_host);
    gc_vector_glow_free(m->fused);
    free(m);
}

void gc_model_set_per_op_training(gc_model *m, int per_op) { m->per_op_training = per_op; }

/* The fused vector Glow pass, when it applies to this batch: stored inputs (the low-memory mode
 * rebuilds them op by op), ActNorm already initialised, and a batch its indices hold. */
static gc_status fused_pass(gc_model *m, size_t n, int init, gc_vector_glow **out)
{
    *out = NULL;
    if (!m->fused_looked) {
        /* GLOWCL_PER_OP_TRAINING=1: the per-op passes, e.g. to measure what fusing gains. */
        const char *per_op = getenv("GLOWCL_PER_OP_TRAINING");
        if (per_op && strcmp(per_op, "1") == 0) m->per_op_training = 1;
        GC_TRY(gc_vector_glow_create(&m->fused, m->rt, m->ops, m->op_count));
        m->fused_looked = 1;
    }
    if (m->fused && !m->per_op_training && m->memory == GC_MEMORY_STORE && !init &&
        gc_vector_glow_fits(m->fused, n))
        *out = m->fused;
    return GC_OK;
}

static gc_status reserve_batch(gc_model *m, size_t n)
{
    if (n == 0) return GC_ERROR(GC_ERR_ARGUMENT, "an empty batch");
    if (n <= m->capacity) return GC_OK;
    size_t d = m->config.dim;
    if (!m->acts) {
        m->acts = calloc(m->op_count + 1, sizeof *m->acts);
        if (!m->acts) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    }
    if (m->memory == GC_MEMORY_LOW) { /* two buffers of the widest input, the data's */
        GC_TRY(gc_scratch_reserve(&m->acts[0], m->rt, n, d));
        GC_TRY(gc_scratch_reserve(&m->acts[1], m->rt, n, d));
    } else { /* acts[i] holds op i's input; a split makes the later ones narrower */
        for (size_t i = 0; i < m->op_count; i++)
            GC_TRY(gc_scratch_reserve(&m->acts[i], m->rt, n, m->ops[i]->dim));
        GC_TRY(gc_scratch_reserve(&m->acts[m->op_count], m->rt, n, final_dim(m)));
    }
    GC_TRY(gc_scratch_reserve(&m->dz, m->rt, n, d));
    GC_TRY(gc_scratch_reserve(&m->dx, m->rt, n, d));
    GC_TRY(gc_scratch_reserve(&m->logdet, m->rt, n, 1));
    GC_TRY(gc_scratch_reserve(&m->logp, m->rt, n, 1));
    m->capacity = n;
    return GC_OK;
}

/* acts[0] (uploaded) → acts[op_count], logdet; with `init`, each ActNorm first initialises
 * itself from the batch it sees. */
static gc_status encoder_pass(gc_model *m, size_t n, int init)
{
    GC_TRY(gc_tensor_fill(&m->logdet, 0.0));
    for (size_t i = 0; i < m->op_count; i++) {
        gc_op *op = m->ops[i];
        if (init && op->vt->data_init) GC_TRY(op->vt->data_init(op, &m->params, act(m, i), n));
        GC_TRY(op->vt->transform(op, &m->params, act(m, i), act(m, i + 1), &m->logdet, n, +1));
    }
    return GC_OK;
}

/* acts[op_count] (uploaded) → acts[0], logdet of the decoder. */
static gc_status decoder_pass(gc_model *m, size_t n)
{
    GC_TRY(gc_tensor_fill(&m->logdet, 0.0));
    for (size_t i = m->op_count; i-- > 0;) {
        gc_op *op = m->ops[i];
        GC_TRY(op->vt->transform(op, &m->params, act(m, i + 1), act(m, i), &m->logdet, n, -1));
    }
    return GC_OK;
}

static gc_status upload_rows(gc_tensor *t, const double *values, size_t n, size_t dim)
{
    return gc_tensor_write(t, 0, values, n * dim);
}

gc_status gc_model_data_init(gc_model *m, const double *x, size_t n)
{
    GC_TRY(reserve_batch(m, n));
    GC_TRY(upload_rows(act(m, 0), x, n, m->config.dim));
    GC_TRY(encoder_pass(m, n, 1));
    m->initialized = 1;
    return GC_OK;
}

/* Moves a chunk of latents between the host, where a sample's z is packed as [the factored
 * halves of the splits in order, the last op's output], and the model's buffers. */
static gc_status move_latents(gc_model *m, double *z, size_t rows, int to_host)
{
    size_t d = m->config.dim, fd = final_dim(m), at = 0;
    double *part = malloc(rows * d * sizeof *part);
    if (!part) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_status status = GC_OK;
    for (size_t k = 0; status == GC_OK && k <= m->op_count; k++) {
        size_t width = fd;
        gc_tensor *t =
            k == m->op_count ? act(m, m->op_count) : gc_split_side(m->ops[k], rows, &width);
        if (!t) continue; /* not a split */
        if (!to_host)
            for (size_t i = 0; i < rows; i++)
                memcpy(part + i * width, z + i * d + at, width * sizeof *part);
        status = to_host ? gc_tensor_read(t, 0, part, rows * width)
                         : gc_tensor_write(t, 0, part, rows * width);
        if (to_host && status == GC_OK)
            for (size_t i = 0; i < rows; i++)
                memcpy(z + i * d + at, part + i * width, width * sizeof *part);
        at += width;
    }
    free(part);
    return status;
}

/* Encodes (direction +1) or decodes (−1) n rows in chunks: in → out, and the log-dets. */
static gc_status transform_rows(gc_model *m, const double *in, size_t n, double *out,
                                double *logdet, int direction)
{
    size_t d = m->config.dim;
    for (size_t start = 0; start < n; start += CHUNK) {
        size_t rows = n - start < CHUNK ? n - start : CHUNK;
        GC_TRY(reserve_batch(m, rows));
        if (direction > 0) {
            GC_TRY(upload_rows(act(m, 0), in + start * d, rows, d));
            GC_TRY(encoder_pass(m, rows, 0));
            if (out) GC_TRY(move_latents(m, out + start * d, rows, 1));
        } else {
            GC_TRY(move_latents(m, (double *)in + start * d, rows, 0));
            GC_TRY(decoder_pass(m, rows));
            if (out) GC_TRY(gc_tensor_read(act(m, 0), 0, out + start * d, rows * d));
        }
        if (logdet) GC_TRY(gc_tensor_read(&m->logdet, 0, logdet + start, rows));
    }
    return GC_OK;
}

gc_status gc_model_encode(gc_model *m, const double *x, size_t n, double *z, double *logdet)
{
    return transform_rows(m, x, n, z, logdet, +1);
}

gc_status gc_model_decode(gc_model *m, const double *z, size_t n, double *x, double *logdet)
{
    return transform_rows(m, z, n, x, logdet, -1);
}

gc_status gc_model_log_prob(gc_model *m, const double *x, size_t n, double *log_prob)
{
    size_t d = m->config.dim;
    double *logdet = malloc((n < CHUNK ? n : CHUNK) * sizeof *logdet);
    if (!logdet) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_status status = GC_OK;
    for (size_t start = 0; start < n && status == GC_OK; start += CHUNK) {
        size_t rows = n - start < CHUNK ? n - start : CHUNK;
        status = reserve_batch(m, rows);
        if (status == GC_OK) status = upload_rows(act(m, 0), x + start * d, rows, d);
        if (status == GC_OK) status = encoder_pass(m, rows, 0);
        if (status == GC_OK)
            status = gc_prior_log_prob(&m->prior, &m->params, act(m, m->op_count), &m->logp, rows);
        if (status == GC_OK) status = gc_tensor_read(&m->logp, 0, log_prob + start, rows);
        if (status == GC_OK) status = gc_tensor_read(&m->logdet, 0, logdet, rows);
        for (size_t i = 0; status == GC_OK && i < rows; i++) log_prob[start + i] += logdet[i];
    }
    free(logdet);
    return status;
}

size_t gc_model_latent_parts(const gc_model *m, gc_latent_part *parts)
{
    const gc_model_config *c = &m->config;
    if (c->kind != GC_MODEL_IMAGE) {
        parts[0] = (gc_latent_part){"z", 0, c->dim, c->dim, 1, 1};
        return 1;
    }
    /* The shapes build_image_ops gives the ops: each level squeezes, each split but the last
     * level's factors out the second half of the channels (gc_split_create keeps c / 2). */
    size_t channels = c->channels, height = c->height, width = c->width, offset = 0, count = 0;
    for (int level = 0; level < c->levels && count < GC_MAX_LATENT_PARTS; level++) {
        channels *= 4, height /= 2, width /= 2;
        int last = level + 1 == c->levels;
        size_t kept = last ? 0 : channels / 2;
        gc_latent_part *p = &parts[count++];
        if (last)
            snprintf(p->name, sizeof p->name, "z_top");
        else
            snprintf(p->name, sizeof p->name, "z_level%d", level + 1);
        p->channels = channels - kept, p->height = height, p->width = width;
        p->offset = offset;
        p->count = p->channels * height * width;
        offset += p->count;
        channels = kept;
    }
    return count;
}

/* The packed latents of n samples with the parts not given drawn: the top from the prior, a
 * split's as ε ~ N(0, I) that the split turns into its prior's draw (gc_split_set_sampling). The
 * draws come in gc_model_sample's order: every top first, then each sample's splits. */
static gc_status draw_missing(gc_model *m, const double *given_z, size_t n, const int *given,
                              const gc_latent_part *parts, size_t count, double temperature,
                              gc_rng *rng, double *z)
{
    size_t d = m->config.dim, prior_count = gc_prior_param_count(&m->prior);
    const gc_latent_part *top = &parts[count - 1];
    if (given_z) memcpy(z, given_z, n * d * sizeof *z);
    if (!given[count - 1]) {
        double *drawn = malloc(n * top->count * sizeof *drawn);
        double *prior = malloc((prior_count + 1) * sizeof *prior);
        gc_status status = drawn && prior ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
        if (status == GC_OK && prior_count)
            status = gc_tensor_read(&m->params, m->prior.offset, prior, prior_count);
        if (status == GC_OK) gc_prior_sample(&m->prior, prior, rng, n, temperature, drawn);
        for (size_t i = 0; status == GC_OK && i < n; i++)
            memcpy(z + i * d + top->offset, drawn + i * top->count, top->count * sizeof *z);
        free(drawn);
        free(prior);
        GC_TRY(status);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k + 1 < count; k++)
            for (size_t j = 0; j < parts[k].count && !given[k]; j++)
                z[i * d + parts[k].offset + j] = gc_rng_normal(rng);
    return GC_OK;
}

gc_status gc_model_decode_parts(gc_model *m, const double *z, size_t n, const int *given,
                                double temperature, gc_rng *rng, double *x)
{
    gc_latent_part parts[GC_MAX_LATENT_PARTS];
    size_t count = gc_model_latent_parts(m, parts), d = m->config.dim;
    int all = 1;
    for (size_t k = 0; k < count; k++) all = all && given[k];
    if (all) return gc_model_decode(m, z, n, x, NULL);
    double *packed = malloc(n * d * sizeof *packed);
    if (!packed) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_status status = draw_missing(m, z, n, given, parts, count, temperature, rng, packed);
    /* The splits follow the parts' order, one op each. */
    for (size_t i = 0, k = 0; i < m->op_count; i++)
        if (strcmp(m->ops[i]->vt->kind, "split") == 0)
            gc_split_set_sampling(m->ops[i], given[k++] ? -1.0 : temperature);
    if (status == GC_OK) status = gc_model_decode(m, packed, n, x, NULL);
    for (size_t i = 0; i < m->op_count; i++) gc_split_set_sampling(m->ops[i], -1.0);
    free(packed);
    return status;
}

gc_status gc_model_sample(gc_model *m, size_t n, double temperature, gc_rng *rng, double *x)
{
    int given[GC_MAX_LATENT_PARTS] = {0};
    return gc_model_decode_parts(m, NULL, n, given, temperature, rng, x);
}

static void set_activation_flags(gc_model *m, int keep, int reuse)
{
    for (size_t i = 0; i < m->op_count; i++) {
        m->ops[i]->keep_activations = keep;
        m->ops[i]->reuse_activations = reuse;
    }
}

/* Encoder pass, prior, and backward pass into grads (zeroed first); the loss comes back to the
 * host, and the gradient's norm² with it (one wait for both) unless grad_norm_squared is NULL. */
static gc_status forward_backward(gc_model *m, const double *x, size_t n, double *loss,
                                  double *grad_norm_squared)
{
    set_activation_flags(m, 0, 0);
    GC_TRY(reserve_batch(m, n));
    GC_TRY(upload_rows(act(m, 0), x, n, m->config.dim));
    int init = !m->initialized;
    gc_vector_glow *fused = NULL;
    GC_TRY(fused_pass(m, n, init, &fused));
    gc_tensor *z = act(m, m->op_count);
    gc_status status = GC_OK;
    if (fused) {
        GC_TRY(gc_tensor_fill(&m->logdet, 0.0));
        GC_TRY(gc_vector_glow_forward(fused, &m->params, act(m, 0), z, &m->logdet, n));
    } else {
        /* Storing: the ops keep their activations for the backward pass (the couplings' hidden
         * layers, ~23 MB per level-1 coupling at batch 16), which saves recomputing them. */
        set_activation_flags(m, m->memory == GC_MEMORY_STORE, 0);
        status = encoder_pass(m, n, init);
        set_activation_flags(m, 0, status == GC_OK && m->memory == GC_MEMORY_STORE);
        GC_TRY(status);
    }
    m->initialized = 1;
    GC_TRY(gc_prior_log_prob(&m->prior, &m->params, z, &m->logp, n));

    /* L = −(1/n) Σ_i (log p_0(z_i) + logdet_i), so ∂L/∂logp_i = ∂L/∂logdet_i = −1/n. */
    double d_term = -1.0 / (double)n;
    GC_TRY(gc_tensor_channel_sum(&m->sum_logp, &m->logp, n, 1, 1));
    GC_TRY(gc_tensor_channel_sum(&m->sum_logdet, &m->logdet, n, 1, 1));
    GC_TRY(gc_tensor_fill(&m->grads, 0.0));
    GC_TRY(gc_prior_backward(&m->prior, &m->params, &m->grads, z, &m->dz, d_term, n));
    if (fused)
        GC_TRY(gc_vector_glow_backward(fused, &m->params, &m->grads, act(m, 0), &m->dz, d_term, n));
    for (size_t i = fused ? 0 : m->op_count; i-- > 0;) {
        gc_op *op = m->ops[i];
        /* Low memory: op i's input is rebuilt from its output by the op's own inverse (the
         * splits decode from the halves they factored out); the log-det it adds is not used
         * any more. */
        if (m->memory == GC_MEMORY_LOW) {
            GC_TRY(op->vt->transform(op, &m->params, act(m, i + 1), act(m, i), &m->logdet, n, -1));
            op->reuse_activations = 1; /* the decoder saw the same conditioning half */
        }
        status = op->vt->backward(op, &m->params, &m->grads, act(m, i), &m->dz, &m->dx, d_term, n);
        op->reuse_activations = 0;
        if (status != GC_OK) {
            set_activation_flags(m, 0, 0);
            return status;
        }
        gc_tensor swap = m->dz;
        m->dz = m->dx;
        m->dx = swap;
    }
    if (grad_norm_squared) GC_TRY(gc_tensor_sum_squares(&m->grad_norm, &m->grads, m->reg.total));
    double sums[3];
    const gc_tensor *const sum_tensors[3] = {&m->sum_logp, &m->sum_logdet, &m->grad_norm};
    GC_TRY(gc_tensor_read_firsts(sum_tensors, grad_norm_squared ? 3 : 2, sums));
    *loss = -(sums[0] + sums[1]) / (double)n;
    if (grad_norm_squared) *grad_norm_squared = sums[2];
    return GC_OK;
}

gc_status gc_model_gradient(gc_model *m, const double *x, size_t n, double *loss, double *grads)
{
    GC_TRY(forward_backward(m, x, n, loss, NULL));
    return grads ? gc_tensor_download(&m->grads, grads) : GC_OK;
}

static gc_status adam_step(gc_model *m, const gc_adam_config *a)
{
    m->steps++;
    double t = (double)m->steps;
    double step_size = a->lr / (1.0 - pow(a->beta1, t));
    double v_scale = 1.0 / sqrt(1.0 - pow(a->beta2, t));
    size_t count = m->reg.total;
    if (a->adamax) {
        if (m->rt->backend == GC_BACKEND_OPENCL)
            return GC_LAUNCH1D(m->rt, m->adamax_kernel, count, GC_ELEMENTWISE_LOCAL,
                               GC_MEM(&m->params), GC_MEM(&m->grads), GC_MEM(&m->adam_m),
                               GC_MEM(&m->adam_v), GC_U32(count), GC_F32(a->beta1),
                               GC_F32(a->beta2), GC_F32(step_size), GC_F32(a->eps));
        double *p = m->params.host, *g = m->grads.host, *mm = m->adam_m.host;
        double *uu = m->adam_v.host;
        for (size_t j = 0; j < count; j++) {
            mm[j] = a->beta1 * mm[j] + (1.0 - a->beta1) * g[j];
            uu[j] = fmax(a->beta2 * uu[j], fabs(g[j]));
            p[j] -= step_size * mm[j] / (uu[j] + a->eps);
        }
        return GC_OK;
    }
    if (m->rt->backend == GC_BACKEND_OPENCL)
        return GC_LAUNCH1D(m->rt, m->adam_kernel, count, GC_ELEMENTWISE_LOCAL, GC_MEM(&m->params),
                           GC_MEM(&m->grads), GC_MEM(&m->adam_m), GC_MEM(&m->adam_v), GC_U32(count),
                           GC_F32(a->beta1), GC_F32(a->beta2), GC_F32(step_size), GC_F32(v_scale),
                           GC_F32(a->eps));
    double *p = m->params.host, *g = m->grads.host, *mm = m->adam_m.host, *vv = m->adam_v.host;
    for (size_t j = 0; j < count; j++) {
        mm[j] = a->beta1 * mm[j] + (1.0 - a->beta1) * g[j];
        vv[j] = a->beta2 * vv[j] + (1.0 - a->beta2) * g[j] * g[j];
        p[j] -= step_size * mm[j] / (sqrt(vv[j]) * v_scale + a->eps);
    }
    return GC_OK;
}

void gc_model_set_gradient_reducer(gc_model *m, gc_gradient_reducer reduce, void *context)
{
    m->reduce = reduce;
    m->reduce_context = context;
}

/* Hands the gradient and loss to the reducer through the host and puts the combined gradient
 * back; its norm² is taken on the backend (forward_backward skips it when there is a reducer),
 * so the clip and the non-finite check see the combined gradient. */
static gc_status reduce_gradient(gc_model *m, double *loss, double *grad_norm_squared)
{
    size_t count = m->reg.total;
    if (!m->reduce_host) {
        m->reduce_host = malloc((count ? count : 1) * sizeof *m->reduce_host);
        if (!m->reduce_host) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    }
    GC_TRY(gc_tensor_download(&m->grads, m->reduce_host));
    GC_TRY(m->reduce(m->reduce_context, m->reduce_host, count, loss));
    GC_TRY(gc_tensor_upload(&m->grads, m->reduce_host));
    GC_TRY(gc_tensor_sum_squares(&m->grad_norm, &m->grads, count));
    return gc_tensor_read(&m->grad_norm, 0, grad_norm_squared, 1);
}

gc_status gc_model_train_step(gc_model *m, const double *x, size_t n, const gc_adam_config *adam,
                              double *loss)
{
    double norm = 0.0;
    /* With a reducer the norm is that of the combined gradient, so it is taken only then. */
    GC_TRY(forward_backward(m, x, n, loss, m->reduce ? NULL : &norm));
    if (m->reduce) GC_TRY(reduce_gradient(m, loss, &norm));
    if (!isfinite(*loss) || !isfinite(norm))
        return GC_ERROR(GC_ERR_NUMERIC, "non-finite %s at step %llu (loss %g, gradient norm² %g)",
                        isfinite(*loss) ? "gradient" : "loss", (unsigned long long)m->steps + 1,
                        *loss, norm);
    m->last_grad_norm = sqrt(norm);
    if (adam->clip_norm > 0 && m->last_grad_norm > adam->clip_norm)
        GC_TRY(gc_tensor_scale(&m->grads, adam->clip_norm / m->last_grad_norm));
    return adam_step(m, adam);
}

double gc_model_last_grad_norm(const gc_model *m) { return m->last_grad_norm; }

gc_status gc_model_get_params(const gc_model *m, double *params)
{
    return gc_tensor_read(&m->params, 0, params, m->reg.total);
}

gc_status gc_model_set_params(gc_model *m, const double *params)
{
    return gc_tensor_write(&m->params, 0, params, m->reg.total);
}

const char *gc_model_param_name(const gc_model *m, size_t index, int *trained)
{
    for (size_t b = 0; b < m->reg.count; b++) {
        const gc_param_block *block = &m->reg.blocks[b];
        if (index >= block->offset && index < block->offset + block->count) {
            if (trained) *trained = !block->fixed;
            return block->name;
        }
    }
    if (trained) *trained = 0;
    return NULL;
}
