#!/bin/sh
# Shows the two defects of oclgrind 21.10's --uninitialized check that shape glowcl's kernels
# and src/core/tensor.c (docs/oclgrind.md), each on a kernel of a few lines whose every input is
# written by the host. A fixed oclgrind prints "no report" on both; then the accommodations
# can go.
#   1. A shuffle lane whose mask index is 11 is taken for undefined: `.hi` of a float16.
#   2. A buffer only ever written by kernels inherits the record of the freed buffer that had
#      its index before: a kernel writes a large buffer after a small one was freed, and a
#      second kernel reads what the first wrote.
# Usage: tools/oclgrind-bugs.sh   (needs oclgrind and oclgrind-kernel; exits 0 either way)
set -eu
command -v oclgrind-kernel >/dev/null || { echo "oclgrind-kernel not found"; exit 0; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

report() { # name, log: one line per case
    if grep -q "Kernel:" "$2"; then
        echo "$1: reported ($(grep -c Kernel: "$2") reports), a false positive"
    else
        echo "$1: no report"
    fi
}

cat >"$dir/shuffle.cl" <<'EOF'
__kernel void upper_half(__global float *out, __global const float *in)
{
    float16 v = vload16(0, in);
    vstore8(v.hi, 0, out); /* lanes 8..15: the shuffle's mask holds 11 */
}
EOF
printf '%s\n' "$dir/shuffle.cl" upper_half '1 1 1' '1 1 1' \
    '<size=32 fill=0 float>' '<size=64 range=1:1:16 float>' >"$dir/shuffle.sim"
oclgrind-kernel --uninitialized --log "$dir/shuffle.log" "$dir/shuffle.sim" >/dev/null 2>&1 || true
report "1. float16 .hi (shuffle mask index 11)" "$dir/shuffle.log"

# 2 needs the runtime (buffers created and freed), so a small host program.
command -v cc >/dev/null && command -v oclgrind >/dev/null || {
    echo "2. skipped: needs cc and oclgrind"
    exit 0
}
cat >"$dir/reuse.c" <<'EOF'
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
static const char *source =
    "__kernel void fill(__global float *b) { b[get_global_id(0)] = 1.0f; }\n"
    "__kernel void copy(__global float *d, __global const float *s)\n"
    "{ d[get_global_id(0)] = s[get_global_id(0)]; }\n";
int main(void)
{
    cl_platform_id platform;
    cl_device_id device;
    clGetPlatformIDs(1, &platform, NULL);
    clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL);
    cl_context context = clCreateContext(NULL, 1, &device, NULL, NULL, NULL);
    cl_command_queue queue = clCreateCommandQueue(context, device, 0, NULL);
    cl_program program = clCreateProgramWithSource(context, 1, &source, NULL, NULL);
    clBuildProgram(program, 1, &device, "", NULL, NULL);
    cl_kernel fill = clCreateKernel(program, "fill", NULL);
    cl_kernel copy = clCreateKernel(program, "copy", NULL);
    size_t small = 4, large = 64;
    /* A small buffer used by a kernel, then freed: its index goes to the next buffer. */
    cl_mem first = clCreateBuffer(context, CL_MEM_READ_WRITE, small * 4, NULL, NULL);
    clSetKernelArg(fill, 0, sizeof first, &first);
    clEnqueueNDRangeKernel(queue, fill, 1, NULL, &small, NULL, 0, NULL, NULL);
    clFinish(queue);
    clReleaseMemObject(first);
    cl_mem reused = clCreateBuffer(context, CL_MEM_READ_WRITE, large * 4, NULL, NULL);
    cl_mem target = clCreateBuffer(context, CL_MEM_READ_WRITE, large * 4, NULL, NULL);
    clSetKernelArg(fill, 0, sizeof reused, &reused); /* writes all 64 floats */
    clEnqueueNDRangeKernel(queue, fill, 1, NULL, &large, NULL, 0, NULL, NULL);
    clSetKernelArg(copy, 0, sizeof target, &target);
    clSetKernelArg(copy, 1, sizeof reused, &reused); /* reads what fill wrote */
    clEnqueueNDRangeKernel(queue, copy, 1, NULL, &large, NULL, 0, NULL, NULL);
    clFinish(queue);
    puts("ran");
    return 0;
}
EOF
cc -o "$dir/reuse" "$dir/reuse.c" -lOpenCL
oclgrind --uninitialized --log "$dir/reuse.log" "$dir/reuse" >/dev/null 2>&1 || true
report "2. a buffer index reused after a free" "$dir/reuse.log"
