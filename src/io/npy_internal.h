/* What the .npy code shares with the rest of src/io (the .npz archives, and the readers that
 * turn arrays into points and images), not with users of the library. */
#ifndef GLOWCL_IO_NPY_INTERNAL_H
#define GLOWCL_IO_NPY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "glowcl/npy.h"

/* The whole .npy file of `array` in a malloc'd buffer (*out, *out_size); `label` names it in
 * messages. GC_ERR_ARGUMENT for what gc_npy_write refuses, GC_ERR_MEMORY. */
gc_status gc_npy_encode(const gc_npy_array *array, const char *label, uint8_t **out,
                        size_t *out_size);

/* The shape as Python prints it, "(60000, 28, 28)" or "(5,)", into `out` (cut to `size`). */
void gc_npy_shape_text(const gc_npy_array *array, char *out, size_t size);

#endif
