/* Image data sets: the CIFAR-10 binary reader (sizes and labels validated before a byte is
 * trusted), the PNG folder reader built on gc_png_read_rgb, dequantisation into [0,1) batches
 * and bits per dimension. See include/glowcl/images.h for the contracts. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* fileno, fstat, opendir */
#endif

#include "glowcl/images.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "glowcl/plot.h"
#include "image_internal.h"

void gc_image_set_free(gc_image_set *set)
{
    if (set == NULL) return;
    free(set->pixels);
    free(set->labels);
    memset(set, 0, sizeof *set);
}

/* "dir/name" in a malloc'd string, or NULL when out of memory. */
static char *join_path(const char *dir, const char *name)
{
    size_t size = strlen(dir) + 1 + strlen(name) + 1;
    char *path = malloc(size);
    if (path != NULL) snprintf(path, size, "%s/%s", dir, name);
    return path;
}

static bool is_directory(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0 && S_ISDIR(info.st_mode);
}

/* ---- CIFAR-10 ---- */

enum {
    CIFAR_CHANNELS = 3,
    CIFAR_SIDE = 32,
    CIFAR_PIXELS = CIFAR_CHANNELS * CIFAR_SIDE * CIFAR_SIDE,
    CIFAR_RECORD = 1 + CIFAR_PIXELS,
    CIFAR_CLASSES = 10,
    CIFAR_TRAIN_BATCHES = 5,
    CIFAR_MAX_FILES = CIFAR_TRAIN_BATCHES
};

/* The tarball unpacks into this subfolder, so pointing at the download folder instead of it is
 * the likely mistake behind "no batches found"; the message then says so. */
static const char CIFAR_ARCHIVE_FOLDER[] = "cifar-10-batches-bin";

typedef struct cifar_file {
    char *path;
    FILE *stream;
    size_t records;
} cifar_file;

/* Opens one batch and checks its size. *found is false (and GC_OK returned) when the file does
 * not exist, because the training split may come with only some of its five batches. */
static gc_status cifar_open(cifar_file *file, const char *dir, const char *name, bool *found)
{
    *found = false;
    file->path = join_path(dir, name);
    if (file->path == NULL) return GC_ERROR(GC_ERR_MEMORY, "out of memory opening %s", name);
    file->stream = fopen(file->path, "rb");
    if (file->stream == NULL) {
        if (errno == ENOENT) return GC_OK;
        return GC_ERROR(GC_ERR_IO, "cannot open %s: %s", file->path, strerror(errno));
    }
    *found = true;
    /* fstat on the open stream rather than stat on the name: the size checked is then the size
     * of the very file that is read. */
    struct stat info;
    if (fstat(fileno(file->stream), &info) != 0)
        return GC_ERROR(GC_ERR_IO, "cannot read the size of %s: %s", file->path, strerror(errno));
    if (!S_ISREG(info.st_mode)) return GC_ERROR(GC_ERR_IO, "%s is not a regular file", file->path);
    long long bytes = (long long)info.st_size;
    if (bytes == 0)
        return GC_ERROR(GC_ERR_FORMAT,
                        "%s: 0 bytes, expected records of %d bytes (1 label byte + %d pixels)",
                        file->path, CIFAR_RECORD, CIFAR_PIXELS);
    if (bytes % CIFAR_RECORD != 0)
        return GC_ERROR(GC_ERR_FORMAT,
                        "%s: %lld bytes is not a multiple of %d (record = 1 label byte + %d "
                        "pixels)",
                        file->path, bytes, CIFAR_RECORD, CIFAR_PIXELS);
    file->records = (size_t)(bytes / CIFAR_RECORD);
    return GC_OK;
}

static gc_status cifar_missing_error(const char *dir, bool train)
{
    const char *what = train ? "training" : "test";
    const char *looked_for = train ? "data_batch_1.bin ... data_batch_5.bin" : "test_batch.bin";
    char *nested = join_path(dir, CIFAR_ARCHIVE_FOLDER);
    bool nested_exists = nested != NULL && is_directory(nested);
    gc_status status = nested_exists
                           ? GC_ERROR(GC_ERR_IO,
                                      "%s: no CIFAR-10 %s files (looked for %s); the archive "
                                      "unpacks into %s, pass that folder",
                                      dir, what, looked_for, nested)
                           : GC_ERROR(GC_ERR_IO, "%s: no CIFAR-10 %s files (looked for %s)", dir,
                                      what, looked_for);
    free(nested);
    return status;
}

/* Copies `wanted` records from the file into the set starting at image `first`. */
static gc_status cifar_read_records(const cifar_file *file, size_t wanted, gc_image_set *set,
                                    size_t first)
{
    uint8_t record[CIFAR_RECORD];
    for (size_t r = 0; r < wanted; r++) {
        if (fread(record, 1, sizeof record, file->stream) != sizeof record) {
            if (ferror(file->stream))
                return GC_ERROR(GC_ERR_IO, "cannot read %s: %s", file->path, strerror(errno));
            return GC_ERROR(GC_ERR_IO, "%s ended in record %zu, before its size said it would",
                            file->path, r);
        }
        if (record[0] >= CIFAR_CLASSES)
            return GC_ERROR(GC_ERR_FORMAT,
                            "%s: record %zu (byte offset %zu) has label %u; CIFAR-10 labels are "
                            "0..9",
                            file->path, r, r * (size_t)CIFAR_RECORD, (unsigned)record[0]);
        set->labels[first + r] = record[0];
        /* The file's R, G, B planes of rows are exactly the CHW order of the set. */
        memcpy(set->pixels + (first + r) * CIFAR_PIXELS, record + 1, CIFAR_PIXELS);
    }
    return GC_OK;
}

gc_status gc_split_folder_start(gc_image_set *out, const char *dir, const char *split,
                                const char *format, const char *function, bool *train)
{
    if (out == NULL) return GC_ERROR(GC_ERR_ARGUMENT, "%s: output is NULL", function);
    memset(out, 0, sizeof *out);
    if (dir == NULL || split == NULL)
        return GC_ERROR(GC_ERR_ARGUMENT, "%s: folder or split is NULL", function);
    *train = strcmp(split, "train") == 0;
    if (!*train && strcmp(split, "test") != 0)
        return GC_ERROR(GC_ERR_ARGUMENT, "%s split must be \"train\" or \"test\", not \"%s\"",
                        format, split);
    struct stat info;
    if (stat(dir, &info) != 0)
        return GC_ERROR(GC_ERR_IO, "cannot open %s folder %s: %s", format, dir, strerror(errno));
    if (!S_ISDIR(info.st_mode))
        return GC_ERROR(GC_ERR_IO, "%s folder %s is not a folder", format, dir);
    return GC_OK;
}

gc_status gc_cifar10_load(gc_image_set *out, const char *dir, const char *split, size_t max_images)
{
    bool train = false;
    GC_TRY(gc_split_folder_start(out, dir, split, "CIFAR-10", "gc_cifar10_load", &train));

    cifar_file files[CIFAR_MAX_FILES] = {{0}};
    size_t file_count = 0, total = 0;
    gc_status status = GC_OK;
    int candidates = train ? CIFAR_TRAIN_BATCHES : 1;
    for (int i = 0; i < candidates && status == GC_OK; i++) {
        char name[32];
        if (train)
            snprintf(name, sizeof name, "data_batch_%d.bin", i + 1);
        else
            snprintf(name, sizeof name, "test_batch.bin");
        bool found = false;
        status = cifar_open(&files[file_count], dir, name, &found);
        if (status == GC_OK && !found) {
            free(files[file_count].path);
            files[file_count].path = NULL;
            continue;
        }
        /* Counted even on error so the cleanup below closes it. */
        file_count++;
        if (status == GC_OK) total += files[file_count - 1].records;
    }
    if (status == GC_OK && file_count == 0) status = cifar_missing_error(dir, train);

    size_t wanted = max_images != 0 && max_images < total ? max_images : total;
    if (status == GC_OK) {
        out->pixels = malloc(wanted * CIFAR_PIXELS);
        out->labels = malloc(wanted);
        if (out->pixels == NULL || out->labels == NULL)
            status = GC_ERROR(GC_ERR_MEMORY, "no memory for %zu CIFAR-10 images", wanted);
    }
    size_t loaded = 0;
    for (size_t f = 0; f < file_count && status == GC_OK && loaded < wanted; f++) {
        size_t take = files[f].records < wanted - loaded ? files[f].records : wanted - loaded;
        status = cifar_read_records(&files[f], take, out, loaded);
        loaded += take;
    }

    for (size_t f = 0; f < file_count; f++) {
        if (files[f].stream != NULL) fclose(files[f].stream);
        free(files[f].path);
    }
    if (status != GC_OK) {
        gc_image_set_free(out);
        return status;
    }
    out->count = wanted;
    out->channels = CIFAR_CHANNELS;
    out->height = CIFAR_SIDE;
    out->width = CIFAR_SIDE;
    return GC_OK;
}

/* ---- PNG folders ---- */

static bool has_png_suffix(const char *name)
{
    size_t length = strlen(name);
    if (length <= 4) return false;
    const char *suffix = name + length - 4;
    const char *png = ".png";
    for (int i = 0; i < 4; i++) {
        char c = suffix[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != png[i]) return false;
    }
    return true;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++) free(names[i]);
    free(names);
}

/* The full paths of the folder's PNG files, sorted; GC_ERR_FORMAT when there are none. */
static gc_status list_png_files(const char *dir, char ***paths_out, size_t *count_out)
{
    *paths_out = NULL;
    *count_out = 0;
    DIR *listing = opendir(dir);
    if (listing == NULL)
        return GC_ERROR(GC_ERR_IO, "cannot open image folder %s: %s", dir, strerror(errno));
    char **paths = NULL;
    size_t count = 0, capacity = 0;
    gc_status status = GC_OK;
    struct dirent *entry;
    while (status == GC_OK && (entry = readdir(listing)) != NULL) {
        /* Hidden files include the "._name.png" metadata files macOS leaves on other disks,
         * which are not PNGs at all. */
        if (entry->d_name[0] == '.' || !has_png_suffix(entry->d_name)) continue;
        char *path = join_path(dir, entry->d_name);
        if (path == NULL) {
            status = GC_ERROR(GC_ERR_MEMORY, "out of memory listing %s", dir);
            break;
        }
        struct stat info;
        if (stat(path, &info) != 0) {
            status = GC_ERROR(GC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
            free(path);
            break;
        }
        if (!S_ISREG(info.st_mode)) {
            free(path);
            continue;
        }
        if (count == capacity) {
            size_t grown_capacity = capacity ? 2 * capacity : 64;
            char **grown = realloc(paths, grown_capacity * sizeof *grown);
            if (grown == NULL) {
                status = GC_ERROR(GC_ERR_MEMORY, "out of memory listing %s", dir);
                free(path);
                break;
            }
            paths = grown;
            capacity = grown_capacity;
        }
        paths[count++] = path;
    }
    closedir(listing);
    if (status == GC_OK && count == 0)
        status = GC_ERROR(GC_ERR_FORMAT, "image folder %s has no .png files", dir);
    if (status != GC_OK) {
        free_names(paths, count);
        return status;
    }
    /* readdir's order depends on the file system; sorting makes image i the same everywhere. */
    qsort(paths, count, sizeof *paths, compare_names);
    *paths_out = paths;
    *count_out = count;
    return GC_OK;
}

/* Checks the first image against the caller's expectation and sizes the set's pixel array. */
static gc_status start_png_set(gc_image_set *set, size_t count, const char *path, int width,
                               int height, size_t expect_height, size_t expect_width)
{
    if ((expect_width != 0 && (size_t)width != expect_width) ||
        (expect_height != 0 && (size_t)height != expect_height))
        return GC_ERROR(GC_ERR_FORMAT, "%s is %d wide and %d high, expected %zu wide and %zu high",
                        path, width, height, expect_width ? expect_width : (size_t)width,
                        expect_height ? expect_height : (size_t)height);
    size_t image_bytes = 3 * (size_t)width * (size_t)height;
    if (image_bytes != 0 && count > SIZE_MAX / image_bytes)
        return GC_ERROR(GC_ERR_MEMORY, "%zu images of %dx%d pixels are too many", count, width,
                        height);
    set->pixels = malloc(count * image_bytes);
    if (set->pixels == NULL)
        return GC_ERROR(GC_ERR_MEMORY, "no memory for %zu images of %dx%d pixels", count, width,
                        height);
    set->channels = 3;
    set->height = (size_t)height;
    set->width = (size_t)width;
    return GC_OK;
}

gc_status gc_png_folder_load(gc_image_set *out, const char *dir, size_t expect_height,
                             size_t expect_width, size_t max_images)
{
    if (out == NULL) return GC_ERROR(GC_ERR_ARGUMENT, "gc_png_folder_load: output is NULL");
    memset(out, 0, sizeof *out);
    if (dir == NULL) return GC_ERROR(GC_ERR_ARGUMENT, "gc_png_folder_load: folder is NULL");

    char **paths = NULL;
    size_t listed = 0;
    GC_TRY(list_png_files(dir, &paths, &listed));
    size_t count = max_images != 0 && max_images < listed ? max_images : listed;

    gc_status status = GC_OK;
    for (size_t i = 0; i < count && status == GC_OK; i++) {
        uint8_t *rgb = NULL;
        int width = 0, height = 0;
        status = gc_png_read_rgb(paths[i], &rgb, &width, &height, NULL);
        if (status == GC_OK && i == 0)
            status =
                start_png_set(out, count, paths[i], width, height, expect_height, expect_width);
        else if (status == GC_OK && ((size_t)width != out->width || (size_t)height != out->height))
            status = GC_ERROR(GC_ERR_FORMAT,
                              "%s is %d wide and %d high, but %s (the first image) is %zu wide "
                              "and %zu high; all images must have one size",
                              paths[i], width, height, paths[0], out->width, out->height);
        if (status == GC_OK) {
            /* Interleaved RGB rows to one plane per channel. */
            size_t plane = out->height * out->width;
            uint8_t *image = out->pixels + i * 3 * plane;
            for (size_t p = 0; p < plane; p++)
                for (size_t c = 0; c < 3; c++) image[c * plane + p] = rgb[3 * p + c];
        }
        free(rgb);
    }
    free_names(paths, listed);
    if (status != GC_OK) {
        gc_image_set_free(out);
        return status;
    }
    out->count = count;
    return GC_OK;
}

/* ---- padding ---- */

gc_status gc_image_set_pad(gc_image_set *set, size_t height, size_t width)
{
    if (set == NULL) return GC_ERROR(GC_ERR_ARGUMENT, "gc_image_set_pad: set is NULL");
    if (height < set->height || width < set->width)
        return GC_ERROR(GC_ERR_ARGUMENT,
                        "cannot pad %zux%zu images to %zux%zu (height x width): padding only adds "
                        "pixels",
                        set->height, set->width, height, width);
    if (height == set->height && width == set->width) return GC_OK;
    if (width > SIZE_MAX / height || set->channels > SIZE_MAX / (height * width) ||
        (set->count && set->channels * height * width > SIZE_MAX / set->count))
        return GC_ERROR(GC_ERR_MEMORY, "%zu images of %zux%zu are too many", set->count, height,
                        width);
    size_t plane = height * width, old_plane = set->height * set->width;
    uint8_t *padded = calloc(set->count * set->channels * plane + 1, 1);
    if (padded == NULL)
        return GC_ERROR(GC_ERR_MEMORY, "no memory for %zu images of %zux%zu", set->count, height,
                        width);
    size_t top = (height - set->height) / 2, left = (width - set->width) / 2;
    for (size_t plane_index = 0; plane_index < set->count * set->channels; plane_index++)
        for (size_t y = 0; y < set->height; y++)
            memcpy(padded + plane_index * plane + (top + y) * width + left,
                   set->pixels + plane_index * old_plane + y * set->width, set->width);
    free(set->pixels);
    set->pixels = padded;
    set->height = height;
    set->width = width;
    return GC_OK;
}

/* ---- dequantisation and bits per dimension ---- */

gc_status gc_images_to_unit(const gc_image_set *set, const size_t *indices, size_t n, int n_bits,
                            gc_rng *rng, double *out)
{
    if (n_bits < 1 || n_bits > 8)
        return GC_ERROR(GC_ERR_ARGUMENT, "n_bits must be 1..8, got %d", n_bits);
    if (n == 0) return GC_OK;
    if (set == NULL || indices == NULL || out == NULL)
        return GC_ERROR(GC_ERR_ARGUMENT, "gc_images_to_unit: NULL set, indices or output");
    /* All indices are checked first so that a bad batch leaves out and rng untouched. */
    for (size_t i = 0; i < n; i++)
        if (indices[i] >= set->count)
            return GC_ERROR(GC_ERR_ARGUMENT,
                            "image index %zu (batch row %zu) is not below the %zu "
                            "images of the set",
                            indices[i], i, set->count);

    size_t dims = set->channels * set->height * set->width;
    int shift = 8 - n_bits;
    double levels = (double)(1 << n_bits);
    /* (levels - 1 + u) / levels rounds to exactly 1 when u is within about 2^-45 of 1 (the sum
     * has fewer fraction bits than u), which would break the promised [0, 1) range; such values
     * are pulled back to the largest double below 1. */
    double below_one = nextafter(1.0, 0.0);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *image = set->pixels + indices[i] * dims;
        double *row = out + i * dims;
        for (size_t d = 0; d < dims; d++) {
            double u = rng != NULL ? gc_rng_uniform(rng) : 0.5;
            double x = ((double)(image[d] >> shift) + u) / levels;
            row[d] = x < 1.0 ? x : below_one;
        }
    }
    return GC_OK;
}

double gc_bits_per_dim(double nll_nats, size_t dims, int n_bits)
{
    double d = (double)dims;
    return (nll_nats + d * (double)n_bits * log(2.0)) / (d * log(2.0));
}
