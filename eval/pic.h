/* pic.h - Performance Information Curves: SIC (softmax information curve)
   and AIC (accuracy information curve), step by step as PAIR's
   saliency/metrics/pic.py compute_pic_metric (Kapishnikov et al. 2019,
   "XRAI: Better attributions through regions"; PAIR-code/saliency
   7b72b673), and the aggregation of aggregate_individual_pic_results.

   Usage (one image, any number of maps):
     uint8_t *img = malloc(H * W * C);
     pic_input_to_u8(img, x, C, H, W, mean, std);      // network input -> uint8 (H,W,C)
     uint8_t *rmask = malloc(H * W);
     pic_random_mask(rmask, H, W, PIC_RANDOM_FRACTION, seed);
     PicImage pi;
     if (pic_image_init(&pi, img, H, W, C, rmask, INFO_WEBP) < 0) ... eng_last_error() ...
     PicEngine pe = {&P, mean, std};                    // P: AttribParams with model, C, H, W
     PicResult r;
     if (pic_evaluate(&pi, map, pic_engine_logits, &pe, K, -1, PIC_MIN_PRED, 0, &r) < 0) ...
     r.sic.auc, r.aic.auc, r.sic.skip, r.sic.reason ...
     pic_image_free(&pi);

   The steps, as pic.py:
   1. The image is uint8 (H,W,C). Here it is the model's preprocessed input
      before normalisation, x * std + mean, scaled by 255, rounded half to
      even and clipped to [0,255] (pic_input_to_u8); the model sees
      uint8 / 255 re-normalised (pic_u8_to_input), like pic.py's pred_func.
   2. A random mask of int(H*W*0.01) distinct pixels (seeded EngRng, a
      partial Fisher-Yates shuffle; pic.py draws it with numpy, so pass its
      mask to compare) plus the 4 corners are always known. Unknown pixels
      are filled by linear interpolation over the Delaunay triangulation of
      the known ones (eval/delaunay.h pic_interpolate_fill).
   3. Information of an image: eval/info.h (webp by default).
   4. Skip rules, checked in this order (pic.py raises, we report):
      PIC_SKIP_MIN_PRED  prediction on the original < min_pred (0.8 in pic.py);
      PIC_SKIP_BLUR_INFO information of the fully blurred image >= the original's;
      PIC_SKIP_BLUR_PRED prediction on the fully blurred image >= the original's.
      A skipped curve has auc = NaN; every value that was computed is kept.
   5. For each threshold t of pic_thresholds: q = numpy.quantile(map, 1 - t)
      (linear method; the interpolation weight and result in float64 with
      the difference of the two order statistics in float32, as numpy 1.24
      does for a float32 map), then the comparison map >= q is made in
      float32 (numpy casts the float64 scalar to the array's float32), the
      known pixels are that mask OR the random mask (and the corners); blur,
      information e, prediction p;
      x = clip((e - e_blur) / (e_orig - e_blur), 0, 1),
      y = clip((p - p_blur) / (p_orig - p_blur), 0, 1), then y = running max.
   6. SIC: p = softmax probability of the class (double softmax of the float
      logits). AIC: p = 1 if the top-1 class (first maximum) is the class,
      else 0. The class is the top-1 class of the uint8 image's prediction,
      as PAIR's notebook, unless a target is given.
   7. Curve: the 13 points in threshold order, then (0,0) and (1,1); a stable
      sort by x (scipy interp1d's mergesort); each query x uses the
      interval starting at the LAST sorted point with xp <= x (numpy.interp:
      of tied points the last counts; at or past the last point its value);
      queries x_i = i * 0.001 for i < 1000 (numpy.linspace(0, 1, 1000,
      endpoint=False)), then the point (1, 1); AUC by the trapezoid rule.
   8. Aggregation over images: point-wise mean or median (numpy.median) of
      the 1001-point curves, then the trapezoid AUC (pic_aggregate). */
#ifndef EVAL_PIC_H
#define EVAL_PIC_H
#include <stddef.h>
#include <stdint.h>
#include "attrib/attrib.h"
#include "eval/info.h"

#define PIC_N_THRESHOLDS 13
#define PIC_N_CURVE 1001          /* 1000 queries + the point (1, 1) */
#define PIC_RANDOM_FRACTION 0.01
#define PIC_MIN_PRED 0.8

extern const double pic_thresholds[PIC_N_THRESHOLDS]; /* 0.005 .. 0.75 */

typedef enum { PIC_OK = 0, PIC_SKIP_MIN_PRED, PIC_SKIP_BLUR_INFO, PIC_SKIP_BLUR_PRED } PicSkip;
const char *pic_skip_name(PicSkip s); /* NULL for PIC_OK; "min_pred", "blurred_info", "blurred_pred" */

/* One curve (SIC or AIC) of one image and map. The caller fills the raw
   values (info, pred, *_orig, *_blur); pic_curve_compute does the rest. */
typedef struct {
    double info[PIC_N_THRESHOLDS], pred[PIC_N_THRESHOLDS]; /* raw, per threshold */
    double info_orig, info_blur, pred_orig, pred_blur;
    double x[PIC_N_THRESHOLDS], y[PIC_N_THRESHOLDS];       /* normalised, clipped; y running max */
    PicSkip skip;
    char reason[256];                                      /* the rule and its numbers; "" if PIC_OK */
    double curve[PIC_N_CURVE];                             /* y at pic_curve_x(i) */
    double auc;                                            /* NaN when skipped */
} PicCurve;

void pic_curve_compute(PicCurve *pc, double min_pred);

/* numpy.linspace(0, 1, 1000, endpoint=False)[i] for i < 1000, and 1.0 for i = 1000. */
double pic_curve_x(int i);
/* numpy.interp semantics after a stable sort of the n points (px, py) by x;
   fills curve (PIC_N_CURVE) and returns its trapezoid AUC. n <= 64. */
double pic_interp_curve(const double *px, const double *py, int n, double *curve);
/* numpy.trapz(y, pic_curve_x) over PIC_N_CURVE values. */
double pic_trapz(const double *y);
/* Point-wise mean (median = 0) or median (median = 1) of n curves
   (n, PIC_N_CURVE) into out (PIC_N_CURVE); returns its AUC, NaN if n < 1. */
double pic_aggregate(const double *curves, int n, int median, double *out);

/* numpy.quantile(v, q) (linear) of n float32 values already sorted
   ascending, cast to float32 as numpy does when comparing with a float32 array. */
float pic_quantile_f32(const float *sorted, size_t n, double q);
/* known (H*W) = map >= quantile(map, 1 - t) in float32, OR random_mask.
   sorted: the map's values sorted ascending (n = H*W). */
void pic_threshold_mask(uint8_t *known, const float *map, const float *sorted, size_t n, double t,
                        const uint8_t *random_mask);

/* uint8 (H,W,C) <- x (C,H,W): rint(clip((x * std + mean) * 255, 0, 255)) in float. */
void pic_input_to_u8(uint8_t *img, const float *x, int C, int H, int W, const float *mean, const float *std);
/* x (C,H,W) <- ((float)img / 255 - mean) / std, all float32 (torch's order). */
void pic_u8_to_input(float *x, const uint8_t *img, int C, int H, int W, const float *mean, const float *std);
/* mask (H*W) with int(H*W*fraction) distinct ones from the seeded EngRng. */
int pic_random_mask(uint8_t *mask, int H, int W, double fraction, uint64_t seed);

/* Logits (n,K) of n uint8 images (n,H,W,C). 0 or -1. */
typedef int (*PicLogitsFn)(void *ctx, const uint8_t *imgs, int n, float *logits);

/* The engine as a PicLogitsFn: images re-normalised, run through
   attrib_logits in P's batches. ctx is a PicEngine. */
typedef struct {
    AttribParams *P;          /* model, C, H, W, batch; passes cached in it */
    const float *mean, *std;  /* (C) */
    long forward;             /* images run so far */
} PicEngine;
int pic_engine_logits(void *ctx, const uint8_t *imgs, int n, float *logits);

/* An image with its random mask, fully blurred image and their information.
   The predictions of the original and the fully blurred image are made on
   the first pic_evaluate and reused for the next maps. */
typedef struct {
    int H, W, C, K;
    uint8_t *img, *random_mask, *blurred; /* (H,W,C), (H,W), (H,W,C) owned copies */
    InfoKind info_kind;
    double info_orig, info_blur;
    float *logits_base;                   /* (2,K): original, fully blurred; NULL until known */
    int threads;                          /* blur + information workers; 0 = one per online CPU (max 13) */
    int sigmoid;                          /* the prediction is sigma(F_k) (multi-label or single-logit models), not softmax */
    double seconds_blur, seconds_info;    /* accumulated over workers (thread seconds) */
    double seconds_images, seconds_net;   /* wall time: blurred images + information; network */
} PicImage;

int pic_image_init(PicImage *pi, const uint8_t *img, int H, int W, int C, const uint8_t *random_mask,
                   InfoKind kind);
void pic_image_free(PicImage *pi);

typedef struct {
    int cls;                /* class whose prediction is measured */
    PicCurve sic, aic;
    uint8_t *blurred;       /* (PIC_N_THRESHOLDS,H,W,C) if keep_images was set, else NULL (owned) */
} PicResult;

/* SIC and AIC of one map (H*W float32, finite); fn gives K logits per
   image (the same fn and K for every map of one PicImage). target < 0: the top-1
   class of the original uint8 image. keep_images: keep the 13 blurred
   images in r->blurred. 0, or -1 with eng_last_error. */
int pic_evaluate(PicImage *pi, const float *map, PicLogitsFn fn, void *ctx, int K, int target, double min_pred,
                 int keep_images, PicResult *r);
void pic_result_free(PicResult *r);
/* The skip rules alone (step 4), before any map: skip[0] for SIC, skip[1]
   for AIC, PIC_OK where the curve will be computed. They depend on the
   image, its random mask and the model, never on a map, so pic_evaluate
   will skip exactly these curves for every map of the image. Runs the
   original and the fully blurred image through fn once (pic_evaluate then
   reuses them). 0, or -1 with eng_last_error. */
int pic_skips(PicImage *pi, PicLogitsFn fn, void *ctx, int K, int target, double min_pred, PicSkip skip[2]);
#endif
