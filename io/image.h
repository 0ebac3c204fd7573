/* image.h - input images for the classifiers: decode (stb_image), resize,
   channel conversion, normalisation; PNG output (stb_image_write).

   Usage:
     float x[3 * 224 * 224]; char err[512];
     const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
     if (image_preprocess("cxr.png", 3, 224, mean, std, x, err, sizeof err) < 0) puts(err);
   or step by step:
     Image im, r, g;
     image_load("cxr.png", &im, err, sizeof err);   // CHW floats in [0,1]
     image_resize(&im, 224, 224, &r);               // torch bilinear, antialias=True
     image_to_channels(&r, 1, &g);                  // 3 -> 1 luminance
     image_normalize(&g, mean, std);
     image_free(&im); image_free(&r); image_free(&g);

   Decoding: PNG, JPEG (baseline and progressive), BMP, TGA via stb_image
   v2.27 with STBI_MAX_DIMENSIONS = IMAGE_MAX_DIM and at most
   IMAGE_MAX_PIXELS pixels (checked from the header before decoding);
   binary PGM/PPM (P5/P6) by our own decoder (stb 2.27 gets 16-bit PNM
   wrong). 16-bit PNG is decoded at 16 bits (stbi_load_16) and scaled by
   1/65535, 8-bit data by 1/255; PGM/PPM samples by 1/maxval (so 1/255 and
   1/65535 for the usual maxvals, 1/4095 for 12-bit). Gray and gray+alpha give c = 1,
   RGB and RGBA give c = 3: alpha is dropped, not composited.
   A missing, unreadable, empty or corrupt file is an error naming the file
   and stb_image's reason.

   Resize convention (image_resize): exactly
     torch.nn.functional.interpolate(x, size=(oh, ow), mode='bilinear',
                                     align_corners=False, antialias=True)
   on float data, which is also PIL's Image.resize(BILINEAR) on float images.
   Separable, width first then height. Along one axis of in -> out samples:
     scale   = in / out
     support = scale >= 1 ? scale : 1           (triangle radius, in input pixels)
     center  = scale * (i + 0.5)                (output pixel i, half-pixel centres)
     xmin    = max((int)(center - support + 0.5), 0)
     xmax    = min((int)(center + support + 0.5), in)     (int() truncates)
     w_j     = max(0, 1 - |(j - center + 0.5) / max(scale, 1)|)   for j in [xmin, xmax)
     out[i]  = sum_j w_j * in[j] / sum_j w_j
   For upscaling (scale < 1) this is ordinary bilinear interpolation with
   half-pixel centres and edge clamping; for downscaling the triangle is
   widened by the factor, which is the antialiasing. Weights and sums in
   double, intermediate and output in float.

   Luminance (image_to_channels 3 -> 1): L = 0.299 R + 0.587 G + 0.114 B,
   the ITU-R 601-2 weights of PIL's convert('L'), in float, no rounding.
   1 -> 3 replicates the gray plane.

   NIfTI-1/2 volumes (.nii, .nii.gz; recognised by extension or by their
   magic, gzip included): image_load gives one 2-D slice, c = 1, windowed
   to [0,1] - by default the middle axial slice of volume 0 in
   radiological display orientation with the "auto" window (cal_min /
   cal_max if set, else the slice's min-max); io/nifti.h has the details.

   DICOM (io/dicom.h): a file with "DICM" after the 128-byte preamble, or
   named *.dcm (any case) and starting like a bare DICOM dataset, is read
   by io/dicom.c: frame 0, rescaled and windowed to [0,1] with the default
   window (the file's first WindowCenter/Width, else the min-max of the
   frame; colour: stored / (2^BitsStored - 1)). MONOCHROME gives c = 1,
   RGB and YBR (JPEG) give c = 3. Window names: "auto" (the file's, else
   min-max), "file", "minmax", "full" (stored / (2^BitsStored - 1)) or
   "C,W".

   image_load_opts / image_decode_opts choose the DICOM frame, the NIfTI
   slice and volume, and the window, and report what was applied:
     ImageLoadOpts o = {.frame = 2, .window = "40,400"};
     ImageLoadInfo info;
     if (image_load_opts("ct.dcm", &o, &im, &info, err, sizeof err) == 0)
         printf("%s %s c=%g w=%g\n", info.format, info.window_kind, info.center, info.width);
   Defaults: ImageLoadOpts all zero / NULL. For other formats the options
   must be the defaults (an error otherwise); info->format is then "image".

   Functions returning int give 0 on success and -1 on error. */
#ifndef IO_IMAGE_H
#define IO_IMAGE_H

#include <stddef.h>
#include <stdint.h>


#define IMAGE_MAX_DIM 16384
#define IMAGE_MAX_PIXELS ((size_t)1 << 26)      /* 67M pixels, e.g. 8192 x 8192: <= 1.1 GB decoded */
#define IMAGE_MAX_FILE ((size_t)1 << 30)        /* 1 GiB encoded */

typedef struct {
    int c, h, w;   /* channels (1 or 3), height, width */
    float *data;   /* (c, h, w), malloc'd */
} Image;

/* Options for volumes and multi-frame files; {0} (or a NULL pointer) is
   the default everywhere. */
typedef struct {
    int frame;            /* multi-frame DICOM: frame number, 0 = first */
    const char *slice;    /* NIfTI: "axial|coronal|sagittal[:INDEX]", NULL = middle axial */
    int volume;           /* NIfTI 4-D+: volume number, 0 = first */
    const char *window;   /* "C,W" (DICOM's linear VOI formula), "minmax", "auto" or NULL = auto;
                             DICOM also "file" and "full" */
} ImageLoadOpts;

/* What image_load_opts used, for manifests. */
typedef struct {
    char format[16];        /* "image" (stb/PNM), "dicom", "nifti1", "nifti2" */
    char window_kind[16];   /* "" if none applied; NIfTI "center-width", "minmax", "cal";
                               DICOM "file", "minmax", "full", "explicit" */
    char voi_function[16];  /* DICOM: "LINEAR", "LINEAR_EXACT", "SIGMOID"; "" otherwise */
    double lo, hi;          /* the values mapped to 0 and 1 */
    double center, width;   /* the equivalent DICOM window: C = (lo+hi)/2 + 0.5, W = hi - lo + 1 */
    char slice[24];         /* e.g. "axial:12" (NIfTI), "" otherwise */
    int slice_count;        /* slices along that axis */
    int volume, nvolumes;   /* NIfTI: volume used, volumes in the file (1 for 3-D) */
    int frame, nframes;     /* DICOM: frame used, frames in the file */
    char orientation[4];    /* NIfTI: where the stored axes i, j, k point, e.g. "LAS" */
    char orient_source[8];  /* NIfTI: "sform", "qform" or "voxel" */
    double slope, intercept;   /* DICOM rescale applied (1, 0 otherwise) */
    char transfer_syntax[65];  /* DICOM transfer syntax UID ("" otherwise) */
    char photometric[17];      /* DICOM PhotometricInterpretation ("" otherwise) */
} ImageLoadInfo;

int image_new(Image *out, int c, int h, int w);   /* zero-filled */
int image_load(const char *path, Image *out, char *err, size_t errlen);
/* The same from encoded bytes in memory; name is used in messages. */
int image_decode(const uint8_t *buf, size_t len, const char *name, Image *out, char *err, size_t errlen);
/* The same with options (NULL: defaults); info (may be NULL) gets what was used. */
int image_load_opts(const char *path, const ImageLoadOpts *opts, Image *out, ImageLoadInfo *info,
                    char *err, size_t errlen);
int image_decode_opts(const uint8_t *buf, size_t len, const char *name, const ImageLoadOpts *opts,
                      Image *out, ImageLoadInfo *info, char *err, size_t errlen);
/* 1 if image_decode would read these bytes as DICOM (name may be NULL). */
int image_is_dicom(const uint8_t *buf, size_t len, const char *name);
/* An 8-bit JPEG (baseline/progressive) through the same guarded stb_image
   as image_decode: (h, w, comp) interleaved bytes to free() or NULL with
   the reason in err. For io/dicom.c's encapsulated JPEG frames. */
uint8_t *image_jpeg_decode_u8(const uint8_t *buf, size_t len, int *w, int *h, int *comp, char *err, size_t errlen);
/* Width and height from the header only, without decoding (0 or -1);
   DICOM only with the "DICM" preamble. */
int image_peek_size(const uint8_t *buf, size_t len, int *w, int *h);
int image_resize(const Image *in, int oh, int ow, Image *out);
int image_to_channels(const Image *in, int c, Image *out);
void image_normalize(Image *im, const float *mean, const float *std);   /* (x - mean[c]) / std[c] */
/* Every value divided by q, the percentile-th percentile (0 < percentile <=
   100) of all the image's values, then clamped to [0, 1]; nothing changes
   when q <= 0. q interpolates linearly between the two nearest order
   statistics at rank percentile/100 x (n - 1), as numpy.percentile and
   torch.quantile do by default. An image multiplied by a gain g > 0 gives
   the same result, up to what a clamp before it cut off. -1 if out of memory. */
int image_scale_percentile(Image *im, float percentile);
/* load -> resize to size x size -> channels -> normalize (skipped if mean
   or std is NULL) into out_chw, a caller buffer of channels*size*size floats. */
int image_preprocess(const char *path, int channels, int size, const float *mean, const float *std,
                     float *out_chw, char *err, size_t errlen);
/* image_preprocess with load options (slice, volume, frame, window; NULL:
   the defaults); info (may be NULL) gets what was used. */
int image_preprocess_opts(const char *path, const ImageLoadOpts *opts, int channels, int size, const float *mean,
                          const float *std, float *out_chw, ImageLoadInfo *info, char *err, size_t errlen);
/* pixels: (h, w, c) interleaved 8-bit, c in 1..4. */
int image_write_png(const char *path, const uint8_t *pixels, int w, int h, int c);
/* The same as a baseline JPEG of the given quality (1-100), as stb_image_write writes it. */
int image_write_jpg(const char *path, const uint8_t *pixels, int w, int h, int c, int quality);
void image_free(Image *im);
#endif
