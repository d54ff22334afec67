/* .npz archives (include/glowcl/npy.h): zip files of .npy members. The reader takes the sizes
 * and offsets of each member from the central directory at the end of the file, as zip readers
 * do (numpy.savez writes local headers whose sizes are placeholders of a ZIP64 field), checks
 * every one against the file's size before using it, inflates deflated members with zlib and
 * checks each member's CRC-32. The writer stores its members uncompressed, as numpy.savez does. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "glowcl/archive.h"
#include "glowcl/npy.h"
#include "npy_internal.h"

enum {
    LOCAL_SIGNATURE = 0x04034b50,
    CENTRAL_SIGNATURE = 0x02014b50,
    END_SIGNATURE = 0x06054b50,
    LOCAL_SIZE = 30,
    CENTRAL_SIZE = 46,
    END_SIZE = 22,
    MAX_COMMENT = 65535,
    ZIP_VERSION = 20, /* 2.0: what stored and deflated members need */
    DOS_DATE = 0x21,  /* 1980-01-01, the earliest date a zip holds: files do not vary by time */
    METHOD_STORED = 0,
    METHOD_DEFLATED = 8,
    MAX_NAME = 200,
    DEFLATE_MAX_RATIO = 1032, /* deflate's best case: no member inflates past this many times */
};

static uint32_t get16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t get32(const uint8_t *p) { return get16(p) | get16(p + 2) << 16; }
static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v), put16(p + 2, v >> 16); }

/* ---- reading ---- */

struct gc_npz {
    char *label;
    size_t count;
    char **names;
    gc_npy_array *arrays;
};

void gc_npz_free(gc_npz *npz)
{
    if (!npz) return;
    for (size_t i = 0; i < npz->count; i++) {
        free(npz->names[i]);
        gc_npy_free(&npz->arrays[i]);
    }
    free(npz->names);
    free(npz->arrays);
    free(npz->label);
    free(npz);
}

size_t gc_npz_count(const gc_npz *npz) { return npz ? npz->count : 0; }

const char *gc_npz_name(const gc_npz *npz, size_t index)
{
    return npz && index < npz->count ? npz->names[index] : NULL;
}

const gc_npy_array *gc_npz_array(const gc_npz *npz, size_t index)
{
    return npz && index < npz->count ? &npz->arrays[index] : NULL;
}

gc_status gc_npz_find(const gc_npz *npz, const char *name, const gc_npy_array **array)
{
    if (!npz || !name || !array) return GC_ERROR(GC_ERR_ARGUMENT, "gc_npz_find: NULL argument");
    for (size_t i = 0; i < npz->count; i++)
        if (strcmp(npz->names[i], name) == 0) {
            *array = &npz->arrays[i];
            return GC_OK;
        }
    char list[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < npz->count && used < sizeof list; i++)
        used +=
            (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", npz->names[i]);
    return GC_ERROR(GC_ERR_FORMAT, "%s: no array '%s' (it holds %s)", npz->label, name,
                    npz->count ? list : "none");
}

/* One member as the central directory describes it. */
typedef struct zip_member {
    char name[MAX_NAME + 5]; /* with ".npy" */
    uint32_t method, crc, flags;
    size_t packed, size, local;
} zip_member;

/* The end-of-central-directory record: the offset and size of the directory and its entries. */
static gc_status find_directory(const uint8_t *zip, size_t size, const char *label, size_t *at,
                                size_t *length, size_t *entries)
{
    if (size < END_SIZE || get32(zip) != LOCAL_SIGNATURE) {
        if (size >= END_SIZE && get32(zip) == END_SIGNATURE) {
            *at = *length = *entries = 0; /* an empty archive: the end record alone */
            return GC_OK;
        }
        if (size >= 6 && memcmp(zip, "\x93NUMPY", 6) == 0)
            return GC_ERROR(GC_ERR_FORMAT, "%s is a .npy file, not a .npz archive", label);
        return GC_ERROR(GC_ERR_FORMAT, "%s is not a .npz (zip) archive", label);
    }
    size_t lowest = size - END_SIZE > MAX_COMMENT ? size - END_SIZE - MAX_COMMENT : 0;
    for (size_t end = size - END_SIZE + 1; end-- > lowest;) {
        const uint8_t *e = zip + end;
        if (get32(e) != END_SIGNATURE || end + END_SIZE + get16(e + 20) != size) continue;
        *entries = get16(e + 10);
        *length = get32(e + 12);
        *at = get32(e + 16);
        if (get16(e + 4) != 0 || get16(e + 6) != 0 || get16(e + 8) != *entries)
            return GC_ERROR(GC_ERR_FORMAT, "%s: a zip archive of several disks", label);
        if (*entries == 0xffff || *at == 0xffffffffu || *length == 0xffffffffu)
            return GC_ERROR(GC_ERR_FORMAT, "%s: a ZIP64 archive, which glowcl does not read",
                            label);
        if (*at > end || *length > end - *at)
            return GC_ERROR(GC_ERR_FORMAT, "%s: the zip directory lies outside the file", label);
        return GC_OK;
    }
    return GC_ERROR(GC_ERR_FORMAT, "%s: a zip archive without its end record (truncated?)", label);
}

/* The central directory entry at *at (within [0, end)), moving *at past it. */
static gc_status read_entry(const uint8_t *zip, size_t *at, size_t end, const char *label,
                            zip_member *m)
{
    const uint8_t *e = zip + *at;
    if (end - *at < CENTRAL_SIZE || get32(e) != CENTRAL_SIGNATURE)
        return GC_ERROR(GC_ERR_FORMAT, "%s: a damaged zip directory", label);
    size_t name_length = get16(e + 28);
    size_t entry_size = CENTRAL_SIZE + name_length + get16(e + 30) + get16(e + 32);
    if (end - *at < entry_size)
        return GC_ERROR(GC_ERR_FORMAT, "%s: a damaged zip directory", label);
    if (name_length <= 4 || name_length > MAX_NAME + 4 ||
        memcmp(e + CENTRAL_SIZE + name_length - 4, ".npy", 4) != 0)
        return GC_ERROR(GC_ERR_FORMAT, "%s: member '%.*s' is not a .npy array", label,
                        (int)(name_length < 256 ? name_length : 256),
                        (const char *)e + CENTRAL_SIZE);
    memcpy(m->name, e + CENTRAL_SIZE, name_length);
    m->name[name_length] = '\0';
    if (memchr(m->name, '\0', name_length))
        return GC_ERROR(GC_ERR_FORMAT, "%s: a member name with a NUL byte", label);
    m->flags = get16(e + 8);
    m->method = get16(e + 10);
    m->crc = get32(e + 16);
    m->packed = get32(e + 20);
    m->size = get32(e + 24);
    m->local = get32(e + 42);
    if (m->packed == 0xffffffffu || m->size == 0xffffffffu || m->local == 0xffffffffu)
        return GC_ERROR(GC_ERR_FORMAT, "%s: %s is a ZIP64 member, which glowcl does not read",
                        label, m->name);
    *at += entry_size;
    return GC_OK;
}

/* The member's bytes, as stored (*stored points into the zip): after its local header, whose
 * name and extra field lengths are its own, and before the directory. */
static gc_status locate(const uint8_t *zip, size_t directory, const char *label,
                        const zip_member *m, const uint8_t **stored)
{
    if (m->flags & 1) return GC_ERROR(GC_ERR_FORMAT, "%s: %s is encrypted", label, m->name);
    if (m->method != METHOD_STORED && m->method != METHOD_DEFLATED)
        return GC_ERROR(GC_ERR_FORMAT,
                        "%s: %s is compressed with zip method %u; glowcl reads stored and "
                        "deflated members (numpy.savez, numpy.savez_compressed)",
                        label, m->name, (unsigned)m->method);
    const uint8_t *h = zip + m->local;
    if (m->local > directory || directory - m->local < LOCAL_SIZE || get32(h) != LOCAL_SIGNATURE)
        return GC_ERROR(GC_ERR_FORMAT, "%s: %s has no local header where the directory says", label,
                        m->name);
    size_t start = m->local + LOCAL_SIZE + get16(h + 26) + get16(h + 28);
    if (start > directory || directory - start < m->packed)
        return GC_ERROR(GC_ERR_FORMAT, "%s: %s runs past the end of the archive's data", label,
                        m->name);
    *stored = zip + start;
    return GC_OK;
}

/* The member's .npy bytes in a malloc'd buffer: copied, or inflated with zlib, CRC checked. */
static gc_status unpack(const uint8_t *stored, const char *label, const zip_member *m,
                        uint8_t **out)
{
    if (m->method == METHOD_STORED && m->packed != m->size)
        return GC_ERROR(GC_ERR_FORMAT, "%s: stored member %s has two sizes", label, m->name);
    /* Bounds what a forged size can make glowcl allocate: deflate never packs tighter. */
    if (m->method == METHOD_DEFLATED && m->size / DEFLATE_MAX_RATIO > m->packed + 1)
        return GC_ERROR(GC_ERR_FORMAT, "%s: %s claims %zu bytes from %zu deflated ones", label,
                        m->name, m->size, m->packed);
    uint8_t *bytes = malloc(m->size ? m->size : 1);
    if (!bytes) return GC_ERROR(GC_ERR_MEMORY, "%s: no memory for %s", label, m->name);
    bool whole = true;
    if (m->method == METHOD_STORED) {
        memcpy(bytes, stored, m->size);
    } else {
        z_stream z = {0};
        z.next_in = (Bytef *)(uintptr_t)stored, z.avail_in = (uInt)m->packed;
        z.next_out = bytes, z.avail_out = (uInt)m->size;
        whole = inflateInit2(&z, -MAX_WBITS) == Z_OK && inflate(&z, Z_FINISH) == Z_STREAM_END &&
                z.total_out == m->size;
        inflateEnd(&z);
    }
    gc_status status = GC_OK;
    if (!whole)
        status = GC_ERROR(GC_ERR_FORMAT, "%s: %s: damaged deflated data", label, m->name);
    else if (gc_crc32(0, bytes, m->size) != m->crc)
        status = GC_ERROR(GC_ERR_FORMAT, "%s: %s is damaged (CRC-32 mismatch)", label, m->name);
    if (status != GC_OK) free(bytes);
    *out = status == GC_OK ? bytes : NULL;
    return status;
}

/* Member `index` of the archive into npz (its name without ".npy", and its array). */
static gc_status read_member(gc_npz *npz, const uint8_t *zip, size_t directory, const zip_member *m)
{
    size_t index = npz->count;
    size_t name_length = strlen(m->name) - 4;
    for (size_t i = 0; i < index; i++)
        if (strlen(npz->names[i]) == name_length && !memcmp(npz->names[i], m->name, name_length))
            return GC_ERROR(GC_ERR_FORMAT, "%s: %s is there twice", npz->label, m->name);
    const uint8_t *stored = NULL;
    uint8_t *bytes = NULL;
    GC_TRY(locate(zip, directory, npz->label, m, &stored));
    GC_TRY(unpack(stored, npz->label, m, &bytes));
    size_t label_size = strlen(npz->label) + strlen(m->name) + 2;
    char *member_label = malloc(label_size);
    npz->names[index] = malloc(name_length + 1);
    gc_status status = member_label && npz->names[index]
                           ? GC_OK
                           : GC_ERROR(GC_ERR_MEMORY, "%s: out of memory", npz->label);
    if (status == GC_OK) {
        snprintf(member_label, label_size, "%s:%s", npz->label, m->name);
        memcpy(npz->names[index], m->name, name_length);
        npz->names[index][name_length] = '\0';
        status = gc_npy_read_memory(bytes, m->size, member_label, &npz->arrays[index]);
    }
    /* Counted even on failure, so gc_npz_free releases the name. */
    npz->count++;
    free(member_label);
    free(bytes);
    return status;
}

static gc_status read_members(gc_npz *npz, const uint8_t *zip, size_t size)
{
    size_t at = 0, length = 0, entries = 0;
    GC_TRY(find_directory(zip, size, npz->label, &at, &length, &entries));
    npz->names = calloc(entries ? entries : 1, sizeof *npz->names);
    npz->arrays = calloc(entries ? entries : 1, sizeof *npz->arrays);
    if (!npz->names || !npz->arrays)
        return GC_ERROR(GC_ERR_MEMORY, "%s: out of memory", npz->label);
    size_t directory = at, end = at + length;
    for (size_t i = 0; i < entries; i++) {
        zip_member m;
        GC_TRY(read_entry(zip, &at, end, npz->label, &m));
        GC_TRY(read_member(npz, zip, directory, &m));
    }
    return GC_OK;
}

gc_status gc_npz_read_memory(gc_npz **out, const void *bytes, size_t size, const char *label)
{
    if (!out) return GC_ERROR(GC_ERR_ARGUMENT, "gc_npz_read_memory: no output");
    *out = NULL;
    if (!bytes && size) return GC_ERROR(GC_ERR_ARGUMENT, "gc_npz_read_memory: no bytes");
    if (!label) label = "the archive";
    gc_npz *npz = calloc(1, sizeof *npz);
    if (npz) npz->label = strdup(label);
    if (!npz || !npz->label) {
        gc_npz_free(npz);
        return GC_ERROR(GC_ERR_MEMORY, "%s: out of memory", label);
    }
    gc_status status = read_members(npz, bytes, size);
    if (status != GC_OK) {
        gc_npz_free(npz);
        return status;
    }
    *out = npz;
    return GC_OK;
}

gc_status gc_npz_read(gc_npz **out, const char *path)
{
    if (!out) return GC_ERROR(GC_ERR_ARGUMENT, "gc_npz_read: no output");
    *out = NULL;
    unsigned char *bytes = NULL;
    size_t size = 0;
    GC_TRY(gc_read_file(path, &bytes, &size));
    gc_status status = gc_npz_read_memory(out, bytes, size, path);
    free(bytes);
    return status;
}

/* ---- writing ---- */

typedef struct npz_entry {
    char *name; /* with ".npy" */
    uint8_t *bytes;
    size_t size;
    uint32_t crc;
} npz_entry;

struct gc_npz_writer {
    char *path;
    npz_entry *entries;
    size_t count;
};

void gc_npz_writer_abort(gc_npz_writer *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->count; i++) {
        free(w->entries[i].name);
        free(w->entries[i].bytes);
    }
    free(w->entries);
    free(w->path);
    free(w);
}

gc_status gc_npz_writer_open(gc_npz_writer **out, const char *path)
{
    if (!out || !path) return GC_ERROR(GC_ERR_ARGUMENT, "gc_npz_writer_open: no output or path");
    *out = calloc(1, sizeof **out);
    if (*out) (*out)->path = strdup(path);
    if (!*out || !(*out)->path) {
        gc_npz_writer_abort(*out);
        *out = NULL;
        return GC_ERROR(GC_ERR_MEMORY, "%s: out of memory", path);
    }
    return GC_OK;
}

static gc_status check_member_name(const gc_npz_writer *w, const char *name)
{
    size_t length = strlen(name);
    bool ok = length >= 1 && length <= MAX_NAME;
    for (size_t i = 0; ok && i < length; i++) {
        char c = name[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '.' || c == '-';
    }
    if (!ok)
        return GC_ERROR(GC_ERR_ARGUMENT,
                        "%s: array name '%s' is not 1 to %d characters of A-Z a-z 0-9 _ . -",
                        w->path, name, MAX_NAME);
    for (size_t i = 0; i < w->count; i++)
        if (strncmp(w->entries[i].name, name, length) == 0 &&
            strcmp(w->entries[i].name + length, ".npy") == 0)
            return GC_ERROR(GC_ERR_ARGUMENT, "%s: array '%s' is there already", w->path, name);
    return GC_OK;
}

gc_status gc_npz_put(gc_npz_writer *w, const char *name, const gc_npy_array *array)
{
    if (!w || !name || !array) return GC_ERROR(GC_ERR_ARGUMENT, "gc_npz_put: NULL argument");
    GC_TRY(check_member_name(w, name));
    npz_entry *grown = realloc(w->entries, (w->count + 1) * sizeof *grown);
    if (!grown) return GC_ERROR(GC_ERR_MEMORY, "%s: out of memory", w->path);
    w->entries = grown;
    npz_entry e = {malloc(strlen(name) + 5), NULL, 0, 0};
    if (!e.name) return GC_ERROR(GC_ERR_MEMORY, "%s: out of memory", w->path);
    snprintf(e.name, strlen(name) + 5, "%s.npy", name);
    gc_status status = gc_npy_encode(array, e.name, &e.bytes, &e.size);
    if (status != GC_OK) {
        free(e.name);
        return status;
    }
    e.crc = gc_crc32(0, e.bytes, e.size);
    w->entries[w->count++] = e;
    return GC_OK;
}

/* The fields a member's local header and directory entry share, from "version needed" on. */
static void put_common(uint8_t *p, const npz_entry *e)
{
    put16(p, ZIP_VERSION);
    put16(p + 2, 0);
    put16(p + 4, METHOD_STORED);
    put16(p + 6, 0);
    put16(p + 8, DOS_DATE);
    put32(p + 10, e->crc);
    put32(p + 14, (uint32_t)e->size);
    put32(p + 18, (uint32_t)e->size);
    put16(p + 22, (uint32_t)strlen(e->name));
    put16(p + 24, 0);
}

static gc_status write_archive(FILE *file, void *context)
{
    const gc_npz_writer *w = context;
    uint8_t header[CENTRAL_SIZE];
    size_t offset = 0, directory = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < w->count; i++) {
        const npz_entry *e = &w->entries[i];
        put32(header, LOCAL_SIGNATURE);
        put_common(header + 4, e);
        ok = fwrite(header, 1, LOCAL_SIZE, file) == LOCAL_SIZE && fputs(e->name, file) != EOF &&
             fwrite(e->bytes, 1, e->size, file) == e->size;
        offset += LOCAL_SIZE + strlen(e->name) + e->size;
    }
    size_t local = 0;
    for (size_t i = 0; ok && i < w->count; i++) {
        const npz_entry *e = &w->entries[i];
        memset(header, 0, sizeof header);
        put32(header, CENTRAL_SIGNATURE);
        put16(header + 4, ZIP_VERSION);
        put_common(header + 6, e);
        put32(header + 42, (uint32_t)local);
        ok = fwrite(header, 1, CENTRAL_SIZE, file) == CENTRAL_SIZE && fputs(e->name, file) != EOF;
        local += LOCAL_SIZE + strlen(e->name) + e->size;
        directory += CENTRAL_SIZE + strlen(e->name);
    }
    uint8_t end[END_SIZE] = {0};
    put32(end, END_SIGNATURE);
    put16(end + 8, (uint32_t)w->count);
    put16(end + 10, (uint32_t)w->count);
    put32(end + 12, (uint32_t)directory);
    put32(end + 16, (uint32_t)offset);
    ok = ok && fwrite(end, 1, END_SIZE, file) == END_SIZE;
    return ok ? GC_OK : GC_ERROR(GC_ERR_IO, "cannot write %s", w->path);
}

gc_status gc_npz_writer_commit(gc_npz_writer *w)
{
    if (!w) return GC_ERROR(GC_ERR_ARGUMENT, "gc_npz_writer_commit: no writer");
    /* Every offset and size must fit the 32-bit fields of a zip without ZIP64. */
    unsigned long long total = END_SIZE;
    for (size_t i = 0; i < w->count; i++)
        total += LOCAL_SIZE + CENTRAL_SIZE + 2 * strlen(w->entries[i].name) + w->entries[i].size;
    gc_status status = w->count > 0xfffe || total > 0xfffffffeull
                           ? GC_ERROR(GC_ERR_ARGUMENT,
                                      "%s: %zu arrays of %llu bytes in all; glowcl writes .npz "
                                      "archives below 4 GiB (no ZIP64)",
                                      w->path, w->count, total)
                           : gc_write_file_atomically(w->path, write_archive, w);
    gc_npz_writer_abort(w);
    return status;
}
