/* `glowcl train affine`: the affine warm-up, a flow of one elementwise affine map. */
#ifndef GLOWCL_CLI_TRAIN_AFFINE_H
#define GLOWCL_CLI_TRAIN_AFFINE_H

int cli_train_affine(int argc, char **argv);

#endif
