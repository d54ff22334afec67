/* What encode, decode and interpolate share: data as a model's input, latents to and from .npz
 * files (one array per part of the latent, gc_model_latent_parts), and decoded data written as
 * a PNG grid, a .npy array or a CSV of points. */
#ifndef GLOWCL_CLI_LATENTS_H
#define GLOWCL_CLI_LATENTS_H

#include <stddef.h>
#include <stdint.h>

#include "glowcl/flow.h"
#include "image_files.h"

/* Bits per colour channel of the images the latent tools read and write (eval's too). */
enum { CLI_N_BITS = 8 };

/* Data as the model takes it: images at the centres of their 8-bit bins (no dequantisation
 * noise, so that decoding gives the images back exactly), or points as they are. */
typedef struct cli_inputs {
    double *x; /* n × dim */
    size_t n, dim;
    uint8_t *labels; /* n labels, or NULL */
    int images;
} cli_inputs;

/* --data `spec` (images: the split, at most max_images of them; points: a CSV file or a float
 * NumPy array) checked against the model: EXIT_OK, or an exit code after a message. */
int cli_load_inputs(const char *model_path, const gc_model *model, const char *spec,
                    const char *split, size_t max_images, cli_image_flags *image, cli_inputs *out);
void cli_inputs_free(cli_inputs *in);

/* Encodes the inputs and writes `path` (.npz): each part of the latent by its name (image
 * models: float32, n × C × H × W; points: float64, n × D), log_prob (nats) and bits_per_dim
 * (float64, n), labels (uint8, n) when there are any. Non-finite results are GC_ERR_NUMERIC. */
gc_status cli_write_latents(gc_model *model, const cli_inputs *in, const char *path);

/* The latents of the .npz `path` for the model, packed as gc_model_encode packs them (*z, n ×
 * dim, to be freed), and which parts the file gives (given[k] for part k). A part of another
 * shape or dtype, an array named z... that is no part of the model, parts of different sample
 * counts or no part at all are GC_ERR_ARGUMENT, naming the array and the shape expected. */
gc_status cli_read_latents(const gc_model *model, const char *path, double **z, size_t *n,
                           int *given);

/* Decoded data x (rows × the model's dim) written to `path`: image models to .png (a grid of
 * `columns`) or .npy (float32 in [0, 1), shape lead[0..nlead) × C × H × W); models of points to
 * .csv or .npy (float64, rows × D). Another suffix is GC_ERR_ARGUMENT. */
gc_status cli_write_decoded(const gc_model *model, const double *x, size_t rows, const size_t *lead,
                            size_t nlead, size_t columns, const char *path);

/* 1 if `path` ends in `suffix`. */
int cli_ends_with(const char *path, const char *suffix);

#endif
