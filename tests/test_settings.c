/* test_settings.c - eval/settings.h: one method's own values parsed from a
   method spec (and refused: an unknown key, a key the method does not
   read, a value out of range, a missing '=', the baseline), the values
   each method runs with (its own over the ones for every method), its
   parameters as JSON (XRAI keeping its min,max baselines under a named
   one) and the caption of non-default settings. */
#include "eval/settings.h"
#include "tests/check.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int override(MethodSettings *s, const char *method, const char *kv, char *err, size_t n) {
    char buf[256], spec[300];
    snprintf(buf, sizeof buf, "%s", kv);
    snprintf(spec, sizeof spec, "%s:%s", method, kv);
    return method_settings_override(s, attrib_find(method), buf, spec, err, n);
}

/* The JSON of method m's parameters as text. */
static void params_text(const MethodSettings *s, const char *m, const char *layer, char *out, size_t n) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    JsonWriter w;
    jw_init(&w, f, 0);
    jw_object_begin(&w);
    method_settings_json(&w, s, attrib_find(m), layer);
    jw_object_end(&w);
    fclose(f);
    snprintf(out, n, "%s", buf ? buf : "");
    free(buf);
}

int main(void) {
    MethodSettings s;
    memset(&s, 0, sizeof s);
    char err[512] = "", txt[512];
    CHECK(!override(&s, "guidedig", "steps=25:fraction=0.5", err, sizeof err) && !override(&s, "gradcam", "layer=layer3", err, sizeof err),
          "guidedig:steps=25:fraction=0.5 and gradcam:layer=layer3 accepted", "%s", err);
    CHECK(override(&s, "ig", "masks=10", err, sizeof err) == -1 && !strcmp(err, "ig:masks=10: ig does not read 'masks' (salient methods lists what it reads)"),
          "a key the method does not read", "'%s'", err);
    CHECK(override(&s, "ig", "nonsense=1", err, sizeof err) == -1 && strstr(err, "does not read 'nonsense'"), "an unknown key", "'%s'", err);
    CHECK(override(&s, "ig", "steps=0", err, sizeof err) == -1 && strstr(err, "steps=0 is outside its range"), "steps=0 out of range", "'%s'", err);
    CHECK(override(&s, "ig", "steps=2.5", err, sizeof err) == -1 && strstr(err, "outside its range"), "a fractional step count", "'%s'", err);
    CHECK(override(&s, "ig", "steps", err, sizeof err) == -1 && strstr(err, "expected key=value after the method's name, found 'steps'"),
          "a key without a value", "'%s'", err);
    CHECK(override(&s, "ig", "baseline=white", err, sizeof err) == -1 && strstr(err, "give 'baseline' with --baseline for every method"),
          "the baseline is for every method only", "'%s'", err);
    s.param[AP_STEPS] = 10;
    AttribParams P;
    attrib_params_default(&P);
    method_settings_apply(&s, &P, attrib_find("guidedig"));
    double gi = attrib_param_or(&P, AP_STEPS, 0), fr = attrib_param_or(&P, AP_FRACTION, 0);
    attrib_params_default(&P);
    method_settings_apply(&s, &P, attrib_find("ig"));
    double ig = attrib_param_or(&P, AP_STEPS, 0);
    CHECK(gi == 25 && fr == 0.5 && ig == 10, "guidedig runs its own 25 steps, ig the 10 for every method", "guidedig %g ig %g", gi, ig);
    attrib_params_default(&P);
    method_settings_apply(&s, &P, attrib_find("gradcam"));
    CHECK(P.layer && !strcmp(P.layer, "layer3"), "gradcam's own layer", "%s", P.layer ? P.layer : "(none)");
    CHECK(!strcmp(method_settings_spec(&s, attrib_find("guidedig")), "guidedig:steps=25:fraction=0.5") &&
          !strcmp(method_settings_spec(&s, attrib_find("ig")), "ig"), "specs as given, else the name (a refused spec leaves nothing)", "%s", method_settings_spec(&s, attrib_find("ig")));
    params_text(&s, "ig", "layer4", txt, sizeof txt);
    CHECK(!strcmp(txt, "{\"steps\":10,\"baseline\":\"black\"}"), "ig's parameters as JSON", "%s", txt);
    s.baseline = "white";
    params_text(&s, "xrai", "layer4", txt, sizeof txt);
    CHECK(!strcmp(txt, "{\"steps\":10,\"baseline\":\"min,max\"}"), "xrai keeps min,max under a named baseline", "%s", txt);
    params_text(&s, "gradcam", "layer4", txt, sizeof txt);
    CHECK(!strcmp(txt, "{\"layer\":\"layer3\"}"), "gradcam's layer as JSON", "%s", txt);
    const AttribMethod *ms[3] = {attrib_find("ig"), attrib_find("guidedig"), attrib_find("gradcam")};
    method_settings_caption(txt, sizeof txt, &s, ms, 3, "layer4");
    CHECK(!strcmp(txt, "non-default settings: steps 10, baseline white, fraction 0.5, layer layer3"),
          "caption: each changed parameter once, in the methods' order", "'%s'", txt);
    MethodSettings none;
    memset(&none, 0, sizeof none);
    method_settings_caption(txt, sizeof txt, &none, ms, 3, "layer4");
    CHECK(!strcmp(txt, ""), "caption of the defaults: empty", "'%s'", txt);
    method_settings_free(&s);
    /* method lists (-M) */
    MethodSettings L;
    memset(&L, 0, sizeof L);
    const AttribMethod **v = NULL;
    int n = 0;
    CHECK(!method_settings_parse_list(&L, "ig,gradcam:layer=layer3,ig", "all", 1, &v, &n, err, sizeof err) && n == 3 &&
          v[0] == attrib_find("ig") && v[1] == attrib_find("gradcam") && v[2] == attrib_find("random") &&
          !strcmp(method_settings_spec(&L, v[1]), "gradcam:layer=layer3"),
          "-M ig,gradcam:layer=layer3,ig: each once, in order, random appended, gradcam's own spec", "%s n %d", err, n);
    free(v);
    int n_run = 0;
    for (int i = 0; i < attrib_n_methods(); i++) n_run += attrib_method(i)->run != NULL;
    CHECK(!method_settings_parse_list(&L, NULL, "gradcam,all", 0, &v, &n, err, sizeof err) && n == n_run &&
          v[0] == attrib_find("gradcam"), "the default list when none is given; all adds each built-in method once", "%d of %d", n, n_run);
    free(v);
    CHECK(!method_settings_parse_list(&L, "random,ig", NULL, 1, &v, &n, err, sizeof err) && n == 2,
          "random already there: not appended twice", "%d", n);
    free(v);
    v = NULL;
    CHECK(method_settings_parse_list(&L, "ig,foo", NULL, 0, &v, &n, err, sizeof err) == -1 && !v &&
          strstr(err, "unknown method 'foo'") && strstr(err, "known: gradient gradxinput ig "),
          "an unknown method: refused with the known names", "'%s'", err);
    CHECK(method_settings_parse_list(&L, "ig:steps=0", NULL, 0, &v, &n, err, sizeof err) == -1 &&
          !strncmp(err, "-M ig:steps=0: ", 15) && method_settings_parse_list(&L, ",", NULL, 0, &v, &n, err, sizeof err) == -1 &&
          !strcmp(err, "no methods given"), "a bad parameter in a spec; an empty list", "'%s'", err);
    method_settings_free(&L);
    CHECK_DONE();
}
