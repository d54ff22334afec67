/* `glowcl bench --tune` and `glowcl bench --list-shapes`: the tuner's table for people, and
 * the tunable kernel shapes for tests/shapes_test.sh. */
#ifndef GLOWCL_CLI_BENCH_TUNE_H
#define GLOWCL_CLI_BENCH_TUNE_H

#include "device_choice.h"

/* One line a tunable kernel shape: "NAME WORKLOAD UNIT-TESTS VALUE VALUE ...", after a '#'
 * line naming the columns. EXIT_FAILED (with a message) if a parameter has no workload. */
int cli_bench_list_shapes(void);

/* Tunes the device the flags choose (quick: seconds, for tests), prints the table and where
 * the cache was written; an exit code. */
int cli_bench_tune(const cli_device_flags *flags, int quick);

#endif
