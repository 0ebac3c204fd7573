/* trace.c - per-op traces as JSON lines and their comparison (see trace.h). */
#include "eval/trace.h"
#include "io/json.h"
#include "io/sha256.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void stats(const float *v, size_t n, double *mn, double *mx, double *mean, double *l2) {
    double a = n ? v[0] : 0, b = a, s = 0, q = 0;
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        if (x < a) a = x;
        if (x > b) b = x;
        s += x; q += x * x;
    }
    *mn = a; *mx = b; *mean = n ? s / n : 0; *l2 = sqrt(q);
}

void trace_projections(const float *v, size_t n, double proj[TRACE_PROJ]) {
    for (int k = 0; k < TRACE_PROJ; k++) proj[k] = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t z = (uint64_t)i * 0x9E3779B97F4A7C15ull + 0x243F6A8885A308D3ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        for (int k = 0; k < TRACE_PROJ; k++) proj[k] += (z >> (60 - k)) & 1 ? (double)v[i] : -(double)v[i];
    }
}

static void write_shape(JsonWriter *w, int c, int h, int wd) {
    jw_array_begin(w); jw_int(w, c); jw_int(w, h); jw_int(w, wd); jw_array_end(w);
}

static void write_op_params(JsonWriter *w, const EngNode *nd) {
    jw_object_begin(w);
    switch (nd->op) {
    case ENG_OP_CONV2D:
        jw_kv_int(w, "kernel", nd->args.kh); jw_kv_int(w, "stride", nd->args.stride);
        jw_kv_int(w, "padding", nd->args.pad); jw_kv_int(w, "dilation", nd->args.dilation);
        jw_kv_bool(w, "bias", nd->bias != NULL);
        break;
    case ENG_OP_BATCHNORM2D: jw_kv_number(w, "eps", nd->args.eps); jw_kv_string(w, "mode", "inference"); break;
    case ENG_OP_MAXPOOL2D: case ENG_OP_AVGPOOL2D:
        jw_kv_int(w, "kernel", nd->args.kh); jw_kv_int(w, "stride", nd->args.stride); jw_kv_int(w, "padding", nd->args.pad);
        break;
    case ENG_OP_ADAPTIVE_AVGPOOL2D: jw_kv_int(w, "out_h", nd->args.out_h); jw_kv_int(w, "out_w", nd->args.out_w); break;
    case ENG_OP_INPUT: case ENG_OP_RELU: case ENG_OP_CONCAT: case ENG_OP_ADD: case ENG_OP_FLATTEN:
    case ENG_OP_LINEAR: case ENG_OP_SOFTMAX: case ENG_OP_LOG_SOFTMAX: case ENG_OP_COUNT:
        break;
    }
    jw_object_end(w);
}

/* "sha256", "min", "max", "mean", "l2" of n values. */
static void write_value_stats(JsonWriter *w, const float *v, size_t n) {
    char hex[65];
    sha256_hex(v, n * sizeof(float), hex);
    double mn, mx, mean, l2;
    stats(v, n, &mn, &mx, &mean, &l2);
    jw_kv_string(w, "sha256", hex);
    jw_kv_number(w, "min", mn); jw_kv_number(w, "max", mx);
    jw_kv_number(w, "mean", mean); jw_kv_number(w, "l2", l2);
}

void trace_writer_event(TraceWriter *t, const EngTraceEvent *ev) {
    if (!t->f || t->level == TRACE_METHODS) return;
    if (t->level == TRACE_LAYERS && ev->backward && !(ev->nd->in[ev->input_index] == 0)) return;
    if (!ev->out) return;
    JsonWriter w;
    jw_init(&w, t->f, 0);
    char pass[300];
    snprintf(pass, sizeof pass, "%s%s%s", t->phase, t->phase[0] ? " " : "", ev->backward ? "backward" : "forward");
    jw_object_begin(&w);
    jw_kv_int(&w, "seq", t->seq++);
    jw_kv_string(&w, "pass", pass);
    jw_kv_string(&w, "op", eng_op_name(ev->nd->op));
    jw_kv_string(&w, "layer", ev->nd->name);
    jw_kv_int(&w, "batch", ev->batch);
    if (ev->backward) jw_kv_int(&w, "input", ev->input_index);
    jw_key(&w, "output");
    write_shape(&w, ev->c, ev->h, ev->w);
    jw_key(&w, "params");
    write_op_params(&w, ev->nd);
    write_value_stats(&w, ev->out, ev->numel);
    double proj[TRACE_PROJ];
    trace_projections(ev->out, ev->numel, proj);
    jw_key(&w, "proj");
    jw_array_begin(&w);
    for (int k = 0; k < TRACE_PROJ; k++) jw_number(&w, proj[k]);
    jw_array_end(&w);
    jw_object_end(&w);
    fputc('\n', t->f);
}

static void engine_hook(const EngTraceEvent *ev, void *ctx) { trace_writer_event(ctx, ev); }

int trace_level_parse(const char *name, TraceLevel *level) {
    if (!strcmp(name, "ops")) *level = TRACE_OPS;
    else if (!strcmp(name, "layers")) *level = TRACE_LAYERS;
    else if (!strcmp(name, "methods")) *level = TRACE_METHODS;
    else return -1;
    return 0;
}

int trace_writer_open(TraceWriter *t, const char *path, TraceLevel level, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    t->level = level;
    t->f = fopen(path, "w");
    if (!t->f) return err_fail(err, errlen, "cannot write trace %s", path);
    eng_set_trace(engine_hook, t);
    return 0;
}

void trace_writer_close(TraceWriter *t) {
    if (!t->f) return;
    eng_set_trace(NULL, NULL);
    fclose(t->f);
    t->f = NULL;
}

void trace_writer_phase(TraceWriter *t, const char *phase) { snprintf(t->phase, sizeof t->phase, "%s", phase ? phase : ""); }

void trace_writer_method(TraceWriter *t, const char *image, const char *method, long fwd, long bwd, double seconds,
                         const float *map, size_t n) {
    if (!t->f) return;
    JsonWriter w;
    jw_init(&w, t->f, 0);
    jw_object_begin(&w);
    jw_kv_int(&w, "seq", t->seq++);
    jw_kv_string(&w, "pass", "method");
    jw_kv_string(&w, "op", method);
    jw_kv_string(&w, "layer", image);
    jw_kv_int(&w, "forward_images", fwd);
    jw_kv_int(&w, "backward_images", bwd);
    jw_kv_number(&w, "seconds", seconds);
    write_value_stats(&w, map, n);
    jw_object_end(&w);
    fputc('\n', t->f);
}

/* ---------------- comparison ---------------- */
static JsonValue *read_line_json(FILE *f, char **line, size_t *cap) {
    ssize_t n = getline(line, cap, f);
    if (n <= 0) return NULL;
    char err[256];
    return json_parse(*line, (size_t)n, err, sizeof err);
}

static const char *jstr(const JsonValue *v, const char *k) {
    const char *s = json_string(json_get(v, k));
    return s ? s : "?";
}

/* How far one trace line's statistics are apart, relative to the scale
   of its values (min, max, mean against the larger |min|, |max| of the
   two; l2 and the projections against l2). */
static double stats_rel_diff(const JsonValue *a, const JsonValue *b) {
    double scale = 0, worst = 0;
    const char *keys[] = {"min", "max", "mean"};
    for (int k = 0; k < 2; k++) {
        scale = fmax(scale, fabs(json_number(json_get(a, keys[k]))));
        scale = fmax(scale, fabs(json_number(json_get(b, keys[k]))));
    }
    for (int k = 0; k < 3; k++) {
        double d = fabs(json_number(json_get(a, keys[k])) - json_number(json_get(b, keys[k])));
        worst = fmax(worst, scale > 0 ? d / scale : d);
    }
    double la = json_number(json_get(a, "l2")), lb = json_number(json_get(b, "l2"));
    double l2 = fmax(fabs(la), fabs(lb));
    worst = fmax(worst, l2 > 0 ? fabs(la - lb) / l2 : fabs(la - lb));
    const JsonValue *pa = json_get(a, "proj"), *pb = json_get(b, "proj");
    for (size_t k = 0; k < json_len(pa) && k < json_len(pb); k++) {
        double d = fabs(json_number(json_at(pa, k)) - json_number(json_at(pb, k)));
        worst = fmax(worst, l2 > 0 ? d / l2 : d);
    }
    return worst;
}

static void diff_at(TraceDiffAt *at, const JsonValue *a, const JsonValue *b, double rel) {
    static const char *keys[] = {"min", "max", "mean", "l2"};
    at->seq = (long)json_number(json_get(a, "seq"));
    snprintf(at->op, sizeof at->op, "%s", jstr(a, "op"));
    snprintf(at->layer, sizeof at->layer, "%s", jstr(a, "layer"));
    snprintf(at->pass, sizeof at->pass, "%s", jstr(a, "pass"));
    at->rel = rel;
    for (int k = 0; k < 4; k++) { at->a[k] = json_number(json_get(a, keys[k])); at->b[k] = json_number(json_get(b, keys[k])); }
}

/* Compares one pair of lines; 0 to go on, 1 when the runs did different work. */
static int diff_line(TraceDiff *d, const JsonValue *a, const JsonValue *b) {
    d->n++;
    int same_op = !strcmp(jstr(a, "layer"), jstr(b, "layer")) && !strcmp(jstr(a, "pass"), jstr(b, "pass")) &&
                  !strcmp(jstr(a, "op"), jstr(b, "op"));
    if (!same_op) {
        snprintf(d->other_work, sizeof d->other_work, "at seq %ld A has %s %s (%s), B %s %s (%s): the runs did different work",
                 (long)json_number(json_get(a, "seq")), jstr(a, "op"), jstr(a, "layer"), jstr(a, "pass"),
                 jstr(b, "op"), jstr(b, "layer"), jstr(b, "pass"));
        return 1;
    }
    if (!strcmp(jstr(a, "sha256"), jstr(b, "sha256"))) return 0;
    d->differ++;
    double rel = stats_rel_diff(a, b);
    if (!d->has_first) { d->has_first = 1; diff_at(&d->first, a, b, rel); }
    if (rel > ENG_ROUND_REL) {
        d->beyond++;
        if (!d->has_first_beyond) { d->has_first_beyond = 1; diff_at(&d->first_beyond, a, b, rel); }
    }
    return 0;
}

int trace_diff_files(const char *path_a, const char *path_b, TraceDiff *d, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    FILE *fa = fopen(path_a, "r"), *fb = fopen(path_b, "r");
    if (!fa || !fb) {
        if (fa) fclose(fa);
        if (fb) fclose(fb);
        return err_fail(err, errlen, "cannot open %s", !fa ? path_a : path_b);
    }
    char *la = NULL, *lb = NULL;
    size_t ca = 0, cb = 0;
    for (int stop = 0; !stop;) {
        JsonValue *a = read_line_json(fa, &la, &ca), *b = read_line_json(fb, &lb, &cb);
        if (!a || !b) {
            if (a || b) snprintf(d->other_work, sizeof d->other_work, "the traces have different lengths: %s ends first", a ? path_b : path_a);
            stop = 1;
        } else stop = diff_line(d, a, b);
        json_free(a); json_free(b);
    }
    free(la); free(lb);
    fclose(fa); fclose(fb);
    return 0;
}
