#!/usr/bin/python3
"""make_attrib_golden_grad.py - reference attributions for the gradient family
(tests/test_attrib_grad.c reads them from tests/data/attrib/grad/).

The references are NOT part of this repository. They are run from outside:
  - PAIR-code/saliency, commit 7b72b673fde6680180befd277c1890d4a9de4b48,
    package folder `saliency/` (saliency/core/gradients.py, integrated_gradients.py,
    guided_ig.py, blur_ig.py, base.py GetSmoothedMask);
  - jacobgil/pytorch-grad-cam, commit 084273b3f30b54ad0c64cf8020a4337d979a66e0,
    package folder `pytorch_grad_cam/` (guided_backprop.py GuidedBackpropReLUModel),
    which imports `ttach`: a stub module with empty Compose, HorizontalFlip and
    Multiply classes is enough.
Extract both package folders (git archive <commit> saliency | tar -x, same for
pytorch_grad_cam) into one directory and run, from the repository root,
    SALIENT_REF=/tmp/ref /usr/bin/python3 tools/make_attrib_golden_grad.py [--keep]
(--keep reuses attributions already in the output folder, recomputing only
the missing ones; cases.txt and meta.json are always rewritten.)
(Debian's python3-torch 1.13, torchvision 0.14, numpy 1.24, scipy 1.10; about
15 minutes on an idle 2-core machine, most of it the float64 runs of Guided
IG and Blur IG). Outputs, in tests/data/attrib/grad/:
    <case>_x.npy             (C,H,W) float32, the network input fed to everyone
    <case>_<label>.npy       (C,H,W) float32: the reference attribution with the
                             model in float64 (label = method[@variant], see METHODS)
    blur_src.npy             (2,20,24) float32, and blur_<mode>_s<sigma>.npy: scipy
                             gaussian_filter of it (HWC, sigma [s,s,0]) for the C blurs
    gig_synth_<k>.npy        (2,600) float32: PAIR's guided_ig_impl on two inputs of a
                             synthetic function whose gradient g = (a x + b) x + c is
                             float32 arithmetic both languages round identically (inputs
                             and a, b, c from det_uniform; see gig_synth)
    cases.txt                one line per model and per (model, method), read by the test
    meta.json                versions, logits, targets, reference seconds per method

Models: torchvision resnet18 (conv1 replaced by Conv2d(1,64,7,2,3,bias=False))
and densenet121, every parameter from tools/detweights.py (bit-identical to
tests/detweights.h). Inputs: a real image, resized with PIL bilinear and
normalised with mean 0.5, std 0.25 per channel. Target: the predicted class.
call_model_function returns gradients of the target LOGIT (float32 model).
Baseline of IG and Guided IG: "black", (0 - 0.5) / 0.25 = -2 everywhere.

Float rounding (tools/golden_spread.py): the golden is PAIR's result with the
model in float64 (on the same float32 network input); every method line
carries spread_r= and spread_err=, the worst agreement with it of PAIR's
float32 run and of NPERTURB float32 runs on last-bit perturbed weights. The
test's bound is a fixed multiple of that spread. Where a path or noisy image
lands next to a ReLU or max-pool kink the spread shows it; Guided IG at PAIR's
defaults (200 steps) is chaotic in the rounding (its path picks, at every
step, the features below a quantile of |gradient|, so one flipped choice moves
every later point), and its spread says so; the path algorithm itself is
checked exactly on the synthetic function (gig_synth).

SmoothGrad noise: GetSmoothedMask draws np.random.normal(0, stdev, shape) once
per sample; it is monkeypatched to return stdev * z[k], where z (samples,C,H,W)
are fixed standard normal draws that the C test regenerates bit for bit:
    u1, u2 = det_uniform("attrib.sg_noise.u1" / ".u2", samples*C*H*W, noise_seed)
    z = float32( sqrt(-2 log(1 - u1)) * cos(2 pi u2) )
(det_uniform from tools/detweights.py: exact 24-bit uniforms in [0,1)).
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torchvision
from PIL import Image
from scipy import ndimage

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from detweights import build_filled_model, det_uniform  # noqa: E402
from golden_spread import NPERTURB, perturbed_copy, spread, spread_kv  # noqa: E402

REF = os.environ.get("SALIENT_REF", "/tmp/ref")
sys.path.insert(0, REF)
import saliency.core as saliency  # noqa: E402
from saliency.core import base as pair_base  # noqa: E402
from pytorch_grad_cam.guided_backprop import GuidedBackpropReLUModel  # noqa: E402

OUT = os.path.join(os.path.dirname(HERE), "tests", "data", "attrib", "grad")
DATA = "/work/shared/data/reference-slices"
MEAN, STD = 0.5, 0.25
NOISE_SEED = 7

# Reduced steps / samples keep the Python side quick; the C defaults are PAIR's.
# A label "name@variant" runs method `name` with other parameters.
METHODS = {
    "gradient": {},
    "gradxinput": {},
    "ig": {"steps": 25},
    "guidedig": {"steps": 200, "fraction": 0.25, "max_dist": 0.02},          # PAIR defaults (chaotic)
    "guidedig@10": {"steps": 10, "fraction": 0.25, "max_dist": 0.02},        # short path: reproducible
    "guidedig@paper": {"steps": 25, "fraction": 0.5, "max_dist": 1.0},       # the seed paper's parameters
    "blurig": {"steps": 100, "max_sigma": 50, "grad_step": 0.01},
    "guidedbackprop": {},
    "sg-gradient": {"samples": 5, "noise": 0.15},
    "sg-ig": {"samples": 5, "noise": 0.15, "steps": 25},
    "sg-guidedig": {"samples": 5, "noise": 0.15, "steps": 10, "fraction": 0.25, "max_dist": 0.02},
    "sg-blurig": {"samples": 5, "noise": 0.15, "steps": 20, "max_sigma": 50, "grad_step": 0.01},
}

CASES = [
    dict(name="r18", arch="resnet18", in_channels=1, classes=4, seed=21, size=64,
         image="itk_BrainT1Slice.png",
         methods=["gradient", "gradxinput", "ig", "guidedig", "guidedig@10", "blurig", "guidedbackprop",
                  "sg-gradient", "sg-ig", "sg-guidedig", "sg-blurig"]),
    dict(name="d121", arch="densenet121", in_channels=3, classes=3, seed=22, size=48,
         image="skimage_retina.jpg",
         methods=["gradient", "ig", "guidedig@paper", "blurig", "guidedbackprop", "sg-gradient"]),
]


def load_input(name, size, channels):
    im = Image.open(os.path.join(DATA, name)).convert("L" if channels == 1 else "RGB")
    im = im.resize((size, size), Image.BILINEAR)
    a = np.asarray(im, dtype=np.float32) / 255.0
    a = a[None] if channels == 1 else a.transpose(2, 0, 1)
    return ((a - MEAN) / STD).astype(np.float32)  # (C,H,W)


def sg_noise(samples, shape):
    n = samples * int(np.prod(shape))
    u1 = det_uniform("attrib.sg_noise.u1", n, NOISE_SEED)
    u2 = det_uniform("attrib.sg_noise.u2", n, NOISE_SEED)
    z = np.sqrt(-2.0 * np.log(1.0 - u1)) * np.cos(2.0 * math.pi * u2)
    return z.astype(np.float32).reshape((samples,) + tuple(shape))


def make_call_model(model, target, dtype=np.float32):
    """PAIR's call_model_function: HWC batches in, gradients of the target logit out."""
    def call(x_batch, call_model_args=None, expected_keys=None):
        # float32 first: the float64 model sees exactly the float32 network input
        xb = np.asarray(x_batch, dtype=np.float32).astype(dtype)
        x = torch.from_numpy(xb.transpose(0, 3, 1, 2).copy())
        x.requires_grad_(True)
        out = model(x)
        out[:, target].sum().backward()
        g = x.grad.detach().numpy().transpose(0, 2, 3, 1)
        return {pair_base.INPUT_OUTPUT_GRADIENTS: g}
    return call


class FixedNoise:
    """Replaces np.random.normal for GetSmoothedMask: the k-th draw is stdev * z[k] (HWC)."""
    def __init__(self, z):
        self.z, self.k = z, 0

    def __enter__(self):
        self.saved = np.random.normal
        np.random.normal = self.draw
        return self

    def draw(self, loc, scale, size):
        assert loc == 0 and tuple(size) == self.z[self.k].transpose(1, 2, 0).shape
        v = scale * self.z[self.k].transpose(1, 2, 0).astype(np.float64)
        self.k += 1
        return v

    def __exit__(self, *a):
        np.random.normal = self.saved


def run_method(method, prm, model, x, target, z, dtype=np.float32):
    """Returns the reference attribution (C,H,W) float32 (computed with the
    model in `dtype`: float64 only for the chaos scale of Guided IG)."""
    hwc = x.transpose(1, 2, 0).copy()
    base = np.full_like(hwc, (0.0 - MEAN) / STD)
    call = make_call_model(model, target, dtype)
    method = method.split("@")[0]
    inner = method[3:] if method.startswith("sg-") else method
    if inner == "guidedbackprop":
        gb = GuidedBackpropReLUModel(model=model, device="cpu")
        out = gb(torch.from_numpy(x[None].astype(dtype)), target_category=target)
        return np.ascontiguousarray(out.transpose(2, 0, 1), dtype=np.float32)
    if inner in ("gradient", "gradxinput"):
        obj, kw = saliency.GradientSaliency(), {}
    elif inner == "ig":
        obj, kw = saliency.IntegratedGradients(), dict(x_baseline=base, x_steps=prm["steps"])
    elif inner == "guidedig":
        obj, kw = saliency.GuidedIG(), dict(x_baseline=base, x_steps=prm["steps"],
                                             fraction=prm["fraction"], max_dist=prm["max_dist"])
    elif inner == "blurig":
        obj, kw = saliency.BlurIG(), dict(max_sigma=prm["max_sigma"], steps=prm["steps"],
                                          grad_step=prm["grad_step"])
    else:
        raise ValueError(method)
    if method.startswith("sg-"):
        with FixedNoise(z) as fx:
            a = obj.GetSmoothedMask(hwc, call, stdev_spread=prm["noise"], nsamples=prm["samples"],
                                    magnitude=True, **kw)
        assert fx.k == prm["samples"]
    else:
        a = obj.GetMask(hwc, call, **kw)
    a = np.asarray(a, dtype=np.float32).transpose(2, 0, 1)
    if method == "gradxinput":
        a = x * a
    return np.ascontiguousarray(a, dtype=np.float32)


def blur_golden(lines):
    """scipy.ndimage.gaussian_filter on HWC with sigma [s,s,0], as PAIR's blur_ig
    (mode 'constant') and as the reflect-mode blur baseline."""
    src = load_input("itk_BrainT1Slice.png", 64, 1)[0, 20:40, 10:34]
    src = np.stack([src, src[::-1, ::-1] * 0.5 + 1.0]).astype(np.float32)  # (2,20,24)
    np.save(os.path.join(OUT, "blur_src.npy"), src)
    hwc = src.transpose(1, 2, 0).copy()
    for mode in ("constant", "reflect"):
        for s in (0.01, 0.7, 3.5, 50.0):
            out = ndimage.gaussian_filter(hwc, sigma=[s, s, 0], mode=mode).transpose(2, 0, 1)
            fn = "blur_%s_s%g.npy" % (mode, s)
            np.save(os.path.join(OUT, fn), np.ascontiguousarray(out, dtype=np.float32))
            lines.append("blur %s %r %s" % (mode, s, fn))


SYNTH_SEED = 9
SYNTH_PER = 600
SYNTH_CONFIGS = [(200, 0.25, 0.02), (25, 0.5, 1.0), (30, 0.1, 0.1)]


def gig_synth(lines):
    """PAIR's guided_ig_impl on F with dF/dx = (a x + b) x + c elementwise, in
    float32 (x is cast to float32 as the network input is). Two inputs of
    SYNTH_PER features, baseline -1, every 37th feature equal to the baseline."""
    from saliency.core.guided_ig import guided_ig_impl

    def u(name, n):
        return det_uniform("attrib.gig_synth." + name, n, SYNTH_SEED)
    a = (2.0 * u("a", SYNTH_PER) - 1.0).astype(np.float32)
    b = (2.0 * u("b", SYNTH_PER) - 1.0).astype(np.float32)
    c = (u("c", SYNTH_PER) - 0.5).astype(np.float32)
    xs = (4.0 * u("x", 2 * SYNTH_PER) - 2.0).astype(np.float32).reshape(2, SYNTH_PER)
    base = np.full(SYNTH_PER, -1.0, dtype=np.float32)
    xs[:, ::37] = base[::37]

    def grad(x):
        x = np.asarray(x, dtype=np.float32)
        return (a * x + b) * x + c
    for k, (steps, fraction, max_dist) in enumerate(SYNTH_CONFIGS):
        att = np.stack([guided_ig_impl(xs[i], base, grad, steps, fraction, max_dist) for i in range(2)])
        fn = "gig_synth_%d.npy" % k
        np.save(os.path.join(OUT, fn), att.astype(np.float32))
        lines.append("gigsynth %d %d %r %r %d %s" % (SYNTH_PER, steps, fraction, max_dist, SYNTH_SEED, fn))


def run_case_method(c, meth, models32, model64, x, target, keep, old_cm, cm):
    """Runs one method with the float64 model (the golden, saved as float32)
    and with the float32 model and its NPERTURB perturbed copies (the spread,
    golden_spread.py). Returns the method line's key=value text and the spread."""
    prm = METHODS[meth]
    z = sg_noise(prm.get("samples", 1), x.shape)
    path = os.path.join(OUT, "%s_%s.npy" % (c["name"], meth))
    kv = " ".join("%s=%r" % item for item in prm.items())
    sp = old_cm.get("spread", {}).get(meth) if keep else None
    if sp and os.path.exists(path):
        cm["seconds"][meth] = old_cm.get("seconds", {}).get(meth)
        sp = dict(sp, kept=True)
    else:
        t0 = time.time()
        a64 = run_method(meth, prm, model64, x, target, z, np.float64)
        cm["seconds"][meth] = round(time.time() - t0, 3)
        runs = [run_method(meth, prm, m, x, target, z) for m in models32]
        sp = spread(runs, a64)
        np.save(path, a64.astype(np.float32))
    cm["spread"][meth] = {k: v for k, v in sp.items() if k != "kept"}
    return kv + " " + spread_kv(sp), sp


def main():
    keep = "--keep" in sys.argv[1:]
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    old = {}
    if keep and os.path.exists(os.path.join(OUT, "meta.json")):
        with open(os.path.join(OUT, "meta.json")) as f:
            old = json.load(f)
    lines = ["# written by tools/make_attrib_golden_grad.py; read by tests/test_attrib_grad.c",
             "# model <case> <arch> <in_ch> <classes> <weight_seed> <H> <W> <target> <noise_seed>",
             "# method <case> <name> [key=value ...] spread_r= spread_err=   (PAIR's float64 attribution in",
             "#   <case>_<name>.npy; spread: its float32 runs' worst agreement with it, tools/golden_spread.py)",
             "# blur <mode> <sigma> <file>            (scipy gaussian_filter of blur_src.npy)",
             "# gigsynth <per> <steps> <fraction> <max_dist> <seed> <file>  (guided_ig_impl, synthetic gradient)"]
    meta = {"pair_commit": "7b72b673fde6680180befd277c1890d4a9de4b48",
            "gradcam_commit": "084273b3f30b54ad0c64cf8020a4337d979a66e0",
            "torch": torch.__version__, "torchvision": torchvision.__version__,
            "numpy": np.__version__, "mean": MEAN, "std": STD, "cases": {}}
    for c in CASES:
        model = build_filled_model(c["arch"], c["in_channels"], c["classes"], c["seed"])
        x = load_input(c["image"], c["size"], c["in_channels"])
        np.save(os.path.join(OUT, "%s_x.npy" % c["name"]), x)
        with torch.no_grad():
            logits = model(torch.from_numpy(x[None].copy()))[0].numpy()
            lb = model(torch.full((1,) + x.shape, (0.0 - MEAN) / STD))[0].numpy()
        target = int(np.argmax(logits))
        lines.append("model %s %s %d %d %d %d %d %d %d" % (c["name"], c["arch"], c["in_channels"], c["classes"],
                                                       c["seed"], c["size"], c["size"], target, NOISE_SEED))
        cm = {"arch": c["arch"], "image": c["image"], "logits": logits.tolist(),
              "logits_black": lb.tolist(), "target": target, "seconds": {}}
        old_cm = old.get("cases", {}).get(c["name"], {})
        cm["spread"] = {}
        model64 = build_filled_model(c["arch"], c["in_channels"], c["classes"], c["seed"]).double()
        models32 = [model] + [perturbed_copy(model, k) for k in range(1, NPERTURB + 1)]
        for meth in c["methods"]:
            kv, sp = run_case_method(c, meth, models32, model64, x, target, keep, old_cm, cm)
            lines.append(("method %s %s %s" % (c["name"], meth, kv)).rstrip())
            print("%s %-15s %ss  float32 runs vs float64: r >= %.9f err <= %.3g%s" % (
                c["name"], meth, cm["seconds"][meth], sp["r"], sp["err"], " (kept)" if sp.get("kept") else ""),
                  file=sys.stderr)
            sys.stderr.flush()
        meta["cases"][c["name"]] = cm
    blur_golden(lines)
    gig_synth(lines)
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(OUT, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main()
