/* cmd_explain.c - `salient explain`: every requested saliency method on
   every image, written to OUTDIR/<image stem>/ as <method>.npy (the 2-D map
   at the model's input size), <method>.attr.npy (the raw (C,H,W)
   attribution of the gradient family), <method>.png (heatmap over the
   input with a colour bar), grid.png (the input and every map, titled) and
   explain.json (hashes, prediction, true label, target, every parameter
   with defaults filled in, passes and times of every method).

   The true label is --label (a class name or index) or, failing that, the
   name of the image's folder when it is one of the model's class names;
   otherwise it is unknown. Every picture opens with a band saying what was
   explained (render.h, figure_title): true label, predicted label and
   probability, the target when it is not the prediction, and the settings
   that differ from the defaults; a wrong prediction gets the word WRONG in
   red and a red frame. explain.json records true_label, true_class,
   true_label_from ("--label", "folder" or null) and correct (null when the
   true label is unknown).

   --target a,b,c explains each target into <image>/<target>/. The targets
   share the passes that can be shared: the prediction runs once, and every
   method with run_targets (the gradient CAMs, Eigen-CAM) runs one forward
   for all targets and one backward per target; their maps are the same,
   bit for bit, as with one target per run. explain.json says so with
   "shared_forward" in "prediction" and in each method. */
#include "attrib/attrib.h"
#include "cli/audit.h"
#include "cli/cli.h"
#include "io/dataset.h"
#include "cli/common.h"
#include "eval/plot.h"
#include "eval/render.h"
#include "eval/report.h"
#include "engine/ops.h"
#include "eval/localize.h"
#include "io/image.h"
#include "io/json.h"
#include "io/npy.h"
#include "io/sha256.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- inputs ---- */
typedef struct {
    char name[256];      /* output folder name */
    const char *path;    /* image file, or the .npy */
    int index;           /* item of the .npy */
    const ImageLoadInfo *load;   /* how the file was decoded (NULL for .npy items) */
} Item;

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

static void stem_of(const char *path, char *out, size_t n) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, n, "%s", b);
    size_t L = strlen(out);
    if (L > 7 && !strcasecmp(out + L - 7, ".nii.gz")) { out[L - 7] = 0; return; }
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = 0;
}


/* ---- pass timing, for the cost model images x time-per-image ---- */
typedef struct { int batch; double fwd_s, fb_s; } PassTime;

static void measure_pass_time(EngModel *m, int C, int S, int B, PassTime *pt) {
    pt->batch = B;
    pt->fwd_s = pt->fb_s = 0;
    size_t n = (size_t)B * C * S * S;
    float *x = calloc(n, sizeof(float)), *seed = calloc((size_t)B * eng_model_n_classes(m), sizeof(float));
    EngPass *p = eng_pass_new(m, B, S, S);
    if (x && seed && p) {
        int keep0 = 0;
        EngBackwardOpts bo = {.keep_grads = &keep0, .n_keep_grads = 1};
        for (int i = 0; i < B; i++) seed[(size_t)i * eng_model_n_classes(m)] = 1;
        eng_pass_forward(p, x, ENG_FORWARD_ONLY); /* warm-up */
        double best_f = 1e30, best_b = 1e30;
        for (int r = 0; r < 2; r++) {
            double t0 = attrib_now();
            eng_pass_forward(p, x, ENG_FORWARD_ONLY);
            double t1 = attrib_now();
            eng_pass_forward(p, x, ENG_TAPE_GRAD); /* as the methods' gradient passes */
            eng_pass_backward(p, seed, &bo);
            double t2 = attrib_now();
            if (t1 - t0 < best_f) best_f = t1 - t0;
            if (t2 - t1 < best_b) best_b = t2 - t1;
        }
        pt->fwd_s = best_f; pt->fb_s = best_b;
    }
    eng_pass_free(p);
    free(x); free(seed);
}

/* Forward-only images, forward+backward pairs, and backwards whose forward
   another target's result counted (shared passes): each at its cost. */
static double expected_seconds(const AttribResult *R, const PassTime *pt) {
    long pairs = R->forward < R->backward ? R->forward : R->backward;
    double fo = (double)(R->forward - pairs) / pt->batch, fb = (double)pairs / pt->batch,
           bo = (double)(R->backward - pairs) / pt->batch;
    return fo * pt->fwd_s + fb * pt->fb_s + bo * (pt->fb_s - pt->fwd_s);
}

/* ---- true class and target class ---- */
/* The true class: --label (a class name or index; -2 when it is neither),
   else the name of the image's folder when it is a class name, else -1
   (unknown). *from says which: "--label", "folder" or NULL. */
static int resolve_truth(const Opts *o, const Model *md, const char *path, const char **from) {
    int K = eng_model_n_classes(md->m);
    *from = NULL;
    if (o->label) {
        *from = "--label";
        for (int k = 0; k < md->n_labels && k < K; k++) if (!strcmp(md->labels[k], o->label)) return k;
        char *end;
        long v = strtol(o->label, &end, 10);
        if (*o->label && !*end && v >= 0 && v < K) return (int)v;
        return -2;
    }
    if (!path) return -1;
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    const char *dir = basename(dirname(tmp));
    for (int k = 0; k < md->n_labels && k < K; k++)
        if (!strcmp(md->labels[k], dir)) { *from = "folder"; return k; }
    return -1;
}

static int resolve_target(const Opts *o, const Model *md, int truth, int pred, char *rule, size_t n) {
    int K = eng_model_n_classes(md->m);
    const char *t = o->target ? o->target : "pred";
    if (!strcmp(t, "pred")) { snprintf(rule, n, "pred"); return pred; }
    if (!strcmp(t, "label")) { snprintf(rule, n, "label"); return truth; }
    char *end;
    long v = strtol(t, &end, 10);
    snprintf(rule, n, "fixed");
    if (*t && !*end) return v >= 0 && v < K ? (int)v : -1;
    for (int k = 0; k < md->n_labels && k < K; k++) if (!strcmp(md->labels[k], t)) return k;   /* a class name */
    return -1;
}


static int parse_baseline(const Opts *o, AttribParams *P, float **file_data, const Model *md) {
    const char *b = o->baseline;
    if (!b) P->baseline = BASELINE_BLACK;
    else if (attrib_baseline_parse(b, &P->baseline)) {
        if (*file_data) { P->baseline = BASELINE_FILE; P->baseline_data = *file_data; return 0; }
        NpyArray a;
        char err[512];
        if (npy_read(b, &a, err, sizeof err)) return cli_error("--baseline: not one of " ATTRIB_BASELINE_NAMES " and %s", err);
        size_t want = (size_t)eng_model_in_channels(md->m) * md->size * md->size;
        if (a.numel != want) { npy_free(&a); return cli_error("--baseline %s: %zu values, the input has %zu", b, a.numel, want); }
        *file_data = npy_to_f32(&a);
        npy_free(&a);
        P->baseline = BASELINE_FILE;
        P->baseline_data = *file_data;
    }
    return 0;
}

/* ---- one image ---- */
typedef struct {
    const Opts *o;
    Model *md;
    const AttribMethod **methods;
    int n_methods;
    PassTime pt;
    float *baseline_file;
} Run;

/* What the targets of one image share (--target a,b,c): the prediction, and
   the results of the methods with run_targets, computed once for all. */
typedef struct {
    int n;                /* targets */
    int pred;
    float *logits, *prob; /* (classes) */
    AttribResult *res;    /* [method * n + target]; map NULL: the method runs per target */
} Shared;

/* The parameters every method of an explanation starts from. */
static void image_params(AttribParams *P, Model *md, const float *x) {
    attrib_params_default(P);
    P->model = md->m; P->x = x; P->C = eng_model_in_channels(md->m); P->H = P->W = md->size;
    P->mean = md->mean; P->std = md->std; P->sigmoid = md->sigmoid;
}

/* The lesion mask <image>.mask.png next to an image file, resized to S x S,
   for the figures' outline; NULL when there is none (or it cannot be read:
   then a note on stderr, and the figures go without it). */
static uint8_t *load_lesion(const Item *it, int S, char *path, size_t n) {
    if (it->index >= 0 || !dataset_mask_path(it->path, path, n)) { path[0] = 0; return NULL; }
    uint8_t *mask = malloc((size_t)S * S);
    char err[600];
    int count = mask ? localize_load_mask(path, S, S, mask, err, sizeof err) : -1;
    if (count <= 0) {
        fprintf(stderr, "salient: %s: lesion mask not drawn: %s\n", it->name, count < 0 ? (mask ? err : "out of memory") : "it is empty");
        free(mask);
        path[0] = 0;
        return NULL;
    }
    return mask;
}

/* One target of the image: sh (NULL for a run of one target) holds what
   the targets share, t is this one's index in it. */
static int explain_one(Run *run, const Item *it, const float *x, Shared *sh, int t) {
    const Opts *o = run->o;
    Model *md = run->md;
    EngModel *m = md->m;
    int C = eng_model_in_channels(m), S = md->size, K = eng_model_n_classes(m);
    size_t plane = (size_t)S * S;
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s/%s", o->outdir, it->name);
    if (mkdir_p(dir)) return cli_error("cannot create %s: %s", dir, strerror(errno));
    /* prediction */
    AttribParams P;
    image_params(&P, md, x);
    float *logits = malloc(sizeof(float) * K), *prob = malloc(sizeof(float) * K);
    int pred = !logits || !prob ? -1 : !sh ? attrib_predict(&P, x, logits, prob) : sh->pred;
    if (sh && logits && prob) { memcpy(logits, sh->logits, sizeof(float) * K); memcpy(prob, sh->prob, sizeof(float) * K); }
    if (pred < 0) { free(logits); free(prob); return cli_error("%s", eng_last_error()); }
    const char *truth_from;
    int truth = resolve_truth(o, md, it->index < 0 ? it->path : NULL, &truth_from);
    if (truth == -2) {
        free(logits); free(prob); attrib_params_release(&P);
        return cli_error("--label %s: neither a class name of the model nor a class index < %d", o->label, K);
    }
    char rule[16];
    int target = resolve_target(o, md, truth, pred, rule, sizeof rule);
    if (target < 0) {
        free(logits); free(prob); attrib_params_release(&P);
        return cli_error("%s: cannot resolve --target %s (give --label NAME, or a class index < %d)", it->name,
                         o->target ? o->target : "pred", K);
    }
    P.target = target;
    opts_to_attrib_params(o, &P);
    if (parse_baseline(o, &P, &run->baseline_file, md)) { free(logits); free(prob); return 1; }
    P.narrate = o->verbose ? stderr : NULL;
    ProgressBar pb;
    pbar_start(&pb, "", 0);
    P.progress = pbar_attrib_progress;
    P.progress_ctx = &pb;
    /* the input as a person sees it: undo the normalisation */
    float *input01 = malloc(sizeof(float) * C * plane);
    for (int c = 0; c < C; c++)
        for (size_t i = 0; i < plane; i++) input01[c * plane + i] = x[c * plane + i] * md->std[c] + md->mean[c];
    float **maps = calloc(run->n_methods, sizeof(float *));
    AttribResult *res = calloc(run->n_methods, sizeof(AttribResult));
    int *ok = calloc(run->n_methods, sizeof(int)), failed = 0;
    const char *layer = o->layer ? o->layer : attrib_default_layer(m);
    char b[32], pred_b[32], truth_b[32], target_b[32], settings[600];
    method_settings_line(settings, sizeof settings, run->methods, run->n_methods, o, attrib_default_layer(m));
    FigureInfo fig = {pred, model_label(md, pred, pred_b, sizeof pred_b), prob[pred], truth,
                      truth >= 0 ? model_label(md, truth, truth_b, sizeof truth_b) : NULL, target,
                      model_label(md, target, target_b, sizeof target_b), settings, NULL};
    int correct = figure_correct(&fig);
    char mask_path[1200] = "";
    uint8_t *lesion = load_lesion(it, S, mask_path, sizeof mask_path);
    fig.lesion = lesion;
    if (o->verbose)
        fprintf(stderr, "%s: predicted %s (p=%.4f, logit %.4f)%s%s%s; explaining %s (logit %.4f)\n", it->name,
                fig.pred_name, prob[pred], logits[pred], truth >= 0 ? "; true label " : "",
                truth >= 0 ? fig.truth_name : "", correct == 0 ? " (WRONG)" : "", fig.target_name, logits[target]);
    for (int k = 0; k < run->n_methods; k++) {
        const AttribMethod *am = run->methods[k];
        pb.what = am->name;
        char phase[400];
        snprintf(phase, sizeof phase, "explain %s %s", it->name, am->name);
        trace_phase(phase);
        AttribResult *done = sh ? &sh->res[k * sh->n + t] : NULL;
        int rc = 0;
        if (done && done->map) { /* from the passes shared with the other targets */
            res[k] = *done;
            memset(done, 0, sizeof *done);
        } else {
            double t0 = attrib_now();
            method_prepare(&P, o, am);
            rc = am->run(&P, &res[k]);
            res[k].seconds = attrib_now() - t0;
        }
        if (rc) { cli_error("%s: %s failed: %s", it->name, am->name, eng_last_error()); failed++; continue; }
        ok[k] = 1;
        maps[k] = res[k].map;
        trace_method(it->name, am->name, res[k].forward, res[k].backward, res[k].seconds, res[k].map, plane);
        int64_t shp2[2] = {S, S}, shp3[3] = {C, S, S};
        char err[512];
        snprintf(path, sizeof path, "%s/%s.npy", dir, am->name);
        if (npy_write_f32(path, res[k].map, 2, shp2, err, sizeof err)) { cli_error("%s", err); failed++; }
        else manifest_add_output(path);
        if (res[k].attr) {
            snprintf(path, sizeof path, "%s/%s.attr.npy", dir, am->name);
            if (npy_write_f32(path, res[k].attr, 3, shp3, err, sizeof err)) { cli_error("%s", err); failed++; }
            else manifest_add_output(path);
        }
        if (!o->no_png) {
            snprintf(path, sizeof path, "%s/%s.png", dir, am->name);
            char own[600];   /* this method's settings only */
            method_settings_line(own, sizeof own, &run->methods[k], 1, o, attrib_default_layer(m));
            FigureInfo fm = fig;
            fm.settings = own;
            if (figure_map_png(path, &fm, input01, C, S, res[k].map, am->name, am->family == FAMILY_GRADIENT)) {
                cli_error("cannot write %s", path);
                failed++;
            } else manifest_add_output(path);
        }
        if (o->verbose)
            fprintf(stderr, "  %-14s %8.3f s   %6ld fwd %6ld bwd images in %ld batches; expected %.3f s "
                            "(%d image per pass: fwd %.1f ms, fwd+bwd %.1f ms)%s%s\n",
                    am->name, res[k].seconds, res[k].forward, res[k].backward, res[k].batches,
                    expected_seconds(&res[k], &run->pt), run->pt.batch, run->pt.fwd_s * 1e3, run->pt.fb_s * 1e3,
                    res[k].notes[0] ? "  " : "", res[k].notes);
    }
    if (!o->no_png) {
        snprintf(path, sizeof path, "%s/grid.png", dir);
        if (figure_grid_methods_png(path, &fig, input01, C, S, maps, run->methods, run->n_methods, 6)) {
            cli_error("cannot write %s", path);
            failed++;
        } else manifest_add_output(path);
    }
    /* explain.json */
    snprintf(path, sizeof path, "%s/explain.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) { failed++; cli_error("cannot write %s", path); }
    else {
        JsonWriter w;
        jw_init(&w, f, 1);
        jw_object_begin(&w);
        jw_kv_string(&w, "salient_version", SALIENT_VERSION);
        jw_key(&w, "model"); jw_object_begin(&w);
        jw_kv_string(&w, "path", md->path); jw_kv_string(&w, "arch", eng_model_arch(m));
        jw_kv_string(&w, "sha256", md->info.sha256);
        jw_kv_string(&w, "head", md->sigmoid ? "sigmoid" : "softmax"); jw_object_end(&w);
        char hex[65] = "";
        jw_key(&w, "image"); jw_object_begin(&w);
        jw_kv_string(&w, "path", it->path);
        if (it->index >= 0) jw_kv_int(&w, "npy_index", it->index);
        if (!sha256_file(it->path, hex)) jw_kv_string(&w, "sha256", hex);
        if (it->load) load_info_json(&w, it->load);
        jw_object_end(&w);
        jw_key(&w, "input"); jw_object_begin(&w);
        jw_kv_int(&w, "size", S); jw_kv_int(&w, "channels", C);
        jw_key(&w, "mean"); jw_array_begin(&w); for (int c = 0; c < C; c++) jw_number(&w, md->mean[c]); jw_array_end(&w);
        jw_key(&w, "std"); jw_array_begin(&w); for (int c = 0; c < C; c++) jw_number(&w, md->std[c]); jw_array_end(&w);
        jw_kv_string(&w, "preprocessed", it->index >= 0 ? "as given (--input-npy)" : "bilinear antialiased resize, [0,1], normalised");
        jw_object_end(&w);
        jw_key(&w, "prediction"); jw_object_begin(&w);
        jw_kv_int(&w, "class", pred); jw_kv_string(&w, "label", model_label(md, pred, b, sizeof b));
        jw_kv_number(&w, "prob", prob[pred]);
        jw_kv_bool(&w, "shared_forward", sh != NULL);
        jw_key(&w, "probs"); jw_array_begin(&w); for (int c = 0; c < K; c++) jw_number(&w, prob[c]); jw_array_end(&w);
        jw_key(&w, "logits"); jw_array_begin(&w); for (int c = 0; c < K; c++) jw_number(&w, logits[c]); jw_array_end(&w);
        jw_object_end(&w);
        jw_key(&w, "target"); jw_object_begin(&w);
        jw_kv_int(&w, "class", target); jw_kv_string(&w, "label", model_label(md, target, b, sizeof b));
        jw_kv_string(&w, "rule", rule); jw_object_end(&w);
        jw_kv_string(&w, "true_label", truth >= 0 ? model_label(md, truth, b, sizeof b) : NULL);
        jw_key(&w, "true_class"); if (truth >= 0) jw_int(&w, truth); else jw_null(&w);
        jw_kv_string(&w, "true_label_from", truth_from);
        jw_key(&w, "correct"); if (correct >= 0) jw_bool(&w, correct); else jw_null(&w);
        jw_kv_string(&w, "lesion_mask", mask_path[0] ? mask_path : NULL);
        char title[1400];
        figure_title(&fig, title, sizeof title);
        jw_kv_string(&w, "figure_title", title);
        jw_kv_string(&w, "figure_settings", settings);
        jw_kv_int(&w, "seed", (long long)o->seed);
        jw_kv_string(&w, "rng", "xoshiro256** seeded by SplitMix64 (engine/rng.h)");
        jw_kv_int(&w, "threads", eng_get_threads());
        jw_key(&w, "pass_time"); jw_object_begin(&w);
        jw_kv_int(&w, "batch", run->pt.batch); jw_kv_number(&w, "forward_ms", run->pt.fwd_s * 1e3);
        jw_kv_number(&w, "forward_backward_ms", run->pt.fb_s * 1e3); jw_object_end(&w);
        jw_key(&w, "methods"); jw_array_begin(&w);
        for (int k = 0; k < run->n_methods; k++) {
            const AttribMethod *am = run->methods[k];
            jw_object_begin(&w);
            jw_kv_string(&w, "name", am->name);
            jw_kv_bool(&w, "ok", ok[k]);
            jw_key(&w, "params"); jw_object_begin(&w);
            method_params_json(&w, am->name, o, layer);
            jw_kv_int(&w, "batch", o->batch);
            jw_object_end(&w);
            jw_kv_int(&w, "forward_images", res[k].forward);
            jw_kv_int(&w, "backward_images", res[k].backward);
            jw_kv_int(&w, "batches", res[k].batches);
            jw_kv_bool(&w, "shared_forward", res[k].shared_forward);
            jw_kv_number(&w, "seconds", res[k].seconds);
            jw_kv_number(&w, "expected_seconds", expected_seconds(&res[k], &run->pt));
            jw_kv_string(&w, "notes", res[k].notes);
            jw_object_end(&w);
        }
        jw_array_end(&w);
        jw_object_end(&w);
        fprintf(f, "\n");
        if (fclose(f)) { failed++; cli_error("cannot write %s", path); }
        else manifest_add_output(path);
    }
    for (int k = 0; k < run->n_methods; k++) attrib_result_free(&res[k]);
    free(res); free(maps); free(ok); free(input01); free(logits); free(prob); free(lesion);
    attrib_params_release(&P);
    if (!failed) printf("%s\n", dir);
    return failed ? 1 : 0;
}

/* Output folders are named after the image files: two inputs with the same
   name would overwrite each other's maps, so they are refused up front. */
static int check_distinct_names(const Opts *o) {
    char a[200], b[200];
    for (int i = 0; i < o->n_pos; i++) {
        stem_of(o->pos[i], a, sizeof a);
        for (int j = 0; j < i; j++) {
            stem_of(o->pos[j], b, sizeof b);
            if (!strcmp(a, b))
                return cli_error("explain: %s and %s would both write to %s/%s/; explain them into different -o "
                                 "folders, or rename one", o->pos[j], o->pos[i], o->outdir, a);
        }
    }
    return 0;
}

#define MAX_TARGETS 64

static void shared_free(Shared *sh, int n_methods) {
    for (int i = 0; sh->res && i < n_methods * sh->n; i++) attrib_result_free(&sh->res[i]);
    free(sh->res); free(sh->logits); free(sh->prob);
    memset(sh, 0, sizeof *sh);
}

/* The class of each target name (-1 if it does not resolve: its own run
   reports it) under the shared prediction. */
static void shared_classes(const Run *run, const Item *it, const Shared *sh, char **names, int *cls) {
    const char *from;
    int truth = resolve_truth(run->o, run->md, it->index < 0 ? it->path : NULL, &from);
    for (int t = 0; t < sh->n; t++) {
        Opts one = *run->o;
        one.target = names[t];
        char rule[16];
        cls[t] = truth == -2 ? -1 : resolve_target(&one, run->md, truth, sh->pred, rule, sizeof rule);
    }
}

/* The prediction once, then every method with run_targets once for all the
   targets that resolve. Returns 0, or -1 when the prediction failed (the
   targets then run one by one, and report it). A method that fails here
   is run again per target, which reports the error. */
static int shared_passes(Run *run, const Item *it, const float *x, char **names, int n, Shared *sh) {
    const Opts *o = run->o;
    Model *md = run->md;
    int K = eng_model_n_classes(md->m);
    memset(sh, 0, sizeof *sh);
    sh->n = n;
    sh->logits = malloc(sizeof(float) * K);
    sh->prob = malloc(sizeof(float) * K);
    sh->res = calloc((size_t)run->n_methods * n, sizeof(AttribResult));
    AttribParams P;
    image_params(&P, md, x);
    sh->pred = sh->logits && sh->prob && sh->res ? attrib_predict(&P, x, sh->logits, sh->prob) : -1;
    if (sh->pred < 0) { attrib_params_release(&P); return -1; }
    int cls[MAX_TARGETS], slot[MAX_TARGETS], targets[MAX_TARGETS], nv = 0;
    shared_classes(run, it, sh, names, cls);
    for (int t = 0; t < n; t++) if (cls[t] >= 0) { slot[nv] = t; targets[nv++] = cls[t]; }
    opts_to_attrib_params(o, &P);
    P.narrate = o->verbose ? stderr : NULL;
    AttribResult got[MAX_TARGETS];
    for (int k = 0; k < run->n_methods && nv > 0; k++) {
        const AttribMethod *am = run->methods[k];
        if (!am->run_targets) continue;
        char phase[400];
        snprintf(phase, sizeof phase, "explain %s %s, %d targets, shared forward", it->name, am->name, nv);
        trace_phase(phase);
        method_prepare(&P, o, am);
        P.target = targets[0];
        memset(got, 0, sizeof got);
        if (am->run_targets(&P, got, targets, nv)) {
            for (int v = 0; v < nv; v++) attrib_result_free(&got[v]);
            continue;
        }
        for (int v = 0; v < nv; v++) sh->res[k * n + slot[v]] = got[v];
    }
    attrib_params_release(&P);
    return 0;
}

/* One image under every target of --target a,b,c: the outputs of target t
   go to <image>/<t>/, each a complete explanation; the prediction and the
   passes of the methods with run_targets are shared (shared_passes). */
static int explain_targets(Run *run, const Item *it, const float *x) {
    const Opts *o = run->o;
    if (!o->target || !strchr(o->target, ',')) return explain_one(run, it, x, NULL, 0) != 0;
    char list[512], *names[MAX_TARGETS];
    snprintf(list, sizeof list, "%s", o->target);
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == MAX_TARGETS) return cli_error("--target: at most %d targets", MAX_TARGETS);
        names[n++] = t;
    }
    Shared sh;
    int have_shared = shared_passes(run, it, x, names, n, &sh) == 0, failed = 0;
    Opts one = *o;
    for (int t = 0; t < n; t++) {
        Item sub = *it;
        snprintf(sub.name, sizeof sub.name, "%.120s/%.120s", it->name, names[t]);
        one.target = names[t];
        run->o = &one;
        failed += explain_one(run, &sub, x, have_shared ? &sh : NULL, t) != 0;
        run->o = o;
    }
    shared_free(&sh, run->n_methods);
    return failed;
}

int cmd_explain(const Opts *o_in) {
    Opts sized = *o_in;
    const Opts *o = &sized;
    if (!o->n_pos && !o->input_npy) return cli_error("explain: give images or --input-npy X.npy");
    if (check_distinct_names(o) || opts_size_from_npy(&sized)) return 1;
    Run run = {0};
    run.o = o;
    if (methods_parse(o->methods, "all", 0, &run.methods, &run.n_methods)) return 1;
    Model md;
    if (model_open(&md, o)) { free(run.methods); return 1; }
    run.md = &md;
    eng_set_threads(o->threads);
    eng_set_reference(o->reference);
    int C = eng_model_in_channels(md.m), S = md.size, failed = 0, tried = 0;
    /* One image per pass: cheap enough to run before every explain (a batch
       of 16 at 224 cost ~8 s), and this engine's cost per image hardly
       depends on the batch (resnet50 at 224: forward 67 ms at batch 1, 65 ms
       per image at 16), so passes x this time stays a fair expectation. */
    measure_pass_time(md.m, C, S, 1, &run.pt);
    if (trace_open(o)) { free(run.methods); model_close(&md); return 1; }
    manifest_add_input(md.path);
    if (o->input_npy) manifest_add_input(o->input_npy);
    if (o->baseline && access(o->baseline, R_OK) == 0) manifest_add_input(o->baseline);
    size_t per = (size_t)C * S * S;
    float *x = malloc(sizeof(float) * per);
    if (o->input_npy) {
        int n, h, w;
        float *xs = load_input_npy(o->input_npy, &md, &n, &h, &w);
        if (!xs) failed = 1;
        else if (h != S || w != S) failed = cli_error("%s: inputs are %dx%d, the model's input size is %d (--size %d; "
                                                      "inputs must be square)", o->input_npy, h, w, S, S);
        else
            for (int i = 0; i < n; i++) {
                Item it = {"", o->input_npy, i, NULL};
                char stem[200];
                stem_of(o->input_npy, stem, sizeof stem);
                if (n == 1) snprintf(it.name, sizeof it.name, "%s", stem);
                else snprintf(it.name, sizeof it.name, "%s_%d", stem, i);
                failed += explain_targets(&run, &it, xs + per * i) != 0;
                tried++;
            }
        free(xs);
    }
    for (int i = 0; i < o->n_pos; i++) {
        ImageLoadInfo li;
        memset(&li, 0, sizeof li);
        Item it = {"", o->pos[i], -1, &li};
        stem_of(o->pos[i], it.name, sizeof it.name);
        manifest_add_input(o->pos[i]);
        char err[512];
        tried++;
        if (model_preprocess(&md, o, o->pos[i], x, &li, err, sizeof err)) {
            cli_error("skipping %s", err);
            failed++;
            continue;
        }
        failed += explain_targets(&run, &it, x) != 0;
    }
    free(x);
    free(run.baseline_file);
    free(run.methods);
    trace_close();
    char mpath[1100];
    snprintf(mpath, sizeof mpath, "%s/manifest.json", o->outdir);
    /* a run that explained nothing leaves no folder behind to hold a manifest */
    if (tried > failed && manifest_write(mpath)) failed++;
    model_close(&md);
    if (failed && tried > 1) cli_error("%d of %d images failed", failed, tried);
    return failed || !tried ? 1 : 0;
}
