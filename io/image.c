/* image.c - image decode (stb_image), torch-exact antialiased bilinear
   resize, channel conversion, normalisation, PNG output. Contract in image.h. */
#include "io/image.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"

/* stb_image: the one implementation in salient, restricted to the formats
   we promise, with a dimension bound so a forged header cannot ask for a
   gigantic buffer. Its own code is compiled without our warnings.
   PGM/PPM are decoded here instead: stb_image 2.27 reads 16-bit PNM
   samples in the wrong byte order, ignores maxval and returns
   uninitialised memory for a truncated raster. */
#define STBI_MAX_DIMENSIONS IMAGE_MAX_DIM
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_TGA
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
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

static int image__fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap; va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

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
        return image__fail(err, errlen, "image '%s': only binary PGM (P5) and PPM (P6) are supported, found 'P%c'",
                           path, len > 1 ? b[1] : '?');
    int c = b[1] == '5' ? 1 : 3;
    size_t pos = 2;
    long w, h, maxval;
    if (image__pnm_int(b, len, &pos, &w) < 0 || image__pnm_int(b, len, &pos, &h) < 0 ||
        image__pnm_int(b, len, &pos, &maxval) < 0 || pos >= len ||
        !(b[pos] == ' ' || (b[pos] >= '\t' && b[pos] <= '\r')))
        return image__fail(err, errlen, "image '%s': malformed PNM header (expected width, height, maxval)", path);
    pos++;
    if (maxval < 1 || maxval > 65535)
        return image__fail(err, errlen, "image '%s': PNM maxval %ld outside 1..65535", path, maxval);
    if (w < 1 || h < 1 || w > IMAGE_MAX_DIM || h > IMAGE_MAX_DIM || (size_t)w * (size_t)h > IMAGE_MAX_PIXELS)
        return image__fail(err, errlen, "image '%s': %ld x %ld pixels is outside the supported range (1..%d per side, %zu pixels)",
                           path, w, h, IMAGE_MAX_DIM, (size_t)IMAGE_MAX_PIXELS);
    size_t bps = maxval < 256 ? 1 : 2, plane = (size_t)w * (size_t)h;
    size_t need = plane * (size_t)c * bps;   /* <= 2^27 * 6, no overflow */
    if (len - pos < need)
        return image__fail(err, errlen, "image '%s': PNM raster truncated (%zu of %zu bytes)", path, len - pos, need);
    if (image_new(out, c, (int)h, (int)w) < 0)
        return image__fail(err, errlen, "image '%s': out of memory for %d x %ld x %ld floats", path, c, h, w);
    const uint8_t *p = b + pos;
    for (size_t i = 0; i < plane; i++)
        for (int ch = 0; ch < c; ch++) {
            size_t k = i * (size_t)c + (size_t)ch;
            long v = bps == 1 ? p[k] : (long)p[2 * k] << 8 | p[2 * k + 1];
            if (v > maxval) {
                image_free(out);
                return image__fail(err, errlen, "image '%s': PNM sample %ld exceeds maxval %ld", path, v, maxval);
            }
            out->data[(size_t)ch * plane + i] = (float)((double)v / (double)maxval);
        }
    return 0;
}

int image_load(const char *path, Image *out, char *err, size_t errlen) {
    if (!err) errlen = 0;
    memset(out, 0, sizeof *out);
    uint8_t *buf; size_t len;
    char why[512];
    if (io_read_file(path, IMAGE_MAX_FILE, &buf, &len, why, sizeof why) < 0)
        return image__fail(err, errlen, "image: %s", why);
    if (len == 0) {
        free(buf);
        return image__fail(err, errlen, "image '%s': empty file (0 bytes)", path);
    }
    if (len > INT_MAX) {
        free(buf);
        return image__fail(err, errlen, "image '%s': %zu bytes is too large to decode", path, len);
    }
    if (buf[0] == 'P' && len > 1 && buf[1] >= '1' && buf[1] <= '7') {
        int rc = image__load_pnm(path, buf, len, out, err, errlen);
        free(buf);
        return rc;
    }
    int w, h, comp;
    if (!stbi_info_from_memory(buf, (int)len, &w, &h, &comp)) {
        free(buf);
        return image__fail(err, errlen, "image '%s': not a readable PNG/JPEG/BMP/TGA/PGM/PPM image (stb_image: %s)",
                           path, stbi_failure_reason());
    }
    if (w < 1 || h < 1 || w > IMAGE_MAX_DIM || h > IMAGE_MAX_DIM || (size_t)w * (size_t)h > IMAGE_MAX_PIXELS) {
        free(buf);
        return image__fail(err, errlen, "image '%s': %d x %d pixels is outside the supported range (1..%d per side, %zu pixels)",
                           path, w, h, IMAGE_MAX_DIM, (size_t)IMAGE_MAX_PIXELS);
    }
    int is16 = stbi_is_16_bit_from_memory(buf, (int)len);
    void *pix = is16 ? (void *)stbi_load_16_from_memory(buf, (int)len, &w, &h, &comp, 0)
                     : (void *)stbi_load_from_memory(buf, (int)len, &w, &h, &comp, 0);
    free(buf);
    if (!pix)
        return image__fail(err, errlen, "image '%s': cannot decode (stb_image: %s)", path, stbi_failure_reason());
    if (comp < 1 || comp > 4 || image__count(comp, h, w) == 0) {
        stbi_image_free(pix);
        return image__fail(err, errlen, "image '%s': decoder returned %d channels of %d x %d", path, comp, w, h);
    }
    int c = comp <= 2 ? 1 : 3;   /* drop alpha */
    if (image_new(out, c, h, w) < 0) {
        stbi_image_free(pix);
        return image__fail(err, errlen, "image '%s': out of memory for %d x %d x %d floats", path, c, h, w);
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

int image_preprocess(const char *path, int channels, int size, const float *mean, const float *std,
                     float *out_chw, char *err, size_t errlen) {
    if (!err) errlen = 0;
    if ((channels != 1 && channels != 3) || size < 1 || size > IMAGE_MAX_DIM || !out_chw)
        return image__fail(err, errlen, "image_preprocess: channels must be 1 or 3 and size 1..%d (got %d, %d)",
                           IMAGE_MAX_DIM, channels, size);
    Image im, rs, ch;
    if (image_load(path, &im, err, errlen) < 0) return -1;
    if (image_resize(&im, size, size, &rs) < 0) {
        image_free(&im);
        return image__fail(err, errlen, "image '%s': cannot resize %d x %d to %d x %d (out of memory?)",
                           path, im.w, im.h, size, size);
    }
    image_free(&im);
    if (image_to_channels(&rs, channels, &ch) < 0) {
        image_free(&rs);
        return image__fail(err, errlen, "image '%s': out of memory converting channels", path);
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
