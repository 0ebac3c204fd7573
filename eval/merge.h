/* merge.h - an evaluate run's run.json and the joining of runs: run.json
   written from the run's settings, the settings two runs must share to be
   resumed or merged, shard names, the shards' rows back in the order of the unsharded run, and the
   merged run.json (the first shard's, with the union of the methods and
   the sources in merged_from).

   A shard I/N holds the images I, I+N, I+2N, ... of the listing, so taking
   one image from each shard in turn (shards sorted by I) restores it.
   Errors follow engine/error.h: err_fail into the caller's buffer. */
#ifndef EVAL_MERGE_H
#define EVAL_MERGE_H
#include <stddef.h>
#include <stdint.h>
#include "eval/results.h"
#include "eval/score.h"
#include "eval/settings.h"
#include "io/json.h"

/* Everything that fixes the numbers of an evaluate run (and what a resume
   or a merge must find equal). */
typedef struct {
    const char *version;                   /* salient's */
    const char *model_path, *arch, *sha256;
    int sigmoid;                           /* the head; written only when sigmoid */
    char *const *labels;                   /* the model's class names (n_labels), then the data set's (n_classes) */
    int n_labels;
    char *const *classes;
    int n_classes;
    const char *data, *data_kind;
    int n_listed, limit;                   /* limit 0: none */
    const AttribMethod *const *methods;
    int n_methods;
    const MethodSettings *settings;        /* the methods' parameters as run */
    const char *layer;                     /* the CAM methods' layer unless their own is given */
    const ScoreSettings *sc;
    uint64_t seed;
    const char *shard;                     /* "I/N", or NULL */
} EvalRunInfo;
/* run.json at path. 0, or -1 with "cannot write PATH..." in err. */
int eval_run_write(const char *path, const EvalRunInfo *r, char *err, size_t errlen);

/* An evaluate run's scoring settings from their text (NULL: the default):
   info webp (default), png or entropy; min_pred < 0: PIC_MIN_PRED;
   substrate blur or black for both curves (NULL: RISE's, blur for
   insertion and zero for deletion); target pred (default), label or paper.
   Sets those fields of sc and pic, insdel, insdel_steps (not the model's
   fields, nor map_cache). 0, or -1 with "<setting> <text>: <the choices>"
   in err, e.g. "info gif: expected webp, png or entropy". */
int eval_score_settings_parse(ScoreSettings *sc, const char *info, double min_pred, const char *substrate,
                              const char *target, int pic, int insdel, int insdel_steps, char *err, size_t errlen);
/* "I/N" with 0 <= I < N <= 1000000 into *i, *n; 0 or -1. */
int eval_shard_parse(const char *s, int *i, int *n);
/* "" if two run.json agree on everything that fixes the numbers (model
   sha256 and input size, info, min_pred, seed, insdel, pic, target, data,
   the parameters of the methods both have), else the name of the first
   setting that differs. resuming (a run continued in its folder): the
   shard must agree too, the limit need not (a resumed run may go further
   down the list); else (shards to merge): the limit must agree. */
const char *eval_run_difference(const JsonValue *a, const JsonValue *b, int resuming);

/* One evaluate output folder. */
typedef struct {
    const char *dir;
    JsonValue *run;
    int shard_i, shard_n;     /* 0/1 when not sharded */
    EvalRows rows;
    int pos;                  /* next row to merge */
} EvalPart;

/* Reads DIR/run.json (its shard) and DIR/results.csv + curves_images.csv.
   0, or -1 with a message in err (p is then empty). */
int eval_part_load(EvalPart *p, const char *dir, char *err, size_t errlen);
void eval_part_free(EvalPart *p);
/* parts[n - 1] against the earlier parts: the same settings, the same
   shard count, not a shard already given. 0, or -1 with the reason. */
int eval_part_check(const EvalPart *parts, int n, char *err, size_t errlen);
/* Sorts the parts by shard index. */
void eval_parts_sort(EvalPart *parts, int n);
/* The merged run.json at path. 0, or -1 with "cannot write PATH". */
int eval_merge_write_run(const char *path, const EvalPart *parts, int n, char *err, size_t errlen);
/* The parts' rows, in the unsharded order, into results_csv and
   curves_csv (headers first). 0, or -1 with "cannot write PATH". */
int eval_merge_write_results(EvalPart *parts, int n, const char *results_csv, const char *curves_csv, char *err,
                             size_t errlen);
/* Resuming the run in outdir: its run.json against the new run's
   (new_run_json), then the rows of its results.csv and curves_images.csv
   into done, and both files rewritten in the current columns when a
   record was cut by a kill or they are of the older form (done's
   dropped_partial and legacy_files say which). note gets "" or why the
   run.json could not be compared (the run then resumes from results.csv
   alone). 0, or -1 with the reason in err ("the setting 'seed' differs
   from the run in OUT (see its run.json)", a reading error, "cannot
   rewrite PATH"). */
int eval_resume(EvalRows *done, const char *outdir, const char *new_run_json, char *note, size_t nn, char *err,
                size_t errlen);
/* Copies the .jpg and .png files of every part's gallery/ into outdir/gallery/
   (created at the first), wrote(path) after each copy (may be NULL); a
   file that cannot be copied is passed over. Returns the number copied. */
int eval_merge_gallery(const EvalPart *parts, int n, const char *outdir, void (*wrote)(const char *path));
#endif
