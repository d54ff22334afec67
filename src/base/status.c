/* Thread-local last-error message behind gc_last_error(); see include/glowcl/status.h. */
#include "glowcl/status.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[2048];

static const char *const status_names[GC_STATUS_COUNT] = {
    [GC_OK] = "GC_OK",
    [GC_ERR_ARGUMENT] = "GC_ERR_ARGUMENT",
    [GC_ERR_IO] = "GC_ERR_IO",
    [GC_ERR_FORMAT] = "GC_ERR_FORMAT",
    [GC_ERR_NO_DEVICE] = "GC_ERR_NO_DEVICE",
    [GC_ERR_OPENCL] = "GC_ERR_OPENCL",
    [GC_ERR_BUILD] = "GC_ERR_BUILD",
    [GC_ERR_MEMORY] = "GC_ERR_MEMORY",
    [GC_ERR_NUMERIC] = "GC_ERR_NUMERIC",
    [GC_ERR_UNSUPPORTED] = "GC_ERR_UNSUPPORTED",
};

const char *gc_status_name(gc_status status)
{
    if ((unsigned)status >= GC_STATUS_COUNT) return "GC_ERR_UNKNOWN";
    return status_names[status];
}

const char *gc_last_error(void) { return last_error; }

void gc_error_clear(void) { last_error[0] = '\0'; }

gc_status gc_error_setv(gc_status status, const char *file, int line, const char *fmt, va_list args)
{
    /* Room for the location after the message, so it is never the part cut off. */
    char message[sizeof last_error - 128];
    vsnprintf(message, sizeof message, fmt, args);
    const char *base = strrchr(file, '/');
    snprintf(last_error, sizeof last_error, "%s (%s:%d)", message, base ? base + 1 : file, line);
    return status;
}

gc_status gc_error_set(gc_status status, const char *file, int line, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    gc_error_setv(status, file, line, fmt, args);
    va_end(args);
    return status;
}
