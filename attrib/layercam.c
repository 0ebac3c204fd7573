/* layercam.c - LayerCAM (Jiang et al., "LayerCAM: Exploring Hierarchical
   Class Activation Maps for Localization", IEEE TIP 2021).

   cam_ij = sum_k ReLU(G_kij) A_kij, then cam_finish. G = dF_target / dA on
   the logit. Defaults: layer as attrib_default_layer (the paper combines
   several layers; one layer here, as pytorch-grad-cam with one target layer).
   Reference: pytorch-grad-cam layer_cam.py LayerCAM.get_cam_image
   (eigen_smooth off). Cost: 1 forward + 1 backward. */
#include "attrib/cam.h"

static int image(AttribParams *P, AttribResult *R, const CamLayer *L, float *cam) {
    size_t hw = (size_t)L->h * L->w;
    for (size_t i = 0; i < hw; i++) {
        double s = 0;
        for (int k = 0; k < L->K; k++) {
            float g = L->grad[(size_t)k * hw + i];
            if (g > 0) s += (double)g * L->act[(size_t)k * hw + i];
        }
        cam[i] = (float)s;
    }
    return 0;
}

static const CamMethod method = {"layercam", 1, NULL, image};

int attrib_layercam(AttribParams *P, AttribResult *R) { return cam_run(P, R, &method); }
int attrib_layercam_targets(AttribParams *P, AttribResult *R, const int *targets, int n) {
    return cam_run_targets(P, R, &method, targets, n);
}
