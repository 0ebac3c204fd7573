/* explain.h - one explanation as `salient explain` records it: which class
   is true and which is explained, the output folder's name, the passes
   the targets of one image share, and explain.json.

   True class: the label given (a class name of the model, else a class
   index < K), else the name of the image's folder when it is one of the
   model's class names, else unknown. Target: "pred" (the prediction),
   "label" (the true class), a class index, or a class name.

   explain.json (one per image and target):
     {"salient_version", "model": {path, arch, sha256, head},
      "image": {path, npy_index (an --input-npy item), sha256, decoded (how
      a volume or DICOM file became the 2-D input)},
      "input": {size, channels, mean, std, preprocessed},
      "prediction": {class, label, prob, shared_forward, probs, logits},
      "target": {class, label, rule}, "true_label", "true_class",
      "true_label_from" ("--label", "folder" or null), "correct" (null when
      the true label is unknown), "lesion_mask", "figure_title",
      "figure_settings", "seed", "rng", "threads",
      "pass_time": {batch, forward_ms, forward_backward_ms},
      "methods": [{name, ok, params (every parameter the method reads, as
      used, and the batch), forward_images, backward_images, batches,
      shared_forward, seconds, expected_seconds, notes}]}
   Errors follow engine/error.h: err_fail into the caller's buffer. */
#ifndef EVAL_EXPLAIN_H
#define EVAL_EXPLAIN_H
#include <stddef.h>
#include <stdint.h>
#include "attrib/attrib.h"
#include "eval/bench.h"
#include "eval/render.h"
#include "eval/settings.h"
#include "io/image.h"

/* The class named name among the model's first min(n_labels, K) labels, or -1. */
int explain_class_named(const char *name, char *const *labels, int n_labels, int K);
/* The true class: label (a class name, else an index < K; -2 when it is
   neither), else the name of the folder holding path (NULL: none) when it
   is a class name, else -1 (unknown). *from: "--label", "folder" or NULL. */
int explain_truth(const char *label, const char *path, char *const *labels, int n_labels, int K, const char **from);
/* The explained class under the rule text (NULL: "pred"); rule gets
   "pred", "label" or "fixed". -1 when it does not resolve (an index out
   of range, an unknown name, or "label" with the truth unknown). */
int explain_target(const char *text, int truth, int pred, char *const *labels, int n_labels, int K, char *rule,
                   size_t n);
/* Output folders are named after the files (io_path_stem): the first j
   whose name equals an earlier one's (*i gets that one), or -1. */
int explain_same_stem(char *const *paths, int n, int *i);

/* A --baseline file for BASELINE_FILE: an .npy of exactly numel values
   (the input's C x S x S), as float32 into *out (malloc'd). 0; -1 when it
   cannot be read (the reader's message in err); -2 with "PATH: N values,
   the input has M" in err. */
int explain_baseline_read(const char *path, size_t numel, float **out, char *err, size_t errlen);

/* What the targets of one image share (--target a,b,c): the prediction,
   and the results of the methods with run_targets, computed once. */
typedef struct {
    int n;                /* targets */
    int pred;
    float *logits, *prob; /* (classes) */
    AttribResult *res;    /* [method * n + target]; map NULL: the method runs per target */
} ExplainShared;

/* The prediction of P->x (P: the image's parameters), once for n targets
   and n_methods methods (sh is set up first). 0, or -1 when it failed
   (engine error; sh can still be freed). */
int explain_shared_predict(ExplainShared *sh, AttribParams *P, int n_methods, int n);
/* Called before each method's shared run, with the number of targets. */
typedef void (*ExplainPhaseFn)(void *ctx, const AttribMethod *m, int n_targets);
/* Then every method with run_targets once for the targets whose class
   cls[t] is >= 0 (the others run alone), each with the parameters s gives
   it (phase: NULL or called first). A method that fails here is left to
   run per target, which reports the error. */
void explain_shared_run(ExplainShared *sh, AttribParams *P, const AttribMethod *const *ms, int n_methods,
                        const MethodSettings *s, const int *cls, ExplainPhaseFn phase, void *ctx);
void explain_shared_free(ExplainShared *sh, int n_methods);

/* Everything explain.json records of one explanation. */
typedef struct {
    const char *version;                   /* salient's */
    const char *model_path, *arch, *model_sha256;
    int sigmoid;                           /* the head */
    const char *image_path;                /* the image file, or the .npy */
    int npy_index;                         /* the .npy item, -1 for an image file */
    const ImageLoadInfo *load;             /* how the file was decoded, or NULL */
    int C, S, K;
    const float *mean, *std;               /* (C) */
    const float *logits, *prob;            /* (K) */
    int shared_forward;                    /* the prediction was shared with other targets */
    const FigureInfo *fig;                 /* prediction, truth, target and their names; the settings line */
    const char *rule;                      /* the target's rule (explain_target) */
    const char *truth_from;                /* explain_truth's *from */
    const char *lesion_mask;               /* the mask file drawn, or NULL */
    uint64_t seed;
    int threads;
    BenchPassTime pt;
    const AttribMethod *const *methods;
    int n_methods;
    const int *ok;                         /* (n_methods) 1: the method ran */
    const AttribResult *res;               /* (n_methods) */
    const MethodSettings *settings;        /* the methods' parameters as run */
    const char *layer;                     /* the CAM methods' layer unless their own is given */
    int batch;
    float intensity_percentile;            /* the model's input scale (weights/load.h), 0 if none */
} ExplainRecord;
/* Writes explain.json at path (the image's SHA-256 read from its file).
   0, or -1 with "cannot write PATH" in err. */
int explain_json_write(const char *path, const ExplainRecord *r, char *err, size_t errlen);
#endif
