/* The one dense matrix product every layer goes through (linear layers, 1x1 and im2col'd 3x3
 * convolutions): C = alpha · op(A) · op(B) + beta · C, row-major, on either backend. */
#ifndef GLOWCL_GEMM_H
#define GLOWCL_GEMM_H

#include <stddef.h>

#include "glowcl/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One operand: a tensor, the element where the matrix starts and its row stride. */
typedef struct gc_matrix {
    const gc_tensor *tensor;
    size_t offset;
    size_t ld;
    int transposed; /* use the transpose of the stored matrix */
} gc_matrix;

/* op(A) is m×k, op(B) is k×n, C is m×n with row stride c_ld from c_offset. As in BLAS, beta = 0
 * overwrites C without reading it. Bounds are checked against each tensor's size. The OpenCL
 * backend goes through CLBlast. */
gc_status gc_gemm(gc_runtime *rt, size_t m, size_t n, size_t k, double alpha, gc_matrix a,
                  gc_matrix b, double beta, gc_tensor *c, size_t c_offset, size_t c_ld);

#ifdef __cplusplus
}
#endif

#endif
