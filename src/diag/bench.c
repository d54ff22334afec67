/* Timing of the image model's convolution layers on one runtime (see glowcl/bench.h). */
#include "glowcl/bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "glowcl/tensor.h"
#include "core/internal.h"
#include "diag/host_peak.h"
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

void gc_peak_fma_reference(float *out, gc_peak_shape shape, size_t work_items, unsigned iterations,
                           float m, float c)
{
    for (size_t chain = 0; chain < work_items * shape.chains; chain++)
        for (unsigned lane = 0; lane < shape.vector; lane++) {
            float a = ((float)(chain & 4095) + (float)lane) * (1.0f / 4096.0f);
            for (unsigned i = 0; i < iterations; i++) a = fmaf(a, m, c);
            out[chain * shape.vector + lane] = a;
        }
}

/* a·m + c with m just below 1: every chain drifts towards c / (1 − m) = 1 and stays there. */
const float GC_PEAK_M = 0.9999f, GC_PEAK_C = 1e-4f;

/* One run of a peak loop, `iterations` long, waited for; *flops the work it did. */
typedef gc_status (*peak_loop)(void *context, unsigned iterations, double *flops);

enum { PEAK_RUNS = 7 };
typedef struct peak_timer {
    peak_loop loop;
    void *context;
    unsigned iterations; /* of each timed run, once calibrated */
    double flops;        /* of each timed run */
    double times[PEAK_RUNS];
} peak_timer;

static gc_status time_run(peak_timer *t, double *seconds)
{
    double start = gc_seconds();
    gc_status status = t->loop(t->context, t->iterations, &t->flops);
    *seconds = gc_seconds() - start;
    return status;
}

/* A loop's iterations for a run of ~50 ms: an untimed first run (a kernel's compilation),
 * runs 4 times longer until one takes 10 ms (a short run is all start-up: a launch's or the
 * threads'), scaled; then one run of them untimed, which matters on PoCL: it gives a launch
 * more than one thread only when the kernel's past launches, per work-item, look longer than
 * 200 us. */
static gc_status calibrate(peak_timer *t)
{
    const double TARGET_SECONDS = 0.05, LEAST_SECONDS = 0.01, MOST_ITERATIONS = 1e8;
    double elapsed = 0.0;
    t->iterations = 256;
    GC_TRY(time_run(t, &elapsed));
    for (elapsed = 0.0; elapsed < LEAST_SECONDS && t->iterations < MOST_ITERATIONS / 4;) {
        t->iterations *= 4;
        GC_TRY(time_run(t, &elapsed));
    }
    double scaled = (double)t->iterations * TARGET_SECONDS / (elapsed > 1e-6 ? elapsed : 1e-6);
    t->iterations = (unsigned)(scaled < 256.0 ? 256.0 : fmin(scaled, MOST_ITERATIONS));
    return time_run(t, &elapsed);
}

/* The loops' rates at their best: each calibrated, then their timed runs in turn, so that a
 * spell of load on a shared machine falls on all of them rather than on one; the median of
 * each loop's runs. */
static gc_status peak_rates(peak_timer *timers, size_t count, double *gflops)
{
    for (size_t i = 0; i < count; i++) GC_TRY(calibrate(&timers[i]));
    for (int r = 0; r < PEAK_RUNS; r++)
        for (size_t i = 0; i < count; i++) GC_TRY(time_run(&timers[i], &timers[i].times[r]));
    for (size_t i = 0; i < count; i++)
        gflops[i] = 1e-9 * timers[i].flops / gc_median(timers[i].times, PEAK_RUNS);
    return GC_OK;
}

/* peak_fma's launch: a CPU runs a work-group's items one after another on a core, so a few
 * groups a core keep every core busy; a GPU needs thousands of items in flight to hide its
 * latencies. */
typedef struct device_peak {
    gc_runtime *rt;
    gc_kernel *kernel;
    gc_tensor out;
    size_t work_items, local, floats;
} device_peak;

static gc_status device_peak_loop(void *context, unsigned iterations, double *flops)
{
    device_peak *p = context;
    GC_TRY(GC_LAUNCH1D(p->rt, p->kernel, p->work_items, p->local, GC_MEM(&p->out),
                       GC_U32(iterations), GC_F32(GC_PEAK_M), GC_F32(GC_PEAK_C)));
    GC_TRY(gc_runtime_finish(p->rt));
    *flops = 2.0 * (double)p->floats * (double)iterations;
    return GC_OK;
}

static gc_status host_peak_loop(void *context, unsigned iterations, double *flops)
{
    return gc_host_fma_run(*(const unsigned *)context, iterations, flops);
}

gc_status gc_bench_peak(gc_runtime *rt, gc_peak *peak)
{
    if (rt->backend != GC_BACKEND_OPENCL)
        return GC_ERROR(GC_ERR_UNSUPPORTED, "the FMA peak is measured on an OpenCL device");
    const gc_device_info *device = gc_runtime_device(rt);
    unsigned units = device->compute_units > 0 ? (unsigned)device->compute_units : 1;
    int cpu = device->kind == GC_DEVICE_CPU;
    device_peak p = {.rt = rt, .work_items = units * (cpu ? 32 : 512), .local = cpu ? 8 : 64};
    p.floats = p.work_items * rt->shapes.peak_chains * rt->shapes.peak_vector;
    *peak = (gc_peak){.shape = {rt->shapes.peak_vector, rt->shapes.peak_chains},
                      .host_threads = units,
                      .host_method = gc_host_fma_method()};
    peak_timer timers[2] = {{.loop = device_peak_loop, .context = &p},
                            {.loop = host_peak_loop, .context = &peak->host_threads}};
    double gflops[2] = {0.0, 0.0};
    gc_status status = gc_kernel_find(rt, "peak_fma", &p.kernel);
    if (status == GC_OK) status = gc_tensor_init1(&p.out, rt, p.floats);
    if (status == GC_OK) status = peak_rates(timers, 2, gflops);
    peak->gflops = gflops[0];
    peak->host_gflops = gflops[1];
    gc_tensor_release(&p.out);
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
