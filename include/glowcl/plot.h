/* PNG output of glowcl: scatter plots, density maps, line plots and image grids drawn on the CPU,
 * plus atomic PNG writing and tolerant PNG reading. These pictures are what a training run shows
 * to a person, so every plot has a frame, "nice" ticks with numeric labels and a title. */
#ifndef GLOWCL_PLOT_H
#define GLOWCL_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "glowcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gc_rgb {
    uint8_t r, g, b;
} gc_rgb;

typedef struct gc_plot_range {
    double xmin, xmax, ymin, ymax;
} gc_plot_range;

typedef struct gc_scatter_series {
    const double *xy; /* n points, interleaved x,y */
    size_t n;
    gc_rgb color;
    const char *label; /* legend text or NULL */
} gc_scatter_series;

/* A default size that reads well on screen and in reports. */
enum { GC_PLOT_DEFAULT_SIZE = 640 };

/* Plot widths and heights outside [GC_PLOT_MIN_SIZE, GC_PLOT_MAX_SIZE] pixels are rejected
 * with GC_ERR_ARGUMENT. */
enum { GC_PLOT_MIN_SIZE = 96, GC_PLOT_MAX_SIZE = 8192 };

/* The index-th colour of a categorical palette that stays distinguishable on white
 * (cycles after 8 colours), for callers that need series colours. */
gc_rgb gc_plot_palette_color(size_t index);

/* Writes a PNG scatter plot of several point series, with a frame, axes, "nice" tick marks and
 * numeric tick labels on both axes, a title at the top (title may be NULL), and a legend if any
 * label is non-NULL. Points are small alpha-blended discs, so dense regions read darker.
 * range==NULL: automatic range covering all finite points with 5% margin; points outside the
 * range or non-finite are skipped. */
gc_status gc_plot_scatter(const char *path, const char *title, const gc_scatter_series *series,
                          size_t nseries, const gc_plot_range *range, int width, int height);

/* Writes a PNG heat map of a scalar field sampled on a gw x gh grid (values[j*gw+i] is the value
 * at x = xmin + (i+0.5)*(xmax-xmin)/gw, y = ymin + (j+0.5)*(ymax-ymin)/gh, j=0 at the BOTTOM),
 * with axes/ticks/labels/title like the scatter plot and a colour bar with tick labels.
 * The field is interpolated bilinearly between cell centres; the colour map is a viridis-like
 * dark-to-bright map over [min, max] of the finite values. Non-finite values are drawn grey. */
gc_status gc_plot_density(const char *path, const char *title, const double *values, int gw, int gh,
                          gc_plot_range range, int width, int height);

/* One line of gc_plot_line_series: n values y[i] at x[i] (x NULL: x[i] = i), its colour, and
 * its legend text (NULL: none; no legend is drawn when no series has one). */
typedef struct gc_line_series {
    const double *x, *y;
    size_t n;
    gc_rgb color;
    const char *label;
} gc_line_series;
enum { GC_PLOT_MAX_LINES = 8 };

/* Writes a PNG of up to GC_PLOT_MAX_LINES lines on one pair of axes that covers them all (e.g.
 * a training loss per step and a test score every so often), drawn in order, with a legend,
 * like gc_plot_lines otherwise. */
gc_status gc_plot_line_series(const char *path, const char *title, const char *xlabel,
                              const char *ylabel, const gc_line_series *series, size_t nseries,
                              int width, int height);

/* Writes a PNG line plot y(x) (e.g. a training loss curve) with axes, ticks, labels, title, and
 * axis labels xlabel/ylabel (each may be NULL). x may be NULL, meaning x[i] = i. Non-finite
 * points are skipped and break the line. */
gc_status gc_plot_lines(const char *path, const char *title, const char *xlabel, const char *ylabel,
                        const double *x, const double *y, size_t n, int width, int height);

/* Writes an RGB8 image (rows top to bottom, 3 bytes per pixel) as PNG, atomically: written to
 * "<path>.tmp.<pid>", fflush+fsync'd, then rename()d over path, so a crash never leaves a
 * half-written file in place of an old one. On failure the temporary file is removed. */
gc_status gc_png_write_rgb(const char *path, const uint8_t *rgb, int width, int height);

/* Reads a PNG (8-bit or 16-bit, gray/gray+alpha/RGB/RGBA/palette) into a newly malloc'd RGB8
 * buffer (alpha dropped, 16-bit reduced, palette expanded, gray replicated); *channels_out =
 * number of colour channels in the file (1 or 3; alpha not counted; may be NULL). The caller
 * frees *rgb_out. Corrupt/truncated/non-PNG files give GC_ERR_FORMAT, a missing or unreadable
 * file GC_ERR_IO; libpng itself prints nothing. On error *rgb_out is NULL. */
gc_status gc_png_read_rgb(const char *path, uint8_t **rgb_out, int *width_out, int *height_out,
                          int *channels_out);

/* Writes a grid of images (n images, each C x H x W float in [0,1], channel-major, C = 1, 3 or
 * 4, the fourth channel, alpha, not shown) as one PNG with k = min(cols, n) columns and
 * r = ceil(n / k) rows, separated by 2-pixel mid-grey gaps (none at the outer border), so it is
 * (k*w + 2*(k-1)) x (r*h + 2*(r-1)) pixels; values clamped to [0,1] (NaN as 0), rounded to 8
 * bit. */
gc_status gc_image_grid(const char *path, const float *images, int n, int c, int h, int w,
                        int cols);

#ifdef __cplusplus
}
#endif

#endif
