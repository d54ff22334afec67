/* The C side of tests/numpy_test.sh, which checks glowcl's NumPy files against NumPy itself:
 *   npy_interop write DIR        writes DIR/f32.npy, f64.npy, u8.npy, scalar.npy and
 *                                arrays.npz (their values are in the script too)
 *   npy_interop read FILE [NAME] prints a .npy file's array, or member NAME of a .npz, as
 *                                "dtype shape v1 v2 ..." (%.17g), or "error: MESSAGE" (exit 3)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glowcl/npy.h"

static int failed(void)
{
    printf("error: %s\n", gc_last_error());
    return 3;
}

static int write_all(const char *dir)
{
    float f32[12];
    double f64[6], scalar = 2.5;
    uint8_t u8[12], labels[4] = {0, 9, 3, 255};
    float bpd[4] = {1.25f, 2.5f, -3.0f, 1e-3f};
    for (int i = 0; i < 12; i++) f32[i] = (float)i * 0.5f - 1.0f, u8[i] = (uint8_t)(i * 20);
    for (int i = 0; i < 6; i++) f64[i] = (double)i / 3.0;
    const struct {
        const char *name;
        gc_npy_array array;
    } files[] = {
        {"f32.npy", {GC_NPY_F32, 2, {3, 4}, f32}},
        {"f64.npy", {GC_NPY_F64, 2, {2, 3}, f64}},
        {"u8.npy", {GC_NPY_U8, 3, {2, 2, 3}, u8}},
        {"scalar.npy", {GC_NPY_F64, 0, {0}, &scalar}},
    };
    char path[4096];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
        if (gc_npy_write(path, &files[i].array) != GC_OK) return failed();
    }
    snprintf(path, sizeof path, "%s/arrays.npz", dir);
    gc_npz_writer *w = NULL;
    if (gc_npz_writer_open(&w, path) != GC_OK ||
        gc_npz_put(w, "latent_0", &files[1].array) != GC_OK ||
        gc_npz_put(w, "labels", &(gc_npy_array){GC_NPY_U8, 1, {4}, labels}) != GC_OK ||
        gc_npz_put(w, "bits_per_dim", &(gc_npy_array){GC_NPY_F32, 1, {4}, bpd}) != GC_OK) {
        gc_npz_writer_abort(w);
        return failed();
    }
    return gc_npz_writer_commit(w) == GC_OK ? 0 : failed();
}

static void print_array(const gc_npy_array *a)
{
    static const char *const names[] = {"", "uint8", "float32", "float64"};
    printf("%s (", names[a->dtype]);
    for (size_t i = 0; i < a->ndim; i++) printf("%s%zu", i ? ", " : "", a->shape[i]);
    printf(a->ndim == 1 ? ",)" : ")");
    for (size_t i = 0; i < gc_npy_count(a); i++) {
        double v = a->dtype == GC_NPY_U8    ? ((const uint8_t *)a->data)[i]
                   : a->dtype == GC_NPY_F32 ? ((const float *)a->data)[i]
                                            : ((const double *)a->data)[i];
        printf(" %.17g", v);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "write") == 0) return write_all(argv[2]);
    if (argc == 3 && strcmp(argv[1], "read") == 0) {
        gc_npy_array a;
        if (gc_npy_read(argv[2], &a) != GC_OK) return failed();
        print_array(&a);
        gc_npy_free(&a);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "read") == 0) {
        gc_npz *z = NULL;
        const gc_npy_array *a = NULL;
        if (gc_npz_read(&z, argv[2]) != GC_OK || gc_npz_find(z, argv[3], &a) != GC_OK) {
            gc_npz_free(z);
            return failed();
        }
        print_array(a);
        gc_npz_free(z);
        return 0;
    }
    fprintf(stderr, "usage: npy_interop write DIR | read FILE [NAME]\n");
    return 2;
}
