/* `glowcl check`: the self-checks of every op and model on the chosen device. */
#ifndef GLOWCL_CLI_CMD_CHECK_H
#define GLOWCL_CLI_CMD_CHECK_H

int cmd_check(int argc, char **argv);

#endif
