/* render.c - heatmap drawing (see render.h for the conventions). */
#include "cli/render.h"
#include "io/image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

int canvas_write_png(const Canvas *c, const char *path) { return image_write_png(path, c->rgb, c->w, c->h, 3); }

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
