/* mprt_summary.c - the MPRT of several images, summarised per method
   (see mprt.h, mprt_summary_write). */
#include "eval/mprt.h"
#include "eval/plot.h"
#include "io/json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUMMARY_MAX_BYTES (4 << 20)

typedef struct {
    int n_methods, n_steps, n_images;
    char (*method)[64];
    char (*module)[ENG_NAME_MAX];
    double *sum;      /* (n_steps + 1, n_methods): sum over images of the defined correlations */
    int *count;       /* how many images had one */
    double *final;    /* (n_images, n_methods) */
} Summary;

static void summary_free(Summary *s) {
    free(s->method); free(s->module); free(s->sum); free(s->count); free(s->final);
}

static double corr_of(const JsonValue *steps, int s, const char *method) {
    const JsonValue *v = json_get(json_get(json_at(steps, (size_t)s), "spearman"), method);
    return json_type(v) == JSON_NUMBER ? json_number(v) : NAN;
}

/* The first file fixes the methods and steps; allocates s. 0 or -1. */
static int summary_init(Summary *s, const JsonValue *v, int n_images, const char *path, char *err, size_t n) {
    const JsonValue *ms = json_get(v, "methods"), *steps = json_get(v, "steps");
    if (json_type(ms) != JSON_ARRAY || json_type(steps) != JSON_ARRAY || json_len(ms) < 1 || json_len(steps) < 2)
        return err_fail(err, n, "%s: not a sanity.json (no methods or steps)", path);
    s->n_methods = (int)json_len(ms);
    s->n_steps = (int)json_len(steps) - 1;
    s->n_images = n_images;
    size_t cells = (size_t)(s->n_steps + 1) * s->n_methods;
    s->method = calloc(s->n_methods, sizeof *s->method);
    s->module = calloc(s->n_steps + 1, sizeof *s->module);
    s->sum = calloc(cells, sizeof *s->sum);
    s->count = calloc(cells, sizeof *s->count);
    s->final = calloc((size_t)n_images * s->n_methods, sizeof *s->final);
    if (!s->method || !s->module || !s->sum || !s->count || !s->final) return err_fail(err, n, "out of memory");
    for (int j = 0; j < s->n_methods; j++) {
        const char *nm = json_string(json_at(ms, j));
        if (!nm || strlen(nm) >= sizeof s->method[j]) return err_fail(err, n, "%s: bad method name", path);
        strcpy(s->method[j], nm);
    }
    for (int k = 1; k <= s->n_steps; k++) {
        const char *md = json_string(json_get(json_at(steps, k), "randomised"));
        snprintf(s->module[k], sizeof s->module[k], "%s", md ? md : "?");
    }
    snprintf(s->module[0], sizeof s->module[0], "none");
    return 0;
}

/* Adds image i's correlations; its methods and steps must be the first file's. */
static int summary_add(Summary *s, const JsonValue *v, int i, const char *path, char *err, size_t n) {
    const JsonValue *ms = json_get(v, "methods"), *steps = json_get(v, "steps");
    if ((int)json_len(ms) != s->n_methods || (int)json_len(steps) != s->n_steps + 1)
        return err_fail(err, n, "%s: other methods or steps than the first image's", path);
    for (int j = 0; j < s->n_methods; j++) {
        const char *nm = json_string(json_at(ms, j));
        if (!nm || strcmp(nm, s->method[j])) return err_fail(err, n, "%s: other methods than the first image's", path);
        for (int k = 0; k <= s->n_steps; k++) {
            double c = corr_of(steps, k, nm);
            if (isfinite(c)) { s->sum[(size_t)k * s->n_methods + j] += c; s->count[(size_t)k * s->n_methods + j]++; }
        }
        s->final[(size_t)i * s->n_methods + j] = corr_of(steps, s->n_steps, nm);
    }
    return 0;
}

static void fmt(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, ",%.4f", v);
    else fputc(',', f);
}

static int write_final_csv(const Summary *s, const char *path, char *err, size_t n) {
    FILE *f = fopen(path, "w");
    if (!f) return err_fail(err, n, "cannot write %s: %s", path, strerror(errno));
    fprintf(f, "method,images,final_mean,final_min,final_max,flagged\n");
    for (int j = 0; j < s->n_methods; j++) {
        double sum = 0, lo = INFINITY, hi = -INFINITY;
        int k = 0, flagged = 0;
        for (int i = 0; i < s->n_images; i++) {
            double c = s->final[(size_t)i * s->n_methods + j];
            if (!isfinite(c)) continue;
            sum += c; lo = fmin(lo, c); hi = fmax(hi, c); k++;
            flagged += c > MPRT_FLAG;
        }
        fprintf(f, "%s,%d", s->method[j], k);
        fmt(f, k ? sum / k : NAN); fmt(f, k ? lo : NAN); fmt(f, k ? hi : NAN);
        fprintf(f, ",%d\n", flagged);
    }
    return fclose(f) ? err_fail(err, n, "cannot write %s", path) : 0;
}

static double step_mean(const Summary *s, int k, int j) {
    size_t c = (size_t)k * s->n_methods + j;
    return s->count[c] ? s->sum[c] / s->count[c] : NAN;
}

static int write_steps_csv(const Summary *s, const char *path, char *err, size_t n) {
    FILE *f = fopen(path, "w");
    if (!f) return err_fail(err, n, "cannot write %s: %s", path, strerror(errno));
    fprintf(f, "step,module");
    for (int j = 0; j < s->n_methods; j++) fprintf(f, ",%s", s->method[j]);
    fputc('\n', f);
    for (int k = 0; k <= s->n_steps; k++) {
        fprintf(f, "%d,%s", k, s->module[k]);
        for (int j = 0; j < s->n_methods; j++) fmt(f, step_mean(s, k, j));
        fputc('\n', f);
    }
    return fclose(f) ? err_fail(err, n, "cannot write %s", path) : 0;
}

/* The correlations against the steps, one line per method: the mean over
   the images (one image: its own). */
static int plot_steps(const Summary *s, const char *title, const char *xlabel, const char *ylabel, const char *path,
                      char *err, size_t n) {
    int S1 = s->n_steps + 1, rc = -1;
    double *xs = malloc(sizeof(double) * S1), *ys = malloc(sizeof(double) * (size_t)S1 * s->n_methods);
    PlotSeries *ser = calloc(s->n_methods, sizeof *ser);
    if (xs && ys && ser) {
        for (int k = 0; k < S1; k++) xs[k] = k;
        for (int j = 0; j < s->n_methods; j++) {
            for (int k = 0; k < S1; k++) ys[(size_t)j * S1 + k] = step_mean(s, k, j);
            ser[j] = (PlotSeries){s->method[j], xs, ys + (size_t)j * S1, S1};
        }
        rc = plot_png(path, title, xlabel, ylabel, ser, s->n_methods, 0, s->n_steps, -1, 1);
    }
    free(xs); free(ys); free(ser);
    return rc ? err_fail(err, n, "cannot write %s", path) : 0;
}

static int plot_means(const Summary *s, const char *path, char *err, size_t n) {
    char title[160];
    snprintf(title, sizeof title, "MPRT, mean over %d images: each map against the original model's map", s->n_images);
    return plot_steps(s, title, "steps randomised, from the classifier down (their names: sanity_steps.csv)",
                      "mean Spearman rank correlation", path, err, n);
}

int mprt_plot_json(const char *json_path, const char *png_path, char *err, size_t errlen) {
    JsonValue *v = json_read_file(json_path, SUMMARY_MAX_BYTES, err, errlen);
    if (!v) return -1;
    Summary s = {0};
    int rc = summary_init(&s, v, 1, json_path, err, errlen);
    if (!rc) rc = summary_add(&s, v, 0, json_path, err, errlen);
    if (!rc) {
        const char *arch = json_string(json_get(json_get(v, "model"), "arch")), *by = json_string(json_get(v, "steps_are"));
        char title[200], xlabel[200], unit[32] = "steps";
        if (by) snprintf(unit, sizeof unit, "%.*s", (int)strcspn(by, ": "), by);
        snprintf(title, sizeof title, "MPRT, %s: each map against the original model's map", arch ? arch : "model");
        snprintf(xlabel, sizeof xlabel, "%s randomised, from the classifier down (their names: sanity.csv)", unit);
        rc = plot_steps(&s, title, xlabel, "Spearman rank correlation", png_path, err, errlen);
    }
    summary_free(&s);
    json_free(v);
    return rc;
}

int mprt_summary_write(const char *const *json_paths, int n_images, const char *outdir, char *err, size_t errlen) {
    if (n_images < 1) return err_fail(err, errlen, "MPRT summary: no images");
    Summary s = {0};
    int rc = 0;
    for (int i = 0; i < n_images && !rc; i++) {
        JsonValue *v = json_read_file(json_paths[i], SUMMARY_MAX_BYTES, err, errlen);
        if (!v) { rc = -1; break; }
        if (i == 0) rc = summary_init(&s, v, n_images, json_paths[i], err, errlen);
        if (!rc) rc = summary_add(&s, v, i, json_paths[i], err, errlen);
        json_free(v);
    }
    char path[2300];
    if (!rc) { snprintf(path, sizeof path, "%s/sanity_final.csv", outdir); rc = write_final_csv(&s, path, err, errlen); }
    if (!rc) { snprintf(path, sizeof path, "%s/sanity_steps.csv", outdir); rc = write_steps_csv(&s, path, err, errlen); }
    if (!rc) { snprintf(path, sizeof path, "%s/sanity_steps.png", outdir); rc = plot_means(&s, path, err, errlen); }
    summary_free(&s);
    return rc;
}
