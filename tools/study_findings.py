#!/usr/bin/python3
"""study_findings.py - the tables of the README section "The paper's findings,
re-measured", written from a study's summary.json files, never by hand.

    /usr/bin/python3 tools/study_findings.py results/study > results/study/FINDINGS.md
    /usr/bin/python3 tools/study_findings.py --readme README.md results/study
      (the second rewrites the lines between README's two study_findings.py
      markers)

Reads OUT/<data>/<variant>/summary.json (salient study's outputs) and
OUT/<data>/sanity/sanity_final.csv when present, and prints Markdown:

- per data set, one table of SIC and AIC per method, both variants side by
  side, next to the seed paper's values read from its figures:
  - variant `paper` (its aggregation): the AUC of the point-wise median
    curve over images, as PAIR's aggregate_individual_pic_results(
    method='median') and the paper computed it; beside it, the median of the
    per-image AUCs;
  - variant `recommended`: the mean of the per-image AUCs with its 95%
    percentile-bootstrap interval (10,000 resamples, seeded);
  - n: images scored (PIC skips images by its rules);
- what PIC's skip rules will leave of each data set's whole list, when
  tools/study_pic_skips.sh has run (OUT-pic-skips);
- which methods differ from `random` after Holm's correction (Wilcoxon
  signed-rank, two-sided, over the images both scored), per variant;
- Friedman's test over all eight methods;
- the MPRT (OUT/<data>/sanity/sanity_final.csv and sanity_steps.csv): each
  method's mean Spearman correlation with its original map once the
  classifier alone and once every block is randomised, and on how many
  images it stays above 0.9;
- why `random` scores as it does on SIC, image by image (curves_images.csv
  and results.csv): on the images both scored, how often random's SIC
  beats the method's, the median of each image's curve (normalised softmax
  y against normalised information x, drawn as PIC draws it before taking
  its area) at x = 0.1, 0.3 and 0.5 for the method and for random, and the
  median x once 5% of the pixels are revealed; then which methods' median
  y stands above random's at each x. PIC's normalisation: x = (e - e_blur)
  / (e_orig - e_blur), y = (p - p_blur) / (p_orig - p_blur), both clipped
  to [0, 1], y made monotone. (Checked: the area of curve_at's curve on
  PIC's grid equals results.csv's sic_auc to 1e-13 on every curve of the
  committed study.)

Uses only the standard library.
"""
import contextlib
import csv
import glob
import io
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from readme_block import replace_block  # noqa: E402

# The seed paper's AUCs, read from its published figures (brain AIC, brain
# SIC, X-ray AIC, X-ray SIC), as the study's protocol quotes them.
PAPER = {
    "guidedig": (0.000, 0.513, 0.000, 0.694),
    "ig": (0.000, 0.504, 0.000, 0.679),
    "sg-ig": (0.000, 0.479, 0.000, 0.618),
    "xrai": (0.073, 0.502, 0.042, 0.527),
    "gradcam": (0.000, 0.498, 0.000, 0.495),
    "gradcampp": (0.000, 0.449, 0.000, 0.463),
    "scorecam": (0.104, 0.511, 0.000, 0.447),
    "random": (0.002, 0.654, 0.000, 0.663),
}
NAMES = {"guidedig": "Guided IG", "ig": "IG", "sg-ig": "SmoothGrad-IG", "xrai": "XRAI",
         "gradcam": "Grad-CAM", "gradcampp": "Grad-CAM++", "scorecam": "Score-CAM", "random": "random"}
PAPER_COL = {"brain": (0, 1), "cxr": (2, 3)}


def f3(x):
    return "-" if x is None else "%.3f" % x


def load(path):
    return json.load(open(path)) if os.path.exists(path) else None


def cell_paper(st):
    if not st or not st.get("n"):
        return "-"
    return "%s (%s)" % (f3(st.get("curve_median_auc")), f3(st.get("median")))


def cell_recommended(st):
    if not st or not st.get("n"):
        return "-"
    if st["n"] < 2:
        return "%s (one image)" % f3(st["mean"])
    lo, hi = st["ci95"]
    return "%s [%s, %s]" % (f3(st["mean"]), f3(lo), f3(hi))


def versus_random(sm, metric):
    """Methods whose difference from random survives Holm (p_holm < 0.05)."""
    out = []
    for p in sm.get("pairwise", []):
        if p["metric"] != metric or "random" not in (p["a"], p["b"]):
            continue
        other = p["b"] if p["a"] == "random" else p["a"]
        diff = p["mean_diff"] if p["a"] == other else -p["mean_diff"]
        if p.get("p_holm") is not None and p["p_holm"] < 0.05:
            out.append("%s %s random (p_holm %.2g)" % (NAMES.get(other, other),
                                                    "above" if diff > 0 else "below", p["p_holm"]))
    return out


def smallest_holm_p(sm, metric):
    """The smallest Holm-adjusted p-value the pairwise tests of metric could
    reach, as salient wrote it (summary.json statistics.smallest_holm_p, from
    eval/summary.c's eval_min_holm_p), with the most images of any pair and
    the number of pairs with a p-value, for the wording."""
    floors = sm.get("statistics", {}).get("smallest_holm_p")
    if floors is None:
        sys.exit("study_findings.py: a summary.json without statistics.smallest_holm_p: "
                 "run the study command again to rewrite its summaries")
    pairs = [p for p in sm.get("pairwise", []) if p["metric"] == metric and p.get("p") is not None]
    n = max((p["n"] for p in pairs), default=0)
    least = floors.get(metric)
    return (1.0 if least is None else least), n, len(pairs)


def tests_line(sm, metric):
    least, n, m = smallest_holm_p(sm, metric)
    fr = sm.get("friedman", {}).get(metric, {})
    if m == 0:
        return "nothing to test: no two methods have a score on the same image."
    if least >= 0.05:
        return ("too few images for a test: with %d image(s) per pair at most, no Holm-adjusted "
                "p-value over the %d pairs can go below %.2g (Friedman: %s image(s) scored by every "
                "method)." % (n, m, least, fr.get("n", 0)))
    vs = versus_random(sm, metric)
    return "%s; Friedman chi2 = %s, p = %s over %s images." % (
        "; ".join(vs) if vs else "no method differs from random after Holm",
        f3(fr.get("statistic")), "%.2g" % fr["p"] if fr.get("p") is not None else "-", fr.get("n", "-"))


def data_section(out, data):
    pap = load(os.path.join(out, data, "paper", "summary.json"))
    rec = load(os.path.join(out, data, "recommended", "summary.json"))
    if not pap and not rec:
        return
    any_sm = pap or rec
    n_done = min(sm["n_images"] for sm in (pap, rec) if sm)
    print("### %s: %d of the %d listed images scored\n" % (data, n_done, any_sm.get("images_listed", 0)))
    for name, sm in (("paper", pap), ("recommended", rec)):
        sk = (sm or {}).get("skipped", {})
        if sk.get("sic"):
            print("- variant %s: PIC's rules left %s (SIC) and %s (AIC) of them; skipped because the "
                  "prediction was below min_pred: %d / %d, the blurred image held no less information "
                  "than the original: %d / %d, the blurred image kept the prediction: %d / %d." % (
                      name, (sm["methods"].get("random", {}).get("sic") or {}).get("n", "-"),
                      (sm["methods"].get("random", {}).get("aic") or {}).get("n", "-"),
                      sk["sic"]["min_pred"], sk["aic"]["min_pred"], sk["sic"]["blurred_info"],
                      sk["aic"]["blurred_info"], sk["sic"]["blurred_pred"], sk["aic"]["blurred_pred"]))
    whole_list_line(out, data)
    print()
    print("| method | SIC paper | SIC as the paper ran it: median curve (median AUC) | "
          "SIC recommended: mean [95% CI] | AIC paper | AIC as the paper ran it | AIC recommended | n (paper / rec.) |")
    print("|---|---|---|---|---|---|---|---|")
    ai, si = PAPER_COL.get(data, (None, None))
    for m in any_sm["methods"]:
        pm = pap["methods"].get(m, {}) if pap else {}
        rm = rec["methods"].get(m, {}) if rec else {}
        ref = PAPER.get(m)
        n = "%s / %s" % ((pm.get("sic") or {}).get("n", "-"), (rm.get("sic") or {}).get("n", "-"))
        print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            NAMES.get(m, m), f3(ref[si]) if ref and si is not None else "-",
            cell_paper(pm.get("sic")), cell_recommended(rm.get("sic")),
            f3(ref[ai]) if ref and ai is not None else "-",
            cell_paper(pm.get("aic")), cell_recommended(rm.get("aic")), n))
    print()
    for name, sm in (("paper", pap), ("recommended", rec)):
        if not sm:
            continue
        for metric in ("sic", "aic"):
            print("- %s, %s: %s" % (name, metric.upper(), tests_line(sm, metric)))
    print()
    mprt_section(out, data)


def images_left(sm, curve):
    """Images of a summary that PIC's rules left on curve ("sic" or "aic")."""
    return sm["n_images"] - sum(sm["skipped"][curve].values())


def whole_list_line(out, data):
    """What PIC's rules will leave of the whole list, from tools/study_pic_skips.sh's
    run (OUT-pic-skips: the protocol with `random` alone, every image; the
    rules do not depend on the map, so its skips are the full study's)."""
    skips = os.path.normpath(out) + "-pic-skips"
    parts = []
    for name in ("paper", "recommended"):
        sm = load(os.path.join(skips, data, name, "summary.json"))
        if sm:
            parts.append("variant %s will score %d (SIC) and %d (AIC) of its %d images" % (
                name, images_left(sm, "sic"), images_left(sm, "aic"), sm["n_images"]))
    if parts:
        print("- The whole list (`tools/study_pic_skips.sh`, `%s`; PIC's rules depend on the image, its "
              "seeded random mask and the model, never on the map, so they skip the same images there): %s." % (
                  os.path.relpath(os.path.join(skips, data)), "; ".join(parts)))


MPRT_FLAG = 0.9   # eval/mprt.h: a map still this close to the original depends little on the model


def fnum(text):
    return "-" if text in (None, "") else "%.3f" % float(text)


def mprt_section(out, data):
    """The MPRT table (salient sanity, cascading by block): per method, the
    mean Spearman correlation with the original model's map once the
    classifier alone is randomised and once every block is, and on how many
    images the final correlation stays above MPRT_FLAG."""
    folder = os.path.join(out, data, "sanity")
    final, steps = os.path.join(folder, "sanity_final.csv"), os.path.join(folder, "sanity_steps.csv")
    if not os.path.exists(final) or not os.path.exists(steps):
        done = len(glob.glob(os.path.join(folder, "*", "sanity.json")))
        print("MPRT (sanity check), %s: %s.\n" % (data, "not run yet" if not done else
              "%d image(s) done, the summary is written when all are" % done))
        return
    rows = list(csv.DictReader(open(final)))
    st = list(csv.DictReader(open(steps)))
    first = st[1] if len(st) > 1 else {}
    print("MPRT (sanity check, Adebayo et al. 2018), %s: the network's blocks randomised one after "
          "the other from the classifier down, each method's map recomputed with its study settings "
          "and compared with the original model's map (Spearman rank correlation, mean over %s "
          "images; near 0: the map depends on the learnt weights, as it should; above %.1f after "
          "every block: it does not):\n" % (data, rows[0]["images"] if rows else "0", MPRT_FLAG))
    print("| method | after %s only | after every block: mean [min, max] | images above %.1f |" % (
        first.get("module", "the first step"), MPRT_FLAG))
    print("|---|---|---|---|")
    for r in rows:
        m = r["method"]
        print("| %s | %s | %s [%s, %s] | %s of %s |" % (
            NAMES.get(m, m), fnum(first.get(m)), fnum(r["final_mean"]), fnum(r["final_min"]),
            fnum(r["final_max"]), r["flagged"], r["images"]))
    print()


# PIC's thresholds (share of pixels revealed) in curves_images.csv's column order
THRESHOLDS = (0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.07, 0.10, 0.13, 0.21, 0.34, 0.5, 0.75)
PIXELS_SHARE = 0.05           # the share of pixels at which the evidence gives each curve's information
PIXELS_AT = THRESHOLDS.index(PIXELS_SHARE)
READ_AT = (0.1, 0.3, 0.5)   # the normalised information at which the evidence reads each curve


def clip01(v):
    return min(1.0, max(0.0, v))


def sic_points(row):
    """The normalised (x, y) of one image's SIC curve at every threshold."""
    eo, eb, po, pb = (float(row[k]) for k in ("info_orig", "info_blur", "pred_orig", "pred_blur"))
    xs = [clip01((float(row["info_%d" % i]) - eb) / (eo - eb)) for i in range(len(THRESHOLDS))]
    ys, top = [], 0.0
    for i in range(len(THRESHOLDS)):
        top = max(top, clip01((float(row["pred_%d" % i]) - pb) / (po - pb)))
        ys.append(top)
    return xs, ys


def curve_at(xs, ys, x0):
    """One image's SIC curve at information x0, as PIC draws it before
    taking its area (eval/pic.c pic_interp_curve): the thresholds' points,
    then (0, 0) and (1, 1), stably sorted by x and read as numpy.interp reads
    them (from the last point with x <= x0, linearly to the next)."""
    pts = sorted(list(zip(xs, ys)) + [(0.0, 0.0), (1.0, 1.0)], key=lambda p: p[0])
    j = max(i for i, p in enumerate(pts) if p[0] <= x0)
    if j == len(pts) - 1 or pts[j][0] == x0:
        return pts[j][1]
    (xa, ya), (xb, yb) = pts[j], pts[j + 1]
    return ya + (yb - ya) * (x0 - xa) / (xb - xa)


def summarised_rows(folder):
    """results.csv's rows of the images summary.json covers: the first
    n_images images of the file (rows are appended in list order; a round
    still running may have added rows past them)."""
    sm = load(os.path.join(folder, "summary.json"))
    rows, seen = [], set()
    for r in csv.DictReader(open(os.path.join(folder, "results.csv"))):
        seen.add(r["image"])
        if sm and len(seen) > sm["n_images"]:
            break
        rows.append(r)
    return rows


def random_evidence(folder):
    """Per method, over the images it and random both scored: how many,
    on how many random's SIC is the higher, the median of each one's curve
    (curve_at) at every READ_AT information, and the median information
    each holds once PIXELS_AT of the pixels are revealed."""
    res_path, cur_path = os.path.join(folder, "results.csv"), os.path.join(folder, "curves_images.csv")
    if not (os.path.exists(res_path) and os.path.exists(cur_path)):
        return None
    sic = {(r["image"], r["method"]): float(r["sic_auc"]) for r in summarised_rows(folder) if r["sic_auc"]}
    pts = {(r["image"], r["method"]): sic_points(r) for r in csv.DictReader(open(cur_path))
           if r["kind"] == "sic" and (r["image"], r["method"]) in sic}
    methods = sorted({m for _, m in sic if m != "random"}, key=lambda m: list(NAMES).index(m) if m in NAMES else 99)
    out = []
    for m in methods:
        imgs = [i for (i, mm) in sic if mm == m and (i, "random") in sic]
        if not imgs:
            continue
        wins = sum(sic[(i, "random")] > sic[(i, m)] for i in imgs)
        at = [tuple(statistics.median(curve_at(*pts[(i, who)], x0) for i in imgs) for who in (m, "random"))
              for x0 in READ_AT]
        info = tuple(statistics.median(pts[(i, who)][0][PIXELS_AT] for i in imgs) for who in (m, "random"))
        out.append((m, len(imgs), wins, at, info))
    return out


def leaders_line(ev):
    """Which methods' median curve stands above random's at each READ_AT."""
    parts = []
    for k, x0 in enumerate(READ_AT):
        above = [NAMES.get(m, m) for m, _, _, at, _ in ev if at[k][0] > at[k][1]]
        who = "none" if not above else "all %d" % len(ev) if len(above) == len(ev) else ", ".join(above)
        parts.append("at x = %g, %s" % (x0, who))
    return "- Median softmax above random's: " + "; ".join(parts) + "."


def evidence_section(out, data):
    for name in ("paper", "recommended"):
        ev = random_evidence(os.path.join(out, data, name))
        if not ev:
            continue
        pixels = "%g%%" % (100 * PIXELS_SHARE)
        print("Why random scores as it does on SIC, %s, variant %s: each image's SIC curve (normalised "
              "softmax y against normalised information x, as PIC draws it) read at x = %s, "
              "and the information x once %s of the pixels are revealed; medians over the images both "
              "scored:\n" % (data, name, ", ".join("%g" % x0 for x0 in READ_AT), pixels))
        read = ["y at x = %g" % x0 for x0 in READ_AT]
        read[0] += ": method / random"
        cols = ["method", "n", "random's SIC higher"] + read + ["x at %s of the pixels: method / random" % pixels]
        print("| " + " | ".join(cols) + " |")
        print("|" + "---|" * len(cols))
        for m, n, wins, at, info in ev:
            cells = [NAMES.get(m, m), "%d" % n, "%d (%.0f%%)" % (wins, 100.0 * wins / n)]
            cells += ["%s / %s" % (f3(a), f3(b)) for a, b in at] + ["%s / %s" % (f3(info[0]), f3(info[1]))]
            print("| " + " | ".join(cells) + " |")
        print()
        print(leaders_line(ev))
        print()


def protocol_data(out):
    """The data sets the study's protocol names, in its order."""
    path = os.path.join(out, "protocol.study")
    if not os.path.exists(path):
        return []
    return [l.strip()[len("[data "):-1].strip() for l in open(path) if l.strip().startswith("[data ")]


def findings(out):
    done = sorted(d for d in os.listdir(out) if os.path.isdir(os.path.join(out, d)) and not d.startswith("."))
    for data in protocol_data(out) + [d for d in done if d not in protocol_data(out)]:
        if data not in done:
            print("### %s: not yet run\n" % data)
            continue
        data_section(out, data)
        evidence_section(out, data)


BEGIN, END = "<!-- study_findings.py: begin -->", "<!-- study_findings.py: end -->"


def main():
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "--readme":
        readme, out = args[1], args[2]
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            findings(out)
        replace_block(readme, BEGIN, END, "\n" + buf.getvalue())
        return
    if len(args) != 1:
        sys.exit("usage: study_findings.py STUDY_OUT  |  study_findings.py --readme README.md STUDY_OUT")
    findings(args[0])


if __name__ == "__main__":
    main()
