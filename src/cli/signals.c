/* SIGINT and SIGTERM during training: the first asks the training loop to stop after the step
 * in progress (it then writes its checkpoint and exits 128 + the signal: 130 or 143); a second
 * one ends the process at once with 128 + its number, leaving the checkpoint as it was. The
 * handler only sets a flag, writes a line with write(2) and, on the second signal, removes the
 * checkpoint's temporary file with unlink(2): all three are async-signal-safe. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "exit_codes.h"
#include "glowcl/archive.h"
#include "signals.h"

static volatile sig_atomic_t stop_signal = 0;

/* The temporary file a checkpoint save of this process writes before renaming it into place,
 * worked out before any signal can come, so the handler has only to unlink it: a second signal
 * in the middle of a save must not leave a half-written "model.glowcl.tmp.PID" behind. Empty
 * when the run has no checkpoint. */
static char checkpoint_temporary[4200];

static void say(const char *text)
{
    ssize_t ignored = write(STDERR_FILENO, text, strlen(text));
    (void)ignored;
}

static void on_signal(int sig)
{
    if (stop_signal) {
        /* If no save is under way the file is not there and unlink fails harmlessly; if the
         * rename has just happened, the new checkpoint is whole and stays. */
        if (checkpoint_temporary[0]) (void)unlink(checkpoint_temporary);
        say("\nglowcl: interrupted again: exiting now, the checkpoint is left as it was\n");
        _exit(128 + sig);
    }
    stop_signal = sig;
    say(sig == SIGINT ? "\nglowcl: interrupted (SIGINT): finishing this step, then saving; "
                        "interrupt again to quit at once\n"
                      : "\nglowcl: terminated (SIGTERM): finishing this step, then saving; "
                        "interrupt again to quit at once\n");
}

void cli_stop_install(const char *checkpoint)
{
    checkpoint_temporary[0] = '\0';
    if (checkpoint && gc_archive_temporary_path(checkpoint, checkpoint_temporary,
                                                sizeof checkpoint_temporary) != GC_OK)
        checkpoint_temporary[0] = '\0'; /* a path that long cannot have been written either */
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaddset(&action.sa_mask, SIGINT);
    sigaddset(&action.sa_mask, SIGTERM);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
}

void cli_stop_uninstall(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
}

int cli_stop_requested(void) { return stop_signal; }

int cli_stop_exit_code(void) { return stop_signal ? 128 + stop_signal : EXIT_OK; }

void cli_stop_adopt(int signal)
{
    if (!stop_signal) stop_signal = signal;
}
