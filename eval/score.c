/* score.c - one image scored by one method (see score.h). */
#include "eval/score.h"
#include "engine/rng.h"
#include "eval/localize.h"
#include "eval/mapcache.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- the target rule ---------------- */

static const char *const rule_names[] = {"pred", "label", "paper"};

int eval_target_rule_parse(const char *s, EvalTargetRule *out) {
    for (int i = 0; i < 3; i++)
        if (s && !strcmp(s, rule_names[i])) { *out = (EvalTargetRule)i; return 0; }
    return -1;
}

const char *eval_target_rule_name(EvalTargetRule r) { return r >= 0 && r <= 2 ? rule_names[r] : "?"; }

const char *eval_target_rule_text(EvalTargetRule r) {
    if (r == TARGET_RULE_LABEL)
        return "every map explains the true label (the prediction when there is none); the metrics measure the "
               "predicted class";
    if (r == TARGET_RULE_PAPER)
        return "CAM methods explain the true label, the other methods the predicted class (the seed paper's rule); "
               "the metrics measure the predicted class";
    return "the predicted class of each image";
}

int eval_map_target(EvalTargetRule rule, AttribFamily fam, int label, int pred) {
    if (label < 0) return pred;
    if (rule == TARGET_RULE_LABEL) return label;
    if (rule == TARGET_RULE_PAPER && fam == FAMILY_CAM) return label;
    return pred;
}

/* ---------------- the image ---------------- */

/* The foreground of x brought back to [0,1]; NULL with a note when there is none. */
static uint8_t *input_foreground(const ScoreSettings *s, const float *x, char *note, size_t n) {
    size_t plane = (size_t)s->S * s->S;
    float *gray = malloc(sizeof(float) * plane);
    uint8_t *fg = malloc(plane);
    int count = -1;
    if (gray && fg) {
        localize_gray_from_input(gray, x, s->C, plane, s->mean, s->std);
        count = localize_foreground(gray, s->S, s->S, fg);
    }
    free(gray);
    if (count > 0) return fg;
    snprintf(note, n, "%s", count < 0 ? "no foreground (out of memory)" : "no foreground (constant image)");
    free(fg);
    return NULL;
}

/* The input as uint8, its random mask and blurred image; 0 or -1 with pic_error set. */
static int prepare_pic(ScoreImage *im, const ScoreSettings *s) {
    size_t plane = (size_t)s->S * s->S;
    im->pic_u8 = malloc(plane * s->C);
    im->pic_random = malloc(plane);
    if (!im->pic_u8 || !im->pic_random) { snprintf(im->pic_error, sizeof im->pic_error, "out of memory"); return -1; }
    pic_input_to_u8(im->pic_u8, im->x, s->C, s->S, s->S, s->mean, s->std);
    if (pic_random_mask(im->pic_random, s->S, s->S, PIC_RANDOM_FRACTION, eng_rng_split(im->seed, 0)) ||
        pic_image_init(&im->pic, im->pic_u8, s->S, s->S, s->C, im->pic_random, s->info)) {
        snprintf(im->pic_error, sizeof im->pic_error, "%s", eng_last_error());
        return -1;
    }
    return 0;
}

int score_image_prepare(ScoreImage *im, const ScoreSettings *s, AttribParams *P, const float *x, uint64_t run_seed,
                        uint64_t index, const uint8_t *lesion) {
    memset(im, 0, sizeof *im);
    im->x = x;
    im->lesion = lesion;
    im->logits = malloc(sizeof(float) * s->K);
    im->prob = malloc(sizeof(float) * s->K);
    P->x = x;
    im->pred = im->logits && im->prob ? attrib_predict(P, x, im->logits, im->prob) : -1;
    if (im->pred < 0) return -1;
    P->target = im->pred;
    im->seed = eng_rng_split(run_seed, index);
    P->seed = eng_rng_split(im->seed, 1);
    im->foreground = input_foreground(s, x, im->foreground_note, sizeof im->foreground_note);
    im->pic_ready = s->pic && prepare_pic(im, s) == 0;
    im->pic.sigmoid = P->sigmoid;
    return 0;
}

void score_image_free(ScoreImage *im) {
    pic_image_free(&im->pic);
    free(im->pic_u8); free(im->pic_random); free(im->foreground); free(im->logits); free(im->prob);
    memset(im, 0, sizeof *im);
}

/* ---------------- one method ---------------- */

/* Adds "what: why" to a ';'-separated list of reasons, failures first. */
static void append_reason(char *buf, size_t n, const char *what, const char *why) {
    char tmp[1024], out[2100];
    snprintf(tmp, sizeof tmp, "%s", buf);
    snprintf(out, sizeof out, "%s: %.500s%s%s", what, why, tmp[0] ? ";" : "", tmp);
    size_t L = strlen(out);
    if (L >= n) L = n - 1;
    memcpy(buf, out, L);
    buf[L] = 0;
    for (char *p = buf; *p; p++) if (*p == '\n' || *p == '\r') *p = ' ';
}

/* PIC's skip rules of the two curves (SIC, AIC), as "sic:<rule>;aic:<rule>". */
static void append_pic_skips(char *buf, size_t n, const PicSkip skip[2]) {
    for (int k = 0; k < 2; k++) {
        if (skip[k] == PIC_OK) continue;
        size_t L = strlen(buf);
        snprintf(buf + L, n - L, "%s%s:%s", L ? ";" : "", k ? "aic" : "sic", pic_skip_name(skip[k]));
    }
}

int score_image_unscored(ScoreImage *im, const ScoreSettings *s, AttribParams *P, char *skipped, size_t n) {
    skipped[0] = 0;
    if (!s->pic || !im->pic_ready) return 0;
    PicEngine pe = {P, s->mean, s->std, 0};
    PicSkip skip[2];
    if (pic_skips(&im->pic, pic_engine_logits, &pe, s->K, im->pred, s->min_pred, skip)) return -1;
    if (skip[0] == PIC_OK || skip[1] == PIC_OK) return 0;
    append_pic_skips(skipped, n, skip);
    return 1;
}

static void score_pic(ScoreImage *im, const ScoreSettings *s, AttribParams *P, const float *map, EvalRow *r,
                      char *skipped, size_t n) {
    if (!s->pic) return;
    if (!im->pic_ready) { append_reason(skipped, n, "failed: pic", im->pic_error); return; }
    PicResult pr;
    memset(&pr, 0, sizeof pr);
    PicEngine pe = {P, s->mean, s->std, 0};
    if (pic_evaluate(&im->pic, map, pic_engine_logits, &pe, s->K, P->target, s->min_pred, 0, &pr) == 0) {
        r->sic = pr.sic.auc;
        r->aic = pr.aic.auc;
        r->has_raw = 1;
        pic_raw_from_curve(&r->sic_raw, &pr.sic);
        pic_raw_from_curve(&r->aic_raw, &pr.aic);
        append_pic_skips(skipped, n, (PicSkip[2]){pr.sic.skip, pr.aic.skip});
    } else {
        append_reason(skipped, n, "failed: pic", eng_last_error());
    }
    pic_result_free(&pr);
}

static void score_insdel(const ScoreSettings *s, AttribParams *P, const float *map, EvalRow *r, char *skipped,
                         size_t n) {
    if (!s->insdel) return;
    size_t plane = (size_t)s->S * s->S;
    int step = s->insdel_steps ? (int)((plane + s->insdel_steps - 1) / s->insdel_steps) : 0;
    InsdelResult ir;
    if (insdel_run(P, map, INSDEL_INSERTION, s->sub_ins, step, s->mean, s->std, &ir) == 0) r->insertion = ir.auc;
    else append_reason(skipped, n, "failed: insertion", eng_last_error());
    insdel_result_free(&ir);
    if (insdel_run(P, map, INSDEL_DELETION, s->sub_del, step, s->mean, s->std, &ir) == 0) r->deletion = ir.auc;
    else append_reason(skipped, n, "failed: deletion", eng_last_error());
    insdel_result_free(&ir);
}

/* The method's map for P->target: from the map cache when it holds this
   exact computation, else computed (and stored when there is a cache). */
static int run_or_load(const ScoreSettings *s, const ScoreImage *im, AttribParams *P, const AttribMethod *am,
                       const char *image, AttribResult *R, ScoreOut *out) {
    char key[MAPCACHE_KEY_MAX];
    int cacheable = s->map_cache && image && mapcache_key(am, P, im->logits, s->K, key, sizeof key) == 0;
    if (cacheable) {
        memset(R, 0, sizeof *R);
        R->map = malloc(sizeof(float) * P->H * P->W);
        MapCacheMeta meta;
        if (R->map && mapcache_load(s->map_cache, key, P->H, P->W, R->map, &meta) == 0) {
            out->cached = 1;
            out->forward = meta.forward;
            out->backward = meta.backward;
            out->method_seconds = meta.seconds;
            return 0;
        }
        free(R->map);
        R->map = NULL;
    }
    if (am->run(P, R)) return -1;
    out->forward = R->forward;
    out->backward = R->backward;
    out->method_seconds = R->seconds;
    if (cacheable) mapcache_keep(s->map_cache, image, key, P->H, P->W, R);
    return 0;
}

int score_method(ScoreImage *im, const ScoreSettings *s, AttribParams *P, const AttribMethod *am, EvalRow *r,
                 char *skipped, size_t n, ScoreOut *out) {
    double t0 = attrib_now();
    size_t plane = (size_t)s->S * s->S;
    r->method = (char *)am->name;
    r->predicted = im->pred;
    r->confidence = im->prob[im->pred];
    r->skipped = skipped;
    skipped[0] = 0;
    memset(out, 0, sizeof *out);
    AttribResult R;
    P->target = out->target = eval_map_target(s->target_rule, am->family, r->label, im->pred);
    int rc = run_or_load(s, im, P, am, r->image, &R, out);
    P->target = im->pred;
    if (rc) {
        snprintf(skipped, n, "failed: %s: %s", am->name, eng_last_error());
        r->seconds = attrib_now() - t0;
        attrib_result_free(&R);
        return -1;
    }
    if (out->cached) t0 -= out->method_seconds;
    score_pic(im, s, P, R.map, r, skipped, n);
    score_insdel(s, P, R.map, r, skipped, n);
    if (im->foreground) r->outside = localize_outside_mass(R.map, im->foreground, plane);
    if (im->lesion) {
        r->hit = localize_pointing_hit(R.map, im->lesion, plane);
        r->energy = localize_energy(R.map, im->lesion, plane);
    }
    r->seconds = attrib_now() - t0;
    out->map = R.map;
    R.map = NULL;
    attrib_result_free(&R);
    return 0;
}
