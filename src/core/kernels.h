/* The OpenCL sources of the cl/ folder, embedded at build time by tools/embed_cl.py. */
#ifndef GLOWCL_KERNELS_H
#define GLOWCL_KERNELS_H

typedef struct gc_embedded_kernel_file {
    const char *name; /* file name, e.g. "tensor.cl" */
    const char *source;
} gc_embedded_kernel_file;

extern const gc_embedded_kernel_file gc_embedded_kernel_files[];
extern const int gc_embedded_kernel_file_count;

#endif
