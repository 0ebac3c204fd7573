/* localize.h - localisation metrics of a saliency map against a ground-truth
   lesion mask: the pointing game (Zhang et al. 2016, "Top-down neural
   attention by excitation backprop"; Quantus PointingGame) and the energy
   inside the mask (Wang et al. 2020, Score-CAM's "energy-based pointing
   game"; Quantus RelevanceMassAccuracy on the positive part of the map);
   and, for every image, without a mask, the share of the map's mass that
   lies outside the head or body (see "Foreground" below).

   Usage:
     uint8_t *mask = malloc(H * W);
     int n = localize_load_mask("scan01.mask.png", H, W, mask, err, sizeof err);
     if (n < 0) ... err ...; if (n == 0) ... empty mask: not applicable ...
     double hit = localize_pointing_hit(map, mask, H * W);   // 1, 0 or NaN
     double e = localize_energy(map, mask, H * W);           // [0,1] or NaN

   Conventions:
   - Mask file: any image salient reads (io/image.h); a pixel is lesion when
     any channel is nonzero ("nonzero = lesion"). It is resized to the
     model's input size H x W with nearest neighbour as
     torch.nn.functional.interpolate(mode='nearest') does: destination
     pixel i takes source pixel floor(i * in / out) on each axis (no
     half-pixel shift). The image itself is resized to H x W without a
     crop (io/image.h), so both stay aligned.
   - Pointing game: the map's maximum is at the first maximum in raster
     order (numpy.argmax); hit = 1 if that pixel is inside the mask.
     (Quantus counts a hit when ANY of several tied maxima is inside; we
     follow argmax, so a flat region of maxima is not rewarded for its
     size.) A constant map points nowhere: NaN.
   - Energy: sum of max(map, 0) inside the mask / sum of max(map, 0) over
     the image, in double; NaN when the map has no positive mass.
   - An empty mask (no lesion pixel) makes both metrics not applicable:
     the caller reports empty cells. */
#ifndef EVAL_LOCALIZE_H
#define EVAL_LOCALIZE_H
#include <stddef.h>
#include <stdint.h>

/* dst (H,W) <- src (h,w) by nearest neighbour, floor(i * in / out). */
void localize_resize_nearest(uint8_t *dst, int H, int W, const uint8_t *src, int h, int w);
/* Reads a mask image, binarises it (any channel > 0) and resizes it to
   (H,W) into mask. Returns the number of lesion pixels, or -1 with a
   message in err (unreadable file, bad size). */
int localize_load_mask(const char *path, int H, int W, uint8_t *mask, char *err, size_t errlen);
/* The lesion mask beside an image file (<image>.mask.png, io/dataset.h
   dataset_mask_path) at H x W; path gets the mask's path, "" when the
   image has none. Returns the number of lesion pixels, with the malloc'd
   mask in *mask when it is > 0 (else *mask is NULL): 0 when there is no
   mask or it is empty, -1 with a message in err when it cannot be read. */
int localize_lesion_beside(const char *image_path, int H, int W, uint8_t **mask, char *path, size_t n, char *err,
                           size_t errlen);
/* 1.0 / 0.0, or NaN for a constant map, an empty mask or n == 0. */
double localize_pointing_hit(const float *map, const uint8_t *mask, size_t n);
/* Fraction of the positive map mass inside the mask, or NaN. */
double localize_energy(const float *map, const uint8_t *mask, size_t n);

/* ---- Foreground: the head or body, found in the image itself ----

   Does the map look at the anatomy or at the background, the borders and
   the corners? The foreground is the bright object of a scan (a head in
   an MRI slice, the chest in an X-ray) on its dark background:

     1. smooth the gray image g (values in [0,1], H x W) with a separable
        Gaussian in double: sigma = max(LOCALIZE_FG_SIGMA_MIN,
        max(H,W) / LOCALIZE_FG_SIGMA_DIVISOR) pixels (1.14 at 128 px, 2 at
        224), weights exp(-j^2 / (2 sigma^2)) for |j| <= r, r =
        floor(LOCALIZE_FG_TRUNCATE * sigma + 0.5), divided by their sum;
        a pixel beyond the edge takes the value of the nearest edge pixel;
        first down the columns, then along the rows. This is
        scipy.ndimage.gaussian_filter(g, sigma, mode='nearest',
        truncate=3.0), whose radius is int(truncate * sigma + 0.5): the
        same r. (The smoothed values agree with scipy's to rounding, about
        1e-16: the weights' exp and sum may round differently.)
     2. threshold t = LOCALIZE_FG_THRESHOLD x q, q = the value at index
        floor(LOCALIZE_FG_QUANTILE * (n - 1)) (computed in double) of the
        n = H*W smoothed values sorted ascending (numpy.percentile(s, 99,
        method='lower')); a pixel is foreground when its smoothed value is
        > t. The 99th percentile rather than the maximum, so that a few
        saturated pixels do not set the scale.
     3. keep the largest 4-connected foreground component only (text
        labels, rulers and markers in the corners go); on a tie in size,
        the component whose first pixel comes first in raster order.
     4. fill the holes: a background pixel not 4-connected to the image's
        border through background becomes foreground (the dark ventricles
        are inside the head); scipy.ndimage.binary_fill_holes.
   A constant image has no foreground (count 0), nor has one whose
   threshold leaves nothing; the outside mass is then not applicable.
   Non-finite gray values count as 0. Connected components and holes are
   flood fills with an explicit queue (no recursion); the memory is 21
   bytes per pixel, and images above LOCALIZE_FG_MAX_PIXELS are refused.

   Outside mass: sum of max(map, 0) over the pixels outside the foreground
   / sum of max(map, 0) over the image, in double: 0 when the map lies on
   the anatomy, 1 when all of it is on the background. Lower is better.
   NaN when the map has no positive mass or the foreground is empty. */
#define LOCALIZE_FG_SIGMA_MIN 1.0
#define LOCALIZE_FG_SIGMA_DIVISOR 112.0
#define LOCALIZE_FG_TRUNCATE 3.0
#define LOCALIZE_FG_QUANTILE 0.99
#define LOCALIZE_FG_THRESHOLD 0.1
#define LOCALIZE_FG_MAX_PIXELS ((size_t)1 << 26)

/* gray[i] = mean over the C channels of clamp(x[c][i] * std[c] + mean[c], 0, 1):
   the network input (C, plane) back in [0,1]; non-finite values give 0. */
void localize_gray_from_input(float *gray, const float *x, int C, size_t plane, const float *mean, const float *std);
/* The smoothing's sigma for an H x W image (step 1). */
double localize_fg_sigma(int H, int W);
/* Step 1 alone: out (H*W doubles) <- the smoothed gray image. 0, or -1 (bad
   size or out of memory). */
int localize_fg_smooth(const float *gray01, int H, int W, double *out);
/* Steps 1-4: fg (H*W) <- 1 on the foreground, 0 elsewhere. Returns the
   number of foreground pixels (0: not applicable), or -1 (bad arguments,
   more than LOCALIZE_FG_MAX_PIXELS pixels, or out of memory: fg untouched). */
int localize_foreground(const float *gray01, int H, int W, uint8_t *fg);
/* Share of the positive map mass outside the foreground, or NaN. */
double localize_outside_mass(const float *map, const uint8_t *fg, size_t n);
#endif
