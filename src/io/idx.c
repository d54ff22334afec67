/* MNIST-family IDX files (MNIST, Fashion-MNIST, KMNIST, EMNIST): a big-endian header (two zero
 * bytes, the data type, the number of dimensions, then each dimension as a u32) and the values,
 * read through zlib's gz stream, which reads plain and gzip-compressed files alike. The header's
 * counts are checked against the bytes there really are (read in growing chunks, so a forged
 * count cannot make glowcl allocate what the file does not hold), and labels against images.
 * See include/glowcl/images.h for the contract. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* stat */
#endif

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "glowcl/images.h"
#include "image_internal.h"

enum {
    IDX_UBYTE = 0x08,
    MAX_DIMS = 3,
    FIRST_CHUNK = 1 << 20,
    MAX_CHUNK = 1 << 30, /* gzread takes an unsigned int */
};

typedef struct idx_file {
    const char *path;
    size_t ndims, dims[MAX_DIMS];
    uint8_t *data; /* dims[0] x ... values */
    size_t size;
} idx_file;

/* A failed gzread: the system's error, or zlib's word for damaged compressed data. */
static gc_status gz_failure(gzFile file, const char *path)
{
    int code = Z_OK;
    const char *message = gzerror(file, &code);
    if (code == Z_ERRNO) return GC_ERROR(GC_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    return GC_ERROR(GC_ERR_FORMAT, "%s: damaged gzip data (%s)", path, message);
}

/* Up to `size` bytes; *got tells how many there were before the end. */
static gc_status gz_read(gzFile file, const char *path, uint8_t *out, size_t size, size_t *got)
{
    *got = 0;
    while (*got < size) {
        size_t part = size - *got < MAX_CHUNK ? size - *got : MAX_CHUNK;
        int n = gzread(file, out + *got, (unsigned)part);
        if (n < 0) return gz_failure(file, path);
        *got += (size_t)n;
        if ((size_t)n < part) break;
    }
    int code = Z_OK;
    gzerror(file, &code);
    return code == Z_OK || code == Z_STREAM_END ? GC_OK : gz_failure(file, path);
}

/* The magic and dimensions; `want` is the number of dimensions the file must have. */
static gc_status read_header(gzFile file, idx_file *f, size_t want, const char *what)
{
    uint8_t magic[4], sizes[4 * MAX_DIMS];
    size_t got = 0;
    GC_TRY(gz_read(file, f->path, magic, 4, &got));
    if (got < 4 || magic[0] != 0 || magic[1] != 0)
        return GC_ERROR(GC_ERR_FORMAT,
                        "%s is not an IDX file: it starts with %02x %02x %02x %02x, not 00 00 "
                        "08 %02zx",
                        f->path, got > 0 ? magic[0] : 0, got > 1 ? magic[1] : 0,
                        got > 2 ? magic[2] : 0, got > 3 ? magic[3] : 0, want);
    if (magic[2] != IDX_UBYTE)
        return GC_ERROR(GC_ERR_FORMAT,
                        "%s: IDX data type 0x%02x; glowcl reads unsigned bytes (0x08)", f->path,
                        magic[2]);
    if (magic[3] != want)
        return GC_ERROR(GC_ERR_FORMAT, "%s: an IDX file of %u dimensions; %s have %zu", f->path,
                        magic[3], what, want);
    f->ndims = want;
    GC_TRY(gz_read(file, f->path, sizes, 4 * want, &got));
    if (got < 4 * want)
        return GC_ERROR(GC_ERR_FORMAT, "%s: truncated IDX header: %zu of %zu bytes", f->path,
                        4 + got, 4 + 4 * want);
    for (size_t d = 0; d < want; d++) {
        const uint8_t *p = sizes + 4 * d;
        f->dims[d] = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
    }
    return GC_OK;
}

/* "60000 images of 28x28 (47040000 bytes)" or "60000 labels (60000 bytes)". */
static void describe(const idx_file *f, size_t bytes, char *out, size_t size)
{
    if (f->ndims == 3)
        snprintf(out, size, "%zu images of %zux%zu (%zu bytes)", f->dims[0], f->dims[1], f->dims[2],
                 bytes);
    else
        snprintf(out, size, "%zu labels (%zu bytes)", f->dims[0], bytes);
}

/* The values, exactly as many as the header says: fewer, or any byte after them, is an error. */
static gc_status read_values(gzFile file, idx_file *f)
{
    size_t bytes = 1;
    for (size_t d = 0; d < f->ndims; d++) {
        if (f->dims[d] != 0 && bytes > SIZE_MAX / 2 / f->dims[d])
            return GC_ERROR(GC_ERR_FORMAT, "%s: the IDX header's sizes are too large", f->path);
        bytes *= f->dims[d];
    }
    char said[128];
    describe(f, bytes, said, sizeof said);
    size_t capacity = bytes < FIRST_CHUNK ? bytes : FIRST_CHUNK, got = 0, more = 0;
    f->data = malloc(capacity ? capacity : 1);
    for (;;) {
        if (!f->data) return GC_ERROR(GC_ERR_MEMORY, "%s: no memory for %s", f->path, said);
        size_t part = 0;
        GC_TRY(gz_read(file, f->path, f->data + got, capacity - got, &part));
        got += part;
        if (got < capacity || capacity == bytes) break;
        size_t grown = capacity < bytes / 2 ? 2 * capacity : bytes;
        uint8_t *larger = realloc(f->data, grown);
        if (!larger) free(f->data);
        f->data = larger;
        capacity = grown;
    }
    if (got < bytes)
        return GC_ERROR(GC_ERR_FORMAT,
                        "%s: its header says %s, but the file ends after %zu of those bytes",
                        f->path, said, got);
    uint8_t extra;
    GC_TRY(gz_read(file, f->path, &extra, 1, &more));
    if (more)
        return GC_ERROR(GC_ERR_FORMAT,
                        "%s: its header says %s, but the file holds more bytes after them", f->path,
                        said);
    f->size = bytes;
    return GC_OK;
}

/* Reads file `path` of `want` dimensions (3 for images, 1 for labels) into *f. */
static gc_status read_idx(const char *path, size_t want, const char *what, idx_file *f)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    gzFile file = gzopen(path, "rb");
    if (!file) return GC_ERROR(GC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    gzbuffer(file, 1 << 17);
    gc_status status = read_header(file, f, want, what);
    if (status == GC_OK) status = read_values(file, f);
    gzclose(file);
    if (status != GC_OK) {
        free(f->data);
        f->data = NULL;
    }
    return status;
}

/* The first of the names the distributions use for `what` ("images" or "labels") of a split
 * ("train" or "t10k") that is a file in `dir`, written to `out`; false when there is none.
 * `set` ("" or e.g. "emnist-letters-") goes in front of the name, as EMNIST's files have it. */
static bool find_file(const char *dir, const char *set, const char *split, const char *what,
                      char *out, size_t size)
{
    static const char *const patterns[] = {"%s/%s%s-%s-idx%d-ubyte", "%s/%s%s-%s-idx%d-ubyte.gz",
                                           "%s/%s%s-%s.idx%d-ubyte", "%s/%s%s-%s.idx%d-ubyte.gz"};
    int dims = strcmp(what, "images") == 0 ? 3 : 1;
    for (size_t i = 0; i < sizeof patterns / sizeof *patterns; i++) {
        struct stat info;
        int length = snprintf(out, size, patterns[i], dir, set, split, what, dims);
        if (length > 0 && (size_t)length < size && stat(out, &info) == 0 && S_ISREG(info.st_mode))
            return true;
    }
    return false;
}

/* Where the folder has no plain `split`-images file, the prefix of one whose name ends in it
 * (EMNIST's "emnist-letters-train-images-idx3-ubyte.gz": set "emnist-letters-"), if there is
 * exactly one such prefix; GC_ERR_ARGUMENT naming two when the folder holds several sets. */
static gc_status find_set(const char *dir, const char *split, char *set, size_t size)
{
    set[0] = '\0';
    DIR *folder = opendir(dir);
    if (!folder) return GC_OK; /* the caller's search says what is missing */
    char tail[32];
    snprintf(tail, sizeof tail, "-%s-images", split);
    gc_status status = GC_OK;
    for (struct dirent *entry; status == GC_OK && (entry = readdir(folder));) {
        const char *at = strstr(entry->d_name, tail);
        if (!at || at == entry->d_name || (size_t)(at - entry->d_name) + 2 > size) continue;
        char found[256];
        snprintf(found, sizeof found, "%.*s-", (int)(at - entry->d_name), entry->d_name);
        char path[4096];
        if (!find_file(dir, found, split, "images", path, sizeof path)) continue;
        if (set[0] && strcmp(set, found) != 0)
            status = GC_ERROR(GC_ERR_ARGUMENT,
                              "%s holds several IDX data sets (%s%s-images and %s%s-images): put "
                              "the one to use in a folder of its own",
                              dir, set, split, found, split);
        else
            snprintf(set, size, "%s", found);
    }
    closedir(folder);
    return status;
}

/* The labels of the split, if the folder has them: as many as there are images. */
static gc_status read_labels(const char *dir, const char *set, const char *prefix,
                             const idx_file *images, idx_file *labels)
{
    char path[4096];
    memset(labels, 0, sizeof *labels);
    if (!find_file(dir, set, prefix, "labels", path, sizeof path)) return GC_OK;
    GC_TRY(read_idx(path, 1, "labels", labels));
    labels->path = NULL; /* `path` is about to go */
    if (labels->dims[0] != images->dims[0]) {
        free(labels->data);
        labels->data = NULL;
        return GC_ERROR(GC_ERR_FORMAT, "%s holds %zu labels, but %s holds %zu images", path,
                        labels->dims[0], images->path, images->dims[0]);
    }
    return GC_OK;
}

gc_status gc_idx_load(gc_image_set *out, const char *dir, const char *split, size_t max_images)
{
    bool train = false;
    GC_TRY(gc_split_folder_start(out, dir, split, "IDX", "gc_idx_load", &train));
    const char *prefix = train ? "train" : "t10k";
    char path[4096], set[256] = "";
    if (!find_file(dir, set, prefix, "images", path, sizeof path)) {
        GC_TRY(find_set(dir, prefix, set, sizeof set));
        if (!set[0] || !find_file(dir, set, prefix, "images", path, sizeof path))
            return GC_ERROR(GC_ERR_IO,
                            "%s: no IDX %s images (looked for %s-images-idx3-ubyte and "
                            "%s-images.idx3-ubyte, each also with .gz and after a prefix such "
                            "as EMNIST's emnist-letters-)",
                            dir, train ? "training" : "test", prefix, prefix);
    }
    idx_file images, labels;
    GC_TRY(read_idx(path, 3, "images", &images));
    gc_status status = read_labels(dir, set, prefix, &images, &labels);
    if (status == GC_OK && (images.dims[0] == 0 || images.dims[1] == 0 || images.dims[2] == 0))
        status = GC_ERROR(GC_ERR_FORMAT, "%s holds no images (%zu of %zux%zu)", path,
                          images.dims[0], images.dims[1], images.dims[2]);
    if (status != GC_OK) {
        free(images.data);
        return status;
    }
    out->count = max_images != 0 && max_images < images.dims[0] ? max_images : images.dims[0];
    /* All was read, to check the file's size; what is not kept need not stay allocated. */
    uint8_t *kept = realloc(images.data, out->count * images.dims[1] * images.dims[2]);
    if (kept) images.data = kept;
    out->channels = 1;
    out->height = images.dims[1];
    out->width = images.dims[2];
    out->pixels = images.data; /* count x rows x columns of one channel: already CHW */
    out->labels = labels.data;
    return GC_OK;
}
