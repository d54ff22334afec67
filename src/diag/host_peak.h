/* The host CPU's multiply-add loop behind gc_bench_host_peak (glowcl/bench.h): FMA intrinsics
 * compiled for the host, beside which the OpenCL device's peak (cl/peak.cl) is checked. */
#ifndef GLOWCL_HOST_PEAK_H
#define GLOWCL_HOST_PEAK_H

#include "glowcl/status.h"

/* The instructions the loop runs on this host, e.g. "AVX2 FMA intrinsics". */
const char *gc_host_fma_method(void);

/* Runs the loop on `threads` threads at once, each `iterations` times; *flops is what they
 * did together (2 a multiply-add, per lane). */
gc_status gc_host_fma_run(unsigned threads, unsigned iterations, double *flops);

#endif
