/* Fully connected layers: the reference loops (double) of the coupling networks. On OpenCL the
 * coupling runs them fused (cl/coupling.cl), so these refuse a device tensor. */
#include "model/ops/dense.h"

#include "core/internal.h"

static gc_status reference_only(const gc_tensor *t)
{
    if (t->rt->backend == GC_BACKEND_REFERENCE) return GC_OK;
    return GC_ERROR(GC_ERR_UNSUPPORTED, "dense layers run on the reference path only; the "
                                        "OpenCL coupling fuses them (cl/coupling.cl)");
}

static const double *row_ptr(gc_rows v, size_t g, size_t r)
{
    return v.t->host + v.offset + g * v.group_stride + r * v.ld;
}

gc_status gc_dense_forward(const gc_dense *layer, const gc_tensor *weights, gc_rows in, gc_rows out,
                           size_t rows)
{
    GC_TRY(reference_only(weights));
    size_t groups = layer->groups, in_dim = layer->in_dim, out_dim = layer->out_dim;
    for (size_t g = 0; g < groups; g++)
        for (size_t r = 0; r < rows; r++) {
            const double *x = row_ptr(in, g, r);
            double *y = (double *)row_ptr(out, g, r);
            const double *wt = weights->host + layer->w_offset + g * in_dim * out_dim;
            for (size_t o = 0; o < out_dim; o++) {
                double sum =
                    layer->has_bias ? weights->host[layer->b_offset + g * out_dim + o] : 0.0;
                for (size_t i = 0; i < in_dim; i++) sum += x[i] * wt[i * out_dim + o];
                y[o] = layer->relu && sum < 0.0 ? 0.0 : sum;
            }
        }
    return GC_OK;
}

gc_status gc_dense_backward_input(const gc_dense *layer, const gc_tensor *weights, gc_rows dout,
                                  gc_rows din, gc_rows mask, int accumulate, size_t rows)
{
    GC_TRY(reference_only(weights));
    size_t groups = layer->groups, in_dim = layer->in_dim, out_dim = layer->out_dim;
    int shared = din.group_stride == 0;
    size_t out_groups = shared ? 1 : groups;
    for (size_t g = 0; g < out_groups; g++)
        for (size_t r = 0; r < rows; r++)
            for (size_t i = 0; i < in_dim; i++) {
                double sum = 0.0;
                for (size_t gg = shared ? 0 : g; gg < (shared ? groups : g + 1); gg++) {
                    const double *dy = row_ptr(dout, gg, r);
                    const double *w = weights->host + layer->w_offset + (gg * in_dim + i) * out_dim;
                    for (size_t o = 0; o < out_dim; o++) sum += dy[o] * w[o];
                }
                if (mask.t && row_ptr(mask, g, r)[i] <= 0.0) sum = 0.0;
                double *dx = (double *)row_ptr(din, g, r) + i;
                *dx = accumulate ? *dx + sum : sum;
            }
    return GC_OK;
}

gc_status gc_dense_backward_params(const gc_dense *layer, gc_tensor *grads, gc_rows dout,
                                   gc_rows in, size_t rows)
{
    GC_TRY(reference_only(grads));
    size_t groups = layer->groups, in_dim = layer->in_dim, out_dim = layer->out_dim;
    for (size_t g = 0; g < groups; g++)
        for (size_t o = 0; o < out_dim; o++) {
            for (size_t i = 0; i < in_dim; i++) {
                double sum = 0.0;
                for (size_t r = 0; r < rows; r++)
                    sum += row_ptr(dout, g, r)[o] * row_ptr(in, g, r)[i];
                grads->host[layer->w_offset + (g * in_dim + i) * out_dim + o] += sum;
            }
            if (layer->has_bias) {
                double sum = 0.0;
                for (size_t r = 0; r < rows; r++) sum += row_ptr(dout, g, r)[o];
                grads->host[layer->b_offset + g * out_dim + o] += sum;
            }
        }
    return GC_OK;
}
