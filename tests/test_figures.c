/* test_figures.c - the figures say what was explained (eval/render.c and
   `salient explain`):
   - figure_title builds "true: T  pred: P 0.32", "WRONG  ..." for a wrong
     prediction, "pred: P 0.87" without a true label, "  target: K" when
     the explained class is not the prediction;
   - figure_grid / figure_map draw a red frame and red text only
     for a wrong prediction, and the band wraps on narrow figures;
   - `salient explain -M gradcam` on a bundled brain slice: with a wrong
     --label, explain.json says correct: false and grid.png and
     gradcam.png carry the red frame; with the label the model predicts,
     correct: true and no red; the folder name as the true label; an image
     outside a class folder has no true label (correct: null, no red); a
     --label that is no class is an error;
   - draw_outline draws a lesion mask's edge and nothing else;
   - `salient evaluate`'s gallery marks the image whose data-set label
     differs from the prediction, and only that one.
   The model's prediction is read from its own explain.json, so nothing
   here depends on the shipped weights' answers or input size.
   The program under test is $SALIENT (default ./salient), run from the
   repository root as tests/run.sh does. */
#include "eval/render.c"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/file.h"
#include "io/image.h"
#include "io/json.h"
#include "tests/check.h"

/* ------------------------------------------------------------------ */
/* the title                                                           */

static FigureInfo info(int pred, const char *pn, double prob, int truth, const char *tn, int target, const char *kn) {
    FigureInfo f = {pred, pn, prob, truth, tn, target, kn, NULL, NULL};
    return f;
}

static void test_title(void) {
    char b[256];
    FigureInfo f = info(3, "pituitary", 0.3157, 1, "meningioma", 3, "pituitary");
    figure_title(&f, b, sizeof b);
    CHECK(!strcmp(b, "WRONG  true: meningioma  pred: pituitary 0.32"), "title: wrong prediction", "'%s'", b);
    CHECK(figure_correct(&f) == 0, "figure_correct: wrong", "%d", figure_correct(&f));

    f = info(0, "glioma", 0.613, 0, "glioma", 0, "glioma");
    figure_title(&f, b, sizeof b);
    CHECK(!strcmp(b, "true: glioma  pred: glioma 0.61"), "title: correct prediction", "'%s'", b);
    CHECK(figure_correct(&f) == 1, "figure_correct: correct", "%d", figure_correct(&f));

    f = info(3, "pituitary", 0.8712, -1, NULL, 3, "pituitary");
    figure_title(&f, b, sizeof b);
    CHECK(!strcmp(b, "pred: pituitary 0.87"), "title: no true label, no claim of correctness", "'%s'", b);
    CHECK(figure_correct(&f) == -1, "figure_correct: unknown", "%d", figure_correct(&f));

    f = info(3, "pituitary", 0.3157, 1, "meningioma", 1, "meningioma");
    figure_title(&f, b, sizeof b);
    CHECK(!strcmp(b, "WRONG  true: meningioma  pred: pituitary 0.32  target: meningioma"),
          "title: target that is not the prediction", "'%s'", b);

    f = info(2, "notumor", 0.5, -1, NULL, 0, "glioma");
    figure_title(&f, b, sizeof b);
    CHECK(!strcmp(b, "pred: notumor 0.50  target: glioma"), "title: target without a true label", "'%s'", b);

    f = info(1, "1", 0.999, 1, "1", 1, "1");
    figure_title(&f, b, sizeof b);
    CHECK(!strcmp(b, "true: 1  pred: 1 1.00"), "title: class indices as names", "'%s'", b);

    char small[12];
    f = info(3, "pituitary", 0.3157, 1, "meningioma", 3, "pituitary");
    int n = figure_title(&f, small, sizeof small);
    CHECK(n == (int)strlen("WRONG  true: meningioma  pred: pituitary 0.32") && !strcmp(small, "WRONG  true"),
          "title: cut to the buffer, full length returned", "%d '%s'", n, small);
}

/* ------------------------------------------------------------------ */
/* pixels                                                              */

typedef struct { int w, h; float *d; } Pic;   /* RGB, (3, h, w) in [0,1] */

static int pic_load(const char *path, Pic *p) {
    Image im = {0};
    char err[512] = "not RGB";
    if (image_load(path, &im, err, sizeof err) || im.c != 3) {
        printf("    %s\n", err);
        image_free(&im);
        return -1;
    }
    p->w = im.w; p->h = im.h; p->d = im.data;
    return 0;
}

static void px(const Pic *p, int x, int y, int rgb[3]) {
    for (int k = 0; k < 3; k++) rgb[k] = (int)(p->d[((size_t)k * p->h + y) * p->w + x] * 255.0f + 0.5f);
}

static int is_red(const int c[3]) { return c[0] >= 200 && c[1] <= 40 && c[2] <= 40; }
static int is_white(const int c[3]) { return c[0] >= 250 && c[1] >= 250 && c[2] >= 250; }

/* Points on all four sides of the frame: 1 if every one is red, 0 if every
   one is white, -1 mixed. */
static int frame_state(const Pic *p) {
    int pts[8][2] = {{1, 1}, {p->w / 2, 2}, {p->w - 2, 3}, {2, p->h / 2}, {p->w - 3, p->h / 2},
                     {1, p->h - 2}, {p->w / 3, p->h - 3}, {p->w - 2, p->h - 1}};
    int red = 0, white = 0;
    for (int i = 0; i < 8; i++) {
        int c[3];
        px(p, pts[i][0], pts[i][1], c);
        red += is_red(c);
        white += is_white(c);
    }
    return red == 8 ? 1 : white == 8 ? 0 : -1;
}

/* Red pixels inside the frame in the band (the first 30 rows below the margin). */
static int band_red(const Pic *p) {
    int n = 0;
    for (int y = FIGURE_MARGIN; y < FIGURE_MARGIN + 30 && y < p->h - FIGURE_MARGIN; y++)
        for (int x = FIGURE_MARGIN; x < p->w - FIGURE_MARGIN; x++) {
            int c[3];
            px(p, x, y, c);
            n += is_red(c);
        }
    return n;
}

static char tmpdir[64];

static void test_drawing(void) {
    enum { S = 32, N = 2 };
    float in[S * S], m0[S * S], m1[S * S];
    for (int i = 0; i < S * S; i++) { in[i] = (float)(i % S) / S; m0[i] = (float)i; m1[i] = (float)(S * S - i); }
    const float *maps[N] = {m0, m1};
    const char *names[N] = {"a", "b"};
    int clip[N] = {0, 1};
    char path[256];
    for (int wrong = 0; wrong < 2; wrong++) {
        FigureInfo f = info(0, "pituitary", 0.42, wrong ? 1 : 0, wrong ? "meningioma" : "pituitary", 0, "pituitary");
        f.settings = "non-default settings: steps 10, samples 3";
        for (int kind = 0; kind < 2; kind++) {
            snprintf(path, sizeof path, "%s/%s%d.png", tmpdir, kind ? "map" : "grid", wrong);
            int rc = kind ? figure_map(path, &f, in, 1, S, m0, "a", 0)
                          : figure_grid(path, &f, in, 1, S, maps, names, clip, N, 6);
            Pic p = {0};
            char name[128];
            snprintf(name, sizeof name, "%s, %s prediction: %s frame and %s band text", kind ? "figure_map" : "figure_grid",
                     wrong ? "wrong" : "correct", wrong ? "red" : "white", wrong ? "red" : "no red");
            if (rc || pic_load(path, &p)) { CHECK(0, name, "could not write or read %s", path); continue; }
            int fs = frame_state(&p), br = band_red(&p);
            CHECK(wrong ? fs == 1 && br > 20 : fs == 0 && br == 0, name, "frame %d (1 red, 0 white, -1 mixed), %d red band pixels", fs, br);
            free(p.d);
        }
    }
    /* over methods: the tiles named by the methods, the gradient family clipped */
    {
        FigureInfo f = info(0, "pituitary", 0.42, 0, "pituitary", 0, "pituitary");
        const AttribMethod *ms[N] = {attrib_find("gradcam"), attrib_find("ig")};
        const char *mnames[N] = {"gradcam", "ig"};
        int mclip[N] = {0, 1};
        float *mmaps[N] = {m0, m1};
        char pa[256], pb[256];
        snprintf(pa, sizeof pa, "%s/methods.png", tmpdir);
        snprintf(pb, sizeof pb, "%s/by_hand.png", tmpdir);
        uint8_t *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        char err[256] = "";
        int ok = ms[0] && ms[1] && ms[1]->family == FAMILY_GRADIENT && ms[0]->family != FAMILY_GRADIENT &&
                 !figure_grid_methods(pa, &f, in, 1, S, mmaps, ms, N, 6) &&
                 !figure_grid(pb, &f, in, 1, S, maps, mnames, mclip, N, 6) &&
                 !io_read_file(pa, 1 << 24, &a, &na, err, sizeof err) && !io_read_file(pb, 1 << 24, &b, &nb, err, sizeof err) &&
                 na == nb && !memcmp(a, b, na);
        CHECK(ok, "figure_grid_methods: the grid of the methods' names, ig's map clipped, gradcam's not", "%s", err);
        free(a); free(b);
    }
    /* the band wraps on a narrow figure and the settings take a line */
    FigureInfo f = info(3, "pituitary", 0.3157, 1, "meningioma", 1, "meningioma");
    int wide = figure_band_height(&f, 2000), narrow = figure_band_height(&f, 240);
    f.settings = "non-default settings: steps 10, samples 3, stride 16, masks 500";
    int with = figure_band_height(&f, 2000), with_narrow = figure_band_height(&f, 240);
    CHECK(narrow > wide && with > wide && with_narrow > narrow, "band: wraps when narrow, settings add a line",
          "wide %d narrow %d, with settings %d / %d", wide, narrow, with, with_narrow);
    Fields t;
    title_fields(&f, &t);
    int fits = 1;
    for (int i = 0; i < t.n; i++) fits &= canvas_text_width(t.s[i], 1) <= 240;
    CHECK(fits, "band: every title field fits a 240 px figure at scale 1", "%d fields", t.n);
}

/* ------------------------------------------------------------------ */
/* salient explain                                                     */

static const char *salient(void) {
    const char *s = getenv("SALIENT");
    return s && *s ? s : "./salient";
}

#define MODEL "weights/brain_resnet18.safetensors"
#define SAMPLES "tests/data/samples/brain"

static JsonValue *read_json(const char *path) {
    uint8_t *buf;
    size_t len;
    char err[512];
    if (io_read_file(path, (size_t)16 << 20, &buf, &len, err, sizeof err)) { printf("    %s\n", err); return NULL; }
    JsonValue *v = json_parse((const char *)buf, len, err, sizeof err);
    free(buf);
    if (!v) printf("    %s: %s\n", path, err);
    return v;
}

/* Runs salient explain -M gradcam with extra options on images; 0 on exit
   status 0, else the log's tail is shown unless the failure is expected. */
static int explain_run(const char *out, const char *extra, const char *images, int quiet) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s explain -m " MODEL " -M gradcam --threads 1 %s -o %s/%s %s >%s/%s.log 2>&1", salient(),
             extra, tmpdir, out, images, tmpdir, out);
    int rc = system(cmd);
    if (rc && !quiet) {
        char log[256];
        snprintf(log, sizeof log, "cat %s/%s.log | tail -5 | sed 's/^/    /'", tmpdir, out);
        if (system(log)) {}
    }
    return rc;
}
#define explain(out, extra, images) explain_run(out, extra, images, 0)

static const char *jstr(const JsonValue *v, const char *key) { return json_string(json_get(v, key)); }

/* The figures of one explained image: frame state of grid.png and gradcam.png (-2: unreadable). */
static void frames(const char *dir, int *grid, int *map, int *grid_band_red) {
    char p[512];
    Pic a = {0}, b = {0};
    snprintf(p, sizeof p, "%s/grid.png", dir);
    *grid = pic_load(p, &a) ? -2 : frame_state(&a);
    *grid_band_red = *grid == -2 ? -1 : band_red(&a);
    snprintf(p, sizeof p, "%s/gradcam.png", dir);
    *map = pic_load(p, &b) ? -2 : frame_state(&b);
    free(a.d); free(b.d);
}

/* draw_outline: a 5x5 lesion in a 9x9 image at zoom 2 marks its 16 edge
   pixels (64 canvas pixels) and leaves its 9 inner pixels and the outside alone. */
static void test_outline(void) {
    enum { N = 9, Z = 2 };
    uint8_t mask[N * N] = {0};
    for (int y = 2; y < 7; y++)
        for (int x = 2; x < 7; x++) mask[y * N + x] = 1;
    Canvas c;
    if (canvas_new(&c, N * Z, N * Z, 0)) { printf("FAIL outline: out of memory\n"); return; }
    draw_outline(&c, 0, 0, Z, mask, N, N, RENDER_WHITE);
    int lit = 0, wrong = 0;
    for (int y = 0; y < N * Z; y++)
        for (int x = 0; x < N * Z; x++) {
            int on = c.rgb[((size_t)y * c.w + x) * 3] == 255;
            int my = y / Z, mx = x / Z;
            int edge = mask[my * N + mx] && (my == 2 || my == 6 || mx == 2 || mx == 6);
            lit += on;
            wrong += on != edge;
        }
    CHECK(lit == 16 * Z * Z && !wrong, "lesion outline: the mask's edge pixels only", "%d lit, %d wrong", lit, wrong);
    canvas_free(&c);
}

static void test_explain(void) {
    if (access(salient(), X_OK) || access(MODEL, R_OK)) {
        printf("SKIP explain figures: %s or " MODEL " is missing\n", salient());
        return;
    }
    /* the class names, and an image of the first class */
    char labels[8][64];
    int nl = 0;
    FILE *lf = fopen(SAMPLES "/labels.txt", "r");
    while (lf && nl < 8 && fscanf(lf, "%63s", labels[nl]) == 1) nl++;
    if (lf) fclose(lf);
    char img[512], cmd[1024];
    snprintf(cmd, sizeof cmd, "ls %s/%s/*.png 2>/dev/null | grep -v '[.]mask[.]png$' | head -n 1", SAMPLES, nl ? labels[0] : "none");
    FILE *ls = popen(cmd, "r");
    img[0] = 0;
    if (ls) { if (!fgets(img, sizeof img, ls)) img[0] = 0; pclose(ls); }
    img[strcspn(img, "\n")] = 0;
    if (nl < 2 || !img[0]) { CHECK(0, "explain figures: bundled brain samples", "no labels.txt or image in " SAMPLES); return; }

    /* 1. the sample in its class folder (true label from the folder) and a
          copy outside any class folder (no true label) */
    char copy[600], dir[600];
    snprintf(copy, sizeof copy, "%s/unlabelled.png", tmpdir);
    snprintf(cmd, sizeof cmd, "cp %s %s", img, copy);
    char both[1200];
    snprintf(both, sizeof both, "%s %s", img, copy);
    if (system(cmd) || explain("folder", "", both)) { CHECK(0, "explain: runs without --label", "exit status not 0"); return; }
    const char *stem0 = strrchr(img, '/') + 1;
    char stem[256];
    snprintf(stem, sizeof stem, "%s", stem0);
    stem[strcspn(stem, ".")] = 0;
    snprintf(dir, sizeof dir, "%s/folder/%s/explain.json", tmpdir, stem);
    JsonValue *j = read_json(dir);
    const char *pred = j ? json_string(json_get(json_get(j, "prediction"), "label")) : NULL;
    if (!pred) { CHECK(0, "explain: explain.json has the prediction", "%s", dir); json_free(j); return; }
    char P[64];
    snprintf(P, sizeof P, "%s", pred);
    const JsonValue *corr = json_get(j, "correct");
    int want = !strcmp(P, labels[0]);
    CHECK(jstr(j, "true_label") && !strcmp(jstr(j, "true_label"), labels[0]) && jstr(j, "true_label_from") &&
              !strcmp(jstr(j, "true_label_from"), "folder") && json_type(corr) == JSON_BOOL && json_bool(corr) == want,
          "explain: the class folder's name is the true label", "true_label %s from %s, correct %s (pred %s)",
          jstr(j, "true_label") ? jstr(j, "true_label") : "null", jstr(j, "true_label_from") ? jstr(j, "true_label_from") : "null",
          json_type_name(json_type(corr)), P);
    json_free(j);

    snprintf(dir, sizeof dir, "%s/folder/unlabelled/explain.json", tmpdir);
    j = read_json(dir);
    corr = json_get(j, "correct");
    const char *title = jstr(j, "figure_title");
    char want_title[192];
    snprintf(want_title, sizeof want_title, "pred: %s ", P);
    CHECK(j && json_type(json_get(j, "true_label")) == JSON_NULL && json_get(j, "true_label") && corr &&
              json_type(corr) == JSON_NULL && title && !strncmp(title, want_title, strlen(want_title)) && !strstr(title, "true:"),
          "explain: no true label outside a class folder (correct null, title 'pred: P p')", "title '%s', correct %s",
          title ? title : "?", corr ? json_type_name(json_type(corr)) : "absent");
    json_free(j);
    int g, m, br;
    snprintf(dir, sizeof dir, "%s/folder/unlabelled", tmpdir);
    frames(dir, &g, &m, &br);
    CHECK(g == 0 && m == 0 && br == 0, "explain: no true label, no red", "grid frame %d, map frame %d, red band pixels %d", g, m, br);

    /* 2. a wrong --label, explained as the target */
    const char *wrong = NULL;
    for (int i = 0; i < nl && !wrong; i++) if (strcmp(labels[i], P)) wrong = labels[i];
    char extra[256];
    snprintf(extra, sizeof extra, "--label %s --target label", wrong);
    if (explain("wrong", extra, img)) { CHECK(0, "explain: runs with a wrong --label", "exit status not 0"); return; }
    snprintf(dir, sizeof dir, "%s/wrong/%s/explain.json", tmpdir, stem);
    j = read_json(dir);
    corr = json_get(j, "correct");
    title = jstr(j, "figure_title");
    snprintf(want_title, sizeof want_title, "WRONG  true: %s  pred: %s ", wrong, P);
    char want_target[128];
    snprintf(want_target, sizeof want_target, "  target: %s", wrong);
    CHECK(j && json_type(corr) == JSON_BOOL && !json_bool(corr) && jstr(j, "true_label") && !strcmp(jstr(j, "true_label"), wrong) &&
              title && !strncmp(title, want_title, strlen(want_title)) && strstr(title, want_target),
          "explain: a wrong --label gives correct: false and a WRONG title with the target", "title '%s', correct %s",
          title ? title : "?", corr ? json_type_name(json_type(corr)) : "absent");
    json_free(j);
    snprintf(dir, sizeof dir, "%s/wrong/%s", tmpdir, stem);
    frames(dir, &g, &m, &br);
    CHECK(g == 1 && m == 1 && br > 20, "explain: a wrong prediction has the red frame (grid.png, gradcam.png) and red WRONG",
          "grid frame %d, map frame %d (1 red, 0 white, -1 mixed, -2 unreadable), red band pixels %d", g, m, br);

    /* 3. the label the model predicts */
    snprintf(extra, sizeof extra, "--label %s", P);
    if (explain("right", extra, img)) { CHECK(0, "explain: runs with the right --label", "exit status not 0"); return; }
    snprintf(dir, sizeof dir, "%s/right/%s/explain.json", tmpdir, stem);
    j = read_json(dir);
    corr = json_get(j, "correct");
    title = jstr(j, "figure_title");
    snprintf(want_title, sizeof want_title, "true: %s  pred: %s ", P, P);
    CHECK(j && json_type(corr) == JSON_BOOL && json_bool(corr) && title && !strncmp(title, want_title, strlen(want_title)) &&
              !strstr(title, "target:") && jstr(j, "true_label_from") && !strcmp(jstr(j, "true_label_from"), "--label"),
          "explain: the right --label gives correct: true", "title '%s', correct %s", title ? title : "?",
          corr ? json_type_name(json_type(corr)) : "absent");
    json_free(j);
    snprintf(dir, sizeof dir, "%s/right/%s", tmpdir, stem);
    frames(dir, &g, &m, &br);
    CHECK(g == 0 && m == 0 && br == 0, "explain: a correct prediction has no red frame and no red text",
          "grid frame %d, map frame %d, red band pixels %d", g, m, br);

    /* 4. evaluate's gallery: the true label from the data set */
    char csv[600];
    snprintf(csv, sizeof csv, "%s/list.csv", tmpdir);
    FILE *cf = fopen(csv, "w");
    char *abs = realpath(img, NULL);
    if (cf) { fprintf(cf, "path,label\n%s,%s\n%s,%s\n", abs ? abs : img, P, copy, wrong); fclose(cf); }
    free(abs);
    snprintf(cmd, sizeof cmd, "%s evaluate -m " MODEL " -d %s -M gradcam --no-insdel --threads 1 -o %s/ev >%s/ev.log 2>&1",
             salient(), csv, tmpdir, tmpdir);
    if (!cf || system(cmd)) {
        CHECK(0, "evaluate: gallery", "evaluate failed");
        snprintf(cmd, sizeof cmd, "tail -5 %s/ev.log | sed 's/^/    /'", tmpdir);
        if (system(cmd)) {}
    }
    else {
        Pic a = {0}, b = {0};
        char pa[700], pb[700];
        snprintf(pa, sizeof pa, "%s/ev/gallery/000000_%s.jpg", tmpdir, stem);
        snprintf(pb, sizeof pb, "%s/ev/gallery/000001_unlabelled.jpg", tmpdir);
        int fa = pic_load(pa, &a) ? -2 : frame_state(&a), fb = pic_load(pb, &b) ? -2 : frame_state(&b);
        int ra = fa == -2 ? -1 : band_red(&a), rb = fb == -2 ? -1 : band_red(&b);
        CHECK(fa == 0 && ra == 0 && fb == 1 && rb > 20,
              "evaluate: gallery marks the wrong prediction in red, not the right one",
              "right: frame %d, %d red band pixels; wrong: frame %d, %d red band pixels", fa, ra, fb, rb);
        free(a.d); free(b.d);
    }

    /* 5. a --label that is no class */
    CHECK(explain_run("bad", "--label no-such-class", img, 1) != 0, "explain: --label that is no class is an error", "exit status 0");
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/salient-figures-XXXXXX");
    if (!mkdtemp(tmpdir)) { printf("FAIL temp folder: cannot create\n"); return 1; }
    test_title();
    test_drawing();
    test_outline();
    test_explain();
    float x[8] = {0, 1, -2, 0.5f, 2, 0, 1, -1}, mean[2] = {0.5f, 0.25f}, sd[2] = {0.25f, 0.5f};
    float *in01 = figure_input01(x, 2, 2, mean, sd);
    CHECK(in01 && in01[0] == 0.5f && in01[1] == 0.75f && in01[2] == 0 && in01[3] == 0.625f && in01[4] == 1.25f &&
          in01[5] == 0.25f && in01[7] == -0.25f, "display input: x * std + mean per channel", "%g %g", in01 ? in01[4] : -1, in01 ? in01[7] : -1);
    free(in01);
    char name[300];
    figure_gallery_name(name, sizeof name, 42, "glioma/Te gl <1>&'\"x.png");
    CHECK(!strcmp(name, "000042_Te_gl__1____x.jpg"), "gallery name: index, stem, unsafe characters replaced", "%s", name);
    figure_gallery_name(name, sizeof name, 7, "a.b/scan.nii.gz");
    CHECK(!strcmp(name, "000007_scan.nii.jpg"), "gallery name: only the last extension goes", "%s", name);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd)) {}
    CHECK_DONE();
}
