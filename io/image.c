/* image.c - image decode (stb_image), torch-exact antialiased bilinear
   resize, channel conversion, normalisation, PNG output. Contract in image.h. */
#include "io/image.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/file.h"
#include "io/dicom.h"
#include "io/nifti.h"

/* stb_image: the one implementation in salient, restricted to the formats
   we promise, with a dimension bound so a forged header cannot ask for a
   gigantic buffer. Its own code is compiled without our warnings.
   PGM/PPM are decoded here instead: stb_image 2.27 reads 16-bit PNM
   samples in the wrong byte order, ignores maxval and returns
   uninitialised memory for a truncated raster. stb_image_write's
   implementation is in io/stb_write.c. */
#define STBI_MAX_DIMENSIONS IMAGE_MAX_DIM
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_TGA
#define STB_IMAGE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wswitch-enum"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

/* c*h*w floats with overflow checks; dims must be positive and bounded. */
static size_t image__count(int c, int h, int w) {
    if (c < 1 || c > 4 || h < 1 || w < 1 || h > IMAGE_MAX_DIM || w > IMAGE_MAX_DIM) return 0;
    size_t n = (size_t)h * (size_t)w;          /* <= 2^28, no overflow */
    if (n > IMAGE_MAX_PIXELS) return 0;
    return n * (size_t)c;                      /* <= 2^29 */
}

int image_new(Image *out, int c, int h, int w) {
    memset(out, 0, sizeof *out);
    size_t n = image__count(c, h, w);
    if (n == 0) return -1;
    out->data = calloc(n, sizeof(float));
    if (!out->data) return -1;
    out->c = c; out->h = h; out->w = w;
    return 0;
}

void image_free(Image *im) {
    if (!im) return;
    free(im->data);
    memset(im, 0, sizeof *im);
}

/* ---- guards for memory-safety bugs of stb_image 2.27 in JPEG ----
   Found by tests/fuzz (upstream 2.28 fixes them differently):
   1. its DHT handler sums the 16 Huffman code counts of a table without a
      bound and writes that many entries into 257- and 256-entry arrays;
   2. a scan may use a Huffman table no DHT defined; stb's tables live in
      uninitialised memory, so decoding indexes them with garbage.
   image__jpeg_check walks the marker chain the way stb_image does and
   refuses such a file before stb sees it:
   - markers are read like stbi__get_marker (0xFF, fill 0xFFs, the code);
     before the frame header (SOF0-2) stb skips stray bytes between
     segments, after it any stray byte ends the decode;
   - segments stb accepts (DHT, DQT, DRI, APPn, COM, SOF, SOS, DNL) are
     skipped by their length field, which is what stb consumes when it
     does not fail;
   - after a scan header the entropy-coded data runs to the first 0xFF
     followed by a byte other than 0x00, 0xFF or RST0-7, the only place
     stb's bit reader or its resynchronisation loop can accept a marker;
   - the tables a scan decodes with: baseline, DC and AC of each component;
     progressive, DC in a first DC scan (Ss = 0, Ah = 0), none in a DC
     refinement, AC in an AC scan (Ss > 0).
   Any other marker makes stb fail by itself, so the walk stops there.
   Reads past the end count as 0, as stbi__get8 does.
   Returns NULL if safe, else what is wrong. */
typedef struct { const uint8_t *b; size_t len, pos; } ImageJpegWalk;

static int image__jw8(ImageJpegWalk *j) { return j->pos < j->len ? j->b[j->pos++] : (j->pos++, 0); }

static int image__jw16(ImageJpegWalk *j) { int hi = image__jw8(j); return hi << 8 | image__jw8(j); }

static int image__jwmarker(ImageJpegWalk *j) {   /* 0xFF-less byte -> -1 (stb's MARKER_none) */
    int x = image__jw8(j);
    if (x != 0xFF) return -1;
    while (x == 0xFF) x = image__jw8(j);
    return x;
}

/* One DHT segment at j->pos (its length field); marks the tables it defines. */
static const char *image__jpeg_dht(ImageJpegWalk *j, int defined[2][4]) {
    size_t start = j->pos;
    int L = image__jw16(j) - 2;
    while (L > 0) {
        int q = image__jw8(j), n = 0;
        if ((q >> 4) > 1 || (q & 15) > 3) break;   /* stb: "bad DHT header" */
        for (int i = 0; i < 16; i++) n += image__jw8(j);
        if (n > 256) return "a Huffman table has more than 256 codes";
        defined[q >> 4][q & 15] = 1;
        L -= 17 + n;
        j->pos += (size_t)n;
    }
    j->pos = start;
    return NULL;
}

/* One SOS header at j->pos: every table the scan decodes with must exist. */
static const char *image__jpeg_sos(ImageJpegWalk *j, int progressive, int defined[2][4]) {
    size_t start = j->pos;
    image__jw16(j);
    int ns = image__jw8(j), td[4] = {0}, ta[4] = {0};
    if (ns < 1 || ns > 4) { j->pos = start; return NULL; }   /* stb: "bad SOS component count" */
    for (int i = 0; i < ns; i++) {
        image__jw8(j);
        int q = image__jw8(j);
        td[i] = q >> 4; ta[i] = q & 15;
        if (td[i] > 3 || ta[i] > 3) { j->pos = start; return NULL; }   /* stb: "bad DC/AC huff" */
    }
    int ss = image__jw8(j);
    image__jw8(j);
    int ah = image__jw8(j) >> 4;
    j->pos = start;
    int use_dc = !progressive || (ss == 0 && ah == 0), use_ac = !progressive || ss > 0;
    for (int i = 0; i < ns; i++)
        if ((use_dc && !defined[0][td[i]]) || (use_ac && !defined[1][ta[i]]))
            return "a scan uses a Huffman table that was never defined";
    return NULL;
}

static const char *image__jpeg_check(const uint8_t *b, size_t len) {
    ImageJpegWalk j = {b, len, 0};
    int defined[2][4] = {{0}};
    if (image__jwmarker(&j) != 0xD8) return NULL;   /* not a JPEG for stb */
    int header = 1, progressive = 0, m = image__jwmarker(&j);
    while (j.pos <= len) {
        if (m < 0) {
            if (!header) return NULL;
            m = image__jwmarker(&j);
            continue;
        }
        int sof = m == 0xC0 || m == 0xC1 || m == 0xC2;
        const char *bad = NULL;
        if (m == 0xC4) bad = image__jpeg_dht(&j, defined);
        if (m == 0xDA && !header) bad = image__jpeg_sos(&j, progressive, defined);
        if (bad) return bad;
        if (m == 0xDA && !header) {
            size_t L = (size_t)image__jw16(&j);
            j.pos += L >= 2 ? L - 2 : 0;
            while (j.pos + 1 < len) {
                uint8_t c = b[j.pos + 1];
                if (b[j.pos] == 0xFF && c != 0x00 && c != 0xFF && !(c >= 0xD0 && c <= 0xD7)) break;
                j.pos++;
            }
            if (j.pos + 1 >= len) return NULL;
            m = image__jwmarker(&j);
            continue;
        }
        if (m == 0xC4 || m == 0xDB || m == 0xDD || (m >= 0xE0 && m <= 0xEF) || m == 0xFE ||
            sof || (m == 0xDC && !header)) {
            size_t L = (size_t)image__jw16(&j);
            j.pos += L >= 2 ? L - 2 : 0;
            if (sof) { header = 0; progressive = m == 0xC2; }
        } else {
            return NULL;   /* EOI, or a marker stb refuses */
        }
        m = image__jwmarker(&j);
    }
    return NULL;
}

/* Two more stb_image 2.27 weaknesses on PNG, both found by tests/fuzz:
   a chunk may declare up to 2^31 bytes, which stb allocates before it
   finds the file is shorter; and a zero-length IDAT chunk before any image
   data is copied to a NULL buffer (memcpy(NULL, p, 0), undefined). So the
   chunk chain is walked first, up to IEND (stb ignores what follows):
   returns -1 if a chunk runs past the end of the data (what = its type);
   otherwise 0, with *copy a malloc'd copy without zero-length IDAT chunks
   when there are any (they carry nothing), else NULL. */
static uint32_t image__be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int image__png_check(const uint8_t *b, size_t len, uint8_t **copy, size_t *n, char what[5]) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    *copy = NULL;
    if (len < 8 || memcmp(b, sig, 8) != 0) return 0;
    size_t pos = 8, end = len;
    int empty_idat = 0;
    while (1) {
        if (len - pos < 12) { memcpy(what, "end", 4); return -1; }   /* IEND never came */
        size_t clen = image__be32(b + pos);
        memcpy(what, b + pos + 4, 4);
        what[4] = 0;
        for (int i = 0; i < 4; i++) if (what[i] < 0x20 || what[i] > 0x7E) what[i] = '?';
        if (clen > len - pos - 12) return -1;
        if (clen == 0 && memcmp(b + pos + 4, "IDAT", 4) == 0) empty_idat = 1;
        pos += 12 + clen;
        if (memcmp(b + pos - 12 - clen + 4, "IEND", 4) == 0) { end = pos; break; }
    }
    if (!empty_idat) return 0;
    uint8_t *out = malloc(len);
    if (!out) return 0;   /* let stb try the original */
    memcpy(out, b, 8);
    size_t k = 8;
    for (pos = 8; pos < end;) {
        size_t clen = image__be32(b + pos);
        if (!(clen == 0 && memcmp(b + pos + 4, "IDAT", 4) == 0)) { memcpy(out + k, b + pos, 12 + clen); k += 12 + clen; }
        pos += 12 + clen;
    }
    memcpy(out + k, b + end, len - end);
    *copy = out;
    *n = k + (len - end);
    return 0;
}

/* Netpbm header integer: skips whitespace and '#' comments before it. */
static int image__pnm_int(const uint8_t *b, size_t len, size_t *pos, long *out) {
    size_t i = *pos;
    while (i < len) {
        if (b[i] == '#') { while (i < len && b[i] != '\n' && b[i] != '\r') i++; }
        else if (b[i] == ' ' || (b[i] >= '\t' && b[i] <= '\r')) i++;
        else break;
    }
    long v = 0;
    size_t start = i;
    while (i < len && b[i] >= '0' && b[i] <= '9' && i - start < 9) v = v * 10 + (b[i++] - '0');
    if (i == start || (i < len && b[i] >= '0' && b[i] <= '9')) return -1;
    *pos = i;
    *out = v;
    return 0;
}

/* Binary PGM (P5) / PPM (P6) as Netpbm defines them: header "P5|P6 w h
   maxval" with whitespace and comments, one whitespace byte, then w*h*c
   samples of 1 byte (maxval < 256) or 2 bytes big-endian; intensity =
   sample / maxval. Bytes after the raster (further images) are ignored. */
static int image__load_pnm(const char *path, const uint8_t *b, size_t len, Image *out, char *err, size_t errlen) {
    if (len < 2 || (b[1] != '5' && b[1] != '6'))
        return err_fail(err, errlen, "image '%s': only binary PGM (P5) and PPM (P6) are supported, found 'P%c'",
                        path, len > 1 ? b[1] : '?');
    int c = b[1] == '5' ? 1 : 3;
    size_t pos = 2;
    long w, h, maxval;
    if (image__pnm_int(b, len, &pos, &w) < 0 || image__pnm_int(b, len, &pos, &h) < 0 ||
        image__pnm_int(b, len, &pos, &maxval) < 0 || pos >= len ||
        !(b[pos] == ' ' || (b[pos] >= '\t' && b[pos] <= '\r')))
        return err_fail(err, errlen, "image '%s': malformed PNM header (expected width, height, maxval)", path);
    pos++;
    if (maxval < 1 || maxval > 65535)
        return err_fail(err, errlen, "image '%s': PNM maxval %ld outside 1..65535", path, maxval);
    if (w < 1 || h < 1 || w > IMAGE_MAX_DIM || h > IMAGE_MAX_DIM || (size_t)w * (size_t)h > IMAGE_MAX_PIXELS)
        return err_fail(err, errlen, "image '%s': %ld x %ld pixels is outside the supported range (1..%d per side, %zu pixels)",
                        path, w, h, IMAGE_MAX_DIM, (size_t)IMAGE_MAX_PIXELS);
    size_t bps = maxval < 256 ? 1 : 2, plane = (size_t)w * (size_t)h;
    size_t need = plane * (size_t)c * bps;   /* <= 2^26 * 6, no overflow */
    if (len - pos < need)
        return err_fail(err, errlen, "image '%s': PNM raster truncated (%zu of %zu bytes)", path, len - pos, need);
    if (image_new(out, c, (int)h, (int)w) < 0)
        return err_fail(err, errlen, "image '%s': out of memory for %d x %ld x %ld floats", path, c, h, w);
    const uint8_t *p = b + pos;
    for (size_t i = 0; i < plane; i++)
        for (int ch = 0; ch < c; ch++) {
            size_t k = i * (size_t)c + (size_t)ch;
            long v = bps == 1 ? p[k] : (long)p[2 * k] << 8 | p[2 * k + 1];
            if (v > maxval) {
                image_free(out);
                return err_fail(err, errlen, "image '%s': PNM sample %ld exceeds maxval %ld", path, v, maxval);
            }
            out->data[(size_t)ch * plane + i] = (float)((double)v / (double)maxval);
        }
    return 0;
}

int image_peek_size(const uint8_t *buf, size_t len, int *w, int *h) {
    if (!buf || len < 2 || len > INT_MAX) return -1;
    if (buf[0] == 'P' && buf[1] >= '1' && buf[1] <= '7') {
        size_t pos = 2;
        long pw, ph;
        if (image__pnm_int(buf, len, &pos, &pw) < 0 || image__pnm_int(buf, len, &pos, &ph) < 0) return -1;
        *w = (int)pw; *h = (int)ph;   /* at most 9 digits each */
        return 0;
    }
    if (dicom_sniff(buf, len) == 2) {   /* parses the header (and inflates a deflated dataset) */
        DicomFile d;
        if (dicom_parse(buf, len, NULL, &d, NULL, 0) < 0) return -1;
        *w = d.cols; *h = d.rows;
        dicom_free(&d);
        return 0;
    }
    int comp;
    if (image__jpeg_check(buf, len)) return -1;
    return stbi_info_from_memory(buf, (int)len, w, h, &comp) ? 0 : -1;   /* info stops before IDAT */
}

int image_load(const char *path, Image *out, char *err, size_t errlen) {
    return image_load_opts(path, NULL, out, NULL, err, errlen);
}

int image_load_opts(const char *path, const ImageLoadOpts *opts, Image *out, ImageLoadInfo *info,
                    char *err, size_t errlen) {
    if (!err) errlen = 0;
    memset(out, 0, sizeof *out);
    uint8_t *buf; size_t len;
    char why[512];
    if (io_read_file(path, IMAGE_MAX_FILE, &buf, &len, why, sizeof why) < 0)
        return err_fail(err, errlen, "image: %s", why);
    int rc = image_decode_opts(buf, len, path, opts, out, info, err, errlen);
    free(buf);
    return rc;
}

/* ---- NIfTI (io/nifti.h): one windowed slice as a 1-channel image ---- */

static int image__ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static int image__is_nifti(const uint8_t *buf, size_t len, const char *name) {
    return image__ends_with(name, ".nii") || image__ends_with(name, ".nii.gz") || nifti_sniff(buf, len);
}

static int image__load_nifti(const uint8_t *buf, size_t len, const char *name, const ImageLoadOpts *o,
                             Image *out, ImageLoadInfo *info, char *err, size_t errlen) {
    NiftiFile f;
    NiftiSliceInfo si;
    NiftiWindow win;
    double *s = NULL;
    int h = 0, w = 0, rc = -1;
    if (nifti_parse(buf, len, name, 0, &f, err, errlen) < 0) return -1;
    if (nifti_slice(&f, o->slice, o->volume, &s, &h, &w, &si, err, errlen) < 0) goto done;
    if (image_new(out, 1, h, w) < 0) {
        err_fail(err, errlen, "image '%s': a %d x %d slice is outside the supported range (1..%d per side)",
                 name, h, w, IMAGE_MAX_DIM);
        goto done;
    }
    if (nifti_window(s, (size_t)h * (size_t)w, o->window, f.h.cal_min, f.h.cal_max, out->data, &win,
                     err, errlen) < 0) { image_free(out); goto done; }
    snprintf(info->format, sizeof info->format, "nifti%d", f.h.version);
    snprintf(info->window_kind, sizeof info->window_kind, "%s", win.kind);
    info->lo = win.lo; info->hi = win.hi; info->center = win.center; info->width = win.width;
    static const char *axes[3] = {"sagittal", "coronal", "axial"};
    snprintf(info->slice, sizeof info->slice, "%s:%d", axes[si.axis], si.index);
    info->slice_count = si.count;
    info->volume = si.volume; info->nvolumes = si.nvol;
    info->frame = 0; info->nframes = 1;
    memcpy(info->orientation, si.axcodes, 4);
    snprintf(info->orient_source, sizeof info->orient_source, "%s", si.orient_source);
    rc = 0;
done:
    if (rc < 0 && err && errlen && strncmp(err, "nifti:", 6) == 0) {   /* add the file name */
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", err + 6);
        err_fail(err, errlen, "nifti '%s':%s", name, tmp);
    }
    free(s);
    nifti_free(&f);
    return rc;
}

int image_decode(const uint8_t *buf, size_t len, const char *path, Image *out, char *err, size_t errlen) {
    return image_decode_opts(buf, len, path, NULL, out, NULL, err, errlen);
}

/* ---- DICOM (io/dicom.h): one windowed frame ---- */

/* "*.dcm", any case. */
static int image__dcm_name(const char *name) {
    size_t n = name ? strlen(name) : 0;
    return n >= 4 && name[n - 4] == '.' && tolower((unsigned char)name[n - 3]) == 'd' &&
           tolower((unsigned char)name[n - 2]) == 'c' && tolower((unsigned char)name[n - 1]) == 'm';
}

int image_is_dicom(const uint8_t *buf, size_t len, const char *name) {
    int s = dicom_sniff(buf, len);
    return s == 2 || (s == 1 && image__dcm_name(name));
}

static void image__dicom_info(ImageLoadInfo *info, const DicomFile *d, int frame, const DicomWindow *used) {
    snprintf(info->format, sizeof info->format, "dicom");
    snprintf(info->window_kind, sizeof info->window_kind, "%s", dicom_window_mode_name(used->mode));
    snprintf(info->voi_function, sizeof info->voi_function, "%s", dicom_voi_function_name(used->function));
    info->center = used->center;
    info->width = used->width;
    info->lo = used->center - 0.5 - (used->width - 1) / 2;   /* PS3.3 C.11.2.1.2 LINEAR */
    info->hi = used->center - 0.5 + (used->width - 1) / 2;
    info->frame = frame;
    info->nframes = d->frames;
    info->volume = 0;
    info->nvolumes = 1;
    info->slope = d->samples == 1 ? d->slope : 1;
    info->intercept = d->samples == 1 ? d->intercept : 0;
    snprintf(info->transfer_syntax, sizeof info->transfer_syntax, "%s", d->transfer_syntax);
    snprintf(info->photometric, sizeof info->photometric, "%s", d->photometric);
}

static int image__load_dicom(const uint8_t *buf, size_t len, const char *path, const ImageLoadOpts *o, Image *out,
                             ImageLoadInfo *info, char *err, size_t errlen) {
    DicomWindow want = {DICOM_WINDOW_AUTO, 0, 0, DICOM_VOI_LINEAR}, used;
    if (o->window && dicom_window_from_string(o->window, &want) < 0)
        return err_fail(err, errlen, "image '%s': window '%s': expected auto, file, minmax, full or C,W (W >= 1)", path,
                        o->window);
    if (o->slice || o->volume)
        return err_fail(err, errlen, "image '%s': slice and volume apply to NIfTI volumes; a DICOM file takes a frame",
                        path);
    DicomFile d;
    if (dicom_parse(buf, len, path, &d, err, errlen) < 0) return -1;
    if (image_new(out, d.samples, d.rows, d.cols) < 0) {
        dicom_free(&d);
        return err_fail(err, errlen, "image '%s': out of memory for %d x %d x %d floats", path, d.samples, d.rows, d.cols);
    }
    if (dicom_render(&d, o->frame, &want, out->data, &used, err, errlen) < 0) {
        image_free(out);
        dicom_free(&d);
        return -1;
    }
    image__dicom_info(info, &d, o->frame, &used);
    dicom_free(&d);
    return 0;
}

static int image__decode_plain(const uint8_t *buf, size_t len, const char *path, Image *out, char *err, size_t errlen);

int image_decode_opts(const uint8_t *buf, size_t len, const char *path, const ImageLoadOpts *opts,
                      Image *out, ImageLoadInfo *info, char *err, size_t errlen) {
    static const ImageLoadOpts defaults;
    ImageLoadInfo scratch;
    if (!err) errlen = 0;
    if (!opts) opts = &defaults;
    if (!info) info = &scratch;
    memset(info, 0, sizeof *info);
    memset(out, 0, sizeof *out);
    info->slope = 1;
    if (!path) path = "(memory)";
    if (!buf || len == 0) return err_fail(err, errlen, "image '%s': empty file (0 bytes)", path);
    if (image_is_dicom(buf, len, path)) return image__load_dicom(buf, len, path, opts, out, info, err, errlen);
    if (image__is_nifti(buf, len, path)) return image__load_nifti(buf, len, path, opts, out, info, err, errlen);
    snprintf(info->format, sizeof info->format, "image");
    info->nvolumes = info->nframes = 1;
    if (opts->frame || opts->volume || opts->slice || opts->window)
        return err_fail(err, errlen, "image '%s': frame, slice, volume and window options apply to DICOM and NIfTI "
                        "files only", path);
    if (image__dcm_name(path))
        return err_fail(err, errlen, "image '%s': named .dcm but starts neither with the DICOM preamble "
                        "(\"DICM\" at byte 128) nor like a DICOM dataset", path);
    return image__decode_plain(buf, len, path, out, err, errlen);
}

uint8_t *image_jpeg_decode_u8(const uint8_t *buf, size_t len, int *w, int *h, int *comp, char *err, size_t errlen) {
    if (!err) errlen = 0;
    if (!buf || len < 4 || buf[0] != 0xFF || buf[1] != 0xD8 || len > INT_MAX) {
        err_fail(err, errlen, "not a JPEG stream (no SOI marker)");
        return NULL;
    }
    const char *bad = image__jpeg_check(buf, len);
    if (bad) { err_fail(err, errlen, "corrupt JPEG (%s)", bad); return NULL; }
    if (!stbi_info_from_memory(buf, (int)len, w, h, comp) || (size_t)*w * (size_t)*h > IMAGE_MAX_PIXELS) {
        err_fail(err, errlen, "unreadable JPEG header or too many pixels (stb_image: %s)", stbi_failure_reason());
        return NULL;
    }
    uint8_t *pix = stbi_load_from_memory(buf, (int)len, w, h, comp, 0);
    if (!pix) err_fail(err, errlen, "cannot decode JPEG (stb_image: %s)", stbi_failure_reason());
    return pix;
}

static int image__decode_plain(const uint8_t *buf, size_t len, const char *path, Image *out, char *err, size_t errlen) {
    if (len > INT_MAX) return err_fail(err, errlen, "image '%s': %zu bytes is too large to decode", path, len);
    if (buf[0] == 'P' && len > 1 && buf[1] >= '1' && buf[1] <= '7')
        return image__load_pnm(path, buf, len, out, err, errlen);
    const char *jbad = image__jpeg_check(buf, len);
    if (jbad) return err_fail(err, errlen, "image '%s': corrupt JPEG (%s)", path, jbad);
    int w, h, comp;
    if (!stbi_info_from_memory(buf, (int)len, &w, &h, &comp))
        return err_fail(err, errlen, "image '%s': not a readable PNG/JPEG/BMP/TGA/PGM/PPM image (stb_image: %s)",
                        path, stbi_failure_reason());
    if (w < 1 || h < 1 || w > IMAGE_MAX_DIM || h > IMAGE_MAX_DIM || (size_t)w * (size_t)h > IMAGE_MAX_PIXELS)
        return err_fail(err, errlen, "image '%s': %d x %d pixels is outside the supported range (1..%d per side, %zu pixels)",
                        path, w, h, IMAGE_MAX_DIM, (size_t)IMAGE_MAX_PIXELS);
    int is16 = stbi_is_16_bit_from_memory(buf, (int)len);
    size_t slen = 0;
    uint8_t *stripped;
    char chunk[5];
    if (image__png_check(buf, len, &stripped, &slen, chunk) < 0) {
        if (strcmp(chunk, "end") == 0)
            return err_fail(err, errlen, "image '%s': corrupt PNG (file ends before the IEND chunk)", path);
        return err_fail(err, errlen, "image '%s': corrupt PNG (chunk '%s' runs past the end of the file)", path, chunk);
    }
    const uint8_t *src = stripped ? stripped : buf;
    int srclen = stripped ? (int)slen : (int)len;
    void *pix = is16 ? (void *)stbi_load_16_from_memory(src, srclen, &w, &h, &comp, 0)
                     : (void *)stbi_load_from_memory(src, srclen, &w, &h, &comp, 0);
    free(stripped);
    if (!pix)
        return err_fail(err, errlen, "image '%s': cannot decode (stb_image: %s)", path, stbi_failure_reason());
    if (comp < 1 || comp > 4 || image__count(comp, h, w) == 0) {
        stbi_image_free(pix);
        return err_fail(err, errlen, "image '%s': decoder returned %d channels of %d x %d", path, comp, w, h);
    }
    int c = comp <= 2 ? 1 : 3;   /* drop alpha */
    if (image_new(out, c, h, w) < 0) {
        stbi_image_free(pix);
        return err_fail(err, errlen, "image '%s': out of memory for %d x %d x %d floats", path, c, h, w);
    }
    size_t plane = (size_t)h * (size_t)w;
    const uint8_t *p8 = pix;
    const uint16_t *p16 = pix;
    const float scale = is16 ? 1.0f / 65535.0f : 1.0f / 255.0f;
    for (size_t i = 0; i < plane; i++)
        for (int ch = 0; ch < c; ch++) {
            size_t k = i * (size_t)comp + (size_t)ch;
            out->data[(size_t)ch * plane + i] = (float)(is16 ? p16[k] : p8[k]) * scale;
        }
    stbi_image_free(pix);
    return 0;
}

/* Per-output-sample taps of the antialiased triangle filter along one axis
   (formula in image.h): out[i] = sum_k w[i*kmax + k] * in[start[i] + k],
   k < count[i], weights already normalised. */
typedef struct {
    int kmax;
    int *start, *count;
    double *w;
} ImageTaps;

static void image__taps_free(ImageTaps *t) {
    free(t->start); free(t->count); free(t->w);
    memset(t, 0, sizeof *t);
}

static int image__taps(int in, int out, ImageTaps *t) {
    memset(t, 0, sizeof *t);
    double scale = (double)in / (double)out;
    double support = scale >= 1.0 ? scale : 1.0;
    double invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
    t->kmax = (int)ceil(support) * 2 + 1;   /* in <= IMAGE_MAX_DIM, so kmax <= 2*in+1 */
    t->start = malloc((size_t)out * sizeof(int));
    t->count = malloc((size_t)out * sizeof(int));
    t->w = calloc((size_t)out * (size_t)t->kmax, sizeof(double));
    if (!t->start || !t->count || !t->w) { image__taps_free(t); return -1; }
    for (int i = 0; i < out; i++) {
        double center = scale * (i + 0.5);
        long xmin = (long)(center - support + 0.5);
        long xmax = (long)(center + support + 0.5);
        if (xmin < 0) xmin = 0;
        if (xmax > in) xmax = in;
        long n = xmax - xmin;
        if (n > t->kmax) n = t->kmax;   /* cannot happen; keeps the writes in bounds */
        if (n < 1) { xmin = xmin < in ? xmin : in - 1; n = 1; }
        double *w = t->w + (size_t)i * (size_t)t->kmax, total = 0.0;
        for (long j = 0; j < n; j++) {
            double x = fabs(((double)(j + xmin) - center + 0.5) * invscale);
            w[j] = x < 1.0 ? 1.0 - x : 0.0;
            total += w[j];
        }
        if (total != 0.0)
            for (long j = 0; j < n; j++) w[j] /= total;
        t->start[i] = (int)xmin;
        t->count[i] = (int)n;
    }
    return 0;
}

int image_resize(const Image *in, int oh, int ow, Image *out) {
    if (!in || !out || !in->data || image__count(in->c, in->h, in->w) == 0) return -1;
    if (image__count(in->c, oh, ow) == 0 || (size_t)in->h * (size_t)ow > IMAGE_MAX_PIXELS) return -1;
    Image tmp;
    ImageTaps tx, ty;
    if (image__taps(in->w, ow, &tx) < 0) return -1;
    if (image__taps(in->h, oh, &ty) < 0) { image__taps_free(&tx); return -1; }
    if (image_new(&tmp, in->c, in->h, ow) < 0) { image__taps_free(&tx); image__taps_free(&ty); return -1; }
    if (image_new(out, in->c, oh, ow) < 0) {
        image_free(&tmp); image__taps_free(&tx); image__taps_free(&ty); return -1;
    }
    /* width pass: (c, h, w) -> (c, h, ow) */
    for (int ch = 0; ch < in->c; ch++)
        for (int y = 0; y < in->h; y++) {
            const float *src = in->data + ((size_t)ch * in->h + y) * in->w;
            float *dst = tmp.data + ((size_t)ch * in->h + y) * ow;
            for (int x = 0; x < ow; x++) {
                const double *w = tx.w + (size_t)x * tx.kmax;
                const float *s = src + tx.start[x];
                double acc = 0.0;
                for (int k = 0; k < tx.count[x]; k++) acc += w[k] * s[k];
                dst[x] = (float)acc;
            }
        }
    /* height pass: (c, h, ow) -> (c, oh, ow) */
    for (int ch = 0; ch < in->c; ch++)
        for (int y = 0; y < oh; y++) {
            const double *w = ty.w + (size_t)y * ty.kmax;
            float *dst = out->data + ((size_t)ch * oh + y) * ow;
            const float *base = tmp.data + ((size_t)ch * in->h + ty.start[y]) * ow;
            for (int x = 0; x < ow; x++) {
                double acc = 0.0;
                for (int k = 0; k < ty.count[y]; k++) acc += w[k] * base[(size_t)k * ow + x];
                dst[x] = (float)acc;
            }
        }
    image_free(&tmp);
    image__taps_free(&tx);
    image__taps_free(&ty);
    return 0;
}

int image_to_channels(const Image *in, int c, Image *out) {
    if (!in || !out || !in->data || (c != 1 && c != 3) || (in->c != 1 && in->c != 3)) return -1;
    if (image_new(out, c, in->h, in->w) < 0) return -1;
    size_t plane = (size_t)in->h * (size_t)in->w;
    if (in->c == c) {
        memcpy(out->data, in->data, plane * (size_t)c * sizeof(float));
    } else if (c == 3) {
        for (int ch = 0; ch < 3; ch++) memcpy(out->data + (size_t)ch * plane, in->data, plane * sizeof(float));
    } else {
        const float *r = in->data, *g = r + plane, *b = g + plane;
        for (size_t i = 0; i < plane; i++) out->data[i] = 0.299f * r[i] + 0.587f * g[i] + 0.114f * b[i];
    }
    return 0;
}

void image_normalize(Image *im, const float *mean, const float *std) {
    if (!im || !im->data || !mean || !std) return;
    size_t plane = (size_t)im->h * (size_t)im->w;
    for (int ch = 0; ch < im->c; ch++) {
        float *p = im->data + (size_t)ch * plane;
        for (size_t i = 0; i < plane; i++) p[i] = (p[i] - mean[ch]) / std[ch];
    }
}

static int image__cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The p-th percentile of v[0..n) (n >= 1; v is sorted in place): linear
   interpolation between the order statistics around rank p/100 (n - 1), the
   interpolation done in float as torch.quantile does it. */
static float image__percentile(float *v, size_t n, float p) {
    qsort(v, n, sizeof *v, image__cmp_float);
    double rank = (double)p / 100.0 * (double)(n - 1);
    size_t lo = (size_t)rank;
    if (lo >= n - 1) return v[n - 1];
    float frac = (float)(rank - (double)lo);
    return v[lo] + frac * (v[lo + 1] - v[lo]);
}

int image_scale_percentile(Image *im, float percentile) {
    if (!im || !im->data || !(percentile > 0.0f && percentile <= 100.0f)) return -1;
    size_t n = image__count(im->c, im->h, im->w);
    if (n == 0) return 0;
    float *v = malloc(n * sizeof *v);
    if (!v) return -1;
    for (size_t i = 0; i < n; i++) v[i] = im->data[i] != im->data[i] ? 0.0f : im->data[i];
    float q = image__percentile(v, n, percentile);
    free(v);
    if (!(q > 0.0f)) return 0;
    for (size_t i = 0; i < n; i++) {
        float x = im->data[i] / q;
        im->data[i] = x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x;
    }
    return 0;
}

int image_preprocess(const char *path, int channels, int size, const float *mean, const float *std,
                     float *out_chw, char *err, size_t errlen) {
    return image_preprocess_opts(path, NULL, channels, size, mean, std, out_chw, NULL, err, errlen);
}

int image_preprocess_opts(const char *path, const ImageLoadOpts *opts, int channels, int size, const float *mean,
                          const float *std, float *out_chw, ImageLoadInfo *info, char *err, size_t errlen) {
    if (!err) errlen = 0;
    if ((channels != 1 && channels != 3) || size < 1 || size > IMAGE_MAX_DIM || !out_chw)
        return err_fail(err, errlen, "image_preprocess: channels must be 1 or 3 and size 1..%d (got %d, %d)",
                        IMAGE_MAX_DIM, channels, size);
    Image im, rs, ch;
    ImageLoadInfo scratch;
    if (image_load_opts(path, opts, &im, info ? info : &scratch, err, errlen) < 0) return -1;
    if (image_resize(&im, size, size, &rs) < 0) {
        image_free(&im);
        return err_fail(err, errlen, "image '%s': cannot resize %d x %d to %d x %d (out of memory?)",
                        path, im.w, im.h, size, size);
    }
    image_free(&im);
    if (image_to_channels(&rs, channels, &ch) < 0) {
        image_free(&rs);
        return err_fail(err, errlen, "image '%s': out of memory converting channels", path);
    }
    image_free(&rs);
    if (mean && std) image_normalize(&ch, mean, std);
    memcpy(out_chw, ch.data, (size_t)channels * (size_t)size * (size_t)size * sizeof(float));
    image_free(&ch);
    return 0;
}

int image_write_png(const char *path, const uint8_t *pixels, int w, int h, int c) {
    if (!path || !pixels || image__count(c, h, w) == 0) return -1;
    return stbi_write_png(path, w, h, c, pixels, w * c) ? 0 : -1;
}

int image_write_jpg(const char *path, const uint8_t *pixels, int w, int h, int c, int quality) {
    if (!path || !pixels || image__count(c, h, w) == 0 || quality < 1 || quality > 100) return -1;
    return stbi_write_jpg(path, w, h, c, pixels, quality) ? 0 : -1;
}
