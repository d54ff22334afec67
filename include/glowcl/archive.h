/* The container of glowcl's model files and checkpoints: named, typed sections, each with a
 * CRC32, written atomically (temporary file, fsync, rename) and read back whole and verified
 * before a single byte is handed out; plus the key=value helpers for config text sections.
 *
 * Format version 1. Every integer and double is little-endian whatever the host.
 *
 *   header, 32 bytes, at offset 0:
 *      0  magic, 8 bytes: 0x89 'G' 'L' 'C' '\r' '\n' 0x1a '\n'. As in PNG, the high byte
 *         catches 7-bit transfers, CR LF and LF catch text-mode newline conversion either way,
 *         and 0x1a stops DOS `type`.
 *      8  u32 format version, 1. A reader refuses versions above the one it knows.
 *     12  u32 section count N, at most GC_ARCHIVE_MAX_SECTIONS.
 *     16  u64 total file size in bytes.
 *     24  u32 CRC32 of bytes [0, 32 + 56 N) (header and section table), computed with these
 *         four bytes taken as zero.
 *     28  u32 reserved, zero.
 *   section table, N entries of 56 bytes, at offset 32:
 *      0  name, 32 bytes: 1 to 31 characters of [a-z0-9_./-], then NUL bytes to the end.
 *         Names are unique within a file.
 *     32  u32 type: 1 bytes, 2 text (no NUL bytes, no terminator stored), 3 array of f64
 *         (IEEE 754 binary64 bit patterns), 4 array of u64. Arrays are a multiple of 8 bytes.
 *     36  u32 CRC32 of the payload.
 *     40  u64 offset of the payload from the start of the file.
 *     48  u64 payload size in bytes.
 *   payloads, in table order, packed: the first starts at 32 + 56 N (a multiple of 8), each
 *   next one at the end of the previous rounded up to a multiple of 8, and the file ends at the
 *   end of the last payload rounded up to a multiple of 8. Bytes between payloads and at the end
 *   are zero.
 *
 * CRC32 is IEEE 802.3's, as zlib's crc32(). A reader accepts payloads only exactly where the
 * rules above put them, so every byte of a valid file is covered by a CRC, a zero check, or a
 * field the reader compares with what it computes: any single corrupted byte is detected. */
#ifndef GLOWCL_ARCHIVE_H
#define GLOWCL_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "glowcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GC_ARCHIVE_VERSION 1
#define GC_ARCHIVE_MAX_SECTIONS 4096
#define GC_ARCHIVE_MAX_NAME 31

/* ---- writing ---- */

typedef struct gc_archive_writer gc_archive_writer;

/* Starts a file to be written at `path`. Sections are copied and kept in memory (streamed
 * sections: only their source), and nothing touches `path` (or its folder) until
 * gc_archive_writer_commit. */
gc_status gc_archive_writer_open(gc_archive_writer **out, const char *path);

/* Adds a section. A name that is invalid or already used is GC_ERR_ARGUMENT, and leaves the
 * writer as it was, so the caller may still commit or abort. */
gc_status gc_archive_put_bytes(gc_archive_writer *w, const char *name, const void *data,
                               size_t size);
gc_status gc_archive_put_text(gc_archive_writer *w, const char *name, const char *text);
gc_status gc_archive_put_f64(gc_archive_writer *w, const char *name, const double *values,
                             size_t count);
gc_status gc_archive_put_u64(gc_archive_writer *w, const char *name, const uint64_t *values,
                             size_t count);

/* Hands out the values [first, first + count) of a streamed f64 section into `values`; called
 * by gc_archive_writer_commit in order, a chunk at a time. A status other than GC_OK (with its
 * message set, as usual) stops the commit: the temporary file is removed, an old file stays,
 * and the commit returns that status. */
typedef gc_status (*gc_archive_f64_source)(void *context, size_t first, double *values,
                                           size_t count);

/* Adds an f64 section of `count` values that are not copied now but asked from `source` while
 * the file is written, a chunk at a time, so a large section never has to be held in memory
 * whole. `context` must stay valid until the commit. */
gc_status gc_archive_put_f64_source(gc_archive_writer *w, const char *name, size_t count,
                                    gc_archive_f64_source source, void *context);

/* The temporary name a commit of `path` writes to in this process: "<path>.tmp.<pid>". Lets a
 * signal handler know, ahead of time, the one file it may have to remove. GC_ERR_ARGUMENT if it
 * does not fit in `size` bytes. */
gc_status gc_archive_temporary_path(const char *path, char *out, size_t size);

/* Writes "<path>.tmp.<pid>", flushes and fsyncs it, renames it over `path` and fsyncs the
 * folder, so `path` holds either the old file or the whole new one, even after a crash.
 * Always frees `w`. On failure (GC_ERR_IO) the temporary file is removed and an old file at
 * `path` is left as it was. Two writers of one path must not commit at once from one process. */
gc_status gc_archive_writer_commit(gc_archive_writer *w);

/* Frees `w` without writing anything. NULL is allowed. */
void gc_archive_writer_abort(gc_archive_writer *w);

/* Writes a file's contents to an open stream: GC_OK, or a status with its message set. */
typedef gc_status (*gc_file_contents)(FILE *file, void *context);

/* The commit above for any file: `write` fills "<path>.tmp.<pid>", which is flushed, fsynced and
 * renamed over `path`, and the folder fsynced, so `path` holds either the old file or the whole
 * new one, even after a crash. On failure (write's status, or GC_ERR_IO) the temporary file is
 * removed and an old file at `path` is left as it was. Used by every writer of glowcl's files. */
gc_status gc_write_file_atomically(const char *path, gc_file_contents write, void *context);

/* ---- reading ---- */

typedef struct gc_archive gc_archive;

/* Reads a whole file and verifies it: magic, version, size, header CRC, each section's name,
 * type, bounds and CRC, unique names, zero padding. A fault is GC_ERR_FORMAT with a message
 * that says which ("not a glowcl file", "truncated: N of M bytes", "written by a newer
 * glowcl: ...", "section 'x' is corrupted (CRC mismatch)", ...); a file that cannot be opened
 * or read is GC_ERR_IO. On error *out is NULL. */
gc_status gc_archive_read(gc_archive **out, const char *path);

/* The same from memory (copied, so `data` may go away); `label` stands for the path in
 * messages. Never reads outside [data, data + size), whatever the bytes. */
gc_status gc_archive_read_memory(gc_archive **out, const void *data, size_t size,
                                 const char *label);

/* 1 if the `size` bytes at `data` begin with the magic of a glowcl file, so a reader of
 * another format can say "a model file, given where data was expected" instead of failing on
 * its bytes. */
int gc_archive_has_magic(const void *data, size_t size);

/* NULL is allowed. */
void gc_archive_free(gc_archive *a);

/* The whole of the file at `path` in a malloc'd buffer (*data never NULL on success, even for an
 * empty file), for readers that parse from memory. GC_ERR_IO naming the file when it cannot be
 * opened or read, GC_ERR_MEMORY; on error *data is NULL and *size 0. */
gc_status gc_read_file(const char *path, unsigned char **data, size_t *size);

/* A missing section is GC_ERR_FORMAT "<label>: no section 'x'", and one of another type is
 * GC_ERR_FORMAT too. A verified archive is read-only: the getters may run on several threads. */
int gc_archive_has(const gc_archive *a, const char *name);
/* Points into the archive; valid until gc_archive_free. Not aligned for any type. */
gc_status gc_archive_get_bytes(const gc_archive *a, const char *name, const void **data,
                               size_t *size);
/* A NUL-terminated copy owned by the archive. */
gc_status gc_archive_get_text(const gc_archive *a, const char *name, const char **text);
/* Exactly `count` values, or GC_ERR_FORMAT "section 'x' holds N values, expected M". */
gc_status gc_archive_get_f64(const gc_archive *a, const char *name, double *values, size_t count);
gc_status gc_archive_get_u64(const gc_archive *a, const char *name, uint64_t *values, size_t count);
/* However many values there are, in a malloc'ed array the caller frees (never NULL on
 * success, even for an empty section). */
gc_status gc_archive_get_f64_alloc(const gc_archive *a, const char *name, double **values,
                                   size_t *count);

/* zlib-compatible CRC32, chainable: gc_crc32(0, "123456789", 9) == 0xCBF43926, and
 * gc_crc32(gc_crc32(0, a, n), b, m) is the CRC of a followed by b. */
uint32_t gc_crc32(uint32_t crc, const void *data, size_t size);

/* ---- key=value config text ---- */

/* Values from text of "key=value" lines ("layers=10\nprior=mix\n"): the whole rest of the
 * line after the first '=', nothing trimmed. A key that is missing or set twice, or a value
 * that does not parse completely, is GC_ERR_FORMAT. Numbers are parsed by strtol and strtod,
 * so with the locale's decimal point: '.' unless the program has called setlocale. */
gc_status gc_config_get_long(const char *text, const char *key, long *value);
/* Finite values only. */
gc_status gc_config_get_double(const char *text, const char *key, double *value);
/* A value that does not fit in `out_size` bytes with its NUL is GC_ERR_FORMAT. */
gc_status gc_config_get_string(const char *text, const char *key, char *out, size_t out_size);

#ifdef __cplusplus
}
#endif

#endif
