/* The tuner's cache: the kernel shapes `glowcl bench --tune` chose for a device, one text file a
 * device in $XDG_CACHE_HOME/glowcl/ (default ~/.cache/glowcl/), read whenever a runtime opens
 * that device. The format (docs/cli.md, "The tuning cache"):
 *
 *     glowcl-kernel-shapes 1
 *     # comments
 *     device pthread-haswell-AMD EPYC
 *     platform Portable Computing Language
 *     driver 6.0+debian
 *     class cpu-avx2
 *     VECTOR_GROUP=16
 *
 * An entry counts only for the device, platform, driver version and class it names. */
#ifndef GLOWCL_TUNE_CACHE_H
#define GLOWCL_TUNE_CACHE_H

#include <stddef.h>
#include <stdio.h>

#include "core/shapes.h"

/* The first line of every cache file; another number is another format. */
#define GC_TUNE_CACHE_MAGIC "glowcl-kernel-shapes"
enum { GC_TUNE_CACHE_VERSION = 1 };

/* The device's file: the cache folder, then the device's name with anything but letters,
 * digits, '.', '-' and '_' made '_', a hash of its platform and name, ".shapes". GC_ERR_IO when
 * neither XDG_CACHE_HOME nor HOME gives an absolute folder, GC_ERR_ARGUMENT when out is too
 * small. */
gc_status gc_tune_cache_path(const gc_device_info *device, char *out, size_t size);

/* Sets the fields the device's entry names over `shapes`, and says so on `log` (may be NULL).
 * An entry for another device, platform, driver or class, or one that does not parse, is
 * passed over with a one-line warning on `log`; no entry at all, silently. Returns 1 when the
 * entry was used, else 0: a cache is never a reason not to run. */
int gc_tune_cache_apply(const gc_device_info *device, gc_kernel_shapes *shapes, FILE *log);

/* Makes the cache folder (and its parents) if missing and checks that it can be written;
 * `path` (size bytes) gets the device's file. GC_ERR_IO naming the folder when not. */
gc_status gc_tune_cache_prepare(const gc_device_info *device, char *path, size_t size);

/* Writes the device's entry with `assignments` ("NAME=value,NAME=value"), through a temporary
 * file renamed over the old one, so a reader sees the old entry or the new, never half. */
gc_status gc_tune_cache_write(const gc_device_info *device, const char *assignments,
                              const char *path);

#endif
