/* Plots and PNG files for include/glowcl/plot.h: a small RGB canvas (alpha-blended discs,
 * anti-aliased strokes, bitmap text), one axes layout shared by all plot kinds, and libpng
 * wrappers that report through gc_status, never print, and never leave half-written files. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* fsync, getpid */
#endif

#include "glowcl/plot.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/plot_font.h"

static const gc_rgb white = {255, 255, 255};
static const gc_rgb ink = {34, 34, 34};
static const gc_rgb frame_color = {70, 70, 70};
static const gc_rgb grid_color = {230, 230, 230};
static const gc_rgb legend_border = {200, 200, 200};
static const gc_rgb missing_value_grey = {160, 160, 160};
static const gc_rgb grid_gap_grey = {128, 128, 128};

gc_rgb gc_plot_palette_color(size_t index)
{
    static const gc_rgb palette[] = {
        {33, 102, 172}, {214, 96, 77},  {27, 158, 119}, {117, 112, 179},
        {230, 159, 0},  {231, 41, 138}, {90, 90, 90},   {166, 118, 29},
    };
    return palette[index % (sizeof palette / sizeof palette[0])];
}

static int clamp_int(int value, int lo, int hi)
{
    return value < lo ? lo : value > hi ? hi : value;
}

/* ---- canvas ---------------------------------------------------------------------------- */

typedef struct canvas {
    int width, height;
    uint8_t *rgb;
    int clip_x0, clip_y0, clip_x1, clip_y1; /* data marks must not spill over the frame */
} canvas;

static void canvas_clip(canvas *c, int x0, int y0, int x1, int y1)
{
    c->clip_x0 = x0 < 0 ? 0 : x0;
    c->clip_y0 = y0 < 0 ? 0 : y0;
    c->clip_x1 = x1 > c->width ? c->width : x1;
    c->clip_y1 = y1 > c->height ? c->height : y1;
}

static gc_status canvas_create(canvas *c, int width, int height)
{
    c->width = width;
    c->height = height;
    c->rgb = malloc((size_t)width * (size_t)height * 3);
    if (!c->rgb) return GC_ERROR(GC_ERR_MEMORY, "cannot allocate a %dx%d plot", width, height);
    memset(c->rgb, 255, (size_t)width * (size_t)height * 3);
    canvas_clip(c, 0, 0, width, height);
    return GC_OK;
}

static void blend(canvas *c, int x, int y, gc_rgb color, double alpha)
{
    if (x < c->clip_x0 || x >= c->clip_x1 || y < c->clip_y0 || y >= c->clip_y1) return;
    if (!(alpha > 0)) return;
    if (alpha > 1) alpha = 1;
    uint8_t *p = c->rgb + ((size_t)y * (size_t)c->width + (size_t)x) * 3;
    p[0] = (uint8_t)lround(p[0] + (color.r - p[0]) * alpha);
    p[1] = (uint8_t)lround(p[1] + (color.g - p[1]) * alpha);
    p[2] = (uint8_t)lround(p[2] + (color.b - p[2]) * alpha);
}

static void fill_rect(canvas *c, int x0, int y0, int x1, int y1, gc_rgb color, double alpha)
{
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) blend(c, x, y, color, alpha);
}

/* Pixel bounds of a mark, clamped to the canvas before converting, so far-away or huge
 * coordinates cannot overflow an int. */
static void mark_bounds(const canvas *c, double lo, double hi, bool vertical, int *first, int *last)
{
    double limit = vertical ? c->height : c->width;
    *first = (int)floor(fmin(fmax(lo, -1.0), limit));
    *last = (int)ceil(fmin(fmax(hi, -1.0), limit));
}

/* Coverage falls off over one pixel at the rim, which is all the anti-aliasing small
 * markers need. */
static void draw_disc(canvas *c, double cx, double cy, double radius, gc_rgb color, double alpha)
{
    int x0, x1, y0, y1;
    mark_bounds(c, cx - radius - 1, cx + radius + 1, false, &x0, &x1);
    mark_bounds(c, cy - radius - 1, cy + radius + 1, true, &y0, &y1);
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            double coverage = radius + 0.5 - hypot(x + 0.5 - cx, y + 0.5 - cy);
            if (coverage > 0) blend(c, x, y, color, alpha * fmin(coverage, 1.0));
        }
}

/* Strokes go into a coverage mask (max per pixel) that is composited once, so the joints of a
 * polyline with thousands of short segments do not darken or thicken the line. */
static void stroke_segment(const canvas *c, float *mask, double ax, double ay, double bx, double by,
                           double half_width)
{
    int x0, x1, y0, y1;
    double reach = half_width + 1;
    mark_bounds(c, fmin(ax, bx) - reach, fmax(ax, bx) + reach, false, &x0, &x1);
    mark_bounds(c, fmin(ay, by) - reach, fmax(ay, by) + reach, true, &y0, &y1);
    double dx = bx - ax, dy = by - ay, length2 = dx * dx + dy * dy;
    for (int y = y0 < 0 ? 0 : y0; y <= y1 && y < c->height; y++)
        for (int x = x0 < 0 ? 0 : x0; x <= x1 && x < c->width; x++) {
            double px = x + 0.5 - ax, py = y + 0.5 - ay;
            double t = length2 > 0 ? (px * dx + py * dy) / length2 : 0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double coverage = half_width + 0.5 - hypot(px - t * dx, py - t * dy);
            float *m = &mask[(size_t)y * (size_t)c->width + (size_t)x];
            if (coverage > *m) *m = (float)fmin(coverage, 1.0);
        }
}

/* ---- text ------------------------------------------------------------------------------ */

static const uint8_t *glyph_rows(char ch)
{
    unsigned code = (unsigned char)ch;
    if (code < PLOT_FONT_FIRST || code > PLOT_FONT_LAST) code = '?';
    return plot_font_glyphs[code - PLOT_FONT_FIRST];
}

/* The font is proportional: each glyph is trimmed to its inked columns, so "1.5" stays
 * compact in tick labels. */
static void glyph_extent(const uint8_t *rows, int *first_column, int *width)
{
    unsigned ink_columns = 0;
    for (int row = 0; row < PLOT_FONT_ROWS; row++) ink_columns |= rows[row];
    if (!ink_columns) { /* the space */
        *first_column = 0;
        *width = 3;
        return;
    }
    int first = 0, last = PLOT_FONT_COLUMNS - 1;
    while (!(ink_columns & (0x10u >> first))) first++;
    while (!(ink_columns & (0x10u >> last))) last--;
    *first_column = first;
    *width = last - first + 1;
}

static int text_width(const char *text, int scale)
{
    int advance = 0;
    for (const char *p = text; *p; p++) {
        int first, width;
        glyph_extent(glyph_rows(*p), &first, &width);
        advance += width + 1;
    }
    return advance > 0 ? (advance - 1) * scale : 0;
}

/* Horizontal text has the top of its capitals at y. Upward text (for the y-axis label) reads
 * bottom to top, starts at y and has the top of its capitals at x. */
static void draw_text(canvas *c, int x, int y, const char *text, int scale, gc_rgb color,
                      bool upward)
{
    int pen = 0;
    for (const char *p = text; *p; p++) {
        const uint8_t *rows = glyph_rows(*p);
        int first, width;
        glyph_extent(rows, &first, &width);
        for (int row = 0; row < PLOT_FONT_ROWS; row++)
            for (int column = first; column < first + width; column++) {
                if (!(rows[row] & (0x10u >> column))) continue;
                int along = (pen + column - first) * scale, across = row * scale;
                int px = upward ? x + across : x + along;
                int py = upward ? y - along - scale : y + across;
                fill_rect(c, px, py, px + scale, py + scale, color, 1.0);
            }
        pen += width + 1;
    }
}

/* ---- ticks ----------------------------------------------------------------------------- */

enum { MAX_TICKS = 32, TICK_LABEL_SIZE = 32 };

typedef struct tick_set {
    int count;
    double step;
    double values[MAX_TICKS];
    char labels[MAX_TICKS][TICK_LABEL_SIZE];
    int widest; /* pixels */
} tick_set;

/* Steps of 1, 2 or 5 times a power of ten, whichever is closest (geometrically) to the step
 * that would give `target` intervals. */
static double nice_step(double span, int target)
{
    double raw = span / target;
    double magnitude = pow(10.0, floor(log10(raw)));
    double normalized = raw / magnitude;
    if (normalized < 1.4142) return magnitude;
    if (normalized < 3.1623) return 2 * magnitude;
    if (normalized < 7.0711) return 5 * magnitude;
    return 10 * magnitude;
}

/* "2.50" -> "2.5", "1.0" -> "1": the compact labels the plots promise. */
static void trim_trailing_zeros(char *label)
{
    if (!strchr(label, '.')) return;
    size_t length = strlen(label);
    while (length > 0 && label[length - 1] == '0') label[--length] = '\0';
    if (length > 0 && label[length - 1] == '.') label[--length] = '\0';
}

/* Fixed-point with at most the decimals the step needs reads best; only very large or very
 * small magnitudes switch to exponent notation ("2e+05"). */
static void format_tick_labels(tick_set *t, int scale)
{
    double largest = 0;
    for (int i = 0; i < t->count; i++) largest = fmax(largest, fabs(t->values[i]));
    double step_exponent = floor(log10(t->step) + 1e-9);
    bool scientific = largest >= 1e5 || (largest > 0 && largest < 1e-3);
    int decimals = step_exponent < 0 ? (int)-step_exponent : 0;
    int significant = 1;
    if (scientific) {
        significant = (int)(floor(log10(largest)) - step_exponent) + 1;
        significant = clamp_int(significant, 1, 12);
    }
    t->widest = 0;
    for (int i = 0; i < t->count; i++) {
        if (scientific)
            snprintf(t->labels[i], TICK_LABEL_SIZE, "%.*g", significant, t->values[i]);
        else {
            snprintf(t->labels[i], TICK_LABEL_SIZE, "%.*f", decimals, t->values[i]);
            trim_trailing_zeros(t->labels[i]);
        }
        int width = text_width(t->labels[i], scale);
        if (width > t->widest) t->widest = width;
    }
}

static void make_ticks(tick_set *t, double lo, double hi, int target, int scale)
{
    t->step = nice_step(hi - lo, target < 1 ? 1 : target);
    double first = ceil(lo / t->step - 1e-9), last = floor(hi / t->step + 1e-9);
    double count = last - first + 1;
    t->count = !(count > 0) ? 0 : count > MAX_TICKS ? MAX_TICKS : (int)count;
    for (int i = 0; i < t->count; i++) {
        double value = (first + i) * t->step;
        /* exact multiples of the step keep "-0" and 1e-17 residues out of the labels */
        t->values[i] = fabs(value) < t->step * 1e-6 ? 0.0 : value;
    }
    format_tick_labels(t, scale);
}

/* ---- axes ------------------------------------------------------------------------------ */

typedef struct axes {
    int x0, y0, x1, y1; /* plot area [x0, x1) x [y0, y1) in pixels */
    gc_plot_range range;
    tick_set xticks, yticks;
    int scale; /* font scale of tick labels; everything else is sized from it */
} axes;

static int font_scale_for(int width, int height)
{
    int scale = (width < height ? width : height) / 560;
    return scale < 1 ? 1 : scale;
}

static double axes_px(const axes *a, double x)
{
    return a->x0 + (x - a->range.xmin) / (a->range.xmax - a->range.xmin) * (a->x1 - a->x0);
}

static double axes_py(const axes *a, double y)
{
    return a->y1 - (y - a->range.ymin) / (a->range.ymax - a->range.ymin) * (a->y1 - a->y0);
}

/* Pixel column/row of a tick; the tick at the upper end of the range maps to the far edge,
 * which is kept inside the plot area. */
static int tick_pixel(double position, int lo, int hi)
{
    int pixel = (int)floor(position);
    return pixel < lo ? lo : pixel >= hi ? hi - 1 : pixel;
}

static gc_status check_range(const gc_plot_range *r)
{
    double xspan = r->xmax - r->xmin, yspan = r->ymax - r->ymin;
    if (!(isfinite(xspan) && xspan > 0 && isfinite(yspan) && yspan > 0))
        return GC_ERROR(GC_ERR_ARGUMENT, "invalid plot range x [%g, %g], y [%g, %g]", r->xmin,
                        r->xmax, r->ymin, r->ymax);
    return GC_OK;
}

static gc_status check_size(int width, int height)
{
    if (width < GC_PLOT_MIN_SIZE || width > GC_PLOT_MAX_SIZE || height < GC_PLOT_MIN_SIZE ||
        height > GC_PLOT_MAX_SIZE)
        return GC_ERROR(GC_ERR_ARGUMENT, "plot size %dx%d is outside [%d, %d]", width, height,
                        GC_PLOT_MIN_SIZE, GC_PLOT_MAX_SIZE);
    return GC_OK;
}

/* Margins are derived from the labels they must hold: the y tick labels set the left margin,
 * which sets the plot width, which sets how many x ticks fit without their labels touching. */
static gc_status axes_layout(axes *a, int width, int height, gc_plot_range range, bool has_title,
                             bool has_xlabel, bool has_ylabel, int right_reserved)
{
    GC_TRY(check_size(width, height));
    GC_TRY(check_range(&range));
    int s = font_scale_for(width, height);
    int pad = 10 * s, text_height = PLOT_FONT_CAP_HEIGHT * s, tick_length = 5 * s;
    a->scale = s;
    a->range = range;
    a->y0 = has_title ? 2 * pad + 2 * text_height : 2 * pad;
    a->y1 = height - (s + tick_length + 4 * s + text_height + 2 * s + pad);
    if (has_xlabel) a->y1 -= 8 * s + text_height;

    int plot_height = a->y1 - a->y0;
    if (plot_height < 16)
        return GC_ERROR(GC_ERR_ARGUMENT, "plot height %d is too small for its labels", height);
    /* y labels only need a text line of room each, so even short axes get several ticks */
    make_ticks(&a->yticks, range.ymin, range.ymax, clamp_int(plot_height / (70 * s), 4, 10), s);

    a->x0 = pad + a->yticks.widest + 4 * s + tick_length + s;
    if (has_ylabel) a->x0 += text_height + 2 * s + 8 * s;
    int right = right_reserved + 2 * pad;
    for (int attempt = 0; attempt < 2; attempt++) {
        a->x1 = width - right;
        int plot_width = a->x1 - a->x0;
        if (plot_width < 16)
            return GC_ERROR(GC_ERR_ARGUMENT, "plot width %d is too small for its labels", width);
        for (int xtarget = clamp_int(plot_width / (80 * s), 3, 10); xtarget >= 1; xtarget--) {
            make_ticks(&a->xticks, range.xmin, range.xmax, xtarget, s);
            double spacing = a->xticks.step / (range.xmax - range.xmin) * plot_width;
            if (a->xticks.widest + 10 * s < spacing) break;
        }
        /* the rightmost x label is centred on its tick and may hang past the plot area */
        int overhang = a->xticks.widest / 2 + 2 * s;
        if (right_reserved > 0 || overhang <= right) break;
        right = overhang;
    }
    return GC_OK;
}

static void draw_grid(canvas *c, const axes *a)
{
    for (int i = 0; i < a->xticks.count; i++) {
        int x = tick_pixel(axes_px(a, a->xticks.values[i]), a->x0, a->x1);
        fill_rect(c, x, a->y0, x + 1, a->y1, grid_color, 1.0);
    }
    for (int i = 0; i < a->yticks.count; i++) {
        int y = tick_pixel(axes_py(a, a->yticks.values[i]), a->y0, a->y1);
        fill_rect(c, a->x0, y, a->x1, y + 1, grid_color, 1.0);
    }
}

/* Frame, ticks and all text go on last, over the data, with clipping lifted. */
static void draw_axes(canvas *c, const axes *a, const char *title, const char *xlabel,
                      const char *ylabel)
{
    int s = a->scale, text_height = PLOT_FONT_CAP_HEIGHT * s, tick_length = 5 * s;
    canvas_clip(c, 0, 0, c->width, c->height);
    fill_rect(c, a->x0 - s, a->y0 - s, a->x1 + s, a->y0, frame_color, 1.0);
    fill_rect(c, a->x0 - s, a->y1, a->x1 + s, a->y1 + s, frame_color, 1.0);
    fill_rect(c, a->x0 - s, a->y0, a->x0, a->y1, frame_color, 1.0);
    fill_rect(c, a->x1, a->y0, a->x1 + s, a->y1, frame_color, 1.0);

    int xlabel_top = a->y1 + s + tick_length + 4 * s;
    for (int i = 0; i < a->xticks.count; i++) {
        int x = tick_pixel(axes_px(a, a->xticks.values[i]), a->x0, a->x1);
        fill_rect(c, x, a->y1 + s, x + s, a->y1 + s + tick_length, frame_color, 1.0);
        const char *label = a->xticks.labels[i];
        draw_text(c, x - text_width(label, s) / 2, xlabel_top, label, s, ink, false);
    }
    int ylabel_right = a->x0 - s - tick_length - 4 * s;
    for (int i = 0; i < a->yticks.count; i++) {
        int y = tick_pixel(axes_py(a, a->yticks.values[i]), a->y0, a->y1);
        fill_rect(c, a->x0 - s - tick_length, y, a->x0 - s, y + s, frame_color, 1.0);
        const char *label = a->yticks.labels[i];
        draw_text(c, ylabel_right - text_width(label, s), y - text_height / 2, label, s, ink,
                  false);
    }

    int centre_x = (a->x0 + a->x1) / 2, centre_y = (a->y0 + a->y1) / 2;
    if (title && *title)
        draw_text(c, centre_x - text_width(title, 2 * s) / 2, 10 * s, title, 2 * s, ink, false);
    if (xlabel && *xlabel)
        draw_text(c, centre_x - text_width(xlabel, s) / 2, xlabel_top + text_height + 8 * s, xlabel,
                  s, ink, false);
    if (ylabel && *ylabel)
        draw_text(c, 10 * s, centre_y + text_width(ylabel, s) / 2, ylabel, s, ink, true);
}

/* Bounds of the finite data, widened by `margin` of the span on each side; degenerate data
 * (nothing finite, or a single value) still gets a usable interval around it. */
typedef struct interval {
    double lo, hi;
} interval;

static interval empty_interval(void) { return (interval){INFINITY, -INFINITY}; }

static void interval_include(interval *v, double value)
{
    if (!isfinite(value)) return;
    v->lo = fmin(v->lo, value);
    v->hi = fmax(v->hi, value);
}

static interval interval_padded(interval v, double margin)
{
    if (v.lo > v.hi) return (interval){0, 1};
    double span = v.hi - v.lo;
    if (span <= 1e-12 * fmax(fabs(v.lo), fabs(v.hi))) {
        double half = v.lo != 0 ? fabs(v.lo) * 0.1 : 1;
        return (interval){v.lo - half, v.hi + half};
    }
    return (interval){v.lo - margin * span, v.hi + margin * span};
}

static gc_status finish_plot(canvas *c, const char *path)
{
    gc_status status = gc_png_write_rgb(path, c->rgb, c->width, c->height);
    free(c->rgb);
    c->rgb = NULL;
    return status;
}

/* ---- scatter --------------------------------------------------------------------------- */

static void draw_legend(canvas *c, const axes *a, const gc_scatter_series *series, size_t nseries)
{
    int s = a->scale, pad = 6 * s, row_height = 12 * s, marker_room = 12 * s;
    int rows = 0, widest = 0;
    for (size_t i = 0; i < nseries; i++) {
        if (!series[i].label) continue;
        rows++;
        int width = text_width(series[i].label, s);
        if (width > widest) widest = width;
    }
    if (rows == 0) return;
    int x1 = a->x1 - 8 * s, x0 = x1 - (2 * pad + marker_room + widest);
    int y0 = a->y0 + 8 * s,
        y1 = y0 + 2 * pad + rows * row_height - (row_height - PLOT_FONT_CAP_HEIGHT * s);
    fill_rect(c, x0, y0, x1, y1, white, 0.85);
    fill_rect(c, x0, y0, x1, y0 + 1, legend_border, 1.0);
    fill_rect(c, x0, y1 - 1, x1, y1, legend_border, 1.0);
    fill_rect(c, x0, y0, x0 + 1, y1, legend_border, 1.0);
    fill_rect(c, x1 - 1, y0, x1, y1, legend_border, 1.0);
    int row = 0;
    for (size_t i = 0; i < nseries; i++) {
        if (!series[i].label) continue;
        int top = y0 + pad + row++ * row_height;
        draw_disc(c, x0 + pad + 3.5 * s, top + 3.5 * s, 3.0 * s, series[i].color, 1.0);
        draw_text(c, x0 + pad + marker_room, top, series[i].label, s, ink, false);
    }
}

gc_status gc_plot_scatter(const char *path, const char *title, const gc_scatter_series *series,
                          size_t nseries, const gc_plot_range *range, int width, int height)
{
    if (!path || (nseries > 0 && !series))
        return GC_ERROR(GC_ERR_ARGUMENT, "gc_plot_scatter: missing path or series");
    size_t total = 0;
    interval xs = empty_interval(), ys = empty_interval();
    for (size_t k = 0; k < nseries; k++) {
        if (series[k].n > 0 && !series[k].xy)
            return GC_ERROR(GC_ERR_ARGUMENT, "gc_plot_scatter: series %zu has no points", k);
        total += series[k].n;
        for (size_t i = 0; i < series[k].n && !range; i++) {
            double x = series[k].xy[2 * i], y = series[k].xy[2 * i + 1];
            if (!isfinite(x) || !isfinite(y)) continue;
            interval_include(&xs, x);
            interval_include(&ys, y);
        }
    }
    gc_plot_range r;
    if (range) {
        r = *range;
    } else {
        interval xrange = interval_padded(xs, 0.05), yrange = interval_padded(ys, 0.05);
        r = (gc_plot_range){xrange.lo, xrange.hi, yrange.lo, yrange.hi};
    }

    axes a;
    canvas c;
    GC_TRY(axes_layout(&a, width, height, r, title && *title, false, false, 0));
    GC_TRY(canvas_create(&c, width, height));
    draw_grid(&c, &a);

    /* fainter discs for big clouds, so overlap shows density instead of a solid blob */
    double alpha = total > 1000 ? fmax(0.25, 0.7 * sqrt(1000.0 / (double)total)) : 0.7;
    double radius = 1.5 * fmax(1.0, fmin(width, height) / 640.0);
    canvas_clip(&c, a.x0, a.y0, a.x1, a.y1);
    for (size_t k = 0; k < nseries; k++)
        for (size_t i = 0; i < series[k].n; i++) {
            double x = series[k].xy[2 * i], y = series[k].xy[2 * i + 1];
            if (!(x >= r.xmin && x <= r.xmax && y >= r.ymin && y <= r.ymax)) continue;
            draw_disc(&c, axes_px(&a, x), axes_py(&a, y), radius, series[k].color, alpha);
        }
    draw_legend(&c, &a, series, nseries);
    draw_axes(&c, &a, title, NULL, NULL);
    return finish_plot(&c, path);
}

/* ---- density --------------------------------------------------------------------------- */

/* Piecewise-linear through nine hand-picked points along a dark-purple, blue, green, yellow
 * ramp: lightness rises steadily, so the map reads correctly in greyscale too. */
static gc_rgb colormap(double t)
{
    static const gc_rgb stops[] = {
        {68, 1, 84},    {71, 44, 123}, {59, 82, 139},  {44, 114, 142}, {33, 145, 140},
        {40, 174, 128}, {94, 201, 98}, {170, 220, 50}, {253, 231, 37},
    };
    const int last = (int)(sizeof stops / sizeof stops[0]) - 1;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double position = t * last;
    int i = (int)position;
    if (i >= last) return stops[last];
    double f = position - i;
    gc_rgb a = stops[i], b = stops[i + 1];
    return (gc_rgb){(uint8_t)lround(a.r + (b.r - a.r) * f), (uint8_t)lround(a.g + (b.g - a.g) * f),
                    (uint8_t)lround(a.b + (b.b - a.b) * f)};
}

/* Bilinear between cell centres where all four neighbours are finite; next to a missing value
 * fall back to the nearest cell so holes keep their true shape instead of spreading. */
static double sample_field(const double *values, int gw, int gh, double gx, double gy)
{
    gx = gx < 0 ? 0 : gx > gw - 1 ? gw - 1 : gx;
    gy = gy < 0 ? 0 : gy > gh - 1 ? gh - 1 : gy;
    int i0 = (int)gx, j0 = (int)gy;
    int i1 = i0 + 1 < gw ? i0 + 1 : i0, j1 = j0 + 1 < gh ? j0 + 1 : j0;
    double fx = gx - i0, fy = gy - j0;
    double v00 = values[(size_t)j0 * gw + i0], v10 = values[(size_t)j0 * gw + i1];
    double v01 = values[(size_t)j1 * gw + i0], v11 = values[(size_t)j1 * gw + i1];
    if (isfinite(v00) && isfinite(v10) && isfinite(v01) && isfinite(v11))
        return (v00 * (1 - fx) + v10 * fx) * (1 - fy) + (v01 * (1 - fx) + v11 * fx) * fy;
    return values[(size_t)lround(gy) * gw + lround(gx)];
}

gc_status gc_plot_density(const char *path, const char *title, const double *values, int gw, int gh,
                          gc_plot_range range, int width, int height)
{
    if (!path || !values || gw <= 0 || gh <= 0)
        return GC_ERROR(GC_ERR_ARGUMENT, "gc_plot_density: need a path and a %dx%d grid of values",
                        gw, gh);
    GC_TRY(check_size(width, height));
    interval v = empty_interval();
    for (size_t i = 0; i < (size_t)gw * (size_t)gh; i++) interval_include(&v, values[i]);
    if (v.lo > v.hi) v = (interval){0, 1};
    if (!(v.hi - v.lo > 1e-12 * fmax(fabs(v.lo), fabs(v.hi)))) v = interval_padded(v, 0);

    int s = font_scale_for(width, height);
    int bar_gap = 14 * s, bar_width = 14 * s, tick_length = 4 * s;
    tick_set bar_ticks;
    make_ticks(&bar_ticks, v.lo, v.hi, 6, s);
    int reserved = bar_gap + bar_width + tick_length + 4 * s + bar_ticks.widest;

    axes a;
    canvas c;
    GC_TRY(axes_layout(&a, width, height, range, title && *title, false, false, reserved));
    GC_TRY(canvas_create(&c, width, height));
    int plot_width = a.x1 - a.x0, plot_height = a.y1 - a.y0;
    for (int y = a.y0; y < a.y1; y++) {
        double gy = (a.y1 - (y + 0.5)) / plot_height * gh - 0.5;
        for (int x = a.x0; x < a.x1; x++) {
            double gx = (x + 0.5 - a.x0) / plot_width * gw - 0.5;
            double value = sample_field(values, gw, gh, gx, gy);
            gc_rgb color =
                isfinite(value) ? colormap((value - v.lo) / (v.hi - v.lo)) : missing_value_grey;
            blend(&c, x, y, color, 1.0);
        }
    }
    draw_axes(&c, &a, title, NULL, NULL);

    int bx0 = a.x1 + s + bar_gap, bx1 = bx0 + bar_width;
    for (int y = a.y0; y < a.y1; y++)
        fill_rect(&c, bx0, y, bx1, y + 1, colormap((a.y1 - (y + 0.5)) / plot_height), 1.0);
    fill_rect(&c, bx0 - s, a.y0 - s, bx1 + s, a.y0, frame_color, 1.0);
    fill_rect(&c, bx0 - s, a.y1, bx1 + s, a.y1 + s, frame_color, 1.0);
    fill_rect(&c, bx0 - s, a.y0, bx0, a.y1, frame_color, 1.0);
    fill_rect(&c, bx1, a.y0, bx1 + s, a.y1, frame_color, 1.0);
    for (int i = 0; i < bar_ticks.count; i++) {
        double position = a.y1 - (bar_ticks.values[i] - v.lo) / (v.hi - v.lo) * plot_height;
        int y = tick_pixel(position, a.y0, a.y1);
        fill_rect(&c, bx1 + s, y, bx1 + s + tick_length, y + s, frame_color, 1.0);
        draw_text(&c, bx1 + s + tick_length + 3 * s, y - PLOT_FONT_CAP_HEIGHT * s / 2,
                  bar_ticks.labels[i], s, ink, false);
    }
    return finish_plot(&c, path);
}

/* ---- lines ----------------------------------------------------------------------------- */

/* Strokes one series into mask (the canvas's size, cleared first) along the axes. */
static void stroke_series(const canvas *c, const axes *a, float *mask, const gc_line_series *line)
{
    memset(mask, 0, (size_t)c->width * (size_t)c->height * sizeof *mask);
    double half_width = 0.9 * a->scale;
    bool previous_finite = false;
    for (size_t i = 0; i < line->n; i++) {
        double xi = line->x ? line->x[i] : (double)i;
        bool finite = isfinite(xi) && isfinite(line->y[i]);
        if (finite) {
            double sx = axes_px(a, xi), sy = axes_py(a, line->y[i]);
            /* a point with no finite neighbour is stroked as a dot so it stays visible */
            size_t j = previous_finite ? i - 1 : i;
            double xj = line->x ? line->x[j] : (double)j;
            stroke_segment(c, mask, axes_px(a, xj), axes_py(a, line->y[j]), sx, sy, half_width);
        }
        previous_finite = finite;
    }
}

gc_status gc_plot_line_series(const char *path, const char *title, const char *xlabel,
                              const char *ylabel, const gc_line_series *series, size_t nseries,
                              int width, int height)
{
    if (!path || (nseries > 0 && !series) || nseries > GC_PLOT_MAX_LINES)
        return GC_ERROR(GC_ERR_ARGUMENT,
                        "gc_plot_line_series: missing path or series, or more "
                        "than %d series",
                        GC_PLOT_MAX_LINES);
    interval xs = empty_interval(), ys = empty_interval();
    gc_scatter_series legend[GC_PLOT_MAX_LINES];
    for (size_t k = 0; k < nseries; k++) {
        if (series[k].n > 0 && !series[k].y)
            return GC_ERROR(GC_ERR_ARGUMENT, "gc_plot_line_series: series %zu has no values", k);
        for (size_t i = 0; i < series[k].n; i++) {
            double xi = series[k].x ? series[k].x[i] : (double)i;
            if (!isfinite(xi) || !isfinite(series[k].y[i])) continue;
            interval_include(&xs, xi);
            interval_include(&ys, series[k].y[i]);
        }
        legend[k] = (gc_scatter_series){NULL, 0, series[k].color, series[k].label};
    }
    interval xrange = interval_padded(xs, 0.02), yrange = interval_padded(ys, 0.05);

    axes a;
    canvas c;
    GC_TRY(axes_layout(&a, width, height,
                       (gc_plot_range){xrange.lo, xrange.hi, yrange.lo, yrange.hi}, title && *title,
                       xlabel && *xlabel, ylabel && *ylabel, 0));
    GC_TRY(canvas_create(&c, width, height));
    float *mask = calloc((size_t)width * (size_t)height, sizeof *mask);
    if (!mask) {
        free(c.rgb);
        return GC_ERROR(GC_ERR_MEMORY, "cannot allocate a %dx%d line mask", width, height);
    }
    draw_grid(&c, &a);
    canvas_clip(&c, a.x0, a.y0, a.x1, a.y1);
    for (size_t k = 0; k < nseries; k++) {
        stroke_series(&c, &a, mask, &series[k]);
        for (int py = a.y0; py < a.y1; py++)
            for (int px = a.x0; px < a.x1; px++)
                blend(&c, px, py, series[k].color, mask[(size_t)py * (size_t)width + (size_t)px]);
    }
    free(mask);
    draw_legend(&c, &a, legend, nseries);
    draw_axes(&c, &a, title, xlabel, ylabel);
    return finish_plot(&c, path);
}

gc_status gc_plot_lines(const char *path, const char *title, const char *xlabel, const char *ylabel,
                        const double *x, const double *y, size_t n, int width, int height)
{
    if (!path || (n > 0 && !y))
        return GC_ERROR(GC_ERR_ARGUMENT, "gc_plot_lines: missing path or y values");
    gc_line_series line = {x, y, n, gc_plot_palette_color(0), NULL};
    return gc_plot_line_series(path, title, xlabel, ylabel, &line, 1, width, height);
}

/* ---- image grid ------------------------------------------------------------------------ */

static uint8_t unit_to_byte(float value)
{
    if (!(value > 0)) return 0; /* also NaN */
    if (value >= 1) return 255;
    return (uint8_t)(value * 255.0f + 0.5f);
}

gc_status gc_image_grid(const char *path, const float *images, int n, int c, int h, int w, int cols)
{
    enum { gap = 2 };
    if (!path || !images || n <= 0 || (c != 1 && c != 3 && c != 4) || h <= 0 || w <= 0 || cols <= 0)
        return GC_ERROR(GC_ERR_ARGUMENT,
                        "gc_image_grid: bad arguments (n=%d, c=%d, h=%d, w=%d, cols=%d)", n, c, h,
                        w, cols);
    if (cols > n) cols = n;
    int rows = (n + cols - 1) / cols;
    long long grid_width = (long long)cols * w + (long long)gap * (cols - 1);
    long long grid_height = (long long)rows * h + (long long)gap * (rows - 1);
    if (grid_width > 65535 || grid_height > 65535)
        return GC_ERROR(GC_ERR_ARGUMENT, "gc_image_grid: grid of %lldx%lld pixels is too large",
                        grid_width, grid_height);
    size_t stride = (size_t)grid_width * 3;
    uint8_t *rgb = malloc(stride * (size_t)grid_height);
    if (!rgb)
        return GC_ERROR(GC_ERR_MEMORY, "cannot allocate a %lldx%lld image grid", grid_width,
                        grid_height);
    for (size_t i = 0; i < stride * (size_t)grid_height; i += 3) {
        rgb[i] = grid_gap_grey.r;
        rgb[i + 1] = grid_gap_grey.g;
        rgb[i + 2] = grid_gap_grey.b;
    }
    size_t plane = (size_t)h * (size_t)w;
    for (int k = 0; k < n; k++) {
        const float *image = images + (size_t)k * (size_t)c * plane;
        size_t left = (size_t)(k % cols) * (size_t)(w + gap),
               top = (size_t)(k / cols) * (size_t)(h + gap);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                uint8_t *p = rgb + (top + (size_t)y) * stride + (left + (size_t)x) * 3;
                for (int channel = 0; channel < 3; channel++) {
                    size_t source = (size_t)(c == 1 ? 0 : channel) * plane + (size_t)y * w + x;
                    p[channel] = unit_to_byte(image[source]);
                }
            }
    }
    gc_status status = gc_png_write_rgb(path, rgb, (int)grid_width, (int)grid_height);
    free(rgb);
    return status;
}

/* ---- PNG files ------------------------------------------------------------------------- */

/* libpng reports errors by calling back and longjmp'ing; the message is parked here, in the
 * caller's frame (not the frame that called setjmp), so it survives the jump intact. */
typedef struct png_failure {
    char message[256];
} png_failure;

static void on_png_error(png_structp png, png_const_charp message)
{
    png_failure *failure = png_get_error_ptr(png);
    snprintf(failure->message, sizeof failure->message, "%s", message);
    png_longjmp(png, 1);
}

/* Warnings (a bad ancillary chunk, an odd colour profile) do not stop decoding, and a library
 * must not write to stderr behind its caller's back. */
static void on_png_warning(png_structp png, png_const_charp message)
{
    (void)png;
    (void)message;
}

static gc_status encode_png(FILE *file, const char *path, const uint8_t *rgb, int width, int height,
                            png_failure *failure)
{
    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, failure, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return GC_ERROR(GC_ERR_MEMORY, "cannot write %s: out of memory in libpng", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return GC_ERROR(GC_ERR_IO, "cannot write %s: %s", path, failure->message);
    }
    png_init_io(png, file);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) png_write_row(png, rgb + (size_t)y * (size_t)width * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return GC_OK;
}

gc_status gc_png_write_rgb(const char *path, const uint8_t *rgb, int width, int height)
{
    if (!path || !rgb || width <= 0 || height <= 0)
        return GC_ERROR(GC_ERR_ARGUMENT, "gc_png_write_rgb: bad arguments (%dx%d image)", width,
                        height);
    size_t temporary_size = strlen(path) + 32;
    char *temporary = malloc(temporary_size);
    if (!temporary) return GC_ERROR(GC_ERR_MEMORY, "cannot write %s: out of memory", path);
    snprintf(temporary, temporary_size, "%s.tmp.%ld", path, (long)getpid());

    FILE *file = fopen(temporary, "wb");
    if (!file) {
        gc_status status = GC_ERROR(GC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        free(temporary);
        return status;
    }
    png_failure failure = {{0}};
    gc_status status = encode_png(file, path, rgb, width, height, &failure);
    if (status == GC_OK && (fflush(file) != 0 || fsync(fileno(file)) != 0))
        status = GC_ERROR(GC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    if (fclose(file) != 0 && status == GC_OK)
        status = GC_ERROR(GC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    if (status == GC_OK && rename(temporary, path) != 0)
        status =
            GC_ERROR(GC_ERR_IO, "cannot rename %s to %s: %s", temporary, path, strerror(errno));
    if (status != GC_OK) remove(temporary);
    free(temporary);
    return status;
}

typedef struct decoded_png {
    uint8_t *rgb;
    png_bytep *rows;
    int width, height, channels;
} decoded_png;

/* Anything allocated here lives in *out, outside this frame, so the caller can free it after
 * a longjmp. Every input layout is converted by libpng itself to 8-bit RGB. */
static gc_status decode_png(FILE *file, const char *path, decoded_png *out, png_failure *failure)
{
    png_structp png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, failure, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return GC_ERROR(GC_ERR_MEMORY, "cannot read %s: out of memory in libpng", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        return GC_ERROR(GC_ERR_FORMAT, "%s: corrupt or truncated PNG (%s)", path, failure->message);
    }
    png_init_io(png, file);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    int color_type = png_get_color_type(png, info), bit_depth = png_get_bit_depth(png, info);
    if ((unsigned long long)width * height > (1ull << 28)) png_error(png, "image too large");

    out->channels = (color_type & PNG_COLOR_MASK_COLOR) ? 3 : 1;
    if (bit_depth == 16) png_set_scale_16(png);
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (!(color_type & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
    png_set_strip_alpha(png); /* also drops the alpha a palette's tRNS chunk would add */
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)width * 3)
        png_error(png, "unsupported pixel layout");

    out->rgb = malloc((size_t)width * height * 3);
    out->rows = malloc((size_t)height * sizeof *out->rows);
    if (!out->rgb || !out->rows) {
        png_destroy_read_struct(&png, &info, NULL);
        return GC_ERROR(GC_ERR_MEMORY, "cannot read %s: no memory for %lux%lu pixels", path,
                        (unsigned long)width, (unsigned long)height);
    }
    for (png_uint_32 y = 0; y < height; y++) out->rows[y] = out->rgb + (size_t)y * width * 3;
    png_read_image(png, out->rows);
    png_read_end(png, NULL); /* checks the remaining chunks' CRCs and that IEND is there */
    png_destroy_read_struct(&png, &info, NULL);
    out->width = (int)width;
    out->height = (int)height;
    return GC_OK;
}

gc_status gc_png_read_rgb(const char *path, uint8_t **rgb_out, int *width_out, int *height_out,
                          int *channels_out)
{
    if (!path || !rgb_out || !width_out || !height_out)
        return GC_ERROR(GC_ERR_ARGUMENT, "gc_png_read_rgb: missing path or output pointer");
    *rgb_out = NULL;
    FILE *file = fopen(path, "rb");
    if (!file) return GC_ERROR(GC_ERR_IO, "cannot open %s: %s", path, strerror(errno));

    png_byte signature[8];
    size_t got = fread(signature, 1, sizeof signature, file);
    if (got < sizeof signature && ferror(file)) {
        gc_status status = GC_ERROR(GC_ERR_IO, "cannot read %s: %s", path, strerror(errno));
        fclose(file);
        return status;
    }
    if (got < sizeof signature || png_sig_cmp(signature, 0, sizeof signature) != 0) {
        fclose(file);
        return GC_ERROR(GC_ERR_FORMAT, "%s is not a PNG file (bad signature)", path);
    }
    decoded_png image = {0};
    png_failure failure = {{0}};
    gc_status status = decode_png(file, path, &image, &failure);
    fclose(file);
    free(image.rows);
    if (status != GC_OK) {
        free(image.rgb);
        return status;
    }
    *rgb_out = image.rgb;
    *width_out = image.width;
    *height_out = image.height;
    if (channels_out) *channels_out = image.channels;
    return GC_OK;
}
