#!/usr/bin/python3
"""make_pic_golden.py - golden data for tests/test_pic.c: PAIR's own PIC
metric (saliency/metrics/pic.py compute_pic_metric, AIC and SIC) on real
brain-MRI crops with a deterministic model, the numpy/scipy curve rule on
crafted tie cases, and RISE's insertion/deletion game.

Run from the repository root with Debian's Python (numpy 1.24, scipy 1.10,
Pillow 9.4 with WebP, torch 1.13, torchvision), PAIR's package on the path:
    git --git-dir=<fetched PAIR-code/saliency> archive HEAD saliency | tar -x -C /tmp/ref
    PAIR_SALIENCY=/tmp/ref /usr/bin/python3 tools/make_pic_golden.py
(PAIR-code/saliency commit 7b72b673fde6680180befd277c1890d4a9de4b48.)

Model: torchvision resnet18 with a first conv of C inputs and 4 classes, every
parameter from tools/detweights.py (seed in the case), eval mode, 1 thread;
the C test rebuilds it with tests/detweights.h. pred_func as PAIR's notebook:
uint8 images -> float32 / 255 -> (x - mean) / std -> logits; SIC returns the
softmax probability (in float64, from the float32 logits) of the class, AIC
returns 1.0 if the top-1 class is the class else 0.0; the class is the top-1
class of the original image.

Writes tests/data/pic/<case>/:
  img.npy          (H,W) or (H,W,C) uint8: a centre crop of a test slice (the
                   RGB case stacks three slices so the channels differ); also
                   as img.png for the command-line test
  map.npy          (H,W) float32 saliency map: |d softmax_cls / dx| summed over
                   channels, quantised to 40 levels so that many pixels tie
                   at the quantiles (the >= rule matters)
  random_mask.npy  (H,W) bool, int(H*W*0.01) pixels: numpy default_rng(seed)
                   .choice without replacement, as pic.py's generate_random_mask
  blurred.npy      (15,H,W[,C]) uint8: pic.py's blurred_images (the fully
                   blurred image, the 13 thresholds, the original)
  masks.npy        (13, ceil(H*W/8)) uint8: np.packbits of map >= quantile OR
                   random_mask per threshold (before the corners are added)
  values.json      class, min_pred, normalisation, per image of blurred.npy the
                   WebP information (pic.py's estimate_image_entropy), the
                   seed paper's histogram entropy, and the SIC and AIC
                   predictions; PAIR's AUC and skip message of each curve;
                   numpy's quantile of the map per threshold
  curves.npy       (2,1001) float64: PAIR's SIC and AIC curve_y (NaN if skipped)
  insdel.json      (gray case) RISE CausalMetric scores and AUCs: insertion
                   from the blur substrate (gkern(11, 5) by conv2d with zero
                   padding 5 on the normalised image), deletion to zeros
                   (RISE's torch.zeros_like) and to black ((0 - mean)/std);
                   step 64 pixels; order np.flip(argsort(kind='stable')) of a
                   tie-free map (insdel_map.npy); and the kernel itself
and tests/data/pic/curves/: crafted point sets with ties in x (points.npy
(n,13,2)), their scipy interp1d + numpy.trapz curves (curves.npy, the first
8) and AUCs (aucs.npy) as pic.py builds them; aggregate.npy: the mean and
median aggregation (aggregate_individual_pic_results) AUCs of the first
1, 2, 5, 8 curves; quantile_arrays.npy (4,997) float32 with ties and
quantiles.npy (4,39): per threshold numpy.quantile(a, 1-t), its float32
value, and the count of a >= quantile.
"""
import io
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision
from PIL import Image
from scipy import interpolate, stats
from scipy.ndimage import gaussian_filter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from detweights import fill_model  # noqa: E402
from golden_spread import NPERTURB, perturbed_copy  # noqa: E402

sys.path.insert(0, os.environ.get("PAIR_SALIENCY", "/tmp/ref"))
from saliency.metrics import pic  # noqa: E402

OUT = "tests/data/pic"
MRI = "/work/shared/data/brain-tumor-mri/images"
THRESHOLDS = [0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.07, 0.10, 0.13, 0.21, 0.34, 0.5, 0.75]

CASES = [
    # main case: neither curve skipped at PAIR's default min_pred 0.8
    dict(name="g64", slices=["glioma/Te-glTr_0000.jpg"], size=64, seed=3, mean=[0.2], std=[0.25],
         mask_seed=7, insdel=True),
    # the fully blurred image keeps the prediction: both curves skipped (blurred_pred)
    dict(name="g64_skip", slices=["meningioma/Te-me_0155.jpg"], size=64, seed=3, mean=[0.2], std=[0.25],
         mask_seed=8, insdel=False),
    # three channels (webp of RGB, interleaved layout)
    dict(name="rgb64", slices=["glioma/Te-gl_0150.jpg", "meningioma/Te-meTr_0000.jpg", "pituitary/Te-piTr_0000.jpg"],
         size=64, seed=3, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], mask_seed=9, insdel=False),
]


def build_model(C, seed, classes=4):
    m = torchvision.models.resnet18(weights=None, num_classes=classes)
    if C != 3:
        m.conv1 = nn.Conv2d(C, 64, kernel_size=7, stride=2, padding=3, bias=False)
    fill_model(m, seed)
    return m.eval()


def crop(path, s):
    im = np.asarray(Image.open(path).convert("L"))
    h, w = im.shape
    return np.ascontiguousarray(im[h // 2 - s // 2:h // 2 + s - s // 2, w // 2 - s // 2:w // 2 + s - s // 2])


def make_logits_fn(model, mean, std):
    mean_t = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)

    def to_input(imgs):
        x = torch.from_numpy(np.ascontiguousarray(imgs)).float()
        x = x[:, None] if x.ndim == 3 else x.permute(0, 3, 1, 2)
        return (x / 255 - mean_t) / std_t

    def logits(imgs):
        with torch.no_grad():
            return model(to_input(imgs))
    return to_input, logits


def webp_bytes(img):
    return int(pic.estimate_image_entropy(img))


def hist_entropy(img):
    p = np.histogram(img, bins=256, range=(img.min(), img.max()), density=True)[0]
    return float(stats.entropy(p, base=2))


def pic_run(img, smap, rmask, fn, transposed=False):
    """PAIR's compute_pic_metric; transposed=True runs it with every blurred
    image made on the transposed image and mask (then transposed back): Qhull
    then inserts the points in another order and breaks the co-circular ties
    of the pixel grid differently - an equally valid Delaunay interpolant.
    Returns (result or None, skip message or None)."""
    orig = pic.create_blurred_image

    def blur_t(full_img, pixel_mask, method="linear"):
        ft = np.ascontiguousarray(np.swapaxes(full_img, 0, 1))
        return np.ascontiguousarray(np.swapaxes(orig(ft, np.ascontiguousarray(pixel_mask.T), method), 0, 1))
    if transposed:
        pic.create_blurred_image = blur_t
    try:
        r = pic.compute_pic_metric(img=img, saliency_map=smap, random_mask=rmask, pred_func=fn,
                                   saliency_thresholds=THRESHOLDS, min_pred_value=0.8)
        return r, None
    except pic.ComputePicMetricError as e:
        return None, str(e)
    finally:
        pic.create_blurred_image = orig


def run_case(c):
    d = os.path.join(OUT, c["name"])
    os.makedirs(d, exist_ok=True)
    s = c["size"]
    planes = [crop(os.path.join(MRI, p), s) for p in c["slices"]]
    img = planes[0] if len(planes) == 1 else np.stack(planes, axis=2)
    C = len(planes)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = build_model(C, c["seed"])
    model64 = build_model(C, c["seed"]).double()
    to_input, logits = make_logits_fn(model, c["mean"], c["std"])
    cls = int(logits(img[None]).argmax(1)[0])

    def logits64(imgs):
        with torch.no_grad():
            return model64(to_input(imgs).double())

    # pic.py calls pred_func on one image at a time; so do these
    def pred_sic(imgs):
        return torch.softmax(logits(imgs).double(), dim=1)[:, cls].numpy()

    def pred_aic(imgs):
        return (logits(imgs).argmax(1) == cls).double().numpy()

    def pred_sic64(imgs):
        return torch.softmax(logits64(imgs), dim=1)[:, cls].numpy()

    def pred_aic64(imgs):
        return (logits64(imgs).argmax(1) == cls).double().numpy()

    # saliency map: |gradient of the class probability|, summed over channels, quantised
    x = to_input(img[None]).requires_grad_(True)
    torch.softmax(model(x), dim=1)[0, cls].backward()
    g = x.grad[0].abs().sum(0).numpy().astype(np.float64)
    smap = (np.floor(g / g.max() * 40) / 40).astype(np.float32)

    rng = np.random.default_rng(c["mask_seed"])
    rmask = np.zeros(s * s, dtype=bool)
    rmask[rng.choice(s * s, replace=False, size=int(s * s * 0.01))] = True
    rmask = rmask.reshape(s, s)

    values = dict(case=c["name"], arch="resnet18", in_channels=C, classes=4, weights_seed=c["seed"],
                  mean=c["mean"], std=c["std"], cls=cls, min_pred=0.8, thresholds=THRESHOLDS,
                  quantiles=[float(np.quantile(smap, 1 - t)) for t in THRESHOLDS],
                  known_counts=[], sources=c["slices"])
    masks = []
    for t in THRESHOLDS:
        m = np.logical_or(smap >= np.quantile(smap, 1 - t), rmask)
        masks.append(np.packbits(m.reshape(-1)))
        values["known_counts"].append(int(m.sum()))
    curves = np.full((2, 1001), np.nan)
    blurred = None
    for k, (name, fn, fn64) in enumerate((("sic", pred_sic, pred_sic64), ("aic", pred_aic, pred_aic64))):
        r, msg = pic_run(img, smap, rmask, fn)
        r64, _ = pic_run(img, smap, rmask, fn64)
        rt, _ = pic_run(img, smap, rmask, fn, transposed=True)
        values[name] = dict(auc=r.auc if r else None, skipped=msg, auc_f64=r64.auc if r64 else None,
                            auc_transposed=rt.auc if rt else None)
        values[name] = {key: (float(v) if isinstance(v, (float, np.floating)) else v) for key, v in values[name].items()}
        if r:
            curves[k] = r.curve_y
            blurred = np.stack(r.blurred_images)
    if blurred is None:  # skipped: rebuild the images as pic.py would have
        ims = [pic.create_blurred_image(img, rmask)]
        for t in THRESHOLDS:
            ims.append(pic.create_blurred_image(img, np.logical_or(smap >= np.quantile(smap, 1 - t), rmask)))
        blurred = np.stack(ims + [img])
    values["webp"] = [webp_bytes(b) for b in blurred]
    values["entropy"] = [hist_entropy(b) for b in blurred]
    for name, fn, fn64 in (("sic", pred_sic, pred_sic64), ("aic", pred_aic, pred_aic64)):
        values[name]["pred"] = [float(fn(b[None])[0]) for b in blurred]
        values[name]["pred_f64"] = [float(fn64(b[None])[0]) for b in blurred]
    # the yardstick of the test's bound (tools/golden_spread.py): the largest
    # |softmax - float64 softmax| of torch's float32 runs, plain and with
    # last-bit perturbed weights
    spread = 0.0
    for mk in [model] + [perturbed_copy(model, k) for k in range(1, NPERTURB + 1)]:
        _, lk = make_logits_fn(mk, c["mean"], c["std"])
        for b, p64 in zip(blurred, values["sic"]["pred_f64"]):
            p32 = float(torch.softmax(lk(b[None]).double(), dim=1)[0, cls])
            spread = max(spread, abs(p32 - p64))
    values["f32_spread"] = spread
    np.save(os.path.join(d, "img.npy"), img)
    Image.fromarray(img).save(os.path.join(d, "img.png"))  # for tests/cli_pic.sh
    np.save(os.path.join(d, "map.npy"), smap)
    np.save(os.path.join(d, "random_mask.npy"), rmask)
    np.save(os.path.join(d, "blurred.npy"), blurred)
    np.save(os.path.join(d, "masks.npy"), np.stack(masks))
    np.save(os.path.join(d, "curves.npy"), curves)
    if c["insdel"]:
        insdel(d, img, model, model64, to_input, cls, c)
    with open(os.path.join(d, "values.json"), "w") as f:
        json.dump(values, f, indent=1)
    print(c["name"], "class", cls, "torch float32 spread", values["f32_spread"])
    for name in ("sic", "aic"):
        print("  ", name, {k: v for k, v in values[name].items() if not k.startswith("pred")})


# ---- RISE insertion / deletion (Petsiuk et al. 2018; eclique/RISE evaluation.py) ----
def gkern(klen, nsig, C):
    inp = np.zeros((klen, klen))
    inp[klen // 2, klen // 2] = 1
    k = gaussian_filter(inp, nsig)
    kern = np.zeros((C, C, klen, klen))
    for i in range(C):
        kern[i, i] = k
    return torch.from_numpy(kern.astype("float32"))


def rise_auc(arr):
    return float((arr.sum() - arr[0] / 2 - arr[-1] / 2) / (arr.shape[0] - 1))


def causal_game(model, x, order, cls, finish_of, start_is_substrate, step):
    """RISE's single_run: n_steps = ceil(HW/step) + 1 scores; after score i the
    pixels order[step*i : step*(i+1)] of `start` take `finish`'s values."""
    HW = x.shape[2] * x.shape[3]
    n_steps = (HW + step - 1) // step
    sub = finish_of(x)
    start, finish = (sub.clone(), x.clone()) if start_is_substrate else (x.clone(), sub.clone())
    scores = np.empty(n_steps + 1)
    C = x.shape[1]
    for i in range(n_steps + 1):
        with torch.no_grad():
            scores[i] = float(torch.softmax(model(start).double(), dim=1)[0, cls])
        if i < n_steps:
            coords = order[step * i:step * (i + 1)]
            start.numpy().reshape(1, C, HW)[0, :, coords] = finish.numpy().reshape(1, C, HW)[0, :, coords]
    return scores


def insdel(d, img, model, model64, to_input, cls, c):
    x = to_input(img[None]).contiguous()
    C = x.shape[1]
    # a tie-free map: the rank of the smoothed image plus a seeded jitter
    rng = np.random.default_rng(5)
    g = gaussian_filter(img.astype(np.float64), 4).reshape(img.shape[0], img.shape[1], -1).sum(2)
    g = g + rng.random(g.shape) * 1e-3
    m = np.argsort(np.argsort(g.reshape(-1))).reshape(g.shape).astype(np.float32)
    assert len(np.unique(m)) == m.size
    order = np.flip(np.argsort(m.reshape(-1), kind="stable"))
    kern = gkern(11, 5, C)
    blur = lambda t: nn.functional.conv2d(t, kern, padding=11 // 2)  # noqa: E731
    mean = torch.tensor(c["mean"], dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(c["std"], dtype=torch.float32).view(1, -1, 1, 1)
    black = lambda t: torch.zeros_like(t) * 0 + (0 - mean) / std  # noqa: E731
    step = 64
    out = dict(step=step, cls=cls, kernel=kern[0, 0].numpy().astype(np.float64).reshape(-1).tolist())
    for name, fn, ins in (("insertion_blur", blur, True), ("deletion_zero", torch.zeros_like, False),
                          ("deletion_black", black, False), ("insertion_black", black, True)):
        sc = causal_game(model, x, order, cls, fn, ins, step)
        sc64 = causal_game(model64, x.double(), order, cls, lambda t: fn(t.float()).double(), ins, step)
        spread = max(float(np.abs(causal_game(mk, x, order, cls, fn, ins, step) - sc64).max())
                     for mk in [model] + [perturbed_copy(model, k) for k in range(1, NPERTURB + 1)])
        out[name] = dict(scores=sc.tolist(), auc=rise_auc(sc), scores_f64=sc64.tolist(), auc_f64=rise_auc(sc64),
                         spread=spread)
    np.save(os.path.join(d, "insdel_map.npy"), m)
    with open(os.path.join(d, "insdel.json"), "w") as f:
        json.dump(out, f)


# ---- curve rule on crafted ties ----
def pair_curve(points):
    """pic.py's curve: the 13 points, (0,0) and (1,1) appended, interp1d, 1000
    queries, the point (1,1), trapz."""
    xs, ys = zip(*(list(points) + [(0.0, 0.0), (1.0, 1.0)]))
    f = interpolate.interp1d(x=xs, y=ys)
    cx = np.linspace(start=0.0, stop=1.0, num=1000, endpoint=False)
    cy = np.asarray([f(v) for v in cx])
    cx = np.append(cx, 1.0)
    cy = np.append(cy, 1.0)
    return cy, float(np.trapz(cy, cx))


def curve_cases():
    rng = np.random.default_rng(11)
    cases = []
    # hand-made: ties at 0, at 1, in the middle with falling y order, all 0, all 1, duplicates of (0,0)
    hand = [
        [0.0] * 13,
        [1.0] * 13,
        [0, 0, 0, 0.2, 0.2, 0.2, 0.5, 0.5, 1, 1, 1, 1, 1],
        [0.5] * 13,
        [0.3, 0.1, 0.3, 0.1, 0.6, 0.6, 0.2, 1, 0.999, 1, 0.001, 0.5, 0.5],
        list(np.linspace(0, 1, 13)),
        [0.0005, 0.0015, 0.001, 0.002, 0.5005, 0.4995, 0.5, 0.9995, 0.999, 0.998, 0.9985, 1, 1],
    ]
    for xs in hand:
        ys = np.maximum.accumulate(rng.random(13))
        cases.append(list(zip(map(float, xs), map(float, ys))))
    # y not monotone (keep_monotonous=False gives such curves; the rule is the same)
    cases.append([(float(v), float(w)) for v, w in zip(rng.choice([0, 0.25, 0.5, 1], 13), rng.random(13))])
    for _ in range(192):
        levels = rng.choice([0.0, 0.1, 0.25, 0.4, 0.5, 0.75, 0.9, 1.0, rng.random()], size=13)
        ys = np.maximum.accumulate(np.clip(rng.random(13) * 1.3 - 0.15, 0, 1))
        if rng.random() < 0.3:
            ys = np.where(rng.random(13) < 0.5, 0.0, 1.0)
            ys = np.maximum.accumulate(ys)
        cases.append(list(zip(map(float, levels), map(float, ys))))
    pts = np.array(cases, dtype=np.float64)
    curves, aucs = [], []
    for cs in cases:
        cy, a = pair_curve(cs)
        curves.append(cy)
        aucs.append(a)
    curves = np.array(curves)
    ag = []
    for n in (1, 2, 5, 8):
        sub = curves[:n]
        mean = np.mean(sub, axis=0)
        med = np.median(sub, axis=0)
        ag.append([float(np.trapz(mean, np.append(np.linspace(0, 1, 1000, endpoint=False), 1.0))),
                   float(np.trapz(med, np.append(np.linspace(0, 1, 1000, endpoint=False), 1.0)))])
    # numpy quantile + float32 comparison rule on random float32 arrays with ties
    qv = []
    qa = rng.integers(0, 50, size=(4, 997)).astype(np.float32) / np.float32(7)
    qa[1] = rng.random(997).astype(np.float32)
    qa[2, :500] = 0
    qa[3] = rng.standard_normal(997).astype(np.float32) * np.float32(1e-3) + np.float32(1)
    for a in qa:
        qv.append([float(np.quantile(a, 1 - t)) for t in THRESHOLDS] +
                  [float(np.float32(np.quantile(a, 1 - t))) for t in THRESHOLDS] +
                  [int((a >= np.quantile(a, 1 - t)).sum()) for t in THRESHOLDS])
    d = os.path.join(OUT, "curves")
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "points.npy"), pts)
    np.save(os.path.join(d, "curves.npy"), curves[:8])
    np.save(os.path.join(d, "aucs.npy"), np.array(aucs))
    np.save(os.path.join(d, "aggregate.npy"), np.array(ag))
    np.save(os.path.join(d, "quantile_arrays.npy"), qa)
    np.save(os.path.join(d, "quantiles.npy"), np.array(qv, dtype=np.float64))
    print("curve cases", len(cases))


def main():
    os.makedirs(OUT, exist_ok=True)
    for c in CASES:
        run_case(c)
    curve_cases()


if __name__ == "__main__":
    main()
