/* Self-checks shared by `glowcl check` and the unit tests: each measures one error (device
 * against reference, inverse, log-determinant, gradient) and compares it with a tolerance
 * stated once here. */
#ifndef GLOWCL_CHECK_H
#define GLOWCL_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "glowcl/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ‖device − reference‖₂ / ‖reference‖₂ for one float32 operation. */
#define GC_TOL_DEVICE 1e-4
/* The same for the gradient of a deep, wide model (the full image Glow: 48 steps, sums over
 * 4608 products per output): float32 rounding compounds through the backward pass. */
#define GC_TOL_DEVICE_DEEP_GRADIENT 1e-3
/* max |decode(encode(x)) − x| in float32: one op, and a whole model. */
#define GC_TOL_INVERSE_OP 1e-5
#define GC_TOL_INVERSE_MODEL 1e-4
/* |log-det − log|det J|| with J from central finite differences in double. */
#define GC_TOL_LOGDET 1e-4
/* ‖backprop − finite differences‖ / ‖finite differences‖ on the reference path (double). */
#define GC_TOL_GRADIENT 1e-6

typedef struct gc_check_row {
    char name[64];    /* what was checked, e.g. "gemm 37x53x29 A^T B" */
    char measure[48]; /* which error, e.g. "rel err vs reference" */
    double error;
    double tolerance;
    int passed;
} gc_check_row;

typedef struct gc_check_report {
    gc_check_row *rows;
    size_t count, capacity;
} gc_check_report;

gc_status gc_check_add(gc_check_report *report, const char *name, const char *measure, double error,
                       double tolerance);
void gc_check_report_free(gc_check_report *report);
size_t gc_check_failures(const gc_check_report *report);

/* ‖a − b‖₂ / ‖b‖₂, with ‖b‖₂ floored at the smallest normal double; NaN anywhere gives +inf. */
double gc_relative_error(const double *a, const double *b, size_t n);

/* Tensor operations and GEMM on `device` (an OpenCL runtime) against the reference path, on
 * fresh random inputs drawn from `seed`. */
gc_status gc_check_tensor_ops(gc_runtime *device, uint64_t seed, gc_check_report *report);
gc_status gc_check_gemm(gc_runtime *device, uint64_t seed, gc_check_report *report);

/* Every flow op (affine, ActNorm, coupling, 1x1 convolution) and whole 10-layer models with
 * each prior: inverse, log-determinant against a finite-difference Jacobian, gradients against
 * finite differences (reference path, double), and, when `device` is an OpenCL runtime (it may
 * be NULL), the device against the reference. */
gc_status gc_check_flows(gc_runtime *device, uint64_t seed, gc_check_report *report);

/* The full default image model (3×32×32, 3 levels of 16 steps, hidden 512) on a batch of 2:
 * reference inverse, and the device's latents, inverse, loss and parameter gradient against
 * the reference. A minute or more: the reference path runs it in double. */
gc_status gc_check_full_image_model(gc_runtime *device, uint64_t seed, gc_check_report *report);

#ifdef __cplusplus
}
#endif

#endif
