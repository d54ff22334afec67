/* The parameter registry (names and offsets of every op's parameters in the model's one
 * parameter tensor), and the reference log-determinant of parameter sums. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops/op.h"

static gc_status reserve(gc_param_registry *reg, const char *prefix, const char *name, size_t count,
                         int fixed, size_t *offset_out)
{
    if (reg->count == reg->capacity) {
        size_t capacity = reg->capacity ? reg->capacity * 2 : 32;
        gc_param_block *blocks = realloc(reg->blocks, capacity * sizeof *blocks);
        if (!blocks) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
        reg->blocks = blocks;
        reg->capacity = capacity;
    }
    gc_param_block *b = &reg->blocks[reg->count++];
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s.%s", prefix, name);
    b->offset = reg->total;
    b->count = count;
    b->fixed = fixed;
    reg->total += count;
    *offset_out = b->offset;
    return GC_OK;
}

gc_status gc_param_reserve(gc_param_registry *reg, const char *prefix, const char *name,
                           size_t count, size_t *offset_out)
{
    return reserve(reg, prefix, name, count, 0, offset_out);
}

gc_status gc_param_reserve_fixed(gc_param_registry *reg, const char *prefix, const char *name,
                                 size_t count, size_t *offset_out)
{
    return reserve(reg, prefix, name, count, 1, offset_out);
}

void gc_param_registry_free(gc_param_registry *reg)
{
    free(reg->blocks);
    memset(reg, 0, sizeof *reg);
}

gc_status gc_logdet_add_param_sum(gc_tensor *logdet, const gc_tensor *params, size_t offset,
                                  size_t count, double scale, size_t n)
{
    if (params->rt->backend != GC_BACKEND_REFERENCE || offset > params->count ||
        count > params->count - offset || n > logdet->count)
        return GC_ERROR(GC_ERR_ARGUMENT,
                        "gc_logdet_add_param_sum: a reference tensor of at "
                        "least %zu+%zu parameters and %zu log-determinants",
                        offset, count, n);
    double sum = 0.0;
    for (size_t k = 0; k < count; k++) sum += params->host[offset + k];
    for (size_t i = 0; i < n; i++) logdet->host[i] += scale * sum;
    return GC_OK;
}
