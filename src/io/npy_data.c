/* NumPy arrays as glowcl's data: float arrays as points (gc_npy_points, include/glowcl/data.h)
 * and uint8 arrays as images (gc_npy_images, include/glowcl/images.h), with the shapes each
 * needs checked and named in the messages. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glowcl/data.h"
#include "glowcl/images.h"
#include "glowcl/npy.h"
#include "npy_internal.h"

static const char *dtype_name(gc_npy_dtype dtype)
{
    return dtype == GC_NPY_U8 ? "uint8" : dtype == GC_NPY_F32 ? "float32" : "float64";
}

/* ---- points ---- */

gc_status gc_npy_points(const gc_npy_array *array, const char *label, double **points_out,
                        size_t *n_out, size_t *dim_out)
{
    if (!points_out || !n_out || !dim_out)
        return GC_ERROR(GC_ERR_ARGUMENT, "gc_npy_points: NULL output");
    *points_out = NULL;
    *n_out = *dim_out = 0;
    if (!array || !label) return GC_ERROR(GC_ERR_ARGUMENT, "gc_npy_points: NULL array or label");
    char shape[256];
    gc_npy_shape_text(array, shape, sizeof shape);
    if (array->dtype == GC_NPY_U8)
        return GC_ERROR(GC_ERR_FORMAT,
                        "%s holds uint8 values of shape %s, which glowcl takes for images; "
                        "points are float32 or float64",
                        label, shape);
    if (array->ndim < 1 || array->ndim > 2 || gc_npy_count(array) == 0)
        return GC_ERROR(GC_ERR_FORMAT, "%s: shape %s is not points (N x D, N and D above 0)", label,
                        shape);
    size_t n = array->shape[0], dim = array->ndim == 2 ? array->shape[1] : 1;
    double *points = malloc(n * dim * sizeof *points);
    if (!points) return GC_ERROR(GC_ERR_MEMORY, "%s: no memory for %zu points", label, n);
    for (size_t i = 0; i < n * dim; i++) {
        points[i] = array->dtype == GC_NPY_F32 ? (double)((const float *)array->data)[i]
                                               : ((const double *)array->data)[i];
        if (!isfinite(points[i])) {
            double value = points[i];
            free(points);
            return GC_ERROR(GC_ERR_FORMAT, "%s: row %zu column %zu is not a finite number (%g)",
                            label, i / dim + 1, i % dim + 1, value);
        }
    }
    *points_out = points;
    *n_out = n;
    *dim_out = dim;
    return GC_OK;
}

/* ---- images ---- */

static bool is_channel_count(size_t c) { return c == 1 || c == 3 || c == 4; }

/* Channels, height and width of the images, and whether the channel axis is the last one. */
static gc_status image_axes(const gc_npy_array *a, const char *label, gc_image_layout layout,
                            size_t axes[3], bool *last)
{
    char shape[256];
    gc_npy_shape_text(a, shape, sizeof shape);
    if (a->dtype != GC_NPY_U8)
        return GC_ERROR(GC_ERR_FORMAT,
                        "%s holds %s values of shape %s; images are uint8 (0..255), and float "
                        "arrays are points",
                        label, dtype_name(a->dtype), shape);
    if (a->ndim != 3 && a->ndim != 4)
        return GC_ERROR(GC_ERR_FORMAT,
                        "%s: shape %s is not images (N x H x W, N x H x W x C or N x C x H x W)",
                        label, shape);
    *last = false;
    if (a->ndim == 4 && layout == GC_LAYOUT_AUTO) {
        bool at_end = is_channel_count(a->shape[3]), at_one = is_channel_count(a->shape[1]);
        if (at_end == at_one)
            return GC_ERROR(GC_ERR_FORMAT,
                            "%s: shape %s has %s channel axis of 1, 3 or 4 on %s; say which "
                            "layout it is (--layout nhwc or nchw)",
                            label, shape, at_end ? "a" : "no",
                            at_end ? "both sides" : "either side");
        *last = at_end;
    } else if (a->ndim == 4) {
        *last = layout == GC_LAYOUT_NHWC;
    }
    axes[0] = a->ndim == 3 ? 1 : *last ? a->shape[3] : a->shape[1];
    axes[1] = a->ndim == 3 || *last ? a->shape[1] : a->shape[2];
    axes[2] = a->ndim == 3 || *last ? a->shape[2] : a->shape[3];
    if (gc_npy_count(a) == 0)
        return GC_ERROR(GC_ERR_FORMAT, "%s: shape %s holds no images", label, shape);
    return GC_OK;
}

gc_status gc_npy_images(const gc_npy_array *array, const char *label, gc_image_layout layout,
                        size_t max_images, gc_image_set *out)
{
    if (!out) return GC_ERROR(GC_ERR_ARGUMENT, "gc_npy_images: NULL output");
    memset(out, 0, sizeof *out);
    if (!array || !label) return GC_ERROR(GC_ERR_ARGUMENT, "gc_npy_images: NULL array or label");
    size_t axes[3];
    bool last = false;
    GC_TRY(image_axes(array, label, layout, axes, &last));
    size_t count = array->shape[0];
    if (max_images != 0 && max_images < count) count = max_images;
    size_t plane = axes[1] * axes[2], image = axes[0] * plane;
    out->pixels = malloc(count * image);
    if (!out->pixels) return GC_ERROR(GC_ERR_MEMORY, "%s: no memory for %zu images", label, count);
    const uint8_t *in = array->data;
    if (!last) {
        memcpy(out->pixels, in, count * image);
    } else {
        /* Interleaved channels to one plane per channel. */
        for (size_t i = 0; i < count; i++)
            for (size_t p = 0; p < plane; p++)
                for (size_t c = 0; c < axes[0]; c++)
                    out->pixels[i * image + c * plane + p] = in[i * image + p * axes[0] + c];
    }
    out->count = count;
    out->channels = axes[0];
    out->height = axes[1];
    out->width = axes[2];
    return GC_OK;
}
