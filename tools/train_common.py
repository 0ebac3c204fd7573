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


def preprocess_file(path, size, percentile=None):
    """Steps 1-4 for one file: returns the normalised (1, 1, S, S) input batch."""
    return normalize(resize_sq(load_gray01(path), size)[None], percentile)


def scale_intensity(x, percentile):
    """Each image of x (N, 1, S, S) divided by the given percentile of its own
    gray levels (linear interpolation between order statistics, numpy's
    default), then clamped to [0, 1]; an image whose percentile is 0 is left
    as it is. The result does not change when an image is multiplied by a
    gain (up to the clamp): the brain set's held-out copies have 1.38 times
    the gray levels of the training copies of the same slices
    (tools/brain_split_intensity.py)."""
    q = torch.quantile(x.flatten(1), percentile / 100.0, dim=1).view(-1, 1, 1, 1)
    return torch.where(q > 0, (x / q.clamp_min(1e-12)).clamp(0, 1), x)


def normalize(x, percentile=None):
    """The network's input from gray images in [0, 1]: with percentile, each
    image scaled by scale_intensity first; then (x - MEAN) / STD."""
    if percentile:
        x = scale_intensity(x, percentile)
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
            contrast_range=(1.0, 1.0), gamma_range=(1.0, 1.0), border_erase=0.0,
            sharpness=0.0, extra=None):
    """Seeded random augmentation of a batch (B,1,S,S) in [0,1]; training only.

    Geometry: rotation, isotropic scale, shift, optional horizontal flip;
    bilinear resampling with zero (black) padding.
    Intensity, per image: x -> clamp(c * x ** g, 0, 1) with contrast c and
    gamma g drawn log-uniformly from their ranges ((1, 1) = off).
    Border erase (border_erase > 0), for half of the images: each side loses an
    independent random band of up to border_erase of the size, set to black, so
    frames, labels and edges of the source scanner stop being usable cues.
    Sharpness (sharpness = a > 0), per image: x -> unsharp(x, s) with s uniform
    in [-a, a]. The held-out originals are downsampled from
    their own sizes and come from other sources than the training copies, and
    their sharpness differs; without it a network reads sharpness as a class cue.
    Returns (x, extra): extra (B,C,S,S), e.g. the head masks of the images,
    gets the same geometry and border erase (no intensity change); None
    stays None. The random draws are the same with or without it."""
    B = x.shape[0]
    u = torch.rand(B, 7, generator=gen)
    if border_erase > 0:
        e = torch.rand(B, 5, generator=gen)
    if sharpness > 0:
        s = (torch.rand(B, generator=gen) * 2 - 1) * sharpness
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
    if extra is not None:
        extra = F.grid_sample(extra, grid, mode="bilinear", padding_mode="zeros",
                              align_corners=False)
    if contrast_range != (1.0, 1.0) or gamma_range != (1.0, 1.0):
        def loguni(v, r):
            return torch.exp(math.log(r[0]) + v * (math.log(r[1]) - math.log(r[0])))
        c = loguni(u[:, 5], contrast_range).view(B, 1, 1, 1)
        g = loguni(u[:, 6], gamma_range).view(B, 1, 1, 1)
        x = (c * x.clamp(0, 1) ** g).clamp(0, 1)
    if sharpness > 0:
        x = unsharp(x, s.view(B, 1, 1, 1))
    if border_erase > 0:
        x = erase_borders(x, e, border_erase)
        if extra is not None:
            extra = erase_borders(extra, e, border_erase)
    return x, extra


def erase_borders(x, e, frac):
    """Zero a band of width e[:,1:5] * frac * S on each side of the images with e[:,0] < 0.5."""
    S = x.shape[-1]
    pos = torch.arange(S, dtype=torch.float32)
    w = e[:, 1:5] * frac * S
    on = (e[:, 0] < 0.5).float().view(-1, 1)
    rows = ((pos[None] >= w[:, 0:1] * on) & (pos[None] < S - w[:, 1:2] * on)).float()
    cols = ((pos[None] >= w[:, 2:3] * on) & (pos[None] < S - w[:, 3:4] * on)).float()
    return x * (rows[:, None, :, None] * cols[:, None, None, :])


# ---- tumour-mask augmentation (brain model) ----

def gauss_blur(x, sigma):
    """Separable Gaussian blur of (B,1,S,S), reflect padding, kernel 6 sigma + 1."""
    r = max(1, int(3 * sigma))
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    g = torch.exp(-0.5 * (t / sigma) ** 2)
    g = g / g.sum()
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), g.view(1, 1, 1, -1))
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), g.view(1, 1, -1, 1))


def unsharp(x, s):
    """clamp(x + s (x - blur(x)), 0, 1) of (B,1,S,S), blur a Gaussian of sigma 1 px:
    s = -1 is that blur, s > 0 an unsharp mask; s a number or a (B,1,1,1) tensor."""
    return (x + s * (x - gauss_blur(x, 1.0))).clamp(0, 1)


def erase_tumour(x, m, dilate_px=6, sigma=8.0):
    """Replace the tumour (mask m dilated by dilate_px) with the blurred tissue
    around it (normalised convolution of the image outside the mask), with a
    soft edge, so no sharp blob marks where the tumour was."""
    md = F.max_pool2d(m, 2 * dilate_px + 1, stride=1, padding=dilate_px)
    keep = 1.0 - md
    fill = gauss_blur(x * keep, sigma) / gauss_blur(keep, sigma).clamp_min(1e-3)
    soft = gauss_blur(md, 2.0).clamp(0, 1)
    return x * (1 - soft) + fill.clamp(0, 1) * soft


def crop_around_tumour(x, m, u):
    """Zoom into a square that holds the whole tumour: side = the tumour box's
    larger side x (1.6..3.0), at least 30% of the image, placed at random with
    the box inside; resampled to the full size (bilinear)."""
    B, _, S, _ = x.shape
    theta = torch.zeros(B, 2, 3)
    for i in range(B):
        ys, xs = torch.nonzero(m[i, 0] > 0.5, as_tuple=True)
        y0, y1, x0, x1 = ys.min().item(), ys.max().item() + 1, xs.min().item(), xs.max().item() + 1
        side = max(y1 - y0, x1 - x0) * (1.6 + 1.4 * u[i, 0].item())
        side = min(float(S), max(0.3 * S, side))
        lo_x, hi_x = max(0.0, x1 - side), min(x0, S - side)
        lo_y, hi_y = max(0.0, y1 - side), min(y0, S - side)
        cx = (lo_x + (hi_x - lo_x) * u[i, 1].item() if hi_x > lo_x else (x0 + x1 - side) / 2) + side / 2
        cy = (lo_y + (hi_y - lo_y) * u[i, 2].item() if hi_y > lo_y else (y0 + y1 - side) / 2) + side / 2
        theta[i, 0, 0] = theta[i, 1, 1] = side / S
        theta[i, 0, 2] = cx / S * 2 - 1
        theta[i, 1, 2] = cy / S * 2 - 1
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def tumour_augment(x, m, has, y, gen, k, smoothing, p_erase, p_crop, fg=None):
    """Per image with a tumour mask (has[i]): with probability p_erase the
    tumour is erased and the target becomes uniform over the k classes (no
    evidence left, so no confident answer); else with probability p_crop the
    image is zoomed around the tumour (label kept). Returns the images, the
    target distributions (label smoothing as F.cross_entropy applies it), fg
    (the head masks, or None) after the same zoom, and the tumour masks after
    it (zero where the tumour was erased)."""
    B = x.shape[0]
    u = torch.rand(B, 4, generator=gen)
    t = torch.full((B, k), smoothing / k)
    t[torch.arange(B), y] += 1.0 - smoothing
    erase = has & (u[:, 0] < p_erase)
    crop = has & ~erase & (u[:, 0] < p_erase + p_crop)
    x, m = x.clone(), m.clone()
    if erase.any():
        x[erase] = erase_tumour(x[erase], m[erase])
        t[erase] = 1.0 / k
        m[erase] = 0.0
    if crop.any():
        parts = [x[crop], m[crop]] + ([] if fg is None else [fg[crop]])
        both = crop_around_tumour(torch.cat(parts, 1), m[crop], u[crop][:, 1:])
        x[crop], m[crop] = both[:, :1], both[:, 1:2]
        if fg is not None:
            fg = fg.clone()
            fg[crop] = both[:, 2:]
    return x, t, fg, m


# ---- the map's mass outside the head (shortcut penalty) ----

def head_foreground(X, log=None):
    """Head or body masks (N,1,S,S) of cached images X (N,1,S,S) in [0,1],
    as eval/localize.h defines the foreground (and
    tools/make_foreground_golden.py computes it): Gaussian smoothing
    (sigma = max(1, S/112), edges repeated, truncate 3), threshold 0.1 x the
    99th percentile (method 'lower'), the largest 4-connected component,
    holes filled."""
    from scipy import ndimage
    out = torch.zeros_like(X)
    for i in range(X.shape[0]):
        g = X[i, 0].double().numpy()
        s = ndimage.gaussian_filter(g, max(1.0, max(g.shape) / 112.0), mode="nearest",
                                    truncate=3.0)
        lab, n = ndimage.label(s > 0.1 * np.percentile(s, 99, method="lower"))
        if n == 0:
            continue
        # labels are numbered in raster order of their first pixel: argmax
        # takes the first of equally large components, as the C code does
        big = 1 + int(np.argmax(np.bincount(lab.ravel())[1:]))
        out[i, 0] = torch.from_numpy(ndimage.binary_fill_holes(lab == big).astype(np.float32))
        if log and (i + 1) % 1000 == 0:
            log("  head masks %d/%d" % (i + 1, X.shape[0]))
    return out


def set_output_stride(model, output_stride):
    """A torchvision ResNet with output stride 32 (torchvision's) or 16: at 16,
    layer4's first block keeps its input's resolution (stride 1 in its strided
    conv and its downsample conv; the same parameters and state_dict names),
    as salient's eng_resnet_os builds it and the metadata key output_stride=16
    asks for. Returns the model."""
    if output_stride == 16:
        blk = model.layer4[0]
        (blk.conv2 if hasattr(blk, "conv3") else blk.conv1).stride = (1, 1)
        blk.downsample[0].stride = (1, 1)
    elif output_stride != 32:
        raise SystemExit("output stride must be 32 or 16, not %r" % output_stride)
    return model


def resnet_forward_cam(model, x):
    """A torchvision ResNet's logits and its last block's output (B,C,h,w),
    the layer Grad-CAM explains."""
    m = model
    f = m.maxpool(m.relu(m.bn1(m.conv1(x))))
    f = m.layer4(m.layer3(m.layer2(m.layer1(f))))
    return m.fc(torch.flatten(m.avgpool(f), 1)), f


def class_cam(f, fc_weight, y):
    """Per image, the class-y CAM sum_k W[y,k] f_k (B, h, w) of the last block's
    output f (B, K, h, w): Grad-CAM before its ReLU, times h*w, for global
    average pooling followed by one linear layer."""
    return torch.einsum("bkhw,bk->bhw", f, fc_weight[y])


def cam_outside_share(f, fc_weight, y, fg):
    """Per image, the share of the class-y CAM's positive mass that lies
    outside the head: CAM = sum_k W[y,k] f_k (for global average pooling and
    one linear layer this is Grad-CAM times h*w), the head mask averaged
    over each CAM cell. 0 when the CAM has no positive mass."""
    pos = F.relu(class_cam(f, fc_weight, y))
    outside = 1.0 - F.adaptive_avg_pool2d(fg, pos.shape[-2:])[:, 0]
    return (pos * outside).sum((1, 2)) / (pos.sum((1, 2)) + 1e-6)


def cam_off_region_share(f, fc_weight, y, region):
    """Per image, the share of the class-y CAM's absolute mass that is not
    positive evidence inside the region: 1 - sum(relu(CAM) r) / sum(|CAM|),
    r the region mask averaged over each CAM cell. Unlike cam_outside_share
    it cannot be lowered by making the CAM negative everywhere (then it is
    1, not 0): a network trained against cam_outside_share with the tumour
    mask did exactly that, and its Grad-CAM maps came out empty."""
    cam = class_cam(f, fc_weight, y)
    inside = F.adaptive_avg_pool2d(region, cam.shape[-2:])[:, 0]
    return 1.0 - (F.relu(cam) * inside).sum((1, 2)) / (cam.abs().sum((1, 2)) + 1e-6)


def cam_empty(f, fc_weight, y):
    """Per image, 1.0 when the class-y CAM has no positive cell (an empty Grad-CAM map)."""
    return (class_cam(f, fc_weight, y).amax((1, 2)) <= 0).float()


@torch.no_grad()
def predict(model, X, bs=64, percentile=None):
    """Softmax probabilities (N, K) for cached unnormalised inputs X (N,1,S,S)
    (percentile: normalize's intensity scale)."""
    model.eval()
    out = []
    for i in range(0, X.shape[0], bs):
        out.append(torch.softmax(model(normalize(X[i:i + bs], percentile)), 1))
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


def size_schedule(cfg):
    """Input size of each epoch: cfg["sizes"] is a list of [size, epochs] stages
    (progressive resizing: cheap small inputs first, the shipped size last, so
    BatchNorm statistics and the last weights are those of the shipped size)."""
    out = []
    for size, n in cfg["sizes"]:
        out += [size] * n
    assert len(out) == cfg["epochs"], "sizes must cover every epoch"
    return out


def save_checkpoint(path, state):
    """Atomic write: a run stopped mid-save keeps the previous checkpoint."""
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def train(model, Xtr, ytr, cfg, log, val=None, ckpt=None, masks=None, heads=None,
          forward_cam=None):
    """AdamW + one-cycle schedule, label smoothing, class weights, seeded order/augment.

    Xtr (and val[0]) map each input size to the cached (N,1,S,S) images.
    cfg keys: epochs, sizes, batch, lr, wd, smoothing, seed, aug (kwargs of
    augment), class_weights (list or None), intensity_percentile (optional:
    normalize's per-image scale, after the augmentation). Returns per-epoch
    history.

    With ckpt, the model, optimiser, schedule, generator and history are saved
    after every epoch; a later call with the same cfg resumes after the last
    saved epoch and gives the same weights as an uninterrupted run.

    With masks = {size: (M, has)} (M: (N,1,S,S) tumour masks, has: (N,) bool)
    and cfg["tumour_aug"] = {"p_erase", "p_crop"}, tumour_augment runs
    before augment.

    With cfg["outside_penalty"] = lam > 0, heads = {size: (N,1,S,S) head
    masks} and forward_cam(model, x) -> (logits, features): the loss adds
    lam x the mean cam_outside_share of the true class (the head masks go
    through the same augmentation as the images), so mass outside the head
    costs as much as a wrong answer.

    With cfg["tumour_penalty"] = mu > 0 and masks: the loss also adds mu x
    cam_off_region_share of the class-y CAM with the tumour mask (warped with
    the image), summed over the images that have a mask and divided by the
    batch size. The log's "empty" is the share of images whose true-class
    CAM has no positive cell."""
    sizes = size_schedule(cfg)
    gen = torch.Generator().manual_seed(cfg["seed"] + 1)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["wd"])
    steps_per_epoch = math.ceil(ytr.shape[0] / cfg["batch"])
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg["lr"], epochs=cfg["epochs"], steps_per_epoch=steps_per_epoch,
        pct_start=0.2)
    w = None if cfg.get("class_weights") is None else torch.tensor(cfg["class_weights"])
    history, first = [], 0
    cfg_key = json.dumps({k: v for k, v in cfg.items() if k != "val_every"}, sort_keys=True)
    if ckpt and os.path.exists(ckpt):
        st = torch.load(ckpt)
        if st["cfg"] != cfg_key:
            raise SystemExit("checkpoint %s was made with another recipe; move it away "
                             "to start afresh" % ckpt)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        gen.set_state(st["gen"])
        history, first = st["history"], st["epoch"]
        log("resumed from %s after epoch %d" % (ckpt, first))
    lam = cfg.get("outside_penalty", 0.0)
    mu = cfg.get("tumour_penalty", 0.0) if masks is not None else 0.0
    pct = cfg.get("intensity_percentile")
    model.to(memory_format=torch.channels_last)
    for ep in range(first, cfg["epochs"]):
        model.train()
        t = time.time()
        S = sizes[ep]
        perm = torch.randperm(ytr.shape[0], generator=gen)
        tot, correct, seen, out_tot, tum_tot, tum_n, empty = 0.0, 0, 0, 0.0, 0.0, 0, 0.0
        for bi in range(steps_per_epoch):
            idx = perm[bi * cfg["batch"]:(bi + 1) * cfg["batch"]]
            if idx.numel() < 2:  # BatchNorm needs > 1 sample
                continue
            xb, yb = Xtr[S][idx], ytr[idx]
            hb = heads[S][idx] if lam > 0 else None
            ta = cfg.get("tumour_aug")
            mb = None
            if ta and masks is not None:
                xb, tb, hb, mb = tumour_augment(xb, masks[S][0][idx], masks[S][1][idx], yb, gen,
                                                len(cfg["classes"]), cfg["smoothing"], **ta,
                                                fg=hb)
            if mu > 0:
                ex = mb if hb is None else torch.cat([hb, mb], 1)
                ex = augment(xb, gen, **cfg["aug"], extra=ex)
                xb, hb, mb = ex[0], (None if hb is None else ex[1][:, :1]), ex[1][:, -1:]
            else:
                xb, hb = augment(xb, gen, **cfg["aug"], extra=hb)
            xb = normalize(xb, pct).contiguous(memory_format=torch.channels_last)
            if lam > 0 or mu > 0:
                logits, feat = forward_cam(model, xb)
            else:
                logits = model(xb)
            if ta and masks is not None:
                loss = -(tb * F.log_softmax(logits, 1)).sum(1).mean()
            else:
                loss = F.cross_entropy(logits, yb, weight=w, label_smoothing=cfg["smoothing"])
            if lam > 0:
                share = cam_outside_share(feat, model.fc.weight, yb, hb)
                loss = loss + lam * share.mean()
                out_tot += share.sum().item()
            if mu > 0:
                has_t = mb.flatten(1).amax(1) > 0.5
                if has_t.any():
                    tshare = cam_off_region_share(feat[has_t], model.fc.weight, yb[has_t], mb[has_t])
                    loss = loss + mu * tshare.sum() / idx.numel()
                    tum_tot += tshare.sum().item()
                    tum_n += int(has_t.sum().item())
            if lam > 0 or mu > 0:
                empty += cam_empty(feat.detach(), model.fc.weight.detach(), yb).sum().item()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * idx.numel()
            correct += (logits.argmax(1) == yb).sum().item()
            seen += idx.numel()
            if (bi + 1) % 20 == 0:
                log("  ep %d (%d px) batch %d/%d loss %.4f acc %.3f%s  %.1f img/s" % (
                    ep + 1, S, bi + 1, steps_per_epoch, tot / seen, correct / seen,
                    (" outside %.3f" % (out_tot / seen) if lam > 0 else "")
                    + (" off-tumour %.3f" % (tum_tot / max(1, tum_n)) if mu > 0 else "")
                    + (" empty %.3f" % (empty / seen) if lam > 0 or mu > 0 else ""),
                    seen / (time.time() - t)))
        rec = {"epoch": ep + 1, "size": S, "train_loss": round(tot / seen, 4),
               "train_acc": round(correct / seen, 4), "seconds": round(time.time() - t, 1)}
        if lam > 0:
            rec["train_cam_outside"] = round(out_tot / seen, 4)
        if mu > 0:
            rec["train_cam_off_tumour"] = round(tum_tot / max(1, tum_n), 4)
        if lam > 0 or mu > 0:
            rec["train_cam_empty"] = round(empty / seen, 4)
        if val is not None and ((ep + 1) % cfg.get("val_every", 1) == 0
                                or ep + 1 == cfg["epochs"]):
            m = metrics(predict(model, val[0][S], percentile=pct), val[1], cfg["classes"])
            rec["val_acc"] = m["accuracy"]
            rec["val_balanced_acc"] = m["balanced_accuracy"]
        history.append(rec)
        log("epoch", json.dumps(rec))
        if ckpt:
            save_checkpoint(ckpt, {"cfg": cfg_key, "epoch": ep + 1, "history": history,
                                   "model": model.state_dict(), "opt": opt.state_dict(),
                                   "sched": sched.state_dict(), "gen": gen.get_state()})
    model.to(memory_format=torch.contiguous_format)
    return history


def f16_round_(model):
    """Round every floating parameter/buffer to float16 and back (the shipped weights)."""
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            if t.is_floating_point():
                t.copy_(t.half().float())
    return model


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
