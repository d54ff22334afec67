/* Unit tests of the file container (src/base/archive.c): round trips of every section type, the
 * byte layout against a hand-computed file, rejection of every truncation and every corrupted
 * byte, crafted malformed tables, atomic replacement under abort, failure and crash, and the
 * key=value config helpers. Needs no OpenCL device. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp, fork, kill, nanosleep */
#endif

#include <check.h>
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "glowcl/archive.h"
#include "harness.h"

/* ---- helpers ---------------------------------------------------------------------------- */

/* Each test gets its own folder, so tests also pass with CK_FORK=no (one process). */
typedef struct scratch {
    char dir[64];
} scratch;

static void scratch_open(scratch *s)
{
    snprintf(s->dir, sizeof s->dir, "/tmp/glowcl-archive-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s->dir));
}

static void scratch_path(const scratch *s, const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", s->dir, name);
}

static void scratch_close(scratch *s) { gc_test_remove_tree(s->dir); }

/* Entries of `dir` whose name contains `fragment`. */
static int count_entries(const char *dir, const char *fragment)
{
    DIR *listing = opendir(dir);
    ck_assert_ptr_nonnull(listing);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(listing)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        if (strstr(entry->d_name, fragment)) count++;
    }
    closedir(listing);
    return count;
}

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *file = fopen(path, "rb");
    ck_assert_msg(file != NULL, "cannot open %s", path);
    fseek(file, 0, SEEK_END);
    long length = ftell(file);
    ck_assert_int_ge(length, 0);
    rewind(file);
    *size = (size_t)length;
    unsigned char *data = malloc(*size ? *size : 1);
    ck_assert_ptr_nonnull(data);
    ck_assert_uint_eq(fread(data, 1, *size, file), *size);
    fclose(file);
    return data;
}

static void spit(const char *path, const void *data, size_t size)
{
    FILE *file = fopen(path, "wb");
    ck_assert_ptr_nonnull(file);
    ck_assert_uint_eq(fwrite(data, 1, size, file), size);
    ck_assert_int_eq(fclose(file), 0);
}

static void assert_error(gc_status got, gc_status expected, const char *fragment)
{
    ck_assert_msg(got == expected, "got %s, expected %s (%s)", gc_status_name(got),
                  gc_status_name(expected), gc_last_error());
    ck_assert_msg(strstr(gc_last_error(), fragment) != NULL, "message '%s' lacks '%s'",
                  gc_last_error(), fragment);
}

/* The test's own little-endian accessors, so the layout is checked independently. */
static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

static void set_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void set_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

enum { HEADER = 32, ENTRY = 56 };

static unsigned char *entry_of(unsigned char *file, size_t index)
{
    return file + HEADER + index * ENTRY;
}

/* After a crafted edit of the table, so the edit and not the header CRC is what is caught. */
static void fix_header_crc(unsigned char *file)
{
    size_t table_end = HEADER + (size_t)le32(file + 12) * ENTRY;
    set_le32(file + 24, 0);
    set_le32(file + 24, gc_crc32(0, file, table_end));
}

static void fix_section_crc(unsigned char *file, size_t index)
{
    unsigned char *entry = entry_of(file, index);
    set_le32(entry + 36, gc_crc32(0, file + le64(entry + 40), (size_t)le64(entry + 48)));
    fix_header_crc(file);
}

static double from_bits(uint64_t bits)
{
    double value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static uint64_t to_bits(double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

/* A small file with every type, an empty section and payloads that need padding. Sections:
 * 0 "config" text, 1 "params" f64 x3, 2 "rng" u64 x2, 3 "blob" 3 bytes, 4 "empty" 0 bytes. */
static unsigned char *sample_file(size_t *size)
{
    scratch s;
    scratch_open(&s);
    char path[128];
    scratch_path(&s, "sample.glowcl", path, sizeof path);
    const double values[3] = {1.5, -0.0, 4.9e-324};
    const uint64_t words[2] = {7, UINT64_MAX};
    gc_archive_writer *w = NULL;
    ck_assert_int_eq(gc_archive_writer_open(&w, path), GC_OK);
    ck_assert_int_eq(gc_archive_put_text(w, "config", "layers=10\nprior=mix\n"), GC_OK);
    ck_assert_int_eq(gc_archive_put_f64(w, "params", values, 3), GC_OK);
    ck_assert_int_eq(gc_archive_put_u64(w, "rng", words, 2), GC_OK);
    ck_assert_int_eq(gc_archive_put_bytes(w, "blob", "abc", 3), GC_OK);
    ck_assert_int_eq(gc_archive_put_bytes(w, "empty", NULL, 0), GC_OK);
    ck_assert_int_eq(gc_archive_writer_commit(w), GC_OK);
    unsigned char *data = slurp(path, size);
    scratch_close(&s);
    return data;
}

static void write_text_file(const char *path, const char *name, const char *text)
{
    gc_archive_writer *w = NULL;
    ck_assert_int_eq(gc_archive_writer_open(&w, path), GC_OK);
    ck_assert_int_eq(gc_archive_put_text(w, name, text), GC_OK);
    ck_assert_msg(gc_archive_writer_commit(w) == GC_OK, "%s", gc_last_error());
}

static void assert_text_file(const char *path, const char *name, const char *expected)
{
    gc_archive *a = NULL;
    const char *text = NULL;
    ck_assert_msg(gc_archive_read(&a, path) == GC_OK, "%s", gc_last_error());
    ck_assert_int_eq(gc_archive_get_text(a, name, &text), GC_OK);
    ck_assert_str_eq(text, expected);
    gc_archive_free(a);
}

/* ---- CRC32 ------------------------------------------------------------------------------ */

START_TEST(crc32_matches_zlib)
{
    const char *fox = "The quick brown fox jumps over the lazy dog";
    unsigned char zeros[32] = {0}, ones[32];
    memset(ones, 0xff, sizeof ones);
    ck_assert_uint_eq(gc_crc32(0, "123456789", 9), 0xCBF43926u);
    ck_assert_uint_eq(gc_crc32(0, "", 0), 0u);
    ck_assert_uint_eq(gc_crc32(0, NULL, 0), 0u);
    ck_assert_uint_eq(gc_crc32(0, "a", 1), 0xE8B7BE43u);
    ck_assert_uint_eq(gc_crc32(0, fox, strlen(fox)), 0x414FA339u);
    ck_assert_uint_eq(gc_crc32(0, zeros, sizeof zeros), 0x190A55ADu);
    ck_assert_uint_eq(gc_crc32(0, ones, sizeof ones), 0xFF6CAB0Bu);
    /* chained one byte at a time, as a streaming caller would */
    uint32_t crc = 0;
    for (size_t i = 0; i < strlen(fox); i++) crc = gc_crc32(crc, fox + i, 1);
    ck_assert_uint_eq(crc, 0x414FA339u);
}
END_TEST

/* ---- round trips and layout ------------------------------------------------------------- */

START_TEST(round_trip_of_every_section_type)
{
    scratch s;
    scratch_open(&s);
    char path[128];
    scratch_path(&s, "model.glowcl", path, sizeof path);
    /* -0, smallest and largest denormal, infinities, quiet and signalling NaNs with payloads */
    const uint64_t special_bits[] = {
        0x8000000000000000u, 0x0000000000000001u, 0x000FFFFFFFFFFFFFu, 0x7FF0000000000000u,
        0xFFF0000000000000u, 0x7FF8000000000000u, 0x7FF80000DEADBEEFu, 0xFFF8000000000001u,
        0x7FF0000000000001u, 0x3FF0000000000000u, 0x7FEFFFFFFFFFFFFFu,
    };
    enum { SPECIALS = sizeof special_bits / sizeof special_bits[0] };
    double specials[SPECIALS];
    for (int i = 0; i < SPECIALS; i++) specials[i] = from_bits(special_bits[i]);
    const uint64_t words[4] = {0, 1, 0x0102030405060708u, UINT64_MAX};
    unsigned char bytes[17];
    for (int i = 0; i < 17; i++) bytes[i] = (unsigned char)(0xA0 + i);

    gc_archive_writer *w = NULL;
    ck_assert_int_eq(gc_archive_writer_open(&w, path), GC_OK);
    ck_assert_int_eq(gc_archive_put_text(w, "config", "layers=10\nprior=mix\nhidden=64\n"), GC_OK);
    ck_assert_int_eq(gc_archive_put_text(w, "empty_text", ""), GC_OK);
    ck_assert_int_eq(gc_archive_put_f64(w, "specials", specials, SPECIALS), GC_OK);
    ck_assert_int_eq(gc_archive_put_f64(w, "empty_f64", NULL, 0), GC_OK);
    ck_assert_int_eq(gc_archive_put_u64(w, "words", words, 4), GC_OK);
    ck_assert_int_eq(gc_archive_put_u64(w, "empty_u64", NULL, 0), GC_OK);
    for (int n = 0; n <= 17; n++) { /* every size around the 8-byte alignment */
        char name[24];
        snprintf(name, sizeof name, "bytes/%d", n);
        ck_assert_int_eq(gc_archive_put_bytes(w, name, bytes, (size_t)n), GC_OK);
    }
    ck_assert_int_eq(gc_archive_writer_commit(w), GC_OK);

    gc_archive *a = NULL;
    ck_assert_msg(gc_archive_read(&a, path) == GC_OK, "%s", gc_last_error());
    const char *text = NULL;
    ck_assert_int_eq(gc_archive_get_text(a, "config", &text), GC_OK);
    ck_assert_str_eq(text, "layers=10\nprior=mix\nhidden=64\n");
    ck_assert_int_eq(gc_archive_get_text(a, "empty_text", &text), GC_OK);
    ck_assert_str_eq(text, "");

    double back[SPECIALS];
    ck_assert_int_eq(gc_archive_get_f64(a, "specials", back, SPECIALS), GC_OK);
    for (int i = 0; i < SPECIALS; i++)
        ck_assert_msg(to_bits(back[i]) == special_bits[i], "value %d: %016llx became %016llx", i,
                      (unsigned long long)special_bits[i], (unsigned long long)to_bits(back[i]));
    double *all = NULL;
    size_t count = 99;
    ck_assert_int_eq(gc_archive_get_f64_alloc(a, "specials", &all, &count), GC_OK);
    ck_assert_uint_eq(count, SPECIALS);
    for (int i = 0; i < SPECIALS; i++) ck_assert(to_bits(all[i]) == special_bits[i]);
    free(all);
    ck_assert_int_eq(gc_archive_get_f64_alloc(a, "empty_f64", &all, &count), GC_OK);
    ck_assert_uint_eq(count, 0);
    ck_assert_ptr_nonnull(all); /* so callers can free without a special case */
    free(all);
    ck_assert_int_eq(gc_archive_get_f64(a, "empty_f64", NULL, 0), GC_OK);

    uint64_t words_back[4];
    ck_assert_int_eq(gc_archive_get_u64(a, "words", words_back, 4), GC_OK);
    ck_assert_int_eq(memcmp(words_back, words, sizeof words), 0);
    ck_assert_int_eq(gc_archive_get_u64(a, "empty_u64", NULL, 0), GC_OK);

    for (int n = 0; n <= 17; n++) {
        char name[24];
        snprintf(name, sizeof name, "bytes/%d", n);
        const void *data = NULL;
        size_t size = 99;
        ck_assert_int_eq(gc_archive_get_bytes(a, name, &data, &size), GC_OK);
        ck_assert_uint_eq(size, (size_t)n);
        ck_assert_int_eq(memcmp(data, bytes, size), 0);
    }
    ck_assert(gc_archive_has(a, "words"));
    ck_assert(gc_archive_has(a, "bytes/17"));
    ck_assert(!gc_archive_has(a, "word"));
    ck_assert(!gc_archive_has(a, "bytes/18"));
    ck_assert(!gc_archive_has(NULL, "words"));
    gc_archive_free(a);
    gc_archive_free(NULL);
    scratch_close(&s);
}
END_TEST

START_TEST(large_sections_round_trip)
{
    scratch s;
    scratch_open(&s);
    char path[128];
    scratch_path(&s, "large.glowcl", path, sizeof path);
    const size_t n = (size_t)1 << 20;
    double *values = malloc(n * sizeof *values);
    ck_assert_ptr_nonnull(values);
    uint64_t state = 0x9E3779B97F4A7C15u; /* any bit pattern at all, NaNs included */
    for (size_t i = 0; i < n; i++) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        values[i] = from_bits(state);
    }
    gc_archive_writer *w = NULL;
    ck_assert_int_eq(gc_archive_writer_open(&w, path), GC_OK);
    ck_assert_int_eq(gc_archive_put_f64(w, "params", values, n), GC_OK);
    ck_assert_int_eq(gc_archive_writer_commit(w), GC_OK);
    gc_archive *a = NULL;
    ck_assert_int_eq(gc_archive_read(&a, path), GC_OK);
    double *back = malloc(n * sizeof *back);
    ck_assert_ptr_nonnull(back);
    ck_assert_int_eq(gc_archive_get_f64(a, "params", back, n), GC_OK);
    ck_assert_int_eq(memcmp(back, values, n * sizeof *values), 0);
    gc_archive_free(a);
    free(back);
    free(values);
    scratch_close(&s);
}
END_TEST

START_TEST(as_many_sections_as_allowed)
{
    scratch s;
    scratch_open(&s);
    char path[128];
    scratch_path(&s, "many.glowcl", path, sizeof path);
    gc_archive_writer *w = NULL;
    ck_assert_int_eq(gc_archive_writer_open(&w, path), GC_OK);
    for (int i = 0; i < GC_ARCHIVE_MAX_SECTIONS; i++) {
        char name[24];
        snprintf(name, sizeof name, "s%d", i);
        uint64_t value = (uint64_t)i;
        ck_assert_int_eq(gc_archive_put_u64(w, name, &value, 1), GC_OK);
    }
    assert_error(gc_archive_put_bytes(w, "one_more", "x", 1), GC_ERR_ARGUMENT, "sections");
    ck_assert_int_eq(gc_archive_writer_commit(w), GC_OK);
    gc_archive *a = NULL;
    ck_assert_int_eq(gc_archive_read(&a, path), GC_OK);
    uint64_t value = 0;
    ck_assert_int_eq(gc_archive_get_u64(a, "s4095", &value, 1), GC_OK);
    ck_assert_uint_eq(value, 4095);
    gc_archive_free(a);
    scratch_close(&s);
}
END_TEST

/* Pins the format: one text section "config" = "a=1\n", its bytes worked out by hand (CRCs
 * from zlib), so any accidental change to the layout fails here first. */
START_TEST(layout_matches_the_documented_format)
{
    static const unsigned char expected[96] = {
        0x89, 0x47, 0x4c, 0x43, 0x0d, 0x0a, 0x1a, 0x0a, 0x01, 0x00, 0x00, 0x00, /* magic, v1 */
        0x01, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 1, 96 B */
        0x96, 0xc7, 0x01, 0x8b, 0x00, 0x00, 0x00, 0x00, 0x63, 0x6f, 0x6e, 0x66, /* crc, "conf" */
        0x69, 0x67, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x15, 0xd7, 0xe5, 0xa8, /* text, crc */
        0x58, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, /* at 88, 4 B */
        0x00, 0x00, 0x00, 0x00, 0x61, 0x3d, 0x31, 0x0a, 0x00, 0x00, 0x00, 0x00, /* "a=1\n" */
    };
    scratch s;
    scratch_open(&s);
    char path[128];
    scratch_path(&s, "golden.glowcl", path, sizeof path);
    write_text_file(path, "config", "a=1\n");
    size_t size = 0;
    unsigned char *file = slurp(path, &size);
    ck_assert_uint_eq(size, sizeof expected);
    for (size_t i = 0; i < size; i++)
        ck_assert_msg(file[i] == expected[i], "byte %zu is %02x, expected %02x", i, file[i],
                      expected[i]);
    free(file);

    /* Arrays are little-endian whatever the host, and payloads 8-byte aligned. */
    const uint64_t word = 0x0102030405060708u;
    const double one = 1.0;
    gc_archive_writer *w = NULL;
    ck_assert_int_eq(gc_archive_writer_open(&w, path), GC_OK);
    ck_assert_int_eq(gc_archive_put_bytes(w, "odd", "xyz", 3), GC_OK);
    ck_assert_int_eq(gc_archive_put_u64(w, "word", &word, 1), GC_OK);
    ck_assert_int_eq(gc_archive_put_f64(w, "one", &one, 1), GC_OK);
    ck_assert_int_eq(gc_archive_writer_commit(w), GC_OK);
    file = slurp(path, &size);
    ck_assert_uint_eq(le32(file + 12), 3);
    ck_assert_uint_eq(le64(file + 16), size);
    ck_assert_uint_eq(size % 8, 0);
    const unsigned char word_bytes[8] = {8, 7, 6, 5, 4, 3, 2, 1};
    const unsigned char one_bytes[8] = {0, 0, 0, 0, 0, 0, 0xf0, 0x3f};
    uint64_t at_odd = le64(entry_of(file, 0) + 40), at_word = le64(entry_of(file, 1) + 40),
             at_one = le64(entry_of(file, 2) + 40);
    ck_assert_uint_eq(at_odd, HEADER + 3 * ENTRY);
    ck_assert_uint_eq(at_word, at_odd + 8);
    ck_assert_uint_eq(at_one, at_word + 8);
    ck_assert_int_eq(memcmp(file + at_word, word_bytes, 8), 0);
    ck_assert_int_eq(memcmp(file + at_one, one_bytes, 8), 0);
    ck_assert_uint_eq(le32(entry_of(file, 1) + 32), 4);
    ck_assert_uint_eq(le32(entry_of(file, 2) + 32), 3);
    free(file);

    /* An archive without sections is just a header. */
    ck_assert_int_eq(gc_archive_writer_open(&w, path), GC_OK);
    ck_assert_int_eq(gc_archive_writer_commit(w), GC_OK);
    file = slurp(path, &size);
    ck_assert_uint_eq(size, HEADER);
    ck_assert_uint_eq(le32(file + 24), 0x113C17AFu);
    free(file);
    gc_archive *a = NULL;
    ck_assert_int_eq(gc_archive_read(&a, path), GC_OK);
    ck_assert(!gc_archive_has(a, "config"));
    gc_archive_free(a);
    scratch_close(&s);
}
END_TEST

/* ---- getters ---------------------------------------------------------------------------- */

START_TEST(getters_check_names_types_and_counts)
{
    size_t size = 0;
    unsigned char *file = sample_file(&size);
    gc_archive *a = NULL;
    ck_assert_int_eq(gc_archive_read_memory(&a, file, size, "saved.glowcl"), GC_OK);
    free(file); /* the archive holds its own copy */
    const char *text = NULL;
    const void *data = NULL;
    double values[4];
    uint64_t words[3];
    assert_error(gc_archive_get_text(a, "missing", &text), GC_ERR_FORMAT,
                 "saved.glowcl: no section 'missing'");
    assert_error(gc_archive_get_text(a, "params", &text), GC_ERR_FORMAT,
                 "section 'params' has type f64 array, not text");
    assert_error(gc_archive_get_bytes(a, "config", &data, &size), GC_ERR_FORMAT,
                 "has type text, not bytes");
    assert_error(gc_archive_get_f64(a, "rng", values, 2), GC_ERR_FORMAT,
                 "has type u64 array, not f64 array");
    assert_error(gc_archive_get_u64(a, "params", words, 3), GC_ERR_FORMAT,
                 "has type f64 array, not u64 array");
    assert_error(gc_archive_get_f64(a, "params", values, 4), GC_ERR_FORMAT,
                 "section 'params' holds 3 values, expected 4");
    assert_error(gc_archive_get_u64(a, "rng", words, 3), GC_ERR_FORMAT,
                 "section 'rng' holds 2 values, expected 3");
    assert_error(gc_archive_get_f64(a, "params", NULL, 3), GC_ERR_ARGUMENT, "no array");
    assert_error(gc_archive_get_text(a, NULL, &text), GC_ERR_ARGUMENT, "without");
    ck_assert_int_eq(gc_archive_get_f64(a, "params", values, 3), GC_OK);
    ck_assert(values[0] == 1.5 && signbit(values[1]) && values[2] == 4.9e-324);
    ck_assert_int_eq(gc_archive_get_text(a, "config", &text), GC_OK);
    ck_assert_str_eq(text, "layers=10\nprior=mix\n");
    gc_archive_free(a);
}
END_TEST

/* ---- writer arguments ------------------------------------------------------------------- */

START_TEST(writer_refuses_bad_arguments_and_stays_usable)
{
    scratch s;
    scratch_open(&s);
    char path[128];
    scratch_path(&s, "args.glowcl", path, sizeof path);
    gc_archive_writer *w = NULL;
    assert_error(gc_archive_writer_open(&w, NULL), GC_ERR_ARGUMENT, "no path");
    ck_assert_ptr_null(w);
    ck_assert_int_eq(gc_archive_writer_open(&w, path), GC_OK);

    const char *bad_names[] = {"",
                               "Upper",
                               "with space",
                               "tab\t",
                               "semi;colon",
                               "\xc3\xa9",
                               "a234567890123456789012345678901x"}; /* 32 characters */
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
        assert_error(gc_archive_put_bytes(w, bad_names[i], "x", 1), GC_ERR_ARGUMENT,
                     "invalid section name");
    assert_error(gc_archive_put_bytes(w, NULL, "x", 1), GC_ERR_ARGUMENT, "invalid section name");
    const char *longest = "a23456789012345678901234567890z"; /* 31 characters */
    ck_assert_int_eq(gc_archive_put_text(w, longest, "ok"), GC_OK);
    ck_assert_int_eq(gc_archive_put_text(w, "layer/3.w_in-0", "ok"), GC_OK);
    assert_error(gc_archive_put_text(w, longest, "again"), GC_ERR_ARGUMENT, "added twice");
    assert_error(gc_archive_put_bytes(w, "nodata", NULL, 4), GC_ERR_ARGUMENT, "no data");
    assert_error(gc_archive_put_text(w, "notext", NULL), GC_ERR_ARGUMENT, "no text");
    assert_error(gc_archive_put_f64(w, "novalues", NULL, 2), GC_ERR_ARGUMENT, "no array");
    double one = 1.0;
    assert_error(gc_archive_put_f64(w, "huge", &one, SIZE_MAX / 8 + 1), GC_ERR_ARGUMENT,
                 "too large");
    assert_error(gc_archive_put_u64(NULL, "x", NULL, 0), GC_ERR_ARGUMENT, "no writer");
    ck_assert_int_eq(gc_archive_writer_commit(w), GC_OK); /* the refusals changed nothing */

    gc_archive *a = NULL;
    ck_assert_int_eq(gc_archive_read(&a, path), GC_OK);
    ck_assert(gc_archive_has(a, longest) && gc_archive_has(a, "layer/3.w_in-0"));
    ck_assert(!gc_archive_has(a, "nodata") && !gc_archive_has(a, "huge"));
    const char *text = NULL;
    ck_assert_int_eq(gc_archive_get_text(a, longest, &text), GC_OK);
    ck_assert_str_eq(text, "ok");
    gc_archive_free(a);
    assert_error(gc_archive_writer_commit(NULL), GC_ERR_ARGUMENT, "no writer");
    gc_archive_writer_abort(NULL);
    scratch_close(&s);
}
END_TEST

/* ---- rejection of damaged and foreign files --------------------------------------------- */

START_TEST(foreign_files_are_not_glowcl_files)
{
    size_t size = 0;
    unsigned char *file = sample_file(&size);
    gc_archive *a = NULL;
    assert_error(gc_archive_read_memory(&a, "PK\3\4 a zip file", 16, "x.zip"), GC_ERR_FORMAT,
                 "x.zip: not a glowcl file");
    assert_error(gc_archive_read_memory(&a, "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16, "x.png"),
                 GC_ERR_FORMAT, "not a glowcl file");
    assert_error(gc_archive_read_memory(&a, "layers=10\n", 10, "x"), GC_ERR_FORMAT,
                 "not a glowcl file");
    assert_error(gc_archive_read_memory(&a, "G", 1, "x"), GC_ERR_FORMAT, "not a glowcl file");
    ck_assert_ptr_null(a);

    /* What text-mode copies and 7-bit channels do to a file. */
    unsigned char *mangled = malloc(size);
    ck_assert_ptr_nonnull(mangled);
    size_t length = 0;
    for (size_t i = 0; i < size; i++) /* CR LF to LF */
        if (!(file[i] == '\r' && i + 1 < size && file[i + 1] == '\n')) mangled[length++] = file[i];
    assert_error(gc_archive_read_memory(&a, mangled, length, "x"), GC_ERR_FORMAT,
                 "not a glowcl file");
    length = 0;
    for (size_t i = 0; i < size; i++) { /* LF to CR LF */
        if (file[i] == '\n' && length + 2 <= size) mangled[length++] = '\r';
        if (length < size) mangled[length++] = file[i];
    }
    assert_error(gc_archive_read_memory(&a, mangled, length, "x"), GC_ERR_FORMAT,
                 "not a glowcl file");
    for (size_t i = 0; i < size; i++) mangled[i] = file[i] & 0x7f;
    assert_error(gc_archive_read_memory(&a, mangled, size, "x"), GC_ERR_FORMAT,
                 "not a glowcl file");
    ck_assert_ptr_null(a);
    free(mangled);
    free(file);
}
END_TEST

START_TEST(every_truncation_is_rejected)
{
    size_t size = 0;
    unsigned char *file = sample_file(&size);
    for (size_t n = 0; n < size; n++) {
        gc_archive *a = (gc_archive *)file; /* must be overwritten with NULL */
        gc_status status = gc_archive_read_memory(&a, file, n, "cut");
        ck_assert_msg(status == GC_ERR_FORMAT, "cut to %zu of %zu bytes: %s", n, size,
                      gc_status_name(status));
        ck_assert_ptr_null(a);
        char fragment[64];
        if (n >= HEADER)
            snprintf(fragment, sizeof fragment, "truncated: %zu of %zu bytes", n, size);
        else
            snprintf(fragment, sizeof fragment, "truncated");
        ck_assert_msg(strstr(gc_last_error(), fragment) != NULL,
                      "cut to %zu bytes: message '%s' lacks '%s'", n, gc_last_error(), fragment);
    }
    /* The same through a file on disk. */
    scratch s;
    scratch_open(&s);
    char path[128];
    scratch_path(&s, "cut.glowcl", path, sizeof path);
    const size_t lengths[] = {0, 5, 20, HEADER + 10, size - 1};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        gc_archive *a = NULL;
        spit(path, file, lengths[i]);
        assert_error(gc_archive_read(&a, path), GC_ERR_FORMAT, "truncated");
        ck_assert_ptr_null(a);
    }
    scratch_close(&s);
    free(file);
}
END_TEST

START_TEST(every_corrupted_byte_is_rejected)
{
    size_t size = 0;
    unsigned char *file = sample_file(&size);
    gc_archive *a = NULL;
    ck_assert_int_eq(gc_archive_read_memory(&a, file, size, "intact"), GC_OK);
    gc_archive_free(a);
    /* Every position, every change of its value: padding and reserved bytes included. */
    for (size_t i = 0; i < size; i++)
        for (unsigned flip = 1; flip < 256; flip++) {
            file[i] ^= (unsigned char)flip;
            a = (gc_archive *)file;
            gc_status status = gc_archive_read_memory(&a, file, size, "flipped");
            ck_assert_msg(status == GC_ERR_FORMAT, "byte %zu ^ 0x%02x of %zu: %s (%s)", i, flip,
                          size, gc_status_name(status), gc_last_error());
            ck_assert_ptr_null(a);
            file[i] ^= (unsigned char)flip;
        }
    /* The last payload ends on padding; damage there names it. */
    size_t blob_end = (size_t)(le64(entry_of(file, 3) + 40) + le64(entry_of(file, 3) + 48));
    file[blob_end] = 1;
    assert_error(gc_archive_read_memory(&a, file, size, "x"), GC_ERR_FORMAT,
                 "nonzero padding after section 'blob'");
    file[blob_end] = 0;
    /* A payload byte names its section. */
    file[le64(entry_of(file, 1) + 40)] ^= 0x10;
    assert_error(gc_archive_read_memory(&a, file, size, "x"), GC_ERR_FORMAT,
                 "x: section 'params' is corrupted (CRC mismatch)");
    file[le64(entry_of(file, 1) + 40)] ^= 0x10;
    file[12] ^= 1;
    assert_error(gc_archive_read_memory(&a, file, size, "x"), GC_ERR_FORMAT, "header is corrupted");
    free(file);
}
END_TEST

START_TEST(appended_data_is_rejected)
{
    size_t size = 0;
    unsigned char *file = sample_file(&size);
    unsigned char *longer = calloc(1, size + 8);
    ck_assert_ptr_nonnull(longer);
    memcpy(longer, file, size);
    gc_archive *a = NULL;
    for (size_t extra = 1; extra <= 8; extra++)
        assert_error(gc_archive_read_memory(&a, longer, size + extra, "x"), GC_ERR_FORMAT,
                     "data appended");
    ck_assert_ptr_null(a);
    free(longer);
    free(file);
}
END_TEST

START_TEST(newer_and_invalid_versions_are_rejected)
{
    size_t size = 0;
    unsigned char *file = sample_file(&size);
    gc_archive *a = NULL;
    set_le32(file + 8, 2);
    assert_error(gc_archive_read_memory(&a, file, size, "new.glowcl"), GC_ERR_FORMAT,
                 "new.glowcl: written by a newer glowcl: format version 2, this build reads up "
                 "to 1");
    fix_header_crc(file); /* a real newer file has a valid CRC: still the version is named */
    assert_error(gc_archive_read_memory(&a, file, size, "x"), GC_ERR_FORMAT, "format version 2");
    /* Only the first 12 bytes are needed to say so, whatever a newer header looks like. */
    assert_error(gc_archive_read_memory(&a, file, 12, "x"), GC_ERR_FORMAT, "format version 2");
    set_le32(file + 8, UINT32_MAX);
    assert_error(gc_archive_read_memory(&a, file, size, "x"), GC_ERR_FORMAT,
                 "format version 4294967295");
    set_le32(file + 8, 0);
    fix_header_crc(file);
    assert_error(gc_archive_read_memory(&a, file, size, "x"), GC_ERR_FORMAT,
                 "invalid format version 0");
    ck_assert_ptr_null(a);
    free(file);
}
END_TEST

/* Tables a foreign or malicious writer could make, with valid CRCs: each is refused by the
 * check aimed at it, without reading outside the buffer (run under valgrind or ASan). */
START_TEST(crafted_tables_are_rejected)
{
    size_t size = 0;
    unsigned char *original = sample_file(&size);
    unsigned char *file = malloc(size);
    ck_assert_ptr_nonnull(file);
    gc_archive *a = NULL;
#define RESET() memcpy(file, original, size)
#define EXPECT(fragment)                                                                           \
    do {                                                                                           \
        assert_error(gc_archive_read_memory(&a, file, size, "x"), GC_ERR_FORMAT, fragment);        \
        ck_assert_ptr_null(a);                                                                     \
    } while (0)

    /* Offsets and sizes past the end, including ones whose sum wraps around. */
    const uint64_t bad_offsets[] = {size, size + 8, UINT64_MAX, UINT64_MAX - 7};
    for (size_t k = 0; k < sizeof bad_offsets / sizeof bad_offsets[0]; k++) {
        RESET();
        set_le64(entry_of(file, 3) + 40, bad_offsets[k]);
        fix_header_crc(file);
        EXPECT("section 'blob' is out of bounds");
    }
    uint64_t blob_at = le64(entry_of(original, 3) + 40);
    const uint64_t bad_sizes[] = {size - blob_at + 1, UINT64_MAX, UINT64_MAX - blob_at + 1,
                                  (uint64_t)1 << 63};
    for (size_t k = 0; k < sizeof bad_sizes / sizeof bad_sizes[0]; k++) {
        RESET();
        set_le64(entry_of(file, 3) + 48, bad_sizes[k]);
        fix_header_crc(file);
        EXPECT("section 'blob' is out of bounds");
    }
    /* In bounds but not where the format puts it: overlapping or leaving a gap. */
    RESET();
    set_le64(entry_of(file, 2) + 40, le64(entry_of(file, 1) + 40));
    fix_header_crc(file);
    EXPECT("section 'rng' is misplaced");
    RESET();
    set_le64(entry_of(file, 0) + 40, HEADER + 5 * ENTRY + 8);
    fix_header_crc(file);
    EXPECT("section 'config' is misplaced");
    /* A section count whose table does not fit, or is more than the format allows. */
    RESET();
    set_le32(file + 12, UINT32_MAX);
    EXPECT("do not fit");
    RESET();
    set_le32(file + 12, 6);
    EXPECT("header is corrupted");
    /* Duplicate and malformed names. */
    RESET();
    memcpy(entry_of(file, 2), "params", 6);
    fix_header_crc(file);
    EXPECT("section 'params' appears twice");
    RESET();
    entry_of(file, 2)[0] = 'R';
    fix_header_crc(file);
    EXPECT("section 2 has a malformed name");
    RESET();
    memset(entry_of(file, 2), 'r', 32); /* no terminating NUL */
    fix_header_crc(file);
    EXPECT("section 2 has a malformed name");
    RESET();
    entry_of(file, 2)[20] = 'x'; /* garbage after the NUL */
    fix_header_crc(file);
    EXPECT("section 2 has a malformed name");
    RESET();
    memset(entry_of(file, 2), 0, 32);
    fix_header_crc(file);
    EXPECT("section 2 has a malformed name");
    /* Types. */
    RESET();
    set_le32(entry_of(file, 3) + 32, 9);
    fix_header_crc(file);
    EXPECT("section 'blob' has unknown type 9");
    RESET();
    set_le32(entry_of(file, 3) + 32, 3); /* 3 bytes cannot be an f64 array */
    fix_header_crc(file);
    EXPECT("section 'blob' is a f64 array of 3 bytes, not a multiple of 8");
    RESET();
    file[le64(entry_of(file, 0) + 40) + 2] = '\0';
    fix_section_crc(file, 0);
    EXPECT("text section 'config' holds a NUL byte");
    /* The reserved header field. */
    RESET();
    set_le32(file + 28, 1);
    fix_header_crc(file);
    EXPECT("reserved");
    /* A header size that matches a longer buffer, with zeros appended: stray bytes. */
    unsigned char *longer = calloc(1, size + 16);
    ck_assert_ptr_nonnull(longer);
    memcpy(longer, original, size);
    set_le64(longer + 16, size + 16);
    fix_header_crc(longer);
    assert_error(gc_archive_read_memory(&a, longer, size + 16, "x"), GC_ERR_FORMAT,
                 "sections end at byte");
    free(longer);
#undef EXPECT
#undef RESET
    /* And the untouched original is still fine. */
    ck_assert_int_eq(gc_archive_read_memory(&a, original, size, "x"), GC_OK);
    gc_archive_free(a);
    free(file);
    free(original);
}
END_TEST

/* Random multi-byte damage, half the time with the header CRC made valid again so the table
 * checks behind it are reached: the reader refuses or accepts, never crashes or reads out of
 * bounds (run under valgrind or ASan), and what it accepts can be read in full. */
START_TEST(random_damage_never_crashes)
{
    size_t size = 0;
    unsigned char *original = sample_file(&size);
    unsigned char *file = malloc(size);
    ck_assert_ptr_nonnull(file);
    uint64_t state = 0x243F6A8885A308D3u; /* fixed, so a failure reproduces */
#define NEXT_RANDOM() (state ^= state << 13, state ^= state >> 7, state ^= state << 17, state)
    const char *names[] = {"config", "params", "rng", "blob", "empty"};
    for (int round = 0; round < 20000; round++) {
        memcpy(file, original, size);
        int changes = 1 + (int)(NEXT_RANDOM() % 8);
        for (int k = 0; k < changes; k++) {
            size_t at = (size_t)(NEXT_RANDOM() % size);
            /* mostly inside the header and table, where the interesting checks are */
            if (k % 2 == 0) at %= HEADER + 5 * ENTRY;
            file[at] = (unsigned char)NEXT_RANDOM();
        }
        if (NEXT_RANDOM() % 2 && le32(file + 12) <= 5) fix_header_crc(file);
        size_t length = NEXT_RANDOM() % 4 == 0 ? (size_t)(NEXT_RANDOM() % (size + 1)) : size;
        gc_archive *a = NULL;
        gc_status status = gc_archive_read_memory(&a, file, length, "random");
        ck_assert_msg(status == GC_OK || status == GC_ERR_FORMAT, "round %d: %s", round,
                      gc_last_error());
        if (status != GC_OK) {
            ck_assert_ptr_null(a);
            continue;
        }
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            const void *data = NULL;
            const char *text = NULL;
            double *values = NULL;
            size_t count = 0;
            if (gc_archive_get_bytes(a, names[i], &data, &count) == GC_OK && count)
                ck_assert_uint_le(((const unsigned char *)data)[count - 1], 255);
            if (gc_archive_get_text(a, names[i], &text) == GC_OK) (void)strlen(text);
            if (gc_archive_get_f64_alloc(a, names[i], &values, &count) == GC_OK) free(values);
        }
        gc_archive_free(a);
    }
#undef NEXT_RANDOM
    free(file);
    free(original);
}
END_TEST

START_TEST(unreadable_files_are_io_errors)
{
    scratch s;
    scratch_open(&s);
    char path[128];
    gc_archive *a = (gc_archive *)&s;
    scratch_path(&s, "missing.glowcl", path, sizeof path);
    assert_error(gc_archive_read(&a, path), GC_ERR_IO, "No such file or directory");
    ck_assert_ptr_null(a);
    ck_assert_ptr_nonnull(strstr(gc_last_error(), path));
    assert_error(gc_archive_read(&a, s.dir), GC_ERR_IO, s.dir); /* a folder */
    ck_assert_ptr_null(a);
    assert_error(gc_archive_read_memory(&a, NULL, 5, "x"), GC_ERR_ARGUMENT, "no data");
    ck_assert_int_eq(gc_archive_read_memory(&a, NULL, 0, "x"), GC_ERR_FORMAT);
    scratch_close(&s);
}
END_TEST

/* ---- atomic writes ---------------------------------------------------------------------- */

START_TEST(commit_replaces_the_old_file_and_leaves_no_temporary)
{
    scratch s;
    scratch_open(&s);
    char path[128];
    scratch_path(&s, "model.glowcl", path, sizeof path);
    write_text_file(path, "config", "old");
    write_text_file(path, "config", "new");
    assert_text_file(path, "config", "new");
    ck_assert_int_eq(count_entries(s.dir, ""), 1);
    ck_assert_int_eq(count_entries(s.dir, ".tmp."), 0);
    /* A path without a folder part commits in the working directory. */
    char cwd[512];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(s.dir), 0);
    write_text_file("model.glowcl", "config", "here");
    ck_assert_int_eq(chdir(cwd), 0);
    assert_text_file(path, "config", "here");
    ck_assert_int_eq(count_entries(s.dir, ""), 1);
    scratch_close(&s);
}
END_TEST

START_TEST(commit_into_a_missing_folder_fails_cleanly)
{
    scratch s;
    scratch_open(&s);
    char path[128];
    scratch_path(&s, "no/such/folder/model.glowcl", path, sizeof path);
    gc_archive_writer *w = NULL;
    ck_assert_int_eq(gc_archive_writer_open(&w, path), GC_OK);
    ck_assert_int_eq(gc_archive_put_text(w, "config", "x"), GC_OK);
    assert_error(gc_archive_writer_commit(w), GC_ERR_IO, "No such file or directory");
    ck_assert_ptr_nonnull(strstr(gc_last_error(), path));
    ck_assert_int_eq(count_entries(s.dir, ""), 0);
    scratch_close(&s);
}
END_TEST

/* The rename fails (a folder is in the way): the temporary goes and the folder stays. */
START_TEST(failed_rename_removes_the_temporary)
{
    scratch s;
    scratch_open(&s);
    char path[128], inside[160];
    scratch_path(&s, "model.glowcl", path, sizeof path);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    snprintf(inside, sizeof inside, "%s/keep", path);
    spit(inside, "keep", 4);
    gc_archive_writer *w = NULL;
    ck_assert_int_eq(gc_archive_writer_open(&w, path), GC_OK);
    ck_assert_int_eq(gc_archive_put_text(w, "config", "x"), GC_OK);
    assert_error(gc_archive_writer_commit(w), GC_ERR_IO, "cannot rename");
    ck_assert_int_eq(count_entries(s.dir, ".tmp."), 0);
    ck_assert_int_eq(count_entries(path, "keep"), 1);
    scratch_close(&s);
}
END_TEST

START_TEST(abort_and_open_leave_the_old_file_untouched)
{
    scratch s;
    scratch_open(&s);
    char path[128];
    scratch_path(&s, "model.glowcl", path, sizeof path);
    write_text_file(path, "config", "old");
    size_t size = 0, again = 0;
    unsigned char *before = slurp(path, &size);
    gc_archive_writer *w = NULL;
    ck_assert_int_eq(gc_archive_writer_open(&w, path), GC_OK);
    ck_assert_int_eq(gc_archive_put_text(w, "config", "new"), GC_OK);
    unsigned char *during = slurp(path, &again); /* open and put touch nothing on disk */
    ck_assert(again == size && memcmp(before, during, size) == 0);
    free(during);
    gc_archive_writer_abort(w);
    unsigned char *after = slurp(path, &again);
    ck_assert(again == size && memcmp(before, after, size) == 0);
    ck_assert_int_eq(count_entries(s.dir, ""), 1);
    free(after);
    free(before);
    scratch_close(&s);
}
END_TEST

START_TEST(crash_before_commit_leaves_the_old_file)
{
    scratch s;
    scratch_open(&s);
    char path[128];
    scratch_path(&s, "model.glowcl", path, sizeof path);
    write_text_file(path, "config", "old");
    size_t size = 0, again = 0;
    unsigned char *before = slurp(path, &size);
    fflush(NULL); /* so the child does not write our buffered output twice */
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        static double values[1 << 16];
        /* Under valgrind with CK_FORK=no the child's exit runs a leak check: the writer stays
         * reachable from here, and the child's copy of `before` is released. */
        static gc_archive_writer *w = NULL;
        free(before);
        if (gc_archive_writer_open(&w, path) != GC_OK) _exit(2);
        gc_archive_put_text(w, "config", "half-written");
        gc_archive_put_f64(w, "params", values, sizeof values / sizeof values[0]);
        _exit(0); /* dies with the writer open, as a crash would */
    }
    int child_status = 0;
    ck_assert_int_eq(waitpid(child, &child_status, 0), child);
    ck_assert(WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0);
    unsigned char *after = slurp(path, &again);
    ck_assert(again == size && memcmp(before, after, size) == 0);
    ck_assert_int_eq(count_entries(s.dir, ""), 1);
    free(after);
    free(before);
    scratch_close(&s);
}
END_TEST

/* A process killed at an arbitrary moment while committing, over and over: the path always
 * holds one complete, valid version, never a mix or a torn file. */
START_TEST(kill_during_commits_leaves_a_whole_file)
{
    scratch s;
    scratch_open(&s);
    char path[128];
    scratch_path(&s, "model.glowcl", path, sizeof path);
    enum { VALUES = 1 << 17 };
    write_text_file(path, "config", "generation=0");
    for (int round = 0; round < 4; round++) {
        fflush(NULL);
        pid_t child = fork();
        ck_assert_int_ge(child, 0);
        if (child == 0) {
            static double values[VALUES];
            for (long generation = 1;; generation++) {
                char config[64];
                snprintf(config, sizeof config, "generation=%ld", generation);
                for (size_t i = 0; i < VALUES; i++) values[i] = (double)generation;
                gc_archive_writer *w = NULL;
                if (gc_archive_writer_open(&w, path) != GC_OK) _exit(2);
                gc_archive_put_text(w, "config", config);
                gc_archive_put_f64(w, "params", values, VALUES);
                if (gc_archive_writer_commit(w) != GC_OK) _exit(3);
            }
        }
        struct timespec pause = {0, (long)(3 + 7 * round) * 1000000L};
        nanosleep(&pause, NULL);
        ck_assert_int_eq(kill(child, SIGKILL), 0);
        int child_status = 0;
        ck_assert_int_eq(waitpid(child, &child_status, 0), child);
        ck_assert_msg(WIFSIGNALED(child_status), "the committing child stopped by itself");

        gc_archive *a = NULL;
        ck_assert_msg(gc_archive_read(&a, path) == GC_OK, "round %d: %s", round, gc_last_error());
        const char *config = NULL;
        ck_assert_int_eq(gc_archive_get_text(a, "config", &config), GC_OK);
        long generation = -1;
        ck_assert_int_eq(gc_config_get_long(config, "generation", &generation), GC_OK);
        if (generation > 0) { /* the params belong to the same generation as the config */
            double *values = NULL;
            size_t count = 0;
            ck_assert_int_eq(gc_archive_get_f64_alloc(a, "params", &values, &count), GC_OK);
            ck_assert_uint_eq(count, VALUES);
            for (size_t i = 0; i < count; i++) ck_assert(values[i] == (double)generation);
            free(values);
        }
        gc_archive_free(a);
    }
    scratch_close(&s); /* also removes temporaries the killed children left behind */
}
END_TEST

/* ---- streamed sections ------------------------------------------------------------------ */

/* `path` still holds exactly the `size` bytes of `expected`. */
static void assert_file_holds(const char *path, const unsigned char *expected, size_t size)
{
    size_t now_size = 0;
    unsigned char *now = slurp(path, &now_size);
    ck_assert_msg(now_size == size && memcmp(now, expected, size) == 0, "%s has changed", path);
    free(now);
}

/* A source handing out value i = i * 0.5 - 3, and what it does at `stop_at` (the first index of
 * a chunk at or past it): fail with GC_ERR_NUMERIC, or be killed with SIGKILL. */
typedef struct counting_source {
    size_t stop_at;
    int kill_there;
    size_t calls;
} counting_source;

static double counted_value(size_t i) { return (double)i * 0.5 - 3.0; }

static gc_status counting_values(void *context, size_t first, double *values, size_t count)
{
    counting_source *source = context;
    source->calls++;
    if (first >= source->stop_at) {
        if (source->kill_there) raise(SIGKILL); /* as a power cut or the OOM killer would */
        return GC_ERROR(GC_ERR_NUMERIC, "value %zu is not finite", first);
    }
    for (size_t i = 0; i < count; i++) values[i] = counted_value(first + i);
    return GC_OK;
}

/* More values than one chunk of the writer, and not a whole number of chunks. */
enum { STREAMED_VALUES = 3 * 65536 + 17 };

/* A streamed section is written byte for byte as the same values copied in would be, over
 * several chunks, between sections kept in memory. */
START_TEST(streamed_sections_match_copied_ones)
{
    scratch s;
    scratch_open(&s);
    char copied[128], streamed[128];
    scratch_path(&s, "copied.glowcl", copied, sizeof copied);
    scratch_path(&s, "streamed.glowcl", streamed, sizeof streamed);
    double *values = malloc(STREAMED_VALUES * sizeof *values);
    ck_assert_ptr_nonnull(values);
    for (size_t i = 0; i < STREAMED_VALUES; i++) values[i] = counted_value(i);
    gc_archive_writer *w = NULL;
    ck_assert_int_eq(gc_archive_writer_open(&w, copied), GC_OK);
    ck_assert_int_eq(gc_archive_put_text(w, "config", "abc"), GC_OK);
    ck_assert_int_eq(gc_archive_put_f64(w, "params", values, STREAMED_VALUES), GC_OK);
    ck_assert_int_eq(gc_archive_put_text(w, "after", "xyz"), GC_OK);
    ck_assert_int_eq(gc_archive_writer_commit(w), GC_OK);
    counting_source source = {SIZE_MAX, 0, 0};
    ck_assert_int_eq(gc_archive_writer_open(&w, streamed), GC_OK);
    ck_assert_int_eq(gc_archive_put_text(w, "config", "abc"), GC_OK);
    ck_assert_int_eq(
        gc_archive_put_f64_source(w, "params", STREAMED_VALUES, counting_values, &source), GC_OK);
    ck_assert_int_eq(gc_archive_put_text(w, "after", "xyz"), GC_OK);
    ck_assert_uint_eq(source.calls, 0); /* nothing is asked for before the commit */
    ck_assert_int_eq(gc_archive_writer_commit(w), GC_OK);
    ck_assert_uint_eq(source.calls, 4);
    size_t copied_size = 0, streamed_size = 0;
    unsigned char *copied_bytes = slurp(copied, &copied_size);
    unsigned char *streamed_bytes = slurp(streamed, &streamed_size);
    ck_assert_uint_eq(copied_size, streamed_size);
    ck_assert(memcmp(copied_bytes, streamed_bytes, copied_size) == 0);
    gc_archive *a = NULL;
    ck_assert_int_eq(gc_archive_read(&a, streamed), GC_OK);
    double *back = NULL;
    size_t count = 0;
    ck_assert_int_eq(gc_archive_get_f64_alloc(a, "params", &back, &count), GC_OK);
    ck_assert_uint_eq(count, STREAMED_VALUES);
    ck_assert(memcmp(back, values, count * sizeof *back) == 0);
    gc_archive_free(a);
    assert_error(gc_archive_put_f64_source(NULL, "x", 1, counting_values, &source), GC_ERR_ARGUMENT,
                 "no writer");
    free(back);
    free(copied_bytes);
    free(streamed_bytes);
    free(values);
    scratch_close(&s);
}
END_TEST

/* A source that fails half way (a non-finite value, a device error) stops the commit with its
 * own status and message; the old file stays and no temporary is left. */
START_TEST(a_failing_source_leaves_the_old_file)
{
    scratch s;
    scratch_open(&s);
    char path[128];
    scratch_path(&s, "model.glowcl", path, sizeof path);
    write_text_file(path, "config", "old");
    size_t size = 0;
    unsigned char *before = slurp(path, &size);
    counting_source source = {2 * 65536, 0, 0};
    gc_archive_writer *w = NULL;
    ck_assert_int_eq(gc_archive_writer_open(&w, path), GC_OK);
    ck_assert_int_eq(gc_archive_put_text(w, "config", "new"), GC_OK);
    ck_assert_int_eq(
        gc_archive_put_f64_source(w, "params", STREAMED_VALUES, counting_values, &source), GC_OK);
    assert_error(gc_archive_writer_commit(w), GC_ERR_NUMERIC, "value 131072 is not finite");
    ck_assert_uint_eq(source.calls, 3);
    assert_file_holds(path, before, size);
    ck_assert_int_eq(count_entries(s.dir, ".tmp."), 0);
    free(before);
    scratch_close(&s);
}
END_TEST

/* A process killed with SIGKILL in the middle of writing a file (after the first of four chunks
 * of its large section): the old file is unchanged byte for byte and loads; the half-written
 * temporary left behind is refused by a reader, and the next commit (another process, so another
 * temporary name) replaces the file as usual. */
START_TEST(killed_mid_write_leaves_the_old_file_loadable)
{
    scratch s;
    scratch_open(&s);
    char path[128], temporary[192];
    scratch_path(&s, "model.glowcl", path, sizeof path);
    write_text_file(path, "config", "old");
    size_t size = 0;
    unsigned char *before = slurp(path, &size);
    fflush(NULL); /* so the child does not write our buffered output twice */
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        /* Static, so a leak check at the child's end (valgrind, CK_FORK=no) finds them. */
        static counting_source source = {65536, 1, 0};
        static gc_archive_writer *w = NULL;
        free(before);
        if (gc_archive_writer_open(&w, path) != GC_OK) _exit(2);
        gc_archive_put_text(w, "config", "new");
        gc_archive_put_f64_source(w, "params", STREAMED_VALUES, counting_values, &source);
        gc_archive_writer_commit(w);
        _exit(3); /* not reached: the source kills the process */
    }
    int child_status = 0;
    ck_assert_int_eq(waitpid(child, &child_status, 0), child);
    ck_assert_msg(WIFSIGNALED(child_status) && WTERMSIG(child_status) == SIGKILL,
                  "the writing child was not killed mid-write (status %d)", child_status);
    assert_file_holds(path, before, size);
    assert_text_file(path, "config", "old");
    /* The killed child's temporary: the first chunk is out, the header still zeros. */
    snprintf(temporary, sizeof temporary, "%s.tmp.%ld", path, (long)child);
    struct stat info;
    ck_assert_int_eq(stat(temporary, &info), 0);
    ck_assert_int_lt(info.st_size, 32 + 2 * 56 + 8 * (off_t)STREAMED_VALUES);
    gc_archive *a = NULL;
    assert_error(gc_archive_read(&a, temporary), GC_ERR_FORMAT, "");
    write_text_file(path, "config", "newer");
    assert_text_file(path, "config", "newer");
    ck_assert_int_eq(count_entries(s.dir, ".tmp."), 1); /* only the killed child's */
    free(before);
    scratch_close(&s);
}
END_TEST

/* ---- config helpers --------------------------------------------------------------------- */

START_TEST(config_values)
{
    const char *config = "layers=10\nprior=mix\nhidden=64\nlr=1e-3\nscale=-0.5\nname=\n"
                         "layers2=5\nxdepth=6\ndepth=-7\nequation=a=b\nhex=0x1p-3\nlast=42";
    long number = 0;
    double real = 0.0;
    char text[16];
    ck_assert_int_eq(gc_config_get_long(config, "layers", &number), GC_OK);
    ck_assert_int_eq(number, 10);
    ck_assert_int_eq(gc_config_get_long(config, "hidden", &number), GC_OK);
    ck_assert_int_eq(number, 64);
    ck_assert_int_eq(gc_config_get_long(config, "layers2", &number), GC_OK);
    ck_assert_int_eq(number, 5);
    ck_assert_int_eq(gc_config_get_long(config, "depth", &number), GC_OK); /* not "xdepth" */
    ck_assert_int_eq(number, -7);
    ck_assert_int_eq(gc_config_get_long(config, "last", &number), GC_OK); /* no final newline */
    ck_assert_int_eq(number, 42);
    ck_assert_int_eq(gc_config_get_double(config, "lr", &real), GC_OK);
    ck_assert(real == 1e-3);
    ck_assert_int_eq(gc_config_get_double(config, "scale", &real), GC_OK);
    ck_assert(real == -0.5);
    ck_assert_int_eq(gc_config_get_double(config, "hex", &real), GC_OK);
    ck_assert(real == 0.125);
    ck_assert_int_eq(gc_config_get_double(config, "layers", &real), GC_OK);
    ck_assert(real == 10.0);
    ck_assert_int_eq(gc_config_get_string(config, "prior", text, sizeof text), GC_OK);
    ck_assert_str_eq(text, "mix");
    ck_assert_int_eq(gc_config_get_string(config, "prior", text, 4), GC_OK); /* just fits */
    ck_assert_str_eq(text, "mix");
    ck_assert_int_eq(gc_config_get_string(config, "name", text, sizeof text), GC_OK);
    ck_assert_str_eq(text, "");
    ck_assert_int_eq(gc_config_get_string(config, "equation", text, sizeof text), GC_OK);
    ck_assert_str_eq(text, "a=b");

    number = 123;
    assert_error(gc_config_get_long(config, "steps", &number), GC_ERR_FORMAT,
                 "config has no 'steps'");
    ck_assert_int_eq(number, 123); /* untouched on failure */
    assert_error(gc_config_get_long(config, "layer", &number), GC_ERR_FORMAT, "no 'layer'");
    assert_error(gc_config_get_long(config, "prior", &number), GC_ERR_FORMAT,
                 "config value of 'prior' is not an integer: 'mix'");
    assert_error(gc_config_get_long(config, "lr", &number), GC_ERR_FORMAT, "not an integer");
    assert_error(gc_config_get_long(config, "name", &number), GC_ERR_FORMAT, "not an integer");
    assert_error(gc_config_get_long("n=10x\n", "n", &number), GC_ERR_FORMAT, "not an integer");
    assert_error(gc_config_get_long("n= 10\n", "n", &number), GC_ERR_FORMAT, "not an integer");
    assert_error(gc_config_get_long("n=-\n", "n", &number), GC_ERR_FORMAT, "not an integer");
    assert_error(gc_config_get_long("n=99999999999999999999999\n", "n", &number), GC_ERR_FORMAT,
                 "out of range");
    assert_error(gc_config_get_long("n=1\nn=2\n", "n", &number), GC_ERR_FORMAT,
                 "config sets 'n' twice");
    assert_error(gc_config_get_double(config, "prior", &real), GC_ERR_FORMAT,
                 "config value of 'prior' is not a finite number");
    assert_error(gc_config_get_double("x=nan\n", "x", &real), GC_ERR_FORMAT, "finite");
    assert_error(gc_config_get_double("x=inf\n", "x", &real), GC_ERR_FORMAT, "finite");
    assert_error(gc_config_get_double("x=1e999\n", "x", &real), GC_ERR_FORMAT, "finite");
    assert_error(gc_config_get_double("x=1.5.2\n", "x", &real), GC_ERR_FORMAT, "finite");
    assert_error(gc_config_get_double("x=\n", "x", &real), GC_ERR_FORMAT, "finite");
    ck_assert_int_eq(gc_config_get_double("x=4.9e-324\n", "x", &real), GC_OK); /* underflow */
    ck_assert(real > 0.0 && real < DBL_MIN);
    assert_error(gc_config_get_string(config, "prior", text, 3), GC_ERR_FORMAT,
                 "config value of 'prior' is too long");
    assert_error(gc_config_get_string(config, "prior", NULL, 3), GC_ERR_ARGUMENT, "no room");
    assert_error(gc_config_get_long(NULL, "n", &number), GC_ERR_ARGUMENT, "without text");
    assert_error(gc_config_get_long(config, "a=b", &number), GC_ERR_ARGUMENT, "invalid config key");
    assert_error(gc_config_get_long(config, "", &number), GC_ERR_ARGUMENT, "invalid config key");
    assert_error(gc_config_get_long("", "n", &number), GC_ERR_FORMAT, "no 'n'");
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("archive");
    TCase *format = tcase_create("format");
    tcase_add_test(format, crc32_matches_zlib);
    tcase_add_test(format, round_trip_of_every_section_type);
    tcase_add_test(format, large_sections_round_trip);
    tcase_add_test(format, as_many_sections_as_allowed);
    tcase_add_test(format, layout_matches_the_documented_format);
    tcase_add_test(format, getters_check_names_types_and_counts);
    tcase_add_test(format, writer_refuses_bad_arguments_and_stays_usable);
    suite_add_tcase(suite, format);

    TCase *rejection = tcase_create("rejection");
    tcase_add_test(rejection, foreign_files_are_not_glowcl_files);
    tcase_add_test(rejection, every_truncation_is_rejected);
    tcase_add_test(rejection, every_corrupted_byte_is_rejected);
    tcase_add_test(rejection, appended_data_is_rejected);
    tcase_add_test(rejection, newer_and_invalid_versions_are_rejected);
    tcase_add_test(rejection, crafted_tables_are_rejected);
    tcase_add_test(rejection, random_damage_never_crashes);
    tcase_add_test(rejection, unreadable_files_are_io_errors);
    suite_add_tcase(suite, rejection);

    TCase *atomic = tcase_create("atomic");
    tcase_add_test(atomic, commit_replaces_the_old_file_and_leaves_no_temporary);
    tcase_add_test(atomic, commit_into_a_missing_folder_fails_cleanly);
    tcase_add_test(atomic, failed_rename_removes_the_temporary);
    tcase_add_test(atomic, abort_and_open_leave_the_old_file_untouched);
    tcase_add_test(atomic, crash_before_commit_leaves_the_old_file);
    tcase_add_test(atomic, kill_during_commits_leaves_a_whole_file);
    tcase_add_test(atomic, streamed_sections_match_copied_ones);
    tcase_add_test(atomic, a_failing_source_leaves_the_old_file);
    tcase_add_test(atomic, killed_mid_write_leaves_the_old_file_loadable);
    suite_add_tcase(suite, atomic);

    TCase *config = tcase_create("config");
    tcase_add_test(config, config_values);
    suite_add_tcase(suite, config);

    /* Check's default of 4 s is too tight under valgrind for the byte-by-byte corruption loop. */
    TCase *cases[] = {format, rejection, atomic, config};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) tcase_set_timeout(cases[i], 300);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failures = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failures ? 1 : 0;
}
