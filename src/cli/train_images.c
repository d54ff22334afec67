/* `glowcl train images`: the multi-scale image Glow (L levels of K steps, squeezes and splits)
 * on CIFAR-10 or a folder of PNGs: learning-rate warm-up, progress in bits/dim with images/s,
 * and every so often the test bits/dim, an 8×8 sample grid and a checkpoint, from which a run
 * resumes exactly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_choice.h"
#include "distributed.h"
#include "errors.h"
#include "exit_codes.h"
#include "glowcl/flow.h"
#include "glowcl/images.h"
#include "glowcl/plot.h"
#include "image_files.h"
#include "options.h"
#include "output_dir.h"
#include "scores.h"
#include "signals.h"
#include "train_images.h"
#include "training.h"

typedef struct images_flags {
    cli_device_flags device;
    const char *data, *out, *optimizer, *coupling, *split_prior, *memory, *loss_log;
    long levels, depth, hidden, batch, steps, warmup, seed, n_bits, every, test_n, max_images;
    long epochs, sync_check;
    double lr, clip, minutes;
    int resume, learn_top;
    cli_image_flags image;
} images_flags;

/* The flags as given; -1 after --help. */
static int parse_images_flags(int argc, char **argv, images_flags *f)
{
    cli_option options[] = {
        {"data", 0, OPT_STRING, &f->data, "cifar10:DIR|png:DIR|idx:DIR|npy:FILE",
         "training images (required)"},
        CLI_IMAGE_OPTIONS(f->image),
        {"levels", 0, OPT_INT, &f->levels, "L", "levels of the multi-scale model (3)"},
        {"depth", 0, OPT_INT, &f->depth, "K", "steps per level (16)"},
        {"hidden", 0, OPT_INT, &f->hidden, "N", "channels of the coupling networks (512)"},
        {"coupling", 0, OPT_STRING, &f->coupling, "affine|additive",
         "affine (sigmoid scale, default) or additive, the stable alternative"},
        {"split-prior", 0, OPT_STRING, &f->split_prior, "learned|standard",
         "score factored-out halves with Glow's learned conditional prior, or N(0, I)"},
        {"learn-top", 0, OPT_FLAG, &f->learn_top, NULL,
         "learn the top prior's mean and scale per dimension (starts as N(0, I))"},
        {"batch", 0, OPT_INT, &f->batch, "N", "images per step (16)"},
        {"steps", 0, OPT_INT, &f->steps, "N", "training steps (10000)"},
        {"lr", 0, OPT_DOUBLE, &f->lr, "X", "Adam learning rate after the warm-up (1e-3)"},
        {"warmup", 0, OPT_INT, &f->warmup, "N", "steps of linear learning-rate warm-up (500)"},
        {"optimizer", 0, OPT_STRING, &f->optimizer, "adam|adamax",
         "Adam, or Adamax (openai/glow's choice); resume with the same one"},
        {"epochs", 0, OPT_INT, &f->epochs, "N",
         "train N passes over the images (replaces --steps)"},
        {"minutes", 0, OPT_DOUBLE, &f->minutes, "X",
         "stop after X minutes of training, with a last test, checkpoint and grid (0: no limit)"},
        {"clip-grad", 0, OPT_DOUBLE, &f->clip, "X", "clip the gradient's L2 norm (0: off)"},
        {"memory", 0, OPT_STRING, &f->memory, "store|low",
         "keep every op's input for the backward pass, or rebuild it by inversion (low)"},
        {"n-bits", 0, OPT_INT, &f->n_bits, "N", "bits per colour channel (8)"},
        {"every", 0, OPT_INT, &f->every, "N",
         "test bits/dim, checkpoint and samples every N (500)"},
        {"test-n", 0, OPT_INT, &f->test_n, "N", "test images for bits/dim (1000)"},
        {"max-images", 0, OPT_INT, &f->max_images, "N", "use at most N training images (0: all)"},
        {"seed", 's', OPT_INT, &f->seed, "N", "seed (1)"},
        {"resume", 0, OPT_FLAG, &f->resume, NULL, "go on from OUT/model.glowcl"},
        {"out", 'o', OPT_STRING, &f->out, "DIR", "checkpoint and pictures (runs/images)"},
        {"log", 0, OPT_STRING, &f->loss_log, "FILE", CLI_LOSS_LOG_HELP},
        {"sync-check", 0, OPT_INT, &f->sync_check, "N", CLI_SYNC_CHECK_HELP},
        CLI_DEVICE_OPTIONS(f->device),
    };
    return cli_parse(argc, argv, 3, options, sizeof options / sizeof options[0],
                     "Usage: glowcl train images --data cifar10:DIR|png:DIR|idx:DIR|npy:FILE "
                     "[options]\n"
                     "The multi-scale image Glow (L levels of K steps) on images; reports bits "
                     "per dimension. Data: CIFAR-10 binary batches, a folder of PNGs, MNIST-family "
                     "IDX files (plain or .gz; the test split is t10k), or a uint8 NumPy array "
                     "(N x H x W, N x H x W x C or N x C x H x W). With --pad, bits/dim is over "
                     "the padded images, the padding's pixels counted as dimensions.",
                     NULL, 0, NULL);
}

static int check_images_flags(const images_flags *f)
{
    if (f->coupling && strcmp(f->coupling, "additive") != 0 && strcmp(f->coupling, "affine") != 0) {
        fprintf(stderr, "glowcl: --coupling must be affine or additive\n");
        return EXIT_USAGE;
    }
    int low_memory = 0, rc = cli_memory_mode(f->memory, &low_memory);
    if (rc) return rc;
    if (strcmp(f->split_prior, "learned") != 0 && strcmp(f->split_prior, "standard") != 0) {
        fprintf(stderr, "glowcl: --split-prior must be learned or standard\n");
        return EXIT_USAGE;
    }
    if (!f->data) {
        fprintf(stderr, "glowcl: train images needs --data cifar10:DIR, png:DIR, idx:DIR or "
                        "npy:FILE\n");
        return EXIT_USAGE;
    }
    if ((rc = cli_check_image_flags(&f->image))) return rc;
    if (strcmp(f->optimizer, "adam") != 0 && strcmp(f->optimizer, "adamax") != 0) {
        fprintf(stderr, "glowcl: --optimizer must be adam or adamax, not '%s'\n", f->optimizer);
        return EXIT_USAGE;
    }
    if (f->levels < 1 || f->depth < 1 || f->hidden < 1 || f->batch < 1 || f->steps < 1 ||
        f->warmup < 0 || !(f->lr > 0) || f->clip < 0 || f->n_bits < 1 || f->n_bits > 8 ||
        f->every < 1 || f->test_n < 0 || f->max_images < 0 || f->seed < 0 || f->epochs < 0 ||
        !(f->minutes >= 0) || f->sync_check < 0) {
        fprintf(stderr, "glowcl: sizes, steps and --lr must be positive, --n-bits 1..8\n");
        return EXIT_USAGE;
    }
    return cli_dist_check_batch(f->batch);
}

/* The training images and, for CIFAR-10 and IDX files, the test split (a PNG folder or a NumPy
 * array has none: its first images are scored instead). */
typedef struct image_data {
    gc_image_set train, test;
    int have_test;
} image_data;

static int load_data(images_flags *f, image_data *d)
{
    int rc = cli_load_images(f->data, "train", (size_t)f->max_images, &f->image, &d->train);
    if (rc) return rc;
    if ((size_t)f->batch > d->train.count) {
        fprintf(stderr, "glowcl: --batch %ld is larger than the %zu training images\n", f->batch,
                d->train.count);
        return EXIT_USAGE;
    }
    if (f->epochs > 0)
        f->steps = (long)((f->epochs * (long)d->train.count + f->batch - 1) / f->batch);
    d->have_test =
        (strncmp(f->data, "cifar10:", 8) == 0 || strncmp(f->data, "idx:", 4) == 0) &&
        cli_load_images(f->data, "test", (size_t)f->test_n, &f->image, &d->test) == EXIT_OK;
    return EXIT_OK;
}

static gc_status create_model(const images_flags *f, gc_runtime *rt, const gc_image_set *train,
                              gc_model **model)
{
    gc_model_config config;
    gc_model_config_image(&config, train->channels, train->height, train->width);
    /* A learned top prior is a one-component learned Gaussian mixture over the last level's
     * output (each of the levels − 1 splits halves it), started at N(0, I). */
    size_t top = (train->channels * train->height * train->width) >> (f->levels - 1);
    double *zeros = calloc(top ? top : 1, sizeof *zeros);
    double *ones = malloc((top ? top : 1) * sizeof *ones);
    for (size_t i = 0; ones && i < top; i++) ones[i] = 1.0;
    double weight = 1.0;
    config.levels = (int)f->levels;
    config.layers = (int)f->depth;
    config.hidden = (size_t)f->hidden;
    config.additive = f->coupling && strcmp(f->coupling, "additive") == 0;
    config.split_standard = strcmp(f->split_prior, "standard") == 0;
    if (f->learn_top) {
        config.prior = GC_PRIOR_MIX;
        config.mix_components = 1;
        config.mix_means = zeros;
        config.mix_scales = ones;
        config.mix_weights = &weight;
    }
    gc_status status = zeros && ones ? gc_model_create(model, rt, &config, (uint64_t)f->seed)
                                     : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    free(zeros);
    free(ones);
    return status;
}

/* A new model, or with --resume the checkpoint, which goes on exactly where its training
 * state left it (the step, which sets the warm-up, and the data stream's generator:
 * minibatches and dequantisation noise); a checkpoint without that state (an older glowcl's)
 * goes on from the model's step count with a data stream of its own. */
static gc_status open_model(const images_flags *f, gc_runtime *rt, const char *checkpoint,
                            const gc_image_set *train, gc_model **model, long *first, gc_rng *rng)
{
    gc_train_state state;
    int has_state = 0;
    if (f->resume) {
        GC_TRY(gc_model_load_with_state(model, rt, checkpoint, &state, &has_state));
        if (gc_model_get_config(*model)->kind != GC_MODEL_IMAGE)
            return GC_ERROR(GC_ERR_FORMAT, "%s is not an image model", checkpoint);
    } else {
        GC_TRY(create_model(f, rt, train, model));
    }
    gc_model_set_memory(*model, strcmp(f->memory, "low") == 0 ? GC_MEMORY_LOW : GC_MEMORY_STORE);
    const gc_model_config *c = gc_model_get_config(*model);
    char padded[160] = "";
    if (f->image.original_height)
        snprintf(padded, sizeof padded,
                 " (padded from %zux%zu: bits/dim counts the padding's pixels as dimensions)",
                 f->image.original_height, f->image.original_width);
    fprintf(stderr,
            "glowcl: %zu training images %zux%zux%zu%s; %d levels x %d steps, hidden "
            "%zu, %s couplings, %zu parameters\n",
            train->count, train->channels, train->height, train->width, padded, c->levels,
            c->layers, c->hidden, c->additive ? "additive" : "affine",
            gc_model_param_count(*model));
    *first = (long)gc_model_steps(*model);
    if (f->resume && has_state) {
        *first = (long)state.step;
        *rng = state.rng;
    } else {
        gc_rng_seed_stream(rng, (uint64_t)f->seed, (uint64_t)*first + 1);
        if (f->resume)
            fprintf(stderr,
                    "glowcl: warning: %s has no training state (an older glowcl wrote "
                    "it): the data stream goes on from a stream of its own, not "
                    "exactly\n",
                    checkpoint);
    }
    if (f->resume)
        fprintf(stderr, "glowcl: resuming %s at step %ld of %ld\n", checkpoint, *first, f->steps);
    return GC_OK;
}

/* The run's bits/dim for curve.png: the training batch's at each good step, the test's at each
 * test (of this run: a resumed run's curve starts where it resumed). */
typedef struct curve_points {
    double *x, *y;
    size_t n, capacity;
} curve_points;
typedef struct run_curve {
    curve_points train, test;
} run_curve;

static gc_status curve_add(curve_points *c, double x, double y)
{
    if (c->n == c->capacity) {
        size_t grown = c->capacity ? 2 * c->capacity : 256;
        double *xs = realloc(c->x, grown * sizeof *xs);
        if (xs) c->x = xs;
        double *ys = xs ? realloc(c->y, grown * sizeof *ys) : NULL;
        if (!ys) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
        c->y = ys;
        c->capacity = grown;
    }
    c->x[c->n] = x, c->y[c->n] = y, c->n++;
    return GC_OK;
}

static void curve_free(run_curve *c)
{
    free(c->train.x), free(c->train.y), free(c->test.x), free(c->test.y);
}

/* OUT/curve.png, written over at each test. */
static gc_status write_curve(const run_curve *c, const images_flags *f, int have_test)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/curve.png", f->out);
    gc_line_series series[2] = {
        {c->train.x, c->train.y, c->train.n, gc_plot_palette_color(0), "training batch"},
        {c->test.x, c->test.y, c->test.n, gc_plot_palette_color(1),
         have_test ? "test" : "training set"}};
    return gc_plot_line_series(path, "bits/dim", "step", "bits/dim", series, 2, 640, 480);
}

/* After step `step`: the test bits/dim, a sample grid, the curve and the checkpoint (rank 0). */
static gc_status test_and_save(cli_training *t, const images_flags *f, const image_data *d,
                               long step, const gc_rng *rng, run_curve *curve)
{
    double mean = 0.0, se = 0.0;
    const gc_image_set *scored = d->have_test ? &d->test : &d->train;
    char source[4200], grid[4200];
    snprintf(source, sizeof source, "the %s images of %s", d->have_test ? "test" : "training",
             f->data);
    GC_TRY(cli_bits_per_dim(t->model, scored, (size_t)f->test_n, (int)f->n_bits, source, &mean, &se,
                            NULL, NULL));
    printf("step %ld: %s bits/dim %.4f ± %.4f (%zu images%s)\n", step,
           d->have_test ? "test" : "training", mean, se,
           scored->count < (size_t)f->test_n ? scored->count : (size_t)f->test_n,
           f->image.original_height ? ", padded: padding counted" : "");
    GC_TRY(curve_add(&curve->test, (double)step, mean));
    GC_TRY(write_curve(curve, f, d->have_test));
    gc_train_state state = {(uint64_t)step, 0, *rng};
    GC_TRY(gc_model_save_with_state(t->model, &state, t->checkpoint));
    cli_training_saved(t, step);
    /* A model whose test score is finite can still map some draws of the prior to infinities
     * (a loss spike that training recovers from): those samples are not drawn as pixels, but a
     * missing picture is no reason to end a run whose checkpoint is sound. */
    snprintf(grid, sizeof grid, "%s/samples-%06ld.png", f->out, step);
    gc_status drawn = cli_sample_grid(t->model, grid, 64, 0.7, (uint64_t)f->seed, (int)f->n_bits);
    if (drawn == GC_ERR_NUMERIC)
        fprintf(stderr, "glowcl: warning: step %ld: %s; no sample grid, training goes on\n", step,
                gc_last_error());
    else
        GC_TRY(drawn);
    fflush(stdout);
    return GC_OK;
}

/* The progress line, every 2 s and at the last step; images/s of the whole run: all ranks'
 * shards of the global batch. */
static void show_progress(cli_training *t, const images_flags *f, long step, double loss,
                          size_t dims)
{
    if (!cli_progress_due(&t->progress, step == t->end)) return;
    double rate = cli_progress_rate(&t->progress, step) * (double)f->batch;
    double eta = cli_progress_eta(&t->progress, step, t->end);
    if (f->minutes > 0)
        eta = fmin(eta, fmax(60.0 * f->minutes - cli_progress_elapsed(&t->progress), 0.0));
    fprintf(stderr, "step %ld/%ld  %.3f bits/dim  |grad| %.3g  %.1f images/s  ETA %.0f s\n", step,
            t->end, gc_bits_per_dim(loss, dims, (int)f->n_bits), gc_model_last_grad_norm(t->model),
            rate, eta);
}

/* Trains from step `first` by the training policy (training.h) until the end or a stop signal,
 * which saves the checkpoint of the steps done. *step gets the step it stopped before. */
static int train_loop(cli_training *t, const images_flags *f, const image_data *d, long first,
                      gc_rng *rng, long *step)
{
    size_t dims = d->train.channels * d->train.height * d->train.width;
    double *x = malloc((size_t)f->batch * dims * sizeof *x);
    size_t *indices = malloc((size_t)f->batch * sizeof *indices);
    if (!x || !indices) {
        free(x);
        free(indices);
        return cli_fail(GC_ERROR(GC_ERR_MEMORY, "out of memory"));
    }
    cli_training_start(t, first, 0, rng, 2.0);
    run_curve curve = {{0}, {0}};
    gc_status status = GC_OK;
    int rc = EXIT_OK;
    for (*step = first; rc == EXIT_OK && status == GC_OK && *step < t->end; ++*step) {
        /* SIGINT or SIGTERM: the previous step is done; checkpoint it and stop. */
        if (cli_dist_stop_requested()) {
            gc_train_state state = {(uint64_t)*step, 0, *rng};
            if (cli_dist_is_root())
                status = gc_model_save_with_state(t->model, &state, t->checkpoint);
            break;
        }
        /* Every rank draws and dequantises the whole global batch (the same stream for any
         * number of ranks, hence exact resumes with another) and trains on its shard. */
        for (long i = 0; i < f->batch; i++)
            indices[i] = gc_rng_below(rng, (uint32_t)d->train.count);
        status = gc_images_to_unit(&d->train, indices, (size_t)f->batch, (int)f->n_bits, rng, x);
        if (status != GC_OK) break;
        gc_adam_config adam = GC_ADAM_DEFAULT;
        adam.lr = cli_lr_warmup(f->lr, f->warmup, *step);
        adam.clip_norm = f->clip;
        adam.adamax = strcmp(f->optimizer, "adamax") == 0;
        double loss = 0.0;
        int good = 0;
        rc = cli_training_step(t, *step, x, (size_t)f->batch, dims, &adam, 0, rng, &loss, &good);
        if (rc || !good) continue;
        show_progress(t, f, *step + 1, loss, dims);
        double bits = gc_bits_per_dim(loss, dims, (int)f->n_bits);
        if (cli_dist_is_root()) status = curve_add(&curve.train, (double)(*step + 1), bits);
        if (status == GC_OK && cli_dist_is_root() &&
            ((*step + 1) % f->every == 0 || *step + 1 == t->end))
            status = test_and_save(t, f, d, *step + 1, rng, &curve);
    }
    free(x);
    free(indices);
    curve_free(&curve);
    return status == GC_OK ? rc : cli_training_fail(t, status);
}

/* Trains the opened model: the loop, then what ended it said. */
static int train_and_report(cli_training *t, const images_flags *f, const image_data *d, long first,
                            gc_rng *rng)
{
    cli_stop_install(t->checkpoint);
    long step = first;
    /* Another rank may have failed before training: then all end here. */
    int rc = cli_dist_attach(t->model);
    if (rc == EXIT_OK) rc = train_loop(t, f, d, first, rng, &step);
    cli_stop_uninstall();
    cli_training_finish(t);
    if (rc == EXIT_OK && cli_stop_requested()) {
        fprintf(stderr,
                "glowcl: stopped after step %ld of %ld; saved %s (go on with --resume "
                "--out %s)\n",
                step, t->end, t->checkpoint, f->out);
        rc = cli_stop_exit_code();
    } else if (rc == EXIT_OK) {
        printf("wrote %s and %s/samples-*.png\n", t->checkpoint, f->out);
    }
    return rc;
}

int cli_train_images(int argc, char **argv)
{
    images_flags f = {CLI_DEVICE_FLAGS_DEFAULT,
                      NULL,
                      "runs/images",
                      "adam",
                      NULL,
                      "learned",
                      "store",
                      NULL,
                      3,
                      16,
                      512,
                      16,
                      10000,
                      500,
                      1,
                      8,
                      500,
                      1000,
                      0,
                      0,
                      100,
                      1e-3,
                      0.0,
                      0.0,
                      0,
                      0,
                      CLI_IMAGE_FLAGS_DEFAULT};
    int rc = parse_images_flags(argc, argv, &f);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if ((rc = check_images_flags(&f))) return rc;
    image_data d = {0};
    cli_training t = {0};
    char checkpoint[4096];
    /* Where the results go is checked before any training, not found unwritable after it. */
    if (!(rc = load_data(&f, &d)) && !(rc = cli_prepare_out_dir(f.out, "model.glowcl")) &&
        !(rc = cli_out_path(checkpoint, sizeof checkpoint, f.out, "model.glowcl")) &&
        !(rc = cli_loss_log_open(f.loss_log, f.resume, &t.loss_log)) &&
        !(rc = cli_open_runtime(&f.device, &t.rt))) {
        long first = 0;
        gc_rng rng;
        gc_status status = open_model(&f, t.rt, checkpoint, &d.train, &t.model, &first, &rng);
        t.end = f.steps;
        t.minutes = f.minutes;
        t.sync_every = f.sync_check;
        t.diverged_hint = "a smaller --lr or --clip-grad";
        t.checkpoint = checkpoint;
        t.checkpoint_step = f.resume ? first : -1;
        rc = status == GC_OK ? train_and_report(&t, &f, &d, first, &rng) : cli_fail(status);
    }
    cli_training_finish(&t);
    gc_model_free(t.model);
    gc_runtime_close(t.rt);
    gc_image_set_free(&d.train);
    gc_image_set_free(&d.test);
    return rc;
}
