/* cmd_methods.c - `salient methods`: the method registry (attrib/registry.c)
   as text, JSON or the README's Markdown table. */
#include "cli/cli.h"
#include "io/json.h"

#include <stdio.h>
#include <string.h>

static void methods_json(void) {
    JsonWriter w;
    jw_init(&w, stdout, 1);
    jw_object_begin(&w);
    jw_key(&w, "methods");
    jw_array_begin(&w);
    for (int i = 0; i < attrib_n_methods(); i++) {
        const AttribMethod *m = attrib_method(i);
        jw_object_begin(&w);
        jw_kv_string(&w, "name", m->name);
        jw_kv_string(&w, "family", attrib_family_name(m->family));
        jw_kv_string(&w, "summary", m->summary);
        jw_key(&w, "defaults");
        jw_object_begin(&w);
        for (int j = 0; j < ATTRIB_MAX_PARAMS && m->params[j].id != AP_END; j++) {
            const AttribParamDefault *d = &m->params[j];
            const AttribParamInfo *pi = attrib_param_info(d->id);
            if (pi->type == PARAM_TEXT) jw_kv_string(&w, pi->key, d->text_def);
            else jw_kv_number(&w, pi->key, d->def);
        }
        jw_object_end(&w);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_key(&w, "parameters");
    jw_array_begin(&w);
    for (int id = AP_END + 1; id < AP_COUNT; id++) {
        const AttribParamInfo *pi = attrib_param_info((AttribParamId)id);
        jw_object_begin(&w);
        jw_kv_string(&w, "key", pi->key);
        jw_kv_string(&w, "option", pi->option);
        jw_kv_string(&w, "type", pi->type == PARAM_INT ? "integer" : pi->type == PARAM_REAL ? "real" : "text");
        jw_kv_string(&w, "help", pi->help);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_object_end(&w);
}

static void methods_markdown(void) {
    printf("| method | family | defaults | what it is |\n|---|---|---|---|\n");
    for (int i = 0; i < attrib_n_methods(); i++) {
        const AttribMethod *m = attrib_method(i);
        char defs[256];
        attrib_method_defaults_text(m, defs, sizeof defs);
        printf("| `%s` | %s | %s | %s |\n", m->name, attrib_family_name(m->family), defs[0] ? defs : "-", m->summary);
    }
    printf("\n| option | parameter |\n|---|---|\n");
    for (int id = AP_END + 1; id < AP_COUNT; id++) {
        const AttribParamInfo *pi = attrib_param_info((AttribParamId)id);
        printf("| `%s` | %s |\n", pi->option, pi->help);
    }
}

int cmd_methods(const Opts *o) {
    if (o->json) methods_json();
    else if (o->markdown) methods_markdown();
    else opts_usage_methods_to(stdout);
    return 0;
}
