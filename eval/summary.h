/* summary.h - statistics of a dataset evaluation, computed from its rows
   alone (eval/results.h), so that `salient evaluate` (compute rows, then
   summarise) and `salient merge` (read rows, then summarise) share one
   code path.

   Usage:
     EvalRows rows; results_init(&rows);
     results_load(&rows, "out/results.csv", "out/curves_images.csv", err, sizeof err);
     EvalSummaryOpts so = {.min_pred = 0.8, .seed = 0, .resamples = EVAL_BOOTSTRAP, .n_classes = K};
     EvalSummary s;
     if (eval_summarize(&s, &rows, methods, n_methods, &so) < 0) ... eng_last_error() ...
     eval_summary_write_json(&s, run, "out/summary.json");   // run: the run's settings (run.json)
     eval_summary_write_curves(&s, "out/curves.csv");
     eval_summary_free(&s);

   What is computed (README "Scoring a data set"):
   - Per method and metric (sic, aic, insertion, deletion, outside;
     pointing and energy when some image has a mask): over the images where the value
     exists (not skipped, not failed): n, mean, median (numpy.median) and a
     95% bootstrap interval of the mean (eval/stats.h
     stats_bootstrap_mean_ci: percentile method, `resamples` resamples, seeded
     by eval_bootstrap_seed(seed, method, metric) so that one method's
     interval does not depend on which other methods ran).
   - Aggregate PIC curves: each non-skipped image's 1001-point curve is
     rebuilt from its raw values (pic_raw_to_curve + pic_curve_compute with
     min_pred), then the point-wise mean and median over images and the
     trapezoid AUC of both (pic_aggregate; the median
     AIC curve collapses towards 0, so both are reported).
   - Pairwise, for every metric and every pair (a, b) of methods in order:
     the images where both have a value; scipy.stats.wilcoxon(a, b)
     (stats_wilcoxon) statistic and p; Holm's adjustment over the pairs of
     that metric whose test could be run (stats_holm); mean_diff = mean(a - b).
     A pair with no image, or whose differences are all zero (scipy raises),
     has statistic, p and p_holm NaN (null in JSON) and a note.
   - Friedman, per metric, over the images where every method has a value
     (at least 3 methods): scipy.stats.friedmanchisquare statistic and p,
     and mean ranks with rank 1 = the SMALLEST value in an image's row
     (so for deletion and outside, where lower is better, the best
     method has the lowest mean rank; for the other metrics the highest).
   - Accuracy and the confusion matrix over the distinct images with a
     prediction and a label (rows = true class, columns = predicted).
   - Skips: images that could not be read; per curve kind, the images
     skipped by each PIC rule (read from the `skipped` column: a skip rule
     depends only on the image and its random mask, never on the map);
     per method, rows whose method or metric failed. */
#ifndef EVAL_SUMMARY_H
#define EVAL_SUMMARY_H
#include <stdint.h>
#include "eval/results.h"
#include "io/json.h"

#define EVAL_BOOTSTRAP 10000

typedef enum { EM_SIC = 0, EM_AIC, EM_INSERTION, EM_DELETION, EM_POINTING, EM_ENERGY, EM_OUTSIDE, EM_COUNT } EvalMetric;
/* "sic", "aic", "insertion", "deletion", "pointing", "energy", "outside" */
extern const char *const eval_metric_names[EM_COUNT];
int eval_metric_higher_is_better(EvalMetric m);       /* 0 for deletion and outside */
int eval_metric_needs_mask(EvalMetric m);             /* 1 for pointing and energy */

typedef struct { double mean, median, ci[2]; int n; } EvalStat; /* NaN when n == 0 */

enum { EVAL_SIC = 0, EVAL_AIC = 1 };  /* curve kinds */
enum { EVAL_MEAN = 0, EVAL_MEDIAN = 1 };

typedef struct {
    char *name;
    EvalStat stat[EM_COUNT];
    int n_curves[2];               /* images in the SIC / AIC aggregate curves */
    double *curve[2][2];           /* [kind][mean|median], PIC_N_CURVE values each (NaN if no image) */
    double curve_auc[2][2];
    int n_rows, n_failed;
    double seconds_mean;           /* over rows with a time */
} EvalMethodSummary;

typedef struct {
    int a, b;                      /* method indices, a < b */
    EvalMetric metric;
    int n;                         /* images where both have a value */
    double statistic, p, p_holm, mean_diff;
    char note[120];                /* "exact" / "approx", or why there is no test */
} EvalPair;

typedef struct {
    int ok, n;
    double statistic, p;
    double *mean_ranks;            /* (n_methods) */
    char note[160];
} EvalFriedman;

typedef struct {
    int n_methods;
    EvalMethodSummary *m;
    int n_pairs;
    EvalPair *pairs;
    EvalFriedman friedman[EM_COUNT];
    int n_images;                  /* distinct images in the rows */
    int n_classes;
    int n_predicted, n_labelled;   /* images with a prediction; with a prediction and a label */
    double accuracy;               /* NaN when n_labelled == 0 */
    long *confusion;               /* (n_classes, n_classes) */
    int n_unreadable;
    int skip_counts[2][4];         /* [kind][PicSkip]: images */
    int has_masks;                 /* some row has a pointing or energy value */
    char *unreadable_example[4];   /* the first few reasons */
    double min_pred;
    int resamples;
    uint64_t seed;
} EvalSummary;

typedef struct {
    double min_pred;
    uint64_t seed;
    int resamples;                 /* 0: EVAL_BOOTSTRAP */
    int n_classes;                 /* the model's classes (confusion matrix size) */
} EvalSummaryOpts;

/* methods: the order of the output; methods present in rows but not in the
   list are appended in order of appearance. 0, or -1 with eng_last_error. */
int eval_summarize(EvalSummary *s, const EvalRows *rows, const char *const *methods, int n_methods,
                   const EvalSummaryOpts *o);
void eval_summary_free(EvalSummary *s);
/* The summary of an evaluate output folder: OUTDIR/results.csv and
   curves_images.csv read back, the methods, min_pred, seed and classes
   from its run.json (run). images (n_images names), when not NULL, keeps
   only the rows of those images: a run summarises its own images even
   where the folder holds rows of others (an interrupted later round). *dropped gets
   the incomplete last records dropped. 0, or -1 with the reader's message
   or "summary: <reason>" in err. */
int eval_summarize_outdir(EvalSummary *s, const char *outdir, const JsonValue *run, const char *const *images,
                          int n_images, int *dropped, char *err, size_t errlen);
int eval_method_index(const EvalSummary *s, const char *name); /* -1 if absent */

/* seed of the bootstrap of one (method, metric): eng_rng_split(seed, FNV-1a of "method/metric"). */
uint64_t eval_bootstrap_seed(uint64_t seed, const char *method, const char *metric);

/* summary.json: the members of `run` (the run's settings, may be NULL)
   first, its "model" object extended with accuracy and confusion, then the
   statistics. 0 or -1 (message in eng_last_error). */
int eval_summary_write_json(const EvalSummary *s, const JsonValue *run, const char *path);
/* curves.csv, wide: header "method,kind,stat,n,auc,x_0,...,x_1000" where
   x_i is written as its value (0, 0.001, ..., 0.999, 1); then one row per
   (method, kind in sic|aic, stat in mean|median) with the curve's 1001
   values. */
int eval_summary_write_curves(const EvalSummary *s, const char *path);
/* ---- what the numbers allow a reader to conclude ---- */
/* The pair test of methods a and b on metric m, or NULL. */
const EvalPair *eval_pair(const EvalSummary *s, EvalMetric m, int a, int b);
/* The smallest Holm-adjusted p-value metric m's pairwise table can show:
   the number of tested pairs times the smallest two-sided p of a signed-rank
   test on the largest n of any pair, 2 / 2^n (all differences of one sign).
   NaN when no pair was tested. When it is >= 0.05 no difference can be
   called significant, whatever the data. */
double eval_min_holm_p(const EvalSummary *s, EvalMetric m);
/* How method j compares with method r (the random baseline) on metric m:
   1 its mean is better and the Holm-adjusted test says so (p < 0.05);
   0 its mean is better but not significantly; -1 its mean is not better
   (equal or worse); -2 unknown (a mean is missing). */
int eval_vs_baseline(const EvalSummary *s, EvalMetric m, int j, int r);
/* One paragraph of findings written from the numbers into buf (n bytes):
   the images, the best mean on SIC and AIC with its interval, where the
   random baseline ranks, which methods beat it significantly, and when the
   sample is too small for any test to be significant. */
void eval_summary_findings(const EvalSummary *s, char *buf, size_t n);

/* Writes any parsed JSON value through a writer (for copying settings). */
void eval_json_copy(JsonWriter *w, const JsonValue *v);
#endif
