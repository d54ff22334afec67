/* gc_gemm: the reference triple loop in double (the specification) and the OpenCL path through
 * CLBlast. Faster per-device kernels, chosen by measurement, belong behind this same entry. */
#include "glowcl/gemm.h"

#include <clblast_c.h>

#include "core/internal.h"

static gc_status check_operand(const char *name, gc_matrix x, size_t rows, size_t cols)
{
    /* Stored shape: rows×cols, or cols×rows when used transposed. */
    size_t stored_rows = x.transposed ? cols : rows;
    size_t stored_cols = x.transposed ? rows : cols;
    if (!x.tensor) return GC_ERROR(GC_ERR_ARGUMENT, "gemm: matrix %s is missing", name);
    if (x.ld < stored_cols)
        return GC_ERROR(GC_ERR_ARGUMENT, "gemm: leading dimension of %s is %zu, below %zu", name,
                        x.ld, stored_cols);
    size_t end = x.offset + (stored_rows - 1) * x.ld + stored_cols;
    if (end > x.tensor->count)
        return GC_ERROR(GC_ERR_ARGUMENT, "gemm: %s needs %zu elements, its tensor has %zu", name,
                        end, x.tensor->count);
    return GC_OK;
}

static double element(gc_matrix x, size_t row, size_t col)
{
    size_t index = x.transposed ? col * x.ld + row : row * x.ld + col;
    return x.tensor->host[x.offset + index];
}

static void gemm_reference(size_t m, size_t n, size_t k, double alpha, gc_matrix a, gc_matrix b,
                           double beta, gc_tensor *c, size_t c_offset, size_t c_ld)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double dot = 0.0;
            for (size_t p = 0; p < k; p++) dot += element(a, i, p) * element(b, p, j);
            double *out = &c->host[c_offset + i * c_ld + j];
            *out = alpha * dot + (beta == 0.0 ? 0.0 : beta * *out);
        }
}

static gc_status gemm_clblast(gc_runtime *rt, size_t m, size_t n, size_t k, double alpha,
                              gc_matrix a, gc_matrix b, double beta, gc_tensor *c, size_t c_offset,
                              size_t c_ld)
{
    cl_command_queue queue = rt->queue;
    rt->gemm_state = (void *)1; /* CLBlast now caches programs for this context */
    CLBlastStatusCode code =
        CLBlastSgemm(CLBlastLayoutRowMajor, a.transposed ? CLBlastTransposeYes : CLBlastTransposeNo,
                     b.transposed ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, (float)alpha,
                     a.tensor->buffer, a.offset, a.ld, b.tensor->buffer, b.offset, b.ld,
                     (float)beta, c->buffer, c_offset, c_ld, &queue, NULL);
    if (code != CLBlastSuccess)
        return GC_ERROR(code == CLBlastTempBufferAllocFailure ? GC_ERR_MEMORY : GC_ERR_OPENCL,
                        "CLBlastSgemm(%zux%zux%zu) failed: %s", m, n, k, gc_cl_error_name(code));
    return GC_OK;
}

gc_status gc_gemm(gc_runtime *rt, size_t m, size_t n, size_t k, double alpha, gc_matrix a,
                  gc_matrix b, double beta, gc_tensor *c, size_t c_offset, size_t c_ld)
{
    if (m == 0 || n == 0 || k == 0)
        return GC_ERROR(GC_ERR_ARGUMENT, "gemm: dimensions %zux%zux%zu must be positive", m, n, k);
    GC_TRY(check_operand("A", a, m, k));
    GC_TRY(check_operand("B", b, k, n));
    gc_matrix c_view = {c, c_offset, c_ld, 0};
    GC_TRY(check_operand("C", c_view, m, n));
    if (a.tensor->rt != rt || b.tensor->rt != rt || c->rt != rt)
        return GC_ERROR(GC_ERR_ARGUMENT, "gemm: tensors belong to another runtime");
    if (rt->backend == GC_BACKEND_REFERENCE) {
        gemm_reference(m, n, k, alpha, a, b, beta, c, c_offset, c_ld);
        return GC_OK;
    }
    return gemm_clblast(rt, m, n, k, alpha, a, b, beta, c, c_offset, c_ld);
}

/* CLBlast keeps compiled programs in a process-wide cache that holds references to our context;
 * left there, they are released at exit after the OpenCL driver may already be gone (a crash
 * inside oclgrind). Clearing it costs other open runtimes a recompile, which is rare. */
void gc_gemm_release(gc_runtime *rt)
{
    if (rt->gemm_state) CLBlastClearCache();
    rt->gemm_state = NULL;
}
