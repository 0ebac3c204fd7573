/* settings.h - the parameters a run gives its attribution methods: values
   for every method (0: each method's own default), and values for one
   method alone from its method spec ("guidedig:steps=25:fraction=0.5",
   "gradcam:layer=layer3"), which override the others for that method. From
   these: the parameters each method runs with (into AttribParams), as JSON
   for run.json and explain.json ({"steps": 25, "baseline": "black"}), and a
   figure's caption of what differs from the defaults ("non-default
   settings: steps 10, stride 16"). The parameters and their defaults are
   the registry's (attrib/registry.c). Errors follow engine/error.h. */
#ifndef EVAL_SETTINGS_H
#define EVAL_SETTINGS_H
#include <stddef.h>
#include "attrib/attrib.h"
#include "io/json.h"

/* One method's own values: 0 (an empty layer) where not given. */
typedef struct {
    double param[AP_COUNT];
    char layer[ENG_NAME_MAX];
    char spec[256];          /* the spec as given */
} MethodOverride;

typedef struct {
    double param[AP_COUNT];  /* every method's numeric parameters by id; 0: the method's default */
    const char *layer;       /* the CAM methods' layer; NULL: the model's */
    const char *baseline;    /* NULL: each method's default */
    MethodOverride *over;    /* attrib_n_methods() entries, by registry index; NULL until one is given */
} MethodSettings;

/* Parses "key=value:key=value" (kv, modified) as method m's own values;
   spec is the whole entry, for messages. Keys must be parameters m reads,
   numbers within the registry's range; the layer is a name, and the
   baseline is for every method only. 0, or -1 with
   "SPEC: <reason>" in err. */
int method_settings_override(MethodSettings *s, const AttribMethod *m, char *kv, const char *spec, char *err,
                             size_t errlen);
void method_settings_free(MethodSettings *s);
/* A method list as -M gives it, "a,b:key=value,all" (list, or deflt when
   list is NULL), into *out (malloc'd, *n entries): each method once, in
   the order given; "all" adds every method built into this binary; a
   name's ":key=value:..." are its own values (method_settings_override).
   add_random appends "random" when absent. 0, or -1 with the reason in
   err: "unknown method 'x' (...); known: a b c", "method 'x' is not built
   into this binary", "-M SPEC: <reason>", "no methods given". */
int method_settings_parse_list(MethodSettings *s, const char *list, const char *deflt, int add_random,
                               const AttribMethod ***out, int *n, char *err, size_t errlen);
/* P's numeric parameters and layer as method m runs with them (the values
   for every method, then m's own). */
void method_settings_apply(const MethodSettings *s, AttribParams *P, const AttribMethod *m);
/* The spec m was given with ("guidedig:steps=25"), or its name. */
const char *method_settings_spec(const MethodSettings *s, const AttribMethod *m);
/* The parameters m reads, as used (the value if given, else the default),
   into an open JSON object; the layer a CAM method runs on is model_layer
   unless one was given. */
void method_settings_json(JsonWriter *w, const MethodSettings *s, const AttribMethod *m, const char *model_layer);
/* The parameters of these methods that differ from a method's default:
   "non-default settings: steps 10, samples 3, stride 16, masks 500" (each
   parameter once, in the order the methods read them; the baseline and
   layer when they are not the default). "" when every one is the default. */
void method_settings_caption(char *buf, size_t n, const MethodSettings *s, const AttribMethod *const *ms, int n_methods,
                             const char *default_layer);
#endif
