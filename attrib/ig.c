/* ig.c - Integrated Gradients.

   attr = (x - x') * (1/steps) sum_{i=0}^{steps-1} dF_k/dx (x' + a_i (x - x')),
   a_i = linspace(0, 1, steps) with both ends (a_i = i * (1/(steps-1)), the
   last exactly 1), as PAIR-code/saliency core/integrated_gradients.py
   IntegratedGradients.GetMask. The path point is computed as numpy does it
   for float32 arrays: x' + float(a_i) * (x - x') in float32. The sum of the
   gradients is kept in double (PAIR sums in float32).
   Paper: Sundararajan, Taly & Yan 2017, "Axiomatic attribution for deep
   networks". Completeness: sum(attr) -> F(x) - F(x') as steps grow (the
   narration prints both; both logits come from the path's end points).
   Defaults: steps 25 (PAIR); baseline from attrib_baseline, default black =
   (0 - mean) / std per channel (PAIR's own default is the zero array).
   map = sum over channels of |attr|.
   Cost: steps forward + steps backward, in batches of attrib_batch_size. */
#include "attrib/gradpath.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double linspace01(int i, int steps) {
    if (steps < 2) return 0.0;
    return i == steps - 1 ? 1.0 : i * (1.0 / (steps - 1));
}

int ig_paths(AttribParams *P, AttribResult *R, const float *xs, int n, const float *baseline, int steps,
             float *attr, float *fx) {
    size_t per = (size_t)P->C * P->H * P->W;
    int K = eng_model_n_classes(P->model), B = attrib_batch_size(P);
    long total = (long)n * steps;
    float *img = malloc(sizeof(float) * per * B), *g = malloc(sizeof(float) * per * B);
    float *lg = malloc(sizeof(float) * K * B);
    double *acc = calloc(per * n, sizeof(double));
    int rc = -1;
    if (!img || !g || !lg || !acc) goto done;
    for (long t0 = 0; t0 < total; t0 += B) {
        int nb = total - t0 < B ? (int)(total - t0) : B;
        for (int b = 0; b < nb; b++) { /* item t: input t / steps, step t % steps */
            long t = t0 + b;
            const float *x = xs + per * (t / steps);
            float a = (float)linspace01((int)(t % steps), steps), *o = img + per * b;
            for (size_t j = 0; j < per; j++) o[j] = baseline[j] + a * (x[j] - baseline[j]);
        }
        if (attrib_grads(P, R, img, nb, g, lg, NULL)) goto done;
        for (int b = 0; b < nb; b++) {
            long t = t0 + b, s = t / steps;
            int i = (int)(t % steps);
            double *ac = acc + per * s;
            const float *gb = g + per * b;
            for (size_t j = 0; j < per; j++) ac[j] += gb[j];
            if (fx && i == 0) fx[2 * s] = lg[(size_t)b * K + P->target];
            if (fx && i == steps - 1) fx[2 * s + 1] = lg[(size_t)b * K + P->target];
        }
        attrib_progress(P, t0 + nb, total);
    }
    for (int s = 0; s < n; s++)
        for (size_t j = 0; j < per; j++) {
            size_t k = per * s + j;
            float d = xs[k] - baseline[j];
            attr[k] = (float)(acc[k] * d / steps);
        }
    rc = 0;
done:
    free(img); free(g); free(lg); free(acc);
    return rc;
}

int attrib_ig(AttribParams *P, AttribResult *R) {
    double t0 = attrib_now();
    if (attrib_result_init(R, P, 1) || gradpath_check(P)) return -1;
    int steps = ig_steps_param(P);
    float *base = attrib_baseline(P), fx[2] = {0, 0};
    if (!base) return -1;
    if (ig_paths(P, R, P->x, 1, base, steps, R->attr, fx)) { free(base); return -1; }
    free(base);
    attrib_map_abs_sum(R->map, R->attr, P->C, P->H, P->W);
    size_t n = (size_t)P->C * P->H * P->W;
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += R->attr[i];
    double delta = (double)fx[1] - fx[0];
    snprintf(R->notes, sizeof R->notes, "steps %d, baseline %s; completeness: sum(attr) %.6g vs F(x)-F(x') %.6g",
             steps, attrib_baseline_name(P->baseline), sum, delta);
    if (P->narrate)
        fprintf(P->narrate,
                "ig: %d points x' + a (x - x') with a = 0, 1/%d, ..., 1 (baseline %s), one gradient each;\n"
                "  attr = (x - x') * mean gradient. F_%d(x') = %.6g, F_%d(x) = %.6g.\n"
                "  completeness: sum(attr) = %.6g vs F(x) - F(x') = %.6g (gap %.3g%%)\n",
                steps, steps > 1 ? steps - 1 : 1, attrib_baseline_name(P->baseline), P->target, fx[0], P->target, fx[1],
                sum, delta, delta != 0 ? 100.0 * fabs(sum - delta) / fabs(delta) : 0.0);
    R->seconds = attrib_now() - t0;
    return 0;
}
