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
     nearest-neighbour sampling, so pixels stay visible as pixels.

   Every heatmap figure (explain's <method>.png and grid.png, evaluate's
   gallery) opens with a band across its full width that says what was
   explained (figure_title): the true label when it is known, the predicted
   label with its probability, and the explained class when it is not the
   prediction; a second, smaller line lists the method settings that differ
   from the defaults. A wrong prediction puts the word WRONG in red at the
   start of the title and a thick red frame around the whole figure; a
   correct one, or one whose true label is unknown, has no red. When a
   lesion mask is known (explain and evaluate read <image>.mask.png), its
   outline is drawn in white on the input and on every map, so the reader
   sees at once whether a map points at the lesion. */
#ifndef EVAL_RENDER_H
#define EVAL_RENDER_H
#include <stddef.h>
#include <stdint.h>
#include "attrib/attrib.h"

typedef struct {
    int w, h;
    uint8_t *rgb;  /* (h, w, 3) */
} Canvas;

int canvas_new(Canvas *c, int w, int h, uint8_t gray);
void canvas_free(Canvas *c);
/* PNG, or JPEG of quality CANVAS_JPG_QUALITY when path ends in ".jpg"
   (the evaluation gallery: a sixth of the PNG's size). 0, or -1. */
#define CANVAS_JPG_QUALITY 92   /* above 90: stb keeps full-resolution colour, so thin red text stays red */
int canvas_write(const Canvas *c, const char *path);
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
/* The outline of a lesion mask (H,W): every mask pixel with a 4-neighbour
   outside the mask (or on the image's edge), drawn in rgb over a tile drawn
   at (x0, y0) with the same zoom. */
void draw_outline(Canvas *c, int x0, int y0, int zoom, const uint8_t *mask, int H, int W, const uint8_t rgb[3]);
/* A vertical colour bar of height h at (x0, y0) with 0 and 1 labels. */
void draw_colorbar(Canvas *c, int x0, int y0, int h);

int display_zoom(int H);

/* ---- rectangles ---- */
extern const uint8_t RENDER_BLACK[3], RENDER_RED[3], RENDER_GRAY[3], RENDER_WHITE[3];
/* Filled box (x, y, w, h), clipped to the canvas. */
void canvas_fill(Canvas *c, int x, int y, int w, int h, const uint8_t rgb[3]);
/* Outline of thickness t inside the box (x, y, w, h). */
void canvas_frame(Canvas *c, int x, int y, int w, int h, int t, const uint8_t rgb[3]);

/* ---- what a figure explains ---- */
typedef struct {
    int pred;               /* predicted class */
    const char *pred_name;
    double prob;            /* its softmax probability */
    int truth;              /* true class, -1 when unknown */
    const char *truth_name;
    int target;             /* explained class */
    const char *target_name;
    const char *settings;   /* second line ("steps 10, samples 3"), NULL or "" for none */
    const uint8_t *lesion;  /* S x S lesion mask (nonzero = lesion) outlined on every tile, or NULL */
} FigureInfo;

#define FIGURE_WRONG "WRONG"
#define FIGURE_FRAME 6      /* red frame thickness, px */
#define FIGURE_MARGIN 8     /* white margin around every figure (holds the frame) */

/* 1 correct, 0 wrong, -1 true label unknown. */
int figure_correct(const FigureInfo *f);
/* The title line, fields separated by two spaces:
     labelled:   "true: meningioma  pred: pituitary 0.32"
     wrong:      "WRONG  true: meningioma  pred: pituitary 0.32"
     unlabelled: "pred: pituitary 0.87"
   followed by "  target: NAME" when the explained class is not the
   predicted one. Probabilities with two decimals. Returns snprintf's count. */
int figure_title(const FigureInfo *f, char *buf, size_t n);
/* Height of the band for a figure of this width (the title wrapped at its
   fields and, if it has any, the settings line), and the band itself drawn
   at (x, y): scale-2 text when every field fits the width, else scale 1;
   WRONG in red, the rest black; the settings gray, at scale 2 when the
   whole line fits, else scale 1. */
int figure_band_height(const FigureInfo *f, int width);
void figure_band_draw(Canvas *c, int x, int y, int width, const FigureInfo *f);

/* The input and every map (n of them, max_cols tiles per row, input
   first) under the band; each tile titled ("input", then names[i]), a
   colour bar on the right; the red frame when the prediction is wrong.
   maps[i] NULL: the tile shows the input alone (a method that failed).
   clip99[i]: display scaling as display_scale. 0 or -1. */
int figure_grid(const char *path, const FigureInfo *f, const float *input01, int C, int S,
                const float *const *maps, const char *const *names, const int *clip99, int n, int max_cols);
/* One map: band, its name, the tile, the colour bar; the frame when wrong. */
int figure_map(const char *path, const FigureInfo *f, const float *input01, int C, int S, const float *map,
               const char *name, int clip99);
/* The network input (C, S, S) brought back for display: x * std[c] +
   mean[c], malloc'd; NULL when out of memory. */
float *figure_input01(const float *x, int C, int S, const float *mean, const float *std);
/* The gallery's file name of image number index named name (a path in the
   data set): "%06d_<stem>.jpg", the stem being the file name without its
   last extension, with each of space " ' < > & replaced by '_'. */
void figure_gallery_name(char *out, size_t n, int index, const char *name);
/* 1 when a file name in gallery/ is a gallery image: "*.jpg", or "*.png"
   as galleries were written before (reported and merged alike). */
int figure_gallery_file(const char *name);
/* figure_grid over a run's methods: each tile named by its method, the
   gradient family's maps clipped at the 99th percentile. 0 or -1. */
int figure_grid_methods(const char *path, const FigureInfo *f, const float *input01, int C, int S,
                        float *const *maps, const AttribMethod *const *ms, int n, int max_cols);
#endif
