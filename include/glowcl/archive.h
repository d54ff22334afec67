/* The container of glowcl's model files and checkpoints: named sections, each with a CRC32,
 * written atomically (temporary file, fsync, rename), read back whole and verified before use.
 *
 * Layout, all integers little-endian:
 *   header, 32 bytes:
 *     0  magic "\x89GLC\r\n\x1a\n" (8 bytes; catches text-mode and 7-bit mangling, as PNG's)
 *     8  u32 format version (1)
 *    12  u32 number of sections N
 *    16  u64 total file size in bytes
 *    24  u32 CRC32 of the header (with this field as 0) and the section table
 *    28  u32 zero
 *   section table, N entries of 56 bytes:
 *     0  name, 32 bytes, NUL-padded, characters [a-z0-9_.-]
 *    32  u32 type (1 bytes, 2 text, 3 f64 array, 4 u64 array)
 *    36  u32 CRC32 of the payload
 *    40  u64 offset of the payload from the start of the file
 *    48  u64 payload size in bytes
 *   payloads, in table order, each starting at a multiple of 8; padding bytes are zero.
 * f64 and u64 arrays are stored little-endian; CRC32 is IEEE 802.3's (zlib's crc32). */
#ifndef GLOWCL_ARCHIVE_H
#define GLOWCL_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "glowcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GC_ARCHIVE_VERSION 1

typedef struct gc_archive_writer gc_archive_writer;

/* Nothing touches `path` until gc_archive_writer_commit. */
gc_status gc_archive_writer_open(gc_archive_writer **out, const char *path);
gc_status gc_archive_put_bytes(gc_archive_writer *w, const char *name, const void *data,
                               size_t size);
gc_status gc_archive_put_text(gc_archive_writer *w, const char *name, const char *text);
gc_status gc_archive_put_f64(gc_archive_writer *w, const char *name, const double *values,
                             size_t count);
gc_status gc_archive_put_u64(gc_archive_writer *w, const char *name, const uint64_t *values,
                             size_t count);
/* Writes "<path>.tmp.<pid>", flushes and fsyncs it, renames it over `path` and fsyncs the
 * folder. Always frees `w`; on failure the temporary file is removed and an old file at `path`
 * is left as it was. */
gc_status gc_archive_writer_commit(gc_archive_writer *w);
void gc_archive_writer_abort(gc_archive_writer *w);

typedef struct gc_archive gc_archive;

/* Reads and verifies a whole file: magic, version, size, CRCs, bounds, names. Any fault is
 * GC_ERR_FORMAT with a message saying which (a missing file is GC_ERR_IO). */
gc_status gc_archive_read(gc_archive **out, const char *path);
/* The same from memory; `label` names it in messages. */
gc_status gc_archive_read_memory(gc_archive **out, const void *data, size_t size,
                                 const char *label);
void gc_archive_free(gc_archive *a);

int gc_archive_has(const gc_archive *a, const char *name);
gc_status gc_archive_get_bytes(const gc_archive *a, const char *name, const void **data,
                               size_t *size);
/* A NUL-terminated copy owned by the archive. */
gc_status gc_archive_get_text(const gc_archive *a, const char *name, const char **text);
/* Exactly `count` values, or GC_ERR_FORMAT. */
gc_status gc_archive_get_f64(const gc_archive *a, const char *name, double *values,
                             size_t count);
gc_status gc_archive_get_u64(const gc_archive *a, const char *name, uint64_t *values,
                             size_t count);

/* zlib-compatible: gc_crc32(0, "123456789", 9) == 0xCBF43926. */
uint32_t gc_crc32(uint32_t crc, const void *data, size_t size);

/* Values of "key=value" lines of a text section; GC_ERR_FORMAT if missing or malformed. */
gc_status gc_config_get_long(const char *text, const char *key, long *value);
gc_status gc_config_get_string(const char *text, const char *key, char *out, size_t out_size);

#ifdef __cplusplus
}
#endif

#endif
