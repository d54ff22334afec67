/* `glowcl interpolate`: rows of images between pairs of data images, walked in the model's
 * latent space (linearly or along great circles) and decoded. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_interpolate.h"
#include "device_choice.h"
#include "errors.h"
#include "exit_codes.h"
#include "latents.h"
#include "options.h"

enum { MAX_PAIRS = 256 };

typedef struct interpolate_flags {
    cli_device_flags device;
    const char *model_path, *data, *split, *pairs, *path, *out;
    long steps;
    cli_image_flags image;
    size_t pair[MAX_PAIRS][2], count, highest;
    int slerp;
} interpolate_flags;

/* "3:7,0:12" → f->pair; EXIT_USAGE after a message if it is not such a list. */
static int parse_pairs(interpolate_flags *f)
{
    const char *s = f->pairs;
    f->count = f->highest = 0;
    while (s && *s && f->count < MAX_PAIRS) {
        char *end = NULL;
        unsigned long long a = 0, b = 0;
        int ok = *s >= '0' && *s <= '9';
        if (ok) a = strtoull(s, &end, 10), ok = *end == ':' && end[1] >= '0' && end[1] <= '9';
        if (ok) b = strtoull(end + 1, &end, 10), ok = (*end == ',' && end[1]) || *end == 0;
        if (!ok || a > 100000000 || b > 100000000) break;
        f->pair[f->count][0] = (size_t)a, f->pair[f->count][1] = (size_t)b, f->count++;
        if (a > f->highest) f->highest = (size_t)a;
        if (b > f->highest) f->highest = (size_t)b;
        s = *end ? end + 1 : end;
    }
    if (s && *s == 0 && f->count > 0) return EXIT_OK;
    fprintf(stderr,
            "glowcl: --pairs '%s': give pairs of image indices (from 0) as I:J[,K:L...], at "
            "most %d\n",
            f->pairs ? f->pairs : "", MAX_PAIRS);
    return EXIT_USAGE;
}

/* z = the point at t on the way from a to b (count values): linear, or along the great circle
 * through them (slerp), which keeps the norm of latents that are far from the origin. */
static void walk(const double *a, const double *b, size_t count, double t, int slerp, double *z)
{
    double dot = 0.0, na = 0.0, nb = 0.0, wa = 1.0 - t, wb = t;
    for (size_t j = 0; slerp && j < count; j++)
        dot += a[j] * b[j], na += a[j] * a[j], nb += b[j] * b[j];
    double cosine = na > 0 && nb > 0 ? dot / sqrt(na * nb) : 1.0;
    double omega = acos(fmax(-1.0, fmin(1.0, cosine)));
    if (slerp && sin(omega) > 1e-6) /* else the two are parallel: the line is the circle */
        wa = sin((1.0 - t) * omega) / sin(omega), wb = sin(t * omega) / sin(omega);
    for (size_t j = 0; j < count; j++) z[j] = wa * a[j] + wb * b[j];
}

/* Encodes the pairs' images and decodes `steps` points between each pair into x. */
static gc_status interpolate(gc_model *model, const interpolate_flags *f, const cli_inputs *in,
                             double *x)
{
    size_t d = in->dim, steps = (size_t)f->steps, rows = f->count * steps;
    double *images = malloc(2 * f->count * d * sizeof *images);
    double *ends = malloc(2 * f->count * d * sizeof *ends);
    double *z = malloc(rows * d * sizeof *z);
    gc_status status = images && ends && z ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    for (size_t p = 0; status == GC_OK && p < f->count; p++)
        for (int e = 0; e < 2; e++)
            memcpy(images + (2 * p + e) * d, in->x + f->pair[p][e] * d, d * sizeof *images);
    if (status == GC_OK) status = gc_model_encode(model, images, 2 * f->count, ends, NULL);
    free(images);
    gc_latent_part parts[GC_MAX_LATENT_PARTS];
    size_t count = gc_model_latent_parts(model, parts);
    /* Each part on its own: the levels' latents differ in size and spread. */
    for (size_t r = 0; status == GC_OK && r < rows; r++) {
        size_t p = r / steps;
        double t = (double)(r % steps) / (double)(steps - 1);
        for (size_t k = 0; k < count; k++) {
            size_t at = parts[k].offset;
            walk(ends + 2 * p * d + at, ends + (2 * p + 1) * d + at, parts[k].count, t, f->slerp,
                 z + r * d + at);
        }
    }
    if (status == GC_OK) status = gc_model_decode(model, z, rows, x, NULL);
    free(ends);
    free(z);
    return status;
}

static int run(interpolate_flags *f)
{
    gc_runtime *rt = NULL;
    gc_model *model = NULL;
    int rc = cli_open_model(&f->device, f->model_path, &rt, &model);
    if (rc) return rc;
    cli_inputs in = {0};
    if (gc_model_get_config(model)->kind != GC_MODEL_IMAGE) {
        fprintf(stderr, "glowcl: %s is a model of points; interpolate takes an image model\n",
                f->model_path);
        rc = EXIT_USAGE;
    }
    if (!rc)
        rc = cli_load_inputs(f->model_path, model, f->data, f->split, f->highest + 1, &f->image,
                             &in);
    if (!rc && f->highest >= in.n) {
        fprintf(stderr, "glowcl: --pairs %s: image %zu is not in %s (it has %zu, counted from 0)\n",
                f->pairs, f->highest, f->data, in.n);
        rc = EXIT_USAGE;
    }
    size_t rows = f->count * (size_t)f->steps, lead[2] = {f->count, (size_t)f->steps};
    double *x = rc ? NULL : malloc(rows * in.dim * sizeof *x);
    gc_status status = rc || x ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    if (!rc && status == GC_OK) status = interpolate(model, f, &in, x);
    if (!rc && status == GC_OK)
        status = cli_write_decoded(model, x, rows, lead, 2, (size_t)f->steps, f->out);
    if (!rc && status == GC_OK)
        printf("wrote %zu rows of %ld images to %s\n", f->count, f->steps, f->out);
    if (!rc && status != GC_OK) rc = cli_fail(status);
    free(x);
    cli_inputs_free(&in);
    gc_model_free(model);
    gc_runtime_close(rt);
    return rc;
}

int cmd_interpolate(int argc, char **argv)
{
    interpolate_flags f = {.device = CLI_DEVICE_FLAGS_DEFAULT,
                           .split = "test",
                           .path = "linear",
                           .steps = 8,
                           .image = CLI_IMAGE_FLAGS_DEFAULT};
    cli_option options[] = {
        {"model", 'm', OPT_STRING, &f.model_path, "FILE", "a model.glowcl of images"},
        {"data", 0, OPT_STRING, &f.data, "cifar10:DIR|png:DIR|idx:DIR|npy:FILE", "the images"},
        {"split", 0, OPT_STRING, &f.split, "train|test", "which split of a set (default test)"},
        {"pairs", 0, OPT_STRING, &f.pairs, "I:J[,K:L...]", "image indices (from 0), one row each"},
        {"steps", 0, OPT_INT, &f.steps, "N", "images per row, the two ends included (default 8)"},
        {"path", 0, OPT_STRING, &f.path, "linear|slerp",
         "straight, or along the great circle (default linear)"},
        CLI_IMAGE_OPTIONS(f.image),
        {"out", 'o', OPT_STRING, &f.out, "FILE.png|FILE.npy",
         "a grid, a row per pair; or float32 pairs x steps x C x H x W in [0, 1)"},
        CLI_DEVICE_OPTIONS(f.device),
    };
    int rc = cli_parse(argc, argv, 2, options, sizeof options / sizeof options[0],
                       "Usage: glowcl interpolate --model FILE --data SPEC --pairs I:J[,K:L...] "
                       "[--steps 8] [--path linear|slerp] --out FILE.png|FILE.npy\n"
                       "Encodes each pair of images, walks from one latent to the other (each "
                       "level's part on its own) and decodes the steps; the end columns are the "
                       "two images themselves.",
                       NULL, 0, NULL);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    f.slerp = strcmp(f.path, "slerp") == 0;
    if (!f.data || !f.out || f.steps < 2 || f.steps > 1000 ||
        (!f.slerp && strcmp(f.path, "linear") != 0)) {
        fprintf(stderr, "glowcl: interpolate needs --data, --out, --steps 2..1000 and --path "
                        "linear or slerp\n");
        return EXIT_USAGE;
    }
    if ((rc = parse_pairs(&f)) || (rc = cli_check_image_flags(&f.image))) return rc;
    return run(&f);
}
