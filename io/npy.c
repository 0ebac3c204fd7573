/* npy.c - NumPy .npy reader (versions 1.0/2.0/3.0, strict header dict) and
   writer (version 1.0 exactly as numpy.save). Contract in npy.h. */
#include "io/npy.h"
#include "engine/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64               /* numpy's ARRAY_ALIGN */
#define NPY_GROWTH_DIGITS 21       /* numpy's GROWTH_AXIS_MAX_DIGITS */
#define NPY_MAX_FILE ((size_t)1 << 34)   /* 16 GiB: a sanity bound for npy_read */

size_t npy_itemsize(NpyDtype t) {
    switch (t) {
    case NPY_F32: return 4;
    case NPY_F64: return 8;
    case NPY_U8: return 1;
    case NPY_BOOL: return 1;
    case NPY_I32: return 4;
    case NPY_I64: return 8;
    }
    return 0;
}

const char *npy_dtype_name(NpyDtype t) {
    switch (t) {
    case NPY_F32: return "<f4";
    case NPY_F64: return "<f8";
    case NPY_U8: return "|u1";
    case NPY_BOOL: return "|b1";
    case NPY_I32: return "<i4";
    case NPY_I64: return "<i8";
    }
    return "?";
}

/* ---- the header dict: a tiny strict parser of numpy's Python literal ---- */

typedef struct {
    const char *s;
    size_t len, pos;
    char *err;
    size_t errlen;
} NpyHdr;

static void npy__ws(NpyHdr *h) {
    while (h->pos < h->len && (h->s[h->pos] == ' ' || h->s[h->pos] == '\t')) h->pos++;
}

static int npy__hfail(NpyHdr *h, const char *what) {
    char found[24];
    if (h->pos >= h->len) snprintf(found, sizeof found, "end of header");
    else if ((unsigned char)h->s[h->pos] >= 0x20 && (unsigned char)h->s[h->pos] < 0x7F)
        snprintf(found, sizeof found, "'%c'", h->s[h->pos]);
    else snprintf(found, sizeof found, "byte 0x%02x", (unsigned char)h->s[h->pos]);
    return err_fail(h->err, h->errlen, "npy header, offset %zu: expected %s, found %s", h->pos, what, found);
}

static int npy__eat(NpyHdr *h, char c) {
    npy__ws(h);
    if (h->pos < h->len && h->s[h->pos] == c) { h->pos++; return 1; }
    return 0;
}

/* A quoted string without escapes into out (at most outsz-1 chars). */
static int npy__string(NpyHdr *h, char *out, size_t outsz) {
    npy__ws(h);
    if (h->pos >= h->len || (h->s[h->pos] != '\'' && h->s[h->pos] != '"'))
        return npy__hfail(h, "a quoted string");
    char q = h->s[h->pos++];
    size_t n = 0;
    while (h->pos < h->len && h->s[h->pos] != q) {
        char c = h->s[h->pos];
        if (c == '\\' || (unsigned char)c < 0x20 || n + 1 >= outsz)
            return npy__hfail(h, "a short plain string");
        out[n++] = c;
        h->pos++;
    }
    if (h->pos >= h->len) return npy__hfail(h, "a closing quote");
    h->pos++;
    out[n] = 0;
    return 0;
}

/* A non-negative decimal integer (Python 2's 'L' suffix tolerated). */
static int npy__int(NpyHdr *h, int64_t *out) {
    npy__ws(h);
    size_t start = h->pos;
    uint64_t v = 0;
    while (h->pos < h->len && h->s[h->pos] >= '0' && h->s[h->pos] <= '9') {
        uint64_t d = (uint64_t)(h->s[h->pos] - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10)
            return err_fail(h->err, h->errlen, "npy header: shape value at offset %zu exceeds 2^63-1", start);
        v = v * 10 + d;
        h->pos++;
    }
    if (h->pos == start) return npy__hfail(h, "a non-negative integer in 'shape'");
    if (h->pos < h->len && h->s[h->pos] == 'L') h->pos++;
    *out = (int64_t)v;
    return 0;
}

static int npy__shape(NpyHdr *h, NpyArray *out) {
    if (!npy__eat(h, '(')) return npy__hfail(h, "'(' starting the shape tuple");
    int n = 0, trailing_comma = 0;
    while (1) {
        if (npy__eat(h, ')')) break;
        if (n == NPY_MAX_DIMS)
            return err_fail(h->err, h->errlen, "npy header: shape has more than %d dimensions", NPY_MAX_DIMS);
        if (npy__int(h, &out->shape[n]) < 0) return -1;
        n++;
        trailing_comma = npy__eat(h, ',');
        if (!trailing_comma) {
            if (npy__eat(h, ')')) break;
            return npy__hfail(h, "',' or ')' in the shape tuple");
        }
    }
    if (n == 1 && !trailing_comma)
        return err_fail(h->err, h->errlen, "npy header: shape (%lld) is not a tuple (a 1-tuple is written (%lld,))",
                        (long long)out->shape[0], (long long)out->shape[0]);
    out->ndim = n;
    return 0;
}

static int npy__descr(NpyHdr *h, const char *d, NpyDtype *out) {
    static const struct { const char *code; NpyDtype t; } codes[] = {
        {"f4", NPY_F32}, {"f8", NPY_F64}, {"u1", NPY_U8}, {"b1", NPY_BOOL}, {"i4", NPY_I32}, {"i8", NPY_I64},
    };
    char order = 0;
    const char *code = d;
    if (d[0] == '<' || d[0] == '>' || d[0] == '|' || d[0] == '=') { order = d[0]; code = d + 1; }
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        if (strcmp(code, codes[i].code) != 0) continue;
        int onebyte = npy_itemsize(codes[i].t) == 1;
        if (!onebyte && order == '>')
            return err_fail(h->err, h->errlen, "npy: big-endian dtype '%s' is not supported (only little-endian '<%s')", d, code);
        if (!onebyte && order != '<')
            return err_fail(h->err, h->errlen, "npy: dtype '%s' has no explicit little-endian '<' byte order", d);
        *out = codes[i].t;
        return 0;
    }
    return err_fail(h->err, h->errlen, "npy: unsupported dtype '%s' (supported: <f4 <f8 |u1 |b1 <i4 <i8)", d);
}

/* Parses "{'descr': ..., 'fortran_order': ..., 'shape': (...), }" then only
   whitespace up to a final '\n'. Each of the three keys exactly once. */
static int npy__header(NpyHdr *h, NpyArray *out) {
    int have_descr = 0, have_fortran = 0, have_shape = 0;
    if (!npy__eat(h, '{')) return npy__hfail(h, "'{' starting the header dict");
    while (!npy__eat(h, '}')) {
        char key[32], val[32];
        if (npy__string(h, key, sizeof key) < 0) return -1;
        if (!npy__eat(h, ':')) return npy__hfail(h, "':' after a key");
        int *seen;
        if (strcmp(key, "descr") == 0) {
            seen = &have_descr;
            npy__ws(h);
            if (h->pos < h->len && h->s[h->pos] == '[')
                return err_fail(h->err, h->errlen, "npy: structured dtypes (descr as a list) are not supported");
            if (npy__string(h, val, sizeof val) < 0) return -1;
            if (npy__descr(h, val, &out->dtype) < 0) return -1;
        } else if (strcmp(key, "fortran_order") == 0) {
            seen = &have_fortran;
            npy__ws(h);
            if (h->len - h->pos >= 5 && memcmp(h->s + h->pos, "False", 5) == 0) h->pos += 5;
            else if (h->len - h->pos >= 4 && memcmp(h->s + h->pos, "True", 4) == 0)
                return err_fail(h->err, h->errlen, "npy: fortran_order True is not supported (save a C-order array)");
            else return npy__hfail(h, "False or True for 'fortran_order'");
        } else if (strcmp(key, "shape") == 0) {
            seen = &have_shape;
            if (npy__shape(h, out) < 0) return -1;
        } else {
            return err_fail(h->err, h->errlen, "npy header: unexpected key '%s' (expected 'descr', 'fortran_order', 'shape')", key);
        }
        if (*seen) return err_fail(h->err, h->errlen, "npy header: key '%s' appears twice", key);
        *seen = 1;
        if (!npy__eat(h, ',')) {
            if (npy__eat(h, '}')) break;
            return npy__hfail(h, "',' or '}' in the header dict");
        }
    }
    if (!have_descr || !have_fortran || !have_shape)
        return err_fail(h->err, h->errlen, "npy header: missing key '%s'",
                        !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");
    while (h->pos < h->len && (h->s[h->pos] == ' ' || h->s[h->pos] == '\t' || h->s[h->pos] == '\r'
                               || (h->s[h->pos] == '\n' && h->pos + 1 == h->len)))
        h->pos++;
    if (h->pos != h->len || h->s[h->len - 1] != '\n')
        return npy__hfail(h, "only spaces and a final newline after the header dict");
    return 0;
}

int npy_parse(const uint8_t *buf, size_t len, NpyArray *out, char *err, size_t errlen) {
    if (!err) errlen = 0;
    memset(out, 0, sizeof *out);
    if (!buf || len < NPY_MAGIC_LEN + 2 || memcmp(buf, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return err_fail(err, errlen, "npy: not a .npy file (expected the magic \\x93NUMPY, %zu bytes given)", buf ? len : 0);
    unsigned major = buf[6], minor = buf[7];
    size_t hlen, pre;
    if (major == 1 && minor == 0) {
        if (len < 10) return err_fail(err, errlen, "npy: file truncated in the header length");
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        pre = 10;
    } else if ((major == 2 || major == 3) && minor == 0) {
        if (len < 12) return err_fail(err, errlen, "npy: file truncated in the header length");
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        pre = 12;
    } else {
        return err_fail(err, errlen, "npy: format version %u.%u not supported (expected 1.0, 2.0 or 3.0)", major, minor);
    }
    if (hlen > len - pre)
        return err_fail(err, errlen, "npy: header of %zu bytes runs past the end of the %zu-byte file", hlen, len);
    if (hlen == 0) return err_fail(err, errlen, "npy: empty header");
    NpyHdr h = {(const char *)buf + pre, hlen, 0, err, errlen};
    if (npy__header(&h, out) < 0) { memset(out, 0, sizeof *out); return -1; }

    /* numel = prod(shape), nbytes = numel * itemsize, both checked against SIZE_MAX. */
    size_t numel = 1, item = npy_itemsize(out->dtype);
    for (int i = 0; i < out->ndim; i++) {
        uint64_t d = (uint64_t)out->shape[i];
        if (d != 0 && numel > SIZE_MAX / d) {
            memset(out, 0, sizeof *out);
            return err_fail(err, errlen, "npy: shape product overflows (dimension %d is %llu)", i, (unsigned long long)d);
        }
        numel *= (size_t)d;
    }
    if (numel > SIZE_MAX / item) {
        memset(out, 0, sizeof *out);
        return err_fail(err, errlen, "npy: %zu elements of %zu bytes overflow the size type", numel, item);
    }
    size_t nbytes = numel * item, avail = len - pre - hlen;
    if (nbytes != avail) {
        memset(out, 0, sizeof *out);
        return err_fail(err, errlen, "npy: data is %zu bytes but shape and dtype %s need %zu (%s)",
                        avail, npy_dtype_name(out->dtype), nbytes,
                        avail < nbytes ? "file truncated" : "trailing bytes");
    }
    out->numel = numel;
    out->data = malloc(nbytes ? nbytes : 1);
    if (!out->data) { memset(out, 0, sizeof *out); return err_fail(err, errlen, "npy: out of memory (%zu bytes)", nbytes); }
    if (nbytes) memcpy(out->data, buf + pre + hlen, nbytes);
    return 0;
}

int npy_read(const char *path, NpyArray *out, char *err, size_t errlen) {
    if (!err) errlen = 0;
    memset(out, 0, sizeof *out);
    uint8_t *buf; size_t len;
    char why[512];
    if (io_read_file(path, NPY_MAX_FILE, &buf, &len, why, sizeof why) < 0)
        return err_fail(err, errlen, "npy: %s", why);
    int rc = npy_parse(buf, len, out, why, sizeof why);
    free(buf);
    if (rc < 0) return err_fail(err, errlen, "'%s': %s", path, why);
    return 0;
}

float *npy_to_f32(const NpyArray *a) {
    if (!a || !a->data) return NULL;
    float *y = malloc(a->numel ? a->numel * sizeof(float) : 1);
    if (!y) return NULL;
    const uint8_t *p = a->data;
    for (size_t i = 0; i < a->numel; i++) {
        switch (a->dtype) {
        case NPY_F32: memcpy(&y[i], p + 4 * i, 4); break;
        case NPY_F64: { double v; memcpy(&v, p + 8 * i, 8); y[i] = (float)v; break; }
        case NPY_U8: y[i] = (float)p[i]; break;
        case NPY_BOOL: y[i] = p[i] ? 1.0f : 0.0f; break;
        case NPY_I32: { int32_t v; memcpy(&v, p + 4 * i, 4); y[i] = (float)v; break; }
        case NPY_I64: { int64_t v; memcpy(&v, p + 8 * i, 8); y[i] = (float)v; break; }
        }
    }
    return y;
}

void npy_free(NpyArray *a) {
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* Writes a version 1.0 file byte-identical to numpy.save (see npy.h). */
static int npy__write(const char *path, const void *data, NpyDtype dtype, int ndim,
                      const int64_t *shape, char *err, size_t errlen) {
    if (!err) errlen = 0;
    if (!path) return err_fail(err, errlen, "npy: no file name given");
    if (ndim < 0 || ndim > NPY_MAX_DIMS || (ndim > 0 && !shape))
        return err_fail(err, errlen, "npy: '%s': ndim %d out of range 0..%d", path, ndim, NPY_MAX_DIMS);
    size_t numel = 1, item = npy_itemsize(dtype);
    char shp[NPY_MAX_DIMS * 24 + 4];
    size_t k = 0;
    shp[k++] = '(';
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return err_fail(err, errlen, "npy: '%s': negative dimension %lld", path, (long long)shape[i]);
        uint64_t d = (uint64_t)shape[i];
        if (d != 0 && numel > SIZE_MAX / d) return err_fail(err, errlen, "npy: '%s': shape product overflows", path);
        numel *= (size_t)d;
        k += (size_t)snprintf(shp + k, sizeof shp - k, i ? ", %lld" : "%lld", (long long)shape[i]);
    }
    if (ndim == 1) shp[k++] = ',';
    shp[k++] = ')';
    shp[k] = 0;
    if (numel > SIZE_MAX / item) return err_fail(err, errlen, "npy: '%s': byte size overflows", path);
    if (numel && !data) return err_fail(err, errlen, "npy: '%s': no data given", path);

    char hdr[512];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     npy_dtype_name(dtype), shp);
    if (ndim > 0) {   /* room to grow axis 0 in place, as numpy 1.24+ leaves */
        int digits = snprintf(NULL, 0, "%lld", (long long)shape[0]);
        for (int i = digits; i < NPY_GROWTH_DIGITS; i++) hdr[n++] = ' ';
    }
    size_t hlen = (size_t)n + 1;                                   /* + '\n' */
    size_t pad = NPY_ALIGN - ((NPY_MAGIC_LEN + 2 + 2 + hlen) % NPY_ALIGN); /* 1..64 */
    memset(hdr + n, ' ', pad);
    n += (int)pad;
    hdr[n++] = '\n';
    uint8_t pre[10];
    memcpy(pre, NPY_MAGIC, NPY_MAGIC_LEN);
    pre[6] = 1; pre[7] = 0;
    pre[8] = (uint8_t)(n & 0xFF); pre[9] = (uint8_t)(n >> 8);

    FILE *f = fopen(path, "wb");
    if (!f) return err_fail(err, errlen, "npy: cannot create '%s': %s", path, strerror(errno));
    size_t nbytes = numel * item;
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, (size_t)n, f) == (size_t)n &&
             (nbytes == 0 || fwrite(data, 1, nbytes, f) == nbytes);
    if (fclose(f) != 0) ok = 0;
    if (!ok) return err_fail(err, errlen, "npy: cannot write '%s': %s", path, strerror(errno));
    return 0;
}

int npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape,
                  char *err, size_t errlen) {
    return npy__write(path, data, NPY_F32, ndim, shape, err, errlen);
}

int npy_write_u8(const char *path, const uint8_t *data, int ndim, const int64_t *shape,
                 char *err, size_t errlen) {
    return npy__write(path, data, NPY_U8, ndim, shape, err, errlen);
}

float *npy_read_nchw_f32(const char *path, int C, int *n, int *h, int *w, char *err, size_t errlen) {
    NpyArray a;
    if (npy_read(path, &a, err, errlen)) return NULL;
    if (a.ndim != 4 || a.shape[1] != C || a.shape[0] < 1 || a.shape[2] < 8 || a.shape[3] < 8 ||
        a.shape[0] > 65536 || a.shape[2] > 4096 || a.shape[3] > 4096) {
        err_fail(err, errlen, "%s: expected a float array of shape (N, %d, H, W) with H, W in [8, 4096]; got %d dimensions%s",
                 path, C, a.ndim, a.ndim == 4 ? " with another shape" : "");
        npy_free(&a);
        return NULL;
    }
    *n = (int)a.shape[0]; *h = (int)a.shape[2]; *w = (int)a.shape[3];
    float *x = npy_to_f32(&a);
    npy_free(&a);
    if (!x) err_fail(err, errlen, "%s: cannot convert to float32", path);
    return x;
}
