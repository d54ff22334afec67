/* What the library's source files share and users do not see: the runtime's insides, the kernel
 * table and the checked OpenCL call and launch helpers. */
#ifndef GLOWCL_INTERNAL_H
#define GLOWCL_INTERNAL_H

#include "core/shapes.h"
#include "glowcl/runtime.h"
#include "glowcl/tensor.h"

typedef struct gc_kernel {
    char name[64];
    cl_kernel kernel;
    cl_uint arg_count;      /* CL_KERNEL_NUM_ARGS: what every launch must give */
    size_t work_group_size; /* CL_KERNEL_WORK_GROUP_SIZE: the most this kernel can launch with */
    int optimiser_update;   /* adam_step or adamax_step: GLOWCL_FAULT_AT_STEP counts these */
    /* With GLOWCL_PROFILE set: launches, their device time, the fewest and most work-items a
     * launch ran (the global size rounded up to whole groups), the smallest and largest
     * work-group given (the product of the local sizes), and the launches that gave none and
     * left it to the driver: how well a launch fills a device is half of its profile. */
    unsigned long launches;
    double device_seconds;
    size_t items_min, items_max;
    size_t group_min, group_max;
    unsigned long driver_group_launches;
} gc_kernel;

/* Work-group size of element-wise kernels: PoCL pays ~0.3 µs per work-group on a CPU (a fill of
 * 87k floats: 29 µs with 64, 9 µs with 1024); gc_launch shrinks it where a device allows less. */
enum { GC_ELEMENTWISE_LOCAL = 1024 };

/* The first element of each of `count` (at most GC_READ_FIRSTS_MAX) tensors, with one wait for
 * all of them: each blocking read is a round trip to the device (~35 µs on PoCL). */
enum { GC_READ_FIRSTS_MAX = 8 };
gc_status gc_tensor_read_firsts(const gc_tensor *const *tensors, size_t count, double *values);

/* Grows `t` (if needed) to at least `rows` × `cols` elements on `rt`; contents are lost. */
gc_status gc_scratch_reserve(gc_tensor *t, gc_runtime *rt, size_t rows, size_t cols);

/* Scratch tensors shared on a runtime, one per key: what uses one defines its key (a static
 * gc_scratch_key, known by its address) and gets the same tensor on every call, grown to at
 * least rows × cols elements. Ops that hold nothing in a scratch tensor from one call to the
 * next (each call recomputes what it needs) share it, so a model needs one op's scratch
 * instead of one per op: for the default image Glow at batch 16 that is ~34 MB instead of
 * ~0.7 GB. Fetch the pointer on every call: the tensor's buffer changes when another op grows
 * it. The runtime releases them when it closes. */
typedef struct gc_scratch_key {
    const char *what; /* for a reader; the address is the key */
} gc_scratch_key;
gc_status gc_scratch(gc_runtime *rt, const gc_scratch_key *key, size_t rows, size_t cols,
                     gc_tensor **out);
void gc_scratch_release_all(gc_runtime *rt);

/* Test-only fault injection (OpenCL backend), set from the environment when the runtime opens,
 * so tests can show what glowcl does when a device fails, which no real device here does on
 * demand:
 *   GLOWCL_FAULT_AT_STEP=N (N >= 2): the first kernel launch after the (N-1)th optimiser update
 *     fails with CL_DEVICE_NOT_AVAILABLE, and so does every later launch, transfer and finish,
 *     as if the device had been lost in training step N; "N:once" fails that one launch only
 *     (a device that comes back, so the last good step can be read and saved).
 *   GLOWCL_FAULT_DEVICE_MEMORY=BYTES: a tensor that would take the buffers glowcl holds past
 *     BYTES fails at its first use with CL_MEM_OBJECT_ALLOCATION_FAILURE, as PoCL (which
 *     allocates lazily) reports a device out of memory. */
typedef struct gc_device_faults {
    long lost_at_step;
    int lost_once;
    long updates_launched;
    int fired, lost;
    size_t memory_limit; /* 0: none */
} gc_device_faults;

/* GC_OK, or the injected CL_DEVICE_NOT_AVAILABLE for `call` once the device counts as lost. */
gc_status gc_device_fault_check(gc_runtime *rt, const char *call);

/* The message of a device allocation that failed (at clCreateBuffer, or at the first use of a
 * lazily allocated buffer): the size, the device, the error and what to do about it. */
gc_status gc_device_memory_error(const gc_runtime *rt, size_t bytes, const char *error_name);

/* The kernels of cl/tensor.cl that core launches, looked up once when the runtime opens
 * (all NULL on the reference backend). */
typedef struct gc_core_kernels {
    gc_kernel *fill, *scale, *axpy, *mul, *channel_sum, *channel_moments, *accumulate_columns;
} gc_core_kernels;

struct gc_runtime {
    gc_backend backend;
    char description[512];
    gc_device_info device; /* valid for the OpenCL backend */
    cl_context context;
    cl_command_queue queue;
    cl_program *programs;
    int program_count;
    gc_kernel *kernels;
    size_t kernel_count;
    gc_core_kernels core;
    gc_kernel_shapes shapes;  /* the kernels' shape parameters, given to them as -D options */
    gc_kernel_set kernel_set; /* which kernels launch (shapes.h) */
    void *gemm_state;         /* per-runtime state of the GEMM implementation */
    size_t tensor_bytes, tensor_bytes_peak; /* held by live tensors, and its high-water mark */
    struct gc_scratch_entry *scratch;       /* gc_scratch's tensors, a list */
    int profile;             /* GLOWCL_PROFILE set: time every launch, print a table when closing */
    cl_int launch_error;     /* the OpenCL code of the last launch that failed to enqueue */
    gc_device_faults faults; /* test-only fault injection, read from the environment */
    /* Oclgrind's uninitialised-value checker (21.10) keeps the record of which bytes were
     * written per buffer index, and a freed buffer's index goes to the next buffer created:
     * the new buffer inherits the old one's record, of the old size (kernel stores past it
     * are not recorded). Only a host write starts a fresh record, sized to that write. So on
     * Oclgrind every tensor is zeroed by a host write of the whole buffer, and a write of part
     * of a tensor is made a write of all of it; elsewhere neither costs anything. */
    int whole_buffer_host_writes;
};

/* Turns an OpenCL return code into a status with the call's name and error symbol. */
gc_status gc_cl_check(cl_int code, const char *call, const char *file, int line);
#define GC_CL(fn, ...) gc_cl_check((fn)(__VA_ARGS__), #fn, __FILE__, __LINE__)
#define GC_CL_TRY(fn, ...) GC_TRY(GC_CL(fn, __VA_ARGS__))

/* Looks a kernel up by name, once, when what launches it is created (the runtime's kernel
 * table does not move after the runtime opens, so the pointer stays valid until it closes).
 * On the reference backend, which has no kernels, sets NULL and succeeds; on OpenCL a name no
 * embedded program defines is GC_ERR_UNSUPPORTED. */
gc_status gc_kernel_find(gc_runtime *rt, const char *name, gc_kernel **kernel_out);

/* One kernel argument, typed where the launch is written (see GC_LAUNCH). */
typedef enum gc_arg_kind {
    GC_ARG_MEM,
    GC_ARG_U32,
    GC_ARG_I32,
    GC_ARG_F32,
    GC_ARG_LOCAL
} gc_arg_kind;
typedef struct gc_arg {
    gc_arg_kind kind;
    union {
        cl_mem mem;
        size_t u32;   /* checked to fit 32 bits at the launch */
        long i32;     /* likewise */
        double f32;   /* rounded to float */
        size_t local; /* bytes of local memory */
    } value;
} gc_arg;

#define GC_MEM(tensor) ((gc_arg){GC_ARG_MEM, {.mem = (tensor)->buffer}})
#define GC_BUF(buffer) ((gc_arg){GC_ARG_MEM, {.mem = (buffer)}})
#define GC_U32(x) ((gc_arg){GC_ARG_U32, {.u32 = (size_t)(x)}})
#define GC_I32(x) ((gc_arg){GC_ARG_I32, {.i32 = (long)(x)}})
#define GC_F32(x) ((gc_arg){GC_ARG_F32, {.f32 = (double)(x)}})
#define GC_LOCAL(bytes) ((gc_arg){GC_ARG_LOCAL, {.local = (size_t)(bytes)}})

/* Sets `kernel`'s `count` arguments and enqueues it over `global` work-items in each of `dims`
 * dimensions. The count must be the kernel's, and every GC_U32 and GC_I32 value must fit 32
 * bits (GC_ERR_ARGUMENT naming the kernel and the argument otherwise). `local` may be NULL
 * (the driver chooses); otherwise each local size is shrunk to what the kernel allows and the
 * global size rounded up to a multiple of it, so kernels must bounds-check their ids. */
gc_status gc_launch(gc_runtime *rt, const gc_kernel *kernel, int dims, const size_t *global,
                    const size_t *local, const gc_arg *args, size_t count);

/* gc_launch with the arguments written out: GC_LAUNCH(rt, kernel, 2, global, NULL, GC_MEM(x),
 * GC_U32(n)); GC_LAUNCH1D for one dimension with a local size. */
#define GC_LAUNCH(rt, kernel, dims, global, local, ...)                                            \
    gc_launch((rt), (kernel), (dims), (global), (local), (const gc_arg[]){__VA_ARGS__},            \
              sizeof((const gc_arg[]){__VA_ARGS__}) / sizeof(gc_arg))
#define GC_LAUNCH1D(rt, kernel, global, local, ...)                                                \
    GC_LAUNCH((rt), (kernel), 1, (const size_t[]){(global)}, (const size_t[]){(local)}, __VA_ARGS__)

/* The local size of a one-work-group-per-channel reduction over `parallel` independent pieces
 * (rows, or elements) holding `elements` numbers in all: a power of two up to 256, with at
 * least 32 numbers a work-item and no more work-items than pieces. PoCL runs every region
 * between barriers as a loop over the work-group, so a 256-wide tree over 256 numbers (the
 * 2-D Glow's ActNorm and loss sums) costs several times the sums themselves. The same shape
 * gives the same tree on every call, so results repeat bit for bit. */
size_t gc_reduction_local_size(const gc_kernel *kernel, size_t parallel, size_t elements);

#endif
