/* The MPI transport of data-parallel training (mpi_transport.h): joining the run, the
 * allreduce of the gradients, and leaving, cleanly or ending every rank. Compiled only when
 * meson finds MPI. MPI's default error handler stays: a failed MPI call ends the whole run
 * with MPI's own message, which is what a rank-local status could not do. */
#include <mpi.h>

#include "exit_codes.h"
#include "launcher.h"
#include "mpi_transport.h"

static int joined = 0;

int cli_mpi_built(void) { return 1; }

int cli_mpi_start(int *argc, char ***argv, cli_ranks *ranks)
{
    *ranks = (cli_ranks){0, 1, 0, 1};
    if (cli_launcher_size() == 0) return EXIT_OK;
    if (MPI_Init(argc, argv) != MPI_SUCCESS) return EXIT_DEVICE; /* MPI printed why */
    joined = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &ranks->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks->size);
    /* The processes sharing this machine's memory are the ones sharing its devices. */
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, ranks->rank, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &ranks->local_rank);
    MPI_Comm_size(local, &ranks->local_size);
    MPI_Comm_free(&local);
    return EXIT_OK;
}

void cli_mpi_stop(int abort_all, int code)
{
    if (!joined) return;
    joined = 0;
    if (abort_all) MPI_Abort(MPI_COMM_WORLD, code);
    MPI_Finalize();
}

void cli_mpi_sum(double *values, size_t count)
{
    /* MPI counts are int: a gradient of more than 2^31 values goes in pieces. */
    const size_t piece = (size_t)1 << 30;
    for (size_t start = 0; start < count; start += piece) {
        size_t n = count - start < piece ? count - start : piece;
        MPI_Allreduce(MPI_IN_PLACE, values + start, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    }
}

void cli_mpi_min_max(uint64_t value, uint64_t *min, uint64_t *max)
{
    MPI_Allreduce(&value, min, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&value, max, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
}

int cli_mpi_max(int value)
{
    int max = value;
    MPI_Allreduce(&value, &max, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return max;
}
