/* localize.c - pointing game and energy inside a lesion mask, the foreground
   of an image and the map's mass outside it (see localize.h). */
#include "eval/localize.h"
#include "io/dataset.h"
#include "io/image.h"
#include "engine/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void localize_resize_nearest(uint8_t *dst, int H, int W, const uint8_t *src, int h, int w) {
    for (int y = 0; y < H; y++) {
        /* floor(y * h / H) in 64-bit integers: exact, and < h since y < H */
        int sy = (int)(((int64_t)y * h) / H);
        for (int x = 0; x < W; x++) {
            int sx = (int)(((int64_t)x * w) / W);
            dst[(size_t)y * W + x] = src[(size_t)sy * w + sx];
        }
    }
}

int localize_load_mask(const char *path, int H, int W, uint8_t *mask, char *err, size_t errlen) {
    if (H < 1 || W < 1) return err_fail(err, errlen, "%s: bad target size %dx%d", path, H, W);
    Image im;
    if (image_load(path, &im, err, errlen)) return -1;
    size_t plane = (size_t)im.h * im.w;
    uint8_t *bin = malloc(plane ? plane : 1);
    if (!bin) { image_free(&im); return err_fail(err, errlen, "%s: out of memory", path); }
    for (size_t i = 0; i < plane; i++) {
        int on = 0;
        for (int c = 0; c < im.c; c++) on |= im.data[(size_t)c * plane + i] > 0.0f;
        bin[i] = (uint8_t)on;
    }
    localize_resize_nearest(mask, H, W, bin, im.h, im.w);
    free(bin);
    image_free(&im);
    int count = 0;
    for (size_t i = 0; i < (size_t)H * W; i++) count += mask[i] != 0;
    return count;
}

static int mask_empty(const uint8_t *mask, size_t n) {
    for (size_t i = 0; i < n; i++) if (mask[i]) return 0;
    return 1;
}

double localize_pointing_hit(const float *map, const uint8_t *mask, size_t n) {
    if (n == 0 || mask_empty(mask, n)) return NAN;
    size_t best = 0;
    int constant = 1;
    for (size_t i = 1; i < n; i++) {
        if (map[i] != map[0]) constant = 0;
        if (map[i] > map[best]) best = i; /* first maximum, as numpy.argmax */
    }
    if (constant) return NAN;
    return mask[best] ? 1.0 : 0.0;
}

/* Share of the map's positive mass on the pixels where (mask != 0) == inside,
   in double; NaN for an empty mask or a map without positive mass. */
static double positive_share(const float *map, const uint8_t *mask, size_t n, int inside) {
    if (n == 0 || mask_empty(mask, n)) return NAN;
    double part = 0, all = 0;
    for (size_t i = 0; i < n; i++) {
        double v = map[i] > 0 ? map[i] : 0.0;
        all += v;
        if ((mask[i] != 0) == inside) part += v;
    }
    return all > 0 ? part / all : NAN;
}

double localize_energy(const float *map, const uint8_t *mask, size_t n) { return positive_share(map, mask, n, 1); }

/* ---------------- foreground and outside mass ---------------- */

void localize_gray_from_input(float *gray, const float *x, int C, size_t plane, const float *mean, const float *std) {
    for (size_t i = 0; i < plane; i++) {
        double sum = 0;
        for (int c = 0; c < C; c++) {
            double v = (double)x[(size_t)c * plane + i] * std[c] + mean[c];
            sum += isfinite(v) ? (v < 0 ? 0 : v > 1 ? 1 : v) : 0;
        }
        gray[i] = (float)(sum / C);
    }
}

double localize_fg_sigma(int H, int W) {
    double s = (H > W ? H : W) / LOCALIZE_FG_SIGMA_DIVISOR;
    return s > LOCALIZE_FG_SIGMA_MIN ? s : LOCALIZE_FG_SIGMA_MIN;
}

static size_t fg_pixels(int H, int W) {
    if (H < 1 || W < 1) return 0;
    size_t n = (size_t)H * W;
    return n <= LOCALIZE_FG_MAX_PIXELS ? n : 0;
}

/* Normalised Gaussian weights w[0..r] for the offsets 0..r (and -1..-r). */
static double *gauss_weights(double sigma, int *radius) {
    int r = (int)(LOCALIZE_FG_TRUNCATE * sigma + 0.5);
    double *w = malloc(sizeof(double) * ((size_t)r + 1));
    if (!w) return NULL;
    double a = -0.5 / (sigma * sigma), sum = 0;
    for (int j = 0; j <= r; j++) w[j] = exp(a * ((double)j * j));
    for (int j = -r; j <= r; j++) sum += w[j < 0 ? -j : j]; /* numpy's order for short kernels */
    for (int j = 0; j <= r; j++) w[j] /= sum;
    *radius = r;
    return w;
}

static int clamp_index(long i, int n) { return i < 0 ? 0 : i >= n ? n - 1 : (int)i; }

/* One pass of the symmetric kernel along lines of `len` samples `step`
   apart (scipy's correlate1d order: centre, then the pairs from the
   outermost inwards). src and dst hold `count` lines starting `next` apart. */
static void smooth_lines(double *dst, const double *src, int count, size_t next, int len, size_t step,
                         const double *w, int r) {
    for (int l = 0; l < count; l++) {
        const double *s = src + (size_t)l * next;
        double *d = dst + (size_t)l * next;
        for (int i = 0; i < len; i++) {
            double acc = s[(size_t)i * step] * w[0];
            for (int j = r; j >= 1; j--)
                acc += (s[(size_t)clamp_index((long)i - j, len) * step] + s[(size_t)clamp_index((long)i + j, len) * step]) * w[j];
            d[(size_t)i * step] = acc;
        }
    }
}

/* Smoothing with a work buffer of n doubles supplied by the caller. */
static int smooth_into(const float *gray01, int H, int W, double *out, double *work) {
    int r;
    double *w = gauss_weights(localize_fg_sigma(H, W), &r);
    if (!w) return -1;
    size_t n = (size_t)H * W;
    for (size_t i = 0; i < n; i++) work[i] = isfinite(gray01[i]) ? gray01[i] : 0.0;
    smooth_lines(out, work, W, 1, H, (size_t)W, w, r); /* down the columns (axis 0) */
    memcpy(work, out, sizeof(double) * n);
    smooth_lines(out, work, H, (size_t)W, W, 1, w, r); /* along the rows (axis 1) */
    free(w);
    return 0;
}

int localize_fg_smooth(const float *gray01, int H, int W, double *out) {
    size_t n = fg_pixels(H, W);
    if (!n || !gray01 || !out) return -1;
    double *work = malloc(sizeof(double) * n);
    int rc = work ? smooth_into(gray01, H, W, out, work) : -1;
    free(work);
    return rc;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* LOCALIZE_FG_THRESHOLD x the LOCALIZE_FG_QUANTILE value of v (sorts sorted, a copy). */
static double fg_threshold(const double *v, double *sorted, size_t n) {
    memcpy(sorted, v, sizeof(double) * n);
    qsort(sorted, n, sizeof(double), cmp_double);
    size_t k = (size_t)floor(LOCALIZE_FG_QUANTILE * (double)(n - 1));
    return LOCALIZE_FG_THRESHOLD * sorted[k];
}

/* Flood fill from seed over the 4-neighbours holding `from`, setting them to
   `to` (from != to; a[seed] must hold from). Returns the pixels filled. */
static size_t flood(uint8_t *a, int H, int W, size_t seed, uint8_t from, uint8_t to, uint32_t *queue) {
    size_t head = 0, tail = 0;
    a[seed] = to;
    queue[tail++] = (uint32_t)seed;
    while (head < tail) {
        size_t i = queue[head++], x = i % (size_t)W;
        size_t nb[4];
        int k = 0;
        if (x > 0) nb[k++] = i - 1;
        if (x + 1 < (size_t)W) nb[k++] = i + 1;
        if (i >= (size_t)W) nb[k++] = i - W;
        if (i + W < (size_t)H * W) nb[k++] = i + W;
        for (int q = 0; q < k; q++)
            if (a[nb[q]] == from) { a[nb[q]] = to; queue[tail++] = (uint32_t)nb[q]; }
    }
    return tail;
}

/* a: 1 foreground, 0 background -> only the largest 4-connected component
   (the first in raster order on a tie) stays 1. */
static void keep_largest_component(uint8_t *a, int H, int W, uint32_t *queue) {
    size_t n = (size_t)H * W, best = n, best_size = 0;
    for (size_t i = 0; i < n; i++) {
        if (a[i] != 1) continue;
        size_t size = flood(a, H, W, i, 1, 2, queue);
        if (size > best_size) { best_size = size; best = i; }
    }
    if (best < n) flood(a, H, W, best, 2, 3, queue);
    for (size_t i = 0; i < n; i++) a[i] = a[i] == 3;
}

/* a: 1 foreground, 0 background -> background not connected to the border becomes 1. */
static void fill_holes(uint8_t *a, int H, int W, uint32_t *queue) {
    size_t n = (size_t)H * W;
    for (size_t i = 0; i < n; i++) {
        size_t y = i / W, x = i % W;
        int border = y == 0 || y + 1 == (size_t)H || x == 0 || x + 1 == (size_t)W;
        if (border && a[i] == 0) flood(a, H, W, i, 0, 2, queue);
    }
    for (size_t i = 0; i < n; i++) a[i] = a[i] != 2;
}

static int is_constant(const float *g, size_t n) {
    float g0 = isfinite(g[0]) ? g[0] : 0;
    for (size_t i = 1; i < n; i++)
        if ((isfinite(g[i]) ? g[i] : 0) != g0) return 0;
    return 1;
}

int localize_foreground(const float *gray01, int H, int W, uint8_t *fg) {
    size_t n = fg_pixels(H, W);
    if (!n || !gray01 || !fg) return -1;
    double *smooth = malloc(sizeof(double) * n), *work = malloc(sizeof(double) * n);
    uint32_t *queue = malloc(sizeof(uint32_t) * n);
    uint8_t *a = malloc(n);
    int count = -1;
    if (smooth && work && queue && a && !smooth_into(gray01, H, W, smooth, work)) {
        count = 0;
        memset(a, 0, n);
        if (!is_constant(gray01, n)) {
            double t = fg_threshold(smooth, work, n);
            for (size_t i = 0; i < n; i++) a[i] = smooth[i] > t;
            keep_largest_component(a, H, W, queue);
            fill_holes(a, H, W, queue);
            for (size_t i = 0; i < n; i++) count += a[i];
        }
        memcpy(fg, a, n);
    }
    free(smooth); free(work); free(queue); free(a);
    return count;
}

double localize_outside_mass(const float *map, const uint8_t *fg, size_t n) { return positive_share(map, fg, n, 0); }

int localize_lesion_beside(const char *image_path, int H, int W, uint8_t **mask, char *path, size_t n, char *err,
                           size_t errlen) {
    *mask = NULL;
    if (!dataset_mask_path(image_path, path, n)) { if (n) path[0] = 0; return 0; }
    uint8_t *m = malloc((size_t)H * W);
    int count = m ? localize_load_mask(path, H, W, m, err, errlen) : err_fail(err, errlen, "out of memory");
    if (count > 0) *mask = m;
    else free(m);
    return count;
}
