/* Writes the seed corpora of the fuzz targets: small valid inputs of every kind each parser
 * reads. `fuzz_seeds DIR` fills DIR/archive, DIR/model, DIR/csv, DIR/cifar, DIR/png, DIR/idx and
 * DIR/npy (the folders must exist); the committed fuzz/corpus/ was made with `fuzz_seeds
 * fuzz/corpus`, plus the regression inputs of two loader bugs (the *-wraps.txt files of
 * fuzz/corpus/model) and one archive NumPy wrote, fuzz/corpus/npy/savez-compressed.npz (flag
 * byte 1, then numpy.savez_compressed of a 2x3 float32 `a` and a uint8 `b` of 4), whose members
 * are deflated. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glowcl/archive.h"
#include "glowcl/flow.h"
#include "glowcl/npy.h"
#include "glowcl/runtime.h"

static const char *root;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_seeds: %s: %s\n", what, gc_last_error());
    exit(1);
}

static void seed_path(char *out, size_t size, const char *target, const char *name)
{
    snprintf(out, size, "%s/%s/%s", root, target, name);
}

static void write_bytes(const char *target, const char *name, const void *data, size_t size)
{
    char path[512];
    seed_path(path, sizeof path, target, name);
    FILE *file = fopen(path, "wb");
    if (!file || fwrite(data, 1, size, file) != size || fclose(file) != 0) {
        perror(path);
        exit(1);
    }
}

static void archives(void)
{
    char path[512];
    gc_archive_writer *w = NULL;
    seed_path(path, sizeof path, "archive", "sections.glowcl");
    const double f64[3] = {1.5, -0.0, 1e-300};
    const uint64_t u64[2] = {1, 0xfedcba9876543210u};
    if (gc_archive_writer_open(&w, path) != GC_OK ||
        gc_archive_put_text(w, "config", "file=model\nkind=glow\ndim=2\nx=1.5\n") != GC_OK ||
        gc_archive_put_bytes(w, "data", "\x01\x02\x03", 3) != GC_OK ||
        gc_archive_put_f64(w, "params", f64, 3) != GC_OK ||
        gc_archive_put_u64(w, "u", u64, 2) != GC_OK || gc_archive_put_text(w, "t", "") != GC_OK ||
        gc_archive_writer_commit(w) != GC_OK)
        fail(path);
    seed_path(path, sizeof path, "archive", "empty.glowcl");
    if (gc_archive_writer_open(&w, path) != GC_OK || gc_archive_writer_commit(w) != GC_OK)
        fail(path);
}

/* The model as a file, NAME.glowcl, and as fuzz_model's packed form, NAME.txt: config text,
 * NUL, layout text, NUL, bytes for the values. */
static void model(gc_runtime *rt, const char *name, const gc_model_config *config)
{
    char path[512], file_name[128];
    gc_model *m = NULL;
    if (gc_model_create(&m, rt, config, 1) != GC_OK) fail(name);
    snprintf(file_name, sizeof file_name, "%s.glowcl", name);
    seed_path(path, sizeof path, "model", file_name);
    if (gc_model_save(m, path) != GC_OK) fail(path);
    gc_model_free(m);

    gc_archive *a = NULL;
    const char *text = NULL, *layout = NULL;
    if (gc_archive_read(&a, path) != GC_OK || gc_archive_get_text(a, "config", &text) != GC_OK ||
        gc_archive_get_text(a, "layout", &layout) != GC_OK)
        fail(path);
    static const unsigned char values[] = {16, 0, 248, 3, 40, 1, 255, 12};
    size_t size = strlen(text) + 1 + strlen(layout) + 1 + sizeof values;
    char *packed = malloc(size);
    if (!packed) fail("memory");
    memcpy(packed, text, strlen(text) + 1);
    memcpy(packed + strlen(text) + 1, layout, strlen(layout) + 1);
    memcpy(packed + size - sizeof values, values, sizeof values);
    snprintf(file_name, sizeof file_name, "%s.txt", name);
    write_bytes("model", file_name, packed, size);
    free(packed);
    gc_archive_free(a);
}

static void models(void)
{
    gc_runtime *rt = NULL;
    if (gc_runtime_open_reference(&rt) != GC_OK) fail("reference runtime");
    gc_model_config c;
    gc_model_config_default(&c, 2);
    c.layers = 2, c.hidden = 4, c.depth = 1;
    model(rt, "glow", &c);
    gc_model_config_default(&c, 3);
    c.layers = 1, c.hidden = 3, c.depth = 2, c.prior = GC_PRIOR_MIX, c.mix_components = 3;
    model(rt, "glow-mix", &c);
    gc_model_config_default(&c, 2);
    c.kind = GC_MODEL_AFFINE;
    model(rt, "affine", &c);
    gc_model_config_image(&c, 1, 4, 4);
    c.levels = 2, c.layers = 1, c.hidden = 2;
    model(rt, "image", &c);
    gc_model_config_image(&c, 3, 2, 2);
    c.levels = 1, c.layers = 1, c.hidden = 2, c.additive = 1, c.split_standard = 1;
    model(rt, "image-additive", &c);
    gc_runtime_close(rt);

    /* One model file in the archive corpus too. */
    char from[512];
    seed_path(from, sizeof from, "model", "glow.glowcl");
    FILE *file = fopen(from, "rb");
    static unsigned char buffer[1 << 16];
    size_t size = file ? fread(buffer, 1, sizeof buffer, file) : 0;
    if (!file || size == 0 || size == sizeof buffer) fail(from);
    fclose(file);
    write_bytes("archive", "model.glowcl", buffer, size);
}

static void csvs(void)
{
    static const struct {
        const char *name, *text;
    } files[] = {
        {"plain.csv", "1,2\n3.5,-4e3\n"},
        {"header.csv", "\xEF\xBB\xBFx, y ,z\n# comment\n\n 1 ,\t2,3\r\n4,5,6\n"},
        {"one-column.csv", "0.5\n-1\n.25\n1e-310\n"},
        {"bad-row.csv", "a,b\n1,2\n3,x\n"},
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        write_bytes("csv", files[i].name, files[i].text, strlen(files[i].text));
}

static void cifars(void)
{
    enum { RECORD = 3073 };
    static unsigned char input[2 + 3 * RECORD];
    for (int r = 0; r < 3; r++) {
        unsigned char *record = input + 2 + r * RECORD;
        record[0] = (unsigned char)(3 * r + 1);
        for (int p = 1; p < RECORD; p++) record[p] = (unsigned char)(p * 7 + r);
    }
    input[0] = 1 << 1, input[1] = 0; /* train, data_batch_1.bin, all images */
    write_bytes("cifar", "train-1.bin", input, 2 + RECORD);
    input[0] = (1 << 1) | (1 << 3), input[1] = 2; /* batches 1 and 3, at most 2 images */
    write_bytes("cifar", "train-2.bin", input, 2 + 3 * RECORD);
    input[0] = 1, input[1] = 0; /* test */
    write_bytes("cifar", "test.bin", input, 2 + 2 * RECORD);
}

/* A 5 x 3 PNG of the given type and depth, through libpng. */
static void png(const char *name, int color_type, int bit_depth, int interlace)
{
    char path[512];
    seed_path(path, sizeof path, "png", name);
    FILE *file = fopen(path, "wb");
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    if (!file || !info || setjmp(png_jmpbuf(p))) fail(path);
    png_init_io(p, file);
    const int width = 5, height = 3;
    png_set_IHDR(p, info, width, height, bit_depth, color_type, interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color palette[4] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
        png_byte alpha[2] = {0, 128};
        png_set_PLTE(p, info, palette, 4);
        png_set_tRNS(p, info, alpha, 2, NULL);
    }
    png_write_info(p, info);
    int samples =
        (color_type & PNG_COLOR_MASK_COLOR && color_type != PNG_COLOR_TYPE_PALETTE) ? 3 : 1;
    if (color_type & PNG_COLOR_MASK_ALPHA) samples++;
    size_t row_bytes = ((size_t)width * samples * bit_depth + 7) / 8;
    png_byte rows[3][64];
    for (int y = 0; y < height; y++)
        for (size_t b = 0; b < row_bytes; b++)
            rows[y][b] = color_type != PNG_COLOR_TYPE_PALETTE ? (png_byte)(37 * b + 91 * y)
                         : bit_depth == 8                     ? (png_byte)((b + y) % 4)
                                                              : 0x1b; /* indices 0 1 2 3 */
    png_bytep pointers[3] = {rows[0], rows[1], rows[2]};
    png_write_image(p, pointers);
    png_write_end(p, NULL);
    png_destroy_write_struct(&p, &info);
    fclose(file);
}

static void pngs(void)
{
    png("rgb8.png", PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE);
    png("rgba16.png", PNG_COLOR_TYPE_RGB_ALPHA, 16, PNG_INTERLACE_NONE);
    png("gray1.png", PNG_COLOR_TYPE_GRAY, 1, PNG_INTERLACE_NONE);
    png("gray-alpha8.png", PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE);
    png("palette8.png", PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_NONE);
    png("palette2.png", PNG_COLOR_TYPE_PALETTE, 2, PNG_INTERLACE_NONE);
    png("rgb8-adam7.png", PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_ADAM7);
}

/* IDX inputs of fuzz_idx: flags, max_images, the images file's length (u16), the images file,
 * the labels file. */
static void idx_seed(const char *name, unsigned flags, unsigned max_images, size_t count)
{
    enum { ROWS = 3, COLUMNS = 4 };
    static unsigned char input[4 + 16 + 8 * ROWS * COLUMNS + 8 + 8];
    size_t images = 16 + count * ROWS * COLUMNS, labels = 8 + count;
    unsigned char *p = input;
    *p++ = (unsigned char)flags, *p++ = (unsigned char)max_images;
    *p++ = (unsigned char)images, *p++ = (unsigned char)(images >> 8);
    const unsigned char image_header[16] = {0, 0, 8, 3,    0, 0, 0, (unsigned char)count,
                                            0, 0, 0, ROWS, 0, 0, 0, COLUMNS};
    memcpy(p, image_header, 16);
    p += 16;
    for (size_t i = 0; i < count * ROWS * COLUMNS; i++) *p++ = (unsigned char)(i * 29);
    const unsigned char label_header[8] = {0, 0, 8, 1, 0, 0, 0, (unsigned char)count};
    memcpy(p, label_header, 8);
    p += 8;
    for (size_t i = 0; i < count; i++) *p++ = (unsigned char)i;
    write_bytes("idx", name, input, 4 + images + (flags & 4 ? labels : 0));
}

static void idxs(void)
{
    idx_seed("train-labels.bin", 4, 0, 5);        /* plain, with labels */
    idx_seed("test-gz.bin", 1 | 2 | 4 | 8, 2, 3); /* compressed, labels, at most 2 */
    idx_seed("train-dotted.bin", 16, 0, 2);       /* dotted names, no labels */
}

/* NumPy inputs of fuzz_npy: a flag byte (bit 0: a .npz), then the file gc_npy_write or the
 * .npz writer writes. */
static void npy_seed(const char *name, int npz, const gc_npy_array *a, const gc_npy_array *b)
{
    char path[512];
    seed_path(path, sizeof path, "npy", "seed.tmp");
    gc_npz_writer *w = NULL;
    gc_status status = npz ? gc_npz_writer_open(&w, path) : gc_npy_write(path, a);
    if (npz && status == GC_OK && (status = gc_npz_put(w, "a", a)) == GC_OK)
        status = gc_npz_put(w, "b", b);
    if (npz && status == GC_OK)
        status = gc_npz_writer_commit(w);
    else if (npz)
        gc_npz_writer_abort(w);
    unsigned char *file = NULL, *input = NULL;
    size_t size = 0;
    if (status != GC_OK || gc_read_file(path, &file, &size) != GC_OK || !(input = malloc(size + 1)))
        fail(name);
    input[0] = (unsigned char)npz;
    memcpy(input + 1, file, size);
    write_bytes("npy", name, input, size + 1);
    remove(path);
    free(file);
    free(input);
}

static void npys(void)
{
    float points[6] = {0.5f, -1, 2, 3.25f, -4, 1e-3f};
    double scalar = 2.5;
    unsigned char pixels[2 * 2 * 3 * 3];
    for (size_t i = 0; i < sizeof pixels; i++) pixels[i] = (unsigned char)(i * 7);
    gc_npy_array f32 = {GC_NPY_F32, 2, {3, 2}, points};
    gc_npy_array f64 = {GC_NPY_F64, 0, {0}, &scalar};
    gc_npy_array nhwc = {GC_NPY_U8, 4, {2, 2, 3, 3}, pixels};
    gc_npy_array grey = {GC_NPY_U8, 3, {2, 3, 6}, pixels};
    npy_seed("points.npy.bin", 0, &f32, NULL);
    npy_seed("scalar.npy.bin", 0, &f64, NULL);
    npy_seed("nhwc.npy.bin", 0, &nhwc, NULL);
    npy_seed("grey.npy.bin", 0, &grey, NULL);
    npy_seed("pair.npz.bin", 1, &f32, &nhwc);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seeds DIR (with subfolders archive model csv cifar png idx "
                        "npy)\n");
        return 2;
    }
    root = argv[1];
    archives();
    models();
    csvs();
    cifars();
    pngs();
    idxs();
    npys();
    return 0;
}
