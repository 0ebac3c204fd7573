/* cmd_sanity.c - `salient sanity`: the model parameter randomisation test
   (MPRT) of eval/mprt.h on one image, for every method given (each with
   its own parameters, as -M gives them), randomising module by module or,
   with --granularity block, block by block.

   Outputs in OUTDIR: sanity.csv (step,module,<method>...; step 0 is the
   original model), sanity.json, sanity.png (correlation against the
   number of randomised layers, drawn from sanity.json), manifest.json.
   `salient sanity --replot DIR...` redraws each DIR's sanity.png from its
   sanity.json. */
#include "attrib/attrib.h"
#include "cli/audit.h"
#include "cli/cli.h"
#include "cli/common.h"
#include "eval/plot.h"
#include "eval/render.h"
#include "eval/report.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "eval/mprt.h"
#include "io/image.h"
#include "io/json.h"
#include "weights/load.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SANITY_DEFAULT_METHODS "guidedig,ig,sg-ig,xrai,gradcam,gradcampp,scorecam,random"

/* DIR/sanity.png drawn from DIR/sanity.json; png gets its path. 0, or -1
   with the reason in err. */
static int draw_figure(const char *dir, char *png, size_t pn, char *err, size_t errlen) {
    char json[2300];
    snprintf(json, sizeof json, "%s/sanity.json", dir);
    snprintf(png, pn, "%s/sanity.png", dir);
    return mprt_plot_json(json, png, err, errlen);
}

static int write_outputs(const char *outdir, const Opts *o, const Model *md, int target, const AttribMethod **ms,
                         const Mprt *t) {
    char path[2300], err[2400];
    int rc = 0;
    MprtRunInfo info = {SALIENT_VERSION, md->path, eng_model_arch(md->m), md->info.sha256, o->pos[0], md->size, target, o->seed};
    snprintf(path, sizeof path, "%s/sanity.csv", outdir);
    if (mprt_write_csv(t, ms, path, err, sizeof err)) rc = cli_error("%s", err);
    else manifest_add_output(path);
    snprintf(path, sizeof path, "%s/sanity.json", outdir);
    if (mprt_write_json(t, ms, &info, path, err, sizeof err)) rc = cli_error("%s", err);
    else manifest_add_output(path);
    if (rc) return rc;
    if (draw_figure(outdir, path, sizeof path, err, sizeof err)) return cli_error("%s", err);
    manifest_add_output(path);
    return 0;
}

/* --replot DIR...: each DIR's sanity.png redrawn from its sanity.json. */
static int replot(const Opts *o) {
    int rc = 0;
    for (int i = 0; i < o->n_pos; i++) {
        char png[2300], err[2400];
        if (draw_figure(o->pos[i], png, sizeof png, err, sizeof err)) rc = cli_error("%s", err);
        else fprintf(stderr, "salient: %s redrawn from %s/sanity.json\n", png, o->pos[i]);
    }
    return rc;
}

static void on_step(void *ctx, int step, int n_steps, const char *module) {
    ProgressBar *pb = ctx;
    if (step == 1) pbar_start(pb, "layers", n_steps);
    pbar_step(pb, 1, module);
}

static void print_table(const AttribMethod **ms, int nm, const Mprt *t) {
    int nmod = t->n_modules;
    printf("%-14s %10s %10s %10s  %s\n", "method", "top", "half", "all", "(Spearman with the original map after randomising)");
    for (int j = 0; j < nm; j++) {
        double fin = t->corr[(size_t)nmod * nm + j];
        printf("%-14s %10.4f %10.4f %10.4f  %s\n", ms[j]->name, t->corr[(size_t)1 * nm + j],
               t->corr[(size_t)(nmod / 2) * nm + j], fin, fin > MPRT_FLAG ? "FLAGGED: does not depend on the model" : "");
    }
}

int cmd_sanity(const Opts *o) {
    if (o->replot && o->n_pos >= 1) return replot(o);
    if (o->n_pos != 1)
        return cli_error("usage: salient sanity -m MODEL IMAGE [-M METHODS] [--granularity module|block] [-o OUTDIR] "
                         "[--seed S]  |  salient sanity --replot DIR...");
    MprtGranularity by = MPRT_BY_MODULE;
    if (o->granularity && mprt_granularity_parse(o->granularity, &by))
        return cli_error("sanity --granularity %s: give module or block", o->granularity);
    const AttribMethod **ms;
    int nm;
    if (methods_parse(o->methods, SANITY_DEFAULT_METHODS, 0, &ms, &nm)) return 1;
    Model md;
    if (model_open(&md, o)) { free(ms); return 1; }
    eng_set_threads(o->threads);
    eng_set_reference(o->reference);
    const char *outdir = o->outdir ? o->outdir : "salient-out";
    int C = eng_model_in_channels(md.m), S = md.size, K = eng_model_n_classes(md.m), rc = 0;
    float *x = malloc(sizeof(float) * C * (size_t)S * S), *logits = malloc(sizeof(float) * K),
          *prob = malloc(sizeof(float) * K);
    char err[600];
    AttribParams P;
    attrib_params_default(&P);
    Mprt t = {0};
    ProgressBar pb;
    if (!x || !logits || !prob) { rc = cli_error("out of memory"); goto done; }
    if (io_mkdir_p(outdir)) { rc = cli_error("cannot create %s: %s", outdir, strerror(errno)); goto done; }
    if (model_preprocess(&md, o, o->pos[0], x, NULL, err, sizeof err)) { rc = cli_error("%s", err); goto done; }
    manifest_add_input(md.path);
    manifest_add_input(o->pos[0]);
    P.model = md.m; P.x = x; P.C = C; P.H = P.W = S; P.mean = md.mean; P.std = md.std; P.sigmoid = md.sigmoid;
    opts_to_attrib_params(o, &P);
    int target = attrib_predict(&P, x, logits, prob);
    if (target < 0) { rc = cli_error("%s", eng_last_error()); goto done; }
    P.target = target;
    fprintf(stderr, "salient: MPRT on %s: %d methods, target class %d, by %s\n", o->pos[0], nm, target,
            mprt_granularity_name(by));
    MprtConfig cfg = {o->seed, by, method_settings_of(o), on_step, &pb};
    if (mprt_run(&t, &P, ms, nm, &cfg)) { rc = cli_error("%s", eng_last_error()); goto done; }
    pbar_end(&pb);
    rc = write_outputs(outdir, o, &md, target, ms, &t);
    if (!rc) {
        print_table(ms, nm, &t);
        char mp[2300];
        snprintf(mp, sizeof mp, "%s/manifest.json", outdir);
        if (manifest_write(mp)) rc = 1;
    }
done:
    attrib_params_release(&P);
    mprt_free(&t);
    free(x); free(logits); free(prob); free(ms);
    model_close(&md);
    return rc;
}
