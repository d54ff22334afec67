/* The Check harness shared by the test programs; see harness.h. */
#include "harness.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int device_count = -1;

int gc_test_device_count(void)
{
    if (device_count >= 0) return device_count;
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        gc_device_info *devices = NULL;
        size_t count = 0;
        if (gc_devices_list(&devices, &count) != GC_OK) _exit(255);
        gc_devices_free(devices);
        _exit(count > 100 ? 100 : (int)count);
    }
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) == 255) {
        fprintf(stderr, "harness: could not count OpenCL devices\n");
        device_count = 0;
    } else {
        device_count = WEXITSTATUS(status);
    }
    return device_count;
}

gc_runtime *gc_test_open_device(int index)
{
    char spec[16];
    snprintf(spec, sizeof spec, "%d", index);
    gc_runtime_options options = {.request = GC_DEVICE_REQUEST_DEFAULT, .log = stderr};
    options.request.device = spec;
    gc_runtime *rt = NULL;
    gc_status status = gc_runtime_open(&rt, &options);
    ck_assert_msg(status == GC_OK, "cannot open OpenCL device %d: %s", index, gc_last_error());
    ck_assert_int_eq(gc_runtime_backend(rt), GC_BACKEND_OPENCL);
    return rt;
}

gc_runtime *gc_test_open_reference(void)
{
    gc_runtime *rt = NULL;
    ck_assert_msg(gc_runtime_open_reference(&rt) == GC_OK, "%s", gc_last_error());
    return rt;
}

uint64_t gc_test_seed(void)
{
    static uint64_t seed;
    static int chosen;
    if (!chosen) {
        const char *env = getenv("GLOWCL_TEST_SEED");
        seed = env && *env ? strtoull(env, NULL, 10)
                           : ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
        chosen = 1;
    }
    return seed;
}

void gc_test_assert_report(const gc_check_report *report, const char *what)
{
    ck_assert_msg(report->count > 0, "%s: no checks ran", what);
    for (size_t i = 0; i < report->count; i++) {
        const gc_check_row *r = &report->rows[i];
        ck_assert_msg(r->passed, "%s: %s: %s = %.3e > %.1e (GLOWCL_TEST_SEED=%" PRIu64 ")", what,
                      r->name, r->measure, r->error, r->tolerance, gc_test_seed());
    }
}

void gc_test_add_device_loop(TCase *tc, const TTest *test)
{
    int n = gc_test_device_count();
    if (n > 0) tcase_add_loop_test(tc, test, 0, n);
}

int gc_test_run(Suite *suite, int has_device_tests)
{
    int devices = gc_test_device_count();
    printf("test seed %" PRIu64 " (rerun with GLOWCL_TEST_SEED=%" PRIu64 "); %d OpenCL device%s\n",
           gc_test_seed(), gc_test_seed(), devices, devices == 1 ? "" : "s");
    fflush(stdout); /* or Check's forked children print the buffered line again */
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    if (failed) return 1;
    if (has_device_tests && devices == 0) {
        printf("SKIP: no OpenCL device on this machine, the OpenCL tests did not run\n");
        return 77;
    }
    return 0;
}

void gc_test_remove_tree(const char *path)
{
    struct stat info;
    if (lstat(path, &info) != 0) return;
    DIR *listing = S_ISDIR(info.st_mode) ? opendir(path) : NULL;
    if (!listing) {
        remove(path);
        return;
    }
    struct dirent *entry;
    while ((entry = readdir(listing)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
        gc_test_remove_tree(child);
    }
    closedir(listing);
    rmdir(path);
}
