/* report.h - what `salient evaluate`, `merge` and `sanity` show people: the
   offline HTML report (one self-contained file: inline CSS and SVG, data
   inline, no script, no network request of any kind; gallery heatmaps as
   images embedded as data: URIs, their files kept in gallery/), line plots drawn on a
   render.h canvas (aic_sic.png, sanity.png), and the small helpers the
   three commands share (method lists, folders, the progress bar).

   Usage:
     report_write_html("out/report.html", &summary, run, "out");
     report_write_curves_png("out/aic_sic.png", &summary);
     PlotSeries s[2] = {{"ig", xs, ys, n}, ...};
     plot_png("sanity.png", "MPRT", "layers randomised", "Spearman", s, 2, 0, n - 1, -1, 1);

   Report content: model card (architecture, SHA-256, classes, accuracy,
   confusion matrix), data and provenance (settings: information estimator,
   seed, min_pred, target rule, insertion/deletion substrates, every
   method's parameters, shard/merge sources), the mean and median SIC and
   AIC curves of every method as SVG line plots, a table per metric (mean,
   median, 95% CI, n; the best mean in bold), the pairwise Wilcoxon/Holm
   table, Friedman tests with mean ranks, skip counts with reasons,
   localisation tables when masks exist, and the gallery. */
#ifndef CLI_REPORT_H
#define CLI_REPORT_H
#include <stdio.h>
#include "attrib/attrib.h"
#include "cli/cli.h"
#include "cli/render.h"
#include "eval/summary.h"
#include "io/json.h"

int report_write_html(const char *path, const EvalSummary *s, const JsonValue *run, const char *outdir);
/* SIC and AIC, mean and median curves of every method: a 2x2 panel PNG. */
int report_write_curves_png(const char *path, const EvalSummary *s);

/* ---- line plots on a canvas ---- */
typedef struct {
    const char *name;
    const double *x, *y;   /* n points; NaN y values break the line */
    int n;
} PlotSeries;
/* Axes, grid, series in the palette's colours and a legend (legend: 0 top
   left, 1 bottom right, 2 top right) in the box (x0, y0, w, h) of c. */
void plot_draw(Canvas *c, int x0, int y0, int w, int h, const char *title, const char *xlabel, const PlotSeries *s,
               int ns, double xmin, double xmax, double ymin, double ymax, int legend);
int plot_png(const char *path, const char *title, const char *xlabel, const char *ylabel, const PlotSeries *s, int ns,
             double xmin, double xmax, double ymin, double ymax);
void plot_color(int i, uint8_t rgb[3]);    /* the palette (also the SVG's) */

/* ---- helpers shared by evaluate, merge and sanity ---- */
/* "a,b,c" (or deflt when list is NULL) into methods; add_random appends
   "random" when absent. Unknown names: an error listing them. 0 or 1. */
int methods_parse(const char *list, const char *deflt, int add_random, const AttribMethod ***out, int *n);
int mkdir_p(const char *path);     /* 0 or -1 (errno) */
/* Parameters a method reads, as used (the option if given, else the
   default) into an open JSON object: {"steps": 25, "baseline": "black"}. */
void method_params_json(JsonWriter *w, const char *method, const Opts *o, const char *layer);
/* The parameters of these methods that differ from a method's default, for
   a figure's settings line: "non-default settings: steps 10, samples 3,
   stride 16, masks 500" (each parameter once, in the order the methods
   read them; --baseline and --layer when they are not the default). ""
   when every parameter is the default. */
/* figure_grid_png over a run's methods: each tile named by its method, the
   gradient family's maps clipped at the 99th percentile. 0 or -1. */
int figure_grid_methods_png(const char *path, const FigureInfo *f, const float *input01, int C, int S,
                            float *const *maps, const AttribMethod *const *ms, int n, int max_cols);
void method_settings_line(char *buf, size_t n, const AttribMethod *const *ms, int n_methods, const Opts *o,
                          const char *default_layer);

typedef struct {
    int tty;
    long total, done, computed;
    double t0;
    long last_line;         /* last `done` reported when not a terminal */
    const char *what;
} ProgressBar;
void pbar_start(ProgressBar *pb, const char *what, long total);
/* One more item (computed = 0 for an item taken from a previous run). On a
   terminal: a redrawn bar with the rate and the time left; otherwise a
   line at every 5%. */
void pbar_step(ProgressBar *pb, int computed, const char *label);
/* Redraws the bar with a new label (the item and step in progress), on a terminal only. */
void pbar_show(ProgressBar *pb, const char *label);
void pbar_end(ProgressBar *pb);
#endif
