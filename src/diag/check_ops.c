/* Self-checks behind `glowcl check` and the unit tests: the same operation on an OpenCL device
 * and on the reference path, from the same random inputs, compared by relative error. */
#include "glowcl/check.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glowcl/gemm.h"
#include "glowcl/rng.h"
#include "glowcl/tensor.h"

gc_status gc_check_add(gc_check_report *report, const char *name, const char *measure, double error,
                       double tolerance)
{
    if (report->count == report->capacity) {
        size_t capacity = report->capacity ? report->capacity * 2 : 16;
        gc_check_row *rows = realloc(report->rows, capacity * sizeof *rows);
        if (!rows) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
        report->rows = rows;
        report->capacity = capacity;
    }
    gc_check_row *row = &report->rows[report->count++];
    snprintf(row->name, sizeof row->name, "%s", name);
    snprintf(row->measure, sizeof row->measure, "%s", measure);
    row->error = error;
    row->tolerance = tolerance;
    row->passed = error <= tolerance; /* NaN fails */
    return GC_OK;
}

void gc_check_report_free(gc_check_report *report)
{
    free(report->rows);
    memset(report, 0, sizeof *report);
}

size_t gc_check_failures(const gc_check_report *report)
{
    size_t failures = 0;
    for (size_t i = 0; i < report->count; i++) failures += !report->rows[i].passed;
    return failures;
}

double gc_relative_error(const double *a, const double *b, size_t n)
{
    double diff = 0.0, norm = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i])) return INFINITY;
        diff += (a[i] - b[i]) * (a[i] - b[i]);
        norm += b[i] * b[i];
    }
    return sqrt(diff) / fmax(sqrt(norm), DBL_MIN);
}

/* The same tensor on the reference runtime and on the device, filled with `values`. */
typedef struct tensor_pair {
    gc_tensor ref, dev;
} tensor_pair;

static gc_status pair_init(tensor_pair *p, gc_runtime *ref, gc_runtime *dev, size_t count,
                           const double *values)
{
    memset(p, 0, sizeof *p);
    GC_TRY(gc_tensor_init1(&p->ref, ref, count));
    GC_TRY(gc_tensor_init1(&p->dev, dev, count));
    if (values) {
        GC_TRY(gc_tensor_upload(&p->ref, values));
        GC_TRY(gc_tensor_upload(&p->dev, values));
    }
    return GC_OK;
}

static void pair_release(tensor_pair *p)
{
    gc_tensor_release(&p->ref);
    gc_tensor_release(&p->dev);
}

/* Downloads both sides and records their relative error as one row. */
static gc_status pair_compare(gc_check_report *report, const char *name, const tensor_pair *p)
{
    size_t n = p->ref.count;
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    gc_status status = (a && b) ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    if (status == GC_OK) status = gc_tensor_download(&p->dev, a);
    if (status == GC_OK) status = gc_tensor_download(&p->ref, b);
    if (status == GC_OK)
        status = gc_check_add(report, name, "rel err vs reference", gc_relative_error(a, b, n),
                              GC_TOL_DEVICE);
    free(a);
    free(b);
    return status;
}

static double *random_values(gc_rng *rng, size_t n, double offset)
{
    double *v = malloc(n * sizeof *v);
    if (v)
        for (size_t i = 0; i < n; i++) v[i] = offset + gc_rng_normal(rng);
    return v;
}

static gc_status check_tensor_ops(gc_runtime *ref, gc_runtime *dev, gc_rng *rng,
                                  gc_check_report *report)
{
    /* Odd sizes so that no work-group or tree shape divides them evenly. */
    const size_t outer = 37, channels = 5, inner = 13, n = outer * channels * inner;
    double *x = random_values(rng, n, 0.0), *y = random_values(rng, n, 0.0);
    /* An offset mean makes the two-pass variance matter. */
    double *z = random_values(rng, n, 3.0);
    tensor_pair px = {0}, py = {0}, pz = {0}, out = {0}, mean = {0}, var = {0};
    gc_status status = (x && y && z) ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
#define STEP(expr)                                                                                 \
    if (status == GC_OK) status = (expr)
    STEP(pair_init(&px, ref, dev, n, x));
    STEP(pair_init(&py, ref, dev, n, y));
    STEP(pair_init(&pz, ref, dev, n, z));
    STEP(pair_init(&out, ref, dev, n, NULL));
    STEP(pair_init(&mean, ref, dev, channels, NULL));
    STEP(pair_init(&var, ref, dev, channels, NULL));

    STEP(gc_tensor_fill(&out.ref, -1.25));
    STEP(gc_tensor_fill(&out.dev, -1.25));
    STEP(pair_compare(report, "tensor fill", &out));
    STEP(gc_tensor_copy(&out.ref, &px.ref));
    STEP(gc_tensor_copy(&out.dev, &px.dev));
    STEP(gc_tensor_scale(&out.ref, 0.37));
    STEP(gc_tensor_scale(&out.dev, 0.37));
    STEP(pair_compare(report, "tensor copy+scale", &out));
    STEP(gc_tensor_axpy(&out.ref, -2.5, &py.ref));
    STEP(gc_tensor_axpy(&out.dev, -2.5, &py.dev));
    STEP(pair_compare(report, "tensor axpy", &out));
    STEP(gc_tensor_mul(&out.ref, &px.ref, &py.ref));
    STEP(gc_tensor_mul(&out.dev, &px.dev, &py.dev));
    STEP(pair_compare(report, "tensor mul", &out));
    STEP(gc_tensor_channel_sum(&mean.ref, &px.ref, outer, channels, inner));
    STEP(gc_tensor_channel_sum(&mean.dev, &px.dev, outer, channels, inner));
    STEP(pair_compare(report, "channel sum 37x5x13", &mean));
    STEP(gc_tensor_channel_moments(&mean.ref, &var.ref, &pz.ref, outer, channels, inner));
    STEP(gc_tensor_channel_moments(&mean.dev, &var.dev, &pz.dev, outer, channels, inner));
    STEP(pair_compare(report, "channel mean 37x5x13", &mean));
    STEP(pair_compare(report, "channel variance 37x5x13", &var));
    /* A batch sum over many rows and few columns, the shape of gradient reductions. */
    STEP(gc_tensor_channel_sum(&var.ref, &pz.ref, outer * inner, channels, 1));
    STEP(gc_tensor_channel_sum(&var.dev, &pz.dev, outer * inner, channels, 1));
    STEP(pair_compare(report, "batch sum 481x5", &var));
    STEP(gc_tensor_accumulate_columns(&out.ref, 3, &px.ref, 100, 7, -0.5));
    STEP(gc_tensor_accumulate_columns(&out.dev, 3, &px.dev, 100, 7, -0.5));
    STEP(pair_compare(report, "accumulate columns 100x7", &out));
    STEP(gc_tensor_sum_squares(&mean.ref, &pz.ref, 5));
    STEP(gc_tensor_sum_squares(&mean.dev, &pz.dev, 5));
    STEP(pair_compare(report, "sum of squares", &mean));
#undef STEP
    pair_release(&px);
    pair_release(&py);
    pair_release(&pz);
    pair_release(&out);
    pair_release(&mean);
    pair_release(&var);
    free(x);
    free(y);
    free(z);
    return status;
}

static gc_status check_one_gemm(gc_runtime *ref, gc_runtime *dev, gc_rng *rng, size_t m, size_t n,
                                size_t k, int ta, int tb, double alpha, double beta,
                                gc_check_report *report)
{
    /* Operands sit at an offset with padded rows, as views into larger tensors do. */
    const size_t pad = 3, offset = 5;
    size_t a_rows = ta ? k : m, a_cols = ta ? m : k;
    size_t b_rows = tb ? n : k, b_cols = tb ? k : n;
    size_t a_count = offset + a_rows * (a_cols + pad), b_count = offset + b_rows * (b_cols + pad);
    size_t c_count = offset + m * (n + pad);
    double *a = random_values(rng, a_count, 0.0), *b = random_values(rng, b_count, 0.0);
    double *c = random_values(rng, c_count, 0.0);
    tensor_pair pa = {0}, pb = {0}, pc = {0};
    gc_status status = (a && b && c) ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    if (status == GC_OK) status = pair_init(&pa, ref, dev, a_count, a);
    if (status == GC_OK) status = pair_init(&pb, ref, dev, b_count, b);
    if (status == GC_OK) status = pair_init(&pc, ref, dev, c_count, c);
    gc_matrix ma_ref = {&pa.ref, offset, a_cols + pad, ta},
              mb_ref = {&pb.ref, offset, b_cols + pad, tb};
    gc_matrix ma_dev = {&pa.dev, offset, a_cols + pad, ta},
              mb_dev = {&pb.dev, offset, b_cols + pad, tb};
    if (status == GC_OK)
        status = gc_gemm(ref, m, n, k, alpha, ma_ref, mb_ref, beta, &pc.ref, offset, n + pad);
    if (status == GC_OK)
        status = gc_gemm(dev, m, n, k, alpha, ma_dev, mb_dev, beta, &pc.dev, offset, n + pad);
    char name[64];
    snprintf(name, sizeof name, "gemm %zux%zux%zu %s%s%s", m, n, k, ta ? "A^T" : "A",
             tb ? " B^T" : " B", beta != 0.0 ? " +C" : "");
    if (status == GC_OK) status = pair_compare(report, name, &pc);
    pair_release(&pa);
    pair_release(&pb);
    pair_release(&pc);
    free(a);
    free(b);
    free(c);
    return status;
}

static gc_status with_reference(gc_runtime *device, uint64_t seed, gc_check_report *report,
                                gc_status (*body)(gc_runtime *, gc_runtime *, gc_rng *,
                                                  gc_check_report *))
{
    if (gc_runtime_backend(device) != GC_BACKEND_OPENCL)
        return GC_ERROR(GC_ERR_ARGUMENT, "device checks need an OpenCL runtime");
    gc_runtime *ref = NULL;
    GC_TRY(gc_runtime_open_reference(&ref));
    gc_rng rng;
    gc_rng_seed(&rng, seed);
    gc_status status = body(ref, device, &rng, report);
    gc_runtime_close(ref);
    return status;
}

gc_status gc_check_tensor_ops(gc_runtime *device, uint64_t seed, gc_check_report *report)
{
    return with_reference(device, seed, report, check_tensor_ops);
}

static gc_status check_gemms(gc_runtime *ref, gc_runtime *dev, gc_rng *rng, gc_check_report *report)
{
    /* Non-square, not multiples of 16, every transpose combination, and beta ≠ 0 once. */
    for (int t = 0; t < 4; t++)
        GC_TRY(check_one_gemm(ref, dev, rng, 37, 53, 29, t & 1, (t >> 1) & 1, 1.0, 0.0, report));
    GC_TRY(check_one_gemm(ref, dev, rng, 37, 53, 29, 0, 0, 0.75, -0.5, report));
    return check_one_gemm(ref, dev, rng, 1, 67, 130, 1, 0, 1.0, 0.0, report);
}

gc_status gc_check_gemm(gc_runtime *device, uint64_t seed, gc_check_report *report)
{
    return with_reference(device, seed, report, check_gemms);
}
