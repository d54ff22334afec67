/* `glowcl bench`: the numbers to compare with PyTorch on the same machine — one training
 * step of the 2-D Glow and of the image Glow (median after warm-up, the first step's kernel
 * compilation reported apart), the image model's convolutions in GFLOP/s at their GEMM
 * shapes, and peak memory. A table for people, then one `JSON {...}` line for
 * tools/bench/compare.py. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_tune.h"
#include "cmd_bench.h"
#include "device_choice.h"
#include "errors.h"
#include "exit_codes.h"
#include "glowcl/bench.h"
#include "glowcl/data.h"
#include "glowcl/flow.h"
#include "options.h"

/* The process's peak resident memory in MiB since the last reset_peak_rss (Linux: VmHWM, which
 * writing 5 to /proc/self/clear_refs resets); elsewhere the peak of the whole process. */
static void reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static double peak_rss_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
    if (f) fclose(f);
    if (kib < 0) {
        struct rusage usage;
        getrusage(RUSAGE_SELF, &usage);
        kib = usage.ru_maxrss;
    }
    return (double)kib / 1024.0;
}

typedef struct step_timing {
    double first_s;  /* the first step: kernel compilation and data-dependent init */
    double median_s; /* median of the timed steps after the warm-up */
} step_timing;

/* Trains `model` on the batch x (n rows) for warmup + steps steps, timing each. */
static gc_status time_steps(gc_model *model, const double *x, size_t n, int warmup, int steps,
                            step_timing *timing)
{
    double *times = malloc((size_t)steps * sizeof *times), loss = 0.0;
    gc_status status = times ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_adam_config adam = GC_ADAM_DEFAULT;
    adam.lr = 1e-4; /* small, so that no step of the benchmark diverges */
    for (int i = 0; status == GC_OK && i < warmup + steps; i++) {
        double start = gc_seconds();
        status = gc_model_train_step(model, x, n, &adam, &loss);
        double elapsed = gc_seconds() - start;
        if (i == 0) timing->first_s = elapsed;
        if (i >= warmup) times[i - warmup] = elapsed;
    }
    if (status == GC_OK) timing->median_s = gc_median(times, (size_t)steps);
    free(times);
    return status;
}

static gc_status bench_moons(gc_runtime *rt, int warmup, int steps, step_timing *timing,
                             size_t *params)
{
    enum { BATCH = 256 };
    gc_model_config config;
    gc_model_config_default(&config, 2);
    gc_model *model = NULL;
    double x[BATCH * 2];
    GC_TRY(gc_moons(BATCH, 0.05, 1, x, NULL));
    GC_TRY(gc_model_create(&model, rt, &config, 1));
    *params = gc_model_param_count(model);
    gc_status status = time_steps(model, x, BATCH, warmup, steps, timing);
    gc_model_free(model);
    return status;
}

static gc_status bench_image(gc_runtime *rt, size_t batch, int low_memory, int warmup, int steps,
                             step_timing *timing, size_t *params, double *rss_mib,
                             double *tensor_mib)
{
    gc_model_config config;
    gc_model_config_image(&config, 3, 32, 32);
    size_t d = config.channels * config.height * config.width;
    double *x = malloc(batch * d * sizeof *x);
    if (!x) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_rng rng;
    gc_rng_seed(&rng, 1);
    /* Dequantised 8-bit pixels: the values a CIFAR batch would give. */
    for (size_t i = 0; i < batch * d; i++)
        x[i] = ((double)gc_rng_below(&rng, 256) + gc_rng_uniform(&rng)) / 256.0;
    reset_peak_rss();
    size_t tensors_before = 0, peak = 0;
    gc_runtime_tensor_memory(rt, &tensors_before, NULL);
    gc_model *model = NULL;
    gc_status status = gc_model_create(&model, rt, &config, 1);
    if (status == GC_OK) {
        *params = gc_model_param_count(model);
        gc_model_set_memory(model, low_memory ? GC_MEMORY_LOW : GC_MEMORY_STORE);
        status = time_steps(model, x, batch, warmup, steps, timing);
    }
    gc_runtime_tensor_memory(rt, NULL, &peak);
    *rss_mib = peak_rss_mib();
    *tensor_mib = (double)(peak - tensors_before) / (1024.0 * 1024.0);
    gc_model_free(model);
    free(x);
    return status;
}

/* The multiply-adds of one image Glow step: each level's 16 couplings run their three
 * convolutions forward, back to the input and back to the weights, and forward once more in
 * the low-memory mode's decoder. (The rest of the step, element-wise, is under 1 % of it.) */
static double image_step_flops(size_t batch, int low_memory)
{
    gc_conv_shape shapes[GC_IMAGE_CONV_SHAPES];
    size_t count = gc_image_conv_shapes(batch, shapes);
    double forward = 0.0;
    for (size_t i = 0; i < count; i++) forward += gc_conv_shape_flops(&shapes[i]);
    return (low_memory ? 4 : 3) * 16 * forward;
}

/* The results: a table for people (NULL with --json) and one JSON line for compare.py. */
typedef struct bench_report {
    FILE *table;
    char json[8192];
    size_t used; /* of json; past its size if it overflowed */
} bench_report;

static void json_add(bench_report *r, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static void json_add(bench_report *r, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    size_t room = r->used < sizeof r->json ? sizeof r->json - r->used : 0;
    r->used += (size_t)vsnprintf(r->json + r->used, room, format, args);
    va_end(args);
}

/* (a) one step of the 2-D Glow. */
static gc_status report_moons(gc_runtime *rt, long steps, bench_report *r)
{
    step_timing t = {0};
    size_t params = 0;
    GC_TRY(bench_moons(rt, 5, (int)steps, &t, &params));
    if (r->table)
        fprintf(r->table,
                "(a) 2-D Glow step, 10 layers, MLP 2x64, batch 256, %zu params: "
                "%.3f ms median of %ld (first step %.2f s)\n",
                params, 1e3 * t.median_s, steps, t.first_s);
    json_add(r, ", \"moons_step_ms\": %.4f, \"moons_params\": %zu, \"moons_first_step_s\": %.3f",
             1e3 * t.median_s, params, t.first_s);
    return GC_OK;
}

/* (b) one step of the image Glow and (d) its memory. */
static gc_status report_image(gc_runtime *rt, long batch, const char *memory, long steps,
                              bench_report *r)
{
    step_timing t = {0};
    size_t params = 0;
    double rss = 0.0, tensors = 0.0;
    int low_memory = strcmp(memory, "low") == 0;
    GC_TRY(bench_image(rt, (size_t)batch, low_memory, 1, (int)steps, &t, &params, &rss, &tensors));
    double gflop = 1e-9 * image_step_flops((size_t)batch, low_memory);
    if (r->table)
        fprintf(r->table,
                "(b) image Glow step, L=3 K=16 hidden 512, 3x32x32, batch %ld, %zu "
                "params, memory %s: %.3f s median of %ld, %.1f images/s, %.1f GFLOP at "
                "%.1f GFLOP/s (first step %.2f s)\n"
                "(d) memory of (b): peak RSS %.0f MiB, glowcl tensors %.0f MiB\n",
                batch, params, memory, t.median_s, steps, (double)batch / t.median_s, gflop,
                gflop / t.median_s, t.first_s, rss, tensors);
    json_add(r,
             ", \"image_step_ms\": %.2f, \"image_params\": %zu, \"image_batch\": %ld, "
             "\"image_memory\": \"%s\", \"image_first_step_s\": %.3f, "
             "\"image_step_gflop\": %.3f, "
             "\"image_peak_rss_mib\": %.1f, \"image_device_mib\": %.1f",
             1e3 * t.median_s, params, batch, memory, t.first_s, gflop, rss, tensors);
    return GC_OK;
}

/* (c) the image model's convolutions as GEMMs. */
static gc_status report_gemm(gc_runtime *rt, long batch, long repeats, bench_report *r)
{
    gc_conv_shape shapes[GC_IMAGE_CONV_SHAPES];
    size_t count = gc_image_conv_shapes((size_t)batch, shapes);
    if (r->table)
        fprintf(r->table,
                "(c) image model convolutions at batch %ld as GEMMs M x N x K, "
                "GFLOP/s (median of %ld):\n    %-6s %-18s %9s %11s %12s\n",
                batch, repeats, "conv", "M x N x K", "forward", "input grad", "weight grad");
    json_add(r, ", \"gemm\": [");
    for (size_t i = 0; i < count; i++) {
        double seconds[GC_CONV_PASSES], flops = gc_conv_shape_flops(&shapes[i]);
        const gc_conv_shape *s = &shapes[i];
        GC_TRY(gc_bench_conv(rt, s, (int)repeats, seconds));
        size_t m = s->out_channels, n = s->batch * s->height * s->width,
               k = s->in_channels * s->kernel * s->kernel;
        char dims[32];
        snprintf(dims, sizeof dims, "%zux%zux%zu", m, n, k);
        if (r->table)
            fprintf(r->table, "    %zux%-4zu %-18s %9.1f %11.1f %12.1f\n", s->kernel, s->kernel,
                    dims, 1e-9 * flops / seconds[0], 1e-9 * flops / seconds[1],
                    1e-9 * flops / seconds[2]);
        json_add(r,
                 "%s{\"m\": %zu, \"n\": %zu, \"k\": %zu, \"gflops\": %.2f, "
                 "\"input_grad_gflops\": %.2f, \"weight_grad_gflops\": %.2f}",
                 i ? ", " : "", m, n, k, 1e-9 * flops / seconds[0], 1e-9 * flops / seconds[1],
                 1e-9 * flops / seconds[2]);
    }
    json_add(r, "]");
    return GC_OK;
}

/* (e) the FMA peak, which bounds (b) and (c): what the same device could do at best, measured
 * now, checked against a loop of FMA intrinsics on the host's cores (the same cores on a CPU
 * device, where the two should agree). */
static gc_status report_peak(gc_runtime *rt, bench_report *r)
{
    gc_peak p;
    GC_TRY(gc_bench_peak(rt, &p));
    double ratio = p.gflops / p.host_gflops;
    if (r->table)
        fprintf(r->table,
                "(e) device multiply-add peak: %.1f GFLOP/s (%u chains of float%u FMAs a "
                "work-item, median of 7)\n    host %s on %u threads: %.1f GFLOP/s, "
                "device/host %.2f\n",
                p.gflops, p.shape.chains, p.shape.vector, p.host_method, p.host_threads,
                p.host_gflops, ratio);
    json_add(r,
             ", \"peak_gflops\": %.2f, \"peak_vector\": %u, \"peak_chains\": %u, "
             "\"host_fma_gflops\": %.2f, \"host_fma_method\": \"%s\", "
             "\"peak_host_ratio\": %.3f",
             p.gflops, p.shape.vector, p.shape.chains, p.host_gflops, p.host_method, ratio);
    return GC_OK;
}

typedef struct bench_flags {
    cli_device_flags device;
    const char *only, *memory;
    long moons_steps, image_steps, repeats, batch;
    int json_only;
    int tune, quick, list_shapes;
} bench_flags;

static int parse_bench_flags(int argc, char **argv, bench_flags *f)
{
    cli_option options[] = {
        {"only", 0, OPT_STRING, &f->only, "moons|image|gemm|all", "run one part (all)"},
        {"moons-steps", 0, OPT_INT, &f->moons_steps, "N", "timed 2-D Glow steps (50, after 5)"},
        {"image-steps", 0, OPT_INT, &f->image_steps, "N", "timed image Glow steps (3, after 1)"},
        {"batch", 0, OPT_INT, &f->batch, "N", "images per image Glow step (16)"},
        {"repeats", 0, OPT_INT, &f->repeats, "N", "timed runs of each convolution pass (5)"},
        {"memory", 0, OPT_STRING, &f->memory, "store|low",
         "image step with stored op inputs or rebuilt by inversion (store)"},
        {"json", 0, OPT_FLAG, &f->json_only, NULL, "print only the JSON line"},
        {"tune", 0, OPT_FLAG, &f->tune, NULL,
         "instead: time each tunable kernel shape's values on this device and keep the fastest "
         "for every later run on it (tens of seconds)"},
        {"quick", 0, OPT_FLAG, &f->quick, NULL, "with --tune: a few steps a value (seconds)"},
        {"list-shapes", 0, OPT_FLAG, &f->list_shapes, NULL,
         "instead: list the tunable kernel shapes, their workloads, unit tests and values"},
        CLI_DEVICE_OPTIONS(f->device),
    };
    int rc = cli_parse(argc, argv, 2, options, sizeof options / sizeof options[0],
                       "Usage: glowcl bench [--only moons|image|gemm] [options]\n"
                       "       glowcl bench --tune [--quick] | --list-shapes\n"
                       "Times a training step of the 2-D Glow (10 layers, MLP 2x64, batch 256) "
                       "and of the image Glow (L=3, K=16, hidden 512, 3x32x32), the image "
                       "model's convolutions as GEMMs, and peak memory. Medians after warm-up; "
                       "compare with PyTorch by tools/bench/compare.py.",
                       NULL, 0, NULL);
    if (rc) return rc;
    int low_memory = 0;
    if ((rc = cli_memory_mode(f->memory, &low_memory))) return rc;
    if (f->quick && !f->tune) {
        fprintf(stderr, "glowcl: --quick goes with --tune\n");
        return EXIT_USAGE;
    }
    if (strcmp(f->only, "all") != 0 && strcmp(f->only, "moons") != 0 &&
        strcmp(f->only, "image") != 0 && strcmp(f->only, "gemm") != 0) {
        fprintf(stderr, "glowcl: --only must be moons, image, gemm or all, not '%s'\n", f->only);
        return EXIT_USAGE;
    }
    if (f->moons_steps < 1 || f->image_steps < 1 || f->repeats < 1 || f->repeats > 1000 ||
        f->batch < 1) {
        fprintf(stderr, "glowcl: step counts, --repeats (1..1000) and --batch must be positive\n");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static int runs(const bench_flags *f, const char *part)
{
    return strcmp(f->only, "all") == 0 || strcmp(f->only, part) == 0;
}

int cmd_bench(int argc, char **argv)
{
    bench_flags f = {CLI_DEVICE_FLAGS_DEFAULT, "all", "store", 50, 3, 5, 16, 0, 0, 0, 0};
    int rc = parse_bench_flags(argc, argv, &f);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (f.list_shapes) return cli_bench_list_shapes();
    if (f.tune) return cli_bench_tune(&f.device, f.quick);
    gc_runtime *rt = NULL;
    if ((rc = cli_open_runtime(&f.device, &rt))) return rc;
    bench_report report = {f.json_only ? NULL : stdout, "", 0};
    char device_name[512];
    /* The description is a driver's free text: keep it a valid JSON string. */
    size_t length = 0;
    for (const char *c = gc_runtime_description(rt); *c && length + 1 < sizeof device_name; c++)
        device_name[length++] = *c == '"' || *c == '\\' || (unsigned char)*c < 0x20 ? '_' : *c;
    device_name[length] = '\0';
    json_add(&report, "{\"device\": \"%s\"", device_name);
    if (report.table) printf("glowcl bench on %s\n", gc_runtime_description(rt));
    gc_status status = GC_OK;
    if (runs(&f, "moons")) status = report_moons(rt, f.moons_steps, &report);
    if (status == GC_OK && runs(&f, "image"))
        status = report_image(rt, f.batch, f.memory, f.image_steps, &report);
    if (status == GC_OK && runs(&f, "gemm")) status = report_gemm(rt, f.batch, f.repeats, &report);
    if (status == GC_OK && (runs(&f, "image") || runs(&f, "gemm")) &&
        gc_runtime_backend(rt) == GC_BACKEND_OPENCL)
        status = report_peak(rt, &report);
    json_add(&report, "}");
    gc_runtime_close(rt);
    if (status != GC_OK) return cli_fail(status);
    if (report.used >= sizeof report.json) {
        fprintf(stderr, "glowcl: bench results do not fit the JSON buffer\n");
        return EXIT_FAILED;
    }
    printf("JSON %s\n", report.json);
    return EXIT_OK;
}
