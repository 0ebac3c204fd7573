/* eigengradcam.c - Eigen-Grad-CAM: Eigen-CAM (Muhammad & Yeasin, IJCNN 2020)
   applied to G * A (elementwise) instead of A, as pytorch-grad-cam defines it.

   cam = projection of (G*A) as an (h*w, K) matrix, channel means removed, on
   its first right singular vector; then cam_finish. G = dF_target / dA on
   the logit. Sign rule as eigencam.c (largest-magnitude value positive,
   pytorch-grad-cam's get_2d_projection_with_sign_correction); the reference
   EigenGradCAM keeps numpy's arbitrary sign.
   Defaults: layer as attrib_default_layer.
   Reference: pytorch-grad-cam eigen_grad_cam.py EigenGradCAM.get_cam_image.
   Cost: 1 forward + 1 backward. */
#include "attrib/cam.h"

#include <stdlib.h>

static int image(AttribParams *P, AttribResult *R, const CamLayer *L, float *cam) {
    size_t n = (size_t)L->K * L->h * L->w;
    float *ga = malloc(sizeof(float) * n);
    if (!ga) return eng_fail("eigengradcam: out of memory");
    for (size_t i = 0; i < n; i++) ga[i] = L->grad[i] * L->act[i];
    int flip = cam_eigen_projection(cam, ga, L->K, L->h, L->w);
    free(ga);
    if (flip < 0) return eng_fail("eigengradcam: out of memory");
    cam_note(R, "sign rule: largest-magnitude projection value positive (%s)", flip ? "flipped" : "kept");
    if (P->narrate) fprintf(P->narrate, "  first principal component of G*A; sign %s by the rule |max| >= |min|\n",
                            flip ? "flipped" : "kept");
    return 0;
}

static const CamMethod method = {"eigengradcam", 1, NULL, image};

int attrib_eigengradcam(AttribParams *P, AttribResult *R) { return cam_run(P, R, &method); }
int attrib_eigengradcam_targets(AttribParams *P, AttribResult *R, const int *targets, int n) {
    return cam_run_targets(P, R, &method, targets, n);
}
