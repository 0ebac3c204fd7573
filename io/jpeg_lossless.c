/* jpeg_lossless.c - lossless JPEG (process 14, SOF3) decoder. Format and
   contract in jpeg_lossless.h; section numbers refer to ITU T.81. */
#include "io/jpeg_lossless.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {           /* canonical Huffman table (C.2, F.2.2.3) */
    int defined;
    int32_t mincode[17], maxcode[18], valptr[17];
    uint8_t vals[256];
} LlHuff;

typedef struct { int id, h, v; } LlComp;

typedef struct {
    const uint8_t *b;
    size_t len, pos;
    uint32_t acc;          /* bit buffer */
    int nbits;
    int at_marker;         /* hit 0xFF xx (xx != 0): feed no more data */
    int overrun;           /* bits were asked for beyond the data */
} LlBits;

typedef struct {
    JpegLossless *im;
    LlHuff dc[4];
    LlComp comp[4];
    int restart_interval;
    int have_frame;
    char *err;
    size_t errlen;
} LlDecoder;

static int ll__fail(LlDecoder *d, const char *fmt, ...) {
    if (d->err && d->errlen) {
        va_list ap; va_start(ap, fmt);
        vsnprintf(d->err, d->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int ll__u16(const uint8_t *b, size_t len, size_t pos) {
    return pos + 1 < len ? b[pos] << 8 | b[pos + 1] : -1;
}

/* ---- segments ---- */

/* DHT (B.2.4.2): one or more tables; only DC-class tables (Tc = 0) are
   used by lossless scans, AC-class ones are accepted and ignored. */
static int ll__dht(LlDecoder *d, const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (n - i < 17) return ll__fail(d, "DHT segment truncated");
        int tc = p[i] >> 4, th = p[i] & 15, total = 0;
        if (tc > 1 || th > 3) return ll__fail(d, "DHT table class %d / id %d out of range", tc, th);
        const uint8_t *bits = p + i + 1;
        for (int l = 0; l < 16; l++) total += bits[l];
        if (total > 256 || (size_t)total > n - i - 17) return ll__fail(d, "DHT table with %d codes is malformed", total);
        if (tc == 0) {
            LlHuff *h = &d->dc[th];
            memset(h, 0, sizeof *h);
            memcpy(h->vals, p + i + 17, (size_t)total);
            int32_t code = 0, k = 0;
            for (int l = 1; l <= 16; l++) {
                h->valptr[l] = k;
                h->mincode[l] = code;
                code += bits[l - 1];
                k += bits[l - 1];
                h->maxcode[l] = bits[l - 1] ? code - 1 : -1;
                if (code > (1 << l)) return ll__fail(d, "DHT code lengths overfill the code space");
                code <<= 1;
            }
            h->maxcode[17] = 0x7FFFFFFF;
            h->defined = 1;
        }
        i += 17 + (size_t)total;
    }
    return 0;
}

/* SOF3 (B.2.2). */
static int ll__sof3(LlDecoder *d, const uint8_t *p, size_t n) {
    if (d->have_frame) return ll__fail(d, "second frame header");
    if (n < 6) return ll__fail(d, "SOF3 segment truncated");
    JpegLossless *im = d->im;
    im->precision = p[0];
    im->h = p[1] << 8 | p[2];
    im->w = p[3] << 8 | p[4];
    im->comps = p[5];
    if (im->precision < 2 || im->precision > 16) return ll__fail(d, "sample precision %d outside 2..16", im->precision);
    if (im->h == 0) return ll__fail(d, "image height given by a DNL marker (not supported)");
    if (im->w == 0) return ll__fail(d, "image width 0");
    if (im->comps < 1 || im->comps > 4) return ll__fail(d, "%d components (1..4 supported)", im->comps);
    if (n < 6 + 3 * (size_t)im->comps) return ll__fail(d, "SOF3 segment truncated");
    if ((size_t)im->w * (size_t)im->h > JPEGLL_MAX_PIXELS)
        return ll__fail(d, "%d x %d samples is more than the limit of %zu", im->w, im->h, (size_t)JPEGLL_MAX_PIXELS);
    for (int c = 0; c < im->comps; c++) {
        d->comp[c].id = p[6 + 3 * c];
        d->comp[c].h = p[7 + 3 * c] >> 4;
        d->comp[c].v = p[7 + 3 * c] & 15;
        if (im->comps > 1 && (d->comp[c].h != 1 || d->comp[c].v != 1))
            return ll__fail(d, "component %d has sampling factors %dx%d (only 1x1 supported)", c, d->comp[c].h, d->comp[c].v);
    }
    size_t count = (size_t)im->w * (size_t)im->h * (size_t)im->comps;
    im->samples = calloc(count, sizeof(uint16_t));
    if (!im->samples) return ll__fail(d, "out of memory for %zu samples", count);
    d->have_frame = 1;
    return 0;
}

/* ---- entropy-coded data ---- */

static int ll__byte(LlBits *s) {
    if (s->at_marker || s->pos >= s->len) { s->overrun = 1; return 0; }
    uint8_t c = s->b[s->pos];
    if (c != 0xFF) { s->pos++; return c; }
    uint8_t next = s->pos + 1 < s->len ? s->b[s->pos + 1] : 0xD9;
    if (next == 0x00) { s->pos += 2; return 0xFF; }
    s->at_marker = 1;
    s->overrun = 1;
    return 0;
}

static int ll__bit(LlBits *s) {
    if (s->nbits == 0) { s->acc = (uint32_t)ll__byte(s); s->nbits = 8; }
    s->nbits--;
    return (int)(s->acc >> s->nbits) & 1;
}

static int ll__bits(LlBits *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) v = v << 1 | ll__bit(s);
    return v;
}

/* One Huffman-coded category (F.2.2.3), or -1 for a code not in the table. */
static int ll__decode_ssss(LlBits *s, const LlHuff *h) {
    int32_t code = 0;
    for (int l = 1; l <= 16; l++) {
        code = code << 1 | ll__bit(s);
        if (code <= h->maxcode[l]) return h->vals[h->valptr[l] + code - h->mincode[l]];
    }
    return -1;
}

/* The difference for category ssss (H.1.2.2, F.2.2.1 EXTEND). */
static int32_t ll__difference(LlBits *s, int ssss) {
    if (ssss == 0) return 0;
    if (ssss == 16) return 32768;
    int32_t v = ll__bits(s, ssss);
    return v < (1 << (ssss - 1)) ? v - (1 << ssss) + 1 : v;
}

/* RSTn expected between restart intervals (F.2.2.5 / E.2.4). */
static int ll__restart(LlBits *s) {
    s->nbits = 0;
    s->at_marker = 0;
    while (s->pos + 1 < s->len && s->b[s->pos] == 0xFF && s->b[s->pos + 1] == 0xFF) s->pos++;
    if (s->pos + 1 >= s->len || s->b[s->pos] != 0xFF || s->b[s->pos + 1] < 0xD0 || s->b[s->pos + 1] > 0xD7) return -1;
    s->pos += 2;
    return 0;
}

/* Prediction (H.1.2.1) for the sample at (x, y) of one component plane;
   (reset_x, reset_y) is where the scan or the last restart interval began. */
static int32_t ll__predict(const uint16_t *row, const uint16_t *above, int stride, int x, int y,
                           int reset_x, int reset_y, int predictor, int initial) {
    if (x == reset_x && y == reset_y) return initial;
    if (y == reset_y) return row[(x - 1) * stride];
    if (x == 0) return above[0];
    int32_t ra = row[(x - 1) * stride], rb = above[x * stride], rc = above[(x - 1) * stride];
    switch (predictor) {
    case 1: return ra;
    case 2: return rb;
    case 3: return rc;
    case 4: return ra + rb - rc;
    case 5: return ra + ((rb - rc) >> 1);
    case 6: return rb + ((ra - rc) >> 1);
    default: return (ra + rb) >> 1;
    }
}

typedef struct {
    int ns, comp_index[4], table[4];
    int predictor, pt;
} LlScan;

static int ll__scan_data(LlDecoder *d, const LlScan *sc, LlBits *s) {
    JpegLossless *im = d->im;
    const int nc = im->comps, w = im->w;
    const int initial = 1 << (im->precision - sc->pt - 1);
    int reset_x = 0, reset_y = 0;
    long mcus = 0;
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < w; x++) {
            if (d->restart_interval && mcus && mcus % d->restart_interval == 0) {
                if (ll__restart(s) < 0) return ll__fail(d, "missing restart marker at line %d", y);
                reset_x = x; reset_y = y;
            }
            for (int k = 0; k < sc->ns; k++) {
                int c = sc->comp_index[k];
                uint16_t *row = im->samples + (size_t)y * w * nc + c;
                const uint16_t *above = y ? row - (size_t)w * nc : row;
                int ssss = ll__decode_ssss(s, &d->dc[sc->table[k]]);
                if (ssss < 0 || ssss > 16) return ll__fail(d, "bad Huffman code at line %d, sample %d", y, x);
                int32_t diff = ll__difference(s, ssss);
                int32_t px = ll__predict(row, above, nc, x, y, reset_x, reset_y, sc->predictor, initial);
                row[(size_t)x * nc] = (uint16_t)((px + diff) & 0xFFFF);
            }
            mcus++;
            if (s->overrun) return ll__fail(d, "entropy-coded data ends early at line %d, sample %d", y, x);
        }
    return 0;
}

/* SOS header (B.2.3) then its entropy-coded data; *pos moves past it. */
static int ll__sos(LlDecoder *d, const uint8_t *b, size_t len, size_t *pos, size_t seglen) {
    if (!d->have_frame) return ll__fail(d, "scan before the frame header (SOF3)");
    const uint8_t *p = b + *pos;
    LlScan sc = {0};
    sc.ns = seglen ? p[0] : 0;
    if (sc.ns < 1 || sc.ns > d->im->comps || seglen < 4 + 2 * (size_t)sc.ns) return ll__fail(d, "malformed SOS header");
    for (int k = 0; k < sc.ns; k++) {
        int id = p[1 + 2 * k], c = 0;
        while (c < d->im->comps && d->comp[c].id != id) c++;
        if (c == d->im->comps) return ll__fail(d, "scan names component %d, not in the frame", id);
        sc.comp_index[k] = c;
        sc.table[k] = p[2 + 2 * k] >> 4;
        if (sc.table[k] > 3 || !d->dc[sc.table[k]].defined)
            return ll__fail(d, "scan uses Huffman table %d, which was never defined", sc.table[k]);
    }
    sc.predictor = p[1 + 2 * sc.ns];
    sc.pt = p[3 + 2 * sc.ns] & 15;
    if (sc.predictor < 1 || sc.predictor > 7) return ll__fail(d, "predictor %d outside 1..7", sc.predictor);
    if (sc.pt >= d->im->precision) return ll__fail(d, "point transform %d >= precision %d", sc.pt, d->im->precision);
    if (d->restart_interval % d->im->w)   /* where the first-line rule applies after a mid-line restart is unclear */
        return ll__fail(d, "restart interval %d is not a multiple of the line width %d (IJG/dcmtk require that too)",
                        d->restart_interval, d->im->w);
    d->im->predictor = sc.predictor;
    LlBits s = {b, len, *pos + seglen, 0, 0, 0, 0};
    if (ll__scan_data(d, &sc, &s) < 0) return -1;
    if (sc.pt)
        for (size_t i = 0, n = (size_t)d->im->w * d->im->h; i < n; i++)
            for (int k = 0; k < sc.ns; k++) {
                uint16_t *v = &d->im->samples[i * d->im->comps + sc.comp_index[k]];
                *v = (uint16_t)(*v << sc.pt);
            }
    /* the next marker: skip what is left of the entropy-coded segment */
    size_t q = s.pos;
    while (q + 1 < len && !(b[q] == 0xFF && b[q + 1] != 0x00 && b[q + 1] != 0xFF && (b[q + 1] < 0xD0 || b[q + 1] > 0xD7))) q++;
    *pos = q;
    return 0;
}

static int ll__segment(LlDecoder *d, int marker, const uint8_t *b, size_t len, size_t *pos) {
    int L = ll__u16(b, len, *pos);
    if (L < 2 || (size_t)L > len - *pos) return ll__fail(d, "marker 0x%02X segment length runs past the data", marker);
    size_t start = *pos + 2, n = (size_t)L - 2;
    int rc = 0;
    if (marker == 0xC4) rc = ll__dht(d, b + start, n);
    else if (marker == 0xC3) rc = ll__sof3(d, b + start, n);
    else if (marker == 0xDD) d->restart_interval = n >= 2 ? b[start] << 8 | b[start + 1] : 0;
    else if (marker == 0xDA) { *pos = start; return ll__sos(d, b, len, pos, n); }
    else if ((marker >= 0xC0 && marker <= 0xCF && marker != 0xC8))
        return ll__fail(d, "frame type SOF%d is not lossless process 14 (SOF3)", marker - 0xC0);
    *pos = start + n;
    return rc;
}

int jpegll_decode(const uint8_t *buf, size_t len, JpegLossless *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    LlDecoder d;
    memset(&d, 0, sizeof d);
    d.im = out; d.err = err; d.errlen = err ? errlen : 0;
    if (!buf || len < 4 || buf[0] != 0xFF || buf[1] != 0xD8) return ll__fail(&d, "not a JPEG stream (no SOI marker)");
    size_t pos = 2;
    int scans = 0;
    while (1) {
        while (pos < len && buf[pos] != 0xFF) pos++;   /* stray bytes between segments */
        while (pos < len && buf[pos] == 0xFF) pos++;   /* fill bytes */
        if (pos >= len) break;
        int marker = buf[pos++];
        if (marker == 0xD9) break;
        if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) continue;
        if (ll__segment(&d, marker, buf, len, &pos) < 0) { jpegll_free(out); return -1; }
        if (marker == 0xDA) scans++;
    }
    if (!scans) { jpegll_free(out); return ll__fail(&d, "no scan (SOS) before the end of the data"); }
    return 0;
}

void jpegll_free(JpegLossless *im) {
    if (!im) return;
    free(im->samples);
    memset(im, 0, sizeof *im);
}
