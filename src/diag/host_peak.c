/* The host's own multiply-add loop (see host_peak.h): independent chains of a = a·m + c in
 * the widest vectors the CPU has, as many as hide an FMA's latency at two issues a cycle while
 * all of them stay in registers. PoCL compiles cl/peak.cl for the same cores, so the two
 * should agree; when they do not, the kernel's shape (PEAK_VECTOR, PEAK_CHAINS) is wrong. */
#include "diag/host_peak.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HOST_X86 1
#endif

/* m just below 1 and c small, as in gc_bench_peak: the chains settle near 1, never denormal. */
#define HOST_M 0.9999f
#define HOST_C 1e-4f

/* One thread's loop: CHAINS vectors (VECTOR type, LANES floats) in registers, each iteration
 * one FMA of each. The sum of the final values is returned so the loop cannot be dropped. */
#define HOST_FMA_LOOP(name, target_list, VECTOR, LANES, CHAINS, set1, fmadd, storeu)               \
    __attribute__((target(target_list))) static double name(unsigned iterations)                   \
    {                                                                                              \
        VECTOR a[CHAINS], m = set1(HOST_M), c = set1(HOST_C);                                      \
        _Pragma("GCC unroll 16") for (int k = 0; k < CHAINS; k++) a[k] = set1(0.01f * k);          \
        for (unsigned i = 0; i < iterations; i++) {                                                \
            _Pragma("GCC unroll 16") for (int k = 0; k < CHAINS; k++) a[k] = fmadd(a[k], m, c);    \
        }                                                                                          \
        float lanes[LANES];                                                                        \
        double sum = 0.0;                                                                          \
        for (int k = 0; k < CHAINS; k++) {                                                         \
            storeu(lanes, a[k]);                                                                   \
            for (int l = 0; l < LANES; l++) sum += lanes[l];                                       \
        }                                                                                          \
        return sum;                                                                                \
    }

#ifdef HOST_X86
/* Zen and Intel cores issue 2 FMAs a cycle at a latency of 4-5: 10 chains hide it; 12 of the
 * 16 ymm registers, with m and c 14. */
enum { AVX2_CHAINS = 12, AVX2_LANES = 8, AVX512_CHAINS = 16, AVX512_LANES = 16 };
HOST_FMA_LOOP(fma_avx2, "avx2,fma", __m256, AVX2_LANES, AVX2_CHAINS, _mm256_set1_ps,
              _mm256_fmadd_ps, _mm256_storeu_ps)
/* 16 of the 32 zmm registers. */
HOST_FMA_LOOP(fma_avx512, "avx512f", __m512, AVX512_LANES, AVX512_CHAINS, _mm512_set1_ps,
              _mm512_fmadd_ps, _mm512_storeu_ps)
#endif

/* Elsewhere, fmaf in 8 chains of 8 lanes, which the compiler may put into vectors: the
 * native FMA instruction where the target has one. */
enum { PLAIN_CHAINS = 8, PLAIN_LANES = 8 };
static double fma_plain(unsigned iterations)
{
    float a[PLAIN_CHAINS][PLAIN_LANES];
    for (int k = 0; k < PLAIN_CHAINS; k++)
        for (int l = 0; l < PLAIN_LANES; l++) a[k][l] = 0.01f * (float)(k + l);
    for (unsigned i = 0; i < iterations; i++)
        for (int k = 0; k < PLAIN_CHAINS; k++)
            for (int l = 0; l < PLAIN_LANES; l++) a[k][l] = fmaf(a[k][l], HOST_M, HOST_C);
    double sum = 0.0;
    for (int k = 0; k < PLAIN_CHAINS; k++)
        for (int l = 0; l < PLAIN_LANES; l++) sum += a[k][l];
    return sum;
}

typedef struct host_loop {
    const char *method;
    double (*run)(unsigned iterations);
    unsigned lanes_per_iteration; /* FMA lanes an iteration does */
} host_loop;

static host_loop choose_loop(void)
{
#ifdef HOST_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return (host_loop){"AVX-512 FMA intrinsics", fma_avx512, AVX512_CHAINS * AVX512_LANES};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return (host_loop){"AVX2 FMA intrinsics", fma_avx2, AVX2_CHAINS * AVX2_LANES};
#endif
    return (host_loop){"C fmaf loop", fma_plain, PLAIN_CHAINS * PLAIN_LANES};
}

const char *gc_host_fma_method(void) { return choose_loop().method; }

typedef struct host_thread {
    host_loop loop;
    unsigned iterations;
    double result;
} host_thread;

static void *run_thread(void *arg)
{
    host_thread *t = arg;
    t->result = t->loop.run(t->iterations);
    return NULL;
}

gc_status gc_host_fma_run(unsigned threads, unsigned iterations, double *flops)
{
    if (threads < 1 || threads > 4096)
        return GC_ERROR(GC_ERR_ARGUMENT, "host FMA threads must be 1..4096, not %u", threads);
    host_thread *work = calloc(threads, sizeof *work);
    pthread_t *ids = calloc(threads, sizeof *ids);
    gc_status status = work && ids ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    unsigned started = 0;
    host_loop loop = choose_loop();
    while (status == GC_OK && started < threads) {
        work[started] = (host_thread){loop, iterations, 0.0};
        if (pthread_create(&ids[started], NULL, run_thread, &work[started]) == 0)
            started++;
        else
            status = GC_ERROR(GC_ERR_MEMORY, "cannot start host FMA thread %u", started);
    }
    double sum = 0.0;
    for (unsigned t = 0; t < started; t++) pthread_join(ids[t], NULL);
    for (unsigned t = 0; t < threads && status == GC_OK; t++) sum += work[t].result;
    if (status == GC_OK && !isfinite(sum))
        status = GC_ERROR(GC_ERR_NUMERIC, "the host FMA chains ended non-finite");
    if (status == GC_OK) *flops = 2.0 * threads * (double)iterations * loop.lanes_per_iteration;
    free(work);
    free(ids);
    return status;
}
