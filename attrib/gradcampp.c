/* gradcampp.c - Grad-CAM++ (Chattopadhay et al., "Grad-CAM++: Generalized
   Gradient-based Visual Explanations for Deep Convolutional Networks",
   WACV 2018), in pytorch-grad-cam's closed form (the paper's Eq. 19 with
   exponential-free gradient powers).

   alpha_kij = G^2 / (2 G^2 + (sum_ij A_k) G^3 + 1e-6) where G != 0, else 0;
   w_k = sum_ij ReLU(G_kij) alpha_kij;  cam = sum_k w_k A_k, then cam_finish.
   G = dF_target / dA on the logit (the paper's exp(S) factor is not used,
   as in the reference). Defaults: layer as attrib_default_layer; eps 1e-6.
   Reference: pytorch-grad-cam grad_cam_plusplus.py
   GradCAMPlusPlus.get_cam_weights. Cost: 1 forward + 1 backward. */
#include "attrib/cam.h"

static int weights(AttribParams *P, AttribResult *R, const CamLayer *L, float *wk) {
    size_t hw = (size_t)L->h * L->w;
    for (int k = 0; k < L->K; k++) {
        const float *g = L->grad + (size_t)k * hw, *a = L->act + (size_t)k * hw;
        double sum_a = 0, s = 0;
        for (size_t i = 0; i < hw; i++) sum_a += a[i];
        for (size_t i = 0; i < hw; i++) {
            double g1 = g[i], g2 = g1 * g1;
            if (g1 <= 0) continue; /* ReLU(G) = 0; alpha is 0 where G == 0 */
            s += g1 * g2 / (2 * g2 + sum_a * g2 * g1 + 1e-6);
        }
        wk[k] = (float)s;
    }
    return 0;
}

static const CamMethod method = {"gradcampp", 1, weights, NULL};

int attrib_gradcampp(AttribParams *P, AttribResult *R) { return cam_run(P, R, &method); }
int attrib_gradcampp_targets(AttribParams *P, AttribResult *R, const int *targets, int n) {
    return cam_run_targets(P, R, &method, targets, n);
}
