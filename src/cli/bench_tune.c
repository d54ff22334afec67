/* `glowcl bench --tune` and `--list-shapes` (bench_tune.h). */
#include "bench_tune.h"

#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "exit_codes.h"
#include "glowcl/bench.h"

int cli_bench_list_shapes(void)
{
    printf("# NAME WORKLOAD UNIT-TESTS VALUE...: the kernel shapes glowcl bench --tune chooses "
           "among\n");
    gc_tune_parameter p;
    int rc = EXIT_OK;
    for (size_t i = 0; gc_tune_parameter_at(i, &p); i++) {
        printf("%s %s %s", p.name, p.workload ? p.workload : "-",
               p.unit_tests ? p.unit_tests : "-");
        for (size_t k = 0; p.values[k]; k++) printf(" %u", p.values[k]);
        printf("\n");
        if (!p.workload) {
            fprintf(stderr, "glowcl: no workload times the kernel shape %s (src/core/shapes.c)\n",
                    p.name);
            rc = EXIT_FAILED;
        }
    }
    return rc;
}

static void print_result(const gc_tune_result *r)
{
    char cells[512] = "";
    size_t fastest = 0;
    for (size_t k = 1; k < r->count; k++)
        if (r->seconds[k] < r->seconds[fastest]) fastest = k;
    for (size_t k = 0; k < r->count; k++) {
        size_t used = strlen(cells);
        snprintf(cells + used, sizeof cells - used, "%s%u: %.3f%s", k ? "  " : "",
                 r->parameter.values[k], 1e3 * r->seconds[k], k == fastest ? "*" : "");
    }
    printf("%-16s %-10s %-46s %7u %7u\n", r->parameter.name, r->parameter.workload, cells,
           r->initial, r->best);
}

int cli_bench_tune(const cli_device_flags *flags, int quick)
{
    gc_runtime_options options;
    int rc = cli_runtime_options(flags, &options);
    if (rc) return rc;
    static gc_tune_report report; /* 4 KiB of path and a device's details: not for the stack */
    gc_status status = gc_tune(&options, quick, stderr, &report);
    if (status != GC_OK) return cli_fail(status);
    printf("glowcl bench --tune on %s (%s, driver %s)%s\n", report.device.name,
           report.device.platform_name, report.device.driver_version,
           quick ? ", --quick: a few steps a candidate, the choice is noise" : "");
    printf("%-16s %-10s %-46s %7s %7s\n", "parameter", "workload",
           "value: ms a run of the workload (* fastest)", "default", "chosen");
    for (size_t i = 0; i < report.count; i++) print_result(&report.results[i]);
    if (report.count == 0) printf("(no kernel shape has more than one allowed value)\n");
    printf("chosen: the fastest value where it beats the default by 3 %% or more (best of %s)\n",
           quick ? "1 round" : "3 rounds over the values");
    printf("written to %s: every glowcl run on this device uses it (GLOWCL_TUNE=off: not)\n",
           report.cache_path);
    return EXIT_OK;
}
