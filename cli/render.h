/* render.h - heatmap pictures for people: a colour map blended over the
   preprocessed input, a colour bar, titles in stb_easy_font's bitmap font,
   and the grid of every method side by side. RGB 8-bit canvases, written as
   PNG through io/image.h.

   Display conventions (documented in the README):
   - The map is min-max scaled to [0,1] for display. For the gradient family
     the top is clipped at the map's 99th percentile first, as PAIR's
     VisualizeImageGrayscale does (vmax = percentile 99, vmin = min), so a few
     extreme pixels do not wash out the picture. The saved .npy maps are
     never clipped.
   - Colour map: jet (OpenCV's COLORMAP_JET, pytorch-grad-cam's default),
     blended 50/50 over the input; gray inputs are shown as gray.
   - Tiles smaller than 224 px are enlarged by an integer factor with
     nearest-neighbour sampling, so pixels stay visible as pixels. */
#ifndef CLI_RENDER_H
#define CLI_RENDER_H
#include <stdint.h>

typedef struct {
    int w, h;
    uint8_t *rgb;  /* (h, w, 3) */
} Canvas;

int canvas_new(Canvas *c, int w, int h, uint8_t gray);
void canvas_free(Canvas *c);
int canvas_write_png(const Canvas *c, const char *path);
/* Text at (x, y) top-left, each font pixel drawn as scale x scale. */
void canvas_text(Canvas *c, int x, int y, const char *text, int scale, const uint8_t rgb[3]);
int canvas_text_width(const char *text, int scale);

/* Display scale of a map into [0,1]: min-max, with the top clipped at the
   99th percentile when clip99. out may equal map. */
void display_scale(float *out, const float *map, int n, int clip99);
void jet_color(float t, uint8_t rgb[3]);

/* Draws the input (C,H,W) in [0,1] with the display-scaled map blended over
   it (map NULL: the input alone) into c at (x0, y0), enlarged by zoom. */
void draw_tile(Canvas *c, int x0, int y0, int zoom, const float *input01, int C, int H, int W, const float *map01);
/* A vertical colour bar of height h at (x0, y0) with 0 and 1 labels. */
void draw_colorbar(Canvas *c, int x0, int y0, int h);

int display_zoom(int H);
#endif
