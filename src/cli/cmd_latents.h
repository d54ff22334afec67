/* `glowcl encode` and `glowcl decode`. */
#ifndef GLOWCL_CLI_CMD_LATENTS_H
#define GLOWCL_CLI_CMD_LATENTS_H

int cmd_encode(int argc, char **argv);
int cmd_decode(int argc, char **argv);

#endif
