/* gradcam.c - Grad-CAM (Selvaraju et al., "Grad-CAM: Visual Explanations from
   Deep Networks via Gradient-based Localization", ICCV 2017).

   w_k = mean_ij G_kij,  G = dF_target / dA (logit, not probability);
   cam = sum_k w_k A_k, then pytorch-grad-cam's ReLU / min-max / resize
   (attrib/cam.c cam_finish).
   Defaults: layer P->layer or ResNet `layer4`, DenseNet `features.norm5`.
   Reference: pytorch-grad-cam grad_cam.py GradCAM.get_cam_weights
   (np.mean(grads, axis=(2, 3))); golden test tests/test_attrib_cam.c.
   Cost: 1 forward + 1 backward. */
#include "attrib/cam.h"

static int weights(AttribParams *P, AttribResult *R, const CamLayer *L, float *wk) {
    size_t hw = (size_t)L->h * L->w;
    for (int k = 0; k < L->K; k++) {
        const float *g = L->grad + (size_t)k * hw;
        double s = 0;
        for (size_t i = 0; i < hw; i++) s += g[i];
        wk[k] = (float)(s / (double)hw);
    }
    return 0;
}

static const CamMethod method = {"gradcam", 1, weights, NULL};

int attrib_gradcam(AttribParams *P, AttribResult *R) { return cam_run(P, R, &method); }
int attrib_gradcam_targets(AttribParams *P, AttribResult *R, const int *targets, int n) {
    return cam_run_targets(P, R, &method, targets, n);
}
