/* Status codes and error messages of the glowcl library.
 * Library functions never exit: they return a gc_status and leave a one-line explanation
 * (with the failing call, the OpenCL error symbol and the source location) in gc_last_error(). */
#ifndef GLOWCL_STATUS_H
#define GLOWCL_STATUS_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gc_status {
    GC_OK = 0,
    GC_ERR_ARGUMENT,    /* invalid argument or user input (bad flag, wrong shape, bad value) */
    GC_ERR_IO,          /* a file could not be opened, read or written */
    GC_ERR_FORMAT,      /* a file was read but its content is malformed */
    GC_ERR_NO_DEVICE,   /* no OpenCL device, or the requested one does not exist */
    GC_ERR_OPENCL,      /* an OpenCL (or CLBlast) call failed */
    GC_ERR_BUILD,       /* an OpenCL program failed to build on the device */
    GC_ERR_MEMORY,      /* host or device allocation failed */
    GC_ERR_NUMERIC,     /* non-finite values where finite ones were required */
    GC_ERR_UNSUPPORTED, /* the operation is not available on this backend or device */
    GC_STATUS_COUNT
} gc_status;

/* Stable short name of a status ("GC_ERR_IO"). */
const char *gc_status_name(gc_status status);

/* The message of the last error recorded on this thread ("" if none). */
const char *gc_last_error(void);

/* Records a message for `status` and returns `status`, so callers can write
 * `return GC_ERROR(GC_ERR_IO, "cannot open %s", path);`. */
gc_status gc_error_set(gc_status status, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
gc_status gc_error_setv(gc_status status, const char *file, int line, const char *fmt,
                        va_list args);
void gc_error_clear(void);

#define GC_ERROR(status, ...) gc_error_set((status), __FILE__, __LINE__, __VA_ARGS__)

/* Propagates a non-OK status from an expression. */
#define GC_TRY(expr)                                                                               \
    do {                                                                                           \
        gc_status gc_try_status_ = (expr);                                                         \
        if (gc_try_status_ != GC_OK) return gc_try_status_;                                        \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif
