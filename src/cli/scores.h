/* What the commands report about a model on data: the mean NLL of points, the bits/dim of
 * images, how exactly the model inverts on them. A number that is not finite is never
 * reported: it is an error (GC_ERR_NUMERIC, exit 1) that names the rows which gave it. */
#ifndef GLOWCL_CLI_SCORES_H
#define GLOWCL_CLI_SCORES_H

#include <stddef.h>
#include <stdint.h>

#include "glowcl/flow.h"
#include "glowcl/images.h"

/* GC_OK if every value of rows × width is finite; else GC_ERR_NUMERIC with the message
 * "<what> is not finite for <unit>s 1, 5 and 9 of <source>" (rows counted from 1, the first
 * few named and the others counted). */
gc_status cli_require_finite(const double *values, size_t rows, size_t width, const char *what,
                             const char *unit, const char *source);

/* GC_OK if the model (file `model_path`) is one of `dim`-dimensional points, else
 * GC_ERR_ARGUMENT saying what it is. */
gc_status cli_check_points_model(const char *model_path, const gc_model_config *c, size_t dim);

/* Mean negative log-likelihood (nats) of the model over the n points x (n × its dim), and its
 * standard error; `source` names the points for a message about rows without a finite
 * log-density. per_sample (n values, or NULL) gets each point's log p. */
gc_status cli_mean_nll(gc_model *model, const double *x, size_t n, const char *source, double *mean,
                       double *se, double *per_sample);

/* For each of the n points x (n × dim), max |decode(encode(x)) − x| over its values, into
 * per_row (n values). */
gc_status cli_reconstruction_errors(gc_model *model, const double *x, size_t n, size_t dim,
                                    double *per_row);
/* The largest of n values (0 for none). */
double cli_max(const double *values, size_t n);

/* Mean bits/dim over the first `limit` images of the set (at most) with fixed dequantisation
 * noise, and its standard error; if `reconstruction` is given, also max |decode(encode(x)) −
 * x| over those images. `source` names the set in a message about images without a finite
 * log-density or reconstruction. per_sample (or NULL) gets each image's log p in nats. */
gc_status cli_bits_per_dim(gc_model *model, const gc_image_set *set, size_t limit, int n_bits,
                           const char *source, double *mean, double *se, double *reconstruction,
                           double *per_sample);

/* Bits/dim of one sample of log p `logp` (nats) and `dims` dimensions: of n_bits-bit images
 * (gc_bits_per_dim), or, n_bits 0, of points, −log p / (dims · log 2). */
double cli_bits_of(double logp, size_t dims, int n_bits);

/* Per sample i < n, a row of index, label (−1 without labels), log p (nats) and bits/dim
 * (cli_bits_of), to `path`: a .npy of float64, n x 4, or else a CSV with a header line. */
gc_status cli_write_per_sample(const char *path, const double *logp, const uint8_t *labels,
                               size_t n, size_t dims, int n_bits);

#endif
