#!/usr/bin/python3
"""make_attrib_golden_region.py - golden data for tests/test_attrib_region.c:
XRAI and occlusion from PAIR-code/saliency, RISE's aggregation in numpy.

Reference: PAIR-code/saliency at commit 7b72b67 (7b72b673fde6680180befd277c1890d4a9de4b48),
its `saliency` package folder extracted with
    git --git-dir=<mirror of PAIR-code/saliency> archive 7b72b67 saliency | tar -x -C $SALIENT_REF
(the search tool's `fetch github:PAIR-code/saliency` gives the mirror). Nothing
of it is copied here: it is imported from $SALIENT_REF at run time.
RISE: the mask generator of eclique/RISE (explanations.py, generate_masks) is
restated below in four lines (skimage resize, order 1, mode 'reflect'); the
aggregation sum_i p_i M_i / (N p1) is computed in float64 numpy.

Run from the repository root with Debian's Python (torch 1.13, skimage 0.19,
scipy 1.10, numpy 1.24):
    SALIENT_REF=/tmp/ref /usr/bin/python3 tools/make_attrib_golden_region.py
It takes a few minutes (PAIR's occlusion calls the model once per window).

Models: torchvision resnet18 (conv1 replaced by a 1-input-channel conv) and
densenet121 (3 channels), weights from tools/detweights.py fill_model(seed),
eval mode. Input: /work/shared/data/brain-tumor-mri/images/glioma/Te-glTr_0000.jpg
(CC0, see its PROVENANCE.md) as gray, resized by PIL (bilinear) to 224x224 and
64x64, stored as uint8; the network input is x = (u8/255 - mean)/std in float32
(1 channel: mean 0.5, std 0.25; 3 channels: the gray image in each channel with
ImageNet's mean and std). Target: the predicted class. RISE uses the seed-38
resnet18, whose prediction is not saturated (probabilities 0.63 / 0.37), so
the masks' probabilities vary. PAIR's
call_model_function returns the target LOGIT (or its input gradient).

Float rounding (tools/golden_spread.py): every map is computed with the
model in float64 (on the same float32 input), and with the float32 model and
its NPERTURB last-bit perturbed copies; the golden is the float64 map, and a
line `spread <name> <r> <err>` gives the float32 runs' worst agreement with
it, the yardstick of the test's bound.

Writes tests/data/attrib/region/:
  img224.npy, img64.npy           uint8 (H,W) inputs
  xrai_ig.npy                     float32 (224,224): PAIR's IG (mean of the two
                                  baselines, max over channels) for XRAI
  xrai_ranks.npy                  uint8 (224,224): PAIR's integer segments
                                  (1 = best region)
  xrai_gains.npy                  float64 (regions+1): the map value of each
                                  rank, so the map is xrai_gains[ranks - 1]
  masksizes_<case>.npy            int32: pixel count of every dilated mask of
                                  PAIR's _get_segments_felzenszwalb
  occ_<model>.npy, occ_<model>_s4.npy  float32 (64,64): PAIR's occlusion map
                                  (window 15, value 0; one channel of its HWC
                                  output), and the stride-4 variant summed in
                                  numpy from the same window scores (corners
                                  0,4,..,48 and 49)
  rise_grids.npy uint8 (N,8,8), rise_shifts.npy int32 (N,2): the draws;
  rise_mask0.npy float32 (64,64)  the first mask as skimage makes it
  rise_sal.npy float32 (64,64)    sum_i softmax_k(model(x * M_i)) M_i / (N p1)
  cases.txt                       one fact per line (see write order)
"""
import copy
import hashlib
import os
import sys

import numpy as np
import torch
from PIL import Image
from skimage.transform import resize

REF = os.environ.get("SALIENT_REF", "/tmp/ref")
sys.path.insert(0, REF)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import saliency.core as saliency  # noqa: E402
import saliency.core.xrai as xrai_mod  # noqa: E402
from saliency.core.base import INPUT_OUTPUT_GRADIENTS, OUTPUT_LAYER_VALUES  # noqa: E402
from detweights import build_filled_model  # noqa: E402
from golden_spread import NPERTURB, perturbed_copy, spread  # noqa: E402

OUT = "tests/data/attrib/region"
IMAGE = "/work/shared/data/brain-tumor-mri/images/glioma/Te-glTr_0000.jpg"
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def network_input(u8, channels):
    """(C,H,W) float32, each step a float32 op as the C test repeats it."""
    v = u8.astype(np.float32) / np.float32(255)
    if channels == 1:
        return ((v - np.float32(0.5)) / np.float32(0.25))[None]
    return np.stack([(v - np.float32(m)) / np.float32(s) for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)])


def procedural(c, h, w):
    """A deterministic float32 test pattern the C test rebuilds exactly."""
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    planes = [((x * x * 3 + y * 7 + k * 11 * x * y + (x * y) // 5) % 257).astype(np.float32) / np.float32(256)
              for k in range(c)]
    return np.stack(planes)


def make_cmf(model, target, record=None):
    dtype = next(model.parameters()).dtype

    def cmf(x_batch, call_model_args=None, expected_keys=None):
        # float32 first: a float64 model sees exactly the float32 network input
        x = torch.from_numpy(np.ascontiguousarray(np.asarray(x_batch, dtype=np.float32))).permute(0, 3, 1, 2)
        x = x.to(dtype)
        if INPUT_OUTPUT_GRADIENTS in expected_keys:
            x = x.clone().requires_grad_(True)
            out = model(x)[:, target]
            g = torch.autograd.grad(out.sum(), x)[0]
            return {INPUT_OUTPUT_GRADIENTS: g.permute(0, 2, 3, 1).numpy().astype(np.float32)}
        with torch.no_grad():
            out = model(x)[:, target].double().numpy()
        if record is not None:
            record.extend(out.tolist())
        return {OUTPUT_LAYER_VALUES: out}
    return cmf


def predict(model, x):
    with torch.no_grad():
        return int(model(torch.from_numpy(x[None])).argmax(1)[0])


def mask_sizes(x_chw):
    """Pixel counts of PAIR's dilated masks, and the segments per scale."""
    counts = []
    orig = xrai_mod._unpack_segs_to_masks

    def spy(segs):
        counts.extend(int(s.max() - s.min() + 1) for s in segs)
        return orig(segs)
    xrai_mod._unpack_segs_to_masks = spy
    try:
        masks = xrai_mod._get_segments_felzenszwalb(np.transpose(x_chw, (1, 2, 0)))
    finally:
        xrai_mod._unpack_segs_to_masks = orig
    return np.array([int(m.sum()) for m in masks], dtype=np.int32), counts


def resize_digest(x_chw):
    """sha256 and sum of skimage's order-3 resize to 224 of XRAI's [-1,1] image."""
    im = np.transpose(x_chw, (1, 2, 0))
    im = xrai_mod._normalize_image(im, [-1.0, 1.0], (224, 224))
    chw = np.ascontiguousarray(np.transpose(im, (2, 0, 1)).astype(np.float32))
    assert im.dtype == np.float32
    return hashlib.sha256(chw.tobytes()).hexdigest(), float(chw.astype(np.float64).sum())


def ensemble(model):
    """The float64 model, then the float32 one and its NPERTURB last-bit
    perturbed copies (tools/golden_spread.py)."""
    return [copy.deepcopy(model).double(), model] + [perturbed_copy(model, k) for k in range(1, NPERTURB + 1)]


def spread_line(lines, name, runs32, ref64):
    sp = spread(runs32, ref64)
    lines.append(f"spread {name} {sp['r']:.9f} {sp['err']:.4g}")
    print("  spread", name, "r >=", sp["r"], "err <=", sp["err"])


def xrai_run(model, x, target):
    p = saliency.XRAIParameters()
    p.return_xrai_segments = True
    p.return_ig_attributions = True
    out = saliency.XRAI().GetMaskWithDetails(np.transpose(x, (1, 2, 0)), make_cmf(model, target),
                                             batch_size=20, extra_parameters=p)
    ig = np.mean(out.ig_attribution, axis=0).max(axis=-1).astype(np.float32)
    return out, ig


def xrai_case(lines, u8):
    model = build_filled_model("resnet18", 1, 4, 31)
    x = network_input(u8, 1)
    target = predict(model, x)
    runs = [xrai_run(m, x, target) for m in ensemble(model)]
    out, ig = runs[0]  # the float64 model's
    ranks = out.segments
    nr = int(ranks.max())
    gains = np.array([out.attribution_mask[ranks == r][0] for r in range(1, nr + 1)], dtype=np.float64)
    assert np.array_equal(gains[ranks - 1], out.attribution_mask), "map is not a function of the rank"
    assert nr < 256
    np.save(f"{OUT}/xrai_ig.npy", ig)
    np.save(f"{OUT}/xrai_ranks.npy", ranks.astype(np.uint8))
    np.save(f"{OUT}/xrai_gains.npy", gains)
    sizes, counts = mask_sizes(x)
    np.save(f"{OUT}/masksizes_r18_224.npy", sizes)
    lines.append(f"xrai resnet18 1 4 31 224 {target} {nr} " + ",".join(map(str, counts)))
    spread_line(lines, "xrai_ig", [i for _, i in runs[1:]], ig)
    spread_line(lines, "xrai_map", [o.attribution_mask for o, _ in runs[1:]], out.attribution_mask)
    print("xrai: target", target, "ranks", nr, "segments", counts)


def occlusion_run(model, x, target):
    """PAIR's occlusion map (window 15, value 0) and the stride-4 sum of its
    window scores."""
    record = []
    occ = saliency.Occlusion().GetMask(np.transpose(x, (1, 2, 0)), make_cmf(model, target, record),
                                       size=15, value=0)
    m = occ[:, :, 0].astype(np.float32)
    assert all(np.array_equal(occ[:, :, c], occ[:, :, 0]) for c in range(occ.shape[2]))
    H, W = m.shape
    n = H - 15 + 1
    f0, ys = record[0], np.array(record[1:]).reshape(n, n)
    s4 = np.zeros((H, W))
    corners = sorted(set(list(range(0, H - 15 + 1, 4)) + [H - 15]))
    for r in corners:
        for c in corners:
            s4[r:r + 15, c:c + 15] += f0 - ys[r, c]
    return m, s4.astype(np.float32)


def occlusion_case(lines, tag, arch, channels, classes, seed, u8):
    model = build_filled_model(arch, channels, classes, seed)
    x = network_input(u8, channels)
    target = predict(model, x)
    runs = [occlusion_run(m, x, target) for m in ensemble(model)]
    m, s4 = runs[0]
    np.save(f"{OUT}/occ_{tag}.npy", m)
    np.save(f"{OUT}/occ_{tag}_s4.npy", s4)
    lines.append(f"occlusion {tag} {arch} {channels} {classes} {seed} 64 {target}")
    spread_line(lines, f"occ_{tag}", [a for a, _ in runs[1:]], m)
    spread_line(lines, f"occ_{tag}_s4", [b for _, b in runs[1:]], s4)
    print("occlusion", tag, "target", target, "range", m.min(), m.max())
    sizes, counts = mask_sizes(x)
    np.save(f"{OUT}/masksizes_{tag}_64.npy", sizes)
    lines.append(f"masks {tag}_64 " + ",".join(map(str, counts)))
    digest, total = resize_digest(x)
    lines.append(f"resize img64_{tag} {channels} 64 64 {digest} {total:.17g}")


def rise_case(lines, u8, N=200, s=8, p1=0.5):
    model = build_filled_model("resnet18", 1, 4, 38)
    x = network_input(u8, 1)
    target = predict(model, x)
    H, W = x.shape[1:]
    rng = np.random.default_rng(2018)
    cell = np.ceil(np.array((H, W)) / s)
    up = (s + 1) * cell
    grid = rng.random((N, s, s)) < p1
    shifts = np.stack([rng.integers(0, cell[0], N), rng.integers(0, cell[1], N)], 1).astype(np.int32)
    masks = np.empty((N, H, W))
    for i in range(N):  # eclique/RISE generate_masks, with these grids and shifts
        dy, dx = shifts[i]
        masks[i] = resize(grid[i].astype("float32"), up, order=1, mode="reflect",
                          anti_aliasing=False)[dy:dy + H, dx:dx + W]
    masks_t = torch.from_numpy(masks).float()
    sals = []
    for mk in ensemble(model):
        with torch.no_grad():
            stack = (masks_t[:, None] * torch.from_numpy(x)[None]).to(next(mk.parameters()).dtype)
            probs = torch.cat([torch.softmax(mk(stack[i:i + 50]), 1) for i in range(0, N, 50)]).double().numpy()
        sals.append(probs.T @ masks_t.double().numpy().reshape(N, -1) / N / p1)
    sal = sals[0]  # the float64 model's
    np.save(f"{OUT}/rise_grids.npy", grid.astype(np.uint8))
    np.save(f"{OUT}/rise_shifts.npy", shifts)
    np.save(f"{OUT}/rise_sal.npy", sal[target].reshape(H, W).astype(np.float32))
    np.save(f"{OUT}/rise_mask0.npy", masks_t[0].numpy())
    lines.append(f"rise resnet18 1 4 38 64 {target} {N} {s} {p1}")
    spread_line(lines, "rise", [v[target] for v in sals[1:]], sal[target])
    print("rise: target", target, "sal range", sal[target].min(), sal[target].max())


def resize_cases(lines):
    for c, h, w in [(1, 300, 300), (3, 100, 100), (1, 512, 512), (3, 224, 224), (1, 90, 130)]:
        x = procedural(c, h, w)
        digest, total = resize_digest(x)
        lines.append(f"resize procedural {c} {h} {w} {digest} {total:.17g}")
        sizes, counts = mask_sizes(x)
        np.save(f"{OUT}/masksizes_proc_c{c}_{h}x{w}.npy", sizes)
        lines.append(f"masks proc_c{c}_{h}x{w} " + ",".join(map(str, counts)))
        print("resize/masks", c, h, w, counts)


def main():
    torch.set_num_threads(1)  # on a loaded machine 2 threads spin: 30x slower per call
    os.makedirs(OUT, exist_ok=True)
    gray = Image.open(IMAGE).convert("L")
    u224 = np.asarray(gray.resize((224, 224), Image.BILINEAR), dtype=np.uint8)
    u64 = np.asarray(gray.resize((64, 64), Image.BILINEAR), dtype=np.uint8)
    np.save(f"{OUT}/img224.npy", u224)
    np.save(f"{OUT}/img64.npy", u64)
    lines = []
    resize_cases(lines)
    rise_case(lines, u64)
    occlusion_case(lines, "r18", "resnet18", 1, 4, 32, u64)
    occlusion_case(lines, "d121", "densenet121", 3, 3, 33, u64)
    xrai_case(lines, u224)
    with open(f"{OUT}/cases.txt", "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
