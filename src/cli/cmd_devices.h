/* `glowcl devices`: the OpenCL devices, as a table or as JSON. */
#ifndef GLOWCL_CLI_CMD_DEVICES_H
#define GLOWCL_CLI_CMD_DEVICES_H

int cmd_devices(int argc, char **argv);

#endif
