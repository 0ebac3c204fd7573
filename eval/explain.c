/* explain.c - one explanation: true and explained class, shared passes,
   explain.json (see explain.h). */
#include "eval/explain.h"
#include "io/file.h"
#include "io/json.h"
#include "io/npy.h"
#include "io/sha256.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int explain_class_named(const char *name, char *const *labels, int n_labels, int K) {
    for (int k = 0; k < n_labels && k < K; k++)
        if (!strcmp(labels[k], name)) return k;
    return -1;
}

int explain_truth(const char *label, const char *path, char *const *labels, int n_labels, int K, const char **from) {
    *from = NULL;
    if (label) {
        *from = "--label";
        int k = explain_class_named(label, labels, n_labels, K);
        if (k >= 0) return k;
        char *end;
        long v = strtol(label, &end, 10);
        if (*label && !*end && v >= 0 && v < K) return (int)v;
        return -2;
    }
    if (!path) return -1;
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    int k = explain_class_named(basename(dirname(tmp)), labels, n_labels, K);
    if (k >= 0) *from = "folder";
    return k;
}

int explain_target(const char *text, int truth, int pred, char *const *labels, int n_labels, int K, char *rule,
                   size_t n) {
    const char *t = text ? text : "pred";
    if (!strcmp(t, "pred")) { snprintf(rule, n, "pred"); return pred; }
    if (!strcmp(t, "label")) { snprintf(rule, n, "label"); return truth; }
    char *end;
    long v = strtol(t, &end, 10);
    snprintf(rule, n, "fixed");
    if (*t && !*end) return v >= 0 && v < K ? (int)v : -1;
    return explain_class_named(t, labels, n_labels, K);   /* a class name */
}

int explain_same_stem(char *const *paths, int n, int *i) {
    char a[200], b[200];
    for (int j = 0; j < n; j++) {
        io_path_stem(paths[j], a, sizeof a);
        for (*i = 0; *i < j; (*i)++) {
            io_path_stem(paths[*i], b, sizeof b);
            if (!strcmp(a, b)) return j;
        }
    }
    return -1;
}

int explain_baseline_read(const char *path, size_t numel, float **out, char *err, size_t errlen) {
    NpyArray a;
    *out = NULL;
    if (npy_read(path, &a, err, errlen)) return -1;
    if (a.numel != numel) {
        err_fail(err, errlen, "%s: %zu values, the input has %zu", path, a.numel, numel);
        npy_free(&a);
        return -2;
    }
    *out = npy_to_f32(&a);
    npy_free(&a);
    return *out ? 0 : err_fail(err, errlen, "%s: out of memory", path);
}

/* ---- shared passes ---- */
#define MAX_SHARED 64

int explain_shared_predict(ExplainShared *sh, AttribParams *P, int n_methods, int n) {
    int K = eng_model_n_classes(P->model);
    memset(sh, 0, sizeof *sh);
    sh->n = n;
    sh->pred = -1;
    if (n > MAX_SHARED) return eng_fail("explain: at most %d targets share their passes", MAX_SHARED);
    sh->logits = malloc(sizeof(float) * K);
    sh->prob = malloc(sizeof(float) * K);
    sh->res = calloc((size_t)n_methods * n, sizeof(AttribResult));
    if (!sh->logits || !sh->prob || !sh->res) return eng_fail("explain: out of memory");
    sh->pred = attrib_predict(P, P->x, sh->logits, sh->prob);
    return sh->pred < 0 ? -1 : 0;
}

void explain_shared_run(ExplainShared *sh, AttribParams *P, const AttribMethod *const *ms, int n_methods,
                        const MethodSettings *s, const int *cls, ExplainPhaseFn phase, void *ctx) {
    int slot[MAX_SHARED], targets[MAX_SHARED], nv = 0, n = sh->n;
    for (int t = 0; t < n; t++) if (cls[t] >= 0) { slot[nv] = t; targets[nv++] = cls[t]; }
    AttribResult got[MAX_SHARED];
    for (int k = 0; k < n_methods && nv > 0; k++) {
        const AttribMethod *am = ms[k];
        if (!am->run_targets) continue;
        if (phase) phase(ctx, am, nv);
        method_settings_apply(s, P, am);
        P->target = targets[0];
        memset(got, 0, sizeof got);
        if (am->run_targets(P, got, targets, nv)) {
            for (int v = 0; v < nv; v++) attrib_result_free(&got[v]);
            continue;
        }
        for (int v = 0; v < nv; v++) sh->res[k * n + slot[v]] = got[v];
    }
}

void explain_shared_free(ExplainShared *sh, int n_methods) {
    for (int i = 0; sh->res && i < n_methods * sh->n; i++) attrib_result_free(&sh->res[i]);
    free(sh->res); free(sh->logits); free(sh->prob);
    memset(sh, 0, sizeof *sh);
}

/* ---- explain.json ---- */

/* How a volume or DICOM file became the 2-D input: format, slice, frame, window. */
static void load_info_json(JsonWriter *w, const ImageLoadInfo *li) {
    jw_key(w, "decoded"); jw_object_begin(w);
    jw_kv_string(w, "format", li->format);
    if (li->window_kind[0]) {
        jw_kv_string(w, "window", li->window_kind);
        jw_kv_number(w, "window_center", li->center); jw_kv_number(w, "window_width", li->width);
        jw_kv_number(w, "value_at_0", li->lo); jw_kv_number(w, "value_at_1", li->hi);
    }
    if (li->slice[0]) { jw_kv_string(w, "slice", li->slice); jw_kv_int(w, "slices", li->slice_count); }
    if (li->nvolumes > 1) { jw_kv_int(w, "volume", li->volume); jw_kv_int(w, "volumes", li->nvolumes); }
    if (li->nframes > 1) { jw_kv_int(w, "frame", li->frame); jw_kv_int(w, "frames", li->nframes); }
    if (li->orientation[0]) { jw_kv_string(w, "orientation", li->orientation); jw_kv_string(w, "orientation_from", li->orient_source); }
    if (li->transfer_syntax[0]) {
        jw_kv_string(w, "transfer_syntax", li->transfer_syntax);
        jw_kv_string(w, "photometric", li->photometric);
        jw_kv_string(w, "voi_function", li->voi_function);
        jw_kv_number(w, "rescale_slope", li->slope); jw_kv_number(w, "rescale_intercept", li->intercept);
    }
    jw_object_end(w);
}

static void numbers(JsonWriter *w, const char *key, const float *v, int n) {
    jw_key(w, key);
    jw_array_begin(w);
    for (int i = 0; i < n; i++) jw_number(w, v[i]);
    jw_array_end(w);
}

static void method_json(JsonWriter *w, const ExplainRecord *r, int k) {
    const AttribResult *res = &r->res[k];
    jw_object_begin(w);
    jw_kv_string(w, "name", r->methods[k]->name);
    jw_kv_bool(w, "ok", r->ok[k]);
    jw_key(w, "params"); jw_object_begin(w);
    method_settings_json(w, r->settings, r->methods[k], r->layer);
    jw_kv_int(w, "batch", r->batch);
    jw_object_end(w);
    jw_kv_int(w, "forward_images", res->forward);
    jw_kv_int(w, "backward_images", res->backward);
    jw_kv_int(w, "batches", res->batches);
    jw_kv_bool(w, "shared_forward", res->shared_forward);
    jw_kv_number(w, "seconds", res->seconds);
    jw_kv_number(w, "expected_seconds", bench_expected_seconds(res->forward, res->backward, &r->pt));
    jw_kv_string(w, "notes", res->notes);
    jw_object_end(w);
}

int explain_json_write(const char *path, const ExplainRecord *r, char *err, size_t errlen) {
    const FigureInfo *fig = r->fig;
    FILE *f = fopen(path, "w");
    if (!f) return err_fail(err, errlen, "cannot write %s", path);
    JsonWriter w;
    jw_init(&w, f, 1);
    jw_object_begin(&w);
    jw_kv_string(&w, "salient_version", r->version);
    jw_key(&w, "model"); jw_object_begin(&w);
    jw_kv_string(&w, "path", r->model_path); jw_kv_string(&w, "arch", r->arch);
    jw_kv_string(&w, "sha256", r->model_sha256);
    jw_kv_string(&w, "head", r->sigmoid ? "sigmoid" : "softmax"); jw_object_end(&w);
    char hex[65] = "";
    jw_key(&w, "image"); jw_object_begin(&w);
    jw_kv_string(&w, "path", r->image_path);
    if (r->npy_index >= 0) jw_kv_int(&w, "npy_index", r->npy_index);
    if (!sha256_file(r->image_path, hex)) jw_kv_string(&w, "sha256", hex);
    if (r->load) load_info_json(&w, r->load);
    jw_object_end(&w);
    jw_key(&w, "input"); jw_object_begin(&w);
    jw_kv_int(&w, "size", r->S); jw_kv_int(&w, "channels", r->C);
    numbers(&w, "mean", r->mean, r->C);
    numbers(&w, "std", r->std, r->C);
    if (r->intensity_percentile > 0) jw_kv_number(&w, "intensity_percentile", r->intensity_percentile);
    jw_kv_string(&w, "preprocessed", r->npy_index >= 0 ? "as given (--input-npy)"
                                     : r->intensity_percentile > 0
                                         ? "bilinear antialiased resize, [0,1], divided by the intensity_percentile-th "
                                           "percentile of its own values and clamped to [0,1], normalised"
                                         : "bilinear antialiased resize, [0,1], normalised");
    jw_object_end(&w);
    jw_key(&w, "prediction"); jw_object_begin(&w);
    jw_kv_int(&w, "class", fig->pred); jw_kv_string(&w, "label", fig->pred_name);
    jw_kv_number(&w, "prob", r->prob[fig->pred]);
    jw_kv_bool(&w, "shared_forward", r->shared_forward);
    numbers(&w, "probs", r->prob, r->K);
    numbers(&w, "logits", r->logits, r->K);
    jw_object_end(&w);
    jw_key(&w, "target"); jw_object_begin(&w);
    jw_kv_int(&w, "class", fig->target); jw_kv_string(&w, "label", fig->target_name);
    jw_kv_string(&w, "rule", r->rule); jw_object_end(&w);
    jw_kv_string(&w, "true_label", fig->truth >= 0 ? fig->truth_name : NULL);
    jw_key(&w, "true_class"); if (fig->truth >= 0) jw_int(&w, fig->truth); else jw_null(&w);
    jw_kv_string(&w, "true_label_from", r->truth_from);
    int correct = figure_correct(fig);
    jw_key(&w, "correct"); if (correct >= 0) jw_bool(&w, correct); else jw_null(&w);
    jw_kv_string(&w, "lesion_mask", r->lesion_mask);
    char title[1400];
    figure_title(fig, title, sizeof title);
    jw_kv_string(&w, "figure_title", title);
    jw_kv_string(&w, "figure_settings", fig->settings);
    jw_kv_int(&w, "seed", (long long)r->seed);
    jw_kv_string(&w, "rng", "xoshiro256** seeded by SplitMix64 (engine/rng.h)");
    jw_kv_int(&w, "threads", r->threads);
    jw_key(&w, "pass_time"); jw_object_begin(&w);
    jw_kv_int(&w, "batch", r->pt.batch); jw_kv_number(&w, "forward_ms", r->pt.fwd_s * 1e3);
    jw_kv_number(&w, "forward_backward_ms", r->pt.fb_s * 1e3); jw_object_end(&w);
    jw_key(&w, "methods"); jw_array_begin(&w);
    for (int k = 0; k < r->n_methods; k++) method_json(&w, r, k);
    jw_array_end(&w);
    jw_object_end(&w);
    fprintf(f, "\n");
    int bad = jw_error(&w);
    if (fclose(f) || bad) return err_fail(err, errlen, "cannot write %s", path);
    return 0;
}
