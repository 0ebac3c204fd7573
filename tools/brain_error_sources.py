#!/usr/bin/python3
"""brain_error_sources.py - where the brain model's held-out errors come from,
by class and by the source the image was taken from.

The Kaggle brain set merges several sources. Its tumour slices come mostly
from the figshare set of Cheng et al. (512x512 T1-CE slices); the rest
(other sizes, other contrast) from other collections. A held-out image is
"figshare" when kaggle_test_map.csv matches it confidently to a figshare
slice, and a training image when train_mask_map.csv (tools/match_train_masks.py)
does. For each class and source this prints:
  - held-out: images, correct predictions of the shipped model (`salient
    predict`, F16 weights as shipped), accuracy;
  - training: images kept, and images left out as near-duplicates of the
    held-out split (test_overlap.csv, near_dup_of_test = 1).
Notumor images have no figshare source: all count as "other".

Usage:
    /usr/bin/python3 tools/brain_error_sources.py [--data ../shared/data]
        [--train-map /work/salient-train/brain_train_masks/train_mask_map.csv]
        [--model weights/brain_resnet18.safetensors] [--json OUT.json]
"""
import argparse
import collections
import csv
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def held_out_sources(data):
    """Held-out image path (relative to brain-tumor-mri) -> 'figshare' or 'other'."""
    fig = set()
    with open(os.path.join(data, "brain-tumor-masks", "kaggle_test_map.csv")) as f:
        for r in csv.DictReader(f):
            if r["confident"].strip() == "1":
                fig.add(r["kaggle_image"].split("brain-tumor-mri/", 1)[1])
    out = {}
    with open(os.path.join(data, "brain-tumor-mri", "labels.csv")) as f:
        for r in csv.DictReader(f):
            out[r["file"]] = (r["label"], "figshare" if r["file"] in fig else "other")
    return out


def predictions(model, data, files):
    """salient predict --json on the held-out files: path -> predicted label."""
    paths = [os.path.join(data, "brain-tumor-mri", p) for p in files]
    cmd = [os.path.join(ROOT, "salient"), "predict", "-m", model, "--json"] + paths
    res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return {files[i]: r["top"][0]["label"] for i, r in enumerate(res)}


def training_sources(data, train_map):
    """Counter of (class, source, kept|excluded) over the training split."""
    fig = set()
    with open(train_map) as f:
        for r in csv.DictReader(f):
            if r["confident"] == "1":
                fig.add(r["path"])
    c = collections.Counter()
    with open(os.path.join(data, "brain-tumor-mri-train", "test_overlap.csv")) as f:
        for r in csv.DictReader(f):
            src = "figshare" if r["path"] in fig else "other"
            c[(r["label"], src, "excluded" if r["near_dup_of_test"] == "1" else "kept")] += 1
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--train-map", default="/work/salient-train/brain_train_masks/train_mask_map.csv")
    ap.add_argument("--model", default=os.path.join(ROOT, "weights", "brain_resnet18.safetensors"))
    ap.add_argument("--json", help="also write the table as JSON")
    a = ap.parse_args()
    src = held_out_sources(a.data)
    files = sorted(src)
    pred = predictions(a.model, a.data, files)
    train = training_sources(a.data, a.train_map)
    rows = []
    for cls in sorted({v[0] for v in src.values()}):
        for s in ("figshare", "other"):
            n = [f for f in files if src[f] == (cls, s)]
            if not n and not train[(cls, s, "kept")] and not train[(cls, s, "excluded")]:
                continue
            ok = sum(pred[f] == cls for f in n)
            wrong = collections.Counter(pred[f] for f in n if pred[f] != cls)
            rows.append({"class": cls, "source": s, "held_out": len(n), "correct": ok,
                         "accuracy": round(ok / len(n), 4) if n else None,
                         "errors_as": dict(wrong.most_common()),
                         "train_kept": train[(cls, s, "kept")],
                         "train_excluded_near_dup": train[(cls, s, "excluded")]})
    print("| class | source | held-out | correct | accuracy | errors as | training kept | "
          "training left out (near-dup of held-out) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        acc = "%.3f" % r["accuracy"] if r["accuracy"] is not None else "-"
        errs = ", ".join("%s %d" % kv for kv in r["errors_as"].items()) or "-"
        print("| %s | %s | %d | %d | %s | %s | %d | %d |" % (
            r["class"], r["source"], r["held_out"], r["correct"], acc, errs,
            r["train_kept"], r["train_excluded_near_dup"]))
    total = sum(r["correct"] for r in rows), sum(r["held_out"] for r in rows)
    print("accuracy %d/%d = %.4f" % (total[0], total[1], total[0] / total[1]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"model": os.path.relpath(a.model, ROOT), "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
