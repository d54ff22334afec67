/* The --data sets of images and grids of samples (image_files.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "exit_codes.h"
#include "glowcl/plot.h"
#include "image_files.h"
#include "scores.h"

int cli_load_images(const char *spec, const char *split, size_t max_images, gc_image_set *set)
{
    gc_status status;
    if (strncmp(spec, "cifar10:", 8) == 0)
        status = gc_cifar10_load(set, spec + 8, split, max_images);
    else if (strncmp(spec, "png:", 4) == 0)
        status = gc_png_folder_load(set, spec + 4, 0, 0, max_images);
    else {
        fprintf(stderr, "glowcl: --data must be cifar10:DIR or png:DIR, not '%s'\n", spec);
        return EXIT_USAGE;
    }
    return status == GC_OK ? EXIT_OK : cli_fail(status);
}

gc_status cli_sample_grid(gc_model *model, const char *path, int count, double temperature,
                          uint64_t seed, int n_bits)
{
    const gc_model_config *c = gc_model_get_config(model);
    size_t dims = c->channels * c->height * c->width;
    double *x = malloc((size_t)count * dims * sizeof *x);
    float *pixels = malloc((size_t)count * dims * sizeof *pixels);
    gc_status status = x && pixels ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_rng rng;
    gc_rng_seed_stream(&rng, seed, 5);
    if (status == GC_OK) status = gc_model_sample(model, (size_t)count, temperature, &rng, x);
    /* A non-finite value would show as a black or white pixel, as if it were one. */
    if (status == GC_OK)
        status =
            cli_require_finite(x, (size_t)count, dims, "the model's output", "sample", "the grid");
    /* Back to the n-bit levels the data had, as the Glow paper shows its samples. */
    double levels = (double)(1 << n_bits);
    for (size_t i = 0; status == GC_OK && i < (size_t)count * dims; i++)
        pixels[i] = (float)(floor(fmin(fmax(x[i], 0.0), 0.999999) * levels) / (levels - 1));
    if (status == GC_OK)
        status =
            gc_image_grid(path, pixels, count, (int)c->channels, (int)c->height, (int)c->width, 8);
    free(x);
    free(pixels);
    return status;
}
