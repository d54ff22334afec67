/* Training data sources of glowcl: the two-moons toy set, reproducing scikit-learn's
 * make_moons bit for bit so results can be compared with Python baselines, and plain CSV files
 * of numeric points. */
#ifndef GLOWCL_DATA_H
#define GLOWCL_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "glowcl/npy.h"
#include "glowcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Same points and labels as
 *   sklearn.datasets.make_moons(n_samples=n, shuffle=True, noise=noise,
 *                               random_state=random_state)
 * (noise 0 gives the same result as noise=None). The outer moon (label 0) gets n / 2 points,
 * the inner one (label 1) the rest. `xy` receives n interleaved (x, y) pairs; `labels` may be
 * NULL. n == 0 is allowed and writes nothing. Errors: GC_ERR_ARGUMENT (negative or non-finite
 * noise, NULL xy, n too large), GC_ERR_MEMORY. */
gc_status gc_moons(size_t n, double noise, uint32_t random_state, double *xy, int *labels);

/* Reads rows of comma-separated numbers (spaces or tabs around fields allowed). Blank lines and
 * lines whose first non-blank character is '#' are skipped; the first remaining line is taken
 * as a header and skipped if none of its fields is a number. Every row must have as many
 * columns as the first data row (and the header, if any). Values must be finite. On success
 * *points_out is a malloc'd row-major array of n_out * dim_out doubles, to be released with
 * free(). On error the outputs are set to NULL / 0 and gc_last_error() names the file and line.
 * Errors: GC_ERR_IO, GC_ERR_FORMAT, GC_ERR_MEMORY, GC_ERR_ARGUMENT (NULL pointers).
 * Numbers are parsed with strtod, so the process must use the "C" LC_NUMERIC locale. */
gc_status gc_csv_read(const char *path, double **points_out, size_t *n_out, size_t *dim_out);

/* The points of a float32 or float64 NumPy array (include/glowcl/npy.h) of n x dim, one point a
 * row, as a malloc'd row-major array of doubles (*points_out, to be freed). A 1-D array is n
 * points of one value. Values must be finite. `label` names the array in messages. On error the
 * outputs are NULL / 0. Errors: GC_ERR_FORMAT (uint8 values, which are images; not 1-D or 2-D;
 * no points; a value that is not finite, naming its row and column counting from 1),
 * GC_ERR_ARGUMENT (NULL pointers), GC_ERR_MEMORY. */
gc_status gc_npy_points(const gc_npy_array *array, const char *label, double **points_out,
                        size_t *n_out, size_t *dim_out);

/* Writes n rows of dim values with %.9g (float precision), preceded by `header` as its own line
 * if it is not NULL. The file is replaced atomically: it is written to "<path>.tmp.<pid>",
 * flushed to disk and renamed over `path`, so a failure leaves any old file untouched and no
 * temporary file behind. Errors: GC_ERR_ARGUMENT (bad sizes, header with a line break),
 * GC_ERR_NUMERIC (a value is not finite; nothing is written), GC_ERR_IO, GC_ERR_MEMORY. */
gc_status gc_csv_write(const char *path, const double *points, size_t n, size_t dim,
                       const char *header);

#ifdef __cplusplus
}
#endif

#endif
