/* Shared pieces of the glowcl command line: option tables, device flags, exit codes. The CLI
 * only parses, prints and maps statuses to exit codes; the work is library API. */
#ifndef GLOWCL_CLI_H
#define GLOWCL_CLI_H

#include <stddef.h>

#include "glowcl/flow.h"
#include "glowcl/runtime.h"

enum {
    EXIT_OK = 0,
    EXIT_FAILED = 1,  /* a check failed, training diverged */
    EXIT_USAGE = 2,   /* bad flags or values, unknown device */
    EXIT_INPUT = 3,   /* a file could not be read or written, or is malformed */
    EXIT_DEVICE = 4,  /* OpenCL error, kernel build failure, out of memory */
};

typedef enum { OPT_FLAG, OPT_INT, OPT_DOUBLE, OPT_STRING } cli_option_kind;

typedef struct cli_option {
    const char *long_name; /* without the dashes */
    char short_name;       /* 0 if none */
    cli_option_kind kind;
    void *target;          /* int*, long*, double* or const char** */
    const char *value_name;
    const char *help;
} cli_option;

/* The device flags every command takes. */
typedef struct cli_device_flags {
    int reference;
    long platform;
    const char *device;
    const char *type;
} cli_device_flags;

#define CLI_DEVICE_FLAGS_DEFAULT {0, -1, NULL, NULL}
#define CLI_DEVICE_OPTIONS(flags)                                                              \
    {"platform", 'p', OPT_INT, &(flags).platform, "N", "only devices of platform N"},          \
    {"device", 'd', OPT_STRING, &(flags).device, "N|P:D|NAME",                                 \
     "device by index, platform:device, or name substring; N,M,...: one per MPI process of "  \
     "a machine"},                                                                             \
    {"device-type", 't', OPT_STRING, &(flags).type, "TYPE",                                    \
     "gpu, cpu, accelerator or all"},                                                          \
    {"reference", 0, OPT_FLAG, &(flags).reference, NULL,                                       \
     "plain C reference path in double, no OpenCL"}

/* Parses argv[first..] against the table; positional arguments are collected in order.
 * Prints a message and returns EXIT_USAGE on an unknown flag or a bad value, -1 on --help
 * (after printing the usage), EXIT_OK otherwise. */
int cli_parse(int argc, char **argv, int first, const cli_option *options, size_t count,
              const char *usage, const char **positional, size_t max_positional,
              size_t *positional_count);

/* Turns the flags (and GLOWCL_DEVICE when no flag chooses) into a request. */
gc_device_request cli_device_request(const cli_device_flags *flags);

/* Opens the runtime the flags ask for and prints the chosen device in one line on stderr. On
 * failure prints the error (and, for an unknown device, the device list) and returns the exit
 * code; returns EXIT_OK on success. */
int cli_open_runtime(const cli_device_flags *flags, gc_runtime **rt_out);

/* Prints "glowcl: <message>" for a failed status and returns its exit code. */
int cli_fail(gc_status status);
int cli_exit_code(gc_status status);

/* Prints the device table (as `glowcl devices` does), marking `chosen` (-1: none). */
void cli_print_devices(FILE *out, const gc_device_info *devices, size_t count, long chosen);

int cli_make_dir(const char *path);

/* signals.c: graceful stops of the training loops. After cli_stop_install, the first SIGINT or
 * SIGTERM only sets a flag, which the loops check once per step: they finish the step, write
 * their checkpoint, say where it is and return cli_stop_exit_code() (130 for SIGINT, 143 for
 * SIGTERM). A second signal exits at once with 128 + its number, leaving the checkpoint as it
 * was. */
/* `checkpoint` (NULL for none) is the file the run saves to: a second signal removes the
 * temporary file of a save in progress. */
void cli_stop_install(const char *checkpoint);
/* Back to the default actions (the process ends at once), once the checkpoint is written. */
void cli_stop_uninstall(void);
int cli_stop_requested(void);  /* the signal received, or 0 */
int cli_stop_exit_code(void);  /* 128 + that signal, or EXIT_OK */
/* Takes `signal` as if received (another rank of a distributed run got it): this rank stops
 * and exits as that one does. */
void cli_stop_adopt(int signal);

/* train.c: --log FILE, every training step's loss (the global batch's mean NLL in nats) and
 * gradient norm, one tab-separated line per step after a "# step loss grad_norm" header;
 * appended to on --resume. Rank 0 alone writes it (*log stays NULL on the others and without
 * --log); EXIT_INPUT after a message if it cannot be opened. */
int cli_loss_log_open(const char *path, int append, FILE **log);
void cli_loss_log_write(FILE *log, long step, double loss, double grad_norm);
void cli_loss_log_close(FILE *log);
#define CLI_LOSS_LOG_HELP "write each step's loss and gradient norm to FILE (appended on --resume)"
#define CLI_SYNC_CHECK_HELP                                                                    \
    "in a run of several MPI processes, check every N steps (and at the end) that all hold "   \
    "the same parameters; 0: only at the end (100)"

/* train.c: what a training loop can still save when its device fails. A step's update counts
 * as good once the device has finished it without an error (gc_runtime_finish after the step);
 * `state` is the loop's state that goes with the model then, for an exact --resume. */
typedef struct cli_last_good {
    uint64_t model_steps; /* gc_model_steps of the good model */
    gc_train_state state;
} cli_last_good;
void cli_last_good_set(cli_last_good *good, const gc_model *model, long next_step,
                       uint64_t data_position, const gc_rng *rng);
/* After a device error (`error`: GC_ERR_OPENCL or GC_ERR_MEMORY) in a training loop: says what
 * failed; saves the last good state to `checkpoint` if the model on the device still is that
 * state (no update of the failed step had been started) and can be read back; otherwise keeps
 * the checkpoint on disk as it was and says which step it holds (`checkpoint_step`, -1 if this
 * run has written none). Returns the exit code of `error`. */
int cli_device_failure(gc_model *model, gc_status error, const cli_last_good *good,
                       const char *checkpoint, long checkpoint_step);

int cmd_devices(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_train_images(int argc, char **argv);

struct gc_image_set;
struct gc_model;
/* images.c: "cifar10:DIR" or "png:DIR" → a split; bits/dim of a model; a sample grid PNG. */
int cli_load_images(const char *spec, const char *split, size_t max_images,
                    struct gc_image_set *set);
/* "store" or "low" (--memory) → the model's memory mode; EXIT_USAGE with a message if neither. */
int cli_memory_mode(const char *name, int *low);

/* max |decode(encode(x)) − x| over n points of dimension dim. */
gc_status cli_reconstruction_error(struct gc_model *model, const double *x, size_t n, size_t dim,
                                   double *worst);
gc_status cli_bits_per_dim(struct gc_model *model, const struct gc_image_set *set, size_t limit,
                           int n_bits, double *mean, double *se, double *reconstruction);
gc_status cli_sample_grid(struct gc_model *model, const char *path, int count,
                          double temperature, uint64_t seed, int n_bits);
int cmd_eval(int argc, char **argv);

#endif
