/* Device discovery and ranking, and the runtime: context, queue, and the programs built from
 * the embedded sources in cl/ (the launches are in launch.c). */
#include "glowcl/runtime.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/internal.h"
#include "core/kernels.h"
#include "core/tune_cache.h"

const char *gc_device_kind_name(gc_device_kind kind)
{
    switch (kind) {
    case GC_DEVICE_GPU: return "GPU";
    case GC_DEVICE_ACCELERATOR: return "accelerator";
    case GC_DEVICE_CPU: return "CPU";
    default: return "other";
    }
}

/* ---- discovery ---- */

static void get_string(cl_device_id device, cl_device_info what, char *out, size_t size)
{
    out[0] = '\0';
    if (clGetDeviceInfo(device, what, size, out, NULL) != CL_SUCCESS) out[0] = '\0';
    out[size - 1] = '\0';
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    size_t start = 0;
    while (s[start] && isspace((unsigned char)s[start])) start++;
    if (start) memmove(s, s + start, n - start + 1);
}

static gc_status describe_device(gc_device_info *info, cl_platform_id platform, cl_device_id device)
{
    info->platform = platform;
    info->device = device;
    clGetPlatformInfo(platform, CL_PLATFORM_NAME, sizeof info->platform_name, info->platform_name,
                      NULL);
    clGetPlatformInfo(platform, CL_PLATFORM_VERSION, sizeof info->platform_version,
                      info->platform_version, NULL);
    info->platform_name[sizeof info->platform_name - 1] = '\0';
    info->platform_version[sizeof info->platform_version - 1] = '\0';
    get_string(device, CL_DEVICE_NAME, info->name, sizeof info->name);
    get_string(device, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    get_string(device, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version);
    get_string(device, CL_DEVICE_OPENCL_C_VERSION, info->opencl_c_version,
               sizeof info->opencl_c_version);
    trim(info->name);
    trim(info->vendor);
    trim(info->platform_name);
    /* "OpenCL C 1.2 PoCL" → 1, 2 */
    info->opencl_c_major = 1;
    info->opencl_c_minor = 0;
    sscanf(info->opencl_c_version, "OpenCL C %d.%d", &info->opencl_c_major, &info->opencl_c_minor);

    cl_device_type type = 0;
    GC_CL_TRY(clGetDeviceInfo, device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    info->kind = (type & CL_DEVICE_TYPE_GPU)           ? GC_DEVICE_GPU
                 : (type & CL_DEVICE_TYPE_ACCELERATOR) ? GC_DEVICE_ACCELERATOR
                 : (type & CL_DEVICE_TYPE_CPU)         ? GC_DEVICE_CPU
                                                       : GC_DEVICE_OTHER;
    cl_bool unified = CL_FALSE;
    clGetDeviceInfo(device, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL);
    info->integrated = unified == CL_TRUE;
    cl_uint units = 0;
    clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    info->compute_units = units;
    cl_ulong bytes = 0;
    clGetDeviceInfo(device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof bytes, &bytes, NULL);
    info->global_mem_bytes = bytes;
    bytes = 0;
    clGetDeviceInfo(device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof bytes, &bytes, NULL);
    info->local_mem_bytes = bytes;
    bytes = 0;
    clGetDeviceInfo(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof bytes, &bytes, NULL);
    info->max_alloc_bytes = bytes;
    size_t group = 0;
    clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof group, &group, NULL);
    info->max_work_group_size = group;
    cl_uint width = 0;
    clGetDeviceInfo(device, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof width, &width, NULL);
    info->native_vector_width_float = width;
    cl_device_fp_config fp64 = 0;
    clGetDeviceInfo(device, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp64, &fp64, NULL);
    info->fp64 = fp64 != 0;
    return GC_OK;
}

gc_status gc_devices_list(gc_device_info **devices_out, size_t *count_out)
{
    *devices_out = NULL;
    *count_out = 0;
    cl_uint platform_count = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &platform_count);
    /* The ICD loader answers CL_PLATFORM_NOT_FOUND_KHR (-1001) when no driver is installed:
     * that is a machine with zero devices, which callers report, not a failure. */
    if (err == -1001 || platform_count == 0) return GC_OK;
    GC_TRY(gc_cl_check(err, "clGetPlatformIDs", __FILE__, __LINE__));
    cl_platform_id *platforms = calloc(platform_count, sizeof *platforms);
    if (!platforms) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_status status = GC_CL(clGetPlatformIDs, platform_count, platforms, NULL);

    gc_device_info *list = NULL;
    size_t count = 0;
    for (cl_uint p = 0; status == GC_OK && p < platform_count; p++) {
        cl_uint n = 0;
        err = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, NULL, &n);
        if (err == CL_DEVICE_NOT_FOUND || n == 0) continue;
        status = gc_cl_check(err, "clGetDeviceIDs", __FILE__, __LINE__);
        if (status != GC_OK) break;
        cl_device_id *ids = calloc(n, sizeof *ids);
        gc_device_info *grown = realloc(list, (count + n) * sizeof *list);
        if (!ids || !grown) {
            free(ids);
            free(grown ? grown : list);
            list = NULL;
            status = GC_ERROR(GC_ERR_MEMORY, "out of host memory");
            break;
        }
        list = grown;
        status = GC_CL(clGetDeviceIDs, platforms[p], CL_DEVICE_TYPE_ALL, n, ids, NULL);
        for (cl_uint d = 0; status == GC_OK && d < n; d++) {
            gc_device_info *info = &list[count];
            memset(info, 0, sizeof *info);
            info->index = (int)count;
            info->platform_index = (int)p;
            info->device_index = (int)d;
            status = describe_device(info, platforms[p], ids[d]);
            count++;
        }
        free(ids);
    }
    free(platforms);
    if (status != GC_OK) {
        free(list);
        return status;
    }
    *devices_out = list;
    *count_out = count;
    return GC_OK;
}

void gc_devices_free(gc_device_info *devices) { free(devices); }

/* ---- ranking and choice ---- */

static int kind_rank(gc_device_kind kind)
{
    switch (kind) {
    case GC_DEVICE_GPU: return 0;
    case GC_DEVICE_ACCELERATOR: return 1;
    case GC_DEVICE_CPU: return 2;
    default: return 3;
    }
}

/* Negative when a should be preferred over b. */
static int compare_devices(const gc_device_info *a, const gc_device_info *b)
{
    if (kind_rank(a->kind) != kind_rank(b->kind)) return kind_rank(a->kind) - kind_rank(b->kind);
    if (a->integrated != b->integrated) return a->integrated - b->integrated;
    int va = a->opencl_c_major * 10 + a->opencl_c_minor;
    int vb = b->opencl_c_major * 10 + b->opencl_c_minor;
    if (va != vb) return vb - va;
    if (a->global_mem_bytes != b->global_mem_bytes)
        return a->global_mem_bytes > b->global_mem_bytes ? -1 : 1;
    return a->index - b->index;
}

static int parse_index(const char *text, int *value)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0' || v < 0 || v > 1000000) return 0;
    *value = (int)v;
    return 1;
}

static int contains_case_insensitive(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = haystack; *p; p++)
        if (strncasecmp(p, needle, n) == 0) return 1;
    return n == 0;
}

static int type_matches(const char *type, gc_device_kind kind)
{
    if (!type || strcasecmp(type, "all") == 0) return 1;
    if (strcasecmp(type, "gpu") == 0) return kind == GC_DEVICE_GPU;
    if (strcasecmp(type, "cpu") == 0) return kind == GC_DEVICE_CPU;
    if (strcasecmp(type, "accelerator") == 0) return kind == GC_DEVICE_ACCELERATOR;
    return 0;
}

/* A device given as "N" (its index) or "P:D" (platform P's device D) sets want_index, or
 * want_platform and want_device, and is an error if no such device exists; other text is a
 * name to match (parse_index sets what it parsed, so "P:x" leaves want_platform set). */
static gc_status parse_device_spec(const gc_device_info *devices, size_t count, const char *spec,
                                   int *want_index, int *want_platform, int *want_device)
{
    const char *colon = strchr(spec, ':');
    char left[32];
    int split = colon && (size_t)(colon - spec) < sizeof left;
    if (split) {
        memcpy(left, spec, (size_t)(colon - spec));
        left[colon - spec] = '\0';
    }
    if (parse_index(spec, want_index)) {
        if (*want_index >= (int)count)
            return GC_ERROR(GC_ERR_NO_DEVICE, "no OpenCL device %d (there %s %zu)", *want_index,
                            count == 1 ? "is" : "are", count);
    } else if (split && parse_index(left, want_platform) && parse_index(colon + 1, want_device)) {
        int found = 0;
        for (size_t i = 0; i < count; i++)
            found |= devices[i].platform_index == *want_platform &&
                     devices[i].device_index == *want_device;
        if (!found)
            return GC_ERROR(GC_ERR_NO_DEVICE, "no OpenCL device %d on platform %d", *want_device,
                            *want_platform);
    }
    return GC_OK;
}

/* Insertion sort: device lists are short and the order must be stable. */
static void sort_by_preference(const gc_device_info *devices, size_t *order, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        size_t key = order[i];
        size_t j = i;
        while (j > 0 && compare_devices(&devices[key], &devices[order[j - 1]]) < 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = key;
    }
}

gc_status gc_device_rank(const gc_device_info *devices, size_t count,
                         const gc_device_request *request, size_t *order_out,
                         size_t *order_count_out, int *explicit_out)
{
    *order_count_out = 0;
    *explicit_out = 0;
    const char *type = request->type;
    if (type && !type_matches(type, GC_DEVICE_GPU) && !type_matches(type, GC_DEVICE_CPU) &&
        !type_matches(type, GC_DEVICE_ACCELERATOR))
        return GC_ERROR(GC_ERR_ARGUMENT,
                        "unknown device type '%s' (expected gpu, cpu, accelerator or all)", type);
    if (request->platform >= 0) {
        int found = 0;
        for (size_t i = 0; i < count; i++) found |= devices[i].platform_index == request->platform;
        if (!found)
            return GC_ERROR(GC_ERR_NO_DEVICE, "no OpenCL platform %d with devices",
                            request->platform);
    }

    const char *spec = request->device;
    int want_index = -1, want_platform = -1, want_device = -1;
    if (spec && *spec) {
        GC_TRY(parse_device_spec(devices, count, spec, &want_index, &want_platform, &want_device));
        *explicit_out = want_index >= 0 || want_platform >= 0;
    }

    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        const gc_device_info *d = &devices[i];
        if (!type_matches(type, d->kind)) continue;
        if (request->platform >= 0 && d->platform_index != request->platform) continue;
        if (want_index >= 0 && d->index != want_index) continue;
        if (want_platform >= 0 &&
            (d->platform_index != want_platform || d->device_index != want_device))
            continue;
        if (spec && *spec && want_index < 0 && want_platform < 0 &&
            !contains_case_insensitive(d->name, spec))
            continue;
        order_out[n++] = i;
    }
    sort_by_preference(devices, order_out, n);
    /* A name names one device: the best match, never silently another one. */
    if (spec && *spec && n > 0) {
        *explicit_out = 1;
        n = 1;
    }
    *order_count_out = n;
    if (n == 0) {
        if (count == 0) return GC_ERROR(GC_ERR_NO_DEVICE, "no OpenCL device found");
        if (spec && *spec)
            return GC_ERROR(GC_ERR_NO_DEVICE, "no OpenCL device matches '%s'%s%s", spec,
                            type ? " of type " : "", type ? type : "");
        return GC_ERROR(GC_ERR_NO_DEVICE, "no OpenCL %s device found%s", type ? type : "",
                        request->platform >= 0 ? " on that platform" : "");
    }
    return GC_OK;
}

/* ---- runtime ---- */

static char *read_text_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *text = NULL;
    size_t size = 0, used = 0;
    for (;;) {
        if (used + 4096 + 1 > size) {
            size = size ? size * 2 : 8192;
            char *grown = realloc(text, size);
            if (!grown) {
                free(text);
                fclose(f);
                return NULL;
            }
            text = grown;
        }
        size_t got = fread(text + used, 1, size - used - 1, f);
        used += got;
        if (got == 0) break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(text);
        return NULL;
    }
    text[used] = '\0';
    return text;
}

static void print_build_log(FILE *log, cl_program program, cl_device_id device, const char *file,
                            const gc_device_info *info)
{
    if (!log) return;
    size_t size = 0;
    clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size);
    char *text = malloc(size + 1);
    if (!text) return;
    text[0] = '\0';
    clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, text, NULL);
    text[size] = '\0';
    fprintf(log, "glowcl: build log of %s for %s:\n%s\n", file, info->name, text);
    free(text);
}

static gc_status add_program_kernels(gc_runtime *rt, cl_program program)
{
    cl_uint n = 0;
    GC_CL_TRY(clCreateKernelsInProgram, program, 0, NULL, &n);
    if (n == 0) return GC_OK;
    cl_kernel *kernels = calloc(n, sizeof *kernels);
    gc_kernel *grown = realloc(rt->kernels, (rt->kernel_count + n) * sizeof *grown);
    if (!kernels || !grown) {
        free(kernels);
        if (grown) rt->kernels = grown;
        return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    }
    rt->kernels = grown;
    gc_status status = GC_CL(clCreateKernelsInProgram, program, n, kernels, NULL);
    for (cl_uint i = 0; i < n; i++) {
        if (status != GC_OK) {
            if (kernels[i]) clReleaseKernel(kernels[i]);
            continue;
        }
        gc_kernel *k = &rt->kernels[rt->kernel_count++];
        memset(k, 0, sizeof *k);
        k->kernel = kernels[i];
        status = GC_CL(clGetKernelInfo, kernels[i], CL_KERNEL_FUNCTION_NAME, sizeof k->name,
                       k->name, NULL);
        if (status == GC_OK)
            status = GC_CL(clGetKernelInfo, kernels[i], CL_KERNEL_NUM_ARGS, sizeof k->arg_count,
                           &k->arg_count, NULL);
        k->optimiser_update =
            strcmp(k->name, "adam_step") == 0 || strcmp(k->name, "adamax_step") == 0;
        if (status == GC_OK)
            status = GC_CL(clGetKernelWorkGroupInfo, kernels[i], rt->device.device,
                           CL_KERNEL_WORK_GROUP_SIZE, sizeof k->work_group_size,
                           &k->work_group_size, NULL);
    }
    free(kernels);
    return status;
}

/* Each program: its kernel file, the headers placed in front of it (in this order), the
 * shape parameters (core/shapes.h) it is built with, and options of its own (a file built
 * twice, e.g. for two register tiles, is told which build it is). */
enum { PROGRAM_HEADERS = 2, PROGRAM_DEFINES = 6 };
static const struct kernel_program {
    const char *file;
    const char *headers[PROGRAM_HEADERS];
    const char *defines[PROGRAM_DEFINES];
    const char *own_options;
} kernel_programs[] = {
    {"tensor.cl", {"common.clh"}, {NULL}, NULL},
    {"affine.cl", {"common.clh"}, {NULL}, NULL},
    {"coupling.cl",
     {"common.clh", "invconv.clh"},
     {"COUPLING_ROWS", "COUPLING_VECTOR", "COUPLING_TILE_IN", "COUPLING_TILE_OUT", "VECTOR_FIELDS",
      "VECTOR_MAX_DIM"},
     NULL},
    {"invconv.cl", {"common.clh", "invconv.clh"}, {"INVCONV_PIXELS"}, NULL},
    {"prior.cl", {NULL}, {"PRIOR_MAX_COMPONENTS"}, NULL},
    {"squeeze.cl", {NULL}, {NULL}, NULL},
    {"split.cl", {NULL}, {NULL}, NULL},
    {"conv.cl",
     {"common.clh"},
     {"CONV_TILE", "CONV_CHANNELS", "CONV_GRID", "CONV_GRAD_CHANNELS"},
     NULL},
    {"conv_coupling.cl", {"common.clh"}, {NULL}, NULL},
    {"gpu_conv.cl", {NULL}, {"GPU_CONV_SIDE"}, "-DGPU_CONV_ITEM=2"},
    {"gpu_conv.cl", {NULL}, {"GPU_CONV_SIDE"}, "-DGPU_CONV_ITEM=4"},
    {"peak.cl", {NULL}, {"PEAK_VECTOR", "PEAK_CHAINS"}, NULL},
    {"adam.cl", {NULL}, {NULL}, NULL},
};
enum { PROGRAM_COUNT = sizeof kernel_programs / sizeof *kernel_programs };

static const gc_embedded_kernel_file *embedded_file(const char *name)
{
    for (int i = 0; i < gc_embedded_kernel_file_count; i++)
        if (strcmp(gc_embedded_kernel_files[i].name, name) == 0)
            return &gc_embedded_kernel_files[i];
    return NULL;
}

/* The file's source: from GLOWCL_KERNEL_DIR when it has a file of that name, else embedded. */
static gc_status kernel_source(const char *name, const char *dir, char **out)
{
    *out = NULL;
    if (dir && *dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        *out = read_text_file(path);
        if (*out) return GC_OK;
        if (errno != ENOENT)
            return GC_ERROR(GC_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    }
    const gc_embedded_kernel_file *file = embedded_file(name);
    if (!file) return GC_ERROR(GC_ERR_UNSUPPORTED, "no kernel file %s is embedded", name);
    *out = strdup(file->source);
    return *out ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
}

/* GLOWCL_VERBOSE set (not empty, not 0): the compiler's warnings and every build log shown. */
static int verbose_builds(void)
{
    const char *verbose = getenv("GLOWCL_VERBOSE");
    return verbose && *verbose && strcmp(verbose, "0") != 0;
}

/* The build options of one program: the language version, the shape parameters it reads, its
 * own options, GC_GPU=1 for the gpu kernel set (so that a file can hold both sets' kernels, and
 * a build outside glowcl can ask for the gpu set's), the caller's extra options, and -w unless
 * the user asked to see the warnings (PoCL prints them to the terminal, e.g. "135 warnings
 * generated.", at every first build). */
static gc_status program_options(const gc_kernel_shapes *shapes, gc_kernel_set kernel_set,
                                 const char *extra_options, const struct kernel_program *program,
                                 char *out, size_t size)
{
    snprintf(out, size, "-cl-std=CL1.2%s", verbose_builds() ? "" : " -w");
    for (int d = 0; d < PROGRAM_DEFINES && program->defines[d]; d++)
        if (gc_kernel_shapes_define(shapes, program->defines[d], out, size) != 0)
            return GC_ERROR(GC_ERR_UNSUPPORTED, "no shape parameter %s for %s", program->defines[d],
                            program->file);
    size_t used = strlen(out);
    if (program->own_options) snprintf(out + used, size - used, " %s", program->own_options);
    used = strlen(out);
    if (kernel_set == GC_KERNELS_GPU) snprintf(out + used, size - used, " -DGC_GPU=1");
    used = strlen(out);
    if (extra_options) snprintf(out + used, size - used, " %s", extra_options);
    return GC_OK;
}

static gc_status build_program(gc_runtime *rt, const gc_runtime_options *options,
                               const struct kernel_program *program, const char *dir)
{
    char build_options[GC_BUILD_OPTIONS_MAX];
    GC_TRY(program_options(&rt->shapes, rt->kernel_set, options->extra_build_options, program,
                           build_options, sizeof build_options));
    char *parts[PROGRAM_HEADERS + 1] = {0};
    int count = 0;
    gc_status status = GC_OK;
    for (int h = 0; status == GC_OK && h < PROGRAM_HEADERS && program->headers[h]; h++)
        status = kernel_source(program->headers[h], dir, &parts[count++]);
    if (status == GC_OK) status = kernel_source(program->file, dir, &parts[count++]);
    cl_int err = CL_SUCCESS;
    cl_program built = NULL;
    if (status == GC_OK) {
        built = clCreateProgramWithSource(rt->context, (cl_uint)count, (const char **)parts, NULL,
                                          &err);
        status = gc_cl_check(err, "clCreateProgramWithSource", __FILE__, __LINE__);
    }
    for (int i = 0; i < count; i++) free(parts[i]);
    GC_TRY(status);
    rt->programs[rt->program_count++] = built;
    err = clBuildProgram(built, 1, &rt->device.device, build_options, NULL, NULL);
    if (err == CL_BUILD_PROGRAM_FAILURE || err == CL_INVALID_BUILD_OPTIONS) {
        print_build_log(options->log, built, rt->device.device, program->file, &rt->device);
        return GC_ERROR(GC_ERR_BUILD, "kernels of %s%s failed to build on %s: %s",
                        dir && *dir ? "GLOWCL_KERNEL_DIR " : "", program->file, rt->device.name,
                        gc_cl_error_name(err));
    }
    GC_TRY(gc_cl_check(err, "clBuildProgram", __FILE__, __LINE__));
    if (verbose_builds())
        print_build_log(options->log, built, rt->device.device, program->file, &rt->device);
    return add_program_kernels(rt, built);
}

static gc_status build_programs(gc_runtime *rt, const gc_runtime_options *options)
{
    /* Every embedded kernel file is a program of the table or one of its headers. */
    for (int i = 0; i < gc_embedded_kernel_file_count; i++) {
        const char *name = gc_embedded_kernel_files[i].name;
        int listed = 0;
        for (int p = 0; p < PROGRAM_COUNT && !listed; p++) {
            listed = strcmp(kernel_programs[p].file, name) == 0;
            for (int h = 0; h < PROGRAM_HEADERS && kernel_programs[p].headers[h]; h++)
                listed = listed || strcmp(kernel_programs[p].headers[h], name) == 0;
        }
        if (!listed) return GC_ERROR(GC_ERR_UNSUPPORTED, "kernel file %s is in no program", name);
    }
    const char *dir = getenv("GLOWCL_KERNEL_DIR");
    rt->programs = calloc(PROGRAM_COUNT, sizeof *rt->programs);
    if (!rt->programs) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_status status = GC_OK;
    for (int p = 0; status == GC_OK && p < PROGRAM_COUNT; p++)
        status = build_program(rt, options, &kernel_programs[p], dir);
    return status;
}

static void read_device_faults(gc_device_faults *faults)
{
    const char *at_step = getenv("GLOWCL_FAULT_AT_STEP");
    if (at_step) {
        char *end = NULL;
        long step = strtol(at_step, &end, 10);
        if (step >= 2) {
            faults->lost_at_step = step;
            faults->lost_once = end && strcmp(end, ":once") == 0;
        }
    }
    const char *memory = getenv("GLOWCL_FAULT_DEVICE_MEMORY");
    if (memory) faults->memory_limit = (size_t)strtoull(memory, NULL, 10);
}

static gc_status find_core_kernels(gc_runtime *rt)
{
    gc_core_kernels *k = &rt->core;
    GC_TRY(gc_kernel_find(rt, "tensor_fill", &k->fill));
    GC_TRY(gc_kernel_find(rt, "tensor_scale", &k->scale));
    GC_TRY(gc_kernel_find(rt, "tensor_axpy", &k->axpy));
    GC_TRY(gc_kernel_find(rt, "tensor_mul", &k->mul));
    GC_TRY(gc_kernel_find(rt, "tensor_channel_sum", &k->channel_sum));
    GC_TRY(gc_kernel_find(rt, "tensor_channel_moments", &k->channel_moments));
    return gc_kernel_find(rt, "accumulate_columns", &k->accumulate_columns);
}

/* GLOWCL_TUNE=off (or 0): the tuner's cache is not read. */
static int tune_cache_wanted(void)
{
    const char *tune = getenv("GLOWCL_TUNE");
    return !tune || (strcmp(tune, "off") != 0 && strcmp(tune, "0") != 0);
}

/* The kernel sets by their names (runtime.h), indexed by gc_kernel_set. */
static const char *const kernel_set_names[] = {[GC_KERNELS_CPU] = "cpu", [GC_KERNELS_GPU] = "gpu"};
enum { KERNEL_SET_COUNT = sizeof kernel_set_names / sizeof *kernel_set_names };

static gc_kernel_set kernel_set_of_class(const char *device_class)
{
    return strcmp(device_class, "gpu") == 0 ? GC_KERNELS_GPU : GC_KERNELS_CPU;
}

/* A name of kernel_set_names (as parse_kernel_set gives it) → its set. */
static gc_kernel_set kernel_set_named(const char *name)
{
    for (int i = 0; i < KERNEL_SET_COUNT; i++)
        if (strcmp(name, kernel_set_names[i]) == 0) return (gc_kernel_set)i;
    return GC_KERNELS_CPU;
}

const char *gc_device_kernel_set(const gc_device_info *device)
{
    return kernel_set_names[kernel_set_of_class(gc_device_class(device))];
}

/* "auto", NULL or "" → NULL; a set's name (in any case) → that name; else GC_ERR_ARGUMENT. */
static gc_status parse_kernel_set(const char *text, const char *source, const char **set_out)
{
    *set_out = NULL;
    if (!text || !*text || strcasecmp(text, "auto") == 0) return GC_OK;
    for (int i = 0; i < KERNEL_SET_COUNT; i++)
        if (strcasecmp(text, kernel_set_names[i]) == 0) {
            *set_out = kernel_set_names[i];
            return GC_OK;
        }
    return GC_ERROR(GC_ERR_ARGUMENT, "%s: unknown kernel set '%s' (expected auto, cpu or gpu)",
                    source, text);
}

gc_status gc_kernel_set_requested(const char *requested, const char *source, const char **set_out)
{
    /* Both are checked, so that a mistyped value is reported even where the other decides. */
    const char *from_request = NULL, *from_environment = NULL;
    GC_TRY(parse_kernel_set(requested, source, &from_request));
    const char *environment = getenv("GLOWCL_KERNELS");
    GC_TRY(parse_kernel_set(environment, "GLOWCL_KERNELS", &from_environment));
    *set_out = environment && *environment ? from_environment : from_request;
    return GC_OK;
}

/* The set asked for (a name of kernel_set_names), or the class's where none is. */
static gc_kernel_set choose_kernel_set(const char *asked, const char *device_class)
{
    return asked ? kernel_set_named(asked) : kernel_set_of_class(device_class);
}

/* The device class's kernel shapes, then the tuner's cache for the device (where there is
 * one), the caller's and GLOWCL_SHAPES, each over the ones before (runtime.h). The cache and
 * GLOWCL_SHAPES are said once, on the log, so that a run with them is never mistaken for one
 * without. */
static gc_status choose_shapes(gc_kernel_shapes *shapes, const char *device_class,
                               const gc_device_info *device, const gc_runtime_options *options)
{
    gc_kernel_shapes_for_class(shapes, device_class);
    if (device && tune_cache_wanted()) gc_tune_cache_apply(device, shapes, options->log);
    if (options->shapes && *options->shapes)
        GC_TRY(gc_kernel_shapes_parse(shapes, options->shapes, "kernel shapes"));
    const char *forced = getenv("GLOWCL_SHAPES");
    if (!forced || !*forced) return GC_OK;
    GC_TRY(gc_kernel_shapes_parse(shapes, forced, "GLOWCL_SHAPES"));
    if (options->log)
        fprintf(options->log, "glowcl: kernel shapes from GLOWCL_SHAPES: %s\n", forced);
    return GC_OK;
}

/* The names gc_device_class gives (shapes.c), for checking a class given by name. */
static const char *const device_classes[] = {"cpu-avx512", "cpu-avx2", "gpu"};
enum { DEVICE_CLASS_COUNT = sizeof device_classes / sizeof *device_classes };

_Static_assert((int)PROGRAM_HEADERS < (int)GC_PROGRAM_HEADERS_MAX,
               "gc_program_build.headers holds a program's headers and a NULL after them");

gc_status gc_program_builds(const char *device_class, const char *kernel_set,
                            gc_program_build **builds_out, size_t *count_out)
{
    *builds_out = NULL;
    *count_out = 0;
    int known = 0;
    for (int i = 0; i < DEVICE_CLASS_COUNT && device_class; i++)
        known |= strcmp(device_class, device_classes[i]) == 0;
    if (!known)
        return GC_ERROR(GC_ERR_ARGUMENT,
                        "unknown device class '%s' (expected cpu-avx512, cpu-avx2 or gpu)",
                        device_class ? device_class : "");
    const char *asked = NULL;
    GC_TRY(parse_kernel_set(kernel_set, "kernel set", &asked));
    gc_kernel_shapes shapes;
    gc_runtime_options no_options = {.log = NULL};
    GC_TRY(choose_shapes(&shapes, device_class, NULL, &no_options));
    gc_kernel_set set = choose_kernel_set(asked, device_class);
    gc_program_build *builds = calloc(PROGRAM_COUNT, sizeof *builds);
    if (!builds) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_status status = GC_OK;
    for (int p = 0; status == GC_OK && p < PROGRAM_COUNT; p++) {
        const struct kernel_program *program = &kernel_programs[p];
        builds[p].file = program->file;
        builds[p].kernel_set = kernel_set_names[set];
        for (int h = 0; h < PROGRAM_HEADERS && program->headers[h]; h++)
            builds[p].headers[h] = program->headers[h];
        status = program_options(&shapes, set, NULL, program, builds[p].options,
                                 sizeof builds[p].options);
    }
    if (status != GC_OK) {
        free(builds);
        return status;
    }
    *builds_out = builds;
    *count_out = PROGRAM_COUNT;
    return GC_OK;
}

void gc_program_builds_free(gc_program_build *builds) { free(builds); }

/* "OpenCL device 0 (0:0): NAME [CPU, PLATFORM, OpenCL C 1.2]", and the kernel set where it is
 * not the device's default, so that such a run is never mistaken for one with the default. */
static void describe_runtime(gc_runtime *rt)
{
    const gc_device_info *info = &rt->device;
    int used = snprintf(rt->description, sizeof rt->description,
                        "OpenCL device %d (%d:%d): %s [%s%s, %s, OpenCL C %d.%d]", info->index,
                        info->platform_index, info->device_index, info->name,
                        info->integrated && info->kind == GC_DEVICE_GPU ? "integrated " : "",
                        gc_device_kind_name(info->kind), info->platform_name, info->opencl_c_major,
                        info->opencl_c_minor);
    const char *set = kernel_set_names[rt->kernel_set], *usual = gc_device_kernel_set(info);
    if (used > 0 && (size_t)used < sizeof rt->description && strcmp(set, usual) != 0)
        snprintf(rt->description + used, sizeof rt->description - (size_t)used,
                 "; the %s kernel set, asked for (this device's default is %s)", set, usual);
}

static gc_status open_device(gc_runtime **runtime_out, const gc_device_info *info,
                             const gc_runtime_options *options, const char *kernel_set)
{
    gc_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    rt->backend = GC_BACKEND_OPENCL;
    rt->device = *info;
    rt->whole_buffer_host_writes = strstr(info->platform_name, "Oclgrind") != NULL;
    read_device_faults(&rt->faults);
    const char *device_class = gc_device_class(info);
    rt->kernel_set = choose_kernel_set(kernel_set, device_class);
    gc_status status = choose_shapes(&rt->shapes, device_class, info, options);
    if (status != GC_OK) {
        free(rt);
        return status;
    }
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)info->platform, 0};
    cl_int err = CL_SUCCESS;
    rt->context = clCreateContext(props, 1, &info->device, NULL, NULL, &err);
    status = gc_cl_check(err, "clCreateContext", __FILE__, __LINE__);
    if (status == GC_OK) {
        /* Profiling waits for every kernel, so it measures device time, not a step's speed. */
        const char *profile = getenv("GLOWCL_PROFILE");
        rt->profile = profile && *profile && strcmp(profile, "0") != 0;
        rt->queue = clCreateCommandQueue(rt->context, info->device,
                                         rt->profile ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
        status = gc_cl_check(err, "clCreateCommandQueue", __FILE__, __LINE__);
    }
    if (status == GC_OK) status = build_programs(rt, options);
    if (status == GC_OK) status = find_core_kernels(rt);
    if (status != GC_OK) {
        gc_runtime_close(rt);
        return status;
    }
    describe_runtime(rt);
    *runtime_out = rt;
    return GC_OK;
}

gc_status gc_runtime_open_reference(gc_runtime **runtime_out)
{
    gc_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    rt->backend = GC_BACKEND_REFERENCE;
    gc_kernel_shapes_default(&rt->shapes);
    snprintf(rt->description, sizeof rt->description, "reference path (plain C, double)");
    *runtime_out = rt;
    return GC_OK;
}

gc_status gc_runtime_open(gc_runtime **runtime_out, const gc_runtime_options *options)
{
    *runtime_out = NULL;
    /* A mistyped GLOWCL_KERNELS (or options->kernels) is an error even on the reference path,
     * which has no kernels: the same command line must not pass there and fail on a device. */
    const char *kernel_set = NULL;
    GC_TRY(gc_kernel_set_requested(options->kernels, "the kernels option", &kernel_set));
    if (options->request.reference) return gc_runtime_open_reference(runtime_out);
    /* A mistyped GLOWCL_SHAPES (or options->shapes) is the user's error to mend, not a reason
     * to pass over a device for the next one. */
    const char *forced = getenv("GLOWCL_SHAPES");
    gc_kernel_shapes probe;
    gc_kernel_shapes_default(&probe);
    if (forced && *forced) GC_TRY(gc_kernel_shapes_parse(&probe, forced, "GLOWCL_SHAPES"));
    if (options->shapes && *options->shapes)
        GC_TRY(gc_kernel_shapes_parse(&probe, options->shapes, "kernel shapes"));

    gc_device_info *devices = NULL;
    size_t count = 0;
    GC_TRY(gc_devices_list(&devices, &count));
    size_t *order = calloc(count ? count : 1, sizeof *order);
    if (!order) {
        gc_devices_free(devices);
        return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    }
    size_t candidates = 0;
    int explicit_choice = 0;
    gc_status status =
        gc_device_rank(devices, count, &options->request, order, &candidates, &explicit_choice);
    /* Only a request that said nothing may end on the reference path; one that named a device,
     * a type or a platform is a promise to run there or fail. */
    int may_use_reference =
        !explicit_choice && !options->request.type && options->request.platform < 0;
    /* Someone editing kernels in GLOWCL_KERNEL_DIR wants to see their build fail, not a quiet
     * fallback to another device. */
    const char *kernel_dir = getenv("GLOWCL_KERNEL_DIR");
    int developing_kernels = kernel_dir && *kernel_dir;
    if (status == GC_ERR_NO_DEVICE && count == 0 && may_use_reference) {
        if (options->log)
            fprintf(options->log, "glowcl: warning: no OpenCL device found, using the "
                                  "reference path (plain C)\n");
        status = gc_runtime_open_reference(runtime_out);
    }
    for (size_t i = 0; status == GC_OK && !*runtime_out && i < candidates; i++) {
        const gc_device_info *info = &devices[order[i]];
        status = open_device(runtime_out, info, options, kernel_set);
        if (status == GC_OK || explicit_choice || (status == GC_ERR_BUILD && developing_kernels))
            break;
        if (options->log)
            fprintf(options->log, "glowcl: warning: cannot use %s: %s\n", info->name,
                    gc_last_error());
        status = GC_OK;
        if (i + 1 == candidates && may_use_reference) {
            if (options->log)
                fprintf(options->log, "glowcl: warning: no usable OpenCL device, using the "
                                      "reference path (plain C)\n");
            status = gc_runtime_open_reference(runtime_out);
        }
    }
    if (status == GC_OK && !*runtime_out)
        status = GC_ERROR(GC_ERR_BUILD, "no device of the requested kind could build the kernels");
    free(order);
    gc_devices_free(devices);
    return status;
}

void gc_gemm_release(gc_runtime *rt); /* gemm.c */

static int by_device_time(const void *a, const void *b)
{
    double ta = (*(const gc_kernel *const *)a)->device_seconds;
    double tb = (*(const gc_kernel *const *)b)->device_seconds;
    return (ta < tb) - (ta > tb);
}

/* "96" where lo == hi, else "96..512". */
static void format_range(char *out, size_t size, size_t lo, size_t hi)
{
    if (lo == hi)
        snprintf(out, size, "%zu", lo);
    else
        snprintf(out, size, "%zu..%zu", lo, hi);
}

/* A kernel's work-group sizes: "auto" where every launch left it to the driver, the range of
 * those given otherwise, after "auto," where some launches gave none. */
static void format_groups(char *out, size_t size, const gc_kernel *k)
{
    if (k->driver_group_launches == k->launches) {
        snprintf(out, size, "auto");
        return;
    }
    int some_auto = k->driver_group_launches > 0;
    if (some_auto) snprintf(out, size, "auto,");
    size_t used = some_auto ? strlen(out) : 0;
    format_range(out + used, size - used, k->group_min, k->group_max);
}

/* The GLOWCL_PROFILE table: kernels by total device time (CLBlast's GEMMs are not included),
 * with the work-items a launch ran and the work-group size it gave ("auto": the driver's). */
static void print_profile(const gc_runtime *rt)
{
    const gc_kernel **order = malloc(rt->kernel_count * sizeof *order);
    if (!order) return;
    double total = 0.0;
    size_t used = 0;
    for (size_t i = 0; i < rt->kernel_count; i++)
        if (rt->kernels[i].launches) {
            order[used++] = &rt->kernels[i];
            total += rt->kernels[i].device_seconds;
        }
    qsort(order, used, sizeof *order, by_device_time);
    fprintf(stderr, "glowcl profile: %-28s %10s %12s %10s %6s %19s %13s\n", "kernel", "launches",
            "device ms", "us/launch", "share", "work-items/launch", "local size");
    for (size_t i = 0; i < used; i++) {
        const gc_kernel *k = order[i];
        char items[48], groups[48];
        format_range(items, sizeof items, k->items_min, k->items_max);
        format_groups(groups, sizeof groups, k);
        fprintf(stderr, "glowcl profile: %-28s %10lu %12.2f %10.1f %5.1f%% %19s %13s\n", k->name,
                k->launches, k->device_seconds * 1e3, k->device_seconds * 1e6 / (double)k->launches,
                total > 0 ? 100.0 * k->device_seconds / total : 0.0, items, groups);
    }
    free(order);
}

void gc_runtime_close(gc_runtime *rt)
{
    if (!rt) return;
    if (rt->queue) clFinish(rt->queue);
    if (rt->profile) print_profile(rt);
    gc_scratch_release_all(rt);
    gc_gemm_release(rt);
    for (size_t i = 0; i < rt->kernel_count; i++) clReleaseKernel(rt->kernels[i].kernel);
    for (int i = 0; i < rt->program_count; i++) clReleaseProgram(rt->programs[i]);
    if (rt->queue) clReleaseCommandQueue(rt->queue);
    if (rt->context) clReleaseContext(rt->context);
    free(rt->kernels);
    free(rt->programs);
    free(rt);
}

gc_backend gc_runtime_backend(const gc_runtime *rt) { return rt->backend; }
const char *gc_runtime_description(const gc_runtime *rt) { return rt->description; }
const gc_device_info *gc_runtime_device(const gc_runtime *rt)
{
    return rt->backend == GC_BACKEND_OPENCL ? &rt->device : NULL;
}
cl_context gc_runtime_context(const gc_runtime *rt) { return rt->context; }
cl_command_queue gc_runtime_queue(const gc_runtime *rt) { return rt->queue; }

void gc_runtime_tensor_memory(const gc_runtime *rt, size_t *current, size_t *peak)
{
    if (current) *current = rt->tensor_bytes;
    if (peak) *peak = rt->tensor_bytes_peak;
}

gc_status gc_runtime_finish(gc_runtime *rt)
{
    if (rt->backend != GC_BACKEND_OPENCL) return GC_OK;
    GC_TRY(gc_device_fault_check(rt, "clFinish"));
    return GC_CL(clFinish, rt->queue);
}

/* ---- kernels and launches ---- */
