/* test_pic.c - the PIC metrics (SIC/AIC), information estimators and
   RISE's insertion/deletion against PAIR's pic.py, numpy/scipy and RISE's
   game (tools/make_pic_golden.py -> tests/data/pic/).

   Per golden case (a 64x64 brain-MRI crop, a resnet18 with deterministic
   weights rebuilt from tests/detweights.h, PAIR's random mask):
   - threshold masks: map >= numpy.quantile(map, 1-t) OR random mask,
     bit for bit (the map has many ties at the quantiles);
   - information: our WebP byte count of each of PAIR's 15 images
     (fully blurred, 13 thresholds, original) equals Pillow's exactly;
     the histogram entropy equals the seed paper's to 1e-12;
   - predictions on PAIR's images: softmax probability to 1e-5, top-1 equal;
   - curves from PAIR's own raw values: same skip decision, 1001-point curve
     and AUC to 1e-12 (the curve code alone);
   - curves from our predictions on PAIR's images: AUC to 1e-6;
   - the whole pipeline with our Delaunay blur: blurred images compared
     with scipy's (fraction identical, mean |diff|), information values,
     AUC within 0.01 (or the reference's own spread; the remaining difference comes from
     co-circular grid points where Qhull and we choose other diagonals).
   Also: the curve/tie rule on 200 crafted cases against scipy interp1d +
   numpy.trapz, the aggregation, numpy's quantile rule, the skip rules in
   order, the random mask, the PNG and entropy estimators, RISE's kernel
   and game, and the blur + information time at 224x224 (printed). */
#include "eval/delaunay.h"
#include "eval/info.h"
#include "eval/insdel.h"
#include "eval/pic.h"
#include "engine/engine.h"
#include "io/image.h"
#include "io/json.h"
#include "io/npy.h"
#include "tests/check.h"
#include "tests/detweights.h"
#include "weights/load.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DIR "tests/data/pic/"

static int load_npy(const char *path, NpyArray *a) {
    char err[512];
    if (npy_read(path, a, err, sizeof err) < 0) { printf("  %s\n", err); return -1; }
    return 0;
}

static JsonValue *load_json(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long L = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *t = malloc(L + 1), err[256];
    size_t got = fread(t, 1, L, f);
    fclose(f);
    JsonValue *v = json_parse(t, got, err, sizeof err);
    if (!v) printf("  %s: %s\n", path, err);
    free(t);
    return v;
}

static double jnum(const JsonValue *o, const char *key, int i) { return json_number(json_at(json_get(o, key), i)); }

static PicSkip skip_from_message(const char *m) {
    if (!m) return PIC_OK;
    if (strstr(m, "min_pred_value")) return PIC_SKIP_MIN_PRED;
    if (strstr(m, "entropy in the completely blurred")) return PIC_SKIP_BLUR_INFO;
    if (strstr(m, "completely blurred image is not")) return PIC_SKIP_BLUR_PRED;
    return (PicSkip)-1;
}

/* ---- the golden cases ---- */
typedef struct {
    const char *name;
    int H, W, C;
    NpyArray img, map, rmask, blurred, masks;
    JsonValue *v;
    double *curves; /* (2,1001) */
    EngModel *m;
    AttribParams P;
    float mean[3], std[3];
} Case;

static int case_load(Case *c, const char *name) {
    memset(c, 0, sizeof *c);
    c->name = name;
    char p[256];
    NpyArray cv;
#define L(field, file) snprintf(p, sizeof p, DIR "%s/" file, name); if (load_npy(p, &c->field)) return -1;
    L(img, "img.npy") L(map, "map.npy") L(rmask, "random_mask.npy") L(blurred, "blurred.npy") L(masks, "masks.npy")
#undef L
    snprintf(p, sizeof p, DIR "%s/curves.npy", name);
    if (load_npy(p, &cv)) return -1;
    c->curves = (double *)cv.data;
    snprintf(p, sizeof p, DIR "%s/values.json", name);
    if (!(c->v = load_json(p))) return -1;
    c->H = (int)c->img.shape[0]; c->W = (int)c->img.shape[1]; c->C = c->img.ndim == 3 ? (int)c->img.shape[2] : 1;
    for (int k = 0; k < c->C; k++) { c->mean[k] = (float)jnum(c->v, "mean", k); c->std[k] = (float)jnum(c->v, "std", k); }
    char err[256];
    c->m = weights_model_for_arch("resnet18", c->C, (int)json_number(json_get(c->v, "classes")), err, sizeof err);
    if (!c->m) { printf("  %s\n", err); return -1; }
    detweights_fill_model(c->m, (uint64_t)json_number(json_get(c->v, "weights_seed")));
    attrib_params_default(&c->P);
    c->P.model = c->m; c->P.C = c->C; c->P.H = c->H; c->P.W = c->W; c->P.mean = c->mean; c->P.std = c->std;
    return 0;
}

static void case_free(Case *c) {
    npy_free(&c->img); npy_free(&c->map); npy_free(&c->rmask); npy_free(&c->blurred); npy_free(&c->masks);
    free(c->curves);
    json_free(c->v);
    attrib_params_release(&c->P);
    eng_model_free(c->m);
}

static void test_masks(Case *c) {
    size_t n = (size_t)c->H * c->W;
    const float *map = c->map.data;
    float *sorted = malloc(sizeof(float) * n);
    memcpy(sorted, map, sizeof(float) * n);
    for (size_t i = 1; i < n; i++) { /* insertion sort: small n */
        float v = sorted[i]; size_t j = i;
        while (j > 0 && sorted[j - 1] > v) { sorted[j] = sorted[j - 1]; j--; }
        sorted[j] = v;
    }
    uint8_t *known = malloc(n);
    int bad_q = 0, bad_mask = 0;
    long worst = 0;
    for (int t = 0; t < PIC_N_THRESHOLDS; t++) {
        float q = pic_quantile_f32(sorted, n, 1.0 - pic_thresholds[t]);
        if (q != (float)jnum(c->v, "quantiles", t)) bad_q++;
        pic_threshold_mask(known, map, sorted, n, pic_thresholds[t], c->rmask.data);
        const uint8_t *packed = (const uint8_t *)c->masks.data + (size_t)t * c->masks.shape[1];
        long diff = 0;
        for (size_t i = 0; i < n; i++) diff += known[i] != ((packed[i / 8] >> (7 - i % 8)) & 1);
        if (diff) bad_mask++;
        if (diff > worst) worst = diff;
    }
    char name[128];
    snprintf(name, sizeof name, "%s: quantiles equal numpy's (float32) at all 13 thresholds", c->name);
    CHECK(!bad_q, name, "%d thresholds differ", bad_q);
    snprintf(name, sizeof name, "%s: known-pixel masks equal pic.py's bit for bit", c->name);
    CHECK(!bad_mask, name, "%d masks differ, worst by %ld pixels", bad_mask, worst);
    free(sorted); free(known);
}

/* info and predictions of PAIR's 15 images; fills the ours_* arrays and
   *delta, the largest |ours - torch float64| softmax difference */
static void test_values_on_pair_images(Case *c, double *ours_sic, double *ours_aic, double *delta) {
    size_t per = (size_t)c->H * c->W * c->C;
    const uint8_t *b = c->blurred.data;
    int bad_webp = 0, K = eng_model_n_classes(c->m), cls = (int)json_number(json_get(c->v, "cls"));
    double worst_ent = 0;
    for (int i = 0; i < 15; i++) {
        long w = info_webp_bytes(b + per * i, c->H, c->W, c->C);
        long ref = (long)jnum(c->v, "webp", i);
        if (w != ref) { bad_webp++; printf("  image %d: webp %ld bytes, Pillow %ld\n", i, w, ref); }
        double e = fabs(info_entropy_bits(b + per * i, c->H, c->W, c->C) - jnum(c->v, "entropy", i));
        if (e > worst_ent) worst_ent = e;
    }
    char name[200];
    snprintf(name, sizeof name, "%s: WebP information of pic.py's 15 images equals Pillow's byte count", c->name);
    CHECK(!bad_webp, name, "%d of 15 differ", bad_webp);
    snprintf(name, sizeof name, "%s: histogram entropy equals the seed paper's (scipy.stats.entropy)", c->name);
    CHECK(worst_ent < 1e-12, name, "max |diff| %.3g bits", worst_ent);
    PicEngine pe = {&c->P, c->mean, c->std, 0};
    float *logits = malloc(sizeof(float) * 15 * K);
    int rc = pic_engine_logits(&pe, b, 15, logits);
    double worst = 0, worst32 = 0, torch_err = json_number(json_get(c->v, "f32_spread"));
    int bad_top = 0;
    for (int i = 0; i < 15 && !rc; i++) {
        const float *l = logits + (size_t)K * i;
        double mx = l[0], s = 0;
        int top = 0;
        for (int k = 1; k < K; k++) { if (l[k] > mx) mx = l[k]; if (l[k] > l[top]) top = k; }
        for (int k = 0; k < K; k++) s += exp(l[k] - mx);
        ours_sic[i] = exp(l[cls] - mx) / s;
        ours_aic[i] = top == cls;
        double e = fabs(ours_sic[i] - jnum(json_get(c->v, "sic"), "pred_f64", i));
        double e32 = fabs(ours_sic[i] - jnum(json_get(c->v, "sic"), "pred", i));
        if (e > worst) worst = e;
        if (e32 > worst32) worst32 = e32;
        bad_top += ours_aic[i] != jnum(json_get(c->v, "aic"), "pred", i);
    }
    /* bar: SPREAD_FACTOR times torch's own float32 spread around its float64
       result (f32_spread: plain and last-bit perturbed weights, tests/check.h) */
    double bar = fmax(SPREAD_FACTOR * torch_err, 1e-6);
    snprintf(name, sizeof name, "%s: predictions on pic.py's images: softmax within %.1e of torch float64, top-1 equal%s",
             c->name, bar, eng_get_reference() ? " (reference path)" : "");
    CHECK(!rc && worst <= bar && !bad_top, name, "rc %d, max |dp| %.3g, %d top-1 differ", rc, worst, bad_top);
    printf("    softmax: max |ours - torch f64| %.2e (torch float32 spread: %.2e); max |ours - torch f32| %.2e\n", worst,
           torch_err, worst32);
    *delta = worst;
    free(logits);
}

static void fill_curve(PicCurve *pc, const double *info, const double *pred) {
    /* index 0: fully blurred, 1..13 thresholds, 14: original */
    pc->info_blur = info[0]; pc->info_orig = info[14];
    pc->pred_blur = pred[0]; pc->pred_orig = pred[14];
    for (int t = 0; t < PIC_N_THRESHOLDS; t++) { pc->info[t] = info[t + 1]; pc->pred[t] = pred[t + 1]; }
}

static void test_curves(Case *c, const double *ours_sic, const double *ours_aic, double delta) {
    const char *kinds[2] = {"sic", "aic"};
    double info[15];
    for (int i = 0; i < 15; i++) info[i] = jnum(c->v, "webp", i);
    double min_pred = json_number(json_get(c->v, "min_pred"));
    for (int k = 0; k < 2; k++) {
        const JsonValue *ref = json_get(c->v, kinds[k]);
        double pred[15], pred64[15];
        for (int i = 0; i < 15; i++) { pred[i] = jnum(ref, "pred", i); pred64[i] = jnum(ref, "pred_f64", i); }
        PicCurve pc, p64;
        fill_curve(&pc, info, pred);
        pic_curve_compute(&pc, min_pred);
        fill_curve(&p64, info, pred64);
        pic_curve_compute(&p64, min_pred);
        PicSkip want = skip_from_message(json_string(json_get(ref, "skipped")));
        char name[200];
        snprintf(name, sizeof name, "%s %s: skip decision equals pic.py's (%s)", c->name, kinds[k],
                 want == PIC_OK ? "not skipped" : pic_skip_name(want));
        CHECK(pc.skip == want, name, "ours %s (%s)", pc.skip ? pic_skip_name(pc.skip) : "none", pc.reason);
        if (want != PIC_OK) continue;
        double pair_auc = json_number(json_get(ref, "auc")), auc64 = json_number(json_get(ref, "auc_f64")), worst = 0;
        for (int i = 0; i < PIC_N_CURVE; i++) {
            double e = fabs(pc.curve[i] - c->curves[k * PIC_N_CURVE + i]);
            if (e > worst) worst = e;
        }
        snprintf(name, sizeof name, "%s %s: curve and AUC from pic.py's raw values equal pic.py's (1e-12; also with "
                 "float64 predictions)", c->name, kinds[k]);
        CHECK(worst <= 1e-12 && fabs(pc.auc - pair_auc) <= 1e-12 && fabs(p64.auc - auc64) <= 1e-12, name,
              "curve max diff %.3g, auc %.17g vs %.17g, f64 auc %.17g vs %.17g", worst, pc.auc, pair_auc, p64.auc, auc64);
        /* our predictions on pic.py's images: the information is exact, so only the
           float32 prediction error delta moves the curve; to first order each y moves
           by at most 4 delta / (p_orig - p_blur) (numerator and denominator), and the
           interpolation, clipping and running maximum do not enlarge that */
        PicCurve po;
        fill_curve(&po, info, k ? ours_aic : ours_sic);
        pic_curve_compute(&po, min_pred);
        double D = p64.pred_orig - p64.pred_blur, bound = k ? 1e-12 : 4 * delta / D + 1e-12;
        snprintf(name, sizeof name, "%s %s: AUC from our predictions on pic.py's images within float32 error of "
                 "the float64 AUC", c->name, kinds[k]);
        CHECK(po.skip == PIC_OK && fabs(po.auc - auc64) <= bound, name, "auc %.10g vs %.10g, bound %.3g", po.auc, auc64, bound);
        printf("    %s auc: pic.py %.10f (torch f32), with torch f64 %.10f, ours on pic.py's images %.10f: "
               "|ours - f64| %.2e (bound %.1e), |ours - pic.py| %.2e\n", kinds[k], pair_auc, auc64, po.auc,
               fabs(po.auc - auc64), bound, fabs(po.auc - pair_auc));
    }
}

static int same_auc(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

/* The skip rules alone (pic_skips) on a fresh image, before its map: the
   skips pic_evaluate reported in want, for 2 images through the network, and
   then the map's curves bit for bit as when the base images ran in the
   same batch as the thresholds (every product is fixed-order, engine/gemm.h). */
static void test_skips_first(Case *c, const PicResult *want) {
    PicImage pi;
    PicEngine pe = {&c->P, c->mean, c->std, 0};
    PicSkip skip[2] = {PIC_OK, PIC_OK};
    PicResult r;
    memset(&r, 0, sizeof r);
    int K = eng_model_n_classes(c->m), rc = pic_image_init(&pi, c->img.data, c->H, c->W, c->C, c->rmask.data, INFO_WEBP);
    double min_pred = json_number(json_get(c->v, "min_pred"));
    if (!rc) rc = pic_skips(&pi, pic_engine_logits, &pe, K, -1, min_pred, skip);
    long for_skips = pe.forward;
    if (!rc) rc = pic_evaluate(&pi, c->map.data, pic_engine_logits, &pe, K, -1, min_pred, 0, &r);
    char name[240];
    snprintf(name, sizeof name, "%s: the skip rules checked before the map (pic_skips) are the curves' own, and the "
             "curves after them are the same bits", c->name);
    CHECK(!rc && for_skips == 2 && pe.forward == 15 && skip[0] == want->sic.skip && skip[1] == want->aic.skip &&
          same_auc(r.sic.auc, want->sic.auc) && same_auc(r.aic.auc, want->aic.auc), name,
          "rc %d, %ld + %ld images, skips %d/%d vs %d/%d, sic %.17g vs %.17g, aic %.17g vs %.17g", rc, for_skips,
          pe.forward - for_skips, skip[0], skip[1], want->sic.skip, want->aic.skip, r.sic.auc, want->sic.auc,
          r.aic.auc, want->aic.auc);
    pic_result_free(&r);
    pic_image_free(&pi);
}

static void test_pipeline(Case *c) {
    size_t per = (size_t)c->H * c->W * c->C;
    PicImage pi;
    int rc = pic_image_init(&pi, c->img.data, c->H, c->W, c->C, c->rmask.data, INFO_WEBP);
    PicEngine pe = {&c->P, c->mean, c->std, 0};
    PicResult r;
    memset(&r, 0, sizeof r);
    if (!rc) rc = pic_evaluate(&pi, c->map.data, pic_engine_logits, &pe, eng_model_n_classes(c->m), -1,
                               json_number(json_get(c->v, "min_pred")), 1, &r);
    char name[240];
    snprintf(name, sizeof name, "%s: full pipeline runs (our Delaunay blur, WebP, engine)", c->name);
    CHECK(!rc, name, "%s", eng_last_error());
    if (rc) { pic_image_free(&pi); return; }
    const uint8_t *pb = c->blurred.data;
    long same = 0, total = 0, info_equal = 0;
    double sum_diff = 0;
    for (int i = 0; i < 14; i++) {
        const uint8_t *ours = i == 0 ? pi.blurred : r.blurred + per * (i - 1);
        for (size_t q = 0; q < per; q++) { same += ours[q] == pb[per * i + q]; sum_diff += abs(ours[q] - pb[per * i + q]); }
        total += per;
        double inf = i == 0 ? pi.info_blur : r.sic.info[i - 1];
        info_equal += inf == jnum(c->v, "webp", i);
    }
    printf("    blurred images vs scipy griddata: %.5f of values identical, mean |diff| %.4f; information equal in "
           "%ld of 14; class %d (pic.py %d)\n", (double)same / total, sum_diff / total, info_equal, r.cls,
           (int)json_number(json_get(c->v, "cls")));
    snprintf(name, sizeof name, "%s: our blurred images agree with scipy's (>= 0.95 identical values, mean |diff| < 0.5)", c->name);
    CHECK((double)same / total >= 0.95 && sum_diff / total < 0.5, name, "%.4f identical, mean diff %.3f",
          (double)same / total, sum_diff / total);
    const char *kinds[2] = {"sic", "aic"};
    for (int k = 0; k < 2; k++) {
        PicCurve *pc = k ? &r.aic : &r.sic;
        const JsonValue *ref = json_get(c->v, kinds[k]);
        PicSkip want = skip_from_message(json_string(json_get(ref, "skipped")));
        if (want != PIC_OK) {
            snprintf(name, sizeof name, "%s %s: full pipeline skips as pic.py (%s)", c->name, kinds[k], pic_skip_name(want));
            CHECK(pc->skip == want, name, "ours %s (%s)", pc->skip ? pic_skip_name(pc->skip) : "ok", pc->reason);
            printf("    %s: skipped (%s): %s\n", kinds[k], pic_skip_name(pc->skip), pc->reason);
            continue;
        }
        /* bar: 0.01, or twice the reference's own spread between two valid
           Delaunay interpolants (pic.py run on the transposed image, where Qhull breaks the
           grid's co-circular ties the other way) when the model makes that larger */
        double pair_auc = json_number(json_get(ref, "auc")), alt = json_number(json_get(ref, "auc_transposed"));
        double spread = fabs(alt - pair_auc), bar = fmax(0.01, 2 * spread), diff = fabs(pc->auc - pair_auc);
        snprintf(name, sizeof name, "%s %s: full pipeline AUC within %.3f of pic.py's (max(0.01, 2 x pic.py's own "
                 "tie-breaking spread))", c->name, kinds[k], bar);
        CHECK(pc->skip == PIC_OK && diff <= bar, name, "ours %.6f (%s), pic.py %.6f", pc->auc,
              pc->skip ? pic_skip_name(pc->skip) : "ok", pair_auc);
        printf("    %s: full pipeline auc %.6f, pic.py %.6f: diff %.4f; pic.py on the transposed image %.6f "
               "(spread %.4f)\n", kinds[k], pc->auc, pair_auc, diff, alt, spread);
    }
    /* a second map on the same PicImage reuses the base predictions: 13 images */
    long before = pe.forward;
    PicResult r2;
    rc = pic_evaluate(&pi, c->map.data, pic_engine_logits, &pe, eng_model_n_classes(c->m), -1,
                      json_number(json_get(c->v, "min_pred")), 0, &r2);
    snprintf(name, sizeof name, "%s: a second map costs 13 images and gives the same result", c->name);
    CHECK(!rc && pe.forward - before == 13 && same_auc(r2.sic.auc, r.sic.auc), name,
          "rc %d, %ld images", rc, pe.forward - before);
    pic_result_free(&r2);
    test_skips_first(c, &r);
    pic_result_free(&r);
    pic_image_free(&pi);
}

static void test_insdel(Case *c) {
    char p[256];
    snprintf(p, sizeof p, DIR "%s/insdel.json", c->name);
    JsonValue *g = load_json(p);
    NpyArray m;
    snprintf(p, sizeof p, DIR "%s/insdel_map.npy", c->name);
    if (!g || load_npy(p, &m)) { CHECK(0, "insdel golden loads", "%s", p); json_free(g); return; }
    float k[INSDEL_KLEN * INSDEL_KLEN];
    insdel_gkern(k, INSDEL_KLEN, INSDEL_SIGMA);
    double ek = 0;
    for (int i = 0; i < INSDEL_KLEN * INSDEL_KLEN; i++) {
        double ref = json_number(json_at(json_get(g, "kernel"), i)), e = fabs(k[i] - ref) / ref;
        if (e > ek) ek = e;
    }
    CHECK(ek <= 1e-6, "RISE gkern(11, 5) equals scipy gaussian_filter of an impulse (float32)", "max rel err %.3g", ek);
    size_t per = (size_t)c->H * c->W * c->C;
    float *x = malloc(sizeof(float) * per);
    pic_u8_to_input(x, c->img.data, c->C, c->H, c->W, c->mean, c->std);
    c->P.x = x;
    c->P.target = (int)json_number(json_get(g, "cls"));
    struct { const char *key; InsdelMode mode; InsdelSubstrate s; } runs[] = {
        {"insertion_blur", INSDEL_INSERTION, SUBSTRATE_BLUR}, {"deletion_zero", INSDEL_DELETION, SUBSTRATE_ZERO},
        {"deletion_black", INSDEL_DELETION, SUBSTRATE_BLACK}, {"insertion_black", INSDEL_INSERTION, SUBSTRATE_BLACK}};
    for (int i = 0; i < 4; i++) {
        InsdelResult r;
        int rc = insdel_run(&c->P, m.data, runs[i].mode, runs[i].s, (int)json_number(json_get(g, "step")), c->mean, c->std, &r);
        const JsonValue *ref = json_get(g, runs[i].key);
        const JsonValue *s64 = json_get(ref, "scores_f64");
        double worst = 0, torch_err = json_number(json_get(ref, "spread")), aref = json_number(json_get(ref, "auc_f64"));
        int n = (int)json_len(s64);
        for (int s = 0; s < n && !rc && s <= r.n_steps; s++) {
            double e = fabs(r.scores[s] - json_number(json_at(s64, s)));
            if (e > worst) worst = e;
        }
        /* bars as for PIC: scores within SPREAD_FACTOR times torch's own float32
           spread around the float64 game; the AUC is a weighted mean of the
           scores, so within the worst score error */
        double bar = fmax(SPREAD_FACTOR * torch_err, 1e-6);
        char name[200];
        snprintf(name, sizeof name, "%s: %d scores within %.1e of RISE's game in float64, AUC within the score error%s",
                 runs[i].key, n, bar, eng_get_reference() ? " (reference path)" : "");
        CHECK(!rc && r.n_steps + 1 == n && worst <= bar && fabs(r.auc - aref) <= worst + 1e-12, name,
              "rc %d, steps %d, max |dp| %.3g, auc %.8f vs %.8f", rc, rc ? -1 : r.n_steps, worst, rc ? NAN : r.auc, aref);
        if (!rc)
            printf("    %s: auc %.8f, RISE f64 %.8f (f32 %.8f), max |score - f64| %.2e (torch float32 spread: %.2e)\n", runs[i].key,
                   r.auc, aref, json_number(json_get(ref, "auc")), worst, torch_err);
        if (!rc) insdel_result_free(&r);
    }
    c->P.x = NULL;
    free(x);
    npy_free(&m);
    json_free(g);
}

static void run_case(const char *name) {
    Case c;
    char label[128];
    snprintf(label, sizeof label, "%s: golden case loads", name);
    if (case_load(&c, name)) { CHECK(0, label, "missing files in " DIR "%s (tools/make_pic_golden.py)", name); return; }
    double ours_sic[15], ours_aic[15], delta = 0;
    test_masks(&c);
    /* the reference path first (its predictions are then overwritten by
       the fast path's, which the curve tests use); RISE's games on it in
       make test-slow */
    eng_set_reference(1);
    test_values_on_pair_images(&c, ours_sic, ours_aic, &delta);
    if (!strcmp(name, "g64") && check_slow()) test_insdel(&c);
    eng_set_reference(0);
    test_values_on_pair_images(&c, ours_sic, ours_aic, &delta);
    test_curves(&c, ours_sic, ours_aic, delta);
    test_pipeline(&c);
    if (!strcmp(name, "g64")) test_insdel(&c);
    case_free(&c);
}

/* ---- the curve rule on crafted ties ---- */
static void test_curve_cases(void) {
    NpyArray pts, cur, aucs, agg, qa, qv;
    if (load_npy(DIR "curves/points.npy", &pts) || load_npy(DIR "curves/curves.npy", &cur) ||
        load_npy(DIR "curves/aucs.npy", &aucs) || load_npy(DIR "curves/aggregate.npy", &agg) ||
        load_npy(DIR "curves/quantile_arrays.npy", &qa) || load_npy(DIR "curves/quantiles.npy", &qv)) {
        CHECK(0, "curve golden loads", "tests/data/pic/curves/*.npy");
        return;
    }
    int n = (int)pts.shape[0], ncur = (int)cur.shape[0], bad = 0;
    const double *P = pts.data, *A = aucs.data, *CU = cur.data;
    double worst_auc = 0, worst_curve = 0;
    double *mine = malloc(sizeof(double) * PIC_N_CURVE * ncur);
    for (int c = 0; c < n; c++) {
        double px[15], py[15], curve[PIC_N_CURVE];
        for (int i = 0; i < 13; i++) { px[i] = P[(c * 13 + i) * 2]; py[i] = P[(c * 13 + i) * 2 + 1]; }
        px[13] = 0; py[13] = 0; px[14] = 1; py[14] = 1;
        double auc = pic_interp_curve(px, py, 15, curve);
        double e = fabs(auc - A[c]);
        if (e > worst_auc) worst_auc = e;
        if (e > 1e-12) { bad++; if (bad < 4) printf("  case %d: auc %.17g, scipy/numpy %.17g\n", c, auc, A[c]); }
        if (c < ncur) {
            memcpy(mine + (size_t)c * PIC_N_CURVE, curve, sizeof curve);
            for (int i = 0; i < PIC_N_CURVE; i++) {
                double d = fabs(curve[i] - CU[(size_t)c * PIC_N_CURVE + i]);
                if (d > worst_curve) worst_curve = d;
            }
        }
    }
    CHECK(!bad && worst_curve <= 1e-15, "curve tie rule: 200 crafted cases equal scipy interp1d + numpy.trapz",
          "%d AUCs differ (worst %.3g), worst curve point %.3g", bad, worst_auc, worst_curve);
    printf("    worst |auc diff| %.2e, worst curve point diff %.2e\n", worst_auc, worst_curve);
    const double *G = agg.data;
    int sizes[4] = {1, 2, 5, 8};
    double worst_agg = 0, out[PIC_N_CURVE];
    for (int s = 0; s < 4; s++) {
        double em = fabs(pic_aggregate(mine, sizes[s], 0, out) - G[2 * s]);
        double ed = fabs(pic_aggregate(mine, sizes[s], 1, out) - G[2 * s + 1]);
        if (em > worst_agg) worst_agg = em;
        if (ed > worst_agg) worst_agg = ed;
    }
    CHECK(worst_agg <= 1e-12, "aggregate mean and median curves' AUC equal aggregate_individual_pic_results", "worst %.3g",
          worst_agg);
    /* numpy quantile on float32 arrays with ties, and the >= count */
    const float *QA = qa.data;
    const double *QV = qv.data;
    int nq = (int)qa.shape[0], len = (int)qa.shape[1], badq = 0;
    float *sorted = malloc(sizeof(float) * len);
    uint8_t *known = malloc(len);
    for (int a = 0; a < nq; a++) {
        memcpy(sorted, QA + (size_t)a * len, sizeof(float) * len);
        for (int i = 1; i < len; i++) {
            float v = sorted[i]; int j = i;
            while (j > 0 && sorted[j - 1] > v) { sorted[j] = sorted[j - 1]; j--; }
            sorted[j] = v;
        }
        for (int t = 0; t < 13; t++) {
            float q = pic_quantile_f32(sorted, len, 1.0 - pic_thresholds[t]);
            pic_threshold_mask(known, QA + (size_t)a * len, sorted, len, pic_thresholds[t], NULL);
            long cnt = 0;
            for (int i = 0; i < len; i++) cnt += known[i];
            if (q != (float)QV[a * 39 + 13 + t] || cnt != (long)QV[a * 39 + 26 + t]) {
                badq++;
                printf("  array %d t=%g: q %.9g vs %.9g, count %ld vs %ld\n", a, pic_thresholds[t], q, QV[a * 39 + 13 + t],
                       cnt, (long)QV[a * 39 + 26 + t]);
            }
        }
    }
    CHECK(!badq, "numpy quantile (float32 compare) and >= counts on tied arrays", "%d differ", badq);
    free(sorted); free(known); free(mine);
    npy_free(&pts); npy_free(&cur); npy_free(&aucs); npy_free(&agg); npy_free(&qa); npy_free(&qv);
}

/* ---- unit tests ---- */
static void test_skip_rules(void) {
    PicCurve pc;
    memset(&pc, 0, sizeof pc);
    for (int t = 0; t < 13; t++) { pc.info[t] = 100 + 10 * t; pc.pred[t] = 0.1 + 0.05 * t; }
    pc.info_orig = 200; pc.info_blur = 100; pc.pred_orig = 0.9; pc.pred_blur = 0.1;
    PicCurve a = pc;
    pic_curve_compute(&a, 0.8);
    CHECK(a.skip == PIC_OK && a.auc > 0 && a.auc < 1, "no skip on a regular curve", "skip %d auc %g", a.skip, a.auc);
    a = pc; a.pred_orig = 0.7; a.info_blur = 300; /* all three rules hit: min_pred reported first */
    a.pred_blur = 0.75;
    pic_curve_compute(&a, 0.8);
    CHECK(a.skip == PIC_SKIP_MIN_PRED && isnan(a.auc) && strstr(a.reason, "min_pred"), "skip order: min_pred first",
          "%d %s", a.skip, a.reason);
    a = pc; a.info_blur = 200; a.pred_blur = 0.95;
    pic_curve_compute(&a, 0.8);
    CHECK(a.skip == PIC_SKIP_BLUR_INFO, "skip order: blurred information (>=) before blurred prediction", "%d", a.skip);
    a = pc; a.pred_blur = 0.9;
    pic_curve_compute(&a, 0.8);
    CHECK(a.skip == PIC_SKIP_BLUR_PRED, "skip: blurred prediction >= original", "%d", a.skip);
    a = pc; a.pred[3] = 2.0; a.pred[4] = 0.0; a.info[0] = 50;
    pic_curve_compute(&a, 0.0);
    CHECK(a.y[3] == 1.0 && a.y[4] == 1.0 && a.x[0] == 0.0, "clipping to [0,1] and running maximum", "y3 %g y4 %g x0 %g",
          a.y[3], a.y[4], a.x[0]);
}

static void test_estimators(void) {
    uint8_t img[64 * 64 * 3];
    memset(img, 77, sizeof img);
    CHECK(info_entropy_bits(img, 64, 64, 3) == 0.0, "entropy of a constant image is 0", "%g", info_entropy_bits(img, 64, 64, 3));
    for (int i = 0; i < 64 * 64; i++) img[i] = i % 2 ? 10 : 200;
    CHECK(fabs(info_entropy_bits(img, 64, 64, 1) - 1.0) < 1e-15, "entropy of two equal halves is 1 bit", "%.17g",
          info_entropy_bits(img, 64, 64, 1));
    for (int i = 0; i < 64 * 64; i++) img[i] = (uint8_t)i;
    CHECK(fabs(info_entropy_bits(img, 64, 64, 1) - 8.0) < 1e-13, "entropy of 256 equally frequent values is 8 bits", "%.17g",
          info_entropy_bits(img, 64, 64, 1));
    /* PNG: the size of the file stb writes, a valid lossless PNG */
    uint32_t s = 12345;
    for (int i = 0; i < 64 * 64 * 3; i++) { s = s * 1664525u + 1013904223u; img[i] = (uint8_t)((s >> 24) & 0xF0); }
    char path[64];
    snprintf(path, sizeof path, "/tmp/salient_test_pic_%d.png", (int)getpid());
    long bytes = info_png_bytes(img, 64, 64, 3);
    struct stat st;
    Image back;
    char err[256];
    int ok = image_write_png(path, img, 64, 64, 3) == 0 && stat(path, &st) == 0 && image_load(path, &back, err, sizeof err) == 0;
    long mismatch = 0;
    if (ok) {
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 64 * 64; i++) mismatch += lrintf(back.data[c * 4096 + i] * 255) != img[i * 3 + c];
        image_free(&back);
    }
    unlink(path);
    CHECK(ok && bytes == (long)st.st_size && !mismatch, "png information = bytes of stb's PNG, which decodes losslessly",
          "ok %d, %ld vs %ld bytes, %ld pixel mismatches", ok, bytes, ok ? (long)st.st_size : -1L, mismatch);
    uint8_t flat[64 * 64 * 3];
    memset(flat, 9, sizeof flat);
    CHECK(info_png_bytes(flat, 64, 64, 3) < bytes / 4 && info_webp_bytes(flat, 64, 64, 3) < info_webp_bytes(img, 64, 64, 3) / 4,
          "png and webp: a flat image costs far fewer bytes than a noisy one", "flat png %ld", info_png_bytes(flat, 64, 64, 3));
    InfoKind k;
    CHECK(info_parse("webp", &k) == 0 && k == INFO_WEBP && info_parse("entropy", &k) == 0 && k == INFO_ENTROPY &&
          info_parse("jpeg", &k) < 0 && info_estimate(INFO_PNG, img, 0, 64, 3) < 0,
          "estimator names parse; bad sizes are refused", "parse/size checks");
}

static void test_random_mask_and_u8(void) {
    uint8_t a[100 * 70], b[100 * 70];
    pic_random_mask(a, 100, 70, 0.01, 5);
    pic_random_mask(b, 100, 70, 0.01, 5);
    long na = 0, diff = 0;
    for (int i = 0; i < 7000; i++) { na += a[i]; diff += a[i] != b[i]; }
    pic_random_mask(b, 100, 70, 0.01, 6);
    long diff2 = 0;
    for (int i = 0; i < 7000; i++) diff2 += a[i] != b[i];
    pic_random_mask(b, 100, 70, 0.7, 5);
    long nb = 0;
    for (int i = 0; i < 7000; i++) nb += b[i];
    CHECK(na == 70 && !diff && diff2 > 0 && nb == 4900, "random mask: int(H*W*fraction) pixels, seeded",
          "count %ld (70), same seed diff %ld, other seed diff %ld, 0.7 -> %ld (4900)", na, diff, diff2, nb);
    const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    uint8_t img[8 * 8 * 3], back[8 * 8 * 3];
    for (int i = 0; i < 192; i++) img[i] = (uint8_t)(i * 37 % 256);
    float x[192];
    pic_u8_to_input(x, img, 3, 8, 8, mean, std);
    pic_input_to_u8(back, x, 3, 8, 8, mean, std);
    CHECK(!memcmp(img, back, sizeof img), "uint8 -> network input -> uint8 is the identity", "differs");
}

/* blur + information time of one PIC evaluation at 224x224 (no network):
   15 images (original, fully blurred, 13 thresholds), printed, not asserted */
static int zero_logits(void *ctx, const uint8_t *imgs, int n, float *logits) {
    int *K = ctx;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < *K; k++) logits[i * *K + k] = (float)(k == 0) * (1.0f + imgs[(size_t)i * 7] * 1e-3f);
    return 0;
}

static double cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* PIC's cost at 224 px (make bench; not run by make test). */
static void bench_224(void) {
    const char *files[2] = {"tests/data/delaunay/img_g224.npy", "tests/data/delaunay/img_rgb224.npy"};
    for (int f = 0; f < 2; f++) {
        NpyArray a;
        if (load_npy(files[f], &a)) continue;
        int H = (int)a.shape[0], W = (int)a.shape[1], C = a.ndim == 3 ? (int)a.shape[2] : 1;
        float *map = malloc(sizeof(float) * H * W);
        const uint8_t *im = a.data;
        for (int i = 0; i < H * W; i++) map[i] = im[i * C] + 0.001f * (float)((i * 7919) % 1000); /* bright = salient */
        uint8_t *rm = malloc(H * W);
        pic_random_mask(rm, H, W, 0.01, 1);
        for (int kind = 0; kind < INFO_COUNT; kind++) {
            if (C == 3 && kind != INFO_WEBP) continue;
            for (int threads = 1; threads <= 2; threads++) {
                PicImage pi;
                PicResult r;
                int K = 4;
                double t0 = attrib_now(), c0 = cpu_seconds();
                int rc = pic_image_init(&pi, im, H, W, C, rm, (InfoKind)kind);
                pi.threads = threads;
                if (!rc) rc = pic_evaluate(&pi, map, zero_logits, &K, K, 0, 0.0, 0, &r);
                double t = attrib_now() - t0, cpu = cpu_seconds() - c0;
                if (!rc) {
                    printf("    benchmark %dx%dx%d %-7s %d thread(s): %4.0f ms wall, %4.0f ms CPU per PIC evaluation "
                           "without the network (thread time: blur %.0f ms, information %.0f ms)\n", H, W, C,
                           info_name((InfoKind)kind), threads, t * 1e3, cpu * 1e3, pi.seconds_blur * 1e3,
                           pi.seconds_info * 1e3);
                    pic_result_free(&r);
                }
                pic_image_free(&pi);
            }
        }
        free(map); free(rm);
        npy_free(&a);
    }
}

int main(void) {
    eng_set_threads(1);
    test_skip_rules();
    test_estimators();
    test_random_mask_and_u8();
    test_curve_cases();
    run_case("g64");
    run_case("g64_skip");
    run_case("rgb64");
    if (getenv("SALIENT_BENCH")) bench_224();   /* make bench */
    CHECK_DONE();
}
