/* gradpath.h - the batched cores of the gradient family, shared by the plain
   methods (ig.c, guidedig.c, blurig.c) and SmoothGrad (smoothgrad.c).

   Each core attributes n inputs xs (n,C,H,W) at once - the n noisy samples of
   SmoothGrad, or n = 1 for the plain method - so that every network pass
   carries as many images as the batch allows: IG and Blur IG enumerate all
   (input, step) pairs in chunks of attrib_batch_size(P); Guided IG, whose
   every step depends on the previous gradient, advances the n paths
   together, one batch of n images per step. Results do not depend on the
   batch size: each input's sum runs in step order whatever the chunking.

   Defaults (PAIR-code/saliency) are resolved by the *_param functions. */
#ifndef ATTRIB_GRADPATH_H
#define ATTRIB_GRADPATH_H
#include "attrib/attrib.h"

#include "attrib/defaults.h"

/* Checks model, image, channels and target; sets the engine error. 0 or -1. */
int gradpath_check(const AttribParams *P);

/* Integrated Gradients of n inputs against one baseline (C,H,W); attr
   (n,C,H,W). fx (n,2) may be NULL: it gets F(baseline) and F(x) of each
   input, read off the path's end points (alpha 0 and 1) at no extra cost. */
int ig_paths(AttribParams *P, AttribResult *R, const float *xs, int n, const float *baseline, int steps,
             float *attr, float *fx);

/* Guided IG of n inputs against one baseline; attr (n,C,H,W). The inputs
   are double: PAIR runs the path in float64 from the input as given, and
   SmoothGrad gives it x + noise unrounded (the model sees float32 points). */
int guidedig_paths(AttribParams *P, AttribResult *R, const double *xs, int n, const float *baseline, int steps,
                   double fraction, double max_dist, float *attr);
/* The same path algorithm over any gradient source (tests drive it with a
   function whose gradient both languages compute bit for bit): grad_fn gets
   n points (n,per) and writes their gradients (n,per); 0 or -1. per is the
   size of one input; progress (may be NULL) receives attrib_progress. */
typedef int (*GradPathFn)(void *ctx, const float *xs, int n, float *grads);
int guidedig_run(GradPathFn grad_fn, void *ctx, size_t per, const double *xs, int n, const float *baseline,
                 int steps, double fraction, double max_dist, float *attr, AttribParams *progress);

/* Blur IG of n inputs; attr (n,C,H,W). fx (n) may be NULL: it gets F(x) (step 0, sigma 0). */
int blurig_paths(AttribParams *P, AttribResult *R, const float *xs, int n, double max_sigma, int steps,
                 double grad_step, float *attr, float *fx);

static inline int ig_steps_param(const AttribParams *P) { return (int)attrib_param_or(P, AP_STEPS, IG_STEPS); }
static inline int guidedig_steps_param(const AttribParams *P) { return (int)attrib_param_or(P, AP_STEPS, GUIDEDIG_STEPS); }
static inline int blurig_steps_param(const AttribParams *P) { return (int)attrib_param_or(P, AP_STEPS, BLURIG_STEPS); }
static inline double guidedig_fraction_param(const AttribParams *P) { return attrib_param_or(P, AP_FRACTION, GUIDEDIG_FRACTION); }
static inline double guidedig_max_dist_param(const AttribParams *P) { return attrib_param_or(P, AP_MAX_DIST, GUIDEDIG_MAX_DIST); }
static inline double blurig_max_sigma_param(const AttribParams *P) { return attrib_param_or(P, AP_MAX_SIGMA, BLURIG_MAX_SIGMA); }
static inline double blurig_grad_step_param(const AttribParams *P) { return attrib_param_or(P, AP_GRAD_STEP, BLURIG_GRAD_STEP); }
#endif
