/* audit.c - traces, manifests, trace-diff and verify (see audit.h). */
#include "cli/audit.h"
#include "io/file.h"
#include "io/image.h"
#include "io/json.h"
#include "io/npy.h"
#include "io/sha256.h"

#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---------------- trace ---------------- */
typedef enum { LEVEL_OPS, LEVEL_LAYERS, LEVEL_METHODS } TraceLevel;
static FILE *g_tf;
static TraceLevel g_level;
static long g_seq;
static char g_phase[256];

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

/* Four projections of the values on fixed pseudo-random signs,
   proj_k = sum_i s_k(i) v_i with s_k(i) = +-1 from a SplitMix64 hash of
   (k, i): a change of d at one element moves them by d, a change spread
   over a channel by about its l2 norm, while rounding moves them by
   about eps times the l2 norm of the whole output. trace-diff compares
   them against the output's l2 norm (a tensor's min, max, mean and l2
   barely move when one channel of hundreds changes). */
#define TRACE_PROJ 4
static void projections(const float *v, size_t n, double proj[TRACE_PROJ]) {
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

static void trace_cb(const EngTraceEvent *ev, void *ctx) {
    if (g_level == LEVEL_METHODS) return;
    if (g_level == LEVEL_LAYERS && ev->backward && !(ev->nd->in[ev->input_index] == 0)) return;
    if (!ev->out) return;
    JsonWriter w;
    jw_init(&w, g_tf, 0);
    char hex[65], pass[300];
    sha256_hex(ev->out, ev->numel * sizeof(float), hex);
    double mn, mx, mean, l2;
    stats(ev->out, ev->numel, &mn, &mx, &mean, &l2);
    snprintf(pass, sizeof pass, "%s%s%s", g_phase, g_phase[0] ? " " : "", ev->backward ? "backward" : "forward");
    jw_object_begin(&w);
    jw_kv_int(&w, "seq", g_seq++);
    jw_kv_string(&w, "pass", pass);
    jw_kv_string(&w, "op", eng_op_name(ev->nd->op));
    jw_kv_string(&w, "layer", ev->nd->name);
    jw_kv_int(&w, "batch", ev->batch);
    if (ev->backward) jw_kv_int(&w, "input", ev->input_index);
    jw_key(&w, "output");
    write_shape(&w, ev->c, ev->h, ev->w);
    jw_key(&w, "params");
    write_op_params(&w, ev->nd);
    jw_kv_string(&w, "sha256", hex);
    jw_kv_number(&w, "min", mn); jw_kv_number(&w, "max", mx);
    jw_kv_number(&w, "mean", mean); jw_kv_number(&w, "l2", l2);
    double proj[TRACE_PROJ];
    projections(ev->out, ev->numel, proj);
    jw_key(&w, "proj");
    jw_array_begin(&w);
    for (int k = 0; k < TRACE_PROJ; k++) jw_number(&w, proj[k]);
    jw_array_end(&w);
    jw_object_end(&w);
    fputc('\n', g_tf);
}

int trace_open(const Opts *o) {
    if (!o->trace) return 0;
    const char *lv = o->trace_level ? o->trace_level : "ops";
    if (!strcmp(lv, "ops")) g_level = LEVEL_OPS;
    else if (!strcmp(lv, "layers")) g_level = LEVEL_LAYERS;
    else if (!strcmp(lv, "methods")) g_level = LEVEL_METHODS;
    else return cli_error("--trace-level %s: expected ops, layers or methods", lv), -1;
    g_tf = fopen(o->trace, "w");
    if (!g_tf) return cli_error("cannot write trace %s", o->trace), -1;
    g_seq = 0;
    eng_set_trace(trace_cb, NULL);
    return 0;
}

void trace_close(void) {
    if (!g_tf) return;
    eng_set_trace(NULL, NULL);
    fclose(g_tf);
    g_tf = NULL;
}

int trace_active(void) { return g_tf != NULL; }
void trace_phase(const char *phase) { snprintf(g_phase, sizeof g_phase, "%s", phase ? phase : ""); }

void trace_method(const char *image, const char *method, long fwd, long bwd, double seconds, const float *map, size_t n) {
    if (!g_tf) return;
    JsonWriter w;
    jw_init(&w, g_tf, 0);
    char hex[65];
    sha256_hex(map, n * sizeof(float), hex);
    double mn, mx, mean, l2;
    stats(map, n, &mn, &mx, &mean, &l2);
    jw_object_begin(&w);
    jw_kv_int(&w, "seq", g_seq++);
    jw_kv_string(&w, "pass", "method");
    jw_kv_string(&w, "op", method);
    jw_kv_string(&w, "layer", image);
    jw_kv_int(&w, "forward_images", fwd);
    jw_kv_int(&w, "backward_images", bwd);
    jw_kv_number(&w, "seconds", seconds);
    jw_kv_string(&w, "sha256", hex);
    jw_kv_number(&w, "min", mn); jw_kv_number(&w, "max", mx);
    jw_kv_number(&w, "mean", mean); jw_kv_number(&w, "l2", l2);
    jw_object_end(&w);
    fputc('\n', g_tf);
}

/* ---------------- machine ---------------- */


/* ---------------- manifest ---------------- */
typedef struct { char **v; int n, cap; } StrList;
static void list_add(StrList *l, const char *s) {
    for (int i = 0; i < l->n; i++) if (!strcmp(l->v[i], s)) return;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        char **q = realloc(l->v, sizeof *q * l->cap);
        if (!q) return;
        l->v = q;
    }
    l->v[l->n++] = strdup(s);
}

static struct {
    int argc;
    char **argv;
    const Opts *o;
    char start[32];
    StrList in, out;
    StrList decoded;   /* "path\tdescription" of inputs read from DICOM/NIfTI files */
} g_man;

static void iso_now(char *buf, size_t n) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void manifest_begin(int argc, char **argv, const Opts *o) {
    g_man.argc = argc; g_man.argv = argv; g_man.o = o;
    iso_now(g_man.start, sizeof g_man.start);
}
void manifest_add_input(const char *path) { list_add(&g_man.in, path); }
void manifest_add_output(const char *path) { list_add(&g_man.out, path); }

void manifest_input_decoded(const char *path, const ImageLoadInfo *li) {
    if (!li || !strcmp(li->format, "image") || !li->format[0]) return;
    char line[1400];
    int n = snprintf(line, sizeof line, "%s\t%s", path, li->format);
    if (li->window_kind[0] && n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - n, ", window %s (centre %g, width %g: %g -> 0, %g -> 1)", li->window_kind,
                      li->center, li->width, li->lo, li->hi);
    if (li->slice[0] && n < (int)sizeof line) n += snprintf(line + n, sizeof line - n, ", slice %s", li->slice);
    if (li->nvolumes > 1 && n < (int)sizeof line) n += snprintf(line + n, sizeof line - n, ", volume %d of %d", li->volume, li->nvolumes);
    if (li->nframes > 1 && n < (int)sizeof line) snprintf(line + n, sizeof line - n, ", frame %d of %d", li->frame, li->nframes);
    list_add(&g_man.decoded, line);
}

/* How an input file was decoded, or NULL. */
static const char *decoded_of(const char *path) {
    size_t L = strlen(path);
    for (int i = 0; i < g_man.decoded.n; i++)
        if (!strncmp(g_man.decoded.v[i], path, L) && g_man.decoded.v[i][L] == '\t') return g_man.decoded.v[i] + L + 1;
    return NULL;
}

static void write_files(JsonWriter *w, const char *key, const StrList *l) {
    jw_key(w, key);
    jw_array_begin(w);
    for (int i = 0; i < l->n; i++) {
        char hex[65];
        jw_object_begin(w);
        jw_kv_string(w, "path", l->v[i]);
        if (!sha256_file(l->v[i], hex)) jw_kv_string(w, "sha256", hex);
        else jw_kv_string(w, "sha256", NULL);
        const char *dec = l == &g_man.in ? decoded_of(l->v[i]) : NULL;
        if (dec) jw_kv_string(w, "decoded", dec);
        jw_object_end(w);
    }
    jw_array_end(w);
}

int manifest_write(const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return cli_error("cannot write %s", path);
    const Opts *o = g_man.o;
    char end[32], cwd[1024];
    iso_now(end, sizeof end);
    JsonWriter w;
    jw_init(&w, f, 1);
    jw_object_begin(&w);
    jw_kv_string(&w, "program", "salient");
    jw_kv_string(&w, "version", SALIENT_VERSION);
#ifdef __VERSION__
    jw_kv_string(&w, "compiler", __VERSION__);
#endif
    jw_kv_string(&w, "cflags", SALIENT_CFLAGS);
    char cpu[256];
    jw_kv_string(&w, "cpu", io_cpu_name(cpu, sizeof cpu));
    jw_kv_string(&w, "openblas", eng_blas_info());
    jw_kv_int(&w, "threads", eng_get_threads());
    jw_kv_bool(&w, "reference_path", eng_get_reference());
    jw_kv_string(&w, "convolutions", eng_conv_info());
    if (getcwd(cwd, sizeof cwd)) jw_kv_string(&w, "cwd", cwd);
    jw_key(&w, "argv");
    jw_array_begin(&w);
    for (int i = 0; i < g_man.argc; i++) jw_string(&w, g_man.argv[i]);
    jw_array_end(&w);
    jw_key(&w, "options");
    jw_object_begin(&w);
    jw_kv_string(&w, "model", o->model);
    jw_kv_string(&w, "arch", o->arch);
    jw_kv_int(&w, "size", o->size);
    jw_kv_string(&w, "methods", o->methods);
    jw_kv_string(&w, "target", o->target ? o->target : "pred");
    jw_kv_string(&w, "baseline", o->baseline ? o->baseline : "black");
    jw_kv_int(&w, "batch", o->batch);
    for (int id = AP_END + 1; id < AP_COUNT; id++) {
        const AttribParamInfo *pi = attrib_param_info((AttribParamId)id);
        if (pi->type != PARAM_TEXT) jw_kv_number(&w, pi->key, o->param[id]);
    }
    jw_kv_string(&w, "layer", o->layer);
    jw_kv_string(&w, "info", o->info ? o->info : "webp");
    jw_kv_string(&w, "note", "0 means the method's default (its file's header, README); each output's own JSON lists the values used");
    jw_object_end(&w);
    jw_kv_int(&w, "seed", (long long)o->seed);
    jw_kv_string(&w, "rng", "xoshiro256** seeded by SplitMix64 (engine/rng.h)");
    jw_kv_string(&w, "outdir", o->outdir);
    write_files(&w, "inputs", &g_man.in);
    write_files(&w, "outputs", &g_man.out);
    jw_kv_string(&w, "start", g_man.start);
    jw_kv_string(&w, "end", end);
    jw_object_end(&w);
    fputc('\n', f);
    return fclose(f) ? cli_error("cannot write %s", path) : 0;
}

/* ---------------- trace-diff ---------------- */
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

static void print_difference(const char *what, const JsonValue *a, const JsonValue *b, double rel) {
    printf("%s at seq %ld: %s %s (%s), statistics apart by %.3g of their scale\n", what,
           (long)json_number(json_get(a, "seq")), jstr(a, "op"), jstr(a, "layer"), jstr(a, "pass"), rel);
    const char *keys[] = {"min", "max", "mean", "l2"};
    for (int k = 0; k < 4; k++)
        printf("  %-5s A %-16.9g B %-16.9g\n", keys[k], json_number(json_get(a, keys[k])), json_number(json_get(b, keys[k])));
}

/* Two traces of the same command: the first op whose bits differ (another
   CPU or BLAS rounds differently from the first op on), and the first op
   whose values differ beyond rounding (a changed weight, input or method):
   the statistics (min, max, mean, l2, projections) of the op's output
   apart by more than ENG_ROUND_REL of their scale. Exit 0: identical; 1: different beyond
   rounding or different work; 3: only rounding differences. */
int cmd_trace_diff(const Opts *o) {
    if (o->n_pos != 2) return cli_error("usage: salient trace-diff A.jsonl B.jsonl");
    FILE *fa = fopen(o->pos[0], "r"), *fb = fopen(o->pos[1], "r");
    if (!fa || !fb) {
        if (fa) fclose(fa);
        if (fb) fclose(fb);
        return cli_error("cannot open %s", !fa ? o->pos[0] : o->pos[1]);
    }
    char *la = NULL, *lb = NULL;
    size_t ca = 0, cb = 0;
    long n = 0, differ = 0, beyond = 0, first = -1, first_beyond = -1;
    int other_work = 0;
    for (;;) {
        JsonValue *a = read_line_json(fa, &la, &ca), *b = read_line_json(fb, &lb, &cb);
        if (!a || !b) {
            if (a || b) { printf("the traces have different lengths: %s ends first\n", a ? o->pos[1] : o->pos[0]); other_work = 1; }
            json_free(a); json_free(b);
            break;
        }
        n++;
        int same_op = !strcmp(jstr(a, "layer"), jstr(b, "layer")) && !strcmp(jstr(a, "pass"), jstr(b, "pass")) &&
                      !strcmp(jstr(a, "op"), jstr(b, "op"));
        if (!same_op) {
            printf("at seq %ld A has %s %s (%s), B %s %s (%s): the runs did different work\n",
                   (long)json_number(json_get(a, "seq")), jstr(a, "op"), jstr(a, "layer"), jstr(a, "pass"),
                   jstr(b, "op"), jstr(b, "layer"), jstr(b, "pass"));
            other_work = 1;
            json_free(a); json_free(b);
            break;
        }
        if (strcmp(jstr(a, "sha256"), jstr(b, "sha256"))) {
            differ++;
            double rel = stats_rel_diff(a, b);
            if (first < 0) { first = (long)json_number(json_get(a, "seq")); print_difference("first bits differ", a, b, rel); }
            if (rel > ENG_ROUND_REL) {
                beyond++;
                if (first_beyond < 0) {
                    first_beyond = (long)json_number(json_get(a, "seq"));
                    print_difference("first difference beyond rounding", a, b, rel);
                }
            }
        }
        json_free(a); json_free(b);
    }
    free(la); free(lb);
    fclose(fa); fclose(fb);
    printf("%ld of %ld operations differ in their bits, %ld beyond rounding (%.0e of their scale)\n", differ, n,
           beyond, ENG_ROUND_REL);
    if (other_work || beyond) return 1;
    return differ ? 3 : 0;
}

/* ---------------- verify ---------------- */
/* Keys whose values legitimately change between identical runs. */
static int volatile_key(const char *k) {
    static const char *keys[] = {"seconds", "expected_seconds", "pass_time", "start", "end", "forward_ms",
                                 "forward_backward_ms", "seconds_per_image", "elapsed", NULL};
    for (int i = 0; keys[i]; i++) if (!strcmp(k, keys[i])) return 1;
    return 0;
}

static int ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && !strcmp(s + n - k, suf);
}

/* One output's verdict. */
typedef enum { OUT_IDENTICAL, OUT_ROUNDING, OUT_DIFFERENT } OutVerdict;

/* Numbers of two JSON values apart: the largest |a - b| and the largest
   |a| seen (both over every number); 0 if the structure, a string or a
   boolean differs (volatile keys skipped). */
static int json_numbers_apart(const JsonValue *a, const JsonValue *b, double *diff, double *scale) {
    if (json_type(a) != json_type(b)) return 0;
    switch (json_type(a)) {
    case JSON_NUMBER: {
        double x = json_number(a), y = json_number(b);
        *diff = fmax(*diff, fabs(x - y));
        *scale = fmax(*scale, fmax(fabs(x), fabs(y)));
        return 1;
    }
    case JSON_STRING: return !strcmp(json_string(a), json_string(b));
    case JSON_ARRAY:
        if (json_len(a) != json_len(b)) return 0;
        for (size_t i = 0; i < json_len(a); i++)
            if (!json_numbers_apart(json_at(a, i), json_at(b, i), diff, scale)) return 0;
        return 1;
    case JSON_OBJECT:
        if (json_len(a) != json_len(b)) return 0;
        for (size_t i = 0; i < json_len(a); i++) {
            const char *k = json_key_at(a, i);
            if (volatile_key(k)) continue;
            if (!json_numbers_apart(json_at(a, i), json_get(b, k), diff, scale)) return 0;
        }
        return 1;
    case JSON_NULL: return 1;
    case JSON_BOOL: return json_bool(a) == json_bool(b);
    }
    return 0;
}

/* A CSV (results, curves): the same cells, numbers allowed to differ
   (largest |a - b| and |a| into diff, scale); 0 if a text cell differs. */
static int csv_numbers_apart(char *a, char *b, double *diff, double *scale) {
    char *sa = NULL, *sb = NULL, *ta = strtok_r(a, ",\n", &sa), *tb = strtok_r(b, ",\n", &sb);
    for (; ta && tb; ta = strtok_r(NULL, ",\n", &sa), tb = strtok_r(NULL, ",\n", &sb)) {
        char *ea, *eb;
        double x = strtod(ta, &ea), y = strtod(tb, &eb);
        if (ea != ta && !*ea && eb != tb && !*eb) {
            if (x != y) { *diff = fmax(*diff, fabs(x - y)); *scale = fmax(*scale, fmax(fabs(x), fabs(y))); }
        } else if (strcmp(ta, tb)) return 0;
    }
    return !ta && !tb;
}

static OutVerdict verdict_of(int same_bits, int comparable, double diff, double scale) {
    if (same_bits) return OUT_IDENTICAL;
    return comparable && eng_within_rounding(diff, scale) ? OUT_ROUNDING : OUT_DIFFERENT;
}

static const char *verdict_name(OutVerdict v) {
    return v == OUT_IDENTICAL ? "identical" : v == OUT_ROUNDING ? "within rounding" : "DIFFERENT";
}

/* Compares one output (a: recorded, b: re-run); prints the verdict. */
static OutVerdict compare_file(const char *a, const char *b) {
    char err[512];
    double diff = 0, scale = 0;
    OutVerdict v;
    if (ends_with(a, ".npy")) {
        NpyArray x, y;
        if (npy_read(a, &x, err, sizeof err)) { printf("  %-50s unreadable: %s\n", a, err); return OUT_DIFFERENT; }
        if (npy_read(b, &y, err, sizeof err)) { npy_free(&x); printf("  %-50s unreadable: %s\n", a, err); return OUT_DIFFERENT; }
        int same_shape = x.ndim == y.ndim && !memcmp(x.shape, y.shape, sizeof(int64_t) * x.ndim) && x.dtype == y.dtype;
        int same = same_shape && !memcmp(x.data, y.data, x.numel * npy_itemsize(x.dtype));
        if (same_shape) {
            float *fx = npy_to_f32(&x), *fy = npy_to_f32(&y);
            for (size_t i = 0; fx && fy && i < x.numel; i++) {
                diff = fmax(diff, fabs((double)fx[i] - fy[i]));
                scale = fmax(scale, fabs((double)fx[i]));
            }
            free(fx); free(fy);
        }
        v = verdict_of(same, same_shape, diff, scale);
        npy_free(&x); npy_free(&y);
    } else if (ends_with(a, ".png")) {
        Image x, y;
        if (image_load(a, &x, err, sizeof err)) { printf("  %-50s unreadable: %s\n", a, err); return OUT_DIFFERENT; }
        if (image_load(b, &y, err, sizeof err)) { free(x.data); printf("  %-50s unreadable: %s\n", a, err); return OUT_DIFFERENT; }
        int same_shape = x.c == y.c && x.h == y.h && x.w == y.w, same = same_shape;
        for (size_t i = 0; same_shape && i < (size_t)x.c * x.h * x.w; i++) {
            double d = fabs((double)x.data[i] - y.data[i]) * 255.0;
            if (d > 0) same = 0;
            diff = fmax(diff, d);
        }
        free(x.data); free(y.data);
        /* 8-bit pixels: a value on a rounding boundary may move one level */
        v = same ? OUT_IDENTICAL : same_shape && diff <= 1.0 + 1e-9 ? OUT_ROUNDING : OUT_DIFFERENT;
        printf("  %-50s %s (largest pixel difference %.0f of 255)\n", a, verdict_name(v), diff);
        return v;
    } else {
        uint8_t *da = NULL, *db = NULL;
        size_t na = 0, nb = 0;
        if (io_read_file(a, (size_t)1 << 30, &da, &na, err, sizeof err) ||
            io_read_file(b, (size_t)1 << 30, &db, &nb, err, sizeof err)) {
            printf("  %-50s unreadable: %s\n", a, err);
            free(da); free(db);
            return OUT_DIFFERENT;
        }
        int same = na == nb && !memcmp(da, db, na), comparable = 0;
        if (!same && ends_with(a, ".json")) {
            JsonValue *ja = json_parse((char *)da, na, err, sizeof err), *jb = json_parse((char *)db, nb, err, sizeof err);
            same = ja && jb && json_equal(ja, jb, volatile_key); /* identical except timings */
            comparable = !same && ja && jb && json_numbers_apart(ja, jb, &diff, &scale);
            json_free(ja); json_free(jb);
        } else if (!same && ends_with(a, ".csv")) {
            char *ca = calloc(na + 1, 1), *cb = calloc(nb + 1, 1);
            if (ca && cb) { memcpy(ca, da, na); memcpy(cb, db, nb); comparable = csv_numbers_apart(ca, cb, &diff, &scale); }
            free(ca); free(cb);
        }
        free(da); free(db);
        v = verdict_of(same, comparable, diff, scale);
    }
    if (v == OUT_IDENTICAL) printf("  %-50s identical\n", a);
    else printf("  %-50s %s (max difference %.3g, %.3g of the largest magnitude %.3g)\n", a, verdict_name(v), diff,
                scale > 0 ? diff / scale : diff, scale);
    return v;
}

/* The recorded machine and build against this one; prints what differs;
   returns 1 if they are the same. */
static int same_machine(const JsonValue *m) {
    char cpu[256];
    const char *keys[] = {"cpu", "openblas", "version", "cflags", "compiler"};
    const char *here[] = {io_cpu_name(cpu, sizeof cpu), eng_blas_info(), SALIENT_VERSION, SALIENT_CFLAGS,
#ifdef __VERSION__
                          __VERSION__
#else
                          "unknown"
#endif
    };
    int same = 1;
    for (int k = 0; k < 5; k++) {
        const char *rec = json_string(json_get(m, keys[k]));
        if (rec && !strcmp(rec, here[k])) continue;
        if (same) printf("recorded on another machine or build:\n");
        printf("  %-9s recorded %s\n  %-9s here     %s\n", keys[k], rec ? rec : "(not recorded)", "", here[k]);
        same = 0;
    }
    if (same) printf("same machine and build as recorded: every output must be bit-identical\n");
    else printf("  outputs within rounding (%.0e of their largest magnitude) count as reproduced\n", ENG_ROUND_REL);
    return same;
}

int cmd_verify(const Opts *o) {
    if (o->n_pos != 1) return cli_error("usage: salient verify manifest.json");
    uint8_t *buf;
    size_t n;
    char err[512];
    if (io_read_file(o->pos[0], (size_t)64 << 20, &buf, &n, err, sizeof err)) return cli_error("%s", err);
    JsonValue *m = json_parse((char *)buf, n, err, sizeof err);
    free(buf);
    if (!m) return cli_error("%s: %s", o->pos[0], err);
    const JsonValue *argv = json_get(m, "argv"), *outs = json_get(m, "outputs");
    const char *outdir = json_string(json_get(m, "outdir")), *cwd = json_string(json_get(m, "cwd"));
    if (json_type(argv) != JSON_ARRAY || json_len(argv) < 2 || json_type(outs) != JSON_ARRAY || !outdir) {
        json_free(m);
        return cli_error("%s: not a salient manifest with argv, outputs and outdir", o->pos[0]);
    }
    char tmp[] = "/tmp/salient-verify-XXXXXX";
    if (!mkdtemp(tmp)) { json_free(m); return cli_error("cannot make a temporary folder"); }
    /* the recorded command, with its output folder replaced */
    int argc = (int)json_len(argv);
    char **av = calloc(argc + 3, sizeof(char *));
    char exe[1024];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (el <= 0) { json_free(m); free(av); return cli_error("cannot find my own executable"); }
    exe[el] = 0;
    av[0] = exe;
    int k = 1, replaced = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = json_string(json_at(argv, i));
        if (!a) continue;
        if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
            av[k++] = (char *)a;
            av[k++] = tmp;
            i++;
            replaced = 1;
            continue;
        }
        if (!strncmp(a, "--output=", 9)) { static char b[1100]; snprintf(b, sizeof b, "--output=%s", tmp); av[k++] = b; replaced = 1; continue; }
        if (!strcmp(a, "--trace") && i + 1 < argc) { i++; continue; } /* the rerun does not rewrite the trace */
        av[k++] = (char *)a;
    }
    if (!replaced) { av[k++] = "-o"; av[k++] = tmp; }
    printf("re-running: %s", exe);
    for (int i = 1; i < k; i++) printf(" %s", av[i]);
    printf("\n");
    pid_t pid = fork();
    if (pid == 0) {
        if (cwd && chdir(cwd)) _exit(127);
        int devnull = open("/dev/null", 1);
        if (devnull >= 0) dup2(devnull, 1);
        execv(exe, av);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    free(av);
    if (cwd && chdir(cwd)) { json_free(m); return cli_error("cannot enter %s", cwd); }
    int total = 0, counts[3] = {0, 0, 0}, machine = same_machine(m);
    size_t L = strlen(outdir);
    for (size_t i = 0; i < json_len(outs); i++) {
        const char *p = json_string(json_get(json_at(outs, i), "path"));
        if (!p || strncmp(p, outdir, L) || (p[L] != '/' && p[L])) continue;
        if (ends_with(p, "manifest.json")) continue;
        char q[2048];
        snprintf(q, sizeof q, "%s%s", tmp, p + L);
        total++;
        counts[compare_file(p, q)]++;
    }
    int ran = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    printf("%d of %d outputs identical, %d within rounding, %d different%s\n", counts[OUT_IDENTICAL], total,
           counts[OUT_ROUNDING], counts[OUT_DIFFERENT], ran ? "" : " (the re-run failed)");
    json_free(m);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd)) {}
    int ok = total > 0 && !counts[OUT_DIFFERENT] && (machine ? counts[OUT_IDENTICAL] == total : 1);
    return ok ? 0 : 1;
}
