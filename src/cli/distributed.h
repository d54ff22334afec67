/* Data-parallel training over several processes started by `mpirun -np N glowcl train ...`:
 * each process (rank) trains on its own device on its shard of every global batch, and the
 * gradients are averaged before each optimiser step, so every rank holds the same parameters.
 * distributed.c holds the logic; the transport beneath it is MPI or, in a build without MPI,
 * a stub for one process (mpi_transport.h), so the commands need no #ifdefs. */
#ifndef GLOWCL_CLI_DISTRIBUTED_H
#define GLOWCL_CLI_DISTRIBUTED_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "glowcl/flow.h"
#include "mpi_transport.h"

/* Joins the run (see cli_mpi_start). In a run of several ranks, every rank but 0 sends its
 * stdout and stderr to /dev/null: rank 0 alone prints progress and writes files; errors of
 * any rank still reach the terminal, through cli_dist_errors(). */
int cli_dist_start(int *argc, char ***argv);
/* Leaves the run and returns the process's exit code. A failure once the ranks train in
 * lock-step (cli_dist_attach) ends every rank (the others may be waiting for this one); a rank
 * that ends before it gets there tells the others, which wait for it in cli_dist_attach. */
int cli_dist_finish(int code);
const cli_ranks *cli_dist_ranks(void);
/* 1 when this process writes logs, pictures and checkpoints (rank 0). */
int cli_dist_is_root(void);
/* Where this rank's messages go: its stderr, kept open when the other output is silenced. */
FILE *cli_dist_errors(void);
/* "rank R of N: " in a run of several ranks, else "": for messages any rank may print. */
const char *cli_dist_prefix(void);
/* EXIT_OK in a one-process run; else a message that `what` does not run on several ranks and
 * EXIT_USAGE. */
int cli_dist_single_process(const char *what);

/* EXIT_OK if the global batch splits evenly over the ranks, else a message and EXIT_USAGE. */
int cli_dist_check_batch(long batch);
/* Where the ranks meet before training: each says whether it got there. If every rank did,
 * installs the gradient averaging on the model (several ranks only), marks the start of
 * lock-step training and returns EXIT_OK; if a rank failed before (bad input on one machine,
 * a device that would not open), returns its exit code after a message, so that all ranks end
 * together instead of waiting for the missing one. */
int cli_dist_attach(gc_model *model);
/* One training step on the global batch x (batch × dim, the same on every rank): this rank
 * trains on rows [rank·batch/size, (rank+1)·batch/size), the gradient averaged over the ranks.
 * A model not yet initialised initialises its ActNorms on the whole global batch first, on
 * every rank, so the data-dependent init sees the global batch's statistics exactly. */
gc_status cli_dist_train_step(gc_model *model, const double *x, size_t batch, size_t dim,
                              const gc_adam_config *adam, double *loss);
/* The stop signal (SIGINT or SIGTERM) that any rank received, agreed on by all (0: none), so
 * that every rank stops after the same step; a rank that had none adopts it. */
int cli_dist_stop_requested(void);
/* 1 on every rank if `flag` is non-zero on any (e.g. a time limit reached). */
int cli_dist_any(int flag);
/* Every `every` steps (and at `force`): checks that every rank holds the same parameters, by
 * a CRC32 of them compared across ranks. On a mismatch: a message and EXIT_FAILED on every
 * rank; else EXIT_OK. */
int cli_dist_check_params(gc_model *model, long step, long every, int force);
/* The device request for this rank: from a list "-d 0,1,…" the entry of its local rank; with
 * no device named and several ranks on the machine, the local rank's device among those of
 * the best kind (GPUs if there are any), round robin. `storage` keeps a chosen index. */
int cli_dist_device_request(gc_device_request *request, char *storage, size_t storage_size);

#endif
