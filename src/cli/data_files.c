/* The --data of points, and telling points from images (data_files.h). */
#include <stdlib.h>
#include <string.h>

#include "data_files.h"
#include "glowcl/data.h"
#include "glowcl/npy.h"

const char *cli_npy_path(const char *spec)
{
    size_t length = strlen(spec);
    if (strncmp(spec, "npy:", 4) == 0) return spec + 4;
    if (length > 4 && strcmp(spec + length - 4, ".npy") == 0) return spec;
    return NULL;
}

int cli_is_image_spec(const char *spec)
{
    if (strncmp(spec, "cifar10:", 8) == 0 || strncmp(spec, "png:", 4) == 0 ||
        strncmp(spec, "idx:", 4) == 0)
        return 1;
    const char *path = cli_npy_path(spec);
    gc_npy_array header;
    if (!path || gc_npy_read_header(path, &header) != GC_OK) return 0;
    return header.dtype == GC_NPY_U8;
}

gc_status cli_read_points(const char *spec, double **points, size_t *n, size_t *dim)
{
    const char *path = cli_npy_path(spec);
    if (!path) return gc_csv_read(spec, points, n, dim);
    gc_npy_array array;
    GC_TRY(gc_npy_read(path, &array));
    gc_status status = gc_npy_points(&array, path, points, n, dim);
    gc_npy_free(&array);
    return status;
}
