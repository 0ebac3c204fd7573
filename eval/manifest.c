/* manifest.c - run manifests and the comparison of re-run outputs (see manifest.h). */
#include "eval/manifest.h"
#include "engine/engine.h"
#include "io/file.h"
#include "io/npy.h"
#include "io/sha256.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---------------- recording ---------------- */
static void list_add(ManifestList *l, const char *s) {
    for (int i = 0; i < l->n; i++) if (!strcmp(l->v[i], s)) return;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        char **q = realloc(l->v, sizeof *q * l->cap);
        if (!q) return;
        l->v = q;
    }
    l->v[l->n++] = strdup(s);
}

static void list_free(ManifestList *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static void iso_now(char *buf, size_t n) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void run_manifest_start(RunManifest *m) {
    memset(m, 0, sizeof *m);
    iso_now(m->start, sizeof m->start);
}

void run_manifest_free(RunManifest *m) {
    list_free(&m->in); list_free(&m->out); list_free(&m->decoded);
}

void run_manifest_add_input(RunManifest *m, const char *path) { list_add(&m->in, path); }
void run_manifest_add_output(RunManifest *m, const char *path) { list_add(&m->out, path); }

void run_manifest_input_decoded(RunManifest *m, const char *path, const ImageLoadInfo *li) {
    if (!li || !strcmp(li->format, "image") || !li->format[0]) return;
    char line[1400];
    int n = snprintf(line, sizeof line, "%s\t%s", path, li->format);
    if (li->window_kind[0] && n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - n, ", window %s (centre %g, width %g: %g -> 0, %g -> 1)", li->window_kind,
                      li->center, li->width, li->lo, li->hi);
    if (li->slice[0] && n < (int)sizeof line) n += snprintf(line + n, sizeof line - n, ", slice %s", li->slice);
    if (li->nvolumes > 1 && n < (int)sizeof line) n += snprintf(line + n, sizeof line - n, ", volume %d of %d", li->volume, li->nvolumes);
    if (li->nframes > 1 && n < (int)sizeof line) snprintf(line + n, sizeof line - n, ", frame %d of %d", li->frame, li->nframes);
    list_add(&m->decoded, line);
}

const char *run_manifest_decoded_of(const RunManifest *m, const char *path) {
    size_t L = strlen(path);
    for (int i = 0; i < m->decoded.n; i++)
        if (!strncmp(m->decoded.v[i], path, L) && m->decoded.v[i][L] == '\t') return m->decoded.v[i] + L + 1;
    return NULL;
}

static void write_files(JsonWriter *w, const char *key, const ManifestList *l, const RunManifest *m) {
    jw_key(w, key);
    jw_array_begin(w);
    for (int i = 0; i < l->n; i++) {
        char hex[65];
        jw_object_begin(w);
        jw_kv_string(w, "path", l->v[i]);
        if (!sha256_file(l->v[i], hex)) jw_kv_string(w, "sha256", hex);
        else jw_kv_string(w, "sha256", NULL);
        const char *dec = l == &m->in ? run_manifest_decoded_of(m, l->v[i]) : NULL;
        if (dec) jw_kv_string(w, "decoded", dec);
        jw_object_end(w);
    }
    jw_array_end(w);
}

int run_manifest_write(const RunManifest *m, const char *path, const ManifestBuild *b, const ManifestCommand *c,
                       char *err, size_t errlen) {
    FILE *f = fopen(path, "w");
    if (!f) return err_fail(err, errlen, "cannot write %s", path);
    char end[32], cwd[1024], cpu[256];
    iso_now(end, sizeof end);
    JsonWriter w;
    jw_init(&w, f, 1);
    jw_object_begin(&w);
    jw_kv_string(&w, "program", "salient");
    jw_kv_string(&w, "version", b->version);
    if (b->compiler) jw_kv_string(&w, "compiler", b->compiler);
    jw_kv_string(&w, "cflags", b->cflags);
    jw_kv_string(&w, "cpu", io_cpu_name(cpu, sizeof cpu));
    jw_kv_string(&w, "openblas", eng_blas_info());
    jw_kv_int(&w, "threads", eng_get_threads());
    jw_kv_bool(&w, "reference_path", eng_get_reference());
    jw_kv_string(&w, "convolutions", eng_conv_info());
    if (getcwd(cwd, sizeof cwd)) jw_kv_string(&w, "cwd", cwd);
    jw_key(&w, "argv");
    jw_array_begin(&w);
    for (int i = 0; i < c->argc; i++) jw_string(&w, c->argv[i]);
    jw_array_end(&w);
    jw_key(&w, "options");
    jw_object_begin(&w);
    if (c->options) c->options(&w, c->ctx);
    jw_object_end(&w);
    jw_kv_int(&w, "seed", (long long)c->seed);
    jw_kv_string(&w, "rng", "xoshiro256** seeded by SplitMix64 (engine/rng.h)");
    jw_kv_string(&w, "outdir", c->outdir);
    write_files(&w, "inputs", &m->in, m);
    write_files(&w, "outputs", &m->out, m);
    jw_kv_string(&w, "start", m->start);
    jw_kv_string(&w, "end", end);
    jw_object_end(&w);
    fputc('\n', f);
    return fclose(f) ? err_fail(err, errlen, "cannot write %s", path) : 0;
}

const char *const manifest_build_keys[MANIFEST_BUILD_KEYS] = {"cpu", "openblas", "version", "cflags", "compiler"};

void manifest_build_values(const ManifestBuild *b, const char *here[MANIFEST_BUILD_KEYS], char *cpu, size_t cpu_len) {
    here[0] = io_cpu_name(cpu, cpu_len);
    here[1] = eng_blas_info();
    here[2] = b->version;
    here[3] = b->cflags;
    here[4] = b->compiler ? b->compiler : "unknown";
}

char **manifest_rerun_argv(const JsonValue *argv, const char *exe, const char *outdir, int *n) {
    int argc = (int)json_len(argv);
    size_t opt_len = strlen(outdir) + 10;   /* "--output=" + outdir + NUL */
    char **av = calloc(1, sizeof(char *) * (argc + 3) + opt_len);
    if (!av) return NULL;
    char *opt = (char *)(av + argc + 3);
    snprintf(opt, opt_len, "--output=%s", outdir);
    av[0] = (char *)exe;
    int k = 1, replaced = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = json_string(json_at(argv, i));
        if (!a) continue;
        if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
            av[k++] = (char *)a;
            av[k++] = (char *)outdir;
            i++;
            replaced = 1;
        } else if (!strncmp(a, "--output=", 9)) {
            av[k++] = opt;
            replaced = 1;
        } else if (!strcmp(a, "--trace") && i + 1 < argc) i++;   /* the rerun does not rewrite the trace */
        else av[k++] = (char *)a;
    }
    if (!replaced) { av[k++] = "-o"; av[k++] = (char *)outdir; }
    av[k] = NULL;
    *n = k;
    return av;
}

/* ---------------- comparing outputs ---------------- */
int manifest_volatile_key(const char *k) {
    static const char *keys[] = {"seconds", "expected_seconds", "pass_time", "start", "end", "forward_ms",
                                 "forward_backward_ms", "seconds_per_image", "elapsed", NULL};
    for (int i = 0; keys[i]; i++) if (!strcmp(k, keys[i])) return 1;
    return 0;
}

static int ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && !strcmp(s + n - k, suf);
}

const char *out_verdict_name(OutVerdict v) {
    return v == OUT_IDENTICAL ? "identical" : v == OUT_ROUNDING ? "within rounding" : "DIFFERENT";
}

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
            if (manifest_volatile_key(k)) continue;
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

static void unreadable(OutputComparison *c) { c->unreadable = 1; c->verdict = OUT_DIFFERENT; }

static void compare_npy(const char *a, const char *b, OutputComparison *c) {
    NpyArray x, y;
    if (npy_read(a, &x, c->err, sizeof c->err)) { unreadable(c); return; }
    if (npy_read(b, &y, c->err, sizeof c->err)) { npy_free(&x); unreadable(c); return; }
    int same_shape = x.ndim == y.ndim && !memcmp(x.shape, y.shape, sizeof(int64_t) * x.ndim) && x.dtype == y.dtype;
    int same = same_shape && !memcmp(x.data, y.data, x.numel * npy_itemsize(x.dtype));
    if (same_shape) {
        float *fx = npy_to_f32(&x), *fy = npy_to_f32(&y);
        for (size_t i = 0; fx && fy && i < x.numel; i++) {
            c->diff = fmax(c->diff, fabs((double)fx[i] - fy[i]));
            c->scale = fmax(c->scale, fabs((double)fx[i]));
        }
        free(fx); free(fy);
    }
    c->verdict = verdict_of(same, same_shape, c->diff, c->scale);
    npy_free(&x); npy_free(&y);
}

static void compare_png(const char *a, const char *b, OutputComparison *c) {
    Image x, y;
    if (image_load(a, &x, c->err, sizeof c->err)) { unreadable(c); return; }
    if (image_load(b, &y, c->err, sizeof c->err)) { free(x.data); unreadable(c); return; }
    c->png = 1;
    int same_shape = x.c == y.c && x.h == y.h && x.w == y.w, same = same_shape;
    for (size_t i = 0; same_shape && i < (size_t)x.c * x.h * x.w; i++) {
        double d = fabs((double)x.data[i] - y.data[i]) * 255.0;
        if (d > 0) same = 0;
        c->diff = fmax(c->diff, d);
    }
    free(x.data); free(y.data);
    /* 8-bit pixels: a value on a rounding boundary may move one level */
    c->verdict = same ? OUT_IDENTICAL : same_shape && c->diff <= 1.0 + 1e-9 ? OUT_ROUNDING : OUT_DIFFERENT;
}

static void compare_bytes(const char *a, const char *b, OutputComparison *c) {
    uint8_t *da = NULL, *db = NULL;
    size_t na = 0, nb = 0;
    char err[512];
    if (io_read_file(a, (size_t)1 << 30, &da, &na, c->err, sizeof c->err) ||
        io_read_file(b, (size_t)1 << 30, &db, &nb, c->err, sizeof c->err)) {
        free(da); free(db);
        unreadable(c);
        return;
    }
    int same = na == nb && !memcmp(da, db, na), comparable = 0;
    if (!same && ends_with(a, ".json")) {
        JsonValue *ja = json_parse((char *)da, na, err, sizeof err), *jb = json_parse((char *)db, nb, err, sizeof err);
        same = ja && jb && json_equal(ja, jb, manifest_volatile_key); /* identical except timings */
        comparable = !same && ja && jb && json_numbers_apart(ja, jb, &c->diff, &c->scale);
        json_free(ja); json_free(jb);
    } else if (!same && ends_with(a, ".csv")) {
        char *ca = calloc(na + 1, 1), *cb = calloc(nb + 1, 1);
        if (ca && cb) { memcpy(ca, da, na); memcpy(cb, db, nb); comparable = csv_numbers_apart(ca, cb, &c->diff, &c->scale); }
        free(ca); free(cb);
    }
    free(da); free(db);
    c->verdict = verdict_of(same, comparable, c->diff, c->scale);
}

void output_compare(const char *recorded, const char *rerun, OutputComparison *c) {
    memset(c, 0, sizeof *c);
    if (ends_with(recorded, ".npy")) compare_npy(recorded, rerun, c);
    else if (ends_with(recorded, ".png")) compare_png(recorded, rerun, c);
    else compare_bytes(recorded, rerun, c);
}

const char *manifest_output_checked(const JsonValue *outputs, size_t i, const char *outdir) {
    const char *p = json_string(json_get(json_at(outputs, i), "path"));
    size_t L = strlen(outdir), n = p ? strlen(p) : 0;
    if (!p || strncmp(p, outdir, L) || (p[L] != '/' && p[L])) return NULL;
    if (n >= 13 && !strcmp(p + n - 13, "manifest.json")) return NULL;
    return p;
}
