#!/usr/bin/python3
"""guidedig_mri.py - Guided IG at the seed paper's settings on held-out MRI
slices: salient's fast path and reference path against PAIR-code/saliency
in float32 and float64.

Settings (the paper's code, yusufbrima/XAIBiomedical): 25 steps, fraction
0.5, max_dist 1.0, black baseline ((0 - 0.5) / 0.25 = -2), target the
predicted class. Guided IG's path starts at a constant image, where only
exact ties - identical patches giving identical outputs - reproduce the
reference's choices (README, Audit trail and reproducibility).

Models: seeded detweights networks (tools/detweights.py, the same weights
tests/tool_mkmodel writes for salient): resnet18 (1 channel, 4 classes) at
64 and 224 px (224: its layer1-3 run as Winograd convolutions) and
densenet121 (3 channels, the gray slice in each, 4 classes) at 96 px.
Inputs: the first slices of each class of shared/data/brain-tumor-mri
(the held-out Testing split), gray, resized with PIL bilinear.

Reference: PAIR-code/saliency at 7b72b673 (saliency/ extracted into
$SALIENT_REF, as for the golden scripts); nothing of it is copied here.
Run from the repository root after `make`:
    SALIENT_REF=/tmp/ref /usr/bin/python3 tools/guidedig_mri.py [--slices 4]
Writes tools/bench/guidedig_mri.json and prints one line per slice.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from detweights import build_filled_model  # noqa: E402
from golden_spread import agreement  # noqa: E402

sys.path.insert(0, os.environ.get("SALIENT_REF", "/tmp/ref"))
import saliency.core as saliency  # noqa: E402
from saliency.core import base as pair_base  # noqa: E402

DATA = "/work/shared/data/brain-tumor-mri/images"
MEAN, STD = 0.5, 0.25
NETS = [("resnet18", 1, 64, 41), ("densenet121", 3, 96, 42), ("resnet18", 1, 224, 43)]


def slices(n):
    out = []
    for cls in sorted(os.listdir(DATA)):
        files = sorted(os.listdir(os.path.join(DATA, cls)))
        out += [os.path.join(DATA, cls, f) for f in files[:max(1, n // 4)]]
    return out[:n]


def network_input(path, size, channels):
    g = Image.open(path).convert("L").resize((size, size), Image.BILINEAR)
    a = (np.asarray(g, dtype=np.float32) / np.float32(255) - np.float32(MEAN)) / np.float32(STD)
    return np.repeat(a[None], channels, axis=0).astype(np.float32)


def pair_guidedig(model, x, target, dtype):
    def call(xb, call_model_args=None, expected_keys=None):
        t = torch.from_numpy(np.asarray(xb, dtype=np.float32).astype(dtype).transpose(0, 3, 1, 2).copy())
        t.requires_grad_(True)
        model(t)[:, target].sum().backward()
        return {pair_base.INPUT_OUTPUT_GRADIENTS: t.grad.numpy().transpose(0, 2, 3, 1)}
    hwc = x.transpose(1, 2, 0).copy()
    base = np.full_like(hwc, (0.0 - MEAN) / STD)
    a = saliency.GuidedIG().GetMask(hwc, call, x_baseline=base, x_steps=25, fraction=0.5, max_dist=1.0)
    return np.asarray(a, dtype=np.float64).transpose(2, 0, 1)


def salient_guidedig(model_file, x, target, reference, tmp):
    np.save(os.path.join(tmp, "x.npy"), x[None])
    out = os.path.join(tmp, "out")
    cmd = ["./salient", "explain", "-m", model_file, "--input-npy", os.path.join(tmp, "x.npy"), "-M", "guidedig",
           "--steps", "25", "--fraction", "0.5", "--max-dist", "1.0", "--baseline", "black",
           "--mean", ",".join([str(MEAN)] * x.shape[0]), "--std", ",".join([str(STD)] * x.shape[0]),
           "--target", str(target), "--size", str(x.shape[1]), "-o", out]
    if reference:
        cmd.append("--reference")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    found = [os.path.join(r, f) for r, _, fs in os.walk(out) for f in fs if f == "guidedig.attr.npy"]
    return np.load(found[0]).astype(np.float64).reshape(x.shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slices", type=int, default=4)
    args = ap.parse_args()
    torch.set_num_threads(2)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for arch, ch, size, seed in NETS:
            model = build_filled_model(arch, ch, 4, seed)
            model64 = build_filled_model(arch, ch, 4, seed).double()
            mf = os.path.join(tmp, "m.st")
            subprocess.run(["build/tests/tool_mkmodel", arch, str(ch), "4", str(seed), "F32", mf,
                            '"input_size":"%d"' % size], check=True)
            for i, path in enumerate(slices(args.slices)):
                x = network_input(path, size, ch)
                with torch.no_grad():
                    target = int(model(torch.from_numpy(x[None])).argmax(1)[0])
                p32 = pair_guidedig(model, x, target, np.float32)
                p64 = pair_guidedig(model64, x, target, np.float64)
                fast = salient_guidedig(mf, x, target, False, tmp)
                # the reference path at 224 px costs ~8 s a pass: the first slice only
                ref = salient_guidedig(mf, x, target, True, tmp) if size <= 96 or i == 0 else None
                row = dict(arch=arch, size=size, channels=ch, seed=seed, slice=os.path.relpath(path, DATA),
                           target=target, pair_f32_vs_f64=agreement(p32, p64), fast_vs_pair_f64=agreement(fast, p64),
                           fast_vs_pair_f32=agreement(fast, p32),
                           reference_vs_pair_f64=agreement(ref, p64) if ref is not None else None,
                           fast_vs_reference=agreement(fast, ref) if ref is not None else None)
                rows.append(row)
                print("%-11s %3d px %-28s fast vs PAIR f64 r %.6f | PAIR f32 vs f64 r %.6f | reference vs PAIR f64 %s,"
                      " fast vs reference %s" % (
                          arch, size, row["slice"], row["fast_vs_pair_f64"][0], row["pair_f32_vs_f64"][0],
                          "r %.6f" % row["reference_vs_pair_f64"][0] if ref is not None else "-",
                          "r %.9f" % row["fast_vs_reference"][0] if ref is not None else "-"), flush=True)
    with open(os.path.join(HERE, "bench", "guidedig_mri.json"), "w") as f:
        json.dump({"settings": "steps 25, fraction 0.5, max_dist 1.0, black baseline, predicted class",
                   "pair_commit": "7b72b673fde6680180befd277c1890d4a9de4b48", "torch": torch.__version__,
                   "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
