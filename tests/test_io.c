/* test_io.c - tests of io/: the JSON parser and writer, SHA-256 (NIST
   vectors), .npy read/write (against numpy-written files, byte for byte),
   and images (decode, torch-exact resize, luminance, errors).
   Reference data: tests/data/io/, made by tools/make_io_golden.py. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <sys/stat.h>

#include "engine/rng.h"
#include "io/file.h"
#include "io/image.h"
#include "io/json.h"
#include "io/npy.h"
#include "io/sha256.h"
#include "tests/check.h"

#define DATA "tests/data/io/"

/* ------------------------------------------------------------------ */
/* JSON                                                                */

static JsonValue *parse_str(const char *s, char *err, size_t errlen) {
    return json_parse(s, strlen(s), err, errlen);
}

/* Expects s to be rejected with a message containing frag. */
static void json_bad(const char *name, const char *s, size_t len, const char *frag) {
    char err[256] = "";
    JsonValue *v = json_parse(s, len, err, sizeof err);
    CHECK(!v && strstr(err, frag) != NULL, name, "expected rejection with '%s', got %s '%s'",
          frag, v ? "acceptance" : "error", err);
    json_free(v);
}
#define JSON_BAD(name, lit, frag) json_bad(name, lit, sizeof(lit) - 1, frag)

static void test_json_valid(void) {
    char err[256];
    const char *doc = " {\"a\": [1, 2.5, -3e2, true, false, null, \"x\\u00e9\\ud83d\\ude00\\n\"],\r\n"
                      "\t\"b\": {}, \"c\": [], \"d\": -0, \"e\": 0.5E-3, \"f\": 1e-400, \"\": \"empty key\"} ";
    JsonValue *v = parse_str(doc, err, sizeof err);
    CHECK(v != NULL, "json.valid_doc", "%s", err);
    if (!v) return;
    const JsonValue *a = json_get(v, "a");
    CHECK(json_type(v) == JSON_OBJECT && json_len(v) == 7, "json.object_len", "type %d len %zu", json_type(v), json_len(v));
    CHECK(json_type(a) == JSON_ARRAY && json_len(a) == 7, "json.array_len", "len %zu", json_len(a));
    CHECK(json_number(json_at(a, 0)) == 1 && json_number(json_at(a, 1)) == 2.5 && json_number(json_at(a, 2)) == -300,
          "json.numbers", "%g %g %g", json_number(json_at(a, 0)), json_number(json_at(a, 1)), json_number(json_at(a, 2)));
    CHECK(json_bool(json_at(a, 3)) == 1 && json_type(json_at(a, 4)) == JSON_BOOL && json_bool(json_at(a, 4)) == 0 &&
          json_type(json_at(a, 5)) == JSON_NULL, "json.literals", "bad true/false/null");
    const char *s = json_string(json_at(a, 6));
    CHECK(s && strcmp(s, "x\xC3\xA9\xF0\x9F\x98\x80\n") == 0 && json_string_len(json_at(a, 6)) == 8,
          "json.unicode_escapes", "got '%s'", s ? s : "(null)");
    CHECK(json_number(json_get(v, "d")) == 0 && signbit(json_number(json_get(v, "d"))), "json.minus_zero", "no -0");
    CHECK(json_number(json_get(v, "e")) == 0.5e-3 && json_number(json_get(v, "f")) == 0.0, "json.exponents",
          "%g %g", json_number(json_get(v, "e")), json_number(json_get(v, "f")));
    CHECK(strcmp(json_key_at(v, 0), "a") == 0 && strcmp(json_key_at(v, 6), "") == 0 &&
          strcmp(json_string(json_get(v, "")), "empty key") == 0, "json.key_order", "keys out of file order");
    CHECK(json_get(v, "zz") == NULL && json_get(a, "a") == NULL && json_at(a, 7) == NULL && json_key_at(a, 0) == NULL &&
          json_string(a) == NULL && json_number(a) == 0 && json_len(json_at(a, 0)) == 0 && json_get(NULL, "a") == NULL,
          "json.accessors_total", "wrong-type access did not give NULL/0");
    json_free(v);

    /* many keys: json_get is a binary search over a sorted index */
    char *big = malloc(200000);
    size_t k = 0;
    big[k++] = '{';
    for (int i = 0; i < 5000; i++) k += (size_t)sprintf(big + k, "%s\"k%d\":%d", i ? "," : "", (i * 7919) % 5000, i);
    big[k++] = '}';
    v = json_parse(big, k, err, sizeof err);
    int ok = v && json_len(v) == 5000;
    for (int i = 0; ok && i < 5000; i++) {
        char key[16]; sprintf(key, "k%d", (i * 7919) % 5000);
        ok = json_number(json_get(v, key)) == i;
    }
    CHECK(ok, "json.get_5000_keys", "lookup failed (%s)", v ? "wrong value" : err);
    json_free(v);
    free(big);

    /* depth 64 accepted, 65 rejected */
    char deep[200];
    memset(deep, '[', 64); memset(deep + 64, ']', 64);
    v = json_parse(deep, 128, err, sizeof err);
    CHECK(v != NULL, "json.depth_64_ok", "%s", err);
    json_free(v);
    memset(deep, '[', 65); memset(deep + 65, ']', 65);
    v = json_parse(deep, 130, err, sizeof err);
    CHECK(!v && strstr(err, "nesting deeper than 64"), "json.depth_65_rejected", "%s", v ? "accepted" : err);
    json_free(v);
}

static void test_json_invalid(void) {
    JSON_BAD("json.bad.empty", "", "expected a value, found end of input");
    JSON_BAD("json.bad.ws_only", "  \n ", "line 2 col 2: expected a value");
    JSON_BAD("json.bad.trailing_comma_array", "[1,]", "expected a value (object, array, string, number, true, false or null), found ']'");
    JSON_BAD("json.bad.trailing_comma_object", "{\"a\":1,}", "expected a '\"' starting an object key, found '}'");
    JSON_BAD("json.bad.missing_comma", "[1 2]", "expected ',' or ']', found '2'");
    JSON_BAD("json.bad.missing_colon", "{\"a\" 1}", "expected ':' after an object key, found '1'");
    JSON_BAD("json.bad.unclosed_array", "[1, 2", "expected ',' or ']', found end of input");
    JSON_BAD("json.bad.unclosed_object", "{\"a\": 1", "expected ',' or '}', found end of input");
    JSON_BAD("json.bad.key_not_string", "{1: 2}", "expected a '\"' starting an object key, found '1'");
    JSON_BAD("json.bad.leading_zero", "012", "leading zeros");
    JSON_BAD("json.bad.dot_no_digit", "1.", "expected a digit after '.', found end of input");
    JSON_BAD("json.bad.lone_minus", "-", "expected a digit, found end of input");
    JSON_BAD("json.bad.plus", "+1", "found '+'");
    JSON_BAD("json.bad.dot_first", ".5", "found '.'");
    JSON_BAD("json.bad.exp_no_digit", "1e+", "expected a digit in the exponent");
    JSON_BAD("json.bad.huge_number", "1e400", "out of range");
    JSON_BAD("json.bad.nan", "NaN", "found 'N'");
    JSON_BAD("json.bad.infinity", "[Infinity]", "found 'I'");
    JSON_BAD("json.bad.tru", "tru", "expected 'true', found end of input");
    JSON_BAD("json.bad.nul", "[nul]", "expected 'null', found ']'");
    JSON_BAD("json.bad.unterminated_string", "\"abc", "unterminated string");
    JSON_BAD("json.bad.bad_escape", "\"a\\x\"", "expected an escape");
    JSON_BAD("json.bad.short_u_escape", "\"\\u12\"", "4 hex digits after \\u");
    JSON_BAD("json.bad.nonhex_u_escape", "\"\\u12G4\"", "4 hex digits after \\u, found 'G'");
    JSON_BAD("json.bad.lone_high_surrogate", "\"\\ud800\"", "not followed by a low surrogate");
    JSON_BAD("json.bad.high_then_char", "\"\\ud800\\u0041\"", "not followed by a low surrogate");
    JSON_BAD("json.bad.lone_low_surrogate", "\"\\udc00\"", "lone low surrogate");
    JSON_BAD("json.bad.u0000", "\"a\\u0000b\"", "\\u0000 (NUL) is not allowed");
    JSON_BAD("json.bad.raw_control", "\"a\x01" "b\"", "control byte 0x01");
    JSON_BAD("json.bad.raw_newline", "\"a\nb\"", "control byte 0x0a");
    JSON_BAD("json.bad.raw_nul_in_string", "\"a\0b\"", "control byte 0x00");
    JSON_BAD("json.bad.nul_after_value", "[1]\0", "expected end of input after the value, found byte 0x00");
    JSON_BAD("json.bad.invalid_utf8", "\"\xff\"", "invalid UTF-8 byte 0xff");
    JSON_BAD("json.bad.overlong_utf8", "\"\xc0\xaf\"", "invalid UTF-8 byte 0xc0");
    JSON_BAD("json.bad.utf8_surrogate", "\"\xed\xa0\x80\"", "invalid UTF-8 byte 0xed");
    JSON_BAD("json.bad.utf8_truncated", "\"\xe2\x82\"", "invalid UTF-8");
    JSON_BAD("json.bad.utf8_above_10ffff", "\"\xf4\x90\x80\x80\"", "invalid UTF-8");
    JSON_BAD("json.bad.two_values", "1 2", "expected end of input after the value, found '2'");
    JSON_BAD("json.bad.garbage_after_object", "{}x", "found 'x'");
    JSON_BAD("json.bad.duplicate_key", "{\"a\":1,\"b\":2,\"a\":3}", "col 14: duplicate key 'a' in object");
    JSON_BAD("json.bad.comment", "// c\n1", "found '/'");
    JSON_BAD("json.bad.bom", "\xef\xbb\xbf{}", "found byte 0xef");
    JSON_BAD("json.bad.single_quotes", "{'a':1}", "found '''");
    JSON_BAD("json.bad.line_col", "{\n  \"a\": x\n}", "line 2 col 8: expected a value");
    char err[64];
    CHECK(json_parse(NULL, 0, err, sizeof err) == NULL, "json.bad.null_text", "NULL text accepted");

    /* 10,000 '[' and 10,000 '{"a":' must fail on the depth limit, not the stack */
    size_t n = 10000;
    char *deep = malloc(n * 5 + 1);
    memset(deep, '[', n);
    json_bad("json.bad.deep_10000_arrays", deep, n, "nesting deeper than 64");
    for (size_t i = 0; i < n; i++) memcpy(deep + 5 * i, "{\"a\":", 5);
    json_bad("json.bad.deep_10000_objects", deep, 5 * n, "nesting deeper than 64");
    free(deep);
    /* a long number is refused instead of overflowing the bounded copy */
    char longnum[700];
    memset(longnum, '1', sizeof longnum);
    json_bad("json.bad.number_too_long", longnum, sizeof longnum, "number of 700 characters");
}

/* Writes with a JsonWriter into a memory stream and returns the text. */
static char *writer_text(void (*fn)(JsonWriter *), int pretty, int *werr) {
    char *buf = NULL; size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    JsonWriter w;
    jw_init(&w, f, pretty);
    fn(&w);
    *werr = jw_error(&w);
    fclose(f);
    return buf;
}

static void write_doc(JsonWriter *w) {
    jw_object_begin(w);
    jw_kv_int(w, "a", 1);
    jw_key(w, "b"); jw_array_begin(w); jw_bool(w, 1); jw_null(w); jw_string(w, "x"); jw_array_end(w);
    jw_key(w, "c"); jw_object_begin(w); jw_object_end(w);
    jw_key(w, "d"); jw_array_begin(w); jw_array_end(w);
    jw_kv_number(w, "e", 0.1);
    jw_object_end(w);
}

static void write_tricky(JsonWriter *w) {
    jw_array_begin(w);
    jw_string(w, "q\" b\\ s/ \b\f\n\r\t \x01\x1f \xC3\xA9 \xF0\x9F\x98\x80 bad\xff end");
    jw_number(w, 0.1); jw_number(w, 1.0 / 3.0); jw_number(w, 1e-300); jw_number(w, -0.0);
    jw_number(w, NAN); jw_number(w, INFINITY); jw_number(w, 0.1 + 0.2); jw_number(w, 5e-324);
    jw_int(w, -9007199254740993LL);
    jw_kv_bool(w, "k", 1);   /* misuse: a key inside an array sets the error flag */
    jw_array_end(w);
}

static void write_misuse(JsonWriter *w) {
    jw_array_begin(w);
    jw_array_end(w);
    jw_int(w, 2);            /* second top-level value */
}

static int skip_seconds(const char *k) { return !strcmp(k, "seconds"); }

static void test_json_equal(void) {
    char err[256];
    JsonValue *a = parse_str("{\"x\": [1, 2, {\"s\": \"t\"}], \"seconds\": 3, \"n\": null}", err, sizeof err);
    JsonValue *b = parse_str("{\"n\": null, \"seconds\": 4, \"x\": [1, 2, {\"s\": \"t\"}]}", err, sizeof err);
    JsonValue *c = parse_str("{\"n\": null, \"seconds\": 3, \"x\": [2, 1, {\"s\": \"t\"}]}", err, sizeof err);
    JsonValue *d = parse_str("{\"n\": false, \"seconds\": 3, \"x\": [1, 2, {\"s\": \"t\"}]}", err, sizeof err);
    CHECK(a && b && c && d && json_equal(a, b, skip_seconds) && !json_equal(a, b, NULL) && !json_equal(a, c, skip_seconds) &&
              !json_equal(a, d, skip_seconds) && json_equal(NULL, json_get(a, "n"), NULL) && !json_equal(a, NULL, NULL),
          "json.equal: members in any order, skipped keys, arrays in order, types", "a comparison went wrong");
    json_free(a); json_free(b); json_free(c); json_free(d);
}

static void test_json_writer(void) {
    int werr;
    char *t = writer_text(write_doc, 0, &werr);
    CHECK(!werr && strcmp(t, "{\"a\":1,\"b\":[true,null,\"x\"],\"c\":{},\"d\":[],\"e\":0.1}") == 0,
          "jw.compact_exact", "got '%s' (error %d)", t, werr);
    free(t);
    t = writer_text(write_doc, 1, &werr);
    const char *want = "{\n  \"a\": 1,\n  \"b\": [\n    true,\n    null,\n    \"x\"\n  ],\n  \"c\": {},\n  \"d\": [],\n  \"e\": 0.1\n}\n";
    CHECK(!werr && strcmp(t, want) == 0, "jw.pretty_exact", "got\n%s", t);
    char err[256];
    JsonValue *v = parse_str(t, err, sizeof err);
    CHECK(v && json_len(json_get(v, "b")) == 3 && json_number(json_get(v, "e")) == 0.1, "jw.pretty_parses", "%s", err);
    json_free(v);
    free(t);

    t = writer_text(write_tricky, 0, &werr);
    CHECK(werr, "jw.key_in_array_is_error", "no error flagged");
    free(t);
    t = writer_text(write_misuse, 0, &werr);
    CHECK(werr, "jw.second_top_level_value_is_error", "no error flagged");
    free(t);

    /* round trip: everything but the misuse at the end of write_tricky */
    char *buf = NULL; size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    JsonWriter w;
    jw_init(&w, f, 1);
    jw_array_begin(&w);
    jw_string(&w, "q\" b\\ s/ \b\f\n\r\t \x01\x1f \xC3\xA9 \xF0\x9F\x98\x80 bad\xff end");
    double nums[] = {0.1, 1.0 / 3.0, 1e-300, -0.0, NAN, INFINITY, 0.1 + 0.2, 5e-324, 1.7976931348623157e308};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) jw_number(&w, nums[i]);
    jw_int(&w, -9007199254740993LL);
    jw_array_end(&w);
    int e = jw_error(&w);
    fclose(f);
    v = json_parse(buf, len, err, sizeof err);
    CHECK(!e && v, "jw.roundtrip_parses", "%s\n%s", err, buf);
    if (v) {
        const char *s = json_string(json_at(v, 0));
        CHECK(s && strcmp(s, "q\" b\\ s/ \b\f\n\r\t \x01\x1f \xC3\xA9 \xF0\x9F\x98\x80 bad\xEF\xBF\xBD end") == 0,
              "jw.roundtrip_string", "got '%s'", s ? s : "(null)");
        int ok = 1;
        for (size_t i = 0; i < 9; i++) {
            const JsonValue *x = json_at(v, 1 + i);
            if (!isfinite(nums[i])) ok &= json_type(x) == JSON_NULL;
            else ok &= json_type(x) == JSON_NUMBER && json_number(x) == nums[i] && !signbit(json_number(x)) == !signbit(nums[i]);
        }
        CHECK(ok, "jw.roundtrip_numbers", "a number did not read back exactly (non-finite -> null)");
        CHECK(strstr(buf, "-9007199254740993") != NULL, "jw.int_exact", "long long not written exactly");
    }
    json_free(v);
    free(buf);

    char nb[32];
    CHECK(strcmp(jw_format_number(0.1, nb), "0.1") == 0, "jw.shortest_0.1", "%s", nb);
    CHECK(strcmp(jw_format_number(1.0 / 3.0, nb), "0.3333333333333333") == 0, "jw.shortest_third", "%s", nb);
    CHECK(strcmp(jw_format_number(0.1 + 0.2, nb), "0.30000000000000004") == 0, "jw.shortest_17_digits", "%s", nb);
    CHECK(strcmp(jw_format_number(NAN, nb), "null") == 0, "jw.nan_null", "%s", nb);
    /* 100,000 random bit patterns read back exactly */
    EngRng r;
    eng_rng_seed(&r, 7);
    int bad = 0;
    for (int i = 0; i < 100000; i++) {
        uint64_t bits = eng_rng_next(&r);
        double x; memcpy(&x, &bits, 8);
        if (!isfinite(x)) continue;
        jw_format_number(x, nb);
        if (strtod(nb, NULL) != x) bad++;
    }
    CHECK(bad == 0, "jw.roundtrip_100000_random_doubles", "%d did not read back", bad);
}

/* ------------------------------------------------------------------ */
/* SHA-256 (FIPS 180-4 examples / NIST CSRC vectors)                   */

static void test_sha256(void) {
    char hex[65];
    sha256_hex("abc", 3, hex);
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0, "sha256.abc", "%s", hex);
    sha256_hex("", 0, hex);
    CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0, "sha256.empty", "%s", hex);
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(m448, strlen(m448), hex);
    CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0, "sha256.448bit", "%s", hex);
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    sha256_hex(m896, strlen(m896), hex);
    CHECK(strcmp(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1") == 0, "sha256.896bit", "%s", hex);
    /* one million 'a', fed in uneven pieces */
    char *ma = malloc(1000000);
    memset(ma, 'a', 1000000);
    Sha256 s; uint8_t d[32];
    sha256_init(&s);
    size_t off = 0, step = 1;
    while (off < 1000000) {
        size_t n = step < 1000000 - off ? step : 1000000 - off;
        sha256_update(&s, ma + off, n);
        off += n; step = step * 3 % 1009 + 1;
    }
    sha256_final(&s, d);
    sha256_to_hex(d, hex);
    CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0, "sha256.million_a", "%s", hex);
    /* the file path streams the same bytes */
    char path[] = "/tmp/salient_sha_XXXXXX";
    int fd = mkstemp(path);
    int wrote = fd >= 0 && write(fd, ma, 1000000) == 1000000;
    if (fd >= 0) close(fd);
    char fhex[65] = "";
    CHECK(wrote && sha256_file(path, fhex) == 0 && strcmp(fhex, hex) == 0, "sha256.file", "%s", fhex);
    unlink(path);
    CHECK(sha256_file("/nonexistent/salient.bin", fhex) == -1, "sha256.file_missing", "no error");
    free(ma);
}

/* ------------------------------------------------------------------ */
/* npy                                                                 */

static int read_golden(const char *name, NpyArray *a) {
    char err[512], path[256];
    snprintf(path, sizeof path, DATA "%s", name);
    int rc = npy_read(path, a, err, sizeof err);
    if (rc < 0) printf("FAIL npy.read_golden %s: %s\n", name, err), check_failures_++;
    return rc;
}

static int shape_is(const NpyArray *a, int ndim, const int64_t *shape) {
    if (a->ndim != ndim) return 0;
    for (int i = 0; i < ndim; i++) if (a->shape[i] != shape[i]) return 0;
    return 1;
}

static void test_npy_golden(void) {
    NpyArray a;
    if (read_golden("np_f4.npy", &a) == 0) {
        const float *x = a.data; int ok = a.dtype == NPY_F32 && shape_is(&a, 2, (int64_t[]){2, 3}) && a.numel == 6;
        for (int i = 0; ok && i < 6; i++) ok = x[i] == i * 0.5f - 1.0f;
        CHECK(ok, "npy.read_f4", "dtype %d ndim %d numel %zu", a.dtype, a.ndim, a.numel);
        npy_free(&a);
    }
    if (read_golden("np_f4_1d.npy", &a) == 0) {
        const float *x = a.data;
        CHECK(a.ndim == 1 && a.shape[0] == 5 && x[0] == 1.5f && x[1] == -2.25f && x[2] == 3.0e-39f && x[3] == 1e30f &&
              x[4] == 0 && signbit(x[4]), "npy.read_f4_1d", "values differ");
        npy_free(&a);
    }
    if (read_golden("np_f4_0d.npy", &a) == 0) {
        CHECK(a.ndim == 0 && a.numel == 1 && ((float *)a.data)[0] == 7.25f, "npy.read_0d", "ndim %d numel %zu", a.ndim, a.numel);
        npy_free(&a);
    }
    if (read_golden("np_f4_empty.npy", &a) == 0) {
        CHECK(a.ndim == 2 && a.shape[0] == 0 && a.shape[1] == 3 && a.numel == 0 && a.data, "npy.read_empty", "ndim %d", a.ndim);
        npy_free(&a);
    }
    if (read_golden("np_f8.npy", &a) == 0) {
        const double *x = a.data;
        CHECK(a.dtype == NPY_F64 && a.numel == 4 && x[0] == 0.1 && x[1] == -1e300 && x[2] == 2.5 && x[3] == 1.0 / 3.0,
              "npy.read_f8", "values differ");
        float *f = npy_to_f32(&a);
        CHECK(f && f[0] == 0.1f && isinf(f[1]) && f[1] < 0 && f[3] == (float)(1.0 / 3.0), "npy.f8_to_f32", "conversion wrong");
        free(f);
        npy_free(&a);
    }
    if (read_golden("np_u1.npy", &a) == 0) {
        const uint8_t want[6] = {0, 1, 128, 255, 7, 42};
        CHECK(a.dtype == NPY_U8 && shape_is(&a, 2, (int64_t[]){3, 2}) && memcmp(a.data, want, 6) == 0, "npy.read_u1", "differs");
        float *f = npy_to_f32(&a);
        CHECK(f && f[3] == 255.0f && f[5] == 42.0f, "npy.u1_to_f32", "conversion wrong");
        free(f);
        npy_free(&a);
    }
    if (read_golden("np_b1.npy", &a) == 0) {
        const uint8_t want[5] = {1, 0, 1, 1, 0};
        CHECK(a.dtype == NPY_BOOL && a.numel == 5 && memcmp(a.data, want, 5) == 0, "npy.read_b1", "differs");
        npy_free(&a);
    }
    if (read_golden("np_i4.npy", &a) == 0) {
        const int32_t want[8] = {-5, 0, 7, 2147483647, -2147483647 - 1, 12, 13, 14};
        CHECK(a.dtype == NPY_I32 && shape_is(&a, 3, (int64_t[]){2, 2, 2}) && memcmp(a.data, want, 32) == 0, "npy.read_i4", "differs");
        npy_free(&a);
    }
    if (read_golden("np_i8.npy", &a) == 0) {
        const int64_t want[3] = {-3, (int64_t)1 << 40, 9};
        CHECK(a.dtype == NPY_I64 && a.numel == 3 && memcmp(a.data, want, 24) == 0, "npy.read_i8", "differs");
        float *f = npy_to_f32(&a);
        CHECK(f && f[0] == -3.0f && f[1] == 1099511627776.0f, "npy.i8_to_f32", "conversion wrong");
        free(f);
        npy_free(&a);
    }
    for (int ver = 2; ver <= 3; ver++) {
        char name[32]; snprintf(name, sizeof name, "np_v%d.npy", ver);
        if (read_golden(name, &a) == 0) {
            const float *x = a.data;
            CHECK(a.dtype == NPY_F32 && shape_is(&a, 2, (int64_t[]){2, 2}) && x[0] == 1 && x[3] == 4,
                  ver == 2 ? "npy.read_version_2" : "npy.read_version_3", "differs");
            npy_free(&a);
        }
    }
}

static int files_equal(const char *a, const char *b) {
    uint8_t *x, *y; size_t nx, ny; char err[256];
    if (io_read_file(a, 1 << 20, &x, &nx, err, sizeof err) < 0) return 0;
    if (io_read_file(b, 1 << 20, &y, &ny, err, sizeof err) < 0) { free(x); return 0; }
    int eq = nx == ny && memcmp(x, y, nx) == 0;
    free(x); free(y);
    return eq;
}

/* npy_write_* must give the exact bytes numpy.save gave for the same array. */
static void test_npy_write(void) {
    char err[256], tmp[] = "/tmp/salient_npy_XXXXXX";
    int fd = mkstemp(tmp);
    if (fd >= 0) close(fd);
    float f23[6]; for (int i = 0; i < 6; i++) f23[i] = i * 0.5f - 1.0f;
    int rc = npy_write_f32(tmp, f23, 2, (int64_t[]){2, 3}, err, sizeof err);
    CHECK(rc == 0 && files_equal(tmp, DATA "np_f4.npy"), "npy.write_f32_2d_bytes_equal_numpy", "%s", rc ? err : "bytes differ");
    float f5[5] = {1.5f, -2.25f, 3.0e-39f, 1e30f, -0.0f};
    rc = npy_write_f32(tmp, f5, 1, (int64_t[]){5}, err, sizeof err);
    CHECK(rc == 0 && files_equal(tmp, DATA "np_f4_1d.npy"), "npy.write_f32_1d_bytes_equal_numpy", "%s", rc ? err : "bytes differ");
    float f0 = 7.25f;
    rc = npy_write_f32(tmp, &f0, 0, NULL, err, sizeof err);
    CHECK(rc == 0 && files_equal(tmp, DATA "np_f4_0d.npy"), "npy.write_f32_0d_bytes_equal_numpy", "%s", rc ? err : "bytes differ");
    rc = npy_write_f32(tmp, NULL, 2, (int64_t[]){0, 3}, err, sizeof err);
    CHECK(rc == 0 && files_equal(tmp, DATA "np_f4_empty.npy"), "npy.write_empty_bytes_equal_numpy", "%s", rc ? err : "bytes differ");
    const uint8_t u[6] = {0, 1, 128, 255, 7, 42};
    rc = npy_write_u8(tmp, u, 2, (int64_t[]){3, 2}, err, sizeof err);
    CHECK(rc == 0 && files_equal(tmp, DATA "np_u1.npy"), "npy.write_u8_bytes_equal_numpy", "%s", rc ? err : "bytes differ");

    /* round trip of a 4-D array with random values */
    EngRng r; eng_rng_seed(&r, 11);
    float x[120];
    for (int i = 0; i < 120; i++) x[i] = (float)eng_rng_normal(&r);
    NpyArray a;
    rc = npy_write_f32(tmp, x, 4, (int64_t[]){2, 3, 4, 5}, err, sizeof err);
    rc = rc ? rc : npy_read(tmp, &a, err, sizeof err);
    CHECK(rc == 0 && shape_is(&a, 4, (int64_t[]){2, 3, 4, 5}) && memcmp(a.data, x, sizeof x) == 0, "npy.roundtrip_4d", "%s", err);
    if (rc == 0) npy_free(&a);
    CHECK(npy_write_f32(tmp, x, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, err, sizeof err) < 0 && strstr(err, "ndim 9"),
          "npy.write_rejects_9_dims", "%s", err);
    CHECK(npy_write_f32(tmp, x, 1, (int64_t[]){-1}, err, sizeof err) < 0 && strstr(err, "negative"), "npy.write_rejects_negative", "%s", err);
    CHECK(npy_write_f32("/nonexistent/dir/x.npy", x, 1, (int64_t[]){1}, err, sizeof err) < 0 && strstr(err, "cannot create"),
          "npy.write_bad_path", "%s", err);
    unlink(tmp);
}

/* A .npy in memory: magic, version, header padded like numpy, data. */
static uint8_t *make_npy(int major, const char *dict, size_t data_bytes, size_t *len) {
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t hlen = dl + 1, pad = 64 - (pre + hlen) % 64;
    if (pad == 64) pad = 0;
    hlen += pad;
    *len = pre + hlen + data_bytes;
    uint8_t *b = calloc(1, *len);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (uint8_t)major; b[7] = 0;
    b[8] = (uint8_t)(hlen & 0xff); b[9] = (uint8_t)(hlen >> 8);
    memcpy(b + pre, dict, dl);
    memset(b + pre + dl, ' ', pad);
    b[pre + hlen - 1] = '\n';
    return b;
}

static void npy_bad(const char *name, const uint8_t *b, size_t len, const char *frag) {
    char err[256] = "";
    NpyArray a;
    int rc = npy_parse(b, len, &a, err, sizeof err);
    CHECK(rc < 0 && strstr(err, frag) != NULL, name, "expected rejection with '%s', got rc %d '%s'", frag, rc, err);
    if (rc == 0) npy_free(&a);
}

static void npy_bad_dict(const char *name, const char *dict, size_t data_bytes, const char *frag) {
    size_t len;
    uint8_t *b = make_npy(1, dict, data_bytes, &len);
    npy_bad(name, b, len, frag);
    free(b);
}

static void test_npy_bad(void) {
    const char *good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    size_t len;
    uint8_t *b = make_npy(1, good, 24, &len);
    NpyArray a; char err[256];
    CHECK(npy_parse(b, len, &a, err, sizeof err) == 0, "npy.bad.control_is_good", "%s", err);
    npy_free(&a);
    npy_bad("npy.bad.truncated_data", b, len - 1, "data is 23 bytes but shape and dtype <f4 need 24 (file truncated)");
    uint8_t *big = calloc(1, len + 1); memcpy(big, b, len);
    npy_bad("npy.bad.trailing_byte", big, len + 1, "(trailing bytes)");
    free(big);
    npy_bad("npy.bad.truncated_header", b, 40, "runs past the end");
    npy_bad("npy.bad.tiny", b, 5, "not a .npy file");
    b[0] = 'X';
    npy_bad("npy.bad.magic", b, len, "not a .npy file");
    b[0] = 0x93; b[6] = 4;
    npy_bad("npy.bad.version_4", b, len, "version 4.0 not supported");
    b[6] = 1; b[7] = 1;
    npy_bad("npy.bad.version_1_1", b, len, "version 1.1 not supported");
    free(b);
    /* version 2.0 with a 4-byte header length */
    b = make_npy(2, good, 24, &len);
    b[8] = 0; b[9] = 0; b[10] = 0; b[11] = 0;
    npy_bad("npy.bad.v2_empty_header", b, len, "empty header");
    free(b);

    npy_bad_dict("npy.bad.big_endian", "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", 24, "big-endian dtype '>f4' is not supported");
    npy_bad_dict("npy.bad.fortran", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24, "fortran_order True is not supported");
    npy_bad_dict("npy.bad.dtype_f2", "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }", 12, "unsupported dtype '<f2'");
    npy_bad_dict("npy.bad.no_byteorder", "{'descr': 'f4', 'fortran_order': False, 'shape': (2, 3), }", 24, "no explicit little-endian");
    npy_bad_dict("npy.bad.structured", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8, "structured dtypes");
    npy_bad_dict("npy.bad.unknown_key", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", 24, "unexpected key 'x'");
    npy_bad_dict("npy.bad.missing_shape", "{'descr': '<f4', 'fortran_order': False}", 4, "missing key 'shape'");
    npy_bad_dict("npy.bad.duplicate_key", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24, "appears twice");
    npy_bad_dict("npy.bad.not_a_tuple", "{'descr': '<f4', 'fortran_order': False, 'shape': (5), }", 20, "is not a tuple");
    npy_bad_dict("npy.bad.negative_dim", "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", 24, "non-negative integer");
    npy_bad_dict("npy.bad.9_dims", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }", 4, "more than 8 dimensions");
    npy_bad_dict("npy.bad.huge_dim", "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 4, "exceeds 2^63-1");
    npy_bad_dict("npy.bad.shape_overflow", "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 2), }", 4, "overflows");
    npy_bad_dict("npy.bad.bytes_overflow", "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 536870912), }", 4, "overflow the size type");
    npy_bad_dict("npy.bad.not_a_dict", "['descr', '<f4']", 4, "expected '{' starting the header dict");
    npy_bad_dict("npy.bad.garbage_after_dict", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x", 24, "only spaces and a final newline");
    npy_bad_dict("npy.bad.escape_in_string", "{'descr': '<\\f4', 'fortran_order': False, 'shape': (2, 3), }", 24, "a short plain string");
    /* a header that does not end in '\n' */
    b = make_npy(1, good, 24, &len);
    b[10 + (b[8] | b[9] << 8) - 1] = ' ';
    npy_bad("npy.bad.no_final_newline", b, len, "final newline");
    free(b);
    /* one-byte dtypes in every spelling, Python 2 'L' suffix, no trailing comma */
    const char *ok_dicts[] = {
        "{'descr': '<u1', 'fortran_order': False, 'shape': (2, 3)}",
        "{'descr': 'u1', 'fortran_order': False, 'shape': (2L, 3L), }",
        "{\"shape\": (2, 3), \"fortran_order\": False, \"descr\": \"|b1\"}",
    };
    for (int i = 0; i < 3; i++) {
        b = make_npy(1, ok_dicts[i], 6, &len);
        int rc = npy_parse(b, len, &a, err, sizeof err);
        CHECK(rc == 0 && a.numel == 6, "npy.ok.spellings", "dict %d: %s", i, err);
        if (rc == 0) npy_free(&a);
        free(b);
    }
    CHECK(npy_read("/nonexistent/x.npy", &a, err, sizeof err) < 0 && strstr(err, "No such file"), "npy.read_missing", "%s", err);
}

/* ------------------------------------------------------------------ */
/* images                                                              */

static float *golden_f32(const char *name, NpyArray *a) {
    if (read_golden(name, a) < 0) return NULL;
    return npy_to_f32(a);
}

/* max |x - y| over n values, with the worst index */
static double max_abs(const float *x, const float *y, size_t n, size_t *worst) {
    double m = 0; size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)x[i] - (double)y[i]);
        if (d > m || d != d) { m = d; w = i; }
    }
    if (worst) *worst = w;
    return m;
}

/* Compares an image with raw 8-bit pixels (h, w, cin), keeping the first c channels. */
static double max_abs_vs_u8(const Image *im, const NpyArray *raw, int cin) {
    const uint8_t *p = raw->data;
    double m = 0;
    for (int ch = 0; ch < im->c; ch++)
        for (int y = 0; y < im->h; y++)
            for (int x = 0; x < im->w; x++) {
                double want = p[((size_t)y * im->w + x) * cin + ch] / 255.0;
                double d = fabs(im->data[((size_t)ch * im->h + y) * im->w + x] - want);
                if (d > m) m = d;
            }
    return m;
}

static void check_resize(const Image *in, int oh, int ow, const char *golden, const char *name) {
    NpyArray g; Image out;
    float *want = golden_f32(golden, &g);
    if (!want) return;
    int rc = image_resize(in, oh, ow, &out);
    size_t n = (size_t)in->c * oh * ow, worst = 0;
    int shape_ok = rc == 0 && g.numel == n && out.c == in->c && out.h == oh && out.w == ow;
    double e = shape_ok ? max_abs(out.data, want, n, &worst) : INFINITY;
    printf("  %s: %dx%d -> %dx%d, max abs error vs torch %.3g at %zu\n", name, in->w, in->h, ow, oh, e, worst);
    CHECK(shape_ok && e <= 1e-5, name, "max abs error %.3g at %zu (got %g, want %g)", e, worst,
          shape_ok ? out.data[worst] : 0.0, want[worst]);
    if (rc == 0) image_free(&out);
    free(want);
    npy_free(&g);
}

/* image_scale_percentile against torch.quantile's scale (make_io_golden.py):
   the 16 px gray image divided by its 99th and 37.5th percentile. The
   resized values agree with torch's to 1e-5 (image.resize_*); dividing by q
   scales that and q's own error by 1/q, so the bound is 3e-5 / q. The same
   image times 0.7 gives the same result (a gain cancels), to float rounding. */
static void test_scale_percentile(void) {
    char err[256];
    Image im, rs;
    NpyArray gq, g;
    if (image_load(DATA "gray16_29x31.png", &im, err, sizeof err) || image_resize(&im, 16, 16, &rs)) {
        CHECK(0, "image.scale_percentile_load", "%s", err);
        return;
    }
    image_free(&im);
    float *q = golden_f32("scale_gray16_s16_q.npy", &gq);
    const float pct[2] = {99.0f, 37.5f};
    const char *file[2] = {"scale_gray16_s16_p99.npy", "scale_gray16_s16_p37.5.npy"};
    for (int k = 0; k < 2 && q; k++) {
        float *want = golden_f32(file[k], &g);
        Image a = {1, 16, 16, malloc(256 * sizeof(float))}, b = {1, 16, 16, malloc(256 * sizeof(float))};
        memcpy(a.data, rs.data, 256 * sizeof(float));
        for (int i = 0; i < 256; i++) b.data[i] = rs.data[i] * 0.7f;
        int rc = image_scale_percentile(&a, pct[k]) | image_scale_percentile(&b, pct[k]);
        size_t worst = 0;
        double e = (!rc && want && g.numel == 256) ? max_abs(a.data, want, 256, &worst) : INFINITY;
        double eg = !rc ? max_abs(a.data, b.data, 256, &worst) : INFINITY;
        printf("  scale by the %g-th percentile (q %.4f): max abs error %.3g vs torch, %.3g after a gain of 0.7\n",
               pct[k], q[k], e, eg);
        CHECK(e <= 3e-5 / q[k], "image.scale_percentile_vs_torch", "p %g: error %g", pct[k], e);
        CHECK(eg <= 1e-6, "image.scale_percentile_gain_cancels", "p %g: error %g", pct[k], eg);
        free(a.data); free(b.data); free(want); npy_free(&g);
    }
    free(q); npy_free(&gq);
    Image zero = {1, 2, 2, (float[4]){0, 0, 0, 0}};
    CHECK(image_scale_percentile(&zero, 50) == 0 && zero.data[3] == 0.0f, "image.scale_percentile_black_unchanged",
          "changed a black image");
    CHECK(image_scale_percentile(&rs, 0) < 0 && image_scale_percentile(&rs, 101) < 0,
          "image.scale_percentile_refuses_out_of_range", "accepted 0 or 101");
    image_free(&rs);
}

static void test_images(void) {
    char err[512];
    Image rgb, im;
    NpyArray raw, g;
    int rc = image_load(DATA "rgb_37x53.png", &rgb, err, sizeof err);
    CHECK(rc == 0 && rgb.c == 3 && rgb.h == 53 && rgb.w == 37, "image.load_rgb_png", "%s (c %d h %d w %d)", err, rgb.c, rgb.h, rgb.w);
    if (rc < 0) return;
    if (read_golden("rgb_37x53_u8.npy", &raw) == 0) {
        double e = max_abs_vs_u8(&rgb, &raw, 3);
        CHECK(e <= 1e-7, "image.rgb_png_pixels", "max abs error %g vs the PIL-written pixels / 255", e);
        npy_free(&raw);
    }
    check_resize(&rgb, 19, 13, "rgb_down_13x19.npy", "image.resize_down_vs_torch");
    check_resize(&rgb, 80, 61, "rgb_up_61x80.npy", "image.resize_up_vs_torch");
    check_resize(&rgb, 24, 50, "rgb_mixed_50x24.npy", "image.resize_mixed_vs_torch");
    if (image_resize(&rgb, 53, 37, &im) == 0) {
        CHECK(memcmp(im.data, rgb.data, sizeof(float) * 3 * 53 * 37) == 0, "image.resize_identity", "same size changed the data");
        image_free(&im);
    }
    CHECK(image_resize(&rgb, 0, 5, &im) < 0 && image_resize(&rgb, 5, IMAGE_MAX_DIM + 1, &im) < 0, "image.resize_bad_size", "accepted");

    /* luminance: exact formula, and PIL's integer convert('L') within its rounding */
    float *lum = golden_f32("rgb_lum.npy", &g);
    if (lum && image_to_channels(&rgb, 1, &im) == 0) {
        size_t worst;
        double e = max_abs(im.data, lum, 53 * 37, &worst);
        printf("  luminance vs float64 formula: max abs error %.3g\n", e);
        CHECK(im.c == 1 && e <= 1e-6, "image.luminance_formula", "max abs error %g at %zu", e, worst);
        NpyArray pil;
        if (read_golden("rgb_lum_pil.npy", &pil) == 0) {
            const uint8_t *p = pil.data;
            double m = 0;
            for (size_t i = 0; i < pil.numel; i++) m = fmax(m, fabs(im.data[i] * 255.0 - p[i]));
            printf("  luminance vs PIL convert('L'): max abs difference %.3f levels (PIL rounds)\n", m);
            CHECK(m <= 0.51, "image.luminance_vs_pil", "max difference %.3f levels of 255", m);
            npy_free(&pil);
        }
        Image back;
        if (image_to_channels(&im, 3, &back) == 0) {
            CHECK(back.c == 3 && memcmp(back.data, im.data, 4 * 53 * 37) == 0 &&
                  memcmp(back.data + 2 * 53 * 37, im.data, 4 * 53 * 37) == 0, "image.gray_to_rgb_replicates", "planes differ");
            image_free(&back);
        }
        image_free(&im);
    }
    free(lum);
    npy_free(&g);
    CHECK(image_to_channels(&rgb, 2, &im) < 0, "image.to_2_channels_rejected", "accepted");

    /* normalisation */
    if (image_to_channels(&rgb, 3, &im) == 0) {
        const float mean[3] = {0.5f, 0.25f, 0.0f}, sd[3] = {0.5f, 2.0f, 0.25f};
        image_normalize(&im, mean, sd);
        size_t plane = 53 * 37;
        int ok = 1;
        for (int ch = 0; ch < 3; ch++)
            for (size_t i = 0; i < plane; i += 97)
                ok &= im.data[ch * plane + i] == (rgb.data[ch * plane + i] - mean[ch]) / sd[ch];
        CHECK(ok, "image.normalize", "values differ");
        image_free(&im);
    }
    image_free(&rgb);

    /* preprocess = load -> resize -> channels -> normalize */
    const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
    struct { const char *file, *golden; int c, s; } pre[] = {
        {"rgb_37x53.png", "pre_rgb_c3_s24.npy", 3, 24},
        {"rgb_37x53.png", "pre_rgb_c1_s24.npy", 1, 24},
        {"gray16_29x31.png", "pre_gray16_c3_s16.npy", 3, 16},
    };
    for (int k = 0; k < 3; k++) {
        float *want = golden_f32(pre[k].golden, &g);
        size_t n = (size_t)pre[k].c * pre[k].s * pre[k].s;
        float *got = malloc(n * sizeof(float));
        char path[128]; snprintf(path, sizeof path, DATA "%s", pre[k].file);
        rc = image_preprocess(path, pre[k].c, pre[k].s, mean, sd, got, err, sizeof err);
        size_t worst = 0;
        double e = (rc == 0 && want && g.numel == n) ? max_abs(got, want, n, &worst) : INFINITY;
        printf("  preprocess %s c=%d size=%d: max abs error %.3g\n", pre[k].file, pre[k].c, pre[k].s, e);
        /* resize error <= 1e-5 divided by std >= 0.224 */
        CHECK(e <= 5e-5, "image.preprocess_vs_torch", "%s c=%d: error %g at %zu %s", pre[k].file, pre[k].c, e, worst, rc ? err : "");
        free(got); free(want); npy_free(&g);
    }
    test_scale_percentile();
    float dummy[4];
    CHECK(image_preprocess(DATA "rgb_37x53.png", 2, 2, NULL, NULL, dummy, err, sizeof err) < 0 && strstr(err, "channels must be 1 or 3"),
          "image.preprocess_bad_channels", "%s", err);

    /* 16-bit gray PNG and PGM keep 16-bit precision */
    NpyArray r16;
    if (read_golden("gray16_raw.npy", &r16) == 0) {
        const int32_t *v = r16.data;
        const char *files[2] = {DATA "gray16_29x31.png", DATA "gray16.pgm"};
        for (int k = 0; k < 2; k++) {
            rc = image_load(files[k], &im, err, sizeof err);
            double m = 0;
            int not8 = 0;
            if (rc == 0 && im.c == 1 && im.h == 31 && im.w == 29) {
                for (size_t i = 0; i < r16.numel; i++) {
                    m = fmax(m, fabs(im.data[i] - v[i] / 65535.0));
                    not8 += v[i] % 257 != 0;   /* values an 8-bit decode could not give */
                }
            } else m = INFINITY;
            CHECK(m <= 1e-7 && not8 > 100, k ? "image.load_16bit_pgm" : "image.load_16bit_png",
                  "max abs error %g vs raw/65535 (%s)", m, rc ? err : "");
            if (rc == 0) {
                if (k == 0) check_resize(&im, 7, 11, "gray16_down_11x7.npy", "image.resize_16bit_vs_torch");
                image_free(&im);
            }
        }
        npy_free(&r16);
    }

    /* alpha dropped; the other decoders */
    struct { const char *file, *raw; int cin, c; } px[] = {
        {"rgba_9x7.png", "rgba_9x7_u8.npy", 4, 3}, {"la_5x4.png", "la_5x4_u8.npy", 2, 1},
        {"rgb_6x5.bmp", "rgb_6x5_u8.npy", 3, 3}, {"rgb_6x5.tga", "rgb_6x5_u8.npy", 3, 3},
        {"rgb_6x5.ppm", "rgb_6x5_u8.npy", 3, 3},
    };
    for (int k = 0; k < 5; k++) {
        char path[128]; snprintf(path, sizeof path, DATA "%s", px[k].file);
        rc = image_load(path, &im, err, sizeof err);
        double e = INFINITY;
        if (rc == 0 && read_golden(px[k].raw, &raw) == 0) {
            if (im.c == px[k].c && (int64_t)im.h == raw.shape[0] && (int64_t)im.w == raw.shape[1])
                e = max_abs_vs_u8(&im, &raw, px[k].cin);
            npy_free(&raw);
        }
        CHECK(e <= 1e-7, "image.decode_formats", "%s: error %g %s", px[k].file, e, rc ? err : "");
        if (rc == 0) image_free(&im);
    }
    /* gray JPEG: stb_image and libjpeg (PIL) use different IDCTs */
    rc = image_load(DATA "gray_16x12.jpg", &im, err, sizeof err);
    if (rc == 0 && read_golden("gray_16x12_jpg_pil.npy", &raw) == 0) {
        double e = im.c == 1 && im.h == 12 && im.w == 16 ? max_abs_vs_u8(&im, &raw, 1) * 255 : INFINITY;
        printf("  gray JPEG: stb_image vs PIL max difference %.2f levels\n", e);
        CHECK(e <= 2.0, "image.load_gray_jpeg", "differs from PIL's decode by %.2f levels of 255", e);
        npy_free(&raw);
    } else CHECK(0, "image.load_gray_jpeg", "%s", err);
    if (rc == 0) image_free(&im);

    /* errors name the file and the reason */
    rc = image_load("/nonexistent/cxr.png", &im, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "/nonexistent/cxr.png") && strstr(err, "No such file"), "image.error_missing", "%s", err);
    rc = image_load("tests/data/io", &im, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "not a regular file"), "image.error_directory", "%s", err);
    char tmp[] = "/tmp/salient_img_XXXXXX";
    int fd = mkstemp(tmp);
    if (fd >= 0) close(fd);
    rc = image_load(tmp, &im, err, sizeof err);
    CHECK(rc < 0 && strstr(err, tmp) && strstr(err, "empty file"), "image.error_zero_size", "%s", err);
    /* corrupt: a PNG cut in half, and a PNG signature followed by noise */
    uint8_t *png; size_t plen;
    if (io_read_file(DATA "rgb_37x53.png", 1 << 20, &png, &plen, err, sizeof err) == 0) {
        FILE *f = fopen(tmp, "wb");
        fwrite(png, 1, plen / 2, f);
        fclose(f);
        rc = image_load(tmp, &im, err, sizeof err);
        CHECK(rc < 0 && strstr(err, tmp) && strstr(err, "corrupt PNG (chunk 'IDAT' runs past the end"), "image.error_truncated_png", "%s", err);
        /* a chunk declaring 2 GB in a tiny file is refused before anything is allocated */
        uint8_t bigchunk[64];
        memcpy(bigchunk, png, 33);                       /* signature + IHDR */
        memcpy(bigchunk + 33, "\x7f\xff\xff\xf0IDAT", 8);
        memset(bigchunk + 41, 0, sizeof bigchunk - 41);
        rc = image_decode(bigchunk, sizeof bigchunk, "big.png", &im, err, sizeof err);
        CHECK(rc < 0 && strstr(err, "chunk 'IDAT' runs past the end"), "image.error_png_huge_chunk", "%s", err);
        EngRng r; eng_rng_seed(&r, 3);
        for (size_t i = 8; i < plen; i++) png[i] = (uint8_t)eng_rng_next(&r);
        f = fopen(tmp, "wb");
        fwrite(png, 1, plen, f);
        fclose(f);
        rc = image_load(tmp, &im, err, sizeof err);
        CHECK(rc < 0 && strstr(err, "stb_image"), "image.error_noise_png", "%s", err);
        f = fopen(tmp, "wb");
        fputs("P5\n100000 100000\n255\n", f);
        fclose(f);
        rc = image_load(tmp, &im, err, sizeof err);
        CHECK(rc < 0 && strstr(err, tmp), "image.error_huge_dimensions", "%s", err);
        free(png);
    }
    /* a JPEG whose Huffman table claims more than 256 codes: stb_image 2.27
       would write past its tables (found by the fuzzer); refused before stb */
    rc = image_load(DATA "bad_dht_overflow.jpg", &im, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "more than 256 codes"), "image.error_jpeg_dht_overflow", "%s", err);
    /* a JPEG whose scan uses a Huffman table no DHT defined: stb 2.27 would
       index uninitialised tables (found by the fuzzer); refused before stb */
    rc = image_load(DATA "bad_undefined_huffman.jpg", &im, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "never defined"), "image.error_jpeg_undefined_huffman", "%s", err);
    /* from memory: the same pixels as from the file; the size peek reads the header only */
    if (io_read_file(DATA "rgb_37x53.png", 1 << 20, &png, &plen, err, sizeof err) == 0) {
        int pw = 0, ph = 0;
        rc = image_peek_size(png, plen, &pw, &ph);
        CHECK(rc == 0 && pw == 37 && ph == 53, "image.peek_size", "%d x %d", pw, ph);
        rc = image_decode(png, plen, "mem.png", &im, err, sizeof err);
        Image ref;
        int ok = rc == 0 && image_load(DATA "rgb_37x53.png", &ref, err, sizeof err) == 0;
        if (ok) { ok = memcmp(ref.data, im.data, sizeof(float) * 3 * 53 * 37) == 0; image_free(&ref); }
        CHECK(ok, "image.decode_memory", "%s", err);
        if (rc == 0) image_free(&im);
        /* an empty IDAT chunk before the data (legal PNG; stb 2.27 mishandles it) */
        uint8_t *p2 = malloc(plen + 12);
        size_t at = 8;
        while (at + 8 <= plen && memcmp(png + at + 4, "IDAT", 4) != 0)
            at += 12 + ((size_t)png[at] << 24 | (size_t)png[at + 1] << 16 | (size_t)png[at + 2] << 8 | png[at + 3]);
        memcpy(p2, png, at);
        memcpy(p2 + at, "\0\0\0\0IDAT\x35\xaf\x06\x1e", 12);   /* CRC-32 of "IDAT" */
        memcpy(p2 + at + 12, png + at, plen - at);
        Image e2;
        int rc2 = image_decode(p2, plen + 12, "empty_idat.png", &e2, err, sizeof err);
        int same = rc2 == 0 && rc == 0 && e2.c == 3 && e2.h == 53 && e2.w == 37;
        if (rc2 == 0) { Image ref2; if (image_load(DATA "rgb_37x53.png", &ref2, err, sizeof err) == 0) {
            same = same && memcmp(ref2.data, e2.data, sizeof(float) * 3 * 53 * 37) == 0; image_free(&ref2); } image_free(&e2); }
        CHECK(same, "image.png_empty_idat_chunk", "%s", err);
        free(p2);
        rc = image_decode(png, 20, "mem.png", &im, err, sizeof err);
        CHECK(rc < 0 && strstr(err, "'mem.png'"), "image.decode_memory_error_names_it", "%s", err);
        free(png);
    }
    /* PGM details: 12-bit maxval, comments, truncation, ASCII variant, sample > maxval */
    const uint16_t s12[6] = {0, 1, 4095, 2048, 100, 4000};
    for (int variant = 0; variant < 4; variant++) {
        FILE *f = fopen(tmp, "wb");
        fputs(variant == 2 ? "P2\n3 2\n4095\n" : "P5\n# a comment\n3 2 # another\n4095\n", f);
        int n = variant == 1 ? 5 : 6;
        for (int i = 0; i < n; i++) {
            uint16_t v = variant == 3 && i == 4 ? 4096 : s12[i];
            fputc(v >> 8, f); fputc(v & 255, f);
        }
        fclose(f);
        rc = image_load(tmp, &im, err, sizeof err);
        if (variant == 0) {
            double m = rc == 0 && im.c == 1 && im.h == 2 && im.w == 3 ? 0 : INFINITY;
            for (int i = 0; rc == 0 && i < 6; i++) m = fmax(m, fabs(im.data[i] - s12[i] / 4095.0));
            CHECK(m <= 1e-7, "image.pgm_12bit_maxval", "max abs error %g %s", m, rc ? err : "");
            if (rc == 0) image_free(&im);
        } else {
            const char *frag = variant == 1 ? "truncated" : variant == 2 ? "only binary PGM (P5)" : "exceeds maxval";
            CHECK(rc < 0 && strstr(err, frag) && strstr(err, tmp), "image.pgm_errors", "variant %d: %s", variant, err);
        }
    }
    /* PNG output round trip */
    uint8_t pix[5 * 4 * 3];
    for (int i = 0; i < 60; i++) pix[i] = (uint8_t)(i * 37 + 11);
    rc = image_write_png(tmp, pix, 5, 4, 3);
    int ok = rc == 0 && image_load(tmp, &im, err, sizeof err) == 0;
    if (ok) {
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 5; x++)
                for (int ch = 0; ch < 3; ch++)
                    ok &= fabsf(im.data[(ch * 4 + y) * 5 + x] - pix[(y * 5 + x) * 3 + ch] / 255.0f) <= 1e-7f;
        image_free(&im);
    }
    CHECK(ok, "image.write_png_roundtrip", "%s", err);
    CHECK(image_write_png(tmp, pix, 0, 4, 3) < 0 && image_write_png(tmp, pix, 5, 4, 5) < 0, "image.write_png_bad_args", "accepted");
    unlink(tmp);
}

/* io_mkdir_p, io_copy_file and json_read_file on a temporary folder. */
static void test_files(void) {
    char T[] = "/tmp/test_io_files_XXXXXX", p[200], q[200], err[512] = "";
    if (!mkdtemp(T)) return;
    snprintf(p, sizeof p, "%s/a/b/c", T);
    struct stat st;
    CHECK(!io_mkdir_p(p) && !stat(p, &st) && S_ISDIR(st.st_mode) && !io_mkdir_p(p), "io_mkdir_p makes parents and accepts an existing folder",
          "%s", p);
    snprintf(q, sizeof q, "%s/a/file", T);
    FILE *f = fopen(q, "w");
    if (f) { fputs("x", f); fclose(f); }
    snprintf(p, sizeof p, "%s/a/file/sub", T);
    CHECK(io_mkdir_p(p) == -1 && errno == ENOTDIR, "io_mkdir_p below a file fails with ENOTDIR", "errno %d", errno);
    snprintf(p, sizeof p, "%s/copy.json", T);
    const char *text = "{\"a\": [1, 2]}";
    f = fopen(q, "w");
    if (f) { fputs(text, f); fclose(f); }
    uint8_t *buf = NULL;
    size_t len = 0;
    int ok = !io_copy_file(q, p, 1 << 20, err, sizeof err) && !io_read_file(p, 1 << 20, &buf, &len, err, sizeof err) &&
             len == strlen(text) && !memcmp(buf, text, len);
    free(buf);
    CHECK(ok, "io_copy_file copies the bytes", "%s", err);
    snprintf(q, sizeof q, "%s/none/x", T);
    CHECK(io_copy_file(p, q, 1 << 20, err, sizeof err) == -1 && strstr(err, q), "io_copy_file into a missing folder: an error naming it", "'%s'", err);
    JsonValue *v = json_read_file(p, 1 << 20, err, sizeof err);
    CHECK(v && json_len(json_get(v, "a")) == 2, "json_read_file reads and parses", "%s", err);
    json_free(v);
    snprintf(q, sizeof q, "%s/bad.json", T);
    f = fopen(q, "w");
    if (f) { fputs("{\"a\": }", f); fclose(f); }
    v = json_read_file(q, 1 << 20, err, sizeof err);
    CHECK(!v && !strncmp(err, q, strlen(q)) && strstr(err, "line 1"), "json_read_file: a parse error names the file and the place", "'%s'", err);
    v = json_read_file(q, 3, err, sizeof err);
    CHECK(!v && strstr(err, q), "json_read_file: a file beyond the bound is refused", "'%s'", err);
    snprintf(q, sizeof q, "%s/labels.txt", T);
    f = fopen(q, "w");
    if (f) { fputs("normal\r\n\npneumonia\ncovid", f); fclose(f); }
    int nl = -1;
    char **lines = io_read_lines(q, &nl);
    CHECK(lines && nl == 3 && !strcmp(lines[0], "normal") && !strcmp(lines[1], "pneumonia") && !strcmp(lines[2], "covid"),
          "io_read_lines: CRLF removed, blank lines skipped, a last line without newline kept", "%d lines", nl);
    for (int i = 0; lines && i < nl; i++) free(lines[i]);
    free(lines);
    f = fopen(q, "w");
    if (f) { fputs("\n\n", f); fclose(f); }
    CHECK(!io_read_lines(q, &nl) && !io_read_lines("/nonexistent/labels.txt", &nl), "io_read_lines: no line, or no file: NULL", "got lines");
    float x[2 * 1 * 8 * 9];
    for (int i = 0; i < 2 * 8 * 9; i++) x[i] = (float)i;
    int64_t good[4] = {2, 1, 8, 9}, small[4] = {1, 1, 4, 4}, three[3] = {1, 8, 9};
    int nn = 0, hh = 0, ww = 0;
    snprintf(q, sizeof q, "%s/x.npy", T);
    npy_write_f32(q, x, 4, good, err, sizeof err);
    float *y = npy_read_nchw_f32(q, 1, &nn, &hh, &ww, err, sizeof err);
    CHECK(y && nn == 2 && hh == 8 && ww == 9 && y[143] == 143, "npy_read_nchw_f32: (2, 1, 8, 9)", "%s", err);
    free(y);
    CHECK(!npy_read_nchw_f32(q, 3, &nn, &hh, &ww, err, sizeof err) && strstr(err, "expected a float array of shape (N, 3, H, W)") &&
          strstr(err, "got 4 dimensions with another shape"), "npy_read_nchw_f32: another channel count refused", "'%s'", err);
    npy_write_f32(q, x, 4, small, err, sizeof err);
    CHECK(!npy_read_nchw_f32(q, 1, &nn, &hh, &ww, err, sizeof err) && strstr(err, "H, W in [8, 4096]"), "npy_read_nchw_f32: 4 x 4 refused",
          "'%s'", err);
    npy_write_f32(q, x, 3, three, err, sizeof err);
    CHECK(!npy_read_nchw_f32(q, 1, &nn, &hh, &ww, err, sizeof err) && strstr(err, "got 3 dimensions") && !strstr(err, "another shape"),
          "npy_read_nchw_f32: three dimensions refused", "'%s'", err);
    snprintf(p, sizeof p, "rm -rf '%s'", T);
    if (system(p)) {}
}

static void test_path_stem(void) {
    const char *in[] = {"a/b/scan.nii.gz", "x.png", "dir.v2/img", ".hidden", "a/SCAN.NII.GZ", "a.b.c", "/", ".nii.gz"},
               *want[] = {"scan", "x", "img", ".hidden", "SCAN", "a.b", "", ".nii"};
    int ok = 1;
    char out[64], small[4];
    for (int i = 0; i < 8; i++) {
        io_path_stem(in[i], out, sizeof out);
        if (strcmp(out, want[i])) { printf("FAIL path stem of %s: '%s', expected '%s'\n", in[i], out, want[i]); ok = 0; }
    }
    io_path_stem("abcdef.png", small, sizeof small);
    CHECK(ok && !strcmp(small, "abc"), "path stems: folders, extensions, .nii.gz in any case, dot files, a short buffer",
          "'%s'", small);
}

int main(void) {
    test_path_stem();
    test_files();
    test_json_valid();
    test_json_invalid();
    test_json_writer();
    test_json_equal();
    test_sha256();
    test_npy_golden();
    test_npy_write();
    test_npy_bad();
    test_images();
    CHECK_DONE();
}
