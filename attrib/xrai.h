/* xrai.h - the pieces of XRAI (attrib/xrai.c), exposed for tests and for
   callers that bring their own attribution.

   Usage:
     XraiMasks M;
     if (xrai_masks(&M, x, C, H, W) < 0) ...;        // PAIR's default segments
     float *map = malloc(H * W * sizeof *map);
     int regions = xrai_greedy(map, ranks, attr_hw, H, W, &M, NULL);
     xrai_masks_free(&M);

   Contract: xrai_masks reproduces PAIR's _get_segments_felzenszwalb (saliency
   core/xrai.py at 7b72b67): x rescaled to [-1,1] over the whole input,
   resized to 224x224 as skimage.transform.resize(order=3, mode='constant',
   anti_aliasing=True) does (the identity at 224x224), Felzenszwalb at scales
   50,100,150,250,500,1200 (sigma 0.8, min_size 150), labels resized back
   with order 0, one mask per label, each dilated by skimage's disk(5).
   xrai_greedy is PAIR's XRAI._xrai with area_threshold 1.0 and
   min_pixel_diff 50; ranks (may be NULL) get PAIR's integer segments (1 = the
   best region). */
#ifndef ATTRIB_XRAI_H
#define ATTRIB_XRAI_H
#include <stdint.h>
#include <stdio.h>

#define XRAI_N_SCALES 6
#define XRAI_SEG_SIZE 224

typedef struct {
    int n;                           /* masks, in PAIR's order (scale, then label) */
    int64_t *start;                  /* (n+1) offsets into pix */
    int32_t *pix;                    /* pixel indices y*W+x, ascending within a mask */
    int per_scale[XRAI_N_SCALES];    /* masks at each scale: the segments, less any
                                        the order-0 resize lost at the label range's ends */
} XraiMasks;

/* x (C,H,W). Returns 0, or -1 with eng_last_error() set. */
int xrai_masks(XraiMasks *M, const float *x, int C, int H, int W);
void xrai_masks_free(XraiMasks *M);

/* attr (H,W) -> map (H,W), ranks (H,W) or NULL. narrate: the first regions.
   Returns the number of regions chosen (the uncovered rest not counted), or
   -1 on allocation failure. */
int xrai_greedy(float *map, int32_t *ranks, const float *attr, int H, int W, const XraiMasks *M,
                FILE *narrate);

/* skimage.transform.resize(img, (oh, ow), order=3, mode='constant',
   preserve_range=True, anti_aliasing=True) of a float32 image (C,H,W),
   i.e. scipy.ndimage.gaussian_filter (mode 'constant', sigma (H/oh - 1)/2
   per axis when downsampling) then scipy.ndimage.zoom(order=3,
   mode='grid-constant', grid_mode=True) of the (H,W,C) array, then clipped
   to the input's range. Bit-exact with skimage 0.19 / scipy 1.10.
   dst (C,oh,ow). Returns 0 or -1 (allocation). */
int xrai_resize_cubic(float *dst, int oh, int ow, const float *src, int C, int H, int W);
/* skimage resize(order=0, mode='constant', anti_aliasing=False) of labels
   (h,w) -> (H,W): nearest source index floor((o + 0.5) * h / H - 0.5 + 0.5),
   clamped. */
void xrai_resize_labels(int32_t *dst, int H, int W, const int32_t *src, int h, int w);
#endif
