/* resize.c - the 2-D image operations the methods share, each mirroring the
   library call of the reference implementation named above it. */
#include "attrib/attrib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* cv2.resize(..., interpolation=INTER_LINEAR) on float32: source coordinate
   sx = (x + 0.5) * w / W - 0.5, clamped below at 0; the right neighbour is
   clamped at w - 1. (OpenCV computes the weights in fixed point only for
   8-bit images; for float it uses these float weights.) */
static void axis_half_pixel(int *i0, int *i1, float *f, int out, int in) {
    double scale = (double)in / out;
    for (int x = 0; x < out; x++) {
        double s = (x + 0.5) * scale - 0.5;
        int a = (int)floor(s);
        double t = s - a;
        if (a < 0) { a = 0; t = 0; }
        if (a >= in - 1) { a = in - 1; t = 0; }
        i0[x] = a; i1[x] = a + 1 < in ? a + 1 : in - 1; f[x] = (float)t;
    }
}

/* torch UpsamplingBilinear2d (align_corners=True): sx = x (w - 1) / (W - 1). */
static void axis_align_corners(int *i0, int *i1, float *f, int out, int in) {
    double scale = out > 1 ? (double)(in - 1) / (out - 1) : 0;
    for (int x = 0; x < out; x++) {
        double s = x * scale;
        int a = (int)floor(s);
        if (a > in - 1) a = in - 1;
        i0[x] = a; i1[x] = a + 1 < in ? a + 1 : in - 1; f[x] = (float)(s - a);
    }
}

static void resize_with(float *dst, int H, int W, const float *src, int h, int w,
                        void (*axis)(int *, int *, float *, int, int)) {
    int *y0 = malloc(sizeof(int) * H), *y1 = malloc(sizeof(int) * H);
    int *x0 = malloc(sizeof(int) * W), *x1 = malloc(sizeof(int) * W);
    float *fy = malloc(sizeof(float) * H), *fx = malloc(sizeof(float) * W);
    if (y0 && y1 && x0 && x1 && fy && fx) {
        axis(y0, y1, fy, H, h);
        axis(x0, x1, fx, W, w);
        for (int y = 0; y < H; y++) {
            const float *r0 = src + (size_t)y0[y] * w, *r1 = src + (size_t)y1[y] * w;
            for (int x = 0; x < W; x++) {
                float top = r0[x0[x]] + (r0[x1[x]] - r0[x0[x]]) * fx[x];
                float bot = r1[x0[x]] + (r1[x1[x]] - r1[x0[x]]) * fx[x];
                dst[(size_t)y * W + x] = top + (bot - top) * fy[y];
            }
        }
    }
    free(y0); free(y1); free(x0); free(x1); free(fy); free(fx);
}

void resize_bilinear_half_pixel(float *dst, int H, int W, const float *src, int h, int w) {
    resize_with(dst, H, W, src, h, w, axis_half_pixel);
}

void resize_bilinear_align_corners(float *dst, int H, int W, const float *src, int h, int w) {
    resize_with(dst, H, W, src, h, w, axis_align_corners);
}

void minmax_scale(float *v, size_t n, double eps) {
    if (!n) return;
    float lo = v[0];
    for (size_t i = 1; i < n; i++) if (v[i] < lo) lo = v[i];
    float hi = v[0] - lo;
    for (size_t i = 0; i < n; i++) { v[i] -= lo; if (v[i] > hi) hi = v[i]; }
    float d = (float)(hi + eps);
    for (size_t i = 0; i < n; i++) v[i] /= d;
}

/* scipy.ndimage.gaussian_filter1d: kernel radius = int(truncate * sigma + 0.5),
   weights exp(-x^2 / (2 sigma^2)) normalised to sum 1; mode 'reflect'
   (d c b a | a b c d | d c b a), repeated for radii beyond the signal. */
static int reflect(int i, int n) {
    if (n == 1) return 0;
    int period = 2 * n;
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - 1 - i;
}

/* One axis of the blur over a plane of n lines of len contiguous values, in
   scipy's arithmetic (NI_Correlate1D for a symmetric kernel, in double,
   rounded to float once per axis):
     out_i = k_0 in_i + sum_{j=r..1} (in_{i-j} + in_{i+j}) k_j
   Lines beyond the plane are reflected ('reflect') or are 0 ('constant',
   cval 0; a pair with both lines outside adds nothing and is skipped).
   Whole lines at a time, so the inner loops run over contiguous memory. */
static const float *line_at(const float *src, int s, int n, int len, int zero) {
    if (zero && (s < 0 || s >= n)) return NULL;
    return src + (size_t)(zero ? s : reflect(s, n)) * len;
}

static void blur_lines(float *dst, const float *src, int n, int len, const double *k, int r, int zero,
                       double *acc /* (len) */) {
    for (int i = 0; i < n; i++) {
        const float *c = src + (size_t)i * len;
        for (int x = 0; x < len; x++) acc[x] = (double)c[x] * k[0];
        for (int j = r; j >= 1; j--) {
            const float *a = line_at(src, i - j, n, len, zero), *b = line_at(src, i + j, n, len, zero);
            double kj = k[j];
            if (a && b) for (int x = 0; x < len; x++) acc[x] += ((double)a[x] + b[x]) * kj;
            else if (a || b) { const float *o = a ? a : b; for (int x = 0; x < len; x++) acc[x] += (double)o[x] * kj; }
        }
        for (int x = 0; x < len; x++) dst[(size_t)i * len + x] = (float)acc[x];
    }
}

static void transpose(float *dst /* (w,h) */, const float *src /* (h,w) */, int h, int w) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) dst[(size_t)x * h + y] = src[(size_t)y * w + x];
}

static void blur_chw_with(float *dst, const float *src, int C, int H, int W, double sigma, int zero) {
    size_t plane = (size_t)H * W;
    if (sigma <= 0) { if (dst != src) memcpy(dst, src, sizeof(float) * plane * C); return; }
    int r = (int)(4.0 * sigma + 0.5);
    /* k[j] = k[-j] = exp(-0.5 / sigma^2 * j^2) / sum over -r..r (scipy's _gaussian_kernel1d) */
    double *k = malloc(sizeof(double) * (r + 1)), *acc = malloc(sizeof(double) * (H > W ? H : W)), sum = 0;
    float *a = malloc(sizeof(float) * plane), *b = malloc(sizeof(float) * plane);
    if (!k || !acc || !a || !b) { free(k); free(acc); free(a); free(b); return; }
    double e = -0.5 / (sigma * sigma);
    for (int j = 0; j <= r; j++) k[j] = exp(e * ((double)j * j));
    for (int j = -r; j <= r; j++) sum += k[j < 0 ? -j : j];
    for (int j = 0; j <= r; j++) k[j] /= sum;
    for (int c = 0; c < C; c++) {
        /* scipy filters axis 0 (rows) first, then axis 1 (on the transpose) */
        blur_lines(a, src + c * plane, H, W, k, r, zero, acc);
        transpose(b, a, H, W);
        blur_lines(a, b, W, H, k, r, zero, acc);
        transpose(dst + c * plane, a, W, H);
    }
    free(k); free(acc); free(a); free(b);
}

void gaussian_blur_chw(float *dst, const float *src, int C, int H, int W, double sigma) {
    blur_chw_with(dst, src, C, H, W, sigma, 0);
}

void gaussian_blur_chw_zero(float *dst, const float *src, int C, int H, int W, double sigma) {
    blur_chw_with(dst, src, C, H, W, sigma, 1);
}
