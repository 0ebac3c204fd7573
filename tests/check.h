/* check.h - tiny test helpers: every check prints "PASS name" or
   "FAIL name: why" and the program's exit code counts the failures. */
#ifndef TESTS_CHECK_H
#define TESTS_CHECK_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int check_failures_ __attribute__((unused));

#define CHECK(cond, name, ...)                                   \
    do {                                                         \
        if (cond) printf("PASS %s\n", name);                     \
        else { printf("FAIL %s: ", name); printf(__VA_ARGS__);   \
               printf("\n"); check_failures_++; }                \
    } while (0)

/* Largest |a-b| over n values relative to the largest |b|; writes the worst index. */
static inline double check_max_rel(const float *a, const float *b, size_t n, size_t *worst) {
    double mx = 0, md = 0; size_t wi = 0;
    for (size_t i = 0; i < n; i++) { double m = fabs((double)b[i]); if (m > mx) mx = m; }
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > md || d != d) { md = d; wi = i; }
    }
    if (worst) *worst = wi;
    return mx > 0 ? md / mx : md;
}

/* Pearson correlation of a and b (n values); 1 when both are constant and equal in spread. */
static inline double check_pearson(const float *a, const float *b, size_t n) {
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; i++) { ma += a[i]; mb += b[i]; }
    ma /= n; mb /= n;
    for (size_t i = 0; i < n; i++) {
        double da = a[i] - ma, db = b[i] - mb;
        sab += da * db; saa += da * da; sbb += db * db;
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : (saa == sbb ? 1.0 : 0.0);
}

/* max |a - b| / (max(b) - min(b)) (the absolute error if b is constant);
   writes the worst index if worst is not NULL. */
static inline double check_err_of_range(const float *a, const float *b, size_t n, size_t *worst) {
    float lo = b[0], hi = b[0];
    double md = 0;
    for (size_t i = 0; i < n; i++) { if (b[i] < lo) lo = b[i]; if (b[i] > hi) hi = b[i]; }
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > md || d != d) { md = d; if (worst) *worst = i; }
    }
    return hi > lo ? md / ((double)hi - lo) : md;
}

/* Golden bounds from the reference's own rounding (tools/golden_spread.py):
   spread r / err = the worst agreement of the reference's float32 runs
   (plain and with last-bit perturbed weights) with its float64 result.
   Another correct float32 rounding - salient's fast path - may sit up to
   SPREAD_FACTOR times as far from float64; the floors are float32's own
   resolution (1e-6 of the range, r to 1e-9). */
#define SPREAD_FACTOR 4.0
typedef struct { double r, err; } CheckSpread;
static inline double check_spread_rbar(const CheckSpread *s) {
    double b = SPREAD_FACTOR * (1 - s->r);
    return b > 1e-9 ? b : 1e-9;
}
static inline double check_spread_ebar(const CheckSpread *s) {
    double b = SPREAD_FACTOR * s->err;
    return b > 1e-6 ? b : 1e-6;
}
static inline int check_within_spread(double r, double err, const CheckSpread *s) {
    return 1 - r <= check_spread_rbar(s) && err <= check_spread_ebar(s);
}

/* SALIENT_SLOW_TESTS=1 (make test-slow): also the golden runs that take
   minutes, chiefly on the reference path (plain loops in double: about 50x
   the fast path's time). */
static inline int check_slow(void) {
    const char *s = getenv("SALIENT_SLOW_TESTS");
    return s && atoi(s) > 0;
}

#define CHECK_DONE() return check_failures_ ? 1 : 0
#endif
