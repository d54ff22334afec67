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

#ifdef __cplusplus
}
#endif

#endif
