/* The sectioned, CRC-checked container of include/glowcl/archive.h (the layout is documented
 * there): a writer that streams its sections (small ones kept in memory, large ones asked from
 * their source a chunk at a time) into a temporary file that is renamed into place, a reader
 * that verifies every byte before handing any out, and the key=value config helpers. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* fsync, getpid, O_DIRECTORY */
#endif

#include "glowcl/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    HEADER_SIZE = 32,
    ENTRY_SIZE = 56,
    NAME_SIZE = 32,
    HEADER_CRC_AT = 24,
};

enum section_type { TYPE_BYTES = 1, TYPE_TEXT = 2, TYPE_F64 = 3, TYPE_U64 = 4 };

_Static_assert(sizeof(double) == sizeof(uint64_t),
               "f64 sections store each double as its 64-bit IEEE 754 pattern");
_Static_assert(GC_ARCHIVE_MAX_NAME + 1 == NAME_SIZE, "a name always leaves room for its NUL");

static const unsigned char MAGIC[8] = {0x89, 'G', 'L', 'C', '\r', '\n', 0x1a, '\n'};

static const char *type_name(uint32_t type)
{
    switch (type) {
    case TYPE_BYTES: return "bytes";
    case TYPE_TEXT: return "text";
    case TYPE_F64: return "f64 array";
    case TYPE_U64: return "u64 array";
    default: return "unknown";
    }
}

/* ---- CRC32 ------------------------------------------------------------------------------ */

/* The byte table is a compile-time constant, so there is no lazy initialisation for two threads
 * to race on: each entry is its byte run through eight steps of the reflected IEEE polynomial. */
#define CRC_POLYNOMIAL 0xEDB88320u
#define CRC_STEP(c) (((c) >> 1) ^ (CRC_POLYNOMIAL & (0u - ((c)&1u))))
#define CRC_BYTE(b)                                                                                \
    CRC_STEP(CRC_STEP(CRC_STEP(CRC_STEP(CRC_STEP(CRC_STEP(CRC_STEP(CRC_STEP((uint32_t)(b)))))))))
#define CRC_ROW4(b) CRC_BYTE(b), CRC_BYTE((b) + 1), CRC_BYTE((b) + 2), CRC_BYTE((b) + 3)
#define CRC_ROW16(b) CRC_ROW4(b), CRC_ROW4((b) + 4), CRC_ROW4((b) + 8), CRC_ROW4((b) + 12)
#define CRC_ROW64(b) CRC_ROW16(b), CRC_ROW16((b) + 16), CRC_ROW16((b) + 32), CRC_ROW16((b) + 48)

static const uint32_t crc_table[256] = {CRC_ROW64(0), CRC_ROW64(64), CRC_ROW64(128),
                                        CRC_ROW64(192)};

uint32_t gc_crc32(uint32_t crc, const void *data, size_t size)
{
    const unsigned char *bytes = data;
    /* zlib's convention: the running value is kept inverted, so 0 starts a fresh CRC and a
     * returned CRC can be passed back in to continue it. */
    crc = ~crc;
    for (size_t i = 0; i < size; i++) crc = crc_table[(crc ^ bytes[i]) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

/* ---- little-endian fields --------------------------------------------------------------- */

static void store_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void store_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t load_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t load_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Callers only pass values at most a few bytes past a real in-memory size, far from overflow. */
static uint64_t align8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

static bool valid_name(const char *name)
{
    size_t length = strlen(name);
    if (length == 0 || length > GC_ARCHIVE_MAX_NAME) return false;
    for (size_t i = 0; i < length; i++) {
        char c = name[i];
        bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                       c == '/' || c == '-';
        if (!allowed) return false;
    }
    return true;
}

/* The header's CRC covers the header and the table with its own field read as zero. */
static uint32_t header_crc(const unsigned char *file, size_t table_end)
{
    static const unsigned char zero_field[4] = {0};
    uint32_t crc = gc_crc32(0, file, HEADER_CRC_AT);
    crc = gc_crc32(crc, zero_field, sizeof zero_field);
    return gc_crc32(crc, file + HEADER_CRC_AT + 4, table_end - (HEADER_CRC_AT + 4));
}

/* ---- writing ---------------------------------------------------------------------------- */

typedef struct pending_section {
    char name[NAME_SIZE];
    uint32_t type;
    unsigned char *payload; /* already in file byte order; NULL for a streamed section */
    size_t size;
    gc_archive_f64_source source; /* a streamed f64 section's producer, called at commit */
    void *context;
} pending_section;

struct gc_archive_writer {
    char *path;
    pending_section *sections;
    size_t count, capacity;
};

gc_status gc_archive_writer_open(gc_archive_writer **out, const char *path)
{
    if (!out) return GC_ERROR(GC_ERR_ARGUMENT, "gc_archive_writer_open: no output pointer");
    *out = NULL;
    if (!path || !*path) return GC_ERROR(GC_ERR_ARGUMENT, "gc_archive_writer_open: no path");
    gc_archive_writer *w = calloc(1, sizeof *w);
    if (w) w->path = strdup(path);
    if (!w || !w->path) {
        free(w);
        return GC_ERROR(GC_ERR_MEMORY, "cannot start %s: out of host memory", path);
    }
    *out = w;
    return GC_OK;
}

void gc_archive_writer_abort(gc_archive_writer *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->count; i++) free(w->sections[i].payload);
    free(w->sections);
    free(w->path);
    free(w);
}

/* Appends a section and hands back its payload buffer of `size` bytes to fill, or, when
 * `payload` is NULL (a streamed section), keeps no buffer at all. Every check comes first, so a
 * refused section leaves the writer unchanged. */
static gc_status add_section(gc_archive_writer *w, const char *name, uint32_t type, size_t size,
                             unsigned char **payload)
{
    if (!w) return GC_ERROR(GC_ERR_ARGUMENT, "cannot add a section: no writer");
    if (!name || !valid_name(name))
        return GC_ERROR(GC_ERR_ARGUMENT,
                        "%s: invalid section name '%s' (1 to %d characters of [a-z0-9_./-])",
                        w->path, name ? name : "(null)", GC_ARCHIVE_MAX_NAME);
    for (size_t i = 0; i < w->count; i++)
        if (strcmp(w->sections[i].name, name) == 0)
            return GC_ERROR(GC_ERR_ARGUMENT, "%s: section '%s' added twice", w->path, name);
    if (w->count == GC_ARCHIVE_MAX_SECTIONS)
        return GC_ERROR(GC_ERR_ARGUMENT, "%s: more than %d sections", w->path,
                        GC_ARCHIVE_MAX_SECTIONS);
    if (w->count == w->capacity) {
        size_t capacity = w->capacity ? 2 * w->capacity : 8;
        pending_section *grown = realloc(w->sections, capacity * sizeof *grown);
        if (!grown) return GC_ERROR(GC_ERR_MEMORY, "%s: out of host memory", w->path);
        w->sections = grown;
        w->capacity = capacity;
    }
    unsigned char *buffer = NULL;
    if (payload) {
        buffer = malloc(size ? size : 1);
        if (!buffer)
            return GC_ERROR(GC_ERR_MEMORY, "%s: out of host memory for section '%s' (%zu bytes)",
                            w->path, name, size);
    }
    pending_section *s = &w->sections[w->count++];
    memset(s, 0, sizeof *s);
    memcpy(s->name, name, strlen(name));
    s->type = type;
    s->payload = buffer;
    s->size = size;
    if (payload) *payload = buffer;
    return GC_OK;
}

/* Byte size of `count` 8-byte values, refusing counts whose size would not fit in size_t. */
static gc_status array_size(const gc_archive_writer *w, const char *name, const void *values,
                            size_t count, size_t *size)
{
    if (count > 0 && !values)
        return GC_ERROR(GC_ERR_ARGUMENT, "section '%s': %zu values but no array",
                        name ? name : "(null)", count);
    if (count > SIZE_MAX / 8)
        return GC_ERROR(GC_ERR_ARGUMENT, "%s: section '%s' of %zu values is too large",
                        w ? w->path : "archive", name ? name : "(null)", count);
    *size = count * 8;
    return GC_OK;
}

gc_status gc_archive_put_bytes(gc_archive_writer *w, const char *name, const void *data,
                               size_t size)
{
    if (size > 0 && !data)
        return GC_ERROR(GC_ERR_ARGUMENT, "section '%s': %zu bytes but no data",
                        name ? name : "(null)", size);
    unsigned char *payload = NULL;
    GC_TRY(add_section(w, name, TYPE_BYTES, size, &payload));
    if (size) memcpy(payload, data, size);
    return GC_OK;
}

gc_status gc_archive_put_text(gc_archive_writer *w, const char *name, const char *text)
{
    if (!text) return GC_ERROR(GC_ERR_ARGUMENT, "section '%s': no text", name ? name : "(null)");
    size_t size = strlen(text);
    unsigned char *payload = NULL;
    GC_TRY(add_section(w, name, TYPE_TEXT, size, &payload));
    memcpy(payload, text, size);
    return GC_OK;
}

/* Through the bit pattern, so -0.0, denormals and NaN payloads come back unchanged. */
static void encode_f64(unsigned char *payload, const double *values, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        uint64_t bits;
        memcpy(&bits, &values[i], sizeof bits);
        store_u64(payload + 8 * i, bits);
    }
}

gc_status gc_archive_put_f64(gc_archive_writer *w, const char *name, const double *values,
                             size_t count)
{
    size_t size = 0;
    unsigned char *payload = NULL;
    GC_TRY(array_size(w, name, values, count, &size));
    GC_TRY(add_section(w, name, TYPE_F64, size, &payload));
    encode_f64(payload, values, count);
    return GC_OK;
}

gc_status gc_archive_put_f64_source(gc_archive_writer *w, const char *name, size_t count,
                                    gc_archive_f64_source source, void *context)
{
    size_t size = 0;
    if (!source)
        return GC_ERROR(GC_ERR_ARGUMENT, "section '%s': no source", name ? name : "(null)");
    /* Any non-NULL pointer stands for the values, which come later from the source. */
    GC_TRY(array_size(w, name, (const void *)source, count, &size));
    GC_TRY(add_section(w, name, TYPE_F64, size, NULL));
    pending_section *s = &w->sections[w->count - 1];
    s->source = source;
    s->context = context;
    return GC_OK;
}

gc_status gc_archive_put_u64(gc_archive_writer *w, const char *name, const uint64_t *values,
                             size_t count)
{
    size_t size = 0;
    unsigned char *payload = NULL;
    GC_TRY(array_size(w, name, values, count, &size));
    GC_TRY(add_section(w, name, TYPE_U64, size, &payload));
    for (size_t i = 0; i < count; i++) store_u64(payload + 8 * i, values[i]);
    return GC_OK;
}

/* The header and section table, from the sections and the payload CRCs computed while they
 * were written. */
static void fill_table(const gc_archive_writer *w, const uint32_t *crcs, unsigned char *table,
                       size_t table_end)
{
    memset(table, 0, table_end);
    uint64_t offset = table_end;
    for (size_t i = 0; i < w->count; i++) {
        const pending_section *s = &w->sections[i];
        unsigned char *entry = table + HEADER_SIZE + i * ENTRY_SIZE;
        memcpy(entry, s->name, NAME_SIZE);
        store_u32(entry + 32, s->type);
        store_u32(entry + 36, crcs[i]);
        store_u64(entry + 40, offset);
        store_u64(entry + 48, s->size);
        offset = align8(offset + s->size);
    }
    memcpy(table, MAGIC, sizeof MAGIC);
    store_u32(table + 8, GC_ARCHIVE_VERSION);
    store_u32(table + 12, (uint32_t)w->count);
    store_u64(table + 16, offset);
    store_u32(table + HEADER_CRC_AT, header_crc(table, table_end));
}

/* Values a streamed section asks its source for at a time: 512 KiB of doubles and as much
 * again encoded, instead of the whole section (177 MB for each of the default image model's
 * three parameter-sized sections). */
enum { STREAM_CHUNK_VALUES = 1 << 16 };

typedef struct stream_buffers {
    double *values;
    unsigned char *bytes;
} stream_buffers;

/* Writes a streamed section's values as its source hands them out, computing the CRC on the
 * way. A source's failure is returned as it is, with the source's own message. */
static gc_status write_streamed(FILE *file, const gc_archive_writer *w, const pending_section *s,
                                stream_buffers *buffers, uint32_t *crc)
{
    size_t count = s->size / 8;
    if (!buffers->values) {
        buffers->values = malloc(STREAM_CHUNK_VALUES * sizeof *buffers->values);
        buffers->bytes = malloc(STREAM_CHUNK_VALUES * 8);
        if (!buffers->values || !buffers->bytes)
            return GC_ERROR(GC_ERR_MEMORY, "cannot write %s: out of host memory", w->path);
    }
    for (size_t first = 0; first < count; first += STREAM_CHUNK_VALUES) {
        size_t part = count - first < STREAM_CHUNK_VALUES ? count - first : STREAM_CHUNK_VALUES;
        GC_TRY(s->source(s->context, first, buffers->values, part));
        encode_f64(buffers->bytes, buffers->values, part);
        *crc = gc_crc32(*crc, buffers->bytes, part * 8);
        if (fwrite(buffers->bytes, 1, part * 8, file) != part * 8)
            return GC_ERROR(GC_ERR_IO, "cannot write %s: %s", w->path, strerror(errno));
    }
    return GC_OK;
}

/* Writes the whole file: a zeroed header and table first (a file cut short there is "not a
 * glowcl file"), then every payload with its CRC computed as it goes out, then the real header
 * and table over the zeros. */
static gc_status write_file(FILE *file, const gc_archive_writer *w)
{
    static const unsigned char padding[8] = {0};
    size_t table_end = HEADER_SIZE + w->count * ENTRY_SIZE;
    unsigned char *table = calloc(1, table_end);
    uint32_t *crcs = calloc(w->count ? w->count : 1, sizeof *crcs);
    stream_buffers buffers = {NULL, NULL};
    gc_status status = GC_OK;
    if (!table || !crcs)
        status = GC_ERROR(GC_ERR_MEMORY, "cannot write %s: out of host memory", w->path);
    if (status == GC_OK && fwrite(table, 1, table_end, file) != table_end)
        status = GC_ERROR(GC_ERR_IO, "cannot write %s: %s", w->path, strerror(errno));
    for (size_t i = 0; status == GC_OK && i < w->count; i++) {
        const pending_section *s = &w->sections[i];
        if (s->source) {
            status = write_streamed(file, w, s, &buffers, &crcs[i]);
        } else {
            crcs[i] = gc_crc32(0, s->payload, s->size);
            if (fwrite(s->payload, 1, s->size, file) != s->size)
                status = GC_ERROR(GC_ERR_IO, "cannot write %s: %s", w->path, strerror(errno));
        }
        size_t pad = (size_t)(align8(s->size) - s->size);
        if (status == GC_OK && fwrite(padding, 1, pad, file) != pad)
            status = GC_ERROR(GC_ERR_IO, "cannot write %s: %s", w->path, strerror(errno));
    }
    if (status == GC_OK) {
        fill_table(w, crcs, table, table_end);
        if (fseek(file, 0, SEEK_SET) != 0 || fwrite(table, 1, table_end, file) != table_end)
            status = GC_ERROR(GC_ERR_IO, "cannot write %s: %s", w->path, strerror(errno));
    }
    free(buffers.values);
    free(buffers.bytes);
    free(crcs);
    free(table);
    return status;
}

/* Makes the rename itself durable. Best effort: by now `path` already holds the complete new
 * file, and some filesystems refuse to fsync a folder, which must not turn a good save into a
 * reported failure. */
static void sync_folder_of(const char *path)
{
    char *folder = strdup(path);
    if (!folder) return;
    char *slash = strrchr(folder, '/');
    const char *name = folder;
    if (!slash)
        name = ".";
    else if (slash == folder)
        folder[1] = '\0';
    else
        *slash = '\0';
    int fd = open(name, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(folder);
}

gc_status gc_archive_temporary_path(const char *path, char *out, size_t size)
{
    if (!path || !out)
        return GC_ERROR(GC_ERR_ARGUMENT, "gc_archive_temporary_path: no path or no room");
    /* The pid keeps two processes saving the same path from writing into one temporary. */
    int length = snprintf(out, size, "%s.tmp.%ld", path, (long)getpid());
    if (length < 0 || (size_t)length >= size)
        return GC_ERROR(GC_ERR_ARGUMENT, "%s: path too long for its temporary name", path);
    return GC_OK;
}

gc_status gc_write_file_atomically(const char *path, gc_file_contents write, void *context)
{
    if (!path || !write) return GC_ERROR(GC_ERR_ARGUMENT, "gc_write_file_atomically: no path");
    size_t temporary_size = strlen(path) + 32;
    char *temporary = malloc(temporary_size);
    if (!temporary) return GC_ERROR(GC_ERR_MEMORY, "cannot write %s: out of host memory", path);
    gc_status status = gc_archive_temporary_path(path, temporary, temporary_size);
    FILE *file = status == GC_OK ? fopen(temporary, "wb") : NULL;
    if (status == GC_OK && !file) {
        status = GC_ERROR(GC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    } else if (file) {
        status = write(file, context);
        /* fsync before rename: otherwise a crash could leave the new name pointing at a file
         * whose data never reached the disk, losing the old contents as well. */
        if (status == GC_OK && (fflush(file) != 0 || fsync(fileno(file)) != 0))
            status = GC_ERROR(GC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        int close_errno = 0;
        if (fclose(file) != 0) close_errno = errno;
        if (status == GC_OK && close_errno)
            status = GC_ERROR(GC_ERR_IO, "cannot write %s: %s", path, strerror(close_errno));
        if (status == GC_OK && rename(temporary, path) != 0)
            status =
                GC_ERROR(GC_ERR_IO, "cannot rename %s to %s: %s", temporary, path, strerror(errno));
        if (status != GC_OK) remove(temporary);
    }
    if (status == GC_OK) sync_folder_of(path);
    free(temporary);
    return status;
}

static gc_status write_archive(FILE *file, void *writer) { return write_file(file, writer); }

gc_status gc_archive_writer_commit(gc_archive_writer *w)
{
    if (!w) return GC_ERROR(GC_ERR_ARGUMENT, "gc_archive_writer_commit: no writer");
    gc_status status = gc_write_file_atomically(w->path, write_archive, w);
    gc_archive_writer_abort(w);
    return status;
}

/* ---- reading ---------------------------------------------------------------------------- */

typedef struct stored_section {
    char name[NAME_SIZE];
    uint32_t type;
    const unsigned char *payload; /* inside the archive's copy of the file */
    size_t size;
    char *text; /* text sections only: the payload with a NUL added */
} stored_section;

struct gc_archive {
    char *label;
    unsigned char *file;
    size_t size;
    stored_section *sections;
    size_t count;
};

int gc_archive_has_magic(const void *data, size_t size)
{
    return data && size >= sizeof MAGIC && memcmp(data, MAGIC, sizeof MAGIC) == 0;
}

void gc_archive_free(gc_archive *a)
{
    if (!a) return;
    for (size_t i = 0; a->sections && i < a->count; i++) free(a->sections[i].text);
    free(a->sections);
    free(a->file);
    free(a->label);
    free(a);
}

static gc_status verify_header(const gc_archive *a, uint32_t *count_out)
{
    const unsigned char *f = a->file;
    size_t size = a->size;
    const char *label = a->label;
    if (size == 0) return GC_ERROR(GC_ERR_FORMAT, "%s: empty file (truncated: 0 bytes)", label);
    size_t magic_present = size < sizeof MAGIC ? size : sizeof MAGIC;
    if (memcmp(f, MAGIC, magic_present) != 0)
        return GC_ERROR(GC_ERR_FORMAT, "%s: not a glowcl file", label);
    /* The version comes before anything else a newer format might lay out differently. */
    if (size < 12)
        return GC_ERROR(GC_ERR_FORMAT, "%s: truncated: %zu bytes, less than the %d-byte header",
                        label, size, HEADER_SIZE);
    uint32_t version = load_u32(f + 8);
    if (version == 0) return GC_ERROR(GC_ERR_FORMAT, "%s: invalid format version 0", label);
    if (version > GC_ARCHIVE_VERSION)
        return GC_ERROR(GC_ERR_FORMAT,
                        "%s: written by a newer glowcl: format version %lu, this build reads up "
                        "to %d",
                        label, (unsigned long)version, GC_ARCHIVE_VERSION);
    if (size < HEADER_SIZE)
        return GC_ERROR(GC_ERR_FORMAT, "%s: truncated: %zu bytes, less than the %d-byte header",
                        label, size, HEADER_SIZE);
    uint32_t count = load_u32(f + 12);
    uint64_t total = load_u64(f + 16);
    uint64_t table_end = HEADER_SIZE + (uint64_t)count * ENTRY_SIZE;
    if (table_end > size) {
        /* Without the whole table there is no CRC to tell a cut file from a garbled count;
         * a recorded size beyond the end is by far the likelier story. */
        if (total > size)
            return GC_ERROR(GC_ERR_FORMAT, "%s: truncated: %zu of %llu bytes", label, size,
                            (unsigned long long)total);
        return GC_ERROR(GC_ERR_FORMAT,
                        "%s: header is corrupted (%lu sections do not fit in %zu bytes)", label,
                        (unsigned long)count, size);
    }
    if (header_crc(f, (size_t)table_end) != load_u32(f + HEADER_CRC_AT))
        return GC_ERROR(GC_ERR_FORMAT, "%s: header is corrupted (CRC mismatch)", label);
    if (total > size)
        return GC_ERROR(GC_ERR_FORMAT, "%s: truncated: %zu of %llu bytes", label, size,
                        (unsigned long long)total);
    if (total < size)
        return GC_ERROR(GC_ERR_FORMAT, "%s: %zu bytes, but its header says %llu (data appended?)",
                        label, size, (unsigned long long)total);
    if (load_u32(f + 28) != 0)
        return GC_ERROR(GC_ERR_FORMAT, "%s: malformed header (reserved field is not zero)", label);
    if (count > GC_ARCHIVE_MAX_SECTIONS)
        return GC_ERROR(GC_ERR_FORMAT, "%s: %lu sections, more than the %d this build reads", label,
                        (unsigned long)count, GC_ARCHIVE_MAX_SECTIONS);
    *count_out = count;
    return GC_OK;
}

/* A name field must be a valid name followed only by NUL bytes. */
static bool read_name(const unsigned char *field, char name[NAME_SIZE])
{
    memcpy(name, field, NAME_SIZE);
    size_t length = strnlen(name, NAME_SIZE);
    if (length == NAME_SIZE) return false;
    for (size_t k = length; k < NAME_SIZE; k++)
        if (name[k] != '\0') return false;
    return valid_name(name);
}

static gc_status verify_section(gc_archive *a, size_t index, uint64_t expected_offset)
{
    const unsigned char *entry = a->file + HEADER_SIZE + index * ENTRY_SIZE;
    stored_section *s = &a->sections[index];
    const char *label = a->label;
    if (!read_name(entry, s->name))
        return GC_ERROR(GC_ERR_FORMAT, "%s: section %zu has a malformed name", label, index);
    for (size_t k = 0; k < index; k++)
        if (strcmp(a->sections[k].name, s->name) == 0)
            return GC_ERROR(GC_ERR_FORMAT, "%s: section '%s' appears twice", label, s->name);
    s->type = load_u32(entry + 32);
    uint32_t crc = load_u32(entry + 36);
    uint64_t offset = load_u64(entry + 40), size = load_u64(entry + 48);
    if (s->type < TYPE_BYTES || s->type > TYPE_U64)
        return GC_ERROR(GC_ERR_FORMAT, "%s: section '%s' has unknown type %lu", label, s->name,
                        (unsigned long)s->type);
    /* Bounds before placement, so the message names the likelier fault of a foreign file. */
    if (offset > a->size || size > a->size - offset)
        return GC_ERROR(GC_ERR_FORMAT,
                        "%s: section '%s' is out of bounds (%llu bytes at offset %llu in a "
                        "file of %zu)",
                        label, s->name, (unsigned long long)size, (unsigned long long)offset,
                        a->size);
    if (offset != expected_offset)
        return GC_ERROR(GC_ERR_FORMAT, "%s: section '%s' is misplaced (at %llu, not %llu)", label,
                        s->name, (unsigned long long)offset, (unsigned long long)expected_offset);
    if ((s->type == TYPE_F64 || s->type == TYPE_U64) && size % 8 != 0)
        return GC_ERROR(GC_ERR_FORMAT,
                        "%s: section '%s' is a %s of %llu bytes, not a multiple of 8", label,
                        s->name, type_name(s->type), (unsigned long long)size);
    s->payload = a->file + offset;
    s->size = (size_t)size;
    if (gc_crc32(0, s->payload, s->size) != crc)
        return GC_ERROR(GC_ERR_FORMAT, "%s: section '%s' is corrupted (CRC mismatch)", label,
                        s->name);
    if (s->type == TYPE_TEXT) {
        if (memchr(s->payload, '\0', s->size))
            return GC_ERROR(GC_ERR_FORMAT, "%s: text section '%s' holds a NUL byte", label,
                            s->name);
        s->text = malloc(s->size + 1);
        if (!s->text) return GC_ERROR(GC_ERR_MEMORY, "%s: out of host memory", label);
        memcpy(s->text, s->payload, s->size);
        s->text[s->size] = '\0';
    }
    return GC_OK;
}

static gc_status verify(gc_archive *a)
{
    uint32_t count = 0;
    GC_TRY(verify_header(a, &count));
    a->sections = calloc(count ? count : 1, sizeof *a->sections);
    if (!a->sections) return GC_ERROR(GC_ERR_MEMORY, "%s: out of host memory", a->label);
    a->count = count;
    uint64_t cursor = HEADER_SIZE + (uint64_t)count * ENTRY_SIZE;
    for (size_t i = 0; i < count; i++) {
        GC_TRY(verify_section(a, i, cursor));
        uint64_t end = (uint64_t)(a->sections[i].payload - a->file) + a->sections[i].size;
        cursor = align8(end);
        /* Padding is the one part no CRC covers, so it must be exactly zero. */
        for (uint64_t k = end; k < cursor && k < a->size; k++)
            if (a->file[k] != 0)
                return GC_ERROR(GC_ERR_FORMAT, "%s: nonzero padding after section '%s'", a->label,
                                a->sections[i].name);
    }
    if (cursor != a->size)
        return GC_ERROR(GC_ERR_FORMAT, "%s: malformed: sections end at byte %llu, the file at %zu",
                        a->label, (unsigned long long)cursor, a->size);
    return GC_OK;
}

/* Takes ownership of `file` (malloc'ed), whatever the outcome. */
static gc_status adopt(gc_archive **out, unsigned char *file, size_t size, const char *label)
{
    gc_archive *a = calloc(1, sizeof *a);
    if (a) a->label = strdup(label);
    if (!a || !a->label) {
        free(a);
        free(file);
        return GC_ERROR(GC_ERR_MEMORY, "%s: out of host memory", label);
    }
    a->file = file;
    a->size = size;
    gc_status status = verify(a);
    if (status != GC_OK) {
        gc_archive_free(a);
        return status;
    }
    *out = a;
    return GC_OK;
}

gc_status gc_archive_read_memory(gc_archive **out, const void *data, size_t size, const char *label)
{
    if (!out) return GC_ERROR(GC_ERR_ARGUMENT, "gc_archive_read_memory: no output pointer");
    *out = NULL;
    if (!label) label = "(memory)";
    if (size > 0 && !data)
        return GC_ERROR(GC_ERR_ARGUMENT, "%s: %zu bytes but no data", label, size);
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy) return GC_ERROR(GC_ERR_MEMORY, "%s: out of host memory (%zu bytes)", label, size);
    if (size) memcpy(copy, data, size);
    return adopt(out, copy, size, label);
}

/* The size from fstat is only a first guess, since the file may change while it is read;
 * reading goes on to the real end. */
static gc_status read_whole(FILE *file, const char *path, unsigned char **data_out,
                            size_t *size_out)
{
    struct stat info;
    size_t capacity = 65536;
    if (fstat(fileno(file), &info) == 0 && S_ISREG(info.st_mode) && info.st_size >= 0 &&
        (uintmax_t)info.st_size < SIZE_MAX / 2)
        capacity = (size_t)info.st_size + 1; /* the extra byte lets the first read see the end */
    unsigned char *data = malloc(capacity);
    size_t size = 0;
    for (;;) {
        if (!data) return GC_ERROR(GC_ERR_MEMORY, "cannot read %s: out of host memory", path);
        size += fread(data + size, 1, capacity - size, file);
        if (size < capacity) break; /* a short read: the end, or an error */
        unsigned char *grown = capacity <= SIZE_MAX / 2 ? realloc(data, 2 * capacity) : NULL;
        if (!grown) free(data);
        data = grown;
        capacity *= 2;
    }
    if (ferror(file)) {
        int read_errno = errno;
        free(data);
        return GC_ERROR(GC_ERR_IO, "cannot read %s: %s", path, strerror(read_errno));
    }
    *data_out = data;
    *size_out = size;
    return GC_OK;
}

gc_status gc_read_file(const char *path, unsigned char **data, size_t *size)
{
    if (!data || !size) return GC_ERROR(GC_ERR_ARGUMENT, "gc_read_file: no output pointer");
    *data = NULL;
    *size = 0;
    if (!path) return GC_ERROR(GC_ERR_ARGUMENT, "gc_read_file: no path");
    FILE *file = fopen(path, "rb");
    if (!file) return GC_ERROR(GC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    gc_status status = read_whole(file, path, data, size);
    fclose(file);
    return status;
}

gc_status gc_archive_read(gc_archive **out, const char *path)
{
    if (!out) return GC_ERROR(GC_ERR_ARGUMENT, "gc_archive_read: no output pointer");
    *out = NULL;
    if (!path) return GC_ERROR(GC_ERR_ARGUMENT, "gc_archive_read: no path");
    unsigned char *data = NULL;
    size_t size = 0;
    GC_TRY(gc_read_file(path, &data, &size));
    return adopt(out, data, size, path);
}

static gc_status find(const gc_archive *a, const char *name, uint32_t type,
                      const stored_section **out)
{
    if (!a || !name) return GC_ERROR(GC_ERR_ARGUMENT, "archive lookup without archive or name");
    for (size_t i = 0; i < a->count; i++) {
        const stored_section *s = &a->sections[i];
        if (strcmp(s->name, name) != 0) continue;
        if (s->type != type)
            return GC_ERROR(GC_ERR_FORMAT, "%s: section '%s' has type %s, not %s", a->label, name,
                            type_name(s->type), type_name(type));
        *out = s;
        return GC_OK;
    }
    return GC_ERROR(GC_ERR_FORMAT, "%s: no section '%s'", a->label, name);
}

int gc_archive_has(const gc_archive *a, const char *name)
{
    if (!a || !name) return 0;
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->sections[i].name, name) == 0) return 1;
    return 0;
}

gc_status gc_archive_get_bytes(const gc_archive *a, const char *name, const void **data,
                               size_t *size)
{
    const stored_section *s = NULL;
    if (!data || !size) return GC_ERROR(GC_ERR_ARGUMENT, "gc_archive_get_bytes: no output");
    GC_TRY(find(a, name, TYPE_BYTES, &s));
    *data = s->payload;
    *size = s->size;
    return GC_OK;
}

gc_status gc_archive_get_text(const gc_archive *a, const char *name, const char **text)
{
    const stored_section *s = NULL;
    if (!text) return GC_ERROR(GC_ERR_ARGUMENT, "gc_archive_get_text: no output");
    GC_TRY(find(a, name, TYPE_TEXT, &s));
    *text = s->text;
    return GC_OK;
}

static gc_status find_values(const gc_archive *a, const char *name, uint32_t type,
                             const void *values, size_t count, const stored_section **s)
{
    if (count > 0 && !values)
        return GC_ERROR(GC_ERR_ARGUMENT, "reading section '%s': no array for %zu values",
                        name ? name : "(null)", count);
    GC_TRY(find(a, name, type, s));
    if ((*s)->size / 8 != count)
        return GC_ERROR(GC_ERR_FORMAT, "%s: section '%s' holds %zu values, expected %zu", a->label,
                        name, (*s)->size / 8, count);
    return GC_OK;
}

static void decode_f64(const unsigned char *payload, double *values, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        uint64_t bits = load_u64(payload + 8 * i);
        memcpy(&values[i], &bits, sizeof bits);
    }
}

gc_status gc_archive_get_f64(const gc_archive *a, const char *name, double *values, size_t count)
{
    const stored_section *s = NULL;
    GC_TRY(find_values(a, name, TYPE_F64, values, count, &s));
    decode_f64(s->payload, values, count);
    return GC_OK;
}

gc_status gc_archive_get_u64(const gc_archive *a, const char *name, uint64_t *values, size_t count)
{
    const stored_section *s = NULL;
    GC_TRY(find_values(a, name, TYPE_U64, values, count, &s));
    for (size_t i = 0; i < count; i++) values[i] = load_u64(s->payload + 8 * i);
    return GC_OK;
}

gc_status gc_archive_get_f64_alloc(const gc_archive *a, const char *name, double **values,
                                   size_t *count)
{
    const stored_section *s = NULL;
    if (!values || !count) return GC_ERROR(GC_ERR_ARGUMENT, "gc_archive_get_f64_alloc: no output");
    *values = NULL;
    *count = 0;
    GC_TRY(find(a, name, TYPE_F64, &s));
    size_t n = s->size / 8;
    double *array = malloc(n ? n * sizeof *array : 1);
    if (!array)
        return GC_ERROR(GC_ERR_MEMORY, "%s: out of host memory for section '%s' (%zu values)",
                        a->label, name, n);
    decode_f64(s->payload, array, n);
    *values = array;
    *count = n;
    return GC_OK;
}

/* ---- key=value config text -------------------------------------------------------------- */

/* The value of `key`: the rest of its line after the '='. Not NUL-terminated. */
static gc_status find_config_value(const char *text, const char *key, const char **value,
                                   size_t *length)
{
    if (!text || !key) return GC_ERROR(GC_ERR_ARGUMENT, "config lookup without text or key");
    size_t key_length = strlen(key);
    if (key_length == 0 || strpbrk(key, "=\n"))
        return GC_ERROR(GC_ERR_ARGUMENT, "invalid config key '%s'", key);
    const char *found = NULL;
    size_t found_length = 0;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t line_length = end ? (size_t)(end - line) : strlen(line);
        if (line_length > key_length && memcmp(line, key, key_length) == 0 &&
            line[key_length] == '=') {
            /* Two values would make the answer depend on which one a reader happens to take. */
            if (found) return GC_ERROR(GC_ERR_FORMAT, "config sets '%s' twice", key);
            found = line + key_length + 1;
            found_length = line_length - key_length - 1;
        }
        if (!end) break;
        line = end + 1;
    }
    if (!found) return GC_ERROR(GC_ERR_FORMAT, "config has no '%s'", key);
    *value = found;
    *length = found_length;
    return GC_OK;
}

/* Copies a numeric value into `buffer`, refusing what strtol/strtod would quietly skip over
 * (leading blanks) or what cannot be a number at all (empty, too long for any number). */
static bool copy_number(const char *value, size_t length, char *buffer, size_t buffer_size)
{
    if (length == 0 || length >= buffer_size) return false;
    char first = value[0];
    if (!((first >= '0' && first <= '9') || first == '-' || first == '+' || first == '.'))
        return false;
    memcpy(buffer, value, length);
    buffer[length] = '\0';
    return true;
}

gc_status gc_config_get_long(const char *text, const char *key, long *value)
{
    const char *found = NULL;
    size_t length = 0;
    char buffer[64];
    if (!value) return GC_ERROR(GC_ERR_ARGUMENT, "gc_config_get_long: no output");
    GC_TRY(find_config_value(text, key, &found, &length));
    int shown = length > 40 ? 40 : (int)length;
    if (!copy_number(found, length, buffer, sizeof buffer))
        return GC_ERROR(GC_ERR_FORMAT, "config value of '%s' is not an integer: '%.*s'", key, shown,
                        found);
    char *end = NULL;
    errno = 0;
    long parsed = strtol(buffer, &end, 10);
    if (end == buffer || *end != '\0')
        return GC_ERROR(GC_ERR_FORMAT, "config value of '%s' is not an integer: '%.*s'", key, shown,
                        found);
    if (errno == ERANGE)
        return GC_ERROR(GC_ERR_FORMAT, "config value of '%s' is out of range: '%.*s'", key, shown,
                        found);
    *value = parsed;
    return GC_OK;
}

gc_status gc_config_get_double(const char *text, const char *key, double *value)
{
    const char *found = NULL;
    size_t length = 0;
    char buffer[128];
    if (!value) return GC_ERROR(GC_ERR_ARGUMENT, "gc_config_get_double: no output");
    GC_TRY(find_config_value(text, key, &found, &length));
    int shown = length > 40 ? 40 : (int)length;
    char *end = NULL;
    double parsed = 0.0;
    bool ok = copy_number(found, length, buffer, sizeof buffer);
    if (ok) {
        parsed = strtod(buffer, &end);
        ok = end != buffer && *end == '\0';
    }
    /* Overflow comes back as infinity and is refused with it; underflow to a denormal or zero
     * is the closest double there is, so it is accepted (errno is not consulted). */
    if (!ok || !isfinite(parsed))
        return GC_ERROR(GC_ERR_FORMAT, "config value of '%s' is not a finite number: '%.*s'", key,
                        shown, found);
    *value = parsed;
    return GC_OK;
}

gc_status gc_config_get_string(const char *text, const char *key, char *out, size_t out_size)
{
    const char *found = NULL;
    size_t length = 0;
    if (!out || out_size == 0)
        return GC_ERROR(GC_ERR_ARGUMENT, "gc_config_get_string: no room for the value");
    GC_TRY(find_config_value(text, key, &found, &length));
    if (length >= out_size)
        return GC_ERROR(GC_ERR_FORMAT, "config value of '%s' is too long (%zu bytes, room for %zu)",
                        key, length, out_size - 1);
    memcpy(out, found, length);
    out[length] = '\0';
    return GC_OK;
}
