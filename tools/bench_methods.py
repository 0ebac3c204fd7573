#!/usr/bin/python3
"""bench_methods.py - per-method seconds, salient vs the reference Python stack.

Usage (references fetched outside the repo, see below):
  SALIENT_REF=/tmp/ref /usr/bin/python3 tools/bench_methods.py --arch resnet50 \
      --size 224 --threads 2 [--methods gradient,ig,...] [--salient ./salient] [--json out.json]

The reference stack: PyTorch 1.13 from Debian (python3-torch) with
  - PAIR-code/saliency (commit 7b72b673fde6680180befd277c1890d4a9de4b48),
    the package folder `saliency/` extracted with
    `git --git-dir=<fetched mirror> archive HEAD saliency | tar -x -C $SALIENT_REF`
  - jacobgil/pytorch-grad-cam (commit 084273b3f30b54ad0c64cf8020a4337d979a66e0),
    folder `pytorch_grad_cam/`, plus a stub `ttach` module (only used for aug_smooth)
on PYTHONPATH=$SALIENT_REF. None of that code is in this repository.

Both stacks get the same model (torchvision's, default random init, written to
safetensors with tools/convert.py's writer), the same network input (a real MRI
slice from tests/data, normalised, given to salient with --input-npy), the same
target class, the same thread count, and the same parameters. PAIR methods run
with batch_size = 16 (their default of 1 would be unfair to them); salient uses
its default batch. Settings that differ from the methods' defaults keep the
reference's run time bounded on a two-core machine; they are the same on both
sides and printed in the table:
  guidedig steps 50; blurig steps 50; sg-* 5 samples of the base method with the
  same steps; occlusion window 15 with stride 8 (PAIR has no stride: its loop is
  run with the stride, otherwise unchanged); rise 1000 masks (the RISE
  algorithm in torch, batches of 50).
Salient's time is the method's "seconds" in explain.json (the method alone,
excluding loading); the reference's is the wall time of its call. Runs under
--repeat-below seconds (default 20) are repeated three times and the median
is kept, on both sides. --reference-only and --reference-json split a long
run: the reference's slow rows are timed once and reused while salient
changes (rows under --repeat-below are always re-timed).
"""
import argparse
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
sys.path.insert(0, HERE)
from convert import save_safetensors  # noqa: E402

REF = os.environ.get("SALIENT_REF", "/tmp/ref")
sys.path.insert(0, REF)

SETTINGS = {
    "gradient": {}, "gradxinput": {}, "guidedbackprop": {},
    "ig": {"steps": 25}, "guidedig": {"steps": 50}, "blurig": {"steps": 50},
    "sg-gradient": {"samples": 5}, "sg-ig": {"samples": 5, "steps": 25},
    "sg-guidedig": {"samples": 5, "steps": 50}, "sg-blurig": {"samples": 5, "steps": 50},
    "xrai": {}, "gradcam": {}, "gradcampp": {}, "hirescam": {}, "xgradcam": {}, "layercam": {},
    "scorecam": {}, "ablationcam": {}, "eigencam": {}, "eigengradcam": {},
    "occlusion": {"window": 15, "stride": 8}, "rise": {"masks": 1000},
}


def load_input(size):
    from PIL import Image
    path = os.path.join(HERE, "..", "tests", "data", "io")
    cands = sorted(f for f in os.listdir(path) if f.endswith(".png"))
    img = Image.open(os.path.join(path, cands[0])).convert("RGB")
    x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    return ((x - mean) / std).contiguous()


def pair_call(model, target):
    import saliency.core as sc

    def call(x_batch, call_model_args=None, expected_keys=None):
        x = torch.tensor(np.asarray(x_batch), dtype=torch.float32).permute(0, 3, 1, 2).requires_grad_(True)
        out = model(x)[:, target]
        if expected_keys and sc.base.INPUT_OUTPUT_GRADIENTS in expected_keys:
            g = torch.autograd.grad(out.sum(), x)[0]
            return {sc.base.INPUT_OUTPUT_GRADIENTS: g.permute(0, 2, 3, 1).detach().numpy()}
        return {sc.base.OUTPUT_LAYER_VALUES: out.detach().numpy()}
    return call


def occlusion_strided(x, call, window, stride):
    """PAIR's Occlusion.GetMask loop, with a stride."""
    import saliency.core as sc
    occ = sc.Occlusion()
    y0 = occ.getY(x, call, None)
    scores = np.zeros_like(x)
    for r in range(0, 1 + x.shape[0] - window, stride):
        for c in range(0, 1 + x.shape[1] - window, stride):
            xo = np.array(x)
            xo[r:r + window, c:c + window, :] = 0
            scores[r:r + window, c:c + window, :] += y0 - occ.getY(xo, call, None)
    return scores


def rise_torch(model, x, target, n, s=8, p=0.5, batch=50, seed=0):
    """The RISE algorithm (Petsiuk et al. 2018; eclique/RISE generate_masks + explain)."""
    rng = np.random.default_rng(seed)
    H = x.shape[-1]
    cell = int(np.ceil(H / s))
    up = (s + 1) * cell
    grid = (rng.random((n, s, s)) < p).astype(np.float32)
    sal = torch.zeros(H, H)
    with torch.no_grad():
        for i in range(0, n, batch):
            g = torch.from_numpy(grid[i:i + batch])[:, None]
            m = torch.nn.functional.interpolate(g, size=(up, up), mode="bilinear", align_corners=False)
            dx, dy = rng.integers(0, cell, 2)
            m = m[:, :, dx:dx + H, dy:dy + H]
            pr = torch.softmax(model(x * m), 1)[:, target]
            sal += (pr[:, None, None] * m[:, 0]).sum(0)
    return sal / n / p


def run_reference(name, model, arch, x, target, st):
    import saliency.core as sc
    from pytorch_grad_cam import (AblationCAM, EigenCAM, EigenGradCAM, GradCAM, GradCAMPlusPlus,
                                  GuidedBackpropReLUModel, HiResCAM, LayerCAM, ScoreCAM, XGradCAM)
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    xh = x[0].permute(1, 2, 0).numpy().astype(np.float32)
    call = pair_call(model, target)
    black = np.broadcast_to(((0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])).astype(np.float32), xh.shape).copy()
    B = 16
    base = name[3:] if name.startswith("sg-") else name
    steps = st.get("steps")

    def base_fn(xv):
        if base == "gradient":
            return sc.GradientSaliency().GetMask(xv, call)
        if base == "ig":
            return sc.IntegratedGradients().GetMask(xv, call, x_steps=steps, x_baseline=black, batch_size=B)
        if base == "guidedig":
            return sc.GuidedIG().GetMask(xv, call, x_steps=steps, x_baseline=black, max_dist=0.02, fraction=0.25)
        if base == "blurig":
            return sc.BlurIG().GetMask(xv, call, steps=steps, batch_size=B)
        raise KeyError(base)

    layer = model.layer4 if arch.startswith("resnet") else model.features.norm5
    cams = {"gradcam": GradCAM, "gradcampp": GradCAMPlusPlus, "hirescam": HiResCAM, "xgradcam": XGradCAM,
            "layercam": LayerCAM, "scorecam": ScoreCAM, "ablationcam": AblationCAM, "eigencam": EigenCAM,
            "eigengradcam": EigenGradCAM}
    t0 = time.perf_counter()
    if name.startswith("sg-"):
        sc_obj = {"gradient": sc.GradientSaliency, "ig": sc.IntegratedGradients, "guidedig": sc.GuidedIG,
                  "blurig": sc.BlurIG}[base]()
        kw = {}
        if base == "ig":
            kw = dict(x_steps=steps, x_baseline=black, batch_size=B)
        elif base == "guidedig":
            kw = dict(x_steps=steps, x_baseline=black, max_dist=0.02, fraction=0.25)
        elif base == "blurig":
            kw = dict(steps=steps, batch_size=B)
        sc_obj.GetSmoothedMask(xh, call, nsamples=st["samples"], **kw)
    elif name in ("gradient", "ig", "guidedig", "blurig"):
        base_fn(xh)
    elif name == "gradxinput":
        sc.GradientSaliency().GetMask(xh, call) * xh
    elif name == "guidedbackprop":
        GuidedBackpropReLUModel(model=model, device="cpu")(x.clone(), target_category=target)
    elif name == "xrai":
        sc.XRAI().GetMask(xh, call, batch_size=B)
    elif name in cams:
        for p in model.parameters():  # pytorch-grad-cam backpropagates through the whole graph
            p.requires_grad_(True)
        cam = cams[name](model=model, target_layers=[layer])
        if name == "scorecam":
            cam.batch_size = 16
        cam(input_tensor=x.clone(), targets=[ClassifierOutputTarget(target)])
    elif name == "occlusion":
        occlusion_strided(xh, call, st["window"], st["stride"])
    elif name == "rise":
        rise_torch(model, x, target, st["masks"])
    else:
        raise KeyError(name)
    return time.perf_counter() - t0


def run_salient(salient, model_path, npy, name, st, threads, tmp):
    args = [salient, "explain", "-m", model_path, "--input-npy", npy, "-M", name, "--no-png",
            "--threads", str(threads), "-o", tmp]
    for k, v in st.items():
        args += ["--" + k.replace("_", "-"), str(v)]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    stem = os.path.splitext(os.path.basename(npy))[0]
    with open(os.path.join(tmp, stem, "explain.json")) as f:
        ex = json.load(f)
    return ex["methods"][0]["seconds"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="resnet50")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--methods", default=",".join(SETTINGS))
    ap.add_argument("--salient", default=os.path.join(HERE, "..", "salient"))
    ap.add_argument("--json")
    ap.add_argument("--reference-json", help="reuse the reference seconds of an earlier --json run "
                    "(same arch, size, threads, settings) instead of running the reference again")
    ap.add_argument("--reference-only", action="store_true",
                    help="time only the reference (for a later --reference-json run)")
    ap.add_argument("--repeat-below", type=float, default=20.0,
                    help="a method whose first run took less than this many seconds runs twice more "
                         "and the median of the three is kept (both stacks; short runs are the noisiest)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = getattr(torchvision.models, a.arch)().eval()
    for p in model.parameters():
        p.requires_grad_(False)
    x = load_input(a.size)
    with torch.no_grad():
        target = int(model(x).argmax())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        mpath = os.path.join(tmp, "model.safetensors")
        save_safetensors(model.state_dict(), mpath, "f32", {"input_size": str(a.size)})
        npy = os.path.join(tmp, "bench_input.npy")
        np.save(npy, x.numpy())
        print(f"# {a.arch} {a.size}x{a.size}, threads {a.threads}, target {target}; seconds per method")
        print(f"{'method':14s} {'settings':24s} {'salient':>9s} {'reference':>10s} {'ratio':>7s}")
        old = {}
        if a.reference_json:
            with open(a.reference_json) as f:
                prev = json.load(f)
            assert (prev["arch"], prev["size"], prev["threads"]) == (a.arch, a.size, a.threads), "another setup"
            old = {r["method"]: r["reference_s"] for r in prev["rows"]
                   if r["settings"] == SETTINGS[r["method"]] and r["reference_s"] >= a.repeat_below}

        def timed(fn):
            t = fn()
            return t if t >= a.repeat_below else float(np.median([t, fn(), fn()]))

        def reference(name, st):
            for p in model.parameters():
                p.requires_grad_(False)
            return run_reference(name, model, a.arch, x, target, st)
        for name in a.methods.split(","):
            st = SETTINGS[name]
            s = float("nan") if a.reference_only else timed(
                lambda: run_salient(a.salient, mpath, npy, name, st, a.threads, tmp))
            r = old[name] if name in old else timed(lambda: reference(name, st))
            desc = " ".join(f"{k}={v}" for k, v in st.items()) or "defaults"
            print(f"{name:14s} {desc:24s} {s:9.2f} {r:10.2f} {s / r:7.2f}", flush=True)
            rows.append({"method": name, "settings": st, "salient_s": s, "reference_s": r})
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"arch": a.arch, "size": a.size, "threads": a.threads, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
