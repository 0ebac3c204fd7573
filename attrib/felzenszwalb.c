/* felzenszwalb.c - Felzenszwalb-Huttenlocher segmentation reproducing
   skimage.segmentation.felzenszwalb bit for bit: scipy's Gaussian filter
   (summation order included), numpy's pairwise channel sum, numpy's
   introsort argsort (tie order included), skimage's float32 thresholds.
   See felzenszwalb.h for the contract. Written from the algorithms'
   descriptions; no code taken from skimage, scipy or numpy. */
#include "attrib/felzenszwalb.h"
#include "engine/error.h"
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

/* ---- numpy's pairwise summation (numpy/core/src/umath/loops: blocks of
   at most 128 summed by 8 partial sums, shorter than 8 summed in order). */
static double np_pairwise_sum(const double *a, size_t n, size_t stride) {
    if (n < 8) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++) s += a[i * stride];
        return s;
    }
    if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; j++) r[j] = a[j * stride];
        size_t i = 8;
        for (; i < n - n % 8; i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[(i + j) * stride];
        double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) s += a[i * stride];
        return s;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return np_pairwise_sum(a, n2, stride) + np_pairwise_sum(a + n2 * stride, n - n2, stride);
}

/* ---- numpy's argsort, kind 'quicksort' (introsort). Same pivot choice
   (median of first, middle, last), same partition (both scans stop on
   keys equal to the pivot), same cut-off to insertion sort (spans of at
   most 16), same depth limit (2 floor(log2 n)) and heapsort fallback,
   same order of pushed spans: so equal keys end in the same order. */

/* numpy's "less" for doubles: NaNs sort after everything. */
static int np_less(double a, double b) { return a < b || (b != b && a == a); }

static void swap_i32(int32_t *a, int32_t *b) { int32_t t = *a; *a = *b; *b = t; }

/* Heap sort of idx[0..n) by v, 1-based sift as numpy's aheapsort. */
static void np_aheapsort(const double *v, int32_t *idx, ptrdiff_t n) {
    int32_t *a = idx - 1; /* a[1..n] */
    for (ptrdiff_t l = n >> 1; l > 0; --l) {
        int32_t tmp = a[l];
        ptrdiff_t i = l, j = l << 1;
        while (j <= n) {
            if (j < n && np_less(v[a[j]], v[a[j + 1]])) j++;
            if (!np_less(v[tmp], v[a[j]])) break;
            a[i] = a[j]; i = j; j += j;
        }
        a[i] = tmp;
    }
    while (n > 1) {
        int32_t tmp = a[n];
        a[n] = a[1];
        n--;
        ptrdiff_t i = 1, j = 2;
        while (j <= n) {
            if (j < n && np_less(v[a[j]], v[a[j + 1]])) j++;
            if (!np_less(v[tmp], v[a[j]])) break;
            a[i] = a[j]; i = j; j += j;
        }
        a[i] = tmp;
    }
}

/* Partition idx[lo..hi] (hi - lo > 15) around the median of three; returns the pivot's final slot. */
static ptrdiff_t np_partition(const double *v, int32_t *idx, ptrdiff_t lo, ptrdiff_t hi) {
    ptrdiff_t mid = lo + ((hi - lo) >> 1);
    if (np_less(v[idx[mid]], v[idx[lo]])) swap_i32(&idx[mid], &idx[lo]);
    if (np_less(v[idx[hi]], v[idx[mid]])) swap_i32(&idx[hi], &idx[mid]);
    if (np_less(v[idx[mid]], v[idx[lo]])) swap_i32(&idx[mid], &idx[lo]);
    double pivot = v[idx[mid]];
    ptrdiff_t i = lo, j = hi - 1;
    swap_i32(&idx[mid], &idx[j]);
    for (;;) {
        do i++; while (np_less(v[idx[i]], pivot));
        do j--; while (np_less(pivot, v[idx[j]]));
        if (i >= j) break;
        swap_i32(&idx[i], &idx[j]);
    }
    swap_i32(&idx[i], &idx[hi - 1]);
    return i;
}

static void np_insertion(const double *v, int32_t *idx, ptrdiff_t lo, ptrdiff_t hi) {
    for (ptrdiff_t i = lo + 1; i <= hi; i++) {
        int32_t vi = idx[i];
        double key = v[vi];
        ptrdiff_t j = i;
        while (j > lo && np_less(key, v[idx[j - 1]])) { idx[j] = idx[j - 1]; j--; }
        idx[j] = vi;
    }
}

int fh_np_argsort(const double *v, int32_t *idx, int32_t n) {
    if (n < 0) return -1;
    for (int32_t i = 0; i < n; i++) idx[i] = i;
    if (n < 2) return 0;
    enum { STACK = 128 }; /* two ends per level; levels <= 2 log2(n) <= 62 */
    ptrdiff_t stack[STACK], *sp = stack;
    int depth_stack[STACK], *dp = depth_stack;
    int msb = 0;
    for (uint32_t u = (uint32_t)n; u >>= 1;) msb++;
    int depth = 2 * msb;
    ptrdiff_t lo = 0, hi = n - 1;
    for (;;) {
        if (depth < 0) {
            np_aheapsort(v, idx + lo, hi - lo + 1);
        } else {
            while (hi - lo > 15) {
                ptrdiff_t p = np_partition(v, idx, lo, hi);
                /* push the larger side, continue with the smaller */
                if (p - lo < hi - p) { *sp++ = p + 1; *sp++ = hi; hi = p - 1; }
                else                 { *sp++ = lo; *sp++ = p - 1; lo = p + 1; }
                *dp++ = --depth;
            }
            np_insertion(v, idx, lo, hi);
        }
        if (sp == stack) break;
        hi = *--sp;
        lo = *--sp;
        depth = *--dp;
    }
    return 0;
}

/* ---- scipy.ndimage.gaussian_filter, mode 'reflect', truncate 4.0. */

/* Half-sample symmetric extension: period 2n, i mapped into [0,n). */
static int reflect_index(long i, long n) {
    long m = i % (2 * n);
    if (m < 0) m += 2 * n;
    return (int)(m < n ? m : 2 * n - 1 - m);
}

/* scipy's _gaussian_kernel1d: exp(-0.5/sigma^2 * x^2) / sum (pairwise). */
static void gaussian_kernel(double sigma, int r, double *k /* 2r+1 */) {
    double c = -0.5 / (sigma * sigma);
    for (int x = -r; x <= r; x++) k[x + r] = exp(c * (double)((long)x * x));
    double s = np_pairwise_sum(k, (size_t)(2 * r + 1), 1);
    for (int i = 0; i <= 2 * r; i++) k[i] = k[i] / s;
}

/* scipy's symmetric correlate1d of one line: out[i] = x[i] k0 then, from the
   outermost tap inwards, += (x[i-j] + x[i+j]) k_j. ext holds the line with r
   reflected samples on each side. */
static void correlate_line(const double *ext, int n, const double *k, int r, double *out) {
    const double *kc = k + r;
    for (int i = 0; i < n; i++) {
        const double *x = ext + r + i;
        double s = x[0] * kc[0];
        for (int j = r; j >= 1; j--) s += (x[-j] + x[j]) * kc[-j];
        out[i] = s;
    }
}

/* Filter one (H,W) plane in place along H then W. ext, line: buffers of max(h,w)+2r and max(h,w). */
static void gaussian_plane(double *p, int h, int w, const double *k, int r, double *ext, double *line) {
    for (int x = 0; x < w; x++) {
        for (int i = -r; i < h + r; i++) ext[i + r] = p[(size_t)reflect_index(i, h) * w + x];
        correlate_line(ext, h, k, r, line);
        for (int y = 0; y < h; y++) p[(size_t)y * w + x] = line[y];
    }
    for (int y = 0; y < h; y++) {
        double *row = p + (size_t)y * w;
        for (int i = -r; i < w + r; i++) ext[i + r] = row[reflect_index(i, w)];
        correlate_line(ext, w, k, r, row);
    }
}

/* ---- the graph. Edge e is numbered as skimage stacks them: right, down,
   down-right, up-right blocks, each in raster order. */
typedef struct { int h, w; size_t n_right, n_down, n_diag; } Grid;

static void edge_ends(const Grid *g, size_t e, int32_t *a, int32_t *b) {
    int w = g->w;
    if (e < g->n_right) {
        size_t y = e / (w - 1), x = e % (w - 1);
        *a = (int32_t)(y * w + x + 1); *b = (int32_t)(y * w + x);
        return;
    }
    e -= g->n_right;
    if (e < g->n_down) { *a = (int32_t)(e + w); *b = (int32_t)e; return; }
    e -= g->n_down;
    if (e < g->n_diag) {
        size_t y = e / (w - 1), x = e % (w - 1);
        *a = (int32_t)((y + 1) * w + x + 1); *b = (int32_t)(y * w + x);
        return;
    }
    e -= g->n_diag;
    size_t y = e / (w - 1), x = e % (w - 1);
    *a = (int32_t)(y * w + x + 1); *b = (int32_t)((y + 1) * w + x);
}

/* Euclidean distance over c planes of size hw; numpy sums the squares pairwise. */
static double edge_cost(const double *img, int c, size_t hw, int32_t a, int32_t b, double *sq) {
    for (int k = 0; k < c; k++) {
        double d = img[k * hw + a] - img[k * hw + b];
        sq[k] = d * d;
    }
    return sqrt(np_pairwise_sum(sq, (size_t)c, 1));
}

/* ---- union-find with path halving and union by size; the root's
   identity does not matter (labels are numbered by first raster pixel). */
static int32_t uf_find(int32_t *parent, int32_t x) {
    while (parent[x] != x) { parent[x] = parent[parent[x]]; x = parent[x]; }
    return x;
}

static int32_t uf_join(int32_t *parent, int32_t *size, int32_t a, int32_t b) {
    if (size[a] < size[b]) { int32_t t = a; a = b; b = t; }
    parent[b] = a;
    size[a] += size[b];
    return a;
}

typedef struct {
    double *img, *cost, *scost, *cint, *buf;
    int32_t *order, *ea, *eb, *parent, *size;
} Work;

static void work_free(Work *wk) {
    free(wk->img); free(wk->cost); free(wk->scost); free(wk->cint); free(wk->buf);
    free(wk->order); free(wk->ea); free(wk->eb); free(wk->parent); free(wk->size);
}

static int check_args(const float *img, int c, int h, int w, double scale, double sigma,
                      const int32_t *labels) {
    if (!img || !labels) return eng_fail("fh_segment: img and labels must not be NULL");
    if (c < 1 || h < 1 || w < 1)
        return eng_fail("fh_segment: expected c, h, w >= 1, found c=%d h=%d w=%d", c, h, w);
    /* 4 h w edges must fit in int32, and so must c h w for the planes. */
    if ((long long)h * w > INT32_MAX / 4 || (long long)h * w * c > INT32_MAX)
        return eng_fail("fh_segment: image too large (c=%d h=%d w=%d)", c, h, w);
    if (!isfinite(scale)) return eng_fail("fh_segment: scale must be finite, found %g", scale);
    if (!(sigma >= 0 && sigma <= 1000))
        return eng_fail("fh_segment: sigma must be in [0, 1000], found %g", sigma);
    size_t n = (size_t)c * h * w;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(img[i])) return eng_fail("fh_segment: non-finite input value at index %zu", i);
    return 0;
}

static void smooth(double *img, int c, int h, int w, double sigma, double *buf) {
    if (!(sigma > 1e-15)) return;
    int r = (int)(4.0 * sigma + 0.5);
    int len = h > w ? h : w;
    double *k = buf, *ext = k + 2 * r + 1, *line = ext + len + 2 * r;
    gaussian_kernel(sigma, r, k);
    for (int ch = 0; ch < c; ch++) gaussian_plane(img + (size_t)ch * h * w, h, w, k, r, ext, line);
}

/* Kruskal pass with skimage's thresholds, then the min_size pass. */
static void merge_edges(Work *wk, size_t ne, double k, int min_size) {
    int32_t *parent = wk->parent, *size = wk->size;
    for (size_t e = 0; e < ne; e++) {
        int32_t a = uf_find(parent, wk->ea[e]), b = uf_find(parent, wk->eb[e]);
        if (a == b) continue;
        float ta = (float)(wk->cint[a] + k / (double)size[a]);
        float tb = (float)(wk->cint[b] + k / (double)size[b]);
        double cost = wk->scost[e];
        if (cost < (double)(ta < tb ? ta : tb)) wk->cint[uf_join(parent, size, a, b)] = cost;
    }
    for (size_t e = 0; e < ne; e++) {
        int32_t a = uf_find(parent, wk->ea[e]), b = uf_find(parent, wk->eb[e]);
        if (a == b) continue;
        if (size[a] < min_size || size[b] < min_size) uf_join(parent, size, a, b);
    }
}

int fh_segment(const float *img, int c, int h, int w, double scale, double sigma,
               int min_size, int32_t *labels) {
    if (check_args(img, c, h, w, scale, sigma, labels)) return -1;
    size_t hw = (size_t)h * w, n = hw * c;
    Grid g = { h, w, (size_t)h * (w - 1), (size_t)(h - 1) * w, (size_t)(h - 1) * (w - 1) };
    size_t ne = g.n_right + g.n_down + 2 * g.n_diag;
    int r = sigma > 1e-15 ? (int)(4.0 * sigma + 0.5) : 0;
    size_t nbuf = (size_t)(2 * r + 1) + 2 * ((size_t)(h > w ? h : w) + 2 * r) + (size_t)c;
    Work wk = {0};
    wk.img = malloc(n * sizeof *wk.img);
    wk.cost = malloc((ne ? ne : 1) * sizeof *wk.cost);
    wk.scost = malloc((ne ? ne : 1) * sizeof *wk.scost);
    wk.cint = calloc(hw, sizeof *wk.cint);
    wk.buf = malloc(nbuf * sizeof *wk.buf);
    wk.order = malloc((ne ? ne : 1) * sizeof *wk.order);
    wk.ea = malloc((ne ? ne : 1) * sizeof *wk.ea);
    wk.eb = malloc((ne ? ne : 1) * sizeof *wk.eb);
    wk.parent = malloc(hw * sizeof *wk.parent);
    wk.size = malloc(hw * sizeof *wk.size);
    if (!wk.img || !wk.cost || !wk.scost || !wk.cint || !wk.buf || !wk.order || !wk.ea || !wk.eb ||
        !wk.parent || !wk.size) {
        work_free(&wk);
        return eng_fail("fh_segment: out of memory for a %dx%dx%d image", c, h, w);
    }
    for (size_t i = 0; i < n; i++) wk.img[i] = (double)img[i];
    smooth(wk.img, c, h, w, sigma, wk.buf);

    /* costs in skimage's edge order, then sorted as numpy sorts them */
    for (size_t e = 0; e < ne; e++) {
        int32_t a, b;
        edge_ends(&g, e, &a, &b);
        wk.cost[e] = edge_cost(wk.img, c, hw, a, b, wk.buf);
    }
    fh_np_argsort(wk.cost, wk.order, (int32_t)ne);
    for (size_t e = 0; e < ne; e++) {
        edge_ends(&g, (size_t)wk.order[e], &wk.ea[e], &wk.eb[e]);
        wk.scost[e] = wk.cost[wk.order[e]];
    }

    for (size_t i = 0; i < hw; i++) { wk.parent[i] = (int32_t)i; wk.size[i] = 1; }
    merge_edges(&wk, ne, scale / 255.0, min_size);

    /* number segments in order of their first pixel in raster order */
    int32_t *root_label = wk.size; /* sizes are no longer needed */
    for (size_t i = 0; i < hw; i++) root_label[i] = -1;
    int nseg = 0;
    for (size_t i = 0; i < hw; i++) {
        int32_t rt = uf_find(wk.parent, (int32_t)i);
        if (root_label[rt] < 0) root_label[rt] = nseg++;
        labels[i] = root_label[rt];
    }
    work_free(&wk);
    return nseg;
}
