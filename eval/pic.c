/* pic.c - SIC and AIC as PAIR's saliency/metrics/pic.py computes them
   (thresholds, random mask, Delaunay blur, information, skip rules,
   normalisation, running maximum, numpy.interp curve, trapezoid AUC).
   The numpy/scipy semantics each step mirrors are stated in pic.h. */
#include "eval/pic.h"
#include "engine/ops.h"
#include "eval/delaunay.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const double pic_thresholds[PIC_N_THRESHOLDS] = {0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.07,
                                                 0.10,  0.13, 0.21, 0.34, 0.5,  0.75};

const char *pic_skip_name(PicSkip s) {
    switch (s) {
    case PIC_OK: return NULL;
    case PIC_SKIP_MIN_PRED: return "min_pred";
    case PIC_SKIP_BLUR_INFO: return "blurred_info";
    case PIC_SKIP_BLUR_PRED: return "blurred_pred";
    }
    return "?";
}

/* ---- the curve ---- */

double pic_curve_x(int i) {
    /* numpy.linspace(0, 1, 1000, endpoint=False): arange(1000) * step + 0, step = 1/1000 */
    return i >= PIC_N_CURVE - 1 ? 1.0 : (double)i * (1.0 / 1000.0);
}

/* numpy's pairwise summation (add.reduce on a contiguous float64 array):
   blocks of at most 128 summed with 8 accumulators, larger runs split in
   halves rounded to a multiple of 8. */
static double pairwise_sum(const double *a, size_t n) {
    if (n < 8) {
        double s = 0.;
        for (size_t i = 0; i < n; i++) s += a[i];
        return s;
    }
    if (n <= 128) {
        double r[8];
        for (int k = 0; k < 8; k++) r[k] = a[k];
        size_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int k = 0; k < 8; k++) r[k] += a[i + k];
        double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) s += a[i];
        return s;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

/* add.reduce: the first element, plus the pairwise sum of the rest. */
static double numpy_sum(const double *a, size_t n) { return n ? a[0] + pairwise_sum(a + 1, n - 1) : 0.0; }

double pic_trapz(const double *y) {
    double t[PIC_N_CURVE - 1];
    for (int i = 0; i < PIC_N_CURVE - 1; i++) {
        double d = pic_curve_x(i + 1) - pic_curve_x(i);
        t[i] = d * (y[i + 1] + y[i]) / 2.0;
    }
    return numpy_sum(t, PIC_N_CURVE - 1);
}

/* numpy.interp(x, xs, ys) for sorted xs (compiled_base.c arr_interp):
   j = the last index with xs[j] <= x. */
static double interp_one(const double *xs, const double *ys, int n, double x) {
    if (x > xs[n - 1]) return ys[n - 1];
    if (x < xs[0]) return ys[0];
    int j = 0;
    while (j + 1 < n && xs[j + 1] <= x) j++;
    if (j == n - 1 || xs[j] == x) return ys[j];
    double slope = (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j]);
    double v = slope * (x - xs[j]) + ys[j];
    if (isnan(v)) {
        v = slope * (x - xs[j + 1]) + ys[j + 1];
        if (isnan(v) && ys[j] == ys[j + 1]) v = ys[j];
    }
    return v;
}

double pic_interp_curve(const double *px, const double *py, int n, double *curve) {
    double xs[64], ys[64];
    if (n < 1 || n > 64) return NAN;
    /* stable insertion sort by x (scipy interp1d sorts with mergesort) */
    for (int i = 0; i < n; i++) {
        int j = i;
        while (j > 0 && xs[j - 1] > px[i]) { xs[j] = xs[j - 1]; ys[j] = ys[j - 1]; j--; }
        xs[j] = px[i];
        ys[j] = py[i];
    }
    for (int i = 0; i < PIC_N_CURVE - 1; i++) curve[i] = interp_one(xs, ys, n, pic_curve_x(i));
    curve[PIC_N_CURVE - 1] = 1.0;
    return pic_trapz(curve);
}

/* np.clip(v, 0, 1): NaN stays NaN. */
static double clip01(double v) { return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v; }

/* PIC's three skip rules, in pic.py's order, on the curve's base values. */
static void skip_rule(PicCurve *pc, double min_pred) {
    pc->skip = PIC_OK;
    pc->reason[0] = 0;
    if (pc->pred_orig < min_pred) {
        pc->skip = PIC_SKIP_MIN_PRED;
        snprintf(pc->reason, sizeof pc->reason, "prediction on the original image %.6g is below min_pred %.6g",
                 pc->pred_orig, min_pred);
    } else if (pc->info_blur >= pc->info_orig) {
        pc->skip = PIC_SKIP_BLUR_INFO;
        snprintf(pc->reason, sizeof pc->reason,
                 "information of the fully blurred image %.10g is not below the original's %.10g", pc->info_blur,
                 pc->info_orig);
    } else if (pc->pred_blur >= pc->pred_orig) {
        pc->skip = PIC_SKIP_BLUR_PRED;
        snprintf(pc->reason, sizeof pc->reason,
                 "prediction on the fully blurred image %.6g is not below the original's %.6g", pc->pred_blur,
                 pc->pred_orig);
    }
}

void pic_curve_compute(PicCurve *pc, double min_pred) {
    skip_rule(pc, min_pred);
    double m = 0.0; /* Python's max(m, y): keeps m unless y > m */
    for (int i = 0; i < PIC_N_THRESHOLDS; i++) {
        pc->x[i] = clip01((pc->info[i] - pc->info_blur) / (pc->info_orig - pc->info_blur));
        double y = clip01((pc->pred[i] - pc->pred_blur) / (pc->pred_orig - pc->pred_blur));
        if (y > m) m = y;
        pc->y[i] = m;
    }
    if (pc->skip != PIC_OK) {
        for (int i = 0; i < PIC_N_CURVE; i++) pc->curve[i] = NAN;
        pc->auc = NAN;
        return;
    }
    double px[PIC_N_THRESHOLDS + 2], py[PIC_N_THRESHOLDS + 2];
    for (int i = 0; i < PIC_N_THRESHOLDS; i++) { px[i] = pc->x[i]; py[i] = pc->y[i]; }
    px[PIC_N_THRESHOLDS] = 0.0; py[PIC_N_THRESHOLDS] = 0.0;
    px[PIC_N_THRESHOLDS + 1] = 1.0; py[PIC_N_THRESHOLDS + 1] = 1.0;
    pc->auc = pic_interp_curve(px, py, PIC_N_THRESHOLDS + 2, pc->curve);
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double pic_aggregate(const double *curves, int n, int median, double *out) {
    if (n < 1) {
        for (int i = 0; i < PIC_N_CURVE; i++) out[i] = NAN;
        return NAN;
    }
    double *col = malloc(sizeof(double) * n);
    if (!col) return NAN;
    for (int i = 0; i < PIC_N_CURVE; i++) {
        if (median) {
            for (int k = 0; k < n; k++) col[k] = curves[(size_t)k * PIC_N_CURVE + i];
            qsort(col, n, sizeof(double), cmp_double);
            out[i] = n % 2 ? col[n / 2] : (col[n / 2 - 1] + col[n / 2]) / 2.0;
        } else {
            double s = 0; /* numpy mean over axis 0: row by row, then / n */
            for (int k = 0; k < n; k++) s += curves[(size_t)k * PIC_N_CURVE + i];
            out[i] = s / n;
        }
    }
    free(col);
    return pic_trapz(out);
}

/* ---- thresholds ---- */

float pic_quantile_f32(const float *sorted, size_t n, double q) {
    if (!n) return NAN;
    double vi = (double)(n - 1) * q; /* numpy 'linear': virtual index (n - 1) q */
    size_t i0, i1;
    double gamma;
    if (vi >= (double)(n - 1)) { i0 = i1 = n - 1; gamma = 0; }
    else if (vi < 0) { i0 = i1 = 0; gamma = 0; }
    else {
        double f = floor(vi);
        i0 = (size_t)f;
        i1 = i0 + 1;
        gamma = vi - f;
    }
    float a = sorted[i0], b = sorted[i1];
    float diff = b - a; /* float32, like numpy's subtract of two float32 */
    double r = gamma >= 0.5 ? (double)b - (double)diff * (1.0 - gamma) : (double)a + (double)diff * gamma;
    return (float)r;
}

void pic_threshold_mask(uint8_t *known, const float *map, const float *sorted, size_t n, double t,
                        const uint8_t *random_mask) {
    float q = pic_quantile_f32(sorted, n, 1.0 - t);
    for (size_t i = 0; i < n; i++) known[i] = (map[i] >= q) || (random_mask && random_mask[i]);
}

/* ---- images ---- */

void pic_input_to_u8(uint8_t *img, const float *x, int C, int H, int W, const float *mean, const float *std) {
    size_t plane = (size_t)H * W;
    for (int c = 0; c < C; c++)
        for (size_t i = 0; i < plane; i++) {
            float v = (x[c * plane + i] * std[c] + mean[c]) * 255.0f;
            v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
            img[i * C + c] = (uint8_t)rintf(v == v ? v : 0.0f);
        }
}

void pic_u8_to_input(float *x, const uint8_t *img, int C, int H, int W, const float *mean, const float *std) {
    size_t plane = (size_t)H * W;
    for (int c = 0; c < C; c++)
        for (size_t i = 0; i < plane; i++) x[c * plane + i] = ((float)img[i * C + c] / 255.0f - mean[c]) / std[c];
}

int pic_random_mask(uint8_t *mask, int H, int W, double fraction, uint64_t seed) {
    if (H < 1 || W < 1 || (size_t)H * W > ((size_t)1 << 31) || !(fraction >= 0 && fraction <= 1)) {
        eng_set_error("random mask: expected a size of at most 2^31 pixels and a fraction in [0,1], found %dx%d, %g",
                      H, W, fraction);
        return -1;
    }
    size_t n = (size_t)H * W, k = (size_t)((double)n * fraction); /* Python's int(size * fraction) */
    /* rejection sampling of the smaller of the set and its complement */
    int invert = k > n / 2;
    size_t draws = invert ? n - k : k;
    memset(mask, invert, n);
    EngRng r;
    eng_rng_seed(&r, seed);
    for (size_t d = 0; d < draws; d++) {
        size_t j;
        do j = eng_rng_below(&r, (uint32_t)n); while (mask[j] != invert);
        mask[j] = !invert;
    }
    return 0;
}

int pic_engine_logits(void *ctx, const uint8_t *imgs, int n, float *logits) {
    PicEngine *pe = ctx;
    AttribParams *P = pe->P;
    size_t per = (size_t)P->C * P->H * P->W;
    float *xs = malloc(sizeof(float) * per * (size_t)n);
    if (!xs) return eng_fail("pic: out of memory for %d images", n);
    for (int i = 0; i < n; i++) pic_u8_to_input(xs + per * i, imgs + per * i, P->C, P->H, P->W, pe->mean, pe->std);
    int rc = attrib_logits(P, NULL, xs, n, logits);
    free(xs);
    if (!rc) pe->forward += n;
    return rc;
}

static uint8_t *known_with_corners(const uint8_t *mask, int H, int W) {
    uint8_t *k = malloc((size_t)H * W);
    if (!k) return NULL;
    memcpy(k, mask, (size_t)H * W);
    k[0] = k[W - 1] = k[(size_t)(H - 1) * W] = k[(size_t)H * W - 1] = 1;
    return k;
}

void pic_image_free(PicImage *pi) {
    free(pi->img); free(pi->random_mask); free(pi->blurred); free(pi->logits_base);
    memset(pi, 0, sizeof *pi);
}

int pic_image_init(PicImage *pi, const uint8_t *img, int H, int W, int C, const uint8_t *random_mask,
                   InfoKind kind) {
    memset(pi, 0, sizeof *pi);
    if (H < 2 || W < 2 || H > DT_MAX_COORD + 1 || W > DT_MAX_COORD + 1 || (C != 1 && C != 3)) {
        eng_set_error("pic: expected an image of 2..%d pixels a side with 1 or 3 channels, found %dx%dx%d",
                      DT_MAX_COORD + 1, H, W, C);
        return -1;
    }
    size_t n = (size_t)H * W * C;
    pi->H = H; pi->W = W; pi->C = C; pi->info_kind = kind;
    pi->img = malloc(n);
    pi->blurred = malloc(n);
    pi->random_mask = malloc((size_t)H * W);
    uint8_t *known = NULL;
    if (!pi->img || !pi->blurred || !pi->random_mask) goto oom;
    memcpy(pi->img, img, n);
    for (size_t i = 0; i < (size_t)H * W; i++) pi->random_mask[i] = random_mask[i] != 0;
    if (!(known = known_with_corners(pi->random_mask, H, W))) goto oom;
    double t0 = attrib_now();
    if (pic_interpolate_fill(img, H, W, C, known, pi->blurred) < 0) {
        eng_set_error("pic: fully blurred image: %s", eng_last_error());
        free(known); pic_image_free(pi);
        return -1;
    }
    double t1 = attrib_now();
    pi->info_orig = info_estimate(kind, img, H, W, C);
    pi->info_blur = info_estimate(kind, pi->blurred, H, W, C);
    pi->seconds_blur += t1 - t0;
    pi->seconds_info += attrib_now() - t1;
    free(known);
    if (pi->info_orig < 0 || pi->info_blur < 0) { pic_image_free(pi); return -1; }
    return 0;
oom:
    free(known);
    pic_image_free(pi);
    return eng_fail("pic: out of memory for a %dx%dx%d image", H, W, C);
}

void pic_result_free(PicResult *r) {
    free(r->blurred);
    r->blurred = NULL;
}

static int argmax_f(const float *v, int K) {
    int b = 0;
    for (int k = 1; k < K; k++) if (v[k] > v[b]) b = k; /* first maximum, as np.argmax */
    return b;
}


/* ---- the 13 blurred images and their information, on worker threads ---- */
typedef struct {
    const PicImage *pi;
    const float *map, *sorted;
    uint8_t *out;          /* (T,H,W,C) */
    double *info;          /* (T) */
    int first, step;       /* thresholds first, first+step, ... */
    int failed;
    char err[256];
    double seconds_blur, seconds_info;
} PicJob;

static void *threshold_worker(void *arg) {
    PicJob *j = arg;
    const PicImage *pi = j->pi;
    int H = pi->H, W = pi->W, C = pi->C;
    size_t n = (size_t)H * W, per = n * C;
    uint8_t *known = malloc(n);
    if (!known) { j->failed = 1; snprintf(j->err, sizeof j->err, "pic: out of memory"); return NULL; }
    for (int t = j->first; t < PIC_N_THRESHOLDS && !j->failed; t += j->step) {
        double t0 = attrib_now();
        pic_threshold_mask(known, j->map, j->sorted, n, pic_thresholds[t], pi->random_mask);
        known[0] = known[W - 1] = known[n - W] = known[n - 1] = 1;
        if (pic_interpolate_fill(pi->img, H, W, C, known, j->out + per * t) < 0) {
            j->failed = 1;
            snprintf(j->err, sizeof j->err, "pic: blurred image at threshold %g: %s", pic_thresholds[t], eng_last_error());
            break;
        }
        double t1 = attrib_now();
        j->info[t] = info_estimate(pi->info_kind, j->out + per * t, H, W, C);
        j->seconds_blur += t1 - t0;
        j->seconds_info += attrib_now() - t1;
        if (j->info[t] < 0) { j->failed = 1; snprintf(j->err, sizeof j->err, "%s", eng_last_error()); }
    }
    free(known);
    return NULL;
}

static int pic_threads(const PicImage *pi) {
    long n = pi->threads > 0 ? pi->threads : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > PIC_N_THRESHOLDS ? PIC_N_THRESHOLDS : (int)n;
}

/* Fills out (T,H,W,C) and info (T); 0 or -1. */
static int threshold_images(PicImage *pi, const float *map, const float *sorted, uint8_t *out, double *info) {
    int nt = pic_threads(pi), started = 0, rc = 0;
    PicJob jobs[PIC_N_THRESHOLDS];
    pthread_t tid[PIC_N_THRESHOLDS];
    double t0 = attrib_now();
    for (int k = 0; k < nt; k++) {
        jobs[k] = (PicJob){pi, map, sorted, out, info, k, nt, 0, "", 0, 0};
        if (k == 0 || pthread_create(&tid[k], NULL, threshold_worker, &jobs[k]) != 0) continue;
        started |= 1 << k;
    }
    threshold_worker(&jobs[0]); /* this thread takes the first share */
    for (int k = 1; k < nt; k++) {
        if (started & (1 << k)) pthread_join(tid[k], NULL);
        else threshold_worker(&jobs[k]); /* thread creation failed: do it here */
    }
    for (int k = 0; k < nt; k++) {
        pi->seconds_blur += jobs[k].seconds_blur;
        pi->seconds_info += jobs[k].seconds_info;
        if (jobs[k].failed && !rc) { eng_set_error("%s", jobs[k].err); rc = -1; }
    }
    pi->seconds_images += attrib_now() - t0;
    return rc;
}

/* Both curves' values on the original and the fully blurred image for class cls. */
static void base_values(const PicImage *pi, int K, int cls, PicCurve *s, PicCurve *a) {
    const float *lo = pi->logits_base, *lb = pi->logits_base + K;
    s->info_orig = a->info_orig = pi->info_orig;
    s->info_blur = a->info_blur = pi->info_blur;
    s->pred_orig = class_prob(lo, K, cls, pi->sigmoid);
    s->pred_blur = class_prob(lb, K, cls, pi->sigmoid);
    a->pred_orig = argmax_f(lo, K) == cls;
    a->pred_blur = argmax_f(lb, K) == cls;
}

static int check_classes(const PicImage *pi, int K, int target) {
    if (K < 1 || target >= K) return eng_fail("pic: target class %d is not below the %d classes", target, K);
    if (pi->logits_base && pi->K != K) return eng_fail("pic: %d classes, earlier maps of this image had %d", K, pi->K);
    return 0;
}

/* The original and the fully blurred image one after the other in dst (two
   images of H*W*C bytes), the batch whose logits keep_base keeps. */
static void pack_base(const PicImage *pi, uint8_t *dst) {
    size_t per = (size_t)pi->H * pi->W * pi->C;
    memcpy(dst, pi->img, per);
    memcpy(dst + per, pi->blurred, per);
}

/* Keeps the logits (2,K) of the original and the fully blurred image. */
static int keep_base(PicImage *pi, const float *logits, int K) {
    if (!(pi->logits_base = malloc(sizeof(float) * 2 * K))) return eng_fail("pic: out of memory");
    memcpy(pi->logits_base, logits, sizeof(float) * 2 * K);
    pi->K = K;
    return 0;
}

int pic_skips(PicImage *pi, PicLogitsFn fn, void *ctx, int K, int target, double min_pred, PicSkip skip[2]) {
    if (check_classes(pi, K, target)) return -1;
    size_t per = (size_t)pi->H * pi->W * pi->C;
    if (!pi->logits_base) {
        uint8_t *imgs = malloc(2 * per);
        float *logits = malloc(sizeof(float) * 2 * K);
        int rc = imgs && logits ? 0 : eng_fail("pic: out of memory");
        if (!rc) {
            pack_base(pi, imgs);
            double t0 = attrib_now();
            rc = fn(ctx, imgs, 2, logits) || keep_base(pi, logits, K) ? -1 : 0;
            pi->seconds_net += attrib_now() - t0;
        }
        free(imgs); free(logits);
        if (rc) return -1;
    }
    PicCurve *c = malloc(2 * sizeof *c);
    if (!c) return eng_fail("pic: out of memory");
    base_values(pi, K, target >= 0 ? target : argmax_f(pi->logits_base, K), &c[0], &c[1]);
    for (int k = 0; k < 2; k++) { skip_rule(&c[k], min_pred); skip[k] = c[k].skip; }
    free(c);
    return 0;
}

int pic_evaluate(PicImage *pi, const float *map, PicLogitsFn fn, void *ctx, int K, int target, double min_pred,
                 int keep_images, PicResult *r) {
    memset(r, 0, sizeof *r);
    int H = pi->H, W = pi->W, C = pi->C, T = PIC_N_THRESHOLDS;
    size_t n = (size_t)H * W, per = n * C;
    if (check_classes(pi, K, target)) return -1;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(map[i])) {
            return eng_fail("pic: the saliency map has a non-finite value at pixel (%zu, %zu)", i / W, i % W);
        }
    int need_base = pi->logits_base == NULL, nimg = T + (need_base ? 2 : 0);
    float *sorted = malloc(sizeof(float) * n), *logits = malloc(sizeof(float) * (size_t)K * nimg);
    uint8_t *imgs = malloc(per * nimg);
    int rc = -1;
    if (!sorted || !logits || !imgs) { eng_set_error("pic: out of memory"); goto done; }
    memcpy(sorted, map, sizeof(float) * n);
    qsort(sorted, n, sizeof(float), cmp_float);
    uint8_t *thr_imgs = imgs + (need_base ? 2 * per : 0);
    if (need_base) pack_base(pi, imgs);
    double info[PIC_N_THRESHOLDS];
    if (threshold_images(pi, map, sorted, thr_imgs, info)) goto done;
    double t0 = attrib_now();
    if (fn(ctx, imgs, nimg, logits)) goto done;
    pi->seconds_net += attrib_now() - t0;
    if (need_base && keep_base(pi, logits, K)) goto done;
    const float *lt = logits + (need_base ? 2 * (size_t)K : 0);
    int cls = target >= 0 ? target : argmax_f(pi->logits_base, K);
    r->cls = cls;
    PicCurve *s = &r->sic, *a = &r->aic;
    base_values(pi, K, cls, s, a);
    for (int t = 0; t < T; t++) {
        s->info[t] = a->info[t] = info[t];
        s->pred[t] = class_prob(lt + (size_t)K * t, K, cls, pi->sigmoid);
        a->pred[t] = argmax_f(lt + (size_t)K * t, K) == cls;
    }
    pic_curve_compute(s, min_pred);
    pic_curve_compute(a, min_pred);
    if (keep_images) {
        if (!(r->blurred = malloc(per * T))) { eng_set_error("pic: out of memory"); goto done; }
        memcpy(r->blurred, thr_imgs, per * T);
    }
    rc = 0;
done:
    free(sorted); free(logits); free(imgs);
    return rc;
}
