/* xrai.c - XRAI region attribution (Kapishnikov et al. 2019, "XRAI: Better
   Attributions Through Regions", arXiv:1906.02825), as PAIR-code/saliency
   saliency/core/xrai.py (commit 7b72b67: XRAI.GetMaskWithDetails with the
   'full' algorithm, _get_segments_felzenszwalb, XRAI._xrai).

   1. Attribution: Integrated Gradients of the target logit, 100 steps,
      alpha_i = i/(steps-1) (both ends), from each of two constant baselines
      b = min(x) and b = max(x) (the minimum and maximum over the WHOLE input,
      all channels, as PAIR's _make_baselines): ig_b = (x - b) * sum_i
      grad F(b + alpha_i (x - b)) / steps; attr = mean over the baselines,
      then the maximum over channels -> (H,W). With --baseline FILE the
      file is the only baseline (PAIR's `baselines` argument).
   2. Segments (attrib/xrai.h, xrai_masks): Felzenszwalb on x rescaled to
      [-1,1] (a constant input, NaN in PAIR, becomes 0) and resized to
      224x224 as skimage's cubic resize, reimplemented bit for bit in
      attrib/xrai_resize.c (at 224 it moves values by ~1e-16 only, but it
      runs there too, so the segments are PAIR's), scales 50, 100, 150,
      250, 500, 1200, sigma 0.8, min_size 150; one mask per segment, dilated
      by a disk of radius 5. Duplicated masks are kept, as PAIR keeps them:
      the second copy of a chosen mask adds no pixels and is dropped by the
      min_pixel_diff rule.
   3. Greedy (xrai_greedy): repeatedly, over the remaining masks in order,
      drop those adding fewer than 50 new pixels and take the first with the
      highest gain = mean attr over its new pixels; its new pixels get that
      gain as their map value. When no mask remains, pixels still uncovered
      get the mean attr over them.
   Output: R->map (H,W) the gains; R->attr (C,H,W) the averaged IG
   attribution before the channel maximum.
   Not exposed: PAIR's area_threshold (1.0: cover the whole image) and its
   'fast' algorithm.
   Cost: 2 x steps forward and backward passes (200 with the defaults; 100
   with a baseline file), batched. The segmentation (6 Felzenszwalb runs at
   224x224) and the greedy loop (each round reads every pixel of the
   remaining masks, ~10 x H x W) take well under a second next to them. */
#include "attrib/attrib.h"
#include "attrib/defaults.h"
#include "attrib/felzenszwalb.h"
#include "attrib/xrai.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double xrai_scales[XRAI_N_SCALES] = {50, 100, 150, 250, 500, 1200};
#define XRAI_SIGMA 0.8
#define XRAI_MIN_SIZE 150
#define XRAI_DILATION 5
#define XRAI_MIN_PIXEL_DIFF 50

/* ---- segments ---- */

/* PAIR's _normalize_image: (x - min) / (max - min) * 2 + (-1) in float32
   over the whole input; a constant input (0/0 in numpy) becomes 0 here. */
static void normalize_unit(float *dst, const float *x, size_t n) {
    float lo = x[0], hi = x[0];
    for (size_t i = 1; i < n; i++) { if (x[i] < lo) lo = x[i]; if (x[i] > hi) hi = x[i]; }
    float range = hi - lo;
    for (size_t i = 0; i < n; i++) dst[i] = range > 0 ? (x[i] - lo) / range * 2.0f + -1.0f : 0.0f;
}

/* Labels (H,W) of one scale at the input size, from the 224x224 image. */
static int segment_scale(int32_t *labels, const float *seg_img, int C, int H, int W, double scale) {
    const int S = XRAI_SEG_SIZE;
    if (H == S && W == S) return fh_segment(seg_img, C, S, S, scale, XRAI_SIGMA, XRAI_MIN_SIZE, labels);
    int32_t *small = malloc(sizeof(int32_t) * S * S);
    if (!small) return eng_fail("out of memory for %dx%d labels", S, S);
    int n = fh_segment(seg_img, C, S, S, scale, XRAI_SIGMA, XRAI_MIN_SIZE, small);
    if (n > 0) xrai_resize_labels(labels, H, W, small, S, S);
    free(small);
    return n;
}

/* A growing list of masks. */
typedef struct { XraiMasks *M; int64_t npix, cap; } MaskBuilder;

static int push_pixel(MaskBuilder *b, int32_t i) {
    if (b->npix == b->cap) {
        int64_t cap = b->cap ? 2 * b->cap : 1 << 16;
        int32_t *p = realloc(b->M->pix, sizeof(int32_t) * (size_t)cap);
        if (!p) return -1;
        b->M->pix = p; b->cap = cap;
    }
    b->M->pix[b->npix++] = i;
    return 0;
}

/* Stamps skimage's disk(r) = {dy^2 + dx^2 <= r^2} around (y,x) into scratch,
   growing the box [y0,y1] x [x0,x1]. */
static void stamp_disk(uint8_t *scratch, int H, int W, int y, int x, int box[4]) {
    const int r = XRAI_DILATION;
    for (int dy = -r; dy <= r; dy++) {
        int yy = y + dy;
        if (yy < 0 || yy >= H) continue;
        int half = 0;
        while ((half + 1) * (half + 1) + dy * dy <= r * r) half++;
        int xa = x - half < 0 ? 0 : x - half, xb = x + half >= W ? W - 1 : x + half;
        memset(scratch + (size_t)yy * W + xa, 1, (size_t)(xb - xa + 1));
        if (yy < box[0]) box[0] = yy;
        if (yy > box[1]) box[1] = yy;
        if (xa < box[2]) box[2] = xa;
        if (xb > box[3]) box[3] = xb;
    }
}

/* Appends the masks of labels lo..hi (H,W), each dilated by disk(5), in
   label order: PAIR's range(seg.min(), seg.max() + 1) after the order-0
   resize, so a label the resize lost inside that range gives an empty mask,
   as in PAIR (which then drops it for adding no pixels). scratch (H,W)
   zeroed. Returns the number of masks appended, or -1. */
static int append_dilated(MaskBuilder *b, const int32_t *labels, int H, int W, uint8_t *scratch) {
    XraiMasks *M = b->M;
    size_t hw = (size_t)H * W;
    int32_t lo = labels[0], hi = labels[0];
    for (size_t i = 1; i < hw; i++) { if (labels[i] < lo) lo = labels[i]; if (labels[i] > hi) hi = labels[i]; }
    int n = hi - lo + 1;
    int64_t *start = realloc(M->start, sizeof(int64_t) * (size_t)(M->n + n + 1));
    int32_t *order = malloc(sizeof(int32_t) * hw), *first = calloc((size_t)n + 1, sizeof(int32_t));
    int32_t *fill = malloc(sizeof(int32_t) * ((size_t)n + 1));
    if (start) M->start = start;
    int rc = (!start || !order || !first || !fill) ? -1 : 0;
    if (!rc) { /* pixels of each label in raster order: a counting sort */
        for (size_t i = 0; i < hw; i++) first[labels[i] - lo + 1]++;
        for (int l = 0; l < n; l++) first[l + 1] += first[l];
        memcpy(fill, first, sizeof(int32_t) * ((size_t)n + 1));
        for (size_t i = 0; i < hw; i++) order[fill[labels[i] - lo]++] = (int32_t)i;
    }
    for (int l = 0; l < n && !rc; l++) {
        int box[4] = {H, -1, W, -1};
        for (int k = first[l]; k < first[l + 1]; k++) stamp_disk(scratch, H, W, order[k] / W, order[k] % W, box);
        for (int y = box[0]; y <= box[1] && !rc; y++)
            for (int x = box[2]; x <= box[3] && !rc; x++) {
                size_t i = (size_t)y * W + x;
                if (scratch[i]) { scratch[i] = 0; rc = push_pixel(b, (int32_t)i); }
            }
        M->n++;
        M->start[M->n] = b->npix;
    }
    free(order); free(first); free(fill);
    return rc ? -1 : n;
}

void xrai_masks_free(XraiMasks *M) {
    free(M->start);
    free(M->pix);
    memset(M, 0, sizeof *M);
}

int xrai_masks(XraiMasks *M, const float *x, int C, int H, int W) {
    memset(M, 0, sizeof *M);
    size_t n = (size_t)C * H * W, hw = (size_t)H * W;
    float *unit = malloc(sizeof(float) * n), *seg = malloc(sizeof(float) * C * XRAI_SEG_SIZE * XRAI_SEG_SIZE);
    int32_t *labels = malloc(sizeof(int32_t) * hw);
    uint8_t *scratch = calloc(hw, 1);
    M->start = calloc(1, sizeof(int64_t));
    MaskBuilder b = {M, 0, 0};
    int rc = (!unit || !seg || !labels || !scratch || !M->start) ? -1 : 0;
    if (!rc) { /* skimage's cubic resize runs at 224x224 too, where it is the identity but for ~1e-16 */
        normalize_unit(unit, x, n);
        rc = xrai_resize_cubic(seg, XRAI_SEG_SIZE, XRAI_SEG_SIZE, unit, C, H, W);
    }
    if (rc) eng_set_error("xrai: out of memory for the segments of a %dx%d image", H, W);
    for (int s = 0; s < XRAI_N_SCALES && !rc; s++) {
        int nseg = segment_scale(labels, seg, C, H, W, xrai_scales[s]);
        if (nseg < 0) { rc = eng_fail("xrai: segmentation failed: %s", eng_last_error()); break; }
        int nm = append_dilated(&b, labels, H, W, scratch);
        if (nm < 0) { eng_set_error("xrai: out of memory for the masks"); rc = -1; }
        M->per_scale[s] = nm;
    }
    free(unit); free(seg); free(labels); free(scratch);
    if (rc) xrai_masks_free(M);
    return rc;
}

/* ---- the greedy region selection ---- */

/* New pixels of mask m (not in cur) and their attribution sum. */
static int64_t mask_gain(const XraiMasks *M, int m, const uint8_t *cur, const float *attr, double *sum) {
    int64_t cnt = 0;
    double s = 0;
    for (int64_t k = M->start[m]; k < M->start[m + 1]; k++) {
        int32_t i = M->pix[k];
        if (!cur[i]) { cnt++; s += attr[i]; }
    }
    *sum = s;
    return cnt;
}

/* One round of PAIR's loop: drops masks adding < 50 pixels, returns the
   first mask of highest gain (or -1 when none is left). */
static int best_mask(const XraiMasks *M, uint8_t *alive, const uint8_t *cur, const float *attr, double *gain) {
    int best = -1;
    double bg = -INFINITY;
    for (int m = 0; m < M->n; m++) {
        if (!alive[m]) continue;
        double s;
        int64_t cnt = mask_gain(M, m, cur, attr, &s);
        if (cnt < XRAI_MIN_PIXEL_DIFF) { alive[m] = 0; continue; }
        double g = s / (double)cnt;
        if (g > bg) { bg = g; best = m; }
    }
    *gain = bg;
    return best;
}

typedef struct { double gain; int order; } Region;

static int cmp_region(const void *a, const void *b) { /* gain descending, stable */
    const Region *p = a, *q = b;
    if (p->gain != q->gain) return p->gain > q->gain ? -1 : 1;
    return p->order - q->order;
}

/* PAIR's integer segments: regions ranked by gain (stable), the uncovered
   rest last. region (H,W) holds each pixel's region index in the order
   chosen, -1 if uncovered. */
static int rank_regions(int32_t *ranks, const int32_t *region, const double *gains, int nreg, size_t hw) {
    Region *r = malloc(sizeof(Region) * (nreg ? nreg : 1));
    int32_t *rank_of = malloc(sizeof(int32_t) * (nreg ? nreg : 1));
    if (!r || !rank_of) { free(r); free(rank_of); return -1; }
    for (int k = 0; k < nreg; k++) { r[k].gain = gains[k]; r[k].order = k; }
    qsort(r, nreg, sizeof *r, cmp_region);
    for (int k = 0; k < nreg; k++) rank_of[r[k].order] = k + 1;
    for (size_t i = 0; i < hw; i++) ranks[i] = region[i] >= 0 ? rank_of[region[i]] : nreg + 1;
    free(r); free(rank_of);
    return 0;
}

int xrai_greedy(float *map, int32_t *ranks, const float *attr, int H, int W, const XraiMasks *M,
                FILE *narrate) {
    size_t hw = (size_t)H * W;
    uint8_t *cur = calloc(hw, 1), *alive = malloc(M->n ? M->n : 1);
    int32_t *region = malloc(sizeof(int32_t) * hw);
    double *gains = malloc(sizeof(double) * (M->n ? M->n : 1));
    if (!cur || !alive || !region || !gains) { free(cur); free(alive); free(region); free(gains); return -1; }
    memset(alive, 1, M->n);
    for (size_t i = 0; i < hw; i++) region[i] = -1;
    int nreg = 0;
    for (;;) {
        double g;
        int m = best_mask(M, alive, cur, attr, &g);
        if (m < 0) break;
        int64_t added = 0;
        for (int64_t k = M->start[m]; k < M->start[m + 1]; k++) {
            int32_t i = M->pix[k];
            if (cur[i]) continue;
            cur[i] = 1; region[i] = nreg; map[i] = (float)g; added++;
        }
        alive[m] = 0;
        gains[nreg] = g;
        if (narrate && nreg < 5) {
            int sc = 0, seg = m;
            while (sc < XRAI_N_SCALES - 1 && seg >= M->per_scale[sc]) seg -= M->per_scale[sc++];
            fprintf(narrate, "  region %d: segment %d of scale %g, %lld new pixels, gain (their mean attribution) %.4g\n",
                    nreg + 1, seg, xrai_scales[sc], (long long)added, g);
        }
        nreg++;
    }
    double s = 0;
    int64_t cnt = 0;
    for (size_t i = 0; i < hw; i++) if (!cur[i]) { s += attr[i]; cnt++; }
    for (size_t i = 0; i < hw; i++) if (!cur[i]) map[i] = (float)(s / (double)cnt);
    if (narrate)
        fprintf(narrate, "  %d regions chosen; %lld pixels left uncovered%s\n", nreg, (long long)cnt,
                cnt ? " get their mean attribution" : "");
    int rc = ranks ? rank_regions(ranks, region, gains, nreg, hw) : 0;
    free(cur); free(alive); free(region); free(gains);
    return rc ? -1 : nreg;
}

/* ---- the attribution: IG from each baseline, batched ---- */

/* The baselines: min(x) and max(x) over the whole input, or the file. */
static int make_baselines(const AttribParams *P, float **base, int *nb) {
    size_t n = (size_t)P->C * P->H * P->W;
    if (P->baseline == BASELINE_FILE && P->baseline_data) {
        *nb = 1;
        *base = malloc(sizeof(float) * n);
        if (*base) memcpy(*base, P->baseline_data, sizeof(float) * n);
        return *base ? 0 : -1;
    }
    float lo = P->x[0], hi = P->x[0];
    for (size_t i = 1; i < n; i++) { if (P->x[i] < lo) lo = P->x[i]; if (P->x[i] > hi) hi = P->x[i]; }
    *nb = 2;
    *base = malloc(sizeof(float) * 2 * n);
    if (!*base) return -1;
    for (size_t i = 0; i < n; i++) { (*base)[i] = lo; (*base)[n + i] = hi; }
    return 0;
}

/* Path point j of baseline b: b + alpha (x - b) in float32 as numpy
   (alpha is cast to float32 first: numpy's scalar casting). */
static void path_point(float *dst, const float *x, const float *b, int j, int steps, size_t n) {
    float alpha = steps > 1 ? (float)((double)j / (double)(steps - 1)) : 1.0f;
    for (size_t i = 0; i < n; i++) dst[i] = b[i] + alpha * (x[i] - b[i]);
}

/* attr (C,H,W) = mean over baselines of (x - b) * mean_j grad(path_j).
   f_end gets F(baseline) and F(x) per baseline (the path's ends). */
static int ig_attribution(AttribParams *P, AttribResult *R, const float *base, int nb, int steps, float *attr,
                          double *f_end) {
    size_t n = (size_t)P->C * P->H * P->W;
    int K = eng_model_n_classes(P->model), B = attrib_batch_size(P), total = nb * steps;
    float *xs = malloc(sizeof(float) * n * B), *gr = malloc(sizeof(float) * n * B);
    float *lg = malloc(sizeof(float) * (size_t)K * B);
    double *acc = calloc(n * nb, sizeof(double));
    int rc = (!xs || !gr || !lg || !acc) ? -1 : 0;
    for (int i0 = 0; i0 < total && !rc; i0 += B) {
        int cnt = total - i0 < B ? total - i0 : B;
        for (int k = 0; k < cnt; k++)
            path_point(xs + n * k, P->x, base + n * ((i0 + k) / steps), (i0 + k) % steps, steps, n);
        rc = attrib_grads(P, R, xs, cnt, gr, lg, NULL);
        for (int k = 0; k < cnt && !rc; k++) {
            int b = (i0 + k) / steps, j = (i0 + k) % steps;
            double *a = acc + n * b;
            const float *g = gr + n * k;
            for (size_t i = 0; i < n; i++) a[i] += g[i];
            if (j == 0) f_end[2 * b] = lg[(size_t)k * K + P->target];
            if (j == steps - 1) f_end[2 * b + 1] = lg[(size_t)k * K + P->target];
        }
        attrib_progress(P, i0 + cnt, total);
    }
    for (size_t i = 0; i < n && !rc; i++) {
        double s = 0;
        for (int b = 0; b < nb; b++) s += (double)(P->x[i] - base[n * b + i]) * acc[n * b + i] / steps;
        attr[i] = (float)(s / nb);
    }
    free(xs); free(gr); free(lg); free(acc);
    return rc;
}

static void max_over_channels(float *dst, const float *attr, int C, size_t hw) {
    for (size_t i = 0; i < hw; i++) {
        float m = attr[i];
        for (int c = 1; c < C; c++) if (attr[c * hw + i] > m) m = attr[c * hw + i];
        dst[i] = m;
    }
}

static void narrate_ig(FILE *f, const AttribParams *P, const float *base, int nb, int steps, const double *f_end,
                       const float *attr) {
    size_t n = (size_t)P->C * P->H * P->W;
    double s = 0;
    for (size_t i = 0; i < n; i++) s += attr[i];
    fprintf(f, "xrai: Integrated Gradients, %d steps from %d baseline%s:\n", steps, nb, nb > 1 ? "s" : "");
    for (int b = 0; b < nb; b++)
        fprintf(f, "  baseline %d (value %.4g at pixel 0): F(x) - F(baseline) = %.4f - %.4f = %.4f\n", b + 1,
                base[n * b], f_end[2 * b + 1], f_end[2 * b], f_end[2 * b + 1] - f_end[2 * b]);
    fprintf(f, "  sum of the averaged attribution %.4f (completeness: the mean of the differences above)\n", s);
}

int attrib_xrai(AttribParams *P, AttribResult *R) {
    double t0 = attrib_now();
    if (attrib_result_init(R, P, 1)) return -1;
    int steps = (int)attrib_param_or(P, AP_STEPS, XRAI_STEPS), nb = 0;
    size_t hw = (size_t)P->H * P->W;
    float *base = NULL, *attr_hw = malloc(sizeof(float) * hw);
    double f_end[4] = {0};
    XraiMasks M = {0};
    int rc = (!attr_hw || make_baselines(P, &base, &nb)) ? -1 : 0;
    if (!rc) rc = ig_attribution(P, R, base, nb, steps, R->attr, f_end);
    if (!rc && P->narrate) narrate_ig(P->narrate, P, base, nb, steps, f_end, R->attr);
    if (!rc) {
        max_over_channels(attr_hw, R->attr, P->C, hw);
        rc = xrai_masks(&M, P->x, P->C, P->H, P->W);
    }
    int nreg = 0;
    if (!rc) {
        if (P->narrate) {
            fprintf(P->narrate, "xrai: Felzenszwalb segments per scale (50,100,150,250,500,1200):");
            for (int s = 0; s < XRAI_N_SCALES; s++) fprintf(P->narrate, " %d", M.per_scale[s]);
            fprintf(P->narrate, "; %d masks dilated by a disk of radius %d\n", M.n, XRAI_DILATION);
        }
        nreg = xrai_greedy(R->map, NULL, attr_hw, P->H, P->W, &M, P->narrate);
        if (nreg < 0) rc = -1;
    }
    if (!rc)
        snprintf(R->notes, sizeof R->notes,
                 "segments per scale %d,%d,%d,%d,%d,%d; %d regions chosen; IG %d steps from %s",
                 M.per_scale[0], M.per_scale[1], M.per_scale[2], M.per_scale[3], M.per_scale[4], M.per_scale[5],
                 nreg, steps, nb == 2 ? "min(x) and max(x)" : "the baseline file");
    xrai_masks_free(&M);
    free(base); free(attr_hw);
    R->seconds = attrib_now() - t0;
    if (rc) attrib_result_free(R);
    return rc;
}
