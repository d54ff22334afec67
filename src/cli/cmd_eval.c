/* `glowcl eval`: scores data under a trained model file — points (two-moons or a CSV) by
 * their mean negative log-likelihood, images by bits/dim — and says how exactly the model
 * inverts on them. A score that is not finite is an error naming the rows (exit 1). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_eval.h"
#include "data_files.h"
#include "device_choice.h"
#include "errors.h"
#include "exit_codes.h"
#include "glowcl/data.h"
#include "glowcl/flow.h"
#include "glowcl/images.h"
#include "image_files.h"
#include "latents.h"
#include "options.h"
#include "scores.h"

typedef struct eval_flags {
    cli_device_flags device;
    const char *model_path, *data, *per_sample;
    long n, seed;
    double noise;
    cli_image_flags image;
} eval_flags;

/* Images: bits per dimension on the test split (a PNG folder or a NumPy array: all of it). */
static int eval_images(eval_flags *f)
{
    gc_image_set set = {0};
    int rc = cli_load_images(f->data, "test", (size_t)f->n, &f->image, &set);
    if (rc) return rc;
    gc_runtime *rt = NULL;
    gc_model *model = NULL;
    if ((rc = cli_open_model(&f->device, f->model_path, &rt, &model))) {
        gc_image_set_free(&set);
        return rc;
    }
    double mean = 0.0, se = 0.0, reconstruction = 0.0;
    const gc_model_config *c = gc_model_get_config(model);
    char source[4200];
    snprintf(source, sizeof source, "the test images of %s", f->data);
    size_t count = set.count < (size_t)f->n ? set.count : (size_t)f->n;
    double *logp = f->per_sample ? malloc(count * sizeof *logp) : NULL;
    gc_status status = cli_check_image_model(f->model_path, c, &set);
    if (status == GC_OK && f->per_sample && !logp)
        status = GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    if (status == GC_OK)
        status = cli_bits_per_dim(model, &set, count, CLI_N_BITS, source, &mean, &se,
                                  &reconstruction, logp);
    if (status == GC_OK && f->per_sample)
        status = cli_write_per_sample(f->per_sample, logp, set.labels, count, c->dim, CLI_N_BITS);
    free(logp);
    if (status == GC_OK) {
        printf("bits/dim: %.4f ± %.4f over %zu images\n", mean, se, count);
        cli_print_padding_note(&f->image, &set, mean);
        printf("decode(encode(x)): max |x' - x| = %.3g\n", reconstruction);
    }
    gc_model_free(model);
    gc_runtime_close(rt);
    gc_image_set_free(&set);
    return status == GC_OK ? EXIT_OK : cli_fail(status);
}

/* The model's NLL and reconstruction error on the n points x (n × dim), printed. */
static gc_status score_points(gc_model *model, const eval_flags *f, const double *x, size_t n,
                              size_t dim)
{
    GC_TRY(cli_check_points_model(f->model_path, gc_model_get_config(model), dim));
    char source[4200];
    if (strcmp(f->data, "moons") == 0)
        snprintf(source, sizeof source, "the two-moons points");
    else
        snprintf(source, sizeof source, "%s (counting data rows from 1)", f->data);
    double mean = 0.0, se = 0.0;
    double *errors = malloc(n * sizeof *errors), *logp = malloc(n * sizeof *logp);
    gc_status status = errors && logp ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    if (status == GC_OK) status = cli_mean_nll(model, x, n, source, &mean, &se, logp);
    if (status == GC_OK && f->per_sample)
        status = cli_write_per_sample(f->per_sample, logp, NULL, n, dim, 0);
    if (status == GC_OK) status = cli_reconstruction_errors(model, x, n, dim, errors);
    if (status == GC_OK)
        status = cli_require_finite(errors, n, 1, "decode(encode(x))", "row", source);
    if (status == GC_OK)
        printf("NLL: %.4f ± %.4f nats over %zu points (%.4f bits/dim)\n"
               "decode(encode(x)): max |x' - x| = %.3g\n",
               mean, se, n, mean / (double)dim / log(2.0), cli_max(errors, n));
    free(errors);
    free(logp);
    return status;
}

static int eval_points(const eval_flags *f)
{
    double *x = NULL;
    size_t count = 0, dim = 2;
    gc_status status;
    if (strcmp(f->data, "moons") == 0) {
        count = (size_t)f->n;
        x = malloc(count * 2 * sizeof *x);
        status = x ? gc_moons(count, f->noise, (uint32_t)f->seed, x, NULL)
                   : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    } else {
        status = cli_read_points(f->data, &x, &count, &dim);
    }
    if (status != GC_OK) {
        free(x);
        return cli_fail(status);
    }
    gc_runtime *rt = NULL;
    gc_model *model = NULL;
    int rc = cli_open_model(&f->device, f->model_path, &rt, &model);
    if (rc == EXIT_OK) {
        status = score_points(model, f, x, count, dim);
        rc = status == GC_OK ? EXIT_OK : cli_fail(status);
        gc_model_free(model);
        gc_runtime_close(rt);
    }
    free(x);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    eval_flags f = {CLI_DEVICE_FLAGS_DEFAULT, NULL, "moons", NULL, 10000, 12345, 0.05,
                    CLI_IMAGE_FLAGS_DEFAULT};
    cli_option options[] = {
        {"model", 'm', OPT_STRING, &f.model_path, "FILE", "a model.glowcl"},
        {"data", 0, OPT_STRING, &f.data, "moons|FILE.csv|cifar10:DIR|png:DIR|idx:DIR|npy:FILE",
         "points or images to score (default moons); a NumPy array of floats is points, of "
         "uint8 images"},
        CLI_IMAGE_OPTIONS(f.image),
        {"n", 'n', OPT_INT, &f.n, "N", "two-moons points, or at most N test images (10000)"},
        {"noise", 0, OPT_DOUBLE, &f.noise, "X", "two-moons noise (default 0.05)"},
        {"seed", 's', OPT_INT, &f.seed, "N", "two-moons random_state (default 12345)"},
        {"per-sample", 0, OPT_STRING, &f.per_sample, "FILE.csv|FILE.npy",
         "also write each sample's index, label (-1: none), log p (nats) and bits/dim"},
        CLI_DEVICE_OPTIONS(f.device),
    };
    int rc = cli_parse(argc, argv, 2, options, sizeof options / sizeof options[0],
                       "Usage: glowcl eval --model FILE [--data moons|FILE.csv|npy:FILE|...]\n"
                       "Prints the mean negative log-likelihood (nats) of the points, or the "
                       "bits/dim of the images, with its standard error, and how exactly the model "
                       "inverts on them. Exits 1, naming the rows, if a point or image has no "
                       "finite log-density or reconstruction under the model. Images padded with "
                       "--pad are scored padded, as the model saw them in training: bits/dim over "
                       "the padded image, and beside it the bits per pixel of the originals.",
                       NULL, 0, NULL);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (f.n < 1 || f.n > 100000000 || f.noise < 0 || f.seed < 0 || f.seed > 4294967295L) {
        fprintf(stderr, "glowcl: --n must be 1..100000000, --noise not negative, --seed "
                        "0..2^32-1\n");
        return EXIT_USAGE;
    }
    if ((rc = cli_check_image_flags(&f.image))) return rc;
    if (f.per_sample && !cli_ends_with(f.per_sample, ".csv") &&
        !cli_ends_with(f.per_sample, ".npy")) {
        fprintf(stderr, "glowcl: --per-sample %s: give a file ending in .csv or .npy\n",
                f.per_sample);
        return EXIT_USAGE;
    }
    if (cli_is_image_spec(f.data)) return eval_images(&f);
    return eval_points(&f);
}
