/* What the image set readers of src/io share, not offered to users of the library. */
#ifndef GLOWCL_IO_IMAGE_INTERNAL_H
#define GLOWCL_IO_IMAGE_INTERNAL_H

#include <stdbool.h>

#include "glowcl/images.h"

/* The checks a reader of a folder with a training and a test split starts with: *out zeroed,
 * `dir` and `split` given, the split "train" or "test" (*train tells which), and `dir` an
 * existing folder. `format` ("CIFAR-10", "IDX") names the data and `function` the caller in
 * messages. GC_ERR_ARGUMENT, GC_ERR_IO. */
gc_status gc_split_folder_start(gc_image_set *out, const char *dir, const char *split,
                                const char *format, const char *function, bool *train);

#endif
