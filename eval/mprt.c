/* mprt.c - the model parameter randomisation test (see mprt.h). */
#include "eval/mprt.h"
#include "engine/rng.h"
#include "eval/stats.h"
#include "io/json.h"

#include <errno.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The length of a parameter's module name: all but its last component. */
static size_t module_len(const char *param_name) {
    const char *dot = strrchr(param_name, '.');
    return dot ? (size_t)(dot - param_name) : strlen(param_name);
}

/* Whether name is the first L characters of s. */
static int is_prefix_name(const char *name, const char *s, size_t L) { return strlen(name) == L && !strncmp(name, s, L); }

static int same_module(const char *a, const char *b) {
    size_t L = module_len(a);
    return module_len(b) == L && !strncmp(a, b, L);
}

int mprt_list_modules(EngModel *m, MprtModule **out) {
    int np = eng_model_n_params(m), n = 0;
    MprtModule *v = calloc(np + 1, sizeof *v);
    if (!v) return -1;
    for (int i = 0; i < np; i++) {
        const char *nm = eng_model_param(m, i)->name;
        size_t L = module_len(nm);
        if (n && is_prefix_name(v[n - 1].name, nm, L)) { v[n - 1].count++; continue; }
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

/* The length of a's first k dot-separated components (all of a if fewer). */
static size_t prefix_len(const char *a, int k) {
    const char *p = a;
    for (int i = 0; i < k; i++) {
        const char *d = strchr(p, '.');
        if (!d) return strlen(a);
        p = d + 1;
    }
    return (size_t)(p - a - 1);
}

int mprt_list_steps(EngModel *m, MprtGranularity by, MprtModule **out) {
    int n = mprt_list_modules(m, out);
    if (n <= 0 || by == MPRT_BY_MODULE) return n;
    MprtModule *v = *out;
    int k = 0;
    for (int i = 0; i < n; i++) {
        size_t L = prefix_len(v[i].name, 2);
        if (k && is_prefix_name(v[k - 1].name, v[i].name, L)) {
            v[k - 1].count = v[i].first + v[i].count - v[k - 1].first;
            continue;
        }
        MprtModule b = v[i];
        b.name[L] = 0;
        v[k++] = b;
    }
    return k;
}

const char *mprt_granularity_name(MprtGranularity by) { return by == MPRT_BY_BLOCK ? "block" : "module"; }

int mprt_granularity_parse(const char *s, MprtGranularity *by) {
    if (!strcmp(s, "module")) *by = MPRT_BY_MODULE;
    else if (!strcmp(s, "block")) *by = MPRT_BY_BLOCK;
    else return -1;
    return 0;
}

/* torch's reset_parameters() of the one module whose parameters are
   [first, first + count), drawing from r. */
static void reset_one(EngModel *m, int first, int count, EngRng *r) {
    EngParam *w = NULL;
    int is_bn = 0;
    for (int i = 0; i < count; i++) {
        EngParam *p = eng_model_param(m, first + i);
        if (!strcmp(leaf(p->name), "running_mean")) is_bn = 1;
        if (!strcmp(leaf(p->name), "weight")) w = p;
    }
    for (int i = 0; i < count; i++) {
        EngParam *p = eng_model_param(m, first + i);
        const char *lf = leaf(p->name);
        if (is_bn) {
            float v = (!strcmp(lf, "weight") || !strcmp(lf, "running_var")) ? 1.0f : 0.0f;
            for (size_t k = 0; k < p->numel; k++) p->data[k] = v;
            continue;
        }
        /* conv (O,I,kh,kw) or linear (O,I): fan_in = numel / O */
        size_t fan_in = w && w->shape[0] > 0 ? w->numel / (size_t)w->shape[0] : 1;
        double bound = fan_in ? 1.0 / sqrt((double)fan_in) : 0.0;
        for (size_t k = 0; k < p->numel; k++) p->data[k] = (float)((2.0 * eng_rng_uniform(r) - 1.0) * bound);
    }
}

void mprt_reset_module(EngModel *m, const MprtModule *mod, uint64_t seed) {
    EngRng r;
    eng_rng_seed(&r, seed);
    int end = mod->first + mod->count;
    for (int i = mod->first; i < end;) {   /* a block: its modules one by one */
        int j = i + 1;
        while (j < end && same_module(eng_model_param(m, i)->name, eng_model_param(m, j)->name)) j++;
        reset_one(m, i, j - i, &r);
        i = j;
    }
}

/* Every method's map on P's current model; maps[j] malloc'd. 0 or -1. */
static int run_methods(AttribParams *P, const AttribMethod *const *ms, int nm, const MethodSettings *set, float **maps,
                       const char *when) {
    for (int j = 0; j < nm; j++) {
        AttribResult R;
        if (set) method_settings_apply(set, P, ms[j]);
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

int mprt_run(Mprt *t, AttribParams *P, const AttribMethod *const *ms, int nm, const MprtConfig *c) {
    memset(t, 0, sizeof *t);
    t->n_methods = nm;
    t->by = c->by;
    int n = P->H * P->W, rc = -1;
    EngModel *orig_model = P->model, *rnd = NULL;
    float **orig = calloc(nm, sizeof *orig), **now = calloc(nm, sizeof *now);
    if (!orig || !now) { eng_set_error("out of memory"); goto done; }
    if (run_methods(P, ms, nm, c->settings, orig, "on the original model")) goto done;
    attrib_params_release(P);
    if (!(rnd = eng_model_clone(orig_model))) goto done;
    t->n_modules = mprt_list_steps(rnd, c->by, &t->modules);
    if (t->n_modules < 1) { eng_set_error("the model has no parameters"); goto done; }
    t->corr = malloc(sizeof(double) * (size_t)(t->n_modules + 1) * nm);
    if (!t->corr) { eng_set_error("out of memory"); goto done; }
    for (int j = 0; j < nm; j++) t->corr[j] = 1.0;
    P->model = rnd;
    for (int s = 1; s <= t->n_modules; s++) {
        const MprtModule *mod = &t->modules[t->n_modules - s];
        char when[ENG_NAME_MAX + 32];
        snprintf(when, sizeof when, "after randomising %s", mod->name);
        mprt_reset_module(rnd, mod, eng_rng_split(c->seed, (uint64_t)s));
        attrib_params_release(P);   /* nothing derived from the weights is cached, but start clean */
        if (run_methods(P, ms, nm, c->settings, now, when)) goto done;
        for (int j = 0; j < nm; j++) t->corr[(size_t)s * nm + j] = stats_spearman(orig[j], now[j], n);
        free_maps(now, nm);
        if (c->on_step) c->on_step(c->ctx, s, t->n_modules, mod->name);
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

/* ---------------- outputs ---------------- */
int mprt_write_csv(const Mprt *t, const AttribMethod *const *ms, const char *path, char *err, size_t errlen) {
    int nm = t->n_methods, nmod = t->n_modules;
    FILE *f = fopen(path, "w");
    if (!f) return err_fail(err, errlen, "cannot write %s: %s", path, strerror(errno));
    fprintf(f, "step,module");
    for (int j = 0; j < nm; j++) fprintf(f, ",%s", ms[j]->name);
    fputc('\n', f);
    char b[32];
    for (int s = 0; s <= nmod; s++) {
        fprintf(f, "%d,%s", s, s ? t->modules[nmod - s].name : "none");
        for (int j = 0; j < nm; j++) {
            double v = t->corr[(size_t)s * nm + j];
            fputc(',', f);
            if (isfinite(v)) fputs(jw_format_number(v, b), f);
        }
        fputc('\n', f);
    }
    return fclose(f) ? err_fail(err, errlen, "cannot write %s", path) : 0;
}

int mprt_write_json(const Mprt *t, const AttribMethod *const *ms, const MprtRunInfo *info, const char *path,
                    char *err, size_t errlen) {
    int nm = t->n_methods, nmod = t->n_modules;
    FILE *f = fopen(path, "w");
    if (!f) return err_fail(err, errlen, "cannot write %s", path);
    JsonWriter w;
    jw_init(&w, f, 1);
    jw_object_begin(&w);
    jw_kv_string(&w, "salient_version", info->version);
    jw_kv_string(&w, "test", "MPRT, cascading randomisation from the top (Adebayo et al. 2018; Quantus "
                             "ModelParameterRandomisation, order top_down)");
    jw_key(&w, "model"); jw_object_begin(&w);
    jw_kv_string(&w, "path", info->model_path); jw_kv_string(&w, "arch", info->arch); jw_kv_string(&w, "sha256", info->sha256);
    jw_kv_int(&w, "input_size", info->input_size); jw_object_end(&w);
    jw_kv_string(&w, "image", info->image);
    jw_kv_int(&w, "target", info->target);
    jw_kv_string(&w, "target_rule", "the original model's predicted class, kept for every randomised model");
    jw_kv_int(&w, "seed", (long long)info->seed);
    jw_kv_string(&w, "steps_are", t->by == MPRT_BY_BLOCK ? "blocks: the modules whose names share their first two "
                                                          "components, randomised together" : "modules, one by one");
    jw_kv_string(&w, "randomisation", "per module, torch reset_parameters(): conv/linear U(-1/sqrt(fan_in), 1/sqrt(fan_in)) "
                                      "for weight and bias; batch norm weight 1, bias 0, running_mean 0, running_var 1; "
                                      "EngRng seeded by eng_rng_split(seed, step)");
    jw_kv_string(&w, "similarity", "Spearman rank correlation of the 2-D maps (average ranks); null if a map is constant");
    jw_kv_number(&w, "flag_threshold", MPRT_FLAG);
    jw_key(&w, "methods"); jw_array_begin(&w);
    for (int j = 0; j < nm; j++) jw_string(&w, ms[j]->name);
    jw_array_end(&w);
    jw_key(&w, "steps"); jw_array_begin(&w);
    for (int s = 0; s <= nmod; s++) {
        jw_object_begin(&w);
        jw_kv_int(&w, "step", s);
        jw_kv_string(&w, "randomised", s ? t->modules[nmod - s].name : NULL);
        jw_key(&w, "spearman"); jw_object_begin(&w);
        for (int j = 0; j < nm; j++) jw_kv_number(&w, ms[j]->name, t->corr[(size_t)s * nm + j]);
        jw_object_end(&w);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_key(&w, "final"); jw_object_begin(&w);
    for (int j = 0; j < nm; j++) jw_kv_number(&w, ms[j]->name, t->corr[(size_t)nmod * nm + j]);
    jw_object_end(&w);
    jw_key(&w, "flagged"); jw_array_begin(&w);
    for (int j = 0; j < nm; j++) if (t->corr[(size_t)nmod * nm + j] > MPRT_FLAG) jw_string(&w, ms[j]->name);
    jw_array_end(&w);
    jw_kv_string(&w, "flagged_means", "the map's Spearman correlation with the original is still above the threshold "
                                      "after every layer is randomised: it does not depend on the model");
    jw_object_end(&w);
    int bad = jw_error(&w);
    return fclose(f) || bad ? err_fail(err, errlen, "cannot write %s", path) : 0;
}
