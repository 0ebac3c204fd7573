/* report.c - the offline HTML report (see report.h). It follows the rule of
   a page that must open on an air-gapped machine: one file, inline <style>,
   inline <svg>, images as data: URIs, a Content-Security-Policy that
   forbids every fetch, and no script. */
#include "eval/report.h"
#include "engine/error.h"
#include "eval/pic.h"
#include "eval/plot.h"
#include "eval/render.h"
#include "io/file.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>


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

/* Under a metric's table: the methods that do not beat the random baseline. */
static void baseline_note(FILE *f, const EvalSummary *s, EvalMetric m) {
    int r = eval_method_index(s, "random"), first[2] = {1, 1};
    if (r < 0) return;
    for (int kind = 0; kind < 2; kind++) {   /* 0: mean not better; 1: better, not significantly */
        for (int j = 0; j < s->n_methods; j++) {
            int v = j == r ? -2 : eval_vs_baseline(s, m, j, r);
            if (!((kind == 0 && v == -1) || (kind == 1 && v == 0))) continue;
            if (first[kind]) fputs(kind ? "<p class=\"warn\">Better than random on average but not significantly "
                                          "(Holm-adjusted Wilcoxon p &ge; 0.05): "
                                        : "<p class=\"warn\">Not better than random on this metric: ", f);
            else fputs(", ", f);
            html_esc(f, s->m[j].name);
            first[kind] = 0;
        }
        if (!first[kind]) fputs(".</p>\n", f);
    }
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
        if (st->n >= 2) { fputs("</td><td>[", f); num(f, st->ci[0], 4); fputs(", ", f); num(f, st->ci[1], 4); fputs("]", f); }
        else fputs("</td><td>one image or none: no interval", f);
        fprintf(f, "</td><td>%d</td>", st->n);
        if (m <= EM_AIC) {
            fputs("<td>", f); num(f, s->m[j].curve_auc[m][EVAL_MEAN], 4);
            fputs("</td><td>", f); num(f, s->m[j].curve_auc[m][EVAL_MEDIAN], 4);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    baseline_note(f, s, (EvalMetric)m);
}

/* Some method has a value of metric m on some image. */
static int metric_scored(const EvalSummary *s, int m) {
    for (int j = 0; j < s->n_methods; j++)
        if (s->m[j].stat[m].n > 0) return 1;
    return 0;
}

/* The PIC and insertion/deletion tables of the metrics that were scored,
   then one line naming those that were not (turned off, or every image
   skipped), instead of tables of empty cells. */
static void score_tables(FILE *f, const EvalSummary *s) {
    char none[128] = "";
    for (int m = EM_SIC; m <= EM_DELETION; m++) {
        if (metric_scored(s, m)) { metric_table(f, s, m); continue; }
        size_t L = strlen(none);
        snprintf(none + L, sizeof none - L, "%s%s", L ? ", " : "", eval_metric_names[m]);
    }
    if (none[0])
        fprintf(f, "<p class=\"note\">No values, so no table: %s (turned off for this run, or every image was "
                   "skipped; the skips are listed below).</p>\n", none);
}

/* The mass outside the head/body (every map computed), then the mask
   metrics when some image has a lesion mask. */
static void localisation_tables(FILE *f, const EvalSummary *s) {
    fputs("<h2>Localisation</h2>\n<p class=\"note\">Mass outside the head/body, for every map computed: the share of "
          "the map's positive mass outside the foreground, found by a smoothed intensity threshold (a Gaussian, then 0.1 "
          "of the 99th percentile, the largest region with its holes filled); lower is better.</p>\n", f);
    if (metric_scored(s, EM_OUTSIDE)) metric_table(f, s, EM_OUTSIDE);
    else fputs("<p class=\"note\">No values, so no table: outside (no map was computed, as for images PIC skips "
               "under <code>--maps scored</code>, or no image had a foreground).</p>\n", f);
    if (!s->has_masks) return;
    fputs("<p class=\"note\">Images with a lesion mask (<code>&lt;image&gt;.mask.png</code>): "
          "pointing game (the map's maximum inside the mask) and the fraction of the positive map mass inside it.</p>\n", f);
    metric_table(f, s, EM_POINTING);
    metric_table(f, s, EM_ENERGY);
}

static void pairwise_table(FILE *f, const EvalSummary *s, int m) {
    int K = s->n_methods;
    double floor_p = eval_min_holm_p(s, (EvalMetric)m);
    if (isnan(floor_p)) return;   /* no values: no table */
    if (floor_p >= 0.05) {
        fprintf(f, "<h3>%s</h3>\n<p class=\"warn\">Too few images for a test: the smallest Holm-adjusted p-value this "
                   "table could show is %.3g, so no difference can reach p &lt; 0.05 whatever the maps. The table is "
                   "left out; score more images.</p>\n", eval_metric_names[m], floor_p);
        return;
    }
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
        if ((eval_metric_needs_mask((EvalMetric)m) && !s->has_masks) || !metric_scored(s, m)) continue;
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
        if (figure_gallery_file(e->d_name)) names[n++] = strdup(e->d_name);
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
                size_t L = strlen(names[i]);
                fprintf(f, "<img alt=\"heatmaps\" src=\"data:image/%s;base64,", strcmp(names[i] + L - 4, ".jpg") ? "png" : "jpeg");
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
    ".note{color:#555;font-size:13px}.warn{color:#9a3412;background:#fff7ed;font-size:13px;padding:3px 6px}"
    ".findings{font-size:15px;max-width:60em}";

int report_write_html(const char *path, const EvalSummary *s, const JsonValue *run, const char *outdir) {
    FILE *f = fopen(path, "w");
    if (!f) return eng_fail("cannot write %s: %s", path, strerror(errno));
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
    char findings[4096];
    eval_summary_findings(s, findings, sizeof findings);
    fputs("<h2>Findings</h2>\n<p class=\"findings\">", f);
    html_esc(f, findings);
    fputs("</p>\n<p class=\"note\">Written by the program from the tables below.</p>\n", f);
    model_card(f, s, run);
    fputs("<h2>PIC curves</h2>\n<p class=\"note\">Per image, the prediction on a blurred image with the most salient "
          "pixels revealed against the information of that image (both normalised to [0,1]); curves aggregated point-wise "
          "over the images that were not skipped. The median AIC curve collapses towards 0 because per-image AIC curves "
          "are step functions, so both mean and median are shown.</p>\n<div>", f);
    for (int kind = 0; kind < 2; kind++)
        for (int st = 0; st < 2; st++) svg_curves(f, s, kind, st);
    fputs("</div>\n<h2>Scores per method</h2>\n<p class=\"note\">Per-image AUCs summarised over the images where the "
          "method has a value; 95% CI: percentile bootstrap of the mean. The best mean is in bold.</p>\n", f);
    score_tables(f, s);
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
    if (fclose(f)) return eng_fail("cannot write %s", path);
    return 0;
}

int report_write_outputs(const EvalSummary *s, const JsonValue *run, const char *outdir, void (*wrote)(const char *path),
                         char *err, size_t errlen) {
    const char *files[4] = {"summary.json", "curves.csv", "aic_sic.png", "report.html"};
    int failed = 0;
    for (int i = 0; i < 4; i++) {
        char path[2300];
        snprintf(path, sizeof path, "%s/%s", outdir, files[i]);
        int rc = i == 0 ? eval_summary_write_json(s, run, path)
               : i == 1 ? eval_summary_write_curves(s, path)
               : i == 2 ? report_write_curves_png(path, s)
                        : report_write_html(path, s, run, outdir);
        if (!rc) { if (wrote) wrote(path); continue; }
        if (!failed++) {
            if (i == 2) err_fail(err, errlen, "cannot write %s", path);
            else err_fail(err, errlen, "%s", eng_last_error());
        }
    }
    return failed ? -1 : 0;
}
