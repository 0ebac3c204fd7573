/* xrai_resize.c - the resizes of PAIR's XRAI segmentation, bit-exact with
   skimage.transform.resize (skimage 0.19 over scipy 1.10):
     - order 3 (the image to 224x224): optional Gaussian anti-aliasing, then
       scipy.ndimage.zoom's cubic B-spline interpolation of the (H,W,C)
       array with mode 'grid-constant', then a clip to the input's range;
     - order 0 (the labels back to the input size): nearest neighbour.
   Every step repeats scipy's arithmetic in the same order (double
   precision, float32 storage where scipy stores float32), which the golden
   test checks against skimage at 64, 100, 300 and 512 pixels.

   The steps of scipy.ndimage.zoom(x, order=3, mode='grid-constant',
   grid_mode=True) on the (H,W,C) float32 array:
     1. pad every axis (the channel axis too) with 12 zeros;
     2. B-spline prefilter along axis 0, 1, then 2 of the padded array, in
        double: multiply by the gain (1-z)(1-1/z), z = sqrt(3)-2, then a
        causal and an anticausal first-order recursion with the 'mirror'
        initial conditions of Unser et al. (1991);
     3. each output point o of an axis of n_in -> n_out samples reads the
        coordinate cc = (o + 0.5) * (n_in / n_out) - 0.5 + 12 of the padded
        array, the 4 coefficients from floor(cc) - 1 on, with the cubic
        B-spline weights of t = cc - floor(cc); the 64 products
        ((coef * wy) * wx) * wc are summed with the channel tap fastest.
   Anti-aliasing (only when an axis shrinks): scipy.ndimage.gaussian_filter
   with sigma = (n_in / n_out - 1) / 2 on that axis, mode 'constant',
   truncate 4, axis 0 then axis 1, each pass stored as float32. */
#include "attrib/xrai.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PAD 12
#define POLE (-0.267949192431122706472553658494127633) /* sqrt(3) - 2 */

/* Cubic B-spline weights of the 4 taps starting at floor(x) - 1, as
   scipy's get_spline_interpolation_weights(x, 3); the last weight is
   1 minus the others, subtracted in order. */
static void cubic_weights(double x, double w[4]) {
    x -= floor(x);
    double y = x, z = 1.0 - x;
    w[1] = (y * y * (y - 2.0) * 3.0 + 4.0) / 6.0;
    w[2] = (z * z * (z - 2.0) * 3.0 + 4.0) / 6.0;
    w[0] = z * z * z / 6.0;
    w[3] = 1.0;
    for (int i = 0; i < 3; i++) w[3] -= w[i];
}

/* In-place cubic B-spline prefilter of one line c (n >= 2), mirror boundary. */
static void spline_prefilter(double *c, long n) {
    const double z = POLE, gain = (1.0 - z) * (1.0 - 1.0 / z);
    for (long i = 0; i < n; i++) c[i] *= gain;
    double zi = z, zn1 = pow(z, (double)(n - 1));
    c[0] = c[0] + zn1 * c[n - 1];
    for (long i = 1; i < n - 1; i++) { c[0] += zi * (c[i] + zn1 * c[n - 1 - i]); zi *= z; }
    c[0] /= 1 - zn1 * zn1;
    for (long i = 1; i < n; i++) c[i] += z * c[i - 1];
    c[n - 1] = (z * c[n - 2] + c[n - 1]) * z / (z * z - 1);
    for (long i = n - 2; i >= 0; i--) c[i] = z * (c[i + 1] - c[i]);
}

/* Prefilters the strided line of n values at a (stride s) through buf. */
static void prefilter_strided(double *a, long n, long s, double *buf) {
    for (long i = 0; i < n; i++) buf[i] = a[i * s];
    spline_prefilter(buf, n);
    for (long i = 0; i < n; i++) a[i * s] = buf[i];
}

/* numpy's sum of n doubles (pairwise: 8 accumulators for 8 <= n <= 128). */
static double np_sum(const double *a, int n) {
    if (n < 8) { double s = 0; for (int i = 0; i < n; i++) s += a[i]; return s; }
    double r[8];
    for (int j = 0; j < 8; j++) r[j] = a[j];
    int i = 8;
    for (; i < n - (n % 8); i += 8)
        for (int j = 0; j < 8; j++) r[j] += a[i + j];
    double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) s += a[i];
    return s;
}

/* scipy.ndimage.gaussian_filter1d(mode='constant', cval=0, truncate=4) of
   the float32 lines of img (C,H,W) along axis (0: H, 1: W), in place. */
static int gauss_axis(float *img, int C, int H, int W, int axis, double sigma) {
    int r = (int)(4.0 * sigma + 0.5), n = axis == 0 ? H : W, lines = axis == 0 ? W : H;
    long step = axis == 0 ? W : 1, next = axis == 0 ? 1 : W;
    double *k = malloc(sizeof(double) * (2 * r + 1)), *line = malloc(sizeof(double) * (n + 2 * r));
    if (!k || !line) { free(k); free(line); return -1; }
    for (int j = -r; j <= r; j++) k[j + r] = exp(-0.5 / (sigma * sigma) * (double)(j * j));
    double sum = np_sum(k, 2 * r + 1);
    for (int j = 0; j <= 2 * r; j++) k[j] /= sum;
    for (int c = 0; c < C; c++)
        for (int l = 0; l < lines; l++) {
            float *p = img + (size_t)c * H * W + l * next;
            for (int i = 0; i < n + 2 * r; i++) line[i] = (i < r || i >= n + r) ? 0.0 : p[(i - r) * step];
            for (int i = 0; i < n; i++) {
                const double *q = line + i + r;
                double t = q[0] * k[r];
                for (int j = r; j >= 1; j--) t += (q[-j] + q[j]) * k[r - j];
                p[i * step] = (float)t;
            }
        }
    free(k); free(line);
    return 0;
}

/* Taps (start index into the padded axis) and weights for n_in -> n_out. */
static void zoom_axis(long *start, double *w, int n_in, int n_out) {
    double zoom = (double)n_in / (double)n_out;
    for (int o = 0; o < n_out; o++) {
        double cc = (o + 0.5) * zoom - 0.5 + PAD;
        start[o] = (long)floor(cc) - 1;
        cubic_weights(cc, w + 4 * o);
    }
}

/* Spline coefficients of the padded (H,W,C) array: the plane part
   (prefiltered along H then W, per channel) in P (C, H+24, W+24); then,
   per pixel, the channel line of C+24 values prefiltered, of which the
   C+3 coefficients the taps can read are kept in Q (H+24, W+24, C+3). */
static int spline_coefficients(double *Q, const float *src, int C, int H, int W) {
    long ph = H + 2 * PAD, pw = W + 2 * PAD, pc = C + 2 * PAD, plane = ph * pw;
    long nbuf = ph > pw ? ph : pw;
    if (pc > nbuf) nbuf = pc;
    double *P = calloc((size_t)plane * C, sizeof(double)), *buf = malloc(sizeof(double) * nbuf);
    if (!P || !buf) { free(P); free(buf); return -1; }
    for (int c = 0; c < C; c++) {
        double *pl = P + c * plane;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) pl[(y + PAD) * pw + x + PAD] = src[((size_t)c * H + y) * W + x];
        for (long x = 0; x < pw; x++) prefilter_strided(pl + x, ph, pw, buf);
        for (long y = 0; y < ph; y++) prefilter_strided(pl + y * pw, pw, 1, buf);
    }
    for (long i = 0; i < plane; i++) {
        for (long j = 0; j < pc; j++) buf[j] = (j >= PAD && j < PAD + C) ? P[(j - PAD) * plane + i] : 0.0;
        spline_prefilter(buf, pc);
        memcpy(Q + i * (C + 3), buf + PAD - 1, sizeof(double) * (C + 3));
    }
    free(P); free(buf);
    return 0;
}

int xrai_resize_cubic(float *dst, int oh, int ow, const float *src, int C, int H, int W) {
    size_t n = (size_t)C * H * W;
    float lo = src[0], hi = src[0];
    for (size_t i = 1; i < n; i++) { if (src[i] < lo) lo = src[i]; if (src[i] > hi) hi = src[i]; }
    float *aa = malloc(sizeof(float) * n);
    long pw = W + 2 * PAD;
    double *Q = malloc(sizeof(double) * (size_t)(H + 2 * PAD) * pw * (C + 3));
    long *sy = malloc(sizeof(long) * oh), *sx = malloc(sizeof(long) * ow);
    double *wy = malloc(sizeof(double) * 4 * oh), *wx = malloc(sizeof(double) * 4 * ow), wc[4];
    int rc = -1;
    if (!aa || !Q || !sy || !sx || !wy || !wx) goto done;
    memcpy(aa, src, sizeof(float) * n);
    double sig_h = H > oh ? ((double)H / oh - 1) / 2 : 0, sig_w = W > ow ? ((double)W / ow - 1) / 2 : 0;
    if (sig_h > 1e-15 && gauss_axis(aa, C, H, W, 0, sig_h)) goto done;
    if (sig_w > 1e-15 && gauss_axis(aa, C, H, W, 1, sig_w)) goto done;
    if (spline_coefficients(Q, aa, C, H, W)) goto done;
    zoom_axis(sy, wy, H, oh);
    zoom_axis(sx, wx, W, ow);
    cubic_weights(PAD, wc); /* the channel axis: zoom 1, cc = c + 12 exactly */
    for (int c = 0; c < C; c++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                double t = 0;
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++) {
                        const double *q = Q + ((sy[y] + a) * pw + sx[x] + b) * (C + 3) + c;
                        for (int k = 0; k < 4; k++) t += q[k] * wy[4 * y + a] * wx[4 * x + b] * wc[k];
                    }
                float v = (float)t;
                dst[((size_t)c * oh + y) * ow + x] = v < lo ? lo : v > hi ? hi : v;
            }
    rc = 0;
done:
    free(aa); free(Q); free(sy); free(sx); free(wy); free(wx);
    return rc;
}

void xrai_resize_labels(int32_t *dst, int H, int W, const int32_t *src, int h, int w) {
    double zy = (double)h / H, zx = (double)w / W;
    for (int y = 0; y < H; y++) {
        long sy = (long)floor((y + 0.5) * zy - 0.5 + 0.5);
        sy = sy < 0 ? 0 : sy > h - 1 ? h - 1 : sy;
        for (int x = 0; x < W; x++) {
            long sx = (long)floor((x + 0.5) * zx - 0.5 + 0.5);
            sx = sx < 0 ? 0 : sx > w - 1 ? w - 1 : sx;
            dst[(size_t)y * W + x] = src[sy * w + sx];
        }
    }
}
