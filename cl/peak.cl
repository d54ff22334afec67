/* The device's multiply-add peak, for `glowcl bench`: what any kernel of glowcl's could reach
 * at best, measured in the same run as the steps it bounds. Each work-item runs CHAINS
 * independent chains of float16 fused multiply-adds (enough to hide an FMA's latency on a CPU
 * that issues two a cycle), a = a·m + c, from values of its own; nothing but the chains'
 * final values is read or written, so the loop is all FMAs. m slightly below 1 and c small
 * keep every value in (0, 2): no overflow, no denormals. src/diag/bench.c computes the same chains
 * in C (gc_peak_fma_reference). */

#define CHAINS 8

__kernel void peak_fma(__global float *out, uint iterations, float m, float c)
{
    uint id = get_global_id(0);
    float16 lanes = (float16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    float16 a[CHAINS];
#pragma unroll
    for (uint k = 0; k < CHAINS; k++)
        a[k] = ((float)((id * CHAINS + k) & 4095) + lanes) * (1.0f / 4096.0f);
    for (uint i = 0; i < iterations; i++) {
#pragma unroll
        for (uint k = 0; k < CHAINS; k++) a[k] = fma(a[k], (float16)(m), (float16)(c));
    }
#pragma unroll
    for (uint k = 0; k < CHAINS; k++) vstore16(a[k], id * CHAINS + k, out);
}
