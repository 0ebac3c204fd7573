/* scorecam.c - Score-CAM (Wang et al., "Score-CAM: Score-Weighted Visual
   Explanations for Convolutional Neural Networks", CVPR Workshops 2020), as
   pytorch-grad-cam computes it.

   For each channel k of the layer's activation A (K,h,w):
     U_k = A_k upsampled to the input size, bilinear with align_corners=True
           (torch.nn.UpsamplingBilinear2d; NOT the half-pixel resize of the
           final map),
     M_k = (U_k - min U_k) / (max U_k - min U_k + 1e-8),
     s_k = F_target(x * M_k), the target LOGIT of the masked input (every
           input channel multiplied by M_k);
   w = softmax_k(s);  cam = sum_k w_k A_k, then cam_finish.
   The paper scores each channel by the class's softmax probability (minus
   that of a baseline); pytorch-grad-cam's softmax over channels of the
   logits is used here, as stated in the notes.
   Defaults: layer as attrib_default_layer; batch attrib_batch_size (the
   reference runs batches of 16; the result does not depend on it).
   Reference: pytorch-grad-cam score_cam.py ScoreCAM.get_cam_weights.
   Cost: 1 + K forwards (K = the layer's channels: 512 for resnet18/34
   layer4, 2048 for resnet50, 1024 for densenet121), no backward, less one
   per constant channel but one: a constant channel's mask is 0, so all of
   them share the score of the zero image, run once (post-ReLU layers often
   have all-zero channels: 238 of densenet121's 1024 in the golden test).
   The masked inputs are built one batch at a time. */
#include "attrib/cam.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A channel with max == min has U_k constant, so M_k = 0 (exactly: the
   bilinear weights of equal values give that value back) and x * M_k is the
   zero image: every such channel gets the one score F(0), run once. */
static int is_constant(const float *a, size_t n) {
    for (size_t i = 1; i < n; i++) if (a[i] != a[0]) return 0;
    return 1;
}

/* up (H,W) = M_k, or 0 for k < 0 (the zero image). */
static void channel_mask(float *up, const AttribParams *P, const CamLayer *L, int k) {
    size_t plane = (size_t)P->H * P->W, hw = (size_t)L->h * L->w;
    if (k < 0) { memset(up, 0, sizeof(float) * plane); return; }
    resize_bilinear_align_corners(up, P->H, P->W, L->act + (size_t)k * hw, L->h, L->w);
    float lo = up[0], hi = up[0];
    for (size_t i = 1; i < plane; i++) { if (up[i] < lo) lo = up[i]; if (up[i] > hi) hi = up[i]; }
    float d = (hi - lo) + 1e-8f;
    for (size_t i = 0; i < plane; i++) up[i] = (up[i] - lo) / d;
}

/* xs (n,C,H,W) = x * M_k for the channels ks[0..n-1]; up (H,W) is scratch. */
static void masked_inputs(float *xs, float *up, const AttribParams *P, const CamLayer *L, const int *ks, int n) {
    size_t plane = (size_t)P->H * P->W;
    for (int j = 0; j < n; j++) {
        channel_mask(up, P, L, ks[j]);
        for (int c = 0; c < P->C; c++) {
            const float *xc = P->x + (size_t)c * plane;
            float *dst = xs + ((size_t)j * P->C + c) * plane;
            for (size_t i = 0; i < plane; i++) dst[i] = xc[i] * up[i];
        }
    }
}

/* ks (K+1): the distinct inputs to run - every non-constant channel, then -1
   (the zero image) if any channel is constant. Returns their number. */
static int distinct_inputs(const CamLayer *L, int *ks, int *n_const) {
    size_t hw = (size_t)L->h * L->w;
    int n = 0;
    *n_const = 0;
    for (int k = 0; k < L->K; k++) {
        if (is_constant(L->act + (size_t)k * hw, hw)) (*n_const)++;
        else ks[n++] = k;
    }
    if (*n_const) ks[n++] = -1;
    return n;
}

/* s (K): the target logit of every masked input, batch by batch. */
static int channel_scores(AttribParams *P, AttribResult *R, const CamLayer *L, float *s) {
    int B = attrib_batch_size(P), n_const;
    size_t per = (size_t)P->C * P->H * P->W;
    int *ks = malloc(sizeof(int) * (L->K + 1));
    float *xs = malloc(sizeof(float) * per * B), *up = malloc(sizeof(float) * P->H * P->W);
    float *sd = malloc(sizeof(float) * (L->K + 1));
    int rc = ks && xs && up && sd ? 0 : -1;
    if (rc) eng_set_error("scorecam: out of memory for a batch of %d masked inputs", B);
    int n = rc ? 0 : distinct_inputs(L, ks, &n_const);
    for (int j0 = 0; !rc && j0 < n; j0 += B) {
        int nb = n - j0 < B ? n - j0 : B;
        masked_inputs(xs, up, P, L, ks + j0, nb);
        rc = attrib_target_scores(P, R, xs, nb, sd + j0);
        attrib_progress(P, j0 + nb, n);
    }
    if (!rc) {
        for (int k = 0; k < L->K; k++) s[k] = n_const ? sd[n - 1] : 0; /* constant channels: F(0) */
        for (int j = 0; j < n; j++) if (ks[j] >= 0) s[ks[j]] = sd[j];
        cam_note(R, "%d constant channels share the score of the zero image", n_const);
        if (P->narrate && n_const)
            fprintf(P->narrate, "  %d constant channels (mask 0): one run of the zero image, F(0) = %.6g\n",
                    n_const, sd[n - 1]);
    }
    free(ks); free(xs); free(up); free(sd);
    return rc;
}

static int weights(AttribParams *P, AttribResult *R, const CamLayer *L, float *wk) {
    float *s = malloc(sizeof(float) * L->K);
    if (!s) return eng_fail("scorecam: out of memory");
    if (channel_scores(P, R, L, s)) { free(s); return -1; }
    double mx = s[0], sum = 0;
    for (int k = 1; k < L->K; k++) if (s[k] > mx) mx = s[k];
    for (int k = 0; k < L->K; k++) sum += exp((double)s[k] - mx);
    for (int k = 0; k < L->K; k++) wk[k] = (float)(exp((double)s[k] - mx) / sum);
    cam_note(R, "w = softmax over channels of the target logit of x*M_k (pytorch-grad-cam), %d masked inputs", L->K);
    if (P->narrate) {
        fprintf(P->narrate, "  %d masked inputs x*M_k (M_k: channel k upsampled align_corners, min-max) "
                            "in batches of %d\n", L->K, attrib_batch_size(P));
        cam_narrate_top(P->narrate, "target logits s_k of the masked inputs", s, L->K, 5);
    }
    free(s);
    return 0;
}

static const CamMethod method = {"scorecam", 0, weights, NULL};

int attrib_scorecam(AttribParams *P, AttribResult *R) { return cam_run(P, R, &method); }
