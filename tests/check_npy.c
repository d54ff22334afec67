/* Unit tests of the NumPy files (include/glowcl/npy.h): .npy files made here byte by byte as
 * NumPy's format document describes them (versions 1.0, 2.0 and 3.0, big-endian data, Python 2
 * shapes) and every malformed case; the writer's layout and round trips through the reader;
 * .npz archives written and read back, a deflated member, and damaged archives; and NumPy
 * arrays as points (gc_npy_points) and as images (gc_npy_images) in both layouts. That NumPy
 * itself loads what glowcl writes is tests/numpy_test.sh's part. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp, opendir */
#endif

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "glowcl/archive.h"
#include "glowcl/data.h"
#include "glowcl/images.h"
#include "glowcl/npy.h"
#include "harness.h"

/* ---- helpers ---- */

static char scratch_dir[] = "/tmp/glowcl-check-npy-XXXXXX";

static const char *scratch(const char *name)
{
    static char path[4][4096];
    static int next;
    char *out = path[next++ % 4];
    snprintf(out, sizeof path[0], "%s/%s", scratch_dir, name);
    return out;
}

static void write_bytes(const char *path, const void *bytes, size_t size)
{
    FILE *file = fopen(path, "wb");
    ck_assert_msg(file != NULL, "cannot create %s: %s", path, strerror(errno));
    ck_assert_uint_eq(fwrite(bytes, 1, size, file), size);
    ck_assert_int_eq(fclose(file), 0);
}

/* Whether `needle` stands somewhere in the `size` bytes at `bytes`. */
static int contains(const unsigned char *bytes, size_t size, const void *needle, size_t length)
{
    for (size_t i = 0; i + length <= size; i++)
        if (memcmp(bytes + i, needle, length) == 0) return 1;
    return 0;
}

static unsigned char *read_bytes(const char *path, size_t *size)
{
    unsigned char *bytes = NULL;
    ck_assert_int_eq(gc_read_file(path, &bytes, size), GC_OK);
    return bytes;
}

/* A .npy file by hand: preamble of `version` (1, 2 or 3), the header text as given (no
 * padding: readers must not need it), then `data`. Returns its size. */
static size_t make_npy(unsigned char *out, int version, const char *header, const void *data,
                       size_t data_size)
{
    size_t length = strlen(header), at = version == 1 ? 10 : 12;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)version, out[7] = 0;
    out[8] = (unsigned char)length, out[9] = (unsigned char)(length >> 8);
    if (version > 1) out[10] = out[11] = 0;
    memcpy(out + at, header, length);
    memcpy(out + at + length, data, data_size);
    return at + length + data_size;
}

static void assert_zeroed(const gc_npy_array *a)
{
    ck_assert_ptr_null(a->data);
    ck_assert_uint_eq(a->ndim, 0);
}

/* Reads `bytes` from memory and as a file; both must fail with GC_ERR_FORMAT and a message
 * holding `fragment` and the file's name. */
static void assert_rejected(const unsigned char *bytes, size_t size, const char *fragment)
{
    gc_npy_array a;
    ck_assert_int_eq(gc_npy_read_memory(bytes, size, "mem.npy", &a), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS(fragment);
    GC_ASSERT_ERROR_CONTAINS("mem.npy");
    assert_zeroed(&a);
    const char *path = scratch("bad.npy");
    write_bytes(path, bytes, size);
    ck_assert_int_eq(gc_npy_read(path, &a), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS(fragment);
    GC_ASSERT_ERROR_CONTAINS(path);
    assert_zeroed(&a);
    ck_assert_int_eq(gc_npy_read_header(path, &a), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS(fragment);
}

/* ---- .npy: writing and reading back ---- */

static void assert_round_trip(const gc_npy_array *a, const char *name)
{
    const char *path = scratch(name);
    ck_assert_int_eq(gc_npy_write(path, a), GC_OK);
    gc_npy_array b, header;
    ck_assert_int_eq(gc_npy_read(path, &b), GC_OK);
    ck_assert_int_eq(b.dtype, a->dtype);
    ck_assert_uint_eq(b.ndim, a->ndim);
    for (size_t i = 0; i < a->ndim; i++) ck_assert_uint_eq(b.shape[i], a->shape[i]);
    size_t bytes = gc_npy_count(a) * gc_npy_dtype_size(a->dtype);
    ck_assert(bytes == 0 || memcmp(a->data, b.data, bytes) == 0);
    ck_assert_int_eq(gc_npy_read_header(path, &header), GC_OK);
    ck_assert_ptr_null(header.data);
    ck_assert_uint_eq(gc_npy_count(&header), gc_npy_count(a));
    gc_npy_free(&b);
    gc_npy_free(&header);
}

START_TEST(test_npy_round_trips)
{
    uint8_t bytes[24];
    for (int i = 0; i < 24; i++) bytes[i] = (uint8_t)(i * 11);
    float floats[5] = {1.5f, -0.0f, 3e-39f, INFINITY, -2.25f};
    double doubles[6] = {3.141592653589793, -1e300, 5e-324, NAN, 0.0, 42.0};
    gc_npy_array u8 = {GC_NPY_U8, 3, {2, 3, 4}, bytes};
    gc_npy_array f32 = {GC_NPY_F32, 1, {5}, floats};
    gc_npy_array f64 = {GC_NPY_F64, 2, {3, 2}, doubles};
    gc_npy_array scalar = {GC_NPY_F64, 0, {0}, doubles};
    gc_npy_array empty = {GC_NPY_F32, 2, {0, 3}, NULL};
    assert_round_trip(&u8, "u8.npy");
    assert_round_trip(&f32, "f32.npy");
    assert_round_trip(&f64, "f64.npy");
    assert_round_trip(&scalar, "scalar.npy");
    assert_round_trip(&empty, "empty.npy");
}
END_TEST

/* The bytes NumPy's own writer would produce: version 1.0, the header dict as NumPy prints it,
 * space-padded to a 64-byte boundary and ended by a newline, then little-endian data. */
START_TEST(test_npy_writer_layout)
{
    double values[6] = {1, 2, 3, 4, 5, -0.5};
    gc_npy_array a = {GC_NPY_F64, 2, {3, 2}, values};
    const char *path = scratch("layout.npy");
    ck_assert_int_eq(gc_npy_write(path, &a), GC_OK);
    size_t size = 0;
    unsigned char *file = read_bytes(path, &size);
    const char header[] = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }";
    ck_assert_uint_eq(size, 128 + 48);
    ck_assert_int_eq(memcmp(file, "\x93NUMPY\x01\x00", 8), 0);
    ck_assert_uint_eq(file[8] | file[9] << 8, 118);
    ck_assert_int_eq(memcmp(file + 10, header, sizeof header - 1), 0);
    for (size_t i = 10 + sizeof header - 1; i < 127; i++) ck_assert_int_eq(file[i], ' ');
    ck_assert_int_eq(file[127], '\n');
    /* -0.5 is 0xBFE0000000000000: little-endian, its sign byte comes last. */
    ck_assert_int_eq(file[size - 1], 0xbf);
    ck_assert_int_eq(file[size - 2], 0xe0);
    free(file);

    gc_npy_array one = {GC_NPY_U8, 1, {1}, (uint8_t[]){7}};
    ck_assert_int_eq(gc_npy_write(path, &one), GC_OK);
    file = read_bytes(path, &size);
    ck_assert(contains(file, size, "'shape': (1,), }", 16));
    ck_assert_uint_eq(size, 129);
    free(file);
}
END_TEST

START_TEST(test_npy_reads_handmade_files)
{
    unsigned char file[512];
    const float f[4] = {1.0f, -2.0f, 0.5f, 8.0f};
    size_t size = make_npy(file, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n",
                           f, sizeof f);
    gc_npy_array a;
    ck_assert_int_eq(gc_npy_read_memory(file, size, "v1", &a), GC_OK);
    ck_assert_int_eq(a.dtype, GC_NPY_F32);
    ck_assert_uint_eq(a.ndim, 2);
    ck_assert_float_eq(((float *)a.data)[3], 8.0f);
    gc_npy_free(&a);

    /* Versions 2.0 and 3.0 (a u32 length); double quotes, keys in another order, no trailing
     * comma, and Python 2's long integers. */
    const uint8_t u[3] = {0, 128, 255};
    for (int version = 2; version <= 3; version++) {
        size = make_npy(file, version,
                        "{\"shape\": (3L,), \"fortran_order\": False, "
                        "\"descr\": \"|u1\"}",
                        u, sizeof u);
        ck_assert_int_eq(gc_npy_read_memory(file, size, "v2", &a), GC_OK);
        ck_assert_int_eq(a.dtype, GC_NPY_U8);
        ck_assert_uint_eq(a.shape[0], 3);
        ck_assert_int_eq(((uint8_t *)a.data)[2], 255);
        gc_npy_free(&a);
    }

    /* Big-endian doubles are converted: 1.5 is 0x3FF8000000000000. */
    const unsigned char be[16] = {0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0};
    size = make_npy(file, 1, "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", be, 16);
    ck_assert_int_eq(gc_npy_read_memory(file, size, "be", &a), GC_OK);
    ck_assert_double_eq(((double *)a.data)[0], 1.5);
    ck_assert_double_eq(((double *)a.data)[1], -2.0);
    gc_npy_free(&a);
}
END_TEST

START_TEST(test_npy_rejects_bad_files)
{
    static const struct {
        const char *header, *fragment;
        size_t data_size;
    } cases[] = {
        {"{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", "dtype '<i8' is not", 16},
        {"{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", "dtype '<f2' is not", 4},
        {"{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", "dtype '|O' is not", 16},
        {"{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (2,), }", "structured", 8},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", "Fortran order", 16},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", "needs 16 bytes", 12},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", "4 bytes after", 20},
        {"{'descr': '<f4', 'shape': (2,), }", "lacks one of", 8},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", "not one of", 8},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", "twice", 8},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", "whole number", 8},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2 2), }", "comma", 8},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", "not a tuple", 8},
        {"{'descr': '<f4', 'fortran_order': maybe, 'shape': (2,), }", "True nor False", 8},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", "after the closing", 8},
        {"['descr', '<f4']", "start with '{'", 8},
        {"{'descr': '<f4", "closing quote", 0},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", "8 axes", 4},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
         "too large", 0},
    };
    unsigned char file[512];
    const unsigned char data[32] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t size = make_npy(file, 1, cases[i].header, data, cases[i].data_size);
        assert_rejected(file, size, cases[i].fragment);
    }
}
END_TEST

START_TEST(test_npy_rejects_bad_preambles)
{
    unsigned char file[512];
    const float f[2] = {1, 2};
    size_t size =
        make_npy(file, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f, sizeof f);
    assert_rejected(file, 30, "truncated .npy header: 20 of its");
    assert_rejected(file, 8, "truncated .npy header: 8 bytes");
    assert_rejected(file, 0, "no \\x93NUMPY magic");
    file[6] = 4;
    assert_rejected(file, size, "format version 4.0");
    file[6] = 1, file[7] = 1;
    assert_rejected(file, size, "format version 1.1");
    file[6] = 2, file[7] = 0, file[10] = 0xff, file[11] = 0x7f;
    assert_rejected(file, size, "more than");
    static const char zip[] = "PK\x03\x04 and more", csv[] = "x,y\n1,2\n";
    assert_rejected((const unsigned char *)zip, sizeof zip - 1, "zip (.npz) archive");
    assert_rejected((const unsigned char *)csv, sizeof csv - 1, "not a NumPy .npy file");
}
END_TEST

START_TEST(test_npy_write_failures_keep_the_old_file)
{
    const char *path = scratch("kept.npy");
    double values[2] = {1, 2};
    gc_npy_array good = {GC_NPY_F64, 1, {2}, values};
    ck_assert_int_eq(gc_npy_write(path, &good), GC_OK);
    size_t before_size = 0, after_size = 0;
    unsigned char *before = read_bytes(path, &before_size);

    gc_npy_array bad_dtype = {(gc_npy_dtype)9, 1, {2}, values};
    gc_npy_array no_data = {GC_NPY_F64, 1, {2}, NULL};
    gc_npy_array too_large = {GC_NPY_F64, 2, {SIZE_MAX / 4, 4}, values};
    ck_assert_int_eq(gc_npy_write(path, &bad_dtype), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_npy_write(path, &no_data), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_npy_write(path, &too_large), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_npy_write(scratch("no-such-dir/x.npy"), &good), GC_ERR_IO);

    unsigned char *after = read_bytes(path, &after_size);
    ck_assert_uint_eq(after_size, before_size);
    ck_assert_int_eq(memcmp(before, after, before_size), 0);
    free(before);
    free(after);
    DIR *listing = opendir(scratch_dir);
    struct dirent *entry;
    while ((entry = readdir(listing)) != NULL)
        ck_assert_msg(strstr(entry->d_name, ".tmp.") == NULL, "left %s", entry->d_name);
    closedir(listing);
}
END_TEST

/* ---- .npz ---- */

/* Writes an archive of three arrays: "a" (f32 2x2), "b" (u8 3), "c" (f64 scalar). */
static void write_three(const char *path)
{
    gc_npz_writer *w = NULL;
    ck_assert_int_eq(gc_npz_writer_open(&w, path), GC_OK);
    float f[4] = {1, 2, 3, 4};
    uint8_t u[3] = {9, 8, 7};
    double d = -3.5;
    ck_assert_int_eq(gc_npz_put(w, "a", &(gc_npy_array){GC_NPY_F32, 2, {2, 2}, f}), GC_OK);
    ck_assert_int_eq(gc_npz_put(w, "b", &(gc_npy_array){GC_NPY_U8, 1, {3}, u}), GC_OK);
    ck_assert_int_eq(gc_npz_put(w, "c", &(gc_npy_array){GC_NPY_F64, 0, {0}, &d}), GC_OK);
    ck_assert_int_eq(gc_npz_writer_commit(w), GC_OK);
}

START_TEST(test_npz_round_trip)
{
    const char *path = scratch("three.npz");
    write_three(path);
    gc_npz *z = NULL;
    ck_assert_int_eq(gc_npz_read(&z, path), GC_OK);
    ck_assert_uint_eq(gc_npz_count(z), 3);
    ck_assert_str_eq(gc_npz_name(z, 0), "a");
    ck_assert_str_eq(gc_npz_name(z, 2), "c");
    const gc_npy_array *a = NULL;
    ck_assert_int_eq(gc_npz_find(z, "b", &a), GC_OK);
    ck_assert_int_eq(a->dtype, GC_NPY_U8);
    ck_assert_int_eq(((uint8_t *)a->data)[2], 7);
    ck_assert_int_eq(gc_npz_find(z, "c", &a), GC_OK);
    ck_assert_uint_eq(a->ndim, 0);
    ck_assert_double_eq(((double *)a->data)[0], -3.5);
    ck_assert_float_eq(((float *)gc_npz_array(z, 0)->data)[3], 4.0f);
    ck_assert_int_eq(gc_npz_find(z, "z", &a), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS("no array 'z' (it holds a, b, c)");
    ck_assert_ptr_null(gc_npz_name(z, 3));
    gc_npz_free(z);

    /* Each member is exactly the .npy file gc_npy_write writes, stored at its local header. */
    size_t size = 0, npy_size = 0;
    unsigned char *zip = read_bytes(path, &size);
    gc_npy_array b = {GC_NPY_U8, 1, {3}, (uint8_t[]){9, 8, 7}};
    ck_assert_int_eq(gc_npy_write(scratch("b.npy"), &b), GC_OK);
    unsigned char *npy = read_bytes(scratch("b.npy"), &npy_size);
    ck_assert(contains(zip, size, npy, npy_size));
    free(npy);
    free(zip);

    gc_npz_writer *w = NULL;
    ck_assert_int_eq(gc_npz_writer_open(&w, scratch("empty.npz")), GC_OK);
    ck_assert_int_eq(gc_npz_writer_commit(w), GC_OK);
    ck_assert_int_eq(gc_npz_read(&z, scratch("empty.npz")), GC_OK);
    ck_assert_uint_eq(gc_npz_count(z), 0);
    gc_npz_free(z);
}
END_TEST

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* The archive of write_three with member `a`'s data deflated, as numpy.savez_compressed writes
 * its members: local header (method 8, sizes), deflated bytes, then the directory entries and
 * end record of the stored archive moved to their new offsets. */
static size_t deflate_first_member(const unsigned char *zip, size_t size, unsigned char *out)
{
    size_t name = 5, packed_at = 30 + name, stored = zip[18] | (size_t)zip[19] << 8;
    z_stream z = {0};
    ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(zip + packed_at), z.avail_in = (uInt)stored;
    z.next_out = out + packed_at, z.avail_out = 4096;
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t packed = z.total_out, shift = stored - packed;
    deflateEnd(&z);
    memcpy(out, zip, packed_at);
    out[8] = 8;
    put32(out + 18, (uint32_t)packed);
    size_t rest = size - (packed_at + stored);
    memcpy(out + packed_at + packed, zip + packed_at + stored, rest);
    /* The directory: the first entry's method and packed size, every later local offset, and
     * the end record's directory offset, each moved back by `shift`. */
    unsigned char *directory = out + size - shift - 22 - 3 * (46 + name);
    directory[10] = 8;
    put32(directory + 20, (uint32_t)packed);
    for (int e = 1; e < 3; e++) {
        unsigned char *entry = directory + e * (46 + name);
        put32(entry + 42, (uint32_t)(entry[42] | entry[43] << 8) - (uint32_t)shift);
    }
    unsigned char *end = out + size - shift - 22;
    put32(end + 16, (uint32_t)(end[16] | end[17] << 8) - (uint32_t)shift);
    return size - shift;
}

START_TEST(test_npz_reads_deflated_members)
{
    const char *path = scratch("deflate.npz");
    write_three(path);
    size_t size = 0;
    unsigned char *zip = read_bytes(path, &size), out[4096];
    ck_assert_uint_lt(size, sizeof out);
    size_t packed = deflate_first_member(zip, size, out);
    ck_assert_uint_lt(packed, size);
    gc_npz *z = NULL;
    ck_assert_int_eq(gc_npz_read_memory(&z, out, packed, "deflated.npz"), GC_OK);
    ck_assert_uint_eq(gc_npz_count(z), 3);
    ck_assert_float_eq(((float *)gc_npz_array(z, 0)->data)[2], 3.0f);
    ck_assert_int_eq(((uint8_t *)gc_npz_array(z, 1)->data)[0], 9);
    gc_npz_free(z);
    out[40] ^= 0x55; /* inside the deflated stream */
    ck_assert_int_eq(gc_npz_read_memory(&z, out, packed, "deflated.npz"), GC_ERR_FORMAT);
    ck_assert_ptr_null(z);
    free(zip);
}
END_TEST

/* `zip` with the bytes at `at` replaced, read from memory: must fail naming `fragment`. */
static void assert_npz_rejected(const unsigned char *zip, size_t size, size_t at, const char *with,
                                size_t length, const char *fragment)
{
    unsigned char *copy = malloc(size);
    memcpy(copy, zip, size);
    if (with) memcpy(copy + at, with, length);
    gc_npz *z = NULL;
    ck_assert_int_eq(gc_npz_read_memory(&z, copy, with ? size : at, "bad.npz"), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS(fragment);
    GC_ASSERT_ERROR_CONTAINS("bad.npz");
    ck_assert_ptr_null(z);
    free(copy);
}

START_TEST(test_npz_rejects_bad_archives)
{
    const char *path = scratch("bad-source.npz");
    write_three(path);
    size_t size = 0;
    unsigned char *zip = read_bytes(path, &size);
    size_t a_size = zip[18] | (size_t)zip[19] << 8, b_at = 30 + 5 + a_size;
    size_t directory = size - 22 - 3 * 51;
    assert_npz_rejected(zip, size, 30 + 5 + a_size - 1, "\x01", 1, "CRC-32 mismatch");
    assert_npz_rejected(zip, size, size - 10, NULL, 0, "without its end record");
    assert_npz_rejected(zip, size, directory + 46, "a.txt", 5, "'a.txt' is not a .npy array");
    assert_npz_rejected(zip, size, directory + 51 + 46, "a.npy", 5, "a.npy is there twice");
    assert_npz_rejected(zip, size, directory + 10, "\x0c", 1, "zip method 12");
    assert_npz_rejected(zip, size, directory + 8, "\x01", 1, "encrypted");
    assert_npz_rejected(zip, size, directory + 51 + 42, "\xff\xff\x00", 3, "no local header");
    /* A member whose CRC is right but whose array is not one glowcl reads. */
    memcpy(zip + b_at + 30 + 5 + 22, "i8", 2);
    uint32_t crc = gc_crc32(0, zip + b_at + 35, zip[b_at + 18] | (size_t)zip[b_at + 19] << 8);
    put32(zip + directory + 51 + 16, crc);
    assert_npz_rejected(zip, size, 0, "PK", 2, "bad.npz:b.npy: dtype '|i8' is not supported");
    assert_npz_rejected(zip, size, 0, "\x93NUMPY", 6, "a .npy file, not a .npz");
    assert_npz_rejected(zip, size, 0, "GIF8", 4, "not a .npz (zip) archive");
    free(zip);
    gc_npz *z = NULL;
    ck_assert_int_eq(gc_npz_read(&z, scratch("missing.npz")), GC_ERR_IO);
}
END_TEST

START_TEST(test_npz_writer_refuses_bad_members)
{
    const char *path = scratch("refused.npz");
    gc_npz_writer *w = NULL;
    ck_assert_int_eq(gc_npz_writer_open(&w, path), GC_OK);
    float f[1] = {1};
    gc_npy_array a = {GC_NPY_F32, 1, {1}, f};
    ck_assert_int_eq(gc_npz_put(w, "x", &a), GC_OK);
    ck_assert_int_eq(gc_npz_put(w, "x", &a), GC_ERR_ARGUMENT);
    GC_ASSERT_ERROR_CONTAINS("'x' is there already");
    ck_assert_int_eq(gc_npz_put(w, "", &a), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_npz_put(w, "a/b", &a), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_npz_put(w, "a b", &a), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_npz_put(w, "y", &(gc_npy_array){GC_NPY_F32, 1, {1}, NULL}),
                     GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_npz_put(w, "x.1", &a), GC_OK);
    gc_npz_writer_abort(w);
    FILE *file = fopen(path, "rb");
    ck_assert_ptr_null(file);
    ck_assert_int_eq(gc_npz_writer_open(&w, path), GC_OK);
    ck_assert_int_eq(gc_npz_put(w, "x", &a), GC_OK);
    ck_assert_int_eq(gc_npz_put(w, "x.1", &a), GC_OK);
    ck_assert_int_eq(gc_npz_writer_commit(w), GC_OK);
    gc_npz *z = NULL;
    ck_assert_int_eq(gc_npz_read(&z, path), GC_OK);
    ck_assert_str_eq(gc_npz_name(z, 1), "x.1");
    gc_npz_free(z);
}
END_TEST

/* ---- arrays as points and images ---- */

START_TEST(test_npy_points)
{
    float f[6] = {1, 2, 3, 4, 5, 6};
    double *points = NULL;
    size_t n = 0, dim = 0;
    gc_npy_array a = {GC_NPY_F32, 2, {3, 2}, f};
    ck_assert_int_eq(gc_npy_points(&a, "p.npy", &points, &n, &dim), GC_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(dim, 2);
    ck_assert_double_eq(points[5], 6.0);
    free(points);
    double d[3] = {0.5, -1, 2};
    gc_npy_array column = {GC_NPY_F64, 1, {3}, d};
    ck_assert_int_eq(gc_npy_points(&column, "c.npy", &points, &n, &dim), GC_OK);
    ck_assert_uint_eq(dim, 1);
    free(points);

    d[1] = NAN;
    ck_assert_int_eq(gc_npy_points(&column, "c.npy", &points, &n, &dim), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS("c.npy: row 2 column 1 is not a finite number");
    ck_assert_ptr_null(points);
    uint8_t u[4] = {0};
    gc_npy_array image = {GC_NPY_U8, 3, {1, 2, 2}, u};
    ck_assert_int_eq(gc_npy_points(&image, "u.npy", &points, &n, &dim), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS("u.npy holds uint8 values of shape (1, 2, 2)");
    gc_npy_array cube = {GC_NPY_F32, 3, {1, 2, 3}, f};
    ck_assert_int_eq(gc_npy_points(&cube, "q.npy", &points, &n, &dim), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS("shape (1, 2, 3) is not points");
    gc_npy_array none = {GC_NPY_F32, 2, {0, 2}, f};
    ck_assert_int_eq(gc_npy_points(&none, "e.npy", &points, &n, &dim), GC_ERR_FORMAT);
}
END_TEST

/* Two 2x3 images of `channels` channels: value 100 image + 10 channel + pixel, stored in
 * either layout. */
static void make_images(uint8_t *out, size_t channels, int last)
{
    for (size_t i = 0; i < 2; i++)
        for (size_t c = 0; c < channels; c++)
            for (size_t p = 0; p < 6; p++) {
                size_t at = last ? (i * 6 + p) * channels + c : (i * channels + c) * 6 + p;
                out[at] = (uint8_t)(100 * i + 10 * c + p);
            }
}

static void assert_images(const gc_image_set *set, size_t channels)
{
    ck_assert_uint_eq(set->count, 2);
    ck_assert_uint_eq(set->channels, channels);
    ck_assert_uint_eq(set->height, 2);
    ck_assert_uint_eq(set->width, 3);
    ck_assert_ptr_null(set->labels);
    for (size_t i = 0; i < 2; i++)
        for (size_t c = 0; c < channels; c++)
            for (size_t p = 0; p < 6; p++)
                ck_assert_int_eq(set->pixels[(i * channels + c) * 6 + p], 100 * i + 10 * c + p);
}

/* The array must load in `layout` as the two images of make_images. */
static void assert_loads(const gc_npy_array *array, gc_image_layout layout, size_t channels)
{
    gc_image_set set;
    ck_assert_int_eq(gc_npy_images(array, "x", layout, 0, &set), GC_OK);
    assert_images(&set, channels);
    gc_image_set_free(&set);
}

START_TEST(test_npy_images_layouts)
{
    uint8_t pixels[2 * 3 * 6];
    gc_image_set set;
    make_images(pixels, 3, 1);
    gc_npy_array nhwc = {GC_NPY_U8, 4, {2, 2, 3, 3}, pixels};
    /* Axis 1 (2) cannot be channels, axis 3 (3) can: NHWC. */
    assert_loads(&nhwc, GC_LAYOUT_AUTO, 3);
    assert_loads(&nhwc, GC_LAYOUT_NHWC, 3);
    make_images(pixels, 3, 0);
    gc_npy_array nchw = {GC_NPY_U8, 4, {2, 3, 2, 3}, pixels};
    assert_loads(&nchw, GC_LAYOUT_NCHW, 3);
    /* Axis 1 is 3 and axis 3 is 3: either could be the channels. */
    ck_assert_int_eq(gc_npy_images(&nchw, "x.npy", GC_LAYOUT_AUTO, 0, &set), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS("x.npy: shape (2, 3, 2, 3) has a channel axis of 1, 3 or 4 on both");
    GC_ASSERT_ERROR_CONTAINS("--layout");
    ck_assert_ptr_null(set.pixels);

    make_images(pixels, 1, 0);
    gc_npy_array grey = {GC_NPY_U8, 3, {2, 2, 3}, pixels};
    assert_loads(&grey, GC_LAYOUT_AUTO, 1);
    ck_assert_int_eq(gc_npy_images(&grey, "x", GC_LAYOUT_AUTO, 1, &set), GC_OK);
    ck_assert_uint_eq(set.count, 1);
    gc_image_set_free(&set);
}
END_TEST

START_TEST(test_npy_images_rejects)
{
    uint8_t pixels[2 * 5 * 6 * 7] = {0};
    gc_image_set set;
    gc_npy_array neither = {GC_NPY_U8, 4, {2, 5, 6, 7}, pixels};
    ck_assert_int_eq(gc_npy_images(&neither, "n", GC_LAYOUT_AUTO, 0, &set), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS("has no channel axis of 1, 3 or 4 on either side");
    ck_assert_int_eq(gc_npy_images(&neither, "n", GC_LAYOUT_NHWC, 0, &set), GC_OK);
    ck_assert_uint_eq(set.channels, 7);
    gc_image_set_free(&set);
    float f[4] = {0};
    gc_npy_array floats = {GC_NPY_F32, 3, {1, 2, 2}, f};
    ck_assert_int_eq(gc_npy_images(&floats, "f", GC_LAYOUT_AUTO, 0, &set), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS("holds float32 values");
    gc_npy_array flat = {GC_NPY_U8, 2, {2, 5}, pixels};
    ck_assert_int_eq(gc_npy_images(&flat, "2d", GC_LAYOUT_AUTO, 0, &set), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS("shape (2, 5) is not images");
    gc_npy_array none = {GC_NPY_U8, 3, {0, 28, 28}, pixels};
    ck_assert_int_eq(gc_npy_images(&none, "0", GC_LAYOUT_AUTO, 0, &set), GC_ERR_FORMAT);
    GC_ASSERT_ERROR_CONTAINS("holds no images");
}
END_TEST

static Suite *npy_suite(void)
{
    Suite *suite = suite_create("npy");
    TCase *npy = tcase_create("npy");
    tcase_add_test(npy, test_npy_round_trips);
    tcase_add_test(npy, test_npy_writer_layout);
    tcase_add_test(npy, test_npy_reads_handmade_files);
    tcase_add_test(npy, test_npy_rejects_bad_files);
    tcase_add_test(npy, test_npy_rejects_bad_preambles);
    tcase_add_test(npy, test_npy_write_failures_keep_the_old_file);
    suite_add_tcase(suite, npy);
    TCase *npz = tcase_create("npz");
    tcase_add_test(npz, test_npz_round_trip);
    tcase_add_test(npz, test_npz_reads_deflated_members);
    tcase_add_test(npz, test_npz_rejects_bad_archives);
    tcase_add_test(npz, test_npz_writer_refuses_bad_members);
    suite_add_tcase(suite, npz);
    TCase *data = tcase_create("arrays_as_data");
    tcase_add_test(data, test_npy_points);
    tcase_add_test(data, test_npy_images_layouts);
    tcase_add_test(data, test_npy_images_rejects);
    suite_add_tcase(suite, data);
    return suite;
}

int main(void)
{
    if (mkdtemp(scratch_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    int result = gc_test_run(npy_suite(), 0);
    gc_test_remove_tree(scratch_dir);
    return result;
}
