/* test_eval_score.c - the evaluation protocol (eval/score.h) and MPRT
   (eval/mprt.h) on a small resnet18 with the deterministic weights of
   tests/detweights.h (1 channel, 4 classes, 32 px), and stats_spearman
   against scipy.stats.spearmanr 1.10.1 (the two values below were printed
   by it for the same vectors). */
#include "attrib/attrib.h"
#include "engine/engine.h"
#include "engine/rng.h"
#include "eval/mprt.h"
#include "eval/score.h"
#include "eval/stats.h"
#include "tests/check.h"
#include "tests/detweights.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S 32
#define K 4

static void test_spearman(void) {
    const float a[10] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3}, b[10] = {2, 7, 1, 8, 2, 8, 1, 8, 2, 8};
    const float c[6] = {0.5f, 0.25f, 0.25f, 1.0f, -2.0f, 0.0f}, d[6] = {1, 2, 3, 4, 5, 6}, k[6] = {1, 1, 1, 1, 1, 1};
    double r1 = stats_spearman(a, b, 10), r2 = stats_spearman(c, d, 6);
    CHECK(fabs(r1 - 0.13471506281091267) < 1e-12 && fabs(r2 - -0.5797710356524485) < 1e-12,
          "stats_spearman equals scipy's spearmanr with ties (0.1347, -0.5798)", "%.17g %.17g", r1, r2);
    CHECK(isnan(stats_spearman(c, k, 6)) && stats_spearman(d, d, 6) == 1.0,
          "stats_spearman: NaN for a constant map, 1 for identical maps", "mismatch");
}

static EngModel *small_model(uint64_t seed) {
    EngModel *m = eng_resnet(18, 1, K);
    if (m) detweights_fill_model(m, seed);
    return m;
}

static void fill_image(float *x) {
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) {
            double r = hypot(i - 15.5, j - 15.5);
            x[i * S + j] = r < 12 ? (float)(1.5 - r / 12.0 + 0.3 * sin(i * 0.7) * cos(j * 0.4)) : -1.0f;
        }
}

static ScoreSettings settings(const float *mean, const float *std) {
    ScoreSettings s = {1, S, K, mean, std, INFO_WEBP, 0.0, 1, 1, 8, SUBSTRATE_BLUR, SUBSTRATE_ZERO, TARGET_RULE_PRED, NULL, 0};
    return s;
}

static void test_score(void) {
    EngModel *m = small_model(5);
    float x[S * S], logits[K], prob[K];
    const float mean[1] = {0.5f}, std[1] = {0.25f};
    fill_image(x);
    uint8_t lesion[S * S] = {0};
    for (int i = 8; i < 16; i++) for (int j = 8; j < 16; j++) lesion[i * S + j] = 1;
    AttribParams P;
    attrib_params_default(&P);
    P.model = m; P.C = 1; P.H = P.W = S; P.mean = mean; P.std = std;
    ScoreSettings s = settings(mean, std);
    ScoreImage im;
    int ok = score_image_prepare(&im, &s, &P, x, 11, 3, lesion) == 0;
    int pred = attrib_predict(&P, x, logits, prob);
    CHECK(ok && im.pred == pred && P.target == pred && im.seed == eng_rng_split(11, 3) &&
              P.seed == eng_rng_split(eng_rng_split(11, 3), 1) && im.foreground && im.pic_ready,
          "score_image_prepare: the prediction is the target; image and method streams split from the run seed",
          "ok %d pred %d/%d", ok, im.pred, pred);
    const char *names[2] = {"gradient", "random"};
    EvalRow r[2];
    char skipped[2][600];
    ScoreOut out[2];
    int ran = 1;
    for (int k = 0; k < 2; k++) {
        r[k] = eval_row_empty();
        ran &= score_method(&im, &s, &P, attrib_find(names[k]), &r[k], skipped[k], sizeof skipped[k], &out[k]) == 0;
    }
    int cells = 1;
    for (int k = 0; k < 2; k++) {
        cells &= r[k].predicted == pred && r[k].confidence == prob[pred] && !strcmp(r[k].method, names[k]);
        cells &= r[k].insertion >= 0 && r[k].insertion <= 1 && r[k].deletion >= 0 && r[k].deletion <= 1;
        cells &= r[k].outside >= 0 && r[k].outside <= 1 && (r[k].hit == 0 || r[k].hit == 1);
        cells &= r[k].energy >= 0 && r[k].energy <= 1 && r[k].seconds > 0 && out[k].map != NULL;
        cells &= (!isnan(r[k].sic) && r[k].has_raw) || strstr(skipped[k], "sic:") != NULL;
    }
    CHECK(ran && cells, "score_method: every cell of the row is filled and in range (gradient, random)",
          "ran %d; skipped '%s' '%s'", ran, skipped[0], skipped[1]);
    CHECK(out[0].forward == 1 && out[0].backward == 1 && out[1].forward == 0,
          "score_method: the method's own cost is reported (gradient 1+1, random 0)", "%ld %ld %ld", out[0].forward,
          out[0].backward, out[1].forward);
    /* the same image again: the same row, bit for bit (one seeded generator) */
    ScoreImage im2;
    EvalRow r2 = eval_row_empty();
    char sk2[600];
    ScoreOut o2;
    score_image_prepare(&im2, &s, &P, x, 11, 3, lesion);
    score_method(&im2, &s, &P, attrib_find("random"), &r2, sk2, sizeof sk2, &o2);
    int same = r2.sic == r[1].sic || (isnan(r2.sic) && isnan(r[1].sic));
    same &= r2.insertion == r[1].insertion && r2.deletion == r[1].deletion && r2.outside == r[1].outside &&
            !memcmp(o2.map, out[1].map, sizeof(float) * S * S);
    CHECK(same, "score: the same seed and index give the same row and map", "differs");
    /* another index: another random map */
    ScoreImage im3;
    EvalRow r3 = eval_row_empty();
    ScoreOut o3;
    score_image_prepare(&im3, &s, &P, x, 11, 4, lesion);
    score_method(&im3, &s, &P, attrib_find("random"), &r3, sk2, sizeof sk2, &o3);
    CHECK(memcmp(o3.map, out[1].map, sizeof(float) * S * S) != 0, "score: another image index draws another stream",
          "same map");
    /* settings switch metrics off: the cells stay empty */
    ScoreSettings off = s;
    off.pic = 0;
    off.insdel = 0;
    ScoreImage im4;
    EvalRow r4 = eval_row_empty();
    ScoreOut o4;
    score_image_prepare(&im4, &off, &P, x, 11, 3, NULL);
    score_method(&im4, &off, &P, attrib_find("gradient"), &r4, sk2, sizeof sk2, &o4);
    CHECK(isnan(r4.sic) && isnan(r4.insertion) && isnan(r4.hit) && !isnan(r4.outside) && !sk2[0],
          "score: without PIC, insertion/deletion or a lesion mask those cells stay empty, without a reason",
          "sic %g ins %g hit %g skipped '%s'", r4.sic, r4.insertion, r4.hit, sk2);
    for (int k = 0; k < 2; k++) free(out[k].map);
    free(o2.map); free(o3.map); free(o4.map);
    score_image_free(&im); score_image_free(&im2); score_image_free(&im3); score_image_free(&im4);
    attrib_params_release(&P);
    eng_model_free(m);
}

static void test_target_rule(void) {
    EvalTargetRule r = TARGET_RULE_PRED;
    int parsed = !eval_target_rule_parse("paper", &r) && r == TARGET_RULE_PAPER &&
                 !eval_target_rule_parse("label", &r) && r == TARGET_RULE_LABEL && eval_target_rule_parse("truth", &r);
    CHECK(parsed, "eval_target_rule_parse: pred, label, paper; another word refused", "rule %d", (int)r);
    int ok = eval_map_target(TARGET_RULE_PRED, FAMILY_CAM, 1, 2) == 2 &&
             eval_map_target(TARGET_RULE_LABEL, FAMILY_GRADIENT, 1, 2) == 1 &&
             eval_map_target(TARGET_RULE_PAPER, FAMILY_CAM, 1, 2) == 1 &&
             eval_map_target(TARGET_RULE_PAPER, FAMILY_GRADIENT, 1, 2) == 2 &&
             eval_map_target(TARGET_RULE_PAPER, FAMILY_REGION, 1, 2) == 2 &&
             eval_map_target(TARGET_RULE_LABEL, FAMILY_CAM, -1, 2) == 2;
    CHECK(ok, "eval_map_target: the paper's rule sends CAM maps to the label, the rest to the prediction; no label: "
              "the prediction", "mismatch");
}

/* One method on image index 3 of x with settings s under a run seed; the
   row and the map. */
static int score_seeded(ScoreSettings *s, AttribParams *P, const float *x, const char *method, int label, uint64_t seed,
                        EvalRow *r, ScoreOut *out) {
    ScoreImage im;
    char sk[600];
    *r = eval_row_empty();
    r->image = "a/b.png";
    r->label = label;
    int rc = score_image_prepare(&im, s, P, x, seed, 3, NULL) || score_method(&im, s, P, attrib_find(method), r, sk,
                                                                            sizeof sk, out);
    score_image_free(&im);
    return rc;
}

static int score_once(ScoreSettings *s, AttribParams *P, const float *x, const char *method, int label, EvalRow *r,
                      ScoreOut *out) {
    return score_seeded(s, P, x, method, label, 11, r, out);
}

static int same_row(const EvalRow *a, const EvalRow *b) {
    return (a->sic == b->sic || (isnan(a->sic) && isnan(b->sic))) &&
           (a->aic == b->aic || (isnan(a->aic) && isnan(b->aic))) && a->insertion == b->insertion &&
           a->deletion == b->deletion && a->outside == b->outside;
}

/* attrib_method_uses_seed decides whether the map cache's key names the
   seed: every method run under two seeds gives the same map bit for bit
   exactly when it says it does not use the seed (light settings; a uniform
   baseline makes IG draw). */
static void test_uses_seed(void) {
    EngModel *m = small_model(5);
    float x[S * S], map[2][S * S];
    const float mean[1] = {0.5f}, std[1] = {0.25f};
    fill_image(x);
    int bad = 0, n_seeded = 0;
    for (int i = 0; i <= attrib_n_methods(); i++) {
        const AttribMethod *am = i < attrib_n_methods() ? attrib_method(i) : attrib_find("ig");
        AttribParams P;
        attrib_params_default(&P);
        P.model = m; P.x = x; P.C = 1; P.H = P.W = S; P.mean = mean; P.std = std;
        P.steps = 4; P.samples = 2; P.masks = 8; P.stride = 8; P.window = 8;
        if (i == attrib_n_methods()) P.baseline = BASELINE_UNIFORM;
        for (int k = 0; k < 2; k++) {
            AttribResult R;
            P.seed = 100 + k;
            if (am->run(&P, &R)) { printf("  %s failed: %s\n", am->name, eng_last_error()); bad++; break; }
            memcpy(map[k], R.map, sizeof map[k]);
            attrib_result_free(&R);
        }
        int differ = memcmp(map[0], map[1], sizeof map[0]) != 0, says = attrib_method_uses_seed(am, &P);
        if (differ != says) { printf("  %s: maps %s, uses_seed %d\n", am->name, differ ? "differ" : "equal", says); bad++; }
        n_seeded += says;
    }
    CHECK(!bad && n_seeded == 7, "attrib_method_uses_seed: a method's map changes with the seed exactly when it says "
          "so (sg-*, rise, random, IG from a uniform baseline)", "%d mismatches, %d seeded", bad, n_seeded);
    eng_model_free(m);
}

static void test_map_cache(void) {
    EngModel *m = small_model(5);
    float x[S * S];
    const float mean[1] = {0.5f}, std[1] = {0.25f};
    fill_image(x);
    AttribParams P;
    attrib_params_default(&P);
    P.model = m; P.C = 1; P.H = P.W = S; P.mean = mean; P.std = std;
    char dir[] = "/tmp/salient-test-mapcache-XXXXXX";
    if (!mkdtemp(dir)) { CHECK(0, "map cache: a temporary folder", "mkdtemp failed"); return; }
    ScoreSettings s = settings(mean, std), plain = s;
    s.map_cache = dir;
    EvalRow r0, r1, r2, r3;
    ScoreOut o0, o1, o2, o3;
    score_once(&plain, &P, x, "sg-gradient", 0, &r0, &o0);
    score_once(&s, &P, x, "sg-gradient", 0, &r1, &o1);
    score_once(&s, &P, x, "sg-gradient", 0, &r2, &o2);
    CHECK(!o1.cached && o2.cached && o2.forward == o1.forward && o2.method_seconds == o1.method_seconds,
          "map cache: the first run computes and stores, the second reads (with the first's cost)",
          "cached %d %d", o1.cached, o2.cached);
    CHECK(!memcmp(o0.map, o1.map, sizeof x) && !memcmp(o1.map, o2.map, sizeof x) && same_row(&r0, &r2),
          "map cache: a map read back equals the computed one bit for bit, and so do the row's metrics", "differs");
    /* another class explained, another parameter: misses */
    int pred = r0.predicted, other = (pred + 1) % K;
    ScoreSettings lab = s;
    lab.target_rule = TARGET_RULE_LABEL;
    score_once(&lab, &P, x, "sg-gradient", other, &r3, &o3);
    CHECK(!o3.cached && o3.target == other && memcmp(o3.map, o1.map, sizeof x) != 0 && r3.predicted == pred,
          "map cache: another target is another entry; the label rule explains the label, the row keeps the "
          "prediction", "cached %d target %d pred %d", o3.cached, o3.target, r3.predicted);
    free(o3.map);
    P.samples = 3;
    score_once(&s, &P, x, "sg-gradient", 0, &r3, &o3);
    CHECK(!o3.cached, "map cache: another parameter value is another entry", "hit");
    free(o3.map);
    P.samples = 0;
    /* another run seed: the same entry for a method that draws nothing, another for one that draws */
    score_seeded(&s, &P, x, "gradient", 0, 11, &r3, &o3);
    free(o3.map);
    score_seeded(&s, &P, x, "gradient", 0, 12, &r3, &o3);
    int det_hit = o3.cached;
    free(o3.map);
    score_seeded(&s, &P, x, "sg-gradient", 0, 12, &r3, &o3);
    CHECK(det_hit && !o3.cached, "map cache: the seed is part of the key only for a method that draws (gradient hits "
          "under another seed, sg-gradient misses)", "gradient %d sg-gradient %d", det_hit, o3.cached);
    free(o3.map);
    eng_set_reference(1);   /* the reference path's map is another computation */
    score_seeded(&s, &P, x, "gradient", 0, 11, &r3, &o3);
    eng_set_reference(0);
    CHECK(!o3.cached, "map cache: a map of the reference path is another entry than the fast path's", "hit");
    free(o3.map);
    /* a damaged file is a miss: the map is computed again, the same */
    char cmd[200];
    snprintf(cmd, sizeof cmd, "for f in %s/*.map; do head -c 100 \"$f\" > \"$f.cut\" && mv \"$f.cut\" \"$f\"; done", dir);
    int rc = system(cmd);
    score_once(&s, &P, x, "sg-gradient", 0, &r3, &o3);
    CHECK(rc == 0 && !o3.cached && !memcmp(o3.map, o1.map, sizeof x),
          "map cache: a cut file is not used; the map is computed again", "rc %d cached %d", rc, o3.cached);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    free(o0.map); free(o1.map); free(o2.map); free(o3.map);
    attrib_params_release(&P);
    eng_model_free(m);
}

/* Block granularity: resnet18's 11 blocks, and a block's reset touches its
   own modules only, each as torch's reset does. */
static void test_mprt_blocks(EngModel *m) {
    MprtModule *b = NULL;
    int n = mprt_list_steps(m, MPRT_BY_BLOCK, &b);
    static const char *want[] = {"conv1", "layer1.0", "layer1.1", "layer2.0", "layer2.1", "layer3.0", "layer3.1", "layer4.0",
                                 "layer4.1", "fc"};
    int names_ok = n == 11 && !strcmp(b[1].name, "bn1");
    for (int i = 0, k = 0; names_ok && i < n; i++) {
        if (i == 1) continue;
        names_ok &= !strcmp(b[i].name, want[k++]);
        names_ok &= i == 0 || b[i].first == b[i - 1].first + b[i - 1].count;
    }
    names_ok &= n == 11 && b[n - 1].first + b[n - 1].count == eng_model_n_params(m);
    CHECK(names_ok, "mprt_list_steps by block: conv1, bn1, layer1.0 ... layer4.1, fc, covering every parameter once",
          "n %d", n);
    EngModel *c = eng_model_clone(m);
    const MprtModule *blk = &b[8];   /* layer4.0: conv1 bn1 conv2 bn2 downsample.0 downsample.1 */
    mprt_reset_module(c, blk, 5);
    int inside_ok = 1, outside_same = 1, n_bn = 0, n_conv = 0;
    for (int i = 0; i < eng_model_n_params(c); i++) {
        EngParam *p = eng_model_param(c, i), *o = eng_model_param(m, i);
        int in = i >= blk->first && i < blk->first + blk->count;
        if (!in) { outside_same &= !memcmp(p->data, o->data, sizeof(float) * p->numel); continue; }
        const char *lf = strrchr(p->name, '.') + 1;
        if (!strcmp(lf, "running_var")) { n_bn++; for (size_t k = 0; k < p->numel; k++) inside_ok &= p->data[k] == 1.0f; }
        if (!strcmp(lf, "weight") && p->ndim == 4) {
            double bound = 1 / sqrt((double)(p->numel / (size_t)p->shape[0])), mx = 0;
            for (size_t k = 0; k < p->numel; k++) mx = fmax(mx, fabs(p->data[k]));
            inside_ok &= mx <= bound && mx > 0.9 * bound;
            n_conv++;
        }
    }
    CHECK(inside_ok && outside_same && n_bn == 3 && n_conv == 3,
          "mprt_reset_module on a block: its 3 convs U(+-1/sqrt(fan_in)), its 3 batch norms reset, nothing else touched",
          "inside %d outside %d bn %d conv %d", inside_ok, outside_same, n_bn, n_conv);
    eng_model_free(c);
    free(b);
}

static void test_mprt(void) {
    EngModel *m = small_model(7);
    MprtModule *mods = NULL;
    int n = mprt_list_modules(m, &mods);
    CHECK(n > 40 && !strcmp(mods[n - 1].name, "fc") && !strcmp(mods[0].name, "conv1") && !strcmp(mods[1].name, "bn1"),
          "mprt_list_modules: resnet18's modules in parameter order (conv1, bn1, ..., fc)", "n %d last %s", n,
          n > 0 ? mods[n - 1].name : "?");
    EngModel *c = eng_model_clone(m);
    mprt_reset_module(c, &mods[1], 1);   /* bn1: weight 1, bias 0, mean 0, var 1 */
    EngParam *w = eng_model_param(c, mods[1].first), *orig = eng_model_param(m, mods[1].first);
    int bn_ok = w->data[0] == 1.0f && orig->data[0] != 1.0f;
    for (int i = 0; i < mods[1].count; i++) {
        EngParam *p = eng_model_param(c, mods[1].first + i);
        const char *leaf = strrchr(p->name, '.') + 1;
        float want = !strcmp(leaf, "weight") || !strcmp(leaf, "running_var") ? 1.0f : 0.0f;
        if (!strcmp(leaf, "num_batches_tracked")) continue;
        for (size_t k = 0; k < p->numel; k++) bn_ok &= p->data[k] == want;
    }
    mprt_reset_module(c, &mods[n - 1], 2);   /* fc: U(-1/sqrt(512), 1/sqrt(512)) */
    EngParam *fw = eng_model_param(c, mods[n - 1].first);
    double bound = 1 / sqrt(512.0), mx = 0;
    for (size_t k = 0; k < fw->numel; k++) mx = fmax(mx, fabs(fw->data[k]));
    CHECK(bn_ok && mx <= bound && mx > 0.9 * bound, "mprt_reset_module: torch's reset (batch norm to identity, "
          "linear U(+-1/sqrt(fan_in)))", "bn %d max |w| %g bound %g", bn_ok, mx, bound);
    eng_model_free(c);
    free(mods);
    test_mprt_blocks(m);
    float x[S * S];
    fill_image(x);
    const float mean[1] = {0.5f}, std[1] = {0.25f};
    AttribParams P;
    attrib_params_default(&P);
    P.model = m; P.x = x; P.C = 1; P.H = P.W = S; P.mean = mean; P.std = std; P.target = 0;
    const AttribMethod *ms[2] = {attrib_find("gradient"), attrib_find("random")};
    Mprt t;
    MprtConfig cfg = {.seed = 3, .by = MPRT_BY_MODULE};
    int rc = mprt_run(&t, &P, ms, 2, &cfg);
    int last = t.n_modules;
    CHECK(rc == 0 && P.model == m && t.corr[0] == 1 && t.corr[(size_t)last * 2 + 1] == 1.0 &&
              fabs(t.corr[(size_t)last * 2]) < 0.5,
          "mprt_run: random's map never changes (1.0), the gradient's decorrelates once all layers are random",
          "rc %d gradient %g random %g", rc, rc ? NAN : t.corr[(size_t)last * 2], rc ? NAN : t.corr[(size_t)last * 2 + 1]);
    mprt_free(&t);
    eng_model_free(m);
}

int main(void) {
    eng_set_threads(1);
    test_spearman();
    test_score();
    test_target_rule();
    test_uses_seed();
    test_map_cache();
    test_mprt();
    return check_failures_;
}
