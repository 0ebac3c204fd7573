/* defaults.h - every method's default parameters, defined once.

   The methods read them through attrib_param_or() (a parameter left at 0 in
   AttribParams means "the default"), and the registry (registry.c) lists
   them per method for --help, explain.json, run.json and the report. The
   values follow the reference implementations each method matches (PAIR
   saliency for the path methods, SmoothGrad, XRAI and occlusion; the RISE
   authors' code for RISE); docs/METHODS.md gives the account. */
#ifndef ATTRIB_DEFAULTS_H
#define ATTRIB_DEFAULTS_H

#define IG_STEPS 25               /* Riemann steps of Integrated Gradients */
#define GUIDEDIG_STEPS 200        /* Guided IG path steps */
#define GUIDEDIG_FRACTION 0.25    /* share of features moved per step */
#define GUIDEDIG_MAX_DIST 0.02    /* allowed distance from the straight path */
#define BLURIG_STEPS 100          /* Blur IG steps */
#define BLURIG_MAX_SIGMA 50.0     /* sigma of the most blurred image */
#define BLURIG_GRAD_STEP 0.01     /* sigma step of the blur derivative */
#define SG_SAMPLES 25             /* SmoothGrad noisy samples */
#define SG_NOISE 0.15             /* noise sigma as a share of max(x) - min(x) */
#define XRAI_STEPS 100            /* IG steps per XRAI baseline */
#define XRAI_BASELINES "min,max"  /* XRAI's two constant baselines; only a baseline file replaces them */
#define OCC_WINDOW 15             /* occlusion window side, pixels */
#define OCC_STRIDE 1              /* occlusion stride, pixels */
#define RISE_MASKS 4000           /* RISE masks */
#define RISE_GRID 8               /* RISE grid side */
#define RISE_PROB 0.5             /* RISE cell keep probability */
#endif
