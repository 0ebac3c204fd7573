/* delaunay.c - incremental Delaunay triangulation (Lawson flips) with exact
   integer predicates, and the PIC blurred-image fill (pic.py's griddata
   'linear'). See delaunay.h for the contract.

   Why this algorithm: the known-pixel set always holds the image corners, so
   the convex hull is the image box and the triangulation can start from the
   box's two triangles: no super-triangle, no symbolic points at infinity.
   Points are inserted in Hilbert-curve order, so each point is located by a
   short walk from the previous insertion, and each insertion splits one
   triangle (or an edge) and restores the Delaunay property by flipping
   edges whose opposite vertex lies strictly inside a circumcircle (Lawson).
   With the exact predicates every decision is right; ties (co-circular
   points, incircle == 0) are broken by a symbolic perturbation (see
   tie_flips), so the result is one well-defined Delaunay triangulation.
   Expected cost O(n) walks + O(n) flips for spatially coherent insertion;
   simpler to verify than divide and conquer or a sweep. */
#include "eval/delaunay.h"
#include "engine/error.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- exact predicates.
   Coordinates are in [0, 2^14 - 1], so every difference d has |d| < 2^14.
   orient: two products < 2^28 each, difference < 2^29.
   incircle (translated to d): lift = dx^2 + dy^2 < 2^29; each 2x2 cross
   term < 2^29; each lift*cross < 2^58; the sum of three < 2^60 < 2^63.
   No int64 overflow is possible. */
int64_t dt_orient(int32_t ax, int32_t ay, int32_t bx, int32_t by, int32_t cx, int32_t cy) {
    return (int64_t)(bx - ax) * (cy - ay) - (int64_t)(by - ay) * (cx - ax);
}

int64_t dt_incircle(int32_t ax, int32_t ay, int32_t bx, int32_t by, int32_t cx, int32_t cy,
                    int32_t dx, int32_t dy) {
    int64_t adx = ax - dx, ady = ay - dy, bdx = bx - dx, bdy = by - dy, cdx = cx - dx, cdy = cy - dy;
    int64_t alift = adx * adx + ady * ady, blift = bdx * bdx + bdy * bdy, clift = cdx * cdx + cdy * cdy;
    return alift * (bdx * cdy - cdx * bdy) + blift * (cdx * ady - adx * cdy) + clift * (adx * bdy - bdx * ady);
}

static int64_t orient_v(const DtMesh *m, int a, int b, int32_t px, int32_t py) {
    return dt_orient(m->x[a], m->y[a], m->x[b], m->y[b], px, py);
}

/* ---- mesh storage */
static int new_tri(DtMesh *m) {
    if (m->ntri == m->captri) return eng_fail("delaunay: triangle store full (%d)", m->captri);
    return m->ntri++;
}

static void set_tri(DtMesh *m, int t, int a, int b, int c, int na, int nb, int nc) {
    DtTri *T = &m->tri[t];
    T->v[0] = a; T->v[1] = b; T->v[2] = c;
    T->nb[0] = na; T->nb[1] = nb; T->nb[2] = nc;
}

/* In triangle x (if any), make the neighbour link that pointed to old point to new. */
static void relink(DtMesh *m, int x, int old, int new_) {
    if (x < 0) return;
    DtTri *T = &m->tri[x];
    for (int k = 0; k < 3; k++) if (T->nb[k] == old) { T->nb[k] = new_; return; }
}

static int push(DtMesh *m, int t) {
    if (m->stack[0] + 1 >= m->capstack) {
        int cap = m->capstack * 2;
        int32_t *s = realloc(m->stack, (size_t)cap * sizeof *s);
        if (!s) return eng_fail("delaunay: out of memory (flip stack)");
        m->stack = s; m->capstack = cap;
    }
    m->stack[++m->stack[0]] = t; /* stack[0] holds the depth */
    return 0;
}

/* ---- point location: stochastic visibility walk (terminates on any
   triangulation with probability 1; on a Delaunay one it is short). */
static uint32_t next_rng(DtMesh *m) {
    m->rng ^= m->rng << 13; m->rng ^= m->rng >> 17; m->rng ^= m->rng << 5;
    return m->rng;
}

int dt_locate(DtMesh *m, int32_t px, int32_t py, int start) {
    int t = start >= 0 && start < m->ntri ? start : m->last;
    long limit = 16L * m->ntri + 64;
    for (long step = 0; step < limit; step++) {
        const DtTri *T = &m->tri[t];
        int first = (int)(next_rng(m) % 3u), moved = 0;
        for (int k = 0; k < 3; k++) {
            int i = (first + k) % 3;
            if (orient_v(m, T->v[(i + 1) % 3], T->v[(i + 2) % 3], px, py) < 0) {
                if (T->nb[i] < 0) return -1; /* outside the hull */
                t = T->nb[i];
                moved = 1;
                break;
            }
        }
        if (!moved) { m->last = t; return t; }
    }
    for (t = 0; t < m->ntri; t++) { /* safety net, never expected */
        const DtTri *T = &m->tri[t];
        int in = 1;
        for (int i = 0; i < 3 && in; i++) in = orient_v(m, T->v[(i + 1) % 3], T->v[(i + 2) % 3], px, py) >= 0;
        if (in) { m->last = t; return t; }
    }
    return -1;
}

/* ---- insertion */

/* Co-circular p,a,b,d (current diagonal a-b): keep the diagonal that holds
   the point of highest index. This is the symbolic perturbation that lowers
   each lifted point x^2+y^2 by eps^(n - index): the triangulation becomes
   the unique regular triangulation of the perturbed points (a co-circular
   polygon is fanned from its highest-index vertex), independent of the
   insertion order, and Lawson's flips still converge to it. */
static int tie_flips(int p, int a, int b, int d) {
    int on = a > b ? a : b, off = p > d ? p : d;
    return off > on;
}

/* Lawson legalisation of the edges opposite the new point p (= v[0] of
   every triangle on the stack). */
static int legalize(DtMesh *m) {
    while (m->stack[0] > 0) {
        int t = m->stack[m->stack[0]--];
        DtTri *T = &m->tri[t];
        int u = T->nb[0];
        if (u < 0) continue;
        DtTri *U = &m->tri[u];
        int j = U->nb[0] == t ? 0 : U->nb[1] == t ? 1 : 2;
        int p = T->v[0], a = T->v[1], b = T->v[2], d = U->v[j];
        int64_t ic = dt_incircle(m->x[p], m->y[p], m->x[a], m->y[a], m->x[b], m->y[b], m->x[d], m->y[d]);
        if (ic < 0 || (ic == 0 && !tie_flips(p, a, b, d))) continue;
        int ta = T->nb[1], tb = T->nb[2];                       /* across b-p, p-a */
        int ub = U->nb[(j + 1) % 3], ua = U->nb[(j + 2) % 3];   /* across a-d, d-b */
        set_tri(m, t, p, a, d, ub, u, tb);
        set_tri(m, u, p, d, b, ua, ta, t);
        relink(m, ub, u, t);
        relink(m, ta, t, u);
        if (push(m, t) || push(m, u)) return -1;
    }
    return 0;
}

/* p strictly inside t = (a,b,c): three triangles (p,b,c) (p,c,a) (p,a,b). */
static int split_inside(DtMesh *m, int t, int p) {
    DtTri T = m->tri[t];
    int t1 = new_tri(m), t2 = t1 < 0 ? -1 : new_tri(m);
    if (t2 < 0) return -1;
    int a = T.v[0], b = T.v[1], c = T.v[2];
    set_tri(m, t, p, b, c, T.nb[0], t1, t2);
    set_tri(m, t1, p, c, a, T.nb[1], t2, t);
    set_tri(m, t2, p, a, b, T.nb[2], t, t1);
    relink(m, T.nb[1], t, t1);
    relink(m, T.nb[2], t, t2);
    m->last = t;
    return push(m, t) || push(m, t1) || push(m, t2) ? -1 : 0;
}

/* p on the edge of t opposite v[i]; u = the triangle across it (or -1 on
   the hull). t = (c,a,b) becomes (p,b,c) + (p,c,a); u = (d,b,a) becomes
   (p,a,d) + (p,d,b). */
static int split_edge(DtMesh *m, int t, int i, int p) {
    DtTri T = m->tri[t];
    int c = T.v[i], a = T.v[(i + 1) % 3], b = T.v[(i + 2) % 3];
    int ta = T.nb[(i + 1) % 3], tb = T.nb[(i + 2) % 3], u = T.nb[i];
    int t2 = new_tri(m);
    if (t2 < 0) return -1;
    if (u < 0) {
        set_tri(m, t, p, b, c, ta, t2, -1);
        set_tri(m, t2, p, c, a, tb, -1, t);
        relink(m, tb, t, t2);
        m->last = t;
        return push(m, t) || push(m, t2) ? -1 : 0;
    }
    DtTri U = m->tri[u];
    int j = U.nb[0] == t ? 0 : U.nb[1] == t ? 1 : 2;
    int d = U.v[j], ub = U.nb[(j + 1) % 3], ua = U.nb[(j + 2) % 3];
    int u2 = new_tri(m);
    if (u2 < 0) return -1;
    set_tri(m, t, p, b, c, ta, t2, u2);
    set_tri(m, t2, p, c, a, tb, u, t);
    set_tri(m, u, p, a, d, ub, u2, t2);
    set_tri(m, u2, p, d, b, ua, t, u);
    relink(m, tb, t, t2);
    relink(m, ua, u, u2);
    m->last = t;
    return push(m, t) || push(m, t2) || push(m, u) || push(m, u2) ? -1 : 0;
}

static int insert_point(DtMesh *m, int p) {
    int32_t px = m->x[p], py = m->y[p];
    int t = dt_locate(m, px, py, -1);
    if (t < 0) return eng_fail("delaunay: point %d (%d,%d) is outside the corner box", p, px, py);
    const DtTri *T = &m->tri[t];
    int zero = 0, edge = -1;
    for (int i = 0; i < 3; i++)
        if (orient_v(m, T->v[(i + 1) % 3], T->v[(i + 2) % 3], px, py) == 0) { zero++; edge = i; }
    if (zero >= 2) return eng_fail("delaunay: duplicate point (%d,%d)", px, py);
    int rc = zero ? split_edge(m, t, edge, p) : split_inside(m, t, p);
    return rc ? -1 : legalize(m);
}

/* ---- Hilbert order (the classic xy -> d conversion on a 2^k grid) */
static uint64_t hilbert_key(uint32_t n, uint32_t x, uint32_t y) {
    uint64_t d = 0;
    for (uint32_t s = n / 2; s > 0; s /= 2) {
        uint32_t rx = (x & s) > 0, ry = (y & s) > 0;
        d += (uint64_t)s * s * ((3 * rx) ^ ry);
        if (ry == 0) {
            if (rx == 1) { x = s - 1 - x; y = s - 1 - y; }
            uint32_t t = x; x = y; y = t;
        }
    }
    return d;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Indices of the corners c[4] = (xmin,ymin) (xmax,ymin) (xmax,ymax) (xmin,ymax). */
static int find_corners(const int32_t *x, const int32_t *y, int n, int c[4]) {
    int32_t x0 = x[0], x1 = x[0], y0 = y[0], y1 = y[0];
    for (int i = 0; i < n; i++) {
        if (x[i] < 0 || x[i] > DT_MAX_COORD || y[i] < 0 || y[i] > DT_MAX_COORD)
            return eng_fail("delaunay: point %d (%d,%d) outside [0,%d]^2", i, x[i], y[i], DT_MAX_COORD);
        if (x[i] < x0) x0 = x[i];
        if (x[i] > x1) x1 = x[i];
        if (y[i] < y0) y0 = y[i];
        if (y[i] > y1) y1 = y[i];
    }
    if (x1 == x0 || y1 == y0) return eng_fail("delaunay: the points are collinear (bounding box %dx%d)", x1 - x0 + 1, y1 - y0 + 1);
    int32_t cx[4] = {x0, x1, x1, x0}, cy[4] = {y0, y0, y1, y1};
    for (int k = 0; k < 4; k++) c[k] = -1;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 4; k++)
            if (x[i] == cx[k] && y[i] == cy[k] && c[k] < 0) c[k] = i;
    for (int k = 0; k < 4; k++)
        if (c[k] < 0) return eng_fail("delaunay: corner (%d,%d) of the bounding box is not among the points", cx[k], cy[k]);
    return 0;
}

void dt_free(DtMesh *m) {
    if (!m) return;
    free(m->x); free(m->y); free(m->tri); free(m->stack);
    memset(m, 0, sizeof *m);
}

static int mesh_alloc(DtMesh *m, const int32_t *x, const int32_t *y, int n) {
    memset(m, 0, sizeof *m);
    m->npts = n;
    m->captri = 2 * n + 2; /* a triangulation of n points has at most 2n - 5 triangles */
    m->capstack = 64;
    m->x = malloc((size_t)n * sizeof *m->x);
    m->y = malloc((size_t)n * sizeof *m->y);
    m->tri = malloc((size_t)m->captri * sizeof *m->tri);
    m->stack = malloc((size_t)m->capstack * sizeof *m->stack);
    if (!m->x || !m->y || !m->tri || !m->stack) { dt_free(m); return eng_fail("delaunay: out of memory for %d points", n); }
    memcpy(m->x, x, (size_t)n * sizeof *x);
    memcpy(m->y, y, (size_t)n * sizeof *y);
    m->stack[0] = 0;
    m->rng = 2463534242u;
    return 0;
}

int dt_build(DtMesh *m, const int32_t *x, const int32_t *y, int n) {
    if (!m || !x || !y) return eng_fail("delaunay: NULL argument");
    memset(m, 0, sizeof *m);
    if (n < 4 || n > (INT32_MAX - 2) / 2) return eng_fail("delaunay: expected 4..%d points, found %d", (INT32_MAX - 2) / 2, n);
    int c[4];
    if (find_corners(x, y, n, c) || mesh_alloc(m, x, y, n)) return -1;
    /* the box as two counter-clockwise triangles (c0,c1,c2) and (c0,c2,c3) */
    m->ntri = 2;
    set_tri(m, 0, c[0], c[1], c[2], -1, 1, -1);
    set_tri(m, 1, c[0], c[2], c[3], -1, -1, 0);
    uint64_t *order = malloc((size_t)n * sizeof *order);
    if (!order) { dt_free(m); return eng_fail("delaunay: out of memory for %d points", n); }
    int32_t x0 = m->x[c[0]], y0 = m->y[c[0]];
    uint32_t side = 1;
    while (side <= (uint32_t)(m->x[c[2]] - x0) || side <= (uint32_t)(m->y[c[2]] - y0)) side *= 2;
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (i == c[0] || i == c[1] || i == c[2] || i == c[3]) continue;
        order[k++] = hilbert_key(side, (uint32_t)(x[i] - x0), (uint32_t)(y[i] - y0)) << 32 | (uint32_t)i;
    }
    qsort(order, (size_t)k, sizeof *order, cmp_u64);
    for (int i = 0; i < k; i++)
        if (insert_point(m, (int)(order[i] & 0xffffffffu))) { free(order); dt_free(m); return -1; }
    free(order);
    return 0;
}

int dt_count_cocircular(const DtMesh *m) {
    int count = 0;
    for (int t = 0; t < m->ntri; t++) {
        const DtTri *T = &m->tri[t];
        for (int i = 0; i < 3; i++) {
            int u = T->nb[i];
            if (u < t) continue; /* hull edge, or counted from the other side */
            const DtTri *U = &m->tri[u];
            int j = U->nb[0] == t ? 0 : U->nb[1] == t ? 1 : 2;
            int a = T->v[0], b = T->v[1], cc = T->v[2], d = U->v[j];
            if (dt_incircle(m->x[a], m->y[a], m->x[b], m->y[b], m->x[cc], m->y[cc], m->x[d], m->y[d]) == 0) count++;
        }
    }
    return count;
}

/* ---- the PIC fill */

/* One unknown pixel: exact barycentric weights (integer), value num/den,
   rounded through float32 as pic.py's float32 image and numpy.round. */
static void fill_pixel(const DtMesh *m, int t, int32_t px, int32_t py, const uint8_t *img, int w, int c,
                       uint8_t *out) {
    const DtTri *T = &m->tri[t];
    int a = T->v[0], b = T->v[1], cc = T->v[2];
    int64_t wa = orient_v(m, b, cc, px, py), wb = orient_v(m, cc, a, px, py), wc = orient_v(m, a, b, px, py);
    double den = (double)(wa + wb + wc); /* = 2 area > 0, exact */
    const uint8_t *pa = img + ((size_t)m->y[a] * w + m->x[a]) * c;
    const uint8_t *pb = img + ((size_t)m->y[b] * w + m->x[b]) * c;
    const uint8_t *pc = img + ((size_t)m->y[cc] * w + m->x[cc]) * c;
    for (int k = 0; k < c; k++) {
        int64_t num = wa * pa[k] + wb * pb[k] + wc * pc[k]; /* < 2^29 * 255 * 3, exact in double */
        float v = (float)((double)num / den);
        float r = rintf(v);
        out[k] = (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
    }
}

static int check_fill_args(const uint8_t *img, int h, int w, int c, const uint8_t *known, const uint8_t *out) {
    if (!img || !known || !out) return eng_fail("pic_interpolate_fill: NULL argument");
    if (h < 2 || w < 2 || h > DT_MAX_COORD + 1 || w > DT_MAX_COORD + 1)
        return eng_fail("pic_interpolate_fill: expected 2 <= h, w <= %d, found h=%d w=%d", DT_MAX_COORD + 1, h, w);
    if (c < 1 || (size_t)h * w > SIZE_MAX / (size_t)c)
        return eng_fail("pic_interpolate_fill: expected c >= 1, found c=%d", c);
    size_t corner[4] = {0, (size_t)w - 1, (size_t)(h - 1) * w, (size_t)h * w - 1};
    for (int k = 0; k < 4; k++)
        if (!known[corner[k]])
            return eng_fail("pic_interpolate_fill: corner pixel (%zu,%zu) must be known", corner[k] / w, corner[k] % w);
    return 0;
}

int dt_fill(DtMesh *m, const uint8_t *img, int h, int w, int c, const uint8_t *known, uint8_t *out) {
    if (!m || check_fill_args(img, h, w, c, known, out)) return m ? -1 : eng_fail("dt_fill: NULL mesh");
    for (int i = 0; i < m->npts; i++)
        if (m->x[i] >= w || m->y[i] >= h || !known[(size_t)m->y[i] * w + m->x[i]])
            return eng_fail("dt_fill: mesh vertex %d (%d,%d) is not a known pixel of the %dx%d image", i, m->x[i], m->y[i], h, w);
    int row_start = 0; /* triangle of the previous row's first unknown pixel */
    for (int y = 0; y < h; y++) {
        int t = row_start, first = 1;
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            if (known[i]) { memcpy(out + i * c, img + i * c, (size_t)c); continue; }
            t = dt_locate(m, x, y, t);
            if (t < 0) return eng_fail("dt_fill: pixel (%d,%d) is outside the triangulation", y, x);
            if (first) { row_start = t; first = 0; }
            fill_pixel(m, t, x, y, img, w, c, out + i * c);
        }
    }
    return 0;
}

int pic_interpolate_fill(const uint8_t *img, int h, int w, int c, const uint8_t *known, uint8_t *out) {
    if (check_fill_args(img, h, w, c, known, out)) return -1;
    size_t hw = (size_t)h * w;
    int n = 0;
    for (size_t i = 0; i < hw; i++) n += known[i] != 0;
    if ((size_t)n == hw) { memcpy(out, img, hw * c); return 0; }
    int32_t *xs = malloc((size_t)n * sizeof *xs), *ys = malloc((size_t)n * sizeof *ys);
    if (!xs || !ys) { free(xs); free(ys); return eng_fail("pic_interpolate_fill: out of memory"); }
    for (size_t i = 0, k = 0; i < hw; i++)
        if (known[i]) { xs[k] = (int32_t)(i % w); ys[k] = (int32_t)(i / w); k++; }
    DtMesh m;
    int rc = dt_build(&m, xs, ys, n);
    free(xs); free(ys);
    if (rc == 0) rc = dt_fill(&m, img, h, w, c, known, out);
    dt_free(&m);
    return rc;
}

/* ---- a mesh from a given triangle list (e.g. Qhull's), for tests */

static int cmp_edge(const void *a, const void *b) {
    const int64_t *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* Link triangles sharing an edge: sort the 3 ntri half-edges by their
   undirected key; equal neighbours in the sorted list are twins. */
static int link_triangles(DtMesh *m) {
    size_t ne = (size_t)m->ntri * 3;
    int64_t *e = malloc(ne * 2 * sizeof *e);
    if (!e) return eng_fail("dt_from_triangles: out of memory");
    for (int t = 0; t < m->ntri; t++)
        for (int i = 0; i < 3; i++) {
            int64_t a = m->tri[t].v[(i + 1) % 3], b = m->tri[t].v[(i + 2) % 3];
            int64_t *r = e + ((size_t)t * 3 + i) * 2;
            r[0] = a < b ? a << 31 | b : b << 31 | a;
            r[1] = (int64_t)t * 3 + i;
            m->tri[t].nb[i] = -1;
        }
    qsort(e, ne, 2 * sizeof *e, cmp_edge);
    for (size_t k = 0; k < ne; k++) {
        size_t run = 1;
        while (k + run < ne && e[2 * (k + run)] == e[2 * k]) run++;
        if (run > 2) { free(e); return eng_fail("dt_from_triangles: an edge is shared by %zu triangles", run); }
        if (run == 2) {
            int64_t p = e[2 * k + 1], q = e[2 * k + 3];
            m->tri[p / 3].nb[p % 3] = (int32_t)(q / 3);
            m->tri[q / 3].nb[q % 3] = (int32_t)(p / 3);
        }
        k += run - 1;
    }
    free(e);
    return 0;
}

int dt_from_triangles(DtMesh *m, const int32_t *x, const int32_t *y, int n, const int32_t *tris, int ntri) {
    if (!m || !x || !y || !tris) return eng_fail("dt_from_triangles: NULL argument");
    memset(m, 0, sizeof *m);
    if (n < 3 || n > (INT32_MAX - 2) / 2 || ntri < 1 || ntri > 2 * n)
        return eng_fail("dt_from_triangles: expected 3 <= n and 1 <= ntri <= 2n, found n=%d ntri=%d", n, ntri);
    int c[4];
    if (find_corners(x, y, n, c) || mesh_alloc(m, x, y, n)) return -1;
    for (int t = 0; t < ntri; t++) {
        const int32_t *v = tris + 3 * t;
        if (v[0] < 0 || v[0] >= n || v[1] < 0 || v[1] >= n || v[2] < 0 || v[2] >= n) {
            dt_free(m);
            return eng_fail("dt_from_triangles: triangle %d has a vertex outside 0..%d", t, n - 1);
        }
        int64_t o = dt_orient(x[v[0]], y[v[0]], x[v[1]], y[v[1]], x[v[2]], y[v[2]]);
        if (o == 0) { dt_free(m); return eng_fail("dt_from_triangles: triangle %d is degenerate", t); }
        if (o > 0) set_tri(m, t, v[0], v[1], v[2], -1, -1, -1);
        else set_tri(m, t, v[0], v[2], v[1], -1, -1, -1);
    }
    m->ntri = ntri;
    if (link_triangles(m)) { dt_free(m); return -1; }
    return 0;
}
