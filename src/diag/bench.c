/* Timing of the image model's convolution layers on one runtime (see glowcl/bench.h). */
#include "glowcl/bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "glowcl/tensor.h"
#include "core/internal.h"
#include "model/ops/conv.h"

double gc_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double gc_median(double *values, size_t n)
{
    if (n == 0) return 0.0;
    qsort(values, n, sizeof *values, compare_doubles);
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

void gc_peak_fma_reference(float *out, size_t work_items, unsigned iterations, float m, float c)
{
    for (size_t chain = 0; chain < work_items * GC_PEAK_CHAINS; chain++)
        for (unsigned lane = 0; lane < 16; lane++) {
            float a = ((float)(chain & 4095) + (float)lane) * (1.0f / 4096.0f);
            for (unsigned i = 0; i < iterations; i++) a = fmaf(a, m, c);
            out[chain * 16 + lane] = a;
        }
}

/* a·m + c with m just below 1: every chain drifts towards c / (1 − m) = 1 and stays there. */
const float GC_PEAK_M = 0.9999f, GC_PEAK_C = 1e-4f;

gc_status gc_bench_peak(gc_runtime *rt, double *gflops)
{
    enum { RUNS = 5 };
    if (rt->backend != GC_BACKEND_OPENCL)
        return GC_ERROR(GC_ERR_UNSUPPORTED, "the FMA peak is measured on an OpenCL device");
    const gc_device_info *device = gc_runtime_device(rt);
    size_t units = device->compute_units > 0 ? (size_t)device->compute_units : 1;
    /* A CPU runs a work-group's items one after another on a core: a few groups a core keep
     * every core busy. A GPU needs thousands of items in flight to hide its latencies. */
    int cpu = device->kind == GC_DEVICE_CPU;
    size_t work_items = units * (cpu ? 32 : 512), local = cpu ? 8 : 64;
    size_t floats = work_items * GC_PEAK_CHAINS * 16;
    gc_tensor out = {0};
    gc_kernel *kernel = NULL;
    gc_status status = gc_kernel_find(rt, "peak_fma", &kernel);
    if (status == GC_OK) status = gc_tensor_init1(&out, rt, floats);
    /* A first run compiles the kernel, a second (timed) chooses the iterations for ~50 ms, and
     * a third runs them untimed: PoCL gives a launch more than one thread only when the
     * kernel's past launches, per work-item, make it look longer than 200 us, which the
     * calibrating runs alone do not. */
    unsigned iterations = 1024;
    double times[RUNS];
    for (int r = -3; status == GC_OK && r < RUNS; r++) {
        double start = gc_seconds();
        status = GC_LAUNCH1D(rt, kernel, work_items, local, GC_MEM(&out), GC_U32(iterations),
                             GC_F32(GC_PEAK_M), GC_F32(GC_PEAK_C));
        if (status == GC_OK) status = gc_runtime_finish(rt);
        double elapsed = gc_seconds() - start;
        if (r == -2) {
            double scaled = (double)iterations * 0.05 / (elapsed > 1e-6 ? elapsed : 1e-6);
            iterations = (unsigned)(scaled < 1024.0 ? 1024.0 : scaled > 1e8 ? 1e8 : scaled);
        }
        if (r >= 0) times[r] = elapsed;
    }
    if (status == GC_OK)
        *gflops = 2e-9 * (double)floats * (double)iterations / gc_median(times, RUNS);
    gc_tensor_release(&out);
    return status;
}

/* Per level, 32/2^l pixels a side; the coupling sees half of the squeezed channels, and its
 * last convolution outputs a scale and a shift for the other half. */
size_t gc_image_conv_shapes(size_t batch, gc_conv_shape shapes[GC_IMAGE_CONV_SHAPES])
{
    size_t count = 0, channels = 3, side = 32, hidden = 512;
    for (int level = 0; level < 3; level++) {
        channels *= 4;
        side /= 2;
        size_t half = channels / 2;
        shapes[count++] = (gc_conv_shape){batch, half, hidden, 3, side, side};
        shapes[count++] = (gc_conv_shape){batch, hidden, hidden, 1, side, side};
        shapes[count++] = (gc_conv_shape){batch, hidden, 2 * half, 3, side, side};
        channels = half; /* the split keeps half for the next level */
    }
    return count;
}

double gc_conv_shape_flops(const gc_conv_shape *s)
{
    return 2.0 * (double)s->out_channels * (double)(s->batch * s->height * s->width) *
           (double)(s->in_channels * s->kernel * s->kernel);
}

/* One pass of the layer; the caller waits for the queue. */
static gc_status run_pass(int pass, const gc_conv *layer, gc_tensor *weights, gc_tensor *in,
                          gc_tensor *out, const gc_conv_shape *s)
{
    switch (pass) {
    case GC_CONV_FORWARD:
        return gc_conv_forward(layer, weights, in, 0, out, 0, s->batch, s->height, s->width);
    case GC_CONV_INPUT_GRADIENT:
        return gc_conv_backward_input(layer, weights, out, 0, in, 0, NULL, 0, 0, s->batch,
                                      s->height, s->width);
    default:
        return gc_conv_backward_params(layer, weights, out, 0, in, 0, s->batch, s->height,
                                       s->width);
    }
}

gc_status gc_bench_conv(gc_runtime *rt, const gc_conv_shape *s, int repeats,
                        double seconds[GC_CONV_PASSES])
{
    if (repeats < 1 || repeats > 1000)
        return GC_ERROR(GC_ERR_ARGUMENT, "repeats must be 1..1000, not %d", repeats);
    size_t pixels = s->height * s->width, taps = s->kernel * s->kernel;
    gc_conv layer = {.in_channels = s->in_channels,
                     .out_channels = s->out_channels,
                     .kernel = s->kernel,
                     .b_offset = s->out_channels * s->in_channels * taps,
                     .has_bias = 1,
                     .relu = 1};
    gc_tensor weights = {0}, in = {0}, out = {0};
    double *times = malloc((size_t)repeats * sizeof *times);
    gc_status status = times ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    if (status == GC_OK) status = gc_conv_kernels_find(rt, &layer.kernels);
    if (status == GC_OK) status = gc_tensor_init1(&weights, rt, layer.b_offset + s->out_channels);
    if (status == GC_OK) status = gc_tensor_init1(&in, rt, s->batch * s->in_channels * pixels);
    if (status == GC_OK) status = gc_tensor_init1(&out, rt, s->batch * s->out_channels * pixels);
    /* Values do not change the speed of these kernels (no data-dependent branches but ReLU). */
    if (status == GC_OK) status = gc_tensor_fill(&weights, 0.01);
    if (status == GC_OK) status = gc_tensor_fill(&in, 0.5);
    /* As tools/bench/torch_glow.py times torch.mm: each sample runs the pass back to back for
     * about SAMPLE_SECONDS, with one wait at its end, as a training step queues them; a wait
     * after every pass would add the host's round trip and the device's wake-up to each. */
    const double SAMPLE_SECONDS = 0.02;
    for (int pass = 0; status == GC_OK && pass < GC_CONV_PASSES; pass++) {
        int loops = 1;
        for (int r = -2; status == GC_OK && r < repeats; r++) {
            int calls = r < 0 ? 1 : loops;
            double start = gc_seconds();
            for (int call = 0; status == GC_OK && call < calls; call++)
                status = run_pass(pass, &layer, &weights, &in, &out, s);
            if (status == GC_OK) status = gc_runtime_finish(rt);
            double elapsed = gc_seconds() - start;
            if (r == -1) /* the first run compiled the kernels; this one sets the loop */
                loops = elapsed >= SAMPLE_SECONDS          ? 1
                        : elapsed * 10000 < SAMPLE_SECONDS ? 10000
                                                           : (int)(SAMPLE_SECONDS / elapsed);
            if (r >= 0) times[r] = elapsed / calls;
        }
        if (status == GC_OK) seconds[pass] = gc_median(times, (size_t)repeats);
    }
    gc_tensor_release(&weights);
    gc_tensor_release(&in);
    gc_tensor_release(&out);
    free(times);
    return status;
}
