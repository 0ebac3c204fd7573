/* test_eval_summary.c - the summary of a handcrafted evaluation
   (tests/data/eval/results.csv + curves_images.csv) against numpy/scipy
   values computed independently by tools/make_eval_summary_golden.py:
   per-method mean/median/n, aggregate PIC curve AUCs rebuilt from the raw
   values, Wilcoxon/Holm for every pair, Friedman with mean ranks,
   accuracy and confusion, skip counts; bootstrap intervals against scipy's
   percentile bootstrap within Monte Carlo error; the CSV reader (round
   trip, a malformed line named by number, a cut last line dropped, the
   13-column header from before outside_mass); outside's statistics without
   any mask; and the localisation metrics against torch's nearest resize
   and numpy. */
#include "engine/engine.h"
#include "eval/localize.h"
#include "eval/results.h"
#include "eval/stats.h"
#include "eval/report.h"
#include "eval/summary.h"
#include "io/file.h"
#include "io/json.h"
#include "tests/check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIR "tests/data/eval/"

static double jnum(const JsonValue *v) { return json_type(v) == JSON_NUMBER ? json_number(v) : NAN; }

/* |a - b| <= tol * max(1, |b|), NaN matching null (NaN). */
static int close_to(double a, double b, double tol) {
    if (isnan(b)) return isnan(a);
    return fabs(a - b) <= tol * (fabs(b) > 1 ? fabs(b) : 1);
}

static void check_methods(const EvalSummary *s, const JsonValue *g) {
    double worst = 0, worst_ci = 0;
    char where[128] = "", where_ci[128] = "";
    int n_bad = 0;
    const JsonValue *gm = json_get(g, "methods");
    for (size_t i = 0; i < json_len(gm); i++) {
        const char *name = json_key_at(gm, i);
        int j = eval_method_index(s, name);
        if (j < 0) { n_bad++; continue; }
        for (int m = 0; m < EM_COUNT; m++) {
            const JsonValue *e = json_get(json_at(gm, i), eval_metric_names[m]);
            const EvalStat *st = &s->m[j].stat[m];
            if (st->n != (int)jnum(json_get(e, "n"))) n_bad++;
            double d = fmax(fabs(st->mean - jnum(json_get(e, "mean"))), fabs(st->median - jnum(json_get(e, "median"))));
            if (!(d <= worst)) { worst = d; snprintf(where, sizeof where, "%s %s", name, eval_metric_names[m]); }
            const JsonValue *ci = json_get(e, "ci_scipy");
            /* pointing is 0/1: its bootstrap means sit on multiples of 1/n and an
               endpoint near a jump can differ by a whole step between generators */
            double dc = m == EM_POINTING ? 0 : fmax(fabs(st->ci[0] - jnum(json_at(ci, 0))), fabs(st->ci[1] - jnum(json_at(ci, 1))));
            if (!(dc <= worst_ci)) { worst_ci = dc; snprintf(where_ci, sizeof where_ci, "%s %s", name, eval_metric_names[m]); }
        }
    }
    CHECK(n_bad == 0 && worst < 1e-12, "per-method mean, median and n equal numpy's",
          "%d count mismatches, worst difference %.3g at %s", n_bad, worst, where);
    /* scipy's percentile bootstrap uses another generator: agreement within
       Monte Carlo error (values in [0,1], n about 12: endpoint s.e. ~0.003) */
    CHECK(worst_ci < 0.012, "bootstrap 95% intervals agree with scipy's percentile bootstrap (Monte Carlo tolerance 0.012; not for 0/1 pointing)",
          "worst endpoint difference %.4f at %s", worst_ci, where_ci);
    printf("  worst CI endpoint difference from scipy: %.4f (%s)\n", worst_ci, where_ci);
}

/* The interval equals stats_bootstrap_mean_ci on the same values with the documented seed. */
static void check_bootstrap_wiring(const EvalSummary *s, const EvalRows *rows) {
    int bad = 0, checked = 0;
    for (int j = 0; j < s->n_methods; j++) {
        double v[256];
        int n = 0;
        for (int r = 0; r < rows->n && n < 256; r++)
            if (!strcmp(rows->v[r].method, s->m[j].name) && isfinite(rows->v[r].sic)) v[n++] = rows->v[r].sic;
        double ci[2];
        if (stats_bootstrap_mean_ci(v, n, EVAL_BOOTSTRAP, 0.95, eval_bootstrap_seed(0, s->m[j].name, "sic"), ci)) { bad++; continue; }
        bad += ci[0] != s->m[j].stat[EM_SIC].ci[0] || ci[1] != s->m[j].stat[EM_SIC].ci[1];
        checked++;
    }
    CHECK(!bad && checked == s->n_methods, "SIC intervals are the seeded bootstrap of eval_bootstrap_seed(seed, method, metric)",
          "%d of %d differ", bad, checked);
}

static void check_curves(const EvalSummary *s, const JsonValue *g) {
    const JsonValue *gc = json_get(g, "curves");
    double worst = 0;
    int bad_n = 0;
    char where[96] = "";
    for (size_t i = 0; i < json_len(gc); i++) {
        int j = eval_method_index(s, json_key_at(gc, i));
        if (j < 0) { bad_n++; continue; }
        for (int k = 0; k < 2; k++) {
            const JsonValue *e = json_get(json_at(gc, i), k ? "aic" : "sic");
            if (s->m[j].n_curves[k] != (int)jnum(json_get(e, "n"))) bad_n++;
            double d = fmax(fabs(s->m[j].curve_auc[k][EVAL_MEAN] - jnum(json_get(e, "mean_auc"))),
                            fabs(s->m[j].curve_auc[k][EVAL_MEDIAN] - jnum(json_get(e, "median_auc"))));
            if (!(d <= worst)) { worst = d; snprintf(where, sizeof where, "%s %s", json_key_at(gc, i), k ? "aic" : "sic"); }
        }
    }
    CHECK(!bad_n && worst < 1e-12, "aggregate mean/median SIC and AIC curve AUCs equal numpy's over pic.py curves",
          "%d count mismatches, worst AUC difference %.3g at %s", bad_n, worst, where);
}

static void check_pairs(const EvalSummary *s, const JsonValue *g) {
    const JsonValue *gp = json_get(g, "pairwise");
    int missing = 0, bad = 0, tests = 0, nulls = 0;
    double worst = 0;
    char where[160] = "";
    for (size_t i = 0; i < json_len(gp); i++) {
        const JsonValue *e = json_at(gp, i);
        const char *a = json_string(json_get(e, "a")), *b = json_string(json_get(e, "b")), *m = json_string(json_get(e, "metric"));
        const EvalPair *pr = NULL;
        for (int p = 0; p < s->n_pairs; p++)
            if (!strcmp(s->m[s->pairs[p].a].name, a) && !strcmp(s->m[s->pairs[p].b].name, b) &&
                !strcmp(eval_metric_names[s->pairs[p].metric], m)) pr = &s->pairs[p];
        if (!pr) { missing++; continue; }
        if (pr->n != (int)jnum(json_get(e, "n"))) bad++;
        double gs = jnum(json_get(e, "statistic")), gpv = jnum(json_get(e, "p")), gh = jnum(json_get(e, "p_holm"));
        if (isnan(gpv)) nulls++; else tests++;
        int ok = close_to(pr->statistic, gs, 1e-12) && close_to(pr->p, gpv, 1e-9) && close_to(pr->p_holm, gh, 1e-9);
        double d = isnan(gpv) ? 0 : fmax(fabs(pr->p - gpv), fabs(pr->p_holm - gh));
        if (!ok) { bad++; snprintf(where, sizeof where, "%s-%s %s: ours W=%g p=%g holm=%g, scipy W=%g p=%g holm=%g", a, b, m,
                                   pr->statistic, pr->p, pr->p_holm, gs, gpv, gh); }
        if (d > worst) worst = d;
    }
    CHECK(!missing && !bad && (int)json_len(gp) == s->n_pairs,
          "pairwise Wilcoxon statistic, p and Holm-adjusted p equal scipy's for every pair and metric",
          "%d missing, %d differ (%d pairs, ours %d): %s", missing, bad, (int)json_len(gp), s->n_pairs, where);
    printf("  %d pairwise tests (%d without a test), worst p difference %.3g\n", tests, nulls, worst);
}

static void check_friedman(const EvalSummary *s, const JsonValue *g) {
    const JsonValue *gf = json_get(g, "friedman");
    int bad = 0;
    char where[200] = "";
    for (int m = 0; m < EM_COUNT; m++) {
        const JsonValue *e = json_get(gf, eval_metric_names[m]);
        const EvalFriedman *f = &s->friedman[m];
        int ok = f->ok && f->n == (int)jnum(json_get(e, "n")) && close_to(f->statistic, jnum(json_get(e, "statistic")), 1e-10) &&
                 close_to(f->p, jnum(json_get(e, "p")), 1e-9);
        for (int j = 0; j < s->n_methods; j++)
            ok &= close_to(f->mean_ranks[j], jnum(json_get(json_get(e, "mean_ranks"), s->m[j].name)), 1e-12);
        if (!ok) { bad++; snprintf(where, sizeof where, "%s: ours chi2=%g p=%g n=%d (%s)", eval_metric_names[m], f->statistic, f->p, f->n, f->note); }
    }
    CHECK(!bad, "Friedman statistic, p and mean ranks equal scipy's for all seven metrics", "%d differ: %s", bad, where);
}

static void check_model(const EvalSummary *s, const JsonValue *g) {
    int bad = 0;
    const JsonValue *c = json_get(g, "confusion");
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) bad += s->confusion[a * 3 + b] != (long)jnum(json_at(json_at(c, a), b));
    CHECK(!bad && close_to(s->accuracy, jnum(json_get(g, "accuracy")), 1e-15) && s->n_images == (int)jnum(json_get(g, "n_images")),
          "accuracy, confusion matrix and image count", "accuracy %g vs %g, %d confusion cells differ, %d images",
          s->accuracy, jnum(json_get(g, "accuracy")), bad, s->n_images);
    int g_failed = s->m[eval_method_index(s, "gamma")].n_failed;
    CHECK(s->n_unreadable == 1 && s->skip_counts[0][PIC_SKIP_MIN_PRED] == 1 && s->skip_counts[1][PIC_SKIP_BLUR_PRED] == 1 &&
              s->skip_counts[0][PIC_SKIP_BLUR_PRED] == 0 && g_failed == 1 && s->has_masks,
          "skip counts: 1 unreadable, 1 SIC min_pred, 1 AIC blurred_pred, 1 gamma failure",
          "unreadable %d, sic min_pred %d, aic blurred_pred %d, gamma failed %d", s->n_unreadable,
          s->skip_counts[0][PIC_SKIP_MIN_PRED], s->skip_counts[1][PIC_SKIP_BLUR_PRED], g_failed);
}

/* A results.csv from before outside_mass (13 columns) is read, outside
   empty; its rows keep their columns; a row of the wrong width is an error. */
static void check_legacy_header(const char *rp) {
    FILE *f = fopen(rp, "w");
    fprintf(f, RESULTS_HEADER_V1 "\n");
    fprintf(f, "a.png,0,1,0.9,gradient,0.5,0.4,0.3,0.2,1,0.75,sic:min_pred,1.5\n");
    fprintf(f, "b.png,1,1,0.8,gradient,,,0.3,0.2,,,,2\n");
    fclose(f);
    EvalRows b;
    results_init(&b);
    char err[512] = "";
    int rc = results_load(&b, rp, NULL, err, sizeof err);
    const EvalRow *r = rc == 0 && b.n == 2 ? &b.v[0] : NULL;
    CHECK(r && b.legacy_files == 1 && isnan(r->outside) && isnan(b.v[1].outside) && r->predicted == 1 && r->aic == 0.4 &&
              r->hit == 1 && r->energy == 0.75 && !strcmp(r->skipped, "sic:min_pred") && r->seconds == 1.5 &&
              b.v[1].seconds == 2 && isnan(b.v[1].sic),
          "a results.csv with the header before outside_mass (13 columns) is read: outside empty, the other columns in place",
          "rc %d (%s), %d rows, legacy %d", rc, err, b.n, b.legacy_files);
    results_free(&b);
    f = fopen(rp, "w");
    fprintf(f, RESULTS_HEADER_V1 "\n");
    fprintf(f, "a.png,0,1,0.9,gradient,0.5,0.4,0.3,0.2,1,0.75,0.1,,1.5\n");
    fclose(f);
    results_init(&b);
    rc = results_load(&b, rp, NULL, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "line 2") && strstr(err, "expected 13 fields"),
          "a 14-field row under the 13-column header is an error naming the line", "rc %d: %s", rc, err);
    results_free(&b);
    results_init(&b);
    f = fopen(rp, "w");
    fprintf(f, RESULTS_HEADER "\n");
    fprintf(f, "a.png,0,1,0.9,gradient,0.5,0.4,0.3,0.2,1,0.75,0.125,,1.5\n");
    fclose(f);
    rc = results_load(&b, rp, NULL, err, sizeof err);
    CHECK(rc == 0 && b.n == 1 && b.legacy_files == 0 && b.v[0].outside == 0.125 && b.v[0].energy == 0.75 && b.v[0].seconds == 1.5,
          "outside_mass is read from the column after mask_energy", "rc %d (%s)", rc, err);
    results_free(&b);
}

/* Round trip through the writer, then the reader's error handling. */
static void check_csv(const EvalRows *rows) {
    char rp[] = "/tmp/salient_test_results_XXXXXX", cp[] = "/tmp/salient_test_curves_XXXXXX";
    int fr = mkstemp(rp), fc = mkstemp(cp);
    FILE *f = fdopen(fr, "w"), *g = fdopen(fc, "w");
    results_write_header(f);
    curves_images_write_header(g);
    for (int i = 0; i < rows->n; i++) { results_write_row(f, &rows->v[i]); curves_images_write_rows(g, &rows->v[i]); }
    fclose(f); fclose(g);
    EvalRows b;
    results_init(&b);
    char err[512] = "";
    int rc = results_load(&b, rp, cp, err, sizeof err), diff = 0;
    for (int i = 0; !rc && i < rows->n; i++) {
        const EvalRow *x = &rows->v[i], *y = &b.v[i];
        diff += strcmp(x->image, y->image) || strcmp(x->method, y->method) || strcmp(x->skipped, y->skipped) ||
                x->label != y->label || x->predicted != y->predicted || x->has_raw != y->has_raw;
        const double u[] = {x->confidence, x->sic, x->aic, x->insertion, x->deletion, x->hit, x->energy, x->outside, x->seconds};
        const double v[] = {y->confidence, y->sic, y->aic, y->insertion, y->deletion, y->hit, y->energy, y->outside, y->seconds};
        for (int k = 0; k < 9; k++) diff += !(u[k] == v[k] || (isnan(u[k]) && isnan(v[k])));
        if (x->has_raw) diff += memcmp(&x->sic_raw, &y->sic_raw, sizeof x->sic_raw) != 0 || memcmp(&x->aic_raw, &y->aic_raw, sizeof x->aic_raw) != 0;
    }
    CHECK(!rc && b.n == rows->n && !diff, "results.csv / curves_images.csv round trip is exact",
          "rc %d (%s), %d vs %d rows, %d differences", rc, err, b.n, rows->n, diff);
    results_free(&b);
    /* a malformed line and a cut last record */
    f = fopen(rp, "w");
    fprintf(f, RESULTS_HEADER "\n");
    fprintf(f, "a.png,0,0,0.9,gradient,0.5,0.5,0.5,0.5,,,,,1\n");
    fprintf(f, "b.png,0,0,0.9,gradient,zero,0.5,0.5,0.5,,,,,1\n");
    fclose(f);
    results_init(&b);
    rc = results_load(&b, rp, NULL, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "line 3") && strstr(err, "sic_auc") && strstr(err, "zero"),
          "a malformed cell is an error naming the line and the column", "rc %d: %s", rc, err);
    printf("  message: %s\n", err);
    results_free(&b);
    f = fopen(rp, "w");
    fprintf(f, RESULTS_HEADER "\n");
    fprintf(f, "a.png,0,0,0.9,gradient,0.5,0.5,0.5,0.5,,,,,1\n");
    fprintf(f, "\"b,c.png\",0,1,0.9,gradient,0.5,0.5,0.5,0.5,,,,,1\n");
    fprintf(f, "d.png,0,0,0.9,gradi");
    fclose(f);
    results_init(&b);
    rc = results_load(&b, rp, NULL, err, sizeof err);
    CHECK(rc == 0 && b.n == 2 && b.dropped_partial == 1 && !strcmp(b.v[1].image, "b,c.png") && b.v[1].predicted == 1,
          "a quoted name with a comma is read; a record cut without newline is dropped", "rc %d n %d dropped %d", rc, b.n,
          b.dropped_partial);
    results_free(&b);
    f = fopen(rp, "w");
    fprintf(f, "image,label\n");
    fclose(f);
    results_init(&b);
    rc = results_load(&b, rp, NULL, err, sizeof err);
    CHECK(rc < 0 && strstr(err, "line 1"), "a wrong header is an error", "rc %d: %s", rc, err);
    results_free(&b);
    check_legacy_header(rp);
    remove(rp); remove(cp);
}

/* Without any lesion mask, outside still has its statistics and tests (it
   needs no mask), pointing and energy none; lower is better for outside. */
static void check_outside_without_masks(const EvalRows *rows, const EvalSummaryOpts *so) {
    EvalRows b;
    results_init(&b);
    for (int i = 0; i < rows->n; i++) {
        EvalRow r = rows->v[i];
        r.hit = r.energy = NAN;
        results_add(&b, &r);
    }
    const char *order[] = {"alpha", "beta", "gamma", "random"};
    EvalSummary s;
    int rc = eval_summarize(&s, &b, order, 4, so), outside_pairs = 0, mask_pairs = 0;
    for (int p = 0; !rc && p < s.n_pairs; p++) {
        outside_pairs += s.pairs[p].metric == EM_OUTSIDE;
        mask_pairs += eval_metric_needs_mask(s.pairs[p].metric);
    }
    CHECK(!rc && !s.has_masks && outside_pairs == 6 && !mask_pairs && s.friedman[EM_OUTSIDE].ok && s.m[0].stat[EM_OUTSIDE].n == 12 &&
              !eval_metric_higher_is_better(EM_OUTSIDE) && !eval_metric_needs_mask(EM_OUTSIDE),
          "without masks: outside keeps its statistics, 6 pairwise tests and Friedman (lower is better); pointing and energy none",
          "rc %d, has_masks %d, %d outside pairs, %d mask pairs", rc, s.has_masks, outside_pairs, mask_pairs);
    if (!rc) eval_summary_free(&s);
    results_free(&b);
}

/* What a reader may conclude: the smallest reachable Holm p, each method
   against random, and the findings paragraph; on all 14 images, on the
   first 3 (too few for any test) and on 1 (no interval). */
static EvalRows first_images(const EvalRows *rows, int k) {
    EvalRows b;
    results_init(&b);
    const char *seen[16];
    int n = 0;
    for (int i = 0; i < rows->n; i++) {
        int j = 0;
        while (j < n && strcmp(seen[j], rows->v[i].image)) j++;
        if (j == n && n < 16) seen[n++] = rows->v[i].image;
        if (j < k) results_add(&b, &rows->v[i]);
    }
    return b;
}

/* The findings say how many images PIC's rules left and why: on the first
   3 images, the first skipped on both curves (blurred information), the
   second on SIC (prediction below min_pred); and that nothing is left when
   every image is skipped. */
static void check_skip_findings(const EvalRows *three, const char *const *order, const EvalSummaryOpts *so) {
    EvalRows b = first_images(three, 3);   /* a copy whose rows can be marked as skipped */
    const char *first = b.n ? b.v[0].image : "", *second = NULL;
    for (int i = 0; i < b.n && !second; i++) if (strcmp(b.v[i].image, first)) second = b.v[i].image;
    for (int all = 0; all < 2; all++) {
        for (int i = 0; i < b.n; i++) {
            const char *why = !strcmp(b.v[i].image, first) || all ? "sic:blurred_info;aic:blurred_info"
                              : second && !strcmp(b.v[i].image, second) ? "sic:min_pred" : NULL;
            if (!why) continue;
            free(b.v[i].skipped);
            b.v[i].skipped = strdup(why);
            b.v[i].sic = NAN;
            if (strstr(why, "aic:")) b.v[i].aic = NAN;
        }
        EvalSummary s;
        char t[4096] = "";
        int ok = !eval_summarize(&s, &b, order, 4, so);
        if (ok) eval_summary_findings(&s, t, sizeof t);
        if (!all)
            CHECK(ok && strstr(t, "PIC's rules left 1 of the 3 images on SIC (skipped: 1 with the prediction below "
                                  "min_pred") && strstr(t, ", 1 whose fully blurred image holds no less information") &&
                      strstr(t, "PIC's rules left 2 of the 3 images on AIC (skipped: 1 whose fully blurred") &&
                      !strstr(t, "no method has a score"),
                  "guards: the findings say how many images PIC's rules left on SIC and AIC, and why", "%s", t);
        else
            CHECK(ok && strstr(t, "left 0 of the 3 images on SIC (skipped: 3 whose fully blurred image holds no less "
                                  "information than the original), so no method has a score there.") &&
                      !strstr(t, "sic: the best mean"),
                  "guards: when PIC's rules skip every image the findings say no method has a score", "%s", t);
        if (ok) eval_summary_free(&s);
    }
    results_free(&b);
}

static void check_guards(const EvalSummary *s, const EvalRows *rows, const EvalSummaryOpts *so) {
    int tested = 0, nmax = 0, consistent = 1, r = eval_method_index(s, "random");
    for (int p = 0; p < s->n_pairs; p++)
        if (s->pairs[p].metric == EM_SIC && isfinite(s->pairs[p].p)) { tested++; if (s->pairs[p].n > nmax) nmax = s->pairs[p].n; }
    double want = fmin(1.0, tested * 2.0 / pow(2.0, nmax)), got = eval_min_holm_p(s, EM_SIC);
    for (int j = 0; j < s->n_methods; j++) {
        if (j == r) continue;
        int v = eval_vs_baseline(s, EM_SIC, j, r);
        const EvalPair *pr = eval_pair(s, EM_SIC, j, r);
        double a = s->m[j].stat[EM_SIC].mean, b = s->m[r].stat[EM_SIC].mean;
        int expect = !(a > b) ? -1 : (pr && pr->p_holm < 0.05 ? 1 : 0);
        consistent &= v == expect;
    }
    CHECK(tested == 6 && got == want && got < 0.05 && consistent,
          "guards: the smallest reachable Holm p is pairs x 2/2^n; each method against random follows its mean and Holm p",
          "tested %d n %d got %g want %g consistent %d", tested, nmax, got, want, consistent);
    char text[2048];
    eval_summary_findings(s, text, sizeof text);
    CHECK(strstr(text, "14 images, 4 methods") && strstr(text, "sic: the best mean is") && strstr(text, "random ranks") &&
              strstr(text, "95% CI"),
          "guards: the findings paragraph names the images, the best SIC mean with its interval, and random's rank", "%s",
          text);
    EvalRows three = first_images(rows, 3), one = first_images(rows, 1);
    EvalSummary s3, s1;
    const char *order[] = {"alpha", "beta", "gamma", "random"};
    int ok3 = !eval_summarize(&s3, &three, order, 4, so), ok1 = !eval_summarize(&s1, &one, order, 4, so);
    char t3[2048] = "", t1[2048] = "";
    if (ok3) eval_summary_findings(&s3, t3, sizeof t3);
    if (ok1) eval_summary_findings(&s1, t1, sizeof t1);
    CHECK(ok3 && eval_min_holm_p(&s3, EM_SIC) >= 0.05 && strstr(t3, "no test can separate"),
          "guards: with 3 images no Holm p can reach 0.05, and the findings say so", "%s", t3);
    CHECK(ok1 && strstr(t1, "one image: no interval") && !strstr(t1, "95% CI"),
          "guards: one image gives no interval", "%s", t1);
    if (ok3) eval_summary_free(&s3);
    if (ok1) eval_summary_free(&s1);
    check_skip_findings(&three, order, so);
    results_free(&three);
    results_free(&one);
}

static void check_localize(const JsonValue *g) {
    const JsonValue *L = json_get(g, "localize"), *src = json_get(L, "src");
    uint8_t s[5 * 7];
    for (int y = 0; y < 5; y++) for (int x = 0; x < 7; x++) s[y * 7 + x] = (uint8_t)jnum(json_at(json_at(src, y), x));
    int bad = 0;
    for (size_t c = 0; c < json_len(json_get(L, "resized")); c++) {
        const JsonValue *e = json_at(json_get(L, "resized"), c);
        int H = (int)jnum(json_get(e, "h")), W = (int)jnum(json_get(e, "w"));
        uint8_t d[16 * 16];
        localize_resize_nearest(d, H, W, s, 5, 7);
        for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) bad += d[y * W + x] != (uint8_t)jnum(json_at(json_at(json_get(e, "mask"), y), x));
    }
    CHECK(!bad, "nearest-neighbour mask resize equals torch interpolate(mode='nearest') (11x4, 3x3, 8x14)", "%d pixels differ", bad);
    int bh = 0;
    double we = 0;
    for (size_t c = 0; c < json_len(json_get(L, "cases")); c++) {
        const JsonValue *e = json_at(json_get(L, "cases"), c);
        float map[30];
        uint8_t mk[30];
        for (int i = 0; i < 30; i++) { map[i] = (float)jnum(json_at(json_get(e, "map"), i)); mk[i] = (uint8_t)jnum(json_at(json_get(e, "mask"), i)); }
        bh += localize_pointing_hit(map, mk, 30) != jnum(json_get(e, "hit"));
        we = fmax(we, fabs(localize_energy(map, mk, 30) - jnum(json_get(e, "energy"))));
    }
    CHECK(!bh && we < 1e-12, "pointing hit and energy equal numpy's", "%d hits differ, energy off by %.3g", bh, we);
    float flat[4] = {1, 1, 1, 1}, neg[4] = {-1, -2, -3, -4};
    uint8_t m1[4] = {0, 1, 0, 0}, m0[4] = {0, 0, 0, 0};
    CHECK(isnan(localize_pointing_hit(flat, m1, 4)) && isnan(localize_energy(neg, m1, 4)) && isnan(localize_pointing_hit(neg, m0, 4)) &&
              localize_pointing_hit(neg, m1, 4) == 0.0,
          "not applicable: constant map (pointing), no positive mass (energy), empty mask", "unexpected values");
}

static int wrote_n;
static void count_wrote(const char *path) { wrote_n += path != NULL; }

int main(void) {
    uint8_t *buf;
    size_t len;
    char err[512];
    if (io_read_file(DIR "golden.json", 1 << 24, &buf, &len, err, sizeof err)) { CHECK(0, "golden", "%s", err); CHECK_DONE(); }
    JsonValue *g = json_parse((char *)buf, len, err, sizeof err);
    free(buf);
    if (!g) { CHECK(0, "golden parse", "%s", err); CHECK_DONE(); }
    EvalRows rows;
    results_init(&rows);
    int rc = results_load(&rows, DIR "results.csv", DIR "curves_images.csv", err, sizeof err);
    int with_raw = 0;
    for (int i = 0; i < rows.n; i++) with_raw += rows.v[i].has_raw;
    CHECK(rc == 0 && rows.n == 56 && with_raw == 51, "read results.csv (56 rows) and curves_images.csv (51 rows with curves)",
          "rc %d (%s), %d rows, %d with curves", rc, err, rows.n, with_raw);
    const char *order[] = {"alpha", "beta", "gamma", "random"};
    EvalSummaryOpts so = {.min_pred = jnum(json_get(g, "min_pred")), .seed = 0, .resamples = EVAL_BOOTSTRAP, .n_classes = 3};
    EvalSummary s;
    if (eval_summarize(&s, &rows, order, 4, &so)) { CHECK(0, "summarize", "%s", eng_last_error()); CHECK_DONE(); }
    check_methods(&s, g);
    check_bootstrap_wiring(&s, &rows);
    check_curves(&s, g);
    check_pairs(&s, g);
    check_friedman(&s, g);
    check_model(&s, g);
    check_guards(&s, &rows, &so);
    /* the JSON and curves writers run and produce parseable output */
    char jp[] = "/tmp/salient_test_summary_XXXXXX";
    int fd = mkstemp(jp);
    close(fd);
    rc = eval_summary_write_json(&s, NULL, jp);
    uint8_t *jb = NULL;
    size_t jl = 0;
    JsonValue *js = NULL;
    if (!rc && !io_read_file(jp, 1 << 24, &jb, &jl, err, sizeof err)) js = json_parse((char *)jb, jl, err, sizeof err);
    CHECK(js && json_type(json_get(json_get(json_get(js, "methods"), "alpha"), "sic")) == JSON_OBJECT &&
              json_len(json_get(js, "pairwise")) == (size_t)s.n_pairs && json_get(json_get(js, "friedman"), "energy") &&
              json_get(json_get(js, "friedman"), "outside") &&
              json_type(json_get(json_get(json_get(js, "methods"), "alpha"), "outside")) == JSON_OBJECT &&
              json_len(json_get(json_get(js, "model"), "confusion")) == 3 &&
              json_number(json_get(json_get(json_get(js, "statistics"), "smallest_holm_p"), "sic")) ==
                  eval_min_holm_p(&s, EM_SIC),
          "summary.json parses with methods (outside included), pairwise, friedman, model.confusion and the smallest "
          "reachable Holm p", "%s", err);
    json_free(js); free(jb); remove(jp);
    char od[] = "/tmp/salient_test_outputs_XXXXXX", op[600];
    wrote_n = 0;
    int orc = mkdtemp(od) ? report_write_outputs(&s, NULL, od, count_wrote, err, sizeof err) : -2;
    int present = 0;
    const char *outs[4] = {"summary.json", "curves.csv", "aic_sic.png", "report.html"};
    for (int i = 0; i < 4; i++) { snprintf(op, sizeof op, "%s/%s", od, outs[i]); present += access(op, R_OK) == 0; remove(op); }
    rmdir(od);
    CHECK(orc == 0 && wrote_n == 4 && present == 4, "report_write_outputs: the four files, each reported", "rc %d, %d reported, %d present: %s",
          orc, wrote_n, present, err);
    wrote_n = 0;
    CHECK(report_write_outputs(&s, NULL, "/nonexistent/run", count_wrote, err, sizeof err) == -1 && wrote_n == 0 &&
          strstr(err, "/nonexistent/run/summary.json"), "report_write_outputs into a missing folder: the first failure named", "'%s'", err);
    check_csv(&rows);
    check_outside_without_masks(&rows, &so);
    check_localize(g);
    eval_summary_free(&s);
    results_free(&rows);
    json_free(g);
    CHECK_DONE();
}
