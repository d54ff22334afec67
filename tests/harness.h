/* What every Check test program shares: the device count (found in a child process, because an
 * OpenCL context made before Check forks hangs on PoCL), opening a device inside a test, the
 * random seed (fresh each run, printed, and settable with GLOWCL_TEST_SEED), and main(). */
#ifndef GLOWCL_TEST_HARNESS_H
#define GLOWCL_TEST_HARNESS_H

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "glowcl/check.h"
#include "glowcl/runtime.h"

/* Number of OpenCL devices on this machine, counted without touching OpenCL in this process. */
int gc_test_device_count(void);

/* Opens OpenCL device `index` of the device list (explicitly: no fallback) or fails the test. */
gc_runtime *gc_test_open_device(int index);
gc_runtime *gc_test_open_reference(void);

/* The seed of this test program's random inputs. */
uint64_t gc_test_seed(void);

/* Fails the test, naming the seed and device, if any row of the report failed. */
void gc_test_assert_report(const gc_check_report *report, const char *what);

/* Removes a test's scratch folder and everything below it (symbolic links are not followed). */
void gc_test_remove_tree(const char *path);

/* Fails the test unless gc_last_error() contains `fragment`. */
#define GC_ASSERT_ERROR_CONTAINS(fragment)                                                         \
    ck_assert_msg(strstr(gc_last_error(), (fragment)) != NULL,                                     \
                  "error message \"%s\" lacks \"%s\"", gc_last_error(), (fragment))

/* Adds `test` to `tc` once per OpenCL device (its loop index is the device index). */
void gc_test_add_device_loop(TCase *tc, const TTest *test);
#define GC_TEST_DEVICE_LOOP(tc, fn) gc_test_add_device_loop((tc), (fn))

/* Runs the suite. Returns 1 on any failure; 77 (meson's "skipped") when the suite has OpenCL
 * tests and the machine has no device, after the reference tests passed; 0 otherwise. */
int gc_test_run(Suite *suite, int has_device_tests);

#endif
