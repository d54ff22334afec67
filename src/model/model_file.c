/* model.glowcl: a model's config, parameters, Adam moments and step count in the sectioned,
 * CRC-checked container of archive.c, written atomically, and optionally the training run's
 * own state (section "train_state"). Loading rebuilds the model from its config and checks
 * that the parameter layout is the one this build makes. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glowcl/archive.h"
#include "model/model_internal.h"

enum { FILE_KIND_MODEL = 1 };

static const char *kind_name(gc_model_kind kind)
{
    return kind == GC_MODEL_AFFINE ? "affine" : kind == GC_MODEL_IMAGE ? "image" : "glow";
}

/* The "train_state" section: u64 words [layout version 1, step, data_position, the rng's
 * GC_RNG_EXPORT_WORDS words of gc_rng_export]. */
enum { TRAIN_STATE_VERSION = 1, TRAIN_STATE_WORDS = 3 + GC_RNG_EXPORT_WORDS };

/* Where a streamed parameter-sized section of a model file comes from. */
typedef struct tensor_source {
    const gc_model *model;
    const gc_tensor *tensor;
    int which; /* 0 parameters, 1 and 2 the optimiser's moments */
    const char *path;
} tensor_source;

/* Test-only fault injection: GLOWCL_FAULT_SIGNAL_IN_SAVE=N raises signal N once the first
 * values of the parameters are on their way to the temporary file, as if the user had pressed
 * Ctrl-C (again) in the middle of the write. tests/cli_test.sh uses it to check that a second
 * SIGINT during a save leaves neither a temporary file nor a changed checkpoint. */
static void fault_signal_in_save(void)
{
    const char *signal_number = getenv("GLOWCL_FAULT_SIGNAL_IN_SAVE");
    if (signal_number && atoi(signal_number) > 0) raise(atoi(signal_number));
}

/* gc_archive_f64_source for model files: reads the values from the device (or the reference
 * path's host memory) and refuses non-finite ones. A model that has gone non-finite is never
 * written over a good one (nor is one whose optimiser state has: the loader would refuse the
 * file): the error stops the commit and the temporary file is dropped. */
static gc_status read_finite_values(void *context, size_t first, double *values, size_t count)
{
    const tensor_source *source = context;
    GC_TRY(gc_tensor_read(source->tensor, first, values, count));
    for (size_t i = 0; i < count; i++)
        if (!(values[i] - values[i] == 0.0))
            return GC_ERROR(GC_ERR_NUMERIC, "not saving %s: %s %s is not finite", source->path,
                            source->which == 0 ? "parameter" : "the Adam moment of",
                            gc_model_param_name(source->model, first + i, NULL));
    if (source->which == 0 && first == 0) fault_signal_in_save();
    return GC_OK;
}

gc_status gc_model_save(const gc_model *m, const char *path)
{
    return gc_model_save_with_state(m, NULL, path);
}

gc_status gc_model_save_with_state(const gc_model *m, const gc_train_state *state, const char *path)
{
    const gc_model_config *c = &m->config;
    char config[768];
    snprintf(config, sizeof config,
             "file=model\nkind=%s\ndim=%zu\nlayers=%d\nhidden=%zu\ndepth=%d\nprior=%s\n"
             "mix_components=%d\nmix_fixed=%d\nchannels=%zu\nheight=%zu\nwidth=%zu\n"
             "levels=%d\nadditive=%d\nsplit_standard=%d\ninitialized=%d\nsteps=%llu\n",
             kind_name(c->kind), c->dim, c->layers, c->hidden, c->depth,
             c->prior == GC_PRIOR_MIX ? "mix" : "gauss", c->mix_components, c->mix_fixed,
             c->channels, c->height, c->width, c->levels, c->additive, c->split_standard,
             m->initialized, (unsigned long long)m->steps);
    /* The layout, one "name offset count" line per block, so a loader can tell a file made by
     * another version of the ops from a corrupted one. */
    size_t layout_size = m->reg.count * 80 + 1;
    char *layout = malloc(layout_size);
    gc_status status = layout ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    size_t used = 0;
    if (layout) layout[0] = '\0';
    for (size_t b = 0; status == GC_OK && b < m->reg.count; b++) {
        const gc_param_block *block = &m->reg.blocks[b];
        used += (size_t)snprintf(layout + used, layout_size - used, "%s %zu %zu\n", block->name,
                                 block->offset, block->count);
    }
    gc_archive_writer *w = NULL;
    if (status == GC_OK) status = gc_archive_writer_open(&w, path);
    if (status == GC_OK) status = gc_archive_put_text(w, "config", config);
    if (status == GC_OK) status = gc_archive_put_text(w, "layout", layout);
    /* The three parameter-sized tensors (177 MB each for the default image model) go to the
     * file a chunk at a time as it is written, never whole in host memory. */
    tensor_source sources[3] = {
        {m, &m->params, 0, path}, {m, &m->adam_m, 1, path}, {m, &m->adam_v, 2, path}};
    const char *sections[3] = {"params", "adam_m", "adam_v"};
    for (int t = 0; t < 3 && status == GC_OK; t++)
        status = gc_archive_put_f64_source(w, sections[t], m->reg.total, read_finite_values,
                                           &sources[t]);
    if (status == GC_OK && state) {
        uint64_t words[TRAIN_STATE_WORDS] = {TRAIN_STATE_VERSION, state->step,
                                             state->data_position};
        gc_rng_export(&state->rng, words + 3);
        status = gc_archive_put_u64(w, "train_state", words, TRAIN_STATE_WORDS);
    }
    if (status == GC_OK)
        status = gc_archive_writer_commit(w);
    else if (w)
        gc_archive_writer_abort(w);
    free(layout);
    return status;
}

/* An int field of the config; a value outside int's range is a bad file, not a wrapped one. */
static gc_status read_int(const char *text, const char *path, const char *key, int *value)
{
    long number = 0;
    GC_TRY(gc_config_get_long(text, key, &number));
    if (number < INT_MIN || number > INT_MAX)
        return GC_ERROR(GC_ERR_FORMAT, "%s: %s=%ld is out of range", path, key, number);
    *value = (int)number;
    return GC_OK;
}

static gc_status read_config(const char *text, const char *path, gc_model_config *c,
                             long *initialized, long *steps)
{
    char value[32];
    long number = 0;
    GC_TRY(gc_config_get_string(text, "file", value, sizeof value));
    if (strcmp(value, "model") != 0)
        return GC_ERROR(GC_ERR_FORMAT, "%s holds a %s, not a model", path, value);
    GC_TRY(gc_config_get_string(text, "kind", value, sizeof value));
    if (strcmp(value, "glow") == 0)
        c->kind = GC_MODEL_GLOW;
    else if (strcmp(value, "affine") == 0)
        c->kind = GC_MODEL_AFFINE;
    else if (strcmp(value, "image") == 0)
        c->kind = GC_MODEL_IMAGE;
    else
        return GC_ERROR(GC_ERR_FORMAT, "%s: unknown model kind '%s'", path, value);
    GC_TRY(gc_config_get_long(text, "dim", &number));
    c->dim = number > 0 ? (size_t)number : 0;
    GC_TRY(read_int(text, path, "layers", &c->layers));
    GC_TRY(gc_config_get_long(text, "hidden", &number));
    c->hidden = number > 0 ? (size_t)number : 0;
    GC_TRY(read_int(text, path, "depth", &c->depth));
    GC_TRY(gc_config_get_string(text, "prior", value, sizeof value));
    if (strcmp(value, "gauss") == 0)
        c->prior = GC_PRIOR_GAUSS;
    else if (strcmp(value, "mix") == 0)
        c->prior = GC_PRIOR_MIX;
    else
        return GC_ERROR(GC_ERR_FORMAT, "%s: unknown prior '%s'", path, value);
    GC_TRY(read_int(text, path, "mix_components", &c->mix_components));
    GC_TRY(gc_config_get_long(text, "mix_fixed", &number));
    c->mix_fixed = number != 0;
    long image[6];
    const char *keys[6] = {"channels", "height", "width", "levels", "additive", "split_standard"};
    for (int k = 0; k < 6; k++) {
        GC_TRY(gc_config_get_long(text, keys[k], &image[k]));
        if (image[k] < 0) return GC_ERROR(GC_ERR_FORMAT, "%s: negative %s", path, keys[k]);
    }
    c->channels = (size_t)image[0];
    c->height = (size_t)image[1];
    c->width = (size_t)image[2];
    if (image[3] > INT_MAX) return GC_ERROR(GC_ERR_FORMAT, "%s: levels is out of range", path);
    c->levels = (int)image[3];
    c->additive = image[4] != 0;
    c->split_standard = image[5] != 0;
    GC_TRY(gc_config_get_long(text, "initialized", initialized));
    return gc_config_get_long(text, "steps", steps);
}

/* The "train_state" section, if there is one. */
static gc_status read_train_state(const gc_archive *a, const char *path, gc_train_state *state,
                                  int *has_state)
{
    *has_state = 0;
    if (!gc_archive_has(a, "train_state")) return GC_OK;
    uint64_t words[TRAIN_STATE_WORDS];
    gc_status status = gc_archive_get_u64(a, "train_state", words, TRAIN_STATE_WORDS);
    if (status != GC_OK)
        return GC_ERROR(GC_ERR_FORMAT, "%s: malformed training state: %s", path, gc_last_error());
    if (words[0] != TRAIN_STATE_VERSION)
        return GC_ERROR(GC_ERR_FORMAT, "%s: training state of layout %llu (this glowcl reads %d)",
                        path, (unsigned long long)words[0], TRAIN_STATE_VERSION);
    gc_train_state loaded;
    loaded.step = words[1];
    loaded.data_position = words[2];
    if (gc_rng_import(&loaded.rng, words + 3) != GC_OK)
        return GC_ERROR(GC_ERR_FORMAT, "%s: training state holds an invalid generator", path);
    *state = loaded;
    *has_state = 1;
    return GC_OK;
}

gc_status gc_model_load(gc_model **model_out, gc_runtime *rt, const char *path)
{
    return gc_model_load_with_state(model_out, rt, path, NULL, NULL);
}

gc_status gc_model_load_with_state(gc_model **model_out, gc_runtime *rt, const char *path,
                                   gc_train_state *state, int *has_state)
{
    *model_out = NULL;
    if (has_state) *has_state = 0;
    gc_archive *a = NULL;
    GC_TRY(gc_archive_read(&a, path));
    const char *text = NULL, *layout = NULL;
    gc_model_config config;
    gc_model_config_default(&config, 2);
    long initialized = 0, steps = 0;
    gc_status status = gc_archive_get_text(a, "config", &text);
    if (status == GC_OK) status = read_config(text, path, &config, &initialized, &steps);
    if (status == GC_OK && (initialized < 0 || steps < 0))
        status = GC_ERROR(GC_ERR_FORMAT, "%s: negative step count", path);
    gc_model *m = NULL;
    if (status == GC_OK) {
        status = gc_model_alloc(&m, rt, &config);
        if (status == GC_ERR_ARGUMENT) /* a config this build cannot make is a bad file */
            status = GC_ERROR(GC_ERR_FORMAT, "%s: invalid model config: %s", path, gc_last_error());
    }
    if (status == GC_OK) status = gc_archive_get_text(a, "layout", &layout);
    /* The file's parameter layout must be exactly the one this build makes. */
    for (size_t b = 0; status == GC_OK && b < m->reg.count; b++) {
        const gc_param_block *block = &m->reg.blocks[b];
        char line[96];
        int length =
            snprintf(line, sizeof line, "%s %zu %zu\n", block->name, block->offset, block->count);
        if (strncmp(layout, line, (size_t)length) != 0)
            status = GC_ERROR(GC_ERR_FORMAT,
                              "%s: parameter layout differs from this build's at "
                              "%s (a file from another glowcl version?)",
                              path, block->name);
        else
            layout += length;
    }
    if (status == GC_OK && *layout)
        status = GC_ERROR(GC_ERR_FORMAT, "%s: more parameters than this model has", path);
    size_t count = m ? m->reg.total : 0;
    double *values = status == GC_OK ? malloc((count ? count : 1) * sizeof *values) : NULL;
    if (status == GC_OK && !values) status = GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    const char *sections[3] = {"params", "adam_m", "adam_v"};
    gc_tensor *targets[3] = {m ? &m->params : NULL, m ? &m->adam_m : NULL, m ? &m->adam_v : NULL};
    for (int k = 0; status == GC_OK && k < 3; k++) {
        status = gc_archive_get_f64(a, sections[k], values, count);
        for (size_t i = 0; status == GC_OK && i < count; i++)
            if (!(values[i] - values[i] == 0.0))
                status = GC_ERROR(GC_ERR_FORMAT, "%s: section %s holds a non-finite value", path,
                                  sections[k]);
        if (status == GC_OK) status = gc_tensor_write(targets[k], 0, values, count);
    }
    free(values);
    gc_train_state loaded_state;
    int loaded_has_state = 0;
    if (status == GC_OK && state)
        status = read_train_state(a, path, &loaded_state, &loaded_has_state);
    gc_archive_free(a);
    if (status != GC_OK) {
        gc_model_free(m);
        return status;
    }
    if (loaded_has_state) *state = loaded_state;
    if (has_state) *has_state = loaded_has_state;
    m->initialized = initialized != 0;
    m->steps = (uint64_t)steps;
    *model_out = m;
    return GC_OK;
}
