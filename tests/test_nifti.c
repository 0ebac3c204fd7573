/* test_nifti.c - tests of io/nifti.c and the NIfTI path of image_load:
   decoded values equal nibabel's get_fdata() bit for bit (SHA-256 of the
   whole float64 array and sample voxels), orientation codes equal
   aff2axcodes, display slices equal nibabel's as_closest_canonical slice
   shown radiologically (SHA-256 of the float64 rows) and their windows
   (SHA-256 of the float32 pixels); then hostile headers and gzip streams,
   each refused with a message naming the reason.
   Reference data: tests/data/nifti/golden.json, made by tools/make_nifti_golden.py. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "io/file.h"
#include "io/image.h"
#include "io/json.h"
#include "io/nifti.h"
#include "io/sha256.h"
#include "tests/check.h"

#define DATA "tests/data/nifti/"

static uint8_t *read_all(const char *path, size_t *len) {
    uint8_t *buf = NULL;
    char err[512];
    if (io_read_file(path, (size_t)1 << 28, &buf, len, err, sizeof err) < 0) { printf("# %s\n", err); return NULL; }
    return buf;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* golden comparisons                                                  */

static void check_header(const char *file, const NiftiFile *f, const JsonValue *g) {
    char name[160];
    const JsonValue *shape = json_get(g, "shape");
    int ok = f->h.ndim == (int)json_len(shape);
    for (size_t i = 0; ok && i < json_len(shape); i++) ok = f->h.dim[i + 1] == (int64_t)json_number(json_at(shape, i));
    snprintf(name, sizeof name, "nifti.%s.shape_%dd", file, f->h.ndim);
    CHECK(ok, name, "dims %lld %lld %lld %lld differ from nibabel's", (long long)f->h.dim[1], (long long)f->h.dim[2],
          (long long)f->h.dim[3], (long long)f->h.dim[4]);
    double slope = f->h.scaled ? f->h.scl_slope : 1.0, inter = f->h.scaled ? f->h.scl_inter : 0.0;
    snprintf(name, sizeof name, "nifti.%s.header_v%d_%s_%s_scl(%g,%g)", file, f->h.version, f->h.swapped ? "BE" : "LE",
             nifti_type_name(f->h.datatype), slope, inter);
    CHECK(f->h.version == (int)json_number(json_get(g, "version")) &&
          f->h.swapped == json_bool(json_get(g, "big_endian")) &&
          strcmp(nifti_type_name(f->h.datatype), json_string(json_get(g, "datatype"))) == 0 &&
          f->h.vox_offset == (int64_t)json_number(json_get(g, "vox_offset")) &&
          slope == json_number(json_get(g, "scl_slope")) && inter == json_number(json_get(g, "scl_inter")) &&
          f->h.cal_min == json_number(json_get(g, "cal_min")) && f->h.cal_max == json_number(json_get(g, "cal_max")),
          name, "offset %lld, cal %g %g differ from nibabel's", (long long)f->h.vox_offset, f->h.cal_min, f->h.cal_max);
    int axis_of[3], sign_of[3];
    char codes[4];
    const char *src = nifti_orientation(&f->h, axis_of, sign_of, codes);
    snprintf(name, sizeof name, "nifti.%s.axcodes_%s_from_%s", file, codes, src);
    CHECK(strcmp(codes, json_string(json_get(g, "axcodes"))) == 0, name, "nibabel says %s",
          json_string(json_get(g, "axcodes")));
}

static void check_values(const char *file, const NiftiFile *f, const JsonValue *g) {
    char name[160], hex[65];
    size_t n = (size_t)(f->h.nvox * f->h.nvol);
    double *v = malloc(n * sizeof(double));
    nifti_read_f64(f, 0, n, v);
    sha256_hex(v, n * sizeof(double), hex);
    snprintf(name, sizeof name, "nifti.%s.get_fdata_bits_%zu_voxels", file, n);
    CHECK(strcmp(hex, json_string(json_get(g, "data_sha256"))) == 0, name, "SHA-256 %s differs from nibabel's", hex);
    const JsonValue *s = json_get(g, "samples");
    int ok = 1;
    size_t bad = 0;
    for (size_t i = 0; i < json_len(s); i++) {
        size_t k = (size_t)json_number(json_at(json_at(s, i), 0));
        if (k >= n || v[k] != json_number(json_at(json_at(s, i), 1))) { ok = 0; bad = k; }
    }
    snprintf(name, sizeof name, "nifti.%s.samples_exact", file);
    CHECK(ok, name, "voxel %zu: %.17g", bad, bad < n ? v[bad] : 0.0);
    free(v);
}

static void check_slice(const char *file, const NiftiFile *f, const JsonValue *sl) {
    char name[200], hex[65];
    const char *spec = json_string(json_get(sl, "spec"));
    int vol = (int)json_number(json_get(sl, "volume"));
    double *s;
    int h, w;
    NiftiSliceInfo si;
    char err[512];
    snprintf(name, sizeof name, "nifti.%s.slice_%s_vol%d", file, spec, vol);
    if (nifti_slice(f, spec, vol, &s, &h, &w, &si, err, sizeof err) < 0) { CHECK(0, name, "%s", err); return; }
    sha256_hex(s, (size_t)h * (size_t)w * sizeof(double), hex);
    int ok = h == (int)json_number(json_get(sl, "h")) && w == (int)json_number(json_get(sl, "w")) &&
             si.index == (int)json_number(json_get(sl, "index")) && strcmp(hex, json_string(json_get(sl, "sha256"))) == 0;
    snprintf(name + strlen(name), sizeof name - strlen(name), "_%dx%d_index%d_bits", h, w, si.index);
    CHECK(ok, name, "got %d x %d index %d sha %s; first %.17g (nibabel %.17g)", h, w, si.index, hex, s[0],
          json_number(json_at(json_get(sl, "first"), 0)));
    float *px = malloc((size_t)h * (size_t)w * sizeof(float));
    NiftiWindow win;
    const char *wspec = json_string(json_get(sl, "window"));
    int rc = nifti_window(s, (size_t)h * (size_t)w, wspec, f->h.cal_min, f->h.cal_max, px, &win, err, sizeof err);
    sha256_hex(px, (size_t)h * (size_t)w * sizeof(float), hex);
    snprintf(name, sizeof name, "nifti.%s.window_%s_%s_%s[%g,%g]", file, spec, wspec, win.kind, win.lo, win.hi);
    CHECK(rc == 0 && strcmp(win.kind, json_string(json_get(sl, "window_kind"))) == 0 &&
          win.lo == json_number(json_get(sl, "lo")) && win.hi == json_number(json_get(sl, "hi")) &&
          strcmp(hex, json_string(json_get(sl, "window_sha256"))) == 0,
          name, "rc %d kind %s lo %.17g hi %.17g sha %s", rc, win.kind, win.lo, win.hi, hex);
    free(px);
    free(s);
}

/* image_load's default (middle axial, volume 0, auto window) is the golden's first slice. */
static void check_image_load(const char *file, const char *path, const JsonValue *g) {
    char name[160], err[512], hex[65];
    const JsonValue *sl = json_at(json_get(g, "slices"), 0);
    Image im;
    ImageLoadInfo info;
    int rc = image_load_opts(path, NULL, &im, &info, err, sizeof err);
    snprintf(name, sizeof name, "nifti.%s.image_load_default_%s_%s", file, info.slice, info.window_kind);
    if (rc < 0) { CHECK(0, name, "%s", err); return; }
    sha256_hex(im.data, (size_t)im.h * (size_t)im.w * sizeof(float), hex);
    char expect_slice[32];
    snprintf(expect_slice, sizeof expect_slice, "axial:%d", (int)json_number(json_get(sl, "index")));
    CHECK(im.c == 1 && strcmp(hex, json_string(json_get(sl, "window_sha256"))) == 0 &&
          strcmp(info.slice, expect_slice) == 0 && strcmp(info.orientation, json_string(json_get(g, "axcodes"))) == 0 &&
          info.lo == json_number(json_get(sl, "lo")) && strncmp(info.format, "nifti", 5) == 0,
          name, "c %d slice %s orientation %s sha %s", im.c, info.slice, info.orientation, hex);
    image_free(&im);
}

static long f_nvol_from_shape(const JsonValue *shape) {
    long n = 1;
    for (size_t i = 3; i < json_len(shape); i++) n *= (long)json_number(json_at(shape, i));
    return n;
}

/* image_load_opts with the golden's second slice (coronal, last volume, minmax). */
static void check_image_opts(const char *file, const char *path, const JsonValue *g) {
    char name[160], err[512], hex[65];
    const JsonValue *sl = json_at(json_get(g, "slices"), 1);
    ImageLoadOpts o = {0};
    o.slice = json_string(json_get(sl, "spec"));
    o.volume = (int)json_number(json_get(sl, "volume"));
    o.window = json_string(json_get(sl, "window"));
    Image im;
    ImageLoadInfo info;
    int rc = image_load_opts(path, &o, &im, &info, err, sizeof err);
    snprintf(name, sizeof name, "nifti.%s.image_load_opts_%s_vol%d_%s", file, o.slice, o.volume, o.window);
    if (rc < 0) { CHECK(0, name, "%s", err); return; }
    sha256_hex(im.data, (size_t)im.h * (size_t)im.w * sizeof(float), hex);
    CHECK(strcmp(hex, json_string(json_get(sl, "window_sha256"))) == 0 && info.volume == o.volume &&
          info.nvolumes == (int)(f_nvol_from_shape(json_get(g, "shape"))) && strcmp(info.window_kind, "minmax") == 0 &&
          info.center == (info.lo + info.hi) / 2 + 0.5 && info.width == info.hi - info.lo + 1,
          name, "sha %s volume %d/%d kind %s", hex, info.volume, info.nvolumes, info.window_kind);
    image_free(&im);
}

static void test_golden(void) {
    size_t len;
    uint8_t *txt = read_all(DATA "golden.json", &len);
    char err[512];
    JsonValue *root = txt ? json_parse((const char *)txt, len, err, sizeof err) : NULL;
    CHECK(root != NULL, "nifti.golden_json", "cannot read " DATA "golden.json (run tools/make_nifti_golden.py)");
    free(txt);
    if (!root) return;
    const JsonValue *files = json_get(root, "files");
    for (size_t i = 0; i < json_len(files); i++) {
        const JsonValue *g = json_at(files, i);
        const char *file = json_string(json_get(g, "file"));
        char path[256];
        snprintf(path, sizeof path, DATA "%s", file);
        uint8_t *buf = read_all(path, &len);
        NiftiFile f;
        char name[160];
        snprintf(name, sizeof name, "nifti.%s.parse", file);
        int rc = buf ? nifti_parse(buf, len, path, 0, &f, err, sizeof err) : -1;
        CHECK(rc == 0, name, "%s", buf ? err : "unreadable");
        if (rc == 0) {
            check_header(file, &f, g);
            check_values(file, &f, g);
            const JsonValue *slices = json_get(g, "slices");
            for (size_t k = 0; k < json_len(slices); k++) check_slice(file, &f, json_at(slices, k));
            nifti_free(&f);
            check_image_load(file, path, g);
            check_image_opts(file, path, g);
        }
        free(buf);
    }
    json_free(root);
}

/* ------------------------------------------------------------------ */
/* orientation by hand: voxel axes RAS (no transform)                  */

/* gen_uint16_noxform.nii has no transform: stored axes are R, A, S, so the
   radiological axial slice has voxel (nx-1, ny-1, k) (right, anterior) at
   the top left and (0, 0, k) at the bottom right. */
static void test_radiological_by_hand(void) {
    size_t len;
    uint8_t *buf = read_all(DATA "gen_uint16_noxform.nii", &len);
    NiftiFile f;
    char err[512];
    if (!buf || nifti_parse(buf, len, "noxform", 0, &f, err, sizeof err) < 0) {
        CHECK(0, "nifti.radiological_by_hand", "cannot parse");
        free(buf);
        return;
    }
    int64_t nx = f.h.dim[1], ny = f.h.dim[2], k = f.h.dim[3] / 2;
    double *s;
    int h, w;
    nifti_slice(&f, NULL, 0, &s, &h, &w, NULL, err, sizeof err);
    double tl = nifti_voxel(&f, (size_t)((nx - 1) + nx * (ny - 1) + nx * ny * k));
    double br = nifti_voxel(&f, (size_t)(nx * ny * k));
    CHECK(h == ny && w == nx && s[0] == tl && s[(size_t)h * w - 1] == br, "nifti.radiological_by_hand",
          "top-left %g (want %g), bottom-right %g (want %g)", s[0], tl, s[(size_t)h * w - 1], br);
    free(s);
    nifti_free(&f);
    free(buf);
}

/* ------------------------------------------------------------------ */
/* windows                                                             */

static void test_windows(void) {
    const double x[6] = {-10, 49.5, 50, 75, 100.5, NAN};
    float y[6];
    NiftiWindow u;
    char err[256];
    /* C=50.5, W=51: lo = 25, hi = 75 */
    int rc = nifti_window(x, 6, "50.5,51", 0, 0, y, &u, err, sizeof err);
    double e2 = (50 - 50.0) / 50 + 0.5;
    CHECK(rc == 0 && y[0] == 0 && y[1] == (float)((49.5 - 50.0) / 50 + 0.5) && y[2] == (float)e2 && y[3] == 1.0f &&
          y[4] == 1 && y[5] == 0 && u.lo == 25 && u.hi == 75 && strcmp(u.kind, "center-width") == 0,
          "nifti.window_dicom_formula", "%g %g %g %g %g %g lo %g hi %g", y[0], y[1], y[2], y[3], y[4], y[5], u.lo, u.hi);
    rc = nifti_window(x, 6, "50,1", 0, 0, y, &u, err, sizeof err);   /* W = 1: a threshold at 49.5 */
    CHECK(rc == 0 && y[0] == 0 && y[1] == 0 && y[2] == 1 && y[3] == 1, "nifti.window_width_1_threshold",
          "%g %g %g %g", y[0], y[1], y[2], y[3]);
    rc = nifti_window(x, 6, NULL, 0, 100, y, &u, err, sizeof err);
    CHECK(rc == 0 && strcmp(u.kind, "cal") == 0 && y[2] == 0.5f && y[0] == 0 && y[4] == 1 && u.center == 50.5 &&
          u.width == 101, "nifti.window_auto_cal", "kind %s %g %g", u.kind, y[2], u.center);
    rc = nifti_window(x, 6, "auto", 5, 5, y, &u, err, sizeof err);
    CHECK(rc == 0 && strcmp(u.kind, "minmax") == 0 && u.lo == -10 && u.hi == 100.5 && y[0] == 0 && y[4] == 1,
          "nifti.window_auto_minmax_nan_ignored", "kind %s lo %g hi %g", u.kind, u.lo, u.hi);
    const double flat[3] = {7, 7, 7};
    rc = nifti_window(flat, 3, "minmax", 0, 0, y, &u, err, sizeof err);
    CHECK(rc == 0 && y[0] == 0 && y[2] == 0, "nifti.window_constant_is_0", "%g", y[0]);
    const char *bad[] = {"abc", "10,0.5", "10,", ",5", "1e999,5", "10,5,3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char name[64];
        err[0] = 0;
        rc = nifti_window(x, 6, bad[i], 0, 0, y, &u, err, sizeof err);
        snprintf(name, sizeof name, "nifti.window_refused_'%s'", bad[i]);
        CHECK(rc < 0 && strstr(err, "window"), name, "rc %d err '%s'", rc, err);
    }
}

/* Regression (tests/fuzz): huge values made (x - lo) / (hi - lo) inf / inf
   and the DICOM formula overflow, giving pixels outside [0,1]. */
static int all_unit(const float *y, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!(y[i] >= 0.0f && y[i] <= 1.0f)) return 0;
    return 1;
}

static void test_window_extremes(void) {
    const double x[6] = {-INFINITY, -1e308, 5, 1e308, INFINITY, NAN};
    float y[6];
    NiftiWindow u;
    char err[256];
    int rc = nifti_window(x, 6, "minmax", 0, 0, y, &u, err, sizeof err);
    CHECK(rc == 0 && all_unit(y, 6) && y[0] == 0 && y[1] == 0 && y[2] == 0.5f && y[3] == 1 && y[4] == 1 && y[5] == 0 &&
          u.lo == -1e308 && u.hi == 1e308, "nifti.window_minmax_near_dbl_max",
          "%g %g %g %g %g %g lo %g hi %g", y[0], y[1], y[2], y[3], y[4], y[5], u.lo, u.hi);
    rc = nifti_window(x, 6, "-1e308,1.7e308", 0, 0, y, &u, err, sizeof err);
    CHECK(rc == 0 && all_unit(y, 6), "nifti.window_dicom_near_dbl_max", "%g %g %g %g %g", y[0], y[1], y[2], y[3], y[4]);
    /* the fuzzer's file: NIfTI-2 float32, scl_slope -5.4e281, every slice and window in [0,1] */
    size_t len;
    uint8_t *buf = read_all(DATA "fuzz_window_overflow.nii", &len);
    NiftiFile f;
    int ok = buf && nifti_parse(buf, len, "fuzz", 0, &f, err, sizeof err) == 0;
    const char *specs[3] = {"axial", "coronal", "sagittal"}, *wins[3] = {"auto", "minmax", "40,80"};
    for (int i = 0; ok && i < 3; i++)
        for (int v = 0; ok && v < f.h.nvol; v++) {
            double *s;
            int h, w;
            ok = nifti_slice(&f, specs[i], v, &s, &h, &w, NULL, err, sizeof err) == 0;
            float *px = ok ? malloc((size_t)h * w * sizeof(float)) : NULL;
            for (int k = 0; ok && k < 3; k++)
                ok = nifti_window(s, (size_t)h * w, wins[k], f.h.cal_min, f.h.cal_max, px, &u, err, sizeof err) == 0 &&
                     all_unit(px, (size_t)h * w);
            free(px);
            if (ok) free(s);
        }
    CHECK(ok, "nifti.fuzz_regression_window_overflow", "a pixel left [0,1] (%s)", err);
    if (buf && f.data) nifti_free(&f);
    free(buf);
}

/* ------------------------------------------------------------------ */
/* hostile input                                                       */

static void put16(uint8_t *b, size_t off, int v) { b[off] = (uint8_t)v; b[off + 1] = (uint8_t)(v >> 8); }
static void put32f(uint8_t *b, size_t off, float v) { memcpy(b + off, &v, 4); }   /* little-endian host */
static void put64(uint8_t *b, size_t off, int64_t v) { memcpy(b + off, &v, 8); }

/* Parses b and expects an error containing frag and the file name. */
static void expect_refused(const char *name, const uint8_t *b, size_t len, size_t cap, const char *frag) {
    NiftiFile f;
    char err[512] = "", full[160];
    int rc = nifti_parse(b, len, "hostile.nii", cap, &f, err, sizeof err);
    snprintf(full, sizeof full, "nifti.refuses_%s", name);
    CHECK(rc < 0 && strstr(err, frag) && strstr(err, "hostile.nii"), full, "rc %d, message '%s' (want '%s')", rc, err, frag);
    if (rc == 0) nifti_free(&f);
    else printf("#   %s\n", err);
}

/* gzip (RFC 1952) of head followed by zeros zero bytes, level 9. */
static uint8_t *gz_of(const uint8_t *head, size_t n, size_t zeros, size_t *out_len) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    size_t cap = n + zeros / 512 + 65536;
    uint8_t *out = malloc(cap), *zero = calloc(1, 1 << 20);
    z.next_out = out;
    z.avail_out = (uInt)cap;
    z.next_in = (Bytef *)head;
    z.avail_in = (uInt)n;
    deflate(&z, Z_NO_FLUSH);
    while (zeros > 0) {
        size_t k = zeros < (1u << 20) ? zeros : (1u << 20);
        z.next_in = zero;
        z.avail_in = (uInt)k;
        deflate(&z, Z_NO_FLUSH);
        zeros -= k;
    }
    deflate(&z, Z_FINISH);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    free(zero);
    return out;
}

static void test_hostile_v1(void) {
    size_t len;
    uint8_t *base = read_all(DATA "gen_int16_scl_qform.nii", &len);
    if (!base) { CHECK(0, "nifti.hostile_base", "missing"); return; }
    uint8_t *b = malloc(len);
#define MUTATE(stmt) do { memcpy(b, base, len); stmt; } while (0)
    MUTATE(b[344] = 'x');
    expect_refused("wrong_magic", b, len, 0, "bad magic");
    MUTATE(memcpy(b + 344, "ni1", 4));
    expect_refused("two_file_magic", b, len, 0, "two-file");
    MUTATE(put16(b, 0, 349));
    expect_refused("sizeof_hdr", b, len, 0, "not a NIfTI file");
    MUTATE(put16(b, 40, 0));
    expect_refused("dim0_zero", b, len, 0, "1..7");
    MUTATE(put16(b, 40, 9));
    expect_refused("dim0_nine", b, len, 0, "1..7");
    MUTATE(put16(b, 44, -5));
    expect_refused("negative_dim", b, len, 0, "must be positive");
    MUTATE(put16(b, 44, 0));
    expect_refused("zero_dim", b, len, 0, "must be positive");
    MUTATE(for (int i = 0; i < 7; i++) put16(b, 42 + 2 * i, 32767); put16(b, 40, 7));
    expect_refused("dims_overflow", b, len, 0, "exceed");
    MUTATE(put32f(b, 108, 1e6f));
    expect_refused("vox_offset_beyond_file", b, len, 0, "truncated");
    MUTATE(put32f(b, 108, 3e9f));
    expect_refused("vox_offset_beyond_cap", b, len, 0, "vox_offset");
    MUTATE(put32f(b, 108, 100.0f));
    expect_refused("vox_offset_inside_header", b, len, 0, "vox_offset");
    MUTATE(put32f(b, 108, NAN));
    expect_refused("vox_offset_nan", b, len, 0, "vox_offset");
    MUTATE(put32f(b, 108, -352.0f));
    expect_refused("vox_offset_negative", b, len, 0, "vox_offset");
    MUTATE(put16(b, 70, 32));
    expect_refused("datatype_complex64", b, len, 0, "complex64");
    MUTATE(put16(b, 70, 128));
    expect_refused("datatype_rgb24", b, len, 0, "rgb24");
    MUTATE(put16(b, 70, 3));
    expect_refused("datatype_unknown", b, len, 0, "unknown datatype code 3");
    MUTATE(put32f(b, 116, INFINITY));
    expect_refused("scl_inter_inf", b, len, 0, "scl_inter");
    MUTATE((void)0);
    expect_refused("truncated_data", b, len - 1, 0, "truncated");
    expect_refused("truncated_header", b, 200, 0, "inside the NIfTI-1 header");
    expect_refused("tiny_file", b, 3, 0, "not a NIfTI file");
    expect_refused("empty_file", b, 0, 0, "empty");
    MUTATE(b[348] = 1; put32f(b, 108, 0.0f));
    expect_refused("extensions_without_offset", b, len, 0, "extensions");
    /* slope 0 or NaN: no scaling (nibabel); the values are the raw integers */
    MUTATE(put32f(b, 112, 0.0f));
    NiftiFile f;
    char err[512];
    int rc = nifti_parse(b, len, "slope0", 0, &f, err, sizeof err);
    int16_t raw0 = (int16_t)(b[352] | b[353] << 8);
    CHECK(rc == 0 && !f.h.scaled && nifti_voxel(&f, 0) == raw0, "nifti.slope_0_means_unscaled", "rc %d value %g raw %d",
          rc, rc == 0 ? nifti_voxel(&f, 0) : 0, raw0);
    if (rc == 0) nifti_free(&f);
    /* slice and volume requests out of range */
    rc = nifti_parse(base, len, "ok", 0, &f, err, sizeof err);
    if (rc == 0) {
        const char *bad[] = {"axial:99", "diagonal", "axial:-1", "axial:3x", "axial:", "coronal:7", "sagittal:5"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            double *s = NULL;
            int h, w;
            char name[64];
            err[0] = 0;
            int r = nifti_slice(&f, bad[i], 0, &s, &h, &w, NULL, err, sizeof err);
            snprintf(name, sizeof name, "nifti.slice_refused_'%s'", bad[i]);
            CHECK(r < 0 && s == NULL && strstr(err, "slice"), name, "rc %d err '%s'", r, err);
            free(s);
        }
        double *s = NULL;
        int h, w;
        int r = nifti_slice(&f, "axial", 1, &s, &h, &w, NULL, err, sizeof err);
        CHECK(r < 0 && strstr(err, "volume 1"), "nifti.volume_out_of_range", "rc %d err '%s'", r, err);
        free(s);
        nifti_free(&f);
    }
    /* image_load: a .nii that is not NIfTI gets a NIfTI message naming the file */
    char tmp[] = "/tmp/salient_nifti_XXXXXX.nii";
    int fd = mkstemps(tmp, 4);
    if (fd >= 0) {
        MUTATE(b[344] = 'x');
        ssize_t wr = write(fd, b, len);
        close(fd);
        Image im;
        err[0] = 0;
        rc = image_load(tmp, &im, err, sizeof err);
        CHECK(wr == (ssize_t)len && rc < 0 && strstr(err, tmp) && strstr(err, "bad magic"), "nifti.image_load_names_file",
              "rc %d err '%s'", rc, err);
        if (rc == 0) image_free(&im);
        ImageLoadOpts o = {0};
        o.slice = "axial:99";
        rc = image_load_opts(DATA "gen_int16_scl_qform.nii", &o, &im, NULL, err, sizeof err);
        CHECK(rc < 0 && strstr(err, "gen_int16_scl_qform.nii") && strstr(err, "slice 99"),
              "nifti.image_load_opts_bad_slice_names_file", "rc %d err '%s'", rc, err);
        if (rc == 0) image_free(&im);
        unlink(tmp);
    }
#undef MUTATE
    free(b);
    free(base);
}

static void test_hostile_v2(void) {
    size_t len;
    uint8_t *base = read_all(DATA "gen_float32_n2_4d.nii", &len);
    if (!base) { CHECK(0, "nifti.hostile_base_v2", "missing"); return; }
    uint8_t *b = malloc(len);
#define MUTATE(stmt) do { memcpy(b, base, len); stmt; } while (0)
    MUTATE(b[8] = 'x');
    expect_refused("v2_damaged_eol", b, len, 0, "line-ending");
    MUTATE(b[4] = 'x');
    expect_refused("v2_wrong_magic", b, len, 0, "bad magic");
    MUTATE(for (int i = 1; i <= 3; i++) put64(b, 16 + 8 * i, (int64_t)1 << 62));
    expect_refused("v2_dims_overflow_2^186", b, len, 0, "exceed");
    MUTATE(put64(b, 16 + 8 * 2, -1));
    expect_refused("v2_negative_dim", b, len, 0, "must be positive");
    MUTATE(put64(b, 16 + 8 * 2, INT64_MIN));
    expect_refused("v2_int64_min_dim", b, len, 0, "must be positive");
    MUTATE(put64(b, 168, INT64_MAX));
    expect_refused("v2_vox_offset_int64_max", b, len, 0, "vox_offset");
    MUTATE(put64(b, 168, 4096));
    expect_refused("v2_vox_offset_beyond_file", b, len, 0, "truncated");
    MUTATE(put64(b, 168, 0));
    NiftiFile f;
    char err[512];
    int rc = nifti_parse(b, len, "off0", 0, &f, err, sizeof err);
    CHECK(rc == 0 && f.h.vox_offset == 544, "nifti.v2_vox_offset_0_means_544", "rc %d offset %lld %s", rc,
          (long long)f.h.vox_offset, rc ? err : "");
    if (rc == 0) nifti_free(&f);
    MUTATE(memset(b + 8, 0, 4));
    rc = nifti_parse(b, len, "eol0", 0, &f, err, sizeof err);
    CHECK(rc == 0, "nifti.v2_zero_eol_accepted", "%s", err);
    if (rc == 0) nifti_free(&f);
#undef MUTATE
    free(b);
    free(base);
}

static void test_hostile_gzip(void) {
    size_t len, glen;
    uint8_t *base = read_all(DATA "gen_uint8_cal.nii.gz", &len);
    uint8_t *raw = read_all(DATA "gen_int16_scl_qform.nii", &glen);
    if (!base || !raw) { CHECK(0, "nifti.hostile_gz_base", "missing"); free(base); free(raw); return; }
    expect_refused("gz_truncated_stream", base, len / 2, 0, "truncated");
    expect_refused("gz_header_only", base, 12, 0, "");
    uint8_t *b = malloc(len);
    memcpy(b, base, len);
    for (size_t i = 20; i < 60 && i < len; i++) b[i] ^= 0x5A;
    expect_refused("gz_corrupt_deflate", b, len, 0, "");
    free(b);
    /* gzip of something that is not NIfTI */
    const char *text = "hello, this is not a NIfTI file but plain text that gzip carries";
    uint8_t *g = gz_of((const uint8_t *)text, strlen(text), 1000, &glen);
    expect_refused("gz_not_nifti", g, glen, 0, "not a NIfTI file");
    free(g);
    /* bombs: header declares 2048^3 uint8 = 8 GiB (beyond the default 1 GiB cap) */
    uint8_t hdr[352];
    size_t rlen;
    uint8_t *r = read_all(DATA "gen_int16_scl_qform.nii", &rlen);
    memcpy(hdr, r, 352);
    put16(hdr, 70, 2);
    put32f(hdr, 112, 0.0f);
    for (int i = 1; i <= 3; i++) put16(hdr, 40 + 2 * i, 2048);
    g = gz_of(hdr, 352, 1 << 20, &glen);
    double t0 = now_s();
    expect_refused("gz_bomb_declares_8GiB", g, glen, 0, "exceed");
    double dt = now_s() - t0;
    CHECK(dt < 0.05, "nifti.gz_bomb_refused_before_inflating", "%.3f s", dt);
    free(g);
    /* 2 MiB declared, 2 MiB of zeros inflated, against a 1 MiB cap */
    for (int i = 1; i <= 3; i++) put16(hdr, 40 + 2 * i, i == 1 ? 2048 : (i == 2 ? 1024 : 1));
    g = gz_of(hdr, 352, 2u << 20, &glen);
    char name[96];
    snprintf(name, sizeof name, "gz_bomb_%zu_bytes_to_2MiB_cap_1MiB", glen);
    expect_refused(name, g, glen, 1u << 20, "exceed");
    free(g);
    /* header declares 4x4x4 uint8; the stream goes on with 256 MiB of zeros: only 352 + 64 bytes are inflated */
    for (int i = 1; i <= 3; i++) put16(hdr, 40 + 2 * i, 4);
    g = gz_of(hdr, 352, (size_t)256 << 20, &glen);
    NiftiFile f;
    char err[512];
    t0 = now_s();
    int rc = nifti_parse(g, glen, "trailing", 0, &f, err, sizeof err);
    dt = now_s() - t0;
    snprintf(name, sizeof name, "nifti.gz_%zu_bytes_inflating_to_256MiB_reads_only_declared_%.4fs", glen, dt);
    CHECK(rc == 0 && f.data_bytes == 64 && dt < 0.05, name, "rc %d bytes %zu time %.3f %s", rc, rc ? 0 : f.data_bytes,
          dt, rc ? err : "");
    if (rc == 0) nifti_free(&f);
    free(g);
    /* a small stream whose header declares 1 GiB (at the cap): refused as truncated after inflating what is there */
    for (int i = 1; i <= 3; i++) put16(hdr, 40 + 2 * i, 1024);
    g = gz_of(hdr, 352, 4096, &glen);
    expect_refused("gz_declares_1GiB_has_4KiB", g, glen, 0, "truncated");
    free(g);
    /* two gzip members concatenated (header in the first, data in the second) */
    uint8_t *g1 = gz_of(raw, 352, 0, &glen), *g2;
    size_t glen2;
    g2 = gz_of(raw + 352, rlen - 352, 0, &glen2);
    uint8_t *cat = malloc(glen + glen2);
    memcpy(cat, g1, glen);
    memcpy(cat + glen, g2, glen2);
    rc = nifti_parse(cat, glen + glen2, "members", 0, &f, err, sizeof err);
    CHECK(rc == 0 && f.data_bytes == rlen - 352 && memcmp(f.data, raw + 352, rlen - 352) == 0,
          "nifti.gz_concatenated_members", "rc %d %s", rc, rc ? err : "");
    if (rc == 0) nifti_free(&f);
    free(g1); free(g2); free(cat); free(r); free(raw); free(base);
}

int main(void) {
    test_golden();
    test_radiological_by_hand();
    test_windows();
    test_window_extremes();
    test_hostile_v1();
    test_hostile_v2();
    test_hostile_gzip();
    CHECK_DONE();
}
