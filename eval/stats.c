/* stats.c - bootstrap intervals, Wilcoxon signed-rank, Holm, Friedman and
   the chi-square tail, as scipy.stats 1.10 computes them (see stats.h). */
#include "eval/stats.h"
#include "engine/engine.h"
#include "engine/rng.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int has_nan(const double *v, int n) {
    for (int i = 0; i < n; i++) if (isnan(v[i])) return 1;
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double stats_mean(const double *v, int n) {
    if (n < 1) return NAN;
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return s / n;
}

/* numpy 'linear' quantile of sorted values. */
static double quantile_sorted(const double *s, int n, double q) {
    double vi = (double)(n - 1) * q;
    if (vi >= n - 1) return s[n - 1];
    if (vi <= 0) return s[0];
    double f = floor(vi), g = vi - f;
    int i = (int)f;
    double a = s[i], b = s[i + 1], d = b - a;
    return g >= 0.5 ? b - d * (1 - g) : a + d * g; /* numpy's _lerp */
}

double stats_quantile(const double *v, int n, double q) {
    if (n < 1 || has_nan(v, n)) return NAN;
    double *s = malloc(sizeof(double) * n);
    if (!s) return NAN;
    memcpy(s, v, sizeof(double) * n);
    qsort(s, n, sizeof(double), cmp_double);
    double r = quantile_sorted(s, n, q);
    free(s);
    return r;
}

double stats_median(const double *v, int n) {
    if (n < 1 || has_nan(v, n)) return NAN;
    double *s = malloc(sizeof(double) * n);
    if (!s) return NAN;
    memcpy(s, v, sizeof(double) * n);
    qsort(s, n, sizeof(double), cmp_double);
    double r = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
    free(s);
    return r;
}

int stats_bootstrap_mean_ci(const double *v, int n, int resamples, double level, uint64_t seed, double ci[2]) {
    ci[0] = ci[1] = NAN;
    if (n < 1 || resamples < 1 || !(level > 0 && level < 1) || has_nan(v, n)) {
        eng_set_error("bootstrap: expected n >= 1 finite values, resamples >= 1 and a level in (0,1); found n=%d, "
                      "resamples=%d, level=%g", n, resamples, level);
        return -1;
    }
    double *means = malloc(sizeof(double) * resamples);
    if (!means) return eng_fail("bootstrap: out of memory");
    EngRng r;
    eng_rng_seed(&r, seed);
    for (int b = 0; b < resamples; b++) {
        double s = 0;
        for (int i = 0; i < n; i++) s += v[eng_rng_below(&r, (uint32_t)n)];
        means[b] = s / n;
    }
    qsort(means, resamples, sizeof(double), cmp_double);
    ci[0] = quantile_sorted(means, resamples, (1 - level) / 2);
    ci[1] = quantile_sorted(means, resamples, (1 + level) / 2);
    free(means);
    return 0;
}

/* ---- ranks ---- */
typedef struct { double v; int i; } Keyed;

static int cmp_keyed(const void *a, const void *b) {
    const Keyed *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* Average ranks; if ties is non-NULL, adds sum over tie groups of f(t). */
static int rank_with_ties(double *ranks, const double *v, int n, double *tie_t3, double *tie_half) {
    Keyed *k = malloc(sizeof(Keyed) * (n > 0 ? n : 1));
    if (!k) return -1;
    for (int i = 0; i < n; i++) { k[i].v = v[i]; k[i].i = i; }
    qsort(k, n, sizeof(Keyed), cmp_keyed);
    for (int i = 0; i < n;) {
        int j = i + 1;
        while (j < n && k[j].v == k[i].v) j++;
        double r = 0.5 * ((double)i + (double)j + 1.0); /* positions i+1..j averaged */
        for (int q = i; q < j; q++) ranks[k[q].i] = r;
        double t = j - i;
        if (t > 1) {
            if (tie_t3) *tie_t3 += t * (t * t - 1);
            if (tie_half) *tie_half += 0.5 * (t * (t * t - 1));
        }
        i = j;
    }
    free(k);
    return 0;
}

void stats_rankdata(double *ranks, const double *v, int n) { rank_with_ties(ranks, v, n, NULL, NULL); }

/* ---- distributions ---- */
double stats_norm_sf(double z) { return 0.5 * erfc(z / sqrt(2.0)); }

/* P(a,x) by its power series: x^a e^-x / Gamma(a+1) * sum_k x^k / ((a+1)...(a+k)). */
static double gamma_p_series(double a, double x) {
    double term = 1.0 / a, sum = term;
    for (int k = 1; k < 100000; k++) {
        term *= x / (a + k);
        sum += term;
        if (fabs(term) < fabs(sum) * 1e-17) break;
    }
    return sum * exp(-x + a * log(x) - lgamma(a));
}

/* Q(a,x) by the continued fraction 1/(x+1-a- 1(1-a)/(x+3-a- 2(2-a)/(x+5-a- ...))), modified Lentz. */
static double gamma_q_fraction(double a, double x) {
    const double tiny = DBL_MIN / DBL_EPSILON;
    double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
    for (int i = 1; i < 100000; i++) {
        double an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if (fabs(d) < tiny) d = tiny;
        c = b + an / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        double delta = d * c;
        h *= delta;
        if (fabs(delta - 1.0) < 1e-16) break;
    }
    return exp(-x + a * log(x) - lgamma(a)) * h;
}

double stats_gamma_q(double a, double x) {
    if (isnan(a) || isnan(x) || a <= 0) return NAN;
    if (x <= 0) return 1.0;
    if (isinf(x)) return 0.0;
    if (x < a + 1.0) return 1.0 - gamma_p_series(a, x);
    return gamma_q_fraction(a, x);
}

double stats_chi2_sf(double x, double df) {
    if (isnan(x) || !(df > 0)) return NAN;
    return stats_gamma_q(df / 2.0, x / 2.0);
}

/* ---- Wilcoxon signed-rank ---- */
static double sum_range(const double *p, int lo, int hi) { /* p[lo..hi) */
    double s = 0;
    for (int i = lo; i < hi; i++) s += p[i];
    return s;
}

int stats_wilcoxon(const double *x, const double *y, int n, StatsTest *out) {
    out->statistic = out->p = out->z = NAN;
    out->n = 0;
    out->method = "exact";
    if (n < 1 || has_nan(x, n) || has_nan(y, n)) {
        return eng_fail("wilcoxon: expected n >= 1 pairs of numbers, found n=%d%s", n, n >= 1 ? " with NaN" : "");
    }
    double *d = malloc(sizeof(double) * n), *ad = calloc(n, sizeof(double)), *r = malloc(sizeof(double) * n);
    int rc = -1;
    if (!d || !ad || !r) { eng_set_error("wilcoxon: out of memory"); goto done; }
    int n_zero = 0;
    for (int i = 0; i < n; i++) { d[i] = x[i] - y[i]; n_zero += d[i] == 0; }
    int exact = n <= 50 && n_zero == 0;
    out->method = exact ? "exact" : "approx";
    int count = 0;
    if (!exact) { /* zero_method 'wilcox': drop the zero differences */
        if (n_zero == n) { eng_set_error("wilcoxon: every difference is zero (scipy raises here)"); goto done; }
        for (int i = 0; i < n; i++) if (d[i] != 0) d[count++] = d[i];
    } else count = n;
    for (int i = 0; i < count; i++) ad[i] = fabs(d[i]);
    double ties = 0;
    if (rank_with_ties(r, ad, count, NULL, &ties)) { eng_set_error("wilcoxon: out of memory"); goto done; }
    double r_plus = 0, r_minus = 0;
    for (int i = 0; i < count; i++) {
        if (d[i] > 0) r_plus += r[i];
        if (d[i] < 0) r_minus += r[i];
    }
    out->statistic = r_plus < r_minus ? r_plus : r_minus;
    out->n = count;
    if (!exact) {
        double mn = count * (count + 1.0) * 0.25;
        double se = count * (count + 1.0) * (2.0 * count + 1.0);
        se -= ties;
        se = sqrt(se / 24);
        out->z = (out->statistic - mn) / se;
        out->p = 2.0 * stats_norm_sf(fabs(out->z));
    } else {
        /* null distribution of r_plus: c_k = (c_{k-1} + c_{k-1} shifted by k) / 2 */
        int total = count * (count + 1) / 2;
        double *pmf = calloc(total + 1, sizeof(double)), *prev = calloc(total + 1, sizeof(double));
        if (!pmf || !prev) { free(pmf); free(prev); eng_set_error("wilcoxon: out of memory"); goto done; }
        pmf[0] = 1.0;
        int len = 1;
        for (int k = 1; k <= count; k++) {
            memcpy(prev, pmf, sizeof(double) * len);
            int nlen = k * (k + 1) / 2 + 1;
            for (int i = 0; i < nlen; i++) pmf[i] = 0;
            for (int i = 0; i < len; i++) pmf[i] = prev[i] * 0.5;
            for (int i = 0; i < len; i++) pmf[nlen - len + i] += prev[i] * 0.5;
            len = nlen;
        }
        int rp = (int)r_plus; /* scipy 1.10: int(r_plus) */
        if (rp == total / 2) out->p = 1.0;
        else {
            double p_less = sum_range(pmf, 0, rp + 1), p_greater = sum_range(pmf, rp, total + 1);
            out->p = 2 * (p_greater < p_less ? p_greater : p_less);
        }
        if (out->p > 1) out->p = 1;
        if (out->p < 0) out->p = 0;
        free(pmf); free(prev);
    }
    rc = 0;
done:
    free(d); free(ad); free(r);
    return rc;
}

/* ---- Holm ---- */
void stats_holm(double *adj, const double *p, int m) {
    Keyed *k = malloc(sizeof(Keyed) * (m > 0 ? m : 1));
    if (!k) { for (int i = 0; i < m; i++) adj[i] = NAN; return; }
    for (int i = 0; i < m; i++) { k[i].v = p[i]; k[i].i = i; }
    qsort(k, m, sizeof(Keyed), cmp_keyed);
    double run = 0;
    for (int j = 0; j < m; j++) {
        double a = (double)(m - j) * k[j].v;
        if (a > run || isnan(a)) run = a;
        adj[k[j].i] = run > 1 ? 1 : run;
    }
    free(k);
}

/* ---- Friedman ---- */
int stats_friedman(const double *data, int n, int k, StatsTest *out, double *mean_ranks) {
    out->statistic = out->p = out->z = NAN;
    out->n = n;
    out->method = "chi2";
    if (k < 3 || n < 1 || has_nan(data, n * k)) {
        return eng_fail("friedman: expected at least 3 methods and 1 image without NaN, found %d methods, %d images", k, n);
    }
    double *R = calloc(k, sizeof(double)), *row = malloc(sizeof(double) * k);
    if (!R || !row) { free(R); free(row); return eng_fail("friedman: out of memory"); }
    double ties = 0;
    for (int i = 0; i < n; i++) {
        rank_with_ties(row, data + (size_t)i * k, k, &ties, NULL);
        for (int j = 0; j < k; j++) R[j] += row[j];
    }
    double ssbn = 0;
    for (int j = 0; j < k; j++) {
        ssbn += R[j] * R[j];
        if (mean_ranks) mean_ranks[j] = R[j] / n;
    }
    double c = 1 - ties / ((double)k * (k * k - 1) * n);
    int rc = 0;
    if (c <= 0) {
        eng_set_error("friedman: every row is one tie (no ranking)");
        rc = -1;
    } else {
        out->statistic = (12.0 / ((double)k * n * (k + 1)) * ssbn - 3.0 * n * (k + 1)) / c;
        out->p = stats_chi2_sf(out->statistic, k - 1);
    }
    free(R); free(row);
    return rc;
}

double stats_spearman(const float *a, const float *b, int n) {
    double *ra = malloc(sizeof(double) * n), *rb = malloc(sizeof(double) * n), *tmp = malloc(sizeof(double) * n);
    double r = NAN;
    if (ra && rb && tmp && n > 0) {
        for (int i = 0; i < n; i++) tmp[i] = a[i];
        stats_rankdata(ra, tmp, n);
        for (int i = 0; i < n; i++) tmp[i] = b[i];
        stats_rankdata(rb, tmp, n);
        double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < n; i++) { ma += ra[i]; mb += rb[i]; }
        ma /= n; mb /= n;
        for (int i = 0; i < n; i++) {
            double x = ra[i] - ma, y = rb[i] - mb;
            sab += x * y; saa += x * x; sbb += y * y;
        }
        if (saa > 0 && sbb > 0) r = sab / sqrt(saa * sbb);
    }
    free(ra); free(rb); free(tmp);
    return r;
}
