/* libFuzzer target: the model-file container (src/base/archive.c) and its key=value config helpers.
 * Each input is read from memory as it is and, with its CRCs repaired, from memory and from a
 * file: both readers must agree, and a verified archive is walked through every getter. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "glowcl/archive.h"

static const char *const NAMES[] = {"config", "layout", "params", "adam_m", "adam_v", "a",
                                    "b",      "x",      "data",   "u",      "t"};
static const char *const KEYS[] = {"file",  "kind", "dim", "layers", "prior",
                                   "steps", "a",    "b",   "x"};

static void walk_config(const char *text)
{
    for (size_t k = 0; k < sizeof KEYS / sizeof *KEYS; k++) {
        long integer = 0;
        double real = 0.0;
        char value[32];
        (void)gc_config_get_long(text, KEYS[k], &integer);
        (void)gc_config_get_double(text, KEYS[k], &real);
        if (gc_config_get_string(text, KEYS[k], value, sizeof value) == GC_OK)
            FUZZ_CHECK(strlen(value) < sizeof value);
    }
}

static void walk(const gc_archive *a)
{
    for (size_t i = 0; i < sizeof NAMES / sizeof *NAMES; i++) {
        const char *name = NAMES[i];
        if (!gc_archive_has(a, name)) continue;
        const void *bytes = NULL;
        size_t size = 0;
        if (gc_archive_get_bytes(a, name, &bytes, &size) == GC_OK)
            (void)gc_crc32(0, bytes, size); /* every byte handed out is readable */
        const char *text = NULL;
        if (gc_archive_get_text(a, name, &text) == GC_OK) walk_config(text);
        double *values = NULL;
        size_t count = 0;
        if (gc_archive_get_f64_alloc(a, name, &values, &count) == GC_OK) {
            double *again = malloc((count ? count : 1) * sizeof *again);
            FUZZ_CHECK(again != NULL);
            FUZZ_CHECK(gc_archive_get_f64(a, name, again, count) == GC_OK);
            FUZZ_CHECK(count == 0 || memcmp(values, again, count * sizeof *again) == 0);
            /* One value more or less is a count mismatch, never a read past the end. */
            (void)gc_archive_get_f64(a, name, again, count ? count - 1 : 0);
            free(again);
            free(values);
        }
        uint64_t word[4];
        for (size_t n = 0; n <= 4; n++) (void)gc_archive_get_u64(a, name, word, n);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gc_archive *a = NULL;
    if (gc_archive_read_memory(&a, data, size, "fuzz") == GC_OK) {
        walk(a);
        gc_archive_free(a);
    }

    uint8_t *fixed = malloc(size ? size : 1);
    if (!fixed) return 0;
    memcpy(fixed, data, size);
    fuzz_fix_archive_crcs(fixed, size);
    gc_status from_memory = gc_archive_read_memory(&a, fixed, size, "fuzz");
    if (from_memory == GC_OK) {
        walk(a);
        gc_archive_free(a);
    }
    char path[128];
    fuzz_path(path, sizeof path, "input.glowcl");
    fuzz_write(path, fixed, size);
    gc_status from_file = gc_archive_read(&a, path);
    FUZZ_CHECK(from_file == from_memory); /* the same bytes, the same verdict */
    gc_archive_free(a);

    /* The input as config text, too. */
    char *text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = '\0';
        walk_config(text);
        free(text);
    }
    free(fixed);
    return 0;
}
