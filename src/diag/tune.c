/* `glowcl bench --tune`: coordinate descent over the tunable kernel shapes, timed on the
 * workloads their kernels serve (see glowcl/bench.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/tune_cache.h"
#include "glowcl/bench.h"
#include "glowcl/data.h"
#include "glowcl/flow.h"

enum { MOONS_BATCH = 256, MOONS_WARMUP = 2, MOONS_STEPS = 60, MOONS_QUICK_STEPS = 3 };

/* Rounds over a parameter's values, each value's time the best of its rounds: other work on
 * the machine comes and goes, and taking the values in turn, more than once, keeps a burst of
 * it from deciding. */
enum { TUNE_ROUNDS = 3 };

/* A value replaces the default only when it is this much faster: closer than that, timings of
 * the same shapes differ from run to run (PoCL on a shared 2-core CPU: ~2 %), and a choice
 * made by noise would only make runs on one machine differ from those on the next. */
static const double TUNE_MARGIN = 0.03;

/* The median step of the 2-D Glow (10 layers, MLP 2x64, batch 256) in the memory mode; the
 * warm-up steps take the data-dependent init and PoCL's compilation for a new group size. */
static gc_status time_moons(gc_runtime *rt, gc_memory_mode memory, int quick, double *seconds)
{
    int steps = quick ? MOONS_QUICK_STEPS : MOONS_STEPS;
    double x[MOONS_BATCH * 2], times[MOONS_STEPS], loss = 0.0;
    GC_TRY(gc_moons(MOONS_BATCH, 0.05, 1, x, NULL));
    gc_model_config config;
    gc_model_config_default(&config, 2);
    gc_model *model = NULL;
    GC_TRY(gc_model_create(&model, rt, &config, 1));
    gc_model_set_memory(model, memory);
    gc_adam_config adam = GC_ADAM_DEFAULT;
    adam.lr = 1e-4; /* small, so that no step diverges */
    gc_status status = GC_OK;
    for (int i = 0; status == GC_OK && i < MOONS_WARMUP + steps; i++) {
        double start = gc_seconds();
        status = gc_model_train_step(model, x, MOONS_BATCH, &adam, &loss);
        if (i >= MOONS_WARMUP) times[i - MOONS_WARMUP] = gc_seconds() - start;
    }
    gc_model_free(model);
    if (status == GC_OK) *seconds = gc_median(times, (size_t)steps);
    return status;
}

static gc_status time_moons_store(gc_runtime *rt, int quick, double *seconds)
{
    return time_moons(rt, GC_MEMORY_STORE, quick, seconds);
}

static gc_status time_moons_low(gc_runtime *rt, int quick, double *seconds)
{
    return time_moons(rt, GC_MEMORY_LOW, quick, seconds);
}

/* Every pass of every convolution of the image model, summed (at bench's batch of 16, whose
 * shapes the tiles are chosen for; quick: batch 1 and the first level only). */
static gc_status time_image_conv(gc_runtime *rt, int quick, double *seconds)
{
    gc_conv_shape shapes[GC_IMAGE_CONV_SHAPES];
    size_t count = gc_image_conv_shapes(quick ? 1 : 16, shapes);
    *seconds = 0.0;
    for (size_t i = 0; i < (quick ? 3 : count); i++) {
        double pass[GC_CONV_PASSES];
        GC_TRY(gc_bench_conv(rt, &shapes[i], quick ? 1 : 3, pass));
        for (int p = 0; p < GC_CONV_PASSES; p++) *seconds += pass[p];
    }
    return GC_OK;
}

/* The device's multiply-add peak as seconds per GFLOP, so that less is better as for the
 * others: the peak's own shape is chosen by the peak it reaches. */
static gc_status time_peak(gc_runtime *rt, int quick, double *seconds)
{
    (void)quick; /* gc_bench_peak calibrates itself to ~50 ms launches */
    gc_peak peak;
    GC_TRY(gc_bench_peak(rt, &peak));
    if (!(peak.gflops > 0.0)) return GC_ERROR(GC_ERR_NUMERIC, "the peak measured no GFLOP/s");
    *seconds = 1.0 / peak.gflops;
    return GC_OK;
}

/* The workloads core/shapes.c tags its tunable fields with, the unit-test program whose
 * device tests run their kernels (tests/shapes_test.sh runs it with each allowed value), and
 * the kernel set whose kernels they shape (ANY_SET: kernels both sets launch); a device is
 * tuned for the set it runs. */
enum { ANY_SET = -1 };
static const struct workload {
    const char *name, *unit_tests;
    gc_status (*time)(gc_runtime *rt, int quick, double *seconds);
    int kernel_set;
} workloads[] = {
    {"moons", "check_flow", time_moons_store, ANY_SET},
    {"moons-low", "check_flow", time_moons_low, ANY_SET},
    {"image-conv", "check_conv", time_image_conv, GC_KERNELS_CPU},
    {"image-conv-gpu", "check_conv", time_image_conv, GC_KERNELS_GPU},
    {"peak", "check_runtime", time_peak, ANY_SET},
};

static const struct workload *find_workload(const char *name)
{
    for (size_t i = 0; name && i < sizeof workloads / sizeof *workloads; i++)
        if (strcmp(workloads[i].name, name) == 0) return &workloads[i];
    return NULL;
}

int gc_tune_parameter_at(size_t i, gc_tune_parameter *out)
{
    if (!gc_kernel_shapes_tunable(i, &out->name, &out->values)) return 0;
    const struct workload *w = find_workload(gc_kernel_shapes_workload(out->name));
    out->workload = w ? w->name : NULL;
    out->unit_tests = w ? w->unit_tests : NULL;
    return 1;
}

/* The parameters of the kernel set the device runs and their class defaults, each a workload
 * to be timed by. */
static gc_status collect_parameters(gc_tune_report *report, gc_kernel_set kernel_set)
{
    gc_kernel_shapes defaults;
    gc_kernel_shapes_for_class(&defaults, gc_device_class(&report->device));
    gc_tune_parameter p;
    for (size_t i = 0; gc_tune_parameter_at(i, &p); i++) {
        const struct workload *w = find_workload(p.workload);
        if (w && w->kernel_set != ANY_SET && w->kernel_set != (int)kernel_set) continue;
        if (report->count >= GC_TUNE_MAX_PARAMETERS)
            return GC_ERROR(GC_ERR_UNSUPPORTED, "more than %d tunable kernel shapes",
                            GC_TUNE_MAX_PARAMETERS);
        if (!p.workload)
            return GC_ERROR(GC_ERR_UNSUPPORTED,
                            "no workload times the kernel shape %s (src/core/shapes.c)", p.name);
        gc_tune_result *r = &report->results[report->count++];
        r->parameter = p;
        if (gc_kernel_shapes_get(&defaults, p.name, &r->initial) != 0)
            return GC_ERROR(GC_ERR_UNSUPPORTED, "no kernel shape %s", p.name);
        r->best = r->initial;
    }
    return GC_OK;
}

/* "NAME=value,..." of every parameter at its best so far, parameter `changed` at `value`. */
static void assignments(const gc_tune_report *report, size_t changed, unsigned value, char *out,
                        size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; i < report->count; i++) {
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s%s=%u", i ? "," : "",
                 report->results[i].parameter.name, i == changed ? value : report->results[i].best);
    }
}

/* One candidate: a runtime of its own with these shapes, the workload timed on it. */
static gc_status time_candidate(const gc_runtime_options *device, const char *shapes,
                                const struct workload *w, int quick, double *seconds)
{
    gc_runtime_options options = *device;
    options.shapes = shapes;
    gc_runtime *rt = NULL;
    GC_TRY(gc_runtime_open(&rt, &options));
    gc_status status = w->time(rt, quick, seconds);
    gc_runtime_close(rt);
    return status;
}

static gc_status tune_parameter(gc_tune_report *report, size_t index,
                                const gc_runtime_options *device, int quick, FILE *progress)
{
    gc_tune_result *r = &report->results[index];
    const struct workload *w = find_workload(r->parameter.workload);
    for (int round = 0; round < (quick ? 1 : TUNE_ROUNDS); round++)
        for (size_t k = 0; k < GC_TUNE_MAX_VALUES && r->parameter.values[k]; k++) {
            unsigned value = r->parameter.values[k];
            char shapes[1024];
            double seconds = 0.0;
            assignments(report, index, value, shapes, sizeof shapes);
            GC_TRY(time_candidate(device, shapes, w, quick, &seconds));
            if (round == 0 || seconds < r->seconds[k]) r->seconds[k] = seconds;
            r->count = k + 1 > r->count ? k + 1 : r->count;
            if (progress)
                fprintf(progress, "glowcl: tune: %s=%u: %.3f ms a run of %s\n", r->parameter.name,
                        value, 1e3 * seconds, w->name);
        }
    size_t fastest = 0, current = 0;
    for (size_t k = 1; k < r->count; k++) {
        if (r->seconds[k] < r->seconds[fastest]) fastest = k;
        if (r->parameter.values[k] == r->best) current = k;
    }
    if (r->seconds[fastest] < (1.0 - TUNE_MARGIN) * r->seconds[current])
        r->best = r->parameter.values[fastest];
    return GC_OK;
}

/* The OpenCL device `options` chooses, and options that open exactly it (no fallback to
 * another device, no log: the candidates are many). */
static gc_status find_device(const gc_runtime_options *options, gc_tune_report *report,
                             gc_runtime_options *device, gc_kernel_set *kernel_set, char *index,
                             size_t size)
{
    gc_runtime_options quiet = *options;
    quiet.log = NULL;
    quiet.shapes = NULL;
    gc_runtime *rt = NULL;
    GC_TRY(gc_runtime_open(&rt, &quiet));
    const gc_device_info *info = gc_runtime_device(rt);
    if (info) report->device = *info;
    *kernel_set = rt->kernel_set;
    gc_runtime_close(rt);
    if (!info)
        return GC_ERROR(GC_ERR_NO_DEVICE, "bench --tune needs an OpenCL device: the reference "
                                          "path has no kernel shapes");
    snprintf(index, size, "%d", report->device.index);
    *device = quiet;
    device->request = (gc_device_request)GC_DEVICE_REQUEST_DEFAULT;
    device->request.device = index;
    return GC_OK;
}

gc_status gc_tune(const gc_runtime_options *options, int quick, FILE *progress,
                  gc_tune_report *report)
{
    memset(report, 0, sizeof *report);
    const char *forced = getenv("GLOWCL_SHAPES");
    if (forced && *forced)
        return GC_ERROR(GC_ERR_ARGUMENT,
                        "GLOWCL_SHAPES is set (%s): it would override every "
                        "candidate; unset it to tune",
                        forced);
    if (options->request.reference)
        return GC_ERROR(GC_ERR_ARGUMENT, "bench --tune needs an OpenCL device: the reference "
                                         "path has no kernel shapes");
    gc_runtime_options device;
    char index[16];
    gc_kernel_set kernel_set = GC_KERNELS_CPU;
    GC_TRY(find_device(options, report, &device, &kernel_set, index, sizeof index));
    GC_TRY(gc_tune_cache_prepare(&report->device, report->cache_path, sizeof report->cache_path));
    GC_TRY(collect_parameters(report, kernel_set));
    for (size_t i = 0; i < report->count; i++)
        GC_TRY(tune_parameter(report, i, &device, quick, progress));
    char winners[1024];
    assignments(report, report->count, 0, winners, sizeof winners);
    return gc_tune_cache_write(&report->device, winners, report->cache_path);
}
