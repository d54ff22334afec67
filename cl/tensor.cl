/* Elementwise and reduction kernels behind include/glowcl/tensor.h. Reductions use one
 * work-group per channel and a fixed power-of-two tree in local memory, so a given device gives
 * the same bits on every run (OpenCL 1.2 has no float atomics to make it otherwise). */

__kernel void tensor_fill(__global float *x, float value, uint n)
{
    uint i = get_global_id(0);
    if (i < n) x[i] = value;
}

__kernel void tensor_scale(__global float *x, float alpha, uint n)
{
    uint i = get_global_id(0);
    if (i < n) x[i] *= alpha;
}

__kernel void tensor_axpy(__global float *y, float alpha, __global const float *x, uint n)
{
    uint i = get_global_id(0);
    if (i < n) y[i] += alpha * x[i];
}

__kernel void tensor_mul(__global float *out, __global const float *a, __global const float *b,
                         uint n)
{
    uint i = get_global_id(0);
    if (i < n) out[i] = a[i] * b[i];
}

/* x: (outer, channels, inner); one work-group per channel. */
/* squared: sum the squares instead (a gradient's norm). */
/* Σ of `count` contiguous values (or of their squares) in four interleaved partial sums, then
 * those pairwise, then the tail. Scalar, not float8: oclgrind's uninitialised-value checker,
 * which the tensor tests run under, crashes on vector code (Oclgrind issue #126). */
static float sum_run(__global const float *x, uint count, uint squared)
{
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    uint j = 0;
    for (; j + 4 <= count; j += 4) {
        float v0 = x[j], v1 = x[j + 1], v2 = x[j + 2], v3 = x[j + 3];
        a0 += squared ? v0 * v0 : v0;
        a1 += squared ? v1 * v1 : v1;
        a2 += squared ? v2 * v2 : v2;
        a3 += squared ? v3 * v3 : v3;
    }
    float tail = 0.0f;
    for (; j < count; j++) tail += squared ? x[j] * x[j] : x[j];
    return (a0 + a1) + (a2 + a3) + tail;
}

/* A work-group per channel. Each work-item sums whole contiguous runs, so no index is divided
 * per element and the loads are vectors: the rows (o, c, ·) of the channel, or, for a single
 * channel, one contiguous share of the whole tensor. */
__kernel void tensor_channel_sum(__global float *sum, __global const float *x, uint outer,
                                 uint channels, uint inner, uint squared, __local float *scratch)
{
    uint c = get_group_id(0), lid = get_local_id(0), size = get_local_size(0);
    float partial = 0.0f;
    if (channels == 1) {
        uint count = outer * inner, share = (count + size - 1) / size;
        uint begin = min(lid * share, count);
        partial = sum_run(x + begin, min(share, count - begin), squared);
    } else {
        for (uint o = lid; o < outer; o += size)
            partial += sum_run(x + (o * channels + c) * inner, inner, squared);
    }
    float total = group_sum(scratch, partial);
    if (lid == 0) sum[c] = total;
}

__kernel void tensor_channel_moments(__global float *mean, __global float *var,
                                     __global const float *x, uint outer, uint channels, uint inner,
                                     __local float *scratch)
{
    uint c = get_group_id(0);
    uint count = outer * inner;
    float partial = 0.0f;
    for (uint j = get_local_id(0); j < count; j += get_local_size(0))
        partial += channel_element(x, j, c, channels, inner);
    float m = group_sum(scratch, partial) / (float)count;
    partial = 0.0f;
    for (uint j = get_local_id(0); j < count; j += get_local_size(0)) {
        float d = channel_element(x, j, c, channels, inner) - m;
        partial += d * d;
    }
    float v = group_sum(scratch, partial) / (float)count;
    if (get_local_id(0) == 0) {
        mean[c] = m;
        var[c] = v;
    }
}

/* Adds to dst[c] the sum over rows of src (rows, cols) at column c, row by row in order: a fixed
 * order, so the result repeats bit for bit. One work-item per column. */
__kernel void accumulate_columns(__global float *dst, uint dst_offset, __global const float *src,
                                 uint rows, uint cols, float scale)
{
    uint c = get_global_id(0);
    if (c >= cols) return;
    float total = 0.0f;
    for (uint r = 0; r < rows; r++) total += src[r * cols + c];
    dst[dst_offset + c] += scale * total;
}
