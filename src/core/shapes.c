/* The kernel shape table's defaults and its build options (see shapes.h). */
#include "core/shapes.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

void gc_kernel_shapes_default(gc_kernel_shapes *shapes)
{
    *shapes = (gc_kernel_shapes){
        /* 8 rows a work-item were no faster (PoCL, AVX-512), 4 in pairs of float8 10 % slower */
        .coupling_rows = 4,
        .coupling_vector = 8,
        .coupling_tile_in = 4,
        .coupling_tile_out = 16,
        .coupling_group = 8,
        /* each step's weights shared by its 16 · 4 rows */
        .vector_group = 16,
        .vector_fields = 12,
        .vector_max_dim = 8,
        .conv_tile = 8,
        .conv_params_3x3_outputs = 2,
        .invconv_pixels = 8,
        .invconv_group = 256,
        .prior_max_components = 8, /* GC_MAX_MIX_COMPONENTS, the most a model may ask for */
    };
}

/* The fields kernels read, by the name they know them as. */
static const struct {
    const char *name;
    size_t offset;
} defines[] = {
    {"COUPLING_ROWS", offsetof(gc_kernel_shapes, coupling_rows)},
    {"COUPLING_VECTOR", offsetof(gc_kernel_shapes, coupling_vector)},
    {"COUPLING_TILE_IN", offsetof(gc_kernel_shapes, coupling_tile_in)},
    {"COUPLING_TILE_OUT", offsetof(gc_kernel_shapes, coupling_tile_out)},
    {"VECTOR_FIELDS", offsetof(gc_kernel_shapes, vector_fields)},
    {"VECTOR_MAX_DIM", offsetof(gc_kernel_shapes, vector_max_dim)},
    {"CONV_TILE", offsetof(gc_kernel_shapes, conv_tile)},
    {"CONV_PARAMS_3X3_OUTPUTS", offsetof(gc_kernel_shapes, conv_params_3x3_outputs)},
    {"INVCONV_PIXELS", offsetof(gc_kernel_shapes, invconv_pixels)},
    {"PRIOR_MAX_COMPONENTS", offsetof(gc_kernel_shapes, prior_max_components)},
};

int gc_kernel_shapes_define(const gc_kernel_shapes *shapes, const char *name, char *out,
                            size_t size)
{
    for (size_t i = 0; i < sizeof defines / sizeof *defines; i++) {
        if (strcmp(defines[i].name, name) != 0) continue;
        unsigned value = *(const unsigned *)((const char *)shapes + defines[i].offset);
        size_t used = strlen(out);
        int n = snprintf(out + used, size - used, " -D%s=%u", name, value);
        return n >= 0 && (size_t)n < size - used ? 0 : -1;
    }
    return -1;
}
