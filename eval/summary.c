/* summary.c - per-method statistics, aggregate PIC curves, pairwise
   Wilcoxon/Holm and Friedman tests over the rows of an evaluation, and
   their summary.json / curves.csv (see summary.h). */
#include "eval/summary.h"
#include "io/csv.h"
#include "engine/engine.h"
#include "engine/rng.h"
#include "eval/stats.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const eval_metric_names[EM_COUNT] = {"sic", "aic", "insertion", "deletion", "pointing", "energy", "outside"};

int eval_metric_higher_is_better(EvalMetric m) { return m != EM_DELETION && m != EM_OUTSIDE; }

int eval_metric_needs_mask(EvalMetric m) { return m == EM_POINTING || m == EM_ENERGY; }

uint64_t eval_bootstrap_seed(uint64_t seed, const char *method, const char *metric) {
    uint64_t h = 1469598103934665603ull;
    for (const char *p = method; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    h = (h ^ '/') * 1099511628211ull;
    for (const char *p = metric; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return eng_rng_split(seed, h);
}

static double row_metric(const EvalRow *r, EvalMetric m) {
    switch (m) {
    case EM_SIC: return r->sic;
    case EM_AIC: return r->aic;
    case EM_INSERTION: return r->insertion;
    case EM_DELETION: return r->deletion;
    case EM_POINTING: return r->hit;
    case EM_ENERGY: return r->energy;
    case EM_OUTSIDE: return r->outside;
    case EM_COUNT: break;
    }
    return NAN;
}

int eval_method_index(const EvalSummary *s, const char *name) {
    for (int i = 0; i < s->n_methods; i++) if (!strcmp(s->m[i].name, name)) return i;
    return -1;
}

/* ---- distinct images (hash of names -> index) ---- */
typedef struct { const char **name; int n; int *slot; size_t n_slot; } ImageIndex;

static uint64_t str_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int image_index_build(ImageIndex *ix, const EvalRows *rows, int *row_image) {
    memset(ix, 0, sizeof *ix);
    size_t ns = 64;
    while (ns < (size_t)rows->n * 2 + 2) ns *= 2;
    ix->slot = malloc(sizeof(int) * ns);
    ix->name = malloc(sizeof(char *) * (rows->n + 1));
    if (!ix->slot || !ix->name) return -1;
    ix->n_slot = ns;
    for (size_t i = 0; i < ns; i++) ix->slot[i] = -1;
    for (int r = 0; r < rows->n; r++) {
        const char *nm = rows->v[r].image;
        size_t s = (size_t)str_hash(nm) & (ns - 1);
        while (ix->slot[s] >= 0 && strcmp(ix->name[ix->slot[s]], nm)) s = (s + 1) & (ns - 1);
        if (ix->slot[s] < 0) { ix->slot[s] = ix->n; ix->name[ix->n++] = nm; }
        row_image[r] = ix->slot[s];
    }
    return 0;
}

static void image_index_free(ImageIndex *ix) { free(ix->slot); free(ix->name); }

/* ---- method list ---- */
static int add_method(EvalSummary *s, const char *name) {
    if (eval_method_index(s, name) >= 0) return 0;
    EvalMethodSummary *q = realloc(s->m, sizeof *q * (s->n_methods + 1));
    if (!q) return -1;
    s->m = q;
    EvalMethodSummary *m = &s->m[s->n_methods];
    memset(m, 0, sizeof *m);
    if (!(m->name = strdup(name))) return -1;
    s->n_methods++;
    return 0;
}

/* ---- the pieces ---- */
static int skip_code(const char *name) {
    for (int k = 1; k < 4; k++) if (pic_skip_name((PicSkip)k) && !strcmp(pic_skip_name((PicSkip)k), name)) return k;
    return -1;
}

/* Parses "sic:min_pred;aic:blurred_pred" into codes per kind. */
static void parse_pic_skips(const char *skipped, int code[2]) {
    code[0] = code[1] = 0;
    const char *p = skipped;
    while (*p) {
        const char *e = strchr(p, ';');
        size_t L = e ? (size_t)(e - p) : strlen(p);
        char tok[64];
        if (L < sizeof tok) {
            memcpy(tok, p, L);
            tok[L] = 0;
            int kind = !strncmp(tok, "sic:", 4) ? 0 : !strncmp(tok, "aic:", 4) ? 1 : -1;
            if (kind >= 0) { int c = skip_code(tok + 4); if (c > 0) code[kind] = c; }
        }
        if (!e) break;
        p = e + 1;
    }
}

static void method_stats(EvalSummary *s, const double *val, int n_img, const EvalSummaryOpts *o, double *buf) {
    for (int j = 0; j < s->n_methods; j++)
        for (int m = 0; m < EM_COUNT; m++) {
            EvalStat *st = &s->m[j].stat[m];
            int n = 0;
            for (int i = 0; i < n_img; i++) {
                double v = val[((size_t)m * n_img + i) * s->n_methods + j];
                if (isfinite(v)) buf[n++] = v;
            }
            st->n = n;
            st->mean = st->median = st->ci[0] = st->ci[1] = NAN;
            if (!n) continue;
            st->mean = stats_mean(buf, n);
            st->median = stats_median(buf, n);
            stats_bootstrap_mean_ci(buf, n, o->resamples > 0 ? o->resamples : EVAL_BOOTSTRAP, 0.95,
                                    eval_bootstrap_seed(o->seed, s->m[j].name, eval_metric_names[m]), st->ci);
        }
}

static int aggregate_curves(EvalSummary *s, const EvalRows *rows, const int *row_method, double min_pred) {
    int rc = 0;
    double *curves = malloc(sizeof(double) * PIC_N_CURVE * (size_t)(rows->n + 1));
    PicCurve *pc = malloc(sizeof *pc);
    if (!curves || !pc) { free(curves); free(pc); return eng_fail("summary: out of memory for curves"); }
    for (int j = 0; j < s->n_methods && !rc; j++)
        for (int kind = 0; kind < 2; kind++) {
            int n = 0;
            for (int r = 0; r < rows->n; r++) {
                const EvalRow *row = &rows->v[r];
                if (row_method[r] != j || !row->has_raw) continue;
                if (!isfinite(kind == EVAL_SIC ? row->sic : row->aic)) continue;
                pic_raw_to_curve(pc, kind == EVAL_SIC ? &row->sic_raw : &row->aic_raw);
                pic_curve_compute(pc, min_pred);
                if (pc->skip != PIC_OK) continue;
                memcpy(curves + (size_t)n * PIC_N_CURVE, pc->curve, sizeof(double) * PIC_N_CURVE);
                n++;
            }
            s->m[j].n_curves[kind] = n;
            for (int st = 0; st < 2; st++) {
                double *out = malloc(sizeof(double) * PIC_N_CURVE);
                if (!out) { rc = -1; eng_set_error("summary: out of memory"); break; }
                s->m[j].curve[kind][st] = out;
                s->m[j].curve_auc[kind][st] = pic_aggregate(curves, n, st == EVAL_MEDIAN, out);
            }
        }
    free(curves);
    free(pc);
    return rc;
}

static void pairwise(EvalSummary *s, const double *val, int n_img, double *x, double *y) {
    int K = s->n_methods, p = 0;
    for (int m = 0; m < EM_COUNT; m++) {
        if (eval_metric_needs_mask((EvalMetric)m) && !s->has_masks) continue;
        int first = p;
        for (int a = 0; a < K; a++)
            for (int b = a + 1; b < K; b++) {
                EvalPair *pr = &s->pairs[p++];
                memset(pr, 0, sizeof *pr);
                pr->a = a; pr->b = b; pr->metric = (EvalMetric)m;
                pr->statistic = pr->p = pr->p_holm = pr->mean_diff = NAN;
                int n = 0;
                for (int i = 0; i < n_img; i++) {
                    double va = val[((size_t)m * n_img + i) * K + a], vb = val[((size_t)m * n_img + i) * K + b];
                    if (isfinite(va) && isfinite(vb)) { x[n] = va; y[n] = vb; n++; }
                }
                pr->n = n;
                if (!n) { snprintf(pr->note, sizeof pr->note, "no image where both have a value"); continue; }
                double d = 0;
                for (int i = 0; i < n; i++) d += x[i] - y[i];
                pr->mean_diff = d / n;
                StatsTest t;
                if (stats_wilcoxon(x, y, n, &t)) { snprintf(pr->note, sizeof pr->note, "%s", eng_last_error()); continue; }
                pr->statistic = t.statistic;
                pr->p = t.p;
                snprintf(pr->note, sizeof pr->note, "%s", t.method ? t.method : "");
            }
        /* Holm over the pairs of this metric that have a p-value */
        int cnt = 0;
        for (int q = first; q < p; q++) if (isfinite(s->pairs[q].p)) cnt++;
        if (!cnt) continue;
        double *pv = malloc(sizeof(double) * cnt), *adj = malloc(sizeof(double) * cnt);
        if (pv && adj) {
            int c = 0;
            for (int q = first; q < p; q++) if (isfinite(s->pairs[q].p)) pv[c++] = s->pairs[q].p;
            stats_holm(adj, pv, cnt);
            c = 0;
            for (int q = first; q < p; q++) if (isfinite(s->pairs[q].p)) s->pairs[q].p_holm = adj[c++];
        }
        free(pv); free(adj);
    }
    s->n_pairs = p;
}

static void friedman(EvalSummary *s, const double *val, int n_img, double *table) {
    int K = s->n_methods;
    for (int m = 0; m < EM_COUNT; m++) {
        EvalFriedman *f = &s->friedman[m];
        f->statistic = f->p = NAN;
        f->mean_ranks = malloc(sizeof(double) * (K ? K : 1));
        if (f->mean_ranks) for (int j = 0; j < K; j++) f->mean_ranks[j] = NAN;
        if (eval_metric_needs_mask((EvalMetric)m) && !s->has_masks) { snprintf(f->note, sizeof f->note, "no masks"); continue; }
        int n = 0;
        for (int i = 0; i < n_img; i++) {
            int all = 1;
            for (int j = 0; j < K; j++) all &= isfinite(val[((size_t)m * n_img + i) * K + j]) != 0;
            if (!all) continue;
            memcpy(table + (size_t)n * K, val + ((size_t)m * n_img + i) * K, sizeof(double) * K);
            n++;
        }
        f->n = n;
        if (K < 3) { snprintf(f->note, sizeof f->note, "needs at least 3 methods, found %d", K); continue; }
        if (n < 1) { snprintf(f->note, sizeof f->note, "no image where every method has a value"); continue; }
        StatsTest t;
        int rc = stats_friedman(table, n, K, &t, f->mean_ranks);
        if (rc) { snprintf(f->note, sizeof f->note, "%s", eng_last_error()); continue; }
        f->ok = 1;
        f->statistic = t.statistic;
        f->p = t.p;
        snprintf(f->note, sizeof f->note, "chi-square with %d degrees of freedom; rank 1 = smallest value", K - 1);
    }
}

static void accuracy_and_skips(EvalSummary *s, const EvalRows *rows, const int *row_image, const int *row_method,
                               int n_img) {
    int *seen_pred = calloc(n_img, sizeof(int)), *seen_unread = calloc(n_img, sizeof(int));
    int (*skip)[2] = calloc(n_img, sizeof *skip);
    int Kc = s->n_classes;
    s->confusion = calloc((size_t)Kc * Kc + 1, sizeof(long));
    if (!seen_pred || !seen_unread || !skip || !s->confusion) { free(seen_pred); free(seen_unread); free(skip); return; }
    long correct = 0;
    int n_ex = 0;
    for (int r = 0; r < rows->n; r++) {
        const EvalRow *row = &rows->v[r];
        int i = row_image[r];
        if (row->predicted >= 0 && !seen_pred[i]) {
            seen_pred[i] = 1;
            s->n_predicted++;
            if (row->label >= 0) {
                s->n_labelled++;
                correct += row->label == row->predicted;
                if (row->label < Kc && row->predicted < Kc) s->confusion[(size_t)row->label * Kc + row->predicted]++;
            }
        }
        if (!strncmp(row->skipped, "unreadable", 10) && !seen_unread[i]) {
            seen_unread[i] = 1;
            s->n_unreadable++;
            if (n_ex < 4) s->unreadable_example[n_ex++] = strdup(row->skipped);
        }
        if (!strncmp(row->skipped, "failed", 6)) s->m[row_method[r]].n_failed++;
        int code[2];
        parse_pic_skips(row->skipped, code);
        for (int k = 0; k < 2; k++) if (code[k] && !skip[i][k]) skip[i][k] = code[k];
    }
    for (int i = 0; i < n_img; i++)
        for (int k = 0; k < 2; k++) if (skip[i][k]) s->skip_counts[k][skip[i][k]]++;
    s->accuracy = s->n_labelled ? (double)correct / s->n_labelled : NAN;
    free(seen_pred); free(seen_unread); free(skip);
}

int eval_summarize(EvalSummary *s, const EvalRows *rows, const char *const *methods, int n_methods,
                   const EvalSummaryOpts *o) {
    memset(s, 0, sizeof *s);
    s->n_classes = o->n_classes > 0 ? o->n_classes : 1;
    s->min_pred = o->min_pred;
    s->seed = o->seed;
    s->resamples = o->resamples > 0 ? o->resamples : EVAL_BOOTSTRAP;
    s->accuracy = NAN;
    for (int j = 0; j < n_methods; j++) if (add_method(s, methods[j])) goto oom;
    for (int r = 0; r < rows->n; r++) if (add_method(s, rows->v[r].method)) goto oom;
    int K = s->n_methods;
    int *row_image = malloc(sizeof(int) * (rows->n + 1)), *row_method = malloc(sizeof(int) * (rows->n + 1));
    ImageIndex ix = {0};
    if (!row_image || !row_method || image_index_build(&ix, rows, row_image)) {
        free(row_image); free(row_method);
        image_index_free(&ix);
        goto oom;
    }
    int n_img = s->n_images = ix.n;
    for (int r = 0; r < rows->n; r++) row_method[r] = eval_method_index(s, rows->v[r].method);
    /* val[metric][image][method], NaN where absent */
    size_t nv = (size_t)EM_COUNT * (n_img ? n_img : 1) * (K ? K : 1);
    double *val = malloc(sizeof(double) * nv);
    double *buf = malloc(sizeof(double) * ((size_t)(n_img + 1) * (K + 2) + 2 * (size_t)K));
    double *x = malloc(sizeof(double) * (n_img + 1)), *y = malloc(sizeof(double) * (n_img + 1));
    s->pairs = malloc(sizeof(EvalPair) * ((size_t)EM_COUNT * K * (K > 1 ? K - 1 : 1) / 2 + 1));
    int rc = -1;
    if (!val || !buf || !x || !y || !s->pairs) { eng_set_error("summary: out of memory"); goto done; }
    for (size_t i = 0; i < nv; i++) val[i] = NAN;
    for (int j = 0; j < K; j++) { buf[2 * j] = 0; buf[2 * j + 1] = 0; } /* time sum, count */
    for (int r = 0; r < rows->n; r++) {
        const EvalRow *row = &rows->v[r];
        int j = row_method[r], i = row_image[r];
        for (int m = 0; m < EM_COUNT; m++) val[((size_t)m * n_img + i) * K + j] = row_metric(row, (EvalMetric)m);
        if (isfinite(row->hit) || isfinite(row->energy)) s->has_masks = 1;
        s->m[j].n_rows++;
        if (isfinite(row->seconds)) { buf[2 * j] += row->seconds; buf[2 * j + 1] += 1; }
    }
    for (int j = 0; j < K; j++) s->m[j].seconds_mean = buf[2 * j + 1] > 0 ? buf[2 * j] / buf[2 * j + 1] : NAN;
    method_stats(s, val, n_img, o, buf);
    if (aggregate_curves(s, rows, row_method, o->min_pred)) goto done;
    pairwise(s, val, n_img, x, y);
    friedman(s, val, n_img, buf);
    accuracy_and_skips(s, rows, row_image, row_method, n_img);
    rc = 0;
done:
    free(val); free(buf); free(x); free(y);
    free(row_image); free(row_method);
    image_index_free(&ix);
    if (rc) eval_summary_free(s);
    return rc;
oom:
    eng_set_error("summary: out of memory");
    eval_summary_free(s);
    return -1;
}

void eval_summary_free(EvalSummary *s) {
    for (int j = 0; j < s->n_methods; j++) {
        free(s->m[j].name);
        for (int k = 0; k < 2; k++) for (int t = 0; t < 2; t++) free(s->m[j].curve[k][t]);
    }
    free(s->m);
    free(s->pairs);
    for (int m = 0; m < EM_COUNT; m++) free(s->friedman[m].mean_ranks);
    free(s->confusion);
    for (int i = 0; i < 4; i++) free(s->unreadable_example[i]);
    memset(s, 0, sizeof *s);
}

/* ---------------- output ---------------- */

void eval_json_copy(JsonWriter *w, const JsonValue *v) {
    switch (json_type(v)) {
    case JSON_NULL: jw_null(w); break;
    case JSON_BOOL: jw_bool(w, json_bool(v)); break;
    case JSON_NUMBER: jw_number(w, json_number(v)); break;
    case JSON_STRING: jw_string(w, json_string(v)); break;
    case JSON_ARRAY:
        jw_array_begin(w);
        for (size_t i = 0; i < json_len(v); i++) eval_json_copy(w, json_at(v, i));
        jw_array_end(w);
        break;
    case JSON_OBJECT:
        jw_object_begin(w);
        for (size_t i = 0; i < json_len(v); i++) { jw_key(w, json_key_at(v, i)); eval_json_copy(w, json_at(v, i)); }
        jw_object_end(w);
        break;
    }
}

static void write_stat(JsonWriter *w, const EvalStat *st) {
    jw_kv_number(w, "mean", st->mean);
    jw_kv_number(w, "median", st->median);
    jw_key(w, "ci95"); jw_array_begin(w); jw_number(w, st->ci[0]); jw_number(w, st->ci[1]); jw_array_end(w);
    jw_kv_int(w, "n", st->n);
}

static void write_methods(JsonWriter *w, const EvalSummary *s) {
    jw_key(w, "methods");
    jw_object_begin(w);
    for (int j = 0; j < s->n_methods; j++) {
        const EvalMethodSummary *m = &s->m[j];
        jw_key(w, m->name);
        jw_object_begin(w);
        for (int k = 0; k < EM_COUNT; k++) {
            if (eval_metric_needs_mask((EvalMetric)k) && !s->has_masks) continue;
            jw_key(w, eval_metric_names[k]);
            jw_object_begin(w);
            write_stat(w, &m->stat[k]);
            if (k == EM_SIC || k == EM_AIC) {
                jw_kv_number(w, "curve_mean_auc", m->curve_auc[k][EVAL_MEAN]);
                jw_kv_number(w, "curve_median_auc", m->curve_auc[k][EVAL_MEDIAN]);
                jw_kv_int(w, "curve_n", m->n_curves[k]);
            }
            jw_object_end(w);
        }
        jw_kv_int(w, "rows", m->n_rows);
        jw_kv_int(w, "failed", m->n_failed);
        jw_kv_number(w, "seconds_mean", m->seconds_mean);
        jw_object_end(w);
    }
    jw_object_end(w);
}

static void write_pairs(JsonWriter *w, const EvalSummary *s) {
    jw_key(w, "pairwise");
    jw_array_begin(w);
    for (int p = 0; p < s->n_pairs; p++) {
        const EvalPair *pr = &s->pairs[p];
        jw_object_begin(w);
        jw_kv_string(w, "a", s->m[pr->a].name);
        jw_kv_string(w, "b", s->m[pr->b].name);
        jw_kv_string(w, "metric", eval_metric_names[pr->metric]);
        jw_kv_int(w, "n", pr->n);
        jw_kv_number(w, "wilcoxon_statistic", pr->statistic);
        jw_kv_number(w, "p", pr->p);
        jw_kv_number(w, "p_holm", pr->p_holm);
        jw_kv_number(w, "mean_diff", pr->mean_diff);
        jw_kv_string(w, "note", pr->note);
        jw_object_end(w);
    }
    jw_array_end(w);
}

static void write_friedman(JsonWriter *w, const EvalSummary *s) {
    jw_key(w, "friedman");
    jw_object_begin(w);
    for (int m = 0; m < EM_COUNT; m++) {
        if (eval_metric_needs_mask((EvalMetric)m) && !s->has_masks) continue;
        const EvalFriedman *f = &s->friedman[m];
        jw_key(w, eval_metric_names[m]);
        jw_object_begin(w);
        jw_kv_number(w, "statistic", f->statistic);
        jw_kv_number(w, "p", f->p);
        jw_kv_int(w, "n", f->n);
        jw_key(w, "mean_ranks");
        jw_object_begin(w);
        for (int j = 0; j < s->n_methods; j++) jw_kv_number(w, s->m[j].name, f->mean_ranks ? f->mean_ranks[j] : NAN);
        jw_object_end(w);
        jw_kv_string(w, "note", f->note);
        jw_object_end(w);
    }
    jw_object_end(w);
}

/* The smallest Holm-adjusted p each metric's pairwise tests could reach
   (eval_min_holm_p): at or above 0.05 no test can separate two methods. */
static void write_holm_floor(JsonWriter *w, const EvalSummary *s) {
    jw_key(w, "smallest_holm_p");
    jw_object_begin(w);
    for (int m = 0; m < EM_COUNT; m++) {
        if (eval_metric_needs_mask((EvalMetric)m) && !s->has_masks) continue;
        jw_kv_number(w, eval_metric_names[m], eval_min_holm_p(s, (EvalMetric)m));
    }
    jw_object_end(w);
}

static void write_skips(JsonWriter *w, const EvalSummary *s) {
    jw_key(w, "skipped");
    jw_object_begin(w);
    jw_kv_int(w, "unreadable", s->n_unreadable);
    jw_key(w, "unreadable_examples");
    jw_array_begin(w);
    for (int i = 0; i < 4 && s->unreadable_example[i]; i++) jw_string(w, s->unreadable_example[i]);
    jw_array_end(w);
    for (int k = 0; k < 2; k++) {
        jw_key(w, k ? "aic" : "sic");
        jw_object_begin(w);
        for (int c = 1; c < 4; c++) jw_kv_int(w, pic_skip_name((PicSkip)c), s->skip_counts[k][c]);
        jw_object_end(w);
    }
    jw_key(w, "failed");
    jw_object_begin(w);
    for (int j = 0; j < s->n_methods; j++) jw_kv_int(w, s->m[j].name, s->m[j].n_failed);
    jw_object_end(w);
    jw_kv_string(w, "note", "sic/aic: images skipped by each PIC rule (min_pred, blurred_info, blurred_pred); "
                            "failed: rows whose method or a metric failed");
    jw_object_end(w);
}

static void write_model(JsonWriter *w, const EvalSummary *s, const JsonValue *model) {
    jw_key(w, "model");
    jw_object_begin(w);
    for (size_t i = 0; i < json_len(model); i++) {
        const char *k = json_key_at(model, i);
        if (!strcmp(k, "accuracy") || !strcmp(k, "confusion") || !strcmp(k, "n_images_scored")) continue;
        jw_key(w, k);
        eval_json_copy(w, json_at(model, i));
    }
    jw_kv_number(w, "accuracy", s->accuracy);
    jw_kv_int(w, "n_images_scored", s->n_labelled);
    jw_key(w, "confusion");
    jw_array_begin(w);
    for (int a = 0; a < s->n_classes; a++) {
        jw_array_begin(w);
        for (int b = 0; b < s->n_classes; b++) jw_int(w, s->confusion ? s->confusion[(size_t)a * s->n_classes + b] : 0);
        jw_array_end(w);
    }
    jw_array_end(w);
    jw_kv_string(w, "confusion_layout", "rows = true class, columns = predicted class");
    jw_object_end(w);
}

int eval_summary_write_json(const EvalSummary *s, const JsonValue *run, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return eng_fail("cannot write %s", path);
    JsonWriter w;
    jw_init(&w, f, 1);
    jw_object_begin(&w);
    static const char *const ours[] = {"model", "methods", "pairwise", "friedman", "skipped", "n_images", "statistics"};
    for (size_t i = 0; i < json_len(run); i++) {
        const char *k = json_key_at(run, i);
        int skip = 0;
        for (size_t q = 0; q < sizeof ours / sizeof ours[0]; q++) skip |= !strcmp(k, ours[q]);
        if (skip) continue;
        jw_key(&w, k);
        eval_json_copy(&w, json_at(run, i));
    }
    write_model(&w, s, json_get(run, "model"));
    jw_kv_int(&w, "n_images", s->n_images);
    write_skips(&w, s);
    write_methods(&w, s);
    write_pairs(&w, s);
    write_friedman(&w, s);
    jw_key(&w, "statistics");
    jw_object_begin(&w);
    jw_kv_string(&w, "ci95", "percentile bootstrap of the mean, seeded (eval/summary.h eval_bootstrap_seed)");
    jw_kv_int(&w, "bootstrap_resamples", s->resamples);
    jw_kv_string(&w, "pairwise", "scipy.stats.wilcoxon defaults (two-sided, zero_method wilcox), Holm within each metric");
    jw_kv_string(&w, "friedman", "scipy.stats.friedmanchisquare over images where every method has a value");
    write_holm_floor(&w, s);
    jw_kv_string(&w, "smallest_holm_p_rule",
                 "per metric, the smallest Holm-adjusted p its pairwise tests could reach: the pairs with a p-value "
                 "times 2/2^n, n the most images of any pair, capped at 1 (an exact two-sided Wilcoxon test on n "
                 "pairs cannot go below 2/2^n); at or above 0.05 the images are too few for any test; null when "
                 "nothing was tested");
    jw_kv_string(&w, "curves", "point-wise mean and median of per-image 1001-point PIC curves, trapezoid AUC");
    jw_kv_string(&w, "outside", "share of the map's positive mass outside the head or body, the foreground found by a "
                                "smoothed intensity threshold (eval/localize.h); lower is better, as for deletion");
    jw_object_end(&w);
    jw_object_end(&w);
    int bad = jw_error(&w);
    if (fclose(f) || bad) return eng_fail("cannot write %s", path);
    return 0;
}

int eval_summary_write_curves(const EvalSummary *s, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return eng_fail("cannot write %s", path);
    char b[32];
    fputs("method,kind,stat,n,auc", f);
    for (int i = 0; i < PIC_N_CURVE; i++) fprintf(f, ",%s", jw_format_number(pic_curve_x(i), b));
    fputc('\n', f);
    for (int j = 0; j < s->n_methods; j++)
        for (int k = 0; k < 2; k++)
            for (int st = 0; st < 2; st++) {
                const EvalMethodSummary *m = &s->m[j];
                csv_write_field(f, m->name);
                fprintf(f, ",%s,%s,%d,", k ? "aic" : "sic", st ? "median" : "mean", m->n_curves[k]);
                if (isfinite(m->curve_auc[k][st])) fputs(jw_format_number(m->curve_auc[k][st], b), f);
                for (int i = 0; i < PIC_N_CURVE; i++) {
                    fputc(',', f);
                    double v = m->curve[k][st] ? m->curve[k][st][i] : NAN;
                    if (isfinite(v)) fputs(jw_format_number(v, b), f);
                }
                fputc('\n', f);
            }
    if (fclose(f)) return eng_fail("cannot write %s", path);
    return 0;
}

/* ---------------- what the numbers allow a reader to conclude ---------------- */

const EvalPair *eval_pair(const EvalSummary *s, EvalMetric m, int a, int b) {
    for (int p = 0; p < s->n_pairs; p++) {
        const EvalPair *pr = &s->pairs[p];
        if (pr->metric == m && ((pr->a == a && pr->b == b) || (pr->a == b && pr->b == a))) return pr;
    }
    return NULL;
}

double eval_min_holm_p(const EvalSummary *s, EvalMetric m) {
    int tested = 0, n = 0;
    for (int p = 0; p < s->n_pairs; p++) {
        const EvalPair *pr = &s->pairs[p];
        if (pr->metric != m || !isfinite(pr->p)) continue;
        tested++;
        if (pr->n > n) n = pr->n;
    }
    if (!tested || n < 1) return NAN;
    double p = tested * ldexp(2.0, -n);
    return p < 1 ? p : 1.0;
}

static int mean_better(EvalMetric m, double a, double b) {
    return eval_metric_higher_is_better(m) ? a > b : a < b;
}

int eval_vs_baseline(const EvalSummary *s, EvalMetric m, int j, int r) {
    double a = s->m[j].stat[m].mean, b = s->m[r].stat[m].mean;
    if (!isfinite(a) || !isfinite(b)) return -2;
    if (!mean_better(m, a, b)) return -1;
    const EvalPair *pr = eval_pair(s, m, j, r);
    return pr && isfinite(pr->p_holm) && pr->p_holm < 0.05 ? 1 : 0;
}

/* Appends to buf[n] at *L. */
static void add(char *buf, size_t n, size_t *L, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void add(char *buf, size_t n, size_t *L, const char *fmt, ...) {
    if (*L >= n) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *L, n - *L, fmt, ap);
    va_end(ap);
    if (k > 0) *L += (size_t)k < n - *L ? (size_t)k : n - *L - 1;
}

/* The rank (1 = best) of method j's mean on m among the methods with a mean. */
static int mean_rank(const EvalSummary *s, EvalMetric m, int j, int *of) {
    int rank = 1, count = 0;
    for (int k = 0; k < s->n_methods; k++) {
        double v = s->m[k].stat[m].mean;
        if (!isfinite(v)) continue;
        count++;
        if (k != j && mean_better(m, v, s->m[j].stat[m].mean)) rank++;
    }
    *of = count;
    return rank;
}

static void findings_metric(const EvalSummary *s, EvalMetric m, int r, char *buf, size_t n, size_t *L) {
    int best = -1;
    for (int j = 0; j < s->n_methods; j++)
        if (isfinite(s->m[j].stat[m].mean) && (best < 0 || mean_better(m, s->m[j].stat[m].mean, s->m[best].stat[m].mean)))
            best = j;
    if (best < 0) return;
    const EvalStat *b = &s->m[best].stat[m];
    add(buf, n, L, " %s: the best mean is %s's, %.3f", eval_metric_names[m], s->m[best].name, b->mean);
    if (b->n >= 2) add(buf, n, L, " (95%% CI %.3f to %.3f, %d images)", b->ci[0], b->ci[1], b->n);
    else add(buf, n, L, " (one image: no interval)");
    if (r >= 0 && isfinite(s->m[r].stat[m].mean)) {
        int of, rank = mean_rank(s, m, r, &of), sig = 0;
        add(buf, n, L, "; random ranks %d of %d", rank, of);
        for (int j = 0; j < s->n_methods; j++) sig += j != r && eval_vs_baseline(s, m, j, r) == 1;
        double floor_p = eval_min_holm_p(s, m);
        if (isnan(floor_p) || floor_p >= 0.05) add(buf, n, L, ", and with so few images no test can separate the methods");
        else if (!sig) add(buf, n, L, ", and no method beats it significantly");
        else {
            add(buf, n, L, ", and %d method%s beat%s it significantly (", sig, sig == 1 ? "" : "s", sig == 1 ? "s" : "");
            int k = 0;
            for (int j = 0; j < s->n_methods; j++)
                if (j != r && eval_vs_baseline(s, m, j, r) == 1) add(buf, n, L, "%s%s", k++ ? ", " : "", s->m[j].name);
            add(buf, n, L, ")");
        }
    }
    add(buf, n, L, ".");
}

/* How many images PIC's skip rules left on curve kind k (0 SIC, 1 AIC), and
   why the others were skipped; nothing when no image was skipped. */
static void findings_pic_skips(const EvalSummary *s, int k, char *buf, size_t n, size_t *L) {
    const int *c = s->skip_counts[k];
    int skipped = c[PIC_SKIP_MIN_PRED] + c[PIC_SKIP_BLUR_INFO] + c[PIC_SKIP_BLUR_PRED];
    if (!skipped) return;
    int left = s->n_predicted - skipped;
    add(buf, n, L, " PIC's rules left %d of the %d images on %s (skipped:", left > 0 ? left : 0, s->n_predicted,
        k ? "AIC" : "SIC");
    const char *sep = "";
    if (c[PIC_SKIP_MIN_PRED]) {
        add(buf, n, L, " %d with the prediction below min_pred %g", c[PIC_SKIP_MIN_PRED], s->min_pred);
        sep = ",";
    }
    if (c[PIC_SKIP_BLUR_INFO]) {
        add(buf, n, L, "%s %d whose fully blurred image holds no less information than the original", sep,
            c[PIC_SKIP_BLUR_INFO]);
        sep = ",";
    }
    if (c[PIC_SKIP_BLUR_PRED])
        add(buf, n, L, "%s %d whose fully blurred image keeps no less of the prediction", sep, c[PIC_SKIP_BLUR_PRED]);
    add(buf, n, L, ")%s.", left > 0 ? "" : ", so no method has a score there");
}

void eval_summary_findings(const EvalSummary *s, char *buf, size_t n) {
    size_t L = 0;
    if (!n) return;
    buf[0] = 0;
    int r = eval_method_index(s, "random");
    add(buf, n, &L, "%d image%s, %d method%s.", s->n_images, s->n_images == 1 ? "" : "s", s->n_methods,
        s->n_methods == 1 ? "" : "s");
    if (isfinite(s->accuracy)) add(buf, n, &L, " The model's accuracy on them: %.3f.", s->accuracy);
    for (int k = 0; k < 2; k++) findings_pic_skips(s, k, buf, n, &L);
    const EvalMetric ms[] = {EM_SIC, EM_AIC, EM_INSERTION, EM_DELETION, EM_POINTING};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) findings_metric(s, ms[i], r, buf, n, &L);
}

/* Drops from rows every row whose image is not one of images[n]. 0 or -1 (out of memory). */
static int keep_images(EvalRows *rows, const char *const *images, int n) {
    EvalRows kept;
    results_init(&kept);
    for (int i = 0; i < rows->n; i++) {
        int in = 0;
        for (int k = 0; k < n && !in; k++) in = !strcmp(rows->v[i].image, images[k]);
        if (in && results_add(&kept, &rows->v[i])) { results_free(&kept); return -1; }
    }
    kept.dropped_partial = rows->dropped_partial;
    kept.legacy_files = rows->legacy_files;
    results_free(rows);
    *rows = kept;
    return 0;
}

int eval_summarize_outdir(EvalSummary *s, const char *outdir, const JsonValue *run, const char *const *images,
                          int n_images, int *dropped, char *err, size_t errlen) {
    char rp[2300], cp[2300];
    snprintf(rp, sizeof rp, "%s/results.csv", outdir);
    snprintf(cp, sizeof cp, "%s/curves_images.csv", outdir);
    EvalRows rows;
    results_init(&rows);
    *dropped = 0;
    if (results_load(&rows, rp, cp, err, errlen)) { results_free(&rows); return -1; }
    *dropped = rows.dropped_partial;
    if (images && keep_images(&rows, images, n_images)) {
        results_free(&rows);
        return err_fail(err, errlen, "summary: out of memory");
    }
    const JsonValue *ml = json_get(run, "methods");
    int nm = (int)json_len(ml);
    const char **names = calloc(nm + 1, sizeof *names);
    for (int i = 0; names && i < nm; i++) names[i] = json_string(json_at(ml, i)) ? json_string(json_at(ml, i)) : "?";
    EvalSummaryOpts so = {
        .min_pred = json_number(json_get(run, "min_pred")),
        .seed = (uint64_t)json_number(json_get(run, "seed")),
        .resamples = EVAL_BOOTSTRAP,
        .n_classes = (int)json_number(json_get(json_get(run, "model"), "classes")),
    };
    int rc = eval_summarize(s, &rows, names, names ? nm : 0, &so);
    free(names);
    results_free(&rows);
    return rc ? err_fail(err, errlen, "summary: %s", eng_last_error()) : 0;
}
