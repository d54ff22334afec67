/* `glowcl train images`: exercise 3, the multi-scale Glow on CIFAR-10 (or a folder of PNGs):
 * learning-rate warm-up, progress in bits/dim with images/s, test bits/dim, an 8×8 sample grid
 * and a checkpoint every so often, and resuming from that checkpoint. Also the image side of
 * `sample` and `eval`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "distributed.h"
#include "glowcl/flow.h"
#include "glowcl/images.h"
#include "glowcl/plot.h"

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* "cifar10:DIR" or "png:DIR" → the split's images. */
int cli_load_images(const char *spec, const char *split, size_t max_images, gc_image_set *set)
{
    gc_status status;
    if (strncmp(spec, "cifar10:", 8) == 0)
        status = gc_cifar10_load(set, spec + 8, split, max_images);
    else if (strncmp(spec, "png:", 4) == 0)
        status = gc_png_folder_load(set, spec + 4, 0, 0, max_images);
    else {
        fprintf(stderr, "glowcl: --data must be cifar10:DIR or png:DIR, not '%s'\n", spec);
        return EXIT_USAGE;
    }
    return status == GC_OK ? EXIT_OK : cli_fail(status);
}

/* Mean bits/dim over up to `limit` images with fixed dequantisation noise, and its standard
 * error; if `reconstruction` is given, also max |decode(encode(x)) − x| over those images. */
gc_status cli_bits_per_dim(gc_model *model, const gc_image_set *set, size_t limit, int n_bits,
                           double *mean, double *se, double *reconstruction)
{
    size_t n = set->count < limit ? set->count : limit, dims = set->channels * set->height * set->width;
    enum { CHUNK = 32 };
    double *x = malloc(CHUNK * dims * sizeof *x), logp[CHUNK], sum = 0.0, sq = 0.0, worst = 0.0;
    size_t indices[CHUNK];
    gc_status status = x ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_rng rng;
    gc_rng_seed_stream(&rng, 2018, 3); /* the same noise on every evaluation */
    for (size_t start = 0; start < n && status == GC_OK; start += CHUNK) {
        size_t rows = n - start < CHUNK ? n - start : CHUNK;
        for (size_t i = 0; i < rows; i++) indices[i] = start + i;
        status = gc_images_to_unit(set, indices, rows, n_bits, &rng, x);
        if (status == GC_OK) status = gc_model_log_prob(model, x, rows, logp);
        for (size_t i = 0; status == GC_OK && i < rows; i++) {
            double bpd = gc_bits_per_dim(-logp[i], dims, n_bits);
            sum += bpd;
            sq += bpd * bpd;
        }
        double error = 0.0;
        if (status == GC_OK && reconstruction)
            status = cli_reconstruction_error(model, x, rows, dims, &error);
        worst = error > worst || isnan(error) ? error : worst;
    }
    free(x);
    if (status == GC_OK) {
        *mean = sum / (double)n;
        double var = n > 1 ? (sq - (double)n * *mean * *mean) / (double)(n - 1) : 0.0;
        *se = sqrt(var > 0 ? var / (double)n : 0.0);
        if (reconstruction) *reconstruction = worst;
    }
    return status;
}

/* An 8×8 grid of samples at `temperature`, as a PNG. */
gc_status cli_sample_grid(gc_model *model, const char *path, int count, double temperature,
                          uint64_t seed, int n_bits)
{
    const gc_model_config *c = gc_model_get_config(model);
    size_t dims = c->channels * c->height * c->width;
    double *x = malloc((size_t)count * dims * sizeof *x);
    float *pixels = malloc((size_t)count * dims * sizeof *pixels);
    gc_status status = x && pixels ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_rng rng;
    gc_rng_seed_stream(&rng, seed, 5);
    if (status == GC_OK) status = gc_model_sample(model, (size_t)count, temperature, &rng, x);
    /* Back to the n-bit levels the data had, as the Glow paper shows its samples. */
    double levels = (double)(1 << n_bits);
    for (size_t i = 0; status == GC_OK && i < (size_t)count * dims; i++)
        pixels[i] = (float)(floor(fmin(fmax(x[i], 0.0), 0.999999) * levels) / (levels - 1));
    if (status == GC_OK)
        status = gc_image_grid(path, pixels, count, (int)c->channels, (int)c->height,
                               (int)c->width, 8);
    free(x);
    free(pixels);
    return status;
}

int cmd_train_images(int argc, char **argv)
{
    cli_device_flags device = CLI_DEVICE_FLAGS_DEFAULT;
    const char *data = NULL, *out = "runs/images", *optimizer = "adam";
    long levels = 3, depth = 16, hidden = 512, batch = 16, steps = 10000, warmup = 500;
    long seed = 1, n_bits = 8, every = 500, test_n = 1000, max_images = 0, epochs = 0;
    long sync_check = 100;
    const char *loss_log_path = NULL;
    double lr = 1e-3, clip = 0.0, minutes = 0.0;
    int additive = 0, resume = 0, learn_top = 0;
    const char *coupling = NULL, *split_prior = "learned", *memory = "store";
    int low_memory = 0;
    cli_option options[] = {
        {"data", 0, OPT_STRING, &data, "cifar10:DIR|png:DIR", "training images (required)"},
        {"levels", 0, OPT_INT, &levels, "L", "levels of the multi-scale model (3)"},
        {"depth", 0, OPT_INT, &depth, "K", "steps per level (16)"},
        {"hidden", 0, OPT_INT, &hidden, "N", "channels of the coupling networks (512)"},
        {"coupling", 0, OPT_STRING, &coupling, "affine|additive",
         "affine (sigmoid scale, default) or additive, the stable alternative"},
        {"split-prior", 0, OPT_STRING, &split_prior, "learned|standard",
         "score factored-out halves with Glow's learned conditional prior, or N(0, I)"},
        {"learn-top", 0, OPT_FLAG, &learn_top, NULL,
         "learn the top prior's mean and scale per dimension (starts as N(0, I))"},
        {"batch", 0, OPT_INT, &batch, "N", "images per step (16)"},
        {"steps", 0, OPT_INT, &steps, "N", "training steps (10000)"},
        {"lr", 0, OPT_DOUBLE, &lr, "X", "Adam learning rate after the warm-up (1e-3)"},
        {"warmup", 0, OPT_INT, &warmup, "N", "steps of linear learning-rate warm-up (500)"},
        {"optimizer", 0, OPT_STRING, &optimizer, "adam|adamax",
         "Adam, or Adamax (openai/glow's choice); resume with the same one"},
        {"epochs", 0, OPT_INT, &epochs, "N", "train N passes over the images (replaces --steps)"},
        {"minutes", 0, OPT_DOUBLE, &minutes, "X",
         "stop after X minutes of training, with a last test, checkpoint and grid (0: no limit)"},
        {"clip-grad", 0, OPT_DOUBLE, &clip, "X", "clip the gradient's L2 norm (0: off)"},
        {"memory", 0, OPT_STRING, &memory, "store|low",
         "keep every op's input for the backward pass, or rebuild it by inversion (low)"},
        {"n-bits", 0, OPT_INT, &n_bits, "N", "bits per colour channel (8)"},
        {"every", 0, OPT_INT, &every, "N", "test bits/dim, checkpoint and samples every N (500)"},
        {"test-n", 0, OPT_INT, &test_n, "N", "test images for bits/dim (1000)"},
        {"max-images", 0, OPT_INT, &max_images, "N", "use at most N training images (0: all)"},
        {"seed", 's', OPT_INT, &seed, "N", "seed (1)"},
        {"resume", 0, OPT_FLAG, &resume, NULL, "go on from OUT/model.glowcl"},
        {"out", 'o', OPT_STRING, &out, "DIR", "checkpoint and pictures (runs/images)"},
        {"log", 0, OPT_STRING, &loss_log_path, "FILE", CLI_LOSS_LOG_HELP},
        {"sync-check", 0, OPT_INT, &sync_check, "N", CLI_SYNC_CHECK_HELP},
        CLI_DEVICE_OPTIONS(device),
    };
    int rc = cli_parse(argc, argv, 3, options, sizeof options / sizeof options[0],
                       "Usage: glowcl train images --data cifar10:DIR|png:DIR [options]\n"
                       "Exercise 3: the multi-scale Glow (L levels of K steps) on images; "
                       "reports bits per dimension.",
                       NULL, 0, NULL);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (coupling) {
        if (strcmp(coupling, "additive") == 0)
            additive = 1;
        else if (strcmp(coupling, "affine") != 0) {
            fprintf(stderr, "glowcl: --coupling must be affine or additive\n");
            return EXIT_USAGE;
        }
    }
    if ((rc = cli_memory_mode(memory, &low_memory))) return rc;
    if (strcmp(split_prior, "learned") != 0 && strcmp(split_prior, "standard") != 0) {
        fprintf(stderr, "glowcl: --split-prior must be learned or standard\n");
        return EXIT_USAGE;
    }
    if (!data) {
        fprintf(stderr, "glowcl: train images needs --data cifar10:DIR or png:DIR\n");
        return EXIT_USAGE;
    }
    if (strcmp(optimizer, "adam") != 0 && strcmp(optimizer, "adamax") != 0) {
        fprintf(stderr, "glowcl: --optimizer must be adam or adamax, not '%s'\n", optimizer);
        return EXIT_USAGE;
    }
    if (levels < 1 || depth < 1 || hidden < 1 || batch < 1 || steps < 1 || warmup < 0 ||
        !(lr > 0) || clip < 0 || n_bits < 1 || n_bits > 8 || every < 1 || test_n < 0 ||
        max_images < 0 || seed < 0 || epochs < 0 || !(minutes >= 0) || sync_check < 0) {
        fprintf(stderr, "glowcl: sizes, steps and --lr must be positive, --n-bits 1..8\n");
        return EXIT_USAGE;
    }
    if ((rc = cli_dist_check_batch(batch))) return rc;
    gc_image_set train = {0}, test = {0};
    if ((rc = cli_load_images(data, "train", (size_t)max_images, &train))) return rc;
    if ((size_t)batch > train.count) {
        fprintf(stderr, "glowcl: --batch %ld is larger than the %zu training images\n", batch,
                train.count);
        gc_image_set_free(&train);
        return EXIT_USAGE;
    }
    if (epochs > 0) steps = (long)((epochs * (long)train.count + batch - 1) / batch);
    /* A PNG folder has no test split: its first images are scored instead. */
    int have_test = strncmp(data, "cifar10:", 8) == 0 &&
                    cli_load_images(data, "test", (size_t)test_n, &test) == EXIT_OK;
    if (!cli_make_dir(out)) {
        fprintf(stderr, "glowcl: cannot create %s\n", out);
        gc_image_set_free(&train);
        gc_image_set_free(&test);
        return EXIT_INPUT;
    }
    FILE *loss_log = NULL;
    if ((rc = cli_loss_log_open(loss_log_path, resume, &loss_log))) {
        gc_image_set_free(&train);
        gc_image_set_free(&test);
        return rc;
    }
    gc_runtime *rt = NULL;
    if ((rc = cli_open_runtime(&device, &rt))) {
        cli_loss_log_close(loss_log);
        gc_image_set_free(&train);
        gc_image_set_free(&test);
        return rc;
    }
    char checkpoint[4096], grid[4200];
    snprintf(checkpoint, sizeof checkpoint, "%s/model.glowcl", out);
    gc_model *model = NULL;
    gc_status status;
    gc_train_state state;
    int has_state = 0;
    if (resume) {
        status = gc_model_load_with_state(&model, rt, checkpoint, &state, &has_state);
        if (status == GC_OK && gc_model_get_config(model)->kind != GC_MODEL_IMAGE)
            status = GC_ERROR(GC_ERR_FORMAT, "%s is not an image model", checkpoint);
    } else {
        gc_model_config config;
        gc_model_config_image(&config, train.channels, train.height, train.width);
        /* A learned top prior is a one-component learned Gaussian mixture over the last
         * level's output (each of the levels − 1 splits halves it), started at N(0, I). */
        size_t top = (train.channels * train.height * train.width) >> (levels - 1);
        double *zeros = calloc(top ? top : 1, sizeof *zeros), *ones = malloc((top ? top : 1) * sizeof *ones);
        for (size_t i = 0; ones && i < top; i++) ones[i] = 1.0;
        double weight = 1.0;
        config.levels = (int)levels;
        config.layers = (int)depth;
        config.hidden = (size_t)hidden;
        config.additive = additive;
        config.split_standard = strcmp(split_prior, "standard") == 0;
        if (learn_top) {
            config.prior = GC_PRIOR_MIX;
            config.mix_components = 1;
            config.mix_means = zeros;
            config.mix_scales = ones;
            config.mix_weights = &weight;
        }
        status = zeros && ones ? gc_model_create(&model, rt, &config, (uint64_t)seed)
                               : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
        free(zeros);
        free(ones);
    }
    if (status == GC_OK) gc_model_set_memory(model, low_memory ? GC_MEMORY_LOW : GC_MEMORY_STORE);
    size_t dims = train.channels * train.height * train.width;
    double *x = malloc((size_t)batch * dims * sizeof *x);
    size_t *indices = malloc((size_t)batch * sizeof *indices);
    if (status == GC_OK && !(x && indices)) status = GC_ERROR(GC_ERR_MEMORY, "out of memory");
    if (status == GC_OK)
        fprintf(stderr, "glowcl: %zu training images %zux%zux%zu; %d levels x %d steps, hidden "
                        "%zu, %s couplings, %zu parameters\n",
                train.count, train.channels, train.height, train.width,
                gc_model_get_config(model)->levels, gc_model_get_config(model)->layers,
                gc_model_get_config(model)->hidden,
                gc_model_get_config(model)->additive ? "additive" : "affine",
                gc_model_param_count(model));
    /* A resumed run goes on exactly where the checkpoint's training state left it (the step,
     * which sets the warm-up, and the data stream's generator: minibatches and dequantisation
     * noise). A checkpoint without that state (an older glowcl's) goes on from the model's
     * step count with a data stream of its own. */
    long first = status == GC_OK ? (long)gc_model_steps(model) : 0;
    gc_rng rng;
    if (status == GC_OK && resume && has_state) {
        first = (long)state.step;
        rng = state.rng;
    } else {
        gc_rng_seed_stream(&rng, (uint64_t)seed, (uint64_t)first + 1);
        if (status == GC_OK && resume)
            fprintf(stderr, "glowcl: warning: %s has no training state (an older glowcl wrote "
                            "it): the data stream goes on from a stream of its own, not "
                            "exactly\n", checkpoint);
    }
    if (status == GC_OK && resume)
        fprintf(stderr, "glowcl: resuming %s at step %ld of %ld\n", checkpoint, first, steps);
    double start = seconds(), last_print = 0.0, bpd = 0.0;
    int bad_in_a_row = 0;
    cli_stop_install(checkpoint);
    /* Not started: another rank failed before training (or this one did: status). */
    int not_started = status == GC_OK ? cli_dist_attach(model) : EXIT_OK;
    long step = first;
    int drifted = EXIT_OK; /* the ranks' parameters differ (cli_dist_check_params) */
    /* For a device failure: the step the checkpoint on disk holds, and the last good state. */
    long checkpoint_step = resume ? first : -1;
    cli_last_good good;
    int trained = status == GC_OK && !not_started; /* a failure from here on is the loop's */
    if (trained) cli_last_good_set(&good, model, first, 0, &rng);
    for (; status == GC_OK && !not_started && step < steps; step++) {
        /* SIGINT or SIGTERM: the previous step is done; checkpoint it and stop. */
        if (cli_dist_stop_requested()) {
            state.step = (uint64_t)step;
            state.data_position = 0;
            state.rng = rng;
            if (cli_dist_is_root()) status = gc_model_save_with_state(model, &state, checkpoint);
            break;
        }
        /* Every rank draws and dequantises the whole global batch (the same stream for any
         * number of ranks, hence exact resumes with another) and trains on its shard. */
        for (long i = 0; i < batch; i++) indices[i] = gc_rng_below(&rng, (uint32_t)train.count);
        status = gc_images_to_unit(&train, indices, (size_t)batch, (int)n_bits, &rng, x);
        if (status != GC_OK) break;
        gc_adam_config adam = GC_ADAM_DEFAULT;
        /* Warm-up: the cure for the first steps' blow-ups that Glow ports report. */
        adam.lr = lr * (warmup > 0 && step < warmup ? (double)(step + 1) / (double)warmup : 1.0);
        adam.clip_norm = clip;
        adam.adamax = strcmp(optimizer, "adamax") == 0;
        double loss = 0.0;
        status = cli_dist_train_step(model, x, (size_t)batch, dims, &adam, &loss);
        /* The update is good once the device has finished it without an error. */
        if (status == GC_OK) status = gc_runtime_finish(rt);
        if (status == GC_ERR_NUMERIC) {
            fprintf(stderr, "\nglowcl: warning: %s; step skipped\n", gc_last_error());
            status = ++bad_in_a_row < 5 ? GC_OK
                                        : GC_ERROR(GC_ERR_NUMERIC, "5 non-finite steps in a row; "
                                                   "try a smaller --lr or --clip-grad");
            cli_last_good_set(&good, model, step + 1, 0, &rng);
            continue;
        }
        if (status != GC_OK) break;
        cli_last_good_set(&good, model, step + 1, 0, &rng);
        bad_in_a_row = 0;
        cli_loss_log_write(loss_log, step + 1, loss, gc_model_last_grad_norm(model));
        bpd = gc_bits_per_dim(loss, dims, (int)n_bits);
        double now = seconds(), done = (double)(step + 1 - first);
        /* A time budget ends the run like a step count would: this step becomes the last (on
         * every rank as soon as one is out of time). */
        if (minutes > 0 && cli_dist_any(now - start >= 60.0 * minutes)) steps = step + 1;
        if ((drifted = cli_dist_check_params(model, step + 1, sync_check, step + 1 == steps)))
            break;
        if (now - last_print > 2.0 || step + 1 == steps) {
            last_print = now;
            double rate = done * (double)batch / (now - start);
            double eta = (double)(steps - step - 1) * (double)batch / rate;
            if (minutes > 0) eta = fmin(eta, fmax(60.0 * minutes - (now - start), 0.0));
            /* images/s of the whole run: all ranks' shards of the global batch. */
            fprintf(stderr, "step %ld/%ld  %.3f bits/dim  |grad| %.3g  %.1f images/s  ETA %.0f s\n",
                    step + 1, steps, bpd, gc_model_last_grad_norm(model), rate, eta);
        }
        if (cli_dist_is_root() && ((step + 1) % every == 0 || step + 1 == steps)) {
            double mean = 0.0, se = 0.0;
            const gc_image_set *scored = have_test ? &test : &train;
            status = cli_bits_per_dim(model, scored, (size_t)test_n, (int)n_bits, &mean, &se, NULL);
            if (status == GC_OK)
                printf("step %ld: %s bits/dim %.4f ± %.4f (%zu images)\n", step + 1,
                       have_test ? "test" : "training", mean, se,
                       scored->count < (size_t)test_n ? scored->count : (size_t)test_n);
            snprintf(grid, sizeof grid, "%s/samples-%06ld.png", out, step + 1);
            if (status == GC_OK)
                status = cli_sample_grid(model, grid, 64, 0.7, (uint64_t)seed, (int)n_bits);
            state.step = (uint64_t)step + 1;
            state.data_position = 0;
            state.rng = rng;
            if (status == GC_OK) status = gc_model_save_with_state(model, &state, checkpoint);
            if (status == GC_OK) checkpoint_step = step + 1;
            if (status == GC_OK) fflush(stdout);
        }
    }
    cli_stop_uninstall();
    cli_loss_log_close(loss_log);
    (void)bpd;
    if (trained && (status == GC_ERR_OPENCL || status == GC_ERR_MEMORY)) {
        rc = cli_device_failure(model, status, &good, checkpoint, checkpoint_step);
        status = GC_OK; /* reported */
    } else if (status == GC_OK && (not_started || drifted)) {
        rc = not_started ? not_started : drifted;
    } else if (status == GC_OK && cli_stop_requested()) {
        fprintf(stderr, "glowcl: stopped after step %ld of %ld; saved %s (go on with --resume "
                        "--out %s)\n", step, steps, checkpoint, out);
        rc = cli_stop_exit_code();
    } else if (status == GC_OK) {
        printf("wrote %s and %s/samples-*.png\n", checkpoint, out);
    }
    free(x);
    free(indices);
    gc_model_free(model);
    gc_runtime_close(rt);
    gc_image_set_free(&train);
    gc_image_set_free(&test);
    return status == GC_OK ? rc : cli_fail(status);
}
