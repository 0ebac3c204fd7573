/* test_localize.c - the foreground (head/body) of an image and the map's
   mass outside it (eval/localize.h): against numpy/scipy on synthetic scans
   (tests/data/localize/foreground.json, tools/make_foreground_golden.py:
   smoothed values and threshold within 1e-12, masks bit for bit, outside
   mass within 1e-12), the cases where the metric is not applicable, the
   network input brought back to gray, and hostile sizes (refused without
   touching the output) and every small size (no out-of-bounds access under
   make asan). */
#include "eval/localize.h"
#include "io/file.h"
#include "io/image.h"
#include "io/json.h"
#include "tests/check.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GOLDEN "tests/data/localize/foreground.json"

static double jnum(const JsonValue *v) { return json_type(v) == JSON_NUMBER ? json_number(v) : NAN; }

static int hex_byte(const char *s) {
    int v = 0;
    for (int k = 0; k < 2; k++) {
        char c = s[k];
        v = v * 16 + (c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0);
    }
    return v;
}

/* rows of hex byte strings -> out[H*W] bytes; -1 on a bad shape */
static int read_hex_rows(const JsonValue *rows, int H, int W, uint8_t *out) {
    if ((int)json_len(rows) != H) return -1;
    for (int y = 0; y < H; y++) {
        const char *s = json_string(json_at(rows, y));
        if (!s || (int)strlen(s) != 2 * W) return -1;
        for (int x = 0; x < W; x++) out[(size_t)y * W + x] = (uint8_t)hex_byte(s + 2 * x);
    }
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The threshold from the definition: 0.1 x sorted[floor(0.99 (n-1))]. */
static double threshold_of(const double *s, size_t n) {
    double *v = malloc(sizeof(double) * n);
    memcpy(v, s, sizeof(double) * n);
    qsort(v, n, sizeof(double), cmp_double);
    double t = LOCALIZE_FG_THRESHOLD * v[(size_t)floor(LOCALIZE_FG_QUANTILE * (double)(n - 1))];
    free(v);
    return t;
}

typedef struct { double smooth, threshold, mass; int margin_ok, mask_bits, counts, sigmas, shapes; } GoldenErr;

static void check_case(const JsonValue *c, GoldenErr *e) {
    int H = (int)jnum(json_get(c, "h")), W = (int)jnum(json_get(c, "w"));
    size_t n = (size_t)H * W;
    uint8_t *k = malloc(n), *fg = malloc(n), *mk = malloc(n);
    float *gray = malloc(sizeof(float) * n), *map = malloc(sizeof(float) * n);
    double *s = malloc(sizeof(double) * n);
    if (read_hex_rows(json_get(c, "gray"), H, W, k)) { e->shapes++; goto done; }
    for (size_t i = 0; i < n; i++) gray[i] = (float)k[i] / 255.0f;
    e->sigmas += localize_fg_sigma(H, W) != jnum(json_get(c, "sigma"));
    if (localize_fg_smooth(gray, H, W, s)) { e->shapes++; goto done; }
    const JsonValue *samples = json_get(c, "samples");
    for (size_t q = 0; q < json_len(samples); q++) {
        size_t i = (size_t)jnum(json_at(json_at(samples, q), 0));
        e->smooth = fmax(e->smooth, i < n ? fabs(s[i] - jnum(json_at(json_at(samples, q), 1))) : INFINITY);
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += s[i];
    e->smooth = fmax(e->smooth, fabs(sum - jnum(json_get(c, "smooth_sum"))) / (double)n);
    e->threshold = fmax(e->threshold, fabs(threshold_of(s, n) - jnum(json_get(c, "threshold"))));
    e->margin_ok += jnum(json_get(c, "margin")) > 1e-6;
    int count = localize_foreground(gray, H, W, fg);
    e->counts += count != (int)jnum(json_get(c, "count"));
    const JsonValue *rows = json_get(c, "fg");
    for (int y = 0; y < H; y++) {
        const char *r = json_string(json_at(rows, y));
        for (int x = 0; x < W; x++) e->mask_bits += !r || fg[(size_t)y * W + x] != (r[x] == '1');
    }
    const JsonValue *maps = json_get(c, "maps");
    for (size_t m = 0; m < json_len(maps); m++) {
        if (read_hex_rows(json_get(json_at(maps, m), "map"), H, W, mk)) { e->shapes++; continue; }
        for (size_t i = 0; i < n; i++) map[i] = ((float)mk[i] - 128.0f) / 32.0f;
        double want = jnum(json_get(json_at(maps, m), "outside")), got = localize_outside_mass(map, fg, n);
        e->mass = fmax(e->mass, isnan(want) ? (isnan(got) ? 0 : INFINITY) : fabs(got - want));
    }
done:
    free(k); free(fg); free(mk); free(gray); free(map); free(s);
}

static void check_golden(void) {
    uint8_t *buf;
    size_t len;
    char err[512];
    if (io_read_file(GOLDEN, 1 << 24, &buf, &len, err, sizeof err)) { CHECK(0, "foreground golden", "%s", err); return; }
    JsonValue *g = json_parse((char *)buf, len, err, sizeof err);
    free(buf);
    if (!g) { CHECK(0, "foreground golden parses", "%s", err); return; }
    const JsonValue *cases = json_get(g, "cases");
    GoldenErr e = {0};
    for (size_t c = 0; c < json_len(cases); c++) check_case(json_at(cases, c), &e);
    int nc = (int)json_len(cases);
    CHECK(nc == 6 && !e.shapes && !e.sigmas, "foreground golden: 6 synthetic scans read, sigma = max(1, S/112) as scipy's",
          "%d cases, %d bad shapes, %d sigmas differ", nc, e.shapes, e.sigmas);
    CHECK(e.margin_ok == nc, "foreground golden: no smoothed value within 1e-6 of the threshold (rounding cannot flip a pixel)",
          "%d of %d cases have the margin", e.margin_ok, nc);
    CHECK(e.smooth < 1e-12 && e.threshold < 1e-12,
          "Gaussian smoothing and threshold equal scipy gaussian_filter(mode='nearest', truncate=3) and percentile 99 'lower' (1e-12)",
          "smoothed off by %.3g, threshold by %.3g", e.smooth, e.threshold);
    printf("  smoothed values within %.3g of scipy's, thresholds within %.3g\n", e.smooth, e.threshold);
    CHECK(!e.mask_bits && !e.counts,
          "foreground masks equal scipy's bit for bit (largest 4-connected component, tie to the first in raster order, holes filled)",
          "%d pixels and %d counts differ", e.mask_bits, e.counts);
    CHECK(e.mass <= 1e-12, "outside mass equals numpy's (exact sums) within 1e-12", "off by %.3g", e.mass);
    json_free(g);
}

/* A centred bright disk on a dark background, H x W. */
static void centred_disk(float *g, int H, int W, double r) {
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double dy = y - (H - 1) / 2.0, dx = x - (W - 1) / 2.0;
            g[(size_t)y * W + x] = dy * dy + dx * dx <= r * r ? 0.8f : 0.02f;
        }
}

static void check_edge_cases(void) {
    enum { H = 24, W = 24, N = H * W };
    float g[N], map[N];
    uint8_t fg[N];
    for (int i = 0; i < N; i++) { g[i] = 0.37f; map[i] = 1.0f; }
    memset(fg, 7, N);
    int n_const = localize_foreground(g, H, W, fg), zeros = 0;
    for (int i = 0; i < N; i++) zeros += fg[i] == 0;
    CHECK(n_const == 0 && zeros == N && isnan(localize_outside_mass(map, fg, N)),
          "a constant image has no foreground: count 0, mask cleared, outside mass NaN", "count %d, %d zeros", n_const, zeros);
    float one = 0.5f;
    uint8_t f1 = 9;
    int n1 = localize_foreground(&one, 1, 1, &f1);
    CHECK(n1 == 0 && f1 == 0, "a 1x1 image is constant: no foreground", "count %d, fg %d", n1, f1);
    float row[2] = {0.1f, 0.9f};
    uint8_t frow[2];
    int n2 = localize_foreground(row, 1, 2, frow);
    /* 9x1: the two bright ends smooth to two components of 2 pixels (the
       middle smooths to 0.9 (w2 + w3) = 0.053 < 0.1 x 0.63): a tie, the first kept */
    float col[9] = {0.9f, 0, 0, 0, 0, 0, 0, 0, 0.9f};
    uint8_t fcol[9];
    int n9 = localize_foreground(col, 9, 1, fcol), col_ok = 1;
    for (int i = 0; i < 9; i++) col_ok &= fcol[i] == (i < 2);
    CHECK(n2 == 2 && frow[0] && frow[1] && n9 == 2 && col_ok,
          "1x2 image: both pixels foreground; 9x1 image with two bright ends: a tie, the first end kept",
          "1x2 count %d; 9x1 count %d fg %d%d%d..%d%d", n2, n9, fcol[0], fcol[1], fcol[2], fcol[7], fcol[8]);
    for (int i = 0; i < N; i++) g[i] = 0.5f + 0.1f * (float)((i * 7919) % 13) / 13.0f;
    int n_all = localize_foreground(g, H, W, fg);
    for (int i = 0; i < N; i++) map[i] = (float)((i * 31) % 17) - 8.0f;
    CHECK(n_all == N && localize_outside_mass(map, fg, N) == 0.0,
          "an image bright everywhere is all foreground: outside mass 0", "count %d of %d", n_all, N);
    centred_disk(g, H, W, 7.0);
    int nd = localize_foreground(g, H, W, fg);
    for (int i = 0; i < N; i++) map[i] = -1.0f;
    CHECK(nd > 0 && isnan(localize_outside_mass(map, fg, N)), "a map with no positive mass: outside mass NaN", "count %d", nd);
    map[0] = 2.0f; map[1] = 0.5f; map[W] = 1.0f;  /* the top-left corner, the rest negative */
    CHECK(!fg[0] && !fg[1] && !fg[W] && localize_outside_mass(map, fg, N) == 1.0,
          "a map entirely in the corner of a centred disk: outside mass 1", "%g", localize_outside_mass(map, fg, N));
    for (int i = 0; i < N; i++) map[i] = fg[i] ? 1.0f : 0.0f;
    map[0] = 1.0f;
    double expect = 1.0 / (nd + 1.0);
    CHECK(fabs(localize_outside_mass(map, fg, N) - expect) < 1e-15, "one unit outside and nd inside: outside mass 1/(nd+1)",
          "%.17g vs %.17g", localize_outside_mass(map, fg, N), expect);
    memset(fg, 0, N);
    CHECK(isnan(localize_outside_mass(map, fg, N)) && isnan(localize_outside_mass(map, fg, 0)),
          "an empty foreground or no pixel: outside mass NaN", "not NaN");
}

static void check_gray_from_input(void) {
    /* 3 channels, 4 pixels: x * std + mean, clamped to [0,1], averaged; NaN counts 0 */
    const float mean[3] = {0.5f, 0.25f, 0.0f}, std[3] = {0.5f, 0.25f, 2.0f};
    const float x[12] = {0, 1, -3, NAN, 0, 3, 0, 1, 0, 0.25f, 1, -1};
    float gray[4];
    localize_gray_from_input(gray, x, 3, 4, mean, std);
    const float want[4] = {(0.5f + 0.25f + 0.0f) / 3, (1.0f + 1.0f + 0.5f) / 3, (0.0f + 0.25f + 1.0f) / 3, (0.0f + 0.5f + 0.0f) / 3};
    int bad = 0;
    for (int i = 0; i < 4; i++) bad += fabsf(gray[i] - want[i]) > 1e-7f;
    CHECK(!bad, "gray from the network input: x*std+mean clamped to [0,1], mean of the channels, NaN as 0",
          "%g %g %g %g", gray[0], gray[1], gray[2], gray[3]);
}

/* Sizes a caller must not be able to overflow or crash. */
static void check_hostile_sizes(void) {
    static const int sizes[][2] = {{0, 5}, {5, 0}, {-1, 8}, {8, -1}, {INT_MIN, INT_MIN}, {INT_MAX, INT_MAX},
                                   {1, INT_MAX}, {INT_MAX, 1}, {8193, 8193}, {65536, 1025}};
    float g[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    uint8_t fg[4];
    double s[4];
    int bad = 0;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        memset(fg, 0xAB, sizeof fg);
        int rc = localize_foreground(g, sizes[k][0], sizes[k][1], fg);
        int rs = localize_fg_smooth(g, sizes[k][0], sizes[k][1], s);
        int touched = 0;
        for (int i = 0; i < 4; i++) touched |= fg[i] != 0xAB;
        if (rc != -1 || rs != -1 || touched) { bad++; printf("  size %dx%d: rc %d, smooth %d, fg touched %d\n", sizes[k][0], sizes[k][1], rc, rs, touched); }
    }
    bad += localize_foreground(NULL, 2, 2, fg) != -1 || localize_foreground(g, 2, 2, NULL) != -1 ||
           localize_fg_smooth(NULL, 2, 2, s) != -1 || localize_fg_smooth(g, 2, 2, NULL) != -1;
    CHECK(!bad, "hostile sizes (<= 0, INT_MAX, above LOCALIZE_FG_MAX_PIXELS) and NULL: -1 and the mask untouched",
          "%d accepted", bad);
    /* every size up to 13x13, random and striped contents: a plausible mask each time */
    uint64_t st = 12345;
    int wrong = 0, tried = 0;
    for (int H = 1; H <= 13; H++)
        for (int W = 1; W <= 13; W++)
            for (int pattern = 0; pattern < 3; pattern++) {
                size_t n = (size_t)H * W;
                float *im = malloc(sizeof(float) * n);
                uint8_t *f = malloc(n);
                for (size_t i = 0; i < n; i++) {
                    st = st * 6364136223846793005ull + 1442695040888963407ull;
                    float r = (float)(st >> 40) / (float)(1 << 24);
                    im[i] = pattern == 0 ? r : pattern == 1 ? (float)((i / W + i % W) % 3 == 0) : (r < 0.2f ? 1.0f : 0.0f);
                }
                int c = localize_foreground(im, H, W, f), sum = 0, binary = 1;
                for (size_t i = 0; i < n; i++) { sum += f[i]; binary &= f[i] <= 1; }
                wrong += c < 0 || c != sum || !binary;
                tried++;
                free(im); free(f);
            }
    CHECK(!wrong, "every size from 1x1 to 13x13 (random, striped, sparse): a 0/1 mask whose count is returned",
          "%d of %d wrong", wrong, tried);
}

/* The mask beside an image: a real one, none, an empty one, an unreadable one. */
static void check_lesion_beside(void) {
    const char *img = "tests/data/samples/brain/glioma/Te-gl_0017.png";
    char path[600], err[600] = "", dir[] = "/tmp/test_localize_XXXXXX";
    uint8_t *mask = NULL, ref[64 * 64];
    int n = localize_lesion_beside(img, 64, 64, &mask, path, sizeof path, err, sizeof err);
    int want = localize_load_mask("tests/data/samples/brain/glioma/Te-gl_0017.mask.png", 64, 64, ref, err, sizeof err);
    CHECK(n > 0 && n == want && mask && !memcmp(mask, ref, sizeof ref) && strstr(path, "Te-gl_0017.mask.png"),
          "lesion beside an image: the mask file's pixels at 64 x 64", "%d vs %d: %s", n, want, err);
    free(mask);
    if (!mkdtemp(dir)) { printf("FAIL mkdtemp\n"); return; }
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/a.png", dir);
    mask = (uint8_t *)1;
    n = localize_lesion_beside(a, 8, 8, &mask, path, sizeof path, err, sizeof err);
    CHECK(n == 0 && !mask && !path[0], "no mask beside the image: 0, no path", "%d '%s'", n, path);
    snprintf(b, sizeof b, "%s/a.mask.png", dir);
    uint8_t zeros[16] = {0};
    image_write_png(b, zeros, 4, 4, 1);
    n = localize_lesion_beside(a, 8, 8, &mask, path, sizeof path, err, sizeof err);
    CHECK(n == 0 && !mask && !strcmp(path, b), "an empty mask: 0 with its path", "%d '%s'", n, path);
    FILE *f = fopen(b, "w");
    fputs("not a png", f);
    fclose(f);
    n = localize_lesion_beside(a, 8, 8, &mask, path, sizeof path, err, sizeof err);
    CHECK(n == -1 && !mask && strstr(err, "a.mask.png"), "an unreadable mask: -1 naming it", "%d '%s'", n, err);
    remove(b);
    rmdir(dir);
}

int main(void) {
    check_lesion_beside();
    check_golden();
    check_edge_cases();
    check_gray_from_input();
    check_hostile_sizes();
    CHECK_DONE();
}
