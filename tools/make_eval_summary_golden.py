#!/usr/bin/python3
"""make_eval_summary_golden.py - a handcrafted evaluation (results.csv and
curves_images.csv) and the summary numbers numpy/scipy give for it, for
tests/test_eval_summary.c.

Run from the repository root with Debian's Python (scipy 1.10, numpy 1.24):
    /usr/bin/python3 tools/make_eval_summary_golden.py
Writes tests/data/eval/results.csv, tests/data/eval/curves_images.csv,
tests/data/eval/golden.json, and tests/data/eval/lesion.mask.png (a 48x48
binary lesion mask, a 12x16 block of 255 at rows 8..19, columns 20..35,
that tests/cli_evaluate.sh puts next to an image).

The set: 14 images of 3 classes, methods alpha, beta, gamma, random.
  - image 3 is unreadable (every method's row says "unreadable: ...");
  - image 5 is skipped for SIC by min_pred (its original probability 0.5 is
    below min_pred 0.8); its AIC curve is kept;
  - image 7 is skipped for AIC by blurred_pred (the blurred image is still
    classified as the class);
  - gamma failed on image 9 ("failed: ...", no values);
  - images 0..9 have a lesion mask (pointing_hit, mask_energy);
  - outside_mass (the mass outside the head/body, for every image) is
    uniform in [0,1], drawn from its own generator (seed 7) so that the
    other columns stay as they were; empty where the row has no values,
    for every method of image 12 (a constant image: no foreground) and for
    beta on image 6 (a map without positive mass);
  - beta's pointing hits equal alpha's (all differences zero: no test);
  - insertion values are rounded to 2 decimals, so some pairs of methods
    have tied and zero differences (scipy's normal approximation) and
    others not (the exact distribution).
Per-image SIC/AIC curves are computed from the raw values the way PAIR's
saliency/metrics/pic.py compute_pic_metric does (normalise, clip to
[0,1], running maximum of y, append (0,0) and (1,1), scipy interp1d,
evaluate at linspace(0,1,1000,endpoint=False) and 1, trapezoid AUC), and
the per-image AUC written to results.csv is that curve's AUC.

golden.json:
  methods[m][metric] = {n, mean, median, ci_scipy}: numpy mean/median over
    the images with a value; ci_scipy = scipy.stats.bootstrap(percentile,
    10000 resamples, seed 0): another generator than ours, so the C test
    compares with a Monte Carlo tolerance;
  curves[m][kind] = {n, mean_auc, median_auc}: np.mean / np.median over the
    per-image curves, np.trapz (pic.py aggregate_individual_pic_results);
  pairwise: [{a, b, metric, n, statistic, p, p_holm}] scipy.stats.wilcoxon
    (defaults) on the images where both have values; Holm from its
    definition within each metric (null where scipy raises);
  friedman[metric] = {n, statistic, p, mean_ranks}: scipy
    friedmanchisquare on the complete images, ranks by scipy rankdata;
  accuracy, confusion (rows true, columns predicted), n_images, skips;
  localize: a 5x7 binary mask resized to 11x4, 3x3 and 8x14 by
    torch.nn.functional.interpolate(mode='nearest'), and for a 6x5 map and
    mask the pointing hit (numpy argmax inside the mask) and the energy
    (positive mass inside / positive mass) from numpy.
Numbers are written with repr (17 significant digits).
"""
import json
import os
import warnings

import numpy as np
from scipy import interpolate, stats

OUT = "tests/data/eval"
METHODS = ["alpha", "beta", "gamma", "random"]
N_IMG, N_CLASSES, MIN_PRED = 14, 3, 0.8
METRICS = ["sic", "aic", "insertion", "deletion", "pointing", "energy", "outside"]
T = 13


def pic_curve(info, pred, io, ib, po, pb):
    """pic.py's curve from raw values; returns (curve_y (1001), auc)."""
    pts = []
    m = 0.0
    for e, p in zip(info, pred):
        x = float(np.clip((e - ib) / (io - ib), 0.0, 1.0))
        y = float(np.clip((p - pb) / (po - pb), 0.0, 1.0))
        m = max(m, y)
        pts.append((x, m))
    pts += [(0.0, 0.0), (1.0, 1.0)]
    xs, ys = zip(*pts)
    f = interpolate.interp1d(x=xs, y=ys)
    cx = np.linspace(0.0, 1.0, 1000, endpoint=False)
    cy = np.asarray([f(x) for x in cx])
    cx = np.append(cx, 1.0)
    cy = np.append(cy, 1.0)
    return cy, float(np.trapz(cy, cx))


def holm(p):
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="mergesort")
    adj = np.empty(m)
    run = 0.0
    for i, j in enumerate(order):
        run = max(run, (m - i) * p[j])
        adj[j] = min(1.0, run)
    return adj


def localize_golden():
    import torch
    g = np.random.default_rng(5)
    src = (g.random((5, 7)) < 0.4).astype(np.uint8)
    out = {"src": src.tolist(), "resized": []}
    for h, w in [(11, 4), (3, 3), (8, 14)]:
        r = torch.nn.functional.interpolate(torch.from_numpy(src.astype(np.float32))[None, None], size=(h, w),
                                            mode="nearest")[0, 0].numpy().astype(np.uint8)
        out["resized"].append({"h": h, "w": w, "mask": r.tolist()})
    cases = []
    for k in range(4):
        mp = g.normal(0, 1, (6, 5)).astype(np.float32)
        mk = (g.random((6, 5)) < 0.3).astype(np.uint8)
        if k == 1:
            mk[np.unravel_index(np.argmax(mp), mp.shape)] = 1
        pos = np.maximum(mp.astype(np.float64), 0)
        cases.append({"map": [float(v) for v in mp.ravel()], "mask": mk.ravel().tolist(),
                      "hit": float(mk.ravel()[np.argmax(mp)]), "energy": float(pos[mk == 1].sum() / pos.sum())})
    out["cases"] = cases
    return out


def fmt(v):
    return "" if v is None or (isinstance(v, float) and not np.isfinite(v)) else repr(float(v))


def main():
    rng = np.random.default_rng(20240611)
    os.makedirs(OUT, exist_ok=True)
    labels = rng.integers(0, N_CLASSES, N_IMG)
    preds = np.where(rng.random(N_IMG) < 0.7, labels, (labels + 1) % N_CLASSES)
    conf = np.round(rng.uniform(0.81, 0.99, N_IMG), 6)
    names = [f"class{labels[i]}/img_{i:02d}.png" for i in range(N_IMG)]
    rows, curve_rows = [], []
    rng_out = np.random.default_rng(7)
    vals = {m: {k: [np.nan] * N_IMG for k in METRICS} for m in METHODS}
    curves = {m: {"sic": [], "aic": []} for m in METHODS}
    for i in range(N_IMG):
        io, ib = 5000.0 + rng.integers(0, 500), 1000.0 + rng.integers(0, 300)
        for j, m in enumerate(METHODS):
            row = dict(image=names[i], label=int(labels[i]), predicted=int(preds[i]), confidence=conf[i], method=m,
                       sic=None, aic=None, ins=None, dele=None, hit=None, energy=None, outside=None, skipped="",
                       seconds=None)
            if i == 3:
                row.update(predicted=None, confidence=None, skipped="unreadable: img_03.png: corrupt PNG")
                rows.append(row)
                continue
            if i == 9 and m == "gamma":
                row.update(skipped="failed: gamma: out of memory", seconds=0.5)
                rows.append(row)
                continue
            row["seconds"] = round(float(rng.uniform(0.1, 2.0)), 4)
            skips = []
            raw = {}
            for kind in ["sic", "aic"]:
                info = np.sort(rng.uniform(ib - 200, io + 300, T))
                if kind == "sic":
                    po = 0.5 if i == 5 else 0.9
                    pb = 0.1
                    pred = rng.uniform(0.0, 1.0, T)
                else:
                    po, pb = 1.0, (1.0 if i == 7 else 0.0)
                    pred = (rng.random(T) < np.linspace(0.1, 0.9, T)).astype(float)
                raw[kind] = (info, pred, io, ib, po, pb)
                skip = None
                if po < MIN_PRED:
                    skip = "min_pred"
                elif ib >= io:
                    skip = "blurred_info"
                elif pb >= po:
                    skip = "blurred_pred"
                if skip:
                    skips.append(f"{kind}:{skip}")
                    continue
                cy, auc = pic_curve(info, pred, io, ib, po, pb)
                row[kind] = auc
                vals[m][kind][i] = auc
                curves[m][kind].append(cy)
            row["skipped"] = ";".join(skips)
            base = {"alpha": 0.6, "beta": 0.55, "gamma": 0.5, "random": 0.4}[m]
            row["ins"] = round(float(np.clip(base + rng.normal(0, 0.08), 0, 1)), 2)
            row["dele"] = float(np.clip(1 - base + rng.normal(0, 0.1), 0, 1))
            vals[m]["insertion"][i] = row["ins"]
            vals[m]["deletion"][i] = row["dele"]
            if i < 10:
                row["hit"] = float(rng.random() < base)
                if m == "beta":  # beta points like alpha: all differences zero, scipy's wilcoxon raises
                    row["hit"] = vals["alpha"]["pointing"][i]
                row["energy"] = float(rng.uniform(0, 1))
                vals[m]["pointing"][i] = row["hit"]
                vals[m]["energy"][i] = row["energy"]
            if i != 12 and not (i == 6 and m == "beta"):
                row["outside"] = float(rng_out.uniform(0, 1))
                vals[m]["outside"][i] = row["outside"]
            rows.append(row)
            for kind in ["sic", "aic"]:
                info, pred, io_, ib_, po, pb = raw[kind]
                curve_rows.append([names[i], m, kind, io_, ib_, po, pb] + list(info) + list(pred))
    with open(f"{OUT}/results.csv", "w") as f:
        f.write("image,label,predicted,confidence,method,sic_auc,aic_auc,insertion_auc,deletion_auc,"
                "pointing_hit,mask_energy,outside_mass,skipped,seconds\n")
        for r in rows:
            f.write(",".join([r["image"], str(r["label"]), "" if r["predicted"] is None else str(r["predicted"]),
                              fmt(r["confidence"]), r["method"], fmt(r["sic"]), fmt(r["aic"]), fmt(r["ins"]),
                              fmt(r["dele"]), fmt(r["hit"]), fmt(r["energy"]), fmt(r["outside"]), r["skipped"],
                              fmt(r["seconds"])]) + "\n")
    with open(f"{OUT}/curves_images.csv", "w") as f:
        head = ["image", "method", "kind", "info_orig", "info_blur", "pred_orig", "pred_blur"]
        head += [f"info_{t}" for t in range(T)] + [f"pred_{t}" for t in range(T)]
        f.write(",".join(head) + "\n")
        for c in curve_rows:
            f.write(",".join(c[:3] + [repr(float(v)) for v in c[3:]]) + "\n")

    golden = {"min_pred": MIN_PRED, "methods": {}, "curves": {}, "pairwise": [], "friedman": {}}
    metrics = METRICS
    for m in METHODS:
        golden["methods"][m] = {}
        for k in metrics:
            v = np.asarray([x for x in vals[m][k] if np.isfinite(x)])
            ci = stats.bootstrap((v,), np.mean, n_resamples=10000, method="percentile",
                                 random_state=np.random.default_rng(0)).confidence_interval
            golden["methods"][m][k] = {"n": len(v), "mean": float(np.mean(v)), "median": float(np.median(v)),
                                       "ci_scipy": [float(ci.low), float(ci.high)]}
        golden["curves"][m] = {}
        for kind in ["sic", "aic"]:
            cy = np.asarray(curves[m][kind])
            cx = np.append(np.linspace(0, 1, 1000, endpoint=False), 1.0)
            golden["curves"][m][kind] = {"n": len(cy), "mean_auc": float(np.trapz(np.mean(cy, axis=0), cx)),
                                         "median_auc": float(np.trapz(np.median(cy, axis=0), cx))}
    for k in metrics:
        pairs = []
        for a in range(len(METHODS)):
            for b in range(a + 1, len(METHODS)):
                x = np.asarray(vals[METHODS[a]][k])
                y = np.asarray(vals[METHODS[b]][k])
                ok = np.isfinite(x) & np.isfinite(y)
                rec = {"a": METHODS[a], "b": METHODS[b], "metric": k, "n": int(ok.sum()),
                       "statistic": None, "p": None, "p_holm": None}
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        r = stats.wilcoxon(x[ok], y[ok])
                    rec["statistic"], rec["p"] = float(r.statistic), float(r.pvalue)
                except ValueError:
                    pass
                pairs.append(rec)
        have = [p for p in pairs if p["p"] is not None]
        if have:
            adj = holm([p["p"] for p in have])
            for p, a in zip(have, adj):
                p["p_holm"] = float(a)
        golden["pairwise"] += pairs
        table = np.asarray([vals[m][k] for m in METHODS]).T
        table = table[np.all(np.isfinite(table), axis=1)]
        fr = stats.friedmanchisquare(*table.T)
        ranks = np.mean([stats.rankdata(r) for r in table], axis=0)
        golden["friedman"][k] = {"n": len(table), "statistic": float(fr.statistic), "p": float(fr.pvalue),
                                 "mean_ranks": {m: float(r) for m, r in zip(METHODS, ranks)}}
    golden["localize"] = localize_golden()
    ok = np.asarray([i != 3 for i in range(N_IMG)])
    golden["accuracy"] = float(np.mean(labels[ok] == preds[ok]))
    conf_m = np.zeros((N_CLASSES, N_CLASSES), dtype=int)
    for i in range(N_IMG):
        if ok[i]:
            conf_m[labels[i], preds[i]] += 1
    golden["confusion"] = conf_m.tolist()
    golden["n_images"] = N_IMG
    golden["skipped"] = {"unreadable": 1, "sic_min_pred": 1, "aic_blurred_pred": 1, "failed_gamma": 1}
    with open(f"{OUT}/golden.json", "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    from PIL import Image
    mask = np.zeros((48, 48), dtype=np.uint8)
    mask[8:20, 20:36] = 255
    Image.fromarray(mask).save(f"{OUT}/lesion.mask.png")
    print(f"wrote {OUT}/results.csv ({len(rows)} rows), curves_images.csv, golden.json")


if __name__ == "__main__":
    main()
