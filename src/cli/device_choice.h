/* The device flags every command takes, and opening the runtime (and a model file) they
 * choose. */
#ifndef GLOWCL_CLI_DEVICE_CHOICE_H
#define GLOWCL_CLI_DEVICE_CHOICE_H

#include <stdio.h>

#include "glowcl/flow.h"
#include "glowcl/runtime.h"
#include "options.h"

typedef struct cli_device_flags {
    int reference;
    long platform;
    const char *device;
    const char *type;
    const char *kernels; /* --kernels: "auto", "cpu", "gpu" or NULL (GLOWCL_KERNELS decides) */
} cli_device_flags;

#define CLI_DEVICE_FLAGS_DEFAULT                                                                   \
    {                                                                                              \
        0, -1, NULL, NULL, NULL                                                                    \
    }
/* The device flags' rows of an option table; they may also stand before the command
 * (main.c moves them after it). */
#define CLI_DEVICE_OPTIONS(flags)                                                                  \
    {"platform", 'p', OPT_INT, &(flags).platform, "N", "only devices of platform N"},              \
        {"device",                                                                                 \
         'd',                                                                                      \
         OPT_STRING,                                                                               \
         &(flags).device,                                                                          \
         "N|P:D|NAME",                                                                             \
         "device by index, platform:device, or name substring; N,M,...: one per MPI process of "   \
         "a machine"},                                                                             \
        {"device-type", 't', OPT_STRING, &(flags).type, "TYPE", "gpu, cpu, accelerator or all"},   \
        {"kernels",                                                                                \
         0,                                                                                        \
         OPT_STRING,                                                                               \
         &(flags).kernels,                                                                         \
         "auto|cpu|gpu",                                                                           \
         "kernel set: auto (GPUs and accelerators gpu, CPUs cpu), cpu or gpu; GLOWCL_KERNELS "     \
         "overrides it"},                                                                          \
    {                                                                                              \
        "reference", 0, OPT_FLAG, &(flags).reference, NULL,                                        \
            "plain C reference path in double, no OpenCL"                                          \
    }

/* Turns the flags (and GLOWCL_DEVICE when no flag chooses) into a request. */
gc_device_request cli_device_request(const cli_device_flags *flags);
/* The kernel set --kernels and GLOWCL_KERNELS ask for ("cpu", "gpu", or NULL: each device's
 * own) in *set: EXIT_OK, or EXIT_USAGE after a message naming the values allowed. */
int cli_kernel_set(const cli_device_flags *flags, const char **set);
/* The runtime options the flags ask for (the device, the kernel set; the log on stderr):
 * EXIT_OK, or an exit code after a message. */
int cli_runtime_options(const cli_device_flags *flags, gc_runtime_options *options);

/* Opens the runtime the flags ask for and prints the chosen device in one line on stderr. On
 * failure prints the error (and, for an unknown device, the device list) and returns the exit
 * code; returns EXIT_OK on success. */
int cli_open_runtime(const cli_device_flags *flags, gc_runtime **rt_out);
/* --model FILE (`path`, NULL if not given) on the runtime the flags choose: EXIT_OK, or an
 * exit code after a message (with nothing left open). */
int cli_open_model(const cli_device_flags *flags, const char *path, gc_runtime **rt,
                   gc_model **model);

/* Prints the device table (as `glowcl devices` does), marking `chosen` (-1: none). */
void cli_print_devices(FILE *out, const gc_device_info *devices, size_t count, long chosen);

#endif
