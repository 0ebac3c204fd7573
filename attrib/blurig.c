/* blurig.c - Blur Integrated Gradients: IG along the path from a strongly
   blurred image to the image itself.

   Paper: Xu, Venugopalan & Sundararajan 2020, "Attribution in scale and
   space". Matches PAIR-code/saliency core/blur_ig.py BlurIG.GetMask (sqrt
   False): sigma_i = i * max_sigma / steps, i = 0..steps,
     attr = - sum_{i<steps} (sigma_{i+1} - sigma_i)
              * (blur(x, sigma_i + grad_step) - blur(x, sigma_i)) / grad_step
              * dF_k/dx (blur(x, sigma_i)),
   blur = scipy.ndimage.gaussian_filter on HWC with sigma [s, s, 0] and
   mode='constant' (zero outside the image; gaussian_blur_chw_zero), sigma 0
   = the image itself. The blur differences are float32 as in PAIR; the sum
   is kept in double (PAIR: float32).
   Completeness: sum(attr) ~ F(x) - F(blur(x, max_sigma)) (the narration
   prints both; the second costs one extra forward, only when narrating).
   Defaults: max_sigma 50, steps 100, grad_step 0.01 (PAIR).
   map = sum over channels of |attr|.
   Cost: steps forward + steps backward in batches, plus 2 blurs per step
   (each O(C H W min(H, W, 8 sigma + 1))). */
#include "attrib/gradpath.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double sigma_at(int i, double max_sigma, int steps) { return (double)i * max_sigma / (double)steps; }

/* The path point of step i and the blur's derivative in sigma there, as PAIR. */
static void blur_point(float *img, float *dblur, const float *x, int C, int H, int W, double sigma,
                       double grad_step) {
    size_t per = (size_t)C * H * W;
    gaussian_blur_chw_zero(img, x, C, H, W, sigma);
    gaussian_blur_chw_zero(dblur, x, C, H, W, sigma + grad_step);
    float gs = (float)grad_step;
    for (size_t j = 0; j < per; j++) dblur[j] = (dblur[j] - img[j]) / gs;
}

int blurig_paths(AttribParams *P, AttribResult *R, const float *xs, int n, double max_sigma, int steps,
                 double grad_step, float *attr, float *fx) {
    size_t per = (size_t)P->C * P->H * P->W;
    int K = eng_model_n_classes(P->model), B = attrib_batch_size(P);
    long total = (long)n * steps;
    float *img = malloc(sizeof(float) * per * B), *db = malloc(sizeof(float) * per * B);
    float *g = malloc(sizeof(float) * per * B), *lg = malloc(sizeof(float) * K * B);
    double *acc = calloc(per * n, sizeof(double));
    int rc = -1;
    if (!img || !db || !g || !lg || !acc) goto done;
    for (long t0 = 0; t0 < total; t0 += B) {
        int nb = total - t0 < B ? (int)(total - t0) : B;
        for (int b = 0; b < nb; b++) { /* item t: input t / steps, step t % steps */
            long t = t0 + b;
            blur_point(img + per * b, db + per * b, xs + per * (t / steps), P->C, P->H, P->W,
                       sigma_at((int)(t % steps), max_sigma, steps), grad_step);
        }
        if (attrib_grads(P, R, img, nb, g, lg, NULL)) goto done;
        for (int b = 0; b < nb; b++) {
            long t = t0 + b, s = t / steps;
            int i = (int)(t % steps);
            double dsig = sigma_at(i + 1, max_sigma, steps) - sigma_at(i, max_sigma, steps);
            double *ac = acc + per * s;
            const float *gb = g + per * b, *dd = db + per * b;
            for (size_t j = 0; j < per; j++) ac[j] += dsig * ((double)dd[j] * gb[j]);
            if (fx && i == 0) fx[s] = lg[(size_t)b * K + P->target];
        }
        attrib_progress(P, t0 + nb, total);
    }
    for (size_t k = 0; k < per * n; k++) attr[k] = (float)-acc[k];
    rc = 0;
done:
    free(img); free(db); free(g); free(lg); free(acc);
    return rc;
}

int attrib_blurig(AttribParams *P, AttribResult *R) {
    double t0 = attrib_now();
    if (attrib_result_init(R, P, 1) || gradpath_check(P)) return -1;
    int steps = blurig_steps_param(P);
    double max_sigma = blurig_max_sigma_param(P), grad_step = blurig_grad_step_param(P);
    float fx = 0;
    if (blurig_paths(P, R, P->x, 1, max_sigma, steps, grad_step, R->attr, &fx)) return -1;
    attrib_map_abs_sum(R->map, R->attr, P->C, P->H, P->W);
    size_t n = (size_t)P->C * P->H * P->W;
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += R->attr[i];
    snprintf(R->notes, sizeof R->notes, "max_sigma %g, steps %d, grad_step %g; sum(attr) %.6g", max_sigma, steps,
             grad_step, sum);
    if (P->narrate) {
        float *blurred = malloc(sizeof(float) * n), fb = NAN;
        if (blurred) {
            gaussian_blur_chw_zero(blurred, P->x, P->C, P->H, P->W, max_sigma);
            if (attrib_target_scores(P, R, blurred, 1, &fb)) fb = NAN;
        }
        free(blurred);
        fprintf(P->narrate,
                "blurig: %d images blurred with sigma 0, %g, ..., %g (zero outside the image), one gradient\n"
                "  each, times the change of the image with sigma. F_%d(x) = %.6g, F_%d(blur %g) = %.6g.\n"
                "  completeness: sum(attr) = %.6g vs F(x) - F(blurred) = %.6g\n",
                steps, sigma_at(1, max_sigma, steps), sigma_at(steps - 1, max_sigma, steps), P->target, fx,
                P->target, max_sigma, fb, sum, (double)fx - fb);
    }
    R->seconds = attrib_now() - t0;
    return 0;
}
