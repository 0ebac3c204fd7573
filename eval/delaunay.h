/* delaunay.h - exact 2-D Delaunay triangulation of integer grid points and
   the PIC metric's "blurred image": linear interpolation of unknown pixels
   over the Delaunay triangulation of the known ones, as PAIR's pic.py
   create_blurred_image does with scipy.interpolate.griddata(method='linear').

   Usage:
     uint8_t *out = malloc(h * w * c);
     if (pic_interpolate_fill(img, h, w, c, known, out) < 0)
         fprintf(stderr, "%s\n", eng_last_error());

     DtMesh m;                                  // the triangulation alone
     if (dt_build(&m, xs, ys, n) < 0) ... eng_last_error() ...
     int t = dt_locate(&m, px, py, -1);         // triangle holding (px,py)
     dt_free(&m);

   Triangulation contract:
     - Points are distinct integers in [0, DT_MAX_COORD]; their bounding box
       must have positive width and height and its 4 corners must be among
       the points (the PIC image corners are always known). Then every
       point lies in the box, which is the convex hull: the triangulation
       starts from the box's two triangles and inserts the other points.
     - Predicates are exact in int64 (bounds proved in delaunay.c), so the
       result is a true Delaunay triangulation: no point strictly inside any
       triangle's circumcircle. Where 4+ points are co-circular with an
       empty circle (common on a grid) the triangulation is not unique:
       here each such polygon is fanned from its vertex of highest input
       index (a symbolic perturbation, so the result does not depend on the
       insertion order). Qhull fans it from the vertex it happened to add
       last, which no simple rule predicts (measured: its diagonal contains
       the highest-index vertex in 50% of the co-circular quads), so there
       the two differ; dt_count_cocircular counts the
       interior edges where that happens (0 means the triangulation is the
       unique Delaunay triangulation, so any correct code, Qhull included,
       gives the same one).
     - Triangles are counter-clockwise in (x, y); nb[i] is the triangle
       across the edge opposite v[i], -1 on the hull.

   Fill contract (pic_interpolate_fill):
     img (H,W,C) uint8 interleaved, known (H,W) nonzero = known; out (H,W,C).
     Known pixels are copied. An unknown pixel takes, per channel, the
     barycentric (linear) interpolation over the triangle holding it; the
     weights are exact integer ratios (the value is exact on triangle edges,
     whichever side holds it). The value is rounded as PAIR does: the
     float64 interpolant is stored in a float32 image, then numpy.round
     (half to even) and the cast to uint8; here (float)v then rintf, clipped
     to [0,255]. Going through float32 matters: a value 1e-9 above n+0.5
     becomes n+0.5 in float32 and rounds to even.
     The 4 corners must be known (else -1); h, w in [2, DT_MAX_COORD+1],
     c >= 1. If every pixel is known the image is copied (as pic.py).
   All functions return 0 (or the stated value) on success and -1 on error,
   with the reason in eng_last_error() (thread-local; engine/error.h). */
#ifndef EVAL_DELAUNAY_H
#define EVAL_DELAUNAY_H
#include <stddef.h>
#include <stdint.h>

#include "engine/error.h" /* eng_last_error */

#define DT_MAX_COORD 16383 /* coordinates < 2^14 keep incircle within int64 */

typedef struct {
    int32_t v[3];  /* vertex indices, counter-clockwise */
    int32_t nb[3]; /* neighbour across the edge opposite v[i]; -1 on the hull */
} DtTri;

typedef struct {
    int npts;
    int32_t *x, *y;   /* owned copies of the points */
    int ntri, captri;
    DtTri *tri;
    int32_t *stack;   /* legalisation work stack */
    int capstack;
    uint32_t rng;     /* stochastic walk: which edge to test first */
    int last;         /* start of the next walk */
} DtMesh;

int dt_build(DtMesh *m, const int32_t *x, const int32_t *y, int n);
void dt_free(DtMesh *m);

/* Triangle holding (px,py) (closed: points on edges or vertices count),
   walking from triangle `start` (-1: the last one used). -1 if outside. */
int dt_locate(DtMesh *m, int32_t px, int32_t py, int start);

/* Interior edges whose two triangles have their 4 vertices on one circle. */
int dt_count_cocircular(const DtMesh *m);

/* Exact predicates, exposed for tests. orient > 0: a,b,c counter-clockwise.
   incircle > 0: d strictly inside the circle through counter-clockwise a,b,c. */
int64_t dt_orient(int32_t ax, int32_t ay, int32_t bx, int32_t by, int32_t cx, int32_t cy);
int64_t dt_incircle(int32_t ax, int32_t ay, int32_t bx, int32_t by, int32_t cx, int32_t cy,
                    int32_t dx, int32_t dy);

/* The fill over a given mesh whose vertices are known pixels (x = column,
   y = row); pic_interpolate_fill = dt_build + dt_fill. */
int dt_fill(DtMesh *m, const uint8_t *img, int h, int w, int c, const uint8_t *known, uint8_t *out);

/* A mesh from a triangle list (3 vertex indices each, any orientation),
   e.g. Qhull's, so that tests can interpolate over the reference's own
   triangulation. The points must include their bounding-box corners. */
int dt_from_triangles(DtMesh *m, const int32_t *x, const int32_t *y, int n, const int32_t *tris, int ntri);

/* img (H,W,C), known (H,W), out (H,W,C) */
int pic_interpolate_fill(const uint8_t *img, int h, int w, int c, const uint8_t *known, uint8_t *out);
#endif
