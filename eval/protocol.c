/* protocol.c - a study's protocol file (see protocol.h). */
#include "eval/protocol.h"
#include "eval/mprt.h"
#include "engine/error.h"
#include "io/file.h"

#define STR_(x) #x
#define STR(x) STR_(x)

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROTOCOL_MAX_BYTES (64 * 1024)

typedef struct {
    StudyProtocol *p;
    const char *dir, *data_dir;
    int line;
    char section;            /* 0 study, 'v' variant, 'd' data */
    char *err;
    size_t n;
} Parser;

static int fail(Parser *ps, const char *fmt, const char *a, const char *b) {
    char msg[600];
    snprintf(msg, sizeof msg, fmt, a, b);
    return err_fail(ps->err, ps->n, "protocol line %d: %s", ps->line, msg);
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t L = strlen(s);
    while (L && isspace((unsigned char)s[L - 1])) s[--L] = 0;
    return s;
}

static int copy(Parser *ps, char *dst, size_t n, const char *v, const char *key) {
    if (strlen(v) >= n) return fail(ps, "%s: the value is longer than %s characters", key, n > 1000 ? "1023" : "63");
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

/* "$DATA/x" below the data folder; a relative path below the protocol's folder. */
static int resolve(Parser *ps, char *dst, const char *v, const char *key) {
    int w;
    if (!strncmp(v, "$DATA", 5) && (v[5] == '/' || !v[5])) {
        if (!ps->data_dir) return fail(ps, "%s = %s: give the data folder (--data DIR or SALIENT_DATA)", key, v);
        w = snprintf(dst, PROTOCOL_PATH, "%s%s", ps->data_dir, v + 5);
    } else if (v[0] == '/' || !ps->dir || !ps->dir[0]) {
        w = snprintf(dst, PROTOCOL_PATH, "%s", v);
    } else {
        w = snprintf(dst, PROTOCOL_PATH, "%s/%s", ps->dir, v);
    }
    return w < 0 || w >= PROTOCOL_PATH ? fail(ps, "%s: path too long (%s)", key, v) : 0;
}

static int parse_onoff(Parser *ps, const char *key, const char *v, int *out) {
    if (!strcmp(v, "on")) *out = 1;
    else if (!strcmp(v, "off")) *out = 0;
    else return fail(ps, "%s = %s: expected on or off", key, v);
    return 0;
}

static int study_key(Parser *ps, const char *key, const char *v) {
    StudyProtocol *p = ps->p;
    char *end;
    if (!strcmp(key, "name")) return copy(ps, p->name, sizeof p->name, v, key);
    if (!strcmp(key, "methods")) {   /* as -M, with any spaces dropped ("ig, xrai" = "ig,xrai") */
        char packed[sizeof p->methods + 1];
        size_t L = 0;
        for (const char *c = v; *c && L < sizeof packed - 1; c++)
            if (!isspace((unsigned char)*c)) packed[L++] = *c;
        packed[L] = 0;
        return copy(ps, p->methods, sizeof p->methods, packed, key);
    }
    if (!strcmp(key, "insdel")) return parse_onoff(ps, key, v, &p->insdel);
    if (!strcmp(key, "seed")) {
        unsigned long long s = strtoull(v, &end, 10);
        if (!isdigit((unsigned char)v[0]) || *end) return fail(ps, "seed = %s: expected a non-negative integer%s", v, "");
        p->seed = s;
        return 0;
    }
    if (!strcmp(key, "sanity")) {
        long n = strtol(v, &end, 10);
        if (!isdigit((unsigned char)v[0]) || *end || n > PROTOCOL_MAX_SANITY)
            return fail(ps, "sanity = %s: expected a number of images from 0 to %s", v, STR(PROTOCOL_MAX_SANITY));
        p->sanity_images = (int)n;
        return 0;
    }
    if (!strcmp(key, "maps")) {
        if (strcmp(v, "all") && strcmp(v, "scored")) return fail(ps, "maps = %s: expected all or scored%s", v, "");
        p->scored_maps_only = !strcmp(v, "scored");
        return 0;
    }
    if (!strcmp(key, "sanity_by"))
        return mprt_granularity_parse(v, &p->sanity_by) ? fail(ps, "sanity_by = %s: expected module or block%s", v, "")
                                                        : 0;
    return fail(ps, "unknown study key '%s'%s (name, seed, methods, insdel, maps, sanity, sanity_by)", key, "");
}

static int variant_key(Parser *ps, const char *key, const char *v) {
    StudyVariant *s = &ps->p->variant[ps->p->n_variant - 1];
    char *end;
    if (!strcmp(key, "about")) return copy(ps, s->about, sizeof s->about, v, key);
    if (!strcmp(key, "target"))
        return eval_target_rule_parse(v, &s->target) ? fail(ps, "target = %s: expected pred, label or paper%s", v, "")
                                                     : 0;
    if (!strcmp(key, "info"))
        return info_parse(v, &s->info) ? fail(ps, "info = %s: expected webp, png or entropy%s", v, "") : 0;
    if (!strcmp(key, "aggregate")) {
        if (strcmp(v, "mean") && strcmp(v, "median")) return fail(ps, "aggregate = %s: expected mean or median%s", v, "");
        s->median = !strcmp(v, "median");
        return 0;
    }
    if (!strcmp(key, "min_pred")) {
        double x = strtod(v, &end);
        if (end == v || *end || !(x >= 0 && x <= 1)) return fail(ps, "min_pred = %s: expected a number in [0, 1]%s", v, "");
        s->min_pred = x;
        return 0;
    }
    return fail(ps, "unknown variant key '%s'%s (target, info, min_pred, aggregate, about)", key, "");
}

static int data_key(Parser *ps, const char *key, const char *v) {
    StudyData *d = &ps->p->data[ps->p->n_data - 1];
    if (!strcmp(key, "about")) return copy(ps, d->about, sizeof d->about, v, key);
    if (!strcmp(key, "model")) return resolve(ps, d->model, v, key);
    if (!strcmp(key, "list")) return resolve(ps, d->list, v, key);
    if (!strcmp(key, "root")) return resolve(ps, d->root, v, key);
    return fail(ps, "unknown data key '%s'%s (model, list, root, about)", key, "");
}

static int valid_name(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.') return 0;
    return 1;
}

/* "[variant NAME]" / "[data NAME]": opens the section with its defaults. */
static int section(Parser *ps, char *s) {
    StudyProtocol *p = ps->p;
    size_t L = strlen(s);
    if (s[L - 1] != ']') return fail(ps, "a section line must end with ']'%s%s", "", "");
    s[L - 1] = 0;
    char *kind = trim(s + 1), *name = kind;
    while (*name && !isspace((unsigned char)*name)) name++;
    if (*name) *name++ = 0;
    name = trim(name);
    if (!valid_name(name) || strlen(name) >= 64)
        return fail(ps, "section name '%s'%s: letters, digits, '-', '_' and '.', under 64 characters", name, "");
    if (!strcmp(kind, "variant")) {
        for (int i = 0; i < p->n_variant; i++)
            if (!strcmp(p->variant[i].name, name)) return fail(ps, "variant '%s' is defined twice%s", name, "");
        if (p->n_variant == PROTOCOL_MAX_VARIANTS) return fail(ps, "more than %s variants%s", "8", "");
        StudyVariant *v = &p->variant[p->n_variant++];
        memset(v, 0, sizeof *v);
        snprintf(v->name, sizeof v->name, "%s", name);
        v->target = TARGET_RULE_PRED;
        v->info = INFO_WEBP;
        v->min_pred = PIC_MIN_PRED;
        ps->section = 'v';
        return 0;
    }
    if (!strcmp(kind, "data")) {
        for (int i = 0; i < p->n_data; i++)
            if (!strcmp(p->data[i].name, name)) return fail(ps, "data set '%s' is defined twice%s", name, "");
        if (p->n_data == PROTOCOL_MAX_DATA) return fail(ps, "more than %s data sets%s", "8", "");
        StudyData *d = &p->data[p->n_data++];
        memset(d, 0, sizeof *d);
        snprintf(d->name, sizeof d->name, "%s", name);
        ps->section = 'd';
        return 0;
    }
    return fail(ps, "unknown section '[%s ...]'%s (variant or data)", kind, "");
}

static int line(Parser *ps, char *s) {
    char *hash = strchr(s, '#');
    if (hash) *hash = 0;
    s = trim(s);
    if (!*s) return 0;
    if (*s == '[') return section(ps, s);
    char *eq = strchr(s, '=');
    if (!eq) return fail(ps, "expected 'key = value' or '[section name]', got '%.80s'%s", s, "");
    *eq = 0;
    char *key = trim(s), *v = trim(eq + 1);
    if (!*v) return fail(ps, "%s: empty value%s", key, "");
    if (ps->section == 'v') return variant_key(ps, key, v);
    if (ps->section == 'd') return data_key(ps, key, v);
    return study_key(ps, key, v);
}

static int complete(Parser *ps) {
    StudyProtocol *p = ps->p;
    if (!p->methods[0]) return err_fail(ps->err, ps->n, "protocol: no 'methods = ...'");
    if (!p->n_data) return err_fail(ps->err, ps->n, "protocol: no [data NAME] section");
    for (int i = 0; i < p->n_data; i++)
        if (!p->data[i].model[0] || !p->data[i].list[0])
            return err_fail(ps->err, ps->n, "protocol: data set '%s' needs model and list", p->data[i].name);
    if (!p->n_variant) {   /* one variant with every default */
        StudyVariant *v = &p->variant[p->n_variant++];
        memset(v, 0, sizeof *v);
        snprintf(v->name, sizeof v->name, "default");
        v->target = TARGET_RULE_PRED;
        v->info = INFO_WEBP;
        v->min_pred = PIC_MIN_PRED;
    }
    return 0;
}

int protocol_parse(StudyProtocol *p, const char *text, const char *dir, const char *data_dir, char *err, size_t n) {
    memset(p, 0, sizeof *p);
    p->sanity_by = MPRT_BY_BLOCK;
    Parser ps = {p, dir, data_dir, 0, 0, err, n};
    const char *s = text;
    char buf[4096];
    while (*s) {
        const char *e = strchr(s, '\n');
        size_t L = e ? (size_t)(e - s) : strlen(s);
        ps.line++;
        if (L >= sizeof buf) return err_fail(err, n, "protocol line %d: longer than %zu characters", ps.line, sizeof buf - 1);
        memcpy(buf, s, L);
        buf[L] = 0;
        if (L && buf[L - 1] == '\r') buf[L - 1] = 0;
        if (line(&ps, buf)) return -1;
        s += L + (e != NULL);
    }
    return complete(&ps);
}

int protocol_load(StudyProtocol *p, const char *path, const char *data_dir, char *err, size_t n) {
    uint8_t *buf;
    size_t len;
    if (io_read_file(path, PROTOCOL_MAX_BYTES, &buf, &len, err, n)) return -1;
    if (memchr(buf, 0, len)) { free(buf); return err_fail(err, n, "%s: not a text file (a NUL byte)", path); }
    char *text = realloc(buf, len + 1);
    if (!text) { free(buf); return err_fail(err, n, "out of memory"); }
    text[len] = 0;
    char dir[PROTOCOL_PATH];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0; else dir[0] = 0;
    int rc = protocol_parse(p, text, dir, data_dir, err, n);
    free(text);
    return rc;
}
