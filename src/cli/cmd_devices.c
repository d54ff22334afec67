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

int cmd_devices(int argc, char **argv)
{
    cli_device_flags flags = CLI_DEVICE_FLAGS_DEFAULT;
    const char *forced_set = NULL; /* the kernel set --kernels or GLOWCL_KERNELS asks for */
    int json = 0;
    cli_option options[] = {
        {"json", 0, OPT_FLAG, &json, NULL, "print the list as JSON"},
        CLI_DEVICE_OPTIONS(flags),
    };
    int rc = cli_parse(argc, argv, 2, options, sizeof options / sizeof options[0],
                       "Usage: glowcl devices [--json] [device flags]\n"
                       "Lists every OpenCL platform and device, with the kernel shapes and the "
                       "kernel set each gets by default,\nand marks the one the device flags (or "
                       "GLOWCL_DEVICE) choose.",
                       NULL, 0, NULL);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if ((rc = cli_kernel_set(&flags, &forced_set))) return rc;

    gc_device_info *devices = NULL;
    size_t count = 0;
    gc_status status = gc_devices_list(&devices, &count);
    if (status != GC_OK) return cli_fail(status);

    gc_device_request request = cli_device_request(&flags);
    long chosen = -1;
    if (!request.reference && count > 0) {
        size_t order[count];
        size_t candidates = 0;
        int explicit_choice = 0;
        status = gc_device_rank(devices, count, &request, order, &candidates, &explicit_choice);
        if (status != GC_OK) {
            int code = cli_fail(status);
            cli_print_devices(stderr, devices, count, -1);
            gc_devices_free(devices);
            return code;
        }
        chosen = (long)order[0];
    } else if (!request.reference && (request.device || request.type || request.platform >= 0)) {
        status = GC_ERROR(GC_ERR_NO_DEVICE, "no OpenCL device found");
        gc_devices_free(devices);
        return cli_fail(status);
    }
    if (json) {
        print_json(stdout, devices, count, chosen, forced_set);
    } else {
        cli_print_devices(stdout, devices, count, chosen);
        if (chosen >= 0 && forced_set)
            printf("  with the %s kernel set (--kernels or GLOWCL_KERNELS)\n", forced_set);
    }
    gc_devices_free(devices);
    return EXIT_OK;
}
