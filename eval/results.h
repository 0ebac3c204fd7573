/* results.h - the rows of a dataset evaluation and their two CSV files,
   which are the whole state of a run: `salient evaluate` appends to them
   image by image, `--resume` and `salient merge` read them back, and the
   summary (eval/summary.h) is computed from them alone.

   results.csv, one row per (image, method), RFC 4180 quoting:
     image,label,predicted,confidence,method,sic_auc,aic_auc,insertion_auc,
     deletion_auc,pointing_hit,mask_energy,outside_mass,skipped,seconds
   - image: the image's name in the data set (path below DATA for a folder,
     the path as written in a CSV list);
   - label, predicted: class indices (empty if unknown / unreadable);
   - confidence: softmax probability of the predicted class;
   - sic_auc, aic_auc: PIC AUCs (empty when skipped); insertion_auc,
     deletion_auc; pointing_hit (1/0) and mask_energy (empty without a mask);
   - outside_mass: share of the map's positive mass outside the head or
     body (eval/localize.h localize_outside_mass; lower is better), for
     every image; empty when not applicable;
   - skipped: empty, or a ';'-separated list of reasons: "sic:min_pred",
     "aic:blurred_pred", ... (eval/pic.h's pic_skip_name), or
     "unreadable: <message>" for an image that could not be read, or
     "failed: <message>" when the method or a metric failed;
   - seconds: wall time of the method's map and all its metrics.
   Numbers are written with the shortest text that reads back to the same
   double (io/json.h jw_format_number), so a summary recomputed from the
   files equals the one computed during the run.

   curves_images.csv, two rows per (image, method) with PIC values, the raw
   values from which eval/pic.h's pic_curve_compute rebuilds each
   per-image curve exactly:
     image,method,kind,info_orig,info_blur,pred_orig,pred_blur,
     info_0..info_12,pred_0..pred_12          (kind = sic | aic)

   Reading: a record that does not end with a newline (a run killed while
   writing) is dropped with a note; a malformed record is an error naming
   the file and line. When a key (image, method) appears more than once
   the last row wins (a re-run appends) and the duplicates are counted.
   A results.csv written before outside_mass existed (RESULTS_HEADER_V1,
   13 columns) is read too, its outside_mass empty; it is counted in
   legacy_files, so that a resumed run can rewrite it in the new form. */
#ifndef EVAL_RESULTS_H
#define EVAL_RESULTS_H
#include <stddef.h>
#include <stdio.h>
#include "eval/pic.h"

#define RESULTS_HEADER \
    "image,label,predicted,confidence,method,sic_auc,aic_auc,insertion_auc,deletion_auc,pointing_hit,mask_energy," \
    "outside_mass,skipped,seconds"
#define RESULTS_N_COLS 14
/* the header before outside_mass (read, never written) */
#define RESULTS_HEADER_V1 \
    "image,label,predicted,confidence,method,sic_auc,aic_auc,insertion_auc,deletion_auc,pointing_hit,mask_energy," \
    "skipped,seconds"
#define RESULTS_V1_N_COLS 13
#define CURVES_IMAGES_N_COLS (7 + 2 * PIC_N_THRESHOLDS)

/* The raw values of one PIC curve (the caller's part of a PicCurve). */
typedef struct {
    double info[PIC_N_THRESHOLDS], pred[PIC_N_THRESHOLDS];
    double info_orig, info_blur, pred_orig, pred_blur;
} PicRaw;

typedef struct {
    char *image, *method, *skipped;      /* skipped: "" when none */
    int label, predicted;                /* -1: empty cell */
    double confidence, sic, aic, insertion, deletion, hit, energy, outside, seconds; /* NaN: empty cell */
    int has_raw;                         /* sic_raw / aic_raw known */
    PicRaw sic_raw, aic_raw;
} EvalRow;

typedef struct {
    EvalRow *v;
    int n, cap;
    int *slot;           /* hash index of (image, method) -> row */
    size_t n_slot;
    int duplicates;      /* rows replaced by a later row with the same key */
    int dropped_partial; /* incomplete last records dropped */
    int legacy_files;    /* results files read with RESULTS_HEADER_V1 */
} EvalRows;

void results_init(EvalRows *rows);
void results_free(EvalRows *rows);
/* Adds a copy of r (strings duplicated); a row with the same key replaces
   the old one entirely (the last row wins). 0 or -1 (out of memory). */
int results_add(EvalRows *rows, const EvalRow *r);
int results_find(const EvalRows *rows, const char *image, const char *method); /* index or -1 */
/* Reads results_csv, then curves_csv (may be NULL or missing: no curves),
   adding to rows. 0, or -1 with a message naming the file and line. */
int results_load(EvalRows *rows, const char *results_csv, const char *curves_csv, char *err, size_t errlen);

void results_write_header(FILE *f);
void results_write_row(FILE *f, const EvalRow *r);
void curves_images_write_header(FILE *f);
void curves_images_write_rows(FILE *f, const EvalRow *r); /* nothing unless r->has_raw */
/* One row appended to results.csv (fres) and its curves to
   curves_images.csv (fcur), curves first, both flushed: a row in
   results.csv always has its curves. */
void results_append(FILE *fres, FILE *fcur, const EvalRow *r);
/* Rewrites both files from rows, in the current columns (a resumed run
   drops a record cut by a kill this way). 0, or -1 with "cannot write PATH". */
int results_write_files(const EvalRows *rows, const char *results_csv, const char *curves_csv, char *err, size_t errlen);

void pic_raw_from_curve(PicRaw *raw, const PicCurve *pc);
void pic_raw_to_curve(PicCurve *pc, const PicRaw *raw);    /* then pic_curve_compute */
/* Empty-row template: NaN numbers, -1 classes, "" skipped. */
EvalRow eval_row_empty(void);

#endif
