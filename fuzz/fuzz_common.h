/* What the libFuzzer targets of fuzz/ share: one scratch folder per process (removed at exit)
 * for the readers that take paths, writing an input there as a file, and repairing the CRCs of
 * glowcl archives and PNG chunks so that mutated inputs get past the checksums to the parsers
 * behind them. Header-only: each target is one translation unit. */
#ifndef GLOWCL_FUZZ_COMMON_H
#define GLOWCL_FUZZ_COMMON_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#endif

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "glowcl/archive.h"

/* An oracle of the target: unlike assert(), never compiled out. */
#define FUZZ_CHECK(condition)                                                                      \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", #condition, __FILE__, __LINE__);    \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static char fuzz_dir[64];

static inline void fuzz_remove_dir(void)
{
    if (!fuzz_dir[0]) return;
    DIR *listing = opendir(fuzz_dir);
    if (listing) {
        struct dirent *entry;
        char path[512];
        while ((entry = readdir(listing)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
            snprintf(path, sizeof path, "%s/%s", fuzz_dir, entry->d_name);
            if (remove(path) != 0) { /* a folder made by a target: one level deep at most */
                DIR *inner = opendir(path);
                struct dirent *e;
                char nested[768];
                while (inner && (e = readdir(inner)) != NULL) {
                    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
                    snprintf(nested, sizeof nested, "%s/%s", path, e->d_name);
                    remove(nested);
                }
                if (inner) closedir(inner);
                remove(path);
            }
        }
        closedir(listing);
    }
    rmdir(fuzz_dir);
}

/* The process's scratch folder, made on first use. */
static inline const char *fuzz_scratch(void)
{
    if (!fuzz_dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(fuzz_dir, sizeof fuzz_dir, "%s/glowcl-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(fuzz_dir)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(fuzz_remove_dir);
    }
    return fuzz_dir;
}

/* "<scratch>/name" in `out`. */
static inline void fuzz_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", fuzz_scratch(), name);
}

/* Writes `size` bytes to `path`, or aborts: a harness that cannot write its input is broken. */
static inline void fuzz_write(const char *path, const void *data, size_t size)
{
    FILE *file = fopen(path, "wb");
    if (!file || (size && fwrite(data, 1, size, file) != size) || fclose(file) != 0) {
        perror(path);
        abort();
    }
}

static inline void fuzz_put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t fuzz_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t fuzz_u64le(const uint8_t *p)
{
    return (uint64_t)fuzz_u32le(p) | (uint64_t)fuzz_u32le(p + 4) << 32;
}

/* Rewrites the CRCs of a glowcl archive (include/glowcl/archive.h) in place: every section
 * whose payload lies inside the buffer, then the header's. Anything malformed is left for the
 * reader to refuse. */
static inline void fuzz_fix_archive_crcs(uint8_t *file, size_t size)
{
    if (size < 32) return;
    uint64_t count = fuzz_u32le(file + 12);
    if (count > (size - 32) / 56) return;
    size_t table_end = 32 + (size_t)count * 56;
    for (size_t i = 0; i < count; i++) {
        uint8_t *entry = file + 32 + i * 56;
        uint64_t offset = fuzz_u64le(entry + 40), length = fuzz_u64le(entry + 48);
        if (offset <= size && length <= size - offset)
            fuzz_put_u32le(entry + 36, gc_crc32(0, file + offset, (size_t)length));
    }
    static const uint8_t zero[4] = {0};
    uint32_t crc = gc_crc32(0, file, 24);
    crc = gc_crc32(crc, zero, 4);
    crc = gc_crc32(crc, file + 28, table_end - 28);
    fuzz_put_u32le(file + 24, crc);
}

/* Rewrites the CRC of every whole chunk of a PNG (signature, then length, type, data, CRC). */
static inline void fuzz_fix_png_crcs(uint8_t *png, size_t size)
{
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (size < 8 || memcmp(png, signature, 8) != 0) return;
    size_t at = 8;
    while (size - at >= 12) {
        uint32_t length = (uint32_t)png[at] << 24 | (uint32_t)png[at + 1] << 16 |
                          (uint32_t)png[at + 2] << 8 | png[at + 3];
        if (length > size - at - 12) break;
        uint32_t crc = gc_crc32(0, png + at + 4, (size_t)length + 4);
        uint8_t *field = png + at + 8 + length;
        for (int i = 0; i < 4; i++) field[i] = (uint8_t)(crc >> (24 - 8 * i));
        at += 12 + (size_t)length;
    }
}

#endif
