/* insdel.c - RISE's insertion and deletion games (eclique/RISE
   evaluation.py CausalMetric), batched through the engine. Conventions in
   insdel.h. */
#include "eval/insdel.h"
#include "engine/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const substrate_names[] = {"blur", "black", "zero"};

int insdel_parse_substrate(const char *name, InsdelSubstrate *out) {
    for (int k = 0; k < 3; k++)
        if (name && !strcmp(name, substrate_names[k])) { *out = (InsdelSubstrate)k; return 0; }
    return -1;
}

const char *insdel_substrate_name(InsdelSubstrate s) { return (unsigned)s < 3 ? substrate_names[s] : "?"; }

/* scipy.ndimage 'reflect' (half-sample symmetric) index into [0, n). */
static int reflect_index(int p, int n) {
    int period = 2 * n;
    p %= period;
    if (p < 0) p += period;
    return p < n ? p : period - 1 - p;
}

void insdel_gkern(float *k, int klen, double sigma) {
    /* 1-D: gaussian_filter1d of a unit impulse at klen/2, radius int(4 sigma + 0.5) */
    int r = (int)(4.0 * sigma + 0.5), c = klen / 2;
    double w[257], sum = 0, k1[64];
    if (r > 128) r = 128;
    for (int t = -r; t <= r; t++) sum += w[t + r] = exp(-0.5 / (sigma * sigma) * (double)t * t);
    for (int t = -r; t <= r; t++) w[t + r] /= sum;
    for (int i = 0; i < klen; i++) {
        double s = 0;
        for (int t = -r; t <= r; t++) if (reflect_index(i + t, klen) == c) s += w[t + r];
        k1[i] = s;
    }
    /* separable: the 2-D filter of the impulse is the outer product */
    for (int i = 0; i < klen; i++)
        for (int j = 0; j < klen; j++) k[i * klen + j] = (float)(k1[i] * k1[j]);
}

/* conv2d of each channel with a (klen,klen) kernel, zero padding klen/2. */
static void blur_zero_pad(float *out, const float *x, int C, int H, int W, const float *k, int klen) {
    int p = klen / 2;
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * H * W;
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                double s = 0;
                for (int u = 0; u < klen; u++) {
                    int y = i + u - p;
                    if (y < 0 || y >= H) continue;
                    for (int v = 0; v < klen; v++) {
                        int xx = j + v - p;
                        if (xx >= 0 && xx < W) s += (double)k[u * klen + v] * xc[(size_t)y * W + xx];
                    }
                }
                out[(size_t)c * H * W + (size_t)i * W + j] = (float)s;
            }
    }
}

int insdel_substrate(float *out, const float *x, int C, int H, int W, InsdelSubstrate s, const float *mean,
                     const float *std) {
    size_t plane = (size_t)H * W;
    switch (s) {
    case SUBSTRATE_BLUR: {
        float k[INSDEL_KLEN * INSDEL_KLEN];
        insdel_gkern(k, INSDEL_KLEN, INSDEL_SIGMA);
        blur_zero_pad(out, x, C, H, W, k, INSDEL_KLEN);
        return 0;
    }
    case SUBSTRATE_ZERO: memset(out, 0, sizeof(float) * plane * C); return 0;
    case SUBSTRATE_BLACK:
        if (!mean || !std) return eng_fail("insertion/deletion: the black substrate needs the mean and std");
        for (int c = 0; c < C; c++)
            for (size_t i = 0; i < plane; i++) out[c * plane + i] = (0.0f - mean[c]) / std[c];
        return 0;
    }
    return eng_fail("insertion/deletion: unknown substrate %d", (int)s);
}

static int cmp_desc(const void *a, const void *b, void *keys) {
    int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
    float x = ((const float *)keys)[i], y = ((const float *)keys)[j];
    if (x != y) return x > y ? -1 : 1;
    return (i < j) - (i > j); /* ties: higher index first */
}

void insdel_order(int32_t *order, const float *map, int n) {
    for (int i = 0; i < n; i++) order[i] = i;
    qsort_r(order, n, sizeof(int32_t), cmp_desc, (void *)map); /* glibc (_GNU_SOURCE) */
}

double insdel_auc(const double *scores, int n_steps) {
    double s = 0;
    for (int i = 0; i <= n_steps; i++) s += scores[i];
    return (s - scores[0] / 2 - scores[n_steps] / 2) / n_steps;
}

void insdel_result_free(InsdelResult *r) {
    free(r->scores);
    r->scores = NULL;
}


int insdel_run(AttribParams *P, const float *map, InsdelMode mode, InsdelSubstrate sub, int step,
               const float *mean, const float *std, InsdelResult *r) {
    memset(r, 0, sizeof *r);
    int C = P->C, H = P->H, W = P->W, K = eng_model_n_classes(P->model);
    size_t plane = (size_t)H * W, per = plane * C;
    if (P->target < 0 || P->target >= K) return eng_fail("insertion/deletion: target %d not in [0,%d)", P->target, K);
    for (size_t i = 0; i < plane; i++)
        if (!isfinite(map[i])) return eng_fail("insertion/deletion: the map has a non-finite value at %zu", i);
    if (step <= 0) step = W;
    int n_steps = (int)((plane + step - 1) / step);
    int B = P->batch > 0 ? P->batch : (int)(16 * (224.0 * 224.0) / (double)plane);
    if (B < 1) B = 1;
    if (B > 64) B = 64;
    if (B > n_steps + 1) B = n_steps + 1;
    float *substrate = malloc(sizeof(float) * per), *cur = malloc(sizeof(float) * per);
    float *batch = malloc(sizeof(float) * per * B), *logits = malloc(sizeof(float) * (size_t)K * B);
    int32_t *order = malloc(sizeof(int32_t) * plane);
    r->scores = malloc(sizeof(double) * (n_steps + 1));
    int rc = -1;
    if (!substrate || !cur || !batch || !logits || !order || !r->scores) { eng_set_error("insertion/deletion: out of memory"); goto done; }
    if (insdel_substrate(substrate, P->x, C, H, W, sub, mean, std)) goto done;
    insdel_order(order, map, (int)plane);
    const float *finish = mode == INSDEL_INSERTION ? P->x : substrate;
    memcpy(cur, mode == INSDEL_INSERTION ? substrate : P->x, sizeof(float) * per);
    for (int i0 = 0; i0 <= n_steps; i0 += B) {
        int nb = n_steps + 1 - i0 < B ? n_steps + 1 - i0 : B;
        for (int b = 0; b < nb; b++) {
            int i = i0 + b;
            memcpy(batch + per * b, cur, sizeof(float) * per);
            if (i >= n_steps) continue;
            size_t lo = (size_t)step * i, hi = lo + step < plane ? lo + step : plane;
            for (size_t q = lo; q < hi; q++)
                for (int c = 0; c < C; c++) cur[c * plane + order[q]] = finish[c * plane + order[q]];
        }
        if (attrib_logits(P, NULL, batch, nb, logits)) goto done;
        for (int b = 0; b < nb; b++) r->scores[i0 + b] = class_prob(logits + (size_t)K * b, K, P->target, P->sigmoid);
        r->forward += nb;
    }
    r->n_steps = n_steps;
    r->step = step;
    r->auc = insdel_auc(r->scores, n_steps);
    rc = 0;
done:
    free(substrate); free(cur); free(batch); free(logits); free(order);
    if (rc) insdel_result_free(r);
    return rc;
}
