/* felzenszwalb.h - Felzenszwalb-Huttenlocher graph segmentation, as
   skimage.segmentation.felzenszwalb (skimage 0.19, the segmenter of XRAI).

   Usage:
     int32_t *labels = malloc(h * w * sizeof *labels);
     int n = fh_segment(img, c, h, w, 250.0, 0.8, 150, labels);
     if (n < 0) fprintf(stderr, "%s\n", eng_last_error());
     // labels (H,W) hold 0..n-1

   Contract (what skimage does, step by step; fh_segment does the same):
     1. img (C,H,W) as double; each channel smoothed by scipy.ndimage's
        gaussian_filter (truncate 4: radius int(4 sigma + 0.5), weights
        exp(-x^2 / (2 sigma^2)) / sum, mode 'reflect' = half-sample symmetric
        d c b a | a b c d | d c b a), along H first, then along W; no
        smoothing when sigma <= 1e-15.
     2. 8-connected grid graph with edges in this order: right (H,W-1),
        down (H-1,W), down-right (H-1,W-1), up-right (H-1,W-1) [(y,x+1)-(y+1,x)],
        each block in raster order. Weight: Euclidean distance over channels
        of the smoothed image.
     3. Edges sorted by numpy's default argsort (introsort: NOT stable); this
        module reproduces its exact order, so ties resolve as in skimage.
     4. Kruskal pass with k = scale / 255: merge the two components A, B of an
        edge of weight w when w < min(Int(A) + k/|A|, Int(B) + k/|B|), each
        threshold rounded to float32 as skimage's Cython does; Int of the
        merged component becomes w.
     5. Post-pass in the same edge order: merge whenever either side has
        fewer than min_size pixels.
     6. Labels 0..n-1 numbered by each segment's first pixel in raster order
        (skimage: np.unique of the union-find roots, which are the smallest
        pixel index of each segment).
   The input is float (as XRAI passes it, scaled to [-1,1]); skimage's
   img_as_float64 widens it to double, as here. Bit-exact agreement with
   skimage holds when glibc's exp equals numpy's for the kernel weights
   (true for sigma 0.8; numpy's AVX-512 exp differs by an ulp for some
   sigmas) and the build does not contract a*b+c into FMA (-std=c11 turns
   contraction off in GCC).

   Returns the number of segments n >= 1, or -1 with eng_last_error() set on bad
   arguments (c, h, w < 1, h*w*c too large, non-finite values or scale,
   sigma < 0 or > 1000) or allocation failure. */
#ifndef ATTRIB_FELZENSZWALB_H
#define ATTRIB_FELZENSZWALB_H
#include <stdint.h>

#include "engine/error.h" /* eng_last_error */

/* img (C,H,W), labels (H,W) */
int fh_segment(const float *img, int c, int h, int w, double scale, double sigma,
               int min_size, int32_t *labels);

/* numpy's default argsort (kind='quicksort': introsort, heapsort fallback)
   of n doubles, reproducing its order of ties exactly. idx gets 0..n-1
   permuted. No NaN handling beyond numpy's rule (NaN sorts last). Exposed
   for tests. Returns 0, or -1 if n < 0. */
int fh_np_argsort(const double *v, int32_t *idx, int32_t n);
#endif
