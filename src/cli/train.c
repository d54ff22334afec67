/* `glowcl train affine|moons|csv`: exercise 1's affine warm-up and exercise 2's Glow on
 * two-moons (or the user's own points), with a progress line, the test NLL, the model file and
 * the pictures of the exercise's figure 3. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "distributed.h"
#include "glowcl/data.h"
#include "glowcl/flow.h"
#include "glowcl/plot.h"

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Parses "1.5,-2" into at most `max` numbers. */
static int parse_list(const char *text, double *values, size_t max, size_t *count)
{
    size_t n = 0;
    const char *p = text;
    while (*p) {
        char *end = NULL;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || n == max) return 0;
        values[n++] = v;
        p = end;
        if (*p == ',') p++;
        else if (*p) return 0;
    }
    *count = n;
    return n > 0;
}

typedef struct progress {
    double start, last_print;
    int terminal;
    long total, first;
} progress;

static void progress_show(progress *pr, long step, double loss, int final)
{
    double t = now_seconds(), elapsed = t - pr->start;
    if (!final && t - pr->last_print < (pr->terminal ? 0.1 : 5.0)) return;
    pr->last_print = t;
    double rate = elapsed > 0 ? (double)(step - pr->first) / elapsed : 0.0;
    double eta = rate > 0 ? (double)(pr->total - step) / rate : 0.0;
    if (pr->terminal) {
        char bar[31];
        int filled = (int)(30.0 * (double)step / (double)pr->total);
        for (int i = 0; i < 30; i++) bar[i] = i < filled ? '#' : '-';
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] step %ld/%ld  loss %.4f  %.0f steps/s  ETA %.0fs   ", bar, step,
                pr->total, loss, rate, eta);
        if (final) fputc('\n', stderr);
    } else {
        fprintf(stderr, "step %ld/%ld  loss %.4f  %.0f steps/s  ETA %.0fs\n", step, pr->total,
                loss, rate, eta);
    }
}

int cli_loss_log_open(const char *path, int append, FILE **log)
{
    *log = NULL;
    if (!path || !cli_dist_is_root()) return EXIT_OK;
    *log = fopen(path, append ? "a" : "w");
    if (!*log) {
        fprintf(stderr, "glowcl: cannot write --log %s: %s\n", path, strerror(errno));
        return EXIT_INPUT;
    }
    if (!append || ftell(*log) == 0) fprintf(*log, "# step\tloss\tgrad_norm\n");
    return EXIT_OK;
}

void cli_loss_log_write(FILE *log, long step, double loss, double grad_norm)
{
    /* %.17g: the exact double, so runs can be compared bit for bit. */
    if (log) fprintf(log, "%ld\t%.17g\t%.17g\n", step, loss, grad_norm);
}

void cli_loss_log_close(FILE *log)
{
    if (log) fclose(log);
}

/* The common flags of the training commands. */
typedef struct train_flags {
    cli_device_flags device;
    long steps, batch, seed, layers, hidden, depth, test_n;
    double lr, noise, min_lr_fraction;
    const char *prior, *out, *data, *mix_means, *mix_scales;
    int mix_fixed, constant_lr, resume;
    const char *loss_log; /* --log FILE */
    long sync_check;      /* --sync-check N */
} train_flags;

static gc_adam_config adam_at(const train_flags *f, long step)
{
    gc_adam_config adam = GC_ADAM_DEFAULT;
    adam.lr = f->lr;
    if (!f->constant_lr) { /* cosine decay to min_lr_fraction · lr */
        double progress = (double)step / (double)f->steps;
        double floor = f->min_lr_fraction;
        adam.lr = f->lr * (floor + (1.0 - floor) * 0.5 * (1.0 + cos(3.14159265358979323846 * progress)));
    }
    return adam;
}

/* Source of training batches: fresh two-moons every step, or minibatches of a fixed set. */
typedef struct batch_source {
    double noise;
    uint32_t next_state;
    const double *points;
    size_t count, dim;
    gc_rng rng;
} batch_source;

static gc_status next_batch(batch_source *src, double *x, size_t n)
{
    if (!src->points) return gc_moons(n, src->noise, src->next_state++, x, NULL);
    for (size_t i = 0; i < n; i++) {
        size_t j = gc_rng_below(&src->rng, (uint32_t)src->count);
        memcpy(x + i * src->dim, src->points + j * src->dim, src->dim * sizeof *x);
    }
    return GC_OK;
}

void cli_last_good_set(cli_last_good *good, const gc_model *model, long next_step,
                       uint64_t data_position, const gc_rng *rng)
{
    good->model_steps = gc_model_steps(model);
    good->state.step = (uint64_t)next_step;
    good->state.data_position = data_position;
    good->state.rng = *rng;
}

int cli_device_failure(gc_model *model, gc_status error, const cli_last_good *good,
                       const char *checkpoint, long checkpoint_step)
{
    fprintf(stderr, "glowcl: device failure after step %llu: %s\n",
            (unsigned long long)good->state.step, gc_last_error());
    int code = cli_exit_code(error);
    /* The model's step count goes up when its update is enqueued: if it has, the update may
     * have run in part, and a half-updated model must not replace a good checkpoint. */
    if (gc_model_steps(model) != good->model_steps) {
        fprintf(stderr, "glowcl: the failed step had started to update the model, so the "
                        "model is not saved\n");
    } else if ((long)good->state.step == checkpoint_step || good->state.step == 0) {
        /* Nothing to add: the file on disk already holds that step, or nothing was trained. */
    } else if (!cli_dist_is_root()) {
        return code; /* rank 0 alone writes checkpoints; the others end with it */
    } else if (gc_model_save_with_state(model, &good->state, checkpoint) == GC_OK) {
        fprintf(stderr, "glowcl: saved the last good state, after step %llu, to %s (go on with "
                        "--resume)\n",
                (unsigned long long)good->state.step, checkpoint);
        return code;
    } else {
        fprintf(stderr, "glowcl: cannot save the last good state: %s\n", gc_last_error());
    }
    if (checkpoint_step >= 0)
        fprintf(stderr, "glowcl: the last checkpoint, %s, is kept as it was: step %ld (go on "
                        "with --resume)\n",
                checkpoint, checkpoint_step);
    else
        fprintf(stderr, "glowcl: this run had written no checkpoint yet; nothing is saved\n");
    return code;
}

/* Runs the training loop from step `first`; skips a step whose loss or gradient is not finite
 * and stops after five such steps in a row. Fills losses[step]. Stops early, before a step,
 * when SIGINT or SIGTERM has come (cli_stop_requested). *done gets the steps done in all (the
 * schedule's position), first included. A device failure saves the last good step to
 * `checkpoint` if it can (cli_device_failure; `checkpoint_step` is the step the file on disk
 * holds, -1 if none). */
static int train_loop(gc_model *model, gc_runtime *rt, const train_flags *f, batch_source *src,
                      double *losses, long first, long *done, const char *checkpoint,
                      long checkpoint_step)
{
    size_t dim = gc_model_get_config(model)->dim;
    *done = first;
    FILE *loss_log = NULL;
    int rc = cli_loss_log_open(f->loss_log, f->resume, &loss_log);
    if (rc) return rc;
    /* Every rank draws the whole global batch, so the data stream is the same for any number
     * of ranks; each trains on its shard of it. */
    double *x = malloc((size_t)f->batch * dim * sizeof *x);
    if (!x) {
        cli_loss_log_close(loss_log);
        return cli_fail(GC_ERROR(GC_ERR_MEMORY, "out of host memory"));
    }
    progress pr = {now_seconds(), 0.0, isatty(STDERR_FILENO), f->steps, first};
    int bad_in_a_row = 0;
    cli_last_good good;
    cli_last_good_set(&good, model, first, src->next_state, &src->rng);
    long step = first;
    for (; step < f->steps && !cli_dist_stop_requested(); step++) {
        *done = step;
        gc_status status = next_batch(src, x, (size_t)f->batch);
        double loss = NAN;
        gc_adam_config adam = adam_at(f, step);
        if (status == GC_OK)
            status = cli_dist_train_step(model, x, (size_t)f->batch, dim, &adam, &loss);
        /* The update is good once the device has finished it without an error. */
        if (status == GC_OK) status = gc_runtime_finish(rt);
        losses[step] = loss;
        if (status == GC_ERR_NUMERIC) {
            fprintf(stderr, "\nglowcl: warning: %s; step skipped\n", gc_last_error());
            if (++bad_in_a_row == 5) {
                fprintf(stderr, "glowcl: training diverged: 5 non-finite steps in a row; try a "
                                "smaller --lr\n");
                rc = EXIT_FAILED;
                break;
            }
            cli_last_good_set(&good, model, step + 1, src->next_state, &src->rng);
            continue;
        }
        if (status != GC_OK) {
            if (pr.terminal) fputc('\n', stderr);
            if (status == GC_ERR_OPENCL || status == GC_ERR_MEMORY)
                rc = cli_device_failure(model, status, &good, checkpoint, checkpoint_step);
            else
                rc = cli_fail(status);
            break;
        }
        cli_last_good_set(&good, model, step + 1, src->next_state, &src->rng);
        bad_in_a_row = 0;
        cli_loss_log_write(loss_log, step + 1, loss, gc_model_last_grad_norm(model));
        progress_show(&pr, step + 1, loss, step + 1 == f->steps);
        if ((rc = cli_dist_check_params(model, step + 1, f->sync_check, step + 1 == f->steps)))
            break;
    }
    free(x);
    cli_loss_log_close(loss_log);
    if (rc) return rc;
    *done = step;
    if (pr.terminal && step < f->steps) fputc('\n', stderr);
    double elapsed = now_seconds() - pr.start;
    if (step > first)
        fprintf(stderr, "trained %ld steps in %.1f s (%.1f ms/step)\n", step - first, elapsed,
                1e3 * elapsed / (double)(step - first));
    return EXIT_OK;
}

/* Mean NLL in nats and its standard error over the points. */
static gc_status evaluate(gc_model *model, const double *x, size_t n, double *mean, double *se)
{
    double *logp = malloc(n * sizeof *logp);
    if (!logp) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_status status = gc_model_log_prob(model, x, n, logp);
    if (status == GC_OK) {
        double sum = 0.0, sq = 0.0;
        for (size_t i = 0; i < n; i++) sum -= logp[i];
        *mean = sum / (double)n;
        for (size_t i = 0; i < n; i++) sq += (-logp[i] - *mean) * (-logp[i] - *mean);
        *se = n > 1 ? sqrt(sq / (double)(n - 1) / (double)n) : 0.0;
    }
    free(logp);
    return status;
}

static const gc_rgb BLUE = {31, 119, 180}, ORANGE = {255, 127, 14}, GREEN = {44, 160, 44};

static void path_join(char *out, size_t size, const char *dir, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

/* The exercise's figure 3: data, samples, latents, density, and the training curve. */
static gc_status write_pictures(gc_model *model, const train_flags *f, const double *data,
                                const int *labels, size_t n, const double *losses,
                                const char *title)
{
    char path[4096], heading[160];
    size_t dim = gc_model_get_config(model)->dim;
    if (dim != 2) return GC_OK; /* scatter plots are for 2-D data */
    double *red = malloc(n * 2 * sizeof *red), *other = malloc(n * 2 * sizeof *other);
    double *z = malloc(n * 2 * sizeof *z), *samples = malloc(n * 2 * sizeof *samples);
    double *zred = malloc(n * 2 * sizeof *zred), *zother = malloc(n * 2 * sizeof *zother);
    gc_status status = red && other && z && samples && zred && zother
                           ? GC_OK
                           : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    size_t n0 = 0, n1 = 0;
    if (status == GC_OK) status = gc_model_encode(model, data, n, z, NULL);
    for (size_t i = 0; status == GC_OK && i < n; i++) {
        int second = labels && labels[i];
        double *dst = second ? other : red, *zdst = second ? zother : zred;
        size_t k = second ? n1++ : n0++;
        memcpy(dst + 2 * k, data + 2 * i, 2 * sizeof *dst);
        memcpy(zdst + 2 * k, z + 2 * i, 2 * sizeof *zdst);
    }
    gc_plot_range range = {-1.5, 2.5, -1.0, 1.5};
    if (status == GC_OK && labels == NULL) { /* the user's data: fit its own range */
        range.xmin = range.ymin = INFINITY;
        range.xmax = range.ymax = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            range.xmin = fmin(range.xmin, data[2 * i]);
            range.xmax = fmax(range.xmax, data[2 * i]);
            range.ymin = fmin(range.ymin, data[2 * i + 1]);
            range.ymax = fmax(range.ymax, data[2 * i + 1]);
        }
        double mx = 0.1 * (range.xmax - range.xmin) + 1e-9, my = 0.1 * (range.ymax - range.ymin) + 1e-9;
        range.xmin -= mx, range.xmax += mx, range.ymin -= my, range.ymax += my;
    }
    if (status == GC_OK) {
        gc_scatter_series series[2] = {{red, n0, BLUE, labels ? "upper moon" : "data"},
                                       {other, n1, ORANGE, "lower moon"}};
        path_join(path, sizeof path, f->out, "data.png");
        snprintf(heading, sizeof heading, "data (%zu points)", n);
        status = gc_plot_scatter(path, heading, series, labels ? 2 : 1, &range, 640, 640);
    }
    if (status == GC_OK) {
        gc_rng rng;
        gc_rng_seed_stream(&rng, (uint64_t)f->seed, 7);
        status = gc_model_sample(model, n, 1.0, &rng, samples);
    }
    if (status == GC_OK) {
        gc_scatter_series series[1] = {{samples, n, GREEN, "samples"}};
        path_join(path, sizeof path, f->out, "samples.png");
        snprintf(heading, sizeof heading, "samples, %s", title);
        status = gc_plot_scatter(path, heading, series, 1, &range, 640, 640);
    }
    if (status == GC_OK) {
        gc_scatter_series series[2] = {{zred, n0, BLUE, labels ? "upper moon" : "data"},
                                       {zother, n1, ORANGE, "lower moon"}};
        gc_plot_range latent = {-4, 4, -4, 4};
        path_join(path, sizeof path, f->out, "latent.png");
        snprintf(heading, sizeof heading, "data mapped to latent z, %s", title);
        status = gc_plot_scatter(path, heading, series, labels ? 2 : 1, &latent, 640, 640);
    }
    enum { GRID = 160 };
    double *grid = NULL, *density = NULL;
    if (status == GC_OK) {
        grid = malloc(GRID * GRID * 2 * sizeof *grid);
        density = malloc(GRID * GRID * sizeof *density);
        if (!grid || !density) status = GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    }
    if (status == GC_OK) {
        for (int j = 0; j < GRID; j++)
            for (int i = 0; i < GRID; i++) {
                grid[2 * (j * GRID + i)] = range.xmin + (i + 0.5) * (range.xmax - range.xmin) / GRID;
                grid[2 * (j * GRID + i) + 1] = range.ymin + (j + 0.5) * (range.ymax - range.ymin) / GRID;
            }
        status = gc_model_log_prob(model, grid, GRID * GRID, density);
    }
    if (status == GC_OK) {
        for (int i = 0; i < GRID * GRID; i++) density[i] = exp(density[i]);
        path_join(path, sizeof path, f->out, "density.png");
        snprintf(heading, sizeof heading, "model density p(x), %s", title);
        status = gc_plot_density(path, heading, density, GRID, GRID, range, 640, 640);
    }
    if (status == GC_OK && losses) {
        path_join(path, sizeof path, f->out, "loss.png");
        snprintf(heading, sizeof heading, "training loss, %s", title);
        status = gc_plot_lines(path, heading, "step", "NLL (nats)", NULL, losses,
                               (size_t)f->steps, 640, 480);
    }
    free(grid);
    free(density);
    free(red);
    free(other);
    free(z);
    free(samples);
    free(zred);
    free(zother);
    return status;
}

static int parse_prior(const train_flags *f, gc_model_config *config)
{
    if (strcmp(f->prior, "gauss") == 0) {
        config->prior = GC_PRIOR_GAUSS;
    } else if (strcmp(f->prior, "mix") == 0) {
        config->prior = GC_PRIOR_MIX;
        config->mix_fixed = f->mix_fixed;
    } else {
        fprintf(stderr, "glowcl: --prior must be gauss or mix, not '%s'\n", f->prior);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static int check_sizes(const train_flags *f)
{
    if (f->steps < 1 || f->batch < 1 || f->batch > 1000000 || f->layers < 1 || f->hidden < 1 ||
        f->depth < 1 || f->test_n < 1 || !(f->lr > 0) || f->noise < 0 || f->seed < 0 ||
        f->sync_check < 0) {
        fprintf(stderr, "glowcl: --steps, --batch, --layers, --hidden, --depth, --test-n and "
                        "--lr must be positive, --noise, --seed and --sync-check not "
                        "negative\n");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* glowcl train moons | csv */
static int train_glow(int argc, char **argv, int from_csv)
{
    train_flags f = {CLI_DEVICE_FLAGS_DEFAULT, 3000, 256, 1, 10, 64, 2, 10000,
                     2e-3, 0.05, 0.0, "gauss", NULL, NULL, NULL, NULL, 0, 0, 0, NULL, 100};
    cli_option options[] = {
        {"steps", 0, OPT_INT, &f.steps, "N", "training steps (default 3000)"},
        {"batch", 0, OPT_INT, &f.batch, "N", "points per step (default 256)"},
        {"lr", 0, OPT_DOUBLE, &f.lr, "X", "Adam learning rate (default 2e-3)"},
        {"constant-lr", 0, OPT_FLAG, &f.constant_lr, NULL,
         "keep the learning rate (default: cosine decay to 0)"},
        {"layers", 0, OPT_INT, &f.layers, "N", "Glow steps of actnorm, coupling, 1x1 conv (10)"},
        {"hidden", 0, OPT_INT, &f.hidden, "N", "width of the coupling networks (64)"},
        {"depth", 0, OPT_INT, &f.depth, "N", "hidden layers of the coupling networks (2)"},
        {"prior", 0, OPT_STRING, &f.prior, "gauss|mix",
         "standard Gaussian, or a learned mixture of two Gaussians"},
        {"mix-fixed", 0, OPT_FLAG, &f.mix_fixed, NULL, "keep the mixture as initialised"},
        {"mix-means", 0, OPT_STRING, &f.mix_means, "X,Y,...",
         "initial mixture means, component after component (default ±1.5,0)"},
        {"mix-scales", 0, OPT_STRING, &f.mix_scales, "X,Y,...",
         "initial mixture standard deviations (default 0.5)"},
        {"noise", 0, OPT_DOUBLE, &f.noise, "X", "two-moons noise (default 0.05)"},
        {"data", 0, OPT_STRING, &f.data, "FILE.csv", "points to fit (train csv)"},
        {"test-n", 0, OPT_INT, &f.test_n, "N", "fresh points for the test NLL (10000)"},
        {"seed", 's', OPT_INT, &f.seed, "N", "seed of everything random (default 1)"},
        {"resume", 0, OPT_FLAG, &f.resume, NULL,
         "go on from OUT/model.glowcl, exactly where it stopped (give the same --steps and "
         "--out: the learning rate's cosine runs over --steps; the model's own config is used)"},
        {"out", 'o', OPT_STRING, &f.out, "DIR",
         "where model.glowcl and the pictures go (default runs/moons-PRIOR)"},
        {"log", 0, OPT_STRING, &f.loss_log, "FILE", CLI_LOSS_LOG_HELP},
        {"sync-check", 0, OPT_INT, &f.sync_check, "N", CLI_SYNC_CHECK_HELP},
        CLI_DEVICE_OPTIONS(f.device),
    };
    int rc = cli_parse(argc, argv, 3, options, sizeof options / sizeof options[0],
                       from_csv ? "Usage: glowcl train csv --data FILE.csv [options]\n"
                                  "Fits a Glow to the points of a CSV file (one point per row)."
                                : "Usage: glowcl train moons [options]\n"
                                  "Trains the 10-layer Glow of exercise 2 on two-moons and "
                                  "writes the pictures of its figure 3.",
                       NULL, 0, NULL);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if ((rc = check_sizes(&f)) || (rc = cli_dist_check_batch(f.batch))) return rc;
    if (from_csv && !f.data) {
        fprintf(stderr, "glowcl: train csv needs --data FILE.csv\n");
        return EXIT_USAGE;
    }
    gc_model_config config;
    gc_model_config_default(&config, 2);
    config.layers = (int)f.layers;
    config.hidden = (size_t)f.hidden;
    config.depth = (int)f.depth;
    if ((rc = parse_prior(&f, &config))) return rc;

    batch_source src = {0};
    src.noise = f.noise;
    src.next_state = (uint32_t)f.seed * 1000003u + 1000u;
    src.dim = 2;
    gc_rng_seed_stream(&src.rng, (uint64_t)f.seed, 3);
    double *points = NULL;
    size_t point_count = 0, dim = 2;
    if (from_csv) {
        gc_status status = gc_csv_read(f.data, &points, &point_count, &dim);
        if (status != GC_OK) return cli_fail(status);
        if ((size_t)f.batch > point_count) {
            fprintf(stderr, "glowcl: --batch %ld is larger than the %zu points of %s\n", f.batch,
                    point_count, f.data);
            free(points);
            return EXIT_USAGE;
        }
        config.dim = dim;
        src.points = points;
        src.count = point_count;
        src.dim = dim;
    }
    double mix_means[GC_MAX_MIX_COMPONENTS * 64], mix_scales[GC_MAX_MIX_COMPONENTS * 64];
    size_t want = (size_t)config.mix_components * dim, got = 0;
    if (f.mix_means) {
        if (!parse_list(f.mix_means, mix_means, GC_MAX_MIX_COMPONENTS * 64, &got) || got != want) {
            fprintf(stderr, "glowcl: --mix-means needs %zu numbers (2 components x %zu dims)\n",
                    want, dim);
            free(points);
            return EXIT_USAGE;
        }
        config.mix_means = mix_means;
    }
    if (f.mix_scales) {
        int ok = parse_list(f.mix_scales, mix_scales, GC_MAX_MIX_COMPONENTS * 64, &got);
        for (size_t i = 0; ok && i < got; i++) ok = mix_scales[i] > 0;
        if (!ok || got != want) {
            fprintf(stderr, "glowcl: --mix-scales needs %zu positive numbers\n", want);
            free(points);
            return EXIT_USAGE;
        }
        config.mix_scales = mix_scales;
    }
    if ((f.mix_means != NULL) != (f.mix_scales != NULL)) {
        fprintf(stderr, "glowcl: give --mix-means and --mix-scales together\n");
        free(points);
        return EXIT_USAGE;
    }

    char default_out[64];
    if (!f.out) {
        snprintf(default_out, sizeof default_out, "runs/%s-%s", from_csv ? "csv" : "moons",
                 f.prior);
        f.out = default_out;
    }
    if (!cli_make_dir(f.out)) {
        fprintf(stderr, "glowcl: cannot create %s: %s\n", f.out, strerror(errno));
        free(points);
        return EXIT_INPUT;
    }

    gc_runtime *rt = NULL;
    if ((rc = cli_open_runtime(&f.device, &rt))) {
        free(points);
        return rc;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/model.glowcl", f.out);
    gc_model *model = NULL;
    double *losses = malloc((size_t)f.steps * sizeof *losses);
    for (long i = 0; losses && i < f.steps; i++) losses[i] = NAN; /* steps before a resume */
    gc_train_state state;
    int has_state = 0;
    long first = 0;
    gc_status status = !losses    ? GC_ERROR(GC_ERR_MEMORY, "out of host memory")
                       : f.resume ? gc_model_load_with_state(&model, rt, path, &state, &has_state)
                                  : gc_model_create(&model, rt, &config, (uint64_t)f.seed);
    if (status == GC_OK && f.resume) {
        const gc_model_config *c = gc_model_get_config(model);
        if (c->kind != GC_MODEL_GLOW || c->dim != dim)
            status = GC_ERROR(GC_ERR_FORMAT, "%s is not a Glow of %zu-D points", path, dim);
    }
    if (status != GC_OK) {
        free(losses);
        free(points);
        gc_model_free(model);
        gc_runtime_close(rt);
        return cli_fail(status);
    }
    if (f.resume && has_state) {
        /* The exact continuation: the schedule's step and the data stream's position. */
        first = (long)state.step;
        src.next_state = (uint32_t)state.data_position;
        src.rng = state.rng;
    } else if (f.resume) {
        first = (long)gc_model_steps(model);
        src.next_state += (uint32_t)first;
        gc_rng_seed_stream(&src.rng, (uint64_t)f.seed, 1000u + (uint64_t)first);
        fprintf(stderr, "glowcl: warning: %s has no training state (an older glowcl wrote it): "
                        "the data stream goes on from a stream of its own, not exactly\n", path);
    }
    if (f.resume)
        fprintf(stderr, "glowcl: resuming %s at step %ld of %ld\n", path, first, f.steps);
    const gc_model_config *mc = gc_model_get_config(model);
    fprintf(stderr, "glowcl: Glow, %d layers, coupling networks %d x %zu, %s prior, %zu "
                    "parameters; %ld steps of %ld points\n",
            mc->layers, mc->depth, mc->hidden, mc->prior == GC_PRIOR_MIX ? "mix" : "gauss",
            gc_model_param_count(model), f.steps, f.batch);
    cli_stop_install(path);
    long done = first;
    rc = cli_dist_attach(model);
    if (rc == EXIT_OK)
        rc = train_loop(model, rt, &f, &src, losses, first, &done, path, f.resume ? first : -1);
    /* The checkpoint first (a stop, or any failure of what follows, loses nothing); rank 0
     * writes it, and what follows, for all. */
    if (rc == EXIT_OK && cli_dist_is_root()) {
        state.step = (uint64_t)done;
        state.data_position = src.next_state;
        state.rng = src.rng;
        status = gc_model_save_with_state(model, &state, path);
        if (status != GC_OK) rc = cli_fail(status);
    }
    cli_stop_uninstall();
    if (rc == EXIT_OK && cli_stop_requested()) {
        fprintf(stderr, "glowcl: stopped after step %ld of %ld; saved %s (go on with `glowcl "
                        "train %s --resume --steps %ld --out %s`)\n",
                done, f.steps, path, from_csv ? "csv" : "moons", f.steps, f.out);
        rc = cli_stop_exit_code();
    }

    /* Test NLL on fresh points (or, for a CSV, on the file's own points). */
    size_t test_n = from_csv ? point_count : (size_t)f.test_n;
    double *test = from_csv ? points : malloc(test_n * 2 * sizeof *test);
    int *labels = from_csv ? NULL : malloc(test_n * sizeof *labels);
    if (rc == EXIT_OK && cli_dist_is_root()) {
        status = test && (from_csv || labels) ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
        if (status == GC_OK && !from_csv)
            status = gc_moons(test_n, f.noise, (uint32_t)f.seed * 1000003u + 7u, test, labels);
        double mean = 0.0, se = 0.0;
        if (status == GC_OK) status = evaluate(model, test, test_n, &mean, &se);
        if (status == GC_OK)
            printf("%s NLL: %.4f ± %.4f nats (%zu %s points)\n", from_csv ? "training" : "test",
                   mean, se, test_n, from_csv ? "training" : "fresh");
        if (status == GC_OK) {
            char title[96];
            snprintf(title, sizeof title, "%s prior", f.prior);
            size_t shown = test_n < 3000 ? test_n : 3000;
            status = write_pictures(model, &f, test, labels, shown, losses, title);
        }
        if (status == GC_OK)
            printf("wrote %s/model.glowcl%s\n", f.out,
                   dim == 2 ? " and data.png, samples.png, latent.png, density.png, loss.png" : "");
        if (status != GC_OK) rc = cli_fail(status);
    }
    if (!from_csv) free(test);
    free(labels);
    free(points);
    free(losses);
    gc_model_free(model);
    gc_runtime_close(rt);
    return rc;
}

/* glowcl train affine: fit z = (x − t)·e^(−s)... so that x = μ + σ ⊙ z_0 with z_0 ~ N(0, I). */
static int train_affine(int argc, char **argv)
{
    /* Large batches: the learned mean is an average of the last few hundred batches, and with
     * sigma = 3 it takes ~10^6 samples to pin it well inside 0.02. */
    train_flags f = {CLI_DEVICE_FLAGS_DEFAULT, 3000, 4096, 1, 0, 0, 0, 100000,
                     0.05, 0, 0.0, "gauss", NULL, NULL, NULL, NULL, 0, 0, 0, NULL, 0};
    const char *mu_text = "1.5,-2", *sigma_text = "0.5,3";
    cli_option options[] = {
        {"mu", 0, OPT_STRING, &mu_text, "M1,M2,...", "true mean (default 1.5,-2)"},
        {"sigma", 0, OPT_STRING, &sigma_text, "S1,S2,...", "true standard deviation (0.5,3)"},
        {"steps", 0, OPT_INT, &f.steps, "N", "training steps (default 3000)"},
        {"batch", 0, OPT_INT, &f.batch, "N", "samples per step (default 4096)"},
        {"lr", 0, OPT_DOUBLE, &f.lr, "X", "Adam learning rate (default 0.05, cosine decay)"},
        {"seed", 's', OPT_INT, &f.seed, "N", "seed (default 1)"},
        {"out", 'o', OPT_STRING, &f.out, "DIR", "save model.glowcl in DIR"},
        CLI_DEVICE_OPTIONS(f.device),
    };
    int rc = cli_parse(argc, argv, 3, options, sizeof options / sizeof options[0],
                       "Usage: glowcl train affine [--mu 1.5,-2] [--sigma 0.5,3] [options]\n"
                       "Exercise 1: fits x = z ⊙ exp(s) + t, z ~ N(0, I), to samples of "
                       "N(mu, sigma) and prints the learned mean and standard deviation.",
                       NULL, 0, NULL);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if ((rc = cli_dist_single_process("train affine"))) return rc;
    f.layers = f.hidden = f.depth = 1;
    if ((rc = check_sizes(&f))) return rc;
    double mu[64], sigma[64];
    size_t dim = 0, sigma_dim = 0;
    int ok = parse_list(mu_text, mu, 64, &dim) && parse_list(sigma_text, sigma, 64, &sigma_dim);
    for (size_t i = 0; ok && i < sigma_dim; i++) ok = sigma[i] > 0;
    if (!ok || dim != sigma_dim) {
        fprintf(stderr, "glowcl: --mu and --sigma need the same number of values (at most 64), "
                        "sigma positive\n");
        return EXIT_USAGE;
    }
    if (f.out && !cli_make_dir(f.out)) {
        fprintf(stderr, "glowcl: cannot create %s: %s\n", f.out, strerror(errno));
        return EXIT_INPUT;
    }
    gc_runtime *rt = NULL;
    if ((rc = cli_open_runtime(&f.device, &rt))) return rc;
    gc_model_config config;
    gc_model_config_default(&config, dim);
    config.kind = GC_MODEL_AFFINE;
    gc_model *model = NULL;
    gc_status status = gc_model_create(&model, rt, &config, (uint64_t)f.seed);
    double *x = malloc((size_t)f.batch * dim * sizeof *x);
    if (status == GC_OK && !x) status = GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_rng rng;
    gc_rng_seed_stream(&rng, (uint64_t)f.seed, 11);
    double start = now_seconds(), loss = NAN;
    char path[4096];
    snprintf(path, sizeof path, "%s/model.glowcl", f.out ? f.out : ".");
    cli_stop_install(f.out ? path : NULL);
    long step = 0;
    for (; status == GC_OK && step < f.steps && !cli_stop_requested(); step++) {
        for (long i = 0; i < f.batch * (long)dim; i++)
            x[i] = mu[i % (long)dim] + sigma[i % (long)dim] * gc_rng_normal(&rng);
        gc_adam_config adam = adam_at(&f, step);
        status = gc_model_train_step(model, x, (size_t)f.batch, &adam, &loss);
    }
    if (status == GC_OK && cli_stop_requested()) { /* no resume here: save and say so */
        if (f.out) status = gc_model_save(model, path);
        if (status == GC_OK)
            fprintf(stderr, "glowcl: stopped after step %ld of %ld; %s%s\n", step, f.steps,
                    f.out ? "saved " : "nothing saved (no --out)", f.out ? path : "");
        free(x);
        gc_model_free(model);
        gc_runtime_close(rt);
        return status == GC_OK ? cli_stop_exit_code() : cli_fail(status);
    }
    cli_stop_uninstall();
    /* The decoder maps z to x: its value at z = 0 is the learned mean, and the step to z = e_d
     * in dimension d is the learned standard deviation. */
    double *z = calloc(dim, sizeof *z), *at0 = malloc(dim * sizeof *at0), *at1 = malloc(dim * sizeof *at1);
    if (status == GC_OK && !(z && at0 && at1)) status = GC_ERROR(GC_ERR_MEMORY, "out of memory");
    if (status == GC_OK) status = gc_model_decode(model, z, 1, at0, NULL);
    for (size_t d = 0; d < dim && z; d++) z[d] = 1.0;
    if (status == GC_OK) status = gc_model_decode(model, z, 1, at1, NULL);
    if (status == GC_OK) {
        printf("trained %ld steps in %.2f s, final loss %.4f nats\n", f.steps,
               now_seconds() - start, loss);
        printf("%-5s %12s %12s %12s %12s\n", "dim", "true mean", "learned", "true std",
               "learned");
        for (size_t d = 0; d < dim; d++)
            printf("%-5zu %12.4f %12.4f %12.4f %12.4f\n", d, mu[d], at0[d], sigma[d],
                   at1[d] - at0[d]);
    }
    if (status == GC_OK && f.out) {
        status = gc_model_save(model, path);
        if (status == GC_OK) printf("wrote %s\n", path);
    }
    free(x);
    free(z);
    free(at0);
    free(at1);
    gc_model_free(model);
    gc_runtime_close(rt);
    return status == GC_OK ? EXIT_OK : cli_fail(status);
}

int cmd_train(int argc, char **argv)
{
    const char *what = argc > 2 ? argv[2] : "";
    if (strcmp(what, "affine") == 0) return train_affine(argc, argv);
    if (strcmp(what, "moons") == 0) return train_glow(argc, argv, 0);
    if (strcmp(what, "csv") == 0) return train_glow(argc, argv, 1);
    if (strcmp(what, "images") == 0) return cmd_train_images(argc, argv);
    fprintf(stderr, "Usage: glowcl train affine|moons|csv|images [options]  (--help after the kind "
                    "lists them)\n");
    return strcmp(what, "--help") == 0 || strcmp(what, "-h") == 0 ? EXIT_OK : EXIT_USAGE;
}
