/* smoothgrad.c - SmoothGrad over the gradient, IG, Guided IG and Blur IG
   (sg-gradient, sg-ig, sg-guidedig, sg-blurig).

   attr = (1/n) sum_{s<n} a(x + e_s)^2,  e_s ~ N(0, sigma^2) per element,
   sigma = noise * (max(x) - min(x)) over the whole input,
   a = the wrapped method's attribution with its own parameters (steps,
   baseline of x, ...). Paper: Smilkov, Thorat, Kim, Viegas & Wattenberg
   2017, "SmoothGrad: removing noise by adding noise". Matches
   PAIR-code/saliency core/base.py CoreSaliency.GetSmoothedMask with
   magnitude=True (its default: the squares are averaged; there is no
   signed variant here). The wrapped method's baseline is the one of the
   clean x, as PAIR passes the same x_baseline to every sample.
   Defaults: samples n = 25, noise (stdev_spread) 0.15 (PAIR).
   Noise: e_s = sigma * z_s with z drawn from the seeded generator
   (eng_rng_split(seed, SG_STREAM), standard normals in (sample,C,H,W)
   order, so sample s's draws do not depend on n or the batch), or z taken
   from P->noise_in (samples,C,H,W) for tests against the reference.
   map = sum over channels of |attr|.
   Cost: n times the wrapped method's passes, batched across samples:
   sg-gradient n images; sg-ig and sg-blurig n*steps images in chunks of the
   batch size; sg-guidedig steps passes of n images each (the samples'
   paths advance together). */
#include "attrib/gradpath.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SG_STREAM 0x536d6f6f7468ull /* "Smooth" */

/* xs: the noisy inputs rounded to float (what the network sees); xd: the
   same in double, before rounding (Guided IG's path runs in double). */
typedef int (*SgInner)(AttribParams *P, AttribResult *R, const float *xs, const double *xd, int n, float *attr,
                       char *what, size_t what_len);

static int inner_gradient(AttribParams *P, AttribResult *R, const float *xs, const double *xd, int n,
                          float *attr, char *what, size_t len) {
    snprintf(what, len, "gradient");
    return attrib_grads(P, R, xs, n, attr, NULL, NULL);
}

static int inner_ig(AttribParams *P, AttribResult *R, const float *xs, const double *xd, int n, float *attr,
                    char *what, size_t len) {
    int steps = ig_steps_param(P);
    snprintf(what, len, "ig, steps %d", steps);
    float *base = attrib_baseline(P);
    int rc = base ? ig_paths(P, R, xs, n, base, steps, attr, NULL) : -1;
    free(base);
    return rc;
}

static int inner_guidedig(AttribParams *P, AttribResult *R, const float *xs, const double *xd, int n,
                          float *attr, char *what, size_t len) {
    int steps = guidedig_steps_param(P);
    double fraction = guidedig_fraction_param(P), max_dist = guidedig_max_dist_param(P);
    snprintf(what, len, "guidedig, steps %d, fraction %g, max_dist %g", steps, fraction, max_dist);
    float *base = attrib_baseline(P);
    int rc = base ? guidedig_paths(P, R, xd, n, base, steps, fraction, max_dist, attr) : -1;
    free(base);
    return rc;
}

static int inner_blurig(AttribParams *P, AttribResult *R, const float *xs, const double *xd, int n,
                        float *attr, char *what, size_t len) {
    int steps = blurig_steps_param(P);
    double max_sigma = blurig_max_sigma_param(P), grad_step = blurig_grad_step_param(P);
    snprintf(what, len, "blurig, max_sigma %g, steps %d, grad_step %g", max_sigma, steps, grad_step);
    return blurig_paths(P, R, xs, n, max_sigma, steps, grad_step, attr, NULL);
}

/* xd (n,C,H,W) = x + sigma z in double, as PAIR's float64 x + noise; xs =
   xd rounded once to float, as the model casts it to float32. */
static void noisy_inputs(float *xs, double *xd, const AttribParams *P, int n, double sigma) {
    size_t per = (size_t)P->C * P->H * P->W;
    EngRng r;
    eng_rng_seed(&r, eng_rng_split(P->seed, SG_STREAM));
    for (int s = 0; s < n; s++)
        for (size_t j = 0; j < per; j++) {
            size_t k = per * s + j;
            double z = P->noise_in ? (double)P->noise_in[k] : eng_rng_normal(&r);
            xd[k] = (double)P->x[j] + sigma * z;
            xs[k] = (float)xd[k];
        }
}

static int smoothgrad(AttribParams *P, AttribResult *R, SgInner inner, const char *name) {
    double t0 = attrib_now();
    if (attrib_result_init(R, P, 1) || gradpath_check(P)) return -1;
    int n = (int)attrib_param_or(P, AP_SAMPLES, SG_SAMPLES);
    double spread = attrib_param_or(P, AP_NOISE, SG_NOISE);
    size_t per = (size_t)P->C * P->H * P->W, total;
    if (eng_size_mul(per, (size_t)n, &total) || total > SIZE_MAX / sizeof(double)) {
        return eng_fail("%s: %d samples of %zu values do not fit in memory", name, n, per);
    }
    float lo = P->x[0], hi = P->x[0];
    for (size_t j = 1; j < per; j++) { lo = fminf(lo, P->x[j]); hi = fmaxf(hi, P->x[j]); }
    double sigma = spread * (double)(hi - lo); /* PAIR: stdev_spread * (max - min), the range in float32 */
    float *xs = malloc(sizeof(float) * total), *a = malloc(sizeof(float) * total);
    double *xd = malloc(sizeof(double) * total);
    char what[160] = "";
    int rc = -1;
    if (xs && a && xd) {
        noisy_inputs(xs, xd, P, n, sigma);
        rc = inner(P, R, xs, xd, n, a, what, sizeof what);
    }
    free(xd);
    if (rc) { free(xs); free(a); return -1; }
    for (size_t j = 0; j < per; j++) { /* magnitude=True: mean of the squares */
        double acc = 0;
        for (int s = 0; s < n; s++) { double v = a[per * s + j]; acc += v * v; }
        R->attr[j] = (float)(acc / n);
    }
    free(xs); free(a);
    attrib_map_abs_sum(R->map, R->attr, P->C, P->H, P->W);
    snprintf(R->notes, sizeof R->notes, "samples %d, noise %g -> sigma %.6g (%s), magnitude (squares), noise %s",
             n, spread, sigma, what, P->noise_in ? "given" : "seeded");
    if (P->narrate)
        fprintf(P->narrate, "%s: %d noisy copies x + N(0, %.4g^2) (sigma = %g x the input range %.4g .. %.4g),\n"
                            "  each explained by %s; attr = mean of the squared attributions\n",
                name, n, sigma, spread, lo, hi, what);
    R->seconds = attrib_now() - t0;
    return 0;
}

int attrib_sg_gradient(AttribParams *P, AttribResult *R) { return smoothgrad(P, R, inner_gradient, "sg-gradient"); }
int attrib_sg_ig(AttribParams *P, AttribResult *R) { return smoothgrad(P, R, inner_ig, "sg-ig"); }
int attrib_sg_guidedig(AttribParams *P, AttribResult *R) { return smoothgrad(P, R, inner_guidedig, "sg-guidedig"); }
int attrib_sg_blurig(AttribParams *P, AttribResult *R) { return smoothgrad(P, R, inner_blurig, "sg-blurig"); }
