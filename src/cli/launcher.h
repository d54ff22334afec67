/* Whether an MPI launcher started this process, told by the environment alone (a plain start
 * touches no MPI at all). */
#ifndef GLOWCL_CLI_LAUNCHER_H
#define GLOWCL_CLI_LAUNCHER_H

/* 0 if no launcher started this process, else the number of processes it started, or -1 if it
 * does not say. Open MPI's mpirun, MPICH's hydra and PMIx launchers (Slurm's srun) leave these
 * variables in every process; a plain `glowcl train` has none. */
int cli_launcher_size(void);

#endif
