/* bench.h - the timing of the engine's passes behind `salient bench`: N
   seeded N(0,1) images of S x S (EngRng seed 1) through the model, forward
   only and forward + backward to the input (the gradient of class 0, as the
   methods' gradient passes run it: ENG_TAPE_GRAD), two warm-up rounds, then
   reps timed passes of each; the medians. With profiles, reps more passes of
   each with the engine's per-op timer on (EngProfile sums over the reps).
   And the per-image pass times of explain's cost model (bench_pass_time). */
#ifndef EVAL_BENCH_H
#define EVAL_BENCH_H
#include "engine/engine.h"

typedef struct {
    double forward_ms, forward_backward_ms;   /* medians over the reps */
} BenchTimes;

/* 0, or -1 with the engine error set. fo, gr: NULL for no profile, else
   zeroed EngProfiles for the forward-only and the gradient passes. */
int bench_passes(EngModel *m, int N, int S, int reps, BenchTimes *t, EngProfile *fo, EngProfile *gr);

/* The cost model of explain's "expected_seconds": images x time per image.
   The seconds of one pass of batch images of zeros (C x S x S), forward
   only and forward + backward to the input (ENG_TAPE_GRAD, class 0), the
   best of two after one warm-up forward; zeros when a pass cannot be made. */
typedef struct { int batch; double fwd_s, fb_s; } BenchPassTime;
void bench_pass_time(EngModel *m, int C, int S, int batch, BenchPassTime *pt);
/* forward-only images, forward+backward pairs, and backwards whose forward
   another target's result counted (shared passes), each at its cost:
   pairs = min(forward, backward), (forward - pairs) fwd_s + pairs fb_s +
   (backward - pairs)(fb_s - fwd_s), per image of the batch. */
double bench_expected_seconds(long forward, long backward, const BenchPassTime *pt);
#endif
