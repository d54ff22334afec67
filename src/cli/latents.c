/* Data in, latents out and back (latents.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_files.h"
#include "errors.h"
#include "exit_codes.h"
#include "glowcl/data.h"
#include "glowcl/npy.h"
#include "latents.h"
#include "scores.h"

int cli_ends_with(const char *path, const char *suffix)
{
    size_t n = strlen(path), k = strlen(suffix);
    return n >= k && strcmp(path + n - k, suffix) == 0;
}

void cli_inputs_free(cli_inputs *in)
{
    free(in->x);
    free(in->labels);
    memset(in, 0, sizeof *in);
}

static int load_images(const char *model_path, const gc_model *model, const char *spec,
                       const char *split, size_t max_images, cli_image_flags *image,
                       cli_inputs *out)
{
    gc_image_set set = {0};
    int rc = cli_load_images(spec, split, max_images, image, &set);
    if (rc) return rc;
    gc_status status = cli_check_image_model(model_path, gc_model_get_config(model), &set);
    out->n = set.count, out->dim = set.channels * set.height * set.width, out->images = 1;
    out->x = status == GC_OK ? malloc(out->n * out->dim * sizeof *out->x) : NULL;
    size_t *indices = status == GC_OK ? malloc(out->n * sizeof *indices) : NULL;
    if (status == GC_OK && (!out->x || !indices))
        status = GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    for (size_t i = 0; status == GC_OK && i < out->n; i++) indices[i] = i;
    if (status == GC_OK)
        status = gc_images_to_unit(&set, indices, out->n, CLI_N_BITS, NULL, out->x);
    free(indices);
    out->labels = set.labels; /* the set's labels become the inputs' */
    set.labels = NULL;
    gc_image_set_free(&set);
    if (status == GC_OK) return EXIT_OK;
    cli_inputs_free(out);
    return cli_fail(status);
}

int cli_load_inputs(const char *model_path, const gc_model *model, const char *spec,
                    const char *split, size_t max_images, cli_image_flags *image, cli_inputs *out)
{
    memset(out, 0, sizeof *out);
    if (cli_is_image_spec(spec))
        return load_images(model_path, model, spec, split, max_images, image, out);
    gc_status status = cli_read_points(spec, &out->x, &out->n, &out->dim);
    if (status == GC_OK)
        status = cli_check_points_model(model_path, gc_model_get_config(model), out->dim);
    if (status == GC_OK) return EXIT_OK;
    cli_inputs_free(out);
    return cli_fail(status);
}

/* Part k of the packed latents z (n rows of dim) as an array of its shape: float32 for images
 * (what the model computes in on a device), float64 for points. */
static gc_status put_part(gc_npz_writer *w, const gc_latent_part *part, const double *z, size_t n,
                          size_t dim, int images)
{
    size_t count = n * part->count;
    void *data = malloc((count ? count : 1) * (images ? sizeof(float) : sizeof(double)));
    if (!data) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < part->count; j++) {
            double v = z[i * dim + part->offset + j];
            if (images)
                ((float *)data)[i * part->count + j] = (float)v;
            else
                ((double *)data)[i * part->count + j] = v;
        }
    gc_npy_array a = {images ? GC_NPY_F32 : GC_NPY_F64, images ? 4 : 2, {n}, data};
    if (images) {
        a.shape[1] = part->channels, a.shape[2] = part->height, a.shape[3] = part->width;
    } else {
        a.shape[1] = part->count;
    }
    gc_status status = gc_npz_put(w, part->name, &a);
    free(data);
    return status;
}

/* log_prob, bits_per_dim and the labels into the archive. */
static gc_status put_scores(gc_npz_writer *w, const cli_inputs *in, double *logp, double *bpd)
{
    for (size_t i = 0; i < in->n; i++)
        bpd[i] = cli_bits_of(logp[i], in->dim, in->images ? CLI_N_BITS : 0);
    gc_npy_array a = {GC_NPY_F64, 1, {in->n}, logp};
    GC_TRY(gc_npz_put(w, "log_prob", &a));
    a.data = bpd;
    GC_TRY(gc_npz_put(w, "bits_per_dim", &a));
    gc_npy_array labels = {GC_NPY_U8, 1, {in->n}, in->labels};
    return in->labels ? gc_npz_put(w, "labels", &labels) : GC_OK;
}

gc_status cli_write_latents(gc_model *model, const cli_inputs *in, const char *path)
{
    size_t n = in->n, dim = in->dim;
    double *z = malloc(n * dim * sizeof *z), *logp = malloc(n * sizeof *logp);
    double *bpd = malloc(n * sizeof *bpd);
    gc_status status = z && logp && bpd ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    const char *unit = in->images ? "image" : "row";
    if (status == GC_OK) status = gc_model_encode(model, in->x, n, z, NULL);
    if (status == GC_OK) status = gc_model_log_prob(model, in->x, n, logp);
    if (status == GC_OK) status = cli_require_finite(z, n, dim, "the latent", unit, "the data");
    if (status == GC_OK)
        status = cli_require_finite(logp, n, 1, "the log-density", unit, "the data");
    gc_npz_writer *w = NULL;
    if (status == GC_OK) status = gc_npz_writer_open(&w, path);
    gc_latent_part parts[GC_MAX_LATENT_PARTS];
    size_t count = gc_model_latent_parts(model, parts);
    for (size_t k = 0; k < count && status == GC_OK; k++)
        status = put_part(w, &parts[k], z, n, dim, in->images);
    if (status == GC_OK) status = put_scores(w, in, logp, bpd);
    if (status == GC_OK)
        status = gc_npz_writer_commit(w);
    else
        gc_npz_writer_abort(w);
    free(z);
    free(logp);
    free(bpd);
    return status;
}

/* "(N, 6, 16, 16)" for a part: the shape an array of it must have. */
static void expected_shape(const gc_latent_part *part, int images, char *text, size_t size)
{
    if (images)
        snprintf(text, size, "(N, %zu, %zu, %zu)", part->channels, part->height, part->width);
    else
        snprintf(text, size, "(N, %zu)", part->count);
}

static void shape_text(const gc_npy_array *a, char *text, size_t size)
{
    size_t used = (size_t)snprintf(text, size, "(");
    for (size_t d = 0; d < a->ndim && used < size; d++)
        used += (size_t)snprintf(text + used, size - used, "%s%zu", d ? ", " : "", a->shape[d]);
    if (used < size) snprintf(text + used, size - used, a->ndim == 1 ? ",)" : ")");
}

/* The part an array named z... is, or an error that lists the model's parts. */
static gc_status find_part(const char *path, const char *name, const gc_latent_part *parts,
                           size_t count, size_t *k)
{
    char names[GC_MAX_LATENT_PARTS * 18] = "";
    for (*k = 0; *k < count; (*k)++)
        if (strcmp(parts[*k].name, name) == 0) return GC_OK;
    for (size_t j = 0; j < count; j++) {
        strcat(names, j ? ", " : "");
        strcat(names, parts[j].name);
    }
    return GC_ERROR(GC_ERR_ARGUMENT, "%s: '%s' is not a latent of this model (its latents are %s)",
                    path, name, names);
}

/* Checks the array of a part against the model and the sample count so far (0: none yet). */
static gc_status check_part(const char *path, const gc_latent_part *part, const gc_npy_array *a,
                            int images, size_t *n)
{
    char want[64], got[128];
    expected_shape(part, images, want, sizeof want);
    shape_text(a, got, sizeof got);
    int fits = a->ndim == (images ? 4u : 2u) && a->shape[0] > 0;
    size_t tail[3] = {part->channels, part->height, part->width};
    if (!images) tail[0] = part->count;
    for (size_t d = 1; fits && d < a->ndim; d++) fits = a->shape[d] == tail[d - 1];
    if (!fits)
        return GC_ERROR(GC_ERR_ARGUMENT, "%s: %s has shape %s, but this model's %s is %s", path,
                        part->name, got, part->name, want);
    if (a->dtype == GC_NPY_U8)
        return GC_ERROR(GC_ERR_ARGUMENT, "%s: %s is uint8; latents are float32 or float64", path,
                        part->name);
    if (*n && a->shape[0] != *n)
        return GC_ERROR(GC_ERR_ARGUMENT, "%s: %s holds %zu samples, the latents before it %zu",
                        path, part->name, a->shape[0], *n);
    *n = a->shape[0];
    return GC_OK;
}

/* Every array of the archive named z...: which parts are given, and the sample count. */
static gc_status survey_latents(const gc_model *model, const char *path, const gc_npz *npz,
                                const gc_npy_array **arrays, int *given, size_t *n)
{
    gc_latent_part parts[GC_MAX_LATENT_PARTS];
    size_t count = gc_model_latent_parts(model, parts), k = 0;
    int images = gc_model_get_config(model)->kind == GC_MODEL_IMAGE;
    *n = 0;
    for (size_t i = 0; i < gc_npz_count(npz); i++) {
        const char *name = gc_npz_name(npz, i);
        if (name[0] != 'z') continue; /* log_prob, labels, ...: not latents */
        GC_TRY(find_part(path, name, parts, count, &k));
        GC_TRY(check_part(path, &parts[k], gc_npz_array(npz, i), images, n));
        given[k] = 1;
        arrays[k] = gc_npz_array(npz, i);
    }
    if (*n) return GC_OK;
    char want[64];
    expected_shape(&parts[count - 1], images, want, sizeof want);
    return GC_ERROR(GC_ERR_ARGUMENT, "%s holds no latent of this model (at least %s of shape %s)",
                    path, parts[count - 1].name, want);
}

gc_status cli_read_latents(const gc_model *model, const char *path, double **z, size_t *n,
                           int *given)
{
    *z = NULL;
    gc_npz *npz = NULL;
    GC_TRY(gc_npz_read(&npz, path));
    gc_latent_part parts[GC_MAX_LATENT_PARTS];
    size_t count = gc_model_latent_parts(model, parts), dim = gc_model_get_config(model)->dim;
    const gc_npy_array *arrays[GC_MAX_LATENT_PARTS] = {0};
    for (size_t k = 0; k < count; k++) given[k] = 0;
    gc_status status = survey_latents(model, path, npz, arrays, given, n);
    if (status == GC_OK && !(*z = calloc(*n * dim, sizeof **z)))
        status = GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    for (size_t k = 0; status == GC_OK && k < count; k++)
        for (size_t i = 0; given[k] && i < *n; i++)
            for (size_t j = 0; j < parts[k].count; j++) {
                size_t at = i * parts[k].count + j;
                const gc_npy_array *a = arrays[k];
                (*z)[i * dim + parts[k].offset + j] = a->dtype == GC_NPY_F32
                                                          ? (double)((const float *)a->data)[at]
                                                          : ((const double *)a->data)[at];
            }
    gc_npz_free(npz);
    if (status != GC_OK) {
        free(*z);
        *z = NULL;
    }
    return status;
}

/* x as float32 (images) or float64 (points) in a .npy of shape lead × the model's shape. */
static gc_status write_npy(const gc_model_config *c, const double *x, size_t rows,
                           const size_t *lead, size_t nlead, const char *path)
{
    int images = c->kind == GC_MODEL_IMAGE;
    size_t count = rows * c->dim;
    gc_npy_array a = {images ? GC_NPY_F32 : GC_NPY_F64, 0, {0}, (void *)x};
    for (size_t d = 0; d < nlead; d++) a.shape[a.ndim++] = lead[d];
    if (images) {
        a.shape[a.ndim++] = c->channels, a.shape[a.ndim++] = c->height;
        a.shape[a.ndim++] = c->width;
    } else {
        a.shape[a.ndim++] = c->dim;
    }
    if (!images) return gc_npy_write(path, &a);
    float *values = malloc((count ? count : 1) * sizeof *values);
    if (!values) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    for (size_t i = 0; i < count; i++) values[i] = (float)x[i];
    a.data = values;
    gc_status status = gc_npy_write(path, &a);
    free(values);
    return status;
}

gc_status cli_write_decoded(const gc_model *model, const double *x, size_t rows, const size_t *lead,
                            size_t nlead, size_t columns, const char *path)
{
    const gc_model_config *c = gc_model_get_config(model);
    int images = c->kind == GC_MODEL_IMAGE;
    if (images && cli_ends_with(path, ".png"))
        return cli_image_grid(path, x, rows, columns, c, CLI_N_BITS, "image");
    GC_TRY(
        cli_require_finite(x, rows, c->dim, "the model's output", images ? "image" : "row", path));
    if (cli_ends_with(path, ".npy")) return write_npy(c, x, rows, lead, nlead, path);
    if (!images && cli_ends_with(path, ".csv"))
        return gc_csv_write(path, x, rows, c->dim, c->dim == 2 ? "x,y" : NULL);
    return GC_ERROR(GC_ERR_ARGUMENT, "--out %s: give a file ending in %s", path,
                    images ? ".png or .npy" : ".csv or .npy");
}
