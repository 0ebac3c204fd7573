/* common.c - helpers shared by the commands (see common.h). */
#include "cli/common.h"
#include "attrib/defaults.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* Parameters given for one method alone in -M ("guidedig:steps=25"), by the
   method's registry index; 0 (an empty layer) where not given. */
typedef struct {
    double param[AP_COUNT];
    char layer[ENG_NAME_MAX];
    char spec[256];
} MethodOverride;
static MethodOverride *g_over;   /* attrib_n_methods() entries, or NULL when none was given */

static int method_index(const AttribMethod *m) {
    for (int i = 0; i < attrib_n_methods(); i++) if (attrib_method(i) == m) return i;
    return -1;
}

/* "key=value:key=value" for method m into its override. 0 or 1 (message printed). */
static int parse_overrides(const AttribMethod *m, char *kv, const char *spec) {
    if (!g_over && !(g_over = calloc(attrib_n_methods(), sizeof *g_over))) return cli_error("out of memory");
    MethodOverride *mo = &g_over[method_index(m)];
    snprintf(mo->spec, sizeof mo->spec, "%s", spec);
    char *save = NULL;
    for (char *t = strtok_r(kv, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
        char *eq = strchr(t, '=');
        if (!eq) return cli_error("-M %s: expected key=value after the method's name, found '%s'", spec, t);
        *eq = 0;
        AttribParamId id = attrib_param_by_key(t);
        const AttribParamDefault *d;
        if (!id || !attrib_method_reads(m, id, &d))
            return cli_error("-M %s: %s does not read '%s' (salient methods lists what it reads)", spec, m->name, t);
        const AttribParamInfo *pi = attrib_param_info(id);
        if (id == AP_LAYER) { snprintf(mo->layer, sizeof mo->layer, "%s", eq + 1); continue; }
        if (pi->type == PARAM_TEXT) return cli_error("-M %s: give '%s' with %s for every method", spec, t, pi->option);
        char *end;
        double v = strtod(eq + 1, &end);
        int ok = end != eq + 1 && !*end && (pi->type == PARAM_INT ? v >= pi->lo && v == (long)v : v > pi->lo) && v <= pi->hi;
        if (!ok) return cli_error("-M %s: %s=%s is outside its range [%g, %g]", spec, t, eq + 1, pi->lo, pi->hi);
        mo->param[id] = v;
    }
    return 0;
}

void method_prepare(AttribParams *P, const Opts *o, const AttribMethod *m) {
    opts_method_params(o, P);
    int i = g_over ? method_index(m) : -1;
    if (i < 0) return;
    for (int id = AP_END + 1; id < AP_COUNT; id++)
        if (g_over[i].param[id] > 0) attrib_param_set_field(P, (AttribParamId)id, g_over[i].param[id]);
    if (g_over[i].layer[0]) P->layer = g_over[i].layer;
}

const char *method_spec(const AttribMethod *m) {
    int i = g_over ? method_index(m) : -1;
    return i >= 0 && g_over[i].spec[0] ? g_over[i].spec : m->name;
}

int methods_parse(const char *list, const char *deflt, int add_random, const AttribMethod ***out, int *n) {
    int cap = attrib_n_methods() + 1, k = 0;
    const AttribMethod **v = calloc(cap, sizeof *v);
    if (!v) return cli_error("out of memory");
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", list ? list : deflt);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strcmp(tok, "all")) {
            for (int i = 0; i < attrib_n_methods(); i++) {
                const AttribMethod *am = attrib_method(i);
                int dup = 0;
                for (int j = 0; j < k; j++) dup |= v[j] == am;
                if (am->run && !dup) v[k++] = am;
            }
            continue;
        }
        char spec[256];
        snprintf(spec, sizeof spec, "%s", tok);
        char *colon = strchr(tok, ':');
        if (colon) *colon = 0;
        const AttribMethod *am = attrib_find(tok);
        if (!am) {
            free(v);
            fprintf(stderr, "salient: unknown method '%s' (salient methods lists each with its parameters); known:", tok);
            for (int i = 0; i < attrib_n_methods(); i++) fprintf(stderr, " %s", attrib_method(i)->name);
            fprintf(stderr, "\n");
            return 1;
        }
        if (!am->run) { free(v); return cli_error("method '%s' is not built into this binary", tok); }
        if (colon && parse_overrides(am, colon + 1, spec)) { free(v); return 1; }
        int dup = 0;
        for (int j = 0; j < k; j++) dup |= v[j] == am;
        if (!dup) v[k++] = am;
    }
    if (add_random) {
        const AttribMethod *r = attrib_find("random");
        int have = 0;
        for (int j = 0; j < k; j++) have |= v[j] == r;
        if (!have && r && r->run) v[k++] = r;
    }
    if (!k) { free(v); return cli_error("no methods given"); }
    *out = v;
    *n = k;
    return 0;
}

/* Calls fn(id, default, ctx) for each parameter the method reads, in the
   registry's order (attrib/registry.c). */
typedef void (*ParamFn)(const AttribMethod *m, AttribParamId id, const AttribParamDefault *d, void *ctx);
static void method_each_param(const AttribMethod *m, ParamFn fn, void *ctx) {
    for (int i = 0; m && i < ATTRIB_MAX_PARAMS && m->params[i].id != AP_END; i++) fn(m, m->params[i].id, &m->params[i], ctx);
}

/* The value a method runs with for a numeric parameter under these options. */
static double param_value(const AttribMethod *m, AttribParamId id, const AttribParamDefault *d, const Opts *o) {
    AttribParams P;
    attrib_params_default(&P);
    method_prepare(&P, o, m);
    return attrib_param_or(&P, id, d->def);
}

/* The layer a CAM method runs on: its own -M layer=, else --layer, else the model's. */
static const char *layer_used(const AttribMethod *m, const Opts *o, const char *model_layer) {
    AttribParams P;
    attrib_params_default(&P);
    method_prepare(&P, o, m);
    return P.layer && P.layer[0] ? P.layer : model_layer;
}

/* The baseline a method runs with: the option, except that XRAI ignores
   named baselines (only a file replaces its min/max pair). */
static const char *baseline_used(const AttribParamDefault *d, const Opts *o) {
    BaselineKind named;
    if (!o->baseline) return d->text_def;
    if (!strcmp(d->text_def, XRAI_BASELINES) && !attrib_baseline_parse(o->baseline, &named)) return d->text_def;
    return o->baseline;
}

typedef struct { JsonWriter *w; const Opts *o; const char *layer; } ParamsJson;

static void param_json(const AttribMethod *m, AttribParamId id, const AttribParamDefault *d, void *ctx) {
    const ParamsJson *c = ctx;
    const char *key = attrib_param_info(id)->key;
    if (id == AP_BASELINE) jw_kv_string(c->w, key, baseline_used(d, c->o));
    else if (id == AP_LAYER) jw_kv_string(c->w, key, layer_used(m, c->o, c->layer));
    else jw_kv_number(c->w, key, param_value(m, id, d, c->o));
}

void method_params_json(JsonWriter *w, const char *method, const Opts *o, const char *layer) {
    ParamsJson c = {w, o, layer};
    method_each_param(attrib_find(method), param_json, &c);
}

typedef struct {
    const Opts *o;
    const char *default_layer;
    char seen[512], line[1024];   /* " key key " already listed; the line so far */
    size_t L;
} SettingsLine;

static void param_setting(const AttribMethod *m, AttribParamId id, const AttribParamDefault *d, void *ctx) {
    SettingsLine *c = ctx;
    const Opts *o = c->o;
    const char *key = attrib_param_info(id)->key;
    char val[128], pat[80];
    if (id == AP_BASELINE) {
        const char *b = baseline_used(d, o);
        if (!strcmp(b, d->text_def)) return;
        snprintf(val, sizeof val, "%.100s", b);
    } else if (id == AP_LAYER) {
        const char *l = layer_used(m, o, c->default_layer);
        if (!l || (c->default_layer && !strcmp(l, c->default_layer))) return;
        snprintf(val, sizeof val, "%.100s", l);
    } else {
        double v = param_value(m, id, d, o);
        if (v == d->def) return;
        snprintf(val, sizeof val, "%g", v);
    }
    snprintf(pat, sizeof pat, " %s ", key);
    if (strstr(c->seen, pat)) return;
    if (strlen(c->seen) + strlen(key) + 2 < sizeof c->seen) { strcat(c->seen, key); strcat(c->seen, " "); }
    if (c->L < sizeof c->line)
        c->L += (size_t)snprintf(c->line + c->L, sizeof c->line - c->L, "%s%s %s", c->L ? ", " : "", key, val);
}

int figure_grid_methods_png(const char *path, const FigureInfo *f, const float *input01, int C, int S,
                            float *const *maps, const AttribMethod *const *ms, int n, int max_cols) {
    size_t nm = n > 0 ? (size_t)n : 1;
    const char **names = calloc(nm, sizeof *names);
    int *clip = calloc(nm, sizeof *clip), rc = -1;
    if (names && clip) {
        for (int k = 0; k < n; k++) {
            names[k] = ms[k]->name;
            clip[k] = ms[k]->family == FAMILY_GRADIENT;
        }
        rc = figure_grid_png(path, f, input01, C, S, (const float *const *)maps, names, clip, n, max_cols);
    }
    free(names); free(clip);
    return rc;
}

void method_settings_line(char *buf, size_t n, const AttribMethod *const *ms, int n_methods, const Opts *o,
                          const char *default_layer) {
    SettingsLine c = {o, default_layer, " ", "", 0};
    for (int m = 0; m < n_methods; m++) method_each_param(ms[m], param_setting, &c);
    snprintf(buf, n, "%s%s", c.L ? "non-default settings: " : "", c.line);
}

static void fmt_duration(char *b, size_t n, double s) {
    if (!isfinite(s) || s < 0) { snprintf(b, n, "?"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(b, n, "%ldh%02ldm", t / 3600, t % 3600 / 60);
    else if (t >= 60) snprintf(b, n, "%ldm%02lds", t / 60, t % 60);
    else snprintf(b, n, "%lds", t);
}

void pbar_start(ProgressBar *pb, const char *what, long total) {
    memset(pb, 0, sizeof *pb);
    pb->tty = isatty(2);
    pb->total = total;
    pb->what = what;
    pb->t0 = attrib_now();
}

static void pbar_draw(ProgressBar *pb, const char *label);

void pbar_show(ProgressBar *pb, const char *label) {
    if (pb && pb->tty) pbar_draw(pb, label);
}

void pbar_step(ProgressBar *pb, int computed, const char *label) {
    pb->done++;
    pb->computed += computed != 0;
    pbar_draw(pb, label);
}

static void pbar_draw(ProgressBar *pb, const char *label) {
    double el = attrib_now() - pb->t0, rate = el > 0 ? pb->computed / el : 0;
    double left = rate > 0 ? (pb->total - pb->done) / rate : NAN;
    char eta[32], spent[32];
    fmt_duration(eta, sizeof eta, left);
    fmt_duration(spent, sizeof spent, el);
    int pct = pb->total > 0 ? (int)(100 * pb->done / pb->total) : 100;
    if (pb->tty) {
        int width = 28, fill = pb->total > 0 ? (int)(width * pb->done / pb->total) : width;
        fprintf(stderr, "\r[");
        for (int i = 0; i < width; i++) fputc(i < fill ? '#' : '.', stderr);
        fprintf(stderr, "] %3d%% %ld/%ld %s  %.3g/s  %s left  %-36.36s", pct, pb->done, pb->total, pb->what, rate, eta,
                label ? label : "");
        fflush(stderr);
        return;
    }
    long every = pb->total / 20 > 0 ? pb->total / 20 : 1;
    if (pb->done - pb->last_line >= every || pb->done == pb->total) {
        pb->last_line = pb->done;
        fprintf(stderr, "salient: %ld/%ld %s (%d%%), %.2f/s, %s spent, %s left\n", pb->done, pb->total, pb->what, pct,
                rate, spent, eta);
    }
}

void pbar_attrib_progress(void *ctx, long done, long total) {
    ProgressBar *pb = ctx;
    if (!pb->tty || total <= 0) return;
    if (done <= 1 || total != pb->total) { pb->t0 = attrib_now(); pb->total = total; }
    pb->done = pb->computed = done;
    pbar_draw(pb, NULL);
    if (done >= total) pbar_end(pb);
}

void pbar_end(ProgressBar *pb) {
    if (pb->tty) fprintf(stderr, "\r%*s\r", 110, "");
}

