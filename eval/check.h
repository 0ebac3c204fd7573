/* check.h - the arithmetic checks an auditor runs on their own model and
   image: the fast path against the double-accumulating reference path,
   layer by layer, and the input gradient against central finite
   differences. `salient selfcheck` and `salient gradcheck` print them.

   Usage:
     double *rel = malloc(sizeof(double) * eng_model_n_nodes(m)), grad_rel;
     int k;   // the explained class: the prediction on x
     check_fast_vs_reference(m, x, S, &k, rel, &grad_rel);      // rel[i]: node i
     GradProbe pr[16]; GradCheck gc;
     check_gradient(m, x, S, seed, 16, pr, &gc);                // gc.tolerance, pr[t].diff

   Differences are max |a - b| / max |b| over a node's values (b the
   reference). The gradient check: the network is piecewise linear in its
   input (conv, batch norm, pools, add, concat, linear are linear; ReLU and
   max-pool choose a piece). Between x - h and x + h with the same ReLU
   signs and max-pool choices it is exactly linear, so the central
   difference there equals the gradient up to float32 rounding. In a deep
   network some ReLUs sit within any useful step of zero, so steps cross a
   few kinks; each probe reports how many decisions its step changed.
   Smaller steps cross fewer kinks but drown in the float32 rounding of the
   logit (resolution ulp(logit) / 2h): the step is h = 0.01 (normalised
   units) and the tolerance 2e-2 max|grad| plus twice that resolution.
   Functions return 0, or -1 with the engine error set. */
#ifndef EVAL_CHECK_H
#define EVAL_CHECK_H
#include <stdint.h>
#include "engine/engine.h"

/* Both checks fail above this relative difference: float32 storage between
   layers gives ~1e-6 on the models tested, so 1e-4 flags a real
   disagreement while tolerating accumulation order. */
#define CHECK_FAST_BOUND 1e-4
#define CHECK_GRAD_STEP 1e-2f

/* x (C,S,S); *cls gets the class checked (the prediction); node_rel
   (n_nodes) the activation differences (node 0, the input, is 0);
   *grad_rel the input gradient's. Leaves the engine on the fast path. */
int check_fast_vs_reference(EngModel *m, const float *x, int S, int *cls, double *node_rel, double *grad_rel);

typedef struct {
    int c, y, x;                /* the probed input value */
    double analytic, numeric, diff;
    long kinks;                 /* ReLU / max-pool decisions the step changed */
} GradProbe;

typedef struct {
    int cls;                    /* the class: the prediction on x */
    double tolerance, resolution, step;
    int failed, crossed;        /* probes beyond the tolerance; probes whose step crossed a kink */
} GradCheck;

/* n probes at input values drawn from a generator seeded with
   eng_rng_split(seed, 0x67c). x (C,S,S) is restored on return. */
int check_gradient(EngModel *m, float *x, int S, uint64_t seed, int n, GradProbe *probes, GradCheck *out);
#endif
