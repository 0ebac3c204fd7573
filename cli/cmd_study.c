/* cmd_study.c - `salient study PROTOCOL`: a whole comparison of saliency
   methods, as one protocol file describes it (eval/protocol.h), run as
   `evaluate` runs on every data set under every variant.

     salient study studies/paper.study -o results/study [-d DATA] [--limit N]
     salient study P --shard I/N -o OUT/shard-I      one shard of every run
     salient study P --merge OUT/shard-0 OUT/shard-1 ... -o OUT
     salient study P --only NAME ...                 one data set of the protocol

   Output: OUT/protocol.study (the protocol as run, byte for byte) and
   OUT/<data>/<variant>/ (evaluate's results.csv, summary.json, report.html,
   figures). Every variant of a data set scores the same maps: they are
   computed once and kept in a map cache (OUT/.maps/<data>/ unless
   --map-cache DIR; eval/mapcache.h), so a second variant costs only its
   metrics and the maps whose class differs (the target rule). The variants
   run in rounds of 10 images (all variants on images 1-10, then 11-20, ...),
   so a study stopped at any point holds the same images in every variant.
   Runs resume: run the same command again after an interruption.

   With "sanity = N" in the protocol, each data set also gets the MPRT
   (`salient sanity`, eval/mprt.h) of every method, with its parameters, on
   N images of its list, one class after the other (sanity_pick), into
   OUT/<data>/sanity/<row>-<stem>/, summarised in
   OUT/<data>/sanity/ (mprt_summary_write). Image k runs in shard k mod N
   of --shard I/N, and --merge gathers them. An image whose sanity.json
   exists is not run again. */
#include "cli/cli.h"
#include "cli/common.h"
#include "eval/merge.h"
#include "eval/mprt.h"
#include "eval/protocol.h"
#include "io/dataset.h"
#include "io/file.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STUDY_ROUND 10   /* images per round of the variants (run_variants) */

static const char *data_dir(const Opts *o) {
    if (o->data) return o->data;
    const char *env = getenv("SALIENT_DATA");
    return env && env[0] ? env : NULL;
}

/* The protocol file copied into OUT, byte for byte. */
static int record_protocol(const char *path, const char *outdir) {
    uint8_t *buf;
    size_t len;
    char err[600], dst[2300];
    if (io_read_file(path, 64 * 1024, &buf, &len, err, sizeof err)) return cli_error("%s", err);
    snprintf(dst, sizeof dst, "%s/protocol.study", outdir);
    FILE *f = fopen(dst, "wb");
    int bad = !f || fwrite(buf, 1, len, f) != len;
    if (f) bad |= fclose(f) != 0;
    free(buf);
    return bad ? cli_error("cannot write %s", dst) : 0;
}

/* evaluate's options for one data set under one variant. */
static Opts run_opts(const Opts *o, const StudyProtocol *p, const StudyData *d, const StudyVariant *v, char *outdir,
                     char *cache, size_t n) {
    Opts e = *o;
    e.model = d->model;
    e.data = d->list;
    e.root = d->root[0] ? d->root : NULL;
    e.methods = p->methods;
    e.seed = p->seed;
    e.info = info_name(v->info);
    e.min_pred = v->min_pred;
    e.target = eval_target_rule_name(v->target);
    e.no_insdel = !p->insdel;
    e.maps = p->scored_maps_only ? "scored" : NULL;
    e.resume = 1;
    e.pos = NULL;
    e.n_pos = 0;
    snprintf(outdir, n, "%s/%s/%s", o->outdir, d->name, v->name);
    if (o->map_cache) snprintf(cache, n, "%s/%s", o->map_cache, d->name);
    else snprintf(cache, n, "%s/.maps/%s", o->outdir, d->name);
    e.outdir = outdir;
    e.map_cache = cache;
    return e;
}

/* The images of a data set's list that get the MPRT (sanity_pick). */
typedef struct {
    Dataset ds;
    int idx[PROTOCOL_MAX_SANITY], n;
} SanityPick;

/* d's list into ds; *n gets the number of images the study takes from it
   (--limit applied). 0, or 1 after the error is printed. */
static int open_list(Dataset *ds, int *n, const Opts *o, const StudyData *d) {
    char err[1200];
    if (dataset_open_root(ds, d->list, d->root[0] ? d->root : NULL, NULL, 0, INT_MAX, err, sizeof err))
        return cli_error("%s", err);
    *n = o->limit > 0 && o->limit < ds->n ? o->limit : ds->n;
    return 0;
}

/* The first of the list's first n rows that is not taken and has label c
   (any label when c < 0), or -1. */
static int first_untaken(const Dataset *ds, int n, const char *taken, int c) {
    for (int i = 0; i < n; i++)
        if (!taken[i] && (c < 0 || ds->v[i].label == c)) return i;
    return -1;
}

/* The MPRT's images: the classes in turn (class 0, 1, ..., K-1, 0, ...),
   each time the class's first image in the list not yet taken, skipping a
   class with none left; so N images cover min(N, K) classes, whatever the
   list's order. Only the list's first n rows count (n: its length or
   --limit). */
static int sanity_pick(SanityPick *sp, const Opts *o, const StudyProtocol *p, const StudyData *d) {
    int n;
    if (open_list(&sp->ds, &n, o, d)) return 1;
    int want = p->sanity_images < n ? p->sanity_images : n, K = sp->ds.n_classes > 0 ? sp->ds.n_classes : 1;
    char *taken = calloc((size_t)n + 1, 1);
    if (!taken) { dataset_free(&sp->ds); return cli_error("out of memory"); }
    sp->n = 0;
    for (int c = 0, misses = 0; sp->n < want; c = (c + 1) % K) {
        int i = first_untaken(&sp->ds, n, taken, sp->ds.n_classes > 0 && misses < K ? c : -1);
        if (i < 0) { misses++; continue; }
        misses = 0;
        taken[i] = 1;
        sp->idx[sp->n++] = i;
    }
    free(taken);
    return 0;
}

/* Image k's MPRT folder below base. */
static void sanity_dir(char *buf, size_t n, const char *base, const StudyData *d, const SanityPick *sp, int k) {
    const DataItem *it = &sp->ds.v[sp->idx[k]];
    char stem[256];
    io_path_stem(it->path, stem, sizeof stem);
    snprintf(buf, n, "%s/%s/sanity/%d-%s", base, d->name, it->index, stem);
}

static int file_exists(const char *path) {
    FILE *f = fopen(path, "r");
    if (f) fclose(f);
    return f != NULL;
}

/* MPRT of every method on the chosen images of this shard. */
static int run_sanity(const Opts *o, const StudyProtocol *p, const StudyData *d, const SanityPick *sp) {
    int shard = 0, n_shards = 1, rc = 0;
    if (o->shard && eval_shard_parse(o->shard, &shard, &n_shards))
        return cli_error("--shard %s: expected I/N with 0 <= I < N (e.g. 0/4)", o->shard);
    for (int k = shard; k < sp->n && !rc; k += n_shards) {
        const DataItem *it = &sp->ds.v[sp->idx[k]];
        char dir[2300], done[2400];
        sanity_dir(dir, sizeof dir, o->outdir, d, sp, k);
        snprintf(done, sizeof done, "%s/sanity.json", dir);
        if (file_exists(done)) continue;
        fprintf(stderr, "salient study: %s, MPRT %d of %d: %s -> %s\n", d->name, k + 1, sp->n, it->name, dir);
        Opts e = *o;
        char *pos[1] = {it->path};
        e.model = d->model;
        e.methods = p->methods;
        e.seed = p->seed;
        e.granularity = mprt_granularity_name(p->sanity_by);
        e.pos = pos;
        e.n_pos = 1;
        e.outdir = dir;
        rc = cmd_sanity(&e);
    }
    return rc;
}

/* The summary of the chosen images' MPRT in base (all must be there). */
static int summarise_sanity(const char *base, const StudyData *d, const SanityPick *sp) {
    int rc = 0;
    char *paths[PROTOCOL_MAX_SANITY] = {0}, out[2300], err[2400];
    for (int k = 0; k < sp->n && !rc; k++) {
        char dir[2300];
        sanity_dir(dir, sizeof dir, base, d, sp, k);
        size_t L = strlen(dir) + 16;
        if (!(paths[k] = malloc(L))) rc = cli_error("out of memory");
        else snprintf(paths[k], L, "%s/sanity.json", dir);
    }
    snprintf(out, sizeof out, "%s/%s/sanity", base, d->name);
    if (!rc && mprt_summary_write((const char *const *)paths, sp->n, out, err, sizeof err)) rc = cli_error("%s", err);
    if (!rc) fprintf(stderr, "salient study: %s, MPRT of %d images summarised in %s\n", d->name, sp->n, out);
    for (int k = 0; k < sp->n; k++) free(paths[k]);
    return rc;
}

/* Copies each chosen image's MPRT folder found in a shard (o->pos) into OUT. */
static int gather_sanity(const Opts *o, const StudyData *d, const SanityPick *sp) {
    static const char *files[] = {"sanity.csv", "sanity.json", "sanity.png", "manifest.json"};
    for (int k = 0; k < sp->n; k++)
        for (int s = 0; s < o->n_pos; s++) {
            char src[2300], dst[2300], a[2400], b[2400], err[2600];
            sanity_dir(src, sizeof src, o->pos[s], d, sp, k);
            snprintf(a, sizeof a, "%s/sanity.json", src);
            if (!file_exists(a)) continue;
            sanity_dir(dst, sizeof dst, o->outdir, d, sp, k);
            if (io_mkdir_p(dst)) return cli_error("cannot create %s: %s", dst, strerror(errno));
            for (int f = 0; f < 4; f++) {
                snprintf(a, sizeof a, "%s/%s", src, files[f]);
                snprintf(b, sizeof b, "%s/%s", dst, files[f]);
                if (file_exists(a) && io_copy_file(a, b, 64 << 20, err, sizeof err)) return cli_error("%s", err);
            }
        }
    return 0;
}

/* The MPRT of data set d: run (run = 1: this shard's images, then the
   summary unless sharded) or gathered from the shards in o->pos. */
static int sanity_of(const Opts *o, const StudyProtocol *p, const StudyData *d, int run) {
    SanityPick sp;
    if (sanity_pick(&sp, o, p, d)) return 1;
    int rc = run ? run_sanity(o, p, d, &sp) : gather_sanity(o, d, &sp);
    if (!rc && (!run || !o->shard)) rc = summarise_sanity(o->outdir, d, &sp);
    dataset_free(&sp.ds);
    return rc;
}

/* Every variant of data set d, in rounds of STUDY_ROUND images: each round
   runs the next images under every variant (the later variants read their
   maps from the cache), so a study stopped at any point holds the same
   images in every variant, each with its summary and report. Returns the
   largest exit code, or -1 when a run wrote nothing (a setting error,
   which every run would repeat). */
static int run_variants(const Opts *o, const StudyProtocol *p, const StudyData *d) {
    Dataset ds;
    int n, rc = 0;
    if (open_list(&ds, &n, o, d)) return 1;
    dataset_free(&ds);
    for (int upto = STUDY_ROUND;; upto += STUDY_ROUND) {
        for (int j = 0; j < p->n_variant; j++) {
            char outdir[2300], cache[2300];
            Opts e = run_opts(o, p, d, &p->variant[j], outdir, cache, sizeof outdir);
            e.upto = upto < n ? upto : 0;
            fprintf(stderr, "salient study: %s, variant %s, images up to %d of %d -> %s\n", d->name,
                    p->variant[j].name, upto < n ? upto : n, n, outdir);
            int r = cmd_evaluate(&e);
            if (r > rc) rc = r;
            char runjson[2400];
            snprintf(runjson, sizeof runjson, "%s/run.json", outdir);
            if (r && !file_exists(runjson)) return -1;
        }
        if (upto >= n) return rc;
    }
}

static int run_all(const Opts *o, const StudyProtocol *p) {
    int rc = 0;
    for (int i = 0; i < p->n_data; i++) {
        if (o->only && strcmp(o->only, p->data[i].name)) continue;
        int r = run_variants(o, p, &p->data[i]);
        if (r < 0) return 1;
        if (r > rc) rc = r;
        if (p->sanity_images > 0 && (r = sanity_of(o, p, &p->data[i], 1)) > rc) rc = r;
    }
    return rc;
}

static int merge_all(const Opts *o, const StudyProtocol *p) {
    int rc = 0;
    char **dirs = calloc((size_t)o->n_pos, sizeof *dirs);
    if (!dirs) return cli_error("out of memory");
    for (int i = 0; i < p->n_data && !rc; i++)
        for (int j = 0; j < p->n_variant && !rc; j++) {
            char outdir[2300];
            for (int k = 0; k < o->n_pos; k++) {
                size_t L = strlen(o->pos[k]) + strlen(p->data[i].name) + strlen(p->variant[j].name) + 3;
                if (!(dirs[k] = malloc(L))) { rc = cli_error("out of memory"); break; }
                snprintf(dirs[k], L, "%s/%s/%s", o->pos[k], p->data[i].name, p->variant[j].name);
            }
            snprintf(outdir, sizeof outdir, "%s/%s/%s", o->outdir, p->data[i].name, p->variant[j].name);
            Opts m = *o;
            m.pos = dirs;
            m.outdir = outdir;
            fprintf(stderr, "salient study: merging %s, variant %s -> %s\n", p->data[i].name, p->variant[j].name, outdir);
            if (!rc) rc = cmd_merge(&m);
            for (int k = 0; k < o->n_pos; k++) { free(dirs[k]); dirs[k] = NULL; }
        }
    free(dirs);
    for (int i = 0; i < p->n_data && !rc; i++)
        if (p->sanity_images > 0) rc = sanity_of(o, p, &p->data[i], 0);
    return rc;
}

int cmd_study(const Opts *o) {
    if (o->n_pos < 1) return cli_error("study: give the protocol file: salient study PROTOCOL [-o OUT]");
    if (!o->outdir) return cli_error("study: give the output folder with -o OUT");
    const char *path = o->pos[0];
    StudyProtocol *p = malloc(sizeof *p);
    char err[1200];
    if (!p) return cli_error("out of memory");
    if (protocol_load(p, path, data_dir(o), err, sizeof err)) { free(p); return cli_error("%s: %s", path, err); }
    int known = !o->only;
    for (int i = 0; i < p->n_data; i++) known |= o->only && !strcmp(o->only, p->data[i].name);
    if (!known) { free(p); return cli_error("study --only %s: the protocol has no data set of that name", o->only); }
    int rc;
    if (io_mkdir_p(o->outdir)) rc = cli_error("cannot create %s: %s", o->outdir, strerror(errno));
    else if ((rc = record_protocol(path, o->outdir)) == 0) {
        Opts rest = *o;
        rest.pos = o->pos + 1;
        rest.n_pos = o->n_pos - 1;
        if (o->merge) rc = rest.n_pos ? merge_all(&rest, p) : cli_error("study --merge: give the shards' output folders");
        else if (rest.n_pos) rc = cli_error("study: one protocol file, then options (got '%s')", rest.pos[0]);
        else rc = run_all(o, p);
    }
    free(p);
    return rc;
}
