/* The exit codes of glowcl, as `glowcl --help` documents them. */
#ifndef GLOWCL_CLI_EXIT_CODES_H
#define GLOWCL_CLI_EXIT_CODES_H

enum {
    EXIT_OK = 0,
    EXIT_FAILED = 1, /* a check failed, training diverged, a result is not a finite number */
    EXIT_USAGE = 2,  /* bad flags or values, unknown device */
    EXIT_INPUT = 3,  /* a file could not be read or written, or is malformed */
    EXIT_DEVICE = 4, /* OpenCL error, kernel build failure, out of memory */
};

#endif
