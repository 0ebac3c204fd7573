/* cam.h - what the CAM-family methods share: the layer's activation and
   gradient as pytorch-grad-cam sees them, the weighted sum of channels, the
   eigen projection, and pytorch-grad-cam's post-processing of a CAM into the
   final map.

   Usage (a method file, e.g. attrib/gradcam.c):
     static int weights(AttribParams *P, AttribResult *R, const CamLayer *L, float *wk) {
         ... wk[k] for k < L->K from L->act, L->grad ...
     }
     static const CamMethod M = {"gradcam", 1, weights, NULL};
     int attrib_gradcam(AttribParams *P, AttribResult *R) { return cam_run(P, R, &M); }

   cam_run does, for P->x and P->target: one forward (and one backward when
   the method needs gradients) to read the layer P->layer (default:
   attrib_default_layer), the method's weights w (cam = sum_k w_k A_k) or
   its own (h,w) cam, then cam_finish into R->map (H,W), the notes, the
   narration and R->seconds. Returns 0, or -1 with eng_last_error() set.

   cam_run_targets does the same for n targets of one image: ONE forward,
   then one backward per target (none for gradient-free methods), each
   target's map from the same A and its own G; R[t] for targets[t], each
   bit-identical to cam_run with P->target = targets[t]. Only for methods
   whose weights/image functions do not run the network themselves (not
   Score-CAM or Ablation-CAM: theirs are per target anyway). */
#ifndef ATTRIB_CAM_H
#define ATTRIB_CAM_H
#include "attrib/attrib.h"

typedef struct {
    const char *layer;  /* the layer's name as asked */
    int node;           /* its engine node */
    int K, h, w;        /* channels and spatial size */
    float *act;         /* (K,h,w) A, as pytorch-grad-cam stores it (see relu_inplace) */
    float *grad;        /* (K,h,w) G = dF_target / d(node output); NULL for gradient-free methods */
    int relu_inplace;   /* 1: the node is a batchnorm read by torchvision's in-place ReLU, so
                           act = ReLU(node output) while grad is that of the pre-ReLU output */
} CamLayer;

/* Fills wk (K), the channel weights; may run the network (Score-CAM, Ablation-CAM). */
typedef int (*CamWeightsFn)(AttribParams *P, AttribResult *R, const CamLayer *L, float *wk);
/* Fills cam (h,w) directly (HiResCAM, LayerCAM, Eigen-CAM). */
typedef int (*CamImageFn)(AttribParams *P, AttribResult *R, const CamLayer *L, float *cam);

typedef struct {
    const char *name;
    int needs_grad;        /* 1: one backward pass for G */
    CamWeightsFn weights;  /* exactly one of weights / image */
    CamImageFn image;
} CamMethod;

int cam_run(AttribParams *P, AttribResult *R, const CamMethod *M);
int cam_run_targets(AttribParams *P, AttribResult *R, const CamMethod *M, const int *targets, int n);

/* The methods (one file each; registry.c names them). */
int attrib_gradcam(AttribParams *P, AttribResult *R);
int attrib_gradcampp(AttribParams *P, AttribResult *R);
int attrib_hirescam(AttribParams *P, AttribResult *R);
int attrib_xgradcam(AttribParams *P, AttribResult *R);
int attrib_layercam(AttribParams *P, AttribResult *R);
int attrib_scorecam(AttribParams *P, AttribResult *R);
int attrib_ablationcam(AttribParams *P, AttribResult *R);
int attrib_eigencam(AttribParams *P, AttribResult *R);
int attrib_eigengradcam(AttribParams *P, AttribResult *R);
/* Their AttribMethod.run_targets (cam_run_targets). */
int attrib_gradcam_targets(AttribParams *P, AttribResult *R, const int *targets, int n);
int attrib_gradcampp_targets(AttribParams *P, AttribResult *R, const int *targets, int n);
int attrib_hirescam_targets(AttribParams *P, AttribResult *R, const int *targets, int n);
int attrib_xgradcam_targets(AttribParams *P, AttribResult *R, const int *targets, int n);
int attrib_layercam_targets(AttribParams *P, AttribResult *R, const int *targets, int n);
int attrib_eigencam_targets(AttribParams *P, AttribResult *R, const int *targets, int n);
int attrib_eigengradcam_targets(AttribParams *P, AttribResult *R, const int *targets, int n);

/* cam (h,w) = sum_k wk[k] A_k, accumulated in double. */
void cam_weighted_sum(float *cam, const float *wk, const float *act, int K, int h, int w);

/* pytorch-grad-cam's BaseCAM.compute_cam_per_layer + aggregate_multi_layers
   for one layer: cam = max(cam, 0); scale_cam_image(cam, (W,H)): min-max
   (x - min) / (max(x - min) + 1e-7) at layer resolution, then cv2.resize
   INTER_LINEAR (half-pixel centres) to (H,W); max(., 0); min-max again with
   1e-7. cam (h,w) is modified in place; map (H,W) is the result, in [0,1]. */
void cam_finish(float *map, int H, int W, float *cam, int h, int w);

/* Eigen-CAM's projection (pytorch-grad-cam get_2d_projection): the (h*w, K)
   matrix of m (K,h,w) (NaN read as 0), each channel's mean over h*w
   subtracted, projected on its first right singular vector; sign rule: the
   projection is negated when |min| > |max| (its largest-magnitude value is
   positive; pytorch-grad-cam's get_2d_projection_with_sign_correction).
   Computed in double with a Jacobi eigensolver on the smaller Gram matrix
   (h*w x h*w or K x K). proj (h,w). Returns 1 if the rule flipped the sign
   of the eigensolver's vector, 0 if not, -1 on allocation failure. */
int cam_eigen_projection(float *proj, const float *m, int K, int h, int w);

/* Appends "; <formatted>" to R->notes (truncated to fit). */
void cam_note(AttribResult *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Top-`n` channels of wk by value, printed as "k=.. w=.." on one line. */
void cam_narrate_top(FILE *f, const char *what, const float *wk, int K, int n);

#endif
