/* bench.h - the timing of the engine's passes behind `salient bench`: N
   seeded N(0,1) images of S x S (EngRng seed 1) through the model, forward
   only and forward + backward to the input (the gradient of class 0, as the
   methods' gradient passes run it: ENG_TAPE_GRAD), two warm-up rounds, then
   reps timed passes of each; the medians. With profiles, reps more passes of
   each with the engine's per-op timer on (EngProfile sums over the reps). */
#ifndef EVAL_BENCH_H
#define EVAL_BENCH_H
#include "engine/engine.h"

typedef struct {
    double forward_ms, forward_backward_ms;   /* medians over the reps */
} BenchTimes;

/* 0, or -1 with the engine error set. fo, gr: NULL for no profile, else
   zeroed EngProfiles for the forward-only and the gradient passes. */
int bench_passes(EngModel *m, int N, int S, int reps, BenchTimes *t, EngProfile *fo, EngProfile *gr);
#endif
