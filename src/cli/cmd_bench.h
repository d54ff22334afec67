/* `glowcl bench`: timings of training steps and convolutions, and peak memory. */
#ifndef GLOWCL_CLI_CMD_BENCH_H
#define GLOWCL_CLI_CMD_BENCH_H

int cmd_bench(int argc, char **argv);

#endif
