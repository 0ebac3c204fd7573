#!/usr/bin/python3
"""brain_resize_fit.py - how the brain training copies were resized: each
figshare original matched to its 224x224 training copy, and the copy
compared with the same original resized by several methods.

Why: the brain model's held-out slices are originals of many sizes, which
salient resizes to 224 px by antialiased bilinear interpolation, while the
training split holds copies a third party resized to 224 px and re-encoded
as JPEG. If the third party had resized otherwise (no antialiasing, say),
the model would have learnt a texture the held-out inputs lack. This
measures which resize the copies are closest to.

What it does
    1. Every 512x512 figshare slice of DATA/brain-tumor-masks/images is
       matched to the training image of its class whose 32x32 z-scored
       thumbnail is nearest (the original also mirrored left-right, as the
       Kaggle copies often are); matches with a thumbnail RMS distance
       below 0.1 are kept.
    2. Each kept original (mirrored when its match was) is resized to 224 px
       by each method below; a least-squares gain and offset map it onto the
       training copy's gray levels (the copies' contrast was changed too),
       and the residual RMS, in gray levels of 255, is recorded.
    3. Prints the number of pairs and the median and mean RMS per method.
       JPEG re-encoding alone leaves about 3 gray levels, so only the
       differences between methods beyond that tell.

Usage
    /usr/bin/python3 tools/brain_resize_fit.py [DATA]     (DATA: ../shared/data)
Reads only; about a minute on one core.
"""
import csv
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

SIZE = 224
MAX_THUMB_DIST = 0.1


def gray01(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=np.float32) / 255


def thumb(a):
    t = F.interpolate(torch.from_numpy(a)[None, None], size=(32, 32), mode="area")[0, 0].numpy()
    return (t - t.mean()) / (t.std() + 1e-6)


def as_batch(x):
    return torch.from_numpy(np.ascontiguousarray(x))[None, None]


def torch_resize(mode, aa):
    kw = {} if mode == "area" or mode == "nearest" else {"align_corners": False, "antialias": aa}
    return lambda x: F.interpolate(as_batch(x), size=(SIZE, SIZE), mode=mode, **kw)[0, 0].numpy()


def pil_lanczos(x):
    im = Image.fromarray((x * 255).round().astype(np.uint8)).resize((SIZE, SIZE), Image.LANCZOS)
    return np.asarray(im, dtype=np.float32) / 255


METHODS = {
    "bilinear, antialiased (salient's)": torch_resize("bilinear", True),
    "bilinear, no antialiasing (cv2 INTER_LINEAR)": torch_resize("bilinear", False),
    "bicubic, antialiased (PIL BICUBIC)": torch_resize("bicubic", True),
    "bicubic, no antialiasing": torch_resize("bicubic", False),
    "area average": torch_resize("area", False),
    "nearest": torch_resize("nearest", False),
    "PIL Lanczos": pil_lanczos,
}


def matched_pairs(data):
    train = {}
    for r in csv.DictReader(open(os.path.join(data, "brain-tumor-mri-train/labels.csv"))):
        if r["label"] != "notumor":
            a = gray01(os.path.join(data, "brain-tumor-mri-train", r["path"]))
            train.setdefault(r["label"], []).append((a, thumb(a)))
    rows = list(csv.DictReader(open(os.path.join(data, "brain-tumor-masks/labels.csv"))))
    pairs = []
    for r in rows:
        o = gray01(os.path.join(data, "brain-tumor-masks", r["path"]))
        if o.shape != (512, 512):
            continue
        to = thumb(o)
        best = None
        for a, t in train[r["label_name"]]:
            for flip, tt in ((False, to), (True, to[:, ::-1])):
                d = float(np.sqrt(((t - tt) ** 2).mean()))
                if best is None or d < best[0]:
                    best = (d, a, flip)
        if best[0] < MAX_THUMB_DIST:
            pairs.append((o[:, ::-1].copy() if best[2] else o, best[1]))
    return pairs, len(rows)


def fit_rms(y, t):
    A = np.stack([y.ravel(), np.ones(y.size, np.float32)], 1)
    c, *_ = np.linalg.lstsq(A, t.ravel(), rcond=None)
    return float(np.sqrt(((A @ c - t.ravel()) ** 2).mean()) * 255)


def main():
    torch.set_num_threads(1)
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../shared/data")
    pairs, n = matched_pairs(data)
    print("%d of %d figshare originals matched to a training copy (thumbnail distance < %g)" % (len(pairs), n, MAX_THUMB_DIST))
    print("%-46s %8s %8s" % ("resize to %d px" % SIZE, "median", "mean"))
    for name, f in METHODS.items():
        v = [fit_rms(f(o), a) for o, a in pairs]
        print("%-46s %8.2f %8.2f" % (name, np.median(v), np.mean(v)))


if __name__ == "__main__":
    main()
