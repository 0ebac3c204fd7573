/* test_models.c - whole models against PyTorch.

   Each case in tests/data/golden/<case>/ was produced by
   tools/make_engine_golden.py: torchvision's model with the deterministic
   seeded weights of tests/detweights.h (batchnorm statistics and affine
   parameters far from the defaults), a seeded input x, and torch's logits,
   input gradient of sum_n logit_K, and two named layers' activation and
   gradient. Here the same weights are written to a safetensors file (F32,
   or F16 for resnet50), loaded back through weights_load (architecture,
   classes and channels detected from the file), and run.

   Bar: max |ours - torch| <= 1e-4 * max |torch| for every tensor. PyTorch's
   own float32-vs-float64 error on these cases is recorded in meta.json
   (torch_f32_vs_f64_rel_err), about 1e-6, so the bar leaves a margin of ~100
   over float32 rounding while catching any real mistake (a wrong padding or
   epsilon gives errors of 1e-2 and more).

   Also: forward-only logits == taped logits bit for bit; one image at a
   time == the batch (batch invariance, <= 1e-5); the reference path
   (double-accumulating loops) against torch; the whole network's
   gradient integrated along a segment against its forward difference;
   BF16 loading. */
#include "engine/engine.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "io/file.h"
#include "io/json.h"
#include "io/npy.h"
#include "tests/check.h"
#include "tests/detweights.h"
#include "tests/st_writer.h"
#include "weights/load.h"

#include <string.h>
#include <unistd.h>

#define GOLDEN "tests/data/golden/"
#define BAR 1e-4

typedef struct {
    const char *name, *arch, *dtype;
    int in_ch, classes, K;
    uint64_t seed;
    const char *layers[2];
    const char *meta;  /* extra __metadata__ entries, or NULL */
} Case;

static const Case cases[] = {
    {"resnet18_c1k10", "resnet18", "F32", 1, 10, 3, 1, {"layer3", "layer4.1.conv2"}, NULL},
    {"resnet50_c3k1000_f16", "resnet50", "F16", 3, 1000, 417, 2, {"layer4", "layer2.0.downsample.0"}, NULL},
    {"densenet121_c3k5", "densenet121", "F32", 3, 5, 2, 3, {"features.denseblock3", "features.norm5"}, NULL},
    /* 112x112: layer1 (28x28) runs Winograd convolutions both ways */
    {"resnet18_c1k10_112", "resnet18", "F32", 1, 10, 5, 4, {"layer3", "layer4"}, NULL},
    /* output stride 16 (layer4 without stride), named by the file's metadata */
    {"resnet18_os16_c1k4", "resnet18-os16", "F32", 1, 4, 2, 6, {"layer4.0", "layer4"}, "\"output_stride\":\"16\""},
};

static float *load_golden(const char *dir, const char *file, NpyArray *a) {
    char path[512], err[512];
    snprintf(path, sizeof path, "%s%s/%s", GOLDEN, dir, file);
    if (npy_read(path, a, err, sizeof err)) { printf("FAIL load %s: %s\n", path, err); return NULL; }
    return npy_to_f32(a);
}

/* The golden's meta.json: torch_f32_spread_rel_err[key], the worst max_rel
   of torch's float32 runs (plain and last-bit perturbed weights) against
   its float64 run (tools/golden_spread.py). -1 if missing. */
static double torch_spread(const char *dir, const char *key) {
    char path[512], err[256];
    snprintf(path, sizeof path, "%s%s/meta.json", GOLDEN, dir);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (io_read_file(path, 1 << 20, &buf, &len, err, sizeof err)) return -1;
    JsonValue *v = json_parse((const char *)buf, len, err, sizeof err);
    free(buf);
    const JsonValue *s = json_get(json_get(v, "torch_f32_spread_rel_err"), key);
    double r = s ? json_number(s) : -1;
    json_free(v);
    return r;
}

/* ours against torch's float32 tensor: each sits within SPREAD_FACTOR
   (ours) and 1 (torch) times torch's float32 spread of the float64 truth,
   so the two within (SPREAD_FACTOR + 1) spreads of each other (floor: 1e-6,
   float32's resolution of a sum of thousands of terms). */
static void compare(const Case *c, const char *key, const char *label, const float *ours, const float *ref, size_t n) {
    size_t wi;
    double e = check_max_rel(ours, ref, n, &wi), sp = torch_spread(c->name, key);
    double bar = fmax((SPREAD_FACTOR + 1) * sp, 1e-6);
    CHECK(sp >= 0 && e <= bar, label, "max rel err %.3g at %zu (ours %.7g, torch %.7g), bar %.2g (torch float32 spread %.2g)",
          e, wi, ours[wi], ref[wi], bar, sp);
    if (sp >= 0 && e <= bar) printf("    %s: max rel err %.2e (bar %.2e)\n", label, e, bar);
}

static EngModel *make_and_load(const Case *c) {
    char err[512], path[256];
    EngModel *gen = weights_model_for_arch(c->arch, c->in_ch, c->classes, err, sizeof err);
    if (!gen) { printf("FAIL %s build: %s\n", c->name, err); return NULL; }
    detweights_fill_model(gen, c->seed);
    if (!strcmp(c->dtype, "F16"))
        for (int i = 0; i < eng_model_n_params(gen); i++) {
            EngParam *p = eng_model_param(gen, i);
            for (size_t k = 0; k < p->numel; k++) p->data[k] = detweights_round_f16(p->data[k]);
        }
    snprintf(path, sizeof path, "/tmp/salient_test_%s_%d.safetensors", c->name, (int)getpid());
    char meta[256];
    snprintf(meta, sizeof meta, "\"input_size\":\"64\"%s%s", c->meta ? "," : "", c->meta ? c->meta : "");
    if (stw_write_model(path, gen, c->dtype, meta)) { printf("FAIL %s write\n", c->name); return NULL; }
    WeightsInfo info;
    EngModel *m = weights_load(path, NULL, &info, err, sizeof err);
    unlink(path);
    char label[160];
    snprintf(label, sizeof label, "%s loads from %s safetensors with detected arch", c->name, c->dtype);
    CHECK(m && !strcmp(info.arch, c->arch) && info.n_classes == c->classes && info.in_channels == c->in_ch &&
              info.input_size == 64,
          label, "%s", m ? "detected something else" : err);
    if (!m) { eng_model_free(gen); return NULL; }
    int same = 1;
    for (int i = 0; i < eng_model_n_params(gen) && same; i++) {
        EngParam *a = eng_model_param(gen, i), *b = eng_model_param_find(m, a->name);
        same = b && !memcmp(a->data, b->data, a->numel * sizeof(float));
    }
    snprintf(label, sizeof label, "%s loaded weights equal the generated ones bit for bit", c->name);
    CHECK(same, label, "a tensor differs");
    weights_info_free(&info);
    eng_model_free(gen);
    return m;
}

/* ENG_TAPE_GRAD (fused chains, fewer kept activations) gives the input
   gradient of ENG_TAPE bit for bit; a layer marked with eng_pass_keep stays
   readable and equal; weight gradients are refused, not wrong. */
static void tape_grad_case(const Case *c, EngModel *m, EngPass *p, const float *x, size_t nx, const float *seed,
                           int N, int H, int W) {
    char label[200];
    int node = eng_model_node_find(m, c->layers[1]);
    size_t na = eng_pass_node_numel(p, node);
    eng_pass_forward(p, x, ENG_TAPE);
    eng_pass_backward(p, seed, NULL);
    float *g_all = malloc(sizeof(float) * nx), *a_all = malloc(sizeof(float) * na);
    memcpy(g_all, eng_pass_input_grad(p), sizeof(float) * nx);
    memcpy(a_all, eng_pass_act(p, node), sizeof(float) * na);
    EngPass *q = eng_pass_new(m, N, H, W);
    eng_pass_keep(q, node);
    eng_pass_forward(q, x, ENG_TAPE_GRAD);
    snprintf(label, sizeof label, "%s ENG_TAPE_GRAD fused chains and kept %s", c->name, c->layers[1]);
    const float *a = eng_pass_act(q, node);
    CHECK(eng_pass_fused(q) >= 2 && a && !memcmp(a, a_all, sizeof(float) * na), label, "%d fused, act %s",
          eng_pass_fused(q), a ? "differs" : "missing");
    int keep0 = 0;  /* only the input gradient kept: the fused groups' backward runs too */
    EngBackwardOpts ko = {.keep_grads = &keep0, .n_keep_grads = 1};
    eng_pass_backward(q, seed, &ko);
    snprintf(label, sizeof label, "%s ENG_TAPE_GRAD input gradient == ENG_TAPE's, bit for bit", c->name);
    CHECK(!memcmp(eng_pass_input_grad(q), g_all, sizeof(float) * nx), label, "they differ");
    EngBackwardOpts po = {.param_grads = 1};
    snprintf(label, sizeof label, "%s ENG_TAPE_GRAD refuses weight gradients", c->name);
    CHECK(eng_pass_backward(q, seed, &po) != 0, label, "it ran");
    /* eng_pass_set_batch: the pass made for N runs 1 image, then N again
       (its taped buffers grow back), with the same results */
    if (N > 1) {
        EngPass *r = eng_pass_new(m, N, H, W);
        int rc = eng_pass_set_batch(r, 1) || eng_pass_forward(r, x, ENG_TAPE_GRAD) ||
                 eng_pass_backward(r, seed, &ko);
        double e1 = rc ? 1 : check_max_rel(eng_pass_input_grad(r), g_all, nx / N, NULL);
        rc = rc || eng_pass_set_batch(r, N) || eng_pass_forward(r, x, ENG_TAPE_GRAD) ||
             eng_pass_backward(r, seed, &ko);
        int same = !rc && !memcmp(eng_pass_input_grad(r), g_all, sizeof(float) * nx);
        snprintf(label, sizeof label, "%s a pass for %d runs 1 image, then %d again", c->name, N, N);
        CHECK(!rc && e1 <= 1e-5 && same && eng_pass_set_batch(r, N + 1) != 0, label,
              "rc %d, 1-image grad rel err %.3g, batch grad %s", rc, e1, same ? "same" : "differs");
        eng_pass_free(r);
    }
    eng_pass_free(q);
    free(g_all); free(a_all);
}

static void run_case(const Case *c) {
    NpyArray ax, al, ag;
    float *x = load_golden(c->name, "x.npy", &ax), *logits = load_golden(c->name, "logits.npy", &al),
          *grad = load_golden(c->name, "grad.npy", &ag);
    if (!x || !logits || !grad) { check_failures_++; return; }
    EngModel *m = make_and_load(c);
    if (!m) { check_failures_++; return; }
    int N = (int)ax.shape[0], H = (int)ax.shape[2], W = (int)ax.shape[3], K = c->classes;
    EngPass *p = eng_pass_new(m, N, H, W);
    char label[200];
    float *seed = calloc((size_t)N * K, sizeof(float));
    for (int n = 0; n < N; n++) seed[n * K + c->K] = 1;
    /* against torch on both paths: the fast one, then the reference */
    for (int path = 1; path >= 0; path--) {
        const char *pn = path ? " (reference path)" : "";
        eng_set_reference(path);
        eng_pass_forward(p, x, ENG_TAPE);
        snprintf(label, sizeof label, "%s logits%s", c->name, pn);
        compare(c, "logits", label, eng_pass_output(p), logits, (size_t)N * K);
        eng_pass_backward(p, seed, NULL);
        snprintf(label, sizeof label, "%s input gradient%s", c->name, pn);
        compare(c, "grad", label, eng_pass_input_grad(p), grad, ax.numel);
        for (int l = 0; l < 2; l++) {
            int node = eng_model_node_find(m, c->layers[l]);
            char f[160], key[96];
            NpyArray aa, ga;
            snprintf(f, sizeof f, "act_%s.npy", c->layers[l]);
            float *act = load_golden(c->name, f, &aa);
            snprintf(f, sizeof f, "grad_%s.npy", c->layers[l]);
            float *lg = load_golden(c->name, f, &ga);
            snprintf(label, sizeof label, "%s layer %s found with torch's shape%s", c->name, c->layers[l], pn);
            CHECK(node >= 0 && act && lg && eng_pass_node_numel(p, node) == aa.numel, label, "node %d", node);
            if (node >= 0 && act && lg && eng_pass_node_numel(p, node) == aa.numel) {
                snprintf(label, sizeof label, "%s %s activation%s", c->name, c->layers[l], pn);
                snprintf(key, sizeof key, "act_%s", c->layers[l]);
                compare(c, key, label, eng_pass_act(p, node), act, aa.numel);
                snprintf(label, sizeof label, "%s %s gradient%s", c->name, c->layers[l], pn);
                snprintf(key, sizeof key, "grad_%s", c->layers[l]);
                compare(c, key, label, eng_pass_grad(p, node), lg, ga.numel);
            }
            free(act); free(lg);
            if (act) npy_free(&aa);
            if (lg) npy_free(&ga);
        }
    }
    eng_set_reference(0);
    /* forward-only == taped, bit for bit */
    float *taped = malloc(sizeof(float) * N * K);
    memcpy(taped, eng_pass_output(p), sizeof(float) * N * K);
    eng_pass_forward(p, x, ENG_FORWARD_ONLY);
    snprintf(label, sizeof label, "%s forward-only logits == taped logits", c->name);
    CHECK(!memcmp(taped, eng_pass_output(p), sizeof(float) * N * K), label, "they differ");
    /* ... and that forward-only run went through the fused conv/bn/add/relu groups */
    snprintf(label, sizeof label, "%s forward-only run fused its conv/bn/relu chains", c->name);
    CHECK(eng_pass_fused(p) >= 2, label, "%d nodes absorbed", eng_pass_fused(p));
    tape_grad_case(c, m, p, x, ax.numel, seed, N, H, W);
    /* one thread (OpenBLAS and the engine's own) gives the same bits as all cores */
    eng_set_threads(1);
    eng_pass_forward(p, x, ENG_FORWARD_ONLY);
    snprintf(label, sizeof label, "%s one thread == all threads, bit for bit", c->name);
    CHECK(!memcmp(taped, eng_pass_output(p), sizeof(float) * N * K), label, "they differ");
    eng_set_threads(0);
    /* batch invariance */
    if (N > 1) {
        EngPass *p1 = eng_pass_new(m, 1, H, W);
        double worst = 0;
        for (int n = 0; n < N; n++) {
            eng_pass_forward(p1, x + (size_t)n * ax.numel / N, ENG_FORWARD_ONLY);
            double e = check_max_rel(eng_pass_output(p1), taped + (size_t)n * K, K, NULL);
            if (e > worst) worst = e;
        }
        snprintf(label, sizeof label, "%s one image at a time == the batch, bit for bit", c->name);
        CHECK(worst == 0, label, "max rel err %.3g", worst);
        eng_pass_free(p1);
    }
    /* directional check of the whole network in a random direction d. The
       network is piecewise linear-ish (ReLU, max pool) with kinks far
       closer together than any float32 step can resolve (measured on this
       resnet18 at 64x64: the secant at steps 1e-5..1e-2 moves from -4.0 to
       -12.2 around a gradient of -8.5), so a secant against the gradient at
       the centre only measures where the kinks fall. What holds exactly is
       the fundamental theorem of calculus:
           L(x + e d) - L(x - e d) = integral over t in [-e, e] of <grad L(x + t d), d> dt,
       which this checks with the midpoint rule on S points, L = sum_n logit_K.
       The step e = 1e-2 keeps float32 rounding of L (ulp 2e-6 at |L| 30)
       under 1e-4 of the difference; with S = 64 the rule's error is the
       kinks between the midpoints (measured: 0.28% here); the bar is 1%.
       A wrong backward op (a missed term, a wrong padding) moves the
       integral by far more than the forward secant. */
    if (!strncmp(c->arch, "resnet18", 8) && H <= 64) {
        EngRng r;
        eng_rng_seed(&r, 7);
        enum { S = 64 };
        const float e = 1e-2f;
        float *d = malloc(sizeof(float) * ax.numel), *xp = malloc(sizeof(float) * ax.numel);
        for (size_t i = 0; i < ax.numel; i++) d[i] = (float)eng_rng_normal(&r);
        double integral = 0, L[2];
        for (int j = 0; j < S; j++) {
            float t = -e + (2 * e) * ((float)j + 0.5f) / S;
            for (size_t i = 0; i < ax.numel; i++) xp[i] = x[i] + t * d[i];
            eng_pass_forward(p, xp, ENG_TAPE);
            eng_pass_backward(p, seed, NULL);
            double gd = 0;
            for (size_t i = 0; i < ax.numel; i++) gd += (double)eng_pass_input_grad(p)[i] * d[i];
            integral += gd * (2.0 * e / S);
        }
        for (int s = 0; s < 2; s++) {
            for (size_t i = 0; i < ax.numel; i++) xp[i] = x[i] + (s ? -e : e) * d[i];
            eng_pass_forward(p, xp, ENG_FORWARD_ONLY);
            L[s] = 0;
            for (int n = 0; n < N; n++) L[s] += eng_pass_output(p)[n * K + c->K];
        }
        double diff = L[0] - L[1];
        snprintf(label, sizeof label, "%s whole network: L(x+ed) - L(x-ed) = integral of <grad, d> (midpoint, %d points)",
                 c->name, S);
        CHECK(fabs(diff - integral) <= 1e-2 * fabs(diff), label, "difference %.6g vs integral %.6g", diff, integral);
        printf("    whole network: difference %.7g, integral of the gradient %.7g (rel %.2e)\n", diff, integral,
               fabs(diff - integral) / fabs(diff));
        free(d); free(xp);
    }
    free(taped); free(seed);
    eng_pass_free(p);
    eng_model_free(m);
    free(x); free(logits); free(grad);
    npy_free(&ax); npy_free(&al); npy_free(&ag);
}

/* The Winograd weights are made again when a weight changes between passes
   (as MPRT does): a pass after the change equals the reference path's on
   the changed weights, and one after restoring them the first pass. */
static void test_winograd_weights_follow_changes(const Case *c) {
    NpyArray ax;
    float *x = load_golden(c->name, "x.npy", &ax);
    EngModel *m = x ? make_and_load(c) : NULL;
    if (!m) { check_failures_++; free(x); if (x) npy_free(&ax); return; }
    int N = (int)ax.shape[0], H = (int)ax.shape[2], W = (int)ax.shape[3], K = c->classes;
    EngPass *p = eng_pass_new(m, N, H, W);
    const EngNode *conv = eng_model_node(m, eng_model_node_find(m, "layer1.0.conv1"));
    ConvShape s;
    conv_shape_init(&s, N, 64, conv->h, conv->w, 64, 3, 3, 1, 1, 1);
    CHECK(conv_wino_ok(&s, 0) && conv_wino_ok(&s, 1), "resnet18 at 112: layer1's convs run as Winograd both ways",
          "conv_wino_ok says no for a %dx%d plane", conv->h, conv->w);
    EngParam *w = eng_model_param_find(m, "layer1.0.conv1.weight");
    float *before = malloc(sizeof(float) * K), *saved = malloc(sizeof(float) * w->numel);
    eng_pass_forward(p, x, ENG_FORWARD_ONLY);
    memcpy(before, eng_pass_output(p), sizeof(float) * K * N);
    memcpy(saved, w->data, sizeof(float) * w->numel);
    for (size_t i = 0; i < w->numel; i++) w->data[i] = -2.0f * w->data[i];
    float *changed = malloc(sizeof(float) * K * N);
    eng_pass_forward(p, x, ENG_FORWARD_ONLY);
    memcpy(changed, eng_pass_output(p), sizeof(float) * K * N);
    eng_set_reference(1);
    eng_pass_forward(p, x, ENG_FORWARD_ONLY);
    eng_set_reference(0);
    double e = check_max_rel(changed, eng_pass_output(p), (size_t)K * N, NULL);
    double moved = check_max_rel(before, changed, (size_t)K * N, NULL);
    CHECK(e <= BAR && moved > 1e-2, "a changed conv weight reaches the Winograd path's next pass",
          "fast vs reference %.3g (bar %.0e), change moved the logits by %.3g", e, BAR, moved);
    memcpy(w->data, saved, sizeof(float) * w->numel);
    eng_pass_forward(p, x, ENG_FORWARD_ONLY);
    CHECK(!memcmp(before, eng_pass_output(p), sizeof(float) * K * N), "restored weights give the first bits again",
          "they differ");
    free(before); free(saved); free(changed);
    eng_pass_free(p);
    eng_model_free(m);
    free(x);
    npy_free(&ax);
}

static void test_bf16_and_errors(void) {
    char err[512], path[128];
    EngModel *gen = eng_resnet(18, 3, 7);
    detweights_fill_model(gen, 5);
    snprintf(path, sizeof path, "/tmp/salient_test_bf16_%d.safetensors", (int)getpid());
    stw_write_model(path, gen, "BF16", NULL);
    EngModel *m = weights_load(path, NULL, NULL, err, sizeof err);
    int ok = m != NULL;
    for (int i = 0; ok && i < eng_model_n_params(gen); i++) {
        EngParam *a = eng_model_param(gen, i), *b = eng_model_param_find(m, a->name);
        for (size_t k = 0; ok && k < a->numel; k++) {
            uint16_t h = stw_f32_to_bf16(a->data[k]);
            uint32_t u = (uint32_t)h << 16;
            float want;
            memcpy(&want, &u, 4);
            ok = b->data[k] == want;
        }
    }
    CHECK(ok, "BF16 weights load as their exact float32 values", "%s", m ? "a value differs" : err);
    eng_model_free(m);
    /* --arch that does not fit the file: a clear error naming a tensor */
    m = weights_load(path, "resnet34", NULL, err, sizeof err);
    CHECK(!m && strstr(err, "layer1.2.conv1.weight"), "wrong --arch names the missing tensor", "got: %s", m ? "(loaded)" : err);
    eng_model_free(m);
    /* a shape that does not fit: the fc of another class count under a forced arch is fine,
       but a resnet50 file forced to resnet18 must fail with both shapes shown */
    EngModel *r50 = eng_resnet(50, 3, 7);
    stw_write_model(path, r50, "F16", NULL);
    m = weights_load(path, "resnet18", NULL, err, sizeof err);
    CHECK(!m && strstr(err, "shape") && strstr(err, "needs"), "shape mismatch shows both shapes", "got: %s",
          m ? "(loaded)" : err);
    eng_model_free(m);
    eng_model_free(r50);
    unlink(path);
    eng_model_free(gen);
}

/* Output stride 16: layer4 keeps layer3's resolution (14x14 at 224 px
   where torchvision's resnet has 7x7) with the same parameters; a clone
   keeps the variant; metadata asking for another stride, or for a stride
   on a DenseNet, is refused with a message. */
static void test_output_stride(void) {
    char err[512], path[128];
    EngModel *a = eng_resnet(18, 1, 4), *b = eng_resnet_os(18, 1, 4, 16);
    int h[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        EngModel *m = k ? b : a;
        EngPass *p = eng_pass_new(m, 1, 224, 224);
        const EngNode *n = p ? eng_model_node(m, eng_model_node_find(m, "layer4")) : NULL;
        h[k] = n ? n->h * 1000 + n->w : -1;
        eng_pass_free(p);
    }
    CHECK(h[0] == 7007 && h[1] == 14014 && eng_model_n_params(a) == eng_model_n_params(b),
          "output stride 16: layer4 is 14x14 at 224 px (7x7 at stride 32), same parameters", "layer4 %d / %d", h[0], h[1]);
    EngModel *c = eng_model_clone(b);
    CHECK(c && !strcmp(eng_model_arch(c), "resnet18-os16"), "a clone keeps output stride 16", "arch %s",
          c ? eng_model_arch(c) : eng_last_error());
    eng_model_free(c);
    CHECK(!eng_resnet_os(18, 1, 4, 8) && strstr(eng_last_error(), "stride"), "eng_resnet_os refuses stride 8",
          "built it");
    snprintf(path, sizeof path, "/tmp/salient_test_os_%d.safetensors", (int)getpid());
    stw_write_model(path, a, "F32", "\"output_stride\":\"8\"");
    EngModel *m = weights_load(path, NULL, NULL, err, sizeof err);
    CHECK(!m && strstr(err, "output_stride"), "metadata output_stride=8 is refused by name", "got: %s",
          m ? "(loaded)" : err);
    eng_model_free(m);
    stw_write_model(path, a, "F32", "\"output_stride\":\"32\"");
    m = weights_load(path, NULL, NULL, err, sizeof err);
    CHECK(m && !strcmp(eng_model_arch(m), "resnet18"), "metadata output_stride=32 is torchvision's resnet", "got: %s",
          m ? eng_model_arch(m) : err);
    eng_model_free(m);
    EngModel *d = eng_densenet(121, 1, 4);
    stw_write_model(path, d, "F16", "\"output_stride\":\"16\"");
    m = weights_load(path, NULL, NULL, err, sizeof err);
    CHECK(!m && strstr(err, "ResNet"), "output_stride=16 on a DenseNet is refused", "got: %s", m ? "(loaded)" : err);
    eng_model_free(m);
    eng_model_free(d);
    unlink(path);
    eng_model_free(a);
    eng_model_free(b);
}

/* Metadata intensity_percentile: read into WeightsInfo, absent = 0, and a
   value that is not one number in (0, 100] refused by name (it would change
   every input). */
static void test_intensity_percentile_metadata(void) {
    char err[512], path[128];
    EngModel *a = eng_resnet(18, 1, 4);
    snprintf(path, sizeof path, "/tmp/salient_test_ip_%d.safetensors", (int)getpid());
    struct { const char *meta; float want; } ok[] = {{"\"intensity_percentile\":\"99\"", 99.0f},
                                                     {"\"intensity_percentile\":\"99.5\"", 99.5f},
                                                     {NULL, 0.0f}};
    for (int i = 0; i < 3; i++) {
        WeightsInfo info;
        stw_write_model(path, a, "F32", ok[i].meta);
        EngModel *m = weights_load(path, NULL, &info, err, sizeof err);
        CHECK(m && info.intensity_percentile == ok[i].want, "metadata intensity_percentile is read",
              "%s: got %g (%s)", ok[i].meta ? ok[i].meta : "(absent)", m ? info.intensity_percentile : -1.0,
              m ? "" : err);
        if (m) weights_info_free(&info);
        eng_model_free(m);
    }
    const char *bad[] = {"\"intensity_percentile\":\"abc\"", "\"intensity_percentile\":\"0\"",
                         "\"intensity_percentile\":\"150\"", "\"intensity_percentile\":\"99,1\"",
                         "\"intensity_percentile\":\"nan\""};
    for (int i = 0; i < 5; i++) {
        stw_write_model(path, a, "F32", bad[i]);
        EngModel *m = weights_load(path, NULL, NULL, err, sizeof err);
        CHECK(!m && strstr(err, "intensity_percentile"), "a bad intensity_percentile is refused by name",
              "%s: %s", bad[i], m ? "(loaded)" : err);
        eng_model_free(m);
    }
    unlink(path);
    eng_model_free(a);
}

int main(void) {
    eng_set_threads(0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
    test_winograd_weights_follow_changes(&cases[3]);
    test_bf16_and_errors();
    test_output_stride();
    test_intensity_percentile_metadata();
    CHECK_DONE();
}
