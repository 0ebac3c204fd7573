/* info.h - "information" estimators of an 8-bit image for the PIC metrics
   (AIC/SIC): the x axis of the performance-information curve.

   Usage:
     InfoKind k;
     if (info_parse("webp", &k) < 0) ...            // "webp" | "png" | "entropy"
     double bits_or_bytes = info_estimate(k, img, h, w, c);   // < 0 on error
     printf("information: %s\n", info_describe(k));

   Image layout: (H,W,C) uint8 interleaved, C = 1 (gray) or 3 (RGB), as
   PAIR's pic.py passes numpy arrays to PIL.

   Estimators:
   - INFO_WEBP (default; PAIR's estimate_image_entropy): the byte size of the
     lossless WebP file Pillow writes for Image.fromarray(img).save(buf,
     format='webp', lossless=True, quality=100). Pillow 9.4 fills a
     WebPConfig by WebPConfigPreset(DEFAULT, quality 100), then lossless=1,
     method=4 (its default), exact=0, imports the pixels as RGB (a gray
     image is first converted to RGB, R=G=B) and encodes; no metadata
     chunks. We do the same through libwebp's advanced API with a writer
     that only counts bytes. (The simple WebPEncodeLosslessRGB uses quality
     70, a different effort level, so it is not used.) The byte counts are
     checked against Pillow's in tests/test_pic.c.
   - INFO_PNG: byte size of the PNG that stb_image_write (compression level
     8, its default filter choice) writes for the image with C channels.
     Our own estimator; no reference implementation to match.
   - INFO_ENTROPY (the seed paper's default, yusufbrima/XAIBiomedical
     pic.py estimate_image_entropy): Shannon entropy in bits of
     np.histogram(img, bins=256, range=(img.min(), img.max())) over all
     values of all channels, normalised to probabilities (scipy.stats.entropy
     with base 2). For 8-bit data the 256 bins over [min, max] are at most
     255/256 wide, so distinct values never share a bin: this equals the
     entropy of the plain 256-value histogram, H = -sum p_v log2 p_v with
     p_v = count_v / (H*W*C), computed here as sum(-p ln p) / ln 2 like
     scipy. A constant image has entropy 0.
   All return -1 (and set eng_last_error) on bad sizes or encoder failure. */
#ifndef EVAL_INFO_H
#define EVAL_INFO_H
#include <stdint.h>

typedef enum { INFO_WEBP = 0, INFO_PNG, INFO_ENTROPY, INFO_COUNT } InfoKind;

int info_parse(const char *name, InfoKind *out);   /* 0, or -1 for an unknown name */
const char *info_name(InfoKind k);                  /* "webp", "png", "entropy" */
const char *info_describe(InfoKind k);              /* one line for outputs */

/* img (h,w,c) */
double info_estimate(InfoKind k, const uint8_t *img, int h, int w, int c);
long info_webp_bytes(const uint8_t *img, int h, int w, int c);
long info_png_bytes(const uint8_t *img, int h, int w, int c);
double info_entropy_bits(const uint8_t *img, int h, int w, int c);
#endif
