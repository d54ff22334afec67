/* Timing helpers behind `glowcl bench`: the convolution layers of the image model, measured
 * on one runtime, so that throughput can be compared with a BLAS at the same GEMM shapes. */
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

/* The OpenCL device's multiply-add peak in GFLOP/s (cl/peak.cl: float16 FMA chains, the median
 * of 5 timed launches of about 50 ms each after a calibrating one): a bound on what any of
 * glowcl's kernels there could reach, measured beside them. */
gc_status gc_bench_peak(gc_runtime *rt, double *gflops);

/* What a work-item of peak_fma computes: work_items · GC_PEAK_CHAINS · 16 floats, chain k of
 * work-item w in out[(w · GC_PEAK_CHAINS + k) · 16 …], each lane `iterations` times a = a·m + c
 * in float with fmaf. */
enum { GC_PEAK_CHAINS = 8 };
extern const float GC_PEAK_M, GC_PEAK_C; /* the m and c gc_bench_peak runs with */
void gc_peak_fma_reference(float *out, size_t work_items, unsigned iterations, float m, float c);

/* The median of n values (reorders them). */
double gc_median(double *values, size_t n);

/* Wall-clock seconds from a monotonic clock. */
double gc_seconds(void);

#ifdef __cplusplus
}
#endif

#endif
