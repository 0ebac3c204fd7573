/* eigencam.c - Eigen-CAM (Muhammad & Yeasin, "Eigen-CAM: Class Activation
   Map using Principal Components", IJCNN 2020).

   cam = the projection of the layer's activation, as an (h*w, K) matrix with
   each channel's mean removed, on its first right singular vector (the first
   principal component), then cam_finish. Gradient-free and class-agnostic:
   the target class does not enter.
   Sign: an SVD's singular vectors have an arbitrary sign (pytorch-grad-cam
   keeps numpy's); here the projection is negated when |min| > |max|, so its
   largest-magnitude value is positive (pytorch-grad-cam's
   get_2d_projection_with_sign_correction, Seg-Eigen-CAM Eq. 13). The notes
   say whether the rule flipped the eigensolver's vector.
   Defaults: layer as attrib_default_layer.
   Reference: pytorch-grad-cam eigen_cam.py EigenCAM.get_cam_image ->
   utils/svd_on_activations.py get_2d_projection (numpy SVD, float32); here a
   Jacobi eigensolver in double on the smaller Gram matrix, n = min(h*w, K)
   (attrib/cam.c cam_eigen_projection; O(n^3) per sweep: n = 49 for a 7x7
   layer at 224x224).
   Cost: 1 forward, no backward. */
#include "attrib/cam.h"

static int image(AttribParams *P, AttribResult *R, const CamLayer *L, float *cam) {
    int flip = cam_eigen_projection(cam, L->act, L->K, L->h, L->w);
    if (flip < 0) return eng_fail("eigencam: out of memory");
    cam_note(R, "sign rule: largest-magnitude projection value positive (%s)", flip ? "flipped" : "kept");
    if (P->narrate) fprintf(P->narrate, "  first principal component of A; sign %s by the rule |max| >= |min|\n",
                            flip ? "flipped" : "kept");
    return 0;
}

static const CamMethod method = {"eigencam", 0, NULL, image};

int attrib_eigencam(AttribParams *P, AttribResult *R) { return cam_run(P, R, &method); }
int attrib_eigencam_targets(AttribParams *P, AttribResult *R, const int *targets, int n) {
    return cam_run_targets(P, R, &method, targets, n);
}
