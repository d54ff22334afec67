/* The kernel shape table's defaults and its build options (see shapes.h). */
#include "core/shapes.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
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
        .conv_channels = 8,
        .conv_grid = 1,
        .conv_grad_channels = 8,
        /* 256 work-items a group, 16 outputs each: a GPU's usual shape for a tiled product */
        .gpu_conv_side = 16,
        .gpu_conv_item = 4,
        /* about two waves of work-items on a GPU of 60 to 130 compute units */
        .gpu_conv_min_items = 32768,
        .invconv_pixels = 8,
        .invconv_group = 256,
        .prior_max_components = 8, /* GC_MAX_MIX_COMPONENTS, the most a model may ask for */
        /* AVX-512's 32 zmm registers hold 8 float16 chains (and a GPU's registers more) */
        .peak_vector = 16,
        .peak_chains = 8,
    };
}

/* Every field by the name the kernels know it as (host-only fields have one too, for
 * GLOWCL_SHAPES and the tuner), with the values its code is written for (0-terminated) and,
 * where there are several, the workload of src/diag/tune.c that times them ("moons": the 2-D
 * Glow's training step; "moons-low": the same in the low-memory mode, which runs the per-op
 * passes; "image-conv": the image model's convolutions; "image-conv-gpu": the same with the
 * gpu kernel set). */
enum { MAX_ALLOWED = 8 };
static const struct {
    const char *name;
    size_t offset;
    unsigned allowed[MAX_ALLOWED];
    const char *workload;
} fields[] = {
    {"COUPLING_ROWS", offsetof(gc_kernel_shapes, coupling_rows), {4}, NULL},
    {"COUPLING_VECTOR", offsetof(gc_kernel_shapes, coupling_vector), {8}, NULL},
    {"COUPLING_TILE_IN", offsetof(gc_kernel_shapes, coupling_tile_in), {4}, NULL},
    {"COUPLING_TILE_OUT", offsetof(gc_kernel_shapes, coupling_tile_out), {16}, NULL},
    {"COUPLING_GROUP", offsetof(gc_kernel_shapes, coupling_group), {8, 16, 32}, "moons"},
    {"VECTOR_GROUP", offsetof(gc_kernel_shapes, vector_group), {8, 16, 32}, "moons"},
    {"VECTOR_FIELDS", offsetof(gc_kernel_shapes, vector_fields), {12}, NULL},
    {"VECTOR_MAX_DIM", offsetof(gc_kernel_shapes, vector_max_dim), {8}, NULL},
    {"CONV_TILE", offsetof(gc_kernel_shapes, conv_tile), {8}, NULL},
    {"CONV_CHANNELS", offsetof(gc_kernel_shapes, conv_channels), {4, 6, 8}, "image-conv"},
    {"CONV_GRID", offsetof(gc_kernel_shapes, conv_grid), {1, 2}, "image-conv"},
    {"CONV_GRAD_CHANNELS", offsetof(gc_kernel_shapes, conv_grad_channels), {4, 6, 8}, "image-conv"},
    {"GPU_CONV_SIDE", offsetof(gc_kernel_shapes, gpu_conv_side), {8, 16}, "image-conv-gpu"},
    {"GPU_CONV_ITEM", offsetof(gc_kernel_shapes, gpu_conv_item), {2, 4}, "image-conv-gpu"},
    {"GPU_CONV_MIN_ITEMS",
     offsetof(gc_kernel_shapes, gpu_conv_min_items),
     {16384, 32768, 65536},
     "image-conv-gpu"},
    {"INVCONV_PIXELS", offsetof(gc_kernel_shapes, invconv_pixels), {8}, NULL},
    /* its one-group kernels run in the per-op passes */
    {"INVCONV_GROUP", offsetof(gc_kernel_shapes, invconv_group), {64, 128, 256}, "moons-low"},
    {"PRIOR_MAX_COMPONENTS", offsetof(gc_kernel_shapes, prior_max_components), {8}, NULL},
    /* the peak's FMA chains: vector width and independent chains a work-item */
    {"PEAK_VECTOR", offsetof(gc_kernel_shapes, peak_vector), {4, 8, 16}, "peak"},
    {"PEAK_CHAINS", offsetof(gc_kernel_shapes, peak_chains), {4, 8, 10, 12, 14, 16}, "peak"},
};
enum { FIELD_COUNT = sizeof fields / sizeof *fields };

static unsigned *field(gc_kernel_shapes *shapes, size_t i)
{
    return (unsigned *)((char *)shapes + fields[i].offset);
}

static unsigned field_value(const gc_kernel_shapes *shapes, size_t i)
{
    return *(const unsigned *)((const char *)shapes + fields[i].offset);
}

static int allowed(size_t i, unsigned value)
{
    for (size_t k = 0; k < MAX_ALLOWED && fields[i].allowed[k]; k++)
        if (fields[i].allowed[k] == value) return 1;
    return 0;
}

int gc_kernel_shapes_define(const gc_kernel_shapes *shapes, const char *name, char *out,
                            size_t size)
{
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        if (strcmp(fields[i].name, name) != 0) continue;
        size_t used = strlen(out);
        int n = snprintf(out + used, size - used, " -D%s=%u", name, field_value(shapes, i));
        return n >= 0 && (size_t)n < size - used ? 0 : -1;
    }
    return -1;
}

const char *gc_device_class(const gc_device_info *device)
{
    if (device->kind == GC_DEVICE_GPU || device->kind == GC_DEVICE_ACCELERATOR) return "gpu";
    /* PoCL names its CPU device after LLVM's CPU ("pthread-skylake-avx512"); other drivers
     * report the vector width. */
    if (device->native_vector_width_float >= 16 || strstr(device->name, "avx512"))
        return "cpu-avx512";
    return "cpu-avx2";
}

void gc_kernel_shapes_for_class(gc_kernel_shapes *shapes, const char *device_class)
{
    gc_kernel_shapes_default(shapes);
    /* AVX2 has 16 ymm registers: 8 float16 chains (two each) spill, and 2 FMAs a cycle at a
     * latency of 4-5 need 10 in flight; 12 float8 chains, with m and c, fit (pthread-haswell,
     * AMD EPYC: 16 x 8 ran at about half of 8 x 12). */
    if (strcmp(device_class, "cpu-avx2") == 0) {
        shapes->peak_vector = 8;
        shapes->peak_chains = 12;
        /* Likewise the convolutions' float16 accumulators: 8 take all 16 registers. glowcl
         * bench --tune on pthread-haswell (AMD EPYC, 2026-12-07), the image model's
         * convolution passes at batch 16: CONV_CHANNELS 4/6/8 180/214/221 ms,
         * CONV_GRAD_CHANNELS 4/6/8 152/142/164 ms. */
        shapes->conv_channels = 4;
        shapes->conv_grad_channels = 6;
        /* With conv_1x1's input in panels, the channel blocks that share a panel go first, so
         * that it stays in cache between them: the image step's best of 4 alternating runs
         * (pthread-haswell, 2026-12-07) 1.57 s against 2.03 s with the pixel blocks first. */
        shapes->conv_grid = 2;
    }
    /* GPUs compute float4 as four scalar lanes; their parallelism is in the work-items. */
    if (strcmp(device_class, "gpu") == 0) {
        shapes->peak_vector = 4;
        shapes->peak_chains = 8;
    }
}

static void allowed_list(size_t i, char *out, size_t size)
{
    out[0] = '\0';
    for (size_t k = 0; k < MAX_ALLOWED && fields[i].allowed[k]; k++) {
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s%u", k ? ", " : "", fields[i].allowed[k]);
    }
}

/* One "NAME=value" entry of gc_kernel_shapes_parse, `length` characters at `entry`. */
static gc_status parse_entry(gc_kernel_shapes *shapes, const char *entry, size_t length,
                             const char *source)
{
    const char *equals = memchr(entry, '=', length);
    for (size_t i = 0; equals && i < FIELD_COUNT; i++) {
        size_t name_length = (size_t)(equals - entry);
        if (strlen(fields[i].name) != name_length ||
            strncmp(fields[i].name, entry, name_length) != 0)
            continue;
        char digits[16] = {0}, *end = NULL;
        size_t digit_count = length - name_length - 1;
        unsigned long value = 0;
        if (digit_count > 0 && digit_count < sizeof digits) {
            memcpy(digits, equals + 1, digit_count);
            value = strtoul(digits, &end, 10);
        }
        char list[64];
        allowed_list(i, list, sizeof list);
        if (!end || *end || value > 65536 || !allowed(i, (unsigned)value))
            return GC_ERROR(GC_ERR_ARGUMENT, "%s: %.*s: %s must be one of %s", source, (int)length,
                            entry, fields[i].name, list);
        *field(shapes, i) = (unsigned)value;
        return GC_OK;
    }
    return GC_ERROR(GC_ERR_ARGUMENT, "%s: '%.*s' is not NAME=value with a kernel shape's name",
                    source, (int)length, entry);
}

gc_status gc_kernel_shapes_parse(gc_kernel_shapes *shapes, const char *text, const char *source)
{
    gc_kernel_shapes parsed = *shapes;
    for (const char *entry = text; *entry;) {
        size_t length = strcspn(entry, ", ");
        if (length > 0) GC_TRY(parse_entry(&parsed, entry, length, source));
        entry += length;
        entry += strspn(entry, ", ");
    }
    *shapes = parsed;
    return GC_OK;
}

int gc_kernel_shapes_tunable(size_t i, const char **name, const unsigned **values)
{
    for (size_t f = 0; f < FIELD_COUNT; f++) {
        if (fields[f].allowed[1] == 0) continue;
        if (i-- == 0) {
            *name = fields[f].name;
            *values = fields[f].allowed;
            return 1;
        }
    }
    return 0;
}

const char *gc_kernel_shapes_workload(const char *name)
{
    for (size_t i = 0; i < FIELD_COUNT; i++)
        if (strcmp(fields[i].name, name) == 0) return fields[i].workload;
    return NULL;
}

int gc_kernel_shapes_get(const gc_kernel_shapes *shapes, const char *name, unsigned *value)
{
    for (size_t i = 0; i < FIELD_COUNT; i++)
        if (strcmp(fields[i].name, name) == 0) {
            *value = field_value(shapes, i);
            return 0;
        }
    return -1;
}

void gc_kernel_shapes_format(const gc_kernel_shapes *shapes, char *out, size_t size)
{
    if (size) out[0] = '\0';
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s%s=%u", i ? "," : "", fields[i].name,
                 field_value(shapes, i));
    }
}
