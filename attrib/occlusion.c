/* occlusion.c - occlusion sensitivity (Zeiler & Fergus 2014), as
   PAIR-code/saliency saliency/core/occlusion.py (commit 7b72b67,
   Occlusion.GetMask).

   map(p) = sum over the windows w covering p of F_k(x) - F_k(x with w set to 0)
   F_k is the target LOGIT (the value PAIR's call_model_function returns).
   A window is window x window pixels of every channel, filled with 0 in the
   network's input space. Windows lie wholly inside the image (PAIR:
   top-left corners 0 .. H - window), no padding, and the map is NOT
   divided by the number of windows covering a pixel: border pixels are
   covered by fewer windows, as in PAIR. PAIR slides with stride 1 and
   returns the map repeated over channels; here the map is one (H,W) plane.
   --stride s > 1 (our addition): corners 0, s, 2s, ... and the last corner
   H - window too, so the right and bottom borders are still covered.
   Defaults: window 15 (--window), stride 1 (--stride).
   Cost: 1 + ((H - window) / stride + 1) * ((W - window) / stride + 1)
   forward passes, no backward; with the defaults at 224 x 224 that is
   1 + 210 * 210 = 44101 passes (at 64 x 64: 2501). The occluded images are
   built one batch at a time. */
#include "attrib/attrib.h"
#include "attrib/defaults.h"

#include <stdlib.h>
#include <string.h>


/* Corners along an axis of n pixels: 0, s, 2s, ... <= n - w, plus n - w. */
static int corners(int *out, int n, int w, int s) {
    int k = 0, last = n - w;
    for (int c = 0; c <= last; c += s) out[k++] = c;
    if (out[k - 1] != last) out[k++] = last;
    return k;
}

/* Image i of the list: 0 is x itself, i >= 1 the occluded window i - 1. */
static void make_image(float *dst, const AttribParams *P, long i, const int *ry, const int *rx, int nx, int w) {
    size_t hw = (size_t)P->H * P->W;
    memcpy(dst, P->x, sizeof(float) * hw * P->C);
    if (i == 0) return;
    int y0 = ry[(i - 1) / nx], x0 = rx[(i - 1) % nx];
    for (int c = 0; c < P->C; c++)
        for (int y = y0; y < y0 + w; y++) memset(dst + c * hw + (size_t)y * P->W + x0, 0, sizeof(float) * w);
}

/* Adds v to the w x w window at (y0,x0) of the (H+1,W+1) difference table. */
static void add_window(double *d, int W, int y0, int x0, int w, double v) {
    long s = W + 1;
    d[y0 * s + x0] += v;
    d[y0 * s + x0 + w] -= v;
    d[(y0 + w) * s + x0] -= v;
    d[(y0 + w) * s + x0 + w] += v;
}

static void integrate(float *map, const double *d, int H, int W) {
    double *row = calloc((size_t)W + 1, sizeof(double));
    if (!row) return;
    for (int y = 0; y < H; y++) { /* 2-D prefix sum of the difference table */
        double run = 0;
        for (int x = 0; x < W; x++) {
            run += d[(long)y * (W + 1) + x];
            row[x] += run;
            map[(size_t)y * W + x] = (float)row[x];
        }
    }
    free(row);
}

typedef struct { double f0, best, worst; int by, bx, wy, wx; } OccStats;

int attrib_occlusion(AttribParams *P, AttribResult *R) {
    double t0 = attrib_now();
    int w = (int)attrib_param_or(P, AP_WINDOW, OCC_WINDOW), s = (int)attrib_param_or(P, AP_STRIDE, OCC_STRIDE);
    if (w > P->H || w > P->W) {
        return eng_fail("occlusion: window %d larger than the %dx%d image", w, P->H, P->W);
    }
    if (attrib_result_init(R, P, 0)) return -1;
    size_t per = (size_t)P->C * P->H * P->W;
    int *ry = malloc(sizeof(int) * (P->H + 1)), *rx = malloc(sizeof(int) * (P->W + 1));
    int B = attrib_batch_size(P);
    float *xs = malloc(sizeof(float) * per * B), *sc = malloc(sizeof(float) * B);
    double *d = calloc((size_t)(P->H + 1) * (P->W + 1), sizeof(double));
    int rc = (!ry || !rx || !xs || !sc || !d) ? -1 : 0;
    int ny = rc ? 0 : corners(ry, P->H, w, s), nx = rc ? 0 : corners(rx, P->W, w, s);
    long total = 1 + (long)ny * nx;
    OccStats st = {0, -1e300, 1e300, 0, 0, 0, 0};
    for (long i0 = 0; i0 < total && !rc; i0 += B) {
        int cnt = total - i0 < B ? (int)(total - i0) : B;
        for (int k = 0; k < cnt; k++) make_image(xs + per * k, P, i0 + k, ry, rx, nx, w);
        rc = attrib_target_scores(P, R, xs, cnt, sc);
        for (int k = 0; k < cnt && !rc; k++) {
            long i = i0 + k;
            if (i == 0) { st.f0 = sc[0]; continue; }
            int y0 = ry[(i - 1) / nx], x0 = rx[(i - 1) % nx];
            double diff = st.f0 - sc[k];
            add_window(d, P->W, y0, x0, w, diff);
            if (diff > st.best) { st.best = diff; st.by = y0; st.bx = x0; }
            if (diff < st.worst) { st.worst = diff; st.wy = y0; st.wx = x0; }
        }
        attrib_progress(P, i0 + cnt, total);
    }
    if (!rc) {
        integrate(R->map, d, P->H, P->W);
        snprintf(R->notes, sizeof R->notes, "F = target logit; window %d, stride %d, fill 0; %ld windows (%dx%d)", w,
                 s, total - 1, ny, nx);
        if (P->narrate)
            fprintf(P->narrate,
                    "occlusion: F(x) = %.4f (logit of class %d); %ld windows of %dx%d filled with 0, stride %d\n"
                    "  largest drop F(x) - F(x_occ) = %.4f with the window at (y %d, x %d)\n"
                    "  largest rise %.4f at (y %d, x %d); each pixel sums the drops of the windows covering it\n",
                    st.f0, P->target, total - 1, w, w, s, st.best, st.by, st.bx, -st.worst, st.wy, st.wx);
    }
    free(ry); free(rx); free(xs); free(sc); free(d);
    R->seconds = attrib_now() - t0;
    if (rc) attrib_result_free(R);
    return rc;
}
