/* The device flags and opening the runtime and model they choose (device_choice.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_choice.h"
#include "distributed.h"
#include "errors.h"
#include "exit_codes.h"

gc_device_request cli_device_request(const cli_device_flags *flags)
{
    gc_device_request request = GC_DEVICE_REQUEST_DEFAULT;
    request.reference = flags->reference;
    request.platform = (int)flags->platform;
    request.device = flags->device;
    request.type = flags->type;
    /* GLOWCL_DEVICE is a default: any device flag on the command line replaces it. */
    const char *env = getenv("GLOWCL_DEVICE");
    int flag_given = flags->reference || flags->platform >= 0 || flags->device || flags->type;
    if (env && *env && !flag_given) {
        if (strcmp(env, "reference") == 0)
            request.reference = 1;
        else
            request.device = env;
    }
    return request;
}

int cli_kernel_set(const cli_device_flags *flags, const char **set)
{
    gc_status status = gc_kernel_set_requested(flags->kernels, "--kernels", set);
    return status == GC_OK ? EXIT_OK : cli_fail(status);
}

int cli_runtime_options(const cli_device_flags *flags, gc_runtime_options *options)
{
    *options = (gc_runtime_options){
        .request = cli_device_request(flags), .log = stderr, .kernels = flags->kernels};
    /* Checked here so that the message names the flag; the library checks again for its
     * other callers. */
    const char *set = NULL;
    return cli_kernel_set(flags, &set);
}

static void format_bytes(char *out, size_t size, uint64_t bytes)
{
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = (double)bytes;
    int unit = 0;
    while (value >= 1024.0 && unit < 4) {
        value /= 1024.0;
        unit++;
    }
    snprintf(out, size, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
}

void cli_print_devices(FILE *out, const gc_device_info *devices, size_t count, long chosen)
{
    if (count == 0) {
        fprintf(out, "No OpenCL devices found (is an ICD such as pocl-opencl-icd installed?).\n"
                     "glowcl can still run the reference path: --reference.\n");
        return;
    }
    fprintf(out, "OpenCL devices (indices are 0-based; choose with -d N, -d P:D or -d NAME):\n");
    for (size_t i = 0; i < count; i++) {
        const gc_device_info *d = &devices[i];
        char global[32], local[32], alloc[32];
        format_bytes(global, sizeof global, d->global_mem_bytes);
        format_bytes(local, sizeof local, d->local_mem_bytes);
        format_bytes(alloc, sizeof alloc, d->max_alloc_bytes);
        fprintf(out, "%c %d  %d:%d  %s%s  %s\n", (long)i == chosen ? '*' : ' ', d->index,
                d->platform_index, d->device_index,
                d->kind == GC_DEVICE_GPU ? (d->integrated ? "integrated " : "discrete ") : "",
                gc_device_kind_name(d->kind), d->name);
        fprintf(out, "       vendor %s; platform %s (%s); driver %s\n", d->vendor, d->platform_name,
                d->platform_version, d->driver_version);
        fprintf(out, "       kernel shapes for %s; kernel set %s\n", gc_device_class(d),
                gc_device_kernel_set(d));
        fprintf(out, "       %u compute units; %s global memory (max buffer %s); %s local memory\n",
                d->compute_units, global, alloc, local);
        fprintf(out, "       max work-group %zu; %s; fp64 %s\n", d->max_work_group_size,
                d->opencl_c_version, d->fp64 ? "yes" : "no");
    }
    if (chosen >= 0) fprintf(out, "* the device glowcl uses with these flags\n");
}

int cli_open_runtime(const cli_device_flags *flags, gc_runtime **rt_out)
{
    gc_runtime_options options;
    int rc = cli_runtime_options(flags, &options);
    if (rc) return rc;
    char chosen[64]; /* the device index this rank takes in a distributed run */
    if ((rc = cli_dist_device_request(&options.request, chosen, sizeof chosen))) return rc;
    gc_status status = gc_runtime_open(rt_out, &options);
    if (status == GC_OK) { /* every rank says which device it took */
        fprintf(cli_dist_errors(), "glowcl: %susing %s\n", cli_dist_prefix(),
                gc_runtime_description(*rt_out));
        return EXIT_OK;
    }
    int code = cli_fail(status);
    if (status == GC_ERR_NO_DEVICE) {
        gc_device_info *devices = NULL;
        size_t count = 0;
        if (gc_devices_list(&devices, &count) == GC_OK) {
            cli_print_devices(stderr, devices, count, -1);
            gc_devices_free(devices);
        }
    }
    return code;
}

int cli_open_model(const cli_device_flags *flags, const char *path, gc_runtime **rt,
                   gc_model **model)
{
    if (!path) {
        fprintf(stderr, "glowcl: --model FILE is required\n");
        return EXIT_USAGE;
    }
    int rc = cli_open_runtime(flags, rt);
    if (rc) return rc;
    gc_status status = gc_model_load(model, *rt, path);
    if (status != GC_OK) {
        gc_runtime_close(*rt);
        return cli_fail(status);
    }
    return EXIT_OK;
}
