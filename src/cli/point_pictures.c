/* The pictures of a trained 2-D model (point_pictures.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glowcl/plot.h"
#include "point_pictures.h"

static const gc_rgb BLUE = {31, 119, 180}, ORANGE = {255, 127, 14}, GREEN = {44, 160, 44};

/* The points and their latents, split by label: the upper moon (or all of the user's data)
 * in the first series, the lower moon in the second. */
typedef struct labelled {
    double *points[2], *latents[2];
    size_t count[2];
} labelled;

static gc_status split_by_label(gc_model *model, const double *data, const int *labels, size_t n,
                                labelled *out)
{
    double *z = malloc(n * 2 * sizeof *z);
    for (int k = 0; k < 2; k++) {
        out->points[k] = malloc(n * 2 * sizeof *out->points[k]);
        out->latents[k] = malloc(n * 2 * sizeof *out->latents[k]);
        out->count[k] = 0;
    }
    gc_status status = z && out->points[0] && out->points[1] && out->latents[0] && out->latents[1]
                           ? gc_model_encode(model, data, n, z, NULL)
                           : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    for (size_t i = 0; status == GC_OK && i < n; i++) {
        int k = labels && labels[i];
        size_t at = out->count[k]++;
        memcpy(out->points[k] + 2 * at, data + 2 * i, 2 * sizeof *data);
        memcpy(out->latents[k] + 2 * at, z + 2 * i, 2 * sizeof *z);
    }
    free(z);
    return status;
}

static void free_labelled(labelled *l)
{
    for (int k = 0; k < 2; k++) {
        free(l->points[k]);
        free(l->latents[k]);
    }
}

/* The two-moons' own range, or the user's data's with a margin of a tenth. */
static gc_plot_range plot_range(const double *data, const int *labels, size_t n)
{
    gc_plot_range range = {-1.5, 2.5, -1.0, 1.5};
    if (labels) return range;
    range.xmin = range.ymin = INFINITY;
    range.xmax = range.ymax = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        range.xmin = fmin(range.xmin, data[2 * i]);
        range.xmax = fmax(range.xmax, data[2 * i]);
        range.ymin = fmin(range.ymin, data[2 * i + 1]);
        range.ymax = fmax(range.ymax, data[2 * i + 1]);
    }
    double mx = 0.1 * (range.xmax - range.xmin) + 1e-9;
    double my = 0.1 * (range.ymax - range.ymin) + 1e-9;
    range.xmin -= mx, range.xmax += mx, range.ymin -= my, range.ymax += my;
    return range;
}

/* data.png, samples.png and latent.png. */
static gc_status plot_points(gc_model *model, const char *dir, const labelled *l,
                             int labelled_moons, size_t n, gc_plot_range range, uint64_t seed,
                             const char *title)
{
    char path[4096], heading[160];
    const char *first = labelled_moons ? "upper moon" : "data";
    gc_scatter_series split[2] = {{l->points[0], l->count[0], BLUE, first},
                                  {l->points[1], l->count[1], ORANGE, "lower moon"}};
    snprintf(path, sizeof path, "%s/data.png", dir);
    snprintf(heading, sizeof heading, "data (%zu points)", n);
    GC_TRY(gc_plot_scatter(path, heading, split, labelled_moons ? 2 : 1, &range, 640, 640));
    double *samples = malloc(n * 2 * sizeof *samples);
    if (!samples) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_rng rng;
    gc_rng_seed_stream(&rng, seed, 7);
    gc_status status = gc_model_sample(model, n, 1.0, &rng, samples);
    if (status == GC_OK) {
        gc_scatter_series series[1] = {{samples, n, GREEN, "samples"}};
        snprintf(path, sizeof path, "%s/samples.png", dir);
        snprintf(heading, sizeof heading, "samples, %s", title);
        status = gc_plot_scatter(path, heading, series, 1, &range, 640, 640);
    }
    free(samples);
    GC_TRY(status);
    split[0].xy = l->latents[0];
    split[1].xy = l->latents[1];
    gc_plot_range latent = {-4, 4, -4, 4};
    snprintf(path, sizeof path, "%s/latent.png", dir);
    snprintf(heading, sizeof heading, "data mapped to latent z, %s", title);
    return gc_plot_scatter(path, heading, split, labelled_moons ? 2 : 1, &latent, 640, 640);
}

/* density.png: the model's p(x) on a grid over the range. */
static gc_status plot_density(gc_model *model, const char *dir, gc_plot_range range,
                              const char *title)
{
    enum { GRID = 160 };
    double *grid = malloc(GRID * GRID * 2 * sizeof *grid);
    double *density = malloc(GRID * GRID * sizeof *density);
    gc_status status = grid && density ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    if (status == GC_OK) {
        double width = range.xmax - range.xmin, height = range.ymax - range.ymin;
        for (int j = 0; j < GRID; j++)
            for (int i = 0; i < GRID; i++) {
                grid[2 * (j * GRID + i)] = range.xmin + (i + 0.5) * width / GRID;
                grid[2 * (j * GRID + i) + 1] = range.ymin + (j + 0.5) * height / GRID;
            }
        status = gc_model_log_prob(model, grid, GRID * GRID, density);
    }
    if (status == GC_OK) {
        char path[4096], heading[160];
        for (int i = 0; i < GRID * GRID; i++) density[i] = exp(density[i]);
        snprintf(path, sizeof path, "%s/density.png", dir);
        snprintf(heading, sizeof heading, "model density p(x), %s", title);
        status = gc_plot_density(path, heading, density, GRID, GRID, range, 640, 640);
    }
    free(grid);
    free(density);
    return status;
}

gc_status cli_point_pictures(gc_model *model, const char *dir, const double *data,
                             const int *labels, size_t n, const double *losses, size_t steps,
                             uint64_t seed, const char *title)
{
    if (gc_model_get_config(model)->dim != 2) return GC_OK; /* scatter plots are for 2-D data */
    labelled l;
    gc_status status = split_by_label(model, data, labels, n, &l);
    gc_plot_range range = plot_range(data, labels, n);
    if (status == GC_OK)
        status = plot_points(model, dir, &l, labels != NULL, n, range, seed, title);
    free_labelled(&l);
    if (status == GC_OK) status = plot_density(model, dir, range, title);
    if (status == GC_OK && losses) {
        char path[4096], heading[160];
        snprintf(path, sizeof path, "%s/loss.png", dir);
        snprintf(heading, sizeof heading, "training loss, %s", title);
        status = gc_plot_lines(path, heading, "step", "NLL (nats)", NULL, losses, steps, 640, 480);
    }
    return status;
}
