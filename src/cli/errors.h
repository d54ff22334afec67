/* A failed library status as a message and an exit code. */
#ifndef GLOWCL_CLI_ERRORS_H
#define GLOWCL_CLI_ERRORS_H

#include "glowcl/status.h"

/* Prints "glowcl: <message>" for a failed status (with the rank in a run of several) and
 * returns its exit code. */
int cli_fail(gc_status status);
int cli_exit_code(gc_status status);

#endif
