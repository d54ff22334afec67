/* Graceful stops of the training loops. After cli_stop_install, the first SIGINT or SIGTERM
 * only sets a flag, which the loops check once per step: they finish the step, write their
 * checkpoint, say where it is and return cli_stop_exit_code() (130 for SIGINT, 143 for
 * SIGTERM). A second signal exits at once with 128 + its number, leaving the checkpoint as it
 * was. */
#ifndef GLOWCL_CLI_SIGNALS_H
#define GLOWCL_CLI_SIGNALS_H

/* `checkpoint` (NULL for none) is the file the run saves to: a second signal removes the
 * temporary file of a save in progress. */
void cli_stop_install(const char *checkpoint);
/* Back to the default actions (the process ends at once), once the checkpoint is written. */
void cli_stop_uninstall(void);
int cli_stop_requested(void); /* the signal received, or 0 */
int cli_stop_exit_code(void); /* 128 + that signal, or EXIT_OK */
/* Takes `signal` as if received (another rank of a distributed run got it): this rank stops
 * and exits as that one does. */
void cli_stop_adopt(int signal);

#endif
