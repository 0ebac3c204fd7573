/* render.c - heatmap drawing (see render.h for the conventions). */
#include "eval/render.h"
#include "io/image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STB_EASY_FONT_IMPLEMENTATION
#include <stb/stb_easy_font.h>

int canvas_new(Canvas *c, int w, int h, uint8_t gray) {
    c->w = w; c->h = h;
    c->rgb = malloc((size_t)w * h * 3);
    if (!c->rgb) return -1;
    memset(c->rgb, gray, (size_t)w * h * 3);
    return 0;
}

void canvas_free(Canvas *c) { free(c->rgb); c->rgb = NULL; }

int canvas_write(const Canvas *c, const char *path) {
    size_t L = strlen(path);
    if (L > 4 && !strcasecmp(path + L - 4, ".jpg")) return image_write_jpg(path, c->rgb, c->w, c->h, 3, CANVAS_JPG_QUALITY);
    return image_write_png(path, c->rgb, c->w, c->h, 3);
}

static void put(Canvas *c, int x, int y, const uint8_t rgb[3]) {
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
    memcpy(c->rgb + ((size_t)y * c->w + x) * 3, rgb, 3);
}

int canvas_text_width(const char *text, int scale) { return stb_easy_font_width((char *)text) * scale; }

/* stb_easy_font emits axis-aligned quads (4 vertices of x, y, z, color);
   fill each one, scaled. */
void canvas_text(Canvas *c, int x, int y, const char *text, int scale, const uint8_t rgb[3]) {
    static char vbuf[64 * 1024];
    int nq = stb_easy_font_print(0, 0, (char *)text, NULL, vbuf, sizeof vbuf);
    for (int q = 0; q < nq; q++) {
        const float *v = (const float *)(vbuf + q * 4 * 16);
        int x0 = (int)v[0], y0 = (int)v[1], x1 = (int)v[8], y1 = (int)v[9];
        for (int yy = y0 * scale; yy < y1 * scale; yy++)
            for (int xx = x0 * scale; xx < x1 * scale; xx++) put(c, x + xx, y + yy, rgb);
    }
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* numpy.percentile(v, 99) with linear interpolation. */
static float percentile99(const float *map, int n) {
    float *s = malloc(sizeof(float) * n);
    if (!s) return map[0];
    memcpy(s, map, sizeof(float) * n);
    qsort(s, n, sizeof(float), cmp_float);
    double pos = 0.99 * (n - 1);
    int i = (int)pos;
    float r = i + 1 < n ? (float)(s[i] + (pos - i) * (s[i + 1] - s[i])) : s[n - 1];
    free(s);
    return r;
}

void display_scale(float *out, const float *map, int n, int clip99) {
    float lo = map[0], hi = map[0];
    for (int i = 0; i < n; i++) { if (map[i] < lo) lo = map[i]; if (map[i] > hi) hi = map[i]; }
    if (clip99) hi = percentile99(map, n);
    float d = hi - lo;
    for (int i = 0; i < n; i++) {
        float t = d > 0 ? (map[i] - lo) / d : 0.0f;
        out[i] = t < 0 ? 0 : t > 1 ? 1 : t;
    }
}

/* OpenCV's COLORMAP_JET as piecewise-linear ramps: blue -> cyan -> yellow -> red. */
void jet_color(float t, uint8_t rgb[3]) {
    float r = 1.5f - fabsf(4.0f * t - 3.0f), g = 1.5f - fabsf(4.0f * t - 2.0f), b = 1.5f - fabsf(4.0f * t - 1.0f);
    float v[3] = {r, g, b};
    for (int k = 0; k < 3; k++) rgb[k] = (uint8_t)lrintf(255.0f * (v[k] < 0 ? 0 : v[k] > 1 ? 1 : v[k]));
}

int display_zoom(int H) {
    int z = 1;
    while (H * (z + 1) <= 256) z++;
    return z;
}

void draw_tile(Canvas *c, int x0, int y0, int zoom, const float *input01, int C, int H, int W, const float *map01) {
    size_t plane = (size_t)H * W;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            size_t i = (size_t)y * W + x;
            float base[3];
            for (int k = 0; k < 3; k++) {
                float v = input01[(C == 3 ? k : 0) * plane + i];
                base[k] = v < 0 ? 0 : v > 1 ? 1 : v;
            }
            uint8_t px[3];
            if (map01) {
                uint8_t h[3];
                jet_color(map01[i], h);
                for (int k = 0; k < 3; k++) px[k] = (uint8_t)lrintf(0.5f * h[k] + 0.5f * 255.0f * base[k]);
            } else {
                for (int k = 0; k < 3; k++) px[k] = (uint8_t)lrintf(255.0f * base[k]);
            }
            for (int dy = 0; dy < zoom; dy++)
                for (int dx = 0; dx < zoom; dx++) put(c, x0 + x * zoom + dx, y0 + y * zoom + dy, px);
        }
}

static int outside_mask(const uint8_t *mask, int H, int W, int y, int x) {
    return y < 0 || x < 0 || y >= H || x >= W || !mask[(size_t)y * W + x];
}

void draw_outline(Canvas *c, int x0, int y0, int zoom, const uint8_t *mask, int H, int W, const uint8_t rgb[3]) {
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            if (!mask[(size_t)y * W + x]) continue;
            if (!outside_mask(mask, H, W, y - 1, x) && !outside_mask(mask, H, W, y + 1, x) &&
                !outside_mask(mask, H, W, y, x - 1) && !outside_mask(mask, H, W, y, x + 1)) continue;
            for (int dy = 0; dy < zoom; dy++)
                for (int dx = 0; dx < zoom; dx++) put(c, x0 + x * zoom + dx, y0 + y * zoom + dy, rgb);
        }
}

void draw_colorbar(Canvas *c, int x0, int y0, int h) {
    static const uint8_t black[3] = {0, 0, 0};
    for (int y = 0; y < h; y++) {
        uint8_t px[3];
        jet_color(1.0f - (float)y / (h - 1), px);
        for (int x = 0; x < 12; x++) put(c, x0 + x, y0 + y, px);
    }
    canvas_text(c, x0 + 16, y0, "1", 1, black);
    canvas_text(c, x0 + 16, y0 + h - 8, "0", 1, black);
}

/* ---- rectangles ---- */
const uint8_t RENDER_BLACK[3] = {0, 0, 0}, RENDER_RED[3] = {220, 0, 0}, RENDER_GRAY[3] = {90, 90, 90},
              RENDER_WHITE[3] = {255, 255, 255};

void canvas_fill(Canvas *c, int x, int y, int w, int h, const uint8_t rgb[3]) {
    for (int yy = y; yy < y + h; yy++)
        for (int xx = x; xx < x + w; xx++) put(c, xx, yy, rgb);
}

void canvas_frame(Canvas *c, int x, int y, int w, int h, int t, const uint8_t rgb[3]) {
    if (2 * t > w) t = w / 2;
    if (2 * t > h) t = h / 2;
    canvas_fill(c, x, y, w, t, rgb);
    canvas_fill(c, x, y + h - t, w, t, rgb);
    canvas_fill(c, x, y + t, t, h - 2 * t, rgb);
    canvas_fill(c, x + w - t, y + t, t, h - 2 * t, rgb);
}

/* ---- the band: what a figure explains ---- */
int figure_correct(const FigureInfo *f) { return f->truth < 0 ? -1 : f->truth == f->pred; }

#define MAX_FIELDS 8
#define FIELD_LEN 160
typedef struct {
    char s[MAX_FIELDS][FIELD_LEN];
    const uint8_t *color[MAX_FIELDS];
    int n;
} Fields;

static void add_field(Fields *fl, const uint8_t *color, const char *fmt, const char *name, double prob) {
    if (fl->n == MAX_FIELDS) return;
    if (prob >= 0) snprintf(fl->s[fl->n], FIELD_LEN, fmt, name ? name : "?", prob);
    else snprintf(fl->s[fl->n], FIELD_LEN, fmt, name ? name : "?");
    fl->color[fl->n++] = color;
}

static void title_fields(const FigureInfo *f, Fields *fl) {
    fl->n = 0;
    if (figure_correct(f) == 0) add_field(fl, RENDER_RED, "%s", FIGURE_WRONG, -1);
    if (f->truth >= 0) add_field(fl, RENDER_BLACK, "true: %.100s", f->truth_name, -1);
    double p = f->prob >= 0 ? f->prob : 0;
    add_field(fl, RENDER_BLACK, "pred: %.100s %.2f", f->pred_name, p);
    if (f->target != f->pred) add_field(fl, RENDER_BLACK, "target: %.100s", f->target_name, -1);
}

int figure_title(const FigureInfo *f, char *buf, size_t n) {
    Fields fl;
    title_fields(f, &fl);
    char all[MAX_FIELDS * (FIELD_LEN + 2)] = "";
    size_t len = 0;
    for (int i = 0; i < fl.n; i++) len += (size_t)snprintf(all + len, sizeof all - len, "%s%s", i ? "  " : "", fl.s[i]);
    return snprintf(buf, n, "%s", all);
}

/* The settings line in pieces that may wrap: "steps 10," "samples 3". */
static void settings_fields(const char *settings, Fields *fl) {
    fl->n = 0;
    if (!settings || !*settings) return;
    const char *p = settings;
    while (*p && fl->n < MAX_FIELDS) {
        const char *q = strstr(p, ", ");
        size_t L = q ? (size_t)(q - p) + 1 : strlen(p);
        if (L >= FIELD_LEN) L = FIELD_LEN - 1;
        if (fl->n == MAX_FIELDS - 1) L = strlen(p) < FIELD_LEN - 1 ? strlen(p) : FIELD_LEN - 1; /* the rest */
        memcpy(fl->s[fl->n], p, L);
        fl->s[fl->n][L] = 0;
        fl->color[fl->n++] = RENDER_GRAY;
        if (!q || fl->n == MAX_FIELDS) break;
        p = q + 2;
    }
}

/* Lays out fields greedily into lines of at most width pixels (separated
   by sep), drawing them when c is not NULL; returns the lines used. */
static int wrap_fields(Canvas *c, int x, int y, int width, const Fields *fl, int scale, const char *sep, int line_h) {
    int cx = 0, line = 0, sw = canvas_text_width(sep, scale);
    for (int i = 0; i < fl->n; i++) {
        int w = canvas_text_width(fl->s[i], scale);
        if (cx > 0 && cx + sw + w > width) { cx = 0; line++; }
        if (cx > 0) cx += sw;
        if (c) canvas_text(c, x + cx, y + line * line_h, fl->s[i], scale, fl->color[i]);
        cx += w;
    }
    return fl->n ? line + 1 : 0;
}

static int band(Canvas *c, int x, int y, int width, const FigureInfo *f) {
    Fields t, st;
    title_fields(f, &t);
    settings_fields(f->settings, &st);
    int scale = 2;
    for (int i = 0; i < t.n; i++) if (canvas_text_width(t.s[i], 2) > width) scale = 1;
    int lh = 11 * scale, h = wrap_fields(c, x, y, width, &t, scale, "  ", lh) * lh;
    if (st.n) {   /* scale 2 when the whole line fits, else scale 1, wrapped */
        int s2 = f->settings && canvas_text_width(f->settings, 2) <= width ? 2 : 1;
        h += 2 + wrap_fields(c, x, y + h + 2, width, &st, s2, " ", 11 * s2 + (s2 == 1)) * (11 * s2 + (s2 == 1));
    }
    static const uint8_t rule[3] = {200, 200, 200};
    if (c) canvas_fill(c, x, y + h + 1, width, 1, rule);   /* a thin rule under the band */
    return h + 4;
}

int figure_band_height(const FigureInfo *f, int width) { return band(NULL, 0, 0, width, f); }
void figure_band_draw(Canvas *c, int x, int y, int width, const FigureInfo *f) { band(c, x, y, width, f); }

int figure_grid(const char *path, const FigureInfo *f, const float *input01, int C, int S,
                const float *const *maps, const char *const *names, const int *clip99, int n, int max_cols) {
    const int M = FIGURE_MARGIN;
    int zoom = display_zoom(S), T = S * zoom, cols = n + 1 < max_cols ? n + 1 : max_cols, rows = (n + 1 + cols - 1) / cols;
    int cw = T + 8, ch = T + 26, W = cols * cw + 40 + 2 * M;
    int bh = figure_band_height(f, W - 2 * M - 8), oy = M + bh, H = oy + rows * ch + 4 + M;
    Canvas cv;
    if (canvas_new(&cv, W, H, 255)) return -1;
    float *m01 = malloc(sizeof(float) * S * S);
    if (!m01) { canvas_free(&cv); return -1; }
    figure_band_draw(&cv, M + 4, M, W - 2 * M - 8, f);
    for (int i = 0; i <= n; i++) {
        int x0 = M + (i % cols) * cw + 4, y0 = oy + (i / cols) * ch + 4;
        const float *mp = i ? maps[i - 1] : NULL;
        canvas_text(&cv, x0, y0, i ? names[i - 1] : "input", 2, RENDER_BLACK);
        if (mp) display_scale(m01, mp, S * S, clip99[i - 1]);
        draw_tile(&cv, x0, y0 + 20, zoom, input01, C, S, S, mp ? m01 : NULL);
        if (f->lesion) draw_outline(&cv, x0, y0 + 20, zoom, f->lesion, S, S, RENDER_WHITE);
    }
    draw_colorbar(&cv, M + cols * cw + 8, oy + 24, T);
    if (figure_correct(f) == 0) canvas_frame(&cv, 0, 0, W, H, FIGURE_FRAME, RENDER_RED);
    int rc = canvas_write(&cv, path);
    free(m01);
    canvas_free(&cv);
    return rc;
}

int figure_map(const char *path, const FigureInfo *f, const float *input01, int C, int S, const float *map,
               const char *name, int clip99) {
    const int M = FIGURE_MARGIN;
    int zoom = display_zoom(S), T = S * zoom, W = T + 44 + 2 * M;
    int bh = figure_band_height(f, W - 2 * M - 8), oy = M + bh, H = oy + 22 + T + M;
    Canvas cv;
    if (canvas_new(&cv, W, H, 255)) return -1;
    float *m01 = malloc(sizeof(float) * S * S);
    if (!m01) { canvas_free(&cv); return -1; }
    figure_band_draw(&cv, M + 4, M, W - 2 * M - 8, f);
    display_scale(m01, map, S * S, clip99);
    canvas_text(&cv, M + 4, oy, name, 2, RENDER_BLACK);
    draw_tile(&cv, M, oy + 22, zoom, input01, C, S, S, m01);
    if (f->lesion) draw_outline(&cv, M, oy + 22, zoom, f->lesion, S, S, RENDER_WHITE);
    draw_colorbar(&cv, M + T + 4, oy + 22, T);
    if (figure_correct(f) == 0) canvas_frame(&cv, 0, 0, W, H, FIGURE_FRAME, RENDER_RED);
    int rc = canvas_write(&cv, path);
    free(m01);
    canvas_free(&cv);
    return rc;
}

int figure_grid_methods(const char *path, const FigureInfo *f, const float *input01, int C, int S,
                        float *const *maps, const AttribMethod *const *ms, int n, int max_cols) {
    size_t nm = n > 0 ? (size_t)n : 1;
    const char **names = calloc(nm, sizeof *names);
    int *clip = calloc(nm, sizeof *clip), rc = -1;
    if (names && clip) {
        for (int k = 0; k < n; k++) {
            names[k] = ms[k]->name;
            clip[k] = ms[k]->family == FAMILY_GRADIENT;
        }
        rc = figure_grid(path, f, input01, C, S, (const float *const *)maps, names, clip, n, max_cols);
    }
    free(names); free(clip);
    return rc;
}

float *figure_input01(const float *x, int C, int S, const float *mean, const float *std) {
    size_t plane = (size_t)S * S;
    float *in01 = malloc(sizeof(float) * C * plane);
    for (int c = 0; in01 && c < C; c++)
        for (size_t i = 0; i < plane; i++) in01[c * plane + i] = x[c * plane + i] * std[c] + mean[c];
    return in01;
}

void figure_gallery_name(char *out, size_t n, int index, const char *name) {
    char stem[200];
    const char *base = strrchr(name, '/');
    snprintf(stem, sizeof stem, "%s", base ? base + 1 : name);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem) *dot = 0;
    for (char *p = stem; *p; p++) if (*p == ' ' || *p == '"' || *p == '\'' || *p == '<' || *p == '>' || *p == '&') *p = '_';
    snprintf(out, n, "%06d_%s.jpg", index, stem);
}

int figure_gallery_file(const char *name) {
    size_t L = strlen(name);
    return name[0] != '.' && L > 4 && (!strcmp(name + L - 4, ".jpg") || !strcmp(name + L - 4, ".png"));
}
