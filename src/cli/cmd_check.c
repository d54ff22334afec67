/* `glowcl check`: runs the self-checks on the chosen device against the reference path and
 * prints one row per check with its measured error and tolerance; exits 1 if any row fails. */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cmd_check.h"
#include "device_choice.h"
#include "errors.h"
#include "exit_codes.h"
#include "options.h"
#include "glowcl/check.h"

static void print_report(const gc_check_report *report)
{
    printf("%-50s %-32s %12s %12s  %s\n", "check", "measure", "error", "tolerance", "result");
    for (size_t i = 0; i < report->count; i++) {
        const gc_check_row *r = &report->rows[i];
        printf("%-50s %-32s %12.3e %12.1e  %s\n", r->name, r->measure, r->error, r->tolerance,
               r->passed ? "ok" : "FAIL");
    }
}

int cmd_check(int argc, char **argv)
{
    cli_device_flags flags = CLI_DEVICE_FLAGS_DEFAULT;
    long seed = -1;
    int skip_gemm = 0, full_image = 0;
    cli_option options[] = {
        {"seed", 's', OPT_INT, &seed, "N", "seed of the random inputs (default: from the clock)"},
        {"no-gemm", 0, OPT_FLAG, &skip_gemm, NULL,
         "skip the CLBlast GEMM rows (its first call compiles for 10-30 s)"},
        {"full-image", 0, OPT_FLAG, &full_image, NULL,
         "also check the full default image model (3x32x32, L=3, K=16, hidden 512) at batch 2: "
         "loss and gradient against the reference (a few minutes)"},
        CLI_DEVICE_OPTIONS(flags),
    };
    int rc = cli_parse(argc, argv, 2, options, sizeof options / sizeof options[0],
                       "Usage: glowcl check [--seed N] [--full-image] [device flags]\n"
                       "Compares every OpenCL operation on the chosen device with the reference "
                       "path on fresh random inputs.",
                       NULL, 0, NULL);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (seed < 0) seed = (long)(time(NULL) ^ (getpid() << 16));

    gc_runtime *rt = NULL;
    rc = cli_open_runtime(&flags, &rt);
    if (rc) return rc;
    printf("seed %ld\n", seed);
    gc_check_report report = {0};
    gc_status status = GC_OK;
    if (gc_runtime_backend(rt) == GC_BACKEND_OPENCL) {
        status = gc_check_tensor_ops(rt, (uint64_t)seed, &report);
        if (status == GC_OK && !skip_gemm) status = gc_check_gemm(rt, (uint64_t)seed + 1, &report);
    } else {
        printf("reference path: the rows comparing a device with the reference are skipped\n");
    }
    if (status == GC_OK) status = gc_check_flows(rt, (uint64_t)seed + 2, &report);
    if (status == GC_OK && full_image)
        status = gc_check_full_image_model(rt, (uint64_t)seed + 3, &report);
    gc_runtime_close(rt);
    if (status != GC_OK) {
        gc_check_report_free(&report);
        return cli_fail(status);
    }
    print_report(&report);
    size_t failures = gc_check_failures(&report);
    printf("%zu of %zu checks passed\n", report.count - failures, report.count);
    gc_check_report_free(&report);
    return failures ? EXIT_FAILED : EXIT_OK;
}
