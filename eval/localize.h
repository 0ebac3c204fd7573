/* localize.h - localisation metrics of a saliency map against a ground-truth
   lesion mask: the pointing game (Zhang et al. 2016, "Top-down neural
   attention by excitation backprop"; Quantus PointingGame) and the energy
   inside the mask (Wang et al. 2020, Score-CAM's "energy-based pointing
   game"; Quantus RelevanceMassAccuracy on the positive part of the map).

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
/* 1.0 / 0.0, or NaN for a constant map, an empty mask or n == 0. */
double localize_pointing_hit(const float *map, const uint8_t *mask, size_t n);
/* Fraction of the positive map mass inside the mask, or NaN. */
double localize_energy(const float *map, const uint8_t *mask, size_t n);
#endif
