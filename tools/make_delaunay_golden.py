#!/usr/bin/python3
"""make_delaunay_golden.py - golden "blurred images" of the PIC metric for
tests/test_delaunay.c: scipy.interpolate.griddata(method='linear') (Qhull
Delaunay + barycentric interpolation) of the unknown pixels from the known
ones, per channel, stored in a float32 image, numpy.round, cast to uint8:
the steps of create_blurred_image in PAIR's saliency/metrics/pic.py.

Run from the repository root with Debian's Python (scipy 1.10, numpy 1.24):
    /usr/bin/python3 tools/make_delaunay_golden.py
Optionally check the steps against PAIR's own function (outside the repo):
    PAIR_SALIENCY=/path/containing/saliency /usr/bin/python3 tools/make_delaunay_golden.py

Writes tests/data/delaunay/:
  img_<name>.npy   (H,W,C) uint8 test images: crops of brain-tumor-mri test
                   slices; the RGB ones stack three different slices so the
                   channels differ
  mask_<case>.npy  known-pixel masks, np.packbits of the (H*W) bools
  out_<case>.npy   (H,W,C) uint8 reference result
  qhull_<case>.npy (ntri,3) int32 Qhull's triangles (indices into the known
                   pixels in raster order) for a few grid cases: interpolating
                   over them must give scipy's result exactly
  cases.txt        one line per case: case img h w c n_known unique
                   f64_round_diff
    unique: 1 when no two adjacent Qhull triangles have their 4 vertices on
      one circle (checked with exact integer arithmetic), i.e. the Delaunay
      triangulation is unique and any correct triangulator must agree
      exactly; 0 for the grid masks, where co-circular points abound.
    f64_round_diff: pixels where rounding the float64 interpolant directly
      (instead of through float32 as pic.py does) would give another value.
  near_half.npy    (m,4) int32 rows (y, x, value, f64_differs) for a 1024x1024
                   gray image known only at the points of near_half_known.npy
                   (k,3: y, x, value; a unique triangulation): probe pixels
                   whose interpolant lies within a float32 half-ulp of n+0.5
                   without being n+0.5, where pic.py's float32 rounding
                   decides (f64_differs = 1: rounding the float64 directly
                   would give the other integer), plus random probes.
Masks: a seeded random fraction of pixels (numpy default_rng(seed).choice
without replacement, as pic.py's generate_random_mask draws a count) plus the
4 corners. The "nd" cases use few random points and are redrawn until unique.
"""
import os
import sys

import numpy as np
import scipy
from PIL import Image
from scipy.interpolate import griddata
from scipy.spatial import Delaunay

OUT = "tests/data/delaunay"
MRI = "/work/shared/data/brain-tumor-mri/images"
QHULL_CASES = ("g64_p10", "g64_p50", "rgb64_p75", "g224_p10")
SLICES = ["glioma/Te-glTr_0000.jpg", "glioma/Te-glTr_0002.jpg", "pituitary/Te-piTr_0000.jpg"]


def blurred(img, mask, round_via_f32=True):
    """pic.py's create_blurred_image for uint8 (H,W,C) and a mask holding the corners."""
    work = img.astype(np.float32) * mask[..., None].astype(np.float32)
    if not round_via_f32:
        work = work.astype(np.float64)
    known = np.argwhere(mask)
    unknown = np.argwhere(~mask)
    for ch in range(img.shape[2]):
        vals = img[:, :, ch][tuple(known.T)]
        fill = img[:, :, ch].mean()
        work[:, :, ch][tuple(unknown.T)] = griddata(known, vals, unknown, method="linear",
                                                    fill_value=fill)
    return np.round(work).astype(np.uint8)


def incircle(a, b, c, d):
    """Exact sign of the incircle determinant (Python ints); a,b,c in any orientation."""
    o = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    m = [[p[0] - d[0], p[1] - d[1], (p[0] - d[0]) ** 2 + (p[1] - d[1]) ** 2] for p in (a, b, c)]
    det = (m[0][0] * (m[1][1] * m[2][2] - m[2][1] * m[1][2])
           - m[1][0] * (m[0][1] * m[2][2] - m[2][1] * m[0][2])
           + m[2][0] * (m[0][1] * m[1][2] - m[1][1] * m[0][2]))
    return det if o > 0 else -det


def qhull_unique(mask):
    """True when Qhull's triangulation has no co-circular adjacent pair."""
    pts = np.argwhere(mask)
    tri = Delaunay(pts)
    P = [tuple(int(v) for v in p) for p in pts]
    for s, simplex in enumerate(tri.simplices):
        for k, nb in enumerate(tri.neighbors[s]):
            if nb < 0 or nb < s:
                continue
            opp = [v for v in tri.simplices[nb] if v not in simplex][0]
            a, b, c = (P[v] for v in simplex)
            if incircle(a, b, c, P[opp]) == 0:
                return False
    return True


def random_mask(h, w, frac, seed):
    rng = np.random.default_rng(seed)
    mask = np.zeros(h * w, dtype=bool)
    mask[rng.choice(h * w, size=int(h * w * frac), replace=False)] = True
    mask = mask.reshape(h, w)
    mask[[0, 0, h - 1, h - 1], [0, w - 1, 0, w - 1]] = True
    return mask


def near_half():
    h = w = 1024
    rng = np.random.default_rng(7)
    inner = np.stack([rng.integers(1, h - 1, 8), rng.integers(1, w - 1, 8)], axis=1)
    pts = np.concatenate([[[0, 0], [0, w - 1], [h - 1, 0], [h - 1, w - 1]], inner])
    vals = rng.integers(0, 256, len(pts)).astype(np.uint8)
    img = np.zeros((h, w, 1), np.uint8)
    img[pts[:, 0], pts[:, 1], 0] = vals
    mask = np.zeros((h, w), bool)
    mask[pts[:, 0], pts[:, 1]] = True
    assert qhull_unique(mask)
    ref = blurred(img, mask)[..., 0]
    unknown = np.argwhere(~mask)
    v = griddata(np.argwhere(mask), img[mask][:, 0], unknown, method="linear")
    differs = np.round(v.astype(np.float32)) != np.rint(v)
    near = np.abs(v - np.floor(v) - 0.5) < 2.0 ** -14
    pick = np.nonzero(near)[0]
    pick = np.concatenate([pick, rng.choice(len(unknown), 200, replace=False)])
    rows = np.stack([unknown[pick, 0], unknown[pick, 1], ref[tuple(unknown[pick].T)],
                     differs[pick]], axis=1).astype(np.int32)
    np.save(f"{OUT}/near_half.npy", rows)
    np.save(f"{OUT}/near_half_known.npy",
            np.stack([pts[:, 0], pts[:, 1], vals], axis=1).astype(np.int32))
    print(f"near_half: {len(pick)} probes, {int(differs.sum())} where float64 rounding differs")


def load_images():
    g = [np.asarray(Image.open(f"{MRI}/{s}").convert("L")) for s in SLICES]
    crop = lambda a, y, x, n: np.ascontiguousarray(a[y:y + n, x:x + n])
    g224 = crop(g[0], 150, 150, 224)
    rgb224 = np.stack([crop(a, 140, 150, 224) for a in g], axis=2)
    return {
        "g64": crop(g[0], 230, 200, 64)[..., None],
        "rgb64": np.stack([crop(a, 230, 200, 64) for a in g], axis=2),
        "g224": g224[..., None],
        "rgb224": rgb224,
    }


def main():
    if not os.path.isdir("tests") or not os.path.isdir("eval"):
        sys.exit("run from the repository root")
    os.makedirs(OUT, exist_ok=True)
    imgs = load_images()
    for name, a in imgs.items():
        np.save(f"{OUT}/img_{name}.npy", a)

    cases = []  # (case, img name, mask)
    for name in ("g64", "rgb64", "g224"):
        h, w = imgs[name].shape[:2]
        for pct, seed in ((1, 11), (10, 12), (50, 13), (75, 14)):
            cases.append((f"{name}_p{pct}", name, random_mask(h, w, pct / 100, seed)))
    cases.append(("rgb224_p75", "rgb224", random_mask(224, 224, 0.75, 15)))
    for case, name, npts, seed in (("nd_g64", "g64", 40, 100), ("nd_rgb64", "rgb64", 120, 200),
                                   ("nd_g224", "g224", 300, 300)):
        h, w = imgs[name].shape[:2]
        while True:
            mask = random_mask(h, w, npts / (h * w), seed)
            if qhull_unique(mask):
                break
            seed += 1
        cases.append((case, name, mask))

    pair = None
    if os.environ.get("PAIR_SALIENCY"):
        sys.path.insert(0, os.environ["PAIR_SALIENCY"])
        from saliency.metrics import pic as pair

    lines = []
    for case, name, mask in cases:
        img = imgs[name]
        h, w, c = img.shape
        ref = blurred(img, mask)
        if pair is not None:
            p = pair.create_blurred_image(img if c > 1 else img[..., 0], mask)
            assert np.array_equal(p.reshape(ref.shape), ref), case
        f64 = int((blurred(img, mask, round_via_f32=False) != ref).sum())
        unique = int(qhull_unique(mask)) if case.startswith("nd_") else 0
        np.save(f"{OUT}/mask_{case}.npy", np.packbits(mask.ravel()))
        np.save(f"{OUT}/out_{case}.npy", ref)
        if case in QHULL_CASES:
            np.save(f"{OUT}/qhull_{case}.npy", Delaunay(np.argwhere(mask)).simplices.astype(np.int32))
        lines.append(f"{case} {name} {h} {w} {c} {int(mask.sum())} {unique} {f64}")
        print(lines[-1])
    near_half()
    with open(f"{OUT}/cases.txt", "w") as f:
        f.write(f"# made by tools/make_delaunay_golden.py, scipy {scipy.__version__}, "
                f"numpy {np.__version__}{', checked against PAIR pic.py' if pair else ''}\n")
        f.write("# case img h w c n_known unique f64_round_diff\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
