/* plot.h - line plots drawn on a render.h canvas, written as PNG: the SIC
   and AIC curves of an evaluation (aic_sic.png) and MPRT's correlations
   (sanity.png). The palette is shared with the HTML report's SVG plots.

   Usage:
     PlotSeries s[2] = {{"ig", xs, ys, n}, ...};
     plot_png("sanity.png", "MPRT", "layers randomised", "Spearman", s, 2, 0, n - 1, -1, 1);
     report_write_curves_png("out/aic_sic.png", &summary);
   Functions returning int give 0, or -1 when the file cannot be written. */
#ifndef EVAL_PLOT_H
#define EVAL_PLOT_H
#include <stdint.h>
#include "eval/render.h"
#include "eval/summary.h"

/* SIC and AIC, mean and median curves of every method: a 2x2 panel PNG. */
int report_write_curves_png(const char *path, const EvalSummary *s);

typedef struct {
    const char *name;
    const double *x, *y;   /* n points; NaN y values break the line */
    int n;
} PlotSeries;
/* Axes, grid (ticks at 1, 2, 2.5 or 5 times a power of ten, whole numbers
   on an x axis from one whole number to another), series in the palette's
   colours and a legend (legend: 0 top left, 1 bottom right, 2 top right,
   PLOT_LEGEND_OUTSIDE right of the axes) in the box (x0, y0, w, h) of c.
   A title that does not fit at double size is drawn at single size; NULL:
   none. Values outside [ymin, ymax] are drawn at the edge. */
#define PLOT_LEGEND_OUTSIDE 3
void plot_draw(Canvas *c, int x0, int y0, int w, int h, const char *title, const char *xlabel, const PlotSeries *s,
               int ns, double xmin, double xmax, double ymin, double ymax, int legend);
/* One plot on a 900x480 PNG: the title above, the y axis' label above the
   axis, the legend right of the axes. */
int plot_png(const char *path, const char *title, const char *xlabel, const char *ylabel, const PlotSeries *s, int ns,
             double xmin, double xmax, double ymin, double ymax);
void plot_color(int i, uint8_t rgb[3]);    /* the palette (also the SVG's) */

#endif
