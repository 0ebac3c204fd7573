/* dicom.h - a from-scratch reader of DICOM image files (PS3.5 / PS3.10):
   parse, decode one frame's stored values, apply the modality rescale and
   an intensity window, giving floats in [0,1] for the classifiers.
   No library beyond zlib (deflate); JPEG baseline through the guarded
   stb_image of io/image.c, lossless JPEG through io/jpeg_lossless.c.

   Usage:
     DicomFile d; char err[512];
     if (dicom_parse(buf, len, "ct.dcm", &d, err, sizeof err) < 0) puts(err);
     float *x = malloc(dicom_frame_values(&d) * sizeof *x);     // (samples, rows, cols)
     DicomWindow want = {DICOM_WINDOW_AUTO}, used;
     if (dicom_render(&d, 0, &want, x, &used, err, sizeof err) < 0) puts(err);
     printf("window %s c=%g w=%g\n", dicom_window_mode_name(used.mode), used.center, used.width);
     dicom_free(&d);
   image_load / image_load_opts (io/image.h) do all of this for files
   that start with the DICOM preamble or are named *.dcm.

   File layout (PS3.10 7.1): an optional 128-byte preamble + "DICM" and
   the file meta group (group 0002, always explicit VR little endian)
   whose TransferSyntaxUID (0002,0010) says how the rest is encoded. Files
   without preamble but starting with group 0002 are read too; with no
   meta group at all the encoding is guessed from the first element, as
   pydicom does (implicit VR little endian unless bytes 4-5 are a VR name;
   big endian if the first group number only makes sense byte-swapped).
   A dataset declared explicit VR little endian whose first element has
   no VR name is read as implicit VR, as pydicom does.

   Data elements (PS3.5 7.1): tag (group, element), then in explicit VR a
   2-letter VR and a 2-byte length (4-byte after 2 reserved bytes for
   OB OD OF OL OV OW SQ SV UC UN UR UT UV), in implicit VR a 4-byte length.
   Length 0xFFFFFFFF ("undefined") is allowed only for sequences (SQ, UN,
   or any element in implicit VR) and for encapsulated Pixel Data; such a
   sequence is a run of items (FFFE,E000) ended by (FFFE,E0DD), an item of
   undefined length ends with (FFFE,E00D). Sequences are skipped (the
   decoder needs none of their content), with a nesting limit of
   DICOM_MAX_DEPTH. Odd defined lengths are refused (PS3.5 7.1.1: values
   have even length). Every length is checked against the bytes left.
   Parsing stops after the top-level Pixel Data (7FE0,0010).

   Transfer syntaxes read (dicom_syntax_name gives the names):
     1.2.840.10008.1.2          implicit VR little endian
     1.2.840.10008.1.2.1        explicit VR little endian
     1.2.840.10008.1.2.2        explicit VR big endian (retired, still met)
     1.2.840.10008.1.2.1.99     deflated explicit VR little endian: the
                                dataset after the meta group is a raw
                                deflate stream (RFC 1951), inflated with
                                zlib up to DICOM_MAX_INFLATED bytes
     1.2.840.10008.1.2.5        RLE lossless (PS3.5 annex G): per frame one
                                fragment, a 64-byte header (segment count,
                                15 offsets) and one PackBits segment per
                                byte plane, most significant byte first
     1.2.840.10008.1.2.4.50     JPEG baseline (8-bit), decoded by stb_image;
                                lossy across decoders (the IDCT arithmetic
                                and chroma upsampling are not fixed by the
                                standard): within 1 of libjpeg (pydicom via
                                Pillow, dcmtk), 2 with 4:2:2 chroma;
                                YBR_FULL / YBR_FULL_422 come out as RGB;
                                with PhotometricInterpretation RGB the
                                components are taken as R, G, B without
                                YCbCr conversion, as dcmtk and pydicom do
     1.2.840.10008.1.2.4.57     JPEG lossless, process 14, any predictor
     1.2.840.10008.1.2.4.70     JPEG lossless, process 14, selection value 1
   Every other syntax (JPEG extended 12-bit, JPEG-LS, JPEG 2000, HTJ2K,
   MPEG, ...) is refused with a message naming the file, the UID, its name
   and the Debian command that rewrites the file uncompressed (dcmtk's
   dcmdjpeg / dcmdjpls, or gdcm's gdcmconv --raw).
   Encapsulated Pixel Data (PS3.5 A.4): items of fragments, the first one
   the basic offset table. Frame k is fragment k when there are as many
   fragments as frames, else the fragments from the k-th offset of the
   table; a single frame is all fragments concatenated.

   Pixel module attributes used (group 0028): SamplesPerPixel (1 or 3),
   PhotometricInterpretation (MONOCHROME1, MONOCHROME2, RGB; YBR_FULL and
   YBR_FULL_422 only inside JPEG baseline; everything else refused by
   name), PlanarConfiguration (0 interleaved, 1 planes), NumberOfFrames,
   Rows, Columns, BitsAllocated (8, 16, 32; 1 refused), BitsStored,
   HighBit, PixelRepresentation (0 unsigned, 1 two's complement),
   RescaleSlope / RescaleIntercept, WindowCenter / WindowWidth (first
   value of each), VOILUTFunction. Stored value of a sample: the
   BitsStored bits ending at HighBit, sign-extended from BitsStored when
   PixelRepresentation is 1. Nothing else of the file is kept: the
   struct holds no patient-identifying attribute (no names, IDs, dates,
   accession numbers, institutions, UIDs other than the transfer syntax).

   Intensity (dicom_render): monochrome values are rescaled,
   x = stored * slope + intercept (Hounsfield units for CT), colour values
   are not. Then the window maps x to [0,1]:
     file      the file's first WindowCenter c / WindowWidth w with its
               VOILUTFunction (PS3.3 C.11.2.1.2):
               LINEAR:  x <= c - 0.5 - (w-1)/2 -> 0;  x > c - 0.5 + (w-1)/2 -> 1;
                        else (x - (c - 0.5)) / (w - 1) + 0.5      (needs w >= 1)
               LINEAR_EXACT: x <= c - w/2 -> 0; x > c + w/2 -> 1; else (x - c) / w + 0.5
               SIGMOID: 1 / (1 + exp(-4 (x - c) / w))
     explicit  the caller's c and w with LINEAR
     minmax    (x - lo) / (hi - lo) over the frame's values (0 if hi == lo);
               reported as c = (lo + hi) / 2, w = hi - lo
     full      (stored - min) / (2^BitsStored - 1) on the stored values,
               min = 0 (unsigned) or -2^(BitsStored-1) (signed): for 8-bit
               data the /255 of ordinary images. It equals LINEAR with
               w = 2^BitsStored, c = min + 2^(BitsStored-1), the numbers
               reported
     auto      file if the file has a usable window (monochrome), else
               minmax for monochrome and full for colour
   MONOCHROME1 (0 = white) is inverted after windowing: y -> 1 - y.

   Limits: file bytes as given by the caller (image_load caps files at
   IMAGE_MAX_FILE); Rows and Columns at most DICOM_MAX_DIM; one frame at
   most DICOM_MAX_PIXELS samples; rows*cols*samples*frames*bytes is
   computed with overflow checks and must fit the Pixel Data.
   Functions returning int give 0 on success and -1 with a message naming
   the file and the reason in err (errlen bytes, may be NULL). */
#ifndef IO_DICOM_H
#define IO_DICOM_H

#include <stddef.h>
#include <stdint.h>

#define DICOM_MAX_DIM 16384
#define DICOM_MAX_PIXELS ((size_t)1 << 26)       /* samples of one frame */
#define DICOM_MAX_INFLATED ((size_t)256 << 20)   /* deflated datasets: 256 MiB */
#define DICOM_MAX_DEPTH 16                       /* sequence nesting */
#define DICOM_MAX_FRAGMENTS 65536

typedef enum {
    DICOM_WINDOW_AUTO = 0,   /* file if usable, else minmax (monochrome) / full (colour) */
    DICOM_WINDOW_FILE,       /* the file's first WindowCenter/Width and VOILUTFunction */
    DICOM_WINDOW_MINMAX,     /* min-max of the frame's rescaled values */
    DICOM_WINDOW_FULL,       /* stored / (2^BitsStored - 1) */
    DICOM_WINDOW_EXPLICIT    /* the caller's center and width, LINEAR */
} DicomWindowMode;

typedef enum { DICOM_VOI_LINEAR = 0, DICOM_VOI_LINEAR_EXACT, DICOM_VOI_SIGMOID } DicomVoiFunction;

typedef struct {
    DicomWindowMode mode;
    double center, width;        /* EXPLICIT: the request; in a result: the numbers used */
    DicomVoiFunction function;   /* in a result: the formula used */
} DicomWindow;

typedef enum {
    DICOM_NATIVE = 0, DICOM_RLE, DICOM_JPEG_BASELINE, DICOM_JPEG_LOSSLESS
} DicomCoding;

typedef struct {
    char transfer_syntax[65];    /* UID */
    DicomCoding coding;
    int big_endian;              /* native pixel data byte order */
    int rows, cols, frames, samples;
    int bits_allocated, bits_stored, high_bit, pixel_representation, planar;
    char photometric[17];        /* as in the file (JPEG YBR_* decodes to RGB) */
    int monochrome1;
    double slope, intercept;     /* 1 and 0 when absent */
    int has_window;              /* a usable first WindowCenter/Width */
    double window_center, window_width;
    DicomVoiFunction voi_function;
    /* Pixel Data: native bytes, or fragments of the encapsulated form */
    const uint8_t *pixels;
    size_t pixels_len;
    int pixels_ow_swap;          /* big endian OW holding 8-bit samples */
    size_t nfrag, nbot;          /* fragments; basic offset table entries */
    const uint8_t **frag;        /* fragment starts (malloc'd array) */
    size_t *frag_len;
    uint32_t *bot;               /* basic offset table (malloc'd, nbot entries) */
    uint8_t *inflated;           /* the deflated dataset, inflated (owned) */
    char name[128];              /* for messages */
} DicomFile;

/* 2 if buf starts with a 128-byte preamble and "DICM", 1 if it plausibly
   starts with a bare dataset or meta group (a group 0002/0008 element of
   plausible length), 0 otherwise. Cheap; decides nothing by itself. */
int dicom_sniff(const uint8_t *buf, size_t len);
/* Parses the header and locates the pixel data. buf must outlive d
   (pixels point into it, except for deflated files). */
int dicom_parse(const uint8_t *buf, size_t len, const char *name, DicomFile *d, char *err, size_t errlen);
/* samples * rows * cols: the size of one frame's output. */
size_t dicom_frame_values(const DicomFile *d);
/* Stored values of frame k (0-based) into out, (samples, rows, cols);
   colour from JPEG comes out as RGB. */
int dicom_frame_stored(const DicomFile *d, int frame, int64_t *out, char *err, size_t errlen);
/* Rescale + window of frame k into out (samples, rows, cols), floats in
   [0,1]; want NULL means AUTO; used (may be NULL) receives the mode that
   was applied and its numbers. */
int dicom_render(const DicomFile *d, int frame, const DicomWindow *want, float *out, DicomWindow *used,
                 char *err, size_t errlen);
/* The window formula on one value (see above); exposed for tests. */
double dicom_window_apply(double x, double center, double width, DicomVoiFunction f);
void dicom_free(DicomFile *d);

/* Names: "implicit VR little endian", ... or NULL for an unknown UID. */
const char *dicom_syntax_name(const char *uid);
const char *dicom_window_mode_name(DicomWindowMode m);    /* "auto", "file", ... */
const char *dicom_voi_function_name(DicomVoiFunction f);  /* "LINEAR", ... */
/* Parses "auto", "file", "minmax", "full" or "C,W" (explicit, W >= 1)
   into w; 0 or -1. For command lines. */
int dicom_window_from_string(const char *s, DicomWindow *w);
#endif
