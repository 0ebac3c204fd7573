/* results.c - evaluation rows and their CSV files (see results.h). */
#include "eval/results.h"
#include "io/csv.h"
#include "io/file.h"
#include "io/json.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RESULTS_MAX_FILE ((size_t)4 << 30) /* 4 GiB of CSV */

/* ---------------- rows ---------------- */

EvalRow eval_row_empty(void) {
    EvalRow r;
    memset(&r, 0, sizeof r);
    r.label = r.predicted = -1;
    r.confidence = r.sic = r.aic = r.insertion = r.deletion = r.hit = r.energy = r.outside = r.seconds = NAN;
    r.skipped = "";
    return r;
}

void results_init(EvalRows *rows) { memset(rows, 0, sizeof *rows); }

static void row_free(EvalRow *r) { free(r->image); free(r->method); free(r->skipped); }

void results_free(EvalRows *rows) {
    for (int i = 0; i < rows->n; i++) row_free(&rows->v[i]);
    free(rows->v);
    free(rows->slot);
    memset(rows, 0, sizeof *rows);
}

/* FNV-1a over "image\x1fmethod". */
static uint64_t key_hash(const char *image, const char *method) {
    uint64_t h = 1469598103934665603ull;
    for (const char *p = image; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    h = (h ^ 0x1f) * 1099511628211ull;
    for (const char *p = method; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h;
}

static int slot_lookup(const EvalRows *rows, const char *image, const char *method, size_t *slot_out) {
    if (!rows->n_slot) return -1;
    size_t mask = rows->n_slot - 1, s = (size_t)key_hash(image, method) & mask;
    for (;;) {
        int i = rows->slot[s];
        if (i < 0) { if (slot_out) *slot_out = s; return -1; }
        if (!strcmp(rows->v[i].image, image) && !strcmp(rows->v[i].method, method)) {
            if (slot_out) *slot_out = s;
            return i;
        }
        s = (s + 1) & mask;
    }
}

static int rehash(EvalRows *rows, size_t n_slot) {
    int *slot = malloc(sizeof(int) * n_slot);
    if (!slot) return -1;
    for (size_t i = 0; i < n_slot; i++) slot[i] = -1;
    free(rows->slot);
    rows->slot = slot;
    rows->n_slot = n_slot;
    for (int i = 0; i < rows->n; i++) {
        size_t s = (size_t)key_hash(rows->v[i].image, rows->v[i].method) & (n_slot - 1);
        while (slot[s] >= 0) s = (s + 1) & (n_slot - 1);
        slot[s] = i;
    }
    return 0;
}

int results_find(const EvalRows *rows, const char *image, const char *method) {
    return slot_lookup(rows, image, method, NULL);
}

int results_add(EvalRows *rows, const EvalRow *r) {
    const char *image = r->image ? r->image : "", *method = r->method ? r->method : "";
    int old = slot_lookup(rows, image, method, NULL);
    EvalRow c = *r;
    c.image = strdup(image);
    c.method = strdup(method);
    c.skipped = strdup(r->skipped ? r->skipped : "");
    if (!c.image || !c.method || !c.skipped) { row_free(&c); return -1; }
    if (old >= 0) {
        EvalRow *o = &rows->v[old];
        row_free(o);
        *o = c;
        rows->duplicates++;
        return 0;
    }
    if (rows->n == rows->cap) {
        int cap = rows->cap ? rows->cap * 2 : 256;
        EvalRow *q = realloc(rows->v, sizeof *q * cap);
        if (!q) { row_free(&c); return -1; }
        rows->v = q; rows->cap = cap;
    }
    rows->v[rows->n++] = c;
    if ((size_t)rows->n * 2 > rows->n_slot) {
        size_t ns = rows->n_slot ? rows->n_slot : 512;
        while ((size_t)rows->n * 2 > ns) ns *= 2;
        if (rehash(rows, ns)) { rows->n--; row_free(&c); return -1; }
    } else {
        size_t s;
        slot_lookup(rows, image, method, &s);
        rows->slot[s] = rows->n - 1;
    }
    return 0;
}

/* ---------------- parsing cells ---------------- */

static int cell_double(const char *s, double *out) {
    if (!*s) { *out = NAN; return 0; }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno == ERANGE && fabs(v) > 1) return -1;
    if (end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int cell_class(const char *s, int *out) {
    if (!*s) { *out = -1; return 0; }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 1000000) return -1;
    *out = (int)v;
    return 0;
}

static const char *const results_cols[RESULTS_N_COLS] = {
    "image", "label", "predicted", "confidence", "method", "sic_auc", "aic_auc",
    "insertion_auc", "deletion_auc", "pointing_hit", "mask_energy", "outside_mass", "skipped", "seconds"};
/* RESULTS_HEADER_V1: the same without outside_mass */
static const char *const results_cols_v1[RESULTS_V1_N_COLS] = {
    "image", "label", "predicted", "confidence", "method", "sic_auc", "aic_auc",
    "insertion_auc", "deletion_auc", "pointing_hit", "mask_energy", "skipped", "seconds"};

static int header_is(char **f, int nf, const char *const *want, int n_want) {
    if (nf != n_want) return 0;
    for (int i = 0; i < n_want; i++) if (strcmp(f[i], want[i])) return 0;
    return 1;
}

static int check_header(char **f, int nf, const char *const *want, int n_want, const char *name, char *err,
                        size_t errlen) {
    for (int i = 0; i < n_want; i++)
        if (i >= nf || strcmp(f[i], want[i])) {
            err_fail(err, errlen, "%s line 1: expected the header column %d '%s', found '%s'", name, i + 1, want[i],
                     i < nf ? f[i] : "(end of line)");
            return -1;
        }
    if (nf != n_want) {
        return err_fail(err, errlen, "%s line 1: expected %d header columns, found %d", name, n_want, nf);
    }
    return 0;
}

/* One record of a table file (the header already checked), its fields in
   the order of the current columns: 0, or -1 with err set. */
typedef int (*RecordFn)(EvalRows *rows, char **f, const char *path, int line, char *err, size_t errlen);

/* The columns of a table, and optionally those of its previous form (an
   older header whose columns are all among the current ones). */
typedef struct {
    const char *const *cols;
    int n_cols;
    const char *const *old_cols; /* NULL: no previous form */
    int n_old;
} TableForm;

/* map[i] = the file column of current column i, or -1 (absent: an empty cell). */
static void old_form_map(const TableForm *t, int *map) {
    for (int i = 0; i < t->n_cols; i++) {
        map[i] = -1;
        for (int j = 0; j < t->n_old; j++) if (!strcmp(t->cols[i], t->old_cols[j])) map[i] = j;
    }
}

/* A record of the previous form handed to fn in the current column order. */
static int old_record(EvalRows *rows, char **f, const int *map, int n_cols, RecordFn fn, const char *path, int line,
                      char *err, size_t errlen) {
    char *empty = "", **g = malloc(sizeof *g * n_cols);
    if (!g) return err_fail(err, errlen, "%s: out of memory", path);
    for (int i = 0; i < n_cols; i++) g[i] = map[i] >= 0 ? f[map[i]] : empty;
    int rc = fn(rows, g, path, line, err, errlen);
    free(g);
    return rc;
}

/* Reads path as a CSV table in the form t (or its previous form, counted in
   rows->legacy_files): checks the header, stops quietly at a partial last
   line (an interrupted run; counted in rows->dropped_partial), and hands
   every complete record to fn. */
static int load_table(EvalRows *rows, const char *path, const TableForm *t, RecordFn fn, char *err, size_t errlen) {
    uint8_t *data;
    size_t len;
    if (io_read_file(path, RESULTS_MAX_FILE, &data, &len, err, errlen)) return -1;
    CsvReader rd = {.buf = (const char *)data, .len = len, .line = 1, .name = path};
    char **f;
    int nf, complete, rc = 0, first = 1, n_cols = t->n_cols, old = 0;
    int *map = malloc(sizeof(int) * t->n_cols);
    if (!map) { free(data); return err_fail(err, errlen, "%s: out of memory", path); }
    for (;;) {
        int k = csv_next(&rd, &f, &nf, &complete, err, errlen);
        if (k < 0) { rc = -1; break; }
        if (k == 0) break;
        if (!complete) { rows->dropped_partial++; csv_fields_free(f, nf); break; }
        if (first) {
            first = 0;
            old = t->old_cols && header_is(f, nf, t->old_cols, t->n_old);
            if (old) { n_cols = t->n_old; old_form_map(t, map); rows->legacy_files++; }
            else rc = check_header(f, nf, t->cols, t->n_cols, path, err, errlen);
        } else if (nf != n_cols) {
            err_fail(err, errlen, "%s line %d: expected %d fields, found %d", path, rd.rec_line, n_cols, nf);
            rc = -1;
        } else if (old) {
            rc = old_record(rows, f, map, t->n_cols, fn, path, rd.rec_line, err, errlen);
        } else {
            rc = fn(rows, f, path, rd.rec_line, err, errlen);
        }
        csv_fields_free(f, nf);
        if (rc) break;
    }
    free(map);
    free(data);
    return rc;
}

static int results_record(EvalRows *rows, char **f, const char *path, int line, char *err, size_t errlen) {
    EvalRow r = eval_row_empty();
    r.image = f[0]; r.method = f[4]; r.skipped = f[12];
    double *num[] = {&r.confidence, &r.sic, &r.aic, &r.insertion, &r.deletion, &r.hit, &r.energy, &r.outside, &r.seconds};
    const int col[] = {3, 5, 6, 7, 8, 9, 10, 11, 13};
    int bad = -1;
    if (cell_class(f[1], &r.label)) bad = 1;
    else if (cell_class(f[2], &r.predicted)) bad = 2;
    for (int j = 0; j < 9 && bad < 0; j++) if (cell_double(f[col[j]], num[j])) bad = col[j];
    if (bad < 0 && (!*r.image || !*r.method)) bad = *r.image ? 4 : 0;
    if (bad >= 0) {
        err_fail(err, errlen, "%s line %d: column %s: expected %s, found '%.60s'", path, line, results_cols[bad],
                 bad == 1 || bad == 2 ? "a class index or nothing" : bad == 0 || bad == 4 ? "a name" : "a number or nothing",
                 f[bad]);
        return -1;
    }
    if (results_add(rows, &r)) return err_fail(err, errlen, "%s: out of memory", path);
    return 0;
}

static int load_results_file(EvalRows *rows, const char *path, char *err, size_t errlen) {
    const TableForm form = {results_cols, RESULTS_N_COLS, results_cols_v1, RESULTS_V1_N_COLS};
    return load_table(rows, path, &form, results_record, err, errlen);
}

static void curve_cols(char names[CURVES_IMAGES_N_COLS][24]) {
    const char *head[7] = {"image", "method", "kind", "info_orig", "info_blur", "pred_orig", "pred_blur"};
    for (int i = 0; i < 7; i++) snprintf(names[i], 24, "%s", head[i]);
    for (int t = 0; t < PIC_N_THRESHOLDS; t++) {
        snprintf(names[7 + t], 24, "info_%d", t);
        snprintf(names[7 + PIC_N_THRESHOLDS + t], 24, "pred_%d", t);
    }
}

static int curves_record(EvalRows *rows, char **f, const char *path, int line, char *err, size_t errlen) {
    int kind = !strcmp(f[2], "sic") ? 0 : !strcmp(f[2], "aic") ? 1 : -1;
    PicRaw raw;
    double *dst[4] = {&raw.info_orig, &raw.info_blur, &raw.pred_orig, &raw.pred_blur};
    int bad = kind < 0 ? 2 : -1;
    for (int j = 0; j < 4 && bad < 0; j++) if (cell_double(f[3 + j], dst[j]) || isnan(*dst[j])) bad = 3 + j;
    for (int t = 0; t < PIC_N_THRESHOLDS && bad < 0; t++) {
        if (cell_double(f[7 + t], &raw.info[t]) || isnan(raw.info[t])) bad = 7 + t;
        else if (cell_double(f[7 + PIC_N_THRESHOLDS + t], &raw.pred[t]) || isnan(raw.pred[t])) bad = 7 + PIC_N_THRESHOLDS + t;
    }
    if (bad >= 0) {
        char names[CURVES_IMAGES_N_COLS][24];
        curve_cols(names);
        err_fail(err, errlen, "%s line %d: column %s: expected %s, found '%.60s'", path, line, names[bad],
                 bad == 2 ? "sic or aic" : "a number", f[bad]);
        return -1;
    }
    int i = results_find(rows, f[0], f[1]);
    if (i >= 0) { /* curves of rows absent from results.csv are ignored */
        EvalRow *r = &rows->v[i];
        if (kind == 0) r->sic_raw = raw; else r->aic_raw = raw;
        r->has_raw |= kind == 0 ? 1 : 2;
    }
    return 0;
}

static int load_curves_file(EvalRows *rows, const char *path, char *err, size_t errlen) {
    char names[CURVES_IMAGES_N_COLS][24];
    const char *want[CURVES_IMAGES_N_COLS];
    curve_cols(names);
    for (int i = 0; i < CURVES_IMAGES_N_COLS; i++) want[i] = names[i];
    const TableForm form = {want, CURVES_IMAGES_N_COLS, NULL, 0};
    int rc = load_table(rows, path, &form, curves_record, err, errlen);
    /* has_raw: bit 1 sic, bit 2 aic; both needed */
    for (int i = 0; i < rows->n; i++) rows->v[i].has_raw = rows->v[i].has_raw == 3;
    return rc;
}

int results_load(EvalRows *rows, const char *results_csv, const char *curves_csv, char *err, size_t errlen) {
    /* rows from this file start without curves; keep has_raw of earlier files as 3 */
    int n0 = rows->n;
    for (int i = 0; i < n0; i++) if (rows->v[i].has_raw) rows->v[i].has_raw = 3;
    if (load_results_file(rows, results_csv, err, errlen)) return -1;
    if (!curves_csv) {
        for (int i = 0; i < rows->n; i++) rows->v[i].has_raw = rows->v[i].has_raw == 3;
        return 0;
    }
    FILE *f = fopen(curves_csv, "r");
    if (!f) {
        for (int i = 0; i < rows->n; i++) rows->v[i].has_raw = rows->v[i].has_raw == 3;
        return 0;
    }
    fclose(f);
    return load_curves_file(rows, curves_csv, err, errlen);
}

/* ---------------- writing ---------------- */

static void put_num(FILE *f, double v) {
    char b[32];
    if (isfinite(v)) fputs(jw_format_number(v, b), f);
}

static void put_class(FILE *f, int k) { if (k >= 0) fprintf(f, "%d", k); }

void results_write_header(FILE *f) { fputs(RESULTS_HEADER "\n", f); }

void results_write_row(FILE *f, const EvalRow *r) {
    csv_write_field(f, r->image); fputc(',', f);
    put_class(f, r->label); fputc(',', f);
    put_class(f, r->predicted); fputc(',', f);
    put_num(f, r->confidence); fputc(',', f);
    csv_write_field(f, r->method); fputc(',', f);
    const double v[7] = {r->sic, r->aic, r->insertion, r->deletion, r->hit, r->energy, r->outside};
    for (int i = 0; i < 7; i++) { put_num(f, v[i]); fputc(',', f); }
    csv_write_field(f, r->skipped ? r->skipped : ""); fputc(',', f);
    put_num(f, r->seconds);
    fputc('\n', f);
}

void curves_images_write_header(FILE *f) {
    char names[CURVES_IMAGES_N_COLS][24];
    curve_cols(names);
    for (int i = 0; i < CURVES_IMAGES_N_COLS; i++) fprintf(f, "%s%s", i ? "," : "", names[i]);
    fputc('\n', f);
}

static void write_raw(FILE *f, const EvalRow *r, const char *kind, const PicRaw *raw) {
    csv_write_field(f, r->image); fputc(',', f);
    csv_write_field(f, r->method); fprintf(f, ",%s", kind);
    const double head[4] = {raw->info_orig, raw->info_blur, raw->pred_orig, raw->pred_blur};
    for (int i = 0; i < 4; i++) { fputc(',', f); put_num(f, head[i]); }
    for (int t = 0; t < PIC_N_THRESHOLDS; t++) { fputc(',', f); put_num(f, raw->info[t]); }
    for (int t = 0; t < PIC_N_THRESHOLDS; t++) { fputc(',', f); put_num(f, raw->pred[t]); }
    fputc('\n', f);
}

void curves_images_write_rows(FILE *f, const EvalRow *r) {
    if (!r->has_raw) return;
    write_raw(f, r, "sic", &r->sic_raw);
    write_raw(f, r, "aic", &r->aic_raw);
}

void pic_raw_from_curve(PicRaw *raw, const PicCurve *pc) {
    memcpy(raw->info, pc->info, sizeof raw->info);
    memcpy(raw->pred, pc->pred, sizeof raw->pred);
    raw->info_orig = pc->info_orig; raw->info_blur = pc->info_blur;
    raw->pred_orig = pc->pred_orig; raw->pred_blur = pc->pred_blur;
}

void pic_raw_to_curve(PicCurve *pc, const PicRaw *raw) {
    memcpy(pc->info, raw->info, sizeof raw->info);
    memcpy(pc->pred, raw->pred, sizeof raw->pred);
    pc->info_orig = raw->info_orig; pc->info_blur = raw->info_blur;
    pc->pred_orig = raw->pred_orig; pc->pred_blur = raw->pred_blur;
}

int results_write_files(const EvalRows *rows, const char *results_csv, const char *curves_csv, char *err, size_t errlen) {
    FILE *a = fopen(results_csv, "w"), *b = fopen(curves_csv, "w");
    if (!a || !b) {
        if (a) fclose(a);
        if (b) fclose(b);
        return err_fail(err, errlen, "cannot write %s", !a ? results_csv : curves_csv);
    }
    results_write_header(a);
    curves_images_write_header(b);
    for (int i = 0; i < rows->n; i++) { results_write_row(a, &rows->v[i]); curves_images_write_rows(b, &rows->v[i]); }
    int bad_a = fclose(a), bad_b = fclose(b);
    if (bad_a || bad_b) return err_fail(err, errlen, "cannot write %s", bad_a ? results_csv : curves_csv);
    return 0;
}

void results_append(FILE *fres, FILE *fcur, const EvalRow *r) {
    results_write_row(fres, r);
    curves_images_write_rows(fcur, r);
    fflush(fcur);
    fflush(fres);
}
