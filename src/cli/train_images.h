/* `glowcl train images`: the multi-scale image Glow. */
#ifndef GLOWCL_CLI_TRAIN_IMAGES_H
#define GLOWCL_CLI_TRAIN_IMAGES_H

int cli_train_images(int argc, char **argv);

#endif
