/* NumPy's array files: .npy (one array; format versions 1.0, 2.0 and 3.0) read and written, and
 * .npz (a zip of .npy members, as numpy.savez and numpy.savez_compressed write them) read and
 * written, so arrays pass between glowcl and Python without a conversion step.
 *
 * glowcl reads and writes three dtypes: uint8 ('|u1'), float32 ('<f4') and float64 ('<f8'); it
 * also reads big-endian floats ('>f4', '>f8'), converting them, which loses nothing. Arrays are
 * in C order (the last axis varies fastest); a Fortran-order file is refused, as are object and
 * structured dtypes and every other dtype, each with a message that names the file and what it
 * holds. Files are written as version 1.0 with little-endian data, the header padded so that
 * the data start on a 64-byte boundary, as NumPy writes them. */
#ifndef GLOWCL_NPY_H
#define GLOWCL_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "glowcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gc_npy_dtype { GC_NPY_U8 = 1, GC_NPY_F32 = 2, GC_NPY_F64 = 3 } gc_npy_dtype;

#define GC_NPY_MAX_DIMS 8

typedef struct gc_npy_array {
    gc_npy_dtype dtype;
    size_t ndim; /* 0 (a scalar) to GC_NPY_MAX_DIMS */
    size_t shape[GC_NPY_MAX_DIMS];
    /* gc_npy_count(array) values, uint8_t, float or double by dtype, in the host's byte order
     * and C order. What the readers return owns it (gc_npy_free); a writer only reads it. */
    void *data;
} gc_npy_array;

/* Bytes of one value of the dtype: 1, 4 or 8 (0 for a value that is no dtype). */
size_t gc_npy_dtype_size(gc_npy_dtype dtype);
/* The product of the shape: 1 for a scalar, 0 when an axis is 0. */
size_t gc_npy_count(const gc_npy_array *array);
/* Frees what a reader returned and zeroes the struct; a zeroed struct (or NULL) is fine. */
void gc_npy_free(gc_npy_array *array);

/* Reads a .npy file. On success *out owns its data; on error *out is zeroed and the message
 * names the file and what is wrong: GC_ERR_IO (cannot open or read), GC_ERR_FORMAT (no NumPy
 * magic, a .npz or glowcl file given instead, an unknown format version, a truncated or
 * malformed header, an unsupported dtype, Fortran order, more than GC_NPY_MAX_DIMS axes, data
 * shorter or longer than the header's shape), GC_ERR_MEMORY, GC_ERR_ARGUMENT (NULL pointers). */
gc_status gc_npy_read(const char *path, gc_npy_array *out);

/* gc_npy_read without the data: dtype, ndim and shape, with every check of gc_npy_read but
 * the reading of the data (their size is still checked against the file's); data is NULL. For
 * telling what a file holds before reading it whole. */
gc_status gc_npy_read_header(const char *path, gc_npy_array *out);

/* The same from the `size` bytes at `bytes` (copied); `label` stands for the path in messages.
 * Never reads outside [bytes, bytes + size). */
gc_status gc_npy_read_memory(const void *bytes, size_t size, const char *label, gc_npy_array *out);

/* Writes `array` as a .npy file, atomically: `path` holds either its old contents or the whole
 * new file (gc_write_file_atomically). Errors: GC_ERR_ARGUMENT (unknown dtype, too many axes, a
 * shape whose byte count overflows, NULL data with values to write), GC_ERR_IO, GC_ERR_MEMORY. */
gc_status gc_npy_write(const char *path, const gc_npy_array *array);

/* ---- .npz archives ---- */

typedef struct gc_npz gc_npz;

/* Reads a .npz file whole: every member must be a .npy file ("NAME.npy", known as NAME), stored
 * or deflated, with a matching CRC-32; each is read as gc_npy_read reads a file, its messages
 * naming "path:NAME.npy". Errors: GC_ERR_IO, GC_ERR_FORMAT (not a zip archive, a ZIP64 archive,
 * an encrypted member or another compression method, a bad CRC, a member that is not .npy or
 * is there twice, any error of the member's array), GC_ERR_MEMORY; on error *out is NULL. */
gc_status gc_npz_read(gc_npz **out, const char *path);
/* The same from memory (nothing is kept pointing into `bytes`). */
gc_status gc_npz_read_memory(gc_npz **out, const void *bytes, size_t size, const char *label);
/* NULL is allowed. */
void gc_npz_free(gc_npz *npz);

/* The arrays in the archive's order, by index (below gc_npz_count), or by name:
 * gc_npz_find fails with GC_ERR_FORMAT "<path>: no array 'x' (it holds a, b)". The arrays belong
 * to the archive. */
size_t gc_npz_count(const gc_npz *npz);
const char *gc_npz_name(const gc_npz *npz, size_t index);
const gc_npy_array *gc_npz_array(const gc_npz *npz, size_t index);
gc_status gc_npz_find(const gc_npz *npz, const char *name, const gc_npy_array **array);

typedef struct gc_npz_writer gc_npz_writer;

/* Starts an archive to be written at `path`; nothing touches the disk before the commit. */
gc_status gc_npz_writer_open(gc_npz_writer **out, const char *path);

/* Adds `array` as member "NAME.npy", encoded now (the caller may free its data after the call).
 * NAME is 1 to 200 characters of [A-Za-z0-9_.-], not used before in this archive; a bad name or
 * array is GC_ERR_ARGUMENT and leaves the writer as it was. */
gc_status gc_npz_put(gc_npz_writer *w, const char *name, const gc_npy_array *array);

/* Writes the archive, its members stored (uncompressed) with their CRC-32, as numpy.savez does,
 * atomically (gc_write_file_atomically), and frees `w` whatever the outcome. An archive or
 * member past 4 GiB is GC_ERR_ARGUMENT (ZIP64 is not written); GC_ERR_IO. */
gc_status gc_npz_writer_commit(gc_npz_writer *w);

/* Frees `w` without writing anything. NULL is allowed. */
void gc_npz_writer_abort(gc_npz_writer *w);

#ifdef __cplusplus
}
#endif

#endif
