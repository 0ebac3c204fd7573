/* rise.c - RISE, Randomized Input Sampling for Explanation (Petsiuk, Das &
   Saenko, BMVC 2018), as the authors' code eclique/RISE (explanations.py:
   RISE.generate_masks and RISE.forward; Saliency.py wraps the model in a
   softmax).

   map = sum_i F_k(x * M_i) M_i / (N p)
   F_k is the softmax PROBABILITY of the target class, as in the paper and
   the reference code (its model is nn.Sequential(model, nn.Softmax(dim=1))),
   not the logit. x * M_i multiplies every channel of the network input by
   the mask, so a masked pixel becomes 0 in the normalised input space (the
   dataset mean), as the reference masks its preprocessed tensor.
   Masks (attrib/rise.h): s x s binary grids, cells 1 with probability p,
   bilinearly upsampled to (s+1) * ceil(H/s) and cropped at a random shift.
   Defaults: N = 4000 masks (--masks), s = 8 (--grid), p = 0.5 (--prob),
   the RISE paper's setting (the RISE code's Saliency.py used N 6000, s 8, p 0.1; its
   notebook N 2000, s 8, p 0.5). Draws come from EngRng seeded with
   eng_rng_split(seed, RISE_STREAM), masks in index order, so the map does
   not depend on the batch size; P->masks_in (N,H,W) replaces the draws.
   Cost: N forward passes (no backward), batched; masks are made chunk by
   chunk (memory: one batch of masks and masked images). */
#include "attrib/attrib.h"
#include "attrib/defaults.h"
#include "attrib/rise.h"
#include "engine/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RISE_STREAM 0x7153

RiseMaskGen rise_mask_gen(int H, int W, int s, double p) {
    RiseMaskGen g = {H, W, s, (H + s - 1) / s, (W + s - 1) / s, p};
    return g;
}

/* scipy's 'mirror' index map (period 2n - 2) for n >= 2. */
static int mirror_index(int i, int n) {
    if (n <= 1) return 0;
    int s2 = 2 * n - 2;
    if (i < 0) { i = s2 * (-i / s2) + i; i = i <= 1 - n ? i + s2 : -i; }
    else if (i >= n) { i -= s2 * (i / s2); if (i >= n) i = s2 - i; }
    return i;
}

/* scipy's map_coordinate for 'mirror' on a coordinate outside [0, n-1]. */
static double mirror_coordinate(double c, int n) {
    if (n <= 1) return 0;
    double s2 = 2.0 * n - 2;
    if (c < 0) { c = s2 * (double)(long)(-c / s2) + c; c = c <= 1 - n ? c + s2 : -c; }
    else if (c > n - 1) { c -= s2 * (double)(long)(c / s2); if (c >= n) c = s2 - c; }
    return c;
}

/* Linear taps (i0,i1) and weights of output rows shift..shift+len-1 of a
   zoom n -> up (scipy zoom, grid_mode=True, order 1, mode 'mirror'). */
static void linear_axis(int *i0, int *i1, double *w0, double *w1, int len, int shift, int n, int up) {
    double zoom = (double)n / (double)up;
    for (int k = 0; k < len; k++) {
        double cc = mirror_coordinate((shift + k + 0.5) * zoom - 0.5, n);
        int a = (int)floor(cc);
        w0[k] = 1.0 - (cc - floor(cc));
        w1[k] = 1.0 - w0[k];
        i0[k] = mirror_index(a, n);
        i1[k] = mirror_index(a + 1, n);
    }
}

void rise_mask_from_grid(float *mask, const RiseMaskGen *g, const uint8_t *grid, int dy, int dx) {
    int H = g->H, W = g->W, s = g->s;
    int *iy = malloc(sizeof(int) * 2 * (H + W));
    double *wy = malloc(sizeof(double) * 2 * (H + W));
    if (!iy || !wy) { free(iy); free(wy); memset(mask, 0, sizeof(float) * H * W); return; }
    int *iy1 = iy + H, *ix = iy + 2 * H, *ix1 = ix + W;
    double *wy1 = wy + H, *wx = wy + 2 * H, *wx1 = wx + W;
    linear_axis(iy, iy1, wy, wy1, H, dy, s, (s + 1) * g->cell_h);
    linear_axis(ix, ix1, wx, wx1, W, dx, s, (s + 1) * g->cell_w);
    for (int y = 0; y < H; y++) {
        const uint8_t *r0 = grid + iy[y] * s, *r1 = grid + iy1[y] * s;
        for (int x = 0; x < W; x++) { /* scipy's order: ((coef * wy) * wx), y tap outer */
            double t = 0.0;
            t += (double)r0[ix[x]] * wy[y] * wx[x];
            t += (double)r0[ix1[x]] * wy[y] * wx1[x];
            t += (double)r1[ix[x]] * wy1[y] * wx[x];
            t += (double)r1[ix1[x]] * wy1[y] * wx1[x];
            mask[(size_t)y * W + x] = (float)t;
        }
    }
    free(iy); free(wy);
}

void rise_draw_mask(const RiseMaskGen *g, EngRng *r, float *mask, uint8_t *grid) {
    for (int i = 0; i < g->s * g->s; i++) grid[i] = eng_rng_uniform(r) < g->p;
    int dy = (int)eng_rng_below(r, (uint32_t)g->cell_h);
    int dx = (int)eng_rng_below(r, (uint32_t)g->cell_w);
    rise_mask_from_grid(mask, g, grid, dy, dx);
}


typedef struct { double p_sum, p_min, p_max, mask_mean; } RiseStats;

/* Runs masks i0..i0+cnt-1 (in `masks`), accumulating p_i M_i into sal. */
static int run_chunk(AttribParams *P, AttribResult *R, const float *masks, int cnt, float *xs, float *lg,
                     double *sal, RiseStats *st) {
    size_t hw = (size_t)P->H * P->W;
    int K = eng_model_n_classes(P->model);
    for (int k = 0; k < cnt; k++)
        for (int c = 0; c < P->C; c++)
            for (size_t i = 0; i < hw; i++) xs[((size_t)k * P->C + c) * hw + i] = P->x[c * hw + i] * masks[k * hw + i];
    if (attrib_logits(P, R, xs, cnt, lg)) return -1;
    for (int k = 0; k < cnt; k++) {
        double p = class_prob(lg + (size_t)k * K, K, P->target, P->sigmoid);
        const float *m = masks + k * hw;
        for (size_t i = 0; i < hw; i++) { sal[i] += p * m[i]; st->mask_mean += m[i]; }
        st->p_sum += p;
        if (p < st->p_min) st->p_min = p;
        if (p > st->p_max) st->p_max = p;
    }
    return 0;
}

int attrib_rise(AttribParams *P, AttribResult *R) {
    double t0 = attrib_now();
    int N = (int)attrib_param_or(P, AP_MASKS, RISE_MASKS), s = (int)attrib_param_or(P, AP_GRID, RISE_GRID);
    double p = attrib_param_or(P, AP_PROB, RISE_PROB);
    if (p > 1) return eng_fail("rise: --prob must be in (0,1], got %g", p);
    if (P->masks_in && P->masks <= 0) return eng_fail("rise: masks_in given without their count (masks)");
    if (attrib_result_init(R, P, 0)) return -1;
    size_t hw = (size_t)P->H * P->W;
    int B = attrib_batch_size(P), K = eng_model_n_classes(P->model);
    RiseMaskGen g = rise_mask_gen(P->H, P->W, s, p);
    EngRng rng;
    eng_rng_seed(&rng, eng_rng_split(P->seed, RISE_STREAM));
    float *masks = malloc(sizeof(float) * hw * B), *xs = malloc(sizeof(float) * hw * P->C * B);
    float *lg = malloc(sizeof(float) * (size_t)K * B);
    uint8_t *grid = malloc((size_t)s * s);
    double *sal = calloc(hw, sizeof(double));
    RiseStats st = {0, INFINITY, -INFINITY, 0};
    int rc = (!masks || !xs || !lg || !grid || !sal) ? -1 : 0;
    for (int i0 = 0; i0 < N && !rc; i0 += B) {
        int cnt = N - i0 < B ? N - i0 : B;
        if (P->masks_in) memcpy(masks, P->masks_in + hw * i0, sizeof(float) * hw * cnt);
        else for (int k = 0; k < cnt; k++) rise_draw_mask(&g, &rng, masks + hw * k, grid);
        rc = run_chunk(P, R, masks, cnt, xs, lg, sal, &st);
        attrib_progress(P, i0 + cnt, N);
    }
    for (size_t i = 0; i < hw && !rc; i++) R->map[i] = (float)(sal[i] / N / p);
    if (!rc) {
        snprintf(R->notes, sizeof R->notes,
                 "F = %s probability of class %d; %d masks%s, grid %d, p %g, cell %dx%d; mean mask %.4f",
                 P->sigmoid ? "sigmoid" : "softmax", P->target, N, P->masks_in ? " (given)" : "", s, p, g.cell_h, g.cell_w, st.mask_mean / ((double)N * hw));
        float lo = R->map[0], hi = R->map[0];
        for (size_t i = 1; i < hw; i++) { if (R->map[i] < lo) lo = R->map[i]; if (R->map[i] > hi) hi = R->map[i]; }
        if (P->narrate)
            fprintf(P->narrate,
                    "rise: %d masks of a %dx%d grid (p %g) upsampled to cells of %dx%d pixels; mean mask value %.4f\n"
                    "  target probability over the masked images: mean %.4f, min %.4f, max %.4f\n"
                    "  map = sum_i p_i M_i / (N p): range [%.4f, %.4f]\n",
                    N, s, s, p, g.cell_h, g.cell_w, st.mask_mean / ((double)N * hw), st.p_sum / N, st.p_min, st.p_max,
                    lo, hi);
    }
    free(masks); free(xs); free(lg); free(grid); free(sal);
    R->seconds = attrib_now() - t0;
    if (rc) attrib_result_free(R);
    return rc;
}
