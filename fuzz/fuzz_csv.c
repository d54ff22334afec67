/* libFuzzer target: the CSV reader gc_csv_read (src/io/data.c). The input is written to a file and
 * read; what reads must be a whole, finite n x dim array that writes and reads back the same. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "glowcl/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[128], copy_path[128];
    fuzz_path(path, sizeof path, "input.csv");
    fuzz_path(copy_path, sizeof copy_path, "copy.csv");
    fuzz_write(path, data, size);

    double *points = NULL;
    size_t n = 0, dim = 0;
    gc_status status = gc_csv_read(path, &points, &n, &dim);
    if (status != GC_OK) {
        FUZZ_CHECK(points == NULL && n == 0 && dim == 0);
        return 0;
    }
    FUZZ_CHECK(points != NULL && n > 0 && dim > 0);
    for (size_t i = 0; i < n * dim; i++) FUZZ_CHECK(isfinite(points[i]));

    /* Whatever reads writes back (%.9g, float precision) into a file of the same shape that
     * reads again: gc_csv_write promises a file glowcl can load. */
    if (gc_csv_write(copy_path, points, n, dim, NULL) == GC_OK) {
        double *again = NULL;
        size_t n2 = 0, dim2 = 0;
        gc_status reread = gc_csv_read(copy_path, &again, &n2, &dim2);
        FUZZ_CHECK(reread == GC_OK);
        FUZZ_CHECK(n2 == n && dim2 == dim);
        free(again);
    }
    free(points);
    return 0;
}
