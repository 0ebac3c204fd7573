/* cmd_check.c - `salient selfcheck` and `salient gradcheck`: the checks of
   eval/check.h on the user's own model and image, printed for auditors. */
#include "cli/cli.h"
#include "engine/rng.h"
#include "eval/check.h"
#include "io/image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* A node worth a line: the first, the classifier, named blocks, failures. */
static int node_shown(const Opts *o, EngModel *m, int i, double d) {
    const EngNode *nd = eng_model_node(m, i);
    int show = o->verbose || nd->op == ENG_OP_LINEAR || i == 1 || eng_model_node_find(m, nd->name) != i ||
               d > CHECK_FAST_BOUND;
    for (int a = 0; a < eng_model_n_names(m) && !show; a++) {
        int node;
        const char *nm = eng_model_name_at(m, a, &node);
        show = node == i && strcmp(nm, nd->name);
    }
    return show;
}

int cmd_selfcheck(const Opts *o) {
    Model md;
    if (model_open(&md, o)) return 1;
    eng_set_threads(o->threads);
    EngModel *m = md.m;
    int S = md.size, nn = eng_model_n_nodes(m), k = 0, rc;
    float *x = check_input(o, &md);
    double *rel = malloc(sizeof(double) * nn), dg = 0;
    if (!x || !rel || check_fast_vs_reference(m, x, S, &k, rel, &dg)) {
        rc = x && rel ? cli_error("%s", eng_last_error()) : 1;
        free(x); free(rel); model_close(&md);
        return rc;
    }
    printf("# %s, input %dx%d (%s), class %d; max relative difference |fast - reference| / max |reference|, bound %.0e\n",
           eng_model_arch(m), S, S, o->n_pos ? o->pos[0] : "seeded normal input", k, CHECK_FAST_BOUND);
    printf("%-44s %-12s %s\n", "layer", "op", "activation");
    double worst = 0;
    for (int i = 1; i < nn; i++) {
        const EngNode *nd = eng_model_node(m, i);
        if (rel[i] > worst) worst = rel[i];
        if (node_shown(o, m, i, rel[i]))
            printf("%-44s %-12s %.3e%s\n", nd->name, eng_op_name(nd->op), rel[i], rel[i] > CHECK_FAST_BOUND ? "  FAIL" : "");
    }
    printf("%-44s %-12s %.3e%s\n", "input gradient", "backward", dg, dg > CHECK_FAST_BOUND ? "  FAIL" : "");
    int ok = worst <= CHECK_FAST_BOUND && dg <= CHECK_FAST_BOUND;
    printf("worst activation difference %.3e, input gradient %.3e: %s\n", worst, dg, ok ? "PASS" : "FAIL");
    free(x); free(rel);
    model_close(&md);
    return ok ? 0 : 1;
}

int cmd_gradcheck(const Opts *o) {
    Model md;
    if (model_open(&md, o)) return 1;
    eng_set_threads(o->threads);
    int S = md.size, npx = o->pixels ? o->pixels : 16;
    float *x = check_input(o, &md);
    GradProbe *pr = calloc(npx, sizeof *pr);
    GradCheck gc;
    if (!x || !pr || check_gradient(md.m, x, S, o->seed, npx, pr, &gc)) {
        int rc = x && pr ? cli_error("%s", eng_last_error()) : 1;
        free(x); free(pr); model_close(&md);
        return rc;
    }
    printf("# %s, class %d; central differences (differenced in double), h = %g; tolerance 2e-2 x max|grad|\n"
           "# + 2 x resolution %.2e = %.3e; 'kinks' = ReLU/max-pool decisions the step changed\n",
           eng_model_arch(md.m), gc.cls, gc.step, gc.resolution, gc.tolerance);
    printf("%-4s %-5s %-5s %-14s %-14s %-10s %s\n", "c", "y", "x", "analytic", "numeric", "|diff|", "kinks");
    for (int t = 0; t < npx; t++)
        printf("%-4d %-5d %-5d %-14.6e %-14.6e %-10.3e %-6ld%s\n", pr[t].c, pr[t].y, pr[t].x, pr[t].analytic,
               pr[t].numeric, pr[t].diff, pr[t].kinks, pr[t].diff > gc.tolerance ? "  FAIL" : "");
    printf("%d of %d pixels within tolerance (%d steps crossed kinks): %s\n", npx - gc.failed, npx, gc.crossed,
           gc.failed ? "FAIL" : "PASS");
    free(x); free(pr);
    model_close(&md);
    return gc.failed ? 1 : 0;
}
