/* test_felzenszwalb.c - fh_segment against skimage.segmentation.felzenszwalb
   golden label maps (tools/make_segment_golden.py -> tests/data/seg/).
   Exact equality of the label maps is expected (numbering included); on a
   mismatch the test also prints the agreement under a greedy one-to-one
   label matching, to tell a tie-order slip from a real bug. */
#include "attrib/felzenszwalb.h"
#include "tests/check.h"
#include <stdint.h>
#include <string.h>

#define SEG_DIR "tests/data/seg/"

/* Minimal .npy reader for the golden files: little-endian, C order, v1/v2 header. */
typedef struct { char descr[8]; int ndim; long shape[4]; size_t n; void *data; } Npy;

static int npy_load(const char *path, Npy *a) {
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    unsigned char pre[12];
    int ok = fread(pre, 1, 10, f) == 10 && memcmp(pre, "\x93NUMPY", 6) == 0;
    size_t hl = 0;
    if (ok && pre[6] == 1) hl = pre[8] | (size_t)pre[9] << 8;
    else if (ok && fread(pre + 10, 1, 2, f) == 2)
        hl = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    char hdr[1024];
    ok = ok && hl > 0 && hl < sizeof hdr && fread(hdr, 1, hl, f) == hl;
    if (ok) {
        hdr[hl] = 0;
        char *d = strstr(hdr, "'descr': '"), *s = strstr(hdr, "'shape': (");
        ok = d && s && !strstr(hdr, "'fortran_order': True");
        if (ok) { memcpy(a->descr, d + 10, 3); a->descr[3] = 0; }
        a->n = 1;
        for (char *p = ok ? s + 10 : NULL; p && *p != ')' && a->ndim < 4;) {
            long v = strtol(p, &p, 10);
            a->shape[a->ndim++] = v; a->n *= (size_t)v;
            while (*p == ',' || *p == ' ') p++;
        }
    }
    size_t es = ok ? (size_t)(a->descr[2] - '0') : 0;
    if (ok && (es == 1 || es == 4 || es == 8)) {
        a->data = malloc(a->n * es + 1);
        ok = a->data && fread(a->data, es, a->n, f) == a->n;
    } else ok = 0;
    fclose(f);
    if (!ok) { free(a->data); a->data = NULL; return -1; }
    return 0;
}

/* Agreement under a greedy one-to-one matching of labels (largest overlaps first). */
static double matched_agreement(const int32_t *a, int na, const int32_t *b, int nb, size_t n) {
    long *tab = calloc((size_t)na * nb, sizeof *tab);
    char *ua = calloc(na, 1), *ub = calloc(nb, 1);
    for (size_t i = 0; i < n; i++) tab[(size_t)a[i] * nb + b[i]]++;
    long agree = 0;
    for (;;) {
        long best = 0; int bi = -1, bj = -1;
        for (int i = 0; i < na; i++)
            for (int j = 0; j < nb; j++)
                if (!ua[i] && !ub[j] && tab[(size_t)i * nb + j] > best) { best = tab[(size_t)i * nb + j]; bi = i; bj = j; }
        if (bi < 0) break;
        agree += best; ua[bi] = ub[bj] = 1;
    }
    free(tab); free(ua); free(ub);
    return (double)agree / (double)n;
}

static void test_case(const char *line) {
    char tag[96], input[64];
    int c, h, w, min_size, nseg, stable_diff;
    double scale, sigma;
    if (sscanf(line, "%95s %63s %d %d %d %lf %lf %d %d %d", tag, input, &c, &h, &w, &scale,
               &sigma, &min_size, &nseg, &stable_diff) != 10) {
        CHECK(0, "seg_cases_line", "cannot parse '%s'", line);
        return;
    }
    char path[256];
    Npy x, ref;
    int replicate = strcmp(input, "t1_64_c3") == 0; /* stored once as 1 channel */
    snprintf(path, sizeof path, SEG_DIR "%s.npy", replicate ? "t1_64_c1" : input);
    int ok = npy_load(path, &x) == 0 && strcmp(x.descr, "<f4") == 0 &&
             x.n * (replicate ? 3 : 1) == (size_t)c * h * w;
    snprintf(path, sizeof path, SEG_DIR "%s.npy", tag);
    ok = ok && npy_load(path, &ref) == 0 && strcmp(ref.descr, "<i4") == 0 && ref.n == (size_t)h * w;
    if (!ok) { CHECK(0, tag, "cannot load the golden files of %s (%s)", tag, path); return; }
    size_t hw = (size_t)h * w;
    float *img = malloc((size_t)c * hw * sizeof *img);
    for (int k = 0; k < c; k++) memcpy(img + k * hw, (float *)x.data + (replicate ? 0 : k * hw), hw * sizeof *img);
    int32_t *lab = malloc(hw * sizeof *lab);
    int n = fh_segment(img, c, h, w, scale, sigma, min_size, lab);
    const int32_t *r = ref.data;
    size_t diff = 0, first = hw;
    for (size_t i = 0; i < hw; i++) if (lab[i] != r[i]) { if (!diff) first = i; diff++; }
    char name[160];
    snprintf(name, sizeof name, "fh_exact_%s", tag);
    printf("  %-32s C=%d %dx%d scale=%g sigma=%g min_size=%d: segments %d (skimage %d), "
           "pixels differing %zu/%zu (a stable sort would change %d)\n",
           tag, c, h, w, scale, sigma, min_size, n, nseg, diff, hw, stable_diff);
    if (diff && n > 0)
        printf("  matched agreement %.4f\n", matched_agreement(lab, n, r, nseg, hw));
    CHECK(n == nseg && diff == 0, name, "segments %d vs %d, %zu pixels differ, first at (%zu,%zu): %d vs %d",
          n, nseg, diff, first / w, first % w, first < hw ? lab[first] : -1, first < hw ? r[first] : -1);
    free(img); free(lab); free(x.data); free(ref.data);
}

static void test_argsort(void) {
    Npy v, o;
    int ok = npy_load(SEG_DIR "argsort_values.npy", &v) == 0 && strcmp(v.descr, "<f8") == 0 &&
             npy_load(SEG_DIR "argsort_order.npy", &o) == 0 && strcmp(o.descr, "<i4") == 0 && o.n == v.n;
    if (!ok) { CHECK(0, "fh_np_argsort_ties", "cannot load argsort golden files"); return; }
    int32_t *idx = malloc(v.n * sizeof *idx);
    fh_np_argsort(v.data, idx, (int32_t)v.n);
    size_t diff = 0, first = 0;
    for (size_t i = 0; i < v.n; i++) if (idx[i] != ((int32_t *)o.data)[i]) { if (!diff) first = i; diff++; }
    /* sanity: the golden order really is not the stable one */
    size_t unstable = 0;
    const double *vv = v.data; const int32_t *oo = o.data;
    for (size_t i = 1; i < v.n; i++) if (vv[oo[i]] == vv[oo[i - 1]] && oo[i] < oo[i - 1]) unstable++;
    CHECK(diff == 0 && unstable > 0, "fh_np_argsort_ties",
          "%zu of %zu positions differ from numpy (first %zu); %zu unstable pairs in numpy's order",
          diff, v.n, first, unstable);
    free(idx); free(v.data); free(o.data);
}

static void test_bad_args(void) {
    float img[4] = {0, 1, 2, 3};
    int32_t lab[4];
    CHECK(fh_segment(img, 0, 2, 2, 1, 0.8, 1, lab) == -1 && strstr(fh_error(), "c=0"), "fh_rejects_c0", "%s", fh_error());
    CHECK(fh_segment(NULL, 1, 2, 2, 1, 0.8, 1, lab) == -1, "fh_rejects_null", "%s", fh_error());
    CHECK(fh_segment(img, 1, 2, 2, 1, -1, 1, lab) == -1, "fh_rejects_neg_sigma", "%s", fh_error());
    img[2] = NAN;
    CHECK(fh_segment(img, 1, 2, 2, 1, 0.8, 1, lab) == -1 && strstr(fh_error(), "non-finite"),
          "fh_rejects_nan", "%s", fh_error());
    /* tiny images: one pixel, one row, one column (reflection wider than the line) */
    float one = 0.5f, row[5] = {-1, -1, 1, 1, 1};
    int32_t l1, l5[5];
    CHECK(fh_segment(&one, 1, 1, 1, 100, 0.8, 20, &l1) == 1 && l1 == 0, "fh_single_pixel", "n or label wrong");
    int n1 = fh_segment(row, 1, 1, 5, 1, 0.0, 1, l5), n2 = fh_segment(row, 1, 5, 1, 1, 0.0, 1, l5);
    CHECK(n1 == 2 && n2 == 2 && l5[0] == 0 && l5[1] == 0 && l5[2] == 1 && l5[4] == 1,
          "fh_row_and_column", "n %d %d labels %d %d %d %d %d", n1, n2, l5[0], l5[1], l5[2], l5[3], l5[4]);
}

int main(void) {
    FILE *f = fopen(SEG_DIR "cases.txt", "r");
    CHECK(f != NULL, "seg_cases_file", "cannot open " SEG_DIR "cases.txt (run from the repo root)");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) if (line[0] != '#' && line[0] != '\n') test_case(line);
        fclose(f);
    }
    test_argsort();
    test_bad_args();
    CHECK_DONE();
}
