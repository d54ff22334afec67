/* `glowcl train moons|csv`: the 2-D Glow (10 steps of ActNorm, affine coupling and 1x1
 * convolution) on two-moons, or a Glow on the user's own points from a CSV; with a progress
 * line, the test NLL, the model file, and for 2-D points the pictures: data, samples, latents,
 * density and training loss. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data_files.h"
#include "device_choice.h"
#include "distributed.h"
#include "errors.h"
#include "exit_codes.h"
#include "glowcl/data.h"
#include "glowcl/flow.h"
#include "options.h"
#include "output_dir.h"
#include "point_pictures.h"
#include "scores.h"
#include "signals.h"
#include "train_points.h"
#include "training.h"

typedef struct points_flags {
    cli_device_flags device;
    long steps, batch, seed, layers, hidden, depth, test_n;
    double lr, noise;
    const char *prior, *out, *data, *mix_means, *mix_scales;
    int mix_fixed, constant_lr, resume;
    const char *loss_log; /* --log FILE */
    long sync_check;      /* --sync-check N */
    int from_csv;         /* train csv, not train moons */
} points_flags;

static int check_sizes(const points_flags *f)
{
    int rc = cli_check_point_batch(f->batch);
    if (rc) return rc;
    if (f->steps < 1 || f->layers < 1 || f->hidden < 1 || f->depth < 1 || f->test_n < 1 ||
        !(f->lr > 0) || f->noise < 0 || f->seed < 0 || f->sync_check < 0) {
        fprintf(stderr, "glowcl: --steps, --batch, --layers, --hidden, --depth, --test-n and "
                        "--lr must be positive, --noise, --seed and --sync-check not "
                        "negative\n");
        return EXIT_USAGE;
    }
    return cli_dist_check_batch(f->batch);
}

/* The flags, checked; -1 after --help. */
static int parse_points_flags(int argc, char **argv, points_flags *f)
{
    cli_option options[] = {
        {"steps", 0, OPT_INT, &f->steps, "N", "training steps (default 3000)"},
        {"batch", 0, OPT_INT, &f->batch, "N", "points per step (default 256)"},
        {"lr", 0, OPT_DOUBLE, &f->lr, "X", "Adam learning rate (default 2e-3)"},
        {"constant-lr", 0, OPT_FLAG, &f->constant_lr, NULL,
         "keep the learning rate (default: cosine decay to 0)"},
        {"layers", 0, OPT_INT, &f->layers, "N", "Glow steps of actnorm, coupling, 1x1 conv (10)"},
        {"hidden", 0, OPT_INT, &f->hidden, "N", "width of the coupling networks (64)"},
        {"depth", 0, OPT_INT, &f->depth, "N", "hidden layers of the coupling networks (2)"},
        {"prior", 0, OPT_STRING, &f->prior, "gauss|mix",
         "standard Gaussian, or a learned mixture of two Gaussians"},
        {"mix-fixed", 0, OPT_FLAG, &f->mix_fixed, NULL, "keep the mixture as initialised"},
        {"mix-means", 0, OPT_STRING, &f->mix_means, "X,Y,...",
         "initial mixture means, component after component (default ±1.5,0)"},
        {"mix-scales", 0, OPT_STRING, &f->mix_scales, "X,Y,...",
         "initial mixture standard deviations (default 0.5)"},
        {"noise", 0, OPT_DOUBLE, &f->noise, "X", "two-moons noise (default 0.05)"},
        {"data", 0, OPT_STRING, &f->data, "FILE.csv|npy:FILE",
         "points to fit (train csv): a CSV file, or a float32/float64 NumPy array of N x D"},
        {"test-n", 0, OPT_INT, &f->test_n, "N", "fresh points for the test NLL (10000)"},
        {"seed", 's', OPT_INT, &f->seed, "N", "seed of everything random (default 1)"},
        {"resume", 0, OPT_FLAG, &f->resume, NULL,
         "go on from OUT/model.glowcl, exactly where it stopped (give the same --steps and "
         "--out: the learning rate's cosine runs over --steps; the model's own config is used)"},
        {"out", 'o', OPT_STRING, &f->out, "DIR",
         "where model.glowcl and the pictures go (default runs/moons-PRIOR)"},
        {"log", 0, OPT_STRING, &f->loss_log, "FILE", CLI_LOSS_LOG_HELP},
        {"sync-check", 0, OPT_INT, &f->sync_check, "N", CLI_SYNC_CHECK_HELP},
        CLI_DEVICE_OPTIONS(f->device),
    };
    int rc = cli_parse(argc, argv, 3, options, sizeof options / sizeof options[0],
                       f->from_csv ? "Usage: glowcl train csv --data FILE.csv|npy:FILE [options]\n"
                                     "Fits a Glow to the points of a CSV file or a NumPy array "
                                     "(one point per row)."
                                   : "Usage: glowcl train moons [options]\n"
                                     "Trains the 2-D Glow (10 steps of ActNorm, affine "
                                     "coupling and 1x1 convolution) on two-moons and writes "
                                     "the pictures: data, samples, latents, density and loss.",
                       NULL, 0, NULL);
    if (rc) return rc;
    if ((rc = check_sizes(f))) return rc;
    if (f->from_csv && !f->data) {
        fprintf(stderr, "glowcl: train csv needs --data FILE.csv or npy:FILE\n");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static int parse_prior(const points_flags *f, gc_model_config *config)
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

/* The mixture's first means and scales, for `dim`-D points, into `means` and `scales`
 * (room for GC_MAX_MIX_COMPONENTS · 64 each), which the config then points to. */
static int parse_mixture(const points_flags *f, size_t dim, gc_model_config *config, double *means,
                         double *scales)
{
    size_t want = (size_t)config->mix_components * dim, got = 0;
    if (f->mix_means) {
        if (!cli_parse_numbers(f->mix_means, means, GC_MAX_MIX_COMPONENTS * 64, &got) ||
            got != want) {
            fprintf(stderr, "glowcl: --mix-means needs %zu numbers (2 components x %zu dims)\n",
                    want, dim);
            return EXIT_USAGE;
        }
        config->mix_means = means;
    }
    if (f->mix_scales) {
        int ok = cli_parse_numbers(f->mix_scales, scales, GC_MAX_MIX_COMPONENTS * 64, &got);
        for (size_t i = 0; ok && i < got; i++) ok = scales[i] > 0;
        if (!ok || got != want) {
            fprintf(stderr, "glowcl: --mix-scales needs %zu positive numbers\n", want);
            return EXIT_USAGE;
        }
        config->mix_scales = scales;
    }
    if ((f->mix_means != NULL) != (f->mix_scales != NULL)) {
        fprintf(stderr, "glowcl: give --mix-means and --mix-scales together\n");
        return EXIT_USAGE;
    }
    return EXIT_OK;
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

/* The batch source of a fresh run; for train csv, with the file's points (*points, to free). */
static int open_batch_source(const points_flags *f, batch_source *src, double **points)
{
    *src = (batch_source){0};
    src->noise = f->noise;
    src->next_state = (uint32_t)f->seed * 1000003u + 1000u;
    src->dim = 2;
    gc_rng_seed_stream(&src->rng, (uint64_t)f->seed, 3);
    *points = NULL;
    if (!f->from_csv) return EXIT_OK;
    gc_status status = cli_read_points(f->data, points, &src->count, &src->dim);
    if (status != GC_OK) return cli_fail(status);
    src->points = *points;
    if ((size_t)f->batch > src->count) {
        fprintf(stderr, "glowcl: --batch %ld is larger than the %zu points of %s\n", f->batch,
                src->count, f->data);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* The model's config from the flags, for `dim`-D points; the mixture's first means and scales
 * go into `means` and `scales` (room for GC_MAX_MIX_COMPONENTS · 64 each). */
static int model_config(const points_flags *f, size_t dim, gc_model_config *config, double *means,
                        double *scales)
{
    gc_model_config_default(config, dim);
    config->layers = (int)f->layers;
    config->hidden = (size_t)f->hidden;
    config->depth = (int)f->depth;
    int rc = parse_prior(f, config);
    return rc ? rc : parse_mixture(f, dim, config, means, scales);
}

/* The model to train: a new one of `config`, or the checkpoint `path` with --resume, whose
 * training state then sets the batch source and *first. */
static gc_status open_model(const points_flags *f, gc_runtime *rt, const char *path,
                            const gc_model_config *config, batch_source *src, gc_model **model,
                            long *first)
{
    size_t dim = config->dim;
    *first = 0;
    if (!f->resume) return gc_model_create(model, rt, config, (uint64_t)f->seed);
    gc_train_state state;
    int has_state = 0;
    GC_TRY(gc_model_load_with_state(model, rt, path, &state, &has_state));
    const gc_model_config *c = gc_model_get_config(*model);
    if (c->kind != GC_MODEL_GLOW || c->dim != dim)
        return GC_ERROR(GC_ERR_FORMAT, "%s is not a Glow of %zu-D points", path, dim);
    if (has_state) {
        /* The exact continuation: the schedule's step and the data stream's position. */
        *first = (long)state.step;
        src->next_state = (uint32_t)state.data_position;
        src->rng = state.rng;
    } else {
        *first = (long)gc_model_steps(*model);
        src->next_state += (uint32_t)*first;
        gc_rng_seed_stream(&src->rng, (uint64_t)f->seed, 1000u + (uint64_t)*first);
        fprintf(stderr,
                "glowcl: warning: %s has no training state (an older glowcl wrote it): "
                "the data stream goes on from a stream of its own, not exactly\n",
                path);
    }
    fprintf(stderr, "glowcl: resuming %s at step %ld of %ld\n", path, *first, f->steps);
    return GC_OK;
}

/* One line of progress: a bar on a terminal, a plain line in a log. */
static void show_progress(cli_training *t, long step, double loss)
{
    if (!cli_progress_due(&t->progress, step == t->end)) return;
    double rate = cli_progress_rate(&t->progress, step);
    double eta = cli_progress_eta(&t->progress, step, t->end);
    if (t->progress_bar) {
        char bar[31];
        int filled = (int)(30.0 * (double)step / (double)t->end);
        for (int i = 0; i < 30; i++) bar[i] = i < filled ? '#' : '-';
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] step %ld/%ld  loss %.4f  %.0f steps/s  ETA %.0fs   ", bar, step,
                t->end, loss, rate, eta);
        if (step == t->end) fputc('\n', stderr);
    } else {
        fprintf(stderr, "step %ld/%ld  loss %.4f  %.0f steps/s  ETA %.0fs\n", step, t->end, loss,
                rate, eta);
    }
}

/* Trains from step `first` to --steps, or until SIGINT or SIGTERM has come (before a step), by
 * the training policy (training.h). Fills losses[step]; *done gets the steps done in all (the
 * schedule's position), first included. */
static int train_loop(cli_training *t, const points_flags *f, batch_source *src, double *losses,
                      long first, long *done)
{
    size_t dim = gc_model_get_config(t->model)->dim;
    /* Every rank draws the whole global batch, so the data stream is the same for any number
     * of ranks; each trains on its shard of it. */
    double *x = malloc((size_t)f->batch * dim * sizeof *x);
    if (!x) return cli_fail(GC_ERROR(GC_ERR_MEMORY, "out of host memory"));
    t->progress_bar = isatty(STDERR_FILENO);
    cli_training_start(t, first, src->next_state, &src->rng, t->progress_bar ? 0.1 : 5.0);
    int rc = EXIT_OK;
    long step = first;
    for (; step < f->steps && !cli_dist_stop_requested(); step++) {
        gc_status status = next_batch(src, x, (size_t)f->batch);
        if (status != GC_OK) {
            rc = cli_training_fail(t, status);
            break;
        }
        gc_adam_config adam = GC_ADAM_DEFAULT;
        adam.lr = f->constant_lr ? f->lr : cli_lr_cosine(f->lr, 0.0, step, f->steps);
        int good = 0;
        rc = cli_training_step(t, step, x, (size_t)f->batch, dim, &adam, src->next_state, &src->rng,
                               &losses[step], &good);
        if (rc) break;
        if (good) show_progress(t, step + 1, losses[step]);
    }
    free(x);
    if (rc) return rc;
    *done = step;
    if (t->progress_bar && step < f->steps) fputc('\n', stderr);
    double elapsed = cli_progress_elapsed(&t->progress);
    if (step > first)
        fprintf(stderr, "trained %ld steps in %.1f s (%.1f ms/step)\n", step - first, elapsed,
                1e3 * elapsed / (double)(step - first));
    return EXIT_OK;
}

/* The test NLL (two-moons: fresh points; a CSV: its own points) and the pictures, by rank 0. */
static int final_test(gc_model *model, const points_flags *f, const batch_source *src,
                      const double *losses)
{
    size_t test_n = f->from_csv ? src->count : (size_t)f->test_n;
    double *fresh = f->from_csv ? NULL : malloc(test_n * 2 * sizeof *fresh);
    int *labels = f->from_csv ? NULL : malloc(test_n * sizeof *labels);
    const double *test = f->from_csv ? src->points : fresh;
    gc_status status =
        test && (f->from_csv || labels) ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    if (status == GC_OK && !f->from_csv)
        status = gc_moons(test_n, f->noise, (uint32_t)f->seed * 1000003u + 7u, fresh, labels);
    char source[4200];
    snprintf(source, sizeof source, "%s", f->from_csv ? f->data : "the fresh two-moons points");
    double mean = 0.0, se = 0.0;
    if (status == GC_OK) status = cli_mean_nll(model, test, test_n, source, &mean, &se, NULL);
    if (status == GC_OK)
        printf("%s NLL: %.4f ± %.4f nats (%zu %s points)\n", f->from_csv ? "training" : "test",
               mean, se, test_n, f->from_csv ? "training" : "fresh");
    if (status == GC_OK) {
        char title[96];
        snprintf(title, sizeof title, "%s prior", f->prior);
        size_t shown = test_n < 3000 ? test_n : 3000;
        status = cli_point_pictures(model, f->out, test, labels, shown, losses, (size_t)f->steps,
                                    (uint64_t)f->seed, title);
    }
    if (status == GC_OK)
        printf("wrote %s/model.glowcl%s\n", f->out,
               src->dim == 2 ? " and " CLI_POINT_PICTURES : "");
    free(fresh);
    free(labels);
    return status == GC_OK ? EXIT_OK : cli_fail(status);
}

/* Trains the opened model and saves it: the checkpoint first (a stop, or any failure of what
 * follows, loses nothing); rank 0 writes it, and what follows, for all. */
static int train_and_save(cli_training *t, const points_flags *f, batch_source *src, double *losses,
                          long first)
{
    const gc_model_config *mc = gc_model_get_config(t->model);
    fprintf(stderr,
            "glowcl: Glow, %d layers, coupling networks %d x %zu, %s prior, %zu "
            "parameters; %ld steps of %ld points\n",
            mc->layers, mc->depth, mc->hidden, mc->prior == GC_PRIOR_MIX ? "mix" : "gauss",
            gc_model_param_count(t->model), f->steps, f->batch);
    cli_stop_install(t->checkpoint);
    long done = first;
    int rc = cli_dist_attach(t->model);
    if (rc == EXIT_OK) rc = train_loop(t, f, src, losses, first, &done);
    cli_training_finish(t);
    if (rc == EXIT_OK && cli_dist_is_root()) {
        gc_train_state state = {(uint64_t)done, src->next_state, src->rng};
        gc_status status = gc_model_save_with_state(t->model, &state, t->checkpoint);
        if (status != GC_OK) rc = cli_fail(status);
    }
    cli_stop_uninstall();
    if (rc == EXIT_OK && cli_stop_requested()) {
        fprintf(stderr,
                "glowcl: stopped after step %ld of %ld; saved %s (go on with `glowcl "
                "train %s --resume --steps %ld --out %s`)\n",
                done, f->steps, t->checkpoint, f->from_csv ? "csv" : "moons", f->steps, f->out);
        rc = cli_stop_exit_code();
    }
    if (rc == EXIT_OK && cli_dist_is_root()) rc = final_test(t->model, f, src, losses);
    return rc;
}

int cli_train_points(int argc, char **argv)
{
    points_flags f = {CLI_DEVICE_FLAGS_DEFAULT,
                      3000,
                      256,
                      1,
                      10,
                      64,
                      2,
                      10000,
                      2e-3,
                      0.05,
                      "gauss",
                      NULL,
                      NULL,
                      NULL,
                      NULL,
                      0,
                      0,
                      0,
                      NULL,
                      100,
                      strcmp(argv[2], "csv") == 0};
    int rc = parse_points_flags(argc, argv, &f);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    batch_source src;
    double *points = NULL;
    if ((rc = open_batch_source(&f, &src, &points))) {
        free(points);
        return rc;
    }
    gc_model_config config;
    double means[GC_MAX_MIX_COMPONENTS * 64], scales[GC_MAX_MIX_COMPONENTS * 64];
    if ((rc = model_config(&f, src.dim, &config, means, scales))) {
        free(points);
        return rc;
    }
    char default_out[64], checkpoint[4096];
    if (!f.out) {
        snprintf(default_out, sizeof default_out, "runs/%s-%s", f.from_csv ? "csv" : "moons",
                 f.prior);
        f.out = default_out;
    }
    /* Where the results go is checked before any training, not found unwritable after it. */
    cli_training t = {0};
    if ((rc = cli_prepare_out_dir(f.out, "model.glowcl")) ||
        (rc = cli_out_path(checkpoint, sizeof checkpoint, f.out, "model.glowcl")) ||
        (rc = cli_loss_log_open(f.loss_log, f.resume, &t.loss_log)) ||
        (rc = cli_open_runtime(&f.device, &t.rt))) {
        cli_loss_log_close(t.loss_log);
        free(points);
        return rc;
    }
    double *losses = malloc((size_t)f.steps * sizeof *losses);
    for (long i = 0; losses && i < f.steps; i++) losses[i] = NAN; /* steps before a resume */
    long first = 0;
    gc_status status = losses ? open_model(&f, t.rt, checkpoint, &config, &src, &t.model, &first)
                              : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    if (status == GC_OK) {
        t.end = f.steps;
        t.sync_every = f.sync_check;
        t.diverged_hint = "a smaller --lr";
        t.checkpoint = checkpoint;
        t.checkpoint_step = f.resume ? first : -1;
        rc = train_and_save(&t, &f, &src, losses, first);
    } else {
        rc = cli_fail(status);
    }
    cli_training_finish(&t);
    free(losses);
    free(points);
    gc_model_free(t.model);
    gc_runtime_close(t.rt);
    return rc;
}
