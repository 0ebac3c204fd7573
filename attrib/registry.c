/* registry.c - the table of methods, in the order `all` runs them and the
   grid shows them. Each method lives in its own file attrib/<name>.c. */
#include "attrib/attrib.h"

#include <string.h>

#define METHOD(fn) int fn(AttribParams *P, AttribResult *R);
METHOD(attrib_gradient) METHOD(attrib_gradxinput) METHOD(attrib_ig) METHOD(attrib_guidedig)
METHOD(attrib_blurig) METHOD(attrib_guidedbackprop) METHOD(attrib_sg_gradient) METHOD(attrib_sg_ig)
METHOD(attrib_sg_guidedig) METHOD(attrib_sg_blurig) METHOD(attrib_xrai) METHOD(attrib_gradcam)
METHOD(attrib_gradcampp) METHOD(attrib_hirescam) METHOD(attrib_xgradcam) METHOD(attrib_layercam)
METHOD(attrib_scorecam) METHOD(attrib_ablationcam) METHOD(attrib_eigencam) METHOD(attrib_eigengradcam)
METHOD(attrib_occlusion) METHOD(attrib_rise) METHOD(attrib_random)
#undef METHOD

static const AttribMethod methods[] = {
    {"gradient", attrib_gradient, FAMILY_GRADIENT, "dF_k/dx (Simonyan et al. 2014)"},
    {"gradxinput", attrib_gradxinput, FAMILY_GRADIENT, "x * dF_k/dx (Shrikumar et al. 2016)"},
    {"ig", attrib_ig, FAMILY_GRADIENT, "Integrated Gradients (Sundararajan et al. 2017), PAIR defaults"},
    {"guidedig", attrib_guidedig, FAMILY_GRADIENT, "Guided IG, adaptive path (Kapishnikov et al. 2021)"},
    {"blurig", attrib_blurig, FAMILY_GRADIENT, "Blur IG, path from a Gaussian blur (Xu et al. 2020)"},
    {"guidedbackprop", attrib_guidedbackprop, FAMILY_GRADIENT, "Guided backprop (Springenberg et al. 2015)"},
    {"sg-gradient", attrib_sg_gradient, FAMILY_GRADIENT, "SmoothGrad over the gradient (Smilkov et al. 2017)"},
    {"sg-ig", attrib_sg_ig, FAMILY_GRADIENT, "SmoothGrad over Integrated Gradients"},
    {"sg-guidedig", attrib_sg_guidedig, FAMILY_GRADIENT, "SmoothGrad over Guided IG"},
    {"sg-blurig", attrib_sg_blurig, FAMILY_GRADIENT, "SmoothGrad over Blur IG"},
    {"xrai", attrib_xrai, FAMILY_REGION, "XRAI region attribution (Kapishnikov et al. 2019)"},
    {"gradcam", attrib_gradcam, FAMILY_CAM, "Grad-CAM (Selvaraju et al. 2017)"},
    {"gradcampp", attrib_gradcampp, FAMILY_CAM, "Grad-CAM++ (Chattopadhay et al. 2018)"},
    {"hirescam", attrib_hirescam, FAMILY_CAM, "HiResCAM (Draelos & Carin 2020)"},
    {"xgradcam", attrib_xgradcam, FAMILY_CAM, "XGrad-CAM (Fu et al. 2020)"},
    {"layercam", attrib_layercam, FAMILY_CAM, "LayerCAM (Jiang et al. 2021)"},
    {"scorecam", attrib_scorecam, FAMILY_CAM, "Score-CAM (Wang et al. 2020)"},
    {"ablationcam", attrib_ablationcam, FAMILY_CAM, "Ablation-CAM (Desai & Ramaswamy 2020)"},
    {"eigencam", attrib_eigencam, FAMILY_CAM, "Eigen-CAM (Muhammad & Yeasin 2020)"},
    {"eigengradcam", attrib_eigengradcam, FAMILY_CAM, "Eigen-CAM on gradient x activation"},
    {"occlusion", attrib_occlusion, FAMILY_PERTURBATION, "Occlusion (Zeiler & Fergus 2014), PAIR's window"},
    {"rise", attrib_rise, FAMILY_PERTURBATION, "RISE random masks (Petsiuk et al. 2018)"},
    {"random", attrib_random, FAMILY_BASELINE, "uniform random map from the seeded generator"},
};

int attrib_n_methods(void) { return (int)(sizeof methods / sizeof methods[0]); }
const AttribMethod *attrib_method(int i) { return (i >= 0 && i < attrib_n_methods()) ? &methods[i] : NULL; }

const AttribMethod *attrib_find(const char *name) {
    for (int i = 0; i < attrib_n_methods(); i++)
        if (!strcmp(methods[i].name, name)) return &methods[i];
    return NULL;
}
