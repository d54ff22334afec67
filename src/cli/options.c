/* Option parsing, device choice and error reporting shared by every glowcl command. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "distributed.h"

static void print_usage(FILE *out, const char *usage, const cli_option *options, size_t count)
{
    fprintf(out, "%s\n\nOptions:\n", usage);
    for (size_t i = 0; i < count; i++) {
        const cli_option *o = &options[i];
        char left[64];
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->long_name,
                     o->value_name ? " " : "", o->value_name ? o->value_name : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->long_name, o->value_name ? " " : "",
                     o->value_name ? o->value_name : "");
        fprintf(out, "  %-30s %s\n", left, o->help);
    }
    fprintf(out, "  %-30s %s\n", "-h, --help", "show this help");
}

static int store_value(const cli_option *o, const char *value)
{
    char *end = NULL;
    errno = 0;
    switch (o->kind) {
    case OPT_INT: {
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end) {
            fprintf(stderr, "glowcl: --%s expects an integer, got '%s'\n", o->long_name, value);
            return EXIT_USAGE;
        }
        *(long *)o->target = v;
        return EXIT_OK;
    }
    case OPT_DOUBLE: {
        double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v)) {
            fprintf(stderr, "glowcl: --%s expects a number, got '%s'\n", o->long_name, value);
            return EXIT_USAGE;
        }
        *(double *)o->target = v;
        return EXIT_OK;
    }
    case OPT_STRING:
        *(const char **)o->target = value;
        return EXIT_OK;
    case OPT_FLAG:
        *(int *)o->target = 1;
        return EXIT_OK;
    }
    return EXIT_USAGE;
}

int cli_parse(int argc, char **argv, int first, const cli_option *options, size_t count,
              const char *usage, const char **positional, size_t max_positional,
              size_t *positional_count)
{
    size_t positionals = 0;
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            print_usage(stdout, usage, options, count);
            return -1;
        }
        if (arg[0] != '-' || arg[1] == '\0' || (arg[1] >= '0' && arg[1] <= '9')) {
            if (positionals >= max_positional) {
                fprintf(stderr, "glowcl: unexpected argument '%s' (see --help)\n", arg);
                return EXIT_USAGE;
            }
            positional[positionals++] = arg;
            continue;
        }
        const cli_option *match = NULL;
        const char *inline_value = NULL;
        if (arg[1] == '-') {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t length = eq ? (size_t)(eq - name) : strlen(name);
            for (size_t k = 0; k < count && !match; k++)
                if (strlen(options[k].long_name) == length &&
                    strncmp(options[k].long_name, name, length) == 0)
                    match = &options[k];
            if (eq) inline_value = eq + 1;
        } else {
            for (size_t k = 0; k < count && !match; k++)
                if (options[k].short_name == arg[1]) match = &options[k];
            if (match && arg[2]) inline_value = arg + 2;
        }
        if (!match) {
            fprintf(stderr, "glowcl: unknown option '%s' (see --help)\n", arg);
            return EXIT_USAGE;
        }
        if (match->kind == OPT_FLAG) {
            if (inline_value) {
                fprintf(stderr, "glowcl: --%s takes no value\n", match->long_name);
                return EXIT_USAGE;
            }
            *(int *)match->target = 1;
            continue;
        }
        const char *value = inline_value;
        if (!value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "glowcl: --%s needs a value\n", match->long_name);
                return EXIT_USAGE;
            }
            value = argv[++i];
        }
        int rc = store_value(match, value);
        if (rc != EXIT_OK) return rc;
    }
    if (positional_count) *positional_count = positionals;
    return EXIT_OK;
}

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

int cli_exit_code(gc_status status)
{
    switch (status) {
    case GC_OK: return EXIT_OK;
    case GC_ERR_ARGUMENT:
    case GC_ERR_NO_DEVICE: return EXIT_USAGE;
    case GC_ERR_IO:
    case GC_ERR_FORMAT: return EXIT_INPUT;
    case GC_ERR_NUMERIC: return EXIT_FAILED;
    default: return EXIT_DEVICE;
    }
}

int cli_fail(gc_status status)
{
    fprintf(cli_dist_errors(), "glowcl: %s%s\n", cli_dist_prefix(), gc_last_error());
    return cli_exit_code(status);
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
        fprintf(out, "       vendor %s; platform %s (%s); driver %s\n", d->vendor,
                d->platform_name, d->platform_version, d->driver_version);
        fprintf(out, "       %u compute units; %s global memory (max buffer %s); %s local memory\n",
                d->compute_units, global, alloc, local);
        fprintf(out, "       max work-group %zu; %s; fp64 %s\n", d->max_work_group_size,
                d->opencl_c_version, d->fp64 ? "yes" : "no");
    }
    if (chosen >= 0) fprintf(out, "* the device glowcl uses with these flags\n");
}

int cli_open_runtime(const cli_device_flags *flags, gc_runtime **rt_out)
{
    gc_runtime_options options = {cli_device_request(flags), stderr, NULL};
    char chosen[64]; /* the device index this rank takes in a distributed run */
    int rc = cli_dist_device_request(&options.request, chosen, sizeof chosen);
    if (rc) return rc;
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

/* mkdir that also makes one missing parent (for the default runs/NAME); 1 on success. */
int cli_make_dir(const char *path)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST) return 1;
    /* one level of parents, for the default runs/NAME */
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        if (mkdir(parent, 0777) != 0 && errno != EEXIST) return 0;
        return mkdir(path, 0777) == 0 || errno == EEXIST;
    }
    return 0;
}
