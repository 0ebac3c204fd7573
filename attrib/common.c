/* common.c - what every saliency method shares: batched gradients and
   logits through engine passes, layer activations and gradients, layer
   replacement, baselines, and result bookkeeping. */
#include "attrib/attrib.h"
#include "engine/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void attrib_params_default(AttribParams *P) {
    memset(P, 0, sizeof *P);
    P->baseline = BASELINE_BLACK;
    P->batch = 0;
    P->seed = 0;
}

void attrib_params_release(AttribParams *P) {
    eng_pass_free(P->pass);
    P->pass = NULL;
    P->pass_n = 0;
}

int attrib_result_init(AttribResult *R, const AttribParams *P, int with_attr) {
    memset(R, 0, sizeof *R);
    R->map = calloc((size_t)P->H * P->W, sizeof(float));
    if (with_attr) R->attr = calloc((size_t)P->C * P->H * P->W, sizeof(float));
    if (!R->map || (with_attr && !R->attr)) { attrib_result_free(R); return -1; }
    return 0;
}

void attrib_result_free(AttribResult *R) {
    free(R->map);
    free(R->attr);
    R->map = R->attr = NULL;
}

double attrib_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

void attrib_progress(AttribParams *P, long done, long total) {
    if (P->progress) P->progress(P->progress_ctx, done, total);
}

/* Default batch: 16 images at 224x224, scaled by the area. */
static int batch_size(const AttribParams *P) {
    if (P->batch > 0) return P->batch;
    double scale = (224.0 * 224.0) / ((double)P->H * P->W);
    int b = (int)(16 * scale);
    return b < 1 ? 1 : b > 64 ? 64 : b;
}

/* Default batch of a gradient pass (forward + backward): 4 images at
   224x224, scaled by the area. A gradient pass keeps what backward needs
   (ENG_TAPE_GRAD; resnet50 at 224: about 55 MB per image), and on this kind
   of machine first touching fresh memory is what a big one-off batch pays
   for: IG with 25 steps on resnet50 took 6.7 s in batches of 16 and 4.9 s in
   batches of 5 (measured with the full tape; steady-state cost per image is
   the same from a batch of 4 up: 168 vs 166 ms). */
static int taped_batch_size(const AttribParams *P) {
    if (P->batch > 0) return P->batch;
    double scale = (224.0 * 224.0) / ((double)P->H * P->W);
    int b = (int)(4 * scale);
    return b < 1 ? 1 : b > 64 ? 64 : b;
}

/* The cached pass, reused for any batch up to the one it was made for (a
   last short batch must not throw away, and later re-fault, a big tape). */
static EngPass *get_pass(AttribParams *P, int n) {
    if (P->pass && P->pass_n >= n && P->pass_h == P->H && P->pass_w == P->W)
        return eng_pass_set_batch(P->pass, n) ? NULL : P->pass;
    eng_pass_free(P->pass);
    P->pass = eng_pass_new(P->model, n, P->H, P->W);
    P->pass_n = P->pass ? n : 0;
    P->pass_h = P->H; P->pass_w = P->W;
    return P->pass;
}

int attrib_grads(AttribParams *P, AttribResult *R, const float *xs, int n, float *grads, float *logits,
                 const EngBackwardOpts *rules) {
    int K = eng_model_n_classes(P->model), B = taped_batch_size(P);
    size_t per = (size_t)P->C * P->H * P->W;
    EngBackwardOpts o;
    if (rules) o = *rules; else memset(&o, 0, sizeof o);
    int keep0 = 0;
    o.keep_grads = &keep0; /* only the input gradient is read */
    o.n_keep_grads = 1;
    float *seed = NULL;
    for (int i0 = 0; i0 < n; i0 += B) {
        int nb = n - i0 < B ? n - i0 : B;
        EngPass *p = get_pass(P, nb);
        if (!p) { free(seed); return -1; }
        if (eng_pass_forward(p, xs + per * i0, ENG_TAPE_GRAD)) { free(seed); return -1; }
        free(seed);
        seed = calloc((size_t)nb * K, sizeof(float));
        if (!seed) return -1;
        for (int b = 0; b < nb; b++) seed[(size_t)b * K + P->target] = 1.0f;
        if (eng_pass_backward(p, seed, &o)) { free(seed); return -1; }
        memcpy(grads + per * i0, eng_pass_input_grad(p), sizeof(float) * per * nb);
        if (logits) memcpy(logits + (size_t)K * i0, eng_pass_output(p), sizeof(float) * K * nb);
        if (R) { R->forward += nb; R->backward += nb; R->batches++; }
    }
    free(seed);
    return 0;
}

int attrib_predict(AttribParams *P, const float *x, float *logits, float *prob) {
    if (attrib_logits(P, NULL, x, 1, logits)) return -1;
    return probs_argmax(prob, logits, eng_model_n_classes(P->model), P->sigmoid);
}

int attrib_logits(AttribParams *P, AttribResult *R, const float *xs, int n, float *logits) {
    int K = eng_model_n_classes(P->model), B = batch_size(P);
    size_t per = (size_t)P->C * P->H * P->W;
    for (int i0 = 0; i0 < n; i0 += B) {
        int nb = n - i0 < B ? n - i0 : B;
        EngPass *p = get_pass(P, nb);
        if (!p || eng_pass_forward(p, xs + per * i0, ENG_FORWARD_ONLY)) return -1;
        memcpy(logits + (size_t)K * i0, eng_pass_output(p), sizeof(float) * K * nb);
        if (R) { R->forward += nb; R->batches++; }
    }
    return 0;
}

int attrib_target_scores(AttribParams *P, AttribResult *R, const float *xs, int n, float *scores) {
    int K = eng_model_n_classes(P->model), B = batch_size(P);
    float *lg = malloc(sizeof(float) * K * (B < n ? B : n));
    if (!lg) return -1;
    size_t per = (size_t)P->C * P->H * P->W;
    for (int i0 = 0; i0 < n; i0 += B) {
        int nb = n - i0 < B ? n - i0 : B;
        if (attrib_logits(P, R, xs + per * i0, nb, lg)) { free(lg); return -1; }
        for (int b = 0; b < nb; b++) scores[i0 + b] = lg[(size_t)b * K + P->target];
    }
    free(lg);
    return 0;
}

const char *attrib_default_layer(const EngModel *m) {
    return eng_model_arch(m)[0] == 'd' ? "features.norm5" : "layer4";
}

/* A copy of the (n,c,h,w) buffer of one node (n = 1); NULL if none is readable. */
static float *copy_node(const float *src, size_t n) {
    float *v = calloc(n, sizeof(float));
    if (v && src) memcpy(v, src, sizeof(float) * n);
    return v;
}

/* One backward of the taped pass from the logit of `target`; the gradient
   of `node` into a new array. */
static float *layer_grad(EngPass *p, const EngModel *m, int node, int target, size_t n) {
    float *seed = calloc(eng_model_n_classes(m), sizeof(float));
    if (!seed) return NULL;
    seed[target] = 1.0f;
    int keep[2] = {0, node};
    EngBackwardOpts o = {.keep_grads = keep, .n_keep_grads = 2};
    int rc = eng_pass_backward(p, seed, &o);
    free(seed);
    return rc ? NULL : copy_node(eng_pass_grad(p, node), n);
}

int attrib_layer_act_grads(AttribParams *P, AttribResult *R, const char *layer, const int *targets, int n,
                           float **act, float **grads, int *K, int *h, int *w) {
    int node = eng_model_node_find(P->model, layer);
    if (node < 0) return eng_fail("no layer named '%s' in %s", layer, eng_model_arch(P->model));
    EngPass *p = get_pass(P, 1);
    if (!p) return -1;
    eng_pass_keep(p, node);
    if (eng_pass_forward(p, P->x, ENG_TAPE_GRAD)) return -1;
    const EngNode *nd = eng_model_node(P->model, node);
    size_t numel = (size_t)nd->c * nd->h * nd->w;
    *K = nd->c; *h = nd->h; *w = nd->w;
    *act = copy_node(eng_pass_act(p, node), numel);
    if (!*act) return -1;
    if (R) { R->forward++; R->batches++; }
    if (!grads) return 0; /* gradient-free CAMs */
    for (int t = 0; t < n; t++) grads[t] = NULL;
    for (int t = 0; t < n; t++) {
        grads[t] = layer_grad(p, P->model, node, targets[t], numel);
        if (!grads[t]) {
            for (int u = 0; u <= t; u++) { free(grads[u]); grads[u] = NULL; }
            free(*act); *act = NULL;
            return -1;
        }
        if (R) { R->backward++; R->batches += t > 0; }
    }
    return 0;
}

int attrib_layer_act_grad(AttribParams *P, AttribResult *R, const char *layer, float **act, float **grad,
                          int *K, int *h, int *w) {
    return attrib_layer_act_grads(P, R, layer, &P->target, 1, act, grad, K, h, w);
}

int attrib_layer_replaced_scores(AttribParams *P, AttribResult *R, const char *layer, const float *acts, int n,
                                 float *scores) {
    int node = eng_model_node_find(P->model, layer);
    if (node < 0) return eng_fail("no layer named '%s'", layer);
    int B = batch_size(P), Kc = eng_model_n_classes(P->model);
    const EngNode *nd = eng_model_node(P->model, node);
    size_t per_act = (size_t)nd->c * nd->h * nd->w, per_x = (size_t)P->C * P->H * P->W;
    int cut = eng_model_is_cut(P->model, node);
    float *xs = NULL;
    if (!cut) { /* the whole network runs, so every batch item needs the image */
        xs = malloc(sizeof(float) * per_x * (B < n ? B : n));
        if (!xs) return -1;
        for (int b = 0; b < (B < n ? B : n); b++) memcpy(xs + per_x * b, P->x, sizeof(float) * per_x);
    }
    for (int i0 = 0; i0 < n; i0 += B) {
        int nb = n - i0 < B ? n - i0 : B;
        EngPass *p = get_pass(P, nb);
        if (!p || eng_pass_forward_replace(p, xs, ENG_FORWARD_ONLY, node, acts + per_act * i0)) { free(xs); return -1; }
        for (int b = 0; b < nb; b++) scores[i0 + b] = eng_pass_output(p)[(size_t)b * Kc + P->target];
        if (R) { R->forward += nb; R->batches++; }
    }
    free(xs);
    return 0;
}

float *attrib_baseline(const AttribParams *P) {
    size_t plane = (size_t)P->H * P->W, n = plane * P->C;
    float *b = malloc(sizeof(float) * n);
    if (!b) return NULL;
    for (int c = 0; c < P->C; c++) {
        float m = P->mean ? P->mean[c] : 0.0f, s = P->std ? P->std[c] : 1.0f;
        for (size_t i = 0; i < plane; i++) {
            float v = 0;
            switch (P->baseline) {
            case BASELINE_BLACK: v = (0.0f - m) / s; break;
            case BASELINE_WHITE: v = (1.0f - m) / s; break;
            case BASELINE_ZERO: v = 0.0f; break;
            case BASELINE_FILE: v = P->baseline_data[c * plane + i]; break;
            case BASELINE_BLUR: case BASELINE_UNIFORM: break;
            }
            b[c * plane + i] = v;
        }
    }
    if (P->baseline == BASELINE_BLUR) gaussian_blur_chw(b, P->x, P->C, P->H, P->W, P->max_sigma > 0 ? P->max_sigma : 50.0);
    if (P->baseline == BASELINE_UNIFORM) { /* uniform noise over the input's range, from the seeded generator */
        float lo = P->x[0], hi = P->x[0];
        for (size_t i = 0; i < n; i++) { if (P->x[i] < lo) lo = P->x[i]; if (P->x[i] > hi) hi = P->x[i]; }
        EngRng r;
        eng_rng_seed(&r, eng_rng_split(P->seed, 0xba5e));
        for (size_t i = 0; i < n; i++) b[i] = lo + (hi - lo) * eng_rng_uniformf(&r);
    }
    return b;
}

void attrib_map_abs_sum(float *map, const float *attr, int C, int H, int W) {
    size_t plane = (size_t)H * W;
    for (size_t i = 0; i < plane; i++) {
        float s = 0;
        for (int c = 0; c < C; c++) s += fabsf(attr[c * plane + i]);
        map[i] = s;
    }
}

/* The helpers' batch size, for callers that generate their inputs chunk by chunk. */
int attrib_batch_size(const AttribParams *P) { return batch_size(P); }

EngPass *attrib_class_gradient(EngModel *m, const float *x, int n, int h, int w, int cls, int node) {
    int K = eng_model_n_classes(m);
    if (cls < 0 || cls >= K) return eng_fail("gradient of class %d: the model has %d classes", cls, K), NULL;
    EngPass *p = eng_pass_new(m, n, h, w);
    float *seed = p ? calloc((size_t)n * K, sizeof(float)) : NULL;
    if (p && !seed) eng_fail("gradient: out of memory");
    for (int i = 0; seed && i < n; i++) seed[(size_t)i * K + cls] = 1.0f; /* d(sum_i logit_i,cls) */
    int keep[1] = {node >= 0 ? node : 0};
    EngBackwardOpts bo = {.keep_grads = keep, .n_keep_grads = 1};
    int rc = !seed || eng_pass_forward(p, x, ENG_TAPE) || eng_pass_backward(p, seed, &bo);
    free(seed);
    if (rc) { eng_pass_free(p); return NULL; }
    return p;
}
