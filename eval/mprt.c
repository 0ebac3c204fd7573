/* mprt.c - the model parameter randomisation test (see mprt.h). */
#include "eval/mprt.h"
#include "engine/rng.h"
#include "eval/stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mprt_list_modules(EngModel *m, MprtModule **out) {
    int np = eng_model_n_params(m), n = 0;
    MprtModule *v = calloc(np + 1, sizeof *v);
    if (!v) return -1;
    for (int i = 0; i < np; i++) {
        const char *nm = eng_model_param(m, i)->name, *dot = strrchr(nm, '.');
        size_t L = dot ? (size_t)(dot - nm) : strlen(nm);
        if (n && strlen(v[n - 1].name) == L && !strncmp(v[n - 1].name, nm, L)) { v[n - 1].count++; continue; }
        snprintf(v[n].name, sizeof v[n].name, "%.*s", (int)L, nm);
        v[n].first = i;
        v[n].count = 1;
        n++;
    }
    *out = v;
    return n;
}

static const char *leaf(const char *name) {
    const char *d = strrchr(name, '.');
    return d ? d + 1 : name;
}

void mprt_reset_module(EngModel *m, const MprtModule *mod, uint64_t seed) {
    EngRng r;
    eng_rng_seed(&r, seed);
    EngParam *w = NULL;
    int is_bn = 0;
    for (int i = 0; i < mod->count; i++) {
        EngParam *p = eng_model_param(m, mod->first + i);
        if (!strcmp(leaf(p->name), "running_mean")) is_bn = 1;
        if (!strcmp(leaf(p->name), "weight")) w = p;
    }
    for (int i = 0; i < mod->count; i++) {
        EngParam *p = eng_model_param(m, mod->first + i);
        const char *lf = leaf(p->name);
        if (is_bn) {
            float v = (!strcmp(lf, "weight") || !strcmp(lf, "running_var")) ? 1.0f : 0.0f;
            for (size_t k = 0; k < p->numel; k++) p->data[k] = v;
            continue;
        }
        /* conv (O,I,kh,kw) or linear (O,I): fan_in = numel / O */
        size_t fan_in = w && w->shape[0] > 0 ? w->numel / (size_t)w->shape[0] : 1;
        double bound = fan_in ? 1.0 / sqrt((double)fan_in) : 0.0;
        for (size_t k = 0; k < p->numel; k++) p->data[k] = (float)((2.0 * eng_rng_uniform(&r) - 1.0) * bound);
    }
}

/* Every method's map on P's current model; maps[j] malloc'd. 0 or -1. */
static int run_methods(AttribParams *P, const AttribMethod *const *ms, int nm, float **maps, const char *when) {
    for (int j = 0; j < nm; j++) {
        AttribResult R;
        if (ms[j]->run(P, &R)) {
            char why[512];
            snprintf(why, sizeof why, "%s", eng_last_error());
            eng_set_error("%s %s: %s", ms[j]->name, when, why);
            attrib_result_free(&R);
            return -1;
        }
        maps[j] = R.map;
        R.map = NULL;
        attrib_result_free(&R);
    }
    return 0;
}

static void free_maps(float **maps, int n) {
    for (int j = 0; maps && j < n; j++) { free(maps[j]); maps[j] = NULL; }
}

int mprt_run(Mprt *t, AttribParams *P, const AttribMethod *const *ms, int nm, uint64_t seed, MprtStepFn on_step,
             void *ctx) {
    memset(t, 0, sizeof *t);
    t->n_methods = nm;
    int n = P->H * P->W, rc = -1;
    EngModel *orig_model = P->model, *rnd = NULL;
    float **orig = calloc(nm, sizeof *orig), **now = calloc(nm, sizeof *now);
    if (!orig || !now) { eng_set_error("out of memory"); goto done; }
    if (run_methods(P, ms, nm, orig, "on the original model")) goto done;
    attrib_params_release(P);
    if (!(rnd = eng_model_clone(orig_model))) goto done;
    t->n_modules = mprt_list_modules(rnd, &t->modules);
    if (t->n_modules < 1) { eng_set_error("the model has no parameters"); goto done; }
    t->corr = malloc(sizeof(double) * (size_t)(t->n_modules + 1) * nm);
    if (!t->corr) { eng_set_error("out of memory"); goto done; }
    for (int j = 0; j < nm; j++) t->corr[j] = 1.0;
    P->model = rnd;
    for (int s = 1; s <= t->n_modules; s++) {
        const MprtModule *mod = &t->modules[t->n_modules - s];
        char when[ENG_NAME_MAX + 32];
        snprintf(when, sizeof when, "after randomising %s", mod->name);
        mprt_reset_module(rnd, mod, eng_rng_split(seed, (uint64_t)s));
        attrib_params_release(P);   /* nothing derived from the weights is cached, but start clean */
        if (run_methods(P, ms, nm, now, when)) goto done;
        for (int j = 0; j < nm; j++) t->corr[(size_t)s * nm + j] = stats_spearman(orig[j], now[j], n);
        free_maps(now, nm);
        if (on_step) on_step(ctx, s, t->n_modules, mod->name);
    }
    rc = 0;
done:
    attrib_params_release(P);
    P->model = orig_model;
    free_maps(orig, nm); free_maps(now, nm);
    free(orig); free(now);
    eng_model_free(rnd);
    if (rc) mprt_free(t);
    return rc;
}

void mprt_free(Mprt *t) {
    free(t->modules);
    free(t->corr);
    t->modules = NULL;
    t->corr = NULL;
}
