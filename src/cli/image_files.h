/* Images in and out of the commands: the --data sets of images, and grids of samples. */
#ifndef GLOWCL_CLI_IMAGE_FILES_H
#define GLOWCL_CLI_IMAGE_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "glowcl/flow.h"
#include "glowcl/images.h"

#include "options.h"

/* The flags that shape a set of images as it is read (train images, eval). */
typedef struct cli_image_flags {
    const char *layout; /* --layout nhwc|nchw, or NULL: from the array's shape */
    long pad;           /* --pad N, or 0: the images as they are */
    /* Set by cli_load_images: the size before padding (0 when the set was not padded). */
    size_t original_height, original_width;
} cli_image_flags;

#define CLI_IMAGE_FLAGS_DEFAULT                                                                    \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

/* What --pad does to bits/dim, for the commands' --help. */
#define CLI_PAD_HELP                                                                               \
    "zero-pad the images to N x N (MNIST's 28x28 to 32x32, so the squeezes can halve them); "      \
    "bits/dim is then over the padded images, padding pixels counted, which makes it lower "       \
    "than (not comparable with) bits/dim of unpadded images; eval also prints the bits per "       \
    "pixel of the originals"

/* The rows of --layout and --pad in an option table. */
#define CLI_IMAGE_OPTIONS(flags)                                                                   \
    {"pad", 0, OPT_INT, &(flags).pad, "N", CLI_PAD_HELP},                                          \
    {                                                                                              \
        "layout", 0, OPT_STRING, &(flags).layout, "nhwc|nchw",                                     \
            "axes of a 4-D uint8 .npy (default: the one of axes 1 and 3 that is 1, 3 or 4)"        \
    }

/* "cifar10:DIR", "png:DIR", "idx:DIR" or "npy:FILE" (also a FILE ending in .npy) → the split's
 * images (a PNG folder or a NumPy array has no splits: all of it), padded by --pad.
 * EXIT_OK, or an exit code after a message. */
int cli_load_images(const char *spec, const char *split, size_t max_images, cli_image_flags *flags,
                    gc_image_set *set);

/* Checks --layout and --pad: EXIT_OK, or EXIT_USAGE after a message. */
int cli_check_image_flags(const cli_image_flags *flags);

/* The model's config against the images: GC_OK, or GC_ERR_ARGUMENT saying why it cannot take
 * them (a model of points; another size, with the --pad that would fit). */
gc_status cli_check_image_model(const char *model_path, const gc_model_config *c,
                                const gc_image_set *set);

/* After a bits/dim line: when the images were padded, a line that says so and gives the bits
 * per pixel of the original images (the whole cost charged to them). */
void cli_print_padding_note(const cli_image_flags *flags, const gc_image_set *set, double bpd);

/* `count` images x (count × the model's C·H·W, values in [0, 1)) in a grid of `columns`, as a
 * PNG of n_bits levels per channel; GC_ERR_NUMERIC naming the `what`s (e.g. "sample") that are
 * not finite. */
gc_status cli_image_grid(const char *path, const double *x, size_t count, size_t columns,
                         const gc_model_config *c, int n_bits, const char *what);

/* `count` samples at `temperature` in a grid of 8 columns, as a PNG of n_bits levels per
 * channel; GC_ERR_NUMERIC naming the samples if any is not finite. */
gc_status cli_sample_grid(gc_model *model, const char *path, int count, double temperature,
                          uint64_t seed, int n_bits);

#endif
