/* common.c - helpers shared by the commands (see common.h). */
#include "cli/common.h"
#include "eval/settings.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* Values given for one method alone in -M ("guidedig:steps=25"); the
   values for every method are copied from the options at each use. */
static MethodSettings g_set;

const MethodSettings *method_settings_of(const Opts *o) {
    memcpy(g_set.param, o->param, sizeof g_set.param);
    g_set.layer = o->layer;
    g_set.baseline = o->baseline;
    return &g_set;
}

void method_prepare(AttribParams *P, const Opts *o, const AttribMethod *m) { method_settings_apply(method_settings_of(o), P, m); }
const char *method_spec(const AttribMethod *m) { return method_settings_spec(&g_set, m); }

void method_params_json(JsonWriter *w, const char *method, const Opts *o, const char *layer) {
    method_settings_json(w, method_settings_of(o), attrib_find(method), layer);
}

void method_settings_line(char *buf, size_t n, const AttribMethod *const *ms, int n_methods, const Opts *o,
                          const char *default_layer) {
    method_settings_caption(buf, n, method_settings_of(o), ms, n_methods, default_layer);
}

int methods_parse(const char *list, const char *deflt, int add_random, const AttribMethod ***out, int *n) {
    char err[2400];
    if (method_settings_parse_list(&g_set, list, deflt, add_random, out, n, err, sizeof err)) return cli_error("%s", err);
    return 0;
}

static void fmt_duration(char *b, size_t n, double s) {
    if (!isfinite(s) || s < 0) { snprintf(b, n, "?"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(b, n, "%ldh%02ldm", t / 3600, t % 3600 / 60);
    else if (t >= 60) snprintf(b, n, "%ldm%02lds", t / 60, t % 60);
    else snprintf(b, n, "%lds", t);
}

void pbar_start(ProgressBar *pb, const char *what, long total) {
    memset(pb, 0, sizeof *pb);
    pb->tty = isatty(2);
    pb->total = total;
    pb->what = what;
    pb->t0 = attrib_now();
}

static void pbar_draw(ProgressBar *pb, const char *label);

void pbar_show(ProgressBar *pb, const char *label) {
    if (pb && pb->tty) pbar_draw(pb, label);
}

void pbar_step(ProgressBar *pb, int computed, const char *label) {
    pb->done++;
    pb->computed += computed != 0;
    pbar_draw(pb, label);
}

/* The rate counts only the items computed in this run (not those skipped as
   already done), and is unknown ("?") until one was computed and a second
   has passed: a rate from a few milliseconds means nothing. */
static void pbar_draw(ProgressBar *pb, const char *label) {
    double el = attrib_now() - pb->t0, rate = pb->computed > 0 && el >= 1.0 ? pb->computed / el : 0;
    double left = rate > 0 ? (pb->total - pb->done) / rate : NAN;
    char eta[32], spent[32], speed[32];
    fmt_duration(eta, sizeof eta, left);
    fmt_duration(spent, sizeof spent, el);
    if (rate > 0) snprintf(speed, sizeof speed, "%.3g/s", rate);
    else snprintf(speed, sizeof speed, "?/s");
    int pct = pb->total > 0 ? (int)(100 * pb->done / pb->total) : 100;
    if (pb->tty) {
        int width = 28, fill = pb->total > 0 ? (int)(width * pb->done / pb->total) : width;
        fprintf(stderr, "\r[");
        for (int i = 0; i < width; i++) fputc(i < fill ? '#' : '.', stderr);
        fprintf(stderr, "] %3d%% %ld/%ld %s  %s  %s left  %-36.36s", pct, pb->done, pb->total, pb->what, speed, eta,
                label ? label : "");
        fflush(stderr);
        return;
    }
    long every = pb->total / 20 > 0 ? pb->total / 20 : 1;
    if (pb->done - pb->last_line >= every || pb->done == pb->total) {
        pb->last_line = pb->done;
        fprintf(stderr, "salient: %ld/%ld %s (%d%%), %s, %s spent, %s left\n", pb->done, pb->total, pb->what, pct,
                speed, spent, eta);
    }
}

void pbar_attrib_progress(void *ctx, long done, long total) {
    ProgressBar *pb = ctx;
    if (!pb->tty || total <= 0) return;
    if (done <= 1 || total != pb->total) { pb->t0 = attrib_now(); pb->total = total; }
    pb->done = pb->computed = done;
    pbar_draw(pb, NULL);
    if (done >= total) pbar_end(pb);
}

void pbar_end(ProgressBar *pb) {
    if (pb->tty) fprintf(stderr, "\r%*s\r", 110, "");
}

