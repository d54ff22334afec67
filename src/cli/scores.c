/* A model's scores on data, finite or an error naming the rows (scores.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glowcl/data.h"
#include "glowcl/npy.h"

#include "scores.h"

gc_status cli_require_finite(const double *values, size_t rows, size_t width, const char *what,
                             const char *unit, const char *source)
{
    enum { NAMED = 8 };
    size_t named[NAMED], bad = 0;
    for (size_t r = 0; r < rows; r++) {
        int finite = 1;
        for (size_t k = 0; k < width && finite; k++) finite = isfinite(values[r * width + k]);
        if (!finite && bad < NAMED) named[bad] = r + 1;
        bad += !finite;
    }
    if (bad == 0) return GC_OK;
    char list[256] = "";
    size_t used = 0, shown = bad < NAMED ? bad : NAMED;
    for (size_t i = 0; i < shown && used < sizeof list; i++) {
        const char *glue = i == 0 ? "" : i + 1 == shown && bad == shown ? " and " : ", ";
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%zu", glue, named[i]);
    }
    if (bad > shown && used < sizeof list)
        snprintf(list + used, sizeof list - used, " and %zu more", bad - shown);
    return GC_ERROR(GC_ERR_NUMERIC, "%s is not finite for %s%s %s of %s", what, unit,
                    bad > 1 ? "s" : "", list, source);
}

gc_status cli_check_points_model(const char *model_path, const gc_model_config *c, size_t dim)
{
    if (c->kind == GC_MODEL_IMAGE)
        return GC_ERROR(GC_ERR_ARGUMENT,
                        "%s is a model of %zux%zux%zu images, not of points "
                        "(give it images with --data cifar10:DIR, png:DIR, idx:DIR or npy:FILE)",
                        model_path, c->channels, c->height, c->width);
    if (c->dim != dim)
        return GC_ERROR(GC_ERR_ARGUMENT, "the model is %zu-dimensional, the data %zu-dimensional",
                        c->dim, dim);
    return GC_OK;
}

gc_status cli_mean_nll(gc_model *model, const double *x, size_t n, const char *source, double *mean,
                       double *se, double *per_sample)
{
    double *logp = per_sample ? per_sample : malloc(n * sizeof *logp);
    if (!logp) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_status status = gc_model_log_prob(model, x, n, logp);
    if (status == GC_OK) status = cli_require_finite(logp, n, 1, "the log-density", "row", source);
    if (status == GC_OK) {
        double sum = 0.0, sq = 0.0;
        for (size_t i = 0; i < n; i++) sum -= logp[i];
        *mean = sum / (double)n;
        for (size_t i = 0; i < n; i++) sq += (-logp[i] - *mean) * (-logp[i] - *mean);
        *se = n > 1 ? sqrt(sq / (double)(n - 1) / (double)n) : 0.0;
    }
    if (!per_sample) free(logp);
    return status;
}

gc_status cli_reconstruction_errors(gc_model *model, const double *x, size_t n, size_t dim,
                                    double *per_row)
{
    double *z = malloc(n * dim * sizeof *z), *back = malloc(n * dim * sizeof *back);
    gc_status status = z && back ? gc_model_encode(model, x, n, z, NULL)
                                 : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    if (status == GC_OK) status = gc_model_decode(model, z, n, back, NULL);
    for (size_t r = 0; status == GC_OK && r < n; r++) {
        per_row[r] = 0.0;
        for (size_t k = 0; k < dim; k++) {
            double error = fabs(back[r * dim + k] - x[r * dim + k]);
            per_row[r] = error > per_row[r] || isnan(error) ? error : per_row[r];
        }
    }
    free(z);
    free(back);
    return status;
}

double cli_max(const double *values, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) worst = values[i] > worst ? values[i] : worst;
    return worst;
}

gc_status cli_bits_per_dim(gc_model *model, const gc_image_set *set, size_t limit, int n_bits,
                           const char *source, double *mean, double *se, double *reconstruction,
                           double *per_sample)
{
    size_t n = set->count < limit ? set->count : limit;
    size_t dims = set->channels * set->height * set->width;
    enum { CHUNK = 32 };
    double *x = malloc(CHUNK * dims * sizeof *x), *bpd = malloc(n * sizeof *bpd);
    double *errors = malloc(n * sizeof *errors), logp[CHUNK];
    size_t indices[CHUNK];
    gc_status status = x && bpd && errors ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    gc_rng rng;
    gc_rng_seed_stream(&rng, 2018, 3); /* the same noise on every evaluation */
    for (size_t start = 0; start < n && status == GC_OK; start += CHUNK) {
        size_t rows = n - start < CHUNK ? n - start : CHUNK;
        for (size_t i = 0; i < rows; i++) indices[i] = start + i;
        status = gc_images_to_unit(set, indices, rows, n_bits, &rng, x);
        if (status == GC_OK) status = gc_model_log_prob(model, x, rows, logp);
        for (size_t i = 0; status == GC_OK && i < rows; i++) {
            bpd[start + i] = gc_bits_per_dim(-logp[i], dims, n_bits);
            if (per_sample) per_sample[start + i] = logp[i];
        }
        if (status == GC_OK && reconstruction)
            status = cli_reconstruction_errors(model, x, rows, dims, errors + start);
    }
    if (status == GC_OK) status = cli_require_finite(bpd, n, 1, "the log-density", "image", source);
    if (status == GC_OK && reconstruction)
        status = cli_require_finite(errors, n, 1, "decode(encode(x))", "image", source);
    if (status == GC_OK) {
        double sum = 0.0, sq = 0.0;
        for (size_t i = 0; i < n; i++) {
            sum += bpd[i];
            sq += bpd[i] * bpd[i];
        }
        *mean = sum / (double)n;
        double var = n > 1 ? (sq - (double)n * *mean * *mean) / (double)(n - 1) : 0.0;
        *se = sqrt(var > 0 ? var / (double)n : 0.0);
        if (reconstruction) *reconstruction = cli_max(errors, n);
    }
    free(x);
    free(bpd);
    free(errors);
    return status;
}

double cli_bits_of(double logp, size_t dims, int n_bits)
{
    return n_bits ? gc_bits_per_dim(-logp, dims, n_bits) : -logp / (double)dims / log(2.0);
}

gc_status cli_write_per_sample(const char *path, const double *logp, const uint8_t *labels,
                               size_t n, size_t dims, int n_bits)
{
    double *rows = malloc(n * 4 * sizeof *rows);
    if (!rows) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    for (size_t i = 0; i < n; i++) {
        rows[i * 4] = (double)i;
        rows[i * 4 + 1] = labels ? labels[i] : -1.0;
        rows[i * 4 + 2] = logp[i];
        rows[i * 4 + 3] = cli_bits_of(logp[i], dims, n_bits);
    }
    gc_npy_array a = {GC_NPY_F64, 2, {n, 4}, rows};
    size_t length = strlen(path);
    gc_status status = length > 4 && strcmp(path + length - 4, ".npy") == 0
                           ? gc_npy_write(path, &a)
                           : gc_csv_write(path, rows, n, 4, "index,label,log_prob,bits_per_dim");
    free(rows);
    return status;
}
