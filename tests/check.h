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

#define CHECK_DONE() return check_failures_ ? 1 : 0
#endif
