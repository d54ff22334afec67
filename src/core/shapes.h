/* The kernels' shape parameters in one table: what a host launch and its kernel must agree on
 * (rows or pixels a work-item takes, tile sizes, array bounds) and the work-group sizes the
 * host picks. The runtime holds one (rt->shapes), filled with the defaults when it opens; the
 * host reads its values from there and every program is built with them as -DNAME=value, so
 * host and kernel never disagree. Per-device defaults and a tuner belong here; a field whose
 * kernel is written for one value only says so, and its kernel stops the build on another. */
#ifndef GLOWCL_SHAPES_H
#define GLOWCL_SHAPES_H

#include <stddef.h>

#include "glowcl/runtime.h"

/* The two kernel sets (issue 16): `cpu`, shaped for a CPU's vector units (a work-item's loop
 * runs as vector code), and `gpu`, shaped for many work-items tiled in local memory. A device
 * gets the one its class calls for (gc_device_class: "gpu" → gpu), unless the caller asks
 * otherwise (gc_runtime_options.kernels, GLOWCL_KERNELS). Results agree within float rounding
 * and a model trained with either runs with the other. */
typedef enum gc_kernel_set { GC_KERNELS_CPU, GC_KERNELS_GPU } gc_kernel_set;

typedef struct gc_kernel_shapes {
    /* cl/coupling.cl (the vector coupling and the fused vector Glow) */
    unsigned coupling_rows;     /* COUPLING_ROWS: samples a work-item takes (4, the float4 rows) */
    unsigned coupling_vector;   /* COUPLING_VECTOR: the float8 width of the dense layers' sums
                                 * and of a narrow layer's gradient tile (8 only) */
    unsigned coupling_tile_in;  /* COUPLING_TILE_IN: inputs of a wide layer's gradient tile */
    unsigned coupling_tile_out; /* COUPLING_TILE_OUT: its outputs, one float16 (16 only) */
    unsigned coupling_group;    /* work-items a group in the coupling launches (host only;
                                 * tunable: no coupling kernel shares data in its group) */
    unsigned vector_group;      /* work-items a group in the fused vector Glow's row passes,
                                 * which share each step's weights through the cache: their
                                 * barriers only keep the group on one step, every row stays
                                 * its work-item's (host only; tunable) */
    unsigned vector_fields;     /* VECTOR_FIELDS: offsets a step in the fused pass's table */
    unsigned vector_max_dim;    /* VECTOR_MAX_DIM: widest vector of the fused pass (its 1x1
                                 * convolutions keep W in private memory) */
    /* cl/conv.cl */
    unsigned conv_tile;          /* CONV_TILE: pixels of each of a tile's two rows (8 only) */
    unsigned conv_channels;      /* CONV_CHANNELS: output channels a work-item of conv_3x3
                                       * and conv_1x1 takes (4, 6 or 8) */
    unsigned conv_grid;          /* CONV_GRID: conv_3x3's and conv_1x1's first launch
                                       * dimension: 1 pixel blocks, 2 channel blocks */
    unsigned conv_grad_channels; /* CONV_GRAD_CHANNELS: output channels a work-item of
                                       * conv_params_panels takes (4, 6 or 8) */
    /* cl/gpu_conv.cl (the gpu set's convolutions) */
    unsigned gpu_conv_side;      /* GPU_CONV_SIDE: a work-group is SIDE × SIDE work-items and
                                  * the depth of a k step (8 or 16) */
    unsigned gpu_conv_item;      /* largest register tile, R × R outputs a work-item (2 or 4;
                                  * host only: both kernels are built, see conv.c) */
    unsigned gpu_conv_min_items; /* work-items a launch should have, by smaller tiles and
                                  * splits of the sum where the tiles alone give fewer (host
                                  * only) */
    /* cl/invconv.cl */
    unsigned invconv_pixels; /* INVCONV_PIXELS: pixels an invconv_mix work-item takes where
                                 * the image's pixels are a multiple of it */
    unsigned invconv_group;  /* most work-items of the one-group kernels, which stride over
                              * any group size (host only; tunable) */
    /* cl/prior.cl */
    unsigned prior_max_components; /* PRIOR_MAX_COMPONENTS: most components of a mixture */
    /* cl/peak.cl (glowcl bench's FMA peak): as many chains as hide an FMA's latency at the
     * device's issue rate, all of them in registers */
    unsigned peak_vector; /* PEAK_VECTOR: floats of a chain's vector (4, 8 or 16) */
    unsigned peak_chains; /* PEAK_CHAINS: independent FMA chains a work-item runs */
} gc_kernel_shapes;

/* The defaults, measured on PoCL CPUs (see the kernel files). */
void gc_kernel_shapes_default(gc_kernel_shapes *shapes);

/* The defaults of a class (gc_device_class), measured on it: gc_kernel_shapes_default with the
 * fields that class changes. An unknown class gets the plain defaults. */
void gc_kernel_shapes_for_class(gc_kernel_shapes *shapes, const char *device_class);

/* Sets fields from text of the form "NAME=value,NAME=value" (the names the kernels know them
 * by, e.g. CONV_CHANNELS=4; host-only fields have names too, see shapes.c). `source` names the
 * text in messages (e.g. "GLOWCL_SHAPES"). GC_ERR_ARGUMENT, naming the entry and the values
 * allowed, for an unknown name or a value the kernels are not written for; shapes is then
 * unchanged. */
gc_status gc_kernel_shapes_parse(gc_kernel_shapes *shapes, const char *text, const char *source);

/* The shape parameters a tuner may choose among: for the i-th (from 0), its name, and its
 * allowed values (0-terminated). 0 past the last. Parameters with one allowed value are not
 * listed. */
int gc_kernel_shapes_tunable(size_t i, const char **name, const unsigned **values);

/* What times a tunable parameter (the workloads of src/diag/tune.c: "moons", "moons-low",
 * "image-conv"); NULL for a name shapes.c gives none (a field with one allowed value). */
const char *gc_kernel_shapes_workload(const char *name);

/* The value of the field the kernels know as `name`: 0, or -1 if no field has that name. */
int gc_kernel_shapes_get(const gc_kernel_shapes *shapes, const char *name, unsigned *value);

/* "NAME=value,..." of every field, for messages and caches (size bytes, a string). */
void gc_kernel_shapes_format(const gc_kernel_shapes *shapes, char *out, size_t size);

/* Appends " -DNAME=value" for the field the kernels know as `name` to out (size bytes, a
 * string); returns 0, or -1 if no field has that name or out is too small. */
int gc_kernel_shapes_define(const gc_kernel_shapes *shapes, const char *name, char *out,
                            size_t size);

#endif
