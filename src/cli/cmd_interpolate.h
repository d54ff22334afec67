/* `glowcl interpolate`. */
#ifndef GLOWCL_CLI_CMD_INTERPOLATE_H
#define GLOWCL_CLI_CMD_INTERPOLATE_H

int cmd_interpolate(int argc, char **argv);

#endif
