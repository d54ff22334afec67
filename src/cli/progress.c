/* The clock and progress timing of the training loops (progress.h). */
#include <time.h>

#include "progress.h"

double cli_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void cli_progress_start(cli_progress *p, long first, double interval)
{
    p->start = cli_seconds();
    p->last_print = 0.0;
    p->interval = interval;
    p->first = first;
}

int cli_progress_due(cli_progress *p, int final)
{
    double now = cli_seconds();
    if (!final && now - p->last_print < p->interval) return 0;
    p->last_print = now;
    return 1;
}

double cli_progress_elapsed(const cli_progress *p) { return cli_seconds() - p->start; }

double cli_progress_rate(const cli_progress *p, long step)
{
    double elapsed = cli_progress_elapsed(p);
    return elapsed > 0 ? (double)(step - p->first) / elapsed : 0.0;
}

double cli_progress_eta(const cli_progress *p, long step, long total)
{
    double rate = cli_progress_rate(p, step);
    return rate > 0 ? (double)(total - step) / rate : 0.0;
}
