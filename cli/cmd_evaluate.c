/* cmd_evaluate.c - `salient evaluate` scores saliency methods on a data set
   and `salient merge` joins the outputs of shards. Both end in the same
   function, summarise_outdir: read OUTDIR/results.csv and
   OUTDIR/curves_images.csv back, compute the statistics (eval/summary.h)
   and write summary.json, curves.csv, report.html and aic_sic.png.

   Per image (in data-set order, the shard's share, up to --limit):
     1. read and preprocess; an unreadable image gets a row per method with
        skipped = "unreadable: <reason>" and the run goes on;
     2. predict (softmax of the logits); the explained class is the
        predicted one, so PIC measures the model's original prediction;
     3. a random mask of 1% of the pixels (pic_random_mask) seeded by
        eng_rng_split(eng_rng_split(seed, index), 0), where index is the
        image's position in the whole listing: the same mask in every shard
        and shared by every method of the image; methods draw from
        eng_rng_split(eng_rng_split(seed, index), 1);
     4. per method not already in results.csv: the map, SIC and AIC
        (eval/pic.h, on the input as uint8, pic_input_to_u8), insertion
        and deletion AUCs (eval/insdel.h), the mass outside the head/body
        (eval/localize.h; the foreground is found once per image, from the
        input brought back to [0,1]), pointing game and energy when a mask
        <image>.mask.png exists, the seconds of all that; the row and the
        raw PIC values are appended and flushed.
   The insertion substrate is RISE's blur and the deletion substrate RISE's
   zero (the dataset mean) unless --substrate blur|black sets both;
   --insdel-steps N changes RISE's step (the image width, so H+1 forward
   passes per curve) to ceil(H*W/N) pixels; --no-insdel skips both.
   --no-pic skips SIC and AIC (their cells stay empty), for runs that only
   measure localisation. --maps scored computes no map for an image whose
   SIC and AIC PIC's skip rules both skip (they never depend on the map,
   score_image_unscored): its rows carry the rules in skipped and leave
   every metric and the seconds empty, and the gallery takes the next
   image. For runs that measure PIC alone (a study), where most of the time
   would go into maps that nothing scores. */
#include "attrib/attrib.h"
#include "cli/audit.h"
#include "cli/cli.h"
#include "io/dataset.h"
#include "cli/common.h"
#include "eval/render.h"
#include "eval/report.h"
#include "eval/info.h"
#include "eval/insdel.h"
#include "eval/localize.h"
#include "eval/merge.h"
#include "eval/pic.h"
#include "eval/results.h"
#include "eval/score.h"
#include "eval/summary.h"
#include "io/file.h"
#include "io/image.h"
#include "io/json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EVAL_DEFAULT_METHODS "guidedig,ig,sg-ig,xrai,gradcam,gradcampp,scorecam,random"
#define GALLERY_IMAGES 6

/* ---------------- settings ---------------- */
typedef struct {
    const Opts *o;
    Model *md;
    const AttribMethod **methods;
    int n_methods;
    ScoreSettings sc;        /* the protocol's settings (eval/score.h); sc.pic 0 with --no-pic */
    int shard_i, shard_n;
    const char *layer;
    char outdir[2048];
    char *const *classes;   /* the data set's class names by index (NULL entries where unknown) */
    int n_classes;
    char settings[600];     /* the gallery's settings line (method_settings_line) */
} Eval;

/* A class's name: the model's label, else the data set's, else its index. */
static const char *class_name(const Eval *E, int k, char *buf, size_t n) {
    if (k < E->md->n_labels || k >= E->n_classes || !E->classes || !E->classes[k]) return model_label(E->md, k, buf, n);
    return E->classes[k];
}

static void path_in(char *out, size_t n, const char *dir, const char *file) { snprintf(out, n, "%s/%s", dir, file); }

static int file_exists(const char *p) { struct stat st; return !stat(p, &st) && S_ISREG(st.st_mode) && st.st_size > 0; }

/* run.json: everything that fixes the numbers of a run (eval/merge.h). */
static int write_run_json(const Eval *E, const Dataset *d, int n_listed, const char *path) {
    const Opts *o = E->o;
    char shard[64], err[2400];
    snprintf(shard, sizeof shard, "%d/%d", E->shard_i, E->shard_n);
    EvalRunInfo r = {SALIENT_VERSION, E->md->path, eng_model_arch(E->md->m), E->md->info.sha256, E->md->sigmoid,
                     E->md->labels, E->md->n_labels, d->classes, d->n_classes, o->data,
                     d->from_csv ? "csv path,label" : "class folders", n_listed, o->limit, E->methods, E->n_methods,
                     method_settings_of(o), E->layer, &E->sc, o->seed, E->shard_n > 1 || o->shard ? shard : NULL};
    if (eval_run_write(path, &r, err, sizeof err)) return cli_error("%s", err);
    return 0;
}

/* ---------------- summary (shared by evaluate and merge) ---------------- */

/* images (NULL: every row) as eval_summarize_outdir takes them. */
static int summarise_outdir(const char *outdir, const JsonValue *run, const char *const *images, int n_images) {
    char err[600];
    EvalSummary s;
    int dropped;
    int rc = eval_summarize_outdir(&s, outdir, run, images, n_images, &dropped, err, sizeof err);
    if (dropped) fprintf(stderr, "salient: note: %d incomplete last record(s) dropped\n", dropped);
    if (rc) return cli_error("%s", err);
    int failed = report_write_outputs(&s, run, outdir, manifest_add_output, err, sizeof err) ? cli_error("%s", err) : 0;
    /* a short table on stdout */
    printf("%-14s %8s %8s %8s %8s %8s %6s  (means over images; n = SIC images)\n", "method", "SIC", "AIC", "ins", "del",
           "outside", "n");
    static const int cols[] = {EM_SIC, EM_AIC, EM_INSERTION, EM_DELETION, EM_OUTSIDE};
    for (int j = 0; j < s.n_methods; j++) {
        printf("%-14s", s.m[j].name);
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {   /* a metric that was not measured (--no-pic, --no-insdel, no image): "-" */
            const EvalStat *st = &s.m[j].stat[cols[c]];
            if (st->n > 0 && isfinite(st->mean)) printf(" %8.4f", st->mean);
            else printf(" %8s", "-");
        }
        printf(" %6d\n", s.m[j].stat[EM_SIC].n);
    }
    printf("accuracy %.4f on %d images; %d unreadable; report: %s/report.html\n", s.accuracy, s.n_labelled,
           s.n_unreadable, outdir);
    eval_summary_free(&s);
    return failed ? 1 : 0;
}

/* ---------------- gallery ---------------- */

/* The first images of a run with every method's map, under the band that
   names the true label (the data set's), the prediction and its
   probability; a wrong prediction gets WRONG in red and a red frame. */
static void write_gallery(const Eval *E, const DataItem *it, const float *x, float **maps, int pred, double prob,
                          const uint8_t *lesion) {
    int C = E->sc.C, S = E->sc.S;
    char dir[2300], name[300], path[2600], pb[32], tb[32];
    path_in(dir, sizeof dir, E->outdir, "gallery");
    float *in01 = figure_input01(x, C, S, E->md->mean, E->md->std);
    FigureInfo fig = {pred, class_name(E, pred, pb, sizeof pb), prob, it->label,
                      it->label >= 0 ? class_name(E, it->label, tb, sizeof tb) : NULL, pred,
                      class_name(E, pred, pb, sizeof pb), E->settings, lesion};
    figure_gallery_name(name, sizeof name, it->index, it->name);
    path_in(path, sizeof path, dir, name);
    if (in01 && !io_mkdir_p(dir) && !figure_grid_methods(path, &fig, in01, C, S, maps, E->methods, E->n_methods, 5))
        manifest_add_output(path);
    free(in01);
}

/* ---------------- one image ---------------- */

typedef struct {
    FILE *fres, *fcur;
    EvalRows *done;
    ProgressBar *pb;
    int gallery_left;
    int n_unreadable, n_failed_rows, n_rows;
} Sink;

static void emit(Sink *k, const EvalRow *r) {
    results_append(k->fres, k->fcur, r);
    k->n_rows++;
}

/* One method on a prepared image: the row, appended and flushed; the map
   kept for the gallery when keep_map is given. */
static void score_and_emit(Eval *E, Sink *k, AttribParams *P, const AttribMethod *am, ScoreImage *im,
                           const EvalRow *base, float **keep_map) {
    char phase[400], label[300], skipped[600];
    snprintf(phase, sizeof phase, "evaluate %s %s", base->image, am->name);
    trace_phase(phase);
    const char *b = strrchr(base->image, '/');
    snprintf(label, sizeof label, "%.24s %s", b ? b + 1 : base->image, am->name);
    pbar_show(k->pb, label);
    EvalRow r = *base;
    ScoreOut out;
    method_prepare(P, E->o, am);
    if (score_method(im, &E->sc, P, am, &r, skipped, sizeof skipped, &out) == 0)
        trace_method(base->image, am->name, out.forward, out.backward, out.method_seconds, out.map,
                     (size_t)E->sc.S * E->sc.S);
    if (strstr(skipped, "failed: ")) {
        k->n_failed_rows++;
        fprintf(stderr, "\nsalient: %s %s: %s\n", base->image, am->name, skipped);
    }
    emit(k, &r);
    if (keep_map) *keep_map = out.map;
    else free(out.map);
}

/* The lesion mask beside the image (<image>.mask.png) at the input size, or
   NULL. A mask file that exists is an input of the run even when it is empty
   or unreadable (as on --resume, evaluate_image). */
static uint8_t *load_lesion(const Eval *E, const DataItem *it) {
    char mpath[4200], err[600];
    uint8_t *mask;
    int cnt = localize_lesion_beside(it->path, E->sc.S, E->sc.S, &mask, mpath, sizeof mpath, err, sizeof err);
    if (mpath[0]) manifest_add_input(mpath);
    if (cnt < 0) fprintf(stderr, "\nsalient: %s: lesion mask ignored: %s\n", it->name, err);
    else if (cnt == 0 && mpath[0]) fprintf(stderr, "\nsalient: %s: lesion mask %s is empty: no localisation\n", it->name, mpath);
    return mask;
}

/* Rows for every method still to do, all with the same reason. */
static void emit_all(Eval *E, Sink *k, EvalRow *base, const char *reason, int failed) {
    base->skipped = (char *)reason;
    for (int j = 0; j < E->n_methods; j++) {
        if (results_find(k->done, base->image, E->methods[j]->name) >= 0) continue;
        base->method = (char *)E->methods[j]->name;
        emit(k, base);
        k->n_failed_rows += failed;
    }
}

/* Every method not yet in results.csv on a prepared image; the maps make a
   gallery figure while the gallery wants one. */
static void score_methods(Eval *E, Sink *k, AttribParams *P, const DataItem *it, const float *x, ScoreImage *im,
                          const EvalRow *base, const uint8_t *lesion) {
    float **maps = calloc(E->n_methods, sizeof(float *));
    int gallery = k->gallery_left > 0 && maps;
    for (int j = 0; j < E->n_methods; j++)
        if (results_find(k->done, it->name, E->methods[j]->name) < 0)
            score_and_emit(E, k, P, E->methods[j], im, base, gallery ? &maps[j] : NULL);
    if (gallery) { write_gallery(E, it, x, maps, im->pred, im->prob[im->pred], lesion); k->gallery_left--; }
    for (int j = 0; maps && j < E->n_methods; j++) free(maps[j]);
    free(maps);
}

/* Returns 1 if the image was computed, 0 if everything was already done. */
static int evaluate_image(Eval *E, Sink *k, AttribParams *P, const DataItem *it, float *x) {
    int need = 0;
    for (int j = 0; j < E->n_methods; j++) need += results_find(k->done, it->name, E->methods[j]->name) < 0;
    if (!need) {   /* done in an earlier run: still an input of the results this run writes */
        char mpath[4200];
        manifest_add_input(it->path);
        if (dataset_mask_path(it->path, mpath, sizeof mpath)) manifest_add_input(mpath);
        return 0;
    }
    EvalRow base = eval_row_empty();
    base.image = it->name;
    base.label = it->label;
    char err[600], reason[700];
    manifest_add_input(it->path);
    if (model_preprocess(E->md, E->o, it->path, x, NULL, err, sizeof err)) {
        snprintf(reason, sizeof reason, "unreadable: %s", err);
        fprintf(stderr, "\nsalient: skipping %s\n", err);
        emit_all(E, k, &base, reason, 0);
        k->n_unreadable++;
        return 1;
    }
    uint8_t *lesion = load_lesion(E, it);
    ScoreImage im;
    if (score_image_prepare(&im, &E->sc, P, x, E->o->seed, (uint64_t)it->index, lesion)) {
        snprintf(reason, sizeof reason, "failed: predict: %s", eng_last_error());
        emit_all(E, k, &base, reason, 1);
    } else {
        if (im.foreground_note[0]) fprintf(stderr, "\nsalient: %s: %s: outside_mass left empty\n", it->name, im.foreground_note);
        if (E->sc.pic && !im.pic_ready) fprintf(stderr, "\nsalient: %s: PIC not computed: %s\n", it->name, im.pic_error);
        base.predicted = im.pred;
        base.confidence = im.prob[im.pred];
        char unscored[200];
        if (E->sc.scored_maps_only && score_image_unscored(&im, &E->sc, P, unscored, sizeof unscored) == 1)
            emit_all(E, k, &base, unscored, 0);
        else
            score_methods(E, k, P, it, x, &im, &base, lesion);
    }
    score_image_free(&im);
    free(lesion);
    return 1;
}

/* ---------------- evaluate ---------------- */

static int parse_settings(Eval *E, const Opts *o) {
    memset(E, 0, sizeof *E);
    E->o = o;
    char err[600];
    if (eval_score_settings_parse(&E->sc, o->info, o->min_pred, o->substrate, o->target, !o->no_pic, !o->no_insdel,
                                  o->insdel_steps, err, sizeof err))
        return cli_error("--%s", err);
    E->shard_i = 0; E->shard_n = 1;
    if (o->shard && eval_shard_parse(o->shard, &E->shard_i, &E->shard_n))
        return cli_error("--shard %s: expected I/N with 0 <= I < N (e.g. 0/4)", o->shard);
    E->sc.map_cache = o->map_cache;
    if (o->maps && strcmp(o->maps, "all") && strcmp(o->maps, "scored"))
        return cli_error("--maps %s: expected all (every image, the default) or scored (the images PIC scores)", o->maps);
    E->sc.scored_maps_only = o->maps && !strcmp(o->maps, "scored");
    if (o->map_cache && io_mkdir_p(o->map_cache))
        return cli_error("--map-cache %s: cannot create the folder: %s", o->map_cache, strerror(errno));
    BaselineKind bk;
    if (o->baseline && attrib_baseline_parse(o->baseline, &bk))
        return cli_error("--baseline %s: evaluate takes " ATTRIB_BASELINE_NAMES, o->baseline);
    snprintf(E->outdir, sizeof E->outdir, "%s", o->outdir ? o->outdir : "salient-out");
    size_t L = strlen(E->outdir);
    while (L > 1 && E->outdir[L - 1] == '/') E->outdir[--L] = 0;
    return methods_parse(o->methods, EVAL_DEFAULT_METHODS, 1, &E->methods, &E->n_methods);
}

/* Opens results.csv / curves_images.csv for appending (headers on new files),
   after checking run.json against a previous run when resuming. */
static int open_outputs(Eval *E, const Dataset *d, int n_listed, Sink *k) {
    const Opts *o = E->o;
    char rp[2300], cp[2300], jp[2300], tmp[2400], err[600];
    path_in(rp, sizeof rp, E->outdir, "results.csv");
    path_in(cp, sizeof cp, E->outdir, "curves_images.csv");
    path_in(jp, sizeof jp, E->outdir, "run.json");
    int have = file_exists(rp);
    if (have && !o->resume)
        return cli_error("%s exists: add --resume to continue that run, or choose another -o", rp);
    snprintf(tmp, sizeof tmp, "%s.new", jp);
    if (write_run_json(E, d, n_listed, tmp)) return 1;
    if (have) {
        char note[1200];
        int bad = eval_resume(k->done, E->outdir, tmp, note, sizeof note, err, sizeof err);
        if (note[0]) fprintf(stderr, "salient: note: %s\n", note);
        if (bad) { remove(tmp); return cli_error("--resume: %s", err); }
        if (k->done->dropped_partial)
            fprintf(stderr, "salient: note: dropping %d incomplete record(s) left by an interrupted run\n", k->done->dropped_partial);
        if (k->done->legacy_files)
            fprintf(stderr, "salient: note: %s has no outside_mass column (an older salient): rewritten with the column, "
                            "empty for the rows already there\n", rp);
    }
    if (rename(tmp, jp)) return cli_error("cannot write %s: %s", jp, strerror(errno));
    manifest_add_output(jp);
    int append = have && file_exists(cp);
    k->fres = fopen(rp, have ? "a" : "w");
    k->fcur = fopen(cp, append ? "a" : "w");
    if (!k->fres || !k->fcur) return cli_error("cannot write %s: %s", rp, strerror(errno));
    if (!have) results_write_header(k->fres);
    if (!append) {
        curves_images_write_header(k->fcur);
        for (int i = 0; i < k->done->n; i++) curves_images_write_rows(k->fcur, &k->done->v[i]);
    }
    fflush(k->fres); fflush(k->fcur);
    return 0;
}

/* The summary of this call's images only: the folder may hold rows of
   others (left by an interrupted later study round), which stay in
   results.csv for the call that owns them. */
static int summarise_run(const Eval *E, const Dataset *d, const int *take, int n_mine, const JsonValue *run) {
    const char **names = malloc(sizeof *names * (size_t)(n_mine + 1));
    if (!names) return cli_error("out of memory");
    for (int q = 0; q < n_mine; q++) names[q] = d->v[take[q]].name;
    int rc = summarise_outdir(E->outdir, run, names, n_mine);
    free(names);
    return rc;
}

int cmd_evaluate(const Opts *o) {
    Eval E;
    if (parse_settings(&E, o)) return 1;
    Model md;
    if (model_open(&md, o)) { free(E.methods); return 1; }
    E.md = &md;
    E.sc.C = eng_model_in_channels(md.m); E.sc.S = md.size; E.sc.K = eng_model_n_classes(md.m);
    E.sc.mean = md.mean; E.sc.std = md.std;
    E.layer = o->layer ? o->layer : attrib_default_layer(md.m);
    eng_set_threads(o->threads);
    eng_set_reference(o->reference);
    Dataset d;
    char err[1024];
    if (dataset_open_root(&d, o->data, o->root, md.labels, md.n_labels, E.sc.K, err, sizeof err)) {
        model_close(&md); free(E.methods);
        return cli_error("%s", err);
    }
    E.classes = d.classes;
    E.n_classes = d.n_classes;
    method_settings_line(E.settings, sizeof E.settings, E.methods, E.n_methods, o, attrib_default_layer(md.m));
    int n_listed = d.n, n_take = o->limit && o->limit < d.n ? o->limit : d.n;
    int n_now = o->upto > 0 && o->upto < n_take ? o->upto : n_take;   /* study's rounds */
    /* this shard's share of the first n_take images, of which the first n_now are run now */
    int *take = malloc(sizeof(int) * (n_take + 1)), n_mine = 0;
    for (int i = 0; take && i < n_now; i++) if (i % E.shard_n == E.shard_i) take[n_mine++] = i;
    int rc = 0;
    Sink k = {0};
    EvalRows done;
    results_init(&done);
    k.done = &done;
    char gdir[2300];   /* an earlier call of this run (--resume, study rounds) may have filled part of it: */
    path_in(gdir, sizeof gdir, E.outdir, "gallery");   /* its figures stay outputs of the folder */
    k.gallery_left = GALLERY_IMAGES - io_count_entries(gdir, figure_gallery_file, manifest_add_output);
    if (!take || io_mkdir_p(E.outdir)) rc = cli_error("cannot create %s: %s", E.outdir, strerror(errno));
    if (!rc && trace_open(o)) rc = 1;
    if (!rc) rc = open_outputs(&E, &d, n_listed, &k);
    if (!rc) {
        manifest_add_input(md.path);
        if (d.from_csv) manifest_add_input(o->data);
        fprintf(stderr, "salient: evaluating %d image%s%s of %d listed (%s), %d methods, info %s, min_pred %g -> %s\n", n_mine,
                n_mine == 1 ? "" : "s", E.shard_n > 1 ? " (this shard)" : "", n_listed, o->data, E.n_methods,
                info_name(E.sc.info), E.sc.min_pred, E.outdir);
        if (d.ignored) fprintf(stderr, "salient: note: %d non-image file(s) in the class folders ignored\n", d.ignored);
        AttribParams P;
        attrib_params_default(&P);
        P.model = md.m; P.C = E.sc.C; P.H = P.W = E.sc.S; P.mean = md.mean; P.std = md.std; P.sigmoid = md.sigmoid;
        opts_to_attrib_params(o, &P);
        if (o->baseline) attrib_baseline_parse(o->baseline, &P.baseline);
        float *x = malloc(sizeof(float) * E.sc.C * (size_t)E.sc.S * E.sc.S);
        ProgressBar pb;
        pbar_start(&pb, "images", n_mine);
        k.pb = &pb;
        int resumed = 0;
        for (int q = 0; x && q < n_mine; q++) {
            const DataItem *it = &d.v[take[q]];
            int computed = evaluate_image(&E, &k, &P, it, x);
            resumed += !computed;
            pbar_step(&pb, computed, it->name);
        }
        pbar_end(&pb);
        free(x);
        attrib_params_release(&P);
        if (o->resume) fprintf(stderr, "salient: resume: %d of %d images already in results.csv, %d computed\n", resumed, n_mine, n_mine - resumed);
        char rp[2300];
        path_in(rp, sizeof rp, E.outdir, "results.csv");
        if (k.fres && fclose(k.fres)) rc = cli_error("cannot write %s", rp);
        if (k.fcur && fclose(k.fcur)) rc = cli_error("cannot write curves_images.csv");
        k.fres = k.fcur = NULL;
        manifest_add_output(rp);
        path_in(rp, sizeof rp, E.outdir, "curves_images.csv");
        manifest_add_output(rp);
        char jp[2300];
        path_in(jp, sizeof jp, E.outdir, "run.json");
        JsonValue *run = json_read_file(jp, (size_t)64 << 20, err, sizeof err);
        if (!run) rc = cli_error("%s", err);
        else if (summarise_run(&E, &d, take, n_mine, run)) rc = 1;
        json_free(run);
    }
    if (k.fres) fclose(k.fres);
    if (k.fcur) fclose(k.fcur);
    trace_close();
    char mp[2300];
    path_in(mp, sizeof mp, E.outdir, "manifest.json");
    if (!rc && manifest_write(mp)) rc = 1;
    results_free(&done);
    dataset_free(&d);
    free(take);
    free(E.methods);
    model_close(&md);
    if (!rc && (k.n_unreadable || k.n_failed_rows)) {
        cli_error("%d image(s) could not be read and %d row(s) failed (see the skipped column of results.csv)",
                  k.n_unreadable, k.n_failed_rows);
        return 1;
    }
    return rc;
}

/* ---------------- merge ---------------- */

/* Adds a part's run.json, results.csv and curves_images.csv to the manifest's inputs. */
static void manifest_part(const char *dir) {
    const char *files[] = {"run.json", "results.csv", "curves_images.csv"};
    char path[2300];
    for (int i = 0; i < 3; i++) { path_in(path, sizeof path, dir, files[i]); manifest_add_input(path); }
}

int cmd_merge(const Opts *o) {
    if (o->n_pos < 1) return cli_error("merge: give the output folders of the shards: salient merge OUT0 OUT1 ... -o MERGED");
    if (!o->outdir) return cli_error("merge: give the merged folder with -o MERGED");
    EvalPart *parts = calloc(o->n_pos, sizeof *parts);
    if (!parts) return cli_error("out of memory");
    int rc = 0, n = 0;
    char err[2400], path[2300];
    for (int i = 0; i < o->n_pos && !rc; i++) {
        if (!strcmp(o->pos[i], o->outdir)) { rc = cli_error("merge: the merged folder %s is also an input", o->outdir); break; }
        if (eval_part_load(&parts[n], o->pos[i], err, sizeof err)) { rc = cli_error("merge: %s", err); break; }
        manifest_part(o->pos[i]);
        n++;
        if (eval_part_check(parts, n, err, sizeof err)) rc = cli_error("merge: %s", err);
    }
    if (!rc && n == o->n_pos && parts[0].shard_n > 1 && n < parts[0].shard_n)
        fprintf(stderr, "salient: note: merging %d of %d shards\n", n, parts[0].shard_n);
    if (!rc && parts[0].shard_n > 1) eval_parts_sort(parts, n);
    if (!rc && io_mkdir_p(o->outdir)) rc = cli_error("cannot create %s: %s", o->outdir, strerror(errno));
    /* merged run.json: the first shard's, with the shard replaced by the sources */
    JsonValue *run = NULL;
    path_in(path, sizeof path, o->outdir, "run.json");
    if (!rc && eval_merge_write_run(path, parts, n, err, sizeof err)) rc = cli_error("%s", err);
    else if (!rc) manifest_add_output(path);
    if (!rc && !(run = json_read_file(path, (size_t)64 << 20, err, sizeof err))) rc = cli_error("%s", err);
    if (!rc) {
        char rp[2300], cp[2300];
        path_in(rp, sizeof rp, o->outdir, "results.csv");
        path_in(cp, sizeof cp, o->outdir, "curves_images.csv");
        if (eval_merge_write_results(parts, n, rp, cp, err, sizeof err)) rc = cli_error("%s", err);
        manifest_add_output(rp);
        manifest_add_output(cp);
        int total = 0;
        for (int q = 0; q < n; q++) total += parts[q].rows.n;
        fprintf(stderr, "salient: merged %d rows from %d folder%s into %s\n", total, n, n == 1 ? "" : "s", o->outdir);
        if (!rc) eval_merge_gallery(parts, n, o->outdir, manifest_add_output);
        if (!rc && summarise_outdir(o->outdir, run, NULL, 0)) rc = 1;
    }
    json_free(run);
    for (int q = 0; q < n; q++) eval_part_free(&parts[q]);
    free(parts);
    if (!rc) {
        path_in(path, sizeof path, o->outdir, "manifest.json");
        if (manifest_write(path)) rc = 1;
    }
    return rc;
}
