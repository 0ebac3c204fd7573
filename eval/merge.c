/* merge.c - run compatibility, shards and merged outputs (see merge.h). */
#include "eval/merge.h"
#include "eval/info.h"
#include "eval/render.h"
#include "eval/summary.h"
#include "io/file.h"

#include <dirent.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void write_floats(JsonWriter *w, const char *key, const float *v, int n) {
    jw_key(w, key);
    jw_array_begin(w);
    for (int c = 0; c < n; c++) jw_number(w, v[c]);
    jw_array_end(w);
}

static void write_model(JsonWriter *w, const EvalRunInfo *r) {
    const ScoreSettings *sc = r->sc;
    jw_key(w, "model"); jw_object_begin(w);
    jw_kv_string(w, "path", r->model_path); jw_kv_string(w, "arch", r->arch);
    jw_kv_string(w, "sha256", r->sha256);
    if (r->sigmoid) jw_kv_string(w, "head", "sigmoid");   /* written only when not softmax */
    jw_kv_int(w, "classes", sc->K); jw_kv_int(w, "channels", sc->C); jw_kv_int(w, "input_size", sc->S);
    write_floats(w, "mean", sc->mean, sc->C);
    write_floats(w, "std", sc->std, sc->C);
    jw_key(w, "labels"); jw_array_begin(w);
    for (int k = 0; k < sc->K; k++) {
        char b[32];
        const char *nm = k < r->n_labels ? r->labels[k] : k < r->n_classes && r->classes[k] ? r->classes[k] : NULL;
        if (!nm) { snprintf(b, sizeof b, "class %d", k); nm = b; }
        jw_string(w, nm);
    }
    jw_array_end(w);
    jw_object_end(w);
}

static void write_methods_params(JsonWriter *w, const EvalRunInfo *r) {
    jw_key(w, "methods"); jw_array_begin(w);
    for (int k = 0; k < r->n_methods; k++) jw_string(w, r->methods[k]->name);
    jw_array_end(w);
    jw_key(w, "method_params"); jw_object_begin(w);
    for (int k = 0; k < r->n_methods; k++) {
        jw_key(w, r->methods[k]->name);
        jw_object_begin(w);
        method_settings_json(w, r->settings, r->methods[k], r->layer);
        jw_object_end(w);
    }
    jw_object_end(w);
}

int eval_run_write(const char *path, const EvalRunInfo *r, char *err, size_t errlen) {
    const ScoreSettings *sc = r->sc;
    FILE *f = fopen(path, "w");
    if (!f) return err_fail(err, errlen, "cannot write %s: %s", path, strerror(errno));
    JsonWriter w;
    jw_init(&w, f, 1);
    jw_object_begin(&w);
    jw_kv_string(&w, "salient_version", r->version);
    jw_kv_string(&w, "command", "evaluate");
    write_model(&w, r);
    jw_kv_string(&w, "data", r->data);
    jw_kv_string(&w, "data_kind", r->data_kind);
    jw_kv_int(&w, "images_listed", r->n_listed);
    if (r->limit) jw_kv_int(&w, "limit", r->limit);
    else jw_kv_string(&w, "limit", NULL);
    write_methods_params(&w, r);
    jw_kv_string(&w, "target", eval_target_rule_text(r->sc->target_rule));
    if (!sc->pic) jw_kv_bool(&w, "pic", 0);   /* written only when off: older runs had PIC on */
    if (sc->scored_maps_only) jw_kv_string(&w, "maps", "only for the images PIC scores on SIC or AIC");
    jw_kv_string(&w, "info", info_name(sc->info));
    jw_kv_string(&w, "info_description", info_describe(sc->info));
    jw_kv_number(&w, "min_pred", sc->min_pred);
    jw_kv_int(&w, "seed", (long long)r->seed);
    jw_kv_string(&w, "rng", "xoshiro256** seeded by SplitMix64 (engine/rng.h); image i: random mask from "
                            "split(split(seed,i),0), methods from split(split(seed,i),1)");
    jw_key(&w, "insdel"); jw_object_begin(&w);
    jw_kv_bool(&w, "enabled", sc->insdel);
    jw_kv_string(&w, "insertion_substrate", insdel_substrate_name(sc->sub_ins));
    jw_kv_string(&w, "deletion_substrate", insdel_substrate_name(sc->sub_del));
    if (sc->insdel_steps) jw_kv_int(&w, "steps", sc->insdel_steps);
    else jw_kv_string(&w, "steps", "RISE: one image row of pixels per step (H+1 points)");
    jw_object_end(&w);
    jw_kv_string(&w, "shard", r->shard);
    jw_object_end(&w);
    int bad = jw_error(&w);
    if (fclose(f) || bad) return err_fail(err, errlen, "cannot write %s", path);
    return 0;
}

int eval_shard_parse(const char *s, int *i, int *n) {
    char *end;
    errno = 0;
    long a = strtol(s, &end, 10);
    if (errno || end == s || *end != '/') return -1;
    const char *q = end + 1;
    long b = strtol(q, &end, 10);
    if (errno || end == q || *end || b < 1 || b > 1000000 || a < 0 || a >= b) return -1;
    *i = (int)a; *n = (int)b;
    return 0;
}

/* The members two runs must share to be resumed or merged. */
static const char *const same_keys[] = {"info", "min_pred", "seed", "insdel", "pic", "maps", "target", "data"};

const char *eval_run_difference(const JsonValue *a, const JsonValue *b, int resuming) {
    if (!json_equal(json_get(json_get(a, "model"), "sha256"), json_get(json_get(b, "model"), "sha256"), NULL)) return "model sha256";
    if (!json_equal(json_get(json_get(a, "model"), "input_size"), json_get(json_get(b, "model"), "input_size"), NULL)) return "model input_size";
    for (size_t i = 0; i < sizeof same_keys / sizeof same_keys[0]; i++)
        if (!json_equal(json_get(a, same_keys[i]), json_get(b, same_keys[i]), NULL)) return same_keys[i];
    if (!json_equal(json_get(a, "method_params"), json_get(b, "method_params"), NULL)) {
        /* the same parameters for the methods both have */
        const JsonValue *pa = json_get(a, "method_params"), *pb = json_get(b, "method_params");
        for (size_t i = 0; i < json_len(pa); i++) {
            const JsonValue *q = json_get(pb, json_key_at(pa, i));
            if (q && !json_equal(json_at(pa, i), q, NULL)) return "method_params";
        }
    }
    /* a resumed run may go further down the list (the rows of the first images
       stay valid); shards to merge must have been cut from the same images */
    if (!resuming && !json_equal(json_get(a, "limit"), json_get(b, "limit"), NULL)) return "limit";
    if (resuming && !json_equal(json_get(a, "shard"), json_get(b, "shard"), NULL)) return "shard";
    return "";
}

int eval_part_load(EvalPart *p, const char *dir, char *err, size_t errlen) {
    char path[2300], cp[2300], e[1024];
    memset(p, 0, sizeof *p);
    p->dir = dir;
    p->shard_n = 1;
    results_init(&p->rows);
    snprintf(path, sizeof path, "%s/run.json", dir);
    if (!(p->run = json_read_file(path, (size_t)64 << 20, e, sizeof e)))
        return err_fail(err, errlen, "%s (is %s an evaluate output folder?)", e, dir);
    const char *sh = json_string(json_get(p->run, "shard"));
    if (sh && eval_shard_parse(sh, &p->shard_i, &p->shard_n)) {
        err_fail(err, errlen, "%s: bad shard '%s' in run.json", dir, sh);
        eval_part_free(p);
        return -1;
    }
    snprintf(path, sizeof path, "%s/results.csv", dir);
    snprintf(cp, sizeof cp, "%s/curves_images.csv", dir);
    if (results_load(&p->rows, path, cp, err, errlen)) { eval_part_free(p); return -1; }
    return 0;
}

void eval_part_free(EvalPart *p) {
    json_free(p->run);
    results_free(&p->rows);
    p->run = NULL;
}

int eval_part_check(const EvalPart *parts, int n, char *err, size_t errlen) {
    if (n < 2) return 0;
    const EvalPart *p = &parts[n - 1], *p0 = &parts[0];
    const char *diff = eval_run_difference(p0->run, p->run, 0);
    if (diff[0]) return err_fail(err, errlen, "%s and %s differ in '%s' (see their run.json)", p0->dir, p->dir, diff);
    if (p->shard_n != p0->shard_n) return err_fail(err, errlen, "%s is shard ?/%d, %s is ?/%d", p0->dir, p0->shard_n, p->dir, p->shard_n);
    for (int q = 0; q < n - 1; q++)
        if (p0->shard_n > 1 && parts[q].shard_i == p->shard_i)
            return err_fail(err, errlen, "%s and %s are both shard %d/%d", parts[q].dir, p->dir, p->shard_i, p->shard_n);
    return 0;
}

static int cmp_part(const void *a, const void *b) {
    const EvalPart *x = a, *y = b;
    return (x->shard_i > y->shard_i) - (x->shard_i < y->shard_i);
}

void eval_parts_sort(EvalPart *parts, int n) { qsort(parts, n, sizeof *parts, cmp_part); }

/* Whether method name nm appears in the parts' method lists before
   position a of part q. */
static int method_seen(const EvalPart *parts, int q, size_t a, const char *nm) {
    int seen = 0;
    for (int q2 = 0; q2 <= q && !seen; q2++) {
        const JsonValue *m2 = json_get(parts[q2].run, "methods");
        size_t lim = q2 == q ? a : json_len(m2);
        for (size_t b = 0; b < lim; b++) seen |= nm && json_string(json_at(m2, b)) && !strcmp(nm, json_string(json_at(m2, b)));
    }
    return seen;
}

/* The union of the parts' methods, in order of appearance. */
static void write_methods(JsonWriter *w, const EvalPart *parts, int n) {
    jw_array_begin(w);
    for (int q = 0; q < n; q++) {
        const JsonValue *ml = json_get(parts[q].run, "methods");
        for (size_t a = 0; a < json_len(ml); a++) {
            const char *nm = json_string(json_at(ml, a));
            if (nm && !method_seen(parts, q, a, nm)) jw_string(w, nm);
        }
    }
    jw_array_end(w);
}

int eval_merge_write_run(const char *path, const EvalPart *parts, int n, char *err, size_t errlen) {
    FILE *f = fopen(path, "w");
    if (!f) return err_fail(err, errlen, "cannot write %s", path);
    JsonWriter w;
    jw_init(&w, f, 1);
    jw_object_begin(&w);
    const JsonValue *r0 = parts[0].run;
    for (size_t i = 0; i < json_len(r0); i++) {
        const char *key = json_key_at(r0, i);
        jw_key(&w, key);
        if (!strcmp(key, "shard")) jw_null(&w);
        else if (!strcmp(key, "methods")) write_methods(&w, parts, n);
        else eval_json_copy(&w, json_at(r0, i));
    }
    jw_key(&w, "merged_from");
    jw_array_begin(&w);
    for (int q = 0; q < n; q++) {
        jw_object_begin(&w);
        jw_kv_string(&w, "dir", parts[q].dir);
        jw_kv_string(&w, "shard", json_string(json_get(parts[q].run, "shard")));
        jw_kv_int(&w, "rows", parts[q].rows.n);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_object_end(&w);
    int bad = jw_error(&w);
    if (fclose(f) || bad) return err_fail(err, errlen, "cannot write %s", path);
    return 0;
}

/* Rows in the order of the unsharded run: one image from each shard in turn. */
static void write_merged_rows(EvalPart *parts, int n, FILE *fr, FILE *fc) {
    int left = 1;
    while (left) {
        left = 0;
        for (int i = 0; i < n; i++) {
            EvalPart *p = &parts[i];
            if (p->pos >= p->rows.n) continue;
            const char *img = p->rows.v[p->pos].image;
            while (p->pos < p->rows.n && !strcmp(p->rows.v[p->pos].image, img)) {
                results_write_row(fr, &p->rows.v[p->pos]);
                curves_images_write_rows(fc, &p->rows.v[p->pos]);
                p->pos++;
            }
            left |= p->pos < p->rows.n;
        }
    }
}

int eval_merge_write_results(EvalPart *parts, int n, const char *results_csv, const char *curves_csv, char *err,
                             size_t errlen) {
    FILE *fr = fopen(results_csv, "w"), *fc = fopen(curves_csv, "w");
    int rc = 0;
    if (!fr || !fc) rc = err_fail(err, errlen, "cannot write %s", results_csv);
    else {
        results_write_header(fr);
        curves_images_write_header(fc);
        write_merged_rows(parts, n, fr, fc);
    }
    if (fr && fclose(fr)) rc = err_fail(err, errlen, "cannot write %s", results_csv);
    if (fc && fclose(fc)) rc = err_fail(err, errlen, "cannot write %s", curves_csv);
    return rc;
}

int eval_merge_gallery(const EvalPart *parts, int n, const char *outdir, void (*wrote)(const char *path)) {
    char dst[2300], err[600];
    snprintf(dst, sizeof dst, "%s/gallery", outdir);
    int made = 0, copied = 0;
    for (int i = 0; i < n; i++) {
        char src[2300];
        snprintf(src, sizeof src, "%s/gallery", parts[i].dir);
        DIR *d = opendir(src);
        if (!d) continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!figure_gallery_file(e->d_name)) continue;
            if (!made) { if (io_mkdir_p(dst)) break; made = 1; }
            char a[2600], b[2600];
            snprintf(a, sizeof a, "%s/%s", src, e->d_name);
            snprintf(b, sizeof b, "%s/%s", dst, e->d_name);
            if (io_copy_file(a, b, (size_t)256 << 20, err, sizeof err)) continue;
            copied++;
            if (wrote) wrote(b);
        }
        closedir(d);
    }
    return copied;
}

int eval_resume(EvalRows *done, const char *outdir, const char *new_run_json, char *note, size_t nn, char *err,
                size_t errlen) {
    char rp[2300], cp[2300], jp[2300], why[600];
    snprintf(rp, sizeof rp, "%s/results.csv", outdir);
    snprintf(cp, sizeof cp, "%s/curves_images.csv", outdir);
    snprintf(jp, sizeof jp, "%s/run.json", outdir);
    if (nn) note[0] = 0;
    JsonValue *old = json_read_file(jp, (size_t)64 << 20, why, sizeof why),
              *now = old ? json_read_file(new_run_json, (size_t)64 << 20, why, sizeof why) : NULL;
    const char *diff = old && now ? eval_run_difference(old, now, 1) : "";
    if (!old) snprintf(note, nn, "no readable run.json in %s (%s); resuming from results.csv alone", outdir, why);
    int rc = diff[0] ? err_fail(err, errlen, "the setting '%s' differs from the run in %s (see its run.json)", diff, outdir) : 0;
    json_free(old);
    json_free(now);
    if (rc || results_load(done, rp, cp, err, errlen)) return -1;
    if ((done->dropped_partial || done->legacy_files) && results_write_files(done, rp, cp, why, sizeof why))
        return err_fail(err, errlen, "cannot rewrite %s", rp);
    return 0;
}

int eval_score_settings_parse(ScoreSettings *sc, const char *info, double min_pred, const char *substrate,
                              const char *target, int pic, int insdel, int insdel_steps, char *err, size_t errlen) {
    if (info_parse(info ? info : "webp", &sc->info)) return err_fail(err, errlen, "info %s: expected webp, png or entropy", info);
    sc->min_pred = min_pred >= 0 ? min_pred : PIC_MIN_PRED;
    sc->sub_ins = SUBSTRATE_BLUR;
    sc->sub_del = SUBSTRATE_ZERO;
    if (substrate && insdel_parse_substrate(substrate, &sc->sub_ins))
        return err_fail(err, errlen, "substrate %s: expected blur or black", substrate);
    if (substrate) sc->sub_del = sc->sub_ins;
    sc->insdel = insdel;
    sc->pic = pic;
    sc->insdel_steps = insdel_steps;
    sc->target_rule = TARGET_RULE_PRED;
    if (target && eval_target_rule_parse(target, &sc->target_rule))
        return err_fail(err, errlen, "target %s: evaluate takes pred, label or paper (the class each map explains; the "
                        "metrics always measure the prediction)", target);
    return 0;
}
