/* score.h - the evaluation protocol: one image scored by one method.

   Scoring splits in two so that every method of an image shares the work
   that does not depend on the method:

     ScoreSettings s = {...};                 // metrics, PIC information, substrates
     ScoreImage im;
     if (score_image_prepare(&im, &s, &P, x, run_seed, index, lesion) < 0) ...  // eng_last_error()
     for each method am:
         EvalRow r = base_row; ScoreOut out;      // base_row: image and label
         score_method(&im, &s, &P, am, &r, skipped, sizeof skipped, &out);
         ... write r, use or free(out.map) ...
     score_image_free(&im);

   score_image_prepare, for the preprocessed input x (C,S,S):
     1. predicts (softmax of the logits): the explained class is the
        predicted one, so PIC measures the model's original prediction;
        P->x and P->target are set;
     2. seeds: the image's stream is split(run_seed, index), where index is
        the image's position in the whole listing (the same in every shard);
        the PIC random mask (1% of the pixels, pic_random_mask) draws from
        split(image stream, 0) and is shared by every method of the image;
        the methods draw from split(image stream, 1) (P->seed);
     3. finds the foreground (head or body) of the input brought back to
        [0,1] (eval/localize.h), for the mass outside it;
     4. builds the PIC image: the input as uint8 (pic_input_to_u8), its
        random mask and its fully blurred version (eval/pic.h).
   score_method runs the method for the class the target rule names
   (settings.target_rule: the prediction, the true label, or the paper's
   rule: the CAM family the true label, every other method the
   prediction; an image without a label falls back to the prediction), then
   measures the map against the predicted class, whatever the map's class: SIC and AIC (unless
   settings.pic is 0), insertion and deletion AUCs (unless settings.insdel
   is 0; also for images PIC skips, as they are other metrics), the mass
   outside the foreground, and the pointing game and mask energy when a
   lesion mask was given. Every metric that cannot be computed leaves its
   cell empty (NaN) and says why in the row's skipped list: "sic:<rule>"
   for PIC's skip rules, "failed: <what>: <message>" for a failure, the
   failures first. */
#ifndef EVAL_SCORE_H
#define EVAL_SCORE_H
#include "attrib/attrib.h"
#include "eval/info.h"
#include "eval/insdel.h"
#include "eval/pic.h"
#include "eval/results.h"

#include <stdint.h>

/* Which class a method's map explains. The metrics always measure the
   prediction (PIC's curves follow the model's own decision). */
typedef enum { TARGET_RULE_PRED, TARGET_RULE_LABEL, TARGET_RULE_PAPER } EvalTargetRule;
/* "pred", "label", "paper": 0, or -1 for another word. */
int eval_target_rule_parse(const char *s, EvalTargetRule *out);
const char *eval_target_rule_name(EvalTargetRule r);
/* One sentence for run.json and the report. */
const char *eval_target_rule_text(EvalTargetRule r);
/* The class explained under rule for a method of family fam (label < 0: unknown). */
int eval_map_target(EvalTargetRule rule, AttribFamily fam, int label, int pred);

typedef struct {
    int C, S, K;                   /* input channels, side, classes */
    const float *mean, *std;       /* the preprocessing (C each) */
    InfoKind info;                 /* PIC's information estimate */
    double min_pred;               /* PIC's skip threshold on the original prediction */
    int pic;                       /* 0: no SIC/AIC */
    int insdel, insdel_steps;      /* 0: no insertion/deletion; steps 0: the image width per step */
    InsdelSubstrate sub_ins, sub_del;
    EvalTargetRule target_rule;    /* the class each map explains (default: the prediction) */
    const char *map_cache;         /* folder of computed maps (eval/mapcache.h), or NULL */
    int scored_maps_only;          /* 1: no map for an image whose SIC and AIC PIC's rules both skip
                                      (score_image_unscored) */
} ScoreSettings;

typedef struct {
    const float *x;                /* the preprocessed input (C,S,S), the caller's */
    int pred;                      /* predicted class */
    float *logits, *prob;          /* (K) each */
    uint64_t seed;                 /* the image's stream: split(run_seed, index) */
    const uint8_t *lesion;         /* (S,S) 0/1 or NULL: pointing game and energy */
    uint8_t *foreground;           /* (S,S) 0/1, or NULL when there is none */
    char foreground_note[128];     /* why there is none ("" when there is one) */
    PicImage pic;
    uint8_t *pic_u8, *pic_random;
    int pic_ready;
    char pic_error[512];           /* why PIC cannot run on this image */
} ScoreImage;

/* 0, or -1 when the prediction failed (engine error set); the image must be
   freed with score_image_free either way. */
int score_image_prepare(ScoreImage *im, const ScoreSettings *s, AttribParams *P, const float *x, uint64_t run_seed,
                        uint64_t index, const uint8_t *lesion);
void score_image_free(ScoreImage *im);

/* Whether PIC's skip rules skip both SIC and AIC of the prepared image, so
   that no map of it can be scored: 1, with the rules in skipped as
   "sic:<rule>;aic:<rule>" (what score_method would write); 0 when a curve
   will be computed (or PIC is off or cannot run: score_method says why);
   -1 when the check itself failed (engine error set). The rules depend on
   the image, its random mask and the model, never on a map (pic_skips);
   the two predictions this runs are reused by every map's curves. */
int score_image_unscored(ScoreImage *im, const ScoreSettings *s, AttribParams *P, char *skipped, size_t n);

typedef struct {
    float *map;                    /* the method's map (S,S), malloc'd; NULL if it failed */
    long forward, backward;        /* the method's images through the network */
    double method_seconds;         /* the method alone (the row's seconds include the metrics);
                                      for a map from the cache, those of the run that made it */
    int target;                    /* the class the map explains */
    int cached;                    /* 1: the map came from settings.map_cache */
} ScoreOut;

/* One method on a prepared image. r gets the row (image and label are set
   by the caller, label before the call: the target rule reads it; method, predicted, confidence, metrics, seconds, and
   skipped pointing at skipped[n]); out gets the map and the method's cost.
   Returns 0, or -1 when the method itself failed. */
int score_method(ScoreImage *im, const ScoreSettings *s, AttribParams *P, const AttribMethod *am, EvalRow *r,
                 char *skipped, size_t n, ScoreOut *out);
#endif
