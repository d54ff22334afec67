/* The transport beneath data-parallel training (distributed.h): MPI (mpi_transport.c) or, in a
 * build without MPI, a stub for one process (mpi_transport_none.c). */
#ifndef GLOWCL_CLI_MPI_TRANSPORT_H
#define GLOWCL_CLI_MPI_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

/* Where this process stands among the processes of the run. */
typedef struct cli_ranks {
    int rank, size;             /* in the whole run (MPI_COMM_WORLD) */
    int local_rank, local_size; /* among the processes on this machine */
} cli_ranks;

/* 1 if glowcl was built with MPI. */
int cli_mpi_built(void);
/* Joins the run when a launcher (mpirun) started this process; otherwise, or without MPI,
 * *ranks becomes one process of one. Returns EXIT_OK or an exit code after a message. */
int cli_mpi_start(int *argc, char ***argv, cli_ranks *ranks);
/* Leaves the run. `abort_all`: end every rank now with exit code `code` (a rank that failed
 * alone would otherwise leave the others waiting in a collective for ever). */
void cli_mpi_stop(int abort_all, int code);
/* In place: values[i] = Σ over ranks of values[i] (MPI_Allreduce, MPI_SUM). */
void cli_mpi_sum(double *values, size_t count);
/* The smallest and largest `value` over the ranks. */
void cli_mpi_min_max(uint64_t value, uint64_t *min, uint64_t *max);
/* The largest `value` over the ranks. */
int cli_mpi_max(int value);

#endif
