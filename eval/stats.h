/* stats.h - statistics over images for the evaluation: summaries with
   bootstrap confidence intervals, paired Wilcoxon signed-rank tests, Holm's
   correction, the Friedman test with mean ranks. Each mirrors scipy.stats
   1.10 (Debian bookworm) and is tested against its outputs
   (tools/make_stats_golden.py).

   Usage:
     double ci[2];
     stats_bootstrap_mean_ci(auc, n, 10000, 0.95, seed, ci);
     StatsTest w;
     if (stats_wilcoxon(a, b, n, &w) == 0) printf("W=%g p=%g (%s)\n", w.statistic, w.p, w.method);
     stats_holm(p_adj, p, m);
     StatsTest f;
     stats_friedman(table, n_images, k_methods, &f, mean_ranks);

   Definitions:
   - stats_quantile: numpy.quantile's default 'linear' method (Hyndman-Fan 7)
     on the sorted values; stats_median = numpy.median.
   - stats_bootstrap_mean_ci: `resamples` (10,000) means of n values drawn
     with replacement by the seeded EngRng (eng_rng_below); the interval is
     the percentile method: the linear quantiles at (1-level)/2 and
     (1+level)/2 of those means. (scipy.stats.bootstrap defaults to BCa and
     numpy's generator; ours is the plain percentile interval and its own
     generator, so intervals agree with scipy's only up to Monte Carlo error.)
   - stats_rankdata: scipy.stats.rankdata(method='average').
   - stats_wilcoxon(x, y): scipy.stats.wilcoxon(x, y) with its defaults
     (zero_method='wilcox', correction=False, alternative='two-sided',
     method='auto'): d = x - y; if len(d) <= 50 the exact null distribution
     of r_plus (sum of ranks of positive d) is used unless some d is zero;
     otherwise (or with zeros) the normal approximation on the non-zero d:
     z = (T - n(n+1)/4) / sqrt((n(n+1)(2n+1) - sum_ties t(t^2-1)/2) / 24),
     p = 2 sf(|z|). The statistic is T = min(r_plus, r_minus). In the exact
     branch scipy 1.10 truncates r_plus to an integer (ties give .5 ranks)
     and returns p = 1 when r_plus is the centre n(n+1)/4 (integer
     division); both are mirrored. All d zero: -1 (scipy raises).
   - stats_holm: Holm-Bonferroni step-down adjusted p-values
     (statsmodels multipletests 'holm'): sorted ascending p_(1..m),
     adj_(i) = min(1, max_{j <= i} (m - j + 1) p_(j)).
   - stats_friedman(data (n,k), row i = one image, column j = one method):
     scipy.stats.friedmanchisquare: ranks within rows (average ties),
     chi2 = (12 / (n k (k+1)) sum_j R_j^2 - 3 n (k+1)) / c,
     c = 1 - sum_ties (t^3 - t) / (n k (k^2 - 1)); p = chi2.sf(chi2, k - 1).
     mean_ranks[j] = R_j / n (rank 1 = the smallest value in a row). k >= 3.
   - stats_chi2_sf(x, df) = Q(df/2, x/2), the regularized upper incomplete
     gamma function: the power series of P for x < a + 1, else the
     continued fraction for Q (modified Lentz), both to 1e-16.
   Functions return 0, or -1 with eng_last_error for bad input (n too
   small, NaN values). */
#ifndef EVAL_STATS_H
#define EVAL_STATS_H
#include <stdint.h>

double stats_mean(const double *v, int n);
double stats_quantile(const double *v, int n, double q); /* v need not be sorted */
double stats_median(const double *v, int n);
int stats_bootstrap_mean_ci(const double *v, int n, int resamples, double level, uint64_t seed, double ci[2]);

void stats_rankdata(double *ranks, const double *v, int n);
/* Spearman rank correlation of a and b (n values; scipy.stats.spearmanr):
   the Pearson correlation of their average ranks; NaN if either is
   constant or memory runs out. */
double stats_spearman(const float *a, const float *b, int n);

typedef struct {
    double statistic, p;
    double z;            /* normal approximation only; NaN for exact */
    int n;               /* differences used (non-zero ones in the approximation) */
    const char *method;  /* "exact" or "approx" */
} StatsTest;

int stats_wilcoxon(const double *x, const double *y, int n, StatsTest *out);
void stats_holm(double *adj, const double *p, int m);
int stats_friedman(const double *data, int n, int k, StatsTest *out, double *mean_ranks);

double stats_gamma_q(double a, double x); /* regularized upper incomplete gamma Q(a, x) */
double stats_chi2_sf(double x, double df);
double stats_norm_sf(double z);           /* 1 - Phi(z), by erfc */
#endif
