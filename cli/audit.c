/* audit.c - traces, manifests, trace-diff and verify (see audit.h). */
#include "cli/audit.h"
#include "io/file.h"
#include "io/json.h"
#include "io/npy.h"
#include "io/sha256.h"

#include <fcntl.h>
#include <math.h>
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

static void write_files(JsonWriter *w, const char *key, const StrList *l) {
    jw_key(w, key);
    jw_array_begin(w);
    for (int i = 0; i < l->n; i++) {
        char hex[65];
        jw_object_begin(w);
        jw_kv_string(w, "path", l->v[i]);
        if (!sha256_file(l->v[i], hex)) jw_kv_string(w, "sha256", hex);
        else jw_kv_string(w, "sha256", NULL);
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
    jw_kv_int(&w, "steps", o->steps); jw_kv_int(&w, "samples", o->samples); jw_kv_int(&w, "masks", o->masks);
    jw_kv_int(&w, "window", o->window); jw_kv_int(&w, "stride", o->stride);
    jw_kv_number(&w, "noise", o->noise); jw_kv_number(&w, "fraction", o->fraction);
    jw_kv_number(&w, "max_dist", o->max_dist); jw_kv_number(&w, "max_sigma", o->max_sigma);
    jw_kv_string(&w, "layer", o->layer);
    jw_kv_string(&w, "info", o->info ? o->info : "webp");
    jw_kv_string(&w, "note", "0 means the method's default (REFERENCE.md); each output's own JSON lists the values used");
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
    long n = 0, differ = 0, first = -1;
    for (;;) {
        JsonValue *a = read_line_json(fa, &la, &ca), *b = read_line_json(fb, &lb, &cb);
        if (!a || !b) {
            if (a || b) printf("the traces have different lengths: %s ends first\n", a ? o->pos[1] : o->pos[0]);
            json_free(a); json_free(b);
            break;
        }
        n++;
        int same_op = !strcmp(jstr(a, "layer"), jstr(b, "layer")) && !strcmp(jstr(a, "pass"), jstr(b, "pass"));
        if (strcmp(jstr(a, "sha256"), jstr(b, "sha256")) || !same_op) {
            differ++;
            if (first < 0) {
                first = (long)json_number(json_get(a, "seq"));
                printf("first difference at seq %ld: %s %s (%s)\n", first, jstr(a, "op"), jstr(a, "layer"), jstr(a, "pass"));
                if (!same_op) printf("  B has %s %s (%s) here: the runs did different work\n", jstr(b, "op"), jstr(b, "layer"), jstr(b, "pass"));
                const char *keys[] = {"min", "max", "mean", "l2"};
                for (int k = 0; k < 4; k++)
                    printf("  %-5s A %-16.9g B %-16.9g\n", keys[k], json_number(json_get(a, keys[k])), json_number(json_get(b, keys[k])));
                printf("  sha256 A %s\n         B %s\n", jstr(a, "sha256"), jstr(b, "sha256"));
            }
        }
        json_free(a); json_free(b);
    }
    free(la); free(lb);
    fclose(fa); fclose(fb);
    printf("%ld of %ld operations differ\n", differ, n);
    return differ ? 1 : 0;
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

/* Compares one output; prints the verdict; returns 1 if identical. */
static int compare_file(const char *a, const char *b) {
    char err[512];
    if (ends_with(a, ".npy")) {
        NpyArray x, y;
        if (npy_read(a, &x, err, sizeof err) || npy_read(b, &y, err, sizeof err)) { printf("  %-50s unreadable: %s\n", a, err); return 0; }
        int same_shape = x.ndim == y.ndim && !memcmp(x.shape, y.shape, sizeof(int64_t) * x.ndim) && x.dtype == y.dtype;
        int same = same_shape && !memcmp(x.data, y.data, x.numel * npy_itemsize(x.dtype));
        double md = 0;
        if (same_shape) {
            float *fx = npy_to_f32(&x), *fy = npy_to_f32(&y);
            for (size_t i = 0; fx && fy && i < x.numel; i++) { double d = fabs((double)fx[i] - fy[i]); if (d > md) md = d; }
            free(fx); free(fy);
        }
        printf("  %-50s %s (max difference %.3g)\n", a, same ? "identical" : same_shape ? "DIFFERENT" : "DIFFERENT shape", md);
        npy_free(&x); npy_free(&y);
        return same;
    }
    uint8_t *da = NULL, *db = NULL;
    size_t na = 0, nb = 0;
    if (io_read_file(a, (size_t)1 << 30, &da, &na, err, sizeof err) || io_read_file(b, (size_t)1 << 30, &db, &nb, err, sizeof err)) {
        printf("  %-50s unreadable: %s\n", a, err);
        free(da); free(db);
        return 0;
    }
    int same = na == nb && !memcmp(da, db, na);
    const char *how = "identical";
    if (!same && ends_with(a, ".json")) {
        JsonValue *ja = json_parse((char *)da, na, err, sizeof err), *jb = json_parse((char *)db, nb, err, sizeof err);
        same = ja && jb && json_equal(ja, jb, volatile_key);
        how = "identical except timings";
        json_free(ja); json_free(jb);
    }
    printf("  %-50s %s\n", a, same ? how : "DIFFERENT");
    free(da); free(db);
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
    int total = 0, same = 0;
    size_t L = strlen(outdir);
    for (size_t i = 0; i < json_len(outs); i++) {
        const char *p = json_string(json_get(json_at(outs, i), "path"));
        if (!p || strncmp(p, outdir, L) || (p[L] != '/' && p[L])) continue;
        if (ends_with(p, "manifest.json")) continue;
        char q[2048];
        snprintf(q, sizeof q, "%s%s", tmp, p + L);
        total++;
        same += compare_file(p, q);
    }
    printf("%d of %d outputs identical%s\n", same, total, WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "" : " (the re-run failed)");
    json_free(m);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd)) {}
    return (same == total && total > 0) ? 0 : 1;
}
