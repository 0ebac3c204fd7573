/* cmd_sanity.c - `salient sanity`: the model parameter randomisation test
   (MPRT) of eval/mprt.h on one image, for every method given.

   Outputs in OUTDIR: sanity.csv (step,module,<method>...; step 0 is the
   original model), sanity.json, sanity.png (correlation against the
   number of randomised layers), manifest.json. */
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

static int write_outputs(const char *outdir, const Opts *o, const Model *md, int target, const AttribMethod **ms,
                         int nm, const MprtModule *mods, int nmod, const double *corr) {
    char path[2300];
    int rc = 0;
    /* sanity.csv */
    snprintf(path, sizeof path, "%s/sanity.csv", outdir);
    FILE *f = fopen(path, "w");
    if (!f) return cli_error("cannot write %s: %s", path, strerror(errno));
    fprintf(f, "step,module");
    for (int j = 0; j < nm; j++) fprintf(f, ",%s", ms[j]->name);
    fputc('\n', f);
    char b[32];
    for (int s = 0; s <= nmod; s++) {
        fprintf(f, "%d,%s", s, s ? mods[nmod - s].name : "none");
        for (int j = 0; j < nm; j++) {
            double v = corr[(size_t)s * nm + j];
            fputc(',', f);
            if (isfinite(v)) fputs(jw_format_number(v, b), f);
        }
        fputc('\n', f);
    }
    if (fclose(f)) rc = cli_error("cannot write %s", path);
    else manifest_add_output(path);
    /* sanity.json */
    snprintf(path, sizeof path, "%s/sanity.json", outdir);
    f = fopen(path, "w");
    if (!f) return cli_error("cannot write %s", path);
    JsonWriter w;
    jw_init(&w, f, 1);
    jw_object_begin(&w);
    jw_kv_string(&w, "salient_version", SALIENT_VERSION);
    jw_kv_string(&w, "test", "MPRT, cascading randomisation from the top (Adebayo et al. 2018; Quantus "
                             "ModelParameterRandomisation, order top_down)");
    jw_key(&w, "model"); jw_object_begin(&w);
    jw_kv_string(&w, "path", md->path); jw_kv_string(&w, "arch", eng_model_arch(md->m)); jw_kv_string(&w, "sha256", md->info.sha256);
    jw_kv_int(&w, "input_size", md->size); jw_object_end(&w);
    jw_kv_string(&w, "image", o->pos[0]);
    jw_kv_int(&w, "target", target);
    jw_kv_string(&w, "target_rule", "the original model's predicted class, kept for every randomised model");
    jw_kv_int(&w, "seed", (long long)o->seed);
    jw_kv_string(&w, "randomisation", "per module, torch reset_parameters(): conv/linear U(-1/sqrt(fan_in), 1/sqrt(fan_in)) "
                                      "for weight and bias; batch norm weight 1, bias 0, running_mean 0, running_var 1; "
                                      "EngRng seeded by eng_rng_split(seed, step)");
    jw_kv_string(&w, "similarity", "Spearman rank correlation of the 2-D maps (average ranks); null if a map is constant");
    jw_kv_number(&w, "flag_threshold", MPRT_FLAG);
    jw_key(&w, "methods"); jw_array_begin(&w);
    for (int j = 0; j < nm; j++) jw_string(&w, ms[j]->name);
    jw_array_end(&w);
    jw_key(&w, "steps"); jw_array_begin(&w);
    for (int s = 0; s <= nmod; s++) {
        jw_object_begin(&w);
        jw_kv_int(&w, "step", s);
        jw_kv_string(&w, "randomised", s ? mods[nmod - s].name : NULL);
        jw_key(&w, "spearman"); jw_object_begin(&w);
        for (int j = 0; j < nm; j++) jw_kv_number(&w, ms[j]->name, corr[(size_t)s * nm + j]);
        jw_object_end(&w);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_key(&w, "final"); jw_object_begin(&w);
    for (int j = 0; j < nm; j++) jw_kv_number(&w, ms[j]->name, corr[(size_t)nmod * nm + j]);
    jw_object_end(&w);
    jw_key(&w, "flagged"); jw_array_begin(&w);
    for (int j = 0; j < nm; j++) if (corr[(size_t)nmod * nm + j] > MPRT_FLAG) jw_string(&w, ms[j]->name);
    jw_array_end(&w);
    jw_kv_string(&w, "flagged_means", "the map's Spearman correlation with the original is still above the threshold "
                                      "after every layer is randomised: it does not depend on the model");
    jw_object_end(&w);
    int bad = jw_error(&w);
    if (fclose(f) || bad) rc = cli_error("cannot write %s", path);
    else manifest_add_output(path);
    /* sanity.png */
    double *xs = malloc(sizeof(double) * (nmod + 1)), *ys = malloc(sizeof(double) * (size_t)(nmod + 1) * nm);
    PlotSeries *ser = calloc(nm, sizeof *ser);
    if (xs && ys && ser) {
        for (int s = 0; s <= nmod; s++) xs[s] = s;
        for (int j = 0; j < nm; j++) {
            for (int s = 0; s <= nmod; s++) ys[(size_t)j * (nmod + 1) + s] = corr[(size_t)s * nm + j];
            ser[j] = (PlotSeries){ms[j]->name, xs, ys + (size_t)j * (nmod + 1), nmod + 1};
        }
        snprintf(path, sizeof path, "%s/sanity.png", outdir);
        char title[160];
        snprintf(title, sizeof title, "MPRT %s: Spearman(original map, map) as layers are randomised from the top",
                 eng_model_arch(md->m));
        if (plot_png(path, title, "modules randomised (classifier first)", "Spearman", ser, nm, 0, nmod > 0 ? nmod : 1, -0.2, 1))
            rc = cli_error("cannot write %s", path);
        else manifest_add_output(path);
    }
    free(xs); free(ys); free(ser);
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
    if (o->n_pos != 1) return cli_error("usage: salient sanity -m MODEL IMAGE [-M METHODS] [-o OUTDIR] [--seed S]");
    const AttribMethod **ms;
    int nm;
    if (methods_parse(o->methods, SANITY_DEFAULT_METHODS, 0, &ms, &nm)) return 1;
    for (int j = 0; j < nm; j++)
        if (strcmp(method_spec(ms[j]), ms[j]->name)) {
            free(ms);
            return cli_error("sanity: -M %s: per-method parameters are not supported here; use the global options "
                             "(salient methods)", method_spec(ms[j]));
        }
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
    fprintf(stderr, "salient: MPRT on %s: %d methods, target class %d\n", o->pos[0], nm, target);
    if (mprt_run(&t, &P, ms, nm, o->seed, on_step, &pb)) { rc = cli_error("%s", eng_last_error()); goto done; }
    pbar_end(&pb);
    rc = write_outputs(outdir, o, &md, target, ms, nm, t.modules, t.n_modules, t.corr);
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
