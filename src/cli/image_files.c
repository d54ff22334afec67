/* The --data sets of images and grids of samples (image_files.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_files.h"
#include "errors.h"
#include "exit_codes.h"
#include "glowcl/npy.h"
#include "glowcl/plot.h"
#include "image_files.h"
#include "scores.h"

int cli_check_image_flags(const cli_image_flags *flags)
{
    if (flags->layout && strcmp(flags->layout, "nhwc") != 0 && strcmp(flags->layout, "nchw") != 0) {
        fprintf(stderr, "glowcl: --layout must be nhwc or nchw, not '%s'\n", flags->layout);
        return EXIT_USAGE;
    }
    if (flags->pad < 0 || flags->pad > 4096) {
        fprintf(stderr, "glowcl: --pad must be 0..4096 pixels, not %ld\n", flags->pad);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* A uint8 NumPy array of images, read whole: the file has no splits. */
static gc_status load_npy_images(const char *path, size_t max_images, const char *layout,
                                 gc_image_set *set)
{
    gc_image_layout axes = !layout                       ? GC_LAYOUT_AUTO
                           : strcmp(layout, "nhwc") == 0 ? GC_LAYOUT_NHWC
                                                         : GC_LAYOUT_NCHW;
    gc_npy_array array;
    GC_TRY(gc_npy_read(path, &array));
    gc_status status = gc_npy_images(&array, path, axes, max_images, set);
    gc_npy_free(&array);
    return status;
}

/* --pad: the images to N x N, refused when that is smaller than they are. */
static int pad_images(const char *spec, cli_image_flags *flags, gc_image_set *set)
{
    flags->original_height = flags->original_width = 0;
    if (flags->pad == 0) return EXIT_OK;
    size_t side = (size_t)flags->pad;
    if (side < set->height || side < set->width) {
        fprintf(stderr,
                "glowcl: --pad %ld is smaller than the %zux%zu images of %s (it pads them "
                "to N x N; give N >= %zu)\n",
                flags->pad, set->height, set->width, spec,
                set->height > set->width ? set->height : set->width);
        return EXIT_USAGE;
    }
    size_t height = set->height, width = set->width;
    gc_status status = gc_image_set_pad(set, side, side);
    if (status != GC_OK) return cli_fail(status);
    if (height != side || width != side) {
        flags->original_height = height;
        flags->original_width = width;
    }
    return EXIT_OK;
}

int cli_load_images(const char *spec, const char *split, size_t max_images, cli_image_flags *flags,
                    gc_image_set *set)
{
    gc_status status;
    const char *npy = cli_npy_path(spec);
    if (strncmp(spec, "cifar10:", 8) == 0)
        status = gc_cifar10_load(set, spec + 8, split, max_images);
    else if (strncmp(spec, "png:", 4) == 0)
        status = gc_png_folder_load(set, spec + 4, 0, 0, max_images);
    else if (strncmp(spec, "idx:", 4) == 0)
        status = gc_idx_load(set, spec + 4, split, max_images);
    else if (npy)
        status = load_npy_images(npy, max_images, flags->layout, set);
    else {
        fprintf(stderr,
                "glowcl: --data must be cifar10:DIR, png:DIR, idx:DIR or npy:FILE, not '%s'\n",
                spec);
        return EXIT_USAGE;
    }
    if (status != GC_OK) return cli_fail(status);
    /* Sample grids show grey, RGB or RGBA; other channel counts have no picture. */
    if (set->channels != 1 && set->channels != 3 && set->channels != 4) {
        fprintf(stderr, "glowcl: %s: images of %zu channels; glowcl takes 1, 3 or 4\n", spec,
                set->channels);
        gc_image_set_free(set);
        return EXIT_INPUT;
    }
    return pad_images(spec, flags, set);
}

/* The model's config against the images: GC_OK, or why it cannot score them. */
gc_status cli_check_image_model(const char *model_path, const gc_model_config *c,
                                const gc_image_set *set)
{
    if (c->kind != GC_MODEL_IMAGE)
        return GC_ERROR(GC_ERR_ARGUMENT,
                        "%s is a model of %zu-dimensional points, not of "
                        "images; score points with --data moons, FILE.csv or npy:FILE",
                        model_path, c->dim);
    if (c->dim == set->channels * set->height * set->width) return GC_OK;
    /* A model trained on padded images, given the originals, wants the same --pad. */
    int pad_fits = c->channels == set->channels && c->height == c->width &&
                   c->height > set->height && c->width > set->width;
    char hint[64] = "";
    if (pad_fits) snprintf(hint, sizeof hint, " (pad them as in training: --pad %zu)", c->height);
    return GC_ERROR(GC_ERR_ARGUMENT, "the model is for %zux%zux%zu images, the data %zux%zux%zu%s",
                    c->channels, c->height, c->width, set->channels, set->height, set->width, hint);
}

void cli_print_padding_note(const cli_image_flags *flags, const gc_image_set *set, double bpd)
{
    if (!flags->original_height) return;
    double dims = (double)(set->height * set->width);
    double own = (double)(flags->original_height * flags->original_width);
    printf("padding: that is bits/dim over the %zux%zux%zu padded images (%.0f dims each, %.0f of "
           "them padding); over the pixels of the %zux%zu originals alone, with all bits charged "
           "to them, it is %.4f\n",
           set->channels, set->height, set->width, dims * (double)set->channels,
           (dims - own) * (double)set->channels, flags->original_height, flags->original_width,
           bpd * dims / own);
}

gc_status cli_image_grid(const char *path, const double *x, size_t count, size_t columns,
                         const gc_model_config *c, int n_bits, const char *what)
{
    size_t dims = c->channels * c->height * c->width;
    /* A non-finite value would show as a black or white pixel, as if it were one. */
    GC_TRY(cli_require_finite(x, count, dims, "the model's output", what, "the grid"));
    float *pixels = malloc(count * dims * sizeof *pixels);
    if (!pixels) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    /* Back to the n-bit levels the data had, as the Glow paper shows its samples. */
    double levels = (double)(1 << n_bits);
    for (size_t i = 0; i < count * dims; i++)
        pixels[i] = (float)(floor(fmin(fmax(x[i], 0.0), 0.999999) * levels) / (levels - 1));
    gc_status status = gc_image_grid(path, pixels, (int)count, (int)c->channels, (int)c->height,
                                     (int)c->width, (int)columns);
    free(pixels);
    return status;
}

gc_status cli_sample_grid(gc_model *model, const char *path, int count, double temperature,
                          uint64_t seed, int n_bits)
{
    const gc_model_config *c = gc_model_get_config(model);
    double *x = malloc((size_t)count * c->dim * sizeof *x);
    gc_status status = x ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_rng rng;
    gc_rng_seed_stream(&rng, seed, 5);
    if (status == GC_OK) status = gc_model_sample(model, (size_t)count, temperature, &rng, x);
    if (status == GC_OK) status = cli_image_grid(path, x, (size_t)count, 8, c, n_bits, "sample");
    free(x);
    return status;
}
