/* attrib.h - saliency methods over the engine's public API.

   Every method has the signature AttribFn: it reads one preprocessed image
   x (C,H,W) - exactly the network input - and its parameters, and fills an
   AttribResult with the 2-D map (H,W) used to rank pixels and, for the
   gradient family, the raw attribution (C,H,W). Methods never carry network
   code: they call the helpers below, which batch inputs through engine passes.

   Usage:
     AttribParams P; attrib_params_default(&P);
     P.model = m; P.x = x; P.C = 3; P.H = P.W = 224; P.target = k;
     P.mean = mean; P.std = std;                  // for the black/white baselines
     const AttribMethod *am = attrib_find("ig");
     AttribResult R; if (am->run(&P, &R) == 0) { ... R.map ... } attrib_result_free(&R);
     attrib_params_release(&P);                    // frees cached passes

   Costs are counted in images through the network: R.forward counts images
   run forward (taped or not), R.backward images run backward.

   Several targets of one image: a method whose map needs only one forward
   of the image and, per target, one backward (the gradient CAMs) or no
   backward at all (Eigen-CAM) has run_targets, which fills R[t] for
   targets[t] from ONE forward and one backward per target; each map is
   bit-identical to run() with P->target = targets[t]. The shared forward is
   counted once, in R[0]; every R[t] has shared_forward set when n > 1. */
#ifndef ATTRIB_ATTRIB_H
#define ATTRIB_ATTRIB_H
#include <stdint.h>
#include <stdio.h>
#include "engine/engine.h"
#include "engine/rng.h"

typedef enum { BASELINE_BLACK, BASELINE_WHITE, BASELINE_ZERO, BASELINE_BLUR, BASELINE_UNIFORM, BASELINE_FILE } BaselineKind;

typedef struct {
    /* the network and the image */
    EngModel *model;
    const float *x;            /* (C,H,W) network input */
    int C, H, W;
    int target;                /* class to explain */
    const float *mean, *std;   /* (C) the preprocessing, for black/white baselines */
    /* parameters: 0 / negative means "the method's default" */
    int sigmoid;               /* the model's head: 0 softmax, 1 independent sigmoids (probabilities of RISE, PIC, predict) */
    int steps, samples, masks, window, stride, batch, grid;
    double noise, fraction, max_dist, max_sigma, grad_step, prob;
    BaselineKind baseline;
    const float *baseline_data; /* (C,H,W) for BASELINE_FILE */
    const char *layer;         /* CAM layer; NULL = the method's default */
    uint64_t seed;
    /* fixed draws for tests against references (NULL = draw from the seeded rng) */
    const float *noise_in;     /* (samples,C,H,W) SmoothGrad noise as N(0,1) draws (scaled by sigma) */
    const float *masks_in;     /* (masks,H,W) RISE masks */
    /* output control */
    FILE *narrate;             /* non-NULL: explain each step with this image's numbers */
    void (*progress)(void *ctx, long done, long total);
    void *progress_ctx;
    /* engine passes cached between calls (owned; attrib_params_release frees) */
    EngPass *pass;
    int pass_n, pass_h, pass_w;
} AttribParams;

typedef struct {
    float *map;                /* (H,W) */
    float *attr;               /* (C,H,W) raw attribution, or NULL */
    long forward, backward;    /* images through the network */
    long batches;              /* engine calls */
    double seconds;
    int shared_forward;        /* 1: the forward was shared with other targets (run_targets, n > 1) */
    char notes[512];           /* method-specific facts for outputs (e.g. "segments 231,140,...") */
} AttribResult;

typedef int (*AttribFn)(AttribParams *P, AttribResult *R);
/* R[t] for targets[t], t < n, from shared passes (P->target is left as it was). */
typedef int (*AttribTargetsFn)(AttribParams *P, AttribResult *R, const int *targets, int n);

typedef enum { FAMILY_GRADIENT, FAMILY_REGION, FAMILY_CAM, FAMILY_PERTURBATION, FAMILY_BASELINE } AttribFamily;

/* The parameters a method can read. Each has one key (explain.json,
   run.json, the report), one command-line option and one description; the
   registry says which methods read it and with what default. */
typedef enum {
    AP_END = 0, AP_STEPS, AP_SAMPLES, AP_NOISE, AP_FRACTION, AP_MAX_DIST, AP_MAX_SIGMA, AP_GRAD_STEP,
    AP_WINDOW, AP_STRIDE, AP_MASKS, AP_GRID, AP_PROB, AP_BASELINE, AP_LAYER, AP_COUNT
} AttribParamId;

typedef enum { PARAM_INT, PARAM_REAL, PARAM_TEXT } AttribParamType;

typedef struct {
    const char *key;           /* "max_dist" */
    const char *option;        /* "--max-dist" */
    AttribParamType type;
    double lo, hi;             /* accepted range of a numeric value (a value outside means "the default") */
    const char *help;          /* one line */
} AttribParamInfo;

typedef struct {
    AttribParamId id;          /* AP_END ends a method's list */
    double def;                /* the default (numeric parameters) */
    const char *text_def;      /* the default (text parameters); NULL for "the model's CAM layer" */
} AttribParamDefault;

#define ATTRIB_MAX_PARAMS 6

typedef struct {
    const char *name;
    AttribFn run;
    AttribFamily family;
    const char *summary;       /* one line: formula and reference */
    AttribParamDefault params[ATTRIB_MAX_PARAMS];   /* what the method reads, in display order */
    AttribTargetsFn run_targets; /* several targets from one forward; NULL: run once per target */
} AttribMethod;

const AttribMethod *attrib_find(const char *name);
int attrib_n_methods(void);
const AttribMethod *attrib_method(int i);
const char *attrib_family_name(AttribFamily f);

const AttribParamInfo *attrib_param_info(AttribParamId id);
AttribParamId attrib_param_by_key(const char *key);   /* AP_END if unknown */
/* The value a parameter runs with: P's field when it is set (> 0) and in
   the parameter's range, else def. Every method reads its numbers so. */
double attrib_param_or(const AttribParams *P, AttribParamId id, double def);
/* The method's default for id, and whether the method reads id at all. */
int attrib_method_reads(const AttribMethod *m, AttribParamId id, const AttribParamDefault **d);
/* What a method reads and its defaults, into buf (n bytes): "steps 25,
   baseline black"; a CAM layer's default is "(model's)". */
void attrib_method_defaults_text(const AttribMethod *m, char *buf, size_t n);
/* 1 when m's map under P depends on P->seed: it draws from the seeded
   generator (SmoothGrad's noise, RISE's masks, the random map, a uniform
   baseline); 0 when the map is a function of the input and parameters only. */
int attrib_method_uses_seed(const AttribMethod *m, const AttribParams *P);
/* What method m runs with under P (numeric parameters). */
double attrib_method_param(const AttribMethod *m, const AttribParams *P, AttribParamId id);
/* P's numeric field for id (0 = unset); set writes it. */
double attrib_param_field(const AttribParams *P, AttribParamId id);
void attrib_param_set_field(AttribParams *P, AttribParamId id, double v);

/* Baselines of the path methods by name: black white zero blur uniform
   (file: an array given by the caller). parse gives 0, or -1 for an unknown name. */
const char *attrib_baseline_name(BaselineKind b);
int attrib_baseline_parse(const char *name, BaselineKind *out);
#define ATTRIB_BASELINE_NAMES "black, white, zero, blur, uniform"

void attrib_params_default(AttribParams *P);
void attrib_params_release(AttribParams *P);
void attrib_result_free(AttribResult *R);
/* Allocates R->map (and R->attr if with_attr); zeroes counters. 0 or -1. */
int attrib_result_init(AttribResult *R, const AttribParams *P, int with_attr);

/* ---- helpers over the engine (attrib/common.c) ---- */
/* Gradients of the target logit for n inputs xs (n,C,H,W) into grads
   (n,C,H,W); logits (n,K) may be NULL. Runs in batches of P->batch, by
   default 4 images at 224x224 scaled by the area (a taped pass keeps every
   activation; see taped_batch_size in common.c).
   rules: optional backward-rule overrides (guided backprop). */
int attrib_grads(AttribParams *P, AttribResult *R, const float *xs, int n, float *grads, float *logits,
                 const EngBackwardOpts *rules);
/* Logits (n,K) of n inputs, forward only, in batches of P->batch, by
   default 16 images at 224x224 scaled by the area. */
int attrib_logits(AttribParams *P, AttribResult *R, const float *xs, int n, float *logits);
/* The prediction for one input x: logits and softmax probabilities (K
   each, caller's buffers); returns the predicted class, or -1 on error. */
int attrib_predict(AttribParams *P, const float *x, float *logits, float *prob);
/* The gradient of class cls's logit, summed over n inputs (n, C, h, w):
   one taped forward (ENG_TAPE) and one backward. Returns the pass, which
   holds the input gradient (eng_pass_input_grad) and, for node >= 0, that
   node's activation and gradient (eng_pass_act, eng_pass_grad; the
   gradient NULL when none reaches it); eng_pass_free it. NULL with the
   engine error set (cls out of range, a pass that fails, no memory). */
EngPass *attrib_class_gradient(EngModel *m, const float *x, int n, int h, int w, int cls, int node);
/* The batch size the helpers above use (P->batch, or the default for the
   image size): callers generating images chunk by chunk use it as their chunk. */
int attrib_batch_size(const AttribParams *P);
/* The target logit of n inputs, forward only. */
int attrib_target_scores(AttribParams *P, AttribResult *R, const float *xs, int n, float *scores);
/* Activation A (K,h,w) and gradient G = dF_target/dA of the named layer for
   the image P->x; *K,*h,*w get the shape. act/grad malloc'd by the callee.
   grad == NULL: forward only (one forward, no backward; gradient-free CAMs). */
int attrib_layer_act_grad(AttribParams *P, AttribResult *R, const char *layer, float **act, float **grad,
                          int *K, int *h, int *w);
/* The same for n targets from ONE taped forward: A once, then one backward
   per target t into grads[t] (n arrays, malloc'd by the callee). grads ==
   NULL: forward only. R counts 1 forward, n backwards and n engine calls.
   attrib_layer_act_grad is this with the one target P->target. */
int attrib_layer_act_grads(AttribParams *P, AttribResult *R, const char *layer, const int *targets, int n,
                           float **act, float **grads, int *K, int *h, int *w);
/* Forward with the layer's activation replaced (n copies, (n,K,h,w)); target logits out. */
int attrib_layer_replaced_scores(AttribParams *P, AttribResult *R, const char *layer, const float *acts, int n,
                                 float *scores);
/* The baseline image for P->baseline (C,H,W), malloc'd. */
float *attrib_baseline(const AttribParams *P);
/* map (H,W) = sum over channels of |attr| (PAIR's VisualizeImageGrayscale
   before its percentile clipping). */
void attrib_map_abs_sum(float *map, const float *attr, int C, int H, int W);
/* The default CAM layer: "layer4" for ResNet, "features.norm5" for DenseNet. */
const char *attrib_default_layer(const EngModel *m);
void attrib_progress(AttribParams *P, long done, long total);
double attrib_now(void);

/* ---- image helpers (attrib/resize.c) ---- */
/* cv2.resize INTER_LINEAR: half-pixel centres (align_corners=False), edge
   clamped, no antialiasing. src (h,w) -> dst (H,W). */
void resize_bilinear_half_pixel(float *dst, int H, int W, const float *src, int h, int w);
/* torch UpsamplingBilinear2d: align_corners=True. */
void resize_bilinear_align_corners(float *dst, int H, int W, const float *src, int h, int w);
/* pytorch-grad-cam's scale_cam_image: (x - min) / (max(x - min) + 1e-7), in place. */
void minmax_scale(float *v, size_t n, double eps);
/* Gaussian blur of each channel (C,H,W), sigma in pixels, as
   scipy.ndimage.gaussian_filter(mode='reflect', truncate=4.0). */
void gaussian_blur_chw(float *dst, const float *src, int C, int H, int W, double sigma);
/* The same with mode='constant' (cval 0), as PAIR's blur_ig.gaussian_blur. */
void gaussian_blur_chw_zero(float *dst, const float *src, int C, int H, int W, double sigma);

#endif
