#!/usr/bin/python3
"""make_attrib_golden_cam.py - pytorch-grad-cam's maps for the CAM-family golden tests.

The reference is jacobgil/pytorch-grad-cam at commit
084273b3f30b54ad0c64cf8020a4337d979a66e0 (package folder `pytorch_grad_cam`,
obtained with the search tool's fetch and `git archive HEAD pytorch_grad_cam`),
plus a stub `ttach` module (empty Compose / HorizontalFlip / Multiply classes;
only aug_smooth uses it). It is run outside the repository; only its outputs
are committed. Run from the repository root (about a minute, 1 thread):

    SALIENT_REF=/tmp/ref /usr/bin/python3 tools/make_attrib_golden_cam.py [--out tests/data/attrib/cam]

where $SALIENT_REF holds pytorch_grad_cam/ and ttach/. Debian's PyTorch 1.13,
torchvision, numpy 1.24 and OpenCV 4.6 are used (cv2.resize is the reference's
final resize).

Models: torchvision resnet18 with a 1-channel conv1 (4 classes, detweights
seed 31) and densenet121 (3 channels, 3 classes, seed 32), every parameter
from tools/detweights.py (the C test rebuilds them with tests/detweights.h).
Input: /work/shared/data/reference-slices/itk_BrainT1Slice.png (a real T1 MRI
slice, 181x217), converted to gray (PIL "L"), resized to W=80 x H=96 (PIL
bilinear; a non-square size, so a swapped H/W anywhere shows), stored as
uint8 image.npy (H,W). Network input, computed in float32 here and in the C
test with the same operations (bit-identical): v = g / 255, then
x_c = (v - mean_c) / std_c; resnet18: 1 channel, mean 0.5, std 0.25;
densenet121: the gray image in 3 channels with mean (0.485, 0.456, 0.406),
std (0.229, 0.224, 0.225). The logits are saved so the C test can confirm
it runs the same network on the same input.

Target: the predicted class (argmax of the logits), recorded in meta.json,
passed as ClassifierOutputTarget(target). Layers: resnet18 `layer4`,
densenet121 `features.norm5` (the defaults), plus resnet18 `layer3` for
GradCAM and AblationCAM (a layer that is not a cut of the network) and
resnet18 `layer1` for EigenCAM (64 channels < 24x20 positions: the other
branch of salient's eigensolver), saved as <method>_<layer>.npy.

Outputs in <out>/<case>/: image.npy, logits.npy (1,classes) float32, and
<method>.npy (H,W) float32, the map returned by pytorch-grad-cam's class,
run with the model in float64 on the float32 input
(GradCAM, GradCAMPlusPlus, HiResCAM, XGradCAM, LayerCAM, ScoreCAM (batch 16,
its default), AblationCAM (batch 32, its default), EigenCAM, EigenGradCAM)
with default arguments; meta.json with the target, versions, the wall and
process-CPU seconds each reference call took (the machine is shared, so CPU
seconds are the fairer comparison), spread[<method>] (the worst agreement of
the float32 model's map and of NPERTURB maps with last-bit perturbed weights
with the float64 map: tools/golden_spread.py, the test's yardstick), and
facts checked about the reference's DenseNet activations (see below).

EigenCAM / EigenGradCAM sign: pytorch-grad-cam projects on numpy's first
right singular vector, whose sign is arbitrary. For the golden maps,
get_2d_projection is wrapped so that its projection is negated when
|min| > |max| (the largest-magnitude value made positive; the rule of
pytorch-grad-cam's own get_2d_projection_with_sign_correction, Seg-Eigen-CAM
Eq. 13), which is salient's documented rule. Everything else is the
reference's code path. meta.json records whether numpy's sign was flipped.

DenseNet features.norm5: torchvision applies F.relu(inplace=True) to the
norm5 output. pytorch-grad-cam stores `output.cpu().detach()`, which on CPU
shares storage, so the activation it uses is the POST-ReLU tensor, while its
tensor hook receives the gradient of the PRE-ReLU norm5 output. This script
checks both facts against an independent clone-hook run and records them.
"""
import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torchvision
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from detweights import fill_model  # noqa: E402
from golden_spread import NPERTURB, perturbed_copy, spread  # noqa: E402

REF = os.environ.get("SALIENT_REF", "/tmp/ref")
sys.path.insert(0, REF)
import pytorch_grad_cam  # noqa: E402
import pytorch_grad_cam.eigen_cam  # noqa: E402
import pytorch_grad_cam.eigen_grad_cam  # noqa: E402
from pytorch_grad_cam import (AblationCAM, EigenCAM, EigenGradCAM, GradCAM, GradCAMPlusPlus,  # noqa: E402
                              HiResCAM, LayerCAM, ScoreCAM, XGradCAM)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402

IMAGE = "/work/shared/data/reference-slices/itk_BrainT1Slice.png"
H, W = 96, 80

CASES = [
    dict(name="resnet18_c1k4", arch="resnet18", in_channels=1, classes=4, seed=31,
         mean=[0.5], std=[0.25], layer="layer4", extra=[("gradcam", "layer3"), ("ablationcam", "layer3"),
                                                           ("eigencam", "layer1")]),
    dict(name="densenet121_c3k3", arch="densenet121", in_channels=3, classes=3, seed=32,
         mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], layer="features.norm5", extra=[]),
]

METHODS = [("gradcam", GradCAM), ("gradcampp", GradCAMPlusPlus), ("hirescam", HiResCAM),
           ("xgradcam", XGradCAM), ("layercam", LayerCAM), ("scorecam", ScoreCAM),
           ("ablationcam", AblationCAM), ("eigencam", EigenCAM), ("eigengradcam", EigenGradCAM)]


def build_model(arch, in_channels, classes):
    m = getattr(torchvision.models, arch)(weights=None, num_classes=classes)
    if in_channels != 3:
        m.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    return m


def load_image():
    g = Image.open(IMAGE).convert("L").resize((W, H), Image.BILINEAR)
    return np.asarray(g, dtype=np.uint8)


def network_input(img, mean, std):
    """x (1,C,H,W) float32: v = g / 255, x_c = (v - mean_c) / std_c, each a float32 op."""
    v = img.astype(np.float32) / np.float32(255)
    x = np.stack([(v - np.float32(m)) / np.float32(s) for m, s in zip(mean, std)])
    return torch.from_numpy(x[None].copy())


# --- the eigen sign rule, applied around the reference's own projection ---
SIGN_FLIPS = []
_orig_projection = pytorch_grad_cam.eigen_cam.get_2d_projection


def projection_with_sign_rule(batch):
    p = _orig_projection(batch)
    for i in range(p.shape[0]):
        flip = bool(abs(p[i].min()) > abs(p[i].max()))
        SIGN_FLIPS.append(flip)
        if flip:
            p[i] = -p[i]
    return p


pytorch_grad_cam.eigen_cam.get_2d_projection = projection_with_sign_rule
pytorch_grad_cam.eigen_grad_cam.get_2d_projection = projection_with_sign_rule


def densenet_norm5_facts(model, x, target):
    """What pytorch-grad-cam really uses at features.norm5, against an
    independent run whose hook hands a clone on (so the in-place ReLU cannot
    touch the kept tensor)."""
    layer = model.features.norm5
    cam = GradCAM(model, [layer])
    cam(x, [ClassifierOutputTarget(target)])
    a = cam.activations_and_grads.activations[0].numpy()
    g = cam.activations_and_grads.gradients[0].numpy()
    kept = {}

    def hook(mod, inp, out):
        out.retain_grad()
        kept["o"] = out
        return out.clone()

    h = layer.register_forward_hook(hook)
    model(x)[0, target].backward()
    h.remove()
    model.zero_grad()
    pre = kept["o"].detach().numpy()
    gpre = kept["o"].grad.numpy()
    facts = {"act_is_post_relu": bool(np.array_equal(a, np.maximum(pre, 0))),
             "act_has_negatives": bool((a < 0).any()), "pre_relu_has_negatives": bool((pre < 0).any()),
             "grad_is_grad_of_pre_relu_output": bool(np.array_equal(g, gpre))}
    assert facts["act_is_post_relu"] and facts["grad_is_grad_of_pre_relu_output"], facts
    return facts


def run_method(cls, model, layer, x, target):
    SIGN_FLIPS.clear()
    cam = cls(model, [layer])
    t0, c0 = time.perf_counter(), time.process_time()
    out = cam(x, [ClassifierOutputTarget(target)])
    sec, cpu = time.perf_counter() - t0, time.process_time() - c0
    cam.activations_and_grads.release()
    return out[0].astype(np.float32), sec, cpu, list(SIGN_FLIPS)


def make_case(case, outdir, img):
    torch.manual_seed(0)
    model = build_model(case["arch"], case["in_channels"], case["classes"])
    fill_model(model, case["seed"])
    model.eval()
    x = network_input(img, case["mean"], case["std"])
    with torch.no_grad():
        logits = model(x)
    target = int(logits[0].argmax())
    d = os.path.join(outdir, case["name"])
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "image.npy"), img)
    np.save(os.path.join(d, "logits.npy"), logits.numpy().astype("<f4"))
    mods = dict(model.named_modules())
    meta = {"case": case["name"], "arch": case["arch"], "in_channels": case["in_channels"],
            "classes": case["classes"], "detweights_seed": case["seed"], "H": H, "W": W,
            "mean": case["mean"], "std": case["std"], "image": IMAGE, "target": target,
            "logits": logits[0].tolist(), "layer": case["layer"], "extra": case["extra"],
            "torch_threads": torch.get_num_threads(), "seconds": {}, "cpu_seconds": {},
            "eigen_sign_flipped": {}}
    if case["arch"].startswith("densenet"):
        meta["norm5_facts"] = densenet_norm5_facts(model, x, target)
    runs = [(n, c, case["layer"], n) for n, c in METHODS]
    runs += [(n, dict(METHODS)[n], layer, f"{n}_{layer}") for n, layer in case["extra"]]
    # the golden is the float64 model's map; the float32 model and its last-bit
    # perturbed copies give the spread (tools/golden_spread.py)
    model64 = copy.deepcopy(model).double()
    mods64 = dict(model64.named_modules())
    models32 = [model] + [perturbed_copy(model, k) for k in range(1, NPERTURB + 1)]
    meta["spread"] = {}
    for name, cls, layer, fname in runs:
        out, sec, cpu, flips = run_method(cls, model, mods[layer], x, target)
        assert out.shape == (H, W), out.shape
        out64 = run_method(cls, model64, mods64[layer], x.double(), target)[0]
        runs32 = [out] + [run_method(cls, m, dict(m.named_modules())[layer], x, target)[0] for m in models32[1:]]
        sp = spread(runs32, out64)
        meta["spread"][fname] = {"r": sp["r"], "err": sp["err"]}
        np.save(os.path.join(d, fname + ".npy"), out64.astype(np.float32))
        meta["seconds"][fname] = round(sec, 4)
        meta["cpu_seconds"][fname] = round(cpu, 4)
        if flips:
            meta["eigen_sign_flipped"][fname] = flips
        print(f"{case['name']} {fname}: {sec:.3f} s ({cpu:.3f} s cpu), range [{out.min():.3g}, {out.max():.3g}], "
              f"float32 spread r >= {sp['r']:.9f} err <= {sp['err']:.3g}")
    meta["versions"] = {"torch": torch.__version__, "torchvision": torchvision.__version__,
                        "numpy": np.__version__, "pytorch_grad_cam_commit": "084273b3f30b54ad0c64cf8020a4337d979a66e0"}
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="tests/data/attrib/cam")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    img = load_image()
    for case in CASES:
        make_case(case, args.out, img)


if __name__ == "__main__":
    main()
