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
    held-out split (test_overlap.csv, near_dup_of_test = 1);
  - with --as-training-copy, the accuracy on the held-out images re-made as the
    training copies were made (224 px, JPEG quality 75): if the errors came
    from how the held-out originals look beside the third party's copies
    (size, resampling, compression), they would fall here.
Notumor images have no figshare source: all count as "other".

Usage:
    /usr/bin/python3 tools/brain_error_sources.py [--data ../shared/data]
        [--train-map /work/salient-train/brain_train_masks/train_mask_map.csv]
        [--model weights/brain_resnet18.safetensors] [--json OUT.json]
        [--as-training-copy]
"""
import argparse
import collections
import csv
import json
import os
import subprocess
import sys
import tempfile

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


def predictions(model, data, files, paths=None):
    """salient predict --json on the held-out files (or on paths, one per file):
    path -> predicted label."""
    if paths is None:
        paths = [os.path.join(data, "brain-tumor-mri", p) for p in files]
    cmd = [os.path.join(ROOT, "salient"), "predict", "-m", model, "--json"] + paths
    res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return {files[i]: r["top"][0]["label"] for i, r in enumerate(res)}


def as_training_copies(data, files, tmp):
    """Each held-out file re-made the way the training copies were made (224 px by
    an antialiased bicubic resize, the fit of tools/brain_resize_fit.py, then
    JPEG at quality 75, the training files' quantisation tables): the copies'
    paths, in the order of files."""
    from PIL import Image
    out = []
    for i, p in enumerate(files):
        im = Image.open(os.path.join(data, "brain-tumor-mri", p)).convert("L")
        path = os.path.join(tmp, "%04d.jpg" % i)
        im.resize((224, 224), Image.BICUBIC).save(path, quality=75)
        out.append(path)
    return out


def figshare_training_paths(train_map):
    """Training paths that train_mask_map.csv matches confidently to a figshare slice."""
    with open(train_map) as f:
        return {r["path"] for r in csv.DictReader(f) if r["confident"] == "1"}


def training_sources(data, train_map):
    """Counter of (class, source, kept|excluded) over the training split."""
    fig = figshare_training_paths(train_map)
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
    ap.add_argument("--as-training-copy", action="store_true",
                    help="also predict every held-out image re-made as the training copies were "
                         "(224 px, JPEG quality 75): does the copies' look explain the errors?")
    a = ap.parse_args()
    src = held_out_sources(a.data)
    files = sorted(src)
    pred = predictions(a.model, a.data, files)
    copy_pred = None
    if a.as_training_copy:
        with tempfile.TemporaryDirectory() as tmp:
            copy_pred = predictions(a.model, a.data, files, as_training_copies(a.data, files, tmp))
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
            if copy_pred is not None:
                ok_copy = sum(copy_pred[f] == cls for f in n)
                rows[-1]["accuracy_as_training_copy"] = round(ok_copy / len(n), 4) if n else None
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
    doc = {"model": os.path.relpath(a.model, ROOT), "rows": rows}
    if copy_pred is not None:
        ok_copy = sum(copy_pred[f] == src[f][0] for f in files)
        doc["accuracy_as_training_copy"] = round(ok_copy / len(files), 4)
        print("as training copies (224 px, JPEG q75): %d/%d = %.4f; by row: %s" % (
            ok_copy, len(files), ok_copy / len(files),
            ", ".join("%s/%s %s" % (r["class"], r["source"], r["accuracy_as_training_copy"])
                      for r in rows)))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
