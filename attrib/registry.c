/* registry.c - the table of methods, in the order `all` runs them and the
   grid shows them. Each method lives in its own file attrib/<name>.c. */
#include "attrib/attrib.h"
#include "attrib/cam.h"
#include "attrib/defaults.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define METHOD(fn) int fn(AttribParams *P, AttribResult *R);
METHOD(attrib_gradient) METHOD(attrib_gradxinput) METHOD(attrib_ig) METHOD(attrib_guidedig)
METHOD(attrib_blurig) METHOD(attrib_guidedbackprop) METHOD(attrib_sg_gradient) METHOD(attrib_sg_ig)
METHOD(attrib_sg_guidedig) METHOD(attrib_sg_blurig) METHOD(attrib_xrai) METHOD(attrib_gradcam)
METHOD(attrib_gradcampp) METHOD(attrib_hirescam) METHOD(attrib_xgradcam) METHOD(attrib_layercam)
METHOD(attrib_scorecam) METHOD(attrib_ablationcam) METHOD(attrib_eigencam) METHOD(attrib_eigengradcam)
METHOD(attrib_occlusion) METHOD(attrib_rise) METHOD(attrib_random)
#undef METHOD

/* What each method reads, with its default (defaults.h). */
#define NONE {{AP_END}}
#define BASE {AP_BASELINE, 0, "black"}
#define LAYER {{AP_LAYER, 0, NULL}}
#define SG {AP_SAMPLES, SG_SAMPLES, NULL}, {AP_NOISE, SG_NOISE, NULL}
#define IG {AP_STEPS, IG_STEPS, NULL}, BASE
#define GIG {AP_STEPS, GUIDEDIG_STEPS, NULL}, {AP_FRACTION, GUIDEDIG_FRACTION, NULL}, \
    {AP_MAX_DIST, GUIDEDIG_MAX_DIST, NULL}, BASE
#define BIG {AP_STEPS, BLURIG_STEPS, NULL}, {AP_MAX_SIGMA, BLURIG_MAX_SIGMA, NULL}, \
    {AP_GRAD_STEP, BLURIG_GRAD_STEP, NULL}

static const AttribMethod methods[] = {
    {"gradient", attrib_gradient, FAMILY_GRADIENT, "dF_k/dx (Simonyan et al. 2014)", NONE, NULL},
    {"gradxinput", attrib_gradxinput, FAMILY_GRADIENT, "x * dF_k/dx (Shrikumar et al. 2016)", NONE, NULL},
    {"ig", attrib_ig, FAMILY_GRADIENT, "Integrated Gradients (Sundararajan et al. 2017)", {IG}, NULL},
    {"guidedig", attrib_guidedig, FAMILY_GRADIENT, "Guided IG, adaptive path (Kapishnikov et al. 2021)", {GIG}, NULL},
    {"blurig", attrib_blurig, FAMILY_GRADIENT, "Blur IG, path from a Gaussian blur (Xu et al. 2020)", {BIG}, NULL},
    {"guidedbackprop", attrib_guidedbackprop, FAMILY_GRADIENT, "Guided backprop (Springenberg et al. 2015)", NONE, NULL},
    {"sg-gradient", attrib_sg_gradient, FAMILY_GRADIENT, "SmoothGrad over the gradient (Smilkov et al. 2017)", {SG}, NULL},
    {"sg-ig", attrib_sg_ig, FAMILY_GRADIENT, "SmoothGrad over Integrated Gradients", {SG, IG}, NULL},
    {"sg-guidedig", attrib_sg_guidedig, FAMILY_GRADIENT, "SmoothGrad over Guided IG", {SG, GIG}, NULL},
    {"sg-blurig", attrib_sg_blurig, FAMILY_GRADIENT, "SmoothGrad over Blur IG", {SG, BIG}, NULL},
    {"xrai", attrib_xrai, FAMILY_REGION, "XRAI region attribution (Kapishnikov et al. 2019)",
     {{AP_STEPS, XRAI_STEPS, NULL}, {AP_BASELINE, 0, XRAI_BASELINES}}, NULL},
    {"gradcam", attrib_gradcam, FAMILY_CAM, "Grad-CAM (Selvaraju et al. 2017)", LAYER, attrib_gradcam_targets},
    {"gradcampp", attrib_gradcampp, FAMILY_CAM, "Grad-CAM++ (Chattopadhay et al. 2018)", LAYER, attrib_gradcampp_targets},
    {"hirescam", attrib_hirescam, FAMILY_CAM, "HiResCAM (Draelos & Carin 2020)", LAYER, attrib_hirescam_targets},
    {"xgradcam", attrib_xgradcam, FAMILY_CAM, "XGrad-CAM (Fu et al. 2020)", LAYER, attrib_xgradcam_targets},
    {"layercam", attrib_layercam, FAMILY_CAM, "LayerCAM (Jiang et al. 2021)", LAYER, attrib_layercam_targets},
    {"scorecam", attrib_scorecam, FAMILY_CAM, "Score-CAM (Wang et al. 2020)", LAYER, NULL},
    {"ablationcam", attrib_ablationcam, FAMILY_CAM, "Ablation-CAM (Desai & Ramaswamy 2020)", LAYER, NULL},
    {"eigencam", attrib_eigencam, FAMILY_CAM, "Eigen-CAM (Muhammad & Yeasin 2020)", LAYER, attrib_eigencam_targets},
    {"eigengradcam", attrib_eigengradcam, FAMILY_CAM, "Eigen-CAM on gradient x activation", LAYER, attrib_eigengradcam_targets},
    {"occlusion", attrib_occlusion, FAMILY_PERTURBATION, "Occlusion (Zeiler & Fergus 2014)",
     {{AP_WINDOW, OCC_WINDOW, NULL}, {AP_STRIDE, OCC_STRIDE, NULL}}, NULL},
    {"rise", attrib_rise, FAMILY_PERTURBATION, "RISE random masks (Petsiuk et al. 2018)",
     {{AP_MASKS, RISE_MASKS, NULL}, {AP_GRID, RISE_GRID, NULL}, {AP_PROB, RISE_PROB, NULL}}, NULL},
    {"random", attrib_random, FAMILY_BASELINE, "uniform random map from the seeded generator", NONE, NULL},
};

int attrib_n_methods(void) { return (int)(sizeof methods / sizeof methods[0]); }
const AttribMethod *attrib_method(int i) { return (i >= 0 && i < attrib_n_methods()) ? &methods[i] : NULL; }

const AttribMethod *attrib_find(const char *name) {
    for (int i = 0; i < attrib_n_methods(); i++)
        if (!strcmp(methods[i].name, name)) return &methods[i];
    return NULL;
}

const char *attrib_family_name(AttribFamily f) {
    switch (f) {
    case FAMILY_GRADIENT: return "gradient";
    case FAMILY_REGION: return "region";
    case FAMILY_CAM: return "cam";
    case FAMILY_PERTURBATION: return "perturbation";
    case FAMILY_BASELINE: return "baseline";
    }
    return "?";
}

/* ---- parameters ---- */

static const AttribParamInfo param_info[AP_COUNT] = {
    [AP_STEPS] = {"steps", "--steps", PARAM_INT, 1, 100000, "path steps (IG, Guided IG, Blur IG, XRAI's IG)"},
    [AP_SAMPLES] = {"samples", "--samples", PARAM_INT, 1, 100000, "SmoothGrad: noisy samples"},
    [AP_NOISE] = {"noise", "--noise", PARAM_REAL, 0, 100, "SmoothGrad: noise sigma as a share of max(x) - min(x)"},
    [AP_FRACTION] = {"fraction", "--fraction", PARAM_REAL, 0, 1, "Guided IG: share of the features moved per step"},
    [AP_MAX_DIST] = {"max_dist", "--max-dist", PARAM_REAL, 0, 1,
                     "Guided IG: largest L1 distance from the straight path, as a share of |x - x'|"},
    [AP_MAX_SIGMA] = {"max_sigma", "--max-sigma", PARAM_REAL, 0, 1e6,
                      "Blur IG: sigma of the most blurred image (also the blur baseline's)"},
    [AP_GRAD_STEP] = {"grad_step", "--grad-step", PARAM_REAL, 0, 1e6, "Blur IG: sigma step of the blur derivative"},
    [AP_WINDOW] = {"window", "--occ-window", PARAM_INT, 1, 4096, "occlusion: window side, pixels"},
    [AP_STRIDE] = {"stride", "--stride", PARAM_INT, 1, 4096, "occlusion: stride, pixels"},
    [AP_MASKS] = {"masks", "--masks", PARAM_INT, 1, 1000000, "RISE: random masks"},
    [AP_GRID] = {"grid", "--grid", PARAM_INT, 2, 4096, "RISE: mask grid side, cells"},
    [AP_PROB] = {"prob", "--prob", PARAM_REAL, 0, 1, "RISE: probability that a grid cell is kept"},
    [AP_BASELINE] = {"baseline", "--baseline", PARAM_TEXT, 0, 0,
                     "path start: " ATTRIB_BASELINE_NAMES ", or FILE.npy (C,H,W)"},
    [AP_LAYER] = {"layer", "--layer", PARAM_TEXT, 0, 0,
                  "CAM layer (default: ResNet layer4, DenseNet features.norm5)"},
};

const AttribParamInfo *attrib_param_info(AttribParamId id) {
    return id > AP_END && id < AP_COUNT ? &param_info[id] : NULL;
}

AttribParamId attrib_param_by_key(const char *key) {
    for (int id = AP_END + 1; id < AP_COUNT; id++)
        if (!strcmp(param_info[id].key, key)) return (AttribParamId)id;
    return AP_END;
}

/* The numeric fields of AttribParams, by parameter. */
static const struct { size_t off; int is_int; } param_field[AP_COUNT] = {
    [AP_STEPS] = {offsetof(AttribParams, steps), 1}, [AP_SAMPLES] = {offsetof(AttribParams, samples), 1},
    [AP_NOISE] = {offsetof(AttribParams, noise), 0}, [AP_FRACTION] = {offsetof(AttribParams, fraction), 0},
    [AP_MAX_DIST] = {offsetof(AttribParams, max_dist), 0}, [AP_MAX_SIGMA] = {offsetof(AttribParams, max_sigma), 0},
    [AP_GRAD_STEP] = {offsetof(AttribParams, grad_step), 0}, [AP_WINDOW] = {offsetof(AttribParams, window), 1},
    [AP_STRIDE] = {offsetof(AttribParams, stride), 1}, [AP_MASKS] = {offsetof(AttribParams, masks), 1},
    [AP_GRID] = {offsetof(AttribParams, grid), 1}, [AP_PROB] = {offsetof(AttribParams, prob), 0},
};

static int is_numeric(AttribParamId id) { return id > AP_END && id < AP_COUNT && param_info[id].type != PARAM_TEXT; }

double attrib_param_field(const AttribParams *P, AttribParamId id) {
    if (!is_numeric(id)) return 0;
    const char *f = (const char *)P + param_field[id].off;
    return param_field[id].is_int ? *(const int *)f : *(const double *)f;
}

void attrib_param_set_field(AttribParams *P, AttribParamId id, double v) {
    if (!is_numeric(id)) return;
    char *f = (char *)P + param_field[id].off;
    if (param_field[id].is_int) *(int *)f = (int)v;
    else *(double *)f = v;
}

double attrib_param_or(const AttribParams *P, AttribParamId id, double def) {
    double v = attrib_param_field(P, id);
    return v > 0 && v <= param_info[id].hi ? v : def;
}

int attrib_method_reads(const AttribMethod *m, AttribParamId id, const AttribParamDefault **d) {
    for (int i = 0; i < ATTRIB_MAX_PARAMS && m->params[i].id != AP_END; i++)
        if (m->params[i].id == id) {
            if (d) *d = &m->params[i];
            return 1;
        }
    return 0;
}

int attrib_method_uses_seed(const AttribMethod *m, const AttribParams *P) {
    if (m->family == FAMILY_BASELINE) return 1;   /* the random map */
    if (attrib_method_reads(m, AP_SAMPLES, NULL) || attrib_method_reads(m, AP_MASKS, NULL)) return 1;
    return attrib_method_reads(m, AP_BASELINE, NULL) && P->baseline == BASELINE_UNIFORM;
}

double attrib_method_param(const AttribMethod *m, const AttribParams *P, AttribParamId id) {
    const AttribParamDefault *d;
    if (!is_numeric(id) || !attrib_method_reads(m, id, &d)) return 0;
    return attrib_param_or(P, id, d->def);
}

/* ---- baselines ---- */

static const char *const baseline_names[] = {
    [BASELINE_BLACK] = "black", [BASELINE_WHITE] = "white", [BASELINE_ZERO] = "zero",
    [BASELINE_BLUR] = "blur", [BASELINE_UNIFORM] = "uniform", [BASELINE_FILE] = "file",
};

const char *attrib_baseline_name(BaselineKind b) {
    return b >= BASELINE_BLACK && b <= BASELINE_FILE ? baseline_names[b] : "?";
}

int attrib_baseline_parse(const char *name, BaselineKind *out) {
    for (int b = BASELINE_BLACK; b < BASELINE_FILE; b++)
        if (!strcmp(name, baseline_names[b])) { *out = (BaselineKind)b; return 0; }
    return -1;
}

void attrib_method_defaults_text(const AttribMethod *m, char *buf, size_t n) {
    size_t L = 0;
    buf[0] = 0;
    for (int i = 0; i < ATTRIB_MAX_PARAMS && m->params[i].id != AP_END && L < n; i++) {
        const AttribParamDefault *d = &m->params[i];
        const AttribParamInfo *pi = attrib_param_info(d->id);
        if (pi->type == PARAM_TEXT)
            L += (size_t)snprintf(buf + L, n - L, "%s%s %s", L ? ", " : "", pi->key, d->text_def ? d->text_def : "(model's)");
        else L += (size_t)snprintf(buf + L, n - L, "%s%s %g", L ? ", " : "", pi->key, d->def);
    }
}
