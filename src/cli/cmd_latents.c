/* `glowcl encode` and `glowcl decode`: data to the latents of a trained model, written as a
 * .npz with one array per level, and latents (all of them, or only some, the others drawn from
 * the prior) back to data. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd_latents.h"
#include "device_choice.h"
#include "errors.h"
#include "exit_codes.h"
#include "latents.h"
#include "options.h"

int cmd_encode(int argc, char **argv)
{
    cli_device_flags device = CLI_DEVICE_FLAGS_DEFAULT;
    const char *model_path = NULL, *data = NULL, *out = NULL, *split = "test";
    long n = 10000;
    cli_image_flags image = CLI_IMAGE_FLAGS_DEFAULT;
    cli_option options[] = {
        {"model", 'm', OPT_STRING, &model_path, "FILE", "a model.glowcl"},
        {"data", 0, OPT_STRING, &data, "FILE.csv|npy:FILE|cifar10:DIR|png:DIR|idx:DIR",
         "points or images to encode"},
        {"split", 0, OPT_STRING, &split, "train|test", "which split of a set (default test)"},
        {"n", 'n', OPT_INT, &n, "N", "at most N images (default 10000)"},
        CLI_IMAGE_OPTIONS(image),
        {"out", 'o', OPT_STRING, &out, "FILE.npz", "where the latents go"},
        CLI_DEVICE_OPTIONS(device),
    };
    int rc = cli_parse(argc, argv, 2, options, sizeof options / sizeof options[0],
                       "Usage: glowcl encode --model FILE --data SPEC --out FILE.npz\n"
                       "Maps data to the model's latents and writes them as a NumPy .npz: image "
                       "models z_level1 ... z_level{L-1} (each split's factored-out half, float32 "
                       "N x C x H x W) and z_top (the last level), models of points z (N x D); "
                       "with log_prob (nats), bits_per_dim and labels (when the data has them) per "
                       "sample. Images are taken at the centres of their 8-bit bins, without "
                       "dequantisation noise, so that decode gives them back exactly.",
                       NULL, 0, NULL);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (!data || !out || !cli_ends_with(out, ".npz")) {
        fprintf(stderr, "glowcl: encode needs --data and --out FILE.npz\n");
        return EXIT_USAGE;
    }
    if (n < 1 || n > 100000000) {
        fprintf(stderr, "glowcl: --n must be 1..100000000\n");
        return EXIT_USAGE;
    }
    if ((rc = cli_check_image_flags(&image))) return rc;
    gc_runtime *rt = NULL;
    gc_model *model = NULL;
    if ((rc = cli_open_model(&device, model_path, &rt, &model))) return rc;
    cli_inputs in;
    rc = cli_load_inputs(model_path, model, data, split, (size_t)n, &image, &in);
    if (rc == EXIT_OK) {
        gc_status status = cli_write_latents(model, &in, out);
        if (status == GC_OK)
            printf("wrote the latents of %zu %s to %s\n", in.n, in.images ? "images" : "points",
                   out);
        rc = status == GC_OK ? EXIT_OK : cli_fail(status);
        cli_inputs_free(&in);
    }
    gc_model_free(model);
    gc_runtime_close(rt);
    return rc;
}

/* Reads the latents, decodes them with the missing parts drawn, writes the result. */
static gc_status decode_file(gc_model *model, const char *latents, const char *out,
                             double temperature, long seed, size_t *count)
{
    double *z = NULL;
    int given[GC_MAX_LATENT_PARTS];
    GC_TRY(cli_read_latents(model, latents, &z, count, given));
    double *x = malloc(*count * gc_model_get_config(model)->dim * sizeof *x);
    gc_status status = x ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_rng rng;
    gc_rng_seed(&rng, (uint64_t)seed);
    if (status == GC_OK)
        status = gc_model_decode_parts(model, z, *count, given, temperature, &rng, x);
    if (status == GC_OK) status = cli_write_decoded(model, x, *count, count, 1, 8, out);
    free(z);
    free(x);
    return status;
}

int cmd_decode(int argc, char **argv)
{
    cli_device_flags device = CLI_DEVICE_FLAGS_DEFAULT;
    const char *model_path = NULL, *latents = NULL, *out = NULL;
    double temperature = 1.0;
    long seed = 1;
    cli_option options[] = {
        {"model", 'm', OPT_STRING, &model_path, "FILE", "a model.glowcl"},
        {"latents", 0, OPT_STRING, &latents, "FILE.npz", "latents, as encode writes them"},
        {"temperature", 'T', OPT_DOUBLE, &temperature, "T",
         "scale of the prior's standard deviation for the latents the file lacks (default 1)"},
        {"seed", 's', OPT_INT, &seed, "N", "seed of those draws (default 1)"},
        {"out", 'o', OPT_STRING, &out, "FILE.png|FILE.npy|FILE.csv",
         "images: a grid (.png) or float32 N x C x H x W in [0, 1) (.npy); points: .csv or .npy"},
        CLI_DEVICE_OPTIONS(device),
    };
    int rc = cli_parse(argc, argv, 2, options, sizeof options / sizeof options[0],
                       "Usage: glowcl decode --model FILE --latents FILE.npz --out FILE\n"
                       "Maps latents back to data. The .npz holds arrays named as encode names "
                       "them; a latent it lacks (for example all but z_top) is drawn from its "
                       "prior at --temperature, a split's given the levels above it.",
                       NULL, 0, NULL);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (!latents || !out) {
        fprintf(stderr, "glowcl: decode needs --latents FILE.npz and --out FILE\n");
        return EXIT_USAGE;
    }
    if (!(temperature >= 0) || seed < 0) {
        fprintf(stderr, "glowcl: --temperature and --seed must not be negative\n");
        return EXIT_USAGE;
    }
    gc_runtime *rt = NULL;
    gc_model *model = NULL;
    if ((rc = cli_open_model(&device, model_path, &rt, &model))) return rc;
    size_t count = 0;
    gc_status status = decode_file(model, latents, out, temperature, seed, &count);
    if (status == GC_OK) printf("wrote %zu decoded samples to %s\n", count, out);
    gc_model_free(model);
    gc_runtime_close(rt);
    return status == GC_OK ? EXIT_OK : cli_fail(status);
}
