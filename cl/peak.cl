/* The device's multiply-add peak, for `glowcl bench`: what any kernel of glowcl's could reach
 * at best, measured in the same run as the steps it bounds. Each work-item runs PEAK_CHAINS
 * independent chains of floatPEAK_VECTOR fused multiply-adds, a = a·m + c, from values of its
 * own; nothing but the chains' final values is read or written, so the loop is all FMAs. m
 * slightly below 1 and c small keep every value in (0, 2): no overflow, no denormals.
 * src/diag/bench.c computes the same chains in C (gc_peak_fma_reference).
 *
 * Both are shape parameters (src/core/shapes.h) because the peak is only reached when the
 * chains fill the register file without spilling and are enough to hide an FMA's latency at
 * the device's issue rate: on AVX2 a float16 takes two of the 16 ymm registers, so 8 float16
 * chains already spill, while 12 float8 chains fit with room for m and c. */

#if !defined(PEAK_VECTOR) || !defined(PEAK_CHAINS)
#error "build with PEAK_VECTOR and PEAK_CHAINS of src/core/shapes.h"
#endif
#if PEAK_VECTOR == 4
typedef float4 peak_float;
#define peak_load vload4
#define peak_store vstore4
#elif PEAK_VECTOR == 8
typedef float8 peak_float;
#define peak_load vload8
#define peak_store vstore8
#elif PEAK_VECTOR == 16
typedef float16 peak_float;
#define peak_load vload16
#define peak_store vstore16
#else
#error "PEAK_VECTOR must be 4, 8 or 16"
#endif

/* Lane l of a chain starts at (chain + l) / 4096. */
__constant float lane_offsets[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

__kernel void peak_fma(__global float *out, uint iterations, float m, float c)
{
    uint id = get_global_id(0);
    peak_float lanes = peak_load(0, lane_offsets);
    peak_float a[PEAK_CHAINS];
#pragma unroll
    for (uint k = 0; k < PEAK_CHAINS; k++)
        a[k] = ((float)((id * PEAK_CHAINS + k) & 4095) + lanes) * (1.0f / 4096.0f);
    for (uint i = 0; i < iterations; i++) {
#pragma unroll
        for (uint k = 0; k < PEAK_CHAINS; k++) a[k] = fma(a[k], (peak_float)(m), (peak_float)(c));
    }
#pragma unroll
    for (uint k = 0; k < PEAK_CHAINS; k++) peak_store(a[k], id * PEAK_CHAINS + k, out);
}
