/* The --data of points, and telling points from images: CSV files and NumPy arrays. */
#ifndef GLOWCL_CLI_DATA_FILES_H
#define GLOWCL_CLI_DATA_FILES_H

#include <stddef.h>

#include "glowcl/status.h"

/* The path of a NumPy spec, "npy:FILE" or a FILE ending in ".npy"; NULL for any other. */
const char *cli_npy_path(const char *spec);

/* 1 if `spec` names images: cifar10:DIR, png:DIR, idx:DIR, or a NumPy array of uint8 (its
 * header is read to tell); 0 for points (moons, a CSV file, a float array, or a NumPy file
 * whose header cannot be read, whose reader then says what is wrong with it). */
int cli_is_image_spec(const char *spec);

/* The points of a CSV file or of a float NumPy array ("npy:FILE" or FILE.npy), as
 * gc_csv_read gives them (n x dim doubles in *points, to be freed). */
gc_status cli_read_points(const char *spec, double **points, size_t *n, size_t *dim);

#endif
