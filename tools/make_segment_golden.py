#!/usr/bin/python3
"""make_segment_golden.py - golden label maps of skimage.segmentation.felzenszwalb
for tests/test_felzenszwalb.c.

Run from the repository root with Debian's Python (skimage 0.19, numpy 1.24):
    /usr/bin/python3 tools/make_segment_golden.py
Writes tests/data/seg/*.npy (inputs float32 (C,H,W), labels int32 (H,W)) and
tests/data/seg/cases.txt (one line per case: name c h w scale sigma min_size nseg).

Inputs are scaled to [-1,1] as PAIR's XRAI does before segmenting
((x - min) / (max - min) * 2 - 1, in float32), from crops of
/work/shared/data/reference-slices/itk_BrainT1Slice.png (gray content; 1 channel
and the same channel replicated 3 times) and skimage_retina.jpg (true RGB).
The "thresh_1x2" input is two pixels that skimage merges only because it
rounds the merge threshold to float32. The "blocks" input (2x2 blocks of 5 grey levels, sigma 0) has many exactly
tied edge weights: there the result depends on the sort's tie order, which
the script proves by re-running skimage with a stable argsort patched in
(column stable_diff of cases.txt: pixels that change). The 3-channel T1
input is not stored; the test replicates the 1-channel one.
Also argsort_*.npy: a float64 array with many ties and numpy's default
argsort of it, to test the tie order of fh_np_argsort.
"""
import os
import sys
import types

import numpy as np
import skimage
from PIL import Image
import skimage.segmentation._felzenszwalb_cy as fz_cy
from skimage.segmentation import felzenszwalb

OUT = "tests/data/seg"
SLICES = "/work/shared/data/reference-slices"


def to_unit(x):
    """XRAI's normalisation to [-1,1], in float32."""
    x = x.astype(np.float32)
    lo, hi = x.min(), x.max()
    return ((x - lo) / (hi - lo) * np.float32(2) - np.float32(1)).astype(np.float32)


class _StableNumpy(types.ModuleType):
    """numpy with argsort made stable, to show which cases depend on tie order."""
    def __getattr__(self, k):
        return getattr(np, k)

    @staticmethod
    def argsort(a):
        return np.argsort(a, kind="stable")


def threshold_pair(scale):
    """Two pixels whose difference d lies in [k, float32(k)), k = scale/255: skimage
    merges them only because its Cython keeps the threshold in a C float."""
    k = scale / 255
    a = np.float32(k)
    if float(a) <= k:
        a = np.nextafter(a, np.float32(1))
    b = np.float32((float(a) - k) / 2)
    assert k <= float(a) - float(b) < float(a)
    return np.array([[a, b]], dtype=np.float32)


def segment(x, scale, sigma, min_size, stable=False):
    if stable:
        fz_cy.np = _StableNumpy("numpy_stable")
    try:
        return felzenszwalb(x.transpose(1, 2, 0), scale=scale, sigma=sigma,
                            min_size=min_size, channel_axis=-1).astype(np.int32)
    finally:
        fz_cy.np = np


def main():
    if not os.path.isdir("tests") or not os.path.isdir("attrib"):
        sys.exit("run from the repository root")
    os.makedirs(OUT, exist_ok=True)
    t1 = np.asarray(Image.open(f"{SLICES}/itk_BrainT1Slice.png"))[..., 0]
    retina = np.asarray(Image.open(f"{SLICES}/skimage_retina.jpg").convert("RGB"))
    retina = retina[::8, ::8][60:108, 40:104]           # 48x64 RGB, vessels and disc

    g64 = to_unit(t1[10:74, 30:94])                      # skull edge, background, tissue
    g_ns = to_unit(t1[100:140, 60:116])                  # 40x56 non-square interior
    rgb = to_unit(retina)
    rng = np.random.default_rng(5)
    rng.integers(0, 3, size=(32, 32))                     # keep the stream as first drawn
    lv = rng.integers(0, 5, size=(32, 32))[:16, :16]
    blocks = np.kron(lv / 4 * 2 - 1, np.ones((2, 2))).astype(np.float32)
    inputs = {
        "t1_64_c1": g64[None],
        "t1_64_c3": np.repeat(g64[None], 3, axis=0),
        "t1_40x56_c1": g_ns[None],
        "retina_48x64_c3": np.ascontiguousarray(rgb.transpose(2, 0, 1)),
        "blocks_32_c1": blocks[None],
        "thresh_1x2": threshold_pair(100.0)[None],
    }
    cases = [
        ("t1_64_c1", 50, 0.8, 150), ("t1_64_c1", 250, 0.8, 150),
        ("t1_64_c3", 50, 0.8, 150), ("t1_64_c3", 250, 0.8, 150),
        ("t1_40x56_c1", 100, 0.8, 20), ("t1_40x56_c1", 1200, 0.8, 150),
        ("retina_48x64_c3", 50, 0.8, 20), ("retina_48x64_c3", 100, 0.8, 50),
        ("t1_64_c1", 100, 1.7, 20), ("t1_64_c1", 150, 0.0, 20),
        ("blocks_32_c1", 50, 0.0, 20), ("blocks_32_c1", 50, 0.0, 5),
        ("blocks_32_c1", 50, 0.8, 20),
        ("thresh_1x2", 100, 0.0, 1),
    ]
    lines = []
    for name, x in inputs.items():
        if name != "t1_64_c3":
            np.save(f"{OUT}/{name}.npy", x)
    for name, scale, sigma, min_size in cases:
        x = inputs[name]
        lab = segment(x, scale, sigma, min_size)
        stable_diff = int((segment(x, scale, sigma, min_size, stable=True) != lab).sum())
        tag = f"{name}_s{scale}_g{sigma}_m{min_size}".replace(".", "p")
        np.save(f"{OUT}/{tag}.npy", lab)
        c, h, w = x.shape
        n = int(lab.max()) + 1
        lines.append(f"{tag} {name} {c} {h} {w} {scale} {sigma} {min_size} {n} {stable_diff}")
        print(lines[-1])

    rng = np.random.default_rng(20240601)
    v = rng.integers(0, 12, size=3000).astype(np.float64) / 4.0
    v[::97] = 0.0
    np.save(f"{OUT}/argsort_values.npy", v)
    np.save(f"{OUT}/argsort_order.npy", np.argsort(v).astype(np.int32))

    with open(f"{OUT}/cases.txt", "w") as f:
        f.write(f"# made by tools/make_segment_golden.py, skimage {skimage.__version__}, "
                f"numpy {np.__version__}\n")
        f.write("# tag input c h w scale sigma min_size nseg stable_diff\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
