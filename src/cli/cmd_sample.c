/* `glowcl sample`: draws from a trained model file — points as a CSV or a scatter PNG, or an
 * image model's samples as a grid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_sample.h"
#include "device_choice.h"
#include "errors.h"
#include "exit_codes.h"
#include "glowcl/data.h"
#include "glowcl/flow.h"
#include "glowcl/plot.h"
#include "image_files.h"
#include "latents.h"
#include "options.h"
#include "scores.h"

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
    if (!out || !(cli_ends_with(out, ".csv") || cli_ends_with(out, ".png"))) {
        fprintf(stderr, "glowcl: --out FILE.csv or FILE.png is required\n");
        return EXIT_USAGE;
    }
    gc_runtime *rt = NULL;
    gc_model *model = NULL;
    if ((rc = cli_open_model(&device, model_path, &rt, &model))) return rc;
    size_t dim = gc_model_get_config(model)->dim;
    gc_status status = GC_OK;
    if (gc_model_get_config(model)->kind == GC_MODEL_IMAGE && cli_ends_with(out, ".png")) {
        /* An image model's samples go into a grid of 8 columns, as 8-bit images. */
        status = cli_sample_grid(model, out, (int)n, temperature, (uint64_t)seed, 8);
        if (status == GC_OK) printf("wrote a grid of %ld samples to %s\n", n, out);
        gc_model_free(model);
        gc_runtime_close(rt);
        return status == GC_OK ? EXIT_OK : cli_fail(status);
    }
    if (cli_ends_with(out, ".png") && dim != 2)
        status = GC_ERROR(GC_ERR_ARGUMENT,
                          "a PNG scatter plot needs a 2-D model (this one is "
                          "%zu-D); write a .csv",
                          dim);
    double *x = status == GC_OK ? malloc((size_t)n * dim * sizeof *x) : NULL;
    if (status == GC_OK && !x) status = GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_rng rng;
    gc_rng_seed(&rng, (uint64_t)seed);
    if (status == GC_OK) status = gc_model_sample(model, (size_t)n, temperature, &rng, x);
    if (status == GC_OK)
        status = cli_require_finite(x, (size_t)n, dim, "the model's output", "sample", out);
    if (status == GC_OK && cli_ends_with(out, ".csv")) {
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
