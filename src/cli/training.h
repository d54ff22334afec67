/* The training-step policy every trainer follows (train_points.c, train_images.c): a step is
 * good once the device has finished it without an error; a step whose loss or gradient is not
 * finite is skipped with a warning, and five in a row stop the run; the last good state is
 * kept, for what a device failure can still save; each good step's loss goes to --log; the
 * ranks of a distributed run check that they still hold the same parameters; a time budget
 * ends the run like a step count. */
#ifndef GLOWCL_CLI_TRAINING_H
#define GLOWCL_CLI_TRAINING_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "glowcl/flow.h"
#include "progress.h"

#define CLI_LOSS_LOG_HELP "write each step's loss and gradient norm to FILE (appended on --resume)"
#define CLI_SYNC_CHECK_HELP                                                                        \
    "in a run of several MPI processes, check every N steps (and at the end) that all hold "       \
    "the same parameters; 0: only at the end (100)"

/* What a training loop can still save when its device fails. */
typedef struct cli_last_good {
    uint64_t model_steps; /* gc_model_steps of the good model */
    gc_train_state state; /* the loop's state that goes with it, for an exact --resume */
} cli_last_good;

typedef struct cli_training {
    /* Set by the trainer. */
    gc_model *model;
    gc_runtime *rt;
    long end;                  /* the run trains to this step; a time budget may bring it in */
    double minutes;            /* the time budget (0: none) */
    long sync_every;           /* --sync-check */
    const char *diverged_hint; /* what to try when steps keep failing, e.g. "a smaller --lr" */
    const char *checkpoint;    /* the file the run saves to (NULL: none) */
    long checkpoint_step;      /* the step that file holds (-1: this run has written none) */
    int progress_bar;          /* a progress bar is on the terminal's line: end it on errors */
    /* Kept by the policy. */
    FILE *loss_log; /* --log, on rank 0 (NULL elsewhere and without --log) */
    cli_progress progress;
    int bad_in_a_row;
    cli_last_good good;
} cli_training;

/* --log FILE, opened before any training: every good step's loss (the global batch's mean NLL
 * in nats) and gradient norm, one tab-separated line per step after a "# step loss grad_norm"
 * header; appended to on --resume. Rank 0 alone writes it (*log stays NULL on the others and
 * without --log); EXIT_INPUT after a message if it cannot be opened. */
int cli_loss_log_open(const char *path, int append, FILE **log);
void cli_loss_log_close(FILE *log);

/* Before the first step, `first`; `data_position` and `rng` are the state of the loop's data
 * stream then. `progress_interval`: seconds between progress lines. */
void cli_training_start(cli_training *t, long first, uint64_t data_position, const gc_rng *rng,
                        double progress_interval);
/* Step `step` on the global batch x (batch × dim; the same on every rank), after which the
 * data stream is at `data_position` and `rng`: trains, finishes it on the device, and applies
 * the policy. EXIT_OK to go on (*good: the step counted, 0 if it was skipped), or the exit
 * code to stop with, after the message. */
int cli_training_step(cli_training *t, long step, const double *x, size_t batch, size_t dim,
                      const gc_adam_config *adam, uint64_t data_position, const gc_rng *rng,
                      double *loss, int *good);
/* A failure in the loop besides the step's (the data, a periodic test): after a device error
 * (GC_ERR_OPENCL or GC_ERR_MEMORY) says what failed and saves the last good state to the
 * checkpoint if the model on the device still is that state (no update of the failed step had
 * been started) and can be read back, or else says which step the checkpoint on disk holds;
 * any other error is said as it is. Returns the exit code. */
int cli_training_fail(cli_training *t, gc_status status);
/* Rank 0 has saved step `step` to the checkpoint. */
void cli_training_saved(cli_training *t, long step);
/* Closes --log. */
void cli_training_finish(cli_training *t);

/* Learning-rate schedules: cosine decay from lr to floor · lr over `steps`, and a linear
 * warm-up over the first `warmup` steps. */
double cli_lr_cosine(double lr, double floor, long step, long steps);
double cli_lr_warmup(double lr, long warmup, long step);

/* The largest --batch of the point trainers (affine, moons, csv), in points. */
#define CLI_MAX_POINT_BATCH 1000000L
/* EXIT_OK if 1 <= batch <= CLI_MAX_POINT_BATCH, else EXIT_USAGE after a message that says so. */
int cli_check_point_batch(long batch);

#endif
