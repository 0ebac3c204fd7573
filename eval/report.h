/* report.h - the offline HTML report of an evaluation (one self-contained file: inline CSS and SVG, data
   inline, no script, no network request of any kind; gallery heatmaps as
   images embedded as data: URIs, their files kept in gallery/), line plots drawn on a
   render.h canvas (aic_sic.png, sanity.png), and the small helpers the
   three commands share (method lists, folders, the progress bar).

   Usage:
     report_write_html("out/report.html", &summary, run, "out");   // 0, or -1 (eng_last_error())
   Report content: model card (architecture, SHA-256, classes, accuracy,
   confusion matrix), data and provenance (settings: information estimator,
   seed, min_pred, target rule, insertion/deletion substrates, every
   method's parameters, shard/merge sources), the mean and median SIC and
   AIC curves of every method as SVG line plots, a table per metric (mean,
   median, 95% CI, n; the best mean in bold), the pairwise Wilcoxon/Holm
   table, Friedman tests with mean ranks, skip counts with reasons,
   localisation tables when masks exist, and the gallery. */
#ifndef EVAL_REPORT_H
#define EVAL_REPORT_H
#include "eval/summary.h"
#include "io/json.h"

/* run: the run.json of the evaluation (settings, model, data); outdir: its
   folder, whose gallery/ images are embedded. */
int report_write_html(const char *path, const EvalSummary *s, const JsonValue *run, const char *outdir);
/* Everything written from a summarised run into outdir: summary.json,
   curves.csv (eval/summary.h), aic_sic.png (eval/plot.h) and report.html,
   wrote(path) after each file written (may be NULL). A failure does not
   stop the others. 0, or -1 with the first failure's message in err. */
int report_write_outputs(const EvalSummary *s, const JsonValue *run, const char *outdir, void (*wrote)(const char *path),
                         char *err, size_t errlen);
#endif
