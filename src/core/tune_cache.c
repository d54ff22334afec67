/* The tuner's cache of kernel shapes per device (see tune_cache.h). */
#include "core/tune_cache.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"

/* The folder: $XDG_CACHE_HOME/glowcl, or $HOME/.cache/glowcl. The XDG specification says a
 * relative XDG_CACHE_HOME is to be ignored. */
static gc_status cache_dir(char *out, size_t size)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n = -1;
    if (xdg && xdg[0] == '/')
        n = snprintf(out, size, "%s/glowcl", xdg);
    else if (home && home[0] == '/')
        n = snprintf(out, size, "%s/.cache/glowcl", home);
    else
        return GC_ERROR(GC_ERR_IO, "no folder for the kernel shape cache: neither XDG_CACHE_HOME "
                                   "nor HOME is an absolute path");
    if (n < 0 || (size_t)n >= size)
        return GC_ERROR(GC_ERR_ARGUMENT, "the kernel shape cache's folder name is too long");
    return GC_OK;
}

/* FNV-1a: the file name must tell apart devices whose sanitised names are alike. */
static uint32_t text_hash(uint32_t hash, const char *text)
{
    for (const unsigned char *c = (const unsigned char *)text; *c; c++)
        hash = (hash ^ *c) * 16777619u;
    return hash;
}

gc_status gc_tune_cache_path(const gc_device_info *device, char *out, size_t size)
{
    char dir[4096], name[65];
    GC_TRY(cache_dir(dir, sizeof dir));
    size_t length = 0;
    for (const char *c = device->name; *c && length + 1 < sizeof name; c++) {
        int keep = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                   (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || (*c == '.' && length > 0);
        name[length++] = keep ? *c : '_';
    }
    name[length] = '\0';
    uint32_t hash = text_hash(text_hash(2166136261u, device->platform_name), "\n");
    hash = text_hash(hash, device->name);
    int n = snprintf(out, size, "%s/%s-%08x.shapes", dir, length ? name : "device", hash);
    if (n < 0 || (size_t)n >= size)
        return GC_ERROR(GC_ERR_ARGUMENT, "the kernel shape cache's file name is too long");
    return GC_OK;
}

/* A driver's text as one line: control characters made spaces, trailing blanks dropped (some
 * drivers pad their names), so what is written compares equal to what is read back. */
static void one_line(const char *in, char *out, size_t size)
{
    size_t length = 0;
    for (const char *c = in; *c && length + 1 < size; c++)
        out[length++] = (unsigned char)*c < 0x20 ? ' ' : *c;
    while (length > 0 && out[length - 1] == ' ') length--;
    out[length] = '\0';
}

/* What an entry says about where it was measured. */
typedef struct cache_entry {
    int version_seen;
    char device[128], platform[128], driver[128], device_class[32];
    gc_kernel_shapes shapes;
} cache_entry;

/* One line of an entry (without its newline). Comments and blank lines are skipped; `why`
 * gets the reason a line is refused. */
static int parse_line(cache_entry *entry, char *line, const char *where, char *why, size_t size)
{
    one_line(line, line, strlen(line) + 1);
    if (line[0] == '\0' || line[0] == '#') return 1;
    if (!entry->version_seen) {
        char magic[32];
        int version = 0;
        if (sscanf(line, "%31s %d", magic, &version) != 2 ||
            strcmp(magic, GC_TUNE_CACHE_MAGIC) != 0) {
            snprintf(why, size, "%s: not a kernel shape cache (no '%s' line)", where,
                     GC_TUNE_CACHE_MAGIC);
            return 0;
        }
        if (version != GC_TUNE_CACHE_VERSION) {
            snprintf(why, size, "%s: format %d, this glowcl reads %d", where, version,
                     GC_TUNE_CACHE_VERSION);
            return 0;
        }
        entry->version_seen = 1;
        return 1;
    }
    static const struct {
        const char *key;
        size_t offset, size;
    } keys[] = {
        {"device ", offsetof(cache_entry, device), sizeof entry->device},
        {"platform ", offsetof(cache_entry, platform), sizeof entry->platform},
        {"driver ", offsetof(cache_entry, driver), sizeof entry->driver},
        {"class ", offsetof(cache_entry, device_class), sizeof entry->device_class},
    };
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
        if (strncmp(line, keys[k].key, strlen(keys[k].key)) == 0) {
            snprintf((char *)entry + keys[k].offset, keys[k].size, "%s",
                     line + strlen(keys[k].key));
            return 1;
        }
    if (!strchr(line, '=')) {
        snprintf(why, size, "%s: '%.60s' is no line of a kernel shape cache", where, line);
        return 0;
    }
    if (gc_kernel_shapes_parse(&entry->shapes, line, where) == GC_OK) return 1;
    snprintf(why, size, "%s", gc_last_error());
    return 0;
}

/* Reads the file into `entry`; 0 with the reason in `why` when it does not parse. */
static int read_entry(FILE *file, cache_entry *entry, char *why, size_t size)
{
    char line[512], where[32];
    for (int number = 1; fgets(line, sizeof line, file); number++) {
        snprintf(where, sizeof where, "line %d", number);
        if (!strchr(line, '\n') && !feof(file)) {
            snprintf(why, size, "%s is longer than %zu characters", where, sizeof line - 2);
            return 0;
        }
        line[strcspn(line, "\n")] = '\0';
        if (!parse_line(entry, line, where, why, size)) return 0;
    }
    if (!entry->version_seen || !entry->device[0] || !entry->platform[0] || !entry->driver[0] ||
        !entry->device_class[0]) {
        snprintf(why, size, "it lacks one of the lines %s, device, platform, driver, class",
                 GC_TUNE_CACHE_MAGIC);
        return 0;
    }
    return 1;
}

/* 1 when the entry was measured on this device and driver; else 0 with the reason. */
static int entry_matches(const cache_entry *entry, const gc_device_info *device, char *why,
                         size_t size)
{
    char name[128], platform[128], driver[128];
    one_line(device->name, name, sizeof name);
    one_line(device->platform_name, platform, sizeof platform);
    one_line(device->driver_version, driver, sizeof driver);
    const char *device_class = gc_device_class(device);
    if (strcmp(entry->device, name) != 0 || strcmp(entry->platform, platform) != 0)
        snprintf(why, size, "it is for %.100s (%.100s), not this %.100s (%.100s)", entry->device,
                 entry->platform, name, platform);
    else if (strcmp(entry->driver, driver) != 0)
        snprintf(why, size,
                 "it was measured with driver %.100s, this is %.100s (glowcl bench --tune "
                 "measures again)",
                 entry->driver, driver);
    else if (strcmp(entry->device_class, device_class) != 0)
        snprintf(why, size, "it was measured for class %s, the device is now %s",
                 entry->device_class, device_class);
    else
        return 1;
    return 0;
}

int gc_tune_cache_apply(const gc_device_info *device, gc_kernel_shapes *shapes, FILE *log)
{
    char path[4200];
    if (gc_tune_cache_path(device, path, sizeof path) != GC_OK) return 0;
    FILE *file = fopen(path, "r");
    if (!file) return 0; /* never tuned */
    cache_entry entry = {0};
    entry.shapes = *shapes;
    char why[1024] = "";
    int usable =
        read_entry(file, &entry, why, sizeof why) && entry_matches(&entry, device, why, sizeof why);
    fclose(file);
    if (!usable) {
        if (log)
            fprintf(log, "glowcl: warning: ignoring the kernel shape cache %s: %s\n", path, why);
        return 0;
    }
    *shapes = entry.shapes;
    if (log) fprintf(log, "glowcl: kernel shapes tuned for this device: %s\n", path);
    return 1;
}

/* mkdir -p, each new folder private to its user as the XDG specification asks. */
static int make_dirs(char *path)
{
    for (char *slash = strchr(path + 1, '/');; slash = strchr(slash + 1, '/')) {
        if (slash) *slash = '\0';
        int made = mkdir(path, 0700) == 0 || errno == EEXIST;
        if (slash) *slash = '/';
        if (!made) return -1;
        if (!slash) return 0;
    }
}

gc_status gc_tune_cache_prepare(const gc_device_info *device, char *path, size_t size)
{
    char dir[4096];
    GC_TRY(cache_dir(dir, sizeof dir));
    GC_TRY(gc_tune_cache_path(device, path, size));
    if (make_dirs(dir) != 0 || access(dir, W_OK) != 0)
        return GC_ERROR(GC_ERR_IO, "cannot write the kernel shape cache in %s: %s", dir,
                        strerror(errno));
    return GC_OK;
}

static int write_entry(FILE *file, const gc_device_info *device, const char *assignments)
{
    char name[128], platform[128], driver[128];
    one_line(device->name, name, sizeof name);
    one_line(device->platform_name, platform, sizeof platform);
    one_line(device->driver_version, driver, sizeof driver);
    fprintf(file,
            "%s %d\n# The kernel shapes glowcl bench --tune measured fastest on this device "
            "(docs/cli.md).\n# Delete the file to forget them, or set GLOWCL_TUNE=off.\n"
            "device %s\nplatform %s\ndriver %s\nclass %s\n",
            GC_TUNE_CACHE_MAGIC, GC_TUNE_CACHE_VERSION, name, platform, driver,
            gc_device_class(device));
    for (const char *entry = assignments; *entry;) {
        size_t length = strcspn(entry, ", ");
        if (length > 0) fprintf(file, "%.*s\n", (int)length, entry);
        entry += length;
        entry += strspn(entry, ", ");
    }
    return fflush(file) == 0 && fsync(fileno(file)) == 0 && !ferror(file);
}

gc_status gc_tune_cache_write(const gc_device_info *device, const char *assignments,
                              const char *path)
{
    char temporary[4300];
    snprintf(temporary, sizeof temporary, "%s.%ld.tmp", path, (long)getpid());
    FILE *file = fopen(temporary, "w");
    if (!file)
        return GC_ERROR(GC_ERR_IO, "cannot write the kernel shape cache %s: %s", temporary,
                        strerror(errno));
    int written = write_entry(file, device, assignments);
    int saved_errno = errno;
    if (fclose(file) != 0 && written) {
        written = 0;
        saved_errno = errno;
    }
    if (written && rename(temporary, path) == 0) return GC_OK;
    if (written) saved_errno = errno;
    remove(temporary);
    return GC_ERROR(GC_ERR_IO, "cannot write the kernel shape cache %s: %s", path,
                    strerror(saved_errno));
}
