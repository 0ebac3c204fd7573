/* nifti.c - NIfTI-1/NIfTI-2 reader: header, gzip (zlib), nibabel-exact
   values, orientation, display slices, windows. Contract in nifti.h. */
#include "io/nifti.h"
#include "engine/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define NIFTI1_HDR 348
#define NIFTI2_HDR 540

/* ---- byte access in the file's order ---- */

static uint64_t nifti__uint(const uint8_t *p, int nbytes, int big_endian) {
    uint64_t v = 0;
    for (int k = 0; k < nbytes; k++) v = v << 8 | p[big_endian ? k : nbytes - 1 - k];
    return v;
}

static int16_t nifti__i16(const uint8_t *p, int be) { return (int16_t)(uint16_t)nifti__uint(p, 2, be); }
static int32_t nifti__i32(const uint8_t *p, int be) { return (int32_t)(uint32_t)nifti__uint(p, 4, be); }
static int64_t nifti__i64(const uint8_t *p, int be) { return (int64_t)nifti__uint(p, 8, be); }

static float nifti__f32(const uint8_t *p, int be) {
    uint32_t u = (uint32_t)nifti__uint(p, 4, be);
    float f; memcpy(&f, &u, 4);
    return f;
}

static double nifti__f64(const uint8_t *p, int be) {
    uint64_t u = nifti__uint(p, 8, be);
    double d; memcpy(&d, &u, 8);
    return d;
}

/* ---- data types ---- */

typedef struct { int code; const char *name; int bytes; int supported; } NiftiType;

static const NiftiType nifti__types[] = {
    {1, "binary", 0, 0},       {2, "uint8", 1, 1},        {4, "int16", 2, 1},
    {8, "int32", 4, 1},        {16, "float32", 4, 1},     {32, "complex64", 8, 0},
    {64, "float64", 8, 1},     {128, "rgb24", 3, 0},      {256, "int8", 1, 1},
    {512, "uint16", 2, 1},     {768, "uint32", 4, 1},     {1024, "int64", 8, 1},
    {1280, "uint64", 8, 1},    {1536, "float128", 16, 0}, {1792, "complex128", 16, 0},
    {2048, "complex256", 32, 0}, {2304, "rgba32", 4, 0},
};

static const NiftiType *nifti__type(int code) {
    for (size_t i = 0; i < sizeof nifti__types / sizeof nifti__types[0]; i++)
        if (nifti__types[i].code == code) return &nifti__types[i];
    return NULL;
}

const char *nifti_type_name(int datatype) {
    const NiftiType *t = nifti__type(datatype);
    return t ? t->name : "unknown";
}

/* ---- header ---- */

static const uint8_t nifti__magic2[8] = {'n', '+', '2', 0, '\r', '\n', 0x1A, '\n'};

/* NIfTI version (1, 2) and byte order from sizeof_hdr, or 0. */
static int nifti__version(const uint8_t *b, size_t len, int *big_endian) {
    if (len < 4) return 0;
    for (int be = 0; be < 2; be++) {
        int32_t s = nifti__i32(b, be);
        if (s == NIFTI1_HDR || s == NIFTI2_HDR) { *big_endian = be; return s == NIFTI1_HDR ? 1 : 2; }
    }
    return 0;
}

int nifti_sniff(const uint8_t *buf, size_t len) {
    int be;
    if (len >= 2 && buf[0] == 0x1F && buf[1] == 0x8B) return 1;
    int v = nifti__version(buf, len, &be);
    if (v == 1) return len >= NIFTI1_HDR && memcmp(buf + 344, "n+1", 4) == 0;
    if (v == 2) return len >= NIFTI2_HDR && memcmp(buf + 4, "n+2", 4) == 0;
    return 0;
}

/* The magic bytes as printable text for messages. */
static void nifti__printable(const uint8_t *p, int n, char *out) {
    for (int i = 0; i < n; i++) out[i] = p[i] >= 0x20 && p[i] < 0x7F ? (char)p[i] : '.';
    out[n] = 0;
}

static int nifti__check_magic(const uint8_t *b, int version, const char *name, char *err, size_t errlen) {
    const uint8_t *m = version == 1 ? b + 344 : b + 4;
    char shown[9];
    nifti__printable(m, version == 1 ? 4 : 8, shown);
    if (m[0] == 'n' && m[1] == 'i' && (m[2] == '1' || m[2] == '2') && m[3] == 0)
        return err_fail(err, errlen, "nifti '%s': two-file NIfTI (header magic \"ni%c\"): the .hdr/.img pair is not supported, "
                        "convert it to a single .nii", name, m[2]);
    if (memcmp(m, version == 1 ? "n+1" : "n+2", 4) != 0)
        return err_fail(err, errlen, "nifti '%s': bad magic \"%s\" for a NIfTI-%d header (expected \"n+%d\")",
                        name, shown, version, version);
    static const uint8_t zero4[4] = {0};
    if (version == 2 && memcmp(m + 4, nifti__magic2 + 4, 4) != 0 && memcmp(m + 4, zero4, 4) != 0)
        return err_fail(err, errlen, "nifti '%s': NIfTI-2 magic line-ending bytes are damaged "
                        "(transferred as text?)", name);
    return 0;
}

/* Fields of a NIfTI-1 header (byte offsets of nifti1.h). */
static void nifti__read_v1(const uint8_t *b, int be, NiftiHeader *h) {
    for (int i = 0; i < 8; i++) h->dim[i] = nifti__i16(b + 40 + 2 * i, be);
    h->datatype = nifti__i16(b + 70, be);
    for (int i = 0; i < 8; i++) h->pixdim[i] = nifti__f32(b + 76 + 4 * i, be);
    double off = nifti__f32(b + 108, be);
    h->vox_offset = off >= 0 && off < 9.2e18 ? (int64_t)off : -1;   /* NaN, negative -> refused later */
    h->scl_slope = nifti__f32(b + 112, be);
    h->scl_inter = nifti__f32(b + 116, be);
    h->cal_max = nifti__f32(b + 124, be);
    h->cal_min = nifti__f32(b + 128, be);
    h->qform_code = nifti__i16(b + 252, be);
    h->sform_code = nifti__i16(b + 254, be);
    for (int i = 0; i < 3; i++) h->quatern[i] = nifti__f32(b + 256 + 4 * i, be);
    for (int i = 0; i < 3; i++) h->qoffset[i] = nifti__f32(b + 268 + 4 * i, be);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++) h->srow[r][c] = nifti__f32(b + 280 + 16 * r + 4 * c, be);
}

/* Fields of a NIfTI-2 header (byte offsets of nifti2.h). */
static void nifti__read_v2(const uint8_t *b, int be, NiftiHeader *h) {
    h->datatype = nifti__i16(b + 12, be);
    for (int i = 0; i < 8; i++) h->dim[i] = nifti__i64(b + 16 + 8 * i, be);
    for (int i = 0; i < 8; i++) h->pixdim[i] = nifti__f64(b + 104 + 8 * i, be);
    h->vox_offset = nifti__i64(b + 168, be);
    h->scl_slope = nifti__f64(b + 176, be);
    h->scl_inter = nifti__f64(b + 184, be);
    h->cal_max = nifti__f64(b + 192, be);
    h->cal_min = nifti__f64(b + 200, be);
    h->qform_code = nifti__i32(b + 344, be);
    h->sform_code = nifti__i32(b + 348, be);
    for (int i = 0; i < 3; i++) h->quatern[i] = nifti__f64(b + 352 + 8 * i, be);
    for (int i = 0; i < 3; i++) h->qoffset[i] = nifti__f64(b + 376 + 8 * i, be);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++) h->srow[r][c] = nifti__f64(b + 400 + 32 * r + 8 * c, be);
}

/* a * b for positive a, b if the product is at most limit, else 0. */
static uint64_t nifti__mul_capped(uint64_t a, uint64_t b, uint64_t limit) {
    if (a == 0 || b == 0 || a > limit / b) return 0;
    return a * b;
}

/* dims, data type, scaling, sizes and offset: everything that makes the
   header usable. hdr_len bytes of header are in b (348 or 540 + 4). */
static int nifti__validate(const uint8_t *b, size_t hdr_len, NiftiHeader *h, uint64_t max_bytes,
                           const char *name, char *err, size_t errlen) {
    int64_t ndim = h->dim[0];
    if (ndim < 1 || ndim > 7)
        return err_fail(err, errlen, "nifti '%s': dim[0] = %lld, the number of dimensions must be 1..7",
                        name, (long long)ndim);
    h->ndim = (int)ndim;
    for (int i = 1; i <= 7; i++) {
        if (i > h->ndim) { h->dim[i] = 1; continue; }
        if (h->dim[i] < 1)
            return err_fail(err, errlen, "nifti '%s': dim[%d] = %lld, dimensions must be positive",
                            name, i, (long long)h->dim[i]);
    }
    const NiftiType *t = nifti__type(h->datatype);
    if (!t) return err_fail(err, errlen, "nifti '%s': unknown datatype code %d", name, h->datatype);
    if (!t->supported)
        return err_fail(err, errlen, "nifti '%s': datatype %s (code %d) is not supported "
                        "(int8..uint64, float32, float64 are)", name, t->name, t->code);
    h->bytes_per_voxel = t->bytes;
    /* each factor <= limit and each partial product <= limit: no overflow in 64 bits */
    uint64_t n = (uint64_t)t->bytes;
    for (int i = 1; i <= 7 && n; i++) n = nifti__mul_capped(n, (uint64_t)h->dim[i], max_bytes);
    if (n == 0)
        return err_fail(err, errlen, "nifti '%s': dims %lld x %lld x %lld x %lld x %lld x %lld x %lld of %s "
                        "exceed the %llu-byte limit", name, (long long)h->dim[1], (long long)h->dim[2],
                        (long long)h->dim[3], (long long)h->dim[4], (long long)h->dim[5], (long long)h->dim[6],
                        (long long)h->dim[7], t->name, (unsigned long long)max_bytes);
    h->nvox = h->dim[1] * h->dim[2] * h->dim[3];
    h->nvol = h->dim[4] * h->dim[5] * h->dim[6] * h->dim[7];
    h->scaled = isfinite(h->scl_slope) && h->scl_slope != 0;
    if (h->scaled && !isfinite(h->scl_inter))
        return err_fail(err, errlen, "nifti '%s': valid scl_slope %g but non-finite scl_inter", name, h->scl_slope);
    int64_t min_off = (int64_t)hdr_len;   /* header + 4-byte extension flag */
    if (h->vox_offset == 0) {
        if (b[hdr_len - 4] != 0)
            return err_fail(err, errlen, "nifti '%s': vox_offset is 0 but extensions follow the header: "
                            "where the data start is unknown", name);
        h->vox_offset = min_off;
    }
    if (h->vox_offset < 0)
        return err_fail(err, errlen, "nifti '%s': vox_offset is negative or not a number", name);
    if (h->vox_offset < min_off || (uint64_t)h->vox_offset > max_bytes)
        return err_fail(err, errlen, "nifti '%s': vox_offset %lld outside %lld..%llu", name,
                        (long long)h->vox_offset, (long long)min_off, (unsigned long long)max_bytes);
    return 0;
}

/* Parses the header at b (at least 544 bytes available, or 352 for v1). */
static int nifti__header(const uint8_t *b, size_t len, uint64_t max_bytes, NiftiHeader *h,
                         const char *name, char *err, size_t errlen) {
    memset(h, 0, sizeof *h);
    int be = 0, v = nifti__version(b, len, &be);
    if (len < 4)
        return err_fail(err, errlen, "nifti '%s': not a NIfTI file (%zu bytes, shorter than sizeof_hdr)", name, len);
    if (v == 0)
        return err_fail(err, errlen, "nifti '%s': not a NIfTI file (sizeof_hdr is %d, expected 348 or 540)",
                        name, nifti__i32(b, 0));
    size_t hdr_len = (v == 1 ? NIFTI1_HDR : NIFTI2_HDR) + 4;
    if (len < hdr_len)
        return err_fail(err, errlen, "nifti '%s': file ends inside the NIfTI-%d header (%zu of %zu bytes)",
                        name, v, len, hdr_len);
    if (nifti__check_magic(b, v, name, err, errlen) < 0) return -1;
    h->version = v;
    h->swapped = be;
    if (v == 1) nifti__read_v1(b, be, h);
    else nifti__read_v2(b, be, h);
    return nifti__validate(b, hdr_len, h, max_bytes, name, err, errlen);
}

/* ---- gzip ---- */

typedef struct {
    z_stream z;
    uint8_t *out;
    size_t have, cap;
    int ended;   /* the input is exhausted */
} NiftiInflate;

/* Inflates until st->have >= want or the input ends; grows st->out
   only when it is full (doubling, never past want), so it is at most
   twice what the stream really inflated to. Returns 0, or -1 with a message for a
   corrupt stream or no memory. */
static int nifti__inflate_to(NiftiInflate *st, size_t want, const char *name, char *err, size_t errlen) {
    while (st->have < want && !st->ended) {
        if (st->have == st->cap && st->cap < want) {   /* full: grow */
            size_t ncap = st->cap ? st->cap * 2 : 65536;
            if (ncap > want) ncap = want;
            uint8_t *p = realloc(st->out, ncap);
            if (!p) return err_fail(err, errlen, "nifti '%s': out of memory inflating %zu bytes", name, ncap);
            st->out = p;
            st->cap = ncap;
        }
        size_t room = (st->cap < want ? st->cap : want) - st->have;
        if (room > UINT32_MAX) room = UINT32_MAX;
        st->z.next_out = st->out + st->have;
        st->z.avail_out = (uInt)room;
        int rc = inflate(&st->z, Z_NO_FLUSH);
        st->have = (size_t)(st->z.next_out - st->out);
        if (rc == Z_STREAM_END) {
            /* another gzip member may follow (concatenated .gz) */
            if (st->z.avail_in >= 2 && st->z.next_in[0] == 0x1F && st->z.next_in[1] == 0x8B) inflateReset(&st->z);
            else st->ended = 1;
        } else if (rc == Z_BUF_ERROR && st->z.avail_in == 0) {
            st->ended = 1;   /* stream cut short: the size check reports it */
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            return err_fail(err, errlen, "nifti '%s': corrupt gzip data (zlib: %s)", name,
                            st->z.msg ? st->z.msg : zError(rc));
        }
    }
    return 0;
}

/* .nii.gz: header first, then exactly vox_offset + data bytes. */
static int nifti__parse_gz(const uint8_t *buf, size_t len, const char *name, uint64_t max_bytes,
                           NiftiFile *f, char *err, size_t errlen) {
    NiftiInflate st;
    memset(&st, 0, sizeof st);
    if (len > UINT32_MAX) return err_fail(err, errlen, "nifti '%s': %zu compressed bytes is too large", name, len);
    st.z.next_in = (Bytef *)buf;
    st.z.avail_in = (uInt)len;
    if (inflateInit2(&st.z, 16 + MAX_WBITS) != Z_OK)
        return err_fail(err, errlen, "nifti '%s': cannot start zlib", name);
    int rc = nifti__inflate_to(&st, NIFTI2_HDR + 4, name, err, errlen);
    if (rc == 0) rc = nifti__header(st.out, st.have, max_bytes, &f->h, name, err, errlen);
    size_t need = 0;
    if (rc == 0) {
        need = (size_t)f->h.vox_offset + (size_t)(f->h.nvox * f->h.nvol * f->h.bytes_per_voxel);   /* <= 2 * max_bytes */
        rc = nifti__inflate_to(&st, need, name, err, errlen);
    }
    if (rc == 0 && st.have < need)
        rc = err_fail(err, errlen, "nifti '%s': data truncated: the header declares %zu bytes from offset %lld, "
                      "the gzip stream inflates to %zu", name, need - (size_t)f->h.vox_offset,
                      (long long)f->h.vox_offset, st.have);
    inflateEnd(&st.z);
    if (rc < 0) { free(st.out); return -1; }
    f->owned = st.out;
    f->data = st.out + f->h.vox_offset;
    f->data_bytes = need - (size_t)f->h.vox_offset;
    return 0;
}

int nifti_parse(const uint8_t *buf, size_t len, const char *name, size_t max_bytes,
                NiftiFile *f, char *err, size_t errlen) {
    if (!err) errlen = 0;
    if (!name) name = "(memory)";
    memset(f, 0, sizeof *f);
    if (max_bytes == 0) max_bytes = NIFTI_MAX_BYTES;
    if (!buf || len == 0) return err_fail(err, errlen, "nifti '%s': empty file (0 bytes)", name);
    if (len >= 2 && buf[0] == 0x1F && buf[1] == 0x8B) {
        if (nifti__parse_gz(buf, len, name, max_bytes, f, err, errlen) < 0) { memset(f, 0, sizeof *f); return -1; }
        return 0;
    }
    if (nifti__header(buf, len, max_bytes, &f->h, name, err, errlen) < 0) return -1;
    size_t bytes = (size_t)(f->h.nvox * f->h.nvol * f->h.bytes_per_voxel);
    if ((uint64_t)f->h.vox_offset > len || bytes > len - (size_t)f->h.vox_offset)
        return err_fail(err, errlen, "nifti '%s': data truncated: the header declares %zu bytes from offset %lld, "
                        "the file has %zu bytes", name, bytes, (long long)f->h.vox_offset, len);
    f->data = buf + f->h.vox_offset;
    f->data_bytes = bytes;
    return 0;
}

void nifti_free(NiftiFile *f) {
    if (!f) return;
    free(f->owned);
    memset(f, 0, sizeof *f);
}

/* ---- values ---- */

/* Stored value of voxel i as double (integers convert exactly up to 2^53,
   int64/uint64 round to nearest as numpy's astype does). */
static double nifti__raw(const NiftiFile *f, size_t i) {
    const uint8_t *p = f->data + i * (size_t)f->h.bytes_per_voxel;
    int be = f->h.swapped;
    switch (f->h.datatype) {
    case 2: return p[0];
    case 256: return (int8_t)p[0];
    case 4: return nifti__i16(p, be);
    case 512: return (uint16_t)nifti__uint(p, 2, be);
    case 8: return nifti__i32(p, be);
    case 768: return (uint32_t)nifti__uint(p, 4, be);
    case 1024: return (double)nifti__i64(p, be);
    case 1280: return (double)nifti__uint(p, 8, be);
    case 16: return nifti__f32(p, be);
    case 64: return nifti__f64(p, be);
    default: return NAN;   /* refused by nifti_parse */
    }
}

double nifti_voxel(const NiftiFile *f, size_t i) {
    double v = nifti__raw(f, i);
    if (!f->h.scaled) return v;
    /* nibabel apply_read_scaling: two separately rounded steps, each only if needed (two
       statements, so no FMA contraction: gcc -std=c11 and clang contract within one expression at most) */
    if (f->h.scl_slope != 1.0) v = v * f->h.scl_slope;
    if (f->h.scl_inter != 0.0) v = v + f->h.scl_inter;
    return v;
}

void nifti_read_f64(const NiftiFile *f, size_t first, size_t n, double *out) {
    for (size_t k = 0; k < n; k++) out[k] = nifti_voxel(f, first + k);
}

/* ---- orientation ---- */

/* nibabel quaternions.quat2mat with a = sqrt(1 - b^2 - c^2 - d^2) (0 if negative). */
static void nifti__quat_to_mat(const double q[3], double R[3][3]) {
    double x = q[0], y = q[1], z = q[2], w2 = 1.0 - (x * x + y * y + z * z);
    double w = w2 > 0 ? sqrt(w2) : 0.0;
    double nq = w * w + x * x + y * y + z * z;
    if (!(nq > 1e-300)) { memset(R, 0, 9 * sizeof(double)); R[0][0] = R[1][1] = R[2][2] = 1; return; }
    double s = 2.0 / nq, X = x * s, Y = y * s, Z = z * s;
    double wX = w * X, wY = w * Y, wZ = w * Z, xX = x * X, xY = x * Y, xZ = x * Z;
    double yY = y * Y, yZ = y * Z, zZ = z * Z;
    double M[3][3] = {{1.0 - (yY + zZ), xY - wZ, xZ + wY},
                      {xY + wZ, 1.0 - (xX + zZ), yZ - wX},
                      {xZ - wY, yZ + wX, 1.0 - (xX + yY)}};
    memcpy(R, M, sizeof M);
}

static double nifti__det3(double A[3][3]) {
    return A[0][0] * (A[1][1] * A[2][2] - A[1][2] * A[2][1]) - A[0][1] * (A[1][0] * A[2][2] - A[1][2] * A[2][0]) +
           A[0][2] * (A[1][0] * A[2][1] - A[1][1] * A[2][0]);
}

/* A <- its orthogonal polar factor (U V^T of the SVD) by Newton's
   iteration A <- (A + A^-T) / 2, after scaling columns to unit length.
   Returns -1 if A is singular or not finite. */
static int nifti__polar(double A[3][3]) {
    for (int c = 0; c < 3; c++) {
        double n = sqrt(A[0][c] * A[0][c] + A[1][c] * A[1][c] + A[2][c] * A[2][c]);
        if (!(n > 0) || !isfinite(n)) return -1;
        for (int r = 0; r < 3; r++) A[r][c] /= n;
    }
    for (int it = 0; it < 100; it++) {
        double d = nifti__det3(A);
        if (!(fabs(d) > 1e-12) || !isfinite(d)) return -1;
        double IT[3][3], change = 0;   /* inverse transposed = cofactor matrix / det */
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++) {
                int r1 = (r + 1) % 3, r2 = (r + 2) % 3, c1 = (c + 1) % 3, c2 = (c + 2) % 3;
                IT[r][c] = (A[r1][c1] * A[r2][c2] - A[r1][c2] * A[r2][c1]) / d;
            }
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++) {
                double nv = 0.5 * (A[r][c] + IT[r][c]);
                change = fmax(change, fabs(nv - A[r][c]));
                A[r][c] = nv;
            }
        if (change < 1e-15) return 0;
    }
    return 0;
}

/* nibabel io_orientation on the orthogonal factor R. */
static int nifti__axes(double R[3][3], int axis_of[3], int sign_of[3]) {
    for (int a = 0; a < 3; a++) {
        int best = -1;
        double bv = 1e-8;   /* np.allclose(col, 0) */
        for (int r = 0; r < 3; r++)
            if (fabs(R[r][a]) > bv) { bv = fabs(R[r][a]); best = r; }
        if (best < 0) return -1;
        axis_of[a] = best;
        sign_of[a] = R[best][a] < 0 ? -1 : 1;
        for (int c = 0; c < 3; c++) R[best][c] = 0;
    }
    return 0;
}

const char *nifti_orientation(const NiftiHeader *h, int axis_of[3], int sign_of[3], char codes[4]) {
    static const char pos[3] = {'R', 'A', 'S'}, neg[3] = {'L', 'P', 'I'};
    const char *src = "voxel";
    double R[3][3];
    int ok = 0;
    if (h->sform_code > 0) {
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++) R[r][c] = h->srow[r][c];
        ok = nifti__polar(R) == 0 && nifti__axes(R, axis_of, sign_of) == 0;
        src = "sform";
    }
    if (!ok && h->qform_code > 0) {
        nifti__quat_to_mat(h->quatern, R);
        if (h->pixdim[0] == -1.0)
            for (int r = 0; r < 3; r++) R[r][2] = -R[r][2];
        ok = nifti__polar(R) == 0 && nifti__axes(R, axis_of, sign_of) == 0;
        src = "qform";
    }
    if (!ok) {
        for (int a = 0; a < 3; a++) { axis_of[a] = a; sign_of[a] = 1; }
        src = "voxel";
    }
    for (int a = 0; a < 3; a++) codes[a] = sign_of[a] > 0 ? pos[axis_of[a]] : neg[axis_of[a]];
    codes[3] = 0;
    return src;
}

/* ---- slices ---- */

/* "axial[:k]" etc. -> canonical axis (2, 1, 0) and index (-1 = middle). */
static int nifti__slice_spec(const char *spec, int *axis, long *index) {
    static const char *names[3] = {"sagittal", "coronal", "axial"};
    if (!spec || !*spec) spec = "axial";
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    *axis = -1;
    for (int a = 0; a < 3; a++)
        if (strlen(names[a]) == n && strncmp(spec, names[a], n) == 0) *axis = a;
    if (*axis < 0) return -1;
    *index = -1;
    if (!colon) return 0;
    char *end;
    const char *digits = colon + 1;
    if (*digits < '0' || *digits > '9') return -1;
    *index = strtol(digits, &end, 10);
    return *end == 0 && *index >= 0 ? 0 : -1;
}

int nifti_slice(const NiftiFile *f, const char *spec, int vol, double **out, int *h, int *w,
                NiftiSliceInfo *info, char *err, size_t errlen) {
    if (!err) errlen = 0;
    *out = NULL; *h = *w = 0;
    int plane;
    long index;
    if (nifti__slice_spec(spec, &plane, &index) < 0)
        return err_fail(err, errlen, "nifti: bad slice '%s' (expected axial|coronal|sagittal[:INDEX])", spec);
    if (vol < 0 || vol >= f->h.nvol)
        return err_fail(err, errlen, "nifti: volume %d out of range (the file has %lld)", vol, (long long)f->h.nvol);
    int axis_of[3], sign_of[3];
    char codes[4];
    const char *src = nifti_orientation(&f->h, axis_of, sign_of, codes);
    int64_t ncanon[3];
    for (int a = 0; a < 3; a++) ncanon[axis_of[a]] = f->h.dim[a + 1];
    if (index < 0) index = (long)(ncanon[plane] / 2);
    if (index >= ncanon[plane])
        return err_fail(err, errlen, "nifti: slice %ld out of range (the %s axis has %lld)", index, spec,
                        (long long)ncanon[plane]);
    /* display rows run down the row axis, columns down the column axis, both reversed (radiological) */
    int row_axis = plane == 2 ? 1 : 2, col_axis = plane == 0 ? 1 : 0;
    int64_t nr = ncanon[row_axis], nc = ncanon[col_axis];   /* nr * nc <= nvox, already bounded */
    double *s = malloc((size_t)(nr * nc) * sizeof(double));
    if (!s) return err_fail(err, errlen, "nifti: out of memory for a %lld x %lld slice", (long long)nr, (long long)nc);
    int64_t stride[3] = {1, f->h.dim[1], f->h.dim[1] * f->h.dim[2]};
    int64_t base = (int64_t)vol * f->h.nvox;
    for (int64_t r = 0; r < nr; r++)
        for (int64_t c = 0; c < nc; c++) {
            int64_t canon[3];
            canon[plane] = index;
            canon[row_axis] = nr - 1 - r;
            canon[col_axis] = nc - 1 - c;
            int64_t lin = base;
            for (int a = 0; a < 3; a++) {
                int64_t k = canon[axis_of[a]];
                lin += (sign_of[a] > 0 ? k : f->h.dim[a + 1] - 1 - k) * stride[a];
            }
            s[r * nc + c] = nifti_voxel(f, (size_t)lin);
        }
    *out = s; *h = (int)nr; *w = (int)nc;
    if (info) {
        info->axis = plane; info->index = (int)index; info->count = (int)ncanon[plane];
        info->volume = vol; info->nvol = (int)(f->h.nvol < INT32_MAX ? f->h.nvol : INT32_MAX);
        memcpy(info->axcodes, codes, 4);
        info->orient_source = src;
    }
    return 0;
}

/* ---- window ---- */

static void nifti__set_window(NiftiWindow *u, const char *kind, double lo, double hi) {
    snprintf(u->kind, sizeof u->kind, "%s", kind);
    u->lo = lo; u->hi = hi;
    u->center = (lo + hi) / 2 + 0.5;
    u->width = hi - lo + 1;
}

/* DICOM linear VOI LUT (PS3.3 C.11.2.1.2.1) into [0,1]. */
/* y clamped to [0,1]; NaN -> 0. The formulas below stay inside [0,1]
   mathematically; near DBL_MAX a difference can overflow (found by
   tests/fuzz: scl_slope 5e281), and the clamp keeps the promise. */
static float nifti__unit(double y) {
    if (!(y > 0)) return 0.0f;
    return y < 1 ? (float)y : 1.0f;
}

static float nifti__voi(double x, double c, double wd) {
    if (x <= c - 0.5 - (wd - 1) / 2) return 0.0f;
    if (x > c - 0.5 + (wd - 1) / 2) return 1.0f;
    return nifti__unit((x - (c - 0.5)) / (wd - 1) + 0.5);
}

/* (x - lo) / (hi - lo) for lo < x < hi; halved when hi - lo overflows. */
static float nifti__ramp(double x, double lo, double hi) {
    if (x <= lo) return 0.0f;
    if (x >= hi) return 1.0f;
    if (isfinite(hi - lo)) return nifti__unit((x - lo) / (hi - lo));
    return nifti__unit((x / 2 - lo / 2) / (hi / 2 - lo / 2));
}

/* "C,W" -> center and width; -1 if it is not two finite numbers. */
static int nifti__parse_cw(const char *spec, double *c, double *wd) {
    char *end;
    *c = strtod(spec, &end);
    if (end == spec || *end != ',') return -1;
    const char *p = end + 1;
    *wd = strtod(p, &end);
    if (end == p || *end != 0 || !isfinite(*c) || !isfinite(*wd)) return -1;
    return 0;
}

int nifti_window(const double *x, size_t n, const char *spec, double cal_min, double cal_max,
                 float *out, NiftiWindow *used, char *err, size_t errlen) {
    if (!err) errlen = 0;
    NiftiWindow u;
    memset(&u, 0, sizeof u);
    if (!spec || !*spec) spec = "auto";
    int is_auto = strcmp(spec, "auto") == 0;
    if (is_auto && isfinite(cal_min) && isfinite(cal_max) && cal_max > cal_min) {
        nifti__set_window(&u, "cal", cal_min, cal_max);
    } else if (is_auto || strcmp(spec, "minmax") == 0) {
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            if (!isfinite(x[i])) continue;   /* NaN -> 0, -inf -> 0, +inf -> 1 below */
            if (x[i] < lo) lo = x[i];
            if (x[i] > hi) hi = x[i];
        }
        if (lo > hi) lo = hi = 0;   /* empty, or nothing finite */
        nifti__set_window(&u, "minmax", lo, hi);
    } else {
        double c, wd;
        if (nifti__parse_cw(spec, &c, &wd) < 0 || wd < 1)
            return err_fail(err, errlen, "window '%s': expected \"auto\", \"minmax\" or \"C,W\" with W >= 1", spec);
        snprintf(u.kind, sizeof u.kind, "center-width");
        u.center = c; u.width = wd;
        u.lo = c - 0.5 - (wd - 1) / 2;
        u.hi = c - 0.5 + (wd - 1) / 2;
    }
    int cw = strcmp(u.kind, "center-width") == 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i])) { out[i] = 0.0f; continue; }
        if (cw) out[i] = nifti__voi(x[i], u.center, u.width);
        else out[i] = u.hi > u.lo ? nifti__ramp(x[i], u.lo, u.hi) : 0.0f;
    }
    if (used) *used = u;
    return 0;
}
