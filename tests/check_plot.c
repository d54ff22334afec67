/* Unit tests of src/io/plot.c: PNG round trips and error handling, and the pixel content of every
 * plot kind (geometry of points, orientation of density maps, broken lines, grid layout), read
 * back through gc_png_read_rgb. Each test works in its own mkdtemp directory. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp, dup */
#endif

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "glowcl/plot.h"

/* ---- temporary directory and helpers --------------------------------------------------- */

static char temp_dir[64];

static void make_temp_dir(void)
{
    snprintf(temp_dir, sizeof temp_dir, "/tmp/check_plot.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(temp_dir));
}

static void remove_temp_dir(void)
{
    DIR *dir = opendir(temp_dir);
    if (!dir) return;
    struct dirent *entry;
    char path[512];
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", temp_dir, entry->d_name);
        remove(path);
    }
    closedir(dir);
    rmdir(temp_dir);
}

/* Several paths may be alive at once in a test, so they rotate through a few buffers. */
static const char *temp_path(const char *name)
{
    static char paths[4][512];
    static int next;
    char *path = paths[next++ % 4];
    snprintf(path, 512, "%s/%s", temp_dir, name);
    return path;
}

static int count_dir_entries(const char *path)
{
    DIR *dir = opendir(path);
    ck_assert_ptr_nonnull(dir);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL)
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) count++;
    closedir(dir);
    return count;
}

static unsigned char *read_whole_file(const char *path, size_t *size)
{
    FILE *file = fopen(path, "rb");
    ck_assert_ptr_nonnull(file);
    fseek(file, 0, SEEK_END);
    long length = ftell(file);
    fseek(file, 0, SEEK_SET);
    unsigned char *bytes = malloc((size_t)length);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_uint_eq(fread(bytes, 1, (size_t)length, file), (size_t)length);
    fclose(file);
    *size = (size_t)length;
    return bytes;
}

static void write_whole_file(const char *path, const unsigned char *bytes, size_t size)
{
    FILE *file = fopen(path, "wb");
    ck_assert_ptr_nonnull(file);
    ck_assert_uint_eq(fwrite(bytes, 1, size, file), size);
    ck_assert_int_eq(fclose(file), 0);
}

/* stderr goes to a file while libpng is exercised, to prove nothing is printed. */
static int saved_stderr = -1;
static char stderr_path[512];

static void capture_stderr(void)
{
    fflush(stderr);
    saved_stderr = dup(2);
    snprintf(stderr_path, sizeof stderr_path, "%s/stderr.txt", temp_dir);
    int fd = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    dup2(fd, 2);
    close(fd);
}

static long release_stderr(void)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    struct stat info;
    ck_assert_int_eq(stat(stderr_path, &info), 0);
    remove(stderr_path);
    return (long)info.st_size;
}

typedef struct image {
    uint8_t *rgb;
    int width, height, channels;
} image;

static image load(const char *path)
{
    image im = {0};
    gc_status status = gc_png_read_rgb(path, &im.rgb, &im.width, &im.height, &im.channels);
    ck_assert_msg(status == GC_OK, "reading %s: %s", path, gc_last_error());
    return im;
}

static const uint8_t *pixel(const image *im, int x, int y)
{
    return im->rgb + ((size_t)y * (size_t)im->width + (size_t)x) * 3;
}

static int is_reddish(const uint8_t *p)
{
    return p[0] > 150 && p[1] + 60 < p[0] && p[2] + 60 < p[0];
}
static int is_bluish(const uint8_t *p) { return p[2] > 120 && p[0] + 60 < p[2]; }
static int is_ink(const uint8_t *p) { return p[0] < 80 && p[0] == p[1] && p[1] == p[2]; }
static int is_dark_grey(const uint8_t *p) { return p[0] < 110 && p[0] == p[1] && p[1] == p[2]; }
static double luminance(const uint8_t *p) { return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]; }

/* The plot frame is the only set of long straight dark-grey lines, so it locates the plot area
 * without the test knowing the layout: data x maps onto (left, right], y onto (top, bottom]. */
typedef struct frame {
    int left, right, top, bottom;
} frame;

static frame find_frame(const image *im)
{
    frame f = {-1, -1, -1, -1};
    for (int x = 0; x < im->width; x++) {
        int dark = 0;
        for (int y = 0; y < im->height; y++) dark += is_dark_grey(pixel(im, x, y));
        if (dark < im->height / 2) continue;
        if (f.left < 0)
            f.left = x;
        else if (f.right < 0 && x > f.left + 10)
            f.right = x;
    }
    for (int y = 0; y < im->height; y++) {
        int dark = 0;
        for (int x = 0; x < im->width; x++) dark += is_dark_grey(pixel(im, x, y));
        if (dark < im->width / 2) continue;
        if (f.top < 0) f.top = y;
        f.bottom = y;
    }
    ck_assert_msg(f.left >= 0 && f.right > f.left && f.top >= 0 && f.bottom > f.top + 10,
                  "frame not found: %d %d %d %d", f.left, f.right, f.top, f.bottom);
    return f;
}

static double frame_x(frame f, double fraction)
{
    return f.left + 1 + fraction * (f.right - f.left - 1);
}
static double frame_y(frame f, double fraction)
{
    return f.bottom - fraction * (f.bottom - f.top - 1);
}

typedef struct blob {
    int count;
    double cx, cy;
    int min_x, max_x, min_y, max_y;
} blob;

/* Pixels matching `match` in [x0, x1) x [y0, y1), clamped to the image so callers can ask
 * for "everything below the axis" without knowing the margins. */
static blob find_pixels(const image *im, int (*match)(const uint8_t *), int x0, int y0, int x1,
                        int y1)
{
    blob b = {0, 0, 0, 1 << 30, -1, 1 << 30, -1};
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > im->width ? im->width : x1;
    y1 = y1 > im->height ? im->height : y1;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            if (!match(pixel(im, x, y))) continue;
            b.count++;
            b.cx += x + 0.5;
            b.cy += y + 0.5;
            if (x < b.min_x) b.min_x = x;
            if (x > b.max_x) b.max_x = x;
            if (y < b.min_y) b.min_y = y;
            if (y > b.max_y) b.max_y = y;
        }
    if (b.count) {
        b.cx /= b.count;
        b.cy /= b.count;
    }
    return b;
}

/* ---- PNG files ------------------------------------------------------------------------- */

static uint8_t *pattern_image(int width, int height, unsigned seed)
{
    uint8_t *rgb = malloc((size_t)width * height * 3);
    ck_assert_ptr_nonnull(rgb);
    unsigned state = seed;
    for (size_t i = 0; i < (size_t)width * height * 3; i++) {
        state = state * 1103515245u + 12345u;
        rgb[i] = (uint8_t)(state >> 16);
    }
    return rgb;
}

START_TEST(test_png_round_trip_is_exact)
{
    uint8_t *rgb = pattern_image(37, 23, 1);
    const char *path = temp_path("round.png");
    ck_assert_int_eq(gc_png_write_rgb(path, rgb, 37, 23), GC_OK);
    image im = load(path);
    ck_assert_int_eq(im.width, 37);
    ck_assert_int_eq(im.height, 23);
    ck_assert_int_eq(im.channels, 3);
    ck_assert_mem_eq(im.rgb, rgb, 37 * 23 * 3);
    free(im.rgb);
    free(rgb);
}
END_TEST

START_TEST(test_png_write_replaces_old_file_and_leaves_no_temporary)
{
    uint8_t *first = pattern_image(8, 8, 2), *second = pattern_image(5, 3, 3);
    const char *path = temp_path("replace.png");
    ck_assert_int_eq(gc_png_write_rgb(path, first, 8, 8), GC_OK);
    ck_assert_int_eq(gc_png_write_rgb(path, second, 5, 3), GC_OK);
    image im = load(path);
    ck_assert_int_eq(im.width, 5);
    ck_assert_int_eq(im.height, 3);
    ck_assert_mem_eq(im.rgb, second, 5 * 3 * 3);
    ck_assert_int_eq(count_dir_entries(temp_dir), 1);
    free(im.rgb);
    free(first);
    free(second);
}
END_TEST

START_TEST(test_png_write_into_missing_directory_is_io_error)
{
    uint8_t *rgb = pattern_image(4, 4, 4);
    ck_assert_int_eq(gc_png_write_rgb(temp_path("no/such/dir/x.png"), rgb, 4, 4), GC_ERR_IO);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "no/such/dir/x.png"));
    ck_assert_int_eq(count_dir_entries(temp_dir), 0);
    free(rgb);
}
END_TEST

/* Here the temporary file can be written but not renamed over the target (a directory), which
 * is the path that must clean up after itself. */
START_TEST(test_png_write_failed_rename_removes_temporary)
{
    uint8_t *rgb = pattern_image(4, 4, 5);
    const char *target = temp_path("a_directory");
    ck_assert_int_eq(mkdir(target, 0700), 0);
    ck_assert_int_eq(gc_png_write_rgb(target, rgb, 4, 4), GC_ERR_IO);
    ck_assert_int_eq(count_dir_entries(temp_dir), 1);
    free(rgb);
}
END_TEST

START_TEST(test_png_read_missing_file_is_io_error)
{
    uint8_t *rgb = (uint8_t *)"sentinel";
    int width, height, channels;
    ck_assert_int_eq(gc_png_read_rgb(temp_path("missing.png"), &rgb, &width, &height, &channels),
                     GC_ERR_IO);
    ck_assert_ptr_null(rgb);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "missing.png"));
}
END_TEST

static gc_status read_quietly(const char *path, long *printed)
{
    uint8_t *rgb = NULL;
    int width, height, channels;
    capture_stderr();
    gc_status status = gc_png_read_rgb(path, &rgb, &width, &height, &channels);
    *printed = release_stderr();
    ck_assert_ptr_null(rgb);
    return status;
}

START_TEST(test_png_read_truncated_files_are_format_errors)
{
    uint8_t *rgb = pattern_image(40, 30, 6);
    const char *good = temp_path("good.png");
    ck_assert_int_eq(gc_png_write_rgb(good, rgb, 40, 30), GC_OK);
    size_t size;
    unsigned char *bytes = read_whole_file(good, &size);
    const char *cut = temp_path("truncated.png");
    size_t lengths[] = {0,        4,        8,         12,        20,       33,      40,
                        size / 3, size / 2, size - 13, size - 12, size - 5, size - 1};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        write_whole_file(cut, bytes, lengths[i]);
        long printed;
        gc_status status = read_quietly(cut, &printed);
        ck_assert_msg(status == GC_ERR_FORMAT, "%zu of %zu bytes: %s", lengths[i], size,
                      gc_status_name(status));
        ck_assert_msg(strstr(gc_last_error(), "truncated.png"), "%zu: %s", lengths[i],
                      gc_last_error());
        ck_assert_int_eq(printed, 0);
    }
    free(bytes);
    free(rgb);
}
END_TEST

START_TEST(test_png_read_garbage_is_format_error)
{
    unsigned char noise[300];
    for (size_t i = 0; i < sizeof noise; i++) noise[i] = (unsigned char)(i * 7919 + 13);
    const char *path = temp_path("noise.png");
    long printed;
    write_whole_file(path, noise, sizeof noise);
    ck_assert_int_eq(read_quietly(path, &printed), GC_ERR_FORMAT);
    ck_assert_int_eq(printed, 0);

    /* a valid signature followed by noise reaches libpng's own error handling */
    static const unsigned char signature[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    memcpy(noise, signature, sizeof signature);
    write_whole_file(path, noise, sizeof noise);
    ck_assert_int_eq(read_quietly(path, &printed), GC_ERR_FORMAT);
    ck_assert_int_eq(printed, 0);
}
END_TEST

START_TEST(test_png_read_corrupted_data_is_format_error)
{
    uint8_t *rgb = pattern_image(40, 30, 7);
    const char *path = temp_path("flipped.png");
    ck_assert_int_eq(gc_png_write_rgb(path, rgb, 40, 30), GC_OK);
    size_t size;
    unsigned char *bytes = read_whole_file(path, &size);
    bytes[size / 2] ^= 0x5a; /* inside IDAT: its CRC no longer matches */
    write_whole_file(path, bytes, size);
    long printed;
    ck_assert_int_eq(read_quietly(path, &printed), GC_ERR_FORMAT);
    ck_assert_int_eq(printed, 0);
    free(bytes);
    free(rgb);
}
END_TEST

/* Writes a PNG of any layout with libpng directly, to feed the reader files it never writes. */
static void write_raw_png(const char *path, int width, int height, int color_type, int bit_depth,
                          const png_byte *pixels, const png_color *palette, int palette_size,
                          const png_byte *alphas, int alpha_count)
{
    FILE *file = fopen(path, "wb");
    ck_assert_ptr_nonnull(file);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    ck_assert(png && info);
    if (setjmp(png_jmpbuf(png))) ck_abort_msg("libpng failed to write %s", path);
    png_init_io(png, file);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, bit_depth, color_type,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, palette_size);
    if (alphas) png_set_tRNS(png, info, alphas, alpha_count, NULL);
    png_write_info(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    for (int y = 0; y < height; y++) png_write_row(png, pixels + (size_t)y * row_bytes);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(file);
}

START_TEST(test_png_read_converts_every_layout_to_rgb8)
{
    const char *path = temp_path("layout.png");
    image im;

    const png_byte gray16[] = {0x00, 0x00, 0xff, 0xff, 0x80, 0x00}; /* 3x1, big-endian */
    write_raw_png(path, 3, 1, PNG_COLOR_TYPE_GRAY, 16, gray16, NULL, 0, NULL, 0);
    im = load(path);
    ck_assert_int_eq(im.channels, 1);
    ck_assert_int_eq(im.width, 3);
    ck_assert_int_eq(pixel(&im, 0, 0)[0], 0);
    ck_assert_int_eq(pixel(&im, 1, 0)[2], 255);
    ck_assert_int_ge(pixel(&im, 2, 0)[1], 127);
    ck_assert_int_le(pixel(&im, 2, 0)[1], 128);
    free(im.rgb);

    const png_byte gray_alpha[] = {10, 255, 200, 0};
    write_raw_png(path, 2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, gray_alpha, NULL, 0, NULL, 0);
    im = load(path);
    ck_assert_int_eq(im.channels, 1);
    const uint8_t expected_gray[] = {10, 10, 10, 200, 200, 200};
    ck_assert_mem_eq(im.rgb, expected_gray, sizeof expected_gray);
    free(im.rgb);

    const png_byte rgba[] = {1, 2, 3, 0, 4, 5, 6, 128};
    write_raw_png(path, 1, 2, PNG_COLOR_TYPE_RGBA, 8, rgba, NULL, 0, NULL, 0);
    im = load(path);
    ck_assert_int_eq(im.channels, 3);
    ck_assert_int_eq(im.height, 2);
    const uint8_t expected_rgb[] = {1, 2, 3, 4, 5, 6};
    ck_assert_mem_eq(im.rgb, expected_rgb, sizeof expected_rgb);
    free(im.rgb);

    const png_color palette[] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {9, 9, 9}};
    const png_byte palette_alphas[] = {255, 0};
    const png_byte indices[] = {0x1B}; /* 2-bit indices 0, 1, 2, 3 */
    write_raw_png(path, 4, 1, PNG_COLOR_TYPE_PALETTE, 2, indices, palette, 4, palette_alphas, 2);
    im = load(path);
    ck_assert_int_eq(im.channels, 3);
    const uint8_t expected_palette[] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9};
    ck_assert_mem_eq(im.rgb, expected_palette, sizeof expected_palette);
    free(im.rgb);

    const png_byte bits[] = {0xA0}; /* 1-bit gray: 1, 0, 1 */
    write_raw_png(path, 3, 1, PNG_COLOR_TYPE_GRAY, 1, bits, NULL, 0, NULL, 0);
    im = load(path);
    const uint8_t expected_bits[] = {255, 255, 255, 0, 0, 0, 255, 255, 255};
    ck_assert_mem_eq(im.rgb, expected_bits, sizeof expected_bits);
    free(im.rgb);
}
END_TEST

/* ---- scatter --------------------------------------------------------------------------- */

static const gc_rgb red = {255, 0, 0};

START_TEST(test_scatter_point_lands_where_its_coordinates_say)
{
    const double xy[] = {7.0, 3.0};
    gc_scatter_series series = {xy, 1, red, NULL};
    gc_plot_range range = {0, 10, 0, 10};
    const char *path = temp_path("point.png");
    ck_assert_int_eq(gc_plot_scatter(path, "One point", &series, 1, &range, 640, 600), GC_OK);
    image im = load(path);
    ck_assert_int_eq(im.width, 640);
    ck_assert_int_eq(im.height, 600);
    frame f = find_frame(&im);

    blob red_pixels = find_pixels(&im, is_reddish, 0, 0, im.width, im.height);
    ck_assert_int_gt(red_pixels.count, 0);
    ck_assert_double_eq_tol(red_pixels.cx, frame_x(f, 0.7), 1.0);
    ck_assert_double_eq_tol(red_pixels.cy, frame_y(f, 0.3), 1.0);
    ck_assert_int_le(red_pixels.max_x - red_pixels.min_x, 5);
    ck_assert_int_le(red_pixels.max_y - red_pixels.min_y, 5);

    /* far from the point the plot area is white (or a light grid line) */
    const uint8_t *far = pixel(&im, (int)frame_x(f, 0.25) + 3, (int)frame_y(f, 0.75) + 3);
    ck_assert_int_ge(far[0], 220);
    ck_assert_int_eq(far[0], far[2]);

    /* tick labels below the x axis, left of the y axis, and a title above the frame */
    ck_assert_int_gt(find_pixels(&im, is_ink, f.left, f.bottom + 4, f.right, f.bottom + 30).count,
                     20);
    ck_assert_int_gt(find_pixels(&im, is_ink, 0, f.top, f.left - 4, f.bottom).count, 20);
    ck_assert_int_gt(find_pixels(&im, is_ink, f.left, 0, f.right, f.top).count, 20);
    free(im.rgb);
}
END_TEST

START_TEST(test_scatter_without_title_has_no_ink_above_frame)
{
    const double xy[] = {0.5, 0.5};
    gc_scatter_series series = {xy, 1, red, NULL};
    const char *path = temp_path("untitled.png");
    ck_assert_int_eq(gc_plot_scatter(path, NULL, &series, 1, NULL, 400, 400), GC_OK);
    image im = load(path);
    frame f = find_frame(&im);
    ck_assert_int_eq(find_pixels(&im, is_ink, 0, 0, im.width, f.top - 8).count, 0);
    free(im.rgb);
}
END_TEST

START_TEST(test_scatter_skips_non_finite_and_out_of_range_points)
{
    /* the points just outside the range would still show a sliver of their disc */
    const double xy[] = {NAN,  1.0,   1.0, INFINITY, -5.0,  5.0, 5.0,
                         50.0, 10.01, 5.0, 5.0,      -0.01, 1.0, 1.0};
    gc_scatter_series series = {xy, 7, red, NULL};
    gc_plot_range range = {0, 10, 0, 10};
    const char *path = temp_path("skips.png");
    ck_assert_int_eq(gc_plot_scatter(path, "skips", &series, 1, &range, 500, 500), GC_OK);
    image im = load(path);
    frame f = find_frame(&im);
    blob red_pixels = find_pixels(&im, is_reddish, 0, 0, im.width, im.height);
    ck_assert_int_gt(red_pixels.count, 0);
    ck_assert_double_eq_tol(red_pixels.cx, frame_x(f, 0.1), 1.0);
    ck_assert_double_eq_tol(red_pixels.cy, frame_y(f, 0.1), 1.0);
    free(im.rgb);
}
END_TEST

START_TEST(test_scatter_automatic_range_has_five_percent_margin)
{
    const double xy[] = {0.0, 0.0, 10.0, 20.0, NAN, 1e300};
    gc_scatter_series series = {xy, 3, red, NULL};
    const char *path = temp_path("auto.png");
    ck_assert_int_eq(gc_plot_scatter(path, "auto", &series, 1, NULL, 640, 640), GC_OK);
    image im = load(path);
    frame f = find_frame(&im);
    double low = 0.05 / 1.1, high = 1.05 / 1.1;
    int mid_x = (int)frame_x(f, 0.5), mid_y = (int)frame_y(f, 0.5);
    blob lower_left = find_pixels(&im, is_reddish, 0, mid_y, mid_x, im.height);
    blob upper_right = find_pixels(&im, is_reddish, mid_x, 0, im.width, mid_y);
    ck_assert_double_eq_tol(lower_left.cx, frame_x(f, low), 1.0);
    ck_assert_double_eq_tol(lower_left.cy, frame_y(f, low), 1.0);
    ck_assert_double_eq_tol(upper_right.cx, frame_x(f, high), 1.0);
    ck_assert_double_eq_tol(upper_right.cy, frame_y(f, high), 1.0);
    free(im.rgb);
}
END_TEST

/* Data discs are translucent, so a pixel of exactly the series colour can only come from the
 * opaque legend marker. */
static int is_pure_red(const uint8_t *p) { return p[0] == 255 && p[1] == 0 && p[2] == 0; }

START_TEST(test_scatter_legend_appears_only_with_labels)
{
    const double xy[] = {0.2, 0.2, 0.3, 0.25};
    gc_scatter_series series = {xy, 2, red, NULL};
    const char *path = temp_path("legend.png");
    ck_assert_int_eq(gc_plot_scatter(path, "no legend", &series, 1, NULL, 480, 480), GC_OK);
    image im = load(path);
    ck_assert_int_eq(find_pixels(&im, is_pure_red, 0, 0, im.width, im.height).count, 0);
    free(im.rgb);

    series.label = "samples";
    ck_assert_int_eq(gc_plot_scatter(path, "legend", &series, 1, NULL, 480, 480), GC_OK);
    im = load(path);
    frame f = find_frame(&im);
    blob marker = find_pixels(&im, is_pure_red, 0, 0, im.width, im.height);
    ck_assert_int_gt(marker.count, 0);
    ck_assert_int_gt(marker.min_x, (f.left + f.right) / 2);
    ck_assert_int_lt(marker.max_y, (f.top + f.bottom) / 2);
    ck_assert_int_gt(
        find_pixels(&im, is_ink, marker.max_x, marker.min_y - 3, f.right, marker.max_y + 3).count,
        10);
    free(im.rgb);
}
END_TEST

START_TEST(test_scatter_handles_many_points_and_empty_series)
{
    enum { count = 20000 };
    double *xy = malloc(2 * count * sizeof *xy);
    ck_assert_ptr_nonnull(xy);
    for (int i = 0; i < count; i++) {
        xy[2 * i] = cos(i * 0.001) * (1 + i % 7);
        xy[2 * i + 1] = sin(i * 0.001) * (1 + i % 5);
    }
    gc_scatter_series series[2] = {{xy, count, gc_plot_palette_color(0), "cloud"},
                                   {NULL, 0, gc_plot_palette_color(1), "empty"}};
    ck_assert_int_eq(gc_plot_scatter(temp_path("many.png"), "many", series, 2, NULL, 640, 640),
                     GC_OK);
    ck_assert_int_eq(gc_plot_scatter(temp_path("none.png"), "none", NULL, 0, NULL, 640, 640),
                     GC_OK);
    free(xy);
}
END_TEST

START_TEST(test_plots_reject_bad_arguments_without_writing)
{
    const double xy[] = {0, 0};
    gc_scatter_series series = {xy, 1, red, NULL};
    gc_plot_range empty = {1, 1, 0, 1}, nan_range = {0, NAN, 0, 1}, good = {0, 1, 0, 1};
    const double values[4] = {0, 1, 2, 3};
    ck_assert_int_eq(gc_plot_scatter(temp_path("a.png"), NULL, &series, 1, NULL, 20, 640),
                     GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_plot_scatter(temp_path("a.png"), NULL, &series, 1, &empty, 640, 640),
                     GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_plot_scatter(temp_path("a.png"), NULL, &series, 1, &nan_range, 640, 640),
                     GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_plot_scatter(NULL, NULL, &series, 1, NULL, 640, 640), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_plot_density(temp_path("a.png"), NULL, NULL, 2, 2, good, 640, 640),
                     GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_plot_density(temp_path("a.png"), NULL, values, 0, 2, good, 640, 640),
                     GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_plot_density(temp_path("a.png"), NULL, values, 2, 2, empty, 640, 640),
                     GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_plot_lines(temp_path("a.png"), NULL, NULL, NULL, NULL, NULL, 3, 640, 640),
                     GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_image_grid(temp_path("a.png"), (const float[]){0}, 1, 2, 1, 1, 1),
                     GC_ERR_ARGUMENT);
    ck_assert_int_eq(count_dir_entries(temp_dir), 0);
}
END_TEST

START_TEST(test_plot_into_missing_directory_is_io_error)
{
    const double xy[] = {0, 0};
    gc_scatter_series series = {xy, 1, red, NULL};
    ck_assert_int_eq(
        gc_plot_scatter(temp_path("missing/plot.png"), "x", &series, 1, NULL, 300, 300), GC_ERR_IO);
}
END_TEST

/* ---- density --------------------------------------------------------------------------- */

static double plot_luminance(const image *im, frame f, double fx, double fy)
{
    return luminance(pixel(im, (int)frame_x(f, fx), (int)frame_y(f, fy)));
}

START_TEST(test_density_orientation_and_colour_bar)
{
    enum { gw = 40, gh = 30 };
    double rising_right[gw * gh], rising_up[gw * gh];
    for (int j = 0; j < gh; j++)
        for (int i = 0; i < gw; i++) {
            rising_right[j * gw + i] = i;
            rising_up[j * gw + i] = exp(j * 0.1);
        }
    gc_plot_range range = {-2, 2, -1, 1};
    const char *path = temp_path("density.png");

    ck_assert_int_eq(gc_plot_density(path, "right", rising_right, gw, gh, range, 640, 560), GC_OK);
    image im = load(path);
    ck_assert_int_eq(im.width, 640);
    ck_assert_int_eq(im.height, 560);
    frame f = find_frame(&im);
    ck_assert_double_gt(plot_luminance(&im, f, 0.9, 0.5), plot_luminance(&im, f, 0.1, 0.5) + 100);
    ck_assert_double_eq_tol(plot_luminance(&im, f, 0.5, 0.1), plot_luminance(&im, f, 0.5, 0.9), 1);
    ck_assert_double_gt(plot_luminance(&im, f, 0.6, 0.5), plot_luminance(&im, f, 0.4, 0.5));

    /* the colour bar right of the plot runs dark at the bottom to bright at the top */
    int bar_x = -1;
    for (int x = f.right + 2; x < im.width && bar_x < 0; x++)
        if (luminance(pixel(&im, x, f.top + 3)) > 180 && pixel(&im, x, f.top + 3)[2] < 100)
            bar_x = x;
    ck_assert_int_ge(bar_x, 0);
    ck_assert_double_lt(luminance(pixel(&im, bar_x, f.bottom - 3)), 60);
    ck_assert_int_gt(find_pixels(&im, is_ink, bar_x, f.top, im.width, f.bottom).count, 20);
    ck_assert_int_gt(find_pixels(&im, is_ink, f.left, f.bottom + 4, f.right, f.bottom + 30).count,
                     20);
    free(im.rgb);

    ck_assert_int_eq(gc_plot_density(path, "up", rising_up, gw, gh, range, 640, 560), GC_OK);
    im = load(path);
    f = find_frame(&im);
    ck_assert_double_gt(plot_luminance(&im, f, 0.5, 0.9), plot_luminance(&im, f, 0.5, 0.1) + 100);
    ck_assert_double_eq_tol(plot_luminance(&im, f, 0.1, 0.5), plot_luminance(&im, f, 0.9, 0.5), 1);
    free(im.rgb);
}
END_TEST

static int is_missing_grey(const uint8_t *p) { return p[0] == 160 && p[1] == 160 && p[2] == 160; }

START_TEST(test_density_draws_missing_values_grey)
{
    double values[4 * 4];
    for (int i = 0; i < 16; i++) values[i] = i;
    values[0] = NAN; /* bottom-left cell */
    values[15] = INFINITY;
    gc_plot_range range = {0, 1, 0, 1};
    const char *path = temp_path("holes.png");
    ck_assert_int_eq(gc_plot_density(path, NULL, values, 4, 4, range, 400, 400), GC_OK);
    image im = load(path);
    frame f = find_frame(&im);
    ck_assert(is_missing_grey(pixel(&im, (int)frame_x(f, 0.1), (int)frame_y(f, 0.1))));
    ck_assert(is_missing_grey(pixel(&im, (int)frame_x(f, 0.9), (int)frame_y(f, 0.9))));
    ck_assert(!is_missing_grey(pixel(&im, (int)frame_x(f, 0.6), (int)frame_y(f, 0.4))));
    free(im.rgb);

    /* a constant or entirely missing field still plots */
    double flat[4] = {2, 2, 2, 2}, nothing[4] = {NAN, NAN, NAN, NAN};
    ck_assert_int_eq(gc_plot_density(path, "flat", flat, 2, 2, range, 300, 300), GC_OK);
    ck_assert_int_eq(gc_plot_density(path, "nothing", nothing, 2, 2, range, 300, 300), GC_OK);
}
END_TEST

/* ---- lines ----------------------------------------------------------------------------- */

static int is_line_colour(const uint8_t *p)
{
    gc_rgb line = gc_plot_palette_color(0);
    return abs(p[0] - line.r) < 30 && abs(p[1] - line.g) < 30 && abs(p[2] - line.b) < 30;
}

START_TEST(test_lines_follow_data_and_break_at_non_finite)
{
    const double x[] = {0, 1, 2, 3, 4};
    const double flat[] = {1, 1, NAN, 1, 1};
    const char *path = temp_path("lines.png");
    ck_assert_int_eq(gc_plot_lines(path, "loss", "step", "loss", x, flat, 5, 640, 480), GC_OK);
    image im = load(path);
    ck_assert_int_eq(im.width, 640);
    ck_assert_int_eq(im.height, 480);
    frame f = find_frame(&im);
    /* x spans [0, 4] plus 2% each side */
    double margin = 0.02 / 1.04;
    int row = (int)frame_y(f, 0.5);
    ck_assert(is_line_colour(pixel(&im, (int)frame_x(f, margin + 0.5 / 4 / 1.04), row)));
    ck_assert(is_line_colour(pixel(&im, (int)frame_x(f, margin + 3.5 / 4 / 1.04), row)));
    ck_assert(!is_line_colour(pixel(&im, (int)frame_x(f, margin + 2.0 / 4 / 1.04), row)));
    blob line = find_pixels(&im, is_line_colour, f.left, f.top, f.right, f.bottom);
    ck_assert_int_le(line.max_y - line.min_y, 3);
    /* x label under the tick labels, rotated y label at the far left */
    ck_assert_int_gt(find_pixels(&im, is_ink, f.left, f.bottom + 20, f.right, im.height).count, 10);
    blob ylabel = find_pixels(&im, is_ink, 0, f.top, 24, f.bottom);
    ck_assert_int_gt(ylabel.count, 10);
    ck_assert_int_gt(ylabel.max_y - ylabel.min_y, ylabel.max_x - ylabel.min_x);
    free(im.rgb);
}
END_TEST

START_TEST(test_lines_rising_curve_without_x)
{
    enum { n = 1000 };
    double y[n];
    for (int i = 0; i < n; i++) y[i] = i * 0.5;
    const char *path = temp_path("rising.png");
    ck_assert_int_eq(gc_plot_lines(path, "rising", NULL, NULL, NULL, y, n, 500, 400), GC_OK);
    image im = load(path);
    frame f = find_frame(&im);
    int mid_x = (int)frame_x(f, 0.5), mid_y = (int)frame_y(f, 0.5);
    ck_assert_int_gt(find_pixels(&im, is_line_colour, f.left, mid_y, mid_x, f.bottom).count, 50);
    ck_assert_int_gt(find_pixels(&im, is_line_colour, mid_x, f.top, f.right, mid_y).count, 50);
    ck_assert_int_eq(find_pixels(&im, is_line_colour, f.left, f.top, mid_x - 10, mid_y - 10).count,
                     0);
    free(im.rgb);

    ck_assert_int_eq(gc_plot_lines(path, "empty", NULL, NULL, NULL, NULL, 0, 500, 400), GC_OK);
    const double one = 3.0;
    ck_assert_int_eq(gc_plot_lines(path, "one", NULL, NULL, NULL, &one, 1, 500, 400), GC_OK);
    im = load(path);
    ck_assert_int_gt(find_pixels(&im, is_bluish, 0, 0, im.width, im.height).count, 0);
    free(im.rgb);
}
END_TEST

static int is_second_line_colour(const uint8_t *p)
{
    gc_rgb line = gc_plot_palette_color(1);
    return abs(p[0] - line.r) < 30 && abs(p[1] - line.g) < 30 && abs(p[2] - line.b) < 30;
}

/* Two series on shared axes: a falling line over the whole range and a short one on top of the
 * range's right half, each in its colour, with a legend. */
START_TEST(test_line_series_share_the_axes)
{
    const double steps[] = {0, 10, 20, 30, 40}, loss[] = {8, 6, 5, 4.5, 4};
    const double tests_at[] = {20, 40}, tested[] = {8, 8};
    gc_line_series series[2] = {{steps, loss, 5, gc_plot_palette_color(0), "training"},
                                {tests_at, tested, 2, gc_plot_palette_color(1), "test"}};
    const char *path = temp_path("series.png");
    ck_assert_int_eq(gc_plot_line_series(path, "curve", "step", "bits/dim", series, 2, 640, 480),
                     GC_OK);
    image im = load(path);
    frame f = find_frame(&im);
    int mid_x = (int)frame_x(f, 0.5), mid_y = (int)frame_y(f, 0.5);
    /* the falling line starts high on the left; the flat one lies at the top, right half only */
    ck_assert_int_gt(find_pixels(&im, is_line_colour, f.left, f.top, mid_x, mid_y).count, 20);
    blob second = find_pixels(&im, is_second_line_colour, f.left, f.top, f.right, mid_y);
    ck_assert_int_gt(second.count, 50);
    ck_assert_int_ge(second.min_x, mid_x - 5);
    ck_assert_int_eq(gc_plot_line_series(path, NULL, NULL, NULL, series, 9, 640, 480),
                     GC_ERR_ARGUMENT);
    free(im.rgb);
}
END_TEST

/* ---- image grid ------------------------------------------------------------------------ */

START_TEST(test_image_grid_layout_and_values)
{
    enum { n = 5, h = 4, w = 3 };
    float gray[n * h * w];
    for (int k = 0; k < n; k++)
        for (int p = 0; p < h * w; p++) gray[k * h * w + p] = k / 4.0f;
    gray[1 * h * w + 1] = -1.0f;
    gray[1 * h * w + 2] = 2.0f;
    gray[1 * h * w + 3] = NAN;
    const char *path = temp_path("grid.png");
    ck_assert_int_eq(gc_image_grid(path, gray, n, 1, h, w, 2), GC_OK);
    image im = load(path);
    ck_assert_int_eq(im.width, 2 * w + 2);
    ck_assert_int_eq(im.height, 3 * h + 2 * 2);
    for (int k = 0; k < n; k++) {
        const uint8_t *corner = pixel(&im, (k % 2) * (w + 2), (k / 2) * (h + 2));
        ck_assert_int_eq(corner[0], (int)lround(k / 4.0 * 255));
        ck_assert_int_eq(corner[0], corner[2]);
    }
    ck_assert_int_eq(pixel(&im, w + 2 + 1, 0)[0], 0);   /* -1 clamps to 0 */
    ck_assert_int_eq(pixel(&im, w + 2 + 2, 0)[0], 255); /* 2 clamps to 1 */
    ck_assert_int_eq(pixel(&im, w + 2 + 0, 1)[0], 0);   /* NaN becomes 0 */
    ck_assert_int_eq(pixel(&im, w, 0)[0], 128);         /* gap */
    free(im.rgb);

    float colour[2 * 3 * 2 * 2] = {0};
    for (int p = 0; p < 4; p++) {
        colour[0 * 4 + p] = 1.0f;     /* image 0 red */
        colour[3 * 4 + 8 + p] = 0.5f; /* image 1 blue */
    }
    ck_assert_int_eq(gc_image_grid(path, colour, 2, 3, 2, 2, 10), GC_OK);
    im = load(path);
    ck_assert_int_eq(im.width, 2 * 2 + 2);
    ck_assert_int_eq(im.height, 2);
    const uint8_t expected_left[] = {255, 0, 0}, expected_right[] = {0, 0, 128};
    ck_assert_mem_eq(pixel(&im, 1, 1), expected_left, 3);
    ck_assert_mem_eq(pixel(&im, 4, 0), expected_right, 3);
    free(im.rgb);
}
END_TEST

static Suite *plot_suite(void)
{
    Suite *suite = suite_create("plot");
    TCase *png = tcase_create("png");
    tcase_add_checked_fixture(png, make_temp_dir, remove_temp_dir);
    tcase_add_test(png, test_png_round_trip_is_exact);
    tcase_add_test(png, test_png_write_replaces_old_file_and_leaves_no_temporary);
    tcase_add_test(png, test_png_write_into_missing_directory_is_io_error);
    tcase_add_test(png, test_png_write_failed_rename_removes_temporary);
    tcase_add_test(png, test_png_read_missing_file_is_io_error);
    tcase_add_test(png, test_png_read_truncated_files_are_format_errors);
    tcase_add_test(png, test_png_read_garbage_is_format_error);
    tcase_add_test(png, test_png_read_corrupted_data_is_format_error);
    tcase_add_test(png, test_png_read_converts_every_layout_to_rgb8);
    suite_add_tcase(suite, png);

    TCase *plots = tcase_create("plots");
    tcase_add_checked_fixture(plots, make_temp_dir, remove_temp_dir);
    tcase_set_timeout(plots, 60);
    tcase_add_test(plots, test_scatter_point_lands_where_its_coordinates_say);
    tcase_add_test(plots, test_scatter_without_title_has_no_ink_above_frame);
    tcase_add_test(plots, test_scatter_skips_non_finite_and_out_of_range_points);
    tcase_add_test(plots, test_scatter_automatic_range_has_five_percent_margin);
    tcase_add_test(plots, test_scatter_legend_appears_only_with_labels);
    tcase_add_test(plots, test_scatter_handles_many_points_and_empty_series);
    tcase_add_test(plots, test_plots_reject_bad_arguments_without_writing);
    tcase_add_test(plots, test_plot_into_missing_directory_is_io_error);
    tcase_add_test(plots, test_density_orientation_and_colour_bar);
    tcase_add_test(plots, test_density_draws_missing_values_grey);
    tcase_add_test(plots, test_lines_follow_data_and_break_at_non_finite);
    tcase_add_test(plots, test_lines_rising_curve_without_x);
    tcase_add_test(plots, test_line_series_share_the_axes);
    tcase_add_test(plots, test_image_grid_layout_and_values);
    suite_add_tcase(suite, plots);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(plot_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failures = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failures ? 1 : 0;
}
