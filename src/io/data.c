/* Data sources: two-moons with numpy's legacy RandomState stream (MT19937, masked-rejection
 * shuffle, polar Gaussian) re-implemented so gc_moons equals sklearn's make_moons, and a
 * CSV point reader/writer. See include/glowcl/data.h for the contracts. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* getline */
#endif

#include "glowcl/archive.h"
#include "glowcl/data.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- numpy legacy RandomState, only as far as make_moons needs it ---- */

enum { MT_WORDS = 624, MT_SHIFT = 397 };

/* The state of numpy.random.RandomState: the MT19937 words plus the second Gaussian of the
 * last polar pair, which numpy keeps and hands out on the next normal() call. */
typedef struct legacy_random_state {
    uint32_t words[MT_WORDS];
    int next_word; /* MT_WORDS means "regenerate before the next draw" */
    bool has_gauss;
    double gauss;
} legacy_random_state;

/* RandomState(int) seeds with Matsumoto & Nishimura's init_genrand (not init_by_array), which
 * is what makes the words visible in RandomState(s).get_state() start with s itself. */
static void legacy_seed(legacy_random_state *state, uint32_t seed)
{
    state->words[0] = seed;
    for (uint32_t i = 1; i < MT_WORDS; i++) {
        uint32_t previous = state->words[i - 1];
        state->words[i] = 1812433253u * (previous ^ (previous >> 30)) + i;
    }
    state->next_word = MT_WORDS;
    state->has_gauss = false;
    state->gauss = 0.0;
}

static void legacy_regenerate(legacy_random_state *state)
{
    uint32_t *w = state->words;
    /* Updating in place in index order means words past the wrap-around already hold their new
     * values when read, exactly as in the reference generator's split loops. */
    for (int i = 0; i < MT_WORDS; i++) {
        uint32_t joined = (w[i] & 0x80000000u) | (w[(i + 1) % MT_WORDS] & 0x7fffffffu);
        uint32_t twisted = joined >> 1;
        if (joined & 1u) twisted ^= 0x9908b0dfu;
        w[i] = w[(i + MT_SHIFT) % MT_WORDS] ^ twisted;
    }
    state->next_word = 0;
}

static uint32_t legacy_u32(legacy_random_state *state)
{
    if (state->next_word >= MT_WORDS) legacy_regenerate(state);
    uint32_t y = state->words[state->next_word++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* numpy draws 64-bit words as high half first. */
static uint64_t legacy_u64(legacy_random_state *state)
{
    uint64_t high = legacy_u32(state);
    return (high << 32) | legacy_u32(state);
}

/* random_sample(): 27 + 26 bits from two words, as in MT19937's genrand_res53. */
static double legacy_double(legacy_random_state *state)
{
    uint32_t high = legacy_u32(state) >> 5;
    uint32_t low = legacy_u32(state) >> 6;
    return ((double)high * 67108864.0 + (double)low) / 9007199254740992.0;
}

/* Uniform integer in [0, max] as numpy's legacy shuffle draws it: mask a word down to the
 * smallest all-ones value covering max and retry until it fits (one 32-bit word per try while
 * max fits in 32 bits). Verified against RandomState.shuffle for many sizes. */
static uint64_t legacy_interval(legacy_random_state *state, uint64_t max)
{
    if (max == 0) return 0;
    uint64_t mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    uint64_t value;
    if (max <= 0xffffffffu) {
        do value = legacy_u32(state) & mask;
        while (value > max);
    } else {
        do value = legacy_u64(state) & mask;
        while (value > max);
    }
    return value;
}

/* Legacy standard_normal: Marsaglia's polar method returning the second value of the pair
 * first and caching the other in the state. */
static double legacy_gauss(legacy_random_state *state)
{
    if (state->has_gauss) {
        state->has_gauss = false;
        return state->gauss;
    }
    double x1, x2, radius2;
    do {
        x1 = 2.0 * legacy_double(state) - 1.0;
        x2 = 2.0 * legacy_double(state) - 1.0;
        /* Storing the squares through volatile objects rounds each one separately, as numpy
         * does, even where the compiler would otherwise fuse one square and the sum into an FMA
         * (GCC in GNU C mode on FMA-capable targets). */
        volatile double x1_squared = x1 * x1;
        volatile double x2_squared = x2 * x2;
        radius2 = x1_squared + x2_squared;
    } while (radius2 >= 1.0 || radius2 == 0.0);
    double factor = sqrt(-2.0 * log(radius2) / radius2);
    state->gauss = factor * x1;
    state->has_gauss = true;
    return factor * x2;
}

/* np.pi, i.e. the double nearest to pi (M_PI is not part of ISO C). */
static const double PI_DOUBLE = 3.141592653589793115997963468544185161590576171875;

/* Element k of np.linspace(0, pi, count): arange(count) * step + 0 with the last element
 * overwritten by the exact stop value, which matters because (count-1) * step may miss pi. */
static double linspace_to_pi(size_t k, size_t count)
{
    if (count == 1) return 0.0;
    if (k == count - 1) return PI_DOUBLE;
    double step = PI_DOUBLE / (double)(count - 1);
    return (double)k * step + 0.0;
}

gc_status gc_moons(size_t n, double noise, uint32_t random_state, double *xy, int *labels)
{
    if (!isfinite(noise) || noise < 0.0)
        return GC_ERROR(GC_ERR_ARGUMENT, "moons noise must be finite and >= 0, got %g", noise);
    if (n == 0) return GC_OK;
    if (xy == NULL) return GC_ERROR(GC_ERR_ARGUMENT, "moons output array is NULL");
    if (n > SIZE_MAX / (2 * sizeof(double)))
        return GC_ERROR(GC_ERR_ARGUMENT, "moons n = %zu is too large", n);

    size_t *order = malloc(n * sizeof *order);
    legacy_random_state *rs = malloc(sizeof *rs);
    if (order == NULL || rs == NULL) {
        free(order);
        free(rs);
        return GC_ERROR(GC_ERR_MEMORY, "cannot allocate moons work space for n = %zu", n);
    }
    legacy_seed(rs, random_state);

    /* sklearn.utils.shuffle: RandomState.shuffle(np.arange(n)), a Fisher-Yates pass from the
     * end, then X[order]. The shuffle comes before any noise draw, so the order matters. */
    for (size_t i = 0; i < n; i++) order[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)legacy_interval(rs, i);
        size_t swap = order[i];
        order[i] = order[j];
        order[j] = swap;
    }

    size_t n_outer = n / 2;
    size_t n_inner = n - n_outer;
    for (size_t i = 0; i < n; i++) {
        size_t source = order[i];
        double x, y;
        if (source < n_outer) {
            double angle = linspace_to_pi(source, n_outer);
            x = cos(angle);
            y = sin(angle);
        } else {
            double angle = linspace_to_pi(source - n_outer, n_inner);
            x = 1.0 - cos(angle);
            y = 1.0 - sin(angle) - 0.5;
        }
        xy[2 * i] = x;
        xy[2 * i + 1] = y;
        if (labels) labels[i] = source < n_outer ? 0 : 1;
    }

    /* generator.normal(scale=noise, size=(n, 2)) in row-major order, each value formed as
     * loc + scale * gauss with loc = 0 before being added to X. Drawn even for noise 0 so the
     * arithmetic stays identical to sklearn's (adding zeros changes nothing). */
    for (size_t i = 0; i < 2 * n; i++) xy[i] += 0.0 + noise * legacy_gauss(rs);

    free(order);
    free(rs);
    return GC_OK;
}

/* ---- CSV ---- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Grows *buffer to hold at least `needed` elements, doubling to keep appends amortised O(1). */
static bool reserve(void **buffer, size_t *capacity, size_t needed, size_t element_size)
{
    if (needed <= *capacity) return true;
    size_t new_capacity = *capacity ? *capacity : 16;
    while (new_capacity < needed) {
        if (new_capacity > SIZE_MAX / 2) return false;
        new_capacity *= 2;
    }
    if (new_capacity > SIZE_MAX / element_size) return false;
    void *grown = realloc(*buffer, new_capacity * element_size);
    if (grown == NULL) return false;
    *buffer = grown;
    *capacity = new_capacity;
    return true;
}

typedef enum field_kind { FIELD_NUMBER, FIELD_TEXT, FIELD_EMPTY } field_kind;

typedef struct csv_field {
    const char *text; /* trimmed and NUL-terminated inside the line buffer */
    field_kind kind;
    double value;
} csv_field;

/* Cuts `line` at the commas in place and classifies each trimmed field. strtod must consume
 * the whole field, so "1.5x" or "1 2" are text, not 1.5 or 1. */
static bool split_fields(char *line, csv_field **fields, size_t *capacity, size_t *count)
{
    *count = 0;
    char *cursor = line;
    for (;;) {
        char *comma = strchr(cursor, ',');
        char *end = comma ? comma : cursor + strlen(cursor);
        while (cursor < end && is_blank(*cursor)) cursor++;
        while (end > cursor && is_blank(end[-1])) end--;
        *end = '\0';

        if (!reserve((void **)fields, capacity, *count + 1, sizeof **fields)) return false;
        csv_field *field = &(*fields)[(*count)++];
        field->text = cursor;
        field->value = 0.0;
        if (cursor == end) {
            field->kind = FIELD_EMPTY;
        } else {
            char *parsed_end;
            field->value = strtod(cursor, &parsed_end);
            field->kind = parsed_end == end ? FIELD_NUMBER : FIELD_TEXT;
        }
        if (comma == NULL) return true;
        cursor = comma + 1;
    }
}

/* Long fields are cut in messages so one bad cell cannot flood the log. */
enum { QUOTED_FIELD_MAX = 40 };

static gc_status field_error(const char *path, size_t line_number, size_t column,
                             const csv_field *field)
{
    if (field->kind == FIELD_EMPTY)
        return GC_ERROR(GC_ERR_FORMAT, "%s:%zu: field %zu is empty", path, line_number, column);
    size_t length = strlen(field->text);
    const char *ellipsis = length > QUOTED_FIELD_MAX ? "..." : "";
    int shown = (int)(length > QUOTED_FIELD_MAX ? QUOTED_FIELD_MAX : length);
    if (field->kind == FIELD_TEXT)
        return GC_ERROR(GC_ERR_FORMAT, "%s:%zu: field %zu is not a number: \"%.*s%s\"", path,
                        line_number, column, shown, field->text, ellipsis);
    return GC_ERROR(GC_ERR_FORMAT, "%s:%zu: field %zu is not a finite number: \"%.*s%s\"", path,
                    line_number, column, shown, field->text, ellipsis);
}

/* What gc_csv_read has gathered so far. */
typedef struct csv_reader {
    const char *path;
    size_t line_number;
    csv_field *fields;
    size_t field_capacity;
    double *values;
    size_t value_capacity;
    size_t rows, dim;
    bool seen_content;
    size_t header_columns, header_line; /* a first line without numbers is a header */
} csv_reader;

/* The row's column count against the header's or the first row's. */
static gc_status check_columns(csv_reader *r, size_t count)
{
    if (r->rows == 0) {
        if (r->header_columns != 0 && count != r->header_columns)
            return GC_ERROR(GC_ERR_FORMAT,
                            "%s:%zu: expected %zu columns (as in the header on line %zu), "
                            "found %zu",
                            r->path, r->line_number, r->header_columns, r->header_line, count);
        r->dim = count;
    } else if (count != r->dim) {
        return GC_ERROR(GC_ERR_FORMAT, "%s:%zu: expected %zu columns, found %zu", r->path,
                        r->line_number, r->dim, count);
    }
    return GC_OK;
}

/* One line of the file (its newline removed): skipped, taken as the header, or a row of
 * finite numbers appended to the values. */
static gc_status take_line(csv_reader *r, char *line, size_t length)
{
    if (memchr(line, '\0', length) != NULL)
        return GC_ERROR(GC_ERR_FORMAT, "%s:%zu: line contains a NUL byte", r->path, r->line_number);
    char *start = line;
    /* Spreadsheet exports often begin with a UTF-8 byte order mark. */
    if (r->line_number == 1 && strncmp(start, "\xEF\xBB\xBF", 3) == 0) start += 3;
    while (is_blank(*start)) start++;
    if (*start == '\0' || *start == '#') return GC_OK;

    size_t count;
    if (!split_fields(start, &r->fields, &r->field_capacity, &count))
        return GC_ERROR(GC_ERR_MEMORY, "%s:%zu: out of memory", r->path, r->line_number);
    const csv_field *fields = r->fields;
    if (!r->seen_content) {
        r->seen_content = true;
        bool any_number = false;
        for (size_t i = 0; i < count; i++) any_number |= fields[i].kind == FIELD_NUMBER;
        if (!any_number) {
            r->header_columns = count;
            r->header_line = r->line_number;
            return GC_OK;
        }
    }
    GC_TRY(check_columns(r, count));
    for (size_t i = 0; i < count; i++)
        if (fields[i].kind != FIELD_NUMBER || !isfinite(fields[i].value))
            return field_error(r->path, r->line_number, i + 1, &fields[i]);
    if ((r->rows + 1) > SIZE_MAX / r->dim || !reserve((void **)&r->values, &r->value_capacity,
                                                      (r->rows + 1) * r->dim, sizeof *r->values))
        return GC_ERROR(GC_ERR_MEMORY, "%s:%zu: out of memory", r->path, r->line_number);
    for (size_t i = 0; i < count; i++) r->values[r->rows * r->dim + i] = fields[i].value;
    r->rows++;
    return GC_OK;
}

/* Opens the file for gc_csv_read, refusing a model file given where data belongs: an easy
 * slip (--data for --model) better named than reported as a malformed row of binary bytes. */
static gc_status open_csv(const char *path, FILE **file_out)
{
    FILE *file = fopen(path, "r");
    if (file == NULL) return GC_ERROR(GC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    unsigned char start[8];
    size_t start_size = fread(start, 1, sizeof start, file);
    if (gc_archive_has_magic(start, start_size)) {
        fclose(file);
        return GC_ERROR(GC_ERR_FORMAT,
                        "%s is a glowcl model file, not CSV data (a model is "
                        "given with --model)",
                        path);
    }
    rewind(file);
    *file_out = file;
    return GC_OK;
}

gc_status gc_csv_read(const char *path, double **points_out, size_t *n_out, size_t *dim_out)
{
    if (path == NULL || points_out == NULL || n_out == NULL || dim_out == NULL)
        return GC_ERROR(GC_ERR_ARGUMENT, "gc_csv_read: NULL argument");
    *points_out = NULL;
    *n_out = 0;
    *dim_out = 0;
    FILE *file = NULL;
    GC_TRY(open_csv(path, &file));

    csv_reader r = {.path = path};
    gc_status status = GC_OK;
    char *line = NULL;
    size_t line_capacity = 0;
    ssize_t length;
    while (status == GC_OK && (length = getline(&line, &line_capacity, file)) != -1) {
        r.line_number++;
        if (length > 0 && line[length - 1] == '\n') line[--length] = '\0';
        status = take_line(&r, line, (size_t)length);
    }
    if (status == GC_OK && ferror(file))
        status = GC_ERROR(GC_ERR_IO, "error reading %s: %s", path, strerror(errno));
    if (status == GC_OK && r.rows == 0) status = GC_ERROR(GC_ERR_FORMAT, "%s: no data rows", path);

    free(line);
    free(r.fields);
    fclose(file);
    if (status != GC_OK) {
        free(r.values);
        return status;
    }
    *points_out = r.values;
    *n_out = r.rows;
    *dim_out = r.dim;
    return GC_OK;
}

typedef struct csv_rows {
    const char *path, *header;
    const double *points;
    size_t n, dim;
} csv_rows;

static gc_status write_rows(FILE *file, void *context)
{
    const csv_rows *r = context;
    bool written = r->header == NULL || fprintf(file, "%s\n", r->header) >= 0;
    for (size_t row = 0; written && row < r->n; row++) {
        for (size_t column = 0; written && column < r->dim; column++)
            written =
                fprintf(file, column ? ",%.9g" : "%.9g", r->points[row * r->dim + column]) >= 0;
        written = written && fputc('\n', file) != EOF;
    }
    return written ? GC_OK : GC_ERROR(GC_ERR_IO, "cannot write %s: %s", r->path, strerror(errno));
}

gc_status gc_csv_write(const char *path, const double *points, size_t n, size_t dim,
                       const char *header)
{
    if (path == NULL) return GC_ERROR(GC_ERR_ARGUMENT, "gc_csv_write: path is NULL");
    if (n > 0 && dim == 0)
        return GC_ERROR(GC_ERR_ARGUMENT, "%s: cannot write %zu rows of 0 columns", path, n);
    if (dim > 0 && n > SIZE_MAX / dim)
        return GC_ERROR(GC_ERR_ARGUMENT, "%s: %zu x %zu values is too many", path, n, dim);
    if (n > 0 && points == NULL) return GC_ERROR(GC_ERR_ARGUMENT, "%s: points is NULL", path);
    if (header != NULL && strpbrk(header, "\r\n") != NULL)
        return GC_ERROR(GC_ERR_ARGUMENT, "%s: header must be a single line", path);
    /* Checked before touching the disk: the reader rejects non-finite values, so writing them
     * would produce a file glowcl cannot load back. */
    for (size_t i = 0; i < n * dim; i++) {
        if (!isfinite(points[i]))
            return GC_ERROR(GC_ERR_NUMERIC, "%s: row %zu column %zu is not finite (%g)", path,
                            i / dim + 1, i % dim + 1, points[i]);
    }

    csv_rows rows = {path, header, points, n, dim};
    return gc_write_file_atomically(path, write_rows, &rows);
}
