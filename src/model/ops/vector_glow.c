/* The fused training pass of a vector Glow (see ops/vector_glow.h and cl/coupling.cl). */
#include "model/ops/vector_glow.h"

#include <stdint.h>
#include <stdlib.h>

struct gc_vector_glow {
    gc_runtime *rt;
    size_t steps, dim;
    gc_coupling_layout coupling; /* the first step's: every step's has its shape */
    cl_mem table;                /* rt->shapes.vector_fields offsets a step */
    /* For `capacity` rows: every op's input and output gradient but the data's and dz's, and
     * the couplings' activations, step after step. */
    size_t capacity;
    gc_tensor acts, grads_out, hidden_acts, d_hidden, nets, d_nets, dscale_rows, transposed;
    gc_tensor scratch; /* 2·dim² a step: the 1x1 convolutions' dW and Pᵀ·dW */
    gc_kernel *forward_kernel, *backward_kernel, *params_kernel; /* cl/coupling.cl */
};

gc_status gc_vector_glow_create(gc_vector_glow **out, gc_runtime *rt, gc_op *const *ops,
                                size_t op_count)
{
    *out = NULL;
    if (rt->backend != GC_BACKEND_OPENCL || op_count == 0 || op_count % 3) return GC_OK;
    size_t steps = op_count / 3, dim = ops[0]->dim, per_step = rt->shapes.vector_fields;
    if (dim > rt->shapes.vector_max_dim) return GC_OK;
    uint32_t *table = calloc(steps * per_step, sizeof *table);
    if (!table) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_coupling_layout first = {0};
    int fits = 1;
    for (size_t l = 0; l < steps && fits; l++) {
        size_t s = 0, t = 0, mix[5];
        gc_coupling_layout c;
        fits = gc_actnorm_offsets(ops[3 * l], &s, &t) &&
               gc_coupling_layout_of(ops[3 * l + 1], &c) && gc_invconv_offsets(ops[3 * l + 2], mix);
        for (size_t k = 0; k < 3 && fits; k++) fits = ops[3 * l + k]->dim == dim;
        if (!fits) break;
        if (l == 0) first = c;
        /* One shape for every coupling: the kernels take it once. */
        fits = c.a_dim == first.a_dim && c.b_dim == first.b_dim && c.hidden == first.hidden &&
               c.depth == first.depth && c.weight_count == first.weight_count;
        /* vector_step in cl/coupling.cl */
        size_t fields[] = {s,      t,      c.w_first, c.scale, c.a_begin, c.b_begin,
                           mix[0], mix[1], mix[2],    mix[3],  mix[4],    0};
        if (sizeof fields / sizeof *fields != per_step) fits = 0;
        for (size_t k = 0; k < per_step && fits; k++) {
            if (fields[k] > UINT32_MAX) fits = 0;
            table[l * per_step + k] = (uint32_t)fields[k];
        }
    }
    if (!fits) {
        free(table);
        return GC_OK;
    }
    gc_vector_glow *v = calloc(1, sizeof *v);
    if (!v) {
        free(table);
        return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    }
    v->rt = rt;
    v->steps = steps;
    v->dim = dim;
    v->coupling = first;
    cl_int err = CL_SUCCESS;
    v->table = clCreateBuffer(gc_runtime_context(rt), CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                              steps * per_step * sizeof *table, table, &err);
    free(table);
    if (err != CL_SUCCESS) {
        free(v);
        return GC_ERROR(GC_ERR_OPENCL, "clCreateBuffer (fused vector Glow table) failed: %s",
                        gc_cl_error_name(err));
    }
    gc_status status = gc_tensor_init1(&v->transposed, rt, steps * v->coupling.weight_count);
    if (status == GC_OK) status = gc_tensor_init1(&v->scratch, rt, steps * 2 * dim * dim);
    if (status == GC_OK) status = gc_kernel_find(rt, "vector_glow_forward", &v->forward_kernel);
    if (status == GC_OK) status = gc_kernel_find(rt, "vector_glow_backward", &v->backward_kernel);
    if (status == GC_OK) status = gc_kernel_find(rt, "vector_glow_params", &v->params_kernel);
    if (status != GC_OK) {
        gc_vector_glow_free(v);
        return status;
    }
    *out = v;
    return GC_OK;
}

void gc_vector_glow_free(gc_vector_glow *v)
{
    if (!v) return;
    gc_tensor *all[] = {&v->acts,   &v->grads_out,   &v->hidden_acts, &v->d_hidden, &v->nets,
                        &v->d_nets, &v->dscale_rows, &v->transposed,  &v->scratch};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) gc_tensor_release(all[i]);
    if (v->table) clReleaseMemObject(v->table);
    free(v);
}

int gc_vector_glow_fits(const gc_vector_glow *v, size_t n)
{
    /* The kernels index each arena with 32-bit numbers: the largest holds, per row, the
     * couplings' hidden activations or every op's input. */
    size_t hidden = v->steps * v->coupling.depth * 2 * v->coupling.hidden;
    size_t slots = 3 * v->steps * v->dim;
    size_t per_row = hidden > slots ? hidden : slots;
    return n > 0 && n <= UINT32_MAX / per_row;
}

static gc_status reserve(gc_vector_glow *v, size_t n)
{
    if (n <= v->capacity) return GC_OK;
    if (!gc_vector_glow_fits(v, n))
        return GC_ERROR(GC_ERR_ARGUMENT, "a batch of %zu rows is too large for the fused pass", n);
    size_t slots = 3 * v->steps - 1, hidden = v->coupling.depth * 2 * n * v->coupling.hidden;
    gc_runtime *rt = v->rt;
    GC_TRY(gc_scratch_reserve(&v->acts, rt, slots * n, v->dim));
    GC_TRY(gc_scratch_reserve(&v->grads_out, rt, slots * n, v->dim));
    GC_TRY(gc_scratch_reserve(&v->hidden_acts, rt, v->steps, hidden));
    GC_TRY(gc_scratch_reserve(&v->d_hidden, rt, v->steps, hidden));
    GC_TRY(gc_scratch_reserve(&v->nets, rt, v->steps, 2 * n * v->coupling.b_dim));
    GC_TRY(gc_scratch_reserve(&v->d_nets, rt, v->steps, 2 * n * v->coupling.b_dim));
    GC_TRY(gc_scratch_reserve(&v->dscale_rows, rt, v->steps, n * v->coupling.b_dim));
    v->capacity = n;
    return GC_OK;
}

gc_status gc_vector_glow_forward(gc_vector_glow *v, const gc_tensor *params, gc_tensor *x,
                                 gc_tensor *z, gc_tensor *logdet, size_t n)
{
    GC_TRY(reserve(v, n));
    const gc_coupling_layout *c = &v->coupling;
    const gc_kernel_shapes *shapes = &v->rt->shapes;
    return GC_LAUNCH1D(v->rt, v->forward_kernel, gc_coupling_row_items(shapes, n),
                       shapes->vector_group, GC_MEM(z), GC_MEM(x), GC_MEM(&v->acts), GC_MEM(logdet),
                       GC_MEM(&v->hidden_acts), GC_MEM(&v->nets), GC_MEM(&v->transposed),
                       GC_MEM(params), GC_BUF(v->table), GC_U32(v->steps), GC_U32(n),
                       GC_U32(v->capacity), GC_U32(v->dim), GC_U32(c->a_dim), GC_U32(c->b_dim),
                       GC_U32(c->hidden), GC_U32(c->depth), GC_U32(c->weight_count));
}

/* Work-items of vector_glow_params: each step's coupling tasks, its ActNorm, its 1x1
 * convolution. */
static size_t params_items(const gc_vector_glow *v)
{
    return v->steps * (gc_coupling_param_tasks(&v->rt->shapes, &v->coupling) + 2);
}

gc_status gc_vector_glow_backward(gc_vector_glow *v, const gc_tensor *params, gc_tensor *grads,
                                  gc_tensor *x, gc_tensor *dz, double dlogdet, size_t n)
{
    if (n > v->capacity)
        return GC_ERROR(GC_ERR_ARGUMENT, "fused backward of %zu rows after a forward of %zu", n,
                        v->capacity);
    const gc_coupling_layout *c = &v->coupling;
    /* The input-gradient pass never reads the data or z (slots 0 and 3L). */
    const gc_kernel_shapes *shapes = &v->rt->shapes;
    GC_TRY(GC_LAUNCH1D(v->rt, v->backward_kernel, gc_coupling_row_items(shapes, n),
                       shapes->vector_group, GC_MEM(&v->grads_out), GC_MEM(dz), GC_MEM(x),
                       GC_MEM(x), GC_MEM(&v->acts), GC_MEM(&v->hidden_acts), GC_MEM(&v->d_hidden),
                       GC_MEM(&v->nets), GC_MEM(&v->d_nets), GC_MEM(&v->dscale_rows),
                       GC_MEM(&v->transposed), GC_MEM(params), GC_BUF(v->table), GC_F32(dlogdet),
                       GC_U32(v->steps), GC_U32(n), GC_U32(v->capacity), GC_U32(v->dim),
                       GC_U32(c->a_dim), GC_U32(c->b_dim), GC_U32(c->hidden), GC_U32(c->depth),
                       GC_U32(c->weight_count)));
    return GC_LAUNCH1D(v->rt, v->params_kernel, params_items(v), shapes->coupling_group,
                       GC_MEM(grads), GC_MEM(&v->grads_out), GC_MEM(dz), GC_MEM(x), GC_MEM(x),
                       GC_MEM(&v->acts), GC_MEM(&v->hidden_acts), GC_MEM(&v->d_hidden),
                       GC_MEM(&v->d_nets), GC_MEM(&v->dscale_rows), GC_MEM(&v->scratch),
                       GC_MEM(params), GC_BUF(v->table), GC_F32((double)n * dlogdet),
                       GC_U32(v->steps), GC_U32(n), GC_U32(v->capacity), GC_U32(v->dim),
                       GC_U32(c->a_dim), GC_U32(c->b_dim), GC_U32(c->hidden), GC_U32(c->depth));
}
