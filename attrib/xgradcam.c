/* xgradcam.c - XGrad-CAM (Fu et al., "Axiom-based Grad-CAM: Towards Accurate
   Visualization and Explanation of CNNs", BMVC 2020).

   w_k = sum_ij G_kij A_kij / (sum_ij A_kij + 1e-7);  cam = sum_k w_k A_k,
   then cam_finish. G = dF_target / dA on the logit.
   Defaults: layer as attrib_default_layer; eps 1e-7 as the reference.
   Reference: pytorch-grad-cam xgrad_cam.py XGradCAM.get_cam_weights.
   Cost: 1 forward + 1 backward. */
#include "attrib/cam.h"

static int weights(AttribParams *P, AttribResult *R, const CamLayer *L, float *wk) {
    size_t hw = (size_t)L->h * L->w;
    for (int k = 0; k < L->K; k++) {
        const float *g = L->grad + (size_t)k * hw, *a = L->act + (size_t)k * hw;
        double sum_a = 0, s = 0;
        for (size_t i = 0; i < hw; i++) { sum_a += a[i]; s += (double)g[i] * a[i]; }
        wk[k] = (float)(s / (sum_a + 1e-7));
    }
    return 0;
}

static const CamMethod method = {"xgradcam", 1, weights, NULL};

int attrib_xgradcam(AttribParams *P, AttribResult *R) { return cam_run(P, R, &method); }
int attrib_xgradcam_targets(AttribParams *P, AttribResult *R, const int *targets, int n) {
    return cam_run_targets(P, R, &method, targets, n);
}
