#!/usr/bin/python3
"""bench_evaluate.py - seconds per image per method for a whole evaluation:
`salient evaluate` against the reference Python stack, same machine, same
thread count, same model, images and settings.

Usage (references fetched outside the repo, as for tools/bench_methods.py):
  SALIENT_REF=/tmp/ref /usr/bin/python3 tools/bench_evaluate.py \
      [--model weights/cxr_densenet121.safetensors --arch densenet121 --data tests/data/samples/cxr]
      [--methods gradient,ig,gradcam,scorecam,xrai,random] [--limit 4] [--threads 2]
      [--insdel-steps 28] [--json out.json]

What "a whole evaluation" is, per image and method, on both sides:
  1. the saliency map (salient: the engine; reference: PAIR-code/saliency
     7b72b673 for gradient/ig/xrai, pytorch-grad-cam 084273b3 for the CAMs,
     numpy for random), every method at its default
     (ig 25 steps, xrai 2 x 100 steps, PAIR with batch_size 16);
  2. SIC and AIC: salient's PIC against PAIR's pic.compute_pic_metric called
     twice (softmax probability for SIC, top-1 accuracy for AIC, as PAIR's
     notebook does), WebP information, min_pred 0.8, the 13 thresholds, a
     1% random mask;
  3. insertion (from RISE's blurred image) and deletion (to zeros) with
     step ceil(H*W / insdel_steps): salient's eval/insdel.c against the torch
     loop of RISE's CausalMetric (tools/make_pic_golden.py causal_game, one
     image per network call as RISE does).
Salient's figure is the mean of results.csv's `seconds` (the map and all its
metrics, per image and method; reading and predicting the image once and
its fully blurred PIC image are shared by the methods and not counted - the
reference's per-image prediction is not counted either). The reference's is
the mean wall time of steps 1-3. Both see the same images: the ones
salient's results.csv lists, preprocessed as salient does (gray, torch's
antialiased bilinear resize to the model's size, the model's mean/std).
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
REF = os.environ.get("SALIENT_REF", "/tmp/ref")
os.environ.setdefault("PAIR_SALIENCY", REF)
sys.path.insert(0, REF)
from bench_methods import pair_call  # noqa: E402
from export_models import load_shipped  # noqa: E402
from make_pic_golden import THRESHOLDS, causal_game, gkern, rise_auc  # noqa: E402
import train_common as tc  # noqa: E402

STEPS = {"ig": 25, "xrai": 100}


def make_model(arch, classes):
    def make():
        if arch.startswith("resnet"):
            m = getattr(torchvision.models, arch)(num_classes=classes)
            m.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
        else:
            m = getattr(torchvision.models, arch)(num_classes=classes)
            m.features.conv0 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
        return m
    return make


def run_salient(a, out):
    args = [a.salient, "evaluate", "-m", a.model, "-d", a.data, "-M", a.methods, "--limit", str(a.limit),
            "--threads", str(a.threads), "--insdel-steps", str(a.insdel_steps), "-o", out]
    t0 = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    with open(os.path.join(out, "results.csv")) as f:
        rows = list(csv.DictReader(f))
    return rows, wall


def reference_map(name, model, x, target, arch, black_value):
    """(H,W) map of one method for x (1,1,S,S); PAIR's and pytorch-grad-cam's own calls."""
    import saliency.core as sc
    from pytorch_grad_cam import GradCAM, ScoreCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    xh = x[0].permute(1, 2, 0).numpy().astype(np.float32)
    call = pair_call(model, target)
    if name == "gradient":
        return np.abs(sc.GradientSaliency().GetMask(xh, call)).sum(2)
    if name == "ig":
        black = np.full_like(xh, black_value)  # salient's --baseline black: (0 - mean) / std
        return np.abs(sc.IntegratedGradients().GetMask(xh, call, x_steps=STEPS["ig"], x_baseline=black,
                                                       batch_size=16)).sum(2)
    if name == "xrai":
        return sc.XRAI().GetMask(xh, call, batch_size=16)
    if name == "random":
        return np.random.default_rng(0).random(xh.shape[:2]).astype(np.float32)
    layer = model.layer4 if arch.startswith("resnet") else model.features.norm5
    cls = {"gradcam": GradCAM, "scorecam": ScoreCAM}[name]
    for p in model.parameters():
        p.requires_grad_(True)
    cam = cls(model=model, target_layers=[layer])
    if name == "scorecam":
        cam.batch_size = 16
    m = cam(input_tensor=x.clone(), targets=[ClassifierOutputTarget(target)])[0]
    for p in model.parameters():
        p.requires_grad_(False)
    return m


def reference_metrics(smap, img_u8, model, x, target, mean, std, insdel_steps):
    """PAIR's SIC and AIC, RISE's insertion and deletion, for one map."""
    from saliency.metrics import pic

    def to_input(imgs):
        t = torch.from_numpy(np.ascontiguousarray(imgs)).float()[:, None]
        return (t / 255 - mean) / std

    def sic_fn(imgs):
        with torch.no_grad():
            return torch.softmax(model(to_input(imgs)), 1)[:, target].double().numpy()

    def aic_fn(imgs):
        with torch.no_grad():
            return (model(to_input(imgs)).argmax(1) == target).double().numpy()
    t0 = time.perf_counter()
    rmask = pic.generate_random_mask(image_height=img_u8.shape[0], image_width=img_u8.shape[1], fraction=0.01)
    for fn in (sic_fn, aic_fn):
        try:
            pic.compute_pic_metric(img=img_u8, saliency_map=smap, random_mask=rmask, pred_func=fn,
                                   saliency_thresholds=THRESHOLDS, min_pred_value=0.8)
        except pic.ComputePicMetricError:
            pass  # a skipped curve (salient reports the same reasons)
    t1 = time.perf_counter()
    H, W = smap.shape
    step = (H * W + insdel_steps - 1) // insdel_steps
    order = np.flip(np.argsort(smap.reshape(-1), kind="stable"))
    kern = gkern(11, 5, 1)
    blur = lambda t: torch.nn.functional.conv2d(t, kern, padding=11 // 2)  # noqa: E731
    rise_auc(causal_game(model, x, order, target, blur, True, step))
    rise_auc(causal_game(model, x, order, target, torch.zeros_like, False, step))
    return t1 - t0, time.perf_counter() - t1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, "weights", "cxr_densenet121.safetensors"))
    ap.add_argument("--arch", default="densenet121")
    ap.add_argument("--data", default=os.path.join(ROOT, "tests", "data", "samples", "cxr"))
    ap.add_argument("--methods", default="gradient,ig,gradcam,scorecam,xrai,random")
    ap.add_argument("--limit", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--insdel-steps", type=int, default=28)
    ap.add_argument("--salient", default=os.path.join(ROOT, "salient"))
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        rows, wall = run_salient(a, os.path.join(tmp, "out"))
    ours = {}
    for r in rows:
        ours.setdefault(r["method"], []).append(float(r["seconds"]))
    images = sorted({r["image"] for r in rows})
    model, meta = load_shipped(make_model(a.arch, len(meta_labels(a.model))), a.model)
    for p in model.parameters():
        p.requires_grad_(False)
    S = int(meta["input_size"])
    mean, std = float(meta["mean"]), float(meta["std"])
    methods = a.methods.split(",")
    ref = {m: [] for m in methods}
    parts = {m: [] for m in methods}  # (map, pic, insdel) seconds
    for path in images:
        full = path if os.path.isabs(path) else os.path.join(a.data, path)
        if not os.path.exists(full):
            full = path
        x01 = tc.resize_sq(tc.load_gray01(full), S)[None]          # (1,1,S,S) in [0,1]
        x = (x01 - mean) / std
        img_u8 = np.clip(np.rint(x01[0, 0].numpy() * 255), 0, 255).astype(np.uint8)
        with torch.no_grad():
            target = int(model(x).argmax())
        for m in methods:
            t0 = time.perf_counter()
            smap = reference_map(m, model, x, target, a.arch, (0 - mean) / std)
            t_map = time.perf_counter() - t0
            t_pic, t_insdel = reference_metrics(np.asarray(smap, dtype=np.float32), img_u8, model, x, target,
                                                mean, std, a.insdel_steps)
            ref[m].append(time.perf_counter() - t0)
            parts[m].append((t_map, t_pic, t_insdel))
            print(f"  {os.path.basename(path)} {m}: reference {ref[m][-1]:.2f} s", file=sys.stderr, flush=True)
    print(f"# {a.arch} ({os.path.basename(a.model)}), {S}x{S}, {len(images)} images, threads {a.threads}, "
          f"insdel steps {a.insdel_steps}; seconds per image per method (map + SIC + AIC + insertion + deletion)")
    print(f"{'method':10s} {'salient':>9s} {'reference':>10s} {'ratio':>7s}   reference map / pic / insdel")
    out_rows = []
    for m in methods:
        s, r = float(np.mean(ours[m])), float(np.mean(ref[m]))
        pm = np.mean(np.array(parts[m]), axis=0)
        print(f"{m:10s} {s:9.2f} {r:10.2f} {s / r:7.2f}   {pm[0]:.2f} / {pm[1]:.2f} / {pm[2]:.2f}")
        out_rows.append({"method": m, "salient_s": s, "reference_s": r, "n": len(ref[m]),
                         "reference_map_s": pm[0], "reference_pic_s": pm[1], "reference_insdel_s": pm[2]})
    print(f"salient evaluate wall time {wall:.1f} s for {len(images)} images (including loading, "
          f"predictions, summary and report)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"arch": a.arch, "model": os.path.basename(a.model), "size": S, "images": images,
                       "threads": a.threads, "insdel_steps": a.insdel_steps, "rows": out_rows,
                       "salient_wall_s": wall}, f, indent=1)


def meta_labels(path):
    from export_models import read_safetensors
    _, meta = read_safetensors(path)
    return meta["labels"].split(",")


if __name__ == "__main__":
    main()
