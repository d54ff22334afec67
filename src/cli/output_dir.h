/* --out DIR of the trainers, made and checked before any training, so that a run cannot train
 * to the end and then fail to save. */
#ifndef GLOWCL_CLI_OUTPUT_DIR_H
#define GLOWCL_CLI_OUTPUT_DIR_H

#include <stddef.h>

/* Makes `dir` (and one missing parent, for the default runs/NAME) if it is not there, and
 * checks that it is a directory this process can write in and that `dir`/`file` (the model
 * file the run saves) is not a directory. EXIT_OK, or EXIT_INPUT after a message. */
int cli_prepare_out_dir(const char *dir, const char *file);

/* "dir/name" into out; EXIT_INPUT after a message if it does not fit. */
int cli_out_path(char *out, size_t size, const char *dir, const char *name);

#endif
