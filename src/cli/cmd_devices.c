/* `glowcl devices`: every OpenCL platform and device, as a table or as JSON, with the device the
 * given flags would choose marked. */
#include <stdio.h>
#include <string.h>

#include "cmd_devices.h"
#include "device_choice.h"
#include "errors.h"
#include "exit_codes.h"
#include "options.h"

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* `forced_set`: the kernel set --kernels or GLOWCL_KERNELS asks for (NULL: the chosen device
 * runs its own). */
static void print_json(FILE *out, const gc_device_info *devices, size_t count, long chosen,
                       const char *forced_set)
{
    fprintf(out, "{\n  \"devices\": [");
    for (size_t i = 0; i < count; i++) {
        const gc_device_info *d = &devices[i];
        fprintf(out, "%s\n    {\"index\": %d, \"platform_index\": %d, \"device_index\": %d, ",
                i ? "," : "", d->index, d->platform_index, d->device_index);
        fprintf(out, "\"type\": ");
        json_string(out, gc_device_kind_name(d->kind));
        fprintf(out, ", \"integrated\": %s, \"vendor\": ", d->integrated ? "true" : "false");
        json_string(out, d->vendor);
        fprintf(out, ", \"name\": ");
        json_string(out, d->name);
        fprintf(out, ", \"platform\": ");
        json_string(out, d->platform_name);
        fprintf(out, ", \"platform_version\": ");
        json_string(out, d->platform_version);
        fprintf(out, ", \"driver_version\": ");
        json_string(out, d->driver_version);
        fprintf(out, ", \"opencl_c_version\": ");
        json_string(out, d->opencl_c_version);
        fprintf(out,
                ", \"compute_units\": %u, \"global_mem_bytes\": %llu, \"local_mem_bytes\": %llu, "
                "\"max_alloc_bytes\": %llu, \"max_work_group_size\": %zu, \"fp64\": %s, "
                "\"native_vector_width_float\": %u, \"kernel_class\": \"%s\", "
                "\"kernel_set\": \"%s\"}",
                d->compute_units, (unsigned long long)d->global_mem_bytes,
                (unsigned long long)d->local_mem_bytes, (unsigned long long)d->max_alloc_bytes,
                d->max_work_group_size, d->fp64 ? "true" : "false", d->native_vector_width_float,
                gc_device_class(d), gc_device_kernel_set(d));
    }
    fprintf(out, "%s],\n  \"chosen\": ", count ? "\n  " : "");
    if (chosen >= 0)
        fprintf(out, "%ld,\n  \"chosen_kernel_set\": \"%s\"\n}\n", chosen,
                forced_set ? forced_set : gc_device_kernel_set(&devices[chosen]));
    else
        fprintf(out, "null,\n  \"chosen_kernel_set\": null\n}\n");
}

/* The device the flags choose, as `chosen` (-1: none, on the reference path or with no device):
 * EXIT_OK, or an exit code after a message (and the list, for a device not found). */
static int chosen_device(const cli_device_flags *flags, const gc_device_info *devices, size_t count,
                         long *chosen)
{
    gc_device_request request = cli_device_request(flags);
    *chosen = -1;
    if (!request.reference && count > 0) {
        size_t order[count];
        size_t candidates = 0;
        int explicit_choice = 0;
        gc_status status =
            gc_device_rank(devices, count, &request, order, &candidates, &explicit_choice);
        if (status != GC_OK) {
            int code = cli_fail(status);
            cli_print_devices(stderr, devices, count, -1);
            return code;
        }
        *chosen = (long)order[0];
    } else if (!request.reference && (request.device || request.type || request.platform >= 0)) {
        return cli_fail(GC_ERROR(GC_ERR_NO_DEVICE, "no OpenCL device found"));
    }
    return EXIT_OK;
}

/* --build-options: how glowcl builds each program for a device class and kernel set, one line
 * a program (file, headers in order or "-", build options; tab-separated), for building the
 * kernels the same way outside glowcl (tools/gpu-regs.sh). */
static int print_build_options(const char *device_class, const char *kernel_set)
{
    gc_program_build *builds = NULL;
    size_t count = 0;
    gc_status status = gc_program_builds(device_class, kernel_set, &builds, &count);
    if (status != GC_OK) return cli_fail(status);
    printf("# glowcl's programs on a device of class %s with the %s kernel set: file, the headers "
           "put in front of it (in order; - for none), build options; tab-separated\n",
           device_class, count ? builds[0].kernel_set : "");
    for (size_t i = 0; i < count; i++) {
        printf("%s\t", builds[i].file);
        for (int h = 0; h < GC_PROGRAM_HEADERS_MAX && builds[i].headers[h]; h++)
            printf("%s%s", h ? "," : "", builds[i].headers[h]);
        printf("%s\t%s\n", builds[i].headers[0] ? "" : "-", builds[i].options);
    }
    gc_program_builds_free(builds);
    return EXIT_OK;
}

int cmd_devices(int argc, char **argv)
{
    cli_device_flags flags = CLI_DEVICE_FLAGS_DEFAULT;
    const char *forced_set = NULL; /* the kernel set --kernels or GLOWCL_KERNELS asks for */
    int json = 0, build_options = 0;
    const char *device_class = NULL;
    cli_option options[] = {
        {"json", 0, OPT_FLAG, &json, NULL, "print the list as JSON"},
        {"build-options", 0, OPT_FLAG, &build_options, NULL,
         "print each program's kernel file, headers and build options instead (for the chosen "
         "device, or --class), as glowcl builds them with --kernels"},
        {"class", 0, OPT_STRING, &device_class, "CLASS",
         "with --build-options: the device class, cpu-avx512, cpu-avx2 or gpu"},
        CLI_DEVICE_OPTIONS(flags),
    };
    int rc = cli_parse(argc, argv, 2, options, sizeof options / sizeof options[0],
                       "Usage: glowcl devices [--json] [device flags]\n"
                       "       glowcl devices --build-options [--class CLASS] [device flags]\n"
                       "Lists every OpenCL platform and device, with the kernel shapes and the "
                       "kernel set each gets by default,\nand marks the one the device flags (or "
                       "GLOWCL_DEVICE) choose.",
                       NULL, 0, NULL);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if ((rc = cli_kernel_set(&flags, &forced_set))) return rc;
    if (device_class && !build_options) {
        fprintf(stderr, "glowcl: --class goes with --build-options\n");
        return EXIT_USAGE;
    }
    if (json && build_options) {
        fprintf(stderr, "glowcl: --build-options prints a table, not JSON: give one of them\n");
        return EXIT_USAGE;
    }
    /* With a class named, the build options need no device at all. */
    if (device_class) return print_build_options(device_class, forced_set);

    gc_device_info *devices = NULL;
    size_t count = 0;
    long chosen = -1;
    gc_status status = gc_devices_list(&devices, &count);
    if (status != GC_OK) return cli_fail(status);
    if ((rc = chosen_device(&flags, devices, count, &chosen))) {
        gc_devices_free(devices);
        return rc;
    }
    if (build_options && chosen < 0) {
        fprintf(stderr, "glowcl: --build-options: no OpenCL device is chosen, so name its class "
                        "with --class\n");
        rc = EXIT_USAGE;
    } else if (build_options) {
        rc = print_build_options(gc_device_class(&devices[chosen]), forced_set);
    } else if (json) {
        print_json(stdout, devices, count, chosen, forced_set);
    } else {
        cli_print_devices(stdout, devices, count, chosen);
        if (chosen >= 0 && forced_set)
            printf("  with the %s kernel set (--kernels or GLOWCL_KERNELS)\n", forced_set);
    }
    gc_devices_free(devices);
    return rc;
}
