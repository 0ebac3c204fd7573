/* jpeg_lossless.h - decoder for lossless JPEG (ITU T.81 process 14, SOF3):
   the "JPEG Lossless" transfer syntaxes of DICOM (1.2.840.10008.1.2.4.57,
   any predictor, and 1.2.840.10008.1.2.4.70, selection value 1).

   Usage:
     JpegLossless im; char err[256];
     if (jpegll_decode(buf, len, &im, err, sizeof err) < 0) puts(err);
     ... im.samples[(y * im.w + x) * im.comps + c] ...
     jpegll_free(&im);

   Format (T.81 annex H): a marker stream SOI, tables (DHT, DRI; APPn, COM
   and DQT are skipped), SOF3 (precision P 2..16 bits, lines Y, samples
   per line X, 1..4 components), then one or more scans (SOS: the
   components it codes, their DC Huffman table, the predictor Ss 1..7 and
   the point transform Al = Pt), EOI. Each sample is coded as a Huffman
   category SSSS (0..16) plus SSSS extra bits giving the difference to a
   prediction from the reconstructed neighbours Ra (left), Rb (above),
   Rc (above-left):
     1 Ra   2 Rb   3 Rc   4 Ra+Rb-Rc   5 Ra+((Rb-Rc)>>1)   6 Rb+((Ra-Rc)>>1)   7 (Ra+Rb)/2
   The first sample of the scan and of each restart interval is predicted
   by 2^(P-Pt-1), the rest of the first line by Ra, the first sample of
   each later line by Rb. Reconstruction is (prediction + difference) mod
   2^16, and the output sample is that value << Pt. SSSS = 16 means the
   difference 32768 with no extra bits. Entropy-coded bytes 0xFF 0x00 stand
   for 0xFF; RSTn markers follow every DRI-given number of MCUs.

   Limits: a restart interval must be a whole number of lines (IJG and
   dcmtk refuse others too); interleaved scans need sampling factors 1x1 (as DICOM encoders
   write them); X and Y at most JPEGLL_MAX_DIM, X*Y at most JPEGLL_MAX_PIXELS;
   the height must be in the SOF (no DNL). A sample the data does not
   cover (data ending early) is an error, not zero fill.
   Functions return 0 on success, -1 with a message in err. */
#ifndef IO_JPEG_LOSSLESS_H
#define IO_JPEG_LOSSLESS_H

#include <stddef.h>
#include <stdint.h>

#define JPEGLL_MAX_DIM 65535
#define JPEGLL_MAX_PIXELS ((size_t)1 << 26)

typedef struct {
    int w, h, comps;     /* samples per line, lines, components (1..4) */
    int precision;       /* P, bits per sample (2..16) */
    int predictor;       /* Ss of the last scan (1..7) */
    uint16_t *samples;   /* (h, w, comps) interleaved, malloc'd */
} JpegLossless;

int jpegll_decode(const uint8_t *buf, size_t len, JpegLossless *out, char *err, size_t errlen);
void jpegll_free(JpegLossless *im);
#endif
