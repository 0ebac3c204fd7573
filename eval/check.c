/* check.c - fast path against reference path, and finite differences (see check.h). */
#include "eval/check.h"
#include "engine/ops.h"
#include "engine/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Runs forward (taped) and backward of logit k; copies every node's
   activation and the input gradient. */
static int run_all(EngPass *p, const float *x, int k, float **acts, float *dx) {
    EngModel *m = eng_pass_model(p);
    int K = eng_model_n_classes(m), keep0 = 0;
    if (eng_pass_forward(p, x, ENG_TAPE)) return -1;
    for (int i = 0; i < eng_model_n_nodes(m); i++)
        memcpy(acts[i], eng_pass_act(p, i), sizeof(float) * eng_pass_node_numel(p, i));
    float *seed = calloc(K, sizeof(float));
    seed[k] = 1;
    EngBackwardOpts bo = {.keep_grads = &keep0, .n_keep_grads = 1};
    int rc = eng_pass_backward(p, seed, &bo);
    free(seed);
    if (!rc) memcpy(dx, eng_pass_input_grad(p), sizeof(float) * eng_pass_node_numel(p, 0));
    return rc;
}

static double rel_diff(const float *a, const float *b, size_t n) {
    double mx = 0, md = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(b[i]) > mx) mx = fabs(b[i]);
        double d = fabs((double)a[i] - b[i]);
        if (d > md || d != d) md = d;
    }
    return mx > 0 ? md / mx : md;
}

static int alloc_acts(EngPass *p, int nn, float ***acts) {
    *acts = calloc(nn, sizeof(float *));
    if (!*acts) return -1;
    for (int i = 0; i < nn; i++)
        if (!((*acts)[i] = malloc(sizeof(float) * eng_pass_node_numel(p, i)))) return -1;
    return 0;
}

static void free_acts(float **acts, int nn) {
    for (int i = 0; acts && i < nn; i++) free(acts[i]);
    free(acts);
}

int check_fast_vs_reference(EngModel *m, const float *x, int S, int *cls, double *node_rel, double *grad_rel) {
    int nn = eng_model_n_nodes(m), K = eng_model_n_classes(m), rc = -1;
    EngPass *p = eng_pass_new(m, 1, S, S);
    if (!p) return -1;
    float **fast = NULL, **ref = NULL;
    size_t nx = eng_pass_node_numel(p, 0);
    float *dfast = malloc(sizeof(float) * nx), *dref = malloc(sizeof(float) * nx), *prob = malloc(sizeof(float) * K);
    if (!dfast || !dref || !prob || alloc_acts(p, nn, &fast) || alloc_acts(p, nn, &ref)) { eng_fail("out of memory"); goto done; }
    eng_set_reference(0);
    if (eng_pass_forward(p, x, ENG_FORWARD_ONLY)) goto done;
    *cls = softmax_argmax(prob, eng_pass_output(p), K);
    if (run_all(p, x, *cls, fast, dfast)) goto done;
    eng_set_reference(1);
    int r2 = run_all(p, x, *cls, ref, dref);
    eng_set_reference(0);
    if (r2) goto done;
    node_rel[0] = 0;
    for (int i = 1; i < nn; i++) node_rel[i] = rel_diff(fast[i], ref[i], eng_pass_node_numel(p, i));
    *grad_rel = rel_diff(dfast, dref, nx);
    rc = 0;
done:
    free_acts(fast, nn); free_acts(ref, nn);
    free(dfast); free(dref); free(prob);
    eng_pass_free(p);
    return rc;
}

/* The ReLU signs and max-pool choices of a pass (see check.h). */
typedef struct { int n_nodes; unsigned char **relu; int32_t **argmax; } Pattern;

static void pattern_take(Pattern *pt, EngPass *p) {
    EngModel *m = eng_pass_model(p);
    pt->n_nodes = eng_model_n_nodes(m);
    pt->relu = calloc(pt->n_nodes, sizeof *pt->relu);
    pt->argmax = calloc(pt->n_nodes, sizeof *pt->argmax);
    for (int i = 0; i < pt->n_nodes; i++) {
        const EngNode *nd = eng_model_node(m, i);
        size_t n = eng_pass_node_numel(p, i);
        if (nd->op == ENG_OP_RELU) {
            pt->relu[i] = malloc(n);
            const float *a = eng_pass_act(p, i);
            for (size_t j = 0; j < n; j++) pt->relu[i][j] = a[j] > 0;
        } else if (nd->op == ENG_OP_MAXPOOL2D) {
            pt->argmax[i] = malloc(sizeof(int32_t) * n);
            memcpy(pt->argmax[i], eng_pass_argmax(p, i), sizeof(int32_t) * n);
        }
    }
}

static long pattern_flips(const Pattern *pt, EngPass *p) {
    long flips = 0;
    for (int i = 0; i < pt->n_nodes; i++) {
        size_t n = eng_pass_node_numel(p, i);
        if (pt->relu[i]) {
            const float *a = eng_pass_act(p, i);
            for (size_t j = 0; j < n; j++) flips += (a[j] > 0) != pt->relu[i][j];
        } else if (pt->argmax[i]) {
            const int32_t *am = eng_pass_argmax(p, i);
            for (size_t j = 0; j < n; j++) flips += am[j] != pt->argmax[i][j];
        }
    }
    return flips;
}

static void pattern_free(Pattern *pt) {
    for (int i = 0; i < pt->n_nodes; i++) { free(pt->relu[i]); free(pt->argmax[i]); }
    free(pt->relu); free(pt->argmax);
}

/* Numeric derivative of logit k at input value i with step h; *flips gets
   the number of ReLU / max-pool decisions that differ from those at x. */
static double central_difference(EngPass *p, float *x, size_t i, int k, const Pattern *pt, float h, long *flips) {
    float keep = x[i];
    double L[2];
    *flips = 0;
    for (int s = 0; s < 2; s++) {
        x[i] = keep + (s ? -h : h);
        eng_pass_forward(p, x, ENG_TAPE);
        *flips += pattern_flips(pt, p);
        L[s] = eng_pass_output(p)[k];
    }
    x[i] = keep;
    return (L[0] - L[1]) / (2.0 * h);
}

int check_gradient(EngModel *m, float *x, int S, uint64_t seed, int n, GradProbe *probes, GradCheck *out) {
    int C = eng_model_in_channels(m), K = eng_model_n_classes(m), keep0 = 0;
    size_t nx = (size_t)C * S * S;
    memset(out, 0, sizeof *out);
    EngPass *p = eng_pass_new(m, 1, S, S);
    float *g = malloc(sizeof(float) * nx), *seed_grad = calloc(K, sizeof(float)), *prob = malloc(sizeof(float) * K);
    if (!p || !g || !seed_grad || !prob || eng_pass_forward(p, x, ENG_TAPE)) {
        if (!eng_last_error()[0]) eng_fail("out of memory");
        eng_pass_free(p); free(g); free(seed_grad); free(prob);
        return -1;
    }
    int k = out->cls = softmax_argmax(prob, eng_pass_output(p), K);
    Pattern pt;
    pattern_take(&pt, p);
    seed_grad[k] = 1;
    EngBackwardOpts bo = {.keep_grads = &keep0, .n_keep_grads = 1};
    eng_pass_backward(p, seed_grad, &bo);
    memcpy(g, eng_pass_input_grad(p), sizeof(float) * nx);
    double gmax = 0;
    for (size_t i = 0; i < nx; i++) if (fabs(g[i]) > gmax) gmax = fabs(g[i]);
    const float h = CHECK_GRAD_STEP;
    float L0 = fabsf(eng_pass_output(p)[k]);
    out->step = h;
    out->resolution = (nextafterf(L0, INFINITY) - L0) / (2.0 * h);
    out->tolerance = 2e-2 * gmax + 2 * out->resolution;
    EngRng r;
    eng_rng_seed(&r, eng_rng_split(seed, 0x67c));
    for (int t = 0; t < n; t++) {
        size_t i = eng_rng_below(&r, (uint32_t)nx);
        GradProbe *pr = &probes[t];
        pr->numeric = central_difference(p, x, i, k, &pt, h, &pr->kinks);
        pr->analytic = g[i];
        pr->diff = fabs(pr->numeric - pr->analytic);
        pr->c = (int)(i / ((size_t)S * S));
        pr->y = (int)(i % ((size_t)S * S) / S);
        pr->x = (int)(i % S);
        out->failed += pr->diff > out->tolerance;
        out->crossed += pr->kinks > 0;
    }
    pattern_free(&pt);
    free(g); free(seed_grad); free(prob);
    eng_pass_free(p);
    return 0;
}
