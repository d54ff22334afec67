/* `glowcl eval`: the NLL (or bits/dim) of data under a model file. */
#ifndef GLOWCL_CLI_CMD_EVAL_H
#define GLOWCL_CLI_CMD_EVAL_H

int cmd_eval(int argc, char **argv);

#endif
