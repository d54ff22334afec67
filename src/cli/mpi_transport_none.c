/* The transport of a glowcl built without MPI: always one process, so every reduction is the
 * value itself (see mpi_transport.h). */
#include <stdio.h>

#include "exit_codes.h"
#include "launcher.h"
#include "mpi_transport.h"

int cli_mpi_built(void) { return 0; }

int cli_mpi_start(int *argc, char ***argv, cli_ranks *ranks)
{
    (void)argc;
    (void)argv;
    *ranks = (cli_ranks){0, 1, 0, 1};
    /* Several copies that each believe they are alone would all write the same files. */
    if (cli_launcher_size() > 1) {
        fprintf(stderr,
                "glowcl: started by mpirun as one of %d processes, but this glowcl was "
                "built without MPI: install MPI (Debian: libopenmpi-dev) and rebuild "
                "(meson setup -Dmpi=enabled)\n",
                cli_launcher_size());
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

void cli_mpi_stop(int abort_all, int code)
{
    (void)abort_all;
    (void)code;
}

void cli_mpi_sum(double *values, size_t count)
{
    (void)values;
    (void)count;
}

void cli_mpi_min_max(uint64_t value, uint64_t *min, uint64_t *max) { *min = *max = value; }

int cli_mpi_max(int value) { return value; }
