/* Device ranking and choice, error names and messages, kernel lookup and launches, and the
 * kernel build path (including a deliberately broken kernel). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "glowcl/bench.h"
#include "glowcl/tensor.h"
#include "harness.h"
#include "core/internal.h"

static gc_device_info fake(int index, int platform, int device, gc_device_kind kind, int integrated,
                           int cl_minor, uint64_t mem, const char *name)
{
    gc_device_info d;
    memset(&d, 0, sizeof d);
    d.index = index;
    d.platform_index = platform;
    d.device_index = device;
    d.kind = kind;
    d.integrated = integrated;
    d.opencl_c_major = 1;
    d.opencl_c_minor = cl_minor;
    d.global_mem_bytes = mem;
    snprintf(d.name, sizeof d.name, "%s", name);
    return d;
}

/* Two platforms: a CPU, an integrated GPU, an accelerator, two discrete GPUs (one newer). */
static void fake_machine(gc_device_info *d)
{
    d[0] = fake(0, 0, 0, GC_DEVICE_CPU, 1, 2, 64ull << 30, "Some CPU");
    d[1] = fake(1, 0, 1, GC_DEVICE_GPU, 1, 2, 8ull << 30, "Iris Xe Graphics");
    d[2] = fake(2, 1, 0, GC_DEVICE_ACCELERATOR, 0, 2, 16ull << 30, "Some FPGA");
    d[3] = fake(3, 1, 1, GC_DEVICE_GPU, 0, 1, 24ull << 30, "Old Discrete GPU");
    d[4] = fake(4, 1, 2, GC_DEVICE_GPU, 0, 2, 12ull << 30, "New Discrete GPU");
}

static gc_status rank(const gc_device_info *d, size_t n, gc_device_request req, size_t *order,
                      size_t *count, int *explicit_choice)
{
    return gc_device_rank(d, n, &req, order, count, explicit_choice);
}

START_TEST(ranking_prefers_discrete_gpus_then_newer_then_memory)
{
    gc_device_info d[5];
    fake_machine(d);
    size_t order[5], n = 0;
    int explicit_choice = 1;
    gc_device_request req = GC_DEVICE_REQUEST_DEFAULT;
    ck_assert_int_eq(rank(d, 5, req, order, &n, &explicit_choice), GC_OK);
    ck_assert_int_eq(n, 5);
    ck_assert_int_eq(explicit_choice, 0);
    /* discrete GPUs (newer OpenCL C first), integrated GPU, accelerator, CPU */
    size_t expected[5] = {4, 3, 1, 2, 0};
    for (int i = 0; i < 5; i++) ck_assert_int_eq(order[i], expected[i]);

    /* Same kind and version: more memory wins. */
    d[4].opencl_c_minor = 1;
    ck_assert_int_eq(rank(d, 5, req, order, &n, &explicit_choice), GC_OK);
    ck_assert_int_eq(order[0], 3);
}
END_TEST

START_TEST(explicit_choices_name_one_device)
{
    gc_device_info d[5];
    fake_machine(d);
    size_t order[5], n = 0;
    int explicit_choice = 0;
    gc_device_request req = GC_DEVICE_REQUEST_DEFAULT;

    req.device = "2";
    ck_assert_int_eq(rank(d, 5, req, order, &n, &explicit_choice), GC_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(order[0], 2);
    ck_assert_int_eq(explicit_choice, 1);

    req.device = "1:1";
    ck_assert_int_eq(rank(d, 5, req, order, &n, &explicit_choice), GC_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(order[0], 3);

    req.device = "discrete"; /* case-insensitive substring, best match only */
    ck_assert_int_eq(rank(d, 5, req, order, &n, &explicit_choice), GC_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(order[0], 4);
    ck_assert_int_eq(explicit_choice, 1);

    req.device = "7";
    ck_assert_int_eq(rank(d, 5, req, order, &n, &explicit_choice), GC_ERR_NO_DEVICE);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "no OpenCL device 7"));
    req.device = "0:5";
    ck_assert_int_eq(rank(d, 5, req, order, &n, &explicit_choice), GC_ERR_NO_DEVICE);
    req.device = "Radeon";
    ck_assert_int_eq(rank(d, 5, req, order, &n, &explicit_choice), GC_ERR_NO_DEVICE);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "Radeon"));
}
END_TEST

START_TEST(type_and_platform_filters)
{
    gc_device_info d[5];
    fake_machine(d);
    size_t order[5], n = 0;
    int explicit_choice = 0;
    gc_device_request req = GC_DEVICE_REQUEST_DEFAULT;

    req.type = "cpu";
    ck_assert_int_eq(rank(d, 5, req, order, &n, &explicit_choice), GC_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(order[0], 0);

    req.type = "GPU";
    req.platform = 0;
    ck_assert_int_eq(rank(d, 5, req, order, &n, &explicit_choice), GC_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(order[0], 1);

    req.type = "gpu";
    req.platform = -1;
    ck_assert_int_eq(rank(d, 1, req, order, &n, &explicit_choice), GC_ERR_NO_DEVICE);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "gpu"));

    req.type = "tpu";
    ck_assert_int_eq(rank(d, 5, req, order, &n, &explicit_choice), GC_ERR_ARGUMENT);

    req.type = NULL;
    req.platform = 9;
    ck_assert_int_eq(rank(d, 5, req, order, &n, &explicit_choice), GC_ERR_NO_DEVICE);

    req.platform = -1;
    ck_assert_int_eq(rank(d, 0, req, order, &n, &explicit_choice), GC_ERR_NO_DEVICE);
}
END_TEST

START_TEST(errors_carry_names_and_locations)
{
    ck_assert_str_eq(gc_cl_error_name(-54), "CL_INVALID_WORK_GROUP_SIZE");
    ck_assert_str_eq(gc_cl_error_name(-5), "CL_OUT_OF_RESOURCES");
    ck_assert_str_eq(gc_cl_error_name(-2046), "CLBlastInvalidLocalMemUsage");
    ck_assert_ptr_nonnull(strstr(gc_cl_error_name(-9999), "-9999"));
    gc_status s = gc_cl_check(-54, "clEnqueueNDRangeKernel", "src/x.c", 12);
    ck_assert_int_eq(s, GC_ERR_OPENCL);
    ck_assert_str_eq(gc_last_error(),
                     "clEnqueueNDRangeKernel failed: CL_INVALID_WORK_GROUP_SIZE (x.c:12)");
    ck_assert_int_eq(gc_cl_check(-4, "clCreateBuffer", "y.c", 1), GC_ERR_MEMORY);
    ck_assert_str_eq(gc_status_name(GC_ERR_BUILD), "GC_ERR_BUILD");
}
END_TEST

START_TEST(reference_runtime_needs_no_opencl)
{
    gc_runtime *rt = gc_test_open_reference();
    ck_assert_int_eq(gc_runtime_backend(rt), GC_BACKEND_REFERENCE);
    ck_assert_ptr_null(gc_runtime_device(rt));
    ck_assert_int_eq(gc_runtime_finish(rt), GC_OK);
    gc_runtime_close(rt);
}
END_TEST

START_TEST(device_opens_and_launches)
{
    gc_runtime *rt = gc_test_open_device(_i);
    const gc_device_info *info = gc_runtime_device(rt);
    ck_assert_ptr_nonnull(info);
    ck_assert_int_eq(info->index, _i);
    ck_assert_ptr_nonnull(strstr(gc_runtime_description(rt), info->name));

    gc_kernel *kernel = NULL;
    ck_assert_int_eq(gc_kernel_find(rt, "tensor_fill", &kernel), GC_OK);
    ck_assert_uint_gt(kernel->work_group_size, 0);
    ck_assert_int_eq(gc_kernel_find(rt, "no_such_kernel", &kernel), GC_ERR_UNSUPPORTED);

    /* A local size beyond what the kernel allows is shrunk, not rejected. */
    cl_int err = CL_SUCCESS;
    const unsigned n = 1000;
    cl_mem buffer =
        clCreateBuffer(gc_runtime_context(rt), CL_MEM_READ_WRITE, n * sizeof(float), NULL, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    ck_assert_int_eq(gc_kernel_find(rt, "tensor_fill", &kernel), GC_OK);
    ck_assert_uint_eq(kernel->arg_count, 3);
    size_t global = n, local = kernel->work_group_size * 4;
    ck_assert_msg(
        GC_LAUNCH(rt, kernel, 1, &global, &local, GC_BUF(buffer), GC_F32(2.5), GC_U32(n)) == GC_OK,
        "%s", gc_last_error());
    float values[1000];
    ck_assert_int_eq(clEnqueueReadBuffer(gc_runtime_queue(rt), buffer, CL_TRUE, 0, sizeof values,
                                         values, 0, NULL, NULL),
                     CL_SUCCESS);
    for (unsigned i = 0; i < n; i++) ck_assert_float_eq(values[i], 2.5f);
    /* A launch with the wrong number of arguments, or a count past 32 bits, is refused. */
    ck_assert_int_eq(GC_LAUNCH1D(rt, kernel, n, 64, GC_BUF(buffer), GC_F32(1.0)), GC_ERR_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "tensor_fill"));
    ck_assert_int_eq(
        GC_LAUNCH1D(rt, kernel, n, 64, GC_BUF(buffer), GC_F32(1.0), GC_U32((size_t)1 << 32)),
        GC_ERR_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "argument 2"));
    clReleaseMemObject(buffer);
    gc_runtime_close(rt);
}
END_TEST

/* The runtime's peak_fma against its C reference, for the runtime's gc_peak_shape (fma is
 * exact in both, so the values agree to the last bit). */
static void check_peak_kernel(gc_runtime *rt)
{
    enum { ITEMS = 16, ITERATIONS = 300, MOST_FLOATS = ITEMS * 16 * 16 };
    gc_peak_shape shape = {rt->shapes.peak_vector, rt->shapes.peak_chains};
    const size_t floats = ITEMS * shape.chains * shape.vector;
    ck_assert_uint_le(floats, MOST_FLOATS);
    gc_tensor out = {0};
    ck_assert_int_eq(gc_tensor_init1(&out, rt, floats), GC_OK);
    /* m and c chosen so that 300 steps move every lane well away from where it started */
    gc_kernel *kernel = NULL;
    ck_assert_int_eq(gc_kernel_find(rt, "peak_fma", &kernel), GC_OK);
    ck_assert_int_eq(GC_LAUNCH1D(rt, kernel, ITEMS, 8, GC_MEM(&out), GC_U32(ITERATIONS),
                                 GC_F32(0.99f), GC_F32(0.03f)),
                     GC_OK);
    static float device[MOST_FLOATS], expected[MOST_FLOATS];
    ck_assert_int_eq(clEnqueueReadBuffer(gc_runtime_queue(rt), out.buffer, CL_TRUE, 0,
                                         floats * sizeof *device, device, 0, NULL, NULL),
                     CL_SUCCESS);
    gc_peak_fma_reference(expected, shape, ITEMS, ITERATIONS, 0.99f, 0.03f);
    for (size_t i = 0; i < floats; i++)
        ck_assert_msg(device[i] == expected[i],
                      "float%u x %u chains, lane %zu: %.9g, "
                      "reference %.9g",
                      shape.vector, shape.chains, i, (double)device[i], (double)expected[i]);
    gc_tensor_release(&out);
}

/* The allowed values of the tunable shape parameter `name` (0-terminated). */
static const unsigned *tunable_values(const char *name)
{
    const char *found = NULL;
    const unsigned *values = NULL;
    for (size_t i = 0; gc_kernel_shapes_tunable(i, &found, &values); i++)
        if (strcmp(found, name) == 0) return values;
    ck_abort_msg("%s is not a tunable shape parameter", name);
    return NULL;
}

/* `glowcl bench`'s peak kernel computes the chains its C reference does, with the device
 * class's shape and with every PEAK_VECTOR and PEAK_CHAINS the shape table allows (each in a
 * runtime opened with it through GLOWCL_SHAPES, as shapes are built into the programs), and
 * gc_bench_peak reports positive rates for the device and the host. */
START_TEST(peak_kernel_matches_reference)
{
    gc_runtime *rt = gc_test_open_device(_i);
    check_peak_kernel(rt);
    /* Under oclgrind the calibrated runs would take minutes; the kernel is checked above. */
    if (!getenv("GLOWCL_TEST_UNDER_OCLGRIND")) {
        gc_peak peak;
        ck_assert_msg(gc_bench_peak(rt, &peak) == GC_OK, "%s", gc_last_error());
        ck_assert_msg(peak.gflops > 0.0 && isfinite(peak.gflops), "peak %g", peak.gflops);
        ck_assert_msg(peak.host_gflops > 0.0 && isfinite(peak.host_gflops), "host %g",
                      peak.host_gflops);
        ck_assert_uint_eq(peak.shape.vector, rt->shapes.peak_vector);
        ck_assert_uint_eq(peak.shape.chains, rt->shapes.peak_chains);
        ck_assert_uint_eq(peak.host_threads, (unsigned)gc_runtime_device(rt)->compute_units);
        ck_assert_msg(peak.host_method && *peak.host_method, "no host method");
    }
    gc_runtime_close(rt);
    /* Run by the shapes suite (tests/shapes_test.sh), GLOWCL_SHAPES names the values under test,
     * checked above; every other pair is the suite's other runs' to check. */
    const char *given = getenv("GLOWCL_SHAPES");
    if (given && *given) return;
    const unsigned *vectors = tunable_values("PEAK_VECTOR");
    const unsigned *chains = tunable_values("PEAK_CHAINS");
    for (size_t v = 0; vectors[v]; v++)
        for (size_t c = 0; chains[c]; c++) {
            char text[64];
            snprintf(text, sizeof text, "PEAK_VECTOR=%u,PEAK_CHAINS=%u", vectors[v], chains[c]);
            setenv("GLOWCL_SHAPES", text, 1);
            rt = gc_test_open_device(_i);
            ck_assert_uint_eq(rt->shapes.peak_vector, vectors[v]);
            ck_assert_uint_eq(rt->shapes.peak_chains, chains[c]);
            check_peak_kernel(rt);
            gc_runtime_close(rt);
        }
    unsetenv("GLOWCL_SHAPES");
}
END_TEST

START_TEST(broken_kernel_fails_with_build_log)
{
    /* The failed build is the point of this test, and oclgrind rightly reports it. */
    if (getenv("GLOWCL_TEST_UNDER_OCLGRIND")) return;
    char dir[] = "/tmp/glowcl-broken-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/tensor.cl", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("__kernel void tensor_fill(__global float *x) { x[0] = undefined_name; }\n", f);
    fclose(f);
    setenv("GLOWCL_KERNEL_DIR", dir, 1);

    char log_path[256];
    snprintf(log_path, sizeof log_path, "%s/log.txt", dir);
    FILE *log = fopen(log_path, "w+");
    ck_assert_ptr_nonnull(log);
    char spec[16];
    snprintf(spec, sizeof spec, "%d", _i);
    gc_runtime_options options = {.request = GC_DEVICE_REQUEST_DEFAULT, .log = log};
    options.request.device = spec;
    gc_runtime *rt = NULL;
    ck_assert_int_eq(gc_runtime_open(&rt, &options), GC_ERR_BUILD);
    ck_assert_ptr_null(rt);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "tensor.cl"));

    /* Chosen by default, the build failure must not fall back while developing kernels. */
    options.request.device = NULL;
    ck_assert_int_eq(gc_runtime_open(&rt, &options), GC_ERR_BUILD);
    ck_assert_ptr_null(rt);

    rewind(log);
    char text[8192];
    size_t got = fread(text, 1, sizeof text - 1, log);
    text[got] = '\0';
    fclose(log);
    ck_assert_msg(strstr(text, "build log of tensor.cl") != NULL, "log was: %s", text);
    ck_assert_msg(strstr(text, "undefined_name") != NULL, "device log missing: %s", text);
    unlink(path);
    unlink(log_path);
    rmdir(dir);
    unsetenv("GLOWCL_KERNEL_DIR");
}
END_TEST

/* Devices get the kernel shapes of their class: by vector width, PoCL's LLVM CPU name, or type. */
START_TEST(device_classes)
{
    gc_device_info d = fake(0, 0, 0, GC_DEVICE_CPU, 0, 2, 1ull << 30, "pthread-haswell-AMD EPYC");
    d.native_vector_width_float = 8;
    ck_assert_str_eq(gc_device_class(&d), "cpu-avx2");
    d.native_vector_width_float = 4;
    ck_assert_str_eq(gc_device_class(&d), "cpu-avx2");
    d.native_vector_width_float = 16;
    ck_assert_str_eq(gc_device_class(&d), "cpu-avx512");
    d = fake(0, 0, 0, GC_DEVICE_CPU, 0, 2, 1ull << 30, "pthread-skylake-avx512-Intel Xeon");
    ck_assert_str_eq(gc_device_class(&d), "cpu-avx512");
    d = fake(0, 0, 0, GC_DEVICE_GPU, 0, 2, 1ull << 30, "Radeon");
    ck_assert_str_eq(gc_device_class(&d), "gpu");
    d.kind = GC_DEVICE_ACCELERATOR;
    ck_assert_str_eq(gc_device_class(&d), "gpu");
}
END_TEST

/* GPUs and accelerators get the gpu kernel set, CPUs the cpu set; --kernels and GLOWCL_KERNELS
 * name one of them or auto, GLOWCL_KERNELS over the flag, and anything else in either is an
 * error naming its source and the values allowed. */
START_TEST(kernel_sets)
{
    gc_device_info d = fake(0, 0, 0, GC_DEVICE_CPU, 0, 2, 1ull << 30, "pthread-haswell");
    ck_assert_str_eq(gc_device_kernel_set(&d), "cpu");
    d.kind = GC_DEVICE_GPU;
    ck_assert_str_eq(gc_device_kernel_set(&d), "gpu");
    d.integrated = 1;
    ck_assert_str_eq(gc_device_kernel_set(&d), "gpu");
    d.kind = GC_DEVICE_ACCELERATOR;
    ck_assert_str_eq(gc_device_kernel_set(&d), "gpu");

    unsetenv("GLOWCL_KERNELS");
    const char *set = "unset";
    ck_assert_int_eq(gc_kernel_set_requested(NULL, "--kernels", &set), GC_OK);
    ck_assert_ptr_null(set);
    ck_assert_int_eq(gc_kernel_set_requested("auto", "--kernels", &set), GC_OK);
    ck_assert_ptr_null(set);
    ck_assert_int_eq(gc_kernel_set_requested("GPU", "--kernels", &set), GC_OK);
    ck_assert_str_eq(set, "gpu");
    ck_assert_int_eq(gc_kernel_set_requested("fast", "--kernels", &set), GC_ERR_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "--kernels: unknown kernel set 'fast'"));
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "auto, cpu or gpu"));

    setenv("GLOWCL_KERNELS", "cpu", 1);
    ck_assert_int_eq(gc_kernel_set_requested("gpu", "--kernels", &set), GC_OK);
    ck_assert_str_eq(set, "cpu");
    setenv("GLOWCL_KERNELS", "auto", 1);
    ck_assert_int_eq(gc_kernel_set_requested("gpu", "--kernels", &set), GC_OK);
    ck_assert_ptr_null(set);
    setenv("GLOWCL_KERNELS", "", 1); /* empty: as if unset */
    ck_assert_int_eq(gc_kernel_set_requested("gpu", "--kernels", &set), GC_OK);
    ck_assert_str_eq(set, "gpu");
    setenv("GLOWCL_KERNELS", "gpus", 1);
    ck_assert_int_eq(gc_kernel_set_requested(NULL, "--kernels", &set), GC_ERR_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "GLOWCL_KERNELS: unknown kernel set 'gpus'"));
    /* A bad value stops even the reference path, which has no kernels. */
    gc_runtime_options options = {.request = GC_DEVICE_REQUEST_DEFAULT, .kernels = "gpu"};
    options.request.reference = 1;
    gc_runtime *rt = NULL;
    ck_assert_int_eq(gc_runtime_open(&rt, &options), GC_ERR_ARGUMENT);
    ck_assert_ptr_null(rt);
    unsetenv("GLOWCL_KERNELS");
    options.kernels = "none";
    ck_assert_int_eq(gc_runtime_open(&rt, &options), GC_ERR_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "the kernels option: unknown kernel set"));
    options.kernels = "gpu";
    ck_assert_int_eq(gc_runtime_open(&rt, &options), GC_OK);
    ck_assert_int_eq(gc_runtime_backend(rt), GC_BACKEND_REFERENCE);
    gc_runtime_close(rt);
}
END_TEST

/* How the runtime builds its programs, for tools/gpu-regs.sh: the gpu set's with -DGC_GPU=1,
 * the cpu set's without, the headers in front in order, the class's shapes; a class or set
 * glowcl does not know is an error. */
START_TEST(program_builds_list_files_headers_and_options)
{
    unsetenv("GLOWCL_KERNELS");
    unsetenv("GLOWCL_SHAPES");
    gc_program_build *builds = NULL;
    size_t count = 0;
    ck_assert_int_eq(gc_program_builds("gpu", NULL, &builds, &count), GC_OK);
    ck_assert_uint_gt(count, 5);
    int coupling_seen = 0;
    for (size_t i = 0; i < count; i++) {
        ck_assert_str_eq(builds[i].kernel_set, "gpu");
        ck_assert_ptr_nonnull(strstr(builds[i].options, "-cl-std=CL1.2"));
        ck_assert_ptr_nonnull(strstr(builds[i].options, " -DGC_GPU=1"));
        if (strcmp(builds[i].file, "coupling.cl") == 0) {
            coupling_seen = 1;
            ck_assert_str_eq(builds[i].headers[0], "common.clh");
            ck_assert_str_eq(builds[i].headers[1], "invconv.clh");
            ck_assert_ptr_null(builds[i].headers[2]);
        }
        if (strcmp(builds[i].file, "peak.cl") == 0) /* the gpu class's shapes */
            ck_assert_ptr_nonnull(strstr(builds[i].options, "-DPEAK_VECTOR=4"));
    }
    ck_assert(coupling_seen);
    gc_program_builds_free(builds);

    ck_assert_int_eq(gc_program_builds("gpu", "cpu", &builds, &count), GC_OK);
    for (size_t i = 0; i < count; i++) {
        ck_assert_str_eq(builds[i].kernel_set, "cpu");
        ck_assert_ptr_null(strstr(builds[i].options, "GC_GPU"));
    }
    gc_program_builds_free(builds);
    ck_assert_int_eq(gc_program_builds("cpu-avx2", NULL, &builds, &count), GC_OK);
    ck_assert_str_eq(builds[0].kernel_set, "cpu");
    gc_program_builds_free(builds);

    ck_assert_int_eq(gc_program_builds("tpu", NULL, &builds, &count), GC_ERR_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "unknown device class 'tpu'"));
    ck_assert_ptr_null(builds);
    ck_assert_int_eq(gc_program_builds(NULL, NULL, &builds, &count), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_program_builds("gpu", "fast", &builds, &count), GC_ERR_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "unknown kernel set 'fast'"));
}
END_TEST

/* GLOWCL_SHAPES' text: known names and allowed values only, nothing changed on an error. */
START_TEST(shape_overrides_are_checked)
{
    gc_kernel_shapes shapes, before;
    gc_kernel_shapes_default(&shapes);
    before = shapes;
    ck_assert_int_eq(gc_kernel_shapes_parse(&shapes, "CONV_TILE=8, COUPLING_ROWS=4", "test"),
                     GC_OK);
    ck_assert_mem_eq(&shapes, &before, sizeof shapes);
    ck_assert_int_eq(gc_kernel_shapes_parse(&shapes, "COUPLING_ROWS=4,NO_SUCH=2", "test"),
                     GC_ERR_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "NO_SUCH=2"));
    ck_assert_int_eq(gc_kernel_shapes_parse(&shapes, "CONV_TILE=7", "test"), GC_ERR_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "CONV_TILE must be one of 8"));
    ck_assert_int_eq(gc_kernel_shapes_parse(&shapes, "CONV_TILE=", "test"), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_kernel_shapes_parse(&shapes, "CONV_TILE", "test"), GC_ERR_ARGUMENT);
    ck_assert_mem_eq(&shapes, &before, sizeof shapes);
    /* Every tunable parameter's values parse, and set the field the kernels read. */
    const char *name = NULL;
    const unsigned *values = NULL;
    for (size_t i = 0; gc_kernel_shapes_tunable(i, &name, &values); i++)
        for (size_t k = 0; values[k]; k++) {
            char text[64], all[1024];
            snprintf(text, sizeof text, "%s=%u", name, values[k]);
            ck_assert_int_eq(gc_kernel_shapes_parse(&shapes, text, "test"), GC_OK);
            gc_kernel_shapes_format(&shapes, all, sizeof all);
            ck_assert_ptr_nonnull(strstr(all, text));
        }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("runtime");
    TCase *logic = tcase_create("device choice and errors");
    tcase_add_test(logic, ranking_prefers_discrete_gpus_then_newer_then_memory);
    tcase_add_test(logic, explicit_choices_name_one_device);
    tcase_add_test(logic, type_and_platform_filters);
    tcase_add_test(logic, errors_carry_names_and_locations);
    tcase_add_test(logic, reference_runtime_needs_no_opencl);
    tcase_add_test(logic, device_classes);
    tcase_add_test(logic, kernel_sets);
    tcase_add_test(logic, program_builds_list_files_headers_and_options);
    tcase_add_test(logic, shape_overrides_are_checked);
    suite_add_tcase(s, logic);

    TCase *device = tcase_create("on every OpenCL device");
    tcase_set_timeout(device, 300);
    GC_TEST_DEVICE_LOOP(device, device_opens_and_launches);
    GC_TEST_DEVICE_LOOP(device, peak_kernel_matches_reference);
    GC_TEST_DEVICE_LOOP(device, broken_kernel_fails_with_build_log);
    suite_add_tcase(s, device);
    return gc_test_run(s, 1);
}
