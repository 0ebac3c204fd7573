/* test_trace.c - eval/trace.h: the trace's JSON lines (keys, statistics,
   hash, op parameters, levels), the projections against values computed
   independently (SplitMix64 signs in Python), and trace_diff_files on
   identical traces, a rounding-sized change, a change beyond rounding,
   different work, different lengths and a missing file. */
#include "eval/trace.h"
#include "io/json.h"
#include "io/sha256.h"
#include "tests/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char T[] = "/tmp/test_trace_XXXXXX";

static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", T, name); }

/* The lines of a trace file, parsed; their count into *n. */
static JsonValue **read_lines(const char *path, int *n) {
    static JsonValue *v[64];
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    char err[256];
    *n = 0;
    while (f && *n < 64 && (len = getline(&line, &cap, f)) > 0) v[(*n)++] = json_parse(line, (size_t)len, err, sizeof err);
    free(line);
    if (f) fclose(f);
    return v;
}

static void free_lines(JsonValue **v, int n) { for (int i = 0; i < n; i++) json_free(v[i]); }

static void test_projections(void) {
    const float v[3] = {1, 2, 3};
    double p[TRACE_PROJ];
    trace_projections(v, 3, p);
    /* signs of elements 0, 1, 2 for k = 0..3: (-,+,-,-), (-,+,+,-), (+,-,+,-) */
    CHECK(p[0] == 0 && p[1] == 0 && p[2] == 4 && p[3] == -6, "projections of (1, 2, 3) equal the Python values",
          "got %g %g %g %g, expected 0 0 4 -6", p[0], p[1], p[2], p[3]);
    float w[3] = {1, 2, 3.5f};
    double q[TRACE_PROJ], moved = 0;
    trace_projections(w, 3, q);
    for (int k = 0; k < TRACE_PROJ; k++) moved = fmax(moved, fabs(fabs(q[k] - p[k]) - 0.5));
    CHECK(moved == 0, "a change of 0.5 at one element moves every projection by 0.5", "off by %g", moved);
}

static void test_levels(void) {
    TraceLevel lv = TRACE_OPS;
    int ok = !trace_level_parse("layers", &lv) && lv == TRACE_LAYERS && !trace_level_parse("methods", &lv) &&
             lv == TRACE_METHODS && !trace_level_parse("ops", &lv) && lv == TRACE_OPS;
    CHECK(ok && trace_level_parse("all", &lv) == -1, "trace levels: ops, layers, methods; another name refused", "lv %d", lv);
    char err[256] = "";
    TraceWriter t;
    CHECK(trace_writer_open(&t, "/nonexistent/dir/t.jsonl", TRACE_OPS, err, sizeof err) == -1 &&
          strstr(err, "cannot write trace /nonexistent/dir/t.jsonl"), "a trace that cannot be written is an error", "'%s'", err);
}

/* A conv node with input node `from`. */
static EngNode conv_node(int *in) {
    EngNode nd;
    memset(&nd, 0, sizeof nd);
    nd.op = ENG_OP_CONV2D;
    snprintf(nd.name, sizeof nd.name, "layer1.0.conv1");
    nd.n_in = 1; nd.in = in;
    nd.args.kh = nd.args.kw = 3; nd.args.stride = 2; nd.args.pad = 1; nd.args.dilation = 1;
    return nd;
}

/* Writes a trace: forward, backward to the input, backward to an inner node, a method line. */
static void write_trace(const char *path, TraceLevel level, const float *out, const char *layer) {
    TraceWriter t;
    char err[256];
    if (trace_writer_open(&t, path, level, err, sizeof err)) return;
    eng_set_trace(NULL, NULL);   /* events are fed by hand below */
    trace_writer_phase(&t, "test");
    int in0 = 0, in5 = 5;
    EngNode a = conv_node(&in0), b = conv_node(&in5);
    snprintf(a.name, sizeof a.name, "%s", layer);
    EngTraceEvent fw = {0, 1, &a, 1, -1, out, 4, 1, 2, 2}, bw0 = {1, 1, &a, 1, 0, out, 4, 1, 2, 2},
                  bw5 = {1, 2, &b, 1, 0, out, 4, 1, 2, 2};
    trace_writer_event(&t, &fw);
    trace_writer_event(&t, &bw0);
    trace_writer_event(&t, &bw5);
    trace_writer_method(&t, "img.png", "gradcam", 3, 1, 0.25, out, 4);
    trace_writer_close(&t);
}

static void test_writer(void) {
    const float out[4] = {-1, 2, 0.5f, 2.5f};
    char p[300], hex[65];
    path_of(p, sizeof p, "ops.jsonl");
    write_trace(p, TRACE_OPS, out, "layer1.0.conv1");
    int n;
    JsonValue **v = read_lines(p, &n);
    sha256_hex(out, sizeof out, hex);
    const JsonValue *f = n ? v[0] : NULL;
    const char *pass = json_string(json_get(f, "pass")), *sha = json_string(json_get(f, "sha256"));
    CHECK(n == 4 && pass && !strcmp(pass, "test forward") && json_number(json_get(f, "seq")) == 0 &&
          !strcmp(json_string(json_get(f, "op")), "conv2d") && sha && !strcmp(sha, hex),
          "ops level: four lines, the first 'test forward' conv2d with the output's SHA-256", "%d lines, pass %s", n, pass ? pass : "-");
    double l2 = sqrt(1 + 4 + 0.25 + 6.25);
    CHECK(f && json_number(json_get(f, "min")) == -1 && json_number(json_get(f, "max")) == 2.5 &&
          json_number(json_get(f, "mean")) == 1 && fabs(json_number(json_get(f, "l2")) - l2) < 1e-15,
          "min, max, mean and l2 of the output", "min %g max %g mean %g l2 %g",
          json_number(json_get(f, "min")), json_number(json_get(f, "max")), json_number(json_get(f, "mean")), json_number(json_get(f, "l2")));
    const JsonValue *par = json_get(f, "params"), *shape = json_get(f, "output");
    CHECK(json_number(json_get(par, "kernel")) == 3 && json_number(json_get(par, "stride")) == 2 &&
          json_bool(json_get(par, "bias")) == 0 && json_len(shape) == 3 && json_number(json_at(shape, 2)) == 2 &&
          json_len(json_get(f, "proj")) == TRACE_PROJ, "op parameters, output shape and projections", "params %zu", json_len(par));
    const JsonValue *m = n == 4 ? v[3] : NULL;
    CHECK(n == 4 && json_number(json_get(v[1], "input")) == 0 && !strcmp(json_string(json_get(v[1], "pass")), "test backward") &&
          !strcmp(json_string(json_get(m, "pass")), "method") && json_number(json_get(m, "forward_images")) == 3 &&
          json_number(json_get(m, "seq")) == 3, "backward lines carry the input; the method line follows", "%d lines", n);
    free_lines(v, n);
    path_of(p, sizeof p, "layers.jsonl");
    write_trace(p, TRACE_LAYERS, out, "layer1.0.conv1");
    v = read_lines(p, &n);
    CHECK(n == 3, "layers level: the backward line to an inner node is left out", "%d lines", n);
    free_lines(v, n);
    path_of(p, sizeof p, "methods.jsonl");
    write_trace(p, TRACE_METHODS, out, "layer1.0.conv1");
    v = read_lines(p, &n);
    CHECK(n == 1 && !strcmp(json_string(json_get(v[0], "pass")), "method"), "methods level: the method line alone", "%d lines", n);
    free_lines(v, n);
}

static void test_diff(void) {
    const float a[4] = {-1, 2, 0.5f, 2.5f}, r[4] = {-1, 2, 0.5f, nextafterf(2.5f, 3)}, big[4] = {-1, 2, 1.5f, 2.5f};
    char pa[300], pa2[300], pr[300], pb[300], po[300], ps[300], err[256] = "";
    path_of(pa, sizeof pa, "a.jsonl"); path_of(pa2, sizeof pa2, "a2.jsonl"); path_of(pr, sizeof pr, "r.jsonl");
    path_of(pb, sizeof pb, "b.jsonl"); path_of(po, sizeof po, "o.jsonl"); path_of(ps, sizeof ps, "s.jsonl");
    write_trace(pa, TRACE_OPS, a, "layer1.0.conv1");
    write_trace(pa2, TRACE_OPS, a, "layer1.0.conv1");
    write_trace(pr, TRACE_OPS, r, "layer1.0.conv1");
    write_trace(pb, TRACE_OPS, big, "layer1.0.conv1");
    write_trace(po, TRACE_OPS, a, "layer2.0.conv1");
    write_trace(ps, TRACE_METHODS, a, "layer1.0.conv1");
    TraceDiff d;
    CHECK(!trace_diff_files(pa, pa2, &d, err, sizeof err) && d.n == 4 && d.differ == 0 && !d.other_work[0],
          "identical traces: 4 lines, none differs", "n %ld differ %ld", d.n, d.differ);
    CHECK(!trace_diff_files(pa, pr, &d, err, sizeof err) && d.differ == 4 && d.beyond == 0 && d.has_first &&
          d.first.seq == 0 && d.first.rel > 0 && d.first.rel < ENG_ROUND_REL,
          "one ulp apart: every line differs in its bits, none beyond rounding", "differ %ld beyond %ld rel %g", d.differ, d.beyond, d.first.rel);
    CHECK(!trace_diff_files(pa, pb, &d, err, sizeof err) && d.beyond == 4 && d.has_first_beyond && d.first_beyond.seq == 0 &&
          d.first_beyond.a[2] == 1 && d.first_beyond.b[2] == 1.25 && !strcmp(d.first_beyond.layer, "layer1.0.conv1"),
          "a changed value: beyond rounding from the first line, with both means", "beyond %ld mean %g %g",
          d.beyond, d.first_beyond.a[2], d.first_beyond.b[2]);
    CHECK(!trace_diff_files(pa, po, &d, err, sizeof err) && d.n == 1 && strstr(d.other_work, "at seq 0 A has conv2d layer1.0.conv1") &&
          strstr(d.other_work, "different work"), "another layer at the same line: different work", "'%s'", d.other_work);
    CHECK(!trace_diff_files(pa, ps, &d, err, sizeof err) && strstr(d.other_work, "different") != NULL,
          "a shorter trace of other work is reported", "'%s'", d.other_work);
    char pshort[300];
    path_of(pshort, sizeof pshort, "short.jsonl");
    FILE *in = fopen(pa, "r"), *out = fopen(pshort, "w");
    char line[4096];
    for (int i = 0; in && out && i < 2 && fgets(line, sizeof line, in); i++) fputs(line, out);
    if (in) fclose(in);
    if (out) fclose(out);
    char want[400];
    snprintf(want, sizeof want, "the traces have different lengths: %s ends first", pshort);
    CHECK(!trace_diff_files(pa, pshort, &d, err, sizeof err) && d.n == 2 && !strcmp(d.other_work, want),
          "a trace cut short: different lengths, naming the one that ends first", "'%s'", d.other_work);
    CHECK(trace_diff_files(pa, "/nonexistent.jsonl", &d, err, sizeof err) == -1 && strstr(err, "cannot open /nonexistent.jsonl"),
          "a missing trace is an error naming it", "'%s'", err);
}

int main(void) {
    if (!mkdtemp(T)) return 1;
    test_projections();
    test_levels();
    test_writer();
    test_diff();
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", T);
    if (system(cmd)) {}
    CHECK_DONE();
}
