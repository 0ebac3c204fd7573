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
   "shared_forward" in "prediction" and in each method.

   --map-cache DIR also stores every map computed here in DIR under the key
   of its computation (eval/mapcache.h), so that `evaluate --map-cache DIR`
   on the same images reads the maps instead of computing them again.
   explain itself always computes: its outputs need more than the map. */
#include "attrib/attrib.h"
#include "cli/audit.h"
#include "cli/cli.h"
#include "io/dataset.h"
#include "cli/common.h"
#include "eval/explain.h"
#include "eval/localize.h"
#include "eval/mapcache.h"
#include "eval/render.h"
#include "io/image.h"
#include "io/npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- inputs ---- */
typedef struct {
    char name[256];      /* output folder name */
    const char *path;    /* image file, or the .npy */
    int index;           /* item of the .npy */
    const ImageLoadInfo *load;   /* how the file was decoded (NULL for .npy items) */
} Item;

/* The true class of an item (explain_truth): -2 when --label is neither a class name nor an index. */
static int resolve_truth(const Opts *o, const Model *md, const Item *it, const char **from) {
    return explain_truth(o->label, it->index < 0 ? it->path : NULL, md->labels, md->n_labels,
                         eng_model_n_classes(md->m), from);
}

static int parse_baseline(const Opts *o, AttribParams *P, float **file_data, const Model *md) {
    const char *b = o->baseline;
    if (!b) P->baseline = BASELINE_BLACK;
    else if (attrib_baseline_parse(b, &P->baseline)) {
        char err[1200];
        size_t numel = (size_t)eng_model_in_channels(md->m) * md->size * md->size;
        int rc = *file_data ? 0 : explain_baseline_read(b, numel, file_data, err, sizeof err);
        if (rc == -1) return cli_error("--baseline: not one of " ATTRIB_BASELINE_NAMES " and %s", err);
        if (rc) return cli_error("--baseline %s", err);
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
    BenchPassTime pt;
    float *baseline_file;
} Run;

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
    uint8_t *mask = NULL;
    char err[600];
    int count = it->index >= 0 ? (path[0] = 0) : localize_lesion_beside(it->path, S, S, &mask, path, n, err, sizeof err);
    if (count <= 0 && path[0]) {
        fprintf(stderr, "salient: %s: lesion mask not drawn: %s\n", it->name, count < 0 ? err : "it is empty");
        path[0] = 0;
    }
    return mask;
}

/* --map-cache DIR: the map under the key of its computation (eval/mapcache.h),
   for evaluate and study to read instead of computing it again. */
static void store_map(const char *dir, const char *image, const AttribMethod *am, const AttribParams *P,
                      const float *logits, int K, const AttribResult *R) {
    char key[MAPCACHE_KEY_MAX];
    if (mapcache_key(am, P, logits, K, key, sizeof key) == 0)   /* -1: not cacheable (a baseline from a file) */
        mapcache_keep(dir, image, key, P->H, P->W, R);
}

/* One target of the image: sh (NULL for a run of one target) holds what
   the targets share, t is this one's index in it. */
static int explain_one(Run *run, const Item *it, const float *x, ExplainShared *sh, int t) {
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
    int truth = resolve_truth(o, md, it, &truth_from);
    if (truth == -2) {
        free(logits); free(prob); attrib_params_release(&P);
        return cli_error("--label %s: neither a class name of the model nor a class index < %d", o->label, K);
    }
    char rule[16];
    int target = explain_target(o->target, truth, pred, md->labels, md->n_labels, K, rule, sizeof rule);
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
    float *input01 = figure_input01(x, C, S, md->mean, md->std);
    float **maps = calloc(run->n_methods, sizeof(float *));
    AttribResult *res = calloc(run->n_methods, sizeof(AttribResult));
    int *ok = calloc(run->n_methods, sizeof(int)), failed = 0;
    const char *layer = o->layer ? o->layer : attrib_default_layer(m);
    char pred_b[32], truth_b[32], target_b[32], settings[600];
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
        int rc = 0, computed = !(done && done->map);
        if (!computed) { /* from the passes shared with the other targets */
            res[k] = *done;
            memset(done, 0, sizeof *done);
        } else {
            double t0 = attrib_now();
            method_prepare(&P, o, am);
            rc = am->run(&P, &res[k]);
            res[k].seconds = attrib_now() - t0;
        }
        if (rc) { cli_error("%s: %s failed: %s", it->name, am->name, eng_last_error()); failed++; continue; }
        if (o->map_cache && computed) store_map(o->map_cache, it->path, am, &P, logits, K, &res[k]);
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
            if (figure_map(path, &fm, input01, C, S, res[k].map, am->name, am->family == FAMILY_GRADIENT)) {
                cli_error("cannot write %s", path);
                failed++;
            } else manifest_add_output(path);
        }
        if (o->verbose)
            fprintf(stderr, "  %-14s %8.3f s   %6ld fwd %6ld bwd images in %ld batches; expected %.3f s "
                            "(%d image per pass: fwd %.1f ms, fwd+bwd %.1f ms)%s%s\n",
                    am->name, res[k].seconds, res[k].forward, res[k].backward, res[k].batches,
                    bench_expected_seconds(res[k].forward, res[k].backward, &run->pt), run->pt.batch, run->pt.fwd_s * 1e3, run->pt.fb_s * 1e3,
                    res[k].notes[0] ? "  " : "", res[k].notes);
    }
    if (!o->no_png) {
        snprintf(path, sizeof path, "%s/grid.png", dir);
        if (figure_grid_methods(path, &fig, input01, C, S, maps, run->methods, run->n_methods, 6)) {
            cli_error("cannot write %s", path);
            failed++;
        } else manifest_add_output(path);
    }
    /* explain.json */
    snprintf(path, sizeof path, "%s/explain.json", dir);
    ExplainRecord rec = {SALIENT_VERSION, md->path, eng_model_arch(m), md->info.sha256, md->sigmoid, it->path,
                         it->index, it->load, C, S, K, md->mean, md->std, logits, prob, sh != NULL, &fig, rule,
                         truth_from, mask_path[0] ? mask_path : NULL, o->seed, eng_get_threads(), run->pt,
                         run->methods, run->n_methods, ok, res, method_settings_of(o), layer, o->batch,
                         md->info.intensity_percentile};
    char err[1400];
    if (explain_json_write(path, &rec, err, sizeof err)) { failed++; cli_error("%s", err); }
    else manifest_add_output(path);
    for (int k = 0; k < run->n_methods; k++) attrib_result_free(&res[k]);
    free(res); free(maps); free(ok); free(input01); free(logits); free(prob); free(lesion);
    attrib_params_release(&P);
    if (!failed) printf("%s\n", dir);
    return failed ? 1 : 0;
}

/* Output folders are named after the image files: two inputs with the same
   name would overwrite each other's maps, so they are refused up front. */
static int check_distinct_names(const Opts *o) {
    int i, j = explain_same_stem(o->pos, o->n_pos, &i);
    if (j < 0) return 0;
    char a[200];
    io_path_stem(o->pos[j], a, sizeof a);
    return cli_error("explain: %s and %s would both write to %s/%s/; explain them into different -o "
                     "folders, or rename one", o->pos[i], o->pos[j], o->outdir, a);
}

#define MAX_TARGETS 64

static void shared_phase(void *ctx, const AttribMethod *am, int n) {
    char phase[400];
    snprintf(phase, sizeof phase, "explain %s %s, %d targets, shared forward", (const char *)ctx, am->name, n);
    trace_phase(phase);
}

/* The prediction once, then every method with run_targets once for all the
   targets that resolve (eval/explain.h). Returns 0, or -1 when the
   prediction failed (the targets then run one by one, and report it). */
static int shared_passes(Run *run, const Item *it, const float *x, char **names, int n, ExplainShared *sh) {
    const Opts *o = run->o;
    Model *md = run->md;
    AttribParams P;
    image_params(&P, md, x);
    opts_to_attrib_params(o, &P);
    P.narrate = o->verbose ? stderr : NULL;
    int rc = explain_shared_predict(sh, &P, run->n_methods, n);
    if (!rc) {
        const char *from;
        int truth = resolve_truth(o, md, it, &from), cls[MAX_TARGETS];
        for (int t = 0; t < n; t++) {
            char rule[16];
            cls[t] = truth == -2 ? -1 : explain_target(names[t], truth, sh->pred, md->labels, md->n_labels,
                                                       eng_model_n_classes(md->m), rule, sizeof rule);
        }
        explain_shared_run(sh, &P, run->methods, run->n_methods, method_settings_of(o), cls, shared_phase, (void *)it->name);
    }
    attrib_params_release(&P);
    return rc;
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
    ExplainShared sh;
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
    explain_shared_free(&sh, run->n_methods);
    return failed;
}

int cmd_explain(const Opts *o_in) {
    Opts sized = *o_in;
    const Opts *o = &sized;
    if (!o->n_pos && !o->input_npy) return cli_error("explain: give images or --input-npy X.npy");
    if (check_distinct_names(o) || opts_size_from_npy(&sized)) return 1;
    if (o->map_cache && mkdir_p(o->map_cache))
        return cli_error("--map-cache %s: cannot create the folder: %s", o->map_cache, strerror(errno));
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
    bench_pass_time(md.m, C, S, 1, &run.pt);
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
                io_path_stem(o->input_npy, stem, sizeof stem);
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
        io_path_stem(o->pos[i], it.name, sizeof it.name);
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
