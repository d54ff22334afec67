/* Device discovery, device choice and the runtime that owns the OpenCL context, queue and the
 * compiled kernels of every flow operation. A runtime is either OpenCL (float, on a device) or
 * the reference path (double, plain C on the host, no OpenCL at all). */
#ifndef GLOWCL_RUNTIME_H
#define GLOWCL_RUNTIME_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "glowcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gc_device_kind {
    GC_DEVICE_GPU,
    GC_DEVICE_ACCELERATOR,
    GC_DEVICE_CPU,
    GC_DEVICE_OTHER,
} gc_device_kind;

/* One OpenCL device as `glowcl devices` shows it. Indices are 0-based. */
typedef struct gc_device_info {
    int index;          /* position in the list of all devices of all platforms */
    int platform_index; /* position of its platform */
    int device_index;   /* position within its platform */
    gc_device_kind kind;
    int integrated; /* shares memory with the host (CL_DEVICE_HOST_UNIFIED_MEMORY) */
    char platform_name[128];
    char platform_version[128];
    char vendor[128];
    char name[128];
    char driver_version[128];
    char opencl_c_version[64];
    int opencl_c_major, opencl_c_minor;
    unsigned compute_units;
    uint64_t global_mem_bytes;
    uint64_t local_mem_bytes;
    uint64_t max_alloc_bytes;
    size_t max_work_group_size;
    unsigned native_vector_width_float; /* CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT: floats a vector
                                         * register holds (8 with AVX2, 16 with AVX-512) */
    int fp64;
    cl_platform_id platform;
    cl_device_id device;
} gc_device_info;

/* Lists every device of every platform. A platform without devices counts as zero devices.
 * No platform at all (no ICD installed) gives an empty list, not an error. */
gc_status gc_devices_list(gc_device_info **devices_out, size_t *count_out);
void gc_devices_free(gc_device_info *devices);
/* The class whose kernel shapes (tiles, rows a work-item takes) a device gets, for registers
 * and vector units alike: "cpu-avx512" (CPUs whose native float vector has 16 lanes: 32
 * registers of 512 bits), "cpu-avx2" (8 lanes or fewer: 16 registers of 256 bits; also SSE and
 * NEON CPUs, until they have measured values of their own), "gpu" (GPUs and accelerators). */
const char *gc_device_class(const gc_device_info *device);
const char *gc_device_kind_name(gc_device_kind kind); /* "GPU", "CPU", ... */

/* The kernel sets (docs/kernels.md): "cpu", shaped for a CPU's vector units, and "gpu", shaped
 * for many work-items tiled in local memory. The one a device gets unless asked otherwise:
 * "gpu" for the class "gpu" (GPUs and accelerators, integrated graphics included), else "cpu". */
const char *gc_device_kernel_set(const gc_device_info *device);
/* The kernel set asked for: GLOWCL_KERNELS when it is set and not empty, else `requested` (a
 * gc_runtime_options.kernels or a flag, which `source` names in messages, e.g. "--kernels").
 * "cpu" or "gpu" (in any case) gives that name in *set_out; "auto", NULL or "" gives NULL (each
 * device gets its own). Other text in either is GC_ERR_ARGUMENT, with a message naming the
 * text, where it came from and the values allowed. */
gc_status gc_kernel_set_requested(const char *requested, const char *source, const char **set_out);

/* What the user asked for on the command line or in GLOWCL_DEVICE. All fields optional. */
typedef struct gc_device_request {
    int reference;      /* 1: the plain C path, no OpenCL */
    int platform;       /* -1: any; else restrict to this platform index */
    const char *device; /* "N" (index in the full list), "P:D", or a name substring */
    const char *type;   /* "gpu", "cpu", "accelerator", "all" or NULL */
} gc_device_request;

#define GC_DEVICE_REQUEST_DEFAULT                                                                  \
    {                                                                                              \
        0, -1, NULL, NULL                                                                          \
    }

/* Ranks the devices that match the request, best first: GPU > accelerator > CPU, discrete
 * before integrated, newer OpenCL C, more global memory, then list order. `explicit_out` is set
 * when the request names one device (it must then never be replaced by another). Writes at most
 * `count` indices into `order_out`. A request that matches nothing is GC_ERR_NO_DEVICE with a
 * message saying what was asked for. */
gc_status gc_device_rank(const gc_device_info *devices, size_t count,
                         const gc_device_request *request, size_t *order_out,
                         size_t *order_count_out, int *explicit_out);

typedef enum gc_backend {
    GC_BACKEND_REFERENCE,
    GC_BACKEND_OPENCL,
} gc_backend;

typedef struct gc_runtime gc_runtime;

typedef struct gc_runtime_options {
    gc_device_request request;
    FILE *log;                       /* start-up line, warnings and build logs; NULL: silent */
    const char *extra_build_options; /* appended to the OpenCL build options, may be NULL */
    /* Kernel shapes "NAME=value,..." (GLOWCL_SHAPES's form), may be NULL. A device's shapes are
     * its class's defaults, then what `glowcl bench --tune` cached for it (unless
     * GLOWCL_TUNE=off), then these, then GLOWCL_SHAPES: each overrides the ones before. */
    const char *shapes;
    /* The kernel set, "auto" (or NULL: the device's class decides), "cpu" or "gpu";
     * GLOWCL_KERNELS overrides it. */
    const char *kernels;
} gc_runtime_options;

/* How a runtime builds one of its programs: what tools/gpu-regs.sh needs to build the kernels the
 * same way outside glowcl (`glowcl devices --build-options`). */
enum { GC_PROGRAM_HEADERS_MAX = 4, GC_BUILD_OPTIONS_MAX = 1024 };
typedef struct gc_program_build {
    const char *file;                            /* its kernel file of cl/, e.g. "conv.cl" */
    const char *headers[GC_PROGRAM_HEADERS_MAX]; /* the .clh files put in front of it, in order;
                                                  * NULL after the last */
    const char *kernel_set;                      /* the set they build: "cpu" or "gpu" */
    char options[GC_BUILD_OPTIONS_MAX];          /* its whole build options */
} gc_program_build;

/* Every program a runtime builds, in order, on a device of class `device_class` (the names of
 * gc_device_class) with the kernel set `kernel_set` ("cpu", "gpu", or NULL: the class's own),
 * with the class's kernel shapes and GLOWCL_SHAPES over them (a device's tuner cache is not
 * read: it belongs to one device). GC_ERR_ARGUMENT for an unknown class or set. Free the list
 * with gc_program_builds_free. */
gc_status gc_program_builds(const char *device_class, const char *kernel_set,
                            gc_program_build **builds_out, size_t *count_out);
void gc_program_builds_free(gc_program_build *builds);

/* Opens the requested device (or the best one), builds every kernel for it and creates one
 * in-order queue. If the kernels fail to build on a device chosen by default, the build log is
 * written to `log` and the next device is tried, ending at the reference path with a warning; an
 * explicitly chosen device fails instead (GC_ERR_BUILD). */
gc_status gc_runtime_open(gc_runtime **runtime_out, const gc_runtime_options *options);
gc_status gc_runtime_open_reference(gc_runtime **runtime_out);
void gc_runtime_close(gc_runtime *runtime);

gc_backend gc_runtime_backend(const gc_runtime *runtime);
/* One line naming the device, e.g. "OpenCL device 0: pthread-... (CPU, PoCL 3.1)". */
const char *gc_runtime_description(const gc_runtime *runtime);
/* NULL for the reference runtime. */
const gc_device_info *gc_runtime_device(const gc_runtime *runtime);
cl_context gc_runtime_context(const gc_runtime *runtime);
cl_command_queue gc_runtime_queue(const gc_runtime *runtime);

/* Bytes held by the runtime's tensors now and at most so far (device memory on OpenCL, host
 * memory on the reference path); driver and library scratch is not counted. */
void gc_runtime_tensor_memory(const gc_runtime *runtime, size_t *current, size_t *peak);

/* Waits for everything queued so far. */
gc_status gc_runtime_finish(gc_runtime *runtime);

/* The name of an OpenCL or CLBlast error code: "CL_INVALID_WORK_GROUP_SIZE". */
const char *gc_cl_error_name(int code);

#ifdef __cplusplus
}
#endif

#endif
