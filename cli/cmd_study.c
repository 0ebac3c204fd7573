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
   metrics and the maps whose class differs (the target rule). Runs resume:
   run the same command again after an interruption. */
#include "cli/cli.h"
#include "cli/common.h"
#include "eval/protocol.h"
#include "io/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int run_all(const Opts *o, const StudyProtocol *p) {
    int rc = 0;
    for (int i = 0; i < p->n_data; i++)
        for (int j = 0; j < p->n_variant && (!o->only || !strcmp(o->only, p->data[i].name)); j++) {
            char outdir[2300], cache[2300];
            Opts e = run_opts(o, p, &p->data[i], &p->variant[j], outdir, cache, sizeof outdir);
            fprintf(stderr, "salient study: %s, variant %s -> %s\n", p->data[i].name, p->variant[j].name, outdir);
            int r = cmd_evaluate(&e);
            if (r > rc) rc = r;
            char runjson[2400];
            snprintf(runjson, sizeof runjson, "%s/run.json", outdir);
            FILE *f = r ? fopen(runjson, "r") : NULL;
            if (f) fclose(f);
            else if (r) return r;   /* nothing written: a setting error, which every run would repeat */
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
