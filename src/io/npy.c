/* The .npy format of include/glowcl/npy.h: the preamble (magic, version, header length), the
 * header (a Python dict literal, parsed by a small reader of exactly the three keys NumPy
 * writes), and the data, converted from the file's byte order to the host's in place. The
 * header is trusted with nothing: every size it states is checked against the bytes there are
 * before anything is allocated for them. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* fileno */
#endif

#include "glowcl/npy.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "glowcl/archive.h"
#include "npy_internal.h"

enum {
    MAGIC_SIZE = 6,
    PREAMBLE_V1 = 10, /* magic, major, minor, u16 header length */
    PREAMBLE_V2 = 12, /* the same with a u32 length (versions 2.0 and 3.0) */
    ALIGNMENT = 64,   /* NumPy starts the data on a 64-byte boundary */
    MAX_HEADER = 1 << 20,
    MAX_DESCR = 32,
};

static const char MAGIC[MAGIC_SIZE] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

size_t gc_npy_dtype_size(gc_npy_dtype dtype)
{
    switch (dtype) {
    case GC_NPY_U8: return 1;
    case GC_NPY_F32: return 4;
    case GC_NPY_F64: return 8;
    default: return 0;
    }
}

size_t gc_npy_count(const gc_npy_array *array)
{
    size_t count = 1;
    for (size_t i = 0; i < array->ndim && i < GC_NPY_MAX_DIMS; i++) count *= array->shape[i];
    return count;
}

void gc_npy_free(gc_npy_array *array)
{
    if (!array) return;
    free(array->data);
    memset(array, 0, sizeof *array);
}

/* Bytes of the array's data, or 0 with *ok false when the product overflows. */
static size_t data_bytes(const gc_npy_array *array, bool *ok)
{
    size_t bytes = gc_npy_dtype_size(array->dtype);
    *ok = bytes != 0 && array->ndim <= GC_NPY_MAX_DIMS;
    for (size_t i = 0; *ok && i < array->ndim; i++) {
        if (array->shape[i] != 0 && bytes > SIZE_MAX / array->shape[i]) *ok = false;
        bytes *= array->shape[i];
    }
    return *ok ? bytes : 0;
}

/* "(60000, 28, 28)" as Python prints a shape, into `out`. */
void gc_npy_shape_text(const gc_npy_array *array, char *out, size_t size)
{
    size_t used = (size_t)snprintf(out, size, "(");
    for (size_t i = 0; i < array->ndim && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%zu", i ? ", " : "", array->shape[i]);
    if (used < size) snprintf(out + used, size - used, array->ndim == 1 ? ",)" : ")");
}

/* ---- the header ---- */

typedef struct header_reader {
    const char *text, *end, *label;
    char descr[MAX_DESCR + 1];
    bool fortran, seen_descr, seen_fortran, seen_shape;
    gc_npy_array *array;
} header_reader;

static void skip_spaces(header_reader *r)
{
    while (r->text < r->end &&
           (*r->text == ' ' || *r->text == '\t' || *r->text == '\n' || *r->text == '\r'))
        r->text++;
}

static gc_status malformed(const header_reader *r, const char *what)
{
    return GC_ERROR(GC_ERR_FORMAT, "%s: malformed .npy header: %s", r->label, what);
}

/* A quoted string without escapes, as NumPy writes keys and dtypes. */
static gc_status read_string(header_reader *r, char *out, size_t size)
{
    skip_spaces(r);
    if (r->text == r->end || (*r->text != '\'' && *r->text != '"'))
        return malformed(r, "expected a quoted string");
    char quote = *r->text++;
    size_t length = 0;
    while (r->text < r->end && *r->text != quote) {
        if (*r->text == '\\' || length + 1 >= size) return malformed(r, "a string too long");
        out[length++] = *r->text++;
    }
    if (r->text == r->end) return malformed(r, "a string without its closing quote");
    r->text++;
    out[length] = '\0';
    return GC_OK;
}

static bool take_word(header_reader *r, const char *word)
{
    size_t length = strlen(word);
    if ((size_t)(r->end - r->text) < length || memcmp(r->text, word, length) != 0) return false;
    r->text += length;
    return true;
}

/* "(3, 4)", "(5,)" or "()"; Python 2's "3L" is a plain 3. */
static gc_status read_shape(header_reader *r)
{
    skip_spaces(r);
    if (!take_word(r, "(")) return malformed(r, "'shape' is not a tuple");
    gc_npy_array *a = r->array;
    for (;;) {
        skip_spaces(r);
        if (take_word(r, ")")) return GC_OK;
        if (a->ndim == GC_NPY_MAX_DIMS)
            return GC_ERROR(GC_ERR_FORMAT, "%s: more than %d axes; glowcl reads up to %d", r->label,
                            GC_NPY_MAX_DIMS, GC_NPY_MAX_DIMS);
        if (r->text == r->end || *r->text < '0' || *r->text > '9')
            return malformed(r, "'shape' holds something other than a whole number");
        size_t value = 0;
        while (r->text < r->end && *r->text >= '0' && *r->text <= '9') {
            size_t digit = (size_t)(*r->text++ - '0');
            if (value > (SIZE_MAX - digit) / 10) return malformed(r, "an axis too long to hold");
            value = value * 10 + digit;
        }
        take_word(r, "L");
        a->shape[a->ndim++] = value;
        skip_spaces(r);
        if (!take_word(r, ",") && !(r->text < r->end && *r->text == ')'))
            return malformed(r, "'shape' lacks a comma between axes");
    }
}

static gc_status read_value(header_reader *r, const char *key)
{
    skip_spaces(r);
    if (strcmp(key, "descr") == 0 && !r->seen_descr) {
        r->seen_descr = true;
        if (r->text < r->end && *r->text == '[')
            return GC_ERROR(GC_ERR_FORMAT,
                            "%s: a structured dtype (fields); glowcl reads plain arrays of uint8, "
                            "float32 or float64",
                            r->label);
        return read_string(r, r->descr, sizeof r->descr);
    }
    if (strcmp(key, "fortran_order") == 0 && !r->seen_fortran) {
        r->seen_fortran = true;
        r->fortran = take_word(r, "True");
        if (r->fortran || take_word(r, "False")) return GC_OK;
        return malformed(r, "'fortran_order' is neither True nor False");
    }
    if (strcmp(key, "shape") == 0 && !r->seen_shape) {
        r->seen_shape = true;
        return read_shape(r);
    }
    return GC_ERROR(GC_ERR_FORMAT, "%s: malformed .npy header: key '%s' %s", r->label, key,
                    strcmp(key, "descr") && strcmp(key, "fortran_order") && strcmp(key, "shape")
                        ? "is not one of descr, fortran_order, shape"
                        : "given twice");
}

/* The dict: '{', then "'key': value" pairs separated by commas (one may trail), then '}' and
 * nothing but spaces. */
static gc_status read_dict(header_reader *r)
{
    skip_spaces(r);
    if (!take_word(r, "{")) return malformed(r, "it does not start with '{'");
    for (;;) {
        skip_spaces(r);
        if (take_word(r, "}")) break;
        char key[32];
        GC_TRY(read_string(r, key, sizeof key));
        skip_spaces(r);
        if (!take_word(r, ":")) return malformed(r, "a key without ':'");
        GC_TRY(read_value(r, key));
        skip_spaces(r);
        if (take_word(r, "}")) break;
        if (!take_word(r, ",")) return malformed(r, "a value without ',' or '}' after it");
    }
    skip_spaces(r);
    if (r->text != r->end) return malformed(r, "text after the closing '}'");
    if (!r->seen_descr || !r->seen_fortran || !r->seen_shape)
        return malformed(r, "it lacks one of descr, fortran_order, shape");
    return GC_OK;
}

/* The dtype of a descr, and whether its data are big-endian. */
static gc_status read_dtype(header_reader *r, bool *big_endian)
{
    const char *d = r->descr;
    char order = d[0];
    *big_endian = order == '>';
    if ((order == '<' || order == '>' || order == '|') && strcmp(d + 1, "u1") == 0)
        r->array->dtype = GC_NPY_U8;
    else if ((order == '<' || order == '>') && strcmp(d + 1, "f4") == 0)
        r->array->dtype = GC_NPY_F32;
    else if ((order == '<' || order == '>') && strcmp(d + 1, "f8") == 0)
        r->array->dtype = GC_NPY_F64;
    else
        return GC_ERROR(GC_ERR_FORMAT,
                        "%s: dtype '%s' is not supported; glowcl reads uint8 ('|u1'), float32 "
                        "('<f4') and float64 ('<f8') (numpy's astype converts)",
                        r->label, d);
    if (r->fortran)
        return GC_ERROR(GC_ERR_FORMAT,
                        "%s: the array is in Fortran order; glowcl reads C order (save "
                        "numpy.ascontiguousarray(a))",
                        r->label);
    return GC_OK;
}

/* Checks the preamble at `bytes` (`size` of them there) and gives the offset and length of the
 * header text that follows. */
static gc_status read_preamble(const uint8_t *bytes, size_t size, const char *label,
                               size_t *header_at, size_t *header_length)
{
    if (size >= 4 && memcmp(bytes, "PK\x03\x04", 4) == 0)
        return GC_ERROR(GC_ERR_FORMAT, "%s is a zip (.npz) archive, not a .npy file", label);
    if (gc_archive_has_magic(bytes, size))
        return GC_ERROR(GC_ERR_FORMAT, "%s is a glowcl model file, not a NumPy array", label);
    if (size < MAGIC_SIZE || memcmp(bytes, MAGIC, MAGIC_SIZE) != 0)
        return GC_ERROR(GC_ERR_FORMAT, "%s is not a NumPy .npy file (no \\x93NUMPY magic)", label);
    if (size < PREAMBLE_V1)
        return GC_ERROR(GC_ERR_FORMAT, "%s: truncated .npy header: %zu bytes", label, size);
    unsigned major = bytes[6], minor = bytes[7];
    if (major < 1 || major > 3 || minor != 0)
        return GC_ERROR(GC_ERR_FORMAT,
                        "%s: .npy format version %u.%u; glowcl reads 1.0, 2.0 and 3.0", label,
                        major, minor);
    *header_at = major == 1 ? PREAMBLE_V1 : PREAMBLE_V2;
    if (size < *header_at)
        return GC_ERROR(GC_ERR_FORMAT, "%s: truncated .npy header: %zu bytes", label, size);
    *header_length = (size_t)bytes[8] | (size_t)bytes[9] << 8;
    if (major > 1) *header_length |= (size_t)bytes[10] << 16 | (size_t)bytes[11] << 24;
    if (*header_length > MAX_HEADER)
        return GC_ERROR(GC_ERR_FORMAT, "%s: a .npy header of %zu bytes; more than %d is no array's",
                        label, *header_length, MAX_HEADER);
    return GC_OK;
}

/* Parses the header text into *array (dtype, shape) and gives its data's byte count. */
static gc_status read_header(const char *text, size_t length, const char *label,
                             gc_npy_array *array, bool *big_endian, size_t *bytes)
{
    header_reader r = {.text = text, .end = text + length, .label = label, .array = array};
    GC_TRY(read_dict(&r));
    GC_TRY(read_dtype(&r, big_endian));
    bool ok = false;
    *bytes = data_bytes(array, &ok);
    char shape[256];
    gc_npy_shape_text(array, shape, sizeof shape);
    if (!ok)
        return GC_ERROR(GC_ERR_FORMAT, "%s: shape %s of '%s' is too large to hold", label, shape,
                        r.descr);
    return GC_OK;
}

/* The data, as read, to the host's byte order, in place: each value's bytes are put together in
 * the file's order and stored back as a host integer of the same width, which is the float's
 * bit pattern. */
static void to_host_order(uint8_t *data, size_t count, size_t width, bool big_endian)
{
    for (size_t i = 0; width > 1 && i < count; i++) {
        uint8_t *p = data + i * width;
        uint64_t bits = 0;
        for (size_t b = 0; b < width; b++)
            bits |= (uint64_t)p[big_endian ? width - 1 - b : b] << (8 * b);
        if (width == 4) {
            uint32_t narrow = (uint32_t)bits;
            memcpy(p, &narrow, 4);
        } else {
            memcpy(p, &bits, 8);
        }
    }
}

/* The header's data byte count against the bytes the file has after its header. */
static gc_status check_data_size(const gc_npy_array *array, const char *label, size_t wanted,
                                 size_t available)
{
    if (wanted == available) return GC_OK;
    char shape[256];
    gc_npy_shape_text(array, shape, sizeof shape);
    if (available < wanted)
        return GC_ERROR(GC_ERR_FORMAT,
                        "%s: truncated: shape %s needs %zu bytes of data, the file has %zu", label,
                        shape, wanted, available);
    return GC_ERROR(GC_ERR_FORMAT,
                    "%s: %zu bytes after the %zu bytes of data that shape %s holds (not a "
                    "whole .npy file, or a damaged one)",
                    label, available - wanted, wanted, shape);
}

gc_status gc_npy_read_memory(const void *bytes, size_t size, const char *label, gc_npy_array *out)
{
    if (!out) return GC_ERROR(GC_ERR_ARGUMENT, "gc_npy_read_memory: no output");
    memset(out, 0, sizeof *out);
    if (!bytes && size) return GC_ERROR(GC_ERR_ARGUMENT, "gc_npy_read_memory: no bytes");
    if (!label) label = "the array";
    const uint8_t *file = bytes;
    size_t at = 0, length = 0, data_size = 0;
    bool big_endian = false;
    GC_TRY(read_preamble(file, size, label, &at, &length));
    if (size - at < length)
        return GC_ERROR(GC_ERR_FORMAT, "%s: truncated .npy header: %zu of its %zu bytes", label,
                        size - at, length);
    gc_status status =
        read_header((const char *)file + at, length, label, out, &big_endian, &data_size);
    if (status == GC_OK) status = check_data_size(out, label, data_size, size - at - length);
    if (status == GC_OK && !(out->data = malloc(data_size ? data_size : 1)))
        status = GC_ERROR(GC_ERR_MEMORY, "%s: no memory for %zu bytes", label, data_size);
    if (status != GC_OK) {
        gc_npy_free(out);
        return status;
    }
    if (data_size) memcpy(out->data, file + at + length, data_size);
    to_host_order(out->data, gc_npy_count(out), gc_npy_dtype_size(out->dtype), big_endian);
    return GC_OK;
}

/* Reads exactly `size` bytes at the stream's position, or says the file ended first. */
static gc_status read_exactly(FILE *file, const char *path, void *out, size_t size,
                              const char *what)
{
    size_t got = fread(out, 1, size, file);
    if (got == size) return GC_OK;
    if (ferror(file)) return GC_ERROR(GC_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    return GC_ERROR(GC_ERR_FORMAT, "%s: truncated %s: %zu of its %zu bytes", path, what, got, size);
}

/* The header and data of an open file whose total size is `file_size`. The file is read straight
 * into the array, so a large file is held once, not twice. */
static gc_status read_stream(FILE *file, const char *path, long long file_size, bool with_data,
                             gc_npy_array *out)
{
    uint8_t preamble[PREAMBLE_V2] = {0};
    size_t first = file_size < PREAMBLE_V2 ? (size_t)file_size : PREAMBLE_V2;
    size_t at = 0, length = 0, data_size = 0;
    bool big_endian = false;
    GC_TRY(read_exactly(file, path, preamble, first, ".npy header"));
    GC_TRY(read_preamble(preamble, first, path, &at, &length));
    if ((unsigned long long)file_size - at < length)
        return GC_ERROR(GC_ERR_FORMAT, "%s: truncated .npy header: %lld of its %zu bytes", path,
                        file_size - (long long)at, length);
    char *text = malloc(length ? length : 1);
    if (!text) return GC_ERROR(GC_ERR_MEMORY, "%s: no memory for its header", path);
    gc_status status = fseek(file, (long)at, SEEK_SET) == 0
                           ? read_exactly(file, path, text, length, ".npy header")
                           : GC_ERROR(GC_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    if (status == GC_OK) status = read_header(text, length, path, out, &big_endian, &data_size);
    free(text);
    GC_TRY(status);
    GC_TRY(check_data_size(out, path, data_size, (size_t)file_size - at - length));
    if (!with_data) return GC_OK;
    if (!(out->data = malloc(data_size ? data_size : 1)))
        return GC_ERROR(GC_ERR_MEMORY, "%s: no memory for %zu bytes of data", path, data_size);
    GC_TRY(read_exactly(file, path, out->data, data_size, "data"));
    to_host_order(out->data, gc_npy_count(out), gc_npy_dtype_size(out->dtype), big_endian);
    return GC_OK;
}

/* gc_npy_read, or with_data false, gc_npy_read_header. */
static gc_status read_file(const char *path, bool with_data, gc_npy_array *out)
{
    if (!out) return GC_ERROR(GC_ERR_ARGUMENT, "gc_npy_read: no output");
    memset(out, 0, sizeof *out);
    if (!path) return GC_ERROR(GC_ERR_ARGUMENT, "gc_npy_read: no path");
    FILE *file = fopen(path, "rb");
    if (!file) return GC_ERROR(GC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat info;
    gc_status status = GC_OK;
    if (fstat(fileno(file), &info) != 0)
        status = GC_ERROR(GC_ERR_IO, "cannot read the size of %s: %s", path, strerror(errno));
    else if (!S_ISREG(info.st_mode))
        status = GC_ERROR(GC_ERR_IO, "%s is not a regular file", path);
    else
        status = read_stream(file, path, (long long)info.st_size, with_data, out);
    fclose(file);
    if (status != GC_OK) gc_npy_free(out);
    return status;
}

gc_status gc_npy_read(const char *path, gc_npy_array *out) { return read_file(path, true, out); }

gc_status gc_npy_read_header(const char *path, gc_npy_array *out)
{
    return read_file(path, false, out);
}

/* ---- writing ---- */

gc_status gc_npy_encode(const gc_npy_array *array, const char *label, uint8_t **out,
                        size_t *out_size)
{
    *out = NULL;
    *out_size = 0;
    bool ok = false;
    size_t bytes = data_bytes(array, &ok);
    if (!ok)
        return GC_ERROR(GC_ERR_ARGUMENT, "%s: dtype %d with %zu axes is no array glowcl writes",
                        label, (int)array->dtype, array->ndim);
    if (bytes && !array->data) return GC_ERROR(GC_ERR_ARGUMENT, "%s: no data to write", label);
    static const char *const descr[] = {"", "|u1", "<f4", "<f8"};
    char header[512], shape[256];
    gc_npy_shape_text(array, shape, sizeof shape);
    int length =
        snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                 descr[array->dtype], shape);
    /* Spaces, then the newline, up to the 64-byte boundary where the data start. */
    size_t padded =
        ((size_t)PREAMBLE_V1 + (size_t)length + 1 + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    size_t header_length = padded - PREAMBLE_V1;
    if (bytes > SIZE_MAX - padded) return GC_ERROR(GC_ERR_ARGUMENT, "%s: too large", label);
    uint8_t *file = malloc(padded + bytes);
    if (!file) return GC_ERROR(GC_ERR_MEMORY, "%s: no memory for %zu bytes", label, padded + bytes);
    memcpy(file, MAGIC, MAGIC_SIZE);
    file[6] = 1, file[7] = 0;
    file[8] = (uint8_t)header_length, file[9] = (uint8_t)(header_length >> 8);
    memset(file + PREAMBLE_V1, ' ', header_length);
    memcpy(file + PREAMBLE_V1, header, (size_t)length);
    file[padded - 1] = '\n';
    if (bytes) memcpy(file + padded, array->data, bytes);
    /* Host order to little-endian: the same byte shuffle as reading, which is its own inverse
     * on either kind of host (a no-op on a little-endian one). */
    to_host_order(file + padded, gc_npy_count(array), gc_npy_dtype_size(array->dtype), false);
    *out = file;
    *out_size = padded + bytes;
    return GC_OK;
}

typedef struct encoded_file {
    const char *path;
    const uint8_t *bytes;
    size_t size;
} encoded_file;

static gc_status write_encoded(FILE *file, void *context)
{
    const encoded_file *e = context;
    if (fwrite(e->bytes, 1, e->size, file) != e->size)
        return GC_ERROR(GC_ERR_IO, "cannot write %s: %s", e->path, strerror(errno));
    return GC_OK;
}

gc_status gc_npy_write(const char *path, const gc_npy_array *array)
{
    if (!path || !array) return GC_ERROR(GC_ERR_ARGUMENT, "gc_npy_write: no path or array");
    uint8_t *bytes = NULL;
    size_t size = 0;
    GC_TRY(gc_npy_encode(array, path, &bytes, &size));
    encoded_file e = {path, bytes, size};
    gc_status status = gc_write_file_atomically(path, write_encoded, &e);
    free(bytes);
    return status;
}
