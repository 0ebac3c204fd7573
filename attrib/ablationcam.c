/* ablationcam.c - Ablation-CAM (Desai & Ramaswamy, "Ablation-CAM: Visual
   Explanations for Deep Convolutional Network via Gradient-free
   Localization", WACV 2020), as pytorch-grad-cam computes it.

   w_k = (F(x) - F_k) / F(x), where F is the target logit and F_k the logit
   with channel k of the layer's activation A replaced by the ablation value
   v = 0 if min(A) == 0, else min(A) - 1e7 (pytorch-grad-cam's AblationLayer:
   "very negative" when the layer can be negative);  cam = sum_k w_k A_k,
   then cam_finish.
   A is the activation as pytorch-grad-cam stores it (attrib/cam.c): for
   DenseNet's features.norm5 that is ReLU(norm5), whose minimum is 0, so v = 0,
   which is the same as ablating the batchnorm output with min - 1e7 before
   torchvision's ReLU (pytorch-grad-cam's rule). F(x) is the logit of the unablated A
   run through the same replaced forward (the reference runs the model once
   more; same value up to float32 rounding).
   Deviation: in a batch, the reference recomputes min(output) over the batch
   after each ablation, so with v = min - 1e7 the i-th item of a batch gets
   min - (i+1) 1e7; here every item gets min - 1e7, so the result does not
   depend on the batch size. Identical whenever min(A) == 0 or a ReLU follows.
   Defaults: layer as attrib_default_layer; every channel ablated
   (ratio_channels_to_ablate 1.0); batch attrib_batch_size (reference 32).
   Reference: pytorch-grad-cam ablation_cam.py AblationCAM.get_cam_weights,
   ablation_layer.py AblationLayer.__call__.
   Cost: 1 forward + (K + 1) replaced forwards, no backward. When the layer is
   a cut of the network (ResNet layer4, DenseNet features.norm5) only the
   layers after it run (attrib_layer_replaced_scores), which is why this is
   far cheaper than the reference, which reruns the whole network K times. */
#include "attrib/cam.h"

#include <stdlib.h>
#include <string.h>

/* acts (n,K,h,w): copies of A, item j ablating channel j0 + j - 1 (j0 + j == 0: none). */
static void ablated_acts(float *acts, const CamLayer *L, float v, int j0, int n) {
    size_t per = (size_t)L->K * L->h * L->w, hw = (size_t)L->h * L->w;
    for (int j = 0; j < n; j++) {
        float *a = acts + per * j;
        memcpy(a, L->act, sizeof(float) * per);
        int k = j0 + j - 1;
        if (k >= 0) for (size_t i = 0; i < hw; i++) a[(size_t)k * hw + i] = v;
    }
}

/* s (K+1): s[0] = F(x), s[k+1] = F with channel k ablated. */
static int ablation_scores(AttribParams *P, AttribResult *R, const CamLayer *L, float v, float *s) {
    int B = attrib_batch_size(P), total = L->K + 1;
    size_t per = (size_t)L->K * L->h * L->w;
    float *acts = malloc(sizeof(float) * per * B);
    if (!acts) return eng_fail("ablationcam: out of memory for a batch of %d activations", B);
    int rc = 0;
    for (int j0 = 0; !rc && j0 < total; j0 += B) {
        int n = total - j0 < B ? total - j0 : B;
        ablated_acts(acts, L, v, j0, n);
        rc = attrib_layer_replaced_scores(P, R, L->layer, acts, n, s + j0);
        attrib_progress(P, j0 + n, total);
    }
    free(acts);
    return rc;
}

static int weights(AttribParams *P, AttribResult *R, const CamLayer *L, float *wk) {
    size_t per = (size_t)L->K * L->h * L->w;
    float lo = L->act[0];
    for (size_t i = 1; i < per; i++) if (L->act[i] < lo) lo = L->act[i];
    float v = lo == 0 ? 0.0f : lo - 1e7f;
    float *s = malloc(sizeof(float) * (L->K + 1));
    if (!s) return eng_fail("ablationcam: out of memory");
    if (ablation_scores(P, R, L, v, s)) { free(s); return -1; }
    for (int k = 0; k < L->K; k++) wk[k] = (s[0] - s[k + 1]) / s[0];
    cam_note(R, "ablation value %g, F(x) %.6g, %d channels ablated", v, s[0], L->K);
    if (P->narrate) {
        fprintf(P->narrate, "  F(x) = %.6g; each of %d channels set to %g (%s), logits F_k in batches of %d%s\n",
                s[0], L->K, v, lo == 0 ? "min(A) is 0" : "min(A) - 1e7", attrib_batch_size(P),
                eng_model_is_cut(P->model, L->node) ? ", only the layers after the cut run" : "");
        if (s[0] <= 0) fprintf(P->narrate, "  note: F(x) <= 0, so the weights change sign\n");
    }
    free(s);
    return 0;
}

static const CamMethod method = {"ablationcam", 0, weights, NULL};

int attrib_ablationcam(AttribParams *P, AttribResult *R) { return cam_run(P, R, &method); }
