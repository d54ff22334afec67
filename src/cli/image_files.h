/* Images in and out of the commands: the --data sets of images, and grids of samples. */
#ifndef GLOWCL_CLI_IMAGE_FILES_H
#define GLOWCL_CLI_IMAGE_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "glowcl/flow.h"
#include "glowcl/images.h"

/* "cifar10:DIR" or "png:DIR" → the split's images (a PNG folder has no splits: all of it).
 * EXIT_OK, or an exit code after a message. */
int cli_load_images(const char *spec, const char *split, size_t max_images, gc_image_set *set);

/* `count` samples at `temperature` in a grid of 8 columns, as a PNG of n_bits levels per
 * channel; GC_ERR_NUMERIC naming the samples if any is not finite. */
gc_status cli_sample_grid(gc_model *model, const char *path, int count, double temperature,
                          uint64_t seed, int n_bits);

#endif
