/* `glowcl train moons|csv`: the 2-D Glow on two-moons, or a Glow on the points of a CSV. */
#ifndef GLOWCL_CLI_TRAIN_POINTS_H
#define GLOWCL_CLI_TRAIN_POINTS_H

int cli_train_points(int argc, char **argv);

#endif
