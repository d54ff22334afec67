/* The sectioned, CRC-checked file container of include/glowcl/archive.h: a writer that builds
 * the file in memory and commits it atomically, and a reader that verifies everything before
 * handing out a single byte. */
#include "glowcl/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    HEADER_SIZE = 32,
    ENTRY_SIZE = 56,
    NAME_SIZE = 32,
    MAX_SECTIONS = 4096,
    TYPE_BYTES = 1,
    TYPE_TEXT = 2,
    TYPE_F64 = 3,
    TYPE_U64 = 4,
};

static const unsigned char MAGIC[8] = {0x89, 'G', 'L', 'C', '\r', '\n', 0x1a, '\n'};

uint32_t gc_crc32(uint32_t crc, const void *data, size_t size)
{
    static uint32_t table[256];
    static int ready;
    if (!ready) { /* reflected polynomial 0xEDB88320, as zlib */
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = 1;
    }
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < size; i++) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= NAME_SIZE) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-'))
            return 0;
    }
    return 1;
}

/* ---- writing ---- */

typedef struct section {
    char name[NAME_SIZE];
    uint32_t type;
    unsigned char *data;
    size_t size;
} section;

struct gc_archive_writer {
    char *path;
    section *sections;
    size_t count;
};

gc_status gc_archive_writer_open(gc_archive_writer **out, const char *path)
{
    *out = NULL;
    gc_archive_writer *w = calloc(1, sizeof *w);
    if (w) w->path = strdup(path);
    if (!w || !w->path) {
        free(w);
        return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    }
    *out = w;
    return GC_OK;
}

void gc_archive_writer_abort(gc_archive_writer *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->count; i++) free(w->sections[i].data);
    free(w->sections);
    free(w->path);
    free(w);
}

/* Adds a section and returns its payload buffer of `size` bytes to fill. */
static gc_status add_section(gc_archive_writer *w, const char *name, uint32_t type, size_t size,
                             unsigned char **payload)
{
    if (!valid_name(name))
        return GC_ERROR(GC_ERR_ARGUMENT, "bad section name '%s' (1-31 of [a-z0-9_.-])", name);
    for (size_t i = 0; i < w->count; i++)
        if (strcmp(w->sections[i].name, name) == 0)
            return GC_ERROR(GC_ERR_ARGUMENT, "section '%s' added twice", name);
    if (w->count == MAX_SECTIONS) return GC_ERROR(GC_ERR_ARGUMENT, "too many sections");
    section *grown = realloc(w->sections, (w->count + 1) * sizeof *grown);
    if (!grown) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    w->sections = grown;
    section *s = &w->sections[w->count];
    memset(s, 0, sizeof *s);
    s->data = malloc(size ? size : 1);
    if (!s->data) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    snprintf(s->name, sizeof s->name, "%s", name);
    s->type = type;
    s->size = size;
    w->count++;
    *payload = s->data;
    return GC_OK;
}

gc_status gc_archive_put_bytes(gc_archive_writer *w, const char *name, const void *data,
                               size_t size)
{
    unsigned char *p = NULL;
    GC_TRY(add_section(w, name, TYPE_BYTES, size, &p));
    if (size) memcpy(p, data, size);
    return GC_OK;
}

gc_status gc_archive_put_text(gc_archive_writer *w, const char *name, const char *text)
{
    unsigned char *p = NULL;
    size_t size = strlen(text);
    GC_TRY(add_section(w, name, TYPE_TEXT, size, &p));
    memcpy(p, text, size);
    return GC_OK;
}

gc_status gc_archive_put_f64(gc_archive_writer *w, const char *name, const double *values,
                             size_t count)
{
    unsigned char *p = NULL;
    GC_TRY(add_section(w, name, TYPE_F64, count * 8, &p));
    for (size_t i = 0; i < count; i++) {
        uint64_t bits;
        memcpy(&bits, &values[i], 8);
        put_u64(p + 8 * i, bits);
    }
    return GC_OK;
}

gc_status gc_archive_put_u64(gc_archive_writer *w, const char *name, const uint64_t *values,
                             size_t count)
{
    unsigned char *p = NULL;
    GC_TRY(add_section(w, name, TYPE_U64, count * 8, &p));
    for (size_t i = 0; i < count; i++) put_u64(p + 8 * i, values[i]);
    return GC_OK;
}

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

/* The whole file in memory. */
static unsigned char *serialise(const gc_archive_writer *w, size_t *size_out)
{
    size_t size = HEADER_SIZE + w->count * ENTRY_SIZE;
    for (size_t i = 0; i < w->count; i++) size = align8(size) + w->sections[i].size;
    size = align8(size);
    unsigned char *file = calloc(1, size);
    if (!file) return NULL;
    memcpy(file, MAGIC, 8);
    put_u32(file + 8, GC_ARCHIVE_VERSION);
    put_u32(file + 12, (uint32_t)w->count);
    put_u64(file + 16, size);
    size_t offset = HEADER_SIZE + w->count * ENTRY_SIZE;
    for (size_t i = 0; i < w->count; i++) {
        const section *s = &w->sections[i];
        unsigned char *entry = file + HEADER_SIZE + i * ENTRY_SIZE;
        offset = align8(offset);
        memcpy(entry, s->name, strlen(s->name));
        put_u32(entry + 32, s->type);
        put_u32(entry + 36, gc_crc32(0, s->data, s->size));
        put_u64(entry + 40, offset);
        put_u64(entry + 48, s->size);
        memcpy(file + offset, s->data, s->size);
        offset += s->size;
    }
    put_u32(file + 24, gc_crc32(0, file, HEADER_SIZE + w->count * ENTRY_SIZE));
    *size_out = size;
    return file;
}

gc_status gc_archive_writer_commit(gc_archive_writer *w)
{
    size_t size = 0;
    unsigned char *file = serialise(w, &size);
    char temp[4096];
    snprintf(temp, sizeof temp, "%s.tmp.%ld", w->path, (long)getpid());
    gc_status status = file ? GC_OK : GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    FILE *f = status == GC_OK ? fopen(temp, "wb") : NULL;
    if (status == GC_OK && !f)
        status = GC_ERROR(GC_ERR_IO, "cannot write %s: %s", temp, strerror(errno));
    if (f) {
        int failed = fwrite(file, 1, size, f) != size || fflush(f) != 0 || fsync(fileno(f)) != 0;
        int saved = errno;
        failed |= fclose(f) != 0;
        if (failed) {
            status = GC_ERROR(GC_ERR_IO, "cannot write %s: %s", temp, strerror(saved));
            remove(temp);
        } else if (rename(temp, w->path) != 0) {
            status = GC_ERROR(GC_ERR_IO, "cannot rename %s to %s: %s", temp, w->path,
                              strerror(errno));
            remove(temp);
        } else { /* make the rename itself durable */
            char dir[4096];
            snprintf(dir, sizeof dir, "%s", w->path);
            char *slash = strrchr(dir, '/');
            if (slash)
                slash == dir ? (void)(dir[1] = '\0') : (void)(*slash = '\0');
            else
                snprintf(dir, sizeof dir, ".");
            int fd = open(dir, O_RDONLY);
            if (fd >= 0) {
                fsync(fd);
                close(fd);
            }
        }
    }
    free(file);
    gc_archive_writer_abort(w);
    return status;
}

/* ---- reading ---- */

struct gc_archive {
    char label[256];
    unsigned char *file;
    size_t size;
    size_t count;
    section *sections; /* data points into file */
    char **texts;      /* NUL-terminated copies, made on demand */
};

void gc_archive_free(gc_archive *a)
{
    if (!a) return;
    for (size_t i = 0; a->texts && i < a->count; i++) free(a->texts[i]);
    free(a->texts);
    free(a->sections);
    free(a->file);
    free(a);
}

static gc_status verify(gc_archive *a)
{
    const unsigned char *f = a->file;
    const char *label = a->label;
    if (a->size < 8 || memcmp(f, MAGIC, 8) != 0)
        return GC_ERROR(GC_ERR_FORMAT, "%s is not a glowcl file", label);
    if (a->size < HEADER_SIZE)
        return GC_ERROR(GC_ERR_FORMAT, "%s is truncated: %zu bytes, not even a header", label,
                        a->size);
    uint32_t version = get_u32(f + 8), count = get_u32(f + 12);
    uint64_t total = get_u64(f + 16);
    if (version > GC_ARCHIVE_VERSION)
        return GC_ERROR(GC_ERR_FORMAT, "%s was written by a newer glowcl: format version %u, "
                        "this build reads up to %d", label, version, GC_ARCHIVE_VERSION);
    if (version == 0) return GC_ERROR(GC_ERR_FORMAT, "%s: format version 0 is invalid", label);
    if (total != a->size)
        return GC_ERROR(GC_ERR_FORMAT, "%s is %s: %zu of %llu bytes", label,
                        a->size < total ? "truncated" : "longer than it says", a->size,
                        (unsigned long long)total);
    if (count > MAX_SECTIONS || HEADER_SIZE + (uint64_t)count * ENTRY_SIZE > a->size)
        return GC_ERROR(GC_ERR_FORMAT, "%s is corrupted: %u sections do not fit", label, count);
    size_t table_end = HEADER_SIZE + (size_t)count * ENTRY_SIZE;
    unsigned char header[HEADER_SIZE];
    memcpy(header, f, HEADER_SIZE);
    put_u32(header + 24, 0);
    uint32_t crc = gc_crc32(gc_crc32(0, header, HEADER_SIZE), f + HEADER_SIZE,
                            table_end - HEADER_SIZE);
    if (crc != get_u32(f + 24) || get_u32(f + 28) != 0)
        return GC_ERROR(GC_ERR_FORMAT, "%s is corrupted (header CRC mismatch)", label);
    a->sections = calloc(count ? count : 1, sizeof *a->sections);
    a->texts = calloc(count ? count : 1, sizeof *a->texts);
    if (!a->sections || !a->texts) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    a->count = count;
    size_t expected = table_end;
    for (size_t i = 0; i < count; i++) {
        const unsigned char *e = f + HEADER_SIZE + i * ENTRY_SIZE;
        section *s = &a->sections[i];
        memcpy(s->name, e, NAME_SIZE);
        size_t length = strnlen(s->name, NAME_SIZE);
        for (size_t k = length; k < NAME_SIZE; k++)
            if (s->name[k] != '\0')
                return GC_ERROR(GC_ERR_FORMAT, "%s is corrupted: section %zu's name", label, i);
        if (length == NAME_SIZE || !valid_name(s->name))
            return GC_ERROR(GC_ERR_FORMAT, "%s is corrupted: section %zu's name", label, i);
        for (size_t k = 0; k < i; k++)
            if (strcmp(a->sections[k].name, s->name) == 0)
                return GC_ERROR(GC_ERR_FORMAT, "%s is corrupted: section '%s' twice", label,
                                s->name);
        s->type = get_u32(e + 32);
        uint64_t offset = get_u64(e + 40), size = get_u64(e + 48);
        expected = align8(expected);
        /* Payloads must sit exactly where the writer puts them, so every byte of the file is
         * covered by a CRC or checked to be zero padding. */
        if (s->type < TYPE_BYTES || s->type > TYPE_U64 || offset != expected ||
            size > a->size - offset || ((s->type == TYPE_F64 || s->type == TYPE_U64) && size % 8))
            return GC_ERROR(GC_ERR_FORMAT, "%s is corrupted: section '%s' out of bounds", label,
                            s->name);
        s->data = a->file + offset;
        s->size = (size_t)size;
        if (gc_crc32(0, s->data, s->size) != get_u32(e + 36))
            return GC_ERROR(GC_ERR_FORMAT, "%s is corrupted: section '%s' fails its CRC", label,
                            s->name);
        expected = offset + size;
    }
    /* Padding after each payload and at the end is zero. */
    size_t cursor = table_end;
    for (size_t i = 0; i <= count; i++) {
        size_t next = i < count ? (size_t)(a->sections[i].data - a->file) : a->size;
        for (size_t k = cursor; k < next; k++)
            if (f[k] != 0) return GC_ERROR(GC_ERR_FORMAT, "%s is corrupted (padding)", label);
        if (i < count) cursor = next + a->sections[i].size;
    }
    if (align8(expected) != a->size)
        return GC_ERROR(GC_ERR_FORMAT, "%s is corrupted: trailing bytes", label);
    return GC_OK;
}

gc_status gc_archive_read_memory(gc_archive **out, const void *data, size_t size,
                                 const char *label)
{
    *out = NULL;
    gc_archive *a = calloc(1, sizeof *a);
    if (a) a->file = malloc(size ? size : 1);
    if (!a || !a->file) {
        free(a);
        return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
    }
    snprintf(a->label, sizeof a->label, "%s", label);
    if (size) memcpy(a->file, data, size);
    a->size = size;
    gc_status status = verify(a);
    if (status != GC_OK) {
        gc_archive_free(a);
        return status;
    }
    *out = a;
    return GC_OK;
}

gc_status gc_archive_read(gc_archive **out, const char *path)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return GC_ERROR(GC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    unsigned char *data = NULL;
    size_t size = 0, capacity = 0;
    gc_status status = GC_OK;
    for (;;) {
        if (size == capacity) {
            capacity = capacity ? capacity * 2 : 65536;
            unsigned char *grown = realloc(data, capacity);
            if (!grown) {
                status = GC_ERROR(GC_ERR_MEMORY, "out of host memory reading %s", path);
                break;
            }
            data = grown;
        }
        size_t got = fread(data + size, 1, capacity - size, f);
        size += got;
        if (got == 0) {
            if (ferror(f)) status = GC_ERROR(GC_ERR_IO, "cannot read %s", path);
            break;
        }
    }
    fclose(f);
    if (status == GC_OK) status = gc_archive_read_memory(out, data, size, path);
    free(data);
    return status;
}

static gc_status find(const gc_archive *a, const char *name, uint32_t type, section **out)
{
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->sections[i].name, name) == 0) {
            if (a->sections[i].type != type)
                return GC_ERROR(GC_ERR_FORMAT, "%s: section '%s' has the wrong type", a->label,
                                name);
            *out = &a->sections[i];
            return GC_OK;
        }
    return GC_ERROR(GC_ERR_FORMAT, "%s: no section '%s'", a->label, name);
}

int gc_archive_has(const gc_archive *a, const char *name)
{
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->sections[i].name, name) == 0) return 1;
    return 0;
}

gc_status gc_archive_get_bytes(const gc_archive *a, const char *name, const void **data,
                               size_t *size)
{
    section *s = NULL;
    GC_TRY(find(a, name, TYPE_BYTES, &s));
    *data = s->data;
    *size = s->size;
    return GC_OK;
}

gc_status gc_archive_get_text(const gc_archive *a, const char *name, const char **text)
{
    section *s = NULL;
    GC_TRY(find(a, name, TYPE_TEXT, &s));
    size_t index = (size_t)(s - a->sections);
    if (!a->texts[index]) {
        if (memchr(s->data, '\0', s->size))
            return GC_ERROR(GC_ERR_FORMAT, "%s: text section '%s' holds a NUL", a->label, name);
        a->texts[index] = malloc(s->size + 1);
        if (!a->texts[index]) return GC_ERROR(GC_ERR_MEMORY, "out of host memory");
        memcpy(a->texts[index], s->data, s->size);
        a->texts[index][s->size] = '\0';
    }
    *text = a->texts[index];
    return GC_OK;
}

static gc_status get_words(const gc_archive *a, const char *name, uint32_t type, size_t count,
                           section **s)
{
    GC_TRY(find(a, name, type, s));
    if ((*s)->size / 8 != count)
        return GC_ERROR(GC_ERR_FORMAT, "%s: section '%s' holds %zu values, expected %zu",
                        a->label, name, (*s)->size / 8, count);
    return GC_OK;
}

gc_status gc_archive_get_f64(const gc_archive *a, const char *name, double *values,
                             size_t count)
{
    section *s = NULL;
    GC_TRY(get_words(a, name, TYPE_F64, count, &s));
    for (size_t i = 0; i < count; i++) {
        uint64_t bits = get_u64(s->data + 8 * i);
        memcpy(&values[i], &bits, 8);
    }
    return GC_OK;
}

gc_status gc_archive_get_u64(const gc_archive *a, const char *name, uint64_t *values,
                             size_t count)
{
    section *s = NULL;
    GC_TRY(get_words(a, name, TYPE_U64, count, &s));
    for (size_t i = 0; i < count; i++) values[i] = get_u64(s->data + 8 * i);
    return GC_OK;
}

/* ---- key=value config text ---- */

static const char *config_value(const char *text, const char *key, size_t *length)
{
    size_t k = strlen(key);
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        if (n > k && strncmp(line, key, k) == 0 && line[k] == '=') {
            *length = n - k - 1;
            return line + k + 1;
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

gc_status gc_config_get_string(const char *text, const char *key, char *out, size_t out_size)
{
    size_t length = 0;
    const char *v = config_value(text, key, &length);
    if (!v) return GC_ERROR(GC_ERR_FORMAT, "config has no '%s'", key);
    if (length >= out_size) return GC_ERROR(GC_ERR_FORMAT, "config value of '%s' too long", key);
    memcpy(out, v, length);
    out[length] = '\0';
    return GC_OK;
}

gc_status gc_config_get_long(const char *text, const char *key, long *value)
{
    char buffer[32];
    GC_TRY(gc_config_get_string(text, key, buffer, sizeof buffer));
    char *end = NULL;
    errno = 0;
    long v = strtol(buffer, &end, 10);
    if (errno || end == buffer || *end)
        return GC_ERROR(GC_ERR_FORMAT, "config value of '%s' is not an integer: %s", key, buffer);
    *value = v;
    return GC_OK;
}
