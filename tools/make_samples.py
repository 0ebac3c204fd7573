#!/usr/bin/python3
"""make_samples.py - choose and copy the bundled sample images; write golden_probs.json.

Run after tools/export_models.py (it needs weights/*.safetensors):
    nice -n 19 /usr/bin/python3 tools/make_samples.py            # samples + golden
    nice -n 19 /usr/bin/python3 tools/make_samples.py --golden-only
    nice -n 19 /usr/bin/python3 tools/make_samples.py --samples-only

Samples (chosen without looking at any prediction: sorted by name, evenly spaced):
  tests/data/samples/brain/<class>/*.png   8 per class from ../shared/data/brain-tumor-mri
      (held out from training), only images whose nearest training image is at
      thumbnail distance >= 0.25 in brain-tumor-mri-train/test_overlap.csv, so
      neither a same-slice twin (< 0.15) nor, mostly, an adjacent slice is in training.
      Tumour classes take only slices with a tumour mask (brain-tumor-masks,
      kaggle_test_map.csv, confident matches); the mask is shipped beside the
      image as <name>.mask.png (0/255, resized to the image's size by nearest
      neighbour), so `evaluate` scores localisation on the bundled samples.
  tests/data/samples/cxr/<class>/*.png     8 per class from the patient-wise held-out
      split of ../shared/data/cxr-train (tools/train_cxr.py split, seed 0), `orig`
      tier only (not the double-compressed squashed copies), one image per patient.
  Each image is decoded to 8-bit gray and, if its longer side exceeds 256 px,
  resized with PIL LANCZOS so that side is 256 (aspect kept); saved as PNG.
  labels.txt (class names, one per line, in model order) next to each set.

Golden: tests/data/samples/golden_probs.json holds, for every bundled PNG, torch's
softmax probabilities with the shipped F16 weights (read from weights/*.safetensors,
converted to float32), computed in float32 from the PNG file itself:
    x = png_gray / 255 (float32, shape 1x1xHxW)
    x = F.interpolate(x, size=(S,S), mode="bilinear", align_corners=False, antialias=True)
    x = (x - mean) / std ;  p = softmax(model(x))
It also records, per model, the largest difference between these float32
probabilities and a float64 run of the same computation (preprocessing and
network), as a measure of float32 rounding noise for choosing test tolerances.
"""
import argparse
import json
import os
import sys

import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_common as tc  # noqa: E402
import train_brain  # noqa: E402
import train_cxr  # noqa: E402
from export_models import load_shipped, sha256_file  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SAMPLES = os.path.join(ROOT, "tests", "data", "samples")
PER_CLASS = 8
MAX_SIDE = 256
BRAIN_MIN_DIST = 0.25


def evenly(items, k):
    n = len(items)
    assert n >= k, "only %d candidates for %d samples" % (n, k)
    return [items[int((i + 0.5) * n / k)] for i in range(k)]


MASKS_DIR = os.path.join(train_brain.DATA, "brain-tumor-masks")


def brain_masks():
    """Held-out file name -> path of its tumour mask (confident matches only)."""
    rows = tc.read_csv(os.path.join(MASKS_DIR, "kaggle_test_map.csv"))
    return {os.path.basename(r["kaggle_image"]): os.path.join(MASKS_DIR, r["mask"])
            for r in rows if r["confident"] == "1" and r["mask"]}


def brain_choice():
    _, best = train_brain.test_near_dups()
    masks = brain_masks()
    rows = tc.read_csv(os.path.join(train_brain.TEST_DIR, "labels.csv"))
    out = []
    for c in train_brain.CLASSES:
        cand = sorted((r for r in rows if r["label"] == c
                       and best.get(os.path.basename(r["file"]), 9.0) >= BRAIN_MIN_DIST
                       and (c == "notumor" or os.path.basename(r["file"]) in masks)),
                      key=lambda r: r["file"])
        for r in evenly(cand, PER_CLASS):
            out.append((c, os.path.join(train_brain.TEST_DIR, r["file"]), r["file"],
                        masks.get(os.path.basename(r["file"]))))
    return out


def cxr_choice():
    rows = tc.read_csv(os.path.join(train_cxr.TRAIN_DIR, "labels.csv"))
    _, held = train_cxr.split_by_patient(rows, train_cxr.HELD_OUT_FRAC, 0)
    out = []
    for c in train_cxr.CLASSES:
        per_patient = {}
        for r in sorted(held, key=lambda r: r["path"]):
            if r["label"] == c and r["tier"] == "orig":
                per_patient.setdefault(r["patient_id"], r)
        cand = sorted(per_patient.values(), key=lambda r: r["path"])
        for r in evenly(cand, PER_CLASS):
            out.append((c, os.path.join(train_cxr.TRAIN_DIR, r["path"]), r["path"], None))
    return out


def copy_samples(kind, chosen, classes):
    rows = []
    for c, src, rel, mask in chosen:
        im = Image.open(src).convert("L")
        w, h = im.size
        if max(w, h) > MAX_SIDE:
            s = MAX_SIDE / max(w, h)
            im = im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS)
        d = os.path.join(SAMPLES, kind, c)
        os.makedirs(d, exist_ok=True)
        for old in os.listdir(d):  # the previous choice
            if old.endswith(".png") and not any(os.path.basename(src)[:-4] in old for _, src, _, _ in chosen):
                os.remove(os.path.join(d, old))
        dst = os.path.join(d, os.path.splitext(os.path.basename(src))[0] + ".png")
        im.save(dst, optimize=True)
        if mask:
            mk = Image.open(mask).convert("L").point(lambda v: 255 if v else 0)
            mk.resize(im.size, Image.NEAREST).save(dst[:-4] + ".mask.png", optimize=True)
        rows.append((os.path.relpath(dst, os.path.join(SAMPLES, kind)), c, rel,
                     "%dx%d" % (w, h), "%dx%d" % im.size))
    with open(os.path.join(SAMPLES, kind, "labels.txt"), "w") as f:
        f.write("\n".join(classes) + "\n")
    with open(os.path.join(SAMPLES, kind, "samples.csv"), "w") as f:
        f.write("file,label,source,source_size,size\n")
        for r in rows:
            f.write(",".join(r) + "\n")
    print("%s: %d samples" % (kind, len(rows)))


def golden():
    models = [("brain_resnet18", "brain", train_brain.make_model, train_brain.CLASSES),
              ("cxr_densenet121", "cxr", train_cxr.make_model, train_cxr.CLASSES)]
    out = {"generator": "tools/make_samples.py", "env": tc.env_info(),
           "preprocessing": "x = png_gray/255 (float32, 1x1xHxW); x = F.interpolate(x, "
                            "size=(S,S), mode='bilinear', align_corners=False, antialias=True); "
                            "with metadata intensity_percentile P: x = clamp(x / quantile(x, P/100), 0, 1); "
                            "x = (x - mean)/std; p = softmax(model(x))",
           "models": []}
    for name, kind, make_model, classes in models:
        wpath = os.path.join(ROOT, "weights", name + ".safetensors")
        model, meta = load_shipped(make_model, wpath)
        S, mean, std = int(meta["input_size"]), float(meta["mean"]), float(meta["std"])
        pct = float(meta.get("intensity_percentile", 0)) or None

        def scaled(x):  # the metadata's per-image intensity scale, if any
            return tc.scale_intensity(x, pct) if pct else x
        m64 = load_shipped(make_model, wpath)[0].double()
        rows = tc.read_csv(os.path.join(SAMPLES, kind, "samples.csv"))
        samples, worst = [], 0.0
        with torch.no_grad():
            for r in rows:
                path = os.path.join(SAMPLES, kind, r["file"])
                x = scaled(tc.resize_sq(tc.load_gray01(path), S)[None])
                p = torch.softmax(model((x - mean) / std), 1)[0]
                x64 = tc.load_gray01(path).double()
                x64 = scaled(tc.resize_sq(x64, S)[None])
                p64 = torch.softmax(m64((x64 - mean) / std), 1)[0]
                worst = max(worst, (p.double() - p64).abs().max().item())
                samples.append({"file": os.path.relpath(path, ROOT), "label": r["label"],
                                "probs": [float(v) for v in p.tolist()],
                                "pred": classes[int(p.argmax())]})
        acc = sum(s["pred"] == s["label"] for s in samples) / len(samples)
        out["models"].append({
            "name": name, "weights": os.path.relpath(wpath, ROOT),
            "weights_sha256": sha256_file(wpath), "labels": classes,
            "input_size": S, "mean": mean, "std": std, "in_channels": 1,
            "intensity_percentile": pct,
            "max_abs_diff_f32_vs_f64": worst, "sample_accuracy": round(acc, 4),
            "samples": samples})
        print("%s: %d samples, accuracy %.3f, max |p32 - p64| = %.3g" % (
            name, len(samples), acc, worst))
    tc.write_json(os.path.join(SAMPLES, "golden_probs.json"), out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--golden-only", action="store_true")
    ap.add_argument("--samples-only", action="store_true")
    args = ap.parse_args()
    tc.seed_everything(0)
    if not args.golden_only:
        copy_samples("brain", brain_choice(), train_brain.CLASSES)
        copy_samples("cxr", cxr_choice(), train_cxr.CLASSES)
    if not args.samples_only:
        golden()


if __name__ == "__main__":
    main()
