/* The checked OpenCL calls and kernel launches every OpenCL path uses: errors by name, the
 * kernel lookup, typed arguments, the launch itself, and the test-only device faults. */
#include <stdint.h>
#include <string.h>

#include "core/internal.h"

gc_status gc_cl_check(cl_int code, const char *call, const char *file, int line)
{
    if (code == CL_SUCCESS) return GC_OK;
    gc_status status = GC_ERR_OPENCL;
    if (code == CL_MEM_OBJECT_ALLOCATION_FAILURE || code == CL_OUT_OF_HOST_MEMORY ||
        code == CL_INVALID_BUFFER_SIZE)
        status = GC_ERR_MEMORY;
    return gc_error_set(status, file, line, "%s failed: %s", call, gc_cl_error_name(code));
}

static gc_status injected_device_loss(const char *call)
{
    return GC_ERROR(GC_ERR_OPENCL,
                    "%s failed: CL_DEVICE_NOT_AVAILABLE (injected by "
                    "GLOWCL_FAULT_AT_STEP)",
                    call);
}

gc_status gc_device_fault_check(gc_runtime *rt, const char *call)
{
    return rt->faults.lost ? injected_device_loss(call) : GC_OK;
}

/* GLOWCL_FAULT_AT_STEP: counts optimiser updates and fails the launch it names. */
static gc_status inject_launch_fault(gc_runtime *rt, const gc_kernel *kernel)
{
    gc_device_faults *f = &rt->faults;
    if (f->lost) return injected_device_loss(kernel->name);
    if (f->lost_at_step == 0) return GC_OK;
    if (!f->fired && f->updates_launched == f->lost_at_step - 1) {
        f->fired = 1;
        f->lost = !f->lost_once;
        return injected_device_loss(kernel->name);
    }
    if (kernel->optimiser_update) f->updates_launched++;
    return GC_OK;
}

gc_status gc_device_memory_error(const gc_runtime *rt, size_t bytes, const char *error_name)
{
    return GC_ERROR(GC_ERR_MEMORY,
                    "cannot allocate %zu bytes (%.1f MiB) on %s: %s, with %.1f MiB already held "
                    "(a smaller --batch or --memory low needs less)",
                    bytes, (double)bytes / 1048576.0, rt->device.name, error_name,
                    (double)rt->tensor_bytes / 1048576.0);
}

gc_status gc_kernel_find(gc_runtime *rt, const char *name, gc_kernel **kernel_out)
{
    *kernel_out = NULL;
    if (rt->backend != GC_BACKEND_OPENCL) return GC_OK;
    for (size_t i = 0; i < rt->kernel_count; i++) {
        if (strcmp(rt->kernels[i].name, name) == 0) {
            *kernel_out = &rt->kernels[i];
            return GC_OK;
        }
    }
    return GC_ERROR(GC_ERR_UNSUPPORTED, "no OpenCL kernel named %s", name);
}

/* GC_OK, or an error naming the kernel and the argument whose value does not fit 32 bits. */
static gc_status check_32_bits(const gc_kernel *kernel, cl_uint index, const gc_arg *arg)
{
    if (arg->kind == GC_ARG_U32 && arg->value.u32 > UINT32_MAX)
        return GC_ERROR(GC_ERR_ARGUMENT, "kernel %s argument %u: %zu does not fit 32 bits",
                        kernel->name, index, arg->value.u32);
    if (arg->kind == GC_ARG_I32 && (arg->value.i32 > INT32_MAX || arg->value.i32 < INT32_MIN))
        return GC_ERROR(GC_ERR_ARGUMENT, "kernel %s argument %u: %ld does not fit 32 bits",
                        kernel->name, index, arg->value.i32);
    return GC_OK;
}

static gc_status set_args(const gc_kernel *kernel, const gc_arg *args, size_t count)
{
    if (count != kernel->arg_count)
        return GC_ERROR(GC_ERR_ARGUMENT, "kernel %s takes %u arguments, given %zu", kernel->name,
                        kernel->arg_count, count);
    for (cl_uint i = 0; i < count; i++) {
        const gc_arg *arg = &args[i];
        GC_TRY(check_32_bits(kernel, i, arg));
        cl_int err = CL_INVALID_ARG_VALUE;
        switch (arg->kind) {
        case GC_ARG_MEM:
            err = clSetKernelArg(kernel->kernel, i, sizeof arg->value.mem, &arg->value.mem);
            break;
        case GC_ARG_U32: {
            cl_uint value = (cl_uint)arg->value.u32;
            err = clSetKernelArg(kernel->kernel, i, sizeof value, &value);
            break;
        }
        case GC_ARG_I32: {
            cl_int value = (cl_int)arg->value.i32;
            err = clSetKernelArg(kernel->kernel, i, sizeof value, &value);
            break;
        }
        case GC_ARG_F32: {
            cl_float value = (cl_float)arg->value.f32;
            err = clSetKernelArg(kernel->kernel, i, sizeof value, &value);
            break;
        }
        case GC_ARG_LOCAL: err = clSetKernelArg(kernel->kernel, i, arg->value.local, NULL); break;
        }
        if (err != CL_SUCCESS)
            return GC_ERROR(GC_ERR_OPENCL, "clSetKernelArg(%s, %u) failed: %s", kernel->name, i,
                            gc_cl_error_name(err));
    }
    return GC_OK;
}

/* GLOWCL_PROFILE: waits for the launch and adds its device time, its work-items and its
 * work-group size (0: the driver's choice) to the kernel's profile. */
static cl_int profile_launch(gc_kernel *kernel, cl_event event, size_t items, size_t group)
{
    cl_ulong start = 0, end = 0;
    cl_int err = clWaitForEvents(1, &event);
    if (err == CL_SUCCESS)
        err =
            clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_START, sizeof start, &start, NULL);
    if (err == CL_SUCCESS)
        err = clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL);
    clReleaseEvent(event);
    int first = kernel->launches == 0;
    kernel->launches++;
    kernel->device_seconds += (double)(end - start) * 1e-9;
    if (first || items < kernel->items_min) kernel->items_min = items;
    if (first || items > kernel->items_max) kernel->items_max = items;
    if (group == 0) {
        kernel->driver_group_launches++;
    } else {
        int first_group = kernel->launches - kernel->driver_group_launches == 1;
        if (first_group || group < kernel->group_min) kernel->group_min = group;
        if (first_group || group > kernel->group_max) kernel->group_max = group;
    }
    return err;
}

gc_status gc_launch(gc_runtime *rt, const gc_kernel *kernel, int dims, const size_t *global,
                    const size_t *local, const gc_arg *args, size_t count)
{
    GC_TRY(set_args(kernel, args, count));
    size_t rounded[3], group[3];
    size_t budget = kernel->work_group_size ? kernel->work_group_size : 1;
    for (int d = 0; d < dims; d++) {
        if (global[d] == 0) return GC_OK; /* nothing to do; OpenCL rejects empty ranges */
        if (local) {
            /* Shrink by halving so power-of-two tree reductions keep their shape. */
            size_t g = local[d] ? local[d] : 1;
            while (g > 1 && g > budget) g /= 2;
            group[d] = g;
            budget /= g;
            rounded[d] = (global[d] + g - 1) / g * g;
        } else {
            rounded[d] = global[d];
        }
    }
    GC_TRY(inject_launch_fault(rt, kernel));
    cl_event event = NULL;
    cl_int err = clEnqueueNDRangeKernel(rt->queue, kernel->kernel, (cl_uint)dims, NULL, rounded,
                                        local ? group : NULL, 0, NULL, rt->profile ? &event : NULL);
    if (err != CL_SUCCESS) rt->launch_error = err;
    /* A device that allocates at first use (PoCL) reports running out of memory here, for some
     * buffer of the kernel's; the total glowcl holds is the size worth reporting. */
    if (err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES)
        return GC_ERROR(GC_ERR_MEMORY,
                        "clEnqueueNDRangeKernel(%s) failed: %s: %s could not hold glowcl's "
                        "%zu bytes (%.1f MiB) of buffers (a smaller --batch or --memory low "
                        "needs less)",
                        kernel->name, gc_cl_error_name(err), rt->device.name, rt->tensor_bytes,
                        (double)rt->tensor_bytes / 1048576.0);
    if (err == CL_SUCCESS && event) {
        size_t items = 1, group_items = local ? 1 : 0;
        for (int d = 0; d < dims; d++) {
            items *= rounded[d];
            if (local) group_items *= group[d];
        }
        err = profile_launch((gc_kernel *)kernel, event, items, group_items);
    }
    if (err != CL_SUCCESS)
        return GC_ERROR(GC_ERR_OPENCL, "clEnqueueNDRangeKernel(%s) failed: %s", kernel->name,
                        gc_cl_error_name(err));
    return GC_OK;
}

size_t gc_reduction_local_size(const gc_kernel *kernel, size_t parallel, size_t elements)
{
    size_t size = 256;
    while (size > 1 && (size > kernel->work_group_size || size > parallel || size * 32 > elements))
        size /= 2;
    return size;
}
