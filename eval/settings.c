/* settings.c - the parameters a run gives its methods (see settings.h). */
#include "eval/settings.h"
#include "attrib/defaults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int method_index(const AttribMethod *m) {
    for (int i = 0; i < attrib_n_methods(); i++) if (attrib_method(i) == m) return i;
    return -1;
}

int method_settings_override(MethodSettings *s, const AttribMethod *m, char *kv, const char *spec, char *err,
                             size_t errlen) {
    int mi = method_index(m);
    if (mi < 0) return err_fail(err, errlen, "%s: not a registered method", spec);
    if (!s->over && !(s->over = calloc(attrib_n_methods(), sizeof *s->over))) return err_fail(err, errlen, "out of memory");
    MethodOverride o = s->over[mi], *mo = &o;   /* kept only when every value is valid */
    snprintf(mo->spec, sizeof mo->spec, "%s", spec);
    char *save = NULL;
    for (char *t = strtok_r(kv, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
        char *eq = strchr(t, '=');
        if (!eq) return err_fail(err, errlen, "%s: expected key=value after the method's name, found '%s'", spec, t);
        *eq = 0;
        AttribParamId id = attrib_param_by_key(t);
        const AttribParamDefault *d;
        if (!id || !attrib_method_reads(m, id, &d))
            return err_fail(err, errlen, "%s: %s does not read '%s' (salient methods lists what it reads)", spec, m->name, t);
        const AttribParamInfo *pi = attrib_param_info(id);
        if (id == AP_LAYER) { snprintf(mo->layer, sizeof mo->layer, "%s", eq + 1); continue; }
        if (pi->type == PARAM_TEXT) return err_fail(err, errlen, "%s: give '%s' with %s for every method", spec, t, pi->option);
        char *end;
        double v = strtod(eq + 1, &end);
        int ok = end != eq + 1 && !*end && (pi->type == PARAM_INT ? v >= pi->lo && v == (long)v : v > pi->lo) && v <= pi->hi;
        if (!ok) return err_fail(err, errlen, "%s: %s=%s is outside its range [%g, %g]", spec, t, eq + 1, pi->lo, pi->hi);
        mo->param[id] = v;
    }
    s->over[mi] = o;
    return 0;
}

static int has(const AttribMethod *const *v, int k, const AttribMethod *m) {
    for (int j = 0; j < k; j++) if (v[j] == m) return 1;
    return 0;
}

int method_settings_parse_list(MethodSettings *s, const char *list, const char *deflt, int add_random,
                               const AttribMethod ***out, int *n, char *err, size_t errlen) {
    int cap = attrib_n_methods() + 1, k = 0;
    const AttribMethod **v = calloc(cap, sizeof *v);
    if (!v) return err_fail(err, errlen, "out of memory");
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", list ? list : deflt);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strcmp(tok, "all")) {
            for (int i = 0; i < attrib_n_methods(); i++)
                if (attrib_method(i)->run && !has(v, k, attrib_method(i))) v[k++] = attrib_method(i);
            continue;
        }
        char spec[256];
        snprintf(spec, sizeof spec, "%s", tok);
        char *colon = strchr(tok, ':');
        if (colon) *colon = 0;
        const AttribMethod *am = attrib_find(tok);
        if (!am) {
            err_fail(err, errlen, "unknown method '%s' (salient methods lists each with its parameters); known:", tok);
            for (int i = 0; err && errlen && i < attrib_n_methods(); i++) {
                size_t L = strlen(err);
                snprintf(err + L, errlen - L, " %s", attrib_method(i)->name);
            }
            free(v);
            return -1;
        }
        if (!am->run) { free(v); return err_fail(err, errlen, "method '%s' is not built into this binary", tok); }
        char why[600];
        if (colon && method_settings_override(s, am, colon + 1, spec, why, sizeof why)) { free(v); return err_fail(err, errlen, "-M %s", why); }
        if (!has(v, k, am)) v[k++] = am;
    }
    const AttribMethod *r = attrib_find("random");
    if (add_random && r && r->run && !has(v, k, r)) v[k++] = r;
    if (!k) { free(v); return err_fail(err, errlen, "no methods given"); }
    *out = v;
    *n = k;
    return 0;
}

void method_settings_free(MethodSettings *s) {
    free(s->over);
    s->over = NULL;
}

void method_settings_apply(const MethodSettings *s, AttribParams *P, const AttribMethod *m) {
    for (int id = AP_END + 1; id < AP_COUNT; id++) attrib_param_set_field(P, (AttribParamId)id, s->param[id]);
    P->layer = s->layer;
    int i = s->over ? method_index(m) : -1;
    if (i < 0) return;
    for (int id = AP_END + 1; id < AP_COUNT; id++)
        if (s->over[i].param[id] > 0) attrib_param_set_field(P, (AttribParamId)id, s->over[i].param[id]);
    if (s->over[i].layer[0]) P->layer = s->over[i].layer;
}

const char *method_settings_spec(const MethodSettings *s, const AttribMethod *m) {
    int i = s->over ? method_index(m) : -1;
    return i >= 0 && s->over[i].spec[0] ? s->over[i].spec : m->name;
}

/* Calls fn(m, id, default, ctx) for each parameter the method reads, in the
   registry's order. */
typedef void (*ParamFn)(const AttribMethod *m, AttribParamId id, const AttribParamDefault *d, void *ctx);
static void method_each_param(const AttribMethod *m, ParamFn fn, void *ctx) {
    for (int i = 0; m && i < ATTRIB_MAX_PARAMS && m->params[i].id != AP_END; i++) fn(m, m->params[i].id, &m->params[i], ctx);
}

/* The value a method runs with for a numeric parameter. */
static double param_value(const MethodSettings *s, const AttribMethod *m, AttribParamId id, const AttribParamDefault *d) {
    AttribParams P;
    attrib_params_default(&P);
    method_settings_apply(s, &P, m);
    return attrib_param_or(&P, id, d->def);
}

/* The layer a CAM method runs on: its own, else the one for every method, else the model's. */
static const char *layer_used(const MethodSettings *s, const AttribMethod *m, const char *model_layer) {
    AttribParams P;
    attrib_params_default(&P);
    method_settings_apply(s, &P, m);
    return P.layer && P.layer[0] ? P.layer : model_layer;
}

/* The baseline a method runs with: the one given, except that XRAI ignores
   named baselines (only a file replaces its min/max pair). */
static const char *baseline_used(const MethodSettings *s, const AttribParamDefault *d) {
    BaselineKind named;
    if (!s->baseline) return d->text_def;
    if (!strcmp(d->text_def, XRAI_BASELINES) && !attrib_baseline_parse(s->baseline, &named)) return d->text_def;
    return s->baseline;
}

typedef struct { JsonWriter *w; const MethodSettings *s; const char *layer; } ParamsJson;

static void param_json(const AttribMethod *m, AttribParamId id, const AttribParamDefault *d, void *ctx) {
    const ParamsJson *c = ctx;
    const char *key = attrib_param_info(id)->key;
    if (id == AP_BASELINE) jw_kv_string(c->w, key, baseline_used(c->s, d));
    else if (id == AP_LAYER) jw_kv_string(c->w, key, layer_used(c->s, m, c->layer));
    else jw_kv_number(c->w, key, param_value(c->s, m, id, d));
}

void method_settings_json(JsonWriter *w, const MethodSettings *s, const AttribMethod *m, const char *model_layer) {
    ParamsJson c = {w, s, model_layer};
    method_each_param(m, param_json, &c);
}

typedef struct {
    const MethodSettings *s;
    const char *default_layer;
    char seen[512], line[1024];   /* " key key " already listed; the line so far */
    size_t L;
} Caption;

static void param_caption(const AttribMethod *m, AttribParamId id, const AttribParamDefault *d, void *ctx) {
    Caption *c = ctx;
    const char *key = attrib_param_info(id)->key;
    char val[128], pat[80];
    if (id == AP_BASELINE) {
        const char *b = baseline_used(c->s, d);
        if (!strcmp(b, d->text_def)) return;
        snprintf(val, sizeof val, "%.100s", b);
    } else if (id == AP_LAYER) {
        const char *l = layer_used(c->s, m, c->default_layer);
        if (!l || (c->default_layer && !strcmp(l, c->default_layer))) return;
        snprintf(val, sizeof val, "%.100s", l);
    } else {
        double v = param_value(c->s, m, id, d);
        if (v == d->def) return;
        snprintf(val, sizeof val, "%g", v);
    }
    snprintf(pat, sizeof pat, " %s ", key);
    if (strstr(c->seen, pat)) return;
    if (strlen(c->seen) + strlen(key) + 2 < sizeof c->seen) { strcat(c->seen, key); strcat(c->seen, " "); }
    if (c->L < sizeof c->line)
        c->L += (size_t)snprintf(c->line + c->L, sizeof c->line - c->L, "%s%s %s", c->L ? ", " : "", key, val);
}

void method_settings_caption(char *buf, size_t n, const MethodSettings *s, const AttribMethod *const *ms, int n_methods,
                             const char *default_layer) {
    Caption c = {s, default_layer, " ", "", 0};
    for (int m = 0; m < n_methods; m++) method_each_param(ms[m], param_caption, &c);
    snprintf(buf, n, "%s%s", c.L ? "non-default settings: " : "", c.line);
}
