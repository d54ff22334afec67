/* Image data sets for the multi-scale Glow: the CIFAR-10 binary files and folders of PNGs read
 * into 8-bit channel-major arrays, turned into dequantised [0,1) batches, and the bits-per-
 * dimension measure in which image flows report their likelihood. */
#ifndef GLOWCL_IMAGES_H
#define GLOWCL_IMAGES_H

#include <stddef.h>
#include <stdint.h>

#include "glowcl/npy.h"
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

/* Reads an MNIST-family IDX data set (MNIST, Fashion-MNIST, KMNIST, EMNIST) from folder `dir`:
 * split "train" reads train-images-idx3-ubyte and "test" t10k-images-idx3-ubyte, each also named
 * with a dot (train-images.idx3-ubyte) and either plain or gzip-compressed (a ".gz" name), the
 * first of those four names that exists. The labels of the split (train-labels-idx1-ubyte,
 * t10k-labels-idx1-ubyte, named likewise) are read when present, else labels is NULL. The
 * images keep their one channel: the set is 1 x rows x columns. max_images (0 = all) keeps the
 * first that many, after the whole file has been read and checked.
 * On success *out owns its arrays; on error *out is zeroed.
 * Errors: GC_ERR_ARGUMENT (NULL pointer, split other than "train"/"test"), GC_ERR_IO (folder or
 * images missing, naming the names looked for; a file unreadable), GC_ERR_FORMAT (naming the
 * file: a wrong magic, a data type other than unsigned bytes, the wrong number of dimensions, a
 * truncated header, data shorter or longer than the header's counts, damaged gzip data, labels
 * and images of different counts, no images), GC_ERR_MEMORY. */
gc_status gc_idx_load(gc_image_set *out, const char *dir, const char *split, size_t max_images);

/* Where the channel axis of a 4-D uint8 array of images lies. */
typedef enum gc_image_layout {
    GC_LAYOUT_AUTO = 0, /* the one of axes 1 and 3 that is 1, 3 or 4 */
    GC_LAYOUT_NHWC,     /* count x height x width x channels (NumPy, TensorFlow) */
    GC_LAYOUT_NCHW,     /* count x channels x height x width (PyTorch) */
} gc_image_layout;

/* The images of a uint8 NumPy array (include/glowcl/npy.h): 3-D (count x height x width, one
 * channel) or 4-D in `layout`; GC_LAYOUT_AUTO takes the channel axis from the shape, axis 3 or
 * axis 1, whichever alone is 1, 3 or 4. `label` names the array in messages. max_images (0 =
 * all) keeps the first that many. The set has no labels. On error *out is zeroed.
 * Errors: GC_ERR_FORMAT (not uint8, for example float points; not 3-D or 4-D; no images; a
 * shape whose channel axis AUTO cannot tell, naming the shape), GC_ERR_ARGUMENT (NULL
 * pointers), GC_ERR_MEMORY. */
gc_status gc_npy_images(const gc_npy_array *array, const char *label, gc_image_layout layout,
                        size_t max_images, gc_image_set *out);

/* Zero-pads every image of the set to height x width, the original in the middle (an odd
 * difference puts the extra row or column at the bottom or right), so that a 28x28 image padded
 * to 32x32 can be halved by five squeezes. Padding adds dimensions: bits per dimension over the
 * padded images count the padding's pixels, which are always 0 and cost a model almost nothing,
 * so they come out lower than over the originals; total bits per image are unchanged in meaning.
 * A size equal to the set's changes nothing. Errors: GC_ERR_ARGUMENT (NULL set, a size smaller
 * than the images' in either direction, naming both), GC_ERR_MEMORY; on error the set is as it
 * was. */
gc_status gc_image_set_pad(gc_image_set *set, size_t height, size_t width);

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
