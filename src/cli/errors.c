/* A failed library status as a message and an exit code (errors.h). */
#include <stdio.h>

#include "distributed.h"
#include "errors.h"
#include "exit_codes.h"

int cli_exit_code(gc_status status)
{
    switch (status) {
    case GC_OK: return EXIT_OK;
    case GC_ERR_ARGUMENT:
    case GC_ERR_NO_DEVICE: return EXIT_USAGE;
    case GC_ERR_IO:
    case GC_ERR_FORMAT: return EXIT_INPUT;
    case GC_ERR_NUMERIC: return EXIT_FAILED;
    default: return EXIT_DEVICE;
    }
}

int cli_fail(gc_status status)
{
    fprintf(cli_dist_errors(), "glowcl: %s%s\n", cli_dist_prefix(), gc_last_error());
    return cli_exit_code(status);
}
