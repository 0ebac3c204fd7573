#!/usr/bin/python3
"""make_engine_golden.py - PyTorch reference outputs for the engine's whole-model tests.

Run from the repository root (about a minute on 1 thread; outputs are committed):
    /usr/bin/python3 tools/make_engine_golden.py [--out tests/data/golden] [--case NAME ...]

Each case is a torchvision model (eval mode) whose every parameter and buffer
comes from tools/detweights.py (bit-identical to tests/detweights.h), so the
C test rebuilds the same model without a committed weights file. It writes
tests/data/golden/<case>/:
    x.npy          (N,C,H,W) float32, torch.manual_seed(input_seed); torch.randn
    logits.npy     (N,classes) float32
    probs.npy      (N,classes) float32, softmax of the logits
    grad.npy       (N,C,H,W) float32, d(sum_n logits[n,K]) / dx
    act_<L>.npy    (N,c,h,w) float32, output of module L (cloned by a forward hook)
    grad_<L>.npy   (N,c,h,w) float32, d(sum_n logits[n,K]) / d(output of L)
    logits64.npy, grad64.npy   float64: the same model and input run in float64
    meta.json      case, arch, seeds, shapes, K, layers, versions, and
                   torch_f32_vs_f64_rel_err = max|f32 - f64| / max|f64| per tensor
                   (the measure of tests/check.h's check_max_rel);
                   torch_f32_spread_rel_err: the same, worst over torch's float32
                   run and NPERTURB runs with last-bit perturbed weights
                   (tools/golden_spread.py): the test's yardstick.

The f16 case rounds every floating tensor float32 -> float16 (nearest, ties to
even) -> float32 before running, as detweights_round_f16 does, so the C side
gets the same values from an F16 safetensors file.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from detweights import fill_model  # noqa: E402
from golden_spread import NPERTURB, perturbed_copy  # noqa: E402
from train_common import set_output_stride  # noqa: E402

CASES = [
    dict(name="resnet18_c1k10", arch="resnet18", in_channels=1, classes=10, seed=1,
         input_shape=[2, 1, 64, 64], input_seed=11, K=3, f16=False,
         layers=["layer3", "layer4.1.conv2"]),
    dict(name="resnet50_c3k1000_f16", arch="resnet50", in_channels=3, classes=1000, seed=2,
         input_shape=[1, 3, 64, 64], input_seed=12, K=417, f16=True,
         layers=["layer4", "layer2.0.downsample.0"]),
    dict(name="densenet121_c3k5", arch="densenet121", in_channels=3, classes=5, seed=3,
         input_shape=[2, 3, 64, 64], input_seed=13, K=2, f16=False,
         layers=["features.denseblock3", "features.norm5"]),
    # 112x112: layer1 and layer2 run on 28x28 and 14x14 planes, so the
    # engine's Winograd convolutions (engine/winograd.c) are in the test
    dict(name="resnet18_c1k10_112", arch="resnet18", in_channels=1, classes=10, seed=4,
         input_shape=[1, 1, 112, 112], input_seed=14, K=5, f16=False,
         layers=["layer3", "layer4"]),
    # output stride 16: layer4's first block without stride (the metadata
    # key output_stride=16), so layer4.0 and layer4 keep layer3's 4x4
    dict(name="resnet18_os16_c1k4", arch="resnet18", in_channels=1, classes=4, seed=6,
         input_shape=[2, 1, 64, 64], input_seed=16, K=2, f16=False, output_stride=16,
         layers=["layer4.0", "layer4"]),
]


def build_model(arch, in_channels, classes, output_stride=32):
    """torchvision's model; a first conv of in_channels inputs keeps the
    original kernel/stride/padding and has no bias. Output stride 16 (ResNet):
    layer4's first block does not downsample (train_common.set_output_stride)."""
    m = getattr(torchvision.models, arch)(weights=None, num_classes=classes)
    if arch.startswith("resnet"):
        set_output_stride(m, output_stride)
    if in_channels != 3:
        if arch.startswith("resnet"):
            m.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        else:
            c0 = m.features.conv0
            m.features.conv0 = nn.Conv2d(in_channels, c0.out_channels, kernel_size=7, stride=2,
                                         padding=3, bias=False)
    return m


def run(model, x, K, layers):
    """Forward + backward of sum_n logits[n,K]; returns logits, probs, dx and
    per layer (activation, gradient). The forward hook hands a CLONE on to
    the rest of the network, so in-place ops downstream (DenseNet's
    F.relu(inplace=True) after features.norm5) cannot touch the tensor kept
    here, whose retained gradient is then exactly d scalar / d output."""
    kept = {}
    mods = dict(model.named_modules())

    def hook_for(name):
        def hook(mod, inp, out):
            out.retain_grad()
            kept[name] = out
            return out.clone()
        return hook

    handles = [mods[n].register_forward_hook(hook_for(n)) for n in layers]
    x = x.clone().requires_grad_(True)
    logits = model(x)
    logits[:, K].sum().backward()
    for h in handles:
        h.remove()
    probs = torch.softmax(logits.detach(), dim=1)
    acts = {n: (kept[n].detach().clone(), kept[n].grad.detach().clone()) for n in layers}
    return logits.detach(), probs, x.grad.detach().clone(), acts


def max_rel(a, b):
    """max |a - b| / max |b|, as check_max_rel in tests/check.h."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    m = np.abs(b).max()
    d = np.abs(a - b).max()
    return float(d / m) if m > 0 else float(d)


def self_checks(case, model, x, dx, dx64, acts):
    """Independent checks that the hooks caught what we think they caught."""
    K = case["K"]
    if case["arch"].startswith("densenet"):
        # logits = W relu(mean_hw(norm5)) + b, so d/d norm5 = [norm5 > 0] W[K] / (h w)
        a, g = acts["features.norm5"]
        assert (a < 0).any(), "norm5 activation was modified by the in-place relu"
        W = model.classifier.weight.detach()[K]
        want = (a > 0).to(a.dtype) * W.view(1, -1, 1, 1) / (a.shape[2] * a.shape[3])
        assert torch.allclose(g, want, rtol=1e-5, atol=1e-7), "norm5 gradient differs from its formula"
    # the float64 input gradient against a directional finite difference in
    # float64. Kinks (ReLU, maxpool) make the difference quotient unreliable
    # at large steps, so it is recorded for several (the C test's choice of
    # step can be judged from them) and checked at the smallest.
    m64 = model.double()
    d = torch.randn(x.shape, generator=torch.Generator().manual_seed(99), dtype=torch.float64)
    fd = {}
    with torch.no_grad():
        for eps in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6):
            lp = m64(x.double() + eps * d)[:, K].sum()
            lm = m64(x.double() - eps * d)[:, K].sum()
            fd["%g" % eps] = float((lp - lm) / (2 * eps))
    model.float()
    ana = float((dx64 * d).sum())
    assert abs(fd["1e-06"] - ana) <= 1e-5 * abs(ana), f"directional derivative {fd} vs {ana}"
    return {"direction": "torch.randn(x.shape, generator=manual_seed(99), float64)",
            "analytic_f64": ana, "analytic_f32": float((dx.double() * d).sum()),
            "numeric_f64_by_step": fd}


SCREEN_NOISE = 1e-6
SCREEN_DRAWS = 8
SCREEN_MAX_SEEDS = 50


def pattern_stable(model, x, K, layers):
    """Is the input's ReLU/maxpool pattern safe from rounding noise?

    These networks are piecewise linear in x (eval-mode batchnorm), so the
    gradients depend only on which ReLUs are on and which maxpool element
    wins. A pre-activation within rounding noise of zero flips between two
    correct float32 implementations and moves the input gradient by ~1e-2
    (seen: the requested densenet seed 13 has one at 3.6e-7, on which torch
    float32 and float64 already disagree by 6e-3). So the input is rejected
    if SCREEN_DRAWS multiplicative perturbations x (1 + 1e-6 n), n ~ N(0,1),
    -- larger than float32 rounding -- change any gradient at all beyond 1e-5."""
    _, _, dx, acts = run(model, x, K, layers)
    g = torch.Generator().manual_seed(5)
    worst = 0.0
    for _ in range(SCREEN_DRAWS):
        xp = x * (1 + SCREEN_NOISE * torch.randn(x.shape, generator=g))
        _, _, dxp, actsp = run(model, xp, K, layers)
        worst = max([worst, max_rel(dxp, dx)] + [max_rel(actsp[n][1], acts[n][1]) for n in layers])
    return worst <= 1e-5, worst


def pick_input(case, model):
    """The first seed from the requested one whose input passes pattern_stable."""
    tried = {}
    for s in range(case["input_seed"], case["input_seed"] + SCREEN_MAX_SEEDS):
        torch.manual_seed(s)
        x = torch.randn(*case["input_shape"])
        ok, worst = pattern_stable(model, x, case["K"], case["layers"])
        tried[str(s)] = worst
        if ok:
            return s, x, tried
    sys.exit(f"{case['name']}: no input seed in {case['input_seed']}..+{SCREEN_MAX_SEEDS} passes the screen")


def make_case(case, outdir):
    torch.manual_seed(0)  # build-time init is overwritten, but keep it reproducible
    model = build_model(case["arch"], case["in_channels"], case["classes"], case.get("output_stride", 32))
    fill_model(model, case["seed"])
    if case["f16"]:
        with torch.no_grad():
            for t in model.state_dict(keep_vars=True).values():
                if t.is_floating_point():
                    t.copy_(t.half().float())
    model.eval()
    input_seed, x, screen = pick_input(case, model)
    K, layers = case["K"], case["layers"]

    logits, probs, dx, acts = run(model, x, K, layers)
    model64 = model.double()
    l64, p64, dx64, acts64 = run(model64, x.double(), K, layers)
    model.float()
    directional = self_checks(case, model, x, dx, dx64, acts)

    d = os.path.join(outdir, case["name"])
    os.makedirs(d, exist_ok=True)
    f32 = lambda t: t.numpy().astype("<f4")  # noqa: E731
    files = {"x.npy": f32(x), "logits.npy": f32(logits), "probs.npy": f32(probs), "grad.npy": f32(dx),
             "logits64.npy": l64.numpy().astype("<f8"), "grad64.npy": dx64.numpy().astype("<f8")}
    err = {"logits": max_rel(logits, l64), "probs": max_rel(probs, p64), "grad": max_rel(dx, dx64)}
    shapes = {}
    for n in layers:
        files[f"act_{n}.npy"] = f32(acts[n][0])
        files[f"grad_{n}.npy"] = f32(acts[n][1])
        err[f"act_{n}"] = max_rel(acts[n][0], acts64[n][0])
        err[f"grad_{n}"] = max_rel(acts[n][1], acts64[n][1])
        shapes[n] = list(acts[n][0].shape)
    # the yardstick of the test's bounds (tools/golden_spread.py): per tensor,
    # the worst max_rel of torch's float32 runs - plain and with last-bit
    # perturbed weights - against the float64 run
    spread = dict(err)
    for k in range(1, NPERTURB + 1):
        lk, pk, dxk, ak = run(perturbed_copy(model, k), x, K, layers)
        for name, a, b in [("logits", lk, l64), ("probs", pk, p64), ("grad", dxk, dx64)] + \
                [(f"act_{n}", ak[n][0], acts64[n][0]) for n in layers] + \
                [(f"grad_{n}", ak[n][1], acts64[n][1]) for n in layers]:
            spread[name] = max(spread[name], max_rel(a, b))
    for fname, arr in files.items():
        np.save(os.path.join(d, fname), arr)
    meta = {
        "case": case["name"], "arch": case["arch"], "output_stride": case.get("output_stride", 32),
        "in_channels": case["in_channels"],
        "classes": case["classes"], "weights": "tools/detweights.py", "seed": case["seed"],
        "weights_dtype": "f32 rounded through f16" if case["f16"] else "f32",
        "input_seed": input_seed, "input": "torch.manual_seed(input_seed); torch.randn(*input_shape)",
        "input_seed_requested": case["input_seed"],
        "input_screen": {"rule": "first seed from the requested one whose gradients move by <= 1e-5 "
                                 "(max rel) under %d perturbations x (1 + %g N(0,1)): no ReLU/maxpool "
                                 "decision within rounding noise" % (SCREEN_DRAWS, SCREEN_NOISE),
                         "worst_change_by_seed": screen},
        "input_shape": case["input_shape"], "K": K,
        "scalar": "sum over the batch of logits[:, K]",
        "layers": layers, "layer_shapes": shapes,
        "files": {f: {"dtype": str(a.dtype), "shape": list(a.shape)} for f, a in files.items()},
        "torch_f32_vs_f64_rel_err": err,
        "torch_f32_spread_rel_err": spread,
        "rel_err_definition": "max|f32 - f64| / max|f64| over the tensor (tests/check.h check_max_rel)",
        "directional_derivative": directional,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__, "torchvision": torchvision.__version__, "numpy": np.__version__,
    }
    with open(os.path.join(d, "meta.json"), "w") as f:  # one top-level key per line
        f.write("{\n" + ",\n".join(" %s: %s" % (json.dumps(k), json.dumps(v)) for k, v in meta.items())
                + "\n}\n")
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print(f"{case['name']}: input seed {input_seed} (requested {case['input_seed']}), {len(files) + 1} files, {size / 1024:.0f} KB; "
          f"f32-vs-f64 rel err " + ", ".join(f"{k} {v:.2e}" for k, v in err.items()))


def main():
    ap = argparse.ArgumentParser(description="PyTorch golden outputs for the engine tests")
    ap.add_argument("--out", default="tests/data/golden")
    ap.add_argument("--case", action="append", help="only these cases (default: all)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    names = [c["name"] for c in CASES]
    for n in args.case or []:
        if n not in names:
            sys.exit(f"unknown case '{n}'; expected one of {', '.join(names)}")
    for c in CASES:
        if not args.case or c["name"] in args.case:
            make_case(c, args.out)


if __name__ == "__main__":
    main()
