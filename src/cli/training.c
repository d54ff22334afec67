/* The training-step policy every trainer follows (training.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "distributed.h"
#include "errors.h"
#include "exit_codes.h"
#include "training.h"

int cli_loss_log_open(const char *path, int append, FILE **log)
{
    *log = NULL;
    if (!path || !cli_dist_is_root()) return EXIT_OK;
    *log = fopen(path, append ? "a" : "w");
    if (!*log) {
        fprintf(stderr, "glowcl: cannot write --log %s: %s\n", path, strerror(errno));
        return EXIT_INPUT;
    }
    if (!append || ftell(*log) == 0) fprintf(*log, "# step\tloss\tgrad_norm\n");
    return EXIT_OK;
}

void cli_loss_log_close(FILE *log)
{
    if (log) fclose(log);
}

/* The model as it is now goes with the loop's state before step `next_step`. */
static void remember_good(cli_training *t, long next_step, uint64_t data_position,
                          const gc_rng *rng)
{
    t->good.model_steps = gc_model_steps(t->model);
    t->good.state.step = (uint64_t)next_step;
    t->good.state.data_position = data_position;
    t->good.state.rng = *rng;
}

void cli_training_start(cli_training *t, long first, uint64_t data_position, const gc_rng *rng,
                        double progress_interval)
{
    t->bad_in_a_row = 0;
    remember_good(t, first, data_position, rng);
    cli_progress_start(&t->progress, first, progress_interval);
}

/* A step whose loss or gradient is not finite: nothing of it was applied, so the model is
 * still the last good one, and the data stream has moved past its batch. */
static int skip_step(cli_training *t, long step, uint64_t data_position, const gc_rng *rng)
{
    fprintf(stderr, "\nglowcl: warning: %s; step skipped\n", gc_last_error());
    if (++t->bad_in_a_row == 5) {
        fprintf(stderr, "glowcl: training diverged: 5 non-finite steps in a row; try %s\n",
                t->diverged_hint);
        return EXIT_FAILED;
    }
    remember_good(t, step + 1, data_position, rng);
    return EXIT_OK;
}

int cli_training_step(cli_training *t, long step, const double *x, size_t batch, size_t dim,
                      const gc_adam_config *adam, uint64_t data_position, const gc_rng *rng,
                      double *loss, int *good)
{
    *good = 0;
    *loss = NAN;
    gc_status status = cli_dist_train_step(t->model, x, batch, dim, adam, loss);
    /* The update is good once the device has finished it without an error. */
    if (status == GC_OK) status = gc_runtime_finish(t->rt);
    if (status == GC_ERR_NUMERIC) return skip_step(t, step, data_position, rng);
    if (status != GC_OK) return cli_training_fail(t, status);
    remember_good(t, step + 1, data_position, rng);
    t->bad_in_a_row = 0;
    *good = 1;
    /* %.17g: the exact double, so runs can be compared bit for bit. */
    if (t->loss_log)
        fprintf(t->loss_log, "%ld\t%.17g\t%.17g\n", step + 1, *loss,
                gc_model_last_grad_norm(t->model));
    /* A time budget ends the run like a step count would: this step becomes the last (on
     * every rank as soon as one is out of time). */
    if (t->minutes > 0 && cli_dist_any(cli_progress_elapsed(&t->progress) >= 60.0 * t->minutes))
        t->end = step + 1;
    return cli_dist_check_params(t->model, step + 1, t->sync_every, step + 1 == t->end);
}

/* After a device error: what failed, and what is saved (see cli_training_fail). */
static int device_failure(cli_training *t, gc_status error)
{
    const cli_last_good *good = &t->good;
    fprintf(stderr, "glowcl: device failure after step %llu: %s\n",
            (unsigned long long)good->state.step, gc_last_error());
    int code = cli_exit_code(error);
    /* The model's step count goes up when its update is enqueued: if it has, the update may
     * have run in part, and a half-updated model must not replace a good checkpoint. */
    if (gc_model_steps(t->model) != good->model_steps) {
        fprintf(stderr, "glowcl: the failed step had started to update the model, so the "
                        "model is not saved\n");
    } else if ((long)good->state.step == t->checkpoint_step || good->state.step == 0) {
        /* Nothing to add: the file on disk already holds that step, or nothing was trained. */
    } else if (!t->checkpoint) {
        fprintf(stderr, "glowcl: the run has no --out; nothing is saved\n");
        return code;
    } else if (!cli_dist_is_root()) {
        return code; /* rank 0 alone writes checkpoints; the others end with it */
    } else if (gc_model_save_with_state(t->model, &good->state, t->checkpoint) == GC_OK) {
        fprintf(stderr,
                "glowcl: saved the last good state, after step %llu, to %s (go on with "
                "--resume)\n",
                (unsigned long long)good->state.step, t->checkpoint);
        return code;
    } else {
        fprintf(stderr, "glowcl: cannot save the last good state: %s\n", gc_last_error());
    }
    if (t->checkpoint_step >= 0)
        fprintf(stderr,
                "glowcl: the last checkpoint, %s, is kept as it was: step %ld (go on "
                "with --resume)\n",
                t->checkpoint, t->checkpoint_step);
    else
        fprintf(stderr, "glowcl: this run had written no checkpoint yet; nothing is saved\n");
    return code;
}

int cli_training_fail(cli_training *t, gc_status status)
{
    if (t->progress_bar) fputc('\n', stderr);
    if (status == GC_ERR_OPENCL || status == GC_ERR_MEMORY) return device_failure(t, status);
    return cli_fail(status);
}

void cli_training_saved(cli_training *t, long step) { t->checkpoint_step = step; }

void cli_training_finish(cli_training *t)
{
    cli_loss_log_close(t->loss_log);
    t->loss_log = NULL;
}

double cli_lr_cosine(double lr, double floor, long step, long steps)
{
    double progress = (double)step / (double)steps;
    return lr * (floor + (1.0 - floor) * 0.5 * (1.0 + cos(3.14159265358979323846 * progress)));
}

double cli_lr_warmup(double lr, long warmup, long step)
{
    /* The cure for the first steps' blow-ups that Glow ports report. */
    return lr * (warmup > 0 && step < warmup ? (double)(step + 1) / (double)warmup : 1.0);
}

int cli_check_point_batch(long batch)
{
    if (batch >= 1 && batch <= CLI_MAX_POINT_BATCH) return EXIT_OK;
    fprintf(stderr, "glowcl: --batch must be 1..%ld points per step, not %ld\n",
            CLI_MAX_POINT_BATCH, batch);
    return EXIT_USAGE;
}
