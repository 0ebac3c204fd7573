/* bench.c - timing the engine's passes (see bench.h). */
#include "eval/bench.h"
#include "engine/rng.h"
#include "eval/stats.h"

#include <stdlib.h>
#include <time.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* One gradient pass: forward with the tape, backward from seed to the input. */
static int grad_pass(EngPass *p, const float *x, const float *seed, const EngBackwardOpts *bo) {
    return eng_pass_forward(p, x, ENG_TAPE_GRAD) || eng_pass_backward(p, seed, bo) ? -1 : 0;
}

/* reps more passes of each kind with the per-op timer on. */
static int profile_passes(EngPass *p, const float *x, const float *seed, const EngBackwardOpts *bo, int reps,
                          EngProfile *fo, EngProfile *gr) {
    int rc = 0;
    eng_set_profile(fo);
    for (int i = 0; i < reps && !rc; i++) rc = eng_pass_forward(p, x, ENG_FORWARD_ONLY) ? -1 : 0;
    eng_set_profile(gr);
    for (int i = 0; i < reps && !rc; i++) rc = grad_pass(p, x, seed, bo);
    eng_set_profile(NULL);
    return rc;
}

/* The timed passes: forward-only times into tf, gradient pass times into tb (reps each). */
static int timed_passes(EngPass *p, const float *x, const float *seed, const EngBackwardOpts *bo, int reps, double *tf,
                        double *tb) {
    for (int warm = 0; warm < 2; warm++) { /* warm-up: buffers allocated, pages touched */
        eng_pass_forward(p, x, ENG_FORWARD_ONLY);
        grad_pass(p, x, seed, bo);
    }
    for (int i = 0; i < reps; i++) {
        double t0 = now_ms();
        if (eng_pass_forward(p, x, ENG_FORWARD_ONLY)) return -1;
        tf[i] = now_ms() - t0;
    }
    for (int i = 0; i < reps; i++) {
        double t0 = now_ms();
        if (grad_pass(p, x, seed, bo)) return -1;
        tb[i] = now_ms() - t0;
    }
    return 0;
}

int bench_passes(EngModel *m, int N, int S, int reps, BenchTimes *t, EngProfile *fo, EngProfile *gr) {
    int C = eng_model_in_channels(m), K = eng_model_n_classes(m), rc = -1;
    size_t nx = (size_t)N * C * S * S;
    float *x = malloc(sizeof(float) * nx), *seed = calloc((size_t)N * K, sizeof(float));
    double *tf = malloc(sizeof(double) * reps), *tb = malloc(sizeof(double) * reps);
    EngPass *p = x && seed && tf && tb ? eng_pass_new(m, N, S, S) : NULL;
    if (p) {
        EngRng r;
        eng_rng_seed(&r, 1);
        for (size_t i = 0; i < nx; i++) x[i] = (float)eng_rng_normal(&r);
        for (int i = 0; i < N; i++) seed[(size_t)i * K] = 1;
        int keep0 = 0;
        EngBackwardOpts bo = {.keep_grads = &keep0, .n_keep_grads = 1};
        rc = timed_passes(p, x, seed, &bo, reps, tf, tb);
        if (!rc && fo && gr) rc = profile_passes(p, x, seed, &bo, reps, fo, gr);
        t->forward_ms = stats_median(tf, reps);
        t->forward_backward_ms = stats_median(tb, reps);
    } else if (x && seed && tf && tb) rc = -1;   /* eng_pass_new set the error */
    else rc = eng_fail("bench: out of memory");
    eng_pass_free(p);
    free(x); free(seed); free(tf); free(tb);
    return rc;
}

void bench_pass_time(EngModel *m, int C, int S, int batch, BenchPassTime *pt) {
    pt->batch = batch;
    pt->fwd_s = pt->fb_s = 0;
    int K = eng_model_n_classes(m);
    float *x = calloc((size_t)batch * C * S * S, sizeof(float)), *seed = calloc((size_t)batch * K, sizeof(float));
    EngPass *p = x && seed ? eng_pass_new(m, batch, S, S) : NULL;
    if (p) {
        int keep0 = 0;
        EngBackwardOpts bo = {.keep_grads = &keep0, .n_keep_grads = 1};
        for (int i = 0; i < batch; i++) seed[(size_t)i * K] = 1;
        eng_pass_forward(p, x, ENG_FORWARD_ONLY); /* warm-up */
        double best_f = 1e30, best_b = 1e30;
        for (int r = 0; r < 2; r++) {
            double t0 = now_ms();
            eng_pass_forward(p, x, ENG_FORWARD_ONLY);
            double t1 = now_ms();
            grad_pass(p, x, seed, &bo); /* as the methods' gradient passes */
            double t2 = now_ms();
            if (t1 - t0 < best_f) best_f = t1 - t0;
            if (t2 - t1 < best_b) best_b = t2 - t1;
        }
        pt->fwd_s = best_f / 1e3;
        pt->fb_s = best_b / 1e3;
    }
    eng_pass_free(p);
    free(x);
    free(seed);
}

double bench_expected_seconds(long forward, long backward, const BenchPassTime *pt) {
    long pairs = forward < backward ? forward : backward;
    double fo = (double)(forward - pairs) / pt->batch, fb = (double)pairs / pt->batch,
           bo = (double)(backward - pairs) / pt->batch;
    return fo * pt->fwd_s + fb * pt->fb_s + bo * (pt->fb_s - pt->fwd_s);
}
