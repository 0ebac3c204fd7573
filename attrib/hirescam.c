/* hirescam.c - HiResCAM (Draelos & Carin, "Use HiResCAM instead of Grad-CAM
   for faithful explanations of convolutional neural networks", 2020).

   cam_ij = sum_k G_kij A_kij (elementwise, no spatial averaging of G), then
   cam_finish. G = dF_target / dA on the logit.
   Defaults: layer as attrib_default_layer.
   Reference: pytorch-grad-cam hirescam.py HiResCAM.get_cam_image
   (eigen_smooth off). Cost: 1 forward + 1 backward. */
#include "attrib/cam.h"

static int image(AttribParams *P, AttribResult *R, const CamLayer *L, float *cam) {
    size_t hw = (size_t)L->h * L->w;
    for (size_t i = 0; i < hw; i++) {
        double s = 0;
        for (int k = 0; k < L->K; k++) s += (double)L->grad[(size_t)k * hw + i] * L->act[(size_t)k * hw + i];
        cam[i] = (float)s;
    }
    return 0;
}

static const CamMethod method = {"hirescam", 1, NULL, image};

int attrib_hirescam(AttribParams *P, AttribResult *R) { return cam_run(P, R, &method); }
int attrib_hirescam_targets(AttribParams *P, AttribResult *R, const int *targets, int n) {
    return cam_run_targets(P, R, &method, targets, n);
}
