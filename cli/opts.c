/* opts.c - one table of options for every command. Numbers are parsed
   strictly (the whole text must be a number in range). */
#include "cli/cli.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_STR, T_INT, T_DBL, T_FLAG, T_FLOATS, T_U64 } OptType;
typedef struct {
    const char *name, *alias;
    OptType type;
    size_t off, count_off;
    double lo, hi;
} OptSpec;

#define S(n, a, f) {n, a, T_STR, offsetof(Opts, f), 0, 0, 0}
#define I(n, a, f, lo, hi) {n, a, T_INT, offsetof(Opts, f), 0, lo, hi}
#define D(n, a, f, lo, hi) {n, a, T_DBL, offsetof(Opts, f), 0, lo, hi}
#define F(n, a, f) {n, a, T_FLAG, offsetof(Opts, f), 0, 0, 0}
static const OptSpec specs[] = {
    S("--model", "-m", model), S("--arch", NULL, arch), S("--labels", NULL, labels),
    S("--input-npy", NULL, input_npy), S("--output", "-o", outdir), S("--trace", NULL, trace),
    I("--threads", NULL, threads, 0, 256), I("--size", NULL, size, 8, 4096), F("--json", NULL, json), F("--markdown", NULL, markdown),
    F("--verbose", "-v", verbose), F("--reference", NULL, reference), I("--batch", NULL, batch, 1, 4096),
    F("--help", "-h", help),
    {"--mean", NULL, T_FLOATS, offsetof(Opts, mean), offsetof(Opts, n_mean), -1e6, 1e6},
    {"--std", NULL, T_FLOATS, offsetof(Opts, std), offsetof(Opts, n_std), 1e-12, 1e6},
    S("--logits-npy", NULL, logits_npy), S("--out", NULL, out), S("--layer", NULL, layer),
    S("--act-npy", NULL, act_npy), S("--layer-grad-npy", NULL, layer_grad_npy),
    I("--topk", NULL, topk, 1, 100000), I("--class", NULL, cls, 0, 1000000), I("--repeat", NULL, repeat, 1, 10000),
    S("--methods", "-M", methods), S("--baseline", NULL, baseline), S("--target", NULL, target),
    S("--gemm", NULL, gemm), S("--window", NULL, window), S("--head", NULL, head), S("--slice", NULL, slice),
    I("--volume", NULL, volume, 0, 1000000), I("--frame", NULL, frame, 0, 1000000),
    S("--label", NULL, label), S("--info", NULL, info), S("--map", NULL, map),
    S("--random-mask", NULL, random_mask), S("--save-random-mask", NULL, save_random_mask),
    S("--data", "-d", data), S("--shard", NULL, shard), S("--map-cache", NULL, map_cache), S("--root", NULL, root), S("--only", NULL, only), S("--granularity", NULL, granularity), S("--substrate", NULL, substrate), S("--maps", NULL, maps),
    S("--trace-level", NULL, trace_level), {"--seed", NULL, T_U64, offsetof(Opts, seed), 0, 0, 0},
    I("--limit", NULL, limit, 1, 100000000),
    F("--resume", NULL, resume), F("--merge", NULL, merge), F("--replot", NULL, replot), I("--pixels", NULL, pixels, 1, 1000000), F("--no-png", NULL, no_png),
    D("--min-pred", NULL, min_pred, 0, 1), I("--insdel-steps", NULL, insdel_steps, 1, 1000000),
    F("--no-insdel", NULL, no_insdel), F("--no-pic", NULL, no_pic), F("--profile", NULL, profile),
};

static int set_opt(Opts *o, const OptSpec *s, const char *v) {
    char *base = (char *)o, *end;
    errno = 0;
    switch (s->type) {
    case T_STR: *(const char **)(base + s->off) = v; return 0;
    case T_FLAG: *(int *)(base + s->off) = 1; return 0;
    case T_INT: {
        long x = strtol(v, &end, 10);
        if (errno || end == v || *end || x < s->lo || x > s->hi) break;
        *(int *)(base + s->off) = (int)x;
        return 0;
    }
    case T_U64: {
        if (*v == '-') break;
        unsigned long long x = strtoull(v, &end, 10);
        if (errno || end == v || *end) break;
        *(uint64_t *)(base + s->off) = x;
        o->seed_str = v;
        return 0;
    }
    case T_DBL: {
        double x = strtod(v, &end);
        if (errno || end == v || *end || !(x >= s->lo && x <= s->hi)) break;
        *(double *)(base + s->off) = x;
        return 0;
    }
    case T_FLOATS: {
        float *dst = (float *)(base + s->off);
        int n = 0;
        const char *p = v;
        while (*p) {
            if (n == 4) goto bad;
            double x = strtod(p, &end);
            if (errno || end == p || !(x >= s->lo && x <= s->hi)) goto bad;
            dst[n++] = (float)x;
            p = end;
            if (*p == ',') p++;
            else if (*p) goto bad;
        }
        if (n != 1 && n != 3) goto bad;
        *(int *)(base + s->count_off) = n;
        return 0;
    }
    }
bad:
    fprintf(stderr, "salient: bad value '%s' for %s", v, s->name);
    if (s->type == T_INT || s->type == T_DBL) fprintf(stderr, " (expected a number in [%g, %g])", s->lo, s->hi);
    if (s->type == T_FLOATS) fprintf(stderr, " (expected 1 or 3 comma-separated numbers)");
    fprintf(stderr, "\n");
    return -1;
}

/* The methods' numeric options come from the registry (attrib/registry.c). */
static AttribParamId method_option(const char *a, size_t L) {
    for (int id = AP_END + 1; id < AP_COUNT; id++) {
        const AttribParamInfo *pi = attrib_param_info((AttribParamId)id);
        if (pi->type != PARAM_TEXT && strlen(pi->option) == L && !strncmp(pi->option, a, L)) return (AttribParamId)id;
    }
    return AP_END;
}

static int set_method_param(Opts *o, AttribParamId id, const char *v) {
    const AttribParamInfo *pi = attrib_param_info(id);
    char *end;
    errno = 0;
    double x = pi->type == PARAM_INT ? (double)strtol(v, &end, 10) : strtod(v, &end);
    int ok = !errno && end != v && !*end &&
             (pi->type == PARAM_INT ? x >= pi->lo && x <= pi->hi : x > pi->lo && x <= pi->hi);
    if (ok) { o->param[id] = x; return 0; }
    if (pi->type == PARAM_INT) fprintf(stderr, "salient: bad value '%s' for %s (expected an integer in [%g, %g])\n", v, pi->option, pi->lo, pi->hi);
    else fprintf(stderr, "salient: bad value '%s' for %s (expected a number in (%g, %g])\n", v, pi->option, pi->lo, pi->hi);
    return -1;
}

void opts_method_params(const Opts *o, AttribParams *P) {
    for (int id = AP_END + 1; id < AP_COUNT; id++) attrib_param_set_field(P, (AttribParamId)id, o->param[id]);
    P->layer = o->layer;
}

void opts_to_attrib_params(const Opts *o, AttribParams *P) {
    opts_method_params(o, P);
    P->batch = o->batch;
    P->seed = o->seed;
}

int opts_parse(Opts *o, int argc, char **argv) {
    memset(o, 0, sizeof *o);
    o->seed = 0;
    o->min_pred = -1; /* unset: the command's default (pic: 0.8) */
    o->pos = calloc(argc + 1, sizeof(char *));
    if (!o->pos) return -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) { o->pos[o->n_pos++] = argv[i]; continue; }
        if (!strcmp(a, "--")) { while (++i < argc) o->pos[o->n_pos++] = argv[i]; break; }
        const char *eq = strchr(a, '=');
        size_t L = eq ? (size_t)(eq - a) : strlen(a);
        const OptSpec *s = NULL;
        for (size_t k = 0; k < sizeof specs / sizeof specs[0]; k++)
            if ((strlen(specs[k].name) == L && !strncmp(specs[k].name, a, L)) ||
                (specs[k].alias && strlen(specs[k].alias) == L && !strncmp(specs[k].alias, a, L))) s = &specs[k];
        AttribParamId mp = s ? AP_END : method_option(a, L);
        if (!s && !mp) { fprintf(stderr, "salient: unknown option '%s' (see salient help)\n", a); return -1; }
        const char *v = NULL;
        if (mp || s->type != T_FLAG) {
            if (eq) v = eq + 1;
            else if (i + 1 < argc) v = argv[++i];
            else { fprintf(stderr, "salient: %s needs a value\n", mp ? attrib_param_info(mp)->option : s->name); return -1; }
        }
        if (mp ? set_method_param(o, mp, v) : set_opt(o, s, v)) return -1;
    }
    if (o->window && strcmp(o->window, "auto") && strcmp(o->window, "minmax") && strcmp(o->window, "file") &&
        strcmp(o->window, "full") && !strchr(o->window, ',')) {
        fprintf(stderr, "salient: --window %s: expected C,W (centre and width), auto, minmax, file or full; the occlusion "
                        "window is --occ-window\n", o->window);
        return -1;
    }
    return 0;
}

void opts_usage_common(void) {
    fprintf(stderr,
            "common options:\n"
            "  -m, --model FILE     safetensors weights (torchvision state_dict names)\n"
            "  --arch NAME          override the detected architecture (resnet18..152, resnet50-os16 etc., densenet121..201)\n"
            "  --size S             input size (default: the model's metadata, else 224)\n"
            "  --mean M[,M,M] --std S[,S,S]  normalisation (default: metadata, else ImageNet's)\n"
            "  --labels FILE        class names, one per line\n"
            "  --head softmax|sigmoid  how outputs become probabilities (default: metadata, else softmax)\n"
            "  --threads T          engine threads (default: all cores; results do not depend on it)\n"
            "  --reference          conv and linear by plain double-accumulating loops (slow, exact)\n"
            "inputs (NIfTI volumes, DICOM files):\n"
            "  --window C,W|auto|minmax|file|full  intensity window to [0,1] (default auto: the file's, else min-max)\n"
            "  --slice AXIS[:INDEX] a volume's slice: axial|coronal|sagittal (default: the middle axial slice)\n"
            "  --volume T --frame K 4-D volume / multi-frame file: which one (default 0, the first)\n");
}

void opts_usage_methods(void) { opts_usage_methods_to(stderr); }

void opts_usage_methods_to(FILE *f) {
    fprintf(f, "methods (-M NAME[,NAME...] or all); what each reads, with its default:\n");
    for (int i = 0; i < attrib_n_methods(); i++) {
        const AttribMethod *m = attrib_method(i);
        char defs[256];
        attrib_method_defaults_text(m, defs, sizeof defs);
        fprintf(f, "  %-15s %s\n", m->name, m->summary);
        if (defs[0]) fprintf(f, "  %-15s   [%s]\n", "", defs);
    }
    fprintf(f, "method options (absent: each method's default):\n");
    for (int id = AP_END + 1; id < AP_COUNT; id++) {
        const AttribParamInfo *pi = attrib_param_info((AttribParamId)id);
        const char *arg = pi->type == PARAM_INT ? " N" : pi->type == PARAM_REAL ? " X" : !strcmp(pi->key, "layer") ? " NAME" : " B";
        char opt[40];
        snprintf(opt, sizeof opt, "%s%s", pi->option, arg);
        fprintf(f, "  %-20s %s\n", opt, pi->help);
    }
}
