/* libFuzzer target: the CIFAR-10 binary loader gc_cifar10_load (src/io/image_sets.c). The input is
 *   byte 0   flags: bit 0 the split (0 train, 1 test); bits 1..5 which of data_batch_1..5.bin
 *            exist (train); bit 6 a "cifar-10-batches-bin" subfolder (the hint in the message
 *            about missing files)
 *   byte 1   max_images (0 = all)
 *   rest     the batch files' bytes, shared among the files that exist in 3073-byte records
 *            (the last one takes the rest)
 * written into the scratch folder; a set that loads is checked and dequantised. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fuzz_common.h"
#include "glowcl/images.h"

enum { RECORD = 3073, BATCHES = 5 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return -1;
    unsigned flags = data[0];
    size_t max_images = data[1];
    data += 2;
    size -= 2;
    int test = flags & 1;
    unsigned present = test ? 1u : (flags >> 1) & 31u;

    char dir[128], path[256];
    fuzz_path(dir, sizeof dir, "cifar");
    mkdir(dir, 0700);
    char names[BATCHES][32];
    int files = 0;
    for (int b = 0; b < BATCHES; b++)
        if (present & (1u << b)) {
            if (test)
                snprintf(names[files++], sizeof names[0], "test_batch.bin");
            else
                snprintf(names[files++], sizeof names[0], "data_batch_%d.bin", b + 1);
        }
    size_t share = files ? size / (size_t)files / RECORD * RECORD : 0, at = 0;
    for (int f = 0; f < files; f++) {
        size_t length = f + 1 < files ? share : size - at;
        snprintf(path, sizeof path, "%s/%s", dir, names[f]);
        fuzz_write(path, data + at, length);
        at += length;
    }
    char nested[192];
    snprintf(nested, sizeof nested, "%s/cifar-10-batches-bin", dir);
    if (flags & 64) mkdir(nested, 0700);

    gc_image_set set;
    gc_status status = gc_cifar10_load(&set, dir, test ? "test" : "train", max_images);
    if (status == GC_OK) {
        FUZZ_CHECK(set.count > 0 && set.count <= size / RECORD);
        FUZZ_CHECK(max_images == 0 || set.count <= max_images);
        FUZZ_CHECK(set.channels == 3 && set.height == 32 && set.width == 32);
        for (size_t i = 0; i < set.count; i++) FUZZ_CHECK(set.labels[i] <= 9);
        size_t indices[2] = {0, set.count - 1};
        double *unit = malloc(2 * 3072 * sizeof *unit);
        FUZZ_CHECK(unit != NULL);
        FUZZ_CHECK(gc_images_to_unit(&set, indices, 2, 1 + (int)(flags >> 7) * 7, NULL, unit) ==
                   GC_OK);
        for (size_t i = 0; i < 2 * 3072; i++) FUZZ_CHECK(unit[i] >= 0.0 && unit[i] < 1.0);
        free(unit);
    } else {
        FUZZ_CHECK(set.count == 0 && set.pixels == NULL && set.labels == NULL);
    }
    gc_image_set_free(&set);

    for (int f = 0; f < files; f++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[f]);
        remove(path);
    }
    rmdir(nested);
    return 0;
}
