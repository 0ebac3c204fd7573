/* test_registry.c - the method registry (attrib/registry.c) is the one
   source of every method's parameters: checks the table itself, the rule
   every method reads its numbers by, and that `salient explain --help`,
   `explain.json` (keys, values and the passes that ran) and the README's
   method table all say what the registry says. Drives $SALIENT (default
   ./salient) on a small generated model. */
#include "attrib/attrib.h"
#include "io/file.h"
#include "io/json.h"
#include "tests/check.h"

#include <stdlib.h>
#include <string.h>

static char *run_capture(const char *cmd, size_t *len) {
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t r; buf && (r = fread(buf + n, 1, cap - n - 1, p)) > 0;) {
        n += r;
        if (n + 1 == cap) buf = realloc(buf, cap *= 2);
    }
    pclose(p);
    if (buf) buf[n] = 0;
    if (len) *len = n;
    return buf;
}

static char *read_text(const char *path, size_t *n) {
    uint8_t *buf = NULL;
    char err[256];
    if (io_read_file(path, (size_t)1 << 24, &buf, n, err, sizeof err)) return NULL;
    char *t = realloc(buf, *n + 1);
    if (!t) { free(buf); return NULL; }
    t[*n] = 0;
    return t;
}

static JsonValue *read_json(const char *path) {
    size_t n;
    char err[256], *txt = read_text(path, &n);
    JsonValue *v = txt ? json_parse(txt, n, err, sizeof err) : NULL;
    free(txt);
    return v;
}

static void check_table(void) {
    int bad = 0, read_by[AP_COUNT] = {0};
    for (int i = 0; i < attrib_n_methods(); i++) {
        const AttribMethod *m = attrib_method(i);
        for (int j = 0; j < ATTRIB_MAX_PARAMS && m->params[j].id != AP_END; j++) {
            const AttribParamDefault *d = &m->params[j];
            const AttribParamInfo *pi = attrib_param_info(d->id);
            if (!pi) { printf("  %s: parameter %d unknown\n", m->name, d->id); bad++; continue; }
            read_by[d->id]++;
            for (int k = 0; k < j; k++) if (m->params[k].id == d->id) { printf("  %s: %s twice\n", m->name, pi->key); bad++; }
            int in_range = pi->type == PARAM_INT ? d->def >= pi->lo && d->def <= pi->hi : d->def > pi->lo && d->def <= pi->hi;
            if (pi->type != PARAM_TEXT && !in_range) {
                printf("  %s: default %s %g outside its range\n", m->name, pi->key, d->def);
                bad++;
            }
        }
    }
    for (int id = AP_END + 1; id < AP_COUNT; id++) {
        const AttribParamInfo *pi = attrib_param_info((AttribParamId)id);
        if (!read_by[id]) { printf("  %s is read by no method\n", pi->key); bad++; }
        if (attrib_param_by_key(pi->key) != id) { printf("  key %s does not map back\n", pi->key); bad++; }
    }
    CHECK(!bad, "registry: every parameter known, read by some method, defaults in range, keys unique", "%d problems", bad);
    AttribParams P;
    attrib_params_default(&P);
    const AttribMethod *gig = attrib_find("guidedig");
    double d0 = attrib_method_param(gig, &P, AP_FRACTION);
    attrib_param_set_field(&P, AP_FRACTION, 0.5);
    double d1 = attrib_method_param(gig, &P, AP_FRACTION);
    attrib_param_set_field(&P, AP_FRACTION, 2.0);   /* out of range: the default */
    double d2 = attrib_method_param(gig, &P, AP_FRACTION);
    CHECK(d0 == 0.25 && d1 == 0.5 && d2 == 0.25 && attrib_method_param(gig, &P, AP_MASKS) == 0,
          "registry: a parameter is the default when unset or out of range, the value when set",
          "%g %g %g", d0, d1, d2);
    BaselineKind b;
    CHECK(!attrib_baseline_parse("blur", &b) && b == BASELINE_BLUR && !strcmp(attrib_baseline_name(b), "blur") &&
              attrib_baseline_parse("file", &b) && attrib_baseline_parse("x.npy", &b),
          "registry: baseline names parse and print; file and paths are not names", "mismatch");
}

static void check_help(const char *S) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s explain --help 2>&1", S);
    char *help = run_capture(cmd, NULL);
    int missing = 0;
    for (int i = 0; help && i < attrib_n_methods(); i++) {
        char pat[64];
        snprintf(pat, sizeof pat, "  %s ", attrib_method(i)->name);
        if (!strstr(help, pat)) { printf("  --help lacks method %s\n", attrib_method(i)->name); missing++; }
    }
    for (int id = AP_END + 1; help && id < AP_COUNT; id++)
        if (!strstr(help, attrib_param_info((AttribParamId)id)->option)) {
            printf("  --help lacks %s\n", attrib_param_info((AttribParamId)id)->option);
            missing++;
        }
    CHECK(help && !missing, "registry: explain --help lists every method and every method option", "%d missing", missing);
    free(help);
}

static void check_readme(const char *S) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s methods --markdown", S);
    char *md = run_capture(cmd, NULL);
    size_t n;
    char *readme = read_text("README.md", &n);
    const char *open = "<!-- methods: salient methods --markdown -->\n", *close = "<!-- /methods -->";
    char *a = readme ? strstr(readme, open) : NULL, *b = a ? strstr(a, close) : NULL;
    int same = md && a && b && (size_t)(b - a - strlen(open)) == strlen(md) && !strncmp(a + strlen(open), md, strlen(md));
    CHECK(same, "registry: README's method table is `salient methods --markdown`",
          "%s", !a || !b ? "markers not found in README.md" : "differs: run ./salient methods --markdown and paste it");
    free(md); free(readme);
}

/* The overrides used below, by parameter; 0: not given. */
static const struct { AttribParamId id; const char *opt; double v; } overrides[] = {
    {AP_STEPS, "--steps 3", 3}, {AP_SAMPLES, "--samples 2", 2}, {AP_NOISE, "--noise 0.2", 0.2},
    {AP_FRACTION, "--fraction 0.5", 0.5}, {AP_MAX_DIST, "--max-dist 0.1", 0.1}, {AP_MAX_SIGMA, "--max-sigma 20", 20},
    {AP_GRAD_STEP, "--grad-step 0.02", 0.02}, {AP_WINDOW, "--occ-window 9", 9}, {AP_STRIDE, "--stride 16", 16},
    {AP_MASKS, "--masks 16", 16}, {AP_GRID, "--grid 4", 4}, {AP_PROB, "--prob 0.4", 0.4},
};
#define N_OVERRIDES (int)(sizeof overrides / sizeof overrides[0])

static double override_of(AttribParamId id, int *given) {
    for (int i = 0; i < N_OVERRIDES; i++) if (overrides[i].id == id) { *given = 1; return overrides[i].v; }
    *given = 0;
    return 0;
}

/* One explain.json method entry against the registry: the same keys (plus
   batch), numeric values as given, else the default. */
static int entry_matches(const JsonValue *e, int use_overrides) {
    const AttribMethod *m = attrib_find(json_string(json_get(e, "name")));
    const JsonValue *params = json_get(e, "params");
    if (!m || !params) return 0;
    int n = 0, ok = 1;
    for (int j = 0; j < ATTRIB_MAX_PARAMS && m->params[j].id != AP_END; j++, n++) {
        const AttribParamDefault *d = &m->params[j];
        const AttribParamInfo *pi = attrib_param_info(d->id);
        const JsonValue *v = json_get(params, pi->key);
        int given;
        double want = use_overrides ? override_of(d->id, &given) : (given = 0);
        if (!given) want = d->def;
        if (!v) { printf("  %s: %s not recorded\n", m->name, pi->key); ok = 0; }
        else if (pi->type != PARAM_TEXT && json_number(v) != want) {
            printf("  %s: %s recorded %g, registry says %g\n", m->name, pi->key, json_number(v), want);
            ok = 0;
        }
    }
    if (json_len(params) != (size_t)n + 1 || !json_get(params, "batch")) {
        printf("  %s: %zu recorded parameters, registry has %d (+ batch)\n", m->name, json_len(params), n);
        ok = 0;
    }
    return ok;
}

static const JsonValue *entry_named(const JsonValue *methods, const char *name) {
    for (size_t i = 0; i < json_len(methods); i++)
        if (!strcmp(json_string(json_get(json_at(methods, i), "name")), name)) return json_at(methods, i);
    return NULL;
}

/* Runs explain on the two images of x.npy; the first image's explain.json. */
static JsonValue *explain_json(const char *S, const char *T, const char *methods, const char *extra, const char *out) {
    char cmd[2048], path[1024];
    snprintf(cmd, sizeof cmd, "%s explain -m %s/m.st --input-npy %s/x.npy -M %s %s --no-png -o %s/%s >/dev/null 2>&1",
             S, T, T, methods, extra, T, out);
    if (system(cmd)) return NULL;
    snprintf(path, sizeof path, "%s/%s/x_0/explain.json", T, out);
    return read_json(path);
}

static void check_explain(const char *S, const char *B) {
    char T[] = "/tmp/test_registry_XXXXXX", cmd[2048];
    if (!mkdtemp(T)) { CHECK(0, "registry: scratch folder", "mkdtemp failed"); return; }
    snprintf(cmd, sizeof cmd,
             "%s/tests/tool_mkmodel resnet18 1 10 1 F32 %s/m.st '\"input_size\":\"64\"' >/dev/null && "
             "cp tests/data/golden/resnet18_c1k10/x.npy %s/x.npy", B, T, T);
    int made = !system(cmd);
    char extra[1024] = "";
    for (int i = 0; i < N_OVERRIDES; i++) { strcat(extra, overrides[i].opt); strcat(extra, " "); }
    JsonValue *all = made ? explain_json(S, T, "all", extra, "all") : NULL;
    const JsonValue *ms = json_get(all, "methods");
    int ok = ms && json_len(ms) == (size_t)attrib_n_methods();
    for (size_t i = 0; ms && i < json_len(ms); i++) ok &= entry_matches(json_at(ms, i), 1);
    CHECK(ok, "registry: explain -M all records each method's registry parameters with the values given", "mismatch");
    const JsonValue *ig = entry_named(ms, "ig"), *rise = entry_named(ms, "rise"), *sg = entry_named(ms, "sg-gradient");
    CHECK(json_number(json_get(ig, "forward_images")) == 3 && json_number(json_get(rise, "forward_images")) == 16 &&
              json_number(json_get(sg, "forward_images")) == 2,
          "registry: the recorded values are the ones that ran (ig 3 steps, rise 16 masks, sg-gradient 2 samples)",
          "ig %g rise %g sg %g", json_number(json_get(ig, "forward_images")),
          json_number(json_get(rise, "forward_images")), json_number(json_get(sg, "forward_images")));
    json_free(all);
    JsonValue *def = made ? explain_json(S, T, "ig,sg-gradient,gradcam", "", "def") : NULL;
    ms = json_get(def, "methods");
    ok = ms && json_len(ms) == 3;
    for (size_t i = 0; ms && i < json_len(ms); i++) ok &= entry_matches(json_at(ms, i), 0);
    ig = entry_named(ms, "ig");
    CHECK(ok && json_number(json_get(ig, "forward_images")) == attrib_find("ig")->params[0].def,
          "registry: without options explain records and runs the registry's defaults (ig, sg-gradient, gradcam)",
          "mismatch");
    json_free(def);
    /* parameters for one method alone override the global option for it only */
    JsonValue *one = made ? explain_json(S, T, "ig:steps=3,blurig,gradcam:layer=layer3", "--steps 5", "one") : NULL;
    ms = json_get(one, "methods");
    const JsonValue *ig1 = entry_named(ms, "ig"), *bl = entry_named(ms, "blurig"), *gc = entry_named(ms, "gradcam");
    CHECK(json_number(json_get(json_get(ig1, "params"), "steps")) == 3 && json_number(json_get(ig1, "forward_images")) == 3 &&
              json_number(json_get(json_get(bl, "params"), "steps")) == 5 &&
              json_string(json_get(json_get(gc, "params"), "layer")) &&
              !strcmp(json_string(json_get(json_get(gc, "params"), "layer")), "layer3"),
          "registry: -M ig:steps=3 runs and records 3 steps for ig alone (blurig keeps --steps 5; gradcam:layer=layer3)",
          "ig %g/%g blurig %g", json_number(json_get(json_get(ig1, "params"), "steps")),
          json_number(json_get(ig1, "forward_images")), json_number(json_get(json_get(bl, "params"), "steps")));
    json_free(one);
    snprintf(cmd, sizeof cmd, "%s explain -m %s/m.st --input-npy %s/x.npy -M occlusion:masks=3 -o %s/bad 2>&1", S, T, T, T);
    char *msg = run_capture(cmd, NULL);
    CHECK(msg && strstr(msg, "occlusion does not read 'masks'"), "registry: a parameter the method does not read is refused",
          "%s", msg ? msg : "(no output)");
    free(msg);
    snprintf(cmd, sizeof cmd, "rm -rf %s", T);
    if (system(cmd)) {}
}

/* attrib_method_defaults_text: what a method reads, with its defaults. */
static void check_defaults_text(void) {
    char a[256], b[256], c[8];
    attrib_method_defaults_text(attrib_find("ig"), a, sizeof a);
    attrib_method_defaults_text(attrib_find("gradcam"), b, sizeof b);
    attrib_method_defaults_text(attrib_find("guidedig"), c, sizeof c);
    CHECK(!strcmp(a, "steps 25, baseline black") && !strcmp(b, "layer (model's)") && !strcmp(c, "steps 2"),
          "defaults text: ig, gradcam, and guidedig cut to the buffer", "'%s' '%s' '%s'", a, b, c);
}

int main(void) {
    check_defaults_text();
    const char *S = getenv("SALIENT") ? getenv("SALIENT") : "./salient";
    const char *B = getenv("BUILD") ? getenv("BUILD") : "build";
    check_table();
    check_help(S);
    check_readme(S);
    check_explain(S, B);
    return check_failures_;
}
