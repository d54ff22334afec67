/* The pictures of a trained 2-D model: the data, samples, the data mapped to the latent space,
 * the model's density, and the training loss. */
#ifndef GLOWCL_CLI_POINT_PICTURES_H
#define GLOWCL_CLI_POINT_PICTURES_H

#include <stddef.h>
#include <stdint.h>

#include "glowcl/flow.h"

/* The pictures a 2-D run writes, as its last message lists them. */
#define CLI_POINT_PICTURES "data.png, samples.png, latent.png, density.png, loss.png"

/* Writes CLI_POINT_PICTURES into `dir` for the n points `data` (labels: 0 upper moon, 1 lower
 * moon; NULL for the user's data, whose range the plots then fit) and the loss of each of
 * `steps` steps (NaN where none). `title` ends each picture's heading; the samples are drawn
 * from a stream of `seed`. Does nothing for a model that is not 2-D. */
gc_status cli_point_pictures(gc_model *model, const char *dir, const double *data,
                             const int *labels, size_t n, const double *losses, size_t steps,
                             uint64_t seed, const char *title);

#endif
