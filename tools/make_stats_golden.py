#!/usr/bin/python3
"""make_stats_golden.py - scipy.stats reference values for tests/test_stats.c.

Run from the repository root with Debian's Python (scipy 1.10, numpy 1.24):
    /usr/bin/python3 tools/make_stats_golden.py
Writes tests/data/stats/golden.json:
  wilcoxon:  [{x, y, statistic, p, method}]  scipy.stats.wilcoxon(x, y) with
             its defaults (exact for n <= 50 without zero differences, the
             normal approximation otherwise; ties; all-positive; centre)
  friedman:  [{data (n rows of k), statistic, p, mean_ranks}]
             scipy.stats.friedmanchisquare(*columns); mean ranks from
             scipy.stats.rankdata per row
  holm:      [{p, adj}]  Holm step-down, written out from its definition
             (statsmodels is not a Debian default; the formula is in stats.h)
  chi2_sf:   [{x, df, sf}]  scipy.stats.chi2.sf
  gamma_q:   [{a, x, q}]  scipy.special.gammaincc
  rankdata:  [{v, ranks}]
  quantile:  [{v, q, value}] numpy.quantile; median: [{v, value}] numpy.median
  bootstrap: [{v, ci}] scipy.stats.bootstrap(method='percentile', 10000
             resamples) of the mean: another generator, so the C test
             compares with a Monte Carlo tolerance, not exactly
Values are written with repr (17 significant digits).
"""
import json
import os
import warnings

import numpy as np
from scipy import special, stats

OUT = "tests/data/stats"


def wilcoxon_cases(rng):
    cases = []

    def add(x, y):
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        d = x - y
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = stats.wilcoxon(x, y)
        method = "exact" if (len(d) <= 50 and not np.any(d == 0)) else "approx"
        cases.append(dict(x=x.tolist(), y=y.tolist(), statistic=float(r.statistic), p=float(r.pvalue),
                          method=method))

    for n in (5, 8, 10, 20, 35, 50):  # exact, no ties
        x = rng.random(n)
        add(x, x - rng.normal(0.05, 0.2, n))
    for n in (51, 80, 200, 600):  # approximation, no ties
        x = rng.random(n)
        add(x, x - rng.normal(0.02, 0.2, n))
    # AUC-like values on a grid: ties in |d|
    for n in (12, 30, 50):  # exact branch with ties (scipy truncates r_plus)
        a = np.round(rng.random(n) * 20) / 20
        b = a + (rng.integers(1, 5, n) * rng.choice([-1, 1], n)) / 20
        add(a, b)
    for n in (25, 60, 150):  # zeros: approximation on the non-zero differences, with ties
        a = np.round(rng.random(n) * 10) / 10
        b = np.round(rng.random(n) * 10) / 10
        add(a, b)
    add(np.arange(1, 11, dtype=float), np.zeros(10))          # all positive: p = 2 / 2^10
    add(np.array([1, -2, 3, -4, 5, -6, 7, -8.5, 0.5, -0.25, 1.25]), np.zeros(11))
    add([1.0, -1.0, 2.0, -2.0, 3.0], [0.0] * 5)  # ties in |d|
    add([1.0, 2.0, -3.0], [0.0, 0.0, 0.0])  # r_plus = 3 = (6)//2: p = 1
    add([0.0, 0.0, 1.0, 2.0, -0.5] * 3, [0.0] * 15)  # zeros, few non-zero
    return cases


def friedman_cases(rng):
    cases = []
    for n, k, tie in ((10, 3, False), (25, 5, False), (40, 8, False), (12, 4, True), (60, 6, True), (5, 3, True),
                      (200, 10, True)):
        data = rng.random((n, k)) + np.linspace(0, 0.3, k)
        if tie:
            data = np.round(data * 4) / 4
        if n == 5:
            data[0] = 0.5  # a fully tied row
        r = stats.friedmanchisquare(*[data[:, j] for j in range(k)])
        ranks = np.array([stats.rankdata(row) for row in data])
        cases.append(dict(data=data.tolist(), n=n, k=k, statistic=float(r.statistic), p=float(r.pvalue),
                          mean_ranks=ranks.mean(0).tolist()))
    return cases


def holm(p):
    p = np.asarray(p)
    m = len(p)
    o = np.argsort(p, kind="stable")
    adj = np.maximum.accumulate(p[o] * np.arange(m, 0, -1))
    adj = np.minimum(adj, 1)
    out = np.empty(m)
    out[o] = adj
    return out


def main():
    rng = np.random.default_rng(2024)
    os.makedirs(OUT, exist_ok=True)
    g = dict(versions=dict(numpy=np.__version__, scipy=__import__("scipy").__version__))
    g["wilcoxon"] = wilcoxon_cases(rng)
    g["friedman"] = friedman_cases(rng)
    hp = [rng.random(6) * 0.1, np.array([0.01, 0.04, 0.03, 0.005, 0.5, 0.2, 0.04]), rng.random(28) ** 3,
          np.array([0.3, 0.6, 0.9])]
    g["holm"] = [dict(p=p.tolist(), adj=holm(p).tolist()) for p in hp]
    g["chi2_sf"] = []
    for df in (1, 2, 3, 4, 5, 7, 9, 12, 20, 50):
        for x in (0.0, 1e-3, 0.5, 1.0, 2.5, df - 0.5, df, df + 1.5, 3 * df, 10.0, 30.0, 80.0, 200.0, 500.0):
            g["chi2_sf"].append(dict(x=x, df=df, sf=float(stats.chi2.sf(x, df))))
    g["gamma_q"] = [dict(a=a, x=x, q=float(special.gammaincc(a, x)))
                    for a in (0.5, 1.0, 1.5, 3.0, 10.0, 24.5, 100.0) for x in (0.01, 0.3, 1.0, 2.9, 9.0, 26.0, 110.0)]
    rv = [rng.random(9), np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5.0]), np.array([2.0] * 6),
          np.round(rng.random(40) * 6)]
    g["rankdata"] = [dict(v=v.tolist(), ranks=stats.rankdata(v).tolist()) for v in rv]
    g["quantile"] = [dict(v=v.tolist(), q=q, value=float(np.quantile(v, q))) for v in rv
                     for q in (0.0, 0.025, 0.25, 0.5, 0.6, 0.975, 1.0)]
    g["median"] = [dict(v=v.tolist(), value=float(np.median(v))) for v in rv + [rng.random(10), rng.random(1)]]
    g["bootstrap"] = []
    for v in (rng.random(30), rng.beta(2, 5, 200), np.round(rng.random(12) * 3) / 3):
        r = stats.bootstrap((v,), np.mean, n_resamples=10000, method="percentile",
                            random_state=np.random.default_rng(1))
        g["bootstrap"].append(dict(v=v.tolist(), ci=[float(r.confidence_interval.low),
                                                    float(r.confidence_interval.high)],
                                   se=float(r.standard_error)))
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(g, f)
    print("wilcoxon", len(g["wilcoxon"]), "friedman", len(g["friedman"]), "chi2", len(g["chi2_sf"]))


if __name__ == "__main__":
    main()
