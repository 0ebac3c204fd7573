/* test_dicom.c - tests of io/dicom.c and io/jpeg_lossless.c and of DICOM
   through image_load: stored values bit for bit against pydicom (via dcmtk
   for JPEG) for every syntax read, JPEG baseline within +-1 of dcmtk, the
   same against dcmtk's dcm2pnm (stored values exactly, JPEG baseline within
   the bound ISO/IEC 10918-2 allows, windows within dcmtk's truncation), the
   rescale and the window against pydicom's apply_voi_lut, MONOCHROME1,
   refusals, and hostile buffers (bounds, nesting, overflow, deflate bomb,
   odd lengths, every truncation and seeded byte flips of real files).
   Reference data: tests/data/dicom/, made by tools/make_dicom_golden.py. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/dicom.h"
#include "io/file.h"
#include "io/image.h"
#include "io/json.h"
#include "io/npy.h"
#include "io/sha256.h"
#include "tests/check.h"

#define DATA "tests/data/dicom/"

static uint8_t *read_data(const char *name, size_t *len) {
    char path[256], err[512];
    uint8_t *buf;
    snprintf(path, sizeof path, DATA "%s", name);
    if (io_read_file(path, (size_t)1 << 26, &buf, len, err, sizeof err) < 0) { printf("# %s\n", err); return NULL; }
    return buf;
}

static void sha_of_int64(const int64_t *v, size_t n, char hex[65]) {
    Sha256 s;
    uint8_t dig[32];
    sha256_init(&s);
    for (size_t i = 0; i < n; i++) {
        uint8_t b[8];
        for (int k = 0; k < 8; k++) b[k] = (uint8_t)((uint64_t)v[i] >> (8 * k));
        sha256_update(&s, b, 8);
    }
    sha256_final(&s, dig);
    sha256_to_hex(dig, hex);
}

/* ------------------------------------------------------------------ */
/* golden files                                                         */

static int header_matches(const DicomFile *d, const JsonValue *e, char *why, size_t n) {
    const char *pi = json_string(json_get(e, "photometric"));
    const JsonValue *slope = json_get(e, "rescale_slope"), *icpt = json_get(e, "rescale_intercept");
    const JsonValue *wc = json_get(e, "window_center"), *ww = json_get(e, "window_width");
    if (d->rows != json_number(json_get(e, "rows")) || d->cols != json_number(json_get(e, "cols")) ||
        d->samples != json_number(json_get(e, "samples")) || d->frames != json_number(json_get(e, "frames")) ||
        d->bits_allocated != json_number(json_get(e, "bits_allocated")) ||
        d->bits_stored != json_number(json_get(e, "bits_stored")) ||
        d->pixel_representation != json_number(json_get(e, "pixel_representation")) || !pi || strcmp(pi, d->photometric) ||
        strcmp(d->transfer_syntax, json_string(json_get(e, "transfer_syntax")))) {
        snprintf(why, n, "header %dx%dx%d, %d frames, bits %d/%d, rep %d, %s, %s", d->rows, d->cols, d->samples, d->frames,
                 d->bits_allocated, d->bits_stored, d->pixel_representation, d->photometric, d->transfer_syntax);
        return 0;
    }
    if (d->slope != (json_type(slope) == JSON_NUMBER ? json_number(slope) : 1.0) ||
        d->intercept != (json_type(icpt) == JSON_NUMBER ? json_number(icpt) : 0.0)) {
        snprintf(why, n, "rescale %g %g", d->slope, d->intercept);
        return 0;
    }
    if (d->has_window != (json_type(wc) == JSON_NUMBER) ||
        (d->has_window && (d->window_center != json_number(wc) || d->window_width != json_number(ww)))) {
        snprintf(why, n, "window %d %g %g", d->has_window, d->window_center, d->window_width);
        return 0;
    }
    return 1;
}

/* Largest |a - ref| over frame f, ref a uint8 (frames, samples, rows, cols) .npy. */
static long max_diff_to_npy(const int64_t *a, size_t n, int f, const char *ref) {
    char path[256], err[256];
    NpyArray r;
    snprintf(path, sizeof path, DATA "%s", ref);
    if (npy_read(path, &r, err, sizeof err) < 0) return -1;
    if (r.dtype != NPY_U8 || r.numel < (size_t)(f + 1) * n) { npy_free(&r); return -1; }
    long worst = 0;
    const uint8_t *want = (const uint8_t *)r.data + (size_t)f * n;
    for (size_t i = 0; i < n; i++) {
        long dlt = labs((long)a[i] - (long)want[i]);
        if (dlt > worst) worst = dlt;
    }
    npy_free(&r);
    return worst;
}

/* The test file parsed; NULL (the failure checked under name) when it is
   unreadable or refused. The returned buffer backs d and is the caller's. */
static uint8_t *parse_data_or_fail(const char *file, const char *name, DicomFile *d) {
    char err[512];
    size_t len;
    uint8_t *buf = read_data(file, &len);
    if (!buf || dicom_parse(buf, len, file, d, err, sizeof err) < 0) {
        CHECK(0, name, "%s", buf ? err : "unreadable");
        free(buf);
        return NULL;
    }
    return buf;
}

static void check_golden_file(const JsonValue *e) {
    const char *file = json_string(json_get(e, "file"));
    char name[200], why[600] = "", err[512];
    snprintf(name, sizeof name, "dicom.golden.%s", file);
    DicomFile d;
    uint8_t *buf = parse_data_or_fail(file, name, &d);
    if (!buf) return;
    int ok = header_matches(&d, e, why, sizeof why);
    const JsonValue *shas = json_get(e, "frame_sha256");
    const char *ref = json_string(json_get(e, "lossy_reference"));
    size_t n = dicom_frame_values(&d);
    int64_t *v = malloc(n * sizeof *v);
    long worst = 0;
    for (int f = 0; ok && f < d.frames; f++) {
        if (dicom_frame_stored(&d, f, v, err, sizeof err) < 0) { ok = 0; snprintf(why, sizeof why, "%s", err); break; }
        if (ref) {
            long wf = max_diff_to_npy(v, n, f, ref);
            worst = wf < 0 || worst < 0 ? -1 : wf > worst ? wf : worst;
            ok = worst >= 0 && worst <= (long)json_number(json_get(e, "tolerance"));
            if (!ok) snprintf(why, sizeof why, "max |stb - reference| = %ld", worst);
        } else {
            char hex[65];
            sha_of_int64(v, n, hex);
            ok = strcmp(hex, json_string(json_at(shas, (size_t)f))) == 0;
            if (!ok) snprintf(why, sizeof why, "frame %d: stored values differ (first %lld %lld %lld, golden %g %g %g)", f,
                              (long long)v[0], (long long)v[1], (long long)v[2],
                              json_number(json_at(json_get(e, "first_values"), 0)),
                              json_number(json_at(json_get(e, "first_values"), 1)),
                              json_number(json_at(json_get(e, "first_values"), 2)));
        }
    }
    if (ok && ref) printf("# %s: max |stb - reference| = %ld (%s)\n", file, worst, json_string(json_get(e, "made_by")));
    CHECK(ok, name, "%s (%s)", why, json_string(json_get(e, "made_by")));
    free(v);
    dicom_free(&d);
    free(buf);
}

static JsonValue *golden_doc(void) {
    size_t len;
    char err[256];
    uint8_t *text = read_data("golden.json", &len);
    JsonValue *doc = text ? json_parse((const char *)text, len, err, sizeof err) : NULL;
    free(text);
    return doc;
}

static void test_golden(const JsonValue *doc) {
    const JsonValue *files = json_get(doc, "files");
    CHECK(json_len(files) >= 25, "dicom.golden_count", "%zu entries", json_len(files));
    for (size_t i = 0; i < json_len(files); i++) check_golden_file(json_at(files, i));
}

/* ------------------------------------------------------------------ */
/* window, rescale, MONOCHROME1                                         */

static float *render_file(const char *file, const DicomWindow *want, DicomWindow *used, int frame, char *err, size_t errlen) {
    size_t len;
    uint8_t *buf = read_data(file, &len);
    DicomFile d;
    float *out = NULL;
    if (buf && dicom_parse(buf, len, file, &d, err, errlen) == 0) {
        out = malloc(dicom_frame_values(&d) * sizeof *out);
        if (dicom_render(&d, frame, want, out, used, err, errlen) < 0) { free(out); out = NULL; }
        dicom_free(&d);
    }
    free(buf);
    return out;
}

/* tests/data/dicom/dcm2pnm.json (tools/make_dicom_golden.py --dcm2pnm)
   holds, per golden file, dcm2pnm's rendering with the modality LUT, no
   VOI window, presentation LUT IDENTITY and n = BitsStored output bits:
   v = x - x_min, recorded as the SHA-256 of v + x_min (the stored values)
   per frame. dcmj2pnm (dcm2pnm with dcmtk's JPEG decoders) renders the
   JPEG syntaxes.

   Exact codings (native, deflate, RLE, JPEG lossless): both decoders are
   exact, so salient's stored values must hash the same, bit for bit. One
   documented exception: for 32-bit big endian data (rtdose_expb.dcm)
   dcmtk reads the OW value as 16-bit words and joins them low word first,
   so its value is the true one with the two 16-bit halves swapped
   (pydicom and salient agree with the little endian rtdose.dcm); the
   test checks exactly that.

   JPEG baseline is lossy across decoders: T.81 fixes the bitstream, not
   the IDCT arithmetic or the chroma upsampling. ISO/IEC 10918-2 (the
   compliance tests) accepts a decoder whose reconstructed samples are
   within 1 of the reference decoder's, so two compliant decoders may
   differ by 2 per sample (MONOCHROME2, and RGB stored without colour
   transform). Through YCbCr -> RGB a chroma error is multiplied by up to
   1.772 (B = Y + 1.772 (Cb - 128)) and each decoder rounds once more:
   2 + 2 * 1.772 + 1 < 6 for YBR_FULL (4:4:4). For YBR_FULL_422 the
   upsampling filter is the decoder's choice (stb and libjpeg use
   different "fancy" triangle filters), so the standard bounds nothing:
   the recorded measurement is the bound there. The committed <file>.ref.npy
   must be dcm2pnm's output (its hash is checked), and max |salient - it|
   is printed and held to the bound. */
static void check_dcm2pnm_file(const JsonValue *e) {
    const char *file = json_string(json_get(e, "file")), *refused = json_string(json_get(e, "refused"));
    char name[200], why[600] = "", err[512];
    snprintf(name, sizeof name, "dicom.dcm2pnm.%s", file);
    if (refused) {
        printf("# %s: dcmtk refuses the file (%s); max |salient - pydicom| = %g\n", file, refused,
               json_number(json_get(e, "max_diff_pydicom")));
        return;
    }
    DicomFile d;
    uint8_t *buf = parse_data_or_fail(file, name, &d);
    if (!buf) return;
    const JsonValue *shas = json_get(e, "frame_sha256");
    const char *ref = json_string(json_get(e, "reference"));
    int lossy = ref != NULL, swapped = json_get(e, "dcmtk_halves_swapped") != NULL;
    size_t n = dicom_frame_values(&d);
    int64_t *v = malloc(n * sizeof *v), *r = malloc(n * sizeof *r);
    NpyArray a = {0};
    int ok = v && r && json_len(shas) == (size_t)d.frames;
    if (lossy && ok) {
        char path[256];
        snprintf(path, sizeof path, DATA "%s", ref);
        ok = npy_read(path, &a, err, sizeof err) == 0 && a.dtype == NPY_U8 && a.numel == n * d.frames;
        if (!ok) snprintf(why, sizeof why, "%s: not (frames, samples, rows, cols) uint8", ref);
    }
    long worst = 0;
    for (int f = 0; ok && f < d.frames; f++) {
        char hex[65];
        if (dicom_frame_stored(&d, f, v, err, sizeof err) < 0) { ok = 0; snprintf(why, sizeof why, "%s", err); break; }
        if (lossy) {
            const uint8_t *rf = (const uint8_t *)a.data + (size_t)f * n;
            for (size_t i = 0; i < n; i++) r[i] = rf[i];
            sha_of_int64(r, n, hex);
            ok = !strcmp(hex, json_string(json_at(shas, (size_t)f)));
            if (!ok) { snprintf(why, sizeof why, "frame %d: %s is not dcm2pnm's output", f, ref); break; }
            for (size_t i = 0; i < n; i++) if (labs((long)(v[i] - r[i])) > worst) worst = labs((long)(v[i] - r[i]));
        } else {
            if (swapped)
                for (size_t i = 0; i < n; i++) v[i] = (int64_t)((((uint64_t)v[i] & 0xFFFF) << 16) | (((uint64_t)v[i] >> 16) & 0xFFFF));
            sha_of_int64(v, n, hex);
            ok = !strcmp(hex, json_string(json_at(shas, (size_t)f)));
            if (!ok) snprintf(why, sizeof why, "frame %d: stored values differ from dcm2pnm's", f);
        }
    }
    if (ok && lossy) {
        const JsonValue *b = json_get(e, "bound");
        long bound = (long)json_number(json_type(b) == JSON_NUMBER ? b : json_get(e, "max_diff_dcm2pnm"));
        printf("# %s (%s): max |salient - dcm2pnm| = %ld, bound %ld (%s)\n", file, json_string(json_get(e, "photometric")),
               worst, bound, json_type(b) == JSON_NUMBER ? "ISO/IEC 10918-2" : "measured: upsampling not standardised");
        ok = worst <= bound;
        if (!ok) snprintf(why, sizeof why, "max |salient - dcm2pnm| = %ld > %ld", worst, bound);
    }
    CHECK(ok, name, "%s", why);
    npy_free(&a);
    free(v); free(r);
    dicom_free(&d);
    free(buf);
}

/* dcm2pnm with a window (+Wi 1: the file's first; +Ww C W), 8-bit output,
   against salient's [0,1] output y: dcmtk truncates, so its value must be
   floor(255 y) for every pixel. (At 16 bits, +opn 16, dcmtk's LUT
   arithmetic puts a few values, under 1%, one step lower still, so the
   8-bit output is the one compared.) */
static void check_dcm2pnm_window(const JsonValue *w) {
    const char *file = json_string(json_get(w, "file")), *ref = json_string(json_get(w, "reference"));
    char name[200], err[512] = "", path[256];
    snprintf(name, sizeof name, "dicom.dcm2pnm_window.%s", ref);
    DicomWindow want = {.mode = DICOM_WINDOW_FILE}, used;
    if (json_type(json_get(w, "center")) == JSON_NUMBER) {
        want.mode = DICOM_WINDOW_EXPLICIT;
        want.center = json_number(json_get(w, "center"));
        want.width = json_number(json_get(w, "width"));
    }
    float *y = render_file(file, &want, &used, 0, err, sizeof err);
    NpyArray a;
    snprintf(path, sizeof path, DATA "%s", ref);
    int ok = y && npy_read(path, &a, err, sizeof err) == 0;
    if (!ok) { CHECK(0, name, "%s", err); free(y); return; }
    double lo = 1e9, hi = -1e9;
    long differ = 0;
    for (size_t i = 0; i < a.numel && a.dtype == NPY_U8; i++) {
        double dlt = 255.0 * y[i] - ((const uint8_t *)a.data)[i];
        if (dlt < lo) lo = dlt;
        if (dlt > hi) hi = dlt;
        differ += floor(255.0 * y[i]) != ((const uint8_t *)a.data)[i];
    }
    printf("# %s, %s (window %g/%g): 255 y - dcm2pnm in [%.4f, %.4f]\n", file, json_string(json_get(w, "options")),
           used.center, used.width, lo, hi);
    CHECK(a.dtype == NPY_U8 && a.numel > 0 && differ == 0, name, "%ld of %zu values are not floor(255 y)", differ, a.numel);
    npy_free(&a);
    free(y);
}

static void test_dcm2pnm(void) {
    size_t len;
    char err[256];
    uint8_t *text = read_data("dcm2pnm.json", &len);
    JsonValue *doc = text ? json_parse((const char *)text, len, err, sizeof err) : NULL;
    free(text);
    const JsonValue *files = json_get(doc, "files"), *w = json_get(doc, "windows");
    CHECK(doc && json_len(files) >= 38, "dicom.dcm2pnm_json", "cannot read " DATA "dcm2pnm.json, or too few files");
    for (size_t i = 0; i < json_len(files); i++) check_dcm2pnm_file(json_at(files, i));
    for (size_t i = 0; i < json_len(w); i++) check_dcm2pnm_window(json_at(w, i));
    json_free(doc);
}

static void check_window_reference(const JsonValue *w) {
    const char *file = json_string(json_get(w, "file")), *ref = json_string(json_get(w, "reference"));
    char name[200], err[512] = "", path[256];
    snprintf(name, sizeof name, "dicom.window.%s", ref);
    int is_file = !strcmp(file, "MR_small.dcm");
    DicomWindow want = {is_file ? DICOM_WINDOW_FILE : DICOM_WINDOW_EXPLICIT, json_number(json_get(w, "center")),
                        json_number(json_get(w, "width")), DICOM_VOI_LINEAR}, used;
    float *y = render_file(file, &want, &used, 0, err, sizeof err);
    NpyArray r;
    snprintf(path, sizeof path, DATA "%s", ref);
    int ok = y && npy_read(path, &r, err, sizeof err) == 0;
    double md = INFINITY;
    if (ok) {
        float *x = npy_to_f32(&r);
        md = check_max_rel(y, x, r.numel, NULL);
        free(x);
        npy_free(&r);
    }
    CHECK(ok && md <= 1e-6 && used.center == want.center && used.width == want.width, name,
          "max |salient - pydicom| %g, window %g/%g %s", md, used.center, used.width, err);
    if (ok) printf("# %s vs pydicom apply_voi_lut: max rel error %.3g\n", ref, md);
    free(y);
}

static void test_window_formula(void) {
    /* PS3.3 C.11.2.1.2.1, c = 2048, w = 4096: the ends land exactly on 0 and 1 */
    int ok = dicom_window_apply(0, 2048, 4096, DICOM_VOI_LINEAR) == 0 &&
             dicom_window_apply(4095, 2048, 4096, DICOM_VOI_LINEAR) == 1 &&
             dicom_window_apply(4096, 2048, 4096, DICOM_VOI_LINEAR) == 1 &&
             fabs(dicom_window_apply(2047.5, 2048, 4096, DICOM_VOI_LINEAR) - 0.5) < 1e-15 &&
             fabs(dicom_window_apply(1, 2048, 4096, DICOM_VOI_LINEAR) - 1.0 / 4095) < 1e-15;
    CHECK(ok, "dicom.window_linear_ends", "LINEAR ends wrong");
    /* w = 1: a threshold at c - 0.5 */
    ok = dicom_window_apply(39.5, 40, 1, DICOM_VOI_LINEAR) == 0 && dicom_window_apply(39.6, 40, 1, DICOM_VOI_LINEAR) == 1;
    CHECK(ok, "dicom.window_linear_width1", "w=1 is not a threshold at c-0.5");
    ok = dicom_window_apply(-160, 40, 400, DICOM_VOI_LINEAR_EXACT) == 0 &&
         dicom_window_apply(40, 40, 400, DICOM_VOI_LINEAR_EXACT) == 0.5 &&
         dicom_window_apply(240, 40, 400, DICOM_VOI_LINEAR_EXACT) == 1 &&
         dicom_window_apply(40, 40, 400, DICOM_VOI_SIGMOID) == 0.5 &&
         fabs(dicom_window_apply(140, 40, 400, DICOM_VOI_SIGMOID) - 1 / (1 + exp(-1.0))) < 1e-15;
    CHECK(ok, "dicom.window_exact_sigmoid", "LINEAR_EXACT / SIGMOID wrong");
    DicomWindow w;
    ok = dicom_window_from_string("minmax", &w) == 0 && w.mode == DICOM_WINDOW_MINMAX &&
         dicom_window_from_string("-600.5,1500", &w) == 0 && w.mode == DICOM_WINDOW_EXPLICIT && w.center == -600.5 &&
         w.width == 1500 && dicom_window_from_string("40,0.5", &w) < 0 && dicom_window_from_string("40", &w) < 0 &&
         dicom_window_from_string("40,400x", &w) < 0 && dicom_window_from_string("file", &w) == 0 && w.mode == DICOM_WINDOW_FILE;
    CHECK(ok, "dicom.window_from_string", "parse wrong");
}

static void test_window_modes(void) {
    char err[512] = "";
    DicomWindow used, want = {DICOM_WINDOW_AUTO, 0, 0, DICOM_VOI_LINEAR};
    /* CT_small has a rescale (-1024) and no window: auto = minmax of HU */
    float *y = render_file("CT_small.dcm", &want, &used, 0, err, sizeof err);
    float lo = 1, hi = 0;
    for (int i = 0; y && i < 128 * 128; i++) { if (y[i] < lo) lo = y[i]; if (y[i] > hi) hi = y[i]; }
    CHECK(y && used.mode == DICOM_WINDOW_MINMAX && used.center == (128 + 2191) / 2.0 - 1024 && used.width == 2191 - 128 &&
          lo == 0 && hi == 1, "dicom.window_auto_minmax_hu", "mode %s c %g w %g range %g..%g %s",
          dicom_window_mode_name(used.mode), used.center, used.width, lo, hi, err);
    free(y);
    want.mode = DICOM_WINDOW_FILE;
    y = render_file("CT_small.dcm", &want, &used, 0, err, sizeof err);
    CHECK(!y && strstr(err, "no usable WindowCenter"), "dicom.window_file_absent_refused", "%s", y ? "accepted" : err);
    free(y);
    /* full: 8-bit colour is stored / 255 */
    want.mode = DICOM_WINDOW_AUTO;
    y = render_file("SC_rgb_small_odd.dcm", &want, &used, 0, err, sizeof err);
    size_t len;
    uint8_t *buf = read_data("SC_rgb_small_odd.dcm", &len);
    DicomFile d;
    int64_t v[27];
    int ok = y && buf && dicom_parse(buf, len, "x", &d, err, sizeof err) == 0 && dicom_frame_stored(&d, 0, v, err, sizeof err) == 0;
    double md = 0;
    for (int i = 0; ok && i < 27; i++) md = fmax(md, fabs(y[i] - v[i] / 255.0));
    CHECK(ok && used.mode == DICOM_WINDOW_FULL && used.center == 128 && used.width == 256 && md < 1e-7,
          "dicom.window_full_rgb", "mode %s c %g w %g err %g %s", dicom_window_mode_name(used.mode), used.center, used.width, md, err);
    if (ok) dicom_free(&d);
    free(buf);
    free(y);
}

static void test_monochrome1(void) {
    char err[512] = "";
    DicomWindow want = {DICOM_WINDOW_AUTO, 0, 0, DICOM_VOI_LINEAR}, u1, u2;
    float *m1 = render_file("MR_small_mono1.dcm", &want, &u1, 0, err, sizeof err);
    float *m2 = render_file("MR_small.dcm", &want, &u2, 0, err, sizeof err);
    double md = m1 && m2 ? 0 : INFINITY;
    for (int i = 0; m1 && m2 && i < 64 * 64; i++) md = fmax(md, fabs((double)m1[i] - (1.0 - (double)m2[i])));
    CHECK(md <= 1e-7 && u1.mode == DICOM_WINDOW_FILE, "dicom.monochrome1_inverted", "max |m1 - (1 - m2)| %g %s", md, err);
    free(m1); free(m2);
}

/* The parsed struct holds nothing of the patient: CT_small's name, ID
   and institution appear nowhere in its bytes. */
static void test_privacy(void) {
    size_t len;
    char err[512] = "";
    uint8_t *buf = read_data("CT_small.dcm", &len);
    DicomFile d;
    int ok = buf && dicom_parse(buf, len, "CT_small.dcm", &d, err, sizeof err) == 0;
    static const char *secrets[] = {"CompressedSamples", "1CT1", "JFK IMAGING", "ABCD1234"};
    const char *found = NULL;
    for (size_t i = 0; ok && i < sizeof secrets / sizeof secrets[0]; i++)
        if (memmem(&d, sizeof d, secrets[i], strlen(secrets[i]))) found = secrets[i];
    CHECK(ok && !found, "dicom.privacy_struct_has_no_patient_data", "%s", found ? found : err);
    if (ok) dicom_free(&d);
    free(buf);
}

/* ------------------------------------------------------------------ */
/* image_load integration                                               */

static void test_image_load(void) {
    char err[512] = "";
    Image im;
    ImageLoadInfo info;
    int rc = image_load_opts(DATA "MR_small.dcm", NULL, &im, &info, err, sizeof err);
    CHECK(rc == 0 && im.c == 1 && im.h == 64 && im.w == 64 && !strcmp(info.format, "dicom") &&
          !strcmp(info.window_kind, "file") && info.center == 600 && info.width == 1600 &&
          !strcmp(info.transfer_syntax, "1.2.840.10008.1.2.1"),
          "dicom.image_load_default_window", "rc %d c %d %dx%d %s", rc, im.c, im.h, im.w, err);
    if (rc == 0) image_free(&im);
    ImageLoadOpts o = {.frame = 1, .window = "full"};
    rc = image_load_opts(DATA "SC_rgb_rle_2frame.dcm", &o, &im, &info, err, sizeof err);
    CHECK(rc == 0 && im.c == 3 && info.nframes == 2 && info.frame == 1, "dicom.image_load_frame_1", "%s", err);
    if (rc == 0) image_free(&im);
    o.frame = 2;
    rc = image_load_opts(DATA "SC_rgb_rle_2frame.dcm", &o, &im, &info, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "frame 2 requested") && strstr(err, "SC_rgb_rle_2frame.dcm"), "dicom.image_load_frame_out_of_range",
          "%s", rc ? err : "accepted");
    rc = image_load(DATA "MR_small_nometa.dcm", &im, err, sizeof err);
    Image ref;
    int rc2 = image_load(DATA "MR_small_implicit.dcm", &ref, err, sizeof err);
    CHECK(rc == 0 && rc2 == 0 && im.h == ref.h && memcmp(im.data, ref.data, 64 * 64 * sizeof(float)) == 0,
          "dicom.no_meta_guessed_implicit", "%s", err);
    if (rc == 0) image_free(&im);
    if (rc2 == 0) image_free(&ref);
    memset(&o, 0, sizeof o);
    rc = image_load_opts("tests/data/io/rgb_6x5.ppm", &o, &im, &info, err, sizeof err);
    CHECK(rc == 0 && !strcmp(info.format, "image") && !info.window_kind[0], "dicom.image_load_opts_non_dicom", "%s", err);
    if (rc == 0) image_free(&im);
    o.window = "40,400";
    rc = image_load_opts("tests/data/io/rgb_6x5.ppm", &o, &im, &info, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "DICOM and NIfTI files only"), "dicom.image_opts_refused_for_ppm", "%s", rc ? err : "accepted");
    if (rc == 0) image_free(&im);
    o.window = "40";
    rc = image_load_opts(DATA "MR_small.dcm", &o, &im, &info, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "expected auto, file, minmax, full or C,W"), "dicom.bad_window_named", "%s",
          rc ? err : "accepted");
    if (rc == 0) image_free(&im);
    o.window = "40,400";
    rc = image_load_opts(DATA "CT_small.dcm", &o, &im, &info, err, sizeof err);
    CHECK(rc == 0 && !strcmp(info.window_kind, "explicit") && info.center == 40 && info.width == 400 &&
              info.lo == 40 - 0.5 - 399 / 2.0 && info.hi == 40 - 0.5 + 399 / 2.0,
          "dicom.explicit_window_and_its_values", "%s %s c %g w %g", err, info.window_kind, info.center, info.width);
    if (rc == 0) image_free(&im);
    size_t len;
    uint8_t *buf = read_data("ExplVR_BigEnd.dcm", &len);
    int w = 0, h = 0;
    rc = buf ? image_decode(buf, len, NULL, &im, err, sizeof err) : -1;
    CHECK(rc == 0 && im.c == 3 && im.w == 80 && im.h == 60 && image_peek_size(buf, len, &w, &h) == 0 && w == 80 && h == 60,
          "dicom.image_decode_memory_rgb_big_endian", "%s", err);
    if (rc == 0) image_free(&im);
    free(buf);
}

/* The same pixels with the preamble removed (meta group first), and
   with preamble and meta removed from a big-endian file (guessed). */
static void test_layouts(void) {
    size_t len, blen;
    char err[512] = "";
    uint8_t *mr = read_data("MR_small.dcm", &len), *be = read_data("MR_small_bigendian.dcm", &blen);
    Image ref, a, b;
    int ok = mr && be && image_decode(mr, len, "MR_small.dcm", &ref, err, sizeof err) == 0;
    if (ok) {
        int ra = image_decode(mr + 128, len - 128, "no_preamble.dcm", &a, err, sizeof err);   /* "DICM" first */
        CHECK(ra < 0 && strstr(err, "named .dcm but starts neither"), "dicom.layout_dicm_without_preamble_refused", "%s",
              ra ? err : "accepted");
        if (ra == 0) image_free(&a);
        int rb;
        ra = image_decode(mr + 132, len - 132, "meta_first.dcm", &a, err, sizeof err);
        CHECK(ra == 0 && memcmp(a.data, ref.data, 64 * 64 * sizeof(float)) == 0, "dicom.layout_meta_without_preamble",
              "%s", err);
        if (ra == 0) image_free(&a);
        size_t meta_end = 132 + 12 + (size_t)(be[140] | be[141] << 8 | be[142] << 16 | (size_t)be[143] << 24);
        rb = meta_end < blen ? image_decode(be + meta_end, blen - meta_end, "bare_big_endian.dcm", &b, err, sizeof err) : -1;
        CHECK(rb == 0 && memcmp(b.data, ref.data, 64 * 64 * sizeof(float)) == 0, "dicom.layout_bare_big_endian_guessed",
              "%s", err);
        if (rb == 0) image_free(&b);
        image_free(&ref);
    }
    free(mr);
    free(be);
}

/* ------------------------------------------------------------------ */
/* refusals                                                             */

static void expect_refusal(const char *file, const char *frag1, const char *frag2, const char *frag3) {
    char name[200], err[512] = "";
    Image im;
    snprintf(name, sizeof name, "dicom.refuse.%s", file);
    char path[256];
    snprintf(path, sizeof path, DATA "%s", file);
    int rc = image_load(path, &im, err, sizeof err);
    CHECK(rc < 0 && strstr(err, file) && strstr(err, frag1) && strstr(err, frag2) && strstr(err, frag3), name,
          "%s", rc ? err : "accepted");
    if (rc == 0) image_free(&im);
    else printf("# %s\n", err);
}

static void test_refusals(void) {
    expect_refusal("MR_small_jp2klossless.dcm", "1.2.840.10008.1.2.4.90", "JPEG 2000 lossless", "gdcmconv --raw");
    expect_refusal("MR_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80", "JPEG-LS lossless", "dcmdjpls");
    expect_refusal("JPGExtended.dcm", "1.2.840.10008.1.2.4.51", "JPEG extended", "dcmdjpeg in.dcm out.dcm");
    expect_refusal("MR_truncated.dcm", "(7FE0,0010)", "truncated", "8192 bytes");
    expect_refusal("MR_small_jpll_rst100.dcm", "JPEG lossless frame", "restart interval 100", "line width 64");
}

/* ------------------------------------------------------------------ */
/* hostile buffers                                                      */

typedef struct { uint8_t *b; size_t n, cap; } Buf;

static void put(Buf *b, const void *p, size_t n) {
    if (b->n + n > b->cap) { b->cap = (b->n + n) * 2 + 256; b->b = realloc(b->b, b->cap); }
    memcpy(b->b + b->n, p, n);
    b->n += n;
}
static void put16(Buf *b, unsigned v) { uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)}; put(b, x, 2); }
static void put32(Buf *b, uint32_t v) { put16(b, v & 0xFFFF); put16(b, v >> 16); }
/* explicit VR little endian element; short form unless the VR is long */
static void elem(Buf *b, unsigned g, unsigned e, const char *vr, const void *val, uint32_t n) {
    put16(b, g); put16(b, e); put(b, vr, 2);
    int lng = !strcmp(vr, "OB") || !strcmp(vr, "OW") || !strcmp(vr, "SQ") || !strcmp(vr, "UN") || !strcmp(vr, "UT");
    if (lng) { put16(b, 0); put32(b, n); } else put16(b, n);
    if (val) put(b, val, n == 0xFFFFFFFFu ? 0 : n);
}
static void elem_us(Buf *b, unsigned g, unsigned e, unsigned v) { uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)}; elem(b, g, e, "US", x, 2); }

#define LE "1.2.840.10008.1.2.1"
#define LE_UID "1.2.840.10008.1.2.1\0"

/* Preamble, meta group with the transfer syntax, then a pixel module. */
static void header(Buf *b, const char *ts, int rows, int cols, int bits, const char *frames) {
    static const uint8_t pre[128];
    put(b, pre, 128); put(b, "DICM", 4);
    char uid[66];
    size_t n = strlen(ts);
    memcpy(uid, ts, n);
    if (n & 1) uid[n++] = 0;
    elem(b, 0x0002, 0x0010, "UI", uid, (uint32_t)n);
    elem_us(b, 0x0028, 0x0002, 1);
    elem(b, 0x0028, 0x0004, "CS", "MONOCHROME2 ", 12);
    if (frames) elem(b, 0x0028, 0x0008, "IS", frames, (uint32_t)strlen(frames));
    elem_us(b, 0x0028, 0x0010, (unsigned)rows);
    elem_us(b, 0x0028, 0x0011, (unsigned)cols);
    elem_us(b, 0x0028, 0x0100, (unsigned)bits);
    elem_us(b, 0x0028, 0x0101, (unsigned)bits);
    elem_us(b, 0x0028, 0x0102, (unsigned)bits - 1);
    elem_us(b, 0x0028, 0x0103, 0);
}

/* BitsStored 12 of 16, at HighBit 11 or 15, signed: the bits outside the
   stored ones (overlay garbage) are masked off, the rest sign-extended. */
static void test_bits_stored_masking(void) {
    static const uint16_t raw[4] = {0xF801, 0x07FF, 0x1000, 0xFFFF};
    static const int64_t want_hb11[4] = {-2047, 2047, 0, -1};
    static const int64_t want_hb15[4] = {-128, 127, 256, -1};   /* raw >> 4 as 12-bit signed */
    for (int hb = 11; hb <= 15; hb += 4) {
        Buf b = {0};
        static const uint8_t pre[128];
        put(&b, pre, 128); put(&b, "DICM", 4);
        elem(&b, 0x0002, 0x0010, "UI", LE_UID, 20);
        elem_us(&b, 0x0028, 0x0002, 1);
        elem(&b, 0x0028, 0x0004, "CS", "MONOCHROME2 ", 12);
        elem_us(&b, 0x0028, 0x0010, 2); elem_us(&b, 0x0028, 0x0011, 2);
        elem_us(&b, 0x0028, 0x0100, 16); elem_us(&b, 0x0028, 0x0101, 12);
        elem_us(&b, 0x0028, 0x0102, (unsigned)hb); elem_us(&b, 0x0028, 0x0103, 1);
        uint8_t pix[8];
        for (int i = 0; i < 4; i++) { pix[2 * i] = (uint8_t)raw[i]; pix[2 * i + 1] = (uint8_t)(raw[i] >> 8); }
        elem(&b, 0x7FE0, 0x0010, "OW", pix, 8);
        DicomFile d;
        int64_t v[4] = {0};
        char err[512] = "", name[64];
        int parsed = dicom_parse(b.b, b.n, "bits.dcm", &d, err, sizeof err) == 0;
        int ok = parsed && dicom_frame_stored(&d, 0, v, err, sizeof err) == 0;
        const int64_t *want = hb == 11 ? want_hb11 : want_hb15;
        for (int i = 0; ok && i < 4; i++) ok = v[i] == want[i];
        snprintf(name, sizeof name, "dicom.bits_stored_12_high_bit_%d_signed", hb);
        CHECK(ok, name, "got %lld %lld %lld %lld %s", (long long)v[0], (long long)v[1], (long long)v[2], (long long)v[3], err);
        if (parsed) dicom_free(&d);
        free(b.b);
    }
}

static void expect_fail(Buf *b, const char *name, const char *frag) {
    char err[512] = "";
    Image im;
    int rc = image_decode(b->b, b->n, "crafted.dcm", &im, err, sizeof err);
    CHECK(rc < 0 && strstr(err, frag) && strstr(err, "crafted.dcm"), name, "%s", rc ? err : "accepted");
    if (rc == 0) image_free(&im);
    else printf("# %s\n", err);
    free(b->b);
    memset(b, 0, sizeof *b);
}


static void test_hostile_lengths(void) {
    Buf b = {0};
    uint8_t pix[16] = {0};
    header(&b, LE, 4, 2, 16, NULL);
    elem(&b, 0x7FE0, 0x0010, "OW", pix, 16);
    b.n -= 4;   /* cut the pixel data short */
    expect_fail(&b, "dicom.hostile.length_past_end", "declares 16 bytes but only 12");

    header(&b, LE, 4, 2, 16, NULL);
    elem(&b, 0x0008, 0x0060, "CS", "MR ", 3);
    expect_fail(&b, "dicom.hostile.odd_length", "odd length 3");

    header(&b, LE, 4, 2, 16, NULL);
    put16(&b, 0x0008); put16(&b, 0x0060); put(&b, "CS", 2);   /* header cut after the VR */
    expect_fail(&b, "dicom.hostile.header_cut", "ends inside an element header");

    header(&b, LE, 4, 2, 16, NULL);
    elem(&b, 0x0008, 0x0060, "CS", NULL, 0xFFFE);
    put(&b, "MR", 2);
    expect_fail(&b, "dicom.hostile.short_length_past_end", "declares 65534 bytes");

    header(&b, LE, 4, 2, 16, NULL);
    elem(&b, 0x0008, 0x0060, "CS", NULL, 0);
    b.b[b.n - 4] = 'z'; b.b[b.n - 3] = 'q';
    expect_fail(&b, "dicom.hostile.unknown_vr", "unknown VR");

    header(&b, LE, 4, 2, 16, NULL);
    elem(&b, 0x0009, 0x0010, "UT", NULL, 0xFFFFFFFFu);
    expect_fail(&b, "dicom.hostile.ut_undefined", "has undefined length");
}

static void test_hostile_nesting(void) {
    Buf b = {0};
    header(&b, LE, 4, 2, 16, NULL);
    for (int i = 0; i < 1000; i++) {   /* SQ > item > SQ > item ... all of undefined length */
        elem(&b, 0x0008, 0x1140, "SQ", NULL, 0xFFFFFFFFu);
        put16(&b, 0xFFFE); put16(&b, 0xE000); put32(&b, 0xFFFFFFFFu);
    }
    expect_fail(&b, "dicom.hostile.nesting_bomb", "nested deeper than 16");

    header(&b, LE, 4, 2, 16, NULL);   /* 8 levels, properly closed: fine */
    for (int i = 0; i < 8; i++) {
        elem(&b, 0x0008, 0x1140, "SQ", NULL, 0xFFFFFFFFu);
        put16(&b, 0xFFFE); put16(&b, 0xE000); put32(&b, 0xFFFFFFFFu);
    }
    for (int i = 0; i < 8; i++) {
        put16(&b, 0xFFFE); put16(&b, 0xE00D); put32(&b, 0);
        put16(&b, 0xFFFE); put16(&b, 0xE0DD); put32(&b, 0);
    }
    uint8_t pix[16] = {1, 0, 2, 0};
    elem(&b, 0x7FE0, 0x0010, "OW", pix, 16);
    char err[512] = "";
    Image im;
    int rc = image_decode(b.b, b.n, "nested.dcm", &im, err, sizeof err);
    CHECK(rc == 0 && im.w == 2 && im.h == 4 && im.data[0] == 0.5f && im.data[1] == 1.0f, "dicom.nesting_8_ok", "%s", err);
    if (rc == 0) image_free(&im);
    free(b.b);
    memset(&b, 0, sizeof b);

    header(&b, LE, 4, 2, 16, NULL);   /* sequence never closed */
    elem(&b, 0x0008, 0x1140, "SQ", NULL, 0xFFFFFFFFu);
    put16(&b, 0xFFFE); put16(&b, 0xE000); put32(&b, 0xFFFFFFFFu);
    expect_fail(&b, "dicom.hostile.unclosed_sequence", "ends inside an element header");
}

static void test_hostile_sizes(void) {
    Buf b = {0};
    uint8_t pix[16] = {0};
    header(&b, LE, 4096, 4096, 32, "2147483647");
    elem(&b, 0x7FE0, 0x0010, "OW", pix, 16);
    expect_fail(&b, "dicom.hostile.frames_overflow", "Pixel Data has 16 bytes");

    header(&b, LE, 16384, 16384, 16, NULL);
    elem(&b, 0x7FE0, 0x0010, "OW", pix, 16);
    expect_fail(&b, "dicom.hostile.frame_too_large", "exceeds the limit");

    header(&b, LE, 0, 4, 16, NULL);
    elem(&b, 0x7FE0, 0x0010, "OW", pix, 16);
    expect_fail(&b, "dicom.hostile.zero_rows", "outside 1..");

    header(&b, LE, 4, 2, 12, NULL);
    elem(&b, 0x7FE0, 0x0010, "OW", pix, 16);
    expect_fail(&b, "dicom.hostile.bits_12", "BitsAllocated 12");

    header(&b, LE, 4, 2, 16, "-3");
    elem(&b, 0x7FE0, 0x0010, "OW", pix, 16);
    expect_fail(&b, "dicom.hostile.negative_frames", "NumberOfFrames");

    header(&b, LE, 4, 2, 16, NULL);
    expect_fail(&b, "dicom.hostile.no_pixel_data", "no Pixel Data");
}

/* Raw deflate of `zeros` zero bytes, made in chunks (no big buffer). */
static void deflate_zeros(Buf *b, size_t zeros) {
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit2(&z, 1, Z_DEFLATED, -15, 9, Z_RLE);   /* runs of distance 1: fast, ~1000:1 */
    static uint8_t in[1 << 16], out[1 << 16];
    size_t left = zeros;
    int flush;
    do {
        size_t k = left < sizeof in ? left : sizeof in;
        left -= k;
        flush = left ? Z_NO_FLUSH : Z_FINISH;
        z.next_in = in; z.avail_in = (uInt)k;
        do {
            z.next_out = out; z.avail_out = sizeof out;
            deflate(&z, flush);
            put(b, out, sizeof out - z.avail_out);
        } while (z.avail_out == 0);
    } while (flush != Z_FINISH);
    deflateEnd(&z);
}

static void test_hostile_deflate(void) {
    Buf b = {0};
    static const uint8_t pre[128];
    put(&b, pre, 128); put(&b, "DICM", 4);
    elem(&b, 0x0002, 0x0010, "UI", "1.2.840.10008.1.2.1.99", 22);
    size_t meta = b.n;
    deflate_zeros(&b, DICOM_MAX_INFLATED + ((size_t)1 << 20));
    printf("# deflate bomb: %zu compressed bytes for %zu MiB\n", b.n - meta, (DICOM_MAX_INFLATED >> 20) + 1);
    expect_fail(&b, "dicom.hostile.deflate_bomb", "inflates to more than");

    put(&b, pre, 128); put(&b, "DICM", 4);
    elem(&b, 0x0002, 0x0010, "UI", "1.2.840.10008.1.2.1.99", 22);
    put(&b, "\x12\x34\x56\x78garbage!", 12);
    expect_fail(&b, "dicom.hostile.deflate_corrupt", "deflated dataset is corrupt");
}

/* Encapsulated pixel data written by hand: offset table + fragments. */
static void test_hostile_encapsulated(void) {
    Buf b = {0};
    header(&b, "1.2.840.10008.1.2.5", 2, 2, 8, NULL);
    elem(&b, 0x7FE0, 0x0010, "OB", NULL, 0xFFFFFFFFu);
    put16(&b, 0xFFFE); put16(&b, 0xE000); put32(&b, 0);
    put16(&b, 0xFFFE); put16(&b, 0xE000); put32(&b, 64);
    uint8_t rle[64] = {1, 0, 0, 0, 200, 0, 0, 0};   /* segment offset beyond the fragment */
    put(&b, rle, 64);
    put16(&b, 0xFFFE); put16(&b, 0xE0DD); put32(&b, 0);
    expect_fail(&b, "dicom.hostile.rle_bad_offset", "RLE segment 0 is corrupt");

    header(&b, "1.2.840.10008.1.2.5", 2, 2, 8, NULL);
    elem(&b, 0x7FE0, 0x0010, "OB", NULL, 0xFFFFFFFFu);
    put16(&b, 0xFFFE); put16(&b, 0xE000); put32(&b, 0);
    put16(&b, 0xFFFE); put16(&b, 0xE000); put32(&b, 68);
    uint8_t rle2[68] = {1, 0, 0, 0, 64, 0, 0, 0};
    rle2[64] = 0x81; rle2[65] = 7;   /* a run of 128 into 4 pixels */
    put(&b, rle2, 68);
    put16(&b, 0xFFFE); put16(&b, 0xE0DD); put32(&b, 0);
    expect_fail(&b, "dicom.hostile.rle_overrun", "RLE segment 0 is corrupt");

    header(&b, "1.2.840.10008.1.2.4.70", 2, 2, 8, NULL);
    elem(&b, 0x7FE0, 0x0010, "OB", NULL, 0xFFFFFFFFu);
    put16(&b, 0xFFFE); put16(&b, 0xE000); put32(&b, 0);
    put16(&b, 0xFFFE); put16(&b, 0xE000); put32(&b, 4);
    put(&b, "\xFF\xD8\xFF\xD9", 4);
    expect_fail(&b, "dicom.hostile.no_delimiter", "ends inside an element header");

    header(&b, "1.2.840.10008.1.2.4.70", 2, 2, 8, NULL);
    elem(&b, 0x7FE0, 0x0010, "OB", NULL, 0xFFFFFFFFu);
    put16(&b, 0xFFFE); put16(&b, 0xE000); put32(&b, 0);
    put16(&b, 0xFFFE); put16(&b, 0xE000); put32(&b, 3);
    put(&b, "\xFF\xD8\xFF\xD9", 4);
    expect_fail(&b, "dicom.hostile.odd_fragment", "odd length 3");

    header(&b, "1.2.840.10008.1.2.4.70", 2, 2, 8, NULL);
    elem(&b, 0x7FE0, 0x0010, "OB", NULL, 0xFFFFFFFFu);
    put16(&b, 0xFFFE); put16(&b, 0xE000); put32(&b, 0);
    put16(&b, 0xFFFE); put16(&b, 0xE000); put32(&b, 4);
    put(&b, "\xFF\xD8\xFF\xD9", 4);
    put16(&b, 0xFFFE); put16(&b, 0xE0DD); put32(&b, 0);
    expect_fail(&b, "dicom.hostile.jpeg_lossless_empty", "no scan");

    header(&b, LE, 2, 2, 8, NULL);
    elem(&b, 0x7FE0, 0x0010, "OB", NULL, 0xFFFFFFFFu);
    expect_fail(&b, "dicom.hostile.encapsulated_in_native", "encapsulated (compressed) but transfer syntax");
}

/* Every prefix of real files, and seeded byte flips: errors, never crashes. */
static void test_mutations(void) {
    static const char *files[] = {"MR_small_RLE.dcm", "MR_small_jpll_sv4.dcm", "SC_rgb_jpeg_dcmtk.dcm",
                                  "image_dfl.dcm", "rtdose_rle.dcm", "MR_small_implicit.dcm"};
    uint64_t seed = 0x5A11E27u;
    long runs = 0, accepted = 0, silent = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t len;
        uint8_t *orig = read_data(files[f], &len);
        if (!orig) { silent++; continue; }
        uint8_t *buf = malloc(len);
        for (int trial = 0; trial < 1200; trial++) {
            size_t n = len;
            memcpy(buf, orig, len);
            if (trial < 600) {
                n = (size_t)((uint64_t)trial * len / 600);
            } else {
                for (int k = 0; k < 1 + trial % 4; k++) {
                    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                    buf[(seed >> 33) % len] ^= (uint8_t)(1u << ((seed >> 20) & 7));
                }
            }
            char err[512] = "";
            Image im;
            int rc = image_decode(buf, n, "mutant.dcm", &im, err, sizeof err);
            runs++;
            if (rc == 0) { accepted++; image_free(&im); }
            else if (!err[0]) silent++;
        }
        free(buf);
        free(orig);
    }
    printf("# mutations: %ld decodes, %ld accepted, the rest refused with a message\n", runs, accepted);
    CHECK(silent == 0, "dicom.mutations_no_crash", "%ld refusals without a message", silent);
}

/* test_dicom --dump FILE: the stored values of every frame as text, a line
   "frames samples rows cols" then one value per line, for
   tools/make_dicom_golden.py to measure against other decoders. */
static int dump_stored(const char *path) {
    char err[512];
    uint8_t *buf;
    size_t len;
    DicomFile d;
    if (io_read_file(path, (size_t)1 << 26, &buf, &len, err, sizeof err) < 0 ||
        dicom_parse(buf, len, path, &d, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    size_t n = dicom_frame_values(&d);
    int64_t *v = malloc(n * sizeof *v);
    int rc = v ? 0 : 1;
    printf("%d %d %d %d\n", d.frames, d.samples, d.rows, d.cols);
    for (int f = 0; !rc && f < d.frames; f++) {
        if (dicom_frame_stored(&d, f, v, err, sizeof err) < 0) { fprintf(stderr, "%s\n", err); rc = 1; break; }
        for (size_t i = 0; i < n; i++) printf("%lld\n", (long long)v[i]);
    }
    free(v);
    dicom_free(&d);
    free(buf);
    return rc;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--dump")) return dump_stored(argv[2]);
    JsonValue *doc = golden_doc();
    CHECK(doc != NULL, "dicom.golden_json", "cannot read " DATA "golden.json");
    if (doc) {
        test_golden(doc);
        const JsonValue *w = json_get(doc, "windows");
        for (size_t i = 0; i < json_len(w); i++) check_window_reference(json_at(w, i));
    }
    test_dcm2pnm();
    test_window_formula();
    test_window_modes();
    test_monochrome1();
    test_privacy();
    test_image_load();
    test_layouts();
    test_refusals();
    test_bits_stored_masking();
    test_hostile_lengths();
    test_hostile_nesting();
    test_hostile_sizes();
    test_hostile_deflate();
    test_hostile_encapsulated();
    test_mutations();
    json_free(doc);
    CHECK_DONE();
}
