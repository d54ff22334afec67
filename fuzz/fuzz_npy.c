/* libFuzzer target: the NumPy readers (src/io/npy.c, npz.c) and the arrays as data
 * (src/io/npy_data.c). The input is
 *   byte 0   bit 0: the rest is a .npz archive (else a .npy file); bits 1-2: the layout
 *            gc_npy_images is asked for (auto, NHWC, NCHW)
 *   rest     the file
 * A .npy file is read from memory, from a file, and its header alone: all three must agree. An
 * array that reads is written by gc_npy_write (or, from a .npz, into a new archive) and must
 * read back the same, and is turned into points or images, whichever its dtype is. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "glowcl/data.h"
#include "glowcl/images.h"
#include "glowcl/npy.h"

static int same_array(const gc_npy_array *a, const gc_npy_array *b)
{
    if (a->dtype != b->dtype || a->ndim != b->ndim) return 0;
    for (size_t i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    size_t bytes = gc_npy_count(a) * gc_npy_dtype_size(a->dtype);
    return bytes == 0 || memcmp(a->data, b->data, bytes) == 0;
}

/* The array as points or images: either works, or says why not; nothing else happens. */
static void as_data(const gc_npy_array *a, unsigned layout)
{
    double *points = NULL;
    size_t n = 0, dim = 0;
    if (gc_npy_points(a, "fuzz", &points, &n, &dim) == GC_OK)
        FUZZ_CHECK(points != NULL && n * dim == gc_npy_count(a));
    else
        FUZZ_CHECK(points == NULL && n == 0);
    free(points);
    gc_image_set set;
    if (gc_npy_images(a, "fuzz", (gc_image_layout)layout, 0, &set) == GC_OK)
        FUZZ_CHECK(set.count * set.channels * set.height * set.width == gc_npy_count(a));
    else
        FUZZ_CHECK(set.pixels == NULL && set.count == 0);
    gc_image_set_free(&set);
}

static void fuzz_npy(const uint8_t *data, size_t size, unsigned layout)
{
    char path[128], copy[128];
    fuzz_path(path, sizeof path, "input.npy");
    fuzz_path(copy, sizeof copy, "copy.npy");
    fuzz_write(path, data, size);
    gc_npy_array memory, file, header;
    gc_status from_memory = gc_npy_read_memory(data, size, "fuzz", &memory);
    FUZZ_CHECK(gc_npy_read(path, &file) == from_memory);
    FUZZ_CHECK(gc_npy_read_header(path, &header) == from_memory);
    if (from_memory != GC_OK) {
        FUZZ_CHECK(memory.data == NULL && file.data == NULL && header.data == NULL);
        return;
    }
    FUZZ_CHECK(same_array(&memory, &file));
    FUZZ_CHECK(header.data == NULL && gc_npy_count(&header) == gc_npy_count(&memory));
    gc_npy_array again;
    FUZZ_CHECK(gc_npy_write(copy, &memory) == GC_OK);
    FUZZ_CHECK(gc_npy_read(copy, &again) == GC_OK);
    FUZZ_CHECK(same_array(&memory, &again));
    as_data(&memory, layout);
    gc_npy_free(&memory);
    gc_npy_free(&file);
    gc_npy_free(&again);
}

static void fuzz_npz(const uint8_t *data, size_t size, unsigned layout)
{
    gc_npz *z = NULL;
    if (gc_npz_read_memory(&z, data, size, "fuzz.npz") != GC_OK) {
        FUZZ_CHECK(z == NULL);
        return;
    }
    char path[128];
    fuzz_path(path, sizeof path, "copy.npz");
    gc_npz_writer *w = NULL;
    FUZZ_CHECK(gc_npz_writer_open(&w, path) == GC_OK);
    /* Names from a foreign archive may be ones glowcl's writer refuses; those are left out. */
    size_t kept = 0;
    for (size_t i = 0; i < gc_npz_count(z); i++) {
        as_data(gc_npz_array(z, i), layout);
        kept += gc_npz_put(w, gc_npz_name(z, i), gc_npz_array(z, i)) == GC_OK;
    }
    FUZZ_CHECK(gc_npz_writer_commit(w) == GC_OK);
    gc_npz *again = NULL;
    FUZZ_CHECK(gc_npz_read(&again, path) == GC_OK);
    FUZZ_CHECK(gc_npz_count(again) == kept);
    for (size_t i = 0; i < kept; i++) {
        const gc_npy_array *original = NULL;
        FUZZ_CHECK(gc_npz_find(z, gc_npz_name(again, i), &original) == GC_OK);
        FUZZ_CHECK(same_array(original, gc_npz_array(again, i)));
    }
    gc_npz_free(again);
    gc_npz_free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return -1;
    unsigned layout = (data[0] >> 1) % 3;
    if (data[0] & 1)
        fuzz_npz(data + 1, size - 1, layout);
    else
        fuzz_npy(data + 1, size - 1, layout);
    return 0;
}
