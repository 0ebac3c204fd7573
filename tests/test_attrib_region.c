/* test_attrib_region.c - xrai, occlusion, rise and random against their
   references (tools/make_attrib_golden_region.py -> tests/data/attrib/region/):
     - XRAI's resize (skimage cubic) bit for bit (sha256), its dilated masks
       (pixel count of every mask) and its greedy loop on PAIR's own IG
       (identical region ranks), then the whole method against PAIR's map;
     - occlusion against PAIR's map (stride 1) and a numpy sum (stride 4);
     - RISE: masks from the golden grids against skimage's, the map with
       those masks against the numpy aggregation, and the seeded generator's
       statistics (mean ~ p, ...);
     - properties: batch-size invariance, a blank image, random's seed.
   Models: seeded detweights resnet18 (1 channel) / densenet121 (3 channels). */
#include "attrib/attrib.h"
#include "attrib/rise.h"
#include "attrib/xrai.h"
#include "engine/engine.h"
#include "io/npy.h"
#include "io/sha256.h"
#include "tests/check.h"
#include "tests/detweights.h"
#include "weights/load.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DIR "tests/data/attrib/region/"

/* ---- small helpers ---- */

/* `spread <name> <r> <err>` of cases.txt: the reference's float32 spread
   around its float64 map (tools/golden_spread.py); r = -1 if missing. */
static CheckSpread spread_of(char **lines, int n, const char *name) {
    CheckSpread sp = {-1, -1};
    char nm[64];
    for (int i = 0; i < n; i++)
        if (sscanf(lines[i], "spread %63s %lf %lf", nm, &sp.r, &sp.err) == 3 && !strcmp(nm, name)) return sp;
    sp.r = sp.err = -1;
    return sp;
}

/* A map against the reference's float64 map within its spread; prints both. */
static void check_golden_map(const char *name, const float *ours, const float *ref, size_t n, CheckSpread sp) {
    size_t wi = 0;
    double r = check_pearson(ours, ref, n), e = check_err_of_range(ours, ref, n, &wi);
    char label[240];
    snprintf(label, sizeof label, "%s: r %.9f, max err %.2e of range (reference float32 spread r %.9f, err %.2e; bar %gx)",
             name, r, e, sp.r, sp.err, SPREAD_FACTOR);
    CHECK(sp.r >= 0 && check_within_spread(r, e, &sp), label, "worst at %zu: %g vs %g", wi, ours[wi], ref[wi]);
}

static float *load_f32(const char *name, int64_t *shape, int *ndim) {
    char path[256], err[256];
    snprintf(path, sizeof path, DIR "%s", name);
    NpyArray a;
    if (npy_read(path, &a, err, sizeof err)) { printf("cannot read %s: %s\n", path, err); return NULL; }
    float *v = npy_to_f32(&a);
    if (shape) memcpy(shape, a.shape, sizeof(int64_t) * a.ndim);
    if (ndim) *ndim = a.ndim;
    npy_free(&a);
    return v;
}

static char **case_lines(int *n) {
    FILE *f = fopen(DIR "cases.txt", "r");
    char **lines = NULL, buf[1024];
    *n = 0;
    while (f && fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = 0;
        lines = realloc(lines, sizeof(char *) * (*n + 1));
        lines[(*n)++] = strdup(buf);
    }
    if (f) fclose(f);
    return lines;
}

static const char *find_case(char **lines, int n, const char *prefix) {
    for (int i = 0; i < n; i++) if (!strncmp(lines[i], prefix, strlen(prefix))) return lines[i];
    return NULL;
}

/* The golden script's network input from a uint8 image, op for op. */
static float *network_input(const char *name, int C, int *H, int *W) {
    int64_t sh[2];
    float *u = load_f32(name, sh, NULL);
    if (!u) return NULL;
    *H = (int)sh[0]; *W = (int)sh[1];
    size_t hw = (size_t)*H * *W;
    static const float mean3[3] = {0.485f, 0.456f, 0.406f}, std3[3] = {0.229f, 0.224f, 0.225f};
    float *x = malloc(sizeof(float) * hw * C);
    for (int c = 0; c < C; c++)
        for (size_t i = 0; i < hw; i++) {
            float v = u[i] / 255.0f;
            x[c * hw + i] = C == 1 ? (v - 0.5f) / 0.25f : (v - mean3[c]) / std3[c];
        }
    free(u);
    return x;
}

/* The golden script's procedural pattern. */
static float *procedural(int C, int H, int W) {
    float *x = malloc(sizeof(float) * C * H * W);
    for (int c = 0; c < C; c++)
        for (int64_t y = 0; y < H; y++)
            for (int64_t xx = 0; xx < W; xx++)
                x[((size_t)c * H + y) * W + xx] =
                    (float)((xx * xx * 3 + y * 7 + c * 11 * xx * y + (xx * y) / 5) % 257) / 256.0f;
    return x;
}

static EngModel *model(const char *arch, int C, int K, uint64_t seed) {
    char err[256];
    EngModel *m = weights_model_for_arch(arch, C, K, err, sizeof err);
    if (!m) { printf("model: %s\n", err); return NULL; }
    detweights_fill_model(m, seed);
    return m;
}

static void params(AttribParams *P, EngModel *m, const float *x, int C, int H, int W, int target) {
    attrib_params_default(P);
    P->model = m; P->x = x; P->C = C; P->H = H; P->W = W; P->target = target;
}

static int finite_map(const float *m, size_t n) {
    for (size_t i = 0; i < n; i++) if (!isfinite(m[i])) return 0;
    return 1;
}

static void xrai_normalize(float *dst, const float *x, size_t n) { /* PAIR's [-1,1] rescale, float32 */
    float lo = x[0], hi = x[0];
    for (size_t i = 1; i < n; i++) { if (x[i] < lo) lo = x[i]; if (x[i] > hi) hi = x[i]; }
    for (size_t i = 0; i < n; i++) dst[i] = (x[i] - lo) / (hi - lo) * 2.0f + -1.0f;
}

/* ---- XRAI ---- */

static void test_resize(const char *line) {
    char kind[32], hex[65], name[96];
    int C, H, W;
    double total;
    if (sscanf(line, "resize %31s %d %d %d %64s %lf", kind, &C, &H, &W, hex, &total) != 6) {
        CHECK(0, "resize_case", "cannot parse '%s'", line);
        return;
    }
    float *x = strncmp(kind, "img64", 5) ? procedural(C, H, W) : network_input("img64.npy", C, &H, &W);
    size_t n = (size_t)C * H * W, on = (size_t)C * XRAI_SEG_SIZE * XRAI_SEG_SIZE;
    float *u = malloc(sizeof(float) * n), *out = malloc(sizeof(float) * on);
    xrai_normalize(u, x, n);
    int rc = xrai_resize_cubic(out, XRAI_SEG_SIZE, XRAI_SEG_SIZE, u, C, H, W);
    char got[65];
    sha256_hex(out, sizeof(float) * on, got);
    double s = 0;
    for (size_t i = 0; i < on; i++) s += out[i];
    snprintf(name, sizeof name, "xrai_resize_%s_c%d_%dx%d", kind, C, H, W);
    CHECK(rc == 0 && !strcmp(got, hex), name, "sha256 %s, skimage %s; sum %.17g vs %.17g", got, hex, s, total);
    free(x); free(u); free(out);
}

/* Masks of PAIR's _get_segments_felzenszwalb: segments per scale and the
   pixel count of every dilated mask, exactly. */
static int check_masks(const char *tag, const float *x, int C, int H, int W, const char *counts, XraiMasks *keep) {
    char name[96], file[96];
    XraiMasks M;
    int rc = xrai_masks(&M, x, C, H, W);
    int per[XRAI_N_SCALES] = {0};
    sscanf(counts, "%d,%d,%d,%d,%d,%d", &per[0], &per[1], &per[2], &per[3], &per[4], &per[5]);
    snprintf(file, sizeof file, "masksizes_%s.npy", tag);
    int64_t sh[1];
    float *sizes = load_f32(file, sh, NULL);
    int same_scales = !rc && !memcmp(per, M.per_scale, sizeof per), bad = 0, first_bad = -1;
    if (!rc && sizes && sh[0] == M.n)
        for (int m = 0; m < M.n; m++)
            if ((int64_t)sizes[m] != M.start[m + 1] - M.start[m]) { if (first_bad < 0) first_bad = m; bad++; }
    snprintf(name, sizeof name, "xrai_masks_%s", tag);
    CHECK(same_scales && sizes && sh[0] == M.n && bad == 0, name,
          "segments per scale %d,%d,%d,%d,%d,%d (PAIR %s); %d masks (PAIR %lld); %d sizes differ (first mask %d)",
          M.per_scale[0], M.per_scale[1], M.per_scale[2], M.per_scale[3], M.per_scale[4], M.per_scale[5], counts,
          M.n, sizes ? (long long)sh[0] : -1LL, bad, first_bad);
    if (same_scales && !bad) printf("     %s: segments %s, %d masks\n", tag, counts, M.n);
    free(sizes);
    if (keep && !rc) *keep = M; else if (!rc) xrai_masks_free(&M);
    return rc;
}

static void test_mask_cases(char **lines, int n) {
    for (int i = 0; i < n; i++) {
        char tag[64], counts[128];
        if (sscanf(lines[i], "masks %63s %127s", tag, counts) != 2) continue;
        int C, H, W;
        float *x;
        if (!strncmp(tag, "proc_", 5)) {
            sscanf(tag, "proc_c%d_%dx%d", &C, &H, &W);
            x = procedural(C, H, W);
        } else {
            C = strstr(tag, "d121") ? 3 : 1;
            x = network_input("img64.npy", C, &H, &W);
        }
        check_masks(tag, x, C, H, W, counts, NULL);
        free(x);
    }
}

static void test_xrai(char **lines, int n) {
    const char *line = find_case(lines, n, "xrai ");
    char arch[32], counts[128];
    int C, K, seed, S, target, nreg;
    if (!line || sscanf(line, "xrai %31s %d %d %d %d %d %d %127s", arch, &C, &K, &seed, &S, &target, &nreg, counts) != 8) {
        CHECK(0, "xrai_case", "no xrai line in cases.txt");
        return;
    }
    int H, W;
    float *x = network_input("img224.npy", C, &H, &W);
    int64_t sh[2];
    float *ig = load_f32("xrai_ig.npy", sh, NULL), *rk = load_f32("xrai_ranks.npy", NULL, NULL);
    float *gains = load_f32("xrai_gains.npy", NULL, NULL);
    XraiMasks M = {0};
    if (!x || !ig || !rk || !gains || check_masks("r18_224", x, C, H, W, counts, &M)) {
        CHECK(0, "xrai_inputs", "golden files missing");
        return;
    }
    size_t hw = (size_t)H * W;
    float *ref = malloc(sizeof(float) * hw), *map = malloc(sizeof(float) * hw);
    int32_t *ranks = malloc(sizeof(int32_t) * hw);
    for (size_t i = 0; i < hw; i++) ref[i] = gains[(int)rk[i] - 1];
    /* the greedy loop alone, on PAIR's own IG: the same regions in the same order */
    int got = xrai_greedy(map, ranks, ig, H, W, &M, NULL), top = 0;
    long diff = 0;
    for (size_t i = 0; i < hw; i++) { diff += ranks[i] != (int32_t)rk[i]; if (ranks[i] > top) top = ranks[i]; }
    double e = check_err_of_range(map, ref, hw, NULL);
    /* nreg is PAIR's largest rank: the regions, plus 1 if some pixels stayed uncovered */
    CHECK(top == nreg && diff == 0 && e <= 1e-6, "xrai_greedy_on_pair_ig",
          "ranks 1..%d (PAIR 1..%d), %ld pixels of another rank, max err %.2e of range", top, nreg, diff, e);
    printf("     greedy on PAIR's IG: %d regions (ranks 1..%d), all ranks identical, map max err %.1e of range\n", got,
           top, e);
    /* the whole method */
    EngModel *m = model(arch, C, K, seed);
    AttribParams P;
    AttribResult R;
    params(&P, m, x, C, H, W, target);
    CheckSpread sp_ig = spread_of(lines, n, "xrai_ig"), sp_map = spread_of(lines, n, "xrai_map");
    float *ig_c = malloc(sizeof(float) * hw);
    for (int path = 0; path < 1 + check_slow(); path++) { /* reference path: make test-slow */
        eng_set_reference(path);
        int rc = attrib_find("xrai")->run(&P, &R);
        if (rc) { CHECK(0, "xrai_run", "%s", eng_last_error()); break; }
        memcpy(ig_c, R.attr, sizeof(float) * hw); /* C == 1: the channel max is the attribution */
        check_golden_map(path ? "xrai_ig_vs_pair (reference path)" : "xrai_ig_vs_pair", ig_c, ig, hw, sp_ig);
        check_golden_map(path ? "xrai_vs_pair (reference path)" : "xrai_vs_pair", R.map, ref, hw, sp_map);
        printf("     xrai: %s; %.2f s, %ld forward + %ld backward passes in %ld batches\n", R.notes, R.seconds,
               R.forward, R.backward, R.batches);
        attrib_result_free(&R);
    }
    eng_set_reference(0);
    attrib_result_free(&R);
    attrib_params_release(&P);
    eng_model_free(m);
    xrai_masks_free(&M);
    free(x); free(ig); free(rk); free(gains); free(ref); free(map); free(ranks); free(ig_c);
}

/* ---- occlusion ---- */

static void test_occlusion(char **lines, int n) {
    for (int i = 0; i < n; i++) {
        char tag[32], arch[32], name[96], file[96];
        int C, K, seed, S, target;
        if (sscanf(lines[i], "occlusion %31s %31s %d %d %d %d %d", tag, arch, &C, &K, &seed, &S, &target) != 7) continue;
        int H, W;
        float *x = network_input("img64.npy", C, &H, &W);
        EngModel *m = model(arch, C, K, seed);
        size_t hw = (size_t)H * W;
        /* the densenet at stride 1 (2501 passes) only with SALIENT_SLOW_TESTS=1: its
           stride-4 map is the same PAIR window scores summed in numpy */
        int slow = check_slow();
        for (int stride = (C == 3 && !slow) ? 4 : 1; stride <= 4; stride += 3) {
            snprintf(file, sizeof file, stride == 1 ? "occ_%s.npy" : "occ_%s_s4.npy", tag);
            float *ref = load_f32(file, NULL, NULL);
            AttribParams P;
            AttribResult R;
            params(&P, m, x, C, H, W, target);
            P.stride = stride;
            snprintf(name, sizeof name, "occ_%s%s", tag, stride == 1 ? "" : "_s4");
            CheckSpread sp = spread_of(lines, n, name);
            int rc = 0;
            for (int path = 0; path < 1 + check_slow() && !rc; path++) { /* reference path: make test-slow */
                eng_set_reference(path);
                rc = attrib_find("occlusion")->run(&P, &R);
                snprintf(name, sizeof name, "occlusion_%s_stride%d_vs_%s%s", tag, stride, stride == 1 ? "pair" : "numpy",
                         path ? " (reference path)" : "");
                if (rc || !ref) { CHECK(0, name, "%s", rc ? eng_last_error() : "no golden"); break; }
                check_golden_map(name, R.map, ref, hw, sp);
                printf("     %s: %.2f s, %ld passes\n", name, R.seconds, R.forward);
                attrib_result_free(&R);
            }
            eng_set_reference(0);
            if (rc || !ref) continue;
            attrib_result_free(&R);
            attrib_params_release(&P);
            free(ref);
        }
        eng_model_free(m);
        free(x);
    }
}

/* ---- RISE ---- */

static float *golden_rise_masks(const RiseMaskGen *g, int N) {
    int64_t sg[3], ss[2];
    float *grids = load_f32("rise_grids.npy", sg, NULL), *shifts = load_f32("rise_shifts.npy", ss, NULL);
    if (!grids || !shifts || sg[0] != N || sg[1] != g->s) { free(grids); free(shifts); return NULL; }
    size_t hw = (size_t)g->H * g->W;
    float *masks = malloc(sizeof(float) * hw * N);
    uint8_t *cell = malloc((size_t)g->s * g->s);
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < g->s * g->s; k++) cell[k] = grids[(size_t)i * g->s * g->s + k] != 0;
        rise_mask_from_grid(masks + hw * i, g, cell, (int)shifts[2 * i], (int)shifts[2 * i + 1]);
    }
    free(grids); free(shifts); free(cell);
    return masks;
}

static void test_rise_golden(char **lines, int n) {
    const char *line = find_case(lines, n, "rise ");
    char arch[32];
    int C, K, seed, S, target, N, s;
    double p;
    if (!line || sscanf(line, "rise %31s %d %d %d %d %d %d %d %lf", arch, &C, &K, &seed, &S, &target, &N, &s, &p) != 9) {
        CHECK(0, "rise_case", "no rise line");
        return;
    }
    int H, W;
    float *x = network_input("img64.npy", C, &H, &W);
    size_t hw = (size_t)H * W;
    RiseMaskGen g = rise_mask_gen(H, W, s, p);
    float *masks = golden_rise_masks(&g, N), *m0 = load_f32("rise_mask0.npy", NULL, NULL);
    float *ref = load_f32("rise_sal.npy", NULL, NULL);
    if (!masks || !m0 || !ref) { CHECK(0, "rise_golden", "golden files missing"); return; }
    double em = 0;
    for (size_t i = 0; i < hw; i++) em = fmax(em, fabs((double)masks[i] - m0[i]));
    CHECK(em == 0, "rise_mask_vs_skimage", "max |diff| %.3g in the first mask", em);
    EngModel *m = model(arch, C, K, seed);
    AttribParams P;
    AttribResult R;
    params(&P, m, x, C, H, W, target);
    P.masks = N; P.grid = s; P.prob = p; P.masks_in = masks;
    CheckSpread sp = spread_of(lines, n, "rise");
    for (int path = 0; path < 1 + check_slow(); path++) { /* reference path: make test-slow */
        eng_set_reference(path);
        if (attrib_find("rise")->run(&P, &R)) { CHECK(0, "rise_run", "%s", eng_last_error()); break; }
        check_golden_map(path ? "rise_fixed_masks_vs_numpy (reference path)" : "rise_fixed_masks_vs_numpy", R.map, ref,
                         hw, sp);
        if (path == 0) printf("     %s\n", R.notes);
        attrib_result_free(&R);
    }
    eng_set_reference(0);
    attrib_result_free(&R);
    attrib_params_release(&P);
    eng_model_free(m);
    free(x); free(masks); free(m0); free(ref);
}

/* The seeded generator: mask values in [0,1], mean ~ p overall and per
   pixel, the cells ~ p, every shift drawn. */
static void test_rise_statistics(double p) {
    const int H = 64, W = 64, s = 8, N = 4000;
    RiseMaskGen g = rise_mask_gen(H, W, s, p);
    EngRng r;
    eng_rng_seed(&r, 1234);
    size_t hw = (size_t)H * W;
    float *mask = malloc(sizeof(float) * hw);
    double *mean = calloc(hw, sizeof(double)), cells = 0, lo = 1, hi = 0;
    uint8_t grid[64];
    for (int i = 0; i < N; i++) {
        rise_draw_mask(&g, &r, mask, grid);
        for (int k = 0; k < s * s; k++) cells += grid[k];
        for (size_t j = 0; j < hw; j++) { mean[j] += mask[j]; lo = fmin(lo, mask[j]); hi = fmax(hi, mask[j]); }
    }
    double all = 0, worst = 0;
    for (size_t j = 0; j < hw; j++) { mean[j] /= N; all += mean[j]; worst = fmax(worst, fabs(mean[j] - p)); }
    all /= hw;
    cells /= (double)N * s * s;
    double sd_cells = sqrt(p * (1 - p) / ((double)N * s * s)), sd_pix = sqrt(p * (1 - p) / N);
    char name[64];
    snprintf(name, sizeof name, "rise_mask_statistics_p%.1f", p);
    /* bounds: cells 5 sd; the overall mean 0.01; per pixel 5 sd of a 0/1 cell mean (a bilinear mix has less) */
    CHECK(lo >= 0 && hi <= 1 && fabs(cells - p) < 5 * sd_cells && fabs(all - p) < 0.01 && worst < 5 * sd_pix, name,
          "range [%g,%g], cells %.4f, mean %.4f, worst pixel mean off by %.4f (5 sd %.4f)", lo, hi, cells, all, worst,
          5 * sd_pix);
    printf("     p %.1f: cells on %.4f, mask mean %.4f, worst pixel mean %+.4f (5 sd = %.4f), values in [%g, %g]\n", p,
           cells, all, worst, 5 * sd_pix, lo, hi);
    free(mask); free(mean);
}

/* ---- properties ---- */

static int run_method(const char *name, EngModel *m, const float *x, int C, int H, int W, int target, int batch,
                      void (*tune)(AttribParams *), AttribResult *R) {
    AttribParams P;
    params(&P, m, x, C, H, W, target);
    P.batch = batch;
    P.seed = 7;
    if (tune) tune(&P);
    int rc = attrib_find(name)->run(&P, R);
    attrib_params_release(&P);
    return rc;
}

static void tune_xrai(AttribParams *P) { P->steps = 6; }
static void tune_occ(AttribParams *P) { P->stride = 8; }
static void tune_rise(AttribParams *P) { P->masks = 50; }

static void test_batch_and_blank(void) {
    int H, W;
    float *x = network_input("img64.npy", 1, &H, &W);
    size_t hw = (size_t)H * W;
    EngModel *m = model("resnet18", 1, 4, 38);
    const char *names[] = {"xrai", "occlusion", "rise", "random"};
    void (*tunes[])(AttribParams *) = {tune_xrai, tune_occ, tune_rise, NULL};
    float *blank = malloc(sizeof(float) * hw);
    for (size_t i = 0; i < hw; i++) blank[i] = -2.0f; /* a black image after normalisation */
    for (int k = 0; k < 4; k++) {
        AttribResult a, b, c;
        char name[64];
        int rc = run_method(names[k], m, x, 1, H, W, 1, 3, tunes[k], &a);
        rc |= run_method(names[k], m, x, 1, H, W, 1, 16, tunes[k], &b);
        double rel = rc ? 1 : check_max_rel(a.map, b.map, hw, NULL);
        snprintf(name, sizeof name, "%s_batch_invariance", names[k]);
        CHECK(!rc && rel <= 1e-5, name, "batch 3 vs 16: max rel diff %.2e (%s)", rel, rc ? eng_last_error() : "");
        printf("     %s: batch 3 vs 16 max rel diff %.1e\n", names[k], rel);
        int rb = run_method(names[k], m, blank, 1, H, W, 1, 0, tunes[k], &c);
        snprintf(name, sizeof name, "%s_blank_image", names[k]);
        CHECK(!rb && finite_map(c.map, hw), name, "%s", rb ? eng_last_error() : "non-finite map");
        if (!rc) { attrib_result_free(&a); attrib_result_free(&b); }
        if (!rb) attrib_result_free(&c);
    }
    eng_model_free(m);
    free(x); free(blank);
}

static void test_random(void) {
    const int H = 48, W = 40;
    size_t hw = (size_t)H * W;
    float x[1] = {0};
    AttribParams P;
    AttribResult a, b, c;
    params(&P, NULL, x, 1, H, W, 0);
    P.seed = 11;
    attrib_find("random")->run(&P, &a);
    attrib_find("random")->run(&P, &b);
    P.seed = 12;
    attrib_find("random")->run(&P, &c);
    int same = !memcmp(a.map, b.map, sizeof(float) * hw), differ = 0, in01 = 1;
    double mean = 0;
    for (size_t i = 0; i < hw; i++) {
        differ += a.map[i] != c.map[i];
        in01 &= a.map[i] >= 0 && a.map[i] < 1;
        mean += a.map[i];
    }
    mean /= hw;
    CHECK(same && differ > (long)hw * 9 / 10 && in01 && fabs(mean - 0.5) < 5 * sqrt(1.0 / 12 / hw) &&
              a.forward == 0, "random_map",
          "same seed same map %d, other seed differs at %d of %zu, in [0,1) %d, mean %.4f", same, differ, hw, in01, mean);
    attrib_result_free(&a); attrib_result_free(&b); attrib_result_free(&c);
}

int main(void) {
    eng_set_threads(2);
    int n;
    char **lines = case_lines(&n);
    CHECK(n > 0, "region_cases", "no %scases.txt", DIR);
    for (int i = 0; i < n; i++) if (!strncmp(lines[i], "resize ", 7)) test_resize(lines[i]);
    test_mask_cases(lines, n);
    test_random();
    test_rise_statistics(0.5);
    test_rise_statistics(0.1);
    test_rise_golden(lines, n);
    test_batch_and_blank();
    test_occlusion(lines, n);
    test_xrai(lines, n);
    for (int i = 0; i < n; i++) free(lines[i]);
    free(lines);
    CHECK_DONE();
}
