/* test_safetensors.c - tests of weights/safetensors: valid files, every
   hostile-header rule (each must fail with its message), F16/BF16
   conversion (hand-picked bit patterns and all 65536 halves against an
   independent ldexp formula), a Python-written golden file, st_open on
   missing / truncated / empty files, and a deterministic mini-fuzz of
   20,000 mutations (run under ASan/UBSan by `make asan`); and
   weights/load's normalisation from options, metadata and defaults. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/rng.h"
#include "io/file.h"
#include "io/npy.h"
#include "tests/check.h"
#include "weights/load.h"
#include "weights/safetensors.h"

#define DATA "tests/data/io/"

/* 8-byte length + header + data, malloc'd. */
static uint8_t *make_st(const char *header, const void *data, size_t dlen, size_t *len) {
    size_t hl = strlen(header);
    *len = 8 + hl + dlen;
    uint8_t *b = malloc(*len ? *len : 1);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, header, hl);
    if (dlen) memcpy(b + 8 + hl, data, dlen);
    return b;
}

static void st_bad_buf(const char *name, const uint8_t *b, size_t len, const char *frag) {
    StFile f;
    char err[512] = "";
    int rc = st_parse(b, len, &f, err, sizeof err);
    CHECK(rc < 0 && strstr(err, frag) != NULL, name, "expected rejection with '%s', got rc %d '%s'", frag, rc, err);
    if (rc == 0) st_close(&f);
}

/* Header text + dlen zero bytes of data must be rejected with frag in the message. */
static void st_bad(const char *name, const char *header, size_t dlen, const char *frag) {
    uint8_t *zeros = calloc(1, dlen ? dlen : 1);
    size_t len;
    uint8_t *b = make_st(header, zeros, dlen, &len);
    st_bad_buf(name, b, len, frag);
    free(b);
    free(zeros);
}

static void test_valid(void) {
    float w[4] = {1.0f, -2.5f, 3.25f, 1e-40f};
    uint16_t h[3] = {0x3C00, 0xC000, 0x0001};
    uint8_t data[22 + 2];
    memcpy(data, w, 16);
    memcpy(data + 16, h, 6);
    const char *hdr = "{\"__metadata__\":{\"format\":\"pt\",\"empty\":\"\"},"
                      "\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                      "\"h\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[16,22],\"extra\":[1]},"
                      "\"s\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[16,16]}}    ";
    size_t len;
    uint8_t *b = make_st(hdr, data, 22, &len);
    StFile f;
    char err[512];
    int rc = st_parse(b, len, &f, err, sizeof err);
    CHECK(rc == 0, "st.valid_parse", "%s", err);
    if (rc == 0) {
        const StTensor *tw = st_find(&f, "w"), *th = st_find(&f, "h"), *ts = st_find(&f, "s");
        CHECK(f.n == 3 && tw && th && ts && st_find(&f, "x") == NULL && st_find(&f, "__metadata__") == NULL,
              "st.valid_find", "n %d", f.n);
        CHECK(tw && tw->dtype == ST_F32 && tw->ndim == 2 && tw->shape[0] == 2 && tw->shape[1] == 2 && tw->numel == 4 &&
              tw->begin == 0 && tw->end == 16, "st.valid_fields", "wrong tensor fields");
        CHECK(f.data_len == 22 && f.data == b + 8 + strlen(hdr), "st.valid_data_pointer", "data_len %zu", f.data_len);
        CHECK(strcmp(f.t[0].name, "w") == 0 && strcmp(f.t[1].name, "h") == 0, "st.valid_header_order", "order changed");
        float got[4];
        rc = tw ? st_read_f32(&f, tw, got, 4, err, sizeof err) : -1;
        CHECK(rc == 0 && memcmp(got, w, 16) == 0, "st.valid_read_f32", "%s", err);
        rc = th ? st_read_f32(&f, th, got, 3, err, sizeof err) : -1;
        CHECK(rc == 0 && got[0] == 1.0f && got[1] == -2.0f && got[2] == 0x1p-24f, "st.valid_read_f16", "%s", err);
        rc = ts ? st_read_f32(&f, ts, got, 0, err, sizeof err) : -1;
        CHECK(rc == 0 && ts->numel == 0, "st.valid_read_empty", "%s", err);
        rc = tw ? st_read_f32(&f, tw, got, 3, err, sizeof err) : 0;
        CHECK(rc < 0 && strstr(err, "tensor 'w': caller buffer holds 3 floats but the tensor has 4"), "st.read_wrong_n", "%s", err);
        StTensor fake = *tw;
        CHECK(st_read_f32(&f, &fake, got, 4, err, sizeof err) < 0 && strstr(err, "does not belong"), "st.read_foreign_tensor", "%s", err);
        CHECK(st_meta(&f, "format") && strcmp(st_meta(&f, "format"), "pt") == 0 && st_meta(&f, "empty") &&
              st_meta(&f, "nope") == NULL, "st.valid_meta", "metadata lookup wrong");
        st_close(&f);
    }
    free(b);

    /* no tensors at all, and no metadata */
    b = make_st("{}      ", NULL, 0, &len);
    rc = st_parse(b, len, &f, err, sizeof err);
    CHECK(rc == 0 && f.n == 0 && st_meta(&f, "format") == NULL && st_find(&f, "a") == NULL, "st.valid_empty_header", "%s", err);
    if (rc == 0) st_close(&f);
    free(b);

    /* every dtype name the format defines parses, with its bit width */
    static const char *names[] = {"F32", "F16", "BF16", "I64", "I32", "U8", "F64", "BOOL", "I8", "I16", "U16",
                                  "U32", "U64", "C64", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ",
                                  "F8_E5M2FNUZ", "F6_E2M3", "F6_E3M2", "F4"};
    int all = 1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        StDtype t = (StDtype)i;
        char hb[160];
        int bytes = 8 * st_dtype_bits(t) / 8;   /* shape [8] */
        snprintf(hb, sizeof hb, "{\"t\":{\"dtype\":\"%s\",\"shape\":[8],\"data_offsets\":[0,%d]}}", names[i], bytes);
        uint8_t zero[64] = {0};
        b = make_st(hb, zero, (size_t)bytes, &len);
        rc = st_parse(b, len, &f, err, sizeof err);
        if (rc != 0 || f.t[0].dtype != t || strcmp(st_dtype_name(t), names[i]) != 0) {
            printf("  dtype %s: %s\n", names[i], rc ? err : "wrong enum");
            all = 0;
        }
        if (rc == 0) st_close(&f);
        free(b);
    }
    CHECK(all && ST_DTYPE_COUNT == 22, "st.all_dtypes_known", "see above");
}

static void test_hostile(void) {
    uint8_t small[7] = {1, 2, 3, 4, 5, 6, 7};
    st_bad_buf("st.bad.empty_file", small, 0, "file of 0 bytes is shorter than the 8-byte header length");
    st_bad_buf("st.bad.7_bytes", small, 7, "file of 7 bytes is shorter");
    st_bad_buf("st.bad.null_buffer", NULL, 100, "shorter");
    uint8_t hl[16] = {100, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    st_bad_buf("st.bad.header_beyond_file", hl, 16, "header length 100 runs past the end of the 16-byte file");
    uint8_t huge[16] = {0, 0, 0, 0, 0, 1, 0, 0};
    st_bad_buf("st.bad.header_absurd", huge, 16, "header length 1099511627776 is absurd");
    uint8_t maxu[16] = {255, 255, 255, 255, 255, 255, 255, 255};
    st_bad_buf("st.bad.header_u64_max", maxu, 16, "is absurd");
    uint8_t just_over[16] = {0x01, 0xE1, 0xF5, 0x05};   /* 100,000,001 */
    st_bad_buf("st.bad.header_100MB_plus_1", just_over, 16, "header length 100000001 is absurd");

    st_bad("st.bad.not_json", "{\"a\": nope}", 0, "safetensors header: line 1 col 8: expected 'null', found 'o'");
    st_bad("st.bad.header_array", "[]", 0, "expected a JSON object, found array");
    st_bad("st.bad.header_trailing", "{} {}", 0, "expected end of input after the value");
    st_bad("st.bad.header_utf8", "{\"\xff\":1}", 0, "invalid UTF-8");
    {
        uint8_t b[8 + 3] = {3, 0, 0, 0, 0, 0, 0, 0, '{', '}', 0};
        st_bad_buf("st.bad.header_nul_byte", b, sizeof b, "found byte 0x00");
    }
    st_bad("st.bad.entry_not_object", "{\"w\": 5}", 0, "tensor 'w': entry must be an object, found number");
    st_bad("st.bad.missing_dtype", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'w': missing \"dtype\"");
    st_bad("st.bad.dtype_number", "{\"w\":{\"dtype\":5,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
           "tensor 'w': \"dtype\" must be a string, found number");
    st_bad("st.bad.unknown_dtype", "{\"x\":{\"dtype\":\"F8_FOO\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
           "tensor 'x': unknown dtype 'F8_FOO'");
    st_bad("st.bad.dtype_lowercase", "{\"x\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype 'f32'");
    st_bad("st.bad.missing_shape", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "tensor 'w': missing \"shape\"");
    st_bad("st.bad.shape_not_array", "{\"w\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,4]}}", 4,
           "tensor 'w': \"shape\" must be an array, found number");
    st_bad("st.bad.shape_negative", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,4]}}", 4,
           "tensor 'w': shape[1] = -1 is not a non-negative integer");
    st_bad("st.bad.shape_fraction", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,4]}}", 4,
           "shape[0] = 2.5 is not a non-negative integer");
    st_bad("st.bad.shape_huge", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,4]}}", 4,
           "tensor 'w': shape[0] = 1.0000000000000001e+300 is too large");
    st_bad("st.bad.shape_2pow53", "{\"w\":{\"dtype\":\"F32\",\"shape\":[9007199254740992],\"data_offsets\":[0,4]}}", 4, "is too large");
    st_bad("st.bad.shape_string", "{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,4]}}", 4,
           "shape[0] is a string, expected a non-negative integer");
    st_bad("st.bad.shape_9_dims", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
           "tensor 'w': shape has 9 dimensions, at most 8 supported");
    st_bad("st.bad.numel_overflow", "{\"w\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,4]}}", 4,
           "tensor 'w': shape has too many elements (size overflow at dimension 1)");
    st_bad("st.bad.bytes_overflow", "{\"w\":{\"dtype\":\"I64\",\"shape\":[4503599627370496,1024],\"data_offsets\":[0,4]}}", 4,
           "tensor 'w': 4611686018427387904 elements of I64 overflow the size type");
    st_bad("st.bad.subbyte_partial", "{\"w\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2,
           "tensor 'w': 3 elements of F4 do not fill whole bytes");
    st_bad("st.bad.missing_offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor 'w': missing \"data_offsets\"");
    st_bad("st.bad.offsets_one", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4,
           "tensor 'w': \"data_offsets\" must be an array [begin, end], found array of 1");
    st_bad("st.bad.offsets_object", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{}}}", 4, "found object of 0");
    st_bad("st.bad.offsets_string", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,\"4\"]}}", 4,
           "tensor 'w': data_offsets[1] is a string");
    st_bad("st.bad.offsets_negative", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4,
           "tensor 'w': data_offsets[0] = -4 is not a non-negative integer");
    st_bad("st.bad.begin_after_end", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8,
           "tensor 'w': data_offsets begin 8 > end 4");
    st_bad("st.bad.end_beyond_data", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 12,
           "tensor 'w': data_offsets end 16 is beyond the data section of 12 bytes");
    st_bad("st.bad.size_mismatch", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 16,
           "tensor 'w': data_offsets span 12 bytes but shape [2, 2] of F32 needs 16");
    st_bad("st.bad.overlap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                             "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 24,
           "tensors 'a' [0, 16) and 'b' [8, 24) overlap");
    st_bad("st.bad.overlap_contained", "{\"big\":{\"dtype\":\"U8\",\"shape\":[32],\"data_offsets\":[0,32]},"
                                       "\"z\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[30,32]},"
                                       "\"in\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}", 32,
           "tensors 'big' [0, 32) and 'in' [4, 8) overlap");
    st_bad("st.bad.same_range", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "overlap");
    st_bad("st.bad.duplicate_name", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                    "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "duplicate key 'w'");
    st_bad("st.bad.metadata_not_object", "{\"__metadata__\":[\"a\"]}", 0,
           "\"__metadata__\" must be an object of strings, found array");
    st_bad("st.bad.metadata_value", "{\"__metadata__\":{\"k\":1}}", 0, "\"__metadata__\" value of 'k' must be a string, found number");
    st_bad("st.bad.deep_header", "{\"w\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
           0, "nesting deeper than 64");
    /* a name with control characters is shown safely */
    st_bad("st.bad.name_sanitised", "{\"a\\u0001b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,3]}}", 4, "tensor 'a?b'");

    /* an empty tensor may sit anywhere, even inside another's range */
    size_t len;
    uint8_t zero[16] = {0};
    uint8_t *b = make_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                         "\"e\":{\"dtype\":\"F32\",\"shape\":[2,0],\"data_offsets\":[8,8]}}", zero, 16, &len);
    StFile f;
    char err[512];
    int rc = st_parse(b, len, &f, err, sizeof err);
    CHECK(rc == 0, "st.ok.empty_tensor_inside_range", "%s", err);
    if (rc == 0) st_close(&f);
    free(b);
    /* I64 cannot be read as float32 */
    b = make_st("{\"idx\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", zero, 16, &len);
    rc = st_parse(b, len, &f, err, sizeof err);
    if (rc == 0) {
        float out[2];
        rc = st_read_f32(&f, &f.t[0], out, 2, err, sizeof err);
        CHECK(rc < 0 && strstr(err, "tensor 'idx': dtype I64 cannot be read as float32"), "st.read_i64_rejected", "%s", err);
        st_close(&f);
    } else CHECK(0, "st.read_i64_rejected", "%s", err);
    free(b);
}

/* Independent binary16 decoding: (-1)^s * 2^(e-15) * (1 + m/1024), or
   2^-14 * m/1024 for e = 0; e = 31 is inf/NaN. */
static double half_ref(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m / 1024.0, -14) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1.0 + m / 1024.0, e - 15);
    return s ? -v : v;
}

static void test_conversions(void) {
    struct { uint16_t h; float want; } f16[] = {
        {0x0000, 0.0f}, {0x3C00, 1.0f}, {0xC000, -2.0f}, {0x0001, 0x1p-24f}, {0x03FF, 1023 * 0x1p-24f},
        {0x0400, 0x1p-14f}, {0x7BFF, 65504.0f}, {0x3555, 0.333251953125f}, {0x8001, -0x1p-24f}, {0x2E66, 0.0999755859375f},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof f16 / sizeof f16[0]; i++)
        if (st_f16_to_f32(f16[i].h) != f16[i].want) { printf("  f16 0x%04x -> %g, want %g\n", f16[i].h, st_f16_to_f32(f16[i].h), f16[i].want); ok = 0; }
    float nz = st_f16_to_f32(0x8000), pinf = st_f16_to_f32(0x7C00), ninf = st_f16_to_f32(0xFC00), nan = st_f16_to_f32(0x7E00);
    CHECK(ok && nz == 0 && signbit(nz) && isinf(pinf) && pinf > 0 && isinf(ninf) && ninf < 0 && isnan(nan),
          "st.f16_hand_picked", "see above (specials: -0 %g inf %g -inf %g nan %g)", nz, pinf, ninf, nan);
    int bad = 0, worst = -1;
    for (uint32_t h = 0; h < 65536; h++) {
        double want = half_ref((uint16_t)h);
        float got = st_f16_to_f32((uint16_t)h);
        int same = isnan(want) ? isnan(got) : ((double)got == want && !signbit(got) == !signbit(want));
        if (!same) { bad++; worst = (int)h; }
    }
    CHECK(bad == 0, "st.f16_all_65536_exact", "%d values differ (last 0x%04x)", bad, worst);
    /* NaN payload kept: quiet bit and payload shift into float's mantissa */
    float pn = st_f16_to_f32(0x7E01);
    uint32_t pb; memcpy(&pb, &pn, 4);
    CHECK(pb == 0x7FC02000u, "st.f16_nan_payload", "0x7e01 -> 0x%08x", pb);

    struct { uint16_t h; float want; } bf[] = {
        {0x3F80, 1.0f}, {0xC049, -3.140625f}, {0x0001, 0x1p-133f}, {0x0080, 0x1p-126f}, {0x7F7F, 3.3895313892515355e38f},
        {0x3DCD, 0.10009765625f},
    };
    ok = 1;
    for (size_t i = 0; i < sizeof bf / sizeof bf[0]; i++)
        if (st_bf16_to_f32(bf[i].h) != bf[i].want) { printf("  bf16 0x%04x -> %g, want %g\n", bf[i].h, st_bf16_to_f32(bf[i].h), bf[i].want); ok = 0; }
    CHECK(ok && isinf(st_bf16_to_f32(0x7F80)) && isnan(st_bf16_to_f32(0x7FC0)) && signbit(st_bf16_to_f32(0x8000)),
          "st.bf16_hand_picked", "see above");
}

/* Exact equality including NaN == NaN and the sign of zero. */
static int same_floats(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i])) { if (!(isnan(a[i]) && isnan(b[i]))) return 0; continue; }
        if (a[i] != b[i] || !signbit(a[i]) != !signbit(b[i])) return 0;
    }
    return 1;
}

static void check_golden_tensor(const StFile *f, const char *name, const char *npy) {
    const StTensor *t = st_find(f, name);
    NpyArray a;
    char err[512], path[128];
    snprintf(path, sizeof path, DATA "%s", npy);
    if (!t || npy_read(path, &a, err, sizeof err) < 0) { CHECK(0, "st.golden_tensor", "%s: %s", name, t ? err : "not found"); return; }
    float *got = malloc(t->numel * sizeof(float));
    int rc = st_read_f32(f, t, got, t->numel, err, sizeof err);
    int shape_ok = a.dtype == NPY_F32 && (size_t)a.numel == t->numel && a.ndim == t->ndim;
    for (int i = 0; shape_ok && i < a.ndim; i++) shape_ok = a.shape[i] == t->shape[i];
    CHECK(rc == 0 && shape_ok && same_floats(got, a.data, t->numel), "st.golden_tensor", "%s: %s", name, rc ? err : "values or shape differ");
    free(got);
    npy_free(&a);
}

static void test_golden_and_open(void) {
    StFile f;
    char err[512];
    int rc = st_open(DATA "tiny.safetensors", &f, err, sizeof err);
    CHECK(rc == 0 && f.n == 4 && f.owned, "st.open_golden", "%s", err);
    if (rc == 0) {
        check_golden_tensor(&f, "a.f32", "tiny_f32.npy");
        check_golden_tensor(&f, "b.f16", "tiny_f16_as_f32.npy");
        check_golden_tensor(&f, "c.bf16", "tiny_bf16_as_f32.npy");
        const StTensor *t = st_find(&f, "d.i64");
        int64_t want[3] = {1, -2, (int64_t)1 << 40}, got[3];
        if (t) memcpy(got, f.data + t->begin, sizeof got);
        CHECK(t && t->dtype == ST_I64 && t->numel == 3 && memcmp(got, want, sizeof got) == 0, "st.golden_i64_bytes", "differs");
        CHECK(st_meta(&f, "format") && strcmp(st_meta(&f, "format"), "pt") == 0, "st.golden_meta", "format missing");
        st_close(&f);
        CHECK(f.t == NULL && f.owned == NULL && f.meta == NULL, "st.close_clears", "fields left set");
        st_close(&f);   /* twice is harmless */
    }

    rc = st_open("/nonexistent/model.safetensors", &f, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "cannot open '/nonexistent/model.safetensors'") && strstr(err, "No such file"),
          "st.open_missing", "%s", err);
    rc = st_open("tests/data", &f, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "not a regular file"), "st.open_directory", "%s", err);

    uint8_t *buf; size_t len;
    if (io_read_file(DATA "tiny.safetensors", 1 << 20, &buf, &len, err, sizeof err) < 0) { CHECK(0, "st.read_golden_bytes", "%s", err); return; }
    char tmp[] = "/tmp/salient_st_XXXXXX";
    int fd = mkstemp(tmp);
    struct { size_t keep; const char *frag; const char *name; } cuts[] = {
        {len - 1, "beyond the data section", "st.open_truncated_data"},
        {len / 2, "runs past the end", "st.open_truncated_header"},
        {5, "file of 5 bytes is shorter", "st.open_truncated_length"},
        {0, "file of 0 bytes is shorter", "st.open_empty_file"},
    };
    for (int k = 0; k < 4 && fd >= 0; k++) {
        if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0 || write(fd, buf, cuts[k].keep) != (ssize_t)cuts[k].keep) break;
        rc = st_open(tmp, &f, err, sizeof err);
        CHECK(rc < 0 && strstr(err, tmp) && strstr(err, cuts[k].frag), cuts[k].name, "%s", err);
        if (rc == 0) st_close(&f);
    }
    if (fd >= 0) { close(fd); unlink(tmp); }
    free(buf);
}

/* 20,000 mutated copies of a valid file through st_parse: it must never
   crash (ASan/UBSan make that strict), every rejection must carry a message,
   and every accepted file must satisfy the invariants the reader promises. */
static void test_mini_fuzz(void) {
    uint8_t *seed; size_t slen;
    char err[512];
    if (io_read_file(DATA "tiny.safetensors", 1 << 20, &seed, &slen, err, sizeof err) < 0) { CHECK(0, "st.fuzz", "%s", err); return; }
    EngRng r;
    eng_rng_seed(&r, 20240601);   /* fixed seed: the same 20,000 inputs every run */
    uint8_t *buf = malloc(slen * 2 + 64);
    static const uint8_t interesting[] = {'"', '{', '}', '[', ']', ',', ':', '-', '0', '9', 'e', '.', '\\', 0, 0xff, 0x80, ' '};
    int accepted = 0, rejected = 0, silent = 0, broken = 0;
    for (int it = 0; it < 20000; it++) {
        size_t len = slen;
        memcpy(buf, seed, slen);
        int nmut = 1 + (int)eng_rng_below(&r, 4);
        for (int m = 0; m < nmut; m++) {
            uint32_t kind = eng_rng_below(&r, 6);
            size_t pos = len ? eng_rng_below(&r, (uint32_t)len) : 0;
            if (kind == 0 && len) {                                 /* flip 1..8 bits */
                int nb = 1 + (int)eng_rng_below(&r, 8);
                for (int k = 0; k < nb; k++) buf[eng_rng_below(&r, (uint32_t)len)] ^= (uint8_t)(1u << eng_rng_below(&r, 8));
            } else if (kind == 1) {                                 /* truncate */
                len = pos;
            } else if (kind == 2 && len < slen * 2) {               /* insert 1..8 random bytes */
                size_t n = 1 + eng_rng_below(&r, 8);
                if (len + n > slen * 2) n = slen * 2 - len;
                memmove(buf + pos + n, buf + pos, len - pos);
                for (size_t k = 0; k < n; k++) buf[pos + k] = (uint8_t)eng_rng_next(&r);
                len += n;
            } else if (kind == 3 && len) {                          /* a JSON-significant byte */
                buf[pos] = interesting[eng_rng_below(&r, sizeof interesting)];
            } else if (kind == 4 && len > 1) {                      /* delete 1..16 bytes */
                size_t n = 1 + eng_rng_below(&r, 16);
                if (n > len - pos) n = len - pos;
                memmove(buf + pos, buf + pos + n, len - pos - n);
                len -= n;
            } else if (kind == 5 && len >= 8) {                     /* tweak the header length */
                int64_t d = (int64_t)eng_rng_below(&r, 33) - 16;
                buf[0] = (uint8_t)(buf[0] + d);
            }
        }
        StFile f;
        err[0] = 0;
        if (st_parse(buf, len, &f, err, sizeof err) < 0) {
            rejected++;
            if (err[0] == 0) silent++;
            continue;
        }
        accepted++;
        for (int i = 0; i < f.n; i++) {
            const StTensor *t = &f.t[i];
            size_t bytes = t->numel * (size_t)st_dtype_bits(t->dtype) / 8;
            if (t->end > f.data_len || t->begin > t->end || t->end - t->begin != bytes || st_find(&f, t->name) != t) broken++;
            if ((t->dtype == ST_F32 || t->dtype == ST_F16 || t->dtype == ST_BF16) && t->numel <= 4096) {
                float *dst = malloc(t->numel * sizeof(float) + 1);
                if (st_read_f32(&f, t, dst, t->numel, err, sizeof err) < 0) broken++;
                free(dst);
            }
        }
        st_close(&f);
    }
    printf("  mini-fuzz: 20000 mutations, %d accepted, %d rejected\n", accepted, rejected);
    CHECK(silent == 0 && broken == 0 && accepted + rejected == 20000, "st.mini_fuzz_20000",
          "%d rejections without a message, %d accepted files breaking an invariant", silent, broken);
    CHECK(rejected > 10000 && accepted > 100, "st.mini_fuzz_reaches_both_outcomes", "accepted %d rejected %d", accepted, rejected);
    free(buf);
    free(seed);
}

/* weights_normalisation: options over metadata over ImageNet's; gray models get the luminance of ImageNet's. */
static void test_normalisation(void) {
    WeightsInfo info;
    memset(&info, 0, sizeof info);
    float m[4], s[4], om[3] = {0.1f, 0.2f, 0.3f}, os[1] = {0.5f};
    weights_normalisation(&info, 3, NULL, 0, NULL, 0, m, s);
    CHECK(m[0] == 0.485f && m[2] == 0.406f && s[1] == 0.224f, "normalisation: ImageNet's by default", "%g %g", m[0], s[1]);
    weights_normalisation(&info, 1, NULL, 0, NULL, 0, m, s);
    CHECK(m[0] == 0.299f * 0.485f + 0.587f * 0.456f + 0.114f * 0.406f && s[0] == 0.299f * 0.229f + 0.587f * 0.224f + 0.114f * 0.225f,
          "normalisation: a gray model gets the luminance of ImageNet's", "%.9g %.9g", m[0], s[0]);
    info.n_mean = 1; info.mean[0] = 0.25f; info.n_std = 3; info.std[0] = 0.1f; info.std[1] = 0.2f; info.std[2] = 0.3f;
    weights_normalisation(&info, 3, NULL, 0, NULL, 0, m, s);
    CHECK(m[0] == 0.25f && m[2] == 0.25f && s[2] == 0.3f, "normalisation: the metadata's, one value for every channel", "%g %g", m[2], s[2]);
    weights_normalisation(&info, 3, om, 3, os, 1, m, s);
    CHECK(m[1] == 0.2f && s[0] == 0.5f && s[2] == 0.5f, "normalisation: the options over the metadata", "%g %g", m[1], s[2]);
    weights_normalisation(&info, 1, om, 3, NULL, 0, m, s);
    CHECK(m[0] == 0.1f, "normalisation: a gray model with 3 given values takes the first", "%g", m[0]);
}

int main(void) {
    test_normalisation();
    test_valid();
    test_hostile();
    test_conversions();
    test_golden_and_open();
    test_mini_fuzz();
    CHECK_DONE();
}
