/* plot.c - line plots on a canvas (see plot.h). */
#include "eval/plot.h"
#include "eval/pic.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


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

/* The tick spacing: the smallest of 1, 2, 2.5, 5 times a power of ten that
   cuts range into at most 6 intervals (whole numbers only when integer). */
static double nice_step(double range, int integer) {
    static const double mant[4] = {1, 2, 2.5, 5};
    for (double p = 1e-6; p < 1e12; p *= 10)
        for (int i = 0; i < 4; i++) {
            double step = mant[i] * p;
            if (integer && step != floor(step)) continue;
            if (range / step <= 6 + 1e-9) return step;
        }
    return range;
}

/* Grid lines and tick labels at multiples of the axis' nice step. */
static void draw_ticks(Canvas *c, int L, int R, int T, int B, double xmin, double xmax, double ymin, double ymax) {
    static const uint8_t grid[3] = {225, 225, 225}, gray[3] = {90, 90, 90};
    int xint = xmin == floor(xmin) && xmax == floor(xmax) && xmax - xmin >= 2;
    double xs = nice_step(xmax - xmin, xint), ys = nice_step(ymax - ymin, 0);
    char lab[32];
    for (double v = ceil(ymin / ys - 1e-9) * ys; v <= ymax + 1e-9 * ys; v += ys) {
        int yy = B - (int)lround((v - ymin) / (ymax - ymin) * (B - T));
        draw_line(c, L, yy, R, yy, grid, 1);
        snprintf(lab, sizeof lab, "%.3g", fabs(v) < 1e-9 * ys ? 0.0 : v);
        canvas_text(c, L - 6 - canvas_text_width(lab, 1), yy - 3, lab, 1, gray);
    }
    for (double v = ceil(xmin / xs - 1e-9) * xs; v <= xmax + 1e-9 * xs; v += xs) {
        int xx = L + (int)lround((v - xmin) / (xmax - xmin) * (R - L));
        draw_line(c, xx, T, xx, B, grid, 1);
        snprintf(lab, sizeof lab, "%.3g", fabs(v) < 1e-9 * xs ? 0.0 : v);
        canvas_text(c, xx - canvas_text_width(lab, 1) / 2, B + 5, lab, 1, gray);
    }
}

static void draw_series(Canvas *c, int L, int T, int R, int B, const PlotSeries *s, int ns, double xmin, double xmax,
                        double ymin, double ymax) {
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
}

static int legend_width(const PlotSeries *s, int ns) {
    int lw = 0;
    for (int k = 0; k < ns; k++) { int tw = canvas_text_width(s[k].name, 1); if (tw > lw) lw = tw; }
    return lw + 34;
}

/* The legend on a white box of width lw with its top left at (lx, ly0). */
static void draw_legend(Canvas *c, int lx, int ly0, int lw, const PlotSeries *s, int ns) {
    static const uint8_t white[3] = {255, 255, 255}, black[3] = {0, 0, 0};
    int lh = 12 * ns + 6;
    for (int yy = ly0; yy < ly0 + lh; yy++) draw_line(c, lx, yy, lx + lw, yy, white, 1);
    for (int k = 0; k < ns; k++) {
        uint8_t col[3];
        plot_color(k, col);
        int ly = ly0 + 4 + 12 * k;
        draw_line(c, lx + 4, ly + 3, lx + 20, ly + 3, col, 2);
        canvas_text(c, lx + 26, ly, s[k].name, 1, black);
    }
}

/* title centred in [x0, x0 + w) with its top at y: double size if it fits,
   else single size (a little lower); NULL: nothing. */
static void draw_title(Canvas *c, int x0, int w, int y, const char *title) {
    static const uint8_t black[3] = {0, 0, 0};
    if (!title) return;
    int scale = canvas_text_width(title, 2) <= w ? 2 : 1;
    canvas_text(c, x0 + (w - canvas_text_width(title, scale)) / 2, y + (2 - scale) * 4, title, scale, black);
}

void plot_draw(Canvas *c, int x0, int y0, int w, int h, const char *title, const char *xlabel, const PlotSeries *s,
               int ns, double xmin, double xmax, double ymin, double ymax, int legend) {
    static const uint8_t black[3] = {0, 0, 0};
    int lw = legend_width(s, ns);
    int L = x0 + 46, R = x0 + w - 12 - (legend == PLOT_LEGEND_OUTSIDE ? lw + 8 : 0), T = y0 + 26, B = y0 + h - 34;
    if (R <= L + 10 || B <= T + 10 || !(xmax > xmin) || !(ymax > ymin)) return;
    draw_title(c, x0, w, y0 + 4, title);
    draw_ticks(c, L, R, T, B, xmin, xmax, ymin, ymax);
    draw_line(c, L, B, R, B, black, 1);
    draw_line(c, L, T, L, B, black, 1);
    if (xlabel) canvas_text(c, L + (R - L - canvas_text_width(xlabel, 1)) / 2, B + 18, xlabel, 1, black);
    draw_series(c, L, T, R, B, s, ns, xmin, xmax, ymin, ymax);
    int lh = 12 * ns + 6;
    int lx = legend == PLOT_LEGEND_OUTSIDE ? R + 8 : legend ? R - lw - 6 : L + 4;
    int ly0 = legend == 1 ? B - lh - 6 : T + 4;
    draw_legend(c, lx, ly0, lw, s, ns);
}

int plot_png(const char *path, const char *title, const char *xlabel, const char *ylabel, const PlotSeries *s, int ns,
             double xmin, double xmax, double ymin, double ymax) {
    Canvas c;
    if (canvas_new(&c, 900, 480, 255)) return -1;
    static const uint8_t black[3] = {0, 0, 0};
    draw_title(&c, 10, 880, 8, title);
    if (ylabel) canvas_text(&c, 10, 30, ylabel, 1, black);
    plot_draw(&c, 10, 20, 880, 456, NULL, xlabel, s, ns, xmin, xmax, ymin, ymax, PLOT_LEGEND_OUTSIDE);
    int rc = canvas_write(&c, path);
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
    int rc = canvas_write(&c, path);
    free(ser);
    free(names);
    canvas_free(&c);
    return rc;
}

