/* dicom.c - DICOM reader: parse, decode one frame, rescale and window.
   Format notes and contract in dicom.h; PS3.x are the DICOM standard's parts. */
#include "io/dicom.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/image.h"
#include "io/jpeg_lossless.h"

/* ------------------------------------------------------------------ */
/* messages                                                             */

typedef struct {
    const char *name;
    char *err;
    size_t errlen;
} DcmCtx;

static int dcm__fail(const DcmCtx *c, const char *fmt, ...) {
    if (c->err && c->errlen) {
        char why[400];
        va_list ap; va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
        snprintf(c->err, c->errlen, "dicom '%s': %s", c->name, why);
    }
    return -1;
}

/* ------------------------------------------------------------------ */
/* transfer syntaxes                                                    */

typedef enum { TS_READ, TS_REFUSE } DcmSupport;

typedef struct {
    const char *uid, *name;
    DcmSupport support;
    int explicit_vr, big_endian, deflated;
    DicomCoding coding;
    const char *convert;   /* Debian command that writes it uncompressed */
} DcmSyntax;

#define DCMTK_DJPEG "dcmdjpeg in.dcm out.dcm (Debian package dcmtk)"
#define DCMTK_DJPLS "dcmdjpls in.dcm out.dcm (Debian package dcmtk)"
#define GDCM_RAW "gdcmconv --raw in.dcm out.dcm (Debian package libgdcm-tools)"

static const DcmSyntax dcm__syntaxes[] = {
    {"1.2.840.10008.1.2", "implicit VR little endian", TS_READ, 0, 0, 0, DICOM_NATIVE, NULL},
    {"1.2.840.10008.1.2.1", "explicit VR little endian", TS_READ, 1, 0, 0, DICOM_NATIVE, NULL},
    {"1.2.840.10008.1.2.2", "explicit VR big endian", TS_READ, 1, 1, 0, DICOM_NATIVE, NULL},
    {"1.2.840.10008.1.2.1.99", "deflated explicit VR little endian", TS_READ, 1, 0, 1, DICOM_NATIVE, NULL},
    {"1.2.840.10008.1.2.5", "RLE lossless", TS_READ, 1, 0, 0, DICOM_RLE, NULL},
    {"1.2.840.10008.1.2.4.50", "JPEG baseline (process 1)", TS_READ, 1, 0, 0, DICOM_JPEG_BASELINE, NULL},
    {"1.2.840.10008.1.2.4.57", "JPEG lossless, non-hierarchical (process 14)", TS_READ, 1, 0, 0, DICOM_JPEG_LOSSLESS, NULL},
    {"1.2.840.10008.1.2.4.70", "JPEG lossless, non-hierarchical, first-order prediction (process 14, selection value 1)",
     TS_READ, 1, 0, 0, DICOM_JPEG_LOSSLESS, NULL},
    {"1.2.840.10008.1.2.4.51", "JPEG extended (process 2 and 4)", TS_REFUSE, 1, 0, 0, DICOM_NATIVE, DCMTK_DJPEG},
    {"1.2.840.10008.1.2.4.52", "JPEG extended (process 3 and 5, retired)", TS_REFUSE, 1, 0, 0, DICOM_NATIVE, DCMTK_DJPEG},
    {"1.2.840.10008.1.2.4.53", "JPEG spectral selection (retired)", TS_REFUSE, 1, 0, 0, DICOM_NATIVE, DCMTK_DJPEG},
    {"1.2.840.10008.1.2.4.55", "JPEG full progression (retired)", TS_REFUSE, 1, 0, 0, DICOM_NATIVE, DCMTK_DJPEG},
    {"1.2.840.10008.1.2.4.80", "JPEG-LS lossless", TS_REFUSE, 1, 0, 0, DICOM_NATIVE, DCMTK_DJPLS},
    {"1.2.840.10008.1.2.4.81", "JPEG-LS near-lossless", TS_REFUSE, 1, 0, 0, DICOM_NATIVE, DCMTK_DJPLS},
    {"1.2.840.10008.1.2.4.90", "JPEG 2000 lossless", TS_REFUSE, 1, 0, 0, DICOM_NATIVE, GDCM_RAW},
    {"1.2.840.10008.1.2.4.91", "JPEG 2000", TS_REFUSE, 1, 0, 0, DICOM_NATIVE, GDCM_RAW},
    {"1.2.840.10008.1.2.4.92", "JPEG 2000 part 2 multi-component lossless", TS_REFUSE, 1, 0, 0, DICOM_NATIVE, GDCM_RAW},
    {"1.2.840.10008.1.2.4.93", "JPEG 2000 part 2 multi-component", TS_REFUSE, 1, 0, 0, DICOM_NATIVE, GDCM_RAW},
    {"1.2.840.10008.1.2.4.201", "high-throughput JPEG 2000 lossless", TS_REFUSE, 1, 0, 0, DICOM_NATIVE, GDCM_RAW},
    {"1.2.840.10008.1.2.4.202", "high-throughput JPEG 2000 lossless RPCL", TS_REFUSE, 1, 0, 0, DICOM_NATIVE, GDCM_RAW},
    {"1.2.840.10008.1.2.4.203", "high-throughput JPEG 2000", TS_REFUSE, 1, 0, 0, DICOM_NATIVE, GDCM_RAW},
    {"1.2.840.10008.1.2.4.100", "MPEG2 main profile", TS_REFUSE, 1, 0, 0, DICOM_NATIVE, NULL},
    {"1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264", TS_REFUSE, 1, 0, 0, DICOM_NATIVE, NULL},
    {"1.2.840.10008.1.2.4.107", "HEVC/H.265", TS_REFUSE, 1, 0, 0, DICOM_NATIVE, NULL},
};

static const DcmSyntax *dcm__syntax(const char *uid) {
    for (size_t i = 0; i < sizeof dcm__syntaxes / sizeof dcm__syntaxes[0]; i++)
        if (strcmp(dcm__syntaxes[i].uid, uid) == 0) return &dcm__syntaxes[i];
    return NULL;
}

const char *dicom_syntax_name(const char *uid) {
    const DcmSyntax *s = uid ? dcm__syntax(uid) : NULL;
    return s ? s->name : NULL;
}

static int dcm__refuse_syntax(const DcmCtx *c, const char *uid) {
    const DcmSyntax *s = dcm__syntax(uid);
    if (!s)
        return dcm__fail(c, "transfer syntax %s is unknown; to read it, convert the file to an uncompressed "
                            "syntax, e.g. %s", uid, GDCM_RAW);
    if (s->convert)
        return dcm__fail(c, "transfer syntax %s (%s) is not supported; convert the file first: %s",
                         uid, s->name, s->convert);
    return dcm__fail(c, "transfer syntax %s (%s) is video, not supported; export the frames as images first", uid, s->name);
}

/* ------------------------------------------------------------------ */
/* element reader                                                       */

typedef struct {
    const uint8_t *b;
    size_t len, pos;
    int explicit_vr, big;
    const DcmCtx *ctx;
} DcmReader;

typedef struct {
    uint16_t group, element;
    char vr[3];          /* "" in implicit VR and for item tags */
    uint32_t length;     /* 0xFFFFFFFF = undefined */
    size_t value;        /* offset of the value */
} DcmElem;

#define DCM_UNDEFINED 0xFFFFFFFFu
#define DCM_TAG(g, e) ((uint32_t)(g) << 16 | (e))
#define DCM_ELEM_TAG(el) DCM_TAG((el)->group, (el)->element)

static uint16_t dcm__u16(const uint8_t *p, int big) {
    return big ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static uint32_t dcm__u32(const uint8_t *p, int big) {
    return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
               : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static int dcm__vr_known(const char *vr) {
    static const char known[] = "AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM "
                                "UC UI UL UN UR US UT UV";
    for (size_t i = 0; i + 2 < sizeof known; i += 3)   /* "XY " triplets; the last has the NUL */
        if (known[i] == vr[0] && known[i + 1] == vr[1]) return 1;
    return 0;
}

static int dcm__vr_long(const char *vr) {   /* 4-byte length after 2 reserved bytes */
    static const char *longs[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"};
    for (size_t i = 0; i < sizeof longs / sizeof longs[0]; i++)
        if (vr[0] == longs[i][0] && vr[1] == longs[i][1]) return 1;
    return 0;
}

/* Reads one element header at r->pos and moves past it (not past the
   value). Defined lengths must be even and fit in the bytes left. */
static int dcm__header(DcmReader *r, DcmElem *el) {
    const DcmCtx *c = r->ctx;
    memset(el, 0, sizeof *el);
    if (r->len - r->pos < 8)
        return dcm__fail(c, "file ends inside an element header at byte %zu", r->pos);
    const uint8_t *p = r->b + r->pos;
    el->group = dcm__u16(p, r->big);
    el->element = dcm__u16(p + 2, r->big);
    int item = el->group == 0xFFFE;
    if (!r->explicit_vr || item) {
        el->length = dcm__u32(p + 4, r->big);
        r->pos += 8;
    } else {
        el->vr[0] = (char)p[4]; el->vr[1] = (char)p[5];
        if (!dcm__vr_known(el->vr))
            return dcm__fail(c, "element (%04X,%04X) at byte %zu has an unknown VR (0x%02X 0x%02X)",
                             el->group, el->element, r->pos, p[4], p[5]);
        if (dcm__vr_long(el->vr)) {
            if (r->len - r->pos < 12) return dcm__fail(c, "file ends inside an element header at byte %zu", r->pos);
            el->length = dcm__u32(p + 8, r->big);
            r->pos += 12;
        } else {
            el->length = dcm__u16(p + 6, r->big);
            r->pos += 8;
        }
    }
    el->value = r->pos;
    if (el->length == DCM_UNDEFINED) return 0;
    if (el->length & 1)
        return dcm__fail(c, "element (%04X,%04X) at byte %zu has odd length %u (values must have even length)",
                         el->group, el->element, el->value, el->length);
    if (el->length > r->len - r->pos)
        return dcm__fail(c, "element (%04X,%04X) at byte %zu declares %u bytes but only %zu are left "
                            "(truncated or corrupt file)", el->group, el->element, el->value, el->length, r->len - r->pos);
    return 0;
}

/* May this element have undefined length as a sequence? */
static int dcm__undefined_seq_ok(const DcmReader *r, const DcmElem *el) {
    return !r->explicit_vr || strcmp(el->vr, "SQ") == 0 || strcmp(el->vr, "UN") == 0;
}

static int dcm__skip_sequence(DcmReader *r, int depth);

/* The elements of an item of undefined length, up to its delimiter. */
static int dcm__skip_item(DcmReader *r, int depth) {
    while (1) {
        DcmElem el;
        if (dcm__header(r, &el) < 0) return -1;
        uint32_t tag = DCM_ELEM_TAG(&el);
        if (tag == DCM_TAG(0xFFFE, 0xE00D)) return 0;
        if (el.group == 0xFFFE)
            return dcm__fail(r->ctx, "unexpected (%04X,%04X) inside an item at byte %zu", el.group, el.element, el.value);
        if (el.length != DCM_UNDEFINED) { r->pos += el.length; continue; }
        if (!dcm__undefined_seq_ok(r, &el))
            return dcm__fail(r->ctx, "element (%04X,%04X) with VR %s has undefined length", el.group, el.element, el.vr);
        if (dcm__skip_sequence(r, depth + 1) < 0) return -1;
    }
}

/* Items of a sequence of undefined length, up to its delimiter. An UN
   sequence in explicit VR holds implicit VR little endian items
   (PS3.5 6.2.2); r's encoding is switched for it and restored. */
static int dcm__skip_sequence(DcmReader *r, int depth) {
    if (depth > DICOM_MAX_DEPTH)
        return dcm__fail(r->ctx, "sequences nested deeper than %d at byte %zu", DICOM_MAX_DEPTH, r->pos);
    while (1) {
        DcmElem el;
        if (dcm__header(r, &el) < 0) return -1;
        uint32_t tag = DCM_ELEM_TAG(&el);
        if (tag == DCM_TAG(0xFFFE, 0xE0DD)) return 0;
        if (tag != DCM_TAG(0xFFFE, 0xE000))
            return dcm__fail(r->ctx, "expected a sequence item at byte %zu, found (%04X,%04X)", el.value - 8,
                             el.group, el.element);
        if (el.length != DCM_UNDEFINED) { r->pos += el.length; continue; }
        if (dcm__skip_item(r, depth + 1) < 0) return -1;
    }
}

static int dcm__skip_undefined(DcmReader *r, const DcmElem *el) {
    if (!dcm__undefined_seq_ok(r, el))
        return dcm__fail(r->ctx, "element (%04X,%04X) with VR %s has undefined length", el->group, el->element, el->vr);
    if (r->explicit_vr && strcmp(el->vr, "UN") == 0) {
        DcmReader inner = *r;
        inner.explicit_vr = 0; inner.big = 0;
        if (dcm__skip_sequence(&inner, 1) < 0) return -1;
        r->pos = inner.pos;
        return 0;
    }
    return dcm__skip_sequence(r, 1);
}

/* ------------------------------------------------------------------ */
/* attribute values                                                     */

/* A text value without padding (spaces, NULs) into out (n bytes). */
static void dcm__text(const uint8_t *p, size_t len, char *out, size_t n) {
    while (len && (p[len - 1] == ' ' || p[len - 1] == 0)) len--;
    while (len && *p == ' ') { p++; len--; }
    size_t k = len < n - 1 ? len : n - 1;
    memcpy(out, p, k);
    out[k] = 0;
}

/* First value of a DS or IS string ("600\800" -> 600); -1 if none. */
static int dcm__number(const uint8_t *p, size_t len, double *out) {
    char s[68];
    size_t k = 0;
    while (k < len && p[k] != '\\') k++;
    dcm__text(p, k, s, sizeof s);
    if (!s[0]) return -1;
    char *end;
    double v = strtod(s, &end);
    if (*end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int dcm__us(const DcmReader *r, const DcmElem *el, int *out) {
    if (el->length < 2) return -1;
    *out = dcm__u16(r->b + el->value, r->big);
    return 0;
}

typedef struct {
    char syntax[65];
    int has_syntax;
    double wc, ww;
    int has_wc, has_ww, has_slope, has_intercept, has_frames;
    char voi[17];
} DcmRaw;

/* Group 0028 attributes the decoder needs; all others are skipped. */
static int dcm__attribute(DicomFile *d, DcmRaw *raw, const DcmReader *r, const DcmElem *el) {
    const uint8_t *v = r->b + el->value;
    size_t n = el->length;
    double num;
    int bad = 0;
    switch (DCM_ELEM_TAG(el)) {
    case DCM_TAG(0x0028, 0x0002): bad = dcm__us(r, el, &d->samples); break;
    case DCM_TAG(0x0028, 0x0004): dcm__text(v, n, d->photometric, sizeof d->photometric); break;
    case DCM_TAG(0x0028, 0x0006): bad = dcm__us(r, el, &d->planar); break;
    case DCM_TAG(0x0028, 0x0010): bad = dcm__us(r, el, &d->rows); break;
    case DCM_TAG(0x0028, 0x0011): bad = dcm__us(r, el, &d->cols); break;
    case DCM_TAG(0x0028, 0x0100): bad = dcm__us(r, el, &d->bits_allocated); break;
    case DCM_TAG(0x0028, 0x0101): bad = dcm__us(r, el, &d->bits_stored); break;
    case DCM_TAG(0x0028, 0x0102): bad = dcm__us(r, el, &d->high_bit); break;
    case DCM_TAG(0x0028, 0x0103): bad = dcm__us(r, el, &d->pixel_representation); break;
    case DCM_TAG(0x0028, 0x0008):
        if (n && dcm__number(v, n, &num) == 0) {
            if (num < 1 || num > INT_MAX || num != floor(num)) return dcm__fail(r->ctx, "NumberOfFrames '%g' is invalid", num);
            d->frames = (int)num;
            raw->has_frames = 1;
        }
        break;
    case DCM_TAG(0x0028, 0x1050): raw->has_wc = dcm__number(v, n, &raw->wc) == 0; break;
    case DCM_TAG(0x0028, 0x1051): raw->has_ww = dcm__number(v, n, &raw->ww) == 0; break;
    case DCM_TAG(0x0028, 0x1052): raw->has_intercept = dcm__number(v, n, &d->intercept) == 0; break;
    case DCM_TAG(0x0028, 0x1053): raw->has_slope = dcm__number(v, n, &d->slope) == 0; break;
    case DCM_TAG(0x0028, 0x1056): dcm__text(v, n, raw->voi, sizeof raw->voi); break;
    default: break;
    }
    if (bad) return dcm__fail(r->ctx, "attribute (%04X,%04X) is shorter than its type", el->group, el->element);
    return 0;
}

/* ------------------------------------------------------------------ */
/* encapsulated pixel data (PS3.5 A.4)                                  */

static int dcm__fragments(DicomFile *d, DcmReader *r) {
    size_t cap = 16;
    d->frag = malloc(cap * sizeof *d->frag);
    d->frag_len = malloc(cap * sizeof *d->frag_len);
    if (!d->frag || !d->frag_len) return dcm__fail(r->ctx, "out of memory");
    for (int first = 1;; first = 0) {
        DcmElem el;
        if (dcm__header(r, &el) < 0) return -1;
        uint32_t tag = DCM_ELEM_TAG(&el);
        if (tag == DCM_TAG(0xFFFE, 0xE0DD)) break;
        if (tag != DCM_TAG(0xFFFE, 0xE000) || el.length == DCM_UNDEFINED)
            return dcm__fail(r->ctx, "encapsulated Pixel Data: expected an item of defined length at byte %zu", el.value - 8);
        r->pos += el.length;
        if (first) {   /* basic offset table: 32-bit little-endian offsets */
            if (el.length % 4) return dcm__fail(r->ctx, "basic offset table length %u is not a multiple of 4", el.length);
            d->nbot = el.length / 4;
            d->bot = malloc((d->nbot ? d->nbot : 1) * sizeof *d->bot);
            if (!d->bot) return dcm__fail(r->ctx, "out of memory");
            for (size_t i = 0; i < d->nbot; i++) d->bot[i] = dcm__u32(r->b + el.value + 4 * i, 0);
            continue;
        }
        if (d->nfrag == DICOM_MAX_FRAGMENTS) return dcm__fail(r->ctx, "more than %d fragments", DICOM_MAX_FRAGMENTS);
        if (d->nfrag == cap) {
            cap *= 2;
            const uint8_t **f = realloc(d->frag, cap * sizeof *f);
            if (f) d->frag = f;
            size_t *l = realloc(d->frag_len, cap * sizeof *l);
            if (l) d->frag_len = l;
            if (!f || !l) return dcm__fail(r->ctx, "out of memory");
        }
        d->frag[d->nfrag] = r->b + el.value;
        d->frag_len[d->nfrag++] = el.length;
    }
    if (d->nfrag == 0) return dcm__fail(r->ctx, "encapsulated Pixel Data has no fragments");
    return 0;
}

static int dcm__pixel_data(DicomFile *d, DcmReader *r, const DcmElem *el) {
    if (el->length != DCM_UNDEFINED) {
        if (d->coding != DICOM_NATIVE)
            return dcm__fail(r->ctx, "transfer syntax %s needs encapsulated Pixel Data, found a plain value",
                             d->transfer_syntax);
        d->pixels = r->b + el->value;
        d->pixels_len = el->length;
        d->pixels_ow_swap = r->big && strcmp(el->vr, "OW") == 0;
        return 0;
    }
    if (d->coding == DICOM_NATIVE)
        return dcm__fail(r->ctx, "Pixel Data is encapsulated (compressed) but transfer syntax %s is not", d->transfer_syntax);
    return dcm__fragments(d, r);
}

/* ------------------------------------------------------------------ */
/* file layout: preamble, meta group, encoding                          */

/* A dataset declared explicit VR little endian whose first element has
   no VR name is read as implicit VR (pydicom does the same; such files
   exist in the wild). */
static void dcm__implicit_fallback(DcmReader *r) {
    const uint8_t *p = r->b + r->pos;
    if (!r->explicit_vr || r->big || r->len - r->pos < 8) return;
    char vr[3] = {(char)p[4], (char)p[5], 0};
    if (!dcm__vr_known(vr) && dcm__u16(p, 0) != 0xFFFE) r->explicit_vr = 0;
}

/* Top-level elements from r->pos to the Pixel Data (or the end). */
static int dcm__dataset(DicomFile *d, DcmRaw *raw, DcmReader *r) {
    dcm__implicit_fallback(r);
    while (r->pos < r->len) {
        DcmElem el;
        if (dcm__header(r, &el) < 0) return -1;
        uint32_t tag = DCM_ELEM_TAG(&el);
        if (tag == DCM_TAG(0x7FE0, 0x0010)) return dcm__pixel_data(d, r, &el);
        if (el.group == 0xFFFE)
            return dcm__fail(r->ctx, "unexpected (%04X,%04X) at the top level at byte %zu", el.group, el.element, el.value);
        if (el.length == DCM_UNDEFINED) {
            if (dcm__skip_undefined(r, &el) < 0) return -1;
            continue;
        }
        if (el.group == 0x0028 && dcm__attribute(d, raw, r, &el) < 0) return -1;
        r->pos += el.length;
    }
    return 0;
}

/* File meta group (always explicit VR little endian): keeps the
   transfer syntax; *pos ends at the first element of another group. */
static int dcm__meta(DcmRaw *raw, const uint8_t *b, size_t len, size_t *pos, const DcmCtx *c) {
    DcmReader r = {b, len, *pos, 1, 0, c};
    while (r.len - r.pos >= 8 && dcm__u16(b + r.pos, 0) == 0x0002) {
        DcmElem el;
        if (dcm__header(&r, &el) < 0) return -1;
        if (el.length == DCM_UNDEFINED) return dcm__fail(c, "file meta element (0002,%04X) has undefined length", el.element);
        if (el.element == 0x0010) {
            dcm__text(b + el.value, el.length, raw->syntax, sizeof raw->syntax);
            raw->has_syntax = 1;
        }
        r.pos += el.length;
    }
    *pos = r.pos;
    return 0;
}

/* No (usable) meta: guess from the first element, as pydicom does. */
static void dcm__guess_syntax(DcmRaw *raw, const uint8_t *b, size_t len) {
    int explicit_vr = len >= 8 && isupper(b[4]) && isupper(b[5]) && dcm__vr_known((const char[]){(char)b[4], (char)b[5], 0});
    int big = explicit_vr && b[0] == 0 && b[1] != 0;
    snprintf(raw->syntax, sizeof raw->syntax, "%s",
             !explicit_vr ? "1.2.840.10008.1.2" : big ? "1.2.840.10008.1.2.2" : "1.2.840.10008.1.2.1");
}

int dicom_sniff(const uint8_t *b, size_t len) {
    if (!b) return 0;
    if (len >= 132 && memcmp(b + 128, "DICM", 4) == 0) return 2;
    if (len < 8) return 0;
    uint16_t g = dcm__u16(b, 0), gb = dcm__u16(b, 1);
    if (g != 0x0002 && g != 0x0008 && gb != 0x0008) return 0;
    if (isupper(b[4]) && isupper(b[5])) return 1;      /* explicit VR */
    return dcm__u32(b + 4, 0) < 1024 ? 1 : 0;          /* implicit VR: a short first value */
}

/* Raw deflate (RFC 1951) of the dataset, bounded by DICOM_MAX_INFLATED. */
static int dcm__inflate(const uint8_t *in, size_t n, uint8_t **out, size_t *outlen, const DcmCtx *c) {
    if (n > UINT_MAX) return dcm__fail(c, "deflated dataset too large");
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -15) != Z_OK) return dcm__fail(c, "zlib inflateInit2 failed");
    size_t cap = n < DICOM_MAX_INFLATED / 4 ? 4 * n + 1024 : DICOM_MAX_INFLATED;
    uint8_t *buf = malloc(cap + 1);
    int rc = Z_OK;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    while (buf) {
        z.next_out = buf + z.total_out;
        z.avail_out = (uInt)(cap - z.total_out);
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK || z.avail_out != 0) break;
        if (cap == DICOM_MAX_INFLATED) break;   /* full at the cap: a bomb or a huge file */
        cap = cap > DICOM_MAX_INFLATED / 2 ? DICOM_MAX_INFLATED : 2 * cap;
        uint8_t *nb = realloc(buf, cap + 1);
        if (!nb) { free(buf); buf = NULL; }
        else buf = nb;
    }
    size_t total = z.total_out;
    char zmsg[128];
    snprintf(zmsg, sizeof zmsg, "%s", z.msg ? z.msg : zError(rc));
    inflateEnd(&z);
    if (!buf) return dcm__fail(c, "out of memory inflating the deflated dataset");
    if (rc == Z_OK && total == DICOM_MAX_INFLATED) {
        free(buf);
        return dcm__fail(c, "deflated dataset inflates to more than %zu bytes (limit; deflate bomb?)", (size_t)DICOM_MAX_INFLATED);
    }
    if (rc != Z_STREAM_END) {
        free(buf);
        return dcm__fail(c, "deflated dataset is corrupt or truncated (zlib: %s)", zmsg);
    }
    *out = buf;
    *outlen = total;
    return 0;
}

/* ------------------------------------------------------------------ */
/* checks of the pixel module                                           */

static int dcm__photometric(DicomFile *d, const DcmCtx *c) {
    const char *p = d->photometric;
    int mono = !strcmp(p, "MONOCHROME1") || !strcmp(p, "MONOCHROME2");
    int ybr_jpeg = (!strcmp(p, "YBR_FULL") || !strcmp(p, "YBR_FULL_422")) && d->coding == DICOM_JPEG_BASELINE;
    if (!p[0]) return dcm__fail(c, "no PhotometricInterpretation (0028,0004)");
    if (!mono && strcmp(p, "RGB") && !ybr_jpeg)
        return dcm__fail(c, "photometric interpretation %s is not supported (MONOCHROME1, MONOCHROME2, RGB; "
                            "YBR_FULL and YBR_FULL_422 only in JPEG baseline)", p);
    if (mono && d->samples != 1) return dcm__fail(c, "%s with %d samples per pixel", p, d->samples);
    if (!mono && d->samples != 3) return dcm__fail(c, "%s with %d samples per pixel", p, d->samples);
    d->monochrome1 = !strcmp(p, "MONOCHROME1");
    return 0;
}

static int dcm__bits(DicomFile *d, const DcmCtx *c) {
    if (d->bits_allocated == 1) return dcm__fail(c, "1-bit (bitmap) pixel data is not supported");
    if (d->bits_allocated != 8 && d->bits_allocated != 16 && d->bits_allocated != 32)
        return dcm__fail(c, "BitsAllocated %d is not supported (8, 16 or 32)", d->bits_allocated);
    if (d->bits_stored == 0) d->bits_stored = d->bits_allocated;
    if (d->high_bit < 0) d->high_bit = d->bits_stored - 1;
    if (d->bits_stored < 1 || d->bits_stored > d->bits_allocated)
        return dcm__fail(c, "BitsStored %d outside 1..BitsAllocated (%d)", d->bits_stored, d->bits_allocated);
    if (d->high_bit < d->bits_stored - 1 || d->high_bit >= d->bits_allocated)
        return dcm__fail(c, "HighBit %d inconsistent with BitsStored %d / BitsAllocated %d", d->high_bit,
                         d->bits_stored, d->bits_allocated);
    if (d->pixel_representation != 0 && d->pixel_representation != 1)
        return dcm__fail(c, "PixelRepresentation %d (0 or 1)", d->pixel_representation);
    if (d->coding == DICOM_JPEG_BASELINE && d->bits_stored > 8)
        return dcm__fail(c, "JPEG baseline with BitsStored %d (baseline is 8-bit)", d->bits_stored);
    return 0;
}

/* Sizes with overflow checks: rows, cols <= 2^14, samples <= 3, so one
   frame is <= 3 * 2^28 samples before the DICOM_MAX_PIXELS bound; bytes
   per frame <= 4 * 2^26; frames * that is checked against SIZE_MAX. */
static int dcm__sizes(DicomFile *d, const DcmCtx *c) {
    if (d->rows < 1 || d->cols < 1 || d->rows > DICOM_MAX_DIM || d->cols > DICOM_MAX_DIM)
        return dcm__fail(c, "%d x %d pixels is outside 1..%d per side", d->cols, d->rows, DICOM_MAX_DIM);
    if (d->planar != 0 && d->planar != 1) return dcm__fail(c, "PlanarConfiguration %d (0 or 1)", d->planar);
    size_t per_frame = dicom_frame_values(d);
    if (per_frame > DICOM_MAX_PIXELS)
        return dcm__fail(c, "a frame of %zu samples exceeds the limit of %zu", per_frame, (size_t)DICOM_MAX_PIXELS);
    size_t frame_bytes = per_frame * (size_t)(d->bits_allocated / 8);
    if ((size_t)d->frames > SIZE_MAX / frame_bytes)
        return dcm__fail(c, "%d frames of %d x %d x %d overflow the address space", d->frames, d->rows, d->cols, d->samples);
    if (d->coding == DICOM_NATIVE && d->pixels_len < frame_bytes * (size_t)d->frames)
        return dcm__fail(c, "Pixel Data has %zu bytes, %d frame(s) of %d x %d x %d x %d bits need %zu", d->pixels_len,
                         d->frames, d->rows, d->cols, d->samples, d->bits_allocated, frame_bytes * (size_t)d->frames);
    return 0;
}

static void dcm__window_from_file(DicomFile *d, const DcmRaw *raw) {
    d->voi_function = !strcmp(raw->voi, "LINEAR_EXACT") ? DICOM_VOI_LINEAR_EXACT
                    : !strcmp(raw->voi, "SIGMOID")      ? DICOM_VOI_SIGMOID
                                                        : DICOM_VOI_LINEAR;
    int known = !raw->voi[0] || !strcmp(raw->voi, "LINEAR") || d->voi_function != DICOM_VOI_LINEAR;
    double min_w = d->voi_function == DICOM_VOI_LINEAR ? 1.0 : 0.0;
    d->has_window = known && raw->has_wc && raw->has_ww && raw->ww >= min_w && !(raw->ww == 0);
    d->window_center = d->has_window ? raw->wc : 0;
    d->window_width = d->has_window ? raw->ww : 0;
}

static int dcm__finish(DicomFile *d, const DcmRaw *raw, const DcmCtx *c) {
    if (!d->pixels && !d->nfrag) return dcm__fail(c, "no Pixel Data (7FE0,0010): not an image");
    if (!raw->has_slope) d->slope = 1;
    if (!raw->has_intercept) d->intercept = 0;
    if (!raw->has_frames) d->frames = 1;
    if (d->samples == 0) d->samples = 1;
    dcm__window_from_file(d, raw);
    if (dcm__photometric(d, c) < 0 || dcm__bits(d, c) < 0 || dcm__sizes(d, c) < 0) return -1;
    return 0;
}

/* Meta group and transfer syntax; *pos ends at the dataset. */
static int dcm__start(DicomFile *d, DcmRaw *raw, const uint8_t *b, size_t len, size_t *pos, const DcmCtx *c) {
    *pos = dicom_sniff(b, len) == 2 ? 132 : 0;
    if (len - *pos >= 8 && dcm__u16(b + *pos, 0) == 0x0002 && dcm__meta(raw, b, len, pos, c) < 0) return -1;
    if (!raw->has_syntax || !raw->syntax[0]) dcm__guess_syntax(raw, b + *pos, len - *pos);
    snprintf(d->transfer_syntax, sizeof d->transfer_syntax, "%s", raw->syntax);
    const DcmSyntax *s = dcm__syntax(raw->syntax);
    if (!s || s->support != TS_READ) return dcm__refuse_syntax(c, raw->syntax);
    d->coding = s->coding;
    d->big_endian = s->big_endian;
    return 0;
}

int dicom_parse(const uint8_t *buf, size_t len, const char *name, DicomFile *d, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%s", name ? name : "(memory)");
    DcmCtx c = {d->name, err, err ? errlen : 0};
    if (!buf || len == 0) return dcm__fail(&c, "empty file");
    DcmRaw raw;
    memset(&raw, 0, sizeof raw);
    d->high_bit = -1;
    size_t pos;
    if (dcm__start(d, &raw, buf, len, &pos, &c) < 0) return -1;
    const DcmSyntax *s = dcm__syntax(d->transfer_syntax);
    DcmReader r = {buf, len, pos, s->explicit_vr, s->big_endian, &c};
    if (s->deflated) {
        size_t n = 0;
        if (dcm__inflate(buf + pos, len - pos, &d->inflated, &n, &c) < 0) return -1;
        r.b = d->inflated; r.len = n; r.pos = 0;
    }
    if (dcm__dataset(d, &raw, &r) < 0 || dcm__finish(d, &raw, &c) < 0) {
        dicom_free(d);
        return -1;
    }
    return 0;
}

void dicom_free(DicomFile *d) {
    if (!d) return;
    free(d->frag); free(d->frag_len); free(d->bot); free(d->inflated);
    memset(d, 0, sizeof *d);
}

size_t dicom_frame_values(const DicomFile *d) {
    return (size_t)d->rows * (size_t)d->cols * (size_t)d->samples;
}

/* ------------------------------------------------------------------ */
/* stored values                                                        */

/* raw: the sample's bits as they came from the coding; masked to
   BitsStored and sign-extended when PixelRepresentation is 1. */
static int64_t dcm__extend(const DicomFile *d, uint64_t raw) {
    uint64_t mask = d->bits_stored >= 64 ? ~0ull : (1ull << d->bits_stored) - 1;
    uint64_t v = raw & mask;
    if (d->pixel_representation && (v >> (d->bits_stored - 1)) & 1) return (int64_t)v - (int64_t)(1ull << d->bits_stored);
    return (int64_t)v;
}

static int64_t dcm__stored_native(const DicomFile *d, uint64_t raw) {
    return dcm__extend(d, raw >> (d->high_bit + 1 - d->bits_stored));
}

static uint32_t dcm__sample_bytes(const DicomFile *d, size_t offset) {
    const uint8_t *p = d->pixels + offset;
    switch (d->bits_allocated) {
    case 8: return d->pixels_ow_swap ? d->pixels[offset ^ 1] : p[0];
    case 16: return dcm__u16(p, d->big_endian);
    default: return dcm__u32(p, d->big_endian);
    }
}

static void dcm__frame_native(const DicomFile *d, int frame, int64_t *out) {
    size_t npix = (size_t)d->rows * d->cols, bytes = (size_t)d->bits_allocated / 8;
    size_t base = (size_t)frame * dicom_frame_values(d) * bytes;
    for (int ch = 0; ch < d->samples; ch++)
        for (size_t i = 0; i < npix; i++) {
            size_t k = d->planar ? (size_t)ch * npix + i : i * (size_t)d->samples + (size_t)ch;
            out[(size_t)ch * npix + i] = dcm__stored_native(d, dcm__sample_bytes(d, base + k * bytes));
        }
}

/* The bytes of frame k of encapsulated data: one fragment when there
   are as many as frames, else the fragments the basic offset table
   assigns (or all of them for a single frame), concatenated into *owned. */
static int dcm__frame_data(const DicomFile *d, int k, const uint8_t **p, size_t *n, uint8_t **owned, const DcmCtx *c) {
    *owned = NULL;
    if (d->nfrag == (size_t)d->frames) { *p = d->frag[k]; *n = d->frag_len[k]; return 0; }
    size_t lo = 0, hi = d->nfrag;   /* fragment range [lo, hi) */
    if (d->frames > 1) {
        if (d->nbot != (size_t)d->frames)
            return dcm__fail(c, "cannot tell which of %zu fragments hold frame %d (%d frames, %zu offsets)",
                             d->nfrag, k, d->frames, d->nbot);
        uint64_t start = d->bot[k], end = k + 1 < d->frames ? d->bot[k + 1] : UINT64_MAX;
        /* offsets count from the first fragment's item tag; fragments are contiguous */
        for (lo = 0; lo < d->nfrag && (uint64_t)(d->frag[lo] - d->frag[0]) < start; lo++) {}
        for (hi = lo; hi < d->nfrag && (uint64_t)(d->frag[hi] - d->frag[0]) < end; hi++) {}
        if (lo == hi || (uint64_t)(d->frag[lo] - d->frag[0]) != start)
            return dcm__fail(c, "basic offset table entry %d (%u) is not the start of a fragment", k, d->bot[k]);
    }
    if (hi - lo == 1) { *p = d->frag[lo]; *n = d->frag_len[lo]; return 0; }
    size_t total = 0;
    for (size_t i = lo; i < hi; i++) total += d->frag_len[i];   /* <= file length */
    uint8_t *buf = malloc(total ? total : 1);
    if (!buf) return dcm__fail(c, "out of memory joining %zu fragments", hi - lo);
    for (size_t i = lo, at = 0; i < hi; at += d->frag_len[i], i++) memcpy(buf + at, d->frag[i], d->frag_len[i]);
    *p = buf; *n = total; *owned = buf;
    return 0;
}

/* One PackBits segment (PS3.5 G.3.1) into exactly n bytes. */
static int dcm__packbits(const uint8_t *in, size_t len, uint8_t *out, size_t n) {
    size_t i = 0, o = 0;
    while (o < n && i < len) {
        int h = (int8_t)in[i++];
        if (h >= 0) {
            size_t run = (size_t)h + 1;
            if (run > len - i || run > n - o) return -1;
            memcpy(out + o, in + i, run);
            i += run; o += run;
        } else if (h != -128) {
            size_t run = (size_t)(1 - h);
            if (i >= len || run > n - o) return -1;
            memset(out + o, in[i++], run);
            o += run;
        }
    }
    return o == n ? 0 : -1;
}

static int dcm__frame_rle(const DicomFile *d, const uint8_t *p, size_t n, int64_t *out, const DcmCtx *c) {
    size_t npix = (size_t)d->rows * d->cols;
    int bytes = d->bits_allocated / 8, nseg = d->samples * bytes;
    if (n < 64) return dcm__fail(c, "RLE fragment of %zu bytes is shorter than its 64-byte header", n);
    if ((int)dcm__u32(p, 0) != nseg)
        return dcm__fail(c, "RLE header has %u segments, %d samples x %d bytes need %d", dcm__u32(p, 0), d->samples, bytes, nseg);
    uint8_t *plane = malloc(npix);
    if (!plane) return dcm__fail(c, "out of memory");
    memset(out, 0, npix * (size_t)d->samples * sizeof *out);
    for (int s = 0; s < nseg; s++) {
        size_t start = dcm__u32(p + 4 + 4 * s, 0), end = s + 1 < nseg ? dcm__u32(p + 8 + 4 * s, 0) : n;
        if (start < 64 || start > end || end > n || dcm__packbits(p + start, end - start, plane, npix) < 0) {
            free(plane);
            return dcm__fail(c, "RLE segment %d is corrupt (offsets %zu..%zu of %zu, or short of %zu bytes)", s, start, end, n, npix);
        }
        int ch = s / bytes, shift = 8 * (bytes - 1 - s % bytes);
        int64_t *o = out + (size_t)ch * npix;
        for (size_t i = 0; i < npix; i++) o[i] |= (int64_t)plane[i] << shift;
    }
    free(plane);
    for (size_t i = 0; i < npix * (size_t)d->samples; i++) out[i] = dcm__stored_native(d, (uint64_t)out[i]);
    return 0;
}

/* PhotometricInterpretation RGB says the JPEG components are R, G, B, not
   YCbCr (PS3.5 8.2.1; dcmtk's dcmdjpeg and pydicom decode it so).
   stb_image decides by the stream instead: it skips its YCbCr -> RGB
   conversion only when the frame's component ids are 'R', 'G', 'B' (or an
   Adobe marker says so). So a copy is made with the three ids renamed to
   'R', 'G', 'B' in the frame header (SOF0-2) and in every scan header
   (SOS; 0xFF 0xDA cannot occur inside entropy-coded data). Returns the
   malloc'd copy, or NULL when the stream is not a 3-component JPEG. */
static uint8_t *dcm__jpeg_ids_rgb(const uint8_t *p, size_t n) {
    uint8_t *q = malloc(n ? n : 1), ids[3] = {0};
    int have_sof = 0;
    if (!q) return NULL;
    memcpy(q, p, n);
    for (size_t i = 2; i + 4 <= n; i++) {
        if (q[i] != 0xFF) continue;
        int m = q[i + 1];
        size_t L = (size_t)q[i + 2] << 8 | q[i + 3];
        if ((m == 0xC0 || m == 0xC1 || m == 0xC2) && !have_sof && L >= 17 && i + 2 + L <= n && q[i + 9] == 3) {
            for (int k = 0; k < 3; k++) { ids[k] = q[i + 10 + 3 * k]; q[i + 10 + 3 * k] = (uint8_t)"RGB"[k]; }
            have_sof = 1;
        } else if (m == 0xDA && have_sof && L >= 6 && i + 2 + L <= n) {
            int ns = q[i + 4];
            for (int s = 0; s < ns && 5 + 2 * (size_t)s < L + 2; s++)
                for (int k = 0; k < 3; k++)
                    if (q[i + 5 + 2 * s] == ids[k]) { q[i + 5 + 2 * s] = (uint8_t)"RGB"[k]; break; }
        }
    }
    if (!have_sof) { free(q); return NULL; }
    return q;
}

static int dcm__frame_jpeg(const DicomFile *d, const uint8_t *p, size_t n, int64_t *out, const DcmCtx *c) {
    int w, h, comp;
    char why[256];
    uint8_t *rgb = strcmp(d->photometric, "RGB") == 0 ? dcm__jpeg_ids_rgb(p, n) : NULL;
    uint8_t *pix = image_jpeg_decode_u8(rgb ? rgb : p, n, &w, &h, &comp, why, sizeof why);
    free(rgb);
    if (!pix) return dcm__fail(c, "JPEG baseline frame: %s", why);
    if (w != d->cols || h != d->rows || comp != d->samples) {
        free(pix);
        return dcm__fail(c, "JPEG frame is %d x %d x %d, the header says %d x %d x %d", w, h, comp, d->cols, d->rows, d->samples);
    }
    size_t npix = (size_t)w * h;
    for (int ch = 0; ch < comp; ch++)
        for (size_t i = 0; i < npix; i++) out[(size_t)ch * npix + i] = dcm__extend(d, pix[i * comp + ch]);
    free(pix);
    return 0;
}

static int dcm__frame_lossless(const DicomFile *d, const uint8_t *p, size_t n, int64_t *out, const DcmCtx *c) {
    JpegLossless im;
    char why[256];
    if (jpegll_decode(p, n, &im, why, sizeof why) < 0) return dcm__fail(c, "JPEG lossless frame: %s", why);
    if (im.w != d->cols || im.h != d->rows || im.comps != d->samples) {
        dcm__fail(c, "JPEG lossless frame is %d x %d x %d, the header says %d x %d x %d", im.w, im.h, im.comps,
                  d->cols, d->rows, d->samples);
        jpegll_free(&im);
        return -1;
    }
    size_t npix = (size_t)im.w * im.h;
    for (int ch = 0; ch < im.comps; ch++)
        for (size_t i = 0; i < npix; i++) out[(size_t)ch * npix + i] = dcm__extend(d, im.samples[i * im.comps + ch]);
    jpegll_free(&im);
    return 0;
}

int dicom_frame_stored(const DicomFile *d, int frame, int64_t *out, char *err, size_t errlen) {
    DcmCtx c = {d->name, err, err ? errlen : 0};
    if (frame < 0 || frame >= d->frames) return dcm__fail(&c, "frame %d requested, the file has %d (0..%d)", frame, d->frames, d->frames - 1);
    if (d->coding == DICOM_NATIVE) { dcm__frame_native(d, frame, out); return 0; }
    const uint8_t *p = NULL; size_t n = 0; uint8_t *owned = NULL;
    if (dcm__frame_data(d, frame, &p, &n, &owned, &c) < 0) return -1;
    int rc = d->coding == DICOM_RLE ? dcm__frame_rle(d, p, n, out, &c)
           : d->coding == DICOM_JPEG_BASELINE ? dcm__frame_jpeg(d, p, n, out, &c)
           : dcm__frame_lossless(d, p, n, out, &c);
    free(owned);
    return rc;
}

/* ------------------------------------------------------------------ */
/* rescale and window                                                   */

double dicom_window_apply(double x, double c, double w, DicomVoiFunction f) {
    switch (f) {
    case DICOM_VOI_LINEAR_EXACT:
        if (x <= c - w / 2) return 0;
        if (x > c + w / 2) return 1;
        return fmin(fmax((x - c) / w + 0.5, 0.0), 1.0);   /* exact in [0,1]; the clamp only absorbs rounding */
    case DICOM_VOI_SIGMOID:
        return 1.0 / (1.0 + exp(-4.0 * (x - c) / w));
    case DICOM_VOI_LINEAR:
        break;
    }
    if (x <= c - 0.5 - (w - 1) / 2) return 0;
    if (x > c - 0.5 + (w - 1) / 2) return 1;
    return fmin(fmax((x - (c - 0.5)) / (w - 1) + 0.5, 0.0), 1.0);
}

static DicomWindowMode dcm__resolve_mode(const DicomFile *d, DicomWindowMode m) {
    if (m != DICOM_WINDOW_AUTO) return m;
    if (d->samples == 3) return DICOM_WINDOW_FULL;
    return d->has_window ? DICOM_WINDOW_FILE : DICOM_WINDOW_MINMAX;
}

/* The value the window applies to: rescaled (monochrome, except for the
   FULL window, which is defined on stored values) or stored. */
typedef struct { const int64_t *stored; int rescale; double slope, intercept; } DcmValues;

static double dcm__x(const DcmValues *v, size_t i) {
    return v->rescale ? (double)v->stored[i] * v->slope + v->intercept : (double)v->stored[i];
}

static void dcm__minmax(const DcmValues *v, size_t n, double *lo, double *hi) {
    *lo = *hi = dcm__x(v, 0);
    for (size_t i = 1; i < n; i++) {
        double x = dcm__x(v, i);
        if (x < *lo) *lo = x;
        if (x > *hi) *hi = x;
    }
}

/* The window to apply to the values x (rescaled for monochrome, stored
   for colour) and how; the numbers go to *used. */
static int dcm__choose_window(const DicomFile *d, const DicomWindow *want, const DcmValues *x, size_t n,
                              DicomWindow *used, const DcmCtx *c) {
    memset(used, 0, sizeof *used);
    used->mode = dcm__resolve_mode(d, want ? want->mode : DICOM_WINDOW_AUTO);
    used->function = DICOM_VOI_LINEAR;
    double lo, hi;
    switch (used->mode) {
    case DICOM_WINDOW_FILE:
        if (d->samples != 1 || !d->has_window)
            return dcm__fail(c, "window 'file' requested but the file has no usable WindowCenter/WindowWidth");
        used->center = d->window_center; used->width = d->window_width; used->function = d->voi_function;
        return 0;
    case DICOM_WINDOW_EXPLICIT:
        if (!(want->width >= 1) || !isfinite(want->center))
            return dcm__fail(c, "explicit window needs a finite center and a width >= 1 (got %g, %g)", want->center, want->width);
        used->center = want->center; used->width = want->width;
        return 0;
    case DICOM_WINDOW_MINMAX:
        dcm__minmax(x, n, &lo, &hi);
        used->center = (lo + hi) / 2; used->width = hi - lo;
        return 0;
    case DICOM_WINDOW_FULL:
        used->width = ldexp(1.0, d->bits_stored);
        used->center = (d->pixel_representation ? -used->width / 2 : 0) + used->width / 2;
        return 0;
    case DICOM_WINDOW_AUTO:
        break;
    }
    return dcm__fail(c, "unknown window mode %d", (int)used->mode);
}

/* y for value x under the chosen window (FULL works on stored values). */
static double dcm__map(const DicomWindow *w, double x) {
    if (w->mode == DICOM_WINDOW_MINMAX) {
        double lo = w->center - w->width / 2;
        return w->width > 0 ? (x - lo) / w->width : 0.0;
    }
    if (w->mode == DICOM_WINDOW_FULL) return (x - (w->center - w->width / 2)) / (w->width - 1);
    return dicom_window_apply(x, w->center, w->width, w->function);
}

int dicom_render(const DicomFile *d, int frame, const DicomWindow *want, float *out, DicomWindow *used,
                 char *err, size_t errlen) {
    DcmCtx c = {d->name, err, err ? errlen : 0};
    size_t n = dicom_frame_values(d);
    int64_t *stored = malloc(n * sizeof *stored);
    if (!stored) return dcm__fail(&c, "out of memory for %zu samples", n);
    DicomWindow w;
    DicomWindowMode mode = dcm__resolve_mode(d, want ? want->mode : DICOM_WINDOW_AUTO);
    DcmValues x = {stored, d->samples == 1 && mode != DICOM_WINDOW_FULL, d->slope, d->intercept};
    if (dicom_frame_stored(d, frame, stored, err, errlen) < 0 || dcm__choose_window(d, want, &x, n, &w, &c) < 0) {
        free(stored);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        double y = dcm__map(&w, dcm__x(&x, i));
        out[i] = (float)(d->monochrome1 ? 1.0 - y : y);
    }
    if (used) *used = w;
    free(stored);
    return 0;
}

/* ------------------------------------------------------------------ */
/* names                                                                */

const char *dicom_window_mode_name(DicomWindowMode m) {
    switch (m) {
    case DICOM_WINDOW_AUTO: return "auto";
    case DICOM_WINDOW_FILE: return "file";
    case DICOM_WINDOW_MINMAX: return "minmax";
    case DICOM_WINDOW_FULL: return "full";
    case DICOM_WINDOW_EXPLICIT: return "explicit";
    }
    return "?";
}

const char *dicom_voi_function_name(DicomVoiFunction f) {
    switch (f) {
    case DICOM_VOI_LINEAR: return "LINEAR";
    case DICOM_VOI_LINEAR_EXACT: return "LINEAR_EXACT";
    case DICOM_VOI_SIGMOID: return "SIGMOID";
    }
    return "?";
}

int dicom_window_from_string(const char *s, DicomWindow *w) {
    memset(w, 0, sizeof *w);
    if (!s) return -1;
    static const DicomWindowMode named[] = {DICOM_WINDOW_AUTO, DICOM_WINDOW_FILE, DICOM_WINDOW_MINMAX, DICOM_WINDOW_FULL};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (!strcmp(s, dicom_window_mode_name(named[i]))) { w->mode = named[i]; return 0; }
    char *end;
    double cen = strtod(s, &end);
    if (end == s || *end != ',') return -1;
    const char *ws = end + 1;
    double wid = strtod(ws, &end);
    if (end == ws || *end || !isfinite(cen) || !(wid >= 1) || !isfinite(wid)) return -1;
    w->mode = DICOM_WINDOW_EXPLICIT; w->center = cen; w->width = wid;
    return 0;
}
