/* Tensors on both backends. Each operation has its reference version (double loops, the
 * specification) beside its OpenCL launch (cl/tensor.cl); tests compare the two. */
#include "glowcl/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

/* Transfers convert double ↔ float through a host buffer of at most this many floats (4 MiB),
 * so that moving a 22 M-parameter model does not need another 88 MB at once. */
enum { STAGING_FLOATS = 1 << 20 };

static int is_reference(const gc_tensor *t) { return t->rt->backend == GC_BACKEND_REFERENCE; }

static size_t element_bytes(const gc_runtime *rt)
{
    return rt->backend == GC_BACKEND_REFERENCE ? sizeof(double) : sizeof(cl_float);
}

/* Keeps the runtime's count of tensor memory, for benchmarks and memory reports. */
static void count_bytes(gc_runtime *rt, size_t count, int allocated)
{
    size_t bytes = count * element_bytes(rt);
    rt->tensor_bytes = allocated ? rt->tensor_bytes + bytes : rt->tensor_bytes - bytes;
    if (rt->tensor_bytes > rt->tensor_bytes_peak) rt->tensor_bytes_peak = rt->tensor_bytes;
}

/* A new buffer's zeros: by the fill kernel, or by a host write where the runtime asks for
 * whole-buffer host writes (Oclgrind, see internal.h). */
static gc_status zero_new_buffer(gc_tensor *t)
{
    if (!t->rt->whole_buffer_host_writes) return gc_tensor_fill(t, 0.0);
    float *zeros = calloc(t->count, sizeof *zeros);
    if (!zeros) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_status status = GC_CL(clEnqueueWriteBuffer, t->rt->queue, t->buffer, CL_TRUE, 0,
                             t->count * sizeof *zeros, zeros, 0, NULL, NULL);
    free(zeros);
    return status;
}

gc_status gc_tensor_init(gc_tensor *t, gc_runtime *rt, int ndim, const size_t *shape)
{
    memset(t, 0, sizeof *t);
    if (ndim < 1 || ndim > GC_TENSOR_MAX_DIMS)
        return GC_ERROR(GC_ERR_ARGUMENT, "tensor rank %d outside 1..%d", ndim, GC_TENSOR_MAX_DIMS);
    size_t count = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 0) return GC_ERROR(GC_ERR_ARGUMENT, "tensor dimension %d is zero", d);
        if (count > ((size_t)1 << 32) / shape[d])
            return GC_ERROR(GC_ERR_ARGUMENT, "tensor of more than 2^32 elements");
        count *= shape[d];
        t->shape[d] = shape[d];
    }
    t->rt = rt;
    t->ndim = ndim;
    t->count = count;
    if (rt->backend == GC_BACKEND_REFERENCE) {
        t->host = calloc(count, sizeof *t->host);
        if (!t->host)
            return GC_ERROR(GC_ERR_MEMORY, "cannot allocate %zu bytes of host memory",
                            count * sizeof *t->host);
        count_bytes(rt, count, 1);
        return GC_OK;
    }
    cl_int err = CL_SUCCESS;
    size_t bytes = count * sizeof(cl_float);
    t->buffer = clCreateBuffer(rt->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS) return gc_device_memory_error(rt, bytes, gc_cl_error_name(err));
    /* PoCL allocates a buffer's memory at its first use, here the fill, so a device out of
     * memory may say so only now; the message names this buffer all the same. */
    size_t limit = rt->faults.memory_limit;
    int injected = limit && rt->tensor_bytes + bytes > limit;
    gc_status status = injected ? GC_ERR_MEMORY : zero_new_buffer(t);
    if (status == GC_ERR_MEMORY) {
        char error[128];
        snprintf(error, sizeof error, "%s at first use%s",
                 gc_cl_error_name(injected ? CL_MEM_OBJECT_ALLOCATION_FAILURE : rt->launch_error),
                 injected ? " (injected by GLOWCL_FAULT_DEVICE_MEMORY)" : "");
        status = gc_device_memory_error(rt, bytes, error);
    }
    count_bytes(rt, count, 1);
    if (status != GC_OK) gc_tensor_release(t);
    return status;
}

gc_status gc_tensor_init1(gc_tensor *t, gc_runtime *rt, size_t n0)
{
    return gc_tensor_init(t, rt, 1, &n0);
}

gc_status gc_tensor_init2(gc_tensor *t, gc_runtime *rt, size_t n0, size_t n1)
{
    size_t shape[2] = {n0, n1};
    return gc_tensor_init(t, rt, 2, shape);
}

void gc_tensor_release(gc_tensor *t)
{
    if (!t) return;
    if (t->host || t->buffer) count_bytes(t->rt, t->count, 0);
    free(t->host);
    if (t->buffer) clReleaseMemObject(t->buffer);
    memset(t, 0, sizeof *t);
}

static gc_status check_range(const gc_tensor *t, size_t offset, size_t count)
{
    if (offset > t->count || count > t->count - offset)
        return GC_ERROR(GC_ERR_ARGUMENT, "range %zu+%zu outside a tensor of %zu elements", offset,
                        count, t->count);
    return GC_OK;
}

/* Part of a tensor written as a write of all of it: read, patched, written back in one
 * piece (for runtimes that ask for whole-buffer host writes, see internal.h). */
static gc_status write_whole(gc_tensor *t, size_t offset, const double *values, size_t count)
{
    double *all = malloc(t->count * sizeof *all);
    if (!all) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_status status = gc_tensor_read(t, 0, all, t->count);
    if (status == GC_OK) {
        memcpy(all + offset, values, count * sizeof *values);
        status = gc_tensor_write(t, 0, all, t->count);
    }
    free(all);
    return status;
}

gc_status gc_tensor_write(gc_tensor *t, size_t offset, const double *values, size_t count)
{
    GC_TRY(check_range(t, offset, count));
    if (count == 0) return GC_OK;
    if (is_reference(t)) {
        memcpy(t->host + offset, values, count * sizeof *values);
        return GC_OK;
    }
    int whole = t->rt->whole_buffer_host_writes;
    if (whole && count != t->count) return write_whole(t, offset, values, count);
    GC_TRY(gc_device_fault_check(t->rt, "clEnqueueWriteBuffer"));
    size_t chunk = whole || count < STAGING_FLOATS ? count : STAGING_FLOATS;
    float *staging = malloc(chunk * sizeof *staging);
    if (!staging) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_status status = GC_OK;
    for (size_t done = 0; status == GC_OK && done < count; done += chunk) {
        size_t part = count - done < chunk ? count - done : chunk;
        for (size_t i = 0; i < part; i++) staging[i] = (float)values[done + i];
        status = GC_CL(clEnqueueWriteBuffer, t->rt->queue, t->buffer, CL_TRUE,
                       (offset + done) * sizeof *staging, part * sizeof *staging, staging, 0, NULL,
                       NULL);
    }
    free(staging);
    return status;
}

gc_status gc_tensor_read(const gc_tensor *t, size_t offset, double *values, size_t count)
{
    GC_TRY(check_range(t, offset, count));
    if (count == 0) return GC_OK;
    if (is_reference(t)) {
        memcpy(values, t->host + offset, count * sizeof *values);
        return GC_OK;
    }
    GC_TRY(gc_device_fault_check(t->rt, "clEnqueueReadBuffer"));
    size_t chunk = count < STAGING_FLOATS ? count : STAGING_FLOATS;
    float *staging = malloc(chunk * sizeof *staging);
    if (!staging) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_status status = GC_OK;
    for (size_t done = 0; status == GC_OK && done < count; done += chunk) {
        size_t part = count - done < chunk ? count - done : chunk;
        status = GC_CL(clEnqueueReadBuffer, t->rt->queue, t->buffer, CL_TRUE,
                       (offset + done) * sizeof *staging, part * sizeof *staging, staging, 0, NULL,
                       NULL);
        for (size_t i = 0; status == GC_OK && i < part; i++) values[done + i] = staging[i];
    }
    free(staging);
    return status;
}

gc_status gc_tensor_read_firsts(const gc_tensor *const *tensors, size_t count, double *values)
{
    float floats[GC_READ_FIRSTS_MAX];
    if (count == 0) return GC_OK;
    if (count > GC_READ_FIRSTS_MAX)
        return GC_ERROR(GC_ERR_ARGUMENT, "gc_tensor_read_firsts: %zu tensors, at most %d", count,
                        (int)GC_READ_FIRSTS_MAX);
    for (size_t i = 0; i < count; i++) {
        GC_TRY(check_range(tensors[i], 0, 1));
        if (tensors[i]->rt != tensors[0]->rt)
            return GC_ERROR(GC_ERR_ARGUMENT, "gc_tensor_read_firsts: tensors on two runtimes");
    }
    if (is_reference(tensors[0])) {
        for (size_t i = 0; i < count; i++) values[i] = tensors[i]->host[0];
        return GC_OK;
    }
    /* Non-blocking reads and one wait for all of them, instead of a round trip each. */
    cl_command_queue queue = tensors[0]->rt->queue;
    gc_status status = GC_OK;
    for (size_t i = 0; status == GC_OK && i < count; i++)
        status = GC_CL(clEnqueueReadBuffer, queue, tensors[i]->buffer, CL_FALSE, 0,
                       sizeof floats[i], &floats[i], 0, NULL, NULL);
    /* Even after a failed enqueue, the reads already enqueued must finish before `floats`
     * goes out of scope. */
    gc_status finished = GC_CL(clFinish, queue);
    if (status == GC_OK) status = finished;
    for (size_t i = 0; status == GC_OK && i < count; i++) values[i] = floats[i];
    return status;
}

gc_status gc_tensor_upload(gc_tensor *t, const double *values)
{
    return gc_tensor_write(t, 0, values, t->count);
}

gc_status gc_tensor_download(const gc_tensor *t, double *values)
{
    return gc_tensor_read(t, 0, values, t->count);
}

static gc_status same_count(const gc_tensor *a, const gc_tensor *b, const char *what)
{
    if (a->count != b->count || a->rt != b->rt)
        return GC_ERROR(GC_ERR_ARGUMENT,
                        "%s: tensors of %zu and %zu elements (or on different "
                        "runtimes)",
                        what, a->count, b->count);
    return GC_OK;
}

gc_status gc_tensor_fill(gc_tensor *t, double value)
{
    if (is_reference(t)) {
        for (size_t i = 0; i < t->count; i++) t->host[i] = value;
        return GC_OK;
    }
    return GC_LAUNCH1D(t->rt, t->rt->core.fill, t->count, GC_ELEMENTWISE_LOCAL, GC_MEM(t),
                       GC_F32(value), GC_U32(t->count));
}

gc_status gc_tensor_copy(gc_tensor *dst, const gc_tensor *src)
{
    GC_TRY(same_count(dst, src, "gc_tensor_copy"));
    if (is_reference(dst)) {
        memcpy(dst->host, src->host, src->count * sizeof *src->host);
        return GC_OK;
    }
    return GC_CL(clEnqueueCopyBuffer, dst->rt->queue, src->buffer, dst->buffer, 0, 0,
                 src->count * sizeof(cl_float), 0, NULL, NULL);
}

gc_status gc_tensor_scale(gc_tensor *t, double alpha)
{
    if (is_reference(t)) {
        for (size_t i = 0; i < t->count; i++) t->host[i] *= alpha;
        return GC_OK;
    }
    return GC_LAUNCH1D(t->rt, t->rt->core.scale, t->count, GC_ELEMENTWISE_LOCAL, GC_MEM(t),
                       GC_F32(alpha), GC_U32(t->count));
}

gc_status gc_tensor_axpy(gc_tensor *y, double alpha, const gc_tensor *x)
{
    GC_TRY(same_count(y, x, "gc_tensor_axpy"));
    if (is_reference(y)) {
        for (size_t i = 0; i < y->count; i++) y->host[i] += alpha * x->host[i];
        return GC_OK;
    }
    return GC_LAUNCH1D(y->rt, y->rt->core.axpy, y->count, GC_ELEMENTWISE_LOCAL, GC_MEM(y),
                       GC_F32(alpha), GC_MEM(x), GC_U32(y->count));
}

gc_status gc_tensor_mul(gc_tensor *out, const gc_tensor *a, const gc_tensor *b)
{
    GC_TRY(same_count(out, a, "gc_tensor_mul"));
    GC_TRY(same_count(out, b, "gc_tensor_mul"));
    if (is_reference(out)) {
        for (size_t i = 0; i < out->count; i++) out->host[i] = a->host[i] * b->host[i];
        return GC_OK;
    }
    return GC_LAUNCH1D(out->rt, out->rt->core.mul, out->count, GC_ELEMENTWISE_LOCAL, GC_MEM(out),
                       GC_MEM(a), GC_MEM(b), GC_U32(out->count));
}

static gc_status check_layout(const gc_tensor *x, size_t outer, size_t channels, size_t inner,
                              const gc_tensor *per_channel)
{
    if (outer * channels * inner > x->count || outer * channels * inner == 0)
        return GC_ERROR(GC_ERR_ARGUMENT,
                        "layout %zu x %zu x %zu does not match a tensor of %zu "
                        "elements",
                        outer, channels, inner, x->count);
    if (per_channel->count < channels || per_channel->rt != x->rt)
        return GC_ERROR(GC_ERR_ARGUMENT, "per-channel output has %zu elements, expected %zu",
                        per_channel->count, channels);
    return GC_OK;
}

/* Launches one work-group per channel of a tree reduction kernel whose work-items share
 * `parallel` pieces of a channel: the channel sum, or with out2 the moments. */
static gc_status run_channel_reduction(const gc_tensor *out1, const gc_tensor *out2,
                                       const gc_tensor *x, size_t outer, size_t channels,
                                       size_t inner, unsigned squared, size_t parallel)
{
    gc_runtime *rt = x->rt;
    const gc_kernel *kernel = out2 ? rt->core.channel_moments : rt->core.channel_sum;
    size_t local = gc_reduction_local_size(kernel, parallel, outer * inner);
    size_t scratch = local * sizeof(cl_float), global = channels * local;
    if (out2)
        return GC_LAUNCH(rt, kernel, 1, &global, &local, GC_MEM(out1), GC_MEM(out2), GC_MEM(x),
                         GC_U32(outer), GC_U32(channels), GC_U32(inner), GC_LOCAL(scratch));
    return GC_LAUNCH(rt, kernel, 1, &global, &local, GC_MEM(out1), GC_MEM(x), GC_U32(outer),
                     GC_U32(channels), GC_U32(inner), GC_U32(squared), GC_LOCAL(scratch));
}

static gc_status channel_sum(gc_tensor *sum, const gc_tensor *x, size_t outer, size_t channels,
                             size_t inner, unsigned squared)
{
    GC_TRY(check_layout(x, outer, channels, inner, sum));
    if (is_reference(x)) {
        for (size_t c = 0; c < channels; c++) {
            double total = 0.0;
            for (size_t o = 0; o < outer; o++)
                for (size_t i = 0; i < inner; i++) {
                    double v = x->host[(o * channels + c) * inner + i];
                    total += squared ? v * v : v;
                }
            sum->host[c] = total;
        }
        return GC_OK;
    }
    /* One channel's elements are split evenly among the work-items, else whole rows. */
    return run_channel_reduction(sum, NULL, x, outer, channels, inner, squared,
                                 channels == 1 ? outer * inner : outer);
}

gc_status gc_tensor_channel_sum(gc_tensor *sum, const gc_tensor *x, size_t outer, size_t channels,
                                size_t inner)
{
    return channel_sum(sum, x, outer, channels, inner, 0);
}

gc_status gc_tensor_sum_squares(gc_tensor *out, const gc_tensor *x, size_t count)
{
    return channel_sum(out, x, count, 1, 1, 1);
}

gc_status gc_tensor_channel_moments(gc_tensor *mean, gc_tensor *var, const gc_tensor *x,
                                    size_t outer, size_t channels, size_t inner)
{
    GC_TRY(check_layout(x, outer, channels, inner, mean));
    GC_TRY(check_layout(x, outer, channels, inner, var));
    if (is_reference(x)) {
        double count = (double)(outer * inner);
        for (size_t c = 0; c < channels; c++) {
            double total = 0.0;
            for (size_t o = 0; o < outer; o++)
                for (size_t i = 0; i < inner; i++) total += x->host[(o * channels + c) * inner + i];
            double m = total / count;
            double squares = 0.0;
            for (size_t o = 0; o < outer; o++)
                for (size_t i = 0; i < inner; i++) {
                    double d = x->host[(o * channels + c) * inner + i] - m;
                    squares += d * d;
                }
            mean->host[c] = m;
            var->host[c] = squares / count;
        }
        return GC_OK;
    }
    return run_channel_reduction(mean, var, x, outer, channels, inner, 0, outer * inner);
}

gc_status gc_tensor_accumulate_columns(gc_tensor *dst, size_t offset, const gc_tensor *src,
                                       size_t rows, size_t cols, double scale)
{
    GC_TRY(check_range(dst, offset, cols));
    if (rows * cols > src->count)
        return GC_ERROR(GC_ERR_ARGUMENT, "%zu x %zu rows outside a tensor of %zu elements", rows,
                        cols, src->count);
    if (is_reference(dst)) {
        for (size_t c = 0; c < cols; c++) {
            double total = 0.0;
            for (size_t r = 0; r < rows; r++) total += src->host[r * cols + c];
            dst->host[offset + c] += scale * total;
        }
        return GC_OK;
    }
    return GC_LAUNCH1D(dst->rt, dst->rt->core.accumulate_columns, cols, GC_ELEMENTWISE_LOCAL,
                       GC_MEM(dst), GC_U32(offset), GC_MEM(src), GC_U32(rows), GC_U32(cols),
                       GC_F32(scale));
}

gc_status gc_tensor_sum_batch(gc_tensor *out, const gc_tensor *x)
{
    if (x->ndim != 2)
        return GC_ERROR(GC_ERR_ARGUMENT, "gc_tensor_sum_batch wants an (N, D) tensor");
    return gc_tensor_channel_sum(out, x, x->shape[0], x->shape[1], 1);
}

gc_status gc_scratch_reserve(gc_tensor *t, gc_runtime *rt, size_t rows, size_t cols)
{
    if (t->rt == rt && t->count >= rows * cols) return GC_OK;
    gc_tensor_release(t);
    return gc_tensor_init2(t, rt, rows, cols);
}

/* One of gc_scratch's tensors; a list, so that a tensor never moves once handed out. */
struct gc_scratch_entry {
    const gc_scratch_key *key;
    gc_tensor tensor;
    struct gc_scratch_entry *next;
};

gc_status gc_scratch(gc_runtime *rt, const gc_scratch_key *key, size_t rows, size_t cols,
                     gc_tensor **out)
{
    struct gc_scratch_entry *entry = rt->scratch;
    while (entry && entry->key != key) entry = entry->next;
    if (!entry) {
        entry = calloc(1, sizeof *entry);
        if (!entry) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
        entry->key = key;
        entry->next = rt->scratch;
        rt->scratch = entry;
    }
    GC_TRY(gc_scratch_reserve(&entry->tensor, rt, rows, cols));
    *out = &entry->tensor;
    return GC_OK;
}

void gc_scratch_release_all(gc_runtime *rt)
{
    while (rt->scratch) {
        struct gc_scratch_entry *next = rt->scratch->next;
        gc_tensor_release(&rt->scratch->tensor);
        free(rt->scratch);
        rt->scratch = next;
    }
}
