/* The file container: round trips of every section type, CRC32 test vectors, and rejection of
 * every truncation and every single-byte corruption of a file; atomic replacement. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "glowcl/archive.h"
#include "harness.h"

static char dir[] = "/tmp/glowcl-archive-XXXXXX";

static void make_dir(void) { ck_assert_ptr_nonnull(mkdtemp(dir)); }

static void path_in_dir(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

/* A small file with every section type. */
static void write_sample(const char *path)
{
    gc_archive_writer *w = NULL;
    const double values[5] = {1.5, -0.0, 4.9e-324, 1e300, NAN};
    const uint64_t words[2] = {0, UINT64_MAX};
    ck_assert_int_eq(gc_archive_writer_open(&w, path), GC_OK);
    ck_assert_int_eq(gc_archive_put_text(w, "config", "kind=glow\nlayers=10\n"), GC_OK);
    ck_assert_int_eq(gc_archive_put_f64(w, "params", values, 5), GC_OK);
    ck_assert_int_eq(gc_archive_put_u64(w, "rng", words, 2), GC_OK);
    ck_assert_int_eq(gc_archive_put_bytes(w, "blob", "abc", 3), GC_OK);
    ck_assert_int_eq(gc_archive_put_bytes(w, "empty", "", 0), GC_OK);
    ck_assert_int_eq(gc_archive_put_text(w, "config", "again"), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_archive_put_text(w, "Bad Name", "x"), GC_ERR_ARGUMENT);
    ck_assert_int_eq(gc_archive_writer_commit(w), GC_OK);
}

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    rewind(f);
    unsigned char *data = malloc(*size);
    ck_assert_uint_eq(fread(data, 1, *size, f), *size);
    fclose(f);
    return data;
}

START_TEST(crc32_vectors)
{
    ck_assert_uint_eq(gc_crc32(0, "123456789", 9), 0xCBF43926u);
    ck_assert_uint_eq(gc_crc32(0, "", 0), 0u);
    /* incremental use gives the same as one call */
    ck_assert_uint_eq(gc_crc32(gc_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
}
END_TEST

START_TEST(round_trip)
{
    make_dir();
    char path[512];
    path_in_dir(path, sizeof path, "a.glowcl");
    write_sample(path);
    gc_archive *a = NULL;
    ck_assert_msg(gc_archive_read(&a, path) == GC_OK, "%s", gc_last_error());
    const char *text = NULL;
    ck_assert_int_eq(gc_archive_get_text(a, "config", &text), GC_OK);
    ck_assert_str_eq(text, "kind=glow\nlayers=10\n");
    double values[5];
    ck_assert_int_eq(gc_archive_get_f64(a, "params", values, 5), GC_OK);
    const double expected[5] = {1.5, -0.0, 4.9e-324, 1e300, NAN};
    ck_assert_int_eq(memcmp(values, expected, sizeof values), 0); /* bits, NaN and -0 included */
    ck_assert_int_eq(gc_archive_get_f64(a, "params", values, 4), GC_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "holds 5 values, expected 4"));
    uint64_t words[2];
    ck_assert_int_eq(gc_archive_get_u64(a, "rng", words, 2), GC_OK);
    ck_assert(words[0] == 0 && words[1] == UINT64_MAX);
    const void *bytes = NULL;
    size_t size = 0;
    ck_assert_int_eq(gc_archive_get_bytes(a, "blob", &bytes, &size), GC_OK);
    ck_assert(size == 3 && memcmp(bytes, "abc", 3) == 0);
    ck_assert_int_eq(gc_archive_get_bytes(a, "empty", &bytes, &size), GC_OK);
    ck_assert_uint_eq(size, 0);
    ck_assert_int_eq(gc_archive_get_text(a, "params", &text), GC_ERR_FORMAT); /* wrong type */
    ck_assert_int_eq(gc_archive_get_text(a, "missing", &text), GC_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "no section 'missing'"));
    ck_assert(gc_archive_has(a, "blob") && !gc_archive_has(a, "blobs"));
    long layers = 0;
    char kind[8];
    ck_assert_int_eq(gc_config_get_long(text = "kind=glow\nlayers=10\n", "layers", &layers), GC_OK);
    ck_assert_int_eq(layers, 10);
    ck_assert_int_eq(gc_config_get_string(text, "kind", kind, sizeof kind), GC_OK);
    ck_assert_str_eq(kind, "glow");
    ck_assert_int_eq(gc_config_get_long(text, "kind", &layers), GC_ERR_FORMAT);
    ck_assert_int_eq(gc_config_get_long(text, "depth", &layers), GC_ERR_FORMAT);
    gc_archive_free(a);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(every_truncation_and_every_flipped_byte_is_rejected)
{
    make_dir();
    char path[512];
    path_in_dir(path, sizeof path, "a.glowcl");
    write_sample(path);
    size_t size = 0;
    unsigned char *data = slurp(path, &size);
    gc_archive *a = NULL;
    for (size_t n = 0; n < size; n++) {
        ck_assert_msg(gc_archive_read_memory(&a, data, n, "t") == GC_ERR_FORMAT,
                      "a file cut to %zu of %zu bytes was accepted", n, size);
        ck_assert_ptr_null(a);
    }
    for (size_t i = 0; i < size; i++)
        for (int bit = 0; bit < 8; bit += 3) {
            data[i] ^= (unsigned char)(1u << bit);
            ck_assert_msg(gc_archive_read_memory(&a, data, size, "t") == GC_ERR_FORMAT,
                          "flipping bit %d of byte %zu went unnoticed", bit, i);
            data[i] ^= (unsigned char)(1u << bit);
        }
    ck_assert_int_eq(gc_archive_read_memory(&a, data, size, "t"), GC_OK);
    gc_archive_free(a);

    /* A newer format version says so. */
    data[8] = 2;
    ck_assert_int_eq(gc_archive_read_memory(&a, data, size, "t"), GC_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "newer glowcl"));
    ck_assert_int_eq(gc_archive_read_memory(&a, "PK\3\4 zip file", 14, "t"), GC_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), "not a glowcl file"));
    free(data);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(writes_are_atomic)
{
    make_dir();
    char path[512], other[600];
    path_in_dir(path, sizeof path, "a.glowcl");
    write_sample(path);
    size_t size = 0, again = 0;
    unsigned char *before = slurp(path, &size);

    /* Aborted, or killed before the commit: the old file stays byte for byte. */
    gc_archive_writer *w = NULL;
    ck_assert_int_eq(gc_archive_writer_open(&w, path), GC_OK);
    ck_assert_int_eq(gc_archive_put_text(w, "x", "new"), GC_OK);
    gc_archive_writer_abort(w);
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        gc_archive_writer *cw = NULL;
        gc_archive_writer_open(&cw, path);
        gc_archive_put_text(cw, "x", "half-written");
        _exit(0);
    }
    ck_assert_int_gt(child, 0);
    waitpid(child, NULL, 0);
    unsigned char *after = slurp(path, &again);
    ck_assert(again == size && memcmp(before, after, size) == 0);
    free(after);

    /* A commit replaces it and leaves no temporary file behind. */
    ck_assert_int_eq(gc_archive_writer_open(&w, path), GC_OK);
    ck_assert_int_eq(gc_archive_put_text(w, "x", "new"), GC_OK);
    ck_assert_int_eq(gc_archive_writer_commit(w), GC_OK);
    gc_archive *a = NULL;
    const char *text = NULL;
    ck_assert_int_eq(gc_archive_read(&a, path), GC_OK);
    ck_assert_int_eq(gc_archive_get_text(a, "x", &text), GC_OK);
    ck_assert_str_eq(text, "new");
    gc_archive_free(a);
    snprintf(other, sizeof other, "%s.tmp.%ld", path, (long)getpid());
    ck_assert_int_ne(access(other, F_OK), 0);

    /* Into a missing folder: an I/O error and nothing written. */
    path_in_dir(other, sizeof other, "no/such/dir/b.glowcl");
    ck_assert_int_eq(gc_archive_writer_open(&w, other), GC_OK);
    ck_assert_int_eq(gc_archive_writer_commit(w), GC_ERR_IO);
    path_in_dir(other, sizeof other, "missing.glowcl");
    ck_assert_int_eq(gc_archive_read(&a, other), GC_ERR_IO);
    free(before);
    unlink(path);
    rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("archive");
    TCase *tc = tcase_create("container");
    tcase_add_test(tc, crc32_vectors);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, every_truncation_and_every_flipped_byte_is_rejected);
    tcase_add_test(tc, writes_are_atomic);
    suite_add_tcase(s, tc);
    return gc_test_run(s, 0);
}
