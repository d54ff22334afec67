/* `glowcl train affine`: the affine warm-up. A flow of one elementwise affine map,
 * x = z ⊙ exp(s) + t with z ~ N(0, I), fitted to samples of N(mu, sigma), must recover mu and
 * sigma; it prints the learned mean and standard deviation beside the true ones. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_choice.h"
#include "distributed.h"
#include "errors.h"
#include "exit_codes.h"
#include "glowcl/flow.h"
#include "options.h"
#include "output_dir.h"
#include "signals.h"
#include "train_affine.h"
#include "training.h"

enum { MAX_DIM = 64 };

typedef struct affine_flags {
    cli_device_flags device;
    const char *mu_text, *sigma_text, *out;
    long steps, batch, seed;
    double lr;
    double mu[MAX_DIM], sigma[MAX_DIM];
    size_t dim;
} affine_flags;

/* The flags, checked; -1 after --help. */
static int parse_affine_flags(int argc, char **argv, affine_flags *f)
{
    cli_option options[] = {
        {"mu", 0, OPT_STRING, &f->mu_text, "M1,M2,...", "true mean (default 1.5,-2)"},
        {"sigma", 0, OPT_STRING, &f->sigma_text, "S1,S2,...", "true standard deviation (0.5,3)"},
        {"steps", 0, OPT_INT, &f->steps, "N", "training steps (default 3000)"},
        {"batch", 0, OPT_INT, &f->batch, "N", "samples per step (default 4096)"},
        {"lr", 0, OPT_DOUBLE, &f->lr, "X", "Adam learning rate (default 0.05, cosine decay)"},
        {"seed", 's', OPT_INT, &f->seed, "N", "seed (default 1)"},
        {"out", 'o', OPT_STRING, &f->out, "DIR", "save model.glowcl in DIR"},
        CLI_DEVICE_OPTIONS(f->device),
    };
    int rc = cli_parse(argc, argv, 3, options, sizeof options / sizeof options[0],
                       "Usage: glowcl train affine [--mu 1.5,-2] [--sigma 0.5,3] [options]\n"
                       "The affine warm-up: fits x = z ⊙ exp(s) + t, z ~ N(0, I), to samples of "
                       "N(mu, sigma) and prints the learned mean and standard deviation.",
                       NULL, 0, NULL);
    if (rc) return rc;
    if ((rc = cli_dist_single_process("train affine"))) return rc;
    if ((rc = cli_check_point_batch(f->batch))) return rc;
    if (f->steps < 1 || !(f->lr > 0) || f->seed < 0) {
        fprintf(stderr, "glowcl: --steps, --batch and --lr must be positive, --seed not "
                        "negative\n");
        return EXIT_USAGE;
    }
    size_t sigma_dim = 0;
    int ok = cli_parse_numbers(f->mu_text, f->mu, MAX_DIM, &f->dim) &&
             cli_parse_numbers(f->sigma_text, f->sigma, MAX_DIM, &sigma_dim);
    for (size_t i = 0; ok && i < sigma_dim; i++) ok = f->sigma[i] > 0;
    if (!ok || f->dim != sigma_dim) {
        fprintf(stderr, "glowcl: --mu and --sigma need the same number of values (at most 64), "
                        "sigma positive\n");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* Trains until --steps or a stop signal, by the training policy (training.h); *done gets the
 * steps done and *loss the last good step's loss. */
static int train_loop(cli_training *t, const affine_flags *f, long *done, double *loss)
{
    size_t dim = f->dim;
    double *x = malloc((size_t)f->batch * dim * sizeof *x);
    if (!x) return cli_fail(GC_ERROR(GC_ERR_MEMORY, "out of host memory"));
    gc_rng rng;
    gc_rng_seed_stream(&rng, (uint64_t)f->seed, 11);
    cli_training_start(t, 0, 0, &rng, 0.0);
    int rc = EXIT_OK;
    long step = 0;
    for (; step < f->steps && !cli_stop_requested(); step++) {
        for (long i = 0; i < f->batch * (long)dim; i++)
            x[i] = f->mu[i % (long)dim] + f->sigma[i % (long)dim] * gc_rng_normal(&rng);
        gc_adam_config adam = GC_ADAM_DEFAULT;
        adam.lr = cli_lr_cosine(f->lr, 0.0, step, f->steps);
        double step_loss = NAN;
        int good = 0;
        rc =
            cli_training_step(t, step, x, (size_t)f->batch, dim, &adam, 0, &rng, &step_loss, &good);
        if (rc) break;
        if (good) *loss = step_loss;
    }
    *done = step;
    free(x);
    return rc;
}

/* The decoder maps z to x: its value at z = 0 is the learned mean, and the step to z = e_d
 * in dimension d is the learned standard deviation. */
static gc_status print_learned(gc_model *model, const affine_flags *f, double seconds, double loss)
{
    size_t dim = f->dim;
    double *z = calloc(dim, sizeof *z), *at0 = malloc(dim * sizeof *at0);
    double *at1 = malloc(dim * sizeof *at1);
    gc_status status = z && at0 && at1 ? gc_model_decode(model, z, 1, at0, NULL)
                                       : GC_ERROR(GC_ERR_MEMORY, "out of memory");
    for (size_t d = 0; d < dim && z; d++) z[d] = 1.0;
    if (status == GC_OK) status = gc_model_decode(model, z, 1, at1, NULL);
    if (status == GC_OK) {
        printf("trained %ld steps in %.2f s, final loss %.4f nats\n", f->steps, seconds, loss);
        printf("%-5s %12s %12s %12s %12s\n", "dim", "true mean", "learned", "true std", "learned");
        for (size_t d = 0; d < dim; d++)
            printf("%-5zu %12.4f %12.4f %12.4f %12.4f\n", d, f->mu[d], at0[d], f->sigma[d],
                   at1[d] - at0[d]);
    }
    free(z);
    free(at0);
    free(at1);
    return status;
}

/* Trains the new model and saves it to `path` (NULL: no --out); a stop signal saves what there
 * is, with no resume here, and says so. */
static int train_and_save(cli_training *t, const affine_flags *f, const char *path)
{
    cli_stop_install(path);
    long done = 0;
    double loss = NAN;
    int rc = train_loop(t, f, &done, &loss);
    gc_status status = GC_OK;
    if (rc == EXIT_OK && cli_stop_requested()) {
        if (path) status = gc_model_save(t->model, path);
        if (status == GC_OK)
            fprintf(stderr, "glowcl: stopped after step %ld of %ld; %s%s\n", done, f->steps,
                    path ? "saved " : "nothing saved (no --out)", path ? path : "");
        return status == GC_OK ? cli_stop_exit_code() : cli_fail(status);
    }
    cli_stop_uninstall();
    if (rc) return rc;
    status = print_learned(t->model, f, cli_progress_elapsed(&t->progress), loss);
    if (status == GC_OK && path) {
        status = gc_model_save(t->model, path);
        if (status == GC_OK) printf("wrote %s\n", path);
    }
    return status == GC_OK ? EXIT_OK : cli_fail(status);
}

int cli_train_affine(int argc, char **argv)
{
    /* Large batches: the learned mean is an average of the last few hundred batches, and with
     * sigma = 3 it takes ~10^6 samples to pin it well inside 0.02. */
    affine_flags f = {
        CLI_DEVICE_FLAGS_DEFAULT, "1.5,-2", "0.5,3", NULL, 3000, 4096, 1, 0.05, {0}, {0}, 0};
    int rc = parse_affine_flags(argc, argv, &f);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    char path[4096];
    if (f.out && ((rc = cli_prepare_out_dir(f.out, "model.glowcl")) ||
                  (rc = cli_out_path(path, sizeof path, f.out, "model.glowcl"))))
        return rc;
    cli_training t = {0};
    if ((rc = cli_open_runtime(&f.device, &t.rt))) return rc;
    gc_model_config config;
    gc_model_config_default(&config, f.dim);
    config.kind = GC_MODEL_AFFINE;
    gc_status status = gc_model_create(&t.model, t.rt, &config, (uint64_t)f.seed);
    if (status == GC_OK) {
        t.end = f.steps;
        t.diverged_hint = "a smaller --lr";
        t.checkpoint = f.out ? path : NULL;
        t.checkpoint_step = -1;
        rc = train_and_save(&t, &f, t.checkpoint);
    } else {
        rc = cli_fail(status);
    }
    gc_model_free(t.model);
    gc_runtime_close(t.rt);
    return rc;
}
