/* Image data sets for the multi-scale Glow: the CIFAR-10 binary files and folders of PNGs read
 * into 8-bit channel-major arrays, turned into dequantised [0,1) batches, and the bits-per-
 * dimension measure in which image flows report their likelihood. */
#ifndef GLOWCL_IMAGES_H
#define GLOWCL_IMAGES_H

#include <stddef.h>
#include <stdint.h>

#include "glowcl/rng.h"
#include "glowcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gc_image_set {
    size_t count; /* images */
    size_t channels, height, width;
    uint8_t *pixels; /* count x channels x height x width, channel-major per image (CHW), 0..255 */
    uint8_t *labels; /* count labels, or NULL when the source has none */
} gc_image_set;

/* Releases the arrays and zeroes the struct; a zeroed or already freed set (or NULL) is fine. */
void gc_image_set_free(gc_image_set *set);

/* Reads the CIFAR-10 binary version from folder `dir`: split "train" reads data_batch_1.bin ...
 * data_batch_5.bin (those that exist, at least one, in that order), split "test" reads
 * test_batch.bin. Each file is a sequence of 3073-byte records: 1 label byte (0..9), then 3072
 * pixels as the red, green and blue 32x32 planes, rows top to bottom, which is already the CHW
 * layout of gc_image_set, so the result is 3 x 32 x 32 with labels. max_images (0 = all) stops
 * after that many images; every present file's size is still checked.
 * On success *out owns its arrays (gc_image_set_free); on error *out is zeroed.
 * Errors: GC_ERR_ARGUMENT (NULL pointer, split other than "train"/"test"), GC_ERR_IO (the folder
 * or the split's files are missing or unreadable; the message names what was looked for),
 * GC_ERR_FORMAT (a file that is empty or not a whole number of records, naming the file, its size
 * and the record size; a label above 9, naming the file and record index), GC_ERR_MEMORY. */
gc_status gc_cifar10_load(gc_image_set *out, const char *dir, const char *split, size_t max_images);

/* Reads the PNG files of folder `dir` (names ending in ".png" in any letter case, hidden
 * ".*" files and non-regular entries skipped), in byte order of their names, as a 3-channel
 * set without labels; gray files are replicated to RGB, alpha is dropped, 16-bit is reduced.
 * All files must have one size; expect_height / expect_width (0 = any) additionally fix it.
 * max_images (0 = all) reads only the first that many files of the sorted list.
 * On success *out owns its arrays; on error *out is zeroed.
 * Errors: GC_ERR_ARGUMENT (NULL pointer), GC_ERR_IO (folder or file unreadable),
 * GC_ERR_FORMAT (no PNG files; a corrupt PNG or one of another size, naming the file and, for a
 * size mismatch, both sizes), GC_ERR_MEMORY. */
gc_status gc_png_folder_load(gc_image_set *out, const char *dir, size_t expect_height,
                             size_t expect_width, size_t max_images);

/* Writes the dequantised batch of images indices[0..n) to out (n x C x H x W doubles, same
 * layout as the set): each pixel p becomes x = (floor(p / 2^(8-n_bits)) + u) / 2^n_bits, in
 * [0, 1), with u drawn from rng in the order of `out` (or u = 0.5, the bin centre, when rng is
 * NULL, for noise-free evaluation and pictures). n == 0 writes nothing.
 * Errors: GC_ERR_ARGUMENT (NULL set/indices/out with n > 0, n_bits outside 1..8, an index not
 * below set->count); on error nothing is written and rng is not advanced. */
gc_status gc_images_to_unit(const gc_image_set *set, const size_t *indices, size_t n, int n_bits,
                            gc_rng *rng, double *out);

/* Bits per dimension of a mean negative log-likelihood `nll_nats` (nats per image) of the
 * density of the dequantised [0,1)^dims data: (nll + dims * log(2^n_bits)) / (dims * log 2),
 * i.e. the cost of coding the n_bits-bit pixels themselves. A uniform density (nll 0) gives
 * n_bits. Preconditions: dims > 0, n_bits in 1..8 (as validated by gc_images_to_unit). */
double gc_bits_per_dim(double nll_nats, size_t dims, int n_bits);

#ifdef __cplusplus
}
#endif

#endif
