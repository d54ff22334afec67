/* libFuzzer target: the IDX loader gc_idx_load (src/io/idx.c) and padding. The input is
 *   byte 0   flags: bit 0 the split (0 train, 1 test); bit 1 the images gzip-compressed by the
 *            harness; bit 2 a labels file; bit 3 the labels compressed; bit 4 the dotted names
 *            (train-images.idx3-ubyte); bit 5 the images' bytes written as they are under a
 *            .gz name (damaged gzip)
 *   byte 1   max_images (0 = all)
 *   byte 2-3 the images file's length, little-endian; the labels file takes the rest
 * written into the scratch folder. A set that loads is checked, padded and dequantised. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <zlib.h>

#include "fuzz_common.h"
#include "glowcl/images.h"

/* Writes `size` bytes as `path`, through gzip when `compress` says so. */
static void write_file(const char *path, const uint8_t *data, size_t size, int compress)
{
    if (!compress) {
        fuzz_write(path, data, size);
        return;
    }
    gzFile file = gzopen(path, "wb1");
    FUZZ_CHECK(file != NULL);
    FUZZ_CHECK(size == 0 || gzwrite(file, data, (unsigned)size) == (int)size);
    FUZZ_CHECK(gzclose(file) == Z_OK);
}

static void check_set(const gc_image_set *set, unsigned flags, size_t max_images, size_t size)
{
    FUZZ_CHECK(set->count > 0 && set->channels == 1 && set->height > 0 && set->width > 0);
    FUZZ_CHECK(max_images == 0 || set->count <= max_images);
    FUZZ_CHECK((set->labels != NULL) == ((flags & 4) != 0));
    /* Every pixel came from the input, which the harness wrote plainly or compressed itself
     * (raw bytes under a .gz name may be a gzip stream of more bytes than the input). */
    FUZZ_CHECK((flags & 32) || set->count * set->height * set->width <= size);
    gc_image_set padded = *set;
    padded.pixels = malloc(set->count * set->height * set->width);
    FUZZ_CHECK(padded.pixels != NULL);
    memcpy(padded.pixels, set->pixels, set->count * set->height * set->width);
    padded.labels = NULL;
    if (gc_image_set_pad(&padded, set->height + 3, set->width + 2) == GC_OK) {
        FUZZ_CHECK(padded.height == set->height + 3 && padded.width == set->width + 2);
        size_t last = padded.count * padded.height * padded.width - 1;
        FUZZ_CHECK(padded.pixels[0] == 0 && padded.pixels[last] == 0);
    }
    free(padded.pixels);
    size_t indices[2] = {0, set->count - 1};
    size_t dims = set->height * set->width;
    double *unit = dims <= (1u << 20) ? malloc(2 * dims * sizeof *unit) : NULL;
    if (unit) {
        FUZZ_CHECK(gc_images_to_unit(set, indices, 2, 8, NULL, unit) == GC_OK);
        for (size_t i = 0; i < 2 * dims; i++) FUZZ_CHECK(unit[i] >= 0.0 && unit[i] < 1.0);
        free(unit);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return -1;
    unsigned flags = data[0];
    size_t max_images = data[1], images = (size_t)data[2] | (size_t)data[3] << 8;
    data += 4;
    size -= 4;
    if (images > size) images = size;
    const char *split = flags & 1 ? "t10k" : "train", *dot = flags & 16 ? "." : "-";
    char dir[128], image_path[256], label_path[256];
    fuzz_path(dir, sizeof dir, "idx");
    mkdir(dir, 0700);
    int image_gz = (flags & 2) || (flags & 32), label_gz = (flags & 8) != 0;
    snprintf(image_path, sizeof image_path, "%s/%s-images%sidx3-ubyte%s", dir, split, dot,
             image_gz ? ".gz" : "");
    snprintf(label_path, sizeof label_path, "%s/%s-labels%sidx1-ubyte%s", dir, split, dot,
             label_gz ? ".gz" : "");
    write_file(image_path, data, images, (flags & 2) && !(flags & 32));
    if (flags & 4) write_file(label_path, data + images, size - images, label_gz);

    gc_image_set set;
    gc_status status = gc_idx_load(&set, dir, flags & 1 ? "test" : "train", max_images);
    if (status == GC_OK)
        check_set(&set, flags, max_images, size);
    else
        FUZZ_CHECK(set.count == 0 && set.pixels == NULL && set.labels == NULL);
    gc_image_set_free(&set);
    remove(image_path);
    remove(label_path);
    return 0;
}
