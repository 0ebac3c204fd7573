/* cmd_sanity.c - `salient sanity`: the model parameter randomisation test
   (MPRT; Adebayo et al. 2018, "Sanity checks for saliency maps"), cascading
   from the top as Quantus' ModelParameterRandomisation does with
   PyTorchModel.get_random_layer_generator(order="top_down").

   What Quantus does, and we follow:
   - the layers are the modules that have reset_parameters() (here: every
     conv, batch norm and linear layer), in named_modules() order reversed,
     so the classifier goes first, then the last block's last batch norm,
     its conv, ... down to the stem (conv1 / features.conv0);
   - each step re-initialises ONE more module, cumulatively, as torch's
     reset_parameters() does: conv and linear weights kaiming_uniform(a=
     sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), biases U(-1/sqrt(
     fan_in), 1/sqrt(fan_in)); batch norm gamma = 1, beta = 0, running mean
     0 and running variance 1 (BatchNorm2d.reset_parameters also resets the
     running statistics, so a randomised BN layer becomes x / sqrt(1 + eps));
   - after each step every method's map is recomputed for the same image
     and the same target class (the original prediction), and compared with
     the original model's map by the Spearman rank correlation (Quantus'
     default similarity_func correlation_spearman) of the 2-D maps as the
     PIC metric ranks them (no absolute value, no normalisation: the rank
     correlation does not depend on a positive scale).
   Differences from Quantus: torch.manual_seed(seed + 1) before each module
   gives torch's draws; ours come from EngRng seeded with
   eng_rng_split(seed, step), the same distribution, not the same numbers.
   A method whose correlation is still above 0.9 after every layer is
   randomised is flagged: its map does not depend on the model (the
   `random` baseline is the expected example).

   Outputs in OUTDIR: sanity.csv (step,module,<method>...; step 0 is the
   original model), sanity.json, sanity.png (correlation against the
   number of randomised layers), manifest.json. The model is copied
   (parameters memcpy'd into a fresh graph) and the copy is randomised. */
#include "attrib/attrib.h"
#include "cli/audit.h"
#include "cli/cli.h"
#include "cli/report.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "eval/stats.h"
#include "io/image.h"
#include "io/json.h"
#include "weights/load.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SANITY_DEFAULT_METHODS "guidedig,ig,sg-ig,xrai,gradcam,gradcampp,scorecam,random"
#define SANITY_FLAG 0.9

/* A module: the parameters sharing one prefix ("layer4.1.bn2"). */
typedef struct {
    char name[ENG_NAME_MAX];
    int first, count;     /* parameter indices [first, first + count) */
} Module;

static int list_modules(EngModel *m, Module **out) {
    int np = eng_model_n_params(m), n = 0;
    Module *v = calloc(np + 1, sizeof *v);
    if (!v) return -1;
    for (int i = 0; i < np; i++) {
        const char *nm = eng_model_param(m, i)->name, *dot = strrchr(nm, '.');
        size_t L = dot ? (size_t)(dot - nm) : strlen(nm);
        if (n && strlen(v[n - 1].name) == L && !strncmp(v[n - 1].name, nm, L)) { v[n - 1].count++; continue; }
        snprintf(v[n].name, sizeof v[n].name, "%.*s", (int)L, nm);
        v[n].first = i;
        v[n].count = 1;
        n++;
    }
    *out = v;
    return n;
}

static const char *leaf(const char *name) {
    const char *d = strrchr(name, '.');
    return d ? d + 1 : name;
}

/* torch's reset_parameters() for the module, from the seeded generator. */
static void reset_module(EngModel *m, const Module *mod, uint64_t seed) {
    EngRng r;
    eng_rng_seed(&r, seed);
    EngParam *w = NULL;
    int is_bn = 0;
    for (int i = 0; i < mod->count; i++) {
        EngParam *p = eng_model_param(m, mod->first + i);
        if (!strcmp(leaf(p->name), "running_mean")) is_bn = 1;
        if (!strcmp(leaf(p->name), "weight")) w = p;
    }
    for (int i = 0; i < mod->count; i++) {
        EngParam *p = eng_model_param(m, mod->first + i);
        const char *lf = leaf(p->name);
        if (is_bn) {
            float v = (!strcmp(lf, "weight") || !strcmp(lf, "running_var")) ? 1.0f : 0.0f;
            for (size_t k = 0; k < p->numel; k++) p->data[k] = v;
            continue;
        }
        /* conv (O,I,kh,kw) or linear (O,I): fan_in = numel / O */
        size_t fan_in = w && w->shape[0] > 0 ? w->numel / (size_t)w->shape[0] : 1;
        double bound = fan_in ? 1.0 / sqrt((double)fan_in) : 0.0;
        for (size_t k = 0; k < p->numel; k++) p->data[k] = (float)((2.0 * eng_rng_uniform(&r) - 1.0) * bound);
    }
}

/* Spearman rank correlation (scipy.stats.spearmanr): Pearson of average
   ranks; NaN if either map is constant. */
static double spearman(const float *a, const float *b, int n, double *ra, double *rb, double *tmp) {
    for (int i = 0; i < n; i++) tmp[i] = a[i];
    stats_rankdata(ra, tmp, n);
    for (int i = 0; i < n; i++) tmp[i] = b[i];
    stats_rankdata(rb, tmp, n);
    double ma = 0, mb = 0;
    for (int i = 0; i < n; i++) { ma += ra[i]; mb += rb[i]; }
    ma /= n; mb /= n;
    double sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) {
        double x = ra[i] - ma, y = rb[i] - mb;
        sab += x * y; saa += x * x; sbb += y * y;
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : NAN;
}

static EngModel *copy_model(EngModel *m) {
    char err[256];
    EngModel *c = weights_model_for_arch(eng_model_arch(m), eng_model_in_channels(m), eng_model_n_classes(m), err, sizeof err);
    if (!c) { cli_error("cannot copy the model: %s", err); return NULL; }
    for (int i = 0; i < eng_model_n_params(m); i++) {
        EngParam *a = eng_model_param(m, i), *b = eng_model_param(c, i);
        if (!b || a->numel != b->numel || strcmp(a->name, b->name)) { eng_model_free(c); cli_error("model copy: parameter %d differs", i); return NULL; }
        memcpy(b->data, a->data, sizeof(float) * a->numel);
    }
    return c;
}

static int write_outputs(const char *outdir, const Opts *o, const Model *md, int target, const AttribMethod **ms,
                         int nm, const Module *mods, int nmod, const double *corr) {
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
    jw_kv_number(&w, "flag_threshold", SANITY_FLAG);
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
    for (int j = 0; j < nm; j++) if (corr[(size_t)nmod * nm + j] > SANITY_FLAG) jw_string(&w, ms[j]->name);
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

int cmd_sanity(const Opts *o) {
    if (o->n_pos != 1) return cli_error("usage: salient sanity -m MODEL IMAGE [-M METHODS] [-o OUTDIR] [--seed S]");
    const AttribMethod **ms;
    int nm;
    if (methods_parse(o->methods, SANITY_DEFAULT_METHODS, 0, &ms, &nm)) return 1;
    Model md;
    if (model_open(&md, o)) { free(ms); return 1; }
    eng_set_threads(o->threads);
    eng_set_reference(o->reference);
    const char *outdir = o->outdir ? o->outdir : "salient-out";
    int C = eng_model_in_channels(md.m), S = md.size, K = eng_model_n_classes(md.m), rc = 0, n = S * S;
    float *x = malloc(sizeof(float) * C * (size_t)n), *logits = malloc(sizeof(float) * K);
    float **orig = calloc(nm, sizeof(float *));
    double *ra = malloc(sizeof(double) * n), *rb = malloc(sizeof(double) * n), *tmp = malloc(sizeof(double) * n);
    Module *mods = NULL;
    double *corr = NULL;
    EngModel *rnd = NULL;
    char err[600];
    AttribParams P;
    attrib_params_default(&P);
    if (!x || !logits || !orig || !ra || !rb || !tmp) { rc = cli_error("out of memory"); goto done; }
    if (mkdir_p(outdir)) { rc = cli_error("cannot create %s: %s", outdir, strerror(errno)); goto done; }
    if (image_preprocess(o->pos[0], C, S, md.mean, md.std, x, err, sizeof err)) { rc = cli_error("%s", err); goto done; }
    manifest_add_input(md.path);
    manifest_add_input(o->pos[0]);
    P.model = md.m; P.x = x; P.C = C; P.H = P.W = S; P.mean = md.mean; P.std = md.std;
    opts_to_attrib_params(o, &P);
    float *prob = malloc(sizeof(float) * K);
    int target = prob ? attrib_predict(&P, x, logits, prob) : -1;
    free(prob);
    if (target < 0) { rc = cli_error("%s", eng_last_error()); goto done; }
    P.target = target;
    /* the original maps */
    for (int j = 0; j < nm; j++) {
        AttribResult R;
        if (ms[j]->run(&P, &R)) { rc = cli_error("%s on the original model: %s", ms[j]->name, eng_last_error()); goto done; }
        orig[j] = R.map; R.map = NULL;
        attrib_result_free(&R);
    }
    attrib_params_release(&P);
    if (!(rnd = copy_model(md.m))) { rc = 1; goto done; }
    int nmod = list_modules(rnd, &mods);
    if (nmod < 1) { rc = cli_error("the model has no parameters"); goto done; }
    corr = malloc(sizeof(double) * (size_t)(nmod + 1) * nm);
    if (!corr) { rc = cli_error("out of memory"); goto done; }
    for (int j = 0; j < nm; j++) corr[j] = 1.0;
    fprintf(stderr, "salient: MPRT on %s: %d modules, %d methods, target class %d\n", o->pos[0], nmod, nm, target);
    P.model = rnd;
    ProgressBar pb;
    pbar_start(&pb, "layers", nmod);
    for (int s = 1; s <= nmod && !rc; s++) {
        const Module *mod = &mods[nmod - s];
        reset_module(rnd, mod, eng_rng_split(o->seed, (uint64_t)s));
        attrib_params_release(&P); /* nothing derived from the weights is cached, but start clean */
        for (int j = 0; j < nm; j++) {
            AttribResult R;
            if (ms[j]->run(&P, &R)) { rc = cli_error("%s after randomising %s: %s", ms[j]->name, mod->name, eng_last_error()); break; }
            corr[(size_t)s * nm + j] = spearman(orig[j], R.map, n, ra, rb, tmp);
            attrib_result_free(&R);
        }
        pbar_step(&pb, 1, mod->name);
    }
    pbar_end(&pb);
    if (!rc) rc = write_outputs(outdir, o, &md, target, ms, nm, mods, nmod, corr);
    if (!rc) {
        printf("%-14s %10s %10s %10s  %s\n", "method", "top", "half", "all", "(Spearman with the original map after randomising)");
        for (int j = 0; j < nm; j++) {
            double fin = corr[(size_t)nmod * nm + j];
            printf("%-14s %10.4f %10.4f %10.4f  %s\n", ms[j]->name, corr[(size_t)1 * nm + j], corr[(size_t)(nmod / 2) * nm + j],
                   fin, fin > SANITY_FLAG ? "FLAGGED: does not depend on the model" : "");
        }
        char mp[2300];
        snprintf(mp, sizeof mp, "%s/manifest.json", outdir);
        if (manifest_write(mp)) rc = 1;
    }
done:
    attrib_params_release(&P);
    if (orig) for (int j = 0; j < nm; j++) free(orig[j]);
    free(orig); free(x); free(logits); free(ra); free(rb); free(tmp); free(mods); free(corr);
    eng_model_free(rnd);
    free(ms);
    model_close(&md);
    return rc;
}
