/* cmd_check.c - `salient selfcheck` (the fast path against the reference
   path, layer by layer) and `salient gradcheck` (the input gradient against
   central finite differences), for auditors who want to see the arithmetic
   hold on their own model and image. */
#include "cli/cli.h"
#include "engine/rng.h"
#include "io/image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Both checks fail above this relative difference: float32 storage between
   layers gives ~1e-6 on the models tested (tests/test_models.c prints it), so
   1e-4 flags a real disagreement while tolerating accumulation order. */
#define SELFCHECK_BOUND 1e-4

static float *check_input(const Opts *o, const Model *md) {
    int C = eng_model_in_channels(md->m), S = md->size;
    size_t n = (size_t)C * S * S;
    float *x = malloc(sizeof(float) * n);
    if (!x) return NULL;
    if (o->n_pos) {
        char err[512];
        if (model_preprocess(md, o, o->pos[0], x, NULL, err, sizeof err)) {
            cli_error("%s", err);
            free(x);
            return NULL;
        }
        return x;
    }
    EngRng r; /* no image: a seeded N(0,1) input */
    eng_rng_seed(&r, o->seed);
    for (size_t i = 0; i < n; i++) x[i] = (float)eng_rng_normal(&r);
    return x;
}

static int argmax(const float *v, int n) {
    int b = 0;
    for (int i = 1; i < n; i++) if (v[i] > v[b]) b = i;
    return b;
}

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

int cmd_selfcheck(const Opts *o) {
    Model md;
    if (model_open(&md, o)) return 1;
    eng_set_threads(o->threads);
    EngModel *m = md.m;
    int S = md.size, nn = eng_model_n_nodes(m), K = eng_model_n_classes(m), rc = 0;
    float *x = check_input(o, &md);
    EngPass *p = x ? eng_pass_new(m, 1, S, S) : NULL;
    if (!p) { free(x); model_close(&md); return x ? cli_error("%s", eng_last_error()) : 1; }
    float **fast = calloc(nn, sizeof(float *)), **ref = calloc(nn, sizeof(float *));
    for (int i = 0; i < nn; i++) {
        fast[i] = malloc(sizeof(float) * eng_pass_node_numel(p, i));
        ref[i] = malloc(sizeof(float) * eng_pass_node_numel(p, i));
    }
    size_t nx = eng_pass_node_numel(p, 0);
    float *dfast = malloc(sizeof(float) * nx), *dref = malloc(sizeof(float) * nx);
    eng_set_reference(0);
    eng_pass_forward(p, x, ENG_FORWARD_ONLY);
    int k = argmax(eng_pass_output(p), K);
    if (run_all(p, x, k, fast, dfast)) { rc = cli_error("%s", eng_last_error()); goto done; }
    eng_set_reference(1);
    int r2 = run_all(p, x, k, ref, dref);
    eng_set_reference(0);
    if (r2) { rc = cli_error("%s", eng_last_error()); goto done; }
    printf("# %s, input %dx%d (%s), class %d; max relative difference |fast - reference| / max |reference|, bound %.0e\n",
           eng_model_arch(m), S, S, o->n_pos ? o->pos[0] : "seeded normal input", k, SELFCHECK_BOUND);
    printf("%-44s %-12s %s\n", "layer", "op", "activation");
    double worst = 0;
    for (int i = 1; i < nn; i++) {
        const EngNode *nd = eng_model_node(m, i);
        double d = rel_diff(fast[i], ref[i], eng_pass_node_numel(p, i));
        if (d > worst) worst = d;
        int show = o->verbose || nd->op == ENG_OP_LINEAR || i == 1 || eng_model_node_find(m, nd->name) != i ||
                   d > SELFCHECK_BOUND;
        for (int a = 0; a < eng_model_n_names(m) && !show; a++) {
            int node;
            const char *nm = eng_model_name_at(m, a, &node);
            show = node == i && strcmp(nm, nd->name);
        }
        if (show) printf("%-44s %-12s %.3e%s\n", nd->name, eng_op_name(nd->op), d, d > SELFCHECK_BOUND ? "  FAIL" : "");
    }
    double dg = rel_diff(dfast, dref, nx);
    printf("%-44s %-12s %.3e%s\n", "input gradient", "backward", dg, dg > SELFCHECK_BOUND ? "  FAIL" : "");
    printf("worst activation difference %.3e, input gradient %.3e: %s\n", worst, dg,
           worst <= SELFCHECK_BOUND && dg <= SELFCHECK_BOUND ? "PASS" : "FAIL");
    rc = worst <= SELFCHECK_BOUND && dg <= SELFCHECK_BOUND ? 0 : 1;
done:
    for (int i = 0; i < nn; i++) { free(fast[i]); free(ref[i]); }
    free(fast); free(ref); free(dfast); free(dref); free(x);
    eng_pass_free(p);
    model_close(&md);
    return rc;
}

/* The network is piecewise linear in its input (conv, batchnorm, pools,
   add, concat, linear are linear; ReLU and max-pool choose a piece). Between
   x - h and x + h with the same ReLU signs and max-pool choices it is exactly
   linear, so the central difference there equals the gradient up to float32
   rounding. In a deep network some of its millions of ReLUs sit within any
   useful step of zero, so steps almost always cross a few kinks; each probe
   prints how many decisions its step changed. Smaller steps cross fewer
   kinks but drown in the float32 rounding of the logit (resolution
   ulp(logit) / 2h): the step is h = 0.01 (normalised units) and the
   tolerance 2e-2 max|grad| plus twice that resolution. Measured on seeded
   random-weight resnet18/densenet121 (the worst case: chaotic activations)
   and on the shipped trained models: see the README. */
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

int cmd_gradcheck(const Opts *o) {
    Model md;
    if (model_open(&md, o)) return 1;
    eng_set_threads(o->threads);
    EngModel *m = md.m;
    int S = md.size, C = eng_model_in_channels(m), K = eng_model_n_classes(m), npx = o->pixels ? o->pixels : 16;
    float *x = check_input(o, &md);
    EngPass *p = x ? eng_pass_new(m, 1, S, S) : NULL;
    if (!p) { free(x); model_close(&md); return x ? cli_error("%s", eng_last_error()) : 1; }
    size_t nx = (size_t)C * S * S;
    float *g = malloc(sizeof(float) * nx), *seed = calloc(K, sizeof(float));
    eng_pass_forward(p, x, ENG_TAPE);
    int k = argmax(eng_pass_output(p), K);
    Pattern pt;
    pattern_take(&pt, p);
    seed[k] = 1;
    int keep0 = 0;
    EngBackwardOpts bo = {.keep_grads = &keep0, .n_keep_grads = 1};
    eng_pass_backward(p, seed, &bo);
    memcpy(g, eng_pass_input_grad(p), sizeof(float) * nx);
    double gmax = 0;
    for (size_t i = 0; i < nx; i++) if (fabs(g[i]) > gmax) gmax = fabs(g[i]);
    const float h = 1e-2f;
    float L0 = fabsf(eng_pass_output(p)[k]);
    double resolution = (nextafterf(L0, INFINITY) - L0) / (2.0 * h), tol = 2e-2 * gmax + 2 * resolution;
    printf("# %s, class %d; central differences (differenced in double), h = %g; tolerance 2e-2 x max|grad|\n"
           "# + 2 x resolution %.2e = %.3e; 'kinks' = ReLU/max-pool decisions the step changed\n",
           eng_model_arch(m), k, h, resolution, tol);
    printf("%-4s %-5s %-5s %-14s %-14s %-10s %s\n", "c", "y", "x", "analytic", "numeric", "|diff|", "kinks");
    EngRng r;
    eng_rng_seed(&r, eng_rng_split(o->seed, 0x67c));
    int bad = 0, kinks = 0;
    for (int t = 0; t < npx; t++) {
        size_t i = eng_rng_below(&r, (uint32_t)nx);
        long flips;
        double num = central_difference(p, x, i, k, &pt, h, &flips), d = fabs(num - g[i]);
        int cy = (int)(i % ((size_t)S * S) / S), cx = (int)(i % S), cc = (int)(i / ((size_t)S * S));
        bad += d > tol;
        kinks += flips > 0;
        printf("%-4d %-5d %-5d %-14.6e %-14.6e %-10.3e %-6ld%s\n", cc, cy, cx, g[i], num, d, flips, d > tol ? "  FAIL" : "");
    }
    printf("%d of %d pixels within tolerance (%d steps crossed kinks): %s\n", npx - bad, npx, kinks, bad ? "FAIL" : "PASS");
    int rc = bad ? 1 : 0;
    pattern_free(&pt);
    free(g); free(seed); free(x);
    eng_pass_free(p);
    model_close(&md);
    return rc;
}
