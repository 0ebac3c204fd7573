/* test_manifest.c - eval/manifest.h: a manifest written and read back
   (build, argv, the caller's options, inputs and outputs with their SHA-256,
   a missing file's null hash, the decoded description of a DICOM input,
   each path once); the re-run command with its output folder replaced;
   and output_compare on identical, rounding-sized and different .json,
   .csv, .npy and .png files, with timings ignored and an unreadable file. */
#include "eval/manifest.h"
#include "io/npy.h"
#include "io/sha256.h"
#include "tests/check.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char T[] = "/tmp/test_manifest_XXXXXX";

static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", T, name); }

static void write_text(const char *name, const char *text) {
    char p[300];
    path_of(p, sizeof p, name);
    FILE *f = fopen(p, "w");
    if (f) { fputs(text, f); fclose(f); }
}

static void options(JsonWriter *w, void *ctx) { jw_kv_string(w, "model", ctx); jw_kv_int(w, "size", 64); }

static void test_write(void) {
    RunManifest m;
    run_manifest_start(&m);
    char in[300], dcm[300], out[300], gone[300], mp[300], err[256] = "", hex[65];
    path_of(in, sizeof in, "in.txt"); path_of(dcm, sizeof dcm, "scan.dcm");
    path_of(out, sizeof out, "out.txt"); path_of(gone, sizeof gone, "gone.txt"); path_of(mp, sizeof mp, "manifest.json");
    write_text("in.txt", "abc");
    write_text("scan.dcm", "not really dicom");
    write_text("out.txt", "result\n");
    run_manifest_add_input(&m, in);
    run_manifest_add_input(&m, dcm);
    run_manifest_add_input(&m, in);     /* kept once */
    run_manifest_add_input(&m, gone);
    run_manifest_add_output(&m, out);
    ImageLoadInfo plain = {.format = "image"}, li = {.format = "dicom", .window_kind = "file", .center = 600, .width = 1600,
                                                     .lo = -200, .hi = 1399, .nframes = 3, .frame = 1};
    run_manifest_input_decoded(&m, in, &plain);
    run_manifest_input_decoded(&m, dcm, &li);
    const char *dec = run_manifest_decoded_of(&m, dcm);
    const char *want = "dicom, window file (centre 600, width 1600: -200 -> 0, 1399 -> 1), frame 1 of 3";
    CHECK(dec && !strcmp(dec, want) && !run_manifest_decoded_of(&m, in), "a DICOM input's decoding is described, a PNG's is not",
          "'%s'", dec ? dec : "(none)");
    char *argv[] = {"salient", "predict", "-m", "model.st", "x.png"};
    ManifestBuild b = {"9.9.9 (test)", "-O2", "cc 1"};
    ManifestCommand c = {5, argv, options, "model.st", 42, T};
    CHECK(run_manifest_write(&m, mp, &b, &c, err, sizeof err) == 0, "the manifest is written", "%s", err);
    JsonValue *v = json_read_file(mp, 1 << 20, err, sizeof err);
    const JsonValue *ins = json_get(v, "inputs"), *outs = json_get(v, "outputs"), *av = json_get(v, "argv");
    sha256_hex("abc", 3, hex);
    CHECK(v && !strcmp(json_string(json_get(v, "version")), "9.9.9 (test)") && !strcmp(json_string(json_get(v, "compiler")), "cc 1") &&
          json_len(av) == 5 && !strcmp(json_string(json_at(av, 4)), "x.png") && json_number(json_get(v, "seed")) == 42 &&
          !strcmp(json_string(json_get(v, "outdir")), T), "build, argv, seed and output folder as given", "%s", err);
    CHECK(!strcmp(json_string(json_get(json_get(v, "options"), "model")), "model.st") &&
          json_number(json_get(json_get(v, "options"), "size")) == 64, "the caller's options object", "missing");
    CHECK(json_len(ins) == 3 && !strcmp(json_string(json_get(json_at(ins, 0), "sha256")), hex) &&
          json_type(json_get(json_at(ins, 2), "sha256")) == JSON_NULL &&
          !strcmp(json_string(json_get(json_at(ins, 1), "decoded")), want) && !json_get(json_at(ins, 0), "decoded"),
          "inputs once each with SHA-256 ('abc'), null for a missing file, the DICOM's decoding", "%zu inputs", json_len(ins));
    CHECK(json_len(outs) == 1 && json_string(json_get(json_at(outs, 0), "sha256")) && json_string(json_get(v, "start")) &&
          json_string(json_get(v, "end")), "outputs hashed; start and end recorded", "%zu outputs", json_len(outs));
    json_free(v);
    CHECK(run_manifest_write(&m, "/nonexistent/dir/manifest.json", &b, &c, err, sizeof err) == -1 &&
          !strcmp(err, "cannot write /nonexistent/dir/manifest.json"), "an unwritable manifest is an error naming it", "'%s'", err);
    run_manifest_free(&m);
    char cpu[256];
    const char *here[MANIFEST_BUILD_KEYS];
    manifest_build_values(&b, here, cpu, sizeof cpu);
    CHECK(!strcmp(manifest_build_keys[0], "cpu") && here[0] == cpu && !strcmp(here[2], "9.9.9 (test)") && !strcmp(here[4], "cc 1"),
          "the build fields verify compares", "%s %s", here[2], here[4]);
}

static int same_args(char **av, int n, const char *const *want) {
    for (int i = 0; i < n; i++) if (!want[i] || strcmp(av[i], want[i])) return 0;
    return !want[n] && !av[n];
}

static void test_rerun_argv(void) {
    char err[256];
    const char *j1 = "[\"salient\",\"explain\",\"-o\",\"out\",\"--trace\",\"t.jsonl\",\"x.png\"]";
    const char *j2 = "[\"salient\",\"predict\",\"x.png\"]", *j3 = "[\"salient\",\"evaluate\",\"--output=old\",\"-d\",\"D\"]";
    JsonValue *a1 = json_parse(j1, strlen(j1), err, sizeof err), *a2 = json_parse(j2, strlen(j2), err, sizeof err),
              *a3 = json_parse(j3, strlen(j3), err, sizeof err);
    int n1 = 0, n2 = 0, n3 = 0;
    char **r1 = manifest_rerun_argv(a1, "/bin/salient", "/tmp/v", &n1), **r2 = manifest_rerun_argv(a2, "/bin/salient", "/tmp/v", &n2),
         **r3 = manifest_rerun_argv(a3, "/bin/salient", "/tmp/v", &n3);
    const char *w1[] = {"/bin/salient", "explain", "-o", "/tmp/v", "x.png", NULL};
    const char *w2[] = {"/bin/salient", "predict", "x.png", "-o", "/tmp/v", NULL};
    const char *w3[] = {"/bin/salient", "evaluate", "--output=/tmp/v", "-d", "D", NULL};
    CHECK(r1 && same_args(r1, n1, w1), "re-run: -o replaced, --trace dropped", "%d args", n1);
    CHECK(r2 && same_args(r2, n2, w2), "re-run: -o appended when the command had none", "%d args", n2);
    CHECK(r3 && same_args(r3, n3, w3), "re-run: --output= replaced", "%d args", n3);
    free(r1); free(r2); free(r3);
    json_free(a1); json_free(a2); json_free(a3);
}

/* output_compare of two files written under T. */
static OutVerdict compare(const char *a, const char *b, OutputComparison *c) {
    char pa[300], pb[300];
    path_of(pa, sizeof pa, a); path_of(pb, sizeof pb, b);
    output_compare(pa, pb, c);
    return c->verdict;
}

static void test_compare(void) {
    OutputComparison c;
    write_text("a.json", "{\"auc\": 0.5, \"seconds\": 1.0, \"name\": \"ig\"}\n");
    write_text("b.json", "{\"auc\": 0.5, \"seconds\": 7.5, \"name\": \"ig\"}\n");
    write_text("c.json", "{\"auc\": 0.50000001, \"seconds\": 1.0, \"name\": \"ig\"}\n");
    write_text("d.json", "{\"auc\": 0.5, \"seconds\": 1.0, \"name\": \"xrai\"}\n");
    write_text("e.json", "{\"auc\": 0.6, \"seconds\": 1.0, \"name\": \"ig\"}\n");
    CHECK(compare("a.json", "a.json", &c) == OUT_IDENTICAL, "a JSON file against itself: identical", "%d", c.verdict);
    CHECK(compare("a.json", "b.json", &c) == OUT_IDENTICAL, "JSON that differs only in seconds: identical", "%d", c.verdict);
    CHECK(compare("a.json", "c.json", &c) == OUT_ROUNDING && c.diff > 0 && c.diff < 2e-8, "JSON 2e-8 apart: within rounding",
          "%d diff %g", c.verdict, c.diff);
    CHECK(compare("a.json", "d.json", &c) == OUT_DIFFERENT, "JSON with another string: different", "%d", c.verdict);
    CHECK(compare("a.json", "e.json", &c) == OUT_DIFFERENT && c.diff > 0.09, "JSON 0.1 apart: different", "%d diff %g", c.verdict, c.diff);
    write_text("a.csv", "image,auc\nx.png,0.25\n");
    write_text("b.csv", "image,auc\nx.png,0.25000001\n");
    write_text("c.csv", "image,auc\ny.png,0.25\n");
    CHECK(compare("a.csv", "b.csv", &c) == OUT_ROUNDING, "CSV numbers 1e-8 apart: within rounding", "%d", c.verdict);
    CHECK(compare("a.csv", "c.csv", &c) == OUT_DIFFERENT, "CSV with another text cell: different", "%d", c.verdict);
    char p[300], err[256];
    float x[4] = {1, 2, 3, 4}, y[4] = {1, 2, 3, 4.0001f}, z[4] = {1, 2, 3, 5};
    int64_t s4[1] = {4}, s22[2] = {2, 2};
    path_of(p, sizeof p, "x.npy"); npy_write_f32(p, x, 1, s4, err, sizeof err);
    path_of(p, sizeof p, "y.npy"); npy_write_f32(p, y, 1, s4, err, sizeof err);
    path_of(p, sizeof p, "z.npy"); npy_write_f32(p, z, 1, s4, err, sizeof err);
    path_of(p, sizeof p, "w.npy"); npy_write_f32(p, x, 2, s22, err, sizeof err);
    CHECK(compare("x.npy", "y.npy", &c) == OUT_ROUNDING && c.scale == 4, ".npy 1e-4 apart at 4: within rounding", "%d scale %g", c.verdict, c.scale);
    CHECK(compare("x.npy", "z.npy", &c) == OUT_DIFFERENT && c.diff == 1, ".npy one apart: different", "%d diff %g", c.verdict, c.diff);
    CHECK(compare("x.npy", "w.npy", &c) == OUT_DIFFERENT, ".npy of another shape: different", "%d", c.verdict);
    uint8_t pa[4] = {10, 20, 30, 40}, pb[4] = {10, 20, 31, 40}, pc[4] = {10, 20, 32, 40};
    path_of(p, sizeof p, "a.png"); image_write_png(p, pa, 2, 2, 1);
    path_of(p, sizeof p, "b.png"); image_write_png(p, pb, 2, 2, 1);
    path_of(p, sizeof p, "c.png"); image_write_png(p, pc, 2, 2, 1);
    CHECK(compare("a.png", "b.png", &c) == OUT_ROUNDING && c.png && fabs(c.diff - 1) < 1e-6, "PNG one level apart: within rounding",
          "%d diff %g", c.verdict, c.diff);
    CHECK(compare("a.png", "c.png", &c) == OUT_DIFFERENT, "PNG two levels apart: different", "%d diff %g", c.verdict, c.diff);
    CHECK(compare("a.json", "missing.json", &c) == OUT_DIFFERENT && c.unreadable && strstr(c.err, "missing.json"),
          "a missing re-run output: unreadable, named", "'%s'", c.err);
    CHECK(manifest_volatile_key("forward_ms") && !manifest_volatile_key("auc") && !strcmp(out_verdict_name(OUT_ROUNDING), "within rounding"),
          "volatile keys and verdict names", "wrong");
}

static void test_output_checked(void) {
    const char *text = "[{\"path\": \"out/a.npy\"}, {\"path\": \"out/manifest.json\"}, {\"path\": \"outer/b.npy\"},"
                       " {\"path\": \"out\"}, {\"sha256\": \"x\"}, {\"path\": \"other/c.png\"}, {\"path\": \"out/s/d.png\"}]";
    char err[256];
    JsonValue *o = json_parse(text, strlen(text), err, sizeof err);
    const char *a = manifest_output_checked(o, 0, "out"), *d = manifest_output_checked(o, 6, "out"),
               *self = manifest_output_checked(o, 3, "out");
    CHECK(a && !strcmp(a, "out/a.npy") && d && !strcmp(d, "out/s/d.png") && self && !manifest_output_checked(o, 1, "out") &&
          !manifest_output_checked(o, 2, "out") && !manifest_output_checked(o, 4, "out") && !manifest_output_checked(o, 5, "out") &&
          !manifest_output_checked(o, 9, "out"), "checked outputs: below outdir, not the manifest, not a longer name", "%s", err);
    json_free(o);
}

int main(void) {
    if (!mkdtemp(T)) return 1;
    test_output_checked();
    test_write();
    test_rerun_argv();
    test_compare();
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", T);
    if (system(cmd)) {}
    CHECK_DONE();
}
