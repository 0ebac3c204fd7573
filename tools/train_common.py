#!/usr/bin/python3
"""train_common.py - shared pieces of tools/train_brain.py and tools/train_cxr.py.

Not run on its own. Holds the one preprocessing that salient's C code must
reproduce, the seeded augmentation, the training loop and the metrics, so both
demo models are trained and evaluated the same way.

Preprocessing (the contract with the C engine, see weights/*.md):
  1. decode to 8-bit gray (PIL convert("L"); RGB files are turned into luma
     L = (299 R + 587 G + 114 B) / 1000, as PIL does),
  2. x = gray / 255 as float32, shape (1, H, W),
  3. x = torch.nn.functional.interpolate(x[None], size=(S, S), mode="bilinear",
         align_corners=False, antialias=True)[0]       (aspect NOT kept: squash)
  4. x = (x - MEAN) / STD with one MEAN/STD for the single channel.
Steps 1-3 are done once per image into a float32 cache in /tmp (unnormalised,
in [0,1]); step 4 is applied per batch, after augmentation.

Determinism: every random draw comes from torch generators seeded from SEED
(plus python/numpy seeds for completeness); torch.use_deterministic_algorithms
is on and torch uses 2 threads.
"""
import csv
import hashlib
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

MEAN = 0.5
STD = 0.25
# where trained .pth/.json files go and where export/cards/samples read them
OUT_DIR = os.environ.get("SALIENT_MODELS_DIR", "/tmp/salient-models")
CACHE_DIR = "/tmp/salient-cache"


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(2)
    torch.set_num_interop_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=True)


class Log:
    """Prints to stdout and appends to a log file (flushed each line)."""

    def __init__(self, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.f = open(path, "a")
        self.t0 = time.time()

    def __call__(self, *args):
        msg = "[%7.1fs] " % (time.time() - self.t0) + " ".join(str(a) for a in args)
        print(msg, flush=True)
        self.f.write(msg + "\n")
        self.f.flush()


def load_gray01(path):
    """Decode any image file to a float32 tensor (1, H, W) in [0, 1] (steps 1-2)."""
    with Image.open(path) as im:
        g = np.asarray(im.convert("L"), dtype=np.uint8)
    return torch.from_numpy(g.astype(np.float32) / 255.0)[None]


def resize_sq(x, size):
    """Step 3: (1, H, W) float -> (1, S, S) float, torch antialiased bilinear."""
    return F.interpolate(x[None], size=(size, size), mode="bilinear",
                         align_corners=False, antialias=True)[0]


def preprocess_file(path, size):
    """Steps 1-4 for one file: returns the normalised (1, 1, S, S) input batch."""
    return normalize(resize_sq(load_gray01(path), size)[None])


def normalize(x):
    return (x - MEAN) / STD


def build_cache(paths, size, name, log):
    """Decode + resize every file once; cached as float32 (N, 1, S, S) in [0,1]."""
    os.makedirs(CACHE_DIR, exist_ok=True)
    key = hashlib.sha256(("\n".join(paths) + "|%d" % size).encode()).hexdigest()[:16]
    fn = os.path.join(CACHE_DIR, "%s_%d_%s.pt" % (name, size, key))
    if os.path.exists(fn):
        log("cache hit", fn)
        return torch.load(fn)
    t = time.time()
    X = torch.empty(len(paths), 1, size, size, dtype=torch.float32)
    for i, p in enumerate(paths):
        X[i] = resize_sq(load_gray01(p), size)
        if (i + 1) % 1000 == 0:
            log("  cached %d/%d" % (i + 1, len(paths)))
    torch.save(X, fn)
    log("cache built: %s %d images in %.1fs" % (fn, len(paths), time.time() - t))
    return X


def augment(x, gen, max_rot_deg, max_shift, scale_range, hflip,
            contrast_range=(1.0, 1.0), gamma_range=(1.0, 1.0)):
    """Seeded random augmentation of a batch (B,1,S,S) in [0,1]; training only.

    Geometry: rotation, isotropic scale, shift, optional horizontal flip;
    bilinear resampling with zero (black) padding.
    Intensity, per image: x -> clamp(c * x ** g, 0, 1) with contrast c and
    gamma g drawn log-uniformly from their ranges ((1, 1) = off)."""
    B = x.shape[0]
    u = torch.rand(B, 7, generator=gen)
    ang = (u[:, 0] * 2 - 1) * math.radians(max_rot_deg)
    sc = scale_range[0] + u[:, 1] * (scale_range[1] - scale_range[0])
    tx = (u[:, 2] * 2 - 1) * max_shift * 2  # normalised coords span 2
    ty = (u[:, 3] * 2 - 1) * max_shift * 2
    fl = 1.0 - 2.0 * (u[:, 4] < 0.5).float() if hflip else torch.ones(B)
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos * fl, -sin, tx], 1),
                         torch.stack([sin * fl, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                      align_corners=False)
    if contrast_range != (1.0, 1.0) or gamma_range != (1.0, 1.0):
        def loguni(v, r):
            return torch.exp(math.log(r[0]) + v * (math.log(r[1]) - math.log(r[0])))
        c = loguni(u[:, 5], contrast_range).view(B, 1, 1, 1)
        g = loguni(u[:, 6], gamma_range).view(B, 1, 1, 1)
        x = (c * x.clamp(0, 1) ** g).clamp(0, 1)
    return x


@torch.no_grad()
def predict(model, X, bs=64):
    """Softmax probabilities (N, K) for cached unnormalised inputs X (N,1,S,S)."""
    model.eval()
    out = []
    for i in range(0, X.shape[0], bs):
        out.append(torch.softmax(model(normalize(X[i:i + bs])), 1))
    return torch.cat(out)


def metrics(probs, y, classes):
    pred = probs.argmax(1)
    k = len(classes)
    cm = torch.zeros(k, k, dtype=torch.long)
    for t, p in zip(y.tolist(), pred.tolist()):
        cm[t, p] += 1
    recall = [cm[i, i].item() / max(1, cm[i].sum().item()) for i in range(k)]
    return {
        "n": int(y.numel()),
        "accuracy": round((pred == y).float().mean().item(), 4),
        "balanced_accuracy": round(sum(recall) / k, 4),
        "recall": {c: round(r, 4) for c, r in zip(classes, recall)},
        "confusion_matrix": cm.tolist(),
        "confusion_matrix_layout": "rows = true class, columns = predicted class, order = classes",
        "classes": list(classes),
    }


def train(model, Xtr, ytr, cfg, log, val=None):
    """AdamW + one-cycle schedule, label smoothing, class weights, seeded order/augment.

    cfg keys: epochs, batch, lr, wd, smoothing, seed, aug (kwargs of augment),
    class_weights (list or None). Returns per-epoch history."""
    gen = torch.Generator().manual_seed(cfg["seed"] + 1)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["wd"])
    steps_per_epoch = math.ceil(Xtr.shape[0] / cfg["batch"])
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg["lr"], epochs=cfg["epochs"], steps_per_epoch=steps_per_epoch,
        pct_start=0.2)
    w = None if cfg.get("class_weights") is None else torch.tensor(cfg["class_weights"])
    history = []
    for ep in range(cfg["epochs"]):
        model.train()
        t = time.time()
        perm = torch.randperm(Xtr.shape[0], generator=gen)
        tot, correct, seen = 0.0, 0, 0
        for bi in range(steps_per_epoch):
            idx = perm[bi * cfg["batch"]:(bi + 1) * cfg["batch"]]
            if idx.numel() < 2:  # BatchNorm needs > 1 sample
                continue
            xb = normalize(augment(Xtr[idx], gen, **cfg["aug"]))
            yb = ytr[idx]
            logits = model(xb)
            loss = F.cross_entropy(logits, yb, weight=w, label_smoothing=cfg["smoothing"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * idx.numel()
            correct += (logits.argmax(1) == yb).sum().item()
            seen += idx.numel()
            if (bi + 1) % 20 == 0:
                log("  ep %d batch %d/%d loss %.4f acc %.3f  %.1f img/s" % (
                    ep + 1, bi + 1, steps_per_epoch, tot / seen, correct / seen,
                    seen / (time.time() - t)))
        rec = {"epoch": ep + 1, "train_loss": round(tot / seen, 4),
               "train_acc": round(correct / seen, 4), "seconds": round(time.time() - t, 1)}
        if val is not None and ((ep + 1) % cfg.get("val_every", 1) == 0
                                or ep + 1 == cfg["epochs"]):
            m = metrics(predict(model, val[0]), val[1], cfg["classes"])
            rec["val_acc"] = m["accuracy"]
            rec["val_balanced_acc"] = m["balanced_accuracy"]
        history.append(rec)
        log("epoch", json.dumps(rec))
    return history


def f16_round_(model):
    """Round every floating parameter/buffer to float16 and back (the shipped weights)."""
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            if t.is_floating_point():
                t.copy_(t.half().float())
    return model


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def env_info():
    import torchvision
    return {"python": sys.version.split()[0], "torch": torch.__version__,
            "torchvision": torchvision.__version__, "threads": torch.get_num_threads()}
