/* libFuzzer target: gc_model_load_with_state (src/model/model_file.c) on the reference backend.
 * An input is either
 *   - a model file (it starts with the archive magic byte 0x89), whose CRCs the harness
 *     repairs, so mutations reach the config and layout parsing behind the container; or
 *   - "config text NUL layout text NUL bytes": the harness packs it into a model file whose
 *     params, adam_m and adam_v sections hold as many values as the layout's blocks add up to,
 *     value i being the signed byte (i mod n) of the rest divided by 16, so that a mutation may
 *     grow or shrink the text without breaking the container.
 * A model that loads is scored, sampled, saved and loaded again, and must come back with the
 * same parameters.
 *
 * Configs that ask for a large model are skipped: they are valid, and building them would only
 * make each run slow (the loader's size limits are for real models, not for fuzzing); image
 * sizes whose product overflows are not skipped. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "glowcl/archive.h"
#include "glowcl/flow.h"
#include "glowcl/rng.h"
#include "glowcl/runtime.h"

/* Largest values of each size key that the harness lets through to the loader; values of the
 * int fields beyond INT_MAX go through too (the loader must refuse them, not wrap them). */
static const struct {
    const char *key;
    long max;
    int is_int;
} LIMITS[] = {{"dim", 768, 0},     {"layers", 3, 1},  {"hidden", 16, 0}, {"depth", 3, 1},
              {"channels", 12, 0}, {"height", 16, 0}, {"width", 16, 0},  {"levels", 8, 1}};

/* The numbers a loaded model must save back unchanged. */
static const char *const NUMBERS[] = {"dim",      "layers", "hidden", "depth",  "mix_components",
                                      "channels", "height", "width",  "levels", "steps"};

static int config_too_large(const char *text)
{
    /* An image size whose channels x height x width overflows is no real model: the loader must
     * refuse it before building anything, so it goes through. */
    long image[3] = {0, 0, 0};
    unsigned long product = 1;
    int overflow = 0;
    const char *keys[3] = {"channels", "height", "width"};
    for (int k = 0; k < 3; k++) {
        if (gc_config_get_long(text, keys[k], &image[k]) != GC_OK || image[k] <= 0) break;
        overflow |= __builtin_mul_overflow(product, (unsigned long)image[k], &product);
    }
    if (overflow) return 0;
    for (size_t k = 0; k < sizeof LIMITS / sizeof *LIMITS; k++) {
        long value = 0;
        /* Unparsable and negative values go through: the loader must refuse them. */
        if (gc_config_get_long(text, LIMITS[k].key, &value) == GC_OK && value > LIMITS[k].max &&
            !(LIMITS[k].is_int && value > INT_MAX))
            return 1;
    }
    return 0;
}

static int file_too_large(const uint8_t *file, size_t size)
{
    gc_archive *a = NULL;
    if (gc_archive_read_memory(&a, file, size, "fuzz") != GC_OK) return 0;
    const char *text = NULL;
    int large = gc_archive_get_text(a, "config", &text) == GC_OK && config_too_large(text);
    gc_archive_free(a);
    return large;
}

/* Values the layout text "name offset count" lines ask for: the largest offset + count. */
static size_t layout_total(const char *layout)
{
    size_t total = 0;
    for (const char *line = layout; *line;) {
        unsigned long long offset = 0, count = 0;
        if (sscanf(line, "%*s %llu %llu", &offset, &count) == 2 && offset < (1u << 20) &&
            count < (1u << 20) && offset + count > total)
            total = (size_t)(offset + count);
        const char *end = strchr(line, '\n');
        if (!end) break;
        line = end + 1;
    }
    return total;
}

/* Packs "config NUL layout NUL bytes" into a model file at `path`; 0 when the input does not
 * have that shape or asks for too large a model. */
static int pack(const uint8_t *data, size_t size, const char *path)
{
    const uint8_t *nul = memchr(data, 0, size);
    if (!nul) return 0;
    const uint8_t *layout_start = nul + 1;
    const uint8_t *nul2 = memchr(layout_start, 0, size - (size_t)(layout_start - data));
    if (!nul2) return 0;
    const char *config = (const char *)data, *layout = (const char *)layout_start;
    if (config_too_large(config)) return 0;
    const int8_t *bytes = (const int8_t *)(nul2 + 1);
    size_t byte_count = size - (size_t)(nul2 + 1 - data);
    size_t count = layout_total(layout);
    double *values = malloc((count ? count : 1) * sizeof *values);
    FUZZ_CHECK(values != NULL);
    for (size_t i = 0; i < count; i++) values[i] = byte_count ? bytes[i % byte_count] / 16.0 : 0.0;
    gc_archive_writer *w = NULL;
    FUZZ_CHECK(gc_archive_writer_open(&w, path) == GC_OK);
    FUZZ_CHECK(gc_archive_put_text(w, "config", config) == GC_OK);
    FUZZ_CHECK(gc_archive_put_text(w, "layout", layout) == GC_OK);
    FUZZ_CHECK(gc_archive_put_f64(w, "params", values, count) == GC_OK);
    FUZZ_CHECK(gc_archive_put_f64(w, "adam_m", values, count) == GC_OK);
    FUZZ_CHECK(gc_archive_put_f64(w, "adam_v", values, count) == GC_OK);
    FUZZ_CHECK(gc_archive_writer_commit(w) == GC_OK);
    free(values);
    return 1;
}

static gc_runtime *runtime(void)
{
    static gc_runtime *rt;
    if (!rt && gc_runtime_open_reference(&rt) != GC_OK) abort();
    return rt;
}

/* The config text of a model file (in a malloc'ed copy). */
static char *config_text(const char *path)
{
    gc_archive *a = NULL;
    const char *text = NULL;
    FUZZ_CHECK(gc_archive_read(&a, path) == GC_OK);
    FUZZ_CHECK(gc_archive_get_text(a, "config", &text) == GC_OK);
    char *copy = strdup(text);
    FUZZ_CHECK(copy != NULL);
    gc_archive_free(a);
    return copy;
}

static void exercise(gc_model *model, const char *path, const char *copy_path,
                     const gc_train_state *state)
{
    const gc_model_config *config = gc_model_get_config(model);
    size_t dim = config->dim, n = 2;
    double *x = calloc(n * dim, sizeof *x), *log_p = calloc(n, sizeof *log_p);
    FUZZ_CHECK(x && log_p);
    for (size_t i = 0; i < n * dim; i++) x[i] = config->kind == GC_MODEL_IMAGE ? 0.25 : 0.5;
    (void)gc_model_log_prob(model, x, n, log_p);
    gc_rng rng;
    gc_rng_seed(&rng, 7);
    (void)gc_model_sample(model, n, 0.7, &rng, x);
    free(x);
    free(log_p);

    /* Save and load again: the same parameters, bit for bit. */
    size_t count = gc_model_param_count(model);
    double *before = calloc(count ? count : 1, sizeof *before);
    double *after = calloc(count ? count : 1, sizeof *after);
    FUZZ_CHECK(before && after);
    FUZZ_CHECK(gc_model_get_params(model, before) == GC_OK);
    FUZZ_CHECK(gc_model_save_with_state(model, state, copy_path) == GC_OK);
    gc_model *again = NULL;
    gc_train_state state_again;
    int has_state = 0;
    FUZZ_CHECK(gc_model_load_with_state(&again, runtime(), copy_path, &state_again, &has_state) ==
               GC_OK);
    FUZZ_CHECK(has_state == (state != NULL));
    if (state) {
        uint64_t a[GC_RNG_EXPORT_WORDS], b[GC_RNG_EXPORT_WORDS];
        gc_rng_export(&state->rng, a);
        gc_rng_export(&state_again.rng, b);
        FUZZ_CHECK(state_again.step == state->step &&
                   state_again.data_position == state->data_position &&
                   memcmp(a, b, sizeof a) == 0);
    }
    FUZZ_CHECK(gc_model_param_count(again) == count);
    FUZZ_CHECK(gc_model_get_params(again, after) == GC_OK);
    FUZZ_CHECK(count == 0 || memcmp(before, after, count * sizeof *after) == 0);
    FUZZ_CHECK(gc_model_steps(again) == gc_model_steps(model));
    char *loaded = config_text(path), *saved = config_text(copy_path);
    for (size_t k = 0; k < sizeof NUMBERS / sizeof *NUMBERS; k++) {
        long a = 0, b = 0;
        FUZZ_CHECK(gc_config_get_long(loaded, NUMBERS[k], &a) == GC_OK);
        FUZZ_CHECK(gc_config_get_long(saved, NUMBERS[k], &b) == GC_OK);
        if (a != b) fprintf(stderr, "%s=%ld loaded, saved as %ld\n", NUMBERS[k], a, b);
        FUZZ_CHECK(a == b);
    }
    free(loaded);
    free(saved);
    gc_model_free(again);
    free(before);
    free(after);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[128], copy_path[128];
    fuzz_path(path, sizeof path, "model.glowcl");
    fuzz_path(copy_path, sizeof copy_path, "copy.glowcl");
    if (size > 0 && data[0] == 0x89) {
        uint8_t *file = malloc(size);
        if (!file) return 0;
        memcpy(file, data, size);
        fuzz_fix_archive_crcs(file, size);
        int large = file_too_large(file, size);
        if (!large) fuzz_write(path, file, size);
        free(file);
        if (large) return -1; /* not added to the corpus */
    } else if (!pack(data, size, path)) {
        return -1;
    }

    gc_model *model = NULL;
    gc_train_state state;
    int has_state = 0;
    gc_status status = gc_model_load_with_state(&model, runtime(), path, &state, &has_state);
    FUZZ_CHECK((status == GC_OK) == (model != NULL));
    if (status == GC_OK) {
        exercise(model, path, copy_path, has_state ? &state : NULL);
        gc_model_free(model);
    }
    return 0;
}
