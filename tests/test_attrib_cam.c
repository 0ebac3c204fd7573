/* test_attrib_cam.c - the CAM family against pytorch-grad-cam.

   Golden maps in tests/data/attrib/cam/<case>/ come from
   tools/make_attrib_golden_cam.py: pytorch-grad-cam (commit 084273b) run with
   ClassifierOutputTarget(target) on torchvision models with the seeded
   weights of tests/detweights.h (resnet18, 1 input channel, 4 classes, seed
   31, layer4; densenet121, 3 channels, 3 classes, seed 32, features.norm5)
   and a real T1 MRI slice at H=96 x W=80 (image.npy, uint8; the network
   input is rebuilt here with the same float32 operations as the script).
   Target: the predicted class (checked against the golden logits).

   Checks, per case:
     - the logits agree with torch's (<= 1e-4 of the largest: an identity
       check that the model and input are the same, not a precision bar);
     - every method's map against the reference run with the model in
       float64, on both paths (fast and reference; Score-CAM and
       Ablation-CAM on the reference path in make test-slow): Pearson r and
       max |ours - ref| of the reference map's range within SPREAD_FACTOR
       times the reference's own float32 spread (tests/check.h,
       tools/golden_spread.py); eigencam / eigengradcam with the documented
       sign rule applied to the reference's projection by the script
       (largest-magnitude value positive);
     - every map lies in [0,1] with no NaN;
     - resnet18 layer3 (a non-default layer that is not a cut: Ablation-CAM
       runs the whole network) for gradcam and ablationcam, and layer1 for
       eigencam (K < h*w), against the reference;
     - batch-size invariance: scorecam and ablationcam with batch 1 and 5
       give the same map bit for bit;
     - a blank (constant) image: every method runs and returns a map in [0,1]
       (Score-CAM on resnet18 only: its densenet run costs ~800 forwards);
     - the narration (P->narrate) names the layer and the top channel weights;
     - several targets at once (run_targets: the gradient CAMs, Eigen-CAM):
       every class, and one class twice, from one call give maps
       bit-identical to one call per target, with ONE forward pass counted
       by the engine's trace (and by R.forward) instead of one per target.
   Timings at this size (1 thread) are printed beside the reference's
   (meta.json, torch 1 thread, measured by the script on the same machine):
   process CPU seconds, the fair measure on a shared machine, and wall. */
#include "attrib/attrib.h"
#include "attrib/cam.h"
#include "engine/engine.h"
#include "io/file.h"
#include "io/json.h"
#include "io/npy.h"
#include "tests/check.h"
#include "tests/detweights.h"
#include "weights/load.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DIR "tests/data/attrib/cam/"
#define IMG_H 96
#define IMG_W 80

typedef struct {
    const char *name, *arch;
    int in_ch, classes;
    uint64_t seed;
    float mean[3], std[3];
    int resnet;          /* the case that also runs the extra layers and batch tests */
} Case;

static const Case cases[] = {
    {"resnet18_c1k4", "resnet18", 1, 4, 31, {0.5f}, {0.25f}, 1},
    {"densenet121_c3k3", "densenet121", 3, 3, 32, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}, 0},
};

/* Non-default layers of the resnet18 case, golden file <method>_<layer>.npy:
   layer3 is not a cut (Ablation-CAM runs the whole network); layer1 has
   fewer channels (64) than positions (24x20), the eigensolver's other branch. */
static const char *extras[][2] = {{"gradcam", "layer3"}, {"ablationcam", "layer3"}, {"eigencam", "layer1"}};

static const char *methods[] = {"gradcam", "gradcampp", "hirescam", "xgradcam", "layercam",
                                "scorecam", "ablationcam", "eigencam", "eigengradcam"};
#define N_METHODS (int)(sizeof methods / sizeof methods[0])
/* The method functions, to check that the registry's names reach them. */
static AttribFn const fns[N_METHODS] = {attrib_gradcam, attrib_gradcampp, attrib_hirescam, attrib_xgradcam,
                                        attrib_layercam, attrib_scorecam, attrib_ablationcam, attrib_eigencam,
                                        attrib_eigengradcam};

static void check_registry(void) {
    int ok = 1;
    for (int i = 0; i < N_METHODS; i++) {
        const AttribMethod *am = attrib_find(methods[i]);
        if (!am || am->run != fns[i] || am->family != FAMILY_CAM) { ok = 0; printf("    %s not registered\n", methods[i]); }
    }
    CHECK(ok, "registry: attrib_find reaches the 9 CAM methods", "see above");
}

typedef struct {
    const Case *c;
    EngModel *m;
    float x[3 * IMG_H * IMG_W];
    int target;
    JsonValue *meta;
} Ctx;

static int load_npy(const char *cs, const char *file, NpyArray *a) {
    char path[512], err[512];
    snprintf(path, sizeof path, DIR "%s/%s", cs, file);
    if (npy_read(path, a, err, sizeof err)) { printf("FAIL load %s: %s\n", path, err); check_failures_++; return -1; }
    return 0;
}

static float *load_map(const char *cs, const char *method) {
    char file[128];
    snprintf(file, sizeof file, "%s.npy", method);
    NpyArray a;
    if (load_npy(cs, file, &a)) return NULL;
    float *v = a.ndim == 2 && a.shape[0] == IMG_H && a.shape[1] == IMG_W ? npy_to_f32(&a) : NULL;
    if (!v) { printf("FAIL %s/%s: expected (%d,%d) float32\n", cs, file, IMG_H, IMG_W); check_failures_++; }
    npy_free(&a);
    return v;
}

static JsonValue *load_meta(const char *cs) {
    char path[512], err[256];
    snprintf(path, sizeof path, DIR "%s/meta.json", cs);
    uint8_t *buf; size_t len;
    if (io_read_file(path, 1 << 20, &buf, &len, err, sizeof err)) return NULL;
    JsonValue *v = json_parse((const char *)buf, len, err, sizeof err);
    free(buf);
    return v;
}

/* x (C,H,W) = (g / 255 - mean_c) / std_c in float32, as the script. */
static int build_input(Ctx *t) {
    NpyArray a;
    if (load_npy(t->c->name, "image.npy", &a)) return -1;
    int ok = a.dtype == NPY_U8 && a.ndim == 2 && a.shape[0] == IMG_H && a.shape[1] == IMG_W;
    if (ok)
        for (int ch = 0; ch < t->c->in_ch; ch++)
            for (int i = 0; i < IMG_H * IMG_W; i++) {
                float v = (float)((const uint8_t *)a.data)[i] / 255.0f;
                t->x[ch * IMG_H * IMG_W + i] = (v - t->c->mean[ch]) / t->c->std[ch];
            }
    npy_free(&a);
    CHECK(ok, "image.npy is (96,80) uint8", "bad image.npy");
    return ok ? 0 : -1;
}

/* Our logits against torch's; the target is the argmax. */
static void check_logits(Ctx *t) {
    AttribParams P;
    attrib_params_default(&P);
    P.model = t->m; P.x = t->x; P.C = t->c->in_ch; P.H = IMG_H; P.W = IMG_W;
    float ours[8];
    NpyArray a;
    if (attrib_logits(&P, NULL, t->x, 1, ours) || load_npy(t->c->name, "logits.npy", &a)) {
        attrib_params_release(&P);
        return;
    }
    float *ref = npy_to_f32(&a);
    size_t wi;
    double e = check_max_rel(ours, ref, t->c->classes, &wi);
    t->target = 0;
    for (int k = 1; k < t->c->classes; k++) if (ref[k] > ref[t->target]) t->target = k;
    char label[128];
    snprintf(label, sizeof label, "%s logits vs torch (max rel err %.2e), target %d", t->c->name, e, t->target);
    CHECK(e <= 1e-4, label, "class %zu: ours %.7g torch %.7g", wi, ours[wi], ref[wi]);
    free(ref);
    npy_free(&a);
    attrib_params_release(&P);
}

/* Runs a method; map (H,W) malloc'd into *map. Returns 0 or -1. */
static int run(Ctx *t, const float *x, const char *method, const char *layer, int batch, float **map,
               AttribResult *out) {
    AttribParams P;
    attrib_params_default(&P);
    P.model = t->m; P.x = x; P.C = t->c->in_ch; P.H = IMG_H; P.W = IMG_W;
    P.target = t->target; P.layer = layer; P.batch = batch;
    AttribResult R;
    memset(&R, 0, sizeof R);
    const AttribMethod *am = attrib_find(method);
    int rc = am && am->run ? am->run(&P, &R) : -1;
    if (rc == 0) {
        *map = R.map;
        R.map = NULL;
        if (out) *out = R;
    } else {
        printf("FAIL %s %s: %s\n", t->c->name, method, am && am->run ? eng_last_error() : "not implemented");
        check_failures_++;
    }
    attrib_result_free(&R);
    attrib_params_release(&P);
    return rc;
}

static void map_stats(const float *a, const float *b, size_t n, double *r, double *err, double *range) {
    double ma = 0, mb = 0, lo = b[0], hi = b[0];
    for (size_t i = 0; i < n; i++) { ma += a[i]; mb += b[i]; if (b[i] < lo) lo = b[i]; if (b[i] > hi) hi = b[i]; }
    ma /= n; mb /= n;
    double sab = 0, saa = 0, sbb = 0, e = 0;
    for (size_t i = 0; i < n; i++) {
        double da = a[i] - ma, db = b[i] - mb;
        sab += da * db; saa += da * da; sbb += db * db;
        if (fabs((double)a[i] - b[i]) > e || a[i] != a[i]) e = a[i] != a[i] ? INFINITY : fabs((double)a[i] - b[i]);
    }
    *r = saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : (saa == sbb ? 1 : 0);
    *err = e;
    *range = hi - lo;
}

static int in_unit_range(const float *m, size_t n) {
    for (size_t i = 0; i < n; i++) if (!(m[i] >= 0 && m[i] <= 1)) return 0;
    return 1;
}

static double ref_seconds(const Ctx *t, const char *which, const char *key) {
    return json_number(json_get(json_get(t->meta, which), key));
}

/* One method (at `layer`, NULL = default) against golden file `golden`
   (pytorch-grad-cam with the model in float64), on both paths, within
   SPREAD_FACTOR times the reference's float32 spread (meta.json spread,
   tools/golden_spread.py). The reference path runs Score-CAM and
   Ablation-CAM (hundreds of passes) only in make test-slow. */
static void golden_one(Ctx *t, const char *method, const char *layer, const char *golden) {
    float *ref = load_map(t->c->name, golden);
    const JsonValue *js = json_get(json_get(t->meta, "spread"), golden);
    CheckSpread sp = {js ? json_number(json_get(js, "r")) : -1, js ? json_number(json_get(js, "err")) : -1};
    int many = !strcmp(method, "scorecam") || !strcmp(method, "ablationcam");
    for (int path = 0; ref && path < 2; path++) {
        if (path && many && !check_slow()) break;
        eng_set_reference(path);
        float *ours = NULL;
        AttribResult R;
        clock_t c0 = clock();
        if (run(t, t->x, method, layer, 0, &ours, &R)) break;
        double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
        size_t n = IMG_H * IMG_W, wi = 0;
        double r = check_pearson(ours, ref, n), err = check_err_of_range(ours, ref, n, &wi);
        char label[320];
        snprintf(label, sizeof label, "%s %s vs pytorch-grad-cam float64%s: r=%.9f max_err=%.2e of range "
                 "(float32 spread r %.9f, err %.2e; bar %gx); cpu %.3f s (reference %.3f s), wall %.3f s "
                 "(reference %.3f s), %ld fwd %ld bwd", t->c->name, golden, path ? " (reference path)" : "", r, err,
                 sp.r, sp.err, SPREAD_FACTOR, cpu, ref_seconds(t, "cpu_seconds", golden), R.seconds,
                 ref_seconds(t, "seconds", golden), R.forward, R.backward);
        CHECK(sp.r >= 0 && check_within_spread(r, err, &sp), label, "worst at %zu: %g vs %g", wi, ours[wi], ref[wi]);
        snprintf(label, sizeof label, "%s %s map in [0,1]%s", t->c->name, golden, path ? " (reference path)" : "");
        CHECK(in_unit_range(ours, n), label, "a value outside [0,1] or NaN");
        if (strstr(method, "eigen") && !path) printf("    notes: %s\n", R.notes);
        free(ours);
    }
    eng_set_reference(0);
    free(ref);
}

static void batch_invariance(Ctx *t, const char *method) {
    float *a = NULL, *b = NULL;
    if (run(t, t->x, method, NULL, 1, &a, NULL) || run(t, t->x, method, NULL, 5, &b, NULL)) { free(a); free(b); return; }
    double r, err, range;
    map_stats(a, b, IMG_H * IMG_W, &r, &err, &range);
    char label[160];
    snprintf(label, sizeof label, "%s %s batch 1 == batch 5, bit for bit (max diff %.2e)", t->c->name, method, err);
    CHECK(err == 0, label, "not bit for bit");
    free(a); free(b);
}

static void blank_image(Ctx *t) {
    float *x = malloc(sizeof(float) * t->c->in_ch * IMG_H * IMG_W);
    for (int ch = 0; ch < t->c->in_ch; ch++)
        for (int i = 0; i < IMG_H * IMG_W; i++) x[ch * IMG_H * IMG_W + i] = (0.0f - t->c->mean[ch]) / t->c->std[ch];
    for (int i = 0; i < N_METHODS; i++) {
        /* Score-CAM's path is the same for both models: its ~800 densenet
           forwards are run on the real image only, to keep the test short. */
        if (!t->c->resnet && !strcmp(methods[i], "scorecam")) continue;
        float *map = NULL;
        AttribResult R;
        if (run(t, x, methods[i], NULL, 0, &map, &R)) continue;
        char label[160];
        snprintf(label, sizeof label, "%s %s on a blank image: map in [0,1] (%ld fwd, %.2f s)", t->c->name,
                 methods[i], R.forward, R.seconds);
        CHECK(in_unit_range(map, IMG_H * IMG_W), label, "a value outside [0,1] or NaN");
        free(map);
    }
    free(x);
}

/* The narration names the layer and prints this image's channel weights. */
static void narration(Ctx *t, const char *method) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    AttribParams P;
    attrib_params_default(&P);
    P.model = t->m; P.x = t->x; P.C = t->c->in_ch; P.H = IMG_H; P.W = IMG_W; P.target = t->target;
    P.narrate = f;
    AttribResult R;
    const AttribMethod *am = attrib_find(method);
    int rc = am->run(&P, &R);
    fclose(f);
    char label[96];
    snprintf(label, sizeof label, "%s %s narration (%zu bytes)", t->c->name, method, len);
    CHECK(rc == 0 && strstr(buf, "layer") && strstr(buf, "top 5"), label, "got: %s", buf ? buf : "");
    if (rc == 0) printf("%s", buf);
    free(buf);
    attrib_result_free(&R);
    attrib_params_release(&P);
}

/* Engine passes seen by the trace: forwards and backwards through the
   network's last node (the classifier). */
typedef struct { int last, forward, backward; } PassCount;

static void count_pass(const EngTraceEvent *ev, void *ctx) {
    PassCount *pc = ctx;
    if (ev->node != pc->last) return;
    if (ev->backward) pc->backward++; else pc->forward++;
}

/* Each target's map with a pass of its own (fresh parameters each time). */
static int single_maps(Ctx *t, const AttribMethod *am, const int *targets, int n, float **maps) {
    for (int i = 0; i < n; i++) {
        AttribParams P;
        attrib_params_default(&P);
        P.model = t->m; P.x = t->x; P.C = t->c->in_ch; P.H = IMG_H; P.W = IMG_W; P.target = targets[i];
        AttribResult R;
        int rc = am->run(&P, &R);
        maps[i] = rc ? NULL : R.map;
        if (rc) attrib_result_free(&R);
        free(R.attr);
        attrib_params_release(&P);
        if (rc) { printf("FAIL %s target %d: %s\n", am->name, targets[i], eng_last_error()); check_failures_++; return -1; }
    }
    return 0;
}

/* run_targets against run per target: maps bit for bit, passes counted. */
static void shared_targets(Ctx *t, const AttribMethod *am) {
    int n = t->c->classes + 1, targets[8];
    for (int i = 0; i < t->c->classes; i++) targets[i] = t->c->classes - 1 - i;
    targets[n - 1] = targets[0]; /* a class asked twice */
    float *single[8] = {0};
    PassCount one = {eng_model_n_nodes(t->m) - 1, 0, 0}, shared = one;
    eng_set_trace(count_pass, &one);
    int rc = single_maps(t, am, targets, n, single);
    eng_set_trace(NULL, NULL);
    AttribParams P;
    attrib_params_default(&P);
    P.model = t->m; P.x = t->x; P.C = t->c->in_ch; P.H = IMG_H; P.W = IMG_W; P.target = 1;
    AttribResult R[8];
    memset(R, 0, sizeof R);
    eng_set_trace(count_pass, &shared);
    if (!rc) rc = am->run_targets(&P, R, targets, n);
    eng_set_trace(NULL, NULL);
    int same = !rc, flags = !rc && P.target == 1;
    long fwd = 0, bwd = 0;
    for (int i = 0; !rc && i < n; i++) {
        same &= memcmp(single[i], R[i].map, sizeof(float) * IMG_H * IMG_W) == 0;
        flags &= R[i].shared_forward == 1 && R[i].attr == NULL;
        fwd += R[i].forward; bwd += R[i].backward;
    }
    char label[200];
    snprintf(label, sizeof label, "%s %s: %d targets in one call == one call per target, bit for bit", t->c->name,
             am->name, n);
    CHECK(same && flags, label, "rc %d, same %d, flags %d", rc, same, flags);
    int want_bwd = strcmp(am->name, "eigencam") ? n : 0;
    snprintf(label, sizeof label, "%s %s: forward passes %d shared vs %d one by one (R.forward %ld), backward %d vs %d",
             t->c->name, am->name, shared.forward, one.forward, fwd, shared.backward, one.backward);
    CHECK(shared.forward == 1 && one.forward == n && fwd == 1 && shared.backward == want_bwd &&
          one.backward == want_bwd && bwd == want_bwd, label, "unexpected counts");
    for (int i = 0; i < n; i++) { free(single[i]); attrib_result_free(&R[i]); }
    attrib_params_release(&P);
}

static void shared_targets_all(Ctx *t) {
    int found = 0;
    for (int i = 0; i < attrib_n_methods(); i++) {
        const AttribMethod *am = attrib_method(i);
        if (!am->run_targets) continue;
        found++;
        shared_targets(t, am);
    }
    CHECK(found == 7, "run_targets: the 5 gradient CAMs, eigencam and eigengradcam", "%d methods have it", found);
}

static void run_case(const Case *c) {
    Ctx t = {.c = c};
    char err[256];
    t.m = weights_model_for_arch(c->arch, c->in_ch, c->classes, err, sizeof err);
    if (!t.m) { printf("FAIL %s: %s\n", c->name, err); check_failures_++; return; }
    detweights_fill_model(t.m, c->seed);
    t.meta = load_meta(c->name);
    CHECK(t.meta != NULL, "meta.json readable", "%s", c->name);
    if (build_input(&t) == 0) {
        check_logits(&t);
        for (int i = 0; i < N_METHODS; i++) golden_one(&t, methods[i], NULL, methods[i]);
        if (c->resnet) {
            for (size_t i = 0; i < sizeof extras / sizeof extras[0]; i++) {
                char g[64];
                snprintf(g, sizeof g, "%s_%s", extras[i][0], extras[i][1]);
                golden_one(&t, extras[i][0], extras[i][1], g);
            }
            narration(&t, "gradcam");
            narration(&t, "ablationcam");
            batch_invariance(&t, "scorecam");
            batch_invariance(&t, "ablationcam");
        }
        blank_image(&t);
        shared_targets_all(&t);
    }
    json_free(t.meta);
    eng_model_free(t.m);
}

int main(void) {
    eng_set_threads(1);
    check_registry();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
    CHECK_DONE();
}
