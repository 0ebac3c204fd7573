#!/usr/bin/python3
"""brain_split_intensity.py - are the brain set's Training and Testing copies
of the same source equally bright?

Why: the held-out tumour slices (the Kaggle Testing split) look brighter than
the training ones (mean gray, glioma 0.22 vs 0.12 at 224 px), and dimming the
held-out inputs (x0.7) raises the model's accuracy. Most tumour slices of both
splits are copies of one source, the figshare set of Cheng et al., so each copy
can be compared with its own figshare slice: the gain and offset that map the
figshare slice onto the copy tell how each split's copies were changed.

What it does
    For every confidently matched copy (Training: train_mask_map.csv of
    tools/match_train_masks.py, every --every'th row; Testing: the 248 rows of
    brain-tumor-masks/kaggle_test_map.csv), the figshare slice is put in the
    copy's orientation, both are resized to 224 px (antialiased bicubic, the
    fit of tools/brain_resize_fit.py) and a least-squares line
    copy = gain x figshare + offset is fitted over all pixels (gray in [0,1]).
    Prints and writes, per split and class, n and the median, 10th and 90th
    percentile of the gain and the median offset. Then, for every held-out
    image and every training image (notumor and other sources included,
    near-duplicates of held-out images left out as in training),
    the median of the images' mean gray at 224 px, per split, class and
    source (figshare = confidently matched).

Inputs (read only): DATA as for tools/match_train_masks.py, the figshare
slices (FIGSHARE/{0,1,2}/N.jpg; see match_train_masks.py for where they come
from) and its train_mask_map.csv.

Usage
    /usr/bin/python3 tools/brain_split_intensity.py [--data ../shared/data]
        [--figshare /tmp/figshare/dataset-brain-tumor/categorized]
        [--train-map /work/salient-train/brain_train_masks/train_mask_map.csv]
        [--every 5] [--json results/brain-split-intensity.json]
About two minutes on one core.
"""
import argparse
import collections
import csv
import json
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brain_error_sources import figshare_training_paths, held_out_sources  # noqa: E402
from match_train_masks import TRANSFORMS  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
YOLO_CODE = {"pituitary": 0, "meningioma": 1, "glioma": 2}
SIZE = 224


def gray224(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("L").resize((SIZE, SIZE), Image.BICUBIC), np.float64) / 255


def figshare_slice(figshare, label, index, transform):
    """The figshare slice in the copy's orientation (the transform is applied at
    512 px, before the resize, as match_train_masks.py defines it)."""
    with Image.open(os.path.join(figshare, str(YOLO_CODE[label]), "%s.jpg" % index)) as im:
        a = np.asarray(im.convert("L"))
    a = np.ascontiguousarray(TRANSFORMS[transform](a))
    return np.asarray(Image.fromarray(a).resize((SIZE, SIZE), Image.BICUBIC), np.float64) / 255


def gain_offset(src, copy):
    A = np.stack([src.ravel(), np.ones(src.size)], 1)
    (g, o), *_ = np.linalg.lstsq(A, copy.ravel(), rcond=None)
    return float(g), float(o)


def pairs(data, train_map, every):
    """(split, label, copy path, figshare index, transform) of the matched copies."""
    rows = [r for r in csv.DictReader(open(train_map)) if r["confident"] == "1"]
    for r in rows[::every]:
        yield ("training", r["label"], os.path.join(data, "brain-tumor-mri-train", r["path"]),
               r["figshare_index"], r["transform"])
    with open(os.path.join(data, "brain-tumor-masks", "kaggle_test_map.csv")) as f:
        for r in csv.DictReader(f):
            if r["confident"].strip() != "1":
                continue
            label = r["kaggle_image"].split("/")[2]
            yield ("testing", label, os.path.join(data, r["kaggle_image"]), r["figshare_index"],
                   "flip_lr" if r["flip_lr"] == "1" else "none")


def mean_grays(data, train_map):
    """Median mean gray at 224 px per (split, class, source), all sources."""
    fig_train = figshare_training_paths(train_map)
    means = collections.defaultdict(list)
    for path, (label, src) in held_out_sources(data).items():
        means[("testing", label, src)].append(gray224(os.path.join(data, "brain-tumor-mri", path)).mean())
    with open(os.path.join(data, "brain-tumor-mri-train", "test_overlap.csv")) as f:
        kept = [r for r in csv.DictReader(f) if r["near_dup_of_test"] == "0"]
    for r in kept:
        src = "figshare" if r["path"] in fig_train else "other"
        means[("training", r["label"], src)].append(
            gray224(os.path.join(data, "brain-tumor-mri-train", r["path"])).mean())
    return [{"split": k[0], "class": k[1], "source": k[2], "n": len(v),
             "mean_gray_median": round(float(np.median(v)), 3)} for k, v in sorted(means.items())]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--figshare", default="/tmp/figshare/dataset-brain-tumor/categorized")
    ap.add_argument("--train-map", default="/work/salient-train/brain_train_masks/train_mask_map.csv")
    ap.add_argument("--every", type=int, default=5, help="every N-th matched training copy")
    ap.add_argument("--json", help="also write the table as JSON")
    a = ap.parse_args()
    fits = collections.defaultdict(list)
    for split, label, path, index, transform in pairs(a.data, a.train_map, a.every):
        fits[(split, label)].append(gain_offset(figshare_slice(a.figshare, label, index, transform),
                                                gray224(path)))
    rows = []
    print("| split | class | n | gain: median [p10, p90] | offset: median |")
    print("|---|---|---|---|---|")
    for (split, label), v in sorted(fits.items()):
        g, o = np.array(v).T
        r = {"split": split, "class": label, "n": len(v),
             "gain_median": round(float(np.median(g)), 3),
             "gain_p10": round(float(np.percentile(g, 10)), 3),
             "gain_p90": round(float(np.percentile(g, 90)), 3),
             "offset_median": round(float(np.median(o)), 3)}
        rows.append(r)
        print("| %s | %s | %d | %.3f [%.3f, %.3f] | %.3f |" % (
            split, label, r["n"], r["gain_median"], r["gain_p10"], r["gain_p90"], r["offset_median"]))
    grays = mean_grays(a.data, a.train_map)
    print("\n| split | class | source | n | mean gray: median |\n|---|---|---|---|---|")
    for r in grays:
        print("| %s | %s | %s | %d | %.3f |" % (r["split"], r["class"], r["source"], r["n"],
                                             r["mean_gray_median"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"every_training_row": a.every, "size": SIZE, "rows": rows,
                       "mean_gray": grays}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
