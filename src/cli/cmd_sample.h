/* `glowcl sample`: draws from a model file. */
#ifndef GLOWCL_CLI_CMD_SAMPLE_H
#define GLOWCL_CLI_CMD_SAMPLE_H

int cmd_sample(int argc, char **argv);

#endif
