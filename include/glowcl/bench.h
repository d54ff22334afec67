/* Timing helpers behind `glowcl bench`: the convolution layers of the image model, measured
 * on one runtime, so that throughput can be compared with a BLAS at the same GEMM shapes, and
 * the multiply-add peaks of the device and of the host that bound them. */
#ifndef GLOWCL_BENCH_H
#define GLOWCL_BENCH_H

#include <stddef.h>

#include "glowcl/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A convolution layer (stride 1, "same" padding) applied to a batch. As a GEMM its forward
 * pass is M × N × K = out_channels × (batch · height · width) × (in_channels · kernel²). */
typedef struct gc_conv_shape {
    size_t batch, in_channels, out_channels, kernel, height, width;
} gc_conv_shape;

enum { GC_CONV_FORWARD, GC_CONV_INPUT_GRADIENT, GC_CONV_WEIGHT_GRADIENT, GC_CONV_PASSES };

/* Wall seconds per run of each pass of the layer (forward, gradient of the input, gradient of
 * the weights): the median of `repeats` samples, each as many runs queued back to back as take
 * about 20 ms and one wait for them (after an untimed run that compiles the kernels). */
gc_status gc_bench_conv(gc_runtime *rt, const gc_conv_shape *shape, int repeats,
                        double seconds[GC_CONV_PASSES]);

/* The image model's convolutions at batch `batch` (3x32x32, L=3, hidden 512): per level a
 * 3x3 conv in → hidden, a 1x1 hidden → hidden and a 3x3 hidden → 2·half. Returns the count. */
enum { GC_IMAGE_CONV_SHAPES = 9 };
size_t gc_image_conv_shapes(size_t batch, gc_conv_shape shapes[GC_IMAGE_CONV_SHAPES]);

/* 2·M·N·K of the layer's forward pass (each backward pass does the same work). */
double gc_conv_shape_flops(const gc_conv_shape *shape);

/* The chains of cl/peak.cl's work-items: `chains` independent chains each, of `vector` floats
 * (the runtime's PEAK_CHAINS and PEAK_VECTOR kernel shapes, chosen per device class). */
typedef struct gc_peak_shape {
    unsigned vector, chains;
} gc_peak_shape;

/* The OpenCL device's multiply-add peak, a bound on what any of glowcl's kernels there could
 * reach, measured beside them, and the host CPU's, which on a CPU device should agree with it. */
typedef struct gc_peak {
    gc_peak_shape shape; /* the chains peak_fma ran */
    double gflops;       /* the device's: cl/peak.cl, FMA chains of the runtime's shape */
    /* A loop of FMA intrinsics compiled for the host (AVX-512 where the CPU has it, else AVX2
     * with FMA; a plain C fmaf loop on other architectures) on as many threads as the device
     * has compute units */
    double host_gflops;
    unsigned host_threads;
    const char *host_method; /* e.g. "AVX2 FMA intrinsics" */
} gc_peak;

/* Both peaks in GFLOP/s: each loop calibrated to ~50 ms a run, then 7 timed runs of each in
 * turn (so that a spell of load on a shared machine falls on both), the median of each. */
gc_status gc_bench_peak(gc_runtime *rt, gc_peak *peak);

/* What a work-item of peak_fma computes: work_items · shape.chains · shape.vector floats,
 * chain k of work-item w in out[(w · shape.chains + k) · shape.vector …], lane l starting at
 * ((w · chains + k) mod 4096 + l) / 4096, each lane `iterations` times a = a·m + c in float
 * with fmaf. */
extern const float GC_PEAK_M, GC_PEAK_C; /* the m and c gc_bench_peak runs with */
void gc_peak_fma_reference(float *out, gc_peak_shape shape, size_t work_items, unsigned iterations,
                           float m, float c);

/* The median of n values (reorders them). */
double gc_median(double *values, size_t n);

/* Wall-clock seconds from a monotonic clock. */
double gc_seconds(void);

/* ---- The tuner: `glowcl bench --tune` ----
 * Each kernel shape parameter with more than one allowed value is timed on the user's device,
 * value by value, through the workload its kernels serve, and the fastest values are kept in
 * a cache per device that every later runtime on that device reads (docs/cli.md). */

/* A parameter the tuner chooses: its name (as GLOWCL_SHAPES writes it), its allowed values
 * (0-terminated), the workload that times it ("moons": a training step of the 2-D Glow,
 * "moons-low": the same in the low-memory mode, "image-conv": the image model's convolution
 * passes) and the unit-test program whose device tests run its kernels ("check_flow",
 * "check_conv"). workload and unit_tests are NULL for a parameter no workload times yet. */
typedef struct gc_tune_parameter {
    const char *name, *workload, *unit_tests;
    const unsigned *values;
} gc_tune_parameter;

/* The i-th tunable parameter (from 0); 0 past the last. */
int gc_tune_parameter_at(size_t i, gc_tune_parameter *out);

enum { GC_TUNE_MAX_PARAMETERS = 32, GC_TUNE_MAX_VALUES = 8 };

/* One parameter's turn: the workload's seconds with each of its values (the best of three
 * rounds over them), the others at their best so far; `initial` is the device class's
 * default, `best` the value kept: the fastest where it beats the default by 3 % or more. */
typedef struct gc_tune_result {
    gc_tune_parameter parameter;
    size_t count;
    double seconds[GC_TUNE_MAX_VALUES];
    unsigned initial, best;
} gc_tune_result;

typedef struct gc_tune_report {
    gc_device_info device;
    size_t count;
    gc_tune_result results[GC_TUNE_MAX_PARAMETERS];
    char cache_path[4096]; /* where the winners were written */
} gc_tune_report;

/* Tunes the device that `options` chooses (an OpenCL device): one parameter at a time from the
 * class defaults, each candidate in a runtime of its own opened with its shapes, and writes the
 * winners to the device's cache file. `quick`: a few steps a candidate (seconds in all, for
 * tests; the choice is then noise). `progress` (may be NULL) gets a line per candidate.
 * GC_ERR_ARGUMENT while GLOWCL_SHAPES is set (it would override every candidate) or for the
 * reference path, GC_ERR_NO_DEVICE when no OpenCL device opens, GC_ERR_IO when the cache
 * cannot be written (found before any timing). */
gc_status gc_tune(const gc_runtime_options *options, int quick, FILE *progress,
                  gc_tune_report *report);

#ifdef __cplusplus
}
#endif

#endif
