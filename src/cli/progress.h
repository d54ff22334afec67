/* The clock of the training loops and when and at what rate they report progress. */
#ifndef GLOWCL_CLI_PROGRESS_H
#define GLOWCL_CLI_PROGRESS_H

/* Monotonic seconds, for durations. */
double cli_seconds(void);

typedef struct cli_progress {
    double start;      /* cli_seconds() when the run's first step began */
    double last_print; /* when the last progress line was printed (0: never) */
    double interval;   /* seconds between progress lines */
    long first;        /* the step the run started from (a resumed run: not 0) */
} cli_progress;

void cli_progress_start(cli_progress *p, long first, double interval);
/* 1 if a progress line is due (`interval` has passed since the last one, or `final`), and
 * then marks it printed. */
int cli_progress_due(cli_progress *p, int final);
double cli_progress_elapsed(const cli_progress *p);
/* Steps per second since the start, having reached `step`. */
double cli_progress_rate(const cli_progress *p, long step);
/* Seconds left to reach `total` at that rate (0 before any step is done). */
double cli_progress_eta(const cli_progress *p, long step, long total);

#endif
