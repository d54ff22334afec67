/* `glowcl sample` and `glowcl eval`: use a trained model file — draw points from it (CSV or a
 * scatter PNG), or score points (two-moons or a CSV) by their negative log-likelihood. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "glowcl/data.h"
#include "glowcl/flow.h"
#include "glowcl/images.h"
#include "glowcl/plot.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int open_model(const cli_device_flags *device, const char *path, gc_runtime **rt,
                      gc_model **model)
{
    if (!path) {
        fprintf(stderr, "glowcl: --model FILE is required\n");
        return EXIT_USAGE;
    }
    int rc = cli_open_runtime(device, rt);
    if (rc) return rc;
    gc_status status = gc_model_load(model, *rt, path);
    if (status != GC_OK) {
        gc_runtime_close(*rt);
        return cli_fail(status);
    }
    return EXIT_OK;
}

int cmd_sample(int argc, char **argv)
{
    cli_device_flags device = CLI_DEVICE_FLAGS_DEFAULT;
    const char *model_path = NULL, *out = NULL;
    long n = 1000, seed = 1;
    double temperature = 1.0;
    cli_option options[] = {
        {"model", 'm', OPT_STRING, &model_path, "FILE", "a model.glowcl"},
        {"n", 'n', OPT_INT, &n, "N", "number of samples (default 1000)"},
        {"temperature", 'T', OPT_DOUBLE, &temperature, "T",
         "scale of the prior's standard deviation (default 1)"},
        {"seed", 's', OPT_INT, &seed, "N", "seed (default 1)"},
        {"out", 'o', OPT_STRING, &out, "FILE.csv|FILE.png", "where the samples go"},
        CLI_DEVICE_OPTIONS(device),
    };
    int rc = cli_parse(argc, argv, 2, options, sizeof options / sizeof options[0],
                       "Usage: glowcl sample --model FILE --n N [--temperature T] "
                       "--out FILE.csv|FILE.png\n"
                       "Draws points from a trained model: a CSV of points, or (2-D models) a "
                       "scatter plot.",
                       NULL, 0, NULL);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (n < 1 || n > 10000000 || !(temperature >= 0) || seed < 0) {
        fprintf(stderr, "glowcl: --n must be 1..10000000, --temperature and --seed not "
                        "negative\n");
        return EXIT_USAGE;
    }
    if (!out || !(ends_with(out, ".csv") || ends_with(out, ".png"))) {
        fprintf(stderr, "glowcl: --out FILE.csv or FILE.png is required\n");
        return EXIT_USAGE;
    }
    gc_runtime *rt = NULL;
    gc_model *model = NULL;
    if ((rc = open_model(&device, model_path, &rt, &model))) return rc;
    size_t dim = gc_model_get_config(model)->dim;
    gc_status status = GC_OK;
    if (gc_model_get_config(model)->kind == GC_MODEL_IMAGE && ends_with(out, ".png")) {
        /* An image model's samples go into a grid of 8 columns, as 8-bit images. */
        status = cli_sample_grid(model, out, (int)n, temperature, (uint64_t)seed, 8);
        if (status == GC_OK) printf("wrote a grid of %ld samples to %s\n", n, out);
        gc_model_free(model);
        gc_runtime_close(rt);
        return status == GC_OK ? EXIT_OK : cli_fail(status);
    }
    if (ends_with(out, ".png") && dim != 2)
        status = GC_ERROR(GC_ERR_ARGUMENT, "a PNG scatter plot needs a 2-D model (this one is "
                                           "%zu-D); write a .csv", dim);
    double *x = status == GC_OK ? malloc((size_t)n * dim * sizeof *x) : NULL;
    if (status == GC_OK && !x) status = GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_rng rng;
    gc_rng_seed(&rng, (uint64_t)seed);
    if (status == GC_OK) status = gc_model_sample(model, (size_t)n, temperature, &rng, x);
    if (status == GC_OK && ends_with(out, ".csv")) {
        char header[64] = "x,y";
        status = gc_csv_write(out, x, (size_t)n, dim, dim == 2 ? header : NULL);
    } else if (status == GC_OK) {
        char title[96];
        snprintf(title, sizeof title, "%ld samples, temperature %g", n, temperature);
        gc_scatter_series series = {x, (size_t)n, {44, 160, 44}, NULL};
        status = gc_plot_scatter(out, title, &series, 1, NULL, 640, 640);
    }
    if (status == GC_OK) printf("wrote %ld samples to %s\n", n, out);
    free(x);
    gc_model_free(model);
    gc_runtime_close(rt);
    return status == GC_OK ? EXIT_OK : cli_fail(status);
}

int cli_memory_mode(const char *name, int *low)
{
    if (strcmp(name, "store") == 0 || strcmp(name, "low") == 0) {
        *low = strcmp(name, "low") == 0;
        return EXIT_OK;
    }
    fprintf(stderr, "glowcl: --memory must be store or low, not '%s'\n", name);
    return EXIT_USAGE;
}

/* max |decode(encode(x)) − x| over n points: how exactly the model inverts on this data. */
gc_status cli_reconstruction_error(gc_model *model, const double *x, size_t n, size_t dim,
                                   double *worst)
{
    double *z = malloc(n * dim * sizeof *z), *back = malloc(n * dim * sizeof *back);
    gc_status status = z && back ? gc_model_encode(model, x, n, z, NULL)
                                 : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    if (status == GC_OK) status = gc_model_decode(model, z, n, back, NULL);
    *worst = 0.0;
    for (size_t i = 0; status == GC_OK && i < n * dim; i++) {
        double error = fabs(back[i] - x[i]);
        *worst = error > *worst || isnan(error) ? error : *worst;
    }
    free(z);
    free(back);
    return status;
}

int cmd_eval(int argc, char **argv)
{
    cli_device_flags device = CLI_DEVICE_FLAGS_DEFAULT;
    const char *model_path = NULL, *data = "moons";
    long n = 10000, seed = 12345;
    double noise = 0.05;
    cli_option options[] = {
        {"model", 'm', OPT_STRING, &model_path, "FILE", "a model.glowcl"},
        {"data", 0, OPT_STRING, &data, "moons|FILE.csv|cifar10:DIR|png:DIR",
         "points or images to score (default moons)"},
        {"n", 'n', OPT_INT, &n, "N", "two-moons points, or at most N test images (10000)"},
        {"noise", 0, OPT_DOUBLE, &noise, "X", "two-moons noise (default 0.05)"},
        {"seed", 's', OPT_INT, &seed, "N", "two-moons random_state (default 12345)"},
        CLI_DEVICE_OPTIONS(device),
    };
    int rc = cli_parse(argc, argv, 2, options, sizeof options / sizeof options[0],
                       "Usage: glowcl eval --model FILE [--data moons|FILE.csv]\n"
                       "Prints the mean negative log-likelihood (nats) of the points, or the "
                       "bits/dim of the images, with its standard error, and how exactly the model "
                       "inverts on them.",
                       NULL, 0, NULL);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (n < 1 || n > 100000000 || noise < 0 || seed < 0 || seed > 4294967295L) {
        fprintf(stderr, "glowcl: --n must be positive, --noise not negative, --seed 0..2^32-1\n");
        return EXIT_USAGE;
    }
    double *x = NULL;
    size_t count = 0, dim = 2;
    gc_status status;
    if (strncmp(data, "cifar10:", 8) == 0 || strncmp(data, "png:", 4) == 0) {
        /* Images: bits per dimension on the test split (a PNG folder: all of it). */
        gc_image_set set = {0};
        if ((rc = cli_load_images(data, "test", (size_t)n, &set))) return rc;
        gc_runtime *rt = NULL;
        gc_model *model = NULL;
        if ((rc = open_model(&device, model_path, &rt, &model))) {
            gc_image_set_free(&set);
            return rc;
        }
        double mean = 0.0, se = 0.0, reconstruction = 0.0;
        const gc_model_config *c = gc_model_get_config(model);
        if (c->kind != GC_MODEL_IMAGE)
            status = GC_ERROR(GC_ERR_ARGUMENT, "%s is a model of %zu-dimensional points, not of "
                              "images; score points with --data moons or FILE.csv", model_path,
                              c->dim);
        else if (c->dim != set.channels * set.height * set.width)
            status = GC_ERROR(GC_ERR_ARGUMENT, "the model is for %zux%zux%zu images, the data "
                              "%zux%zux%zu", c->channels, c->height, c->width, set.channels,
                              set.height, set.width);
        else
            status = cli_bits_per_dim(model, &set, (size_t)n, 8, &mean, &se, &reconstruction);
        if (status == GC_OK)
            printf("bits/dim: %.4f ± %.4f over %zu images\n"
                   "decode(encode(x)): max |x' - x| = %.3g\n",
                   mean, se, set.count < (size_t)n ? set.count : (size_t)n, reconstruction);
        gc_model_free(model);
        gc_runtime_close(rt);
        gc_image_set_free(&set);
        return status == GC_OK ? EXIT_OK : cli_fail(status);
    }
    if (strcmp(data, "moons") == 0) {
        count = (size_t)n;
        x = malloc(count * 2 * sizeof *x);
        status = x ? gc_moons(count, noise, (uint32_t)seed, x, NULL)
                   : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    } else {
        status = gc_csv_read(data, &x, &count, &dim);
    }
    if (status != GC_OK) {
        free(x);
        return cli_fail(status);
    }
    gc_runtime *rt = NULL;
    gc_model *model = NULL;
    if ((rc = open_model(&device, model_path, &rt, &model))) {
        free(x);
        return rc;
    }
    double *logp = malloc(count * sizeof *logp);
    if (!logp) status = GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    else if (gc_model_get_config(model)->kind == GC_MODEL_IMAGE)
        status = GC_ERROR(GC_ERR_ARGUMENT, "%s is a model of %zux%zux%zu images, not of points "
                          "(give it images with --data cifar10:DIR or png:DIR)", model_path,
                          gc_model_get_config(model)->channels, gc_model_get_config(model)->height,
                          gc_model_get_config(model)->width);
    else if (gc_model_get_config(model)->dim != dim)
        status = GC_ERROR(GC_ERR_ARGUMENT, "the model is %zu-dimensional, the data %zu-dimensional",
                          gc_model_get_config(model)->dim, dim);
    if (status == GC_OK) status = gc_model_log_prob(model, x, count, logp);
    double reconstruction = 0.0;
    if (status == GC_OK) status = cli_reconstruction_error(model, x, count, dim, &reconstruction);
    if (status == GC_OK) {
        double mean = 0.0, sq = 0.0;
        for (size_t i = 0; i < count; i++) mean -= logp[i] / (double)count;
        for (size_t i = 0; i < count; i++) sq += (-logp[i] - mean) * (-logp[i] - mean);
        double se = count > 1 ? sqrt(sq / (double)(count - 1) / (double)count) : 0.0;
        printf("NLL: %.4f ± %.4f nats over %zu points (%.4f bits/dim)\n"
               "decode(encode(x)): max |x' - x| = %.3g\n",
               mean, se, count, mean / (double)dim / log(2.0), reconstruction);
    }
    free(logp);
    free(x);
    gc_model_free(model);
    gc_runtime_close(rt);
    return status == GC_OK ? EXIT_OK : cli_fail(status);
}
