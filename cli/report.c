/* report.c - the offline HTML report, line plots on a canvas, and the
   helpers shared by evaluate, merge and sanity (see report.h). The HTML
   follows the rule of a page that must open on an air-gapped machine: one
   file, inline <style>, inline <svg>, images as data: URIs, a
   Content-Security-Policy that forbids every fetch, and no script. */
#include "cli/report.h"
#include "attrib/defaults.h"
#include "eval/pic.h"
#include "io/file.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ================= shared helpers ================= */

int methods_parse(const char *list, const char *deflt, int add_random, const AttribMethod ***out, int *n) {
    int cap = attrib_n_methods() + 1, k = 0;
    const AttribMethod **v = calloc(cap, sizeof *v);
    if (!v) return cli_error("out of memory");
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", list ? list : deflt);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strcmp(tok, "all")) {
            for (int i = 0; i < attrib_n_methods(); i++) {
                const AttribMethod *am = attrib_method(i);
                int dup = 0;
                for (int j = 0; j < k; j++) dup |= v[j] == am;
                if (am->run && !dup) v[k++] = am;
            }
            continue;
        }
        const AttribMethod *am = attrib_find(tok);
        if (!am) {
            free(v);
            fprintf(stderr, "salient: unknown method '%s'; known:", tok);
            for (int i = 0; i < attrib_n_methods(); i++) fprintf(stderr, " %s", attrib_method(i)->name);
            fprintf(stderr, "\n");
            return 1;
        }
        if (!am->run) { free(v); return cli_error("method '%s' is not built into this binary", tok); }
        int dup = 0;
        for (int j = 0; j < k; j++) dup |= v[j] == am;
        if (!dup) v[k++] = am;
    }
    if (add_random) {
        const AttribMethod *r = attrib_find("random");
        int have = 0;
        for (int j = 0; j < k; j++) have |= v[j] == r;
        if (!have && r && r->run) v[k++] = r;
    }
    if (!k) { free(v); return cli_error("no methods given"); }
    *out = v;
    *n = k;
    return 0;
}

int mkdir_p(const char *path) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) { errno = ENAMETOOLONG; return -1; }
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') { *p = 0; if (mkdir(tmp, 0755) && errno != EEXIST) return -1; *p = '/'; }
    return (mkdir(tmp, 0755) && errno != EEXIST) ? -1 : 0;
}

/* Calls fn(id, default, ctx) for each parameter the method reads, in the
   registry's order (attrib/registry.c). */
typedef void (*ParamFn)(AttribParamId id, const AttribParamDefault *d, void *ctx);
static void method_each_param(const char *method, ParamFn fn, void *ctx) {
    const AttribMethod *m = attrib_find(method);
    for (int i = 0; m && i < ATTRIB_MAX_PARAMS && m->params[i].id != AP_END; i++) fn(m->params[i].id, &m->params[i], ctx);
}

/* The value a method runs with for a numeric parameter under these options. */
static double param_value(AttribParamId id, const AttribParamDefault *d, const Opts *o) {
    AttribParams P;
    attrib_params_default(&P);
    opts_to_attrib_params(o, &P);
    return attrib_param_or(&P, id, d->def);
}

/* The baseline a method runs with: the option, except that XRAI ignores
   named baselines (only a file replaces its min/max pair). */
static const char *baseline_used(const AttribParamDefault *d, const Opts *o) {
    BaselineKind named;
    if (!o->baseline) return d->text_def;
    if (!strcmp(d->text_def, XRAI_BASELINES) && !attrib_baseline_parse(o->baseline, &named)) return d->text_def;
    return o->baseline;
}

typedef struct { JsonWriter *w; const Opts *o; const char *layer; } ParamsJson;

static void param_json(AttribParamId id, const AttribParamDefault *d, void *ctx) {
    const ParamsJson *c = ctx;
    const char *key = attrib_param_info(id)->key;
    if (id == AP_BASELINE) jw_kv_string(c->w, key, baseline_used(d, c->o));
    else if (id == AP_LAYER) jw_kv_string(c->w, key, c->layer);
    else jw_kv_number(c->w, key, param_value(id, d, c->o));
}

void method_params_json(JsonWriter *w, const char *method, const Opts *o, const char *layer) {
    ParamsJson c = {w, o, layer};
    method_each_param(method, param_json, &c);
}

typedef struct {
    const Opts *o;
    const char *default_layer;
    char seen[512], line[1024];   /* " key key " already listed; the line so far */
    size_t L;
} SettingsLine;

static void param_setting(AttribParamId id, const AttribParamDefault *d, void *ctx) {
    SettingsLine *c = ctx;
    const Opts *o = c->o;
    const char *key = attrib_param_info(id)->key;
    char val[128], pat[80];
    if (id == AP_BASELINE) {
        const char *b = baseline_used(d, o);
        if (!strcmp(b, d->text_def)) return;
        snprintf(val, sizeof val, "%.100s", b);
    } else if (id == AP_LAYER) {
        if (!o->layer || (c->default_layer && !strcmp(o->layer, c->default_layer))) return;
        snprintf(val, sizeof val, "%.100s", o->layer);
    } else {
        double v = param_value(id, d, o);
        if (v == d->def) return;
        snprintf(val, sizeof val, "%g", v);
    }
    snprintf(pat, sizeof pat, " %s ", key);
    if (strstr(c->seen, pat)) return;
    if (strlen(c->seen) + strlen(key) + 2 < sizeof c->seen) { strcat(c->seen, key); strcat(c->seen, " "); }
    if (c->L < sizeof c->line)
        c->L += (size_t)snprintf(c->line + c->L, sizeof c->line - c->L, "%s%s %s", c->L ? ", " : "", key, val);
}

int figure_grid_methods_png(const char *path, const FigureInfo *f, const float *input01, int C, int S,
                            float *const *maps, const AttribMethod *const *ms, int n, int max_cols) {
    size_t nm = n > 0 ? (size_t)n : 1;
    const char **names = calloc(nm, sizeof *names);
    int *clip = calloc(nm, sizeof *clip), rc = -1;
    if (names && clip) {
        for (int k = 0; k < n; k++) {
            names[k] = ms[k]->name;
            clip[k] = ms[k]->family == FAMILY_GRADIENT;
        }
        rc = figure_grid_png(path, f, input01, C, S, (const float *const *)maps, names, clip, n, max_cols);
    }
    free(names); free(clip);
    return rc;
}

void method_settings_line(char *buf, size_t n, const AttribMethod *const *ms, int n_methods, const Opts *o,
                          const char *default_layer) {
    SettingsLine c = {o, default_layer, " ", "", 0};
    for (int m = 0; m < n_methods; m++) method_each_param(ms[m]->name, param_setting, &c);
    snprintf(buf, n, "%s%s", c.L ? "non-default settings: " : "", c.line);
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

static void pbar_draw(ProgressBar *pb, const char *label) {
    double el = attrib_now() - pb->t0, rate = el > 0 ? pb->computed / el : 0;
    double left = rate > 0 ? (pb->total - pb->done) / rate : NAN;
    char eta[32], spent[32];
    fmt_duration(eta, sizeof eta, left);
    fmt_duration(spent, sizeof spent, el);
    int pct = pb->total > 0 ? (int)(100 * pb->done / pb->total) : 100;
    if (pb->tty) {
        int width = 28, fill = pb->total > 0 ? (int)(width * pb->done / pb->total) : width;
        fprintf(stderr, "\r[");
        for (int i = 0; i < width; i++) fputc(i < fill ? '#' : '.', stderr);
        fprintf(stderr, "] %3d%% %ld/%ld %s  %.3g/s  %s left  %-36.36s", pct, pb->done, pb->total, pb->what, rate, eta,
                label ? label : "");
        fflush(stderr);
        return;
    }
    long every = pb->total / 20 > 0 ? pb->total / 20 : 1;
    if (pb->done - pb->last_line >= every || pb->done == pb->total) {
        pb->last_line = pb->done;
        fprintf(stderr, "salient: %ld/%ld %s (%d%%), %.2f/s, %s spent, %s left\n", pb->done, pb->total, pb->what, pct,
                rate, spent, eta);
    }
}

void pbar_end(ProgressBar *pb) {
    if (pb->tty) fprintf(stderr, "\r%*s\r", 110, "");
}

/* ================= plots on a canvas ================= */

static const uint8_t palette[10][3] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}, {148, 103, 189},
    {140, 86, 75}, {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};

void plot_color(int i, uint8_t rgb[3]) { memcpy(rgb, palette[((i % 10) + 10) % 10], 3); }

static void put_px(Canvas *c, int x, int y, const uint8_t rgb[3]) {
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
    memcpy(c->rgb + ((size_t)y * c->w + x) * 3, rgb, 3);
}

/* A line of width 2 (Bresenham, each point drawn as a 2x2 block). */
static void draw_line(Canvas *c, int x0, int y0, int x1, int y1, const uint8_t rgb[3], int thick) {
    int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1, dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1, e = dx + dy;
    for (int guard = 0; guard < 100000; guard++) {
        for (int a = 0; a < thick; a++) for (int b = 0; b < thick; b++) put_px(c, x0 + a, y0 + b, rgb);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * e;
        if (e2 >= dy) { e += dy; x0 += sx; }
        if (e2 <= dx) { e += dx; y0 += sy; }
    }
}

void plot_draw(Canvas *c, int x0, int y0, int w, int h, const char *title, const char *xlabel, const PlotSeries *s,
               int ns, double xmin, double xmax, double ymin, double ymax, int legend) {
    static const uint8_t black[3] = {0, 0, 0}, grid[3] = {225, 225, 225}, gray[3] = {90, 90, 90};
    int L = x0 + 46, R = x0 + w - 12, T = y0 + 26, B = y0 + h - 34;
    if (R <= L + 10 || B <= T + 10) return;
    canvas_text(c, x0 + (w - canvas_text_width(title, 2)) / 2, y0 + 4, title, 2, black);
    for (int g = 0; g <= 5; g++) {
        int yy = B - (B - T) * g / 5, xx = L + (R - L) * g / 5;
        draw_line(c, L, yy, R, yy, grid, 1);
        draw_line(c, xx, T, xx, B, grid, 1);
        char lab[32];
        snprintf(lab, sizeof lab, "%.3g", ymin + (ymax - ymin) * g / 5);
        canvas_text(c, L - 6 - canvas_text_width(lab, 1), yy - 3, lab, 1, gray);
        snprintf(lab, sizeof lab, "%.3g", xmin + (xmax - xmin) * g / 5);
        canvas_text(c, xx - canvas_text_width(lab, 1) / 2, B + 5, lab, 1, gray);
    }
    draw_line(c, L, B, R, B, black, 1);
    draw_line(c, L, T, L, B, black, 1);
    if (xlabel) canvas_text(c, L + (R - L - canvas_text_width(xlabel, 1)) / 2, B + 18, xlabel, 1, black);
    double sx = (R - L) / (xmax - xmin), sy = (B - T) / (ymax - ymin);
    for (int k = 0; k < ns; k++) {
        uint8_t col[3];
        plot_color(k, col);
        int have = 0, px = 0, py = 0;
        for (int i = 0; i < s[k].n; i++) {
            double xv = s[k].x[i], yv = s[k].y[i];
            if (!isfinite(xv) || !isfinite(yv)) { have = 0; continue; }
            if (yv < ymin) yv = ymin;
            if (yv > ymax) yv = ymax;
            int qx = L + (int)lround((xv - xmin) * sx), qy = B - (int)lround((yv - ymin) * sy);
            if (have) draw_line(c, px, py, qx, qy, col, 2);
            else put_px(c, qx, qy, col);
            px = qx; py = qy; have = 1;
        }
    }
    /* legend inside the axes, on a white box: top left, or bottom right */
    int lw = 0;
    for (int k = 0; k < ns; k++) { int tw = canvas_text_width(s[k].name, 1); if (tw > lw) lw = tw; }
    lw += 34;
    int lh = 12 * ns + 6, lx = legend ? R - lw - 6 : L + 4, ly0 = legend == 1 ? B - lh - 6 : T + 4;
    static const uint8_t white[3] = {255, 255, 255};
    for (int yy = ly0; yy < ly0 + lh; yy++) draw_line(c, lx, yy, lx + lw, yy, white, 1);
    for (int k = 0; k < ns; k++) {
        uint8_t col[3];
        plot_color(k, col);
        int ly = ly0 + 4 + 12 * k;
        draw_line(c, lx + 4, ly + 3, lx + 20, ly + 3, col, 2);
        canvas_text(c, lx + 26, ly, s[k].name, 1, black);
    }
}

int plot_png(const char *path, const char *title, const char *xlabel, const char *ylabel, const PlotSeries *s, int ns,
             double xmin, double xmax, double ymin, double ymax) {
    Canvas c;
    if (canvas_new(&c, 760, 480, 255)) return -1;
    plot_draw(&c, 10, 4, 740, 466, title, xlabel, s, ns, xmin, xmax, ymin, ymax, 2);
    static const uint8_t black[3] = {0, 0, 0};
    if (ylabel) canvas_text(&c, 8, 14, ylabel, 1, black);
    int rc = canvas_write_png(&c, path);
    canvas_free(&c);
    return rc;
}

int report_write_curves_png(const char *path, const EvalSummary *s) {
    Canvas c;
    int pw = 560, ph = 400;
    if (canvas_new(&c, 2 * pw + 20, 2 * ph + 40, 255)) return -1;
    static const uint8_t black[3] = {0, 0, 0};
    const char *t = "PIC curves: y = normalised prediction, x = normalised information (salient evaluate)";
    canvas_text(&c, 10, 8, t, 2, black);
    double x[PIC_N_CURVE];
    for (int i = 0; i < PIC_N_CURVE; i++) x[i] = pic_curve_x(i);
    PlotSeries *ser = calloc(s->n_methods + 1, sizeof *ser);
    char (*names)[96] = calloc(s->n_methods + 1, sizeof *names);
    if (!ser || !names) { free(ser); free(names); canvas_free(&c); return -1; }
    for (int kind = 0; kind < 2; kind++)
        for (int st = 0; st < 2; st++) {
            for (int j = 0; j < s->n_methods; j++) {
                if (isfinite(s->m[j].curve_auc[kind][st]))
                    snprintf(names[j], sizeof names[j], "%s (AUC %.3f, n %d)", s->m[j].name, s->m[j].curve_auc[kind][st],
                             s->m[j].n_curves[kind]);
                else snprintf(names[j], sizeof names[j], "%s (no image)", s->m[j].name);
                ser[j] = (PlotSeries){names[j], x, s->m[j].curve[kind][st], s->m[j].curve[kind][st] ? PIC_N_CURVE : 0};
            }
            char title[64];
            snprintf(title, sizeof title, "%s %s curve", st ? "median" : "mean", kind ? "AIC" : "SIC");
            plot_draw(&c, 10 + st * pw, 34 + kind * ph, pw - 10, ph - 6, title, "normalised information", ser,
                      s->n_methods, 0, 1, 0, 1, 1);
        }
    int rc = canvas_write_png(&c, path);
    free(ser);
    free(names);
    canvas_free(&c);
    return rc;
}

/* ================= HTML ================= */

static void html_esc(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void num(FILE *f, double v, int digits) {
    if (isfinite(v)) fprintf(f, "%.*f", digits, v);
    else fputs("&ndash;", f);
}

static void pval(FILE *f, double p) {
    if (!isfinite(p)) fputs("&ndash;", f);
    else if (p < 1e-4) fprintf(f, "%.1e", p);
    else fprintf(f, "%.4f", p);
}

static void hex_color(int i, char out[8]) {
    uint8_t c[3];
    plot_color(i, c);
    snprintf(out, 8, "#%02x%02x%02x", c[0], c[1], c[2]);
}

/* Polyline points in pixel space, dropping points within 0.05 px of the
   straight line through their neighbours (flat and linear stretches). */
static void svg_polyline(FILE *f, const double *y, int L, int T, int W, int H, const char *color) {
    double px[PIC_N_CURVE], py[PIC_N_CURVE];
    int n = 0;
    for (int i = 0; i < PIC_N_CURVE; i++) {
        if (!isfinite(y[i])) continue;
        px[n] = L + pic_curve_x(i) * W;
        py[n] = T + (1 - y[i]) * H;
        n++;
    }
    if (!n) return;
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\" points=\"", color);
    int last = 0;
    fprintf(f, "%.1f,%.1f", px[0], py[0]);
    for (int i = 1; i < n; i++) {
        if (i + 1 < n) {
            double t = (px[i] - px[last]) / (px[i + 1] - px[last] + 1e-12);
            double yl = py[last] + t * (py[i + 1] - py[last]);
            if (fabs(yl - py[i]) < 0.05) continue;
        }
        fprintf(f, " %.1f,%.1f", px[i], py[i]);
        last = i;
    }
    fputs("\"/>\n", f);
}

static void svg_curves(FILE *f, const EvalSummary *s, int kind, int st) {
    const int Wd = 440, Hd = 330, L = 44, T = 28, W = Wd - L - 14, H = Hd - T - 40;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "role=\"img\" aria-label=\"%s %s curves\">\n", Wd, Hd, Wd, Hd, st ? "median" : "mean", kind ? "AIC" : "SIC");
    fprintf(f, "<text x=\"%d\" y=\"18\" font-size=\"14\" text-anchor=\"middle\">%s %s curve</text>\n", Wd / 2,
            st ? "Median" : "Mean", kind ? "AIC" : "SIC");
    for (int g = 0; g <= 5; g++) {
        double v = g / 5.0;
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", L, L + W, T + (1 - v) * H, T + (1 - v) * H);
        fprintf(f, "<line y1=\"%d\" y2=\"%d\" x1=\"%.1f\" x2=\"%.1f\" stroke=\"#ddd\"/>", T, T + H, L + v * W, L + v * W);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%.1f</text>", L - 4, T + (1 - v) * H + 3, v);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%.1f</text>\n", L + v * W, T + H + 13, v);
    }
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#333\"/>\n", L, T, W, H);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">normalised information</text>\n", L + W / 2, Hd - 8);
    fprintf(f, "<text x=\"12\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" transform=\"rotate(-90 12 %d)\">"
               "normalised %s</text>\n", T + H / 2, T + H / 2, kind ? "accuracy" : "softmax");
    for (int j = 0; j < s->n_methods; j++) {
        char col[8];
        hex_color(j, col);
        if (s->m[j].curve[kind][st]) svg_polyline(f, s->m[j].curve[kind][st], L, T, W, H, col);
    }
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"154\" height=\"%d\" fill=\"#fff\" opacity=\"0.85\"/>\n", L + W - 154,
            T + H - 13 * s->n_methods - 4, 13 * s->n_methods + 2);
    for (int j = 0; j < s->n_methods; j++) {
        char col[8];
        hex_color(j, col);
        int ly = T + H - 13 * (s->n_methods - j) + 6; /* legend bottom right: PIC curves rise on the left */
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>", L + W - 150, L + W - 134,
                ly - 4, ly - 4, col);
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\">", L + W - 130, ly);
        html_esc(f, s->m[j].name);
        fprintf(f, " (");
        num(f, s->m[j].curve_auc[kind][st], 3);
        fprintf(f, ", n %d)</text>\n", s->m[j].n_curves[kind]);
    }
    fputs("</svg>\n", f);
}

static const char *metric_title(int m) {
    static const char *const t[EM_COUNT] = {"SIC AUC (higher is better)", "AIC AUC (higher is better)",
                                            "Insertion AUC (higher is better)", "Deletion AUC (lower is better)",
                                            "Pointing game hit rate (higher is better)", "Energy inside the mask (higher is better)",
                                            "Mass outside the head/body (lower is better)"};
    return t[m];
}

static void metric_table(FILE *f, const EvalSummary *s, int m) {
    int best = -1;
    for (int j = 0; j < s->n_methods; j++) {
        double v = s->m[j].stat[m].mean;
        if (!isfinite(v)) continue;
        if (best < 0 || (eval_metric_higher_is_better((EvalMetric)m) ? v > s->m[best].stat[m].mean : v < s->m[best].stat[m].mean)) best = j;
    }
    fprintf(f, "<h3>%s</h3>\n<table><tr><th>method</th><th>mean</th><th>median</th><th>95%% CI of the mean</th><th>n</th>", metric_title(m));
    if (m <= EM_AIC) fputs("<th>AUC of mean curve</th><th>AUC of median curve</th>", f);
    fputs("</tr>\n", f);
    for (int j = 0; j < s->n_methods; j++) {
        const EvalStat *st = &s->m[j].stat[m];
        fprintf(f, "<tr%s><td>", j == best ? " class=\"best\"" : "");
        html_esc(f, s->m[j].name);
        fputs("</td><td>", f); num(f, st->mean, 4);
        fputs("</td><td>", f); num(f, st->median, 4);
        fputs("</td><td>[", f); num(f, st->ci[0], 4); fputs(", ", f); num(f, st->ci[1], 4);
        fprintf(f, "]</td><td>%d</td>", st->n);
        if (m <= EM_AIC) {
            fputs("<td>", f); num(f, s->m[j].curve_auc[m][EVAL_MEAN], 4);
            fputs("</td><td>", f); num(f, s->m[j].curve_auc[m][EVAL_MEDIAN], 4);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* The mass outside the head/body (every image), then the mask metrics when
   some image has a lesion mask. */
static void localisation_tables(FILE *f, const EvalSummary *s) {
    fputs("<h2>Localisation</h2>\n<p class=\"note\">Mass outside the head/body, for every image: the share of the "
          "map's positive mass outside the foreground, found by a smoothed intensity threshold (a Gaussian, then 0.1 of "
          "the 99th percentile, the largest region with its holes filled); lower is better.</p>\n", f);
    metric_table(f, s, EM_OUTSIDE);
    if (!s->has_masks) return;
    fputs("<p class=\"note\">Images with a lesion mask (<code>&lt;image&gt;.mask.png</code>): "
          "pointing game (the map's maximum inside the mask) and the fraction of the positive map mass inside it.</p>\n", f);
    metric_table(f, s, EM_POINTING);
    metric_table(f, s, EM_ENERGY);
}

static void pairwise_table(FILE *f, const EvalSummary *s, int m) {
    int K = s->n_methods;
    fprintf(f, "<h3>%s</h3>\n<table class=\"mat\"><tr><th></th>", eval_metric_names[m]);
    for (int b = 0; b < K; b++) { fputs("<th>", f); html_esc(f, s->m[b].name); fputs("</th>", f); }
    fputs("</tr>\n", f);
    for (int a = 0; a < K; a++) {
        fputs("<tr><th>", f);
        html_esc(f, s->m[a].name);
        fputs("</th>", f);
        for (int b = 0; b < K; b++) {
            if (a == b) { fputs("<td class=\"diag\"></td>", f); continue; }
            const EvalPair *pr = NULL;
            for (int p = 0; p < s->n_pairs; p++)
                if ((int)s->pairs[p].metric == m && ((s->pairs[p].a == a && s->pairs[p].b == b) || (s->pairs[p].a == b && s->pairs[p].b == a)))
                    pr = &s->pairs[p];
            if (!pr) { fputs("<td></td>", f); continue; }
            double diff = pr->a == a ? pr->mean_diff : -pr->mean_diff;
            int sig = isfinite(pr->p_holm) && pr->p_holm < 0.05;
            int better = eval_metric_higher_is_better((EvalMetric)m) ? diff > 0 : diff < 0;
            fprintf(f, "<td class=\"%s\" title=\"n=%d W=%g p=%g; %s\">", sig ? (better ? "win" : "loss") : "ns", pr->n,
                    pr->statistic, pr->p, pr->note);
            pval(f, pr->p_holm);
            fprintf(f, " %s</td>", !isfinite(diff) ? "" : diff > 0 ? "&#9650;" : diff < 0 ? "&#9660;" : "=");
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void friedman_table(FILE *f, const EvalSummary *s) {
    fputs("<table><tr><th>metric</th><th>&chi;&sup2;</th><th>p</th><th>n images</th>", f);
    for (int j = 0; j < s->n_methods; j++) { fputs("<th>", f); html_esc(f, s->m[j].name); fputs("</th>", f); }
    fputs("<th>note</th></tr>\n", f);
    for (int m = 0; m < EM_COUNT; m++) {
        if (eval_metric_needs_mask((EvalMetric)m) && !s->has_masks) continue;
        const EvalFriedman *fr = &s->friedman[m];
        fprintf(f, "<tr><td>%s</td><td>", eval_metric_names[m]);
        num(f, fr->statistic, 3);
        fputs("</td><td>", f);
        pval(f, fr->p);
        fprintf(f, "</td><td>%d</td>", fr->n);
        for (int j = 0; j < s->n_methods; j++) { fputs("<td>", f); num(f, fr->mean_ranks ? fr->mean_ranks[j] : NAN, 2); fputs("</td>", f); }
        fputs("<td>", f);
        html_esc(f, fr->note);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static const char *label_name(const JsonValue *labels, int k, char *buf, size_t n) {
    const char *s = json_string(json_at(labels, k));
    if (s) return s;
    snprintf(buf, n, "class %d", k);
    return buf;
}

static void model_card(FILE *f, const EvalSummary *s, const JsonValue *run) {
    const JsonValue *m = json_get(run, "model"), *labels = json_get(m, "labels");
    fputs("<h2>Model</h2>\n<table class=\"kv\">", f);
    const char *keys[] = {"path", "arch", "sha256", "classes", "channels", "input_size"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const JsonValue *v = json_get(m, keys[i]);
        if (!v) continue;
        fprintf(f, "<tr><th>%s</th><td>", keys[i]);
        if (json_type(v) == JSON_STRING) html_esc(f, json_string(v));
        else fprintf(f, "%g", json_number(v));
        fputs("</td></tr>", f);
    }
    fprintf(f, "<tr><th>accuracy</th><td>");
    num(f, s->accuracy, 4);
    fprintf(f, " on %d labelled images</td></tr></table>\n", s->n_labelled);
    fputs("<h3>Confusion matrix (rows: true class, columns: predicted)</h3>\n<table class=\"mat\"><tr><th></th>", f);
    char b[32];
    for (int k = 0; k < s->n_classes; k++) { fputs("<th>", f); html_esc(f, label_name(labels, k, b, sizeof b)); fputs("</th>", f); }
    fputs("</tr>\n", f);
    for (int a = 0; a < s->n_classes; a++) {
        fputs("<tr><th>", f);
        html_esc(f, label_name(labels, a, b, sizeof b));
        fputs("</th>", f);
        for (int c = 0; c < s->n_classes; c++)
            fprintf(f, "<td%s>%ld</td>", a == c ? " class=\"diag\"" : "", s->confusion ? s->confusion[(size_t)a * s->n_classes + c] : 0L);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void json_inline(FILE *f, const JsonValue *v) {
    switch (json_type(v)) {
    case JSON_NULL: fputs("null", f); break;
    case JSON_BOOL: fputs(json_bool(v) ? "true" : "false", f); break;
    case JSON_NUMBER: fprintf(f, "%.10g", json_number(v)); break;
    case JSON_STRING: html_esc(f, json_string(v)); break;
    case JSON_ARRAY:
        fputs("[", f);
        for (size_t i = 0; i < json_len(v); i++) { if (i) fputs(", ", f); json_inline(f, json_at(v, i)); }
        fputs("]", f);
        break;
    case JSON_OBJECT:
        for (size_t i = 0; i < json_len(v); i++) {
            if (i) fputs("; ", f);
            html_esc(f, json_key_at(v, i));
            fputs(" = ", f);
            json_inline(f, json_at(v, i));
        }
        break;
    }
}

static void settings(FILE *f, const JsonValue *run) {
    fputs("<h2>Data, settings and provenance</h2>\n<table class=\"kv\">\n", f);
    for (size_t i = 0; i < json_len(run); i++) {
        const char *k = json_key_at(run, i);
        if (!strcmp(k, "model") || !strcmp(k, "method_params")) continue;
        fputs("<tr><th>", f);
        html_esc(f, k);
        fputs("</th><td>", f);
        json_inline(f, json_at(run, i));
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n<h3>Method parameters</h3>\n<table class=\"kv\">\n", f);
    const JsonValue *mp = json_get(run, "method_params");
    for (size_t i = 0; i < json_len(mp); i++) {
        fputs("<tr><th>", f);
        html_esc(f, json_key_at(mp, i));
        fputs("</th><td>", f);
        if (json_len(json_at(mp, i))) json_inline(f, json_at(mp, i));
        else fputs("(no parameters)", f);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void skips(FILE *f, const EvalSummary *s) {
    fputs("<h2>Skipped images and failures</h2>\n<table class=\"kv\">\n", f);
    fprintf(f, "<tr><th>images listed</th><td>%d (%d with a prediction)</td></tr>\n", s->n_images, s->n_predicted);
    fprintf(f, "<tr><th>unreadable images</th><td>%d", s->n_unreadable);
    for (int i = 0; i < 4 && s->unreadable_example[i]; i++) { fputs("<br><code>", f); html_esc(f, s->unreadable_example[i]); fputs("</code>", f); }
    fputs("</td></tr>\n", f);
    static const char *const why[4] = {"", "the original prediction is below min_pred",
                                       "the fully blurred image has at least the original's information",
                                       "the fully blurred image has at least the original's prediction"};
    for (int k = 0; k < 2; k++)
        for (int c = 1; c < 4; c++)
            fprintf(f, "<tr><th>%s skipped: %s</th><td>%d images (%s)</td></tr>\n", k ? "AIC" : "SIC", pic_skip_name((PicSkip)c),
                    s->skip_counts[k][c], why[c]);
    for (int j = 0; j < s->n_methods; j++) {
        if (!s->m[j].n_failed) continue;
        fputs("<tr><th>failed rows: ", f);
        html_esc(f, s->m[j].name);
        fprintf(f, "</th><td>%d</td></tr>\n", s->m[j].n_failed);
    }
    fputs("</table>\n", f);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(FILE *f, const uint8_t *d, size_t n) {
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
        fputc(b64[v >> 18 & 63], f);
        fputc(b64[v >> 12 & 63], f);
        fputc(i + 1 < n ? b64[v >> 6 & 63] : '=', f);
        fputc(i + 2 < n ? b64[v & 63] : '=', f);
    }
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

#define GALLERY_MAX 12
#define GALLERY_MAX_BYTES ((size_t)4 << 20)

static void gallery(FILE *f, const char *outdir) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/gallery", outdir);
    DIR *d = opendir(dir);
    if (!d) return;
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        size_t L = strlen(e->d_name);
        if (e->d_name[0] != '.' && L > 4 && !strcmp(e->d_name + L - 4, ".png")) names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (!n) return;
    qsort(names, n, sizeof *names, cmp_str);
    fputs("<h2>Gallery</h2>\n<p>Each image with every method's map (jet colour map over the input; maps min-max "
          "scaled for display, gradient maps clipped at their 99th percentile). The band above the maps gives the "
          "image's true label, the predicted label with its probability and the method settings that differ from "
          "the defaults; a wrong prediction is marked WRONG in red and framed in red. The files are in "
          "<code>gallery/</code> next to this report.</p>\n", f);
    for (int i = 0; i < n; i++) {
        if (i < GALLERY_MAX) {
            char p[4400], err[256];
            snprintf(p, sizeof p, "%s/%s", dir, names[i]);
            uint8_t *buf = NULL;
            size_t len = 0;
            fputs("<figure>", f);
            if (!io_read_file(p, GALLERY_MAX_BYTES, &buf, &len, err, sizeof err)) {
                fputs("<img alt=\"heatmaps\" src=\"data:image/png;base64,", f);
                base64(f, buf, len);
                fputs("\">", f);
            } else {
                fputs("<p>(", f);
                html_esc(f, err);
                fputs(")</p>", f);
            }
            free(buf);
            fputs("<figcaption>", f);
            html_esc(f, names[i]);
            fputs("</figcaption></figure>\n", f);
        }
        free(names[i]);
    }
}

static const char *css =
    "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1400px}"
    "table{border-collapse:collapse;margin:.4em 0 1em}td,th{border:1px solid #ccc;padding:2px 7px;font-size:13px;text-align:right}"
    "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}table.kv td{text-align:left}"
    "tr.best td{font-weight:bold;background:#eef7ee}td.win{background:#cfeccf}td.loss{background:#f6d2d2}td.ns{color:#666}"
    "td.diag{background:#eee}figure{display:inline-block;margin:.4em;vertical-align:top}figure img{max-width:100%}"
    "figcaption{font-size:12px;color:#555}svg{margin:.3em;border:1px solid #eee}code{font-size:12px}"
    ".note{color:#555;font-size:13px}";

int report_write_html(const char *path, const EvalSummary *s, const JsonValue *run, const char *outdir) {
    FILE *f = fopen(path, "w");
    if (!f) return cli_error("cannot write %s: %s", path, strerror(errno));
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\n"
          "<title>salient evaluation report</title>\n<style>", f);
    fputs(css, f);
    fputs("</style></head><body>\n<h1>Saliency evaluation</h1>\n<p class=\"note\">", f);
    const char *ver = json_string(json_get(run, "salient_version"));
    fputs("Written by salient ", f);
    html_esc(f, ver ? ver : SALIENT_VERSION);
    time_t t = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&t));
    fprintf(f, " on %s. %d images, %d methods. This page makes no network request: plots are inline SVG, "
               "images are embedded.</p>\n", when, s->n_images, s->n_methods);
    model_card(f, s, run);
    fputs("<h2>PIC curves</h2>\n<p class=\"note\">Per image, the prediction on a blurred image with the most salient "
          "pixels revealed against the information of that image (both normalised to [0,1]); curves aggregated point-wise "
          "over the images that were not skipped. The median AIC curve collapses towards 0 because per-image AIC curves "
          "are step functions, so both mean and median are shown.</p>\n<div>", f);
    for (int kind = 0; kind < 2; kind++)
        for (int st = 0; st < 2; st++) svg_curves(f, s, kind, st);
    fputs("</div>\n<h2>Scores per method</h2>\n<p class=\"note\">Per-image AUCs summarised over the images where the "
          "method has a value; 95% CI: percentile bootstrap of the mean. The best mean is in bold.</p>\n", f);
    for (int m = EM_SIC; m <= EM_DELETION; m++) metric_table(f, s, m);
    localisation_tables(f, s);
    fputs("<h3>Time</h3>\n<table><tr><th>method</th><th>mean seconds per image (map and its metrics)</th></tr>\n", f);
    for (int j = 0; j < s->n_methods; j++) {
        fputs("<tr><td>", f);
        html_esc(f, s->m[j].name);
        fputs("</td><td>", f);
        num(f, s->m[j].seconds_mean, 3);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n<h2>Pairwise comparisons</h2>\n<p class=\"note\">Holm-adjusted p-values of paired Wilcoxon "
          "signed-rank tests (scipy.stats.wilcoxon defaults) on the images where both methods have a value; Holm within "
          "each metric. &#9650;: the row's mean is higher than the column's. Green: the row method is significantly "
          "better (p<sub>Holm</sub> &lt; 0.05), red: significantly worse. Hover a cell for n, W and the raw p.</p>\n", f);
    for (int m = 0; m < EM_COUNT; m++) {
        if (eval_metric_needs_mask((EvalMetric)m) && !s->has_masks) continue;
        pairwise_table(f, s, m);
    }
    fputs("<h2>Friedman tests</h2>\n<p class=\"note\">Over the images where every method has a value. Mean ranks: "
          "rank 1 = the smallest value in an image, so higher is better except for deletion and outside.</p>\n", f);
    friedman_table(f, s);
    skips(f, s);
    settings(f, run);
    gallery(f, outdir);
    fputs("</body></html>\n", f);
    if (fclose(f)) return cli_error("cannot write %s", path);
    return 0;
}
