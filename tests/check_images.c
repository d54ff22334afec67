/* Unit tests of the image data sets: CIFAR-10 binary files written here byte by byte (layout,
 * batch order, limits and every malformed case), PNG folders written with gc_png_write_rgb,
 * MNIST-family IDX files (plain and gzip, both namings, every malformed case), padding,
 * dequantisation into [0,1) and bits per dimension against hand computations. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp, opendir */
#endif

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "glowcl/images.h"
#include "glowcl/plot.h"
#include "harness.h"

enum { RECORD = 3073, PLANE = 32 * 32, IMAGE = 3 * PLANE };

/* ---- helpers ---- */

/* One scratch folder for the run, made in main; each test works in a subfolder of its own. */
static char scratch_dir[] = "/tmp/glowcl-check-images-XXXXXX";

static void file_in(char *out, size_t size, const char *dir, const char *name)
{
    int length = snprintf(out, size, "%s/%s", dir, name);
    ck_assert_msg(length > 0 && (size_t)length < size, "path %s/%s is too long", dir, name);
}

static void make_folder(char *out, size_t size, const char *name)
{
    file_in(out, size, scratch_dir, name);
    ck_assert_msg(mkdir(out, 0777) == 0, "cannot create %s: %s", out, strerror(errno));
}

static void write_bytes(const char *path, const uint8_t *bytes, size_t count)
{
    FILE *file = fopen(path, "wb");
    ck_assert_msg(file != NULL, "cannot create %s: %s", path, strerror(errno));
    ck_assert_uint_eq(fwrite(bytes, 1, count, file), count);
    ck_assert_int_eq(fclose(file), 0);
}

static void assert_set_empty(const gc_image_set *set)
{
    ck_assert_uint_eq(set->count, 0);
    ck_assert_ptr_null(set->pixels);
    ck_assert_ptr_null(set->labels);
}

/* A value that differs between neighbouring images, channels, rows and columns, so a pixel
 * read from the wrong place cannot pass by accident. */
static uint8_t cifar_pattern(size_t image, size_t channel, size_t y, size_t x)
{
    return (uint8_t)(image * 37u + channel * 101u + y * 7u + x * 3u);
}

/* The label of image `image` in the files written by write_cifar. */
static uint8_t cifar_label(size_t image) { return (uint8_t)((image * 3u + 1u) % 10u); }

/* Writes `count` records of images first_image, first_image + 1, ... as dir/name, laid out as
 * the CIFAR-10 documentation describes: label, then the red, green and blue planes, each row by
 * row. `cut` bytes are left off the end. */
static void write_cifar(const char *dir, const char *name, size_t first_image, size_t count,
                        size_t cut)
{
    size_t bytes = count * RECORD;
    uint8_t *data = malloc(bytes);
    ck_assert_ptr_nonnull(data);
    for (size_t i = 0; i < count; i++) {
        uint8_t *record = data + i * RECORD;
        record[0] = cifar_label(first_image + i);
        for (size_t c = 0; c < 3; c++)
            for (size_t y = 0; y < 32; y++)
                for (size_t x = 0; x < 32; x++)
                    record[1 + c * PLANE + y * 32 + x] = cifar_pattern(first_image + i, c, y, x);
    }
    char path[4096];
    file_in(path, sizeof path, dir, name);
    write_bytes(path, data, bytes - cut);
    free(data);
}

/* Asserts that set image `index` is file image `image` of write_cifar. */
static void assert_cifar_image(const gc_image_set *set, size_t index, size_t image)
{
    ck_assert_uint_eq(set->labels[index], cifar_label(image));
    const uint8_t *pixels = set->pixels + index * IMAGE;
    for (size_t c = 0; c < 3; c++)
        for (size_t y = 0; y < 32; y++)
            for (size_t x = 0; x < 32; x++)
                ck_assert_msg(pixels[c * PLANE + y * 32 + x] == cifar_pattern(image, c, y, x),
                              "set image %zu (file image %zu) differs at c=%zu y=%zu x=%zu", index,
                              image, c, y, x);
}

/* ---- CIFAR-10 ---- */

START_TEST(test_cifar_layout_and_labels)
{
    char dir[4096];
    make_folder(dir, sizeof dir, "cifar_layout");
    /* One hand-made record: solid planes show that the file's planes become channels. */
    uint8_t record[RECORD];
    record[0] = 7;
    memset(record + 1, 200, PLANE);
    memset(record + 1 + PLANE, 100, PLANE);
    memset(record + 1 + 2 * PLANE, 50, PLANE);
    record[1 + 1 * 32 + 2] = 201; /* red, row 1, column 2 */
    char path[4096];
    file_in(path, sizeof path, dir, "data_batch_1.bin");
    write_bytes(path, record, sizeof record);

    gc_image_set set;
    ck_assert_int_eq(gc_cifar10_load(&set, dir, "train", 0), GC_OK);
    ck_assert_uint_eq(set.count, 1);
    ck_assert_uint_eq(set.channels, 3);
    ck_assert_uint_eq(set.height, 32);
    ck_assert_uint_eq(set.width, 32);
    ck_assert_uint_eq(set.labels[0], 7);
    ck_assert_uint_eq(set.pixels[0], 200);
    ck_assert_uint_eq(set.pixels[1 * 32 + 2], 201);
    ck_assert_uint_eq(set.pixels[1 * 32 + 3], 200);
    ck_assert_uint_eq(set.pixels[PLANE], 100);
    ck_assert_uint_eq(set.pixels[2 * PLANE + PLANE - 1], 50);
    gc_image_set_free(&set);
    assert_set_empty(&set);
    gc_image_set_free(&set); /* twice is harmless */
    gc_image_set_free(NULL);

    write_cifar(dir, "data_batch_1.bin", 0, 4, 0);
    ck_assert_int_eq(gc_cifar10_load(&set, dir, "train", 0), GC_OK);
    ck_assert_uint_eq(set.count, 4);
    for (size_t i = 0; i < 4; i++) assert_cifar_image(&set, i, i);
    gc_image_set_free(&set);
}
END_TEST

START_TEST(test_cifar_batches_in_order)
{
    char dir[4096];
    make_folder(dir, sizeof dir, "cifar_batches");
    /* Written out of order and with batch 3 missing: the loader goes by number. */
    write_cifar(dir, "data_batch_5.bin", 6, 1, 0);
    write_cifar(dir, "data_batch_2.bin", 2, 3, 0);
    write_cifar(dir, "data_batch_1.bin", 0, 2, 0);
    write_cifar(dir, "data_batch_4.bin", 5, 1, 0);
    write_cifar(dir, "test_batch.bin", 100, 2, 0);

    gc_image_set set;
    ck_assert_int_eq(gc_cifar10_load(&set, dir, "train", 0), GC_OK);
    ck_assert_uint_eq(set.count, 7);
    for (size_t i = 0; i < 7; i++) assert_cifar_image(&set, i, i);
    gc_image_set_free(&set);

    ck_assert_int_eq(gc_cifar10_load(&set, dir, "test", 0), GC_OK);
    ck_assert_uint_eq(set.count, 2);
    assert_cifar_image(&set, 0, 100);
    assert_cifar_image(&set, 1, 101);
    gc_image_set_free(&set);
}
END_TEST

START_TEST(test_cifar_max_images)
{
    char dir[4096];
    make_folder(dir, sizeof dir, "cifar_max");
    write_cifar(dir, "data_batch_1.bin", 0, 2, 0);
    write_cifar(dir, "data_batch_2.bin", 2, 3, 0);
    const size_t limits[] = {1, 2, 3, 5, 0, 100};
    const size_t expected[] = {1, 2, 3, 5, 5, 5};
    for (size_t k = 0; k < sizeof limits / sizeof limits[0]; k++) {
        gc_image_set set;
        ck_assert_int_eq(gc_cifar10_load(&set, dir, "train", limits[k]), GC_OK);
        ck_assert_uint_eq(set.count, expected[k]);
        for (size_t i = 0; i < set.count; i++) assert_cifar_image(&set, i, i);
        gc_image_set_free(&set);
    }
}
END_TEST

START_TEST(test_cifar_rejects_partial_record)
{
    char dir[4096];
    make_folder(dir, sizeof dir, "cifar_short");
    write_cifar(dir, "data_batch_1.bin", 0, 10, 1);
    gc_image_set set;
    ck_assert_int_eq(gc_cifar10_load(&set, dir, "train", 0), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS("data_batch_1.bin: 30729 bytes is not a multiple of 3073 "
                             "(record = 1 label byte + 3072 pixels)");
    assert_set_empty(&set);

    /* A damaged later batch is reported even when the images asked for come before it. */
    write_cifar(dir, "data_batch_1.bin", 0, 2, 0);
    write_cifar(dir, "data_batch_3.bin", 2, 2, RECORD - 5);
    ck_assert_int_eq(gc_cifar10_load(&set, dir, "train", 1), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS("data_batch_3.bin: 3078 bytes is not a multiple of 3073");
    assert_set_empty(&set);

    write_cifar(dir, "test_batch.bin", 0, 1, RECORD - 1);
    ck_assert_int_eq(gc_cifar10_load(&set, dir, "test", 0), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS("test_batch.bin: 1 bytes is not a multiple of 3073");

    write_cifar(dir, "test_batch.bin", 0, 0, 0);
    ck_assert_int_eq(gc_cifar10_load(&set, dir, "test", 0), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS("test_batch.bin: 0 bytes");
    assert_set_empty(&set);
}
END_TEST

START_TEST(test_cifar_rejects_bad_label)
{
    char dir[4096];
    make_folder(dir, sizeof dir, "cifar_label");
    write_cifar(dir, "data_batch_1.bin", 0, 4, 0);
    char path[4096];
    file_in(path, sizeof path, dir, "data_batch_1.bin");
    FILE *file = fopen(path, "r+b");
    ck_assert_ptr_nonnull(file);
    ck_assert_int_eq(fseek(file, 2 * RECORD, SEEK_SET), 0);
    ck_assert_int_eq(fputc(10, file), 10);
    ck_assert_int_eq(fclose(file), 0);

    gc_image_set set;
    ck_assert_int_eq(gc_cifar10_load(&set, dir, "train", 0), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS("data_batch_1.bin: record 2 ");
    GC_ASSERT_ERROR_CONTAINS("label 10");
    assert_set_empty(&set);
    /* Records before the bad one are fine on their own. */
    ck_assert_int_eq(gc_cifar10_load(&set, dir, "train", 2), GC_OK);
    ck_assert_uint_eq(set.count, 2);
    gc_image_set_free(&set);
}
END_TEST

START_TEST(test_cifar_missing_files)
{
    gc_image_set set;
    char missing[4096];
    file_in(missing, sizeof missing, scratch_dir, "no_such_folder");
    ck_assert_int_eq(gc_cifar10_load(&set, missing, "train", 0), GC_ERR_IO);
    GC_ASSERT_ERROR_CONTAINS(missing);
    assert_set_empty(&set);

    char dir[4096];
    make_folder(dir, sizeof dir, "cifar_empty");
    ck_assert_int_eq(gc_cifar10_load(&set, dir, "train", 0), GC_ERR_IO);
    GC_ASSERT_ERROR_CONTAINS("data_batch_1.bin");
    GC_ASSERT_ERROR_CONTAINS(dir);
    write_cifar(dir, "data_batch_1.bin", 0, 1, 0);
    ck_assert_int_eq(gc_cifar10_load(&set, dir, "test", 0), GC_ERR_IO);
    GC_ASSERT_ERROR_CONTAINS("test_batch.bin");

    /* Pointing at the download folder instead of the unpacked one gets a hint. */
    char download[4096], nested[4096];
    make_folder(download, sizeof download, "cifar_download");
    file_in(nested, sizeof nested, download, "cifar-10-batches-bin");
    ck_assert_int_eq(mkdir(nested, 0777), 0);
    ck_assert_int_eq(gc_cifar10_load(&set, download, "train", 0), GC_ERR_IO);
    GC_ASSERT_ERROR_CONTAINS("cifar-10-batches-bin, pass that folder");

    /* A file where the folder should be. */
    char batch[4096];
    file_in(batch, sizeof batch, dir, "data_batch_1.bin");
    ck_assert_int_eq(gc_cifar10_load(&set, batch, "train", 0), GC_ERR_IO);
    GC_ASSERT_ERROR_CONTAINS("is not a folder");
}
END_TEST

START_TEST(test_cifar_bad_arguments)
{
    gc_image_set set;
    ck_assert_int_eq(gc_cifar10_load(&set, scratch_dir, "validation", 0), GC_ERR_ARGUMENT);
    GC_ASSERT_ERROR_CONTAINS("validation");
    assert_set_empty(&set);
    ck_assert_int_eq(gc_cifar10_load(&set, NULL, "train", 0), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_cifar10_load(&set, scratch_dir, NULL, 0), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_cifar10_load(NULL, scratch_dir, "train", 0), GC_ERR_ARGUMENT);
}
END_TEST

/* ---- PNG folders ---- */

enum { TEST_PNG_WIDTH = 5, TEST_PNG_HEIGHT = 3 };

static uint8_t png_pattern(int image, int y, int x, int channel)
{
    return (uint8_t)(image * 50 + y * 20 + x * 4 + channel);
}

/* Writes a width x height RGB picture of png_pattern(image, ...) as dir/name. */
static void write_pattern_png(const char *dir, const char *name, int image, int width, int height)
{
    uint8_t *rgb = malloc((size_t)width * height * 3);
    ck_assert_ptr_nonnull(rgb);
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            for (int c = 0; c < 3; c++) rgb[(y * width + x) * 3 + c] = png_pattern(image, y, x, c);
    char path[4096];
    file_in(path, sizeof path, dir, name);
    ck_assert_msg(gc_png_write_rgb(path, rgb, width, height) == GC_OK, "%s", gc_last_error());
    free(rgb);
}

static void assert_png_image(const gc_image_set *set, size_t index, int image)
{
    const int width = TEST_PNG_WIDTH, height = TEST_PNG_HEIGHT;
    const uint8_t *pixels = set->pixels + index * 3 * (size_t)(width * height);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                ck_assert_msg(pixels[(c * height + y) * width + x] == png_pattern(image, y, x, c),
                              "set image %zu differs at c=%d y=%d x=%d", index, c, y, x);
}

START_TEST(test_png_folder_round_trip)
{
    char dir[4096], path[4096];
    make_folder(dir, sizeof dir, "png_round_trip");
    write_pattern_png(dir, "c.png", 2, TEST_PNG_WIDTH, TEST_PNG_HEIGHT);
    write_pattern_png(dir, "a.png", 0, TEST_PNG_WIDTH, TEST_PNG_HEIGHT);
    write_pattern_png(dir, "b.PNG", 1, TEST_PNG_WIDTH, TEST_PNG_HEIGHT);
    /* None of these is an image of the set. */
    file_in(path, sizeof path, dir, "notes.txt");
    write_bytes(path, (const uint8_t *)"hello", 5);
    file_in(path, sizeof path, dir, "a.png.txt");
    write_bytes(path, (const uint8_t *)"hello", 5);
    file_in(path, sizeof path, dir, "._a.png");
    write_bytes(path, (const uint8_t *)"resource fork", 13);
    file_in(path, sizeof path, dir, "folder.png");
    ck_assert_int_eq(mkdir(path, 0777), 0);

    gc_image_set set;
    ck_assert_msg(gc_png_folder_load(&set, dir, 0, 0, 0) == GC_OK, "%s", gc_last_error());
    ck_assert_uint_eq(set.count, 3);
    ck_assert_uint_eq(set.channels, 3);
    ck_assert_uint_eq(set.height, TEST_PNG_HEIGHT);
    ck_assert_uint_eq(set.width, TEST_PNG_WIDTH);
    ck_assert_ptr_null(set.labels);
    for (int i = 0; i < 3; i++) assert_png_image(&set, (size_t)i, i);
    gc_image_set_free(&set);

    ck_assert_int_eq(gc_png_folder_load(&set, dir, TEST_PNG_HEIGHT, TEST_PNG_WIDTH, 2), GC_OK);
    ck_assert_uint_eq(set.count, 2);
    for (int i = 0; i < 2; i++) assert_png_image(&set, (size_t)i, i);
    gc_image_set_free(&set);

    ck_assert_int_eq(gc_png_folder_load(&set, dir, TEST_PNG_HEIGHT, 0, 0), GC_OK);
    gc_image_set_free(&set);
    ck_assert_int_eq(gc_png_folder_load(&set, dir, 0, 8, 0), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS("a.png is 5 wide and 3 high, expected 8 wide and 3 high");
    assert_set_empty(&set);
}
END_TEST

/* A 2x2 PNG in one of libpng's simplified formats (grey, grey + alpha, RGBA, ...). */
static void write_2x2_png(const char *dir, const char *name, png_uint_32 format,
                          const uint8_t *pixels)
{
    char path[4096];
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = 2;
    image.height = 2;
    image.format = format;
    file_in(path, sizeof path, dir, name);
    ck_assert_int_ne(png_image_write_to_file(&image, path, 0, pixels, 0, NULL), 0);
}

START_TEST(test_png_folder_gray_is_replicated)
{
    char dir[4096];
    make_folder(dir, sizeof dir, "png_gray");
    const uint8_t gray[2 * 2] = {0, 85, 170, 255};
    write_2x2_png(dir, "gray.png", PNG_FORMAT_GRAY, gray);

    gc_image_set set;
    ck_assert_msg(gc_png_folder_load(&set, dir, 2, 2, 0) == GC_OK, "%s", gc_last_error());
    ck_assert_uint_eq(set.channels, 3);
    for (size_t c = 0; c < 3; c++)
        for (size_t p = 0; p < 4; p++) ck_assert_uint_eq(set.pixels[c * 4 + p], gray[p]);
    gc_image_set_free(&set);
}
END_TEST

/* Images with an alpha channel (RGBA, grey + alpha) are used as RGB: the alpha is dropped, not
 * blended, so the colour values come through unchanged. */
START_TEST(test_png_folder_drops_alpha)
{
    char dir[4096];
    make_folder(dir, sizeof dir, "png_alpha");
    const uint8_t rgba[2 * 2 * 4] = {10, 20, 30, 0,   40,  50,  60,  128,
                                     70, 80, 90, 255, 100, 110, 120, 7};
    const uint8_t gray_alpha[2 * 2 * 2] = {5, 0, 105, 50, 205, 255, 255, 1};
    write_2x2_png(dir, "a_rgba.png", PNG_FORMAT_RGBA, rgba);
    write_2x2_png(dir, "b_gray_alpha.png", PNG_FORMAT_GA, gray_alpha);

    gc_image_set set;
    ck_assert_msg(gc_png_folder_load(&set, dir, 2, 2, 0) == GC_OK, "%s", gc_last_error());
    ck_assert_uint_eq(set.count, 2);
    ck_assert_uint_eq(set.channels, 3);
    for (size_t c = 0; c < 3; c++)
        for (size_t p = 0; p < 4; p++) {
            ck_assert_uint_eq(set.pixels[c * 4 + p], rgba[p * 4 + c]);
            ck_assert_uint_eq(set.pixels[12 + c * 4 + p], gray_alpha[p * 2]);
        }
    gc_image_set_free(&set);
}
END_TEST

START_TEST(test_png_folder_rejects_other_size)
{
    char dir[4096];
    make_folder(dir, sizeof dir, "png_size");
    write_pattern_png(dir, "a.png", 0, TEST_PNG_WIDTH, TEST_PNG_HEIGHT);
    write_pattern_png(dir, "b.png", 1, 7, TEST_PNG_HEIGHT);
    gc_image_set set;
    ck_assert_int_eq(gc_png_folder_load(&set, dir, 0, 0, 0), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS("b.png is 7 wide and 3 high");
    GC_ASSERT_ERROR_CONTAINS("a.png (the first image) is 5 wide and 3 high");
    assert_set_empty(&set);
    /* Files past max_images are not read. */
    ck_assert_int_eq(gc_png_folder_load(&set, dir, 0, 0, 1), GC_OK);
    ck_assert_uint_eq(set.count, 1);
    gc_image_set_free(&set);
}
END_TEST

START_TEST(test_png_folder_rejects_corrupt_file)
{
    char dir[4096], path[4096];
    make_folder(dir, sizeof dir, "png_corrupt");
    write_pattern_png(dir, "a.png", 0, TEST_PNG_WIDTH, TEST_PNG_HEIGHT);
    file_in(path, sizeof path, dir, "b.png");
    write_bytes(path, (const uint8_t *)"not a picture", 13);
    gc_image_set set;
    ck_assert_int_eq(gc_png_folder_load(&set, dir, 0, 0, 0), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS(path);
    assert_set_empty(&set);

    /* A real PNG cut in half. */
    char whole[4096];
    file_in(whole, sizeof whole, dir, "a.png");
    FILE *file = fopen(whole, "rb");
    ck_assert_ptr_nonnull(file);
    uint8_t bytes[4096];
    size_t size = fread(bytes, 1, sizeof bytes, file);
    fclose(file);
    ck_assert_uint_gt(size, 40);
    write_bytes(path, bytes, size / 2);
    ck_assert_int_eq(gc_png_folder_load(&set, dir, 0, 0, 0), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS(path);
    assert_set_empty(&set);
}
END_TEST

START_TEST(test_png_folder_without_pngs)
{
    char dir[4096], path[4096];
    make_folder(dir, sizeof dir, "png_none");
    gc_image_set set;
    ck_assert_int_eq(gc_png_folder_load(&set, dir, 0, 0, 0), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS("has no .png files");
    GC_ASSERT_ERROR_CONTAINS(dir);
    file_in(path, sizeof path, dir, "readme.txt");
    write_bytes(path, (const uint8_t *)"x", 1);
    ck_assert_int_eq(gc_png_folder_load(&set, dir, 0, 0, 0), GC_ERR_FORMAT);
    assert_set_empty(&set);

    file_in(path, sizeof path, dir, "missing");
    ck_assert_int_eq(gc_png_folder_load(&set, path, 0, 0, 0), GC_ERR_IO);
    GC_ASSERT_ERROR_CONTAINS(path);
    ck_assert_int_eq(gc_png_folder_load(&set, NULL, 0, 0, 0), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_png_folder_load(NULL, dir, 0, 0, 0), GC_ERR_ARGUMENT);
}
END_TEST

/* ---- MNIST-family IDX files ---- */

enum { IDX_ROWS = 4, IDX_COLUMNS = 5, IDX_PLANE = IDX_ROWS * IDX_COLUMNS };

static uint8_t idx_pattern(size_t image, size_t y, size_t x)
{
    return (uint8_t)(image * 41u + y * 9u + x * 2u + 1u);
}

/* An IDX file as the MNIST page describes it: 00 00, type, dimensions, each dimension a
 * big-endian u32, the values. `header_count` is what the header says; `count` images (or labels,
 * when rows is 0) follow, their values from idx_pattern (labels: image % 10). Written through
 * zlib's gz stream when the name ends in ".gz", else plainly. */
static void write_idx(const char *dir, const char *name, uint8_t type, size_t header_count,
                      size_t count, size_t rows)
{
    size_t dims = rows ? 3 : 1, plane = rows ? rows * IDX_COLUMNS : 1;
    size_t size = 4 + 4 * dims + count * plane;
    uint8_t *bytes = calloc(size, 1);
    ck_assert_ptr_nonnull(bytes);
    bytes[2] = type;
    bytes[3] = (uint8_t)dims;
    uint32_t sizes[3] = {(uint32_t)header_count, (uint32_t)rows, IDX_COLUMNS};
    for (size_t d = 0; d < dims; d++)
        for (int b = 0; b < 4; b++) bytes[4 + 4 * d + b] = (uint8_t)(sizes[d] >> (24 - 8 * b));
    uint8_t *values = bytes + 4 + 4 * dims;
    for (size_t i = 0; i < count; i++)
        for (size_t p = 0; p < plane; p++)
            values[i * plane + p] =
                rows ? idx_pattern(i, p / IDX_COLUMNS, p % IDX_COLUMNS) : (uint8_t)(i % 10);
    char path[4096];
    file_in(path, sizeof path, dir, name);
    size_t length = strlen(name);
    if (length > 3 && strcmp(name + length - 3, ".gz") == 0) {
        gzFile file = gzopen(path, "wb");
        ck_assert_ptr_nonnull(file);
        ck_assert_int_eq(gzwrite(file, bytes, (unsigned)size), (int)size);
        ck_assert_int_eq(gzclose(file), Z_OK);
    } else {
        write_bytes(path, bytes, size);
    }
    free(bytes);
}

static void assert_idx_set(const gc_image_set *set, size_t count, int with_labels)
{
    ck_assert_uint_eq(set->count, count);
    ck_assert_uint_eq(set->channels, 1);
    ck_assert_uint_eq(set->height, IDX_ROWS);
    ck_assert_uint_eq(set->width, IDX_COLUMNS);
    ck_assert(with_labels ? set->labels != NULL : set->labels == NULL);
    for (size_t i = 0; i < count; i++) {
        if (with_labels) ck_assert_int_eq(set->labels[i], i % 10);
        for (size_t p = 0; p < IDX_PLANE; p++)
            ck_assert_int_eq(set->pixels[i * IDX_PLANE + p],
                             idx_pattern(i, p / IDX_COLUMNS, p % IDX_COLUMNS));
    }
}

START_TEST(test_idx_plain_and_gzip_names)
{
    char dir[4096];
    make_folder(dir, sizeof dir, "idx_names");
    write_idx(dir, "train-images-idx3-ubyte", 0x08, 3, 3, IDX_ROWS);
    write_idx(dir, "train-labels-idx1-ubyte", 0x08, 3, 3, 0);
    /* The test split in the dotted naming, compressed; no labels. */
    write_idx(dir, "t10k-images.idx3-ubyte.gz", 0x08, 12, 12, IDX_ROWS);
    gc_image_set set;
    ck_assert_int_eq(gc_idx_load(&set, dir, "train", 0), GC_OK);
    assert_idx_set(&set, 3, 1);
    gc_image_set_free(&set);
    ck_assert_int_eq(gc_idx_load(&set, dir, "test", 0), GC_OK);
    assert_idx_set(&set, 12, 0);
    gc_image_set_free(&set);
    ck_assert_int_eq(gc_idx_load(&set, dir, "test", 5), GC_OK);
    assert_idx_set(&set, 5, 0);
    gc_image_set_free(&set);

    char gz_dir[4096];
    make_folder(gz_dir, sizeof gz_dir, "idx_gz");
    write_idx(gz_dir, "train-images-idx3-ubyte.gz", 0x08, 2, 2, IDX_ROWS);
    write_idx(gz_dir, "train-labels-idx1-ubyte.gz", 0x08, 2, 2, 0);
    ck_assert_int_eq(gc_idx_load(&set, gz_dir, "train", 0), GC_OK);
    assert_idx_set(&set, 2, 1);
    gc_image_set_free(&set);
}
END_TEST

/* Loading `split` of `dir` must fail with `status` and a message holding `fragment`. */
static void assert_idx_rejected(const char *dir, const char *split, gc_status status,
                                const char *fragment)
{
    gc_image_set set;
    ck_assert_int_eq(gc_idx_load(&set, dir, split, 0), status);
    GC_ASSERT_ERROR_CONTAINS(fragment);
    assert_set_empty(&set);
}

START_TEST(test_idx_rejects_bad_files)
{
    static const struct {
        const char *images, *labels; /* file names; NULL: none */
        uint8_t type;
        size_t said, written, label_count, rows;
        const char *fragment;
    } cases[] = {
        {"train-images-idx3-ubyte", NULL, 0x0d, 2, 2, 0, IDX_ROWS, "IDX data type 0x0d"},
        {"train-images-idx3-ubyte", NULL, 0x08, 3, 2, 0, IDX_ROWS,
         "header says 3 images of 4x5 (60 bytes), but the file ends after 40"},
        {"train-images-idx3-ubyte.gz", NULL, 0x08, 3, 2, 0, IDX_ROWS, "file ends after 40"},
        {"train-images-idx3-ubyte", NULL, 0x08, 2, 3, 0, IDX_ROWS, "holds more bytes after them"},
        {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", 0x08, 3, 3, 2, IDX_ROWS,
         "holds 2 labels, but"},
        {"train-images-idx3-ubyte", NULL, 0x08, 2, 2, 0, 0, "an IDX file of 1 dimensions"},
        {"train-images-idx3-ubyte", NULL, 0x08, 0, 0, 0, IDX_ROWS, "holds no images"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char dir[4096], name[32];
        snprintf(name, sizeof name, "idx_bad_%zu", i);
        make_folder(dir, sizeof dir, name);
        write_idx(dir, cases[i].images, cases[i].type, cases[i].said, cases[i].written,
                  cases[i].rows);
        if (cases[i].labels)
            write_idx(dir, cases[i].labels, 0x08, cases[i].label_count, cases[i].label_count, 0);
        assert_idx_rejected(dir, "train", GC_ERR_FORMAT, cases[i].fragment);
        GC_ASSERT_ERROR_CONTAINS(dir);
    }
}
END_TEST

START_TEST(test_idx_rejects_wrong_magic_and_missing_files)
{
    char dir[4096], path[4096];
    make_folder(dir, sizeof dir, "idx_magic");
    file_in(path, sizeof path, dir, "train-images-idx3-ubyte");
    write_bytes(path, (const uint8_t *)"\x12\x34\x56\x78 and so on", 15);
    assert_idx_rejected(dir, "train", GC_ERR_FORMAT,
                        "is not an IDX file: it starts with 12 34 56 78, not 00 00 08 03");
    write_bytes(path, (const uint8_t *)"\x00\x00\x08\x03\x00\x00", 6);
    assert_idx_rejected(dir, "train", GC_ERR_FORMAT, "truncated IDX header: 6 of 16 bytes");
    /* A .gz name whose contents are gzip cut short. */
    file_in(path, sizeof path, dir, "t10k-images-idx3-ubyte.gz");
    write_bytes(path, (const uint8_t *)"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xf3\x48", 12);
    gc_image_set set;
    ck_assert_int_ne(gc_idx_load(&set, dir, "test", 0), GC_OK);
    assert_set_empty(&set);

    char empty[4096];
    make_folder(empty, sizeof empty, "idx_empty");
    assert_idx_rejected(empty, "test", GC_ERR_IO, "looked for t10k-images-idx3-ubyte");
    file_in(path, sizeof path, empty, "none");
    assert_idx_rejected(path, "train", GC_ERR_IO, "cannot open IDX folder");
    assert_idx_rejected(empty, "validation", GC_ERR_ARGUMENT, "validation");
}
END_TEST

/* ---- padding ---- */

START_TEST(test_pad_centres_the_images)
{
    uint8_t pixels[2 * 2 * 6];
    for (int i = 0; i < 24; i++) pixels[i] = (uint8_t)(i + 1);
    gc_image_set set = {2, 2, 2, 3, malloc(sizeof pixels), NULL};
    memcpy(set.pixels, pixels, sizeof pixels);
    ck_assert_int_eq(gc_image_set_pad(&set, 2, 2), GC_ERR_ARGUMENT);
    GC_ASSERT_ERROR_CONTAINS("cannot pad 2x3 images to 2x2");
    ck_assert_uint_eq(set.width, 3);
    ck_assert_int_eq(gc_image_set_pad(&set, 2, 3), GC_OK);
    ck_assert_int_eq(memcmp(set.pixels, pixels, sizeof pixels), 0);
    /* 2x3 into 5x6: one row above and two below, one column left and two right. */
    ck_assert_int_eq(gc_image_set_pad(&set, 5, 6), GC_OK);
    ck_assert_uint_eq(set.height, 5);
    ck_assert_uint_eq(set.width, 6);
    ck_assert_uint_eq(set.count, 2);
    for (size_t plane = 0; plane < 4; plane++)
        for (size_t y = 0; y < 5; y++)
            for (size_t x = 0; x < 6; x++) {
                int inside = y >= 1 && y < 3 && x >= 1 && x < 4;
                uint8_t want = inside ? pixels[plane * 6 + (y - 1) * 3 + (x - 1)] : 0;
                ck_assert_int_eq(set.pixels[plane * 30 + y * 6 + x], want);
            }
    gc_image_set_free(&set);
}
END_TEST

/* ---- dequantisation ---- */

/* Two 1 x 16 x 16 images: every byte value once, ascending and then descending. */
static gc_image_set all_values_set(uint8_t *pixels)
{
    for (int i = 0; i < 256; i++) {
        pixels[i] = (uint8_t)i;
        pixels[256 + i] = (uint8_t)(255 - i);
    }
    gc_image_set set = {2, 1, 16, 16, pixels, NULL};
    return set;
}

START_TEST(test_unit_bounds_and_bins)
{
    uint8_t pixels[512];
    gc_image_set set = all_values_set(pixels);
    size_t indices[2] = {0, 1};
    double out[512];
    gc_rng rng;
    gc_rng_seed(&rng, gc_test_seed());
    for (int n_bits = 1; n_bits <= 8; n_bits++) {
        double levels = (double)(1 << n_bits);
        for (int round = 0; round < 20; round++) {
            ck_assert_int_eq(gc_images_to_unit(&set, indices, 2, n_bits, &rng, out), GC_OK);
            for (int i = 0; i < 512; i++) {
                ck_assert_msg(out[i] >= 0.0 && out[i] < 1.0, "x = %.17g out of [0,1)", out[i]);
                ck_assert_int_eq((int)floor(out[i] * levels), pixels[i] >> (8 - n_bits));
            }
        }
    }
}
END_TEST

START_TEST(test_unit_five_bits_and_centres)
{
    uint8_t pixels[512];
    gc_image_set set = all_values_set(pixels);
    size_t indices[3] = {1, 0, 1}; /* picked, repeated and reordered */
    double out[3 * 256];
    ck_assert_int_eq(gc_images_to_unit(&set, indices, 3, 5, NULL, out), GC_OK);
    for (int r = 0; r < 3; r++) {
        for (int d = 0; d < 256; d++) {
            int p = pixels[indices[r] * 256 + (size_t)d];
            /* 5 bits: 8 byte values per bin, 32 bins, and the bin centre without noise. */
            ck_assert_double_eq(out[r * 256 + d], ((double)(p / 8) + 0.5) / 32.0);
        }
    }
    ck_assert_double_eq(out[0], (31 + 0.5) / 32.0); /* 255 */
    ck_assert_double_eq(out[256 + 7], 0.5 / 32.0);  /* 7 */
    ck_assert_double_eq(out[256 + 8], 1.5 / 32.0);  /* 8 */

    ck_assert_int_eq(gc_images_to_unit(&set, indices, 1, 8, NULL, out), GC_OK);
    for (int d = 0; d < 256; d++) ck_assert_double_eq(out[d], ((double)(255 - d) + 0.5) / 256.0);
}
END_TEST

START_TEST(test_unit_noise_is_seeded_and_in_order)
{
    uint8_t pixels[512];
    gc_image_set set = all_values_set(pixels);
    size_t indices[2] = {1, 0};
    double first[512], second[512], other[512];
    gc_rng a, b, c, replay;
    gc_rng_seed(&a, 42);
    gc_rng_seed(&b, 42);
    gc_rng_seed(&c, 43);
    gc_rng_seed(&replay, 42);
    ck_assert_int_eq(gc_images_to_unit(&set, indices, 2, 6, &a, first), GC_OK);
    ck_assert_int_eq(gc_images_to_unit(&set, indices, 2, 6, &b, second), GC_OK);
    ck_assert_int_eq(gc_images_to_unit(&set, indices, 2, 6, &c, other), GC_OK);
    ck_assert_mem_eq(first, second, sizeof first);
    int same = 0;
    for (int i = 0; i < 512; i++) same += first[i] == other[i];
    ck_assert_int_lt(same, 5);
    /* One uniform per value, in the order of the output, and no other draws. */
    for (int r = 0; r < 2; r++)
        for (int d = 0; d < 256; d++) {
            int p = pixels[indices[r] * 256 + (size_t)d];
            double u = gc_rng_uniform(&replay);
            ck_assert_double_eq(first[r * 256 + d], ((double)(p >> 2) + u) / 64.0);
        }
    ck_assert_uint_eq(gc_rng_u64(&a), gc_rng_u64(&replay));
}
END_TEST

START_TEST(test_unit_rejects_bad_arguments)
{
    uint8_t pixels[512];
    gc_image_set set = all_values_set(pixels);
    size_t indices[2] = {0, 2};
    double out[512];
    for (int i = 0; i < 512; i++) out[i] = -1.0;
    gc_rng rng, untouched;
    gc_rng_seed(&rng, 7);
    untouched = rng;
    ck_assert_int_eq(gc_images_to_unit(&set, indices, 2, 8, &rng, out), GC_ERR_ARGUMENT);
    GC_ASSERT_ERROR_CONTAINS("image index 2 (batch row 1)");
    ck_assert_mem_eq(&rng, &untouched, sizeof rng);
    for (int i = 0; i < 512; i++) ck_assert_double_eq(out[i], -1.0);
    ck_assert_int_eq(gc_images_to_unit(&set, indices, 1, 0, &rng, out), GC_ERR_ARGUMENT);
    GC_ASSERT_ERROR_CONTAINS("n_bits must be 1..8, got 0");
    ck_assert_int_eq(gc_images_to_unit(&set, indices, 1, 9, &rng, out), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_images_to_unit(&set, NULL, 1, 8, &rng, out), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_images_to_unit(NULL, indices, 1, 8, &rng, out), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_images_to_unit(&set, indices, 1, 8, &rng, NULL), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_images_to_unit(&set, NULL, 0, 8, &rng, NULL), GC_OK);
    ck_assert_mem_eq(&rng, &untouched, sizeof rng);
}
END_TEST

/* ---- bits per dimension ---- */

START_TEST(test_bits_per_dim)
{
    const size_t dims = 3 * 32 * 32;
    const double d = (double)dims, ln2 = log(2.0);
    /* The uniform density on [0,1)^D has NLL 0 and codes each n_bits-bit value in n_bits bits,
     * as D log 256 nats of uniform 8-bit pixels are 8 bits per dimension. */
    ck_assert_double_eq_tol(gc_bits_per_dim(0.0, dims, 8), 8.0, 1e-12);
    ck_assert_double_eq_tol(gc_bits_per_dim(0.0, dims, 5), 5.0, 1e-12);
    /* Density 2 on half of each axis (twice as sure of every value): one bit per dim less. */
    ck_assert_double_eq_tol(gc_bits_per_dim(-d * ln2, dims, 8), 7.0, 1e-12);
    /* 3.5 bits per dim by hand: (nll + D * 8 ln 2) / (D ln 2) = 3.5 <=> nll = -4.5 D ln 2. */
    ck_assert_double_eq_tol(gc_bits_per_dim(-4.5 * d * ln2, dims, 8), 3.5, 1e-12);
    /* A Glow-like value: 3.35 bits/dim on CIFAR-10 is a mean NLL of -4.65 * 3072 ln 2 nats. */
    ck_assert_double_eq_tol(gc_bits_per_dim(-4.65 * 3072.0 * ln2, 3072, 8), 3.35, 1e-12);
    ck_assert_double_eq_tol(gc_bits_per_dim(10.0, 4, 1), (10.0 + 4.0 * log(2.0)) / (4.0 * ln2),
                            1e-12);
}
END_TEST

static Suite *images_suite(void)
{
    Suite *suite = suite_create("images");

    TCase *cifar = tcase_create("cifar10");
    tcase_add_test(cifar, test_cifar_layout_and_labels);
    tcase_add_test(cifar, test_cifar_batches_in_order);
    tcase_add_test(cifar, test_cifar_max_images);
    tcase_add_test(cifar, test_cifar_rejects_partial_record);
    tcase_add_test(cifar, test_cifar_rejects_bad_label);
    tcase_add_test(cifar, test_cifar_missing_files);
    tcase_add_test(cifar, test_cifar_bad_arguments);
    tcase_set_timeout(cifar, 60);
    suite_add_tcase(suite, cifar);

    TCase *png = tcase_create("png_folder");
    tcase_add_test(png, test_png_folder_round_trip);
    tcase_add_test(png, test_png_folder_gray_is_replicated);
    tcase_add_test(png, test_png_folder_drops_alpha);
    tcase_add_test(png, test_png_folder_rejects_other_size);
    tcase_add_test(png, test_png_folder_rejects_corrupt_file);
    tcase_add_test(png, test_png_folder_without_pngs);
    tcase_set_timeout(png, 60);
    suite_add_tcase(suite, png);

    TCase *idx = tcase_create("idx");
    tcase_add_test(idx, test_idx_plain_and_gzip_names);
    tcase_add_test(idx, test_idx_rejects_bad_files);
    tcase_add_test(idx, test_idx_rejects_wrong_magic_and_missing_files);
    tcase_add_test(idx, test_pad_centres_the_images);
    tcase_set_timeout(idx, 60);
    suite_add_tcase(suite, idx);

    TCase *unit = tcase_create("dequantisation");
    tcase_add_test(unit, test_unit_bounds_and_bins);
    tcase_add_test(unit, test_unit_five_bits_and_centres);
    tcase_add_test(unit, test_unit_noise_is_seeded_and_in_order);
    tcase_add_test(unit, test_unit_rejects_bad_arguments);
    tcase_add_test(unit, test_bits_per_dim);
    tcase_set_timeout(unit, 60);
    suite_add_tcase(suite, unit);
    return suite;
}

int main(void)
{
    if (mkdtemp(scratch_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    int result = gc_test_run(images_suite(), 0);
    gc_test_remove_tree(scratch_dir);
    return result;
}
