/* libFuzzer target: the PNG reader gc_png_read_rgb (src/io/plot.c) and the PNG folder loader
 * gc_png_folder_load (src/io/image_sets.c). The harness repairs the input's chunk CRCs, so
 * mutations reach the decoding rather than libpng's checksum test, and writes it as a file. An
 * image that reads is written and read back, and loaded as a folder of two copies of it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"
#include "glowcl/images.h"
#include "glowcl/plot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *png = malloc(size ? size : 1);
    if (!png) return 0;
    memcpy(png, data, size);
    fuzz_fix_png_crcs(png, size);
    char dir[128], first[192], second[192], copy[192];
    fuzz_path(dir, sizeof dir, "png");
    mkdir(dir, 0700);
    snprintf(first, sizeof first, "%s/a.png", dir);
    snprintf(second, sizeof second, "%s/b.PNG", dir);
    fuzz_path(copy, sizeof copy, "copy.png");
    fuzz_write(first, png, size);
    free(png);

    uint8_t *rgb = NULL;
    int width = 0, height = 0, channels = 0;
    gc_status status = gc_png_read_rgb(first, &rgb, &width, &height, &channels);
    gc_image_set set;
    if (status != GC_OK) {
        FUZZ_CHECK(rgb == NULL);
        FUZZ_CHECK(gc_png_folder_load(&set, dir, 0, 0, 0) != GC_OK);
        FUZZ_CHECK(set.pixels == NULL && set.count == 0);
        remove(first);
        return 0;
    }
    FUZZ_CHECK(rgb != NULL && width > 0 && height > 0 && (channels == 1 || channels == 3));
    size_t bytes = (size_t)width * (size_t)height * 3;
    (void)gc_crc32(0, rgb, bytes); /* every pixel is there to read */

    /* Two copies of the image as a folder: the same pixels, planar. */
    if (gc_png_write_rgb(second, rgb, width, height) == GC_OK) {
        status = gc_png_folder_load(&set, dir, (size_t)height, (size_t)width, 0);
        FUZZ_CHECK(status == GC_OK && set.count == 2 && set.channels == 3);
        size_t plane = (size_t)width * (size_t)height;
        for (size_t image = 0; image < 2; image++)
            for (size_t p = 0; p < plane; p++)
                for (size_t c = 0; c < 3; c++)
                    FUZZ_CHECK(set.pixels[image * 3 * plane + c * plane + p] == rgb[3 * p + c]);
        gc_image_set_free(&set);
        /* Only the first file when asked for one, and a size mismatch is refused. */
        FUZZ_CHECK(gc_png_folder_load(&set, dir, 0, 0, 1) == GC_OK && set.count == 1);
        gc_image_set_free(&set);
        FUZZ_CHECK(gc_png_folder_load(&set, dir, (size_t)height + 1, 0, 0) == GC_ERR_FORMAT);
    }
    remove(second);
    remove(first);
    free(rgb);
    return 0;
}
