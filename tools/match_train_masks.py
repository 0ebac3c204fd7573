#!/usr/bin/python3
"""match_train_masks.py - tumour masks for the brain MRI Training split, by
matching each training image to its slice of the figshare brain tumour
dataset (Cheng et al.) and filling that slice's tumour border.

What it does
    The Kaggle "Brain Tumor MRI Dataset" (Nickparvar 2021) merges the figshare
    brain tumour dataset (3064 T1-CE slices with a hand-drawn tumorBorder) with
    other sources. Its copies are resized, re-encoded and often mirrored, and
    carry no mask. For every training image this script finds the figshare
    slice it is a copy of, and for confident matches writes a 0/255 tumour
    mask in the training image's own orientation and size.

Inputs (read only)
    DATA/brain-tumor-mri-train/labels.csv + <class>/Tr-*.jpg (5,708 images;
        RGB or L JPEG, converted to gray on load) and test_overlap.csv
        (its near_dup_of_test is copied into the leakage list).
    DATA/brain-tumor-masks/figshare_borders_all3064.csv: label and tumorBorder
        (x,y in 512-px coordinates; slices 955-957, 1070-1076, 1203-1207 are
        in 256-px coordinates and are doubled here).
    DATA/brain-tumor-masks/kaggle_test_map.csv: the Testing split's matches
        (used for the leakage list and for --check-test).
    FIGSHARE/{0,1,2}/N.jpg: all 3064 figshare slices as 512x512 JPEG, N = the
        figshare index, folder = YOLO class code (0 pituitary, 1 meningioma,
        2 glioma; checked against the borders CSV on every run). Extract with
          mkdir -p /tmp/figshare && git --git-dir=<mirror of nanonane/RCS-YOLO> \\
            archive HEAD dataset-brain-tumor/categorized | tar -x -C /tmp/figshare
        and pass --figshare /tmp/figshare/dataset-brain-tumor/categorized.

Matching rule
    Both sides are decoded to gray and reduced to 128x128 thumbnails by area
    averaging (--thumb; at 32 px adjacent slices of one patient correlate
    too closely and about 330 true copies fail the margin test; at 128 px
    the confident rows of kaggle_test_map.csv are reproduced 248/248).
    Each thumbnail is replaced by its ranks (ties averaged) and
    standardised, so the dot product of two of them is their Spearman rank
    correlation; all pairs are one matrix product per transform. Each
    figshare thumbnail is tried under the transforms in --transforms (default:
    all 8 symmetries of the square: none, flip_lr, flip_ud, rot90, rot180,
    rot270, transpose, transverse; a transform names what is done to the
    figshare slice to give the training image). For each training image,
    match_corr is the best correlation over slices and transforms, and
    second_best_corr the best correlation of any *other* figshare index (any
    transform). Confident = match_corr >= 0.95, match_corr - second_best_corr
    >= 0.02 and the figshare label equals the training label. This is the
    rule used for kaggle_test_map.csv (which tried none and flip_lr only).

Outputs (OUT, default /work/salient-train/brain_train_masks)
    masks/<class>/<stem>.png: 8-bit 0/255, same size as the training image.
        The polygon is filled at 512 px (PIL ImageDraw, identical to the
        reference masks/NNNN.png), transformed, area-resized to the image
        size and thresholded at 0.5.
    train_mask_map.csv: one row per training image: path, label,
        figshare_index, transform, match_corr, second_best_corr, confident,
        mask (relative to OUT; empty if not confident), mask_area_frac.
    train_test_shared_figshare.csv: confident training rows whose figshare
        slice is also the matched slice of a Testing-split image
        (kaggle_test_map.csv, confident rows): same-slice leakage.
    With --check-test, also runs the matcher on the Testing split's tumour
    images (DATA/brain-tumor-mri) and reports agreement with
    kaggle_test_map.csv; with --overlays DIR, writes 12 overlay PNGs (image
    with the mask contour in red, 2x) spread over the classes.

Caveats
    - Leakage: confident training rows whose slice is also in the Testing
      split are listed in train_test_shared_figshare.csv. Almost all of them
      are mirrored copies, which test_overlap.csv (no flips tried) misses.
    - Many figshare slices occur twice in Training, as is and mirrored:
      group by figshare_index, not by file, for any internal split.
    - figshare has no patient IDs here; neighbouring indices are usually
      neighbouring slices of one patient.

Licence
    The figshare brain tumour dataset is CC BY 4.0: Jun Cheng, "brain tumor
    dataset", figshare, doi:10.6084/m9.figshare.1512427; cite Cheng J. et al.,
    PLoS ONE 10(10): e0140870 (2015) and PLoS ONE 11(6): e0157112 (2016).
    The masks written here are derived from its tumorBorder and carry the
    same attribution. The figshare JPEGs come from the nanonane/RCS-YOLO
    repository, whose code is GPL-3.0: none of its code is used, only its
    copies of the figshare images. The Kaggle set is listed as CC0 (credit
    Nickparvar 2021).

Run (from the repository root; about 6 minutes and 2.7 GB on 2 busy cores)
    nice -n 10 /usr/bin/python3 tools/match_train_masks.py \\
        --figshare /tmp/figshare/dataset-brain-tumor/categorized \\
        [--data ../shared/data] [--out /work/salient-train/brain_train_masks] \\
        [--check-test] [--overlays /tmp/mask_overlays]
"""
import argparse
import csv
import json
import os
import sys
import time

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage
from scipy.stats import rankdata

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

THUMB = 128
MIN_CORR = 0.95
MIN_MARGIN = 0.02
BORDER_256 = set(range(955, 958)) | set(range(1070, 1077)) | set(range(1203, 1208))
FIG_CODE = {1: "meningioma", 2: "glioma", 3: "pituitary"}  # figshare label codes
YOLO_FOLDER = {"0": "pituitary", "1": "meningioma", "2": "glioma"}  # RCS-YOLO folders

# what is done to the figshare slice (an HxW array) to give the Kaggle image
TRANSFORMS = {
    "none": lambda a: a,
    "flip_lr": lambda a: a[:, ::-1],
    "flip_ud": lambda a: a[::-1, :],
    "rot90": lambda a: np.rot90(a, 1),  # counter-clockwise
    "rot180": lambda a: np.rot90(a, 2),
    "rot270": lambda a: np.rot90(a, 3),
    "transpose": lambda a: a.T,
    "transverse": lambda a: np.rot90(a, 2).T,
}


def load_gray(path):
    """Decode any JPEG (L or RGB) to a float32 gray array (ITU-R 601 luma)."""
    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=np.float32)


def thumb(gray, n=THUMB):
    """Area-averaged n x n thumbnail of a gray array."""
    return np.asarray(Image.fromarray(gray, mode="F").resize((n, n), Image.BOX),
                      dtype=np.float32)


def rank_std(x):
    """Rows -> ranks (ties averaged), centred and scaled to unit norm, so the
    dot product of two rows is their Spearman correlation."""
    r = rankdata(x, axis=1).astype(np.float64)
    r -= r.mean(axis=1, keepdims=True)
    nrm = np.linalg.norm(r, axis=1, keepdims=True)
    nrm[nrm == 0] = 1.0
    return (r / nrm).astype(np.float32)


def read_borders(path):
    csv.field_size_limit(1 << 30)
    borders, labels = {}, {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            i = int(r["figshare_index"])
            p = np.asarray(json.loads(r["tumorBorder_xy_512"]), dtype=np.float64).reshape(-1, 2)
            if i in BORDER_256:
                p = p * 2.0
            borders[i] = p
            labels[i] = FIG_CODE[int(r["label"])]
    return borders, labels


def fill_polygon(p, size=512):
    """Filled tumour border at 512 px (0/1 uint8)."""
    im = Image.new("L", (size, size), 0)
    ImageDraw.Draw(im).polygon([(float(x), float(y)) for x, y in p], fill=1, outline=1)
    return np.asarray(im, dtype=np.uint8)


def load_figshare(folder, fig_labels, n):
    idx, thumbs = [], []
    for code, name in sorted(YOLO_FOLDER.items()):
        d = os.path.join(folder, code)
        for fn in os.listdir(d):
            if not fn.endswith(".jpg"):
                continue
            i = int(fn[:-4])
            if fig_labels.get(i) != name:
                sys.exit(f"figshare {i}: folder {code} ({name}) != borders label {fig_labels.get(i)}")
            g = load_gray(os.path.join(d, fn))
            if g.shape != (512, 512):
                sys.exit(f"figshare {i}: size {g.shape}, expected 512x512")
            idx.append(i)
            thumbs.append(thumb(g, n))
    order = np.argsort(idx)
    idx = np.asarray(idx)[order]
    if len(idx) != len(fig_labels) or set(idx.tolist()) != set(fig_labels):
        sys.exit(f"figshare folder has {len(idx)} slices, borders CSV {len(fig_labels)}")
    return idx, np.stack(thumbs)[order]


def match(q_thumbs, fig_thumbs, names, chunk=1024):
    """Best figshare slice for each query thumbnail.

    Returns best index position, best transform name, best corr, best corr of
    any other index, and per-transform best corr (for reporting)."""
    q = np.concatenate([rank_std(q_thumbs[i:i + chunk].reshape(-1, q_thumbs[0].size))
                        for i in range(0, len(q_thumbs), chunk)])
    best_t = np.full((len(q), len(fig_thumbs)), -2.0, dtype=np.float32)
    arg_t = np.zeros((len(q), len(fig_thumbs)), dtype=np.int8)
    for k, name in enumerate(names):
        f = rank_std(np.stack([TRANSFORMS[name](t) for t in fig_thumbs]).reshape(len(fig_thumbs), -1))
        c = q @ f.T
        better = c > best_t
        best_t[better] = c[better]
        arg_t[better] = k
        del c, better, f
    top2 = np.argpartition(-best_t, 1, axis=1)[:, :2]
    rows = np.arange(len(q))
    v = best_t[rows[:, None], top2]
    first = np.where(v[:, 0] >= v[:, 1], top2[:, 0], top2[:, 1])
    second = np.where(v[:, 0] >= v[:, 1], top2[:, 1], top2[:, 0])
    tname = np.asarray(names)[arg_t[rows, first]]
    return first, tname, best_t[rows, first], best_t[rows, second]


def make_mask(border, tname, width, height):
    m = TRANSFORMS[tname](fill_polygon(border)).astype(np.float32)
    m = np.ascontiguousarray(m)
    if m.shape != (height, width):
        m = np.asarray(Image.fromarray(m, mode="F").resize((width, height), Image.BOX))
    return (m >= 0.5).astype(np.uint8) * 255


def run_matcher(images, fig_idx, fig_thumbs, fig_labels, names, n):
    """images: list of (path_on_disk, label). Returns list of dicts."""
    thumbs, sizes = [], []
    for p, _ in images:
        g = load_gray(p)
        sizes.append((g.shape[1], g.shape[0]))
        thumbs.append(thumb(g, n))
    first, tname, corr, second = match(np.stack(thumbs), fig_thumbs, names)
    out = []
    for k, (p, label) in enumerate(images):
        fi = int(fig_idx[first[k]])
        conf = (corr[k] >= MIN_CORR and corr[k] - second[k] >= MIN_MARGIN
                and fig_labels[fi] == label)
        out.append(dict(figshare_index=fi, transform=str(tname[k]), match_corr=float(corr[k]),
                        second_best_corr=float(second[k]), confident=int(conf),
                        fig_label=fig_labels[fi], size=sizes[k]))
    return out


def overlay(gray, mask, path):
    g = np.clip(gray, 0, 255).astype(np.uint8)
    rgb = np.stack([g, g, g], axis=-1)
    m = mask > 0
    edge = m & ~ndimage.binary_erosion(m)
    rgb[edge] = (255, 0, 0)
    Image.fromarray(rgb).resize((2 * g.shape[1], 2 * g.shape[0]), Image.NEAREST).save(path)


def contrast(gray, mask):
    """Mean intensity in the mask / mean in a ring around it (brain pixels only)."""
    m = mask > 0
    r = max(3, int(round(0.02 * gray.shape[0])))
    ring = ndimage.binary_dilation(m, iterations=r) & ~m & (gray > 0.1 * gray.max())
    if m.sum() == 0 or ring.sum() == 0:
        return float("nan")
    return float(gray[m].mean() / max(gray[ring].mean(), 1e-6))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data"))
    ap.add_argument("--figshare", default="/tmp/figshare/dataset-brain-tumor/categorized",
                    help="folder holding the extracted {0,1,2}/N.jpg figshare slices")
    ap.add_argument("--out", default="/work/salient-train/brain_train_masks")
    ap.add_argument("--transforms", default=",".join(TRANSFORMS),
                    help="comma list of transforms to try (default: all 8)")
    ap.add_argument("--thumb", type=int, default=THUMB, help="thumbnail side in px (default 128)")
    ap.add_argument("--check-test", action="store_true",
                    help="also match the Testing split and compare with kaggle_test_map.csv")
    ap.add_argument("--overlays", default="", help="write 12 overlay PNGs to this folder")
    args = ap.parse_args()
    t0 = time.time()
    names = [t.strip() for t in args.transforms.split(",") if t.strip()]
    for t in names:
        if t not in TRANSFORMS:
            sys.exit(f"unknown transform {t}; choose from {', '.join(TRANSFORMS)}")
    train_dir = os.path.join(args.data, "brain-tumor-mri-train")
    masks_dir = os.path.join(args.data, "brain-tumor-masks")
    if not os.path.isdir(os.path.join(args.figshare, "0")):
        sys.exit(f"no figshare slices under {args.figshare}; see the docstring for how to extract them")

    borders, fig_labels = read_borders(os.path.join(masks_dir, "figshare_borders_all3064.csv"))
    fig_idx, fig_thumbs = load_figshare(args.figshare, fig_labels, args.thumb)
    print(f"figshare: {len(fig_idx)} slices, folder codes agree with the borders labels "
          f"({time.time() - t0:.1f}s)")

    with open(os.path.join(train_dir, "labels.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    with open(os.path.join(train_dir, "test_overlap.csv"), newline="") as f:
        near_dup = {r["path"]: int(r["near_dup_of_test"]) for r in csv.DictReader(f)}
    res = run_matcher([(os.path.join(train_dir, r["path"]), r["label"]) for r in rows],
                      fig_idx, fig_thumbs, fig_labels, names, args.thumb)
    print(f"training: {len(rows)} images matched ({time.time() - t0:.1f}s)")

    os.makedirs(args.out, exist_ok=True)
    out_rows = []
    for r, m in zip(rows, res):
        mask_rel, frac = "", ""
        if m["confident"]:
            w, h = m["size"]
            mk = make_mask(borders[m["figshare_index"]], m["transform"], w, h)
            stem = os.path.splitext(os.path.basename(r["path"]))[0]
            mask_rel = f"masks/{r['label']}/{stem}.png"
            os.makedirs(os.path.join(args.out, "masks", r["label"]), exist_ok=True)
            Image.fromarray(mk).save(os.path.join(args.out, mask_rel), optimize=True)
            frac = f"{(mk > 0).mean():.5f}"
            m["mask_arr"] = mk
        out_rows.append(dict(path=r["path"], label=r["label"], figshare_index=m["figshare_index"],
                             transform=m["transform"], match_corr=f"{m['match_corr']:.4f}",
                             second_best_corr=f"{m['second_best_corr']:.4f}",
                             confident=m["confident"], mask=mask_rel, mask_area_frac=frac))
    cols = ["path", "label", "figshare_index", "transform", "match_corr", "second_best_corr",
            "confident", "mask", "mask_area_frac"]
    with open(os.path.join(args.out, "train_mask_map.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(out_rows)

    # ---- summary
    conf = [(r, m) for r, m in zip(rows, res) if m["confident"]]
    print("\nconfident matches per class (of all training images):")
    for c in ["glioma", "meningioma", "notumor", "pituitary"]:
        n = sum(1 for r in rows if r["label"] == c)
        k = sum(1 for r, _ in conf if r["label"] == c)
        print(f"  {c:11s} {k:5d} / {n}")
    print(f"  total       {len(conf):5d} / {len(rows)}")
    tc = {}
    for _, m in conf:
        tc[m["transform"]] = tc.get(m["transform"], 0) + 1
    print("transforms of the confident matches:", dict(sorted(tc.items(), key=lambda x: -x[1])))
    mc = np.array([m["match_corr"] for _, m in conf])
    if len(mc):
        print("match_corr of confident: min %.4f p5 %.4f median %.4f max %.4f" %
              (mc.min(), np.percentile(mc, 5), np.median(mc), mc.max()))
    allc = np.array([m["match_corr"] for m in res])
    marg = np.array([m["match_corr"] - m["second_best_corr"] for m in res])
    print("match_corr, all rows, histogram:")
    edges = [-1, 0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99, 1.01]
    hist = np.histogram(allc, bins=edges)[0]
    for a, b, n in zip(edges[:-1], edges[1:], hist):
        print(f"  [{a:5.2f}, {min(b, 1):4.2f}) {n}")
    why = {"corr<0.95": 0, "margin<0.02": 0, "label differs": 0}
    for r, m, mg in zip(rows, res, marg):
        if m["confident"] or r["label"] == "notumor":
            continue
        if m["match_corr"] < MIN_CORR:
            why["corr<0.95"] += 1
        elif mg < MIN_MARGIN:
            why["margin<0.02"] += 1
        else:
            why["label differs"] += 1
    print("tumour rows not confident, first failing test:", why)
    nt = [(r, m) for r, m in zip(rows, res) if r["label"] == "notumor" and m["match_corr"] >= MIN_CORR]
    print(f"notumor rows with match_corr >= {MIN_CORR}: {len(nt)}")
    for r, m in nt[:10]:
        print(f"   {r['path']} -> {m['figshare_index']} ({m['fig_label']}) {m['match_corr']:.4f}")
    fi_count = {}
    for _, m in conf:
        fi_count[m["figshare_index"]] = fi_count.get(m["figshare_index"], 0) + 1
    print(f"distinct figshare slices among confident: {len(fi_count)}; "
          f"slices matched by >1 training image: {sum(1 for v in fi_count.values() if v > 1)} "
          f"({sum(v for v in fi_count.values() if v > 1)} rows)")
    fr = np.array([float(o["mask_area_frac"]) for o in out_rows if o["mask"]])
    if len(fr):
        print("mask_area_frac: min %.4f median %.4f max %.4f; empty masks %d" %
              (fr.min(), np.median(fr), fr.max(), int((fr == 0).sum())))

    # ---- contrast check: mask vs surrounding brain
    print("mask mean / ring mean (brain pixels), per class:")
    for c in ["glioma", "meningioma", "pituitary"]:
        ratios = []
        for r, m in conf:
            if r["label"] == c:
                ratios.append(contrast(load_gray(os.path.join(train_dir, r["path"])), m["mask_arr"]))
        ratios = np.array(ratios)
        ratios = ratios[np.isfinite(ratios)]
        if len(ratios):
            print(f"  {c:11s} n={len(ratios)} median {np.median(ratios):.3f} "
                  f"inside brighter: {(ratios > 1).mean() * 100:.1f}%  "
                  f"p10 {np.percentile(ratios, 10):.3f} p90 {np.percentile(ratios, 90):.3f}")

    # ---- leakage: same figshare slice as a Testing-split image
    tmap = {}
    with open(os.path.join(masks_dir, "kaggle_test_map.csv"), newline="") as f:
        test_rows = list(csv.DictReader(f))
    for t in test_rows:
        if t["confident"] == "1":
            tmap.setdefault(int(t["figshare_index"]), []).append(os.path.basename(t["kaggle_image"]))
    shared = [(r, m) for r, m in conf if m["figshare_index"] in tmap]
    with open(os.path.join(args.out, "train_test_shared_figshare.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "figshare_index", "test_images", "near_dup_of_test"])
        for r, m in shared:
            w.writerow([r["path"], r["label"], m["figshare_index"], " ".join(tmap[m["figshare_index"]]),
                        near_dup.get(r["path"], "")])
    print(f"\nleakage: {len(shared)} confident training rows share a figshare slice with a "
          f"Testing-split image ({len(set(m['figshare_index'] for _, m in shared))} slices); "
          f"of these, near_dup_of_test=1: {sum(near_dup.get(r['path'], 0) for r, _ in shared)}")
    for c in ["glioma", "meningioma", "pituitary"]:
        print(f"  {c:11s} {sum(1 for r, _ in shared if r['label'] == c)}")
    test_idx = np.array(sorted(tmap))
    adj = [m for _, m in conf if m["figshare_index"] not in tmap and len(test_idx)
           and np.abs(test_idx - m["figshare_index"]).min() <= 1]
    print(f"  further {len(adj)} confident training rows are at figshare index +-1 of a test slice "
          f"(likely the same patient; patient IDs are not available)")

    # ---- overlays
    if args.overlays:
        os.makedirs(args.overlays, exist_ok=True)
        picks = []
        for c in ["glioma", "meningioma", "pituitary"]:
            cc = [(r, m) for r, m in conf if r["label"] == c]
            odd = [x for x in cc if x[1]["transform"] not in ("none", "flip_lr")]
            step = [cc[int(j)] for j in np.linspace(0, len(cc) - 1, 4)] if cc else []
            sel = (odd[:1] + step)[:4] if odd else step[:4]
            picks += sel
        for r, m in picks:
            stem = os.path.splitext(os.path.basename(r["path"]))[0]
            overlay(load_gray(os.path.join(train_dir, r["path"])), m["mask_arr"],
                    os.path.join(args.overlays, f"{r['label']}_{stem}_{m['figshare_index']}_{m['transform']}.png"))
        print(f"\n{len(picks)} overlays written to {args.overlays}")

    # ---- Testing split check
    if args.check_test:
        test_dir = os.path.join(args.data, "brain-tumor-mri")
        with open(os.path.join(test_dir, "labels.csv"), newline="") as f:
            trows = [r for r in csv.DictReader(f) if r["label"] != "notumor"]
        tres = run_matcher([(os.path.join(test_dir, r["file"]), r["label"]) for r in trows],
                           fig_idx, fig_thumbs, fig_labels, names, args.thumb)
        mine = {"brain-tumor-mri/" + r["file"]: m for r, m in zip(trows, tres)}
        n = agree = agree_idx = conf_same = 0
        diffs = []
        for t in test_rows:
            m = mine.get(t["kaggle_image"])
            if m is None:
                diffs.append((t["kaggle_image"], "not matched here"))
                continue
            conf_same += int(str(m["confident"]) == t["confident"])
            if t["confident"] != "1":
                continue
            n += 1
            flip = {"none": "0", "flip_lr": "1"}.get(m["transform"], m["transform"])
            same_idx = m["figshare_index"] == int(t["figshare_index"])
            agree_idx += same_idx
            if same_idx and flip == t["flip_lr"] and m["confident"]:
                agree += 1
            else:
                diffs.append((t["kaggle_image"], f"map {t['figshare_index']}/flip{t['flip_lr']} "
                              f"here {m['figshare_index']}/{m['transform']} conf={m['confident']} "
                              f"{m['match_corr']:.4f}"))
        tconf = sum(m["confident"] for m in tres)
        print(f"\nTesting split: {len(trows)} tumour images, {tconf} confident here; "
              f"kaggle_test_map.csv rows {len(test_rows)} (confident {sum(t['confident'] == '1' for t in test_rows)})")
        print(f"  map-confident rows: same figshare index {agree_idx}/{n}, "
              f"same index + flip + confident here {agree}/{n}; confident flag agrees on "
              f"{conf_same}/{len(test_rows)}")
        extra = [(r, m) for r, m in zip(trows, tres)
                 if m["confident"] and ("brain-tumor-mri/" + r["file"]) not in
                 {t["kaggle_image"] for t in test_rows if t["confident"] == "1"}]
        print(f"  confident here but not in the map: {len(extra)}")
        for r, m in extra[:10]:
            print(f"    {r['file']} {r['label']} -> {m['figshare_index']} {m['transform']} {m['match_corr']:.4f}")
        for d in diffs:
            print("    differs:", *d)
    print(f"\ndone in {time.time() - t0:.1f}s; wrote {args.out}")


if __name__ == "__main__":
    main()
